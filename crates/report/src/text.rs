//! The plain-text ladder: one line per row, a column per carrier, for email and terminals.

use std::fmt::Write as _;

use lnp_audit::StatStatus;
use lnp_model::{BusinessCalendar, Timestamp, TraceRecord};

use crate::timeline::{code_and_detail, numbers_brief, time_text};
use crate::{wrap, Band, Input, Story};

/// Characters from one lifeline to the next.
const COLUMN: usize = 28;
/// Room right of the last lifeline for an action's label.
const LAST: usize = 18;
/// Where a finding's or note's text starts, and how wide it wraps.
const INDENT: &str = "        ";
const WRAP: usize = 96;

/// The plain-text report.
pub fn text(input: &Input<'_>) -> String {
    let story = Story::new(input);
    let records = story.records();
    let mut out = String::new();
    let _ = writeln!(out, "LNP replay: {}", one_line(input.title));
    let _ = writeln!(
        out,
        "{} rows in Sydney local time; {}.",
        records.len(),
        findings_summary(input)
    );
    out.push_str(
        "Marks: after the time, \"h\" is outside Standard Hours and \"N\" a day that is not a business \
         day; \"!\" before a row: a finding names it; \"*\" on a lifeline: an action.\n",
    );
    out.push_str("\nCarriers:\n");
    for c in &story.lifelines {
        let _ = writeln!(
            out,
            "  {c}  {}",
            story.carrier_name(*c).map(one_line).unwrap_or_default()
        );
    }
    out.push('\n');
    let width = story.lifelines.len().saturating_sub(1) * COLUMN + LAST;
    let mut head = vec![b' '; width];
    let mut rule = vec![b' '; width];
    for (i, c) in story.lifelines.iter().enumerate() {
        let at = i * COLUMN;
        for (k, b) in c.to_string().bytes().enumerate() {
            if let Some(slot) = head.get_mut(at + k) {
                *slot = b;
            }
        }
        rule[at] = b'|';
    }
    let _ = writeln!(
        out,
        "    {:>5}  {:<29}   {}",
        "seq",
        "Sydney time",
        String::from_utf8_lossy(&head).trim_end()
    );
    let _ = writeln!(
        out,
        "    {:>5}  {:<29}   {}",
        "",
        "",
        String::from_utf8_lossy(&rule).trim_end()
    );
    bands(&mut out, &story, 0);
    for (i, r) in records.iter().enumerate() {
        let mark = if story.named.get(i).copied().unwrap_or(false) {
            '!'
        } else {
            ' '
        };
        let hours = hours_mark(input.calendar, r.time);
        let ladder = ladder(&story, r, width);
        let _ = write!(
            out,
            "  {mark} {:>5}  {} {hours} {ladder}  {}",
            r.seq,
            time_text(r.time),
            tail(r)
        );
        for b in story.brackets_from.get(i).into_iter().flatten() {
            if let Some(b) = story.brackets.get(*b) {
                let _ = write!(out, "  [{}]", story.bracket_text(b));
            }
        }
        out.push('\n');
        bands(&mut out, &story, i + 1);
    }
    summary(&mut out, &story);
    out
}

/// `h` outside Standard Hours on a business day, `N` on a day that is not one.
fn hours_mark(calendar: &BusinessCalendar, t: Timestamp) -> char {
    if !calendar.is_business_day(t.sydney_date()) {
        'N'
    } else if calendar.in_standard_hours(t) {
        ' '
    } else {
        'h'
    }
}

/// The ladder part of a row: lifelines, and the row's arrow or mark.
fn ladder(story: &Story<'_>, r: &TraceRecord, width: usize) -> String {
    let mut line = vec![b' '; width];
    for i in 0..story.lifelines.len() {
        line[i * COLUMN] = b'|';
    }
    let kw = r.message.kind.keyword();
    let from = story.column.get(&r.from).copied().unwrap_or(0) * COLUMN;
    match r.to.and_then(|to| story.column.get(&to).copied()) {
        Some(to) if to * COLUMN != from => {
            let to = to * COLUMN;
            let (a, b) = (from.min(to), from.max(to));
            for slot in line.iter_mut().take(b).skip(a + 1) {
                *slot = b'-';
            }
            if to > from {
                line[b - 1] = b'>';
            } else {
                line[a + 1] = b'<';
            }
            let label = format!(" {kw} ");
            let span = b - a - 3;
            if label.len() <= span {
                let start = a + 2 + (span - label.len()) / 2;
                line[start..start + label.len()].copy_from_slice(label.as_bytes());
            }
        }
        _ => {
            line[from] = b'*';
            for (k, b) in format!(" {kw}").bytes().enumerate() {
                if let Some(slot) = line.get_mut(from + 1 + k) {
                    *slot = b;
                }
            }
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// What follows a row's ladder: ref, numbers, code and detail.
fn tail(r: &TraceRecord) -> String {
    let m = &r.message;
    let mut s = m.port_ref.map_or_else(|| "-".into(), |p| p.to_string());
    if !m.numbers.is_empty() {
        let _ = write!(s, "  {}", numbers_brief(&m.numbers));
    }
    s.push_str(&one_line(&code_and_detail(r)));
    s
}

fn findings_summary(input: &Input<'_>) -> String {
    let a = input.audit;
    let mut parts = vec![match a.findings.len() {
        0 => "no findings".to_string(),
        1 => "1 finding".to_string(),
        n => format!("{n} findings"),
    }];
    let failed = a.statistics.iter().filter(|s| s.status == StatStatus::Fail).count();
    if failed > 0 {
        parts.push(format!(
            "{failed} failed statistic{}",
            if failed == 1 { "" } else { "s" }
        ));
    }
    if !a.malformed_rows.is_empty() {
        parts.push(format!("{} malformed rows", a.malformed_rows.len()));
    }
    parts.join(", ")
}

/// The findings and notes shown after `k` rows.
fn bands(out: &mut String, story: &Story<'_>, k: usize) {
    for band in story.bands.get(k).into_iter().flatten() {
        match *band {
            Band::Finding(i) => {
                let Some(f) = story.finding(i) else { continue };
                let seqs: Vec<String> = f.seq.iter().map(ToString::to_string).collect();
                let mut head = format!("!! {}  seq {}", f.rule.as_str(), seqs.join(","));
                if let Some(r) = f.port_ref {
                    let _ = write!(head, "  ref {r}");
                }
                let _ = writeln!(out, "{INDENT}{head}");
                for l in wrap(&f.message, WRAP) {
                    let _ = writeln!(out, "{INDENT}   {l}");
                }
                for l in wrap(&story.rule_text(f.rule), WRAP) {
                    let _ = writeln!(out, "{INDENT}   {l}");
                }
            }
            Band::Note(i) => {
                let Some(note) = story.notes.get(i) else { continue };
                let port = note.port.map(|p| format!(" ({p})")).unwrap_or_default();
                let _ = writeln!(out, "{INDENT}>> Note{port} at {}:", time_text(note.at));
                for l in wrap(&note.text, WRAP) {
                    let _ = writeln!(out, "{INDENT}   {l}");
                }
            }
        }
    }
}

fn summary(out: &mut String, story: &Story<'_>) {
    let a = story.input.audit;
    let when = |t: Option<Timestamp>| t.map_or_else(|| "-".to_string(), time_text);
    out.push_str("\nPorts:\n");
    if story.port_times.is_empty() {
        out.push_str("  (no row names a port)\n");
    }
    for t in story.port_times.values() {
        let cat = t.category.map_or_else(|| "-".to_string(), |c| c.to_string());
        let carriers = format!(
            "{} -> {}",
            t.losing.map_or_else(|| "?".to_string(), |c| c.to_string()),
            t.gaining.map_or_else(|| "?".to_string(), |c| c.to_string())
        );
        let stage = if t.stage == t.outcome.as_str() {
            String::new()
        } else {
            format!(" ({})", t.stage)
        };
        let _ = writeln!(
            out,
            "  {:<12} Cat {cat}  {:<24} {carriers}  {}{stage}",
            t.port_ref.to_string(),
            numbers_brief(&t.numbers),
            t.outcome.as_str(),
        );
        let _ = writeln!(
            out,
            "  {:<12} submitted {}; confirmed {}; cutover {}; completed {}; published {}",
            "",
            when(t.submitted),
            when(t.confirmed),
            when(t.cutover),
            when(t.completed),
            when(t.published)
        );
    }
    out.push_str("\nFindings by rule:\n");
    if a.summary.by_rule.is_empty() {
        out.push_str("  none\n");
    }
    for (rule, count) in &a.summary.by_rule {
        let text = rule
            .parse::<lnp_model::RuleId>()
            .map_or_else(|_| rule.clone(), |r| story.rule_text(r));
        let _ = writeln!(out, "  {count:>5}  {text}");
    }
    if !a.statistics.is_empty() {
        out.push_str("\nStatistics:\n");
        for s in &a.statistics {
            let _ = writeln!(out, "  {:<20} {:<14} {}", s.rule.as_str(), s.status.as_str(), s.value);
        }
    }
    if !a.not_checked.is_empty() {
        out.push_str("\nNot checked:\n");
        for n in &a.not_checked {
            let _ = writeln!(out, "  {:<20} {}", n.rule.as_str(), n.reason);
        }
    }
    if !a.malformed_rows.is_empty() {
        let _ = writeln!(out, "\nMalformed rows ({}):", a.malformed_rows.len());
        for m in &a.malformed_rows {
            let _ = writeln!(out, "  line {}: {}", m.line, one_line(&m.message));
        }
    }
}

/// Text on one line: newlines and other control characters shown as spaces.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}
