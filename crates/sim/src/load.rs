//! `[load]`: a stream of generated ports, deterministic from the seed, produced one at a time in
//! submission order so that a market of millions of ports costs constant memory to describe.

use std::collections::BTreeMap;

use chrono::Days;
use lnp_actors::PortRequest;
use lnp_model::{CarrierCode, Category, NumberRange, PortRef, Span, TelephoneNumber, Timestamp};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::scenario::{LoadSpec, Scenario};

/// A losing carrier's pool of numbers, visited in a scrambled but collision-free order.
struct Pool {
    ranges: Vec<NumberRange>,
    capacity: u64,
    stride: u64,
    next: u64,
}

impl Pool {
    fn nth(&self, i: u64) -> Option<TelephoneNumber> {
        let mut k = (i.wrapping_mul(self.stride)) % self.capacity;
        for r in &self.ranges {
            if k < r.len() {
                return TelephoneNumber::from_nsn(r.first.nsn() + k as u32).ok();
            }
            k -= r.len();
        }
        None
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// `GEN-{i}`, the account of the `i`-th generated port, written without the formatting
/// machinery (it cost a fifth of generating a port).
fn generated_account(i: u64) -> String {
    let mut s = String::with_capacity(24);
    s.push_str("GEN-");
    lnp_model::trace::push_u64(&mut s, i);
    s
}

/// Generates the ports of `[load]`.
pub struct LoadGenerator {
    rng: ChaCha8Rng,
    total: u64,
    produced: u64,
    start_ms: i64,
    step_ms: i64,
    /// (losing, gaining) pairs with an agreement, losing first, in code order.
    pairs: Vec<(CarrierCode, CarrierCode)>,
    pools: BTreeMap<CarrierCode, Pool>,
    share_a: f64,
    share_c: f64,
    numbers_per_cat_c: (u32, u32),
    next_time: Option<Timestamp>,
    calendar: lnp_model::BusinessCalendar,
    /// How many business days preferred cutovers spread over: 5, or the window's length in
    /// whole days when shorter (a one-day rush of ports all wants the same cutover day).
    spread_days: u64,
    /// Ports not generated: their losing carriers' ranges had run out.
    missing: u64,
}

impl LoadGenerator {
    pub fn new(scenario: &Scenario, load: &LoadSpec, seed: u64) -> Result<Self, String> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        let mut pools = BTreeMap::new();
        for c in &scenario.carriers {
            let capacity: u64 = c.ranges.iter().map(NumberRange::len).sum();
            if capacity == 0 {
                continue;
            }
            // A stride coprime with the capacity visits every number once.
            let mut stride = (capacity / 2 + 7_919).max(1);
            while gcd(stride, capacity) != 1 {
                stride += 1;
            }
            pools.insert(
                c.code,
                Pool {
                    ranges: c.ranges.clone(),
                    capacity,
                    stride,
                    next: 0,
                },
            );
        }
        let mut pairs = Vec::new();
        for a in &scenario.agreements {
            let [x, y] = a.carriers;
            if pools.contains_key(&x) {
                pairs.push((x, y));
            }
            if pools.contains_key(&y) {
                pairs.push((y, x));
            }
        }
        pairs.sort();
        pairs.dedup();
        if pairs.is_empty() && load.ports > 0 {
            return Err("[load]: no pair of carriers with an agreement where one holds number ranges".into());
        }
        // Every generated port takes fresh numbers from its losing carrier's ranges: refuse a load
        // those ranges cannot hold rather than generate fewer ports than asked.
        let losing: std::collections::BTreeSet<CarrierCode> = pairs.iter().map(|(l, _)| *l).collect();
        let capacity: u64 = losing.iter().filter_map(|c| pools.get(c)).map(|p| p.capacity).sum();
        let (lo, hi) = load.numbers_per_cat_c;
        let per_port = load.share_a + load.share_d + load.share_c * f64::from(lo + hi) / 2.0;
        let needed = (load.ports as f64 * per_port).ceil() as u64;
        if needed > capacity {
            return Err(format!(
                "[load]: {} ports need about {needed} numbers, but the losing carriers' ranges hold {capacity}; \
                 widen the ranges or ask for fewer ports",
                load.ports
            ));
        }
        let window_ms = match load.window {
            Span::Days(d) => d * 86_400_000,
            Span::BusinessDays(d) => d * 7 * 86_400_000 / 5,
            Span::Months(m) => m * 30 * 86_400_000,
            other => other.fixed_millis().unwrap_or(86_400_000),
        }
        .max(1);
        let total = load.ports;
        let step_ms = (window_ms / i64::try_from(total.max(1)).unwrap_or(i64::MAX)).max(1);
        let mut g = Self {
            rng,
            total,
            produced: 0,
            start_ms: scenario.start.millis(),
            step_ms,
            pairs,
            pools,
            share_a: load.share_a,
            share_c: load.share_c,
            numbers_per_cat_c: load.numbers_per_cat_c,
            next_time: None,
            calendar: lnp_model::BusinessCalendar::new(),
            spread_days: (window_ms / 86_400_000).clamp(1, 5) as u64,
            missing: 0,
        };
        g.next_time = g.time_of(0);
        Ok(g)
    }

    fn time_of(&mut self, i: u64) -> Option<Timestamp> {
        if i >= self.total {
            return None;
        }
        let jitter = (self.rng.next_u64() % self.step_ms as u64) as i64;
        Some(Timestamp::from_millis(self.start_ms + i as i64 * self.step_ms + jitter))
    }

    /// When the next generated port is submitted.
    pub fn peek_time(&self) -> Option<Timestamp> {
        self.next_time
    }

    /// The next port and its gaining carrier.
    pub fn next_port(&mut self) -> Option<(PortRequest, CarrierCode)> {
        let submit = self.next_time?;
        let i = self.produced;
        self.produced += 1;
        self.next_time = self.time_of(self.produced);
        for _ in 0..self.pairs.len().max(1) * 2 {
            let (losing, gaining) = self.pairs[(self.rng.next_u64() % self.pairs.len() as u64) as usize];
            let Some(pool) = self.pools.get_mut(&losing) else {
                continue;
            };
            if pool.next >= pool.capacity {
                continue;
            }
            let draw = (self.rng.next_u64() % 1_000_000) as f64 / 1_000_000.0;
            let category = if draw < self.share_a {
                Category::A
            } else if draw < self.share_a + self.share_c {
                Category::C
            } else {
                Category::D
            };
            let count = if category == Category::C {
                let (lo, hi) = self.numbers_per_cat_c;
                u64::from(lo) + self.rng.next_u64() % u64::from(hi.saturating_sub(lo) + 1)
            } else {
                1
            };
            let mut numbers = Vec::with_capacity(count as usize);
            while (numbers.len() as u64) < count && pool.next < pool.capacity {
                if let Some(n) = pool.nth(pool.next) {
                    numbers.push(n);
                }
                pool.next += 1;
            }
            if numbers.is_empty() {
                continue;
            }
            let submit_day = submit.sydney_date();
            let ca_date = submit_day
                .checked_sub_days(Days::new(self.rng.next_u64() % 30))
                .unwrap_or(submit_day);
            // Preferred cutover: 2 to 6 business days later (fewer for a window under five
            // days), between 09:00 and 15:59.
            let day = self
                .calendar
                .add_business_days(submit, 2 + (self.rng.next_u64() % self.spread_days) as i64)
                .sydney_date();
            let minute = (self.rng.next_u64() % 420) as u32;
            let local = day.and_hms_opt(9 + minute / 60, minute % 60, 0).unwrap_or_default();
            let cutover = Timestamp::from_sydney_local(local);
            let port_ref = PortRef::numbered(b'L', i, 9)?;
            let req = PortRequest {
                port_ref,
                category,
                donors: numbers.iter().map(|n| (*n, losing)).collect(),
                numbers,
                losing,
                customer: String::new(),
                account: generated_account(i),
                ca_date,
                cutover,
                pnv: false,
                retargets: Vec::new(),
                keep: false,
            };
            return Some((req, gaining));
        }
        self.missing += 1;
        None
    }

    /// How many ports could not be generated because their losing carriers' ranges ran out.
    pub fn missing(&self) -> u64 {
        self.missing
    }
}

#[cfg(test)]
mod tests {
    use super::generated_account;

    #[test]
    fn generated_accounts_are_formatted_as_format_would() {
        for i in [0, 1, 9, 10, 99, 100, 12_345, 999_999, u64::MAX / 3, u64::MAX] {
            assert_eq!(generated_account(i), format!("GEN-{i}"));
        }
    }
}
