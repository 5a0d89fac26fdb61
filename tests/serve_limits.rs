//! `lnpsim serve`: authentication, bad input, limits and a flood. Every refused request gets
//! its status code and records nothing.

#[path = "serve-support/mod.rs"]
mod support;

use serde_json::{json, Value};
use support::{lnpsim, msg, start, token, tokens_file, Server, ADMIN};

fn serve(dir: &std::path::Path, external: &[&str], extra: &[&str]) -> Server {
    let tokens = tokens_file(dir, external, "");
    let mut args = vec![
        "scenarios/serve/cat-a.toml".to_string(),
        "--tokens".into(),
        tokens.display().to_string(),
    ];
    for e in external {
        args.push("--external".into());
        args.push((*e).to_string());
    }
    args.extend(extra.iter().map(|s| (*s).to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    start(&args)
}

fn rows(s: &Server) -> usize {
    s.trace().0.lines().count()
}

fn sna(from: &str) -> Value {
    msg("SNA", from, "9001", "P1", "A", &["0255501234"])
}

#[test]
fn tokens_decide_who_may_do_what() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = serve(dir.path(), &["9002", "9003"], &[]);
    // No token, an unknown token, a malformed header: 401, nothing recorded.
    let body = Some(sna("9002").to_string());
    for (tok, what) in [(None, "no token"), (Some("not-a-known-token-123"), "unknown token")] {
        let a = s.request("POST", "/v1/messages", tok, body.clone());
        assert_eq!(a.status, 401, "{what}: {}", a.text);
        assert!(a.body["error"].is_string(), "{}", a.text);
    }
    for path in [
        "/v1/messages",
        "/v1/events",
        "/v1/clock",
        "/v1/findings",
        "/v1/trace",
        "/v1/tasks",
    ] {
        assert_eq!(s.request("GET", path, None, None).status, 401, "{path}");
    }
    // Health and the description need none.
    assert_eq!(s.request("GET", "/v1/health", None, None).status, 200);
    let api = s.request("GET", "/openapi.json", None, None);
    assert_eq!(api.status, 200);
    assert!(
        api.body["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "{}",
        api.text
    );
    // Impersonation: 9003's token sending as 9002 is 403, and nothing is recorded.
    let a = s.post("/v1/messages", &token("9003"), &sna("9002"));
    assert_eq!((a.status, a.body["field"].as_str()), (403, Some("from")), "{}", a.text);
    assert_eq!(rows(&s), 0);
    // A carrier's token on the admin endpoints.
    let a = s.post("/v1/clock/advance", &token("9002"), &json!({"by": "1h"}));
    assert_eq!(a.status, 403, "{}", a.text);
    assert_eq!(s.get("/v1/trace", &token("9002")).status, 403);
    assert_eq!(s.now(), "2026-03-02T08:00:00+11:00", "the clock did not move");
    // Any token reads the clock; the right one sends.
    assert_eq!(s.get("/v1/clock", &token("9003")).status, 200);
    assert_eq!(s.send("9002", &sna("9002")), 1);
    // A carrier sees only its own rows.
    assert_eq!(s.messages(&token("9002"), 0).len(), 1);
    assert!(s.messages(&token("9003"), 0).is_empty());
    // The admin may send as any external carrier, not as a simulated one.
    let a = s.post(
        "/v1/messages",
        ADMIN,
        &msg("SNA", "9001", "9002", "P9", "A", &["0255501234"]),
    );
    assert_eq!((a.status, a.body["field"].as_str()), (400, Some("from")), "{}", a.text);
}

#[test]
fn bad_input_gets_the_right_status_and_names_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = serve(dir.path(), &["9002"], &[]);
    let t = token("9002");
    let cases: Vec<(String, u16, Option<&str>)> = vec![
        ("{\"msg\": \"SNA\",".into(), 400, None),
        ("[1, 2]".into(), 400, None),
        ("\"SNA\"".into(), 400, None),
        (json!({"msg": 7, "from": "9002", "to": "9001", "ref": "P1", "numbers": ["0255501234"]}).to_string(), 400, Some("msg")),
        (json!({"msg": "HELLO", "from": "9002", "to": "9001", "ref": "P1", "numbers": ["0255501234"]}).to_string(), 400, Some("msg")),
        (json!({"msg": "SNA", "from": "9002", "to": "9001", "ref": "P1", "numbers": "0255501234"}).to_string(), 400, Some("numbers")),
        (json!({"msg": "SNA", "from": "9002", "to": "9001", "ref": "P1", "numbers": ["1800123456"]}).to_string(), 400, Some("numbers[0]")),
        (json!({"msg": "SNA", "from": "9002", "to": "9009", "ref": "P1", "numbers": ["0255501234"]}).to_string(), 400, Some("to")),
        (json!({"msg": "SNA", "from": "9002", "ref": "P1", "numbers": ["0255501234"]}).to_string(), 400, Some("to")),
        (json!({"msg": "CUTOVER", "from": "9002", "to": "9001", "ref": "P1", "numbers": ["0255501234"]}).to_string(), 400, Some("to")),
        (json!({"msg": "SNA", "from": "9002", "to": "9001", "ref": "P1", "numbers": ["0255501234"], "code": 3}).to_string(), 400, Some("code")),
        (json!({"msg": "SNA", "from": "9002", "to": "9001", "ref": "P1", "numbers": ["0255501234"], "detail": {"ca_date": 5}}).to_string(), 400, Some("detail")),
        (json!({"msg": "SNA", "from": "9002", "to": "9001", "numbers": ["0255501234"]}).to_string(), 400, Some("ref")),
        (json!({"msg": "SNA", "from": "9002", "to": "9001", "ref": "P1", "numbers": ["0255501234"], "time": "now"}).to_string(), 400, Some("time")),
    ];
    for (body, status, field) in &cases {
        let a = s.request("POST", "/v1/messages", Some(&t), Some(body.clone()));
        assert_eq!(a.status, *status, "{body}: {}", a.text);
        assert_eq!(a.body["field"].as_str(), *field, "{body}: {}", a.text);
        assert!(a.body["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", a.text);
    }
    // A huge body: 413, nothing read.
    let huge = format!(
        "{{\"msg\":\"SNA\",\"detail\":{{\"reason\":\"{}\"}}}}",
        "x".repeat(70 * 1024)
    );
    let a = s.request("POST", "/v1/messages", Some(&t), Some(huge));
    assert_eq!(a.status, 413, "{}", a.text);
    // Query parameters and clock bodies.
    assert_eq!(s.get("/v1/messages?after=-1", &t).status, 400);
    assert_eq!(s.get("/v1/messages?wait=61", &t).body["field"], "wait");
    for (body, field) in [
        (json!({"by": "soon"}), Some("by")),
        (json!({"to": "tomorrow"}), Some("to")),
        (json!({"to": "2020-01-01T00:00:00+11:00"}), Some("to")),
        (json!({"by": "-1h"}), Some("by")),
        (json!({}), None),
        (json!({"by": "1h", "to": "2026-03-03T00:00:00+11:00"}), Some("to")),
    ] {
        let a = s.post("/v1/clock/advance", ADMIN, &body);
        assert_eq!((a.status, a.body["field"].as_str()), (400, field), "{body}: {}", a.text);
    }
    assert_eq!(s.request("GET", "/v1/nowhere", Some(&t), None).status, 404);
    assert_eq!(s.request("DELETE", "/v1/messages", Some(&t), None).status, 405);
    assert_eq!(rows(&s), 0, "nothing was recorded");
    // A message that breaks the Code is still accepted: the audit judges it.
    let mut eca = msg("ECA", "9002", "9001", "P7", "A", &["0255501234"]);
    eca["detail"] = json!({});
    assert_eq!(s.send("9002", &eca), 1);
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn a_flood_from_one_carrier_is_limited_and_the_others_are_still_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = serve(dir.path(), &["9002", "9003"], &["--limit", "rate_per_second=50"]);
    let before = rss_kib(s.pid());
    let url = s.url.clone();
    let body = sna("9002").to_string();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                let mut seen = Vec::new();
                for _ in 0..125 {
                    let r = http
                        .post(format!("{url}/v1/messages"))
                        .bearer_auth(token("9002"))
                        .body(body.clone())
                        .send()
                        .expect("send");
                    let retry = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    seen.push((r.status().as_u16(), retry));
                }
                seen
            })
        })
        .collect();
    // Meanwhile another carrier is served.
    let mut other = Vec::new();
    for _ in 0..20 {
        other.push(s.get("/v1/messages?after=0", &token("9003")).status);
    }
    let results: Vec<(u16, Option<String>)> = workers.into_iter().flat_map(|w| w.join().expect("worker")).collect();
    assert_eq!(results.len(), 1000);
    let accepted = results.iter().filter(|r| r.0 == 202).count();
    let limited: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(accepted + limited.len(), 1000, "only 202 and 429");
    assert!(
        !limited.is_empty(),
        "1000 requests went faster than 50 a second, so some are refused"
    );
    assert!(limited
        .iter()
        .all(|r| r.1.as_deref().is_some_and(|v| v.parse::<u64>().is_ok_and(|n| n >= 1))));
    assert!(other.iter().all(|s| *s == 200), "{other:?}");
    assert_eq!(
        rows(&s),
        accepted,
        "each accepted request is a row, each refused one is not"
    );
    let after = rss_kib(s.pid());
    eprintln!(
        "flood: {accepted} accepted, {} refused; server RSS {before:?} KiB before, {after:?} KiB after",
        limited.len()
    );
    if let Some(kib) = after {
        assert!(kib < 256 * 1024, "RSS {kib} KiB");
    }
}

#[test]
fn tokens_files_that_are_unsafe_or_wrong_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str, mode: u32| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        p
    };
    let ok = "admin = \"admin-token-1234567890\"\n[carriers]\n\"9002\" = \"bravo-token-1234567890\"\n";
    let cases = [
        (write("open.toml", ok, 0o644), "readable by others"),
        (
            write(
                "unknown.toml",
                "admin = \"admin-token-1234567890\"\n[carriers]\n\"9009\" = \"x-token-12345678901\"\n",
                0o600,
            ),
            "not in the scenario",
        ),
        (
            write(
                "shared.toml",
                "admin = \"same-token-1234567890\"\n[carriers]\n\"9002\" = \"same-token-1234567890\"\n",
                0o600,
            ),
            "same token",
        ),
    ];
    for (path, needle) in cases {
        let o = lnpsim()
            .args([
                "serve",
                "scenarios/serve/cat-a.toml",
                "--external",
                "9002",
                "--listen",
                "127.0.0.1:0",
                "--tokens",
            ])
            .arg(&path)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", path.display());
        assert!(err.contains(needle), "{needle:?} not in {err}");
        assert!(o.stdout.is_empty(), "nothing listened");
    }
    // Without --tokens: random ones, written with mode 0600, and said so.
    let work = tempfile::tempdir().expect("tempdir");
    let scenario = support::root().join("scenarios/serve/cat-a.toml");
    let mut child = lnpsim()
        .current_dir(work.path())
        .arg("serve")
        .arg(&scenario)
        .args(["--external", "9002", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("line");
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    let file = work.path().join("lnpsim-tokens.toml");
    let text = std::fs::read_to_string(&file).expect("tokens written");
    assert!(text.contains("admin = ") && text.contains("\"9002\" = "), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "SIGTERM ends it with 0");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err).expect("stderr");
    assert!(err.contains("lnpsim-tokens.toml") && err.contains("0600"), "{err}");
}

#[test]
fn a_running_clock_moves_by_itself_and_is_not_advanced_by_hand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = serve(
        dir.path(),
        &["9002"],
        &["--clock", "scaled:3600", "--limit", "tick_ms=20"],
    );
    let clock = s.get("/v1/clock", &token("9002")).body;
    assert_eq!(clock["mode"], "scaled:3600");
    let a = s.post("/v1/clock/advance", ADMIN, &json!({"by": "1h"}));
    assert_eq!(a.status, 409, "{}", a.text);
    let start = clock["now"].as_str().expect("now").to_string();
    let mut moved = false;
    for _ in 0..600 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        if s.now() != start {
            moved = true;
            break;
        }
    }
    assert!(moved, "an hour a second: the clock moves");
    // A message is recorded at the running clock's instant, and the story runs on by itself:
    // the submission at 09:00 is handed to Bravo without anyone advancing the clock.
    let seq = s.send("9002", &sna("9002"));
    let row = &s.messages(&token("9002"), seq - 1)[0];
    assert!(row["time"].as_str().expect("time") > start.as_str(), "{row}");
    let mut tasks = Vec::new();
    for _ in 0..600 {
        tasks = s.tasks("9002");
        if !tasks.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(tasks.len(), 1, "the story's submission came by itself");
}

#[test]
fn the_limits_table_of_docs_serve_md_names_every_setting_with_its_default() {
    let doc = std::fs::read_to_string(support::root().join("docs/serve.md")).expect("docs/serve.md");
    let defaults = lnp_server::Limits::default();
    for name in lnp_server::Limits::NAMES {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("docs/serve.md has no row for {name}"));
        let value = row.split('|').nth(2).expect("a default").trim().to_string();
        let mut l = defaults.clone();
        l.set(&format!("{name}={value}"))
            .expect("the documented default is a value");
        assert_eq!(l, defaults, "docs/serve.md: {name}'s default is not {value}");
    }
}
