//! End-to-end: every bundled scenario runs through `lnpsim run` with its expectations holding,
//! runs are byte-for-byte reproducible, and a wrong expectation fails the run with a reason.

use std::path::{Path, PathBuf};
use std::process::Command;

fn lnpsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lnpsim"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_bundled_scenario_passes() {
    let all = scenarios();
    assert!(all.len() >= 4, "expected the bundled scenarios, found {}", all.len());
    let mut failures = Vec::new();
    for s in &all {
        let out = lnpsim().arg("run").arg(s).arg("--quiet").output().expect("run lnpsim");
        if out.status.code() != Some(0) {
            failures.push(format!(
                "{}: exit {:?}\n{}{}",
                s.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "scenarios failed:\n{}", failures.join("\n"));
}

fn trace_of(scenario: &Path, dir: &Path, name: &str, seed: Option<&str>) -> Vec<u8> {
    let trace = dir.join(name);
    let mut cmd = lnpsim();
    cmd.arg("run").arg(scenario).arg("--quiet").arg("--trace").arg(&trace);
    if let Some(s) = seed {
        cmd.arg("--seed").arg(s);
    }
    let out = cmd.output().expect("run lnpsim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    std::fs::read(&trace).expect("trace written")
}

#[test]
fn same_scenario_and_seed_give_a_byte_identical_trace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = root().join("scenarios/cat-a-happy-path.toml");
    let a = trace_of(&s, dir.path(), "a.csv", None);
    let b = trace_of(&s, dir.path(), "b.csv", None);
    assert!(!a.is_empty());
    assert_eq!(a, b, "two runs of the same scenario and seed differ");
    let c = trace_of(&s, dir.path(), "c.csv", Some("99"));
    assert_ne!(a, c, "a different seed should change answer delays");
}

#[test]
fn a_wrong_expectation_exits_1_and_says_which_and_why() {
    let out = lnpsim()
        .arg("run")
        .arg(root().join("tests/fixtures/wrong-expectation.toml"))
        .arg("--quiet")
        .output()
        .expect("run lnpsim");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL line 30: port P1 is rejected"), "{stdout}");
    assert!(stdout.contains("port P1 is completed"), "{stdout}");
}

#[test]
fn an_invalid_scenario_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("bad.toml");
    std::fs::write(
        &p,
        "name = \"x\"\ndescription = \"y\"\nstart = \"2026-03-02T08:00:00+11:00\"\ncolour = \"red\"\n",
    )
    .expect("write");
    let out = lnpsim().arg("run").arg(&p).output().expect("run lnpsim");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("colour"), "{stderr}");
    assert!(stderr.contains("line 4"), "{stderr}");
}

#[test]
fn the_timeline_and_junit_and_plnr_outputs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("r.xml");
    let plnr = dir.path().join("plnr");
    let out = lnpsim()
        .arg("run")
        .arg(root().join("scenarios/cat-a-happy-path.toml"))
        .arg("--junit")
        .arg(&junit)
        .arg("--plnr-dir")
        .arg(&plnr)
        .output()
        .expect("run lnpsim");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "9002 -> 9001  SNA",
        "ECA_CONFIRM",
        "CUTOVER",
        "DTR_START",
        "PLNR_PUBLISH",
        "DTR_STOP",
    ] {
        assert!(stdout.contains(needle), "timeline lacks {needle}:\n{stdout}");
    }
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert_eq!(xml.matches("<testcase").count(), 8, "{xml}");
    assert!(
        plnr.join("allocations.csv").exists(),
        "the numbering plan beside the registers"
    );
    let mut files: Vec<String> = std::fs::read_dir(&plnr)
        .expect("plnr dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|f| std::path::Path::new(f).extension().is_some_and(|e| e == "plnr"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        // The pending record when the port is confirmed, the completed one after the return
        // window, then the snapshot at the end.
        vec![
            "9001-000001-U.plnr".to_string(),
            "9001-000002-U.plnr".to_string(),
            "9001-000003-F.plnr".to_string()
        ]
    );
    for f in files {
        let v = lnpsim()
            .arg("plnr")
            .arg("validate")
            .arg(plnr.join(&f))
            .output()
            .expect("validate");
        assert!(v.status.success(), "{f}: {}", String::from_utf8_lossy(&v.stdout));
    }
}

#[test]
fn route_answers_from_a_scenario_played_up_to_the_instant() {
    let s = root().join("scenarios/cat-a-happy-path.toml");
    let at = |t: &str| {
        let out = lnpsim()
            .args(["route", "0255501234", "--from", "9003", "--at", t, "--scenario"])
            .arg(&s)
            .output()
            .expect("run lnpsim");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Before the cutover, through donor transit routing, then direct once Charlie loaded PLNR.
    assert!(at("2026-03-09T09:00:00+11:00").contains(": 9003 -> 9001\n"));
    let via_donor = at("2026-03-09T12:00:00+11:00");
    assert!(via_donor.contains(": 9003 -> 9001 -> 9002\n"), "{via_donor}");
    assert!(via_donor.contains("transit routing"), "{via_donor}");
    assert!(at("2026-03-10T09:00:00+11:00").contains(": 9003 -> 9002\n"));
}

#[test]
fn a_failed_statistic_is_not_reported_as_no_violations() {
    let out = lnpsim()
        .arg("run")
        .arg(root().join("scenarios/pnv-response-late.toml"))
        .output()
        .expect("run lnpsim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("Audit: no violations"), "{stdout}");
    assert!(stdout.contains("1 statistic failed"), "{stdout}");
    assert!(stdout.contains("PNV-RESPONSE (statistic): fail"), "{stdout}");
}

#[test]
fn a_port_inside_the_first_ones_transit_routing_keeps_both_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("t.csv");
    let out = lnpsim()
        .arg("run")
        .arg(root().join("scenarios/ported-again-inside-dtr.toml"))
        .arg("--trace")
        .arg(&trace)
        .output()
        .expect("run lnpsim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let text = std::fs::read_to_string(&trace).expect("trace written");
    for port in ["P1", "P2"] {
        let stops = text
            .lines()
            .filter(|l| l.contains(&format!(",DTR_STOP,{port},")))
            .count();
        assert_eq!(stops, 1, "{port} has {stops} DTR_STOP rows:\n{text}");
    }
}

/// `YYYYMMDDHHMMSS` of an RFC 3339 trace time written in Sydney's offset (the trace's own).
fn local_stamp(rfc3339: &str) -> String {
    rfc3339.chars().take(19).filter(char::is_ascii_digit).collect()
}

#[test]
fn register_files_are_created_when_published_and_completed_records_take_effect_at_the_cutover() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("t.csv");
    let plnr = dir.path().join("plnr");
    let out = lnpsim()
        .arg("run")
        .arg(root().join("scenarios/third-party-port.toml"))
        .arg("--trace")
        .arg(&trace)
        .arg("--plnr-dir")
        .arg(&plnr)
        .output()
        .expect("run lnpsim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let text = std::fs::read_to_string(&trace).expect("trace");
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let cutover = rows
        .iter()
        .find(|r| r[4] == "CUTOVER")
        .map(|r| local_stamp(r[1]))
        .expect("a cutover");
    let mut checked = 0;
    for entry in std::fs::read_dir(&plnr).expect("plnr dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if !name.ends_with("-U.plnr") {
            continue;
        }
        let body = std::fs::read_to_string(&path).expect("register file");
        let header = body.lines().next().expect("header");
        let (donor, seq, created) = (&header[9..13], &header[21..27], &header[27..41]);
        let published: Vec<String> = rows
            .iter()
            .filter(|r| {
                r[4] == "PLNR_PUBLISH"
                    && r[2] == donor
                    && r[9]
                        .split(';')
                        .any(|kv| kv == format!("file_seq={}", seq.trim_start_matches('0')))
            })
            .map(|r| local_stamp(r[1]))
            .collect();
        assert!(!published.is_empty(), "{name}: no trace row publishes file {seq}");
        for p in &published {
            assert_eq!(p, created, "{name}: created {created}, published at {p}");
        }
        for rec in body.lines().filter(|l| l.starts_with('D')) {
            if &rec[20..21] == "C" {
                assert_eq!(
                    &rec[21..35],
                    cutover,
                    "{name}: a completed record takes effect at the cutover"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 2, "expected the P and the C update files, found {checked}");
}

/// Whether `c` may appear in an XML 1.0 document (the `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// A small XML 1.0 well-formedness check, enough for `JUnit` reports: legal characters, balanced
/// and properly nested elements, quoted and unique attributes, `<` never in text or a value,
/// every `&` a known entity or a character reference to a legal character, one root element.
fn check_xml(doc: &str) -> Result<(), String> {
    fn name_len(s: &str) -> usize {
        s.char_indices()
            .find(|&(i, c)| !(c.is_alphanumeric() || matches!(c, '_' | ':') || (i > 0 && matches!(c, '-' | '.'))))
            .map_or(s.len(), |(i, _)| i)
    }
    fn references(text: &str) -> Result<(), String> {
        let mut rest = text;
        while let Some(i) = rest.find('&') {
            rest = &rest[i + 1..];
            let end = rest
                .find(';')
                .ok_or_else(|| format!("unterminated reference at {rest:?}"))?;
            let r = &rest[..end];
            let code = if let Some(hex) = r.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()
            } else if let Some(dec) = r.strip_prefix('#') {
                dec.parse().ok()
            } else if matches!(r, "amp" | "lt" | "gt" | "quot" | "apos") {
                Some(0x20)
            } else {
                None
            };
            if !code.and_then(char::from_u32).is_some_and(is_xml_char) {
                return Err(format!("bad reference &{r};"));
            }
            rest = &rest[end + 1..];
        }
        Ok(())
    }
    if let Some(c) = doc.chars().find(|&c| !is_xml_char(c)) {
        return Err(format!("U+{:04X} is not an XML 1.0 character", u32::from(c)));
    }
    let mut rest = doc;
    if rest.starts_with("<?xml") {
        let end = rest.find("?>").ok_or("unterminated XML declaration")?;
        rest = &rest[end + 2..];
    }
    let mut open: Vec<&str> = Vec::new();
    let mut roots = 0;
    while !rest.is_empty() {
        let lt = rest.find('<').unwrap_or(rest.len());
        let text = &rest[..lt];
        if open.is_empty() && !text.trim().is_empty() {
            return Err(format!("text outside the root element: {text:?}"));
        }
        references(text)?;
        rest = &rest[lt..];
        if rest.is_empty() {
            break;
        }
        if let Some(r) = rest.strip_prefix("<!--") {
            let end = r.find("-->").ok_or("unterminated comment")?;
            rest = &r[end + 3..];
        } else if let Some(r) = rest.strip_prefix("</") {
            let n = name_len(r);
            let close = r[n..].trim_start();
            if n == 0 || !close.starts_with('>') {
                return Err(format!("bad end tag at {rest:.40?}"));
            }
            match open.pop() {
                Some(name) if name == &r[..n] => {}
                other => return Err(format!("</{}> closes {other:?}", &r[..n])),
            }
            rest = &close[1..];
        } else {
            let r = &rest[1..];
            let n = name_len(r);
            if n == 0 {
                return Err(format!("bad start tag at {rest:.40?}"));
            }
            let name = &r[..n];
            if open.is_empty() {
                roots += 1;
                if roots > 1 {
                    return Err(format!("<{name}>: a second root element"));
                }
            }
            let mut attrs = r[n..].trim_start();
            let mut seen = Vec::new();
            loop {
                if let Some(a) = attrs.strip_prefix("/>") {
                    attrs = a;
                    break;
                }
                if let Some(a) = attrs.strip_prefix('>') {
                    open.push(name);
                    attrs = a;
                    break;
                }
                let an = name_len(attrs);
                let after = attrs[an..].trim_start();
                let Some(after) = after.strip_prefix('=').map(str::trim_start) else {
                    return Err(format!("<{name}>: bad attribute at {attrs:.40?}"));
                };
                let quote = after.chars().next().filter(|q| matches!(q, '"' | '\''));
                let Some(q) = quote else {
                    return Err(format!("<{name}>: unquoted attribute at {attrs:.40?}"));
                };
                let value_end = after[1..].find(q).ok_or("unterminated attribute value")?;
                let value = &after[1..=value_end];
                if an == 0 || value.contains('<') || seen.contains(&&attrs[..an]) {
                    return Err(format!("<{name}>: bad attribute {:?}", &attrs[..an]));
                }
                references(value)?;
                seen.push(&attrs[..an]);
                let next = &after[value_end + 2..];
                if !(next.starts_with(char::is_whitespace) || next.starts_with('>') || next.starts_with("/>")) {
                    return Err(format!("<{name}>: no space after an attribute"));
                }
                attrs = next.trim_start();
            }
            rest = attrs;
        }
    }
    match (open.last(), roots) {
        (Some(name), _) => Err(format!("<{name}> is never closed")),
        (None, 0) => Err("no root element".into()),
        _ => Ok(()),
    }
}

#[test]
fn the_xml_check_catches_what_makes_xml_invalid() {
    let ok = "<?xml version=\"1.0\"?>\n<a x=\"1 &amp; &#x41;\" y='2'><b/>t &lt; &#9;<c></c></a>\n";
    assert_eq!(check_xml(ok), Ok(()));
    for bad in [
        "<a>\u{7}</a>",
        "<a>&#7;</a>",
        "<a>&bell;</a>",
        "<a>x & y</a>",
        "<a x=\"<\"/>",
        "<a x=1/>",
        "<a x=\"1\" x=\"2\"/>",
        "<a><b></a></b>",
        "<a>",
        "<a/><b/>",
        "text",
    ] {
        assert!(check_xml(bad).is_err(), "{bad:?} passed");
    }
}

#[test]
fn junit_shows_control_characters_and_stays_well_formed_xml() {
    use lnp_audit::{Finding, MalformedRow, NotChecked, Report};
    use lnp_model::RuleId;
    let nasty = "A\u{7}B\u{0}\u{1b}[31m\u{b}\u{c}\u{7f}\u{85}\u{fffe}\u{ffff} & <x> \"q\" 'a'\ttab\nnewline\r";
    let mut report = Report::default();
    report.findings.push(Finding {
        rule: RuleId::ALL[0],
        seq: vec![1],
        port_ref: None,
        numbers: Vec::new(),
        message: nasty.to_string(),
    });
    report.not_checked.push(NotChecked {
        rule: RuleId::ALL[1],
        reason: nasty.to_string(),
    });
    report.malformed_rows.push(MalformedRow {
        line: 2,
        message: nasty.to_string(),
    });
    let xml = report.to_junit();
    assert_eq!(check_xml(&xml), Ok(()), "{xml}");
    // Shown, not silently dropped; tab, newline and CR kept.
    let shown = "A\\u{7}B\\u{0}\\u{1b}[31m\\u{b}\\u{c}\\u{7f}\\u{85}\\u{fffe}\\u{ffff} &amp; &lt;x&gt; \
                 &quot;q&quot; &apos;a&apos;\ttab\nnewline\r";
    assert_eq!(xml.matches(shown).count(), 3, "{xml}");
    assert_eq!(lnp_audit::xml_escape(nasty), shown);
}

#[test]
fn run_and_audit_junit_are_well_formed_xml() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("r.xml");
    let trace = dir.path().join("t.csv");
    let out = lnpsim()
        .arg("run")
        .arg(root().join("tests/fixtures/wrong-expectation.toml"))
        .arg("--quiet")
        .arg("--junit")
        .arg(&junit)
        .arg("--trace")
        .arg(&trace)
        .output()
        .expect("run lnpsim");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert_eq!(check_xml(&xml), Ok(()), "{xml}");
    assert!(xml.contains("<failure message=\"port P1 is completed"), "{xml}");
    // A malformed row quotes what it found.
    let text = std::fs::read_to_string(&trace).expect("trace written");
    let broken = text.replacen(",SNA,", ",S<N>\u{7}&A,", 1);
    std::fs::write(&trace, broken).expect("write");
    let out = lnpsim()
        .arg("audit")
        .arg(&trace)
        .args(["--format", "junit"])
        .output()
        .expect("run lnpsim");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let xml = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(check_xml(&xml), Ok(()), "{xml}");
    assert!(xml.contains("S&lt;N&gt;\\u{7}&amp;A"), "{xml}");
}

#[test]
fn a_failed_run_leaves_existing_output_files_as_they_were() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Valid as a file, but it cannot be played: the gaining carrier already holds the number.
    let text = std::fs::read_to_string(root().join("tests/fixtures/wrong-expectation.toml")).expect("fixture");
    let scenario = dir.path().join("self.toml");
    std::fs::write(&scenario, text.replacen("gaining = \"9002\"", "gaining = \"9001\"", 1)).expect("write");
    let trace = dir.path().join("t.csv");
    let junit = dir.path().join("r.xml");
    std::fs::write(&trace, "the previous trace\n").expect("write");
    std::fs::write(&junit, "the previous report\n").expect("write");
    let out = lnpsim()
        .arg("run")
        .arg(&scenario)
        .arg("--quiet")
        .arg("--trace")
        .arg(&trace)
        .arg("--junit")
        .arg(&junit)
        .output()
        .expect("run lnpsim");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already with the gaining carrier"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&trace).expect("trace"), "the previous trace\n");
    assert_eq!(std::fs::read_to_string(&junit).expect("junit"), "the previous report\n");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["r.xml", "self.toml", "t.csv"], "temporary files left behind");
    // A run that succeeds replaces them.
    let out = lnpsim()
        .arg("run")
        .arg(root().join("tests/fixtures/wrong-expectation.toml"))
        .arg("--quiet")
        .arg("--trace")
        .arg(&trace)
        .arg("--junit")
        .arg(&junit)
        .output()
        .expect("run lnpsim");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&trace).expect("trace").starts_with("seq,time,"));
    assert!(std::fs::read_to_string(&junit).expect("junit").starts_with("<?xml"));
}
