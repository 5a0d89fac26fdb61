//! Cat C validation: `PNV-RESPONSE` (a statistic over the trace) and `PNV-CODES`.

use lnp_model::message::NumberCode;
use lnp_model::{Code, MsgKind, RuleId, TraceRecord, WholeCode};

use super::{rejects_with_ca_code, Auditor, Ev, PnvOpen};

impl Auditor<'_> {
    pub(super) fn on_pnv(&mut self, _line: u64, r: &TraceRecord) {
        let m = &r.message;
        let ev = Ev {
            seq: r.seq,
            time: r.time,
        };
        let Some(key) = m.port_ref else { return };
        if m.kind == MsgKind::Pnv {
            let deadline = self.add(r.time, self.book.pnv_response);
            let ca_stale = self.ca_stale(m.detail.ca_date, r.time);
            self.pnvs.entry(key).or_insert(PnvOpen { ev, deadline, ca_stale });
            return;
        }
        self.check_pnv_codes(r, MsgKind::PnvResponse);
        let Some(open) = self.pnvs.remove(&key) else { return };
        self.count_pnv(key, r.time <= open.deadline);
        let rejected_ca = rejects_with_ca_code(&m.code);
        if open.ca_stale == Some(true) && !rejected_ca {
            self.charge(
                RuleId::CaAge,
                vec![open.ev.seq, r.seq],
                Some(key),
                &m.numbers,
                &format!(
                    "PNV at seq {} relies on a Customer Authority more than {} old (or dated after it), yet the \
                     response at seq {} does not reject it with code 1",
                    open.ev.seq,
                    self.book.ca_age.describe(),
                    r.seq
                ),
            );
        } else if open.ca_stale == Some(false) && rejected_ca {
            self.charge(
                RuleId::CaAge,
                vec![open.ev.seq, r.seq],
                Some(key),
                &m.numbers,
                &format!(
                    "the response at seq {} rejects the PNV at seq {} with code 1 though its Customer Authority \
                     is within {}",
                    r.seq,
                    open.ev.seq,
                    self.book.ca_age.describe()
                ),
            );
        }
    }

    /// `PNV-CODES` on a `PNV_RESPONSE` or a `CNA_REJECT`.
    pub(super) fn check_pnv_codes(&mut self, r: &TraceRecord, kind: MsgKind) {
        let m = &r.message;
        let problem: Option<String> = match &m.code {
            Code::None => Some(format!("{kind} at seq {} carries no code", r.seq)),
            Code::Whole(WholeCode::Reject(c)) => Some(format!(
                "{kind} at seq {} uses the reject code {c}; PNV codes are P A S R D SS and 1-7",
                r.seq
            )),
            Code::Whole(WholeCode::Pnv(p)) if !p.is_whole_request() => Some(format!(
                "{kind} at seq {} rejects the whole request with code {}, which rejects one number (only 1 and 2 \
                 reject a whole request)",
                r.seq,
                p.get()
            )),
            Code::Whole(WholeCode::Pnv(_)) => None,
            Code::PerNumber(pairs) => {
                let other = pairs.iter().find_map(|(n, c)| match c {
                    NumberCode::Other(o) => Some(format!("{n}:{}", o.as_str())),
                    NumberCode::Response(_) if kind == MsgKind::CnaReject => Some(format!("{n}:{c}")),
                    _ => None,
                });
                let whole_codes: Vec<u8> = pairs
                    .iter()
                    .filter_map(|(_, c)| match c {
                        NumberCode::Reject(p) if p.is_whole_request() => Some(p.get()),
                        _ => None,
                    })
                    .collect();
                if let Some(o) = other {
                    Some(if kind == MsgKind::CnaReject {
                        format!(
                            "{kind} at seq {} gives {o}; per-number reasons are the PNV reject codes 1-7",
                            r.seq
                        )
                    } else {
                        format!(
                            "{kind} at seq {} gives {o}, which is not a PNV code (P A S R D SS, 1-7)",
                            r.seq
                        )
                    })
                } else if !whole_codes.is_empty()
                    && (whole_codes.len() != pairs.len() || whole_codes.iter().any(|c| *c != whole_codes[0]))
                {
                    Some(format!(
                        "{kind} at seq {} uses code {} for some numbers only; codes 1 and 2 reject the whole request",
                        r.seq, whole_codes[0]
                    ))
                } else {
                    None
                }
            }
        };
        if let Some(p) = problem {
            self.charge(RuleId::PnvCodes, vec![r.seq], m.port_ref, &m.numbers, &p);
        }
    }
}
