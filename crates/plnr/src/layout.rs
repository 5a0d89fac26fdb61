//! Layouts as data: which record types a file has and, for each, its fixed-width fields.
//!
//! The built-in PLNR-SIM/1 layout ([`Layout::builtin`]) is one instance; another layout (for
//! instance a carrier's own, following G602.1) loads from TOML with [`Layout::from_toml`] and
//! the same reader, validator and writer work on it. `crates/plnr/layouts/plnr-sim-1.toml` is
//! the built-in layout written in that form, and a test keeps the two equal.
//!
//! A layout file:
//!
//! ```toml
//! name = "PLNR-SIM/1"
//! record_length = 64
//! record_type = { name = "record type", start = 1, width = 1 }
//!
//! [header]
//! code = "H"
//! [[header.field]]
//! name = "format tag"
//! start = 2
//! width = 8
//! kind = "literal"
//! value = "PLNRSIM1"
//! # ... one [[header.field]] per field; then [detail] and [trailer] alike
//! ```
//!
//! Kinds: `digits`, `date` (`YYYYMMDD`), `timestamp` (`YYYYMMDDHHMMSS`, Sydney local), `codes`
//! (a code list, each code exactly `width` characters, listed in the meaning's canonical order),
//! `text` (`[A-Z0-9-]`, left-justified, space-padded, not blank), `literal` (fixed text in
//! `value`) and `filler` (spaces). Every data field has a `role` saying what it means; fields
//! without a role must be `literal` or `filler`, so that a read-then-write loses nothing. Every
//! column of a record belongs to exactly one field (or the record type).

use serde::Deserialize;
use thiserror::Error;

/// What a field means.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Header: the donor carrier code (4 digits).
    Donor,
    /// Header: the file date (`date`).
    FileDate,
    /// Header: the file sequence (digits, at most 9).
    FileSeq,
    /// Header: when the file was created (`timestamp`).
    CreatedAt,
    /// Header: file kind (codes: full, update).
    FileKind,
    /// Detail: the action (codes: A, C, D).
    Action,
    /// Detail: the telephone number (10 digits, national format).
    Number,
    /// Detail: the current carrier (4 digits).
    Current,
    /// Detail: the losing carrier (4 digits).
    Losing,
    /// Detail: the status (codes: P, C, N, R).
    Status,
    /// Detail: effective at (`timestamp`).
    EffectiveAt,
    /// Detail: the port category (codes: A, C, D).
    Category,
    /// Detail: the port reference (`text`).
    PortRef,
    /// Trailer: the detail count (digits, at most 18).
    DetailCount,
    /// Trailer: the hash total (digits, at most 18; the sum is taken modulo 10^width).
    HashTotal,
}

impl Role {
    const HEADER: [Role; 5] = [
        Role::Donor,
        Role::FileDate,
        Role::FileSeq,
        Role::CreatedAt,
        Role::FileKind,
    ];
    const DETAIL: [Role; 8] = [
        Role::Action,
        Role::Number,
        Role::Current,
        Role::Losing,
        Role::Status,
        Role::EffectiveAt,
        Role::Category,
        Role::PortRef,
    ];
    const TRAILER: [Role; 2] = [Role::DetailCount, Role::HashTotal];

    fn snake(self) -> &'static str {
        match self {
            Role::Donor => "donor",
            Role::FileDate => "file_date",
            Role::FileSeq => "file_seq",
            Role::CreatedAt => "created_at",
            Role::FileKind => "file_kind",
            Role::Action => "action",
            Role::Number => "number",
            Role::Current => "current",
            Role::Losing => "losing",
            Role::Status => "status",
            Role::EffectiveAt => "effective_at",
            Role::Category => "category",
            Role::PortRef => "port_ref",
            Role::DetailCount => "detail_count",
            Role::HashTotal => "hash_total",
        }
    }

    /// Checks that a field of this role has a kind and width that can hold its value.
    fn accepts(self, kind: &FieldKind, width: usize) -> Result<(), String> {
        let ok = match self {
            Role::Donor | Role::Current | Role::Losing => matches!(kind, FieldKind::Digits) && width == 4,
            Role::Number => matches!(kind, FieldKind::Digits) && width == 10,
            Role::FileSeq => matches!(kind, FieldKind::Digits) && (1..=9).contains(&width),
            Role::DetailCount | Role::HashTotal => matches!(kind, FieldKind::Digits) && (1..=18).contains(&width),
            Role::FileDate => matches!(kind, FieldKind::Date),
            Role::CreatedAt | Role::EffectiveAt => matches!(kind, FieldKind::Timestamp),
            Role::FileKind => matches!(kind, FieldKind::Codes(c) if c.len() == 2),
            Role::Action | Role::Category => matches!(kind, FieldKind::Codes(c) if c.len() == 3),
            Role::Status => matches!(kind, FieldKind::Codes(c) if c.len() == 4),
            Role::PortRef => matches!(kind, FieldKind::Text),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "role {} needs {}",
                self.snake(),
                match self {
                    Role::Donor | Role::Current | Role::Losing => "kind digits with width 4",
                    Role::Number => "kind digits with width 10",
                    Role::FileSeq => "kind digits with width 1 to 9",
                    Role::DetailCount | Role::HashTotal => "kind digits with width 1 to 18",
                    Role::FileDate => "kind date",
                    Role::CreatedAt | Role::EffectiveAt => "kind timestamp",
                    Role::FileKind => "kind codes with 2 codes (full, update)",
                    Role::Action | Role::Category => "kind codes with 3 codes (A, C, D)",
                    Role::Status => "kind codes with 4 codes (P, C, N, R)",
                    Role::PortRef => "kind text",
                }
            ))
        }
    }
}

/// The syntax of a field.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FieldKind {
    /// ASCII digits, zero-padded.
    Digits,
    /// `YYYYMMDD`, a real calendar date.
    Date,
    /// `YYYYMMDDHHMMSS`, a real Australia/Sydney local time.
    Timestamp,
    /// One of a list of codes, each exactly the field's width, in the role's canonical order.
    Codes(Vec<String>),
    /// `[A-Z0-9-]`, left-justified, space-padded, not blank.
    Text,
    /// Fixed text.
    Literal(String),
    /// Spaces.
    Filler,
}

/// One fixed-width field.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Field {
    /// The name diagnostics use (`telephone number`).
    pub name: String,
    /// 1-based first column.
    pub start: usize,
    pub width: usize,
    pub kind: FieldKind,
    /// What the field means; `None` for literal and filler fields.
    pub role: Option<Role>,
}

impl Field {
    /// The 1-based last column.
    pub fn end(&self) -> usize {
        self.start.saturating_add(self.width).saturating_sub(1)
    }

    pub(crate) fn range(&self) -> std::ops::Range<usize> {
        self.start.saturating_sub(1)..self.start.saturating_sub(1).saturating_add(self.width)
    }
}

/// One record type.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecordLayout {
    /// The record type's code, as many characters as the record type field is wide.
    pub code: String,
    pub fields: Vec<Field>,
}

impl RecordLayout {
    /// The field holding a role.
    pub fn field(&self, role: Role) -> Option<&Field> {
        self.fields.iter().find(|f| f.role == Some(role))
    }
}

/// The record type field, common to every record type.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecordTypeField {
    pub name: String,
    pub start: usize,
    pub width: usize,
}

/// A complete file layout.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Layout {
    pub name: String,
    /// Characters per record, before the line end.
    pub record_length: usize,
    pub record_type: RecordTypeField,
    pub header: RecordLayout,
    pub detail: RecordLayout,
    pub trailer: RecordLayout,
}

/// Why a layout description cannot be used; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid layout: {}", problems.join("; "))]
pub struct LayoutError {
    pub problems: Vec<String>,
}

fn field(name: &str, start: usize, width: usize, kind: FieldKind, role: Option<Role>) -> Field {
    Field {
        name: name.into(),
        start,
        width,
        kind,
        role,
    }
}

fn codes(list: &[&str]) -> FieldKind {
    FieldKind::Codes(list.iter().map(|s| (*s).to_string()).collect())
}

impl Layout {
    /// The simulator's own PLNR-SIM/1 layout (`docs/plnr-format.md`), not G602.1's.
    pub fn builtin() -> Layout {
        use FieldKind::{Date, Digits, Filler, Literal, Text, Timestamp};
        Layout {
            name: "PLNR-SIM/1".into(),
            record_length: 64,
            record_type: RecordTypeField {
                name: "record type".into(),
                start: 1,
                width: 1,
            },
            header: RecordLayout {
                code: "H".into(),
                fields: vec![
                    field("format tag", 2, 8, Literal("PLNRSIM1".into()), None),
                    field("donor carrier code", 10, 4, Digits, Some(Role::Donor)),
                    field("file date", 14, 8, Date, Some(Role::FileDate)),
                    field("file sequence", 22, 6, Digits, Some(Role::FileSeq)),
                    field("created at", 28, 14, Timestamp, Some(Role::CreatedAt)),
                    field("file kind", 42, 1, codes(&["F", "U"]), Some(Role::FileKind)),
                    field("filler", 43, 22, Filler, None),
                ],
            },
            detail: RecordLayout {
                code: "D".into(),
                fields: vec![
                    field("action", 2, 1, codes(&["A", "C", "D"]), Some(Role::Action)),
                    field("telephone number", 3, 10, Digits, Some(Role::Number)),
                    field("current carrier code", 13, 4, Digits, Some(Role::Current)),
                    field("losing carrier code", 17, 4, Digits, Some(Role::Losing)),
                    field("status", 21, 1, codes(&["P", "C", "N", "R"]), Some(Role::Status)),
                    field("effective at", 22, 14, Timestamp, Some(Role::EffectiveAt)),
                    field("port category", 36, 1, codes(&["A", "C", "D"]), Some(Role::Category)),
                    field("port reference", 37, 12, Text, Some(Role::PortRef)),
                    field("filler", 49, 16, Filler, None),
                ],
            },
            trailer: RecordLayout {
                code: "T".into(),
                fields: vec![
                    field("detail count", 2, 9, Digits, Some(Role::DetailCount)),
                    field("hash total", 11, 12, Digits, Some(Role::HashTotal)),
                    field("filler", 23, 42, Filler, None),
                ],
            },
        }
    }

    /// Loads a layout description (see the module documentation) and checks it.
    pub fn from_toml(text: &str) -> Result<Layout, LayoutError> {
        let raw: RawLayout = toml::from_str(text).map_err(|e| LayoutError {
            problems: vec![e.to_string().trim().replace('\n', " ")],
        })?;
        let mut problems = Vec::new();
        let mut record = |raw: RawRecord, which: &str| RecordLayout {
            code: raw.code,
            fields: raw
                .field
                .into_iter()
                .filter_map(|f| match f.into_field() {
                    Ok(f) => Some(f),
                    Err(p) => {
                        problems.push(format!("{which}: {p}"));
                        None
                    }
                })
                .collect(),
        };
        let layout = Layout {
            name: raw.name,
            record_length: raw.record_length,
            record_type: RecordTypeField {
                name: raw.record_type.name,
                start: raw.record_type.start,
                width: raw.record_type.width,
            },
            header: record(raw.header, "header"),
            detail: record(raw.detail, "detail"),
            trailer: record(raw.trailer, "trailer"),
        };
        layout.check(&mut problems);
        if problems.is_empty() {
            Ok(layout)
        } else {
            Err(LayoutError { problems })
        }
    }

    /// Checks the layout's consistency (done by [`Layout::from_toml`]; the built-in one passes).
    pub fn validate(&self) -> Result<(), LayoutError> {
        let mut problems = Vec::new();
        self.check(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(LayoutError { problems })
        }
    }

    fn check(&self, problems: &mut Vec<String>) {
        let len = self.record_length;
        if !(2..=4096).contains(&len) {
            problems.push(format!("record_length {len} is not between 2 and 4096"));
            return;
        }
        let rt = &self.record_type;
        if !fits(rt.start, rt.width, len) {
            problems.push("record_type lies outside the record".into());
            return;
        }
        let mut codes_seen: Vec<&str> = Vec::new();
        for (which, rec, roles) in [
            ("header", &self.header, &Role::HEADER[..]),
            ("detail", &self.detail, &Role::DETAIL[..]),
            ("trailer", &self.trailer, &Role::TRAILER[..]),
        ] {
            if rec.code.len() != rt.width || !rec.code.bytes().all(|b| b.is_ascii_graphic()) {
                problems.push(format!(
                    "{which}: code {:?} must be {} printable ASCII characters",
                    rec.code, rt.width
                ));
            }
            if codes_seen.contains(&rec.code.as_str()) {
                problems.push(format!("{which}: code {:?} is used by another record type", rec.code));
            }
            codes_seen.push(&rec.code);
            let mut owner: Vec<Option<String>> = vec![None; len];
            for col in rt.start..rt.start + rt.width {
                owner[col - 1] = Some(rt.name.clone());
            }
            for f in &rec.fields {
                if !fits(f.start, f.width, len) {
                    problems.push(format!("{which}: field {:?} lies outside the record", f.name));
                    continue;
                }
                for slot in &mut owner[f.start - 1..f.start - 1 + f.width] {
                    if let Some(other) = slot {
                        problems.push(format!("{which}: field {:?} overlaps field {other:?}", f.name));
                        break;
                    }
                    *slot = Some(f.name.clone());
                }
                match (&f.kind, f.role) {
                    (kind, Some(role)) => {
                        if !roles.contains(&role) {
                            problems.push(format!(
                                "{which}: field {:?} has role {} which belongs to another record type",
                                f.name,
                                role.snake()
                            ));
                        } else if let Err(p) = role.accepts(kind, f.width) {
                            problems.push(format!("{which}: field {:?}: {p}", f.name));
                        }
                    }
                    (FieldKind::Literal(_) | FieldKind::Filler, None) => {}
                    (_, None) => problems.push(format!(
                        "{which}: field {:?} has no role; only literal and filler fields may have none",
                        f.name
                    )),
                }
                match &f.kind {
                    FieldKind::Date if f.width != 8 => {
                        problems.push(format!("{which}: date field {:?} must be 8 wide", f.name));
                    }
                    FieldKind::Timestamp if f.width != 14 => {
                        problems.push(format!("{which}: timestamp field {:?} must be 14 wide", f.name));
                    }
                    FieldKind::Literal(v) if v.len() != f.width || !v.bytes().all(|b| (0x20..0x7f).contains(&b)) => {
                        problems.push(format!(
                            "{which}: literal field {:?} must hold exactly {} printable ASCII characters",
                            f.name, f.width
                        ));
                    }
                    FieldKind::Codes(list) => {
                        for (i, c) in list.iter().enumerate() {
                            if c.len() != f.width || !c.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                                problems.push(format!(
                                    "{which}: code {c:?} of field {:?} must be exactly {} printable ASCII characters",
                                    f.name, f.width
                                ));
                            }
                            if list[..i].contains(c) {
                                problems.push(format!("{which}: code {c:?} of field {:?} is listed twice", f.name));
                            }
                        }
                    }
                    _ => {}
                }
            }
            for role in roles {
                let n = rec.fields.iter().filter(|f| f.role == Some(*role)).count();
                if n != 1 {
                    problems.push(format!(
                        "{which}: needs exactly one field with role {}, found {n}",
                        role.snake()
                    ));
                }
            }
            if let Some(col) = owner.iter().position(Option::is_none) {
                problems.push(format!("{which}: column {} belongs to no field", col + 1));
            }
        }
    }
}

/// Whether columns `start..start + width` (1-based) lie inside a record of `len`.
fn fits(start: usize, width: usize, len: usize) -> bool {
    start >= 1 && width >= 1 && start.checked_add(width).is_some_and(|end| end - 1 <= len)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayout {
    name: String,
    record_length: usize,
    record_type: RawRecordType,
    header: RawRecord,
    detail: RawRecord,
    trailer: RawRecord,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecordType {
    name: String,
    start: usize,
    width: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    code: String,
    field: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    start: usize,
    width: usize,
    kind: String,
    role: Option<Role>,
    value: Option<String>,
    codes: Option<Vec<String>>,
}

impl RawField {
    fn into_field(self) -> Result<Field, String> {
        let kind = match (self.kind.as_str(), self.value, self.codes) {
            ("digits", None, None) => FieldKind::Digits,
            ("date", None, None) => FieldKind::Date,
            ("timestamp", None, None) => FieldKind::Timestamp,
            ("text", None, None) => FieldKind::Text,
            ("filler", None, None) => FieldKind::Filler,
            ("literal", Some(v), None) => FieldKind::Literal(v),
            ("codes", None, Some(c)) => FieldKind::Codes(c),
            ("literal", _, _) => return Err(format!("field {:?}: kind literal needs `value` only", self.name)),
            ("codes", _, _) => return Err(format!("field {:?}: kind codes needs `codes` only", self.name)),
            ("digits" | "date" | "timestamp" | "text" | "filler", _, _) => {
                return Err(format!(
                    "field {:?}: `value` and `codes` belong to literal and codes fields",
                    self.name
                ))
            }
            (other, _, _) => {
                return Err(format!(
                    "field {:?}: unknown kind {other:?} (digits, date, timestamp, codes, text, literal, filler)",
                    self.name
                ))
            }
        };
        Ok(Field {
            name: self.name,
            start: self.start,
            width: self.width,
            kind,
            role: self.role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_consistent() {
        assert_eq!(Layout::builtin().validate(), Ok(()));
    }

    #[test]
    fn shipped_toml_is_the_builtin_layout() {
        let text = include_str!("../layouts/plnr-sim-1.toml");
        assert_eq!(Layout::from_toml(text), Ok(Layout::builtin()));
    }

    #[test]
    fn problems_are_listed() {
        let text = include_str!("../layouts/plnr-sim-1.toml").replace("start = 43", "start = 44");
        let err = Layout::from_toml(&text).err().map(|e| e.problems).unwrap_or_default();
        assert!(
            err.iter()
                .any(|p| p.contains("header: field \"filler\" lies outside the record")),
            "{err:?}"
        );
        assert!(
            err.iter().any(|p| p.contains("column 43 belongs to no field")),
            "{err:?}"
        );
    }

    #[test]
    fn role_kind_mismatch_is_reported() {
        let text = include_str!("../layouts/plnr-sim-1.toml").replace("kind = \"date\"", "kind = \"digits\"");
        let err = Layout::from_toml(&text).err().map(|e| e.problems).unwrap_or_default();
        assert_eq!(
            err,
            vec!["header: field \"file date\": role file_date needs kind date".to_string()]
        );
    }
}
