//! lnp-plan: what is due when in a port, before it starts and while it runs.
//!
//! - [`plan`]: every deadline of one port from its first request (`lnpsim plan`), with the
//!   earliest legal cutover; [`windows`]: the legal cutover windows of each day
//!   (`lnpsim plan windows`); [`migration`]: a large customer's numbers in Cat C batches over
//!   business days under the losing carrier's daily cap (`lnpsim plan migration`), and the same
//!   plan as a scenario to rehearse; [`ics`]: a plan as an iCalendar file.
//! - [`track`]: the tracker's stage machine and the open duties of a port from the rows
//!   recorded for it (`lnpsim track`).
//!
//! No deadline is computed here: every instant comes from [`lnp_model::Duties`], the functions
//! the carrier actors and the audit call too. This crate only decides which duty applies and at
//! which instant of the port it is evaluated.
//!
//! What this crate does not do: no file or database I/O, no wall clock (the caller passes `at`).

pub mod ics;
pub mod migration;
pub mod plan;
pub mod track;
pub mod windows;

pub use plan::{Parties, Phase, Plan, PlanError, PlanRequest, Step, Who};

/// A date as `YYYY-MM-DD` in JSON.
#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with passes a reference"
)]
fn date_str<S: serde::Serializer>(d: &chrono::NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}
