//! The services a carrier holds explicitly, in little room.
//!
//! A carrier holds every number ported in to it (and any the story names) explicitly: at
//! national scale that is millions of services, most of them an unnamed customer's with an
//! account of their own. A `Service` of two `String`s takes 56 bytes and two allocations;
//! here a held service is 12 bytes, its customer and account kept as indexes into one text
//! shared by the carrier's services. Consecutive services of the same names (a batch's numbers)
//! share them. The text of services no longer held is dropped by rebuilding the text once as
//! many services have gone as are held, so the garbage stays below what the live services name.

use lnp_model::{Service, ServiceKind, TelephoneNumber};

use super::numbermap::NumberMap;

/// Removals below which the names are never rebuilt (low in tests, so that they rebuild).
#[cfg(not(test))]
const MIN_STALE: usize = 4096;
#[cfg(test)]
const MIN_STALE: usize = 8;

/// A customer or account name: an index into [`Names`]. `Name(0)` is the empty name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Name(u32);

/// The names of a carrier's services, end to end in one text.
#[derive(Clone, Debug)]
struct Names {
    text: String,
    /// Name `i` is `text[ends[i]..ends[i + 1]]`; the first two entries make `Name(0)` empty.
    /// Offsets are `u32`: the text is rebuilt (`ServiceBook::tidy`) long before 4 GiB of live
    /// names could be reached by a carrier's services.
    ends: Vec<u32>,
    /// The two names added last: a batch's numbers, or a run of
    /// services of one customer, reuse them instead of adding the same text again.
    recent: [Name; 2],
}

impl Default for Names {
    fn default() -> Self {
        Self {
            text: String::new(),
            ends: vec![0, 0],
            recent: [Name(0); 2],
        }
    }
}

impl Names {
    fn get(&self, name: Name) -> &str {
        let i = name.0 as usize;
        match (self.ends.get(i), self.ends.get(i + 1)) {
            (Some(start), Some(end)) => self.text.get(*start as usize..*end as usize).unwrap_or_default(),
            _ => "",
        }
    }

    fn add(&mut self, s: &str) -> Name {
        if s.is_empty() {
            return Name(0);
        }
        if let Some(n) = self.recent.iter().find(|n| self.get(**n) == s) {
            return *n;
        }
        // Names are at most two per held service, and the text is rebuilt before the stale
        // ones outnumber the held services: 2^32 names or 4 GiB of them would need tens of GB
        // of held services first.
        let name = Name(u32::try_from(self.ends.len() - 1).unwrap_or_else(|_| {
            panic!("a carrier holds more than 2^32 customer and account names");
        }));
        self.text.push_str(s);
        let end = u32::try_from(self.text.len()).unwrap_or_else(|_| {
            panic!("a carrier holds more than 4 GiB of customer and account names");
        });
        self.ends.push(end);
        self.recent = [self.recent[1], name];
        name
    }
}

/// One held service, its names in the book's [`Names`].
#[derive(Clone, Copy, Debug)]
struct Held {
    customer: Name,
    account: Name,
    kind: ServiceKind,
}

/// A held service as read from the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ServiceRef<'a> {
    /// Empty where the story does not name the customer.
    pub customer: &'a str,
    /// Empty where the story does not name the account.
    pub account: &'a str,
    pub kind: ServiceKind,
}

impl ServiceRef<'_> {
    /// A simple service of an unnamed customer (see [`Service::simple`]).
    pub(super) const SIMPLE: ServiceRef<'static> = ServiceRef {
        customer: "",
        account: "",
        kind: ServiceKind::Simple,
    };

    pub(super) fn to_service(self) -> Service {
        Service {
            customer: self.customer.to_owned(),
            account: self.account.to_owned(),
            kind: self.kind,
        }
    }
}

/// The services a carrier holds explicitly, by number.
#[derive(Clone, Debug, Default)]
pub(super) struct ServiceBook {
    held: NumberMap<Held>,
    names: Names,
    /// Services removed or replaced since the names were last rebuilt.
    stale: usize,
}

impl ServiceBook {
    pub(super) fn get(&self, n: TelephoneNumber) -> Option<ServiceRef<'_>> {
        self.held.get(n).map(|h| self.view(*h))
    }

    fn view(&self, h: Held) -> ServiceRef<'_> {
        ServiceRef {
            customer: self.names.get(h.customer),
            account: self.names.get(h.account),
            kind: h.kind,
        }
    }

    /// Holds `kind` services of `customer` and `account` for `numbers`, replacing any held.
    pub(super) fn insert_all(&mut self, numbers: &[TelephoneNumber], customer: &str, account: &str, kind: ServiceKind) {
        let held = Held {
            customer: self.names.add(customer),
            account: self.names.add(account),
            kind,
        };
        for n in numbers {
            if self.held.insert(*n, held).is_some() {
                self.stale += 1;
            }
        }
        self.tidy();
    }

    pub(super) fn insert(&mut self, n: TelephoneNumber, s: &Service) {
        self.insert_all(&[n], &s.customer, &s.account, s.kind);
    }

    /// Stops holding `n`'s service; whether one was held.
    pub(super) fn remove(&mut self, n: TelephoneNumber) -> bool {
        let was = self.held.remove(n).is_some();
        if was {
            self.stale += 1;
            self.tidy();
        }
        was
    }

    /// The held services, in number order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (TelephoneNumber, ServiceRef<'_>)> + '_ {
        self.held.iter().map(|(n, h)| (n, self.view(*h)))
    }

    /// Rebuilds the names once as many services have gone as are held (and at least a few
    /// thousand): the cost is spread over those removals, and the text of services no longer
    /// held never outgrows that of the held ones by more than theirs.
    fn tidy(&mut self) {
        if self.stale <= self.held.len().max(MIN_STALE) {
            return;
        }
        let old = std::mem::take(&mut self.names);
        for h in self.held.values_mut() {
            h.customer = self.names.add(old.get(h.customer));
            h.account = self.names.add(old.get(h.account));
        }
        self.stale = 0;
    }
}

impl<'a> FromIterator<(&'a TelephoneNumber, &'a Service)> for ServiceBook {
    fn from_iter<I: IntoIterator<Item = (&'a TelephoneNumber, &'a Service)>>(iter: I) -> Self {
        let mut book = Self::default();
        for (n, s) in iter {
            book.insert(*n, s);
        }
        book
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(Vec<u32>, String, String, ServiceKind),
        Remove(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        let name = prop_oneof![Just(String::new()), "[a-cé]{1,3}"];
        let kind = prop::sample::select(ServiceKind::ALL.to_vec());
        prop_oneof![
            (prop::collection::vec(0u32..64, 1..4), name.clone(), name, kind)
                .prop_map(|(ns, c, a, k)| Op::Insert(ns, c, a, k)),
            (0u32..64).prop_map(Op::Remove),
        ]
    }

    fn number(i: u32) -> TelephoneNumber {
        TelephoneNumber::from_nsn(250_000_000 + i).unwrap()
    }

    proptest! {
        /// The book holds exactly what a map of whole services would, through any inserts,
        /// replacements and removals (the names rebuilt on the way: in tests `MIN_STALE` is
        /// low).
        #[test]
        fn holds_what_a_map_of_services_holds(ops in prop::collection::vec(op(), 0..300)) {
            let mut book = ServiceBook::default();
            let mut model: BTreeMap<TelephoneNumber, Service> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(ns, customer, account, kind) => {
                        let ns: Vec<TelephoneNumber> = ns.into_iter().map(number).collect();
                        book.insert_all(&ns, &customer, &account, kind);
                        for n in ns {
                            model.insert(n, Service { customer: customer.clone(), account: account.clone(), kind });
                        }
                    }
                    Op::Remove(i) => {
                        prop_assert_eq!(book.remove(number(i)), model.remove(&number(i)).is_some());
                    }
                }
            }
            let got: Vec<(TelephoneNumber, Service)> = book.iter().map(|(n, s)| (n, s.to_service())).collect();
            let want: Vec<(TelephoneNumber, Service)> = model.into_iter().collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn stale_names_are_dropped() {
        let mut book = ServiceBook::default();
        for i in 0..2_000 {
            book.insert_all(&[number(i % 8)], "", &format!("ACC-{i}"), ServiceKind::Simple);
        }
        assert!(book.names.text.len() < 10 * 40, "{}", book.names.text.len());
        assert_eq!(book.get(number(3)).map(|s| s.account), Some("ACC-1995"));
    }
}
