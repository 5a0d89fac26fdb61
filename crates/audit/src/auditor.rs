//! The streaming judge: one pass over the trace, state kept per open port.
//!
//! What each rule checks, and every reading of `rules.md` it rests on, is written down at the top
//! of `lib.rs`; the code below refers to the rules by ID.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use chrono::NaiveDate;
use lnp_model::message::NumberCode;
use lnp_model::trace::RowError;
use lnp_model::{
    BusinessCalendar, CarrierCode, Category, Code, Duties, MsgKind, PortRef, PortStatus, RejectCode, RuleId, Rulebook,
    Span, TelephoneNumber, Timestamp, TraceRecord, WholeCode,
};

use crate::clock::Clock;
use crate::context::{Context, ContextIndex, ServiceKind};
use crate::report::{Finding, MalformedRow, NotChecked, Report, StatStatus, Statistic, Summary};

/// How many rows at least pass between two sweeps of finished ports.
const SWEEP_EVERY: u64 = 65_536;
/// How long a finished port is kept after its last duty's deadline and its last row, so that a
/// late row still finds it and is reported as late rather than missing.
const RETIRE_SLACK: Span = Span::Days(1);

/// A small multiplicative hasher for the audit's keys (port references, numbers): much faster
/// than the default `SipHash`, and there is no adversary to defend against. Iteration order of
/// these maps never reaches the output (findings are sorted).
#[derive(Default, Clone, Copy)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

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
    /// `SNA`/`CNA`: the Customer Authority is stale or future-dated. `ECA`: the SNA confirmation
    /// has expired. `WITHDRAW`: sent after the ECA/CCA. `REVERSAL`/`EMERGENCY_RETURN`: outside
    /// the window. `None` where the trace cannot tell.
    late: Option<bool>,
}

/// Status notices of one kind of duty (`DONOR_NOTIFY` or `PLNR_PUBLISH`): the first row of each.
#[derive(Clone, Copy, Debug, Default)]
struct Notices {
    p: Option<Ev>,
    c: Option<Ev>,
    n: Option<Ev>,
    r: Option<Ev>,
}

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
    cna: Option<Ev>,
    cna_receipt: Option<Ev>,
    cna_confirm: Option<Ev>,
    cna_reject: Option<Ev>,
    /// An ECA (CCA) sent and not rejected.
    eca_active: Option<Ev>,
    eca_confirm: Option<Ev>,
    cca_active: Option<Ev>,
    cca_confirm: Option<Ev>,
    /// The cutover the last confirmed ECA, CCA or re-target fixed, with the confirming row.
    confirmed_cutover: Option<(Ev, Timestamp)>,
    /// Confirmed re-targets that count against `RETARGET-LIMIT`.
    retargets: u32,
    cutover: Option<Ev>,
    completion: Option<Ev>,
    returned: Option<Ev>,
    /// Rejected (SNA, CNA, or ECA with 101/102) or withdrawn.
    abandoned: Option<Ev>,
    dtr_start: Option<Ev>,
    dtr_stop: Option<Ev>,
    /// The carrier seen running DTR or publishing PLNR records for the port's numbers.
    observed_donor: Option<CarrierCode>,
    notify: Notices,
    /// The last `DONOR_NOTIFY` `P` with `cutover=` before the cutover.
    notify_cutover: Option<Ev>,
    plnr: Notices,
    /// Rules already charged for this port where one finding per port is enough.
    charged: u32,
    last_activity: Timestamp,
    /// `retire_at` as computed for `last_activity` (it only changes with a new row).
    retire_cache: Option<(Timestamp, Option<Timestamp>)>,
}

impl Port {
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

    fn first_charge(&mut self, rule: RuleId) -> bool {
        let bit = 1u32 << (rule as u32);
        let first = self.charged & bit == 0;
        self.charged |= bit;
        first
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
pub struct Auditor<'a> {
    book: &'a Rulebook,
    clock: Clock<'a>,
    ctx: Option<ContextIndex>,
    ports: FastMap<PortRef, Box<Port>>,
    pnvs: FastMap<PortRef, PnvOpen>,
    /// Numbers in a confirmed, unfinished port (`PORT-PENDING`).
    pending: FastMap<TelephoneNumber, PortRef>,
    /// The port that last named each number, for rows without a `ref`.
    latest: FastMap<TelephoneNumber, PortRef>,
    confirmed_per_day: BTreeMap<(CarrierCode, NaiveDate), u32>,
    findings: Vec<Finding>,
    malformed: Vec<MalformedRow>,
    rows: u64,
    last_line: u64,
    expect_seq: Option<u64>,
    prev_time: Option<Timestamp>,
    now: Timestamp,
    since_sweep: u64,
    pnv_counted: u64,
    pnv_met: u64,
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
fn elapsed(ms: i64) -> String {
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

fn request_of(answer: MsgKind) -> Option<MsgKind> {
    use MsgKind as K;
    [
        K::Sna,
        K::Eca,
        K::Cna,
        K::Cca,
        K::Retarget,
        K::Withdraw,
        K::Reversal,
        K::EmergencyReturn,
    ]
    .into_iter()
    .find(|req| req.answers().contains(&answer))
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
            pnvs: FastMap::default(),
            pending: FastMap::default(),
            latest: FastMap::default(),
            confirmed_per_day: BTreeMap::new(),
            findings: Vec::new(),
            malformed: Vec::new(),
            rows: 0,
            last_line: 1,
            expect_seq: Some(1),
            prev_time: None,
            now: Timestamp::from_millis(i64::MIN),
            since_sweep: 0,
            pnv_counted: 0,
            pnv_met: 0,
        }
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
    pub fn push_at(&mut self, line: u64, record: &TraceRecord) {
        self.rows += 1;
        self.last_line = line;
        if let Some(expected) = self.expect_seq {
            if record.seq != expected {
                self.malformed.push(MalformedRow {
                    line,
                    message: format!(
                        "seq: {} out of order, expected {expected} (rows are numbered 1, 2, 3 … in file order)",
                        record.seq
                    ),
                });
            }
        }
        self.expect_seq = record.seq.checked_add(1);
        if let Some(prev) = self.prev_time {
            if record.time < prev {
                self.malformed.push(MalformedRow {
                    line,
                    message: format!(
                        "time: {} (seq {}) is earlier than the previous row's {prev}; times never decrease",
                        record.time, record.seq
                    ),
                });
            }
        }
        self.prev_time = Some(self.prev_time.map_or(record.time, |p| p.max(record.time)));
        self.now = self.now.max(record.time);
        self.handle(line, record);
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY.max(self.ports.len() as u64) {
            self.sweep();
        }
    }

    /// Records a row that could not be read; the audit carries on with the next.
    pub fn push_malformed(&mut self, error: RowError) {
        self.rows += 1;
        self.last_line = error.line;
        // The row's seq is unknown: accept whatever the next row carries.
        self.expect_seq = None;
        let message = match &error.column {
            Some(c) => format!("{c}: {}", error.message),
            None => error.message,
        };
        self.malformed.push(MalformedRow {
            line: error.line,
            message,
        });
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
            K::Pnv | K::PnvResponse => self.on_pnv(line, r),
            K::DonorNotify | K::Cutover | K::DtrStart | K::DtrStop | K::PlnrPublish => {
                let known = m.port_ref.filter(|p| self.ports.contains_key(p));
                let key = known.or_else(|| m.numbers.iter().find_map(|n| self.latest.get(n).copied()));
                let key = match (key, m.kind, m.port_ref) {
                    (Some(k), _, _) => k,
                    // A cutover of a port the trace never showed starting: judged on its own.
                    (None, K::Cutover, Some(p)) => p,
                    _ => return,
                };
                let mut port = self.ports.remove(&key).unwrap_or_default();
                self.on_port_row(key, &mut port, r);
                self.ports.insert(key, port);
            }
            _ => {
                let Some(key) = m.port_ref else {
                    self.malformed.push(MalformedRow {
                        line,
                        message: format!("ref: {} at seq {} has no port reference", m.kind, r.seq),
                    });
                    return;
                };
                let mut port = self.ports.remove(&key).unwrap_or_default();
                self.on_port_row(key, &mut port, r);
                self.ports.insert(key, port);
            }
        }
    }

    // ----- PNV: PNV-RESPONSE (statistic), PNV-CODES, CA-AGE -----

    fn ca_stale(&self, ca_date: Option<NaiveDate>, at: Timestamp) -> Option<bool> {
        Some(self.duties().ca_stale(ca_date?, at))
    }

    fn on_pnv(&mut self, _line: u64, r: &TraceRecord) {
        let m = &r.message;
        let ev = Ev {
            seq: r.seq,
            time: r.time,
        };
        let Some(key) = m.port_ref else { return };
        if m.kind == MsgKind::Pnv {
            let deadline = self.add(r.time, self.book.pnv_response);
            let ca_stale = self.ca_stale(m.detail.ca_date, r.time);
            self.pnvs.entry(key).or_insert(PnvOpen { ev, deadline, ca_stale });
            return;
        }
        self.check_pnv_codes(r, MsgKind::PnvResponse);
        let Some(open) = self.pnvs.remove(&key) else { return };
        self.pnv_counted += 1;
        if r.time <= open.deadline {
            self.pnv_met += 1;
        }
        let rejected_ca = rejects_with_ca_code(&m.code);
        if open.ca_stale == Some(true) && !rejected_ca {
            self.charge(
                RuleId::CaAge,
                vec![open.ev.seq, r.seq],
                Some(key),
                &m.numbers,
                &format!(
                    "PNV at seq {} relies on a Customer Authority more than {} old (or dated after it), yet the \
                     response at seq {} does not reject it with code 1",
                    open.ev.seq,
                    self.book.ca_age.describe(),
                    r.seq
                ),
            );
        } else if open.ca_stale == Some(false) && rejected_ca {
            self.charge(
                RuleId::CaAge,
                vec![open.ev.seq, r.seq],
                Some(key),
                &m.numbers,
                &format!(
                    "the response at seq {} rejects the PNV at seq {} with code 1 though its Customer Authority \
                     is within {}",
                    r.seq,
                    open.ev.seq,
                    self.book.ca_age.describe()
                ),
            );
        }
    }

    /// `PNV-CODES` on a `PNV_RESPONSE` or a `CNA_REJECT`.
    fn check_pnv_codes(&mut self, r: &TraceRecord, kind: MsgKind) {
        let m = &r.message;
        let problem: Option<String> = match &m.code {
            Code::None => Some(format!("{kind} at seq {} carries no code", r.seq)),
            Code::Whole(WholeCode::Reject(c)) => Some(format!(
                "{kind} at seq {} uses the reject code {c}; PNV codes are P A S R D SS and 1-7",
                r.seq
            )),
            Code::Whole(WholeCode::Pnv(p)) if !p.is_whole_request() => Some(format!(
                "{kind} at seq {} rejects the whole request with code {}, which rejects one number (only 1 and 2 \
                 reject a whole request)",
                r.seq,
                p.get()
            )),
            Code::Whole(WholeCode::Pnv(_)) => None,
            Code::PerNumber(pairs) => {
                let other = pairs.iter().find_map(|(n, c)| match c {
                    NumberCode::Other(o) => Some(format!("{n}:{}", o.as_str())),
                    NumberCode::Response(_) if kind == MsgKind::CnaReject => Some(format!("{n}:{c}")),
                    _ => None,
                });
                let whole_codes: Vec<u8> = pairs
                    .iter()
                    .filter_map(|(_, c)| match c {
                        NumberCode::Reject(p) if p.is_whole_request() => Some(p.get()),
                        _ => None,
                    })
                    .collect();
                if let Some(o) = other {
                    Some(if kind == MsgKind::CnaReject {
                        format!(
                            "{kind} at seq {} gives {o}; per-number reasons are the PNV reject codes 1-7",
                            r.seq
                        )
                    } else {
                        format!(
                            "{kind} at seq {} gives {o}, which is not a PNV code (P A S R D SS, 1-7)",
                            r.seq
                        )
                    })
                } else if !whole_codes.is_empty()
                    && (whole_codes.len() != pairs.len() || whole_codes.iter().any(|c| *c != whole_codes[0]))
                {
                    Some(format!(
                        "{kind} at seq {} uses code {} for some numbers only; codes 1 and 2 reject the whole request",
                        r.seq, whole_codes[0]
                    ))
                } else {
                    None
                }
            }
        };
        if let Some(p) = problem {
            self.charge(RuleId::PnvCodes, vec![r.seq], m.port_ref, &m.numbers, &p);
        }
    }

    // ----- ports -----

    fn after_hours_ok(&self, gaining: Option<CarrierCode>, losing: Option<CarrierCode>) -> bool {
        match (&self.ctx, gaining, losing) {
            (Some(ctx), Some(g), Some(l)) => ctx.agreement(g, l) == Some(true),
            _ => false,
        }
    }

    fn donor_of_port(&self, port: &Port) -> Option<CarrierCode> {
        let from_ctx = self
            .ctx
            .as_ref()
            .and_then(|c| port.numbers.first().and_then(|n| c.donor_of(*n)));
        from_ctx.or(port.observed_donor)
    }

    /// The third-party donor that must be told of the port (`DONOR-NOTIFY`), from the context.
    fn third_party_donor(&self, port: &Port) -> Option<CarrierCode> {
        let ctx = self.ctx.as_ref()?;
        let donor = ctx.donor_of(*port.numbers.first()?)?;
        (Some(donor) != port.losing && Some(donor) != port.gaining).then_some(donor)
    }

    fn unpend(&mut self, key: PortRef, port: &Port) {
        for n in &port.numbers {
            if self.pending.get(n) == Some(&key) {
                self.pending.remove(n);
            }
        }
    }

    fn is_live(&self, port: &Port) -> bool {
        let confirmed = port.sna_confirm.or(port.cna_confirm);
        let Some(conf) = confirmed else { return false };
        if port.abandoned.is_some() || port.completion.is_some() || port.cutover.is_some() || port.returned.is_some() {
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
                port.numbers.clone_from(&m.numbers);
                for n in &m.numbers {
                    self.latest.insert(*n, key);
                }
                if m.kind == K::Sna {
                    port.sna.get_or_insert(ev);
                } else {
                    port.cna.get_or_insert(ev);
                }
                let late = self.ca_stale(m.detail.ca_date, r.time);
                port.open.push(OpenRequest {
                    kind: m.kind,
                    ev,
                    cutover: m.detail.cutover,
                    no_basis: false,
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
                    late,
                });
            }
            K::Cca => {
                port.cca_active = Some(ev);
                port.open.push(OpenRequest {
                    kind: K::Cca,
                    ev,
                    cutover: m.detail.cutover,
                    no_basis: port.cna_confirm.is_none() || port.cna_reject.is_some(),
                    late: None,
                });
            }
            K::Retarget => port.open.push(OpenRequest {
                kind: K::Retarget,
                ev,
                cutover: m.detail.cutover,
                no_basis: false,
                late: None,
            }),
            K::Withdraw => {
                let late = if port.simple() {
                    port.eca_active.is_some()
                } else {
                    port.cca_active.is_some()
                };
                port.open.push(OpenRequest {
                    kind: K::Withdraw,
                    ev,
                    cutover: None,
                    no_basis: false,
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
                    late,
                });
            }
            K::CnaReceipt => {
                if let (Some(cna), None) = (port.cna, port.cna_receipt) {
                    let deadline = self.duties().cna_receipt_deadline(cna.time);
                    if r.time > deadline {
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
                port.cna_receipt.get_or_insert(ev);
            }
            K::Completion => {
                if port.completion.is_none() {
                    if let Some(conf) = port.eca_confirm {
                        let deadline = self.duties().completion_deadline(conf.time);
                        if r.time > deadline {
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
            K::PlnrPublish => self.on_plnr(key, port, r, ev),
            K::DonorNotify => self.on_notify(key, port, r, ev),
            kind => {
                if let Some(req_kind) = request_of(kind) {
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

    fn check_response_time(&mut self, key: PortRef, port: &Port, req: &OpenRequest, r: &TraceRecord) {
        if req.kind == MsgKind::Pnv {
            return;
        }
        let Some(duty) = self.duties().answer(req.kind, req.ev.time) else {
            return;
        };
        let (rule, span, deadline) = (duty.rule, duty.span, duty.deadline);
        if r.time <= deadline {
            return;
        }
        let msg = if span.fixed_millis().is_some() {
            format!(
                "{} at seq {} was answered {} later at seq {}; the limit is {}",
                req.kind,
                req.ev.seq,
                elapsed(r.time.millis() - req.ev.time.millis()),
                r.seq,
                span.describe()
            )
        } else {
            format!(
                "{} at seq {} ({}) was answered at seq {} ({}), after its deadline {}; the limit is {}",
                req.kind,
                req.ev.seq,
                req.ev.time,
                r.seq,
                r.time,
                deadline,
                span.describe()
            )
        };
        self.charge(rule, vec![req.ev.seq, r.seq], Some(key), &port.numbers, &msg);
    }

    /// Checks a reject's code against the table; returns it when it is a valid ground for
    /// rejecting `req_kind`, so that the caller can check whether the ground holds.
    fn check_reject_code(
        &mut self,
        key: PortRef,
        port: &Port,
        req_kind: MsgKind,
        r: &TraceRecord,
    ) -> Option<RejectCode> {
        let m = &r.message;
        let rule = governing_rule(req_kind);
        let Some(code) = m.code.reject_code() else {
            self.charge(
                rule,
                vec![r.seq],
                Some(key),
                &port.numbers,
                &format!(
                    "{} at seq {} carries no three-digit reject code; a reject names its ground from the reject-code \
                     table",
                    m.kind, r.seq
                ),
            );
            return None;
        };
        match self.book.reject_codes.get(&code) {
            None => {
                self.charge(
                    rule,
                    vec![r.seq],
                    Some(key),
                    &port.numbers,
                    &format!(
                        "{} at seq {} uses code {code}, which is not in the reject-code table",
                        m.kind, r.seq
                    ),
                );
                None
            }
            Some(info) if !info.valid_ground => {
                self.charge(
                    RuleId::NoContractReject,
                    vec![r.seq],
                    Some(key),
                    &port.numbers,
                    &format!(
                        "{} at seq {} rejects with code {code} ({}), which is never a valid ground for rejection",
                        m.kind, r.seq, info.meaning
                    ),
                );
                None
            }
            Some(info) if !info.on.contains(&req_kind) => {
                let on: Vec<&str> = info.on.iter().map(|k| k.keyword()).collect();
                self.charge(
                    rule,
                    vec![r.seq],
                    Some(key),
                    &port.numbers,
                    &format!(
                        "{} at seq {} uses code {code} ({}), which is a ground for rejecting {} only, not {req_kind}",
                        m.kind,
                        r.seq,
                        info.meaning,
                        on.join(", ")
                    ),
                );
                None
            }
            Some(_) => Some(code),
        }
    }

    /// A reject whose ground the trace shows to be false.
    fn unjustified(&mut self, rule: RuleId, key: PortRef, port: &Port, req: &OpenRequest, r: &TraceRecord, why: &str) {
        let code = r.message.code.reject_code().map(|c| c.to_string()).unwrap_or_default();
        self.charge(
            rule,
            vec![req.ev.seq, r.seq],
            Some(key),
            &port.numbers,
            &format!(
                "{} at seq {} was rejected with code {code} at seq {} though {why}",
                req.kind, req.ev.seq, r.seq
            ),
        );
    }

    fn cutover_allowed(&self, port: &Port, t: Timestamp) -> bool {
        self.duties()
            .cutover_allowed(t, self.after_hours_ok(port.gaining, port.losing))
    }

    fn count_daily(&mut self, key: PortRef, port: &Port, cutover: Timestamp, r: &TraceRecord) {
        let Some(cap) = self.ctx.as_ref().and_then(|c| c.daily_cap(r.from)) else {
            return;
        };
        let date = self.clock.sydney_date(cutover);
        let count = self.confirmed_per_day.entry((r.from, date)).or_insert(0);
        *count += 1;
        let count = *count;
        if count > cap {
            self.charge(
                RuleId::DailyCap,
                vec![r.seq],
                Some(key),
                &port.numbers,
                &format!(
                    "{} at seq {} is carrier {}'s confirmation number {count} for cutovers on {date}; its daily cap \
                     is {cap}, so it should have rejected with 106",
                    r.message.kind, r.seq, r.from
                ),
            );
        }
    }

    fn check_pending(&mut self, key: PortRef, port: &Port, r: &TraceRecord) {
        let mut conflicts: Vec<(TelephoneNumber, PortRef)> = Vec::new();
        for n in &port.numbers {
            if let Some(other) = self.pending.get(n).copied() {
                if other != key && self.ports.get(&other).is_some_and(|p| self.is_live(p)) {
                    conflicts.push((*n, other));
                }
            }
        }
        if let Some((n, other)) = conflicts.first().copied() {
            let nums: Vec<TelephoneNumber> = conflicts.iter().map(|c| c.0).collect();
            self.charge(
                RuleId::PortPending,
                vec![r.seq],
                Some(key),
                &nums,
                &format!(
                    "{} at seq {} accepts a port of {n} while port {other} of the same number is still pending; it \
                     should have been rejected with 008",
                    r.message.kind, r.seq
                ),
            );
        }
        for n in &port.numbers {
            self.pending.insert(*n, key);
        }
    }

    fn check_bilateral(&mut self, key: PortRef, port: &Port, r: &TraceRecord) {
        let Some(ctx) = &self.ctx else { return };
        let (Some(g), Some(l)) = (port.gaining, port.losing) else {
            return;
        };
        let mut pairs = vec![(g, l)];
        if let Some(d) = port.numbers.first().and_then(|n| ctx.donor_of(*n)) {
            if d != g && d != l {
                pairs.push((d, l));
                pairs.push((d, g));
            }
        }
        let missing: Vec<String> = pairs
            .iter()
            .filter(|(a, b)| ctx.agreement(*a, *b).is_none())
            .map(|(a, b)| format!("{a}-{b}"))
            .collect();
        if !missing.is_empty() {
            self.charge(
                RuleId::Bilateral,
                vec![r.seq],
                Some(key),
                &port.numbers,
                &format!(
                    "{} at seq {} lets {g} port from {l} though there is no bilateral agreement between {}",
                    r.message.kind,
                    r.seq,
                    missing.join(", ")
                ),
            );
        }
    }

    fn on_answer(&mut self, key: PortRef, port: &mut Port, req: Option<&OpenRequest>, r: &TraceRecord, ev: Ev) {
        use MsgKind as K;
        let m = &r.message;
        match m.kind {
            K::SnaConfirm | K::CnaConfirm => {
                let is_sna = m.kind == K::SnaConfirm;
                if is_sna {
                    if port.sna_confirm.is_none() {
                        port.sna_confirm = Some(ev);
                        port.sna_expires = Some(self.duties().sna_valid_until(r.time));
                    }
                } else {
                    if port.cna_reject.is_some() {
                        self.charge(
                            RuleId::CnaAllOrNothing,
                            vec![r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "CNA_CONFIRM at seq {} confirms a batch the losing carrier already rejected",
                                r.seq
                            ),
                        );
                    } else if !m.numbers.is_empty() && port.numbers.iter().any(|n| !m.numbers.contains(n)) {
                        let left: Vec<TelephoneNumber> = port
                            .numbers
                            .iter()
                            .filter(|n| !m.numbers.contains(n))
                            .copied()
                            .collect();
                        self.charge(
                            RuleId::CnaAllOrNothing,
                            vec![r.seq],
                            Some(key),
                            &left,
                            &format!(
                                "CNA_CONFIRM at seq {} confirms only part of the batch ({} of {} numbers); a batch is \
                                 confirmed or rejected whole",
                                r.seq,
                                port.numbers.len() - left.len(),
                                port.numbers.len()
                            ),
                        );
                    }
                    port.cna_confirm.get_or_insert(ev);
                }
                if let Some(req) = req {
                    if req.late == Some(true) {
                        self.charge(
                            RuleId::CaAge,
                            vec![req.ev.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "{} at seq {} relies on a Customer Authority more than {} old (or dated after it) and \
                                 was confirmed at seq {}; it should have been rejected with 001",
                                req.kind,
                                req.ev.seq,
                                self.book.ca_age.describe(),
                                r.seq
                            ),
                        );
                    }
                }
                if is_sna && port.numbers.len() != 1 && port.sna.is_some() {
                    self.charge(
                        RuleId::SnaOneNumber,
                        vec![port.sna.map_or(r.seq, |s| s.seq), r.seq],
                        Some(key),
                        &port.numbers,
                        &format!(
                            "SNA_CONFIRM at seq {} accepts an SNA carrying {} numbers; an SNA carries exactly one \
                             (port several numbers as Cat C)",
                            r.seq,
                            port.numbers.len()
                        ),
                    );
                }
                self.check_pending(key, port, r);
                if port.first_charge(RuleId::Bilateral) {
                    self.check_bilateral(key, port, r);
                }
            }
            K::SnaReject | K::CnaReject => {
                if m.kind == K::SnaReject {
                    if let (Some(code), Some(req)) = (self.check_reject_code(key, port, K::Sna, r), req) {
                        if code == RejectCode::CA_INVALID && req.late == Some(false) {
                            let why = format!("its Customer Authority is within {}", self.book.ca_age.describe());
                            self.unjustified(RuleId::CaAge, key, port, req, r, &why);
                        }
                        if code == RejectCode::COMPLEX_SERVICE {
                            if let Some(ctx) = &self.ctx {
                                if port.numbers.iter().all(|n| ctx.service_kind(*n) == ServiceKind::Simple) {
                                    self.unjustified(
                                        RuleId::CatANotRejectable,
                                        key,
                                        port,
                                        req,
                                        r,
                                        "the service is simple (scenario services)",
                                    );
                                }
                            }
                        }
                    }
                } else {
                    self.check_pnv_codes(r, K::CnaReject);
                    if port.cna_confirm.is_some() {
                        self.charge(
                            RuleId::CnaAllOrNothing,
                            vec![r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "CNA_REJECT at seq {} rejects a batch the losing carrier already confirmed",
                                r.seq
                            ),
                        );
                    }
                    port.cna_reject.get_or_insert(ev);
                }
                if port.abandoned.is_none() {
                    port.abandoned = Some(ev);
                }
                self.unpend(key, port);
            }
            K::EcaConfirm | K::CcaConfirm => {
                let is_eca = m.kind == K::EcaConfirm;
                if let Some(req) = req {
                    if is_eca && req.no_basis {
                        self.charge(
                            RuleId::EcaNeedsSna,
                            vec![req.ev.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "ECA at seq {} has no confirmed SNA for ref {key} and its numbers, yet was confirmed at \
                                 seq {}; it should have been rejected with 102",
                                req.ev.seq, r.seq
                            ),
                        );
                    } else if is_eca && req.late == Some(true) {
                        self.charge(
                            RuleId::SnaValidity,
                            vec![req.ev.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "ECA at seq {} came after its SNA confirmation at seq {} expired ({}), yet was \
                                 confirmed at seq {}; it should have been rejected with 101",
                                req.ev.seq,
                                port.sna_confirm.map_or(0, |s| s.seq),
                                self.book.sna_validity.describe(),
                                r.seq
                            ),
                        );
                    } else if !is_eca && req.no_basis {
                        self.charge(
                            RuleId::CcaNeedsCna,
                            vec![req.ev.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "CCA at seq {} has no confirmed CNA for batch {key}, yet was confirmed at seq {}; it \
                                 should have been rejected with 105",
                                req.ev.seq, r.seq
                            ),
                        );
                    }
                    if let Some(t) = req.cutover {
                        port.confirmed_cutover = Some((ev, t));
                        self.count_daily(key, port, t, r);
                    }
                } else if is_eca && port.sna_confirm.is_none() {
                    self.charge(
                        RuleId::EcaNeedsSna,
                        vec![r.seq],
                        Some(key),
                        &port.numbers,
                        &format!(
                            "ECA_CONFIRM at seq {} confirms a port of ref {key} that has no confirmed SNA",
                            r.seq
                        ),
                    );
                }
                if is_eca {
                    port.eca_confirm.get_or_insert(ev);
                } else {
                    port.cca_confirm.get_or_insert(ev);
                    port.retargets = 0;
                }
            }
            K::EcaReject | K::CcaReject => {
                let is_eca = m.kind == K::EcaReject;
                let req_kind = if is_eca { K::Eca } else { K::Cca };
                if let (Some(code), Some(req)) = (self.check_reject_code(key, port, req_kind, r), req) {
                    self.check_ground(key, port, req, r, code);
                }
                if is_eca {
                    port.eca_active = None;
                    if matches!(m.code.reject_code(), Some(c) if c == RejectCode::SNA_EXPIRED || c == RejectCode::NO_VALID_SNA)
                        && port.abandoned.is_none()
                    {
                        port.abandoned = Some(ev);
                        self.unpend(key, port);
                    }
                } else {
                    port.cca_active = None;
                }
            }
            K::RetargetConfirm => {
                let counts = port.simple() || port.cca_confirm.is_some();
                if counts {
                    port.retargets += 1;
                    if port.retargets > self.book.retargets_max {
                        self.charge(
                            RuleId::RetargetLimit,
                            vec![req.map_or(r.seq, |q| q.ev.seq), r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "RETARGET_CONFIRM at seq {} accepts re-target number {} of the port; at most {} are \
                                 allowed, so it should have been rejected with 104",
                                r.seq, port.retargets, self.book.retargets_max
                            ),
                        );
                    }
                }
                if let (Some(t), Some(_)) = (req.and_then(|q| q.cutover), port.confirmed_cutover) {
                    port.confirmed_cutover = Some((ev, t));
                }
            }
            K::RetargetReject => {
                if let (Some(code), Some(req)) = (self.check_reject_code(key, port, K::Retarget, r), req) {
                    self.check_ground(key, port, req, r, code);
                }
            }
            K::WithdrawConfirm => {
                if let Some(req) = req {
                    if req.late == Some(true) {
                        let after = if port.simple() { "ECA" } else { "CCA" };
                        self.charge(
                            RuleId::WithdrawBeforeEca,
                            vec![req.ev.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "WITHDRAW at seq {} came after the port's {after} and was confirmed at seq {}; it \
                                 should have been rejected with 107",
                                req.ev.seq, r.seq
                            ),
                        );
                    }
                }
                if port.abandoned.is_none() && port.completed_at().is_none() {
                    port.abandoned = Some(ev);
                }
                self.unpend(key, port);
            }
            K::WithdrawReject => {
                if let (Some(code), Some(req)) = (self.check_reject_code(key, port, K::Withdraw, r), req) {
                    self.check_ground(key, port, req, r, code);
                }
            }
            K::ReversalConfirm | K::EmergencyReturnConfirm => {
                if let Some(req) = req {
                    if req.late == Some(true) {
                        self.charge(
                            RuleId::EmergencyReturn,
                            vec![port.cutover.map_or(req.ev.seq, |c| c.seq), req.ev.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "{} at seq {} came more than {} after the cutover and was confirmed at seq {}; it \
                                 should have been rejected with 108",
                                req.kind,
                                req.ev.seq,
                                self.book.return_window.describe(),
                                r.seq
                            ),
                        );
                    }
                }
                port.returned.get_or_insert(ev);
                self.unpend(key, port);
            }
            K::ReversalReject | K::EmergencyReturnReject => {
                let req_kind = if m.kind == K::ReversalReject {
                    K::Reversal
                } else {
                    K::EmergencyReturn
                };
                if let (Some(code), Some(req)) = (self.check_reject_code(key, port, req_kind, r), req) {
                    self.check_ground(key, port, req, r, code);
                }
            }
            _ => {}
        }
    }

    /// Whether the ground of a valid reject code holds, where the trace can show it.
    fn check_ground(&mut self, key: PortRef, port: &Port, req: &OpenRequest, r: &TraceRecord, code: RejectCode) {
        match code {
            RejectCode::SNA_EXPIRED | RejectCode::NO_VALID_SNA if !req.no_basis && req.late == Some(false) => {
                let rule = if code == RejectCode::SNA_EXPIRED {
                    RuleId::SnaValidity
                } else {
                    RuleId::EcaNeedsSna
                };
                let why = format!(
                    "its SNA was confirmed at seq {} and was still valid",
                    port.sna_confirm.map_or(0, |s| s.seq)
                );
                self.unjustified(rule, key, port, req, r, &why);
            }
            RejectCode::OUTSIDE_HOURS => {
                if let Some(t) = req.cutover {
                    if self.cutover_allowed(port, t) {
                        let why = if self.clock.in_standard_hours(t) {
                            format!("its cutover {t} is inside Standard Hours")
                        } else {
                            format!("the carriers' agreement allows after-hours ports (cutover {t})")
                        };
                        self.unjustified(RuleId::CutoverHours, key, port, req, r, &why);
                    }
                }
            }
            RejectCode::RETARGET_LIMIT if port.retargets < self.book.retargets_max => {
                let why = format!(
                    "only {} re-target(s) of the {} allowed had been confirmed",
                    port.retargets, self.book.retargets_max
                );
                self.unjustified(RuleId::RetargetLimit, key, port, req, r, &why);
            }
            RejectCode::CCA_WITHOUT_CNA if !req.no_basis => {
                let why = format!("its CNA was confirmed at seq {}", port.cna_confirm.map_or(0, |c| c.seq));
                self.unjustified(RuleId::CcaNeedsCna, key, port, req, r, &why);
            }
            RejectCode::DAILY_CAP => {
                let (Some(ctx), Some(t)) = (&self.ctx, req.cutover) else {
                    return;
                };
                let count = self
                    .confirmed_per_day
                    .get(&(r.from, self.clock.sydney_date(t)))
                    .copied()
                    .unwrap_or(0);
                let why = match ctx.daily_cap(r.from) {
                    None => Some(format!("carrier {} has no daily cap", r.from)),
                    Some(cap) if count < cap => Some(format!(
                        "carrier {} had confirmed {count} of its {cap} cutovers for {}",
                        r.from,
                        t.sydney_date()
                    )),
                    Some(_) => None,
                };
                if let Some(why) = why {
                    self.unjustified(RuleId::DailyCap, key, port, req, r, &why);
                }
            }
            RejectCode::WITHDRAW_TOO_LATE if req.late == Some(false) => {
                let before = if port.simple() { "ECA" } else { "CCA" };
                let why = format!("it came before any {before}");
                self.unjustified(RuleId::WithdrawBeforeEca, key, port, req, r, &why);
            }
            RejectCode::OUTSIDE_RETURN_WINDOW if req.late == Some(false) => {
                let why = format!("it came within {} of the cutover", self.book.return_window.describe());
                self.unjustified(RuleId::EmergencyReturn, key, port, req, r, &why);
            }
            _ => {}
        }
    }

    fn on_cutover(&mut self, key: PortRef, port: &mut Port, r: &TraceRecord, ev: Ev) {
        if port.losing.is_none() {
            port.losing = Some(r.from);
        }
        if port.numbers.is_empty() {
            port.numbers.clone_from(&r.message.numbers);
        }
        for n in &r.message.numbers {
            self.latest.insert(*n, key);
        }
        if port.cutover.is_some() {
            return;
        }
        port.cutover = Some(ev);
        if !self.cutover_allowed(port, r.time) && port.first_charge(RuleId::CutoverHours) {
            let seqs = port.confirmed_cutover.map_or(vec![r.seq], |(c, _)| vec![c.seq, r.seq]);
            self.charge(
                RuleId::CutoverHours,
                seqs,
                Some(key),
                &port.numbers,
                &format!(
                    "CUTOVER at seq {} ({}) is outside Standard Hours and carriers {} and {} have no after-hours \
                     agreement; the ECA or CCA should have been rejected with 103",
                    r.seq,
                    r.time,
                    port.gaining.map_or_else(|| "?".into(), |c| c.to_string()),
                    r.from
                ),
            );
        }
        if !port.simple() {
            if let Some(rej) = port.cna_reject {
                self.charge(
                    RuleId::CnaAllOrNothing,
                    vec![rej.seq, r.seq],
                    Some(key),
                    &r.message.numbers,
                    &format!(
                        "CUTOVER at seq {} cuts over numbers of batch {key}, whose CNA was rejected at seq {}; no number \
                         of a rejected batch is cut over",
                        r.seq, rej.seq
                    ),
                );
            }
            if let Some((conf, agreed)) = port.confirmed_cutover {
                let tol = self.book.cutover_at_agreed;
                let early = r.time < agreed;
                if !self.duties().cutover_on_agreed(agreed, r.time) && port.first_charge(RuleId::CutoverAtAgreed) {
                    self.charge(
                        RuleId::CutoverAtAgreed,
                        vec![conf.seq, r.seq],
                        Some(key),
                        &port.numbers,
                        &format!(
                            "CUTOVER at seq {} came {} {} the time agreed at seq {} ({agreed}); the limit is {} either \
                             side",
                            r.seq,
                            elapsed(r.time.millis() - agreed.millis()),
                            if early { "before" } else { "after" },
                            conf.seq,
                            tol.describe()
                        ),
                    );
                }
            }
        }
        self.unpend(key, port);
    }

    /// Whether a row by `by` is the donor's own (`DTR-DURATION`, `PLNR-UPDATE`: only the donor's
    /// own rows count). Without a scenario the donor is taken to be the first carrier seen running
    /// transit routing or publishing for the port.
    fn by_donor(&self, port: &mut Port, by: CarrierCode) -> bool {
        match self.donor_of_port(port) {
            Some(d) if self.ctx.is_some() => d == by,
            _ => *port.observed_donor.get_or_insert(by) == by,
        }
    }

    /// When the donor could know the cutover instant: at the cutover itself, or in a third-party
    /// port the later of the cutover and the `DONOR_NOTIFY` that gave it the instant (a `P` with
    /// `cutover=` at or before the cutover, otherwise the `C`).
    fn donor_learned(&self, port: &Port, cutover: Ev) -> Timestamp {
        if self.third_party_donor(port).is_none() {
            return cutover.time;
        }
        match (port.notify_cutover, port.notify.c) {
            (Some(p), _) if p.time <= cutover.time => p.time,
            (_, Some(c)) => c.time,
            (Some(p), None) => p.time,
            (None, None) => cutover.time,
        }
    }

    fn on_dtr(&mut self, key: PortRef, port: &mut Port, r: &TraceRecord, ev: Ev) {
        if !self.by_donor(port, r.from) {
            return;
        }
        if r.message.kind == MsgKind::DtrStart {
            if port.dtr_start.is_some() {
                return;
            }
            port.dtr_start = Some(ev);
            if let Some(c) = port.cutover {
                let deadline = self.duties().dtr_start_deadline(c.time, self.donor_learned(port, c));
                if r.time > deadline {
                    self.charge(
                        RuleId::DtrDuration,
                        vec![c.seq, r.seq],
                        Some(key),
                        &r.message.numbers,
                        &format!(
                            "DTR_START at seq {} came {} after the CUTOVER at seq {}; donor transit routing starts at \
                             the cutover (or when the donor was told its instant), at most {} later, by {deadline}",
                            r.seq,
                            elapsed(r.time.millis() - c.time.millis()),
                            c.seq,
                            self.book.dtr_start_grace.describe()
                        ),
                    );
                }
            }
        } else {
            if port.dtr_stop.is_some() {
                return;
            }
            port.dtr_stop = Some(ev);
            let Some(start) = port.dtr_start else { return };
            let returned_before = port.returned.is_some_and(|ret| ret.time <= r.time);
            let from = port.cutover.unwrap_or(start);
            let min_end = self.duties().dtr_earliest_stop(from.time);
            if r.time < min_end && !returned_before {
                self.charge(
                    RuleId::DtrDuration,
                    vec![from.seq, r.seq],
                    Some(key),
                    &r.message.numbers,
                    &format!(
                        "DTR_STOP at seq {} ({}) ends donor transit routing before {} had passed since the cutover at \
                         seq {} ({}), not before {min_end}",
                        r.seq,
                        r.time,
                        self.book.dtr_duration.describe(),
                        from.seq,
                        from.time,
                    ),
                );
            }
        }
    }

    /// The end of the reversal / emergency-return window, and when `PLNR-UPDATE`'s time starts.
    fn plnr_window(&self, port: &Port) -> Option<(Timestamp, Timestamp)> {
        let completed = port.completed_at()?;
        let cutover = port.cutover.unwrap_or(completed).time;
        Some(self.duties().plnr_completed_window(cutover, completed.time))
    }

    fn on_plnr(&mut self, key: PortRef, port: &mut Port, r: &TraceRecord, ev: Ev) {
        if !self.by_donor(port, r.from) {
            return;
        }
        let span = self.book.plnr_update;
        match r.message.detail.status {
            Some(PortStatus::P) => {
                port.plnr.p.get_or_insert(ev);
            }
            Some(PortStatus::C) => {
                if port.plnr.c.is_some() {
                    return;
                }
                port.plnr.c = Some(ev);
                match self.plnr_window(port) {
                    None => self.charge(
                        RuleId::PlnrUpdate,
                        vec![r.seq],
                        Some(key),
                        &r.message.numbers,
                        &format!(
                            "PLNR_PUBLISH at seq {} publishes the port as completed (C) before it was cut over",
                            r.seq
                        ),
                    ),
                    Some((window_end, _)) if r.time < window_end => self.charge(
                        RuleId::PlnrUpdate,
                        vec![r.seq],
                        Some(key),
                        &r.message.numbers,
                        &format!(
                            "PLNR_PUBLISH at seq {} ({}) publishes the completed port before its {} return window ends \
                             at {window_end}",
                            r.seq,
                            r.time,
                            self.book.return_window.describe()
                        ),
                    ),
                    Some((_, deadline)) => {
                        if r.time > deadline {
                            self.charge(
                                RuleId::PlnrUpdate,
                                vec![r.seq],
                                Some(key),
                                &r.message.numbers,
                                &format!(
                                    "PLNR_PUBLISH at seq {} ({}) publishes the completed port after its deadline \
                                     {deadline} ({} after completion and the return window)",
                                    r.seq,
                                    r.time,
                                    span.describe()
                                ),
                            );
                        }
                    }
                }
            }
            Some(s @ (PortStatus::R | PortStatus::N)) => {
                let (slot, base) = if s == PortStatus::R {
                    (&mut port.plnr.r, port.returned)
                } else {
                    (&mut port.plnr.n, port.abandoned)
                };
                if slot.is_some() {
                    return;
                }
                *slot = Some(ev);
                if let Some(b) = base {
                    let deadline = self.duties().plnr_outcome_deadline(b.time);
                    if r.time > deadline {
                        self.charge(
                            RuleId::PlnrUpdate,
                            vec![b.seq, r.seq],
                            Some(key),
                            &r.message.numbers,
                            &format!(
                                "PLNR_PUBLISH at seq {} ({}) publishes status {s} after its deadline {deadline} ({} \
                                 after seq {})",
                                r.seq,
                                r.time,
                                span.describe(),
                                b.seq
                            ),
                        );
                    }
                }
            }
            None => {}
        }
    }

    fn on_notify(&mut self, key: PortRef, port: &mut Port, r: &TraceRecord, ev: Ev) {
        if self.ctx.is_none() {
            return;
        }
        let span = self.book.donor_notify;
        match r.message.detail.status {
            Some(PortStatus::P) => {
                if r.message.detail.cutover.is_some() && port.cutover.is_none() {
                    // The latest instant the donor was given before the cutover.
                    port.notify_cutover = Some(ev);
                }
                if port.notify.p.is_some() {
                    return;
                }
                port.notify.p = Some(ev);
                if let Some(c) = port.cutover {
                    if r.time > c.time {
                        self.charge(
                            RuleId::DonorNotify,
                            vec![c.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "DONOR_NOTIFY status=P at seq {} came after the CUTOVER at seq {}; the donor is told of \
                                 a pending port no later than its cutover",
                                r.seq, c.seq
                            ),
                        );
                    }
                }
            }
            Some(s) => {
                let completed = port.completed_at();
                let (slot, base) = match s {
                    PortStatus::C => (&mut port.notify.c, completed),
                    PortStatus::R => (&mut port.notify.r, port.returned),
                    _ => (&mut port.notify.n, port.abandoned),
                };
                if slot.is_some() {
                    return;
                }
                *slot = Some(ev);
                if let Some(b) = base {
                    let deadline = self.duties().donor_notify_deadline(b.time);
                    if r.time > deadline {
                        self.charge(
                            RuleId::DonorNotify,
                            vec![b.seq, r.seq],
                            Some(key),
                            &port.numbers,
                            &format!(
                                "DONOR_NOTIFY status={s} at seq {} ({}) came after its deadline {deadline} ({} after \
                                 seq {})",
                                r.seq,
                                r.time,
                                span.describe(),
                                b.seq
                            ),
                        );
                    }
                }
            }
            None => {}
        }
    }

    // ----- duties not done: charged when their deadline passed before `end` -----

    fn close_port(&mut self, key: PortRef, port: &mut Port, end: Timestamp) {
        let book = self.book;
        let nums = port.numbers.clone();
        for req in std::mem::take(&mut port.open) {
            if req.kind == MsgKind::Pnv {
                continue;
            }
            let Some(duty) = self.duties().answer(req.kind, req.ev.time) else {
                continue;
            };
            let (rule, span, deadline) = (duty.rule, duty.span, duty.deadline);
            if deadline < end {
                self.charge(
                    rule,
                    vec![req.ev.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "{} at seq {} ({}) was never answered; its deadline was {deadline} ({})",
                        req.kind,
                        req.ev.seq,
                        req.ev.time,
                        span.describe()
                    ),
                );
            }
        }
        if let (Some(cna), None) = (port.cna, port.cna_receipt) {
            let deadline = self.duties().cna_receipt_deadline(cna.time);
            if deadline < end {
                self.charge(
                    RuleId::CnaReceipt,
                    vec![cna.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "CNA at seq {} never got a CNA_RECEIPT; its deadline was {deadline} ({})",
                        cna.seq,
                        book.cna_receipt.describe()
                    ),
                );
            }
        }
        if let (Some(conf), None, None) = (port.eca_confirm, port.completion, port.abandoned) {
            let deadline = self.duties().completion_deadline(conf.time);
            if deadline < end {
                self.charge(
                    RuleId::Completion,
                    vec![conf.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "ECA_CONFIRM at seq {} was never followed by COMPLETION; it was due by {deadline} ({})",
                        conf.seq,
                        book.completion.describe()
                    ),
                );
            }
        }
        if let (None, Some((conf, t))) = (port.cutover, port.confirmed_cutover) {
            if !self.cutover_allowed(port, t) && port.first_charge(RuleId::CutoverHours) {
                self.charge(
                    RuleId::CutoverHours,
                    vec![conf.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "seq {} confirms a cutover at {t}, outside Standard Hours, without an after-hours agreement; \
                         it should have been rejected with 103",
                        conf.seq
                    ),
                );
            }
            let due = self.duties().agreed_cutover_latest(t);
            if !port.simple() && port.abandoned.is_none() && due < end && port.first_charge(RuleId::CutoverAtAgreed) {
                self.charge(
                    RuleId::CutoverAtAgreed,
                    vec![conf.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "the cutover agreed at seq {} for {t} never happened (no CUTOVER by {due}, {} either side)",
                        conf.seq,
                        book.cutover_at_agreed.describe()
                    ),
                );
            }
        }
        let donor = self.donor_of_port(port);
        let away = donor.is_some() && donor != port.gaining;
        if let (true, Some(c), None, None) = (away, port.cutover, port.dtr_start, port.returned) {
            let deadline = self.duties().dtr_start_deadline(c.time, self.donor_learned(port, c));
            if deadline < end {
                self.charge(
                    RuleId::DtrDuration,
                    vec![c.seq],
                    Some(key),
                    &nums,
                    &format!(
                        "the donor {} never started donor transit routing for the CUTOVER at seq {} (due by {deadline})",
                        donor.map_or_else(|| "?".into(), |d| d.to_string()),
                        c.seq
                    ),
                );
            }
        }
        if away {
            self.close_notices(key, port, end, false);
        }
        if self.third_party_donor(port).is_some() {
            self.close_notices(key, port, end, true);
        }
    }

    /// Missing `PLNR_PUBLISH` (or, with `notify`, `DONOR_NOTIFY`) rows whose deadline passed.
    fn close_notices(&mut self, key: PortRef, port: &Port, end: Timestamp, notify: bool) {
        let (rule, span, notices, what) = if notify {
            (RuleId::DonorNotify, self.book.donor_notify, port.notify, "DONOR_NOTIFY")
        } else {
            (RuleId::PlnrUpdate, self.book.plnr_update, port.plnr, "PLNR_PUBLISH")
        };
        let nums = &port.numbers;
        if notify {
            if let (Some(c), None) = (port.cutover, notices.p) {
                self.charge(
                    rule,
                    vec![c.seq],
                    Some(key),
                    nums,
                    &format!(
                        "the donor was never sent DONOR_NOTIFY status=P before the CUTOVER at seq {}",
                        c.seq
                    ),
                );
            }
        }
        // Each duty: (status, the row it follows with its deadline, the notice seen, required).
        let completed = if notify {
            port.completed_at()
                .map(|c| (c.seq, self.duties().donor_notify_deadline(c.time)))
        } else {
            self.plnr_window(port)
                .and_then(|(_, deadline)| port.completed_at().map(|c| (c.seq, deadline)))
        };
        let outcome_deadline = |e: Ev| {
            let d = self.duties();
            let deadline = if notify {
                d.donor_notify_deadline(e.time)
            } else {
                d.plnr_outcome_deadline(e.time)
            };
            (e.seq, deadline)
        };
        let published_before = notices.p.is_some() || notices.c.is_some();
        let duties = [
            (PortStatus::C, completed, notices.c, port.returned.is_none()),
            (
                PortStatus::R,
                port.returned.map(outcome_deadline),
                notices.r,
                notify || published_before,
            ),
            (
                PortStatus::N,
                port.abandoned.map(outcome_deadline),
                notices.n,
                // A port that was cut over after all (a fault accepted it) did proceed.
                notices.p.is_some() && port.cutover.is_none(),
            ),
        ];
        for (status, base, done, required) in duties {
            let (Some((seq, deadline)), None, true) = (base, done, required) else {
                continue;
            };
            if deadline < end {
                self.charge(
                    rule,
                    vec![seq],
                    Some(key),
                    nums,
                    &format!(
                        "no {what} status={status} followed seq {seq}; it was due by {deadline} ({})",
                        span.describe()
                    ),
                );
            }
        }
    }

    /// When a finished port can be dropped: after every deadline its finish can set (counted
    /// from the finish, so generously: each span added in turn) and its last row, plus a day's
    /// slack for late rows. `None` while the port is still open.
    fn retire_at(&self, port: &Port) -> Option<Timestamp> {
        if !port.open.is_empty() {
            return None;
        }
        let sna_expired = || {
            port.sna_expires
                .filter(|t| port.simple() && port.eca_active.is_none() && port.eca_confirm.is_none() && self.now > *t)
        };
        let finished = [port.abandoned, port.returned, port.completed_at()]
            .into_iter()
            .flatten()
            .map(|e| e.time)
            .min()
            .or_else(|| (port.sna.is_none() && port.cna.is_none()).then_some(port.last_activity))
            .or_else(sna_expired)?;
        let b = self.book;
        let spans = [
            b.completion,
            b.return_window,
            b.dtr_start_grace,
            b.dtr_duration,
            b.plnr_update,
            b.donor_notify,
        ];
        let duties_end = spans.iter().fold(finished, |t, s| self.add(t, *s));
        Some(self.add(duties_end.max(port.last_activity), RETIRE_SLACK))
    }

    /// Drops finished ports whose every deadline has passed, charging what was never done.
    fn sweep(&mut self) {
        self.since_sweep = 0;
        let now = self.now;
        let mut ports = std::mem::take(&mut self.ports);
        let mut done: Vec<PortRef> = Vec::new();
        for (k, p) in &mut ports {
            let retire = match p.retire_cache {
                Some((at, r)) if at == p.last_activity => r,
                _ => {
                    let r = self.retire_at(p);
                    // Only a finished port's answer is stable: an open one may finish by expiry.
                    if r.is_some() {
                        p.retire_cache = Some((p.last_activity, r));
                    }
                    r
                }
            };
            if retire.is_some_and(|t| t < now) {
                done.push(*k);
            }
        }
        self.ports = ports;
        for key in done {
            if let Some(mut port) = self.ports.remove(&key) {
                self.close_port(key, &mut port, now);
                self.forget(key, &port);
            }
        }
        let overdue: Vec<PortRef> = self
            .pnvs
            .iter()
            .filter(|(_, p)| p.deadline < now)
            .map(|(k, _)| *k)
            .collect();
        for key in overdue {
            self.pnvs.remove(&key);
            self.pnv_counted += 1;
        }
        self.ports.shrink_to(self.ports.len() * 2);
        self.latest.shrink_to(self.latest.len() * 2);
        self.pending.shrink_to(self.pending.len() * 2);
    }

    fn forget(&mut self, key: PortRef, port: &Port) {
        for n in &port.numbers {
            if self.latest.get(n) == Some(&key) {
                self.latest.remove(n);
            }
        }
        self.unpend(key, port);
    }

    /// Ends the audit: charges the duties whose deadline passed before the last row and were
    /// never done, computes the statistics, and sorts the findings.
    pub fn finish(mut self) -> Report {
        let end = self.now;
        let mut keys: Vec<PortRef> = self.ports.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            if let Some(mut port) = self.ports.remove(&key) {
                self.close_port(key, &mut port, end);
            }
        }
        for open in self.pnvs.values() {
            if open.deadline < end {
                self.pnv_counted += 1;
            }
        }
        let (counted, met) = (self.pnv_counted, self.pnv_met);
        let within = self.book.pnv_response.describe();
        let statistic = if counted == 0 {
            Statistic {
                rule: RuleId::PnvResponse,
                status: StatStatus::NotApplicable,
                value: format!("no PNV answered or due within {within}"),
                counted,
                met,
            }
        } else {
            let pct = met as f64 * 100.0 / counted as f64;
            let pass = met as f64 * 100.0 >= self.book.pnv_response_percent * counted as f64;
            Statistic {
                rule: RuleId::PnvResponse,
                status: if pass { StatStatus::Pass } else { StatStatus::Fail },
                value: format!("{pct:.1}% of {counted} within {within}"),
                counted,
                met,
            }
        };
        let mut not_checked = vec![NotChecked {
            rule: RuleId::Quarantine,
            reason: "a trace has no allocation event, so a number allocated again too soon cannot be seen".into(),
        }];
        if self.ctx.is_none() {
            let needs = [
                (
                    RuleId::Bilateral,
                    "needs the carriers' agreements (--scenario [[agreements]])",
                ),
                (
                    RuleId::DonorNotify,
                    "needs the donor of each number (--scenario [[carriers]] ranges)",
                ),
                (
                    RuleId::DailyCap,
                    "needs each carrier's daily cap (--scenario [[carriers]] daily_cap)",
                ),
                (
                    RuleId::CatANotRejectable,
                    "needs the kind of each service (--scenario [[services]])",
                ),
            ];
            not_checked.extend(needs.into_iter().map(|(rule, reason)| NotChecked {
                rule,
                reason: reason.into(),
            }));
        }
        not_checked.sort_by_key(|n| n.rule.as_str());
        self.findings.sort_by(|a, b| {
            (a.seq.first(), a.rule.as_str(), &a.seq, &a.message).cmp(&(
                b.seq.first(),
                b.rule.as_str(),
                &b.seq,
                &b.message,
            ))
        });
        let mut by_rule = BTreeMap::new();
        for f in &self.findings {
            *by_rule.entry(f.rule.as_str().to_string()).or_insert(0) += 1;
        }
        self.malformed.sort_by_key(|m| m.line);
        Report {
            summary: Summary {
                rows: self.rows,
                violations: self.findings.len() as u64,
                by_rule,
            },
            findings: self.findings,
            statistics: vec![statistic],
            not_checked,
            malformed_rows: self.malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                assert!(request_of(*k).is_some(), "{k}");
            }
        }
        assert_eq!(request_of(MsgKind::Cutover), None);
    }
}
