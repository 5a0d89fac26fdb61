//! Number ranges allocated to donor carriers (the Numbering Plan's view of the market).

use lnp_model::{CarrierCode, NumberRange, TelephoneNumber};
use thiserror::Error;

/// The most words of the allocations' page directory (4 MB; a national market needs far less).
const MAX_PAGES: u64 = 1 << 20;

/// Two allocations cover a common number; both ranges are named.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("allocation {first} (donor {first_donor}) overlaps allocation {second} (donor {second_donor})")]
pub struct AllocationError {
    pub first: NumberRange,
    pub first_donor: CarrierCode,
    pub second: NumberRange,
    pub second_donor: CarrierCode,
}

/// One allocation as lookups read it (16 bytes: four to a cache line).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Slot {
    start: u32,
    last: u32,
    /// Its first number's position in the allocated space.
    position: u32,
    donor: CarrierCode,
}

/// One bad line of an allocations CSV file (1-based line number).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct AllocationLineError {
    pub line: usize,
    pub message: String,
}

/// Every allocated range with its donor, sorted by first number and disjoint. A directory keyed
/// by the number's page (a power-of-two run of NSNs, no longer than the shortest allocation)
/// says which allocations can hold a page's numbers, so [`Allocations::donor_of`] reads one
/// directory word and picks one of the (at most) two allocations it names.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Allocations {
    /// First NSN of each range, searched on its own for cache density.
    starts: Vec<u32>,
    /// Last NSN of each range.
    lasts: Vec<u32>,
    /// Per page: the first allocation whose last number is at or after the page's first number
    /// (one more word at the end: the number of allocations).
    pages: Vec<u32>,
    /// The first page's first NSN and log2 of a page's size.
    page_base: u32,
    page_shift: u32,
    /// Some page holds parts of more than two allocations (a lookup then steps through them).
    stepwise: bool,
    /// Each range's first and last NSN and position side by side, for lookups: one cache line.
    slots: Vec<Slot>,
    /// Each range's position in the concatenation of all ranges (the sum of the lengths before
    /// it): routing tables index ported numbers by position, so their index follows the
    /// allocated space rather than the whole numbering plan.
    positions: Vec<u32>,
    ranges: Vec<(NumberRange, CarrierCode)>,
}

impl Allocations {
    /// Sorts the ranges and checks that no two overlap.
    pub fn new(mut ranges: Vec<(NumberRange, CarrierCode)>) -> Result<Self, AllocationError> {
        ranges.sort_unstable();
        for pair in ranges.windows(2) {
            let ((a, da), (b, db)) = (pair[0], pair[1]);
            if a.overlaps(&b) {
                return Err(AllocationError {
                    first: a,
                    first_donor: da,
                    second: b,
                    second_donor: db,
                });
            }
        }
        let mut total = 0u32;
        let positions = ranges
            .iter()
            .map(|(r, _)| {
                let at = total;
                // Geographic NSNs span less than 2^32, so the sum of disjoint ranges fits.
                total = total.saturating_add(r.len() as u32);
                at
            })
            .collect();
        let starts: Vec<u32> = ranges.iter().map(|(r, _)| r.first.nsn()).collect();
        let lasts: Vec<u32> = ranges.iter().map(|(r, _)| r.last.nsn()).collect();
        let (page_base, page_shift, pages, stepwise) = Self::directory(&starts, &lasts);
        let slots = ranges
            .iter()
            .zip(&positions)
            .map(|(&(range, donor), &position)| Slot {
                start: range.first.nsn(),
                last: range.last.nsn(),
                position,
                donor,
            })
            .collect();
        Ok(Self {
            starts,
            lasts,
            pages,
            page_base,
            page_shift,
            stepwise,
            slots,
            positions,
            ranges,
        })
    }

    /// The page directory over sorted, disjoint ranges. A page is at most as long as the
    /// shortest allocation (a power of two), so that it holds parts of at most two: a lookup then
    /// reads one directory word and takes one step without a branch. The directory is kept to
    /// at most [`MAX_PAGES`] words (pages grow for a market of very short allocations spread
    /// wide, and a lookup may then step further), and needs no more than 64 pages per
    /// allocation.
    fn directory(starts: &[u32], lasts: &[u32]) -> (u32, u32, Vec<u32>, bool) {
        let (Some(&base), Some(&end)) = (starts.first(), lasts.last()) else {
            return (0, 0, Vec::new(), false);
        };
        let span = u64::from(end - base) + 1;
        let shortest = starts.iter().zip(lasts).map(|(&s, &l)| l - s + 1).min().unwrap_or(1);
        let most = (starts.len() as u64 * 64).clamp(64, MAX_PAGES);
        let mut shift = shortest.max(1).ilog2();
        while shift < 31 && (span >> shift) > most {
            shift += 1;
        }
        let count = ((end - base) >> shift) as usize + 1;
        let mut pages = Vec::with_capacity(count + 1);
        let mut i = 0;
        // The first allocation starting after the page.
        let mut after = 0;
        let mut stepwise = false;
        for p in 0..count {
            let first = base + ((p as u32) << shift);
            let last = first.saturating_add((1u32 << shift) - 1);
            while lasts.get(i).is_some_and(|&l| l < first) {
                i += 1;
            }
            while starts.get(after).is_some_and(|&s| s <= last) {
                after += 1;
            }
            stepwise |= after.saturating_sub(i) > 2;
            pages.push(i as u32);
        }
        pages.push(lasts.len() as u32);
        (base, shift, pages, stepwise)
    }

    /// The page of the directory `nsn` falls in (past the end where it falls after the last).
    #[inline]
    fn page_of(&self, nsn: u32) -> usize {
        (nsn.wrapping_sub(self.page_base) >> self.page_shift) as usize
    }

    /// The directory word a lookup of `nsn` reads first (0 past the directory): a batch loads
    /// every number's word before it uses any, so that their cache misses overlap.
    #[inline]
    pub(crate) fn page_word(&self, nsn: u32) -> u32 {
        self.pages.get(self.page_of(nsn)).copied().unwrap_or(0)
    }

    /// The allocation holding `nsn`, by its index, and its slot.
    #[inline]
    fn slot_of_nsn(&self, nsn: u32) -> Option<(usize, &Slot)> {
        let page = self.page_of(nsn);
        let lo = *self.pages.get(page)? as usize;
        // The holder, if any, is the first allocation from `lo` on whose last number is at or
        // after `nsn`. A page holds parts of at most two (unless `stepwise`), so that is `lo`
        // or the next: one step, without a branch that random numbers would mispredict.
        let mut i = lo + usize::from(self.slots.get(lo)?.last < nsn);
        if self.stepwise {
            let hi = *self.pages.get(page + 1)? as usize;
            while i < hi && self.slots.get(i).is_some_and(|s| s.last < nsn) {
                i += 1;
            }
        }
        let slot = self.slots.get(i)?;
        (slot.start <= nsn && nsn <= slot.last).then_some((i, slot))
    }

    /// The allocation holding `nsn`, by its index.
    #[inline]
    fn index_of_nsn(&self, nsn: u32) -> Option<usize> {
        self.slot_of_nsn(nsn).map(|(i, _)| i)
    }

    /// Reads `range_start,range_end,donor` lines (e.g. `0255500000,0255509999,9001`). An optional
    /// first line naming the columns is skipped, as are blank lines and lines starting with `#`.
    /// Every bad line is reported, and overlaps name both ranges and both lines.
    pub fn from_csv(text: &str) -> Result<Self, Vec<AllocationLineError>> {
        let mut ranges = Vec::new();
        let mut lines_of = Vec::new();
        let mut errors = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let raw = raw.trim();
            if raw.is_empty() || raw.starts_with('#') || (ranges.is_empty() && raw.starts_with("range_start")) {
                continue;
            }
            match parse_csv_line(raw) {
                Ok(entry) => {
                    ranges.push(entry);
                    lines_of.push(line);
                }
                Err(message) => errors.push(AllocationLineError { line, message }),
            }
        }
        // Overlaps: sort by range, keeping each range's line for the message.
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        order.sort_unstable_by_key(|&i| ranges[i]);
        for pair in order.windows(2) {
            let ((a, da), (b, db)) = (ranges[pair[0]], ranges[pair[1]]);
            if a.overlaps(&b) {
                let (la, lb) = (lines_of[pair[0]], lines_of[pair[1]]);
                errors.push(AllocationLineError {
                    line: la.max(lb),
                    message: format!(
                        "allocation {b} (donor {db}, line {lb}) overlaps allocation {a} (donor {da}, line {la})"
                    ),
                });
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(errors);
        }
        Self::new(ranges).map_err(|e| {
            vec![AllocationLineError {
                line: 0,
                message: e.to_string(),
            }]
        })
    }

    /// The donor whose allocation holds `number`, if any.
    #[inline]
    pub fn donor_of(&self, number: TelephoneNumber) -> Option<CarrierCode> {
        self.donor_of_nsn(number.nsn())
    }

    #[inline]
    pub(crate) fn donor_of_nsn(&self, nsn: u32) -> Option<CarrierCode> {
        let i = self.index_of_nsn(nsn)?;
        self.ranges.get(i).map(|&(_, donor)| donor)
    }

    /// The position of `nsn` in the allocated space and the donor whose allocation holds it.
    #[inline]
    pub(crate) fn locate(&self, nsn: u32) -> Option<(u32, CarrierCode)> {
        let (_, slot) = self.slot_of_nsn(nsn)?;
        Some((slot.position + (nsn - slot.start), slot.donor))
    }

    /// The NSN at a position of the allocated space.
    pub(crate) fn nsn_at(&self, position: u32) -> Option<u32> {
        let i = self.positions.partition_point(|&p| p <= position).checked_sub(1)?;
        let nsn = self.starts[i] + (position - self.positions[i]);
        (nsn <= self.ranges[i].0.last.nsn()).then_some(nsn)
    }

    /// How many numbers are allocated in all.
    pub fn total_numbers(&self) -> u64 {
        self.ranges.iter().map(|(r, _)| r.len()).sum()
    }

    /// The allocation holding `number`.
    pub fn range_of(&self, number: TelephoneNumber) -> Option<(NumberRange, CarrierCode)> {
        let nsn = number.nsn();
        let i = self.starts.partition_point(|&s| s <= nsn).checked_sub(1)?;
        let entry = self.ranges[i];
        entry.0.contains(number).then_some(entry)
    }

    /// Every allocation in order of its first number.
    pub fn iter(&self) -> impl Iterator<Item = (NumberRange, CarrierCode)> + '_ {
        self.ranges.iter().copied()
    }

    /// Every range allocated to `donor`.
    pub fn ranges_of(&self, donor: CarrierCode) -> impl Iterator<Item = NumberRange> + '_ {
        self.iter().filter(move |&(_, d)| d == donor).map(|(r, _)| r)
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.starts.capacity() * 4
            + self.lasts.capacity() * 4
            + self.pages.capacity() * 4
            + self.positions.capacity() * 4
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.ranges.capacity() * std::mem::size_of::<(NumberRange, CarrierCode)>()
    }
}

/// `range_start,range_end,donor`, each field trimmed.
fn parse_csv_line(raw: &str) -> Result<(NumberRange, CarrierCode), String> {
    let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
    let [start, end, donor] = fields.as_slice() else {
        return Err(format!(
            "expected 3 fields (range_start,range_end,donor), found {}",
            fields.len()
        ));
    };
    let first: TelephoneNumber = start.parse().map_err(|e| format!("range_start {start:?}: {e}"))?;
    let last: TelephoneNumber = end.parse().map_err(|e| format!("range_end {end:?}: {e}"))?;
    let range = NumberRange::new(first, last).map_err(|e| e.to_string())?;
    let donor: CarrierCode = donor.parse().map_err(|e| format!("donor: {e}"))?;
    Ok((range, donor))
}
