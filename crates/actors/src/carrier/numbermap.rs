//! An ordered map keyed by telephone number, in little more room than its entries.
//!
//! A carrier keeps a record of every number ported in or out: at national scale, hundreds of
//! thousands each. A B-tree's nodes are two-thirds full on average and carry their own headers,
//! so its entries cost half as much again as they hold. Here most entries sit in two sorted
//! arrays (numbers, values) sized exactly when they are rebuilt, and the latest ones in a small
//! B-tree that is merged into the arrays once it holds an eighth as many: each entry is moved a
//! handful of times in all. A removed entry of the arrays leaves a gap that a later insert of
//! the number fills, and the arrays are rebuilt without gaps once they are half gaps.

use std::collections::BTreeMap;

use lnp_model::TelephoneNumber;

use super::fenced::Fenced;

/// The most entries the recent B-tree holds before a merge however few the arrays hold: a map
/// of a few thousand entries stays a B-tree, as quick as any and small in all.
#[cfg(not(test))]
const MIN_RECENT: usize = 4096;
#[cfg(test)]
const MIN_RECENT: usize = 4;

#[derive(Clone, Debug)]
pub(super) struct NumberMap<V> {
    /// Sorted, each number once.
    numbers: Fenced<TelephoneNumber>,
    /// `values[i]` is `numbers[i]`'s, `None` where it was removed.
    values: Vec<Option<V>>,
    /// How many of `values` are `None`.
    gaps: usize,
    /// Entries of numbers not in `numbers`.
    recent: BTreeMap<TelephoneNumber, V>,
}

impl<V> Default for NumberMap<V> {
    fn default() -> Self {
        Self {
            numbers: Fenced::default(),
            values: Vec::new(),
            gaps: 0,
            recent: BTreeMap::new(),
        }
    }
}

impl<V> NumberMap<V> {
    fn slot(&self, n: TelephoneNumber) -> Option<usize> {
        self.numbers.find(&n)
    }

    pub(super) fn get(&self, n: TelephoneNumber) -> Option<&V> {
        match self.slot(n) {
            Some(i) => self.values.get(i).and_then(Option::as_ref),
            None => self.recent.get(&n),
        }
    }

    pub(super) fn get_mut(&mut self, n: TelephoneNumber) -> Option<&mut V> {
        match self.slot(n) {
            Some(i) => self.values.get_mut(i).and_then(Option::as_mut),
            None => self.recent.get_mut(&n),
        }
    }

    /// Sets `n`'s entry, handing back the one it replaces.
    pub(super) fn insert(&mut self, n: TelephoneNumber, v: V) -> Option<V> {
        if let Some(i) = self.slot(n) {
            let old = self.values.get_mut(i).and_then(|s| s.replace(v));
            if old.is_none() {
                self.gaps -= 1;
            }
            return old;
        }
        let old = self.recent.insert(n, v);
        if self.recent.len() > MIN_RECENT.max(self.numbers.len() / 8) {
            self.rebuild();
        }
        old
    }

    pub(super) fn remove(&mut self, n: TelephoneNumber) -> Option<V> {
        let Some(i) = self.slot(n) else {
            return self.recent.remove(&n);
        };
        let old = self.values.get_mut(i).and_then(Option::take);
        if old.is_some() {
            self.gaps += 1;
            if self.gaps > MIN_RECENT.max(self.numbers.len() / 2) {
                self.rebuild();
            }
        }
        old
    }

    pub(super) fn len(&self) -> usize {
        self.numbers.len() - self.gaps + self.recent.len()
    }

    /// The arrays anew, exactly as long as the entries, with the recent ones merged in.
    fn rebuild(&mut self) {
        let len = self.len();
        let mut numbers = Vec::with_capacity(len);
        let mut values = Vec::with_capacity(len);
        let mut recent = std::mem::take(&mut self.recent).into_iter().peekable();
        let old = self
            .numbers
            .take()
            .into_iter()
            .zip(std::mem::take(&mut self.values))
            .filter_map(|(n, v)| Some((n, v?)));
        for (n, v) in old {
            while let Some((r, rv)) = recent.next_if(|(r, _)| *r < n) {
                numbers.push(r);
                values.push(Some(rv));
            }
            numbers.push(n);
            values.push(Some(v));
        }
        for (r, rv) in recent {
            numbers.push(r);
            values.push(Some(rv));
        }
        self.numbers = Fenced::from_sorted(numbers);
        self.values = values;
        self.gaps = 0;
    }

    /// The entries in number order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (TelephoneNumber, &V)> + '_ {
        let mut old = self
            .numbers
            .keys()
            .iter()
            .zip(&self.values)
            .filter_map(|(n, v)| Some((*n, v.as_ref()?)))
            .peekable();
        let mut recent = self.recent.iter().map(|(n, v)| (*n, v)).peekable();
        std::iter::from_fn(move || match (old.peek(), recent.peek()) {
            (Some((a, _)), Some((b, _))) if b < a => recent.next(),
            (Some(_), _) => old.next(),
            (None, _) => recent.next(),
        })
    }

    /// Every value, in no particular order.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.values.iter_mut().flatten().chain(self.recent.values_mut())
    }
}

impl<V> FromIterator<(TelephoneNumber, V)> for NumberMap<V> {
    fn from_iter<I: IntoIterator<Item = (TelephoneNumber, V)>>(iter: I) -> Self {
        let mut map = Self::default();
        for (n, v) in iter {
            map.insert(n, v);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u32, u16),
        Remove(u32),
        Bump(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u32..200, any::<u16>()).prop_map(|(n, v)| Op::Insert(n, v)),
            2 => (0u32..200).prop_map(Op::Remove),
            1 => (0u32..200).prop_map(Op::Bump),
        ]
    }

    fn number(i: u32) -> TelephoneNumber {
        TelephoneNumber::from_nsn(250_000_000 + i).unwrap()
    }

    proptest! {
        /// The map answers exactly as a B-tree map does, through merges and rebuilds (in tests
        /// `MIN_RECENT` is low, so they happen often).
        #[test]
        fn answers_as_a_btree_map(ops in prop::collection::vec(op(), 0..400)) {
            let mut map: NumberMap<u16> = NumberMap::default();
            let mut model: BTreeMap<TelephoneNumber, u16> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(i, v) => prop_assert_eq!(map.insert(number(i), v), model.insert(number(i), v)),
                    Op::Remove(i) => prop_assert_eq!(map.remove(number(i)), model.remove(&number(i))),
                    Op::Bump(i) => {
                        if let Some(v) = map.get_mut(number(i)) {
                            *v = v.wrapping_add(1);
                        }
                        if let Some(v) = model.get_mut(&number(i)) {
                            *v = v.wrapping_add(1);
                        }
                    }
                }
                prop_assert_eq!(map.len(), model.len());
            }
            for i in 0..200 {
                prop_assert_eq!(map.get(number(i)), model.get(&number(i)));
            }
            let got: Vec<(TelephoneNumber, u16)> = map.iter().map(|(n, v)| (n, *v)).collect();
            let want: Vec<(TelephoneNumber, u16)> = model.iter().map(|(n, v)| (*n, *v)).collect();
            prop_assert_eq!(got, want);
            let mut sum_got: Vec<u16> = map.values_mut().map(|v| *v).collect();
            let mut sum_want: Vec<u16> = model.values().copied().collect();
            sum_got.sort_unstable();
            sum_want.sort_unstable();
            prop_assert_eq!(sum_got, sum_want);
        }
    }
}
