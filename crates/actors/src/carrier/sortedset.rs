//! A set of small keys in little more room than the keys: most in one sorted array.
//!
//! A carrier remembers every number of its ranges ported away and every cut-over port it has
//! forgotten: at national scale a quarter of a million each, nearly all inserted once and
//! rarely looked up again. A hash set of them sits half to seven-eighths full and doubles as it
//! grows, so at 2M ports it costs two to four times the keys' own bytes. Here the keys sit in
//! one sorted array sized exactly when it is rebuilt; those inserted since, and those removed
//! from the array since, wait in two small hash sets until together they hold an eighth as many
//! (at least [`MIN_PENDING`]), when the array is rebuilt. Each key is moved a handful of times
//! in all, and a lookup is a hash probe and a binary search.
//!
//! Not a [`NumberMap`](super::numbermap::NumberMap) to nothing, though the idea is the same: an
//! insert there searches the array and goes into a B-tree, and with these sets kept that way
//! market-2m used about a tenth more CPU (100.9 s of user time against 90.0 s, one alternating
//! round each) for the same memory. Here an insert is one hash insert.

use std::hash::Hash;

use lnp_model::fasthash::FastSet;

use super::fenced::Fenced;

/// The most keys the pending sets hold before a rebuild however small the array is: a set of a
/// few thousand keys stays hashed, as quick as any and small in all.
#[cfg(not(test))]
const MIN_PENDING: usize = 4096;
#[cfg(test)]
const MIN_PENDING: usize = 4;

#[derive(Clone, Debug)]
pub(super) struct SortedSet<K> {
    /// Sorted, each key once; those in `gone` are not in the set.
    sorted: Fenced<K>,
    /// Keys inserted since the array was rebuilt (some may be in `sorted` too: an insert does
    /// not search the array, the next rebuild drops the duplicates).
    added: FastSet<K>,
    /// Keys of `sorted` no longer in the set.
    gone: FastSet<K>,
}

impl<K> Default for SortedSet<K> {
    fn default() -> Self {
        Self {
            sorted: Fenced::default(),
            added: FastSet::default(),
            gone: FastSet::default(),
        }
    }
}

impl<K: Copy + Ord + Hash> SortedSet<K> {
    fn in_sorted(&self, k: &K) -> bool {
        self.sorted.contains(k)
    }

    pub(super) fn contains(&self, k: &K) -> bool {
        self.added.contains(k) || (!self.gone.contains(k) && self.in_sorted(k))
    }

    /// Inserts `k`. Nearly every insert is of a new key, so the array is not searched: a key
    /// in the array already is dropped from `added` at the next rebuild.
    pub(super) fn insert(&mut self, k: K) {
        if self.gone.remove(&k) {
            return;
        }
        if self.added.insert(k) {
            self.rebuild_if_due();
        }
    }

    pub(super) fn remove(&mut self, k: &K) {
        self.added.remove(k);
        if self.in_sorted(k) && self.gone.insert(*k) {
            self.rebuild_if_due();
        }
    }

    fn rebuild_if_due(&mut self) {
        if self.added.len() + self.gone.len() > MIN_PENDING.max(self.sorted.len() / 8) {
            self.rebuild();
        }
    }

    /// The array anew, exactly as long as the set, with the pending keys applied.
    fn rebuild(&mut self) {
        let mut added: Vec<K> = self.added.drain().collect();
        added.sort_unstable();
        let gone = std::mem::take(&mut self.gone);
        let old = self.sorted.take();
        let mut sorted = Vec::with_capacity(old.len() - gone.len() + added.len());
        let mut added = added.into_iter().peekable();
        for k in old.into_iter().filter(|k| !gone.contains(k)) {
            while let Some(a) = added.next_if(|a| *a < k) {
                sorted.push(a);
            }
            // Inserted again since the last rebuild: once is enough.
            added.next_if_eq(&k);
            sorted.push(k);
        }
        sorted.extend(added);
        sorted.shrink_to_fit();
        self.sorted = Fenced::from_sorted(sorted);
        // The pending sets start small again rather than keep the room of their largest moment.
        self.added = FastSet::default();
    }
}

impl<K: Copy + Ord + Hash> FromIterator<K> for SortedSet<K> {
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        let mut set = Self::default();
        for k in iter {
            set.insert(k);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u16),
        Remove(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u16..120).prop_map(Op::Insert),
            2 => (0u16..120).prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// The set answers exactly as a B-tree set does, through rebuilds (in tests the pending
        /// sets are small, so rebuilds happen often), and its array stays sorted and exact.
        #[test]
        fn answers_as_a_btree_set(ops in prop::collection::vec(op(), 0..400), probes in prop::collection::vec(0u16..130, 0..30)) {
            let mut set: SortedSet<u16> = SortedSet::default();
            let mut model: BTreeSet<u16> = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Insert(k) => {
                        set.insert(k);
                        model.insert(k);
                    }
                    Op::Remove(k) => {
                        set.remove(&k);
                        model.remove(&k);
                    }
                }
                prop_assert!(set.sorted.keys().windows(2).all(|w| w[0] < w[1]));
                prop_assert!(set.gone.iter().all(|k| set.in_sorted(k) && !set.added.contains(k)));
            }
            for k in model.iter().chain(&probes) {
                prop_assert_eq!(set.contains(k), model.contains(k), "{}", k);
            }
        }
    }

    #[test]
    fn a_key_removed_from_the_array_and_put_back_is_in_the_set() {
        let mut set: SortedSet<u64> = SortedSet::default();
        for k in 0..10 {
            set.insert(k);
        }
        assert_eq!(set.sorted.len(), 10 - set.added.len());
        let in_array = set.sorted.keys()[0];
        set.remove(&in_array);
        assert!(!set.contains(&in_array));
        set.insert(in_array);
        assert!(set.contains(&in_array));
        assert!(set.gone.is_empty());
    }
}
