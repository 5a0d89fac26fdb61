//! The HTML report in a real browser: headless Chromium runs the page's script and prints the DOM
//! (`--dump-dom`), and takes a screenshot for people to look at.
//!
//! Without Chromium these tests skip with a message, unless the environment variable `CI` is set:
//! then they fail (`.ci/run` installs Debian's `chromium`). `LNPSIM_CHROMIUM` names another
//! binary. The screenshot goes to the target folder's `tmp/` (its path is printed).
//!
//! `cargo test --release --test report_browser -- --ignored --nocapture` measures the first paint
//! of a 10,000-row report (docs/report.md records the figure).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

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

/// The Chromium to use: `LNPSIM_CHROMIUM`, else the first of the usual names on the `PATH`.
fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LNPSIM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Chromium, or `None` after saying why the test skips; in CI a missing Chromium fails.
fn chromium() -> Option<PathBuf> {
    match find_chromium() {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => panic!(
            "CI is set and no Chromium was found: the browser test must run in CI \
             (.ci/run installs it with apt-get install chromium; LNPSIM_CHROMIUM names another binary)"
        ),
        None => {
            eprintln!(
                "SKIPPED: no Chromium found (apt-get install chromium, or set LNPSIM_CHROMIUM); \
                 the HTML report's browser test did not run"
            );
            None
        }
    }
}

/// Runs headless Chromium on `url` with `args`, in a profile of its own, for at most a minute.
fn run_chromium(bin: &Path, args: &[String], url: &str) -> Output {
    let profile = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(bin)
        .arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--no-first-run")
        .arg("--hide-scrollbars")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    // A minute, counted in naps (no wall clock in tests).
    let mut naps = 0;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for chromium") {
            break s;
        }
        naps += 1;
        if naps > 1200 {
            let _ = child.kill();
            panic!("chromium did not finish within a minute: {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// The DOM after the page's script ran, for `hash` (`keys=nn`, …).
fn dom(bin: &Path, page: &Path, hash: &str, extra: &[&str]) -> String {
    let mut args: Vec<String> = vec!["--dump-dom".into()];
    args.extend(extra.iter().map(ToString::to_string));
    let url = format!("file://{}#{hash}", page.display());
    let o = run_chromium(bin, &args, &url);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        dom.contains("<body"),
        "no DOM from chromium:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    dom
}

/// The start tags of `name` in `html`, as text.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    html.match_indices(&open)
        .filter_map(|(at, _)| html[at..].find('>').map(|end| &html[at..at + end]))
        .collect()
}

/// An attribute of a start tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    tag[at..].find('"').map(|end| &tag[at..at + end])
}

/// The finding elements whose class says they are highlighted.
fn highlighted(dom: &str) -> Vec<String> {
    tags(dom, "g")
        .into_iter()
        .filter(|t| attr(t, "data-rule").is_some())
        .filter(|t| attr(t, "class").is_some_and(|c| c.split(' ').any(|w| w == "on")))
        .map(|t| attr(t, "id").unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_page_after_its_script_has_every_row_and_finding_and_n_moves_the_highlight() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = "scenarios/business-day-boundaries.toml";
    let page = dir.path().join("replay.html");
    let o = lnpsim(&["run", scenario, "--quiet", "--report", page.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = lnpsim(&["run", scenario, "--format", "json"]);
    let run: serde_json::Value = serde_json::from_slice(&o.stdout).expect("run JSON");
    let rows = run["run"]["records"].as_u64().expect("records");
    let findings = run["audit"]["findings"].as_array().expect("findings").clone();
    assert!(findings.len() >= 2, "the story needs two findings to step between");

    let dom = dom(&bin, &page, "", &[]);
    assert!(dom.contains("data-ready=\"1\""), "the script did not run to its end");
    assert!(!dom.contains("id=\"ctl\" hidden"), "the script shows the controls");
    let groups = tags(&dom, "g");
    let row_seqs: Vec<u64> = groups
        .iter()
        .filter(|t| attr(t, "data-seq").is_some() && attr(t, "data-rule").is_none())
        .filter_map(|t| attr(t, "data-seq")?.parse().ok())
        .collect();
    assert_eq!(
        row_seqs,
        (1..=rows).collect::<Vec<_>>(),
        "one [data-seq] element per row, in order"
    );
    let rules: Vec<(&str, &str)> = groups
        .iter()
        .filter_map(|t| Some((attr(t, "data-rule")?, attr(t, "data-seq")?)))
        .collect();
    assert_eq!(rules.len(), findings.len(), "one [data-rule] element per finding");
    for (f, (rule, seq)) in findings.iter().zip(&rules) {
        assert_eq!(f["rule"].as_str(), Some(*rule));
        assert_eq!(f["seq"][0].as_u64().map(|s| s.to_string()).as_deref(), Some(*seq));
    }
    assert!(highlighted(&dom).is_empty(), "nothing is highlighted before a key");

    // `n` highlights the first finding, `n` again the next, `p` goes back.
    let one = dom_of(&bin, &page, "keys=n");
    assert_eq!(highlighted(&one), ["f0"]);
    assert!(one.contains("data-finding=\"0\""));
    let two = dom_of(&bin, &page, "keys=nn");
    assert_eq!(highlighted(&two), ["f1"]);
    assert!(two.contains("data-finding=\"1\""));
    let back = dom_of(&bin, &page, "keys=nnp");
    assert_eq!(highlighted(&back), ["f0"]);
    // The rows of the highlighted finding are marked too.
    let lit = tags(&two, "g")
        .into_iter()
        .filter(|t| attr(t, "class").is_some_and(|c| c.split(' ').any(|w| w == "hl")))
        .filter_map(|t| attr(t, "data-seq")?.parse::<u64>().ok())
        .collect::<Vec<_>>();
    let want: Vec<u64> = findings[1]["seq"]
        .as_array()
        .expect("seq")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    assert_eq!(lit, want);

    // A screenshot for people, of the second finding.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-business-day-boundaries.png");
    let _ = std::fs::remove_file(&shot);
    let url = format!("file://{}#keys=nn", page.display());
    let o = run_chromium(
        &bin,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1000".into(),
        ],
        &url,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&shot).expect("the screenshot is written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    eprintln!("screenshot: {}", shot.display());
}

fn dom_of(bin: &Path, page: &Path, hash: &str) -> String {
    dom(bin, page, hash, &[])
}

#[test]
fn without_its_script_the_whole_diagram_is_there() {
    let Some(bin) = chromium() else { return };
    // Chromium prints no DOM with scripting switched off, so the page goes without its script:
    // what the browser builds from the markup alone is what a reader without scripting sees.
    let html = std::fs::read_to_string(root().join("examples/reports/cat-a-late-answer.html")).expect("example");
    let start = html.rfind("<script>\n").expect("the page's script");
    let end = html[start..].find("</script>").expect("its end") + start + "</script>".len();
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("no-script.html");
    std::fs::write(&page, format!("{}{}", &html[..start], &html[end..])).expect("write");
    let dom = dom(&bin, &page, "", &[]);
    assert!(!dom.contains("data-ready"), "the script ran");
    assert!(dom.contains("id=\"ctl\" hidden"), "the controls stay hidden");
    let groups = tags(&dom, "g");
    let rows = groups
        .iter()
        .filter(|t| attr(t, "data-seq").is_some() && attr(t, "data-rule").is_none())
        .count();
    assert_eq!(rows, 10);
    assert_eq!(groups.iter().filter(|t| attr(t, "data-rule").is_some()).count(), 1);
    assert!(dom.contains("ECA at seq 4 was answered"), "the finding's sentence");
    assert!(dom.contains("Twenty minutes on"), "the notes");
}

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

#[test]
#[ignore = "a measurement: run by hand with --ignored --nocapture"]
fn first_paint_of_10000_rows() {
    let Some(bin) = chromium() else { return };
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
