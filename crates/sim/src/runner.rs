//! Running a scenario end to end: the engine, the audit of its own trace, and the scenario's
//! expectations.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use lnp_audit::{Auditor, Report, StatStatus};
use lnp_model::{BusinessCalendar, CarrierCode, RuleId, Rulebook, TraceRecord};

use crate::engine::{RunOptions, RunStats, SetupError, Sim, TraceSink};
use crate::scenario::{ExpectKind, RouteExpect, Scenario};

/// The verdict on one `[[expect]]`.
#[derive(Clone, Debug)]
pub struct ExpectResult {
    /// 1-based line of the `[[expect]]` in the scenario file.
    pub line: usize,
    /// What was expected, in words.
    pub what: String,
    pub passed: bool,
    /// What was found, and why it passed or failed.
    pub detail: String,
}

/// Everything a run produced besides the trace.
pub struct RunReport {
    pub stats: RunStats,
    pub expectations: Vec<ExpectResult>,
    pub audit: Report,
    pub sim: Sim,
}

impl RunReport {
    pub fn all_passed(&self) -> bool {
        self.expectations.iter().all(|e| e.passed)
    }
}

/// Passes records on to the caller's sink and to the audit.
struct Tee<'a> {
    sink: &'a mut dyn TraceSink,
    auditor: Auditor<'a>,
}

impl TraceSink for Tee<'_> {
    fn record(&mut self, record: &TraceRecord) {
        self.auditor.push(record);
        self.sink.record(record);
    }

    fn record_owned(&mut self, record: TraceRecord) {
        self.auditor.push(&record);
        self.sink.record_owned(record);
    }
}

fn path_text(hops: &[CarrierCode]) -> String {
    hops.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> ")
}

/// Runs a scenario: sets up the market, plays it, audits the trace as it is produced, and
/// checks the expectations.
pub fn run_scenario(
    scenario: &Scenario,
    rulebook: &Rulebook,
    calendar: &BusinessCalendar,
    options: RunOptions,
    sink: &mut dyn TraceSink,
) -> Result<RunReport, SetupError> {
    let mut sim = start(scenario, rulebook, calendar, options)?;
    let context = crate::context::audit_context(scenario);
    let audit = {
        let mut tee = Tee {
            sink,
            auditor: Auditor::new(rulebook, calendar, Some(&context)),
        };
        sim.run(&mut tee);
        // The run's horizon is its end, which may lie after the last row (`until`).
        tee.auditor.finish_at(sim.now())
    };
    Ok(conclude(scenario, sim, audit))
}

/// The first half of [`run_scenario`], for a caller that audits the trace itself (on a thread
/// of its own, say): the market set up to run, with the scenario's tracked numbers. Play it
/// with [`Sim::run`], audit every record with an [`Auditor`] made with
/// [`crate::context::audit_context`] and advanced to [`Sim::now`] at the end, then hand both to
/// [`conclude`]. The report is [`run_scenario`]'s, exactly.
pub fn start(
    scenario: &Scenario,
    rulebook: &Rulebook,
    calendar: &BusinessCalendar,
    mut options: RunOptions,
) -> Result<Sim, SetupError> {
    if scenario.load.is_some() && options.track_routes.is_none() {
        let tracked: BTreeSet<_> = scenario
            .expects
            .iter()
            .filter_map(|e| match &e.kind {
                ExpectKind::Route { number, .. } | ExpectKind::Plnr { number, .. } => Some(*number),
                _ => None,
            })
            .chain(scenario.ports.iter().flat_map(|p| p.numbers.iter().copied()))
            .collect();
        options.track_routes = Some(tracked);
    }
    Sim::new(scenario, rulebook, calendar, options)
}

/// The second half of [`run_scenario`]: the expectations checked against a finished run and
/// the audit of its trace.
pub fn conclude(scenario: &Scenario, mut sim: Sim, audit: Report) -> RunReport {
    let stats = sim.stats().clone();
    let mut expectations = check_expectations(scenario, &mut sim, &audit);
    if let Some(load) = scenario.load.as_ref().filter(|_| stats.load_ports_missing > 0) {
        let missing = stats.load_ports_missing;
        expectations.push(ExpectResult {
            line: load.line,
            what: format!("[load] generates {} ports", load.ports),
            passed: missing == 0,
            detail: format!("{missing} of them could not be generated: their losing carriers' ranges ran out"),
        });
    }
    RunReport {
        stats,
        expectations,
        audit,
        sim,
    }
}

fn check_expectations(scenario: &Scenario, sim: &mut Sim, audit: &Report) -> Vec<ExpectResult> {
    let end = sim.now();
    let mut out = Vec::new();
    for e in &scenario.expects {
        let r = match &e.kind {
            ExpectKind::Port { port, state } => {
                let want = state.as_str();
                match sim.port_outcome(port) {
                    Some((got, stage)) => ExpectResult {
                        line: e.line,
                        what: format!("port {port} is {want}"),
                        passed: got == want,
                        detail: format!("port {port} is {got} ({stage})"),
                    },
                    None => ExpectResult {
                        line: e.line,
                        what: format!("port {port} is {want}"),
                        passed: want == "pending",
                        detail: format!("port {port} was never submitted before the run ended"),
                    },
                }
            }
            ExpectKind::Route { number, from, at, path } => {
                let got = sim.routing().path(*from, *number, *at);
                let want_text = match path {
                    RouteExpect::Path(h) => path_text(h),
                    RouteExpect::Unreachable => "unreachable".into(),
                };
                let passed = match path {
                    RouteExpect::Path(h) => got.is_delivered() && got.hops == *h,
                    RouteExpect::Unreachable => !got.is_delivered(),
                };
                let got_text = if got.is_delivered() {
                    path_text(&got.hops)
                } else {
                    format!("unreachable after {}", path_text(&got.hops))
                };
                ExpectResult {
                    line: e.line,
                    what: format!("a call from {from} to {number} at {at} goes {want_text}"),
                    passed,
                    detail: format!("it goes {got_text} ({})", got.reasons.join("; ")),
                }
            }
            ExpectKind::Plnr {
                donor,
                number,
                at,
                current,
                status,
                absent,
            } => {
                let at = at.unwrap_or(end);
                let reg = sim.register_at(*donor, at);
                let found = reg.get(number);
                let what = if *absent {
                    format!("{donor}'s register at {at} does not list {number}")
                } else {
                    let mut w = format!("{donor}'s register at {at} lists {number}");
                    if let Some(c) = current {
                        let _ = write!(w, " with {c}");
                    }
                    if let Some(s) = status {
                        let _ = write!(w, " status {s}");
                    }
                    w
                };
                let (passed, detail) = match found {
                    None => (*absent, format!("{number} is not in the register")),
                    Some(p) => (
                        !*absent && current.is_none_or(|c| c == p.current) && status.is_none_or(|s| s == p.status),
                        format!(
                            "{number} is listed with {} status {} (published {}, file {})",
                            p.current, p.status, p.at, p.file_seq
                        ),
                    ),
                };
                ExpectResult {
                    line: e.line,
                    what,
                    passed,
                    detail,
                }
            }
            ExpectKind::Violations(want) => {
                let want: BTreeSet<RuleId> = want.iter().copied().collect();
                let mut got: BTreeSet<RuleId> = audit.violated_rules().into_iter().collect();
                got.extend(
                    audit
                        .statistics
                        .iter()
                        .filter(|s| s.status == StatStatus::Fail)
                        .map(|s| s.rule),
                );
                // Rules the audit cannot check from a trace, which the simulator saw broken.
                got.extend(sim.findings().iter().map(|f| f.rule));
                let names = |s: &BTreeSet<RuleId>| {
                    if s.is_empty() {
                        "none".to_string()
                    } else {
                        s.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                    }
                };
                let mut detail = format!("violated: {}", names(&got));
                let missing: BTreeSet<_> = want.difference(&got).copied().collect();
                let extra: BTreeSet<_> = got.difference(&want).copied().collect();
                if !missing.is_empty() {
                    let _ = write!(detail, "; expected but not found: {}", names(&missing));
                }
                if !extra.is_empty() {
                    let _ = write!(detail, "; found but not expected: {}", names(&extra));
                    for f in audit.findings.iter().filter(|f| extra.contains(&f.rule)).take(3) {
                        let _ = write!(detail, " [{}: {}]", f.rule, f.message);
                    }
                    for f in sim.findings().iter().filter(|f| extra.contains(&f.rule)).take(3) {
                        let _ = write!(detail, " [{}: {}]", f.rule, f.message);
                    }
                }
                ExpectResult {
                    line: e.line,
                    what: format!("violations are exactly [{}]", names(&want)),
                    passed: want == got,
                    detail,
                }
            }
        };
        out.push(r);
    }
    out
}
