//! Driving the engine from outside: `step` and `advance_to` play a story exactly as `run` does.

use std::path::{Path, PathBuf};

use lnp_model::{BusinessCalendar, PortRef, Rulebook, TraceRecord};
use lnp_sim::{RunOptions, Scenario, Sim, StepError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scenario with the rulebook and calendar it names (as `lnpsim run` loads them).
fn load_text(text: &str, dir: &Path) -> (Scenario, Rulebook, BusinessCalendar) {
    let scenario = Scenario::from_toml(text, Some(dir)).expect("a valid scenario");
    let rulebook = scenario.rulebook.as_ref().map_or_else(Rulebook::default, |p| {
        Rulebook::from_toml(&std::fs::read_to_string(p).expect("rulebook")).expect("a valid rulebook")
    });
    let mut calendar = rulebook.calendar();
    if let Some(p) = &scenario.holidays {
        calendar
            .load_holidays_csv(&std::fs::read_to_string(p).expect("holidays"))
            .expect("a valid holidays file");
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
