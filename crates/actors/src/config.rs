//! What a carrier is told when it is created, and the commands its customers give it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use lnp_model::{CarrierCode, Category, MsgKind, NumberRange, PortRef, RejectCode, Span, TelephoneNumber, Timestamp};

pub use lnp_model::Agreement;

pub use lnp_model::ServiceKind;

pub use lnp_model::Service;

/// How a carrier's porting system misbehaves (`[[faults]]` in a scenario).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// It answers a received message this much later than it otherwise would.
    Delay(Span),
    /// It never answers a received message.
    Drop,
    /// It rejects a received message with this code, though it is valid.
    Reject(RejectCode),
    /// It accepts a received message the rules say it must reject.
    Accept,
    /// It never sends the message or takes the action.
    Skip,
    /// It sends the message or takes the action this much earlier (negative) or later.
    Shift(Span),
}

impl FaultAction {
    /// Receive-side faults apply to messages the carrier receives; the others to what it sends
    /// or does.
    pub fn on_receive(self) -> bool {
        matches!(self, Self::Delay(_) | Self::Drop | Self::Reject(_) | Self::Accept)
    }
}

/// One fault, with how many more times it fires (`None`: every time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// `None` matches any message or action (`"*"`).
    pub on: Option<MsgKind>,
    pub action: FaultAction,
    pub remaining: Option<u32>,
}

/// Everything a carrier knows about itself at the start.
#[derive(Clone, Debug, Default)]
pub struct CarrierConfig {
    pub name: String,
    /// Ranges allocated to this carrier: it is their donor.
    pub ranges: Vec<NumberRange>,
    /// `DAILY-CAP`: ECAs and CCAs it confirms per Sydney cutover date.
    pub daily_cap: Option<u32>,
    pub agreements: BTreeMap<CarrierCode, Agreement>,
    /// Services it holds at the start (numbers in its own ranges without an entry are simple
    /// services of an unnamed customer, unless ported away).
    pub services: BTreeMap<TelephoneNumber, Service>,
    /// Numbers of its own ranges that were ported away before the story starts, with the carrier
    /// now serving them.
    pub ported_out: BTreeMap<TelephoneNumber, CarrierCode>,
    pub faults: Vec<Fault>,
    /// When the story starts: the effective instant of the register records of numbers ported
    /// before it.
    pub start: Timestamp,
    /// The numbering plan: which carrier is the donor of which range (public knowledge).
    pub allocations: Vec<(NumberRange, CarrierCode)>,
}

/// A customer's request to the gaining carrier to port numbers in.
#[derive(Clone, Debug)]
pub struct PortRequest {
    pub port_ref: PortRef,
    pub category: Category,
    pub numbers: Vec<TelephoneNumber>,
    pub losing: CarrierCode,
    /// The donor of each number (the engine looks it up in the allocations).
    pub donors: Vec<(TelephoneNumber, CarrierCode)>,
    pub customer: String,
    pub account: String,
    pub ca_date: NaiveDate,
    /// The customer's preferred cutover.
    pub cutover: Timestamp,
    /// Cat C: validate with a PNV before the CNA.
    pub pnv: bool,
    /// New cutover instants the customer asks for, in order, once the port is confirmed.
    pub retargets: Vec<Timestamp>,
    /// Keep the port's state after it ends (ports a scenario names, for its expectations);
    /// generated ports are counted and forgotten, so a long run's memory stays bounded.
    pub keep: bool,
}

/// What a carrier's own staff or customers ask of it.
#[derive(Clone, Debug)]
pub enum Command {
    /// A customer asks this (gaining) carrier to port numbers in.
    Submit(Box<PortRequest>),
    /// The customer withdraws the port.
    Withdraw(PortRef),
    /// The customer asks for a reversal (Cat A) or emergency return (Cat C).
    Return(PortRef),
    /// The customer disconnects a number this carrier serves; it goes back to its donor.
    GiveBack {
        number: TelephoneNumber,
        donor: CarrierCode,
    },
    /// The donor takes back a number `from` gave back (`GIVE_BACK`): it deletes the register
    /// record and holds the number in quarantine (`QUARANTINE`).
    TakeBack { number: TelephoneNumber, from: CarrierCode },
}
