//! Allocations, PLNR status semantics and the market-scale table.

use std::collections::BTreeMap;

use lnp_model::{CarrierCode, NumberRange, PortStatus, TelephoneNumber};
use lnp_plnr::{Action, FileKind};
use lnp_routing::{Allocations, Change, Effect, LoadError, Outcome, Route, RoutingTable, TableBuilder};
use proptest::prelude::*;

fn c(code: u16) -> CarrierCode {
    CarrierCode::new(code).unwrap()
}

fn n(s: &str) -> TelephoneNumber {
    s.parse().unwrap()
}

fn r(s: &str) -> NumberRange {
    s.parse().unwrap()
}

fn allocations() -> Allocations {
    Allocations::new(vec![
        (r("0370100000-0370109999"), c(9002)),
        (r("0255500000-0255509999"), c(9001)),
    ])
    .unwrap()
}

fn rec(action: Action, number: &str, current: u16, losing: u16, status: PortStatus) -> Change {
    Change {
        action,
        number: n(number),
        current: c(current),
        losing: c(losing),
        status,
    }
}

#[test]
fn allocations_find_donors_and_name_both_overlapping_ranges() {
    let a = allocations();
    assert_eq!(a.donor_of(n("0255500000")), Some(c(9001)));
    assert_eq!(a.donor_of(n("0255509999")), Some(c(9001)));
    assert_eq!(a.donor_of(n("0255510000")), None);
    assert_eq!(a.donor_of(n("0370105000")), Some(c(9002)));
    assert_eq!(a.donor_of(n("0200000000")), None);
    let err = Allocations::new(vec![
        (r("0255500000-0255509999"), c(9001)),
        (r("0255505000-0255515000"), c(9002)),
    ])
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("0255500000-0255509999") && msg.contains("0255505000-0255515000"),
        "{msg}"
    );
}

#[test]
fn allocations_csv_reports_every_bad_line() {
    let ok = Allocations::from_csv(
        "range_start,range_end,donor\n0255500000,0255509999,9001\n\n# comment\n0370100000,0370109999,9002\n",
    )
    .unwrap();
    assert_eq!(ok.len(), 2);
    assert_eq!(ok.donor_of(n("0370100001")), Some(c(9002)));
    let errs = Allocations::from_csv(
        "0255500000,0255509999,9001\n0255500000,0255509999\n0455500000,0455509999,9001\n0255509000,0255519999,9003\n0255519999,0255510000,9004\n",
    )
    .unwrap_err();
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 4, 5], "{errs:?}");
    assert!(errs[0].message.contains("3 fields"), "{}", errs[0].message);
    assert!(
        errs[2].message.contains("line 1") && errs[2].message.contains("0255500000-0255509999"),
        "{}",
        errs[2].message
    );
}

#[test]
fn statuses_apply_as_the_plnr_spec_says() {
    use Action::{A as Add, C as Chg, D as Delete};
    use PortStatus::{C, N, P, R};
    let donor = c(9001);
    let cases = [
        (
            rec(Add, "0255501234", 9002, 9001, C),
            FileKind::Update,
            Effect::RouteTo(c(9002)),
        ),
        (rec(Add, "0255501234", 9002, 9001, P), FileKind::Update, Effect::Keep),
        (rec(Add, "0255501234", 9002, 9001, P), FileKind::Full, Effect::Default),
        (
            rec(Chg, "0255501234", 9003, 9002, P),
            FileKind::Full,
            Effect::RouteTo(c(9002)),
        ),
        (rec(Add, "0255501234", 9002, 9001, N), FileKind::Update, Effect::Default),
        (rec(Add, "0255501234", 9002, 9001, R), FileKind::Update, Effect::Default),
        (
            rec(Chg, "0255501234", 9003, 9002, C),
            FileKind::Update,
            Effect::RouteTo(c(9003)),
        ),
        (
            rec(Chg, "0255501234", 9003, 9002, R),
            FileKind::Update,
            Effect::RouteTo(c(9002)),
        ),
        (
            rec(Delete, "0255501234", 9001, 9002, C),
            FileKind::Update,
            Effect::Default,
        ),
    ];
    for (change, kind, want) in cases {
        assert_eq!(change.effect(donor, kind), want, "{change} in {kind:?}");
    }
}

#[test]
fn snapshot_and_updates_in_sequence_build_the_table() {
    use Action::{A as Add, C as Chg, D as Delete};
    use PortStatus::{C, N, P, R};
    let mut b = TableBuilder::new(allocations());
    b.watch(n("0255500002"));
    b.begin_file(c(9001), 1, FileKind::Full).unwrap();
    for ch in [
        rec(Add, "0255500001", 9002, 9001, C),
        rec(Add, "0255500002", 9002, 9001, C),
        rec(Add, "0255500003", 9002, 9001, C),
        rec(Add, "0255500004", 9003, 9001, P),
    ] {
        b.apply(&ch, || "f1".into()).unwrap();
    }
    b.begin_file(c(9001), 2, FileKind::Update).unwrap();
    for (i, ch) in [
        rec(Chg, "0255500002", 9003, 9002, C),    // third-party port
        rec(Delete, "0255500003", 9001, 9002, C), // given back
        rec(Add, "0255500004", 9003, 9001, N),    // did not proceed
        rec(Add, "0255500005", 9004, 9001, C),    // new port...
        rec(Add, "0255500005", 9004, 9001, R),    // ...returned
        rec(Add, "0255500006", 9004, 9001, P),    // pending: not yet
    ]
    .iter()
    .enumerate()
    {
        b.apply(ch, || format!("f2:{}", i + 2)).unwrap();
    }
    // Bravo's first file is an update from an empty register.
    b.begin_file(c(9002), 1, FileKind::Update).unwrap();
    b.apply(&rec(Add, "0370100009", 9001, 9002, C), String::new).unwrap();
    let t = b.build();
    let got: Vec<(String, String)> = t.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let want = [("0255500001", "9002"), ("0255500002", "9003"), ("0370100009", "9001")];
    assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
    assert_eq!(t.route(n("0255500003")), Route::Donor(c(9001)));
    assert_eq!(t.route(n("0255500002")), Route::Ported(c(9003)));
    assert_eq!(t.route(n("0299999999")), Route::Unallocated);
    assert_eq!(t.explain().len(), 2, "{:?}", t.explain());
    assert!(t.explain()[1].starts_with("f2:2: action C"), "{:?}", t.explain());
    let p = t.path(c(9005), n("0255500002"));
    assert_eq!(p.to_string(), "9005 -> 9003");
    assert!(p.reasons[0].contains("f2:2"), "{:?}", p.reasons);
    assert_eq!(t.path(c(9003), n("0255500002")).hops, [c(9003)]);
    assert_eq!(t.path(c(9003), n("0299999999")).outcome, Outcome::Unreachable);
}

#[test]
fn sequence_gaps_and_disorder_are_reported() {
    let mut b = TableBuilder::new(allocations());
    assert_eq!(
        b.begin_file(c(9001), 3, FileKind::Update),
        Err(LoadError::NoBase {
            donor: c(9001),
            found: 3
        })
    );
    assert_eq!(
        b.apply(&rec(Action::A, "0255500001", 9002, 9001, PortStatus::C), String::new),
        Err(LoadError::NoFile)
    );
    b.begin_file(c(9001), 3, FileKind::Full).unwrap();
    let err = b
        .apply(&rec(Action::A, "0370100001", 9003, 9002, PortStatus::C), String::new)
        .unwrap_err();
    assert!(err.to_string().contains("allocated to 9002"), "{err}");
    assert_eq!(
        b.begin_file(c(9001), 5, FileKind::Update),
        Err(LoadError::SequenceGap {
            donor: c(9001),
            expected: 4,
            found: 5
        })
    );
    assert_eq!(
        b.begin_file(c(9001), 3, FileKind::Update),
        Err(LoadError::OutOfOrder {
            donor: c(9001),
            last: 3,
            found: 3
        })
    );
    b.begin_file(c(9001), 4, FileKind::Update).unwrap();
    // A later snapshot replaces what came before it.
    b.apply(&rec(Action::A, "0255500001", 9002, 9001, PortStatus::C), String::new)
        .unwrap();
    b.begin_file(c(9001), 9, FileKind::Full).unwrap();
    b.apply(&rec(Action::A, "0255500007", 9002, 9001, PortStatus::C), String::new)
        .unwrap();
    let t = b.build();
    assert_eq!(t.iter().map(|(a, _)| a).collect::<Vec<_>>(), [n("0255500007")]);
}

proptest! {
    /// The bucket index agrees with a BTreeMap for clustered and sparse numbers alike.
    #[test]
    fn lookups_agree_with_a_map(
        entries in prop::collection::vec((0u32..40_000, 0u32..3, 1u16..5), 0..400),
        probes in prop::collection::vec(0u32..40_000, 0..200),
    ) {
        let bases = [255_500_000u32, 255_600_000, 812_340_000];
        let alloc = Allocations::new(bases.iter().enumerate().map(|(i, &b)| {
            let first = TelephoneNumber::from_nsn(b).unwrap();
            let last = TelephoneNumber::from_nsn(b + 39_999).unwrap();
            (NumberRange::new(first, last).unwrap(), c(9000 + i as u16))
        }).collect()).unwrap();
        let mut model = BTreeMap::new();
        let list: Vec<(TelephoneNumber, CarrierCode)> = entries.iter().map(|&(off, area, carrier)| {
            (TelephoneNumber::from_nsn(bases[area as usize] + off).unwrap(), c(9100 + carrier))
        }).collect();
        for &(num, car) in &list { model.insert(num, car); }
        let t = RoutingTable::from_entries(alloc, list);
        prop_assert_eq!(t.len(), model.len());
        let mut nums = Vec::new();
        for &p in &probes {
            for &base in &bases {
                let num = TelephoneNumber::from_nsn(base + p).unwrap();
                prop_assert_eq!(t.ported(num), model.get(&num).copied());
                nums.push(num);
            }
            nums.push(TelephoneNumber::from_nsn(255_550_000 + p).unwrap());
        }
        let mut batch = Vec::new();
        t.route_many(&nums, &mut batch);
        prop_assert_eq!(batch, nums.iter().map(|&n| t.route(n)).collect::<Vec<_>>());
        let listed: Vec<(TelephoneNumber, CarrierCode)> = t.iter().collect();
        prop_assert_eq!(listed, model.iter().map(|(&a, &b)| (a, b)).collect::<Vec<_>>());
        for (&num, &car) in &model {
            prop_assert_eq!(t.ported(num), Some(car));
        }
        prop_assert_eq!(t.ported(TelephoneNumber::from_nsn(200_000_000).unwrap()), None);
        prop_assert_eq!(t.ported(TelephoneNumber::from_nsn(899_999_999).unwrap()), None);
    }
}

proptest! {
    /// Dense runs of ported numbers (more in a table line than it holds carriers, so some go to
    /// the overflow list), with a few carriers (one-byte palette) or more than 256 (two-byte
    /// codes): lookups, batches and the listing agree with a map.
    #[test]
    fn dense_lines_and_many_carriers_agree_with_a_map(
        entries in prop::collection::vec((0u32..700, 0u32..2, 0u16..400), 0..1500),
        wide in any::<bool>(),
        probes in prop::collection::vec(0u32..800, 0..300),
    ) {
        let bases = [255_500_000u32, 370_100_000];
        let alloc = Allocations::new(bases.iter().enumerate().map(|(i, &b)| {
            let first = TelephoneNumber::from_nsn(b).unwrap();
            let last = TelephoneNumber::from_nsn(b + 699).unwrap();
            (NumberRange::new(first, last).unwrap(), c(9000 + i as u16))
        }).collect()).unwrap();
        let mut model = BTreeMap::new();
        let list: Vec<(TelephoneNumber, CarrierCode)> = entries.iter().map(|&(off, area, carrier)| {
            let code = if wide { 5000 + carrier } else { 9100 + carrier % 7 };
            (TelephoneNumber::from_nsn(bases[area as usize] + off).unwrap(), c(code))
        }).collect();
        for &(num, car) in &list { model.insert(num, car); }
        let t = RoutingTable::from_entries(alloc, list);
        prop_assert_eq!(t.len(), model.len());
        let listed: Vec<(TelephoneNumber, CarrierCode)> = t.iter().collect();
        prop_assert_eq!(listed, model.iter().map(|(&a, &b)| (a, b)).collect::<Vec<_>>());
        let mut nums = Vec::new();
        for &p in &probes {
            for &base in &bases {
                let num = TelephoneNumber::from_nsn(base + p).unwrap();
                prop_assert_eq!(t.ported(num), model.get(&num).copied());
                nums.push(num);
            }
        }
        let mut batch = Vec::new();
        t.route_many(&nums, &mut batch);
        prop_assert_eq!(batch, nums.iter().map(|&n| t.route(n)).collect::<Vec<_>>());
    }
}

/// Every number of an allocation ported: every line full, the overflow list in use.
#[test]
fn a_fully_ported_range() {
    let alloc = Allocations::new(vec![(r("0255500000-0255509999"), c(9001))]).unwrap();
    let entries = (0..10_000u32).map(|i| {
        (
            TelephoneNumber::from_nsn(255_500_000 + i).unwrap(),
            c(9100 + (i % 300) as u16),
        )
    });
    let t = RoutingTable::from_entries(alloc, entries.clone());
    assert_eq!(t.len(), 10_000);
    for (num, car) in entries {
        assert_eq!(t.route(num), Route::Ported(car));
    }
    // Two bytes per carrier here, and half a byte per allocated number for the lines.
    assert!(t.heap_bytes() < 10_000 * 3, "{}", t.heap_bytes());
}

proptest! {
    /// Allocations of any lengths, close together or far apart (so a directory page may hold
    /// parts of one, two or many of them): every number finds its allocation, or none.
    #[test]
    fn allocations_of_any_length_agree_with_a_search(
        gaps in prop::collection::vec((0u32..5_000, 1u32..3_000), 1..60),
        probes in prop::collection::vec(0u32..400_000, 0..300),
    ) {
        let mut ranges = Vec::new();
        let mut at = 255_500_000u32;
        for (i, &(gap, len)) in gaps.iter().enumerate() {
            let first = at + gap;
            let last = first + len - 1;
            ranges.push((
                NumberRange::new(TelephoneNumber::from_nsn(first).unwrap(), TelephoneNumber::from_nsn(last).unwrap()).unwrap(),
                c(9000 + (i % 50) as u16),
            ));
            at = last + 1;
        }
        let alloc = Allocations::new(ranges.clone()).unwrap();
        let t = RoutingTable::from_entries(alloc.clone(), Vec::new());
        for &p in &probes {
            let num = TelephoneNumber::from_nsn(255_500_000 + p).unwrap();
            let want = ranges.iter().find(|(r, _)| r.contains(num)).map(|&(_, d)| d);
            prop_assert_eq!(alloc.donor_of(num), want);
            let route = t.route(num);
            prop_assert_eq!(route, want.map_or(Route::Unallocated, Route::Donor));
        }
    }
}
