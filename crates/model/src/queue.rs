//! A priority queue of small keys (due, insertion sequence, slot), by (due, sequence).
//!
//! The engine's event queue and every carrier's agenda keep their values in slabs and reorder
//! only these keys; this is the one definition of how the keys are ordered and stored. Keys
//! live in three places, by how soon they are due, and the order they come out in is exactly
//! that of one binary heap over all of them:
//!
//! - `near`: a binary heap of the keys due before the hour bucket `near_end`;
//! - `wheel`: the keys due in the [`WHEEL_BUCKETS`] hours from `near_end` on, unsorted, in a
//!   ring of buckets indexed by hour (a push is a vector push, no search);
//! - `beyond`: later keys, by hour, in a map (a market schedules few jobs more than weeks
//!   ahead).
//!
//! A bucket is heapified into `near` only when the clock reaches it: a market keeps thousands of
//! jobs days or weeks ahead (cutovers, patience, transit routing to stop, ports to forget), and
//! they cost a vector push now and one operation in a small heap when their hour comes, instead
//! of a sift through a heap of all of them every time anything is popped.
//!
//! Invariants: every key in `near` is due before `near_end`, every other key at or after it;
//! the wheel holds keys of buckets `near_end .. near_end + WHEEL_BUCKETS` only (so a ring
//! position holds one bucket); and when `near` is empty so are the others (the next bucket is
//! moved in as soon as the last near key leaves), so the earliest key is the top of `near`.
//! A key may be due before anything already popped: it goes to `near` and still comes first.
//! A key due a day or more before `near_end` (the window was moved on by a key due weeks ahead
//! while nothing nearer was queued) moves the window back to its own hour, so that `near` stays
//! a heap of about an hour of keys.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

use crate::Timestamp;

/// The width of a bucket: an hour of virtual time.
pub const BUCKET_MS: i64 = 3_600_000;

/// How many hour buckets the wheel holds (a power of two): 42 days and 16 hours.
pub const WHEEL_BUCKETS: usize = 1024;

/// How many buckets before `near_end` a pushed key must be to move the window back.
const REWINDOW_AFTER: i64 = 24;

/// A key: when it is due, its insertion sequence (unique within a queue, so the order is
/// total), and the caller's slot for the value it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub at: Timestamp,
    pub seq: u64,
    pub slot: usize,
}

impl Key {
    /// (due, sequence) as one integer: comparing two keys is one 128-bit comparison. Both
    /// halves are full 64-bit fields, so nothing can overflow into the other.
    #[inline]
    fn rank(self) -> u128 {
        (u128::from(self.at.order_bits()) << 64) | u128::from(self.seq)
    }

    /// Whether this key comes out before `other`.
    #[inline]
    pub fn before(self, other: Self) -> bool {
        self.rank() < other.rank()
    }
}

/// A key in a max-heap that must give the least key first: the order reversed.
#[derive(Clone, Copy, Debug)]
struct Entry(Key);

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.0.rank() == other.0.rank()
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
    #[inline]
    fn lt(&self, other: &Self) -> bool {
        other.0.rank() < self.0.rank()
    }
    #[inline]
    fn le(&self, other: &Self) -> bool {
        other.0.rank() <= self.0.rank()
    }
    #[inline]
    fn gt(&self, other: &Self) -> bool {
        other.0.rank() > self.0.rank()
    }
    #[inline]
    fn ge(&self, other: &Self) -> bool {
        other.0.rank() >= self.0.rank()
    }
}
impl Ord for Entry {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.rank().cmp(&self.0.rank())
    }
}

fn bucket_of(at: Timestamp) -> i64 {
    at.millis().div_euclid(BUCKET_MS)
}

/// The ring position of bucket `b`.
#[inline]
fn ring_index(b: i64) -> usize {
    b.rem_euclid(WHEEL_BUCKETS as i64) as usize
}

#[derive(Debug)]
pub struct KeyQueue {
    near: BinaryHeap<Entry>,
    /// Empty until a key is first due past `near_end`; then [`WHEEL_BUCKETS`] buckets.
    wheel: Vec<Vec<Entry>>,
    /// How many keys the wheel holds.
    in_wheel: usize,
    /// One bit per ring position: whether its bucket holds keys.
    occupied: Vec<u64>,
    /// Keys due past the wheel when they were pushed, by bucket. (The wheel moves on, so a
    /// bucket here may come to lie in its range and have keys in both: they are merged when
    /// the bucket is moved to `near`.)
    beyond: BTreeMap<i64, Vec<Entry>>,
    /// The first bucket not in `near` (`i64::MIN` until anything is pushed).
    near_end: i64,
}

impl Default for KeyQueue {
    fn default() -> Self {
        Self {
            near: BinaryHeap::new(),
            wheel: Vec::new(),
            in_wheel: 0,
            occupied: Vec::new(),
            beyond: BTreeMap::new(),
            near_end: i64::MIN,
        }
    }
}

impl KeyQueue {
    pub fn is_empty(&self) -> bool {
        self.near.is_empty()
    }

    pub fn push(&mut self, key: Key) {
        let b = bucket_of(key.at);
        if self.near.is_empty() {
            // Nothing near (so nothing later either): the near window moves to this key's bucket.
            debug_assert!(self.in_wheel == 0 && self.beyond.is_empty());
            self.near_end = self.near_end.max(b + 1);
            self.near.push(Entry(key));
        } else if b < self.near_end {
            if b + REWINDOW_AFTER < self.near_end {
                // The window was moved on by keys due a day or more ahead (into an empty queue,
                // or by a refill): it comes back, so that `near` holds about an hour of keys and
                // not the weeks between.
                self.rewindow(b + 1);
            }
            self.near.push(Entry(key));
        } else {
            self.push_later(b, key);
        }
    }

    /// Puts a key due at or after `near_end` (in bucket `b`) in the wheel or beyond it.
    fn push_later(&mut self, b: i64, key: Key) {
        if b - self.near_end < WHEEL_BUCKETS as i64 {
            if self.wheel.is_empty() {
                self.wheel.resize_with(WHEEL_BUCKETS, Vec::new);
                self.occupied = vec![0; WHEEL_BUCKETS / 64];
            }
            let i = ring_index(b);
            if let Some(bucket) = self.wheel.get_mut(i) {
                bucket.push(Entry(key));
                self.in_wheel += 1;
            }
            if let Some(word) = self.occupied.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
        } else {
            self.beyond.entry(b).or_default().push(Entry(key));
        }
    }

    /// The earliest key.
    #[inline]
    pub fn peek(&self) -> Option<Key> {
        self.near.peek().map(|e| e.0)
    }

    /// The earliest key, removed.
    pub fn pop(&mut self) -> Option<Key> {
        let Entry(key) = self.near.pop()?;
        if self.near.is_empty() {
            self.refill();
        }
        Some(key)
    }

    /// Keeps only the keys that match.
    pub fn retain(&mut self, keep: impl Fn(&Key) -> bool) {
        self.near.retain(|e| keep(&e.0));
        if self.in_wheel > 0 {
            let mut left = 0;
            for (i, bucket) in self.wheel.iter_mut().enumerate() {
                if !bucket.is_empty() {
                    bucket.retain(|e| keep(&e.0));
                    left += bucket.len();
                    if bucket.is_empty() {
                        if let Some(word) = self.occupied.get_mut(i / 64) {
                            *word &= !(1 << (i % 64));
                        }
                    }
                }
            }
            self.in_wheel = left;
        }
        for bucket in self.beyond.values_mut() {
            bucket.retain(|e| keep(&e.0));
        }
        self.beyond.retain(|_, bucket| !bucket.is_empty());
        if self.near.is_empty() {
            self.refill();
        }
    }

    /// Moves `near_end` back to `end`: the keys of `near` due from then on go back to the
    /// wheel, and the wheel's buckets the window no longer reaches go beyond it.
    fn rewindow(&mut self, end: i64) {
        let old_end = self.near_end;
        if self.in_wheel > 0 {
            for b in old_end.max(end + WHEEL_BUCKETS as i64)..old_end + WHEEL_BUCKETS as i64 {
                let i = ring_index(b);
                let Some(bucket) = self.wheel.get_mut(i).filter(|v| !v.is_empty()) else {
                    continue;
                };
                let keys = std::mem::take(bucket);
                self.in_wheel -= keys.len();
                if let Some(word) = self.occupied.get_mut(i / 64) {
                    *word &= !(1 << (i % 64));
                }
                self.beyond.entry(b).or_default().extend(keys);
            }
        }
        self.near_end = end;
        let mut keep = std::mem::take(&mut self.near).into_vec();
        let mut i = 0;
        while let Some(&Entry(k)) = keep.get(i) {
            let b = bucket_of(k.at);
            if b < end {
                i += 1;
            } else {
                keep.swap_remove(i);
                self.push_later(b, k);
            }
        }
        self.near = BinaryHeap::from(keep);
    }

    /// The first bucket from `near_end` on, before `end`, with keys in the wheel.
    fn next_occupied(&self, end: i64) -> Option<i64> {
        let mut b = self.near_end;
        while b < end {
            let i = ring_index(b);
            let bits = self.occupied.get(i / 64).map_or(0, |w| w >> (i % 64));
            if bits != 0 {
                let found = b + i64::from(bits.trailing_zeros());
                return (found < end).then_some(found);
            }
            // On to the next word (a word never straddles the ring's end).
            b += (64 - i % 64) as i64;
        }
        None
    }

    /// Moves the next bucket into `near` once nothing nearer is left.
    fn refill(&mut self) {
        let first_beyond = self.beyond.first_key_value().map(|(b, _)| *b);
        let mut in_ring = None;
        if self.in_wheel > 0 {
            // A bucket of `beyond` before the wheel's next may also have keys in the wheel.
            let end = first_beyond.map_or(i64::MAX, |f| f.saturating_add(1));
            let end = end.min(self.near_end + WHEEL_BUCKETS as i64);
            in_ring = self.next_occupied(end);
        }
        let b = match (in_ring, first_beyond) {
            (Some(w), Some(f)) => w.min(f),
            (Some(w), None) => w,
            (None, Some(f)) => f,
            (None, None) => return,
        };
        self.near_end = b + 1;
        let mut keys = Vec::new();
        if in_ring == Some(b) {
            if let Some(bucket) = self.wheel.get_mut(ring_index(b)) {
                keys = std::mem::take(bucket);
            }
            self.in_wheel -= keys.len();
            let i = ring_index(b);
            if let Some(word) = self.occupied.get_mut(i / 64) {
                *word &= !(1 << (i % 64));
            }
        }
        if first_beyond == Some(b) {
            if let Some((_, more)) = self.beyond.pop_first() {
                if keys.is_empty() {
                    keys = more;
                } else {
                    keys.extend(more);
                }
            }
        }
        self.near = BinaryHeap::from(keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        /// A key this many milliseconds from the instant last popped (negative: in the past).
        Push(i64),
        /// Pop every key due by this many milliseconds after the instant last popped.
        PopUntil(i64),
        /// Drop the keys whose sequence is a multiple of this.
        Retain(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Push(0)),
            3 => (0..BUCKET_MS).prop_map(Op::Push),
            3 => (0..4 * BUCKET_MS).prop_map(Op::Push),
            2 => (0..(WHEEL_BUCKETS as i64 + 200) * BUCKET_MS).prop_map(Op::Push),
            1 => (0..4 * WHEEL_BUCKETS as i64 * BUCKET_MS).prop_map(Op::Push),
            2 => (-3 * BUCKET_MS..0).prop_map(Op::Push),
            1 => (-30 * 24 * BUCKET_MS..0).prop_map(Op::Push),
            3 => (0..2 * BUCKET_MS).prop_map(Op::PopUntil),
            1 => (0..60 * 24 * BUCKET_MS).prop_map(Op::PopUntil),
            1 => (2_u64..6).prop_map(Op::Retain),
        ]
    }

    proptest! {
        /// The queue hands out exactly what one sorted list of (due, sequence) would, for any
        /// mix of pushes (now, soon, hours, weeks and months ahead, and in the past), pops and
        /// removals.
        #[test]
        fn it_hands_out_what_a_sorted_list_would(
            start in -1_000_000_000_000_i64..2_000_000_000_000,
            ops in proptest::collection::vec(op(), 0..400),
        ) {
            let mut q = KeyQueue::default();
            let mut model: Vec<(i64, u64)> = Vec::new();
            let mut now = start;
            let mut seq = 0_u64;
            for op in ops {
                match op {
                    Op::Push(d) => {
                        seq += 1;
                        let at = now + d;
                        q.push(Key { at: Timestamp::from_millis(at), seq, slot: seq as usize });
                        model.push((at, seq));
                    }
                    Op::PopUntil(d) => {
                        now += d;
                        model.sort_unstable();
                        let due = model.partition_point(|(at, _)| *at <= now);
                        let expected: Vec<(i64, u64)> = model.drain(..due).collect();
                        let mut got = Vec::new();
                        while let Some(k) = q.peek().filter(|k| k.at.millis() <= now) {
                            prop_assert_eq!(q.pop(), Some(k));
                            prop_assert_eq!(k.slot, k.seq as usize);
                            got.push((k.at.millis(), k.seq));
                        }
                        prop_assert_eq!(got, expected);
                    }
                    Op::Retain(m) => {
                        q.retain(|k| !k.seq.is_multiple_of(m));
                        model.retain(|(_, s)| !s.is_multiple_of(m));
                    }
                }
                model.sort_unstable();
                prop_assert_eq!(q.peek().map(|k| (k.at.millis(), k.seq)), model.first().copied());
                prop_assert_eq!(q.is_empty(), model.is_empty());
            }
            while let Some(k) = q.pop() {
                prop_assert_eq!(Some((k.at.millis(), k.seq)), model.first().copied());
                model.remove(0);
            }
            prop_assert!(model.is_empty());
        }
    }
}
