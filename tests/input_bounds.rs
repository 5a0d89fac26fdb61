//! Inputs that used to give a silent wrong answer: each now gives the right answer, or a clear
//! error naming the file, line and field, with exit status 2.

use std::path::PathBuf;
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

/// Asserts the exit status, and that the output says `needle`.
fn expect_exit(o: &Output, code: i32, needle: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
    assert!(text(o).contains(needle), "expected {needle:?} in:\n{}", text(o));
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The happy-path story with `edit` applied, written to a temporary scenario file.
fn story(edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let base = std::fs::read_to_string(root().join("scenarios/cat-a-happy-path.toml")).expect("scenario");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("story.toml");
    std::fs::write(&path, edit(base)).expect("write scenario");
    (dir, path)
}

#[test]
fn durations_too_large_for_any_instant_are_refused() {
    for d in ["100000000d", "999999999mo", "9999999999999999m"] {
        let o = lnpsim(&["calendar", "add", "2026-03-02T09:00:00+11:00", d]);
        assert_eq!(o.status.code(), Some(2), "{d}: {}", text(&o));
        assert!(text(&o).contains("out of range"), "{d}: {}", text(&o));
    }
    // Within the duration bound, but past the last instant.
    let o = lnpsim(&["calendar", "add", "2026-03-02T09:00:00+11:00", "3652425d"]);
    expect_exit(&o, 2, "out of range");
}

#[test]
fn a_rulebook_duration_out_of_range_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let book = dir.path().join("book.toml");
    std::fs::write(&book, "[QUARANTINE]\nvalue = \"999999999mo\"\n").expect("write");
    let o = lnpsim(&["rules", "--rulebook", book.to_str().expect("utf-8 path")]);
    expect_exit(&o, 2, "out of range");
    assert!(text(&o).contains("line 2"), "{}", text(&o));
}

#[test]
fn instants_of_year_0001_are_written_exactly() {
    // Sydney's local mean time then was +10:04:52; an RFC 3339 offset cannot say so, so the
    // instant is written in UTC rather than 52 seconds off.
    let o = lnpsim(&["calendar", "add", "0001-01-02T00:00:00Z", "1m"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "0001-01-02T00:01:00+00:00",
        "{}",
        text(&o)
    );
}

#[test]
fn the_simulator_never_writes_a_year_past_9999() {
    let (dir, path) = story(|s| {
        s.replace("2026-03-", "9999-12-")
            .replace("2026-02-25", "9999-11-25")
            .replace("2026-04-01", "9999-12-31")
    });
    let trace = dir.path().join("t.csv");
    let o = lnpsim(&[
        "run",
        path.to_str().expect("path"),
        "--trace",
        trace.to_str().expect("path"),
    ]);
    let out = text(&o);
    assert!(out.contains("end of year 9999"), "{out}");
    assert!(!out.contains("10000-"), "{out}");
    let written = std::fs::read_to_string(&trace).expect("trace");
    assert!(!written.contains("10000-"), "{written}");
    // Its own audit reads every row it wrote.
    let a = lnpsim(&["audit", trace.to_str().expect("path")]);
    assert_eq!(a.status.code(), Some(0), "{}", text(&a));
}

#[test]
fn a_customer_name_with_separators_still_matches_itself() {
    let (_dir, path) = story(|s| s.replace("Harbour Bakery Pty Ltd", "Harbour; Bakery = Pty Ltd"));
    let o = lnpsim(&["run", path.to_str().expect("path")]);
    expect_exit(&o, 0, "port P1 is completed");
}

#[test]
fn control_characters_in_names_are_refused() {
    for bad in ["Harbour\\nBakery", "Harbour\\u001b[31mBakery"] {
        let (_dir, path) = story(|s| s.replacen("Harbour Bakery Pty Ltd", bad, 1));
        let o = lnpsim(&["run", path.to_str().expect("path")]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(
            text(&o).contains("control character") && text(&o).contains("customer"),
            "{}",
            text(&o)
        );
    }
}

#[test]
fn a_port_from_the_gaining_carrier_itself_is_refused_when_losing_is_inferred() {
    let (_dir, path) = story(|s| {
        s.replace("gaining = \"9002\"", "gaining = \"9001\"")
            .replace("losing = \"9001\"\n", "")
    });
    let o = lnpsim(&["run", path.to_str().expect("path")]);
    expect_exit(&o, 2, "cannot port a number from itself");
}

#[test]
fn answers_within_must_be_elapsed_time() {
    for d in ["2d", "1bd", "1mo"] {
        let (_dir, path) = story(|s| {
            s.replacen(
                "ranges = [\"0255500000-0255509999\"]",
                &format!("ranges = [\"0255500000-0255509999\"]\nanswers_within = \"{d}\""),
                1,
            )
        });
        let o = lnpsim(&["run", path.to_str().expect("path")]);
        assert_eq!(o.status.code(), Some(2), "{d}: {}", text(&o));
        assert!(
            text(&o).contains("answers_within") && text(&o).contains("not elapsed time"),
            "{}",
            text(&o)
        );
    }
}

#[test]
fn a_holiday_file_with_a_repeated_date_or_a_bad_year_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (body, needle) in [
        (
            "date,name\n2026-12-28,Picnic Day\n2026-12-28,Other Day\n",
            "h.csv:3: date: 2026-12-28 is listed twice (first at line 2)",
        ),
        ("-0001-01-05,Ancient Day\n", "h.csv:1: date"),
        ("10000-01-05,Far Day\n", "h.csv:1: date"),
    ] {
        let csv = dir.path().join("h.csv");
        std::fs::write(&csv, body).expect("write");
        let o = lnpsim(&[
            "calendar",
            "holidays",
            "2026",
            "--holidays",
            csv.to_str().expect("path"),
        ]);
        assert_eq!(o.status.code(), Some(2), "{body}: {}", text(&o));
        assert!(text(&o).contains(needle), "{body}: {}", text(&o));
    }
}

#[test]
fn a_load_the_ranges_cannot_hold_is_refused() {
    let (_dir, path) = story(|s| {
        s.replace(
            "ranges = [\"0255500000-0255509999\"]",
            "ranges = [\"0255501200-0255501299\"]",
        )
        .replace(
            "ranges = [\"0370100000-0370109999\"]",
            "ranges = [\"0370100000-0370100099\"]",
        ) + "\n[load]\nports = 1000\ncategories = { A = 1.0 }\nwindow = \"5d\"\n"
    });
    let o = lnpsim(&["run", path.to_str().expect("path"), "--quiet"]);
    expect_exit(
        &o,
        2,
        "1000 ports need about 1000 numbers, but the losing carriers' ranges hold 200",
    );
}

#[test]
fn audit_with_a_scenario_uses_its_rulebook_and_ignores_its_story() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("slow.toml"), "[ECA-RESPONSE]\nvalue = \"20m\"\n").expect("rulebook");
    let market = std::fs::read_to_string(root().join("tests/traces/market.toml")).expect("market");
    // Its own rulebook, and a story with an error the audit has no use for.
    let scenario = market.replacen("\n[[carriers]]", "\nrulebook = \"slow.toml\"\n\n[[carriers]]", 1)
        + "\n[[ports]]\nref = \"P1\"\ncategory = \"Z\"\n";
    let path = dir.path().join("market.toml");
    std::fs::write(&path, scenario).expect("scenario");
    // The ECA at 10:00 is answered at 10:15:01: late under 15 minutes, in time under 20.
    let trace = root().join("tests/traces/eca_response_late.csv");
    let (trace, path) = (trace.to_str().expect("path"), path.to_str().expect("path"));
    let with = lnpsim(&["audit", trace, "--scenario", path]);
    assert_eq!(with.status.code(), Some(0), "{}", text(&with));
    let without = lnpsim(&["audit", trace]);
    assert_eq!(without.status.code(), Some(1), "{}", text(&without));
    // --rulebook on the command line overrides the scenario's.
    let strict = dir.path().join("strict.toml");
    std::fs::write(&strict, "[ECA-RESPONSE]\nvalue = \"15m\"\n").expect("rulebook");
    let o = lnpsim(&[
        "audit",
        trace,
        "--scenario",
        path,
        "--rulebook",
        strict.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

/// The `toml` code blocks of a document, in order.
fn toml_blocks(doc: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(doc)).expect("doc");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let l = line.trim_start_matches("> ");
        match (&mut current, l.trim()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), _) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_docs_complete_examples_work_when_pasted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ran = 0;
    for doc in ["docs/scenario-reference.md", "docs/scenario-format.md"] {
        for (i, block) in toml_blocks(doc).into_iter().enumerate() {
            // Complete scenarios only; fragments (a [load] or [[faults]] table) are not stories.
            if !(block.contains("\nstart = ") || block.starts_with("name = ")) || !block.contains("[[carriers]]") {
                continue;
            }
            let path = dir.path().join(format!("example-{ran}.toml"));
            std::fs::write(&path, &block).expect("write");
            let o = lnpsim(&["run", path.to_str().expect("path"), "--quiet"]);
            assert_eq!(o.status.code(), Some(0), "{doc} block {i}:\n{block}\n{}", text(&o));
            ran += 1;
        }
    }
    assert!(
        ran >= 2,
        "expected a complete example in each scenario document, ran {ran}"
    );
    // The rulebook example of docs/rules.md loads.
    let book = toml_blocks("docs/rules.md")
        .into_iter()
        .find(|b| b.contains('['))
        .expect("a rulebook example");
    let path = dir.path().join("book.toml");
    std::fs::write(&path, &book).expect("write");
    let o = lnpsim(&["rules", "--rulebook", path.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0), "{book}\n{}", text(&o));
}

#[test]
fn the_files_that_help_texts_name_are_shipped() {
    for cmd in [
        vec!["run", "--help"],
        vec!["audit", "--help"],
        vec!["report", "--help"],
        vec!["route", "--help"],
        vec!["plnr", "validate", "--help"],
        vec!["calendar", "add", "--help"],
        vec!["calendar", "business-day", "--help"],
        vec!["calendar", "holidays", "--help"],
        vec!["rules", "--help"],
        vec!["plan", "--help"],
        vec!["plan", "windows", "--help"],
        vec!["plan", "migration", "--help"],
        vec!["track", "--help"],
    ] {
        let o = lnpsim(&cmd);
        let help = String::from_utf8_lossy(&o.stdout).into_owned();
        for word in help.split_whitespace() {
            let w = word.trim_matches(|c: char| matches!(c, '`' | '\'' | '"' | ',' | '(' | ')'));
            if ["scenarios/", "plnr-samples/", "tests/", "examples/"]
                .iter()
                .any(|d| w.starts_with(d))
            {
                assert!(
                    root().join(w).exists(),
                    "`lnpsim {}` names {w}, which is not in the repo",
                    cmd.join(" ")
                );
            }
        }
    }
}

#[test]
fn services_are_bounded_in_all_not_only_per_range() {
    // Three services of a million numbers each (each range under the per-range bound), in a
    // scenario of a few hundred bytes more: refused before anything is held.
    let ranges = [
        "0370000000-0370999999",
        "0371000000-0371999999",
        "0372000000-0372999999",
    ];
    let (_dir, path) = story(|s| {
        let mut out = s.replace(
            "ranges = [\"0370100000-0370109999\"]",
            &format!("ranges = [\"{}\", \"{}\", \"{}\"]", ranges[0], ranges[1], ranges[2]),
        );
        for r in ranges {
            out += "\n[[services]]\nnumbers = [\"";
            out += r;
            out += "\"]\ncarrier = \"9002\"\n";
        }
        out
    });
    let o = lnpsim(&["run", path.to_str().expect("path"), "--quiet"]);
    expect_exit(&o, 2, "3000001 numbers in all");
}

#[test]
fn invalid_utf8_is_named_by_line_field_and_byte_without_debug_dumps() {
    let dir = tempfile::tempdir().expect("temp dir");
    let header = dir.path().join("header.csv");
    std::fs::write(&header, b"seq,time\xff,from\n").expect("write");
    let o = lnpsim(&["audit", header.to_str().expect("path")]);
    expect_exit(&o, 2, "not valid UTF-8 in column 2");
    assert!(text(&o).contains("line 1"), "{}", text(&o));
    assert!(
        !text(&o).contains("Utf8 {") && !text(&o).contains("Position"),
        "{}",
        text(&o)
    );
    let row = dir.path().join("row.csv");
    std::fs::write(
        &row,
        b"seq,time,from,to,msg,ref,category,numbers,code,detail\n1,2026-03-02T09:00:00+11:00,9002,9001,SNA,P1,A,0255501234,,\xff\n",
    )
    .expect("write");
    let o = lnpsim(&["audit", row.to_str().expect("path")]);
    expect_exit(&o, 1, "line 2: not valid UTF-8: field 10 (byte 1 of it, 0xff)");
    // One of each, in the singular.
    assert!(
        text(&o).contains("1 row, 0 violations, 1 malformed row: FAIL"),
        "{}",
        text(&o)
    );
}

#[test]
fn rules_example_prints_a_complete_rulebook_that_loads_back_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let example = lnpsim(&["rules", "--example"]);
    assert_eq!(example.status.code(), Some(0));
    let text_of = String::from_utf8_lossy(&example.stdout).into_owned();
    for rule in lnp_model::RuleId::ALL {
        assert!(text_of.contains(&format!("[{rule}]")), "{rule} missing:\n{text_of}");
    }
    assert!(text_of.contains("[standard-hours]") && text_of.contains("[reject-codes.\"108\"]"));
    let path = dir.path().join("example.toml");
    std::fs::write(&path, &example.stdout).expect("write");
    let loaded = lnpsim(&["rules", "--rulebook", path.to_str().expect("path"), "--format", "json"]);
    let builtin = lnpsim(&["rules", "--format", "json"]);
    assert_eq!(loaded.status.code(), Some(0), "{}", text(&loaded));
    assert_eq!(loaded.stdout, builtin.stdout);
    // And an override shows through.
    std::fs::write(&path, "[ECA-RESPONSE]\nvalue = \"20m\"\n").expect("write");
    let o = lnpsim(&["rules", "--rulebook", path.to_str().expect("path"), "--example"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("[ECA-RESPONSE]\nvalue = \"20m\""));
}

#[test]
fn progress_is_drawn_only_on_a_terminal() {
    // Long enough for the progress counter to pass its first refresh (65,536 rows); stderr here
    // is a pipe, so nothing may be drawn on it.
    let (_dir, path) = story(|s| {
        let market = s.replace(
            "ranges = [\"0370100000-0370109999\"]",
            "ranges = [\"0370100000-0370199999\"]",
        );
        market + "\n[load]\nports = 8000\ncategories = { A = 1.0 }\nwindow = \"20d\"\n"
    });
    let o = lnpsim(&["run", path.to_str().expect("path"), "--quiet"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("8001 ports"),
        "{}",
        text(&o)
    );
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_runs_register_folder_routes_directly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plnr = dir.path().join("plnr");
    let p = plnr.to_str().expect("path");
    let o = lnpsim(&["run", "scenarios/cat-a-happy-path.toml", "--quiet", "--plnr-dir", p]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let alloc = plnr.join("allocations.csv");
    let o = lnpsim(&[
        "route",
        "0255501234",
        "--from",
        "9003",
        "--allocations",
        alloc.to_str().expect("path"),
        "--plnr",
        p,
    ]);
    expect_exit(&o, 0, "9003 -> 9002");
}

#[test]
fn run_format_json_is_one_object_for_machines() {
    let o = lnpsim(&["run", "scenarios/cat-a-late-answer.toml", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object, and nothing else");
    assert_eq!(v["passed"], true);
    assert_eq!(v["outcomes"]["completed"], 1);
    assert_eq!(v["ports"][0]["ref"], "P1");
    assert_eq!(v["ports"][0]["outcome"], "completed");
    assert_eq!(v["audit"]["findings"][0]["rule"], "ECA-RESPONSE");
    assert!(v["expectations"].as_array().is_some_and(|e| !e.is_empty()));
    // Deterministic: the same run gives the same bytes.
    let again = lnpsim(&["run", "scenarios/cat-a-late-answer.toml", "--format", "json"]);
    assert_eq!(o.stdout, again.stdout);
}

#[test]
fn calendar_answers_in_json_too() {
    let o = lnpsim(&[
        "calendar",
        "add",
        "2026-12-24T10:00:00+11:00",
        "2bd",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["result"], "2026-12-30T10:00:00+11:00");
    let o = lnpsim(&[
        "calendar",
        "business-day",
        "2026-10-05",
        "--holidays",
        "examples/holidays/nsw-2026-2027.csv",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["business_day"], false);
    assert_eq!(v["holidays"][0], "Labour Day (NSW)");
    let o = lnpsim(&["calendar", "holidays", "2026", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert!(
        v.as_array()
            .is_some_and(|a| a.iter().any(|h| h["date"] == "2026-12-28")),
        "{v}"
    );
}

#[test]
fn route_answers_in_json_too() {
    let o = lnpsim(&[
        "route",
        "0255501234",
        "--from",
        "9003",
        "--scenario",
        "scenarios/cat-a-happy-path.toml",
        "--at",
        "2026-03-09T12:00:00+11:00",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["hops"], serde_json::json!(["9003", "9001", "9002"]));
    assert_eq!(v["delivered"], true);
    assert_eq!(v["reasons"].as_array().map(Vec::len), Some(3));
}

#[test]
fn a_huge_value_is_quoted_in_part_not_echoed_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("t.csv");
    let huge = "x".repeat(200_000);
    std::fs::write(
        &trace,
        format!(
            "seq,time,from,to,msg,ref,category,numbers,code,detail\n1,2026-03-02T09:00:00+11:00,{huge},9001,SNA,P1,A,0255501234,,\n"
        ),
    )
    .expect("write");
    let o = lnpsim(&["audit", trace.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.len() < 4_000, "{} bytes of output", out.len());
    assert!(out.contains("200000 bytes in all"), "{out}");
}

/// Runs lnpsim with `input` on standard input.
fn lnpsim_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .args(args)
        .current_dir(root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run lnpsim");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn a_dash_reads_standard_input_and_writes_standard_output() {
    let trace = std::fs::read(root().join("tests/traces/eca_response_late.csv")).expect("trace");
    let o = lnpsim_stdin(
        &[
            "audit",
            "-",
            "--trace-format",
            "csv",
            "--format",
            "json",
            "--output",
            "-",
        ],
        &trace,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["findings"][0]["rule"], "ECA-RESPONSE");
    // Standard input has no extension: the format must be named.
    let o = lnpsim_stdin(&["audit", "-"], &trace);
    expect_exit(&o, 2, "--trace-format");
    let register = std::fs::read(root().join("plnr-samples/valid/9001-000001-full.plnr")).expect("register");
    let o = lnpsim_stdin(&["plnr", "validate", "-"], &register);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let scenario = std::fs::read(root().join("scenarios/cat-a-happy-path.toml")).expect("scenario");
    let o = lnpsim_stdin(&["run", "-", "--quiet"], &scenario);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn debug_logging_says_something_for_every_command_and_carries_virtual_time() {
    for args in [
        vec!["rules"],
        vec!["calendar", "holidays", "2026"],
        vec!["plnr", "validate", "plnr-samples/valid/9001-000001-full.plnr"],
        vec![
            "route",
            "0255501234",
            "--from",
            "9003",
            "--scenario",
            "scenarios/cat-a-happy-path.toml",
        ],
        vec!["audit", "tests/traces/eca_response_late.csv"],
        vec!["run", "scenarios/donor-notify-skipped.toml", "--quiet"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
            .args(&args)
            .current_dir(root())
            .env("RUST_LOG", "debug")
            .output()
            .expect("run lnpsim");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("start") && err.contains(args[0]), "{args:?}: {err}");
        assert!(
            !err.contains('\u{1b}'),
            "{args:?}: colours in a log that is not a terminal: {err}"
        );
    }
    let o = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .args(["run", "scenarios/donor-notify-skipped.toml", "--quiet"])
        .current_dir(root())
        .env("RUST_LOG", "debug")
        .output()
        .expect("run lnpsim");
    assert!(String::from_utf8_lossy(&o.stderr).contains("fault: skipped at=2026-03-02T09:01:49+11:00"));
}

#[test]
fn a_carriers_log_may_skip_seq_numbers_and_write_short_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("log.csv");
    // A filtered export (seq 10, 14, 15) whose reject code lost its leading zeros: 3 is 003.
    std::fs::write(
        &log,
        "seq,time,from,to,msg,ref,category,numbers,code,detail\n\
         10,2026-03-02T09:00:00+11:00,9002,9001,SNA,SNA-1,A,0255501234,,ca_date=2026-02-25;customer=Harbour Bakery\n\
         14,2026-03-02T09:05:00+11:00,9001,9002,SNA_REJECT,SNA-1,A,0255501234,3,\n\
         15,2026-03-02T09:06:00+11:00,9003,,GIVE_BACK,,,0370100001,,\n",
    )
    .expect("write");
    let o = lnpsim(&["audit", log.to_str().expect("path"), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["malformed_rows"], serde_json::json!([]), "{v}");
    assert_eq!(o.status.code(), Some(0), "{v}");
    // A seq that goes back is still malformed.
    std::fs::write(
        &log,
        "seq,time,from,to,msg,ref,category,numbers,code,detail\n\
         2,2026-03-02T09:00:00+11:00,9003,,GIVE_BACK,,,0370100001,,\n\
         1,2026-03-02T09:06:00+11:00,9003,,GIVE_BACK,,,0370100002,,\n",
    )
    .expect("write");
    let o = lnpsim(&["audit", log.to_str().expect("path")]);
    expect_exit(&o, 1, "seq: 1 does not increase");
}

#[test]
fn times_without_an_offset_need_assume_offset_sydney() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("log.csv");
    std::fs::write(
        &log,
        "seq,time,from,to,msg,ref,category,numbers,code,detail\n\
         1,2026-03-02 09:00:00,9002,9001,SNA,SNA-1,A,0255501234,,ca_date=2026-02-25\n\
         2,2026-03-02 09:05:00,9001,9002,SNA_CONFIRM,SNA-1,A,0255501234,,\n\
         3,2026-03-09T10:00:00,9002,9001,ECA,SNA-1,A,0255501234,,\n\
         4,2026-03-09T10:20:00,9001,9002,ECA_CONFIRM,SNA-1,A,0255501234,,\n",
    )
    .expect("write");
    let p = log.to_str().expect("path");
    let refused = lnpsim(&["audit", p]);
    expect_exit(&refused, 1, "--assume-offset sydney");
    let read = lnpsim(&["audit", p, "--assume-offset", "sydney", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&read.stdout).expect("JSON");
    assert_eq!(v["malformed_rows"], serde_json::json!([]), "{v}");
    // Read as Sydney time (AEDT in March): the late ECA answer is found, 20 minutes after.
    assert_eq!(v["findings"][0]["rule"], "ECA-RESPONSE", "{v}");
}

#[test]
fn the_example_carrier_log_audits_as_its_readme_says() {
    let o = lnpsim(&[
        "audit",
        "examples/carrier-log/alpha-porting-export.csv",
        "--assume-offset",
        "sydney",
        "--scenario",
        "examples/carrier-log/market.toml",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["malformed_rows"], serde_json::json!([]), "{v}");
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["findings"][0]["rule"], "ECA-RESPONSE");
    assert_eq!(v["findings"][0]["seq"], serde_json::json!([110, 111]));
}

#[test]
fn plnr_validate_streams_every_error_as_valid_json() {
    let sample = std::fs::read_to_string(root().join("plnr-samples/valid/9001-000001-full.plnr")).expect("sample");
    let mut lines = sample.lines();
    let header = lines.next().expect("header");
    let good = lines.next().expect("a detail record");
    let bad = format!("{}02555O1234{}", &good[..2], &good[12..]);
    let n = 20_000;
    let mut text = format!("{header}\n");
    for _ in 0..n {
        text.push_str(&bad);
        text.push('\n');
    }
    let trailer = format!("T{n:09}{:012}{}\n", 0, " ".repeat(42));
    text += &trailer;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("many.plnr");
    std::fs::write(&path, text).expect("write");
    let o = lnpsim(&[
        "plnr",
        "validate",
        "--max-errors",
        "0",
        "--format",
        "json",
        path.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(v["valid"], false);
    assert_eq!(v["files"][0]["errors"].as_array().map(Vec::len), Some(n));
    assert_eq!(v["files"][0]["truncated"], false);
    let o = lnpsim(&["plnr", "validate", "--max-errors", "0", path.to_str().expect("path")]);
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("invalid ({n} errors)")));
}

/// The example command lines of a `--help`, continuation lines joined.
fn help_examples(cmd: &[&str]) -> Vec<String> {
    let help = String::from_utf8_lossy(&lnpsim(cmd).stdout).into_owned();
    let Some(at) = help.find("Examples") else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    let mut pending = String::new();
    for line in help[at..].lines().skip(1) {
        let l = line.trim();
        if l.is_empty() {
            if out.is_empty() && pending.is_empty() {
                continue;
            }
            break;
        }
        if pending.is_empty() && !(l.starts_with("lnpsim ") || l.contains("| lnpsim ")) {
            continue; // prose between examples
        }
        pending.push_str(l.trim_end_matches('\\').trim_end());
        if l.ends_with('\\') {
            pending.push(' ');
        } else {
            // Comments after a command (`# 2026-12-30…`) are for people.
            let command = pending.split(" # ").next().unwrap_or_default().to_string();
            out.push(command);
            pending.clear();
        }
    }
    out
}

#[test]
fn the_help_examples_run_as_pasted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tmp = dir.path().to_str().expect("path").to_string();
    let bin = env!("CARGO_BIN_EXE_lnpsim");
    let mut ran = 0;
    // (help, whether its examples may report findings: exit 1 is then their answer)
    for (cmd, findings) in [
        // The top-level help: its audit example reports a late answer.
        (vec!["--help"], true),
        (vec!["run", "--help"], false),
        (vec!["sweep", "--help"], false),
        (vec!["route", "--help"], false),
        (vec!["calendar", "add", "--help"], false),
        (vec!["calendar", "business-day", "--help"], false),
        (vec!["calendar", "holidays", "--help"], false),
        (vec!["rules", "--help"], false),
        (vec!["plnr", "convert", "--help"], false),
        (vec!["plnr", "apply", "--help"], false),
        (vec!["plnr", "diff", "--help"], false),
        (vec!["plnr", "stats", "--help"], false),
        (vec!["plnr", "gen", "--help"], false),
        (vec!["plnr", "validate", "--help"], true),
        (vec!["audit", "--help"], true),
        (vec!["plan", "--help"], false),
        (vec!["plan", "windows", "--help"], false),
        (vec!["plan", "migration", "--help"], false),
        // The tracker's examples build one database in order; `due` reports what is overdue.
        (vec!["track", "--help"], true),
        (vec!["report", "--help"], true),
    ] {
        for example in help_examples(&cmd) {
            if example.contains("scenarios/bench/") {
                continue; // a benchmark: minutes in a debug build, and measured by hand
            }
            let line = example
                .replace("/tmp/", &format!("{tmp}/"))
                .replace("my-rulebook.toml", &format!("{tmp}/my-rulebook.toml"))
                .replace("lnpsim ", &format!("{bin} "));
            let o = Command::new("sh")
                .arg("-c")
                .arg(&line)
                .current_dir(root())
                .output()
                .expect("sh");
            let ok = o.status.code() == Some(0) || (findings && o.status.code() == Some(1));
            assert!(ok, "{example}\n{:?}\n{}", o.status.code(), text(&o));
            ran += 1;
        }
    }
    assert!(ran >= 25, "ran {ran} examples");
}

#[test]
fn every_plnr_argument_has_help_text() {
    for sub in ["validate", "convert", "apply", "diff", "stats", "gen"] {
        let help = String::from_utf8_lossy(&lnpsim(&["plnr", sub, "--help"]).stdout).into_owned();
        let mut in_section = false;
        for line in help.lines() {
            if line == "Arguments:" || line == "Options:" {
                in_section = true;
                continue;
            }
            if !line.starts_with(' ') {
                in_section = false;
            }
            let l = line.trim_start();
            // Only the argument lists, indented by two: not examples or prose below them.
            let is_arg = in_section && line.starts_with("  ") && (l.starts_with('<') || l.starts_with('-'));
            // An argument line is its name, then two or more spaces, then its help.
            if is_arg && !l.starts_with("-h,") && !l.starts_with("-V,") {
                let rest = l.split_once("  ").map(|(_, r)| r.trim());
                assert!(
                    rest.is_some_and(|r| !r.is_empty()),
                    "plnr {sub}: no help for {l:?}\n{help}"
                );
            }
        }
    }
}

#[test]
fn the_json_report_says_why_each_rule_is_not_checked() {
    let o = lnpsim(&["audit", "tests/traces/eca_response_late.csv", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let rules = v["not_checked"].as_array().expect("not_checked").clone();
    assert!(!rules.is_empty());
    for r in rules {
        let rule = r.as_str().expect("a rule ID");
        let why = v["not_checked_reasons"][rule].as_str().unwrap_or_default();
        assert!(!why.is_empty(), "no reason for {rule}: {v}");
    }
}

/// Audits `csv` (a trace) with extra arguments and returns the JSON report and exit status.
fn audit_json(csv: &str, extra: &[&str]) -> (serde_json::Value, Option<i32>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("log.csv");
    std::fs::write(&path, csv).expect("write trace");
    let mut args = vec!["audit", path.to_str().expect("utf-8 path"), "--format", "json"];
    args.extend_from_slice(extra);
    let o = lnpsim(&args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    (v, o.status.code())
}

const HEADER: &str = "seq,time,from,to,msg,ref,category,numbers,code,detail\n";

/// A complete, compliant Cat A port, one row per line after the header.
const PORT: [&str; 6] = [
    "1,2026-03-02T09:00:00+11:00,9002,9001,SNA,SNA-1,A,0255501234,,ca_date=2026-02-25",
    "2,2026-03-02T09:05:00+11:00,9001,9002,SNA_CONFIRM,SNA-1,A,0255501234,,",
    "3,2026-03-09T10:00:00+11:00,9002,9001,ECA,SNA-1,A,0255501234,,",
    "4,2026-03-09T10:05:00+11:00,9001,9002,ECA_CONFIRM,SNA-1,A,0255501234,,",
    "5,2026-03-09T10:06:00+11:00,9001,,CUTOVER,SNA-1,A,0255501234,,current=9002",
    "6,2026-03-09T10:07:00+11:00,9001,9002,COMPLETION,SNA-1,A,0255501234,,",
];

fn trace(rows: &[&str]) -> String {
    let mut t = HEADER.to_string();
    for r in rows {
        t.push_str(r);
        t.push('\n');
    }
    t
}

fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn one_far_future_row_is_one_malformed_row_and_the_rest_are_judged() {
    // Before: every row after the one dated ten years ahead was malformed, with spurious
    // findings. Now that row alone is malformed, its port is not judged, and the real port
    // (whose ECA was answered 20 minutes late) is judged normally.
    let mut rows = PORT.to_vec();
    rows[3] = "4,2026-03-09T10:20:00+11:00,9001,9002,ECA_CONFIRM,SNA-1,A,0255501234,,";
    rows.insert(
        2,
        "3,2036-03-09T10:00:00+11:00,9002,9001,SNA,SNA-2,A,0255501235,,ca_date=2026-02-25",
    );
    let renumbered: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{}{}", i + 1, &r[r.find(',').expect("seq")..]))
        .collect();
    let refs: Vec<&str> = renumbered.iter().map(String::as_str).collect();
    let (v, code) = audit_json(&trace(&refs), &[]);
    assert_eq!(code, Some(1));
    let malformed = v["malformed_rows"].as_array().expect("array");
    assert_eq!(malformed.len(), 1, "{v:#}");
    assert_eq!(malformed[0]["line"], 4);
    assert!(malformed[0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("reorder window"));
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["ECA-RESPONSE"], "{v:#}");
    assert_eq!(v["not_judged"][0]["ref"], "SNA-2");
    assert_eq!(v["not_judged"][0]["lines"], serde_json::json!([4]));
}

#[test]
fn rows_listed_out_of_time_order_within_the_window_are_reordered_not_violations() {
    // The ECA_CONFIRM listed before its ECA (times 10:05, then 10:00): before, a false
    // "never answered". Within the reorder window both are judged at their own times.
    let mut rows = PORT.to_vec();
    rows.swap(2, 3);
    let renumbered: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{}{}", i + 1, &r[r.find(',').expect("seq")..]))
        .collect();
    let refs: Vec<&str> = renumbered.iter().map(String::as_str).collect();
    let (v, code) = audit_json(&trace(&refs), &[]);
    assert_eq!(v["findings"], serde_json::json!([]), "{v:#}");
    assert_eq!(v["malformed_rows"], serde_json::json!([]));
    assert_eq!(strs(&v["reordered_rows"]).len(), 1, "{v:#}");
    assert_eq!(code, Some(0), "reordering alone does not change the exit status");
    // With no reorder window the same row is malformed, and its port is not judged.
    let (v, code) = audit_json(&trace(&refs), &["--reorder-window", "0s"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["findings"], serde_json::json!([]), "{v:#}");
    assert_eq!(v["not_judged"][0]["ref"], "SNA-1");
}

#[test]
fn an_answer_in_the_same_second_listed_before_its_request_is_its_answer() {
    let mut rows = PORT.to_vec();
    rows[2] = "3,2026-03-09T10:00:00+11:00,9001,9002,ECA_CONFIRM,SNA-1,A,0255501234,,";
    rows[3] = "4,2026-03-09T10:00:00+11:00,9002,9001,ECA,SNA-1,A,0255501234,,";
    let (v, code) = audit_json(&trace(&rows), &[]);
    assert_eq!(v["findings"], serde_json::json!([]), "{v:#}");
    assert_eq!(code, Some(0));
}

#[test]
fn no_finding_is_drawn_from_a_malformed_row_nor_from_its_absence() {
    // The ECA_CONFIRM has a bad time: without it the ECA looks unanswered, but the port is
    // withheld, not charged.
    let mut rows = PORT.to_vec();
    rows[3] = "4,tuesday,9001,9002,ECA_CONFIRM,SNA-1,A,0255501234,,";
    // A later row, so that the ECA's deadline has passed by the end of the trace.
    rows.push("7,2026-03-09T11:00:00+11:00,9003,,GIVE_BACK,,,0370100001,,");
    let (v, code) = audit_json(&trace(&rows), &[]);
    assert_eq!(code, Some(1), "a malformed row is still exit 1");
    assert_eq!(v["findings"], serde_json::json!([]), "{v:#}");
    assert_eq!(
        v["not_judged"],
        serde_json::json!([{"ref": "SNA-1", "lines": [5], "reason": "row 5 of this port is malformed"}])
    );
    // Where the ref cannot be read but the numbers can, the ports of those numbers are withheld.
    rows[3] = "4,tuesday,9001,9002,ECA_CONFIRM,SNA 1 ?,A,0255501234,,";
    let (v, _) = audit_json(&trace(&rows), &[]);
    assert_eq!(v["findings"], serde_json::json!([]), "{v:#}");
    assert_eq!(v["not_judged"][0]["ref"], "SNA-1", "{v:#}");
    // Where neither can, nothing is withheld: the unanswered ECA is charged.
    rows[3] = "4,tuesday,9001,9002,ECA_CONFIRM,SNA 1 ?,A,not-a-number,,";
    let (v, _) = audit_json(&trace(&rows), &[]);
    assert_eq!(v["findings"][0]["rule"], "ECA-RESPONSE", "{v:#}");
    assert_eq!(v["not_judged"], serde_json::json!([]));
}

#[test]
fn a_port_not_judged_leaves_the_pnv_statistic() {
    // Two PNVs: one answered in time, one answered 10 business days late. The late one's port
    // has a malformed row, so the statistic is 1 of 1, a pass.
    let rows = [
        "1,2026-03-02T09:00:00+11:00,9002,9001,PNV,PNV-1,C,0255501234,,ca_date=2026-02-25",
        "2,2026-03-02T10:00:00+11:00,9001,9002,PNV_RESPONSE,PNV-1,C,0255501234,0255501234:P,",
        "3,2026-03-02T09:00:00+11:00,9002,9001,PNV,PNV-2,C,0255501235,,ca_date=2026-02-25",
        "4,2026-03-16T10:00:00+11:00,9001,9002,PNV_RESPONSE,PNV-2,C,0255501235,0255501235:P,",
        "5,soon,9002,9001,CNA,PNV-2,C,0255501235,,",
    ];
    let (v, _) = audit_json(&trace(&rows), &[]);
    let stat = &v["statistics"][0];
    assert_eq!(stat["status"], "pass", "{v:#}");
    assert!(stat["value"].as_str().unwrap_or_default().contains("of 1 "), "{v:#}");
}

#[test]
fn as_code_judges_only_that_carriers_duties_and_says_what_its_log_cannot_show() {
    // The losing carrier 9001 answers the ECA late. Judged as 9001's log: charged. Judged as
    // the gaining carrier 9002's log: not 9002's duty.
    let mut rows = PORT.to_vec();
    rows[3] = "4,2026-03-09T10:20:00+11:00,9001,9002,ECA_CONFIRM,SNA-1,A,0255501234,,";
    let (v, code) = audit_json(&trace(&rows), &["--as", "9001"]);
    assert_eq!(v["findings"][0]["rule"], "ECA-RESPONSE", "{v:#}");
    assert_eq!(v["as"], "9001");
    assert_eq!(code, Some(1));
    // Its log shows no donor of the number it cut over: another donor's transit routing and
    // register rows could not be in it, so those duties are not checked, and say why.
    assert!(
        v["not_checked_reasons"]["DTR-DURATION"]
            .as_str()
            .unwrap_or_default()
            .contains("donor"),
        "{v:#}"
    );
    // 9002's log does not hold the losing carrier's CUTOVER: that row is refused.
    let gaining: Vec<&str> = rows.iter().copied().filter(|r| !r.contains("CUTOVER")).collect();
    let (v, code) = audit_json(&trace(&gaining), &["--as", "9002"]);
    assert_eq!(v["findings"], serde_json::json!([]), "{v:#}");
    assert_eq!(code, Some(0), "{v:#}");
    // A row 9002 neither sent, received nor did cannot be in its log.
    let (v, code) = audit_json(&trace(&rows), &["--as", "9002"]);
    assert_eq!(code, Some(1));
    assert!(
        v["malformed_rows"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--as"),
        "{v:#}"
    );
    // A donor that is not the losing carrier cannot see the cutover: its duties are not
    // checked, with the reason, instead of passing silently.
    let donor = [
        "1,2026-03-09T10:06:00+11:00,9001,9003,DONOR_NOTIFY,SNA-1,A,0255501234,,status=C",
        "2,2026-03-09T10:10:00+11:00,9003,,DTR_START,SNA-1,A,0255501234,,current=9002",
    ];
    let (v, _) = audit_json(&trace(&donor), &["--as", "9003"]);
    let reasons = &v["not_checked_reasons"];
    assert!(
        reasons["DTR-DURATION"].as_str().unwrap_or_default().contains("9003"),
        "{v:#}"
    );
    assert!(reasons["PLNR-UPDATE"].is_string(), "{v:#}");
}

#[test]
fn the_reorder_window_is_elapsed_time() {
    for bad in ["2bd", "-1h", "1mo", "soon"] {
        let o = lnpsim(&["audit", "tests/traces/eca_response_late.csv", "--reorder-window", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
    }
}
