//! The audit's verdict and its three renderings: text for people, JSON in the shape `rules.md`
//! ("Findings") pins, and `JUnit` XML so that a carrier's CI shows the Code as a test suite.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use lnp_model::{CarrierCode, PortRef, RuleId, TelephoneNumber};
use serde::Serialize;

/// One violation: a carrier failed a duty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: RuleId,
    /// The trace rows concerned, in order.
    pub seq: Vec<u64>,
    pub port_ref: Option<PortRef>,
    pub numbers: Vec<TelephoneNumber>,
    /// One sentence a person can act on, ending with the rule ID and its clause.
    pub message: String,
}

impl Finding {
    /// The finding as the report's JSON lists it (`rules.md`, "Findings"), on one line: what a
    /// live audit hands out one finding at a time.
    pub fn to_json(&self) -> String {
        let f = JsonFinding {
            rule: self.rule.as_str(),
            seq: &self.seq,
            port_ref: self.port_ref.map(|r| r.to_string()),
            numbers: self.numbers.iter().map(ToString::to_string).collect(),
            message: &self.message,
        };
        // Serialising a plain struct of strings and numbers cannot fail.
        serde_json::to_string(&f).unwrap_or_default()
    }
}

/// The outcome of a statistical rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatStatus {
    Pass,
    Fail,
    NotApplicable,
}

impl StatStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NotApplicable => "not_applicable",
        }
    }
}

/// A statistical rule's figure (`PNV-RESPONSE`).
#[derive(Clone, Debug, PartialEq)]
pub struct Statistic {
    pub rule: RuleId,
    pub status: StatStatus,
    /// The figure found, in words: `99.5% of 200 within 5 business days`.
    pub value: String,
    /// How many cases were counted and how many of them met the rule.
    pub counted: u64,
    pub met: u64,
}

/// A rule the audit could not judge, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotChecked {
    pub rule: RuleId,
    pub reason: String,
}

/// A trace row that could not be read, or that breaks the trace format's ordering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MalformedRow {
    pub line: u64,
    pub message: String,
}

/// A port whose duties were withheld because one of its rows is malformed (`docs/rules.md`,
/// "Reading a carrier's log"): bad data never makes a carrier look guilty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotJudged {
    pub port_ref: PortRef,
    /// The file lines of its malformed rows.
    pub lines: Vec<u64>,
    pub reason: String,
}

/// Totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Rows read, the malformed ones included.
    pub rows: u64,
    /// Findings (failed statistics are not counted here; they show in `statistics`).
    pub violations: u64,
    /// Findings per rule ID.
    pub by_rule: BTreeMap<String, u64>,
}

/// The audit's verdict on one trace.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Sorted by first `seq`, then rule, then the rest.
    pub findings: Vec<Finding>,
    pub statistics: Vec<Statistic>,
    /// Sorted by rule ID (alphabetically, as the JSON lists them).
    pub not_checked: Vec<NotChecked>,
    pub malformed_rows: Vec<MalformedRow>,
    /// File lines of rows judged at their own time although listed out of order (within the
    /// reorder window).
    pub reordered_rows: Vec<u64>,
    /// Ports not judged because of malformed rows, in reference order.
    pub not_judged: Vec<NotJudged>,
    /// Whose own log was judged (`--as CODE`), if any.
    pub judged_as: Option<CarrierCode>,
    pub summary: Summary,
}

#[derive(Serialize)]
struct JsonNotJudged<'a> {
    #[serde(rename = "ref")]
    port_ref: String,
    lines: &'a [u64],
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'static str,
    seq: &'a [u64],
    #[serde(rename = "ref")]
    port_ref: Option<String>,
    numbers: Vec<String>,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonStatistic<'a> {
    rule: &'static str,
    status: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    findings: Vec<JsonFinding<'a>>,
    statistics: Vec<JsonStatistic<'a>>,
    not_checked: Vec<&'static str>,
    /// Why each rule of `not_checked` is (docs/rules.md, "Findings").
    not_checked_reasons: BTreeMap<&'static str, &'a str>,
    malformed_rows: &'a [MalformedRow],
    reordered_rows: &'a [u64],
    not_judged: Vec<JsonNotJudged<'a>>,
    /// `--as CODE`: whose own log this is.
    #[serde(rename = "as", skip_serializing_if = "Option::is_none")]
    judged_as: Option<String>,
    summary: &'a Summary,
}

/// Escapes text for XML attributes and content. XML 1.0 cannot carry most control characters,
/// not even as character references, so every control character but tab, newline and CR (and
/// the non-characters U+FFFE and U+FFFF) is shown instead in the visible form `\u{7}`, as the
/// trace reader quotes them.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {
                let _ = write!(out, "{}", c.escape_unicode());
            }
            c => out.push(c),
        }
    }
    out
}

/// What the audit gathered, before it becomes a [`Report`].
pub(crate) struct Tally {
    pub rows: u64,
    pub findings: Vec<Finding>,
    pub malformed: Vec<MalformedRow>,
    /// `PNV-RESPONSE`: PNVs answered or due, and those answered in time.
    pub pnv_counted: u64,
    pub pnv_met: u64,
    /// Whether the market (`--scenario`) was known; without it some rules are not checked.
    pub with_context: bool,
    pub reordered: Vec<u64>,
    pub not_judged: Vec<NotJudged>,
    pub judged_as: Option<CarrierCode>,
    /// `--as`: the carrier is the donor of a port it did not lose, whose `CUTOVER` and
    /// `COMPLETION` its log cannot hold.
    pub donor_blind: bool,
    /// `--as`: a port it cut over whose donor the log does not show.
    pub donor_unknown: bool,
}

impl Report {
    /// Assembles the report (`docs/rules.md`, "Findings"): the statistics, the rules not
    /// checked and why, findings in row order, and the summary.
    pub(crate) fn assemble(mut t: Tally, book: &lnp_model::Rulebook) -> Report {
        let (counted, met) = (t.pnv_counted, t.pnv_met);
        let within = book.pnv_response.describe();
        let statistic = if counted == 0 {
            Statistic {
                rule: RuleId::PnvResponse,
                status: StatStatus::NotApplicable,
                value: format!("no PNV answered or due within {within}"),
                counted,
                met,
            }
        } else {
            let pct = met as f64 * 100.0 / counted as f64;
            let pass = met as f64 * 100.0 >= book.pnv_response_percent * counted as f64;
            Statistic {
                rule: RuleId::PnvResponse,
                status: if pass { StatStatus::Pass } else { StatStatus::Fail },
                value: format!("{pct:.1}% of {counted} within {within}"),
                counted,
                met,
            }
        };
        let mut not_checked = vec![NotChecked {
            rule: RuleId::Quarantine,
            reason: "a trace has no allocation event, so a number allocated again too soon cannot be seen".into(),
        }];
        if !t.with_context {
            let needs = [
                (
                    RuleId::Bilateral,
                    "needs the carriers' agreements (--scenario [[agreements]])",
                ),
                (
                    RuleId::DonorNotify,
                    "needs the donor of each number (--scenario [[carriers]] ranges)",
                ),
                (
                    RuleId::DailyCap,
                    "needs each carrier's daily cap (--scenario [[carriers]] daily_cap)",
                ),
                (
                    RuleId::CatANotRejectable,
                    "needs the kind of each service (--scenario [[services]])",
                ),
            ];
            not_checked.extend(needs.into_iter().map(|(rule, reason)| NotChecked {
                rule,
                reason: reason.into(),
            }));
        }
        if let Some(me) = t.judged_as {
            let reason = if t.donor_blind {
                Some(format!(
                    "{me} is the donor of a port it is not the losing carrier of, and its own log cannot show that \
                     port's CUTOVER and COMPLETION"
                ))
            } else if t.donor_unknown {
                Some(format!(
                    "{me}'s own log does not show the donor of a port it cut over (no transit routing or register \
                     row of its own, and no --scenario ranges): another donor's rows cannot be in it"
                ))
            } else {
                None
            };
            for rule in [RuleId::DtrDuration, RuleId::PlnrUpdate] {
                if let Some(reason) = &reason {
                    not_checked.push(NotChecked {
                        rule,
                        reason: reason.clone(),
                    });
                }
            }
        }
        not_checked.sort_by_key(|n| n.rule.as_str());
        t.findings.sort_by(|a, b| {
            (a.seq.first(), a.rule.as_str(), &a.seq, &a.message).cmp(&(
                b.seq.first(),
                b.rule.as_str(),
                &b.seq,
                &b.message,
            ))
        });
        let mut by_rule = BTreeMap::new();
        for f in &t.findings {
            *by_rule.entry(f.rule.as_str().to_string()).or_insert(0) += 1;
        }
        t.malformed.sort_by_key(|m| m.line);
        Report {
            summary: Summary {
                rows: t.rows,
                violations: t.findings.len() as u64,
                by_rule,
            },
            findings: t.findings,
            statistics: vec![statistic],
            not_checked,
            malformed_rows: t.malformed,
            reordered_rows: {
                t.reordered.sort_unstable();
                t.reordered
            },
            not_judged: t.not_judged,
            judged_as: t.judged_as,
        }
    }
}

impl Report {
    /// 0 when there are no findings, no failed statistic and no malformed row; 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        let failed = self.statistics.iter().any(|s| s.status == StatStatus::Fail);
        u8::from(!self.findings.is_empty() || failed || !self.malformed_rows.is_empty())
    }

    /// Whether the trace passes (exit code 0).
    pub fn is_clean(&self) -> bool {
        self.exit_code() == 0
    }

    /// The rule IDs with at least one finding.
    pub fn violated_rules(&self) -> Vec<RuleId> {
        let mut v: Vec<RuleId> = self.findings.iter().map(|f| f.rule).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The JSON object of `rules.md` ("Findings"), pretty-printed, keys in the documented order.
    pub fn to_json(&self) -> String {
        let report = JsonReport {
            findings: self
                .findings
                .iter()
                .map(|f| JsonFinding {
                    rule: f.rule.as_str(),
                    seq: &f.seq,
                    port_ref: f.port_ref.map(|r| r.to_string()),
                    numbers: f.numbers.iter().map(ToString::to_string).collect(),
                    message: &f.message,
                })
                .collect(),
            statistics: self
                .statistics
                .iter()
                .map(|s| JsonStatistic {
                    rule: s.rule.as_str(),
                    status: s.status.as_str(),
                    value: &s.value,
                })
                .collect(),
            not_checked: self.not_checked.iter().map(|n| n.rule.as_str()).collect(),
            not_checked_reasons: self
                .not_checked
                .iter()
                .map(|n| (n.rule.as_str(), n.reason.as_str()))
                .collect(),
            malformed_rows: &self.malformed_rows,
            reordered_rows: &self.reordered_rows,
            not_judged: self
                .not_judged
                .iter()
                .map(|n| JsonNotJudged {
                    port_ref: n.port_ref.to_string(),
                    lines: &n.lines,
                    reason: &n.reason,
                })
                .collect(),
            judged_as: self.judged_as.map(|c| c.to_string()),
            summary: &self.summary,
        };
        // Serialising plain structs of strings and numbers cannot fail.
        serde_json::to_string_pretty(&report).unwrap_or_default()
    }

    /// A report for people: findings, statistics, rules not checked, malformed rows, totals.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(me) = self.judged_as {
            let _ = writeln!(
                out,
                "Judged as {me}'s own log: only the duties {me} holds are charged.\n"
            );
        }
        if self.findings.is_empty() {
            out.push_str("No violations found.\n");
        } else {
            let _ = writeln!(out, "Violations ({}):", self.findings.len());
            for f in &self.findings {
                let seqs: Vec<String> = f.seq.iter().map(ToString::to_string).collect();
                let _ = write!(out, "  {:<20} seq {}", f.rule.as_str(), seqs.join(","));
                if let Some(r) = f.port_ref {
                    let _ = write!(out, "  ref {r}");
                }
                if !f.numbers.is_empty() {
                    let nums: Vec<String> = f.numbers.iter().map(ToString::to_string).collect();
                    let _ = write!(out, "  {}", nums.join(";"));
                }
                let _ = writeln!(out, "\n    {}", f.message);
            }
        }
        if !self.statistics.is_empty() {
            out.push_str("\nStatistics:\n");
            for s in &self.statistics {
                let _ = writeln!(out, "  {:<20} {:<14} {}", s.rule.as_str(), s.status.as_str(), s.value);
            }
        }
        if !self.not_checked.is_empty() {
            out.push_str("\nNot checked:\n");
            for n in &self.not_checked {
                let _ = writeln!(out, "  {:<20} {}", n.rule.as_str(), n.reason);
            }
        }
        if !self.malformed_rows.is_empty() {
            let _ = writeln!(out, "\nMalformed rows ({}):", self.malformed_rows.len());
            for m in &self.malformed_rows {
                let _ = writeln!(out, "  line {}: {}", m.line, m.message);
            }
        }
        if !self.not_judged.is_empty() {
            let _ = writeln!(
                out,
                "\nNot judged ({}): no finding is drawn from a malformed row, nor from its absence",
                self.not_judged.len()
            );
            for n in &self.not_judged {
                let _ = writeln!(out, "  ref {}: {}", n.port_ref, n.reason);
            }
        }
        if !self.reordered_rows.is_empty() {
            let lines: Vec<String> = self.reordered_rows.iter().map(u64::to_string).collect();
            let _ = writeln!(
                out,
                "\nReordered: {} judged at {} own time although listed out of order: line {}",
                if lines.len() == 1 { "1 row" } else { "rows" },
                if lines.len() == 1 { "its" } else { "their" },
                lines.join(", ")
            );
        }
        let count = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let _ = writeln!(
            out,
            "\n{}, {}, {}: {}",
            count(self.summary.rows, "row", "rows"),
            count(self.summary.violations, "violation", "violations"),
            count(self.malformed_rows.len() as u64, "malformed row", "malformed rows"),
            if self.is_clean() { "PASS" } else { "FAIL" }
        );
        out
    }

    /// `JUnit` XML: one test suite `C540`, one test case per rule ID (failed where violated,
    /// skipped where not checked), plus a `trace-format` case failed by malformed rows.
    pub fn to_junit(&self) -> String {
        let mut by_rule: BTreeMap<RuleId, Vec<&Finding>> = BTreeMap::new();
        for f in &self.findings {
            by_rule.entry(f.rule).or_default().push(f);
        }
        let mut cases = String::new();
        let (mut failures, mut skipped) = (0usize, 0usize);
        for &rule in RuleId::ALL {
            let name = xml_escape(rule.as_str());
            let _ = write!(cases, "    <testcase classname=\"C540\" name=\"{name}\"");
            if let Some(n) = self.not_checked.iter().find(|n| n.rule == rule) {
                skipped += 1;
                let _ = writeln!(
                    cases,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml_escape(&n.reason)
                );
            } else if let Some(list) = by_rule.get(&rule) {
                failures += 1;
                let body: Vec<String> = list.iter().map(|f| f.message.clone()).collect();
                let _ = writeln!(
                    cases,
                    ">\n      <failure message=\"{} violation{} of {}\" type=\"violation\">{}</failure>\n    </testcase>",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" },
                    name,
                    xml_escape(&body.join("\n"))
                );
            } else if let Some(s) = self.statistics.iter().find(|s| s.rule == rule) {
                if s.status == StatStatus::Fail {
                    failures += 1;
                    let _ = writeln!(
                        cases,
                        ">\n      <failure message=\"{}\" type=\"statistic\">{}</failure>\n    </testcase>",
                        xml_escape(&s.value),
                        xml_escape(rule.meaning())
                    );
                } else {
                    let _ = writeln!(
                        cases,
                        ">\n      <system-out>{}: {}</system-out>\n    </testcase>",
                        s.status.as_str(),
                        xml_escape(&s.value)
                    );
                }
            } else {
                cases.push_str("/>\n");
            }
        }
        cases.push_str("    <testcase classname=\"C540\" name=\"trace-format\"");
        if self.malformed_rows.is_empty() {
            cases.push_str("/>\n");
        } else {
            failures += 1;
            let body: Vec<String> = self
                .malformed_rows
                .iter()
                .map(|m| format!("line {}: {}", m.line, m.message))
                .collect();
            let _ = writeln!(
                cases,
                ">\n      <failure message=\"{} malformed rows\" type=\"malformed\">{}</failure>\n    </testcase>",
                self.malformed_rows.len(),
                xml_escape(&body.join("\n"))
            );
        }
        let tests = RuleId::ALL.len() + 1;
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"lnpsim audit\" tests=\"{tests}\" \
             failures=\"{failures}\" skipped=\"{skipped}\">\n  <testsuite name=\"C540\" tests=\"{tests}\" \
             failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n{cases}  </testsuite>\n</testsuites>\n"
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            xml_escape("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\\u{1}"
        );
        assert_eq!(
            xml_escape("\u{0}\u{1b}[0m\u{7f}\u{9f}\u{fffe}\t\n\r\u{a0}é"),
            "\\u{0}\\u{1b}[0m\\u{7f}\\u{9f}\\u{fffe}\t\n\r\u{a0}é"
        );
    }

    #[test]
    fn empty_report_is_clean_and_renders() {
        let r = Report::default();
        assert_eq!(r.exit_code(), 0);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["summary"]["rows"], 0);
        assert!(r.to_junit().contains("name=\"ECA-RESPONSE\"/>"));
        assert!(r.to_text().contains("PASS"));
    }
}
