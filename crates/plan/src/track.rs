//! The tracker's view of a real port (`lnpsim track`): its stage, and its open duties with their
//! deadlines, from the trace rows recorded for it.
//!
//! The stage follows the Code's messages (`docs/plan-and-track.md`); the rows are replayed in
//! time order, so the same rows give the same stage whatever order they were recorded in. Every
//! deadline is the [`Duties`] function the audit applies to the same rows; this module only
//! finds which duties are open.

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

use lnp_model::{
    CarrierCode, Category, Code, Duties, MsgKind, NumberCode, PortStatus, Reckoner, RejectCode, RuleId,
    TelephoneNumber, Timestamp, TraceRecord, WholeCode,
};
use serde::Serialize;

use crate::plan::{plan, Parties, Phase, Plan, PlanRequest, Who};

/// Where a port is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Known to the tracker; no request recorded yet.
    Created,
    /// SNA, PNV or CNA sent.
    Submitted,
    /// `SNA_CONFIRM` or `CNA_CONFIRM`.
    Confirmed,
    /// ECA sent, or CCA confirmed.
    Scheduled,
    CutOver,
    /// The donor published the completed port (PLNR `C`).
    Completed,
    Rejected,
    Withdrawn,
    Returned,
    /// The SNA confirmation lapsed without an ECA (`SNA-VALIDITY`), or the ECA came too late (`101`).
    Expired,
}

impl Stage {
    pub const ALL: [Stage; 10] = [
        Self::Created,
        Self::Submitted,
        Self::Confirmed,
        Self::Scheduled,
        Self::CutOver,
        Self::Completed,
        Self::Rejected,
        Self::Withdrawn,
        Self::Returned,
        Self::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Submitted => "submitted",
            Self::Confirmed => "confirmed",
            Self::Scheduled => "scheduled",
            Self::CutOver => "cut-over",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::Returned => "returned",
            Self::Expired => "expired",
        }
    }

    /// A port that has ended without going through (or gone back).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Rejected | Self::Withdrawn | Self::Returned | Self::Expired)
    }

    /// The stage after one row of the port.
    #[must_use]
    pub fn after(self, r: &TraceRecord) -> Stage {
        use MsgKind as K;
        if self.is_final() {
            return self;
        }
        // Progress only moves forward; the explicit moves back are written out below.
        let forward = |to: Stage| self.max(to);
        let code = r.message.code.reject_code();
        match r.message.kind {
            K::Sna | K::Pnv | K::Cna => forward(Stage::Submitted),
            K::PnvResponse if every_number_rejected(&r.message.code) => Stage::Rejected,
            K::SnaConfirm | K::CnaConfirm => forward(Stage::Confirmed),
            K::Eca | K::EcaConfirm | K::CcaConfirm => forward(Stage::Scheduled),
            K::EcaReject if code == Some(RejectCode::SNA_EXPIRED) => Stage::Expired,
            // Capacity (a retry comes) and hours (the confirmation stands until it lapses): the
            // port is confirmed again and awaits a new ECA.
            K::EcaReject if matches!(code, Some(RejectCode::DAILY_CAP | RejectCode::OUTSIDE_HOURS)) => Stage::Confirmed,
            K::CcaReject if code == Some(RejectCode::DAILY_CAP) => Stage::Confirmed,
            K::SnaReject | K::CnaReject | K::EcaReject | K::CcaReject => Stage::Rejected,
            K::Cutover if r.message.detail.reason() == Some("returned") => self,
            K::Cutover | K::Completion | K::DtrStart => forward(Stage::CutOver),
            K::PlnrPublish | K::DonorNotify => match r.message.detail.status {
                Some(PortStatus::C) if r.message.kind == K::PlnrPublish => Stage::Completed,
                Some(PortStatus::C) => forward(Stage::CutOver),
                Some(PortStatus::R) => Stage::Returned,
                _ => self,
            },
            K::WithdrawConfirm => Stage::Withdrawn,
            K::ReversalConfirm | K::EmergencyReturnConfirm => Stage::Returned,
            _ => self,
        }
    }
}

fn every_number_rejected(code: &Code) -> bool {
    match code {
        Code::Whole(WholeCode::Pnv(_) | WholeCode::Reject(_)) => true,
        Code::PerNumber(pairs) => !pairs.is_empty() && pairs.iter().all(|(_, c)| matches!(c, NumberCode::Reject(_))),
        Code::None => false,
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown stage {s:?}"))
    }
}

impl Serialize for Stage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A port the tracker knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedPort {
    pub port_ref: String,
    pub category: Category,
    pub numbers: Vec<TelephoneNumber>,
    pub gaining: CarrierCode,
    pub losing: CarrierCode,
    pub donor: Option<CarrierCode>,
    /// The pair's agreement allows after-hours ports.
    pub after_hours: bool,
}

impl TrackedPort {
    fn parties(&self) -> Parties {
        Parties {
            gaining: self.gaining,
            losing: self.losing,
            donor: self.donor,
        }
    }

    fn third_party(&self) -> bool {
        self.donor.is_some_and(|d| d != self.losing && d != self.gaining)
    }

    fn donor_acts(&self) -> bool {
        self.donor.unwrap_or(self.losing) != self.gaining
    }
}

/// One duty still to be done, with its deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpenDuty {
    #[serde(rename = "ref")]
    pub port_ref: String,
    pub rule: RuleId,
    pub who: Who,
    pub what: String,
    /// The row that started it.
    pub since: Timestamp,
    /// The inclusive deadline.
    pub due: Timestamp,
    pub overdue: bool,
}

/// Every request kind that has answers (`MsgKind::answers`).
const REQUESTS: [MsgKind; 9] = [
    MsgKind::Pnv,
    MsgKind::Sna,
    MsgKind::Eca,
    MsgKind::Cna,
    MsgKind::Cca,
    MsgKind::Retarget,
    MsgKind::Withdraw,
    MsgKind::Reversal,
    MsgKind::EmergencyReturn,
];

/// What a port's rows say, replayed in time order.
#[derive(Clone, Debug, Default)]
struct Facts {
    /// Requests not yet answered, oldest first (only those with an answer duty have a deadline).
    /// One queue per request kind ([`REQUESTS`]): an answer takes the oldest of its kind, in
    /// constant time however many requests stay unanswered.
    open: [std::collections::VecDeque<Timestamp>; REQUESTS.len()],
    first_request: Option<Timestamp>,
    requested_cutover: Option<Timestamp>,
    cna: Option<Timestamp>,
    cna_receipt: bool,
    sna_confirm: Option<Timestamp>,
    eca: Option<Timestamp>,
    eca_confirm: Option<Timestamp>,
    completion: Option<Timestamp>,
    agreed: Option<Timestamp>,
    cutover: Option<Timestamp>,
    dtr_start: bool,
    dtr_stop: bool,
    /// Answers seen (for the checklist's ticks).
    answered: Vec<MsgKind>,
    cca_sent: bool,
    plnr_p: bool,
    plnr_c: bool,
    plnr_r: bool,
    plnr_n: bool,
    notify_p: Option<Timestamp>,
    /// The last `DONOR_NOTIFY P` carrying `cutover=` before the cutover.
    notify_p_cutover: Option<Timestamp>,
    notify_c: Option<Timestamp>,
    notify_r: bool,
    notify_n: bool,
    returned: Option<Timestamp>,
    /// A rejection or withdrawal: the port did not proceed.
    ended: Option<Timestamp>,
}

fn facts(rows: &[TraceRecord]) -> Facts {
    use MsgKind as K;
    let mut sorted: Vec<&TraceRecord> = rows.iter().collect();
    sorted.sort_by_key(|r| (r.time, r.seq));
    let mut f = Facts::default();
    for r in sorted {
        let m = &r.message;
        let t = r.time;
        // Answers are matched to the oldest open request they answer (as the audit matches them).
        if let Some(i) = REQUESTS.iter().position(|req| req.answers().contains(&m.kind)) {
            if f.open[i].pop_front().is_some() && !f.answered.contains(&REQUESTS[i]) {
                f.answered.push(REQUESTS[i]);
            }
        }
        if let Some(i) = REQUESTS.iter().position(|req| *req == m.kind) {
            f.open[i].push_back(t);
        }
        match m.kind {
            K::Sna | K::Pnv | K::Cna => {
                f.first_request.get_or_insert(t);
                if m.detail.cutover.is_some() {
                    f.requested_cutover = m.detail.cutover;
                }
                if m.kind == K::Cna {
                    f.cna = Some(t);
                }
            }
            K::CnaReceipt => f.cna_receipt = true,
            K::SnaConfirm => {
                f.sna_confirm = Some(t);
                f.eca = None;
            }
            K::Eca => f.eca = Some(t),
            K::EcaConfirm => f.eca_confirm = Some(t),
            K::EcaReject => f.eca = None,
            K::Completion => {
                f.completion.get_or_insert(t);
            }
            K::Cca if f.agreed.is_none() => {
                f.cca_sent = true;
                f.requested_cutover = m.detail.cutover.or(f.requested_cutover);
            }
            K::CcaConfirm => f.agreed = m.detail.cutover.or(f.requested_cutover),
            K::RetargetConfirm => {
                if let Some(c) = m.detail.cutover {
                    if f.agreed.is_some() {
                        f.agreed = Some(c);
                    }
                    f.requested_cutover = Some(c);
                }
            }
            K::Cutover if m.detail.reason() != Some("returned") => {
                f.cutover.get_or_insert(t);
            }
            K::DtrStart => f.dtr_start = true,
            K::DtrStop => f.dtr_stop = true,
            K::Cca => f.cca_sent = true,
            K::PlnrPublish => match m.detail.status {
                Some(PortStatus::P) => f.plnr_p = true,
                Some(PortStatus::C) => f.plnr_c = true,
                Some(PortStatus::R) => f.plnr_r = true,
                Some(PortStatus::N) => f.plnr_n = true,
                None => {}
            },
            K::DonorNotify => match m.detail.status {
                Some(PortStatus::P) => {
                    f.notify_p.get_or_insert(t);
                    if m.detail.cutover.is_some() && f.cutover.is_none() {
                        f.notify_p_cutover = Some(t);
                    }
                }
                Some(PortStatus::C) => {
                    f.notify_c.get_or_insert(t);
                }
                Some(PortStatus::R) => f.notify_r = true,
                Some(PortStatus::N) => f.notify_n = true,
                None => {}
            },
            K::ReversalConfirm | K::EmergencyReturnConfirm => {
                f.returned.get_or_insert(t);
            }
            K::SnaReject | K::CnaReject | K::WithdrawConfirm => {
                f.ended.get_or_insert(t);
            }
            K::CcaReject if m.code.reject_code() != Some(RejectCode::DAILY_CAP) => {
                f.ended.get_or_insert(t);
            }
            _ => {}
        }
    }
    f
}

/// The port's stage at `at`, from its rows: a Cat A or D confirmation never followed by an ECA
/// is `expired` once it lapses ([`Duties::sna_lapse`]).
pub fn stage_at<R: Reckoner + ?Sized>(
    d: &Duties<'_, R>,
    port: &TrackedPort,
    rows: &[TraceRecord],
    at: Timestamp,
) -> Stage {
    let mut sorted: Vec<&TraceRecord> = rows.iter().collect();
    sorted.sort_by_key(|r| (r.time, r.seq));
    let stage = sorted.iter().fold(Stage::Created, |s, r| s.after(r));
    let f = facts(rows);
    if stage == Stage::Confirmed && port.category.is_simple() {
        if let Some(c) = f.sna_confirm {
            if at >= d.sna_lapse(c) {
                return Stage::Expired;
            }
        }
    }
    stage
}

/// Every duty of the port still open at `at`, with its deadline, soonest first.
pub fn open_duties<R: Reckoner + ?Sized>(
    d: &Duties<'_, R>,
    port: &TrackedPort,
    rows: &[TraceRecord],
    at: Timestamp,
) -> Vec<OpenDuty> {
    let stage = stage_at(d, port, rows, at);
    let f = facts(rows);
    let mut out = Vec::new();
    let mut push = |rule: RuleId, who: Who, what: String, since: Timestamp, due: Timestamp| {
        out.push(OpenDuty {
            port_ref: port.port_ref.clone(),
            rule,
            who,
            what,
            since,
            due,
            overdue: at > due,
        });
    };
    let book = d.book;
    if !matches!(stage, Stage::Withdrawn | Stage::Expired) {
        let open = REQUESTS
            .iter()
            .zip(&f.open)
            .flat_map(|(k, q)| q.iter().map(move |t| (k, t)));
        for (kind, t) in open {
            if let Some(duty) = d.answer(*kind, *t) {
                push(
                    duty.rule,
                    Who::Losing,
                    format!("answer the {kind} sent {t} (within {})", duty.span.describe()),
                    *t,
                    duty.deadline,
                );
            }
        }
    }
    if let (Some(cna), false, false) = (f.cna, f.cna_receipt, stage == Stage::Withdrawn) {
        push(
            RuleId::CnaReceipt,
            Who::Losing,
            format!("send CNA_RECEIPT for the CNA sent {cna}"),
            cna,
            d.cna_receipt_deadline(cna),
        );
    }
    if port.category.is_simple() && stage == Stage::Confirmed && f.eca.is_none() {
        if let Some(c) = f.sna_confirm {
            let latest = d
                .latest_eca(c, port.after_hours)
                .map(|t| format!("; the last ECA inside Standard Hours is {t}"))
                .unwrap_or_default();
            push(
                RuleId::SnaValidity,
                Who::Gaining,
                format!(
                    "send the ECA while the SNA confirmation of {c} is valid ({}){latest}",
                    book.sna_validity.describe()
                ),
                c,
                d.sna_valid_until(c),
            );
        }
    }
    if let (Some(conf), None, None) = (f.eca_confirm, f.completion, f.ended) {
        push(
            RuleId::Completion,
            Who::Losing,
            format!("cut the number over and send COMPLETION after the ECA_CONFIRM of {conf}"),
            conf,
            d.completion_deadline(conf),
        );
    }
    if let (Category::C, Some(agreed), None, None) = (port.category, f.agreed, f.cutover, f.ended) {
        push(
            RuleId::CutoverAtAgreed,
            Who::Losing,
            format!(
                "cut the batch over at the agreed {agreed} (within {} either side)",
                book.cutover_at_agreed.describe()
            ),
            d.agreed_cutover_earliest(agreed),
            d.agreed_cutover_latest(agreed),
        );
    }
    // Cat A's cutover may be seen only as its COMPLETION in the gaining carrier's own log.
    let cutover = f
        .cutover
        .or_else(|| port.category.is_simple().then_some(f.completion).flatten());
    let completed = if port.category.is_simple() {
        f.completion.or(f.cutover)
    } else {
        f.cutover
    };
    let returned = f.returned.is_some() || stage == Stage::Returned;
    if port.third_party() && f.notify_p.is_none() && f.ended.is_none() && !returned {
        let planned = cutover.or(f.agreed).or(f.eca);
        if let Some(c) = planned {
            push(
                RuleId::DonorNotify,
                Who::Losing,
                "tell the donor the port is pending: DONOR_NOTIFY status=P no later than the cutover".into(),
                f.first_request.unwrap_or(c),
                d.donor_notify_pending_deadline(c),
            );
        }
    }
    if port.donor_acts() && !returned {
        if let (Some(c), false) = (cutover, f.dtr_start) {
            let learned = if port.third_party() {
                match (f.notify_p_cutover, f.notify_c) {
                    (Some(p), _) if p <= c => p,
                    (_, Some(n)) => n,
                    (Some(p), None) => p,
                    (None, None) => c,
                }
            } else {
                c
            };
            push(
                RuleId::DtrDuration,
                Who::Donor,
                format!("start donor transit routing for the cutover of {c}"),
                c,
                d.dtr_start_deadline(c, learned),
            );
        }
        if let (Some(done), false) = (completed, f.plnr_c) {
            let (earliest, deadline) = d.plnr_completed_window(cutover.unwrap_or(done), done);
            push(
                RuleId::PlnrUpdate,
                Who::Donor,
                format!("publish the completed port (PLNR status=C), not before {earliest}"),
                earliest,
                deadline,
            );
        }
    }
    if port.third_party() {
        if let (Some(done), None, false) = (completed, f.notify_c, returned) {
            push(
                RuleId::DonorNotify,
                Who::Losing,
                "tell the donor the port completed: DONOR_NOTIFY status=C".into(),
                done,
                d.donor_notify_deadline(done),
            );
        }
        if let (Some(r), false) = (f.returned, f.notify_r) {
            push(
                RuleId::DonorNotify,
                Who::Losing,
                "tell the donor the port was returned: DONOR_NOTIFY status=R".into(),
                r,
                d.donor_notify_deadline(r),
            );
        }
        if let (Some(e), Some(_), false) = (f.ended, f.notify_p, f.notify_n) {
            push(
                RuleId::DonorNotify,
                Who::Losing,
                "tell the donor the port did not proceed: DONOR_NOTIFY status=N".into(),
                e,
                d.donor_notify_deadline(e),
            );
        }
    }
    if port.donor_acts() {
        if let (Some(r), true, false) = (f.returned, f.plnr_p || f.plnr_c, f.plnr_r) {
            push(
                RuleId::PlnrUpdate,
                Who::Donor,
                "publish the return (PLNR status=R)".into(),
                r,
                d.plnr_outcome_deadline(r),
            );
        }
        if let (Some(e), true, false) = (f.ended, f.plnr_p, f.plnr_n) {
            push(
                RuleId::PlnrUpdate,
                Who::Donor,
                "publish that the port did not proceed (PLNR status=N)".into(),
                e,
                d.plnr_outcome_deadline(e),
            );
        }
    }
    out.sort_by(|a, b| b.overdue.cmp(&a.overdue).then(a.due.cmp(&b.due)));
    out
}

impl Facts {
    /// Whether the port's rows show a plan step done (options such as a reversal, and the
    /// re-target budget, are never ticked).
    fn done(&self, step: &crate::plan::Step) -> bool {
        use MsgKind as K;
        let answered = |k: MsgKind| self.answered.contains(&k);
        match (step.rule, step.phase) {
            (RuleId::SnaResponse, _) => answered(K::Sna),
            (RuleId::SnaValidity | RuleId::EcaNeedsSna, _) => self.eca.is_some() || self.eca_confirm.is_some(),
            (RuleId::EcaResponse, _) => answered(K::Eca),
            (RuleId::Completion, _) => self.completion.is_some(),
            (RuleId::CutoverHours | RuleId::CutoverAtAgreed, _) => self.cutover.is_some(),
            (RuleId::PnvResponse, _) => answered(K::Pnv),
            (RuleId::CnaReceipt, _) => self.cna_receipt,
            (RuleId::CnaResponse, _) => answered(K::Cna),
            (RuleId::CcaNeedsCna, _) => self.cca_sent,
            (RuleId::CcaResponse, _) => answered(K::Cca),
            (RuleId::DtrDuration, Phase::After) => self.dtr_stop,
            (RuleId::DtrDuration, _) => self.dtr_start,
            (RuleId::DonorNotify, Phase::After) => self.notify_c.is_some(),
            (RuleId::DonorNotify, _) => self.notify_p.is_some(),
            (RuleId::PlnrUpdate, _) => self.plnr_c,
            _ => false,
        }
    }
}

/// The port-day checklist: the port's plan (from its first request and its cutover as recorded,
/// or as if it were submitted at `at`), step by step before, at and after the cutover.
pub fn checklist<R: Reckoner + ?Sized>(
    d: &Duties<'_, R>,
    port: &TrackedPort,
    rows: &[TraceRecord],
    at: Timestamp,
    markdown: bool,
) -> String {
    let f = facts(rows);
    let stage = stage_at(d, port, rows, at);
    let submit = f.first_request.unwrap_or(at);
    let mut req = PlanRequest::new(port.category, submit);
    req.parties = Some(port.parties());
    req.after_hours = port.after_hours;
    req.pnv = !port.category.is_simple() && rows.iter().any(|r| r.message.kind == MsgKind::Pnv);
    let wanted = if port.category.is_simple() {
        f.eca.or(f.requested_cutover)
    } else {
        f.agreed.or(f.requested_cutover)
    };
    req.cutover = wanted;
    let planned: Option<Plan> = plan(d, &req).ok().or_else(|| {
        req.cutover = None;
        plan(d, &req).ok()
    });
    let open = open_duties(d, port, rows, at);
    let mut out = String::new();
    let numbers: Vec<String> = port.numbers.iter().map(ToString::to_string).collect();
    if markdown {
        let _ = writeln!(out, "# Port-day checklist: {}\n", port.port_ref);
    } else {
        let _ = writeln!(out, "Port-day checklist: {}", port.port_ref);
    }
    let _ = writeln!(
        out,
        "Cat {}, {} number{} ({}), gaining {}, losing {}, donor {}; stage {stage} at {at}",
        port.category.as_char(),
        port.numbers.len(),
        if port.numbers.len() == 1 { "" } else { "s" },
        numbers.join(", "),
        port.gaining,
        port.losing,
        port.donor.unwrap_or(port.losing)
    );
    let Some(p) = planned else {
        out.push_str("No legal cutover could be planned for this port.\n");
        return out;
    };
    let _ = writeln!(
        out,
        "{} {}; cutover {}{}",
        if f.first_request.is_some() {
            "First request"
        } else {
            "No request recorded yet; planned as if sent"
        },
        p.submit,
        p.cutover,
        if wanted.is_some() { "" } else { " (the earliest legal)" }
    );
    for phase in [Phase::Before, Phase::At, Phase::After] {
        let title = match phase {
            Phase::Before => "Before the cutover",
            Phase::At => "At the cutover",
            Phase::After => "After the cutover",
        };
        if markdown {
            let _ = writeln!(out, "\n## {title}\n");
        } else {
            let _ = writeln!(out, "\n{title}:");
        }
        for s in p.steps.iter().filter(|s| s.phase == phase) {
            let overdue = open.iter().any(|o| o.rule == s.rule && o.who == s.who && o.overdue);
            let flag = if overdue { " (OVERDUE)" } else { "" };
            let tick = if f.done(s) { "x" } else { " " };
            if markdown {
                let _ = writeln!(
                    out,
                    "- [{tick}] **{}** by {} ({}): {}{flag}",
                    s.rule,
                    s.due,
                    s.who.as_str(),
                    s.what
                );
            } else {
                let _ = writeln!(out, "  [{tick}] {}  by {}  ({}){flag}", s.rule, s.due, s.who.as_str());
                let _ = writeln!(out, "      {}", s.what);
            }
        }
        if phase == Phase::At {
            let line = "call every ported number from another network once the cutover is seen, and check it \
                        rings at the gaining carrier";
            if markdown {
                let _ = writeln!(out, "- [ ] {line}");
            } else {
                let _ = writeln!(out, "  [ ] {line}");
            }
        }
    }
    out
}
