//! A carrier's agenda: tasks ordered by (time, insertion order).
//!
//! A binary heap of small keys over a slab of tasks: a task (which can hold a whole message) is
//! written once and never moved while the heap reorders its keys, and slots are reused, so
//! scheduling costs neither an allocation nor a large copy.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use lnp_model::Timestamp;

use super::Task;

#[derive(Debug, Default)]
pub(super) struct Agenda {
    /// (due, insertion sequence, slot): unique keys, so the order is total.
    heap: BinaryHeap<Reverse<(Timestamp, u64, usize)>>,
    slots: Vec<Option<(Task, bool)>>,
    free: Vec<usize>,
    seq: u64,
}

impl Agenda {
    pub(super) fn push(&mut self, at: Timestamp, task: Task, shifted: bool) {
        self.seq += 1;
        let slot = if let Some(i) = self.free.pop() {
            if let Some(s) = self.slots.get_mut(i) {
                *s = Some((task, shifted));
            }
            i
        } else {
            self.slots.push(Some((task, shifted)));
            self.slots.len() - 1
        };
        self.heap.push(Reverse((at, self.seq, slot)));
    }

    /// When the earliest task is due.
    pub(super) fn next_time(&self) -> Option<Timestamp> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The earliest task when it is due by `now`.
    pub(super) fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, Task, bool)> {
        loop {
            let Reverse((at, _, slot)) = *self.heap.peek()?;
            if at > now {
                return None;
            }
            self.heap.pop();
            let entry = self.slots.get_mut(slot).and_then(Option::take);
            self.free.push(slot);
            if let Some((task, shifted)) = entry {
                return Some((at, task, shifted));
            }
        }
    }

    /// Keeps only the tasks that match.
    pub(super) fn retain(&mut self, keep: impl Fn(&Task) -> bool) {
        let mut removed = false;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|(t, _)| !keep(t)) {
                *slot = None;
                self.free.push(i);
                removed = true;
            }
        }
        if removed {
            let slots = &self.slots;
            self.heap
                .retain(|Reverse((_, _, i))| slots.get(*i).is_some_and(Option::is_some));
        }
    }
}
