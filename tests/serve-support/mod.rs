//! A real `lnpsim serve` on 127.0.0.1:0 for the tests, and a small blocking client.
#![allow(dead_code, reason = "each test file uses part of the support module")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};

use serde_json::{json, Value};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub const ADMIN: &str = "admin-test-token-000001";

/// The token of a carrier in the tests' tokens files.
pub fn token(code: &str) -> String {
    format!("carrier-{code}-test-token-01")
}

/// Writes a tokens file (mode 0600) for `carriers` into `dir`, with extra TOML appended.
pub fn tokens_file(dir: &Path, carriers: &[&str], extra: &str) -> PathBuf {
    use std::fmt::Write as _;
    let mut text = format!("admin = \"{ADMIN}\"\n[carriers]\n");
    for c in carriers {
        let _ = writeln!(text, "\"{c}\" = \"{}\"", token(c));
    }
    text.push_str(extra);
    let path = dir.join("tokens.toml");
    std::fs::write(&path, text).expect("write tokens");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    path
}

pub fn lnpsim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lnpsim"));
    c.current_dir(root());
    c
}

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub stderr: Option<ChildStderr>,
    pub http: reqwest::blocking::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `lnpsim serve ARGS --listen 127.0.0.1:0` and waits for its first stdout line.
pub fn start(args: &[&str]) -> Server {
    // No pooled connections: a server closes a connection after refusing a body (413), and a
    // request sent on it at that moment would fail for the client's reason, not the server's.
    let http = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("HTTP client");
    start_with(args, http, "http")
}

pub fn start_with(args: &[&str], http: reqwest::blocking::Client, scheme: &str) -> Server {
    let mut child = lnpsim()
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lnpsim serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the first line");
    let prefix = format!("listening on {scheme}://");
    let Some(addr) = line.trim().strip_prefix(&prefix) else {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        panic!("the first line is {line:?}, not {prefix}ADDR; stderr: {err}");
    };
    let url = format!("{scheme}://{addr}");
    let stderr = child.stderr.take();
    Server {
        child,
        url,
        stderr,
        http,
    }
}

/// The answer to a request: status and JSON body (`Value::Null` when not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Server {
    pub fn request(&self, method: &str, path: &str, token: Option<&str>, body: Option<String>) -> Answer {
        let url = format!("{}{path}", self.url);
        let mut req = match method {
            "GET" => self.http.get(&url),
            "POST" => self.http.post(&url),
            other => self.http.request(other.parse().expect("method"), &url),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().expect("send the request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().expect("read the body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            text,
            headers,
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Answer {
        self.request("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.request("POST", path, Some(token), Some(body.to_string()))
    }

    /// Posts a message as `from` (with its own token) and expects 202; returns the seq.
    pub fn send(&self, from: &str, msg: &Value) -> u64 {
        let a = self.post("/v1/messages", &token(from), msg);
        assert_eq!(a.status, 202, "{msg}: {}", a.text);
        a.body["seq"].as_u64().expect("seq")
    }

    pub fn now(&self) -> String {
        self.get("/v1/clock", ADMIN).body["now"]
            .as_str()
            .expect("now")
            .to_string()
    }

    pub fn next_event(&self) -> Option<String> {
        self.get("/v1/clock", ADMIN).body["next_event"]
            .as_str()
            .map(str::to_string)
    }

    pub fn advance(&self, body: &Value) -> Value {
        let a = self.post("/v1/clock/advance", ADMIN, body);
        assert_eq!(a.status, 200, "advance {body}: {}", a.text);
        a.body
    }

    pub fn advance_to(&self, t: &str) {
        self.advance(&json!({ "to": t }));
    }

    /// Advances to the next event; false when there is none.
    pub fn step(&self) -> bool {
        match self.next_event() {
            Some(t) => {
                self.advance_to(&t);
                true
            }
            None => false,
        }
    }

    /// The rows `who` may see after `after`.
    pub fn messages(&self, token: &str, after: u64) -> Vec<Value> {
        let a = self.get(&format!("/v1/messages?after={after}"), token);
        assert_eq!(a.status, 200, "{}", a.text);
        a.body["messages"].as_array().cloned().unwrap_or_default()
    }

    /// Steps the clock event by event until a row of kind `msg` to `to` shows up after `after`;
    /// returns it.
    pub fn step_until(&self, to: &str, msg: &str, after: u64) -> Value {
        for _ in 0..10_000 {
            if let Some(m) = self
                .messages(&token(to), after)
                .into_iter()
                .find(|m| m["msg"] == msg && m["to"] == to)
            {
                return m;
            }
            assert!(self.step(), "the story ended before {msg} reached {to}");
        }
        panic!("no {msg} after 10,000 steps");
    }

    /// Steps until nothing is left to do.
    pub fn finish(&self) {
        for _ in 0..100_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the story never ended");
    }

    /// The story's tasks for `carrier`.
    pub fn tasks(&self, carrier: &str) -> Vec<Value> {
        let a = self.get("/v1/tasks", &token(carrier));
        assert_eq!(a.status, 200, "{}", a.text);
        a.body["tasks"].as_array().cloned().unwrap_or_default()
    }

    /// Steps until the story gives `carrier` a task; returns the first.
    pub fn step_until_task(&self, carrier: &str) -> Value {
        for _ in 0..10_000 {
            if let Some(t) = self.tasks(carrier).into_iter().next() {
                return t;
            }
            assert!(self.step(), "the story ended before a task for {carrier}");
        }
        panic!("no task");
    }

    /// `GET /v1/trace`: the text and `X-Lnpsim-Now`.
    pub fn trace(&self) -> (String, String) {
        let a = self.get("/v1/trace", ADMIN);
        assert_eq!(a.status, 200, "{}", a.text);
        let now = a.headers["x-lnpsim-now"].to_str().expect("header").to_string();
        (a.text, now)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM and returns its exit status code and stderr.
    pub fn terminate(mut self) -> (Option<i32>, String) {
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        }
        let status = self.child.wait().expect("wait");
        let mut err = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        (status.code(), err)
    }
}

/// Rows of a JSON Lines trace.
pub fn rows(jsonl: &str) -> Vec<Value> {
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect()
}

/// What a row says regardless of when: msg, from, to, ref, category, numbers, code.
pub fn gist(row: &Value) -> String {
    format!(
        "{} {}->{} {} {} {} {}",
        row["msg"].as_str().unwrap_or(""),
        row["from"].as_str().unwrap_or(""),
        row["to"].as_str().unwrap_or(""),
        row["ref"].as_str().unwrap_or(""),
        row["category"].as_str().unwrap_or(""),
        row["numbers"],
        row["code"].as_str().unwrap_or("")
    )
}

/// The trace `lnpsim run` writes for a scenario, with every carrier simulated.
pub fn run_trace(scenario: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("trace.jsonl");
    let o = lnpsim()
        .args(["run", scenario, "--quiet", "--trace"])
        .arg(&out)
        .output()
        .expect("lnpsim run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    rows(&std::fs::read_to_string(&out).expect("trace"))
}

/// `lnpsim audit TRACE --scenario S --until T --format json` of a trace text.
pub fn audit_until(trace: &str, scenario: &str, until: &str) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.jsonl");
    std::fs::write(&path, trace).expect("write trace");
    let o = lnpsim()
        .arg("audit")
        .arg(&path)
        .args(["--scenario", scenario, "--until", until, "--format", "json"])
        .output()
        .expect("lnpsim audit");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "audit output is not JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// A message `from` → `to` about a port.
pub fn msg(kind: &str, from: &str, to: &str, port: &str, category: &str, numbers: &[&str]) -> Value {
    json!({"msg": kind, "from": from, "to": to, "ref": port, "category": category, "numbers": numbers})
}

/// An action row.
pub fn action(
    kind: &str,
    by: &str,
    port: &str,
    category: &str,
    numbers: &[&str],
    detail: &BTreeMap<&str, &str>,
) -> Value {
    json!({"msg": kind, "from": by, "ref": port, "category": category, "numbers": numbers, "detail": detail})
}
