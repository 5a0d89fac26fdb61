//! A plan as an iCalendar file (RFC 5545): one `VEVENT` per step at its deadline, in UTC, each
//! with a `VALARM` before it, for a calendar program to import.
//!
//! Written by hand (the format is small): lines end in CRLF and are folded at 75 octets, text
//! values are escaped, and the output depends on the plan alone (`DTSTAMP` is the plan's submit
//! instant, `UID`s are built from it), so the same plan gives the same file.

use std::fmt::Write as _;

use lnp_model::{Span, Timestamp};

use crate::plan::Plan;

/// `20260302T220000Z`.
fn utc(t: Timestamp) -> String {
    t.utc().format("%Y%m%dT%H%M%SZ").to_string()
}

/// An RFC 5545 TEXT value: backslash, semicolon, comma and newlines escaped.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so that no line is longer than 75 octets (continuation
/// lines start with a space), never inside a UTF-8 character.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for ch in content.chars() {
        let len = ch.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += len;
    }
    out.push_str("\r\n");
}

/// The `TRIGGER` duration of an alarm `before` the event: `-PT1H`, `-PT15M`, `-P1D`.
fn trigger(before: Span) -> String {
    let n = before.count().unsigned_abs();
    match before {
        Span::Seconds(_) => format!("-PT{n}S"),
        Span::Minutes(_) => format!("-PT{n}M"),
        Span::Hours(_) => format!("-PT{n}H"),
        Span::Days(_) | Span::BusinessDays(_) => format!("-P{n}D"),
        Span::Months(_) => format!("-P{}D", n * 30),
    }
}

/// The calendar of one or more plans (a migration gives one per batch, `label` naming each).
pub fn calendar(plans: &[(&str, &Plan)], alarm_before: Span) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//lnpsim//port plan//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    for (label, plan) in plans {
        let cat = plan.category.as_char();
        for (i, s) in plan.steps.iter().enumerate() {
            let prefix = if label.is_empty() {
                String::new()
            } else {
                format!("{label}: ")
            };
            let summary = format!("{prefix}{} ({}): {}", s.rule, s.who.as_str(), s.what);
            let mut description = format!(
                "Cat {cat} port. {} is due by {} (Sydney time) from the {} carrier.",
                s.rule,
                s.due,
                s.who.as_str()
            );
            if let Some(f) = s.from {
                let _ = write!(description, " It starts {f}.");
            }
            let _ = write!(description, "\n{}\nClause: {}.", s.rule.meaning(), s.clause);
            let uid_label: String = label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            line(&mut out, "BEGIN:VEVENT");
            line(
                &mut out,
                &format!(
                    "UID:{}-{uid_label}{}{:02}-{}@lnpsim",
                    utc(plan.submit),
                    if uid_label.is_empty() { "" } else { "-" },
                    i + 1,
                    s.rule
                ),
            );
            line(&mut out, &format!("DTSTAMP:{}", utc(plan.submit)));
            line(&mut out, &format!("DTSTART:{}", utc(s.due)));
            line(&mut out, &format!("SUMMARY:{}", text(&summary)));
            line(&mut out, &format!("DESCRIPTION:{}", text(&description)));
            line(&mut out, &format!("CATEGORIES:{},{}", s.rule, s.who.as_str()));
            line(&mut out, "TRANSP:TRANSPARENT");
            line(&mut out, "BEGIN:VALARM");
            line(&mut out, "ACTION:DISPLAY");
            line(
                &mut out,
                &format!("DESCRIPTION:{}", text(&format!("{prefix}{} due", s.rule))),
            );
            line(&mut out, &format!("TRIGGER:{}", trigger(alarm_before)));
            line(&mut out, "END:VALARM");
            line(&mut out, "END:VEVENT");
        }
    }
    line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let mut out = String::new();
        let content = format!("SUMMARY:{}", "é".repeat(60));
        line(&mut out, &content);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets: {l:?}", l.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded.trim_end(), content);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn triggers() {
        assert_eq!(trigger(Span::Hours(1)), "-PT1H");
        assert_eq!(trigger(Span::Minutes(15)), "-PT15M");
        assert_eq!(trigger(Span::Days(1)), "-P1D");
    }
}
