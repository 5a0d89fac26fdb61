//! lnp-routing: where a call to a telephone number goes.
//!
//! - [`Allocations`]: number ranges allocated to donors (from a scenario or a CSV file).
//! - [`RoutingHistory`]: a market's routing state through time (who serves each number, each
//!   carrier's own table, donor transit routing), answering [`RoutingHistory::path`] for any
//!   originating carrier and any moment from history: the simulator records events into it.
//! - [`TableBuilder`] and [`RoutingTable`]: the market-scale table built from allocations and
//!   PLNR records (snapshots and updates in sequence, statuses applied as PLNR-SIM/1 says), 8
//!   bytes per ported number, for lookups, the switch feed and CSV exports.
//!
//! What this crate does not do: no file I/O (callers pass text and records), no wall clock, no
//! randomness. It does not parse PLNR files: `lnp-plnr` does, and [`Change`] carries the fields
//! routing needs from a record.

mod allocations;
mod change;
mod history;
mod table;

pub use allocations::{AllocationError, AllocationLineError, Allocations};
pub use change::{Change, Effect};
pub use history::{CallPath, Outcome, RoutingHistory, MAX_HOPS};
pub use table::{LoadError, Route, RoutingTable, TableBuilder};
