//! A sorted array of keys searched through every sixteenth key, so that a lookup walks a small
//! array that mostly stays cached and then one block of the large one.
//!
//! The sorted arrays of [`NumberMap`](super::numbermap::NumberMap) and
//! [`SortedSet`](super::sortedset::SortedSet) hold a quarter of a million keys each at national
//! scale. A binary search over such an array touches a new cache line at each of its last
//! dozen levels, and with a market's state far larger than the caches each of those is a trip
//! to memory, one after the other: a sampling profile of market-2m put 27% of the simulating
//! thread's time in those searches. Here every [`STRIDE`]th key is copied into a fence array (a
//! sixteenth of the keys, walked by every lookup, so its upper levels stay cached), the fences
//! find the block, and the block is one cache line of 4-byte keys or two of 8-byte ones. In the
//! same profile afterwards the searches took about 10%, most of it in the fence array's lower
//! levels.

/// Keys per block: 16 keys of 4 bytes (a number) are one 64-byte cache line.
const STRIDE: usize = 16;

#[derive(Clone, Debug)]
pub(super) struct Fenced<K> {
    /// Sorted, each key once.
    keys: Vec<K>,
    /// `keys[0]`, `keys[STRIDE]`, `keys[2 * STRIDE]`, … : block `b` starts with `fences[b]`.
    fences: Vec<K>,
}

impl<K> Default for Fenced<K> {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            fences: Vec::new(),
        }
    }
}

impl<K: Copy + Ord> Fenced<K> {
    /// The array of `keys`, which must be sorted with each key once.
    pub(super) fn from_sorted(keys: Vec<K>) -> Self {
        debug_assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let fences = keys.iter().step_by(STRIDE).copied().collect();
        Self { keys, fences }
    }

    /// The index of `k` in [`Self::keys`], if it is there.
    pub(super) fn find(&self, k: &K) -> Option<usize> {
        // The last block whose first key is at most `k`.
        let block = self.fences.partition_point(|f| f <= k).checked_sub(1)?;
        let start = block * STRIDE;
        let end = (start + STRIDE).min(self.keys.len());
        let i = self.keys.get(start..end)?.binary_search(k).ok()?;
        Some(start + i)
    }

    pub(super) fn contains(&self, k: &K) -> bool {
        self.find(k).is_some()
    }

    /// The keys in order.
    pub(super) fn keys(&self) -> &[K] {
        &self.keys
    }

    /// The keys, taken out; the array is left empty.
    pub(super) fn take(&mut self) -> Vec<K> {
        self.fences = Vec::new();
        std::mem::take(&mut self.keys)
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// Every key is found at its own index, and nothing else is found, at every length
        /// around the block size.
        #[test]
        fn finds_as_a_binary_search(keys in prop::collection::btree_set(0u32..400, 0..120), probes in prop::collection::vec(0u32..410, 0..60)) {
            let sorted: Vec<u32> = keys.iter().copied().collect();
            let fenced = Fenced::from_sorted(sorted.clone());
            for (i, k) in sorted.iter().enumerate() {
                prop_assert_eq!(fenced.find(k), Some(i));
            }
            for p in &probes {
                prop_assert_eq!(fenced.find(p), sorted.binary_search(p).ok());
            }
        }
    }

    #[test]
    fn keys_at_and_beside_every_fence() {
        let keys: BTreeSet<u32> = (0..100).map(|i| i * 3).collect();
        let fenced = Fenced::from_sorted(keys.iter().copied().collect());
        for k in 0..310 {
            assert_eq!(fenced.contains(&k), keys.contains(&k), "{k}");
        }
        assert_eq!(fenced.find(&(16 * 3)), Some(16));
        assert_eq!(fenced.find(&(15 * 3)), Some(15));
        assert_eq!(fenced.len(), 100);
        let mut fenced = fenced;
        assert_eq!(fenced.take().len(), 100);
        assert!(!fenced.contains(&0));
        assert!(fenced.keys().is_empty());
    }
}
