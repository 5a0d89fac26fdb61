//! Instants and durations.
//!
//! A [`Timestamp`] is an instant (milliseconds since the Unix epoch). Everything that reads or
//! writes one as local time does so in `Australia/Sydney`, where the Code's rules are evaluated.
//! A [`Span`] is a duration as written in files (`15m`, `4h`, `2d`, `5bd`, `6mo`), carrying its
//! unit, because "two business days" is not a number of seconds.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use std::num::NonZeroU64;

use chrono_tz::Australia::Sydney;
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// An instant, in milliseconds since 1970-01-01T00:00:00Z.
///
/// Stored with its sign bit flipped in a `NonZeroU64` (unsigned order is then time order), so
/// that `Option<Timestamp>` takes no more room than a `Timestamp`: the audit keeps a dozen of them
/// per open port. The one value this cannot hold, `i64::MIN` milliseconds, is read as the next
/// one, 292 million years before any instant lnpsim handles.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(NonZeroU64);

impl Default for Timestamp {
    fn default() -> Self {
        Self::from_millis(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TimeError {
    #[error(
        "{} is not an RFC 3339 instant with offset (e.g. 2026-03-02T09:15:00+11:00)",
        crate::message::excerpt(found)
    )]
    NotRfc3339 { found: String },
    #[error(
        "{} is out of range: instants lie from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999+11:00",
        crate::message::excerpt(found)
    )]
    OutOfRange { found: String },
    #[error("{} is not a date (YYYY-MM-DD)", crate::message::excerpt(found))]
    NotDate { found: String },
    #[error(
        "{} is not a duration: write a whole number and a unit, e.g. 15m, 4h, 2d, 5bd, 6mo",
        crate::message::excerpt(found)
    )]
    NotSpan { found: String },
    #[error(
        "{} is out of range: a duration is at most {max} years",
        crate::message::excerpt(found)
    )]
    SpanOutOfRange { found: String, max: u64 },
    #[error("{} is not a local time (HH:MM)", crate::message::excerpt(found))]
    NotTimeOfDay { found: String },
}

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        const SIGN: u64 = 1 << 63;
        match NonZeroU64::new((ms as u64) ^ SIGN) {
            Some(v) => Self(v),
            None => Self(NonZeroU64::MIN),
        }
    }

    pub const fn from_secs(s: i64) -> Self {
        Self::from_millis(s * 1000)
    }

    pub const fn millis(self) -> i64 {
        const SIGN: u64 = 1 << 63;
        (self.0.get() ^ SIGN) as i64
    }

    /// The instant as an unsigned integer in the same order (for packed sort keys).
    #[inline]
    pub(crate) const fn order_bits(self) -> u64 {
        self.0.get()
    }

    /// Parses RFC 3339 with an explicit offset (or `Z`).
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimeError> {
        Self::from_written(s.trim().as_bytes()).map_or_else(|| Self::parse_rfc3339_general(s), Ok)
    }

    /// An instant in the form lnpsim writes, in range; `None` for anything else, which
    /// [`Timestamp::parse_rfc3339`] then reads by chrono's parser.
    pub(crate) fn from_written(text: &[u8]) -> Option<Self> {
        fast_rfc3339(text).filter(|t| t.in_range())
    }

    /// [`Timestamp::parse_rfc3339`] by chrono's parser alone: the reference its fast path is
    /// tested against.
    pub(crate) fn parse_rfc3339_general(s: &str) -> Result<Self, TimeError> {
        let t = DateTime::parse_from_rfc3339(s.trim())
            .map(|dt| Self::from_millis(dt.timestamp_millis()))
            .map_err(|_| TimeError::NotRfc3339 { found: s.into() })?;
        if t.in_range() {
            Ok(t)
        } else {
            Err(TimeError::OutOfRange { found: s.trim().into() })
        }
    }

    /// The first instant lnpsim handles: 0001-01-01T00:00:00Z (instants before 1895 are written
    /// in UTC: Sydney's local mean time then was not a whole-minute offset).
    pub const FIRST: Timestamp = Timestamp::from_millis(-62_135_596_800_000);
    /// The last instant lnpsim handles: 9999-12-31T23:59:59.999+11:00, the end of year 9999 in
    /// Sydney. Every instant read, written or reached by the simulator lies in `FIRST..=LAST`, so
    /// its RFC 3339 form has a four-digit year.
    pub const LAST: Timestamp = Timestamp::from_millis(253_402_261_199_999);

    /// Whether the instant lies in the range lnpsim handles (`FIRST..=LAST`).
    pub fn in_range(self) -> bool {
        (Self::FIRST..=Self::LAST).contains(&self)
    }

    pub fn from_datetime<T: TimeZone>(dt: &DateTime<T>) -> Self {
        Self::from_millis(dt.timestamp_millis())
    }

    pub fn utc(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.millis()).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The instant in Sydney local time.
    pub fn sydney(self) -> DateTime<Tz> {
        self.utc().with_timezone(&Sydney)
    }

    /// The instant with Sydney's offset at that moment, for printing.
    pub fn sydney_fixed(self) -> DateTime<FixedOffset> {
        self.sydney().fixed_offset()
    }

    /// The Sydney local date.
    pub fn sydney_date(self) -> NaiveDate {
        self.sydney_naive().date()
    }

    /// The Sydney wall-clock time at this instant (what `sydney().naive_local()` gives, without
    /// a time-zone lookup in the years of the current daylight-saving rule).
    pub fn sydney_naive(self) -> NaiveDateTime {
        if let Some(local) = self.sydney_wall_fast().and_then(|(day, ms)| naive_of_wall(day, ms)) {
            return local;
        }
        let local = self
            .millis()
            .saturating_add(i64::from(self.sydney_offset_secs()) * 1000);
        DateTime::from_timestamp_millis(local).map_or_else(|| self.sydney().naive_local(), |d| d.naive_utc())
    }

    /// The first instant at or after the given Sydney wall-clock time. A wall-clock time in the
    /// spring-forward gap gives the first instant after the gap; an ambiguous one (autumn) gives
    /// the earlier of the two.
    pub fn from_sydney_local(local: NaiveDateTime) -> Self {
        if let Some(t) = Self::from_sydney_wall_fast(local.and_utc().timestamp_millis()) {
            return t;
        }
        match Sydney.from_local_datetime(&local) {
            LocalResult::Single(dt) => Self::from_datetime(&dt),
            LocalResult::Ambiguous(a, b) => Self::from_datetime(&a.min(b)),
            LocalResult::None => {
                // In the spring-forward gap: the first instant whose wall-clock time is at or
                // after `local`. Wall time is monotonic around a gap, so bisect within a day.
                let guess = Utc.from_utc_datetime(&local).timestamp_millis();
                let (mut lo, mut hi) = (guess - 86_400_000, guess + 86_400_000);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if Timestamp::from_millis(mid).sydney().naive_local() >= local {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                Self::from_millis(hi)
            }
        }
    }

    /// Whether Sydney's offset is the same for the whole UTC hour of this instant: true in the
    /// years of the current daylight-saving rule, whose changes fall on whole UTC hours.
    pub(crate) fn offset_changes_on_utc_hours(self) -> bool {
        let hour_start = self.millis().div_euclid(3_600_000) * 3_600_000;
        fast_rule_applies(hour_start) && fast_rule_applies(hour_start + 3_599_999)
    }

    /// The Sydney wall-clock time at this instant as (days since 1970-01-01, milliseconds of
    /// the day), by integer arithmetic alone; `None` outside the years of the current
    /// daylight-saving rule (ask [`Self::sydney_naive`] there). Deadline arithmetic counts days
    /// this way millions of times in a market run.
    pub(crate) fn sydney_wall_fast(self) -> Option<(i64, i64)> {
        let ms = self.millis();
        if !fast_rule_applies(ms) {
            return None;
        }
        let local = ms + i64::from(fast_sydney_offset_secs(ms)) * 1000;
        Some((local.div_euclid(DAY_MS), local.rem_euclid(DAY_MS)))
    }

    /// [`Self::from_sydney_local`] of a wall-clock time given as milliseconds since
    /// 1970-01-01T00:00 (local), in the years of the current rule where no gap is involved;
    /// `None` where the time-zone database must be asked (another year, or a wall time in the
    /// spring-forward gap).
    pub(crate) fn from_sydney_wall_fast(wall: i64) -> Option<Self> {
        if !fast_rule_applies(wall) {
            return None;
        }
        // Either daylight time (+11) or standard time (+10) explains the wall time; both do in
        // the autumn overlap (the earlier instant wins), neither in the spring gap.
        [DAYLIGHT_SECS, STANDARD_SECS].into_iter().find_map(|offset| {
            let t = wall - i64::from(offset) * 1000;
            (fast_rule_applies(t) && fast_sydney_offset_secs(t) == offset).then(|| Self::from_millis(t))
        })
    }

    #[must_use]
    pub fn plus_millis(self, ms: i64) -> Self {
        Self::from_millis(self.millis().saturating_add(ms))
    }

    /// Format as RFC 3339 with the Sydney offset (`2026-03-02T09:15:00+11:00`); milliseconds
    /// appear only when non-zero.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }
}

impl std::ops::Sub<i64> for Timestamp {
    type Output = Timestamp;
    fn sub(self, ms: i64) -> Timestamp {
        Timestamp::from_millis(self.millis().saturating_sub(ms))
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The time of day of a millisecond of the day (`0..86_400_000`).
pub(crate) fn time_of_day_ms(ms_of_day: i64) -> Option<NaiveTime> {
    let secs = u32::try_from(ms_of_day / 1000).ok()?;
    let nanos = u32::try_from(ms_of_day % 1000).ok()? * 1_000_000;
    NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
}

/// The wall-clock time of a day (days since 1970-01-01) and a millisecond of that day, by
/// integer arithmetic; `None` where chrono has no such date.
fn naive_of_wall(day: i64, ms_of_day: i64) -> Option<NaiveDateTime> {
    let (y, m, d) = civil_from_days(day);
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
    Some(date.and_time(time_of_day_ms(ms_of_day)?))
}

/// Sydney's standard (AEST) and daylight (AEDT) offsets.
const STANDARD_SECS: i32 = 10 * 3600;
const DAYLIGHT_SECS: i32 = 11 * 3600;
pub(crate) const DAY_MS: i64 = 86_400_000;
/// 2009-01-01T00:00:00Z and 2099-01-01T00:00:00Z: well inside the years of New South Wales's
/// current rule (since 2008: daylight time from 02:00 standard time on the first Sunday of
/// October to 03:00 daylight time on the first Sunday of April), which the time-zone database
/// gives to the end of its table. Outside them the time-zone database is asked.
const FAST_FROM_MS: i64 = 1_230_768_000_000;
const FAST_UNTIL_MS: i64 = 4_070_908_800_000;

fn fast_rule_applies(ms: i64) -> bool {
    (FAST_FROM_MS..FAST_UNTIL_MS).contains(&ms)
}

/// Days from 0001-01-01 (day 1 of the common era, chrono's count) to 1970-01-01.
const CE_TO_UNIX_DAYS: i64 = 719_163;

/// The date a day number (days since 1970-01-01) falls on; `None` outside chrono's dates.
pub fn date_of_day(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + CE_TO_UNIX_DAYS).ok()?)
}

/// Days since 1970-01-01 of a date: the inverse of [`date_of_day`].
pub fn day_of(date: NaiveDate) -> i64 {
    i64::from(chrono::Datelike::num_days_from_ce(&date)) - CE_TO_UNIX_DAYS
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(crate) const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC instant (ms) of 02:00 Sydney standard time on the first Sunday of `month`: the
/// Saturday before, 16:00 UTC.
const fn first_sunday_change_ms(year: i64, month: i64) -> i64 {
    let first = days_from_civil(year, month, 1);
    // 1970-01-01 was a Thursday: (days + 4) mod 7 is 0 on Sundays.
    let sunday = first + (7 - (first + 4).rem_euclid(7)) % 7;
    sunday * DAY_MS - STANDARD_SECS as i64 * 1000 + 2 * 3_600_000
}

const FAST_FIRST_YEAR: i64 = 2009;
const FAST_YEARS: usize = 90;

/// The changes of the fast range in order: the end of daylight time (April), then its start
/// (October), of each year.
const CHANGES: [i64; 2 * FAST_YEARS] = {
    let mut t = [0i64; 2 * FAST_YEARS];
    let mut i = 0;
    while i < FAST_YEARS {
        let year = FAST_FIRST_YEAR + i as i64;
        t[2 * i] = first_sunday_change_ms(year, 4);
        t[2 * i + 1] = first_sunday_change_ms(year, 10);
        i += 1;
    }
    t
};

/// The mean Gregorian year (365.2425 days) in milliseconds.
const MEAN_YEAR_MS: i64 = 31_556_952_000;

/// Sydney's offset by the current rule, for an instant where [`fast_rule_applies`]: standard
/// time between a year's April and October changes, daylight time outside them. The year is
/// found by division rather than by searching the table (this runs for most date questions a
/// market run asks). The quotient may name the neighbouring year within a day or so of New
/// Year, which gives the same answer: no change falls between October and April.
fn fast_sydney_offset_secs(ms: i64) -> i32 {
    let guess = (ms - FAST_FROM_MS).div_euclid(MEAN_YEAR_MS);
    let year = usize::try_from(guess).unwrap_or(0).min(FAST_YEARS - 1);
    let (april, october) = (CHANGES[2 * year], CHANGES[2 * year + 1]);
    if (april..october).contains(&ms) {
        STANDARD_SECS
    } else {
        DAYLIGHT_SECS
    }
}

impl Timestamp {
    /// Sydney's UTC offset in seconds at this instant.
    pub fn sydney_offset_secs(self) -> i32 {
        use chrono::Offset;
        if fast_rule_applies(self.millis()) {
            return fast_sydney_offset_secs(self.millis());
        }
        Sydney
            .offset_from_utc_datetime(&self.utc().naive_utc())
            .fix()
            .local_minus_utc()
    }

    /// Appends RFC 3339 text with the given UTC offset (seconds) to `out`, without chrono's
    /// format machinery: trace writing does this for every row.
    pub fn write_rfc3339_with_offset(self, offset_secs: i32, out: &mut String) {
        // RFC 3339 offsets are whole minutes. Sydney's local mean time before 1895 (+10:04:52) is
        // not: such instants are written in UTC, exactly, rather than 52 seconds off.
        let offset_secs = if offset_secs % 60 == 0 { offset_secs } else { 0 };
        let local_ms = self.millis() + i64::from(offset_secs) * 1000;
        let days = local_ms.div_euclid(86_400_000);
        let ms_of_day = local_ms.rem_euclid(86_400_000);
        let (y, mo, d) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        let (h, mi, se) = (secs / 3600, (secs / 60) % 60, secs % 60);
        let ms = ms_of_day % 1000;
        let sign = if offset_secs < 0 { '-' } else { '+' };
        let off = offset_secs.unsigned_abs() / 60;
        if !(0..=9999).contains(&y) || off / 60 > 99 {
            let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}");
            if ms != 0 {
                let _ = write!(out, ".{ms:03}");
            }
            let _ = write!(out, "{sign}{:02}:{:02}", off / 60, off % 60);
            return;
        }
        // The common case without the formatting machinery (every trace row writes one or two).
        // Every value below is in range of its digits: y < 10000, the rest < 1000.
        let digit = |v: i64| char::from(b'0' + (v % 10) as u8);
        let two = |out: &mut String, v: i64| {
            out.push(digit(v / 10));
            out.push(digit(v));
        };
        out.reserve(29);
        two(out, y / 100);
        two(out, y % 100);
        out.push('-');
        two(out, i64::from(mo));
        out.push('-');
        two(out, i64::from(d));
        out.push('T');
        two(out, h);
        out.push(':');
        two(out, mi);
        out.push(':');
        two(out, se);
        if ms != 0 {
            out.push('.');
            out.push(digit(ms / 100));
            two(out, ms % 100);
        }
        out.push(sign);
        two(out, i64::from(off / 60));
        out.push(':');
        two(out, i64::from(off % 60));
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(32);
        self.write_rfc3339_with_offset(self.sydney_offset_secs(), &mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Timestamp {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, TimeError> {
    written_date(s.trim().as_bytes()).ok_or_else(|| TimeError::NotDate { found: s.into() })
}

/// Exactly `YYYY-MM-DD`, years 0001 to 9999 (the range every date and instant is held to), as
/// `%Y-%m-%d` reads it; `None` for anything else. [`parse_date`] is this with spaces trimmed.
pub(crate) fn written_date(b: &[u8]) -> Option<NaiveDate> {
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape || b.starts_with(b"0000") {
        return None;
    }
    // The shape is checked: the digits are the year, month and day.
    let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |v, c| v * 10 + u32::from(c - b'0'));
    NaiveDate::from_ymd_opt(num(0..4) as i32, num(5..7), num(8..10))
}

/// RFC 3339 in the form lnpsim writes (`2026-03-02T09:15:00+11:00`, optionally with a fraction
/// of a second), read by hand; `None` for anything else, which chrono's parser then reads. Where
/// it answers, it answers as chrono does (`trace::tests::fast_time_parse_agrees_with_chrono`),
/// except that the range is not checked.
pub(crate) fn fast_rfc3339(text: &[u8]) -> Option<Timestamp> {
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        let mut v = 0i64;
        for &c in digits {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    if text.len() < 25 || text[4] != b'-' || text[7] != b'-' || text[10] != b'T' || text[13] != b':' || text[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if year < 1000 || day < 1 || day > month_days || hour > 23 || mi > 59 || se > 59 {
        return None;
    }
    let mut pos = 19;
    let mut ms = 0i64;
    if text[pos] == b'.' {
        let start = pos + 1;
        let mut end = start;
        while end < text.len() && text[end].is_ascii_digit() {
            end += 1;
        }
        let count = end - start;
        if count == 0 || count > 9 {
            return None;
        }
        // Milliseconds: the first three digits, padded with zeros; the rest is truncated.
        for k in 0..3 {
            ms = ms * 10
                + if k < count {
                    i64::from(text[start + k] - b'0')
                } else {
                    0
                };
        }
        pos = end;
    }
    if text.len() != pos + 6 || text[pos + 3] != b':' {
        return None;
    }
    let sign = match text[pos] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (oh, om) = (num(pos + 1..pos + 3)?, num(pos + 4..pos + 6)?);
    if oh > 23 || om > 59 || (sign < 0 && oh == 0 && om == 0) {
        return None;
    }
    let local_secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + mi * 60 + se;
    let utc_secs = local_secs - sign * (oh * 3600 + om * 60);
    Some(Timestamp::from_millis(utc_secs * 1000 + ms))
}

/// Parses `HH:MM` (or `HH:MM:SS`).
pub fn parse_time_of_day(s: &str) -> Result<NaiveTime, TimeError> {
    let t = s.trim();
    NaiveTime::parse_from_str(t, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S"))
        .map_err(|_| TimeError::NotTimeOfDay { found: s.into() })
}

/// A duration as the Code and the files write it. Negative values are allowed where a file
/// says `-3bd` (a fault that shifts an action earlier).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Span {
    /// Elapsed minutes (`15m`).
    Minutes(i64),
    /// Elapsed hours (`4h`).
    Hours(i64),
    /// Calendar days: the same Sydney local time N days later (`2d`).
    Days(i64),
    /// Business days, as "within N business days" defines them (`5bd`).
    BusinessDays(i64),
    /// Calendar months: the same Sydney local time N months later (`6mo`).
    Months(i64),
    /// Elapsed seconds (`30s`), for fine-grained faults and tests.
    Seconds(i64),
}

impl Span {
    /// The longest span accepted anywhere, in years: every instant lies in years 0001 to 9999,
    /// so nothing longer can be meant.
    pub const MAX_YEARS: u64 = 10_000;

    /// The largest count of this unit within [`Span::MAX_YEARS`].
    pub fn max_count(self) -> u64 {
        match self {
            Self::Seconds(_) => 315_569_520_000,
            Self::Minutes(_) => 5_259_492_000,
            Self::Hours(_) => 87_658_200,
            Self::Days(_) => 3_652_425,
            Self::BusinessDays(_) => 2_609_000,
            Self::Months(_) => 120_000,
        }
    }

    /// The length in milliseconds when it is elapsed time (seconds, minutes, hours).
    pub fn fixed_millis(self) -> Option<i64> {
        match self {
            Self::Seconds(n) => Some(n * 1000),
            Self::Minutes(n) => Some(n * 60_000),
            Self::Hours(n) => Some(n * 3_600_000),
            Self::Days(_) | Self::BusinessDays(_) | Self::Months(_) => None,
        }
    }

    pub fn count(self) -> i64 {
        match self {
            Self::Seconds(n)
            | Self::Minutes(n)
            | Self::Hours(n)
            | Self::Days(n)
            | Self::BusinessDays(n)
            | Self::Months(n) => n,
        }
    }

    pub fn is_negative(self) -> bool {
        self.count() < 0
    }

    /// The unit in words, for messages ("15 minutes", "1 business day").
    pub fn describe(self) -> String {
        let n = self.count();
        let unit = match self {
            Self::Seconds(_) => "second",
            Self::Minutes(_) => "minute",
            Self::Hours(_) => "hour",
            Self::Days(_) => "day",
            Self::BusinessDays(_) => "business day",
            Self::Months(_) => "month",
        };
        if n.abs() == 1 {
            format!("{n} {unit}")
        } else {
            format!("{n} {unit}s")
        }
    }
}

impl FromStr for Span {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || TimeError::NotSpan { found: s.into() };
        let t = s.trim();
        let (neg, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let split = body.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        if split == 0 {
            return Err(err());
        }
        if split > 15 {
            return Err(TimeError::SpanOutOfRange {
                found: t.into(),
                max: Self::MAX_YEARS,
            });
        }
        let n: i64 = body[..split].parse().map_err(|_| err())?;
        let n = if neg { -n } else { n };
        let span = match &body[split..] {
            "s" => Self::Seconds(n),
            "m" => Self::Minutes(n),
            "h" => Self::Hours(n),
            "d" => Self::Days(n),
            "bd" => Self::BusinessDays(n),
            "mo" => Self::Months(n),
            _ => return Err(err()),
        };
        if span.count().unsigned_abs() > span.max_count() {
            return Err(TimeError::SpanOutOfRange {
                found: s.trim().into(),
                max: Self::MAX_YEARS,
            });
        }
        Ok(span)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, unit) = match self {
            Self::Seconds(n) => (n, "s"),
            Self::Minutes(n) => (n, "m"),
            Self::Hours(n) => (n, "h"),
            Self::Days(n) => (n, "d"),
            Self::BusinessDays(n) => (n, "bd"),
            Self::Months(n) => (n, "mo"),
        };
        write!(f, "{n}{unit}")
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_read_by_hand_as_chrono_reads_them() {
        for y in ["0001", "0999", "1900", "2000", "2024", "2026", "9999"] {
            for m in 0..=13 {
                for d in 0..=32 {
                    let text = format!("{y}-{m:02}-{d:02}");
                    let chrono = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok();
                    assert_eq!(super::parse_date(&text).ok(), chrono, "{text}");
                    assert_eq!(super::parse_date(&format!(" {text} ")).ok(), chrono, "{text}");
                }
            }
        }
    }

    use super::*;
    use chrono::Datelike;

    fn slow_offset(ms: i64) -> i32 {
        use chrono::Offset;
        Sydney
            .offset_from_utc_datetime(&Timestamp::from_millis(ms).utc().naive_utc())
            .fix()
            .local_minus_utc()
    }

    #[test]
    fn fast_sydney_offset_matches_the_time_zone_database() {
        // Every hour of the fast range, and a second either side of each change.
        let mut ms = FAST_FROM_MS - DAY_MS;
        while ms < FAST_UNTIL_MS + DAY_MS {
            assert_eq!(
                Timestamp::from_millis(ms).sydney_offset_secs(),
                slow_offset(ms),
                "at {ms}"
            );
            // The wall time too, off the whole second (its milliseconds are kept).
            let odd = Timestamp::from_millis(ms + 1_234);
            assert_eq!(odd.sydney_naive(), odd.sydney().naive_local(), "at {ms}");
            ms += 3_600_000;
        }
        for year in 2009..2099 {
            for month in [4, 10] {
                let change = first_sunday_change_ms(year, month);
                for d in [-1000, -1, 0, 1, 1000] {
                    let t = change + d;
                    assert_eq!(Timestamp::from_millis(t).sydney_offset_secs(), slow_offset(t), "at {t}");
                    assert_eq!(
                        Timestamp::from_millis(t).sydney_naive(),
                        Timestamp::from_millis(t).sydney().naive_local()
                    );
                }
            }
        }
    }

    #[test]
    fn fast_from_sydney_local_matches_the_time_zone_database() {
        let slow = |local: NaiveDateTime| match Sydney.from_local_datetime(&local) {
            LocalResult::Single(dt) => Some(Timestamp::from_datetime(&dt)),
            LocalResult::Ambiguous(a, b) => Some(Timestamp::from_datetime(&a.min(b))),
            LocalResult::None => None,
        };
        // Every quarter hour of wall time around each change, and every day at noon.
        for year in 2009..2099 {
            for month in [4, 10] {
                let change = Timestamp::from_millis(first_sunday_change_ms(year, month)).sydney_naive();
                for q in -12..12 {
                    let local = change + chrono::Duration::minutes(15 * q) + chrono::Duration::seconds(q);
                    if let Some(want) = slow(local) {
                        assert_eq!(Timestamp::from_sydney_local(local), want, "{local}");
                    }
                }
            }
        }
        let mut day = NaiveDate::from_ymd_opt(2009, 1, 1).unwrap();
        while day.year() < 2099 {
            let local = day.and_hms_opt(12, 0, 0).unwrap();
            assert_eq!(Some(Timestamp::from_sydney_local(local)), slow(local));
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn rfc3339_round_trip_in_sydney() {
        let t = Timestamp::parse_rfc3339("2026-03-02T09:15:00+11:00").unwrap();
        assert_eq!(t.to_string(), "2026-03-02T09:15:00+11:00");
        let z = Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        assert_eq!(z.to_string(), "2026-06-01T10:00:00+10:00");
        let ms = Timestamp::parse_rfc3339("2026-06-01T00:00:00.250Z").unwrap();
        assert_eq!(ms.to_string(), "2026-06-01T10:00:00.250+10:00");
        assert!(Timestamp::parse_rfc3339("2026-06-01 10:00").is_err());
    }

    #[test]
    fn dst_gap_gives_first_instant_after() {
        // Sydney springs forward at 02:00 on 2026-10-04 to 03:00.
        let local = NaiveDate::from_ymd_opt(2026, 10, 4)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        let t = Timestamp::from_sydney_local(local);
        assert_eq!(t.to_string(), "2026-10-04T03:00:00+11:00");
        // Falls back at 03:00 on 2026-04-05 to 02:00: 02:30 happens twice; the earlier is taken.
        let local = NaiveDate::from_ymd_opt(2026, 4, 5)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            Timestamp::from_sydney_local(local).to_string(),
            "2026-04-05T02:30:00+11:00"
        );
    }

    #[test]
    fn fast_formatting_matches_chrono() {
        let mut t = Timestamp::parse_rfc3339("1999-12-31T23:59:59.999+11:00").unwrap();
        for _ in 0..5000 {
            let chrono_text = if t.millis().rem_euclid(1000) == 0 {
                t.sydney_fixed().format("%Y-%m-%dT%H:%M:%S%:z").to_string()
            } else {
                t.sydney_fixed().format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
            };
            assert_eq!(t.to_string(), chrono_text);
            t = t.plus_millis(7_919_993_317);
        }
    }

    #[test]
    fn spans() {
        assert_eq!("15m".parse::<Span>().unwrap(), Span::Minutes(15));
        assert_eq!("-3bd".parse::<Span>().unwrap(), Span::BusinessDays(-3));
        assert_eq!("6mo".parse::<Span>().unwrap(), Span::Months(6));
        for bad in ["", "m", "15", "15 m", "1.5h", "5w", "--1d"] {
            assert!(bad.parse::<Span>().is_err(), "{bad:?}");
        }
        assert_eq!(Span::BusinessDays(1).describe(), "1 business day");
        assert_eq!(Span::Minutes(15).to_string(), "15m");
    }
}
