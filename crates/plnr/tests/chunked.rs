//! Property tests: validating a file a chunk at a time ([`Validation`], with or without
//! [`RecordCheck::scan`]s, or scans after a chunk's first line end) reports exactly what the line-by-line validator reports, in the same
//! order, wherever the chunks are cut (inside a line, at a line end, in the middle of a CRLF)
//! and whichever chunks are scanned; and the line-by-line validator itself reports the same
//! whatever its buffer size. Files are generated registers with mutations: changed, removed
//! and added bytes, lines repeated, swapped (out of order), removed, joined, long lines with
//! bytes outside ASCII, and cut short. Case counts honour `LNPSIM_PROPTEST_CASES` (default 64).

use std::io::BufReader;

use chrono::NaiveDate;
use lnp_model::CarrierCode;
use lnp_plnr::gen::{GenParams, Generator};
use lnp_plnr::{validate, Diagnostic, Layout, LineEnd, PlnrWriter, Report, Scan, Validation};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("LNPSIM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn register(records: u64, seed: u64, crlf: bool, update: bool) -> Vec<u8> {
    let params = GenParams {
        records,
        donor: CarrierCode::new(9001).expect("4 digits"),
        seed,
        file_date: NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date"),
        file_seq: 1,
    };
    let header = params.header();
    let end = if crlf { LineEnd::CrLf } else { LineEnd::Lf };
    let mut w = PlnrWriter::new(Vec::new(), &Layout::builtin(), &header, end).expect("a writer");
    for r in Generator::new(params).expect("parameters") {
        w.write_record(&r).expect("a record");
    }
    let mut file = w.finish().expect("the trailer");
    if update {
        // The header's file kind (col 42): an update may hold what a snapshot may not.
        file[41] = b'U';
    }
    file
}

#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Delete(usize),
    Insert(usize, Vec<u8>),
    RepeatLine(usize, usize),
    SwapLines(usize, usize),
    RemoveLine(usize),
    JoinLines(usize),
    LongLine(usize, usize),
    CutAt(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        Just(b'0'),
        Just(b'9'),
        Just(b'A'),
        Just(b'D'),
        Just(b'N'),
        Just(b'R'),
        Just(b'T'),
        Just(b'H'),
        Just(b'X'),
        Just(b' '),
        Just(b'-'),
        Just(b'\r'),
        Just(b'\n'),
        Just(0xC3u8),
        any::<u8>(),
    ];
    prop_oneof![
        4 => (any::<usize>(), byte.clone()).prop_map(|(p, b)| Mutation::Set(p, b)),
        1 => any::<usize>().prop_map(Mutation::Delete),
        1 => (any::<usize>(), prop::collection::vec(byte, 1..4)).prop_map(|(p, b)| Mutation::Insert(p, b)),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::RepeatLine(a, b)),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => any::<usize>().prop_map(Mutation::RemoveLine),
        1 => any::<usize>().prop_map(Mutation::JoinLines),
        1 => (any::<usize>(), 66usize..400).prop_map(|(a, n)| Mutation::LongLine(a, n)),
        1 => any::<usize>().prop_map(Mutation::CutAt),
    ]
}

/// The file's lines, each with its line end.
fn lines(file: &[u8]) -> Vec<Vec<u8>> {
    file.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

fn apply(file: &mut Vec<u8>, mutation: &Mutation) {
    let size = file.len().max(1);
    match mutation {
        Mutation::Set(p, b) => {
            if let Some(x) = file.get_mut(p % size) {
                *x = *b;
            }
        }
        Mutation::Delete(p) => {
            if !file.is_empty() {
                file.remove(p % size);
            }
        }
        Mutation::Insert(p, bytes) => {
            let at = p % (file.len() + 1);
            file.splice(at..at, bytes.iter().copied());
        }
        Mutation::CutAt(p) => file.truncate(p % (file.len() + 1)),
        _ => {
            let mut ls = lines(file);
            let count = ls.len().max(1);
            match mutation {
                Mutation::RepeatLine(a, b) => {
                    if let Some(l) = ls.get(a % count).cloned() {
                        ls.insert(b % (ls.len() + 1), l);
                    }
                }
                Mutation::SwapLines(a, b) => {
                    if !ls.is_empty() {
                        ls.swap(a % count, b % count);
                    }
                }
                Mutation::RemoveLine(a) => {
                    if !ls.is_empty() {
                        ls.remove(a % count);
                    }
                }
                Mutation::JoinLines(a) => {
                    if let Some(l) = ls.get_mut(a % count) {
                        if l.last() == Some(&b'\n') {
                            l.pop();
                        }
                    }
                }
                Mutation::LongLine(a, len) => {
                    let mut l: Vec<u8> = (0..*len).map(|i| b'D' + (i % 7) as u8).collect();
                    // Outside ASCII past the part of a line a reader keeps.
                    l[len - 3] = 0xE9;
                    l.push(b'\n');
                    ls.insert(a % (ls.len() + 1), l);
                }
                _ => unreachable!(),
            }
            *file = ls.concat();
        }
    }
}

fn reference(file: &[u8], cap: usize, max_errors: usize) -> (Vec<Diagnostic>, Report) {
    let layout = Layout::builtin();
    let mut r = validate(BufReader::with_capacity(cap, file), "f.plnr", &layout, max_errors).expect("validates");
    (std::mem::take(&mut r.errors), r)
}

/// Feeds `file` cut at `cuts` (moved back to a line start when `at_lines`), scanning the chunks
/// `scan_mask` picks once a record check is to be had.
fn chunked(
    file: &[u8],
    cuts: &[usize],
    at_lines: bool,
    scan_mask: u64,
    max_errors: usize,
) -> (Vec<Diagnostic>, Report) {
    let (errors, report, _) = chunked_counting(file, cuts, at_lines, scan_mask, max_errors);
    (errors, report)
}

/// [`chunked`] at the cuts as given, scanning after the first line end the chunks `after_mask`
/// picks (as chunks read at fixed offsets are).
fn chunked_after(
    file: &[u8],
    cuts: &[usize],
    scan_mask: u64,
    after_mask: u64,
    max_errors: usize,
) -> (Vec<Diagnostic>, Report) {
    let (errors, report, _) = chunked_modes(file, cuts, false, scan_mask, after_mask, max_errors);
    (errors, report)
}

/// [`chunked`], with how many lines scans passed.
fn chunked_counting(
    file: &[u8],
    cuts: &[usize],
    at_lines: bool,
    scan_mask: u64,
    max_errors: usize,
) -> (Vec<Diagnostic>, Report, usize) {
    chunked_modes(file, cuts, at_lines, scan_mask, 0, max_errors)
}

fn chunked_modes(
    file: &[u8],
    cuts: &[usize],
    at_lines: bool,
    scan_mask: u64,
    after_mask: u64,
    max_errors: usize,
) -> (Vec<Diagnostic>, Report, usize) {
    let mut passed = 0;
    let layout = Layout::builtin();
    let mut v = Validation::new("f.plnr", &layout, max_errors).expect("a layout");
    let mut errors = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (file.len() + 1)).collect();
    if at_lines {
        for p in &mut points {
            *p = file[..*p].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        }
    }
    points.push(file.len());
    points.sort_unstable();
    let mut start = 0;
    let mut scan = Scan::default();
    for (i, &end) in points.iter().enumerate() {
        let chunk = &file[start..end];
        start = end;
        let check = v.record_check();
        let use_scan = match &check {
            Some(c) if scan_mask & (1 << (i % 64)) != 0 => {
                if after_mask & (1 << (i % 64)) != 0 {
                    c.scan_after_first_line_end(chunk, &mut scan);
                } else {
                    c.scan(chunk, &mut scan);
                }
                passed += scan.passed();
                true
            }
            _ => false,
        };
        let go_on = v.feed(chunk, use_scan.then_some(&scan), &mut |_| None, &mut |d| errors.push(d));
        if !go_on {
            break;
        }
    }
    let report = v.finish(&mut |_| None, &mut |d| errors.push(d));
    (errors, report, passed)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn chunks_report_what_lines_report(
        records in 0u64..200,
        seed in any::<u64>(),
        crlf in any::<bool>(),
        update in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 0..6),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
        at_lines in any::<bool>(),
        scan_mask in any::<u64>(),
        after_mask in any::<u64>(),
        cap in prop_oneof![1usize..80, 80usize..5000],
        max_errors in prop_oneof![Just(0usize), Just(1), Just(2), Just(5), Just(100)],
    ) {
        let mut file = register(records, seed, crlf, update);
        for m in &mutations {
            apply(&mut file, m);
        }
        let (want_errors, want) = reference(&file, 1 << 20, max_errors);
        let (small_errors, small) = reference(&file, cap, max_errors);
        prop_assert_eq!(&small_errors, &want_errors, "buffer of {}", cap);
        prop_assert_eq!(&small, &want);
        let (got_errors, got) = chunked(&file, &cuts, at_lines, scan_mask, max_errors);
        prop_assert_eq!(&got_errors, &want_errors);
        prop_assert_eq!(&got, &want);
        let (got_errors, got) = chunked_after(&file, &cuts, scan_mask, after_mask, max_errors);
        prop_assert_eq!(&got_errors, &want_errors);
        prop_assert_eq!(&got, &want);
    }
}

/// Every chunk cut of a small file with errors in its first, middle and last records, each cut
/// scanned and not.
#[test]
fn every_cut_of_a_small_file() {
    let mut file = register(6, 3, false, false);
    let mut ls = lines(&file);
    ls[1][5] = b'X';
    ls[3] = ls[2].clone();
    ls[6][20] = 0xC3;
    file = ls.concat();
    let (want_errors, want) = reference(&file, 1 << 20, 0);
    assert!(!want_errors.is_empty());
    for a in 0..=file.len() {
        for b in [a, a + 1, a + 65, a + 66, a + 67, a + 200] {
            for mask in [0, u64::MAX, 0b0101, 0b1010] {
                for at_lines in [false, true] {
                    let (e, r) = chunked(&file, &[a, b], at_lines, mask, 0);
                    assert_eq!(
                        (&e, &r),
                        (&want_errors, &want),
                        "cuts {a} {b}, mask {mask}, at lines {at_lines}"
                    );
                }
            }
        }
    }
}

/// A register in order takes the ascending log; one out of order turns it into the bitset; a
/// duplicate is found either way, at its second occurrence.
#[test]
fn duplicates_in_and_out_of_order() {
    let file = register(2000, 9, false, false);
    let mut ls = lines(&file);
    // A duplicate of the line before (in order), then one of an early line (out of order).
    let copy = ls[1500].clone();
    ls.insert(1501, copy);
    let early = ls[10].clone();
    ls.insert(1800, early);
    let file = ls.concat();
    let (errors, report) = reference(&file, 1 << 16, 0);
    let dups: Vec<u64> = errors
        .iter()
        .filter(|d| d.kind == lnp_plnr::ErrorKind::DuplicateNumber)
        .map(|d| d.line)
        .collect();
    assert_eq!(dups, vec![1502, 1801], "{errors:#?}");
    let (e, r, passed) = chunked_counting(&file, &[7000, 50_000, 99_000], true, u64::MAX, 0);
    assert_eq!((&e, &r), (&errors, &report));
    // The scans did the work (all but the first chunk's lines, the duplicates and the trailer).
    assert!(passed > 1800, "{passed} lines passed scans");
    // Cut at fixed offsets, as a file read in place is.
    let cuts: Vec<usize> = (1..20).map(|k| k * 6_000).collect();
    let (e, r, passed) = chunked_modes(&file, &cuts, false, u64::MAX, u64::MAX, 0);
    assert_eq!((&e, &r), (&errors, &report));
    assert!(passed > 1800, "{passed} lines passed scans after first line ends");
}
