//! A carrier's agenda: tasks ordered by (time, insertion order).
//!
//! Tasks sit in slabs and are written once: what the queue reorders are small keys
//! (due, insertion sequence, slot), so scheduling costs neither an allocation nor a large copy.
//! Outputs (whole messages, due within minutes) and jobs (small, often due days later) have
//! slabs of their own: a job read back long after it was written costs one cold cache line, not
//! the four of a slot sized for a message.
//! The keys live in two places, and the order they come out in is exactly that of one priority
//! queue over all of them:
//!
//! - `now`: a FIFO of keys due at the instant last drained, pushed in increasing sequence (most
//!   tasks, every answer sent at once, are due the instant they are scheduled: no heap at all);
//! - `later`: every other key, in a [`KeyQueue`] (a small heap of the keys due within the hour,
//!   the rest in hour buckets heapified when their hour comes).
//!
//! Invariant: `now` is sorted, so the earliest key is the front of `now` or of `later`.

use std::collections::VecDeque;

use lnp_model::queue::{Key, KeyQueue};
use lnp_model::Timestamp;

use super::{Job, Output, Task};

/// The bit of a slot number that says it is in the outputs' slab.
const EMIT: usize = 1 << (usize::BITS - 1);

/// A slab: values written once into a reused slot.
#[derive(Debug)]
struct Slab<T> {
    slots: Vec<Option<(T, bool)>>,
    free: Vec<usize>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    fn put(&mut self, value: T, shifted: bool) -> usize {
        if let Some(i) = self.free.pop() {
            if let Some(s) = self.slots.get_mut(i) {
                *s = Some((value, shifted));
            }
            i
        } else {
            self.slots.push(Some((value, shifted)));
            self.slots.len() - 1
        }
    }

    fn take(&mut self, i: usize) -> Option<(T, bool)> {
        let entry = self.slots.get_mut(i).and_then(Option::take);
        self.free.push(i);
        entry
    }

    fn is_live(&self, i: usize) -> bool {
        self.slots.get(i).is_some_and(Option::is_some)
    }
}

/// What [`Agenda::pop_due_into`] found due.
pub(super) enum Popped {
    /// A job, when it was due, and whether a `shift` fault already moved it.
    Job(Timestamp, Job, bool),
    /// An output, due at this instant, now last in the caller's buffer.
    Emitted(Timestamp),
}

#[derive(Debug, Default)]
pub(super) struct Agenda {
    now: VecDeque<Key>,
    later: KeyQueue,
    /// The instant last drained: keys due then go to the FIFO.
    drained_at: Option<Timestamp>,
    jobs: Slab<Job>,
    emits: Slab<Output>,
    seq: u64,
}

impl Agenda {
    pub(super) fn push(&mut self, at: Timestamp, task: Task, shifted: bool) {
        self.seq += 1;
        let slot = match task {
            Task::Job(job) => self.jobs.put(job, shifted),
            Task::Emit(out) => self.emits.put(out, shifted) | EMIT,
        };
        let key = Key {
            at,
            seq: self.seq,
            slot,
        };
        if self.drained_at == Some(at) && self.now.back().is_none_or(|k| k.at == at) {
            // Sequence numbers only grow, so the FIFO stays sorted.
            self.now.push_back(key);
        } else {
            self.later.push(key);
        }
    }

    /// When the earliest task is due.
    pub(super) fn next_time(&self) -> Option<Timestamp> {
        match (self.now.front(), self.later.peek()) {
            (Some(a), Some(b)) => Some(a.at.min(b.at)),
            (Some(a), None) => Some(a.at),
            (None, b) => b.map(|b| b.at),
        }
    }

    /// The earliest key, removed, when it is due by `now`.
    fn pop_key_due(&mut self, now: Timestamp) -> Option<Key> {
        match (self.now.front(), self.later.peek()) {
            (Some(a), Some(b)) if b.before(*a) => (b.at <= now).then(|| self.later.pop())?,
            (Some(a), _) => (a.at <= now).then(|| self.now.pop_front())?,
            (None, Some(b)) => (b.at <= now).then(|| self.later.pop())?,
            (None, None) => None,
        }
    }

    /// The earliest task when it is due by `now`: a job is handed back; an output is pushed
    /// onto `out` straight from its slot (a message is large, and this is the one copy of it
    /// between the agenda and the engine).
    pub(super) fn pop_due_into(&mut self, now: Timestamp, out: &mut Vec<Output>) -> Option<Popped> {
        self.drained_at = Some(now);
        loop {
            let Key { at, slot, .. } = self.pop_key_due(now)?;
            if slot & EMIT == 0 {
                if let Some((job, shifted)) = self.jobs.take(slot) {
                    return Some(Popped::Job(at, job, shifted));
                }
            } else if let Some((o, _)) = self.emits.take(slot & !EMIT) {
                out.push(o);
                return Some(Popped::Emitted(at));
            }
        }
    }

    /// Keeps only the jobs that match (outputs already due stay).
    pub(super) fn retain_jobs(&mut self, keep: impl Fn(&Job) -> bool) {
        let mut removed = false;
        let jobs = &mut self.jobs;
        for (i, slot) in jobs.slots.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|(j, _)| !keep(j)) {
                *slot = None;
                jobs.free.push(i);
                removed = true;
            }
        }
        if removed {
            // Only jobs were removed: an output's key stays.
            let jobs = &self.jobs;
            let live = |k: &Key| k.slot & EMIT != 0 || jobs.is_live(k.slot);
            self.now.retain(|k| live(k));
            self.later.retain(live);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnp_model::PortRef;

    fn task(i: u64) -> Task {
        Task::Job(Job::ForgetLosing(
            format!("R{i}").parse::<PortRef>().expect("a valid reference"),
        ))
    }

    fn job_id(j: &Job) -> u64 {
        match j {
            Job::ForgetLosing(r) => r.to_string()[1..].parse().unwrap_or(u64::MAX),
            _ => u64::MAX,
        }
    }

    /// The agenda gives tasks out exactly as one sorted list of (due, insertion) would, whatever
    /// mix of instants now, soon, hours and weeks ahead, and in the past is pushed between drains.
    #[test]
    fn the_order_is_that_of_one_sorted_queue() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut agenda = Agenda::default();
        let mut model: Vec<(Timestamp, u64)> = Vec::new();
        let mut now = Timestamp::from_millis(1_700_000_000_000);
        let mut id_seq = 0_u64;
        for _ in 0..4000 {
            for _ in 0..(next() % 4) {
                let offset = match next() % 6 {
                    0 | 1 => 0,
                    2 => (next() % 600_000) as i64,
                    3 => (next() % (30 * 86_400_000)) as i64,
                    4 => (next() % (3 * 3_600_000)) as i64,
                    _ => -((next() % 100_000) as i64),
                };
                let at = now.plus_millis(offset);
                id_seq += 1;
                agenda.push(at, task(id_seq), false);
                model.push((at, id_seq));
            }
            if next() % 7 == 0 {
                let drop_mod = next() % 5 + 2;
                agenda.retain_jobs(|j| !job_id(j).is_multiple_of(drop_mod));
                model.retain(|(_, i)| !i.is_multiple_of(drop_mod));
            }
            now = now.plus_millis((next() % 2_000_000) as i64);
            model.sort_unstable();
            let due = model.partition_point(|(at, _)| *at <= now);
            let expected: Vec<(Timestamp, u64)> = model.drain(..due).collect();
            let mut got = Vec::new();
            let mut outputs = Vec::new();
            while let Some(p) = agenda.pop_due_into(now, &mut outputs) {
                match p {
                    Popped::Job(at, j, _) => got.push((at, job_id(&j))),
                    Popped::Emitted(at) => got.push((at, u64::MAX)),
                }
            }
            assert_eq!(got, expected);
            assert_eq!(agenda.next_time(), model.first().map(|(at, _)| *at));
        }
    }
}
