//! Plan deadlines against the rulebook, across weekends, Easter, Christmas and Boxing Day with
//! their weekend substitutes, New Year, and the April and October daylight-saving changes. The
//! expected instants are worked out by hand from `docs/rules.md` ("Time"); each is also the
//! `Duties` function of its rule, so a plan can never drift from the audit.

use lnp_model::{BusinessCalendar, CarrierCode, Category, Duties, MsgKind, RuleId, Rulebook, Timestamp};
use lnp_plan::plan::{plan, Parties, Phase, Plan, PlanError, PlanRequest};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn setup() -> (Rulebook, BusinessCalendar) {
    let book = Rulebook::default();
    let cal = book.calendar();
    (book, cal)
}

fn plan_of(req: &PlanRequest) -> Plan {
    let (book, cal) = setup();
    plan(&Duties::new(&book, &cal), req).unwrap_or_else(|e| panic!("{e}"))
}

fn due(p: &Plan, rule: RuleId, phase: Option<Phase>) -> Timestamp {
    p.steps
        .iter()
        .find(|s| s.rule == rule && phase.is_none_or(|ph| s.phase == ph))
        .unwrap_or_else(|| panic!("no {rule} step in\n{}", p.to_text()))
        .due
}

fn code(c: u16) -> CarrierCode {
    CarrierCode::new(c).expect("code")
}

#[test]
fn cat_a_over_easter_and_the_end_of_daylight_saving() {
    // Friday 27 March 2026, 10:00 AEDT. Five business days skip the weekend, Good Friday (3 April)
    // and Easter Monday (6 April); daylight saving ends on Sunday 5 April, so the same local time
    // is +10:00.
    let p = plan_of(&PlanRequest::new(Category::A, t("2026-03-27T10:00:00+11:00")));
    assert_eq!(due(&p, RuleId::SnaResponse, None), t("2026-04-07T10:00:00+10:00"));
    assert_eq!(p.cutover, t("2026-04-07T10:00:00+10:00"), "the earliest legal cutover");
    assert!(p.earliest);
    assert_eq!(due(&p, RuleId::EcaResponse, None), t("2026-04-07T10:15:00+10:00"));
    assert_eq!(due(&p, RuleId::Completion, None), t("2026-04-07T11:15:00+10:00"));
    // 30 calendar days from the SNA at the same local time: 26 April, a Sunday, so the last
    // legal ECA is Friday 24 April at 16:45 (Anzac Day, Saturday 25 April, is no business day
    // either).
    assert_eq!(due(&p, RuleId::SnaValidity, None), t("2026-04-26T10:00:00+10:00"));
    assert_eq!(due(&p, RuleId::EcaNeedsSna, None), t("2026-04-24T16:45:00+10:00"));
    // Transit routing from the latest cutover (COMPLETION's deadline) for 5 business days.
    assert_eq!(
        due(&p, RuleId::DtrDuration, Some(Phase::After)),
        t("2026-04-14T11:15:00+10:00")
    );
    assert_eq!(due(&p, RuleId::EmergencyReturn, None), t("2026-04-07T14:00:00+10:00"));
    // PLNR: not before 4 hours after the (latest) cutover, then 1 business day.
    assert_eq!(due(&p, RuleId::PlnrUpdate, None), t("2026-04-08T15:15:00+10:00"));
}

#[test]
fn a_cutover_on_the_thursday_before_good_friday() {
    let mut req = PlanRequest::new(Category::A, t("2026-03-23T09:00:00+11:00"));
    req.cutover = Some(t("2026-04-02T15:00:00+11:00"));
    let p = plan_of(&req);
    // COMPLETION by 16:15; the reversal window ends 4 hours after the earliest cutover.
    assert_eq!(due(&p, RuleId::Completion, None), t("2026-04-02T16:15:00+11:00"));
    assert_eq!(due(&p, RuleId::EmergencyReturn, None), t("2026-04-02T19:00:00+11:00"));
    // The register: 16:15 + 4 h = 20:15 Thursday, then one business day over Easter: Tuesday.
    assert_eq!(due(&p, RuleId::PlnrUpdate, None), t("2026-04-07T20:15:00+10:00"));
    // Transit routing: 7, 8, 9, 10 and 13 April.
    assert_eq!(
        due(&p, RuleId::DtrDuration, Some(Phase::After)),
        t("2026-04-13T16:15:00+10:00")
    );
}

#[test]
fn christmas_2026_on_a_friday_boxing_day_observed_on_monday() {
    // Thursday 24 December 2026: 25 (Christmas), 26-27 (weekend), 28 (Boxing Day observed) and
    // 1 January (New Year's Day) are not business days.
    let p = plan_of(&PlanRequest::new(Category::A, t("2026-12-24T10:00:00+11:00")));
    assert_eq!(due(&p, RuleId::SnaResponse, None), t("2027-01-05T10:00:00+11:00"));
}

#[test]
fn christmas_2022_on_a_sunday_moves_to_tuesday() {
    // Christmas Sunday 25 December 2022 is observed on Tuesday 27th (Boxing Day holds Monday
    // 26th); New Year's Day, Sunday 1 January 2023, on Monday 2nd.
    let p = plan_of(&PlanRequest::new(Category::A, t("2022-12-23T10:00:00+11:00")));
    // 28, 29, 30 December, 3 and 4 January.
    assert_eq!(due(&p, RuleId::SnaResponse, None), t("2023-01-04T10:00:00+11:00"));
}

#[test]
fn christmas_2021_on_a_saturday_boxing_day_on_sunday() {
    // Saturday 25 and Sunday 26 December 2021 are observed on Monday 27th and Tuesday 28th; New
    // Year's Day, Saturday 1 January 2022, on Monday 3rd.
    let p = plan_of(&PlanRequest::new(Category::A, t("2021-12-24T09:00:00+11:00")));
    // 29, 30, 31 December, 4 and 5 January.
    assert_eq!(due(&p, RuleId::SnaResponse, None), t("2022-01-05T09:00:00+11:00"));
}

#[test]
fn cat_a_across_the_start_of_daylight_saving_in_october() {
    // Thursday 1 October 2026 10:00 AEST; daylight saving starts on Sunday 4 October. The NSW
    // Labour Day (Monday 5 October) is not a national holiday.
    let p = plan_of(&PlanRequest::new(Category::A, t("2026-10-01T10:00:00+10:00")));
    assert_eq!(due(&p, RuleId::SnaResponse, None), t("2026-10-08T10:00:00+11:00"));
    // With the state holiday loaded, one day later.
    let book = Rulebook::default();
    let mut cal = book.calendar();
    cal.add_holiday(
        chrono::NaiveDate::from_ymd_opt(2026, 10, 5).expect("date"),
        "Labour Day",
    );
    let p = plan(
        &Duties::new(&book, &cal),
        &PlanRequest::new(Category::A, t("2026-10-01T10:00:00+10:00")),
    )
    .expect("plan");
    assert_eq!(due(&p, RuleId::SnaResponse, None), t("2026-10-09T10:00:00+11:00"));
}

#[test]
fn a_request_on_a_weekend_counts_from_monday_midnight() {
    // Saturday 7 March 2026: the count starts at 00:00 on Monday 9 March.
    let p = plan_of(&PlanRequest::new(Category::A, t("2026-03-07T12:00:00+11:00")));
    assert_eq!(due(&p, RuleId::SnaResponse, None), t("2026-03-16T00:00:00+11:00"));
    assert_eq!(
        p.cutover,
        t("2026-03-16T08:00:00+11:00"),
        "Standard Hours start at 08:00"
    );
}

#[test]
fn cat_c_over_a_weekend() {
    // Friday 6 March 2026 16:00: receipt Monday, answer Friday 13th, the CCA a business day later
    // (Monday 16th), its answer Tuesday 17th 16:00: the earliest agreed cutover.
    let p = plan_of(&PlanRequest::new(Category::C, t("2026-03-06T16:00:00+11:00")));
    assert_eq!(due(&p, RuleId::CnaReceipt, None), t("2026-03-09T16:00:00+11:00"));
    assert_eq!(due(&p, RuleId::CnaResponse, None), t("2026-03-13T16:00:00+11:00"));
    assert_eq!(due(&p, RuleId::CcaNeedsCna, None), t("2026-03-16T16:00:00+11:00"));
    assert_eq!(due(&p, RuleId::CcaResponse, None), t("2026-03-17T16:00:00+11:00"));
    assert_eq!(p.cutover, t("2026-03-17T16:00:00+11:00"));
    assert_eq!(due(&p, RuleId::CutoverAtAgreed, None), t("2026-03-17T16:30:00+11:00"));
}

#[test]
fn cat_c_with_a_pnv_over_christmas_and_new_year() {
    let mut req = PlanRequest::new(Category::C, t("2026-12-21T10:00:00+11:00"));
    req.pnv = true;
    let p = plan_of(&req);
    // PNV: 22, 23, 24, 29, 30 December.
    assert_eq!(due(&p, RuleId::PnvResponse, None), t("2026-12-30T10:00:00+11:00"));
    // The CNA at the PNV answer's deadline: 31 December, 4, 5, 6, 7 January.
    assert_eq!(due(&p, RuleId::CnaResponse, None), t("2027-01-07T10:00:00+11:00"));
    assert_eq!(p.cutover, t("2027-01-11T10:00:00+11:00"));
}

#[test]
fn every_due_is_the_duty_function() {
    let (book, cal) = setup();
    let d = Duties::new(&book, &cal);
    let submit = t("2026-04-24T15:30:00+10:00");
    let mut req = PlanRequest::new(Category::A, submit);
    req.parties = Some(Parties {
        gaining: code(9003),
        losing: code(9002),
        donor: Some(code(9001)),
    });
    let p = plan(&d, &req).expect("plan");
    let sna = d.answer(MsgKind::Sna, submit).expect("an answer duty");
    assert_eq!(due(&p, RuleId::SnaResponse, None), sna.deadline);
    assert_eq!(p.cutover, d.earliest_eca(submit, false));
    let eca = d.answer(MsgKind::Eca, p.cutover).expect("an answer duty");
    assert_eq!(due(&p, RuleId::EcaResponse, None), eca.deadline);
    let (_, latest_cut) = d.cat_a_cutover_window(p.cutover, false);
    assert_eq!(due(&p, RuleId::Completion, None), d.completion_deadline(eca.deadline));
    assert_eq!(
        due(&p, RuleId::DonorNotify, Some(Phase::At)),
        d.donor_notify_pending_deadline(latest_cut)
    );
    assert_eq!(
        due(&p, RuleId::DtrDuration, Some(Phase::At)),
        d.dtr_start_deadline(latest_cut, latest_cut)
    );
    assert_eq!(
        due(&p, RuleId::PlnrUpdate, None),
        d.plnr_completed_window(latest_cut, d.completion_deadline(eca.deadline))
            .1
    );
    // In `due` order.
    assert!(p.steps.windows(2).all(|w| w[0].due <= w[1].due), "{}", p.to_text());
}

#[test]
fn no_legal_cutover() {
    let (book, cal) = setup();
    let d = Duties::new(&book, &cal);
    let mut req = PlanRequest::new(Category::A, t("2026-03-02T09:00:00+11:00"));
    req.retargets = 3;
    assert!(matches!(plan(&d, &req), Err(PlanError::NoLegalCutover(m)) if m.contains("104")));
    req.retargets = 2;
    assert!(plan(&d, &req).is_ok(), "the second re-target is within the limit");
    req.cutover = Some(t("2026-03-05T10:00:00+11:00"));
    assert!(matches!(plan(&d, &req), Err(PlanError::NoLegalCutover(m)) if m.contains("2026-03-09T09:00:00+11:00")));
    req.cutover = Some(t("2026-04-02T10:00:00+11:00"));
    assert!(matches!(plan(&d, &req), Err(PlanError::NoLegalCutover(m)) if m.contains("2026-04-01T09:00:00+11:00")));
    req.cutover = Some(t("2026-03-10T16:50:00+11:00"));
    assert!(matches!(plan(&d, &req), Err(PlanError::NoLegalCutover(m)) if m.contains("2026-03-11T08:00:00+11:00")));
    req.after_hours = true;
    assert!(plan(&d, &req).is_ok(), "an after-hours agreement allows it");
    // A rulebook whose SNA confirmation lapses before the SNA must be answered.
    let short = Rulebook::from_toml("[SNA-VALIDITY]\nvalue = \"2d\"\n").expect("rulebook");
    let cal = short.calendar();
    let d = Duties::new(&short, &cal);
    let req = PlanRequest::new(Category::A, t("2026-03-02T09:00:00+11:00"));
    assert!(matches!(plan(&d, &req), Err(PlanError::NoLegalCutover(_))));
    let mut pnv_a = PlanRequest::new(Category::A, t("2026-03-02T09:00:00+11:00"));
    pnv_a.pnv = true;
    assert!(matches!(
        plan(&Duties::new(&book, &book.calendar()), &pnv_a),
        Err(PlanError::BadRequest(_))
    ));
}
