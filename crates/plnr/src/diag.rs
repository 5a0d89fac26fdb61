//! Diagnostics: what is wrong, where, what was found and what was expected.

use std::fmt;
use std::fmt::Write as _;

/// The kinds of error a reader reports (`plnr-format.md`, "Errors a reader must report").
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A record is not exactly the layout's record length before its line end.
    RecordLength,
    /// The record type is none of the layout's.
    UnknownRecordType,
    /// The first line is not a header, or the file is empty.
    HeaderMissing,
    /// A header on a later line when the first line was not one.
    HeaderNotFirst,
    /// A header after the first line's header.
    SecondHeader,
    /// No trailer anywhere (reported at the last line).
    TrailerMissing,
    /// A record follows the trailer (reported at the first such line).
    TrailerNotLast,
    /// A trailer after the first trailer.
    SecondTrailer,
    /// A literal field (such as the format tag) does not hold its fixed text.
    FormatTag,
    /// A non-digit where digits are required.
    NotDigits,
    /// A digits field whose value is out of its range (a file sequence of zero).
    OutOfRange,
    /// An impossible calendar date.
    BadDate,
    /// An impossible date or time of day, or a local time Sydney skips (spring forward).
    BadTimestamp,
    /// An unknown action, status, category or file kind.
    UnknownCode,
    /// Ten digits, but not a geographic number.
    NotGeographic,
    /// A port reference that is blank, not left-justified, or has a character outside `[A-Z0-9-]`.
    BadText,
    /// Filler that is not spaces.
    Filler,
    /// The trailer's detail count does not match.
    DetailCount,
    /// The trailer's hash total does not match.
    HashTotal,
    /// A number listed twice in a full snapshot (reported at the second occurrence).
    DuplicateNumber,
    /// A line end that differs from the first line's (reported once).
    MixedLineEnds,
    /// An empty line.
    BlankLine,
    /// A byte outside ASCII.
    NonAscii,
    /// Action inconsistent with the donor (named by the `action` field).
    ActionDonor,
    /// An action or status that a full snapshot may not hold (`D`, `N`, `R`).
    NotInSnapshot,
    /// A file sequence that is not one more than the same donor's previous file.
    SequenceGap,
}

impl ErrorKind {
    /// A stable identifier, used in JSON output and sample file names.
    pub fn id(self) -> &'static str {
        match self {
            Self::RecordLength => "record-length",
            Self::UnknownRecordType => "unknown-record-type",
            Self::HeaderMissing => "header-missing",
            Self::HeaderNotFirst => "header-not-first",
            Self::SecondHeader => "second-header",
            Self::TrailerMissing => "trailer-missing",
            Self::TrailerNotLast => "trailer-not-last",
            Self::SecondTrailer => "second-trailer",
            Self::FormatTag => "format-tag",
            Self::NotDigits => "not-digits",
            Self::OutOfRange => "out-of-range",
            Self::BadDate => "bad-date",
            Self::BadTimestamp => "bad-timestamp",
            Self::UnknownCode => "unknown-code",
            Self::NotGeographic => "not-geographic",
            Self::BadText => "bad-text",
            Self::Filler => "filler",
            Self::DetailCount => "detail-count",
            Self::HashTotal => "hash-total",
            Self::DuplicateNumber => "duplicate-number",
            Self::MixedLineEnds => "mixed-line-ends",
            Self::BlankLine => "blank-line",
            Self::NonAscii => "non-ascii",
            Self::ActionDonor => "action-donor",
            Self::NotInSnapshot => "not-in-snapshot",
            Self::SequenceGap => "sequence-gap",
        }
    }
}

/// What a diagnostic is about.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Subject {
    /// A field, by its layout name and 1-based inclusive columns.
    Field { name: String, first: usize, last: usize },
    /// The record as a whole (its length, a blank line).
    Record,
    /// The line end.
    LineEnd,
    /// The file as a whole (a missing trailer).
    File,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field { name, first, last } if first == last => write!(f, "field \"{name}\" (col {first})"),
            Self::Field { name, first, last } => write!(f, "field \"{name}\" (cols {first}-{last})"),
            Self::Record => f.write_str("record"),
            Self::LineEnd => f.write_str("line end"),
            Self::File => f.write_str("file"),
        }
    }
}

/// One error in one file, displayed as
/// `register.plnr:17: field "telephone number" (cols 3-12): found "02555O1234", expected 10 digits`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based.
    pub line: u64,
    pub kind: ErrorKind,
    pub subject: Subject,
    /// What was found, as printed: a field's bytes quoted and escaped (`"02555O1234"`), or a
    /// description (`63 characters`).
    pub found: String,
    pub expected: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: found {}, expected {}",
            self.file, self.line, self.subject, self.found, self.expected
        )
    }
}

impl std::error::Error for Diagnostic {}

/// Quotes bytes for a diagnostic: printable ASCII as itself, `"` and `\` escaped, every other
/// byte as `\xNN`.
pub fn quote(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02X}");
            }
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_the_spec_shows() {
        let d = Diagnostic {
            file: "register.plnr".into(),
            line: 17,
            kind: ErrorKind::NotDigits,
            subject: Subject::Field {
                name: "telephone number".into(),
                first: 3,
                last: 12,
            },
            found: quote(b"02555O1234"),
            expected: "10 digits".into(),
        };
        assert_eq!(
            d.to_string(),
            r#"register.plnr:17: field "telephone number" (cols 3-12): found "02555O1234", expected 10 digits"#
        );
    }

    #[test]
    fn quoting_escapes_what_is_not_printable() {
        assert_eq!(quote(b"a\"b\\\xC3\x01"), r#""a\"b\\\xC3\x01""#);
    }
}
