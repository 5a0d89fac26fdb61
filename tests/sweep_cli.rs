//! `lnpsim sweep`: a story under many seeds, with shards, formats and exit status.

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

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn every_seed_of_a_compliant_story_holds() {
    let o = lnpsim(&[
        "sweep",
        "scenarios/cat-a-happy-path.toml",
        "--seeds",
        "1..200",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v["seeds"], 200);
    assert_eq!(v["passed"], 200);
    assert_eq!(v["failed"], serde_json::json!([]));
    // A story with a late answer holds its expectations, and its findings are counted by rule.
    let o = lnpsim(&[
        "sweep",
        "scenarios/cat-a-late-answer.toml",
        "--seeds",
        "1..50",
        "--format",
        "json",
    ]);
    let v = json(&o);
    assert_eq!(v["passed"], 50);
    assert!(v["by_rule"]["ECA-RESPONSE"].as_u64().unwrap_or(0) >= 50, "{v:#}");
}

#[test]
fn shards_together_run_exactly_the_seeds_of_the_whole() {
    let whole = json(&lnpsim(&[
        "sweep",
        "scenarios/cat-a-late-answer.toml",
        "--seeds",
        "3..100",
        "--format",
        "json",
    ]));
    let mut seeds = 0;
    let mut findings = 0;
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let v = json(&lnpsim(&[
            "sweep",
            "scenarios/cat-a-late-answer.toml",
            "--seeds",
            "3..100",
            "--shard",
            &shard,
            "--format",
            "json",
        ]));
        seeds += v["seeds"].as_u64().unwrap_or(0);
        findings += v["by_rule"]["ECA-RESPONSE"].as_u64().unwrap_or(0);
    }
    assert_eq!(seeds, 98);
    assert_eq!(whole["seeds"], 98);
    assert_eq!(whole["by_rule"]["ECA-RESPONSE"], findings);
}

#[test]
fn a_failing_seed_is_listed_with_the_command_that_replays_it() {
    let base = std::fs::read_to_string(root().join("scenarios/cat-a-happy-path.toml")).expect("scenario");
    let wrong = base.replacen("state = \"completed\"", "state = \"rejected\"", 1);
    assert_ne!(base, wrong);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("wrong.toml");
    std::fs::write(&path, wrong).expect("write");
    let p = path.to_str().expect("utf-8 path");
    let o = lnpsim(&["sweep", p, "--seeds", "10..14", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["passed"], 0);
    assert_eq!(v["failed_count"], 5);
    assert_eq!(v["failed"][0]["seed"], 10);
    let command = v["failed"][0]["command"].as_str().expect("command").to_string();
    assert_eq!(command, format!("lnpsim run {p} --seed 10"));
    // The command replays the failure.
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    assert_eq!(lnpsim(&args).status.code(), Some(1));
    // Text and JUnit say the same.
    let text = String::from_utf8_lossy(&lnpsim(&["sweep", p, "--seeds", "10..14"]).stdout).into_owned();
    assert!(text.contains("0 held every expectation, 5 failed"), "{text}");
    assert!(text.contains(&command), "{text}");
    let junit =
        String::from_utf8_lossy(&lnpsim(&["sweep", p, "--seeds", "10..14", "--format", "junit"]).stdout).into_owned();
    assert!(junit.contains("failures=\"5\""), "{junit}");
    assert_eq!(junit.matches("<failure").count(), 5);
}

#[test]
fn the_report_is_the_same_whatever_the_number_of_threads() {
    let one = lnpsim(&[
        "sweep",
        "scenarios/cat-c-happy-path.toml",
        "--seeds",
        "1..300",
        "--jobs",
        "1",
        "--format",
        "json",
    ]);
    let two = lnpsim(&[
        "sweep",
        "scenarios/cat-c-happy-path.toml",
        "--seeds",
        "1..300",
        "--jobs",
        "2",
        "--format",
        "json",
    ]);
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(one.status.code(), Some(0));
}

#[test]
fn bad_seeds_or_shards_are_usage_errors() {
    for args in [
        vec!["--seeds", "5..1"],
        vec!["--seeds", "x"],
        // A bare number could mean one seed or that many seeds: refused, not guessed.
        vec!["--seeds", "4"],
        vec!["--seeds", "1..9", "--shard", "4/3"],
        vec!["--seeds", "1..9", "--shard", "0/3"],
        vec!["--seeds", "1..9", "--jobs", "0"],
    ] {
        let mut all = vec!["sweep", "scenarios/cat-a-happy-path.toml"];
        all.extend(args.iter());
        let o = lnpsim(&all);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // A shard with no seed of the range in it ran nothing, and nothing failed: a batch system
    // running shards 1/N to N/N over a range shorter than N must not see an error.
    let o = lnpsim(&[
        "sweep",
        "scenarios/cat-a-happy-path.toml",
        "--seeds",
        "8..8",
        "--shard",
        "2/2",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["seeds"], 0);
    assert_eq!(v["passed"], 0);
    assert_eq!(v["failed"], serde_json::json!([]));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds no seed"));
}
