//! Memoised calendar arithmetic for the audit.
//!
//! Every deadline the audit checks goes through [`BusinessCalendar::add`], which converts to and
//! from Sydney time with chrono-tz on every call. A trace touches only a few hundred distinct
//! local dates, so [`Clock`] remembers, per UTC hour, Sydney's offset, per local date whether the
//! whole day has one offset, and per (date, span) the date a deadline lands on. The answers are
//! exactly those of the calendar: where a day is not uniform (a DST change) or an instant lies
//! outside the range where Sydney's offset changes only on whole UTC hours, the calendar itself
//! answers.

use lnp_model::fasthash::{FastHasher, FastMap};
use std::cell::RefCell;
use std::hash::{BuildHasher, BuildHasherDefault};

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, Timelike};
use lnp_model::time::{date_of_day, day_of};
use lnp_model::{BusinessCalendar, Span, Timestamp};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// 1972-01-01T00:00:00Z: from here on every change of Sydney's offset falls on a whole UTC hour.
const FAST_FROM_MS: i64 = 63_072_000_000;
/// 2200-01-01T00:00:00Z.
const FAST_UNTIL_MS: i64 = 7_258_118_400_000;
/// Slots of the direct-mapped per-hour offset cache (about 170 days of distinct hours).
const OFFSET_SLOTS: usize = 4096;
/// Slots of the direct-mapped cache of resolved (local day, span) pairs: a trace asks a few
/// thousand distinct pairs, and a slot another pair holds is answered by the maps behind it.
const RESOLVED_SLOTS: usize = 4096;

/// Where a span moves a local date: the target date, and whether the time of day is kept
/// (`false`: the deadline is 00:00 of the target date).
#[derive(Clone, Copy)]
struct Target {
    day: i64,
    keep_time: bool,
}

/// A (local day, span) pair with where its deadline lands and the offset of that day: the
/// answers of `target` and `uniform_offset` together, for one lookup instead of two.
#[derive(Clone, Copy)]
struct Resolved {
    day: i64,
    span: Span,
    /// `None`: the calendar answers (the target day is not uniform, or out of range).
    at: Option<(Target, i32)>,
}

#[derive(Clone)]
struct Caches {
    /// Resolved pairs, direct-mapped by a hash of the pair (`None`: an empty slot).
    resolved: Vec<Option<Resolved>>,
    /// Sydney's offset (seconds) per UTC hour, direct-mapped by hour.
    offsets: Vec<(i64, i32)>,
    /// Per local day (days since the epoch): its offset when the whole day has one.
    uniform: FastMap<i64, Option<i32>>,
    /// Per (local day, span): where the deadline lands (`None`: let the calendar answer).
    targets: FastMap<(i64, Span), Option<Target>>,
    /// Per local day: whether it is a business day.
    business: FastMap<i64, bool>,
    /// Per (date, span): the Sydney date of `span` after that date's local midnight.
    dates_after: FastMap<(NaiveDate, Span), NaiveDate>,
}

/// The calendar with memoised arithmetic. Answers are always those of the calendar.
#[derive(Clone)]
pub(crate) struct Clock<'a> {
    cal: &'a BusinessCalendar,
    caches: RefCell<Caches>,
    /// Standard Hours as nanoseconds after local midnight.
    hours_ns: (i64, i64),
}

fn time_ns(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight()) * 1_000_000_000 + i64::from(t.nanosecond())
}

impl<'a> Clock<'a> {
    pub(crate) fn new(cal: &'a BusinessCalendar) -> Self {
        let (start, end) = cal.standard_hours();
        Self {
            cal,
            caches: RefCell::new(Caches {
                resolved: vec![None; RESOLVED_SLOTS],
                offsets: vec![(i64::MIN, 0); OFFSET_SLOTS],
                uniform: FastMap::default(),
                targets: FastMap::default(),
                business: FastMap::default(),
                dates_after: FastMap::default(),
            }),
            hours_ns: (time_ns(start), time_ns(end)),
        }
    }

    fn in_fast_range(t: i64) -> bool {
        (FAST_FROM_MS..FAST_UNTIL_MS).contains(&t)
    }

    /// Sydney's offset at `t` (seconds), cached per UTC hour.
    fn offset(c: &mut Caches, t: i64) -> i32 {
        let hour = t.div_euclid(HOUR_MS);
        let slot = (hour.rem_euclid(OFFSET_SLOTS as i64)) as usize;
        if let Some(&(h, off)) = c.offsets.get(slot) {
            if h == hour {
                return off;
            }
        }
        let off = Timestamp::from_millis(t).sydney_offset_secs();
        if let Some(s) = c.offsets.get_mut(slot) {
            *s = (hour, off);
        }
        off
    }

    /// The local day (days since the epoch) and milliseconds after local midnight of `t`, when
    /// `t` lies in the range where offsets change only on whole UTC hours.
    fn local(c: &mut Caches, t: Timestamp) -> Option<(i64, i64)> {
        let ms = t.millis();
        if !Self::in_fast_range(ms) {
            return None;
        }
        let local = ms + i64::from(Self::offset(c, ms)) * 1000;
        Some((local.div_euclid(DAY_MS), local.rem_euclid(DAY_MS)))
    }

    /// The offset of a local day whose every instant, and the hours either side, share it.
    fn uniform_offset(c: &mut Caches, day: i64) -> Option<i32> {
        if let Some(u) = c.uniform.get(&day) {
            return *u;
        }
        let midnight = day.checked_mul(DAY_MS)?;
        let guess = midnight.checked_sub(10 * HOUR_MS)?;
        let u = if Self::in_fast_range(guess - 3 * HOUR_MS) && Self::in_fast_range(guess + 2 * DAY_MS) {
            let off = Self::offset(c, guess);
            let start = midnight - i64::from(off) * 1000;
            (-2..=26)
                .all(|k| Self::offset(c, start + k * HOUR_MS) == off)
                .then_some(off)
        } else {
            None
        };
        c.uniform.insert(day, u);
        u
    }

    fn is_business(&self, c: &mut Caches, day: i64) -> Option<bool> {
        if let Some(b) = c.business.get(&day) {
            return Some(*b);
        }
        let b = self.cal.is_business_day(date_of_day(day)?);
        c.business.insert(day, b);
        Some(b)
    }

    /// Where `span` (days, business days or months) moves the local day `day`; mirrors
    /// [`BusinessCalendar::add`].
    fn target(&self, c: &mut Caches, day: i64, span: Span) -> Option<Target> {
        if let Some(t) = c.targets.get(&(day, span)) {
            return *t;
        }
        let t = self.compute_target(c, day, span);
        c.targets.insert((day, span), t);
        t
    }

    fn compute_target(&self, c: &mut Caches, day: i64, span: Span) -> Option<Target> {
        let date = date_of_day(day)?;
        let (target, keep_time) = match span {
            Span::Days(n) => {
                let days = Days::new(n.unsigned_abs());
                let d = if n >= 0 {
                    date.checked_add_days(days)
                } else {
                    date.checked_sub_days(days)
                };
                (d?, true)
            }
            Span::Months(n) => {
                let months = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
                let d = if n >= 0 {
                    date.checked_add_months(months)
                } else {
                    date.checked_sub_months(months)
                };
                (d?, true)
            }
            Span::BusinessDays(n) => {
                let (mut d, keep) = if self.is_business(c, day)? {
                    (date, true)
                } else {
                    (self.cal.next_business_day(date), false)
                };
                // Guard the loops as the calendar's own would run: a span of business days is
                // a few weeks at most in any rulebook.
                if n.unsigned_abs() > 10_000 {
                    return None;
                }
                if n >= 0 {
                    for _ in 0..n {
                        d = self.cal.next_business_day(d);
                    }
                } else {
                    for _ in 0..n.unsigned_abs() {
                        d = self.cal.previous_business_day(d);
                    }
                }
                (d, keep)
            }
            Span::Seconds(_) | Span::Minutes(_) | Span::Hours(_) => return None,
        };
        // Years far from the trace's are left to the calendar.
        if !(1972..2200).contains(&target.year()) {
            return None;
        }
        Some(Target {
            day: day_of(target),
            keep_time,
        })
    }

    /// `t` plus `span`, exactly as [`BusinessCalendar::add`].
    pub(crate) fn add(&self, t: Timestamp, span: Span) -> Timestamp {
        if let Some(ms) = span.fixed_millis() {
            return t.plus_millis(ms);
        }
        self.fast_add(t, span).unwrap_or_else(|| self.cal.add(t, span))
    }

    fn fast_add(&self, t: Timestamp, span: Span) -> Option<Timestamp> {
        let mut c = self.caches.try_borrow_mut().ok()?;
        let (day, tod) = Self::local(&mut c, t)?;
        let (target, off) = self.resolve(&mut c, day, span)?;
        let local = target.day * DAY_MS + if target.keep_time { tod } else { 0 };
        Some(Timestamp::from_millis(local - i64::from(off) * 1000))
    }

    /// Where `span` from local day `day` lands and that day's offset (`None`: let the calendar
    /// answer), from the direct-mapped cache, else from `target` and `uniform_offset`.
    fn resolve(&self, c: &mut Caches, day: i64, span: Span) -> Option<(Target, i32)> {
        #[allow(clippy::cast_possible_truncation, reason = "the low bits index the slots")]
        let slot = BuildHasherDefault::<FastHasher>::default().hash_one((day, span)) as usize & (RESOLVED_SLOTS - 1);
        if let Some(Some(r)) = c.resolved.get(slot) {
            if r.day == day && r.span == span {
                return r.at;
            }
        }
        let at = self
            .target(c, day, span)
            .and_then(|target| Self::uniform_offset(c, target.day).map(|off| (target, off)));
        if let Some(s) = c.resolved.get_mut(slot) {
            *s = Some(Resolved { day, span, at });
        }
        at
    }

    /// The Sydney date of `t`, as [`Timestamp::sydney_date`].
    pub(crate) fn sydney_date(&self, t: Timestamp) -> NaiveDate {
        let fast = self
            .caches
            .try_borrow_mut()
            .ok()
            .and_then(|mut c| Self::local(&mut c, t))
            .and_then(|(day, _)| date_of_day(day));
        fast.unwrap_or_else(|| t.sydney_date())
    }

    /// The Sydney date `span` after 00:00 of `date` (the Customer Authority's age).
    pub(crate) fn date_after(&self, date: NaiveDate, span: Span) -> NaiveDate {
        let cached = self
            .caches
            .try_borrow()
            .ok()
            .and_then(|c| c.dates_after.get(&(date, span)).copied());
        if let Some(d) = cached {
            return d;
        }
        let start = Timestamp::from_sydney_local(date.and_time(NaiveTime::MIN));
        let d = self.sydney_date(self.add(start, span));
        if let Ok(mut c) = self.caches.try_borrow_mut() {
            c.dates_after.insert((date, span), d);
        }
        d
    }

    /// Whether `t` is inside Standard Hours, as [`BusinessCalendar::in_standard_hours`].
    pub(crate) fn in_standard_hours(&self, t: Timestamp) -> bool {
        let fast = self.caches.try_borrow_mut().ok().and_then(|mut c| {
            let (day, tod) = Self::local(&mut c, t)?;
            let business = self.is_business(&mut c, day)?;
            let ns = tod * 1_000_000;
            Some(business && ns >= self.hours_ns.0 && ns <= self.hours_ns.1)
        });
        fast.unwrap_or_else(|| self.cal.in_standard_hours(t))
    }
}

impl lnp_model::Reckoner for Clock<'_> {
    fn add(&self, t: Timestamp, span: Span) -> Timestamp {
        Clock::add(self, t, span)
    }

    fn in_standard_hours(&self, t: Timestamp) -> bool {
        Clock::in_standard_hours(self, t)
    }

    fn sydney_date(&self, t: Timestamp) -> NaiveDate {
        Clock::sydney_date(self, t)
    }

    fn date_after(&self, date: NaiveDate, span: Span) -> NaiveDate {
        Clock::date_after(self, date, span)
    }

    fn calendar(&self) -> &BusinessCalendar {
        self.cal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cal: &BusinessCalendar, clock: &Clock<'_>, t: Timestamp) {
        for span in [
            Span::BusinessDays(1),
            Span::BusinessDays(5),
            Span::BusinessDays(-3),
            Span::BusinessDays(0),
            Span::Days(1),
            Span::Days(90),
            Span::Days(-2),
            Span::Months(6),
            Span::Months(-1),
            Span::Minutes(15),
        ] {
            assert_eq!(clock.add(t, span), cal.add(t, span), "{t} + {span:?}");
        }
        assert_eq!(clock.sydney_date(t), t.sydney_date(), "{t}");
        assert_eq!(clock.in_standard_hours(t), cal.in_standard_hours(t), "{t}");
        let date = t.sydney_date();
        let start = Timestamp::from_sydney_local(date.and_time(NaiveTime::MIN));
        assert_eq!(
            clock.date_after(date, Span::Days(90)),
            cal.add(start, Span::Days(90)).sydney_date()
        );
    }

    #[test]
    fn agrees_with_the_calendar() {
        let cal = BusinessCalendar::new();
        let clock = Clock::new(&cal);
        // Every 7 minutes 13 seconds through two years spanning DST changes and Easter, and
        // a few far-off instants.
        let start = Timestamp::parse_rfc3339("2025-09-01T00:00:00+10:00").map_or(0, Timestamp::millis);
        let mut ms = start;
        while ms < start + 2 * 366 * DAY_MS {
            check(&cal, &clock, Timestamp::from_millis(ms));
            ms += 433_017;
        }
        for ms in [0, -1, FAST_FROM_MS - 1, FAST_FROM_MS, FAST_UNTIL_MS - 1, FAST_UNTIL_MS] {
            check(&cal, &clock, Timestamp::from_millis(ms));
        }
    }
}
