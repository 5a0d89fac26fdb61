//! End-to-end: `lnpsim track` on its SQLite database: create and record are idempotent, stages
//! follow the messages, `due` lists overdue duties first (exit 1); a `kill -9` during a large
//! `record` leaves the database as it was, two writers at once each succeed or say the database
//! is busy, and the file opens in the `sqlite3` command-line tool.

use std::fmt::Write as _;
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

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn track(db: &Path, args: &[&str]) -> Output {
    let mut all = vec!["track", "--db", db.to_str().expect("path")];
    all.extend(args);
    lnpsim(&all)
}

fn ok(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn create_example_ports(db: &Path) {
    ok(&track(
        db,
        &[
            "create",
            "SNA-000101",
            "--category",
            "A",
            "--numbers",
            "0255501234",
            "--gaining",
            "9002",
            "--losing",
            "9001",
            "--customer",
            "Harbour Bakery Pty Ltd",
        ],
    ));
    ok(&track(
        db,
        &[
            "create",
            "CNA-000201",
            "--category",
            "C",
            "--numbers",
            "0255502000,0255502001",
            "--gaining",
            "9002",
            "--losing",
            "9001",
        ],
    ));
}

#[test]
fn create_and_record_are_idempotent_and_stages_follow_the_messages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ports.db");
    create_example_ports(&db);
    // The same details again: fine. Other details: refused, naming what differs.
    let again = track(
        &db,
        &[
            "create",
            "SNA-000101",
            "--category",
            "A",
            "--numbers",
            "0255501234",
            "--gaining",
            "9002",
            "--losing",
            "9001",
            "--customer",
            "Harbour Bakery Pty Ltd",
        ],
    );
    assert!(ok(&again).contains("already tracked"));
    let other = track(
        &db,
        &[
            "create",
            "SNA-000101",
            "--category",
            "A",
            "--numbers",
            "0255501235",
            "--gaining",
            "9002",
            "--losing",
            "9001",
        ],
    );
    assert_eq!(other.status.code(), Some(2), "{}", text(&other));
    assert!(String::from_utf8_lossy(&other.stderr).contains("--numbers 0255501235 (tracked: 0255501234)"));
    let two = track(
        &db,
        &[
            "create",
            "SNA-9",
            "--category",
            "A",
            "--numbers",
            "0255501235,0255501236",
            "--gaining",
            "9002",
            "--losing",
            "9001",
        ],
    );
    assert_eq!(
        two.status.code(),
        Some(2),
        "a Cat A port has one number: {}",
        text(&two)
    );
    let log = "examples/track/bravo-porting-log.csv";
    let first = ok(&track(&db, &["record", log]));
    assert!(first.contains("5 rows recorded, 0 already recorded"), "{first}");
    assert!(first.contains("SNA-000101: created -> scheduled"), "{first}");
    let second = ok(&track(&db, &["record", log]));
    assert!(second.contains("0 rows recorded, 5 already recorded"), "{second}");
    // The same rows exported by another system with other seq numbers and a UTC offset: the same rows.
    let other_export = std::fs::read_to_string(root().join(log))
        .expect("read")
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                let (_, rest) = l.split_once(',').expect("seq");
                format!("{},{rest}", 100 + i)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replace("2026-03-09T10:00:00+11:00,9002", "2026-03-08T23:00:00Z,9002");
    let p = dir.path().join("again.csv");
    std::fs::write(&p, other_export).expect("write");
    let third = ok(&track(&db, &["record", p.to_str().expect("path")]));
    assert!(third.contains("0 rows recorded, 5 already recorded"), "{third}");
    let v: serde_json::Value = serde_json::from_str(&ok(&track(
        &db,
        &["status", "--at", "2026-03-09T10:05:00+11:00", "--format", "json"],
    )))
    .expect("json");
    let ports = v["ports"].as_array().expect("ports");
    let stage = |r: &str| ports.iter().find(|p| p["ref"] == r).map(|p| p["stage"].clone());
    assert_eq!(stage("SNA-000101"), Some("scheduled".into()));
    assert_eq!(stage("CNA-000201"), Some("submitted".into()));
    // The ECA is answered, completed, and the donor publishes: completed.
    let more = write(
        dir.path(),
        "later.csv",
        "seq,time,from,to,msg,ref,category,numbers,code,detail\n\
         6,2026-03-09T10:04:00+11:00,9001,9002,ECA_CONFIRM,SNA-000101,A,0255501234,,\n\
         7,2026-03-09T10:04:00+11:00,9001,,CUTOVER,SNA-000101,A,0255501234,,current=9002\n\
         8,2026-03-09T10:04:00+11:00,9001,9002,COMPLETION,SNA-000101,A,0255501234,,\n\
         9,2026-03-09T10:04:00+11:00,9001,,DTR_START,,A,0255501234,,current=9002\n\
         10,2026-03-09T14:04:00+11:00,9001,,PLNR_PUBLISH,,A,0255501234,,status=C;current=9002;file_seq=1\n",
    );
    let out = ok(&track(&db, &["record", &more]));
    assert!(out.contains("SNA-000101: scheduled -> completed"), "{out}");
    let status = ok(&track(
        &db,
        &["status", "SNA-000101", "--at", "2026-03-09T15:00:00+11:00"],
    ));
    assert!(
        status.contains("completed") && status.contains("nothing due"),
        "{status}"
    );
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write");
    p.to_str().expect("path").to_string()
}

#[test]
fn due_lists_overdue_duties_first_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ports.db");
    create_example_ports(&db);
    ok(&track(&db, &["record", "examples/track/bravo-porting-log.csv"]));
    let early = track(&db, &["due", "--at", "2026-03-09T09:30:00+11:00", "--format", "json"]);
    assert_eq!(early.status.code(), Some(0), "nothing is overdue yet: {}", text(&early));
    let o = track(&db, &["due", "--at", "2026-03-09T10:20:00+11:00", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let due = v["due"].as_array().expect("due");
    for d in due {
        for key in ["ref", "rule", "who", "due"] {
            assert!(d[key].is_string(), "{key} in {d}");
        }
        assert!(d["overdue"].is_boolean());
    }
    assert_eq!(due[0]["overdue"], true);
    let eca = due.iter().find(|d| d["rule"] == "ECA-RESPONSE").expect("ECA-RESPONSE");
    assert_eq!(eca["ref"], "SNA-000101");
    assert_eq!(eca["who"], "losing");
    assert_eq!(eca["due"], "2026-03-09T10:15:00+11:00");
    let cna = due.iter().find(|d| d["rule"] == "CNA-RESPONSE").expect("CNA-RESPONSE");
    assert_eq!(cna["due"], "2026-03-09T10:00:00+11:00");
    let first_not_overdue = due.iter().position(|d| d["overdue"] == false).unwrap_or(due.len());
    assert!(
        due[first_not_overdue..].iter().all(|d| d["overdue"] == false),
        "overdue ones first"
    );
    let csv = track(&db, &["due", "--at", "2026-03-09T10:20:00+11:00", "--format", "csv"]);
    assert!(String::from_utf8_lossy(&csv.stdout).starts_with("ref,rule,who,due,overdue,since,what\n"));
    let md = ok(&track(
        &db,
        &[
            "checklist",
            "SNA-000101",
            "--format",
            "md",
            "--at",
            "2026-03-09T10:20:00+11:00",
        ],
    ));
    for want in [
        "## Before the cutover",
        "## At the cutover",
        "## After the cutover",
        "- [x] **SNA-RESPONSE**",
    ] {
        assert!(md.contains(want), "{want} not in\n{md}");
    }
    assert!(md.contains("ECA-RESPONSE") && md.contains("(OVERDUE)"), "{md}");
    let missing = track(&db, &["checklist", "NOPE"]);
    assert_eq!(missing.status.code(), Some(2));
    // The export is a trace the audit reads.
    let export = dir.path().join("export.csv");
    ok(&track(
        &db,
        &["export", "--format", "csv", "-o", export.to_str().expect("path")],
    ));
    let audit = lnpsim(&["audit", export.to_str().expect("path"), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&audit.stdout).expect("audit json");
    assert_eq!(report["malformed_rows"], serde_json::json!([]), "{report}");
    assert_eq!(report["summary"]["rows"], 5);
    let json: serde_json::Value =
        serde_json::from_str(&ok(&track(&db, &["export", "--format", "json"]))).expect("json");
    assert_eq!(json["ports"].as_array().map(Vec::len), Some(2));
}

#[test]
fn malformed_rows_are_named_and_the_rest_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ports.db");
    create_example_ports(&db);
    let log = write(
        dir.path(),
        "log.csv",
        "seq,time,from,to,msg,ref,category,numbers,code,detail\n\
         1,2026-03-02T09:00:00+11:00,9002,9001,SNA,SNA-000101,A,0255501234,,\n\
         2,yesterday,9001,9002,SNA_CONFIRM,SNA-000101,A,0255501234,,\n\
         3,2026-03-02T09:05:00+11:00,9001,9002,SNA_CONFIRM,SNA-999999,A,0255501299,,\n",
    );
    let o = track(&db, &["record", &log]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{log}: line 3, column time")), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("1 rows recorded") && out.contains("1 name no tracked port"),
        "{out}"
    );
    assert!(out.contains("SNA-999999"), "{out}");
    let bad = track(&db, &["record", "no-such-log.csv"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// A log of `n` rows for port `port_ref` (its number `number`): an SNA and then re-targets,
/// each a distinct row.
fn big_log(dir: &Path, name: &str, port_ref: &str, number: &str, n: usize) -> String {
    let mut s = String::from("seq,time,from,to,msg,ref,category,numbers,code,detail\n");
    let start = 1_772_402_400_000_i64; // 2026-03-02T09:00:00+11:00
    for i in 0..n {
        let t = lnp_model::Timestamp::from_millis(start + i as i64 * 1000);
        let msg = if i == 0 { "SNA" } else { "RETARGET" };
        let _ = writeln!(s, "{},{t},9002,9001,{msg},{port_ref},A,{number},,reason=row {i}", i + 1);
    }
    write(dir, name, &s)
}

fn counts(db: &Path) -> (String, i64, i64) {
    let conn = rusqlite::Connection::open(db).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM rows", [], |r| r.get(0))
        .expect("rows");
    let imports: i64 = conn
        .query_row("SELECT count(*) FROM imports", [], |r| r.get(0))
        .expect("imports");
    (check, rows, imports)
}

fn create_port(db: &Path, port_ref: &str, number: &str) {
    ok(&track(
        db,
        &[
            "create",
            port_ref,
            "--category",
            "A",
            "--numbers",
            number,
            "--gaining",
            "9002",
            "--losing",
            "9001",
        ],
    ));
}

#[test]
fn kill_9_during_record_leaves_each_transaction_landed_or_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ports.db");
    create_port(&db, "BIG-1", "0255501234");
    let n = 60_000;
    let log = big_log(dir.path(), "big.csv", "BIG-1", "0255501234", n);
    let wal = dir.path().join("ports.db-wal");
    let mut killed_mid_write = 0;
    for attempt in 0..4 {
        let before = std::fs::metadata(&wal).map_or(0, |m| m.len());
        let mut child = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
            .args(["track", "--db", db.to_str().expect("path"), "record", &log])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // Kill once the transaction is writing (the WAL grows), at a different point each time.
        let threshold = before + 64 * 1024 * (attempt + 1);
        // At most a minute of 2 ms polls.
        let mut polls = 30_000;
        let mut finished = false;
        loop {
            if child.try_wait().expect("try_wait").is_some() {
                finished = true;
                break;
            }
            let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
            polls -= 1;
            if size > threshold || polls == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if !finished {
            child.kill().expect("kill -9"); // SIGKILL on Unix
            let _ = child.wait();
            killed_mid_write += 1;
        }
        let (check, rows, imports) = counts(&db);
        assert_eq!(check, "ok", "attempt {attempt}");
        assert!(
            (rows == 0 && imports == 0) || (rows == n as i64 && imports == 1),
            "attempt {attempt}: a half-landed record: {rows} rows, {imports} imports"
        );
        if rows > 0 {
            break;
        }
    }
    assert!(killed_mid_write > 0, "the record finished before it could be killed");
    // A record after the crash completes it.
    let out = ok(&track(&db, &["record", &log]));
    assert!(out.contains(" rows recorded"), "{out}");
    let (check, rows, _) = counts(&db);
    assert_eq!((check.as_str(), rows), ("ok", n as i64));
}

#[test]
fn two_writers_at_once_each_succeed_or_say_busy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ports.db");
    create_port(&db, "W-1", "0255501234");
    create_port(&db, "W-2", "0255501235");
    let n = 30_000;
    let logs = [
        big_log(dir.path(), "a.csv", "W-1", "0255501234", n),
        big_log(dir.path(), "b.csv", "W-2", "0255501235", n),
    ];
    let children: Vec<_> = logs
        .iter()
        .map(|log| {
            Command::new(env!("CARGO_BIN_EXE_lnpsim"))
                .args(["track", "--db", db.to_str().expect("path"), "record", log])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut landed = 0;
    for c in children {
        let o = c.wait_with_output().expect("wait");
        match o.status.code() {
            Some(0) => landed += 1,
            Some(3) => assert!(
                String::from_utf8_lossy(&o.stderr).contains("the database is busy"),
                "{}",
                text(&o)
            ),
            other => panic!("exit {other:?}: {}", text(&o)),
        }
    }
    assert!(landed >= 1, "neither writer landed");
    let (check, rows, imports) = counts(&db);
    assert_eq!(check, "ok");
    assert_eq!(rows, landed * n as i64);
    assert_eq!(imports, landed);
}

#[test]
fn the_database_opens_in_the_sqlite3_cli() {
    let found = Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "the sqlite3 command-line tool is missing in CI (.ci/run installs it)"
        );
        eprintln!("skipped: the sqlite3 command-line tool is not installed (apt-get install sqlite3)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ports.db");
    create_example_ports(&db);
    ok(&track(&db, &["record", "examples/track/bravo-porting-log.csv"]));
    let o = Command::new("sqlite3")
        .arg(&db)
        .arg(
            "PRAGMA integrity_check; PRAGMA journal_mode; PRAGMA user_version; \
             SELECT ref || ' ' || stage FROM ports ORDER BY ref; SELECT count(*) FROM rows;",
        )
        .output()
        .expect("sqlite3");
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["ok", "wal", "1", "CNA-000201 submitted", "SNA-000101 scheduled", "5"],
        "{out}"
    );
}
