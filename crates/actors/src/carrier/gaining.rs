//! The gaining carrier: it starts ports for its customers, sends their requests and follows the
//! answers (clauses 4.2 and 4.4 from the gaining side).

use lnp_model::duty::MAX_CAPACITY_RETRIES;
use lnp_model::{
    CarrierCode, Category, Code, Detail, Duties, Message, MsgKind, PortRef, RejectCode, RuleId, TelephoneNumber,
    Timestamp,
};

use super::{sanitize, Carrier, GainingPort, GainingState, Job, Outcome};
use crate::config::{FaultAction, PortRequest, ServiceKind};

impl Carrier {
    /// A port that has ended and need not be kept is counted and forgotten.
    pub(super) fn settle(&mut self, port_ref: PortRef) {
        let Some(p) = self.gaining.get(&port_ref) else { return };
        let outcome = p.state.outcome();
        if !p.req.keep && outcome != Outcome::Pending {
            *self.finished.entry(outcome).or_insert(0) += 1;
            self.gaining.remove(&port_ref);
        }
    }

    pub(super) fn submit(&mut self, now: Timestamp, req: PortRequest) {
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
        } else if self.duties().ca_stale(req.ca_date, now) {
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
            m.numbers = lnp_model::Numbers::from_slice(&req.numbers);
            m.detail.ca_date = Some(req.ca_date);
            m.detail.cutover = Some(req.cutover);
            m.detail.set_account(Some(req.account.clone()));
            if !req.customer.is_empty() {
                m.detail.push_extra("customer".into(), sanitize(&req.customer));
            }
            self.send(now, req.losing, m);
            let deadline = self.duties().patience(MsgKind::Sna, now).unwrap_or(now);
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
                *self.finished.entry(Outcome::Rejected).or_insert(0) += 1;
                return;
            }
            tracing::info!(at = %now, carrier = %self.code, port = %port_ref, ?rule, %reason, "port refused");
        }
        self.gaining.insert(port_ref, GainingPort::new(req, state));
    }

    pub(super) fn send_withdraw(&mut self, now: Timestamp, port_ref: PortRef) {
        let Some(p) = self.gaining.get(&port_ref) else { return };
        let losing = p.req.losing;
        let mut m = Message::new(MsgKind::Withdraw, port_ref);
        m.category = Some(p.req.category);
        m.numbers = lnp_model::Numbers::from_slice(&p.req.numbers);
        self.send(now, losing, m);
    }

    /// The customer withdraws the port (`WITHDRAW-BEFORE-ECA`). Where a request is open whose
    /// answer decides what there is to withdraw, the withdrawal waits for that answer.
    pub(super) fn withdraw(&mut self, now: Timestamp, port_ref: PortRef) {
        let Some(p) = self.gaining.get_mut(&port_ref) else {
            return;
        };
        match &p.state {
            GainingState::AwaitEcaTime { .. } | GainingState::AwaitCcaTime { .. } | GainingState::AwaitLapse { .. } => {
                let before = Box::new(p.state.clone());
                p.state = GainingState::AwaitWithdrawReply { before };
                p.withdraw_wanted = false;
                self.send_withdraw(now, port_ref);
            }
            GainingState::AwaitRetargetReply { confirmed_at, eca_at } => {
                // A pending re-target changes nothing that can be withdrawn: the withdrawal goes
                // now, and the re-target's answer, if it comes, is noted on the way.
                let before = Box::new(GainingState::AwaitEcaTime {
                    confirmed_at: *confirmed_at,
                    eca_at: *eca_at,
                });
                p.state = GainingState::AwaitWithdrawReply { before };
                p.withdraw_wanted = false;
                self.send_withdraw(now, port_ref);
            }
            GainingState::AwaitSnaReply | GainingState::AwaitPnvReply | GainingState::AwaitCnaReply => {
                p.withdraw_wanted = true;
            }
            GainingState::AwaitEcaReply
            | GainingState::AwaitCompletion
            | GainingState::Completed { .. }
            | GainingState::AwaitCcaReply { .. }
            | GainingState::AwaitCutover { .. } => {
                // After the ECA (CCA) the customer's request still goes to the losing carrier,
                // which must refuse it (107): the trace shows the Code at work.
                self.send_withdraw(now, port_ref);
            }
            GainingState::Refused { .. }
            | GainingState::AwaitWithdrawReply { .. }
            | GainingState::AwaitReturnReply { .. }
            | GainingState::Rejected { .. }
            | GainingState::Expired { .. }
            | GainingState::Withdrawn
            | GainingState::Returned
            | GainingState::Unanswered { .. } => {}
        }
    }

    pub(super) fn ask_return(&mut self, now: Timestamp, port_ref: PortRef) {
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
            m.numbers = lnp_model::Numbers::from_slice(&p.req.numbers);
            self.send(now, losing, m);
        }
    }

    pub(super) fn give_back(&mut self, now: Timestamp, number: TelephoneNumber, donor: CarrierCode) {
        if !self.services.remove(number) {
            return;
        }
        let mut m = Message {
            kind: MsgKind::GiveBack,
            port_ref: None,
            category: None,
            numbers: lnp_model::Numbers::from_slice(&[number]),
            code: Code::None,
            detail: Detail::default(),
        };
        m.detail.current = Some(donor);
        self.act(now, m);
    }

    fn after_hours_with(&self, losing: CarrierCode) -> bool {
        self.config.agreements.get(&losing).is_some_and(|a| a.after_hours)
    }

    /// Gaining carrier: answers to what it sent.
    pub(super) fn on_answer(&mut self, now: Timestamp, from: CarrierCode, port_ref: PortRef, m: &Message) {
        // An `accept` fault on SNA_REJECT: the gaining carrier carries on as if confirmed.
        let ignore_reject = m.kind == MsgKind::SnaReject
            && self.gaining.contains_key(&port_ref)
            && self.take_fault_exact(MsgKind::SnaReject, FaultAction::Accept).is_some();
        let Some(p) = self.gaining.get(&port_ref) else {
            self.unexpected_msg(
                from,
                m.kind,
                Some(port_ref),
                "no port of this carrier has this reference".into(),
            );
            return;
        };
        let kind = if ignore_reject { MsgKind::SnaConfirm } else { m.kind };
        let after_hours = self.after_hours_with(p.req.losing);
        let state = p.state.clone();
        let duties = Duties::new(&self.rulebook, &self.calendar);
        let Some(p) = self.gaining.get_mut(&port_ref) else {
            return;
        };
        match (kind, state) {
            (MsgKind::SnaConfirm, GainingState::AwaitSnaReply) => {
                let eca_at = duties.compliant_send_time(p.req.cutover.max(now), after_hours);
                p.confirmed_at = Some(now);
                p.state = GainingState::AwaitEcaTime {
                    confirmed_at: now,
                    eca_at,
                };
                let wanted = self.gaining.get(&port_ref).is_some_and(|p| p.withdraw_wanted);
                if wanted {
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
                if code == Some(RejectCode::DAILY_CAP) && p.cap_retries < MAX_CAPACITY_RETRIES {
                    // DAILY-CAP: try again on the next business day, in Standard Hours.
                    p.cap_retries += 1;
                    let local_time = p.req.cutover.sydney_naive().time();
                    let eca_at = duties.capacity_retry(now.sydney_date(), local_time, after_hours);
                    p.state = GainingState::AwaitEcaTime {
                        confirmed_at: p.confirmed_at.unwrap_or(now),
                        eca_at,
                    };
                    self.plan_eca(port_ref);
                } else if code == Some(RejectCode::SNA_EXPIRED) {
                    p.state = GainingState::Expired { code: m.code.clone() };
                } else if code == Some(RejectCode::OUTSIDE_HOURS) {
                    // CUTOVER-HOURS: no retry by itself; the confirmation lapses unless the
                    // story asks for something new.
                    let confirmed_at = p.confirmed_at.unwrap_or(now);
                    p.state = GainingState::AwaitLapse {
                        confirmed_at,
                        code: m.code.clone(),
                    };
                    let lapse = duties.sna_lapse(confirmed_at);
                    self.schedule(lapse, Job::GainingLapse { port_ref, confirmed_at });
                } else {
                    p.state = GainingState::Rejected { code: m.code.clone() };
                }
            }
            (MsgKind::Completion, GainingState::AwaitCompletion | GainingState::AwaitEcaReply) => {
                p.state = GainingState::Completed { cutover_at: now };
                p.hold_services(&mut self.services, ServiceKind::Simple);
            }
            (MsgKind::RetargetConfirm | MsgKind::RetargetReject, GainingState::AwaitCutover { agreed }) => {
                if kind == MsgKind::RetargetConfirm {
                    let new_at = m.detail.cutover.unwrap_or(agreed);
                    p.gen += 1;
                    p.state = GainingState::AwaitCutover { agreed: new_at };
                    let gen = p.gen;
                    self.schedule(new_at, Job::CatCDone { port_ref, gen });
                }
                self.next_complex_retarget(now, port_ref);
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
            (MsgKind::RetargetConfirm | MsgKind::RetargetReject, GainingState::AwaitWithdrawReply { before }) => {
                // The re-target was answered while the withdrawal is out: should the withdrawal
                // be refused, the port goes on with the cutover this answer fixed.
                if let (MsgKind::RetargetConfirm, GainingState::AwaitEcaTime { confirmed_at, .. }) = (kind, &*before) {
                    let eca_at = m.detail.cutover.unwrap_or(now);
                    p.state = GainingState::AwaitWithdrawReply {
                        before: Box::new(GainingState::AwaitEcaTime {
                            confirmed_at: *confirmed_at,
                            eca_at,
                        }),
                    };
                }
                p.retargets_sent = p.req.retargets.len();
            }
            (MsgKind::WithdrawReject, GainingState::AwaitWithdrawReply { before }) => {
                // Too late (107): the port goes on where it was.
                let before = *before;
                let cca = match &before {
                    GainingState::AwaitCcaTime { send_at, .. } => Some(*send_at),
                    _ => None,
                };
                let eca = matches!(before, GainingState::AwaitEcaTime { .. });
                p.state = before;
                if let Some(at) = cca {
                    self.schedule(at.max(now), Job::SendCca(port_ref));
                } else if eca {
                    self.plan_eca(port_ref);
                }
            }
            (MsgKind::WithdrawReject, _) => {}
            (MsgKind::ReversalConfirm | MsgKind::EmergencyReturnConfirm, GainingState::AwaitReturnReply { .. }) => {
                p.state = GainingState::Returned;
                for n in p.req.numbers.clone() {
                    self.services.remove(n);
                }
            }
            (
                MsgKind::ReversalReject | MsgKind::EmergencyReturnReject,
                GainingState::AwaitReturnReply { cutover_at },
            ) => {
                p.state = GainingState::Completed { cutover_at };
            }
            (_, state) => {
                let stage = state.stage();
                self.unexpected_msg(from, m.kind, Some(port_ref), stage);
            }
        }
    }

    /// After a confirmation: send the customer's next re-target, the withdrawal the customer
    /// asked for meanwhile, or schedule the ECA.
    pub(super) fn next_retarget_or_eca(&mut self, now: Timestamp, port_ref: PortRef) {
        let Some(p) = self.gaining.get(&port_ref) else {
            return;
        };
        let GainingState::AwaitEcaTime { confirmed_at, eca_at } = p.state else {
            return;
        };
        if p.withdraw_wanted {
            self.withdraw(now, port_ref);
            return;
        }
        let after_hours = self.after_hours_with(p.req.losing);
        let wanted = p.req.retargets.get(p.retargets_sent).copied();
        if let Some(wanted) = wanted {
            let new_at = self.duties().compliant_send_time(wanted.max(now), after_hours);
            let Some(p) = self.gaining.get_mut(&port_ref) else {
                return;
            };
            p.retargets_sent += 1;
            p.state = GainingState::AwaitRetargetReply { confirmed_at, eca_at };
            let losing = p.req.losing;
            let mut m = Message::new(MsgKind::Retarget, port_ref);
            m.category = Some(p.req.category);
            m.numbers = lnp_model::Numbers::from_slice(&p.req.numbers);
            m.detail.cutover = Some(new_at);
            self.send(now, losing, m);
        } else {
            self.plan_eca(port_ref);
        }
    }

    /// Schedules the ECA of a confirmed port at its time, or, where that time is past the
    /// confirmation's validity, its lapse instead (`SNA-VALIDITY`: a compliant gaining carrier
    /// sends no ECA that must be rejected with `101`).
    pub(super) fn plan_eca(&mut self, port_ref: PortRef) {
        let Some(p) = self.gaining.get(&port_ref) else { return };
        let GainingState::AwaitEcaTime { confirmed_at, eca_at } = p.state else {
            return;
        };
        let duties = self.duties();
        if eca_at > duties.sna_valid_until(confirmed_at) {
            let lapse = duties.sna_lapse(confirmed_at);
            self.schedule(lapse, Job::GainingLapse { port_ref, confirmed_at });
        } else {
            self.schedule(eca_at, Job::SendEca(port_ref));
        }
    }
}
