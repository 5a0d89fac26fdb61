//! `lnpsim plan migration`: a large customer's numbers moved in Cat C batches.
//!
//! The numbers are cut into batches of at most `batch` numbers (in the order given). Every
//! batch's CNA goes at the first instant of Standard Hours on or after the start date; the
//! batches are cut over from the earliest legal Cat C cutover on ([`Duties::cat_c_earliest_cutover`]),
//! one every `interval` inside each business day's legal cutover window
//! ([`Duties::cutover_window_on`]), at most `daily_cap` a day (`DAILY-CAP` counts the CCAs whose
//! cutover falls on one Sydney date, [`lnp_model::duty::capacity_left`]). Each batch is then a
//! [`Plan`] of its own. [`Migration::to_scenario`] writes the same plan as a scenario, so the
//! migration can be rehearsed with `lnpsim run` first.

use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveTime};
use lnp_model::duty::capacity_left;
use lnp_model::{Category, Duties, NumberRange, Reckoner, Span, TelephoneNumber, Timestamp};
use serde::Serialize;

use crate::plan::{plan, Parties, Plan, PlanError, PlanRequest};

/// The most numbers one Cat C port (a scenario's `[[ports]]` entry) carries.
pub const MAX_BATCH: usize = 1000;

/// What the migration is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationRequest {
    /// The customer's numbers, in the order they should move; no number twice.
    pub numbers: Vec<TelephoneNumber>,
    /// At most this many numbers per batch (1 to [`MAX_BATCH`]).
    pub batch: usize,
    /// The CNAs go on this date (or the next business day).
    pub start: NaiveDate,
    /// The losing carrier's cap of cutovers (CCAs) per Sydney date.
    pub daily_cap: u32,
    /// Between two cutovers on one day (elapsed time; zero puts a day's batches at one instant).
    pub interval: Span,
    pub parties: Parties,
    /// The batches' refs are `{prefix}-0001`, `{prefix}-0002`, …
    pub ref_prefix: String,
    pub customer: String,
    pub account: String,
    /// The Customer Authority's date (default: the start date).
    pub ca_date: Option<NaiveDate>,
}

/// One batch: one Cat C port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Batch {
    #[serde(rename = "ref")]
    pub port_ref: String,
    pub numbers: Vec<TelephoneNumber>,
    /// When its CNA goes.
    pub cna: Timestamp,
    /// Its agreed cutover.
    pub cutover: Timestamp,
    /// Every duty of the batch.
    pub plan: Plan,
}

/// The whole migration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Migration {
    pub numbers: usize,
    pub batch_size: usize,
    pub daily_cap: u32,
    #[serde(serialize_with = "crate::date_str")]
    pub start: NaiveDate,
    /// The earliest legal cutover of the first batch.
    pub first_cutover: Timestamp,
    pub last_cutover: Timestamp,
    /// How many business days carry cutovers.
    pub cutover_days: usize,
    #[serde(skip)]
    request: MigrationRequest,
    pub batches: Vec<Batch>,
}

/// The migration plan.
pub fn migration<R: Reckoner + ?Sized>(d: &Duties<'_, R>, req: &MigrationRequest) -> Result<Migration, PlanError> {
    if req.numbers.is_empty() {
        return Err(PlanError::BadRequest("--numbers: the file lists no number".into()));
    }
    if !(1..=MAX_BATCH).contains(&req.batch) {
        return Err(PlanError::BadRequest(format!(
            "--batch {}: a Cat C batch carries 1 to {MAX_BATCH} numbers",
            req.batch
        )));
    }
    if req.daily_cap == 0 {
        return Err(PlanError::BadRequest(
            "--daily-cap 0: the losing carrier would confirm no cutover at all".into(),
        ));
    }
    let Some(step) = req.interval.fixed_millis().filter(|ms| *ms >= 0) else {
        return Err(PlanError::BadRequest(format!(
            "--interval {}: an elapsed time (15m, 1h), not negative",
            req.interval
        )));
    };
    let cal = d.clock.calendar();
    let midnight = Timestamp::from_sydney_local(req.start.and_time(NaiveTime::MIN));
    let cna = cal.next_standard_hours(midnight);
    let first_cutover = d.cat_c_earliest_cutover(cna, cna, false);
    let mut batches = Vec::new();
    let mut day = first_cutover.sydney_date();
    let mut next_slot = first_cutover;
    let mut used: u32 = 0;
    let mut days = 0usize;
    let mut day_used = false;
    for (i, chunk) in req.numbers.chunks(req.batch).enumerate() {
        let slot = loop {
            let window = d.cutover_window_on(day, false);
            match window {
                Some((first, last)) if capacity_left(used, Some(req.daily_cap)) => {
                    let t = next_slot.max(first);
                    if t <= last {
                        break t;
                    }
                }
                _ => {}
            }
            day = cal.next_business_day(day);
            next_slot = Timestamp::from_sydney_local(day.and_time(NaiveTime::MIN));
            used = 0;
            day_used = false;
        };
        if !day_used {
            days += 1;
            day_used = true;
        }
        used += 1;
        next_slot = slot.plus_millis(step);
        let port_ref = format!("{}-{:04}", req.ref_prefix, i + 1);
        let mut pr = PlanRequest::new(Category::C, cna);
        pr.cutover = Some(slot);
        pr.parties = Some(req.parties);
        let plan = plan(d, &pr)?;
        batches.push(Batch {
            port_ref,
            numbers: chunk.to_vec(),
            cna,
            cutover: slot,
            plan,
        });
    }
    let last_cutover = batches.last().map_or(first_cutover, |b| b.cutover);
    Ok(Migration {
        numbers: req.numbers.len(),
        batch_size: req.batch,
        daily_cap: req.daily_cap,
        start: req.start,
        first_cutover,
        last_cutover,
        cutover_days: days,
        request: req.clone(),
        batches,
    })
}

/// Consecutive numbers as ranges, in order.
fn ranges(numbers: &[TelephoneNumber]) -> Vec<NumberRange> {
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<NumberRange> = Vec::new();
    let mut run: Option<(TelephoneNumber, TelephoneNumber)> = None;
    for n in sorted {
        run = match run {
            Some((first, last)) if last.nsn().checked_add(1) == Some(n.nsn()) => Some((first, n)),
            Some((first, last)) => {
                out.extend(NumberRange::new(first, last).ok());
                Some((n, n))
            }
            None => Some((n, n)),
        };
    }
    if let Some((first, last)) = run {
        out.extend(NumberRange::new(first, last).ok());
    }
    out
}

fn range_text(r: NumberRange) -> String {
    if r.first == r.last {
        format!("\"{}\"", r.first)
    } else {
        format!("\"{}-{}\"", r.first, r.last)
    }
}

fn toml_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

impl Migration {
    /// For people: a summary, then one line per batch.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} numbers in {} Cat C batches of at most {}; the losing carrier {} confirms at most {} cutovers a day",
            self.numbers,
            self.batches.len(),
            self.batch_size,
            self.request.parties.losing,
            self.daily_cap
        );
        if let Some(first) = self.batches.first() {
            let _ = writeln!(
                out,
                "CNAs sent {}; cutovers from {} to {} on {} business days",
                first.cna, self.first_cutover, self.last_cutover, self.cutover_days
            );
        }
        out.push('\n');
        let _ = writeln!(
            out,
            "{:<14} {:>7}  {:<10}  {:<10}  cutover",
            "batch", "numbers", "first", "last"
        );
        for b in &self.batches {
            let first = b.numbers.first().map(ToString::to_string).unwrap_or_default();
            let last = b.numbers.last().map(ToString::to_string).unwrap_or_default();
            let _ = writeln!(
                out,
                "{:<14} {:>7}  {first}  {last}  {} ({})",
                b.port_ref,
                b.numbers.len(),
                b.cutover,
                b.cutover.sydney_naive().format("%a")
            );
        }
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// One row per number: its batch, when the batch's CNA goes and when it is cut over.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("batch,number,cna,cutover,cutover_date\n");
        for b in &self.batches {
            for n in &b.numbers {
                let _ = writeln!(
                    out,
                    "{},{n},{},{},{}",
                    b.port_ref,
                    b.cna,
                    b.cutover,
                    b.cutover.sydney_date()
                );
            }
        }
        out
    }

    /// The migration as a scenario (`docs/scenario-format.md`): the three (or two) carriers, the
    /// customer's service at the losing carrier, one Cat C port per batch at its planned CNA and
    /// cutover, the losing carrier's daily cap, and the expectation that every batch completes
    /// with no violation.
    pub fn to_scenario(&self) -> String {
        let r = &self.request;
        let p = r.parties;
        let donor = p.donor.unwrap_or(p.losing);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "name = {}",
            toml_str(&format!(
                "Migration of {} numbers in {} batches",
                self.numbers,
                self.batches.len()
            ))
        );
        let _ = writeln!(
            s,
            "description = \"Written by lnpsim plan migration: every batch of the plan as a Cat C port, to rehearse \
             it.\""
        );
        let start = Timestamp::from_sydney_local(self.start.and_time(NaiveTime::MIN));
        let _ = writeln!(s, "start = \"{start}\"\nseed = 1");
        let all: Vec<String> = ranges(&r.numbers).into_iter().map(range_text).collect();
        let mut codes = vec![p.gaining, p.losing];
        if !codes.contains(&donor) {
            codes.push(donor);
        }
        for code in &codes {
            let _ = writeln!(s, "\n[[carriers]]\ncode = \"{code}\"");
            if *code == donor {
                let _ = writeln!(s, "ranges = {}", toml_list(&all));
            }
            if *code == p.losing {
                let _ = writeln!(s, "daily_cap = {}", self.daily_cap);
            }
        }
        let mut pairs = vec![(p.gaining, p.losing)];
        if donor != p.losing && donor != p.gaining {
            pairs.push((donor, p.losing));
            pairs.push((donor, p.gaining));
        }
        for (a, b) in pairs {
            let _ = writeln!(s, "\n[[agreements]]\ncarriers = [\"{a}\", \"{b}\"]");
        }
        let ca = r.ca_date.unwrap_or(self.start);
        // A CNA without an account is rejected (code 2): the rehearsal needs one.
        let account = if r.account.is_empty() {
            "ACC-MIGRATION"
        } else {
            r.account.as_str()
        };
        let _ = writeln!(
            s,
            "\n[[services]]\nnumbers = {}\ncarrier = \"{}\"\ncustomer = {}\naccount = {}\nkind = \"complex\"",
            toml_list(&all),
            p.losing,
            toml_str(&r.customer),
            toml_str(account)
        );

        for b in &self.batches {
            let nums: Vec<String> = ranges(&b.numbers).into_iter().map(range_text).collect();
            let _ = writeln!(
                s,
                "\n[[ports]]\nref = \"{}\"\ncategory = \"C\"\nnumbers = {}\ngaining = \"{}\"\nlosing = \"{}\"\n\
                 customer = {}\naccount = {}\nca_date = \"{ca}\"\nsubmit_at = \"{}\"\ncutover = \"{}\"",
                b.port_ref,
                toml_list(&nums),
                p.gaining,
                p.losing,
                toml_str(&r.customer),
                toml_str(account),
                b.cna,
                b.cutover
            );
        }
        for b in &self.batches {
            let _ = writeln!(s, "\n[[expect]]\nport = \"{}\"\nstate = \"completed\"", b.port_ref);
        }
        let _ = writeln!(s, "\n[[expect]]\nviolations = []");
        s
    }
}
