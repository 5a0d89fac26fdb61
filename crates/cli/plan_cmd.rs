//! `lnpsim plan`: every deadline of one port before it starts; `plan windows`, the legal cutover
//! windows of each day; `plan migration`, a large customer's numbers in Cat C batches.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use lnp_model::time::parse_date;
use lnp_model::{CarrierCode, Category, Duties, NumberRange, Span, TelephoneNumber, Timestamp};
use lnp_plan::migration::{migration, MigrationRequest};
use lnp_plan::{ics, windows, Parties, PlanError, PlanRequest};

use crate::common::{load_calendar, load_rulebook, read_text, Output};

#[derive(Clone, Copy, ValueEnum)]
pub enum CategoryArg {
    #[value(name = "A", alias = "a")]
    A,
    #[value(name = "C", alias = "c")]
    C,
    #[value(name = "D", alias = "d")]
    D,
}

impl CategoryArg {
    fn category(self) -> Category {
        match self {
            Self::A => Category::A,
            Self::C => Category::C,
            Self::D => Category::D,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Ics,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MigrationFormat {
    Text,
    Json,
    Csv,
    Ics,
}

pub(crate) fn parse_instant(s: &str) -> Result<Timestamp, String> {
    s.parse::<Timestamp>()
        .map_err(|e| format!("{e} (an RFC 3339 instant with offset, e.g. 2026-03-02T09:00:00+11:00)"))
}

pub(crate) fn parse_code(s: &str) -> Result<CarrierCode, String> {
    s.parse::<CarrierCode>().map_err(|e| e.to_string())
}

fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    parse_date(s).map_err(|e| e.to_string())
}

fn parse_span(s: &str) -> Result<Span, String> {
    s.parse::<Span>().map_err(|e| e.to_string())
}

/// The rulebook and calendar options every plan command takes.
#[derive(Args)]
pub struct BookOpts {
    /// Rulebook overrides (TOML); the built-in defaults otherwise.
    #[arg(long, value_name = "FILE")]
    rulebook: Option<PathBuf>,
    #[arg(long, value_name = "STATE|FILE", help = crate::common::HOLIDAYS_HELP, value_parser = crate::common::parse_holidays)]
    holidays: Vec<lnp_sim::HolidaySource>,
}

const PLAN_HELP: &str = "\
Examples (from the repository's root):
  lnpsim plan --category A --submit 2026-03-02T09:00:00+11:00
  lnpsim plan --category A --submit 2026-03-02T09:00:00+11:00 \\
      --cutover 2026-03-10T10:00:00+11:00 --gaining 9003 --losing 9002 \\
      --donor 9001 --format json
  lnpsim plan --category C --pnv --submit 2026-12-21T10:00:00+11:00 \\
      --format ics -o /tmp/port.ics
  lnpsim plan --category A --submit 2026-04-02T16:00:00+11:00 \\
      --holidays examples/holidays/nsw-2026-2027.csv
  lnpsim plan windows --from 2026-12-21 --to 2027-01-08
  lnpsim plan migration --numbers examples/migration/harbour-numbers.txt \\
      --batch 100 --start 2026-03-02 --daily-cap 2 \\
      --scenario-out /tmp/rehearsal.toml

Every deadline comes from the rulebook and calendar the simulator and audit
use. Another carrier's duty is due at the latest instant it may legally be
done; the gaining carrier's own at the latest instant that holds however early
the others act (docs/plan-and-track.md).

Exit status: 0 a plan, 1 no legal cutover (the reason is on stderr), 2 bad
input or usage.";

const WINDOWS_HELP: &str = "\
Examples (from the repository's root):
  lnpsim plan windows --from 2026-03-30 --to 2026-04-10
  lnpsim plan windows --from 2026-12-21 --to 2027-01-08 --format json
  lnpsim plan windows --from 2026-10-01 --to 2026-10-07 \\
      --holidays examples/holidays/nsw-2026-2027.csv

Each window runs from the first to the last instant at which an ECA may be
sent (or a Cat C cutover agreed) so that it, its answer and the cutover fall
inside Standard Hours.

Exit status: 0 at least one window, 1 no legal cutover on any day of the
range, 2 bad input.";

const MIGRATION_HELP: &str = "\
Examples (from the repository's root):
  lnpsim plan migration --numbers examples/migration/harbour-numbers.txt \\
      --batch 100 --start 2026-03-02 --daily-cap 2
  lnpsim plan migration --numbers examples/migration/harbour-numbers.txt \\
      --batch 50 --start 2026-12-14 --daily-cap 3 --format csv \\
      -o /tmp/migration.csv
  lnpsim plan migration --numbers examples/migration/harbour-numbers.txt \\
      --batch 100 --start 2026-03-02 --daily-cap 2 \\
      --scenario-out /tmp/rehearsal.toml
  lnpsim run /tmp/rehearsal.toml --quiet

The numbers file has one number or range (0255501200-0255501299) a line;
# starts a comment. Every batch's CNA goes at the start of Standard Hours on
--start (or the next business day); --daily-cap counts batches (DAILY-CAP
counts CCAs per cutover date).

Exit status: 0 a plan, 1 no legal cutover, 2 bad input.";

#[derive(Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = PLAN_HELP
)]
pub struct PlanArgs {
    #[command(subcommand)]
    sub: Option<PlanSub>,
    /// The port's category: A (simple), C (complex), D (a ULL diversion, Cat A's messages).
    #[arg(long, value_enum, required = true)]
    category: Option<CategoryArg>,
    /// The instant of the first request (RFC 3339): the SNA for Cat A and D, the CNA for Cat C
    /// (the PNV with --pnv).
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant, required = true)]
    submit: Option<Timestamp>,
    /// The cutover wanted (Cat A, D: when the ECA goes; Cat C: the agreed time). Default: the
    /// earliest legal cutover.
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    cutover: Option<Timestamp>,
    /// How many re-targets this cutover takes; more than the rulebook allows has no legal cutover.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retargets: u32,
    /// Cat C: a PNV first, at --submit, and the CNA after its answer.
    #[arg(long)]
    pnv: bool,
    /// The gaining carrier's code (with --losing).
    #[arg(long, value_name = "CODE", value_parser = parse_code, requires = "losing")]
    gaining: Option<CarrierCode>,
    /// The losing carrier's code (with --gaining).
    #[arg(long, value_name = "CODE", value_parser = parse_code, requires = "gaining")]
    losing: Option<CarrierCode>,
    /// The numbers' donor, when it is not the losing carrier: a third-party port, with the
    /// `DONOR_NOTIFY` steps.
    #[arg(long, value_name = "CODE", value_parser = parse_code, requires = "losing")]
    donor: Option<CarrierCode>,
    /// The pair's bilateral agreement allows after-hours cutovers (CUTOVER-HOURS).
    #[arg(long)]
    after_hours: bool,
    #[command(flatten)]
    book: BookOpts,
    /// Output format: text, json (one object), ics (iCalendar, one event per step).
    #[arg(long, value_enum, default_value = "text")]
    format: PlanFormat,
    /// Write here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// With --format ics: how long before each deadline its alarm rings (15m, 1h, 1d).
    #[arg(long, value_name = "DURATION", value_parser = parse_span, default_value = "1h")]
    alarm: Span,
}

#[derive(Subcommand)]
pub enum PlanSub {
    /// The legal cutover windows of each day: Standard Hours on business days, less the time an
    /// ECA and its answer need (every day whole with --after-hours).
    Windows(WindowsArgs),
    /// A large customer's numbers in Cat C batches, scheduled over business days inside
    /// Standard Hours and the losing carrier's daily cap.
    Migration(MigrationArgs),
}

#[derive(Args)]
#[command(after_help = WINDOWS_HELP)]
pub struct WindowsArgs {
    /// The first date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    from: chrono::NaiveDate,
    /// The last date (YYYY-MM-DD), inclusive.
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    to: chrono::NaiveDate,
    /// The pair's agreement allows after-hours cutovers: every instant of every day.
    #[arg(long)]
    after_hours: bool,
    #[command(flatten)]
    book: BookOpts,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: ListFormat,
}

#[derive(Args)]
#[command(after_help = MIGRATION_HELP)]
pub struct MigrationArgs {
    /// The customer's numbers: one number or range a line, in the order they should move.
    #[arg(long, value_name = "FILE")]
    numbers: PathBuf,
    /// At most this many numbers per batch (one Cat C port each).
    #[arg(long, value_name = "N", default_value_t = 100)]
    batch: usize,
    /// The date the CNAs go (YYYY-MM-DD); a non-business day means the next business day.
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    start: chrono::NaiveDate,
    /// The losing carrier's daily cap: batches it cuts over per Sydney date.
    #[arg(long, value_name = "N")]
    daily_cap: u32,
    /// Between two cutovers on one day (elapsed: 30m, 1h; 0m puts a day's batches together).
    #[arg(long, value_name = "DURATION", value_parser = parse_span, default_value = "30m")]
    interval: Span,
    /// The gaining carrier's code.
    #[arg(long, value_name = "CODE", value_parser = parse_code, default_value = "9002")]
    gaining: CarrierCode,
    /// The losing carrier's code.
    #[arg(long, value_name = "CODE", value_parser = parse_code, default_value = "9001")]
    losing: CarrierCode,
    /// The numbers' donor, when it is not the losing carrier.
    #[arg(long, value_name = "CODE", value_parser = parse_code)]
    donor: Option<CarrierCode>,
    /// The batches' refs are PREFIX-0001, PREFIX-0002, …
    #[arg(long, value_name = "PREFIX", default_value = "MIG")]
    ref_prefix: String,
    /// The customer's name, as the Customer Authority has it.
    #[arg(long, value_name = "NAME", default_value = "")]
    customer: String,
    /// The customer's service account number at the losing carrier.
    #[arg(long, value_name = "ACCOUNT", default_value = "")]
    account: String,
    /// The Customer Authority's date (default: --start).
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    ca_date: Option<chrono::NaiveDate>,
    #[command(flatten)]
    book: BookOpts,
    /// Output format (ics: one event per step of every batch).
    #[arg(long, value_enum, default_value = "text")]
    format: MigrationFormat,
    /// Write here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the plan as a scenario here, to rehearse it with `lnpsim run`.
    #[arg(long, value_name = "FILE")]
    scenario_out: Option<PathBuf>,
    /// With --format ics: how long before each deadline its alarm rings.
    #[arg(long, value_name = "DURATION", value_parser = parse_span, default_value = "1h")]
    alarm: Span,
}

fn write_out(path: Option<&Path>, text: &str) -> Result<()> {
    let mut out = Output::create(path)?;
    out.write_all(text.as_bytes())?;
    out.finish()
}

pub fn run(args: &PlanArgs) -> Result<ExitCode> {
    match &args.sub {
        Some(PlanSub::Windows(w)) => return run_windows(w),
        Some(PlanSub::Migration(m)) => return run_migration(m),
        None => {}
    }
    let (Some(category), Some(submit)) = (args.category, args.submit) else {
        bail!("--category and --submit are required (see lnpsim plan --help)");
    };
    let book = load_rulebook(args.book.rulebook.as_deref())?;
    let cal = load_calendar(&book, &args.book.holidays)?;
    let duties = Duties::new(&book, &cal);
    let mut req = PlanRequest::new(category.category(), submit);
    req.cutover = args.cutover;
    req.retargets = args.retargets;
    req.pnv = args.pnv;
    req.after_hours = args.after_hours;
    req.parties = match (args.gaining, args.losing) {
        (Some(gaining), Some(losing)) => Some(Parties {
            gaining,
            losing,
            donor: args.donor,
        }),
        _ => None,
    };
    let plan = match lnp_plan::plan::plan(&duties, &req) {
        Ok(p) => p,
        Err(PlanError::NoLegalCutover(reason)) => {
            eprintln!("lnpsim: no legal cutover: {reason}");
            return Ok(ExitCode::from(1));
        }
        Err(e @ PlanError::BadRequest(_)) => return Err(anyhow!(e)),
    };
    let text = match args.format {
        PlanFormat::Text => plan.to_text(),
        PlanFormat::Json => plan.to_json() + "\n",
        PlanFormat::Ics => ics::calendar(&[("", &plan)], args.alarm),
    };
    write_out(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn run_windows(args: &WindowsArgs) -> Result<ExitCode> {
    if args.to < args.from {
        bail!("--to {} is before --from {}", args.to, args.from);
    }
    if (args.to - args.from).num_days() >= windows::MAX_DAYS {
        bail!(
            "--from {} --to {}: at most {} days in one listing",
            args.from,
            args.to,
            windows::MAX_DAYS
        );
    }
    let book = load_rulebook(args.book.rulebook.as_deref())?;
    let cal = load_calendar(&book, &args.book.holidays)?;
    let duties = Duties::new(&book, &cal);
    let days = windows::windows(&duties, args.from, args.to, args.after_hours);
    match args.format {
        ListFormat::Text => out!("{}", windows::to_text(&days)),
        ListFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "after_hours": args.after_hours,
                "windows": days,
            }))?
        ),
    }
    if days.iter().any(|d| d.from.is_some()) {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("lnpsim: no legal cutover on any day from {} to {}", args.from, args.to);
        Ok(ExitCode::from(1))
    }
}

/// The most numbers one migration plans.
const MAX_NUMBERS: usize = 1_000_000;

/// Reads a numbers file: one number or range a line (also the first field of a CSV line), `#`
/// comments, blank lines and a `number` header ignored; every bad line is reported.
fn read_numbers(path: &Path) -> Result<Vec<TelephoneNumber>> {
    let text = read_text(path)?;
    let mut numbers = Vec::new();
    let mut seen: BTreeMap<TelephoneNumber, usize> = BTreeMap::new();
    let mut errors: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.split('#').next().unwrap_or("").trim();
        let field = l.split(',').next().unwrap_or("").trim().trim_matches('"');
        if field.is_empty() || (numbers.is_empty() && field.eq_ignore_ascii_case("number")) {
            continue;
        }
        let range: Result<NumberRange, String> = match field.split_once('-').filter(|(a, _)| a.len() >= 10) {
            Some((a, b)) => match (a.parse::<TelephoneNumber>(), b.parse::<TelephoneNumber>()) {
                (Ok(a), Ok(b)) => NumberRange::new(a, b).map_err(|e| e.to_string()),
                (Err(e), _) => Err(format!("range start: {e}")),
                (_, Err(e)) => Err(format!("range end: {e}")),
            },
            None => field
                .parse::<TelephoneNumber>()
                .map(NumberRange::single)
                .map_err(|e| e.to_string()),
        };
        let range = match range {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{}:{line}: number: {e}", path.display()));
                continue;
            }
        };
        if numbers.len() as u64 + range.len() > MAX_NUMBERS as u64 {
            bail!(
                "{}:{line}: number: more than {MAX_NUMBERS} numbers in one migration",
                path.display()
            );
        }
        for n in range.iter() {
            if let Some(first) = seen.get(&n) {
                errors.push(format!(
                    "{}:{line}: number: {n} is listed twice (first at line {first})",
                    path.display()
                ));
            } else {
                seen.insert(n, line);
                numbers.push(n);
            }
        }
        if errors.len() > 100 {
            break;
        }
    }
    if !errors.is_empty() {
        bail!("invalid numbers file\n  {}", errors.join("\n  "));
    }
    Ok(numbers)
}

fn run_migration(args: &MigrationArgs) -> Result<ExitCode> {
    let book = load_rulebook(args.book.rulebook.as_deref())?;
    let cal = load_calendar(&book, &args.book.holidays)?;
    let duties = Duties::new(&book, &cal);
    if args.gaining == args.losing {
        bail!("--gaining and --losing are both {}", args.gaining);
    }
    let width = args.ref_prefix.len() + 5;
    if width > lnp_model::PortRef::MAX_LEN
        || args.ref_prefix.is_empty()
        || !args
            .ref_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!(
            "--ref-prefix {:?}: letters, digits, - and _, at most {} characters",
            args.ref_prefix,
            lnp_model::PortRef::MAX_LEN - 5
        );
    }
    let numbers = read_numbers(&args.numbers)?;
    let req = MigrationRequest {
        numbers,
        batch: args.batch,
        start: args.start,
        daily_cap: args.daily_cap,
        interval: args.interval,
        parties: Parties {
            gaining: args.gaining,
            losing: args.losing,
            donor: args.donor,
        },
        ref_prefix: args.ref_prefix.clone(),
        customer: args.customer.clone(),
        account: args.account.clone(),
        ca_date: args.ca_date,
    };
    let plan = match migration(&duties, &req) {
        Ok(p) => p,
        Err(PlanError::NoLegalCutover(reason)) => {
            eprintln!("lnpsim: no legal cutover: {reason}");
            return Ok(ExitCode::from(1));
        }
        Err(e @ PlanError::BadRequest(_)) => return Err(anyhow!(e)),
    };
    if let Some(path) = &args.scenario_out {
        crate::common::write_file(path, plan.to_scenario())?;
    }
    let text = match args.format {
        MigrationFormat::Text => plan.to_text(),
        MigrationFormat::Json => plan.to_json() + "\n",
        MigrationFormat::Csv => plan.to_csv(),
        MigrationFormat::Ics => {
            let plans: Vec<(&str, &lnp_plan::Plan)> =
                plan.batches.iter().map(|b| (b.port_ref.as_str(), &b.plan)).collect();
            ics::calendar(&plans, args.alarm)
        }
    };
    write_out(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}
