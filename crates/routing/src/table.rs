//! The market-scale routing table: every ported number with the carrier that serves it, built from
//! allocations and PLNR records, compact enough for a national market (8 bytes per ported number)
//! and fast to look up (a bucket index over the sorted numbers, then a short search).

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
/// (the allocations laid end to end). Positions are cut into buckets of `2^shift` (at most 2^16)
/// sized so that a bucket holds about two ported numbers; `index[b]` is where bucket `b` starts
/// in `entries`, and an entry packs the low 16 bits of the position with the carrier code. A
/// lookup finds the allocation (a binary search over a small, cache-resident array), reads two
/// index words and scans a few entries: 6 bytes per ported number (4 for the entry, about 2 for
/// the index).
#[derive(Debug, Clone)]
pub struct RoutingTable {
    allocations: Allocations,
    entries: Vec<u32>,
    index: Vec<u32>,
    shift: u32,
    explanation: Vec<String>,
}

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
        let total = allocations.total_numbers().max(1);
        let target_buckets = (log.len() as u64 / 2).max(1);
        let mut shift = 0;
        while shift < 16 && (total >> shift) > target_buckets {
            shift += 1;
        }
        let buckets = (total >> shift) as usize + 1;
        let mut index = Vec::with_capacity(buckets + 1);
        let mut entries = Vec::with_capacity(log.len());
        for &w in log {
            let Some((_, pos)) = allocations.position_of_nsn((w >> 32) as u32) else {
                continue;
            };
            let bucket = (pos >> shift) as usize;
            while index.len() <= bucket {
                index.push(entries.len() as u32);
            }
            entries.push(((pos & 0xFFFF) << 16) | (w & 0xFFFF) as u32);
        }
        while index.len() <= buckets {
            index.push(entries.len() as u32);
        }
        Self {
            allocations,
            entries,
            index,
            shift,
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
        let b = (pos >> self.shift) as usize;
        let lo = *self.index.get(b)? as usize;
        let hi = *self.index.get(b + 1)? as usize;
        let key = pos & 0xFFFF;
        self.entries
            .get(lo..hi)?
            .iter()
            .find(|&&e| e >> 16 == key)
            .map(|&e| (e & 0xFFFF) as u16)
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

    /// [`Self::route`] for many numbers, appended to `out` in order. Works in groups so that the
    /// memory reads of a group's lookups overlap instead of waiting on each other.
    pub fn route_many(&self, numbers: &[TelephoneNumber], out: &mut Vec<Route>) {
        const GROUP: usize = 16;
        out.reserve(numbers.len());
        for group in numbers.chunks(GROUP) {
            let mut found = [(usize::MAX, 0u32, 0u32, 0u32); GROUP];
            // Stage 1: allocation, position and bucket bounds (independent index reads).
            for (slot, n) in found.iter_mut().zip(group) {
                if let Some((alloc, pos)) = self.allocations.position_of_nsn(n.nsn()) {
                    let b = (pos >> self.shift) as usize;
                    let lo = self.index.get(b).copied().unwrap_or(0);
                    let hi = self.index.get(b + 1).copied().unwrap_or(lo);
                    *slot = (alloc, pos, lo, hi);
                }
            }
            // Stage 2: each bucket's first entry (independent entry reads), then the scan.
            let mut first = [0u32; GROUP];
            for (f, &(_, _, lo, _)) in first.iter_mut().zip(&found) {
                *f = self.entries.get(lo as usize).copied().unwrap_or(0);
            }
            for (i, &(alloc, pos, lo, hi)) in found.iter().enumerate().take(group.len()) {
                if alloc == usize::MAX {
                    out.push(Route::Unallocated);
                    continue;
                }
                let key = pos & 0xFFFF;
                let hit = if lo < hi && first[i] >> 16 == key {
                    Some(first[i])
                } else {
                    self.entries
                        .get(lo as usize..hi as usize)
                        .and_then(|b| b.iter().find(|&&e| e >> 16 == key).copied())
                };
                out.push(match hit.and_then(|e| CarrierCode::new((e & 0xFFFF) as u16)) {
                    Some(c) => Route::Ported(c),
                    None => Route::Donor(self.allocations.donor_at(alloc)),
                });
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
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every ported number with its carrier, in number order.
    pub fn iter(&self) -> impl Iterator<Item = (TelephoneNumber, CarrierCode)> + '_ {
        let mask = (1u32 << self.shift) - 1;
        self.index.windows(2).enumerate().flat_map(move |(b, w)| {
            let bucket = self.entries.get(w[0] as usize..w[1] as usize).unwrap_or(&[]);
            bucket.iter().filter_map(move |&e| {
                let pos = ((b as u32) << self.shift) | ((e >> 16) & mask);
                let nsn = self.allocations.nsn_at(pos)?;
                Some((
                    TelephoneNumber::from_nsn(nsn).ok()?,
                    CarrierCode::new((e & 0xFFFF) as u16)?,
                ))
            })
        })
    }

    /// Heap bytes of the ported-number structure (entries and index; not the allocations).
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * 4 + self.index.capacity() * 4
    }
}
