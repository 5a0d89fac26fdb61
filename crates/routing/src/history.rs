//! The routing state of a market through time, and the path of a call at any moment.
//!
//! [`RoutingHistory`] records, per number, who serves it; per carrier and number, where that
//! carrier's own table points it; and per carrier and number, its transit routing (donor transit
//! routing, or a former losing carrier forwarding during a port's DTR period). Each is a small
//! timeline of `(instant, value)` entries, so memory is proportional to the events recorded and a
//! time-travel query ("what was the path at T") is a binary search, never a re-run.
//!
//! Out-of-order events: an event is inserted at its place in time; events at the same instant
//! take effect in the order they were recorded (the later one wins). No derived state exists, so
//! an out-of-order event changes the answers only for instants at or after its own.

use std::collections::BTreeMap;
use std::fmt;

use lnp_model::{CarrierCode, TelephoneNumber, Timestamp};

use crate::allocations::Allocations;

/// The longest path [`RoutingHistory::path`] follows (the originating carrier included) before it
/// declares the call unreachable; the routing model never needs more than three.
pub const MAX_HOPS: usize = 4;

/// Whether the call reached a carrier that serves the number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Delivered,
    Unreachable,
}

/// The path of one call: the carriers it visited in order, whether it was delivered, and for each
/// hop the reason that carrier delivered, forwarded or failed it (`reasons[i]` is about `hops[i]`,
/// so both have the same length).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CallPath {
    pub hops: Vec<CarrierCode>,
    pub outcome: Outcome,
    pub reasons: Vec<String>,
}

impl CallPath {
    pub fn is_delivered(&self) -> bool {
        self.outcome == Outcome::Delivered
    }

    /// The carriers as written in scenario expectations (`["9003", "9001", "9002"]`), or `None`
    /// when the call is unreachable.
    pub fn delivered_hops(&self) -> Option<&[CarrierCode]> {
        self.is_delivered().then_some(self.hops.as_slice())
    }
}

impl fmt::Display for CallPath {
    /// `9003 -> 9001 -> 9002`, or `unreachable (9003 -> 9001)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hops: Vec<String> = self.hops.iter().map(ToString::to_string).collect();
        match self.outcome {
            Outcome::Delivered => write!(f, "{}", hops.join(" -> ")),
            Outcome::Unreachable => write!(f, "unreachable ({})", hops.join(" -> ")),
        }
    }
}

/// `(instant, value)` entries in time order; the value at T is that of the last entry at or before T.
#[derive(Clone, Debug)]
struct Timeline<T>(Vec<(Timestamp, T)>);

impl<T: Copy> Timeline<T> {
    fn new() -> Self {
        Self(Vec::new())
    }

    /// Inserts after every entry at or before `at`: in place for in-order events, and at the same
    /// instant the later-recorded event wins.
    fn record(&mut self, at: Timestamp, value: T) {
        let i = self.0.partition_point(|&(t, _)| t <= at);
        self.0.insert(i, (at, value));
    }

    fn at(&self, at: Timestamp) -> Option<(Timestamp, T)> {
        let i = self.0.partition_point(|&(t, _)| t <= at);
        i.checked_sub(1).map(|i| self.0[i])
    }
}

/// Time-travel history of a market's routing state. See the module documentation.
#[derive(Clone, Debug)]
pub struct RoutingHistory {
    allocations: Allocations,
    serving: BTreeMap<TelephoneNumber, Timeline<CarrierCode>>,
    learned: BTreeMap<(CarrierCode, TelephoneNumber), Timeline<Option<CarrierCode>>>,
    transit: BTreeMap<(CarrierCode, TelephoneNumber), Timeline<Option<CarrierCode>>>,
    events: usize,
}

impl RoutingHistory {
    pub fn new(allocations: Allocations) -> Self {
        Self {
            allocations,
            serving: BTreeMap::new(),
            learned: BTreeMap::new(),
            transit: BTreeMap::new(),
            events: 0,
        }
    }

    pub fn allocations(&self) -> &Allocations {
        &self.allocations
    }

    /// How many events have been recorded.
    pub fn events(&self) -> usize {
        self.events
    }

    /// From `at`, `carrier` serves `number` (a cutover to the gaining carrier, a return to the
    /// losing one, a give-back to the donor).
    pub fn serve(&mut self, at: Timestamp, number: TelephoneNumber, carrier: CarrierCode) {
        self.events += 1;
        self.serving
            .entry(number)
            .or_insert_with(Timeline::new)
            .record(at, carrier);
    }

    /// From `at`, `carrier`'s own table points `number` at `target` (it loaded a completed PLNR
    /// record, or took part in the port); `None` reverts it to the allocation default (it loaded
    /// an N/R/D record).
    pub fn learn(&mut self, at: Timestamp, carrier: CarrierCode, number: TelephoneNumber, target: Option<CarrierCode>) {
        self.events += 1;
        self.learned
            .entry((carrier, number))
            .or_insert_with(Timeline::new)
            .record(at, target);
    }

    /// From `at`, `carrier` (the donor, or a former losing carrier) forwards calls it receives for
    /// `number` to `target` (donor transit routing). A later start replaces the target.
    pub fn start_transit(&mut self, at: Timestamp, carrier: CarrierCode, number: TelephoneNumber, target: CarrierCode) {
        self.events += 1;
        self.transit
            .entry((carrier, number))
            .or_insert_with(Timeline::new)
            .record(at, Some(target));
    }

    /// From `at`, `carrier` no longer forwards calls for `number`.
    pub fn stop_transit(&mut self, at: Timestamp, carrier: CarrierCode, number: TelephoneNumber) {
        self.events += 1;
        self.transit
            .entry((carrier, number))
            .or_insert_with(Timeline::new)
            .record(at, None);
    }

    /// Who serves `number` at `at` (its donor until a `serve` event says otherwise), with the
    /// instant of the event that decided it. `None` outside every allocation, unless a `serve`
    /// event placed it.
    pub fn server(&self, number: TelephoneNumber, at: Timestamp) -> Option<(CarrierCode, Option<Timestamp>)> {
        match self.serving.get(&number).and_then(|t| t.at(at)) {
            Some((since, c)) => Some((c, Some(since))),
            None => self.allocations.donor_of(number).map(|d| (d, None)),
        }
    }

    /// Where `carrier`'s own table points `number` at `at`: `Some((since, Some(g)))` for a learned
    /// carrier, `Some((since, None))` reverted to the allocation, `None` never learned.
    pub fn learned(
        &self,
        carrier: CarrierCode,
        number: TelephoneNumber,
        at: Timestamp,
    ) -> Option<(Timestamp, Option<CarrierCode>)> {
        self.learned.get(&(carrier, number)).and_then(|t| t.at(at))
    }

    /// `carrier`'s transit routing for `number` at `at`: `Some((since, Some(target)))` active,
    /// `Some((since, None))` stopped, `None` never started.
    pub fn transit(
        &self,
        carrier: CarrierCode,
        number: TelephoneNumber,
        at: Timestamp,
    ) -> Option<(Timestamp, Option<CarrierCode>)> {
        self.transit.get(&(carrier, number)).and_then(|t| t.at(at))
    }

    /// The path of a call from `from` to `number` at `at`, with the reason for each hop
    /// (scenario-format.md, "Routing model").
    pub fn path(&self, from: CarrierCode, number: TelephoneNumber, at: Timestamp) -> CallPath {
        let mut hops = vec![from];
        let mut reasons = Vec::new();
        let Some(donor) = self.allocations.donor_of(number) else {
            reasons.push(format!("{number} is outside every allocation: no carrier can route it"));
            return CallPath {
                hops,
                outcome: Outcome::Unreachable,
                reasons,
            };
        };
        let server = self.server(number, at);
        let serves = |c: CarrierCode| server.is_some_and(|(s, _)| s == c);
        let serves_reason = |c: CarrierCode| match server {
            Some((_, Some(since))) => format!("{c} serves {number} (since {since})"),
            _ => format!("{c} serves {number}: its donor, never ported"),
        };
        if serves(from) {
            reasons.push(serves_reason(from));
            return CallPath {
                hops,
                outcome: Outcome::Delivered,
                reasons,
            };
        }
        // Step 1: the originating carrier's own table. When it has nowhere to send the call (it is
        // the donor, or its table points at itself), it acts on the call as a receiving carrier.
        let first = match self.learned(from, number, at) {
            Some((since, Some(g))) if g != from => {
                Ok((g, format!("{from}'s table routes {number} to {g} (learned at {since})")))
            }
            Some((since, Some(_))) => Err(format!("{from}'s table routes {number} to itself (since {since}); ")),
            Some((since, None)) if donor != from => Ok((
                donor,
                format!("{from}'s table routes {number} to its donor {donor} (reverted to the allocation at {since})"),
            )),
            None if donor != from => Ok((
                donor,
                format!("{from} has no entry for {number}: routes it to its donor {donor} (allocation)"),
            )),
            Some((_, None)) | None => Err(format!("{from} is the donor of {number}; ")),
        };
        let mut at_carrier = from;
        let mut note = String::new();
        match first {
            Ok((g, why)) => {
                reasons.push(why);
                hops.push(g);
                at_carrier = g;
            }
            Err(n) => note = n,
        }
        // Steps 2 and 3: each receiving carrier delivers, forwards by transit routing, or fails.
        loop {
            let x = at_carrier;
            let note = std::mem::take(&mut note);
            if serves(x) {
                reasons.push(format!("{note}{}", serves_reason(x)));
                return CallPath {
                    hops,
                    outcome: Outcome::Delivered,
                    reasons,
                };
            }
            let fail = match self.transit(x, number, at) {
                Some((since, Some(g))) => {
                    if hops.contains(&g) {
                        format!("{x} forwards {number} to {g}, which the call has already visited: routing loop")
                    } else if hops.len() >= MAX_HOPS {
                        format!("{x} forwards {number} to {g}, but the call has reached the {MAX_HOPS}-hop limit")
                    } else {
                        reasons.push(format!(
                            "{note}{x} does not serve {number}: forwards it to {g} by transit routing (started {since})"
                        ));
                        hops.push(g);
                        at_carrier = g;
                        continue;
                    }
                }
                Some((since, None)) => {
                    format!("{x} does not serve {number} and its transit routing for it stopped at {since}")
                }
                None => format!("{x} does not serve {number} and has no transit routing for it"),
            };
            reasons.push(format!("{note}{fail}"));
            return CallPath {
                hops,
                outcome: Outcome::Unreachable,
                reasons,
            };
        }
    }
}
