//! Port references in less room than a [`PortRef`]'s 25 bytes.
//!
//! A losing carrier remembers every port it cut over and forgot (a late withdrawal of one is
//! refused as too late), and a donor keeps the reference of every number's register record: at
//! national scale that is every port of the year. A reference of up to 10 characters of
//! `[0-9A-Za-z_-]` (every generated one, and most real ones) fits one word ([`short_code`]); a
//! set keeps one of up to 15 bytes in 16, and longer ones whole; a donor's table numbers the
//! ones that do not fit a word. Both are exact: no reference is confused with another.

use lnp_model::fasthash::{FastMap, FastSet};
use lnp_model::PortRef;

/// The longest reference [`short_code`] takes.
const SHORT_MAX: usize = 10;

/// Each byte's six bits in a short code, 64 where it has none.
const SIX_BITS: [u8; 256] = {
    let mut t = [64u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            b'-' => 62,
            b'_' => 63,
            _ => 64,
        };
        i += 1;
    }
    t
};

fn from_six_bits(v: u64) -> u8 {
    match v {
        0..=9 => b'0' + v as u8,
        10..=35 => b'A' + (v - 10) as u8,
        36..=61 => b'a' + (v - 36) as u8,
        62 => b'-',
        _ => b'_',
    }
}

/// A short reference as one word: its length (1 to 10) in the top four bits, then its characters
/// six bits each, the first highest. Never zero, and never below `1 << 60`.
pub(super) fn short_code(r: &PortRef) -> Option<u64> {
    let bytes = r.as_bytes();
    if bytes.is_empty() || bytes.len() > SHORT_MAX {
        return None;
    }
    // Padded with `0`, whose six bits are zero: a fixed count of steps, which unroll.
    let mut padded = [b'0'; SHORT_MAX];
    padded[..bytes.len()].copy_from_slice(bytes);
    let mut code = (bytes.len() as u64) << 60;
    let mut bad = 0;
    for (i, b) in padded.iter().enumerate() {
        let v = SIX_BITS[usize::from(*b)];
        bad |= v;
        code |= u64::from(v & 63) << (54 - 6 * i);
    }
    (bad & 64 == 0).then_some(code)
}

/// The reference a [`short_code`] stands for.
fn from_short_code(code: u64) -> Option<PortRef> {
    let len = (code >> 60) as usize;
    if len == 0 || len > SHORT_MAX {
        return None;
    }
    let mut bytes = [0u8; SHORT_MAX];
    for (i, b) in bytes[..len].iter_mut().enumerate() {
        *b = from_six_bits((code >> (54 - 6 * i)) & 63);
    }
    std::str::from_utf8(&bytes[..len]).ok()?.parse().ok()
}

/// A reference as a donor keeps it: a [`short_code`], or the number of a longer one in the
/// donor's [`RefTable`] (below `1 << 60`, so never a short code).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct RefCode(u64);

/// The references a donor keeps that do not fit a word, numbered in the order first seen.
#[derive(Clone, Debug, Default)]
pub(super) struct RefTable {
    long: Vec<PortRef>,
    numbers: FastMap<PortRef, u64>,
}

impl RefTable {
    /// The code of `r`, numbering it if it is long and new.
    pub(super) fn code(&mut self, r: PortRef) -> RefCode {
        if let Some(c) = short_code(&r) {
            return RefCode(c);
        }
        let next = self.long.len() as u64;
        let n = *self.numbers.entry(r).or_insert(next);
        if n == next {
            self.long.push(r);
        }
        RefCode(n)
    }

    /// The reference `code` stands for (where the caller does not have it at hand).
    pub(super) fn get(&self, code: RefCode) -> PortRef {
        if code.0 >> 60 == 0 {
            let i = usize::try_from(code.0).unwrap_or(usize::MAX);
            self.long.get(i).copied().unwrap_or(PortRef::MIN)
        } else {
            from_short_code(code.0).unwrap_or(PortRef::MIN)
        }
    }
}

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

/// A set of references: those that fit a word in 8 bytes, others up to 15 bytes in 16, the
/// rest whole.
#[derive(Clone, Debug, Default)]
pub(super) struct PortRefSet {
    /// Every generated reference and most real ones: a sorted array, not a hash set (at 2M
    /// ports, a quarter of a million cut-overs a carrier).
    short: super::sortedset::SortedSet<u64>,
    packed: FastSet<Packed>,
    long: FastSet<PortRef>,
}

impl PortRefSet {
    pub(super) fn insert(&mut self, r: PortRef) {
        if let Some(c) = short_code(&r) {
            self.short.insert(c);
        } else if let Some(p) = Packed::of(&r) {
            self.packed.insert(p);
        } else {
            self.long.insert(r);
        }
    }

    pub(super) fn contains(&self, r: &PortRef) -> bool {
        if let Some(c) = short_code(r) {
            self.short.contains(&c)
        } else if let Some(p) = Packed::of(r) {
            self.packed.contains(&p)
        } else {
            self.long.contains(r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn port_ref() -> impl Strategy<Value = PortRef> {
        prop_oneof!["[A-Za-z0-9_./-]{1,24}", "[A-Za-z0-9_-]{1,11}", "[A-Z]{1,3}[0-9]{1,9}",]
            .prop_filter_map("a valid reference", |s| s.parse().ok())
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

    proptest! {
        /// A donor's table gives each reference one code, and back the reference it stands for.
        #[test]
        fn codes_stand_for_their_references(refs in prop::collection::vec(port_ref(), 0..40)) {
            let mut table = RefTable::default();
            let codes: Vec<RefCode> = refs.iter().map(|r| table.code(*r)).collect();
            for (r, c) in refs.iter().zip(&codes) {
                prop_assert_eq!(table.get(*c), *r);
                prop_assert_eq!(table.code(*r), *c);
            }
            for (i, a) in refs.iter().enumerate() {
                for (j, b) in refs.iter().enumerate() {
                    prop_assert_eq!(codes[i] == codes[j], a == b, "{} {}", a, b);
                }
            }
        }
    }

    #[test]
    fn short_codes_keep_every_character() {
        for r in ["0", "L000012345", "zz-__Az09", "PRE-PORTED"] {
            let r: PortRef = r.parse().unwrap();
            let c = short_code(&r).unwrap();
            assert!(c >> 60 > 0);
            assert_eq!(from_short_code(c), Some(r));
        }
        assert_eq!(short_code(&"L0000123456".parse().unwrap()), None);
        assert_eq!(short_code(&"A.B".parse().unwrap()), None);
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
