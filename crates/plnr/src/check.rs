//! The checking engine shared by the reader, the validator and the writer: it takes one line at
//! a time, reports what is wrong with it (and, at the end, with the file), and hands back the
//! typed record when the line is good. State is a few counters plus, for a full snapshot, a
//! bitset of the numbers seen (at most 50 MB: one bit per geographic number, allocated in
//! chunks as numbers arrive), so memory does not grow with the file.

use lnp_model::{CarrierCode, Category, PortStatus, TelephoneNumber};

use crate::diag::{quote, Diagnostic, ErrorKind, Subject};
use crate::field::{self, Compiled};
use crate::layout::{Field, Layout, LayoutError, Role};
use crate::lines::{Ending, RawLine};
use crate::types::{Action, FileKind, Header, LineEnd, Record, Trailer, CATEGORY_ORDER, STATUS_ORDER};

/// A detail record as checked, borrowing its port reference from the line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawDetail<'a> {
    pub action: Action,
    pub number: TelephoneNumber,
    pub current: CarrierCode,
    pub losing: CarrierCode,
    pub status: PortStatus,
    /// `YYYYMMDDHHMMSS` as a number, checked; made a chrono value only for a [`Record`].
    pub effective_at: u64,
    pub category: Category,
    pub port_ref: &'a [u8],
}

impl RawDetail<'_> {
    /// The record (`None` only if the checked time could not be represented, which the checks
    /// rule out).
    pub fn to_record(self) -> Option<Record> {
        Some(Record {
            action: self.action,
            number: self.number,
            current: self.current,
            losing: self.losing,
            status: self.status,
            effective_at: field::time_of(self.effective_at)?,
            category: self.category,
            port_ref: String::from_utf8_lossy(self.port_ref).into_owned(),
        })
    }
}

/// What a good line held.
pub(crate) enum Parsed<'a> {
    Header(Header),
    Detail(RawDetail<'a>),
    Trailer(Trailer),
    /// A line with errors, or one that is ignored (a second header or trailer).
    Nothing,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Header,
    Detail,
    Trailer,
    Other,
    Blank,
}

/// The numbers seen so far in a full snapshot. While they come in ascending order (as a
/// register is written) they are kept as a log of the gaps between them, a byte or two each, and
/// none can be a duplicate of an earlier one; the first number out of order (or a log past
/// [`LOG_CAP`]) turns the log into one bit per geographic NSN (areas 2, 3, 7, 8: 400 million
/// numbers, at most 50 MB, in chunks as numbers arrive). Either way it answers "seen before?"
/// exactly; the log only spares an ordered register the bitset's memory and page faults.
struct NumberSet {
    /// The last number's index, while in order (`None`: none yet).
    last: Option<u32>,
    /// Gaps between ascending indexes, LEB128, in segments of [`SEGMENT`] bytes (each freed as
    /// soon as it has been turned into bits).
    log: Vec<Vec<u8>>,
    /// The segment being written.
    current: Vec<u8>,
    logged: usize,
    /// The bitset, once numbers came out of order.
    chunks: Option<Vec<Option<Box<[u64]>>>>,
}

const CHUNK_BITS: u32 = 1 << 21;
const CHUNK_WORDS: usize = (CHUNK_BITS / 64) as usize;
const SET_BITS: u32 = 400_000_000;
/// Bytes per log segment: large enough to be mapped on its own, so freeing it returns memory.
const SEGMENT: usize = 1 << 20;
/// At most this many bytes of log; past it the bitset is smaller or about as small.
const LOG_CAP: usize = 16 << 20;

impl NumberSet {
    fn new() -> Self {
        Self {
            last: None,
            log: Vec::new(),
            current: Vec::new(),
            logged: 0,
            chunks: None,
        }
    }

    /// The number's place in the bitset (`None`: not geographic, never recorded).
    #[inline]
    fn index(nsn: u32) -> Option<u32> {
        match nsn {
            200_000_000..=399_999_999 => Some(nsn - 200_000_000),
            700_000_000..=899_999_999 => Some(nsn - 500_000_000),
            _ => None,
        }
    }

    /// Adds a number; false if it was already there.
    #[inline]
    fn insert(&mut self, n: TelephoneNumber) -> bool {
        self.insert_nsn(n.nsn())
    }

    /// [`Self::insert`] by NSN.
    #[inline]
    fn insert_nsn(&mut self, nsn: u32) -> bool {
        // The usual case, in few steps: the next number of an ordered register, a gap of one or
        // two bytes logged in room the segment has.
        if let (None, Some(index), Some(last)) = (&self.chunks, Self::index(nsn), self.last) {
            let gap = index.wrapping_sub(last);
            let room = self.current.capacity() - self.current.len() >= 5;
            if gap.wrapping_sub(1) < (1 << 14) - 1 && self.logged < LOG_CAP && room {
                if gap < 0x80 {
                    self.current.push(gap as u8);
                    self.logged += 1;
                } else {
                    self.current.extend_from_slice(&[(gap as u8) | 0x80, (gap >> 7) as u8]);
                    self.logged += 2;
                }
                self.last = Some(index);
                return true;
            }
        }
        self.insert_apart(nsn)
    }

    /// [`Self::insert_nsn`] in every other case.
    #[inline(never)]
    fn insert_apart(&mut self, nsn: u32) -> bool {
        let Some(index) = Self::index(nsn) else {
            return true;
        };
        if self.chunks.is_none() {
            let gap = match self.last {
                None => Some(index),
                Some(last) if index > last => Some(index - last),
                Some(last) if index == last => return false,
                Some(_) => None,
            };
            if let (Some(gap), true) = (gap, self.logged < LOG_CAP) {
                self.push_gap(gap);
                self.last = Some(index);
                return true;
            }
            self.switch_to_bits();
        }
        Self::set_bit(self.chunks.get_or_insert_with(Self::no_chunks), index)
    }

    #[inline]
    fn push_gap(&mut self, mut gap: u32) {
        // Room for the longest gap (the first segment too is made whole, not grown).
        if self.current.capacity() - self.current.len() < 5 {
            let full = std::mem::replace(&mut self.current, Vec::with_capacity(SEGMENT));
            if !full.is_empty() {
                self.log.push(full);
            }
        }
        if gap < 0x80 {
            self.current.push(gap as u8);
            self.logged += 1;
            return;
        }
        let before = self.current.len();
        while gap >= 0x80 {
            self.current.push((gap as u8) | 0x80);
            gap >>= 7;
        }
        self.current.push(gap as u8);
        self.logged += self.current.len() - before;
    }

    fn no_chunks() -> Vec<Option<Box<[u64]>>> {
        (0..SET_BITS.div_ceil(CHUNK_BITS)).map(|_| None).collect()
    }

    /// Replays the log into the bitset, freeing each segment once read.
    #[cold]
    fn switch_to_bits(&mut self) {
        let mut chunks = Self::no_chunks();
        let mut index = 0u32;
        let mut first = true;
        let current = std::mem::take(&mut self.current);
        for seg in self.log.drain(..).chain(std::iter::once(current)) {
            let (mut gap, mut shift) = (0u32, 0u32);
            for &b in &seg {
                gap |= u32::from(b & 0x7F) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    index = if first { gap } else { index + gap };
                    first = false;
                    Self::set_bit(&mut chunks, index);
                    (gap, shift) = (0, 0);
                }
            }
        }
        self.logged = 0;
        self.chunks = Some(chunks);
    }

    /// Sets a bit; false if it was set already.
    #[inline]
    fn set_bit(chunks: &mut [Option<Box<[u64]>>], index: u32) -> bool {
        let Some(slot) = chunks.get_mut((index / CHUNK_BITS) as usize) else {
            return true;
        };
        let chunk = slot.get_or_insert_with(|| vec![0u64; CHUNK_WORDS].into_boxed_slice());
        let bit = index % CHUNK_BITS;
        let Some(word) = chunk.get_mut((bit / 64) as usize) else {
            return true;
        };
        let mask = 1u64 << (bit % 64);
        let new = *word & mask == 0;
        *word |= mask;
        new
    }
}

const ROLES: usize = 15;

fn role_index(r: Role) -> usize {
    match r {
        Role::Donor => 0,
        Role::FileDate => 1,
        Role::FileSeq => 2,
        Role::CreatedAt => 3,
        Role::FileKind => 4,
        Role::Action => 5,
        Role::Number => 6,
        Role::Current => 7,
        Role::Losing => 8,
        Role::Status => 9,
        Role::EffectiveAt => 10,
        Role::Category => 11,
        Role::PortRef => 12,
        Role::DetailCount => 13,
        Role::HashTotal => 14,
    }
}

/// The values of one record's fields, by role (see `field` for what each value is).
struct Fields {
    vals: [u64; ROLES],
    set: u16,
    errors: bool,
    /// The telephone number field read as an integer without its first digit, when it is 10
    /// digits (for the hash total, whatever else is wrong with the number).
    number_digits: Option<u64>,
}

impl Fields {
    fn get(&self, r: Role) -> Option<u64> {
        let i = role_index(r);
        (self.set & (1 << i) != 0).then(|| self.vals[i])
    }

    fn carrier(&self, r: Role) -> Option<CarrierCode> {
        self.get(r).and_then(|n| CarrierCode::new(u16::try_from(n).ok()?))
    }

    fn code(&self, r: Role) -> Option<usize> {
        self.get(r).map(|i| i as usize)
    }
}

/// One record type, compiled: its fields and the column ranges of the pre-check.
struct Plan {
    fields: Vec<Compiled>,
    ranges: Ranges,
}

/// Per column: the lowest byte allowed and how far above it a byte may be.
#[derive(Clone, Debug)]
pub(crate) struct Ranges {
    low: Vec<u8>,
    span: Vec<u8>,
    /// No column allows LF or CR, so a record in range holds no line end.
    no_line_ends: bool,
}

impl Plan {
    fn new(layout: &Layout, rec: &crate::layout::RecordLayout) -> Self {
        let len = layout.record_length;
        let (mut low, mut span) = (vec![0u8; len], vec![255u8; len]);
        let rt = &layout.record_type;
        for (i, &b) in rec.code.as_bytes().iter().enumerate() {
            if let (Some(l), Some(s)) = (low.get_mut(rt.start - 1 + i), span.get_mut(rt.start - 1 + i)) {
                (*l, *s) = (b, 0);
            }
        }
        let fields: Vec<Compiled> = rec.fields.iter().map(Compiled::new).collect();
        for c in &fields {
            for (i, (l, s)) in c.column_ranges().into_iter().enumerate() {
                let col = c.field.start - 1 + i;
                if let (Some(lo), Some(sp)) = (low.get_mut(col), span.get_mut(col)) {
                    (*lo, *sp) = (l, s);
                }
            }
        }
        let allows = |b: u8| low.iter().zip(&span).any(|(&l, &s)| b.wrapping_sub(l) <= s);
        let no_line_ends = !allows(b'\n') && !allows(b'\r');
        Self {
            fields,
            ranges: Ranges {
                low,
                span,
                no_line_ends,
            },
        }
    }

    fn in_range(&self, content: &[u8]) -> bool {
        self.ranges.in_range(content)
    }

    fn ranges(&self) -> Ranges {
        self.ranges.clone()
    }
}

impl Ranges {
    /// Whether every byte of the record is in its column's range (vectorises).
    #[inline]
    pub(crate) fn in_range(&self, content: &[u8]) -> bool {
        let n = content.len();
        let (Some(low), Some(span)) = (self.low.get(..n), self.span.get(..n)) else {
            return false;
        };
        if n != self.low.len() {
            return false;
        }
        // Equal lengths let the compiler drop the bounds checks and use vector instructions.
        let mut bad = 0u8;
        for i in 0..n {
            bad |= u8::from(content[i].wrapping_sub(low[i]) > span[i]);
        }
        bad == 0
    }

    /// Whether a record in range can hold no LF or CR.
    pub(crate) fn no_line_ends(&self) -> bool {
        self.no_line_ends
    }
}

/// What one detail record's own checks need (see [`Checker::record_context`]): plain data, so
/// it can be shared by threads that check parts of a file at once.
#[derive(Clone, Debug)]
pub(crate) struct RecordContext {
    pub fast: DetailFast,
    pub plan: Ranges,
    pub donor: CarrierCode,
    pub kind: FileKind,
    pub ending: Ending,
    pub record_length: usize,
}

/// The detail record's fields at fixed places, for straight-line parsing of a record whose
/// columns are all in range (layouts whose codes are one character wide).
#[derive(Clone, Debug)]
pub(crate) struct DetailFast {
    action: (usize, [u8; 256]),
    status: (usize, [u8; 256]),
    category: (usize, [u8; 256]),
    number: usize,
    current: usize,
    losing: usize,
    effective: usize,
    port_ref: (usize, usize),
    ref_masks: (u128, u128),
    /// The code tables again, naming only the indexes [`Self::quick`] takes (index + 1, as
    /// canonical: action `A C D`, status `P C N R`, category `A C D`), for [`Self::clean_nsn`].
    codes: [[u8; 256]; 3],
    /// Where the fields are, for [`Self::clean_nsn`].
    pub columns: Columns,
}

/// Where a detail record's fields start (0-based columns), for [`DetailFast::clean_nsn`]: the
/// layout's, or [`Columns::BUILTIN`] as a constant, so that a scan of a PLNR-SIM/1 file reads
/// every field at a fixed place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Columns {
    /// Action, status and category, each one character.
    codes: [usize; 3],
    number: usize,
    current: usize,
    losing: usize,
    effective: usize,
    port_ref: usize,
    ref_width: usize,
    pub record_length: usize,
}

impl Columns {
    /// PLNR-SIM/1's (`layouts/plnr-sim-1.toml`).
    pub const BUILTIN: Columns = Columns {
        codes: [1, 20, 35],
        number: 2,
        current: 12,
        losing: 16,
        effective: 21,
        port_ref: 36,
        ref_width: 12,
        record_length: 64,
    };
}

/// Days in each month (0 for none), February with its 29th (which [`DetailFast::clean_nsn`]
/// leaves to the full check).
const MONTH_DAYS: [u8; 16] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0, 0, 0];

/// A one-character code field's position and byte-to-index-plus-one table.
fn code1(f: &Field) -> Option<(usize, [u8; 256])> {
    match &f.kind {
        crate::layout::FieldKind::Codes(list) if f.width == 1 => {
            let mut table = [0u8; 256];
            for (i, c) in list.iter().enumerate() {
                table[usize::from(*c.as_bytes().first()?)] = (i + 1) as u8;
            }
            Some((f.start - 1, table))
        }
        _ => None,
    }
}

/// Eight ASCII digits (known to be digits) as four two-digit numbers, one per 16-bit lane (the
/// first pair in the lowest lane).
#[inline]
fn digit_pairs(b: [u8; 8]) -> u64 {
    const LANES: u64 = 0x00FF_00FF_00FF_00FF;
    let x = u64::from_le_bytes(b).wrapping_sub(0x3030_3030_3030_3030);
    // Each lane's low byte is the first (tens) digit.
    (x & LANES) * 10 + ((x >> 8) & LANES)
}

/// Eight ASCII digits (known to be digits) as a number, combining lanes pairwise.
#[inline]
fn eight_digits(b: [u8; 8]) -> u64 {
    const LANES: u64 = 0x0000_FFFF_0000_FFFF;
    let x = digit_pairs(b);
    let x = (x & LANES) * 100 + ((x >> 16) & LANES);
    (x & 0xFFFF_FFFF) * 10_000 + (x >> 32)
}

/// Four ASCII digits (known to be digits) as a number.
#[inline]
fn four_digits(b: [u8; 4]) -> u16 {
    let x = u32::from_le_bytes(b).wrapping_sub(0x3030_3030);
    let x = (x & 0x00FF_00FF) * 10 + ((x >> 8) & 0x00FF_00FF);
    ((x & 0xFFFF) * 100 + (x >> 16)) as u16
}

/// A carrier code's four digits.
#[inline]
fn donor_digits(code: CarrierCode) -> [u8; 4] {
    let c = code.get();
    [c / 1000, c / 100 % 10, c / 10 % 10, c % 10].map(|d| b'0' + d as u8)
}

/// `N` bytes at `at`.
#[inline]
fn array_at<const N: usize>(rec: &[u8], at: usize) -> Option<[u8; N]> {
    rec.get(at..at + N)?.try_into().ok()
}

/// A detail record whose columns are all in range, read field by field with its own checks
/// (codes, the number's area, the date and time, the port reference).
#[derive(Clone, Copy)]
pub(crate) struct Quick {
    action: Action,
    status: PortStatus,
    category: Category,
    pub number: TelephoneNumber,
    current: CarrierCode,
    losing: CarrierCode,
    effective_at: u64,
    ref_len: usize,
}

impl DetailFast {
    fn new(layout: &Layout) -> Option<Self> {
        let d = &layout.detail;
        let at = |r: Role| d.field(r).map(|f| f.start - 1);
        Some(Self {
            action: code1(d.field(Role::Action)?)?,
            status: code1(d.field(Role::Status)?)?,
            category: code1(d.field(Role::Category)?)?,
            number: at(Role::Number)?,
            current: at(Role::Current)?,
            losing: at(Role::Losing)?,
            effective: at(Role::EffectiveAt)?,
            port_ref: d.field(Role::PortRef).map(|f| (f.start - 1, f.width))?,
            ref_masks: field::text_masks(d.field(Role::PortRef)?.width),
            codes: [
                (Role::Action, Action::ALL.len()),
                (Role::Status, STATUS_ORDER.len()),
                (Role::Category, CATEGORY_ORDER.len()),
            ]
            .map(|(role, count)| {
                let (_, mut table) = d.field(role).and_then(code1).unwrap_or((0, [0; 256]));
                for i in &mut table {
                    if usize::from(*i) > count {
                        *i = 0;
                    }
                }
                table
            }),
            columns: Columns {
                codes: [Role::Action, Role::Status, Role::Category].map(|r| at(r).unwrap_or(0)),
                number: at(Role::Number)?,
                current: at(Role::Current)?,
                losing: at(Role::Losing)?,
                effective: at(Role::EffectiveAt)?,
                port_ref: at(Role::PortRef)?,
                ref_width: d.field(Role::PortRef)?.width,
                record_length: layout.record_length,
            },
        })
    }

    /// The fields of a detail record whose columns are all in range; `None` if one is wrong
    /// after all (a code, the number's area, the date or time, the port reference).
    #[inline]
    fn quick(&self, rec: &[u8]) -> Option<Quick> {
        let code = |(at, table): &(usize, [u8; 256])| match table[usize::from(*rec.get(*at)?)] {
            0 => None,
            i => Some(usize::from(i - 1)),
        };
        let action = Action::from_index(code(&self.action)?)?;
        let status = *STATUS_ORDER.get(code(&self.status)?)?;
        let category = *CATEGORY_ORDER.get(code(&self.category)?)?;
        // `0`, the area, then eight digits.
        let [zero, area]: [u8; 2] = array_at(rec, self.number)?;
        if zero != b'0' || !matches!(area, b'2' | b'3' | b'7' | b'8') {
            return None;
        }
        let nsn = u32::from(area - b'0') * 100_000_000 + eight_digits(array_at(rec, self.number + 2)?) as u32;
        let number = TelephoneNumber::from_nsn(nsn).ok()?;
        let current = CarrierCode::new(four_digits(array_at(rec, self.current)?))?;
        let losing = CarrierCode::new(four_digits(array_at(rec, self.losing)?))?;
        // YYYYMMDDHHMMSS: the pairs of YYYYMMDD, then those of DDHHMMSS.
        let date = digit_pairs(array_at(rec, self.effective)?);
        let time = digit_pairs(array_at(rec, self.effective + 6)?);
        let v = effective_of_pairs(date, time)?;
        let (at, w) = self.port_ref;
        let ref_len = field::text_len_in(rec, at, w, self.ref_masks)?;
        Some(Quick {
            action,
            status,
            category,
            number,
            current,
            losing,
            effective_at: v,
            ref_len: ref_len as usize,
        })
    }

    /// [`Self::quick`] for a record of the body of a file whose header named `donor` (a full
    /// snapshot when `full`), with every check that needs no other record: its columns in
    /// range, its fields, what a snapshot may hold and the action against the donor. `None`
    /// when any fails (the full check then reports why).
    #[inline]
    pub(crate) fn clean(&self, plan: &Ranges, donor: CarrierCode, full: bool, content: &[u8]) -> Option<Quick> {
        // The record type's columns are among those checked.
        if !plan.in_range(content) {
            return None;
        }
        let q = self.quick(content)?;
        if full && (q.action == Action::D || matches!(q.status, PortStatus::N | PortStatus::R)) {
            return None;
        }
        let donor_error = match q.action {
            Action::A | Action::C if q.current == donor => true,
            Action::C => q.losing == donor,
            Action::D => q.current != donor,
            Action::A => false,
        };
        (!donor_error).then_some(q)
    }

    /// [`Self::clean`]'s verdict on a record and the number's NSN, for a scan, which needs
    /// nothing else: the same checks, reading the fields a word at a time and checking each
    /// against its bounds at once, with the rare dates and times left to the full calendar
    /// check (the 29th of February, and 2 a.m., when the clock may skip an hour). Every field
    /// is where the layout's validation guarantees: the number ten digits, the carriers four,
    /// the time fourteen, the port reference text.
    ///
    /// `columns` are [`Self::columns`] (or equal to them: [`Columns::BUILTIN`] as a constant).
    #[allow(clippy::inline_always, reason = "a scan's loop is this check: it must not be a call")]
    #[inline(always)]
    pub(crate) fn clean_nsn(
        &self,
        columns: &Columns,
        plan: &Ranges,
        donor: CarrierCode,
        full: bool,
        rec: &[u8],
    ) -> Option<u32> {
        if !plan.in_range(rec) {
            return None;
        }
        let c = columns;
        let code = |i: usize| match rec.get(c.codes[i]) {
            Some(&b) => self.codes[i][usize::from(b)],
            None => 0,
        };
        let (action, status, category) = (code(0), code(1), code(2));
        // In range, the number's, carriers' and time's columns hold digits (a layout's number is
        // ten digits, its carriers four, its times fourteen): the number is `0`, the area, then
        // eight digits, geographic when the area is; carrier codes are at most 9999.
        let [zero, area]: [u8; 2] = array_at(rec, c.number)?;
        let area_ok = zero == b'0' && (0x18C_u32 >> (area & 15)) & 1 != 0;
        let nsn = u32::from(area & 15) * 100_000_000 + eight_digits(array_at(rec, c.number + 2)?) as u32;
        // Carrier codes compared as their four digits.
        let current = u32::from_le_bytes(array_at(rec, c.current)?);
        let losing = u32::from_le_bytes(array_at(rec, c.losing)?);
        // YYYYMMDDHHMMSS: the pairs of YYYYMMDD and those of DDHHMMSS, a pair a 16-bit lane,
        // each checked against its bound at once (lanes of at most 99: no carries).
        let date = digit_pairs(array_at(rec, c.effective)?);
        let time = digit_pairs(array_at(rec, c.effective + 6)?);
        let (month, day) = ((date >> 32) & 0xFF, date >> 48);
        let days = u64::from(MONTH_DAYS[(month & 15) as usize]);
        let calendar = date & 0xFFFF_FFFF != 0
            && month.wrapping_sub(1) < 12
            && day.wrapping_sub(1) < days
            // Hours below 24, minutes and seconds below 60.
            && ((time + 0x8000_8000_8000_0000 - 0x003C_003C_0018_0000) & 0x8000_8000_8000_0000 == 0);
        let text = field::text_ok_in(rec, c.port_ref, c.ref_width, self.ref_masks);
        // Canonical index + 1: action 3 is D; status 3 and 4 are N and R.
        let snapshot_ok = !full || (action != 3 && status < 3);
        let donor = u32::from_le_bytes(donor_digits(donor));
        let donor_ok = ((action == 3) == (current == donor)) && !(action == 2 && losing == donor);
        let ok = action != 0 && status != 0 && category != 0 && area_ok && calendar && text && snapshot_ok && donor_ok;
        if !ok {
            return None;
        }
        // 2 a.m. (the clocks may skip the hour) and the 29th of February, the full way.
        if (time >> 16) & 0xFFFF == 2 || date >> 32 == (29 << 16) | 2 {
            effective_of_pairs(date, time)?;
        }
        Some(nsn)
    }

    /// [`Self::quick`] as field values by role.
    fn parse(&self, rec: &[u8]) -> Option<Fields> {
        let q = self.quick(rec)?;
        let mut out = Fields {
            vals: [0; ROLES],
            set: 0,
            errors: false,
            number_digits: Some(u64::from(q.number.nsn())),
        };
        let mut put = |r: Role, v: u64| {
            let i = role_index(r);
            out.vals[i] = v;
            out.set |= 1 << i;
        };
        put(Role::Action, q.action.index() as u64);
        put(Role::Status, crate::types::status_index(q.status) as u64);
        put(Role::Category, crate::types::category_index(q.category) as u64);
        put(Role::Number, u64::from(q.number.nsn()));
        put(Role::Current, u64::from(q.current.get()));
        put(Role::Losing, u64::from(q.losing.get()));
        put(Role::EffectiveAt, q.effective_at);
        put(Role::PortRef, q.ref_len as u64);
        Some(out)
    }
}

pub(crate) struct Checker {
    layout: Layout,
    /// The port reference field's first column (0-based) and width.
    port_ref_at: (usize, usize),
    detail_fast: Option<DetailFast>,
    header_fields: Plan,
    detail_fields: Plan,
    trailer_fields: Plan,
    header_code: Vec<u8>,
    detail_code: Vec<u8>,
    trailer_code: Vec<u8>,
    record_length: u64,
    file: String,
    line_no: u64,
    first_end: Option<Ending>,
    last_end: Ending,
    mixed_reported: bool,
    line1_header: bool,
    donor: Option<CarrierCode>,
    kind: Option<FileKind>,
    trailer_line: Option<u64>,
    trailer_count: Option<u64>,
    trailer_hash: Option<u64>,
    after_trailer_reported: bool,
    body: u64,
    hash: u64,
    hash_ok: bool,
    hash_modulus: u64,
    numbers: Option<NumberSet>,
}

fn subject(f: &Field) -> Subject {
    Subject::Field {
        name: f.name.clone(),
        first: f.start,
        last: f.end(),
    }
}

impl Checker {
    pub fn new(layout: &Layout, file: &str) -> Result<Self, LayoutError> {
        layout.validate()?;
        let width = layout.trailer.field(Role::HashTotal).map_or(12, |f| f.width.min(18));
        Ok(Self {
            layout: layout.clone(),
            port_ref_at: layout
                .detail
                .field(Role::PortRef)
                .map_or((0, 0), |f| (f.start - 1, f.width)),
            detail_fast: DetailFast::new(layout),
            header_fields: Plan::new(layout, &layout.header),
            detail_fields: Plan::new(layout, &layout.detail),
            trailer_fields: Plan::new(layout, &layout.trailer),
            header_code: layout.header.code.as_bytes().to_vec(),
            detail_code: layout.detail.code.as_bytes().to_vec(),
            trailer_code: layout.trailer.code.as_bytes().to_vec(),
            record_length: layout.record_length as u64,
            file: file.to_string(),
            line_no: 0,
            first_end: None,
            last_end: Ending::None,
            mixed_reported: false,
            line1_header: false,
            donor: None,
            kind: None,
            trailer_line: None,
            trailer_count: None,
            trailer_hash: None,
            after_trailer_reported: false,
            body: 0,
            hash: 0,
            hash_ok: true,
            hash_modulus: 10u64.pow(width as u32),
            numbers: None,
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The first line's line end (LF when it had none).
    pub fn line_end(&self) -> LineEnd {
        match self.first_end {
            Some(Ending::CrLf) => LineEnd::CrLf,
            _ => LineEnd::Lf,
        }
    }

    /// Whether the last line so far ended with a line end.
    pub fn final_line_end(&self) -> bool {
        self.last_end != Ending::None
    }

    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Lines counted as detail records so far.
    pub fn body_count(&self) -> u64 {
        self.body
    }

    /// The hash total of the detail records so far.
    pub fn hash_total(&self) -> u64 {
        self.hash % self.hash_modulus
    }

    fn diag(&self, kind: ErrorKind, subject: Subject, found: String, expected: String) -> Diagnostic {
        self.diag_at(self.line_no, kind, subject, found, expected)
    }

    fn diag_at(&self, line: u64, kind: ErrorKind, subject: Subject, found: String, expected: String) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line,
            kind,
            subject,
            found,
            expected,
        }
    }

    fn type_subject(&self) -> Subject {
        let rt = &self.layout.record_type;
        Subject::Field {
            name: rt.name.clone(),
            first: rt.start,
            last: rt.start + rt.width - 1,
        }
    }

    /// A good detail record in the body of a file, checked in one straight pass; `None` when the
    /// line is anything else or has anything wrong with it (nothing is changed then, and
    /// [`Self::line`] checks it the full way for its diagnostics).
    #[inline]
    fn quick_detail<'a>(&mut self, raw: &RawLine<'a>) -> Option<RawDetail<'a>> {
        let fast = self.detail_fast.as_ref()?;
        // Past the header, before any trailer, the usual line end and length.
        if !self.in_body() || raw.len != self.record_length || self.first_end != Some(raw.ending) {
            return None;
        }
        let content = raw.content;
        let q = fast.clean(
            &self.detail_fields.ranges,
            self.donor?,
            self.kind == Some(FileKind::Full),
            content,
        )?;
        if !self.accept_clean(q.number.nsn(), raw.ending) {
            return None;
        }
        let (at, _) = self.port_ref_at;
        let port_ref = content.get(at..at + q.ref_len)?;
        Some(RawDetail {
            action: q.action,
            number: q.number,
            current: q.current,
            losing: q.losing,
            status: q.status,
            effective_at: q.effective_at,
            category: q.category,
            port_ref,
        })
    }

    /// Whether a line now would be in the body of the file: after line 1, before any trailer.
    #[inline]
    pub(crate) fn in_body(&self) -> bool {
        self.line_no > 0 && self.trailer_line.is_none()
    }

    /// Counts a line that [`DetailFast::clean`] passed, in the body of the file (see
    /// [`Self::in_body`]), with the file's usual line end: false, with nothing changed, when its
    /// number is a duplicate (the full check then reports it).
    #[inline]
    pub(crate) fn accept_clean(&mut self, nsn: u32, ending: Ending) -> bool {
        if let Some(set) = self.numbers.as_mut() {
            // A number already there is left as it is, for the full check to report.
            if !set.insert_nsn(nsn) {
                return false;
            }
        }
        self.line_no += 1;
        self.last_end = ending;
        self.body += 1;
        self.hash += u64::from(nsn);
        if self.hash >= 1 << 62 {
            self.hash %= self.hash_modulus;
        }
        true
    }

    /// [`Self::accept_clean`] for the next lines, given by their marks: each the NSN of a line
    /// [`DetailFast::clean_nsn`] passed, or `careful` for one it did not. Takes them up to the
    /// first marked `careful` or not accepted (a duplicate); how many it took.
    pub(crate) fn accept_clean_run(&mut self, marks: &[u32], careful: u32, ending: Ending) -> usize {
        let mut hash = self.hash;
        let mut taken = 0;
        for &nsn in marks {
            if nsn == careful || self.numbers.as_mut().is_some_and(|set| !set.insert_nsn(nsn)) {
                break;
            }
            hash += u64::from(nsn);
            if hash >= 1 << 62 {
                hash %= self.hash_modulus;
            }
            taken += 1;
        }
        self.hash = hash;
        if taken > 0 {
            self.line_no += taken as u64;
            self.body += taken as u64;
            self.last_end = ending;
        }
        taken
    }

    /// What the checks of one detail record on its own depend on, once line 1 has been read:
    /// the fast reader, the detail pre-check, the donor, whether the file is a full snapshot
    /// and its line end. `None` when the layout has no fast reader or line 1 was no good header.
    pub(crate) fn record_context(&self) -> Option<RecordContext> {
        Some(RecordContext {
            fast: self.detail_fast.clone()?,
            plan: self.detail_fields.ranges(),
            donor: self.donor?,
            kind: self.kind?,
            ending: self.first_end?,
            record_length: self.layout.record_length,
        })
    }

    /// The file's line end so far and the donor and kind its header gave (for checking that a
    /// [`RecordContext`] is this file's).
    pub(crate) fn context_key(&self) -> (Option<Ending>, Option<CarrierCode>, Option<FileKind>) {
        (self.first_end, self.donor, self.kind)
    }

    /// Checks one line; errors go to `errs`.
    #[inline]
    pub fn line<'a>(&mut self, raw: &RawLine<'a>, errs: &mut Vec<Diagnostic>) -> Parsed<'a> {
        if let Some(d) = self.quick_detail(raw) {
            return Parsed::Detail(d);
        }
        self.line_slow(raw, errs)
    }

    #[inline(never)]
    fn line_slow<'a>(&mut self, raw: &RawLine<'a>, errs: &mut Vec<Diagnostic>) -> Parsed<'a> {
        self.line_no += 1;
        self.last_end = raw.ending;
        match self.first_end {
            None => self.first_end = Some(raw.ending),
            Some(first) if raw.ending != Ending::None && raw.ending != first && !self.mixed_reported => {
                self.mixed_reported = true;
                let name = |e: Ending| if e == Ending::CrLf { "CRLF" } else { "LF" };
                errs.push(self.diag(
                    ErrorKind::MixedLineEnds,
                    Subject::LineEnd,
                    name(raw.ending).into(),
                    format!("{} like line 1", name(first)),
                ));
            }
            Some(_) => {}
        }

        let content = raw.content;
        let rt = &self.layout.record_type;
        let type_bytes = content.get(rt.start.saturating_sub(1)..(rt.start + rt.width).saturating_sub(1));
        let class = match type_bytes {
            _ if raw.len == 0 => Class::Blank,
            Some(t) if t == self.detail_code => Class::Detail,
            Some(t) if t == self.header_code => Class::Header,
            Some(t) if t == self.trailer_code => Class::Trailer,
            _ => Class::Other,
        };
        let found_type = || quote(type_bytes.unwrap_or(content));

        // Structure: where headers and trailers may stand.
        let body =
            self.trailer_line.is_none() && class != Class::Trailer && !(self.line_no == 1 && class == Class::Header);
        if body {
            self.body += 1;
        }
        if self.line_no == 1 {
            if class == Class::Header {
                self.line1_header = true;
            } else if class != Class::Blank {
                errs.push(self.diag(
                    ErrorKind::HeaderMissing,
                    self.type_subject(),
                    found_type(),
                    format!("{} (a file starts with its header)", self.layout.header.code),
                ));
            }
        } else if class == Class::Header {
            let (kind, why) = if self.line1_header {
                (ErrorKind::SecondHeader, "the header is line 1")
            } else {
                (ErrorKind::HeaderNotFirst, "a header belongs on line 1 only")
            };
            let expected = format!("{} or {}: {why}", self.layout.detail.code, self.layout.trailer.code);
            errs.push(self.diag(kind, self.type_subject(), found_type(), expected));
        }
        let first_trailer = class == Class::Trailer && self.trailer_line.is_none();
        if first_trailer {
            self.trailer_line = Some(self.line_no);
        } else if class == Class::Trailer {
            if let Some(first) = self.trailer_line {
                self.after_trailer_reported = true;
                errs.push(self.diag(
                    ErrorKind::SecondTrailer,
                    self.type_subject(),
                    found_type(),
                    format!("the end of the file: the trailer is line {first}"),
                ));
            }
        } else if let Some(first) = self.trailer_line {
            if !self.after_trailer_reported && class != Class::Blank {
                self.after_trailer_reported = true;
                errs.push(self.diag(
                    ErrorKind::TrailerNotLast,
                    Subject::Record,
                    format!("a record after the trailer on line {first}"),
                    "the end of the file".into(),
                ));
            }
        }

        if class == Class::Blank {
            self.hash_ok &= !body;
            errs.push(self.diag(
                ErrorKind::BlankLine,
                Subject::Record,
                "a blank line".into(),
                format!("a record of {} characters", self.layout.record_length),
            ));
            return Parsed::Nothing;
        }
        if raw.len != self.record_length {
            self.hash_ok &= !body;
            let non_ascii = crate::lines::first_non_ascii(content, 0).or(raw.beyond);
            if let Some((col, byte)) = non_ascii {
                errs.push(self.diag(
                    ErrorKind::NonAscii,
                    Subject::Record,
                    format!("byte 0x{byte:02X} at col {}", col + 1),
                    "ASCII characters only".into(),
                ));
            }
            let unit = if raw.len == 1 { "character" } else { "characters" };
            errs.push(self.diag(
                ErrorKind::RecordLength,
                Subject::Record,
                format!("{} {unit}", raw.len),
                format!("{} characters", self.layout.record_length),
            ));
            return Parsed::Nothing;
        }
        let result = match class {
            Class::Header => {
                let fields = self.fields(HeaderOrOther::Header, content, errs);
                if self.line_no == 1 {
                    self.header(&fields)
                } else {
                    None
                }
            }
            Class::Detail => self.detail(content, body, errs),
            Class::Trailer => {
                let fields = self.fields(HeaderOrOther::Trailer, content, errs);
                if first_trailer {
                    self.trailer_count = fields.get(Role::DetailCount);
                    self.trailer_hash = fields.get(Role::HashTotal);
                    match (self.trailer_count, self.trailer_hash, fields.errors) {
                        (Some(detail_count), Some(hash_total), false) => Some(Parsed::Trailer(Trailer {
                            detail_count,
                            hash_total,
                        })),
                        _ => None,
                    }
                } else {
                    None
                }
            }
            Class::Other | Class::Blank => {
                if self.line_no > 1 {
                    let rl = &self.layout;
                    let expected = format!("{}, {} or {}", rl.header.code, rl.detail.code, rl.trailer.code);
                    errs.push(self.diag(
                        ErrorKind::UnknownRecordType,
                        self.type_subject(),
                        found_type(),
                        expected,
                    ));
                }
                None
            }
        };
        if class != Class::Detail {
            self.hash_ok &= !body;
        }
        result.unwrap_or(Parsed::Nothing)
    }

    fn header(&mut self, f: &Fields) -> Option<Parsed<'static>> {
        self.donor = f.carrier(Role::Donor);
        self.kind = f.code(Role::FileKind).and_then(FileKind::from_index);
        if self.kind == Some(FileKind::Full) {
            self.numbers = Some(NumberSet::new());
        }
        if f.errors {
            return None;
        }
        Some(Parsed::Header(Header {
            donor: self.donor?,
            file_date: field::date_of(f.get(Role::FileDate)?)?,
            file_seq: u32::try_from(f.get(Role::FileSeq)?).ok()?,
            created_at: field::time_of(f.get(Role::CreatedAt)?)?,
            kind: self.kind?,
        }))
    }

    fn fields(&self, which: HeaderOrOther, content: &[u8], errs: &mut Vec<Diagnostic>) -> Fields {
        let plan = match which {
            HeaderOrOther::Header => &self.header_fields,
            HeaderOrOther::Detail => &self.detail_fields,
            HeaderOrOther::Trailer => &self.trailer_fields,
        };
        if plan.in_range(content) {
            let fast = match (&which, &self.detail_fast) {
                (HeaderOrOther::Detail, Some(d)) => d.parse(content),
                _ => Self::fields_fast(plan, content),
            };
            if let Some(out) = fast {
                return out;
            }
        }
        let mut out = Fields {
            vals: [0; ROLES],
            set: 0,
            errors: false,
            number_digits: None,
        };
        for c in &plan.fields {
            let bytes = c.bytes(content);
            let role = c.field.role;
            let checked = c.parse(bytes).and_then(|v| match role {
                Some(Role::Number) => {
                    out.number_digits = Some(v % 1_000_000_000);
                    // Ten digits already: geographic when `0[2378]`.
                    if matches!(bytes, [b'0', b'2' | b'3' | b'7' | b'8', ..]) {
                        Ok(v)
                    } else {
                        Err(ErrorKind::NotGeographic)
                    }
                }
                Some(Role::FileSeq) if v == 0 => Err(ErrorKind::OutOfRange),
                _ => Ok(v),
            });
            match checked {
                Ok(v) => {
                    if let Some(r) = role {
                        let i = role_index(r);
                        out.vals[i] = v;
                        out.set |= 1 << i;
                    }
                }
                Err(kind) => {
                    out.errors = true;
                    errs.push(self.diag(kind, subject(&c.field), quote(bytes), field::expected(&c.field, kind)));
                }
            }
        }
        out
    }

    /// The fields of a record whose bytes are all in range: no diagnostics, `None` if some
    /// field is wrong after all.
    fn fields_fast(plan: &Plan, content: &[u8]) -> Option<Fields> {
        let mut out = Fields {
            vals: [0; ROLES],
            set: 0,
            errors: false,
            number_digits: None,
        };
        for c in &plan.fields {
            let Some(role) = c.field.role else {
                continue;
            };
            let bytes = c.bytes(content);
            let v = c.parse_prechecked(bytes)?;
            match role {
                Role::Number => {
                    out.number_digits = Some(v % 1_000_000_000);
                    if !matches!(bytes, [b'0', b'2' | b'3' | b'7' | b'8', ..]) {
                        return None;
                    }
                }
                Role::FileSeq if v == 0 => return None,
                _ => {}
            }
            let i = role_index(role);
            out.vals[i] = v;
            out.set |= 1 << i;
        }
        Some(out)
    }

    fn detail<'a>(&mut self, content: &'a [u8], body: bool, errs: &mut Vec<Diagnostic>) -> Option<Parsed<'a>> {
        let f = self.fields(HeaderOrOther::Detail, content, errs);
        if body {
            match f.number_digits {
                Some(n) => {
                    self.hash += n;
                    if self.hash >= 1 << 62 {
                        self.hash %= self.hash_modulus;
                    }
                }
                None => self.hash_ok = false,
            }
        }
        let action = f.code(Role::Action).and_then(Action::from_index);
        let status = f.code(Role::Status).and_then(|i| STATUS_ORDER.get(i).copied());
        let number = f
            .get(Role::Number)
            .and_then(|n| TelephoneNumber::from_nsn((n % 1_000_000_000) as u32).ok());
        let current = f.carrier(Role::Current);
        let losing = f.carrier(Role::Losing);
        let mut errors = f.errors;
        let detail = &self.layout.detail;
        let mut action_error = false;
        if self.kind == Some(FileKind::Full) {
            if action == Some(Action::D) {
                if let Some(af) = detail.field(Role::Action) {
                    action_error = true;
                    let expected = format!("{} in a full snapshot", codes_of(af, &[0, 1]));
                    let found = quote(bytes_of(content, af));
                    errs.push(self.diag(ErrorKind::NotInSnapshot, subject(af), found, expected));
                }
            }
            if matches!(status, Some(PortStatus::N | PortStatus::R)) {
                if let Some(sf) = detail.field(Role::Status) {
                    errors = true;
                    let expected = format!("{} in a full snapshot", codes_of(sf, &[1, 0]));
                    let found = quote(bytes_of(content, sf));
                    errs.push(self.diag(ErrorKind::NotInSnapshot, subject(sf), found, expected));
                }
            }
        }
        if let (false, Some(a), Some(cur), Some(los), Some(donor)) = (action_error, action, current, losing, self.donor)
        {
            let why = match a {
                Action::A | Action::C if cur == donor => {
                    Some((&[2][..], format!("the current carrier {cur} is the donor")))
                }
                Action::C if los == donor => Some((&[0][..], format!("the losing carrier {los} is the donor"))),
                Action::D if cur != donor => Some((
                    &[0, 1][..],
                    format!("the current carrier {cur} is not the donor {donor}"),
                )),
                _ => None,
            };
            if let (Some((alts, why)), Some(af)) = (why, detail.field(Role::Action)) {
                action_error = true;
                let expected = format!("{}: {why}", codes_of(af, alts));
                let found = quote(bytes_of(content, af));
                errs.push(self.diag(ErrorKind::ActionDonor, subject(af), found, expected));
            }
        }
        errors |= action_error;
        if let (true, Some(n), Some(set)) = (body, number, self.numbers.as_mut()) {
            if !set.insert(n) {
                errors = true;
                if let Some(nf) = detail.field(Role::Number) {
                    let d = self.diag(
                        ErrorKind::DuplicateNumber,
                        subject(nf),
                        quote(bytes_of(content, nf)),
                        "a number listed once in a full snapshot".into(),
                    );
                    errs.push(d);
                }
            }
        }
        if errors {
            return None;
        }
        let (at, _) = self.port_ref_at;
        let port_ref = content.get(at..at + f.get(Role::PortRef)? as usize)?;
        Some(Parsed::Detail(RawDetail {
            action: action?,
            number: number?,
            current: current?,
            losing: losing?,
            status: status?,
            effective_at: f.get(Role::EffectiveAt)?,
            category: f.code(Role::Category).and_then(|i| CATEGORY_ORDER.get(i).copied())?,
            port_ref,
        }))
    }

    /// The checks that need the whole file, after its last line.
    pub fn finish(&mut self, errs: &mut Vec<Diagnostic>) {
        if self.line_no == 0 {
            errs.push(self.diag_at(
                1,
                ErrorKind::HeaderMissing,
                Subject::File,
                "an empty file".into(),
                "a header record".into(),
            ));
            return;
        }
        let Some(tline) = self.trailer_line else {
            errs.push(self.diag(
                ErrorKind::TrailerMissing,
                Subject::File,
                "no trailer".into(),
                format!("a trailer (record type {}) as the last line", self.layout.trailer.code),
            ));
            return;
        };
        let trailer = &self.layout.trailer;
        if let (Some(count), Some(cf)) = (self.trailer_count, trailer.field(Role::DetailCount)) {
            if count != self.body {
                let w = cf.width;
                errs.push(self.diag_at(
                    tline,
                    ErrorKind::DetailCount,
                    subject(cf),
                    format!("\"{count:0w$}\""),
                    format!("\"{:0w$}\" (the number of detail records)", self.body),
                ));
            }
        }
        if let (Some(hash), Some(hf), true) = (self.trailer_hash, trailer.field(Role::HashTotal), self.hash_ok) {
            let want = self.hash % self.hash_modulus;
            if hash != want {
                let w = hf.width;
                errs.push(self.diag_at(
                    tline,
                    ErrorKind::HashTotal,
                    subject(hf),
                    format!("\"{hash:0w$}\""),
                    format!("\"{want:0w$}\" (the sum of the detail records' numbers without their leading 0, modulo 10^{w})"),
                ));
            }
        }
    }
}

#[derive(Clone, Copy)]
enum HeaderOrOther {
    Header,
    Detail,
    Trailer,
}

fn bytes_of<'a>(content: &'a [u8], f: &Field) -> &'a [u8] {
    content.get(f.range()).unwrap_or_default()
}

/// Some of a code field's codes, by canonical index, as `A or C`.
fn codes_of(f: &Field, indexes: &[usize]) -> String {
    match &f.kind {
        crate::layout::FieldKind::Codes(list) => {
            let picked: Vec<String> = indexes.iter().filter_map(|&i| list.get(i).cloned()).collect();
            field::alternatives(&picked)
        }
        _ => String::new(),
    }
}

/// An effective time read as digit pairs (`date`: the pairs of YYYYMMDD, `time`: those of
/// DDHHMMSS, one pair to each 16-bit lane) as the number YYYYMMDDHHMMSS, if it is a real Sydney
/// wall-clock time.
fn effective_of_pairs(date: u64, time: u64) -> Option<u64> {
    let lane = |x: u64, i: u32| (x >> (16 * i)) & 0xFFFF;
    let ymd = (lane(date, 0) * 100 + lane(date, 1), lane(date, 2), lane(date, 3));
    let hms = (lane(time, 1), lane(time, 2), lane(time, 3));
    let v = ((ymd.0 * 100 + ymd.1) * 100 + ymd.2) * 1_000_000 + (hms.0 * 100 + hms.1) * 100 + hms.2;
    field::real_sydney_time(v, ymd, hms).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A detail record of the built-in layout with these fields (the port reference padded to
    /// its 12 columns), then `edits` made (a byte at a column).
    fn record(
        action: u8,
        current: [u8; 4],
        losing: [u8; 4],
        status: u8,
        effective: &[u8],
        port_ref: &str,
        edits: &[(usize, u8)],
    ) -> Vec<u8> {
        let mut rec = format!(
            "D{}0255501234{}{}{}{}A{:<12}{:16}",
            char::from(action),
            String::from_utf8_lossy(&current),
            String::from_utf8_lossy(&losing),
            char::from(status),
            String::from_utf8_lossy(effective),
            port_ref,
            ""
        )
        .into_bytes();
        for &(at, b) in edits {
            if let Some(x) = rec.get_mut(at % 64) {
                *x = b;
            }
        }
        rec
    }

    fn effective() -> impl Strategy<Value = Vec<u8>> {
        let pick = |list: &'static [&'static str]| prop::sample::select(list);
        (
            pick(&[
                "0000", "0001", "1900", "1942", "1999", "2000", "2024", "2025", "2026", "2100", "9999",
            ]),
            pick(&["00", "01", "02", "04", "09", "10", "12", "13", "99"]),
            pick(&["00", "01", "07", "28", "29", "30", "31", "32"]),
            pick(&["00", "01", "02", "03", "09", "23", "24"]),
            pick(&["00", "30", "59", "60"]),
            pick(&["00", "59", "60"]),
        )
            .prop_map(|(y, mo, d, h, mi, s)| format!("{y}{mo}{d}{h}{mi}{s}").into_bytes())
    }

    proptest! {
        /// The scan's combined check agrees with the record check the line-by-line reader uses:
        /// for codes, numbers, carriers against the donor, snapshots, real and unreal dates and
        /// times (leap days, 2 a.m. on the days the clocks go forward), port references and any
        /// byte anywhere.
        #[test]
        fn clean_nsn_agrees_with_clean(
            action in prop::sample::select(&b"ACDBX"[..]),
            status in prop::sample::select(&b"PCNRX"[..]),
            current in prop::sample::select(vec![*b"9001", *b"9002", *b"0000", *b"9999"]),
            losing in prop::sample::select(vec![*b"9001", *b"9003", *b"9002"]),
            effective in effective(),
            port_ref in "[A-Z0-9 .-]{0,12}|SNA-[0-9]{1,8}",
            edits in prop::collection::vec((0usize..64, prop::sample::select(&b"0123456789ACDNRPX -\n\r\xC3"[..])), 0..3),
            full in any::<bool>(),
            donor in prop::sample::select(&[9001u16, 9002, 9003][..]),
        ) {
            let layout = Layout::builtin();
            let checker = Checker::new(&layout, "f.plnr").unwrap();
            let fast = checker.detail_fast.as_ref().unwrap();
            let plan = &checker.detail_fields.ranges;
            let donor = CarrierCode::new(donor).unwrap();
            let rec = record(action, current, losing, status, &effective, &port_ref, &edits);
            let slow = fast.clean(plan, donor, full, &rec).map(|q| q.number.nsn());
            prop_assert_eq!(fast.clean_nsn(&fast.columns, plan, donor, full, &rec), slow);
            prop_assert_eq!(fast.columns, Columns::BUILTIN);
            prop_assert_eq!(fast.clean_nsn(&Columns::BUILTIN, plan, donor, full, &rec), slow);
        }
    }

    /// Dates and times the combined check leaves to the full one, each way.
    #[test]
    fn clean_nsn_checks_leap_days_and_2_am() {
        let layout = Layout::builtin();
        let checker = Checker::new(&layout, "f.plnr").unwrap();
        let fast = checker.detail_fast.as_ref().unwrap();
        let plan = &checker.detail_fields.ranges;
        let donor = CarrierCode::new(9001).unwrap();
        for (effective, good) in [
            (&b"20240229120000"[..], true),
            (b"20250229120000", false),
            (b"19000229120000", false),
            (b"20000229120000", true),
            (b"20251005023000", false),
            (b"20251004023000", true),
            (b"20250406023000", true),
        ] {
            let rec = record(b'A', *b"9002", *b"9001", b'C', effective, "SNA-1", &[]);
            assert_eq!(
                fast.clean_nsn(&Columns::BUILTIN, plan, donor, true, &rec).is_some(),
                good,
                "{effective:?}"
            );
            assert_eq!(fast.clean(plan, donor, true, &rec).is_some(), good, "{effective:?}");
        }
    }

    fn n(nsn: u32) -> TelephoneNumber {
        TelephoneNumber::from_nsn(nsn).expect("a geographic number")
    }

    /// The log and the bitset answer alike: in order, out of order, across the switch and for
    /// gaps of every width.
    #[test]
    fn number_set_log_and_bits_agree() {
        let mut log = NumberSet::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut nsn = 200_000_000u32;
        for step in [1u32, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 300_000_000] {
            nsn = nsn.saturating_add(step);
            if TelephoneNumber::from_nsn(nsn).is_err() || NumberSet::index(nsn).is_none() {
                continue;
            }
            assert!(log.insert(n(nsn)), "{nsn} is new");
            assert!(!log.insert(n(nsn)), "{nsn} again");
            seen.insert(nsn);
        }
        assert!(log.chunks.is_none(), "still a log");
        // Out of order: the log becomes bits, and every number logged is still there.
        assert!(log.insert(n(200_000_005)));
        assert!(log.chunks.is_some());
        seen.insert(200_000_005);
        for &s in &seen {
            assert!(!log.insert(n(s)), "{s} was seen");
        }
        assert!(log.insert(n(200_000_004)));
        // A number outside the geographic areas is never held.
        let mut empty = NumberSet::new();
        assert!(empty.insert_nsn(412_345_678) && empty.insert_nsn(412_345_678));
    }

    /// Past the log's cap the set switches to bits with nothing lost.
    #[test]
    fn number_set_switches_at_the_cap() {
        let mut set = NumberSet::new();
        // Gaps of 8: a byte each, so the cap comes after 16 million numbers.
        let step = 8u32;
        let mut index = 0u32;
        let mut count = 0u32;
        while set.chunks.is_none() {
            let nsn = if index < 200_000_000 {
                index + 200_000_000
            } else {
                index + 500_000_000
            };
            assert!(set.insert_nsn(nsn));
            count += 1;
            index += step;
            assert!(index < SET_BITS, "the cap was never reached");
        }
        assert_eq!(count as usize, LOG_CAP + 1);
        for k in (0..count).step_by(99_991) {
            let i = k * step;
            let nsn = if i < 200_000_000 {
                i + 200_000_000
            } else {
                i + 500_000_000
            };
            assert!(!set.insert_nsn(nsn), "{nsn}");
        }
    }
}
