//! lnp-model: the vocabulary of lnpsim.
//!
//! Telephone numbers, carrier codes, categories and port references; every message and action of
//! the trace format as a typed value; trace records with their CSV and JSON Lines encodings; the
//! Sydney business calendar; and the rulebook (the Code's rules as data).
//!
//! What this crate does not do: no file or network I/O (callers pass text or `Read`/`Write`
//! values), no wall clock, no randomness.

pub mod calendar;
pub mod carrier;
pub mod duty;
pub mod fasthash;
pub mod message;
pub mod number;
pub mod queue;
pub mod rulebook;
pub mod states;
pub mod time;
pub mod trace;

pub use calendar::{BusinessCalendar, Holiday};
pub use carrier::{Agreement, CarrierCode, Category, Outcome, PortRef, Service, ServiceHolding, ServiceKind};
pub use duty::{Duties, Reckoner};
pub use message::{
    Code, Detail, Envelope, Message, MsgKind, NumberCode, Numbers, PnvReject, PnvResponse, PortStatus, RejectCode,
    WholeCode,
};
pub use number::{NumberRange, TelephoneNumber};
pub use rulebook::{RuleId, Rulebook};
pub use states::{State, UnknownState};
pub use time::{Span, Timestamp};
pub use trace::{TraceFormat, TraceReader, TraceRecord, TraceWriter};
