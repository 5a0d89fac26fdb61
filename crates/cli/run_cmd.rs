//! `lnpsim run`: play a scenario, print its timeline, check its expectations.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use lnp_audit::xml_escape;
use lnp_audit::Auditor;
use lnp_model::{TraceFormat, TraceRecord, TraceWriter};
use lnp_sim::{RunOptions, RunReport, Scenario, TraceSink};

use crate::common::{load_calendar, load_rulebook, read_text, write_file, OutputFile, Progress};

const EXAMPLES: &str = "\
Examples:
  lnpsim run scenarios/cat-a-happy-path.toml
  lnpsim run scenarios/cat-a-late-answer.toml --trace /tmp/late.csv --junit /tmp/late.xml
  lnpsim run scenarios/bench/market-100k.toml --quiet --trace /tmp/market.jsonl
  lnpsim run scenarios/cat-a-happy-path.toml --format json
  lnpsim run scenarios/cat-a-late-answer.toml --quiet --report /tmp/late.html
  lnpsim run --list scenarios/

Exit status: 0 every expectation holds, 1 one fails (each failure says why), 2 the scenario is invalid
(or --report names a kind of report that is not .html, .mmd or .txt, or a Mermaid report of more than
500 rows).";

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    Text,
    Json,
}

#[derive(Args)]
#[command(after_help = EXAMPLES)]
pub struct RunArgs {
    /// Scenario file (TOML), or with --list a folder of them.
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// List the scenarios in the folder with their descriptions instead of running.
    #[arg(long)]
    list: bool,
    /// Write the trace here (.csv or .jsonl).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write each donor's register files (PLNR-SIM/1) into this folder.
    #[arg(long, value_name = "DIR")]
    plnr_dir: Option<PathBuf>,
    /// Write a `JUnit` report (one test case per expectation).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a replay report of the run, as `lnpsim report` makes it from the trace: the
    /// extension names the kind, .html, .mmd (Mermaid) or .txt. It shows the run's audit (judged
    /// to the run's end) and the scenario's notes.
    #[arg(long, value_name = "OUT")]
    report: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Print the summary only, not the timeline.
    #[arg(long, short)]
    quiet: bool,
    /// What to print: the timeline and summary for people (`text`), or one JSON object with the
    /// run's figures, outcomes, ports, audit report and expectations (`json`, no timeline).
    #[arg(long, value_enum, default_value = "text")]
    format: RunFormat,
    #[arg(long, value_name = "STATE|FILE", help = crate::common::HOLIDAYS_OVER_SCENARIO_HELP, value_parser = crate::common::parse_holidays)]
    holidays: Vec<lnp_sim::HolidaySource>,
    /// Stop after this many events.
    #[arg(long, value_name = "N", default_value_t = 500_000_000)]
    max_events: u64,
}

/// Prints the timeline and writes the trace file as records happen.
struct CliSink {
    timeline: Option<BufWriter<io::Stdout>>,
    trace: Option<TraceWriter<OutputFile>>,
    /// The rows, kept for `--report`.
    records: Option<Vec<TraceRecord>>,
    error: Option<io::Error>,
    progress: Progress,
}

impl CliSink {
    /// Prints, writes and keeps one record.
    fn take(&mut self, r: &TraceRecord) {
        self.progress.tick(|| format!("simulated to {}", r.time));
        if let Some(out) = self.timeline.as_mut() {
            if let Err(e) = writeln!(out, "{}", lnp_report::timeline::line(r)) {
                self.error.get_or_insert(e);
            }
        }
        if let Some(w) = self.trace.as_mut() {
            if let Err(e) = w.write(r) {
                self.error.get_or_insert(e);
            }
        }
        if let Some(rows) = self.records.as_mut() {
            rows.push(r.clone());
        }
    }
}

/// How many records cross from the simulating thread to the writing one at a time.
const BATCH: usize = 4096;

/// Records on their way to the writing thread: `rows[..len]` are this batch's. The rows travel
/// back and forth and are written over in place, so the simulating thread reuses their
/// numbers' and strings' buffers instead of allocating what the other thread frees.
struct Batch {
    rows: Vec<TraceRecord>,
    len: usize,
}

/// `dst` made equal to `src`, keeping `dst`'s buffers where they fit. The patterns name every
/// field (the detail's in its own `clone_from`), so a field added to a record, message or detail
/// fails to compile until it is copied too.
fn copy_into(dst: &mut TraceRecord, src: &TraceRecord) {
    let TraceRecord {
        seq,
        time,
        from,
        to,
        message,
    } = src;
    let lnp_model::Message {
        kind,
        port_ref,
        category,
        numbers,
        code,
        detail,
    } = message;
    dst.seq = *seq;
    dst.time = *time;
    dst.from = *from;
    dst.to = *to;
    let m = &mut dst.message;
    m.kind = *kind;
    m.port_ref = *port_ref;
    m.category = *category;
    m.numbers.clone_from(numbers);
    m.code.clone_from(code);
    // `Detail::clone_from` goes field by field, keeping the text's buffers.
    m.detail.clone_from(detail);
    debug_assert_eq!(dst, src);
}

/// The simulating thread's sink: records gathered into batches for the writing thread.
struct Batches {
    batch: Batch,
    to_writer: std::sync::mpsc::SyncSender<Batch>,
    /// Batches the writer is done with, coming back to be written over.
    spare: std::sync::mpsc::Receiver<Batch>,
}

impl Batches {
    /// One more row of the batch is written; a full batch goes to the writer.
    fn filled_one(&mut self) {
        self.batch.len += 1;
        if self.batch.len >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let next = self.spare.try_recv().unwrap_or_else(|_| Batch {
            rows: Vec::with_capacity(BATCH),
            len: 0,
        });
        let full = std::mem::replace(&mut self.batch, next);
        self.batch.len = 0;
        // The writer only stops early when this thread has gone; nothing is lost either way.
        let _ = self.to_writer.send(full);
    }
}

impl TraceSink for Batches {
    fn record(&mut self, r: &TraceRecord) {
        let b = &mut self.batch;
        match b.rows.get_mut(b.len) {
            Some(row) => copy_into(row, r),
            None => b.rows.push(r.clone()),
        }
        self.filled_one();
    }

    fn record_owned(&mut self, r: TraceRecord) {
        let b = &mut self.batch;
        match b.rows.get_mut(b.len) {
            Some(row) => *row = r,
            None => b.rows.push(r),
        }
        self.filled_one();
    }
}

/// Plays the scenario on this thread while a second one audits the trace and writes it (trace
/// file, timeline, rows for `--report`): the run's report is `lnp_sim::run_scenario`'s exactly,
/// and every output is written in trace order, but the two halves of the work overlap.
fn play(
    scenario: &Scenario,
    rulebook: &lnp_model::Rulebook,
    calendar: &lnp_model::BusinessCalendar,
    options: RunOptions,
    sink: &mut CliSink,
) -> Result<RunReport, lnp_sim::engine::SetupError> {
    let mut sim = lnp_sim::start(scenario, rulebook, calendar, options)?;
    let context = lnp_sim::context::audit_context(scenario);
    let (to_writer, batches) = std::sync::mpsc::sync_channel::<Batch>(4);
    let (give_back, spare) = std::sync::mpsc::channel::<Batch>();
    let auditor = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut auditor = Auditor::new(rulebook, calendar, Some(&context));
            for batch in batches {
                for r in batch.rows.iter().take(batch.len) {
                    auditor.push(r);
                    sink.take(r);
                }
                let _ = give_back.send(batch);
            }
            auditor
        });
        let mut out = Batches {
            batch: Batch {
                rows: Vec::with_capacity(BATCH),
                len: 0,
            },
            to_writer,
            spare,
        };
        sim.run(&mut out);
        out.send();
        drop(out);
        writer.join()
    })
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    // The run's horizon is its end, which may lie after the last row (`until`).
    let report = auditor.finish_at(sim.now());
    Ok(lnp_sim::conclude(scenario, sim, report))
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    if args.list {
        return list(&args.scenario);
    }
    let path = &args.scenario;
    let text = read_text(path)?;
    let base = path.parent().map(Path::to_path_buf);
    let scenario = match Scenario::from_toml(&text, base.as_deref()) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", path.display());
            }
            eprintln!(
                "lnpsim: {}: invalid scenario ({} error{})",
                path.display(),
                errors.len(),
                plural(errors.len())
            );
            return Ok(ExitCode::from(2));
        }
    };
    if args.report.as_deref().is_some_and(crate::common::is_stdio) {
        anyhow::bail!(
            "--report -: standard output carries the run's timeline and summary; name a file ending in .html, .mmd or .txt"
        );
    }
    let report_kind = args
        .report
        .as_deref()
        .map(|p| crate::report_cmd::kind_of(p, None))
        .transpose()?;
    let rulebook = load_rulebook(scenario.rulebook.as_deref())?;
    let holidays = if args.holidays.is_empty() {
        &scenario.holidays
    } else {
        &args.holidays
    };
    let calendar = load_calendar(&rulebook, holidays)?;
    let trace = match &args.trace {
        Some(p) => {
            let format = TraceFormat::from_path(p)
                .with_context(|| format!("{}: the trace file must end in .csv or .jsonl", p.display()))?;
            Some(TraceWriter::new(OutputFile::create(p)?, format))
        }
        None => None,
    };
    let mut sink = CliSink {
        timeline: (!args.quiet && args.format == RunFormat::Text).then(|| BufWriter::new(io::stdout())),
        trace,
        records: report_kind.map(|_| Vec::new()),
        error: None,
        progress: Progress::new("run", "trace rows"),
    };
    let options = RunOptions {
        seed: args.seed,
        max_events: args.max_events,
        // Register files need every record; otherwise a market run keeps the tracked numbers'.
        keep_publications: args.plnr_dir.is_some() || scenario.load.is_none(),
        ..RunOptions::default()
    };
    #[allow(clippy::disallowed_methods, reason = "the CLI reports how fast the run went")]
    let started = std::time::Instant::now(); // allow-clock
    let report = match play(&scenario, &rulebook, &calendar, options, &mut sink) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return Ok(ExitCode::from(2));
        }
    };
    let elapsed = started.elapsed();
    sink.progress.finish();
    if let Some(mut t) = sink.timeline.take() {
        t.flush()?;
    }
    if let Some(e) = sink.error {
        return Err(anyhow::Error::new(e).context("writing output"));
    }
    if let Some(w) = sink.trace.take() {
        w.into_inner()?.commit()?;
    }
    if let Some(dir) = &args.plnr_dir {
        write_plnr(dir, &scenario, &report)?;
    }
    match args.format {
        RunFormat::Text => {
            let summary = summary(&scenario, &report, elapsed);
            out!("{summary}");
        }
        RunFormat::Json => outln!("{}", serde_json::to_string_pretty(&run_json(&scenario, &report))?),
    }
    if let Some(p) = &args.junit {
        write_file(p, junit(&scenario, &report))?;
    }
    if let (Some(out), Some(kind)) = (&args.report, report_kind) {
        let records = sink.records.take().unwrap_or_default();
        let material = crate::report_cmd::Material {
            title: &scenario.name,
            records: &records,
            audit: &report.audit,
            rulebook: &rulebook,
            calendar: &calendar,
            scenario: Some(&scenario),
            horizon: Some(report.stats.end),
        };
        crate::report_cmd::write_report(out, kind, &material)?;
    }
    Ok(if report.all_passed() && !report.stats.stopped_by_event_bound {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The run as one JSON object (`--format json`): deterministic, with no wall-clock figures.
fn run_json(scenario: &Scenario, report: &RunReport) -> serde_json::Value {
    let st = &report.stats;
    let time = |t: Option<lnp_model::Timestamp>| t.map(|t| t.to_string());
    let ports: Vec<serde_json::Value> = report
        .sim
        .port_summaries()
        .iter()
        .map(|(r, t, outcome, stage)| {
            serde_json::json!({
                "ref": r.to_string(),
                "category": t.category.map(|c| c.to_string()),
                "numbers": t.numbers.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "gaining": t.gaining.map(|c| c.to_string()),
                "losing": t.losing.map(|c| c.to_string()),
                "outcome": outcome,
                "stage": stage,
                "submitted": time(t.submitted),
                "confirmed": time(t.confirmed),
                "cutover": time(t.cutover),
                "published": time(t.published),
            })
        })
        .collect();
    let outcomes: serde_json::Map<String, serde_json::Value> = report
        .sim
        .outcome_counts()
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let audit: serde_json::Value = serde_json::from_str(&report.audit.to_json()).unwrap_or(serde_json::Value::Null);
    let expectations: Vec<serde_json::Value> = report
        .expectations
        .iter()
        .map(|e| serde_json::json!({"line": e.line, "what": e.what, "passed": e.passed, "detail": e.detail}))
        .collect();
    let simulator: Vec<serde_json::Value> = report
        .sim
        .findings()
        .iter()
        .map(|f| serde_json::json!({"rule": f.rule.as_str(), "seq": f.seq, "number": f.number.to_string(), "message": f.message}))
        .collect();
    serde_json::json!({
        "scenario": scenario.name,
        "run": {
            "ports": st.ports_submitted,
            "events": st.events,
            "records": st.records,
            "end": st.end.to_string(),
            "unexpected_messages": st.unexpected,
            "load_ports_missing": st.load_ports_missing,
            "stopped_by_event_bound": st.stopped_by_event_bound,
            "stopped_at_end_of_time": st.stopped_at_end_of_time,
        },
        "outcomes": outcomes,
        "ports": ports,
        "audit": audit,
        "simulator_findings": simulator,
        "expectations": expectations,
        "passed": report.all_passed() && !st.stopped_by_event_bound,
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn summary(scenario: &Scenario, report: &RunReport, elapsed: std::time::Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\n== {} ==", scenario.name);
    let ports = report.sim.port_summaries();
    if !ports.is_empty() {
        let _ = writeln!(s, "Ports:");
        for (r, t, outcome, stage) in &ports {
            let cat = t.category.map(|c| c.to_string()).unwrap_or_default();
            // A long Cat C batch shows as its first and last number and a count.
            let numbers = match t.numbers.as_slice() {
                [first, .., last] if t.numbers.len() > 2 => format!("{first}..{last} ({})", t.numbers.len()),
                all => lnp_model::message::numbers_text(all),
            };
            let carriers = format!(
                "{} -> {}",
                t.losing.map(|c| c.to_string()).unwrap_or_default(),
                t.gaining.map(|c| c.to_string()).unwrap_or_default()
            );
            let mut times = String::new();
            for (label, v) in [
                ("submitted", t.submitted),
                ("confirmed", t.confirmed),
                ("cutover", t.cutover),
                ("published", t.published),
            ] {
                if let Some(v) = v {
                    let _ = write!(times, "  {label} {}", v.sydney().format("%d %b %H:%M"));
                }
            }
            let _ = writeln!(
                s,
                "  {r:<10} Cat {cat}  {numbers:<12} {carriers}  {outcome:<9} [{stage}]{times}"
            );
        }
    }
    let st = &report.stats;
    let secs = elapsed.as_secs_f64().max(1e-9);
    let _ = writeln!(
        s,
        "Run: {} ports, {} events, {} trace records; simulated until {}; {:.2}s wall ({:.0} events/s, {:.0} ports/s)",
        st.ports_submitted,
        st.events,
        st.records,
        st.end,
        secs,
        st.events as f64 / secs,
        st.ports_submitted as f64 / secs
    );
    let outcomes = report.sim.outcome_counts();
    if !outcomes.is_empty() {
        let parts: Vec<String> = outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "Outcomes: {}", parts.join(", "));
    }
    if st.stopped_at_end_of_time {
        let _ = writeln!(
            s,
            "STOPPED: the story reached the end of year 9999, the last instant lnpsim handles; later events were not run"
        );
    }
    if st.stopped_by_event_bound {
        let _ = writeln!(
            s,
            "STOPPED: the event bound was reached before the story ended (raise --max-events)"
        );
    }
    let a = &report.audit;
    let failed: Vec<&lnp_audit::Statistic> = a
        .statistics
        .iter()
        .filter(|st| st.status == lnp_audit::StatStatus::Fail)
        .collect();
    if a.findings.is_empty() && failed.is_empty() {
        let _ = writeln!(s, "Audit: no violations");
    } else if a.findings.is_empty() {
        let _ = writeln!(
            s,
            "Audit: no row violations; {} statistic{} failed",
            failed.len(),
            plural(failed.len())
        );
    } else {
        let _ = writeln!(s, "Audit: {} violation{}", a.findings.len(), plural(a.findings.len()));
        for f in a.findings.iter().take(20) {
            let _ = writeln!(s, "  {}: {}", f.rule, f.message);
        }
        if a.findings.len() > 20 {
            let _ = writeln!(
                s,
                "  … and {} more (write the trace and run `lnpsim audit` for all)",
                a.findings.len() - 20
            );
        }
    }
    for stat in &failed {
        let _ = writeln!(s, "  {} (statistic): fail, {}", stat.rule, stat.value);
    }
    if st.unexpected > 0 {
        let _ = writeln!(
            s,
            "Unexpected: {} message{} no state expected (RUST_LOG=debug names each)",
            st.unexpected,
            plural(st.unexpected as usize)
        );
        for (at, u) in report.sim.unexpected().iter().take(5) {
            let port = u.port_ref.map_or_else(|| "-".to_string(), |r| r.to_string());
            let _ = writeln!(
                s,
                "  {at} {} from {} to {} for {port}: {}",
                u.kind, u.from, u.carrier, u.state
            );
        }
    }
    for f in report.sim.findings().iter().take(20) {
        let _ = writeln!(s, "Simulator: {}: {}", f.rule, f.message);
    }
    if !report.expectations.is_empty() {
        let passed = report.expectations.iter().filter(|e| e.passed).count();
        let _ = writeln!(s, "Expectations: {passed} of {} hold", report.expectations.len());
        for e in &report.expectations {
            let mark = if e.passed { "ok  " } else { "FAIL" };
            let _ = writeln!(s, "  {mark} line {}: {}", e.line, e.what);
            if !e.passed {
                let _ = writeln!(s, "       {}", e.detail);
            }
        }
    }
    s
}

fn junit(scenario: &Scenario, report: &RunReport) -> String {
    let failures = report.expectations.iter().filter(|e| !e.passed).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
        xml_escape(&scenario.name),
        report.expectations.len()
    );
    for e in &report.expectations {
        let _ = write!(
            x,
            "  <testcase classname=\"{}\" name=\"line {}: {}\"",
            xml_escape(&scenario.name),
            e.line,
            xml_escape(&e.what)
        );
        if e.passed {
            x.push_str("/>\n");
        } else {
            let _ = writeln!(
                x,
                ">\n    <failure message=\"{}\"/>\n  </testcase>",
                xml_escape(&e.detail)
            );
        }
    }
    x.push_str("</testsuite>\n");
    x
}

fn write_plnr(dir: &Path, scenario: &Scenario, report: &RunReport) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    for (name, bytes) in crate::plnr_out::register_files(report.sim.publications(), report.stats.end)? {
        let p = dir.join(name);
        write_file(&p, bytes)?;
    }
    // The numbering plan beside the registers, so that `lnpsim route --allocations
    // DIR/allocations.csv --plnr DIR` routes from this run's output as it stands.
    let mut plan = String::from("range_start,range_end,donor\n");
    for c in &scenario.carriers {
        for r in &c.ranges {
            let _ = writeln!(plan, "{},{},{}", r.first, r.last, c.code);
        }
    }
    write_file(&dir.join("allocations.csv"), plan)?;
    Ok(())
}

fn is_toml(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "toml")
}

fn list(dir: &Path) -> Result<ExitCode> {
    // The folder's scenarios, and those one folder down (`scenarios/bench/`).
    let mut entries: Vec<PathBuf> = Vec::new();
    let top: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read folder", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    for p in top {
        if p.is_dir() {
            if let Ok(sub) = fs::read_dir(&p) {
                entries.extend(sub.filter_map(|e| e.ok().map(|e| e.path())).filter(|q| is_toml(q)));
            }
        } else if is_toml(&p) {
            entries.push(p);
        }
    }
    entries.sort();
    let mut bad = 0;
    for p in entries {
        let text = read_text(&p)?;
        match Scenario::from_toml(&text, p.parent()) {
            Ok(s) => {
                let file = p.strip_prefix(dir).unwrap_or(&p).to_string_lossy().into_owned();
                outln!(
                    "{file}\n    {}\n    {}\n",
                    s.name,
                    s.description.trim().replace('\n', "\n    ")
                );
            }
            Err(errs) => {
                bad += 1;
                outln!(
                    "{}: invalid ({})\n",
                    p.display(),
                    errs.first().map(ToString::to_string).unwrap_or_default()
                );
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
