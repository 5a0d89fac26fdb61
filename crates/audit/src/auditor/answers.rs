//! Answer duties: every request is answered in its rule's time, and a reject names a code that
//! is a ground for rejecting that request (`SNA-RESPONSE`, `ECA-RESPONSE`, `CNA-RESPONSE`,
//! `CCA-RESPONSE`, `NO-CONTRACT-REJECT`), and what each answer means for the port.

use lnp_model::{MsgKind, PortRef, RejectCode, RuleId, TelephoneNumber, TraceRecord};

use super::{elapsed, governing_rule, Auditor, Ev, OpenRequest, Port};
use crate::context::ServiceKind;

impl Auditor<'_> {
    pub(super) fn check_response_time(&mut self, key: PortRef, port: &Port, req: &OpenRequest, r: &TraceRecord) {
        if req.overdue {
            return; // charged already, when its deadline passed
        }
        if req.kind == MsgKind::Pnv {
            return;
        }
        let Some(duty) = self.duties().answer(req.kind, req.ev.time) else {
            return;
        };
        let (rule, span, deadline) = (duty.rule, duty.span, duty.deadline);
        if r.time <= deadline {
            return;
        }
        let msg = if let Some(limit) = span.fixed_millis() {
            let taken = r.time.millis() - req.ev.time.millis();
            // Words round to the second (or minute, hour): where that hides the overrun, say it.
            let over = if elapsed(taken) == elapsed(limit) {
                format!(" ({} over)", elapsed(taken - limit))
            } else {
                String::new()
            };
            format!(
                "{} at seq {} was answered {} later at seq {}{over}; the limit is {}",
                req.kind,
                req.ev.seq,
                elapsed(taken),
                r.seq,
                span.describe()
            )
        } else {
            format!(
                "{} at seq {} ({}) was answered at seq {} ({}), after its deadline {}; the limit is {}",
                req.kind,
                req.ev.seq,
                req.ev.time,
                r.seq,
                r.time,
                deadline,
                span.describe()
            )
        };
        self.charge(rule, vec![req.ev.seq, r.seq], Some(key), &port.numbers, &msg);
    }

    /// Checks a reject's code against the table; returns it when it is a valid ground for
    /// rejecting `req_kind`, so that the caller can check whether the ground holds.
    pub(super) fn check_reject_code(
        &mut self,
        key: PortRef,
        port: &Port,
        req_kind: MsgKind,
        r: &TraceRecord,
    ) -> Option<RejectCode> {
        let m = &r.message;
        let rule = governing_rule(req_kind);
        let Some(code) = m.code.reject_code() else {
            self.charge(
                rule,
                vec![r.seq],
                Some(key),
                &port.numbers,
                &format!(
                    "{} at seq {} carries no three-digit reject code; a reject names its ground from the reject-code \
                     table",
                    m.kind, r.seq
                ),
            );
            return None;
        };
        match self.book.reject_codes.get(&code) {
            None => {
                self.charge(
                    rule,
                    vec![r.seq],
                    Some(key),
                    &port.numbers,
                    &format!(
                        "{} at seq {} uses code {code}, which is not in the reject-code table",
                        m.kind, r.seq
                    ),
                );
                None
            }
            Some(info) if !info.valid_ground => {
                self.charge(
                    RuleId::NoContractReject,
                    vec![r.seq],
                    Some(key),
                    &port.numbers,
                    &format!(
                        "{} at seq {} rejects with code {code} ({}), which is never a valid ground for rejection",
                        m.kind, r.seq, info.meaning
                    ),
                );
                None
            }
            Some(info) if !info.on.contains(&req_kind) => {
                let on: Vec<&str> = info.on.iter().map(|k| k.keyword()).collect();
                self.charge(
                    rule,
                    vec![r.seq],
                    Some(key),
                    &port.numbers,
                    &format!(
                        "{} at seq {} uses code {code} ({}), which is a ground for rejecting {} only, not {req_kind}",
                        m.kind,
                        r.seq,
                        info.meaning,
                        on.join(", ")
                    ),
                );
                None
            }
            Some(_) => Some(code),
        }
    }

    /// A reject whose ground the trace shows to be false.
    pub(super) fn unjustified(
        &mut self,
        rule: RuleId,
        key: PortRef,
        port: &Port,
        req: &OpenRequest,
        r: &TraceRecord,
        why: &str,
    ) {
        let code = r.message.code.reject_code().map(|c| c.to_string()).unwrap_or_default();
        self.charge(
            rule,
            vec![req.ev.seq, r.seq],
            Some(key),
            &port.numbers,
            &format!(
                "{} at seq {} was rejected with code {code} at seq {} though {why}",
                req.kind, req.ev.seq, r.seq
            ),
        );
    }

    pub(super) fn on_answer(
        &mut self,
        key: PortRef,
        port: &mut Port,
        req: Option<&OpenRequest>,
        r: &TraceRecord,
        ev: Ev,
    ) {
        use MsgKind as K;
        let m = &r.message;
        match m.kind {
            K::SnaConfirm | K::CnaConfirm => {
                let is_sna = m.kind == K::SnaConfirm;
                if is_sna {
                    if port.sna_confirm.is_none() {
                        port.sna_confirm = Some(ev);
                        port.sna_expires = Some(self.duties().sna_valid_until(r.time));
                    }
                } else {
                    if port.rare().cna_reject.is_some() {
                        self.charge(
                            RuleId::CnaAllOrNothing,
                            vec![r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "CNA_CONFIRM at seq {} confirms a batch the losing carrier already rejected",
                                r.seq
                            ),
                        );
                    } else if !m.numbers.is_empty() && port.numbers.iter().any(|n| !m.numbers.contains(n)) {
                        let left: Vec<TelephoneNumber> = port
                            .numbers
                            .iter()
                            .filter(|n| !m.numbers.contains(n))
                            .copied()
                            .collect();
                        self.charge(
                            RuleId::CnaAllOrNothing,
                            vec![r.seq],
                            Some(key),
                            &left,
                            &format!(
                                "CNA_CONFIRM at seq {} confirms only part of the batch ({} of {} numbers); a batch is \
                                 confirmed or rejected whole",
                                r.seq,
                                port.numbers.len() - left.len(),
                                port.numbers.len()
                            ),
                        );
                    }
                    port.rare_mut().cna_confirm.get_or_insert(ev);
                }
                if let Some(req) = req {
                    if req.late == Some(true) {
                        self.charge(
                            RuleId::CaAge,
                            vec![req.ev.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "{} at seq {} relies on a Customer Authority more than {} old (or dated after it) and \
                                 was confirmed at seq {}; it should have been rejected with 001",
                                req.kind,
                                req.ev.seq,
                                self.book.ca_age.describe(),
                                r.seq
                            ),
                        );
                    }
                }
                if is_sna && port.numbers.len() != 1 && port.sna.is_some() {
                    self.charge(
                        RuleId::SnaOneNumber,
                        vec![port.sna.map_or(r.seq, |s| s.seq), r.seq],
                        Some(key),
                        &port.numbers,
                        &format!(
                            "SNA_CONFIRM at seq {} accepts an SNA carrying {} numbers; an SNA carries exactly one \
                             (port several numbers as Cat C)",
                            r.seq,
                            port.numbers.len()
                        ),
                    );
                }
                self.check_pending(key, port, r);
                if port.first_charge(RuleId::Bilateral) {
                    self.check_bilateral(key, port, r);
                }
            }
            K::SnaReject | K::CnaReject => {
                if m.kind == K::SnaReject {
                    if let (Some(code), Some(req)) = (self.check_reject_code(key, port, K::Sna, r), req) {
                        if code == RejectCode::CA_INVALID && req.late == Some(false) {
                            let why = format!("its Customer Authority is within {}", self.book.ca_age.describe());
                            self.unjustified(RuleId::CaAge, key, port, req, r, &why);
                        }
                        if code == RejectCode::COMPLEX_SERVICE {
                            if let Some(ctx) = &self.ctx {
                                if port.numbers.iter().all(|n| ctx.service_kind(*n) == ServiceKind::Simple) {
                                    self.unjustified(
                                        RuleId::CatANotRejectable,
                                        key,
                                        port,
                                        req,
                                        r,
                                        "the service is simple (scenario services)",
                                    );
                                }
                            }
                        }
                    }
                } else {
                    self.check_pnv_codes(r, K::CnaReject);
                    if port.rare().cna_confirm.is_some() {
                        self.charge(
                            RuleId::CnaAllOrNothing,
                            vec![r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "CNA_REJECT at seq {} rejects a batch the losing carrier already confirmed",
                                r.seq
                            ),
                        );
                    }
                    port.rare_mut().cna_reject.get_or_insert(ev);
                }
                if port.rare().abandoned.is_none() {
                    port.rare_mut().abandoned = Some(ev);
                }
                self.unpend(key, port);
            }
            K::EcaConfirm | K::CcaConfirm => {
                let is_eca = m.kind == K::EcaConfirm;
                if let Some(req) = req {
                    if is_eca && req.no_basis {
                        self.charge(
                            RuleId::EcaNeedsSna,
                            vec![req.ev.seq, r.seq],
                            Some(key),
                            port.named(&m.numbers),
                            &format!(
                                "ECA at seq {} has no confirmed SNA for ref {key} and its numbers, yet was confirmed at \
                                 seq {}; it should have been rejected with 102",
                                req.ev.seq, r.seq
                            ),
                        );
                    } else if is_eca && req.late == Some(true) {
                        self.charge(
                            RuleId::SnaValidity,
                            vec![req.ev.seq, r.seq],
                            Some(key),
                            port.named(&m.numbers),
                            &format!(
                                "ECA at seq {} came after its SNA confirmation at seq {} expired ({}), yet was \
                                 confirmed at seq {}; it should have been rejected with 101",
                                req.ev.seq,
                                port.sna_confirm.map_or(0, |s| s.seq),
                                self.book.sna_validity.describe(),
                                r.seq
                            ),
                        );
                    } else if !is_eca && req.no_basis {
                        self.charge(
                            RuleId::CcaNeedsCna,
                            vec![req.ev.seq, r.seq],
                            Some(key),
                            port.named(&m.numbers),
                            &format!(
                                "CCA at seq {} has no confirmed CNA for batch {key}, yet was confirmed at seq {}; it \
                                 should have been rejected with 105",
                                req.ev.seq, r.seq
                            ),
                        );
                    }
                    if let Some(t) = req.cutover {
                        port.confirmed_cutover = Some((ev, t));
                        self.count_daily(key, port, t, r);
                    }
                } else if is_eca && port.sna_confirm.is_none() {
                    self.charge(
                        RuleId::EcaNeedsSna,
                        vec![r.seq],
                        Some(key),
                        port.named(&m.numbers),
                        &format!(
                            "ECA_CONFIRM at seq {} confirms a port of ref {key} that has no confirmed SNA",
                            r.seq
                        ),
                    );
                }
                if is_eca {
                    port.eca_confirm.get_or_insert(ev);
                } else {
                    port.rare_mut().cca_confirm.get_or_insert(ev);
                    port.rare_mut().retargets = 0;
                }
            }
            K::EcaReject | K::CcaReject => {
                let is_eca = m.kind == K::EcaReject;
                let req_kind = if is_eca { K::Eca } else { K::Cca };
                if let (Some(code), Some(req)) = (self.check_reject_code(key, port, req_kind, r), req) {
                    self.check_ground(key, port, req, r, code);
                }
                if is_eca {
                    port.eca_active = None;
                    if matches!(m.code.reject_code(), Some(c) if c == RejectCode::SNA_EXPIRED || c == RejectCode::NO_VALID_SNA)
                        && port.rare().abandoned.is_none()
                    {
                        port.rare_mut().abandoned = Some(ev);
                        self.unpend(key, port);
                    }
                } else if let Some(rare) = &mut port.rare {
                    rare.cca_active = None;
                }
            }
            K::RetargetConfirm => {
                let counts = port.simple() || port.rare().cca_confirm.is_some();
                if counts {
                    port.rare_mut().retargets += 1;
                    if port.rare().retargets > self.book.retargets_max {
                        self.charge(
                            RuleId::RetargetLimit,
                            vec![req.map_or(r.seq, |q| q.ev.seq), r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "RETARGET_CONFIRM at seq {} accepts re-target number {} of the port; at most {} are \
                                 allowed, so it should have been rejected with 104",
                                r.seq,
                                port.rare().retargets,
                                self.book.retargets_max
                            ),
                        );
                    }
                }
                if let (Some(t), Some(_)) = (req.and_then(|q| q.cutover), port.confirmed_cutover) {
                    port.confirmed_cutover = Some((ev, t));
                }
            }
            K::RetargetReject => {
                if let (Some(code), Some(req)) = (self.check_reject_code(key, port, K::Retarget, r), req) {
                    self.check_ground(key, port, req, r, code);
                }
            }
            K::WithdrawConfirm => {
                if let Some(req) = req {
                    if req.late == Some(true) {
                        let after = if port.simple() { "ECA" } else { "CCA" };
                        self.charge(
                            RuleId::WithdrawBeforeEca,
                            vec![req.ev.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "WITHDRAW at seq {} came after the port's {after} and was confirmed at seq {}; it \
                                 should have been rejected with 107",
                                req.ev.seq, r.seq
                            ),
                        );
                    }
                }
                if port.rare().abandoned.is_none() && port.completed_at().is_none() {
                    port.rare_mut().abandoned = Some(ev);
                }
                self.unpend(key, port);
            }
            K::WithdrawReject => {
                if let (Some(code), Some(req)) = (self.check_reject_code(key, port, K::Withdraw, r), req) {
                    self.check_ground(key, port, req, r, code);
                }
            }
            K::ReversalConfirm | K::EmergencyReturnConfirm => {
                if let Some(req) = req {
                    if req.late == Some(true) {
                        self.charge(
                            RuleId::EmergencyReturn,
                            vec![port.cutover.map_or(req.ev.seq, |c| c.seq), req.ev.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "{} at seq {} came more than {} after the cutover and was confirmed at seq {}; it \
                                 should have been rejected with 108",
                                req.kind,
                                req.ev.seq,
                                self.book.return_window.describe(),
                                r.seq
                            ),
                        );
                    }
                }
                port.rare_mut().returned.get_or_insert(ev);
                self.unpend(key, port);
            }
            K::ReversalReject | K::EmergencyReturnReject => {
                let req_kind = if m.kind == K::ReversalReject {
                    K::Reversal
                } else {
                    K::EmergencyReturn
                };
                if let (Some(code), Some(req)) = (self.check_reject_code(key, port, req_kind, r), req) {
                    self.check_ground(key, port, req, r, code);
                }
            }
            _ => {}
        }
    }
}
