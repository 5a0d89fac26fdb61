//! `lnpsim run` of a market, end to end (a benchmark, never part of `cargo test`).
//!
//! Runs the release binary on `scenarios/bench/market-100k.toml` (100,000 Cat A ports across
//! eight carriers) with `--quiet --trace FILE`, as a user would, several times, and prints the
//! fastest and the median wall time and the peak resident memory of each run. Every run's trace
//! is checked against the length and FNV-1a hash it must have (the trace bytes are pinned), so a
//! faster run that wrote something else fails the benchmark.
//!
//! ```text
//! cargo bench --bench market
//! LNPSIM_BENCH_RUNS=5 cargo bench --bench market
//! LNPSIM_BENCH_ANCHOR=/path/to/anchor.py cargo bench --bench market
//! LNPSIM_BENCH_MARKET_2M=1 cargo bench --bench market      # also the 2,000,000-port year
//! ```
//!
//! `LNPSIM_BENCH_ANCHOR` names a program to time in the same run, alternating with lnpsim, for a
//! ratio that holds on a busy machine where absolute times do not: it is run with `python3` and
//! the arguments `100000 8 20000 1` (ports, carriers, daily cap, seed), the shape of a bare
//! discrete-event model of the same load (for instance one written with `SimPy`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The wall clock: a benchmark measures it.
#[allow(clippy::disallowed_methods, reason = "a benchmark measures wall-clock time")]
fn clock() -> Instant {
    Instant::now()
}

/// The trace `market-100k` must write: its length and FNV-1a 64 hash.
const MARKET_100K_TRACE: (u64, u64) = (101_387_467, 0x24a0_030b_de68_3d55);

#[path = "../tests/trace-support/fnv.rs"]
mod fnv;

fn fnv1a_file(path: &Path) -> (u64, u64) {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path).expect("open the trace");
    let mut buf = vec![0u8; 1 << 20];
    let (mut len, mut h) = (0_u64, fnv::START);
    loop {
        let n = f.read(&mut buf).expect("read the trace");
        if n == 0 {
            return (len, h);
        }
        len += n as u64;
        h = fnv::fnv1a(h, buf.get(..n).unwrap_or_default());
    }
}

/// The peak resident memory of a running child, in KiB, as last read from `/proc` (Linux; 0
/// elsewhere). Polled while the child runs, so it can miss a final spike of under 20 ms.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One timed run of `program args`: wall time and peak memory (KiB).
fn timed(program: &str, args: &[&str]) -> (Duration, u64) {
    let started = clock();
    let mut child = Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let mut peak = 0;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.code().is_some_and(|c| c < 2), "{program} {args:?}: {status}");
            return (started.elapsed(), peak);
        }
        if let Some(kb) = vm_hwm(child.id()) {
            peak = peak.max(kb);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runs: usize = std::env::var("LNPSIM_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let anchor = std::env::var("LNPSIM_BENCH_ANCHOR").ok();
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = dir.path().join("market-100k.csv");
    let trace_arg = trace.to_str().expect("a UTF-8 temporary path");
    let lnpsim = env!("CARGO_BIN_EXE_lnpsim");
    let run_args = [
        "run",
        "scenarios/bench/market-100k.toml",
        "--quiet",
        "--trace",
        trace_arg,
    ];

    let (mut ours, mut theirs, mut peaks) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let (wall, peak) = timed(lnpsim, &run_args);
        assert_eq!(
            fnv1a_file(&trace),
            MARKET_100K_TRACE,
            "run {i}: the trace is not the pinned one"
        );
        ours.push(secs(wall));
        peaks.push(peak);
        if let Some(a) = &anchor {
            let (wall, _) = timed("python3", &[a.as_str(), "100000", "8", "20000", "1"]);
            theirs.push(secs(wall));
        }
    }
    let fastest = ours.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "market-100k (100,000 Cat A ports, 1,000,000 trace rows, trace written and checked): \
         fastest {fastest:.2} s, median {:.2} s over {runs} runs; peak {} MB",
        median(ours.clone()),
        peaks.iter().max().copied().unwrap_or(0) / 1024
    );
    if !theirs.is_empty() {
        let anchor_fastest = theirs.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "anchor (same runs, alternating): fastest {anchor_fastest:.2} s, median {:.2} s; \
             lnpsim is {:.2}x the anchor (fastest against fastest), {:.2}x (median against median)",
            median(theirs.clone()),
            anchor_fastest / fastest,
            median(theirs) / median(ours)
        );
    }
    if std::env::var_os("LNPSIM_BENCH_MARKET_2M").is_some() {
        let trace = dir.path().join("market-2m.csv");
        let trace_arg = trace.to_str().expect("a UTF-8 temporary path");
        let (wall, peak) = timed(
            lnpsim,
            &["run", "scenarios/bench/market-2m.toml", "--quiet", "--trace", trace_arg],
        );
        println!(
            "market-2m (2,000,000 Cat A ports over a year, trace written): {:.1} s, peak {} MB",
            secs(wall),
            peak / 1024
        );
    }
}
