//! The donor's duties and the notices that drive them: `DTR-DURATION`, `PLNR-UPDATE` and
//! `DONOR-NOTIFY`. Only the donor's own transit-routing and register rows count.

use lnp_model::{CarrierCode, MsgKind, PortRef, PortStatus, RuleId, Timestamp, TraceRecord};

use super::{elapsed, Auditor, Due, Ev, Port};

impl Auditor<'_> {
    pub(super) fn donor_of_port(&self, port: &Port) -> Option<CarrierCode> {
        let from_ctx = self
            .ctx
            .as_ref()
            .and_then(|c| port.numbers.first().and_then(|n| c.donor_of(*n)));
        from_ctx.or(port.observed_donor)
    }

    /// The third-party donor that must be told of the port (`DONOR-NOTIFY`), from the context.
    pub(super) fn third_party_donor(&self, port: &Port) -> Option<CarrierCode> {
        let ctx = self.ctx.as_ref()?;
        let donor = ctx.donor_of(*port.numbers.first()?)?;
        (Some(donor) != port.losing && Some(donor) != port.gaining).then_some(donor)
    }

    /// Whether a row by `by` is the donor's own (`DTR-DURATION`, `PLNR-UPDATE`: only the donor's
    /// own rows count). Without a scenario the donor is taken to be the first carrier seen running
    /// transit routing or publishing for the port.
    pub(super) fn by_donor(&self, port: &mut Port, by: CarrierCode) -> bool {
        match self.donor_of_port(port) {
            Some(d) if self.ctx.is_some() => d == by,
            _ => *port.observed_donor.get_or_insert(by) == by,
        }
    }

    /// When the donor could know the cutover instant: at the cutover itself, or in a third-party
    /// port the later of the cutover and the `DONOR_NOTIFY` that gave it the instant (a `P` with
    /// `cutover=` at or before the cutover, otherwise the `C`).
    pub(super) fn donor_learned(&self, port: &Port, cutover: Ev) -> Timestamp {
        if self.third_party_donor(port).is_none() {
            return cutover.time;
        }
        let rare = port.rare();
        match (rare.notify_cutover, rare.notify.c) {
            (Some(p), _) if p.time <= cutover.time => p.time,
            (_, Some(c)) => c.time,
            (Some(p), None) => p.time,
            (None, None) => cutover.time,
        }
    }

    pub(super) fn on_dtr(&mut self, key: PortRef, port: &mut Port, r: &TraceRecord, ev: Ev) {
        if !self.by_donor(port, r.from) {
            return;
        }
        if r.message.kind == MsgKind::DtrStart {
            if port.dtr_start.is_some() {
                return;
            }
            port.dtr_start = Some(ev);
            if let Some(c) = port.cutover {
                let deadline = self.duties().dtr_start_deadline(c.time, self.donor_learned(port, c));
                if r.time > deadline && !port.due_charged(Due::DtrStart) {
                    self.charge(
                        RuleId::DtrDuration,
                        vec![c.seq, r.seq],
                        Some(key),
                        &r.message.numbers,
                        &format!(
                            "DTR_START at seq {} came {} after the CUTOVER at seq {}; donor transit routing starts at \
                             the cutover (or when the donor was told its instant), at most {} later, by {deadline}",
                            r.seq,
                            elapsed(r.time.millis() - c.time.millis()),
                            c.seq,
                            self.book.dtr_start_grace.describe()
                        ),
                    );
                }
            }
        } else {
            if port.dtr_stop.is_some() {
                return;
            }
            port.dtr_stop = Some(ev);
            let Some(start) = port.dtr_start else { return };
            let returned_before = port.rare().returned.is_some_and(|ret| ret.time <= r.time);
            let from = port.cutover.unwrap_or(start);
            let min_end = self.duties().dtr_earliest_stop(from.time);
            if r.time < min_end && !returned_before {
                self.charge(
                    RuleId::DtrDuration,
                    vec![from.seq, r.seq],
                    Some(key),
                    &r.message.numbers,
                    &format!(
                        "DTR_STOP at seq {} ({}) ends donor transit routing before {} had passed since the cutover at \
                         seq {} ({}), not before {min_end}",
                        r.seq,
                        r.time,
                        self.book.dtr_duration.describe(),
                        from.seq,
                        from.time,
                    ),
                );
            }
        }
    }

    /// The end of the reversal / emergency-return window, and when `PLNR-UPDATE`'s time starts.
    pub(super) fn plnr_window(&self, port: &Port) -> Option<(Timestamp, Timestamp)> {
        let completed = port.completed_at()?;
        let cutover = port.cutover.unwrap_or(completed).time;
        Some(self.duties().plnr_completed_window(cutover, completed.time))
    }

    pub(super) fn on_plnr(&mut self, key: PortRef, port: &mut Port, r: &TraceRecord) {
        if !self.by_donor(port, r.from) {
            return;
        }
        let span = self.book.plnr_update;
        match r.message.detail.status {
            Some(PortStatus::P) => {
                port.plnr.p = true;
            }
            Some(PortStatus::C) => {
                if port.plnr.c {
                    return;
                }
                port.plnr.c = true;
                match self.plnr_window(port) {
                    None => self.charge(
                        RuleId::PlnrUpdate,
                        vec![r.seq],
                        Some(key),
                        &r.message.numbers,
                        &format!(
                            "PLNR_PUBLISH at seq {} publishes the port as completed (C) before it was cut over",
                            r.seq
                        ),
                    ),
                    Some((window_end, _)) if r.time < window_end => self.charge(
                        RuleId::PlnrUpdate,
                        vec![r.seq],
                        Some(key),
                        &r.message.numbers,
                        &format!(
                            "PLNR_PUBLISH at seq {} ({}) publishes the completed port before its {} return window ends \
                             at {window_end}",
                            r.seq,
                            r.time,
                            self.book.return_window.describe()
                        ),
                    ),
                    Some((_, deadline)) => {
                        if r.time > deadline && !port.due_charged(Due::notice(false, PortStatus::C)) {
                            self.charge(
                                RuleId::PlnrUpdate,
                                vec![r.seq],
                                Some(key),
                                &r.message.numbers,
                                &format!(
                                    "PLNR_PUBLISH at seq {} ({}) publishes the completed port after its deadline \
                                     {deadline} ({} after completion and the return window)",
                                    r.seq,
                                    r.time,
                                    span.describe()
                                ),
                            );
                        }
                    }
                }
            }
            Some(s @ (PortStatus::R | PortStatus::N)) => {
                let base = if s == PortStatus::R {
                    port.rare().returned
                } else {
                    port.ended_at(r.time)
                };
                let seen = port.plnr.of(s);
                if *seen {
                    return;
                }
                *seen = true;
                if let Some(b) = base {
                    let deadline = self.duties().plnr_outcome_deadline(b.time);
                    if r.time > deadline && !port.due_charged(Due::notice(false, s)) {
                        self.charge(
                            RuleId::PlnrUpdate,
                            vec![b.seq, r.seq],
                            Some(key),
                            &r.message.numbers,
                            &format!(
                                "PLNR_PUBLISH at seq {} ({}) publishes status {s} after its deadline {deadline} ({} \
                                 after seq {})",
                                r.seq,
                                r.time,
                                span.describe(),
                                b.seq
                            ),
                        );
                    }
                }
            }
            None => {}
        }
    }

    pub(super) fn on_notify(&mut self, key: PortRef, port: &mut Port, r: &TraceRecord, ev: Ev) {
        if self.ctx.is_none() {
            return;
        }
        let span = self.book.donor_notify;
        match r.message.detail.status {
            Some(PortStatus::P) => {
                if r.message.detail.cutover.is_some() && port.cutover.is_none() {
                    // The latest instant the donor was given before the cutover.
                    port.rare_mut().notify_cutover = Some(ev);
                }
                if port.rare().notify.p.is_some() {
                    return;
                }
                port.rare_mut().notify.p = Some(ev);
                if let Some(c) = port.cutover {
                    let deadline = self.duties().donor_notify_pending_deadline(c.time);
                    if r.time > deadline && !port.due_charged(Due::NotifyP) {
                        self.charge(
                            RuleId::DonorNotify,
                            vec![c.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "DONOR_NOTIFY status=P at seq {} came after the CUTOVER at seq {}; the donor is told of \
                                 a pending port no later than its cutover",
                                r.seq, c.seq
                            ),
                        );
                    }
                }
            }
            Some(s) => {
                let base = match s {
                    PortStatus::C => port.completed_at(),
                    PortStatus::R => port.rare().returned,
                    _ => port.ended_at(r.time),
                };
                let notify = &mut port.rare_mut().notify;
                let slot = match s {
                    PortStatus::C => &mut notify.c,
                    PortStatus::R => &mut notify.r,
                    _ => &mut notify.n,
                };
                if slot.is_some() {
                    return;
                }
                *slot = Some(ev);
                if let Some(b) = base {
                    let deadline = self.duties().donor_notify_deadline(b.time);
                    if r.time > deadline && !port.due_charged(Due::notice(true, s)) {
                        self.charge(
                            RuleId::DonorNotify,
                            vec![b.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "DONOR_NOTIFY status={s} at seq {} ({}) came after its deadline {deadline} ({} after \
                                 seq {})",
                                r.seq,
                                r.time,
                                span.describe(),
                                b.seq
                            ),
                        );
                    }
                }
            }
            None => {}
        }
    }

    /// Missing `PLNR_PUBLISH` (or, with `notify`, `DONOR_NOTIFY`) rows whose deadline passed.
    pub(super) fn close_notices(&mut self, key: PortRef, port: &mut Port, end: Timestamp, notify: bool) {
        let (rule, span, notices, what) = if notify {
            (
                RuleId::DonorNotify,
                self.book.donor_notify,
                port.rare().notify.seen(),
                "DONOR_NOTIFY",
            )
        } else {
            (RuleId::PlnrUpdate, self.book.plnr_update, port.plnr, "PLNR_PUBLISH")
        };
        let nums = &port.numbers.clone();
        if notify {
            if let (Some(c), false) = (port.cutover, notices.p) {
                if port.take_due(Due::NotifyP) {
                    self.charge(
                        rule,
                        vec![c.seq],
                        Some(key),
                        nums,
                        &format!(
                            "the donor was never sent DONOR_NOTIFY status=P before the CUTOVER at seq {}",
                            c.seq
                        ),
                    );
                }
            }
        }
        // PLNR-UPDATE with `plnr_pending_required`: a port that cut over was announced with a `P`
        // before its `C` (or `R`) was published; one never announced is charged once that record
        // is published, or once its deadline has passed without it.
        if !notify && self.book.plnr_pending_required {
            let settled = notices.c
                || notices.r
                || self.plnr_window(port).is_some_and(|(_, deadline)| deadline < end)
                || port
                    .rare()
                    .returned
                    .is_some_and(|r| self.duties().plnr_outcome_deadline(r.time) < end);
            if let (Some(c), false, true) = (port.cutover, notices.p, settled) {
                if port.take_due(Due::notice(false, PortStatus::P)) {
                    self.charge(
                        rule,
                        vec![c.seq],
                        Some(key),
                        nums,
                        &format!(
                            "the donor never published the pending record (P) of the port cut over at seq {}; the \
                             rulebook requires it (plnr_pending_required)",
                            c.seq
                        ),
                    );
                }
            }
        }
        // Each duty: (status, the row it follows with its deadline, the notice seen, required).
        let completed = if notify {
            port.completed_at()
                .map(|c| (c.seq, self.duties().donor_notify_deadline(c.time)))
        } else {
            self.plnr_window(port)
                .and_then(|(_, deadline)| port.completed_at().map(|c| (c.seq, deadline)))
        };
        let outcome_deadline = |e: Ev| {
            let d = self.duties();
            let deadline = if notify {
                d.donor_notify_deadline(e.time)
            } else {
                d.plnr_outcome_deadline(e.time)
            };
            (e.seq, deadline)
        };
        let published_before = notices.p || notices.c;
        let duties = [
            (PortStatus::C, completed, notices.c, port.rare().returned.is_none()),
            (
                PortStatus::R,
                port.rare().returned.map(outcome_deadline),
                notices.r,
                notify || published_before,
            ),
            (
                PortStatus::N,
                port.ended_at(end).map(outcome_deadline),
                notices.n,
                // A port that was cut over after all (a fault accepted it) did proceed.
                notices.p && port.cutover.is_none(),
            ),
        ];
        for (status, base, done, required) in duties {
            let (Some((seq, deadline)), false, true) = (base, done, required) else {
                continue;
            };
            if deadline < end && port.take_due(Due::notice(notify, status)) {
                self.charge(
                    rule,
                    vec![seq],
                    Some(key),
                    nums,
                    &format!(
                        "no {what} status={status} followed seq {seq}; it was due by {deadline} ({})",
                        span.describe()
                    ),
                );
            }
        }
    }
}
