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

#[test]
fn calendar_holidays_with_a_state_code() {
    let (code, out, err) = lnpsim(&["calendar", "holidays", "2026", "--holidays", "nsw"]);
    assert_eq!(code, Some(0), "{err}");
    for line in [
        "2026-01-26  Mon  Australia Day",
        "2026-04-04  Sat  Easter Saturday (NSW)",
        "2026-04-27  Mon  Anzac Day (additional day, NSW)",
        "2026-06-08  Mon  King's Birthday (NSW)",
        "2026-10-05  Mon  Labour Day (NSW)",
        "2026-12-28  Mon  Boxing Day (observed)",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} missing:\n{out}");
    }
    // The Bank Holiday is for banks only.
    assert!(!out.contains("2026-08-03"), "{out}");
    // Any case; the same answer from business-day.
    let (code, out, _) = lnpsim(&["calendar", "business-day", "2026-10-05", "--holidays", "NSW"]);
    assert_eq!((code, out.as_str()), (Some(0), "no (Labour Day (NSW))\n"));
    let (_, out, _) = lnpsim(&["calendar", "business-day", "2026-10-05"]);
    assert_eq!(out, "yes\n");
    // Two states: a day of either is a holiday.
    let (_, out, _) = lnpsim(&[
        "calendar",
        "holidays",
        "2026",
        "--holidays",
        "vic",
        "--holidays",
        "wa",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let names: Vec<&str> = v
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|h| h["name"].as_str())
        .collect();
    assert!(names.contains(&"Melbourne Cup Day (VIC)"), "{names:?}");
    assert!(names.contains(&"Western Australia Day (WA)"), "{names:?}");
    // 2 business days from Thursday 1 October 2026 in NSW: over the weekend and Labour Day.
    let (_, out, _) = lnpsim(&[
        "calendar",
        "add",
        "2026-10-01T10:00:00+10:00",
        "2bd",
        "--holidays",
        "nsw",
    ]);
    assert_eq!(out, "2026-10-06T10:00:00+11:00\n");
}

#[test]
fn an_unknown_state_code_exits_2_naming_the_codes() {
    for args in [
        vec!["calendar", "holidays", "2026", "--holidays", "nws"],
        vec!["calendar", "business-day", "2026-10-05", "--holidays", "queensland"],
        vec!["audit", "tests/traces/clean_cat_a.csv", "--holidays", "vict"],
        vec!["run", "scenarios/cat-a-happy-path.toml", "--holidays", "xx"],
    ] {
        let (code, out, err) = lnpsim(&args);
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        assert!(
            err.contains("is not a state code: expected one of nsw, vic, qld, sa, wa, tas, act, nt"),
            "{args:?}: {err}"
        );
        assert!(out.is_empty(), "{args:?}: {out}");
    }
}

#[test]
fn a_file_named_like_a_state_code_is_written_with_its_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("nsw"), "date,name\n2026-03-03,Picnic Day\n").expect("write");
    let run_in = |value: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
            .args(["calendar", "business-day", "2026-03-03", "--holidays", value])
            .current_dir(dir.path())
            .output()
            .expect("run lnpsim");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(run_in("./nsw"), "no (Picnic Day)\n");
    assert_eq!(run_in("nsw"), "yes\n");
}

/// `scenarios/business-day-boundaries.toml`'s third port is answered on Friday 9 October 2026
/// at 10:30, 30 minutes after its deadline when Monday 5 October (NSW Labour Day) is a business
/// day, and in time when it is not.
#[test]
fn a_scenario_with_state_holidays() {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/scenarios/business-day-boundaries.toml")).expect("scenario");
    assert!(text.contains("\nseed = 1\n"));
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, holidays: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            text.replace("\nseed = 1\n", &format!("\nseed = 1\nholidays = {holidays}\n")),
        )
        .expect("write");
        path.to_str().expect("path").to_string()
    };
    let p3 = |out: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with("P3 "))
            .unwrap_or_default()
            .to_string()
    };
    let (code, out, _) = lnpsim(&[
        "run",
        "--quiet",
        &format!("{root}/scenarios/business-day-boundaries.toml"),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(p3(&out).contains("withdrawn"), "{out}");

    let nsw = write("nsw.toml", "\"nsw\"");
    let (code, out, _) = lnpsim(&["run", "--quiet", &nsw]);
    assert_eq!(code, Some(1), "the scenario's expectations assume no NSW days:\n{out}");
    assert!(p3(&out).contains("completed"), "{out}");
    assert!(out.contains("Audit: no violations"), "P3 is no longer late:\n{out}");
    // --holidays on the command line gives the same run.
    let (_, flag, _) = lnpsim(&[
        "run",
        "--quiet",
        &format!("{root}/scenarios/business-day-boundaries.toml"),
        "--holidays",
        "nsw",
    ]);
    assert_eq!(p3(&flag), p3(&out));
    // An array of sources; the audit reads the scenario's holidays too.
    let both = write("both.toml", "[\"NSW\", \"extra.csv\"]");
    std::fs::write(dir.path().join("extra.csv"), "2026-10-06,Extra Day\n").expect("write");
    let (code, out, _) = lnpsim(&["run", "--quiet", &both]);
    assert_eq!(code, Some(1), "{out}");
    assert!(p3(&out).contains("completed"), "{out}");

    // The audit of that run's trace reads the scenario's holidays as the run did.
    let trace = dir.path().join("nsw.csv");
    let trace = trace.to_str().expect("path");
    let (code, _, err) = lnpsim(&["run", "--quiet", &nsw, "--trace", trace]);
    assert_eq!(code, Some(1), "{err}");
    let findings = |args: &[&str]| {
        let (_, out, err) = lnpsim(args);
        assert!(err.is_empty(), "{err}");
        out.matches("    SNA at seq").count()
    };
    assert_eq!(findings(&["audit", trace, "--scenario", &nsw]), 0);
    assert_eq!(findings(&["audit", trace, "--scenario", &both, "--holidays", "nsw"]), 0);
    assert_eq!(
        findings(&["audit", trace]),
        1,
        "without NSW days the third answer is late"
    );

    let bad = write("bad.toml", "\"nws\"");
    let (code, _, err) = lnpsim(&["run", &bad]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("holidays: \"nws\" is not a state code: expected one of nsw, vic, qld, sa, wa, tas, act, nt"),
        "{err}"
    );
    assert!(err.contains("line 33: holidays"), "errors name the line: {err}");
}

#[test]
fn the_calendar_holidays_help_names_each_state_and_its_act() {
    let (code, out, _) = lnpsim(&["calendar", "holidays", "--help"]);
    assert_eq!(code, Some(0));
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    for state in lnp_model::State::ALL {
        let entry = format!("{} {}:", state.code(), state.act());
        assert!(flat.contains(&entry), "{entry:?} missing:\n{out}");
    }
    for left_out in ["part-day holidays", "Bank Holiday", "Easter Tuesday", "regional days"] {
        assert!(flat.contains(left_out), "{left_out:?} missing:\n{out}");
    }
}

/// Every carrier answers a request a fifth of its `answers_within` plus whole seconds after it
/// arrives, never later than `answers_within` (docs/scenario-format.md): `0m` at once, `1s` in
/// 200 ms, `90s` between 18 and 90 seconds. Five carriers of different speeds each lose and gain
/// generated Cat A ports; every answer to an SNA or an ECA is checked against its answerer.
#[test]
fn every_answer_comes_within_the_answerers_answers_within() {
    use std::fmt::Write as _;
    let speeds = [
        ("9001", 0),
        ("9002", 1_000),
        ("9003", 90_000),
        ("9004", 300_000),
        ("9005", 600_000),
    ];
    let mut text = String::from("name = \"answer speeds\"\nstart = \"2026-03-02T08:00:00+11:00\"\nseed = 5\n");
    for (i, (code, ms)) in speeds.iter().enumerate() {
        let _ = write!(
            text,
            "\n[[carriers]]\ncode = \"{code}\"\nname = \"C{code}\"\nranges = [\"02{}000000-02{}999999\"]\nanswers_within = \"{}s\"\n",
            50 + i,
            50 + i,
            ms / 1000
        );
    }
    for (i, (a, _)) in speeds.iter().enumerate() {
        for (b, _) in &speeds[i + 1..] {
            let _ = write!(text, "\n[[agreements]]\ncarriers = [\"{a}\", \"{b}\"]\n");
        }
    }
    text += "\n[load]\nports = 400\ncategories = { A = 1.0 }\nwindow = \"5d\"\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("speeds.toml");
    std::fs::write(&scenario, &text).expect("write");
    let trace = dir.path().join("speeds.jsonl");
    let (code, out, err) = lnpsim(&[
        "run",
        "--quiet",
        scenario.to_str().expect("path"),
        "--trace",
        trace.to_str().expect("path"),
    ]);
    assert!(code.is_some_and(|c| c < 2), "{out}{err}");
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&trace)
        .expect("trace")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect();
    let millis = |row: &serde_json::Value| {
        lnp_model::Timestamp::parse_rfc3339(row["time"].as_str().expect("time"))
            .expect("an instant")
            .millis()
    };
    let mut checked = std::collections::BTreeMap::new();
    for (i, asked) in rows.iter().enumerate() {
        let kind = asked["msg"].as_str().unwrap_or_default();
        if kind != "SNA" && kind != "ECA" {
            continue;
        }
        let answerer = asked["to"].as_str().expect("to");
        let within = speeds.iter().find(|(c, _)| *c == answerer).expect("a carrier").1;
        let answer = rows[i + 1..]
            .iter()
            .find(|r| {
                r["ref"] == asked["ref"]
                    && r["from"] == asked["to"]
                    && r["msg"]
                        .as_str()
                        .is_some_and(|m| m.starts_with(kind) && m.len() > kind.len())
            })
            .unwrap_or_else(|| panic!("{kind} at seq {} has no answer", asked["seq"]));
        let took = millis(answer) - millis(asked);
        assert!(
            took >= within / 5 && took <= within,
            "{answerer} (answers_within {within} ms) answered seq {} after {took} ms",
            asked["seq"]
        );
        *checked.entry(answerer.to_string()).or_insert(0) += 1;
    }
    assert_eq!(checked.len(), speeds.len(), "every carrier answered: {checked:?}");
}

/// `scenarios/port-back-to-donor.toml`: a number ported back to its donor needs no donor transit
/// routing (no `DTR_START` or `DTR_STOP` row), and the donor's register file deletes it (action
/// `D`, the donor as current carrier).
#[test]
fn a_number_ported_home_has_no_transit_routing_and_leaves_the_register() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("home.csv");
    let plnr = dir.path().join("plnr");
    let (code, out, err) = lnpsim(&[
        "run",
        "--quiet",
        &format!("{root}/scenarios/port-back-to-donor.toml"),
        "--trace",
        trace.to_str().expect("path"),
        "--plnr-dir",
        plnr.to_str().expect("path"),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let rows = std::fs::read_to_string(&trace).expect("trace");
    assert!(rows.contains(",CUTOVER,"), "{rows}");
    assert!(!rows.contains(",DTR_START,") && !rows.contains(",DTR_STOP,"), "{rows}");
    let mut files: Vec<_> = std::fs::read_dir(&plnr)
        .expect("register folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("9001-")))
        .collect();
    files.sort();
    let completed = files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("register file"))
        .find(|t| {
            t.lines()
                .any(|l| l.starts_with('D') && l.as_bytes().get(20) == Some(&b'C'))
        })
        .expect("a completed record");
    let record = completed.lines().find(|l| l.starts_with('D')).expect("a detail record");
    assert_eq!(
        &record[..16],
        "DD02555012349001",
        "action D, the donor as current: {record}"
    );
}
