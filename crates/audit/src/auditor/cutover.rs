//! The cutover: `CUTOVER-HOURS`, `CUTOVER-AT-AGREED`, `CNA-ALL-OR-NOTHING`, `DAILY-CAP`,
//! `PORT-PENDING` and `BILATERAL`.

use lnp_model::{CarrierCode, PortRef, RuleId, TelephoneNumber, Timestamp, TraceRecord};

use super::{elapsed, Auditor, Ev, Port};

impl Auditor<'_> {
    pub(super) fn after_hours_ok(&self, gaining: Option<CarrierCode>, losing: Option<CarrierCode>) -> bool {
        match (&self.ctx, gaining, losing) {
            (Some(ctx), Some(g), Some(l)) => ctx.agreement(g, l) == Some(true),
            _ => false,
        }
    }

    pub(super) fn cutover_allowed(&self, port: &Port, t: Timestamp) -> bool {
        self.duties()
            .cutover_allowed(t, self.after_hours_ok(port.gaining, port.losing))
    }

    pub(super) fn count_daily(&mut self, key: PortRef, port: &Port, cutover: Timestamp, r: &TraceRecord) {
        let Some(cap) = self.ctx.as_ref().and_then(|c| c.daily_cap(r.from)) else {
            return;
        };
        let date = self.clock.sydney_date(cutover);
        let count = self.confirmed_per_day.entry((r.from, date)).or_insert(0);
        *count += 1;
        let count = *count;
        if count > cap {
            self.charge(
                RuleId::DailyCap,
                vec![r.seq],
                Some(key),
                &port.numbers,
                &format!(
                    "{} at seq {} is carrier {}'s confirmation number {count} for cutovers on {date}; its daily cap \
                     is {cap}, so it should have rejected with 106",
                    r.message.kind, r.seq, r.from
                ),
            );
        }
    }

    pub(super) fn check_pending(&mut self, key: PortRef, port: &Port, r: &TraceRecord) {
        let mut conflicts: Vec<(TelephoneNumber, PortRef)> = Vec::new();
        for n in &port.numbers {
            if let Some(other) = self.pending.get(n).copied() {
                if other != key && self.port(other).is_some_and(|p| self.is_live(p)) {
                    conflicts.push((*n, other));
                }
            }
        }
        if let Some((n, other)) = conflicts.first().copied() {
            let nums: Vec<TelephoneNumber> = conflicts.iter().map(|c| c.0).collect();
            self.charge(
                RuleId::PortPending,
                vec![r.seq],
                Some(key),
                &nums,
                &format!(
                    "{} at seq {} accepts a port of {n} while port {other} of the same number is still pending; it \
                     should have been rejected with 008",
                    r.message.kind, r.seq
                ),
            );
        }
        for n in &port.numbers {
            self.pending.insert(*n, key);
        }
    }

    pub(super) fn check_bilateral(&mut self, key: PortRef, port: &Port, r: &TraceRecord) {
        let Some(ctx) = &self.ctx else { return };
        let (Some(g), Some(l)) = (port.gaining, port.losing) else {
            return;
        };
        let mut pairs = vec![(g, l)];
        if let Some(d) = port.numbers.first().and_then(|n| ctx.donor_of(*n)) {
            if d != g && d != l {
                pairs.push((d, l));
                pairs.push((d, g));
            }
        }
        let missing: Vec<String> = pairs
            .iter()
            .filter(|(a, b)| ctx.agreement(*a, *b).is_none())
            .map(|(a, b)| format!("{a}-{b}"))
            .collect();
        if !missing.is_empty() {
            self.charge(
                RuleId::Bilateral,
                vec![r.seq],
                Some(key),
                &port.numbers,
                &format!(
                    "{} at seq {} lets {g} port from {l} though there is no bilateral agreement between {}",
                    r.message.kind,
                    r.seq,
                    missing.join(", ")
                ),
            );
        }
    }

    pub(super) fn on_cutover(&mut self, key: PortRef, port: &mut Port, r: &TraceRecord, ev: Ev) {
        if port.losing.is_none() {
            port.losing = Some(r.from);
        }
        if port.numbers.is_empty() {
            port.numbers.extend_from_slice(&r.message.numbers);
        }
        for n in &r.message.numbers {
            self.latest.insert(*n, key);
        }
        if port.cutover.is_some() {
            return;
        }
        port.cutover = Some(ev);
        if !self.cutover_allowed(port, r.time) && port.first_charge(RuleId::CutoverHours) {
            let seqs = port.confirmed_cutover.map_or(vec![r.seq], |(c, _)| vec![c.seq, r.seq]);
            self.charge(
                RuleId::CutoverHours,
                seqs,
                Some(key),
                &port.numbers,
                &format!(
                    "CUTOVER at seq {} ({}) is outside Standard Hours and carriers {} and {} have no after-hours \
                     agreement; the ECA or CCA should have been rejected with 103",
                    r.seq,
                    r.time,
                    port.gaining.map_or_else(|| "?".into(), |c| c.to_string()),
                    r.from
                ),
            );
        }
        if !port.simple() {
            if let Some(rej) = port.rare().cna_reject {
                self.charge(
                    RuleId::CnaAllOrNothing,
                    vec![rej.seq, r.seq],
                    Some(key),
                    &r.message.numbers,
                    &format!(
                        "CUTOVER at seq {} cuts over numbers of batch {key}, whose CNA was rejected at seq {}; no number \
                         of a rejected batch is cut over",
                        r.seq, rej.seq
                    ),
                );
            }
            if let Some((conf, agreed)) = port.confirmed_cutover {
                let tol = self.book.cutover_at_agreed;
                let early = r.time < agreed;
                if !self.duties().cutover_on_agreed(agreed, r.time) && port.first_charge(RuleId::CutoverAtAgreed) {
                    self.charge(
                        RuleId::CutoverAtAgreed,
                        vec![conf.seq, r.seq],
                        Some(key),
                        &port.numbers,
                        &format!(
                            "CUTOVER at seq {} came {} {} the time agreed at seq {} ({agreed}); the limit is {} either \
                             side",
                            r.seq,
                            elapsed(r.time.millis() - agreed.millis()),
                            if early { "before" } else { "after" },
                            conf.seq,
                            tol.describe()
                        ),
                    );
                }
            }
        }
        self.unpend(key, port);
    }
}
