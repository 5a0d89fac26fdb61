//! Telephone numbers in Australian national format, and ranges of them.
//!
//! Only geographic numbers (`0[2378]` followed by eight digits) are portable under Local Number
//! Portability; everything else is rejected with a reason. A number is stored as its 9-digit
//! national significant number (NSN), so it is `Copy`, 4 bytes, and orders numerically.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A geographic Australian telephone number, canonically written `0255501234`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TelephoneNumber(u32);

/// Why a text is not a portable geographic number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NumberError {
    #[error("empty telephone number")]
    Empty,
    #[error("character {ch:?} at position {pos} is not allowed in a telephone number")]
    BadCharacter { ch: char, pos: usize },
    #[error("{digits} digits after the prefix; a national number has 10 digits (0 + area code + 8)")]
    WrongLength { digits: usize },
    #[error("national number must start with 0 (or +61 without the 0)")]
    NoTrunkPrefix,
    #[error("area code {area} is not geographic: only 02, 03, 07 and 08 numbers are portable under LNP")]
    NotGeographic { area: String },
    #[error("'+' must be followed by country code 61")]
    NotAustralian,
}

impl TelephoneNumber {
    /// The smallest and largest geographic NSNs (`200000000`, `899999999`).
    const NSN_MIN: u32 = 200_000_000;
    const NSN_MAX: u32 = 899_999_999;

    /// From the 9-digit national significant number (`255501234`).
    #[inline]
    pub fn from_nsn(nsn: u32) -> Result<Self, NumberError> {
        if (Self::NSN_MIN..=Self::NSN_MAX).contains(&nsn) && matches!(nsn / 100_000_000, 2 | 3 | 7 | 8) {
            Ok(Self(nsn))
        } else {
            Err(Self::nsn_error(nsn))
        }
    }

    /// Why an NSN is no geographic number (kept out of line, so that the check inlines).
    #[cold]
    #[inline(never)]
    fn nsn_error(nsn: u32) -> NumberError {
        if !(Self::NSN_MIN..=Self::NSN_MAX).contains(&nsn) {
            return NumberError::WrongLength {
                digits: nsn.to_string().len(),
            };
        }
        NumberError::NotGeographic {
            area: format!("0{}", nsn / 100_000_000),
        }
    }

    /// The national significant number: the number without its leading 0.
    pub fn nsn(self) -> u32 {
        self.0
    }

    /// Parses exactly ten ASCII digits in national format (`0255501234`), as found in fixed-width
    /// files. Faster than [`FromStr`] and allocation-free.
    pub fn from_national_digits(bytes: &[u8]) -> Result<Self, NumberError> {
        Self::from_written_digits(bytes).map_or_else(|| Self::from_digits_bytewise(bytes), Ok)
    }

    /// [`TelephoneNumber::from_national_digits`] a byte at a time, naming the first fault.
    fn from_digits_bytewise(bytes: &[u8]) -> Result<Self, NumberError> {
        if bytes.len() != 10 {
            return Err(NumberError::WrongLength { digits: bytes.len() });
        }
        let mut nsn: u32 = 0;
        for (pos, &b) in bytes.iter().enumerate() {
            if !b.is_ascii_digit() {
                return Err(NumberError::BadCharacter { ch: char::from(b), pos });
            }
            if pos > 0 {
                nsn = nsn * 10 + u32::from(b - b'0');
            }
        }
        if bytes[0] != b'0' {
            return Err(NumberError::NoTrunkPrefix);
        }
        if !matches!(bytes[1], b'2' | b'3' | b'7' | b'8') {
            return Err(NumberError::NotGeographic {
                area: String::from_utf8_lossy(&bytes[..2]).into_owned(),
            });
        }
        Ok(Self(nsn))
    }

    /// The number of ten digits in the written form (`0`, an area digit 2, 3, 7 or 8, eight more),
    /// read eight bytes at a time; `None` for anything else, which
    /// [`TelephoneNumber::from_national_digits`] then reads byte by byte to name its fault.
    pub(crate) fn from_written_digits(bytes: &[u8]) -> Option<Self> {
        let (head, tail) = bytes.split_first_chunk::<8>()?;
        let &[d8, d9] = tail else { return None };
        if head[0] != b'0' || !matches!(head[1], b'2' | b'3' | b'7' | b'8') {
            return None;
        }
        if !d8.is_ascii_digit() || !d9.is_ascii_digit() {
            return None;
        }
        let nsn = u64::from(eight_digits(*head)?) * 100 + u64::from(d8 - b'0') * 10 + u64::from(d9 - b'0');
        Some(Self(u32::try_from(nsn).ok()?))
    }

    /// Writes the ten national digits into `out`.
    pub fn write_digits(self, out: &mut [u8; 10]) {
        out[0] = b'0';
        let mut v = self.0;
        for slot in out[1..].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
}

impl FromStr for TelephoneNumber {
    type Err = NumberError;

    /// Accepts `0255501234`, `02 5550 1234`, `(02) 5550-1234` and `+61 2 5550 1234`
    /// (spaces, hyphens, dots and one pair of parentheses as separators).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(NumberError::Empty);
        }
        let mut digits = String::with_capacity(12);
        let mut international = false;
        for (pos, ch) in s.char_indices() {
            match ch {
                '0'..='9' => digits.push(ch),
                '+' if pos == 0 => international = true,
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(NumberError::BadCharacter { ch, pos }),
            }
        }
        let national = if international {
            let Some(rest) = digits.strip_prefix("61") else {
                return Err(NumberError::NotAustralian);
            };
            format!("0{rest}")
        } else {
            digits
        };
        if !national.starts_with('0') {
            return Err(NumberError::NoTrunkPrefix);
        }
        if national.len() != 10 {
            return Err(NumberError::WrongLength { digits: national.len() });
        }
        Self::from_national_digits(national.as_bytes())
    }
}

impl fmt::Display for TelephoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0{:09}", self.0)
    }
}

impl fmt::Debug for TelephoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0{:09}", self.0)
    }
}

impl Serialize for TelephoneNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TelephoneNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An inclusive range of telephone numbers, written `0255500000-0255509999` (or one number).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct NumberRange {
    pub first: TelephoneNumber,
    pub last: TelephoneNumber,
}

/// Why a text is not a number range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RangeError {
    #[error("range start: {0}")]
    Start(NumberError),
    #[error("range end: {0}")]
    End(NumberError),
    /// A single number (no range) that is not a telephone number.
    #[error("{0}")]
    Number(NumberError),
    #[error("range {first}-{last} ends before it starts")]
    Reversed { first: String, last: String },
}

impl NumberRange {
    pub fn new(first: TelephoneNumber, last: TelephoneNumber) -> Result<Self, RangeError> {
        if last < first {
            return Err(RangeError::Reversed {
                first: first.to_string(),
                last: last.to_string(),
            });
        }
        Ok(Self { first, last })
    }

    pub fn single(n: TelephoneNumber) -> Self {
        Self { first: n, last: n }
    }

    pub fn contains(&self, n: TelephoneNumber) -> bool {
        self.first <= n && n <= self.last
    }

    /// How many numbers the range holds.
    pub fn len(&self) -> u64 {
        u64::from(self.last.0 - self.first.0) + 1
    }

    /// A range always holds at least one number.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn overlaps(&self, other: &NumberRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    /// Every number in the range, in order. Numbers whose NSN would leave the geographic
    /// space cannot occur: both ends are geographic and the areas in between are skipped.
    pub fn iter(&self) -> impl Iterator<Item = TelephoneNumber> {
        (self.first.0..=self.last.0).filter_map(|nsn| TelephoneNumber::from_nsn(nsn).ok())
    }
}

impl FromStr for NumberRange {
    type Err = RangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        // A hyphen inside a number is a separator too, so split on the hyphen that leaves
        // ten digits or more on each side; the plain form is `first-last`.
        match s.split_once('-') {
            Some((a, b)) if !a.trim().is_empty() && b.chars().filter(char::is_ascii_digit).count() >= 9 => {
                let first: TelephoneNumber = a.parse().map_err(RangeError::Start)?;
                let last: TelephoneNumber = b.parse().map_err(RangeError::End)?;
                Self::new(first, last)
            }
            _ => {
                let n: TelephoneNumber = s.parse().map_err(RangeError::Number)?;
                Ok(Self::single(n))
            }
        }
    }
}

impl fmt::Display for NumberRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// The value of eight ASCII digits, the first the most significant, read as one word; `None`
/// unless all eight are digits. Numbers and carrier codes (padded with leading zeros) are read
/// with it.
pub(crate) fn eight_digits(bytes: [u8; 8]) -> Option<u32> {
    const ZEROS: u64 = u64::from_le_bytes([b'0'; 8]);
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    let word = u64::from_le_bytes(bytes);
    // Every byte `0x30..=0x39`: its high nibble 3, and still 3 with 6 added (no byte carries,
    // each being at most 0x3f once the first test holds).
    if word & HIGH != ZEROS & HIGH || (word + 0x0606_0606_0606_0606) & HIGH != ZEROS & HIGH {
        return None;
    }
    // Pairs, then fours, then the two fours (the first byte is the lowest of the little-endian
    // word).
    let v = word - ZEROS;
    let v = (v * 10 + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let v = (v * 100 + (v >> 16)) & 0x0000_ffff_0000_ffff;
    u32::try_from((v * 10_000 + (v >> 32)) & 0xffff_ffff).ok()
}

/// Calls `check` with each of `bases` with one byte changed to each value, in each place: the
/// near misses a reading of fixed-width digits is tested on.
#[cfg(test)]
pub(crate) fn each_byte_in_each_place<const N: usize>(bases: &[[u8; N]], mut check: impl FnMut(&[u8; N])) {
    for base in bases {
        for at in 0..N {
            for byte in 0..=255u8 {
                let mut b = *base;
                b[at] = byte;
                check(&b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every byte in each place of some numbers in the written form: the word reading refuses
    /// what the bytewise reading refuses, and otherwise reads as it does.
    #[test]
    fn written_digits_agree_at_every_byte_in_every_place() {
        let written = [*b"0255501234", *b"0299999999", *b"0700000000", *b"0812345678"];
        each_byte_in_each_place(&written, |b| {
            assert_eq!(
                TelephoneNumber::from_written_digits(b),
                TelephoneNumber::from_digits_bytewise(b).ok(),
                "{b:?}"
            );
        });
    }

    #[test]
    fn accepts_the_three_documented_forms() {
        for s in [
            "+61 2 5550 1234",
            "02 5550 1234",
            "0255501234",
            "(02) 5550-1234",
            "+61255501234",
        ] {
            let n: TelephoneNumber = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(n.to_string(), "0255501234", "{s}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        let cases = [
            ("", NumberError::Empty),
            ("0455501234", NumberError::NotGeographic { area: "04".into() }),
            ("1300 555 123", NumberError::NoTrunkPrefix),
            ("025550123", NumberError::WrongLength { digits: 9 }),
            ("02555012345", NumberError::WrongLength { digits: 11 }),
            ("02 5550 12a4", NumberError::BadCharacter { ch: 'a', pos: 10 }),
            ("+64 2 5550 1234", NumberError::NotAustralian),
            ("0055501234", NumberError::NotGeographic { area: "00".into() }),
        ];
        for (s, want) in cases {
            assert_eq!(s.parse::<TelephoneNumber>(), Err(want), "{s:?}");
        }
    }

    #[test]
    fn fixed_width_digits() {
        assert!(TelephoneNumber::from_national_digits(b"02555O1234").is_err());
        let n = TelephoneNumber::from_national_digits(b"0812345678").unwrap();
        let mut out = [0u8; 10];
        n.write_digits(&mut out);
        assert_eq!(&out, b"0812345678");
        assert_eq!(n.nsn(), 812_345_678);
    }

    #[test]
    fn ranges() {
        let r: NumberRange = "0255500000-0255509999".parse().unwrap();
        assert_eq!(r.len(), 10_000);
        assert!(r.contains("0255501234".parse().unwrap()));
        assert!(!r.contains("0255510000".parse().unwrap()));
        let single: NumberRange = "0255501234".parse().unwrap();
        assert_eq!(single.len(), 1);
        assert!(matches!(
            "0255509999-0255500000".parse::<NumberRange>(),
            Err(RangeError::Reversed { .. })
        ));
        let spaced: NumberRange = "02 5550 0000-02 5550 0009".parse().unwrap();
        assert_eq!(spaced.iter().count(), 10);
    }

    proptest! {
        /// The word-at-a-time reading answers only where the bytewise one accepts, and then as it
        /// does; it answers for every number in the written form.
        #[test]
        fn written_digits_agree_with_the_bytewise_reading(
            bytes in prop::collection::vec(prop::sample::select(b"0123456789/:\x00\xff a".to_vec()), 8..12),
            nsn in 200_000_000u32..900_000_000,
            pos in 0usize..10,
            byte in any::<u8>(),
        ) {
            if let Some(n) = TelephoneNumber::from_written_digits(&bytes) {
                prop_assert_eq!(Ok(n), TelephoneNumber::from_digits_bytewise(&bytes));
            }
            let written = format!("0{nsn}");
            if let Ok(n) = TelephoneNumber::from_digits_bytewise(written.as_bytes()) {
                prop_assert_eq!(TelephoneNumber::from_written_digits(written.as_bytes()), Some(n));
                prop_assert_eq!(n.to_string(), written.clone());
            }
            // One byte of it changed: a near miss is refused, or read as the bytewise reading reads it.
            let mut near = written.into_bytes();
            near[pos] = byte;
            if let Some(n) = TelephoneNumber::from_written_digits(&near) {
                prop_assert_eq!(Ok(n), TelephoneNumber::from_digits_bytewise(&near));
            }
        }

        #[test]
        fn canonical_forms_round_trip(area in prop::sample::select(vec![2u32, 3, 7, 8]), local in 0u32..100_000_000) {
            let nsn = area * 100_000_000 + local;
            let n = TelephoneNumber::from_nsn(nsn).unwrap();
            let canonical = n.to_string();
            prop_assert_eq!(canonical.parse::<TelephoneNumber>().unwrap(), n);
            let spaced = format!("0{} {:04} {:04}", area, local / 10_000, local % 10_000);
            prop_assert_eq!(spaced.parse::<TelephoneNumber>().unwrap(), n);
            let intl = format!("+61 {} {:04} {:04}", area, local / 10_000, local % 10_000);
            prop_assert_eq!(intl.parse::<TelephoneNumber>().unwrap(), n);
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,20}") {
            let _ = s.parse::<TelephoneNumber>();
            let _ = s.parse::<NumberRange>();
        }
    }
}
