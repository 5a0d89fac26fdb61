//! `lnpsim report`: a trace and its audit as a replay report for people (`docs/report.md`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::{Args, ValueEnum};
use lnp_audit::Report;
use lnp_model::{BusinessCalendar, CarrierCode, Rulebook, Timestamp, TraceRecord};
use lnp_report::{Input, Kind, Note};
use lnp_sim::Scenario;

use crate::audit_cmd::{judge, parse_instant, AssumeOffset, Judge, TraceFormatArg, TraceSource};
use crate::common::{is_stdio, Output};

const EXAMPLES: &str = "\
Examples (from the repository's root):
  lnpsim report tests/traces/eca_response_late.csv -o /tmp/late.html
  lnpsim report examples/carrier-log/alpha-porting-export.csv --assume-offset sydney \\
      --scenario examples/carrier-log/market.toml -o /tmp/alpha.txt
  lnpsim report tests/traces/clean_cat_c.csv -o /tmp/cat-c.mmd
  lnpsim run scenarios/cat-a-late-answer.toml --quiet --report /tmp/replay.html

OUT's extension names the kind: .html (a self-contained page: ladder diagram, findings, deadlines,
step-through with the keys n and p), .mmd (a Mermaid sequenceDiagram, at most 500 rows) or .txt (a
plain-text ladder). docs/report.md describes each.

Exit status: 0 the audit found nothing, 1 it found something (findings, a failed statistic or
malformed rows; the report is written either way and shows them), 2 bad input or usage (the trace
cannot be read or has no rows, OUT's extension is not .html, .mmd or .txt, a Mermaid report of more
than 500 rows).";

#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    Html,
    Mmd,
    Txt,
}

#[derive(Args)]
#[command(after_help = EXAMPLES)]
pub struct ReportArgs {
    /// The trace to replay (`.csv` or `.jsonl`): a run's, or a carrier's own porting log.
    #[arg(value_name = "TRACE")]
    trace: PathBuf,
    /// A scenario file: its [[carriers]] name the lifelines and are the audit's market (as for
    /// `lnpsim audit --scenario`), its `rulebook` and `holidays` apply, and its notes ([[notes]],
    /// and `notes` of [[ports]]) are shown at their instants. The rest of its story is not read.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Rulebook overrides (TOML): this file, else the scenario's `rulebook`, else the built-in
    /// defaults.
    #[arg(long, value_name = "FILE")]
    rulebook: Option<PathBuf>,
    #[arg(long, value_name = "STATE|FILE", help = crate::common::HOLIDAYS_OVER_SCENARIO_HELP, value_parser = crate::common::parse_holidays)]
    holidays: Vec<lnp_sim::HolidaySource>,
    /// As for `lnpsim audit`: how far out of time order a row may be listed and still be judged
    /// at its own time.
    #[arg(long, value_name = "SPAN", default_value = "1h", value_parser = crate::audit_cmd::parse_window)]
    reorder_window: lnp_model::Span,
    /// As for `lnpsim audit`: the trace is this carrier's own log; only its duties are judged.
    #[arg(long = "as", value_name = "CODE", value_parser = crate::audit_cmd::parse_carrier)]
    as_carrier: Option<lnp_model::CarrierCode>,
    /// Write the report here, all or nothing; the extension names the kind: .html, .mmd or .txt
    /// (`-`: standard output, with --format).
    #[arg(long, short = 'o', value_name = "OUT")]
    output: PathBuf,
    /// The kind of report, where OUT's extension does not say (`-o -`).
    #[arg(long, value_enum)]
    format: Option<KindArg>,
    /// The trace's encoding, when its extension does not say.
    #[arg(long, value_enum, value_name = "FORMAT")]
    trace_format: Option<TraceFormatArg>,
    /// Read times written without an offset as this zone's local time (only `sydney`), as
    /// `lnpsim audit` does.
    #[arg(long, value_enum, value_name = "ZONE")]
    assume_offset: Option<AssumeOffset>,
    /// Replay the trace as it stood at this instant (RFC 3339): later rows are left out, and
    /// every duty due by then is judged, as `lnpsim audit --until` does.
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    until: Option<Timestamp>,
}

/// The kind of report `path` asks for (or `format`, which wins).
pub fn kind_of(path: &Path, format: Option<KindArg>) -> Result<Kind> {
    if let Some(f) = format {
        return Ok(match f {
            KindArg::Html => Kind::Html,
            KindArg::Mmd => Kind::Mermaid,
            KindArg::Txt => Kind::Text,
        });
    }
    if is_stdio(path) {
        return Err(anyhow!(
            "-: standard output has no extension to name the kind of report; pass --format html, mmd or txt"
        ));
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    Kind::from_extension(ext).ok_or_else(|| {
        let found = if ext.is_empty() {
            "no extension".to_string()
        } else {
            format!(".{ext}")
        };
        anyhow!(
            "{}: a report is .html, .mmd (Mermaid) or .txt, and the extension names the kind; found {found}",
            path.display()
        )
    })
}

/// The carriers' names of a scenario, by code.
pub fn carrier_names(scenario: Option<&Scenario>) -> BTreeMap<CarrierCode, String> {
    scenario
        .map(|s| s.carriers.iter().map(|c| (c.code, c.name.clone())).collect())
        .unwrap_or_default()
}

/// The notes of a scenario, for the report.
pub fn notes(scenario: Option<&Scenario>) -> Vec<Note> {
    scenario
        .map(|s| {
            s.notes
                .iter()
                .map(|n| Note {
                    at: n.at,
                    port: n.port,
                    text: n.text.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What a report is made of, owned by its caller.
pub struct Material<'a> {
    pub title: &'a str,
    pub records: &'a [TraceRecord],
    pub audit: &'a Report,
    pub rulebook: &'a Rulebook,
    pub calendar: &'a BusinessCalendar,
    pub scenario: Option<&'a Scenario>,
    pub horizon: Option<Timestamp>,
}

/// Renders the report of `kind` and writes it to `out` (all or nothing; `-`: standard output).
pub fn write_report(out: &Path, kind: Kind, m: &Material<'_>) -> Result<()> {
    let carriers = carrier_names(m.scenario);
    let notes = notes(m.scenario);
    let input = Input {
        title: m.title,
        records: m.records,
        audit: m.audit,
        rulebook: m.rulebook,
        calendar: m.calendar,
        carriers: &carriers,
        notes: &notes,
        horizon: m.horizon,
    };
    let text = lnp_report::render(kind, &input).map_err(|e| anyhow!("{}: {e}", out.display()))?;
    let mut file = Output::create(Some(out))?;
    file.write_all(text.as_bytes())?;
    file.finish()
}

pub fn run(args: &ReportArgs) -> Result<ExitCode> {
    let kind = kind_of(&args.output, args.format)?;
    let setup = Judge::load(args.scenario.as_deref(), args.rulebook.as_deref(), &args.holidays, true)?;
    let src = TraceSource {
        path: &args.trace,
        format: args.trace_format,
        assume_sydney: args.assume_offset.is_some(),
        until: args.until,
        reorder_window: args.reorder_window,
        judged_as: args.as_carrier,
    };
    let (report, records) = judge(&src, &setup, true)?;
    if kind == Kind::Mermaid && records.len() > lnp_report::MERMAID_MAX_ROWS {
        return Err(anyhow!(
            "{}: {}",
            args.output.display(),
            lnp_report::ReportError::TooManyRowsForMermaid { rows: records.len() }
        ));
    }
    let title = match &setup.market {
        Some(s) => s.name.clone(),
        None if is_stdio(&args.trace) => "standard input".to_string(),
        None => args.trace.file_name().map_or_else(
            || args.trace.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
    };
    let material = Material {
        title: &title,
        records: &records,
        audit: &report,
        rulebook: &setup.book,
        calendar: &setup.calendar,
        scenario: setup.market.as_ref(),
        horizon: args.until,
    };
    write_report(&args.output, kind, &material)?;
    Ok(ExitCode::from(report.exit_code()))
}
