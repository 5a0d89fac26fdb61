//! The market-scale routing table: every ported number with the carrier that serves it, built from
//! allocations and PLNR records, compact enough for a national market (1 byte per ported number
//! and a quarter of a byte per allocated one) and fast to look up (a page directory to the
//! allocation, then a bitmap block with a rank, then the carrier: no search over the numbers).

use std::collections::BTreeMap;

use lnp_model::{CarrierCode, TelephoneNumber};
use thiserror::Error;

use crate::allocations::Allocations;
use crate::change::{Change, Effect};
use crate::history::{CallPath, Outcome};
use lnp_plnr::FileKind;

/// Marks "back to the donor" in the build log; carrier codes are at most 9999.
const TO_DONOR: u16 = u16::MAX;

/// Why a PLNR file or record cannot be loaded into a table.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A donor's files must be loaded in sequence; an update after a gap would give a wrong table.
    #[error("donor {donor}: sequence gap: expected file {expected:06}, found {found:06}")]
    SequenceGap {
        donor: CarrierCode,
        expected: u32,
        found: u32,
    },
    /// A file at or before one already loaded.
    #[error("donor {donor}: file {found:06} is not after file {last:06}, already loaded")]
    OutOfOrder { donor: CarrierCode, last: u32, found: u32 },
    /// The first file of a donor is an update that does not start the sequence.
    #[error("donor {donor}: update {found:06} with no snapshot or earlier update loaded before it")]
    NoBase { donor: CarrierCode, found: u32 },
    /// A record for a number outside the publishing donor's allocations.
    #[error("number {number} is not allocated to donor {donor} ({})", allocated.map_or_else(|| "outside every allocation".to_string(), |d| format!("allocated to {d}")))]
    NotDonorsNumber {
        donor: CarrierCode,
        number: TelephoneNumber,
        allocated: Option<CarrierCode>,
    },
    /// A record was given with no file begun.
    #[error("record given before any file header")]
    NoFile,
}

/// Where a donor's published sequence stands for the loading carrier.
#[derive(Clone, Copy, Debug)]
struct Feed {
    last_seq: u32,
}

/// Loads PLNR files (snapshots and updates, per donor in sequence) and builds a [`RoutingTable`].
///
/// Records go into a log of packed `(number, carrier)` words in arrival order (8 bytes each); the
/// build sorts it stably by number and keeps each number's last word, which is "apply in order".
/// A donor's new snapshot drops that donor's earlier words first.
#[derive(Debug)]
pub struct TableBuilder {
    allocations: Allocations,
    log: Vec<u64>,
    feeds: BTreeMap<CarrierCode, Feed>,
    current: Option<(CarrierCode, FileKind)>,
    watch: Option<(TelephoneNumber, Vec<String>)>,
}

impl TableBuilder {
    pub fn new(allocations: Allocations) -> Self {
        Self {
            allocations,
            log: Vec::new(),
            feeds: BTreeMap::new(),
            current: None,
            watch: None,
        }
    }

    /// Pre-allocates room for `records` more records.
    pub fn reserve(&mut self, records: usize) {
        self.log.reserve(records);
    }

    /// Keeps an explanation for one number: each record that touched it, as `label` said where it
    /// came from (see [`Self::apply`]). [`RoutingTable::explain`] returns them.
    pub fn watch(&mut self, number: TelephoneNumber) {
        self.watch = Some((number, Vec::new()));
    }

    /// Starts a file published by `donor` with sequence `seq`. A snapshot may follow any earlier
    /// file (it replaces the donor's register); an update must be the next in sequence, or the
    /// first of the donor's sequence (`000001`).
    pub fn begin_file(&mut self, donor: CarrierCode, seq: u32, kind: FileKind) -> Result<(), LoadError> {
        match (self.feeds.get(&donor), kind) {
            (Some(feed), _) if seq <= feed.last_seq => {
                return Err(LoadError::OutOfOrder {
                    donor,
                    last: feed.last_seq,
                    found: seq,
                })
            }
            (Some(feed), FileKind::Update) if seq != feed.last_seq + 1 => {
                return Err(LoadError::SequenceGap {
                    donor,
                    expected: feed.last_seq + 1,
                    found: seq,
                })
            }
            (None, FileKind::Update) if seq != 1 => return Err(LoadError::NoBase { donor, found: seq }),
            (Some(_), FileKind::Full) => {
                let allocations = &self.allocations;
                self.log
                    .retain(|&w| allocations.donor_of_nsn((w >> 32) as u32) != Some(donor));
                if let Some((n, notes)) = &mut self.watch {
                    if allocations.donor_of(*n) == Some(donor) {
                        notes.push(format!("snapshot {seq:06} of donor {donor} replaces its register"));
                    }
                }
            }
            _ => {}
        }
        self.feeds.insert(donor, Feed { last_seq: seq });
        self.current = Some((donor, kind));
        Ok(())
    }

    /// Applies one record of the current file. `label` names where it came from (file and line)
    /// and is called only for a watched number.
    pub fn apply(&mut self, change: &Change, label: impl FnOnce() -> String) -> Result<(), LoadError> {
        let (donor, kind) = self.current.ok_or(LoadError::NoFile)?;
        let nsn = change.number.nsn();
        let allocated = self.allocations.donor_of_nsn(nsn);
        if allocated != Some(donor) {
            return Err(LoadError::NotDonorsNumber {
                donor,
                number: change.number,
                allocated,
            });
        }
        let effect = change.effect(donor, kind);
        if let Some((n, notes)) = &mut self.watch {
            if *n == change.number {
                let what = match effect {
                    Effect::Keep => "routing unchanged".to_string(),
                    Effect::RouteTo(c) => format!("routes to {c}"),
                    Effect::Default => format!("routes to its donor {donor}"),
                };
                notes.push(format!("{}: {change}: {what}", label()));
            }
        }
        let value = match effect {
            Effect::Keep => return Ok(()),
            Effect::RouteTo(c) => c.get(),
            Effect::Default => TO_DONOR,
        };
        self.log.push((u64::from(nsn) << 32) | u64::from(value));
        Ok(())
    }

    /// Sorts, keeps each number's last record, drops numbers back with their donor, and indexes.
    pub fn build(self) -> RoutingTable {
        let mut log = self.log;
        // Stable: words for the same number stay in arrival order, so the last one wins.
        log.sort_by_key(|&w| w >> 32);
        let mut kept = 0;
        for i in 0..log.len() {
            let last_of_number = log.get(i + 1).is_none_or(|&next| next >> 32 != log[i] >> 32);
            if last_of_number && (log[i] & 0xFFFF) as u16 != TO_DONOR {
                log[kept] = log[i];
                kept += 1;
            }
        }
        log.truncate(kept);
        let mut table = RoutingTable::from_sorted_log(self.allocations, &log);
        drop(log);
        table.explanation = self.watch.map(|(_, notes)| notes).unwrap_or_default();
        table
    }
}

/// Every ported number with its carrier, indexed by the number's position in the allocated space
/// (the allocations laid end to end). Positions are cut into lines of 128, each one 64-byte
/// cache line ([`Line`]): a bit per position (set: ported), the rank of each 16-position group's
/// first position among the line's ported numbers, and the carriers of the line's first ported
/// numbers, in position order. A lookup finds the allocation (one word of the allocations' page
/// directory, then one or two ranges, all small enough to stay in cache) and then reads one cache
/// line from memory: its group's bits say whether the number is ported, and its rank is the
/// group's rank plus the population counts of two bytes (a 256-entry table, so no population
/// count instruction is needed on processors without one); the carrier is beside them. A line
/// with more ported numbers than it holds carriers keeps the rest in a shared overflow list (a
/// second read, for those only, where the line's start in it is read too). Carriers are one-byte
/// indexes into a palette where the table names at most 256 (a national market names a few
/// dozen), else two-byte codes. Half a byte per allocated number in all, and a few bytes per
/// line with overflow: about 2 bytes per ported number when a quarter of the allocated numbers
/// are ported.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    allocations: Allocations,
    lines: Vec<Line>,
    /// Carrier codes the lines' one-byte indexes name (all 256 of them; `None`: the lines hold
    /// two-byte codes).
    palette: Option<Box<[u16; 256]>>,
    /// Carrier codes of the ported numbers past what their line holds, line by line.
    overflow: Vec<u16>,
    /// Per line, where its part of the overflow list starts.
    overflow_before: Vec<u32>,
    ported: usize,
    explanation: Vec<String>,
}

const _: () = assert!(std::mem::size_of::<Line>() == 64);

/// Positions a line covers.
const LINE_POSITIONS: u32 = 128;
/// Positions a group of a line covers (a line holds eight).
const GROUP_POSITIONS: u32 = 16;
/// Bytes of carriers a line holds.
const LINE_BYTES: usize = 40;
/// What a lookup of a position that holds no ported number finds (carrier codes are at most
/// 9999).
const ABSENT: u16 = u16::MAX;

/// How many of a byte's bits are set, by the byte.
static BYTE_COUNTS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).count_ones() as u8;
        i += 1;
    }
    t
};

/// 128 positions in one cache line: which are ported, by group of 16, how many are ported
/// before each group, and the carriers of the first of them.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Line {
    ported: [u16; 8],
    before: [u8; 8],
    carriers: [u8; LINE_BYTES],
}

impl Default for Line {
    fn default() -> Self {
        Self {
            ported: [0; 8],
            before: [0; 8],
            carriers: [0; LINE_BYTES],
        }
    }
}

impl Line {
    /// The line's bits as one word (bit `i`: position `i` of the line).
    fn bits(&self) -> u128 {
        self.ported
            .iter()
            .rev()
            .fold(0u128, |acc, &g| (acc << GROUP_POSITIONS) | u128::from(g))
    }

    /// Whether the line's position `bit` (below 128) is ported, and how many of the positions
    /// before it are: the group's count, then the counts of the group's two bytes below the
    /// position. No branch, no population count instruction.
    #[inline]
    fn rank(&self, bit: u32) -> (bool, u32) {
        let g = ((bit / GROUP_POSITIONS) % 8) as usize;
        let shift = bit % GROUP_POSITIONS;
        let group = u32::from(self.ported[g]);
        let below = group & ((1 << shift) - 1);
        let rank = u32::from(self.before[g])
            + u32::from(BYTE_COUNTS[(below & 0xFF) as usize])
            + u32::from(BYTE_COUNTS[((below >> 8) & 0xFF) as usize]);
        ((group >> shift) & 1 != 0, rank)
    }
}

/// How many numbers [`RoutingTable::route_many`] takes through each stage at a time.
pub const BATCH: usize = 128;

/// Where a number routes in a [`RoutingTable`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Route {
    /// Ported: the table's entry.
    Ported(CarrierCode),
    /// Not ported: its donor.
    Donor(CarrierCode),
    /// Outside every allocation.
    Unallocated,
}

impl Route {
    pub fn carrier(self) -> Option<CarrierCode> {
        match self {
            Self::Ported(c) | Self::Donor(c) => Some(c),
            Self::Unallocated => None,
        }
    }
}

impl RoutingTable {
    /// From `(nsn << 32) | carrier` words sorted by number without duplicates; numbers outside
    /// every allocation are dropped (no call can reach them).
    fn from_sorted_log(allocations: Allocations, log: &[u64]) -> Self {
        let total = allocations.total_numbers();
        let mut lines = vec![Line::default(); total.div_ceil(u64::from(LINE_POSITIONS)) as usize];
        let mut seen = vec![false; 1 << 16];
        let mut entries: Vec<(u32, u16)> = Vec::with_capacity(log.len());
        for &w in log {
            let Some((pos, _)) = allocations.locate(nsn_of(w)) else {
                continue;
            };
            // Sorted numbers are sorted positions, so carriers go in position order.
            if let Some(line) = lines.get_mut((pos / LINE_POSITIONS) as usize) {
                let bit = pos % LINE_POSITIONS;
                line.ported[(bit / GROUP_POSITIONS) as usize] |= 1 << (bit % GROUP_POSITIONS);
                let code = (w & 0xFFFF) as u16;
                seen[usize::from(code)] = true;
                entries.push((pos, code));
            }
        }
        for line in &mut lines {
            let mut before = 0u8;
            for (count, &group) in line.before.iter_mut().zip(&line.ported) {
                *count = before;
                before += group.count_ones() as u8;
            }
        }
        let codes: Vec<u16> = (0..=u16::MAX).filter(|&c| seen[usize::from(c)]).collect();
        let palette = (codes.len() <= 256).then(|| {
            // Padded, so that any one-byte index reads an entry.
            let mut palette = Box::new([0u16; 256]);
            palette[..codes.len()].copy_from_slice(&codes);
            palette
        });
        let width = if palette.is_some() { 1 } else { 2 };
        let cap = (LINE_BYTES / width) as u32;
        let mut overflow = Vec::new();
        let mut overflow_before = vec![0u32; lines.len()];
        let mut current = usize::MAX;
        let mut rank = 0u32;
        for &(pos, code) in &entries {
            let l = (pos / LINE_POSITIONS) as usize;
            if l != current {
                current = l;
                rank = 0;
            }
            let Some(line) = lines.get_mut(l) else { continue };
            if rank < cap {
                let at = rank as usize * width;
                if width == 1 {
                    line.carriers[at] = codes.binary_search(&code).unwrap_or(0) as u8;
                } else {
                    line.carriers[at..at + 2].copy_from_slice(&code.to_le_bytes());
                }
            } else {
                if rank == cap {
                    overflow_before[l] = overflow.len() as u32;
                }
                overflow.push(code);
            }
            rank += 1;
        }
        overflow.shrink_to_fit();
        Self {
            allocations,
            lines,
            palette,
            overflow,
            overflow_before,
            ported: entries.len(),
            explanation: Vec::new(),
        }
    }

    /// A table from explicit entries (e.g. a test, or a register already in memory). Later entries
    /// for the same number win; entries naming the number's donor are dropped, and so are numbers
    /// outside every allocation.
    pub fn from_entries(
        allocations: Allocations,
        entries: impl IntoIterator<Item = (TelephoneNumber, CarrierCode)>,
    ) -> Self {
        let mut log: Vec<u64> = entries
            .into_iter()
            .map(|(n, c)| {
                let v = if allocations.donor_of(n) == Some(c) {
                    TO_DONOR
                } else {
                    c.get()
                };
                (u64::from(n.nsn()) << 32) | u64::from(v)
            })
            .collect();
        log.sort_by_key(|&w| w >> 32);
        let builder = TableBuilder {
            allocations,
            log,
            feeds: BTreeMap::new(),
            current: None,
            watch: None,
        };
        builder.build()
    }

    /// The carrier code a position's entry names, or [`ABSENT`] if the position holds no ported
    /// number. Written without a branch on whether it is ported, which random lookups could not
    /// predict, and in few instructions, so that the processor runs several lookups' cache misses
    /// at once: the carrier at the position's rank is read either way, and kept only if the bit
    /// is set.
    #[inline]
    fn code_at(&self, pos: u32) -> u16 {
        let l = (pos / LINE_POSITIONS) as usize;
        let Some(line) = self.lines.get(l) else {
            return ABSENT;
        };
        let (present, rank) = line.rank(pos % LINE_POSITIONS);
        std::hint::select_unpredictable(present, self.carrier_of(l, line, rank), ABSENT)
    }

    /// The carrier of line `l`'s ported number of rank `rank` ([`ABSENT`] past the overflow
    /// list).
    #[inline]
    fn carrier_of(&self, l: usize, line: &Line, rank: u32) -> u16 {
        let r = rank as usize;
        match &self.palette {
            Some(palette) => match line.carriers.get(r) {
                Some(&i) => palette[usize::from(i)],
                None => self.overflowed(l, r - LINE_BYTES),
            },
            None => match line.carriers.get(2 * r..2 * r + 2) {
                Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
                _ => self.overflowed(l, r - LINE_BYTES / 2),
            },
        }
    }

    /// The `k`th carrier of line `l` in the overflow list ([`ABSENT`] past it).
    #[cold]
    #[inline(never)]
    fn overflowed(&self, l: usize, k: usize) -> u16 {
        self.overflow_before
            .get(l)
            .and_then(|&start| self.overflow.get(start as usize + k))
            .copied()
            .unwrap_or(ABSENT)
    }

    /// The carrier a ported number now sits with, or `None` for a number not ported.
    #[inline]
    pub fn ported(&self, number: TelephoneNumber) -> Option<CarrierCode> {
        let (pos, _) = self.allocations.locate(number.nsn())?;
        let code = self.code_at(pos);
        // Chosen, not branched on (see `code_at`).
        std::hint::select_unpredictable(code != ABSENT, CarrierCode::new(code), None)
    }

    /// Where a call to `number` goes: its entry if ported, else its donor.
    #[inline]
    pub fn route(&self, number: TelephoneNumber) -> Route {
        let Some((pos, donor)) = self.allocations.locate(number.nsn()) else {
            return Route::Unallocated;
        };
        Self::chosen(self.code_at(pos), Route::Donor(donor))
    }

    /// The route for an entry's code ([`Self::code_at`]): ported, or else `otherwise`. Both
    /// made, then one chosen: no branch on whether the number is ported.
    #[inline]
    fn chosen(code: u16, otherwise: Route) -> Route {
        let ported = CarrierCode::new(code).map(Route::Ported);
        std::hint::select_unpredictable(ported.is_some(), ported.unwrap_or(otherwise), otherwise)
    }

    /// [`Self::route`] for many numbers, appended to `out` in order.
    ///
    /// The lookups go in stages over groups of [`BATCH`] numbers: first one read of every
    /// number's word of the allocations' page directory (small, but at a national market's size
    /// more than the nearest caches hold), then every number's position and donor from words now
    /// in cache, then one read of every line, each stage a tight loop of independent loads so
    /// that the processor keeps many cache misses in flight instead of waiting on each in turn,
    /// then the routes, from lines now in cache.
    pub fn route_many(&self, numbers: &[TelephoneNumber], out: &mut Vec<Route>) {
        const NONE: u32 = u32::MAX;
        out.reserve(numbers.len());
        let mut pos = [NONE; BATCH];
        let mut otherwise = [Route::Unallocated; BATCH];
        for group in numbers.chunks(BATCH) {
            // Each number's page directory word, likewise, before any is used.
            let mut pages = 0u32;
            for n in group {
                pages ^= self.allocations.page_word(n.nsn());
            }
            std::hint::black_box(pages);
            for ((n, p), o) in group.iter().zip(&mut pos).zip(&mut otherwise) {
                (*p, *o) = match self.allocations.locate(n.nsn()) {
                    Some((at, donor)) => (at, Route::Donor(donor)),
                    None => (NONE, Route::Unallocated),
                };
            }
            // One word of each line: the loads miss the cache together.
            let mut touched = 0u16;
            for &p in &pos[..group.len()] {
                touched ^= self.lines.get((p / LINE_POSITIONS) as usize).map_or(0, |l| l.ported[0]);
            }
            std::hint::black_box(touched);
            out.extend(
                pos[..group.len()]
                    .iter()
                    .zip(&otherwise)
                    .map(|(&p, &o)| Self::chosen(self.code_at(p), o)),
            );
        }
    }

    /// The path of a call from `from`, for a carrier whose table is this one (it has loaded every
    /// record the table was built from): it serves the number, or sends the call straight to the
    /// carrier that does.
    pub fn path(&self, from: CarrierCode, number: TelephoneNumber) -> CallPath {
        let (server, why) = match self.route(number) {
            Route::Unallocated => {
                return CallPath {
                    hops: vec![from],
                    outcome: Outcome::Unreachable,
                    reasons: vec![format!("{number} is outside every allocation: no carrier can route it")],
                }
            }
            Route::Ported(c) => (c, format!("{number} is ported to {c} (PLNR)")),
            Route::Donor(d) => (d, format!("{number} is not ported: allocated to donor {d}")),
        };
        let decided = match self.explanation.last() {
            Some(last) => format!("{why}; last record: {last}"),
            None => why,
        };
        if server == from {
            return CallPath {
                hops: vec![from],
                outcome: Outcome::Delivered,
                reasons: vec![format!("{from} serves {number}: {decided}")],
            };
        }
        CallPath {
            hops: vec![from, server],
            outcome: Outcome::Delivered,
            reasons: vec![
                format!("{from}'s table routes {number} to {server}: {decided}"),
                format!("{server} serves {number}"),
            ],
        }
    }

    /// The records that touched the watched number (see [`TableBuilder::watch`]).
    pub fn explain(&self) -> &[String] {
        &self.explanation
    }

    pub fn allocations(&self) -> &Allocations {
        &self.allocations
    }

    /// How many ported numbers the table holds.
    pub fn len(&self) -> usize {
        self.ported
    }

    pub fn is_empty(&self) -> bool {
        self.ported == 0
    }

    /// Every ported number with its carrier, in number order.
    pub fn iter(&self) -> impl Iterator<Item = (TelephoneNumber, CarrierCode)> + '_ {
        self.lines.iter().enumerate().flat_map(move |(l, line)| {
            let mut bits = line.bits();
            let mut rank = 0u32;
            std::iter::from_fn(move || {
                while bits != 0 {
                    let bit = bits.trailing_zeros();
                    bits &= bits - 1;
                    let carrier = self.carrier_of(l, line, rank);
                    rank += 1;
                    let pos = (l as u32) * LINE_POSITIONS + bit;
                    let found = self
                        .allocations
                        .nsn_at(pos)
                        .and_then(|nsn| Some((TelephoneNumber::from_nsn(nsn).ok()?, CarrierCode::new(carrier)?)));
                    if found.is_some() {
                        return found;
                    }
                }
                None
            })
        })
    }

    /// Heap bytes of the ported-number structure (lines, palette and overflow; not the
    /// allocations).
    pub fn heap_bytes(&self) -> usize {
        self.lines.capacity() * std::mem::size_of::<Line>()
            + self.palette.as_ref().map_or(0, |p| std::mem::size_of_val(&**p))
            + self.overflow.capacity() * 2
            + self.overflow_before.capacity() * 4
    }
}

/// The NSN of a build log word.
fn nsn_of(w: u64) -> u32 {
    (w >> 32) as u32
}
