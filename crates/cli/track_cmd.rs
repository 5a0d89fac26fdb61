//! `lnpsim track`: the porting team's tracker of real ports, in an `SQLite` database file.
//!
//! The database is created on first use. Its schema is the ordered list [`MIGRATIONS`], applied
//! in order and counted in `PRAGMA user_version`. It runs in WAL mode; every command is one
//! transaction (writers take the write lock at their start, `BEGIN IMMEDIATE`), so a crash
//! mid-command leaves the database as it was before the command, and a second writer waits
//! [`BUSY_TIMEOUT_MS`] and then says the database is busy (exit [`BUSY_EXIT`]).
//!
//! Stages and open duties come from `lnp_plan::track`, whose deadlines are the duty functions
//! the audit applies; rows are read with the audit's trace reader.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use lnp_model::time::parse_date;
use lnp_model::trace::TraceError;
use lnp_model::{
    BusinessCalendar, CarrierCode, Category, Duties, PortRef, Rulebook, TelephoneNumber, Timestamp, TraceFormat,
    TraceReader, TraceRecord, TraceWriter,
};
use lnp_plan::track::{checklist, open_duties, stage_at, OpenDuty, Stage, TrackedPort};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::common::{load_calendar, load_rulebook, Output};
use crate::plan_cmd::{parse_code, parse_instant, CategoryArg};

/// How long a command waits for another writer before it says the database is busy.
pub const BUSY_TIMEOUT_MS: u64 = 500;

/// The exit status of a command that found the database busy: try again.
pub const BUSY_EXIT: u8 = 3;

/// The schema, one migration per entry, applied in order; `PRAGMA user_version` counts those
/// applied. Never change an entry that has shipped: add one.
pub const MIGRATIONS: &[&str] = &[
    // 1: ports, their numbers, the rows recorded for them and each import.
    "CREATE TABLE ports (
        ref TEXT PRIMARY KEY NOT NULL,
        category TEXT NOT NULL CHECK (category IN ('A', 'C', 'D')),
        gaining TEXT NOT NULL,
        losing TEXT NOT NULL,
        donor TEXT,
        customer TEXT NOT NULL DEFAULT '',
        ca_date TEXT,
        after_hours INTEGER NOT NULL DEFAULT 0,
        stage TEXT NOT NULL DEFAULT 'created',
        created_at TEXT NOT NULL
    );
    CREATE TABLE port_numbers (
        ref TEXT NOT NULL REFERENCES ports(ref) ON DELETE CASCADE,
        number TEXT NOT NULL,
        PRIMARY KEY (ref, number)
    );
    CREATE INDEX port_numbers_by_number ON port_numbers(number);
    CREATE TABLE imports (
        id INTEGER PRIMARY KEY,
        file TEXT NOT NULL,
        rows_read INTEGER NOT NULL,
        rows_added INTEGER NOT NULL,
        malformed INTEGER NOT NULL,
        recorded_at TEXT NOT NULL
    );
    CREATE TABLE rows (
        id INTEGER PRIMARY KEY,
        ref TEXT NOT NULL REFERENCES ports(ref) ON DELETE CASCADE,
        row_key TEXT NOT NULL,
        time TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        msg TEXT NOT NULL,
        from_code TEXT NOT NULL,
        to_code TEXT NOT NULL DEFAULT '',
        row_csv TEXT NOT NULL,
        import_id INTEGER NOT NULL REFERENCES imports(id),
        UNIQUE (ref, row_key)
    );
    CREATE INDEX rows_by_ref_time ON rows(ref, time_ms);",
];

/// Another command holds the database.
#[derive(Debug)]
pub struct Busy(pub String);

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: the database is busy: another lnpsim command is writing to it; try again (exit {BUSY_EXIT})",
            self.0
        )
    }
}

impl std::error::Error for Busy {}

const TRACK_HELP: &str = "\
Examples (from the repository's root):
  lnpsim track --db /tmp/ports.db create SNA-000101 --category A \\
      --numbers 0255501234 --gaining 9002 --losing 9001 \\
      --customer 'Harbour Bakery Pty Ltd' --ca-date 2026-02-25
  lnpsim track --db /tmp/ports.db create CNA-000201 --category C \\
      --numbers 0255502000,0255502001 --gaining 9002 --losing 9001
  lnpsim track --db /tmp/ports.db record examples/track/bravo-porting-log.csv
  lnpsim track --db /tmp/ports.db status --at 2026-03-09T10:20:00+11:00
  lnpsim track --db /tmp/ports.db due --at 2026-03-09T10:20:00+11:00 \\
      --format json
  lnpsim track --db /tmp/ports.db checklist SNA-000101 --format md
  lnpsim track --db /tmp/ports.db export --format csv -o /tmp/recorded.csv

The database is an SQLite file, created on first use (WAL mode: DB-wal and
DB-shm sit beside it while it is open); every command is one transaction.
See docs/plan-and-track.md.

Exit status: 0 ok, 1 something overdue (due) or malformed rows (record),
2 bad input, 3 the database is busy (another command is writing; try again).";

#[derive(Args)]
#[command(after_help = TRACK_HELP)]
pub struct TrackArgs {
    /// The tracker's database file (SQLite), created on first use.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// Rulebook overrides (TOML); the built-in defaults otherwise.
    #[arg(long, value_name = "FILE", global = true)]
    rulebook: Option<PathBuf>,
    #[arg(long, value_name = "STATE|FILE", help = crate::common::HOLIDAYS_HELP, value_parser = crate::common::parse_holidays, global = true)]
    holidays: Vec<lnp_sim::HolidaySource>,
    #[command(subcommand)]
    cmd: TrackCmd,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Text,
    Json,
    Csv,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChecklistFormat {
    Text,
    Md,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TraceFormatArg {
    Csv,
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AssumeOffset {
    /// Australia/Sydney: AEST or AEDT as the date requires.
    Sydney,
}

#[derive(Subcommand)]
pub enum TrackCmd {
    /// Start tracking a port. The same REF with the same details again is fine; with other
    /// details it is refused (exit 2).
    Create {
        /// The port's reference, as its rows carry it (the SNA's PNO sequence number, the CNA's
        /// batch number).
        #[arg(value_name = "REF")]
        port_ref: String,
        /// A (simple), C (complex) or D (a ULL diversion).
        #[arg(long, value_enum)]
        category: CategoryArg,
        /// The port's numbers, comma-separated (Cat A and D: exactly one).
        #[arg(long, value_name = "N[,N...]", value_delimiter = ',', required = true)]
        numbers: Vec<String>,
        /// The gaining carrier's code.
        #[arg(long, value_name = "CODE", value_parser = parse_code)]
        gaining: CarrierCode,
        /// The losing carrier's code.
        #[arg(long, value_name = "CODE", value_parser = parse_code)]
        losing: CarrierCode,
        /// The numbers' donor, when it is not the losing carrier (a third-party port).
        #[arg(long, value_name = "CODE", value_parser = parse_code)]
        donor: Option<CarrierCode>,
        /// The customer's name.
        #[arg(long, value_name = "NAME", default_value = "")]
        customer: String,
        /// The Customer Authority's date (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        ca_date: Option<String>,
        /// The pair's agreement allows after-hours cutovers.
        #[arg(long)]
        after_hours: bool,
    },
    /// Import the rows of a carrier's porting log (the trace format, CSV or JSON Lines) into the
    /// ports they name; a row already recorded is not added again.
    Record {
        /// The log (`.csv` or `.jsonl`; `-` for standard input with --trace-format).
        #[arg(value_name = "TRACE")]
        trace: PathBuf,
        /// The log's encoding, when its extension does not say.
        #[arg(long, value_enum, value_name = "FORMAT")]
        trace_format: Option<TraceFormatArg>,
        /// Read times written without an offset as Sydney local time.
        #[arg(long, value_enum, value_name = "ZONE")]
        assume_offset: Option<AssumeOffset>,
    },
    /// Each port's stage and its next deadline.
    Status {
        /// One port only.
        #[arg(value_name = "REF")]
        port_ref: Option<String>,
        /// The instant to judge at (RFC 3339; default: now).
        #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
        at: Option<Timestamp>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TableFormat,
    },
    /// Every open duty with its deadline, overdue ones first (exit 1 when any is overdue).
    Due {
        /// The instant to judge at (RFC 3339; default: now).
        #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
        at: Option<Timestamp>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TableFormat,
    },
    /// The port-day checklist: what to check before, at and after the cutover.
    Checklist {
        #[arg(value_name = "REF")]
        port_ref: String,
        /// The instant to judge at (RFC 3339; default: now).
        #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
        at: Option<Timestamp>,
        /// Output format: text, or md (Markdown with check boxes).
        #[arg(long, value_enum, default_value = "text")]
        format: ChecklistFormat,
    },
    /// Every recorded row: csv (a trace the audit reads) or json (ports with their rows).
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// A database error, as [`Busy`] when another writer holds the database.
fn db_err(db: &Path, e: &rusqlite::Error) -> anyhow::Error {
    if let rusqlite::Error::SqliteFailure(f, _) = e {
        if matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ) {
            return anyhow!(Busy(db.display().to_string()));
        }
    }
    anyhow!("{}: database: {e}", db.display())
}

/// Opens (creating) the database and brings its schema up to date.
fn open(db: &Path) -> Result<Connection> {
    let conn = Connection::open(db).map_err(|e| db_err(db, &e))?;
    conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))
        .map_err(|e| db_err(db, &e))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| db_err(db, &e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!(
            "{}: database: cannot switch to WAL mode (it is in {mode} mode)",
            db.display()
        );
    }
    conn.execute_batch("PRAGMA foreign_keys = ON;")
        .map_err(|e| db_err(db, &e))?;
    migrate(db, &conn)?;
    Ok(conn)
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies the migrations the database lacks, in one transaction.
fn migrate(db: &Path, conn: &Connection) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    let version = user_version(conn).map_err(|e| db_err(db, &e))?;
    if version > known {
        bail!(
            "{}: database: schema version {version} is newer than this lnpsim knows ({known}); use a newer lnpsim",
            db.display()
        );
    }
    if version == known {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| db_err(db, &e))?;
    let result = (|| -> rusqlite::Result<()> {
        // Another command may have migrated it meanwhile.
        let version = user_version(conn)?;
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            conn.execute_batch(sql)?;
            conn.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        }
        conn.execute_batch("COMMIT")
    })();
    if let Err(e) = result {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(db_err(db, &e));
    }
    Ok(())
}

#[allow(
    clippy::disallowed_methods,
    reason = "the tracker's default instant is the wall clock's now"
)]
fn now() -> Timestamp {
    Timestamp::from_datetime(&chrono::Utc::now())
}

pub fn run(args: &TrackArgs) -> Result<ExitCode> {
    let book = load_rulebook(args.rulebook.as_deref())?;
    let cal = load_calendar(&book, &args.holidays)?;
    let db = args.db.as_path();
    let mut conn = open(db)?;
    match &args.cmd {
        TrackCmd::Create {
            port_ref,
            category,
            numbers,
            gaining,
            losing,
            donor,
            customer,
            ca_date,
            after_hours,
        } => {
            let port = NewPort {
                port_ref: port_ref.clone(),
                category: category_of(*category),
                numbers: parse_numbers(numbers)?,
                gaining: *gaining,
                losing: *losing,
                donor: *donor,
                customer: customer.clone(),
                ca_date: ca_date
                    .as_deref()
                    .map(|d| parse_date(d).map(|d| d.to_string()))
                    .transpose()
                    .map_err(|e| anyhow!("--ca-date: {e}"))?,
                after_hours: *after_hours,
            };
            create(db, &mut conn, &port)
        }
        TrackCmd::Record {
            trace,
            trace_format,
            assume_offset,
        } => record(
            db,
            &mut conn,
            (&book, &cal),
            trace,
            trace_format.map(|f| match f {
                TraceFormatArg::Csv => TraceFormat::Csv,
                TraceFormatArg::Jsonl => TraceFormat::Jsonl,
            }),
            assume_offset.is_some(),
        ),
        TrackCmd::Status { port_ref, at, format } => status(
            db,
            &mut conn,
            (&book, &cal),
            port_ref.as_deref(),
            at.unwrap_or_else(now),
            *format,
        ),
        TrackCmd::Due { at, format } => due(db, &mut conn, (&book, &cal), at.unwrap_or_else(now), *format),
        TrackCmd::Checklist { port_ref, at, format } => {
            let read = read_ports(db, &mut conn, Some(port_ref))?;
            let Some((port, rows)) = read.into_iter().next() else {
                bail!(
                    "{}: no port {port_ref:?} is tracked (lnpsim track create)",
                    db.display()
                );
            };
            let d = Duties::new(&book, &cal);
            let text = checklist(
                &d,
                &port.tracked,
                &rows,
                at.unwrap_or_else(now),
                *format == ChecklistFormat::Md,
            );
            out!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        TrackCmd::Export { format, output } => export(db, &mut conn, (&book, &cal), *format, output.as_deref()),
    }
}

fn category_of(c: CategoryArg) -> Category {
    match c {
        CategoryArg::A => Category::A,
        CategoryArg::C => Category::C,
        CategoryArg::D => Category::D,
    }
}

fn parse_numbers(list: &[String]) -> Result<Vec<TelephoneNumber>> {
    let mut out: Vec<TelephoneNumber> = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let n: TelephoneNumber = s
            .parse()
            .map_err(|e| anyhow!("--numbers: item {} ({s:?}): {e}", i + 1))?;
        if out.contains(&n) {
            bail!("--numbers: {n} is listed twice");
        }
        out.push(n);
    }
    if out.is_empty() {
        bail!("--numbers: no number given");
    }
    Ok(out)
}

/// A `ports` row as `create` compares it: `category`, `gaining`, `losing`, `donor`, `customer`,
/// `ca_date`, `after_hours`.
type PortColumns = (String, String, String, Option<String>, String, Option<String>, bool);

struct NewPort {
    port_ref: String,
    category: Category,
    numbers: Vec<TelephoneNumber>,
    gaining: CarrierCode,
    losing: CarrierCode,
    donor: Option<CarrierCode>,
    customer: String,
    ca_date: Option<String>,
    after_hours: bool,
}

fn begin_write<'c>(db: &Path, conn: &'c mut Connection) -> Result<rusqlite::Transaction<'c>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| db_err(db, &e))
}

fn create(db: &Path, conn: &mut Connection, p: &NewPort) -> Result<ExitCode> {
    p.port_ref
        .parse::<PortRef>()
        .map_err(|e| anyhow!("REF {:?}: {e}", p.port_ref))?;
    if p.category.is_simple() && p.numbers.len() != 1 {
        bail!(
            "--numbers: a Cat {} port carries exactly one number (SNA-ONE-NUMBER); {} given",
            p.category.as_char(),
            p.numbers.len()
        );
    }
    if p.gaining == p.losing {
        bail!("--gaining and --losing are both {}", p.gaining);
    }
    let tx = begin_write(db, conn)?;
    let e = |e| db_err(db, &e);
    let existing: Option<PortColumns> = tx
        .query_row(
            "SELECT category, gaining, losing, donor, customer, ca_date, after_hours FROM ports WHERE ref = ?1",
            [&p.port_ref],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()
        .map_err(e)?;
    let mut numbers: Vec<String> = p.numbers.iter().map(ToString::to_string).collect();
    numbers.sort();
    if let Some(old) = existing {
        let mut had: Vec<String> = tx
            .prepare("SELECT number FROM port_numbers WHERE ref = ?1 ORDER BY number")
            .and_then(|mut s| s.query_map([&p.port_ref], |r| r.get(0))?.collect())
            .map_err(e)?;
        had.sort();
        let wanted = (
            p.category.as_char().to_string(),
            p.gaining.to_string(),
            p.losing.to_string(),
            p.donor.map(|d| d.to_string()),
            p.customer.clone(),
            p.ca_date.clone(),
            p.after_hours,
        );
        let mut differ = Vec::new();
        if old.0 != wanted.0 {
            differ.push(format!("--category {} (tracked: {})", wanted.0, old.0));
        }
        if old.1 != wanted.1 {
            differ.push(format!("--gaining {} (tracked: {})", wanted.1, old.1));
        }
        if old.2 != wanted.2 {
            differ.push(format!("--losing {} (tracked: {})", wanted.2, old.2));
        }
        if old.3 != wanted.3 {
            differ.push(format!(
                "--donor {} (tracked: {})",
                wanted.3.as_deref().unwrap_or("none"),
                old.3.as_deref().unwrap_or("none")
            ));
        }
        if old.4 != wanted.4 {
            differ.push(format!("--customer {:?} (tracked: {:?})", wanted.4, old.4));
        }
        if old.5 != wanted.5 {
            differ.push(format!(
                "--ca-date {} (tracked: {})",
                wanted.5.as_deref().unwrap_or("none"),
                old.5.as_deref().unwrap_or("none")
            ));
        }
        if old.6 != wanted.6 {
            differ.push(format!("--after-hours {} (tracked: {})", wanted.6, old.6));
        }
        if had != numbers {
            differ.push(format!("--numbers {} (tracked: {})", numbers.join(","), had.join(",")));
        }
        if differ.is_empty() {
            outln!("{}: already tracked with these details", p.port_ref);
            return Ok(ExitCode::SUCCESS);
        }
        bail!(
            "{}: port {} is already tracked with other details: {}",
            db.display(),
            p.port_ref,
            differ.join("; ")
        );
    }
    tx.execute(
        "INSERT INTO ports (ref, category, gaining, losing, donor, customer, ca_date, after_hours, stage, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'created', ?9)",
        params![
            p.port_ref,
            p.category.as_char().to_string(),
            p.gaining.to_string(),
            p.losing.to_string(),
            p.donor.map(|d| d.to_string()),
            p.customer,
            p.ca_date,
            p.after_hours,
            now().to_string(),
        ],
    )
    .map_err(e)?;
    for n in &numbers {
        tx.execute(
            "INSERT INTO port_numbers (ref, number) VALUES (?1, ?2)",
            params![p.port_ref, n],
        )
        .map_err(e)?;
    }
    tx.commit().map_err(e)?;
    outln!(
        "{}: created (Cat {}, {} number{})",
        p.port_ref,
        p.category.as_char(),
        numbers.len(),
        if numbers.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

/// A row's identity for "already recorded": everything but its `seq` (which differs between a
/// log and another export of the same rows), with the time as an instant (any offset).
fn row_key(r: &TraceRecord) -> String {
    let mut copy = r.clone();
    copy.seq = 0;
    let mut w = TraceWriter::new(Vec::new(), TraceFormat::Csv);
    let _ = w.write(&copy);
    let bytes = w.into_inner().unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // The first line is the header.
    text.lines().nth(1).unwrap_or_default().to_string()
}

/// The row as a CSV line (with its own `seq`), replayed exactly by the trace reader.
fn row_csv(r: &TraceRecord) -> String {
    let mut w = TraceWriter::new(Vec::new(), TraceFormat::Csv);
    let _ = w.write(r);
    let bytes = w.into_inner().unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    text.lines().nth(1).unwrap_or_default().to_string()
}

fn record(
    db: &Path,
    conn: &mut Connection,
    (book, cal): (&Rulebook, &BusinessCalendar),
    trace: &Path,
    format: Option<TraceFormat>,
    assume_sydney: bool,
) -> Result<ExitCode> {
    let format = match format {
        Some(f) => f,
        None => TraceFormat::from_path(trace).ok_or_else(|| {
            anyhow!(
                "{}: cannot tell the trace format from the extension; name it .csv or .jsonl, or pass --trace-format",
                trace.display()
            )
        })?,
    };
    // The whole log is read first, with the audit's reader, so the write lock is held only
    // while the rows go in.
    let input = crate::common::open_input(trace, 1 << 20)?;
    let reader = TraceReader::new(input, format)
        .map_err(|e| match e {
            TraceError::Header(m) => anyhow!("{}: line 1: bad CSV header: {m}", trace.display()),
            other => anyhow!("{}: {other}", trace.display()),
        })?
        .assume_sydney(assume_sydney);
    let mut records: Vec<TraceRecord> = Vec::new();
    let mut malformed: Vec<String> = Vec::new();
    for row in reader {
        match row {
            Ok(r) => records.push(r),
            Err(e) => malformed.push(format!("{}: {e}", trace.display())),
        }
    }
    let tx = begin_write(db, conn)?;
    let e = |e| db_err(db, &e);
    // Ports by ref, and by number (the latest created port of each number).
    let mut by_ref: BTreeSet<String> = BTreeSet::new();
    let mut by_number: BTreeMap<String, String> = BTreeMap::new();
    {
        let mut stmt = tx
            .prepare("SELECT p.ref, n.number FROM ports p LEFT JOIN port_numbers n ON n.ref = p.ref ORDER BY p.rowid")
            .map_err(e)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))
            .map_err(e)?;
        for row in rows {
            let (port_ref, number) = row.map_err(e)?;
            if let Some(n) = number {
                by_number.insert(n, port_ref.clone());
            }
            by_ref.insert(port_ref);
        }
    }
    tx.execute(
        "INSERT INTO imports (file, rows_read, rows_added, malformed, recorded_at) VALUES (?1, ?2, 0, ?3, ?4)",
        params![
            trace.display().to_string(),
            (records.len() + malformed.len()) as i64,
            malformed.len() as i64,
            now().to_string()
        ],
    )
    .map_err(e)?;
    let import_id = tx.last_insert_rowid();
    let (mut added, mut again, mut untracked) = (0u64, 0u64, 0u64);
    let mut unknown_refs: BTreeSet<String> = BTreeSet::new();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    {
        let mut insert = tx
            .prepare(
                "INSERT OR IGNORE INTO rows (ref, row_key, time, time_ms, msg, from_code, to_code, row_csv, import_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(e)?;
        for r in &records {
            let named = r.message.port_ref.map(|p| p.as_str().to_string());
            let mut ports: Vec<String> = Vec::new();
            match named.as_ref().filter(|p| by_ref.contains(*p)) {
                Some(p) => ports.push(p.clone()),
                None => {
                    // A row without a tracked ref (CUTOVER, DTR_*, PLNR_PUBLISH may omit it) goes to
                    // the ports of its numbers.
                    if named.is_none() {
                        for n in &r.message.numbers {
                            if let Some(p) = by_number.get(&n.to_string()) {
                                if !ports.contains(p) {
                                    ports.push(p.clone());
                                }
                            }
                        }
                    }
                }
            }
            if ports.is_empty() {
                untracked += 1;
                if let Some(n) = named {
                    unknown_refs.insert(n);
                }
                continue;
            }
            let key = row_key(r);
            let csv = row_csv(r);
            for p in ports {
                let n = insert
                    .execute(params![
                        p,
                        key,
                        r.time.to_string(),
                        r.time.millis(),
                        r.message.kind.keyword(),
                        r.from.to_string(),
                        r.to.map(|c| c.to_string()).unwrap_or_default(),
                        csv,
                        import_id
                    ])
                    .map_err(e)?;
                if n == 0 {
                    again += 1;
                } else {
                    added += 1;
                    touched.insert(p);
                }
            }
        }
    }
    tx.execute(
        "UPDATE imports SET rows_added = ?1 WHERE id = ?2",
        params![added as i64, import_id],
    )
    .map_err(e)?;
    // Each touched port's stage, replayed from all its rows.
    let d = Duties::new(book, cal);
    let mut moves = Vec::new();
    for p in &touched {
        let (port, rows) = load_port(db, &tx, p)?;
        let last = rows.iter().map(|r| r.time).max().unwrap_or_default();
        let stage = stage_at(&d, &port.tracked, &rows, last);
        if stage != port.stage {
            tx.execute("UPDATE ports SET stage = ?1 WHERE ref = ?2", params![stage.as_str(), p])
                .map_err(e)?;
            moves.push(format!("{p}: {} -> {stage}", port.stage));
        }
    }
    tx.commit().map_err(e)?;
    outln!(
        "{}: {added} rows recorded, {again} already recorded, {untracked} name no tracked port{}",
        trace.display(),
        if malformed.is_empty() {
            String::new()
        } else {
            format!(", {} malformed", malformed.len())
        }
    );
    if !unknown_refs.is_empty() {
        let list: Vec<&String> = unknown_refs.iter().take(10).collect();
        let more = unknown_refs.len().saturating_sub(list.len());
        outln!(
            "  refs not tracked (lnpsim track create): {}{}",
            list.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    for m in &moves {
        outln!("  {m}");
    }
    for m in malformed.iter().take(100) {
        eprintln!("lnpsim: {m}");
    }
    Ok(if malformed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A port as the database holds it.
struct Stored {
    tracked: TrackedPort,
    stage: Stage,
    customer: String,
    ca_date: Option<String>,
}

fn code_of(db: &Path, s: &str) -> Result<CarrierCode> {
    s.parse()
        .map_err(|e| anyhow!("{}: database: carrier code {s:?}: {e}", db.display()))
}

fn load_port(db: &Path, conn: &Connection, port_ref: &str) -> Result<(Stored, Vec<TraceRecord>)> {
    let e = |e| db_err(db, &e);
    let (category, gaining, losing, donor, customer, ca_date, after_hours, stage): (
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        bool,
        String,
    ) = conn
        .query_row(
            "SELECT category, gaining, losing, donor, customer, ca_date, after_hours, stage FROM ports WHERE ref = ?1",
            [port_ref],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .map_err(e)?;
    let numbers: Vec<String> = conn
        .prepare("SELECT number FROM port_numbers WHERE ref = ?1 ORDER BY number")
        .and_then(|mut s| s.query_map([port_ref], |r| r.get(0))?.collect())
        .map_err(e)?;
    let lines: Vec<String> = conn
        .prepare("SELECT row_csv FROM rows WHERE ref = ?1 ORDER BY time_ms, id")
        .and_then(|mut s| s.query_map([port_ref], |r| r.get(0))?.collect())
        .map_err(e)?;
    let mut text = lnp_model::trace::COLUMNS.join(",");
    text.push('\n');
    for l in &lines {
        text.push_str(l);
        text.push('\n');
    }
    let (rows, errors) = lnp_model::trace::read_all(text.as_bytes(), TraceFormat::Csv)
        .map_err(|err| anyhow!("{}: database: rows of {port_ref}: {err}", db.display()))?;
    if let Some(err) = errors.first() {
        bail!(
            "{}: database: a row of {port_ref} cannot be read back: {err}",
            db.display()
        );
    }
    let category = category
        .parse::<Category>()
        .map_err(|err| anyhow!("{}: database: category of {port_ref}: {err}", db.display()))?;
    let numbers = numbers
        .iter()
        .map(|n| {
            n.parse::<TelephoneNumber>()
                .map_err(|err| anyhow!("{}: database: number {n:?} of {port_ref}: {err}", db.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let tracked = TrackedPort {
        port_ref: port_ref.to_string(),
        category,
        numbers,
        gaining: code_of(db, &gaining)?,
        losing: code_of(db, &losing)?,
        donor: donor.as_deref().map(|d| code_of(db, d)).transpose()?,
        after_hours,
    };
    Ok((
        Stored {
            tracked,
            stage: stage.parse().unwrap_or(Stage::Created),
            customer,
            ca_date,
        },
        rows,
    ))
}

/// Every port (or one), with its rows, in one read transaction.
fn read_ports(db: &Path, conn: &mut Connection, only: Option<&str>) -> Result<Vec<(Stored, Vec<TraceRecord>)>> {
    let tx = conn.transaction().map_err(|e| db_err(db, &e))?;
    let refs: Vec<String> = match only {
        Some(r) => tx
            .prepare("SELECT ref FROM ports WHERE ref = ?1")
            .and_then(|mut s| s.query_map([r], |row| row.get(0))?.collect())
            .map_err(|e| db_err(db, &e))?,
        None => tx
            .prepare("SELECT ref FROM ports ORDER BY ref")
            .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
            .map_err(|e| db_err(db, &e))?,
    };
    let mut out = Vec::new();
    for r in refs {
        out.push(load_port(db, &tx, &r)?);
    }
    tx.finish().map_err(|e| db_err(db, &e))?;
    Ok(out)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn status(
    db: &Path,
    conn: &mut Connection,
    (book, cal): (&Rulebook, &BusinessCalendar),
    only: Option<&str>,
    at: Timestamp,
    format: TableFormat,
) -> Result<ExitCode> {
    let ports = read_ports(db, conn, only)?;
    if let (Some(r), true) = (only, ports.is_empty()) {
        bail!("{}: no port {r:?} is tracked (lnpsim track create)", db.display());
    }
    let d = Duties::new(book, cal);
    let mut items = Vec::new();
    for (p, rows) in &ports {
        let stage = stage_at(&d, &p.tracked, rows, at);
        let next = open_duties(&d, &p.tracked, rows, at).into_iter().min_by_key(|o| o.due);
        items.push((p, rows.len(), stage, next));
    }
    match format {
        TableFormat::Json => {
            let list: Vec<serde_json::Value> = items
                .iter()
                .map(|(p, n, stage, next)| {
                    let t = &p.tracked;
                    serde_json::json!({
                        "ref": t.port_ref,
                        "category": t.category.as_char().to_string(),
                        "numbers": t.numbers.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "gaining": t.gaining.to_string(),
                        "losing": t.losing.to_string(),
                        "donor": t.donor.unwrap_or(t.losing).to_string(),
                        "customer": p.customer,
                        "ca_date": p.ca_date,
                        "stage": stage.as_str(),
                        "rows": n,
                        "next": next.as_ref().map(|o| serde_json::json!({
                            "rule": o.rule, "who": o.who, "what": o.what, "due": o.due, "overdue": o.overdue,
                        })),
                    })
                })
                .collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"at": at, "ports": list}))?
            );
        }
        TableFormat::Csv => {
            let mut s = String::from("ref,category,stage,numbers,rows,next_rule,next_who,next_due,overdue\n");
            for (p, n, stage, next) in &items {
                let nums: Vec<String> = p.tracked.numbers.iter().map(ToString::to_string).collect();
                let _ = writeln!(
                    s,
                    "{},{},{stage},{},{n},{},{},{},{}",
                    csv_field(&p.tracked.port_ref),
                    p.tracked.category.as_char(),
                    nums.join(";"),
                    next.as_ref().map(|o| o.rule.as_str()).unwrap_or_default(),
                    next.as_ref().map(|o| o.who.as_str()).unwrap_or_default(),
                    next.as_ref().map(|o| o.due.to_string()).unwrap_or_default(),
                    next.as_ref().is_some_and(|o| o.overdue)
                );
            }
            out!("{s}");
        }
        TableFormat::Text => {
            if items.is_empty() {
                outln!("no ports tracked yet (lnpsim track create)");
            }
            for (p, n, stage, next) in &items {
                let t = &p.tracked;
                let nums: Vec<String> = t.numbers.iter().map(ToString::to_string).collect();
                outln!(
                    "{}  Cat {}  {stage}  {} row{}  {}",
                    t.port_ref,
                    t.category.as_char(),
                    n,
                    if *n == 1 { "" } else { "s" },
                    nums.join(",")
                );
                if let Some(o) = next {
                    outln!(
                        "    next: {} ({}) by {}{}: {}",
                        o.rule,
                        o.who.as_str(),
                        o.due,
                        if o.overdue { " OVERDUE" } else { "" },
                        o.what
                    );
                } else {
                    outln!("    nothing due");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn due(
    db: &Path,
    conn: &mut Connection,
    (book, cal): (&Rulebook, &BusinessCalendar),
    at: Timestamp,
    format: TableFormat,
) -> Result<ExitCode> {
    let ports = read_ports(db, conn, None)?;
    let d = Duties::new(book, cal);
    let mut all: Vec<OpenDuty> = ports
        .iter()
        .flat_map(|(p, rows)| open_duties(&d, &p.tracked, rows, at))
        .collect();
    all.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(a.due.cmp(&b.due))
            .then(a.port_ref.cmp(&b.port_ref))
    });
    match format {
        TableFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"at": at, "due": all}))?
        ),
        TableFormat::Csv => {
            let mut s = String::from("ref,rule,who,due,overdue,since,what\n");
            for o in &all {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{},{}",
                    csv_field(&o.port_ref),
                    o.rule,
                    o.who.as_str(),
                    o.due,
                    o.overdue,
                    o.since,
                    csv_field(&o.what)
                );
            }
            out!("{s}");
        }
        TableFormat::Text => {
            if all.is_empty() {
                outln!("nothing due at {at}");
            }
            for o in &all {
                outln!(
                    "{}{}  {:<14} {:<7} {:<18} {}",
                    if o.overdue { "OVERDUE " } else { "" },
                    o.due,
                    o.port_ref,
                    o.who.as_str(),
                    o.rule.as_str(),
                    o.what
                );
            }
        }
    }
    Ok(if all.iter().any(|o| o.overdue) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn export(
    db: &Path,
    conn: &mut Connection,
    (book, cal): (&Rulebook, &BusinessCalendar),
    format: ExportFormat,
    output: Option<&Path>,
) -> Result<ExitCode> {
    let ports = read_ports(db, conn, None)?;
    let mut out = Output::create(output)?;
    match format {
        ExportFormat::Csv => {
            // Every row once (a row may belong to two ports), in time order, numbered afresh.
            let mut rows: Vec<TraceRecord> = ports.iter().flat_map(|(_, r)| r.iter().cloned()).collect();
            rows.sort_by_key(|r| (r.time, r.seq));
            let mut seen = BTreeSet::new();
            let mut w = TraceWriter::new(&mut out, TraceFormat::Csv);
            let mut seq = 0;
            for r in rows {
                if seen.insert(row_key(&r)) {
                    seq += 1;
                    let mut r = r;
                    r.seq = seq;
                    w.write(&r).with_context(|| "cannot write the export")?;
                }
            }
            w.flush()?;
        }
        ExportFormat::Json => {
            let d = Duties::new(book, cal);
            let at = now();
            let list: Vec<serde_json::Value> = ports
                .iter()
                .map(|(p, rows)| {
                    let t = &p.tracked;
                    let lines = lnp_model::trace::write_all(rows, TraceFormat::Jsonl).unwrap_or_default();
                    let rows_json: Vec<serde_json::Value> = String::from_utf8_lossy(&lines)
                        .lines()
                        .filter_map(|l| serde_json::from_str(l).ok())
                        .collect();
                    serde_json::json!({
                        "ref": t.port_ref,
                        "category": t.category.as_char().to_string(),
                        "numbers": t.numbers.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "gaining": t.gaining.to_string(),
                        "losing": t.losing.to_string(),
                        "donor": t.donor.unwrap_or(t.losing).to_string(),
                        "customer": p.customer,
                        "ca_date": p.ca_date,
                        "stage": stage_at(&d, t, rows, at).as_str(),
                        "rows": rows_json,
                    })
                })
                .collect();
            let text = serde_json::to_string_pretty(&serde_json::json!({"ports": list}))?;
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}
