//! The HTML report in a real browser: headless Chromium runs the page's script and prints the DOM
//! (`--dump-dom`), and takes a screenshot for people to look at.
//!
//! Without Chromium these tests skip with a message, unless the environment variable `CI` is set:
//! then they fail (`.ci/run` installs Debian's `chromium`). `LNPSIM_CHROMIUM` names another
//! binary. The screenshot goes to the target folder's `tmp/` (its path is printed).
//!
//! The first paint of a 10,000-row report is measured by a benchmark, not here:
//! `cargo bench --bench report_paint` (docs/report.md records the figure).

use std::path::{Path, PathBuf};

#[path = "browser-support/mod.rs"]
mod support;

use support::{chromium, lnpsim, root, run_chromium};

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
    let scenario = "scenarios/cna-reject-then-cutover.toml";
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
    // The findings in page order: each at its rows, so not always in the report's order (this
    // story's first finding in the report is shown after the second's rows).
    let shown: Vec<(usize, &str, &str)> = groups
        .iter()
        .filter_map(|t| {
            let k = attr(t, "id")?.strip_prefix('f')?.parse().ok()?;
            Some((k, attr(t, "data-rule")?, attr(t, "data-seq")?))
        })
        .collect();
    assert_eq!(shown.len(), findings.len(), "one [data-rule] element per finding");
    for &(k, rule, seq) in &shown {
        let f = &findings[k];
        assert_eq!(f["rule"].as_str(), Some(rule));
        assert_eq!(f["seq"][0].as_u64().map(|s| s.to_string()).as_deref(), Some(seq));
    }
    let order: Vec<usize> = shown.iter().map(|&(k, _, _)| k).collect();
    assert_ne!(
        order,
        (0..findings.len()).collect::<Vec<_>>(),
        "the story shows findings out of report order"
    );
    assert!(highlighted(&dom).is_empty(), "nothing is highlighted before a key");

    // `n` highlights the first finding down the page, `n` again the next, `p` goes back.
    let (first, second) = (format!("f{}", order[0]), format!("f{}", order[1]));
    let one = dom_of(&bin, &page, "keys=n");
    assert_eq!(highlighted(&one), [first.as_str()]);
    assert!(one.contains(&format!("data-finding=\"{}\"", order[0])));
    let two = dom_of(&bin, &page, "keys=nn");
    assert_eq!(highlighted(&two), [second.as_str()]);
    assert!(two.contains(&format!("data-finding=\"{}\"", order[1])));
    let back = dom_of(&bin, &page, "keys=nnp");
    assert_eq!(highlighted(&back), [first.as_str()]);
    // The rows of the highlighted finding are marked too.
    let lit = tags(&two, "g")
        .into_iter()
        .filter(|t| attr(t, "class").is_some_and(|c| c.split(' ').any(|w| w == "hl")))
        .filter_map(|t| attr(t, "data-seq")?.parse::<u64>().ok())
        .collect::<Vec<_>>();
    let mut want: Vec<u64> = findings[order[1]]["seq"]
        .as_array()
        .expect("seq")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    want.sort_unstable();
    assert_eq!(lit, want);

    // A screenshot for people, of the second finding.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-cna-reject-then-cutover.png");
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
