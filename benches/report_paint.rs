//! First paint of the HTML report of 10,000 trace rows in headless Chromium (not a test):
//! `cargo bench --bench report_paint`. The page logs the browser's own `first-contentful-paint`
//! and `loadEventEnd` figures with `#timing`; five runs, beside the 10-row example report.

use std::path::{Path, PathBuf};

#[allow(dead_code, reason = "shared with the browser test, which uses all of it")]
#[path = "../tests/browser-support/mod.rs"]
mod support;

use support::{find_chromium, lnpsim, root, run_chromium};

/// A trace of `rows` rows: a market of generated Cat A ports, cut to length.
fn market_trace(dir: &Path, rows: usize) -> PathBuf {
    let bench = std::fs::read_to_string(root().join("scenarios/bench/market-100k.toml")).expect("bench");
    let scenario = bench.replace("ports = 100000", &format!("ports = {}", rows / 8 + 10));
    let path = dir.join("market.toml");
    std::fs::write(&path, scenario).expect("write");
    let full = dir.join("market-full.csv");
    let o = lnpsim(&[
        "run",
        path.to_str().expect("path"),
        "--quiet",
        "--trace",
        full.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let all = std::fs::read_to_string(&full).expect("trace");
    let lines: Vec<&str> = all.lines().take(rows + 1).collect();
    let cut = dir.join(format!("market-{rows}.csv"));
    std::fs::write(&cut, lines.join("\n") + "\n").expect("write");
    cut
}

/// The page's first paint and the end of its load, in milliseconds after navigation, as the
/// page itself logs them with `#timing`.
fn timings(bin: &Path, page: &Path) -> (u64, u64) {
    let url = format!("file://{}#timing", page.display());
    // Screenshot mode, so that the page is painted; the picture itself is not kept.
    let dir = tempfile::tempdir().expect("temp dir");
    let shot = dir.path().join("timing.png");
    let o = run_chromium(
        bin,
        &[
            "--enable-logging=stderr".into(),
            "--v=0".into(),
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,1000".into(),
        ],
        &url,
    );
    let log = String::from_utf8_lossy(&o.stderr);
    let find = |key: &str| -> u64 {
        log.lines()
            .find_map(|l| {
                let at = l.find(key)? + key.len();
                l[at..]
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|s| !s.is_empty())?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no {key} in the browser's log:\n{log}"))
    };
    (find("lnp-paint first-contentful-paint "), find(" loaded "))
}

fn main() {
    let Some(bin) = find_chromium() else {
        eprintln!("no Chromium found (apt-get install chromium, or set LNPSIM_CHROMIUM): nothing measured");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = market_trace(dir.path(), 10_000);
    let page = dir.path().join("market.html");
    let o = lnpsim(&[
        "report",
        trace.to_str().expect("path"),
        "-o",
        page.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let bytes = std::fs::metadata(&page).expect("report").len();
    let small = root().join("examples/reports/cat-a-late-answer.html");
    let mut runs = Vec::new();
    for _ in 0..5 {
        runs.push((timings(&bin, &page), timings(&bin, &small)));
    }
    for ((paint, loaded), (small_paint, small_loaded)) in &runs {
        eprintln!(
            "10,000 rows ({bytes} bytes): first contentful paint {paint} ms, loaded {loaded} ms; \
             the 10-row example: {small_paint} ms, {small_loaded} ms"
        );
    }
    let mut paints: Vec<u64> = runs.iter().map(|r| r.0 .0).collect();
    paints.sort_unstable();
    eprintln!("median first contentful paint: {} ms", paints[paints.len() / 2]);
}
