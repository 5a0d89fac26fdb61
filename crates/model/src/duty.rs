//! Every duty of the Code, defined once (`docs/rules.md`).
//!
//! A duty is who must do what by when. The carrier actors call these functions to decide when to
//! act; the audit calls the same functions to judge a trace; the plan and the tracker call them to
//! say what is due. No deadline formula is written anywhere else: a rule's value lives in the
//! [`Rulebook`], its calendar arithmetic in the [`Reckoner`], and the shape of the duty here.
//!
//! Each function names the rule it implements. Deadlines are inclusive: an act at the instant a
//! function returns is in time.

use chrono::{NaiveDate, NaiveTime};

use crate::calendar::BusinessCalendar;
use crate::carrier::CarrierCode;
use crate::message::MsgKind;
use crate::rulebook::{RuleId, Rulebook};
use crate::time::{Span, Timestamp};

/// The calendar arithmetic a duty needs. [`BusinessCalendar`] answers directly; the audit's
/// memoised clock gives the same answers faster.
pub trait Reckoner {
    /// `t` plus `span`, as `rules.md` defines each unit.
    fn add(&self, t: Timestamp, span: Span) -> Timestamp;
    /// Whether `t` lies inside Standard Hours.
    fn in_standard_hours(&self, t: Timestamp) -> bool;
    /// The Sydney date of `t`.
    fn sydney_date(&self, t: Timestamp) -> NaiveDate;
    /// The Sydney date that `span` after local midnight of `date` falls on.
    fn date_after(&self, date: NaiveDate, span: Span) -> NaiveDate;
    /// The calendar itself, for the rarer questions (next business day, next Standard Hours).
    fn calendar(&self) -> &BusinessCalendar;
}

impl Reckoner for BusinessCalendar {
    fn add(&self, t: Timestamp, span: Span) -> Timestamp {
        BusinessCalendar::add(self, t, span)
    }

    fn in_standard_hours(&self, t: Timestamp) -> bool {
        BusinessCalendar::in_standard_hours(self, t)
    }

    fn sydney_date(&self, t: Timestamp) -> NaiveDate {
        t.sydney_date()
    }

    fn date_after(&self, date: NaiveDate, span: Span) -> NaiveDate {
        // Calendar days and months move the date alone (midnight always exists in Sydney: its
        // clock changes at 02:00 and 03:00), which is what adding them to midnight gives.
        let moved = match span {
            Span::Days(n) if n >= 0 => date.checked_add_days(chrono::Days::new(n.unsigned_abs())),
            Span::Months(n) if n >= 0 => u32::try_from(n)
                .ok()
                .and_then(|m| date.checked_add_months(chrono::Months::new(m))),
            _ => None,
        };
        moved.unwrap_or_else(|| {
            let midnight = Timestamp::from_sydney_local(date.and_time(NaiveTime::MIN));
            BusinessCalendar::add(self, midnight, span).sydney_date()
        })
    }

    fn calendar(&self) -> &BusinessCalendar {
        self
    }
}

/// How long a gaining carrier waits past an answer's inclusive deadline before it acts on the
/// missing answer: an answer exactly on the deadline is in time, and must not cross the timer.
pub const ANSWER_PATIENCE: Span = Span::Minutes(1);

/// How much earlier than `ECA-RESPONSE` before the end of Standard Hours a compliant gaining
/// carrier sends its ECA (or agrees a Cat C cutover): the answer may take all of `ECA-RESPONSE`,
/// and the cutover that follows it must still fall inside Standard Hours.
pub const SEND_MARGIN: Span = Span::Minutes(1);

/// When the project managers of a Cat C port have agreed the cutover and the gaining carrier
/// sends the CCA: a business day after the `CNA_CONFIRM` (the managers' call, not a Code rule).
pub const CCA_AFTER_CNA_CONFIRM: Span = Span::BusinessDays(1);

/// How often a gaining carrier tries again after `106` (daily capacity) before it gives up:
/// sixty business days, about a quarter, bounds a port against a cap that never frees.
pub const MAX_CAPACITY_RETRIES: u32 = 60;

/// How many business days the search for a compliant send time looks ahead. A slot exists on
/// the first business day unless Standard Hours are shorter than `ECA-RESPONSE` plus
/// [`SEND_MARGIN`]; then none ever exists and the search gives the last day it tried.
pub const SEND_TIME_SEARCH_DAYS: u32 = 400;

/// `WITHDRAW-BEFORE-ECA`: whether a withdrawal is too late (`107`): a Cat A or D port once its
/// ECA was sent, a Cat C port once its CCA was sent.
pub fn withdrawal_too_late(cutover_advice_sent: bool) -> bool {
    cutover_advice_sent
}

/// `DTR-DURATION`: whether the donor runs transit routing for a number now served by `current`:
/// not when the number comes home, the donor itself being the carrier it is ported to (calls
/// that reach the donor are then its own to complete).
pub fn transit_routing_due(donor: CarrierCode, current: CarrierCode) -> bool {
    donor != current
}

/// `DAILY-CAP`: whether a losing carrier that has confirmed `used` cutovers for a date may
/// confirm another under its `cap`; otherwise it rejects with `106`.
pub fn capacity_left(used: u32, cap: Option<u32>) -> bool {
    cap.is_none_or(|cap| used < cap)
}

/// One answer duty: the rule that sets it, and its inclusive deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerDuty {
    pub rule: RuleId,
    pub span: Span,
    pub deadline: Timestamp,
}

/// The duties of the Code over one rulebook and calendar.
#[derive(Clone, Copy)]
pub struct Duties<'a, R: Reckoner + ?Sized> {
    pub book: &'a Rulebook,
    pub clock: &'a R,
}

impl<'a, R: Reckoner + ?Sized> Duties<'a, R> {
    pub fn new(book: &'a Rulebook, clock: &'a R) -> Self {
        Self { book, clock }
    }

    fn add(&self, t: Timestamp, span: Span) -> Timestamp {
        self.clock.add(t, span)
    }

    // ----- answers ------------------------------------------------------------------------

    /// Who must answer a request, and by when. The losing carrier answers every request the
    /// gaining carrier sends; only these have a deadline: `SNA` (`SNA-RESPONSE`), `ECA`
    /// (`ECA-RESPONSE`), `PNV` (`PNV-RESPONSE`), `CNA` (`CNA-RESPONSE`), `CCA` (`CCA-RESPONSE`).
    pub fn answer(&self, request: MsgKind, received: Timestamp) -> Option<AnswerDuty> {
        let (rule, span) = match request {
            MsgKind::Sna => (RuleId::SnaResponse, self.book.sna_response),
            MsgKind::Eca => (RuleId::EcaResponse, self.book.eca_response),
            MsgKind::Pnv => (RuleId::PnvResponse, self.book.pnv_response),
            MsgKind::Cna => (RuleId::CnaResponse, self.book.cna_response),
            MsgKind::Cca => (RuleId::CcaResponse, self.book.cca_response),
            _ => return None,
        };
        Some(AnswerDuty {
            rule,
            span,
            deadline: self.add(received, span),
        })
    }

    /// When a gaining carrier stops waiting for the answer to a request it sent at `sent`.
    pub fn patience(&self, request: MsgKind, sent: Timestamp) -> Option<Timestamp> {
        self.answer(request, sent)
            .map(|d| self.add(d.deadline, ANSWER_PATIENCE))
    }

    /// `CNA-RECEIPT`: the receipt of a `CNA` received at `cna`.
    pub fn cna_receipt_deadline(&self, cna: Timestamp) -> Timestamp {
        self.add(cna, self.book.cna_receipt)
    }

    /// `COMPLETION`: the cutover and `COMPLETION` after an `ECA_CONFIRM` at `confirmed`.
    pub fn completion_deadline(&self, confirmed: Timestamp) -> Timestamp {
        self.add(confirmed, self.book.completion)
    }

    // ----- grounds, judged at the instant the request is received -------------------------

    /// `CA-AGE`: whether a Customer Authority dated `ca` is a ground to reject (`001`, PNV code 1)
    /// a request received at `received`: dated after the request's Sydney date, or more than the
    /// rule's span before it.
    pub fn ca_stale(&self, ca: NaiveDate, received: Timestamp) -> bool {
        let date = self.clock.sydney_date(received);
        ca > date || date > self.clock.date_after(ca, self.book.ca_age)
    }

    /// `SNA-VALIDITY`: the last instant at which an ECA may rely on an `SNA_CONFIRM` sent at
    /// `confirmed`.
    pub fn sna_valid_until(&self, confirmed: Timestamp) -> Timestamp {
        self.add(confirmed, self.book.sna_validity)
    }

    /// `SNA-VALIDITY`: the instant a confirmation not followed by an ECA lapses, ending the port
    /// (`expired`) and freeing its number: the first instant after it stops being valid.
    pub fn sna_lapse(&self, confirmed: Timestamp) -> Timestamp {
        self.sna_valid_until(confirmed).plus_millis(1)
    }

    /// `SNA-VALIDITY`: whether an ECA received at `eca` is a ground for `101`: the confirmation
    /// at `confirmed` has expired, or (with the optional `eca_max_sna_age`) the SNA sent at `sna`
    /// is too old.
    pub fn eca_too_late(&self, sna: Option<Timestamp>, confirmed: Timestamp, eca: Timestamp) -> bool {
        let expired = eca > self.sna_valid_until(confirmed);
        let too_old = match (self.book.eca_max_sna_age, sna) {
            (Some(age), Some(sna)) => eca > self.add(sna, age),
            _ => false,
        };
        expired || too_old
    }

    /// `CUTOVER-HOURS`: whether a cutover at `at` is allowed between a pair whose agreement does
    /// (`after_hours`) or does not allow after-hours ports; otherwise the ECA, CCA or re-target
    /// that asks for it is rejected with `103`.
    pub fn cutover_allowed(&self, at: Timestamp, after_hours: bool) -> bool {
        after_hours || self.clock.in_standard_hours(at)
    }

    /// `CUTOVER-HOURS`: the latest a losing carrier may cut over for an ECA received at
    /// `received` inside Standard Hours without an after-hours agreement: the end of those
    /// Standard Hours (it judged the ECA at receipt, so its answer and cutover must not fall
    /// after them). `None` where nothing bounds it.
    pub fn latest_cutover_for(&self, received: Timestamp, after_hours: bool) -> Option<Timestamp> {
        if after_hours || !self.clock.in_standard_hours(received) {
            return None;
        }
        let (_, end) = self.clock.calendar().standard_hours();
        Some(Timestamp::from_sydney_local(
            received.sydney_naive().date().and_time(end),
        ))
    }

    /// `RETARGET-LIMIT`: whether the `count`-th re-target of a port (1 for the first) is over
    /// the limit and rejected with `104`.
    pub fn retarget_over_limit(&self, count: u32) -> bool {
        count > self.book.retargets_max
    }

    // ----- reversals and emergency returns ------------------------------------------------

    /// `EMERGENCY-RETURN`: the last instant a reversal or emergency return of a port cut over at
    /// `cutover` may be asked for.
    pub fn return_window_end(&self, cutover: Timestamp) -> Timestamp {
        self.add(cutover, self.book.return_window)
    }

    /// `EMERGENCY-RETURN`: whether a return asked at `asked` is inside the window (else `108`).
    pub fn return_in_window(&self, cutover: Timestamp, asked: Timestamp) -> bool {
        asked <= self.return_window_end(cutover)
    }

    // ----- compliant send times -----------------------------------------------------------

    /// The compliant time to send an ECA (or to agree a Cat C cutover) for a `preferred`
    /// instant, as a compliant gaining carrier chooses it: the preferred instant itself where
    /// the pair allows after-hours ports; otherwise the first instant at or after it inside
    /// Standard Hours from which `ECA-RESPONSE` plus [`SEND_MARGIN`] still ends inside them, so
    /// that the answer and the cutover also do.
    pub fn compliant_send_time(&self, preferred: Timestamp, after_hours: bool) -> Timestamp {
        self.send_time(preferred, after_hours, SEND_MARGIN)
    }

    /// The first legal time to send an ECA (or agree a Cat C cutover) at or after `preferred`:
    /// as [`Self::compliant_send_time`] but with no margin, the Code's own limit: the losing
    /// carrier's whole `ECA-RESPONSE` still ends inside Standard Hours (inclusive).
    pub fn legal_send_time(&self, preferred: Timestamp, after_hours: bool) -> Timestamp {
        self.send_time(preferred, after_hours, Span::Seconds(0))
    }

    fn send_time(&self, preferred: Timestamp, after_hours: bool, margin: Span) -> Timestamp {
        if after_hours {
            return preferred;
        }
        let cal = self.clock.calendar();
        let (start, end) = cal.standard_hours();
        let mut t = cal.next_standard_hours(preferred);
        for _ in 0..SEND_TIME_SEARCH_DAYS {
            let local = t.sydney_naive();
            let day_end = Timestamp::from_sydney_local(local.date().and_time(end));
            let answered = self.add(self.add(t, self.book.eca_response), margin);
            if answered <= day_end {
                return t;
            }
            let next = cal.next_business_day(local.date());
            t = Timestamp::from_sydney_local(next.and_time(start));
        }
        t
    }

    /// Whether `t` is itself a compliant time to send an ECA or agree a Cat C cutover
    /// ([`Self::compliant_send_time`] leaves it where it is).
    pub fn is_compliant_send_time(&self, t: Timestamp, after_hours: bool) -> bool {
        self.compliant_send_time(t, after_hours) == t
    }

    /// Whether `t` is a legal time to send an ECA or agree a Cat C cutover
    /// ([`Self::legal_send_time`] leaves it where it is).
    pub fn is_legal_send_time(&self, t: Timestamp, after_hours: bool) -> bool {
        self.legal_send_time(t, after_hours) == t
    }

    /// `CUTOVER-HOURS`: the legal cutover window of the Sydney date `date`: the first and the
    /// last instant of that date that is a legal time to send an ECA or agree a Cat C cutover
    /// ([`Self::legal_send_time`]), both inclusive. With an after-hours agreement
    /// the whole day; without one, `None` on a day that is not a business day (or whose
    /// Standard Hours are shorter than `ECA-RESPONSE`).
    pub fn cutover_window_on(&self, date: NaiveDate, after_hours: bool) -> Option<(Timestamp, Timestamp)> {
        let midnight = Timestamp::from_sydney_local(date.and_time(NaiveTime::MIN));
        let next = date.succ_opt()?;
        let next_midnight = Timestamp::from_sydney_local(next.and_time(NaiveTime::MIN));
        let last_of_day = next_midnight.plus_millis(-1);
        if after_hours {
            return Some((midnight, last_of_day));
        }
        let first = self.legal_send_time(midnight, false);
        if first.sydney_date() != date || !self.is_legal_send_time(first, false) {
            return None;
        }
        // Within one day the compliant instants are one interval from `first` on: find its end
        // by bisection over milliseconds (monotone: compliant up to the end, then not).
        let (lo, hi) = (first, last_of_day);
        if self.is_legal_send_time(last_of_day, false) {
            return Some((first, last_of_day));
        }
        let last = last_where(lo, hi, |t| self.is_legal_send_time(t, false));
        Some((first, last))
    }

    /// The last legal time to send an ECA (or agree a Cat C cutover) at or before `by`: the
    /// latest instant no later than `by` that [`Self::cutover_window_on`] allows. `None` when
    /// none lies within [`SEND_TIME_SEARCH_DAYS`] business days before it.
    pub fn latest_legal_send_time(&self, by: Timestamp, after_hours: bool) -> Option<Timestamp> {
        if after_hours {
            return Some(by);
        }
        let cal = self.clock.calendar();
        let mut date = by.sydney_date();
        for _ in 0..=SEND_TIME_SEARCH_DAYS {
            if let Some((first, last)) = self.cutover_window_on(date, false) {
                if first <= by {
                    return Some(last.min(by));
                }
            }
            date = cal.previous_business_day(date);
        }
        None
    }

    /// `ECA-NEEDS-SNA`, `CUTOVER-HOURS`: the earliest ECA that is legal for an SNA sent at `sna`
    /// whenever the losing carrier confirms it in time: the first legal send time once the
    /// `SNA-RESPONSE` deadline has passed (the confirmation is surely in by then).
    pub fn earliest_eca(&self, sna: Timestamp, after_hours: bool) -> Timestamp {
        let answered = self.add(sna, self.book.sna_response);
        self.legal_send_time(answered.max(sna), after_hours)
    }

    /// `SNA-VALIDITY`, `CUTOVER-HOURS`: the latest ECA that may rely on an `SNA_CONFIRM` sent at
    /// `confirmed`: the last legal send time while the confirmation is valid.
    pub fn latest_eca(&self, confirmed: Timestamp, after_hours: bool) -> Option<Timestamp> {
        self.latest_legal_send_time(self.sna_valid_until(confirmed), after_hours)
    }

    /// `COMPLETION`, `CUTOVER-HOURS`: when the losing carrier may cut a Cat A (or D) port over
    /// for an ECA sent at `eca`: from the ECA to the latest `COMPLETION` (the answer at its
    /// `ECA-RESPONSE` deadline, then `COMPLETION`'s span), and without an after-hours agreement
    /// no later than the end of that day's Standard Hours ([`Self::latest_cutover_for`]).
    pub fn cat_a_cutover_window(&self, eca: Timestamp, after_hours: bool) -> (Timestamp, Timestamp) {
        let answered = self.add(eca, self.book.eca_response);
        let completed = self.completion_deadline(answered);
        let latest = self
            .latest_cutover_for(eca, after_hours)
            .map_or(completed, |end| end.min(completed));
        (eca, latest.max(eca))
    }

    /// The earliest Cat C cutover the project managers can agree for a CNA sent at `cna` whenever
    /// the losing carrier confirms it in time: [`Self::cat_c_agreed_cutover`] for a confirmation
    /// at the `CNA-RESPONSE` deadline, no sooner than `preferred`.
    pub fn cat_c_earliest_cutover(&self, cna: Timestamp, preferred: Timestamp, after_hours: bool) -> Timestamp {
        let answered = self.add(cna, self.book.cna_response).max(cna);
        self.cat_c_agreed_cutover(answered, preferred, after_hours)
    }

    /// `CCA-RESPONSE`, `CUTOVER-AT-AGREED`: the latest instant a CCA for a cutover agreed at
    /// `agreed` can be sent so that the losing carrier's whole answer time ends no later than the
    /// cutover. The Code sets no other time for the CCA. `agreed` itself when even an answer
    /// sent at once could not come first (an answer span of zero).
    pub fn latest_cca_for(&self, agreed: Timestamp) -> Timestamp {
        let deadline = |t: Timestamp| self.add(t, self.book.cca_response);
        if deadline(agreed) <= agreed {
            return agreed;
        }
        // Monotone: a later CCA never has an earlier answer deadline. Bisect over milliseconds
        // within the search horizon before `agreed`.
        let lo = agreed.plus_millis(-i64::from(SEND_TIME_SEARCH_DAYS) * 2 * 86_400_000);
        if deadline(lo) > agreed {
            return lo;
        }
        last_where(lo, agreed, |t| deadline(t) <= agreed)
    }

    /// When the gaining carrier of a Cat C port sends the CCA, for a `CNA_CONFIRM` at
    /// `confirmed`: lnpsim's simulated carriers agree the cutover a business day after the
    /// confirmation ([`CCA_AFTER_CNA_CONFIRM`]); the Code itself only needs the CCA answered before
    /// the cutover ([`Self::latest_cca_for`]).
    pub fn cca_send_time(&self, confirmed: Timestamp) -> Timestamp {
        self.add(confirmed, CCA_AFTER_CNA_CONFIRM).max(confirmed)
    }

    /// The Cat C cutover the project managers agree after a `CNA_CONFIRM` at `confirmed`: the
    /// customer's `preferred` instant, but no sooner than the CCA's answer is due (the CCA goes at
    /// [`Self::cca_send_time`], and `CCA-RESPONSE` may pass before it is confirmed), moved to a
    /// compliant time.
    pub fn cat_c_agreed_cutover(&self, confirmed: Timestamp, preferred: Timestamp, after_hours: bool) -> Timestamp {
        let earliest = self.add(self.cca_send_time(confirmed), self.book.cca_response);
        self.compliant_send_time(preferred.max(earliest), after_hours)
    }

    /// The new Cat C cutover a re-target asked at `asked` proposes for `wanted`: no sooner than
    /// `CCA-RESPONSE` after it, so that the re-target is answered before the old or the new time
    /// comes, moved to a compliant time.
    pub fn cat_c_retarget_cutover(&self, asked: Timestamp, wanted: Timestamp, after_hours: bool) -> Timestamp {
        let earliest = self.add(asked, self.book.cca_response);
        self.compliant_send_time(wanted.max(earliest), after_hours)
    }

    /// `DAILY-CAP`: after a `106` for cutovers on `refused_day`, the gaining carrier tries again
    /// on the next business day at the same local time of day, moved to a compliant time.
    pub fn capacity_retry(&self, refused_day: NaiveDate, time_of_day: NaiveTime, after_hours: bool) -> Timestamp {
        let next = self.clock.calendar().next_business_day(refused_day);
        self.compliant_send_time(Timestamp::from_sydney_local(next.and_time(time_of_day)), after_hours)
    }

    // ----- Cat C cutover ------------------------------------------------------------------

    /// `CUTOVER-AT-AGREED`: the latest a cutover agreed for `agreed` may happen.
    pub fn agreed_cutover_latest(&self, agreed: Timestamp) -> Timestamp {
        self.add(agreed, self.book.cutover_at_agreed)
    }

    /// `CUTOVER-AT-AGREED`: the earliest a cutover agreed for `agreed` may happen (for the
    /// rulebook's elapsed tolerances, exactly the first instant [`Self::cutover_on_agreed`]
    /// accepts).
    pub fn agreed_cutover_earliest(&self, agreed: Timestamp) -> Timestamp {
        let tol = self.book.cutover_at_agreed;
        match tol.fixed_millis() {
            Some(ms) => agreed.plus_millis(-ms),
            None => self.add(agreed, negate(tol)),
        }
    }

    /// `CUTOVER-AT-AGREED`: whether a cutover at `actual` keeps the agreed time.
    pub fn cutover_on_agreed(&self, agreed: Timestamp, actual: Timestamp) -> bool {
        // Written as the audit always judged it: the cutover plus the tolerance reaches the
        // agreed time, and the agreed time plus the tolerance reaches the cutover.
        let tol = self.book.cutover_at_agreed;
        self.add(actual, tol) >= agreed && actual <= self.add(agreed, tol)
    }

    // ----- the donor ----------------------------------------------------------------------

    /// `DTR-DURATION`: the latest a donor may start donor transit routing for a cutover at
    /// `cutover` that it learned of at `learned` (its own cutover: the cutover itself; a
    /// third-party port: the `DONOR_NOTIFY` that gave it the instant).
    pub fn dtr_start_deadline(&self, cutover: Timestamp, learned: Timestamp) -> Timestamp {
        self.add(cutover.max(learned), self.book.dtr_start_grace)
    }

    /// `DTR-DURATION`: the earliest a donor may stop donor transit routing for a cutover at
    /// `cutover` (a reversal or emergency return ends it sooner, with no minimum). A compliant
    /// donor stops it then.
    pub fn dtr_earliest_stop(&self, cutover: Timestamp) -> Timestamp {
        self.add(cutover, self.book.dtr_duration)
    }

    /// `PLNR-UPDATE`: the window for publishing a completed port (`C`): not before the return
    /// window after the `cutover` ends, and within the rule's span after the later of that end
    /// and `completed` (`COMPLETION` for Cat A, the cutover for Cat C). Returns (earliest,
    /// deadline).
    pub fn plnr_completed_window(&self, cutover: Timestamp, completed: Timestamp) -> (Timestamp, Timestamp) {
        let earliest = self.plnr_completed_earliest(cutover);
        (earliest, self.add(earliest.max(completed), self.book.plnr_update))
    }

    /// `PLNR-UPDATE`: the earliest a completed port cut over at `cutover` may be published (when
    /// its return window ends); a compliant donor publishes it then.
    pub fn plnr_completed_earliest(&self, cutover: Timestamp) -> Timestamp {
        self.return_window_end(cutover)
    }

    /// `PLNR-UPDATE`: the deadline for publishing a return (`R`) or a port that did not proceed
    /// (`N`) that happened at `outcome`.
    pub fn plnr_outcome_deadline(&self, outcome: Timestamp) -> Timestamp {
        self.add(outcome, self.book.plnr_update)
    }

    /// `DONOR-NOTIFY`: the deadline for the losing carrier's `P` notice (a port of the donor's
    /// number is pending) of a port cut over at `cutover`: no later than the cutover itself.
    pub fn donor_notify_pending_deadline(&self, cutover: Timestamp) -> Timestamp {
        cutover
    }

    /// `DONOR-NOTIFY`: the deadline for the losing carrier's `C`, `N` or `R` notice of an
    /// outcome at `outcome`. (The `P` notice is due no later than the cutover itself.)
    pub fn donor_notify_deadline(&self, outcome: Timestamp) -> Timestamp {
        self.add(outcome, self.book.donor_notify)
    }

    /// `QUARANTINE`: when a number given back at `given_back` may be allocated again.
    pub fn quarantine_end(&self, given_back: Timestamp) -> Timestamp {
        self.add(given_back, self.book.quarantine)
    }

    /// How long a losing carrier keeps a cut-over port: past the return window (so that a late
    /// return is still answered, with `108`) and until donor transit routing would end.
    pub fn losing_keeps_until(&self, cutover: Timestamp) -> Timestamp {
        let window = self.add(self.return_window_end(cutover), ANSWER_PATIENCE);
        self.dtr_earliest_stop(cutover).max(window)
    }
}

/// The same span, counted back.
fn negate(span: Span) -> Span {
    match span {
        Span::Seconds(n) => Span::Seconds(-n),
        Span::Minutes(n) => Span::Minutes(-n),
        Span::Hours(n) => Span::Hours(-n),
        Span::Days(n) => Span::Days(-n),
        Span::BusinessDays(n) => Span::BusinessDays(-n),
        Span::Months(n) => Span::Months(-n),
    }
}

/// The last instant in `lo..hi` at which `holds`, by bisection over milliseconds: `holds(lo)` is
/// true, `holds(hi)` false, and `holds` is true up to some instant and false after it.
fn last_where(lo: Timestamp, hi: Timestamp, holds: impl Fn(Timestamp) -> bool) -> Timestamp {
    let (mut lo, mut hi) = (lo.millis(), hi.millis());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if holds(Timestamp::from_millis(mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Timestamp::from_millis(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn duties<'a>(book: &'a Rulebook, cal: &'a BusinessCalendar) -> Duties<'a, BusinessCalendar> {
        Duties::new(book, cal)
    }

    #[test]
    fn answers_have_the_rulebook_spans() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        let eca = d.answer(MsgKind::Eca, t("2026-03-02T09:00:00+11:00")).unwrap();
        assert_eq!(eca.rule, RuleId::EcaResponse);
        assert_eq!(eca.deadline, t("2026-03-02T09:15:00+11:00"));
        let sna = d.answer(MsgKind::Sna, t("2026-03-27T10:00:00+11:00")).unwrap();
        // Friday 27 March + 5 business days: over a weekend, Good Friday and Easter Monday, and
        // the end of daylight saving on 5 April.
        assert_eq!(sna.deadline, t("2026-04-07T10:00:00+10:00"));
        assert!(d.answer(MsgKind::Retarget, t("2026-03-02T09:00:00+11:00")).is_none());
        assert_eq!(
            d.patience(MsgKind::Eca, t("2026-03-02T09:00:00+11:00")),
            Some(t("2026-03-02T09:16:00+11:00"))
        );
    }

    #[test]
    fn ca_age_is_judged_on_the_receipt_date() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        let ca = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        // 90 days after 1 January is 1 April.
        assert!(!d.ca_stale(ca, t("2026-04-01T23:59:30+11:00")));
        assert!(d.ca_stale(ca, t("2026-04-02T00:01:00+11:00")));
        assert!(d.ca_stale(ca, t("2025-12-31T12:00:00+11:00")));
    }

    #[test]
    fn sna_lapses_just_after_its_validity() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        let c = t("2026-03-02T09:00:00+11:00");
        let until = d.sna_valid_until(c);
        assert!(!d.eca_too_late(None, c, until));
        assert!(d.eca_too_late(None, c, d.sna_lapse(c)));
    }

    #[test]
    fn send_time_keeps_the_answer_inside_standard_hours() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        // 16:44 leaves 16 minutes: enough for 15 minutes and the margin.
        assert_eq!(
            d.compliant_send_time(t("2026-03-02T16:44:00+11:00"), false),
            t("2026-03-02T16:44:00+11:00")
        );
        // 16:45 does not: the next business day at 08:00.
        assert_eq!(
            d.compliant_send_time(t("2026-03-02T16:45:00+11:00"), false),
            t("2026-03-03T08:00:00+11:00")
        );
        // Good Friday 2026 is 3 April; Easter Monday 6 April.
        assert_eq!(
            d.compliant_send_time(t("2026-04-02T18:00:00+11:00"), false),
            t("2026-04-07T08:00:00+10:00")
        );
        assert_eq!(
            d.compliant_send_time(t("2026-04-02T18:00:00+11:00"), true),
            t("2026-04-02T18:00:00+11:00")
        );
    }

    #[test]
    fn cat_c_cutover_waits_for_the_cca_answer() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        let confirmed = t("2026-03-02T10:00:00+11:00");
        assert_eq!(d.cca_send_time(confirmed), t("2026-03-03T10:00:00+11:00"));
        assert_eq!(
            d.cat_c_agreed_cutover(confirmed, t("2026-03-02T12:00:00+11:00"), false),
            t("2026-03-04T10:00:00+11:00")
        );
        assert_eq!(
            d.cat_c_agreed_cutover(confirmed, t("2026-03-09T12:00:00+11:00"), false),
            t("2026-03-09T12:00:00+11:00")
        );
    }

    #[test]
    fn donor_windows() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        let cut = t("2026-03-02T10:00:00+11:00");
        assert_eq!(d.dtr_start_deadline(cut, cut), t("2026-03-02T10:15:00+11:00"));
        assert_eq!(
            d.dtr_start_deadline(cut, t("2026-03-02T11:00:00+11:00")),
            t("2026-03-02T11:15:00+11:00")
        );
        assert_eq!(d.dtr_earliest_stop(cut), t("2026-03-09T10:00:00+11:00"));
        let (earliest, deadline) = d.plnr_completed_window(cut, t("2026-03-02T10:05:00+11:00"));
        assert_eq!(earliest, t("2026-03-02T14:00:00+11:00"));
        assert_eq!(deadline, t("2026-03-03T14:00:00+11:00"));
        assert!(d.return_in_window(cut, t("2026-03-02T14:00:00+11:00")));
        assert!(!d.return_in_window(cut, t("2026-03-02T14:00:00.001+11:00")));
        assert!(d.cutover_on_agreed(cut, t("2026-03-02T10:30:00+11:00")));
        assert!(!d.cutover_on_agreed(cut, t("2026-03-02T10:30:01+11:00")));
        assert!(d.cutover_on_agreed(cut, t("2026-03-02T09:30:00+11:00")));
        assert!(!d.cutover_on_agreed(cut, t("2026-03-02T09:29:59+11:00")));
    }

    #[test]
    fn the_latest_cca_leaves_its_whole_answer_before_the_cutover() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        // A cutover on Monday 9 March 2026 at 10:00: one business day back is Friday 10:00.
        let agreed = t("2026-03-09T10:00:00+11:00");
        let latest = d.latest_cca_for(agreed);
        assert_eq!(latest, t("2026-03-06T10:00:00+11:00"));
        assert!(d.answer(MsgKind::Cca, latest).unwrap().deadline <= agreed);
        assert!(d.answer(MsgKind::Cca, latest.plus_millis(1)).unwrap().deadline > agreed);
    }

    #[test]
    fn cutover_windows_of_a_day() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let (first, last) = d.cutover_window_on(day, false).unwrap();
        assert_eq!(first, t("2026-03-02T08:00:00+11:00"));
        // 16:45 is the last instant that leaves the losing carrier its whole 15 minutes inside
        // Standard Hours (17:00 inclusive); a compliant gaining carrier keeps a minute's margin.
        assert_eq!(last, t("2026-03-02T16:45:00+11:00"));
        assert!(d.is_legal_send_time(last, false));
        assert!(!d.is_legal_send_time(last.plus_millis(1), false));
        assert!(!d.is_compliant_send_time(last, false));
        assert!(d.is_compliant_send_time(t("2026-03-02T16:44:00+11:00"), false));
        // Saturday, and Boxing Day observed on Monday 28 December 2026.
        assert!(d
            .cutover_window_on(NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(), false)
            .is_none());
        assert!(d
            .cutover_window_on(NaiveDate::from_ymd_opt(2026, 12, 28).unwrap(), false)
            .is_none());
        let (first, last) = d
            .cutover_window_on(NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(), true)
            .unwrap();
        assert_eq!(first, t("2026-03-07T00:00:00+11:00"));
        assert_eq!(last, t("2026-03-07T23:59:59.999+11:00"));
        // The day daylight saving ends (5 April 2026) is 25 hours long.
        let (first, last) = d
            .cutover_window_on(NaiveDate::from_ymd_opt(2026, 4, 5).unwrap(), true)
            .unwrap();
        assert_eq!(last.millis() - first.millis() + 1, 25 * 3_600_000);
    }

    #[test]
    fn latest_legal_send_time_goes_back_to_the_last_window() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        // Easter Monday 2026 (6 April) at noon: the last window before it ended on Thursday 2 April.
        assert_eq!(
            d.latest_legal_send_time(t("2026-04-06T12:00:00+10:00"), false),
            Some(t("2026-04-02T16:45:00+11:00"))
        );
        assert_eq!(
            d.latest_legal_send_time(t("2026-03-02T10:00:00+11:00"), false),
            Some(t("2026-03-02T10:00:00+11:00"))
        );
        assert_eq!(
            d.latest_legal_send_time(t("2026-03-03T07:00:00+11:00"), false),
            Some(t("2026-03-02T16:45:00+11:00"))
        );
        assert_eq!(
            d.latest_legal_send_time(t("2026-03-07T07:00:00+11:00"), true),
            Some(t("2026-03-07T07:00:00+11:00"))
        );
    }

    #[test]
    fn cat_a_ecas_and_cutover() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        let sna = t("2026-03-02T09:00:00+11:00");
        assert_eq!(d.earliest_eca(sna, false), t("2026-03-09T09:00:00+11:00"));
        // Friday 17:30: the SNA answer is due a week later at 17:30, after Standard Hours.
        assert_eq!(
            d.earliest_eca(t("2026-03-06T17:30:00+11:00"), false),
            t("2026-03-16T08:00:00+11:00")
        );
        // Valid for 30 days: 1 April 09:00, inside Standard Hours.
        assert_eq!(d.latest_eca(sna, false), Some(t("2026-04-01T09:00:00+11:00")));
        let eca = t("2026-03-09T10:00:00+11:00");
        assert_eq!(
            d.cat_a_cutover_window(eca, false),
            (eca, t("2026-03-09T11:15:00+11:00"))
        );
        // Late in the day the end of Standard Hours comes first.
        let late = t("2026-03-09T16:30:00+11:00");
        assert_eq!(
            d.cat_a_cutover_window(late, false),
            (late, t("2026-03-09T17:00:00+11:00"))
        );
        assert_eq!(
            d.cat_a_cutover_window(late, true),
            (late, t("2026-03-09T17:45:00+11:00"))
        );
    }

    #[test]
    fn cat_c_earliest_cutover_waits_for_the_cna_answer() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        let cna = t("2026-03-02T09:00:00+11:00");
        // CNA answer by 9 March 09:00, CCA a business day later, its answer a business day after.
        assert_eq!(
            d.cat_c_earliest_cutover(cna, cna, false),
            t("2026-03-11T09:00:00+11:00")
        );
        assert_eq!(
            d.cat_c_earliest_cutover(cna, t("2026-03-20T12:00:00+11:00"), false),
            t("2026-03-20T12:00:00+11:00")
        );
    }

    #[test]
    fn agreed_cutover_window_is_what_cutover_on_agreed_accepts() {
        let (book, cal) = (Rulebook::default(), BusinessCalendar::new());
        let d = duties(&book, &cal);
        let agreed = t("2026-03-02T10:00:00+11:00");
        let (early, late) = (d.agreed_cutover_earliest(agreed), d.agreed_cutover_latest(agreed));
        assert!(d.cutover_on_agreed(agreed, early) && d.cutover_on_agreed(agreed, late));
        assert!(!d.cutover_on_agreed(agreed, early.plus_millis(-1)));
        assert!(!d.cutover_on_agreed(agreed, late.plus_millis(1)));
        assert_eq!(d.donor_notify_pending_deadline(agreed), agreed);
    }
}
