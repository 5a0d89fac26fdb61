//! lnp-sim: the discrete-event engine, scenario files and the scenario runner.
//!
//! A [`scenario::Scenario`] sets up a market and a story; [`engine::Sim`] plays it on a virtual
//! clock, driving the carrier actors of `lnp-actors`, handing every trace record to a
//! [`engine::TraceSink`], and keeping the routing history and the donors' registers from the
//! actions carriers take; [`runner::run_scenario`] also audits the trace and checks the
//! scenario's expectations. A caller can also drive the engine's clock itself and play some
//! carriers from outside ([`engine::ExternalEvent`], [`engine::Sim::advance_to`]).
//!
//! What this crate does not do: no file I/O (the caller reads scenario text and writes the
//! trace), no wall clock; all randomness comes from one `ChaCha8` generator seeded by the scenario.

pub mod context;
pub mod engine;
pub mod load;
pub mod runner;
pub mod scenario;

pub use engine::{register_of, ExternalEvent, Publication, RunOptions, RunStats, Sim, StepError, TraceSink};
pub use runner::{conclude, run_scenario, start, ExpectResult, RunReport};
pub use scenario::{HolidaySource, Scenario};
