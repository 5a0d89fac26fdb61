//! A set of port references in less room than a set of [`PortRef`]s.
//!
//! A losing carrier remembers every port it cut over and forgot (a late withdrawal of one is
//! refused as too late): at national scale that is every port of the year, and a `PortRef`
//! takes 25 bytes. A reference of up to 15 bytes (every generated one, and most real ones) is
//! kept in 16 instead; longer ones in a set of their own. The set is exact: no reference is
//! confused with another.

use lnp_model::fasthash::FastSet;
use lnp_model::PortRef;

/// A short reference: its length, then its bytes, zero-padded, as two words.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Packed(u64, u64);

impl Packed {
    fn of(r: &PortRef) -> Option<Self> {
        let bytes = r.as_str().as_bytes();
        if bytes.len() > 15 {
            return None;
        }
        let mut b = [0u8; 16];
        b[0] = u8::try_from(bytes.len()).ok()?;
        b[1..=bytes.len()].copy_from_slice(bytes);
        let (lo, hi) = b.split_at(8);
        Some(Self(
            u64::from_le_bytes(lo.try_into().ok()?),
            u64::from_le_bytes(hi.try_into().ok()?),
        ))
    }
}

#[derive(Clone, Debug, Default)]
pub(super) struct PortRefSet {
    short: FastSet<Packed>,
    long: FastSet<PortRef>,
}

impl PortRefSet {
    pub(super) fn insert(&mut self, r: PortRef) {
        match Packed::of(&r) {
            Some(p) => self.short.insert(p),
            None => self.long.insert(r),
        };
    }

    pub(super) fn contains(&self, r: &PortRef) -> bool {
        match Packed::of(r) {
            Some(p) => self.short.contains(&p),
            None => self.long.contains(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn port_ref() -> impl Strategy<Value = PortRef> {
        "[A-Za-z0-9_./-]{1,24}".prop_filter_map("a valid reference", |s| s.parse().ok())
    }

    proptest! {
        /// Exactly the references inserted are in the set, short and long alike: the packing
        /// never makes two references one.
        #[test]
        fn holds_exactly_what_was_inserted(
            inserted in prop::collection::vec(port_ref(), 0..40),
            probes in prop::collection::vec(port_ref(), 0..40),
        ) {
            let mut set = PortRefSet::default();
            for r in &inserted {
                set.insert(*r);
            }
            for r in inserted.iter().chain(&probes) {
                prop_assert_eq!(set.contains(r), inserted.contains(r), "{}", r);
            }
        }
    }

    #[test]
    fn a_prefix_is_not_the_reference() {
        let mut set = PortRefSet::default();
        set.insert("AB".parse().unwrap());
        assert!(set.contains(&"AB".parse().unwrap()));
        assert!(!set.contains(&"A".parse().unwrap()));
        assert!(!set.contains(&"AB0".parse().unwrap()));
        let long: PortRef = "ABCDEFGHIJKLMNOPQRSTUVWX".parse().unwrap();
        set.insert(long);
        assert!(set.contains(&long));
        assert!(!set.contains(&"ABCDEFGHIJKLMNOP".parse().unwrap()));
    }
}
