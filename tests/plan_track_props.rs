//! Properties of `lnpsim plan` and `lnpsim track` against the simulator and the audit, for
//! random submit instants (any minute of any day near the holidays and daylight-saving changes
//! of 2026-2028), Cat A, C (with and without a PNV) and D, own-donor and third-party ports:
//!
//! 1. A one-port scenario submitted at that instant, with the plan's cutover, played by
//!    compliant carriers, audits clean, and every row falls inside the window of its plan step
//!    (`from` ≤ time ≤ `due`); the ECA goes at the plan's cutover (Cat A, D), the cutover is at
//!    the agreed time (Cat C).
//! 2. After every row of that run, the tracker's open duties (from the rows so far) are none of
//!    them overdue, and each one's `due` is exactly the deadline the audit applies to that rule:
//!    the audit of the same rows judged at `due` has no finding of it, judged 1 ms later it has.
//!
//! `LNPSIM_PROPTEST_CASES=N` sets the number of cases (default 16).

#[path = "props-support/market.rs"]
#[allow(dead_code, reason = "the shared market model has more than this test uses")]
mod market;

use chrono::{Datelike, Days, NaiveDate, NaiveTime};
use lnp_audit::Auditor;
use lnp_model::calendar::easter_sunday;
use lnp_model::{Category, Duties, MsgKind, PortStatus, RuleId, Rulebook, Timestamp, TraceRecord};
use lnp_plan::plan::{plan, Parties, Phase, Plan, PlanRequest, Step};
use lnp_plan::track::{open_duties, TrackedPort};
use lnp_plan::Who;
use lnp_sim::Scenario;
use market::{Carrier, Market, Port, Service};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};

fn cases() -> u32 {
    std::env::var("LNPSIM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(16)
}

#[derive(Clone, Copy, Debug)]
enum Shape {
    A,
    D,
    C,
    CWithPnv,
}

/// Dates near Easter, Anzac Day, Christmas, New Year and the DST changes.
fn anchor(year: i32, which: u8) -> NaiveDate {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d).expect("valid date");
    let first_sunday = |m| {
        let first = ymd(m, 1);
        first + Days::new(u64::from((7 - first.weekday().num_days_from_sunday()) % 7))
    };
    match which % 6 {
        0 => easter_sunday(year),
        1 => ymd(12, 25),
        2 => ymd(4, 25),
        3 => ymd(1, 1),
        4 => first_sunday(4),
        _ => first_sunday(10),
    }
}

fn submit_instant() -> impl Strategy<Value = Timestamp> {
    let base = NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date");
    let date = prop_oneof![
        (0u64..1096).prop_map(move |d| base + Days::new(d)),
        (2026i32..=2028, 0u8..6, 0u64..12).prop_map(|(y, which, back)| anchor(y, which) - Days::new(back)),
    ];
    (date, 0u32..24 * 60).prop_map(|(d, m)| {
        let time = NaiveTime::from_hms_opt(m / 60, m % 60, 0).expect("valid time");
        Timestamp::from_sydney_local(d.and_time(time))
    })
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![Just(Shape::A), Just(Shape::D), Just(Shape::C), Just(Shape::CWithPnv)]
}

const DONOR: u16 = 9001;
const LOSING: u16 = 9002;
const GAINING: u16 = 9003;

fn code(c: u16) -> lnp_model::CarrierCode {
    lnp_model::CarrierCode::new(c).expect("carrier code")
}

/// A market of three carriers with agreements between every pair and one port at `submit`.
fn one_port(submit: Timestamp, shape: Shape, third_party: bool, cutover: Timestamp) -> Market {
    let day_before = submit.sydney_date().pred_opt().expect("a day before");
    let start = market::local(day_before, 0, 0);
    let mut m = Market::new("One port from its plan", start, 7);
    for (c, block) in [(DONOR, "02551"), (LOSING, "02552"), (GAINING, "02553")] {
        m.carriers.push(Carrier {
            code: c,
            block: block.to_string(),
            daily_cap: None,
            answers_within: "5m".to_string(),
        });
    }
    m.agree(DONOR, LOSING, false);
    m.agree(DONOR, GAINING, false);
    m.agree(LOSING, GAINING, false);
    let owner = if third_party { DONOR } else { LOSING };
    let count = if matches!(shape, Shape::C | Shape::CWithPnv) {
        3
    } else {
        1
    };
    let numbers: Vec<String> = (0..count).map(|i| m.number(owner, 1000 + i)).collect();
    let simple = matches!(shape, Shape::A | Shape::D);
    m.services.push(Service {
        numbers: numbers.clone(),
        carrier: LOSING,
        customer: "Harbour Bakery Pty Ltd".into(),
        account: "ACC-1001".into(),
        kind: if simple { "simple" } else { "complex" },
    });
    m.ports.push(Port {
        id: "P1".into(),
        category: match shape {
            Shape::A => 'A',
            Shape::D => 'D',
            Shape::C | Shape::CWithPnv => 'C',
        },
        numbers,
        gaining: GAINING,
        losing: LOSING,
        customer: "Harbour Bakery Pty Ltd".into(),
        account: "ACC-1001".into(),
        ca_date: submit.sydney_date(),
        submit_at: submit,
        cutover,
        pnv: matches!(shape, Shape::CWithPnv),
        retarget: Vec::new(),
        withdraw_at: None,
        return_at: None,
    });
    m
}

fn category(shape: Shape) -> Category {
    match shape {
        Shape::A => Category::A,
        Shape::D => Category::D,
        Shape::C | Shape::CWithPnv => Category::C,
    }
}

fn the_plan(submit: Timestamp, shape: Shape, third_party: bool) -> Plan {
    let book = Rulebook::default();
    let cal = book.calendar();
    let d = Duties::new(&book, &cal);
    let mut req = PlanRequest::new(category(shape), submit);
    req.pnv = matches!(shape, Shape::CWithPnv);
    req.parties = Some(Parties {
        gaining: code(GAINING),
        losing: code(LOSING),
        donor: third_party.then(|| code(DONOR)),
    });
    plan(&d, &req).expect("a plan")
}

/// The plan step a trace row carries out, if any.
fn step_of<'p>(p: &'p Plan, r: &TraceRecord, first_p: bool) -> Option<&'p Step> {
    use MsgKind as K;
    let find = |rule: RuleId, phase: Option<Phase>| {
        p.steps
            .iter()
            .find(|s| s.rule == rule && phase.is_none_or(|ph| s.phase == ph))
    };
    let simple = p.category.is_simple();
    match r.message.kind {
        K::SnaConfirm | K::SnaReject => find(RuleId::SnaResponse, None),
        K::Eca => find(RuleId::EcaNeedsSna, None),
        K::EcaConfirm | K::EcaReject => find(RuleId::EcaResponse, None),
        K::Completion => find(RuleId::Completion, None),
        K::Cutover if simple => find(RuleId::Completion, None),
        K::Cutover => find(RuleId::CutoverAtAgreed, None),
        K::PnvResponse => find(RuleId::PnvResponse, None),
        K::CnaReceipt => find(RuleId::CnaReceipt, None),
        K::CnaConfirm | K::CnaReject => find(RuleId::CnaResponse, None),
        K::Cca => find(RuleId::CcaNeedsCna, None),
        K::CcaConfirm | K::CcaReject => find(RuleId::CcaResponse, None),
        K::DtrStart => find(RuleId::DtrDuration, Some(Phase::At)),
        K::DtrStop => find(RuleId::DtrDuration, Some(Phase::After)),
        K::PlnrPublish if r.message.detail.status == Some(PortStatus::C) => find(RuleId::PlnrUpdate, None),
        K::DonorNotify if r.message.detail.status == Some(PortStatus::P) && first_p => {
            find(RuleId::DonorNotify, Some(Phase::At))
        }
        K::DonorNotify if r.message.detail.status == Some(PortStatus::C) => {
            find(RuleId::DonorNotify, Some(Phase::After))
        }
        _ => None,
    }
}

fn audit_findings(scenario: &Scenario, rows: &[TraceRecord], horizon: Timestamp, rule: RuleId) -> usize {
    let book = Rulebook::default();
    let cal = book.calendar();
    let ctx = lnp_sim::context::audit_context(scenario);
    let mut a = Auditor::new(&book, &cal, Some(&ctx));
    for r in rows {
        a.push(r);
    }
    a.advance(horizon);
    a.finish().findings.iter().filter(|f| f.rule == rule).count()
}

fn check(submit: Timestamp, shape: Shape, third_party: bool) -> Result<(), TestCaseError> {
    let p = the_plan(submit, shape, third_party);
    let m = one_port(submit, shape, third_party, p.cutover);
    let outcome = m.run().map_err(TestCaseError::fail)?;
    prop_assert!(
        outcome.violated.is_empty(),
        "the compliant run of the plan is not clean: {}\n{}\n{}",
        outcome.names(),
        outcome.text,
        m.to_toml()
    );
    let trace = m.trace().map_err(TestCaseError::fail)?;
    let mut seen_p = false;
    for r in &trace {
        let first_p =
            r.message.kind == MsgKind::DonorNotify && r.message.detail.status == Some(PortStatus::P) && !seen_p;
        if first_p {
            seen_p = true;
        }
        if let Some(s) = step_of(&p, r, first_p) {
            let from = s.from.unwrap_or(Timestamp::FIRST);
            prop_assert!(
                from <= r.time && r.time <= s.due,
                "{} at {} (seq {}) is outside its plan step {} [{from}, {}]\nplan:\n{}\n{}",
                r.message.kind,
                r.time,
                r.seq,
                s.rule,
                s.due,
                p.to_text(),
                m.to_toml()
            );
        }
        if r.message.kind == MsgKind::Eca {
            prop_assert_eq!(r.time, p.cutover, "the ECA goes at the plan's cutover");
        }
        if r.message.kind == MsgKind::Cca {
            prop_assert_eq!(
                r.message.detail.cutover,
                Some(p.cutover),
                "the CCA agrees the plan's cutover"
            );
        }
    }
    // The tracker against the audit, at every instant of the run.
    let scenario = Scenario::from_toml(&m.to_toml(), None).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    let book = Rulebook::default();
    let cal = book.calendar();
    let d = Duties::new(&book, &cal);
    let numbers = trace
        .iter()
        .find(|r| matches!(r.message.kind, MsgKind::Sna | MsgKind::Pnv | MsgKind::Cna))
        .map(|r| r.message.numbers.to_vec())
        .unwrap_or_default();
    let port = TrackedPort {
        port_ref: "P1".into(),
        category: category(shape),
        numbers,
        gaining: code(GAINING),
        losing: code(LOSING),
        donor: third_party.then(|| code(DONOR)),
        after_hours: false,
    };
    let mut judged = 0;
    // Every prefix of the trace (rows of one instant come one by one, so a duty opened and done
    // in the same instant is seen open), judged at its last row's time.
    for end in 1..=trace.len() {
        let rows: Vec<TraceRecord> = trace[..end].to_vec();
        let at = rows[end - 1].time;
        for duty in open_duties(&d, &port, &rows, at) {
            prop_assert!(
                !duty.overdue,
                "a compliant run has an overdue duty at {at}: {duty:?}\n{}",
                m.to_toml()
            );
            // The audit judges a missing ECA as a lapse, not a finding, and PNV-RESPONSE as a statistic.
            if matches!(duty.rule, RuleId::SnaValidity | RuleId::PnvResponse) || duty.who == Who::Gaining {
                continue;
            }
            judged += 1;
            let at_due = audit_findings(&scenario, &rows, duty.due, duty.rule);
            let after = audit_findings(&scenario, &rows, duty.due.plus_millis(1), duty.rule);
            prop_assert!(
                after > at_due,
                "at {at} the tracker has {} due {} ({}), but the audit of the rows so far finds {at_due} at that \
                 instant and {after} a millisecond later\n{}",
                duty.rule,
                duty.due,
                duty.what,
                m.to_toml()
            );
        }
    }
    // Every port has at least its first answer, its cutover and the donor's duties to compare.
    prop_assert!(judged >= 3, "only {judged} open duties compared with the audit");
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: cases(), ..Config::default() })]

    #[test]
    fn plans_hold_in_the_simulator_and_the_tracker_agrees_with_the_audit(
        submit in submit_instant(),
        shape in shape(),
        third_party in any::<bool>(),
    ) {
        check(submit, shape, third_party)?;
    }
}

#[test]
fn a_third_party_cat_a_port_over_easter() {
    let submit: Timestamp = "2026-03-27T16:30:00+11:00".parse().expect("instant");
    check(submit, Shape::A, true).expect("holds");
}

#[test]
fn a_cat_c_port_with_a_pnv_over_christmas() {
    let submit: Timestamp = "2026-12-18T11:00:00+11:00".parse().expect("instant");
    check(submit, Shape::CWithPnv, false).expect("holds");
}
