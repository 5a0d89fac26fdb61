//! End-to-end tests of `lnpsim plnr`: apply, diff, gen, convert, stats, validate's JSON and
//! exit codes, and a layout loaded from TOML.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lnpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .args(args)
        .output()
        .expect("run lnpsim")
}

fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plnr-samples/valid")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tmp(dir: &tempfile::TempDir, name: &str) -> (PathBuf, String) {
    let p = dir.path().join(name);
    let s = p.to_string_lossy().into_owned();
    (p, s)
}

#[test]
fn apply_of_the_sample_updates_gives_the_next_sample_snapshot() {
    let out = lnpsim(&[
        "plnr",
        "apply",
        &sample("9001-000001-full.plnr"),
        &sample("9001-000002-update.plnr"),
        &sample("9001-000003-update-third-party.plnr"),
    ]);
    let want = fs::read(sample("9001-000004-full.plnr")).expect("sample");
    assert_eq!(ok(&out), String::from_utf8_lossy(&want));
}

#[test]
fn apply_refuses_a_sequence_gap() {
    let out = lnpsim(&[
        "plnr",
        "apply",
        &sample("9001-000001-full.plnr"),
        &sample("9001-000003-update-third-party.plnr"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected \"000002\""), "{err}");
}

#[test]
fn diff_then_apply_reaches_the_new_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, update) = tmp(&dir, "d.plnr");
    let old = sample("9001-000001-full.plnr");
    let new = sample("9001-000004-full.plnr");
    ok(&lnpsim(&["plnr", "diff", &old, &new, "-o", &update]));
    let text = fs::read_to_string(&update).expect("diff written");
    assert!(text.starts_with("HPLNRSIM190012026030400000220260304180000U"), "{text}");
    // 0870101111 went back to the donor.
    assert!(text.contains("DD087010111190019005C20260304180000D"), "{text}");
    let applied = ok(&lnpsim(&["plnr", "apply", &old, &update, "--seq", "4"]));
    assert_eq!(applied, fs::read_to_string(&new).expect("sample"));
}

#[test]
fn gen_is_deterministic_and_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, a_s) = tmp(&dir, "a.plnr");
    let (b, b_s) = tmp(&dir, "b.plnr");
    let (c, c_s) = tmp(&dir, "c.plnr");
    let args = [
        "plnr",
        "gen",
        "--records",
        "500",
        "--donor",
        "9001",
        "--seed",
        "42",
        "-o",
    ];
    ok(&lnpsim(&[&args[..], &[a_s.as_str()]].concat()));
    ok(&lnpsim(&[&args[..], &[b_s.as_str()]].concat()));
    ok(&lnpsim(&[
        "plnr",
        "gen",
        "--records",
        "500",
        "--donor",
        "9001",
        "--seed",
        "43",
        "-o",
        &c_s,
    ]));
    let (a, b, c) = (
        fs::read(a).expect("a"),
        fs::read(b).expect("b"),
        fs::read(c).expect("c"),
    );
    assert_eq!(a, b, "same seed, same bytes");
    assert_ne!(a, c, "another seed, another register");
    assert_eq!(a.len(), 65 * 502);
    let v = ok(&lnpsim(&["plnr", "validate", &a_s]));
    assert!(
        v.ends_with("valid (full snapshot, donor 9001, sequence 1, 500 detail records)\n"),
        "{v}"
    );
    // Fictitious ranges only: (0x) 5550 xxxx and 7010 xxxx.
    let text = String::from_utf8_lossy(&a);
    for line in text.lines().filter(|l| l.starts_with('D')) {
        assert!(matches!(&line[4..8], "5550" | "7010"), "{line}");
    }
}

#[test]
fn csv_converts_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, csv) = tmp(&dir, "u.csv");
    let src = sample("9001-000002-update.plnr");
    ok(&lnpsim(&["plnr", "convert", &src, "--to", "csv", "-o", &csv]));
    let text = fs::read_to_string(&csv).expect("csv");
    assert_eq!(
        text.lines().take(2).collect::<Vec<_>>(),
        [
            "action,number,current,losing,status,effective_at,category,ref",
            "A,0755501234,9002,9001,C,2026-03-03T10:05:00,A,SNA-000104"
        ]
    );
    let back = ok(&lnpsim(&[
        "plnr",
        "convert",
        &csv,
        "--from",
        "csv",
        "--to",
        "plnr",
        "--donor",
        "9001",
        "--seq",
        "2",
        "--kind",
        "update",
        "--created-at",
        "2026-03-03T18:00:00",
    ]));
    assert_eq!(back, fs::read_to_string(&src).expect("sample"));
}

#[test]
fn feed_and_jsonl() {
    let feed = ok(&lnpsim(&[
        "plnr",
        "convert",
        &sample("9001-000001-full.plnr"),
        "--to",
        "feed",
    ]));
    // The pending port of 0755501234 (from the donor) is not routed yet.
    assert_eq!(
        feed,
        "0255501001;9002\n0255501002;9003\n0355507001;9004\n0870101111;9005\n"
    );
    let update = ok(&lnpsim(&[
        "plnr",
        "convert",
        &sample("9001-000002-update.plnr"),
        "--to",
        "feed",
    ]));
    assert_eq!(
        update,
        "0755501234;9002\n0255502000;9003\n0870101111;9001\n0355509999;9001\n"
    );
    let jsonl = ok(&lnpsim(&[
        "plnr",
        "convert",
        &sample("9001-000001-full.plnr"),
        "--to",
        "jsonl",
    ]));
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0]["record"], "header");
    assert_eq!(lines[1]["number"], "0255501001");
    assert_eq!(lines[6]["detail_count"], 5);
}

#[test]
fn stats_counts_by_carrier_action_and_status() {
    let out = ok(&lnpsim(&[
        "plnr",
        "stats",
        "--format",
        "json",
        &sample("9001-000002-update.plnr"),
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["records"], 6);
    assert_eq!(v["by_action"]["A"], 5);
    assert_eq!(v["by_action"]["D"], 1);
    assert_eq!(v["by_status"]["C"], 3);
    assert_eq!(v["by_carrier"]["9004"], 2);
    let text = ok(&lnpsim(&["plnr", "stats", &sample("9001-000002-update.plnr")]));
    assert!(
        text.contains("by current carrier:\n  9001   1\n  9002   1\n  9003   2\n  9004   2\n"),
        "{text}"
    );
}

#[test]
fn validate_json_exit_codes_and_limits() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plnr-samples/invalid");
    let many = dir.join("many-errors.plnr").to_string_lossy().into_owned();
    let out = lnpsim(&["plnr", "validate", "--format", "json", &many]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["valid"], false);
    let errors = v["files"][0]["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 6);
    assert_eq!(errors[0]["line"], 3);
    assert_eq!(errors[0]["field"], "telephone number");
    assert_eq!(errors[0]["cols"], serde_json::json!([3, 12]));
    assert_eq!(errors[0]["found"], "\"02555O1234\"");
    assert_eq!(errors[0]["kind"], "not-digits");

    let limited = lnpsim(&["plnr", "validate", "--max-errors", "2", &many]);
    assert_eq!(limited.status.code(), Some(1));
    let text = String::from_utf8_lossy(&limited.stdout);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("invalid (2 errors; stopped at --max-errors 2)"), "{text}");

    let missing = lnpsim(&[
        "plnr",
        "validate",
        &sample("9001-000001-full.plnr"),
        "/nonexistent/x.plnr",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/x.plnr: cannot open"));
}

#[test]
fn another_layout_loads_from_toml() {
    let dir = tempfile::tempdir().expect("tempdir");
    let builtin = include_str!("../crates/plnr/layouts/plnr-sim-1.toml");
    // A carrier's layout: other record codes, a different tag and actions spelled out.
    let custom = builtin
        .replace("code = \"H\"", "code = \"0\"")
        .replace("code = \"D\"", "code = \"1\"")
        .replace("code = \"T\"", "code = \"9\"")
        .replace("PLNRSIM1", "CARRIER7");
    let (_, layout) = tmp(&dir, "carrier.toml");
    fs::write(&layout, custom).expect("write layout");
    let (file, file_s) = tmp(&dir, "carrier.dat");
    ok(&lnpsim(&[
        "plnr",
        "gen",
        "--records",
        "20",
        "--donor",
        "9003",
        "--seed",
        "1",
        "--layout",
        &layout,
        "-o",
        &file_s,
    ]));
    let text = fs::read_to_string(&file).expect("generated");
    assert!(text.starts_with("0CARRIER79003"), "{text}");
    ok(&lnpsim(&["plnr", "validate", "--layout", &layout, &file_s]));
    let builtin_view = lnpsim(&["plnr", "validate", &file_s]);
    assert_eq!(builtin_view.status.code(), Some(1));
    // Converting to the built-in layout gives the same register as generating it there.
    let converted = ok(&lnpsim(&[
        "plnr",
        "convert",
        &file_s,
        "--layout",
        &layout,
        "--to",
        "plnr",
        "--out-layout",
        "builtin",
    ]));
    let direct = ok(&lnpsim(&[
        "plnr",
        "gen",
        "--records",
        "20",
        "--donor",
        "9003",
        "--seed",
        "1",
    ]));
    assert_eq!(converted, direct);

    let (_, broken) = tmp(&dir, "broken.toml");
    fs::write(&broken, builtin.replace("width = 22", "width = 21")).expect("write");
    let out = lnpsim(&["plnr", "validate", "--layout", &broken, &file_s]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("column 64 belongs to no field"));
}

#[test]
fn help_says_whose_format_it_is_and_shows_examples() {
    for cmd in ["validate", "convert", "apply", "diff", "stats", "gen"] {
        let out = ok(&lnpsim(&["plnr", cmd, "--help"]));
        assert!(out.contains("Examples"), "{cmd}: {out}");
        assert!(out.contains("not G602.1's"), "{cmd}: {out}");
    }
}

/// The names in a directory, sorted: what a command left behind.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn convert_of_an_invalid_register_writes_nothing_and_keeps_an_existing_output() {
    // The hash total is wrong: the error is found at the trailer, after every record was read.
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("plnr-samples/invalid/hash-total.plnr");
    let bad = bad.to_string_lossy().into_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let (kept, kept_s) = tmp(&dir, "kept.out");
    fs::write(&kept, "the previous output\n").expect("write");
    let (fresh, fresh_s) = tmp(&dir, "fresh.out");
    for to in ["csv", "jsonl", "feed", "plnr"] {
        for target in [&kept_s, &fresh_s] {
            let out = lnpsim(&["plnr", "convert", &bad, "--to", to, "-o", target]);
            assert_eq!(out.status.code(), Some(2), "--to {to}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("hash-total.plnr:5: field \"hash total\""),
                "--to {to}: {err}"
            );
        }
        assert_eq!(
            fs::read_to_string(&kept).expect("kept"),
            "the previous output\n",
            "--to {to}"
        );
        assert!(!fresh.exists(), "--to {to}: a failed convert created its output");
        assert_eq!(
            listing(dir.path()),
            ["kept.out"],
            "--to {to}: temporary files left behind"
        );
        // To standard output, the register is checked before anything is printed.
        let out = lnpsim(&["plnr", "convert", &bad, "--to", to]);
        assert_eq!(out.status.code(), Some(2), "--to {to}");
        assert!(
            out.stdout.is_empty(),
            "--to {to}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // From CSV: a bad row after good ones.
    let (csv, csv_s) = tmp(&dir, "in.csv");
    fs::write(
        &csv,
        "action,number,current,losing,status,effective_at,category,ref\n\
         A,0255501001,9002,9001,C,2026-02-10T10:15:00,A,SNA-000101\n\
         A,0255501002,9002,9001,X,2026-02-10T10:15:00,A,SNA-000102\n",
    )
    .expect("write");
    let csv_args = |out: Option<&str>| {
        let mut args = vec![
            "plnr",
            "convert",
            csv_s.as_str(),
            "--from",
            "csv",
            "--to",
            "plnr",
            "--donor",
            "9001",
            "--seq",
            "1",
            "--kind",
            "full",
            "--created-at",
            "2026-03-02T18:00:00",
        ];
        if let Some(o) = out {
            args.extend(["-o", o]);
        }
        lnpsim(&args)
    };
    let out = csv_args(Some(&kept_s));
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fs::read_to_string(&kept).expect("kept"), "the previous output\n");
    assert_eq!(listing(dir.path()), ["in.csv", "kept.out"]);
    let out = csv_args(None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn convert_over_its_own_input_reads_it_whole_first() {
    // Writing through a temporary file, the output may name the input (here larger than the
    // reader's buffer, so that truncating it first would lose records).
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, s) = tmp(&dir, "r.plnr");
    ok(&lnpsim(&[
        "plnr",
        "gen",
        "--records",
        "10000",
        "--donor",
        "9001",
        "--seed",
        "3",
        "-o",
        &s,
    ]));
    let want = fs::read(&p).expect("generated");
    assert!(want.len() > 1 << 19, "{} bytes", want.len());
    ok(&lnpsim(&["plnr", "convert", &s, "--to", "plnr", "-o", &s]));
    assert_eq!(fs::read(&p).expect("output"), want);
    assert_eq!(listing(dir.path()), ["r.plnr"]);
}

#[cfg(unix)]
#[test]
fn an_output_file_gets_the_mode_a_new_file_would_have_or_keeps_its_own() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let (new, new_s) = tmp(&dir, "new.plnr");
    let (old, old_s) = tmp(&dir, "old.plnr");
    fs::write(&old, "x").expect("write");
    fs::set_permissions(&old, fs::Permissions::from_mode(0o640)).expect("chmod");
    let (plain, _) = tmp(&dir, "plain");
    fs::write(&plain, "x").expect("write");
    let gen = ["plnr", "gen", "--records", "5", "--donor", "9001", "--seed", "1", "-o"];
    for target in [&new_s, &old_s] {
        let mut args = gen.to_vec();
        args.push(target);
        ok(&lnpsim(&args));
    }
    let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&new), mode(&plain), "a new output file has the umask's mode");
    assert_eq!(mode(&old), 0o640, "an existing output file keeps its mode");
    assert_eq!(listing(dir.path()), ["new.plnr", "old.plnr", "plain"]);
}

#[test]
fn gen_checks_the_date_before_writing_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, s) = tmp(&dir, "g.plnr");
    let args = [
        "plnr",
        "gen",
        "--records",
        "50",
        "--donor",
        "9001",
        "--seed",
        "1",
        "--date",
    ];
    for date in ["0001-01-01", "0001-12-31"] {
        let mut a = args.to_vec();
        a.push(date);
        let out = lnpsim(&a);
        assert_eq!(out.status.code(), Some(2), "--date {date}");
        assert!(
            out.stdout.is_empty(),
            "--date {date}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("--date {date}:")) && err.contains("0002-01-01 to 9999-12-31"),
            "{err}"
        );
        a.extend(["-o", &s]);
        assert_eq!(lnpsim(&a).status.code(), Some(2));
        assert!(!p.exists(), "--date {date}: a failed gen created its output");
        assert!(listing(dir.path()).is_empty(), "temporary files left behind");
    }
    // The first date whose records all fit, and the last.
    for date in ["0002-01-01", "9999-12-31"] {
        let mut a = args.to_vec();
        a.extend([date, "-o", &s]);
        ok(&lnpsim(&a));
        ok(&lnpsim(&["plnr", "validate", &s]));
    }
}

/// A register of 60,000 records (several chunks) with errors at the start, the middle, chunk
/// edges and the end: `validate` prints the same, text and JSON, with any number of threads,
/// from a file and from a pipe.
#[test]
fn validate_is_the_same_on_any_number_of_threads() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let (good, good_s) = tmp(&dir, "good.plnr");
    ok(&lnpsim(&[
        "plnr",
        "gen",
        "--records",
        "60000",
        "--donor",
        "9001",
        "--seed",
        "4",
        "-o",
        &good_s,
    ]));
    let bytes = fs::read(&good).expect("the register");
    let mut lines: Vec<Vec<u8>> = bytes.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    // 65 bytes a line: lines 8066 and 8067 straddle the first 512 KiB chunk's end.
    for i in [1, 2, 8065, 8066, 8067, 16_131, 30_000, 59_999] {
        lines[i][5] = b'X';
    }
    let dup = lines[20_000].clone();
    lines.insert(40_000, dup);
    lines[50_000].truncate(30);
    lines[50_000].push(b'\n');
    let (bad, bad_s) = tmp(&dir, "bad.plnr");
    fs::write(&bad, lines.concat()).expect("write");
    for args in [
        vec!["--max-errors", "0"],
        vec!["--max-errors", "3"],
        vec!["--format", "json", "--max-errors", "0"],
    ] {
        let run = |threads: &str| {
            let mut all = vec!["plnr", "validate", "--threads", threads];
            all.extend(&args);
            all.push(&bad_s);
            all.push(&good_s);
            let out = lnpsim(&all);
            assert_eq!(out.status.code(), Some(1));
            out.stdout
        };
        let one = run("1");
        assert!(
            String::from_utf8_lossy(&one).contains("bad.plnr:8066:"),
            "{}",
            String::from_utf8_lossy(&one)
        );
        for threads in ["2", "3", "0"] {
            assert_eq!(run(threads), one, "--threads {threads} {args:?}");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
            .args(["plnr", "validate", "--threads", "2"])
            .args(&args)
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run lnpsim");
        let mut stdin = child.stdin.take().expect("stdin");
        let data = fs::read(&bad).expect("read");
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let out = child.wait_with_output().expect("wait");
        // With a limit the validator may stop reading before the end: a broken pipe then.
        let _ = writer.join().expect("writer");
        let from_file = {
            let mut all = vec!["plnr", "validate", "--threads", "1"];
            all.extend(&args);
            all.push(&bad_s);
            lnpsim(&all).stdout
        };
        let name = bad_s.as_bytes();
        // The same diagnostics, the file named "-".
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&from_file).replace(&*String::from_utf8_lossy(name), "-"),
            "from a pipe, {args:?}"
        );
    }
}
