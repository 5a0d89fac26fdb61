//! Carrier codes, port categories and port references.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A 4-digit carrier code (`9001`). Stored as a number; always written with four digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CarrierCode(u16);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("carrier code must be exactly 4 digits, found {}", crate::message::excerpt(found))]
pub struct CarrierCodeError {
    pub found: String,
}

impl CarrierCode {
    #[inline]
    pub fn new(code: u16) -> Option<Self> {
        (code <= 9999).then_some(Self(code))
    }

    #[inline]
    pub fn get(self) -> u16 {
        self.0
    }

    /// Parses exactly four ASCII digits.
    pub fn from_digits(bytes: &[u8]) -> Result<Self, CarrierCodeError> {
        if let Ok(&[a, b, c, d]) = <&[u8; 4]>::try_from(bytes) {
            // The four digits as the last of eight, the first four zeros.
            if let Some(v) = crate::number::eight_digits([b'0', b'0', b'0', b'0', a, b, c, d]) {
                return Ok(Self(v as u16));
            }
        }
        Err(CarrierCodeError {
            found: String::from_utf8_lossy(bytes).into_owned(),
        })
    }

    pub fn write_digits(self, out: &mut [u8; 4]) {
        let mut v = self.0;
        for slot in out.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
}

impl FromStr for CarrierCode {
    type Err = CarrierCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_digits(s.as_bytes())
    }
}

impl CarrierCode {
    /// Four digits, zero-padded (`{:04}`), without the formatting machinery: every trace row
    /// prints one or more codes.
    fn write_code(self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = u32::from(self.0);
        if v > 9999 {
            return write!(f, "{v:04}");
        }
        let digits = [
            b'0' + (v / 1000) as u8,
            b'0' + (v / 100 % 10) as u8,
            b'0' + (v / 10 % 10) as u8,
            b'0' + (v % 10) as u8,
        ];
        f.write_str(std::str::from_utf8(&digits).unwrap_or("0000"))
    }
}

impl fmt::Display for CarrierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_code(f)
    }
}

impl fmt::Debug for CarrierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_code(f)
    }
}

impl Serialize for CarrierCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CarrierCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Port category. Cat B was dropped from the Code in 2013; Cat D is Cat A for a service with a
/// ULL diversion and uses the Cat A messages.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum Category {
    A,
    C,
    D,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("category must be A, C or D, found {}", crate::message::excerpt(found))]
pub struct CategoryError {
    pub found: String,
}

impl Category {
    pub fn as_char(self) -> char {
        match self {
            Self::A => 'A',
            Self::C => 'C',
            Self::D => 'D',
        }
    }

    /// Cat A and Cat D follow the simple (SNA/ECA) process; Cat C the complex one.
    pub fn is_simple(self) -> bool {
        !matches!(self, Self::C)
    }
}

impl FromStr for Category {
    type Err = CategoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "A" => Ok(Self::A),
            "C" => Ok(Self::C),
            "D" => Ok(Self::D),
            _ => Err(CategoryError { found: s.into() }),
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// What kind of service a number is, as far as porting cares.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ServiceKind {
    /// A simple service: Cat A may port it.
    Simple,
    /// A complex service: only Cat C may port it (code `005` on an SNA).
    Complex,
    /// Cancelled: not portable (code `004`).
    Cancelled,
    /// Pending cancellation: not portable (code `004`).
    PendingCancellation,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [Self::Simple, Self::Complex, Self::Cancelled, Self::PendingCancellation];

    /// The keyword as written in a scenario (`pending-cancellation`).
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::Complex => "complex",
            Self::Cancelled => "cancelled",
            Self::PendingCancellation => "pending-cancellation",
        }
    }
}

/// A bilateral agreement between two carriers (`BILATERAL`): they port between themselves, and
/// `after_hours` says whether their ports may cut over outside Standard Hours (`CUTOVER-HOURS`).
/// The one type the scenario, the carrier actors and the audit share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub carriers: [CarrierCode; 2],
    pub after_hours: bool,
}

impl Agreement {
    /// Whether the agreement is between `a` and `b` (in either order).
    pub fn between(&self, a: CarrierCode, b: CarrierCode) -> bool {
        self.carriers == [a, b] || self.carriers == [b, a]
    }
}

/// How a port ended, or that it has not: the vocabulary of a scenario's `state =` expectation
/// and of the run summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Completed,
    Rejected,
    Withdrawn,
    Returned,
    Expired,
    Pending,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Self::Completed,
        Self::Rejected,
        Self::Withdrawn,
        Self::Returned,
        Self::Expired,
        Self::Pending,
    ];

    /// The keyword as a scenario writes it (`state = "completed"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::Returned => "returned",
            Self::Expired => "expired",
            Self::Pending => "pending",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A customer service as the carrier holding it knows it: whose it is, its account at that
/// carrier, and what kind of service it is. The one type the scenario, the carrier actors and
/// the audit share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// Empty where the story does not name the customer.
    pub customer: String,
    /// Empty where the story does not name the account.
    pub account: String,
    pub kind: ServiceKind,
}

impl Service {
    /// A simple service of an unnamed customer: what a number of a carrier's own ranges is
    /// unless the story says otherwise.
    pub fn simple() -> Self {
        Self {
            customer: String::new(),
            account: String::new(),
            kind: ServiceKind::Simple,
        }
    }
}

/// Where services sit when a story starts (a scenario's `[[services]]`): numbers, the carrier
/// holding them, and the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceHolding {
    /// Individual numbers and ranges as written.
    pub numbers: Vec<crate::number::NumberRange>,
    pub carrier: CarrierCode,
    pub service: Service,
}

/// The reference that ties the rows of one port together (`SNA-000001`, a batch number, a PNV
/// sequence number). Up to [`PortRef::MAX_LEN`] printable ASCII characters other than the
/// trace's separators; stored inline so that it is `Copy`.
///
/// The characters sit in 24 bytes padded with zero bytes, which no reference holds, so the
/// padding gives the length and there is no length byte: a reference is three whole words, and
/// a map entry keyed by one (with a 4-byte value) takes 28 bytes, not 32.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PortRef {
    bytes: [u8; PortRef::MAX_LEN],
}

impl PortRef {
    /// The bytes as three words in `from` order.
    fn words_by(&self, from: fn([u8; 8]) -> u64) -> [u64; 3] {
        let w = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.bytes[i * 8..i * 8 + 8]);
            from(b)
        };
        [w(0), w(1), w(2)]
    }

    /// The bytes as three big-endian words: comparing them compares the bytes in order.
    fn words(&self) -> [u64; 3] {
        self.words_by(u64::from_be_bytes)
    }

    /// How many characters: the bytes before the padding (the zero bytes at the end, which
    /// are the high bytes of the last nonzero little-endian word).
    fn len(&self) -> usize {
        let [a, b, c] = self.words_by(u64::from_le_bytes);
        let (word, before) = if c != 0 {
            (c, 16)
        } else if b != 0 {
            (b, 8)
        } else {
            (a, 0)
        };
        before + 8 - (word.leading_zeros() / 8) as usize
    }
}

impl PortRef {
    /// A key whose order is the references' order ([`Ord`]): for sorting many references,
    /// computed once each rather than at every comparison.
    pub fn order_key(&self) -> (u8, [u64; 3]) {
        (self.len() as u8, self.words())
    }
}

/// Shorter references first, then byte order: what a derived order gives, without a call to
/// `memcmp` per comparison (ports sit in ordered maps keyed by reference, compared millions of
/// times in a market-scale run).
impl Ord for PortRef {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

/// Hashed as its three words (the padding gives the length), not byte by byte.
impl std::hash::Hash for PortRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let [a, b, c] = self.words_by(u64::from_le_bytes);
        state.write_u64(a);
        state.write_u64(b);
        state.write_u64(c);
    }
}

impl PartialOrd for PortRef {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PortRefError {
    #[error("port reference is empty")]
    Empty,
    #[error("port reference {} is longer than {max} characters", crate::message::excerpt(found))]
    TooLong { found: String, max: usize },
    #[error(
        "port reference {} contains {ch:?}; allowed: printable ASCII except space , ; : = \"",
        crate::message::excerpt(found)
    )]
    BadCharacter { found: String, ch: char },
}

impl PortRef {
    pub const MAX_LEN: usize = 24;

    /// The lowest reference in order (the empty one): a bound for ranges, never a port's own.
    pub const MIN: PortRef = PortRef {
        bytes: [0; PortRef::MAX_LEN],
    };

    /// A reference from a literal the program itself names (`PRE-PORTED`). The literal must be
    /// what [`str::parse`] accepts; longer ones are cut at [`PortRef::MAX_LEN`] bytes.
    pub const fn from_static(s: &'static str) -> PortRef {
        let src = s.as_bytes();
        let mut bytes = [0; PortRef::MAX_LEN];
        let mut i = 0;
        while i < src.len() && i < PortRef::MAX_LEN {
            bytes[i] = src[i];
            i += 1;
        }
        PortRef { bytes }
    }

    /// The reference's characters (ASCII), without [`PortRef::as_str`]'s check.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len()]
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked in `FromStr`).
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// Whether the reference fits the PLNR's 12-character `[A-Z0-9-]` port reference field.
    pub fn fits_plnr(&self) -> bool {
        self.len() <= 12
            && self
                .as_bytes()
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-')
    }
}

impl PortRef {
    /// `prefix` followed by `n` in decimal, zero-padded to at least `width` digits: what
    /// `format!("{prefix}{n:0width$}").parse()` gives, without the formatting (a generated
    /// market names millions of ports). `None` when `prefix` is not a valid character or the
    /// reference would be too long.
    pub fn numbered(prefix: u8, n: u64, width: usize) -> Option<Self> {
        if !Self::allowed(prefix) {
            return None;
        }
        let mut digits = [0u8; 20];
        let mut count = 0;
        let mut rest = n;
        loop {
            digits[count] = b'0' + (rest % 10) as u8;
            count += 1;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let shown = count.max(width);
        let len = 1 + shown;
        if len > Self::MAX_LEN {
            return None;
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[0] = prefix;
        for (i, b) in bytes[1..len].iter_mut().enumerate() {
            let from_right = shown - 1 - i;
            *b = if from_right < count { digits[from_right] } else { b'0' };
        }
        Some(Self { bytes })
    }

    /// A byte a reference may hold: printable ASCII other than the trace's separators.
    fn allowed(b: u8) -> bool {
        b.is_ascii_graphic() && !matches!(b, b',' | b';' | b':' | b'=' | b'"')
    }

    /// The reference these bytes spell, where [`str::parse`] accepts them; `None` where it gives
    /// an error.
    pub fn from_ascii(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() || bytes.len() > Self::MAX_LEN || !bytes.iter().all(|&b| Self::allowed(b)) {
            return None;
        }
        let mut out = [0u8; Self::MAX_LEN];
        out[..bytes.len()].copy_from_slice(bytes);
        Some(Self { bytes: out })
    }
}

impl FromStr for PortRef {
    type Err = PortRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(r) = Self::from_ascii(s.as_bytes()) {
            return Ok(r);
        }
        if s.is_empty() {
            return Err(PortRefError::Empty);
        }
        if s.len() > Self::MAX_LEN {
            return Err(PortRefError::TooLong {
                found: s.into(),
                max: Self::MAX_LEN,
            });
        }
        // The first character not allowed (the bytes say only that there is one).
        let ch = s
            .chars()
            .find(|c| !c.is_ascii() || !Self::allowed(*c as u8))
            .unwrap_or('\u{fffd}');
        Err(PortRefError::BadCharacter { found: s.into(), ch })
    }
}

impl fmt::Display for PortRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for PortRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl Serialize for PortRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PortRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    /// Every code of four digits, and every byte in each place of some: the word reading of
    /// [`CarrierCode::from_digits`] agrees with reading a digit at a time.
    #[test]
    fn four_digits_as_one_word_agree_with_a_digit_at_a_time() {
        let by_digit = |b: &[u8]| {
            (b.len() == 4 && b.iter().all(u8::is_ascii_digit))
                .then(|| b.iter().fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0')))
        };
        for v in 0..10_000u16 {
            let text = format!("{v:04}");
            assert_eq!(
                super::CarrierCode::from_digits(text.as_bytes()).ok().map(|c| c.0),
                Some(v)
            );
        }
        crate::number::each_byte_in_each_place(&[*b"0000", *b"9999", *b"9002", *b"1234"], |b| {
            assert_eq!(
                super::CarrierCode::from_digits(b).ok().map(|c| c.0),
                by_digit(b),
                "{b:?}"
            );
        });
        for b in [&b""[..], b"900", b"90021", b"9002 "] {
            assert!(super::CarrierCode::from_digits(b).is_err());
        }
    }

    #[test]
    fn port_refs_order_by_length_then_bytes() {
        let refs = [
            "B",
            "A",
            "SNA-000010",
            "SNA-000009",
            "ZZ",
            "AZ",
            "P1",
            "P10",
            "X-Y_1.2",
            "abcdefghijklmnopqrstuvwx",
        ];
        let mut ours: Vec<super::PortRef> = refs.iter().map(|r| r.parse().unwrap()).collect();
        ours.sort();
        let mut expected: Vec<&str> = refs.to_vec();
        expected.sort_by(|a, b| a.len().cmp(&b.len()).then(a.as_bytes().cmp(b.as_bytes())));
        let got: Vec<&str> = ours.iter().map(super::PortRef::as_str).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn numbered_port_refs_match_formatting() {
        for n in [0u64, 7, 42, 999_999_999, 1_000_000_000, 123_456_789_012, u64::MAX] {
            let want: Option<PortRef> = format!("L{n:09}").parse().ok();
            assert_eq!(PortRef::numbered(b'L', n, 9), want, "{n}");
        }
        assert_eq!(PortRef::numbered(b' ', 1, 9), None);
    }

    use super::*;

    /// Every byte a reference may hold.
    fn allowed() -> Vec<u8> {
        (0..=u8::MAX).filter(|&b| PortRef::allowed(b)).collect()
    }

    proptest::proptest! {
        /// Any reference of 1 to 24 allowed characters reads back as written, and two compare
        /// as their (length, bytes) and are equal, with equal hashes, exactly when their text is.
        #[test]
        fn port_refs_keep_their_text_length_and_order(
            a in proptest::collection::vec(proptest::sample::select(allowed()), 1..=24),
            b in proptest::collection::vec(proptest::sample::select(allowed()), 1..=24),
        ) {
            use std::hash::BuildHasher;
            let (a, b) = (String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
            let (ra, rb) = (a.parse::<PortRef>().unwrap(), b.parse::<PortRef>().unwrap());
            proptest::prop_assert_eq!(ra.as_str(), a.as_str());
            proptest::prop_assert_eq!(ra.len(), a.len());
            proptest::prop_assert_eq!(ra.cmp(&rb), (a.len(), a.as_bytes()).cmp(&(b.len(), b.as_bytes())));
            proptest::prop_assert_eq!(ra == rb, a == b);
            let hash = |r: &PortRef| std::hash::BuildHasherDefault::<crate::fasthash::FastHasher>::default().hash_one(r);
            if a == b {
                proptest::prop_assert_eq!(hash(&ra), hash(&rb));
            }
            let plnr = a.len() <= 12 && a.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-');
            proptest::prop_assert_eq!(ra.fits_plnr(), plnr);
        }
    }

    #[test]
    fn carrier_codes() {
        assert_eq!("9001".parse::<CarrierCode>().unwrap().to_string(), "9001");
        assert_eq!("0042".parse::<CarrierCode>().unwrap().get(), 42);
        for bad in ["", "901", "90011", "90a1", " 901"] {
            assert!(bad.parse::<CarrierCode>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn port_refs() {
        let r: PortRef = "SNA-000001".parse().unwrap();
        assert_eq!(r.as_str(), "SNA-000001");
        assert!(r.fits_plnr());
        assert!(!"p1".parse::<PortRef>().unwrap().fits_plnr());
        assert!("a;b".parse::<PortRef>().is_err());
        assert!("".parse::<PortRef>().is_err());
        assert!("x".repeat(25).parse::<PortRef>().is_err());
    }
}
