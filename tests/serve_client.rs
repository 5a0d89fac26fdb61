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
    for (scenario, last) in [("scenarios/serve/cat-a.toml", "COMPLETION"), ("scenarios/serve/cat-c.toml", "CUTOVER")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let tokens = tokens_file(dir.path(), &["9002"], "");
        let s = start(&[scenario, "--external", "9002", "--tokens", &tokens.display().to_string()]);
        let o = std::process::Command::new(py)
            .arg(support::root().join("examples/serve-client/gaining.py"))
            .args(["--url", &s.url, "--carrier", "9002", "--token", &token("9002"), "--admin-token", ADMIN])
            .output()
            .expect("run the example client");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{scenario}: {out}{}", String::from_utf8_lossy(&o.stderr));
        assert!(out.contains("1 of 1 ports done; 0 findings"), "{out}");
        let (trace, _) = s.trace();
        assert!(rows(&trace).iter().any(|r| r["msg"] == last), "{scenario}: no {last}");
        assert_eq!(s.get("/v1/findings", ADMIN).body["findings"], serde_json::json!([]));
    }
}
