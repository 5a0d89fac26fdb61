//! What the audit needs besides the trace (`rules.md`, "What the audit needs besides the
//! trace"): who is the donor of a number, which pairs of carriers have agreements, each
//! carrier's daily cap, and what kind of service a number is.
//!
//! The CLI fills a [`Context`] from a scenario file's `[[carriers]]`, `[[agreements]]` and
//! `[[services]]`; the simulator can build one from its own scenario.

use std::collections::BTreeMap;

use lnp_model::{CarrierCode, NumberRange, TelephoneNumber};

/// The market around a trace.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub carriers: Vec<CarrierInfo>,
    pub agreements: Vec<Agreement>,
    pub services: Vec<ServiceHolding>,
}

/// A carrier: the ranges allocated to it (it is their donor) and its daily cap, if any.
#[derive(Clone, Debug)]
pub struct CarrierInfo {
    pub code: CarrierCode,
    pub ranges: Vec<NumberRange>,
    pub daily_cap: Option<u32>,
}

pub use lnp_model::Agreement;

pub use lnp_model::ServiceKind;

pub use lnp_model::{Service, ServiceHolding};

/// The context in the shape the audit looks things up in (sorted ranges, ordered maps).
#[derive(Clone, Debug, Default)]
pub(crate) struct ContextIndex {
    donors: Vec<(TelephoneNumber, TelephoneNumber, CarrierCode)>,
    services: Vec<(TelephoneNumber, TelephoneNumber, ServiceKind)>,
    agreements: BTreeMap<(CarrierCode, CarrierCode), bool>,
    caps: BTreeMap<CarrierCode, u32>,
}

fn pair(a: CarrierCode, b: CarrierCode) -> (CarrierCode, CarrierCode) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

fn lookup<T: Copy>(ranges: &[(TelephoneNumber, TelephoneNumber, T)], n: TelephoneNumber) -> Option<T> {
    let end = ranges.partition_point(|(first, _, _)| *first <= n);
    ranges[..end]
        .iter()
        .rev()
        .find(|(first, last, _)| *first <= n && n <= *last)
        .map(|(_, _, v)| *v)
}

impl ContextIndex {
    pub(crate) fn new(ctx: &Context) -> Self {
        let mut donors: Vec<_> = ctx
            .carriers
            .iter()
            .flat_map(|c| c.ranges.iter().map(move |r| (r.first, r.last, c.code)))
            .collect();
        donors.sort_by_key(|(first, last, _)| (*first, *last));
        let mut services: Vec<_> = ctx
            .services
            .iter()
            .flat_map(|s| s.numbers.iter().map(move |r| (r.first, r.last, s.service.kind)))
            .collect();
        services.sort_by_key(|(first, last, _)| (*first, *last));
        let agreements = ctx
            .agreements
            .iter()
            .map(|a| (pair(a.carriers[0], a.carriers[1]), a.after_hours))
            .collect();
        let caps = ctx
            .carriers
            .iter()
            .filter_map(|c| c.daily_cap.map(|cap| (c.code, cap)))
            .collect();
        Self {
            donors,
            services,
            agreements,
            caps,
        }
    }

    /// The carrier the number's range is allocated to.
    pub(crate) fn donor_of(&self, n: TelephoneNumber) -> Option<CarrierCode> {
        lookup(&self.donors, n)
    }

    /// The kind of service; a number no service lists is a simple service at its donor.
    pub(crate) fn service_kind(&self, n: TelephoneNumber) -> ServiceKind {
        lookup(&self.services, n).unwrap_or(ServiceKind::Simple)
    }

    /// `None` when the pair has no agreement; otherwise whether it allows after-hours ports.
    pub(crate) fn agreement(&self, a: CarrierCode, b: CarrierCode) -> Option<bool> {
        if a == b {
            return Some(true);
        }
        self.agreements.get(&pair(a, b)).copied()
    }

    pub(crate) fn daily_cap(&self, c: CarrierCode) -> Option<u32> {
        self.caps.get(&c).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> TelephoneNumber {
        s.parse().unwrap()
    }
    fn c(s: &str) -> CarrierCode {
        s.parse().unwrap()
    }

    #[test]
    fn lookups() {
        let ctx = Context {
            carriers: vec![
                CarrierInfo {
                    code: c("9001"),
                    ranges: vec!["0255500000-0255509999".parse().unwrap()],
                    daily_cap: Some(2),
                },
                CarrierInfo {
                    code: c("9002"),
                    ranges: vec!["0370100000-0370109999".parse().unwrap()],
                    daily_cap: None,
                },
            ],
            agreements: vec![Agreement {
                carriers: [c("9002"), c("9001")],
                after_hours: true,
            }],
            services: vec![ServiceHolding {
                numbers: vec!["0255501200-0255501299".parse().unwrap()],
                carrier: c("9001"),
                service: Service {
                    kind: ServiceKind::Complex,
                    ..Service::simple()
                },
            }],
        };
        let ix = ContextIndex::new(&ctx);
        assert_eq!(ix.donor_of(n("0255501234")), Some(c("9001")));
        assert_eq!(ix.donor_of(n("0370109999")), Some(c("9002")));
        assert_eq!(ix.donor_of(n("0870100000")), None);
        assert_eq!(ix.service_kind(n("0255501234")), ServiceKind::Complex);
        assert_eq!(ix.service_kind(n("0255501300")), ServiceKind::Simple);
        assert_eq!(ix.agreement(c("9001"), c("9002")), Some(true));
        assert_eq!(ix.agreement(c("9001"), c("9003")), None);
        assert_eq!(ix.daily_cap(c("9001")), Some(2));
        assert_eq!(ix.daily_cap(c("9002")), None);
    }
}
