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

/// `calendar holidays --help`: what each state code adds, and the examples.
const HOLIDAYS_AFTER_HELP: &str = "\
A state's days are listed beside the national ones, named with the state (\"King's Birthday (NSW)\"); one on the \
date of a national holiday is not listed again. Weekend days such as Easter Saturday are listed; they change no \
business day.

State codes (--holidays CODE, any case), each computed by rule for any year with the state's own weekend \
substitution, and with the 2022 National Day of Mourning:
  nsw  Public Holidays Act 2010 (NSW): Easter Saturday and Sunday, King's Birthday (2nd Monday of June), Labour \
Day (1st Monday of October), the declared Anzac Day Mondays of 2026 and 2027
  vic  Public Holidays Act 1993 (Vic): Labour Day (2nd Monday of March), Easter Saturday and Sunday, King's \
Birthday (2nd Monday of June), Friday before the AFL Grand Final (gazetted dates of 2015-2025 only), Melbourne \
Cup Day (1st Tuesday of November)
  qld  Holidays Act 1983 (Qld): Easter Saturday and Sunday, Labour Day (1st Monday of May), King's Birthday (1st \
Monday of October)
  sa   Public Holidays Act 2023 (SA) from 2024; Holidays Act 1910 (SA) before: Adelaide Cup Day (2nd Monday of \
March), Easter Saturday and Sunday, King's Birthday (2nd Monday of June), Labour Day (1st Monday of October), \
Proclamation Day (26 December)
  wa   Public and Bank Holidays Act 1972 (WA): Labour Day (1st Monday of March), Easter Sunday, Western Australia \
Day (1st Monday of June), King's Birthday (proclaimed dates of 2011-2025 only), Anzac Day Monday
  tas  Statutory Holidays Act 2000 (Tas): Eight Hours Day (2nd Monday of March), King's Birthday (2nd Monday of \
June)
  act  Holidays Act 1958 (ACT): Canberra Day (2nd Monday of March), Easter Saturday and Sunday, Reconciliation Day \
(the Monday on or after 27 May), King's Birthday (2nd Monday of June), Labour Day (1st Monday of October), the \
declared Anzac Day days
  nt   Public Holidays Act 1981 (NT): Easter Saturday and Sunday, May Day (1st Monday of May), King's Birthday \
(2nd Monday of June), Picnic Day (1st Monday of August)
Left out: part-day holidays (SA and NT Christmas Eve and New Year's Eve from 7 pm, QLD Christmas Eve from 6 pm), \
bank-only holidays (NSW and ACT Bank Holiday), award-only days (TAS Easter Tuesday) and regional days (QLD show \
days, TAS Royal Hobart Regatta and Recreation Day). A file named like a code is written ./nsw. Details and \
sources: docs/rules.md, \"State holidays\".

Examples:
  lnpsim calendar holidays 2026
  lnpsim calendar holidays 2026 --holidays nsw
  lnpsim calendar holidays 2026 --holidays vic --holidays wa --format json
  lnpsim calendar holidays 2027 --holidays examples/holidays/nsw-2026-2027.csv --format json";

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
    #[command(after_help = HOLIDAYS_AFTER_HELP)]
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
