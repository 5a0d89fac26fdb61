//! The register as a snapshot: one record per number, in number order. Updates apply to it in
//! the order they happened; two snapshots diff into the update that turns one into the other.
//!
//! Meaning of an update record (`plnr-format.md`, "Meaning"):
//! - `A` or `C` with status `P` or `C`: the number's entry becomes the record (a pending port is
//!   listed with status `P`; it routes as before, that is to its losing carrier, until `C`).
//! - `A` or `C` with status `N` or `R`: the port is cancelled and the number routes as before:
//!   for `A` (ported from the donor) the entry goes; for `C` the entry goes back to the record
//!   the cancelled port replaced, when this register saw it being replaced, and otherwise to a
//!   completed record at the losing carrier built from the update (where that carrier got the
//!   number from is then unknown, so the record says action `A`, losing carrier the donor).
//! - `D` with status `C`: the number is back with the donor: the entry goes. `D` with `P`, `N`
//!   or `R` changes nothing (a pending return routes as before; a return that did not proceed
//!   leaves the number where it was).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use lnp_model::{CarrierCode, PortStatus, TelephoneNumber};

use crate::types::{Action, Header, Record};

/// A full snapshot of a donor's register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    donor: CarrierCode,
    /// The time the snapshot describes (Sydney local): the created-at of the last file applied.
    as_of: NaiveDateTime,
    records: BTreeMap<TelephoneNumber, Record>,
    /// Records displaced by a later port of the same number, to restore if that port is
    /// cancelled. Not part of the snapshot (nor of equality between snapshots' records).
    displaced: BTreeMap<TelephoneNumber, Record>,
}

impl Register {
    pub fn new(donor: CarrierCode, as_of: NaiveDateTime) -> Self {
        Self {
            donor,
            as_of,
            records: BTreeMap::new(),
            displaced: BTreeMap::new(),
        }
    }

    /// A register from a full snapshot's header and records (a later record for the same
    /// number replaces an earlier one; the reader reports such duplicates).
    pub fn from_snapshot(header: &Header, records: impl IntoIterator<Item = Record>) -> Self {
        let mut reg = Self::new(header.donor, header.created_at);
        for r in records {
            reg.records.insert(r.number, r);
        }
        reg
    }

    pub fn donor(&self) -> CarrierCode {
        self.donor
    }

    pub fn as_of(&self) -> NaiveDateTime {
        self.as_of
    }

    pub fn set_as_of(&mut self, at: NaiveDateTime) {
        self.as_of = at;
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn get(&self, n: TelephoneNumber) -> Option<&Record> {
        self.records.get(&n)
    }

    /// The records in number order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }

    /// Whether two registers list the same records (their times and history aside).
    pub fn same_records(&self, other: &Register) -> bool {
        self.records == other.records
    }

    /// Applies update records in the order they happened.
    pub fn apply<'a>(&mut self, updates: impl IntoIterator<Item = &'a Record>) {
        for u in updates {
            self.apply_one(u);
        }
    }

    /// Applies an update file (its records, then its created-at as the register's time).
    pub fn apply_file(&mut self, header: &Header, updates: &[Record]) {
        self.apply(updates);
        self.as_of = header.created_at;
    }

    fn apply_one(&mut self, u: &Record) {
        let n = u.number;
        match (u.action, u.status) {
            (Action::A | Action::C, PortStatus::P | PortStatus::C) => {
                let previous = self.records.insert(n, u.clone());
                if let Some(prev) = previous {
                    // A new port of the number (not the same port moving from P to C).
                    if prev.port_ref != u.port_ref || prev.current != u.current {
                        self.displaced.insert(n, prev);
                    }
                }
            }
            (Action::C, PortStatus::N | PortStatus::R) => {
                let restored = match self.displaced.remove(&n) {
                    Some(prev) if prev.current == u.losing => prev,
                    _ => Record {
                        action: Action::A,
                        current: u.losing,
                        losing: self.donor,
                        status: PortStatus::C,
                        ..u.clone()
                    },
                };
                if restored.current == self.donor {
                    self.records.remove(&n);
                } else {
                    self.records.insert(n, restored);
                }
            }
            (Action::A, PortStatus::N | PortStatus::R) | (Action::D, PortStatus::C) => {
                self.records.remove(&n);
                self.displaced.remove(&n);
            }
            (Action::D, _) => {}
        }
    }

    /// The update that turns `old` into `new`: see [`diff`].
    pub fn diff(old: &Register, new: &Register) -> Vec<Record> {
        diff(old, new)
    }
}

/// The update that turns `old` into `new`, in number order: `new`'s record for every number
/// that is new or changed, and a completed deletion (`D`, current the donor, losing the old
/// current carrier, effective at `new`'s time) for every number that is gone.
pub fn diff(old: &Register, new: &Register) -> Vec<Record> {
    let mut out = Vec::new();
    let mut olds = old.records.values().peekable();
    let mut news = new.records.values().peekable();
    let delete = |r: &Record| Record {
        action: Action::D,
        current: new.donor,
        losing: r.current,
        status: PortStatus::C,
        effective_at: new.as_of,
        ..r.clone()
    };
    loop {
        match (olds.peek(), news.peek()) {
            (None, None) => break,
            (Some(o), None) => {
                out.push(delete(o));
                olds.next();
            }
            (None, Some(n)) => {
                out.push((*n).clone());
                news.next();
            }
            (Some(o), Some(n)) => match o.number.cmp(&n.number) {
                std::cmp::Ordering::Less => {
                    out.push(delete(o));
                    olds.next();
                }
                std::cmp::Ordering::Greater => {
                    out.push((*n).clone());
                    news.next();
                }
                std::cmp::Ordering::Equal => {
                    if o != n {
                        out.push((*n).clone());
                    }
                    olds.next();
                    news.next();
                }
            },
        }
    }
    out
}
