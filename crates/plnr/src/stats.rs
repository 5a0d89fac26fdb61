//! Counts of a register's records by carrier, action, status and category.

use std::collections::BTreeMap;

use lnp_model::{CarrierCode, Category, PortStatus};

use crate::types::{Action, Record};

/// Counts, each in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub records: u64,
    /// By current carrier.
    pub by_carrier: BTreeMap<CarrierCode, u64>,
    pub by_action: BTreeMap<Action, u64>,
    pub by_status: BTreeMap<PortStatus, u64>,
    pub by_category: BTreeMap<Category, u64>,
}

impl Stats {
    pub fn add(&mut self, r: &Record) {
        self.records += 1;
        *self.by_carrier.entry(r.current).or_default() += 1;
        *self.by_action.entry(r.action).or_default() += 1;
        *self.by_status.entry(r.status).or_default() += 1;
        *self.by_category.entry(r.category).or_default() += 1;
    }
}
