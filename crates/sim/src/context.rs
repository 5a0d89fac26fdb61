//! The audit's view of a scenario's market: donors, agreements, caps and services
//! (`rules.md`, "What the audit needs besides the trace").

use lnp_audit::{CarrierInfo, Context};

use crate::scenario::Scenario;

/// The carriers, agreements and services of a scenario, for the audit.
pub fn audit_context(s: &Scenario) -> Context {
    Context {
        carriers: s
            .carriers
            .iter()
            .map(|c| CarrierInfo {
                code: c.code,
                ranges: c.ranges.clone(),
                daily_cap: c.daily_cap,
            })
            .collect(),
        agreements: s.agreements.clone(),
        services: s.services.clone(),
    }
}
