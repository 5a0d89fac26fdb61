//! `lnpsim audit`: judge a trace against the rulebook and report the findings.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::{Args, ValueEnum};
use lnp_audit::{Auditor, Context, Report, RowOrder, Step, LOOKAHEAD};
use lnp_model::trace::TraceError;
use lnp_model::{BusinessCalendar, CarrierCode, Rulebook, Span, Timestamp, TraceFormat, TraceReader, TraceRecord};
use lnp_sim::scenario::Scenario;
use lnp_sim::HolidaySource;

use crate::common::{load_calendar, load_rulebook, read_text, Progress};

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AssumeOffset {
    /// Australia/Sydney: AEST or AEDT as the date requires.
    Sydney,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TraceFormatArg {
    Csv,
    Jsonl,
}

#[derive(Args)]
#[command(after_help = "Examples (from the repository's root):\n  \
                        lnpsim audit tests/traces/eca_response_late.csv\n  \
                        lnpsim audit tests/traces/donor_notify_at_deadline.csv --scenario tests/traces/market.toml \\\n      \
                        --format json\n  \
                        lnpsim audit examples/carrier-log/alpha-porting-export.csv --assume-offset sydney \\\n      \
                        --format junit --output /tmp/audit.xml\n  \
                        lnpsim audit tests/traces/eca_response_late.csv --until 2026-03-09T10:15:00+11:00\n  \
                        lnpsim audit examples/carrier-log/alpha-porting-export.csv --assume-offset sydney --as 9001 \\\n      \
                        --scenario examples/carrier-log/market.toml --reorder-window 15m\n\n\
                        Exit status: 0 no findings, 1 findings, a failed statistic or malformed rows, 2 the trace \
                        cannot be read, has no rows, or bad arguments.")]
pub struct AuditArgs {
    /// The trace to judge (`.csv` or `.jsonl`).
    #[arg(value_name = "TRACE")]
    trace: PathBuf,
    /// A scenario file whose [[carriers]], [[agreements]] and [[services]] tell the audit the
    /// donors, agreements, daily caps and service kinds, and whose `rulebook` and `holidays`
    /// apply as in `lnpsim run` (its story, [[ports]], [load], [[faults]] and [[expect]], is not
    /// read).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Rulebook overrides (TOML): this file, else the scenario's `rulebook`, else the built-in
    /// defaults.
    #[arg(long, value_name = "FILE")]
    rulebook: Option<PathBuf>,
    #[arg(long, value_name = "STATE|FILE", help = crate::common::HOLIDAYS_OVER_SCENARIO_HELP, value_parser = crate::common::parse_holidays)]
    holidays: Vec<HolidaySource>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// The trace's encoding, when its extension does not say.
    #[arg(long, value_enum, value_name = "FORMAT")]
    trace_format: Option<TraceFormatArg>,
    /// Write the report here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Read times written without an offset as this zone's local time (only `sydney`): carriers'
    /// exported logs often drop the offset. Without it such a row is malformed.
    #[arg(long, value_enum, value_name = "ZONE")]
    assume_offset: Option<AssumeOffset>,
    /// Judge the trace as it stood at this instant (RFC 3339): rows after it are not read, and
    /// every duty whose deadline has passed by then is judged, as a live audit at that instant
    /// would. Default: the time of the last row.
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    until: Option<Timestamp>,
    /// How far out of time order a row may be listed and still be judged at its own time
    /// (listed under reordered rows); one further out is a malformed row. Seconds, minutes or
    /// hours: `30s`, `15m`, `1h`.
    #[arg(long, value_name = "SPAN", default_value = "1h", value_parser = parse_window)]
    reorder_window: Span,
    /// The trace is this carrier's own log: judge only the duties it holds (as losing carrier:
    /// answers, grounds, cutover, notices; as donor of the numbers it loses: transit routing and
    /// PLNR), refuse rows it
    /// neither sent, received nor did, and list what such a log cannot show as not checked.
    #[arg(long = "as", value_name = "CODE", value_parser = parse_carrier)]
    as_carrier: Option<CarrierCode>,
}

pub fn parse_window(s: &str) -> Result<Span, String> {
    let span: Span = s.parse().map_err(|e| format!("{e}"))?;
    match span.fixed_millis() {
        Some(ms) if ms >= 0 => Ok(span),
        Some(_) => Err(format!("{s:?}: the reorder window cannot be negative")),
        None => Err(format!(
            "{s:?}: the reorder window is elapsed time: seconds, minutes or hours (`30s`, `15m`, `1h`)"
        )),
    }
}

pub fn parse_carrier(s: &str) -> Result<CarrierCode, String> {
    s.parse::<CarrierCode>().map_err(|e| format!("{e}"))
}

pub fn parse_instant(s: &str) -> Result<Timestamp, String> {
    s.parse::<Timestamp>()
        .map_err(|e| format!("{e} (an RFC 3339 instant with offset, e.g. 2026-03-09T12:00:00+11:00)"))
}

/// The audit's view of a scenario: carriers with their ranges and caps, agreements, services;
/// with `notes`, also the trainers' notes a replay report shows.
fn load_market(path: &Path, notes: bool) -> Result<Scenario> {
    let text = read_text(path)?;
    let loaded = if notes {
        Scenario::market_and_notes_from_toml(&text, path.parent())
    } else {
        Scenario::market_from_toml(&text, path.parent())
    };
    loaded.map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(|e| format!("{}: {e}", path.display())).collect();
        anyhow!("invalid scenario\n  {}", lines.join("\n  "))
    })
}

/// What a trace is judged by: the market (`--scenario`), the rulebook and the calendar.
pub struct Judge {
    pub market: Option<Scenario>,
    pub book: Rulebook,
    pub calendar: BusinessCalendar,
}

impl Judge {
    /// The scenario's own rulebook and holidays apply, as in `lnpsim run`, so that run and audit
    /// of one story agree; `rulebook` and `holidays` given on the command line override them.
    pub fn load(
        scenario: Option<&Path>,
        rulebook: Option<&Path>,
        holidays: &[HolidaySource],
        notes: bool,
    ) -> Result<Self> {
        let market = scenario.map(|p| load_market(p, notes)).transpose()?;
        let rulebook = rulebook
            .map(Path::to_path_buf)
            .or_else(|| market.as_ref().and_then(|m| m.rulebook.clone()));
        let holidays = if holidays.is_empty() {
            market.as_ref().map(|m| m.holidays.clone()).unwrap_or_default()
        } else {
            holidays.to_vec()
        };
        let book = load_rulebook(rulebook.as_deref())?;
        let calendar = load_calendar(&book, &holidays)?;
        Ok(Self { market, book, calendar })
    }
}

/// A trace to read, and how.
pub struct TraceSource<'a> {
    pub path: &'a Path,
    pub format: Option<TraceFormatArg>,
    /// `--assume-offset sydney`.
    pub assume_sydney: bool,
    /// `--until`: rows after it are not read, and duties due by then are judged.
    pub until: Option<Timestamp>,
    /// `--reorder-window`.
    pub reorder_window: Span,
    /// `--as CODE`: whose own log it is.
    pub judged_as: Option<CarrierCode>,
}

/// Steps the reading thread hands over at a time, at least (the reader rules settle rows
/// [`LOOKAHEAD`] at a time, so a batch is mostly that many, and is made room for that many and
/// this many more, rather than doubled past them).
const BATCH: usize = 1024;
/// Batches read and not yet judged, at most: with batches of `LOOKAHEAD` rows, two keep the
/// judging thread fed, and more only hold memory.
const READ_AHEAD: usize = 2;

/// Reads and judges a trace, streaming; with `keep`, the well-formed rows judged are kept too.
pub fn judge(src: &TraceSource<'_>, judge: &Judge, keep: bool) -> Result<(Report, Vec<TraceRecord>)> {
    let context: Option<Context> = judge.market.as_ref().map(lnp_sim::context::audit_context);
    let format = match src.format {
        Some(TraceFormatArg::Csv) => TraceFormat::Csv,
        Some(TraceFormatArg::Jsonl) => TraceFormat::Jsonl,
        None => TraceFormat::from_path(src.path).ok_or_else(|| {
            anyhow!(
                "{}: cannot tell the trace format from the extension; name it .csv or .jsonl, or pass --trace-format",
                src.path.display()
            )
        })?,
    };
    // The CSV reader reads into a buffer of its own, a quarter of a megabyte at a time: a
    // buffered reader with a smaller buffer passes such reads straight to the file instead of
    // copying every byte once more (a thirtieth of the reading thread's instructions). JSON
    // Lines are read a line at a time out of the buffered reader's own buffer.
    let capacity = match format {
        TraceFormat::Csv => 64 << 10,
        TraceFormat::Jsonl => 1 << 20,
    };
    let input = crate::common::open_input(src.path, capacity)?;
    let reader = TraceReader::new(input, format).map_err(|e| match e {
        TraceError::Header(m) => anyhow!("{}: line 1: bad CSV header: {m}", src.path.display()),
        other => anyhow!("{}: {other}", src.path.display()),
    })?;
    let mut reader = reader.assume_sydney(src.assume_sydney);
    let mut auditor = Auditor::new(&judge.book, &judge.calendar, context.as_ref());
    if let Some(code) = src.judged_as {
        auditor.judge_as(code);
    }
    let mut order = RowOrder::new(src.reorder_window);
    // The file is read, parsed and put in the order the reader rules judge it in on a thread of
    // its own, the audit judges on this one: steps pass between them in batches, a few batches
    // at most in flight, in order. Taken batches go back to the reading thread, which drops
    // their rows and fills them again, rather than each batch's memory being freed on this
    // thread and fresh memory faulted in on that one.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Step>>(READ_AHEAD);
    let (give_back, spare) = std::sync::mpsc::channel::<Vec<Step>>();
    let (rows, kept) = std::thread::scope(|scope| {
        let reading = scope.spawn(move || {
            let mut kept = Vec::new();
            // Rows read, well-formed or not. A trace without any (a failed export) is not a pass.
            let mut rows: u64 = 0;
            let mut progress = Progress::new("audit", "rows");
            let fresh = || {
                spare.try_recv().map_or_else(
                    |_| Vec::with_capacity(LOOKAHEAD + BATCH),
                    |mut b: Vec<Step>| {
                        b.clear();
                        b
                    },
                )
            };
            let mut batch = fresh();
            while let Some(row) = reader.next() {
                rows += 1;
                // The line the row begins on (a row that cannot be read names its own).
                let line = reader.line();
                progress.tick(|| format!("line {line}"));
                match row {
                    Ok(record) => {
                        if src.until.is_some_and(|u| record.time > u) {
                            continue;
                        }
                        if keep {
                            kept.push(record.clone());
                        }
                        order.push(line, record, &mut batch);
                    }
                    Err(e) => {
                        order.push_malformed(e, &mut batch);
                    }
                }
                if batch.len() >= BATCH && tx.send(std::mem::replace(&mut batch, fresh())).is_err() {
                    return (rows, kept);
                }
            }
            order.finish(&mut batch);
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            progress.finish();
            (rows, kept)
        });
        for batch in rx {
            for step in &batch {
                auditor.apply(step);
            }
            let _ = give_back.send(batch);
        }
        reading.join().map_err(|_| anyhow!("the reading thread failed"))
    })?;
    if rows == 0 {
        return Err(anyhow!(
            "{}: no rows: the trace has nothing to judge (an empty or failed export?)",
            src.path.display()
        ));
    }
    if let Some(t) = src.until {
        auditor.advance(t);
    }
    Ok((auditor.finish(), kept))
}

pub fn run(args: &AuditArgs) -> Result<ExitCode> {
    let setup = Judge::load(
        args.scenario.as_deref(),
        args.rulebook.as_deref(),
        &args.holidays,
        false,
    )?;
    let src = TraceSource {
        path: &args.trace,
        format: args.trace_format,
        assume_sydney: args.assume_offset.is_some(),
        until: args.until,
        reorder_window: args.reorder_window,
        judged_as: args.as_carrier,
    };
    let (report, _) = judge(&src, &setup, false)?;
    let text = match args.format {
        ReportFormat::Text => report.to_text(),
        ReportFormat::Json => report.to_json() + "\n",
        ReportFormat::Junit => report.to_junit(),
    };
    if let Some(path) = args.output.as_ref().filter(|p| !crate::common::is_stdio(p)) {
        crate::common::write_file(path, text)?;
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    Ok(ExitCode::from(report.exit_code()))
}
