//! The example client (`examples/serve-client/gaining.py`) plays a compliant gaining carrier
//! from start to finish against a real server: it exits 0, the ports complete and the live
//! audit has no finding.

#[path = "serve-support/mod.rs"]
mod support;

use support::{rows, start, token, tokens_file, ADMIN};

fn python() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|p| {
        std::process::Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn the_example_client_completes_the_cat_a_and_cat_c_stories() {
    let Some(py) = python() else {
        eprintln!("no python3 on this machine: the example client is not run");
        return;
    };
    for (scenario, last) in [
        ("scenarios/serve/cat-a.toml", "COMPLETION"),
        ("scenarios/serve/cat-c.toml", "CUTOVER"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let tokens = tokens_file(dir.path(), &["9002"], "");
        let s = start(&[
            scenario,
            "--external",
            "9002",
            "--tokens",
            &tokens.display().to_string(),
        ]);
        let o = std::process::Command::new(py)
            .arg(support::root().join("examples/serve-client/gaining.py"))
            .args([
                "--url",
                &s.url,
                "--carrier",
                "9002",
                "--token",
                &token("9002"),
                "--admin-token",
                ADMIN,
            ])
            .output()
            .expect("run the example client");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{scenario}: {out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.contains("1 of 1 ports done; 0 findings"), "{out}");
        let (trace, _) = s.trace();
        assert!(rows(&trace).iter().any(|r| r["msg"] == last), "{scenario}: no {last}");
        assert_eq!(s.get("/v1/findings", ADMIN).body["findings"], serde_json::json!([]));
    }
}

/// `lnpsim serve --help`'s example, run as a shell script with curl (port 8540, as written).
#[test]
fn the_serve_help_example_works_as_pasted() {
    let has = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has("curl") || !has("bash") {
        eprintln!("no curl or bash on this machine: the help example is not run");
        return;
    }
    let help = support::lnpsim().args(["serve", "--help"]).output().expect("help");
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    let example = text
        .split("Example (from the repository's root)")
        .nth(1)
        .expect("an example");
    let mut script = String::from("set -e\n");
    for line in example.lines().filter(|l| l.starts_with("  ")) {
        script.push_str(line.trim_start());
        script.push('\n');
        if line.contains("lnpsim serve ") {
            script.push_str(
                "for i in $(seq 100); do curl -s localhost:8540/v1/health >/dev/null && break; sleep 0.1; done\n",
            );
        }
    }
    script.push_str("kill %1\nwait\n");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_lnpsim"))
        .parent()
        .expect("bin dir");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let o = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("PATH", path)
        .current_dir(support::root())
        .output()
        .expect("run the example");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{script}\n{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("\"task\":\"submit\""), "{out}");
    assert!(out.contains("SNA_CONFIRM"), "{out}");
    assert!(out.contains("\"findings\": []"), "{out}");
}
