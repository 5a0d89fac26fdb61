//! Deadline brackets: from a row that starts a duty to the duty's inclusive deadline, with the
//! row that discharged it. Every deadline is a [`Duties`] function's; this module only finds the
//! rows they start from and the rows that answer them.

use std::collections::{BTreeSet, VecDeque};

use lnp_model::fasthash::{FastMap, FastSet};

use lnp_model::{BusinessCalendar, Category, Duties, MsgKind, PortRef, PortStatus, RuleId, Timestamp, TraceRecord};

/// How a duty stood at the report's horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BracketStatus {
    /// Done by its deadline.
    InTime,
    /// Done, after its deadline.
    Late,
    /// Not done, and the deadline has passed.
    Missed,
    /// Not done, and the deadline has not passed yet.
    Open,
}

impl BracketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InTime => "in time",
            Self::Late => "late",
            Self::Missed => "missed",
            Self::Open => "open",
        }
    }
}

/// One duty with a deadline, as a bracket on the ladder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bracket {
    pub rule: RuleId,
    pub port: Option<PortRef>,
    /// The row (index into the records) that starts the duty.
    pub from: usize,
    /// The inclusive deadline.
    pub due: Timestamp,
    /// The row that did it.
    pub done_by: Option<usize>,
    pub status: BracketStatus,
    /// What is due, in a few words (`answer the ECA`).
    pub what: &'static str,
}

/// The duties the brackets show, and which row kinds discharge each.
fn discharges(kind: MsgKind) -> Option<RuleId> {
    use MsgKind as K;
    Some(match kind {
        K::SnaConfirm | K::SnaReject => RuleId::SnaResponse,
        K::EcaConfirm | K::EcaReject => RuleId::EcaResponse,
        K::PnvResponse => RuleId::PnvResponse,
        K::CnaReceipt => RuleId::CnaReceipt,
        K::CnaConfirm | K::CnaReject => RuleId::CnaResponse,
        K::CcaConfirm | K::CcaReject => RuleId::CcaResponse,
        K::Completion => RuleId::Completion,
        _ => return None,
    })
}

/// Every bracket of the trace, in the order of the rows that start them: the answer to each
/// `SNA`, `ECA`, `PNV`, `CNA` and `CCA` ([`Duties::answer`]), the `CNA_RECEIPT`
/// ([`Duties::cna_receipt_deadline`]), the `COMPLETION` after an `ECA_CONFIRM`
/// ([`Duties::completion_deadline`]), and the donor's completed register record
/// ([`Duties::plnr_completed_window`]; not after a return). An answer discharges the oldest
/// open duty of its kind on its port, as the audit matches them.
pub fn brackets(
    records: &[TraceRecord],
    ports: &[Option<PortRef>],
    duties: &Duties<'_, BusinessCalendar>,
    horizon: Timestamp,
) -> Vec<Bracket> {
    let mut out: Vec<Bracket> = Vec::new();
    // Looked up, never walked: the order of these maps reaches no output.
    let mut open: FastMap<(Option<PortRef>, RuleId), VecDeque<usize>> = FastMap::default();
    // The first cutover and the category of each port, for its register record.
    let mut cutover: FastMap<PortRef, Timestamp> = FastMap::default();
    let mut category: FastMap<PortRef, Category> = FastMap::default();
    // Ports whose register duty has started (once each), and brackets a return called off.
    let mut published_duty: FastSet<PortRef> = FastSet::default();
    let mut cancelled: BTreeSet<usize> = BTreeSet::new();
    let push = |out: &mut Vec<Bracket>,
                open: &mut FastMap<(Option<PortRef>, RuleId), VecDeque<usize>>,
                rule: RuleId,
                port: Option<PortRef>,
                from: usize,
                due: Timestamp,
                what: &'static str| {
        open.entry((port, rule)).or_default().push_back(out.len());
        out.push(Bracket {
            rule,
            port,
            from,
            due,
            done_by: None,
            status: BracketStatus::Open,
            what,
        });
    };
    for (i, (r, port)) in records.iter().zip(ports).enumerate() {
        let port = *port;
        let m = &r.message;
        if let (Some(p), Some(c)) = (port, m.category) {
            category.entry(p).or_insert(c);
        }
        if let Some(rule) = discharges(m.kind) {
            if let Some(b) = open.get_mut(&(port, rule)).and_then(VecDeque::pop_front) {
                if let Some(b) = out.get_mut(b) {
                    b.done_by = Some(i);
                }
            }
        }
        if m.kind == MsgKind::PlnrPublish && m.detail.status == Some(PortStatus::C) {
            if let Some(b) = open.get_mut(&(port, RuleId::PlnrUpdate)).and_then(VecDeque::pop_front) {
                if let Some(b) = out.get_mut(b) {
                    b.done_by = Some(i);
                }
            }
        }
        if let Some(duty) = duties.answer(m.kind, r.time) {
            let what = match m.kind {
                MsgKind::Sna => "answer the SNA",
                MsgKind::Eca => "answer the ECA",
                MsgKind::Pnv => "answer the PNV",
                MsgKind::Cna => "answer the CNA",
                _ => "answer the CCA",
            };
            push(&mut out, &mut open, duty.rule, port, i, duty.deadline, what);
        }
        match m.kind {
            MsgKind::Cna => {
                let due = duties.cna_receipt_deadline(r.time);
                push(
                    &mut out,
                    &mut open,
                    RuleId::CnaReceipt,
                    port,
                    i,
                    due,
                    "send the CNA receipt",
                );
            }
            MsgKind::EcaConfirm => {
                let due = duties.completion_deadline(r.time);
                push(
                    &mut out,
                    &mut open,
                    RuleId::Completion,
                    port,
                    i,
                    due,
                    "cut over and send COMPLETION",
                );
            }
            MsgKind::Cutover => {
                if let Some(p) = port {
                    cutover.entry(p).or_insert(r.time);
                }
            }
            MsgKind::ReversalConfirm | MsgKind::EmergencyReturnConfirm => {
                // A returned port has no completed record to publish.
                for b in open.remove(&(port, RuleId::PlnrUpdate)).unwrap_or_default() {
                    cancelled.insert(b);
                }
            }
            _ => {}
        }
        // The completion that starts the register duty: COMPLETION (Cat A, D), the CUTOVER (C).
        let completes = matches!(
            (m.kind, port.and_then(|p| category.get(&p))),
            (MsgKind::Completion, Some(Category::A | Category::D) | None) | (MsgKind::Cutover, Some(Category::C))
        ) && m.detail.reason().is_none();
        if let (true, Some(p)) = (completes, port) {
            if let Some(cut) = cutover.get(&p).filter(|_| published_duty.insert(p)) {
                let (_, due) = duties.plnr_completed_window(*cut, r.time);
                push(
                    &mut out,
                    &mut open,
                    RuleId::PlnrUpdate,
                    port,
                    i,
                    due,
                    "publish the completed record",
                );
            }
        }
    }
    let mut out: Vec<Bracket> = out
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !cancelled.contains(i))
        .map(|(_, b)| b)
        .collect();
    for b in &mut out {
        b.status = match b.done_by.and_then(|d| records.get(d)) {
            Some(done) if done.time <= b.due => BracketStatus::InTime,
            Some(_) => BracketStatus::Late,
            None if b.due < horizon => BracketStatus::Missed,
            None => BracketStatus::Open,
        };
    }
    out
}
