//! `lnpsim plan`: every deadline of one port, before it starts.
//!
//! A plan fixes what the gaining carrier decides (its first request at `submit`, the cutover)
//! and lets everything else fall anywhere the Code allows. Each step is one duty, evaluated
//! with [`Duties`] on that course of the port:
//!
//! - a duty of another carrier (the losing carrier's answers, cutover and notices; the donor's
//!   transit routing and register) is due at the latest instant it may legally be done on any
//!   compliant course: its trigger taken at the latest instant the Code allows it. A compliant
//!   carrier's act falls between `from` and `due`.
//! - a duty or option of the gaining carrier (the ECA while the SNA confirmation is valid, a
//!   reversal inside its window) is due at the latest instant that holds on every course: its
//!   trigger taken at the earliest instant it may come.
//!
//! So `due` never promises the gaining carrier time it may not have, and never expects another
//! carrier sooner than it must act. Once the port runs, `lnpsim track due` gives each duty's
//! deadline from the instants that actually happened, through the same functions.

use std::fmt::Write as _;

use lnp_model::{CarrierCode, Category, Duties, MsgKind, Reckoner, RuleId, Timestamp};
use serde::Serialize;
use thiserror::Error;

/// Who must act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Who {
    Gaining,
    Losing,
    Donor,
}

impl Who {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gaining => "gaining",
            Self::Losing => "losing",
            Self::Donor => "donor",
        }
    }
}

/// When a step falls, for the port-day checklist: before the cutover, at it, or after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Before,
    At,
    After,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Before => "before",
            Self::At => "at",
            Self::After => "after",
        }
    }
}

/// The carriers of a port, when the plan knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parties {
    pub gaining: CarrierCode,
    pub losing: CarrierCode,
    /// The donor of the numbers; `None`: the losing carrier.
    pub donor: Option<CarrierCode>,
}

/// What the plan is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRequest {
    pub category: Category,
    /// The first request: the SNA (Cat A, D), the CNA (Cat C), or the PNV with `pnv`.
    pub submit: Timestamp,
    /// The cutover wanted (Cat A, D: when the ECA goes; Cat C: the agreed time). `None`: the
    /// earliest legal one.
    pub cutover: Option<Timestamp>,
    /// How many re-targets this cutover takes (0: none).
    pub retargets: u32,
    /// Cat C: a PNV first, at `submit`, and the CNA after its answer.
    pub pnv: bool,
    pub parties: Option<Parties>,
    /// The pair's bilateral agreement allows after-hours ports (`CUTOVER-HOURS`).
    pub after_hours: bool,
}

impl PlanRequest {
    /// A request with no cutover, re-targets, PNV or parties.
    pub fn new(category: Category, submit: Timestamp) -> Self {
        Self {
            category,
            submit,
            cutover: None,
            retargets: 0,
            pnv: false,
            parties: None,
            after_hours: false,
        }
    }

    /// The donor when it is neither the losing nor the gaining carrier (`DONOR-NOTIFY`).
    pub fn third_party_donor(&self) -> Option<CarrierCode> {
        let p = self.parties?;
        p.donor.filter(|d| *d != p.losing && *d != p.gaining)
    }

    /// Whether the donor runs transit routing and publishes the port: unless the number goes
    /// home to its donor.
    pub fn donor_acts(&self) -> bool {
        self.parties.is_none_or(|p| p.donor.unwrap_or(p.losing) != p.gaining)
    }
}

/// One duty of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// A rule ID of `docs/rules.md`.
    pub rule: RuleId,
    pub who: Who,
    pub what: String,
    /// When the duty starts (absent where nothing starts it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Timestamp>,
    /// The inclusive deadline.
    pub due: Timestamp,
    pub clause: &'static str,
    pub phase: Phase,
}

/// Every duty of one port, in `due` order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    #[serde(serialize_with = "category_str")]
    pub category: Category,
    pub submit: Timestamp,
    /// The planned cutover (Cat A, D: the ECA; Cat C: the agreed time).
    pub cutover: Timestamp,
    /// Whether that cutover is the earliest legal one (no cutover was asked for).
    pub earliest: bool,
    pub after_hours: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gaining: Option<CarrierCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub losing: Option<CarrierCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub donor: Option<CarrierCode>,
    pub steps: Vec<Step>,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with passes a reference"
)]
fn category_str<S: serde::Serializer>(c: &Category, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&c.as_char())
}

/// Why there is no plan.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PlanError {
    /// No legal cutover exists for this request (exit 1): the reason, with what would be legal.
    #[error("no legal cutover: {0}")]
    NoLegalCutover(String),
    /// The request itself does not make sense (exit 2).
    #[error("{0}")]
    BadRequest(String),
}

struct Builder<'d, 'a, R: Reckoner + ?Sized> {
    d: &'d Duties<'a, R>,
    steps: Vec<Step>,
}

impl<R: Reckoner + ?Sized> Builder<'_, '_, R> {
    fn step(&mut self, rule: RuleId, who: Who, what: String, from: Option<Timestamp>, due: Timestamp, phase: Phase) {
        self.steps.push(Step {
            rule,
            who,
            what,
            from,
            due,
            clause: rule.clause(),
            phase,
        });
    }

    /// The answer duty of `request` received at `at` (at the latest; `from` at the earliest),
    /// as a step; returns its deadline.
    fn answer(&mut self, request: MsgKind, (from, at): (Timestamp, Timestamp), what: &str, phase: Phase) -> Timestamp {
        match self.d.answer(request, at) {
            Some(duty) => {
                let what = format!("{what} within {}", duty.span.describe());
                self.step(duty.rule, Who::Losing, what, Some(from.min(at)), duty.deadline, phase);
                duty.deadline
            }
            None => at,
        }
    }
}

fn when(t: Timestamp) -> String {
    format!("{t} ({})", t.sydney_naive().format("%a"))
}

/// The plan of one port.
pub fn plan<R: Reckoner + ?Sized>(d: &Duties<'_, R>, req: &PlanRequest) -> Result<Plan, PlanError> {
    if req.pnv && req.category.is_simple() {
        return Err(PlanError::BadRequest(
            "--pnv: a PNV belongs to a Cat C port; Cat A and D start with the SNA".into(),
        ));
    }
    if let Some(p) = req.parties {
        if p.gaining == p.losing {
            return Err(PlanError::BadRequest(format!(
                "--gaining and --losing are both {}: a port moves a number between two carriers",
                p.gaining
            )));
        }
    }
    if d.retarget_over_limit(req.retargets) {
        return Err(PlanError::NoLegalCutover(format!(
            "--retargets {}: the re-target limit is {} per port (RETARGET-LIMIT, clause {}); a further re-target is \
             rejected with 104, so the port must start again with a new {}",
            req.retargets,
            d.book.retargets_max,
            RuleId::RetargetLimit.clause(),
            if req.category.is_simple() { "SNA" } else { "CNA" }
        )));
    }
    let mut b = Builder { d, steps: Vec::new() };
    let (cutover, earliest) = if req.category.is_simple() {
        cat_a(&mut b, req)?
    } else {
        cat_c(&mut b, req)?
    };
    let mut steps = b.steps;
    // In `due` order; steps due at the same instant keep the order of the port.
    steps.sort_by_key(|s| s.due);
    Ok(Plan {
        category: req.category,
        submit: req.submit,
        cutover,
        earliest,
        after_hours: req.after_hours,
        gaining: req.parties.map(|p| p.gaining),
        losing: req.parties.map(|p| p.losing),
        donor: req.parties.map(|p| p.donor.unwrap_or(p.losing)),
        steps,
    })
}

fn hours_note(after_hours: bool) -> &'static str {
    if after_hours {
        "(the agreement allows after-hours ports)"
    } else {
        "inside Standard Hours"
    }
}

/// Cat A and D: SNA, ECA, COMPLETION. Returns the cutover (the ECA) and whether it is the earliest.
fn cat_a<R: Reckoner + ?Sized>(b: &mut Builder<'_, '_, R>, req: &PlanRequest) -> Result<(Timestamp, bool), PlanError> {
    let d = b.d;
    let book = d.book;
    let s = req.submit;
    let ah = req.after_hours;
    let earliest_eca = d.earliest_eca(s, ah);
    let sna_answered = d.answer(MsgKind::Sna, s).map_or(s, |a| a.deadline);
    let Some(latest_eca) = d.latest_eca(s, ah) else {
        return Err(PlanError::NoLegalCutover(format!(
            "no instant {} lies within the SNA confirmation's validity ({})",
            hours_note(ah),
            book.sna_validity.describe()
        )));
    };
    if earliest_eca > latest_eca {
        return Err(PlanError::NoLegalCutover(format!(
            "the SNA may be answered as late as {} ({} after it), but a confirmation is valid only until {} ({}); no \
             ECA is legal on every course",
            sna_answered,
            book.sna_response.describe(),
            d.sna_valid_until(s),
            book.sna_validity.describe()
        )));
    }
    let (eca, earliest) = match req.cutover {
        None => (earliest_eca, true),
        Some(c) => {
            if c < earliest_eca {
                return Err(PlanError::NoLegalCutover(format!(
                    "--cutover {c} comes before the SNA is surely answered (by {}, {}); the earliest legal cutover is {}",
                    sna_answered,
                    book.sna_response.describe(),
                    when(earliest_eca)
                )));
            }
            if c > latest_eca {
                return Err(PlanError::NoLegalCutover(format!(
                    "--cutover {c} comes after the last ECA the SNA confirmation can carry ({}, {} from a confirmation \
                     as early as the SNA); the latest legal cutover is {}",
                    d.sna_valid_until(s),
                    book.sna_validity.describe(),
                    when(latest_eca)
                )));
            }
            if !d.is_legal_send_time(c, ah) {
                let next = d.legal_send_time(c, ah);
                return Err(PlanError::NoLegalCutover(format!(
                    "--cutover {c} is not {}: the ECA and its answer must fall inside Standard Hours (CUTOVER-HOURS, \
                     103 otherwise); the next legal cutover is {}",
                    hours_note(ah),
                    when(next)
                )));
            }
            (c, false)
        }
    };
    let answered = b.answer(
        MsgKind::Sna,
        (s, s),
        "answer the SNA (SNA_CONFIRM or SNA_REJECT)",
        Phase::Before,
    );
    b.step(
        RuleId::SnaValidity,
        Who::Gaining,
        format!(
            "the SNA confirmation is valid for {}: send the ECA before it lapses (counted from the SNA, the earliest \
             the confirmation can come)",
            book.sna_validity.describe()
        ),
        Some(s),
        d.sna_valid_until(s),
        Phase::Before,
    );
    b.step(
        RuleId::EcaNeedsSna,
        Who::Gaining,
        format!(
            "send the ECA {} once the SNA is confirmed and while the confirmation is valid: the legal cutovers run \
             from {} to {}; planned {}",
            hours_note(ah),
            when(earliest_eca),
            when(latest_eca),
            when(eca)
        ),
        Some(earliest_eca),
        latest_eca,
        Phase::Before,
    );
    retarget_budget(b, req, answered, eca);
    let eca_due = b.answer(
        MsgKind::Eca,
        (eca, eca),
        "answer the ECA (ECA_CONFIRM or ECA_REJECT)",
        Phase::At,
    );
    let (cut_first, cut_last) = d.cat_a_cutover_window(eca, ah);
    let completion = d.completion_deadline(eca_due);
    // Shown where the end of Standard Hours comes before COMPLETION's deadline.
    if let Some(end) = d.latest_cutover_for(eca, ah).filter(|end| *end < completion) {
        b.step(
            RuleId::CutoverHours,
            Who::Losing,
            "cut the number over inside Standard Hours (else reject the ECA with 103)".into(),
            Some(eca),
            end,
            Phase::At,
        );
    }
    b.step(
        RuleId::Completion,
        Who::Losing,
        format!(
            "cut the number over and send COMPLETION within {} of the ECA_CONFIRM",
            book.completion.describe()
        ),
        Some(eca),
        completion,
        Phase::At,
    );
    after_cutover(b, req, (cut_first, cut_last), (cut_first, completion.max(cut_last)));
    Ok((eca, earliest))
}

/// Cat C: (PNV,) CNA, CCA, the cutover at the agreed time.
fn cat_c<R: Reckoner + ?Sized>(b: &mut Builder<'_, '_, R>, req: &PlanRequest) -> Result<(Timestamp, bool), PlanError> {
    let d = b.d;
    let book = d.book;
    let ah = req.after_hours;
    let cna = if req.pnv {
        let answered = b.answer(
            MsgKind::Pnv,
            (req.submit, req.submit),
            "answer the PNV (PNV_RESPONSE, a code per number)",
            Phase::Before,
        );
        // The CNA follows the PNV_RESPONSE, which may come as late as its deadline.
        answered
    } else {
        req.submit
    };
    let earliest_cut = d.cat_c_earliest_cutover(cna, cna, ah);
    let (agreed, earliest) = match req.cutover {
        None => (earliest_cut, true),
        Some(c) if c < earliest_cut => {
            return Err(PlanError::NoLegalCutover(format!(
                "--cutover {c} comes before the CNA and CCA can surely be answered (CNA-RESPONSE {}, the CCA {} \
                 later, CCA-RESPONSE {}); the earliest legal cutover is {}",
                book.cna_response.describe(),
                lnp_model::duty::CCA_AFTER_CNA_CONFIRM.describe(),
                book.cca_response.describe(),
                when(earliest_cut)
            )));
        }
        Some(c) if !d.is_legal_send_time(c, ah) => {
            return Err(PlanError::NoLegalCutover(format!(
                "--cutover {c} is not {} (CUTOVER-HOURS, 103 otherwise); the next legal cutover is {}",
                hours_note(ah),
                when(d.legal_send_time(c, ah))
            )));
        }
        Some(c) => (c, false),
    };
    b.step(
        RuleId::CnaReceipt,
        Who::Losing,
        format!("send CNA_RECEIPT within {}", book.cna_receipt.describe()),
        Some(req.submit),
        d.cna_receipt_deadline(cna),
        Phase::Before,
    );
    let confirmed = b.answer(
        MsgKind::Cna,
        (req.submit, cna),
        "answer the CNA (CNA_CONFIRM or CNA_REJECT)",
        Phase::Before,
    );
    // The Code sets no time for the CCA but that its answer must come before the cutover; the
    // CNA may be confirmed as soon as it is sent (the PNV answered at once).
    let cca = d.latest_cca_for(agreed).max(confirmed.min(agreed));
    let cca_earliest = req.submit;
    b.step(
        RuleId::CcaNeedsCna,
        Who::Gaining,
        format!(
            "agree the cutover with the losing project manager and send the CCA for {} once the CNA is confirmed, \
             early enough that its whole answer time ({}) ends before the cutover",
            when(agreed),
            book.cca_response.describe()
        ),
        Some(cca_earliest),
        cca,
        Phase::Before,
    );
    let cca_due = b.answer(
        MsgKind::Cca,
        (cca_earliest, cca),
        "answer the CCA (CCA_CONFIRM or CCA_REJECT)",
        Phase::Before,
    );
    retarget_budget(b, req, cca_due, agreed);
    let first = d.agreed_cutover_earliest(agreed);
    let last = d.agreed_cutover_latest(agreed);
    b.step(
        RuleId::CutoverAtAgreed,
        Who::Losing,
        format!(
            "cut every number of the batch over within {} of the agreed {}",
            book.cutover_at_agreed.describe(),
            when(agreed)
        ),
        Some(first),
        last,
        Phase::At,
    );
    // Cat C completion is the cutover itself.
    after_cutover(b, req, (first, last), (first, last));
    Ok((agreed, earliest))
}

/// `RETARGET-LIMIT`: the re-target budget.
fn retarget_budget<R: Reckoner + ?Sized>(
    b: &mut Builder<'_, '_, R>,
    req: &PlanRequest,
    from: Timestamp,
    cutover: Timestamp,
) {
    let max = b.d.book.retargets_max;
    let left = max.saturating_sub(req.retargets);
    let when_asked = if req.category.is_simple() {
        "before the ECA"
    } else {
        "after the CCA is confirmed, before the cutover"
    };
    b.step(
        RuleId::RetargetLimit,
        Who::Gaining,
        format!(
            "re-target budget: {} used, {left} of {max} left; ask any re-target {when_asked} (one more is rejected \
             with 104)",
            req.retargets
        ),
        Some(from.min(cutover)),
        cutover,
        Phase::Before,
    );
}

/// The duties that follow the cutover: donor transit routing, the reversal or emergency-return
/// window, the donor's notices and register. `cut` is the range the cutover may fall in,
/// `completed` the range of completion (`COMPLETION` for Cat A, the cutover for Cat C).
fn after_cutover<R: Reckoner + ?Sized>(
    b: &mut Builder<'_, '_, R>,
    req: &PlanRequest,
    cut: (Timestamp, Timestamp),
    completed: (Timestamp, Timestamp),
) {
    let d = b.d;
    let book = d.book;
    let (cut_first, cut_last) = cut;
    if req.third_party_donor().is_some() {
        b.step(
            RuleId::DonorNotify,
            Who::Losing,
            "tell the donor the port is pending: DONOR_NOTIFY status=P (with cutover=) no later than the cutover"
                .into(),
            Some(req.submit),
            d.donor_notify_pending_deadline(cut_last),
            Phase::At,
        );
        b.step(
            RuleId::DonorNotify,
            Who::Losing,
            format!(
                "tell the donor the port completed: DONOR_NOTIFY status=C within {}",
                book.donor_notify.describe()
            ),
            Some(completed.0),
            d.donor_notify_deadline(completed.1),
            Phase::After,
        );
    }
    if req.donor_acts() {
        // The donor learns the instant by the cutover (its own, or the P notice due by then).
        b.step(
            RuleId::DtrDuration,
            Who::Donor,
            format!(
                "start donor transit routing at the cutover, at most {} after it",
                book.dtr_start_grace.describe()
            ),
            Some(cut_first),
            d.dtr_start_deadline(cut_last, cut_last),
            Phase::At,
        );
        b.step(
            RuleId::DtrDuration,
            Who::Donor,
            format!(
                "keep donor transit routing for at least {} from the cutover, then stop it",
                book.dtr_duration.describe()
            ),
            Some(d.dtr_earliest_stop(cut_first)),
            d.dtr_earliest_stop(cut_last),
            Phase::After,
        );
    }
    let return_kind = if req.category.is_simple() {
        "a reversal (REVERSAL)"
    } else {
        "an emergency return (EMERGENCY_RETURN)"
    };
    b.step(
        RuleId::EmergencyReturn,
        Who::Gaining,
        format!(
            "if the customer must go back, ask for {return_kind} after the cutover and within {} of it (108 \
             otherwise)",
            book.return_window.describe()
        ),
        Some(cut_first),
        d.return_window_end(cut_first),
        Phase::After,
    );
    if req.donor_acts() {
        let (_, deadline) = d.plnr_completed_window(cut_last, completed.1);
        b.step(
            RuleId::PlnrUpdate,
            Who::Donor,
            format!(
                "publish the completed port (PLNR status=C) not before the {} window ends, and within {} after it",
                if req.category.is_simple() {
                    "reversal"
                } else {
                    "emergency-return"
                },
                book.plnr_update.describe()
            ),
            Some(d.plnr_completed_earliest(cut_first)),
            deadline,
            Phase::After,
        );
    }
}

impl Plan {
    /// The plan for people: a header, then one block per step in `due` order.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let cat = self.category.as_char();
        let _ = write!(out, "Cat {cat} port, first request {}", when(self.submit));
        let _ = writeln!(
            out,
            "; cutover {}{}",
            when(self.cutover),
            if self.earliest { " (the earliest legal)" } else { "" }
        );
        if let (Some(g), Some(l)) = (self.gaining, self.losing) {
            let donor = self.donor.unwrap_or(l);
            let kind = if donor != l && donor != g {
                ", a third-party port"
            } else {
                ""
            };
            let _ = writeln!(out, "gaining {g}, losing {l}, donor {donor}{kind}");
        }
        if self.after_hours {
            out.push_str("the pair's agreement allows after-hours cutovers\n");
        }
        out.push('\n');
        for s in &self.steps {
            let _ = writeln!(out, "{}  {:<7}  {}", when(s.due), s.who.as_str(), s.rule);
            let _ = writeln!(out, "    {}", s.what);
            match s.from {
                Some(f) => {
                    let _ = writeln!(out, "    from {}; clause {}", when(f), s.clause);
                }
                None => {
                    let _ = writeln!(out, "    clause {}", s.clause);
                }
            }
        }
        out
    }

    /// One JSON object (`docs/plan-and-track.md`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
