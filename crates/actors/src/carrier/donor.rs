//! The donor: donor transit routing, its register (PLNR) and numbers given back to it.
//!
//! The donor keeps one standing register record per number of its ranges that is ported out or
//! in a pending port (`docs/plnr-format.md`, "The register while a port is pending"): a pending
//! port's `P` stands in place of an earlier `C` until a `C` replaces it or an `N`/`R` cancels it,
//! when the earlier record stands again. Transit routing is kept per port, so that a second port
//! of a number inside the first one's transit period still ends the first one's.

use lnp_model::{duty, CarrierCode, Category, Message, MsgKind, PortRef, PortStatus, TelephoneNumber, Timestamp};

use super::{Carrier, DonorEntry, Job, Output, PlnrRecord, Task};

impl Carrier {
    /// Consequences of having actually sent or done something: a `DTR_START` that went out
    /// starts transit routing, which a compliant donor stops when `DTR-DURATION` has passed since
    /// the cutover (a skipped `DTR_START` starts nothing, so no `DTR_STOP` follows it).
    pub(super) fn after_emit(&mut self, at: Timestamp, o: &Output) {
        if let Output::Action(m) = o {
            if m.kind == MsgKind::DtrStart {
                if let Some(port_ref) = m.port_ref {
                    let code = self.refs.code(port_ref);
                    for n in &m.numbers {
                        let cutover = self
                            .donor
                            .get(*n)
                            .filter(|e| e.port_ref == code && e.status == PortStatus::C)
                            .map_or(at, |e| e.effective.min(at));
                        self.dtr_running.insert((*n, port_ref));
                        let stop = self.duties().dtr_earliest_stop(cutover);
                        self.schedule(stop, Job::DtrStop { number: *n, port_ref });
                    }
                }
            }
        }
    }

    fn publish_now(&mut self, at: Timestamp, number: TelephoneNumber, rec: PlnrRecord) {
        self.schedule(at, Job::PlnrPublish { number, rec });
    }

    fn cancel_jobs(&mut self, number: TelephoneNumber, port_ref: PortRef) {
        self.agenda.retain_jobs(|j| {
            !matches!(j,
                Job::PlnrPublish { number: n, rec } if *n == number && rec.port_ref == port_ref)
        });
        let code = self.refs.code(port_ref);
        if let Some(e) = self.donor.get_mut(number) {
            if e.port_ref == code {
                e.dtr_gen += 1;
            }
        }
    }

    /// The donor learns of a pending port of its numbers (its own `SNA_CONFIRM`/`CNA_CONFIRM`,
    /// or `DONOR_NOTIFY` `P`): the `P` record stands and is published (`PLNR-UPDATE`).
    pub(super) fn donor_pending(
        &mut self,
        at: Timestamp,
        current: CarrierCode,
        losing: CarrierCode,
        port_ref: PortRef,
        category: Category,
        numbers: &[TelephoneNumber],
    ) {
        let own: Vec<TelephoneNumber> = numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        let code = self.refs.code(port_ref);
        for n in own {
            if self
                .donor
                .get(n)
                .is_some_and(|e| e.port_ref == code && e.status == PortStatus::P)
            {
                continue;
            }
            // A completed record stands again if this port does not proceed; any other (a
            // pending port's `P`) goes, with what it stood in place of.
            let earlier = match self.donor.take(n) {
                Some((e, mut earlier)) if e.status == PortStatus::C => {
                    earlier.push(e);
                    earlier
                }
                _ => Vec::new(),
            };
            let entry = DonorEntry {
                current,
                losing,
                port_ref: code,
                category,
                status: PortStatus::P,
                effective: at,
                published: false,
                dtr_gen: 0,
            };
            let rec = entry.record(port_ref);
            self.donor.put(n, entry, earlier);
            self.publish_now(at, n, rec);
        }
    }

    /// A `DONOR_NOTIFY` `P` announced the cutover instant: transit routing starts then.
    fn donor_announced(&mut self, now: Timestamp, port_ref: PortRef, numbers: &[TelephoneNumber], cutover: Timestamp) {
        let code = self.refs.code(port_ref);
        for n in numbers {
            let Some(e) = self.donor.get_mut(*n) else { continue };
            if e.port_ref != code || e.status != PortStatus::P || !duty::transit_routing_due(self.code, e.current) {
                continue;
            }
            e.dtr_gen += 1;
            let gen = e.dtr_gen;
            self.schedule(
                cutover.max(now),
                Job::DtrStart {
                    number: *n,
                    port_ref,
                    gen,
                },
            );
        }
    }

    /// Donor duties for a completed port of its numbers: transit routing runs from the cutover
    /// `at` (started now unless an announced start already did), and the completed record is
    /// published once the return window has ended (`PLNR-UPDATE`).
    pub(super) fn donor_port_out(
        &mut self,
        at: Timestamp,
        current: CarrierCode,
        losing: CarrierCode,
        port_ref: PortRef,
        category: Category,
        numbers: &[TelephoneNumber],
    ) {
        let mut start = Vec::new();
        let earliest = self.duties().plnr_completed_earliest(at);
        let own: Vec<TelephoneNumber> = numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        let code = self.refs.code(port_ref);
        for n in own {
            let old = self.donor.take(n);
            let dtr_gen = old.as_ref().map_or(0, |(e, _)| e.dtr_gen + 1);
            // The port's own `P`, when it stood: whether it was published (a return must then be
            // published too), and the records it stood in place of.
            let (published, earlier) = match old {
                Some((e, earlier)) if e.port_ref == code => (e.published, earlier),
                Some((e, mut earlier)) if e.status == PortStatus::C => {
                    earlier.push(e);
                    (false, earlier)
                }
                _ => (false, Vec::new()),
            };
            let entry = DonorEntry {
                current,
                losing,
                port_ref: code,
                category,
                status: PortStatus::C,
                effective: at,
                published,
                dtr_gen,
            };
            let rec = entry.record(port_ref);
            self.donor.put(n, entry, earlier);
            if !self.dtr_running.contains(&(n, port_ref)) {
                start.push(n);
            }
            self.publish_now(earliest, n, rec);
        }
        if !start.is_empty() && duty::transit_routing_due(self.code, current) {
            let mut dtr = Message::new(MsgKind::DtrStart, port_ref);
            dtr.category = Some(category);
            dtr.numbers = start.into();
            dtr.detail.current = Some(current);
            self.act(at, dtr);
        }
    }

    /// A pending port of the donor's numbers did not proceed (withdrawn, lapsed, rejected after
    /// it was confirmed): a published `P` is cancelled with `N`, and the earlier record stands.
    pub(super) fn donor_not_proceeded(&mut self, at: Timestamp, port_ref: PortRef, numbers: &[TelephoneNumber]) {
        let code = self.refs.code(port_ref);
        for n in numbers.iter().copied() {
            let pending = self
                .donor
                .get(n)
                .is_some_and(|e| e.port_ref == code && e.status == PortStatus::P);
            if !pending {
                continue;
            }
            self.cancel_jobs(n, port_ref);
            let Some((e, mut earlier)) = self.donor.take(n) else {
                continue;
            };
            if e.published {
                let mut rec = e.record(port_ref);
                rec.status = PortStatus::N;
                rec.effective = at;
                self.publish_now(at, n, rec);
            }
            if let Some(prev) = earlier.pop() {
                self.donor.put(n, prev, earlier);
            }
        }
    }

    /// Donor: a number ported out of its ranges comes back (`GIVE_BACK` by `from`). Transit
    /// routing for it ends, the register record is deleted (action `D`, status `C`: the return to
    /// the donor is complete), and the number is held in quarantine (`QUARANTINE`).
    pub(super) fn take_back(&mut self, now: Timestamp, number: TelephoneNumber, from: CarrierCode) {
        if !self.owns_range(number) {
            return;
        }
        let code = self.code;
        self.agenda.retain_jobs(
            |j| !matches!(j, Job::DtrStop { number: n, .. } | Job::PlnrPublish { number: n, .. } if *n == number),
        );
        self.ported_out.remove(&number);
        self.services.remove(number);
        let until = self.duties().quarantine_end(now);
        self.quarantine.insert(number, until);
        let running: Vec<PortRef> = self
            .dtr_running
            .range((number, PortRef::MIN)..)
            .take_while(|(n, _)| *n == number)
            .map(|(_, r)| *r)
            .collect();
        let entry = self.donor.take(number).map(|(e, _)| e);
        for port_ref in running {
            self.dtr_running.remove(&(number, port_ref));
            let mut stop = Message::new(MsgKind::DtrStop, port_ref);
            stop.category = entry.as_ref().map(|e| e.category);
            stop.numbers = lnp_model::Numbers::from_slice(&[number]);
            stop.detail.current = Some(code);
            stop.detail.set_reason(Some("given back".into()));
            self.act(now, stop);
        }
        if let Some(e) = entry.filter(|e| e.published) {
            let mut rec = e.record(self.refs.get(e.port_ref));
            rec.status = PortStatus::C;
            rec.current = code;
            rec.losing = from;
            rec.effective = now;
            self.publish_now(now, number, rec);
        }
    }

    /// The donor's side of a reversal or emergency return, now with `now_with`: transit routing
    /// for the port stops, a published record of the port is cancelled (`R`), and the number's
    /// record is what it was before the port (none when it is back with the donor).
    pub(super) fn donor_return(
        &mut self,
        at: Timestamp,
        n: TelephoneNumber,
        port_ref: PortRef,
        category: Category,
        now_with: CarrierCode,
    ) {
        if self.dtr_running.remove(&(n, port_ref)) {
            let mut stop = Message::new(MsgKind::DtrStop, port_ref);
            stop.category = Some(category);
            stop.numbers = lnp_model::Numbers::from_slice(&[n]);
            stop.detail.current = Some(now_with);
            self.act(at, stop);
        }
        self.agenda.retain_jobs(|j| {
            !matches!(j,
                Job::DtrStop { number, port_ref: r } if *number == n && *r == port_ref)
        });
        self.cancel_jobs(n, port_ref);
        let code = self.code;
        let ref_code = self.refs.code(port_ref);
        let Some((e, mut earlier)) = self.donor.take(n) else {
            return;
        };
        if e.port_ref != ref_code {
            self.donor.put(n, e, earlier);
            return;
        }
        if e.published {
            let mut rec = e.record(port_ref);
            rec.status = PortStatus::R;
            rec.current = now_with;
            rec.effective = at;
            self.publish_now(at, n, rec);
        }
        if now_with == code {
            return;
        }
        // Back with the carrier it was ported from: its earlier record stands again.
        let restored = earlier.pop().unwrap_or(DonorEntry {
            current: now_with,
            losing: code,
            port_ref: ref_code,
            category,
            status: PortStatus::C,
            effective: at,
            published: e.published,
            dtr_gen: 0,
        });
        self.donor.put(n, restored, earlier);
    }

    /// The donor of a number that another carrier ported (a third-party port): follow it with
    /// the register, and with donor transit routing from the cutover instant it is told.
    pub(super) fn on_donor_notify(&mut self, now: Timestamp, from: CarrierCode, port_ref: PortRef, m: &Message) {
        let (Some(status), Some(current)) = (m.detail.status, m.detail.current) else {
            return;
        };
        let category = m.category.unwrap_or(Category::A);
        let own: Vec<TelephoneNumber> = m.numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        if own.is_empty() {
            return;
        }
        match status {
            PortStatus::P => {
                self.donor_pending(now, current, from, port_ref, category, &own);
                if let Some(cutover) = m.detail.cutover {
                    self.donor_announced(now, port_ref, &own, cutover);
                }
            }
            PortStatus::C => self.donor_port_out(now, current, from, port_ref, category, &own),
            PortStatus::R => {
                for n in own {
                    self.donor_return(now, n, port_ref, category, current);
                }
            }
            PortStatus::N => self.donor_not_proceeded(now, port_ref, &own),
        }
    }

    /// An announced transit-routing start is due (`Job::DtrStart`).
    pub(super) fn announced_dtr_start(
        &mut self,
        at: Timestamp,
        number: TelephoneNumber,
        port_ref: PortRef,
        gen: u32,
        shifted: bool,
    ) {
        let code = self.refs.code(port_ref);
        let Some(e) = self.donor.get(number) else { return };
        if e.port_ref != code || e.dtr_gen != gen || self.dtr_running.contains(&(number, port_ref)) {
            return;
        }
        let mut dtr = Message::new(MsgKind::DtrStart, port_ref);
        dtr.category = Some(e.category);
        dtr.numbers = lnp_model::Numbers::from_slice(&[number]);
        dtr.detail.current = Some(e.current);
        // Marked running now, so that the `C` arriving in the same instant starts nothing more.
        self.dtr_running.insert((number, port_ref));
        self.push_task(at, Task::Emit(Output::action(dtr)), shifted);
    }
}
