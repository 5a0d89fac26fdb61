//! `lnpsim`: the command-line front end. The only place that touches files, the wall clock and
//! the terminal; everything else lives in the library crates (see ARCHITECTURE.md).

/// `println!` that returns an error instead of panicking when stdout is closed (`| head`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// `print!` that returns an error instead of panicking when stdout is closed.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod audit_cmd;
mod calendar_cmd;
mod common;
mod plan_cmd;
mod plnr_cmd;
mod plnr_out;
mod plnr_validate;
mod report_cmd;
mod route_cmd;
mod rules_cmd;
mod run_cmd;
mod serve_cmd;
mod sweep_cmd;
mod track_cmd;

/// Every command allocates through mimalloc (see the dependency's note in Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  lnpsim run scenarios/cat-a-happy-path.toml        # play a story, check its expectations
  lnpsim run scenarios/cat-a-late-answer.toml --report /tmp/replay.html
  lnpsim rules                                      # the Code's rules with their values
  lnpsim rules --example > /tmp/strict.toml        # a complete override file to edit
  lnpsim rules --rulebook /tmp/strict.toml --format json
  lnpsim calendar add 2026-12-24T10:00:00+11:00 2bd
  lnpsim calendar business-day 2026-12-28
  lnpsim calendar holidays 2027 --holidays nsw      # national and NSW holidays
  lnpsim audit tests/traces/eca_response_late.csv   # judge a trace
  lnpsim plan --category A --submit 2026-03-02T09:00:00+11:00
  lnpsim track --db /tmp/ports.db due               # what is due in a port tracker
  Your system plays carrier 9002 over HTTP: lnpsim serve scenarios/serve/cat-a.toml --external 9002

Exit status: 0 ok, 1 findings, failed expectations, something overdue or no legal cutover,
2 bad input or usage, 3 the tracker's database is busy (try again).
Logging: set RUST_LOG (e.g. RUST_LOG=debug) for diagnostics on stderr.";

/// A simulator, register toolkit and compliance audit for Australian Local Number Portability
/// (Communications Alliance C540).
#[derive(Parser)]
#[command(name = "lnpsim", version, about, after_help = EXAMPLES, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a scenario on the virtual clock: print its timeline, audit it, check its expectations.
    Run(run_cmd::RunArgs),
    /// Run a story under many seeds in parallel: how many held every expectation, the failing
    /// seeds with the command that replays each, and findings by rule.
    Sweep(sweep_cmd::SweepArgs),
    /// Print the rulebook: every rule's ID, value, cited clause and meaning.
    Rules(rules_cmd::RulesArgs),
    /// Business-calendar arithmetic in Australia/Sydney time.
    #[command(subcommand)]
    Calendar(calendar_cmd::CalendarCmd),
    /// Register files in PLNR-SIM/1, the simulator's own format (not G602.1's): validate, convert,
    /// apply, diff, stats, gen.
    Plnr(plnr_cmd::PlnrArgs),
    /// Where a call to a number goes (the path and why), from allocations and PLNR files; export the routing table.
    Route(route_cmd::RouteArgs),
    /// Judge a trace against the Code's rules: findings by rule ID, statistics, rules not checked.
    Audit(audit_cmd::AuditArgs),
    /// Every deadline of one port before it starts, the legal cutover windows of each day, and
    /// a large customer's migration in Cat C batches.
    Plan(plan_cmd::PlanArgs),
    /// The porting team's tracker of real ports, in an SQLite database: create, record, status,
    /// due, checklist.
    Track(track_cmd::TrackArgs),
    /// Replay a trace for people: a ladder diagram with its findings and deadlines, as HTML,
    /// Mermaid or text.
    Report(report_cmd::ReportArgs),
    /// Serve a scenario's market over HTTP: outside systems play the --external carriers, the
    /// simulator the rest, with the virtual clock and a live audit.
    Serve(serve_cmd::ServeArgs),
}

fn main() -> ExitCode {
    common::init_logging();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let command = match &cli.command {
        Command::Run(_) => "run",
        Command::Sweep(_) => "sweep",
        Command::Rules(_) => "rules",
        Command::Calendar(_) => "calendar",
        Command::Plnr(_) => "plnr",
        Command::Route(_) => "route",
        Command::Audit(_) => "audit",
        Command::Plan(_) => "plan",
        Command::Track(_) => "track",
        Command::Report(_) => "report",
        Command::Serve(_) => "serve",
    };
    tracing::debug!(command, args = ?std::env::args().skip(1).collect::<Vec<_>>(), "start");
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(&args),
        Command::Sweep(args) => sweep_cmd::run(&args),
        Command::Rules(args) => rules_cmd::run(&args),
        Command::Calendar(cmd) => calendar_cmd::run(&cmd),
        Command::Plnr(args) => plnr_cmd::run(&args),
        Command::Route(args) => route_cmd::run(&args),
        Command::Audit(args) => audit_cmd::run(&args),
        Command::Plan(args) => plan_cmd::run(&args),
        Command::Track(args) => track_cmd::run(&args),
        Command::Report(args) => report_cmd::run(&args),
        Command::Serve(args) => serve_cmd::run(&args),
    };
    match &result {
        Ok(_) => tracing::debug!(command, "done"),
        Err(e) => tracing::debug!(command, error = %e, "failed"),
    }
    match result {
        Ok(code) => code,
        // The reader of our output went away (`lnpsim ... | head`): nothing is wrong with the
        // input, and nobody is left to tell, so stop quietly.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        // Another command holds the tracker's database: try again (docs/plan-and-track.md).
        Err(e) if e.downcast_ref::<track_cmd::Busy>().is_some() => {
            eprintln!("lnpsim: error: {e:#}");
            ExitCode::from(track_cmd::BUSY_EXIT)
        }
        Err(e) => {
            eprintln!("lnpsim: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
