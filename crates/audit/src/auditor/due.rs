//! Duties not done: each is charged once its deadline has passed the audit's horizon, whether
//! or not the trace goes on (`docs/rules.md`, "Findings"); finished ports are then retired.

use lnp_model::{duty, Duties, MsgKind, PortRef, RuleId, Timestamp};

use super::{Auditor, Due, Port, RETIRE_SLACK};

/// Shrinks a table that holds less than a quarter of what it has room for to twice its contents.
fn shrink<K: std::hash::Hash + Eq, V>(map: &mut lnp_model::fasthash::FastMap<K, V>) {
    if map.capacity() > 4 * map.len().max(1024) {
        map.shrink_to(map.len() * 2);
    }
}

impl Auditor<'_> {
    /// Judges every duty of the port whose deadline has passed by `end` and that was not done,
    /// once: a duty charged here is never charged again (by a later call, or as a late act).
    pub(super) fn judge_due(&mut self, key: PortRef, port: &mut Port, end: Timestamp) {
        let book = self.book;
        let nums = port.numbers.clone();
        let mut unanswered = Vec::new();
        for req in &mut port.open {
            if req.kind == MsgKind::Pnv || req.overdue {
                continue;
            }
            let Some(duty) = Duties::new(self.book, &self.clock).answer(req.kind, req.ev.time) else {
                continue;
            };
            if duty.deadline < end {
                req.overdue = true;
                unanswered.push((req.kind, req.ev, duty));
            }
        }
        for (kind, ev, duty) in unanswered {
            self.charge(
                duty.rule,
                vec![ev.seq],
                Some(key),
                &nums,
                &format!(
                    "{kind} at seq {} ({}) was not answered by its deadline {} ({})",
                    ev.seq,
                    ev.time,
                    duty.deadline,
                    duty.span.describe()
                ),
            );
        }
        if let (Some(cna), None) = (port.rare().cna, port.rare().cna_receipt) {
            let deadline = self.duties().cna_receipt_deadline(cna.time);
            if deadline < end && port.take_due(Due::CnaReceipt) {
                self.charge(
                    RuleId::CnaReceipt,
                    vec![cna.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "CNA at seq {} never got a CNA_RECEIPT; its deadline was {deadline} ({})",
                        cna.seq,
                        book.cna_receipt.describe()
                    ),
                );
            }
        }
        if let (Some(conf), None, None) = (port.eca_confirm, port.completion, port.rare().abandoned) {
            let deadline = self.duties().completion_deadline(conf.time);
            if deadline < end && port.take_due(Due::Completion) {
                self.charge(
                    RuleId::Completion,
                    vec![conf.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "ECA_CONFIRM at seq {} was never followed by COMPLETION; it was due by {deadline} ({})",
                        conf.seq,
                        book.completion.describe()
                    ),
                );
            }
        }
        if let (None, Some((conf, t))) = (port.cutover, port.confirmed_cutover) {
            if !self.cutover_allowed(port, t) && port.first_charge(RuleId::CutoverHours) {
                self.charge(
                    RuleId::CutoverHours,
                    vec![conf.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "seq {} confirms a cutover at {t}, outside Standard Hours, without an after-hours agreement; \
                         it should have been rejected with 103",
                        conf.seq
                    ),
                );
            }
            let due = self.duties().agreed_cutover_latest(t);
            if !port.simple()
                && port.rare().abandoned.is_none()
                && due < end
                && port.first_charge(RuleId::CutoverAtAgreed)
            {
                self.charge(
                    RuleId::CutoverAtAgreed,
                    vec![conf.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "the cutover agreed at seq {} for {t} never happened (no CUTOVER by {due}, {} either side)",
                        conf.seq,
                        book.cutover_at_agreed.describe()
                    ),
                );
            }
        }
        let donor = self.donor_of_port(port);
        let away = donor.is_some_and(|d| port.gaining.is_none_or(|g| duty::transit_routing_due(d, g)));
        if let (true, Some(c), None, None) = (away, port.cutover, port.dtr_start, port.rare().returned) {
            let deadline = self.duties().dtr_start_deadline(c.time, self.donor_learned(port, c));
            if deadline < end && port.take_due(Due::DtrStart) {
                self.charge(
                    RuleId::DtrDuration,
                    vec![c.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "the donor {} never started donor transit routing for the CUTOVER at seq {} (due by {deadline})",
                        donor.map_or_else(|| "?".into(), |d| d.to_string()),
                        c.seq
                    ),
                );
            }
        }
        if away {
            self.close_notices(key, port, end, false);
        }
        if self.third_party_donor(port).is_some() {
            self.close_notices(key, port, end, true);
        }
    }

    /// When a finished port can be dropped: after every deadline its finish can set (counted
    /// from the finish, so generously: each span added in turn) and its last row, plus a day's
    /// slack for late rows. `None` while the port is still open.
    pub(super) fn retire_at(&self, port: &Port) -> Option<Timestamp> {
        self.retire_or_open(port).ok()
    }

    /// [`Auditor::retire_at`], or while the port is open, the horizon until which it stays open
    /// unless its state changes (only a lapse of its SNA confirmation ends it by time alone).
    fn retire_or_open(&self, port: &Port) -> Result<Timestamp, Timestamp> {
        const FOREVER: Timestamp = Timestamp::from_millis(i64::MAX);
        if !port.open.is_empty() {
            return Err(FOREVER);
        }
        let lapses = port
            .sna_expires
            .filter(|_| port.simple() && port.eca_active.is_none() && port.eca_confirm.is_none());
        let sna_expired = || lapses.filter(|t| self.now > *t);
        let finished = [port.rare().abandoned, port.rare().returned, port.completed_at()]
            .into_iter()
            .flatten()
            .map(|e| e.time)
            .min()
            .or_else(|| (port.sna.is_none() && port.rare().cna.is_none()).then_some(port.last_activity))
            .or_else(sna_expired)
            .ok_or(lapses.unwrap_or(FOREVER))?;
        let b = self.book;
        let spans = [
            b.completion,
            b.return_window,
            b.dtr_start_grace,
            b.dtr_duration,
            b.plnr_update,
            b.donor_notify,
        ];
        let duties_end = spans.iter().fold(finished, |t, s| self.add(t, *s));
        Ok(self.add(duties_end.max(port.last_activity), RETIRE_SLACK))
    }

    /// Drops finished ports whose every deadline has passed, charging what was never done.
    pub(super) fn sweep(&mut self) {
        self.since_sweep = 0;
        let now = self.now;
        let mut slots = std::mem::take(&mut self.slots);
        // Each with its order key, computed once (sorting by a key computed per comparison was
        // a twentieth of the judging thread's instructions on a 1M-row trace).
        let mut done: Vec<((u8, [u64; 3]), PortRef)> = Vec::new();
        for s in slots.iter_mut() {
            let Some(p) = &s.port else { continue };
            let retire = match s.retire {
                Some((at, r)) if at == s.last_activity => r,
                // Still open: its state is not visited (at 100,000 open ports, visiting each at
                // every sweep was a third of the audit's cache misses).
                _ if s.open_until.is_some_and(|u| now <= u) => {
                    debug_assert_eq!(self.retire_at(p), None);
                    None
                }
                _ => match self.retire_or_open(p) {
                    Ok(t) => {
                        // Only a finished port's answer is stable: an open one may finish by expiry.
                        s.retire = Some((s.last_activity, Some(t)));
                        Some(t)
                    }
                    Err(until) => {
                        s.open_until = Some(until);
                        None
                    }
                },
            };
            if retire.is_some_and(|t| t < now) {
                done.push((s.key.order_key(), s.key));
            }
        }
        self.slots = slots;
        // In reference order, as `finish` and `advance` judge ports: not the map's order.
        done.sort_unstable_by_key(|(order, _)| *order);
        for (_, key) in done {
            if let Some(mut port) = self.remove_port(key) {
                let before = self.findings.len();
                self.judge_due(key, &mut port, now);
                self.keep_own(before, &port);
                self.forget(key, &port);
                self.recycle(port);
            }
        }
        let overdue: Vec<PortRef> = self
            .pnvs
            .iter()
            .filter(|(_, p)| p.deadline < now)
            .map(|(k, _)| *k)
            .collect();
        for key in overdue {
            self.pnvs.remove(&key);
            self.count_pnv(key, false);
        }
        // Tables far larger than their contents shrink, to twice those; not each time a few
        // entries go, only to grow again with the next ports.
        shrink(&mut self.ports);
        shrink(&mut self.latest);
        shrink(&mut self.pending);
        self.spare_ports.truncate(self.ports.len());
    }

    pub(super) fn forget(&mut self, key: PortRef, port: &Port) {
        for n in &port.numbers {
            if self.latest.get(n) == Some(&key) {
                self.latest.remove(n);
            }
        }
        self.unpend(key, port);
    }
}
