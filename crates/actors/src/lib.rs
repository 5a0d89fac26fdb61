//! lnp-actors: carrier porting systems as sans-IO state machines.
//!
//! One [`Carrier`] value per carrier plays every role it has in every port: gaining (it starts
//! ports for its customers), losing (it validates and answers them, and cuts numbers over) and
//! donor (it runs donor transit routing and publishes its register). It is driven by
//! [`Carrier::handle`] with the current instant and one input, and asks to be woken at
//! [`Carrier::next_deadline`]. Every time it keeps comes from the [`lnp_model::Rulebook`].
//!
//! What this crate does not do: no I/O, no clock, no randomness (the engine passes each
//! message's processing time in), no routing tables (the engine derives them from the actions).
//! Flows carried: Cat A and Cat D (SNA, ECA, COMPLETION); Cat C (PNV, CNA with receipt and
//! project managers, CCA, cutover at the agreed time); re-targets, withdrawal, reversal and
//! emergency return; third-party ports (`DONOR_NOTIFY` P, C, N, R); daily capacity; give-back and
//! quarantine; donor transit routing and register publication.

mod carrier;
mod config;

pub use carrier::{Carrier, GainingState, Input, Output, Unexpected};
pub use config::{Agreement, CarrierConfig, Command, Fault, FaultAction, PortRequest, Service, ServiceKind};
pub use lnp_model::Outcome;
