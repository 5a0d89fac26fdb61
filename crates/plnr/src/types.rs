//! The typed contents of a register file: header, detail records, trailer.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use lnp_model::{CarrierCode, Category, PortStatus, TelephoneNumber};

/// What a file holds: the whole register, or the changes since the donor's previous file.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum FileKind {
    /// `F`: every number ported out of the donor's ranges that is not back with the donor.
    Full,
    /// `U`: the changes since the previous sequence, in the order they happened.
    Update,
}

impl FileKind {
    /// The built-in layout's letter (`F` or `U`).
    pub fn as_char(self) -> char {
        match self {
            Self::Full => 'F',
            Self::Update => 'U',
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Full => 0,
            Self::Update => 1,
        }
    }

    pub(crate) fn from_index(i: usize) -> Option<Self> {
        match i {
            0 => Some(Self::Full),
            1 => Some(Self::Update),
            _ => None,
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// A detail record's action.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Action {
    /// Newly ported out of the donor.
    A,
    /// Changed: ported again (a third-party port).
    C,
    /// Deleted: returned to the donor or given back.
    D,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::A, Action::C, Action::D];

    pub fn as_char(self) -> char {
        match self {
            Self::A => 'A',
            Self::C => 'C',
            Self::D => 'D',
        }
    }

    pub fn from_char(c: char) -> Option<Self> {
        match c {
            'A' => Some(Self::A),
            'C' => Some(Self::C),
            'D' => Some(Self::D),
            _ => None,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn from_index(i: usize) -> Option<Self> {
        Self::ALL.get(i).copied()
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// The code lists' canonical order, shared by the layout (a layout's `codes` are listed in
/// this order) and the writer.
pub(crate) const STATUS_ORDER: [PortStatus; 4] = [PortStatus::P, PortStatus::C, PortStatus::N, PortStatus::R];
pub(crate) const CATEGORY_ORDER: [Category; 3] = [Category::A, Category::C, Category::D];

pub(crate) fn status_index(s: PortStatus) -> usize {
    match s {
        PortStatus::P => 0,
        PortStatus::C => 1,
        PortStatus::N => 2,
        PortStatus::R => 3,
    }
}

pub(crate) fn category_index(c: Category) -> usize {
    match c {
        Category::A => 0,
        Category::C => 1,
        Category::D => 2,
    }
}

/// Line end of a file: one kind throughout.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum LineEnd {
    #[default]
    Lf,
    CrLf,
}

impl LineEnd {
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Self::Lf => b"\n",
            Self::CrLf => b"\r\n",
        }
    }
}

impl fmt::Display for LineEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Lf => "LF",
            Self::CrLf => "CRLF",
        })
    }
}

/// The header record: who publishes the file, when, which in their sequence, and what kind.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Header {
    /// The donor carrier that publishes the register.
    pub donor: CarrierCode,
    pub file_date: NaiveDate,
    /// 1 to 999999 in the built-in layout; each file a donor publishes is one more than its last.
    pub file_seq: u32,
    /// Australia/Sydney local time.
    pub created_at: NaiveDateTime,
    pub kind: FileKind,
}

/// One detail record.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Record {
    pub action: Action,
    pub number: TelephoneNumber,
    /// The carrier that now serves the number (for action `D`: the donor's own code).
    pub current: CarrierCode,
    /// The carrier the number was ported from.
    pub losing: CarrierCode,
    pub status: PortStatus,
    /// Australia/Sydney local time.
    pub effective_at: NaiveDateTime,
    pub category: Category,
    /// `[A-Z0-9-]{1,12}` in the built-in layout.
    pub port_ref: String,
}

/// The trailer record's control totals.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Trailer {
    pub detail_count: u64,
    pub hash_total: u64,
}

/// The fields of a detail record that say where its number routes (what routing tables read),
/// without its time and port reference: see [`crate::PlnrReader::next_brief`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RecordBrief {
    pub action: Action,
    pub number: TelephoneNumber,
    pub current: CarrierCode,
    pub losing: CarrierCode,
    pub status: PortStatus,
}

impl From<&Record> for RecordBrief {
    fn from(r: &Record) -> Self {
        Self {
            action: r.action,
            number: r.number,
            current: r.current,
            losing: r.losing,
            status: r.status,
        }
    }
}
