//! The actor's timers and the audit's deadlines are the same function.
//!
//! For random request instants (any time of day, any day of 2024–2030, with extra weight on the
//! days that move a deadline: Easter, Christmas and New Year, Australia Day, Anzac Day and the two
//! daylight-saving changes) and every request with an answer deadline (SNA → `SNA-RESPONSE`,
//! ECA → `ECA-RESPONSE`, CNA → `CNA-RECEIPT` and `CNA-RESPONSE`, CCA → `CCA-RESPONSE`):
//!
//! - (a) a compliant losing carrier, given any processing time up to its allowance for the
//!   message (the time to the first deadline the message carries; for a CNA, its receipt's),
//!   answers no later than the deadline of `Duties` (`Duties::answer`, and
//!   `Duties::cna_receipt_deadline` for the receipt), and the audit of the carrier's own trace
//!   finds nothing for that rule;
//! - (b) in a trace written by hand whose answer comes exactly at that deadline the audit
//!   (`lnp_audit::audit_rows`, with its own memoised clock) finds nothing at all; with the
//!   answer one second later it charges exactly that rule, once;
//! - (c) the gaining carrier's timer on an SNA is `Duties::patience`: it stays quiet through the
//!   deadline, gives up (with a `WITHDRAW`) only once the audit would charge `SNA-RESPONSE`.
//!
//! Every value is built valid by construction: no case is filtered out. Case counts honour
//! `LNPSIM_PROPTEST_CASES` (default 64).

use chrono::{Datelike, Days, NaiveDate, NaiveTime, Weekday};
use lnp_actors::{Agreement, Carrier, CarrierConfig, Command, Input, Output, PortRequest};
use lnp_audit::{audit_rows, CarrierInfo, Context, Report};
use lnp_model::calendar::easter_sunday;
use lnp_model::duty::ANSWER_PATIENCE;
use lnp_model::{
    BusinessCalendar, CarrierCode, Category, Detail, Duties, Envelope, Message, MsgKind, NumberRange, PortRef, RuleId,
    Rulebook, TelephoneNumber, Timestamp, TraceRecord,
};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("LNPSIM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(64)
}

const LOSING: u16 = 9001;
const GAINING: u16 = 9002;
const LOSING_RANGE: &str = "0255500000-0255509999";
const NUMBER: &str = "0255501234";
const BATCH: [&str; 2] = ["0255501300", "0255501301"];
const DAY_MS: i64 = 86_400_000;
const FIRST_YEAR: i32 = 2024;
const LAST_YEAR: i32 = 2030;

fn code(c: u16) -> CarrierCode {
    CarrierCode::new(c).expect("a four-digit carrier code")
}

fn num(s: &str) -> TelephoneNumber {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn port_ref() -> PortRef {
    "P1".parse().expect("a port reference")
}

fn losing_range() -> NumberRange {
    LOSING_RANGE.parse().expect("a range")
}

// ----- the duties ------------------------------------------------------------------------------

/// One answer duty of the losing carrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Duty {
    SnaResponse,
    EcaResponse,
    CnaReceipt,
    CnaResponse,
    CcaResponse,
}

impl Duty {
    const ALL: [Duty; 5] = [
        Self::SnaResponse,
        Self::EcaResponse,
        Self::CnaReceipt,
        Self::CnaResponse,
        Self::CcaResponse,
    ];

    fn rule(self) -> RuleId {
        match self {
            Self::SnaResponse => RuleId::SnaResponse,
            Self::EcaResponse => RuleId::EcaResponse,
            Self::CnaReceipt => RuleId::CnaReceipt,
            Self::CnaResponse => RuleId::CnaResponse,
            Self::CcaResponse => RuleId::CcaResponse,
        }
    }

    /// The request the duty answers.
    fn request(self) -> MsgKind {
        match self {
            Self::SnaResponse => MsgKind::Sna,
            Self::EcaResponse => MsgKind::Eca,
            Self::CnaReceipt | Self::CnaResponse => MsgKind::Cna,
            Self::CcaResponse => MsgKind::Cca,
        }
    }

    /// The messages that discharge the duty.
    fn answers(self) -> &'static [MsgKind] {
        match self {
            Self::SnaResponse => &[MsgKind::SnaConfirm, MsgKind::SnaReject],
            Self::EcaResponse => &[MsgKind::EcaConfirm, MsgKind::EcaReject],
            Self::CnaReceipt => &[MsgKind::CnaReceipt],
            Self::CnaResponse => &[MsgKind::CnaConfirm, MsgKind::CnaReject],
            Self::CcaResponse => &[MsgKind::CcaConfirm, MsgKind::CcaReject],
        }
    }

    /// The duty's inclusive deadline for a request received at `received`, from `Duties`.
    fn deadline(self, duties: &Duties<'_, BusinessCalendar>, received: Timestamp) -> Timestamp {
        if self == Self::CnaReceipt {
            return duties.cna_receipt_deadline(received);
        }
        let duty = duties
            .answer(self.request(), received)
            .unwrap_or_else(|| panic!("{} has an answer deadline", self.request()));
        assert_eq!(duty.rule, self.rule(), "Duties::answer names the rule");
        duty.deadline
    }

    /// The longest processing time the losing carrier may be given for the request: the time
    /// to the first deadline the request carries (a CNA's receipt comes before its answer).
    fn allowance_ms(self, duties: &Duties<'_, BusinessCalendar>, received: Timestamp) -> i64 {
        let first = match self.request() {
            MsgKind::Cna => Self::CnaReceipt.deadline(duties, received),
            _ => self.deadline(duties, received),
        };
        first.millis() - received.millis()
    }
}

// ----- the instants ----------------------------------------------------------------------------

/// The days, in a year, around which deadlines move.
#[derive(Clone, Copy, Debug)]
enum Anchor {
    EasterSunday,
    Christmas,
    NewYear,
    AustraliaDay,
    AnzacDay,
    /// The first Sunday of April: daylight saving ends.
    DstEnds,
    /// The first Sunday of October: daylight saving starts.
    DstStarts,
}

impl Anchor {
    fn date(self, year: i32) -> NaiveDate {
        let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d).expect("a calendar date");
        let first_sunday =
            |m| NaiveDate::from_weekday_of_month_opt(year, m, Weekday::Sun, 1).expect("every month has a Sunday");
        match self {
            Self::EasterSunday => easter_sunday(year),
            Self::Christmas => ymd(12, 25),
            Self::NewYear => ymd(1, 1),
            Self::AustraliaDay => ymd(1, 26),
            Self::AnzacDay => ymd(4, 25),
            Self::DstEnds => first_sunday(4),
            Self::DstStarts => first_sunday(10),
        }
    }
}

fn anchor() -> impl Strategy<Value = Anchor> {
    prop_oneof![
        Just(Anchor::EasterSunday),
        Just(Anchor::Christmas),
        Just(Anchor::NewYear),
        Just(Anchor::AustraliaDay),
        Just(Anchor::AnzacDay),
        Just(Anchor::DstEnds),
        Just(Anchor::DstStarts),
    ]
}

/// A second of the Sydney day: any, or one near an edge (midnight, the DST hours 02:00–03:00,
/// the start and the end of Standard Hours and the last compliant ECA minute 16:44).
fn second_of_day() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..86_400,
        86_340u32..86_400,
        0u32..120,
        6_600u32..11_400,
        28_740u32..28_860,
        60_240u32..61_260,
    ]
}

/// A Sydney local date-time near an anchor day, as the first instant at or after it (a time in
/// the spring gap moves past the gap, as `rules.md` says deadlines do).
fn anchored_instant() -> impl Strategy<Value = Timestamp> {
    (FIRST_YEAR..=LAST_YEAR, anchor(), -4i64..=4, second_of_day(), 0u32..1000).prop_map(
        |(year, anchor, offset, second, millis)| {
            let day = anchor.date(year);
            let day = if offset < 0 {
                day.checked_sub_days(Days::new(offset.unsigned_abs()))
            } else {
                day.checked_add_days(Days::new(offset.unsigned_abs()))
            }
            .expect("a date near the anchor");
            let time =
                NaiveTime::from_num_seconds_from_midnight_opt(second, millis * 1_000_000).expect("a time of day");
            Timestamp::from_sydney_local(day.and_time(time))
        },
    )
}

/// Any instant of the years, to the millisecond.
fn any_instant() -> impl Strategy<Value = Timestamp> {
    let start = |y: i32| {
        Timestamp::from_sydney_local(
            NaiveDate::from_ymd_opt(y, 1, 1)
                .expect("1 January")
                .and_time(NaiveTime::MIN),
        )
        .millis()
    };
    (start(FIRST_YEAR)..start(LAST_YEAR + 1)).prop_map(Timestamp::from_millis)
}

fn instant() -> impl Strategy<Value = Timestamp> {
    prop_oneof![any_instant(), anchored_instant()]
}

/// How much of its allowance the losing carrier takes.
#[derive(Clone, Copy, Debug)]
enum Share {
    Nothing,
    All,
    /// This many `u32::MAX`ths of it.
    Part(u32),
}

impl Share {
    fn of(self, allowance_ms: i64) -> i64 {
        match self {
            Self::Nothing => 0,
            Self::All => allowance_ms,
            Self::Part(p) => (i128::from(allowance_ms) * i128::from(p) / i128::from(u32::MAX)) as i64,
        }
    }
}

fn share() -> impl Strategy<Value = Share> {
    prop_oneof![
        Just(Share::Nothing),
        Just(Share::All),
        any::<u32>().prop_map(Share::Part)
    ]
}

fn duty() -> impl Strategy<Value = Duty> {
    proptest::sample::select(Duty::ALL.to_vec())
}

// ----- carriers, messages, traces ----------------------------------------------------------------

fn book() -> Rulebook {
    Rulebook::default()
}

fn agreement(other: u16, after_hours: bool) -> std::collections::BTreeMap<CarrierCode, Agreement> {
    [(
        code(other),
        Agreement {
            carriers: [code(other), code(other)],
            after_hours,
        },
    )]
    .into_iter()
    .collect()
}

/// A compliant losing carrier: it holds the range, has no faults and no daily cap.
fn losing_carrier(after_hours: bool) -> Carrier {
    let book = book();
    let calendar = book.calendar();
    let config = CarrierConfig {
        name: "Losing".into(),
        ranges: vec![losing_range()],
        agreements: agreement(GAINING, after_hours),
        allocations: vec![(losing_range(), code(LOSING))],
        ..CarrierConfig::default()
    };
    Carrier::new(code(LOSING), config, book, calendar)
}

fn gaining_carrier() -> Carrier {
    let book = book();
    let calendar = book.calendar();
    let config = CarrierConfig {
        name: "Gaining".into(),
        agreements: agreement(LOSING, false),
        allocations: vec![(losing_range(), code(LOSING))],
        ..CarrierConfig::default()
    };
    Carrier::new(code(GAINING), config, book, calendar)
}

/// The market as the audit sees it: the losing carrier is the donor of the numbers, the pair
/// has an agreement (`after_hours` as given) and no cap.
fn context(after_hours: bool) -> Context {
    Context {
        carriers: vec![
            CarrierInfo {
                code: code(LOSING),
                ranges: vec![losing_range()],
                daily_cap: None,
            },
            CarrierInfo {
                code: code(GAINING),
                ranges: Vec::new(),
                daily_cap: None,
            },
        ],
        agreements: vec![lnp_audit::Agreement {
            carriers: [code(GAINING), code(LOSING)],
            after_hours,
        }],
        services: Vec::new(),
    }
}

fn message(kind: MsgKind, category: Category, numbers: &[&str]) -> Message {
    let mut m = Message::new(kind, port_ref());
    m.category = Some(category);
    m.numbers = numbers.iter().map(|n| num(n)).collect();
    m
}

/// A request from the gaining carrier, as it would send it at `at`.
fn request(kind: MsgKind, at: Timestamp, cutover: Option<Timestamp>) -> Message {
    let (category, numbers): (Category, &[&str]) = match kind {
        MsgKind::Sna | MsgKind::Eca => (Category::A, &[NUMBER]),
        _ => (Category::C, &BATCH),
    };
    let mut m = message(kind, category, numbers);
    if matches!(kind, MsgKind::Sna | MsgKind::Cna) {
        m.detail = Detail::default();
        m.detail.ca_date = Some(at.sydney_date());
        m.detail.set_account(Some("ACC-0001".into()));
    }
    m.detail.cutover = cutover;
    m
}

/// The answer the losing carrier would send.
fn answer(kind: MsgKind, cutover: Option<Timestamp>) -> Message {
    let (category, numbers): (Category, &[&str]) = match kind {
        MsgKind::SnaConfirm | MsgKind::EcaConfirm => (Category::A, &[NUMBER]),
        _ => (Category::C, &BATCH),
    };
    let mut m = message(kind, category, numbers);
    m.detail.cutover = cutover;
    m
}

/// Rows of a trace, numbered in order.
#[derive(Default)]
struct Trace(Vec<TraceRecord>);

impl Trace {
    fn push(&mut self, time: Timestamp, from: CarrierCode, to: Option<CarrierCode>, message: Message) {
        let seq = self.0.len() as u64 + 1;
        self.0.push(TraceRecord {
            seq,
            time,
            from,
            to,
            message,
        });
    }

    fn request(&mut self, time: Timestamp, message: Message) {
        self.push(time, code(GAINING), Some(code(LOSING)), message);
    }

    fn answer(&mut self, time: Timestamp, message: Message) {
        self.push(time, code(LOSING), Some(code(GAINING)), message);
    }

    fn output(&mut self, time: Timestamp, o: &Output) {
        match o {
            Output::Send(e) => self.push(time, e.from, Some(e.to), e.message.clone()),
            Output::Action(m) => self.push(time, code(LOSING), None, (**m).clone()),
            Output::Unexpected(u) => panic!("the losing carrier did not expect {u:?}"),
        }
    }

    fn audit(self, after_hours: bool) -> Report {
        let book = book();
        let calendar = book.calendar();
        audit_rows(
            self.0.into_iter().map(Ok),
            &book,
            &calendar,
            Some(&context(after_hours)),
        )
    }
}

/// When a Cat C cutover agreed in a CCA received at `received` falls: a day after the CCA's
/// answer is due, so that no cutover duty comes due in the trace.
fn cca_cutover(duties: &Duties<'_, BusinessCalendar>, received: Timestamp) -> Timestamp {
    Duty::CcaResponse.deadline(duties, received).plus_millis(DAY_MS)
}

/// The rows that come before the request of `duty` at `received`: the SNA before an ECA, the
/// CNA before a CCA, each answered at once (a day or two before).
fn prelude(duty: Duty, received: Timestamp) -> Vec<(Timestamp, Message)> {
    match duty.request() {
        MsgKind::Eca => {
            let at = received.plus_millis(-DAY_MS);
            vec![(at, request(MsgKind::Sna, at, None))]
        }
        MsgKind::Cca => {
            let at = received.plus_millis(-2 * DAY_MS);
            vec![(at, request(MsgKind::Cna, at, None))]
        }
        _ => Vec::new(),
    }
}

/// The request of `duty` at `received`.
fn the_request(duties: &Duties<'_, BusinessCalendar>, duty: Duty, received: Timestamp) -> Message {
    let cutover = (duty.request() == MsgKind::Cca).then(|| cca_cutover(duties, received));
    request(duty.request(), received, cutover)
}

fn envelope(message: Message) -> Envelope {
    Envelope {
        from: code(GAINING),
        to: code(LOSING),
        message,
    }
}

/// Wakes the carrier at each of its deadlines up to `until`, inclusive, writing what it does.
fn pump(c: &mut Carrier, until: Timestamp, trace: &mut Trace, out: &mut Vec<(Timestamp, Output)>) {
    while let Some(at) = c.next_deadline().filter(|at| *at <= until) {
        for o in c.handle(at, Input::Timeout) {
            trace.output(at, &o);
            out.push((at, o));
        }
    }
}

fn deliver(
    c: &mut Carrier,
    at: Timestamp,
    message: Message,
    processing_ms: i64,
    trace: &mut Trace,
    out: &mut Vec<(Timestamp, Output)>,
) {
    pump(c, at, trace, out);
    trace.request(at, message.clone());
    let input = Input::Receive {
        envelope: envelope(message),
        processing_ms,
    };
    for o in c.handle(at, input) {
        trace.output(at, &o);
        out.push((at, o));
    }
}

/// (a): the losing carrier answers the request of `duty` received at `received`, given
/// `processing_ms`; returns when its first answer went, and the trace of the whole exchange up
/// to the deadline.
fn actor_answers(duty: Duty, received: Timestamp, processing_ms: i64, after_hours: bool) -> (Option<Timestamp>, Trace) {
    let (book, calendar) = (book(), book().calendar());
    let duties = Duties::new(&book, &calendar);
    let mut l = losing_carrier(after_hours);
    let (mut trace, mut out) = (Trace::default(), Vec::new());
    for (at, m) in prelude(duty, received) {
        deliver(&mut l, at, m, 0, &mut trace, &mut out);
    }
    pump(&mut l, received, &mut trace, &mut out);
    out.clear();
    deliver(
        &mut l,
        received,
        the_request(&duties, duty, received),
        processing_ms,
        &mut trace,
        &mut out,
    );
    pump(&mut l, duty.deadline(&duties, received), &mut trace, &mut out);
    let first = out
        .iter()
        .find(|(_, o)| duty.answers().contains(&o.kind()))
        .map(|(at, _)| *at);
    (first, trace)
}

/// (b): the trace of a request of `duty` at `received` whose answer comes at `answered`, after
/// the rows the request needs before it. Nothing else in it is due by its last row.
fn trace_answered_at(duty: Duty, received: Timestamp, answered: Timestamp) -> Trace {
    let (book, calendar) = (book(), book().calendar());
    let duties = Duties::new(&book, &calendar);
    let mut trace = Trace::default();
    for (at, m) in prelude(duty, received) {
        let confirm = if m.kind == MsgKind::Sna {
            vec![MsgKind::SnaConfirm]
        } else {
            vec![MsgKind::CnaReceipt, MsgKind::CnaConfirm]
        };
        trace.request(at, m);
        for kind in confirm {
            trace.answer(at, answer(kind, None));
        }
    }
    let req = the_request(&duties, duty, received);
    let cutover = req.detail.cutover;
    trace.request(received, req);
    let reply = match duty {
        Duty::SnaResponse => MsgKind::SnaConfirm,
        Duty::EcaResponse => MsgKind::EcaConfirm,
        Duty::CnaReceipt => MsgKind::CnaReceipt,
        Duty::CnaResponse => {
            trace.answer(received, answer(MsgKind::CnaReceipt, None));
            MsgKind::CnaConfirm
        }
        Duty::CcaResponse => MsgKind::CcaConfirm,
    };
    trace.answer(answered, answer(reply, cutover));
    trace
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// (a) A compliant losing carrier answers by the deadline `Duties` gives, whatever part of
    /// its allowance it takes, and its own trace audits clean for the rule.
    #[test]
    fn the_losing_carrier_answers_by_the_duty_deadline(
        duty in duty(),
        received in instant(),
        share in share(),
        after_hours in any::<bool>(),
    ) {
        let (book, calendar) = (book(), book().calendar());
        let duties = Duties::new(&book, &calendar);
        let deadline = duty.deadline(&duties, received);
        let allowance = duty.allowance_ms(&duties, received);
        prop_assert!(allowance > 0, "{duty:?} at {received}: deadline {deadline}");
        let processing = share.of(allowance);
        let (answered, trace) = actor_answers(duty, received, processing, after_hours);
        let answered = answered.unwrap_or_else(|| {
            panic!("{duty:?}: a request received at {received} (processing {processing} ms) was not answered by {deadline}")
        });
        prop_assert!(
            answered <= deadline,
            "{duty:?}: received {received}, processing {processing} ms, answered {answered}, deadline {deadline}"
        );
        let report = trace.audit(after_hours);
        prop_assert!(
            !report.violated_rules().contains(&duty.rule()),
            "{duty:?}: the audit of the carrier's own trace charged its rule:\n{}",
            report.to_text()
        );
        prop_assert!(report.malformed_rows.is_empty(), "{:?}", report.malformed_rows);
    }

    /// (b) An answer exactly at the deadline is in time for the audit; one second later it is
    /// charged, under exactly that rule.
    #[test]
    fn the_audit_judges_by_the_same_deadline(duty in duty(), received in instant()) {
        let (book, calendar) = (book(), book().calendar());
        let duties = Duties::new(&book, &calendar);
        let deadline = duty.deadline(&duties, received);

        let on_time = trace_answered_at(duty, received, deadline).audit(true);
        prop_assert!(on_time.malformed_rows.is_empty(), "{:?}", on_time.malformed_rows);
        prop_assert!(
            on_time.findings.is_empty(),
            "{duty:?}: received {received}, answered at the deadline {deadline}:\n{}",
            on_time.to_text()
        );

        let late = trace_answered_at(duty, received, deadline.plus_millis(1000)).audit(true);
        prop_assert!(late.malformed_rows.is_empty(), "{:?}", late.malformed_rows);
        prop_assert_eq!(
            late.violated_rules(),
            vec![duty.rule()],
            "{:?}: received {}, answered a second after the deadline {}:\n{}",
            duty,
            received,
            deadline,
            late.to_text()
        );
        prop_assert_eq!(late.findings.len(), 1, "{}", late.to_text());
    }

    /// (c) The gaining carrier's timer on an SNA runs to `Duties::patience`: quiet through the
    /// deadline the audit judges by, and giving up only once the audit charges `SNA-RESPONSE`.
    #[test]
    fn the_gaining_carrier_waits_out_the_sna_deadline(sent in instant()) {
        let (book, calendar) = (book(), book().calendar());
        let duties = Duties::new(&book, &calendar);
        let deadline = Duty::SnaResponse.deadline(&duties, sent);
        let patience = duties.patience(MsgKind::Sna, sent).expect("an SNA has a deadline");
        prop_assert_eq!(patience, calendar.add(deadline, ANSWER_PATIENCE));

        let mut g = gaining_carrier();
        let n = num(NUMBER);
        let req = PortRequest {
            port_ref: port_ref(),
            category: Category::A,
            numbers: vec![n],
            losing: code(LOSING),
            donors: vec![(n, code(LOSING))],
            customer: String::new(),
            account: "ACC-0001".into(),
            ca_date: sent.sydney_date(),
            cutover: sent.plus_millis(60 * DAY_MS),
            pnv: false,
            retargets: Vec::new(),
            keep: true,
        };
        let out = g.handle(sent, Input::Command(Command::Submit(Box::new(req))));
        let mut trace = Trace::default();
        let [Output::Send(sna)] = out.as_slice() else {
            panic!("one SNA expected at {sent}: {out:#?}");
        };
        prop_assert_eq!(sna.message.kind, MsgKind::Sna);
        trace.request(sent, sna.message.clone());
        prop_assert_eq!(g.next_deadline(), Some(patience));

        // Through the deadline, nothing.
        let quiet = deadline_outputs(&mut g, deadline);
        prop_assert!(quiet.is_empty(), "before {deadline}: {quiet:#?}");
        // At its patience it withdraws, and the trace up to then is charged SNA-RESPONSE alone.
        let gave_up = deadline_outputs(&mut g, patience);
        let [(at, Output::Send(withdraw))] = gave_up.as_slice() else {
            panic!("one WITHDRAW expected at {patience}: {gave_up:#?}");
        };
        prop_assert_eq!(*at, patience);
        prop_assert_eq!(withdraw.message.kind, MsgKind::Withdraw);
        trace.request(*at, withdraw.message.clone());
        let report = trace.audit(false);
        prop_assert_eq!(report.violated_rules(), vec![RuleId::SnaResponse], "{}", report.to_text());
    }
}

/// What the carrier does when woken at each of its deadlines up to `until`.
fn deadline_outputs(c: &mut Carrier, until: Timestamp) -> Vec<(Timestamp, Output)> {
    let mut out = Vec::new();
    while let Some(at) = c.next_deadline().filter(|at| *at <= until) {
        out.extend(c.handle(at, Input::Timeout).into_iter().map(|o| (at, o)));
    }
    out
}

/// The year range covers what the property claims.
#[test]
fn the_instants_cover_easter_christmas_and_both_dst_changes() {
    for year in FIRST_YEAR..=LAST_YEAR {
        let easter = Anchor::EasterSunday.date(year);
        assert_eq!(easter.weekday(), Weekday::Sun);
        assert_eq!(Anchor::DstEnds.date(year).weekday(), Weekday::Sun);
        assert_eq!(Anchor::DstStarts.date(year).weekday(), Weekday::Sun);
        // Sydney's offset changes across each DST anchor day.
        let offset = |d: NaiveDate, h: u32| {
            Timestamp::from_sydney_local(d.and_hms_opt(h, 0, 0).expect("a time")).sydney_offset_secs()
        };
        assert_ne!(
            offset(Anchor::DstEnds.date(year), 1),
            offset(Anchor::DstEnds.date(year), 4)
        );
        assert_ne!(
            offset(Anchor::DstStarts.date(year), 1),
            offset(Anchor::DstStarts.date(year), 4)
        );
    }
}
