//! One small parser per field kind, over the field's bytes (cut out of the record by its
//! columns). Each parser must consume the whole field. Grammar comments use ABNF. A field is
//! compiled once per layout ([`Compiled`]) so that the per-record work is a few byte loops.
//!
//! Every parsed value is a `u64`: digits their number; a date `YYYYMMDD` and a timestamp
//! `YYYYMMDDHHMMSS` read as decimal numbers (turned into chrono values only when a record is
//! built); a code its index in the code list; text its length; literal and filler 0.

use chrono::{LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Australia::Sydney;
use nom::bytes::complete::{take_while, take_while1};
use nom::combinator::all_consuming;
use nom::sequence::{pair, tuple};
use nom::IResult;

use crate::diag::{quote, ErrorKind};
use crate::layout::{Field, FieldKind};

fn nom_error(i: &[u8]) -> nom::Err<nom::error::Error<&[u8]>> {
    nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Digit))
}

/// Reads ASCII digits in one pass (no early exit, so the loop vectorises); `None` if any byte
/// is not a digit.
fn read_digits(d: &[u8]) -> Option<u64> {
    let mut ok = true;
    let mut v = 0u64;
    for &c in d {
        let x = c.wrapping_sub(b'0');
        ok &= x < 10;
        v = v.wrapping_mul(10).wrapping_add(u64::from(x));
    }
    ok.then_some(v)
}

/// digits = 1*DIGIT                       ; the whole field, zero-padded
fn digits(i: &[u8]) -> IResult<&[u8], u64> {
    match read_digits(i) {
        Some(v) if !i.is_empty() => Ok((&i[i.len()..], v)),
        _ => Err(nom_error(i)),
    }
}

/// n-digit = n DIGIT
fn n_digits<const N: usize>(i: &[u8]) -> IResult<&[u8], u64> {
    match i.split_at_checked(N) {
        Some((d, rest)) => read_digits(d).map(|v| (rest, v)).ok_or_else(|| nom_error(i)),
        None => Err(nom_error(i)),
    }
}

type Triple = (u64, u64, u64);

/// date = year month day                  ; YYYYMMDD
fn ymd(i: &[u8]) -> IResult<&[u8], Triple> {
    tuple((n_digits::<4>, n_digits::<2>, n_digits::<2>))(i)
}

/// timestamp = date hour minute second    ; YYYYMMDDHHMMSS
fn ymdhms(i: &[u8]) -> IResult<&[u8], (Triple, Triple)> {
    pair(ymd, tuple((n_digits::<2>, n_digits::<2>, n_digits::<2>)))(i)
}

fn is_ref_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'
}

/// text = 1*(ALPHA-UPPER / DIGIT / "-") *SP
fn text(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let (rest, t) = take_while1(is_ref_char)(i)?;
    let (rest, _) = take_while(|b: u8| b == b' ')(rest)?;
    Ok((rest, t))
}

/// A real calendar date (year 0001 to 9999; there is no year 0).
#[inline]
fn real_date(y: u64, m: u64, d: u64) -> bool {
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    y >= 1 && d >= 1 && d <= days
}

/// The date of a checked `YYYYMMDD` value.
pub(crate) fn date_of(v: u64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(
        i32::try_from(v / 10_000).ok()?,
        (v / 100 % 100) as u32,
        (v % 100) as u32,
    )
}

/// The local time of a checked `YYYYMMDDHHMMSS` value.
pub(crate) fn time_of(v: u64) -> Option<NaiveDateTime> {
    let t = v % 1_000_000;
    let time = NaiveTime::from_hms_opt((t / 10_000) as u32, (t / 100 % 100) as u32, (t % 100) as u32)?;
    Some(date_of(v / 1_000_000)?.and_time(time))
}

/// A real Sydney local time: a real date, a time of day, and not in a spring-forward gap.
/// Every Australia/Sydney spring-forward starts at 02:00 local, so only hour 2 needs the time
/// zone.
pub(crate) fn real_sydney_time(v: u64, (year, month, day): Triple, (hour, min, sec): Triple) -> bool {
    if !(real_date(year, month, day) && hour < 24 && min < 60 && sec < 60) {
        return false;
    }
    if hour != 2 {
        return true;
    }
    time_of(v).is_some_and(|t| !matches!(Sydney.from_local_datetime(&t), LocalResult::None))
}

/// Whether a `YYYYMMDDHHMMSS` value (read from digits) is a real Sydney local time.
pub(crate) fn real_sydney_value(v: u64) -> bool {
    let (d, t) = (v / 1_000_000, v % 1_000_000);
    real_sydney_time(
        v,
        (d / 10_000, d / 100 % 100, d % 100),
        (t / 10_000, t / 100 % 100, t % 100),
    )
}

/// The length of a text field's text when the field is good (`[A-Z0-9-]+` then spaces). Reads
/// eight bytes at a time, each lane a byte: for each byte, one high bit says "text" or "space".
#[inline]
pub(crate) fn text_len(bytes: &[u8]) -> Option<u64> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The high bit of each zero byte (no carries between bytes).
    let zero = |x: u64| !(((x & !HIGH) + !HIGH) | x) & HIGH;
    // The high bit of each byte at least `k` (bytes below 0x80, so no carries).
    let at_least = |w: u64, k: u64| (w + ONES * (0x80 - k)) & HIGH;
    let mut count = 0u32;
    let mut after_space = false;
    for chunk in bytes.chunks(8) {
        // A short last chunk is padded with spaces, which a good field may end with anyway.
        let mut word = [b' '; 8];
        if let Some(w) = word.get_mut(..chunk.len()) {
            w.copy_from_slice(chunk);
        }
        let w = u64::from_le_bytes(word);
        if w & HIGH != 0 {
            return None;
        }
        let space = zero(w ^ (ONES * u64::from(b' ')));
        let upper = at_least(w, 0x41) & !at_least(w, 0x5B);
        let digit = at_least(w, 0x30) & !at_least(w, 0x3A);
        let text = upper | digit | zero(w ^ (ONES * u64::from(b'-')));
        if text | space != HIGH {
            return None;
        }
        // Every byte after a space (in this chunk, or any chunk after one with a space) must be
        // a space too.
        let mut later = space;
        later |= later << 8;
        later |= later << 16;
        later |= later << 32;
        if later & text != 0 || (after_space && text != 0) {
            return None;
        }
        after_space |= space != 0;
        count += text.count_ones();
    }
    (count > 0).then_some(u64::from(count))
}

/// The masks [`text_len_in`] reads a field of `width` bytes with: the field's bytes of a
/// 16-byte word, and spaces for the rest.
pub(crate) fn text_masks(width: usize) -> (u128, u128) {
    let keep = if width >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * width)) - 1
    };
    (keep, u128::from_le_bytes([b' '; 16]) & !keep)
}

/// [`text_len`] of the `width` bytes at `at` in a record, `masks` being [`text_masks`] of the
/// width: one 16-byte word when the field is at most 16 wide and the record has 16 bytes from
/// `at` on (the bytes past the field read as spaces), without copying.
#[allow(clippy::inline_always, reason = "part of the record check's straight line")]
#[inline(always)]
pub(crate) fn text_len_in(rec: &[u8], at: usize, width: usize, (keep, spaces): (u128, u128)) -> Option<u64> {
    match rec.get(at..at + 16) {
        Some(word) if width <= 16 => {
            let w = u128::from_le_bytes(word.try_into().ok()?);
            text_len16((w & keep) | spaces)
        }
        _ => text_len_apart(rec.get(at..at + width)?),
    }
}

/// Whether the `width` bytes at `at` in a record are a good text field ([`text_len_in`] is
/// some), for bytes known to be between `' '` and `'Z'` (as a text column's range check
/// leaves them).
#[allow(clippy::inline_always, reason = "part of a scan's loop")]
#[inline(always)]
pub(crate) fn text_ok_in(rec: &[u8], at: usize, width: usize, (keep, spaces): (u128, u128)) -> bool {
    match rec.get(at..at + 16) {
        Some(word) if width <= 16 => {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(word);
            let w = (u128::from_le_bytes(bytes) & keep) | spaces;
            text_then_spaces(w as u64, (w >> 64) as u64)
        }
        _ => rec.get(at..at + width).and_then(text_len_apart).is_some(),
    }
}

/// Whether 16 bytes (the first eight in `lo`, a byte a lane), each between `' '` and `'Z'`,
/// are text (`[A-Z0-9-]`, at least one) then only spaces: [`text_len16`] for bytes in that
/// range, in fewer steps.
#[allow(clippy::inline_always, reason = "part of a scan's loop")]
#[inline(always)]
fn text_then_spaces(lo: u64, hi: u64) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The high bit of each byte at least `k` (bytes below 0x80: no carries).
    let ge = |w: u64, k: u64| w + ONES * (0x80 - k);
    // Each text byte 0xFF, each space 0; `None` for any other byte.
    let class = |w: u64| {
        let text = (ge(w, b'A'.into())
            | (ge(w, b'0'.into()) & !ge(w, u64::from(b'9') + 1))
            | (ge(w, b'-'.into()) & !ge(w, u64::from(b'-') + 1)))
            & HIGH;
        let space = !ge(w, u64::from(b' ') + 1) & HIGH;
        // 0x80 - 0x01 in each text byte borrows nothing from its neighbour.
        (text | space == HIGH, text | (text - (text >> 7)))
    };
    let ((lo_ok, lo), (hi_ok, hi)) = (class(lo), class(hi));
    // Text first, then only spaces: a run of ones from the lowest bit, across both halves.
    lo_ok
        && hi_ok
        && lo & 0xFF != 0
        && lo & lo.wrapping_add(1) == 0
        && (hi == 0 || lo == u64::MAX)
        && hi & hi.wrapping_add(1) == 0
}

/// [`text_len`], kept out of line: [`text_len_in`] for a field wider than 16 or at the end of
/// the record.
#[cold]
#[inline(never)]
fn text_len_apart(bytes: &[u8]) -> Option<u64> {
    text_len(bytes)
}

/// [`text_len`] of 16 bytes as one word, a byte a lane: text, then only spaces.
#[allow(clippy::inline_always, reason = "part of the record check's straight line")]
#[inline(always)]
fn text_len16(w: u128) -> Option<u64> {
    const HIGH: u128 = 0x8080_8080_8080_8080_8080_8080_8080_8080;
    const ONES: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
    if w & HIGH != 0 {
        return None;
    }
    // The high bit of each zero byte; of each byte at least `k` (bytes below 0x80: no carries).
    let zero = |x: u128| !(((x & !HIGH) + !HIGH) | x) & HIGH;
    let at_least = |w: u128, k: u128| (w + ONES * (0x80 - k)) & HIGH;
    let space = zero(w ^ (ONES * u128::from(b' ')));
    let upper = at_least(w, 0x41) & !at_least(w, 0x5B);
    let digit = at_least(w, 0x30) & !at_least(w, 0x3A);
    let text = upper | digit | zero(w ^ (ONES * u128::from(b'-')));
    if text | space != HIGH {
        return None;
    }
    // Each text byte all ones (0x80 - 0x01 borrows nothing from its neighbour); text first
    // means a run of ones from the lowest bit, which adding one clears.
    let full = text | (text - (text >> 7));
    let count = full.trailing_ones() / 8;
    (count > 0 && full & full.wrapping_add(1) == 0).then_some(u64::from(count))
}

enum Op {
    Digits,
    Date,
    Timestamp,
    /// One-character codes: byte to index + 1 (0: not a code).
    Code1(Box<[u8; 256]>),
    Codes(Vec<Vec<u8>>),
    Text,
    Literal(Vec<u8>),
    Filler,
}

/// A field ready to parse.
pub(crate) struct Compiled {
    pub field: Field,
    lo: usize,
    hi: usize,
    op: Op,
}

impl Compiled {
    pub fn new(field: &Field) -> Self {
        let op = match &field.kind {
            FieldKind::Digits => Op::Digits,
            FieldKind::Date => Op::Date,
            FieldKind::Timestamp => Op::Timestamp,
            FieldKind::Codes(list) if field.width == 1 => {
                let mut table = Box::new([0u8; 256]);
                for (i, c) in list.iter().enumerate() {
                    if let Some(&b) = c.as_bytes().first() {
                        table[usize::from(b)] = (i + 1) as u8;
                    }
                }
                Op::Code1(table)
            }
            FieldKind::Codes(list) => Op::Codes(list.iter().map(|c| c.as_bytes().to_vec()).collect()),
            FieldKind::Text => Op::Text,
            FieldKind::Literal(v) => Op::Literal(v.as_bytes().to_vec()),
            FieldKind::Filler => Op::Filler,
        };
        Self {
            field: field.clone(),
            lo: field.start.saturating_sub(1),
            hi: field.start.saturating_sub(1) + field.width,
            op,
        }
    }

    /// The field's bytes in a record (empty if the record is too short).
    pub fn bytes<'a>(&self, record: &'a [u8]) -> &'a [u8] {
        record.get(self.lo..self.hi).unwrap_or_default()
    }

    /// Parses the field's bytes; on failure, the error kind to report.
    pub fn parse(&self, bytes: &[u8]) -> Result<u64, ErrorKind> {
        let r = self.parse_op(bytes);
        if r.is_err() && !bytes.is_ascii() {
            return Err(ErrorKind::NonAscii);
        }
        r
    }

    /// For each of the field's columns, the byte range `(low, span)` (allowed: `low..=low+span`)
    /// a good record can hold there. A record whose every byte is in range still has its codes,
    /// dates, times and text checked by [`Compiled::parse_prechecked`]; one that is not goes
    /// the slow way, through the parsers, for its diagnostics.
    pub fn column_ranges(&self) -> Vec<(u8, u8)> {
        let width = self.hi - self.lo;
        match &self.op {
            Op::Digits | Op::Date | Op::Timestamp => vec![(b'0', 9); width],
            Op::Filler => vec![(b' ', 0); width],
            Op::Literal(v) => v.iter().map(|&b| (b, 0)).collect(),
            Op::Text => vec![(b' ', b'Z' - b' '); width],
            Op::Code1(table) => {
                let present = (0u8..=255).filter(|&b| table[usize::from(b)] > 0);
                let (lo, hi) = present.fold((255u8, 0u8), |(lo, hi), b| (lo.min(b), hi.max(b)));
                vec![(lo, hi.saturating_sub(lo)); width]
            }
            Op::Codes(list) => (0..width)
                .map(|col| {
                    let bytes = list.iter().filter_map(|c| c.get(col).copied());
                    let (lo, hi) = bytes.fold((255u8, 0u8), |(lo, hi), b| (lo.min(b), hi.max(b)));
                    (lo, hi.saturating_sub(lo))
                })
                .collect(),
        }
    }

    /// Parses bytes whose columns passed the range pre-check; `None` when the field is wrong
    /// after all (the caller then parses it the slow way for the diagnostic).
    pub fn parse_prechecked(&self, bytes: &[u8]) -> Option<u64> {
        let num = |d: &[u8]| d.iter().fold(0u64, |v, &c| v * 10 + u64::from(c.wrapping_sub(b'0')));
        match &self.op {
            Op::Digits => Some(num(bytes)),
            Op::Date => {
                let v = num(bytes);
                real_date(v / 10_000, v / 100 % 100, v % 100).then_some(v)
            }
            Op::Timestamp => {
                let v = num(bytes);
                real_sydney_value(v).then_some(v)
            }
            Op::Code1(table) => {
                let i = table[usize::from(*bytes.first()?)];
                (i > 0).then(|| u64::from(i - 1))
            }
            Op::Text => text_len(bytes),
            Op::Codes(_) => self.parse_op(bytes).ok(),
            Op::Literal(_) | Op::Filler => Some(0),
        }
    }

    fn parse_op(&self, bytes: &[u8]) -> Result<u64, ErrorKind> {
        match &self.op {
            Op::Digits => all_consuming(digits)(bytes)
                .map(|(_, v)| v)
                .map_err(|_| ErrorKind::NotDigits),
            Op::Date => match all_consuming(ymd)(bytes) {
                Ok((_, (y, m, d))) if real_date(y, m, d) => Ok(y * 10_000 + m * 100 + d),
                _ => Err(ErrorKind::BadDate),
            },
            Op::Timestamp => match all_consuming(ymdhms)(bytes) {
                Ok((_, (date, time))) => {
                    let v =
                        ((date.0 * 100 + date.1) * 100 + date.2) * 1_000_000 + (time.0 * 100 + time.1) * 100 + time.2;
                    if real_sydney_time(v, date, time) {
                        Ok(v)
                    } else {
                        Err(ErrorKind::BadTimestamp)
                    }
                }
                Err(_) => Err(ErrorKind::BadTimestamp),
            },
            Op::Code1(table) => match bytes {
                [b] if table[usize::from(*b)] > 0 => Ok(u64::from(table[usize::from(*b)] - 1)),
                _ => Err(ErrorKind::UnknownCode),
            },
            Op::Codes(list) => list
                .iter()
                .position(|c| c == bytes)
                .map(|i| i as u64)
                .ok_or(ErrorKind::UnknownCode),
            Op::Text => all_consuming(text)(bytes)
                .map(|(_, t)| t.len() as u64)
                .map_err(|_| ErrorKind::BadText),
            Op::Literal(v) if v == bytes => Ok(0),
            Op::Literal(_) => Err(ErrorKind::FormatTag),
            Op::Filler if bytes.iter().all(|&b| b == b' ') => Ok(0),
            Op::Filler => Err(ErrorKind::Filler),
        }
    }
}

/// Joins alternatives as `A, C or D`.
pub(crate) fn alternatives(list: &[String]) -> String {
    match list.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// What a field should have held, for a diagnostic of that kind.
pub(crate) fn expected(field: &Field, kind: ErrorKind) -> String {
    let w = field.width;
    match (kind, &field.kind) {
        (ErrorKind::NonAscii, _) => "ASCII characters only".into(),
        (ErrorKind::OutOfRange, _) => format!("{:0w$} to {}", 1, "9".repeat(w)),
        (ErrorKind::NotGeographic, _) => "a geographic number (0, then 2, 3, 7 or 8, then 8 digits)".into(),
        (_, FieldKind::Digits) => format!("{w} digits"),
        (_, FieldKind::Date) => "a real date YYYYMMDD".into(),
        (_, FieldKind::Timestamp) => "a real Sydney local time YYYYMMDDHHMMSS".into(),
        (_, FieldKind::Codes(list)) => alternatives(list),
        (_, FieldKind::Text) => {
            format!("1 to {w} characters A-Z, 0-9 or \"-\", left-justified and space-padded")
        }
        (_, FieldKind::Literal(v)) => quote(v.as_bytes()),
        (_, FieldKind::Filler) => format!("{w} spaces"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

    fn field(name: &str) -> Compiled {
        let l = Layout::builtin();
        let mut all = l.header.fields.iter().chain(&l.detail.fields).chain(&l.trailer.fields);
        Compiled::new(all.find(|f| f.name == name).expect("a field of the built-in layout"))
    }

    #[test]
    fn dates_must_be_real() {
        let f = field("file date");
        assert_eq!(f.parse(b"20240229"), Ok(20_240_229));
        assert_eq!(date_of(20_240_229), NaiveDate::from_ymd_opt(2024, 2, 29));
        for bad in [
            &b"20260230"[..],
            b"20251301",
            b"00000101",
            b"2026013a",
            b"2026-1-1",
            b"21000229",
        ] {
            assert_eq!(f.parse(bad), Err(ErrorKind::BadDate), "{bad:?}");
        }
    }

    #[test]
    fn times_must_exist_in_sydney() {
        let f = field("created at");
        assert_eq!(f.parse(b"20261004015959"), Ok(20_261_004_015_959));
        assert_eq!(f.parse(b"20261004023000"), Err(ErrorKind::BadTimestamp));
        assert!(f.parse(b"20261004030000").is_ok());
        // The autumn change repeats 02:00-02:59; both readings exist.
        assert!(f.parse(b"20260405023000").is_ok());
        assert_eq!(f.parse(b"20260101240000"), Err(ErrorKind::BadTimestamp));
        assert_eq!(f.parse(b"20260101235960"), Err(ErrorKind::BadTimestamp));
        let t = time_of(20_261_004_015_959).map(|t| t.to_string());
        assert_eq!(t.as_deref(), Some("2026-10-04 01:59:59"));
    }

    #[test]
    fn codes_digits_text_and_filler() {
        assert_eq!(field("status").parse(b"R"), Ok(3));
        assert_eq!(field("status").parse(b"X"), Err(ErrorKind::UnknownCode));
        assert_eq!(field("telephone number").parse(b"0255501234"), Ok(255_501_234));
        assert_eq!(
            field("telephone number").parse(b"02555O1234"),
            Err(ErrorKind::NotDigits)
        );
        assert_eq!(field("filler").parse(&[b' '; 22]), Ok(0));
        assert_eq!(field("filler").parse(b"                     x"), Err(ErrorKind::Filler));
    }

    #[test]
    fn text_len_agrees_with_the_grammar() {
        let samples: [&[u8]; 12] = [
            b"SNA-1       ",
            b" SNA-1      ",
            b"SNA 1       ",
            b"            ",
            b"sna-1       ",
            b"ABCDEFGHIJKL",
            b"ABCDEFGH   X",
            b"ABCDEFGHI   ",
            b"A:          ",
            b"A\xC3        ",
            b"",
            b"Z-09@",
        ];
        for s in samples {
            let want = all_consuming(text)(s).ok().map(|(_, t)| t.len() as u64);
            assert_eq!(text_len(s), want, "{s:?}");
        }
        for b in 0..=255u8 {
            let s = [b'A', b, b' '];
            let want = all_consuming(text)(&s[..]).ok().map(|(_, t)| t.len() as u64);
            assert_eq!(text_len(&s), want, "{s:?}");
        }
    }

    #[test]
    fn text_len_in_agrees_with_text_len() {
        let samples: [&[u8]; 9] = [
            b"SNA-1       ",
            b" SNA-1      ",
            b"SNA 1       ",
            b"            ",
            b"ABCDEFGHIJKL",
            b"ABCDEFGHIJKLMNOP",
            b"ABCDEFGH   X",
            b"A\xC3        ",
            b"Z",
        ];
        for s in samples {
            for tail in [
                &b""[..],
                b"XXXXXXXXXXXXXXXXXX",
                b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
            ] {
                let rec = [&b"DA"[..], s, tail].concat();
                assert_eq!(
                    text_len_in(&rec, 2, s.len(), text_masks(s.len())),
                    text_len(s),
                    "{s:?} then {tail:?}"
                );
            }
        }
        for b in 0..=255u8 {
            let rec = [
                b'A', b, b' ', b' ', b'Q', b'Q', b'Q', b'Q', b'Q', b'Q', b'Q', b'Q', b'Q', b'Q', b'Q', b'Q', b'Q',
            ];
            assert_eq!(text_len_in(&rec, 0, 3, text_masks(3)), text_len(&rec[..3]), "{b}");
        }
    }

    #[test]
    fn text_is_left_justified() {
        let f = field("port reference");
        assert_eq!(f.parse(b"SNA-1       "), Ok(5));
        for bad in [&b" SNA-1      "[..], b"SNA 1       ", b"            ", b"sna-1       "] {
            assert_eq!(f.parse(bad), Err(ErrorKind::BadText), "{bad:?}");
        }
        assert_eq!(f.parse(b"SN\xC3\xA91       "), Err(ErrorKind::NonAscii));
    }

    #[test]
    fn expected_texts() {
        assert_eq!(
            expected(&field("telephone number").field, ErrorKind::NotDigits),
            "10 digits"
        );
        assert_eq!(expected(&field("status").field, ErrorKind::UnknownCode), "P, C, N or R");
        assert_eq!(
            expected(&field("file sequence").field, ErrorKind::OutOfRange),
            "000001 to 999999"
        );
        assert_eq!(
            expected(&field("format tag").field, ErrorKind::FormatTag),
            "\"PLNRSIM1\""
        );
    }
}
