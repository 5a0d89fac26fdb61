//! Property tests: written registers read back as written; valid files write back byte for
//! byte; mutated files never panic the reader and are either valid or reported (the strict
//! reader stopping at the validator's first error); applying a diff reaches the new snapshot.
//! Case counts honour `LNPSIM_PROPTEST_CASES` (default 64).
//!
//! # A high-count run
//!
//! ```sh
//! LNPSIM_PROPTEST_CASES=20000 cargo test --release -p lnp-plnr --test roundtrip
//! ```
//!
//! The strategies build valid values (a carrier other than the donor is drawn as such) instead of
//! filtering them, so no count runs into proptest's limit on local rejects.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use lnp_model::{CarrierCode, Category, PortStatus, TelephoneNumber};
use lnp_plnr::{
    validate, Action, FileKind, Header, Layout, LineEnd, PlnrReader, PlnrWriter, ReadError, Record, Register,
};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("LNPSIM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn carrier(c: u16) -> CarrierCode {
    CarrierCode::new(c).expect("4 digits")
}

fn local_time() -> impl Strategy<Value = NaiveDateTime> {
    // Hour 2 is left out: some of its minutes do not exist in Sydney on spring-forward days.
    (
        1990i32..2100,
        1u32..=12,
        1u32..=28,
        prop_oneof![0u32..2, 3u32..24],
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| {
            NaiveDate::from_ymd_opt(y, mo, d)
                .expect("day <= 28")
                .and_time(NaiveTime::from_hms_opt(h, mi, s).expect("valid time"))
        })
}

fn number() -> impl Strategy<Value = TelephoneNumber> {
    (prop_oneof![Just(2u32), Just(3), Just(7), Just(8)], 0u32..100_000_000)
        .prop_map(|(area, rest)| TelephoneNumber::from_nsn(area * 100_000_000 + rest).expect("geographic"))
}

/// The carrier codes of the generated market: `9001` to `9009`.
const CODES: std::ops::Range<u16> = 9001..9010;

/// Any carrier of the market but `donor`, each equally likely. Built, not filtered: an index
/// into the codes with the donor's left out (the codes from the donor's up shift by one), so
/// that no value is ever rejected, however many cases run.
fn other_than(donor: u16) -> impl Strategy<Value = u16> + Clone {
    (0..CODES.len() as u16 - 1).prop_map(move |i| {
        let c = CODES.start + i;
        if c >= donor {
            c + 1
        } else {
            c
        }
    })
}

/// A record consistent with the donor (and, in a full snapshot, with the snapshot's rules).
fn record(donor: u16, kind: FileKind) -> impl Strategy<Value = Record> {
    let others = other_than(donor);
    let actions = match kind {
        FileKind::Full => prop_oneof![Just(Action::A), Just(Action::C)].boxed(),
        FileKind::Update => prop_oneof![Just(Action::A), Just(Action::C), Just(Action::D)].boxed(),
    };
    let statuses = match kind {
        FileKind::Full => prop_oneof![Just(PortStatus::C), Just(PortStatus::P)].boxed(),
        FileKind::Update => prop_oneof![
            Just(PortStatus::C),
            Just(PortStatus::P),
            Just(PortStatus::N),
            Just(PortStatus::R)
        ]
        .boxed(),
    };
    (
        actions,
        number(),
        others.clone(),
        others,
        statuses,
        local_time(),
        prop_oneof![Just(Category::A), Just(Category::C), Just(Category::D)],
        "[A-Z0-9-]{1,12}",
    )
        .prop_map(
            move |(action, number, a, b, status, effective_at, category, port_ref)| {
                let donor = carrier(donor);
                let (current, losing) = match action {
                    Action::A => (carrier(a), donor),
                    Action::C => (carrier(a), carrier(b)),
                    Action::D => (donor, carrier(a)),
                };
                Record {
                    action,
                    number,
                    current,
                    losing,
                    status,
                    effective_at,
                    category,
                    port_ref,
                }
            },
        )
}

#[derive(Debug, Clone)]
struct File {
    header: Header,
    records: Vec<Record>,
    line_end: LineEnd,
    final_line_end: bool,
}

fn file() -> impl Strategy<Value = File> {
    (
        CODES,
        prop_oneof![Just(FileKind::Full), Just(FileKind::Update)],
        1u32..=999_999,
        local_time(),
    )
        .prop_flat_map(|(donor, kind, file_seq, created_at)| {
            (
                Just(Header {
                    donor: carrier(donor),
                    file_date: created_at.date(),
                    file_seq,
                    created_at,
                    kind,
                }),
                prop::collection::vec(record(donor, kind), 0..40),
                prop_oneof![Just(LineEnd::Lf), Just(LineEnd::CrLf)],
                any::<bool>(),
            )
        })
        .prop_map(|(header, mut records, line_end, final_line_end)| {
            if header.kind == FileKind::Full {
                // One record per number in a snapshot.
                let mut seen = std::collections::BTreeSet::new();
                records.retain(|r| seen.insert(r.number));
            }
            File {
                header,
                records,
                line_end,
                final_line_end,
            }
        })
}

fn write(f: &File) -> Vec<u8> {
    let mut w = PlnrWriter::new(Vec::new(), &Layout::builtin(), &f.header, f.line_end).expect("header");
    for r in &f.records {
        w.write_record(r).expect("record");
    }
    w.set_final_line_end(f.final_line_end);
    w.finish().expect("trailer")
}

fn read(bytes: &[u8]) -> Result<(Header, Vec<Record>, LineEnd, bool), ReadError> {
    let mut r = PlnrReader::new(bytes, "f.plnr", &Layout::builtin())?;
    let mut records = Vec::new();
    while let Some(rec) = r.next_record()? {
        records.push(rec);
    }
    Ok((r.header().clone(), records, r.line_end(), r.final_line_end()))
}

fn rewrite(bytes: &[u8]) -> Vec<u8> {
    let (header, records, line_end, final_line_end) = read(bytes).expect("valid");
    write(&File {
        header,
        records,
        line_end,
        final_line_end,
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    SwapLines(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        any::<u8>(),
        Just(b'\n'),
        Just(b'\r'),
        Just(b' '),
        Just(b'0'),
        Just(b'9'),
        Just(b'H'),
        Just(b'D'),
        Just(b'T'),
        Just(0xC3u8),
    ];
    prop_oneof![
        (any::<usize>(), interesting.clone()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), interesting).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match *m {
        Mutation::Set(i, b) if !bytes.is_empty() => bytes[i % len] = b,
        Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
        Mutation::Delete(i) if !bytes.is_empty() => {
            bytes.remove(i % len);
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<Vec<u8>> = bytes.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            lines.swap(a % n, b % n);
            *bytes = lines.join(&b'\n');
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn written_files_read_back_as_written(f in file()) {
        let bytes = write(&f);
        let report = validate(&bytes[..], "f.plnr", &Layout::builtin(), 0).expect("validate");
        prop_assert!(report.is_valid(), "{:?}", report.errors);
        let (header, records, line_end, final_line_end) = read(&bytes).expect("valid");
        prop_assert_eq!(header, f.header);
        prop_assert_eq!(&records, &f.records);
        prop_assert_eq!(line_end, f.line_end);
        prop_assert_eq!(final_line_end, f.final_line_end);
        prop_assert_eq!(report.detail_count, f.records.len() as u64);
    }

    #[test]
    fn valid_files_write_back_byte_for_byte(f in file()) {
        let bytes = write(&f);
        prop_assert_eq!(rewrite(&bytes), bytes);
    }

    #[test]
    fn mutated_files_are_valid_or_reported(f in file(), ms in prop::collection::vec(mutation(), 1..4)) {
        let mut bytes = write(&f);
        for m in &ms {
            mutate(&mut bytes, m);
        }
        let report = validate(&bytes[..], "f.plnr", &Layout::builtin(), 0).expect("validate");
        match read(&bytes) {
            Ok(_) => {
                prop_assert!(report.is_valid(), "strict read passed but validate found {:?}", report.errors);
                prop_assert_eq!(rewrite(&bytes), bytes);
            }
            Err(ReadError::Invalid(d)) => {
                prop_assert!(!report.is_valid());
                prop_assert_eq!(Some(d.to_string()), report.errors.first().map(ToString::to_string));
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    #[test]
    fn applying_the_diff_gives_the_new_snapshot(
        old in prop::collection::vec(record(9001, FileKind::Full), 0..30),
        new in prop::collection::vec(record(9001, FileKind::Full), 0..30),
        shared in prop::collection::vec(any::<bool>(), 30),
    ) {
        // Let some numbers appear in both, so that changes and unchanged records occur too.
        let mut new = new;
        for (i, r) in new.iter_mut().enumerate() {
            if shared[i] {
                if let Some(o) = old.get(i) {
                    r.number = o.number;
                    if i % 3 == 0 {
                        *r = o.clone();
                    }
                }
            }
        }
        let at = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date").and_hms_opt(18, 0, 0).expect("time");
        let header = |seq| Header { donor: carrier(9001), file_date: at.date(), file_seq: seq, created_at: at, kind: FileKind::Full };
        let old_reg = Register::from_snapshot(&header(1), old);
        let new_reg = Register::from_snapshot(&header(2), new);
        let update = Register::diff(&old_reg, &new_reg);
        // The diff is a valid update file.
        let mut w = PlnrWriter::new(Vec::new(), &Layout::builtin(), &Header { kind: FileKind::Update, ..header(2) }, LineEnd::Lf).expect("header");
        for r in &update {
            w.write_record(r).expect("record");
        }
        w.finish().expect("trailer");
        let mut applied = old_reg.clone();
        applied.apply(&update);
        prop_assert!(applied.same_records(&new_reg));
        let changed: BTreeMap<TelephoneNumber, &Record> = update.iter().map(|r| (r.number, r)).collect();
        prop_assert_eq!(changed.len(), update.len(), "one record per number");
    }
}

/// `other_than` reaches every code but the donor's, and never the donor's.
#[test]
fn other_than_covers_every_code_but_the_donor() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    for donor in CODES {
        let mut seen = std::collections::BTreeSet::new();
        let mut runner = TestRunner::deterministic();
        for _ in 0..400 {
            seen.insert(other_than(donor).new_tree(&mut runner).expect("no rejects").current());
        }
        let want: std::collections::BTreeSet<u16> = CODES.filter(|c| *c != donor).collect();
        assert_eq!(seen, want, "donor {donor}");
    }
}

#[test]
fn a_cancelled_third_party_port_restores_the_record_it_replaced() {
    let at = NaiveDate::from_ymd_opt(2026, 3, 2)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("time");
    let n = TelephoneNumber::from_nsn(255_501_001).expect("number");
    let first = Record {
        action: Action::A,
        number: n,
        current: carrier(9002),
        losing: carrier(9001),
        status: PortStatus::C,
        effective_at: at,
        category: Category::A,
        port_ref: "SNA-1".into(),
    };
    let header = Header {
        donor: carrier(9001),
        file_date: at.date(),
        file_seq: 1,
        created_at: at,
        kind: FileKind::Full,
    };
    let mut reg = Register::from_snapshot(&header, [first.clone()]);
    let port = Record {
        action: Action::C,
        current: carrier(9003),
        losing: carrier(9002),
        port_ref: "SNA-2".into(),
        ..first.clone()
    };
    reg.apply([&port]);
    assert_eq!(reg.get(n).map(|r| r.current), Some(carrier(9003)));
    reg.apply([&Record {
        status: PortStatus::R,
        ..port
    }]);
    assert_eq!(reg.get(n), Some(&first));
    reg.apply([&Record {
        action: Action::D,
        current: carrier(9001),
        losing: carrier(9002),
        ..first
    }]);
    assert!(reg.is_empty());
}
