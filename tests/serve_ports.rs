//! `lnpsim serve` end to end: an outside system plays a carrier through whole ports over HTTP,
//! and the trace is the one `lnpsim run` writes with that carrier simulated; the live audit is
//! `lnpsim audit --until` of the trace at every instant.
//!
//! How traces are compared: the outside client here sends what the simulator's own carrier
//! would send, at the instants it can know (a submission at its time, an ECA at the preferred
//! cutover, a CNA as the PNV is answered, a CCA a business day after the confirmation). Where
//! the simulated carrier's instant comes from the seeded processing time of its own porting
//! system (how long it takes to answer), the client picks its own, so times and the details
//! that carry them may differ; the rows must be the same rows in the same order: the same
//! `msg`, `from`, `to`, `ref`, `category`, `numbers` and `code`, row by row.

#[path = "serve-support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use support::{action, audit_until, gist, msg, rows, run_trace, start, token, tokens_file, Server, ADMIN};

fn gists(rows: &[Value]) -> Vec<String> {
    rows.iter().map(gist).collect()
}

fn assert_same_rows(served: &[Value], run: &[Value]) {
    let (a, b) = (gists(served), gists(run));
    assert_eq!(a, b, "served:\n{}\nrun:\n{}", a.join("\n"), b.join("\n"));
    for (i, r) in served.iter().enumerate() {
        assert_eq!(r["seq"].as_u64(), Some(i as u64 + 1), "seq of row {i}");
    }
}

fn serve(scenario: &str, external: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = tokens_file(dir.path(), external, "");
    let mut args = vec![scenario.to_string(), "--tokens".into(), tokens.display().to_string()];
    for e in external {
        args.push("--external".into());
        args.push((*e).to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (dir, start(&args))
}

fn numbers(v: &Value) -> Vec<String> {
    v["numbers"]
        .as_array()
        .expect("numbers")
        .iter()
        .map(|n| n.as_str().expect("a number").to_string())
        .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn audit_is_clean(s: &Server, scenario: &str) {
    let (trace, now) = s.trace();
    let report = audit_until(&trace, scenario, &now);
    assert_eq!(report["findings"], json!([]), "{report:#}");
    let live = s.get("/v1/findings", ADMIN).body;
    assert_eq!(live, report, "the live audit differs from lnpsim audit --until {now}");
}

#[test]
fn an_outside_gaining_carrier_completes_a_cat_a_port() {
    let scenario = "scenarios/serve/cat-a.toml";
    let (_dir, s) = serve(scenario, &["9002"]);
    let task = s.step_until_task("9002");
    assert_eq!(
        (task["task"].as_str(), task["ref"].as_str()),
        (Some("submit"), Some("P1"))
    );
    assert_eq!(s.now(), task["at"].as_str().expect("at"));
    let nums = numbers(&task);
    let mut sna = msg("SNA", "9002", "9001", "P1", "A", &strs(&nums));
    sna["detail"] = json!({
        "account": task["account"], "ca_date": task["ca_date"],
        "customer": task["customer"], "cutover": task["cutover"],
    });
    assert_eq!(s.send("9002", &sna), 1);
    s.step_until("9002", "SNA_CONFIRM", 1);
    // The ECA at the customer's preferred cutover (inside Standard Hours).
    s.advance_to(task["cutover"].as_str().expect("cutover"));
    s.send("9002", &msg("ECA", "9002", "9001", "P1", "A", &strs(&nums)));
    s.step_until("9002", "COMPLETION", 1);
    s.finish();
    let (trace, _) = s.trace();
    let served = rows(&trace);
    assert_same_rows(&served, &run_trace(scenario));
    // The client sent at the instants the simulated Bravo sends, so the rows are the same to
    // the millisecond too.
    assert_eq!(served, run_trace(scenario));
    audit_is_clean(&s, scenario);
}

#[test]
fn an_outside_gaining_carrier_completes_a_cat_c_port_with_pnv_cna_and_cca() {
    let scenario = "scenarios/serve/cat-c.toml";
    let (_dir, s) = serve(scenario, &["9002"]);
    let task = s.step_until_task("9002");
    assert_eq!(task["pnv"], json!(true));
    let nums = numbers(&task);
    let who = json!({"account": task["account"], "ca_date": task["ca_date"], "customer": task["customer"]});
    let mut pnv = msg("PNV", "9002", "9001", "P2", "C", &strs(&nums));
    pnv["detail"] = who.clone();
    s.send("9002", &pnv);
    let answer = s.step_until("9002", "PNV_RESPONSE", 1);
    assert!(answer["code"].as_str().expect("code").contains(":P"), "{answer}");
    let mut cna = msg("CNA", "9002", "9001", "P2", "C", &strs(&nums));
    cna["detail"] = who;
    cna["detail"]["cutover"] = task["cutover"].clone();
    cna["detail"]["pm"] = json!("Bravo Networks porting PM");
    let cna_seq = s.send("9002", &cna);
    s.step_until("9002", "CNA_CONFIRM", cna_seq);
    // The CCA a business day after the confirmation.
    s.advance(&json!({"by": "1bd"}));
    let mut cca = msg("CCA", "9002", "9001", "P2", "C", &strs(&nums));
    cca["detail"] = json!({"cutover": task["cutover"]});
    let cca_seq = s.send("9002", &cca);
    s.step_until("9002", "CCA_CONFIRM", cca_seq);
    s.finish();
    let (trace, _) = s.trace();
    let served = rows(&trace);
    assert_same_rows(&served, &run_trace(scenario));
    assert_eq!(served, run_trace(scenario));
    audit_is_clean(&s, scenario);
}

/// Plays Alpha, the losing carrier and donor, through Bravo's Cat A port: answers the SNA
/// (`sna_after`) and the ECA (`eca_after`, an elapsed span), cuts over, completes, runs transit
/// routing, publishes its register and stops transit routing, as a compliant Alpha does. Calls
/// `at_eca` once the ECA is in, before answering it.
fn play_losing(s: &Server, sna_after: &str, eca_after: &str, mut at_eca: impl FnMut(&Server, u64)) {
    let sna = s.step_until("9001", "SNA", 0);
    let sna_seq = sna["seq"].as_u64().expect("seq");
    let nums = numbers(&sna);
    let n = strs(&nums);
    s.advance(&json!({ "by": sna_after }));
    s.send("9001", &msg("SNA_CONFIRM", "9001", "9002", "P1", "A", &n));
    let pending = BTreeMap::from([
        ("status", "P"),
        ("current", "9002"),
        ("losing", "9001"),
        ("file_seq", "1"),
    ]);
    s.send("9001", &action("PLNR_PUBLISH", "9001", "P1", "A", &n, &pending));
    let eca = s.step_until("9001", "ECA", sna_seq);
    let eca_seq = eca["seq"].as_u64().expect("seq");
    at_eca(s, eca_seq);
    s.advance(&json!({ "by": eca_after }));
    let cutover_at = s.now();
    s.send("9001", &msg("ECA_CONFIRM", "9001", "9002", "P1", "A", &n));
    let current = BTreeMap::from([("current", "9002")]);
    s.send("9001", &action("CUTOVER", "9001", "P1", "A", &n, &current));
    s.send("9001", &action("DTR_START", "9001", "P1", "A", &n, &current));
    s.send("9001", &msg("COMPLETION", "9001", "9002", "P1", "A", &n));
    // The completed record once the 4-hour reversal window has closed.
    s.advance(&json!({"by": "4h"}));
    let done = BTreeMap::from([
        ("status", "C"),
        ("current", "9002"),
        ("losing", "9001"),
        ("file_seq", "2"),
        ("effective", cutover_at.as_str()),
    ]);
    s.send("9001", &action("PLNR_PUBLISH", "9001", "P1", "A", &n, &done));
    // Transit routing for (at least) 5 business days from the cutover.
    s.advance(&json!({"by": "5bd"}));
    s.send("9001", &action("DTR_STOP", "9001", "P1", "A", &n, &current));
}

#[test]
fn an_outside_losing_carrier_answers_an_sna_and_completes_the_port() {
    let scenario = "scenarios/serve/cat-a.toml";
    let (_dir, s) = serve(scenario, &["9001"]);
    play_losing(&s, "3m", "5m", |_, _| {});
    s.finish();
    let (trace, _) = s.trace();
    assert_same_rows(&rows(&trace), &run_trace(scenario));
    audit_is_clean(&s, scenario);
}

/// Reads an SSE stream into (event, id, data) triples.
fn sse_reader(s: &Server, tok: &str) -> mpsc::Receiver<(String, String, String)> {
    let resp = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .expect("client")
        .get(format!("{}/v1/events", s.url))
        .bearer_auth(tok)
        .send()
        .expect("open the event stream");
    assert_eq!(resp.status().as_u16(), 200);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut event = String::new();
        let mut id = String::new();
        for line in BufReader::new(resp).lines() {
            let Ok(line) = line else { return };
            if let Some(v) = line.strip_prefix("event: ").or_else(|| line.strip_prefix("event:")) {
                event = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("id: ").or_else(|| line.strip_prefix("id:")) {
                id = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data: ").or_else(|| line.strip_prefix("data:")) {
                if tx.send((event.clone(), id.clone(), v.to_string())).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

fn rules(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule").to_string())
        .collect()
}

#[test]
fn an_eca_answered_20_minutes_late_is_a_live_finding_as_soon_as_its_deadline_passes() {
    let scenario = "scenarios/serve/cat-a.toml";
    let (_dir, s) = serve(scenario, &["9001"]);
    let events = sse_reader(&s, &token("9001"));
    let mut checked = Vec::new();
    // The ECA comes at 10:00; the callback looks at 10:15 and 10:15:01, and the answer follows
    // 299 seconds later: at 10:20, 20 minutes after the ECA.
    play_losing(&s, "3m", "299s", |s, eca_seq| {
        let eca_at = s.now();
        assert!(eca_at.starts_with("2026-03-09T10:00:00"), "{eca_at}");
        // The deadline is inclusive: at 10:15 nothing is due yet.
        s.advance(&json!({"by": "15m"}));
        assert!(rules(&s.get("/v1/findings", &token("9001")).body).is_empty());
        let (trace, now) = s.trace();
        assert_eq!(s.get("/v1/findings", ADMIN).body, audit_until(&trace, scenario, &now));
        // One second later it is.
        s.advance(&json!({"by": "1s"}));
        let live = s.get("/v1/findings", &token("9001")).body;
        assert_eq!(rules(&live), ["ECA-RESPONSE"], "{live:#}");
        assert_eq!(live["findings"][0]["seq"], json!([eca_seq]));
        let (trace, now) = s.trace();
        assert_eq!(s.get("/v1/findings", ADMIN).body, audit_until(&trace, scenario, &now));
        // And on the event stream, after the ECA row.
        let finding = loop {
            let (event, id, data) = events.recv_timeout(Duration::from_secs(60)).expect("an SSE event");
            if event == "finding" {
                break (id, data);
            }
        };
        let f: Value = serde_json::from_str(&finding.1).expect("finding JSON");
        assert_eq!(f["rule"], "ECA-RESPONSE", "{f}");
        assert_eq!(finding.0, eca_seq.to_string());
        // Back to 10:00 is refused; the rest of the answer comes at 10:20.
        let back = s.post("/v1/clock/advance", ADMIN, &json!({"to": eca_at}));
        assert_eq!(back.status, 400, "{}", back.text);
        checked.push(eca_seq);
    });
    assert_eq!(checked.len(), 1);
    s.finish();
    let (trace, now) = s.trace();
    let report = audit_until(&trace, scenario, &now);
    assert_eq!(rules(&report), ["ECA-RESPONSE"], "{report:#}");
    let message = report["findings"][0]["message"].as_str().expect("message");
    assert!(message.contains("answered 20 minutes later"), "{message}");
    assert_eq!(s.get("/v1/findings", ADMIN).body, report);
    assert_eq!(
        s.get("/v1/findings", &token("9001")).body["findings"],
        report["findings"]
    );
}

/// A small deterministic generator for random steps.
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

#[test]
fn for_random_stories_the_live_findings_at_t_are_lnpsim_audit_until_t_of_the_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut compared = 0;
    let mut with_findings = 0;
    let picks = [
        "cat-a-late-answer.toml",
        "cna-response-late.toml",
        "completion-never-sent.toml",
        "dtr-stopped-early.toml",
        "plnr-published-late.toml",
        "pnv-response-late.toml",
        "losing-carrier-goes-quiet.toml",
        "cca-response-late.toml",
    ];
    for (i, name) in picks.iter().enumerate() {
        let text = std::fs::read_to_string(support::root().join("scenarios").join(name)).expect("scenario");
        if text.contains("\nrulebook") || text.contains("\nholidays") {
            continue;
        }
        // An outside carrier that takes no part: the story plays as `lnpsim run` plays it.
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!("{text}\n[[carriers]]\ncode = \"9099\"\nname = \"Outside\"\nranges = []\n"),
        )
        .expect("write");
        let path = path.display().to_string();
        let (_d, s) = serve(&path, &["9099"]);
        let mut rng = Lcg(1000 + i as u64);
        for _ in 0..8 {
            match rng.next() % 3 {
                0 => {
                    if !s.step() {
                        break;
                    }
                }
                1 => {
                    s.advance(&json!({"by": format!("{}m", 1 + rng.next() % 240)}));
                }
                _ => {
                    s.advance(&json!({"by": format!("{}bd", 1 + rng.next() % 3)}));
                }
            }
            let (trace, now) = s.trace();
            if trace.is_empty() {
                continue;
            }
            let live = s.get("/v1/findings", ADMIN).body;
            let audit = audit_until(&trace, &path, &now);
            assert_eq!(live, audit, "{name} at {now}");
            compared += 1;
            with_findings += usize::from(!rules(&live).is_empty());
        }
    }
    assert!(compared >= 30, "only {compared} instants compared");
    assert!(with_findings >= 5, "only {with_findings} instants had findings");
}
