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
/// (the allocations laid end to end). Positions are cut into blocks of 64; each block holds a bit
/// per position (set: ported) and how many ported numbers come before the block, so a ported
/// number's carrier is `carriers[before + ported positions before it in its block]`. A lookup
/// finds the allocation (one word of the allocations' page directory, then one or two ranges),
/// reads one 16-byte block (a number not ported stops there) and one carrier: 1 byte per ported
/// number ([`Carriers`]; 2 where more than 256 carriers are named) plus a quarter of a byte per
/// allocated number.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    allocations: Allocations,
    blocks: Vec<Block>,
    carriers: Carriers,
    explanation: Vec<String>,
}

/// 64 positions: which are ported, and how many ported positions come before them. Aligned so
/// that a block never straddles two cache lines.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(16))]
struct Block {
    ported: u64,
    before: u32,
}

/// The carrier of each ported number, in position order: one byte each into a palette where a
/// table names at most 256 carriers (a national market names a few dozen), else two bytes. A
/// byte each halves the memory random lookups touch, so more of it stays in cache.
#[derive(Debug, Clone)]
enum Carriers {
    Narrow { palette: Vec<u16>, index: Vec<u8> },
    Wide(Vec<u16>),
}

impl Carriers {
    fn new(codes: Vec<u16>) -> Self {
        let mut seen = vec![false; 1 << 16];
        for &c in &codes {
            seen[usize::from(c)] = true;
        }
        let palette: Vec<u16> = (0..=u16::MAX).filter(|&c| seen[usize::from(c)]).collect();
        if palette.len() > 256 {
            return Self::Wide(codes);
        }
        let index = codes
            .iter()
            .map(|c| palette.binary_search(c).unwrap_or(0) as u8)
            .collect();
        Self::Narrow { palette, index }
    }

    #[inline]
    fn get(&self, rank: usize) -> Option<u16> {
        match self {
            Self::Narrow { palette, index } => palette.get(usize::from(*index.get(rank)?)).copied(),
            Self::Wide(codes) => codes.get(rank).copied(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Narrow { index, .. } => index.len(),
            Self::Wide(codes) => codes.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Self::Narrow { palette, index } => palette.capacity() * 2 + index.capacity(),
            Self::Wide(codes) => codes.capacity() * 2,
        }
    }
}

/// How many numbers [`RoutingTable::route_many`] takes through each stage at a time.
pub const BATCH: usize = 64;

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
        let mut blocks = vec![Block::default(); total.div_ceil(64) as usize];
        let mut carriers: Vec<u16> = Vec::with_capacity(log.len());
        for &w in log {
            let Some((_, pos)) = allocations.position_of_nsn((w >> 32) as u32) else {
                continue;
            };
            // Sorted numbers are sorted positions, so carriers go in position order.
            if let Some(block) = blocks.get_mut((pos >> 6) as usize) {
                block.ported |= 1 << (pos & 63);
                carriers.push((w & 0xFFFF) as u16);
            }
        }
        let mut before = 0u32;
        for block in &mut blocks {
            block.before = before;
            before += block.ported.count_ones();
        }
        Self {
            allocations,
            blocks,
            carriers: Carriers::new(carriers),
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

    /// The carrier a position's entry names, if the position holds a ported number.
    #[inline]
    fn entry_at(&self, pos: u32) -> Option<u16> {
        let block = self.blocks.get((pos >> 6) as usize)?;
        let bit = 1u64 << (pos & 63);
        if block.ported & bit == 0 {
            return None;
        }
        let rank = block.before + (block.ported & (bit - 1)).count_ones();
        self.carriers.get(rank as usize)
    }

    /// The carrier a ported number now sits with, or `None` for a number not ported.
    #[inline]
    pub fn ported(&self, number: TelephoneNumber) -> Option<CarrierCode> {
        let (_, pos) = self.allocations.position_of_nsn(number.nsn())?;
        self.entry_at(pos).and_then(CarrierCode::new)
    }

    /// Where a call to `number` goes: its entry if ported, else its donor.
    #[inline]
    pub fn route(&self, number: TelephoneNumber) -> Route {
        let Some((alloc, pos)) = self.allocations.position_of_nsn(number.nsn()) else {
            return Route::Unallocated;
        };
        match self.entry_at(pos).and_then(CarrierCode::new) {
            Some(c) => Route::Ported(c),
            None => Route::Donor(self.allocations.donor_at(alloc)),
        }
    }

    /// [`Self::route`] for many numbers, appended to `out` in order.
    ///
    /// The lookups go in stages over groups of [`BATCH`] numbers: first every number's position
    /// (the allocations' small directory, mostly in cache), then every block, then every carrier.
    /// Within a stage the reads are independent, so the processor keeps many cache misses in
    /// flight instead of waiting on each number's chain of three in turn.
    pub fn route_many(&self, numbers: &[TelephoneNumber], out: &mut Vec<Route>) {
        const NONE: u32 = u32::MAX;
        out.reserve(numbers.len());
        let mut alloc = [0usize; BATCH];
        let mut pos = [NONE; BATCH];
        let mut rank = [NONE; BATCH];
        for group in numbers.chunks(BATCH) {
            for (i, n) in group.iter().enumerate() {
                match self.allocations.position_of_nsn(n.nsn()) {
                    Some((a, p)) => {
                        alloc[i] = a;
                        pos[i] = p;
                    }
                    None => pos[i] = NONE,
                }
            }
            for i in 0..group.len() {
                let p = pos[i];
                rank[i] = NONE;
                if p == NONE {
                    continue;
                }
                if let Some(block) = self.blocks.get((p >> 6) as usize) {
                    let bit = 1u64 << (p & 63);
                    if block.ported & bit != 0 {
                        rank[i] = block.before + (block.ported & (bit - 1)).count_ones();
                    }
                }
            }
            for i in 0..group.len() {
                let route = if pos[i] == NONE {
                    Route::Unallocated
                } else {
                    let entry = if rank[i] == NONE {
                        None
                    } else {
                        self.carriers.get(rank[i] as usize).and_then(CarrierCode::new)
                    };
                    match entry {
                        Some(c) => Route::Ported(c),
                        None => Route::Donor(self.allocations.donor_at(alloc[i])),
                    }
                };
                out.push(route);
            }
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
        self.carriers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.carriers.is_empty()
    }

    /// Every ported number with its carrier, in number order.
    pub fn iter(&self) -> impl Iterator<Item = (TelephoneNumber, CarrierCode)> + '_ {
        self.blocks.iter().enumerate().flat_map(move |(b, block)| {
            let mut bits = block.ported;
            let mut rank = block.before as usize;
            std::iter::from_fn(move || {
                while bits != 0 {
                    let bit = bits.trailing_zeros();
                    bits &= bits - 1;
                    let carrier = self.carriers.get(rank);
                    rank += 1;
                    let pos = ((b as u32) << 6) | bit;
                    let found = self
                        .allocations
                        .nsn_at(pos)
                        .and_then(|nsn| Some((TelephoneNumber::from_nsn(nsn).ok()?, CarrierCode::new(carrier?)?)));
                    if found.is_some() {
                        return found;
                    }
                }
                None
            })
        })
    }

    /// Heap bytes of the ported-number structure (blocks and carriers; not the allocations).
    pub fn heap_bytes(&self) -> usize {
        self.blocks.capacity() * std::mem::size_of::<Block>() + self.carriers.heap_bytes()
    }
}
