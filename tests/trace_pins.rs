//! The trace bytes of fixed-seed runs, pinned: an optimisation of the engine, the actors, the
//! queue or the writer must leave every trace byte for byte as it was.
//!
//! `tests/golden/trace-hashes.txt` holds, for every bundled story and for a 5,000-port cut of
//! `scenarios/bench/market-100k.toml`, the length and FNV-1a 64 hash of the CSV trace that
//! `lnpsim run SCENARIO --quiet --trace FILE` writes, and of its JSON Lines trace for the market.
//! A change meant to alter traces regenerates the file with
//! `LNPSIM_BLESS=1 cargo test --test trace_pins`; review the diff (only the stories you meant
//! should change).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[path = "trace-support/fnv.rs"]
mod fnv;

/// The trace of one run, as `lnpsim run` writes it.
fn trace_of(scenario: &Path, ext: &str, dir: &Path) -> Vec<u8> {
    let out = dir.join(format!("trace.{ext}"));
    let run = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .arg("run")
        .arg(scenario)
        .arg("--quiet")
        .arg("--trace")
        .arg(&out)
        .current_dir(root())
        .output()
        .expect("run lnpsim");
    // Stories that expect findings exit 1; only bad input (2) is a failure here.
    assert!(
        run.status.code().is_some_and(|c| c < 2),
        "{}: {}",
        scenario.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read(&out).expect("read the trace")
}

#[test]
fn fixed_seed_traces_are_byte_for_byte_as_pinned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stories: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    stories.sort();
    assert!(stories.len() >= 50, "the bundled stories are found");

    // A cut of the 100k-port market: the same carriers, load and seed, 5,000 ports.
    let market = std::fs::read_to_string(root().join("scenarios/bench/market-100k.toml")).expect("market");
    assert!(market.contains("ports = 100000"));
    let cut = dir.path().join("market-5k.toml");
    std::fs::write(&cut, market.replace("ports = 100000", "ports = 5000")).expect("write the cut");

    let mut got = String::new();
    let mut line = |name: &str, bytes: &[u8]| {
        let _ = writeln!(got, "{name} {} {:016x}", bytes.len(), fnv::fnv1a(fnv::START, bytes));
    };
    for s in &stories {
        let name = s.strip_prefix(root()).unwrap_or(s).display().to_string();
        line(&name, &trace_of(s, "csv", dir.path()));
    }
    line(
        "market-100k cut to 5000 ports (csv)",
        &trace_of(&cut, "csv", dir.path()),
    );
    line(
        "market-100k cut to 5000 ports (jsonl)",
        &trace_of(&cut, "jsonl", dir.path()),
    );

    let pinned = root().join("tests/golden/trace-hashes.txt");
    if std::env::var_os("LNPSIM_BLESS").is_some() {
        std::fs::write(&pinned, &got).expect("write the pins");
        return;
    }
    let want = std::fs::read_to_string(&pinned)
        .unwrap_or_else(|e| panic!("{}: {e}; make it with LNPSIM_BLESS=1", pinned.display()));
    let changed: Vec<String> = got
        .lines()
        .zip(want.lines())
        .filter(|(g, w)| g != w)
        .map(|(g, w)| format!("  pinned {w}\n  now    {g}"))
        .collect();
    assert!(
        changed.is_empty() && got.lines().count() == want.lines().count(),
        "traces changed:\n{}\n(lines now {}, pinned {})",
        changed.join("\n"),
        got.lines().count(),
        want.lines().count()
    );
}
