//! The carrier actor driven directly, without the engine: a gaining and a losing carrier (and, for
//! a third-party port, a donor) built with [`Carrier::new`], the `Output::Send` envelopes of one
//! handed by hand to the other as `Input::Receive`, and the carriers woken at their
//! `next_deadline()`. Each test asserts what comes out, and when, against `docs/rules.md` and the
//! duties of `lnp_model::Duties`.
//!
//! Numbers are ACMA's fictitious (02) 5550 xxxx range; carriers are 9001 (losing), 9002 (gaining)
//! and 9003 (donor of a third-party port).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use lnp_actors::{
    Agreement, Carrier, CarrierConfig, Command, GainingState, Input, Outcome, Output, PortRequest, Service, ServiceKind,
};
use lnp_model::{
    BusinessCalendar, CarrierCode, Category, Code, Detail, Duties, Envelope, Message, MsgKind, NumberCode, NumberRange,
    PortRef, PortStatus, RejectCode, Rulebook, TelephoneNumber, Timestamp,
};

const LOSING: u16 = 9001;
const GAINING: u16 = 9002;
const DONOR: u16 = 9003;

/// What a carrier put out, each output with the instant it was due.
type Timed = Vec<(Timestamp, Output)>;

fn code(c: u16) -> CarrierCode {
    CarrierCode::new(c).expect("a four-digit carrier code")
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn num(s: &str) -> TelephoneNumber {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn pref(s: &str) -> PortRef {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a calendar date")
}

fn range(s: &str) -> NumberRange {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The losing carrier's own range (it is the donor of these numbers).
const LOSING_RANGE: &str = "0255500000-0255509999";
/// The donor's range in the third-party port.
const DONOR_RANGE: &str = "0255520000-0255529999";

fn allocations() -> Vec<(NumberRange, CarrierCode)> {
    vec![(range(LOSING_RANGE), code(LOSING)), (range(DONOR_RANGE), code(DONOR))]
}

/// A carrier's configuration: its ranges and its agreements (`(other, after_hours)`).
fn config(name: &str, ranges: &[&str], agreements: &[(u16, bool)]) -> CarrierConfig {
    CarrierConfig {
        name: name.into(),
        ranges: ranges.iter().map(|r| range(r)).collect(),
        agreements: agreements
            .iter()
            .map(|(c, after_hours)| {
                (
                    code(*c),
                    // The actor reads only `after_hours`; the pair names the other carrier twice.
                    Agreement {
                        carriers: [code(*c), code(*c)],
                        after_hours: *after_hours,
                    },
                )
            })
            .collect(),
        start: t("2026-01-01T00:00:00+11:00"),
        allocations: allocations(),
        ..CarrierConfig::default()
    }
}

fn carrier(c: u16, config: CarrierConfig) -> Carrier {
    let book = Rulebook::default();
    let calendar = book.calendar();
    Carrier::new(code(c), config, book, calendar)
}

/// A losing carrier (9001) holding its own range, with an agreement with the gaining carrier.
fn losing(after_hours: bool) -> Carrier {
    carrier(LOSING, config("Losing", &[LOSING_RANGE], &[(GAINING, after_hours)]))
}

/// A gaining carrier (9002) with no range of its own, with an agreement with the losing carrier.
fn gaining(after_hours: bool) -> Carrier {
    carrier(GAINING, config("Gaining", &[], &[(LOSING, after_hours)]))
}

fn book() -> Rulebook {
    Rulebook::default()
}

fn calendar() -> BusinessCalendar {
    book().calendar()
}

/// A Cat A port of one number of the losing carrier's range.
fn cat_a(port_ref: &str, number: &str, ca_date: NaiveDate, cutover: Timestamp) -> PortRequest {
    let n = num(number);
    PortRequest {
        port_ref: pref(port_ref),
        category: Category::A,
        numbers: vec![n],
        losing: code(LOSING),
        donors: vec![(n, code(LOSING))],
        customer: "Pat Citizen".into(),
        account: "ACC-0001".into(),
        ca_date,
        cutover,
        pnv: false,
        retargets: Vec::new(),
        keep: true,
    }
}

fn submit(c: &mut Carrier, at: Timestamp, req: PortRequest) -> Timed {
    stamp(at, c.handle(at, Input::Command(Command::Submit(Box::new(req)))))
}

fn stamp(at: Timestamp, outs: Vec<Output>) -> Timed {
    outs.into_iter().map(|o| (at, o)).collect()
}

/// Wakes the carrier at each of its deadlines up to `until`, inclusive.
fn pump(c: &mut Carrier, until: Timestamp) -> Timed {
    let mut out = Vec::new();
    while let Some(at) = c.next_deadline().filter(|at| *at <= until) {
        out.extend(stamp(at, c.handle(at, Input::Timeout)));
    }
    out
}

/// Hands `env` to `c` at `at`, then wakes it at its deadlines until its processing time has
/// passed (when its answer is due), and no further.
fn recv(c: &mut Carrier, at: Timestamp, env: &Envelope, processing_ms: i64) -> Timed {
    assert_eq!(env.to, c.code(), "{} is not for {}", env.message.kind, c.code());
    let mut out = stamp(
        at,
        c.handle(
            at,
            Input::Receive {
                envelope: env.clone(),
                processing_ms,
            },
        ),
    );
    out.extend(pump(c, at.plus_millis(processing_ms)));
    out
}

/// The messages sent, of one kind.
fn sent(out: &Timed, kind: MsgKind) -> Vec<(Timestamp, Envelope)> {
    out.iter()
        .filter_map(|(at, o)| match o {
            Output::Send(e) if e.message.kind == kind => Some((*at, (**e).clone())),
            _ => None,
        })
        .collect()
}

/// The one message of this kind that was sent.
fn one_sent(out: &Timed, kind: MsgKind) -> (Timestamp, Envelope) {
    let all = sent(out, kind);
    assert_eq!(all.len(), 1, "expected one {kind}, found {out:#?}");
    all.into_iter().next().expect("one")
}

/// The actions taken, of one kind.
fn acted(out: &Timed, kind: MsgKind) -> Vec<(Timestamp, Message)> {
    out.iter()
        .filter_map(|(at, o)| match o {
            Output::Action(m) if m.kind == kind => Some((*at, (**m).clone())),
            _ => None,
        })
        .collect()
}

fn kinds(out: &Timed) -> Vec<MsgKind> {
    out.iter().map(|(_, o)| o.kind()).collect()
}

fn no_unexpected(out: &Timed) {
    assert!(
        !out.iter().any(|(_, o)| matches!(o, Output::Unexpected(_))),
        "unexpected messages: {out:#?}"
    );
}

fn state(c: &Carrier, port_ref: &str) -> GainingState {
    c.gaining_state(&pref(port_ref))
        .unwrap_or_else(|| panic!("{} has no port {port_ref}", c.code()))
        .clone()
}

/// An SNA as a gaining carrier sends it, written by hand.
fn sna_by_hand(port_ref: &str, number: &str, ca_date: NaiveDate) -> Envelope {
    let mut m = Message::new(MsgKind::Sna, pref(port_ref));
    m.category = Some(Category::A);
    m.numbers = lnp_model::Numbers::from_slice(&[num(number)]);
    m.detail = Detail::default();
    m.detail.ca_date = Some(ca_date);
    m.detail.set_account(Some("ACC-0001".into()));
    Envelope {
        from: code(GAINING),
        to: code(LOSING),
        message: m,
    }
}

// ----- Cat A: SNA, ECA, CUTOVER, COMPLETION -------------------------------------------------

#[test]
fn sna_confirmed_then_eca_confirmed_with_cutover_and_completion() {
    let (mut g, mut l) = (gaining(false), losing(false));
    let submitted = t("2026-03-02T09:00:00+11:00"); // a Monday
    let preferred = t("2026-03-03T10:00:00+11:00");
    let out = submit(
        &mut g,
        submitted,
        cat_a("P1", "0255501234", date(2026, 2, 20), preferred),
    );
    let (at, sna) = one_sent(&out, MsgKind::Sna);
    assert_eq!(at, submitted);
    assert_eq!(sna.to, code(LOSING));
    assert_eq!(sna.message.numbers.to_vec(), vec![num("0255501234")]);
    assert_eq!(sna.message.detail.ca_date, Some(date(2026, 2, 20)));
    assert_eq!(state(&g, "P1"), GainingState::AwaitSnaReply);

    // The losing carrier confirms after its processing time.
    let out = recv(&mut l, at, &sna, 60_000);
    no_unexpected(&out);
    let (confirmed, conf) = one_sent(&out, MsgKind::SnaConfirm);
    assert_eq!(confirmed, t("2026-03-02T09:01:00+11:00"));
    assert_eq!(conf.to, code(GAINING));
    assert!(sent(&out, MsgKind::SnaReject).is_empty());

    // The gaining carrier plans the ECA at the preferred cutover (inside Standard Hours).
    let out = recv(&mut g, confirmed, &conf, 0);
    no_unexpected(&out);
    assert!(sent(&out, MsgKind::Eca).is_empty(), "no ECA before its time: {out:#?}");
    assert_eq!(
        state(&g, "P1"),
        GainingState::AwaitEcaTime {
            confirmed_at: confirmed,
            eca_at: preferred
        }
    );
    assert_eq!(g.next_deadline(), Some(preferred));
    let out = pump(&mut g, preferred);
    let (eca_at, eca) = one_sent(&out, MsgKind::Eca);
    assert_eq!(eca_at, preferred);
    assert_eq!(state(&g, "P1"), GainingState::AwaitEcaReply);

    // The losing carrier confirms the ECA, cuts over and sends COMPLETION, all at its answer.
    let out = recv(&mut l, eca_at, &eca, 30_000);
    no_unexpected(&out);
    let answered = t("2026-03-03T10:00:30+11:00");
    let (at, eca_conf) = one_sent(&out, MsgKind::EcaConfirm);
    assert_eq!(at, answered);
    let cutovers = acted(&out, MsgKind::Cutover);
    assert_eq!(cutovers.len(), 1, "{out:#?}");
    assert_eq!(cutovers[0].0, answered);
    assert_eq!(cutovers[0].1.numbers.to_vec(), vec![num("0255501234")]);
    assert_eq!(cutovers[0].1.detail.current, Some(code(GAINING)));
    let (at, completion) = one_sent(&out, MsgKind::Completion);
    assert_eq!(at, answered);
    let order = kinds(&out);
    let pos = |k: MsgKind| order.iter().position(|x| *x == k).expect("present");
    assert!(pos(MsgKind::EcaConfirm) < pos(MsgKind::Completion), "{order:?}");
    assert!(pos(MsgKind::Cutover) < pos(MsgKind::Completion), "{order:?}");
    // As the donor of its own number it starts transit routing at the cutover.
    assert_eq!(acted(&out, MsgKind::DtrStart).len(), 1, "{out:#?}");

    let out = recv(&mut g, answered, &eca_conf, 0);
    no_unexpected(&out);
    assert_eq!(state(&g, "P1"), GainingState::AwaitCompletion);
    let out = recv(&mut g, answered, &completion, 0);
    no_unexpected(&out);
    assert_eq!(state(&g, "P1"), GainingState::Completed { cutover_at: answered });
    assert_eq!(state(&g, "P1").outcome(), Outcome::Completed);
    assert!(g.serves(num("0255501234")));
    assert!(!l.serves(num("0255501234")));

    // A second COMPLETION is an answer to nothing.
    let out = recv(&mut g, answered.plus_millis(1000), &completion, 0);
    let [(_, Output::Unexpected(u))] = out.as_slice() else {
        panic!("expected one unexpected message, found {out:#?}");
    };
    assert_eq!(u.kind, MsgKind::Completion);
    assert_eq!(u.state, "completed");
}

// ----- CA-AGE is judged at receipt ------------------------------------------------------------

#[test]
fn ca_age_is_judged_at_receipt_not_at_the_answer() {
    let (book, cal) = (book(), calendar());
    let duties = Duties::new(&book, &cal);
    let ca = date(2026, 1, 1);
    // 23:59:30 on the authority's 90th day; the answer comes two minutes later, after midnight.
    let received = t("2026-04-01T23:59:30+11:00");
    let processing = 120_000;
    let answered = received.plus_millis(processing);
    assert!(!duties.ca_stale(ca, received));
    assert!(
        duties.ca_stale(ca, answered),
        "the test needs an answer on a stale date"
    );

    let (mut g, mut l) = (gaining(false), losing(false));
    let out = submit(
        &mut g,
        received,
        cat_a("P1", "0255501234", ca, t("2026-04-08T10:00:00+10:00")),
    );
    let (_, sna) = one_sent(&out, MsgKind::Sna);
    let out = recv(&mut l, received, &sna, processing);
    no_unexpected(&out);
    assert!(sent(&out, MsgKind::SnaReject).is_empty(), "{out:#?}");
    let (at, conf) = one_sent(&out, MsgKind::SnaConfirm);
    assert_eq!(at, answered);
    assert_eq!(at.sydney_date(), date(2026, 4, 2));
    let out = recv(&mut g, at, &conf, 0);
    no_unexpected(&out);
    assert!(matches!(state(&g, "P1"), GainingState::AwaitEcaTime { .. }));

    // The same authority on an SNA received after midnight is stale: 001.
    let late = t("2026-04-02T00:00:30+11:00");
    let out = recv(&mut l, late, &sna_by_hand("P2", "0255501235", ca), 0);
    let (at, rej) = one_sent(&out, MsgKind::SnaReject);
    assert_eq!(at, late);
    assert_eq!(rej.message.code, Code::whole(RejectCode::CA_INVALID));
}

// ----- SNA-VALIDITY: an unused confirmation lapses -------------------------------------------

#[test]
fn an_sna_confirmation_without_an_eca_lapses_exactly_at_sna_lapse() {
    let (book, cal) = (book(), calendar());
    let duties = Duties::new(&book, &cal);
    let (mut g, mut l) = (gaining(false), losing(false));
    let submitted = t("2026-03-02T09:00:00+11:00");
    // The preferred cutover lies beyond the confirmation's validity: no ECA will ever go.
    let preferred = t("2026-05-15T10:00:00+10:00");
    let out = submit(
        &mut g,
        submitted,
        cat_a("P1", "0255501234", date(2026, 3, 1), preferred),
    );
    let (_, first) = one_sent(&out, MsgKind::Sna);
    let out = recv(&mut l, submitted, &first, 60_000);
    let (confirmed, conf) = one_sent(&out, MsgKind::SnaConfirm);
    let valid_until = duties.sna_valid_until(confirmed);
    let lapse = duties.sna_lapse(confirmed);
    assert_eq!(lapse, valid_until.plus_millis(1));
    // The losing carrier's next timer is the lapse itself.
    assert_eq!(l.next_deadline(), Some(lapse));

    let out = recv(&mut g, confirmed, &conf, 0);
    no_unexpected(&out);
    assert!(matches!(state(&g, "P1"), GainingState::AwaitEcaTime { .. }));

    // Up to the last instant of validity the number is pending: a second port is refused (008).
    let out = pump(&mut l, valid_until);
    assert!(out.iter().all(|(at, _)| *at < valid_until), "{out:#?}");
    let out = recv(
        &mut l,
        valid_until,
        &sna_by_hand("P2", "0255501234", date(2026, 3, 30)),
        0,
    );
    let (at, rej) = one_sent(&out, MsgKind::SnaReject);
    assert_eq!(at, valid_until);
    assert_eq!(rej.message.code, Code::whole(RejectCode::PORT_PENDING));
    assert_eq!(l.next_deadline(), Some(lapse));

    // At the lapse the port ends (as donor it cancels its published P with N) ...
    let out = pump(&mut l, lapse);
    let published = acted(&out, MsgKind::PlnrPublish);
    assert_eq!(published.len(), 1, "{out:#?}");
    assert_eq!(published[0].0, lapse);
    assert_eq!(published[0].1.detail.status, Some(PortStatus::N));
    // ... and a new SNA for the number is confirmed, not refused with 008.
    let out = recv(&mut l, lapse, &sna_by_hand("P3", "0255501234", date(2026, 3, 30)), 0);
    assert!(sent(&out, MsgKind::SnaReject).is_empty(), "{out:#?}");
    let (at, _) = one_sent(&out, MsgKind::SnaConfirm);
    assert_eq!(at, lapse);

    // The gaining side of the first port expires at the same instant, and sent no ECA.
    let out = pump(&mut g, valid_until);
    assert!(sent(&out, MsgKind::Eca).is_empty(), "{out:#?}");
    assert_eq!(state(&g, "P1").outcome(), Outcome::Pending);
    let out = pump(&mut g, lapse);
    assert!(sent(&out, MsgKind::Eca).is_empty(), "{out:#?}");
    assert_eq!(
        state(&g, "P1"),
        GainingState::Expired { code: Code::None },
        "at {lapse}"
    );
}

#[test]
fn an_sna_received_at_the_lapse_instant_is_confirmed_without_a_prior_wake_up() {
    let (book, cal) = (book(), calendar());
    let duties = Duties::new(&book, &cal);
    let mut l = losing(false);
    let received = t("2026-03-02T09:00:00+11:00");
    let out = recv(&mut l, received, &sna_by_hand("P1", "0255501234", date(2026, 3, 1)), 0);
    let (confirmed, _) = one_sent(&out, MsgKind::SnaConfirm);
    let lapse = duties.sna_lapse(confirmed);
    // The driver hands the carrier a message at the lapse instant without waking it first:
    // `handle` returns "the outputs due by now", so the lapse must be in force for this SNA.
    let out = recv(&mut l, lapse, &sna_by_hand("P2", "0255501234", date(2026, 3, 30)), 0);
    assert!(sent(&out, MsgKind::SnaReject).is_empty(), "{out:#?}");
    let (at, _) = one_sent(&out, MsgKind::SnaConfirm);
    assert_eq!(at, lapse);
}

// ----- withdrawals ----------------------------------------------------------------------------

#[test]
fn a_withdrawal_while_a_retarget_is_unanswered_is_sent() {
    let (mut g, mut l) = (gaining(false), losing(false));
    let submitted = t("2026-03-02T09:00:00+11:00");
    let mut req = cat_a("P1", "0255501234", date(2026, 3, 1), t("2026-03-04T10:00:00+11:00"));
    req.retargets = vec![t("2026-03-05T11:00:00+11:00")];
    let out = submit(&mut g, submitted, req);
    let (_, sna) = one_sent(&out, MsgKind::Sna);
    let out = recv(&mut l, submitted, &sna, 60_000);
    let (confirmed, conf) = one_sent(&out, MsgKind::SnaConfirm);

    // On the confirmation the gaining carrier asks for the customer's re-target at once.
    let out = recv(&mut g, confirmed, &conf, 0);
    let (at, retarget) = one_sent(&out, MsgKind::Retarget);
    assert_eq!(at, confirmed);
    assert_eq!(retarget.message.detail.cutover, Some(t("2026-03-05T11:00:00+11:00")));
    assert!(matches!(state(&g, "P1"), GainingState::AwaitRetargetReply { .. }));
    // The losing carrier takes two minutes over it.
    let l_out = stamp(
        confirmed,
        l.handle(
            confirmed,
            Input::Receive {
                envelope: retarget,
                processing_ms: 120_000,
            },
        ),
    );
    assert!(sent(&l_out, MsgKind::RetargetConfirm).is_empty(), "not answered yet");

    // The customer withdraws while the re-target is unanswered: the withdrawal goes now.
    let asked = t("2026-03-02T09:02:00+11:00");
    let out = stamp(asked, g.handle(asked, Input::Command(Command::Withdraw(pref("P1")))));
    let (at, withdraw) = one_sent(&out, MsgKind::Withdraw);
    assert_eq!(at, asked);
    assert_eq!(withdraw.to, code(LOSING));
    assert!(matches!(state(&g, "P1"), GainingState::AwaitWithdrawReply { .. }));

    // The losing carrier answers both; the withdrawal is in time (no ECA was sent).
    let mut l_out = recv(&mut l, asked, &withdraw, 60_000);
    l_out.extend(pump(&mut l, t("2026-03-02T09:10:00+11:00")));
    let (rt_at, rt_conf) = one_sent(&l_out, MsgKind::RetargetConfirm);
    let (wd_at, wd_conf) = one_sent(&l_out, MsgKind::WithdrawConfirm);
    assert!(sent(&l_out, MsgKind::WithdrawReject).is_empty(), "{l_out:#?}");
    let mut g_out = recv(&mut g, rt_at, &rt_conf, 0);
    g_out.extend(recv(&mut g, wd_at.max(rt_at), &wd_conf, 0));
    no_unexpected(&g_out);
    assert_eq!(state(&g, "P1"), GainingState::Withdrawn);
    // Nothing more ever comes from the gaining carrier for this port.
    let later = pump(&mut g, t("2026-04-30T00:00:00+10:00"));
    assert!(sent(&later, MsgKind::Eca).is_empty(), "{later:#?}");
    assert!(sent(&later, MsgKind::Retarget).is_empty(), "{later:#?}");
}

#[test]
fn a_cat_c_withdrawal_during_the_pnv_is_sent_after_the_pnv_response() {
    let (mut g, mut l) = (gaining(false), losing(false));
    let submitted = t("2026-03-02T09:00:00+11:00");
    let numbers = vec![num("0255501300"), num("0255501301")];
    let req = PortRequest {
        port_ref: pref("C1"),
        category: Category::C,
        numbers: numbers.clone(),
        losing: code(LOSING),
        donors: numbers.iter().map(|n| (*n, code(LOSING))).collect(),
        customer: "Harbour Lights Pty Ltd".into(),
        account: "ACC-0300".into(),
        ca_date: date(2026, 3, 1),
        cutover: t("2026-03-16T10:00:00+11:00"),
        pnv: true,
        retargets: Vec::new(),
        keep: true,
    };
    let out = submit(&mut g, submitted, req);
    let (_, pnv) = one_sent(&out, MsgKind::Pnv);
    assert_eq!(state(&g, "C1"), GainingState::AwaitPnvReply);

    // The customer withdraws during the validation: nothing is pending yet, nothing goes.
    let asked = t("2026-03-02T09:00:10+11:00");
    let out = g.handle(asked, Input::Command(Command::Withdraw(pref("C1"))));
    assert!(out.is_empty(), "{out:#?}");
    assert_eq!(state(&g, "C1"), GainingState::AwaitPnvReply);

    let out = recv(&mut l, submitted, &pnv, 60_000);
    let (answered, response) = one_sent(&out, MsgKind::PnvResponse);
    let Code::PerNumber(pairs) = &response.message.code else {
        panic!("per-number codes expected: {response:#?}");
    };
    assert!(
        pairs.iter().all(|(_, c)| matches!(c, NumberCode::Response(_))),
        "{pairs:?}"
    );

    // On the PNV response the withdrawal goes, and no CNA.
    let out = recv(&mut g, answered, &response, 0);
    no_unexpected(&out);
    let (at, withdraw) = one_sent(&out, MsgKind::Withdraw);
    assert_eq!(at, answered);
    assert_eq!(withdraw.message.numbers.to_vec(), numbers);
    assert!(sent(&out, MsgKind::Cna).is_empty(), "{out:#?}");

    let out = recv(&mut l, answered, &withdraw, 1000);
    let (at, conf) = one_sent(&out, MsgKind::WithdrawConfirm);
    let out = recv(&mut g, at, &conf, 0);
    no_unexpected(&out);
    assert_eq!(state(&g, "C1"), GainingState::Withdrawn);
    let later = pump(&mut g, t("2026-04-30T00:00:00+10:00"));
    assert!(sent(&later, MsgKind::Cna).is_empty(), "{later:#?}");
    assert!(sent(&later, MsgKind::Cca).is_empty(), "{later:#?}");
}

// ----- CUTOVER-HOURS: a 103 is not retried ----------------------------------------------------

#[test]
fn an_eca_rejected_with_103_is_not_retried_and_the_port_expires_at_the_lapse() {
    let (book, cal) = (book(), calendar());
    let duties = Duties::new(&book, &cal);
    // The gaining carrier believes the pair may port after hours; the losing carrier does not.
    let (mut g, mut l) = (gaining(true), losing(false));
    let submitted = t("2026-03-02T09:00:00+11:00");
    let preferred = t("2026-03-03T20:00:00+11:00");
    let out = submit(
        &mut g,
        submitted,
        cat_a("P1", "0255501234", date(2026, 3, 1), preferred),
    );
    let (_, sna) = one_sent(&out, MsgKind::Sna);
    let out = recv(&mut l, submitted, &sna, 60_000);
    let (confirmed, conf) = one_sent(&out, MsgKind::SnaConfirm);
    let mut g_out = recv(&mut g, confirmed, &conf, 0);
    g_out.extend(pump(&mut g, preferred));
    let (eca_at, eca) = one_sent(&g_out, MsgKind::Eca);
    assert_eq!(eca_at, preferred);

    let out = recv(&mut l, eca_at, &eca, 30_000);
    let (rejected, rej) = one_sent(&out, MsgKind::EcaReject);
    assert_eq!(rej.message.code, Code::whole(RejectCode::OUTSIDE_HOURS));
    assert!(acted(&out, MsgKind::Cutover).is_empty(), "{out:#?}");

    let out = recv(&mut g, rejected, &rej, 0);
    no_unexpected(&out);
    assert!(out.is_empty(), "nothing goes on a 103: {out:#?}");
    assert_eq!(
        state(&g, "P1"),
        GainingState::AwaitLapse {
            confirmed_at: confirmed,
            code: Code::whole(RejectCode::OUTSIDE_HOURS)
        }
    );

    // Pending until the lapse, with no ECA (nor re-target) on the way ...
    let lapse = duties.sna_lapse(confirmed);
    let out = pump(&mut g, lapse.plus_millis(-1));
    assert!(sent(&out, MsgKind::Eca).is_empty(), "{out:#?}");
    assert!(sent(&out, MsgKind::Retarget).is_empty(), "{out:#?}");
    assert_eq!(state(&g, "P1").outcome(), Outcome::Pending);
    // ... expired at it ...
    let out = pump(&mut g, lapse);
    assert!(sent(&out, MsgKind::Eca).is_empty(), "{out:#?}");
    assert_eq!(
        state(&g, "P1"),
        GainingState::Expired {
            code: Code::whole(RejectCode::OUTSIDE_HOURS)
        }
    );
    assert_eq!(state(&g, "P1").outcome(), Outcome::Expired);
    // ... and no ECA ever after.
    let out = pump(&mut g, t("2027-01-01T00:00:00+11:00"));
    assert!(sent(&out, MsgKind::Eca).is_empty(), "{out:#?}");
    assert_eq!(g.next_deadline(), None);
}

#[test]
fn an_eca_received_just_before_standard_hours_end_never_cuts_over_after_them() {
    let cal = calendar();
    let mut l = losing(false);
    let out = recv(
        &mut l,
        t("2026-03-02T09:00:00+11:00"),
        &sna_by_hand("P1", "0255501234", date(2026, 3, 1)),
        60_000,
    );
    one_sent(&out, MsgKind::SnaConfirm);
    // An ECA inside Standard Hours (a gaining carrier that believes the pair may port after
    // hours, or one outside the simulation, may send it this late); two minutes' processing is
    // well inside ECA-RESPONSE.
    let received = t("2026-03-02T16:59:00+11:00");
    assert!(cal.in_standard_hours(received));
    let mut eca = Message::new(MsgKind::Eca, pref("P1"));
    eca.category = Some(Category::A);
    eca.numbers = lnp_model::Numbers::from_slice(&[num("0255501234")]);
    let env = Envelope {
        from: code(GAINING),
        to: code(LOSING),
        message: eca,
    };
    let out = recv(&mut l, received, &env, 120_000);
    assert_eq!(
        sent(&out, MsgKind::EcaConfirm).len() + sent(&out, MsgKind::EcaReject).len(),
        1
    );
    for (at, _) in acted(&out, MsgKind::Cutover) {
        assert!(
            cal.in_standard_hours(at),
            "CUTOVER at {at}, outside Standard Hours: {out:#?}"
        );
    }
}

// ----- messages nobody expects ----------------------------------------------------------------

#[test]
fn an_eca_confirm_for_an_unknown_ref_is_unexpected() {
    let mut g = gaining(false);
    let mut m = Message::new(MsgKind::EcaConfirm, pref("NOBODY-1"));
    m.category = Some(Category::A);
    m.numbers = lnp_model::Numbers::from_slice(&[num("0255501234")]);
    let env = Envelope {
        from: code(LOSING),
        to: code(GAINING),
        message: m,
    };
    let at = t("2026-03-02T09:00:00+11:00");
    let out = g.handle(
        at,
        Input::Receive {
            envelope: env,
            processing_ms: 1000,
        },
    );
    let [Output::Unexpected(u)] = out.as_slice() else {
        panic!("expected one unexpected message, found {out:#?}");
    };
    assert_eq!(u.carrier, code(GAINING));
    assert_eq!(u.from, code(LOSING));
    assert_eq!(u.kind, MsgKind::EcaConfirm);
    assert_eq!(u.port_ref, Some(pref("NOBODY-1")));
    assert_eq!(g.next_deadline(), None, "nothing is planned for it");
    assert!(g.gaining_state(&pref("NOBODY-1")).is_none());
}

// ----- DONOR-NOTIFY in a third-party port ------------------------------------------------------

#[test]
fn a_third_party_losing_carrier_notifies_the_donor_with_the_cutover_when_it_confirms_the_eca() {
    let number = num("0255520001");
    // 9003 is the donor of the number, which it ported to 9001 before the story; 9002 ports it.
    let mut donor_config = config("Donor", &[DONOR_RANGE], &[(LOSING, false), (GAINING, false)]);
    donor_config.ported_out = BTreeMap::from([(number, code(LOSING))]);
    let mut donor = carrier(DONOR, donor_config);
    let mut losing_config = config("Losing", &[LOSING_RANGE], &[(GAINING, false), (DONOR, false)]);
    losing_config.services = BTreeMap::from([(
        number,
        Service {
            customer: String::new(),
            account: "ACC-2001".into(),
            kind: ServiceKind::Simple,
        },
    )]);
    let mut lc = carrier(LOSING, losing_config);
    let mut gc = carrier(GAINING, config("Gaining", &[], &[(LOSING, false), (DONOR, false)]));

    let submitted = t("2026-03-02T09:00:00+11:00");
    let preferred = t("2026-03-03T10:00:00+11:00");
    let mut req = cat_a("TP1", "0255520001", date(2026, 3, 1), preferred);
    req.donors = vec![(number, code(DONOR))];
    let out = submit(&mut gc, submitted, req);
    let (_, sna) = one_sent(&out, MsgKind::Sna);
    let out = recv(&mut lc, submitted, &sna, 60_000);
    let (confirmed, conf) = one_sent(&out, MsgKind::SnaConfirm);
    // On the SNA confirmation the donor hears the port is pending, without a cutover yet.
    let (at, pending) = one_sent(&out, MsgKind::DonorNotify);
    assert_eq!(at, confirmed);
    assert_eq!(pending.to, code(DONOR));
    assert_eq!(pending.message.detail.status, Some(PortStatus::P));
    assert_eq!(pending.message.detail.cutover, None);
    let d_out = recv(&mut donor, at, &pending, 0);
    no_unexpected(&d_out);

    let mut g_out = recv(&mut gc, confirmed, &conf, 0);
    g_out.extend(pump(&mut gc, preferred));
    let (eca_at, eca) = one_sent(&g_out, MsgKind::Eca);

    let out = recv(&mut lc, eca_at, &eca, 30_000);
    no_unexpected(&out);
    let (answered, _) = one_sent(&out, MsgKind::EcaConfirm);
    let notices = sent(&out, MsgKind::DonorNotify);
    let with_cutover: Vec<_> = notices
        .iter()
        .filter(|(_, e)| e.message.detail.status == Some(PortStatus::P))
        .collect();
    assert_eq!(with_cutover.len(), 1, "{notices:#?}");
    let (at, notice) = with_cutover[0];
    assert_eq!(*at, answered);
    assert_eq!(notice.to, code(DONOR));
    assert_eq!(notice.message.port_ref, Some(pref("TP1")));
    assert_eq!(notice.message.numbers.to_vec(), vec![number]);
    assert_eq!(notice.message.detail.current, Some(code(GAINING)));
    assert_eq!(
        notice.message.detail.cutover,
        Some(answered),
        "the cutover instant the donor must be ready for"
    );
    // The P with the cutover goes no later than the cutover itself, and the C follows it.
    let (cut_at, _) = acted(&out, MsgKind::Cutover)[0].clone();
    assert_eq!(cut_at, answered);
    let order: Vec<(MsgKind, Option<PortStatus>)> = out
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Send(e) => Some((e.message.kind, e.message.detail.status)),
            Output::Action(m) => Some((m.kind, None)),
            Output::Unexpected(_) => None,
        })
        .collect();
    let pos = |k: (MsgKind, Option<PortStatus>)| order.iter().position(|x| *x == k).expect("present");
    assert!(
        pos((MsgKind::DonorNotify, Some(PortStatus::P))) < pos((MsgKind::Cutover, None)),
        "{order:?}"
    );
    assert!(
        pos((MsgKind::Cutover, None)) < pos((MsgKind::DonorNotify, Some(PortStatus::C))),
        "{order:?}"
    );
    // The losing carrier is not the donor: it starts no transit routing.
    assert!(acted(&out, MsgKind::DtrStart).is_empty(), "{out:#?}");

    // The donor starts transit routing at the announced cutover, once.
    let mut d_out = Vec::new();
    for (at, e) in &notices {
        d_out.extend(recv(&mut donor, *at, e, 0));
    }
    no_unexpected(&d_out);
    let starts = acted(&d_out, MsgKind::DtrStart);
    assert_eq!(starts.len(), 1, "{d_out:#?}");
    assert_eq!(starts[0].0, answered);
    assert_eq!(starts[0].1.detail.current, Some(code(GAINING)));
}
