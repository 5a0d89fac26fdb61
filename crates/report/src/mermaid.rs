//! The Mermaid `sequenceDiagram`: autonumbered messages, actions as a carrier's message to
//! itself, findings and notes as notes.

use std::fmt::Write as _;

use lnp_model::{CarrierCode, TraceRecord};

use crate::timeline::numbers_brief;
use crate::{Band, Input, ReportError, Story, MERMAID_MAX_ROWS};

/// The Mermaid report; more than [`MERMAID_MAX_ROWS`] rows is refused.
pub fn mermaid(input: &Input<'_>) -> Result<String, ReportError> {
    let rows = input.records.len();
    if rows > MERMAID_MAX_ROWS {
        return Err(ReportError::TooManyRowsForMermaid { rows });
    }
    let story = Story::new(input);
    let records = story.records();
    // Autonumbering counts rows from 1; where the trace's seq differs (a filtered export), each
    // label says its seq.
    let renumbered = records.iter().enumerate().any(|(i, r)| r.seq != i as u64 + 1);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "%% LNP replay: {} ({} rows, Sydney local time)",
        comment(input.title),
        rows
    );
    out.push_str("sequenceDiagram\n    autonumber\n");
    for c in &story.lifelines {
        let name = story.carrier_name(*c).map(|n| format!(" {n}")).unwrap_or_default();
        let _ = writeln!(out, "    participant {} as {}", id(*c), text(&format!("{c}{name}")));
    }
    let everyone = match (story.lifelines.first(), story.lifelines.last()) {
        (Some(a), Some(b)) if a != b => format!("{},{}", id(*a), id(*b)),
        (Some(a), _) => id(*a),
        _ => String::new(),
    };
    bands(&mut out, &story, 0, &everyone);
    let mut day = None;
    for (i, r) in records.iter().enumerate() {
        let local = r.time.sydney();
        let date = r.time.sydney_date();
        let when = if day == Some(date) {
            local.format("%H:%M:%S").to_string()
        } else {
            day = Some(date);
            local.format("%a %d %b %Y %H:%M:%S %Z").to_string()
        };
        let seq = if renumbered {
            format!(" (seq {})", r.seq)
        } else {
            String::new()
        };
        let to = r.to.unwrap_or(r.from);
        let _ = writeln!(
            out,
            "    {}->>{}: {}{seq} · {when}",
            id(r.from),
            id(to),
            text(&label(r))
        );
        bands(&mut out, &story, i + 1, &everyone);
    }
    Ok(out)
}

/// A participant's identifier: `C` and the code.
fn id(c: CarrierCode) -> String {
    format!("C{c}")
}

/// A row's label: keyword, ref, code (or PLNR status), and the number where there is one.
fn label(r: &TraceRecord) -> String {
    let m = &r.message;
    let mut s = m.kind.keyword().to_string();
    if let Some(p) = m.port_ref {
        let _ = write!(s, " {p}");
    }
    if let Some(st) = m.detail.status {
        let _ = write!(s, " status {st}");
    }
    if !m.code.is_none() {
        let _ = write!(s, " code {}", m.code);
    }
    if !m.numbers.is_empty() {
        let _ = write!(s, " {}", numbers_brief(&m.numbers));
    }
    s
}

fn bands(out: &mut String, story: &Story<'_>, k: usize, everyone: &str) {
    if everyone.is_empty() {
        return;
    }
    for band in story.bands.get(k).into_iter().flatten() {
        match *band {
            Band::Finding(i) => {
                let Some(f) = story.finding(i) else { continue };
                // Over the carriers of the finding's first row, else over everyone.
                let over = story
                    .finding_first
                    .get(i)
                    .copied()
                    .flatten()
                    .and_then(|row| story.records().get(row))
                    .map_or_else(
                        || everyone.to_string(),
                        |r| match r.to.filter(|to| *to != r.from) {
                            Some(to) => format!("{},{}", id(r.from), id(to)),
                            None => id(r.from),
                        },
                    );
                let _ = writeln!(
                    out,
                    "    Note over {over}: {} {}<br/>{}",
                    f.rule.as_str(),
                    text(&f.message),
                    text(&story.rule_text(f.rule))
                );
            }
            Band::Note(i) => {
                let Some(note) = story.notes.get(i) else { continue };
                let port = note.port.map(|p| format!(" ({p})")).unwrap_or_default();
                let lines: Vec<String> = note.text.lines().map(text).collect();
                let _ = writeln!(out, "    Note over {everyone}: Note{port}: {}", lines.join("<br/>"));
            }
        }
    }
}

/// Text that Mermaid shows as written: `#`, `;`, `<`, `>` and control characters as its entity
/// codes, so that nothing in a message ends the statement or turns into markup.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '%' => out.push_str("#37;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for a `%%` comment line.
fn comment(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}
