//! The state one task owns: the engine, the live audit, the trace so far, the live findings,
//! and who may see what. Synchronous and deterministic: the same inputs in the same order give
//! the same rows, `seq` for `seq` (which is what makes the journal's replay exact).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use lnp_actors::Command;
use lnp_audit::{Auditor, Context, Finding, Report};
use lnp_model::{
    BusinessCalendar, CarrierCode, Envelope, PortRef, Rulebook, Timestamp, TraceFormat, TraceRecord, TraceWriter,
};
use lnp_sim::scenario::ExpectKind;
use lnp_sim::{ExternalEvent, RunOptions, Scenario, Sim, StepError, TraceSink};

use crate::input::Incoming;
use crate::tokens::Principal;

/// One trace row, with its JSON Lines object (no line break), written the first time it is
/// asked for: most rows of a long advance are never read one by one.
#[derive(Debug)]
pub struct Row {
    pub record: TraceRecord,
    json: std::sync::OnceLock<Box<str>>,
}

impl Row {
    fn new(record: TraceRecord) -> Self {
        Self {
            record,
            json: std::sync::OnceLock::new(),
        }
    }

    /// The row as the trace writer writes it in JSON Lines.
    pub fn json(&self) -> &str {
        self.json.get_or_init(|| {
            let mut w = TraceWriter::new(Vec::with_capacity(256), TraceFormat::Jsonl);
            // Writing to memory cannot fail.
            let _ = w.write(&self.record);
            let bytes = w.into_inner().unwrap_or_default();
            String::from_utf8_lossy(&bytes).trim_end().to_string().into_boxed_str()
        })
    }
}

/// A finding of the live audit, as it was handed out.
#[derive(Debug)]
pub struct LiveFinding {
    /// The trace's last `seq` when it was found: it follows that row in the event stream.
    pub position: u64,
    pub finding: Finding,
    pub json: Box<str>,
}

/// Something the story asks an external carrier to do (a customer's request: submit a port,
/// withdraw it, ask for its return, give a number back). Not a trace row.
#[derive(Debug)]
pub struct Task {
    pub id: u64,
    pub carrier: CarrierCode,
    pub json: Box<str>,
}

/// One item of the event stream: a row, or a finding after the row it follows.
#[derive(Clone, Debug)]
pub enum Event {
    Row(Arc<Row>),
    Finding(Arc<LiveFinding>),
}

/// Why an input was not taken. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Step(StepError),
    /// The trace holds `max_rows` rows.
    Full(u64),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Step(e) => write!(f, "{e}"),
            Self::Full(n) => write!(f, "the trace holds its limit of {n} rows (max_rows)"),
        }
    }
}

/// Receives the engine's rows: audits each, keeps it, and notes who may see it.
struct Book<'a> {
    auditor: Auditor<'a>,
    rows: Vec<Arc<Row>>,
    externals: Vec<CarrierCode>,
    /// The external carriers that take part in each port (sent or received one of its
    /// messages).
    participants: HashMap<PortRef, Vec<CarrierCode>>,
    /// The `seq`s each external carrier may see, in order.
    visible: BTreeMap<CarrierCode, Vec<u64>>,
}

impl Book<'_> {
    fn external(&self, c: CarrierCode) -> bool {
        self.externals.contains(&c)
    }

    fn takes_part(&mut self, r: PortRef, c: CarrierCode) {
        if self.external(c) {
            let p = self.participants.entry(r).or_default();
            if !p.contains(&c) {
                p.push(c);
            }
        }
    }

    fn participants_of(&self, r: Option<PortRef>) -> &[CarrierCode] {
        r.and_then(|r| self.participants.get(&r)).map_or(&[], Vec::as_slice)
    }
}

impl TraceSink for Book<'_> {
    fn record(&mut self, r: &TraceRecord) {
        self.auditor.push(r);
        let m = &r.message;
        let mut viewers: Vec<CarrierCode> = Vec::new();
        let add = |c: CarrierCode, v: &mut Vec<CarrierCode>| {
            if !v.contains(&c) {
                v.push(c);
            }
        };
        if let Some(port) = m.port_ref {
            self.takes_part(port, r.from);
            if let Some(to) = r.to {
                self.takes_part(port, to);
            }
        }
        if self.external(r.from) {
            add(r.from, &mut viewers);
        }
        if let Some(to) = r.to {
            if self.external(to) {
                add(to, &mut viewers);
            }
        } else {
            for c in self.participants_of(m.port_ref).to_vec() {
                add(c, &mut viewers);
            }
            if let Some(c) = m.detail.current.filter(|c| self.external(*c)) {
                add(c, &mut viewers);
            }
        }
        for c in viewers {
            self.visible.entry(c).or_default().push(r.seq);
        }
        self.rows.push(Arc::new(Row::new(r.clone())));
    }
}

/// The engine, the live audit and everything handed out so far.
pub struct Core<'a> {
    sim: Sim,
    book: Book<'a>,
    findings: Vec<Arc<LiveFinding>>,
    /// The findings each external carrier may see (indexes into `findings`).
    finding_viewers: BTreeMap<CarrierCode, Vec<usize>>,
    emitted: HashSet<String>,
    tasks: Vec<Arc<Task>>,
    calendar: &'a BusinessCalendar,
    carriers: BTreeSet<CarrierCode>,
    max_rows: u64,
}

fn task_json(at: Timestamp, carrier: CarrierCode, id: u64, command: &Command) -> serde_json::Value {
    use serde_json::json;
    let numbers = |ns: &[lnp_model::TelephoneNumber]| ns.iter().map(ToString::to_string).collect::<Vec<_>>();
    let body = match command {
        Command::Submit(req) => json!({
            "task": "submit",
            "ref": req.port_ref.to_string(),
            "category": req.category.to_string(),
            "numbers": numbers(&req.numbers),
            "losing": req.losing.to_string(),
            "customer": req.customer,
            "account": req.account,
            "ca_date": req.ca_date.to_string(),
            "cutover": req.cutover.to_string(),
            "pnv": req.pnv,
            "retarget": req.retargets.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
        Command::Withdraw(r) => json!({"task": "withdraw", "ref": r.to_string()}),
        Command::Return(r) => json!({"task": "return", "ref": r.to_string()}),
        Command::GiveBack { number, donor } => json!({
            "task": "give_back", "numbers": [number.to_string()], "donor": donor.to_string()
        }),
        Command::TakeBack { number, from } => json!({
            "task": "take_back", "numbers": [number.to_string()], "from": from.to_string()
        }),
    };
    let mut obj = json!({"id": id, "at": at.to_string(), "carrier": carrier.to_string()});
    if let (Some(o), serde_json::Value::Object(b)) = (obj.as_object_mut(), body) {
        o.extend(b);
    }
    obj
}

impl<'a> Core<'a> {
    /// Sets up the market with `externals` played from outside, and runs what is due at the
    /// start.
    pub fn new(
        scenario: &Scenario,
        rulebook: &'a Rulebook,
        calendar: &'a BusinessCalendar,
        context: &Context,
        externals: &BTreeSet<CarrierCode>,
        max_rows: u64,
    ) -> Result<Self, String> {
        let track_routes = scenario.load.as_ref().map(|_| {
            scenario
                .expects
                .iter()
                .filter_map(|e| match &e.kind {
                    ExpectKind::Route { number, .. } | ExpectKind::Plnr { number, .. } => Some(*number),
                    _ => None,
                })
                .chain(scenario.ports.iter().flat_map(|p| p.numbers.iter().copied()))
                .collect()
        });
        let options = RunOptions {
            external: externals.clone(),
            keep_publications: scenario.load.is_none(),
            track_routes,
            ..RunOptions::default()
        };
        let sim = Sim::new(scenario, rulebook, calendar, options).map_err(|e| e.0)?;
        let mut core = Self {
            sim,
            book: Book {
                auditor: Auditor::new(rulebook, calendar, Some(context)),
                rows: Vec::new(),
                externals: externals.iter().copied().collect(),
                participants: HashMap::new(),
                visible: BTreeMap::new(),
            },
            findings: Vec::new(),
            finding_viewers: BTreeMap::new(),
            emitted: HashSet::new(),
            tasks: Vec::new(),
            calendar,
            carriers: scenario.carriers.iter().map(|c| c.code).collect(),
            max_rows,
        };
        let now = core.sim.now();
        core.advance_to(now).map_err(|e| e.to_string())?;
        Ok(core)
    }

    pub fn now(&self) -> Timestamp {
        self.sim.now()
    }

    pub fn calendar(&self) -> &BusinessCalendar {
        self.calendar
    }

    pub fn is_carrier(&self, c: CarrierCode) -> bool {
        self.carriers.contains(&c)
    }

    pub fn is_external(&self, c: CarrierCode) -> bool {
        self.sim.is_external(c)
    }

    /// Rows in the trace.
    pub fn rows(&self) -> u64 {
        self.book.rows.len() as u64
    }

    /// Findings handed out.
    pub fn findings_count(&self) -> usize {
        self.findings.len()
    }

    /// Runs every event due up to `t` and moves the clock there (never past the story's
    /// `until`); the live audit then judges every duty whose deadline has passed. Returns how
    /// many rows the events wrote.
    pub fn advance_to(&mut self, t: Timestamp) -> Result<u64, Refusal> {
        let before = self.rows();
        self.sim.advance_to(t, &mut self.book).map_err(Refusal::Step)?;
        self.collect(true);
        Ok(self.rows() - before)
    }

    /// Records an external carrier's message or action at the current instant, then runs
    /// what falls due at once. Returns its row.
    pub fn accept(&mut self, input: Incoming) -> Result<Arc<Row>, Refusal> {
        if self.rows() >= self.max_rows {
            return Err(Refusal::Full(self.max_rows));
        }
        let seq = match input.to {
            Some(to) => self.sim.deliver(
                Envelope {
                    from: input.from,
                    to,
                    message: input.message,
                },
                &mut self.book,
            ),
            None => self.sim.act(input.from, input.message, &mut self.book),
        }
        .map_err(Refusal::Step)?;
        let row = self.book.rows.get(seq.saturating_sub(1) as usize).cloned();
        let now = self.sim.now();
        // What the row makes due at once (the engine's delivery to its receiver).
        let _ = self.sim.advance_to(now, &mut self.book);
        self.collect(false);
        row.ok_or(Refusal::Step(StepError::Stopped(self.sim.stats().events)))
    }

    /// Replays one journaled row: advances to its time, records it, and checks that it comes
    /// out as it was recorded.
    pub fn replay_row(&mut self, journaled: &str) -> Result<(), String> {
        let record = TraceRecordLine::parse(journaled)?;
        if record.time < self.now() {
            return Err(format!(
                "seq {}: its time {} is before the clock's {}",
                record.seq,
                record.time,
                self.now()
            ));
        }
        self.advance_to(record.time)
            .map_err(|e| format!("seq {}: {e}", record.seq))?;
        let row = self
            .accept(Incoming {
                from: record.from,
                to: record.to,
                message: record.message.clone(),
            })
            .map_err(|e| format!("seq {}: {e}", record.seq))?;
        if row.json() != journaled {
            return Err(format!(
                "seq {}: replayed as {}, but the journal has {journaled}",
                record.seq,
                row.json()
            ));
        }
        Ok(())
    }

    /// Hands out what the last step produced: the story's commands to external carriers, and
    /// the live audit's new findings (`probe`: also those whose deadline has passed by now).
    fn collect(&mut self, probe: bool) {
        for e in self.sim.take_outbox() {
            if let ExternalEvent::Command { at, carrier, command } = e {
                let id = self.tasks.len() as u64 + 1;
                let json = task_json(at, carrier, id, &command).to_string().into_boxed_str();
                self.tasks.push(Arc::new(Task { id, carrier, json }));
            }
        }
        for f in self.book.auditor.drain_findings() {
            self.add_finding(f);
        }
        if probe && self.book.auditor.open_ports() > 0 {
            // The audit of the rows alone must not move its horizon (a duty judged overdue now
            // would then not be judged as answered late when the answer comes, unlike
            // `lnpsim audit` of the trace): a copy looks at what is due.
            let mut look = self.book.auditor.clone();
            look.advance(self.sim.now());
            for f in look.drain_findings() {
                self.add_finding(f);
            }
        }
    }

    fn add_finding(&mut self, f: Finding) {
        let key = format!("{}|{:?}|{}", f.rule, f.seq, f.message);
        if !self.emitted.insert(key) {
            return;
        }
        let index = self.findings.len();
        for c in self.book.participants_of(f.port_ref) {
            self.finding_viewers.entry(*c).or_default().push(index);
        }
        let json = f.to_json().into_boxed_str();
        self.findings.push(Arc::new(LiveFinding {
            position: self.rows(),
            finding: f,
            json,
        }));
    }

    /// The rows after `after` that `viewer` may see, oldest first, at most `limit`.
    pub fn rows_after(&self, viewer: Principal, after: u64, limit: usize) -> Vec<Arc<Row>> {
        match viewer {
            Principal::Admin => {
                let start = usize::try_from(after).unwrap_or(usize::MAX).min(self.book.rows.len());
                self.book.rows[start..].iter().take(limit).cloned().collect()
            }
            Principal::Carrier(c) => {
                let Some(seqs) = self.book.visible.get(&c) else {
                    return Vec::new();
                };
                let from = seqs.partition_point(|s| *s <= after);
                seqs[from..]
                    .iter()
                    .take(limit)
                    .filter_map(|s| self.book.rows.get(*s as usize - 1).cloned())
                    .collect()
            }
        }
    }

    /// The event stream after row `after` (and, within one connection, from finding index
    /// `finding_from`; on a new connection the findings that follow row `after`), at most
    /// `limit` events. Returns the events and the next finding index.
    pub fn events_after(
        &self,
        viewer: Principal,
        after: u64,
        finding_from: Option<usize>,
        limit: usize,
    ) -> (Vec<Event>, usize) {
        let rows = self.rows_after(viewer, after, limit);
        let all: Vec<usize>;
        let indexes: &[usize] = match viewer {
            Principal::Admin => {
                all = (0..self.findings.len()).collect();
                &all
            }
            Principal::Carrier(c) => self.finding_viewers.get(&c).map_or(&[], Vec::as_slice),
        };
        let start = match finding_from {
            Some(i) => indexes.partition_point(|x| *x < i),
            None => indexes.partition_point(|x| self.findings[*x].position < after),
        };
        let mut out = Vec::new();
        let mut fi = start;
        let mut next_finding = finding_from.unwrap_or(0);
        let mut ri = 0;
        while out.len() < limit {
            let f = indexes.get(fi).map(|x| &self.findings[*x]);
            let r = rows.get(ri);
            match (r, f) {
                (Some(r), Some(f)) if f.position < r.record.seq => {
                    out.push(Event::Finding(f.clone()));
                    next_finding = indexes[fi] + 1;
                    fi += 1;
                }
                (Some(r), _) => {
                    out.push(Event::Row(r.clone()));
                    ri += 1;
                }
                (None, Some(f)) => {
                    // Rows past the page are not known here: a finding that follows them
                    // waits for the next page.
                    if rows.len() == limit {
                        break;
                    }
                    out.push(Event::Finding(f.clone()));
                    next_finding = indexes[fi] + 1;
                    fi += 1;
                }
                (None, None) => break,
            }
        }
        if finding_from.is_none() && fi == start {
            next_finding = indexes.get(start).copied().unwrap_or(self.findings.len());
        }
        (out, next_finding)
    }

    /// The story's requests to `viewer` (the admin: to every external carrier) with an id above
    /// `after`.
    pub fn tasks_after(&self, viewer: Principal, after: u64) -> Vec<Arc<Task>> {
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(self.tasks.len());
        self.tasks[start..]
            .iter()
            .filter(|t| match viewer {
                Principal::Admin => true,
                Principal::Carrier(c) => t.carrier == c,
            })
            .cloned()
            .collect()
    }

    /// The live audit at the current instant in the `lnpsim audit --format json` shape: what
    /// `lnpsim audit` of the trace with `--until` now gives. A carrier sees the findings on
    /// ports it takes part in.
    pub fn report(&self, viewer: Principal) -> String {
        let mut audit = self.book.auditor.clone();
        audit.advance(self.now());
        let mut report: Report = audit.finish();
        if let Principal::Carrier(c) = viewer {
            let book = &self.book;
            report
                .findings
                .retain(|f| book.participants_of(f.port_ref).contains(&c));
            report.summary.violations = report.findings.len() as u64;
            let mut by_rule = BTreeMap::new();
            for f in &report.findings {
                *by_rule.entry(f.rule.as_str().to_string()).or_insert(0) += 1;
            }
            report.summary.by_rule = by_rule;
        }
        report.to_json()
    }

    /// The whole trace so far, and the instant it stands at.
    pub fn trace(&self) -> (Timestamp, Vec<Arc<Row>>) {
        (self.now(), self.book.rows.clone())
    }

    /// When the engine next has something to do.
    pub fn next_event_at(&self) -> Option<Timestamp> {
        self.sim.next_event_at()
    }
}

/// One JSON Lines row read back (for the journal's replay).
struct TraceRecordLine;

impl TraceRecordLine {
    fn parse(line: &str) -> Result<TraceRecord, String> {
        let mut reader = lnp_model::TraceReader::new(line.as_bytes(), TraceFormat::Jsonl).map_err(|e| e.to_string())?;
        match reader.next() {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => Err(format!("a journaled row does not read: {e}")),
            None => Err("an empty journaled row".into()),
        }
    }
}
