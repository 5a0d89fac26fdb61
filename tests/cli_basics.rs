//! End-to-end: the foundation commands (`calendar`, `rules`, `--version`, usage errors).

use std::process::Command;

fn lnpsim(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .args(args)
        .output()
        .expect("run lnpsim");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn calendar_add_skips_christmas_and_observed_boxing_day() {
    let (code, out, _) = lnpsim(&["calendar", "add", "2026-12-24T10:00:00+11:00", "2bd"]);
    assert_eq!(code, Some(0));
    assert_eq!(out, "2026-12-30T10:00:00+11:00\n");
    let (_, out, _) = lnpsim(&["calendar", "add", "2026-03-09T10:00:00+11:00", "15m"]);
    assert_eq!(out, "2026-03-09T10:15:00+11:00\n");
    let (_, out, _) = lnpsim(&["calendar", "add", "2026-03-16T10:00:00+11:00", "-3bd"]);
    assert_eq!(out, "2026-03-11T10:00:00+11:00\n");
}

#[test]
fn calendar_business_day_names_the_holiday() {
    assert_eq!(
        lnpsim(&["calendar", "business-day", "2026-12-28"]).1,
        "no (Boxing Day (observed))\n"
    );
    assert_eq!(lnpsim(&["calendar", "business-day", "2026-03-02"]).1, "yes\n");
    assert_eq!(lnpsim(&["calendar", "business-day", "2026-03-07"]).1, "no (Saturday)\n");
}

#[test]
fn calendar_holidays_with_an_extra_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("nsw.csv");
    std::fs::write(&csv, "date,name\n2026-10-05,Labour Day\n").expect("write");
    let (code, out, _) = lnpsim(&[
        "calendar",
        "holidays",
        "2026",
        "--holidays",
        csv.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, Some(0));
    assert!(out.contains("2026-04-03  Fri  Good Friday"), "{out}");
    assert!(out.contains("2026-10-05  Mon  Labour Day"), "{out}");
    assert!(out.contains("2026-12-28  Mon  Boxing Day (observed)"), "{out}");
    let (_, out, _) = lnpsim(&[
        "calendar",
        "business-day",
        "2026-10-05",
        "--holidays",
        csv.to_str().unwrap_or_default(),
    ]);
    assert_eq!(out, "no (Labour Day)\n");
}

#[test]
fn bad_input_exits_2_naming_what_is_wrong() {
    let (code, _, err) = lnpsim(&["calendar", "add", "2026-12-24 10:00", "2bd"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("INSTANT"), "{err}");
    let (code, _, err) = lnpsim(&["calendar", "add", "2026-12-24T10:00:00+11:00", "2 weeks"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("DURATION"), "{err}");
    let (code, _, _) = lnpsim(&["no-such-command"]);
    assert_eq!(code, Some(2));
}

#[test]
fn rules_prints_every_rule_and_applies_overrides() {
    let (code, out, _) = lnpsim(&["rules"]);
    assert_eq!(code, Some(0));
    for id in ["CA-AGE", "ECA-RESPONSE", "PLNR-UPDATE", "QUARANTINE", "DAILY-CAP"] {
        assert!(out.contains(id), "{id} missing");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let book = dir.path().join("strict.toml");
    std::fs::write(&book, "[ECA-RESPONSE]\nvalue = \"10m\"\n").expect("write");
    let (code, out, _) = lnpsim(&[
        "rules",
        "--format",
        "json",
        "--rulebook",
        book.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let rules = v["rules"].as_array().expect("rules array");
    assert_eq!(rules.len(), 28);
    let eca = rules.iter().find(|r| r["id"] == "ECA-RESPONSE").expect("ECA-RESPONSE");
    assert_eq!(eca["value"], "10 minutes");
    std::fs::write(&book, "[ECA-RESPONSE]\nvalue = \"soon\"\n").expect("write");
    let (code, _, err) = lnpsim(&["rules", "--rulebook", book.to_str().unwrap_or_default()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("line 2") && err.contains("ECA-RESPONSE.value"), "{err}");
}

#[test]
fn version_and_help() {
    let (code, out, _) = lnpsim(&["--version"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("lnpsim "));
    let (code, out, _) = lnpsim(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("Examples:"));
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    // Like `lnpsim plnr gen ... | head -c 100`: the reader goes away after a few bytes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .args(["plnr", "gen", "--records", "200000", "--donor", "9001", "--seed", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lnpsim");
    let mut first = [0u8; 100];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("read");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
