//! One carrier's porting system, in every role it plays: gaining, losing and donor.
//!
//! Sans-IO: [`Carrier::handle`] takes `now` and one [`Input`] and returns the [`Output`]s due by
//! `now`; [`Carrier::next_deadline`] says when it next needs to be woken. Everything it will do
//! later sits in its agenda, each entry tied to the rule that sets its time.

use std::collections::{BTreeMap, BTreeSet};

use lnp_model::{
    BusinessCalendar, CarrierCode, Category, Code, Detail, Envelope, Message, MsgKind, PnvReject, PnvResponse, PortRef,
    PortStatus, RejectCode, RuleId, Rulebook, Span, TelephoneNumber, Timestamp,
};

mod agenda;
mod complex;

use crate::config::{Agreement, CarrierConfig, Command, Fault, FaultAction, PortRequest, Service, ServiceKind};

/// What the engine hands a carrier.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Send(Envelope),
    Action(Message),
}

impl Output {
    pub fn kind(&self) -> MsgKind {
        match self {
            Self::Send(e) => e.message.kind,
            Self::Action(m) => m.kind,
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
    /// Cat C: awaiting the PNV response.
    AwaitPnvReply,
    /// Cat C: CNA sent; awaiting its receipt and confirmation.
    AwaitCnaReply,
    /// Cat C: the project managers agreed `agreed`; the CCA awaits its answer.
    AwaitCcaReply {
        agreed: Timestamp,
    },
    /// Cat C: CCA confirmed; both sides cut over at `agreed`.
    AwaitCutover {
        agreed: Timestamp,
    },
    AwaitWithdrawReply {
        confirmed_at: Timestamp,
        eca_at: Timestamp,
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
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Refused { .. } | Self::Rejected { .. } => "rejected",
            Self::Completed { .. } | Self::AwaitReturnReply { .. } => "completed",
            Self::Expired { .. } => "expired",
            Self::Withdrawn => "withdrawn",
            Self::Returned => "returned",
            Self::AwaitSnaReply
            | Self::AwaitEcaTime { .. }
            | Self::AwaitEcaReply
            | Self::AwaitCompletion
            | Self::AwaitRetargetReply { .. }
            | Self::AwaitWithdrawReply { .. }
            | Self::AwaitPnvReply
            | Self::AwaitCnaReply
            | Self::AwaitCcaReply { .. }
            | Self::AwaitCutover { .. }
            | Self::Unanswered { .. } => "pending",
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
            Self::AwaitPnvReply => "awaiting PNV response".into(),
            Self::AwaitCnaReply => "awaiting CNA confirmation".into(),
            Self::AwaitCcaReply { .. } => "awaiting CCA reply".into(),
            Self::AwaitCutover { .. } => "CCA confirmed, awaiting cutover".into(),
            Self::AwaitWithdrawReply { .. } => "awaiting withdrawal reply".into(),
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
}

/// What the donor keeps for a number ported out of its ranges.
#[derive(Clone, Debug)]
struct DonorEntry {
    current: CarrierCode,
    losing: CarrierCode,
    port_ref: PortRef,
    category: Category,
    status: PortStatus,
    /// Whether this port's record has been published (a return is published only then).
    published: bool,
}

/// Things a carrier will do later, each tied to the rule that sets its time.
#[derive(Clone, Debug)]
enum Job {
    /// Send the ECA of a confirmed port (the preferred cutover).
    SendEca(PortRef),
    /// Stop donor transit routing (`DTR-DURATION`).
    DtrStop { number: TelephoneNumber, port_ref: PortRef },
    /// Publish a register record (`PLNR-UPDATE`).
    PlnrPublish { number: TelephoneNumber },
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
            Self::DtrStop { .. } => Some(MsgKind::DtrStop),
            Self::PlnrPublish { .. } => Some(MsgKind::PlnrPublish),
            Self::CatCCutover { .. } => Some(MsgKind::Cutover),
            Self::AnswerDeadline { .. } | Self::CatCDone { .. } | Self::ForgetLosing(_) => None,
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
    services: BTreeMap<TelephoneNumber, Service>,
    ported_out: BTreeMap<TelephoneNumber, CarrierCode>,
    /// Boxed: a port's request is large and the map moves values on insert.
    gaining: BTreeMap<PortRef, Box<GainingPort>>,
    losing: BTreeMap<PortRef, LosingPort>,
    /// Numbers in a pending port where this carrier is losing (`PORT-PENDING`).
    pending: BTreeSet<TelephoneNumber>,
    donor: BTreeMap<TelephoneNumber, DonorEntry>,
    /// Confirmed ECAs/CCAs per Sydney cutover date (`DAILY-CAP`).
    /// Per Sydney cutover date: confirmed ECAs/CCAs (`DAILY-CAP`) and when the last confirmation
    /// goes out, so that a `106` for that date never reaches the wire before the confirmations
    /// that filled it.
    cap_used: BTreeMap<chrono::NaiveDate, (u32, Timestamp)>,
    /// Boxed for the same reason: a task can hold a whole message.
    agenda: agenda::Agenda,
    faults: Vec<Fault>,
    /// The donor's PLNR file sequence and the Sydney date of its current file.
    plnr_file: Option<(chrono::NaiveDate, u32)>,
    /// Set while a job that a `shift` fault already moved emits its output.
    no_shift: bool,
    /// Outcomes of ended ports that were not kept (see `PortRequest::keep`).
    finished: BTreeMap<&'static str, u64>,
    /// References of cut-over ports this (losing) carrier has since forgotten: a late
    /// withdrawal of one is still refused (107), not mistaken for an unknown port.
    forgotten_cutovers: BTreeSet<PortRef>,
    /// Donor: numbers given back to it, held until the instant their quarantine ends.
    quarantine: BTreeMap<TelephoneNumber, Timestamp>,
}

impl Carrier {
    /// A carrier with its configuration, reading the shared rulebook and calendar.
    pub fn new(code: CarrierCode, config: CarrierConfig, rulebook: Rulebook, calendar: BusinessCalendar) -> Self {
        Self {
            code,
            services: config.services.clone(),
            ported_out: config.ported_out.clone(),
            faults: config.faults.clone(),
            config,
            rulebook,
            calendar,
            gaining: BTreeMap::new(),
            losing: BTreeMap::new(),
            pending: BTreeSet::new(),
            donor: BTreeMap::new(),
            cap_used: BTreeMap::new(),
            agenda: agenda::Agenda::default(),
            plnr_file: None,
            no_shift: false,
            finished: BTreeMap::new(),
            forgotten_cutovers: BTreeSet::new(),
            quarantine: BTreeMap::new(),
        }
    }

    pub fn code(&self) -> CarrierCode {
        self.code
    }

    pub fn name(&self) -> &str {
        &self.config.name
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
    pub fn outcome_counts(&self) -> BTreeMap<&'static str, u64> {
        let mut counts = self.finished.clone();
        for p in self.gaining.values() {
            *counts.entry(p.state.outcome()).or_insert(0) += 1;
        }
        counts
    }

    /// A port that has ended and need not be kept is counted and forgotten.
    fn settle(&mut self, port_ref: PortRef) {
        let Some(p) = self.gaining.get(&port_ref) else { return };
        let outcome = p.state.outcome();
        if !p.req.keep && outcome != "pending" {
            *self.finished.entry(outcome).or_insert(0) += 1;
            self.gaining.remove(&port_ref);
        }
    }

    /// Every port this carrier started, in reference order.
    pub fn gaining_ports(&self) -> impl Iterator<Item = (&PortRef, &GainingState)> {
        self.gaining.iter().map(|(r, p)| (r, &p.state))
    }

    /// Whether this carrier serves the number now.
    pub fn serves(&self, n: TelephoneNumber) -> bool {
        self.service_of(n).is_some()
    }

    /// Ports this carrier knows of that are still open (for end-of-run summaries).
    pub fn open_ports(&self) -> usize {
        self.gaining.values().filter(|p| p.state.outcome() == "pending").count()
    }

    fn owns_range(&self, n: TelephoneNumber) -> bool {
        self.config.ranges.iter().any(|r| r.contains(n))
    }

    /// The service this carrier holds for `n`: an explicit one, or a plain simple service for a
    /// number of its own ranges that is not ported away.
    fn service_of(&self, n: TelephoneNumber) -> Option<std::borrow::Cow<'_, Service>> {
        if let Some(s) = self.services.get(&n) {
            return Some(std::borrow::Cow::Borrowed(s));
        }
        (self.owns_range(n) && !self.ported_out.contains_key(&n)).then(|| {
            std::borrow::Cow::Owned(Service {
                customer: String::new(),
                account: String::new(),
                kind: ServiceKind::Simple,
            })
        })
    }

    /// Whether `n` is a number of this donor's ranges held in quarantine at `at` (`QUARANTINE`):
    /// it serves no customer and cannot be ported.
    fn quarantined(&self, n: TelephoneNumber, at: Timestamp) -> bool {
        self.quarantine.get(&n).is_some_and(|until| at < *until)
    }

    fn agreement(&self, other: CarrierCode) -> Option<Agreement> {
        if other == self.code {
            return Some(Agreement { after_hours: true });
        }
        self.config.agreements.get(&other).copied()
    }

    // ----- agenda and faults -------------------------------------------------------------

    fn take_fault(&mut self, kind: MsgKind, receive: bool) -> Option<FaultAction> {
        let f = self
            .faults
            .iter_mut()
            .find(|f| f.on.is_none_or(|k| k == kind) && f.action.on_receive() == receive && f.remaining != Some(0))?;
        if let Some(r) = f.remaining.as_mut() {
            *r -= 1;
        }
        Some(f.action)
    }

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

    fn peek_shift(&mut self, kind: MsgKind) -> Option<FaultAction> {
        let has = self.faults.iter().any(|f| {
            f.on.is_none_or(|k| k == kind) && matches!(f.action, FaultAction::Shift(_)) && f.remaining != Some(0)
        });
        if has {
            self.take_fault(kind, false)
                .filter(|a| matches!(a, FaultAction::Shift(_)))
        } else {
            None
        }
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
        self.emit_at(
            at,
            Output::Send(Envelope {
                from: self.code,
                to,
                message,
            }),
        );
    }

    fn act(&mut self, at: Timestamp, message: Message) {
        self.emit_at(at, Output::Action(message));
    }

    /// Handles one input at `now` and returns everything due by `now`, in order.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Vec<Output> {
        match input {
            Input::Receive {
                envelope,
                processing_ms,
            } => self.receive(now, envelope, processing_ms),
            Input::Command(cmd) => self.command(now, cmd),
            Input::Timeout => {}
        }
        self.drain(now)
    }

    fn drain(&mut self, now: Timestamp) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some((at, task, shifted)) = self.agenda.pop_due(now) {
            match task {
                Task::Emit(o) => {
                    if matches!(self.take_skip(o.kind()), Some(FaultAction::Skip)) {
                        tracing::debug!(carrier = %self.code, kind = %o.kind(), "fault: skipped");
                        continue;
                    }
                    self.after_emit(at, &o);
                    out.push(o);
                }
                Task::Job(job) => self.run_job(at, job, shifted),
            }
        }
        out
    }

    fn take_skip(&mut self, kind: MsgKind) -> Option<FaultAction> {
        let has = self
            .faults
            .iter()
            .any(|f| f.on.is_none_or(|k| k == kind) && f.action == FaultAction::Skip && f.remaining != Some(0));
        if has {
            self.take_fault_exact(kind, FaultAction::Skip)
        } else {
            None
        }
    }

    fn take_fault_exact(&mut self, kind: MsgKind, action: FaultAction) -> Option<FaultAction> {
        let f = self
            .faults
            .iter_mut()
            .find(|f| f.on.is_none_or(|k| k == kind) && f.action == action && f.remaining != Some(0))?;
        if let Some(r) = f.remaining.as_mut() {
            *r -= 1;
        }
        Some(f.action)
    }

    /// Consequences of having actually sent or done something (a skipped `DTR_START` starts no
    /// transit routing, so no `DTR_STOP` follows it).
    fn after_emit(&mut self, at: Timestamp, o: &Output) {
        if let Output::Action(m) = o {
            if m.kind == MsgKind::DtrStart {
                if let Some(port_ref) = m.port_ref {
                    let stop = self.calendar.add(at, self.rulebook.dtr_duration);
                    for n in &m.numbers {
                        self.schedule(stop, Job::DtrStop { number: *n, port_ref });
                    }
                }
            }
        }
    }

    // ----- commands ----------------------------------------------------------------------

    fn command(&mut self, now: Timestamp, cmd: Command) {
        match cmd {
            Command::Submit(req) => self.submit(now, *req),
            Command::Withdraw(r) => self.withdraw(now, r),
            Command::Return(r) => self.ask_return(now, r),
            Command::GiveBack { number, donor } => self.give_back(now, number, donor),
            Command::TakeBack { number, from } => self.take_back(now, number, from),
        }
    }

    fn submit(&mut self, now: Timestamp, req: PortRequest) {
        let refuse = |rule: RuleId, reason: String| GainingState::Refused {
            rule: Some(rule),
            reason,
        };
        let mut parties = vec![req.losing];
        parties.extend(
            req.donors
                .iter()
                .map(|(_, d)| *d)
                .filter(|d| *d != req.losing && *d != self.code),
        );
        // An `accept` fault on the request it sends: the gaining carrier starts a port its own
        // checks should have refused (no agreement, a stale authority).
        let first = if req.category.is_simple() {
            MsgKind::Sna
        } else if req.pnv {
            MsgKind::Pnv
        } else {
            MsgKind::Cna
        };
        let unchecked = self.take_fault_exact(first, FaultAction::Accept).is_some();
        // An `accept` fault on SNA with a Cat C port: the check that keeps a port of more than one
        // number out of the Cat A flow is off, and the batch goes as one SNA (SNA-ONE-NUMBER).
        let mut req = req;
        let mut unchecked = unchecked;
        if !req.category.is_simple() && self.take_fault_exact(MsgKind::Sna, FaultAction::Accept).is_some() {
            req.category = Category::A;
            req.pnv = false;
            unchecked = true;
        }
        let state = if unchecked && req.category.is_simple() {
            GainingState::AwaitSnaReply
        } else if unchecked {
            self.submit_complex(now, req);
            return;
        } else if let Some(missing) = parties.iter().find(|c| self.agreement(**c).is_none()) {
            refuse(
                RuleId::Bilateral,
                format!("no bilateral agreement between {} and {missing}", self.code),
            )
        } else if !self.ca_date_ok(req.ca_date, now) {
            refuse(
                RuleId::CaAge,
                format!(
                    "Customer Authority dated {} is more than {} old or in the future",
                    req.ca_date,
                    self.rulebook.ca_age.describe()
                ),
            )
        } else if req.category.is_simple() && req.numbers.len() != 1 {
            refuse(
                RuleId::SnaOneNumber,
                format!("a Cat {} port carries exactly one number", req.category),
            )
        } else if !req.category.is_simple() {
            self.submit_complex(now, req);
            return;
        } else {
            GainingState::AwaitSnaReply
        };
        let port_ref = req.port_ref;
        if state == GainingState::AwaitSnaReply {
            let mut m = Message::new(MsgKind::Sna, port_ref);
            m.category = Some(req.category);
            m.numbers.clone_from(&req.numbers);
            m.detail = Detail {
                ca_date: Some(req.ca_date),
                account: Some(req.account.clone()),
                cutover: Some(req.cutover),
                ..Detail::default()
            };
            if !req.customer.is_empty() {
                m.detail.extra.push(("customer".into(), sanitize(&req.customer)));
            }
            self.send(now, req.losing, m);
            // A minute's grace past SNA-RESPONSE, so that an answer on the deadline is in time.
            let deadline = self.calendar.add(now, self.rulebook.sna_response).plus_millis(60_000);
            self.schedule(
                deadline,
                Job::AnswerDeadline {
                    port_ref,
                    rule: RuleId::SnaResponse,
                    awaiting: MsgKind::Sna,
                },
            );
        } else if let GainingState::Refused { rule, reason } = &state {
            if !req.keep {
                *self.finished.entry("rejected").or_insert(0) += 1;
                return;
            }
            tracing::info!(carrier = %self.code, port = %port_ref, ?rule, %reason, "port refused");
        }
        self.gaining.insert(
            port_ref,
            Box::new(GainingPort {
                req,
                state,
                withdraw_wanted: false,
                cap_retries: 0,
                retargets_sent: 0,
                gen: 0,
            }),
        );
    }

    fn ca_date_ok(&self, ca_date: chrono::NaiveDate, at: Timestamp) -> bool {
        let today = at.sydney_date();
        let days = match self.rulebook.ca_age {
            Span::Days(d) => d,
            other => other.fixed_millis().map_or(90, |ms| ms / 86_400_000),
        };
        ca_date <= today && (today - ca_date).num_days() <= days
    }

    fn withdraw(&mut self, now: Timestamp, port_ref: PortRef) {
        let Some(p) = self.gaining.get_mut(&port_ref) else {
            return;
        };
        match p.state.clone() {
            GainingState::AwaitEcaTime { confirmed_at, eca_at } => {
                p.state = GainingState::AwaitWithdrawReply { confirmed_at, eca_at };
                let losing = p.req.losing;
                let mut m = Message::new(MsgKind::Withdraw, port_ref);
                m.category = Some(p.req.category);
                m.numbers.clone_from(&p.req.numbers);
                self.send(now, losing, m);
            }
            GainingState::AwaitSnaReply | GainingState::AwaitRetargetReply { .. } => p.withdraw_wanted = true,
            GainingState::AwaitEcaReply | GainingState::AwaitCompletion | GainingState::Completed { .. } => {
                // After the ECA the customer's request still goes to the losing carrier, which
                // must refuse it (107): the trace shows the Code at work.
                let losing = p.req.losing;
                let mut m = Message::new(MsgKind::Withdraw, port_ref);
                m.category = Some(p.req.category);
                m.numbers.clone_from(&p.req.numbers);
                self.send(now, losing, m);
            }
            _ => {}
        }
    }

    fn ask_return(&mut self, now: Timestamp, port_ref: PortRef) {
        let Some(p) = self.gaining.get_mut(&port_ref) else {
            return;
        };
        if let GainingState::Completed { cutover_at } = p.state {
            let kind = if p.req.category.is_simple() {
                MsgKind::Reversal
            } else {
                MsgKind::EmergencyReturn
            };
            p.state = GainingState::AwaitReturnReply { cutover_at };
            let losing = p.req.losing;
            let mut m = Message::new(kind, port_ref);
            m.category = Some(p.req.category);
            m.numbers.clone_from(&p.req.numbers);
            self.send(now, losing, m);
        }
    }

    fn give_back(&mut self, now: Timestamp, number: TelephoneNumber, donor: CarrierCode) {
        if self.services.remove(&number).is_none() {
            return;
        }
        let mut m = Message {
            kind: MsgKind::GiveBack,
            port_ref: None,
            category: None,
            numbers: vec![number],
            code: Code::None,
            detail: Detail::default(),
        };
        m.detail.current = Some(donor);
        self.act(now, m);
    }

    /// Donor: a number ported out of its ranges comes back (`GIVE_BACK` by `from`). Transit
    /// routing for it ends, the register record is deleted (status `R` with the donor as the
    /// current carrier: action `D`), and the number is held in quarantine (`QUARANTINE`).
    fn take_back(&mut self, now: Timestamp, number: TelephoneNumber, from: CarrierCode) {
        if !self.owns_range(number) {
            return;
        }
        let code = self.code;
        let dtr_running = self
            .agenda
            .any(|t| matches!(t, Task::Job(Job::DtrStop { number: n, .. }) if *n == number));
        self.agenda.retain(|t| {
            !matches!(t, Task::Job(Job::DtrStop { number: n, .. } | Job::PlnrPublish { number: n }) if *n == number)
        });
        self.ported_out.remove(&number);
        self.services.remove(&number);
        let until = self.calendar.add(now, self.rulebook.quarantine);
        self.quarantine.insert(number, until);
        let Some(entry) = self.donor.get(&number) else {
            return;
        };
        let (port_ref, category, published) = (entry.port_ref, entry.category, entry.published);
        if dtr_running {
            let mut stop = Message::new(MsgKind::DtrStop, port_ref);
            stop.category = Some(category);
            stop.numbers = vec![number];
            stop.detail.current = Some(code);
            stop.detail.reason = Some("given back".into());
            self.act(now, stop);
        }
        match self.donor.get_mut(&number) {
            Some(entry) if published => {
                entry.status = PortStatus::R;
                entry.current = code;
                entry.losing = from;
                self.schedule(now, Job::PlnrPublish { number });
            }
            _ => {
                self.donor.remove(&number);
            }
        }
    }

    // ----- receiving ---------------------------------------------------------------------

    fn receive(&mut self, now: Timestamp, env: Envelope, processing_ms: i64) {
        let kind = env.message.kind;
        let fault = self.take_fault(kind, true);
        let mut answer_at = now.plus_millis(processing_ms.max(0));
        let mut accept = false;
        let mut forced_reject = None;
        match fault {
            Some(FaultAction::Drop) => {
                tracing::debug!(carrier = %self.code, %kind, "fault: dropped");
                return;
            }
            Some(FaultAction::Delay(by)) => answer_at = self.calendar.add(answer_at, by),
            Some(FaultAction::Accept) => accept = true,
            Some(FaultAction::Reject(code)) => forced_reject = Some(code),
            _ => {}
        }
        let from = env.from;
        let m = env.message;
        let Some(port_ref) = m.port_ref else {
            return;
        };
        match kind {
            MsgKind::Sna => self.on_sna(answer_at, from, port_ref, &m, accept, forced_reject),
            MsgKind::Eca => self.on_eca(now, answer_at, from, port_ref, &m, accept, forced_reject),
            MsgKind::Withdraw => self.on_withdraw(answer_at, from, port_ref, &m, accept, forced_reject),
            MsgKind::Retarget => self.on_retarget(answer_at, from, port_ref, &m, accept, forced_reject),
            MsgKind::DonorNotify => self.on_donor_notify(answer_at, from, port_ref, &m),
            MsgKind::Pnv => self.on_pnv(answer_at, from, &m, forced_reject),
            MsgKind::Cna => self.on_cna(answer_at, from, port_ref, &m, accept, forced_reject),
            MsgKind::Cca => self.on_cca(answer_at, from, port_ref, &m, accept, forced_reject),
            MsgKind::PnvResponse
            | MsgKind::CnaReceipt
            | MsgKind::CnaConfirm
            | MsgKind::CnaReject
            | MsgKind::CcaConfirm
            | MsgKind::CcaReject => {
                self.on_complex_answer(now, port_ref, &m);
                self.settle(port_ref);
            }
            MsgKind::Reversal | MsgKind::EmergencyReturn => {
                self.on_return(now, answer_at, from, port_ref, &m, accept, forced_reject);
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
                self.on_answer(now, port_ref, &m);
                self.settle(port_ref);
            }
            _ => tracing::debug!(carrier = %self.code, %kind, "not handled"),
        }
    }

    fn reply(&mut self, at: Timestamp, to: CarrierCode, kind: MsgKind, req: &Message, code: Option<RejectCode>) {
        let Some(port_ref) = req.port_ref else { return };
        let mut m = Message::new(kind, port_ref);
        m.category = req.category;
        m.numbers.clone_from(&req.numbers);
        if let Some(c) = code {
            m.code = Code::whole(c);
        }
        self.send(at, to, m);
    }

    /// Losing carrier: validate an SNA (clause 4.2.4) and confirm or reject it.
    fn on_sna(
        &mut self,
        at: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
        accept: bool,
        forced: Option<RejectCode>,
    ) {
        let code = forced.or_else(|| if accept { None } else { self.sna_problem(at, m) });
        if let Some(code) = code {
            self.reply(at, from, MsgKind::SnaReject, m, Some(code));
            return;
        }
        self.open_losing(
            port_ref,
            from,
            m.category.unwrap_or(Category::A),
            &m.numbers,
            LosingState::AwaitEca { confirmed_at: at },
            true,
        );
        self.reply(at, from, MsgKind::SnaConfirm, m, None);
        self.notify_pending(at, port_ref, m.category.unwrap_or(Category::A), &m.numbers, from);
    }

    /// Losing carrier in a third-party port: once it has confirmed the port, it tells the donors
    /// that the port is pending (`DONOR-NOTIFY` status `P`), once per port.
    pub(super) fn notify_pending(
        &mut self,
        at: Timestamp,
        port_ref: PortRef,
        category: Category,
        numbers: &[TelephoneNumber],
        gaining: CarrierCode,
    ) {
        if let Some(p) = self.losing.get_mut(&port_ref) {
            if p.notified {
                return;
            }
            p.notified = true;
        }
        self.notify_donors(at, port_ref, category, numbers, PortStatus::P, gaining);
    }

    /// Losing carrier: a confirmed port that will not proceed (withdrawn, or its SNA expired) is
    /// closed, and donors told of it as pending hear that it did not proceed (status `N`).
    fn abandon_losing(&mut self, at: Timestamp, port_ref: PortRef) {
        let Some(p) = self.losing.get(&port_ref) else { return };
        let (notified, category, numbers) = (p.notified, p.category, p.numbers.clone());
        self.close_losing(port_ref);
        if notified {
            let code = self.code;
            self.notify_donors(at, port_ref, category, &numbers, PortStatus::N, code);
        }
    }

    /// Losing carrier: a port it has confirmed (SNA or CNA), remembering the services as they
    /// are so that a reversal can restore them. `mark_pending` makes its numbers count for
    /// `PORT-PENDING`.
    fn open_losing(
        &mut self,
        port_ref: PortRef,
        gaining: CarrierCode,
        category: Category,
        numbers: &[TelephoneNumber],
        state: LosingState,
        mark_pending: bool,
    ) {
        let services = numbers.iter().map(|n| (*n, self.services.get(n).cloned())).collect();
        if mark_pending {
            self.pending.extend(numbers.iter().copied());
        }
        let port = LosingPort {
            gaining,
            category,
            numbers: numbers.to_vec(),
            state,
            services,
            retargets: 0,
            notified: false,
        };
        self.losing.insert(port_ref, port);
    }

    fn sna_problem(&self, at: Timestamp, m: &Message) -> Option<RejectCode> {
        let Some(ca) = m.detail.ca_date else {
            return Some(RejectCode::INSUFFICIENT_INFO);
        };
        if !self.ca_date_ok(ca, at) {
            return Some(RejectCode::CA_INVALID);
        }
        if m.numbers.len() != 1 {
            return Some(RejectCode::INSUFFICIENT_INFO);
        }
        let n = m.numbers[0];
        // The same validation as a PNV's (clause 4.3.8), answered with the SNA's reject codes.
        match self.number_problem(at, n, Self::customer_of(m)) {
            Ok(PnvResponse::Standalone) => {}
            Ok(_) => return Some(RejectCode::COMPLEX_SERVICE),
            Err(PnvReject::OTHER_PROVIDER) => return Some(RejectCode::NOT_WITH_LOSING),
            Err(PnvReject::DIFFERENT_CUSTOMER) => return Some(RejectCode::DIFFERENT_CUSTOMER),
            Err(PnvReject::CANCELLED) => return Some(RejectCode::CANCELLED),
            Err(_) => return Some(RejectCode::NOT_FOUND),
        }
        if self.pending.contains(&n) {
            return Some(RejectCode::PORT_PENDING);
        }
        None
    }

    /// Losing carrier: check an ECA (clauses 4.2.27, 4.2.32) and cut over.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the arguments are the message's context"
    )]
    fn on_eca(
        &mut self,
        now: Timestamp,
        at: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
        accept: bool,
        forced: Option<RejectCode>,
    ) {
        let problem = forced.or_else(|| {
            if accept {
                None
            } else {
                self.eca_problem(now, from, port_ref, m)
            }
        });
        if let Some(code) = problem {
            let at = if code == RejectCode::DAILY_CAP {
                self.cap_reject_at(now.sydney_date(), at)
            } else {
                at
            };
            self.reply(at, from, MsgKind::EcaReject, m, Some(code));
            if code == RejectCode::SNA_EXPIRED {
                self.abandon_losing(at, port_ref);
            }
            return;
        }
        self.use_capacity(now.sydney_date(), at);
        self.reply(at, from, MsgKind::EcaConfirm, m, None);
        let category = m.category.unwrap_or(Category::A);
        self.notify_pending(at, port_ref, category, &m.numbers, from);
        self.cut_over(at, from, port_ref, m);
        let mut done = Message::new(MsgKind::Completion, port_ref);
        done.category = m.category;
        done.numbers.clone_from(&m.numbers);
        self.send(at, from, done);
    }

    fn eca_problem(&self, now: Timestamp, from: CarrierCode, port_ref: PortRef, m: &Message) -> Option<RejectCode> {
        let Some(p) = self.losing.get(&port_ref) else {
            return Some(RejectCode::NO_VALID_SNA);
        };
        let LosingState::AwaitEca { confirmed_at } = p.state else {
            return Some(RejectCode::NO_VALID_SNA);
        };
        if p.gaining != from || p.numbers != m.numbers {
            return Some(RejectCode::NO_VALID_SNA);
        }
        if now > self.calendar.add(confirmed_at, self.rulebook.sna_validity) {
            return Some(RejectCode::SNA_EXPIRED);
        }
        if let Some(max_age) = self.rulebook.eca_max_sna_age {
            if now > self.calendar.add(confirmed_at, max_age) {
                return Some(RejectCode::SNA_EXPIRED);
            }
        }
        let after_hours = self.agreement(from).is_some_and(|a| a.after_hours);
        if !after_hours && !self.calendar.in_standard_hours(now) {
            return Some(RejectCode::OUTSIDE_HOURS);
        }
        if let Some(cap) = self.config.daily_cap {
            if self.cap_used.get(&now.sydney_date()).map_or(0, |c| c.0) >= cap {
                return Some(RejectCode::DAILY_CAP);
            }
        }
        None
    }

    /// Counts one confirmed cutover on `day`, confirmed at `at`.
    pub(super) fn use_capacity(&mut self, day: chrono::NaiveDate, at: Timestamp) {
        let e = self.cap_used.entry(day).or_insert((0, at));
        e.0 += 1;
        e.1 = e.1.max(at);
    }

    /// When a `106` for `day` may go out: not before the last confirmation that filled it.
    pub(super) fn cap_reject_at(&self, day: chrono::NaiveDate, at: Timestamp) -> Timestamp {
        self.cap_used.get(&day).map_or(at, |c| c.1.max(at))
    }

    fn close_losing(&mut self, port_ref: PortRef) {
        if let Some(p) = self.losing.remove(&port_ref) {
            for n in &p.numbers {
                self.pending.remove(n);
            }
        }
    }

    /// The number leaves this (losing) carrier's network; as donor it starts transit routing
    /// and plans the register update.
    fn cut_over(&mut self, at: Timestamp, gaining: CarrierCode, port_ref: PortRef, m: &Message) {
        let category = m.category.unwrap_or(Category::A);
        let mut cut = Message::new(MsgKind::Cutover, port_ref);
        cut.category = Some(category);
        cut.numbers.clone_from(&m.numbers);
        cut.detail.current = Some(gaining);
        self.act(at, cut);
        for n in &m.numbers {
            self.services.remove(n);
            self.pending.remove(n);
            if self.owns_range(*n) {
                self.ported_out.insert(*n, gaining);
            }
        }
        if let Some(p) = self.losing.get_mut(&port_ref) {
            p.state = LosingState::CutOver { at };
            // Kept past the return window (so that a late return can still be answered, with 108
            // or, under an `accept` fault, confirmed) until donor transit routing would end.
            let window_end = self.calendar.add(at, self.rulebook.return_window).plus_millis(60_000);
            let forget_at = self.calendar.add(at, self.rulebook.dtr_duration).max(window_end);
            self.schedule(forget_at, Job::ForgetLosing(port_ref));
        }
        let own: Vec<TelephoneNumber> = m.numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        if !own.is_empty() {
            self.donor_port_out(at, gaining, self.code, port_ref, category, &own);
        }
        self.notify_donors(at, port_ref, category, &m.numbers, PortStatus::C, gaining);
    }

    /// Donor duties for a completed port of its numbers: start transit routing now, publish the
    /// completed record once the return window has ended (`PLNR-UPDATE`).
    fn donor_port_out(
        &mut self,
        at: Timestamp,
        current: CarrierCode,
        losing: CarrierCode,
        port_ref: PortRef,
        category: Category,
        numbers: &[TelephoneNumber],
    ) {
        let mut dtr = Message::new(MsgKind::DtrStart, port_ref);
        dtr.category = Some(category);
        dtr.numbers = numbers.to_vec();
        dtr.detail.current = Some(current);
        self.act(at, dtr);
        let window_end = self.calendar.add(at, self.rulebook.return_window);
        for n in numbers {
            self.donor.insert(
                *n,
                DonorEntry {
                    current,
                    losing,
                    port_ref,
                    category,
                    status: PortStatus::C,
                    published: false,
                },
            );
            self.schedule(window_end, Job::PlnrPublish { number: *n });
        }
    }

    fn on_withdraw(
        &mut self,
        at: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
        accept: bool,
        forced: Option<RejectCode>,
    ) {
        let state = self.losing.get(&port_ref).map(|p| p.state);
        let code = forced.or(match state {
            // Nothing pending under this reference (an SNA it never received or already
            // refused): there is nothing to stop, so the withdrawal is simply confirmed.
            None if !self.forgotten_cutovers.contains(&port_ref) => None,
            Some(LosingState::AwaitEca { .. } | LosingState::AwaitCca) => None,
            _ if accept => None,
            _ => Some(RejectCode::WITHDRAW_TOO_LATE),
        });
        if let Some(c) = code {
            self.reply(at, from, MsgKind::WithdrawReject, m, Some(c));
        } else {
            self.reply(at, from, MsgKind::WithdrawConfirm, m, None);
            self.abandon_losing(at, port_ref);
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the arguments are the message's context"
    )]
    fn on_return(
        &mut self,
        now: Timestamp,
        at: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
        accept: bool,
        forced: Option<RejectCode>,
    ) {
        let (confirm, reject) = if m.kind == MsgKind::Reversal {
            (MsgKind::ReversalConfirm, MsgKind::ReversalReject)
        } else {
            (MsgKind::EmergencyReturnConfirm, MsgKind::EmergencyReturnReject)
        };
        let cut_at = match self.losing.get(&port_ref).map(|p| p.state) {
            Some(LosingState::CutOver { at }) => Some(at),
            _ => None,
        };
        let in_window = cut_at.is_some_and(|c| now <= self.calendar.add(c, self.rulebook.return_window));
        let code = forced.or(if in_window || (accept && cut_at.is_some()) {
            None
        } else {
            Some(RejectCode::OUTSIDE_RETURN_WINDOW)
        });
        if let Some(c) = code {
            self.reply(at, from, reject, m, Some(c));
            return;
        }
        self.reply(at, from, confirm, m, None);
        // Service and routing come back: the number returns to this carrier's network.
        let Some(p) = self.losing.remove(&port_ref) else {
            return;
        };
        let restored = p.services.clone();
        let category = p.category;
        let mut back = Message::new(MsgKind::Cutover, port_ref);
        back.category = Some(category);
        back.numbers.clone_from(&m.numbers);
        back.detail.current = Some(self.code);
        back.detail.reason = Some("returned".into());
        for (n, s) in restored {
            if let Some(s) = s {
                self.services.insert(n, s);
            }
            self.ported_out.remove(&n);
        }
        self.emit_at(at, Output::Action(back));
        let code = self.code;
        self.notify_donors(at, port_ref, category, &m.numbers, PortStatus::R, code);
        let own: Vec<TelephoneNumber> = m.numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        for n in own {
            self.donor_return(at, n, port_ref, category, code);
        }
    }

    /// The donor's side of a reversal or emergency return: transit routing stops, and the return
    /// is published (status `R`) where the completed port already was; otherwise the record that
    /// was waiting for the return window is simply never published.
    fn donor_return(
        &mut self,
        at: Timestamp,
        n: TelephoneNumber,
        port_ref: PortRef,
        category: Category,
        now_with: CarrierCode,
    ) {
        let mut stop = Message::new(MsgKind::DtrStop, port_ref);
        stop.category = Some(category);
        stop.numbers = vec![n];
        stop.detail.current = Some(now_with);
        self.act(at, stop);
        self.agenda.retain(
            |t| !matches!(t, Task::Job(Job::DtrStop { number, .. } | Job::PlnrPublish { number }) if *number == n),
        );
        let code = self.code;
        let published = self
            .donor
            .get(&n)
            .is_some_and(|e| e.published && e.port_ref == port_ref);
        if published {
            if let Some(e) = self.donor.get_mut(&n) {
                e.status = PortStatus::R;
                e.current = now_with;
            }
            self.schedule(at, Job::PlnrPublish { number: n });
        } else if now_with == code {
            self.donor.remove(&n);
        } else if let Some(e) = self.donor.get_mut(&n) {
            e.current = now_with;
        }
    }

    /// Gaining carrier: answers to what it sent.
    fn on_answer(&mut self, now: Timestamp, port_ref: PortRef, m: &Message) {
        // An `accept` fault on SNA_REJECT: the gaining carrier carries on as if confirmed.
        let ignore_reject = m.kind == MsgKind::SnaReject
            && self.gaining.contains_key(&port_ref)
            && self.take_fault_exact(MsgKind::SnaReject, FaultAction::Accept).is_some();
        let Some(p) = self.gaining.get_mut(&port_ref) else {
            return;
        };
        let kind = if ignore_reject { MsgKind::SnaConfirm } else { m.kind };
        match (kind, p.state.clone()) {
            (MsgKind::SnaConfirm, GainingState::AwaitSnaReply) => {
                let after_hours = self.config.agreements.get(&p.req.losing).is_some_and(|a| a.after_hours);
                let eca_at = eca_time(&self.calendar, &self.rulebook, p.req.cutover.max(now), after_hours);
                p.state = GainingState::AwaitEcaTime {
                    confirmed_at: now,
                    eca_at,
                };
                if p.withdraw_wanted {
                    self.withdraw(now, port_ref);
                } else {
                    self.next_retarget_or_eca(now, port_ref);
                }
            }
            (MsgKind::SnaReject, GainingState::AwaitSnaReply) => {
                p.state = GainingState::Rejected { code: m.code.clone() }
            }
            (MsgKind::EcaConfirm, GainingState::AwaitEcaReply) => p.state = GainingState::AwaitCompletion,
            (MsgKind::EcaReject, GainingState::AwaitEcaReply) => {
                let code = m.code.reject_code();
                if code == Some(RejectCode::DAILY_CAP) && p.cap_retries < 60 {
                    // DAILY-CAP: try again on the next business day, in Standard Hours.
                    p.cap_retries += 1;
                    let after_hours = self.config.agreements.get(&p.req.losing).is_some_and(|a| a.after_hours);
                    let next_day = self.calendar.next_business_day(now.sydney_date());
                    let local_time = p.req.cutover.sydney_naive().time();
                    let retry = Timestamp::from_sydney_local(next_day.and_time(local_time));
                    let eca_at = eca_time(&self.calendar, &self.rulebook, retry, after_hours);
                    p.state = GainingState::AwaitEcaTime {
                        confirmed_at: now,
                        eca_at,
                    };
                    self.schedule(eca_at, Job::SendEca(port_ref));
                } else if code == Some(RejectCode::SNA_EXPIRED) {
                    p.state = GainingState::Expired { code: m.code.clone() };
                } else {
                    p.state = GainingState::Rejected { code: m.code.clone() };
                }
            }
            (MsgKind::Completion, GainingState::AwaitCompletion | GainingState::AwaitEcaReply) => {
                p.state = GainingState::Completed { cutover_at: now };
                for n in p.req.numbers.clone() {
                    self.services.insert(
                        n,
                        Service {
                            customer: p.req.customer.clone(),
                            account: p.req.account.clone(),
                            kind: ServiceKind::Simple,
                        },
                    );
                }
            }
            (MsgKind::RetargetConfirm | MsgKind::RetargetReject, GainingState::AwaitCutover { agreed }) => {
                if kind == MsgKind::RetargetConfirm {
                    let new_at = m.detail.cutover.unwrap_or(agreed);
                    p.gen += 1;
                    p.state = GainingState::AwaitCutover { agreed: new_at };
                    let gen = p.gen;
                    self.schedule(new_at, Job::CatCDone { port_ref, gen });
                    self.next_complex_retarget(now, port_ref);
                }
            }
            (MsgKind::RetargetConfirm, GainingState::AwaitRetargetReply { confirmed_at, .. }) => {
                let eca_at = m.detail.cutover.unwrap_or(now);
                p.state = GainingState::AwaitEcaTime { confirmed_at, eca_at };
                self.next_retarget_or_eca(now, port_ref);
            }
            (MsgKind::RetargetReject, GainingState::AwaitRetargetReply { confirmed_at, eca_at }) => {
                // The earlier cutover stands; no further re-target is asked for.
                p.state = GainingState::AwaitEcaTime { confirmed_at, eca_at };
                p.retargets_sent = p.req.retargets.len();
                self.next_retarget_or_eca(now, port_ref);
            }
            (MsgKind::WithdrawConfirm, _) => p.state = GainingState::Withdrawn,
            (MsgKind::WithdrawReject, GainingState::AwaitWithdrawReply { confirmed_at, eca_at }) => {
                p.state = GainingState::AwaitEcaTime { confirmed_at, eca_at };
                self.schedule(eca_at, Job::SendEca(port_ref));
            }
            (MsgKind::ReversalConfirm | MsgKind::EmergencyReturnConfirm, _) => {
                p.state = GainingState::Returned;
                for n in p.req.numbers.clone() {
                    self.services.remove(&n);
                }
            }
            (
                MsgKind::ReversalReject | MsgKind::EmergencyReturnReject,
                GainingState::AwaitReturnReply { cutover_at },
            ) => {
                p.state = GainingState::Completed { cutover_at };
            }
            _ => tracing::debug!(carrier = %self.code, port = %port_ref, %kind, "answer ignored in this state"),
        }
    }

    /// After a confirmation: send the customer's next re-target, or schedule the ECA.
    fn next_retarget_or_eca(&mut self, now: Timestamp, port_ref: PortRef) {
        let Some(p) = self.gaining.get_mut(&port_ref) else {
            return;
        };
        let GainingState::AwaitEcaTime { confirmed_at, eca_at } = p.state else {
            return;
        };
        if let Some(wanted) = p.req.retargets.get(p.retargets_sent).copied() {
            p.retargets_sent += 1;
            let after_hours = self.config.agreements.get(&p.req.losing).is_some_and(|a| a.after_hours);
            let new_at = eca_time(&self.calendar, &self.rulebook, wanted.max(now), after_hours);
            p.state = GainingState::AwaitRetargetReply { confirmed_at, eca_at };
            let losing = p.req.losing;
            let mut m = Message::new(MsgKind::Retarget, port_ref);
            m.category = Some(p.req.category);
            m.numbers.clone_from(&p.req.numbers);
            m.detail.cutover = Some(new_at);
            self.send(now, losing, m);
        } else {
            self.schedule(eca_at, Job::SendEca(port_ref));
        }
    }

    /// Losing carrier: a change of cutover for a pending port (`RETARGET-LIMIT`, clause 4.2.9).
    fn on_retarget(
        &mut self,
        at: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
        accept: bool,
        forced: Option<RejectCode>,
    ) {
        let limit = self.rulebook.retargets_max;
        let after_hours = self.agreement(from).is_some_and(|a| a.after_hours);
        let in_hours = m
            .detail
            .cutover
            .is_some_and(|t| after_hours || self.calendar.in_standard_hours(t));
        let code = match self.losing.get_mut(&port_ref) {
            Some(p)
                if matches!(p.state, LosingState::AwaitEca { .. } | LosingState::CcaConfirmed { .. })
                    && p.gaining == from =>
            {
                p.retargets += 1;
                if forced.is_some() {
                    forced
                } else if accept {
                    None
                } else if p.retargets > limit {
                    Some(RejectCode::RETARGET_LIMIT)
                } else if !in_hours {
                    Some(RejectCode::OUTSIDE_HOURS)
                } else {
                    None
                }
            }
            _ => forced.or(Some(RejectCode::NO_VALID_SNA)),
        };
        if code.is_none() {
            if let (Some(t), Some(p)) = (m.detail.cutover, self.losing.get_mut(&port_ref)) {
                if let LosingState::CcaConfirmed { gen, .. } = p.state {
                    p.state = LosingState::CcaConfirmed {
                        cutover_at: t,
                        gen: gen + 1,
                    };
                    self.schedule(t, Job::CatCCutover { port_ref, gen: gen + 1 });
                }
            }
        }
        let mut reply = Message::new(
            if code.is_some() {
                MsgKind::RetargetReject
            } else {
                MsgKind::RetargetConfirm
            },
            port_ref,
        );
        reply.category = m.category;
        reply.numbers.clone_from(&m.numbers);
        reply.detail.cutover = m.detail.cutover;
        if let Some(c) = code {
            reply.code = Code::whole(c);
        }
        self.send(at, from, reply);
    }

    /// The donor of a number that another carrier ported (a third-party port): follow it with
    /// donor transit routing and the register.
    fn on_donor_notify(&mut self, at: Timestamp, from: CarrierCode, port_ref: PortRef, m: &Message) {
        let (Some(status), Some(current)) = (m.detail.status, m.detail.current) else {
            return;
        };
        let category = m.category.unwrap_or(Category::A);
        let own: Vec<TelephoneNumber> = m.numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        if own.is_empty() {
            return;
        }
        match status {
            PortStatus::C => self.donor_port_out(at, current, from, port_ref, category, &own),
            PortStatus::R => {
                for n in own {
                    self.donor_return(at, n, port_ref, category, current);
                }
            }
            PortStatus::P | PortStatus::N => {}
        }
    }

    fn donor_of(&self, n: TelephoneNumber) -> Option<CarrierCode> {
        self.config
            .allocations
            .iter()
            .find(|(r, _)| r.contains(n))
            .map(|(_, c)| *c)
    }

    /// Losing carrier in a third-party port: tell each donor (`DONOR-NOTIFY`).
    fn notify_donors(
        &mut self,
        at: Timestamp,
        port_ref: PortRef,
        category: Category,
        numbers: &[TelephoneNumber],
        status: PortStatus,
        current: CarrierCode,
    ) {
        let mut by_donor: BTreeMap<CarrierCode, Vec<TelephoneNumber>> = BTreeMap::new();
        for n in numbers {
            if let Some(d) = self.donor_of(*n).filter(|d| *d != self.code) {
                by_donor.entry(d).or_default().push(*n);
            }
        }
        for (donor, nums) in by_donor {
            let mut m = Message::new(MsgKind::DonorNotify, port_ref);
            m.category = Some(category);
            m.numbers = nums;
            m.detail.status = Some(status);
            m.detail.current = Some(current);
            self.send(at, donor, m);
        }
    }

    // ----- jobs --------------------------------------------------------------------------

    #[allow(
        clippy::needless_pass_by_value,
        reason = "a job is consumed by running it; most variants are Copy-sized"
    )]
    fn run_job(&mut self, at: Timestamp, job: Job, shifted: bool) {
        match job {
            Job::SendEca(port_ref) => {
                let Some(p) = self.gaining.get_mut(&port_ref) else {
                    return;
                };
                if p.req.category == Category::C {
                    self.send_cca(at, port_ref, shifted);
                    return;
                }
                if !matches!(p.state, GainingState::AwaitEcaTime { .. }) {
                    return;
                }
                p.state = GainingState::AwaitEcaReply;
                let mut m = Message::new(MsgKind::Eca, port_ref);
                m.category = Some(p.req.category);
                m.numbers.clone_from(&p.req.numbers);
                let losing = p.req.losing;
                self.push_task(
                    at,
                    Task::Emit(Output::Send(Envelope {
                        from: self.code,
                        to: losing,
                        message: m,
                    })),
                    shifted,
                );
                let deadline = self.calendar.add(at, self.rulebook.eca_response);
                let grace = Span::Minutes(1);
                let deadline = self.calendar.add(deadline, grace);
                self.schedule(
                    deadline,
                    Job::AnswerDeadline {
                        port_ref,
                        rule: RuleId::EcaResponse,
                        awaiting: MsgKind::Eca,
                    },
                );
            }
            Job::DtrStop { number, port_ref } => {
                let Some(e) = self.donor.get(&number) else { return };
                if e.port_ref != port_ref {
                    return; // superseded by a later port of the same number
                }
                let mut m = Message::new(MsgKind::DtrStop, port_ref);
                m.category = Some(e.category);
                m.numbers = vec![number];
                m.detail.current = Some(e.current);
                self.push_task(at, Task::Emit(Output::Action(m)), shifted);
            }
            Job::PlnrPublish { number } => {
                let Some(e) = self.donor.get_mut(&number) else {
                    return;
                };
                e.published = true;
                let e = e.clone();
                let date = at.sydney_date();
                let seq = match self.plnr_file {
                    Some((d, s)) if d == date => s,
                    Some((_, s)) => s + 1,
                    None => 1,
                };
                self.plnr_file = Some((date, seq));
                let mut m = Message::new(MsgKind::PlnrPublish, e.port_ref);
                m.category = Some(e.category);
                m.numbers = vec![number];
                m.detail.status = Some(e.status);
                m.detail.current = Some(e.current);
                m.detail.file_seq = Some(seq);
                m.detail.extra.push(("losing".into(), e.losing.to_string()));
                self.push_task(at, Task::Emit(Output::Action(m)), shifted);
            }
            Job::ForgetLosing(port_ref) => {
                if matches!(
                    self.losing.get(&port_ref).map(|p| p.state),
                    Some(LosingState::CutOver { .. })
                ) {
                    self.losing.remove(&port_ref);
                    self.forgotten_cutovers.insert(port_ref);
                }
            }
            Job::CatCCutover { port_ref, gen } => self.complex_cutover(at, port_ref, gen, shifted),
            Job::CatCDone { port_ref, gen } => {
                let Some(p) = self.gaining.get_mut(&port_ref) else {
                    return;
                };
                if p.gen != gen {
                    return;
                }
                if let GainingState::AwaitCutover { agreed } = p.state {
                    p.state = GainingState::Completed { cutover_at: agreed };
                    for n in p.req.numbers.clone() {
                        self.services.insert(
                            n,
                            Service {
                                customer: p.req.customer.clone(),
                                account: p.req.account.clone(),
                                kind: ServiceKind::Complex,
                            },
                        );
                    }
                }
                self.settle(port_ref);
            }
            Job::AnswerDeadline {
                port_ref,
                rule,
                awaiting,
            } => {
                let Some(p) = self.gaining.get_mut(&port_ref) else {
                    return;
                };
                match (&p.state, awaiting) {
                    (GainingState::AwaitSnaReply, MsgKind::Sna) => {
                        // SNA-RESPONSE has passed: the port cannot go on without an answer.
                        // The gaining carrier gives up and withdraws the port, so the trace shows it.
                        tracing::info!(carrier = %self.code, port = %port_ref, %rule, "timer fired: no SNA answer");
                        p.state = GainingState::Unanswered { rule };
                        let losing = p.req.losing;
                        let mut m = Message::new(MsgKind::Withdraw, port_ref);
                        m.category = Some(p.req.category);
                        m.numbers.clone_from(&p.req.numbers);
                        m.detail.reason = Some(format!(
                            "no answer to the SNA within {}",
                            self.rulebook.sna_response.describe()
                        ));
                        self.send(at, losing, m);
                    }
                    (GainingState::AwaitEcaReply, MsgKind::Eca) => {
                        // ECA-RESPONSE has passed; the gaining carrier keeps waiting (it cannot
                        // withdraw after the ECA), and the audit of the trace shows the breach.
                        tracing::info!(carrier = %self.code, port = %port_ref, %rule, "timer fired: no ECA answer yet");
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The compliant gaining carrier's ECA time: the preferred cutover, or — without an
/// after-hours agreement — the first moment in Standard Hours at least `ECA-RESPONSE` before
/// their end, so that the answer and the cutover also fall inside them.
pub fn eca_time(
    calendar: &BusinessCalendar,
    rulebook: &Rulebook,
    preferred: Timestamp,
    after_hours: bool,
) -> Timestamp {
    if after_hours {
        return preferred;
    }
    let margin_ms = rulebook.eca_response.fixed_millis().unwrap_or(15 * 60_000) + 60_000;
    let mut t = calendar.next_standard_hours(preferred);
    for _ in 0..400 {
        let local = t.sydney_naive();
        let end = Timestamp::from_sydney_local(local.date().and_time(rulebook.standard_hours_end));
        if t.plus_millis(margin_ms) <= end {
            return t;
        }
        let next = calendar.next_business_day(local.date());
        t = Timestamp::from_sydney_local(next.and_time(rulebook.standard_hours_start));
    }
    t
}

fn sanitize(s: &str) -> String {
    s.replace([';', '=', '\n', '\r'], " ")
}
