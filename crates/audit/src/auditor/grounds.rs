//! Grounds: a reject's reason must hold at the instant the request was received (`CA-AGE`,
//! `ECA-NEEDS-SNA`, `SNA-VALIDITY`, `CUTOVER-HOURS`, `RETARGET-LIMIT`, `WITHDRAW-BEFORE-ECA`,
//! `EMERGENCY-RETURN`, `DAILY-CAP`, `PORT-PENDING`, `CAT-A-NOT-REJECTABLE`).

use chrono::NaiveDate;
use lnp_model::{PortRef, RejectCode, RuleId, Timestamp, TraceRecord};

use super::{Auditor, OpenRequest, Port};

impl Auditor<'_> {
    pub(super) fn ca_stale(&self, ca_date: Option<NaiveDate>, at: Timestamp) -> Option<bool> {
        Some(self.duties().ca_stale(ca_date?, at))
    }

    /// Whether the ground of a valid reject code holds, where the trace can show it.
    pub(super) fn check_ground(
        &mut self,
        key: PortRef,
        port: &Port,
        req: &OpenRequest,
        r: &TraceRecord,
        code: RejectCode,
    ) {
        match code {
            RejectCode::SNA_EXPIRED | RejectCode::NO_VALID_SNA if !req.no_basis && req.late == Some(false) => {
                let rule = if code == RejectCode::SNA_EXPIRED {
                    RuleId::SnaValidity
                } else {
                    RuleId::EcaNeedsSna
                };
                let why = format!(
                    "its SNA was confirmed at seq {} and was still valid",
                    port.sna_confirm.map_or(0, |s| s.seq)
                );
                self.unjustified(rule, key, port, req, r, &why);
            }
            RejectCode::OUTSIDE_HOURS => {
                if let Some(t) = req.cutover {
                    if self.cutover_allowed(port, t) {
                        let why = if self.clock.in_standard_hours(t) {
                            format!("its cutover {t} is inside Standard Hours")
                        } else {
                            format!("the carriers' agreement allows after-hours ports (cutover {t})")
                        };
                        self.unjustified(RuleId::CutoverHours, key, port, req, r, &why);
                    }
                }
            }
            RejectCode::RETARGET_LIMIT if port.rare().retargets < self.book.retargets_max => {
                let why = format!(
                    "only {} re-target(s) of the {} allowed had been confirmed",
                    port.rare().retargets,
                    self.book.retargets_max
                );
                self.unjustified(RuleId::RetargetLimit, key, port, req, r, &why);
            }
            RejectCode::CCA_WITHOUT_CNA if !req.no_basis => {
                let why = format!(
                    "its CNA was confirmed at seq {}",
                    port.rare().cna_confirm.map_or(0, |c| c.seq)
                );
                self.unjustified(RuleId::CcaNeedsCna, key, port, req, r, &why);
            }
            RejectCode::DAILY_CAP => {
                let (Some(ctx), Some(t)) = (&self.ctx, req.cutover) else {
                    return;
                };
                let count = self
                    .confirmed_per_day
                    .get(&(r.from, self.clock.sydney_date(t)))
                    .copied()
                    .unwrap_or(0);
                let why = match ctx.daily_cap(r.from) {
                    None => Some(format!("carrier {} has no daily cap", r.from)),
                    Some(cap) if count < cap => Some(format!(
                        "carrier {} had confirmed {count} of its {cap} cutovers for {}",
                        r.from,
                        t.sydney_date()
                    )),
                    Some(_) => None,
                };
                if let Some(why) = why {
                    self.unjustified(RuleId::DailyCap, key, port, req, r, &why);
                }
            }
            RejectCode::WITHDRAW_TOO_LATE if req.late == Some(false) => {
                let before = if port.simple() { "ECA" } else { "CCA" };
                let why = format!("it came before any {before}");
                self.unjustified(RuleId::WithdrawBeforeEca, key, port, req, r, &why);
            }
            RejectCode::OUTSIDE_RETURN_WINDOW if req.late == Some(false) => {
                let why = format!("it came within {} of the cutover", self.book.return_window.describe());
                self.unjustified(RuleId::EmergencyReturn, key, port, req, r, &why);
            }
            _ => {}
        }
    }
}
