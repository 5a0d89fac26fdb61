//! `lnpsim serve` figures (a benchmark, never part of `cargo test`):
//!
//! - messages per second accepted (`POST /v1/messages`), with `--journal` (an fsync before
//!   each answer, shared by what arrives together) and without;
//! - p50 and p99 latency of `POST /v1/messages` on loopback at 1, 10 and 100 concurrent clients;
//! - the wall time of `POST /v1/clock/advance {"by": "5bd"}` with 10,000 open ports.
//!
//! `cargo bench --bench serve` (it builds and runs the release binary). The admin's token is
//! used so that the per-carrier rate limit does not cap the figures. `SERVE_BENCH_MESSAGES`
//! sets how many messages each figure sends (default 4000).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The wall clock: a benchmark measures it.
#[allow(clippy::disallowed_methods, reason = "a benchmark measures wall-clock time")]
fn clock() -> Instant {
    Instant::now()
}

const ADMIN: &str = "bench-admin-token-0000001";

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, scenario: &str, external: &str, journal: bool) -> Server {
    let tokens = dir.join("tokens.toml");
    std::fs::write(&tokens, format!("admin = \"{ADMIN}\"\n")).expect("tokens");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lnpsim"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "serve",
            scenario,
            "--external",
            external,
            "--listen",
            "127.0.0.1:0",
            "--tokens",
        ])
        .arg(&tokens)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if journal {
        let j = dir.join(format!("journal-{}", std::process::id()));
        let _ = std::fs::remove_file(&j);
        cmd.arg("--journal").arg(j);
    }
    let mut child = cmd.spawn().expect("start");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening")
        .to_string();
    Server { child, url }
}

fn message(i: usize) -> String {
    serde_json::json!({"msg": "SNA", "from": "9002", "to": "9001", "ref": format!("B{i}"), "category": "A",
        "numbers": ["0255501234"]})
    .to_string()
}

/// Sends `total` messages from `clients` threads; returns the wall time and each latency.
fn load(s: &Server, clients: usize, total: usize) -> (Duration, Vec<Duration>) {
    let per = total / clients;
    let started = clock();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let url = format!("{}/v1/messages", s.url);
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                let mut lat = Vec::with_capacity(per);
                for i in 0..per {
                    let body = message(c * per + i);
                    let t = clock();
                    let r = http.post(&url).bearer_auth(ADMIN).body(body).send().expect("send");
                    assert_eq!(r.status().as_u16(), 202);
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().expect("client")).collect();
    let wall = started.elapsed();
    all.sort_unstable();
    (wall, all)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let total: usize = std::env::var("SERVE_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let dir = tempfile::tempdir().expect("tempdir");
    for journal in [false, true] {
        let s = start(dir.path(), "scenarios/serve/cat-a.toml", "9002", journal);
        let (wall, _) = load(&s, 10, total);
        println!(
            "accepted, 10 clients, journal {}: {:.0} messages/s ({total} in {:.2} s)",
            if journal { "on (fsync)" } else { "off" },
            total as f64 / wall.as_secs_f64(),
            wall.as_secs_f64()
        );
        for clients in [1, 10, 100] {
            let (_, lat) = load(&s, clients, total.max(clients));
            println!(
                "  POST /v1/messages latency, {clients:>3} clients: p50 {:.2} ms, p99 {:.2} ms",
                pct(&lat, 0.5),
                pct(&lat, 0.99)
            );
        }
    }
    // 10,000 open ports: the 100k market cut to 10,000 ports submitted in the first day.
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/bench/market-100k.toml"))
        .expect("bench scenario");
    let mut edited = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("ports =") {
            edited.push_str("ports = 10000\n");
        } else if t.starts_with("window =") {
            edited.push_str("window = \"1d\"\n");
        } else {
            edited.push_str(line);
            edited.push('\n');
        }
    }
    edited.push_str("\n[[carriers]]\ncode = \"9099\"\nname = \"Outside\"\nranges = []\n");
    let path = dir.path().join("market-10k.toml");
    std::fs::write(&path, edited).expect("write");
    let s = start(dir.path(), &path.display().to_string(), "9099", false);
    let http = reqwest::blocking::Client::new();
    let advance = |by: &str| {
        let t = clock();
        let r = http
            .post(format!("{}/v1/clock/advance", s.url))
            .bearer_auth(ADMIN)
            .body(format!("{{\"by\": \"{by}\"}}"))
            .send()
            .expect("advance");
        let body: serde_json::Value = r.json().expect("json");
        (t.elapsed(), body)
    };
    let (t1, b1) = advance("1d");
    println!(
        "10,000 ports submitted: advance 1d took {:.0} ms ({} rows)",
        t1.as_secs_f64() * 1000.0,
        b1["delivered"]
    );
    let (t2, b2) = advance("5bd");
    println!(
        "advance 5bd with the 10,000 ports open: {:.0} ms ({} rows)",
        t2.as_secs_f64() * 1000.0,
        b2["delivered"]
    );
}
