//! What one PLNR detail record does to a routing table (PLNR-SIM/1, "Meaning").

use std::fmt;

use lnp_model::{CarrierCode, PortStatus, TelephoneNumber};
use lnp_plnr::{Action, FileKind, Record, RecordBrief};

/// The routing-relevant fields of a PLNR detail record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Change {
    pub action: Action,
    pub number: TelephoneNumber,
    pub current: CarrierCode,
    pub losing: CarrierCode,
    pub status: PortStatus,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "action {} number {} current {} losing {} status {}",
            self.action, self.number, self.current, self.losing, self.status
        )
    }
}

/// What a record does to the entry for its number in a loading carrier's table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Effect {
    /// The entry stays as it is (an update's pending `P` record: routing does not change yet).
    Keep,
    /// The number routes to this carrier (never the donor).
    RouteTo(CarrierCode),
    /// The number routes by its allocation, to the donor.
    Default,
}

impl From<&Record> for Change {
    fn from(r: &Record) -> Self {
        Self {
            action: r.action,
            number: r.number,
            current: r.current,
            losing: r.losing,
            status: r.status,
        }
    }
}

impl From<RecordBrief> for Change {
    fn from(r: RecordBrief) -> Self {
        Self {
            action: r.action,
            number: r.number,
            current: r.current,
            losing: r.losing,
            status: r.status,
        }
    }
}

impl Change {
    /// Applies the statuses as the PLNR spec says, for a record published by `donor`:
    /// - `C` completed: `A`/`C` route to the current carrier; `D` returns the number to the donor.
    /// - `P` pending: in an update nothing changes yet; in a snapshot the number routes as before
    ///   the pending port, i.e. to its losing carrier (the donor, for an `A` record).
    /// - `N` did not proceed and `R` returned: the number routes as before the port, to the
    ///   losing carrier; `D` returns it to the donor.
    ///
    /// A target equal to the donor is [`Effect::Default`], so tables hold only ported numbers.
    pub fn effect(&self, donor: CarrierCode, kind: FileKind) -> Effect {
        let to = |c: CarrierCode| {
            if c == donor {
                Effect::Default
            } else {
                Effect::RouteTo(c)
            }
        };
        match (self.status, self.action) {
            (PortStatus::P, _) if kind == FileKind::Update => Effect::Keep,
            (PortStatus::P, Action::D) => Effect::Keep,
            (_, Action::D) => Effect::Default,
            (PortStatus::C, _) => to(self.current),
            (PortStatus::P | PortStatus::N | PortStatus::R, _) => to(self.losing),
        }
    }
}
