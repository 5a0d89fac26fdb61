//! Driving the engine from outside: `step` and `advance_to` play a story exactly as `run` does,
//! and an external carrier's part is handed out and played through `deliver` and `act`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lnp_actors::Command;
use lnp_model::{
    BusinessCalendar, CarrierCode, Detail, Envelope, Message, MsgKind, PortRef, RuleId, Rulebook, TraceRecord,
};
use lnp_sim::{ExternalEvent, RunOptions, Scenario, Sim, StepError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn code(s: &str) -> CarrierCode {
    s.parse().expect("a carrier code")
}

/// A scenario with the rulebook and calendar it names (as `lnpsim run` loads them).
fn load_text(text: &str, dir: &Path) -> (Scenario, Rulebook, BusinessCalendar) {
    let scenario = Scenario::from_toml(text, Some(dir)).expect("a valid scenario");
    let rulebook = scenario.rulebook.as_ref().map_or_else(Rulebook::default, |p| {
        Rulebook::from_toml(&std::fs::read_to_string(p).expect("rulebook")).expect("a valid rulebook")
    });
    let mut calendar = rulebook.calendar();
    for source in &scenario.holidays {
        match source {
            lnp_sim::HolidaySource::State(s) => calendar.add_state(*s),
            lnp_sim::HolidaySource::File(p) => {
                calendar
                    .load_holidays_csv(&std::fs::read_to_string(p).expect("holidays"))
                    .expect("a valid holidays file");
            }
        }
    }
    (scenario, rulebook, calendar)
}

fn load(rel: &str) -> (Scenario, Rulebook, BusinessCalendar) {
    let path = root().join(rel);
    let text = std::fs::read_to_string(&path).expect("scenario file");
    load_text(&text, path.parent().expect("a directory"))
}

// ----- (a) run and stepping give the same story ----------------------------------------------

/// A small deterministic generator for irregular steps.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

struct Played {
    trace: Vec<TraceRecord>,
    events: u64,
    records: u64,
    ports: u64,
    bound: bool,
    end: lnp_model::Timestamp,
    outcomes: Vec<(PortRef, &'static str, String)>,
    publications: usize,
}

fn played(sim: &Sim, trace: Vec<TraceRecord>) -> Played {
    let s = sim.stats();
    Played {
        trace,
        events: s.events,
        records: s.records,
        ports: s.ports_submitted,
        bound: s.stopped_by_event_bound,
        end: s.end,
        outcomes: sim
            .port_summaries()
            .into_iter()
            .map(|(r, _, outcome, stage)| (r, outcome, stage))
            .collect(),
        publications: sim.publications().len(),
    }
}

fn by_run(s: &Scenario, rb: &Rulebook, cal: &BusinessCalendar, options: RunOptions) -> Played {
    let mut sim = Sim::new(s, rb, cal, options).expect("set up");
    let mut trace = Vec::new();
    sim.run(&mut trace);
    played(&sim, trace)
}

/// Plays the story with a mix of single steps, jumps to the next event, short and long
/// advances (landing between events, on them, and past many at once) and zero advances.
fn by_steps(s: &Scenario, rb: &Rulebook, cal: &BusinessCalendar, options: RunOptions, seed: u64) -> Played {
    let mut sim = Sim::new(s, rb, cal, options).expect("set up");
    let mut trace = Vec::new();
    let mut rng = Lcg(seed);
    while let Some(next) = sim.next_event_at() {
        let now = sim.now();
        let r = rng.next();
        let result = match r % 5 {
            0 => {
                sim.step(&mut trace);
                Ok(1)
            }
            1 => sim.advance_to(next, &mut trace),
            2 => sim.advance_to(now.plus_millis(((r >> 3) % 5_400_000) as i64), &mut trace),
            3 => sim.advance_to(now.plus_millis(((r >> 3) % 259_200_000) as i64), &mut trace),
            _ => sim.advance_to(now, &mut trace),
        };
        match result {
            Ok(_) => {}
            Err(StepError::Stopped(_)) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(sim.now() >= now, "the clock went back");
    }
    // `run` ends with the clock at `until` when nothing is left before it.
    if let Some(u) = sim.until() {
        if !sim.stats().stopped_by_event_bound {
            sim.advance_to(u, &mut trace).expect("advance to until");
            assert_eq!(sim.now(), u);
        }
    }
    assert!(sim.take_outbox().is_empty(), "no carrier is external");
    played(&sim, trace)
}

fn assert_same(name: &str, a: &Played, b: &Played) {
    assert_eq!(a.trace.len(), b.trace.len(), "{name}: trace lengths differ");
    if let Some(i) = (0..a.trace.len()).find(|i| a.trace[*i] != b.trace[*i]) {
        panic!(
            "{name}: traces differ at record {}:\n run: {:?}\nstep: {:?}",
            i + 1,
            a.trace[i],
            b.trace[i]
        );
    }
    assert_eq!(
        (a.events, a.records, a.ports, a.bound),
        (b.events, b.records, b.ports, b.bound),
        "{name}: stats (events, records, ports, bound) differ"
    );
    // `run` ends at the last event (or `until`); a caller's clock is where it last advanced to.
    if !a.bound {
        assert!(b.end >= a.end, "{name}: stepping ended at {}, before {}", b.end, a.end);
    }
    assert_eq!(a.outcomes, b.outcomes, "{name}: port outcomes differ");
    assert_eq!(a.publications, b.publications, "{name}: publications differ");
}

fn bundled() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_bundled_scenario_steps_to_the_trace_run_gives() {
    let all = bundled();
    assert!(all.len() >= 10, "expected the bundled scenarios, found {}", all.len());
    let mut records = 0;
    for (i, path) in all.iter().enumerate() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let (s, rb, cal) = load(&format!("scenarios/{name}"));
        let a = by_run(&s, &rb, &cal, RunOptions::default());
        records += a.trace.len();
        for seed in [1, 2] {
            let b = by_steps(&s, &rb, &cal, RunOptions::default(), seed * 1000 + i as u64);
            assert_same(name, &a, &b);
        }
    }
    assert!(records > 500, "only {records} records in all");
}

/// The benchmark markets, cut down to a few thousand generated ports (Cat A, and the mixed one
/// with Cat C batches).
#[test]
fn generated_load_steps_to_the_trace_run_gives() {
    for (file, ports) in [("market-100k.toml", 3000), ("market-1m-mixed.toml", 1500)] {
        let path = root().join("scenarios/bench").join(file);
        let text = std::fs::read_to_string(&path).expect("bench scenario");
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("ports ="))
            .expect("a [load] ports line")
            .to_string();
        let text = text.replacen(&line, &format!("ports = {ports}"), 1);
        let (s, rb, cal) = load_text(&text, path.parent().expect("dir"));
        let a = by_run(&s, &rb, &cal, RunOptions::default());
        assert!(a.ports >= ports, "{file}: {} ports submitted", a.ports);
        let b = by_steps(&s, &rb, &cal, RunOptions::default(), 7);
        assert_same(file, &a, &b);
    }
}

#[test]
fn the_event_bound_and_until_stop_stepping_where_they_stop_run() {
    // The bound: a run stops part way, at the same event, however it is driven; the last bound
    // refuses only the last event.
    for name in [
        "cat-a-happy-path.toml",
        "cat-c-happy-path.toml",
        "losing-carrier-goes-quiet.toml",
    ] {
        let (s, rb, cal) = load(&format!("scenarios/{name}"));
        let all = by_run(&s, &rb, &cal, RunOptions::default()).events;
        let mut bounds = vec![1, 5, all / 2, all - 1];
        bounds.retain(|b| (1..all).contains(b));
        bounds.sort_unstable();
        bounds.dedup();
        assert!(bounds.len() >= 2, "{name}: {all} events");
        for max_events in bounds {
            let options = RunOptions {
                max_events,
                ..RunOptions::default()
            };
            let a = by_run(&s, &rb, &cal, options.clone());
            assert!(a.bound, "{name}: the bound of {max_events} should stop the run");
            assert_eq!(a.events, max_events);
            let b = by_steps(&s, &rb, &cal, options, max_events);
            assert_same(name, &a, &b);
        }
    }
    // `until`: the clock stops there however far the caller asks to go.
    let (s, rb, cal) = load("scenarios/losing-carrier-goes-quiet.toml");
    let until = s.until.expect("the scenario has an until");
    let mut sim = Sim::new(&s, &rb, &cal, RunOptions::default()).expect("set up");
    let mut trace = Vec::new();
    sim.advance_to(until.plus_millis(86_400_000 * 365), &mut trace)
        .expect("advance");
    assert_eq!(sim.now(), until);
    assert_eq!(sim.next_event_at(), None);
    assert_eq!(sim.step(&mut trace), None);
    let a = by_run(&s, &rb, &cal, RunOptions::default());
    assert_eq!(trace, a.trace);
}

// ----- external carriers -------------------------------------------------------------------

/// Advances event by event until `want` holds of something handed out, and returns everything
/// handed out on the way, in order.
fn advance_until(
    sim: &mut Sim,
    trace: &mut Vec<TraceRecord>,
    want: impl Fn(&ExternalEvent) -> bool,
) -> Vec<ExternalEvent> {
    let mut got = Vec::new();
    loop {
        got.extend(sim.take_outbox());
        if got.iter().any(&want) {
            return got;
        }
        let Some(next) = sim.next_event_at() else {
            panic!("the story ended without what was waited for; handed out: {got:#?}");
        };
        sim.advance_to(next, trace).expect("advance");
    }
}

fn is_msg(kind: MsgKind) -> impl Fn(&ExternalEvent) -> bool {
    move |e| matches!(e, ExternalEvent::Message { envelope, .. } if envelope.message.kind == kind)
}

fn message_of(events: &[ExternalEvent], kind: MsgKind) -> (lnp_model::Timestamp, u64, Envelope) {
    events
        .iter()
        .find_map(|e| match e {
            ExternalEvent::Message { at, seq, envelope } if envelope.message.kind == kind => {
                Some((*at, *seq, envelope.clone()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {kind} handed out"))
}

/// Plays the rest of the story.
fn finish(sim: &mut Sim, trace: &mut Vec<TraceRecord>) -> Vec<ExternalEvent> {
    let mut got = Vec::new();
    while let Some(next) = sim.next_event_at() {
        sim.advance_to(next, trace).expect("advance");
        got.extend(sim.take_outbox());
    }
    got
}

fn audit(s: &Scenario, rb: &Rulebook, cal: &BusinessCalendar, trace: &[TraceRecord]) -> lnp_audit::Report {
    let context = lnp_sim::context::audit_context(s);
    lnp_audit::audit_rows(trace.iter().cloned().map(Ok), rb, cal, Some(&context))
}

fn findings_text(report: &lnp_audit::Report) -> String {
    report
        .findings
        .iter()
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A reply to `req` as carriers build one: same ref, category and numbers.
fn reply(kind: MsgKind, req: &Message) -> Message {
    let mut m = Message::new(kind, req.port_ref.expect("a ref"));
    m.category = req.category;
    m.numbers = lnp_model::Numbers::from_slice(&req.numbers);
    m
}

fn external(codes: &[&str]) -> RunOptions {
    RunOptions {
        external: codes.iter().map(|c| code(c)).collect(),
        ..RunOptions::default()
    }
}

#[test]
fn an_external_gaining_carrier_plays_a_cat_a_port_and_the_audit_finds_nothing() {
    let (s, rb, cal) = load("scenarios/cat-a-happy-path.toml");
    let (alpha, bravo) = (code("9001"), code("9002"));
    let mut sim = Sim::new(&s, &rb, &cal, external(&["9002"])).expect("set up");
    assert!(sim.is_external(bravo) && !sim.is_external(alpha));
    let mut trace = Vec::new();

    // The story asks Bravo to submit the port; nothing is in the trace yet.
    let got = advance_until(&mut sim, &mut trace, |e| {
        matches!(
            e,
            ExternalEvent::Command {
                command: Command::Submit(_),
                ..
            }
        )
    });
    let [ExternalEvent::Command {
        at,
        carrier,
        command: Command::Submit(req),
    }] = got.as_slice()
    else {
        panic!("expected only the submit command, got {got:#?}");
    };
    assert_eq!(
        (*carrier, *at),
        (bravo, "2026-03-02T09:00:00+11:00".parse().expect("time"))
    );
    assert_eq!(sim.now(), *at);
    assert!(trace.is_empty(), "a command is not a message: {trace:?}");
    assert_eq!(req.losing, alpha);

    // Bravo sends the SNA, as its actor would have.
    let mut sna = Message::new(MsgKind::Sna, req.port_ref);
    sna.category = Some(req.category);
    sna.numbers = lnp_model::Numbers::from_slice(&req.numbers);
    sna.detail = Detail::default();
    sna.detail.ca_date = Some(req.ca_date);
    sna.detail.cutover = Some(req.cutover);
    sna.detail.set_account(Some(req.account.clone()));
    let seq = sim
        .deliver(
            Envelope {
                from: bravo,
                to: alpha,
                message: sna.clone(),
            },
            &mut trace,
        )
        .expect("deliver the SNA");
    assert_eq!(seq, 1);
    let rec = trace.last().expect("the SNA is in the trace");
    assert_eq!(
        (rec.seq, rec.time, rec.from, rec.to, &rec.message),
        (1, *at, bravo, Some(alpha), &sna)
    );

    // Alpha confirms it; the confirmation is handed out as it is sent.
    let got = advance_until(&mut sim, &mut trace, is_msg(MsgKind::SnaConfirm));
    let (confirmed_at, seq, env) = message_of(&got, MsgKind::SnaConfirm);
    assert_eq!(
        (env.from, env.to, env.message.port_ref),
        (alpha, bravo, Some(req.port_ref))
    );
    let rec = trace
        .iter()
        .find(|r| r.seq == seq)
        .expect("the confirmation is in the trace");
    assert_eq!(
        (rec.time, rec.kind(), rec.to),
        (confirmed_at, MsgKind::SnaConfirm, Some(bravo))
    );
    assert!(confirmed_at > *at && confirmed_at <= at.plus_millis(300_000));

    // The ECA at the customer's preferred cutover, Monday 10:00, in Standard Hours.
    sim.advance_to(req.cutover, &mut trace).expect("advance to the cutover");
    assert_eq!(sim.now(), req.cutover);
    let mut eca = Message::new(MsgKind::Eca, req.port_ref);
    eca.category = Some(req.category);
    eca.numbers = lnp_model::Numbers::from_slice(&req.numbers);
    sim.deliver(
        Envelope {
            from: bravo,
            to: alpha,
            message: eca,
        },
        &mut trace,
    )
    .expect("deliver the ECA");
    let got = advance_until(&mut sim, &mut trace, is_msg(MsgKind::Completion));
    let kinds: Vec<MsgKind> = got
        .iter()
        .filter_map(|e| match e {
            ExternalEvent::Message { envelope, .. } => Some(envelope.message.kind),
            ExternalEvent::Command { .. } => None,
        })
        .collect();
    assert_eq!(kinds, [MsgKind::EcaConfirm, MsgKind::Completion]);
    let (eca_confirmed_at, _, _) = message_of(&got, MsgKind::EcaConfirm);
    assert!(eca_confirmed_at <= req.cutover.plus_millis(15 * 60_000));

    // Alpha, the donor, cuts over, runs transit routing and publishes; nothing more for Bravo.
    let rest = finish(&mut sim, &mut trace);
    assert!(rest.is_empty(), "{rest:#?}");
    let kinds: BTreeSet<MsgKind> = trace.iter().map(TraceRecord::kind).collect();
    for k in [MsgKind::Cutover, MsgKind::DtrStart, MsgKind::PlnrPublish] {
        assert!(kinds.contains(&k), "no {k} in the trace");
    }
    let n = req.numbers[0];
    let reg = sim.register_at(alpha, sim.now());
    assert_eq!(reg.get(&n).map(|p| p.current), Some(bravo));
    let after = "2026-03-09T12:00:00+11:00".parse().expect("time");
    assert_eq!(
        sim.routing().path(code("9003"), n, after).hops,
        [code("9003"), alpha, bravo]
    );

    // Rows in order, seq 1, 2, 3 ...; and the audit finds nothing.
    assert!(trace.iter().enumerate().all(|(i, r)| r.seq == i as u64 + 1));
    let report = audit(&s, &rb, &cal, &trace);
    assert!(report.findings.is_empty(), "{}", findings_text(&report));
    assert!(report.malformed_rows.is_empty());
    assert!(report
        .statistics
        .iter()
        .all(|s| s.status != lnp_audit::StatStatus::Fail));
}

#[test]
fn an_external_losing_carrier_that_answers_an_eca_late_breaks_eca_response() {
    let (s, rb, cal) = load("scenarios/cat-a-happy-path.toml");
    let (alpha, bravo, charlie) = (code("9001"), code("9002"), code("9003"));
    let mut sim = Sim::new(&s, &rb, &cal, RunOptions::default()).expect("set up");
    sim.set_external(alpha).expect("mark Alpha external");
    let mut trace = Vec::new();

    let got = advance_until(&mut sim, &mut trace, is_msg(MsgKind::Sna));
    let (sna_at, _, sna) = message_of(&got, MsgKind::Sna);
    assert_eq!((sna.from, sna.to), (bravo, alpha));
    sim.advance_to(sna_at.plus_millis(5 * 60_000), &mut trace)
        .expect("advance");
    let reply_to = |m: &Message, kind| Envelope {
        from: alpha,
        to: bravo,
        message: reply(kind, m),
    };
    sim.deliver(reply_to(&sna.message, MsgKind::SnaConfirm), &mut trace)
        .expect("confirm the SNA");

    // Bravo sends the ECA at the preferred cutover; Alpha answers 20 minutes later.
    let got = advance_until(&mut sim, &mut trace, is_msg(MsgKind::Eca));
    let (eca_at, eca_seq, eca) = message_of(&got, MsgKind::Eca);
    assert_eq!(eca_at, "2026-03-09T10:00:00+11:00".parse().expect("time"));
    let late = eca_at.plus_millis(20 * 60_000);
    sim.advance_to(late, &mut trace).expect("advance");
    let confirm_seq = sim
        .deliver(reply_to(&eca.message, MsgKind::EcaConfirm), &mut trace)
        .expect("confirm the ECA");
    // ... and cuts over, with donor transit routing, as its own actor would have.
    let mut cutover = reply(MsgKind::Cutover, &eca.message);
    cutover.detail.current = Some(bravo);
    sim.act(alpha, cutover, &mut trace).expect("cut over");
    let mut dtr = reply(MsgKind::DtrStart, &eca.message);
    dtr.detail.current = Some(bravo);
    sim.act(alpha, dtr, &mut trace).expect("start DTR");
    sim.deliver(reply_to(&eca.message, MsgKind::Completion), &mut trace)
        .expect("complete");
    let rec = trace.last().expect("records");
    assert_eq!(
        (rec.kind(), rec.time, rec.from, rec.to),
        (MsgKind::Completion, late, alpha, Some(bravo))
    );
    let act = trace
        .iter()
        .find(|r| r.kind() == MsgKind::Cutover)
        .expect("a CUTOVER row");
    assert_eq!((act.from, act.to, act.time), (alpha, None, late));
    finish(&mut sim, &mut trace);

    // The actions went through the engine's bookkeeping: Charlie's calls go by Alpha's DTR.
    let n = eca.message.numbers[0];
    let after = late.plus_millis(3_600_000);
    assert_eq!(sim.routing().path(charlie, n, after).hops, [charlie, alpha, bravo]);
    assert_eq!(sim.routing().path(alpha, n, after).hops, [alpha, bravo]);

    let report = audit(&s, &rb, &cal, &trace);
    let late_answer = report
        .findings
        .iter()
        .find(|f| f.rule == RuleId::EcaResponse)
        .unwrap_or_else(|| panic!("no ECA-RESPONSE finding:\n{}", findings_text(&report)));
    assert_eq!(late_answer.seq, [eca_seq, confirm_seq], "{}", late_answer.message);
    assert!(late_answer.message.contains("20 minutes"), "{}", late_answer.message);
    // Nothing else: the rest of Alpha's duties (stopping DTR, publishing) are not yet due when
    // the trace ends.
    assert_eq!(
        report.violated_rules(),
        [RuleId::EcaResponse],
        "{}",
        findings_text(&report)
    );
}

/// Plays the gaining side of a Cat A port for an external carrier, from its submit command to
/// the COMPLETION, answering on time.
fn play_gaining_cat_a(sim: &mut Sim, trace: &mut Vec<TraceRecord>, gaining: CarrierCode) -> PortRef {
    let got = advance_until(sim, trace, |e| {
        matches!(
            e,
            ExternalEvent::Command {
                command: Command::Submit(_),
                ..
            }
        )
    });
    let Some(ExternalEvent::Command {
        command: Command::Submit(req),
        ..
    }) = got.into_iter().find(|e| matches!(e, ExternalEvent::Command { .. }))
    else {
        unreachable!("advance_until found it")
    };
    let mut sna = Message::new(MsgKind::Sna, req.port_ref);
    sna.category = Some(req.category);
    sna.numbers = lnp_model::Numbers::from_slice(&req.numbers);
    sna.detail.ca_date = Some(req.ca_date);
    sna.detail.set_account(Some(req.account.clone()));
    let to_losing = |message| Envelope {
        from: gaining,
        to: req.losing,
        message,
    };
    sim.deliver(to_losing(sna.clone()), trace).expect("SNA");
    advance_until(sim, trace, is_msg(MsgKind::SnaConfirm));
    sim.advance_to(req.cutover, trace).expect("advance to the cutover");
    sim.deliver(to_losing(reply(MsgKind::Eca, &sna)), trace).expect("ECA");
    advance_until(sim, trace, is_msg(MsgKind::Completion));
    req.port_ref
}

#[test]
fn an_external_carrier_is_told_to_give_back_a_number_it_gained_and_does() {
    let (s, rb, cal) = load("scenarios/give-back-quarantine.toml");
    let (alpha, bravo, charlie, delta) = (code("9001"), code("9002"), code("9003"), code("9004"));
    let mut sim = Sim::new(&s, &rb, &cal, external(&["9002"])).expect("set up");
    let mut trace = Vec::new();
    let p1 = play_gaining_cat_a(&mut sim, &mut trace, bravo);
    assert_eq!(p1, "P1".parse().expect("ref"));

    // Bravo's actor never learnt it serves the number: the routing history knows.
    let got = advance_until(&mut sim, &mut trace, |e| {
        matches!(
            e,
            ExternalEvent::Command {
                command: Command::GiveBack { .. },
                ..
            }
        )
    });
    let Some(ExternalEvent::Command {
        at,
        carrier,
        command: Command::GiveBack { number, donor },
    }) = got.last().cloned()
    else {
        panic!("{got:#?}");
    };
    assert_eq!(
        (at, carrier, donor),
        (s.ports[0].give_back_at.expect("give_back_at"), bravo, alpha)
    );
    let mut give_back = Message {
        port_ref: None,
        ..Message::new(MsgKind::GiveBack, p1)
    };
    give_back.numbers = lnp_model::Numbers::from_slice(&[number]);
    give_back.detail.current = Some(donor);
    sim.act(bravo, give_back, &mut trace).expect("give back");
    finish(&mut sim, &mut trace);

    // Alpha took it back: quarantine refuses the June port, December's completes.
    let outcome = |r: &str| sim.port_outcome(&r.parse().expect("ref")).map(|o| o.0);
    assert_eq!((outcome("P2"), outcome("P3")), (Some("rejected"), Some("completed")));
    assert!(sim.findings().is_empty(), "{:?}", sim.findings());
    let may = "2026-05-05T09:00:00+10:00".parse().expect("time");
    assert_eq!(sim.routing().path(delta, number, may).hops, [delta, alpha]);
    let reg = sim.register_at(alpha, sim.now());
    assert_eq!(reg.get(&number).map(|p| p.current), Some(charlie));
    let report = audit(&s, &rb, &cal, &trace);
    assert!(report.findings.is_empty(), "{}", findings_text(&report));
}

#[test]
fn the_commands_of_the_story_for_an_external_carrier_are_handed_out_at_their_time() {
    let (s, rb, cal) = load("scenarios/cat-a-reversal.toml");
    let port = &s.ports[0];
    let mut sim = Sim::new(&s, &rb, &cal, external(&["9002"])).expect("set up");
    let mut trace = Vec::new();
    let got = finish(&mut sim, &mut trace);
    let commands: Vec<(lnp_model::Timestamp, CarrierCode, &str)> = got
        .iter()
        .map(|e| match e {
            ExternalEvent::Command { at, carrier, command } => (
                *at,
                *carrier,
                match command {
                    Command::Submit(_) => "submit",
                    Command::Return(_) => "return",
                    _ => "other",
                },
            ),
            ExternalEvent::Message { .. } => panic!("Bravo sent nothing: {e:?}"),
        })
        .collect();
    let bravo = code("9002");
    assert_eq!(
        commands,
        [
            (port.submit_at, bravo, "submit"),
            (port.return_at.expect("return_at"), bravo, "return")
        ]
    );
    assert!(trace.is_empty(), "nobody sent anything: {trace:?}");
    assert_eq!(sim.stats().ports_submitted, 1);
}

#[test]
fn outboxes_are_taken_per_carrier_in_order() {
    let (s, rb, cal) = load("scenarios/cat-a-happy-path.toml");
    let (alpha, bravo) = (code("9001"), code("9002"));
    let mut sim = Sim::new(&s, &rb, &cal, external(&["9001", "9002"])).expect("set up");
    let mut trace = Vec::new();
    let got = advance_until(&mut sim, &mut trace, |e| matches!(e, ExternalEvent::Command { .. }));
    let ExternalEvent::Command {
        command: Command::Submit(req),
        ..
    } = &got[0]
    else {
        panic!("{got:#?}");
    };
    // Bravo to Alpha, both external: handed out at once, no event in between.
    let mut sna = Message::new(MsgKind::Sna, req.port_ref);
    sna.numbers = lnp_model::Numbers::from_slice(&req.numbers);
    for _ in 0..2 {
        sim.deliver(
            Envelope {
                from: bravo,
                to: alpha,
                message: sna.clone(),
            },
            &mut trace,
        )
        .expect("deliver");
    }
    let mut withdraw = Message::new(MsgKind::Withdraw, req.port_ref);
    withdraw.numbers = lnp_model::Numbers::from_slice(&req.numbers);
    sim.deliver(
        Envelope {
            from: alpha,
            to: bravo,
            message: withdraw,
        },
        &mut trace,
    )
    .expect("deliver");
    assert!(sim.take_outbox_for(code("9003")).is_empty());
    let to_alpha = sim.take_outbox_for(alpha);
    let seqs: Vec<u64> = to_alpha
        .iter()
        .map(|e| match e {
            ExternalEvent::Message { seq, envelope, .. } => {
                assert_eq!(envelope.to, alpha);
                *seq
            }
            ExternalEvent::Command { .. } => panic!("{e:?}"),
        })
        .collect();
    assert_eq!(seqs, [1, 2]);
    let to_bravo = sim.take_outbox();
    assert_eq!(to_bravo.len(), 1);
    assert_eq!(to_bravo[0].carrier(), bravo);
    assert!(sim.take_outbox().is_empty());
}

// ----- (d) what is refused -------------------------------------------------------------------

#[test]
fn calls_from_outside_that_make_no_sense_are_refused_and_change_nothing() {
    let (s, rb, cal) = load("scenarios/cat-a-happy-path.toml");
    let (alpha, bravo, unknown) = (code("9001"), code("9002"), code("9999"));
    let mut sim = Sim::new(&s, &rb, &cal, external(&["9002"])).expect("set up");
    let mut trace = Vec::new();
    let start = sim.now();
    let port_ref: PortRef = "P1".parse().expect("ref");
    let sna = Message::new(MsgKind::Sna, port_ref);
    let env = |from, to, message: &Message| Envelope {
        from,
        to,
        message: message.clone(),
    };

    assert_eq!(
        sim.deliver(env(unknown, alpha, &sna), &mut trace),
        Err(StepError::UnknownCarrier(unknown))
    );
    assert_eq!(
        sim.deliver(env(bravo, unknown, &sna), &mut trace),
        Err(StepError::UnknownCarrier(unknown))
    );
    assert_eq!(
        sim.deliver(env(alpha, bravo, &sna), &mut trace),
        Err(StepError::NotExternal(alpha))
    );
    let cutover = Message::new(MsgKind::Cutover, port_ref);
    assert_eq!(
        sim.deliver(env(bravo, alpha, &cutover), &mut trace),
        Err(StepError::IsAnAction(MsgKind::Cutover))
    );
    assert_eq!(
        sim.act(bravo, sna.clone(), &mut trace),
        Err(StepError::NotAnAction(MsgKind::Sna))
    );
    assert_eq!(
        sim.act(alpha, cutover.clone(), &mut trace),
        Err(StepError::NotExternal(alpha))
    );
    assert_eq!(
        sim.act(unknown, cutover, &mut trace),
        Err(StepError::UnknownCarrier(unknown))
    );
    assert_eq!(sim.set_external(unknown), Err(StepError::UnknownCarrier(unknown)));
    assert!(trace.is_empty(), "a refused call wrote {trace:?}");

    // The clock does not go back.
    let later = start.plus_millis(3_600_000);
    sim.advance_to(later, &mut trace).expect("advance");
    let (len, events) = (trace.len(), sim.stats().events);
    let err = sim.advance_to(start, &mut trace).expect_err("backwards");
    assert_eq!(err, StepError::ClockBackwards { now: later, to: start });
    assert!(err.to_string().contains("does not go back"), "{err}");
    assert_eq!((sim.now(), trace.len(), sim.stats().events), (later, len, events));
    // Advancing to now is allowed and moves nothing.
    assert_eq!(sim.advance_to(later, &mut trace), Ok(0));

    // Marking a carrier external once the story has started.
    assert!(sim.stats().events > 0);
    assert_eq!(sim.set_external(alpha), Err(StepError::AlreadyStarted));

    // An external carrier that is not in the scenario.
    let err = Sim::new(&s, &rb, &cal, external(&["9999"])).err().expect("refused");
    assert!(err.0.contains("9999"), "{err}");
}

#[test]
fn a_simulation_the_event_bound_stopped_refuses_to_go_on() {
    let (s, rb, cal) = load("scenarios/cat-a-happy-path.toml");
    let (alpha, bravo) = (code("9001"), code("9002"));
    let options = RunOptions {
        max_events: 1,
        ..external(&["9001"])
    };
    let mut sim = Sim::new(&s, &rb, &cal, options).expect("set up");
    let mut trace = Vec::new();
    // The one event: Bravo submits, and its SNA to Alpha is handed out.
    let next = sim.next_event_at().expect("an event");
    assert_eq!(sim.advance_to(next, &mut trace), Ok(1));
    assert!(!sim.stats().stopped_by_event_bound);
    let got = sim.take_outbox();
    let (_, _, sna) = message_of(&got, MsgKind::Sna);
    // Bravo's deadline for the answer is still queued: the bound stops the clock before it.
    let deadline = sim.next_event_at().expect("Bravo's deadline");
    let far = deadline.plus_millis(86_400_000 * 30);
    assert_eq!(sim.advance_to(far, &mut trace), Ok(0));
    assert!(sim.stats().stopped_by_event_bound);
    assert_eq!(sim.next_event_at(), None);
    assert_eq!(sim.now(), next, "the clock stays where the bound stopped it");
    assert_eq!(sim.step(&mut trace), None);
    assert_eq!(sim.advance_to(far, &mut trace), Err(StepError::Stopped(1)));
    let answer = Envelope {
        from: alpha,
        to: bravo,
        message: reply(MsgKind::SnaConfirm, &sna.message),
    };
    let len = trace.len();
    assert_eq!(sim.deliver(answer, &mut trace), Err(StepError::Stopped(1)));
    assert_eq!(trace.len(), len);
}
