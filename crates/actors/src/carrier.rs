//! One carrier's porting system, in every role it plays: gaining, losing and donor.
//!
//! Sans-IO: [`Carrier::handle`] takes `now` and one [`Input`] and returns the [`Output`]s due by
//! `now`; [`Carrier::next_deadline`] says when it next needs to be woken. Everything it will do
//! later sits in its agenda, each entry tied to the rule that sets its time.

use std::collections::{BTreeMap, BTreeSet};

use lnp_model::fasthash::{FastMap, FastSet};
use lnp_model::{
    BusinessCalendar, CarrierCode, Category, Code, Duties, Envelope, Message, MsgKind, Outcome, PortRef, PortStatus,
    RejectCode, RuleId, Rulebook, TelephoneNumber, Timestamp,
};

mod agenda;
mod complex;
mod donor;
mod donorbook;
mod faults;
mod fenced;
mod gaining;
mod jobs;
mod losing;
mod numbermap;
mod refset;
mod services;
mod sortedset;

use crate::config::{Agreement, CarrierConfig, Command, Fault, FaultAction, PortRequest, Service, ServiceKind};

/// What the engine hands a carrier.
#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "Receive is nearly every input; boxing it would cost an allocation per message"
)]
pub enum Input {
    /// A message arrives. `processing_ms` is how long this carrier's porting system takes to
    /// deal with it this time (drawn by the engine from its seeded generator, at most the
    /// carrier's `answers_within`).
    Receive { envelope: Envelope, processing_ms: i64 },
    /// A customer or the carrier's staff asks for something.
    Command(Command),
    /// The engine woke the carrier at (or after) its `next_deadline`.
    Timeout,
}

/// What a carrier does: send a message, or take an action (`to` is empty in the trace).
///
/// Boxed: a message is about two hundred bytes, and an output passes through the agenda, the
/// engine's buffer and its event queue before it is delivered; moving a pointer is what keeps
/// those steps cheap (the box is allocated once, when the carrier writes the message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Send(Box<Envelope>),
    Action(Box<Message>),
    /// A message arrived that the port's state does not expect (an answer to nothing, an
    /// answer after the port ended). Nothing is sent; the engine reports it in the run summary.
    Unexpected(Box<Unexpected>),
}

/// A message a carrier received and could not act on, with the state it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unexpected {
    pub carrier: CarrierCode,
    pub from: CarrierCode,
    pub kind: MsgKind,
    pub port_ref: Option<PortRef>,
    /// The stage the port was at (`awaiting ECA reply`), or why no port was found.
    pub state: String,
}

impl Output {
    /// A message from `from` to `to`.
    pub fn send(from: CarrierCode, to: CarrierCode, message: Message) -> Self {
        Self::Send(Box::new(Envelope { from, to, message }))
    }

    /// An action.
    pub fn action(message: Message) -> Self {
        Self::Action(Box::new(message))
    }

    pub fn kind(&self) -> MsgKind {
        match self {
            Self::Send(e) => e.message.kind,
            Self::Action(m) => m.kind,
            Self::Unexpected(u) => u.kind,
        }
    }
}

/// Where a port stands, from the gaining carrier's side. States are named for what they await.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GainingState {
    /// The gaining carrier would not start the port (no agreement, stale authority).
    Refused {
        rule: Option<RuleId>,
        reason: String,
    },
    AwaitSnaReply,
    /// SNA confirmed; the ECA goes at `eca_at` (the preferred cutover, moved into Standard
    /// Hours where the pair has no after-hours agreement).
    AwaitEcaTime {
        confirmed_at: Timestamp,
        eca_at: Timestamp,
    },
    AwaitEcaReply,
    AwaitCompletion,
    AwaitRetargetReply {
        confirmed_at: Timestamp,
        eca_at: Timestamp,
    },
    /// Cat A: the ECA was rejected with `103`. A gaining carrier does not try again by itself
    /// (`CUTOVER-HOURS`); the confirmation lapses at its end (`SNA-VALIDITY`).
    AwaitLapse {
        confirmed_at: Timestamp,
        code: Code,
    },
    /// Cat C: awaiting the PNV response.
    AwaitPnvReply,
    /// Cat C: CNA sent; awaiting its receipt and confirmation.
    AwaitCnaReply,
    /// Cat C: CNA confirmed; the project managers agreed `agreed`, and the CCA goes at
    /// `send_at`.
    AwaitCcaTime {
        send_at: Timestamp,
        agreed: Timestamp,
    },
    /// Cat C: the CCA for `agreed` awaits its answer.
    AwaitCcaReply {
        agreed: Timestamp,
    },
    /// Cat C: CCA confirmed; both sides cut over at `agreed`.
    AwaitCutover {
        agreed: Timestamp,
    },
    /// A withdrawal awaits its answer; a reject (`107`) puts the port back where it was.
    AwaitWithdrawReply {
        before: Box<GainingState>,
    },
    AwaitReturnReply {
        cutover_at: Timestamp,
    },
    Completed {
        cutover_at: Timestamp,
    },
    Rejected {
        code: Code,
    },
    Expired {
        code: Code,
    },
    Withdrawn,
    Returned,
    /// The losing carrier did not answer in time; the timer of `rule` fired.
    Unanswered {
        rule: RuleId,
    },
}

impl GainingState {
    /// The scenario vocabulary: completed, rejected, withdrawn, returned, expired, pending.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Refused { .. } | Self::Rejected { .. } => Outcome::Rejected,
            Self::Completed { .. } | Self::AwaitReturnReply { .. } => Outcome::Completed,
            Self::Expired { .. } => Outcome::Expired,
            Self::Withdrawn => Outcome::Withdrawn,
            Self::Returned => Outcome::Returned,
            Self::AwaitSnaReply
            | Self::AwaitEcaTime { .. }
            | Self::AwaitEcaReply
            | Self::AwaitCompletion
            | Self::AwaitRetargetReply { .. }
            | Self::AwaitLapse { .. }
            | Self::AwaitWithdrawReply { .. }
            | Self::AwaitPnvReply
            | Self::AwaitCnaReply
            | Self::AwaitCcaTime { .. }
            | Self::AwaitCcaReply { .. }
            | Self::AwaitCutover { .. }
            | Self::Unanswered { .. } => Outcome::Pending,
        }
    }

    /// A short name of the stage reached, for summaries.
    pub fn stage(&self) -> String {
        match self {
            Self::Refused { rule: Some(rule), .. } => format!("refused ({rule})"),
            Self::Refused { rule: None, reason } => format!("refused ({reason})"),
            Self::AwaitSnaReply => "awaiting SNA reply".into(),
            Self::AwaitEcaTime { .. } => "SNA confirmed, awaiting cutover".into(),
            Self::AwaitEcaReply => "awaiting ECA reply".into(),
            Self::AwaitCompletion => "awaiting completion".into(),
            Self::AwaitRetargetReply { .. } => "awaiting re-target reply".into(),
            Self::AwaitLapse { code, .. } => format!("ECA rejected {code}, awaiting the SNA's lapse"),
            Self::AwaitCcaTime { .. } => "CNA confirmed, awaiting the CCA".into(),
            Self::AwaitPnvReply => "awaiting PNV response".into(),
            Self::AwaitCnaReply => "awaiting CNA confirmation".into(),
            Self::AwaitCcaReply { .. } => "awaiting CCA reply".into(),
            Self::AwaitCutover { .. } => "CCA confirmed, awaiting cutover".into(),
            Self::AwaitWithdrawReply { before } => format!("awaiting withdrawal reply ({})", before.stage()),
            Self::AwaitReturnReply { .. } => "awaiting return reply".into(),
            Self::Completed { .. } => "completed".into(),
            Self::Rejected { code } => format!("rejected {code}"),
            Self::Expired { code } => format!("expired {code}"),
            Self::Withdrawn => "withdrawn".into(),
            Self::Returned => "returned".into(),
            Self::Unanswered { rule } => format!("no answer ({rule})"),
        }
    }
}

impl GainingPort {
    fn new(req: PortRequest, state: GainingState) -> Box<Self> {
        Box::new(Self {
            req,
            state,
            withdraw_wanted: false,
            cap_retries: 0,
            retargets_sent: 0,
            gen: 0,
            confirmed_at: None,
        })
    }

    /// The gaining carrier holds the port's numbers once it completes.
    fn hold_services(&self, book: &mut services::ServiceBook, kind: ServiceKind) {
        book.insert_all(&self.req.numbers, &self.req.customer, &self.req.account, kind);
    }
}

#[derive(Clone, Debug)]
struct GainingPort {
    req: PortRequest,
    state: GainingState,
    /// A re-target or withdrawal the customer asked for while another request was open.
    withdraw_wanted: bool,
    /// Times this port's ECA was refused for capacity and retried.
    cap_retries: u32,
    /// How many of the customer's re-targets have been sent.
    retargets_sent: usize,
    /// Bumped whenever the planned cutover changes, so that stale jobs do nothing.
    gen: u32,
    /// When the SNA (CNA) was confirmed: `SNA-VALIDITY` runs from here.
    confirmed_at: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LosingState {
    AwaitEca {
        confirmed_at: Timestamp,
    },
    /// Cat C: CNA confirmed; awaiting the CCA.
    AwaitCca,
    /// Cat C: CCA confirmed; the cutover is at `cutover_at` (job generation `gen`).
    CcaConfirmed {
        cutover_at: Timestamp,
        gen: u32,
    },
    CutOver {
        at: Timestamp,
    },
}

#[derive(Clone, Debug)]
struct LosingPort {
    gaining: CarrierCode,
    category: Category,
    numbers: Vec<TelephoneNumber>,
    state: LosingState,
    /// Services as they were, to restore on a reversal.
    services: Vec<(TelephoneNumber, Option<Service>)>,
    /// Re-targets received (`RETARGET-LIMIT`).
    retargets: u32,
    /// Whether the donors were told the port is pending (`DONOR_NOTIFY` status `P`), so that
    /// they are told if it does not proceed (`N`).
    notified: bool,
    /// The cutover instant the last `P` carried (a new one goes out when it moves).
    notified_cutover: Option<Timestamp>,
    /// When the SNA was received (`eca_max_sna_age` counts from it).
    received_at: Timestamp,
}

/// The standing register record the donor keeps for a number of its ranges that is ported out
/// or in a pending port. The completed records it stands in place of (they stand again when
/// the port does not proceed or is returned) are kept beside it, in the `donorbook`.
#[derive(Clone, Debug)]
struct DonorEntry {
    current: CarrierCode,
    losing: CarrierCode,
    /// In the donor's `refs`.
    port_ref: refset::RefCode,
    category: Category,
    status: PortStatus,
    /// When the record took effect: the cutover for `C`, when the donor learned of the port for
    /// `P` (`docs/plnr-format.md`).
    effective: Timestamp,
    /// Whether this record has been published (a cancellation is published only then).
    published: bool,
    /// Bumped whenever the announced transit-routing start moves, so that stale starts do nothing.
    dtr_gen: u32,
}

impl DonorEntry {
    /// The record as published; `port_ref` is the reference the entry's code stands for.
    fn record(&self, port_ref: PortRef) -> PlnrRecord {
        PlnrRecord {
            port_ref,
            category: self.category,
            status: self.status,
            current: self.current,
            losing: self.losing,
            effective: self.effective,
        }
    }
}

/// One register record as the donor publishes it (`PLNR_PUBLISH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PlnrRecord {
    port_ref: PortRef,
    category: Category,
    status: PortStatus,
    current: CarrierCode,
    losing: CarrierCode,
    effective: Timestamp,
}

/// A request as the losing carrier judges it: received at `now`, to be answered at `at` (after
/// its processing time), and what a fault makes of it (`accept` what must be refused, or a
/// `forced` reject). Grounds are judged at `now`.
#[derive(Clone, Copy)]
struct Received<'m> {
    now: Timestamp,
    at: Timestamp,
    from: CarrierCode,
    port_ref: PortRef,
    m: &'m Message,
    accept: bool,
    forced: Option<RejectCode>,
}

/// The reference of the register records of numbers ported before the story starts.
const PRE_PORTED: PortRef = PortRef::from_static("PRE-PORTED");

/// Things a carrier will do later, each tied to the rule that sets its time.
#[derive(Clone, Debug)]
enum Job {
    /// Send the ECA of a confirmed Cat A port (the preferred cutover, made compliant).
    SendEca(PortRef),
    /// Send the CCA of a Cat C port for its agreed cutover.
    SendCca(PortRef),
    /// Start donor transit routing at the cutover a `DONOR_NOTIFY` announced (`gen` guards
    /// against a later notice that moved it).
    DtrStart {
        number: TelephoneNumber,
        port_ref: PortRef,
        gen: u32,
    },
    /// `SNA-VALIDITY`: the confirmations in `lapses` that are due lapse (losing side: the port
    /// ends and the number is free again).
    LosingLapses,
    /// `SNA-VALIDITY`, gaining side: the port ends as expired.
    GainingLapse { port_ref: PortRef, confirmed_at: Timestamp },
    /// Stop donor transit routing (`DTR-DURATION`).
    DtrStop { number: TelephoneNumber, port_ref: PortRef },
    /// Publish a register record (`PLNR-UPDATE`).
    PlnrPublish { number: TelephoneNumber, rec: PlnrRecord },
    /// Cat C losing carrier: cut over at the agreed time (`CUTOVER-AT-AGREED`).
    CatCCutover { port_ref: PortRef, gen: u32 },
    /// Cat C gaining carrier: the port is done at the agreed time (no completion advice).
    CatCDone { port_ref: PortRef, gen: u32 },
    /// The losing carrier forgets a cut-over port once no return can come any more.
    ForgetLosing(PortRef),
    /// The gaining carrier's patience with an SNA or ECA answer runs out.
    AnswerDeadline {
        port_ref: PortRef,
        rule: RuleId,
        awaiting: MsgKind,
    },
}

impl Job {
    /// The message or action the job produces, for `skip` and `shift` faults.
    fn emits(&self) -> Option<MsgKind> {
        match self {
            Self::SendEca(_) => Some(MsgKind::Eca),
            Self::SendCca(_) => Some(MsgKind::Cca),
            Self::DtrStart { .. } => Some(MsgKind::DtrStart),
            Self::DtrStop { .. } => Some(MsgKind::DtrStop),
            Self::PlnrPublish { .. } => Some(MsgKind::PlnrPublish),
            Self::CatCCutover { .. } => Some(MsgKind::Cutover),
            Self::AnswerDeadline { .. }
            | Self::CatCDone { .. }
            | Self::ForgetLosing(_)
            | Self::LosingLapses
            | Self::GainingLapse { .. } => None,
        }
    }
}

#[derive(Clone, Debug)]
enum Task {
    Emit(Output),
    Job(Job),
}

/// One carrier's porting system.
#[derive(Debug)]
pub struct Carrier {
    code: CarrierCode,
    config: CarrierConfig,
    rulebook: Rulebook,
    calendar: BusinessCalendar,
    // Maps of a market's numbers. `pending` and `quarantine` are hashed (looked up, never
    // walked). `ported_out` holds every number of the ranges ported away, in a sorted array
    // (`SortedSet`: at 2M ports, about a third of a hash set's room). `services` and `donor`
    // hold every number ported in or out: they are ordered `NumberMap`s, sorted arrays with a
    // small B-tree of recent entries (at 2M ports a hash table's room and its doubling cost
    // 190 MB more peak memory than a B-tree, and a B-tree half as much again as the arrays).
    /// Services held explicitly (numbers ported in, and those the story names); a number of the
    /// carrier's own ranges not held here is a simple service of an unnamed customer.
    services: services::ServiceBook,
    /// Numbers of this carrier's own ranges it serves no more (who does is the donor's record's
    /// business, not this set's).
    ported_out: sortedset::SortedSet<TelephoneNumber>,
    /// Boxed: a port's request is large and the map moves values on insert.
    gaining: FastMap<PortRef, Box<GainingPort>>,
    losing: FastMap<PortRef, LosingPort>,
    /// Numbers in a pending port where this carrier is losing (`PORT-PENDING`).
    pending: FastSet<TelephoneNumber>,
    donor: donorbook::DonorBook,
    /// The references of the donor's records.
    refs: refset::RefTable,
    /// Donor transit routing running, per number and port (`DTR-DURATION`).
    dtr_running: BTreeSet<(TelephoneNumber, PortRef)>,
    /// Messages received that no state expected, handed out with the next outputs.
    unexpected: Vec<Unexpected>,
    /// Confirmed ECAs/CCAs per Sydney cutover date (`DAILY-CAP`).
    /// Per Sydney cutover date: confirmed ECAs/CCAs (`DAILY-CAP`) and when the last confirmation
    /// goes out, so that a `106` for that date never reaches the wire before the confirmations
    /// that filled it.
    cap_used: BTreeMap<chrono::NaiveDate, (u32, Timestamp)>,
    /// Boxed for the same reason: a task can hold a whole message.
    agenda: agenda::Agenda,
    faults: Vec<Fault>,
    /// The donor's PLNR file sequence and the instant its current file was published.
    plnr_file: Option<(Timestamp, u32)>,
    /// Set while a job that a `shift` fault already moved emits its output.
    no_shift: bool,
    /// Outcomes of ended ports that were not kept (see `PortRequest::keep`).
    finished: BTreeMap<Outcome, u64>,
    /// References of cut-over ports this (losing) carrier has since forgotten: a late
    /// withdrawal of one is still refused (107), not mistaken for an unknown port.
    forgotten_cutovers: refset::PortRefSet,
    /// References of ports whose SNA confirmation lapsed (`SNA-VALIDITY`): a late ECA for one is
    /// refused with `101`, not mistaken for an ECA without an SNA.
    lapsed: FastSet<PortRef>,
    /// Losing side: SNA confirmations in lapse order, (lapse instant, ref, confirmed at). One
    /// agenda job waits for the first one still unanswered by an ECA, so the many that go on to
    /// an ECA cost no wake-up of their own.
    lapses: std::collections::VecDeque<(Timestamp, PortRef, Timestamp)>,
    /// When the `LosingLapses` job is due, if one is on the agenda.
    lapse_job_at: Option<Timestamp>,
    /// Donor: numbers given back to it, held until the instant their quarantine ends.
    quarantine: FastMap<TelephoneNumber, Timestamp>,
}

impl Carrier {
    /// A carrier with its configuration, reading the shared rulebook and calendar.
    pub fn new(code: CarrierCode, config: CarrierConfig, rulebook: Rulebook, calendar: BusinessCalendar) -> Self {
        // Numbers ported away before the story starts stand in the donor's register as completed
        // ports (`docs/plnr-format.md`): already published, effective before the story.
        let mut refs = refset::RefTable::default();
        let pre_ported = refs.code(PRE_PORTED);
        let donor = config
            .ported_out
            .iter()
            .map(|(n, current)| {
                (
                    *n,
                    DonorEntry {
                        current: *current,
                        losing: code,
                        port_ref: pre_ported,
                        category: Category::A,
                        status: PortStatus::C,
                        effective: config.start,
                        published: true,
                        dtr_gen: 0,
                    },
                )
            })
            .collect();
        Self {
            code,
            services: config.services.iter().collect(),
            ported_out: config.ported_out.keys().copied().collect(),
            faults: config.faults.clone(),
            config,
            rulebook,
            calendar,
            gaining: FastMap::default(),
            losing: FastMap::default(),
            pending: FastSet::default(),
            donor,
            refs,
            dtr_running: BTreeSet::new(),
            unexpected: Vec::new(),
            cap_used: BTreeMap::new(),
            agenda: agenda::Agenda::default(),
            plnr_file: None,
            no_shift: false,
            finished: BTreeMap::new(),
            forgotten_cutovers: refset::PortRefSet::default(),
            lapsed: FastSet::default(),
            lapses: std::collections::VecDeque::new(),
            lapse_job_at: None,
            quarantine: FastMap::default(),
        }
    }

    pub fn code(&self) -> CarrierCode {
        self.code
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The duties of the Code, over this carrier's rulebook and calendar.
    fn duties(&self) -> Duties<'_, BusinessCalendar> {
        Duties::new(&self.rulebook, &self.calendar)
    }

    /// The earliest instant at which something is due.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.agenda.next_time()
    }

    /// The gaining side's state of a port this carrier started.
    pub fn gaining_state(&self, port_ref: &PortRef) -> Option<&GainingState> {
        self.gaining.get(port_ref).map(|p| &p.state)
    }

    /// How many ports this carrier started reached each outcome (completed, rejected, …),
    /// counting ports already forgotten.
    pub fn outcome_counts(&self) -> BTreeMap<Outcome, u64> {
        let mut counts = self.finished.clone();
        for p in self.gaining.values() {
            *counts.entry(p.state.outcome()).or_insert(0) += 1;
        }
        counts
    }

    /// Every port this carrier started, in reference order.
    pub fn gaining_ports(&self) -> impl Iterator<Item = (&PortRef, &GainingState)> {
        let mut ports: Vec<(&PortRef, &GainingState)> = self.gaining.iter().map(|(r, p)| (r, &p.state)).collect();
        ports.sort_unstable_by_key(|(r, _)| **r);
        ports.into_iter()
    }

    /// Whether this carrier serves the number now.
    pub fn serves(&self, n: TelephoneNumber) -> bool {
        self.service_of(n).is_some()
    }

    /// Ports this carrier knows of that are still open (for end-of-run summaries).
    pub fn open_ports(&self) -> usize {
        self.gaining
            .values()
            .filter(|p| p.state.outcome() == Outcome::Pending)
            .count()
    }

    fn owns_range(&self, n: TelephoneNumber) -> bool {
        self.config.ranges.iter().any(|r| r.contains(n))
    }

    /// The service this carrier holds for `n`: an explicit one, or a plain simple service for a
    /// number of its own ranges that is not ported away.
    fn service_of(&self, n: TelephoneNumber) -> Option<services::ServiceRef<'_>> {
        if let Some(s) = self.services.get(n) {
            return Some(s);
        }
        (self.owns_range(n) && !self.ported_out.contains(&n)).then_some(services::ServiceRef::SIMPLE)
    }

    /// Whether `n` is a number of this donor's ranges held in quarantine at `at` (`QUARANTINE`):
    /// it serves no customer and cannot be ported.
    fn quarantined(&self, n: TelephoneNumber, at: Timestamp) -> bool {
        self.quarantine.get(&n).is_some_and(|until| at < *until)
    }

    fn agreement(&self, other: CarrierCode) -> Option<Agreement> {
        if other == self.code {
            return Some(Agreement {
                carriers: [self.code, self.code],
                after_hours: true,
            });
        }
        self.config.agreements.get(&other).copied()
    }

    // ----- agenda and faults -------------------------------------------------------------

    fn push_task(&mut self, at: Timestamp, task: Task, shifted: bool) {
        self.agenda.push(at, task, shifted);
    }

    /// Puts an output on the agenda at `at`, applying this carrier's `shift` faults.
    fn emit_at(&mut self, at: Timestamp, out: Output) {
        let mut when = at;
        if !self.no_shift {
            if let Some(FaultAction::Shift(by)) = self.peek_shift(out.kind()) {
                when = self.calendar.add(at, by);
            }
        }
        self.push_task(when, Task::Emit(out), true);
    }

    fn schedule(&mut self, at: Timestamp, job: Job) {
        let mut when = at;
        let mut shifted = false;
        if let Some(kind) = job.emits() {
            if let Some(FaultAction::Shift(by)) = self.peek_shift(kind) {
                when = self.calendar.add(at, by);
                shifted = true;
            }
        }
        self.push_task(when, Task::Job(job), shifted);
    }

    fn send(&mut self, at: Timestamp, to: CarrierCode, message: Message) {
        self.emit_at(at, Output::send(self.code, to, message));
    }

    fn act(&mut self, at: Timestamp, message: Message) {
        self.emit_at(at, Output::action(message));
    }

    /// Handles one input at `now` and returns everything due by `now`, in order.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        self.handle_into(now, input, &mut out);
        out
    }

    /// [`Carrier::handle`], appending the outputs to `out` (a buffer the caller reuses, so a
    /// market of millions of events allocates none for them).
    pub fn handle_into(&mut self, now: Timestamp, input: Input, out: &mut Vec<Output>) {
        self.at(now, out, |c| match input {
            Input::Receive {
                envelope,
                processing_ms,
            } => c.receive(now, envelope.from, &envelope.message, processing_ms),
            Input::Command(cmd) => c.command(now, cmd),
            Input::Timeout => {}
        });
    }

    /// [`Carrier::handle_into`] for a message received ([`Input::Receive`] of `message` from
    /// `from`), taking the message by reference: the engine keeps the message it delivers, which
    /// is also its trace record, and moves no copy of it in.
    pub fn receive_into(
        &mut self,
        now: Timestamp,
        from: CarrierCode,
        message: &Message,
        processing_ms: i64,
        out: &mut Vec<Output>,
    ) {
        self.at(now, out, |c| c.receive(now, from, message, processing_ms));
    }

    /// Handles one input at `now` with `act`, appending everything due by `now` to `out`.
    fn at(&mut self, now: Timestamp, out: &mut Vec<Output>, act: impl FnOnce(&mut Self)) {
        // What is due at `now` happens first: a lapse at this instant frees the number before a
        // message received at the same instant is judged.
        self.drain(now, out);
        act(self);
        self.drain(now, out);
    }

    /// Notes a message that no state expected; it is handed out with the next outputs.
    fn unexpected_msg(&mut self, from: CarrierCode, kind: MsgKind, port_ref: Option<PortRef>, state: String) {
        self.unexpected.push(Unexpected {
            carrier: self.code,
            from,
            kind,
            port_ref,
            state,
        });
    }

    fn drain(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        if !self.unexpected.is_empty() {
            out.extend(self.unexpected.drain(..).map(|u| Output::Unexpected(Box::new(u))));
        }
        while let Some(popped) = self.agenda.pop_due_into(now, out) {
            match popped {
                agenda::Popped::Emitted(at) => {
                    let Some(kind) = out.last().map(Output::kind) else {
                        continue;
                    };
                    if matches!(self.take_skip(kind), Some(FaultAction::Skip)) {
                        tracing::debug!(at = %at, carrier = %self.code, %kind, "fault: skipped");
                        out.pop();
                        continue;
                    }
                    if let Some(o) = out.last() {
                        self.after_emit(at, o);
                    }
                }
                agenda::Popped::Job(at, job, shifted) => self.run_job(at, job, shifted),
            }
        }
    }

    fn command(&mut self, now: Timestamp, cmd: Command) {
        match cmd {
            Command::Submit(req) => self.submit(now, *req),
            Command::Withdraw(r) => self.withdraw(now, r),
            Command::Return(r) => self.ask_return(now, r),
            Command::GiveBack { number, donor } => self.give_back(now, number, donor),
            Command::TakeBack { number, from } => self.take_back(now, number, from),
        }
    }

    fn receive(&mut self, now: Timestamp, from: CarrierCode, m: &Message, processing_ms: i64) {
        let kind = m.kind;
        let fault = self.take_fault(kind, true);
        let mut answer_at = now.plus_millis(processing_ms.max(0));
        let mut accept = false;
        let mut forced_reject = None;
        match fault {
            Some(FaultAction::Drop) => {
                tracing::debug!(at = %now, carrier = %self.code, %kind, "fault: dropped");
                return;
            }
            Some(FaultAction::Delay(by)) => answer_at = self.calendar.add(answer_at, by),
            Some(FaultAction::Accept) => accept = true,
            Some(FaultAction::Reject(code)) => forced_reject = Some(code),
            _ => {}
        }
        let Some(port_ref) = m.port_ref else {
            self.unexpected_msg(from, kind, None, "the message has no port reference".into());
            return;
        };
        let received = Received {
            now,
            at: answer_at,
            from,
            port_ref,
            m,
            accept,
            forced: forced_reject,
        };
        match kind {
            MsgKind::Sna => self.on_sna(&received),
            MsgKind::Eca => self.on_eca(&received),
            MsgKind::Withdraw => self.on_withdraw(&received),
            MsgKind::Retarget => self.on_retarget(&received),
            MsgKind::DonorNotify => self.on_donor_notify(now, from, port_ref, m),
            MsgKind::Pnv => self.on_pnv(now, answer_at, from, m, forced_reject),
            MsgKind::Cna => self.on_cna(&received),
            MsgKind::Cca => self.on_cca(&received),
            MsgKind::PnvResponse
            | MsgKind::CnaReceipt
            | MsgKind::CnaConfirm
            | MsgKind::CnaReject
            | MsgKind::CcaConfirm
            | MsgKind::CcaReject => {
                self.on_complex_answer(now, from, port_ref, m);
                self.settle(port_ref);
            }
            MsgKind::Reversal | MsgKind::EmergencyReturn => {
                self.on_return(&received);
            }
            MsgKind::SnaConfirm
            | MsgKind::SnaReject
            | MsgKind::EcaConfirm
            | MsgKind::EcaReject
            | MsgKind::Completion
            | MsgKind::WithdrawConfirm
            | MsgKind::WithdrawReject
            | MsgKind::RetargetConfirm
            | MsgKind::RetargetReject
            | MsgKind::ReversalConfirm
            | MsgKind::ReversalReject
            | MsgKind::EmergencyReturnConfirm
            | MsgKind::EmergencyReturnReject => {
                self.on_answer(now, from, port_ref, m);
                self.settle(port_ref);
            }
            _ => self.unexpected_msg(from, kind, Some(port_ref), "no porting system handles it".into()),
        }
    }
}

fn sanitize(s: &str) -> String {
    lnp_model::message::detail_text(s)
}
