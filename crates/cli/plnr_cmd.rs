//! `lnpsim plnr`: validate, convert, apply, diff, summarise and generate register files.
//!
//! PLNR-SIM/1 is the simulator's own fixed-width register format, not G602.1's; `--layout FILE`
//! describes another layout (TOML, see `crates/plnr/layouts/plnr-sim-1.toml`).

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{NaiveDate, NaiveDateTime};
use clap::{Args, Subcommand, ValueEnum};
use lnp_model::CarrierCode;
use lnp_plnr::convert::{self, CsvOut};
use lnp_plnr::gen::{GenError, GenParams, Generator};
use lnp_plnr::{
    Diagnostic, FileKind, Header, Layout, LineEnd, PlnrReader, PlnrWriter, ReadError, Record, Register, Report,
    SequenceCheck, Stats,
};
use serde_json::json;

use crate::common::Output;
use crate::plnr_validate::Source;

const BUF: usize = 1 << 18;

/// Register files in PLNR-SIM/1, the simulator's own format (not G602.1's).
#[derive(Args)]
pub struct PlnrArgs {
    #[command(subcommand)]
    cmd: PlnrCmd,
}

#[derive(Subcommand)]
enum PlnrCmd {
    /// Check files against the layout and report every error.
    Validate(ValidateArgs),
    /// Convert a register to CSV, JSON Lines, PLNR or a routing feed (or CSV to PLNR).
    Convert(ConvertArgs),
    /// Apply update files to a full snapshot and write the next snapshot.
    Apply(ApplyArgs),
    /// Write the update file that turns one full snapshot into another.
    Diff(DiffArgs),
    /// Count a register's records by carrier, action, status and category.
    Stats(StatsArgs),
    /// Write a valid synthetic full snapshot, deterministic from a seed.
    Gen(GenArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Text,
    Json,
}

#[derive(Args)]
struct LayoutArg {
    /// Layout description (TOML); the built-in PLNR-SIM/1 layout otherwise.
    #[arg(long, value_name = "FILE")]
    layout: Option<PathBuf>,
}

#[derive(Args)]
#[command(after_help = "\
Examples (from the repository's root):
  lnpsim plnr validate plnr-samples/valid/9001-000001-full.plnr
  lnpsim plnr validate plnr-samples/valid/9001-000001-full.plnr \\
      plnr-samples/valid/9001-000002-update.plnr    # also checks the sequence runs on
  lnpsim plnr validate --format json --max-errors 1000 \\
      plnr-samples/invalid/bad-date.plnr
  lnpsim plnr validate --layout crates/plnr/layouts/plnr-sim-1.toml \\
      plnr-samples/valid/9001-000001-full.plnr

PLNR-SIM/1 is the simulator's own format, not G602.1's.
Exit status: 0 every file valid, 1 an error found, 2 a file could not be read.")]
struct ValidateArgs {
    /// Files to check; files of one donor must follow in sequence, in the order given.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: OutFormat,
    /// Stop reporting a file's errors after this many (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_errors: usize,
    /// Threads checking records (0: one per core); the output is the same for any number.
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    layout: LayoutArg,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ConvertTo {
    Csv,
    Jsonl,
    Plnr,
    Feed,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ConvertFrom {
    Plnr,
    Csv,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Full,
    Update,
}

#[derive(Args)]
#[command(after_help = "\
Examples (from the repository's root):
  lnpsim plnr convert plnr-samples/valid/9001-000001-full.plnr \\
      --to csv -o /tmp/register.csv
  lnpsim plnr convert plnr-samples/valid/9001-000001-full.plnr --to feed
  lnpsim plnr convert plnr-samples/valid/9001-000001-full.plnr --to jsonl
  lnpsim plnr convert plnr-samples/valid/9001-000001-full.plnr \\
      --layout crates/plnr/layouts/plnr-sim-1.toml --to plnr --out-layout builtin
  lnpsim plnr convert /tmp/register.csv --from csv --to plnr --donor 9001 --seq 42 \\
      --kind update --created-at 2026-03-02T18:00:00

CSV columns: action,number,current,losing,status,effective_at,category,ref (times are Sydney
local, 2026-03-02T09:15:00). The feed lists, per record, the carrier the number routes to: in
a snapshot completed ports (and pending third-party ports, still at their losing carrier); in
an update the completed changes and the cancellations.
With -o the file is written only once the whole register has converted (an existing file is
left as it was otherwise). To standard output a register is converted twice, first to check it,
so that an invalid one prints nothing; read from a pipe, it is converted once, and an error
stops the output part-way (exit status 2).
PLNR-SIM/1 is the simulator's own format, not G602.1's.")]
struct ConvertArgs {
    /// The register (or CSV with --from csv).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[arg(long, value_enum)]
    to: ConvertTo,
    #[arg(long, value_enum, default_value = "plnr")]
    from: ConvertFrom,
    /// Output file (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Layout for --to plnr ("builtin" or a TOML file; default: the input's layout).
    #[arg(long, value_name = "FILE")]
    out_layout: Option<PathBuf>,
    /// With --from csv: the donor carrier code for the header.
    #[arg(long, value_name = "CODE")]
    donor: Option<CarrierCode>,
    /// With --from csv: the file sequence.
    #[arg(long, value_name = "N")]
    seq: Option<u32>,
    /// With --from csv: the file kind.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// With --from csv: created at (Sydney local, 2026-03-02T18:00:00); the file date is its date.
    #[arg(long, value_name = "TIME")]
    created_at: Option<String>,
    /// With --from csv: write CRLF line ends.
    #[arg(long)]
    crlf: bool,
    #[command(flatten)]
    layout: LayoutArg,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  lnpsim plnr apply plnr-samples/valid/9001-000001-full.plnr \\
      plnr-samples/valid/9001-000002-update.plnr -o /tmp/9001-000003-full.plnr

The updates must follow the snapshot in sequence, from the same donor. The new snapshot takes
the last update's date and time, and the next sequence number unless --seq says otherwise.
PLNR-SIM/1 is the simulator's own format, not G602.1's.")]
struct ApplyArgs {
    /// The full snapshot (`F`) to start from.
    #[arg(value_name = "SNAPSHOT")]
    snapshot: PathBuf,
    /// The update files (`U`) to apply, in sequence order, each one more than the last.
    #[arg(required = true, value_name = "UPDATE")]
    updates: Vec<PathBuf>,
    /// Write the new snapshot here (written whole or not at all) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The new snapshot's file sequence.
    #[arg(long, value_name = "N")]
    seq: Option<u32>,
    #[command(flatten)]
    layout: LayoutArg,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  lnpsim plnr diff plnr-samples/valid/9001-000001-full.plnr \\
      plnr-samples/valid/9001-000004-full.plnr -o /tmp/changes.plnr

The update lists NEW's record for each new or changed number and a completed deletion (action D)
for each number gone, in number order. It takes NEW's date and time, and OLD's sequence plus one
unless --seq says otherwise.
PLNR-SIM/1 is the simulator's own format, not G602.1's.")]
struct DiffArgs {
    /// The earlier full snapshot.
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The later full snapshot of the same donor.
    #[arg(value_name = "NEW")]
    new: PathBuf,
    /// Write the update file here (written whole or not at all) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The update's file sequence.
    #[arg(long, value_name = "N")]
    seq: Option<u32>,
    #[command(flatten)]
    layout: LayoutArg,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  lnpsim plnr stats plnr-samples/valid/9001-000001-full.plnr
  lnpsim plnr stats --format json \\
      plnr-samples/valid/9001-000001-full.plnr

PLNR-SIM/1 is the simulator's own format, not G602.1's.")]
struct StatsArgs {
    /// The register file to count (`-`: standard input).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Output format: `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value = "text")]
    format: OutFormat,
    #[command(flatten)]
    layout: LayoutArg,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  lnpsim plnr gen --records 1000 --donor 9001 --seed 7 -o /tmp/sample.plnr
  lnpsim plnr gen --records 100000 --donor 9001 --seed 1 -o /tmp/big.plnr    # 6.5 MB

Up to 80,000 records use only ACMA's fictitious ranges ((0x) 5550 xxxx and 7010 xxxx); more
spread over every geographic number. Carriers are the fictional codes 9001 to 9012. The same
arguments always give the same bytes.
PLNR-SIM/1 is the simulator's own format, not G602.1's.")]
struct GenArgs {
    /// How many detail records to generate.
    #[arg(long, value_name = "N")]
    records: u64,
    /// The donor whose register it is (4 digits).
    #[arg(long, value_name = "CODE")]
    donor: CarrierCode,
    /// The seed of the generator: the same seed gives the same file.
    #[arg(long, value_name = "S")]
    seed: u64,
    /// The file date (created at 01:30 that day, Sydney time).
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2026-03-02")]
    date: NaiveDate,
    /// The file's sequence number.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seq: u32,
    /// Write CRLF line ends.
    #[arg(long)]
    crlf: bool,
    /// Write the file here (written whole or not at all) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    layout: LayoutArg,
}

pub fn run(args: &PlnrArgs) -> Result<ExitCode> {
    match &args.cmd {
        PlnrCmd::Validate(a) => run_validate(a),
        PlnrCmd::Convert(a) => run_convert(a),
        PlnrCmd::Apply(a) => run_apply(a),
        PlnrCmd::Diff(a) => run_diff(a),
        PlnrCmd::Stats(a) => run_stats(a),
        PlnrCmd::Gen(a) => run_gen(a),
    }
}

fn load_layout(path: Option<&Path>) -> Result<Layout> {
    match path {
        None => Ok(Layout::builtin()),
        Some(p) if p.as_os_str() == "builtin" => Ok(Layout::builtin()),
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
            Layout::from_toml(&text).map_err(|e| anyhow!("{}: {e}", p.display()))
        }
    }
}

fn open(path: &Path) -> Result<Box<dyn std::io::BufRead>> {
    Ok(crate::common::open_input(path, BUF)?)
}

/// An input read in large chunks of its own, unbuffered.
enum Raw {
    File(std::fs::File),
    Stream(Box<dyn io::Read>),
}

/// A file (`-`: standard input) to validate: a regular file is read at offsets, in parallel;
/// anything else (a pipe, a device) in order.
fn open_raw(path: &Path) -> Result<Raw> {
    if crate::common::is_stdio(path) {
        return Ok(Raw::Stream(Box::new(io::stdin())));
    }
    let f = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    if f.metadata().is_ok_and(|m| m.is_file()) {
        Ok(Raw::File(f))
    } else {
        Ok(Raw::Stream(Box::new(f)))
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// A strict reader, its errors explained.
fn reader(path: &Path, layout: &Layout) -> Result<PlnrReader<Box<dyn std::io::BufRead>>> {
    PlnrReader::new(open(path)?, &display(path), layout).map_err(|e| read_error(path, e))
}

fn read_error(path: &Path, e: ReadError) -> anyhow::Error {
    match e {
        ReadError::Invalid(d) => anyhow!(
            "{d}\n{} is not a valid register; `lnpsim plnr validate` lists every error",
            path.display()
        ),
        ReadError::Io(e) => anyhow!("{}: cannot read: {e}", path.display()),
        ReadError::Layout(e) => anyhow!("{e}"),
    }
}

fn read_all(path: &Path, layout: &Layout) -> Result<(Header, Vec<Record>, LineEnd, bool)> {
    let mut r = reader(path, layout)?;
    let mut records = Vec::new();
    while let Some(rec) = r.next_record().map_err(|e| read_error(path, e))? {
        records.push(rec);
    }
    Ok((r.header().clone(), records, r.line_end(), r.final_line_end()))
}

fn header_json(h: &Header) -> serde_json::Value {
    let mut v = convert::header_json(h);
    if let Some(o) = v.as_object_mut() {
        o.remove("record");
    }
    v
}

fn diag_json(d: &Diagnostic) -> serde_json::Value {
    let (field, cols) = match &d.subject {
        lnp_plnr::Subject::Field { name, first, last } => (Some(name.clone()), Some([*first, *last])),
        _ => (None, None),
    };
    json!({
        "file": d.file,
        "line": d.line,
        "kind": d.kind.id(),
        "subject": d.subject.to_string(),
        "field": field,
        "cols": cols,
        "found": d.found,
        "expected": d.expected,
        "message": d.to_string(),
    })
}

fn kind_name(k: FileKind) -> &'static str {
    match k {
        FileKind::Full => "full snapshot",
        FileKind::Update => "update",
    }
}

fn run_validate(a: &ValidateArgs) -> Result<ExitCode> {
    let layout = load_layout(a.layout.layout.as_deref())?;
    let mut seq = SequenceCheck::new();
    let mut unreadable = false;
    let mut invalid = false;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let json = matches!(a.format, OutFormat::Json);
    let threads = crate::plnr_validate::scan_threads(a.threads);
    // Errors are written as they are found, never held: memory stays bounded however many a
    // file has (`--max-errors 0`). The JSON document is written the same way, piece by piece.
    if json {
        out.write_all(b"{\"files\": [")?;
    }
    for (i, path) in a.files.iter().enumerate() {
        let name = display(path);
        if json {
            if i > 0 {
                out.write_all(b",")?;
            }
            write!(out, "\n  {{\"file\": {}, \"errors\": [", serde_json::to_string(&name)?)?;
        }
        let mut first = true;
        let mut write_error: Option<io::Error> = None;
        let result = open_raw(path).and_then(|mut src| {
            let source = match &mut src {
                Raw::File(f) => Source::File(f),
                Raw::Stream(s) => Source::Stream(&mut **s),
            };
            crate::plnr_validate::validate_source(
                source,
                &name,
                &layout,
                a.max_errors,
                threads,
                &mut |h| seq.check(&name, h, &layout),
                &mut |d| {
                    let r = if json {
                        let sep = if first { "" } else { "," };
                        first = false;
                        write!(out, "{sep}\n    {}", diag_json(&d))
                    } else {
                        writeln!(out, "{d}")
                    };
                    if let Err(e) = r {
                        write_error.get_or_insert(e);
                    }
                },
            )
            .map_err(|e| match e {
                ReadError::Io(e) => anyhow!("{name}: cannot read: {e}"),
                other => anyhow!("{other}"),
            })
        });
        if let Some(e) = write_error {
            return Err(e.into());
        }
        let report: Report = match result {
            Ok(r) => r,
            Err(e) => {
                unreadable = true;
                if json {
                    write!(out, "], \"error\": {}}}", serde_json::to_string(&format!("{e:#}"))?)?;
                } else {
                    out.flush()?;
                    eprintln!("lnpsim: error: {e:#}");
                }
                continue;
            }
        };
        invalid |= !report.is_valid();
        if json {
            let rest = json!({
                "valid": report.is_valid(),
                "header": report.header.as_ref().map(header_json),
                "detail_count": report.detail_count,
                "line_end": report.line_end.to_string(),
                "truncated": report.truncated,
            });
            let rest = serde_json::to_string(&rest)?;
            // The object's other keys follow its errors.
            write!(
                out,
                "{}], {}",
                if first { "" } else { "\n  " },
                rest.trim_start_matches('{')
            )?;
        } else {
            writeln!(out, "{}", summary(&name, &report, a.max_errors))?;
        }
    }
    if json {
        writeln!(out, "\n], \"valid\": {}}}", !invalid && !unreadable)?;
    }
    out.flush()?;
    Ok(if unreadable {
        ExitCode::from(2)
    } else if invalid {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn summary(name: &str, r: &Report, max_errors: usize) -> String {
    if r.is_valid() {
        let what = r.header.as_ref().map_or_else(String::new, |h| {
            format!("{}, donor {}, sequence {}, ", kind_name(h.kind), h.donor, h.file_seq)
        });
        let n = r.detail_count;
        return format!(
            "{name}: valid ({what}{n} detail record{})",
            if n == 1 { "" } else { "s" }
        );
    }
    let n = r.error_count;
    let more = if r.truncated {
        format!("; stopped at --max-errors {max_errors}")
    } else {
        String::new()
    };
    format!("{name}: invalid ({n} error{}{more})", if n == 1 { "" } else { "s" })
}

fn run_convert(a: &ConvertArgs) -> Result<ExitCode> {
    let layout = load_layout(a.layout.layout.as_deref())?;
    let out_layout = match &a.out_layout {
        Some(p) => load_layout(Some(p))?,
        None => layout.clone(),
    };
    // Standard output cannot be taken back: a file that can be read twice is converted into
    // nothing first, so that an error shows before anything is printed.
    if a.output.is_none() && std::fs::metadata(&a.file).is_ok_and(|m| m.is_file()) {
        convert_into(a, &layout, &out_layout, &mut io::sink())?;
    }
    let mut out = Output::create(a.output.as_deref())?;
    convert_into(a, &layout, &out_layout, &mut out)?;
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// One conversion pass into `out`.
fn convert_into(a: &ConvertArgs, layout: &Layout, out_layout: &Layout, mut out: &mut dyn Write) -> Result<()> {
    if a.from == ConvertFrom::Csv {
        return convert_csv(a, out_layout, out);
    }
    let mut r = reader(&a.file, layout)?;
    let header = r.header().clone();
    let fail = |e: ReadError| read_error(&a.file, e);
    match a.to {
        ConvertTo::Csv => {
            let mut csv = CsvOut::new(&mut out)?;
            while let Some(rec) = r.next_record().map_err(fail)? {
                csv.write(&rec)?;
            }
            csv.finish()?;
        }
        ConvertTo::Jsonl => {
            writeln!(out, "{}", convert::header_json(&header))?;
            while let Some(rec) = r.next_record().map_err(fail)? {
                writeln!(out, "{}", convert::record_json(&rec))?;
            }
            if let Some(t) = r.trailer() {
                writeln!(out, "{}", convert::trailer_json(&t))?;
            }
        }
        ConvertTo::Feed => {
            while let Some(rec) = r.next_record().map_err(fail)? {
                if let Some(c) = convert::feed_carrier(header.kind, header.donor, &rec) {
                    writeln!(out, "{};{c}", rec.number)?;
                }
            }
        }
        ConvertTo::Plnr => {
            let mut w = PlnrWriter::new(&mut out, out_layout, &header, r.line_end())?;
            while let Some(rec) = r.next_record().map_err(fail)? {
                w.write_record(&rec)?;
            }
            w.set_final_line_end(r.final_line_end());
            w.finish()?;
        }
    }
    Ok(())
}

fn convert_csv(a: &ConvertArgs, out_layout: &Layout, out: &mut dyn Write) -> Result<()> {
    if a.to != ConvertTo::Plnr {
        bail!("--from csv converts to plnr only");
    }
    let (Some(donor), Some(file_seq), Some(kind), Some(created)) = (a.donor, a.seq, a.kind, &a.created_at) else {
        bail!("--from csv needs --donor, --seq, --kind and --created-at for the header");
    };
    let created_at = NaiveDateTime::parse_from_str(created, "%Y-%m-%dT%H:%M:%S")
        .with_context(|| format!("--created-at {created:?}: expected 2026-03-02T18:00:00"))?;
    let header = Header {
        donor,
        file_date: created_at.date(),
        file_seq,
        created_at,
        kind: match kind {
            KindArg::Full => FileKind::Full,
            KindArg::Update => FileKind::Update,
        },
    };
    let src = open(&a.file)?;
    let line_end = if a.crlf { LineEnd::CrLf } else { LineEnd::Lf };
    let mut w = PlnrWriter::new(out, out_layout, &header, line_end)?;
    for rec in convert::read_csv(src) {
        let rec = rec.map_err(|e| anyhow!("{}: {e}", a.file.display()))?;
        w.write_record(&rec)?;
    }
    w.finish()?;
    Ok(())
}

fn run_apply(a: &ApplyArgs) -> Result<ExitCode> {
    let layout = load_layout(a.layout.layout.as_deref())?;
    let (snap, records, line_end, _) = read_all(&a.snapshot, &layout)?;
    if snap.kind != FileKind::Full {
        bail!(
            "{}: is an update; apply starts from a full snapshot",
            a.snapshot.display()
        );
    }
    let mut seq = SequenceCheck::new();
    seq.check(&display(&a.snapshot), &snap, &layout);
    let mut reg = Register::from_snapshot(&snap, records);
    let mut last = snap.clone();
    for path in &a.updates {
        let (h, updates, _, _) = read_all(path, &layout)?;
        if h.kind != FileKind::Update {
            bail!("{}: is a full snapshot, not an update", path.display());
        }
        if h.donor != snap.donor {
            bail!(
                "{}: donor {} is not the snapshot's donor {}",
                path.display(),
                h.donor,
                snap.donor
            );
        }
        if let Some(d) = seq.check(&display(path), &h, &layout) {
            bail!("{d}");
        }
        reg.apply_file(&h, &updates);
        last = h;
    }
    let header = Header {
        donor: snap.donor,
        file_date: last.file_date,
        file_seq: a.seq.unwrap_or(last.file_seq + 1),
        created_at: last.created_at,
        kind: FileKind::Full,
    };
    let mut out = Output::create(a.output.as_deref())?;
    let mut w = PlnrWriter::new(&mut out, &layout, &header, line_end)?;
    for r in reg.records() {
        w.write_record(r)?;
    }
    w.finish()?;
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

fn run_diff(a: &DiffArgs) -> Result<ExitCode> {
    let layout = load_layout(a.layout.layout.as_deref())?;
    let (old_h, old_r, line_end, _) = read_all(&a.old, &layout)?;
    let (new_h, new_r, _, _) = read_all(&a.new, &layout)?;
    for (p, h) in [(&a.old, &old_h), (&a.new, &new_h)] {
        if h.kind != FileKind::Full {
            bail!("{}: is an update; diff compares two full snapshots", p.display());
        }
    }
    if old_h.donor != new_h.donor {
        bail!(
            "the snapshots are of different donors ({} and {})",
            old_h.donor,
            new_h.donor
        );
    }
    let old = Register::from_snapshot(&old_h, old_r);
    let new = Register::from_snapshot(&new_h, new_r);
    let header = Header {
        donor: new_h.donor,
        file_date: new_h.file_date,
        file_seq: a.seq.unwrap_or(old_h.file_seq + 1),
        created_at: new_h.created_at,
        kind: FileKind::Update,
    };
    let mut out = Output::create(a.output.as_deref())?;
    let mut w = PlnrWriter::new(&mut out, &layout, &header, line_end)?;
    for r in Register::diff(&old, &new) {
        w.write_record(&r)?;
    }
    w.finish()?;
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

fn run_stats(a: &StatsArgs) -> Result<ExitCode> {
    let layout = load_layout(a.layout.layout.as_deref())?;
    let mut r = reader(&a.file, &layout)?;
    let mut stats = Stats::default();
    while let Some(rec) = r.next_record().map_err(|e| read_error(&a.file, e))? {
        stats.add(&rec);
    }
    let h = r.header();
    let mut out = io::stdout().lock();
    match a.format {
        OutFormat::Text => {
            writeln!(
                out,
                "{}: {}, donor {}, sequence {}, {} created {}",
                a.file.display(),
                kind_name(h.kind),
                h.donor,
                h.file_seq,
                h.file_date.format("%Y-%m-%d"),
                h.created_at.format("%Y-%m-%d %H:%M:%S")
            )?;
            writeln!(out, "records: {}", stats.records)?;
            let section = |out: &mut dyn Write, title: &str, rows: Vec<(String, u64)>| -> io::Result<()> {
                writeln!(out, "by {title}:")?;
                for (k, v) in rows {
                    writeln!(out, "  {k:<6} {v}")?;
                }
                Ok(())
            };
            section(&mut out, "current carrier", rows(&stats.by_carrier))?;
            section(&mut out, "action", rows(&stats.by_action))?;
            section(&mut out, "status", rows(&stats.by_status))?;
            section(&mut out, "category", rows(&stats.by_category))?;
        }
        OutFormat::Json => {
            let to_json = |rows: Vec<(String, u64)>| {
                rows.into_iter()
                    .map(|(k, v)| (k, json!(v)))
                    .collect::<serde_json::Map<String, serde_json::Value>>()
            };
            let doc = json!({
                "file": display(&a.file),
                "header": header_json(h),
                "records": stats.records,
                "by_carrier": to_json(rows(&stats.by_carrier)),
                "by_action": to_json(rows(&stats.by_action)),
                "by_status": to_json(rows(&stats.by_status)),
                "by_category": to_json(rows(&stats.by_category)),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn rows<K: std::fmt::Display>(m: &std::collections::BTreeMap<K, u64>) -> Vec<(String, u64)> {
    m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn run_gen(a: &GenArgs) -> Result<ExitCode> {
    let layout = load_layout(a.layout.layout.as_deref())?;
    let params = GenParams {
        records: a.records,
        donor: a.donor,
        seed: a.seed,
        file_date: a.date,
        file_seq: a.seq,
    };
    let header = params.header();
    // Checked before the header is written, so that a bad argument prints nothing.
    let gen = Generator::new(params).map_err(|e| match e {
        GenError::TooManyRecords { .. } => anyhow!("--records {}: {e}", a.records),
        GenError::DateOutOfRange { .. } => anyhow!("--date {}: {e}", a.date),
    })?;
    let mut out = Output::create(a.output.as_deref())?;
    let line_end = if a.crlf { LineEnd::CrLf } else { LineEnd::Lf };
    let mut w = PlnrWriter::new(&mut out, &layout, &header, line_end)?;
    for r in gen {
        w.write_record(&r)?;
    }
    w.finish()?;
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}
