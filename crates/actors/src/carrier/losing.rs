//! The losing carrier: it judges each request at the instant it receives it, answers within the
//! rule's time, cuts over, and tells the donor of a third-party port (clauses 4.2 and 4.4).
//!
//! Every ground and window comes from [`lnp_model::Duties`], the same functions the audit
//! judges the trace with.

use std::collections::BTreeMap;

use lnp_model::{
    CarrierCode, Category, Code, Duties, Message, MsgKind, PnvReject, PnvResponse, PortRef, PortStatus, RejectCode,
    TelephoneNumber, Timestamp,
};

use super::{Carrier, Job, LosingPort, LosingState, Output, Received};

impl Carrier {
    pub(super) fn reply(
        &mut self,
        at: Timestamp,
        to: CarrierCode,
        kind: MsgKind,
        req: &Message,
        code: Option<RejectCode>,
    ) {
        let Some(port_ref) = req.port_ref else { return };
        let mut m = Message::new(kind, port_ref);
        m.category = req.category;
        m.numbers.clone_from(&req.numbers);
        if let Some(c) = code {
            m.code = Code::whole(c);
        }
        self.send(at, to, m);
    }

    /// Losing carrier: validate an SNA received at `now` (clause 4.2.4) and confirm or reject it
    /// at `at`. Grounds are judged at receipt.
    pub(super) fn on_sna(&mut self, r: &Received<'_>) {
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
        let code = forced.or_else(|| if accept { None } else { self.sna_problem(now, m) });
        if let Some(code) = code {
            self.reply(at, from, MsgKind::SnaReject, m, Some(code));
            return;
        }
        let category = m.category.unwrap_or(Category::A);
        self.open_losing(
            port_ref,
            from,
            category,
            &m.numbers,
            LosingState::AwaitEca { confirmed_at: at },
            true,
        );
        if let Some(p) = self.losing.get_mut(&port_ref) {
            p.received_at = now;
        }
        self.reply(at, from, MsgKind::SnaConfirm, m, None);
        let lapse = self.duties().sna_lapse(at);
        self.watch_lapse(lapse, port_ref, at);
        self.notify_pending(at, port_ref, category, &m.numbers, from, None);
    }

    /// Losing carrier: once it has confirmed a port, it tells the donors that the port is
    /// pending (`DONOR-NOTIFY` status `P`), and tells them again whenever the cutover instant is
    /// fixed or moves (`cutover=`). As donor of some of the numbers itself, it notes the pending
    /// port in its own register.
    pub(super) fn notify_pending(
        &mut self,
        at: Timestamp,
        port_ref: PortRef,
        category: Category,
        numbers: &[TelephoneNumber],
        gaining: CarrierCode,
        cutover: Option<Timestamp>,
    ) {
        if let Some(p) = self.losing.get_mut(&port_ref) {
            let news = !p.notified || (cutover.is_some() && p.notified_cutover != cutover);
            if !news {
                return;
            }
            p.notified = true;
            if cutover.is_some() {
                p.notified_cutover = cutover;
            }
        }
        let code = self.code;
        self.donor_pending(at, gaining, code, port_ref, category, numbers);
        self.notify_donors(at, port_ref, category, numbers, PortStatus::P, gaining, cutover);
    }

    /// Losing carrier: a confirmed port that will not proceed (withdrawn, lapsed, its SNA
    /// expired) is closed, and donors told of it as pending hear that it did not proceed (`N`).
    pub(super) fn abandon_losing(&mut self, at: Timestamp, port_ref: PortRef) {
        let Some(p) = self.losing.get(&port_ref) else { return };
        let (notified, category, numbers) = (p.notified, p.category, p.numbers.clone());
        self.close_losing(port_ref);
        self.donor_not_proceeded(at, port_ref, &numbers);
        if notified {
            let code = self.code;
            self.notify_donors(at, port_ref, category, &numbers, PortStatus::N, code, None);
        }
    }

    /// Whether the confirmation of `port_ref` at `confirmed_at` still waits for its ECA.
    fn awaits_eca(&self, port_ref: PortRef, confirmed_at: Timestamp) -> bool {
        matches!(
            self.losing.get(&port_ref).map(|p| p.state),
            Some(LosingState::AwaitEca { confirmed_at: c }) if c == confirmed_at
        )
    }

    /// Notes a confirmation that lapses at `lapse` unless an ECA follows.
    fn watch_lapse(&mut self, lapse: Timestamp, port_ref: PortRef, confirmed_at: Timestamp) {
        // Confirmations come in time order, so this is nearly always the back, and the back is
        // looked at before the deque is searched (a search walks cold lines of a long deque).
        if self.lapses.back().is_none_or(|(t, _, _)| *t <= lapse) {
            self.lapses.push_back((lapse, port_ref, confirmed_at));
        } else {
            let pos = self.lapses.partition_point(|(t, _, _)| *t <= lapse);
            self.lapses.insert(pos, (lapse, port_ref, confirmed_at));
        }
        if self.lapse_job_at.is_none_or(|t| lapse < t) {
            self.lapse_job_at = Some(lapse);
            self.schedule(lapse, Job::LosingLapses);
        }
    }

    /// `SNA-VALIDITY`: every confirmation due by `at` with no ECA lapses (the port ends and its
    /// number is free); those that went on to an ECA are dropped; the job waits again for the
    /// first one still unanswered.
    pub(super) fn run_lapses(&mut self, at: Timestamp) {
        if self.lapse_job_at.is_some_and(|t| t > at) {
            return; // a job for an earlier head that no longer exists
        }
        self.lapse_job_at = None;
        while let Some(&(lapse, port_ref, confirmed_at)) = self.lapses.front() {
            let waiting = self.awaits_eca(port_ref, confirmed_at);
            if waiting && lapse > at {
                self.lapse_job_at = Some(lapse);
                self.schedule(lapse, Job::LosingLapses);
                return;
            }
            self.lapses.pop_front();
            if waiting {
                self.abandon_losing(at, port_ref);
                self.lapsed.insert(port_ref);
            }
        }
    }

    /// Losing carrier: a port it has confirmed (SNA or CNA), remembering the services as they
    /// are so that a reversal can restore them. `mark_pending` makes its numbers count for
    /// `PORT-PENDING`.
    pub(super) fn open_losing(
        &mut self,
        port_ref: PortRef,
        gaining: CarrierCode,
        category: Category,
        numbers: &[TelephoneNumber],
        state: LosingState,
        mark_pending: bool,
    ) {
        let services = numbers
            .iter()
            .map(|n| (*n, self.services.get(*n).map(super::services::ServiceRef::to_service)))
            .collect();
        if mark_pending {
            self.pending.extend(numbers.iter().copied());
        }
        let port = LosingPort {
            gaining,
            category,
            numbers: numbers.to_vec(),
            state,
            services,
            retargets: 0,
            notified: false,
            notified_cutover: None,
            received_at: Timestamp::default(),
        };
        self.losing.insert(port_ref, port);
    }

    /// The ground to reject an SNA received at `now`, if any.
    pub(super) fn sna_problem(&self, now: Timestamp, m: &Message) -> Option<RejectCode> {
        let Some(ca) = m.detail.ca_date else {
            return Some(RejectCode::INSUFFICIENT_INFO);
        };
        if self.duties().ca_stale(ca, now) {
            return Some(RejectCode::CA_INVALID);
        }
        if m.numbers.len() != 1 {
            return Some(RejectCode::INSUFFICIENT_INFO);
        }
        let n = m.numbers[0];
        // The same validation as a PNV's (clause 4.3.8), answered with the SNA's reject codes.
        match self.number_problem(now, n, Self::customer_of(m)) {
            Ok(PnvResponse::Standalone) => {}
            Ok(_) => return Some(RejectCode::COMPLEX_SERVICE),
            Err(PnvReject::OTHER_PROVIDER) => return Some(RejectCode::NOT_WITH_LOSING),
            Err(PnvReject::DIFFERENT_CUSTOMER) => return Some(RejectCode::DIFFERENT_CUSTOMER),
            Err(PnvReject::CANCELLED) => return Some(RejectCode::CANCELLED),
            Err(_) => return Some(RejectCode::NOT_FOUND),
        }
        if self.pending.contains(&n) {
            return Some(RejectCode::PORT_PENDING);
        }
        None
    }

    /// Losing carrier: check an ECA received at `now` (clauses 4.2.27, 4.2.32) and cut over at
    /// `at`.
    pub(super) fn on_eca(&mut self, r: &Received<'_>) {
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
        let problem = forced.or_else(|| {
            if accept {
                None
            } else {
                self.eca_problem(now, from, port_ref, m)
            }
        });
        if let Some(code) = problem {
            let at = if code == RejectCode::DAILY_CAP {
                self.cap_reject_at(now.sydney_date(), at)
            } else {
                at
            };
            self.reply(at, from, MsgKind::EcaReject, m, Some(code));
            // 101 and 102 end the port: the confirmation is gone (or never was).
            if matches!(code, RejectCode::SNA_EXPIRED | RejectCode::NO_VALID_SNA) {
                self.abandon_losing(at, port_ref);
            }
            return;
        }
        // Judged inside Standard Hours at receipt: the confirmation and the cutover come before
        // they end, however long the answer would otherwise take.
        let after_hours = self.agreement(from).is_some_and(|a| a.after_hours);
        let at = self
            .duties()
            .latest_cutover_for(now, after_hours)
            .map_or(at, |end| at.min(end).max(now));
        self.use_capacity(now.sydney_date(), at);
        self.reply(at, from, MsgKind::EcaConfirm, m, None);
        let category = m.category.unwrap_or(Category::A);
        self.notify_pending(at, port_ref, category, &m.numbers, from, Some(at));
        self.cut_over(at, from, port_ref, m);
        let mut done = Message::new(MsgKind::Completion, port_ref);
        done.category = m.category;
        done.numbers.clone_from(&m.numbers);
        self.send(at, from, done);
    }

    /// The ground to reject an ECA received at `now`, if any.
    pub(super) fn eca_problem(
        &self,
        now: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
    ) -> Option<RejectCode> {
        let duties = self.duties();
        let Some(p) = self.losing.get(&port_ref) else {
            // An ECA after its confirmation lapsed is judged under SNA-VALIDITY alone.
            if self.lapsed.contains(&port_ref) {
                return Some(RejectCode::SNA_EXPIRED);
            }
            return Some(RejectCode::NO_VALID_SNA);
        };
        let LosingState::AwaitEca { confirmed_at } = p.state else {
            return Some(RejectCode::NO_VALID_SNA);
        };
        if p.gaining != from || p.numbers[..] != m.numbers[..] {
            return Some(RejectCode::NO_VALID_SNA);
        }
        if duties.eca_too_late(Some(p.received_at), confirmed_at, now) {
            return Some(RejectCode::SNA_EXPIRED);
        }
        let after_hours = self.agreement(from).is_some_and(|a| a.after_hours);
        if !duties.cutover_allowed(now, after_hours) {
            return Some(RejectCode::OUTSIDE_HOURS);
        }
        let used = self.cap_used.get(&now.sydney_date()).map_or(0, |c| c.0);
        if !lnp_model::duty::capacity_left(used, self.config.daily_cap) {
            return Some(RejectCode::DAILY_CAP);
        }
        None
    }

    /// Counts one confirmed cutover on `day`, confirmed at `at`.
    pub(super) fn use_capacity(&mut self, day: chrono::NaiveDate, at: Timestamp) {
        let e = self.cap_used.entry(day).or_insert((0, at));
        e.0 += 1;
        e.1 = e.1.max(at);
    }

    /// When a `106` for `day` may go out: not before the last confirmation that filled it.
    pub(super) fn cap_reject_at(&self, day: chrono::NaiveDate, at: Timestamp) -> Timestamp {
        self.cap_used.get(&day).map_or(at, |c| c.1.max(at))
    }

    pub(super) fn close_losing(&mut self, port_ref: PortRef) {
        if let Some(p) = self.losing.remove(&port_ref) {
            for n in &p.numbers {
                self.pending.remove(n);
            }
        }
    }

    /// The number leaves this (losing) carrier's network; as donor it starts transit routing
    /// and plans the register update.
    pub(super) fn cut_over(&mut self, at: Timestamp, gaining: CarrierCode, port_ref: PortRef, m: &Message) {
        let category = m.category.unwrap_or(Category::A);
        let mut cut = Message::new(MsgKind::Cutover, port_ref);
        cut.category = Some(category);
        cut.numbers.clone_from(&m.numbers);
        cut.detail.current = Some(gaining);
        self.act(at, cut);
        for n in &m.numbers {
            self.services.remove(*n);
            self.pending.remove(n);
            if self.owns_range(*n) {
                self.ported_out.insert(*n);
            }
        }
        if let Some(p) = self.losing.get_mut(&port_ref) {
            p.state = LosingState::CutOver { at };
            let forget_at = self.duties().losing_keeps_until(at);
            self.schedule(forget_at, Job::ForgetLosing(port_ref));
        }
        let own: Vec<TelephoneNumber> = m.numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        if !own.is_empty() {
            self.donor_port_out(at, gaining, self.code, port_ref, category, &own);
        }
        self.notify_donors(at, port_ref, category, &m.numbers, PortStatus::C, gaining, None);
    }

    pub(super) fn on_withdraw(&mut self, r: &Received<'_>) {
        let Received {
            at,
            from,
            port_ref,
            m,
            accept,
            forced,
            ..
        } = *r;
        let state = self.losing.get(&port_ref).map(|p| p.state);
        let advice_sent = match state {
            // Nothing pending under this reference (an SNA it never received or already
            // refused): there is nothing to stop, so the withdrawal is simply confirmed.
            None => self.forgotten_cutovers.contains(&port_ref),
            Some(LosingState::AwaitEca { .. } | LosingState::AwaitCca) => false,
            Some(LosingState::CcaConfirmed { .. } | LosingState::CutOver { .. }) => true,
        };
        let too_late = lnp_model::duty::withdrawal_too_late(advice_sent) && !accept;
        let code = forced.or(too_late.then_some(RejectCode::WITHDRAW_TOO_LATE));
        if let Some(c) = code {
            self.reply(at, from, MsgKind::WithdrawReject, m, Some(c));
        } else {
            self.reply(at, from, MsgKind::WithdrawConfirm, m, None);
            self.abandon_losing(at, port_ref);
        }
    }

    pub(super) fn on_return(&mut self, r: &Received<'_>) {
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
        let (confirm, reject) = if m.kind == MsgKind::Reversal {
            (MsgKind::ReversalConfirm, MsgKind::ReversalReject)
        } else {
            (MsgKind::EmergencyReturnConfirm, MsgKind::EmergencyReturnReject)
        };
        let cut_at = match self.losing.get(&port_ref).map(|p| p.state) {
            Some(LosingState::CutOver { at }) => Some(at),
            _ => None,
        };
        let in_window = cut_at.is_some_and(|c| self.duties().return_in_window(c, now));
        let code = forced.or(if in_window || (accept && cut_at.is_some()) {
            None
        } else {
            Some(RejectCode::OUTSIDE_RETURN_WINDOW)
        });
        if let Some(c) = code {
            self.reply(at, from, reject, m, Some(c));
            return;
        }
        self.reply(at, from, confirm, m, None);
        // Service and routing come back: the number returns to this carrier's network.
        let Some(p) = self.losing.remove(&port_ref) else {
            return;
        };
        let restored = p.services.clone();
        let category = p.category;
        let mut back = Message::new(MsgKind::Cutover, port_ref);
        back.category = Some(category);
        back.numbers.clone_from(&m.numbers);
        back.detail.current = Some(self.code);
        back.detail.set_reason(Some("returned".into()));
        for (n, s) in restored {
            if let Some(s) = s {
                self.services.insert(n, &s);
            }
            self.ported_out.remove(&n);
        }
        self.emit_at(at, Output::action(back));
        let code = self.code;
        self.notify_donors(at, port_ref, category, &m.numbers, PortStatus::R, code, None);
        let own: Vec<TelephoneNumber> = m.numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        for n in own {
            self.donor_return(at, n, port_ref, category, code);
        }
    }

    /// Losing carrier: a change of cutover for a pending port (`RETARGET-LIMIT`, clause 4.2.9).
    pub(super) fn on_retarget(&mut self, r: &Received<'_>) {
        let Received {
            at,
            from,
            port_ref,
            m,
            accept,
            forced,
            ..
        } = *r;
        let duties = Duties::new(&self.rulebook, &self.calendar);
        let after_hours = self.agreement(from).is_some_and(|a| a.after_hours);
        let in_hours = m.detail.cutover.is_some_and(|t| duties.cutover_allowed(t, after_hours));
        let code = match self.losing.get_mut(&port_ref) {
            Some(p)
                if matches!(p.state, LosingState::AwaitEca { .. } | LosingState::CcaConfirmed { .. })
                    && p.gaining == from =>
            {
                p.retargets += 1;
                if forced.is_some() {
                    forced
                } else if accept {
                    None
                } else if duties.retarget_over_limit(p.retargets) {
                    Some(RejectCode::RETARGET_LIMIT)
                } else if !in_hours {
                    Some(RejectCode::OUTSIDE_HOURS)
                } else {
                    None
                }
            }
            _ => forced.or(Some(RejectCode::NO_VALID_SNA)),
        };
        let mut moved = None;
        if code.is_none() {
            if let (Some(t), Some(p)) = (m.detail.cutover, self.losing.get_mut(&port_ref)) {
                if let LosingState::CcaConfirmed { gen, .. } = p.state {
                    p.state = LosingState::CcaConfirmed {
                        cutover_at: t,
                        gen: gen + 1,
                    };
                    moved = Some((t, gen + 1, p.category, p.numbers.clone()));
                }
            }
        }
        let mut reply = Message::new(
            if code.is_some() {
                MsgKind::RetargetReject
            } else {
                MsgKind::RetargetConfirm
            },
            port_ref,
        );
        reply.category = m.category;
        reply.numbers.clone_from(&m.numbers);
        reply.detail.cutover = m.detail.cutover;
        if let Some(c) = code {
            reply.code = Code::whole(c);
        }
        self.send(at, from, reply);
        if let Some((t, gen, category, numbers)) = moved {
            self.schedule(t, Job::CatCCutover { port_ref, gen });
            // The agreed cutover moved: the donors hear the new instant (`DONOR-NOTIFY`).
            self.notify_pending(at, port_ref, category, &numbers, from, Some(t));
        }
    }

    pub(super) fn donor_of(&self, n: TelephoneNumber) -> Option<CarrierCode> {
        self.config
            .allocations
            .iter()
            .find(|(r, _)| r.contains(n))
            .map(|(_, c)| *c)
    }

    /// Losing carrier in a third-party port: tell each donor (`DONOR-NOTIFY`).
    #[allow(
        clippy::too_many_arguments,
        reason = "the notice's fields, each from a different part of the port"
    )]
    pub(super) fn notify_donors(
        &mut self,
        at: Timestamp,
        port_ref: PortRef,
        category: Category,
        numbers: &[TelephoneNumber],
        status: PortStatus,
        current: CarrierCode,
        cutover: Option<Timestamp>,
    ) {
        let mut by_donor: BTreeMap<CarrierCode, Vec<TelephoneNumber>> = BTreeMap::new();
        for n in numbers {
            if let Some(d) = self.donor_of(*n).filter(|d| *d != self.code) {
                by_donor.entry(d).or_default().push(*n);
            }
        }
        for (donor, nums) in by_donor {
            let mut m = Message::new(MsgKind::DonorNotify, port_ref);
            m.category = Some(category);
            m.numbers = nums.into();
            m.detail.status = Some(status);
            m.detail.current = Some(current);
            m.detail.cutover = cutover;
            self.send(at, donor, m);
        }
    }
}
