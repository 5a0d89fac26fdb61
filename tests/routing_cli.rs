//! End-to-end tests of `lnpsim route` over tests/routing-fixtures/: allocations for donors 9001
//! and 9002, and a market directory of PLNR-SIM/1 files (9001: two updates; 9002: a snapshot).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "routing-fixtures", name]
        .iter()
        .collect();
    p.display().to_string()
}

fn lnpsim(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lnpsim");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    child.wait_with_output().expect("wait for lnpsim")
}

fn route(number: &str, from: &str, at: Option<&str>) -> (String, String, i32) {
    let alloc = fixture("allocations.csv");
    let market = fixture("market");
    let mut args = vec![
        "route",
        number,
        "--from",
        from,
        "--allocations",
        &alloc,
        "--plnr",
        &market,
    ];
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    let out = lnpsim(&args, None);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[test]
fn a_number_never_ported_goes_to_its_donor() {
    let (out, err, code) = route("0255509999", "9003", None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first_line(&out), "0255509999 from 9003: 9003 -> 9001");
    assert!(out.contains("not ported: allocated to donor 9001"), "{out}");
    let (out, _, _) = route("0255509999", "9001", None);
    assert_eq!(first_line(&out), "0255509999 from 9001: 9001");
}

#[test]
fn ported_once_then_third_party_with_the_record_that_decided() {
    // Before any file was created: the donor.
    let (out, _, _) = route("0255501234", "9003", Some("2026-03-09T12:00:00+11:00"));
    assert!(
        out.starts_with("0255501234 from 9003 at 2026-03-09T12:00:00+11:00: 9003 -> 9001\n"),
        "{out}"
    );
    // After 9001's first update: ported once, to 9002.
    let (out, _, _) = route("0255501234", "9003", Some("2026-03-15T12:00:00+11:00"));
    assert!(out.contains(": 9003 -> 9002\n"), "{out}");
    assert!(out.contains("9001-000001-U.plnr:2: action A"), "{out}");
    // After the second: ported again (third party), to 9004.
    let (out, err, code) = route("0255501234", "9003", None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first_line(&out), "0255501234 from 9003: 9003 -> 9004");
    assert!(out.contains("9001-000002-U.plnr:2: action C"), "{out}");
    let (out, _, _) = route("0255501234", "9004", None);
    assert_eq!(first_line(&out), "0255501234 from 9004: 9004");
}

#[test]
fn given_back_returned_and_not_proceeded_route_to_the_donor() {
    for number in ["0255501235", "0255501236", "0255501237"] {
        let (out, err, code) = route(number, "9002", None);
        assert_eq!(code, 0, "{err}");
        assert_eq!(first_line(&out), format!("{number} from 9002: 9002 -> 9001"), "{out}");
    }
}

#[test]
fn outside_every_allocation_is_unreachable() {
    let (out, _, code) = route("0299999999", "9003", None);
    assert_eq!(code, 0);
    assert_eq!(first_line(&out), "0299999999 from 9003: unreachable (9003)");
    assert!(out.contains("outside every allocation"), "{out}");
}

#[test]
fn batch_writes_one_path_per_line() {
    let alloc = fixture("allocations.csv");
    let market = fixture("market");
    let args = [
        "route",
        "--batch",
        "--from",
        "9003",
        "--allocations",
        &alloc,
        "--plnr",
        &market,
    ];
    let out = lnpsim(&args, Some("0255501234\n0370100001\n\n0370100002\n0299999999\n"));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0255501234 9003 -> 9004\n0370100001 9003 -> 9001\n\n0370100002 9003 -> 9002\n0299999999 unreachable (9003)\n"
    );
    let out = lnpsim(&args, Some("0255501234\n02555O1234\n"));
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stdout.lines().nth(1).unwrap_or("").starts_with("02555O1234 error:"),
        "{stdout}"
    );
}

#[test]
fn export_feed_and_csv() {
    let alloc = fixture("allocations.csv");
    let market = fixture("market");
    let out = lnpsim(
        &[
            "route",
            "export",
            "--allocations",
            &alloc,
            "--plnr",
            &market,
            "--format",
            "feed",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0255501234;9004\n0370100001;9001\n0370100003;9004\n"
    );
    let out = lnpsim(
        &[
            "route",
            "export",
            "--allocations",
            &alloc,
            "--plnr",
            &market,
            "--format",
            "csv",
        ],
        None,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "number,carrier,donor\n0255501234,9004,9001\n0370100001,9001,9002\n0370100003,9004,9002\n"
    );
    let at = [
        "route",
        "export",
        "--allocations",
        &alloc,
        "--plnr",
        &market,
        "--at",
        "2026-03-20T00:00:00+11:00",
    ];
    let out = lnpsim(&at, None);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0255501234;9002\n0255501235;9003\n0370100001;9001\n0370100003;9004\n"
    );
}

#[test]
fn a_sequence_gap_is_reported() {
    let alloc = fixture("allocations.csv");
    let gap = fixture("gap");
    let out = lnpsim(&["route", "export", "--allocations", &alloc, "--plnr", &gap], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("9001-000003-U.plnr") && err.contains("sequence gap: expected file 000002, found 000003"),
        "{err}"
    );
}

#[test]
fn overlapping_allocations_name_both_ranges() {
    let alloc = fixture("overlapping.csv");
    let out = lnpsim(
        &["route", "0255501234", "--from", "9003", "--allocations", &alloc],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("0255500000-0255509999") && err.contains("0255505000-0255505999"),
        "{err}"
    );
}

fn stdout_of(args: &[&str]) -> String {
    let out = lnpsim(args, None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn export_round_trips_through_plnr_convert_to_feed() {
    let alloc = fixture("allocations.csv");
    // A snapshot: the export is exactly the snapshot's feed.
    let snapshot = fixture("snapshot");
    let export = stdout_of(&[
        "route",
        "export",
        "--allocations",
        &alloc,
        "--plnr",
        &snapshot,
        "--format",
        "feed",
    ]);
    let file = fixture("snapshot/9002-000001-F.plnr");
    let feed = stdout_of(&["plnr", "convert", &file, "--to", "feed"]);
    assert_eq!(export, feed);
    // Snapshots and updates: applying each file's feed in sequence (later lines win, lines that
    // send a number back to its donor remove it) gives the export.
    let mut table = std::collections::BTreeMap::new();
    for name in [
        "market/9001-000001-U.plnr",
        "market/9001-000002-U.plnr",
        "market/9002-000001-F.plnr",
    ] {
        for line in stdout_of(&["plnr", "convert", &fixture(name), "--to", "feed"]).lines() {
            let (number, carrier) = line.split_once(';').expect("number;carrier");
            let donor = if number.starts_with("02") { "9001" } else { "9002" };
            if carrier == donor {
                table.remove(number);
            } else {
                table.insert(number.to_string(), carrier.to_string());
            }
        }
    }
    let applied: String = table
        .iter()
        .flat_map(|(n, c)| [n.as_str(), ";", c.as_str(), "\n"])
        .collect();
    let market = fixture("market");
    let export = stdout_of(&[
        "route",
        "export",
        "--allocations",
        &alloc,
        "--plnr",
        &market,
        "--format",
        "feed",
    ]);
    assert_eq!(export, applied);
}

fn lnpsim_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lnpsim");
    {
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin).expect("write stdin");
    }
    child.wait_with_output().expect("wait for lnpsim")
}

#[test]
fn batch_answers_every_line_and_goes_on_past_bad_ones() {
    let alloc = fixture("allocations.csv");
    let market = fixture("market");
    let scenario: PathBuf = [env!("CARGO_MANIFEST_DIR"), "scenarios", "cat-a-happy-path.toml"]
        .iter()
        .collect();
    let scenario = scenario.display().to_string();
    let input: &[u8] = b"0255501234\n\xff\xfe1234\n\n   \n# a comment\n02555O1234\r\n0370100001\n0255509999";
    let from_files = [
        "route",
        "--batch",
        "--from",
        "9003",
        "--allocations",
        &alloc,
        "--plnr",
        &market,
    ];
    let from_scenario = ["route", "--batch", "--from", "9003", "--scenario", &scenario];
    for (args, first, last) in [
        (&from_files[..], "0255501234 9003 -> 9004", "0255509999 9003 -> 9001"),
        (&from_scenario[..], "0255501234 9003 -> 9002", "0255509999 9003 -> 9001"),
    ] {
        let out = lnpsim_bytes(args, input);
        let stdout = String::from_utf8_lossy(&out.stdout);
        // Bad input is exit 2, but every line is answered, in order.
        assert_eq!(
            out.status.code(),
            Some(2),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = stdout.split('\n').collect();
        assert_eq!(lines.len(), 9, "one output line per input line:\n{stdout}");
        assert_eq!(lines[0], first, "{stdout}");
        assert!(
            lines[1].starts_with("\u{FFFD}\u{FFFD}1234 error: line 2: not UTF-8"),
            "{stdout}"
        );
        assert_eq!(&lines[2..5], ["", "", "# a comment"], "{stdout}");
        assert!(lines[5].starts_with("02555O1234 error: line 6: "), "{stdout}");
        assert!(lines[6].starts_with("0370100001 9003 -> "), "{stdout}");
        assert_eq!(lines[7], last, "{stdout}");
        assert_eq!(lines[8], "", "{stdout}");
    }
    // Good lines only: exit 0.
    let out = lnpsim_bytes(&from_files, b"0255501234\n\n# note\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0255501234 9003 -> 9004\n\n# note\n"
    );
    // The help says so.
    let help = lnpsim(&["route", "--help"], None);
    let help = String::from_utf8_lossy(&help.stdout);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("every input line gets exactly one output line"), "{help}");
    assert!(help.contains("2 bad input"), "{help}");
}
