//! `lnpsim plan windows`: the legal cutover windows of each day, a carrier API's "available FOC
//! dates". Each window is [`Duties::cutover_window_on`]: the instants at which an ECA may be sent
//! (or a Cat C cutover agreed) so that it, its answer and the cutover fall inside Standard Hours,
//! or the whole day where the pair's agreement allows after-hours ports.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate, Weekday};
use lnp_model::{Duties, Reckoner, Timestamp};
use serde::Serialize;

/// The most days one listing covers (ten years): a longer one is a mistake, not a plan.
pub const MAX_DAYS: i64 = 3660;

/// One day's legal cutover window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayWindow {
    #[serde(serialize_with = "crate::date_str")]
    pub date: NaiveDate,
    pub weekday: String,
    pub business_day: bool,
    /// The first legal cutover instant of the day (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Timestamp>,
    /// The last legal cutover instant of the day (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Timestamp>,
    /// Why the day has no window (a weekend, a holiday), when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

/// The windows of every date from `from` to `to`, inclusive.
pub fn windows<R: Reckoner + ?Sized>(
    d: &Duties<'_, R>,
    from: NaiveDate,
    to: NaiveDate,
    after_hours: bool,
) -> Vec<DayWindow> {
    let cal = d.clock.calendar();
    let mut out = Vec::new();
    let mut date = from;
    while date <= to {
        let window = d.cutover_window_on(date, after_hours);
        let business_day = cal.is_business_day(date);
        let why_not = window.is_none().then(|| {
            let names = cal.holiday_names(date);
            if !names.is_empty() {
                names.join(" and ")
            } else if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
                date.format("%A").to_string()
            } else {
                "Standard Hours are too short for an ECA and its answer".to_string()
            }
        });
        out.push(DayWindow {
            date,
            weekday: date.format("%a").to_string(),
            business_day,
            from: window.map(|w| w.0),
            to: window.map(|w| w.1),
            why_not,
        });
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    out
}

/// `16:45`, or `23:59:59.999` where the instant is not a whole minute.
fn clock(t: Timestamp) -> String {
    let local = t.sydney_naive();
    if t.millis().rem_euclid(60_000) == 0 {
        local.format("%H:%M").to_string()
    } else {
        local.format("%H:%M:%S%.3f").to_string()
    }
}

/// The listing for people: one line per day.
pub fn to_text(days: &[DayWindow]) -> String {
    let mut out = String::new();
    for w in days {
        match (w.from, w.to) {
            (Some(f), Some(t)) => {
                let _ = writeln!(
                    out,
                    "{}  {}  {} to {}  ({f} to {t})",
                    w.date,
                    w.weekday,
                    clock(f),
                    clock(t),
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "{}  {}  none ({})",
                    w.date,
                    w.weekday,
                    w.why_not.as_deref().unwrap_or("")
                );
            }
        }
    }
    out
}
