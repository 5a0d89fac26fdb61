//! lnp-report: a trace and its audit, replayed for people (`docs/report.md`).
//!
//! The input is what a trace alone can give, plus what the caller knows about the market: the
//! rows, the audit's [`Report`] of them, the [`Rulebook`] and [`BusinessCalendar`] they were
//! judged by, the carriers' names and a trainer's notes. The output is one string:
//!
//! - [`html`]: a self-contained page with a ladder diagram in inline SVG (one lifeline per
//!   carrier, one arrow per message, a mark per action, Sydney times, non-business days and hours
//!   outside Standard Hours shaded, findings and notes at their rows, deadline brackets), summary
//!   tables, and vanilla inline script for step-through and filters. Readable with scripting off.
//! - [`mermaid`]: a Mermaid `sequenceDiagram` for tickets and wikis (at most
//!   [`MERMAID_MAX_ROWS`] rows).
//! - [`text`]: a plain-text ladder, one line per row and a column per carrier.
//!
//! What this crate does not do: no I/O, no clock. The same input always gives the same bytes.
//! Deadlines come from [`lnp_model::Duties`], never from a formula of this crate.

mod deadlines;
mod html;
mod mermaid;
pub mod ports;
mod text;
pub mod timeline;

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

pub use deadlines::{brackets, Bracket, BracketStatus};
pub use html::html;
pub use mermaid::mermaid;
pub use ports::{port_times, row_ports, PortTimes};
pub use text::text;

use lnp_audit::{Finding, Report};
use lnp_model::{BusinessCalendar, CarrierCode, Duties, PortRef, RuleId, Rulebook, Timestamp, TraceRecord};

/// A Mermaid diagram of more rows than this is refused: it would not render in the tools that
/// show Mermaid (ticket systems, wikis).
pub const MERMAID_MAX_ROWS: usize = 500;

/// Rows per page of the HTML report. Up to this many rows, every row is an element of the page;
/// a longer trace is shown a page at a time.
pub const PAGE_ROWS: usize = 10_000;

/// A trainer's note, shown at its instant: after the last row at or before `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub at: Timestamp,
    /// The port it is about: a report filtered to another port hides it.
    pub port: Option<PortRef>,
    /// Plain text; a newline starts a new line.
    pub text: String,
}

/// Everything a report is made from.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// The report's title (a scenario's name, a log's file name).
    pub title: &'a str,
    pub records: &'a [TraceRecord],
    /// The audit of `records`.
    pub audit: &'a Report,
    pub rulebook: &'a Rulebook,
    pub calendar: &'a BusinessCalendar,
    /// Carriers' names by code; a carrier not named shows its code alone.
    pub carriers: &'a BTreeMap<CarrierCode, String>,
    pub notes: &'a [Note],
    /// The instant the trace was judged to: a duty whose deadline lies after it is still open.
    /// Default: the time of the last row.
    pub horizon: Option<Timestamp>,
}

/// The three kinds of report, as an output file's extension names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `.html`
    Html,
    /// `.mmd`
    Mermaid,
    /// `.txt`
    Text,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Html, Kind::Mermaid, Kind::Text];

    /// From a file's extension (`html`, `mmd`, `txt`; letter case ignored).
    pub fn from_extension(ext: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.extension().eq_ignore_ascii_case(ext))
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Mermaid => "mmd",
            Self::Text => "txt",
        }
    }
}

/// A report that cannot be made from its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportError {
    /// A Mermaid diagram of more than [`MERMAID_MAX_ROWS`] rows.
    TooManyRowsForMermaid { rows: usize },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyRowsForMermaid { rows } => write!(
                f,
                "the trace has {rows} rows; a Mermaid diagram is limited to {MERMAID_MAX_ROWS} rows, \
                 which tickets and wikis still render: write the report as .html (every row, paged past \
                 {PAGE_ROWS}) or .txt instead"
            ),
        }
    }
}

impl std::error::Error for ReportError {}

/// The report of `kind`.
pub fn render(kind: Kind, input: &Input<'_>) -> Result<String, ReportError> {
    match kind {
        Kind::Html => Ok(html(input)),
        Kind::Mermaid => mermaid(input),
        Kind::Text => Ok(text(input)),
    }
}

/// Something shown between rows: a finding (by index into the audit's findings) or a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Band {
    Finding(usize),
    Note(usize),
}

/// What every kind of report reads off the input, computed once.
pub(crate) struct Story<'a> {
    pub input: &'a Input<'a>,
    /// Carriers in the order they first appear in the trace.
    pub lifelines: Vec<CarrierCode>,
    pub column: BTreeMap<CarrierCode, usize>,
    /// The port of each row ([`row_ports`]).
    pub ports: Vec<Option<PortRef>>,
    pub port_times: BTreeMap<PortRef, PortTimes>,
    pub brackets: Vec<Bracket>,
    /// The brackets each row starts.
    pub brackets_from: Vec<Vec<usize>>,
    /// `bands[k]`: what is shown after `k` rows (`bands[0]` before the first).
    pub bands: Vec<Vec<Band>>,
    /// Whether a finding names the row.
    pub named: Vec<bool>,
    /// The row index of each finding's first row in the trace, if it is in the trace.
    pub finding_first: Vec<Option<usize>>,
    /// The row index after which each finding is shown (its last row in the trace).
    pub finding_at: Vec<usize>,
    /// Notes in order of their instants.
    pub notes: Vec<&'a Note>,
    pub horizon: Timestamp,
}

impl<'a> Story<'a> {
    pub fn new(input: &'a Input<'a>) -> Self {
        let records = input.records;
        let n = records.len();
        let mut lifelines = Vec::new();
        let mut column = BTreeMap::new();
        for r in records {
            for c in std::iter::once(r.from).chain(r.to) {
                if let std::collections::btree_map::Entry::Vacant(e) = column.entry(c) {
                    e.insert(lifelines.len());
                    lifelines.push(c);
                }
            }
        }
        let horizon = input
            .horizon
            .or_else(|| records.iter().map(|r| r.time).max())
            .unwrap_or_default();
        let duties = Duties::new(input.rulebook, input.calendar);
        let ports = row_ports(records);
        let port_times = port_times(records, &ports, &duties, horizon);
        let brackets = brackets(records, &ports, &duties, horizon);
        let mut brackets_from = vec![Vec::new(); n];
        for (i, b) in brackets.iter().enumerate() {
            if let Some(v) = brackets_from.get_mut(b.from) {
                v.push(i);
            }
        }
        let mut index: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            index.entry(r.seq).or_insert(i);
        }
        let mut bands = vec![Vec::new(); n + 1];
        let mut named = vec![false; n];
        let mut finding_first = Vec::with_capacity(input.audit.findings.len());
        let mut finding_at = Vec::with_capacity(input.audit.findings.len());
        for (fi, f) in input.audit.findings.iter().enumerate() {
            let rows: Vec<usize> = f.seq.iter().filter_map(|s| index.get(s).copied()).collect();
            for &i in &rows {
                named[i] = true;
            }
            finding_first.push(f.seq.first().and_then(|s| index.get(s).copied()));
            let at = rows.iter().max().map_or(n, |i| i + 1);
            finding_at.push(at.saturating_sub(1));
            bands[at].push(Band::Finding(fi));
        }
        let mut notes: Vec<(usize, &Note)> = input.notes.iter().enumerate().collect();
        notes.sort_by_key(|(i, note)| (note.at, *i));
        let notes: Vec<&Note> = notes.into_iter().map(|(_, note)| note).collect();
        for (ni, note) in notes.iter().enumerate() {
            let after = records.partition_point(|r| r.time <= note.at);
            bands[after].push(Band::Note(ni));
        }
        Self {
            input,
            lifelines,
            column,
            ports,
            port_times,
            brackets,
            brackets_from,
            bands,
            named,
            finding_first,
            finding_at,
            notes,
            horizon,
        }
    }

    pub fn records(&self) -> &'a [TraceRecord] {
        self.input.records
    }

    pub fn finding(&self, i: usize) -> Option<&'a Finding> {
        self.input.audit.findings.get(i)
    }

    /// A carrier as a lifeline's head names it: its code and, where known, its name.
    pub fn carrier_name(&self, code: CarrierCode) -> Option<&'a str> {
        self.input
            .carriers
            .get(&code)
            .map(String::as_str)
            .filter(|n| !n.is_empty() && *n != code.to_string())
    }

    /// The rule's meaning, clause and value in force, for a finding's second line.
    pub fn rule_text(&self, rule: RuleId) -> String {
        format!(
            "{}: {} ({}; value {})",
            rule.as_str(),
            rule.meaning(),
            clause_text(rule),
            self.input.rulebook.value_text(rule)
        )
    }

    /// A bracket in words: what is due by when, and what happened.
    pub fn bracket_text(&self, b: &Bracket) -> String {
        let records = self.records();
        let from = records.get(b.from).map_or(0, |r| r.seq);
        let mut s = format!(
            "{}: from seq {from}, {} by {}",
            b.rule.as_str(),
            b.what,
            timeline::time_text(b.due)
        );
        match (b.status, b.done_by.and_then(|i| records.get(i))) {
            (BracketStatus::InTime, Some(r)) => {
                let _ = write!(s, ": done at seq {}, in time", r.seq);
            }
            (BracketStatus::Late, Some(r)) => {
                let _ = write!(
                    s,
                    ": done at seq {}, {} late",
                    r.seq,
                    duration_text(r.time.millis() - b.due.millis())
                );
            }
            (BracketStatus::Missed, _) => s.push_str(": not done by then"),
            _ => s.push_str(": not yet due"),
        }
        s
    }
}

/// A rule's source as a sentence reads it: `clause 4.2.32, 4.2.33`, or how it is sourced where
/// no clause is cited (`stated in the article`, `no clause cited`).
pub(crate) fn clause_text(rule: RuleId) -> String {
    let clause = rule.clause();
    if clause.starts_with(|c: char| c.is_ascii_digit()) {
        format!("clause {clause}")
    } else if clause == "none cited" {
        "no clause cited".to_string()
    } else {
        clause.to_string()
    }
}

/// An elapsed time in words, to the second (`27 minutes 59 seconds`, `2 days 3 hours`).
pub(crate) fn duration_text(ms: i64) -> String {
    let secs = ms.max(0).div_euclid(1000);
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let unit = |n: i64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let parts: Vec<String> = [(d, "day"), (h, "hour"), (m, "minute"), (s, "second")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .take(2)
        .map(|(n, u)| unit(n, u))
        .collect();
    if parts.is_empty() {
        "less than a second".into()
    } else {
        parts.join(" ")
    }
}

/// Text wrapped at spaces into lines of at most `width` characters (a longer word stands alone);
/// newlines in `text` are kept.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push(line);
    }
    while out.len() > 1 && out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnp_audit::audit_records;
    use lnp_model::trace::read_all;
    use lnp_model::TraceFormat;

    const LATE: &str = "seq,time,from,to,msg,ref,category,numbers,code,detail
1,2026-03-06T16:00:00+11:00,9002,9001,SNA,SNA-1,A,0255501234,,ca_date=2026-02-25
2,2026-03-07T09:05:00+11:00,9001,9002,SNA_CONFIRM,SNA-1,A,0255501234,,
3,2026-03-09T10:00:00+11:00,9002,9001,ECA,SNA-1,A,0255501234,,
4,2026-03-09T10:42:00+11:00,9001,9002,ECA_CONFIRM,SNA-1,A,0255501234,,
5,2026-03-09T10:42:00+11:00,9001,,CUTOVER,SNA-1,A,0255501234,,current=9002
6,2026-03-09T10:43:00+11:00,9001,9001,DONOR_NOTIFY,,,0255501234,,status=C;reason=<a href=\"https://x\">
";

    fn with<T>(text: &str, notes: &[Note], f: impl FnOnce(&Input<'_>) -> T) -> T {
        let (records, bad) = read_all(text.as_bytes(), TraceFormat::Csv).expect("trace");
        assert!(bad.is_empty(), "{bad:?}");
        let book = Rulebook::default();
        let cal = book.calendar();
        let audit = audit_records(&records, &book, &cal, None);
        let carriers: BTreeMap<CarrierCode, String> = [("9001".parse().expect("code"), "Alpha & Co".to_string())]
            .into_iter()
            .collect();
        let input = Input {
            title: "A <late> story",
            records: &records,
            audit: &audit,
            rulebook: &book,
            calendar: &cal,
            carriers: &carriers,
            notes,
            horizon: None,
        };
        f(&input)
    }

    #[test]
    fn every_kind_renders_the_same_bytes_twice_and_escapes_what_it_shows() {
        let note = Note {
            at: "2026-03-09T10:20:00+11:00".parse().expect("instant"),
            port: None,
            text: "Still <no> answer;\nsee #3".into(),
        };
        with(LATE, std::slice::from_ref(&note), |input| {
            for kind in Kind::ALL {
                let a = render(kind, input).expect("renders");
                assert_eq!(a, render(kind, input).expect("renders"), "{kind:?}");
            }
            let html = html(input);
            assert!(html.contains("A &lt;late&gt; story") && html.contains("Alpha &amp; Co"));
            assert!(html.contains("Still &lt;no&gt; answer;"), "the note, escaped");
            assert!(!html.contains("<a href=\"https"), "trace text never becomes markup");
            // A row from a carrier to itself is drawn as a mark, not an arrow of no length.
            assert_eq!(html.matches("class=\"r act").count(), 2);
            let mmd = mermaid(input).expect("short");
            assert!(mmd.contains("Still #lt;no#gt; answer#59;<br/>see #35;3"), "{mmd}");
            let txt = text(input);
            assert!(
                txt.contains(">> Note at Mon 09 Mar 2026 10:20:00 AEDT:\n           Still <no> answer;\n"),
                "{txt}"
            );
            // Saturday 7 March is no business day; 16:00 Friday is inside Standard Hours.
            assert!(txt.contains("09:05:00 AEDT N |"), "{txt}");
            assert!(html.contains("Saturday 07 March 2026: not a business day"));
        });
    }

    #[test]
    fn brackets_come_from_the_duties_and_say_how_they_ended() {
        with(LATE, &[], |input| {
            let story = Story::new(input);
            let summary: Vec<(RuleId, BracketStatus)> = story.brackets.iter().map(|b| (b.rule, b.status)).collect();
            assert_eq!(
                summary,
                [
                    (RuleId::SnaResponse, BracketStatus::InTime),
                    (RuleId::EcaResponse, BracketStatus::Late),
                    (RuleId::Completion, BracketStatus::Open),
                ]
            );
            let eca = &story.brackets[1];
            assert_eq!(eca.due, "2026-03-09T10:15:00+11:00".parse().expect("instant"));
            assert_eq!(
                story.bracket_text(eca),
                "ECA-RESPONSE: from seq 3, answer the ECA by Mon 09 Mar 2026 10:15:00 AEDT: done at seq 4, 27 minutes late"
            );
            // The finding is shown after the last row it names.
            assert_eq!(story.bands[4], [Band::Finding(0)]);
        });
    }

    #[test]
    fn an_empty_trace_and_odd_rows_render_without_panicking() {
        let book = Rulebook::default();
        let cal = book.calendar();
        let audit = Report::default();
        let carriers = BTreeMap::new();
        let input = Input {
            title: "",
            records: &[],
            audit: &audit,
            rulebook: &book,
            calendar: &cal,
            carriers: &carriers,
            notes: &[],
            horizon: None,
        };
        for kind in Kind::ALL {
            assert!(render(kind, &input).is_ok());
        }
    }

    #[test]
    fn mermaid_stops_at_its_limit() {
        let mut text = String::from("seq,time,from,to,msg,ref,category,numbers,code,detail\n");
        for i in 1..=MERMAID_MAX_ROWS + 1 {
            let _ = writeln!(text, "{i},2026-03-02T09:00:00+11:00,9001,,GIVE_BACK,,,0255501234,,");
        }
        with(&text, &[], |input| {
            let err = mermaid(input).expect_err("too long");
            assert_eq!(err, ReportError::TooManyRowsForMermaid { rows: 501 });
            assert!(err.to_string().contains(".html"));
            assert!(text_ok(input));
        });
    }

    fn text_ok(input: &Input<'_>) -> bool {
        !text(input).is_empty() && !html(input).is_empty()
    }

    #[test]
    fn kinds_wrapping_and_durations() {
        assert_eq!(Kind::from_extension("HTML"), Some(Kind::Html));
        assert_eq!(Kind::from_extension("mmd"), Some(Kind::Mermaid));
        assert_eq!(Kind::from_extension("md"), None);
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("one\n\ntwo", 10), ["one", "", "two"]);
        assert_eq!(wrap("averyveryverylongword x", 5), ["averyveryverylongword", "x"]);
        assert_eq!(duration_text(0), "less than a second");
        assert_eq!(duration_text(1_679_000), "27 minutes 59 seconds");
        assert_eq!(duration_text(2 * 86_400_000 + 3_600_000 + 1000), "2 days 1 hour");
        assert_eq!(clause_text(RuleId::EcaResponse), "clause 4.2.32, 4.2.33");
        assert_eq!(clause_text(RuleId::SnaResponse), "no clause cited");
    }
}
