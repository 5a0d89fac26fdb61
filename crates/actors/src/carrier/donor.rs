//! The donor: donor transit routing, its register (PLNR) and numbers given back to it.

use lnp_model::{CarrierCode, Category, Message, MsgKind, PortRef, PortStatus, TelephoneNumber, Timestamp};

use super::{Carrier, DonorEntry, Job, Output, Task};

impl Carrier {
    /// Consequences of having actually sent or done something (a skipped `DTR_START` starts no
    /// transit routing, so no `DTR_STOP` follows it).
    pub(super) fn after_emit(&mut self, at: Timestamp, o: &Output) {
        if let Output::Action(m) = o {
            if m.kind == MsgKind::DtrStart {
                if let Some(port_ref) = m.port_ref {
                    let stop = self.calendar.add(at, self.rulebook.dtr_duration);
                    for n in &m.numbers {
                        self.schedule(stop, Job::DtrStop { number: *n, port_ref });
                    }
                }
            }
        }
    }

    /// Donor: a number ported out of its ranges comes back (`GIVE_BACK` by `from`). Transit
    /// routing for it ends, the register record is deleted (status `R` with the donor as the
    /// current carrier: action `D`), and the number is held in quarantine (`QUARANTINE`).
    pub(super) fn take_back(&mut self, now: Timestamp, number: TelephoneNumber, from: CarrierCode) {
        if !self.owns_range(number) {
            return;
        }
        let code = self.code;
        let dtr_running = self
            .agenda
            .any(|t| matches!(t, Task::Job(Job::DtrStop { number: n, .. }) if *n == number));
        self.agenda.retain(|t| {
            !matches!(t, Task::Job(Job::DtrStop { number: n, .. } | Job::PlnrPublish { number: n }) if *n == number)
        });
        self.ported_out.remove(&number);
        self.services.remove(&number);
        let until = self.calendar.add(now, self.rulebook.quarantine);
        self.quarantine.insert(number, until);
        let Some(entry) = self.donor.get(&number) else {
            return;
        };
        let (port_ref, category, published) = (entry.port_ref, entry.category, entry.published);
        if dtr_running {
            let mut stop = Message::new(MsgKind::DtrStop, port_ref);
            stop.category = Some(category);
            stop.numbers = vec![number];
            stop.detail.current = Some(code);
            stop.detail.reason = Some("given back".into());
            self.act(now, stop);
        }
        match self.donor.get_mut(&number) {
            Some(entry) if published => {
                entry.status = PortStatus::R;
                entry.current = code;
                entry.losing = from;
                self.schedule(now, Job::PlnrPublish { number });
            }
            _ => {
                self.donor.remove(&number);
            }
        }
    }

    /// Donor duties for a completed port of its numbers: start transit routing now, publish the
    /// completed record once the return window has ended (`PLNR-UPDATE`).
    pub(super) fn donor_port_out(
        &mut self,
        at: Timestamp,
        current: CarrierCode,
        losing: CarrierCode,
        port_ref: PortRef,
        category: Category,
        numbers: &[TelephoneNumber],
    ) {
        let mut dtr = Message::new(MsgKind::DtrStart, port_ref);
        dtr.category = Some(category);
        dtr.numbers = numbers.to_vec();
        dtr.detail.current = Some(current);
        self.act(at, dtr);
        let window_end = self.calendar.add(at, self.rulebook.return_window);
        for n in numbers {
            self.donor.insert(
                *n,
                DonorEntry {
                    current,
                    losing,
                    port_ref,
                    category,
                    status: PortStatus::C,
                    published: false,
                },
            );
            self.schedule(window_end, Job::PlnrPublish { number: *n });
        }
    }

    /// The donor's side of a reversal or emergency return: transit routing stops, and the return
    /// is published (status `R`) where the completed port already was; otherwise the record that
    /// was waiting for the return window is simply never published.
    pub(super) fn donor_return(
        &mut self,
        at: Timestamp,
        n: TelephoneNumber,
        port_ref: PortRef,
        category: Category,
        now_with: CarrierCode,
    ) {
        let mut stop = Message::new(MsgKind::DtrStop, port_ref);
        stop.category = Some(category);
        stop.numbers = vec![n];
        stop.detail.current = Some(now_with);
        self.act(at, stop);
        self.agenda.retain(
            |t| !matches!(t, Task::Job(Job::DtrStop { number, .. } | Job::PlnrPublish { number }) if *number == n),
        );
        let code = self.code;
        let published = self
            .donor
            .get(&n)
            .is_some_and(|e| e.published && e.port_ref == port_ref);
        if published {
            if let Some(e) = self.donor.get_mut(&n) {
                e.status = PortStatus::R;
                e.current = now_with;
            }
            self.schedule(at, Job::PlnrPublish { number: n });
        } else if now_with == code {
            self.donor.remove(&n);
        } else if let Some(e) = self.donor.get_mut(&n) {
            e.current = now_with;
        }
    }

    /// The donor of a number that another carrier ported (a third-party port): follow it with
    /// donor transit routing and the register.
    pub(super) fn on_donor_notify(&mut self, at: Timestamp, from: CarrierCode, port_ref: PortRef, m: &Message) {
        let (Some(status), Some(current)) = (m.detail.status, m.detail.current) else {
            return;
        };
        let category = m.category.unwrap_or(Category::A);
        let own: Vec<TelephoneNumber> = m.numbers.iter().copied().filter(|n| self.owns_range(*n)).collect();
        if own.is_empty() {
            return;
        }
        match status {
            PortStatus::C => self.donor_port_out(at, current, from, port_ref, category, &own),
            PortStatus::R => {
                for n in own {
                    self.donor_return(at, n, port_ref, category, current);
                }
            }
            PortStatus::P | PortStatus::N => {}
        }
    }
}
