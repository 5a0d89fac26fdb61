//! Cat C: PNV, CNA, CCA and the cutover at the agreed time (clauses 4.3 and 4.4).

use lnp_model::{
    Category, Code, Message, MsgKind, NumberCode, PnvReject, PnvResponse, PortRef, RejectCode, TelephoneNumber,
    Timestamp, WholeCode,
};

use super::{sanitize, Carrier, GainingState, Job, LosingState, Output, Received, Task};
use crate::config::{PortRequest, ServiceKind};
use lnp_model::duty::MAX_CAPACITY_RETRIES;
use lnp_model::CarrierCode;
use lnp_model::Duties;

impl Carrier {
    /// Gaining carrier: start a Cat C port, with a PNV first when asked.
    pub(super) fn submit_complex(&mut self, now: Timestamp, req: PortRequest) {
        let port_ref = req.port_ref;
        let kind = if req.pnv { MsgKind::Pnv } else { MsgKind::Cna };
        let state = if req.pnv {
            GainingState::AwaitPnvReply
        } else {
            GainingState::AwaitCnaReply
        };
        let m = self.complex_request(kind, &req, &req.numbers);
        let losing = req.losing;
        self.gaining.insert(port_ref, super::GainingPort::new(req, state));
        self.send(now, losing, m);
    }

    fn complex_request(&self, kind: MsgKind, req: &PortRequest, numbers: &[TelephoneNumber]) -> Message {
        let mut m = Message::new(kind, req.port_ref);
        m.category = Some(Category::C);
        m.numbers = lnp_model::Numbers::from_slice(numbers);
        m.detail.ca_date = Some(req.ca_date);
        m.detail.cutover = (kind == MsgKind::Cna).then_some(req.cutover);
        m.detail.set_account(Some(req.account.clone()));
        m.detail
            .set_pm((kind == MsgKind::Cna).then(|| sanitize(&format!("{} porting PM", self.config.name))));
        if !req.customer.is_empty() {
            m.detail.push_extra("customer".into(), sanitize(&req.customer));
        }
        m
    }

    /// The PNV reject code for one number, if it cannot be ported (clause 4.3.8).
    pub(super) fn number_problem(
        &self,
        at: Timestamp,
        n: TelephoneNumber,
        customer: Option<&str>,
    ) -> Result<PnvResponse, PnvReject> {
        if self.quarantined(n, at) {
            return Err(PnvReject::NOT_FOUND);
        }
        let Some(service) = self.service_of(n) else {
            return Err(if self.owns_range(n) {
                PnvReject::OTHER_PROVIDER
            } else {
                PnvReject::NOT_FOUND
            });
        };
        if let Some(c) = customer {
            // Both sides in the form a detail value carries (`detail_text`): a name with `;`,
            // `=` or a line break still matches itself.
            let held = sanitize(service.customer);
            if !held.is_empty() && !held.eq_ignore_ascii_case(&sanitize(c)) {
                return Err(PnvReject::DIFFERENT_CUSTOMER);
            }
        }
        match service.kind {
            ServiceKind::Cancelled | ServiceKind::PendingCancellation => Err(PnvReject::CANCELLED),
            ServiceKind::Complex => Ok(PnvResponse::Prime),
            ServiceKind::Simple => Ok(PnvResponse::Standalone),
        }
    }

    /// The ground to reject a whole PNV or CNA received at `now`, if any.
    fn whole_problem(&self, now: Timestamp, m: &Message) -> Option<PnvReject> {
        match (m.detail.ca_date, m.detail.account()) {
            (Some(ca), Some(acc)) if !acc.is_empty() => self.duties().ca_stale(ca, now).then_some(PnvReject::CA_DATE),
            (None, _) => Some(PnvReject::CA_DATE),
            _ => Some(PnvReject::INSUFFICIENT_INFO),
        }
    }

    pub(super) fn customer_of(m: &Message) -> Option<&str> {
        m.detail
            .extra()
            .iter()
            .find(|(k, _)| k == "customer")
            .map(|(_, v)| v.as_str())
    }

    /// Losing carrier: answer a PNV with a code per number, adding associated numbers of the
    /// same account that the request did not list.
    pub(super) fn on_pnv(
        &mut self,
        now: Timestamp,
        at: Timestamp,
        from: CarrierCode,
        m: &Message,
        forced: Option<RejectCode>,
    ) {
        let Some(port_ref) = m.port_ref else { return };
        let mut reply = Message::new(MsgKind::PnvResponse, port_ref);
        reply.category = Some(Category::C);
        // A `reject` fault answers the whole request with its code, whatever it is (a code 3-7,
        // which rejects one number only, or a code that is no PNV code at all, breaks PNV-CODES).
        let whole = forced
            .map(|c| {
                u8::try_from(c.get())
                    .ok()
                    .and_then(PnvReject::new)
                    .map_or(WholeCode::Reject(c), WholeCode::Pnv)
            })
            .or_else(|| self.whole_problem(now, m).map(WholeCode::Pnv));
        if let Some(whole) = whole {
            reply.numbers.clone_from(&m.numbers);
            reply.code = Code::Whole(whole);
        } else {
            let customer = Self::customer_of(m);
            let mut pairs = Vec::new();
            for n in &m.numbers {
                let code = match self.number_problem(now, *n, customer) {
                    Ok(r) => NumberCode::Response(r),
                    Err(r) => NumberCode::Reject(r),
                };
                pairs.push((*n, code));
            }
            let account = m.detail.account().unwrap_or("");
            if !account.is_empty() {
                // The associated numbers are listed in number order, whatever the map keeps.
                let mut associated: Vec<TelephoneNumber> = self
                    .services
                    .iter()
                    .filter(|(n, s)| s.account == account && !m.numbers.contains(n))
                    .map(|(n, _)| n)
                    .collect();
                associated.sort_unstable();
                pairs.extend(
                    associated
                        .into_iter()
                        .map(|n| (n, NumberCode::Response(PnvResponse::Associated))),
                );
            }
            reply.numbers = pairs.iter().map(|(n, _)| *n).collect();
            reply.code = Code::PerNumber(pairs);
        }
        self.send(at, from, reply);
    }

    /// Losing carrier: receipt, then confirmation or rejection of the whole batch, judged as it
    /// stood when the CNA was received (`now`).
    pub(super) fn on_cna(&mut self, r: &Received<'_>) {
        let Received {
            now,
            at,
            from,
            port_ref,
            m,
            accept,
            forced,
            ..
        } = *r;
        let mut receipt = Message::new(MsgKind::CnaReceipt, port_ref);
        receipt.category = Some(Category::C);
        receipt.numbers.clone_from(&m.numbers);
        self.send(at, from, receipt);
        // The losing project manager reviews the batch: the answer follows the receipt.
        let answer_at = at.plus_millis(60_000);
        let mut bad: Vec<(TelephoneNumber, NumberCode)> = Vec::new();
        if !accept {
            if forced.is_some() {
                bad = m
                    .numbers
                    .iter()
                    .map(|n| (*n, NumberCode::Reject(PnvReject::INSUFFICIENT_INFO)))
                    .collect();
            } else if let Some(whole) = self.whole_problem(now, m) {
                bad = m.numbers.iter().map(|n| (*n, NumberCode::Reject(whole))).collect();
            } else {
                let customer = Self::customer_of(m);
                for n in &m.numbers {
                    if let Err(r) = self.number_problem(now, *n, customer) {
                        bad.push((*n, NumberCode::Reject(r)));
                    }
                }
            }
        }
        if !bad.is_empty() {
            let mut rej = Message::new(MsgKind::CnaReject, port_ref);
            rej.category = Some(Category::C);
            rej.numbers = bad.iter().map(|(n, _)| *n).collect();
            rej.code = Code::PerNumber(bad);
            self.send(answer_at, from, rej);
            return;
        }
        self.open_losing(port_ref, from, Category::C, &m.numbers, LosingState::AwaitCca, true);
        let mut ok = Message::new(MsgKind::CnaConfirm, port_ref);
        ok.category = Some(Category::C);
        ok.numbers.clone_from(&m.numbers);
        ok.detail
            .set_pm(Some(sanitize(&format!("{} porting PM", self.config.name))));
        self.send(answer_at, from, ok);
        self.notify_pending(answer_at, port_ref, Category::C, &m.numbers, from, None);
    }

    /// Losing carrier: the agreed cutover (clause 4.4.27).
    pub(super) fn on_cca(&mut self, r: &Received<'_>) {
        let Received {
            at,
            from,
            port_ref,
            m,
            accept,
            forced,
            ..
        } = *r;
        let cutover_at = m.detail.cutover.unwrap_or(at);
        let state = self
            .losing
            .get(&port_ref)
            .filter(|p| p.gaining == from)
            .map(|p| p.state);
        let problem = forced.or_else(|| {
            if accept {
                return None;
            }
            if state != Some(LosingState::AwaitCca) {
                return Some(RejectCode::CCA_WITHOUT_CNA);
            }
            let after_hours = self.agreement(from).is_some_and(|a| a.after_hours);
            if !self.duties().cutover_allowed(cutover_at, after_hours) {
                return Some(RejectCode::OUTSIDE_HOURS);
            }
            let used = self.cap_used.get(&cutover_at.sydney_date()).map_or(0, |c| c.0);
            (!lnp_model::duty::capacity_left(used, self.config.daily_cap)).then_some(RejectCode::DAILY_CAP)
        });
        let mut reply = Message::new(
            if problem.is_some() {
                MsgKind::CcaReject
            } else {
                MsgKind::CcaConfirm
            },
            port_ref,
        );
        reply.category = Some(Category::C);
        reply.numbers.clone_from(&m.numbers);
        reply.detail.cutover = Some(cutover_at);
        if let Some(c) = problem {
            reply.code = Code::whole(c);
            let at = if c == RejectCode::DAILY_CAP {
                self.cap_reject_at(cutover_at.sydney_date(), at)
            } else {
                at
            };
            self.send(at, from, reply);
            return;
        }
        self.use_capacity(cutover_at.sydney_date(), at);
        self.send(at, from, reply);
        if !self.losing.contains_key(&port_ref) {
            // Accepted without a confirmed CNA (an `accept` fault): the port exists from here.
            self.open_losing(port_ref, from, Category::C, &m.numbers, LosingState::AwaitCca, false);
        }
        let numbers = self
            .losing
            .get(&port_ref)
            .map(|p| p.numbers.clone())
            .unwrap_or_default();
        self.notify_pending(at, port_ref, Category::C, &numbers, from, Some(cutover_at));
        if let Some(p) = self.losing.get_mut(&port_ref) {
            p.state = LosingState::CcaConfirmed { cutover_at, gen: 0 };
        }
        self.schedule(cutover_at, Job::CatCCutover { port_ref, gen: 0 });
    }

    /// Losing carrier: every number of the batch leaves at the agreed time.
    pub(super) fn complex_cutover(&mut self, at: Timestamp, port_ref: PortRef, gen: u32, shifted: bool) {
        let Some(p) = self.losing.get(&port_ref) else { return };
        match p.state {
            LosingState::CcaConfirmed { gen: g, .. } if g == gen => {}
            _ => return,
        }
        let gaining = p.gaining;
        let mut m = Message::new(MsgKind::Cca, port_ref);
        m.category = Some(Category::C);
        m.numbers = lnp_model::Numbers::from_slice(&p.numbers);
        // A job that a `shift` fault already moved must not be moved again when it acts.
        self.no_shift = shifted;
        self.cut_over(at, gaining, port_ref, &m);
        self.no_shift = false;
    }

    /// Gaining carrier: answers in the Cat C flow.
    pub(super) fn on_complex_answer(&mut self, now: Timestamp, from: CarrierCode, port_ref: PortRef, m: &Message) {
        // An `accept` fault on CNA_REJECT: the gaining carrier carries on as if confirmed.
        let ignore_reject = m.kind == MsgKind::CnaReject
            && self.gaining.contains_key(&port_ref)
            && self
                .take_fault_exact(MsgKind::CnaReject, crate::config::FaultAction::Accept)
                .is_some();
        let duties = Duties::new(&self.rulebook, &self.calendar);
        let Some(p) = self.gaining.get_mut(&port_ref) else {
            self.unexpected_msg(
                from,
                m.kind,
                Some(port_ref),
                "no port of this carrier has this reference".into(),
            );
            return;
        };
        let after_hours = self.config.agreements.get(&p.req.losing).is_some_and(|a| a.after_hours);
        let kind = if ignore_reject { MsgKind::CnaConfirm } else { m.kind };
        match (kind, p.state.clone()) {
            (MsgKind::PnvResponse, GainingState::AwaitPnvReply) => {
                let keep: Vec<TelephoneNumber> = match &m.code {
                    Code::PerNumber(pairs) => pairs
                        .iter()
                        .filter(|(_, c)| matches!(c, NumberCode::Response(_)))
                        .map(|(n, _)| *n)
                        .collect(),
                    _ => Vec::new(),
                };
                if keep.is_empty() {
                    p.state = GainingState::Rejected { code: m.code.clone() };
                    return;
                }
                if p.withdraw_wanted {
                    // Withdrawn during the validation: nothing is pending at the losing carrier,
                    // and the withdrawal it is sent is confirmed.
                    p.state = GainingState::AwaitWithdrawReply {
                        before: Box::new(GainingState::AwaitPnvReply),
                    };
                    self.send_withdraw(now, port_ref);
                    return;
                }
                p.req.numbers = keep;
                p.state = GainingState::AwaitCnaReply;
                let losing = p.req.losing;
                let req = p.req.clone();
                let cna = self.complex_request(MsgKind::Cna, &req, &req.numbers);
                self.send(now, losing, cna);
            }
            (MsgKind::CnaReceipt, _) => {}
            (MsgKind::CnaReject, GainingState::AwaitCnaReply) => {
                p.state = GainingState::Rejected { code: m.code.clone() }
            }
            (MsgKind::CnaConfirm, GainingState::AwaitCnaReply) => {
                // The project managers agree the cutover (`Duties::cat_c_agreed_cutover`), and
                // the CCA goes a business day after the confirmation.
                let agreed = duties.cat_c_agreed_cutover(now, p.req.cutover, after_hours);
                let send_at = duties.cca_send_time(now);
                p.confirmed_at = Some(now);
                p.state = GainingState::AwaitCcaTime { send_at, agreed };
                if p.withdraw_wanted {
                    self.withdraw(now, port_ref);
                    return;
                }
                self.schedule(send_at, Job::SendCca(port_ref));
            }
            (MsgKind::CcaConfirm, GainingState::AwaitCcaReply { agreed }) => {
                p.gen += 1;
                let gen = p.gen;
                p.state = GainingState::AwaitCutover { agreed };
                self.schedule(agreed, Job::CatCDone { port_ref, gen });
                self.next_complex_retarget(now, port_ref);
            }
            (MsgKind::CcaReject, GainingState::AwaitCcaReply { agreed }) => {
                if m.code.reject_code() == Some(RejectCode::DAILY_CAP) && p.cap_retries < MAX_CAPACITY_RETRIES {
                    // DAILY-CAP: agree the next business day, same time, and send a new CCA.
                    p.cap_retries += 1;
                    let new_at = duties.capacity_retry(agreed.sydney_date(), agreed.sydney_naive().time(), after_hours);
                    p.state = GainingState::AwaitCcaTime {
                        send_at: now,
                        agreed: new_at,
                    };
                    self.schedule(now, Job::SendCca(port_ref));
                } else {
                    p.state = GainingState::Rejected { code: m.code.clone() };
                }
            }
            (_, state) => {
                let stage = state.stage();
                self.unexpected_msg(from, m.kind, Some(port_ref), stage);
            }
        }
    }

    /// Cat C: send the CCA for the agreed time.
    pub(super) fn send_cca(&mut self, at: Timestamp, port_ref: PortRef, shifted: bool) {
        let Some(p) = self.gaining.get_mut(&port_ref) else {
            return;
        };
        let GainingState::AwaitCcaTime { agreed, .. } = p.state else {
            return;
        };
        p.state = GainingState::AwaitCcaReply { agreed };
        let mut m = Message::new(MsgKind::Cca, port_ref);
        m.category = Some(Category::C);
        m.numbers = lnp_model::Numbers::from_slice(&p.req.numbers);
        m.detail.cutover = Some(agreed);
        let losing = p.req.losing;
        self.push_task(at, Task::Emit(Output::send(self.code, losing, m)), shifted);
    }

    /// Cat C re-targets come after the CCA is confirmed.
    pub(super) fn next_complex_retarget(&mut self, now: Timestamp, port_ref: PortRef) {
        let Some(p) = self.gaining.get_mut(&port_ref) else {
            return;
        };
        let Some(wanted) = p.req.retargets.get(p.retargets_sent).copied() else {
            return;
        };
        p.retargets_sent += 1;
        let after_hours = self.config.agreements.get(&p.req.losing).is_some_and(|a| a.after_hours);
        let new_at = Duties::new(&self.rulebook, &self.calendar).cat_c_retarget_cutover(now, wanted, after_hours);
        let losing = p.req.losing;
        let mut m = Message::new(MsgKind::Retarget, port_ref);
        m.category = Some(Category::C);
        m.numbers = lnp_model::Numbers::from_slice(&p.req.numbers);
        m.detail.cutover = Some(new_at);
        self.send(now, losing, m);
    }
}
