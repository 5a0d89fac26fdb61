//! What a carrier does later: each job on the agenda runs here, at the time its rule set.

use lnp_model::{Message, MsgKind, RuleId, Timestamp};

use super::{Carrier, GainingState, Job, LosingState, Output, Task};
use crate::config::ServiceKind;

impl Carrier {
    #[allow(
        clippy::needless_pass_by_value,
        reason = "a job is consumed by running it; most variants are Copy-sized"
    )]
    pub(super) fn run_job(&mut self, at: Timestamp, job: Job, shifted: bool) {
        match job {
            Job::SendEca(port_ref) => {
                let Some(p) = self.gaining.get_mut(&port_ref) else {
                    return;
                };
                if !matches!(p.state, GainingState::AwaitEcaTime { .. }) {
                    return;
                }
                p.state = GainingState::AwaitEcaReply;
                let mut m = Message::new(MsgKind::Eca, port_ref);
                m.category = Some(p.req.category);
                m.numbers = lnp_model::Numbers::from_slice(&p.req.numbers);
                let losing = p.req.losing;
                self.push_task(at, Task::Emit(Output::send(self.code, losing, m)), shifted);
                let deadline = self.duties().patience(MsgKind::Eca, at).unwrap_or(at);
                self.schedule(
                    deadline,
                    Job::AnswerDeadline {
                        port_ref,
                        rule: RuleId::EcaResponse,
                        awaiting: MsgKind::Eca,
                    },
                );
            }
            Job::SendCca(port_ref) => self.send_cca(at, port_ref, shifted),
            Job::DtrStart { number, port_ref, gen } => self.announced_dtr_start(at, number, port_ref, gen, shifted),
            Job::DtrStop { number, port_ref } => {
                if !self.dtr_running.remove(&(number, port_ref)) {
                    return; // ended already (a return, a give back)
                }
                let e = self.donor.get(number);
                let mut m = Message::new(MsgKind::DtrStop, port_ref);
                m.category = e.map(|e| e.category);
                m.numbers = lnp_model::Numbers::from_slice(&[number]);
                m.detail.current = e.map(|e| e.current);
                self.push_task(at, Task::Emit(Output::action(m)), shifted);
            }
            Job::PlnrPublish { number, rec } => {
                let code = self.refs.code(rec.port_ref);
                if let Some(e) = self.donor.get_mut(number) {
                    if e.port_ref == code && e.status == rec.status {
                        e.published = true;
                    }
                }
                // One file per publication instant: everything published at once is one update.
                let seq = match self.plnr_file {
                    Some((t, s)) if t == at => s,
                    Some((_, s)) => s + 1,
                    None => 1,
                };
                self.plnr_file = Some((at, seq));
                let mut m = Message::new(MsgKind::PlnrPublish, rec.port_ref);
                m.category = Some(rec.category);
                m.numbers = lnp_model::Numbers::from_slice(&[number]);
                m.detail.status = Some(rec.status);
                m.detail.current = Some(rec.current);
                m.detail.file_seq = Some(seq);
                m.detail.losing = Some(rec.losing);
                // Only where it differs from the publication (a completed record: the cutover).
                if rec.effective != Timestamp::default() && rec.effective != at {
                    m.detail.effective = Some(rec.effective);
                }
                self.push_task(at, Task::Emit(Output::action(m)), shifted);
            }
            Job::LosingLapses => self.run_lapses(at),
            Job::GainingLapse { port_ref, confirmed_at } => {
                let Some(p) = self.gaining.get_mut(&port_ref) else {
                    return;
                };
                if p.confirmed_at != Some(confirmed_at) {
                    return;
                }
                match &p.state {
                    GainingState::AwaitEcaTime { .. } => {
                        p.state = GainingState::Expired {
                            code: lnp_model::Code::None,
                        };
                    }
                    GainingState::AwaitLapse { code, .. } => {
                        p.state = GainingState::Expired { code: code.clone() };
                    }
                    _ => return,
                }
                self.settle(port_ref);
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
                    p.hold_services(&mut self.services, ServiceKind::Complex);
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
                        tracing::info!(%at, carrier = %self.code, port = %port_ref, %rule, "timer fired: no SNA answer");
                        p.state = GainingState::Unanswered { rule };
                        let losing = p.req.losing;
                        let mut m = Message::new(MsgKind::Withdraw, port_ref);
                        m.category = Some(p.req.category);
                        m.numbers = lnp_model::Numbers::from_slice(&p.req.numbers);
                        m.detail.set_reason(Some(format!(
                            "no answer to the SNA within {}",
                            self.rulebook.sna_response.describe()
                        )));
                        self.send(at, losing, m);
                    }
                    (GainingState::AwaitEcaReply, MsgKind::Eca) => {
                        // ECA-RESPONSE has passed; the gaining carrier keeps waiting (it cannot
                        // withdraw after the ECA), and the audit of the trace shows the breach.
                        tracing::info!(%at, carrier = %self.code, port = %port_ref, %rule, "timer fired: no ECA answer yet");
                    }
                    _ => {}
                }
            }
        }
    }
}
