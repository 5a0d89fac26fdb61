//! `lnpsim`: the command-line front end. The only place that touches files, the wall clock and
//! the terminal; everything else lives in the library crates (see ARCHITECTURE.md).

mod calendar_cmd;
mod common;
mod rules_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  lnpsim rules                                   the Code's rules with their values
  lnpsim rules --rulebook strict.toml --format json
  lnpsim calendar add 2026-12-24T10:00:00+11:00 2bd
  lnpsim calendar business-day 2026-12-28
  lnpsim calendar holidays 2027 --holidays nsw.csv

Exit status: 0 ok, 1 findings or failed expectations, 2 bad input or usage.
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
    /// Print the rulebook: every rule's ID, value, cited clause and meaning.
    Rules(rules_cmd::RulesArgs),
    /// Business-calendar arithmetic in Australia/Sydney time.
    #[command(subcommand)]
    Calendar(calendar_cmd::CalendarCmd),
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
    let result = match cli.command {
        Command::Rules(args) => rules_cmd::run(&args),
        Command::Calendar(cmd) => calendar_cmd::run(&cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lnpsim: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
