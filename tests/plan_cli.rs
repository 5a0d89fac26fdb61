//! End-to-end: `lnpsim plan`, `plan windows` and `plan migration` (shapes, exit codes, the
//! iCalendar file read by a real parser, the migration rehearsed in the simulator).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lnpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run lnpsim")
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(o)))
}

#[test]
fn plan_json_has_the_spec_shape_in_due_order() {
    let o = lnpsim(&[
        "plan",
        "--category",
        "A",
        "--submit",
        "2026-03-02T09:00:00+11:00",
        "--gaining",
        "9003",
        "--losing",
        "9002",
        "--donor",
        "9001",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["category"], "A");
    assert_eq!(v["submit"], "2026-03-02T09:00:00+11:00");
    assert_eq!(v["cutover"], "2026-03-09T09:00:00+11:00", "the earliest legal cutover");
    let steps = v["steps"].as_array().expect("steps");
    let mut last = String::new();
    let rules: Vec<&str> = steps.iter().filter_map(|s| s["rule"].as_str()).collect();
    for s in steps {
        for key in ["rule", "who", "what", "due", "clause"] {
            assert!(s[key].is_string(), "{key} missing in {s}");
        }
        assert!(
            ["gaining", "losing", "donor"].contains(&s["who"].as_str().unwrap_or("")),
            "{s}"
        );
        let due: lnp_model::Timestamp = s["due"].as_str().unwrap_or("").parse().expect("an instant");
        let due = due.millis().to_string();
        assert!(
            last.is_empty() || due.parse::<i64>().ok() >= last.parse::<i64>().ok(),
            "not in due order"
        );
        last = due;
    }
    let sna = steps
        .iter()
        .find(|s| s["rule"] == "SNA-RESPONSE")
        .expect("SNA-RESPONSE");
    assert_eq!(sna["who"], "losing");
    assert_eq!(sna["from"], "2026-03-02T09:00:00+11:00");
    assert_eq!(sna["due"], "2026-03-09T09:00:00+11:00");
    // Every rule is a rule ID, and a third-party port has its DONOR_NOTIFY steps.
    for r in &rules {
        assert!(r.parse::<lnp_model::RuleId>().is_ok(), "{r}");
    }
    assert_eq!(rules.iter().filter(|r| **r == "DONOR-NOTIFY").count(), 2, "{rules:?}");
    for r in [
        "SNA-VALIDITY",
        "ECA-NEEDS-SNA",
        "ECA-RESPONSE",
        "COMPLETION",
        "DTR-DURATION",
        "EMERGENCY-RETURN",
        "PLNR-UPDATE",
        "RETARGET-LIMIT",
    ] {
        assert!(rules.contains(&r), "{r} missing: {rules:?}");
    }
}

#[test]
fn cat_c_plans_have_the_cat_c_steps() {
    let o = lnpsim(&[
        "plan",
        "--category",
        "C",
        "--pnv",
        "--submit",
        "2026-12-21T10:00:00+11:00",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    let rules: Vec<String> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["rule"].as_str().map(String::from))
        .collect();
    for r in [
        "PNV-RESPONSE",
        "CNA-RECEIPT",
        "CNA-RESPONSE",
        "CCA-NEEDS-CNA",
        "CCA-RESPONSE",
        "CUTOVER-AT-AGREED",
        "EMERGENCY-RETURN",
    ] {
        assert!(rules.contains(&r.to_string()), "{r} missing: {rules:?}");
    }
    assert_eq!(v["cutover"], "2027-01-11T10:00:00+11:00");
}

#[test]
fn no_legal_cutover_is_exit_1_with_the_reason_and_bad_input_exit_2() {
    let o = lnpsim(&[
        "plan",
        "--category",
        "A",
        "--submit",
        "2026-03-02T09:00:00+11:00",
        "--retargets",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no legal cutover") && err.contains("104"), "{err}");
    let o = lnpsim(&[
        "plan",
        "--category",
        "A",
        "--submit",
        "2026-03-02T09:00:00+11:00",
        "--cutover",
        "2026-03-09T20:00:00+11:00",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("2026-03-10T08:00:00+11:00"));
    // With an after-hours agreement 20:00 is legal.
    let o = lnpsim(&[
        "plan",
        "--category",
        "A",
        "--submit",
        "2026-03-02T09:00:00+11:00",
        "--cutover",
        "2026-03-09T20:00:00+11:00",
        "--after-hours",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for bad in [
        vec!["plan", "--category", "A", "--submit", "2026-03-02 09:00"],
        vec!["plan", "--category", "A"],
        vec![
            "plan",
            "--category",
            "A",
            "--submit",
            "2026-03-02T09:00:00+11:00",
            "--pnv",
        ],
        vec!["plan", "--category", "B", "--submit", "2026-03-02T09:00:00+11:00"],
        vec![
            "plan",
            "--category",
            "A",
            "--submit",
            "2026-03-02T09:00:00+11:00",
            "--gaining",
            "9001",
        ],
        vec!["plan", "windows", "--from", "2026-03-10", "--to", "2026-03-01"],
    ] {
        let o = lnpsim(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}\n{}", text(&o));
    }
}

#[test]
fn the_ics_file_parses_with_one_vevent_per_step_in_utc_with_an_alarm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ics = dir.path().join("port.ics");
    let base = [
        "plan",
        "--category",
        "A",
        "--submit",
        "2026-03-27T16:30:00+11:00",
        "--gaining",
        "9003",
        "--losing",
        "9002",
        "--donor",
        "9001",
    ];
    let mut args = base.to_vec();
    args.extend(["--format", "ics", "-o", ics.to_str().expect("path")]);
    let o = lnpsim(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut args = base.to_vec();
    args.extend(["--format", "json"]);
    let steps = json(&lnpsim(&args))["steps"].as_array().expect("steps").clone();
    let raw = std::fs::read_to_string(&ics).expect("read ics");
    assert!(raw.lines().all(|l| l.len() <= 75), "a line longer than 75 octets");
    assert!(raw.contains("\r\n"), "CRLF line ends");
    let unfolded = icalendar::parser::unfold(&raw);
    let cal = icalendar::parser::read_calendar(&unfolded).expect("a real parser reads it");
    assert!(cal.properties.iter().any(|p| p.name == "VERSION" && p.val == "2.0"));
    let events: Vec<_> = cal.components.iter().filter(|c| c.name == "VEVENT").collect();
    assert_eq!(events.len(), steps.len(), "one VEVENT per step");
    for (e, s) in events.iter().zip(&steps) {
        let start = e.find_prop("DTSTART").expect("DTSTART");
        let tzid = start.params.iter().find(|p| p.key == "TZID");
        let val = start.val.as_str();
        assert!(
            val.ends_with('Z')
                || tzid.is_some_and(|p| p.val.as_ref().is_some_and(|v| v.as_str() == "Australia/Sydney")),
            "DTSTART {val} is neither UTC nor Australia/Sydney"
        );
        let due: lnp_model::Timestamp = s["due"].as_str().expect("due").parse().expect("instant");
        assert_eq!(
            val,
            due.utc().format("%Y%m%dT%H%M%SZ").to_string(),
            "the event is at its deadline"
        );
        assert!(e.find_prop("UID").is_some() && e.find_prop("DTSTAMP").is_some());
        let summary = e.find_prop("SUMMARY").expect("SUMMARY").val.as_str().to_string();
        assert!(summary.starts_with(s["rule"].as_str().expect("rule")), "{summary}");
        let alarm = e.components.iter().find(|c| c.name == "VALARM").expect("an alarm");
        assert_eq!(alarm.find_prop("TRIGGER").expect("TRIGGER").val.as_str(), "-PT1H");
        assert_eq!(alarm.find_prop("ACTION").expect("ACTION").val.as_str(), "DISPLAY");
    }
    let uids: std::collections::BTreeSet<String> = events
        .iter()
        .filter_map(|e| e.find_prop("UID").map(|p| p.val.as_str().to_string()))
        .collect();
    assert_eq!(uids.len(), events.len(), "UIDs are unique");
    // The same plan gives the same file.
    let again = dir.path().join("again.ics");
    let mut args = base.to_vec();
    args.extend(["--format", "ics", "-o", again.to_str().expect("path")]);
    assert_eq!(lnpsim(&args).status.code(), Some(0));
    assert_eq!(std::fs::read(&ics).expect("read"), std::fs::read(&again).expect("read"));
}

#[test]
fn windows_are_standard_hours_on_business_days() {
    let o = lnpsim(&[
        "plan",
        "windows",
        "--from",
        "2026-12-24",
        "--to",
        "2026-12-29",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    let w = v["windows"].as_array().expect("windows");
    assert_eq!(w.len(), 6);
    assert_eq!(w[0]["date"], "2026-12-24");
    assert_eq!(w[0]["from"], "2026-12-24T08:00:00+11:00");
    assert_eq!(w[0]["to"], "2026-12-24T16:45:00+11:00");
    assert_eq!(w[1]["why_not"], "Christmas Day");
    assert_eq!(w[4]["why_not"], "Boxing Day (observed)");
    assert!(w[4].get("from").is_none());
    assert_eq!(w[5]["from"], "2026-12-29T08:00:00+11:00");
    let o = lnpsim(&[
        "plan",
        "windows",
        "--from",
        "2026-12-26",
        "--to",
        "2026-12-27",
        "--after-hours",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = lnpsim(&["plan", "windows", "--from", "2026-12-26", "--to", "2026-12-28"]);
    assert_eq!(o.status.code(), Some(1), "no window on any day: {}", text(&o));
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write");
    p.to_str().expect("path").to_string()
}

#[test]
fn a_migration_rehearses_clean_in_the_simulator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("rehearsal.toml");
    let o = lnpsim(&[
        "plan",
        "migration",
        "--numbers",
        "examples/migration/harbour-numbers.txt",
        "--batch",
        "40",
        "--start",
        "2026-12-21",
        "--daily-cap",
        "2",
        "--gaining",
        "9003",
        "--losing",
        "9002",
        "--donor",
        "9001",
        "--customer",
        "Harbour Bakery Pty Ltd",
        "--format",
        "json",
        "--scenario-out",
        scenario.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    let batches = v["batches"].as_array().expect("batches");
    assert_eq!(v["numbers"], 250);
    assert_eq!(batches.len(), 7, "250 numbers in batches of 40");
    // At most two cutovers per Sydney date, each on a business day.
    let mut per_day = std::collections::BTreeMap::<String, u32>::new();
    for b in batches {
        assert!(b["numbers"].as_array().expect("numbers").len() <= 40);
        let c: lnp_model::Timestamp = b["cutover"].as_str().expect("cutover").parse().expect("instant");
        *per_day.entry(c.sydney_date().to_string()).or_default() += 1;
        assert!(b["plan"]["steps"].as_array().is_some_and(|s| !s.is_empty()));
    }
    assert!(per_day.values().all(|n| *n <= 2), "{per_day:?}");
    for day in ["2026-12-25", "2026-12-28", "2027-01-01"] {
        assert!(!per_day.contains_key(day), "a cutover on {day}");
    }
    let run = lnpsim(&["run", scenario.to_str().expect("path"), "--quiet"]);
    assert_eq!(run.status.code(), Some(0), "the rehearsal: {}", text(&run));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("Outcomes: completed 7"), "{out}");
}

#[test]
fn migration_csv_and_bad_numbers_files() {
    let o = lnpsim(&[
        "plan",
        "migration",
        "--numbers",
        "examples/migration/harbour-numbers.txt",
        "--start",
        "2026-03-02",
        "--daily-cap",
        "1",
        "--format",
        "csv",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let csv = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "batch,number,cna,cutover,cutover_date");
    assert_eq!(lines.len(), 251);
    assert!(
        lines[1].starts_with("MIG-0001,0255501000,2026-03-02T08:00:00+11:00,"),
        "{}",
        lines[1]
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = write(
        dir.path(),
        "numbers.txt",
        "# numbers\n0255501000\n0255501000\n02 5550 10x1\n0255501005-0255501001\n",
    );
    let o = lnpsim(&[
        "plan",
        "migration",
        "--numbers",
        &bad,
        "--start",
        "2026-03-02",
        "--daily-cap",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        format!("{bad}:3: number: 0255501000 is listed twice (first at line 2)"),
        format!("{bad}:4: number: "),
        format!("{bad}:5: number: "),
    ] {
        assert!(err.contains(&want), "{want:?} not in {err}");
    }
    for (flag, value) in [
        ("--batch", "0"),
        ("--batch", "1001"),
        ("--daily-cap", "0"),
        ("--interval", "1bd"),
    ] {
        let mut args = vec![
            "plan",
            "migration",
            "--numbers",
            "examples/migration/harbour-numbers.txt",
            "--start",
            "2026-03-02",
        ];
        if flag != "--daily-cap" {
            args.extend(["--daily-cap", "2"]);
        }
        args.extend([flag, value]);
        let o = lnpsim(&args);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", text(&o));
    }
}
