//! `lnpsim route`: where a call to a number goes, from real-sized files (allocations CSV and a
//! directory of PLNR-SIM/1 registers), and the routing table export switch software imports.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use lnp_model::{CarrierCode, TelephoneNumber, Timestamp};
use lnp_plnr::{FileKind, Header, Layout, PlnrReader};
use lnp_routing::{Allocations, Change, RoutingTable, TableBuilder};

use crate::common::{read_text, Output};

const ROUTE_HELP: &str = "\
The table is built from the allocations (a CSV file `range_start,range_end,donor`) and every
PLNR-SIM/1 file (`*.plnr`, the simulator's own register format, not G602.1's) in the directory:
per donor, its latest full snapshot and the updates after it, in sequence (a gap is an error).
With --at, only files created at or before that instant count. The originating carrier is taken
to have loaded them all: it reaches a ported number directly, any other through its donor.

With --scenario the scenario is played up to the instant (default: its end) and the path is
answered from its routing history: who serves the number, what the caller's own table holds
(its PLNR loads and the ports it took part in), and whose donor transit routing is running.

With --batch, numbers are read from stdin, one a line, and every input line gets exactly one
output line, in order: `NUMBER PATH` for a number; a blank line or a `#` comment is copied as it
is; a line that is not a number, or not UTF-8, gets `TEXT error: line N: why`, and the batch
goes on.

Exit status: 0 ok; 2 bad input: a file or argument is invalid, or with --batch a line was not a
number (every other line is still answered).

Examples (from the repository's root; the second writes the files the others read):
  lnpsim route 0255501234 --from 9003 --at 2026-03-09T12:00:00+11:00 \\
      --scenario scenarios/cat-a-happy-path.toml
  lnpsim run scenarios/cat-a-happy-path.toml --quiet --plnr-dir /tmp/registers
  lnpsim route 0255501234 --from 9003 --plnr /tmp/registers \\
      --allocations /tmp/registers/allocations.csv
  printf '0255501234\\n0370100001\\n' | lnpsim route --batch --from 9003 \\
      --allocations /tmp/registers/allocations.csv --plnr /tmp/registers
  lnpsim route export --allocations /tmp/registers/allocations.csv \\
      --plnr /tmp/registers --format feed > /tmp/routing.feed";

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, after_help = ROUTE_HELP)]
pub struct RouteArgs {
    #[command(subcommand)]
    command: Option<RouteCommand>,
    /// The number to route, in national format (`0255501234`); omit it with --batch.
    #[arg(value_name = "NUMBER", required_unless_present = "batch")]
    number: Option<String>,
    /// The originating carrier's code.
    #[arg(long, value_name = "CODE")]
    from: Option<CarrierCode>,
    /// The moment of the call (RFC 3339 with offset); default: after every file.
    #[arg(long, value_name = "INSTANT")]
    at: Option<String>,
    #[command(flatten)]
    source: Source,
    /// Read numbers from stdin, one a line, and write one output line per input line (exit
    /// status 2 if a line was not a number).
    #[arg(long, conflicts_with = "number")]
    batch: bool,
    /// Answer from a scenario played up to --at, instead of files.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["allocations", "plnr"])]
    scenario: Option<PathBuf>,
    /// How to print one number's path: for people (`text`) or one JSON object (`json`).
    #[arg(long = "format", value_enum, default_value = "text", conflicts_with = "batch")]
    path_format: PathFormat,
}

#[derive(Args)]
struct Source {
    /// Number ranges allocated to donors: CSV `range_start,range_end,donor`.
    #[arg(long, value_name = "FILE")]
    allocations: Option<PathBuf>,
    /// A directory of PLNR-SIM/1 register files (`*.plnr`).
    #[arg(long, value_name = "DIR")]
    plnr: Option<PathBuf>,
}

#[derive(Subcommand)]
enum RouteCommand {
    /// Write the routing table switch software imports: every ported number with its carrier.
    Export(ExportArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// `number;carrier` lines, the shape of `lnpsim plnr convert --to feed`.
    Feed,
    /// CSV with a header: `number,carrier,donor`.
    Csv,
}

#[derive(Args)]
struct ExportArgs {
    #[command(flatten)]
    source: Source,
    /// Only files created at or before this instant (RFC 3339 with offset).
    #[arg(long, value_name = "INSTANT")]
    at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "feed")]
    format: ExportFormat,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PathFormat {
    Text,
    Json,
}

/// One number's path as JSON: the hops, whether the call is delivered, and why each hop.
fn path_json(
    number: TelephoneNumber,
    from: CarrierCode,
    at: Option<Timestamp>,
    path: &lnp_routing::CallPath,
) -> serde_json::Value {
    serde_json::json!({
        "number": number.to_string(),
        "from": from.to_string(),
        "at": at.map(|t| t.to_string()),
        "delivered": path.is_delivered(),
        "path": path.to_string(),
        "hops": path.hops.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "reasons": path.reasons,
    })
}

pub fn run(args: &RouteArgs) -> Result<ExitCode> {
    if let Some(RouteCommand::Export(export)) = &args.command {
        return run_export(export);
    }
    let Some(from) = args.from else {
        bail!("--from CODE is required: the carrier the call starts on");
    };
    let at = parse_at(args.at.as_deref())?;
    if let Some(path) = &args.scenario {
        return run_scenario_route(path, from, at, args);
    }
    if args.batch {
        let table = load(&args.source, at, None)?;
        return run_batch(|n| table.path(from, n).to_string());
    }
    let Some(text) = &args.number else {
        bail!("give a NUMBER, or --batch to read numbers from stdin");
    };
    let number: TelephoneNumber = text
        .parse()
        .with_context(|| format!("{text:?} is not a telephone number"))?;
    let table = load(&args.source, at, Some(number))?;
    let path = table.path(from, number);
    if args.path_format == PathFormat::Json {
        outln!("{}", path_json(number, from, at, &path));
        return Ok(ExitCode::SUCCESS);
    }
    let when = at.map_or_else(String::new, |t| format!(" at {t}"));
    outln!("{number} from {from}{when}: {path}");
    for (hop, why) in path.hops.iter().zip(&path.reasons) {
        outln!("  {hop}: {why}");
    }
    if table.explain().len() > 1 {
        outln!("  records for {number}, in the order loaded:");
        for note in table.explain() {
            outln!("    {note}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_at(at: Option<&str>) -> Result<Option<Timestamp>> {
    at.map(|s| Timestamp::parse_rfc3339(s).with_context(|| format!("--at {s:?}")))
        .transpose()
}

/// Exactly one output line per line of stdin, in order: `NUMBER PATH` (the path from `path`), a
/// blank line or `#` comment copied as it is (trimmed), or `TEXT error: line N: why` for a line
/// that is not a number or not UTF-8; the batch goes on past a bad line, and ends with exit
/// status 2 if there was one.
fn run_batch(mut path: impl FnMut(TelephoneNumber) -> String) -> Result<ExitCode> {
    let mut input = io::stdin().lock();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut raw = Vec::new();
    let mut bad = false;
    for line in 1u64.. {
        raw.clear();
        if input.read_until(b'\n', &mut raw).context("reading stdin")? == 0 {
            break;
        }
        let bytes = raw.strip_suffix(b"\n").unwrap_or(&raw);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text.trim(),
            Err(e) => {
                bad = true;
                let at = e.valid_up_to();
                let shown = String::from_utf8_lossy(bytes);
                writeln!(
                    out,
                    "{} error: line {line}: not UTF-8 (byte {} is 0x{:02x})",
                    printable(shown.trim()),
                    at + 1,
                    bytes.get(at).copied().unwrap_or_default()
                )?;
                continue;
            }
        };
        if text.is_empty() || text.starts_with('#') {
            writeln!(out, "{}", printable(text))?;
            continue;
        }
        match text.parse::<TelephoneNumber>() {
            Ok(n) => writeln!(out, "{n} {}", path(n))?,
            Err(e) => {
                bad = true;
                writeln!(out, "{} error: line {line}: {e}", printable(text))?;
            }
        }
    }
    out.flush()?;
    Ok(if bad { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Input text to echo, its control characters shown as `\u{1b}` rather than sent to the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn run_export(args: &ExportArgs) -> Result<ExitCode> {
    let at = parse_at(args.at.as_deref())?;
    let table = load(&args.source, at, None)?;
    let mut out = Output::create(args.output.as_deref())?;
    match args.format {
        ExportFormat::Feed => {
            for (n, c) in table.iter() {
                writeln!(out, "{n};{c}")?;
            }
        }
        ExportFormat::Csv => {
            writeln!(out, "number,carrier,donor")?;
            for (n, c) in table.iter() {
                let donor = table
                    .allocations()
                    .donor_of(n)
                    .map_or_else(String::new, |d| d.to_string());
                writeln!(out, "{n},{c},{donor}")?;
            }
        }
    }
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// A register file's header and where it is.
struct FileInfo {
    path: PathBuf,
    name: String,
    header: Header,
}

/// Builds the table: allocations, then per donor its latest snapshot created by `at` and the
/// updates after it, in sequence.
fn load(source: &Source, at: Option<Timestamp>, watch: Option<TelephoneNumber>) -> Result<RoutingTable> {
    let Some(alloc_path) = &source.allocations else {
        bail!("--allocations FILE is required: the number ranges allocated to each donor");
    };
    let text = read_text(alloc_path)?;
    let allocations = Allocations::from_csv(&text).map_err(|errs| {
        let lines: Vec<String> = errs
            .iter()
            .map(|e| format!("{}:{}: {}", alloc_path.display(), e.line, e.message))
            .collect();
        anyhow::anyhow!("invalid allocations file\n  {}", lines.join("\n  "))
    })?;
    let mut builder = TableBuilder::new(allocations);
    if let Some(n) = watch {
        builder.watch(n);
    }
    if let Some(dir) = &source.plnr {
        let layout = Layout::builtin();
        for file in plan(dir, &layout, at)? {
            load_file(&mut builder, &file, &layout)?;
        }
    }
    Ok(builder.build())
}

/// The files to load, in order: grouped by donor, each group from its latest snapshot on.
fn plan(dir: &Path, layout: &Layout, at: Option<Timestamp>) -> Result<Vec<FileInfo>> {
    let entries = fs::read_dir(dir).with_context(|| format!("{}: cannot read directory", dir.display()))?;
    let mut by_donor: BTreeMap<CarrierCode, Vec<FileInfo>> = BTreeMap::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("{}: cannot read directory", dir.display()))?
            .path();
        let is_plnr = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("plnr"));
        if !is_plnr || !path.is_file() {
            continue;
        }
        let name = path.display().to_string();
        let file = fs::File::open(&path).with_context(|| format!("{name}: cannot open"))?;
        let reader = PlnrReader::new(BufReader::new(file), &name, layout).map_err(|e| anyhow::anyhow!("{e}"))?;
        let header = reader.header().clone();
        if at.is_some_and(|t| Timestamp::from_sydney_local(header.created_at) > t) {
            continue;
        }
        by_donor
            .entry(header.donor)
            .or_default()
            .push(FileInfo { path, name, header });
    }
    let mut plan = Vec::new();
    for (_, mut files) in by_donor {
        files.sort_by_key(|f| f.header.file_seq);
        let start = files.iter().rposition(|f| f.header.kind == FileKind::Full).unwrap_or(0);
        plan.extend(files.into_iter().skip(start));
    }
    Ok(plan)
}

fn load_file(builder: &mut TableBuilder, file: &FileInfo, layout: &Layout) -> Result<()> {
    let h = &file.header;
    builder
        .begin_file(h.donor, h.file_seq, h.kind)
        .with_context(|| format!("{}: cannot load", file.name))?;
    let f = fs::File::open(&file.path).with_context(|| format!("{}: cannot open", file.name))?;
    let mut reader = PlnrReader::new(BufReader::with_capacity(1 << 20, f), &file.name, layout)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut line = 1u64;
    while let Some(record) = reader.next_brief().map_err(|e| anyhow::anyhow!("{e}"))? {
        line += 1;
        let change = Change::from(record);
        builder
            .apply(&change, || format!("{}:{line}", file.name))
            .with_context(|| format!("{}:{line}", file.name))?;
    }
    Ok(())
}

/// Plays a scenario up to `at` and answers from its routing history.
fn run_scenario_route(path: &Path, from: CarrierCode, at: Option<Timestamp>, args: &RouteArgs) -> Result<ExitCode> {
    let text = read_text(path)?;
    let scenario = lnp_sim::Scenario::from_toml(&text, path.parent()).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(|e| format!("{}: {e}", path.display())).collect();
        anyhow::anyhow!("invalid scenario\n  {}", lines.join("\n  "))
    })?;
    let rulebook = crate::common::load_rulebook(scenario.rulebook.as_deref())?;
    let calendar = crate::common::load_calendar(&rulebook, &scenario.holidays)?;
    let options = lnp_sim::RunOptions {
        stop_at: at,
        ..lnp_sim::RunOptions::default()
    };
    let mut discard: Vec<lnp_model::TraceRecord> = Vec::new();
    let report = lnp_sim::run_scenario(&scenario, &rulebook, &calendar, options, &mut discard)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let at = at.unwrap_or(report.stats.end);
    let routing = report.sim.routing();
    if args.batch {
        return run_batch(|n| routing.path(from, n, at).to_string());
    }
    let Some(text) = &args.number else {
        bail!("give a NUMBER, or --batch to read numbers from stdin");
    };
    let number: TelephoneNumber = text
        .parse()
        .with_context(|| format!("{text:?} is not a telephone number"))?;
    let path = routing.path(from, number, at);
    if args.path_format == PathFormat::Json {
        outln!("{}", path_json(number, from, Some(at), &path));
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{number} from {from} at {at}: {path}");
    for (hop, why) in path.hops.iter().zip(&path.reasons) {
        outln!("  {hop}: {why}");
    }
    Ok(ExitCode::SUCCESS)
}
