//! Reading a carrier's log (`docs/rules.md`, "Reading a carrier's log"): the reader rules that
//! stand between a file's rows and the [`Auditor`].
//!
//! - `seq` must increase in file order; gaps are fine.
//! - Rows with the same time are simultaneous: an answer listed before its request in the same
//!   instant is judged after it.
//! - Rows out of time order are found as the fewest rows whose removal leaves the rest in
//!   non-decreasing time (the complement of a longest non-decreasing subsequence, over the rows
//!   read so far and [`LOOKAHEAD`] rows ahead). One out of place by no more than the reorder
//!   window is judged at its own time and listed in `reordered_rows`; one out of place by more
//!   is malformed, and the rows around it are judged normally.
//!
//! Memory is bounded: at most `2 × LOOKAHEAD` rows wait to be placed and at most [`MAX_HELD`]
//! rows are held back for the reorder window (beyond that the earliest are judged at once, and a
//! later row earlier than them is malformed).

use std::collections::{HashMap, VecDeque};

use lnp_model::trace::RowError;
use lnp_model::{MsgKind, PortRef, Span, TelephoneNumber, Timestamp, TraceRecord};

use crate::auditor::SeqOrder;
use crate::{Auditor, Report};

/// How many rows are read past a row before deciding whether it is in time order.
pub const LOOKAHEAD: usize = 4096;
/// The most rows held back for the reorder window.
pub const MAX_HELD: usize = 65_536;

struct Row {
    line: u64,
    record: TraceRecord,
}

impl Row {
    fn key(&self) -> (Timestamp, u64) {
        (self.record.time, self.line)
    }
}

/// What the reader rules make of the rows read, in the order the [`Auditor`] is to take it
/// ([`Auditor::apply`]): [`RowOrder`] decides, and may run apart from the auditor (the audit
/// command reads and orders on one thread and judges on another).
#[derive(Debug, Clone)]
pub enum Step {
    /// A row to judge at its own time, read from this line.
    Judge(u64, TraceRecord),
    /// The row read from this line is judged at its own time although listed out of order.
    Reordered(u64),
    /// A well-formed row the reader rules refuse: malformed, its port's duties withheld.
    Refused {
        line: u64,
        message: String,
        port_ref: Option<PortRef>,
        numbers: Vec<TelephoneNumber>,
    },
    /// A row that could not be read.
    Unreadable(RowError),
}

impl Auditor<'_> {
    /// Takes the next step of a file's audit, as [`RowOrder`] gave it.
    pub fn apply(&mut self, step: &Step) {
        match step {
            Step::Judge(line, record) => self.accept(*line, record),
            Step::Reordered(line) => self.note_reordered(*line),
            Step::Refused {
                line,
                message,
                port_ref,
                numbers,
            } => self.push_malformed_row(*line, message.clone(), *port_ref, numbers),
            Step::Unreadable(error) => self.push_malformed(error.clone()),
        }
    }
}

/// The audit of a file: the reader rules ([`RowOrder`]) in front of an [`Auditor`].
pub struct LogAudit<'a> {
    auditor: Auditor<'a>,
    order: RowOrder,
    /// Steps decided and not yet taken (emptied after each row).
    steps: Vec<Step>,
}

impl<'a> LogAudit<'a> {
    /// The reorder window when none is given (`--reorder-window`).
    pub const DEFAULT_WINDOW: Span = RowOrder::DEFAULT_WINDOW;

    /// A file audit with the given reorder window (see [`RowOrder::new`]).
    pub fn new(auditor: Auditor<'a>, reorder_window: Span) -> Self {
        Self {
            auditor,
            order: RowOrder::new(reorder_window),
            steps: Vec::new(),
        }
    }

    /// The next well-formed row of the file, read from `line`.
    pub fn push(&mut self, line: u64, record: TraceRecord) {
        self.order.push(line, record, &mut self.steps);
        self.take_steps();
    }

    /// A row of the file that could not be read.
    pub fn push_malformed(&mut self, error: RowError) {
        self.order.push_malformed(error, &mut self.steps);
        self.take_steps();
    }

    /// Judges every row read, then every duty due by `until` (the time of the last row when
    /// `None`), and returns the report.
    pub fn finish(mut self, until: Option<Timestamp>) -> Report {
        self.order.finish(&mut self.steps);
        self.take_steps();
        if let Some(t) = until {
            self.auditor.advance(t);
        }
        self.auditor.finish()
    }

    fn take_steps(&mut self) {
        for step in self.steps.drain(..) {
            self.auditor.apply(&step);
        }
    }
}

/// The reader rules: which rows are judged, in what order, and which are malformed.
pub struct RowOrder {
    window_ms: i64,
    /// `seq` must increase in file order.
    seq: SeqOrder,
    /// Rows read and not yet judged: first the `placed` rows held back for the reorder window,
    /// in (time, line) order, then the rows not yet placed, in file order.
    rows: VecDeque<Row>,
    placed: usize,
    /// Whether the rows not yet placed are in non-decreasing time order, none of them before
    /// any placed row.
    pending_sorted: bool,
    /// The time of the last row placed in order: nothing placed after it may be much earlier.
    kept: Option<Timestamp>,
    /// The latest time already judged.
    released: Option<Timestamp>,
}

impl RowOrder {
    /// The reorder window when none is given (`--reorder-window`).
    pub const DEFAULT_WINDOW: Span = Span::Hours(1);

    /// The reader rules with the given reorder window (elapsed time: seconds, minutes or hours;
    /// a calendar span counts as the default).
    pub fn new(reorder_window: Span) -> Self {
        let window_ms = reorder_window
            .fixed_millis()
            .or(Self::DEFAULT_WINDOW.fixed_millis())
            .unwrap_or(0)
            .max(0);
        Self {
            window_ms,
            seq: SeqOrder::default(),
            rows: VecDeque::with_capacity(4 * LOOKAHEAD),
            placed: 0,
            pending_sorted: true,
            kept: None,
            released: None,
        }
    }

    /// The next well-formed row of the file, read from `line`; the steps it settles go to `out`.
    pub fn push(&mut self, line: u64, record: TraceRecord, out: &mut Vec<Step>) {
        if let Some(message) = self.seq.check(&record) {
            let m = record.message;
            out.push(Step::Refused {
                line,
                message,
                port_ref: m.port_ref,
                numbers: m.numbers.into_vec(),
            });
            return;
        }
        if self.pending_sorted {
            // The last row is the latest held one when none waits to be placed.
            let floor = self.rows.back().map(|r| r.record.time).or(self.kept);
            if floor.is_some_and(|f| record.time < f) {
                self.pending_sorted = false;
            }
        }
        self.rows.push_back(Row { line, record });
        if self.rows.len() - self.placed >= 2 * LOOKAHEAD {
            self.place(LOOKAHEAD, out);
            self.release(false, out);
        }
    }

    /// A row of the file that could not be read.
    pub fn push_malformed(&mut self, error: RowError, out: &mut Vec<Step>) {
        // The row's seq is unknown: accept whatever the next row carries.
        self.seq.forget();
        out.push(Step::Unreadable(error));
    }

    /// Settles every row read.
    pub fn finish(&mut self, out: &mut Vec<Step>) {
        self.place(self.rows.len() - self.placed, out);
        self.release(true, out);
    }

    /// Decides the first `n` rows waiting: in order, reordered, or malformed.
    fn place(&mut self, n: usize, out: &mut Vec<Step>) {
        let n = n.min(self.rows.len() - self.placed);
        if n == 0 {
            return;
        }
        if self.pending_sorted {
            self.placed += n;
            self.kept = Some(self.rows[self.placed - 1].record.time);
            return;
        }
        let waiting: Vec<Row> = self.rows.drain(self.placed..).collect();
        let times: Vec<Timestamp> = waiting.iter().map(|r| r.record.time).collect();
        let keep = longest_in_order(&times, self.kept);
        // The time of the next row kept in order after each row.
        let mut next_kept = vec![None; times.len()];
        let mut next = None;
        for i in (0..times.len()).rev() {
            next_kept[i] = next;
            if keep[i] {
                next = Some(times[i]);
            }
        }
        let mut waiting = waiting.into_iter();
        for (i, row) in waiting.by_ref().take(n).enumerate() {
            let t = row.record.time;
            if keep[i] {
                self.kept = Some(t);
                self.hold(row);
                continue;
            }
            let late = self.kept.map_or(0, |p| p.millis().saturating_sub(t.millis()));
            let early = next_kept[i].map_or(0, |q: Timestamp| t.millis().saturating_sub(q.millis()));
            let off = late.max(early).max(0);
            let judged_past = self.released.is_some_and(|r| t < r);
            if off <= self.window_ms && !judged_past {
                out.push(Step::Reordered(row.line));
                self.hold(row);
                continue;
            }
            let message = if judged_past && off <= self.window_ms {
                format!(
                    "time: {t} (seq {}) is earlier than rows already judged; it is more than {MAX_HELD} rows out of place",
                    row.record.seq
                )
            } else if late >= early {
                format!(
                    "time: {t} (seq {}) is {} earlier than the rows before it, more than the reorder window ({})",
                    row.record.seq,
                    crate::auditor::elapsed(late),
                    crate::auditor::elapsed(self.window_ms)
                )
            } else {
                format!(
                    "time: {t} (seq {}) is {} later than the rows after it, more than the reorder window ({})",
                    row.record.seq,
                    crate::auditor::elapsed(early),
                    crate::auditor::elapsed(self.window_ms)
                )
            };
            let m = row.record.message;
            out.push(Step::Refused {
                line: row.line,
                message,
                port_ref: m.port_ref,
                numbers: m.numbers.into_vec(),
            });
        }
        self.rows.extend(waiting);
        let mut floor = self
            .rows
            .get(self.placed.wrapping_sub(1))
            .map(|r| r.record.time)
            .or(self.kept);
        self.pending_sorted = self.rows.range(self.placed..).all(|r| {
            let ok = floor.is_none_or(|f| r.record.time >= f);
            floor = Some(r.record.time);
            ok
        });
    }

    /// Adds a placed row to the held rows, in (time, line) order. Only called while no row
    /// waits to be placed behind them.
    fn hold(&mut self, row: Row) {
        let key = row.key();
        if self.rows.back().is_none_or(|b| b.key() <= key) {
            self.rows.push_back(row);
        } else {
            let at = self.rows.partition_point(|h| h.key() <= key);
            self.rows.insert(at, row);
        }
        self.placed += 1;
    }

    /// Judges the held rows that no row still to come may precede (all of them with `all`).
    fn release(&mut self, all: bool, out: &mut Vec<Step>) {
        // The rows `..end` are released, all at once (one move each into `out`); the instants
        // among them whose rows are judged in another order than listed are put right after.
        let mut end = 0;
        let mut reordered: Vec<(usize, usize, Vec<usize>)> = Vec::new();
        while end < self.placed {
            let t = self.rows[end].record.time;
            let settled = self
                .kept
                .is_some_and(|k| t.millis() < k.millis().saturating_sub(self.window_ms));
            if !(all || settled || self.placed - end > MAX_HELD) {
                break;
            }
            // The rows of this instant.
            let mut g = 1;
            while end + g < self.placed && self.rows[end + g].record.time == t {
                g += 1;
            }
            self.released = Some(t);
            if let Some(order) = simultaneous(&self.rows, end, g) {
                reordered.push((end, g, order));
            }
            end += g;
        }
        let base = out.len();
        out.extend(self.rows.drain(..end).map(|r| Step::Judge(r.line, r.record)));
        self.placed -= end;
        // From the last, so that a group's place does not move as an earlier one is put right.
        for (start, n, order) in reordered.into_iter().rev() {
            let at = base + start;
            let mut group: Vec<Step> = out.drain(at..at + n).collect();
            let judged: Vec<Step> = order
                .into_iter()
                .map(|i| std::mem::replace(&mut group[i], Step::Reordered(0)))
                .collect();
            out.splice(at..at, judged);
        }
    }
}

/// Which rows to keep: a longest non-decreasing subsequence of `times`, none of them before
/// `floor`. Of several, the one that keeps the earliest rows in the file, so that of two rows
/// listed in swapped order the later one is the one out of place.
fn longest_in_order(times: &[Timestamp], floor: Option<Timestamp>) -> Vec<bool> {
    let usable = |t: Timestamp| floor.is_none_or(|f| t >= f);
    // The length of the longest non-decreasing run of kept rows starting at each row, found
    // from the end: `tails[k]` is the latest time that can start a run of length k + 1.
    let mut from_here = vec![0usize; times.len()];
    let mut tails: Vec<Timestamp> = Vec::new();
    for i in (0..times.len()).rev() {
        let t = times[i];
        if !usable(t) {
            continue;
        }
        let pos = tails.partition_point(|&v| v >= t);
        from_here[i] = pos + 1;
        if pos == tails.len() {
            tails.push(t);
        } else {
            tails[pos] = t;
        }
    }
    // The earliest rows that still allow a longest run.
    let mut keep = vec![false; times.len()];
    let mut need = tails.len();
    let mut last = floor;
    for (i, &t) in times.iter().enumerate() {
        if need == 0 {
            break;
        }
        if from_here[i] >= need && last.is_none_or(|l| t >= l) {
            keep[i] = true;
            need -= 1;
            last = Some(t);
        }
    }
    keep
}

/// The request a row answers or acknowledges, for ordering rows of one instant: a
/// `CNA_RECEIPT` acknowledges its CNA as an answer does.
fn request_for(kind: MsgKind) -> Option<MsgKind> {
    match kind {
        MsgKind::CnaReceipt => Some(MsgKind::Cna),
        k => k.answered_request(),
    }
}

/// The order in which to judge the first `n` rows, all of one instant: file order (`None`),
/// except that an answer listed before its request (same `ref`) comes right after it, for rows
/// with the same time are simultaneous.
fn simultaneous(rows: &VecDeque<Row>, start: usize, n: usize) -> Option<Vec<usize>> {
    /// Up to this many rows, a direct comparison of each pair is cheaper than a map.
    const SMALL: usize = 16;
    if n < 2 {
        return None;
    }
    let row = |i: usize| &rows[start + i];
    let answers = |i: usize| {
        let m = &row(i).record.message;
        m.port_ref.zip(request_for(m.kind))
    };
    let mut after: Vec<Option<usize>> = Vec::new();
    if n <= SMALL {
        for i in 0..n {
            let Some((r, req)) = answers(i) else { continue };
            let found = (i + 1..n).find(|&j| {
                let m = &row(j).record.message;
                m.port_ref == Some(r) && m.kind == req
            });
            if let Some(j) = found {
                after.resize(n, None);
                after[i] = Some(j);
            }
        }
    } else {
        let mut nearest: HashMap<(PortRef, MsgKind), usize> = HashMap::new();
        after.resize(n, None);
        for i in (0..n).rev() {
            if let Some(key) = answers(i) {
                after[i] = nearest.get(&key).copied();
            }
            let m = &row(i).record.message;
            if let (Some(r), false) = (m.port_ref, m.kind.answers().is_empty()) {
                nearest.insert((r, m.kind), i);
            }
        }
    }
    if after.iter().all(Option::is_none) {
        return None;
    }
    let mut deferred: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut order = Vec::with_capacity(n);
    for i in 0..n {
        if let Some(j) = after[i] {
            deferred[j].push(i);
        } else {
            order.push(i);
            order.append(&mut deferred[i]);
        }
    }
    Some(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(v: &[i64]) -> Vec<Timestamp> {
        v.iter().map(|&s| Timestamp::from_secs(s)).collect()
    }

    #[test]
    fn the_fewest_rows_out_of_order() {
        assert_eq!(
            longest_in_order(&ts(&[1, 2, 100, 3, 4]), None),
            [true, true, false, true, true]
        );
        assert_eq!(
            longest_in_order(&ts(&[1, 2, 100, 3, 4, 5]), None),
            [true, true, false, true, true, true]
        );
        // A tie: the later of two swapped rows is the one out of place.
        assert_eq!(longest_in_order(&ts(&[5, 4, 6]), None), [true, false, true]);
        assert_eq!(longest_in_order(&ts(&[1, 2, 100, 3]), None), [true, true, true, false]);
        assert_eq!(longest_in_order(&ts(&[3, 3, 3]), None), [true, true, true]);
        assert_eq!(
            longest_in_order(&ts(&[1, 9, 2]), Some(Timestamp::from_secs(2))),
            [false, true, false]
        );
    }
}
