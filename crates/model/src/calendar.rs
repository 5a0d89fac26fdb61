//! The business calendar: Sydney business days, national public holidays, Standard Hours, and
//! deadline arithmetic exactly as `rules.md` ("Time") defines it.
//!
//! No I/O: extra holidays arrive as text (the CSV's contents) from the caller, and a state's
//! holidays are computed ([`crate::states`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, Weekday};
use thiserror::Error;

use crate::states::State;
use crate::time::{date_of_day, day_of, days_from_civil, time_of_day_ms, Span, Timestamp, DAY_MS};

/// A public holiday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
}

/// A bad line in an extra-holidays CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct HolidayFileError {
    pub line: usize,
    pub message: String,
}

/// Business days and Standard Hours in `Australia/Sydney`.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    /// Extra holidays by date (a CSV file's, one-off days).
    extra: BTreeMap<NaiveDate, String>,
    /// States whose built-in holidays are added ([`Self::add_state`]), sorted, each once.
    states: Vec<State>,
    /// Every holiday (national, the states', extra) of the years
    /// `CACHE_FIRST_YEAR..CACHE_FIRST_YEAR + CACHE_YEARS`, one bit a day from the first:
    /// deadline arithmetic asks "is this a holiday?" millions of times in a market run, and gets
    /// one bit test whatever was added. Shared between clones until one of them adds a holiday.
    cache: Arc<Vec<u64>>,
    hours_start: NaiveTime,
    hours_end: NaiveTime,
}

impl Default for BusinessCalendar {
    fn default() -> Self {
        Self::new()
    }
}

/// Easter Sunday by the anonymous Gregorian computus (Meeus/Jones/Butcher).
#[allow(clippy::many_single_char_names, reason = "the computus's customary variable names")]
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or(NaiveDate::MIN)
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

/// The national public holidays of `year`, with weekend substitution, sorted by date.
///
/// New Year's Day, Australia Day, Christmas Day and Boxing Day that fall on a weekend move to the
/// next weekday that is not already a holiday; holidays on weekdays are placed first, then the
/// moved ones in date order. Anzac Day does not move; Easter holidays never fall on a weekend.
pub fn national_holidays(year: i32) -> Vec<Holiday> {
    let easter = easter_sunday(year);
    let fixed = [
        (ymd(year, 1, 1), "New Year's Day", true),
        (ymd(year, 1, 26), "Australia Day", true),
        (easter - Days::new(2), "Good Friday", false),
        (easter + Days::new(1), "Easter Monday", false),
        (ymd(year, 4, 25), "Anzac Day", false),
        (ymd(year, 12, 25), "Christmas Day", true),
        (ymd(year, 12, 26), "Boxing Day", true),
    ];
    let mut placed: Vec<Holiday> = Vec::with_capacity(8);
    let mut moving: Vec<(NaiveDate, &str)> = Vec::new();
    for (date, name, moves) in fixed {
        if moves && is_weekend(date) {
            moving.push((date, name));
        } else {
            // Includes Anzac Day on a weekend: a holiday by name, though it moves nothing.
            placed.push(Holiday {
                date,
                name: name.into(),
            });
        }
    }
    moving.sort_by_key(|(d, _)| *d);
    for (date, name) in moving {
        let mut day = date;
        while is_weekend(day) || placed.iter().any(|h| h.date == day) {
            day = day.succ_opt().unwrap_or(day);
        }
        placed.push(Holiday {
            date: day,
            name: format!("{name} (observed)"),
        });
    }
    placed.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.name.cmp(&b.name)));
    placed
}

const CACHE_FIRST_YEAR: i32 = 1990;
const CACHE_YEARS: i32 = 150;
/// The cache's first day, 1990-01-01, and how many days it holds (to the end of 2139), as
/// days since 1970-01-01.
const CACHE_FIRST_DAY: i64 = days_from_civil(CACHE_FIRST_YEAR as i64, 1, 1);
const CACHE_DAYS: usize = (days_from_civil((CACHE_FIRST_YEAR + CACHE_YEARS) as i64, 1, 1) - CACHE_FIRST_DAY) as usize;

/// The cache's bit of a day (days since 1970-01-01), if the cache holds it.
fn cache_slot(day: i64) -> Option<usize> {
    usize::try_from(day - CACHE_FIRST_DAY).ok().filter(|i| *i < CACHE_DAYS)
}

fn set_bit(bits: &mut [u64], date: NaiveDate) {
    if let Some(i) = cache_slot(day_of(date)) {
        if let Some(word) = bits.get_mut(i / 64) {
            *word |= 1 << (i % 64);
        }
    }
}

impl BusinessCalendar {
    /// National holidays only, Standard Hours 08:00–17:00.
    pub fn new() -> Self {
        let mut cache = vec![0u64; CACHE_DAYS.div_ceil(64)];
        for year in CACHE_FIRST_YEAR..CACHE_FIRST_YEAR + CACHE_YEARS {
            for h in national_holidays(year) {
                if h.date.year() == year {
                    set_bit(&mut cache, h.date);
                }
            }
        }
        Self {
            extra: BTreeMap::new(),
            states: Vec::new(),
            cache: Arc::new(cache),
            hours_start: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
            hours_end: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }

    /// Sets Standard Hours (inclusive at both ends).
    #[must_use]
    pub fn with_standard_hours(mut self, start: NaiveTime, end: NaiveTime) -> Self {
        self.hours_start = start;
        self.hours_end = end;
        self
    }

    pub fn standard_hours(&self) -> (NaiveTime, NaiveTime) {
        (self.hours_start, self.hours_end)
    }

    /// Adds one extra holiday (a one-off day). A second one on the same date replaces the
    /// first one's name.
    pub fn add_holiday(&mut self, date: NaiveDate, name: impl Into<String>) {
        self.extra.insert(date, name.into());
        if cache_slot(day_of(date)).is_some() {
            set_bit(Arc::make_mut(&mut self.cache).as_mut_slice(), date);
        }
    }

    /// Adds a state's public holidays ([`State::holidays`]) for every year: business-day
    /// arithmetic then skips them as it skips the national ones. Adding a second state adds its
    /// days too (a business day is then one that is a business day in both); adding one twice
    /// changes nothing.
    pub fn add_state(&mut self, state: State) {
        if let Err(at) = self.states.binary_search(&state) {
            self.states.insert(at, state);
            let cache = Arc::make_mut(&mut self.cache);
            for year in CACHE_FIRST_YEAR..CACHE_FIRST_YEAR + CACHE_YEARS {
                for h in state.holidays(year) {
                    set_bit(cache, h.date);
                }
            }
        }
    }

    /// The states added with [`Self::add_state`], sorted.
    pub fn states(&self) -> &[State] {
        &self.states
    }

    /// The added states' holidays of `year` that are not on a national holiday's date, named
    /// with the state (`King's Birthday (NSW)`, `Anzac Day (additional day, WA)`).
    fn state_holidays(&self, year: i32) -> Vec<Holiday> {
        if self.states.is_empty() {
            return Vec::new();
        }
        let national: Vec<NaiveDate> = national_holidays(year).iter().map(|h| h.date).collect();
        let mut out = Vec::new();
        for s in &self.states {
            for h in s.holidays(year) {
                if !national.contains(&h.date) {
                    let name = match h.name.strip_suffix(')') {
                        Some(open) => format!("{open}, {})", s.abbreviation()),
                        None => format!("{} ({})", h.name, s.abbreviation()),
                    };
                    out.push(Holiday { date: h.date, name });
                }
            }
        }
        out
    }

    /// Loads extra holidays from CSV text: `date,name` per line, an optional header row
    /// `date,name`, `#` comments and blank lines ignored. Every bad line is reported.
    pub fn load_holidays_csv(&mut self, text: &str) -> Result<usize, Vec<HolidayFileError>> {
        let mut errors = Vec::new();
        let mut added = 0;
        let mut seen: BTreeMap<NaiveDate, usize> = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') || (line == 1 && l.eq_ignore_ascii_case("date,name")) {
                continue;
            }
            let Some((d, name)) = l.split_once(',') else {
                errors.push(HolidayFileError {
                    line,
                    message: format!("expected `date,name`, found {l:?}"),
                });
                continue;
            };
            match crate::time::parse_date(d) {
                Ok(date) => {
                    let name = name.trim().trim_matches('"').trim();
                    if name.is_empty() {
                        errors.push(HolidayFileError {
                            line,
                            message: "holiday name is empty".into(),
                        });
                    } else if let Some(first) = seen.get(&date) {
                        errors.push(HolidayFileError {
                            line,
                            message: format!("date: {date} is listed twice (first at line {first}); one line per date"),
                        });
                    } else {
                        seen.insert(date, line);
                        self.add_holiday(date, name);
                        added += 1;
                    }
                }
                Err(e) => errors.push(HolidayFileError {
                    line,
                    message: format!("date: {e}"),
                }),
            }
        }
        if errors.is_empty() {
            Ok(added)
        } else {
            Err(errors)
        }
    }

    /// Every holiday of `year` (national, then the states', then extra), sorted by date. A
    /// state's day on the date of a national holiday is not listed again.
    pub fn holidays(&self, year: i32) -> Vec<Holiday> {
        let mut all = national_holidays(year);
        all.extend(self.state_holidays(year));
        for (date, name) in self.extra.range(ymd(year, 1, 1)..=ymd(year, 12, 31)) {
            all.push(Holiday {
                date: *date,
                name: name.clone(),
            });
        }
        all.sort_by_key(|h| h.date);
        // The same day from two sources (a state and a CSV file) is listed once.
        let mut seen = std::collections::BTreeSet::new();
        all.retain(|h| seen.insert((h.date, h.name.clone())));
        all
    }

    /// The names of the holidays on `date` (empty when it is none).
    pub fn holiday_names(&self, date: NaiveDate) -> Vec<String> {
        let mut names: Vec<String> = national_holidays(date.year())
            .into_iter()
            .filter(|h| h.date == date)
            .map(|h| h.name)
            .collect();
        if !self.states.is_empty() {
            names.extend(
                self.state_holidays(date.year())
                    .into_iter()
                    .filter(|h| h.date == date)
                    .map(|h| h.name),
            );
        }
        if let Some(n) = self.extra.get(&date) {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        names
    }

    /// Outside the cached years: computed each time (rare: only far dates get here).
    fn compute_is_holiday(&self, date: NaiveDate) -> bool {
        Self::compute_is_national_holiday(date)
            || self
                .states
                .iter()
                .any(|s| s.holidays(date.year()).iter().any(|h| h.date == date))
            || self.extra.contains_key(&date)
    }

    fn compute_is_national_holiday(date: NaiveDate) -> bool {
        // Cheap pre-checks before computing the year's list: holidays fall only in January,
        // March/April, and the last week of December (or the first days after it).
        let (m, d) = (date.month(), date.day());
        let possible = matches!(
            (m, d),
            (1, 1..=4 | 26..=28) | (3, 20..=31) | (4, _) | (12, 25..=28)
        );
        possible && national_holidays(date.year()).iter().any(|h| h.date == date)
    }

    /// Whether `date` is a holiday: national, of an added state (weekend days included, such
    /// as Easter Saturday), or extra.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.cached_is_holiday(day_of(date))
            .unwrap_or_else(|| self.compute_is_holiday(date))
    }

    /// Monday to Friday and not a holiday.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        !is_weekend(date) && !self.is_holiday(date)
    }

    /// [`Self::is_business_day`] of a date given as days since 1970-01-01.
    fn is_business_day_num(&self, day: i64) -> bool {
        // 1970-01-01 was a Thursday: (day + 4) mod 7 is 0 on Sundays, 6 on Saturdays.
        if matches!((day + 4).rem_euclid(7), 0 | 6) {
            return false;
        }
        match self.cached_is_holiday(day) {
            Some(holiday) => !holiday,
            None => date_of_day(day).is_some_and(|d| self.is_business_day(d)),
        }
    }

    /// Whether a day (days since 1970-01-01) is a holiday, if the cache holds it.
    fn cached_is_holiday(&self, day: i64) -> Option<bool> {
        let i = cache_slot(day)?;
        self.cache.get(i / 64).map(|word| word & (1 << (i % 64)) != 0)
    }

    fn next_business_day_num(&self, day: i64) -> i64 {
        let mut d = day + 1;
        while !self.is_business_day_num(d) {
            d += 1;
        }
        d
    }

    fn previous_business_day_num(&self, day: i64) -> i64 {
        let mut d = day - 1;
        while !self.is_business_day_num(d) {
            d -= 1;
        }
        d
    }

    /// The first business day strictly after `date`.
    pub fn next_business_day(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        loop {
            d = d.succ_opt().unwrap_or(d);
            if self.is_business_day(d) {
                return d;
            }
        }
    }

    /// The last business day strictly before `date`.
    pub fn previous_business_day(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        loop {
            d = d.pred_opt().unwrap_or(d);
            if self.is_business_day(d) {
                return d;
            }
        }
    }

    /// Whether `t` is inside Standard Hours: a business day, 08:00 to 17:00 inclusive (local).
    pub fn in_standard_hours(&self, t: Timestamp) -> bool {
        // The day by its number (the holiday cache's bit) where the current rule holds.
        let fast = t
            .sydney_wall_fast()
            .and_then(|(day, ms_of_day)| Some((self.is_business_day_num(day), time_of_day_ms(ms_of_day)?)));
        let (business_day, time) = fast.unwrap_or_else(|| {
            let local = t.sydney_naive();
            (self.is_business_day(local.date()), local.time())
        });
        business_day && time >= self.hours_start && time <= self.hours_end
    }

    /// The first instant at or after `t` that is inside Standard Hours.
    pub fn next_standard_hours(&self, t: Timestamp) -> Timestamp {
        if self.in_standard_hours(t) {
            return t;
        }
        let local = t.sydney_naive();
        let date = if self.is_business_day(local.date()) && local.time() < self.hours_start {
            local.date()
        } else {
            self.next_business_day(local.date())
        };
        Timestamp::from_sydney_local(date.and_time(self.hours_start))
    }

    /// "Within N business days of T" (`rules.md`, Time): if T's local date is not a business day,
    /// T moves to 00:00 of the next business day; then the date moves N business days (back,
    /// for negative N), keeping the local time of day. A wall time that does not exist (DST gap)
    /// gives the first instant after the gap.
    pub fn add_business_days(&self, t: Timestamp, n: i64) -> Timestamp {
        self.add_business_days_fast(t, n)
            .unwrap_or_else(|| self.add_business_days_slow(t, n))
    }

    /// [`Self::add_business_days`] counting days as integers, in the years of the current
    /// daylight-saving rule (`None` elsewhere, and for a result in the spring-forward gap).
    fn add_business_days_fast(&self, t: Timestamp, n: i64) -> Option<Timestamp> {
        let (mut day, mut ms_of_day) = t.sydney_wall_fast()?;
        if !self.is_business_day_num(day) {
            day = self.next_business_day_num(day);
            ms_of_day = 0;
        }
        let day = business_steps(
            day,
            n,
            |d| self.next_business_day_num(d),
            |d| self.previous_business_day_num(d),
        );
        Timestamp::from_sydney_wall_fast(day.checked_mul(DAY_MS)?.checked_add(ms_of_day)?)
    }

    /// [`Self::add_business_days`] by the time-zone database and chrono's dates: any year.
    fn add_business_days_slow(&self, t: Timestamp, n: i64) -> Timestamp {
        let local = t.sydney_naive();
        let (date, time) = if self.is_business_day(local.date()) {
            (local.date(), local.time())
        } else {
            (self.next_business_day(local.date()), NaiveTime::MIN)
        };
        let date = business_steps(
            date,
            n,
            |d| self.next_business_day(d),
            |d| self.previous_business_day(d),
        );
        Timestamp::from_sydney_local(date.and_time(time))
    }

    /// `t` plus `span`: elapsed time for seconds, minutes and hours; the same local time of day
    /// N calendar days or months later (the month's last day where the day does not exist);
    /// [`Self::add_business_days`] for business days.
    pub fn add(&self, t: Timestamp, span: Span) -> Timestamp {
        if let Some(ms) = span.fixed_millis() {
            return t.plus_millis(ms);
        }
        if let Span::BusinessDays(n) = span {
            return self.add_business_days(t, n);
        }
        if let Span::Days(n) = span {
            // The same time of day N local days later, by integers where the current rule holds.
            let fast = t.sydney_wall_fast().and_then(|(day, ms_of_day)| {
                Timestamp::from_sydney_wall_fast(day.checked_add(n)?.checked_mul(DAY_MS)?.checked_add(ms_of_day)?)
            });
            if let Some(r) = fast {
                return r;
            }
        }
        self.add_slow(t, span)
    }

    /// [`Self::add`] by the time-zone database and chrono's dates: any year.
    fn add_slow(&self, t: Timestamp, span: Span) -> Timestamp {
        if let Some(ms) = span.fixed_millis() {
            return t.plus_millis(ms);
        }
        let local = t.sydney_naive();
        let shifted = match span {
            Span::Days(n) => {
                if n >= 0 {
                    local.checked_add_days(Days::new(n.unsigned_abs()))
                } else {
                    local.checked_sub_days(Days::new(n.unsigned_abs()))
                }
            }
            Span::Months(n) => {
                let months = Months::new(u32::try_from(n.unsigned_abs()).unwrap_or(u32::MAX));
                if n >= 0 {
                    local.checked_add_months(months)
                } else {
                    local.checked_sub_months(months)
                }
            }
            Span::BusinessDays(n) => return self.add_business_days(t, n),
            Span::Seconds(_) | Span::Minutes(_) | Span::Hours(_) => None,
        };
        shifted.map_or(t, Timestamp::from_sydney_local)
    }

    /// Whether `answer` falls within `span` of `t` (the deadline is inclusive).
    pub fn within(&self, t: Timestamp, span: Span, answer: Timestamp) -> bool {
        answer <= self.add(t, span)
    }

    /// The deadline instant: the last instant that is still "within `span` of `t`".
    pub fn deadline(&self, t: Timestamp, span: Span) -> Timestamp {
        self.add(t, span)
    }
}

/// `n` business days on from `day` (back for a negative `n`), one `next` or `previous` step at
/// a time: the one walk both of [`BusinessCalendar::add_business_days`]'s paths take.
fn business_steps<D>(day: D, n: i64, next: impl Fn(D) -> D, previous: impl Fn(D) -> D) -> D {
    let steps = 0..n.unsigned_abs();
    if n >= 0 {
        steps.fold(day, |d, _| next(d))
    } else {
        steps.fold(day, |d, _| previous(d))
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        crate::time::parse_date(s).unwrap()
    }
    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }
    fn dates(year: i32) -> Vec<String> {
        national_holidays(year).iter().map(|h| h.date.to_string()).collect()
    }

    #[test]
    fn easter() {
        assert_eq!(easter_sunday(2024), d("2024-03-31"));
        assert_eq!(easter_sunday(2025), d("2025-04-20"));
        assert_eq!(easter_sunday(2026), d("2026-04-05"));
        assert_eq!(easter_sunday(2011), d("2011-04-24"));
        assert_eq!(easter_sunday(2038), d("2038-04-25"));
    }

    #[test]
    fn holidays_2026_christmas_friday_boxing_saturday() {
        assert_eq!(
            dates(2026),
            [
                "2026-01-01",
                "2026-01-26",
                "2026-04-03",
                "2026-04-06",
                "2026-04-25",
                "2026-12-25",
                "2026-12-28"
            ]
            .map(String::from)
        );
        // Anzac Day 2026 is a Saturday: listed, but not moved to Monday.
        assert!(national_holidays(2026).iter().all(|h| h.date != d("2026-04-27")));
        assert!(BusinessCalendar::new().is_business_day(d("2026-04-27")));
    }

    #[test]
    fn christmas_on_sunday_moves_to_tuesday() {
        // 2022: Christmas Sunday, Boxing Monday -> Christmas observed Tuesday 27th.
        let hs = national_holidays(2022);
        let xmas = hs.iter().find(|h| h.name.starts_with("Christmas")).unwrap();
        assert_eq!(xmas.date, d("2022-12-27"));
        assert!(hs.iter().any(|h| h.date == d("2022-12-26") && h.name == "Boxing Day"));
    }

    #[test]
    fn christmas_saturday_boxing_sunday() {
        // 2021: Christmas Saturday -> Monday 27th, Boxing Sunday -> Tuesday 28th.
        let hs = national_holidays(2021);
        assert!(hs
            .iter()
            .any(|h| h.date == d("2021-12-27") && h.name.starts_with("Christmas")));
        assert!(hs
            .iter()
            .any(|h| h.date == d("2021-12-28") && h.name.starts_with("Boxing")));
        // 2022: New Year's Day Saturday -> Monday 3 January.
        assert!(national_holidays(2022).iter().any(|h| h.date == d("2022-01-03")));
        // 2022: Australia Day Wednesday, not moved.
        assert!(national_holidays(2022).iter().any(|h| h.date == d("2022-01-26")));
    }

    #[test]
    fn easter_monday_on_anzac_day() {
        // 2011: Easter Monday is 25 April; both are holidays on the same date.
        let cal = BusinessCalendar::new();
        assert_eq!(cal.holiday_names(d("2011-04-25")).len(), 2);
        assert!(!cal.is_business_day(d("2011-04-25")));
    }

    #[test]
    fn the_issue_example() {
        let cal = BusinessCalendar::new();
        let r = cal.add(t("2026-12-24T10:00:00+11:00"), Span::BusinessDays(2));
        assert_eq!(r.to_string(), "2026-12-30T10:00:00+11:00");
    }

    #[test]
    fn across_dst_changes() {
        let cal = BusinessCalendar::new();
        // Friday 2 Oct 2026 10:00 AEST; clocks go forward on Sunday 4 Oct; Monday is AEDT.
        let r = cal.add_business_days(t("2026-10-02T10:00:00+10:00"), 1);
        assert_eq!(r.to_string(), "2026-10-05T10:00:00+11:00");
        // Thursday 2 Apr 2026 + 1bd skips Good Friday, the weekend on which clocks go back to
        // AEST, and Easter Monday: Tuesday 7 Apr, same local time, new offset.
        let r = cal.add_business_days(t("2026-04-02T16:00:00+11:00"), 1);
        assert_eq!(r.to_string(), "2026-04-07T16:00:00+10:00");
        // A Saturday start moves to Monday 00:00 first.
        let r = cal.add_business_days(t("2026-03-07T15:00:00+11:00"), 1);
        assert_eq!(r.to_string(), "2026-03-10T00:00:00+11:00");
        // Calendar days keep the local time across a DST change (23 elapsed hours).
        let r = cal.add(t("2026-10-03T12:00:00+10:00"), Span::Days(1));
        assert_eq!(r.to_string(), "2026-10-04T12:00:00+11:00");
    }

    #[test]
    fn within_is_inclusive() {
        let cal = BusinessCalendar::new();
        let eca = t("2026-03-02T10:00:00+11:00");
        assert!(cal.within(eca, Span::Minutes(15), t("2026-03-02T10:15:00+11:00")));
        assert!(!cal.within(eca, Span::Minutes(15), t("2026-03-02T10:15:01+11:00")));
    }

    #[test]
    fn standard_hours() {
        let cal = BusinessCalendar::new();
        assert!(cal.in_standard_hours(t("2026-03-02T08:00:00+11:00")));
        assert!(cal.in_standard_hours(t("2026-03-02T17:00:00+11:00")));
        assert!(!cal.in_standard_hours(t("2026-03-02T17:00:01+11:00")));
        assert!(!cal.in_standard_hours(t("2026-03-07T10:00:00+11:00")));
        assert_eq!(
            cal.next_standard_hours(t("2026-03-02T18:30:00+11:00")).to_string(),
            "2026-03-03T08:00:00+11:00"
        );
        assert_eq!(
            cal.next_standard_hours(t("2026-12-24T18:30:00+11:00")).to_string(),
            "2026-12-29T08:00:00+11:00"
        );
    }

    #[test]
    fn cached_and_computed_years_agree() {
        let plain = BusinessCalendar::new();
        let mut with_states = BusinessCalendar::new();
        with_states.add_state(State::Wa);
        with_states.add_state(State::Vic);
        with_states.add_holiday(d("2026-03-02"), "Extra Day");
        with_states.add_holiday(d("1950-03-02"), "Extra Day");
        for cal in [&plain, &with_states] {
            for year in [1950, 1989, 1990, 2022, 2026, 2139, 2140, 2300] {
                let mut day = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
                while day.year() == year {
                    assert_eq!(cal.is_holiday(day), cal.compute_is_holiday(day), "{day}");
                    day = day.succ_opt().unwrap();
                }
            }
        }
    }

    #[test]
    fn a_state_adds_its_days_to_business_day_arithmetic() {
        let mut cal = BusinessCalendar::new();
        assert!(cal.is_business_day(d("2026-06-08")));
        cal.add_state(State::Nsw);
        cal.add_state(State::Nsw);
        assert_eq!(cal.states(), [State::Nsw]);
        assert!(!cal.is_business_day(d("2026-06-08")));
        assert!(!cal.is_business_day(d("2026-10-05")));
        // NSW's Bank Holiday is for banks only.
        assert!(cal.is_business_day(d("2026-08-03")));
        assert_eq!(cal.holiday_names(d("2026-06-08")), ["King's Birthday (NSW)"]);
        // A national holiday is named once, as the national one.
        assert_eq!(cal.holiday_names(d("2026-12-28")), ["Boxing Day (observed)"]);
        // Friday 2 October 2026 10:00 + 1bd: over the weekend and Labour Day.
        let r = cal.add_business_days(t("2026-10-02T10:00:00+10:00"), 1);
        assert_eq!(r.to_string(), "2026-10-06T10:00:00+11:00");
        // Far years are computed, not cached, and agree.
        let kb = State::Nsw
            .holidays(2300)
            .into_iter()
            .find(|h| h.name == "King's Birthday");
        assert!(!cal.is_business_day(kb.expect("a King's Birthday").date));
        let list = cal.holidays(2026);
        assert!(list.windows(2).all(|w| w[0].date <= w[1].date));
        assert_eq!(list.iter().filter(|h| h.date == d("2026-04-25")).count(), 1);
        assert!(list.iter().any(|h| h.name == "Easter Saturday (NSW)"));
        // A clone shares the cache until it changes; the original is untouched.
        let mut wa = BusinessCalendar::new();
        let before = wa.clone();
        wa.add_state(State::Wa);
        assert!(!wa.is_business_day(d("2026-04-27")));
        assert!(before.is_business_day(d("2026-04-27")));
    }

    #[test]
    fn extra_holidays_csv() {
        let mut cal = BusinessCalendar::new();
        let n = cal
            .load_holidays_csv("date,name\n2026-06-08,King's Birthday\n# comment\n\n2026-10-05,Labour Day\n")
            .unwrap();
        assert_eq!(n, 2);
        assert!(!cal.is_business_day(d("2026-06-08")));
        assert_eq!(cal.holiday_names(d("2026-10-05")), vec!["Labour Day".to_string()]);
        let errs = BusinessCalendar::new()
            .load_holidays_csv("2026-02-30,Nope\nno comma\n2026-01-02,\n")
            .unwrap_err();
        assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), vec![1, 2, 3]);
    }

    fn any_instant() -> impl Strategy<Value = Timestamp> {
        // 2020-01-01 .. 2040-01-01, on whole minutes.
        (1_577_800_000i64 / 60..2_208_960_000i64 / 60).prop_map(|m| Timestamp::from_secs(m * 60))
    }

    /// Instants from 2005 to 2103 (either side of the current rule's years), half of them
    /// within a few days of a daylight-saving change.
    fn instant_near_rule_changes() -> impl Strategy<Value = Timestamp> {
        prop_oneof![
            (1_104_537_600_000i64..4_230_000_000_000).prop_map(Timestamp::from_millis),
            (2005i32..2103, prop::bool::ANY, -4 * 86_400_000i64..4 * 86_400_000).prop_map(|(y, april, off)| {
                let month = if april { 4 } else { 10 };
                let first = ymd(y, month, 1);
                let sunday = first + chrono::Days::new(u64::from((7 - first.weekday().num_days_from_sunday()) % 7));
                Timestamp::from_sydney_local(sunday.and_hms_opt(2, 30, 0).unwrap_or_default()).plus_millis(off)
            }),
        ]
    }

    proptest! {
        /// The integer day counting gives exactly what chrono and the time-zone database give,
        /// in and out of the current rule's years, across daylight-saving changes, with a
        /// state's holidays and extra ones.
        #[test]
        fn fast_day_arithmetic_matches_the_time_zone_database(
            t in instant_near_rule_changes(),
            n in -45i64..45,
            state in prop::bool::ANY,
            extra in prop::collection::vec(0i64..36_500, 0..20),
        ) {
            let mut cal = BusinessCalendar::new();
            if state {
                cal.add_state(State::Vic);
            }
            for d in extra {
                if let Some(date) = date_of_day(12_000 + d) {
                    cal.add_holiday(date, "extra");
                }
            }
            prop_assert_eq!(cal.add_business_days(t, n), cal.add_business_days_slow(t, n));
            prop_assert_eq!(cal.add(t, Span::Days(n)), cal.add_slow(t, Span::Days(n)));
            prop_assert_eq!(cal.add(t, Span::BusinessDays(n)), cal.add_business_days_slow(t, n));
            if let Some(date) = date_of_day(t.millis().div_euclid(DAY_MS)) {
                let day = t.millis().div_euclid(DAY_MS);
                prop_assert_eq!(cal.is_business_day_num(day), cal.is_business_day(date));
            }
            // Standard Hours by the day's number, against the definition by chrono's dates and
            // the time-zone database, at the instant and either side of 08:00 and 17:00 that day.
            let local = t.sydney().naive_local();
            let slow = |u: Timestamp| {
                let l = u.sydney().naive_local();
                cal.is_business_day(l.date()) && l.time() >= cal.hours_start && l.time() <= cal.hours_end
            };
            let mut probes = vec![t];
            for (h, m, s) in [(7, 59, 59), (8, 0, 0), (17, 0, 0), (17, 0, 1)] {
                if let Some(at) = local.date().and_hms_opt(h, m, s) {
                    let u = Timestamp::from_sydney_local(at);
                    probes.extend([u, u.plus_millis(1), u.plus_millis(-1)]);
                }
            }
            for u in probes {
                prop_assert_eq!(cal.in_standard_hours(u), slow(u), "at {}", u);
            }
        }
    }

    proptest! {
        #[test]
        fn add_business_days_laws(t0 in any_instant(), n in 0i64..30) {
            let cal = BusinessCalendar::new();
            let r = cal.add_business_days(t0, n);
            let local = r.sydney_naive();
            prop_assert!(cal.is_business_day(local.date()), "{} is not a business day", r);
            let start = t0.sydney_naive();
            if cal.is_business_day(start.date()) {
                prop_assert_eq!(local.time(), start.time());
            } else {
                prop_assert_eq!(local.time(), NaiveTime::MIN);
            }
            prop_assert!(cal.add_business_days(t0, n + 1) > r, "not monotonic in N");
            prop_assert!(r >= t0 || !cal.is_business_day(start.date()));
            if cal.is_business_day(start.date()) {
                prop_assert_eq!(cal.add_business_days(t0, 0), t0);
            }
        }

        #[test]
        fn every_year_has_seven_national_holidays_on_weekdays(year in 1900i32..2200) {
            let hs = national_holidays(year);
            prop_assert_eq!(hs.len(), 7);
            prop_assert!(hs.iter().filter(|h| h.name != "Anzac Day").all(|h| !is_weekend(h.date)));
            let gf = hs.iter().find(|h| h.name == "Good Friday").unwrap();
            prop_assert_eq!(gf.date.weekday(), Weekday::Fri);
        }
    }
}
