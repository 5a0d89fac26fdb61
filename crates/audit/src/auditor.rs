//! The streaming judge: one pass over the trace, state kept per open port.
//!
//! What each rule checks, and every reading of `rules.md` it rests on, is written down at the top
//! of `lib.rs`; the code below refers to the rules by ID.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use lnp_model::message::NumberCode;
use lnp_model::trace::RowError;
use lnp_model::{
    BusinessCalendar, CarrierCode, Category, Code, Duties, MsgKind, PortRef, PortStatus, RejectCode, RuleId, Rulebook,
    Span, TelephoneNumber, Timestamp, TraceRecord, WholeCode,
};

mod answers;
mod cat_c;
mod cutover;
mod donor;
mod due;
mod grounds;

use crate::clock::Clock;
use crate::context::{Context, ContextIndex};
use crate::report::{Finding, MalformedRow, NotJudged, Report, Tally};

/// How many rows at least pass between two sweeps of finished ports.
const SWEEP_EVERY: u64 = 65_536;
/// How long a finished port is kept after its last duty's deadline and its last row, so that a
/// late row still finds it and is reported as late rather than missing.
const RETIRE_SLACK: Span = Span::Days(1);

use lnp_model::fasthash::FastMap;

/// One row, as far as a rule needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ev {
    seq: u64,
    time: Timestamp,
}

/// A request waiting for its answer, with what the losing carrier had to judge at receipt.
#[derive(Clone, Debug)]
struct OpenRequest {
    kind: MsgKind,
    ev: Ev,
    /// The requested cutover: `ECA` its `cutover` detail or, without one, its own time; `CCA`
    /// and `RETARGET` their `cutover` detail.
    cutover: Option<Timestamp>,
    /// `ECA`: no confirmed SNA for the ref and numbers. `CCA`: no confirmed CNA.
    no_basis: bool,
    /// Charged already as not answered by its deadline (a live audit judges a duty as soon as
    /// its deadline passes), so a late answer is not charged again.
    overdue: bool,
    /// `SNA`/`CNA`: the Customer Authority is stale or future-dated. `ECA`: the SNA confirmation
    /// has expired. `WITHDRAW`: sent after the ECA/CCA. `REVERSAL`/`EMERGENCY_RETURN`: outside
    /// the window. `None` where the trace cannot tell.
    late: Option<bool>,
}

/// The `DONOR_NOTIFY` status notices of a port: the first row of each.
#[derive(Clone, Copy, Debug)]
struct Notices {
    p: Option<Ev>,
    c: Option<Ev>,
    n: Option<Ev>,
    r: Option<Ev>,
}

impl Notices {
    const NONE: Self = Self {
        p: None,
        c: None,
        n: None,
        r: None,
    };

    /// Which statuses were seen: all that a duty's close reads.
    fn seen(&self) -> Seen {
        Seen {
            p: self.p.is_some(),
            c: self.c.is_some(),
            n: self.n.is_some(),
            r: self.r.is_some(),
        }
    }
}

/// Which status notices of one kind of duty were seen. `PLNR_PUBLISH`'s rows are only ever
/// asked whether they came (the deadlines run from the port's own rows), so they are kept as
/// this, not as [`Notices`]: 4 bytes a port instead of 64.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    p: bool,
    c: bool,
    n: bool,
    r: bool,
}

impl Seen {
    /// The flag of `status`.
    fn of(&mut self, status: PortStatus) -> &mut bool {
        match status {
            PortStatus::P => &mut self.p,
            PortStatus::C => &mut self.c,
            PortStatus::R => &mut self.r,
            PortStatus::N => &mut self.n,
        }
    }
}

/// What few ports set: a Cat C port's own rows, a return, an end without proceeding, re-targets,
/// and the notices a third-party donor is sent. Kept out of [`Port`], made on the first write
/// ([`Port::rare_mut`]), so that the common port (Cat A, cut over and completed, with its donor
/// the losing carrier) fits a 256-byte allocation instead of 512: at 66,000 open ports of a
/// 100,000-port market that was 34 MB of fresh pages for the kernel to zero.
#[derive(Clone, Debug)]
struct Rare {
    cna: Option<Ev>,
    cna_receipt: Option<Ev>,
    cna_confirm: Option<Ev>,
    cna_reject: Option<Ev>,
    /// A CCA sent and not rejected.
    cca_active: Option<Ev>,
    cca_confirm: Option<Ev>,
    /// Confirmed re-targets that count against `RETARGET-LIMIT`.
    retargets: u32,
    returned: Option<Ev>,
    /// Rejected (SNA, CNA, or ECA with 101/102) or withdrawn.
    abandoned: Option<Ev>,
    notify: Notices,
    /// The last `DONOR_NOTIFY` `P` with `cutover=` before the cutover.
    notify_cutover: Option<Ev>,
}

impl Rare {
    /// A port's rare state before any of it is set.
    const NONE: Self = Self {
        cna: None,
        cna_receipt: None,
        cna_confirm: None,
        cna_reject: None,
        cca_active: None,
        cca_confirm: None,
        retargets: 0,
        returned: None,
        abandoned: None,
        notify: Notices::NONE,
        notify_cutover: None,
    };
}

impl Default for Rare {
    fn default() -> Self {
        Self::NONE
    }
}

/// Read by every port without rare state.
static NO_RARE: Rare = Rare::NONE;

/// Everything the audit remembers about one port (one `ref`).
#[derive(Clone, Debug, Default)]
struct Port {
    category: Option<Category>,
    gaining: Option<CarrierCode>,
    losing: Option<CarrierCode>,
    numbers: Vec<TelephoneNumber>,
    open: Vec<OpenRequest>,
    sna: Option<Ev>,
    sna_confirm: Option<Ev>,
    /// When the SNA confirmation stops being valid (`SNA-VALIDITY`).
    sna_expires: Option<Timestamp>,
    /// An ECA sent and not rejected.
    eca_active: Option<Ev>,
    eca_confirm: Option<Ev>,
    /// The cutover the last confirmed ECA, CCA or re-target fixed, with the confirming row.
    confirmed_cutover: Option<(Ev, Timestamp)>,
    cutover: Option<Ev>,
    completion: Option<Ev>,
    dtr_start: Option<Ev>,
    dtr_stop: Option<Ev>,
    /// The carrier seen running DTR or publishing PLNR records for the port's numbers.
    observed_donor: Option<CarrierCode>,
    plnr: Seen,
    /// Rules already charged for this port where one finding per port is enough.
    charged: u32,
    /// Duties already charged as not done by their deadline ([`Due`]).
    overdue: u16,
    last_activity: Timestamp,
    /// `None` until one of its fields is set: read through [`Port::rare`].
    rare: Option<Box<Rare>>,
}

/// A port's place in [`Auditor::slots`]: the port, and what a sweep reads of it kept beside the
/// pointer, so that a sweep walks the slots in order instead of visiting every port's state.
#[derive(Clone, Debug)]
struct Slot {
    key: PortRef,
    /// `None` for a free slot, and for a moment while a row of the port is judged.
    port: Option<Box<Port>>,
    /// The port's `last_activity`, as of its last row.
    last_activity: Timestamp,
    /// `retire_at` as computed for `last_activity` (it only changes with a new row).
    retire: Option<(Timestamp, Option<Timestamp>)>,
    /// The port is open ([`Auditor::retire_at`] is `None`) and stays open until a row of it is
    /// judged or its duties are judged, or the horizon passes this: a sweep then need not
    /// visit the port's state.
    open_until: Option<Timestamp>,
}

/// How many slots a chunk of [`Slots`] holds: 4096 of 72 bytes, about 300 KB.
const SLOT_CHUNK: usize = 4096;

/// A slot's index in [`Slots`]: 4 bytes rather than 8 in each entry of [`Auditor::ports`], whose
/// table is the audit's largest (entries of 32 bytes rather than 40).
type SlotId = u32;

/// The ports' slots, in chunks of [`SLOT_CHUNK`] that never move once made: the store grows a
/// chunk at a time, where a `Vec` of slots doubles, copying every slot into fresh memory (a
/// 100,000-port market's 66,000 open ports took it from 4.7 MB to 9.4 MB just past 65,536).
#[derive(Clone, Debug, Default)]
struct Slots {
    chunks: Vec<Vec<Slot>>,
}

impl Slots {
    /// Adds a slot at the end; returns its index.
    fn push(&mut self, slot: Slot) -> SlotId {
        let full = self.chunks.last().is_none_or(|c| c.len() == SLOT_CHUNK);
        if full {
            self.chunks.push(Vec::with_capacity(SLOT_CHUNK));
        }
        let last = self.chunks.len() - 1;
        let chunk = &mut self.chunks[last];
        chunk.push(slot);
        SlotId::try_from(last * SLOT_CHUNK + chunk.len() - 1).expect("fewer than 2^32 ports open at once")
    }

    /// The chunk of slot `i`, and its place there.
    fn place(i: SlotId) -> (usize, usize) {
        let i = i as usize;
        (i / SLOT_CHUNK, i % SLOT_CHUNK)
    }

    /// Every slot, in index order.
    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.chunks.iter_mut().flatten()
    }
}

impl std::ops::Index<SlotId> for Slots {
    type Output = Slot;

    fn index(&self, i: SlotId) -> &Slot {
        let (chunk, at) = Self::place(i);
        &self.chunks[chunk][at]
    }
}

impl std::ops::IndexMut<SlotId> for Slots {
    fn index_mut(&mut self, i: SlotId) -> &mut Slot {
        let (chunk, at) = Self::place(i);
        &mut self.chunks[chunk][at]
    }
}

impl Port {
    /// The numbers a finding about the port names: the port's, or where the trace has not shown
    /// them yet (an ECA whose SNA is missing), those of the row the finding is drawn from.
    fn named<'a>(&'a self, row: &'a [TelephoneNumber]) -> &'a [TelephoneNumber] {
        if self.numbers.is_empty() {
            row
        } else {
            &self.numbers
        }
    }

    /// The port's rare state: a shared empty one while none of it has been set.
    fn rare(&self) -> &Rare {
        self.rare.as_deref().unwrap_or(&NO_RARE)
    }

    /// The port's rare state, made on the first write.
    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    fn simple(&self) -> bool {
        self.category.is_none_or(Category::is_simple)
    }

    /// When the port completed: `COMPLETION` for Cat A/D (its `CUTOVER` without one), the
    /// `CUTOVER` for Cat C.
    fn completed_at(&self) -> Option<Ev> {
        if self.simple() {
            self.completion.or(self.cutover)
        } else {
            self.cutover
        }
    }

    /// When the port ended without proceeding, as far as the trace shows by `horizon`: rejected
    /// or withdrawn, or (Cat A and D) its SNA confirmation lapsed with no ECA (`SNA-VALIDITY`),
    /// at the lapse instant.
    fn ended_at(&self, horizon: Timestamp) -> Option<Ev> {
        if self.rare().abandoned.is_some() {
            return self.rare().abandoned;
        }
        let confirm = self.sna_confirm?;
        let valid_until = self.sna_expires?;
        let unanswered = self.simple()
            && self.eca_active.is_none()
            && self.eca_confirm.is_none()
            && self.cutover.is_none()
            && self.rare().returned.is_none();
        let lapse = valid_until.plus_millis(1);
        (unanswered && lapse <= horizon).then_some(Ev {
            seq: confirm.seq,
            time: lapse,
        })
    }

    /// Marks a duty charged as not done by its deadline; `true` the first time.
    fn take_due(&mut self, due: Due) -> bool {
        let first = !self.due_charged(due);
        self.overdue |= due.bit();
        first
    }

    /// Whether a duty was charged as not done by its deadline: a late act is then not charged
    /// again.
    fn due_charged(&self, due: Due) -> bool {
        self.overdue & due.bit() != 0
    }

    fn first_charge(&mut self, rule: RuleId) -> bool {
        let bit = 1u32 << (rule as u32);
        let first = self.charged & bit == 0;
        self.charged |= bit;
        first
    }
}

/// A duty whose missing act is charged once its deadline passes ([`Port::take_due`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Due {
    CnaReceipt,
    Completion,
    DtrStart,
    NotifyP,
    /// A `DONOR_NOTIFY` (`true`) or `PLNR_PUBLISH` (`false`) with status `C`, `R` or `N`.
    Notice(bool, PortStatus),
}

impl Due {
    fn notice(notify: bool, status: PortStatus) -> Self {
        Self::Notice(notify, status)
    }

    fn bit(self) -> u16 {
        let status = |s: PortStatus| match s {
            PortStatus::P => 0,
            PortStatus::C => 1,
            PortStatus::R => 2,
            PortStatus::N => 3,
        };
        match self {
            Self::CnaReceipt => 1,
            Self::Completion => 1 << 1,
            Self::DtrStart => 1 << 2,
            Self::NotifyP => 1 << 3,
            Self::Notice(notify, s) => 1 << (4 + status(s) + if notify { 4 } else { 0 }),
        }
    }
}

/// The reader rule that `seq` increases in file order (gaps are fine: a filtered export).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeqOrder {
    /// The least `seq` the next row may carry; `None` after a row whose `seq` is unknown.
    expect: Option<u64>,
}

impl Default for SeqOrder {
    fn default() -> Self {
        Self { expect: Some(1) }
    }
}

impl SeqOrder {
    /// Why the next row breaks the rule, if it does.
    pub(crate) fn check(&mut self, record: &TraceRecord) -> Option<String> {
        let bad = self.expect.is_some_and(|expected| record.seq < expected).then(|| {
            format!(
                "seq: {} does not increase (the previous row's was {}); rows are numbered in file order",
                record.seq,
                self.expect.unwrap_or(1).saturating_sub(1)
            )
        });
        if bad.is_none() {
            self.expect = record.seq.checked_add(1);
        }
        bad
    }

    /// A row whose `seq` could not be read: whatever the next row carries is accepted.
    pub(crate) fn forget(&mut self) {
        self.expect = None;
    }
}

/// A PNV waiting for its response.
#[derive(Clone, Debug)]
struct PnvOpen {
    ev: Ev,
    deadline: Timestamp,
    ca_stale: Option<bool>,
}

/// The streaming audit. Feed it every row of a trace in order ([`Auditor::push`], and
/// [`Auditor::push_malformed`] for rows that could not be read), then call [`Auditor::finish`].
///
/// A clone is an independent audit from the same point: a live audit that must not move its own
/// horizon (so that it stays the audit of the rows alone, as `lnpsim audit --until` reads them)
/// clones itself, advances and finishes the clone to see what is due at an instant.
#[derive(Clone)]
pub struct Auditor<'a> {
    book: &'a Rulebook,
    clock: Clock<'a>,
    ctx: Option<ContextIndex>,
    /// Where each port's slot is in `slots`.
    ports: FastMap<PortRef, SlotId>,
    /// The ports' state: a row of a known port costs one lookup, not a removal and an insertion.
    slots: Slots,
    /// Slots freed by retired ports, to be used again.
    free_slots: Vec<SlotId>,
    /// The state of retired ports, to be used again for new ones: a market retires ports by the
    /// thousand at a sweep, and the allocator would hand their memory back to the system and
    /// fault it in afresh for the ports that follow.
    #[allow(clippy::vec_box)] // boxes move between the slots and this list, the state stays put
    spare_ports: Vec<Box<Port>>,
    pnvs: FastMap<PortRef, PnvOpen>,
    /// Numbers in a confirmed, unfinished port (`PORT-PENDING`).
    pending: FastMap<TelephoneNumber, PortRef>,
    /// The port that last named each number, for rows without a `ref`.
    latest: FastMap<TelephoneNumber, PortRef>,
    confirmed_per_day: BTreeMap<(CarrierCode, NaiveDate), u32>,
    findings: Vec<Finding>,
    /// How many findings [`Auditor::drain_findings`] has handed out.
    drained: usize,
    malformed: Vec<MalformedRow>,
    rows: u64,
    last_line: u64,
    expect_seq: SeqOrder,
    prev_time: Option<Timestamp>,
    now: Timestamp,
    since_sweep: u64,
    pnv_counted: u64,
    pnv_met: u64,
    /// Each PNV counted in `PNV-RESPONSE`, and whether it was met: a port that is not judged
    /// leaves the statistic.
    pnv_tally: Vec<(PortRef, bool)>,
    /// Ports whose duties are withheld because one of their rows is malformed, with the lines.
    withheld_refs: BTreeMap<PortRef, Vec<u64>>,
    /// Numbers of malformed rows whose `ref` could not be read, with the lines.
    withheld_numbers: BTreeMap<TelephoneNumber, Vec<u64>>,
    /// Lines of rows judged at their own time although listed out of order.
    reordered: Vec<u64>,
    /// Whose own log the trace is (`--as CODE`): only that carrier's duties are judged.
    as_carrier: Option<CarrierCode>,
    /// `--as`: the carrier is the donor of a port it is not the losing carrier of, so its log
    /// lacks that port's `CUTOVER` and `COMPLETION`.
    donor_blind: bool,
    /// `--as`: a port the carrier cut over whose donor neither the log nor a context shows, so
    /// the donor's transit routing and publication cannot be in the log.
    donor_unknown: bool,
}

fn cite(rule: RuleId) -> String {
    let clause = rule.clause();
    if clause.starts_with(|c: char| c.is_ascii_digit()) {
        format!("({rule}, clause {clause})")
    } else {
        format!("({rule})")
    }
}

/// An elapsed time in words: `42 minutes`, `1 hour 5 minutes`, `3 days 2 hours`.
pub(crate) fn elapsed(ms: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("{n} {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let secs = ms.abs() / 1000;
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(plural(d, "day"));
    }
    if h > 0 {
        parts.push(plural(h, "hour"));
    }
    if m > 0 && d == 0 {
        parts.push(plural(m, "minute"));
    }
    if s > 0 && d == 0 && h == 0 {
        parts.push(plural(s, "second"));
    }
    if parts.is_empty() {
        if ms == 0 {
            "0 seconds".into()
        } else {
            format!("{} ms", ms.abs())
        }
    } else {
        parts.join(" ")
    }
}

/// The rule that governs how a request is answered, charged when a reject uses a code that is
/// not a ground for rejecting that request.
fn governing_rule(req: MsgKind) -> RuleId {
    use MsgKind as K;
    match req {
        K::Eca => RuleId::EcaResponse,
        K::Cca => RuleId::CcaResponse,
        K::Retarget => RuleId::RetargetLimit,
        K::Withdraw => RuleId::WithdrawBeforeEca,
        K::Reversal | K::EmergencyReturn => RuleId::EmergencyReturn,
        _ => RuleId::SnaResponse,
    }
}

/// Whether an answer rejects with the PNV code 1 (Customer Authority date).
fn rejects_with_ca_code(code: &Code) -> bool {
    match code {
        Code::Whole(WholeCode::Pnv(r)) => r.get() == 1,
        Code::Whole(WholeCode::Reject(r)) => *r == RejectCode::CA_INVALID,
        Code::PerNumber(pairs) => pairs
            .iter()
            .any(|(_, c)| matches!(c, NumberCode::Reject(r) if r.get() == 1)),
        Code::None => false,
    }
}

impl<'a> Auditor<'a> {
    /// A new audit. `context` supplies donors, agreements, caps and services; without it the
    /// rules that need them are reported as not checked.
    pub fn new(rulebook: &'a Rulebook, calendar: &'a BusinessCalendar, context: Option<&Context>) -> Self {
        Self {
            book: rulebook,
            clock: Clock::new(calendar),
            ctx: context.map(ContextIndex::new),
            ports: FastMap::default(),
            slots: Slots::default(),
            free_slots: Vec::new(),
            spare_ports: Vec::new(),
            pnvs: FastMap::default(),
            pending: FastMap::default(),
            latest: FastMap::default(),
            confirmed_per_day: BTreeMap::new(),
            findings: Vec::new(),
            drained: 0,
            malformed: Vec::new(),
            rows: 0,
            last_line: 1,
            expect_seq: SeqOrder::default(),
            prev_time: None,
            now: Timestamp::from_millis(i64::MIN),
            since_sweep: 0,
            pnv_counted: 0,
            pnv_met: 0,
            pnv_tally: Vec::new(),
            withheld_refs: BTreeMap::new(),
            withheld_numbers: BTreeMap::new(),
            reordered: Vec::new(),
            as_carrier: None,
            donor_blind: false,
            donor_unknown: false,
        }
    }

    /// Judges the trace as `carrier`'s own log (`lnpsim audit --as CODE`): only the duties that
    /// carrier holds are charged (the losing carrier's answers, grounds, cutover and notices;
    /// the donor's transit routing and publication), every row must be one it sent, received
    /// or did, and the rules such a log cannot show are listed as not checked.
    pub fn judge_as(&mut self, carrier: CarrierCode) {
        self.as_carrier = Some(carrier);
    }

    /// How many ports the audit holds state for now (open ones, and finished ones kept a little
    /// while for late rows).
    pub fn open_ports(&self) -> usize {
        self.ports.len()
    }

    /// Audits the next row. Its line is taken to be the one after the previous row's (the CSV
    /// header is line 1); use [`Auditor::push_at`] when the line is known.
    pub fn push(&mut self, record: &TraceRecord) {
        let line = self.last_line + 1;
        self.push_at(line, record);
    }

    /// Audits the next row, read from `line` of the file.
    ///
    /// Rows must come in file order with non-decreasing times; one that does not is malformed
    /// and its port is not judged. A file is better read through [`crate::LogAudit`], which
    /// applies the reader rules of `docs/rules.md` ("Reading a carrier's log").
    pub fn push_at(&mut self, line: u64, record: &TraceRecord) {
        if let Some(message) = self.seq_out_of_order(record) {
            self.push_malformed_row(line, message, record.message.port_ref, &record.message.numbers);
            return;
        }
        if let Some(prev) = self.prev_time.filter(|p| record.time < *p) {
            let message = format!(
                "time: {} (seq {}) is earlier than the previous row's {prev}; times never decrease",
                record.time, record.seq
            );
            self.push_malformed_row(line, message, record.message.port_ref, &record.message.numbers);
            return;
        }
        self.accept(line, record);
    }

    /// Checks that `seq` increases (gaps are fine: a filtered export), in file order.
    fn seq_out_of_order(&mut self, record: &TraceRecord) -> Option<String> {
        self.expect_seq.check(record)
    }

    /// Notes a row judged at its own time although the file lists it out of order.
    pub(crate) fn note_reordered(&mut self, line: u64) {
        self.reordered.push(line);
    }

    /// Judges a row known to be in time order.
    pub(crate) fn accept(&mut self, line: u64, record: &TraceRecord) {
        self.rows += 1;
        self.last_line = line;
        self.prev_time = Some(self.prev_time.map_or(record.time, |p| p.max(record.time)));
        self.now = self.now.max(record.time);
        if let Some(me) = self.as_carrier {
            if record.from != me && record.to != Some(me) {
                let message = format!(
                    "from: seq {} ({} from {}) is neither sent, received nor done by {me}, whose log this is (--as)",
                    record.seq, record.message.kind, record.from
                );
                self.rows -= 1;
                self.push_malformed_row(line, message, record.message.port_ref, &record.message.numbers);
                return;
            }
            // Told of a port by its losing carrier: the log is a third-party donor's.
            self.donor_blind |= record.message.kind == MsgKind::DonorNotify && record.to == Some(me);
        }
        if !self.withheld_numbers.is_empty() {
            // A port naming a number of a malformed row whose `ref` could not be read.
            let m = &record.message;
            let lines: Vec<u64> = m
                .numbers
                .iter()
                .filter_map(|n| self.withheld_numbers.get(n))
                .flatten()
                .copied()
                .collect();
            if let (Some(r), false) = (m.port_ref, lines.is_empty()) {
                self.withheld_refs.entry(r).or_default().extend(lines);
            }
        }
        self.handle(line, record);
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY.max(self.ports.len() as u64) {
            self.sweep();
        }
    }

    /// Moves the audit's horizon to `now` (never back): every duty whose deadline has passed by
    /// then is judged, so a late answer is a finding as soon as its deadline passes, not at the
    /// end of the trace (`docs/rules.md`, "Findings"). A live audit calls this as its clock
    /// moves; `lnpsim audit --until` calls it once before [`Auditor::finish`].
    pub fn advance(&mut self, now: Timestamp) {
        if now <= self.now {
            return;
        }
        self.now = now;
        let keys = self.ports_in_order();
        for key in keys {
            if let Some(i) = self.ports.get(&key).copied() {
                let mut port = self.slots[i].port.take().unwrap_or_default();
                let before = self.findings.len();
                self.judge_due(key, &mut port, now);
                self.keep_own(before, &port);
                self.slots[i].port = Some(port);
                self.slots[i].open_until = None;
            }
        }
    }

    /// The references of the ports held, in order: the order a sweep of them judges in, so that
    /// findings come out the same however the map is laid out. Sorted by a key computed once
    /// per reference (at 100,000 open ports, comparing references themselves was a sixth of an
    /// audit).
    fn ports_in_order(&self) -> Vec<PortRef> {
        let mut keyed: Vec<((u8, [u64; 3]), PortRef)> = self.ports.keys().map(|k| (k.order_key(), *k)).collect();
        keyed.sort_unstable_by_key(|(key, _)| *key);
        keyed.into_iter().map(|(_, k)| k).collect()
    }

    /// The port with this reference, if the audit holds it.
    fn port(&self, key: PortRef) -> Option<&Port> {
        self.ports.get(&key).and_then(|&i| self.slots[i].port.as_deref())
    }

    /// The slot of the port with this reference, made (with a new port) if there is none.
    fn slot_of(&mut self, key: PortRef) -> SlotId {
        if let Some(&i) = self.ports.get(&key) {
            return i;
        }
        let port = match self.spare_ports.pop() {
            Some(mut port) => {
                // Empty, keeping the lists' buffers.
                let mut numbers = std::mem::take(&mut port.numbers);
                let mut open = std::mem::take(&mut port.open);
                numbers.clear();
                open.clear();
                *port = Port {
                    numbers,
                    open,
                    ..Port::default()
                };
                port
            }
            None => Box::default(),
        };
        let slot = Slot {
            key,
            port: Some(port),
            last_activity: Timestamp::default(),
            retire: None,
            open_until: None,
        };
        let i = if let Some(i) = self.free_slots.pop() {
            self.slots[i] = slot;
            i
        } else {
            self.slots.push(slot)
        };
        self.ports.insert(key, i);
        i
    }

    /// Removes the port with this reference and frees its slot.
    fn remove_port(&mut self, key: PortRef) -> Option<Box<Port>> {
        let i = self.ports.remove(&key)?;
        self.free_slots.push(i);
        self.slots[i].retire = None;
        self.slots[i].open_until = None;
        self.slots[i].port.take()
    }

    /// Keeps a retired port's state to be used again.
    fn recycle(&mut self, port: Box<Port>) {
        self.spare_ports.push(port);
    }

    /// Judges a row of the port in slot `i` (its reference `key`).
    fn judge_port_row(&mut self, key: PortRef, i: SlotId, r: &TraceRecord) {
        let mut port = self.slots[i].port.take().unwrap_or_default();
        let before = self.findings.len();
        self.on_port_row(key, &mut port, r);
        self.keep_own(before, &port);
        let slot = &mut self.slots[i];
        slot.last_activity = port.last_activity;
        slot.open_until = None;
        slot.port = Some(port);
    }

    /// The findings made since the last call, in the order they were found.
    pub fn drain_findings(&mut self) -> Vec<Finding> {
        let new = self
            .findings
            .get(self.drained..)
            .map(<[Finding]>::to_vec)
            .unwrap_or_default();
        self.drained = self.findings.len();
        new
    }

    /// The audit's horizon: the latest of the rows seen and of [`Auditor::advance`].
    pub fn horizon(&self) -> Timestamp {
        self.now
    }

    /// Records a row that could not be read; the audit carries on with the next.
    ///
    /// No finding is drawn from it, nor from its absence: the port its `ref` names (or, where
    /// that cannot be read, the ports of its numbers) is not judged.
    pub fn push_malformed(&mut self, error: RowError) {
        // The row's seq is unknown: accept whatever the next row carries.
        self.expect_seq.forget();
        let message = match &error.column {
            Some(c) => format!("{c}: {}", error.message),
            None => error.message,
        };
        self.push_malformed_row(error.line, message, error.port_ref, &error.numbers);
    }

    /// Records a malformed row and withholds the duties of its port.
    pub(crate) fn push_malformed_row(
        &mut self,
        line: u64,
        message: String,
        port_ref: Option<PortRef>,
        numbers: &[TelephoneNumber],
    ) {
        self.rows += 1;
        self.last_line = self.last_line.max(line);
        self.malformed.push(MalformedRow { line, message });
        if let Some(r) = port_ref {
            self.withheld_refs.entry(r).or_default().push(line);
            return;
        }
        for n in numbers {
            self.withheld_numbers.entry(*n).or_default().push(line);
            if let Some(p) = self.latest.get(n) {
                self.withheld_refs.entry(*p).or_default().push(line);
            }
        }
    }

    fn charge(
        &mut self,
        rule: RuleId,
        mut seq: Vec<u64>,
        port_ref: Option<PortRef>,
        numbers: &[TelephoneNumber],
        message: &str,
    ) {
        seq.sort_unstable();
        seq.dedup();
        self.findings.push(Finding {
            rule,
            seq,
            port_ref,
            numbers: numbers.to_vec(),
            message: format!("{message} {}", cite(rule)),
        });
    }

    fn add(&self, t: Timestamp, span: Span) -> Timestamp {
        self.clock.add(t, span)
    }

    /// The Code's duties (`lnp_model::duty`): the same functions the carrier actors keep.
    fn duties(&self) -> Duties<'_, Clock<'a>> {
        Duties::new(self.book, &self.clock)
    }

    fn handle(&mut self, line: u64, r: &TraceRecord) {
        use MsgKind as K;
        let m = &r.message;
        match m.kind {
            K::GiveBack => {}
            K::Pnv | K::PnvResponse => {
                let before = self.findings.len();
                self.on_pnv(line, r);
                // The PNV's receiver answers it.
                let losing = if m.kind == K::Pnv { r.to } else { Some(r.from) };
                self.keep_own_of(before, losing, None);
            }
            K::DonorNotify | K::Cutover | K::DtrStart | K::DtrStop | K::PlnrPublish => {
                let known = m.port_ref.and_then(|p| self.ports.get(&p).map(|&i| (p, i)));
                let (key, i) = if let Some(found) = known {
                    found
                } else {
                    let key = m.numbers.iter().find_map(|n| self.latest.get(n).copied());
                    let key = match (key, m.kind, m.port_ref) {
                        (Some(k), _, _) => k,
                        // A cutover of a port the trace never showed starting: judged on its own.
                        (None, K::Cutover, Some(p)) => p,
                        _ => return,
                    };
                    (key, self.slot_of(key))
                };
                self.judge_port_row(key, i, r);
            }
            _ => {
                let Some(key) = m.port_ref else {
                    let message = format!("ref: {} at seq {} has no port reference", m.kind, r.seq);
                    self.rows -= 1;
                    self.push_malformed_row(line, message, None, &m.numbers);
                    return;
                };
                let i = self.slot_of(key);
                self.judge_port_row(key, i, r);
            }
        }
    }

    /// `--as`: keeps, of the findings made since `from`, those of duties the log's carrier holds
    /// in `port`.
    fn keep_own(&mut self, from: usize, port: &Port) {
        if self.as_carrier.is_none() {
            return;
        }
        let donor = self.donor_of_port(port);
        self.donor_unknown |= donor.is_none() && port.cutover.is_some();
        self.keep_own_of(from, port.losing, donor);
    }

    fn keep_own_of(&mut self, from: usize, losing: Option<CarrierCode>, donor: Option<CarrierCode>) {
        let Some(me) = self.as_carrier else { return };
        // A donor that is not the losing carrier never sees the port's CUTOVER or COMPLETION.
        let blind = donor == Some(me) && losing.is_some_and(|l| l != me);
        self.donor_blind |= blind;
        if self.findings.len() <= from {
            return;
        }
        let tail = self.findings.split_off(from);
        self.findings.extend(tail.into_iter().filter(|f| {
            let donor_duty = matches!(f.rule, RuleId::DtrDuration | RuleId::PlnrUpdate);
            let holder = if donor_duty { donor } else { losing };
            holder == Some(me) && !(donor_duty && blind)
        }));
    }

    fn unpend(&mut self, key: PortRef, port: &Port) {
        for n in &port.numbers {
            if self.pending.get(n) == Some(&key) {
                self.pending.remove(n);
            }
        }
    }

    fn is_live(&self, port: &Port) -> bool {
        let confirmed = port.sna_confirm.or(port.rare().cna_confirm);
        let Some(conf) = confirmed else { return false };
        if port.rare().abandoned.is_some()
            || port.completion.is_some()
            || port.cutover.is_some()
            || port.rare().returned.is_some()
        {
            return false;
        }
        let expired = port.simple()
            && port.eca_active.is_none()
            && port.eca_confirm.is_none()
            && port
                .sna_expires
                .map_or_else(|| self.now > self.duties().sna_valid_until(conf.time), |t| self.now > t);
        !expired
    }

    fn on_port_row(&mut self, key: PortRef, port: &mut Port, r: &TraceRecord) {
        use MsgKind as K;
        let m = &r.message;
        let ev = Ev {
            seq: r.seq,
            time: r.time,
        };
        port.last_activity = r.time;
        let request = matches!(
            m.kind,
            K::Sna | K::Cna | K::Eca | K::Cca | K::Retarget | K::Withdraw | K::Reversal | K::EmergencyReturn
        );
        if request && port.open.capacity() == 0 {
            // Most ports have one request open at a time: room for one, not the four a first push
            // makes.
            port.open.reserve_exact(1);
        }
        if port.category.is_none() {
            port.category = m.category.or(match m.kind {
                K::Sna | K::Eca | K::Reversal => Some(Category::A),
                K::Cna | K::Cca | K::EmergencyReturn => Some(Category::C),
                _ => None,
            });
        }
        match m.kind {
            K::Sna | K::Cna => {
                port.gaining = Some(r.from);
                port.losing = r.to;
                port.numbers.clear();
                port.numbers.extend_from_slice(&m.numbers);
                for n in &m.numbers {
                    self.latest.insert(*n, key);
                }
                if m.kind == K::Sna {
                    port.sna.get_or_insert(ev);
                } else {
                    port.rare_mut().cna.get_or_insert(ev);
                }
                let late = self.ca_stale(m.detail.ca_date, r.time);
                port.open.push(OpenRequest {
                    kind: m.kind,
                    ev,
                    cutover: m.detail.cutover,
                    no_basis: false,
                    overdue: false,
                    late,
                });
            }
            K::Eca => {
                let numbers_ok = m.numbers.iter().all(|n| port.numbers.contains(n));
                let no_basis = port.sna_confirm.is_none() || !numbers_ok;
                let late = port
                    .sna_confirm
                    .map(|c| self.duties().eca_too_late(port.sna.map(|e| e.time), c.time, r.time));
                port.eca_active = Some(ev);
                port.open.push(OpenRequest {
                    kind: K::Eca,
                    ev,
                    cutover: Some(m.detail.cutover.unwrap_or(r.time)),
                    no_basis,
                    overdue: false,
                    late,
                });
            }
            K::Cca => {
                port.rare_mut().cca_active = Some(ev);
                port.open.push(OpenRequest {
                    kind: K::Cca,
                    ev,
                    cutover: m.detail.cutover,
                    no_basis: port.rare().cna_confirm.is_none() || port.rare().cna_reject.is_some(),
                    overdue: false,
                    late: None,
                });
            }
            K::Retarget => port.open.push(OpenRequest {
                kind: K::Retarget,
                ev,
                cutover: m.detail.cutover,
                no_basis: false,
                overdue: false,
                late: None,
            }),
            K::Withdraw => {
                let late = if port.simple() {
                    port.eca_active.is_some()
                } else {
                    port.rare().cca_active.is_some()
                };
                port.open.push(OpenRequest {
                    kind: K::Withdraw,
                    ev,
                    cutover: None,
                    no_basis: false,
                    overdue: false,
                    late: Some(late),
                });
            }
            K::Reversal | K::EmergencyReturn => {
                let late = port.cutover.map(|c| !self.duties().return_in_window(c.time, r.time));
                port.open.push(OpenRequest {
                    kind: m.kind,
                    ev,
                    cutover: None,
                    no_basis: false,
                    overdue: false,
                    late,
                });
            }
            K::CnaReceipt => {
                if let (Some(cna), None) = (port.rare().cna, port.rare().cna_receipt) {
                    let deadline = self.duties().cna_receipt_deadline(cna.time);
                    if r.time > deadline && !port.due_charged(Due::CnaReceipt) {
                        self.charge(
                            RuleId::CnaReceipt,
                            vec![cna.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "CNA at seq {} ({}) got its CNA_RECEIPT at seq {} ({}), after the deadline {}; the \
                                 limit is {}",
                                cna.seq,
                                cna.time,
                                r.seq,
                                r.time,
                                deadline,
                                self.book.cna_receipt.describe()
                            ),
                        );
                    }
                }
                port.rare_mut().cna_receipt.get_or_insert(ev);
            }
            K::Completion => {
                if port.completion.is_none() {
                    if let Some(conf) = port.eca_confirm {
                        let deadline = self.duties().completion_deadline(conf.time);
                        if r.time > deadline && !port.due_charged(Due::Completion) {
                            self.charge(
                                RuleId::Completion,
                                vec![conf.seq, r.seq],
                                Some(key),
                                &port.numbers,
                                &format!(
                                    "ECA_CONFIRM at seq {} was followed by COMPLETION {} later at seq {}; the limit \
                                     is {}",
                                    conf.seq,
                                    elapsed(r.time.millis() - conf.time.millis()),
                                    r.seq,
                                    self.book.completion.describe()
                                ),
                            );
                        }
                    }
                    port.completion = Some(ev);
                    self.unpend(key, port);
                }
            }
            K::Cutover => self.on_cutover(key, port, r, ev),
            K::DtrStart | K::DtrStop => self.on_dtr(key, port, r, ev),
            K::PlnrPublish => self.on_plnr(key, port, r),
            K::DonorNotify => self.on_notify(key, port, r, ev),
            kind => {
                if let Some(req_kind) = kind.answered_request() {
                    let pos = port.open.iter().position(|o| o.kind == req_kind);
                    let req = pos.map(|p| port.open.remove(p));
                    if let Some(req) = &req {
                        self.check_response_time(key, port, req, r);
                    }
                    self.on_answer(key, port, req.as_ref(), r, ev);
                }
            }
        }
    }

    /// [`Auditor::advance`] to `horizon`, then [`Auditor::finish`]: the end of a run whose
    /// horizon may lie after its last row (`until`), in one pass over the open ports instead of
    /// two.
    pub fn finish_at(mut self, horizon: Timestamp) -> Report {
        self.now = self.now.max(horizon);
        self.finish()
    }

    /// Ends the audit: charges the duties whose deadline passed before the last row and were
    /// never done, computes the statistics, and sorts the findings.
    pub fn finish(mut self) -> Report {
        let end = self.now;
        let keys = self.ports_in_order();
        for key in keys {
            if let Some(mut port) = self.remove_port(key) {
                let before = self.findings.len();
                self.judge_due(key, &mut port, end);
                self.keep_own(before, &port);
            }
        }
        let overdue: Vec<PortRef> = self
            .pnvs
            .iter()
            .filter(|(_, open)| open.deadline < end)
            .map(|(k, _)| *k)
            .collect();
        for key in overdue {
            self.count_pnv(key, false);
        }
        let not_judged = self.withhold();
        Report::assemble(
            Tally {
                rows: self.rows,
                findings: self.findings,
                malformed: self.malformed,
                pnv_counted: self.pnv_counted,
                pnv_met: self.pnv_met,
                with_context: self.ctx.is_some(),
                reordered: self.reordered,
                not_judged,
                judged_as: self.as_carrier,
                donor_blind: self.donor_blind,
                donor_unknown: self.donor_unknown,
            },
            self.book,
        )
    }

    /// Counts a PNV in `PNV-RESPONSE`: answered (`met` when in time) or past its deadline.
    pub(super) fn count_pnv(&mut self, key: PortRef, met: bool) {
        self.pnv_counted += 1;
        self.pnv_met += u64::from(met);
        self.pnv_tally.push((key, met));
    }

    /// Withholds the findings of ports with a malformed row (`docs/rules.md`, "Reading a
    /// carrier's log"): no finding is drawn from a malformed row, nor from its absence. Returns
    /// the ports not judged, in reference order.
    fn withhold(&mut self) -> Vec<NotJudged> {
        if self.withheld_refs.is_empty() && self.withheld_numbers.is_empty() {
            return Vec::new();
        }
        // The ports of numbers whose malformed rows had no readable `ref`.
        let mut by_number: BTreeMap<PortRef, Vec<u64>> = BTreeMap::new();
        for f in &self.findings {
            let Some(r) = f.port_ref else { continue };
            for n in &f.numbers {
                if let Some(lines) = self.withheld_numbers.get(n) {
                    by_number.entry(r).or_default().extend(lines);
                }
            }
        }
        for (r, lines) in by_number {
            self.withheld_refs.entry(r).or_default().extend(lines);
        }
        let refs = &self.withheld_refs;
        let numbers = &self.withheld_numbers;
        self.findings.retain(|f| {
            !(f.port_ref.is_some_and(|r| refs.contains_key(&r)) || f.numbers.iter().any(|n| numbers.contains_key(n)))
        });
        for (r, met) in &self.pnv_tally {
            if refs.contains_key(r) {
                self.pnv_counted -= 1;
                self.pnv_met -= u64::from(*met);
            }
        }
        let mut out = Vec::new();
        for (r, lines) in &mut self.withheld_refs {
            lines.sort_unstable();
            lines.dedup();
            let listed: Vec<String> = lines.iter().map(u64::to_string).collect();
            let reason = if lines.len() == 1 {
                format!("row {} of this port is malformed", listed[0])
            } else {
                format!("rows {} of this port are malformed", listed.join(", "))
            };
            out.push(NotJudged {
                port_ref: *r,
                lines: lines.clone(),
                reason,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port's state is one allocation per open port (66,000 of them at once in a
    /// 100,000-port market): it stays within mimalloc's 256-byte size class (the next is 320),
    /// with what few ports set kept apart in [`Rare`].
    #[test]
    fn port_fits_its_size_class() {
        assert!(size_of::<Port>() <= 256, "Port is {} bytes", size_of::<Port>());
    }

    /// A market's common port (Cat A, cut over and completed, its donor the losing carrier) never
    /// makes its rare state: what keeps the port within its size class.
    #[test]
    fn a_completed_cat_a_port_sets_nothing_rare() {
        const ROWS: &str = "seq,time,from,to,msg,ref,category,numbers,code,detail\n\
1,2026-03-02T00:00:07.248+11:00,9006,9007,SNA,L000000000,A,0756000000,,ca_date=2026-02-14;account=GEN-0;cutover=2026-03-05T15:42:00+11:00\n\
11,2026-03-02T00:02:45.248+11:00,9007,9006,SNA_CONFIRM,L000000000,A,0756000000,,\n\
12,2026-03-02T00:02:45.248+11:00,9007,,PLNR_PUBLISH,L000000000,A,0756000000,,status=P;current=9006;file_seq=1;losing=9007\n\
47369,2026-03-05T15:42:00+11:00,9006,9007,ECA,L000000000,A,0756000000,,\n\
47426,2026-03-05T15:44:33+11:00,9007,9006,ECA_CONFIRM,L000000000,A,0756000000,,\n\
47427,2026-03-05T15:44:33+11:00,9007,,CUTOVER,L000000000,A,0756000000,,current=9006\n\
47428,2026-03-05T15:44:33+11:00,9007,,DTR_START,L000000000,A,0756000000,,current=9006\n\
47429,2026-03-05T15:44:33+11:00,9007,9006,COMPLETION,L000000000,A,0756000000,,\n\
50128,2026-03-05T19:44:33+11:00,9007,,PLNR_PUBLISH,L000000000,A,0756000000,,status=C;current=9006;file_seq=1762;losing=9007;effective=2026-03-05T15:44:33+11:00\n\
221487,2026-03-12T15:44:33+11:00,9007,,DTR_STOP,L000000000,A,0756000000,,current=9006\n";
        let book = Rulebook::default();
        let cal = book.calendar();
        let mut audit = Auditor::new(&book, &cal, None);
        for r in lnp_model::TraceReader::new(ROWS.as_bytes(), lnp_model::TraceFormat::Csv).unwrap() {
            audit.push(&r.unwrap());
        }
        let port = audit.port("L000000000".parse().unwrap()).expect("held until a sweep");
        assert!(port.completion.is_some() && port.dtr_stop.is_some() && port.plnr.c);
        assert!(port.rare.is_none());
        assert!(audit.finish().findings.is_empty());
    }

    /// A slot keeps its index across the chunks of [`Slots`], and a walk visits them in order.
    #[test]
    fn slots_keep_their_index_across_chunks() {
        let slot = |t: i64| Slot {
            key: "P1".parse().expect("a reference"),
            port: None,
            last_activity: Timestamp::from_millis(t),
            retire: None,
            open_until: None,
        };
        let mut slots = Slots::default();
        let n = 2 * SLOT_CHUNK + 3;
        for i in 0..n {
            let id = slots.push(slot(i64::try_from(i).expect("small")));
            assert_eq!(id as usize, i);
        }
        let first_of_second = SlotId::try_from(SLOT_CHUNK).expect("small");
        slots[first_of_second] = slot(-1);
        assert_eq!(slots[first_of_second].last_activity, Timestamp::from_millis(-1));
        let last = SlotId::try_from(n - 1).expect("small");
        assert_eq!(slots[last].last_activity, Timestamp::from_millis(i64::from(last)));
        let walked: Vec<i64> = slots.iter_mut().map(|s| s.last_activity.millis()).collect();
        assert_eq!(walked.len(), n);
        assert_eq!(walked[SLOT_CHUNK - 1..=SLOT_CHUNK + 1], [4095, -1, 4097]);
    }

    #[test]
    fn elapsed_words() {
        assert_eq!(elapsed(42 * 60_000), "42 minutes");
        assert_eq!(elapsed(15 * 60_000 + 1000), "15 minutes 1 second");
        assert_eq!(elapsed(3_660_000), "1 hour 1 minute");
        assert_eq!(elapsed(2 * 86_400_000 + 3_600_000), "2 days 1 hour");
        assert_eq!(elapsed(0), "0 seconds");
    }

    #[test]
    fn every_answer_has_its_request() {
        for k in MsgKind::ALL {
            if k.is_reject() || k.keyword().ends_with("_CONFIRM") {
                assert!(k.answered_request().is_some(), "{k}");
            }
        }
        assert_eq!(MsgKind::Cutover.answered_request(), None);
    }
}
