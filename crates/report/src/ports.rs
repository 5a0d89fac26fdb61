//! Ports as a trace shows them: which port each row belongs to, each port's key moments, and how
//! it ended. Everything here is read from the rows alone (a carrier's own log has nothing else);
//! the one deadline it needs, the lapse of an SNA confirmation, comes from [`Duties`].

use std::collections::BTreeMap;

use lnp_model::fasthash::FastMap;

use lnp_model::{
    BusinessCalendar, CarrierCode, Category, Code, Duties, MsgKind, NumberCode, Outcome, PortRef, PortStatus,
    RejectCode, TelephoneNumber, Timestamp, TraceRecord,
};

/// The port of each row: its `ref`, or for a row without one (an action may omit it) the port
/// that last named one of its numbers, as the audit matches them. `None` where neither tells.
pub fn row_ports(records: &[TraceRecord]) -> Vec<Option<PortRef>> {
    let mut last: FastMap<TelephoneNumber, PortRef> = FastMap::default();
    records
        .iter()
        .map(|r| {
            let m = &r.message;
            if let Some(p) = m.port_ref {
                for n in &m.numbers {
                    last.insert(*n, p);
                }
                Some(p)
            } else {
                m.numbers.iter().find_map(|n| last.get(n).copied())
            }
        })
        .collect()
}

/// One port's key moments and outcome, from its rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortTimes {
    pub port_ref: PortRef,
    pub category: Option<Category>,
    /// The numbers of its first request (or of its first row).
    pub numbers: Vec<TelephoneNumber>,
    /// The sender and receiver of its first request.
    pub gaining: Option<CarrierCode>,
    pub losing: Option<CarrierCode>,
    /// The first request (`SNA`, `CNA` or `PNV`).
    pub submitted: Option<Timestamp>,
    /// The first `SNA_CONFIRM` or `CNA_CONFIRM`.
    pub confirmed: Option<Timestamp>,
    /// The first `CUTOVER`.
    pub cutover: Option<Timestamp>,
    /// `COMPLETION` (Cat A and D), or the `CUTOVER` (Cat C).
    pub completed: Option<Timestamp>,
    /// The first `PLNR_PUBLISH` with `status=C`.
    pub published: Option<Timestamp>,
    pub outcome: Outcome,
    /// How it ended, or where it stands, in a few words (`rejected 003`, `awaiting COMPLETION`).
    pub stage: String,
    pub rows: usize,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// Where a port stands while its rows are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Open,
    /// Cat A/D: an `SNA_CONFIRM` at this instant and no ECA since, or an ECA rejected with
    /// `103`: the confirmation lapses unless something new is asked.
    Confirmed(Timestamp),
}

/// Every port of the trace in `ref` order. A port's outcome is what its last decisive row says,
/// as the gaining carrier sees it: `completed` at `COMPLETION` (Cat C: the cutover), `rejected`
/// at a reject that ends the port, `withdrawn`, `returned`, `expired` (a `101`, or an SNA
/// confirmation that lapsed by `horizon` with no ECA after it), else `pending`. A later row
/// overrides an earlier one: a port cut over after its reject was, in fact, completed.
pub fn port_times(
    records: &[TraceRecord],
    ports: &[Option<PortRef>],
    duties: &Duties<'_, BusinessCalendar>,
    horizon: Timestamp,
) -> BTreeMap<PortRef, PortTimes> {
    // Built unordered, returned in `ref` order.
    let mut out: FastMap<PortRef, (PortTimes, Stage)> = FastMap::default();
    for (r, port) in records.iter().zip(ports) {
        let Some(port) = *port else { continue };
        let m = &r.message;
        let (t, stage) = out.entry(port).or_insert_with(|| {
            (
                PortTimes {
                    port_ref: port,
                    category: m.category,
                    numbers: m.numbers.to_vec(),
                    gaining: None,
                    losing: None,
                    submitted: None,
                    confirmed: None,
                    cutover: None,
                    completed: None,
                    published: None,
                    outcome: Outcome::Pending,
                    stage: String::new(),
                    rows: 0,
                    first_seq: r.seq,
                    last_seq: r.seq,
                },
                Stage::Open,
            )
        });
        t.rows += 1;
        t.last_seq = r.seq;
        if t.category.is_none() {
            t.category = m.category;
        }
        let cat_c = t.category == Some(Category::C);
        let code = m.code.reject_code();
        let mut end = |t: &mut PortTimes, outcome: Outcome, why: String| {
            t.outcome = outcome;
            t.stage = why;
            *stage = Stage::Open;
        };
        match m.kind {
            MsgKind::Sna | MsgKind::Cna | MsgKind::Pnv if t.submitted.is_none() => {
                t.submitted = Some(r.time);
                t.gaining = Some(r.from);
                t.losing = r.to;
                t.numbers.clear();
                t.numbers.extend_from_slice(&m.numbers);
            }
            MsgKind::SnaConfirm => {
                t.confirmed.get_or_insert(r.time);
                // A confirmation after the port ended (a withdrawal answered first) starts nothing.
                if t.outcome == Outcome::Pending {
                    *stage = Stage::Confirmed(r.time);
                }
            }
            MsgKind::CnaConfirm => {
                t.confirmed.get_or_insert(r.time);
            }
            MsgKind::Eca | MsgKind::Retarget | MsgKind::Withdraw => {
                if let Stage::Confirmed(_) = stage {
                    *stage = Stage::Open;
                }
            }
            MsgKind::SnaReject | MsgKind::CnaReject => end(t, Outcome::Rejected, format!("rejected {}", m.code)),
            MsgKind::PnvResponse if !any_response(&m.code) => {
                end(t, Outcome::Rejected, format!("PNV rejected {}", m.code));
            }
            MsgKind::EcaReject => match code {
                Some(RejectCode::DAILY_CAP) => {}
                Some(RejectCode::SNA_EXPIRED) => end(t, Outcome::Expired, format!("expired {}", m.code)),
                Some(RejectCode::OUTSIDE_HOURS) => {
                    if let Some(c) = t.confirmed {
                        *stage = Stage::Confirmed(c);
                    }
                }
                _ => end(t, Outcome::Rejected, format!("ECA rejected {}", m.code)),
            },
            MsgKind::CcaReject if code != Some(RejectCode::DAILY_CAP) => {
                end(t, Outcome::Rejected, format!("CCA rejected {}", m.code));
            }
            MsgKind::Completion => end(t, Outcome::Completed, "completed".into()),
            // A cutover with a reason is the way back (a return), not the port's.
            MsgKind::Cutover if cat_c && m.detail.reason().is_none() => end(t, Outcome::Completed, "completed".into()),
            MsgKind::WithdrawConfirm => end(t, Outcome::Withdrawn, "withdrawn".into()),
            MsgKind::ReversalConfirm | MsgKind::EmergencyReturnConfirm => {
                end(t, Outcome::Returned, "returned".into());
            }
            _ => {}
        }
        note_times(t, r);
    }
    out.into_values()
        .map(|(mut t, stage)| {
            if let Stage::Confirmed(at) = stage {
                if duties.sna_lapse(at) <= horizon {
                    t.outcome = Outcome::Expired;
                    t.stage = "expired: the SNA confirmation lapsed".into();
                }
            }
            if t.stage.is_empty() {
                t.stage = "pending".into();
            }
            (t.port_ref, t)
        })
        .collect()
}

/// The moments a row may fill in.
fn note_times(t: &mut PortTimes, r: &TraceRecord) {
    let m = &r.message;
    match m.kind {
        MsgKind::Cutover if t.cutover.is_none() && m.detail.reason().is_none() => {
            t.cutover = Some(r.time);
            if t.category == Some(Category::C) {
                t.completed = Some(r.time);
            }
        }
        MsgKind::Completion if t.completed.is_none() => t.completed = Some(r.time),
        MsgKind::PlnrPublish if t.published.is_none() && m.detail.status == Some(PortStatus::C) => {
            t.published = Some(r.time);
        }
        _ => {}
    }
}

/// Whether a PNV response keeps any number (a response code rather than a reject).
fn any_response(code: &Code) -> bool {
    match code {
        Code::PerNumber(pairs) => pairs.iter().any(|(_, c)| matches!(c, NumberCode::Response(_))),
        _ => false,
    }
}
