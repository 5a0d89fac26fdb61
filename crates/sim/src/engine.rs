//! The discrete-event engine: a virtual clock that jumps to the next event, a priority queue
//! with deterministic tie-breaking (time, then insertion order), one seeded `ChaCha` generator,
//! and a trace sink.
//!
//! The engine delivers messages and commands to the carrier actors and wakes them at their
//! deadlines; it never looks inside a port. From the actions carriers take (`CUTOVER`, `DTR_START`,
//! `DTR_STOP`, `PLNR_PUBLISH`, `GIVE_BACK`) it keeps the market's routing history and the donors' registers.
//!
//! # Driving it from outside
//!
//! [`Sim::run`] plays the whole story; it is a loop over [`Sim::step`], which processes one
//! event. A caller that plays one carrier itself (a real porting system behind a server) drives
//! the clock instead: [`Sim::next_event_at`] says when the next event is due, and
//! [`Sim::advance_to`] processes every event up to an instant and moves the clock there. Such a
//! carrier is *external* ([`RunOptions::external`], [`Sim::set_external`]): its actor never runs.
//! What the market addresses to it (messages, and the commands the story gives it) goes to an
//! outbox of [`ExternalEvent`]s that the caller drains with [`Sim::take_outbox`]; what it sends
//! and does comes back in through [`Sim::deliver`] and [`Sim::act`], at the current virtual time,
//! recorded and routed exactly as if one of the simulator's own carriers had sent or done it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use lnp_actors::{Carrier, CarrierConfig, Command, Fault, FaultAction, Input, Outcome, Output, Unexpected};
use lnp_model::queue::{Key, KeyQueue};
use lnp_model::{
    BusinessCalendar, CarrierCode, Category, Envelope, Message, MsgKind, NumberRange, PortRef, PortStatus, Rulebook,
    TelephoneNumber, Timestamp, TraceRecord,
};
use lnp_routing::{Allocations, RoutingHistory};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::load::LoadGenerator;
use crate::scenario::{ReadsPlnr, Scenario};

/// The most numbers a story's `[[services]]` may hold in all (each is held one by one).
pub const MAX_SERVICE_NUMBERS: u64 = 2_000_000;

/// How many unexpected messages a run keeps for its summary (all are counted).
pub const UNEXPECTED_KEPT: usize = 100;

/// Where trace records go as they happen.
pub trait TraceSink {
    fn record(&mut self, record: &TraceRecord);

    /// A record the engine has no further use for (an action's: nothing delivers it), handed
    /// over rather than lent, so that a sink that keeps records can take it without a copy.
    fn record_owned(&mut self, record: TraceRecord) {
        self.record(&record);
    }
}

impl TraceSink for Vec<TraceRecord> {
    fn record(&mut self, record: &TraceRecord) {
        self.push(record.clone());
    }

    fn record_owned(&mut self, record: TraceRecord) {
        self.push(record);
    }
}

/// Limits and switches of one run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Stop after this many events (a bound on every run).
    pub max_events: u64,
    /// Stop at this instant (overrides the scenario's `until` when earlier).
    pub stop_at: Option<Timestamp>,
    /// Keep routing history only for these numbers (`None`: all). Market-scale runs track the
    /// numbers their expectations ask about.
    pub track_routes: Option<BTreeSet<TelephoneNumber>>,
    /// Carriers played from outside (see [`ExternalEvent`]); each must be in the scenario.
    pub external: BTreeSet<CarrierCode>,
    /// Keep every register publication (for register files); otherwise only those of the
    /// numbers `track_routes` names, which is what expectations read. A market-scale run that
    /// writes no register files keeps memory for the numbers it is asked about only.
    pub keep_publications: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            seed: None,
            max_events: 500_000_000,
            stop_at: None,
            track_routes: None,
            external: BTreeSet::new(),
            keep_publications: true,
        }
    }
}

/// What the simulation hands out for an external carrier: everything the market or the story
/// addresses to it, in the order it happens (messages in trace order). An external
/// carrier's [`Carrier`] actor never runs; the system playing it answers through
/// [`Sim::deliver`] and [`Sim::act`].
#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "messages are most of what is handed out; boxing them would allocate per message"
)]
pub enum ExternalEvent {
    /// A message to the external carrier `envelope.to`, sent at `at`: the trace record `seq`.
    /// It is handed out as it is sent (it never waits in the event queue).
    Message {
        at: Timestamp,
        seq: u64,
        envelope: Envelope,
    },
    /// The story asks the external carrier to do something at `at`: submit a port for a
    /// customer (a scenario port or a generated `[load]` port whose gaining carrier it is),
    /// withdraw it, ask for its return, give back a number it serves, or (as donor) take back a
    /// number another carrier gave back. Nothing is in the trace: commands are not messages.
    Command {
        at: Timestamp,
        carrier: CarrierCode,
        command: Command,
    },
}

impl ExternalEvent {
    /// The external carrier it is for.
    pub fn carrier(&self) -> CarrierCode {
        match self {
            Self::Message { envelope, .. } => envelope.to,
            Self::Command { carrier, .. } => *carrier,
        }
    }

    /// When it was handed out (virtual time).
    pub fn at(&self) -> Timestamp {
        match self {
            Self::Message { at, .. } | Self::Command { at, .. } => *at,
        }
    }
}

/// Why the simulation refused a call that drives it from outside. A refused call changes
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("carrier {0} is not in this market")]
    UnknownCarrier(CarrierCode),
    #[error(
        "carrier {0} is played by the simulator: only an external carrier's messages and actions come from outside"
    )]
    NotExternal(CarrierCode),
    #[error("{0} is an action (it has no receiver): take it with `act`")]
    IsAnAction(MsgKind),
    #[error("{0} is a message between carriers, not an action: send it with `deliver`")]
    NotAnAction(MsgKind),
    #[error("the clock is at {now} and does not go back to {to}")]
    ClockBackwards { now: Timestamp, to: Timestamp },
    #[error("the event bound stopped the simulation after {0} events")]
    Stopped(u64),
    #[error("carriers are marked external before the simulation starts")]
    AlreadyStarted,
}

#[derive(Clone, Debug)]
enum EventKind {
    /// A message to `envelope.to`, as it went into the trace: in the box the sending carrier
    /// wrote it into, read in place by the receiver.
    Deliver {
        envelope: Box<Envelope>,
        processing_ms: i64,
    },
    Wake(CarrierCode),
    Command(CarrierCode, Command),
    /// Carriers that read PLNR at one local time load a published record.
    PlnrLoad {
        readers: Vec<CarrierCode>,
        number: TelephoneNumber,
        target: Option<CarrierCode>,
    },
    /// The next generated port of `[load]` is due.
    NextLoadPort,
    /// A scenario port's numbers are disconnected and given back by whoever serves them then.
    GiveBack(Vec<TelephoneNumber>),
}

/// What [`Sim::handle`] gives a carrier: a command, a wake-up, or a message delivered by
/// reference (from, message, processing time).
enum Delivery<'m> {
    Command(Command),
    Timeout,
    Message(CarrierCode, &'m Message, i64),
}

/// The bit of a queue key's slot that says the key is a wake-up, the rest being the carrier's
/// code (no slot holds it).
const WAKE: usize = 1 << (usize::BITS - 1);

#[derive(Clone, Debug)]
struct Event {
    at: Timestamp,
    seq: u64,
    kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A register record as a donor published it (the PLNR-SIM/1 detail record's fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publication {
    pub at: Timestamp,
    pub donor: CarrierCode,
    pub file_seq: u32,
    pub number: TelephoneNumber,
    pub current: CarrierCode,
    pub losing: CarrierCode,
    pub status: PortStatus,
    pub category: Category,
    pub port_ref: PortRef,
    /// When the record took effect (`docs/plnr-format.md`): the cutover for `C`, when the donor
    /// learned of the port for `P`, the outcome for `N` and `R`.
    pub effective: Timestamp,
    /// A record the register held before the story started (a number ported before it): part
    /// of every snapshot, never of an update file.
    pub initial: bool,
}

/// A donor's register at one instant, from its publications in order
/// (`docs/plnr-format.md`, "The register while a port is pending"): a `P` stands in place of an
/// earlier `C` until a `C` of the same port replaces it or an `N`/`R` of it cancels it, when the
/// earlier `C` stands again; a completed record whose current carrier is the donor (a port
/// home) leaves the register, a pending one leaves the earlier record standing.
pub fn register_of<'a>(
    publications: impl IntoIterator<Item = &'a Publication>,
) -> BTreeMap<TelephoneNumber, &'a Publication> {
    let mut standing: BTreeMap<TelephoneNumber, (&'a Publication, Option<&'a Publication>)> = BTreeMap::new();
    for p in publications {
        match p.status {
            PortStatus::P | PortStatus::C if p.current != p.donor => {
                let before = match standing.get(&p.number) {
                    Some((s, before)) if s.port_ref == p.port_ref => *before,
                    Some((s, _)) if s.status == PortStatus::C => Some(*s),
                    _ => None,
                };
                standing.insert(p.number, (p, before));
            }
            // A port home (action `D`): pending, it changes nothing yet, so the number's earlier
            // record stands until the port completes, as it does when the register's updates are
            // applied (`lnp_plnr::Register`); completed, the number leaves the register.
            PortStatus::P => {}
            PortStatus::C => {
                standing.remove(&p.number);
            }
            PortStatus::N | PortStatus::R => {
                if let Some((s, before)) = standing.get(&p.number).copied() {
                    if s.port_ref == p.port_ref {
                        match before {
                            Some(b) => {
                                standing.insert(p.number, (b, None));
                            }
                            None => {
                                standing.remove(&p.number);
                            }
                        }
                    }
                }
            }
        }
    }
    standing.into_iter().map(|(n, (p, _))| (n, p)).collect()
}

/// Key moments of one port, for the summary.
#[derive(Clone, Debug, Default)]
pub struct PortTimes {
    pub category: Option<Category>,
    pub numbers: Vec<TelephoneNumber>,
    pub gaining: Option<CarrierCode>,
    pub losing: Option<CarrierCode>,
    pub submitted: Option<Timestamp>,
    pub confirmed: Option<Timestamp>,
    pub cutover_requested: Option<Timestamp>,
    pub cutover: Option<Timestamp>,
    pub published: Option<Timestamp>,
}

/// A breach the simulator itself sees and a trace cannot show (`QUARANTINE`: a trace has no
/// allocation event, so the audit cannot check it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFinding {
    pub rule: lnp_model::RuleId,
    pub seq: u64,
    pub number: TelephoneNumber,
    pub message: String,
}

/// Counters of a run.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Events processed: messages delivered, commands, timers that ran, register loads (a
    /// wake-up superseded by an earlier one is not one).
    pub events: u64,
    pub records: u64,
    pub ports_submitted: u64,
    pub stopped_by_event_bound: bool,
    pub end: Timestamp,
    /// Messages a carrier received that no state of its port expected.
    pub unexpected: u64,
    /// `[load]` ports that could not be generated: their losing carriers' ranges ran out.
    pub load_ports_missing: u64,
    /// The run reached the last instant lnpsim handles (the end of year 9999 UTC) with events
    /// still to come; they were not run.
    pub stopped_at_end_of_time: bool,
}

/// One carrier of the market and what the engine keeps for it.
struct Seat {
    carrier: Carrier,
    reads_plnr: ReadsPlnr,
    /// The most a processing time drawn for it may be.
    answers_within_ms: i64,
    /// The wake-up queued for it (a later one queued before it was superseded).
    wake_at: Option<Timestamp>,
    /// Played from outside (see [`ExternalEvent`]).
    external: bool,
}

/// The carriers of a market in code order, found by code through a table indexed by the code
/// itself (codes are four digits): every event looks its carrier up, and a search through a
/// map keyed by code cost more than the rest of dispatching it.
struct Seats {
    seats: Vec<Seat>,
    /// For each code, its seat plus one (0: not in the market).
    index: Vec<u16>,
}

impl Seats {
    fn new(seats: Vec<Seat>) -> Self {
        let top = seats
            .iter()
            .map(|s| usize::from(s.carrier.code().get()))
            .max()
            .map_or(0, |m| m + 1);
        let mut index = vec![0_u16; top];
        for (i, s) in seats.iter().enumerate() {
            if let Some(slot) = index.get_mut(usize::from(s.carrier.code().get())) {
                *slot = u16::try_from(i + 1).unwrap_or(0);
            }
        }
        Self { seats, index }
    }

    fn get(&self, code: CarrierCode) -> Option<&Seat> {
        let i = usize::from(*self.index.get(usize::from(code.get()))?);
        self.seats.get(i.checked_sub(1)?)
    }

    fn get_mut(&mut self, code: CarrierCode) -> Option<&mut Seat> {
        let i = usize::from(*self.index.get(usize::from(code.get()))?);
        self.seats.get_mut(i.checked_sub(1)?)
    }

    fn contains(&self, code: CarrierCode) -> bool {
        self.get(code).is_some()
    }

    fn is_external(&self, code: CarrierCode) -> bool {
        self.get(code).is_some_and(|s| s.external)
    }
}

/// A simulation of one scenario.
pub struct Sim {
    seats: Seats,
    calendar: BusinessCalendar,
    /// Future events as small keys (time, insertion order, slot); the events themselves sit
    /// in `slots` and never move while the queue reorders.
    queue: KeyQueue,
    slots: Vec<Option<EventKind>>,
    free_slots: Vec<usize>,
    /// Events due at the current instant, in insertion order. Most events (every delivery) are
    /// due the instant they are scheduled; they skip the heap. Merged with `queue` by
    /// (time, insertion order), so the order of events is exactly that of one queue.
    due_now: VecDeque<Event>,
    event_seq: u64,
    rng: ChaCha8Rng,
    now: Timestamp,
    until: Option<Timestamp>,
    trace_seq: u64,
    routing: RoutingHistory,
    allocations: Allocations,
    track_routes: Option<BTreeSet<TelephoneNumber>>,
    /// Former losing carriers that forward during the donor's transit routing.
    forwarding: BTreeMap<TelephoneNumber, CarrierCode>,
    /// The port whose donor transit routing each (donor, number) runs now: a `DTR_STOP` of an
    /// earlier port of the number leaves a later port's transit routing alone.
    dtr_port: BTreeMap<(CarrierCode, TelephoneNumber), PortRef>,
    /// Messages carriers could not act on (at most [`UNEXPECTED_KEPT`] kept; all counted).
    unexpected: Vec<(Timestamp, Unexpected)>,
    publications: Vec<Publication>,
    /// See [`RunOptions::keep_publications`].
    keep_publications: bool,
    ports: BTreeMap<PortRef, PortTimes>,
    /// Only ports named in the scenario are summarised one by one.
    summarised: BTreeSet<PortRef>,
    load: Option<LoadGenerator>,
    stats: RunStats,
    max_events: u64,
    /// A scenario port split by losing carrier: its parts, in order.
    parts: BTreeMap<PortRef, Vec<PortRef>>,
    /// Numbers given back: the donor, when, and when their quarantine ends.
    given_back: BTreeMap<TelephoneNumber, (CarrierCode, Timestamp, Timestamp)>,
    quarantine: lnp_model::Span,
    findings: Vec<SimFinding>,
    /// What is handed out for the carriers played from outside.
    outbox: Vec<ExternalEvent>,
    /// The buffer a carrier's outputs are handed out in, reused from one event to the next.
    outputs: Vec<Output>,
}

/// Why a scenario cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// How long a carrier whose `answers_within` is `within_ms` takes over a message, from one draw
/// of the generator: a fifth of `within_ms` plus whole seconds, never more than `within_ms`
/// itself, so `0m` answers at once. A draw is taken whatever `within_ms` is, so that the
/// generator's stream does not depend on how fast carriers answer.
fn processing_time(within_ms: i64, draw: u64) -> i64 {
    let low = within_ms / 5;
    let whole_seconds = ((within_ms - low) / 1000).max(0) as u64;
    low + (draw % (whole_seconds + 1)) as i64 * 1000
}

fn fault_action(f: &crate::scenario::FaultSpec) -> Result<FaultAction, SetupError> {
    use crate::scenario::FaultAction as A;
    let need_by = || {
        f.by.ok_or_else(|| SetupError(format!("line {}: fault needs `by`", f.line)))
    };
    Ok(match f.action {
        A::Delay => FaultAction::Delay(need_by()?),
        A::Drop => FaultAction::Drop,
        A::Reject => FaultAction::Reject(
            f.code
                .ok_or_else(|| SetupError(format!("line {}: a reject fault needs `code`", f.line)))?,
        ),
        A::Accept => FaultAction::Accept,
        A::Skip => FaultAction::Skip,
        A::Shift => FaultAction::Shift(need_by()?),
    })
}

impl Sim {
    /// Sets up the market of a validated scenario.
    pub fn new(
        scenario: &Scenario,
        rulebook: &Rulebook,
        calendar: &BusinessCalendar,
        options: RunOptions,
    ) -> Result<Self, SetupError> {
        let mut alloc = Vec::new();
        for c in &scenario.carriers {
            for r in &c.ranges {
                alloc.push((*r, c.code));
            }
        }
        let allocations = Allocations::new(alloc.clone()).map_err(|e| SetupError(e.to_string()))?;
        let mut routing = RoutingHistory::new(allocations.clone());
        let mut initial: Vec<Publication> = Vec::new();
        let mut configs: BTreeMap<CarrierCode, CarrierConfig> = BTreeMap::new();
        for c in &scenario.carriers {
            configs.insert(
                c.code,
                CarrierConfig {
                    name: c.name.clone(),
                    ranges: c.ranges.clone(),
                    daily_cap: c.daily_cap,
                    allocations: alloc.clone(),
                    start: scenario.start,
                    ..CarrierConfig::default()
                },
            );
        }
        for a in &scenario.agreements {
            let [x, y] = a.carriers;
            let ag = *a;
            if let Some(c) = configs.get_mut(&x) {
                c.agreements.insert(y, ag);
            }
            if let Some(c) = configs.get_mut(&y) {
                c.agreements.insert(x, ag);
            }
        }
        // Each number of a service is held one by one (about a hundred bytes each), so the
        // services of a story are bounded in all, not only per range.
        let held: u64 = scenario
            .services
            .iter()
            .flat_map(|s| s.numbers.iter())
            .map(NumberRange::len)
            .sum();
        if held > MAX_SERVICE_NUMBERS {
            return Err(SetupError(format!(
                "[[services]] hold {held} numbers in all; a story holds at most {MAX_SERVICE_NUMBERS} (for a \
                 market of that size, use [load], whose numbers cost nothing until they are ported)"
            )));
        }
        for s in &scenario.services {
            for range in &s.numbers {
                for n in range.iter() {
                    let service = s.service.clone();
                    if let Some(c) = configs.get_mut(&s.carrier) {
                        c.services.insert(n, service);
                    }
                    // A service away from the number's donor means the number was ported before
                    // the story starts: it stands in the donor's register, so the donor and
                    // every carrier that reads the register route it directly; one that never
                    // reads it sends calls to the donor.
                    if let Some(donor) = allocations.donor_of(n) {
                        if donor != s.carrier {
                            if let Some(d) = configs.get_mut(&donor) {
                                d.ported_out.insert(n, s.carrier);
                            }
                            routing.serve(scenario.start, n, s.carrier);
                            for c in &scenario.carriers {
                                let reads = c.reads_plnr != ReadsPlnr::Never || c.code == donor;
                                if c.code != s.carrier && reads {
                                    routing.learn(scenario.start, c.code, n, Some(s.carrier));
                                }
                            }
                            initial.push(Publication {
                                at: scenario.start,
                                donor,
                                file_seq: 0,
                                number: n,
                                current: s.carrier,
                                losing: donor,
                                status: PortStatus::C,
                                category: Category::A,
                                port_ref: PortRef::from_static("PRE-PORTED"),
                                effective: scenario.start,
                                initial: true,
                            });
                        }
                    }
                }
            }
        }
        for f in &scenario.faults {
            let action = fault_action(f)?;
            if let Some(c) = configs.get_mut(&f.carrier) {
                c.faults.push(Fault {
                    on: f.on,
                    action,
                    remaining: f.times,
                });
            }
        }
        if let Some(c) = options.external.iter().find(|c| !configs.contains_key(c)) {
            return Err(SetupError(format!("external carrier {c} is not in the scenario")));
        }
        let seats = configs
            .into_iter()
            .map(|(code, cfg)| {
                // As a map from the scenario's carriers would: the last one of a code counts.
                let spec = scenario.carriers.iter().rev().find(|c| c.code == code);
                Seat {
                    carrier: Carrier::new(code, cfg, rulebook.clone(), calendar.clone()),
                    reads_plnr: spec.map_or(ReadsPlnr::Never, |c| c.reads_plnr),
                    answers_within_ms: spec
                        .map_or(300_000, |c| c.answers_within.fixed_millis().unwrap_or(300_000).max(0)),
                    wake_at: None,
                    external: options.external.contains(&code),
                }
            })
            .collect();
        let seed = options.seed.unwrap_or(scenario.seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(0);
        let until = match (scenario.until, options.stop_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut sim = Self {
            seats: Seats::new(seats),
            calendar: calendar.clone(),
            queue: KeyQueue::default(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            due_now: VecDeque::new(),
            event_seq: 0,
            rng,
            now: scenario.start,
            until,
            trace_seq: 0,
            routing,
            allocations,
            track_routes: options.track_routes,
            keep_publications: options.keep_publications,
            forwarding: BTreeMap::new(),
            dtr_port: BTreeMap::new(),
            unexpected: Vec::new(),
            publications: initial,
            ports: BTreeMap::new(),
            summarised: BTreeSet::new(),
            load: None,
            stats: RunStats::default(),
            max_events: options.max_events,
            parts: BTreeMap::new(),
            given_back: BTreeMap::new(),
            quarantine: rulebook.quarantine,
            findings: Vec::new(),
            outbox: Vec::new(),
            outputs: Vec::new(),
        };
        for p in &scenario.ports {
            sim.schedule_port(scenario, p)?;
        }
        if let Some(load) = &scenario.load {
            let generator = LoadGenerator::new(scenario, load, seed).map_err(SetupError)?;
            if let Some(first) = generator.peek_time() {
                sim.push(first, EventKind::NextLoadPort);
            }
            sim.load = Some(generator);
        }
        Ok(sim)
    }

    /// Who holds `n` at the start of the story: the carrier of its service, else its donor.
    fn holder_at_start(&self, scenario: &Scenario, n: TelephoneNumber) -> Option<CarrierCode> {
        scenario
            .services
            .iter()
            .find(|s| s.numbers.iter().any(|r| r.contains(n)))
            .map(|s| s.carrier)
            .or_else(|| self.allocations.donor_of(n))
    }

    /// Schedules a scenario port. Without an explicit `losing`, numbers held by different
    /// carriers make one port per losing carrier (`P1-9001`, `P1-9002`), each tracked on its own.
    fn schedule_port(&mut self, scenario: &Scenario, p: &crate::scenario::PortSpec) -> Result<(), SetupError> {
        if let Some(losing) = p.losing {
            self.schedule_part(p, p.id, losing, p.numbers.clone());
            return Ok(());
        }
        let mut by_losing: BTreeMap<CarrierCode, Vec<TelephoneNumber>> = BTreeMap::new();
        for n in &p.numbers {
            let holder = self.holder_at_start(scenario, *n).ok_or_else(|| {
                SetupError(format!(
                    "line {}: port {}: cannot tell the losing carrier of {n}",
                    p.line, p.id
                ))
            })?;
            if holder == p.gaining {
                return Err(SetupError(format!(
                    "line {}: port {}: {n} is already with the gaining carrier {holder} when the story \
                     starts; a carrier cannot port a number from itself",
                    p.line, p.id
                )));
            }
            by_losing.entry(holder).or_default().push(*n);
        }
        if by_losing.len() <= 1 {
            let Some((losing, numbers)) = by_losing.into_iter().next() else {
                return Err(SetupError(format!(
                    "line {}: port {}: cannot tell the losing carrier",
                    p.line, p.id
                )));
            };
            self.schedule_part(p, p.id, losing, numbers);
            return Ok(());
        }
        let mut refs = Vec::new();
        for (losing, numbers) in by_losing {
            let part: PortRef = format!("{}-{losing}", p.id).parse().map_err(|e| {
                SetupError(format!(
                    "line {}: port {}: its numbers sit at several losing carriers, and the part's reference \
                     cannot be made: {e}",
                    p.line, p.id
                ))
            })?;
            self.schedule_part(p, part, losing, numbers);
            refs.push(part);
        }
        self.parts.insert(p.id, refs);
        Ok(())
    }

    fn schedule_part(
        &mut self,
        p: &crate::scenario::PortSpec,
        port_ref: PortRef,
        losing: CarrierCode,
        numbers: Vec<TelephoneNumber>,
    ) {
        let donors = numbers
            .iter()
            .filter_map(|n| Some((*n, self.allocations.donor_of(*n)?)))
            .collect();
        let req = lnp_actors::PortRequest {
            port_ref,
            category: p.category,
            numbers: numbers.clone(),
            losing,
            donors,
            customer: p.customer.clone(),
            account: p.account.clone(),
            ca_date: p.ca_date,
            cutover: p.cutover,
            pnv: p.pnv,
            retargets: p.retarget.clone(),
            keep: true,
        };
        self.summarised.insert(port_ref);
        self.ports.insert(
            port_ref,
            PortTimes {
                category: Some(p.category),
                numbers: numbers.clone(),
                gaining: Some(p.gaining),
                losing: Some(losing),
                cutover_requested: Some(p.cutover),
                ..PortTimes::default()
            },
        );
        self.push(
            p.submit_at,
            EventKind::Command(p.gaining, Command::Submit(Box::new(req))),
        );
        if let Some(t) = p.withdraw_at {
            self.push(t, EventKind::Command(p.gaining, Command::Withdraw(port_ref)));
        }
        if let Some(t) = p.return_at {
            self.push(t, EventKind::Command(p.gaining, Command::Return(port_ref)));
        }
        if let Some(t) = p.give_back_at {
            self.push(t, EventKind::GiveBack(numbers));
        }
    }

    fn push(&mut self, at: Timestamp, kind: EventKind) {
        self.event_seq += 1;
        let ev = Event {
            at,
            seq: self.event_seq,
            kind,
        };
        // `due_now` stays sorted: its events share one instant (the clock never goes back, and
        // it only moves on once `due_now` is empty) and have increasing sequence numbers.
        if at == self.now && self.due_now.back().is_none_or(|b| b.at == at) {
            self.due_now.push_back(ev);
        } else if let EventKind::Wake(code) = ev.kind {
            // A wake-up is all key: most wait minutes or hours (and many are superseded by an
            // earlier one), and reading them back costs no visit to a slot.
            self.queue.push(Key {
                at: ev.at,
                seq: ev.seq,
                slot: WAKE | usize::from(code.get()),
            });
        } else {
            let slot = if let Some(i) = self.free_slots.pop() {
                if let Some(s) = self.slots.get_mut(i) {
                    *s = Some(ev.kind);
                }
                i
            } else {
                self.slots.push(Some(ev.kind));
                self.slots.len() - 1
            };
            self.queue.push(Key {
                at: ev.at,
                seq: ev.seq,
                slot,
            });
        }
    }

    /// The next event by (time, insertion order) from the heap and `due_now`.
    fn pop_event(&mut self) -> Option<Event> {
        loop {
            let take_heap = match (self.queue.peek(), self.due_now.front()) {
                (Some(k), Some(d)) => (k.at, k.seq) < (d.at, d.seq),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !take_heap {
                return self.due_now.pop_front();
            }
            let Key { at, seq, slot } = self.queue.pop()?;
            if slot & WAKE != 0 {
                let code = u16::try_from(slot & !WAKE).ok().and_then(CarrierCode::new);
                if let Some(code) = code {
                    return Some(Event {
                        at,
                        seq,
                        kind: EventKind::Wake(code),
                    });
                }
                continue;
            }
            let kind = self.slots.get_mut(slot).and_then(Option::take);
            self.free_slots.push(slot);
            if let Some(kind) = kind {
                return Some(Event { at, seq, kind });
            }
        }
    }

    fn tracks(&self, n: TelephoneNumber) -> bool {
        self.track_routes.as_ref().is_none_or(|s| s.contains(&n))
    }

    /// When the earliest queued event is due, bounds aside.
    fn peek_at(&self) -> Option<Timestamp> {
        match (self.queue.peek(), self.due_now.front()) {
            (Some(k), Some(d)) => Some(k.at.min(d.at)),
            (Some(k), None) => Some(k.at),
            (None, d) => d.map(|d| d.at),
        }
    }

    /// When the next event is due: `None` when nothing is queued, when the next event lies past
    /// `until`, or once the event bound has stopped the simulation. (The bound stops it at the
    /// first event it refuses, as in [`Sim::run`]: that event is still announced here.)
    pub fn next_event_at(&self) -> Option<Timestamp> {
        if self.stats.stopped_by_event_bound {
            return None;
        }
        self.peek_at()
            .filter(|at| self.until.is_none_or(|u| *at <= u) && *at <= Timestamp::LAST)
    }

    /// Processes exactly one event, the next by (time, insertion order), and returns its time.
    ///
    /// Returns `None`, processing nothing, when nothing is queued; when the next event lies past
    /// `until` (the clock moves to `until`: the story is over); or when the event bound is
    /// reached (`stats().stopped_by_event_bound` is set, and the event it stopped at is dropped:
    /// a stopped simulation processes no more events).
    pub fn step(&mut self, sink: &mut dyn TraceSink) -> Option<Timestamp> {
        if self.stats.stopped_by_event_bound {
            return None;
        }
        let at = self.peek_at()?;
        if let Some(u) = self.until.filter(|u| at > *u) {
            self.now = self.now.max(u);
            self.stats.end = self.now;
            return None;
        }
        if at > Timestamp::LAST {
            // Nothing happens after the end of year 9999 in Sydney: no instant past it can be written.
            self.stats.stopped_at_end_of_time = true;
            return None;
        }
        if self.stats.events >= self.max_events {
            self.stats.stopped_by_event_bound = true;
            self.pop_event();
            return None;
        }
        let ev = self.pop_event()?;
        self.now = ev.at;
        self.stats.end = ev.at;
        // `events` is the work simulated, and the bound is on that: a superseded wake-up is none.
        if self.process(ev, sink) {
            self.stats.events += 1;
        }
        Some(at)
    }

    /// Processes every event due at or before `t`, in the order [`Sim::run`] would (time, then
    /// insertion order; events that these events schedule at or before `t` included), then sets
    /// the clock to `t`. Returns how many events it processed.
    ///
    /// The clock never goes back: a `t` earlier than [`Sim::now`] is refused
    /// ([`StepError::ClockBackwards`]) and nothing happens; `t` equal to now processes what is
    /// due now (such as a message just delivered). The clock never passes `until` either: a
    /// later `t` processes the events up to `until` and stops the clock there. When the event
    /// bound stops the simulation part way, the clock stays at the last event processed, and
    /// every later call is refused ([`StepError::Stopped`]).
    pub fn advance_to(&mut self, t: Timestamp, sink: &mut dyn TraceSink) -> Result<u64, StepError> {
        self.check_running()?;
        if t < self.now {
            return Err(StepError::ClockBackwards { now: self.now, to: t });
        }
        let target = self.until.map_or(t, |u| t.min(u));
        let mut processed = 0;
        while self.peek_at().is_some_and(|at| at <= target) {
            if self.step(sink).is_none() {
                break;
            }
            processed += 1;
        }
        if !self.stats.stopped_by_event_bound {
            self.now = self.now.max(target);
            self.stats.end = self.now;
        }
        Ok(processed)
    }

    /// Runs until nothing is left to do, `until`, or the event bound; every trace record goes
    /// to `sink` as it happens. With nothing left before `until`, the clock ends at `until`.
    pub fn run(&mut self, sink: &mut dyn TraceSink) -> &RunStats {
        while self.step(sink).is_some() {}
        if let Some(u) = self.until {
            if self.queue.is_empty() && self.due_now.is_empty() && self.now < u {
                self.now = u;
            }
        }
        self.stats.end = self.now;
        &self.stats
    }

    /// Does what the event says; false for a wake-up superseded by an earlier one (the
    /// carrier's deadline moved), which does nothing.
    fn process(&mut self, ev: Event, sink: &mut dyn TraceSink) -> bool {
        match ev.kind {
            EventKind::Deliver {
                envelope,
                processing_ms,
            } => {
                let Envelope { from, to, message } = &*envelope;
                self.handle(*to, Delivery::Message(*from, message, processing_ms), sink);
            }
            EventKind::Wake(code) => {
                let Some(seat) = self.seats.get_mut(code).filter(|s| s.wake_at == Some(ev.at)) else {
                    return false;
                };
                seat.wake_at = None;
                self.handle(code, Delivery::Timeout, sink);
            }
            EventKind::Command(code, cmd) => {
                if matches!(cmd, Command::Submit(_)) {
                    self.stats.ports_submitted += 1;
                }
                if let Command::Submit(req) = &cmd {
                    let t = self.ports.entry(req.port_ref).or_default();
                    t.submitted = Some(ev.at);
                }
                self.handle(code, Delivery::Command(cmd), sink);
            }
            EventKind::PlnrLoad {
                readers,
                number,
                target,
            } => {
                if self.tracks(number) {
                    for r in readers {
                        self.routing.learn(ev.at, r, number, target);
                    }
                }
            }
            EventKind::NextLoadPort => self.next_load_port(sink),
            EventKind::GiveBack(numbers) => self.give_back(&numbers, sink),
        }
        true
    }

    fn next_load_port(&mut self, sink: &mut dyn TraceSink) {
        let Some(generator) = self.load.as_mut() else { return };
        let port = generator.next_port();
        let next = generator.peek_time();
        self.stats.load_ports_missing = generator.missing();
        if let Some(t) = next {
            self.push(t, EventKind::NextLoadPort);
        }
        // A port the ranges could no longer supply is counted (the run reports it); the stream
        // goes on.
        let Some((req, gaining)) = port else { return };
        self.stats.ports_submitted += 1;
        self.handle(gaining, Delivery::Command(Command::Submit(Box::new(req))), sink);
    }

    /// The carrier serving each number (other than its donor) disconnects it and gives it back.
    /// An external carrier's actor does not know what it serves: when none of the simulator's
    /// own carriers serves the number, the routing history says whether an external one does.
    fn give_back(&mut self, numbers: &[TelephoneNumber], sink: &mut dyn TraceSink) {
        for n in numbers {
            let Some(donor) = self.allocations.donor_of(*n) else {
                continue;
            };
            let holder = self
                .seats
                .seats
                .iter()
                .find(|s| s.carrier.code() != donor && !s.external && s.carrier.serves(*n))
                .map(|s| s.carrier.code())
                .or_else(|| {
                    let (server, _) = self.routing.server(*n, self.now)?;
                    (server != donor && self.seats.is_external(server)).then_some(server)
                });
            if let Some(holder) = holder {
                self.handle(holder, Delivery::Command(Command::GiveBack { number: *n, donor }), sink);
            }
        }
    }

    fn handle(&mut self, code: CarrierCode, input: Delivery<'_>, sink: &mut dyn TraceSink) {
        let now = self.now;
        let Some(seat) = self.seats.get_mut(code) else {
            return;
        };
        if seat.external {
            // An external carrier is told what the story asks of it; it has no timeouts, and
            // messages to it are handed out as they are sent.
            if let Delivery::Command(command) = input {
                self.outbox.push(ExternalEvent::Command {
                    at: now,
                    carrier: code,
                    command,
                });
            }
            return;
        }
        let carrier = &mut seat.carrier;
        let mut outputs = std::mem::take(&mut self.outputs);
        match input {
            Delivery::Command(command) => carrier.handle_into(now, Input::Command(command), &mut outputs),
            Delivery::Timeout => carrier.handle_into(now, Input::Timeout, &mut outputs),
            Delivery::Message(from, message, processing_ms) => {
                carrier.receive_into(now, from, message, processing_ms, &mut outputs);
            }
        }
        let deadline = carrier.next_deadline();
        for o in outputs.drain(..) {
            self.output(code, o, sink);
        }
        // Handing the buffer back keeps its capacity; a nested `handle` (none today) would only
        // have allocated its own.
        self.outputs = outputs;
        // Queued after the outputs' deliveries, so that (time, insertion order) ties fall as ever.
        let Some(d) = deadline.map(|d| d.max(now)) else { return };
        let Some(seat) = self.seats.get_mut(code) else { return };
        if seat.wake_at.is_none_or(|c| d < c || c < now) {
            seat.wake_at = Some(d);
            self.push(d, EventKind::Wake(code));
        }
    }

    fn output(&mut self, from: CarrierCode, o: Output, sink: &mut dyn TraceSink) {
        let now = self.now;
        match o {
            Output::Unexpected(u) => {
                self.stats.unexpected += 1;
                tracing::debug!(at = %now, carrier = %u.carrier, kind = %u.kind, state = %u.state, "unexpected message");
                if self.unexpected.len() < UNEXPECTED_KEPT {
                    self.unexpected.push((now, *u));
                }
            }
            Output::Send(mut e) => {
                // The record is what is delivered, and the envelope's box carries it: the
                // message moves into the record for the sink and back, no second box is made.
                let placeholder = Message {
                    kind: e.message.kind,
                    port_ref: None,
                    category: None,
                    numbers: lnp_model::Numbers::new(),
                    code: lnp_model::Code::None,
                    detail: lnp_model::Detail::default(),
                };
                let record = self.record(from, Some(e.to), std::mem::replace(&mut e.message, placeholder));
                self.observe(&record);
                sink.record(&record);
                let TraceRecord { seq, message, .. } = record;
                e.message = message;
                let receiver = self.seats.get(e.to);
                let within = receiver.map_or(300_000, |s| s.answers_within_ms);
                let external = receiver.is_some_and(|s| s.external);
                let processing_ms = processing_time(within, self.rng.next_u64());
                if external {
                    // Handed out as it is sent, in trace order; the draw above still happens, so
                    // the generator's stream does not depend on who plays the receiver.
                    self.outbox.push(ExternalEvent::Message {
                        at: now,
                        seq,
                        envelope: *e,
                    });
                } else {
                    self.push(
                        now,
                        EventKind::Deliver {
                            envelope: e,
                            processing_ms,
                        },
                    );
                }
            }
            Output::Action(m) => {
                let record = self.record(from, None, *m);
                self.observe(&record);
                // What the action changes is the engine's own (routing, registers, events): the
                // sink sees nothing of it, so it may take the record after.
                self.action(from, &record.message);
                sink.record_owned(record);
            }
        }
    }

    /// The next trace record, at the current instant.
    fn record(&mut self, from: CarrierCode, to: Option<CarrierCode>, message: Message) -> TraceRecord {
        self.trace_seq += 1;
        self.stats.records += 1;
        TraceRecord {
            seq: self.trace_seq,
            time: self.now,
            from,
            to,
            message,
        }
    }

    /// Port summaries from what crosses the wire, and allocations the trace cannot show.
    fn observe(&mut self, r: &TraceRecord) {
        if matches!(r.message.kind, MsgKind::SnaConfirm | MsgKind::CnaConfirm) {
            self.check_quarantine(r);
        }
        let Some(port_ref) = r.message.port_ref else { return };
        let Some(t) = self.ports.get_mut(&port_ref) else { return };
        match r.message.kind {
            MsgKind::SnaConfirm | MsgKind::CnaConfirm => t.confirmed = Some(r.time),
            MsgKind::Cutover if r.message.detail.reason().is_none() => t.cutover = Some(r.time),
            MsgKind::PlnrPublish if t.published.is_none() => t.published = Some(r.time),
            _ => {}
        }
    }

    /// A donor that confirms a port of a number it holds in quarantine has put the number back
    /// in service for a customer: it allocated it again too soon (`QUARANTINE`).
    fn check_quarantine(&mut self, r: &TraceRecord) {
        for n in &r.message.numbers {
            let Some((donor, given, until)) = self.given_back.get(n).copied() else {
                continue;
            };
            if donor == r.from && r.time < until {
                self.findings.push(SimFinding {
                    rule: lnp_model::RuleId::Quarantine,
                    seq: r.seq,
                    number: *n,
                    message: format!(
                        "{donor} confirmed a port of {n} at seq {} ({}), which was given back at {given} and is in \
                         quarantine until {until} ({}): the number was allocated again too soon",
                        r.seq,
                        r.time,
                        self.quarantine.describe()
                    ),
                });
            }
        }
    }

    fn action(&mut self, by: CarrierCode, m: &Message) {
        let now = self.now;
        match m.kind {
            MsgKind::GiveBack => {
                let donor = m.detail.current;
                for n in &m.numbers {
                    let Some(donor) = donor.or_else(|| self.allocations.donor_of(*n)) else {
                        continue;
                    };
                    let until = self.calendar.add(now, self.quarantine);
                    self.given_back.insert(*n, (donor, now, until));
                    if self.tracks(*n) {
                        self.routing.serve(now, *n, donor);
                        self.routing.learn(now, by, *n, None);
                        if let Some(l) = self.forwarding.remove(n) {
                            self.routing.stop_transit(now, l, *n);
                        }
                    }
                    self.push(
                        now,
                        EventKind::Command(donor, Command::TakeBack { number: *n, from: by }),
                    );
                }
            }
            MsgKind::Cutover => {
                let Some(current) = m.detail.current else { return };
                for n in &m.numbers {
                    if !self.tracks(*n) {
                        continue;
                    }
                    self.routing.serve(now, *n, current);
                    if current == by {
                        // A return: the number is back with `by`; forwarding ends.
                        self.routing.stop_transit(now, by, *n);
                        self.forwarding.remove(n);
                    } else {
                        self.routing.learn(now, by, *n, Some(current));
                        if self.allocations.donor_of(*n) != Some(by) {
                            self.routing.start_transit(now, by, *n, current);
                            self.forwarding.insert(*n, by);
                        }
                    }
                }
                if let Some(port_ref) = m.port_ref {
                    if let Some(g) = self.ports.get(&port_ref).and_then(|p| p.gaining) {
                        for n in &m.numbers {
                            if self.tracks(*n) && g != current {
                                self.routing.learn(now, g, *n, Some(current));
                            }
                        }
                    }
                }
            }
            MsgKind::DtrStart => {
                let Some(current) = m.detail.current else { return };
                for n in &m.numbers {
                    if self.tracks(*n) {
                        self.routing.start_transit(now, by, *n, current);
                        self.routing.learn(now, by, *n, Some(current));
                        if let Some(r) = m.port_ref {
                            self.dtr_port.insert((by, *n), r);
                        }
                    }
                }
            }
            MsgKind::DtrStop => {
                for n in &m.numbers {
                    if !self.tracks(*n) {
                        continue;
                    }
                    let runs = self.dtr_port.get(&(by, *n)).copied();
                    if runs.is_some() && runs != m.port_ref {
                        continue; // a later port of the number runs transit routing now
                    }
                    self.dtr_port.remove(&(by, *n));
                    self.routing.stop_transit(now, by, *n);
                    if let Some(l) = self.forwarding.remove(n) {
                        self.routing.stop_transit(now, l, *n);
                    }
                    // The carrier now serving the number, as the stopping donor knows it (after a
                    // return: the carrier it came back to).
                    if let Some(c) = m.detail.current {
                        self.routing.learn(now, by, *n, (c != by).then_some(c));
                    }
                }
            }
            MsgKind::PlnrPublish => self.publish(by, m),
            _ => {}
        }
    }

    fn publish(&mut self, donor: CarrierCode, m: &Message) {
        let now = self.now;
        let (Some(status), Some(current), Some(port_ref)) = (m.detail.status, m.detail.current, m.port_ref) else {
            return;
        };
        let losing = m.detail.losing.unwrap_or(donor);
        let effective = m.detail.effective.unwrap_or(now);
        for n in &m.numbers {
            if !self.keep_publications && !self.tracks(*n) {
                continue;
            }
            self.publications.push(Publication {
                at: now,
                donor,
                file_seq: m.detail.file_seq.unwrap_or(1),
                number: *n,
                current,
                losing,
                status,
                category: m.category.unwrap_or(Category::A),
                port_ref,
                effective,
                initial: false,
            });
            if !self.tracks(*n) {
                continue;
            }
            let target = match status {
                PortStatus::C => (current != donor).then_some(current),
                // The port is cancelled: the number routes as before it, to the carrier it was
                // ported from (none when that is the donor).
                PortStatus::R | PortStatus::N => (losing != donor).then_some(losing),
                PortStatus::P => continue,
            };
            // Other carriers load it at their reading time.
            let mut by_time: BTreeMap<Timestamp, Vec<CarrierCode>> = BTreeMap::new();
            for seat in &self.seats.seats {
                let (code, reads) = (seat.carrier.code(), &seat.reads_plnr);
                if code == donor {
                    continue;
                }
                if let ReadsPlnr::NextBusinessDay { hour, minute } = reads {
                    let day = self.calendar.next_business_day(now.sydney_date());
                    let time = chrono::NaiveTime::from_hms_opt(*hour, *minute, 0).unwrap_or(chrono::NaiveTime::MIN);
                    by_time
                        .entry(Timestamp::from_sydney_local(day.and_time(time)))
                        .or_default()
                        .push(code);
                }
            }
            for (at, readers) in by_time {
                self.push(
                    at,
                    EventKind::PlnrLoad {
                        readers,
                        number: *n,
                        target,
                    },
                );
            }
        }
    }

    // ----- driving from outside ----------------------------------------------------------

    fn check_running(&self) -> Result<(), StepError> {
        if self.stats.stopped_by_event_bound {
            return Err(StepError::Stopped(self.stats.events));
        }
        Ok(())
    }

    /// An external carrier of this market, or why `code` is not one.
    fn external_carrier(&self, code: CarrierCode) -> Result<(), StepError> {
        match self.seats.get(code) {
            None => Err(StepError::UnknownCarrier(code)),
            Some(s) if !s.external => Err(StepError::NotExternal(code)),
            Some(_) => Ok(()),
        }
    }

    /// Marks a carrier of the market external (as [`RunOptions::external`] does), before the
    /// simulation starts: before any event is processed and anything is delivered.
    pub fn set_external(&mut self, code: CarrierCode) -> Result<(), StepError> {
        if !self.seats.contains(code) {
            return Err(StepError::UnknownCarrier(code));
        }
        if self.stats.events > 0 || self.trace_seq > 0 {
            return Err(StepError::AlreadyStarted);
        }
        if let Some(s) = self.seats.get_mut(code) {
            s.external = true;
        }
        Ok(())
    }

    pub fn is_external(&self, code: CarrierCode) -> bool {
        self.seats.is_external(code)
    }

    /// Sends a message from an external carrier (`envelope.from`) at the current virtual time,
    /// exactly as one of the simulator's carriers sends one: it is written to the trace as the
    /// next record (time = now) and queued for delivery now, with the receiver's processing time
    /// drawn from the seeded generator. The receiver handles it when the clock is next advanced
    /// (`advance_to(now)` suffices). Returns the record's `seq`.
    ///
    /// Refused: a sender or receiver not in the market, a sender that is not external, an action
    /// kind (use [`Sim::act`]), or a simulation the event bound has stopped.
    pub fn deliver(&mut self, envelope: Envelope, sink: &mut dyn TraceSink) -> Result<u64, StepError> {
        self.check_running()?;
        self.external_carrier(envelope.from)?;
        if !self.seats.contains(envelope.to) {
            return Err(StepError::UnknownCarrier(envelope.to));
        }
        if envelope.message.kind.is_action() {
            return Err(StepError::IsAnAction(envelope.message.kind));
        }
        self.output(envelope.from, Output::Send(Box::new(envelope)), sink);
        Ok(self.trace_seq)
    }

    /// Takes an action (`CUTOVER`, `DTR_START`, `DTR_STOP`, `PLNR_PUBLISH`, `GIVE_BACK`) for an
    /// external carrier `by` at the current virtual time: written to the trace (`to` empty) and
    /// booked in the routing history and registers as the simulator's own carriers' actions are.
    /// Returns the record's `seq`. Refused as [`Sim::deliver`] is, and for a message kind.
    pub fn act(&mut self, by: CarrierCode, message: Message, sink: &mut dyn TraceSink) -> Result<u64, StepError> {
        self.check_running()?;
        self.external_carrier(by)?;
        if !message.kind.is_action() {
            return Err(StepError::NotAnAction(message.kind));
        }
        self.output(by, Output::action(message), sink);
        Ok(self.trace_seq)
    }

    /// Everything handed out for external carriers since the last call, in order.
    pub fn take_outbox(&mut self) -> Vec<ExternalEvent> {
        std::mem::take(&mut self.outbox)
    }

    /// What was handed out for one external carrier since it was last taken, in order; what is
    /// there for other carriers stays.
    pub fn take_outbox_for(&mut self, code: CarrierCode) -> Vec<ExternalEvent> {
        let (mine, rest) = std::mem::take(&mut self.outbox)
            .into_iter()
            .partition(|e| e.carrier() == code);
        self.outbox = rest;
        mine
    }

    // ----- results -----------------------------------------------------------------------

    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Where the story ends (the scenario's `until`, or [`RunOptions::stop_at`] when earlier).
    pub fn until(&self) -> Option<Timestamp> {
        self.until
    }

    pub fn stats(&self) -> &RunStats {
        &self.stats
    }

    pub fn routing(&self) -> &RoutingHistory {
        &self.routing
    }

    /// Breaches the simulator saw that a trace cannot show (`QUARANTINE`).
    pub fn findings(&self) -> &[SimFinding] {
        &self.findings
    }

    pub fn publications(&self) -> &[Publication] {
        &self.publications
    }

    /// The gaining carrier's view of a port named in the scenario. A port split by losing
    /// carrier has its parts' outcome when they all agree, else `partial`.
    pub fn port_outcome(&self, port_ref: &PortRef) -> Option<(&'static str, String)> {
        if let Some(parts) = self.parts.get(port_ref) {
            let outcomes: Vec<(PortRef, &'static str, String)> = parts
                .iter()
                .map(|r| {
                    let (o, st) = self
                        .port_outcome(r)
                        .unwrap_or(("pending", "not submitted before the end".to_string()));
                    (*r, o, st)
                })
                .collect();
            let first = outcomes.first().map_or("pending", |o| o.1);
            let outcome = if outcomes.iter().all(|o| o.1 == first) {
                first
            } else {
                "partial"
            };
            let stage = outcomes
                .iter()
                .map(|(r, _, st)| format!("{r}: {st}"))
                .collect::<Vec<_>>()
                .join("; ");
            return Some((outcome, stage));
        }
        let g = self.ports.get(port_ref)?.gaining?;
        let state = self.seats.get(g)?.carrier.gaining_state(port_ref)?;
        Some((state.outcome().as_str(), state.stage()))
    }

    /// The ports named in the scenario, with their times, in reference order.
    pub fn port_summaries(&self) -> Vec<(PortRef, &PortTimes, &'static str, String)> {
        self.summarised
            .iter()
            .filter_map(|r| {
                let t = self.ports.get(r)?;
                let (outcome, stage) = self
                    .port_outcome(r)
                    .unwrap_or(("pending", "not submitted before the end".to_string()));
                Some((*r, t, outcome, stage))
            })
            .collect()
    }

    /// Outcome counts over every port, generated ones included.
    pub fn outcome_counts(&self) -> BTreeMap<Outcome, u64> {
        let mut counts: BTreeMap<Outcome, u64> = BTreeMap::new();
        for s in &self.seats.seats {
            for (outcome, n) in s.carrier.outcome_counts() {
                *counts.entry(outcome).or_insert(0) += n;
            }
        }
        counts
    }

    /// The donor's register at `at`: every number ported out of its ranges and not back, with
    /// the latest published record.
    pub fn register_at(&self, donor: CarrierCode, at: Timestamp) -> BTreeMap<TelephoneNumber, &Publication> {
        register_of(self.publications.iter().filter(|p| p.donor == donor && p.at <= at))
    }

    /// Messages carriers received that no state expected (the first [`UNEXPECTED_KEPT`]),
    /// with when they arrived.
    pub fn unexpected(&self) -> &[(Timestamp, Unexpected)] {
        &self.unexpected
    }
}

#[cfg(test)]
mod processing_tests {
    use super::processing_time;

    #[test]
    fn a_processing_time_lies_between_a_fifth_of_answers_within_and_all_of_it() {
        for within in [0, 1, 999, 1000, 1999, 2000, 60_000, 300_000, 3_600_000] {
            let mut seen = std::collections::BTreeSet::new();
            for draw in 0..5_000u64 {
                let t = processing_time(within, draw.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                assert!(t >= within / 5 && t <= within, "{within} ms gave {t} ms");
                assert_eq!((t - within / 5) % 1000, 0, "whole seconds above the fifth");
                seen.insert(t);
            }
            let most = seen.last().copied().unwrap_or_default();
            assert!(
                most > within - 1000,
                "{within} ms: within a second of all of it, got {most}"
            );
        }
        assert_eq!(processing_time(0, u64::MAX), 0, "0m answers at once");
        assert_eq!(processing_time(1000, 7), 200);
    }
}
