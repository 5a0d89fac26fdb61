//! lnp-audit: the judge of a trace. It reads the trace and the [`Rulebook`] (and, optionally, a
//! [`Context`] of donors, agreements, caps and services) and never the carrier actors; it reports
//! every violation by rule ID with the rows, port, numbers and one sentence a person can act on.
//!
//! What this crate does not do: no file I/O, no clock. Callers push records (from a file reader,
//! or the simulator's own in-memory trace) into an [`Auditor`], or call [`audit_records`].
//! Memory is bounded by the ports still open (about 0.9 KB each; `docs/rules.md`, "Memory"): a
//! finished port is charged with any duty it never did and dropped a day after its last deadline
//! (and its last row).
//!
//! # General readings
//!
//! - **Duty, not symptom.** A violation is charged to the carrier that fails a duty. A request
//!   that breaks a rule and is rejected with the right code is the Code working. Accepting it is
//!   the violation, charged at the confirming row. A reject whose ground the trace (and context)
//!   shows to be false is charged too, under the rule its code stands for (an `ECA_REJECT 102`
//!   while a valid SNA confirmation exists is an `ECA-NEEDS-SNA` violation).
//! - **What the losing carrier knew.** Grounds (SNA expired, withdrawal after the ECA, return
//!   outside its window, CA age) are judged at the time of the request, as the receiver saw it.
//! - **Ports** are tied together by `ref` (PNVs separately from SNA/CNA ports). Rows without a
//!   `ref` (`CUTOVER`, `DTR_*`, `PLNR_PUBLISH`, `DONOR_NOTIFY` may omit it) are matched by
//!   number to the port that last named the number. A request or answer without a `ref` is a
//!   malformed row. A trace should start at the beginning of the ports it shows: an `ECA` whose
//!   SNA is not in the trace is judged as having no SNA.
//! - **Answers** are matched to the oldest unanswered request of their kind on the same port.
//! - **Deadlines** use the [`BusinessCalendar`]: elapsed time for minutes and hours, "within N
//!   business days" as `rules.md` defines it, all inclusive. A duty still open at the end of the
//!   trace is charged only when its deadline is earlier than the last row's time; one whose
//!   deadline has not passed is not a violation (yet).
//! - **Reject codes.** Every `*_REJECT` (other than `CNA_REJECT`, which uses PNV codes) must carry
//!   a three-digit code from the table that is a valid ground (else `NO-CONTRACT-REJECT`, for
//!   `009`/`010` and any code the rulebook marks so) and is listed for that request. A missing,
//!   unknown or misplaced code is charged to the rule governing that answer: `SNA-RESPONSE`
//!   (SNA), `ECA-RESPONSE` (ECA), `CCA-RESPONSE` (CCA), `RETARGET-LIMIT` (RETARGET),
//!   `WITHDRAW-BEFORE-ECA` (`WITHDRAW`), `EMERGENCY-RETURN` (`REVERSAL`, `EMERGENCY_RETURN`).
//! - **Row order** is a trace-format matter, not a rule of the Code. A file is read through
//!   [`LogAudit`] (`docs/rules.md`, "Reading a carrier's log"): `seq` must increase in file
//!   order (gaps are fine); rows of one instant are simultaneous; a row out of time order by no
//!   more than the reorder window is judged at its own time (`reordered_rows`), one further out
//!   is malformed. [`Auditor::push_at`] itself takes rows in order: one out of order is
//!   malformed. No finding is drawn from a malformed row, nor from its absence: its port is
//!   listed in `not_judged` instead. Lines of well-formed rows are counted from the previous
//!   row (the CLI knows only the lines of unreadable rows).
//! - **Cutover time** of a port: its first `CUTOVER` row. "Completion" is `COMPLETION` for Cat A
//!   and D (the `CUTOVER` without one) and the `CUTOVER` for Cat C.
//! - **Donor** of a number: from the context's carrier ranges; without a context, the carrier
//!   that runs DTR or publishes PLNR records for the port. Third-party duties are judged per
//!   port, with the donor of the port's first number.
//!
//! # Per rule
//!
//! | rule | what is checked |
//! |---|---|
//! | `CA-AGE` | An `SNA_CONFIRM`/`CNA_CONFIRM` of a request whose `ca_date` is more than `ca_age` before the request's Sydney date, or after it; a `PNV_RESPONSE` that does not reject such a PNV with code 1. Also a reject with `001` (SNA) or code 1 (PNV) although `ca_date` is present and within range. Requests without `ca_date` are not judged. |
//! | `SNA-ONE-NUMBER` | An `SNA_CONFIRM` of an SNA that carries other than one number (rejecting it is the Code working). |
//! | `PORT-PENDING` | An `SNA_CONFIRM`/`CNA_CONFIRM` of a number that is in another confirmed port not yet completed, cut over, rejected, withdrawn, returned or (Cat A without an ECA) past its SNA validity. An `008` reject is never charged: the other port may predate the trace. |
//! | `SNA-RESPONSE` | First `SNA_CONFIRM`/`SNA_REJECT` within `sna_response` of the SNA; an SNA never answered whose deadline passed. |
//! | `SNA-VALIDITY` | An `ECA_CONFIRM` of an ECA sent after `sna_validity` from the `SNA_CONFIRM` (or, with `eca_max_sna_age` set, more than that after the SNA); an `ECA_REJECT 101` while the confirmation was valid. |
//! | `ECA-NEEDS-SNA` | An `ECA_CONFIRM` of an ECA with no `SNA_CONFIRM` on its ref, or naming numbers the SNA did not; an `ECA_REJECT 102` while a valid confirmation existed. |
//! | `ECA-RESPONSE` | Each ECA answered within `eca_response`; an ECA never answered whose deadline passed. |
//! | `COMPLETION` | `COMPLETION` within `completion` of the `ECA_CONFIRM`; none by a passed deadline (unless the port was withdrawn). |
//! | `WITHDRAW-BEFORE-ECA` | A `WITHDRAW_CONFIRM` of a withdrawal sent while an ECA (Cat A/D) or CCA (Cat C) was outstanding or confirmed (one that was rejected no longer counts: the port awaits a new one); a `WITHDRAW_REJECT 107` of one sent before. |
//! | `RETARGET-LIMIT` | The `RETARGET_CONFIRM` that takes the count of confirmed re-targets above `retargets_max` (Cat A/D: over the port; Cat C: those confirmed after the `CCA_CONFIRM`); a `RETARGET_REJECT 104` below the limit. Rejected re-targets do not count. |
//! | `CAT-A-NOT-REJECTABLE` | Context only: an `SNA_REJECT 005` where every number's service is simple (a number no service lists is simple). |
//! | `NO-CONTRACT-REJECT` | Any reject whose code is not a valid ground (`009`, `010`). |
//! | `PNV-RESPONSE` | Statistic: the share of PNVs answered within `pnv_response`, over PNVs answered or whose deadline passed (PNVs still within their time at the end are not counted). Pass at or above `pnv_response_percent`; not applicable with none. A fail makes the exit status 1; no finding is listed. |
//! | `PNV-CODES` | `PNV_RESPONSE`: codes present, each `P A S R D SS` or `1`–`7`; a whole-message code only 1 or 2; a per-number 1 or 2 only when it is every number's code. `CNA_REJECT`: a code present, per-number codes `1`–`7` only, no three-digit code. |
//! | `CNA-RECEIPT` | `CNA_RECEIPT` within `cna_receipt` of the CNA; none by a passed deadline. |
//! | `CNA-RESPONSE` | First `CNA_CONFIRM`/`CNA_REJECT` within `cna_response`; none by a passed deadline. |
//! | `CNA-ALL-OR-NOTHING` | A batch both confirmed and rejected; a `CNA_CONFIRM` listing only some of the CNA's numbers; a `CUTOVER` of a batch whose CNA was rejected. |
//! | `CCA-NEEDS-CNA` | A `CCA_CONFIRM` of a CCA sent without a `CNA_CONFIRM` (or after a `CNA_REJECT`); a `CCA_REJECT 105` when the CNA was confirmed. |
//! | `CCA-RESPONSE` | Each CCA answered within `cca_response`; none by a passed deadline. |
//! | `CUTOVER-HOURS` | A port's first `CUTOVER` outside Standard Hours, unless the context's agreement of gaining and losing carrier allows after hours (without a context no pair does). A confirmed ECA/CCA/re-target never cut over is judged by its requested cutover (ECA: its `cutover` detail, else its own time; CCA/RETARGET: their `cutover`). An `ECA_REJECT`/`CCA_REJECT`/`RETARGET_REJECT 103` of a cutover that was allowed. One finding per port. |
//! | `CUTOVER-AT-AGREED` | Cat C: the first `CUTOVER` more than `cutover_at_agreed` before or after the agreed time (the confirmed CCA's `cutover`, moved by confirmed re-targets); a confirmed cutover that never happened by the agreed time plus the tolerance (unless withdrawn). |
//! | `BILATERAL` | Context only: at the `SNA_CONFIRM`/`CNA_CONFIRM`, the gaining–losing pair, and in a third-party port donor–losing and donor–gaining, each have an agreement. |
//! | `DONOR-NOTIFY` | Context only, when the donor is neither the losing nor the gaining carrier: `status=P` no later than the first `CUTOVER`; `C` within `donor_notify` of completion; `R` within it of a confirmed reversal/return; `N` within it of a reject or withdrawal, when `P` had been sent. |
//! | `DTR-DURATION` | `DTR_START` more than `dtr_start_grace` after the `CUTOVER` (one before it is fine); a `DTR_STOP` earlier than `dtr_duration` after the `DTR_START` (unless the port was returned first); no `DTR_START` at all when the donor is known and is not the gaining carrier and the grace has passed. A stop later than the period is not charged: the rule sets a minimum, and routing that lasts longer harms no call. |
//! | `PLNR-UPDATE` | `status=C` published not before the return window ends (`return_window` after the `CUTOVER`) and within `plnr_update` after the later of completion and that end; none by then, when the donor is known and is not the gaining carrier (and the port was not returned). After a published `P` or `C`: `R` within `plnr_update` of a confirmed return; after a published `P`: `N` within it of a reject or withdrawal. `P` may be published any time. |
//! | `EMERGENCY-RETURN` | A `REVERSAL_CONFIRM`/`EMERGENCY_RETURN_CONFIRM` of a request sent more than `return_window` after the `CUTOVER`; a `108` reject of one sent within it. |
//! | `QUARANTINE` | Not checked: a trace has no allocation event. |
//! | `DAILY-CAP` | Context only: confirmed ECAs and CCAs counted per losing carrier per Sydney date of their requested cutover (re-targets do not move a count); the confirmation that exceeds the carrier's cap; a `106` reject while under the cap (or with no cap). |

mod auditor;
mod clock;
mod context;
mod log;
mod report;

pub use auditor::Auditor;
pub use context::{Agreement, CarrierInfo, Context, Service, ServiceHolding, ServiceKind};
pub use log::{LogAudit, RowOrder, Step, LOOKAHEAD, MAX_HELD};
pub use report::{xml_escape, Finding, MalformedRow, NotChecked, NotJudged, Report, StatStatus, Statistic, Summary};

use std::borrow::Borrow;

use lnp_model::trace::RowError;
use lnp_model::{BusinessCalendar, Rulebook, TraceRecord};

/// Audits records from memory (the simulator's own trace, or a test's), owned or borrowed.
pub fn audit_records<I, R>(
    records: I,
    rulebook: &Rulebook,
    calendar: &BusinessCalendar,
    context: Option<&Context>,
) -> Report
where
    I: IntoIterator<Item = R>,
    R: Borrow<TraceRecord>,
{
    let mut auditor = Auditor::new(rulebook, calendar, context);
    for r in records {
        auditor.push(r.borrow());
    }
    auditor.finish()
}

/// Audits a trace file as it is read ([`LogAudit`], with the default reorder window): malformed
/// rows are listed and their ports not judged, and the rest audited. Every row is named by the
/// line it begins on, as the reader counts lines (empty lines, CRLF and quoted line breaks
/// included), so a finding of the reader rules names the line `lnpsim audit` names.
pub fn audit_reader<R: std::io::BufRead>(
    mut reader: lnp_model::TraceReader<R>,
    rulebook: &Rulebook,
    calendar: &BusinessCalendar,
    context: Option<&Context>,
) -> Report {
    let mut audit = LogAudit::new(Auditor::new(rulebook, calendar, context), LogAudit::DEFAULT_WINDOW);
    while let Some(row) = reader.next() {
        match row {
            Ok(r) => audit.push(reader.line(), r),
            Err(e) => audit.push_malformed(e),
        }
    }
    audit.finish(None)
}

/// Audits rows that may have failed to parse, from any iterator, as [`audit_reader`] does a file.
/// An iterator does not say which line a row came from, so lines are counted as in a CSV file
/// with a header and nothing else: a well-formed row is the line after the previous row, and
/// a malformed one names its own. For a file, [`audit_reader`] names every line exactly.
pub fn audit_rows<I>(rows: I, rulebook: &Rulebook, calendar: &BusinessCalendar, context: Option<&Context>) -> Report
where
    I: IntoIterator<Item = Result<TraceRecord, RowError>>,
{
    let mut audit = LogAudit::new(Auditor::new(rulebook, calendar, context), LogAudit::DEFAULT_WINDOW);
    let mut line = 1;
    for row in rows {
        match row {
            Ok(r) => {
                line += 1;
                audit.push(line, r);
            }
            Err(e) => {
                line = e.line;
                audit.push_malformed(e);
            }
        }
    }
    audit.finish(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnp_model::trace::read_all;
    use lnp_model::{RuleId, TraceFormat};

    const LATE_ECA: &str = "seq,time,from,to,msg,ref,category,numbers,code,detail
1,2026-03-02T09:00:00+11:00,9002,9001,SNA,SNA-1,A,0255501234,,ca_date=2026-02-25
2,2026-03-02T09:05:00+11:00,9001,9002,SNA_CONFIRM,SNA-1,A,0255501234,,
3,2026-03-09T10:00:00+11:00,9002,9001,ECA,SNA-1,A,0255501234,,
4,2026-03-09T10:42:00+11:00,9001,9002,ECA_CONFIRM,SNA-1,A,0255501234,,
";

    #[test]
    fn owned_and_borrowed_records_give_the_same_report() {
        let (records, bad) = read_all(LATE_ECA.as_bytes(), TraceFormat::Csv).unwrap();
        assert!(bad.is_empty());
        let book = Rulebook::default();
        let cal = book.calendar();
        let borrowed = audit_records(&records, &book, &cal, None);
        let owned = audit_records(records, &book, &cal, None);
        assert_eq!(borrowed.findings, owned.findings);
        assert_eq!(borrowed.violated_rules(), vec![RuleId::EcaResponse]);
        assert_eq!(
            borrowed.findings[0].message,
            "ECA at seq 3 was answered 42 minutes later at seq 4; the limit is 15 minutes (ECA-RESPONSE, clause 4.2.32, \
             4.2.33)"
        );
        assert_eq!(borrowed.exit_code(), 1);
    }

    #[test]
    fn an_open_deadline_at_the_end_is_not_a_violation() {
        // The ECA's 15 minutes end exactly at the last row: not yet passed.
        let text = LATE_ECA.replace(
            "4,2026-03-09T10:42:00+11:00,9001,9002,ECA_CONFIRM,SNA-1,A,0255501234,,",
            "4,2026-03-09T10:15:00+11:00,9003,,GIVE_BACK,,,0370100001,,",
        );
        let book = Rulebook::default();
        let cal = book.calendar();
        let report = audit_rows(
            lnp_model::TraceReader::new(text.as_bytes(), TraceFormat::Csv).unwrap(),
            &book,
            &cal,
            None,
        );
        assert!(report.findings.is_empty(), "{}", report.to_text());
        let text = text.replace("10:15:00+11:00,9003", "10:15:01+11:00,9003");
        let report = audit_rows(
            lnp_model::TraceReader::new(text.as_bytes(), TraceFormat::Csv).unwrap(),
            &book,
            &cal,
            None,
        );
        assert_eq!(report.violated_rules(), vec![RuleId::EcaResponse]);
        assert!(report.findings[0].message.contains("was not answered by its deadline"));
    }

    #[test]
    fn a_live_audit_reports_a_late_answer_when_its_deadline_passes() {
        // The ECA at 10:00 is answered at 10:42. Fed up to the ECA, then advanced: nothing at
        // 10:15 (the deadline is inclusive), the finding as soon as 10:15 has passed, and the
        // late answer itself adds nothing more.
        let book = Rulebook::default();
        let cal = book.calendar();
        let rows: Vec<TraceRecord> = lnp_model::TraceReader::new(LATE_ECA.as_bytes(), TraceFormat::Csv)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut audit = Auditor::new(&book, &cal, None);
        for r in &rows[..3] {
            audit.push(r);
        }
        let at = |s: &str| s.parse::<lnp_model::Timestamp>().unwrap();
        audit.advance(at("2026-03-09T10:15:00+11:00"));
        assert!(audit.drain_findings().is_empty());
        audit.advance(at("2026-03-09T10:15:01+11:00"));
        let found = audit.drain_findings();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, RuleId::EcaResponse);
        assert!(audit.drain_findings().is_empty(), "drained once");
        for r in &rows[3..] {
            audit.push(r);
        }
        assert!(
            audit.drain_findings().is_empty(),
            "the late answer is not charged twice"
        );
        let report = audit.finish();
        assert_eq!(report.violated_rules(), vec![RuleId::EcaResponse]);
        assert_eq!(report.findings.len(), 1);
    }

    /// A file with empty lines: `audit_reader` names a refused row by the line it is on.
    #[test]
    fn audit_reader_names_the_line_a_row_is_on() {
        let text = "seq,time,from,to,msg,ref,category,numbers,code,detail\r\n\
                    1,2026-03-02T09:00:00+11:00,9002,9001,SNA,SNA-1,A,0255501234,,ca_date=2026-02-25\r\n\
                    \r\n\
                    2,2026-03-02T09:05:00+11:00,9001,9002,SNA_CONFIRM,SNA-1,A,0255501234,,\r\n\
                    \r\n\
                    \r\n\
                    2,2026-03-02T09:06:00+11:00,9001,9002,SNA_CONFIRM,SNA-1,A,0255501234,,\r\n";
        let book = Rulebook::default();
        let cal = book.calendar();
        let report = audit_reader(
            lnp_model::TraceReader::new(text.as_bytes(), TraceFormat::Csv).unwrap(),
            &book,
            &cal,
            None,
        );
        let lines: Vec<u64> = report.malformed_rows.iter().map(|m| m.line).collect();
        assert_eq!(lines, [7], "{}", report.to_text());
    }
}
