//! The routing model of scenario-format.md ("Routing model") over a small market:
//! Alpha 9001 is the donor of 02 5550 xxxx, Bravo 9002 of 03 7010 xxxx; Charlie 9003 loads the
//! PLNR late and Delta 9004 never does.

use lnp_model::{BusinessCalendar, CarrierCode, NumberRange, TelephoneNumber, Timestamp};
use lnp_routing::{Allocations, CallPath, Outcome, RoutingHistory};

const ALPHA: u16 = 9001;
const BRAVO: u16 = 9002;
const CHARLIE: u16 = 9003;
const DELTA: u16 = 9004;

fn c(code: u16) -> CarrierCode {
    CarrierCode::new(code).unwrap()
}

fn n(s: &str) -> TelephoneNumber {
    s.parse().unwrap()
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn market() -> RoutingHistory {
    let ranges: Vec<(NumberRange, CarrierCode)> = vec![
        ("0255500000-0255509999".parse().unwrap(), c(ALPHA)),
        ("0370100000-0370109999".parse().unwrap(), c(BRAVO)),
    ];
    RoutingHistory::new(Allocations::new(ranges).unwrap())
}

fn hops(p: &CallPath) -> Vec<u16> {
    p.hops.iter().map(|c| c.get()).collect()
}

fn delivered(h: &RoutingHistory, from: u16, number: TelephoneNumber, at: Timestamp) -> Vec<u16> {
    let p = h.path(c(from), number, at);
    assert_eq!(p.outcome, Outcome::Delivered, "{p} {:?}", p.reasons);
    assert_eq!(p.reasons.len(), p.hops.len(), "one reason per hop: {:?}", p.reasons);
    hops(&p)
}

fn unreachable(h: &RoutingHistory, from: u16, number: TelephoneNumber, at: Timestamp) -> (Vec<u16>, String) {
    let p = h.path(c(from), number, at);
    assert_eq!(p.outcome, Outcome::Unreachable, "{p} {:?}", p.reasons);
    assert_eq!(p.reasons.len(), p.hops.len(), "one reason per hop: {:?}", p.reasons);
    (hops(&p), p.reasons.join(" | "))
}

/// A compliant port `losing -> gaining` of a number donated by `donor` at `cutover`: the parties
/// learn at the cutover, the donor (and a losing carrier that is not the donor) forward for five
/// business days.
fn port(
    h: &mut RoutingHistory,
    cal: &BusinessCalendar,
    number: TelephoneNumber,
    donor: u16,
    losing: u16,
    gaining: u16,
    cutover: Timestamp,
) -> Timestamp {
    let stop = cal.add_business_days(cutover, 5);
    h.serve(cutover, number, c(gaining));
    for party in [donor, losing] {
        h.learn(cutover, c(party), number, Some(c(gaining)));
        h.start_transit(cutover, c(party), number, c(gaining));
        h.stop_transit(stop, c(party), number);
    }
    stop
}

#[test]
fn never_ported_number_goes_to_its_donor() {
    let h = market();
    let num = n("0255501234");
    let at = t("2026-03-09T12:00:00+11:00");
    assert_eq!(delivered(&h, CHARLIE, num, at), [CHARLIE, ALPHA]);
    assert_eq!(delivered(&h, ALPHA, num, at), [ALPHA]);
    assert_eq!(delivered(&h, BRAVO, n("0370105555"), at), [BRAVO]);
    assert!(h.path(c(CHARLIE), num, at).reasons[0].contains("allocation"));
}

#[test]
fn number_outside_every_allocation_is_unreachable_with_a_reason() {
    let h = market();
    let (path, why) = unreachable(&h, CHARLIE, n("0299999999"), t("2026-03-09T12:00:00+11:00"));
    assert_eq!(path, [CHARLIE]);
    assert!(why.contains("outside every allocation"), "{why}");
}

#[test]
fn ported_once_direct_via_donor_then_unreachable_for_a_carrier_that_never_loads() {
    let cal = BusinessCalendar::new();
    let mut h = market();
    let num = n("0255501234");
    // Friday cutover: five business days end the next Friday, across the weekend.
    let cutover = t("2026-03-13T10:00:00+11:00");
    let stop = port(&mut h, &cal, num, ALPHA, ALPHA, BRAVO, cutover);
    assert_eq!(stop, t("2026-03-20T10:00:00+11:00"));
    // Charlie loads Alpha's PLNR late: the next business day after the publication, at 03:00.
    let loaded = t("2026-03-17T03:00:00+11:00");
    h.learn(loaded, c(CHARLIE), num, Some(c(BRAVO)));

    let before = cutover.plus_millis(-1);
    assert_eq!(delivered(&h, CHARLIE, num, before), [CHARLIE, ALPHA]);
    assert_eq!(delivered(&h, CHARLIE, num, cutover), [CHARLIE, ALPHA, BRAVO]);
    assert_eq!(
        delivered(&h, ALPHA, num, cutover),
        [ALPHA, BRAVO],
        "the donor knows its register"
    );
    assert_eq!(delivered(&h, BRAVO, num, cutover), [BRAVO]);
    assert_eq!(
        delivered(&h, CHARLIE, num, loaded.plus_millis(-1)),
        [CHARLIE, ALPHA, BRAVO]
    );
    assert_eq!(delivered(&h, CHARLIE, num, loaded), [CHARLIE, BRAVO]);
    // Delta never loads the PLNR: through the donor while DTR lasts, then unreachable.
    assert_eq!(delivered(&h, DELTA, num, stop.plus_millis(-1)), [DELTA, ALPHA, BRAVO]);
    let (path, why) = unreachable(&h, DELTA, num, stop);
    assert_eq!(path, [DELTA, ALPHA]);
    assert!(why.contains("stopped"), "{why}");
    assert_eq!(delivered(&h, CHARLIE, num, stop), [CHARLIE, BRAVO]);
    // Time travel: asking about the past after recording the future gives the past's answer.
    assert_eq!(delivered(&h, DELTA, num, cutover), [DELTA, ALPHA, BRAVO]);
}

#[test]
fn donor_transit_routing_counts_business_days_over_a_holiday() {
    let cal = BusinessCalendar::new();
    let mut h = market();
    let num = n("0255507777");
    // Wednesday 1 April 2026; Good Friday (3 April) and Easter Monday (6 April) are not business days.
    let cutover = t("2026-04-01T10:00:00+11:00");
    let stop = port(&mut h, &cal, num, ALPHA, ALPHA, BRAVO, cutover);
    assert_eq!(stop, t("2026-04-10T10:00:00+10:00"));
    let fifth_calendar_day = t("2026-04-06T10:00:00+10:00");
    assert_eq!(delivered(&h, DELTA, num, fifth_calendar_day), [DELTA, ALPHA, BRAVO]);
    assert_eq!(delivered(&h, DELTA, num, stop.plus_millis(-1)), [DELTA, ALPHA, BRAVO]);
    assert_eq!(unreachable(&h, DELTA, num, stop).0, [DELTA, ALPHA]);
}

#[test]
fn ported_twice_third_party_the_former_losing_carrier_forwards_during_dtr() {
    let cal = BusinessCalendar::new();
    let mut h = market();
    let num = n("0255504321");
    let first = t("2026-03-09T10:00:00+11:00");
    port(&mut h, &cal, num, ALPHA, ALPHA, BRAVO, first);
    // Charlie loads the first record, then nothing for a while.
    h.learn(t("2026-03-10T03:00:00+11:00"), c(CHARLIE), num, Some(c(BRAVO)));
    // Third-party port Bravo -> Delta; Alpha stays the donor.
    let second = t("2026-05-04T10:00:00+10:00");
    let stop = port(&mut h, &cal, num, ALPHA, BRAVO, DELTA, second);

    let during = second.plus_millis(3_600_000);
    assert_eq!(delivered(&h, CHARLIE, num, during), [CHARLIE, BRAVO, DELTA], "rule 3");
    assert_eq!(delivered(&h, ALPHA, num, during), [ALPHA, DELTA]);
    assert_eq!(delivered(&h, BRAVO, num, during), [BRAVO, DELTA]);
    let (path, why) = unreachable(&h, CHARLIE, num, stop);
    assert_eq!(path, [CHARLIE, BRAVO]);
    assert!(why.contains("9002 does not serve"), "{why}");
    // A carrier that never loaded anything goes through the donor, who forwards to Delta.
    assert_eq!(delivered(&h, 9005, num, during), [9005, ALPHA, DELTA]);
    // Charlie loads the change record: direct again.
    h.learn(stop.plus_millis(1), c(CHARLIE), num, Some(c(DELTA)));
    assert_eq!(delivered(&h, CHARLIE, num, stop.plus_millis(1)), [CHARLIE, DELTA]);
    // Between the two ports, Charlie went straight to Bravo.
    assert_eq!(
        delivered(&h, CHARLIE, num, t("2026-04-01T12:00:00+11:00")),
        [CHARLIE, BRAVO]
    );
}

#[test]
fn returned_number_routes_to_the_losing_carrier_again() {
    let cal = BusinessCalendar::new();
    let mut h = market();
    let num = n("0255501000");
    let cutover = t("2026-03-09T10:00:00+11:00");
    port(&mut h, &cal, num, ALPHA, ALPHA, BRAVO, cutover);
    // Emergency return an hour later: Alpha serves it again, stops forwarding, and both parties
    // update their tables.
    let back = cutover.plus_millis(3_600_000);
    h.serve(back, num, c(ALPHA));
    h.stop_transit(back, c(ALPHA), num);
    h.learn(back, c(ALPHA), num, None);
    h.learn(back, c(BRAVO), num, None);
    assert_eq!(
        delivered(&h, CHARLIE, num, back.plus_millis(-1)),
        [CHARLIE, ALPHA, BRAVO]
    );
    assert_eq!(delivered(&h, CHARLIE, num, back), [CHARLIE, ALPHA]);
    assert_eq!(delivered(&h, ALPHA, num, back), [ALPHA]);
    assert_eq!(delivered(&h, BRAVO, num, back), [BRAVO, ALPHA]);
}

#[test]
fn given_back_number_fails_for_a_stale_table_until_it_loads_the_deletion() {
    let cal = BusinessCalendar::new();
    let mut h = market();
    let num = n("0255502000");
    let cutover = t("2026-03-09T10:00:00+11:00");
    port(&mut h, &cal, num, ALPHA, ALPHA, BRAVO, cutover);
    h.learn(t("2026-03-10T03:00:00+11:00"), c(CHARLIE), num, Some(c(BRAVO)));
    // Bravo's customer gives the number back to the donor months later.
    let given_back = t("2026-06-01T10:00:00+10:00");
    h.serve(given_back, num, c(ALPHA));
    h.learn(given_back, c(ALPHA), num, None);
    h.learn(given_back, c(BRAVO), num, None);
    let (path, why) = unreachable(&h, CHARLIE, num, given_back);
    assert_eq!(path, [CHARLIE, BRAVO]);
    assert!(why.contains("no transit routing"), "{why}");
    assert_eq!(delivered(&h, DELTA, num, given_back), [DELTA, ALPHA]);
    let loaded = t("2026-06-02T03:00:00+10:00");
    h.learn(loaded, c(CHARLIE), num, None);
    assert_eq!(delivered(&h, CHARLIE, num, loaded), [CHARLIE, ALPHA]);
}

#[test]
fn out_of_order_events_take_their_place_in_time() {
    let mut h = market();
    let num = n("0255503000");
    let cutover = t("2026-03-09T10:00:00+11:00");
    let stop = t("2026-03-16T10:00:00+11:00");
    // Recorded backwards.
    h.stop_transit(stop, c(ALPHA), num);
    h.start_transit(cutover, c(ALPHA), num, c(BRAVO));
    h.serve(cutover, num, c(BRAVO));
    assert_eq!(delivered(&h, DELTA, num, cutover), [DELTA, ALPHA, BRAVO]);
    assert_eq!(unreachable(&h, DELTA, num, stop).0, [DELTA, ALPHA]);
    // Same instant: the later-recorded event wins.
    h.serve(cutover, num, c(CHARLIE));
    h.start_transit(cutover, c(ALPHA), num, c(CHARLIE));
    assert_eq!(delivered(&h, DELTA, num, cutover), [DELTA, ALPHA, CHARLIE]);
    assert_eq!(h.events(), 5);
}

#[test]
fn a_forwarding_loop_ends_unreachable() {
    let mut h = market();
    let num = n("0255504000");
    let at = t("2026-03-09T10:00:00+11:00");
    h.serve(at, num, c(DELTA));
    h.start_transit(at, c(ALPHA), num, c(BRAVO));
    h.start_transit(at, c(BRAVO), num, c(ALPHA));
    let (path, why) = unreachable(&h, CHARLIE, num, at);
    assert_eq!(path, [CHARLIE, ALPHA, BRAVO]);
    assert!(why.contains("loop"), "{why}");
    // A long forwarding chain stops at the hop limit.
    h.start_transit(at, c(BRAVO), num, c(9005));
    h.start_transit(at, c(9005), num, c(9006));
    h.start_transit(at, c(9006), num, c(DELTA));
    let p = h.path(c(CHARLIE), num, at);
    assert_eq!(p.outcome, Outcome::Unreachable);
    assert_eq!(p.hops.len(), lnp_routing::MAX_HOPS);
    assert!(p.reasons.last().unwrap().contains("hop limit"), "{:?}", p.reasons);
}

#[test]
fn display_forms() {
    let h = market();
    let at = t("2026-03-09T10:00:00+11:00");
    assert_eq!(h.path(c(CHARLIE), n("0255501234"), at).to_string(), "9003 -> 9001");
    assert_eq!(
        h.path(c(CHARLIE), n("0299999999"), at).to_string(),
        "unreachable (9003)"
    );
}
