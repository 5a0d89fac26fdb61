//! End-to-end: `lnpsim report` and `lnpsim run --report` (docs/report.md).
//!
//! Golden files: `tests/golden/report/` holds the HTML, Mermaid and text reports of a few bundled
//! scenarios, made by `lnpsim report` from each scenario's trace, and `examples/reports/` the
//! example made by `lnpsim run --report` (whose Mermaid and text reports `lnpsim report` of the
//! same story must give byte for byte, so they are not kept twice). When a change to the report is meant, regenerate them
//! with `LNPSIM_BLESS=1 cargo test --test report` and review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lnp_model::{BusinessCalendar, Rulebook};
use lnp_sim::{run_scenario, RunOptions, Scenario, TraceSink};

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

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn bless() -> bool {
    std::env::var_os("LNPSIM_BLESS").is_some()
}

/// Compares `got` with the committed file `rel` (or, with `LNPSIM_BLESS`, writes it).
fn golden(rel: &str, got: &[u8]) {
    let path = root().join(rel);
    if bless() {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("create folder");
        std::fs::write(&path, got).expect("write golden file");
        return;
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{rel}: {e}; make it with LNPSIM_BLESS=1 cargo test --test report"));
    if want != got {
        let (w, g) = (String::from_utf8_lossy(&want), String::from_utf8_lossy(got));
        let line = w
            .lines()
            .zip(g.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| w.lines().count().min(g.lines().count()));
        panic!(
            "{rel} is stale: the report differs from line {}:\n  committed: {}\n  now:       {}\n\
             If the change is meant, regenerate with LNPSIM_BLESS=1 cargo test --test report",
            line + 1,
            w.lines()
                .nth(line)
                .unwrap_or("(end of file)")
                .chars()
                .take(200)
                .collect::<String>(),
            g.lines()
                .nth(line)
                .unwrap_or("(end of file)")
                .chars()
                .take(200)
                .collect::<String>()
        );
    }
}

/// Runs a scenario and writes its trace into `dir`.
fn trace(dir: &Path, scenario: &str) -> PathBuf {
    let name = Path::new(scenario)
        .file_stem()
        .expect("a name")
        .to_string_lossy()
        .into_owned();
    let path = dir.join(format!("{name}.csv"));
    let o = lnpsim(&["run", scenario, "--quiet", "--trace", path.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    path
}

/// A report of `trace` into `out`; returns the exit status and the file.
fn report(trace: &Path, scenario: Option<&str>, out: &Path) -> (Option<i32>, Vec<u8>) {
    let mut args = vec![
        "report".to_string(),
        trace.display().to_string(),
        "-o".into(),
        out.display().to_string(),
    ];
    if let Some(s) = scenario {
        args.extend(["--scenario".into(), s.into()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = lnpsim(&args);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    (o.status.code(), std::fs::read(out).expect("the report is written"))
}

const GOLDEN: [&str; 3] = [
    "scenarios/cat-a-happy-path.toml",
    "scenarios/cat-a-late-answer.toml",
    "scenarios/cat-c-happy-path.toml",
];

#[test]
fn golden_reports_of_bundled_scenarios() {
    let dir = tempfile::tempdir().expect("temp dir");
    for scenario in GOLDEN {
        let trace = trace(dir.path(), scenario);
        let name = trace.file_stem().expect("a name").to_string_lossy().into_owned();
        for ext in ["html", "mmd", "txt"] {
            let out = dir.path().join(format!("{name}.{ext}"));
            let (code, bytes) = report(&trace, Some(scenario), &out);
            let findings = name.contains("late");
            assert_eq!(code, Some(i32::from(findings)), "{scenario} .{ext}");
            // The Mermaid and text reports of the example story are the committed example's own
            // bytes (`lnpsim run --report` and `lnpsim report` of its trace give the same ones);
            // its HTML differs in the horizon it was judged to.
            let path = if name == "cat-a-late-answer" && ext != "html" {
                format!("examples/reports/{name}.{ext}")
            } else {
                format!("tests/golden/report/{name}.{ext}")
            };
            golden(&path, &bytes);
        }
    }
}

#[test]
fn the_committed_example_report_is_current() {
    let dir = tempfile::tempdir().expect("temp dir");
    for ext in ["html", "mmd", "txt"] {
        let out = dir.path().join(format!("cat-a-late-answer.{ext}"));
        let o = lnpsim(&[
            "run",
            "scenarios/cat-a-late-answer.toml",
            "--quiet",
            "--report",
            out.to_str().expect("path"),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let bytes = std::fs::read(&out).expect("the report is written");
        golden(&format!("examples/reports/cat-a-late-answer.{ext}"), &bytes);
    }
}

/// Where `needle` occurs in `hay`, case-insensitively (ASCII).
fn find_all(hay: &str, needle: &str) -> Vec<usize> {
    let (h, n) = (hay.to_ascii_lowercase(), needle.to_ascii_lowercase());
    h.match_indices(&n).map(|(i, _)| i).collect()
}

/// References to the network in `src`, `href`, `url(` and `@import`.
fn network_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for opener in ["src=", "href=", "url(", "@import"] {
        for at in find_all(html, opener) {
            let rest = html[at + opener.len()..].trim_start_matches([' ', '"', '\'', '(']);
            let rest = rest
                .strip_prefix("url(")
                .unwrap_or(rest)
                .trim_start_matches([' ', '"', '\'']);
            let lower = rest.get(..8).unwrap_or(rest).to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//") {
                found.push(html[at..].chars().take(60).collect());
            }
        }
    }
    found
}

#[test]
fn the_html_refers_to_nothing_on_the_network() {
    // The checker itself finds what it must.
    assert_eq!(
        network_references("<img src=\"https://x/y.png\"><link href='http://a'><style>@import url(//b);</style>").len(),
        4
    );
    let dir = tempfile::tempdir().expect("temp dir");
    for scenario in GOLDEN.iter().chain(&["scenarios/third-party-port.toml"]) {
        let trace = trace(dir.path(), scenario);
        let (_, bytes) = report(&trace, Some(scenario), &dir.path().join("r.html"));
        let html = String::from_utf8(bytes).expect("UTF-8");
        assert_eq!(network_references(&html), Vec::<String>::new(), "{scenario}");
        // Nor anything else of the network: the page's own markup names no address at all.
        assert!(find_all(&html, "http://").is_empty() && find_all(&html, "https://").is_empty());
        assert!(!html.contains("<script src") && !html.contains("<link"), "{scenario}");
    }
}

/// A trace of exactly `rows` rows: a market of generated Cat A ports, cut to length.
fn market_trace(dir: &Path, rows: usize) -> PathBuf {
    let bench = std::fs::read_to_string(root().join("scenarios/bench/market-100k.toml")).expect("bench");
    let ports = rows / 8 + 10;
    let scenario = bench.replace("ports = 100000", &format!("ports = {ports}"));
    assert_ne!(scenario, bench, "the bench scenario's port count moved");
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
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let all = std::fs::read_to_string(&full).expect("trace");
    let lines: Vec<&str> = all.lines().take(rows + 1).collect();
    assert_eq!(lines.len(), rows + 1, "the market gave fewer rows than asked");
    let cut = dir.join(format!("market-{rows}.csv"));
    std::fs::write(&cut, lines.join("\n") + "\n").expect("write");
    cut
}

#[test]
fn a_thousand_rows_are_at_most_two_megabytes_and_every_report_is_byte_identical() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = market_trace(dir.path(), 1000);
    let (_, first) = report(&trace, None, &dir.path().join("a.html"));
    let (_, again) = report(&trace, None, &dir.path().join("b.html"));
    assert!(first.len() <= 2_000_000, "{} bytes for 1,000 rows", first.len());
    assert!(first == again, "two reports of one trace differ");
    let html = String::from_utf8(first).expect("UTF-8");
    // Every row has its element.
    assert_eq!(html.matches("<g class=\"r").count(), 1000);
    let (_, a) = report(&trace, None, &dir.path().join("a.txt"));
    let (_, b) = report(&trace, None, &dir.path().join("b.txt"));
    assert!(a == b, "two .txt reports of one trace differ");
    // Mermaid: byte-identical too, on a story short enough for it.
    let small = self::trace(dir.path(), "scenarios/cat-c-happy-path.toml");
    let (_, a) = report(&small, None, &dir.path().join("a.mmd"));
    let (_, b) = report(&small, None, &dir.path().join("b.mmd"));
    assert!(a == b, "two .mmd reports of one trace differ");
}

#[test]
fn mermaid_refuses_more_than_500_rows_and_points_to_html() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = market_trace(dir.path(), 501);
    let out = dir.path().join("big.mmd");
    let o = lnpsim(&[
        "report",
        trace.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("501 rows") && err.contains("500") && err.contains(".html"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
    // 500 rows are fine.
    let trace = market_trace(dir.path(), 500);
    let o = lnpsim(&[
        "report",
        trace.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mmd = std::fs::read_to_string(&out).expect("written");
    assert!(mmd.contains("sequenceDiagram\n    autonumber\n"), "{mmd:.300}");
    assert_eq!(mmd.matches("->>").count(), 500);
}

#[test]
fn bad_input_and_usage_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("r.pdf");
    let o = lnpsim(&[
        "report",
        "tests/traces/eca_response_late.csv",
        "-o",
        out.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains(".html, .mmd (Mermaid) or .txt"), "{}", text(&o));
    let out = dir.path().join("r.html");
    let o = lnpsim(&[
        "report",
        "tests/traces/no-such-trace.csv",
        "-o",
        out.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no-such-trace.csv: cannot open"), "{}", text(&o));
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "seq,time,from,to,msg,ref,category,numbers,code,detail\n").expect("write");
    let o = lnpsim(&[
        "report",
        empty.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!out.exists());
    let o = lnpsim(&["report", "tests/traces/eca_response_late.csv", "-o", "-"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--format"), "{}", text(&o));
    let o = lnpsim(&["run", "scenarios/cat-a-happy-path.toml", "--quiet", "--report", "r.svg"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!root().join("r.svg").exists());
}

#[test]
fn the_exit_status_is_the_audits_and_the_report_is_written_either_way() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("clean.txt");
    let (code, clean) = report(&root().join("tests/traces/clean_cat_a.csv"), None, &out);
    assert_eq!(code, Some(0));
    assert!(String::from_utf8_lossy(&clean).contains("no findings"));
    let out = dir.path().join("late.txt");
    let (code, late) = report(&root().join("tests/traces/eca_response_late.csv"), None, &out);
    assert_eq!(code, Some(1));
    let late = String::from_utf8_lossy(&late).into_owned();
    assert!(late.contains("!! ECA-RESPONSE"), "{late}");
    // Standard output with --format, and the same bytes as the file.
    let o = lnpsim(&[
        "report",
        "tests/traces/eca_response_late.csv",
        "-o",
        "-",
        "--format",
        "txt",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&o.stdout), late);
}

#[test]
fn notes_reach_the_report_from_the_scenario_and_from_a_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("noted.toml");
    let story = std::fs::read_to_string(root().join("scenarios/cat-a-late-answer.toml")).expect("scenario");
    let noted = format!(
        "{story}\n[[notes]]\nat = \"2026-03-09T10:20:00+11:00\"\nref = \"P1\"\ntext = \"Alpha is late & <slow>.\"\n\n\
         [[notes]]\nat = \"2026-03-01T00:00:00+11:00\"\ntext = \"Before it all.\"\n"
    );
    // A note before the start is refused, naming its line.
    std::fs::write(&scenario, &noted).expect("write");
    let o = lnpsim(&["run", scenario.to_str().expect("path"), "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(".at: at 2026-03-01T00:00:00+11:00 is before the scenario's start"),
        "{}",
        text(&o)
    );
    let noted = noted.replace("2026-03-01T00:00:00+11:00", "2026-03-02T08:00:00+11:00");
    std::fs::write(&scenario, &noted).expect("write");
    let s = scenario.to_str().expect("path");
    let html_out = dir.path().join("run.html");
    let o = lnpsim(&["run", s, "--quiet", "--report", html_out.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let html = std::fs::read_to_string(&html_out).expect("written");
    assert!(html.contains("Alpha is late &amp; &lt;slow&gt;."), "the note, escaped");
    assert!(
        html.contains("<g class=\"nt\" data-ref=\"P1\""),
        "the port's note carries its ref"
    );
    let trace = trace(dir.path(), s);
    let (_, txt) = report(&trace, Some(s), &dir.path().join("r.txt"));
    let txt = String::from_utf8_lossy(&txt).into_owned();
    // The first note stands before the first row; the second after the ECA, before its answer.
    let before = txt.find("Before it all.").expect("note 2");
    let eca = txt.find("|----------- ECA").expect("the ECA row");
    let late = txt.find("Alpha is late & <slow>").expect("note 1");
    let answer = txt.find("ECA_CONFIRM").expect("the answer");
    assert!(before < eca && eca < late && late < answer, "{txt}");
    let (_, mmd) = report(&trace, Some(s), &dir.path().join("r.mmd"));
    let mmd = String::from_utf8_lossy(&mmd).into_owned();
    assert!(
        mmd.contains("Note over C9002,C9001: Note (P1): Alpha is late & #lt;slow#gt;."),
        "{mmd}"
    );
}

/// Collects the rows of a run.
struct Keep(Vec<lnp_model::TraceRecord>);

impl TraceSink for Keep {
    fn record(&mut self, r: &lnp_model::TraceRecord) {
        self.0.push(r.clone());
    }
}

#[test]
fn port_outcomes_read_from_the_trace_are_the_runs() {
    // The report knows only the trace; for every bundled story, the outcome it reads for each
    // port that reached the trace is the one the gaining carrier ended with.
    let mut dir: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    dir.sort();
    let mut differ = Vec::new();
    let mut compared = 0;
    for path in dir {
        let text = std::fs::read_to_string(&path).expect("scenario");
        let scenario = Scenario::from_toml(&text, path.parent()).expect("valid scenario");
        let book = match &scenario.rulebook {
            Some(p) => Rulebook::from_toml(&std::fs::read_to_string(p).expect("rulebook")).expect("rulebook"),
            None => Rulebook::default(),
        };
        let mut calendar: BusinessCalendar = book.calendar();
        for source in &scenario.holidays {
            match source {
                lnp_sim::HolidaySource::File(p) => {
                    calendar
                        .load_holidays_csv(&std::fs::read_to_string(p).expect("holidays"))
                        .expect("holidays");
                }
                lnp_sim::HolidaySource::State(state) => calendar.add_state(*state),
            }
        }
        let mut keep = Keep(Vec::new());
        let run = run_scenario(&scenario, &book, &calendar, RunOptions::default(), &mut keep).expect("runs");
        let ports = lnp_report::row_ports(&keep.0);
        let duties = lnp_model::Duties::new(&book, &calendar);
        let read = lnp_report::port_times(&keep.0, &ports, &duties, run.stats.end);
        for (r, _, outcome, stage) in run.sim.port_summaries() {
            let Some(t) = read.get(&r) else { continue };
            compared += 1;
            if t.outcome.as_str() != outcome {
                differ.push(format!(
                    "{}: {r}: the run says {outcome} ({stage}), the trace reads {} ({})",
                    path.display(),
                    t.outcome,
                    t.stage
                ));
            }
        }
    }
    assert!(compared > 60, "compared {compared} ports");
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
