//! `lnpsim calendar`: business-day arithmetic in Australia/Sydney time.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use lnp_model::time::parse_date;
use lnp_model::{Span, Timestamp};
use lnp_sim::HolidaySource;

use crate::common::{load_calendar, load_rulebook, parse_holidays, HOLIDAYS_HELP};

#[derive(Args)]
pub struct CalendarOpts {
    #[arg(long, value_name = "STATE|FILE", global = true, help = HOLIDAYS_HELP, value_parser = parse_holidays)]
    holidays: Vec<HolidaySource>,
    /// Rulebook overrides (Standard Hours come from it).
    #[arg(long, value_name = "FILE", global = true)]
    rulebook: Option<PathBuf>,
    /// Output format: `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value = "text", global = true)]
    format: CalendarFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CalendarFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum CalendarCmd {
    /// Add a duration to an instant; prints RFC 3339 with the Sydney offset.
    #[command(
        after_help = "DURATION: 15m (minutes), 4h (hours), 2d (calendar days), 5bd (business days), 6mo (months); a leading - goes back.\n\nExamples:\n  lnpsim calendar add 2026-12-24T10:00:00+11:00 2bd     # 2026-12-30T10:00:00+11:00\n  lnpsim calendar add 2026-03-09T10:00:00+11:00 15m"
    )]
    Add {
        /// RFC 3339 instant with offset.
        instant: String,
        /// Duration to add.
        #[arg(allow_hyphen_values = true)]
        duration: String,
        #[command(flatten)]
        opts: CalendarOpts,
    },
    /// Is DATE a business day? Prints `yes` or `no` (and the holiday's name).
    #[command(
        after_help = "Examples:\n  lnpsim calendar business-day 2026-12-28     # no (Boxing Day (observed))\n  lnpsim calendar business-day 2026-10-05 --holidays nsw     # no (Labour Day (NSW))\n  lnpsim calendar business-day 2026-10-05 --holidays examples/holidays/nsw-2026-2027.csv"
    )]
    BusinessDay {
        /// Date, YYYY-MM-DD.
        date: String,
        #[command(flatten)]
        opts: CalendarOpts,
    },
    /// List a year's holidays: national ones (with weekend substitution), a state's, and any
    /// extra ones.
    #[command(
        after_help = "A state's days are listed beside the national ones, named with the state (\"King's Birthday (NSW)\"); \
                      one on the date of a national holiday is not listed again. Weekend days such as Easter Saturday \
                      are listed; they change no business day.\n\n\
                      Examples:\n  lnpsim calendar holidays 2026\n  lnpsim calendar holidays 2026 --holidays nsw\n  \
                      lnpsim calendar holidays 2026 --holidays vic --holidays wa --format json\n  \
                      lnpsim calendar holidays 2027 --holidays examples/holidays/nsw-2026-2027.csv --format json"
    )]
    Holidays {
        /// Year, e.g. 2026.
        year: i32,
        #[command(flatten)]
        opts: CalendarOpts,
    },
}

pub fn run(cmd: &CalendarCmd) -> Result<ExitCode> {
    match cmd {
        CalendarCmd::Add {
            instant,
            duration,
            opts,
        } => {
            let cal = load_calendar(&load_rulebook(opts.rulebook.as_deref())?, &opts.holidays)?;
            let t = Timestamp::parse_rfc3339(instant).map_err(|e| anyhow!("INSTANT: {e}"))?;
            let span: Span = duration.parse().map_err(|e| anyhow!("DURATION: {e}"))?;
            let to = cal.add(t, span);
            if !to.in_range() {
                return Err(anyhow!(
                    "DURATION: {instant} plus {duration} is out of range: instants lie in years 0001 to 9999"
                ));
            }
            if opts.format == CalendarFormat::Json {
                outln!(
                    "{}",
                    serde_json::json!({"instant": t.to_string(), "duration": span.to_string(), "result": to.to_string()})
                );
            } else {
                outln!("{to}");
            }
        }
        CalendarCmd::BusinessDay { date, opts } => {
            let cal = load_calendar(&load_rulebook(opts.rulebook.as_deref())?, &opts.holidays)?;
            let d = parse_date(date).map_err(|e| anyhow!("DATE: {e}"))?;
            if opts.format == CalendarFormat::Json {
                outln!(
                    "{}",
                    serde_json::json!({
                        "date": d.to_string(),
                        "weekday": d.format("%A").to_string(),
                        "business_day": cal.is_business_day(d),
                        "holidays": cal.holiday_names(d),
                    })
                );
            } else if cal.is_business_day(d) {
                outln!("yes");
            } else {
                let names = cal.holiday_names(d);
                if names.is_empty() {
                    outln!("no ({})", d.format("%A"));
                } else {
                    outln!("no ({})", names.join(" and "));
                }
            }
        }
        CalendarCmd::Holidays { year, opts } => {
            if !(1583..=9999).contains(year) {
                return Err(anyhow!("YEAR: {year} is outside 1583-9999 (the Gregorian computus)"));
            }
            let cal = load_calendar(&load_rulebook(opts.rulebook.as_deref())?, &opts.holidays)?;
            let list = cal.holidays(*year);
            if opts.format == CalendarFormat::Json {
                let items: Vec<serde_json::Value> = list
                    .iter()
                    .map(|h| serde_json::json!({"date": h.date.to_string(), "name": h.name}))
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                for h in list {
                    outln!("{}  {}  {}", h.date, h.date.format("%a"), h.name);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
