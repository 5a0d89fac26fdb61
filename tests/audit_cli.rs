//! `lnpsim audit` end to end: exit status, the JSON shape of rules.md ("Findings"), `JUnit`, the
//! scenario context, JSON Lines input, and unreadable traces.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn traces() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/traces")
}

fn lnpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .args(args)
        .current_dir(traces())
        .output()
        .expect("run lnpsim")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn clean_trace_exits_0() {
    let o = lnpsim(&["audit", "clean_cat_a.csv"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("No violations found."));
}

#[test]
fn json_output_has_the_shape_rules_md_pins() {
    let o = lnpsim(&["audit", "eca_response_late.csv", "--format", "json"]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = [
        "findings",
        "statistics",
        "not_checked",
        "not_checked_reasons",
        "malformed_rows",
        "reordered_rows",
        "not_judged",
        "summary",
    ];
    expected.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, expected);
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "ECA-RESPONSE");
    assert_eq!(f["seq"], serde_json::json!([3, 4]));
    assert_eq!(f["ref"], "SNA-000001");
    assert_eq!(f["numbers"], serde_json::json!(["0255501234"]));
    assert!(f["message"].as_str().unwrap().contains("the limit is 15 minutes"));
    assert_eq!(f.as_object().unwrap().len(), 5);
    assert_eq!(
        v["statistics"],
        serde_json::json!([{"rule": "PNV-RESPONSE", "status": "not_applicable",
                            "value": "no PNV answered or due within 5 business days"}])
    );
    assert_eq!(
        v["not_checked"],
        serde_json::json!([
            "BILATERAL",
            "CAT-A-NOT-REJECTABLE",
            "DAILY-CAP",
            "DONOR-NOTIFY",
            "QUARANTINE"
        ])
    );
    assert_eq!(v["malformed_rows"], serde_json::json!([]));
    assert_eq!(
        v["summary"],
        serde_json::json!({"rows": 6, "violations": 1, "by_rule": {"ECA-RESPONSE": 1}})
    );
}

#[test]
fn malformed_rows_are_listed_with_their_line_and_exit_1() {
    let o = lnpsim(&["audit", "malformed_row.csv", "--format", "json"]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(
        v["malformed_rows"],
        serde_json::json!([{"line": 4, "message": "time: not RFC 3339"}])
    );
    assert_eq!(v["findings"][0]["rule"], "ECA-RESPONSE");
}

#[test]
fn junit_has_one_case_per_rule() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.xml");
    let o = lnpsim(&[
        "audit",
        "eca_response_late.csv",
        "--format",
        "junit",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty());
    let xml = std::fs::read_to_string(&out).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert_eq!(xml.matches("<testcase ").count(), 29, "28 rules and the trace format");
    assert!(xml.contains("name=\"ECA-RESPONSE\">\n      <failure"));
    assert!(xml.contains("name=\"QUARANTINE\">\n      <skipped"));
    assert!(xml.contains("name=\"SNA-RESPONSE\"/>"));
    assert!(xml.contains("failures=\"1\" errors=\"0\" skipped=\"5\""));
}

#[test]
fn scenario_supplies_the_context() {
    let o = lnpsim(&[
        "audit",
        "daily_cap_exceeded.csv",
        "--scenario",
        "market.toml",
        "--format",
        "json",
    ]);
    let v = json(&o);
    assert_eq!(code(&o), 1, "{v}");
    assert_eq!(v["not_checked"], serde_json::json!(["QUARANTINE"]));
    assert_eq!(v["findings"][0]["rule"], "DAILY-CAP");
    let bare = lnpsim(&["audit", "daily_cap_exceeded.csv"]);
    assert_eq!(code(&bare), 0);
}

#[test]
fn jsonl_traces_are_read_too() {
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read(traces().join("eca_response_late.csv")).unwrap();
    let (records, bad) = lnp_model::trace::read_all(&csv, lnp_model::TraceFormat::Csv).unwrap();
    assert!(bad.is_empty());
    let jsonl = lnp_model::trace::write_all(&records, lnp_model::TraceFormat::Jsonl).unwrap();
    let path = dir.path().join("trace.log");
    std::fs::write(&path, jsonl).unwrap();
    let o = lnpsim(&[
        "audit",
        path.to_str().unwrap(),
        "--trace-format",
        "jsonl",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 1);
    assert_eq!(json(&o)["findings"][0]["rule"], "ECA-RESPONSE");
    let unknown = lnpsim(&["audit", path.to_str().unwrap()]);
    assert_eq!(code(&unknown), 2, "no extension and no --trace-format");
}

#[test]
fn unreadable_traces_exit_2() {
    let missing = lnpsim(&["audit", "no-such-trace.csv"]);
    assert_eq!(code(&missing), 2);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-trace.csv"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "when,who\n1,2\n").unwrap();
    let o = lnpsim(&["audit", bad.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("header"));
}

#[test]
fn until_judges_the_trace_as_it_stood_at_that_instant() {
    // The ECA at 10:00 is answered at 10:15:01. At 10:15 the answer is not yet due; one second
    // later its deadline has passed unanswered, which is a finding whether or not the trace goes
    // on; and the full trace gives the same one finding (charged once, on the late answer).
    let at_deadline = lnpsim(&["audit", "eca_response_late.csv", "--until", "2026-03-09T10:15:00+11:00"]);
    assert_eq!(
        code(&at_deadline),
        0,
        "{}",
        String::from_utf8_lossy(&at_deadline.stdout)
    );
    let passed = lnpsim(&[
        "audit",
        "eca_response_late.csv",
        "--until",
        "2026-03-09T10:15:00.500+11:00",
        "--format",
        "json",
    ]);
    assert_eq!(code(&passed), 1);
    let v = json(&passed);
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["findings"][0]["rule"], "ECA-RESPONSE");
    assert_eq!(v["findings"][0]["seq"], serde_json::json!([3]));
    let whole = json(&lnpsim(&["audit", "eca_response_late.csv", "--format", "json"]));
    assert_eq!(whole["findings"].as_array().map(Vec::len), Some(1), "{whole}");
    assert_eq!(whole["findings"][0]["seq"], serde_json::json!([3, 4]));
    let bad = lnpsim(&["audit", "eca_response_late.csv", "--until", "tomorrow"]);
    assert_eq!(code(&bad), 2);
}

/// The `(rule, ref)` of every finding of a JSON report, sorted.
fn rule_refs(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["rule"].as_str().unwrap_or_default().to_string(),
                        f["ref"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v.iter().map(|(a, b)| ((*a).to_string(), (*b).to_string())).collect();
    out.sort();
    out
}

#[test]
fn donor_notices_are_due_after_completion_withdrawal_and_lapse() {
    // K1/K3/K6 on time at their boundaries (across Easter 2027 and the April DST change); K2's C
    // and K4's N one second late; K5 (lapsed) and K7 (withdrawn) never told N.
    let out = lnpsim(&[
        "audit",
        "notices/donor_notify_outcomes.csv",
        "--scenario",
        "notices/market.toml",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        rule_refs(&json(&out)),
        pairs(&[
            ("DONOR-NOTIFY", "SNA-0010K2"),
            ("DONOR-NOTIFY", "SNA-0010K4"),
            ("DONOR-NOTIFY", "SNA-0010K5"),
            ("DONOR-NOTIFY", "SNA-0010K7"),
        ])
    );
}

#[test]
fn returns_and_cancellations_follow_a_published_record_and_a_required_pending_one() {
    let args = [
        "audit",
        "notices/plnr_returns_and_pending.csv",
        "--scenario",
        "notices/market.toml",
        "--format",
        "json",
    ];
    let default = json(&lnpsim(&args));
    assert_eq!(
        rule_refs(&default),
        pairs(&[("PLNR-UPDATE", "SNA-0009N2"), ("PLNR-UPDATE", "SNA-0009R2")])
    );
    let mut strict: Vec<&str> = args.to_vec();
    strict.extend(["--rulebook", "notices/pending-required.toml"]);
    assert_eq!(
        rule_refs(&json(&lnpsim(&strict))),
        pairs(&[
            ("PLNR-UPDATE", "SNA-0009N2"),
            ("PLNR-UPDATE", "SNA-0009Q1"),
            ("PLNR-UPDATE", "SNA-0009R2"),
            ("PLNR-UPDATE", "SNA-0009R3"),
        ])
    );
}

/// A bundled CSV trace written as JSON Lines.
fn as_jsonl(csv_trace: &str) -> Vec<u8> {
    let csv = std::fs::read(traces().join(csv_trace)).unwrap();
    let (records, bad) = lnp_model::trace::read_all(&csv, lnp_model::TraceFormat::Csv).unwrap();
    assert!(bad.is_empty());
    lnp_model::trace::write_all(&records, lnp_model::TraceFormat::Jsonl).unwrap()
}

#[test]
fn a_trace_with_no_rows_does_not_pass() {
    // A failed export must not pass a compliance gate: "no rows" on stderr, naming the file, no
    // report, exit 2 (input the audit cannot judge).
    let dir = tempfile::tempdir().unwrap();
    let header = "seq,time,from,to,msg,ref,category,numbers,code,detail";
    for (name, content) in [
        ("empty.jsonl", String::new()),
        ("blank.jsonl", "\n\r\n  \n".to_string()),
        ("bom.jsonl", "\u{feff}\n".to_string()),
        ("header.csv", format!("{header}\n")),
        ("header-crlf.csv", format!("\u{feff}{header}\r\n\r\n")),
        ("empty.csv", String::new()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        for format in ["text", "json", "junit"] {
            let o = lnpsim(&["audit", path.to_str().unwrap(), "--format", format]);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(code(&o), 2, "{name} --format {format}: {stderr}");
            assert!(stderr.contains("no rows") && stderr.contains(name), "{name}: {stderr}");
            assert!(o.stdout.is_empty(), "{name}: {}", String::from_utf8_lossy(&o.stdout));
        }
    }
    // Rows that cannot be read are rows: malformed, exit 1 as before.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "not json\n").unwrap();
    assert_eq!(code(&lnpsim(&["audit", bad.to_str().unwrap()])), 1);
    let help = lnpsim(&["audit", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("2 the trace cannot be read, has no rows, or bad arguments"),
        "{help}"
    );
}

#[test]
fn a_jsonl_trace_with_a_byte_order_mark_audits_as_without() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.jsonl");
    let bom = dir.path().join("bom.jsonl");
    let jsonl = as_jsonl("clean_cat_a.csv");
    std::fs::write(&plain, &jsonl).unwrap();
    std::fs::write(&bom, [&b"\xef\xbb\xbf"[..], &jsonl].concat()).unwrap();
    let a = lnpsim(&["audit", plain.to_str().unwrap(), "--format", "json"]);
    let b = lnpsim(&["audit", bom.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&a), 0, "{}", json(&a));
    assert_eq!(code(&b), 0, "{}", json(&b));
    assert_eq!(json(&a), json(&b));
}

#[test]
fn jsonl_rows_with_a_repeated_or_mistyped_field_are_malformed() {
    // Row 1 names its sender twice, row 3's code is a JSON number: neither is read (the last
    // `from` winning, 3 standing for `003`); each is a malformed row with its line and field.
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(as_jsonl("eca_response_late.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[0] = lines[0].replacen("\"from\":\"9002\"", "\"from\":\"9002\",\"from\":\"9003\"", 1);
    assert!(lines[2].contains("\"code\":\"\""), "{}", lines[2]);
    lines[2] = lines[2].replacen("\"code\":\"\"", "\"code\":3", 1);
    let path = dir.path().join("trace.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let o = lnpsim(&["audit", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&o), 1);
    let rows = json(&o)["malformed_rows"].clone();
    assert_eq!(rows[0]["line"], 1, "{rows}");
    assert_eq!(
        rows[0]["message"],
        "from: the field \"from\" appears twice in the object"
    );
    assert_eq!(rows[1]["line"], 3, "{rows}");
    assert!(
        rows[1]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("code: expected a string, found the number 3")),
        "{rows}"
    );
}
