//! The losing carrier: it judges each request at the instant it receives it, answers within the
//! rule's time, cuts over, and tells the donor of a third-party port (clauses 4.2 and 4.4).

use std::collections::BTreeMap;

use lnp_model::{
    CarrierCode, Category, Code, Message, MsgKind, PnvReject, PnvResponse, PortRef, PortStatus, RejectCode, Span,
    TelephoneNumber, Timestamp,
};

use super::{Carrier, Job, LosingPort, LosingState, Output};

impl Carrier {
    pub(super) fn ca_date_ok(&self, ca_date: chrono::NaiveDate, at: Timestamp) -> bool {
        let today = at.sydney_date();
        let days = match self.rulebook.ca_age {
            Span::Days(d) => d,
            other => other.fixed_millis().map_or(90, |ms| ms / 86_400_000),
        };
        ca_date <= today && (today - ca_date).num_days() <= days
    }

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

    /// Losing carrier: validate an SNA (clause 4.2.4) and confirm or reject it.
    pub(super) fn on_sna(
        &mut self,
        at: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
        accept: bool,
        forced: Option<RejectCode>,
    ) {
        let code = forced.or_else(|| if accept { None } else { self.sna_problem(at, m) });
        if let Some(code) = code {
            self.reply(at, from, MsgKind::SnaReject, m, Some(code));
            return;
        }
        self.open_losing(
            port_ref,
            from,
            m.category.unwrap_or(Category::A),
            &m.numbers,
            LosingState::AwaitEca { confirmed_at: at },
            true,
        );
        self.reply(at, from, MsgKind::SnaConfirm, m, None);
        self.notify_pending(at, port_ref, m.category.unwrap_or(Category::A), &m.numbers, from);
    }

    /// Losing carrier in a third-party port: once it has confirmed the port, it tells the donors
    /// that the port is pending (`DONOR-NOTIFY` status `P`), once per port.
    pub(super) fn notify_pending(
        &mut self,
        at: Timestamp,
        port_ref: PortRef,
        category: Category,
        numbers: &[TelephoneNumber],
        gaining: CarrierCode,
    ) {
        if let Some(p) = self.losing.get_mut(&port_ref) {
            if p.notified {
                return;
            }
            p.notified = true;
        }
        self.notify_donors(at, port_ref, category, numbers, PortStatus::P, gaining);
    }

    /// Losing carrier: a confirmed port that will not proceed (withdrawn, or its SNA expired) is
    /// closed, and donors told of it as pending hear that it did not proceed (status `N`).
    pub(super) fn abandon_losing(&mut self, at: Timestamp, port_ref: PortRef) {
        let Some(p) = self.losing.get(&port_ref) else { return };
        let (notified, category, numbers) = (p.notified, p.category, p.numbers.clone());
        self.close_losing(port_ref);
        if notified {
            let code = self.code;
            self.notify_donors(at, port_ref, category, &numbers, PortStatus::N, code);
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
        let services = numbers.iter().map(|n| (*n, self.services.get(n).cloned())).collect();
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
        };
        self.losing.insert(port_ref, port);
    }

    pub(super) fn sna_problem(&self, at: Timestamp, m: &Message) -> Option<RejectCode> {
        let Some(ca) = m.detail.ca_date else {
            return Some(RejectCode::INSUFFICIENT_INFO);
        };
        if !self.ca_date_ok(ca, at) {
            return Some(RejectCode::CA_INVALID);
        }
        if m.numbers.len() != 1 {
            return Some(RejectCode::INSUFFICIENT_INFO);
        }
        let n = m.numbers[0];
        // The same validation as a PNV's (clause 4.3.8), answered with the SNA's reject codes.
        match self.number_problem(at, n, Self::customer_of(m)) {
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

    /// Losing carrier: check an ECA (clauses 4.2.27, 4.2.32) and cut over.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the arguments are the message's context"
    )]
    pub(super) fn on_eca(
        &mut self,
        now: Timestamp,
        at: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
        accept: bool,
        forced: Option<RejectCode>,
    ) {
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
            if code == RejectCode::SNA_EXPIRED {
                self.abandon_losing(at, port_ref);
            }
            return;
        }
        self.use_capacity(now.sydney_date(), at);
        self.reply(at, from, MsgKind::EcaConfirm, m, None);
        let category = m.category.unwrap_or(Category::A);
        self.notify_pending(at, port_ref, category, &m.numbers, from);
        self.cut_over(at, from, port_ref, m);
        let mut done = Message::new(MsgKind::Completion, port_ref);
        done.category = m.category;
        done.numbers.clone_from(&m.numbers);
        self.send(at, from, done);
    }

    pub(super) fn eca_problem(
        &self,
        now: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
    ) -> Option<RejectCode> {
        let Some(p) = self.losing.get(&port_ref) else {
            return Some(RejectCode::NO_VALID_SNA);
        };
        let LosingState::AwaitEca { confirmed_at } = p.state else {
            return Some(RejectCode::NO_VALID_SNA);
        };
        if p.gaining != from || p.numbers != m.numbers {
            return Some(RejectCode::NO_VALID_SNA);
        }
        if now > self.calendar.add(confirmed_at, self.rulebook.sna_validity) {
            return Some(RejectCode::SNA_EXPIRED);
        }
        if let Some(max_age) = self.rulebook.eca_max_sna_age {
            if now > self.calendar.add(confirmed_at, max_age) {
                return Some(RejectCode::SNA_EXPIRED);
            }
        }
        let after_hours = self.agreement(from).is_some_and(|a| a.after_hours);
        if !after_hours && !self.calendar.in_standard_hours(now) {
            return Some(RejectCode::OUTSIDE_HOURS);
        }
        if let Some(cap) = self.config.daily_cap {
            if self.cap_used.get(&now.sydney_date()).map_or(0, |c| c.0) >= cap {
                return Some(RejectCode::DAILY_CAP);
            }
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
            self.services.remove(n);
            self.pending.remove(n);
            if self.owns_range(*n) {
                self.ported_out.insert(*n, gaining);
            }
        }
        if let Some(p) = self.losing.get_mut(&port_ref) {
            p.state = LosingState::CutOver { at };
            // Kept past the return window (so that a late return can still be answered, with 108
            // or, under an `accept` fault, confirmed) until donor transit routing would end.
            let window_end = self.calendar.add(at, self.rulebook.return_window).plus_millis(60_000);
            let forget_at = self.calendar.add(at, self.rulebook.dtr_duration).max(window_end);
            self.schedule(forget_at, Job::ForgetLosing(port_ref));
        }
        let own: Vec<TelephoneNumber> = m.numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        if !own.is_empty() {
            self.donor_port_out(at, gaining, self.code, port_ref, category, &own);
        }
        self.notify_donors(at, port_ref, category, &m.numbers, PortStatus::C, gaining);
    }

    pub(super) fn on_withdraw(
        &mut self,
        at: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
        accept: bool,
        forced: Option<RejectCode>,
    ) {
        let state = self.losing.get(&port_ref).map(|p| p.state);
        let code = forced.or(match state {
            // Nothing pending under this reference (an SNA it never received or already
            // refused): there is nothing to stop, so the withdrawal is simply confirmed.
            None if !self.forgotten_cutovers.contains(&port_ref) => None,
            Some(LosingState::AwaitEca { .. } | LosingState::AwaitCca) => None,
            _ if accept => None,
            _ => Some(RejectCode::WITHDRAW_TOO_LATE),
        });
        if let Some(c) = code {
            self.reply(at, from, MsgKind::WithdrawReject, m, Some(c));
        } else {
            self.reply(at, from, MsgKind::WithdrawConfirm, m, None);
            self.abandon_losing(at, port_ref);
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the arguments are the message's context"
    )]
    pub(super) fn on_return(
        &mut self,
        now: Timestamp,
        at: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
        accept: bool,
        forced: Option<RejectCode>,
    ) {
        let (confirm, reject) = if m.kind == MsgKind::Reversal {
            (MsgKind::ReversalConfirm, MsgKind::ReversalReject)
        } else {
            (MsgKind::EmergencyReturnConfirm, MsgKind::EmergencyReturnReject)
        };
        let cut_at = match self.losing.get(&port_ref).map(|p| p.state) {
            Some(LosingState::CutOver { at }) => Some(at),
            _ => None,
        };
        let in_window = cut_at.is_some_and(|c| now <= self.calendar.add(c, self.rulebook.return_window));
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
        back.detail.reason = Some("returned".into());
        for (n, s) in restored {
            if let Some(s) = s {
                self.services.insert(n, s);
            }
            self.ported_out.remove(&n);
        }
        self.emit_at(at, Output::Action(back));
        let code = self.code;
        self.notify_donors(at, port_ref, category, &m.numbers, PortStatus::R, code);
        let own: Vec<TelephoneNumber> = m.numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        for n in own {
            self.donor_return(at, n, port_ref, category, code);
        }
    }

    /// Losing carrier: a change of cutover for a pending port (`RETARGET-LIMIT`, clause 4.2.9).
    pub(super) fn on_retarget(
        &mut self,
        at: Timestamp,
        from: CarrierCode,
        port_ref: PortRef,
        m: &Message,
        accept: bool,
        forced: Option<RejectCode>,
    ) {
        let limit = self.rulebook.retargets_max;
        let after_hours = self.agreement(from).is_some_and(|a| a.after_hours);
        let in_hours = m
            .detail
            .cutover
            .is_some_and(|t| after_hours || self.calendar.in_standard_hours(t));
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
                } else if p.retargets > limit {
                    Some(RejectCode::RETARGET_LIMIT)
                } else if !in_hours {
                    Some(RejectCode::OUTSIDE_HOURS)
                } else {
                    None
                }
            }
            _ => forced.or(Some(RejectCode::NO_VALID_SNA)),
        };
        if code.is_none() {
            if let (Some(t), Some(p)) = (m.detail.cutover, self.losing.get_mut(&port_ref)) {
                if let LosingState::CcaConfirmed { gen, .. } = p.state {
                    p.state = LosingState::CcaConfirmed {
                        cutover_at: t,
                        gen: gen + 1,
                    };
                    self.schedule(t, Job::CatCCutover { port_ref, gen: gen + 1 });
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
    }

    pub(super) fn donor_of(&self, n: TelephoneNumber) -> Option<CarrierCode> {
        self.config
            .allocations
            .iter()
            .find(|(r, _)| r.contains(n))
            .map(|(_, c)| *c)
    }

    /// Losing carrier in a third-party port: tell each donor (`DONOR-NOTIFY`).
    pub(super) fn notify_donors(
        &mut self,
        at: Timestamp,
        port_ref: PortRef,
        category: Category,
        numbers: &[TelephoneNumber],
        status: PortStatus,
        current: CarrierCode,
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
            m.numbers = nums;
            m.detail.status = Some(status);
            m.detail.current = Some(current);
            self.send(at, donor, m);
        }
    }
}
