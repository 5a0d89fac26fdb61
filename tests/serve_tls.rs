//! `lnpsim serve` over TLS and mutual TLS with certificates made here (rcgen), webhooks signed
//! with HMAC-SHA256 and delivered at least once in seq order, and SSE resumed by Last-Event-ID.

#[path = "serve-support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use serde_json::{json, Value};
use support::{msg, start, start_with, token, tokens_file, ADMIN};

struct Pki {
    ca_pem: String,
    dir: tempfile::TempDir,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new() -> Self {
        let ca_key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, "lnpsim test CA");
        let ca = p.self_signed(&ca_key).expect("CA");
        Self {
            ca_pem: ca.pem(),
            dir: tempfile::tempdir().expect("tempdir"),
            ca,
            ca_key,
        }
    }

    /// A certificate signed by the CA: for the server (SANs) or a client (CN); returns the
    /// paths of its PEM certificate and key.
    fn issue(&self, name: &str, sans: &[&str], cn: &str, usage: ExtendedKeyUsagePurpose) -> (String, String, String) {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(sans.iter().map(|s| (*s).to_string()).collect::<Vec<_>>()).expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![usage];
        let cert = p.signed_by(&key, &self.ca, &self.ca_key).expect("sign");
        let cert_path = self.dir.path().join(format!("{name}.pem"));
        let key_path = self.dir.path().join(format!("{name}.key"));
        std::fs::write(&cert_path, cert.pem()).expect("write");
        std::fs::write(&key_path, key.serialize_pem()).expect("write");
        (
            cert_path.display().to_string(),
            key_path.display().to_string(),
            format!("{}{}", cert.pem(), key.serialize_pem()),
        )
    }

    fn ca_path(&self) -> String {
        let p = self.dir.path().join("ca.pem");
        std::fs::write(&p, &self.ca_pem).expect("write");
        p.display().to_string()
    }

    fn client(&self, identity: Option<&str>) -> reqwest::blocking::Client {
        let mut b = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA"));
        if let Some(pem) = identity {
            b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
        }
        b.build().expect("client")
    }
}

fn tls_args(tokens: &Path, cert: &str, key: &str, ca: Option<&str>) -> Vec<String> {
    let mut a = vec![
        "scenarios/serve/cat-a.toml".to_string(),
        "--external".into(),
        "9002".into(),
        "--external".into(),
        "9003".into(),
        "--tokens".into(),
        tokens.display().to_string(),
        "--tls-cert".into(),
        cert.into(),
        "--tls-key".into(),
        key.into(),
    ];
    if let Some(ca) = ca {
        a.push("--client-ca".into());
        a.push(ca.into());
    }
    a
}

#[test]
fn https_serves_the_api_and_mutual_tls_checks_the_certificate_names_the_carrier() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = tokens_file(dir.path(), &["9002", "9003"], "");
    let (cert, key, _) = pki.issue(
        "server",
        &["localhost", "127.0.0.1"],
        "lnpsim",
        ExtendedKeyUsagePurpose::ServerAuth,
    );

    // TLS only.
    let args = tls_args(&tokens, &cert, &key, None);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = start_with(&args, pki.client(None), "https");
    assert_eq!(s.request("GET", "/v1/health", None, None).status, 200);
    assert_eq!(s.get("/v1/clock", &token("9002")).status, 200);
    // Plain HTTP to it gets no HTTP answer.
    let plain = s.url.replacen("https://", "http://", 1);
    let answer = reqwest::blocking::get(format!("{plain}/v1/health"));
    assert!(
        answer.map_or(true, |r| !r.status().is_success()),
        "plain HTTP was answered"
    );
    drop(s);

    // Mutual TLS: the CN is the carrier whose token is presented.
    let ca = pki.ca_path();
    let args = tls_args(&tokens, &cert, &key, Some(&ca));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, _, bravo) = pki.issue("bravo", &[], "9002", ExtendedKeyUsagePurpose::ClientAuth);
    let (_, _, admin) = pki.issue("admin", &[], "admin", ExtendedKeyUsagePurpose::ClientAuth);
    let s = start_with(&args, pki.client(Some(&bravo)), "https");
    assert_eq!(s.get("/v1/clock", &token("9002")).status, 200);
    let a = s.get("/v1/clock", &token("9003"));
    assert_eq!(a.status, 403, "9003's token on 9002's certificate: {}", a.text);
    let mut sna = msg("SNA", "9003", "9001", "P1", "A", &["0255501234"]);
    sna["detail"] = json!({});
    assert_eq!(s.post("/v1/messages", &token("9003"), &sna).status, 403);
    assert_eq!(
        s.get("/v1/clock", ADMIN).status,
        403,
        "the admin's token needs CN admin"
    );
    // With the admin's certificate the admin's token works.
    let admin_client = pki.client(Some(&admin));
    let r = admin_client
        .get(format!("{}/v1/trace", s.url))
        .bearer_auth(ADMIN)
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().expect("body"), "", "nothing was recorded");
    // Without a client certificate there is no connection.
    assert!(pki.client(None).get(format!("{}/v1/health", s.url)).send().is_err());
}

/// A webhook receiver: answers `fail_first` requests 500, then 200; hands out (signature,
/// body) of every request.
fn receiver(fail_first: usize) -> (u16, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut served = 0;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut signature = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    match k.to_ascii_lowercase().as_str() {
                        "x-lnpsim-signature" => signature = v.trim().to_string(),
                        "content-length" => length = v.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            served += 1;
            let status = if served <= fail_first {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            if tx
                .send((signature, String::from_utf8_lossy(&body).into_owned()))
                .is_err()
            {
                return;
            }
        }
    });
    (port, rx)
}

fn verify(secret: &str, signature: &str, body: &str) -> bool {
    use hmac::Mac as _;
    let Some((t, v1)) = signature.strip_prefix("t=").and_then(|rest| rest.split_once(",v1=")) else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    let hex = mac.finalize().into_bytes().iter().fold(String::new(), |mut h, b| {
        use std::fmt::Write as _;
        let _ = write!(h, "{b:02x}");
        h
    });
    hex == v1
}

#[test]
fn webhooks_deliver_every_row_at_least_once_in_seq_order_signed() {
    let (port, rx) = receiver(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let hooks =
        format!("\n[webhooks]\n\"9002\" = {{ url = \"http://127.0.0.1:{port}/lnp\", secret = \"hook-secret\" }}\n");
    let tokens = tokens_file(dir.path(), &["9002"], &hooks);
    let s = start(&[
        "scenarios/serve/cat-a.toml",
        "--external",
        "9002",
        "--tokens",
        &tokens.display().to_string(),
        "--limit",
        "webhook_max_backoff_ms=200",
    ]);
    s.advance(&json!({"to": "2026-03-02T09:00:00+11:00"}));
    let mut sna = msg("SNA", "9002", "9001", "P1", "A", &["0255501234"]);
    sna["detail"] = json!({"ca_date": "2026-02-25", "customer": "Harbour Bakery Pty Ltd"});
    s.send("9002", &sna);
    s.advance(&json!({"by": "15m"}));
    let visible: Vec<u64> = s
        .messages(&token("9002"), 0)
        .iter()
        .map(|m| m["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(visible, [1, 2, 3]);
    let mut got: Vec<u64> = Vec::new();
    let mut deliveries = 0;
    while got.len() < visible.len() {
        let (signature, body) = rx.recv_timeout(Duration::from_secs(60)).expect("a webhook delivery");
        deliveries += 1;
        assert!(
            verify("hook-secret", &signature, &body),
            "bad signature {signature:?} for {body}"
        );
        let row: Value = serde_json::from_str(&body).expect("a row");
        let seq = row["seq"].as_u64().expect("seq");
        if got.last() != Some(&seq) {
            got.push(seq);
        }
    }
    assert_eq!(got, visible, "in seq order, each until it was taken");
    assert!(
        deliveries >= visible.len() + 3,
        "the first three were refused and sent again"
    );
}

#[test]
fn an_event_stream_resumes_after_last_event_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = tokens_file(dir.path(), &["9002"], "");
    let s = start(&[
        "scenarios/serve/cat-a.toml",
        "--external",
        "9002",
        "--tokens",
        &tokens.display().to_string(),
    ]);
    s.advance(&json!({"to": "2026-03-02T09:00:00+11:00"}));
    s.send("9002", &msg("SNA", "9002", "9001", "P1", "A", &["0255501234"]));
    s.advance(&json!({"by": "15m"}));
    let visible: Vec<String> = s
        .messages(&token("9002"), 1)
        .iter()
        .map(|m| m["seq"].to_string())
        .collect();
    assert!(!visible.is_empty(), "Alpha answered the SNA");
    let resp = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .expect("client")
        .get(format!("{}/v1/events", s.url))
        .bearer_auth(token("9002"))
        .header("Last-Event-ID", "1")
        .send()
        .expect("events");
    assert_eq!(resp.status().as_u16(), 200);
    let mut ids = Vec::new();
    for line in BufReader::new(resp).lines() {
        let line = line.expect("line");
        if let Some(id) = line.strip_prefix("id:") {
            ids.push(id.trim().to_string());
            if ids.len() == visible.len() {
                break;
            }
        }
    }
    assert_eq!(ids, visible, "the rows after seq 1, and only those");
}

/// A client that does not read its event stream is cut off once its backlog stays full past
/// `sse_stall_secs`, and resumes by seq: nothing is lost.
#[test]
fn a_stalled_event_stream_is_cut_off_and_resumes_by_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = tokens_file(dir.path(), &["9002"], "");
    let s = start(&[
        "scenarios/serve/cat-a.toml",
        "--external",
        "9002",
        "--tokens",
        &tokens.display().to_string(),
        "--limit",
        "sse_backlog=1",
        "--limit",
        "sse_stall_secs=1",
    ]);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let resp = client
        .get(format!("{}/v1/events", s.url))
        .bearer_auth(token("9002"))
        .send()
        .expect("events");
    // 1,000 rows of 30 KB each: far more than the sockets' buffers hold.
    let reason = "r".repeat(30 * 1024);
    let total = 1000;
    for i in 0..total {
        let mut m = msg("SNA", "9002", "9001", &format!("S{i}"), "A", &["0255501234"]);
        m["detail"] = json!({ "reason": reason });
        let a = s.post("/v1/messages", ADMIN, &m);
        assert_eq!(a.status, 202, "{}", a.text);
    }
    // Not reading meanwhile; the server gives up on the stream after a second of a full backlog.
    std::thread::sleep(Duration::from_secs(3));
    let mut last = 0u64;
    for line in BufReader::new(resp).lines() {
        let Ok(line) = line else { break };
        if let Some(id) = line.strip_prefix("id:") {
            last = id.trim().parse().expect("id");
        }
    }
    let rows_for_bravo = s.messages(&token("9002"), 0).len() as u64;
    assert!(
        last < rows_for_bravo,
        "the stream ended at {last} of {rows_for_bravo}: it was cut off"
    );
    // Resumed from the last seq read, it goes on from the next row.
    let resp = client
        .get(format!("{}/v1/events", s.url))
        .bearer_auth(token("9002"))
        .header("Last-Event-ID", last.to_string())
        .send()
        .expect("events");
    let first = BufReader::new(resp)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("id:").map(|v| v.trim().parse::<u64>().expect("id")))
        .expect("an event");
    let next = s.messages(&token("9002"), last)[0]["seq"].as_u64().expect("seq");
    assert_eq!(first, next);
}
