//! Probes of the reader rules (`docs/rules.md`, "Reading a carrier's log", and `--as CODE`):
//! traces written from the rules alone, each with its result worked out by hand before the
//! audit ever ran on it, kept so that the readings stay as they are.

use std::path::PathBuf;
use std::process::Command;

struct Probe {
    file: &'static str,
    args: &'static [&'static str],
    exit: i32,
    /// `(rule, ref)` of each finding, in report order.
    findings: &'static [(&'static str, &'static str)],
    malformed: &'static [u64],
    reordered: &'static [u64],
    not_judged: &'static [(&'static str, &'static [u64])],
    /// Rules that must be listed as not checked.
    not_checked: &'static [&'static str],
    pnv: &'static str,
}

const PROBES: &[Probe] = &[
    // One row dated ten years ahead: one malformed row, its port withheld, the rest judged.
    Probe {
        file: "p01_future_row.csv",
        args: &[],
        exit: 1,
        findings: &[],
        malformed: &[4],
        reordered: &[],
        not_judged: &[("SNA-000002", &[4])],
        not_checked: &[],
        pnv: "not_applicable",
    },
    // Two answers listed before their requests, 10 and 12 minutes out: judged at their own time.
    Probe {
        file: "p02_reorder_within.csv",
        args: &[],
        exit: 0,
        findings: &[],
        malformed: &[],
        reordered: &[6, 7],
        not_judged: &[],
        not_checked: &[],
        pnv: "not_applicable",
    },
    // A row 2 h 30 out of order: malformed; the neighbouring port's late answer still found.
    Probe {
        file: "p03_reorder_beyond.csv",
        args: &[],
        exit: 1,
        findings: &[("ECA-RESPONSE", "SNA-000001")],
        malformed: &[5],
        reordered: &[],
        not_judged: &[("SNA-000002", &[5])],
        not_checked: &[],
        pnv: "not_applicable",
    },
    Probe {
        file: "p04_window_smaller.csv",
        args: &[],
        exit: 0,
        findings: &[],
        malformed: &[],
        reordered: &[6, 11],
        not_judged: &[],
        not_checked: &[],
        pnv: "not_applicable",
    },
    Probe {
        file: "p04_window_smaller.csv",
        args: &["--reorder-window", "30m"],
        exit: 1,
        findings: &[],
        malformed: &[11],
        reordered: &[6],
        not_judged: &[("SNA-000002", &[11])],
        not_checked: &[],
        pnv: "not_applicable",
    },
    // An answer in the same second, listed before its request.
    Probe {
        file: "p05_same_second.csv",
        args: &[],
        exit: 0,
        findings: &[],
        malformed: &[],
        reordered: &[],
        not_judged: &[],
        not_checked: &[],
        pnv: "not_applicable",
    },
    // A malformed row on a port that would otherwise be guilty: withheld, not charged.
    Probe {
        file: "p06_malformed_withheld.csv",
        args: &[],
        exit: 1,
        findings: &[("ECA-RESPONSE", "SNA-000001")],
        malformed: &[5],
        reordered: &[],
        not_judged: &[("SNA-000002", &[5])],
        not_checked: &[],
        pnv: "not_applicable",
    },
    // No ref but readable numbers: that number's port withheld; neither readable: nothing withheld.
    Probe {
        file: "p07_ref_unreadable.csv",
        args: &[],
        exit: 1,
        findings: &[("ECA-RESPONSE", "SNA-000001"), ("ECA-RESPONSE", "SNA-000003")],
        malformed: &[11, 12],
        reordered: &[],
        not_judged: &[("SNA-000002", &[11])],
        not_checked: &[],
        pnv: "not_applicable",
    },
    // A port not judged leaves the PNV statistic: 100% of 2 (66.7%, a fail, were it counted).
    Probe {
        file: "p08_pnv_not_judged.csv",
        args: &[],
        exit: 1,
        findings: &[],
        malformed: &[5],
        reordered: &[],
        not_judged: &[("PNV-000002", &[5])],
        not_checked: &[],
        pnv: "pass",
    },
    // The losing carrier's own log: its late answer and its invalid ground; the donor unknown.
    Probe {
        file: "p09_as_losing.csv",
        args: &["--as", "9001"],
        exit: 1,
        findings: &[("NO-CONTRACT-REJECT", "SNA-000003"), ("ECA-RESPONSE", "SNA-000001")],
        malformed: &[],
        reordered: &[],
        not_judged: &[],
        not_checked: &["DTR-DURATION", "PLNR-UPDATE"],
        pnv: "not_applicable",
    },
    // A third-party donor's own log: it never sees the CUTOVER.
    Probe {
        file: "p10_as_donor.csv",
        args: &["--as", "9003"],
        exit: 0,
        findings: &[],
        malformed: &[],
        reordered: &[],
        not_judged: &[],
        not_checked: &["DTR-DURATION", "PLNR-UPDATE"],
        pnv: "not_applicable",
    },
    // A row the log's carrier neither sent, received nor did.
    Probe {
        file: "p11_as_foreign_row.csv",
        args: &["--as", "9003"],
        exit: 1,
        findings: &[],
        malformed: &[6],
        reordered: &[],
        not_judged: &[("SNA-000005", &[6])],
        not_checked: &[],
        pnv: "not_applicable",
    },
];

#[test]
fn each_probe_gives_the_result_worked_out_by_hand() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for p in PROBES {
        let path = root.join("tests/traces/probes").join(p.file);
        let mut args = vec!["audit", path.to_str().expect("utf-8 path"), "--format", "json"];
        args.extend_from_slice(p.args);
        let o = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
            .args(&args)
            .output()
            .expect("run lnpsim");
        let what = format!("{} {:?}", p.file, p.args);
        assert_eq!(
            o.status.code(),
            Some(p.exit),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let findings: Vec<(String, String)> = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap_or("").into(),
                    f["ref"].as_str().unwrap_or("").into(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = p.findings.iter().map(|(r, f)| ((*r).into(), (*f).into())).collect();
        assert_eq!(findings, want, "{what}");
        let lines = |key: &str| -> Vec<u64> {
            v[key]
                .as_array()
                .expect(key)
                .iter()
                .filter_map(|m| m["line"].as_u64().or(m.as_u64()))
                .collect()
        };
        assert_eq!(lines("malformed_rows"), p.malformed, "{what}");
        assert_eq!(lines("reordered_rows"), p.reordered, "{what}");
        let not_judged: Vec<(String, Vec<u64>)> = v["not_judged"]
            .as_array()
            .expect("not_judged")
            .iter()
            .map(|n| {
                let lines = n["lines"]
                    .as_array()
                    .expect("lines")
                    .iter()
                    .filter_map(serde_json::Value::as_u64);
                (n["ref"].as_str().unwrap_or("").into(), lines.collect())
            })
            .collect();
        let want: Vec<(String, Vec<u64>)> = p.not_judged.iter().map(|(r, l)| ((*r).into(), l.to_vec())).collect();
        assert_eq!(not_judged, want, "{what}");
        for rule in p.not_checked {
            assert!(
                v["not_checked_reasons"][*rule].is_string(),
                "{what}: {rule} not checked, with a reason"
            );
        }
        assert_eq!(v["statistics"][0]["status"], p.pnv, "{what}");
    }
}
