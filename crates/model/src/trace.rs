//! Trace records and their CSV and JSON Lines forms (`trace-format.md`).
//!
//! The reader streams: it yields one record (or one row error) at a time, so a trace of any
//! length is read in constant memory. A bad row is reported with its line and column and the
//! reader carries on; only an unreadable source or a missing/garbled CSV header is fatal.
//!
//! Both encodings are read by one rule (`trace-format.md`, "Two encodings"): a JSON Lines value
//! means what the same text means in CSV, or the row is refused; fields and columns the format
//! does not define are ignored.

use std::fmt::Write as _;
use std::io::{self, BufRead, Write};

use serde_json::Value;
use thiserror::Error;

use crate::carrier::{CarrierCode, Category, PortRef};
use crate::message::{Code, Detail, Message, MsgKind, Numbers, PortStatus};
use crate::number::TelephoneNumber;
use crate::time::{fast_rfc3339, Timestamp};

/// The columns, in the order the writer emits them.
pub const COLUMNS: [&str; 10] = [
    "seq", "time", "from", "to", "msg", "ref", "category", "numbers", "code", "detail",
];

/// One row of a trace.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TraceRecord {
    pub seq: u64,
    pub time: Timestamp,
    pub from: CarrierCode,
    /// The receiver; `None` for an action.
    pub to: Option<CarrierCode>,
    pub message: Message,
}

impl TraceRecord {
    pub fn kind(&self) -> MsgKind {
        self.message.kind
    }
}

/// The two encodings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TraceFormat {
    Csv,
    Jsonl,
}

impl TraceFormat {
    /// From a file name's extension (`.csv`, `.jsonl`).
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Some(Self::Csv),
            Some("jsonl" | "ndjson") => Some(Self::Jsonl),
            _ => None,
        }
    }
}

impl std::str::FromStr for TraceFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(Self::Csv),
            "jsonl" => Ok(Self::Jsonl),
            _ => Err(format!("trace format must be csv or jsonl, found {s:?}")),
        }
    }
}

/// A row that could not be read. The reader carries on after it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}{}: {message}", column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct RowError {
    /// 1-based line in the file.
    pub line: u64,
    /// The column (field name) at fault, when one is.
    pub column: Option<String>,
    pub message: String,
    /// The row's `ref`, where that field could still be read: the audit then withholds that
    /// port's duties instead of judging it on incomplete evidence (`docs/rules.md`, "Reading a
    /// carrier's log").
    pub port_ref: Option<PortRef>,
    /// The row's numbers, where that field could still be read (used when `ref` cannot be).
    pub numbers: Vec<TelephoneNumber>,
}

/// The source cannot be read as a trace at all.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TraceError {
    #[error("cannot read trace: {0}")]
    Io(#[from] io::Error),
    #[error("line 1: bad CSV header: {0}")]
    Header(String),
}

fn row_err(line: u64, column: &str, message: impl Into<String>) -> RowError {
    RowError {
        line,
        column: Some(column.into()),
        message: message.into(),
        port_ref: None,
        numbers: Vec::new(),
    }
}

/// A row's time: RFC 3339 with an offset, or (with `assume_sydney`) a local date-time without
/// one, read as Sydney local time. A time without an offset is otherwise an error naming the
/// option (docs/rules.md, "Reading a carrier's log").
fn row_time(line: u64, s: &str, assume_sydney: bool) -> Result<Timestamp, RowError> {
    // `Timestamp::parse_rfc3339` reads the writer's form by hand and checks the range (years
    // 0001 to 9999 in UTC) whichever way it read it.
    match Timestamp::parse_rfc3339(s) {
        Ok(t) => return Ok(t),
        // An instant in the writer's form past the end of year 9999 (or before year 1) in UTC.
        Err(crate::time::TimeError::OutOfRange { .. }) => {
            return Err(row_err(line, "time", "out of range: years 0001 to 9999"));
        }
        Err(_) => {}
    }
    let text = s.trim();
    let local = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok());
    match local {
        Some(naive) if assume_sydney => {
            let t = Timestamp::from_sydney_local(naive);
            if t.in_range() {
                Ok(t)
            } else {
                Err(row_err(line, "time", "out of range: years 0001 to 9999"))
            }
        }
        Some(_) => Err(row_err(
            line,
            "time",
            "has no offset; pass --assume-offset sydney to read such times as Sydney local time",
        )),
        None => Err(row_err(line, "time", "not RFC 3339")),
    }
}

/// The `numbers` field, as [`crate::message::parse_numbers`] reads it; a plain ten-digit number (the writer's
/// form) is read without building its digits as text.
fn csv_numbers(s: &str) -> Result<Vec<TelephoneNumber>, crate::number::NumberError> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(';').map(parse_number).collect()
}

/// [`salvaged`] for a CSV row that is not UTF-8, from its fields' bytes (`field(i)`: the row's
/// `i`-th field): the `ref` and `numbers` fields where the row has the header's width and each
/// is text.
fn salvaged_row<'a>(
    len: usize,
    width: usize,
    index: &[usize; 10],
    field: impl Fn(usize) -> Option<&'a [u8]>,
) -> (Option<PortRef>, Vec<TelephoneNumber>) {
    let text = |c: usize| {
        (len == width)
            .then(|| field(index[c]).and_then(|f| std::str::from_utf8(f).ok()))
            .flatten()
    };
    salvaged(text(5), text(7))
}

/// What can still be read of a CSV row that cannot be read whole: its `ref` and its numbers,
/// each from its own field where that field is text, so that the audit withholds that port
/// rather than judge it on incomplete evidence (`docs/rules.md`, "Malformed rows").
fn salvaged(ref_s: Option<&str>, numbers_s: Option<&str>) -> (Option<PortRef>, Vec<TelephoneNumber>) {
    let port_ref = ref_s
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .and_then(|r| r.parse().ok());
    let numbers = numbers_s.and_then(|n| csv_numbers(n).ok()).unwrap_or_default();
    (port_ref, numbers)
}

/// Why a JSON Lines line is not a JSON object, at the column of the line where the parser
/// stopped: the parser's own position says "line 1", since it reads one line at a time, where
/// the row error already names the file's line.
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&at) {
        Some(why) => format!("not a JSON object: {why} (column {})", e.column()),
        None => format!("not a JSON object: {text}"),
    }
}

/// What can still be read of a JSON Lines line that is not a JSON object (or not UTF-8): the
/// string of its one `"ref"` member and the strings of its one `"numbers"` member (an array of
/// strings, or one string), found in the line's text. A member written more than once, or
/// whose value is not such a string, gives nothing, since then the line does not say which.
fn salvaged_jsonl(text: &[u8]) -> (Option<PortRef>, Vec<TelephoneNumber>) {
    // The text after each `"key"` and its colon (spaces allowed around it), if exactly one.
    let after = |key: &[u8]| -> Option<&[u8]> {
        let mut found = None;
        let mut from = 0;
        while let Some(at) = memchr::memmem::find(&text[from..], key) {
            let rest = text[from + at + key.len()..].trim_ascii_start();
            from += at + key.len();
            if let Some(value) = rest.strip_prefix(b":") {
                if found.is_some() {
                    return None;
                }
                found = Some(value.trim_ascii_start());
            }
        }
        found
    };
    // A string without escapes or control characters at the start of `b`, and the bytes it
    // takes with its quotes.
    let string = |b: &[u8]| -> Option<(String, usize)> {
        let inner = b.strip_prefix(b"\"")?;
        let end = plain_string_len(inner)?;
        let text = std::str::from_utf8(&inner[..end]).ok()?;
        Some((text.to_owned(), end + 2))
    };
    let port_ref = after(b"\"ref\"")
        .and_then(string)
        .and_then(|(r, _)| r.trim().parse().ok());
    let numbers = after(b"\"numbers\"").and_then(|mut rest| {
        if let Some((joined, _)) = string(rest) {
            return csv_numbers(&joined).ok();
        }
        rest = rest.strip_prefix(b"[")?;
        let mut out = Vec::new();
        loop {
            rest = rest.trim_ascii_start();
            if rest.starts_with(b"]") {
                return Some(out);
            }
            let (n, used) = string(rest)?;
            out.push(parse_number(&n).ok()?);
            rest = rest[used..].trim_ascii_start();
            rest = rest.strip_prefix(b",").unwrap_or(rest);
        }
    });
    (port_ref, numbers.unwrap_or_default())
}

/// One number of the `numbers` field (surrounding spaces ignored).
fn parse_number(part: &str) -> Result<TelephoneNumber, crate::number::NumberError> {
    let part = part.trim();
    let b = part.as_bytes();
    if b.len() == 10 && b[0] == b'0' && b.iter().all(u8::is_ascii_digit) {
        TelephoneNumber::from_national_digits(b)
    } else {
        part.parse()
    }
}

/// The high bit of each byte of `word` that is `byte`, and no other bit: the bytes equal to
/// `byte` are the zero bytes of `x`, found exactly (no borrow between bytes).
fn byte_hits(word: [u8; 8], byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = u64::from_le_bytes(word) ^ u64::from_le_bytes([byte; 8]);
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Appends to `out` where `byte` occurs in `bytes`, in order, eight bytes at a time: a row's
/// fields are a dozen bytes long, too short for a vector search to pay for starting again at
/// each one.
fn positions_of(byte: u8, bytes: &[u8], out: &mut Vec<usize>) {
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mut hits = byte_hits(word, byte);
        while hits != 0 {
            out.push(base + (hits.trailing_zeros() / 8) as usize);
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        if b == byte {
            out.push(base + i);
        }
    }
}

/// A row's fields split at its commas, where the row has exactly ten: its commas found as
/// [`positions_of`] finds them, into a fixed array.
fn split_written(row: &[u8]) -> Option<[&[u8]; 10]> {
    let mut ends = [row.len(); 10];
    let mut found = 0;
    let (words, tail) = row.as_chunks::<8>();
    // The last bytes as one more word, padded with zeros (no comma).
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    let mut take = |word: &[u8; 8], base: usize| -> Option<()> {
        let mut hits = byte_hits(*word, b',');
        while hits != 0 {
            // A tenth comma: an eleventh field.
            *ends.get_mut(found).filter(|_| found < 9)? = base + (hits.trailing_zeros() / 8) as usize;
            found += 1;
            hits &= hits - 1;
        }
        Some(())
    };
    let mut base = 0;
    for word in words {
        take(word, base)?;
        base += 8;
    }
    take(&last, base)?;
    if found != 9 {
        return None;
    }
    let mut fields: [&[u8]; 10] = [&[]; 10];
    let mut start = 0;
    for (f, &end) in fields.iter_mut().zip(&ends) {
        *f = &row[start..end];
        start = end + 1;
    }
    Some(fields)
}

/// The `detail` field in the writer's form, read as [`Detail::parse`] reads it, without its
/// general machinery: `key=value` pairs split at `;`, each key without surrounding spaces, each
/// value of a key the spec defines in the form the writer gives it (a time in the writer's
/// RFC 3339 form, a date `YYYY-MM-DD`, a file sequence number plain digits). `None` for anything
/// else and for any error, which the general path then reads and reports.
///
/// The field is bytes: only the text values (`account` and the rest) and keys the spec does not
/// define are checked as UTF-8, the others being read only where they are ASCII.
fn fast_detail(b: &[u8]) -> Option<Detail> {
    let mut d = Detail::default();
    if b.is_empty() {
        return Some(d);
    }
    let mut at = 0;
    loop {
        let here = &b[at..];
        // The key, a key the spec defines known by its first letter and then its spelling with
        // the `=`, and the width the writer gives its value (`usize::MAX`: a width of its own).
        let known = |name: &[u8], width: usize| {
            here.strip_prefix(name)?
                .first()
                .filter(|&&c| c == b'=')
                .map(|_| (name.len(), width))
        };
        let (k, width) = match here.first() {
            Some(b'c') => known(b"ca_date", 10)
                .or_else(|| known(b"cutover", 25))
                .or_else(|| known(b"current", 4)),
            Some(b'a') => known(b"account", usize::MAX),
            Some(b'l') => known(b"losing", 4),
            Some(b'e') => known(b"effective", 25),
            Some(b's') => known(b"status", 1),
            Some(b'f') => known(b"file_seq", usize::MAX),
            _ => None,
        }
        .map_or_else(
            || {
                // Up to the first `=`; a `;` or the end first is no `key=value`.
                let k = here.iter().position(|&c| c == b'=' || c == b';')?;
                (here[k] == b'=').then_some((k, usize::MAX))
            },
            Some,
        )?;
        let key = &here[..k];
        let rest = &here[k + 1..];
        // Where the value ends at the writer's width, it is not searched for its end. Each of
        // these values' readings refuses a `;`, so a value that is in truth shorter is refused,
        // not misread.
        let len = if rest.len() == width || rest.get(width) == Some(&b';') {
            width
        } else {
            rest.iter().position(|&c| c == b';').unwrap_or(rest.len())
        };
        set_written(&mut d, key, &rest[..len])?;
        at += k + 1 + len;
        if at == b.len() {
            return Some(d);
        }
        // The `;` after the value.
        at += 1;
    }
}

/// Sets one `key=value` of a detail in the writer's form from its bytes: a key the spec defines
/// read by its value's own reading, any other key as text; `None` where the general reading
/// ([`Detail::set`]) might answer otherwise, which then reads it. No value this takes holds a `;`
/// (each typed reading refuses it, and the text values are checked), as [`Detail::set`] refuses.
fn set_written(d: &mut Detail, key: &[u8], value: &[u8]) -> Option<()> {
    let text = |v: &[u8]| {
        if memchr::memchr(b';', v).is_some() {
            return None;
        }
        std::str::from_utf8(v).ok().map(str::to_owned)
    };
    match key {
        b"ca_date" => d.ca_date = Some(crate::time::written_date(value)?),
        b"account" => d.set_account(Some(text(value)?)),
        b"cutover" => d.cutover = Some(Timestamp::from_written(value)?),
        b"current" => d.current = Some(CarrierCode::from_digits(value).ok()?),
        b"losing" => d.losing = Some(CarrierCode::from_digits(value).ok()?),
        b"effective" => d.effective = Some(Timestamp::from_written(value)?),
        b"status" => {
            let &[c] = value else { return None };
            d.status = Some(PortStatus::from_char(char::from(c))?);
        }
        b"file_seq" => {
            if value.is_empty() || value.len() > 9 || !value.iter().all(u8::is_ascii_digit) {
                return None;
            }
            d.file_seq = Some(value.iter().fold(0u32, |v, c| v * 10 + u32::from(c - b'0')));
        }
        _ => {
            let spaced = |c: Option<&u8>| c.is_none_or(|c| c.is_ascii_whitespace() || !c.is_ascii());
            if spaced(key.first()) || spaced(key.last()) {
                return None;
            }
            let key = std::str::from_utf8(key).ok()?;
            d.set(key, std::str::from_utf8(value).ok()?).ok()?;
        }
    }
    Some(())
}

/// Where a row is not UTF-8: the field (1-based) and the byte offset in it.
fn not_utf8<'a>(fields: impl Iterator<Item = &'a [u8]>) -> String {
    for (i, f) in fields.enumerate() {
        if let Err(e) = std::str::from_utf8(f) {
            return format!(
                "not valid UTF-8: field {} (byte {} of it, 0x{:02x})",
                i + 1,
                e.valid_up_to() + 1,
                f.get(e.valid_up_to()).copied().unwrap_or(0)
            );
        }
    }
    "not valid UTF-8".into()
}

/// Numbers each written as its ten digits, as [`TelephoneNumber::from_written_digits`] reads
/// them: `None` if any is not.
fn written_numbers<'a>(written: impl Iterator<Item = &'a [u8]>) -> Option<Numbers> {
    written.map(TelephoneNumber::from_written_digits).collect()
}

/// The text fields of one row, in [`COLUMNS`] order (absent ones empty).
type Fields<'a> = [&'a str; 10];

/// The record of a well-formed row in the form the writer emits, read without the general
/// parsers: no field with surrounding spaces, `seq` plain digits, the time in the writer's
/// RFC 3339 form, each number ten digits, the code empty or at least three characters. `None`
/// for any other row and for any row that is not well-formed: the general path reads those and
/// gives their errors. Where this answers, the general path gives the same record
/// (`trace::tests::fast_and_careful_readers_agree`); `detail` is taken only then.
///
/// The fields are bytes, so that a row split where it lies ([`split_written`]) is read without
/// validating its UTF-8 first: every field this reads as text is checked here, and the others are
/// read only if they are ASCII digits and separators.
fn fast_record(
    fields: &[&[u8]; 10],
    numbers: Option<Numbers>,
    detail: &mut Option<Detail>,
    times: &mut TimeCache,
) -> Option<TraceRecord> {
    let [seq_s, time_s, from_s, to_s, msg_s, ref_s, cat_s, numbers_s, code_s, detail_s] = *fields;
    if seq_s.is_empty() || seq_s.len() > 19 || !seq_s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let seq = seq_s.iter().fold(0u64, |v, b| v * 10 + u64::from(b - b'0'));
    let time = times.read(time_s).filter(|t| t.in_range())?;
    let from = CarrierCode::from_digits(from_s).ok()?;
    let to = if to_s.is_empty() {
        None
    } else {
        Some(CarrierCode::from_digits(to_s).ok()?)
    };
    let kind = MsgKind::from_keyword(msg_s)?;
    if kind.is_action() == to.is_some() {
        return None;
    }
    let port_ref = if ref_s.is_empty() {
        None
    } else {
        Some(PortRef::from_ascii(ref_s)?)
    };
    let category = match cat_s {
        b"" => None,
        b"A" => Some(Category::A),
        b"C" => Some(Category::C),
        b"D" => Some(Category::D),
        _ => return None,
    };
    let numbers = match numbers {
        Some(listed) => listed,
        None if numbers_s.is_empty() => Numbers::new(),
        None if numbers_s.len() == 10 => Numbers::from_slice(&[TelephoneNumber::from_written_digits(numbers_s)?]),
        None => written_numbers(numbers_s.split(|&b| b == b';'))?,
    };
    let code = match code_s.len() {
        0 => Code::None,
        // A short code is padded to three digits by the general path.
        1 | 2 => return None,
        n => {
            let code_s = std::str::from_utf8(code_s).ok()?;
            if code_s.trim().len() != n {
                return None;
            }
            code_s.parse().ok()?
        }
    };
    let detail = match detail.take() {
        Some(d) => d,
        None if detail_s.is_empty() => Detail::default(),
        None => fast_detail(detail_s)?,
    };
    Some(TraceRecord {
        seq,
        time,
        from,
        to,
        message: Message {
            kind,
            port_ref,
            category,
            numbers,
            code,
            detail,
        },
    })
}

/// The time of the last second read in the writer's form: the rows of one second differ only in
/// their fraction, and the date, time of day and offset need only be read once for them.
#[derive(Default)]
struct TimeCache {
    /// `YYYY-MM-DDTHH:MM:SS` and the offset `+HH:MM` of the last time read, and what
    /// [`fast_rfc3339`] read them as.
    last: Option<([u8; 25], Option<Timestamp>)>,
}

impl TimeCache {
    /// What [`fast_rfc3339`] reads `text` as.
    fn read(&mut self, text: &[u8]) -> Option<Timestamp> {
        let ms = match text.len() {
            25 => 0,
            29 if text[19] == b'.' && text[20..23].iter().all(u8::is_ascii_digit) => {
                text[20..23].iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0'))
            }
            _ => return fast_rfc3339(text),
        };
        let mut key = [0u8; 25];
        key[..19].copy_from_slice(&text[..19]);
        key[19..].copy_from_slice(&text[text.len() - 6..]);
        let second = match &self.last {
            Some((k, t)) if *k == key => *t,
            _ => {
                let t = fast_rfc3339(&key);
                self.last = Some((key, t));
                t
            }
        };
        // `fast_rfc3339` reads the fraction's first three digits as milliseconds, added to the
        // second's instant.
        second.map(|t| Timestamp::from_millis(t.millis() + ms))
    }
}

/// Builds a record from its ten text fields (shared by both encodings). `numbers` and `detail`,
/// when given, are a JSON Lines row's array and object, and stand for those two fields' text.
/// With `fast` (the reader's time cache), a row in the writer's form is read by
/// [`fast_record`].
fn record_from_fields(
    line: u64,
    fields: &Fields<'_>,
    numbers: Option<Vec<&str>>,
    detail: Option<Detail>,
    assume_sydney: bool,
    fast: Option<&mut TimeCache>,
) -> Result<TraceRecord, RowError> {
    let mut detail = detail;
    if let Some(times) = fast {
        // An array of numbers the fast reading does not take leaves the row to the general one.
        let listed = numbers
            .as_deref()
            .map(|list| written_numbers(list.iter().map(|n| n.as_bytes())));
        if listed.as_ref().is_none_or(Option::is_some) {
            if let Some(r) = fast_record(&fields.map(str::as_bytes), listed.flatten(), &mut detail, times) {
                return Ok(r);
            }
        }
    }
    record_from_fields_strict(line, fields, numbers.as_deref(), detail, assume_sydney).map_err(|mut e| {
        // What can still be read of a bad row: its `ref` and numbers, so that the audit can
        // withhold that port instead of judging it on incomplete evidence.
        let (port_ref, from_field) = salvaged(Some(fields[5]), numbers.is_none().then_some(fields[7]));
        e.port_ref = port_ref;
        e.numbers = match numbers {
            Some(list) => list.into_iter().filter_map(|n| parse_number(n).ok()).collect(),
            None => from_field,
        };
        e
    })
}

fn record_from_fields_strict(
    line: u64,
    fields: &Fields<'_>,
    numbers: Option<&[&str]>,
    detail: Option<Detail>,
    assume_sydney: bool,
) -> Result<TraceRecord, RowError> {
    let [seq_s, time_s, from_s, to_s, msg_s, ref_s, cat_s, numbers_s, code_s, detail_s] = *fields;
    let seq: u64 = seq_s
        .trim()
        .parse()
        .map_err(|_| row_err(line, "seq", format!("{seq_s:?} is not a sequence number")))?;
    let time = row_time(line, time_s, assume_sydney)?;
    let from: CarrierCode = from_s
        .trim()
        .parse()
        .map_err(|e| row_err(line, "from", format!("{e}")))?;
    let to = if to_s.trim().is_empty() {
        None
    } else {
        Some(
            to_s.trim()
                .parse::<CarrierCode>()
                .map_err(|e| row_err(line, "to", format!("{e}")))?,
        )
    };
    let kind: MsgKind = msg_s.trim().parse().map_err(|e| row_err(line, "msg", format!("{e}")))?;
    if kind.is_action() && to.is_some() {
        return Err(row_err(line, "to", format!("{kind} is an action: `to` must be empty")));
    }
    if !kind.is_action() && to.is_none() {
        return Err(row_err(
            line,
            "to",
            format!("{kind} is a message: `to` names the receiver"),
        ));
    }
    let port_ref = if ref_s.trim().is_empty() {
        None
    } else {
        Some(
            ref_s
                .trim()
                .parse::<PortRef>()
                .map_err(|e| row_err(line, "ref", format!("{e}")))?,
        )
    };
    let category = if cat_s.trim().is_empty() {
        None
    } else {
        Some(
            cat_s
                .trim()
                .parse::<Category>()
                .map_err(|e| row_err(line, "category", format!("{e}")))?,
        )
    };
    let numbers = match numbers {
        Some(list) => list
            .iter()
            .map(|n| parse_number(n))
            .collect::<Result<Numbers, _>>()
            .map_err(|e| row_err(line, "numbers", format!("{e}")))?,
        None => csv_numbers(numbers_s)
            .map_err(|e| row_err(line, "numbers", format!("{e}")))?
            .into(),
    };
    // A whole-message reject code written with fewer than three digits (`3`) is its three-digit
    // form (`003`); PNV codes (`PNV_RESPONSE`, `CNA_REJECT`) are one digit by nature.
    let code_text = code_s.trim();
    let short = (1..=2).contains(&code_text.len()) && code_text.bytes().all(|b| b.is_ascii_digit());
    let padded;
    let code_s = if short && !matches!(kind, MsgKind::PnvResponse | MsgKind::CnaReject) {
        padded = format!("{code_text:0>3}");
        padded.as_str()
    } else {
        code_s
    };
    let code: Code = code_s.parse().map_err(|e| row_err(line, "code", format!("{e}")))?;
    let detail = match detail {
        Some(d) => d,
        None => Detail::parse(detail_s).map_err(|e| row_err(line, "detail", format!("{e}")))?,
    };
    Ok(TraceRecord {
        seq,
        time,
        from,
        to,
        message: Message {
            kind,
            port_ref,
            category,
            numbers,
            code,
            detail,
        },
    })
}

/// Where each of [`COLUMNS`] is in the header, and how many columns it has.
fn header_index(headers: &csv::StringRecord) -> Result<([usize; 10], usize), TraceError> {
    if headers.is_empty() {
        return Err(TraceError::Header("the file is empty: no header and no rows".into()));
    }
    let mut index = [usize::MAX; 10];
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim_start_matches('\u{feff}').trim();
        match COLUMNS.iter().position(|c| *c == h) {
            Some(pos) if index[pos] == usize::MAX => index[pos] = i,
            Some(_) => return Err(TraceError::Header(format!("column {h:?} appears twice"))),
            // A column the format does not define is kept and ignored (rules.md,
            // "Reading a carrier's log").
            None => {}
        }
    }
    if let Some(missing) = COLUMNS.iter().zip(index).find(|(_, i)| *i == usize::MAX) {
        return Err(TraceError::Header(format!(
            "missing column {:?}; the columns are {}",
            missing.0,
            COLUMNS.join(",")
        )));
    }
    Ok((index, headers.len()))
}

/// Counts the line breaks in `bytes` (a LF, a CR, or a CRLF is one), read just after a CR
/// when `after_cr` is set; leaves `after_cr` set when the last byte is a CR, so that a LF
/// read next completes that break rather than making another.
fn line_breaks(bytes: &[u8], after_cr: &mut bool) -> u64 {
    let mut n = 0;
    for &b in bytes {
        n += u64::from(b == b'\r' || (b == b'\n' && !*after_cr));
        *after_cr = b == b'\r';
    }
    n
}

/// The rows of a CSV trace, split as the `csv` crate's reader splits them with the defaults the
/// trace uses (`,` between fields, `"` quoting with doubled quotes inside, CR, LF or CRLF ending
/// a row, empty lines skipped), each with the line it begins on.
///
/// A row on a line of its own that has no quote (the writer's form) is split at its commas where
/// it lies in the buffer, without copying. Any other row is read by `csv_core`, the `csv` crate's
/// own tokenizer, from the same point. Lines are counted by [`line_breaks`]: a carriage return
/// ends a row, and a line feed right after it is read with the next row, as an empty line that
/// ends no further line.
struct CsvRows<R> {
    src: R,
    buf: Vec<u8>,
    /// The unread bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
    /// The source is exhausted.
    eof: bool,
    core: Box<csv_core::Reader>,
    /// The line the next byte is on: 1 + the line breaks read.
    line: u64,
    /// The last byte read is a carriage return.
    after_cr: bool,
    /// The current row: a line of `buf` (its fields separated by one comma each) or, for a row
    /// `csv_core` read, `slow` (its fields back to back).
    row: RowAt,
    slow: Vec<u8>,
    /// The end of each field of the current row, in the row's bytes.
    ends: Vec<usize>,
    /// The current row is a line of `buf` whose `ends` are not yet found ([`CsvRows::split_row`]).
    unsplit: bool,
}

#[derive(Clone, Copy)]
enum RowAt {
    Buf(usize, usize),
    Slow,
}

impl<R: BufRead> CsvRows<R> {
    const BUFFER: usize = 1 << 18;

    fn new(src: R) -> Self {
        Self {
            src,
            buf: vec![0; Self::BUFFER],
            pos: 0,
            end: 0,
            eof: false,
            core: Box::new(csv_core::Reader::new()),
            line: 1,
            after_cr: false,
            row: RowAt::Slow,
            slow: Vec::new(),
            ends: Vec::new(),
            unsplit: false,
        }
    }

    /// How many fields the current row has.
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The current row's bytes.
    fn bytes(&self) -> &[u8] {
        match self.row {
            RowAt::Buf(a, b) => &self.buf[a..b],
            RowAt::Slow => &self.slow,
        }
    }

    /// Where field `i` of the current row lies in [`CsvRows::bytes`].
    fn range(&self, i: usize) -> std::ops::Range<usize> {
        let gap = usize::from(matches!(self.row, RowAt::Buf(..)));
        let start = if i == 0 { 0 } else { self.ends[i - 1] + gap };
        start..self.ends[i]
    }

    fn field(&self, i: usize) -> &[u8] {
        &self.bytes()[self.range(i)]
    }

    /// Reads more of the source, keeping the unread bytes.
    fn fill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.src.read(&mut self.buf[self.end..])?;
        self.eof = n == 0;
        self.end += n;
        Ok(())
    }

    /// Reads the next row; `None` at the end of the file. Gives the line the row begins on:
    /// empty lines before it skipped, and a CRLF's line feed, read with the row after it, not
    /// counted again.
    fn read_row(&mut self) -> io::Result<Option<u64>> {
        let line = self.read_row_unsplit()?;
        self.split_row();
        Ok(line)
    }

    /// Finds the fields of the current row, if [`CsvRows::read_row_unsplit`] read it.
    fn split_row(&mut self) {
        if let (true, RowAt::Buf(a, b)) = (self.unsplit, self.row) {
            self.unsplit = false;
            self.ends.clear();
            positions_of(b',', &self.buf[a..b], &mut self.ends);
            self.ends.push(b - a);
        }
    }

    /// As [`CsvRows::read_row`], but a row that lies in the buffer is left for
    /// [`CsvRows::split_row`] to split, or for its bytes to be read whole.
    fn read_row_unsplit(&mut self) -> io::Result<Option<u64>> {
        self.unsplit = false;
        loop {
            let unread = &self.buf[self.pos..self.end];
            match memchr::memchr3(b'\n', b'\r', b'"', unread) {
                Some(k) if unread[k] != b'"' => {
                    let (a, b) = (self.pos, self.pos + k);
                    let line = self.line;
                    // The bytes before `k` are neither CR nor LF.
                    self.after_cr &= k == 0;
                    self.line += line_breaks(&unread[k..=k], &mut self.after_cr);
                    self.pos = b + 1;
                    if a < b {
                        self.lay(a, b);
                        return Ok(Some(line));
                    }
                    // An empty line (or the line feed of a CRLF): skipped.
                }
                Some(_) => return self.read_slow(self.line),
                None if self.eof => {
                    if unread.is_empty() {
                        return Ok(None);
                    }
                    let (a, b) = (self.pos, self.end);
                    self.pos = b;
                    self.lay(a, b);
                    return Ok(Some(self.line));
                }
                None => self.fill()?,
            }
        }
    }

    /// The row `buf[a..b]`, which has no quote and no line end: its fields end at its commas.
    fn lay(&mut self, a: usize, b: usize) {
        self.row = RowAt::Buf(a, b);
        self.unsplit = true;
    }

    /// The current row's ten fields in the writer's column order, if it lies in the buffer and
    /// has exactly ten.
    fn written_fields(&self) -> Option<[&[u8]; 10]> {
        match self.row {
            RowAt::Buf(a, b) => split_written(&self.buf[a..b]),
            RowAt::Slow => None,
        }
    }

    /// Reads a row with `csv_core`, as the `csv` crate's reader does.
    fn read_slow(&mut self, start_line: u64) -> io::Result<Option<u64>> {
        use csv_core::ReadRecordResult as Res;
        self.core.reset();
        self.row = RowAt::Slow;
        let cap = self.slow.capacity().max(256);
        self.slow.resize(cap, 0);
        let cap = self.ends.capacity().max(16);
        self.ends.resize(cap, 0);
        let (mut outlen, mut endlen) = (0, 0);
        loop {
            let input = &self.buf[self.pos..self.end];
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.slow[outlen..], &mut self.ends[endlen..]);
            self.line += line_breaks(&input[..nin], &mut self.after_cr);
            self.pos += nin;
            outlen += nout;
            endlen += nend;
            match res {
                Res::InputEmpty => {
                    if !self.eof {
                        self.fill()?;
                    }
                }
                Res::OutputFull => self.slow.resize(self.slow.len() * 2, 0),
                Res::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                Res::Record | Res::End => {
                    self.slow.truncate(outlen);
                    self.ends.truncate(endlen);
                    return Ok(matches!(res, Res::Record).then_some(start_line));
                }
            }
        }
    }
}

/// The careful reader's source: it keeps the bytes `csv` has read and not yet placed, so that a
/// row's line can be found. `csv` gives a row the position where its read began, before the
/// empty lines it skips, and counts line feeds only; the line breaks before a row's first byte
/// are counted here instead, as the fast reader counts them ([`line_breaks`]).
struct Kept<R> {
    src: R,
    bytes: Vec<u8>,
    /// Where `bytes` begins in the file.
    start: u64,
    /// The line breaks before `start`, and whether the byte before it is a CR.
    breaks: u64,
    after_cr: bool,
}

impl<R> Kept<R> {
    fn new(src: R) -> Self {
        Self {
            src,
            bytes: Vec::new(),
            start: 0,
            breaks: 0,
            after_cr: false,
        }
    }

    /// The line the row whose read began at `at` begins on; the bytes before `at` are dropped.
    fn row_line(&mut self, at: &csv::Position) -> u64 {
        let from = usize::try_from(at.byte().saturating_sub(self.start)).unwrap_or(usize::MAX);
        let from = from.min(self.bytes.len());
        self.breaks += line_breaks(&self.bytes[..from], &mut self.after_cr);
        self.bytes.drain(..from);
        self.start = at.byte();
        // The empty lines `csv` skipped before the row.
        let skipped = self.bytes.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
        let mut after_cr = self.after_cr;
        1 + self.breaks + line_breaks(&self.bytes[..skipped], &mut after_cr)
    }
}

impl<R: io::Read> io::Read for Kept<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.src.read(buf)?;
        self.bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Streaming reader over either encoding.
pub struct TraceReader<R: BufRead> {
    inner: Inner<R>,
    /// Only the general path: no fast path for well-formed rows ([`TraceReader::careful`]).
    careful: bool,
    /// Set after an I/O error: nothing more can be read.
    done: bool,
    /// Read times without an offset as Sydney local time (`--assume-offset sydney`).
    assume_sydney: bool,
    /// The fast path's last second.
    times: TimeCache,
    /// The line the row last read begins on.
    line: u64,
}

enum Inner<R: BufRead> {
    Csv {
        rows: CsvRows<R>,
        /// Where each of [`COLUMNS`] is in a row.
        index: [usize; 10],
        /// How many fields a row has: the header's columns, with any the format does not define.
        width: usize,
        /// The header is the writer's: [`COLUMNS`] in order, and no other.
        written: bool,
    },
    /// CSV read by the `csv` crate's reader ([`TraceReader::careful`]).
    CsvCareful {
        rdr: csv::Reader<Kept<R>>,
        /// Where each of [`COLUMNS`] is in a row.
        index: [usize; 10],
        /// How many fields a row has: the header's columns, with any the format does not define.
        width: usize,
        record: csv::ByteRecord,
    },
    /// JSON Lines, its lines counted in [`TraceReader::line`].
    Jsonl { src: R, buf: Vec<u8> },
}

impl<R: BufRead> TraceReader<R> {
    /// Opens a reader. For CSV the header row is read and checked here.
    pub fn new(src: R, format: TraceFormat) -> Result<Self, TraceError> {
        let inner = match format {
            TraceFormat::Csv => {
                let mut rows = CsvRows::new(src);
                let mut header = csv::ByteRecord::new();
                if rows.read_row()?.is_some() {
                    for i in 0..rows.len() {
                        header.push_field(rows.field(i));
                    }
                }
                // Validated as `csv::Reader::headers` does it.
                let header = csv::StringRecord::from_byte_record(header).map_err(|e| {
                    let err = e.utf8_error();
                    TraceError::Header(format!(
                        "not valid UTF-8 in column {} after its first {} bytes",
                        err.field() + 1,
                        err.valid_up_to()
                    ))
                })?;
                let (index, width) = header_index(&header)?;
                let written = width == COLUMNS.len() && index.iter().enumerate().all(|(i, &at)| i == at);
                Inner::Csv {
                    rows,
                    index,
                    width,
                    written,
                }
            }
            TraceFormat::Jsonl => Inner::Jsonl { src, buf: Vec::new() },
        };
        Ok(Self {
            inner,
            careful: false,
            done: false,
            assume_sydney: false,
            times: TimeCache::default(),
            line: 0,
        })
    }

    /// Opens a reader that reads every row by the general path only: CSV with the `csv` crate's
    /// reader, each field by its general parser, JSON Lines through a full JSON parse. It reads
    /// what [`TraceReader::new`] reads, the same records and the same errors, more slowly; it is
    /// the reference the fast paths are tested against.
    pub fn careful(src: R, format: TraceFormat) -> Result<Self, TraceError> {
        let inner = match format {
            TraceFormat::Csv => {
                let mut rdr = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(true)
                    .from_reader(Kept::new(src));
                let headers = rdr.headers().map_err(|e| {
                    let text = e.to_string();
                    match e.into_kind() {
                        csv::ErrorKind::Io(io) => TraceError::Io(io),
                        csv::ErrorKind::Utf8 { err, .. } => TraceError::Header(format!(
                            "not valid UTF-8 in column {} after its first {} bytes",
                            err.field() + 1,
                            err.valid_up_to()
                        )),
                        _ => TraceError::Header(text),
                    }
                })?;
                let (index, width) = header_index(headers)?;
                Inner::CsvCareful {
                    width,
                    rdr,
                    index,
                    record: csv::ByteRecord::new(),
                }
            }
            TraceFormat::Jsonl => Inner::Jsonl { src, buf: Vec::new() },
        };
        Ok(Self {
            inner,
            careful: true,
            done: false,
            assume_sydney: false,
            times: TimeCache::default(),
            line: 0,
        })
    }

    /// Reads times without an offset as Sydney local time (`--assume-offset sydney`) instead of
    /// refusing those rows.
    #[must_use]
    pub fn assume_sydney(mut self, yes: bool) -> Self {
        self.assume_sydney = yes;
        self
    }

    /// The line the row last read begins on (0 before the first): empty lines before it are not
    /// its own, and a CRLF's line feed is counted before the row after it.
    pub fn line(&self) -> u64 {
        self.line
    }
}

/// A JSON Lines row's fields, by column, as they were written. What the reader must refuse is
/// noted, never resolved: `serde_json`'s own map would keep the last of two equal keys.
#[derive(Default)]
struct JsonRow {
    values: [Option<Value>; 10],
    /// The first key that appears twice: the row's field, and the key inside it for `detail`.
    duplicate: Option<(String, Option<String>)>,
    /// The first field that is not one of [`COLUMNS`].
    unknown: Option<String>,
}

impl JsonRow {
    fn parse(text: &str) -> Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let row = serde::Deserializer::deserialize_map(&mut de, RowVisitor)?;
        de.end()?;
        Ok(row)
    }
}

/// Reads a row's top-level object into [`JsonRow`]. Keys are matched as CSV's header names are,
/// spaces around them ignored.
struct RowVisitor;

impl<'de> serde::de::Visitor<'de> for RowVisitor {
    type Value = JsonRow;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonRow, A::Error> {
        let mut row = JsonRow::default();
        let mut unknown = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let name = key.trim();
            if let Some(i) = COLUMNS.iter().position(|c| *c == name) {
                let mut inner = None;
                let value = map.next_value_seed(JsonValue(&mut inner))?;
                if row.values[i].is_some() {
                    row.duplicate.get_or_insert((COLUMNS[i].into(), None));
                } else if let Some(k) = inner.filter(|_| COLUMNS[i] == "detail") {
                    row.duplicate.get_or_insert(("detail".into(), Some(k)));
                }
                row.values[i] = Some(value);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
                if !unknown.insert(name.to_owned()) {
                    row.duplicate.get_or_insert((name.into(), None));
                }
                row.unknown.get_or_insert_with(|| name.into());
            }
        }
        Ok(row)
    }
}

/// Reads any JSON value, noting in `.0` the first key that appears twice in an object it reads
/// (keys compared without surrounding spaces, as `Detail::parse` trims them). Only the object's own
/// keys are noted: a value nested deeper is refused for its type.
struct JsonValue<'a>(&'a mut Option<String>);

impl<'de> serde::de::DeserializeSeed<'de> for JsonValue<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(JsonValue(&mut None))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = serde_json::Map::new();
        let mut trimmed = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(JsonValue(&mut None))?;
            if !trimmed.insert(key.trim().to_owned()) && self.0.is_none() {
                *self.0 = Some(key.trim().into());
            }
            obj.insert(key, value);
        }
        Ok(Value::Object(obj))
    }
}

/// A JSON value's type (and a scalar's value), for an error message.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A JSON Lines row. Every value is read as the text the same field has in CSV, so that both
/// encodings mean the same (`trace-format.md`, "Two encodings"): a string is that text, null an
/// empty field; `seq` may be a number, `numbers` an array of strings (one number each) and
/// `detail` an object of string values. Any other type is refused, naming the field: nothing is
/// guessed from it (a number cannot tell the code `003` from `3`, nor keep a leading zero).
fn jsonl_record(
    line: u64,
    text: &str,
    assume_sydney: bool,
    fast: Option<&mut TimeCache>,
) -> Result<TraceRecord, RowError> {
    jsonl_record_strict(line, text, assume_sydney, fast).map_err(|mut e| {
        // What can still be read of a bad row (see `record_from_fields`).
        if e.port_ref.is_none() && e.numbers.is_empty() {
            if let Ok(row) = JsonRow::parse(text) {
                if let Some(Value::String(r)) = &row.values[5] {
                    e.port_ref = r.trim().parse().ok();
                }
                e.numbers = match &row.values[7] {
                    Some(Value::String(n)) => csv_numbers(n).unwrap_or_default(),
                    Some(Value::Array(items)) => items
                        .iter()
                        .filter_map(|v| v.as_str().and_then(|n| parse_number(n).ok()))
                        .collect(),
                    _ => Vec::new(),
                };
            }
        }
        e
    })
}

fn jsonl_record_strict(
    line: u64,
    text: &str,
    assume_sydney: bool,
    mut fast: Option<&mut TimeCache>,
) -> Result<TraceRecord, RowError> {
    if let Some(times) = fast.as_deref_mut() {
        if let Some((fields, numbers, mut detail)) = fast_jsonl(text.as_bytes()) {
            if let Some(r) = fast_record(&fields, numbers, &mut detail, times) {
                return Ok(r);
            }
        }
    }
    let row = JsonRow::parse(text).map_err(|e| {
        let (port_ref, numbers) = salvaged_jsonl(text.as_bytes());
        RowError {
            line,
            column: None,
            message: json_error(&e),
            port_ref,
            numbers,
        }
    })?;
    if let Some((field, key)) = &row.duplicate {
        let message = match key {
            None => format!("the field {field:?} appears twice in the object"),
            Some(k) => format!("the key {k:?} appears twice"),
        };
        return Err(row_err(line, field, message));
    }
    if let Some(unknown) = &row.unknown {
        // As a misspelt CSV column is a missing one: a field left out is read as empty only when
        // no unknown field could be it misspelt.
        if let Some(i) = row.values.iter().position(Option::is_none) {
            return Err(row_err(
                line,
                COLUMNS[i],
                format!(
                    "missing, and the row has the unknown field {unknown:?} (misspelt?); give the field, as null if it is empty"
                ),
            ));
        }
    }
    let mut fields: Fields<'_> = [""; 10];
    let mut seq_text = None;
    let mut numbers = None;
    let mut detail = None;
    for (i, (name, value)) in COLUMNS.iter().zip(&row.values).enumerate() {
        let Some(value) = value else { continue };
        match (*name, value) {
            (_, Value::Null) => {}
            (_, Value::String(s)) => fields[i] = s,
            ("seq", Value::Number(n)) => seq_text = Some(n.to_string()),
            ("numbers", Value::Array(items)) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    let Value::String(s) = item else {
                        return Err(row_err(
                            line,
                            name,
                            format!("expected strings in the array, found {}", describe(item)),
                        ));
                    };
                    list.push(s.as_str());
                }
                numbers = Some(list);
            }
            ("detail", Value::Object(map)) => {
                let mut d = Detail::default();
                for (k, v) in map {
                    let Value::String(s) = v else {
                        return Err(row_err(
                            line,
                            name,
                            format!("key {k:?}: expected a string, found {}", describe(v)),
                        ));
                    };
                    if k.contains(['=', ';']) {
                        return Err(row_err(
                            line,
                            name,
                            format!("key {k:?}: a key may not contain '=' or ';'"),
                        ));
                    }
                    d.set(k.trim(), s).map_err(|e| row_err(line, name, e.to_string()))?;
                }
                detail = Some(d);
            }
            (_, other) => {
                let expected = match *name {
                    "seq" => "a number or a string",
                    "numbers" => "an array of strings or a string",
                    "detail" => "an object or a string",
                    _ => "a string",
                };
                let hint = match (*name, other) {
                    ("code", Value::Number(_)) => " (a number cannot tell `003` from `3`)",
                    _ => "",
                };
                return Err(row_err(
                    line,
                    name,
                    format!("expected {expected}, found {}{hint}", describe(other)),
                ));
            }
        }
    }
    if let Some(seq) = &seq_text {
        fields[0] = seq;
    }
    record_from_fields(line, &fields, numbers, detail, assume_sydney, fast)
}

/// A JSON Lines row's fields' bytes, its numbers when an array, its detail when an object.
type JsonlParts<'a> = ([&'a [u8]; 10], Option<Numbers>, Option<Detail>);

/// Each column's name as one little-endian word, with the mask of its bytes: a JSON Lines key
/// is matched in one comparison (every name is at most eight bytes).
const COLUMN_WORDS: [(u64, u64); 10] = {
    let mut out = [(0u64, 0u64); 10];
    let mut i = 0;
    while i < COLUMNS.len() {
        let name = COLUMNS[i].as_bytes();
        assert!(name.len() <= 8);
        let mut j = 0;
        while j < name.len() {
            out[i].0 |= (name[j] as u64) << (8 * j);
            out[i].1 |= 0xff << (8 * j);
            j += 1;
        }
        i += 1;
    }
    out
};

/// Where a JSON string's text ends (its closing quote, as an offset into `rest`, which follows
/// the opening one), if it holds no escape and no control character: eight bytes at a time, the
/// last few one at a time.
fn plain_string_len(rest: &[u8]) -> Option<usize> {
    const HIGH3: u64 = 0xe0e0_e0e0_e0e0_e0e0;
    // A quote, a backslash or a control character (its top three bits clear).
    let stops = |word: [u8; 8]| {
        let control = byte_hits((u64::from_le_bytes(word) & HIGH3).to_le_bytes(), 0);
        byte_hits(word, b'"') | byte_hits(word, b'\\') | control
    };
    let (words, tail) = rest.as_chunks::<8>();
    for (i, word) in words.iter().enumerate() {
        let hits = stops(*word);
        if hits != 0 {
            let end = 8 * i + (hits.trailing_zeros() / 8) as usize;
            return (rest[end] == b'"').then_some(end);
        }
    }
    let base = rest.len() - tail.len();
    let end = base + tail.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    (rest[end] == b'"').then_some(end)
}

/// A JSON Lines row in the form the writer emits, split by hand from its bytes: one object, no
/// spaces between tokens, the ten fields in [`COLUMNS`] order and no other, each value a string
/// without escapes or control characters or `null`, `seq` also a plain integer, `numbers` also
/// an array of such strings, `detail` also an object of such strings whose keys are in
/// increasing order with no spaces around them and no `=` or `;`. The fields' bytes, the numbers
/// and the detail, as the general path ([`JsonRow`]) would give them; `None` for anything else,
/// which the general path then reads. As for CSV ([`fast_record`]), the bytes are not checked as
/// UTF-8 first: every field read as text is checked where it is read, and every other byte is
/// a token, a digit or a keyword matched exactly.
fn fast_jsonl(text: &[u8]) -> Option<JsonlParts<'_>> {
    struct Cursor<'a> {
        text: &'a [u8],
        pos: usize,
    }
    impl<'a> Cursor<'a> {
        fn eat(&mut self, token: &[u8]) -> Option<()> {
            let end = self.pos + token.len();
            (self.text.get(self.pos..end)? == token).then(|| self.pos = end)
        }
        fn peek(&self) -> Option<u8> {
            self.text.get(self.pos).copied()
        }
        /// The name of column `i`, as one word where eight bytes follow.
        fn name(&mut self, i: usize) -> Option<()> {
            let name = COLUMNS[i].as_bytes();
            match self.text.get(self.pos..).and_then(<[u8]>::first_chunk::<8>) {
                Some(&eight) => {
                    let (word, mask) = COLUMN_WORDS[i];
                    (u64::from_le_bytes(eight) & mask == word).then(|| self.pos += name.len())
                }
                None => self.eat(name),
            }
        }
        /// A string without escapes or control characters, from its opening quote.
        fn string(&mut self) -> Option<&'a [u8]> {
            self.eat(b"\"")?;
            let rest = self.text.get(self.pos..)?;
            let len = plain_string_len(rest)?;
            self.pos += len + 1;
            Some(&rest[..len])
        }
        /// A string, or `null` for an empty field.
        fn text_or_null(&mut self) -> Option<&'a [u8]> {
            if self.peek() == Some(b'n') {
                self.eat(b"null").map(|()| &[][..])
            } else {
                self.string()
            }
        }
    }
    let mut c = Cursor { text, pos: 0 };
    let mut fields: [&[u8]; 10] = [&[]; 10];
    let mut numbers = None;
    let mut detail = None;
    c.eat(b"{")?;
    for i in 0..COLUMNS.len() {
        if i > 0 {
            c.eat(b",")?;
        }
        c.eat(b"\"")?;
        c.name(i)?;
        c.eat(b"\":")?;
        match (i, c.peek()?) {
            (0, b'0'..=b'9') => {
                let rest = &text[c.pos..];
                let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                // JSON allows no leading zero; longer integers may not fit in a u64.
                if len > 19 || (len > 1 && rest[0] == b'0') || rest.get(len) != Some(&b',') {
                    return None;
                }
                fields[0] = &rest[..len];
                c.pos += len;
            }
            (7, b'[') => {
                c.eat(b"[")?;
                let mut list = Numbers::new();
                if c.peek()? != b']' {
                    loop {
                        list.push(TelephoneNumber::from_written_digits(c.string()?)?);
                        if c.peek()? != b',' {
                            break;
                        }
                        c.eat(b",")?;
                    }
                }
                c.eat(b"]")?;
                numbers = Some(list);
            }
            (9, b'{') => {
                c.eat(b"{")?;
                let mut d = Detail::default();
                let mut last: Option<&[u8]> = None;
                if c.peek()? != b'}' {
                    loop {
                        let key = c.string()?;
                        c.eat(b":")?;
                        let value = c.string()?;
                        // Increasing keys: no two alike, and the order the general path's map
                        // sets them in.
                        if key.contains(&b'=') || key.contains(&b';') || last.is_some_and(|l| l >= key) {
                            return None;
                        }
                        set_written(&mut d, key, value)?;
                        last = Some(key);
                        if c.peek()? != b',' {
                            break;
                        }
                        c.eat(b",")?;
                    }
                }
                c.eat(b"}")?;
                detail = Some(d);
            }
            _ => fields[i] = c.text_or_null()?,
        }
    }
    c.eat(b"}")?;
    (c.pos == text.len()).then_some((fields, numbers, detail))
}

/// A CSV row's fields in the trace's column order, from a row of `len` fields whose `i`th is
/// `text(i)`: `Ok(None)` for a blank line (skipped), an error for a row of the wrong width.
fn row_fields<'t>(
    line: u64,
    len: usize,
    width: usize,
    index: &[usize; 10],
    text: impl Fn(usize) -> Option<&'t str>,
) -> Result<Option<Fields<'t>>, RowError> {
    if len == 1 && text(0).is_some_and(|f| f.trim().is_empty()) {
        return Ok(None);
    }
    if len != width {
        return Err(RowError {
            line,
            column: None,
            message: format!("{len} fields, expected {width}"),
            port_ref: None,
            numbers: Vec::new(),
        });
    }
    let mut fields: Fields<'t> = [""; 10];
    for (f, i) in fields.iter_mut().zip(index.iter()) {
        *f = text(*i).unwrap_or_default();
    }
    Ok(Some(fields))
}

impl<R: BufRead> Iterator for TraceReader<R> {
    type Item = Result<TraceRecord, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match &mut self.inner {
            Inner::Csv {
                rows,
                index,
                width,
                written,
            } => loop {
                let line = match rows.read_row_unsplit() {
                    Ok(Some(line)) => {
                        self.line = line;
                        line
                    }
                    Ok(None) => return None,
                    Err(e) => {
                        // As the `csv` crate reports it: no position, and the reading stops.
                        self.done = true;
                        return Some(Err(RowError {
                            line: 0,
                            column: None,
                            message: e.to_string(),
                            port_ref: None,
                            numbers: Vec::new(),
                        }));
                    }
                };
                // A row in the writer's form is read from its bytes where they lie; any other row,
                // and any this does not read, as follows.
                if *written {
                    if let Some(r) = rows
                        .written_fields()
                        .and_then(|fields| fast_record(&fields, None, &mut None, &mut self.times))
                    {
                        return Some(Ok(r));
                    }
                }
                rows.split_row();
                let bytes = rows.bytes();
                // Validated as `csv::StringRecord` does it: the whole row if ASCII, else each
                // field (a row split where it lies, its fields separated by commas, is valid
                // exactly when each field is).
                let all = if matches!(rows.row, RowAt::Buf(..)) || bytes.is_ascii() {
                    std::str::from_utf8(bytes).ok()
                } else {
                    (0..rows.len())
                        .all(|i| std::str::from_utf8(rows.field(i)).is_ok())
                        .then(|| std::str::from_utf8(bytes).ok())
                        .flatten()
                };
                let Some(all) = all else {
                    let (port_ref, numbers) = salvaged_row(rows.len(), *width, index, |i| Some(rows.field(i)));
                    return Some(Err(RowError {
                        line,
                        column: None,
                        message: not_utf8((0..rows.len()).map(|i| rows.field(i))),
                        port_ref,
                        numbers,
                    }));
                };
                let fields = match row_fields(line, rows.len(), *width, index, |i| all.get(rows.range(i))) {
                    Ok(Some(fields)) => fields,
                    Ok(None) => continue,
                    Err(e) => return Some(Err(e)),
                };
                return Some(record_from_fields(
                    line,
                    &fields,
                    None,
                    None,
                    self.assume_sydney,
                    Some(&mut self.times),
                ));
            },
            Inner::CsvCareful {
                rdr,
                index,
                width,
                record,
            } => loop {
                let at = rdr.position().clone();
                let read = rdr.read_byte_record(record);
                let line = rdr.get_mut().row_line(&at);
                self.line = line;
                // Validated as `csv::StringRecord` does it: the whole row if ASCII, else each field.
                let utf8 = record.as_slice().is_ascii() || record.iter().all(|f| std::str::from_utf8(f).is_ok());
                match read {
                    Ok(false) => return None,
                    Ok(true) if !utf8 => {
                        let (port_ref, numbers) = salvaged_row(record.len(), *width, index, |i| record.get(i));
                        return Some(Err(RowError {
                            line,
                            column: None,
                            message: not_utf8(record.iter()),
                            port_ref,
                            numbers,
                        }));
                    }
                    Ok(true) => {
                        // Every field is UTF-8, so the whole row is, and each field's bounds are
                        // character boundaries in it.
                        let all = std::str::from_utf8(record.as_slice()).unwrap_or_default();
                        let text = |i: usize| record.range(i).and_then(|r| all.get(r));
                        let fields = match row_fields(line, record.len(), *width, index, text) {
                            Ok(Some(fields)) => fields,
                            Ok(None) => continue,
                            Err(e) => return Some(Err(e)),
                        };
                        return Some(record_from_fields(line, &fields, None, None, self.assume_sydney, None));
                    }
                    Err(e) => {
                        let line = e.position().map_or(0, csv::Position::line);
                        let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                        let err = RowError {
                            line,
                            column: None,
                            message: match e.kind() {
                                csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
                                _ => e.to_string(),
                            },
                            port_ref: None,
                            numbers: Vec::new(),
                        };
                        // After an I/O error reading cannot go on: report it once and stop.
                        self.done = fatal;
                        return Some(Err(err));
                    }
                }
            },
            Inner::Jsonl { src, buf } => loop {
                // A line in the writer's form, whole in the reader's buffer, is read where it
                // lies; any other line, and any this does not read, as follows.
                if !self.careful {
                    if let Ok(held) = src.fill_buf() {
                        if let Some(end) = memchr::memchr(b'\n', held) {
                            let read = fast_jsonl(&held[..end]).and_then(|(fields, numbers, mut detail)| {
                                fast_record(&fields, numbers, &mut detail, &mut self.times)
                            });
                            if let Some(r) = read {
                                src.consume(end + 1);
                                self.line += 1;
                                return Some(Ok(r));
                            }
                        }
                    }
                }
                buf.clear();
                self.line += 1;
                match src.read_until(b'\n', buf) {
                    Ok(0) => return None,
                    Ok(_) => {}
                    Err(e) => {
                        self.done = true;
                        return Some(Err(RowError {
                            line: self.line,
                            column: None,
                            message: format!("read error: {e}"),
                            port_ref: None,
                            numbers: Vec::new(),
                        }));
                    }
                }
                let Ok(text) = std::str::from_utf8(buf) else {
                    let (port_ref, numbers) = salvaged_jsonl(buf);
                    return Some(Err(RowError {
                        line: self.line,
                        column: None,
                        message: "not valid UTF-8".into(),
                        port_ref,
                        numbers,
                    }));
                };
                let text = text.trim_end_matches(['\n', '\r']);
                // A byte-order mark opens the file, not its first row (CSV's header drops it too).
                let text = if self.line == 1 {
                    text.strip_prefix('\u{feff}').unwrap_or(text)
                } else {
                    text
                };
                if text.trim().is_empty() {
                    continue;
                }
                let fast = (!self.careful).then_some(&mut self.times);
                return Some(jsonl_record(self.line, text, self.assume_sydney, fast));
            },
        }
    }
}

/// Writes records in either encoding. Fields are quoted only where CSV needs it.
pub struct TraceWriter<W: Write> {
    out: W,
    format: TraceFormat,
    line: String,
    header_written: bool,
    /// Sydney's offset for one UTC hour, in the years where offsets change only on hour
    /// boundaries.
    offset_cache: (i64, i32),
    /// The text of one second of local time, for rows of the same second.
    second: SecondText,
    /// The CSV `detail` field's text, before quoting.
    detail: String,
}

/// RFC 3339 text of one second at one offset, split around where a fraction of a second goes:
/// rows come in time order, many in the same second, and the date and time of day need only be
/// worked out once for them.
struct SecondText {
    /// The local second (seconds since the epoch, in local time) and the offset it is for.
    key: Option<(i64, i32)>,
    /// `2026-03-02T09:00:00+11:00`: the date and time (19 bytes), then the offset.
    text: String,
}

impl SecondText {
    fn new() -> Self {
        Self {
            key: None,
            text: String::with_capacity(32),
        }
    }

    /// Appends `t` as [`Timestamp::write_rfc3339_with_offset`] writes it.
    fn write(&mut self, t: Timestamp, offset_secs: i32, out: &mut String) {
        // Offsets that are not whole minutes are written in UTC; leave those, and any year
        // outside four digits, to the general writer.
        if offset_secs % 60 != 0 || !t.in_range() {
            t.write_rfc3339_with_offset(offset_secs, out);
            return;
        }
        let local_ms = t.millis() + i64::from(offset_secs) * 1000;
        let (second, ms) = (local_ms.div_euclid(1000), local_ms.rem_euclid(1000));
        if self.key != Some((second, offset_secs)) {
            self.text.clear();
            Timestamp::from_millis(t.millis() - ms).write_rfc3339_with_offset(offset_secs, &mut self.text);
            self.key = (self.text.len() == 25).then_some((second, offset_secs));
            if self.key.is_none() {
                t.write_rfc3339_with_offset(offset_secs, out);
                return;
            }
        }
        let (date_time, offset) = self.text.split_at(19);
        out.push_str(date_time);
        if ms != 0 {
            let ms = ms as u32;
            out.push('.');
            out.push(char::from(b'0' + (ms / 100) as u8));
            out.push(char::from(b'0' + (ms / 10 % 10) as u8));
            out.push(char::from(b'0' + (ms % 10) as u8));
        }
        out.push_str(offset);
    }
}

/// Appends `v` in decimal, as `write!(out, "{v}")` does, without the formatting machinery (the
/// trace writers and the load generator write millions).
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// Appends a carrier code as its `Display` writes it (four digits).
fn push_carrier(out: &mut String, c: CarrierCode) {
    if c.get() > 9999 {
        let _ = write!(out, "{c}");
        return;
    }
    let mut d = [0u8; 4];
    c.write_digits(&mut d);
    for b in d {
        out.push(char::from(b));
    }
}

/// Appends a date as `%Y-%m-%d` formats it.
fn push_date(out: &mut String, d: chrono::NaiveDate) {
    use chrono::Datelike;
    let y = d.year();
    if !(0..=9999).contains(&y) {
        let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        return;
    }
    let two = |out: &mut String, v: u32| {
        out.push(char::from(b'0' + (v / 10 % 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
    };
    two(out, y as u32 / 100);
    two(out, y as u32 % 100);
    out.push('-');
    two(out, d.month());
    out.push('-');
    two(out, d.day());
}

/// Whether a detail's text splits back into its pairs: no value holds a `;`, no key of its own
/// an `=` or `;` (as `Detail::set` ensures; a detail built in code might not).
fn detail_splits(d: &Detail) -> bool {
    let clean = |v: Option<&str>| v.is_none_or(|v| !v.contains(';'));
    clean(d.account())
        && clean(d.pm())
        && clean(d.reason())
        && d.extra()
            .iter()
            .all(|(k, v)| !k.is_empty() && !k.contains(['=', ';']) && !v.contains(';'))
}

/// Appends the JSON object of a detail whose `key=value;...` text (its `Display`) is `text`, as
/// `Detail::to_json` serialises it: the keys in the map's order (sorted), the last of two equal
/// keys kept, keys and values escaped as `serde_json` escapes them. Only for a detail whose text
/// splits back into its pairs ([`detail_splits`]).
fn push_detail_json(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push_str("{}");
        return;
    }
    let Some(mut pairs) = text.split(';').map(|p| p.split_once('=')).collect::<Option<Vec<_>>>() else {
        return;
    };
    // Stable: of equal keys the later stays later, and is the one kept.
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    let mut first = true;
    for (i, (k, v)) in pairs.iter().enumerate() {
        if pairs.get(i + 1).is_some_and(|next| next.0 == *k) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        push_json_string(out, k);
        out.push(':');
        push_json_string(out, v);
    }
    out.push('}');
}

/// Appends a detail's `key=value;...` text, as its `Display` writes it (`Detail::pairs`'s
/// order). The pattern names every field, so a field added to the detail fails to compile here
/// until it is written too.
fn push_detail(out: &mut String, d: &Detail) {
    let Detail {
        ca_date,
        cutover,
        status,
        current,
        file_seq,
        losing,
        effective,
        text,
    } = d;
    let (account, pm, reason, extra) = match text.as_deref() {
        Some(crate::message::DetailText {
            account,
            pm,
            reason,
            extra,
        }) => (account.as_deref(), pm.as_deref(), reason.as_deref(), extra.as_slice()),
        None => (None, None, None, &[][..]),
    };
    let mut first = true;
    let mut key = |out: &mut String, k: &str| {
        if !first {
            out.push(';');
        }
        first = false;
        out.push_str(k);
        out.push('=');
    };
    if let Some(v) = ca_date {
        key(out, "ca_date");
        push_date(out, *v);
    }
    if let Some(v) = account {
        key(out, "account");
        out.push_str(v);
    }
    if let Some(v) = cutover {
        key(out, "cutover");
        v.write_rfc3339_with_offset(v.sydney_offset_secs(), out);
    }
    if let Some(v) = pm {
        key(out, "pm");
        out.push_str(v);
    }
    if let Some(v) = status {
        key(out, "status");
        out.push(v.as_char());
    }
    if let Some(v) = current {
        key(out, "current");
        push_carrier(out, *v);
    }
    if let Some(v) = file_seq {
        key(out, "file_seq");
        push_u64(out, u64::from(*v));
    }
    if let Some(v) = reason {
        key(out, "reason");
        out.push_str(v);
    }
    if let Some(v) = losing {
        key(out, "losing");
        push_carrier(out, *v);
    }
    if let Some(v) = effective {
        key(out, "effective");
        v.write_rfc3339_with_offset(v.sydney_offset_secs(), out);
    }
    for (k, v) in extra {
        key(out, k);
        out.push_str(v);
    }
}

fn push_csv_field(line: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

/// Appends `s` as a JSON string, escaped exactly as `serde_json` escapes it.
fn push_json_string(line: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        line.push('"');
        line.push_str(s);
        line.push('"');
    } else {
        line.push_str(&Value::String(s.to_string()).to_string());
    }
}

impl<W: Write> TraceWriter<W> {
    pub fn new(out: W, format: TraceFormat) -> Self {
        Self {
            out,
            format,
            line: String::with_capacity(256),
            header_written: false,
            offset_cache: (i64::MIN, 0),
            second: SecondText::new(),
            detail: String::new(),
        }
    }

    pub fn write(&mut self, r: &TraceRecord) -> io::Result<()> {
        self.line.clear();
        let m = &r.message;
        match self.format {
            TraceFormat::Csv => {
                if !self.header_written {
                    self.out.write_all(COLUMNS.join(",").as_bytes())?;
                    self.out.write_all(b"\n")?;
                    self.header_written = true;
                }
                let l = &mut self.line;
                let hour = r.time.millis().div_euclid(3_600_000);
                let offset = if self.offset_cache.0 == hour {
                    self.offset_cache.1
                } else {
                    let offset = r.time.sydney_offset_secs();
                    // The current rule changes on whole UTC hours; older changes need not
                    // (1895's, from local mean time, fell at 13:55:08 UTC), so there each row
                    // asks for its own.
                    if r.time.offset_changes_on_utc_hours() {
                        self.offset_cache = (hour, offset);
                    }
                    offset
                };
                push_u64(l, r.seq);
                l.push(',');
                self.second.write(r.time, offset, l);
                l.push(',');
                push_carrier(l, r.from);
                l.push(',');
                if let Some(to) = r.to {
                    push_carrier(l, to);
                }
                l.push(',');
                l.push_str(m.kind.keyword());
                l.push(',');
                if let Some(p) = &m.port_ref {
                    l.push_str(p.as_str());
                }
                l.push(',');
                if let Some(c) = m.category {
                    l.push(c.as_char());
                }
                l.push(',');
                for (i, n) in m.numbers.iter().enumerate() {
                    if i > 0 {
                        l.push(';');
                    }
                    let mut d = [0u8; 10];
                    n.write_digits(&mut d);
                    for b in d {
                        l.push(char::from(b));
                    }
                }
                l.push(',');
                if !matches!(m.code, Code::None) {
                    let _ = write!(l, "{}", m.code);
                }
                l.push(',');
                self.detail.clear();
                push_detail(&mut self.detail, &m.detail);
                push_csv_field(l, &self.detail);
                l.push('\n');
            }
            TraceFormat::Jsonl => {
                // The fields in the spec's column order; the detail as its JSON object.
                let l = &mut self.line;
                l.push_str("{\"seq\":");
                push_u64(l, r.seq);
                l.push_str(",\"time\":\"");
                // The offset of the instant itself, as the time's `Display` gives it.
                self.second.write(r.time, r.time.sydney_offset_secs(), l);
                l.push_str("\",\"from\":\"");
                push_carrier(l, r.from);
                l.push_str("\",\"to\":\"");
                if let Some(to) = r.to {
                    push_carrier(l, to);
                }
                l.push_str("\",\"msg\":");
                push_json_string(l, m.kind.keyword());
                l.push_str(",\"ref\":");
                push_json_string(l, m.port_ref.as_ref().map_or("", PortRef::as_str));
                l.push_str(",\"category\":\"");
                if let Some(c) = m.category {
                    l.push(c.as_char());
                }
                l.push_str("\",\"numbers\":[");
                for (i, n) in m.numbers.iter().enumerate() {
                    if i > 0 {
                        l.push(',');
                    }
                    let mut d = [0u8; 10];
                    n.write_digits(&mut d);
                    l.push('"');
                    for b in d {
                        l.push(char::from(b));
                    }
                    l.push('"');
                }
                l.push_str("],\"code\":");
                if matches!(m.code, Code::None) {
                    l.push_str("\"\"");
                } else {
                    self.detail.clear();
                    let _ = write!(self.detail, "{}", m.code);
                    push_json_string(l, &self.detail);
                }
                l.push_str(",\"detail\":");
                if m.detail.is_empty() {
                    l.push_str("{}");
                } else if detail_splits(&m.detail) {
                    self.detail.clear();
                    push_detail(&mut self.detail, &m.detail);
                    push_detail_json(l, &self.detail);
                } else {
                    let _ = write!(l, "{}", m.detail.to_json());
                }
                self.line.push_str("}\n");
            }
        }
        self.out.write_all(self.line.as_bytes())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if self.format == TraceFormat::Csv && !self.header_written {
            self.out.write_all(COLUMNS.join(",").as_bytes())?;
            self.out.write_all(b"\n")?;
            self.header_written = true;
        }
        self.out.flush()
    }

    pub fn into_inner(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.out)
    }
}

/// Reads a whole trace from memory, separating good records from row errors (for tests and
/// small files; the audit streams instead).
pub fn read_all(bytes: &[u8], format: TraceFormat) -> Result<(Vec<TraceRecord>, Vec<RowError>), TraceError> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for item in TraceReader::new(bytes, format)? {
        match item {
            Ok(r) => good.push(r),
            Err(e) => bad.push(e),
        }
    }
    Ok((good, bad))
}

/// Writes records to a byte vector.
pub fn write_all(records: &[TraceRecord], format: TraceFormat) -> io::Result<Vec<u8>> {
    let mut w = TraceWriter::new(Vec::new(), format);
    for r in records {
        w.write(r)?;
    }
    w.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Code, NumberCode, PnvResponse, PortStatus, RejectCode};
    use crate::number::TelephoneNumber;
    use proptest::prelude::*;

    /// What a record costs to move (the audit's reading thread moves each several times) and to
    /// read from another thread: the detail's text keys are boxed, and absent on most rows.
    #[test]
    fn record_size_is_held() {
        assert_eq!(std::mem::size_of::<crate::message::Detail>(), 48);
        assert_eq!(std::mem::size_of::<crate::message::Message>(), 128);
        assert_eq!(std::mem::size_of::<TraceRecord>(), 152);
    }

    /// Sydney's 1895 change from local mean time fell at 13:55:08 UTC, not on a UTC hour: rows
    /// either side of it in that hour are written each with its own offset, as `Display` gives.
    #[test]
    fn an_offset_change_off_the_hour_is_written_row_by_row() {
        let records: Vec<TraceRecord> = [
            "1895-01-31T13:50:00Z",
            "1895-01-31T13:58:00Z",
            "2026-04-05T02:30:00+10:00",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| TraceRecord {
            seq: i as u64 + 1,
            time: Timestamp::parse_rfc3339(t).unwrap(),
            from: "9001".parse().unwrap(),
            to: None,
            message: Message::new(MsgKind::Cutover, "P1".parse().unwrap()),
        })
        .collect();
        let text = String::from_utf8(write_all(&records, TraceFormat::Csv).unwrap()).unwrap();
        let times: Vec<&str> = text.lines().skip(1).filter_map(|l| l.split(',').nth(1)).collect();
        let expected: Vec<String> = records.iter().map(|r| r.time.to_string()).collect();
        assert_eq!(times, expected);
        assert_ne!(
            expected[0].get(19..),
            expected[1].get(19..),
            "the two rows' offsets differ"
        );
    }

    /// A row's time in the writer's form whose instant lies past the end of year 9999 in UTC is
    /// out of range, as `Timestamp::parse_rfc3339` says, not read as a time no writer can write.
    #[test]
    fn a_row_time_past_year_9999_is_out_of_range() {
        let err = row_time(7, "9999-12-31T23:59:59-05:00", false).expect_err("out of range");
        assert_eq!(err.line, 7);
        assert_eq!(err.column.as_deref(), Some("time"));
        assert!(err.message.contains("out of range"), "{}", err.message);
        assert!(row_time(7, "9999-12-31T23:59:59+11:00", false).is_ok());
        assert!(row_time(7, "0001-01-01T10:00:00+11:00", false).is_err());
    }

    const SAMPLE: &str = "seq,time,from,to,msg,ref,category,numbers,code,detail
1,2026-03-02T09:00:00+11:00,9002,9001,SNA,SNA-000001,A,0255501234,,ca_date=2026-02-25;account=ACC-1001;cutover=2026-03-09T10:00:00+11:00
2,2026-03-02T09:05:00+11:00,9001,9002,SNA_CONFIRM,SNA-000001,A,0255501234,,
3,2026-03-09T10:00:00+11:00,9002,9001,ECA,SNA-000001,A,0255501234,,
4,2026-03-09T10:20:00+11:00,9001,9002,ECA_REJECT,SNA-000001,A,0255501234,103,\"reason=outside hours, sorry\"
5,2026-03-09T10:21:00+11:00,9001,,CUTOVER,SNA-000001,A,0255501234,,
";

    #[test]
    fn reads_the_sample() {
        let (good, bad) = read_all(SAMPLE.as_bytes(), TraceFormat::Csv).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(good.len(), 5);
        assert_eq!(good[0].message.detail.account(), Some("ACC-1001"));
        assert_eq!(good[3].message.code.reject_code().map(RejectCode::get), Some(103));
        assert_eq!(good[3].message.detail.reason(), Some("outside hours, sorry"));
        assert_eq!(good[4].to, None);
        // Written back it is the same text.
        let out = write_all(&good, TraceFormat::Csv).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), SAMPLE);
    }

    #[test]
    fn bad_rows_name_line_and_column_and_reading_goes_on() {
        let text = "seq,time,from,to,msg,ref,category,numbers,code,detail
1,2026-03-02 09:00,9002,9001,SNA,R1,A,0255501234,,
2,2026-03-02T09:00:00+11:00,902,9001,SNA,R1,A,0255501234,,
3,2026-03-02T09:00:00+11:00,9002,9001,SNAP,R1,A,0255501234,,
4,2026-03-02T09:00:00+11:00,9002,9001,SNA,R1,A,0455501234,,
5,2026-03-02T09:00:00+11:00,9002,9001,SNA,R1,A,0255501234,,
6,only,three
7,2026-03-02T09:00:00+11:00,9002,9001,CUTOVER,R1,A,0255501234,,
";
        let (good, bad) = read_all(text.as_bytes(), TraceFormat::Csv).unwrap();
        assert_eq!(good.len(), 1);
        let got: Vec<(u64, Option<&str>)> = bad.iter().map(|e| (e.line, e.column.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (2, Some("time")),
                (3, Some("from")),
                (4, Some("msg")),
                (5, Some("numbers")),
                (7, None),
                (8, Some("to"))
            ]
        );
        assert!(
            bad[0].to_string().starts_with("line 2, column time: has no offset"),
            "{}",
            bad[0]
        );
    }

    #[test]
    fn fast_time_parse_agrees_with_chrono() {
        for text in [
            "2026-03-02T09:00:00+11:00",
            " 2026-03-02T09:00:00.123+11:00 ",
            "2026-03-02T09:00:00.5-03:30",
            "2026-03-02T09:00:00.123456789+00:00",
            "2026-03-02T09:00:00.1234567891+00:00",
            "2026-03-02T09:00:00-00:00",
            "2026-03-02T09:00:00Z",
            "2026-03-02t09:00:00+11:00",
            "2026-02-29T09:00:00+11:00",
            "2024-02-29T23:59:59+14:00",
            "2026-13-02T09:00:00+11:00",
            "2026-04-31T09:00:00+11:00",
            "2026-03-02T24:00:00+11:00",
            "2026-03-02T09:00:60+11:00",
            "2026-03-02T09:00:00+24:00",
            "2026-03-02T09:00:00.+11:00",
            "0999-03-02T09:00:00+11:00",
            "1900-02-29T09:00:00+11:00",
            "2000-02-29T09:00:00+11:00",
            "2026-03-02T09:00:00+11:00x",
            "2026-03-02T09:00:00+1100",
            "2026-03-02 09:00",
            "",
        ] {
            assert_eq!(
                Timestamp::parse_rfc3339(text),
                Timestamp::parse_rfc3339_general(text),
                "{text:?}"
            );
        }
        // At the ends of the range `Timestamp::parse_rfc3339` checks it, with or without its
        // fast path.
        for text in [
            "9999-12-31T23:59:59.999+11:00",
            "9999-12-31T23:59:59.999+10:59",
            "9999-12-31T23:59:59-05:00",
            "1000-01-01T00:00:00+14:00",
        ] {
            assert_eq!(
                Timestamp::parse_rfc3339(text),
                Timestamp::parse_rfc3339_general(text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn header_problems_are_fatal() {
        assert!(matches!(
            TraceReader::new("seq,time\n".as_bytes(), TraceFormat::Csv),
            Err(TraceError::Header(_))
        ));
        // A misspelt column is a missing one (an extra column is ignored: see
        // `unknown_columns_and_fields_are_ignored_alike`).
        assert!(matches!(
            TraceReader::new(
                "seq,time,from,to,msg,ref,category,numbers,cdoe,detail\n".as_bytes(),
                TraceFormat::Csv
            ),
            Err(TraceError::Header(m)) if m.contains("\"code\"")
        ));
        assert!(matches!(
            TraceReader::new("".as_bytes(), TraceFormat::Csv),
            Err(TraceError::Header(m)) if m.contains("no rows")
        ));
    }

    #[test]
    fn jsonl_round_trip_and_errors() {
        let (good, _) = read_all(SAMPLE.as_bytes(), TraceFormat::Csv).unwrap();
        let out = write_all(&good, TraceFormat::Jsonl).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("{\"seq\":1,\"time\":\"2026-03-02T09:00:00+11:00\",\"from\":\"9002\""),
            "{text}"
        );
        let (back, bad) = read_all(text.as_bytes(), TraceFormat::Jsonl).unwrap();
        assert!(bad.is_empty());
        assert_eq!(back, good);
        let broken = "{\"seq\":1}\nnot json\n\n{\"seq\":2,\"time\":\"2026-03-02T09:00:00+11:00\",\"from\":\"9002\",\"to\":\"9001\",\"msg\":\"SNA\",\"numbers\":[5],\"detail\":{}}\n";
        let (good, bad) = read_all(broken.as_bytes(), TraceFormat::Jsonl).unwrap();
        assert!(good.is_empty());
        assert_eq!(bad.iter().map(|e| e.line).collect::<Vec<_>>(), vec![1, 2, 4]);
        assert_eq!(bad[2].column.as_deref(), Some("numbers"));
    }

    #[test]
    fn garbage_never_panics() {
        for junk in [
            &b"\xff\xfe\x00"[..],
            b"seq,time,from,to,msg,ref,category,numbers,code,detail\n\"unterminated",
            b"",
        ] {
            if let Ok(r) = TraceReader::new(junk, TraceFormat::Csv) {
                let _ = r.count();
            }
            let _ = TraceReader::new(junk, TraceFormat::Jsonl).map(Iterator::count);
        }
    }

    /// The writer's JSON Lines form of an SNA row.
    const JSONL_SNA: &str = r#"{"seq":1,"time":"2026-03-02T09:00:00+11:00","from":"9002","to":"9001","msg":"SNA","ref":"SNA-000001","category":"A","numbers":["0255501234"],"code":"","detail":{"ca_date":"2026-02-25","account":"ACC-1001"}}"#;

    /// The one row of `text`: its record, or its error.
    fn one(text: &str, format: TraceFormat) -> Result<TraceRecord, RowError> {
        let (mut good, mut bad) = read_all(text.as_bytes(), format).unwrap();
        assert_eq!(good.len() + bad.len(), 1, "{text}");
        good.pop().ok_or_else(|| bad.remove(0))
    }

    /// `JSONL_SNA` with one piece of text replaced (which must be there).
    fn sna_with(from: &str, to: &str) -> String {
        assert!(JSONL_SNA.contains(from), "{from}");
        JSONL_SNA.replacen(from, to, 1)
    }

    #[test]
    fn jsonl_bom_at_the_start_is_accepted() {
        let plain = one(JSONL_SNA, TraceFormat::Jsonl).unwrap();
        let text = format!("\u{feff}{JSONL_SNA}\n{JSONL_SNA}\n");
        let (good, bad) = read_all(text.as_bytes(), TraceFormat::Jsonl).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(good, vec![plain.clone(), plain]);
        // As in CSV, where it is already accepted.
        let csv = format!("\u{feff}{SAMPLE}");
        assert_eq!(read_all(csv.as_bytes(), TraceFormat::Csv).unwrap().1, vec![]);
        // Only at the start of the file: elsewhere it is not JSON.
        let later = format!("{JSONL_SNA}\n\u{feff}{JSONL_SNA}\n");
        let (good, bad) = read_all(later.as_bytes(), TraceFormat::Jsonl).unwrap();
        assert_eq!((good.len(), bad.len(), bad[0].line), (1, 1, 2));
    }

    #[test]
    fn jsonl_duplicate_keys_are_malformed_naming_the_key() {
        let end = JSONL_SNA.len() - 1;
        for (text, column, key) in [
            (format!("{},\"seq\":2}}", &JSONL_SNA[..end]), "seq", "seq"),
            (format!("{},\"code\":\"003\"}}", &JSONL_SNA[..end]), "code", "code"),
            (format!("{},\" to \":\"9003\"}}", &JSONL_SNA[..end]), "to", "to"),
            (format!("{},\"x\":1,\"x\":2}}", &JSONL_SNA[..end]), "x", "x"),
            (
                sna_with(r#""account":"ACC-1001""#, r#""account":"ACC-1001","account":"ACC-2""#),
                "detail",
                "account",
            ),
            (
                sna_with(r#""account":"ACC-1001""#, r#""account":"ACC-1001"," account":"ACC-2""#),
                "detail",
                "account",
            ),
        ] {
            let e = one(&text, TraceFormat::Jsonl).unwrap_err();
            assert_eq!((e.line, e.column.as_deref()), (1, Some(column)), "{text}: {e}");
            assert!(e.message.contains(&format!("{key:?} appears twice")), "{text}: {e}");
        }
    }

    #[test]
    fn jsonl_values_mean_what_the_csv_text_would_or_the_row_is_refused() {
        let plain = one(JSONL_SNA, TraceFormat::Jsonl).unwrap();
        // The documented alternatives, and null for an empty field: read as CSV reads the text.
        for (from, to) in [
            (r#""seq":1"#, r#""seq":"1""#),
            (r#""seq":1"#, r#""seq":" 1 ""#),
            (r#"["0255501234"]"#, r#""0255501234""#),
            (r#""code":"""#, r#""code":null"#),
            (r#""code":"""#, r#""code":" ""#),
            (
                r#"{"ca_date":"2026-02-25","account":"ACC-1001"}"#,
                r#""ca_date=2026-02-25;account=ACC-1001""#,
            ),
            (r#""account":"ACC-1001""#, r#"" account ":"ACC-1001""#),
        ] {
            assert_eq!(one(&sna_with(from, to), TraceFormat::Jsonl), Ok(plain.clone()), "{to}");
        }
        let csv = |numbers: &str| {
            one(
                &format!(
                    "{}\n1,2026-03-02T09:00:00+11:00,9002,9001,SNA,R1,A,{numbers},,\n",
                    COLUMNS.join(",")
                ),
                TraceFormat::Csv,
            )
            .map(|r| r.message.numbers)
            .map_err(|e| e.column)
        };
        let jsonl = |numbers: &str| {
            one(&sna_with(r#"["0255501234"]"#, numbers), TraceFormat::Jsonl)
                .map(|r| r.message.numbers)
                .map_err(|e| e.column)
        };
        for (csv_text, json_text) in [
            ("0255501234;0255501235", r#""0255501234;0255501235""#),
            ("0255501234;0255501235", r#"["0255501234","0255501235"]"#),
            (" ", r#"" ""#),
            ("", "[]"),
            ("0255501234;;0255501235", r#""0255501234;;0255501235""#),
            ("0255501234;", r#""0255501234;""#),
        ] {
            assert_eq!(jsonl(json_text), csv(csv_text), "{json_text}");
        }
        assert!(csv("0255501234;;0255501235").is_err());
        // Any other type is refused: nothing is guessed from it.
        for (from, to, column) in [
            (r#""code":"""#, r#""code":3"#, "code"),
            (r#""from":"9002""#, r#""from":9002"#, "from"),
            (r#""to":"9001""#, r#""to":true"#, "to"),
            (r#""ref":"SNA-000001""#, r#""ref":1"#, "ref"),
            (r#""category":"A""#, r#""category":["A"]"#, "category"),
            (r#""time":"2026-03-02T09:00:00+11:00""#, r#""time":1772402400"#, "time"),
            (r#""seq":1"#, r#""seq":1.0"#, "seq"),
            (r#""seq":1"#, r#""seq":-1"#, "seq"),
            (r#""seq":1"#, r#""seq":true"#, "seq"),
            (r#"["0255501234"]"#, "[255501234]", "numbers"),
            (r#"["0255501234"]"#, r#"{"n":"0255501234"}"#, "numbers"),
            (r#"["0255501234"]"#, "255501234", "numbers"),
            (r#""account":"ACC-1001""#, r#""account":1001"#, "detail"),
            (r#""account":"ACC-1001""#, r#""account":null"#, "detail"),
            (r#""account":"ACC-1001""#, r#""acc=ount":"ACC-1001""#, "detail"),
            (
                r#"{"ca_date":"2026-02-25","account":"ACC-1001"}"#,
                r#"["ca_date=2026-02-25"]"#,
                "detail",
            ),
        ] {
            let text = sna_with(from, to);
            let e = one(&text, TraceFormat::Jsonl).unwrap_err();
            assert_eq!((e.line, e.column.as_deref()), (1, Some(column)), "{text}: {e}");
        }
        let e = one(&sna_with(r#""code":"""#, r#""code":3"#), TraceFormat::Jsonl).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1, column code: expected a string, found the number 3 (a number cannot tell `003` from `3`)"
        );
    }

    #[test]
    fn unknown_columns_and_fields_are_ignored_alike() {
        let plain = one(JSONL_SNA, TraceFormat::Jsonl).unwrap();
        let csv = "seq,time,from,system,to,msg,ref,category,numbers,code,detail,note
1,2026-03-02T09:00:00+11:00,9002,billing,9001,SNA,SNA-000001,A,0255501234,,ca_date=2026-02-25;account=ACC-1001,
2,2026-03-02T09:00:00+11:00,9002,billing,9001,SNA,SNA-000001,A,0255501234,,
";
        let (good, bad) = read_all(csv.as_bytes(), TraceFormat::Csv).unwrap();
        assert_eq!(good, vec![plain.clone()]);
        assert_eq!(bad[0].to_string(), "line 3: 11 fields, expected 12");
        let extra = sna_with(r#""seq":1,"#, r#""seq":1,"system":"billing","note":{"a":[1]},"#);
        assert_eq!(one(&extra, TraceFormat::Jsonl), Ok(plain.clone()));
        // A field left out is empty ...
        let mut without_code = plain.clone();
        without_code.message.code = Code::None;
        assert_eq!(
            one(&sna_with(r#","code":"""#, ""), TraceFormat::Jsonl),
            Ok(without_code)
        );
        // ... but not in a row with an unknown field, which may be it misspelt (as a misspelt CSV
        // column is a missing one).
        let e = one(&sna_with(r#""code":"""#, r#""cdoe":"003""#), TraceFormat::Jsonl).unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (1, Some("code")), "{e}");
        assert!(e.message.contains("\"cdoe\""), "{e}");
    }

    fn arb_record() -> impl Strategy<Value = TraceRecord> {
        let kinds = MsgKind::ALL.to_vec();
        (
            1u64..1_000_000,
            1_700_000_000i64..1_900_000_000,
            prop::sample::select(kinds),
            prop::collection::vec(200_000_000u32..900_000_000, 0..4),
            "[A-Z0-9-]{1,12}",
            prop::option::of("[a-zA-Z ,\"]{0,12}"),
            prop::option::of(0u8..4),
        )
            .prop_filter_map("geographic", |(seq, secs, kind, nsns, r, reason, status)| {
                let numbers: Vec<TelephoneNumber> = nsns
                    .into_iter()
                    .filter_map(|n| TelephoneNumber::from_nsn(n).ok())
                    .collect();
                let mut detail = Detail {
                    status: status
                        .map(|s| [PortStatus::P, PortStatus::C, PortStatus::N, PortStatus::R][usize::from(s)]),
                    ..Detail::default()
                };
                detail.set_reason(reason);
                let code = match numbers.first() {
                    Some(n) if seq % 3 == 0 => {
                        Code::PerNumber(vec![(*n, NumberCode::Response(PnvResponse::SecondaryService))])
                    }
                    _ if seq % 3 == 1 => "104".parse().ok()?,
                    _ => Code::None,
                };
                Some(TraceRecord {
                    seq,
                    time: Timestamp::from_secs(secs),
                    from: "9001".parse().ok()?,
                    to: if kind.is_action() { None } else { "9002".parse().ok() },
                    message: Message {
                        kind,
                        port_ref: r.parse().ok(),
                        category: Some(Category::C),
                        numbers: numbers.into(),
                        code,
                        detail,
                    },
                })
            })
    }

    /// Every row of `bytes` by the fast reader and by the careful one (or both headers' errors).
    fn both_ways(
        bytes: &[u8],
        format: TraceFormat,
        sydney: bool,
    ) -> [Result<Vec<Result<TraceRecord, RowError>>, String>; 2] {
        let fast = TraceReader::new(bytes, format).map(|r| r.assume_sydney(sydney).collect());
        let careful = TraceReader::careful(bytes, format).map(|r| r.assume_sydney(sydney).collect());
        [fast.map_err(|e| e.to_string()), careful.map_err(|e| e.to_string())]
    }

    /// Field texts for CSV rows: the writer's forms, and the near misses the general path
    /// reads or refuses (spaces, short codes, quotes, line breaks in quotes, bad values).
    const CSV_FIELDS: [&[&str]; 10] = [
        &[
            "1",
            "2",
            "007",
            " 3",
            "x",
            "",
            "18446744073709551615",
            "18446744073709551616",
            "+4",
        ],
        &[
            "2026-03-02T09:00:00+11:00",
            "2026-03-02T09:00:00.5+11:00",
            " 2026-03-02T09:00:00+11:00",
            "2026-03-02 09:00",
            "2026-03-02T09:00:00Z",
            "9999-12-31T23:59:59-05:00",
            "bad",
            "\"2026-03-02T09:00:00+11:00\"",
        ],
        &["9001", "9002", "", " 9001", "901"],
        &["9001", "9002", "", " 9002", "90021"],
        &[
            "SNA",
            "SNA_CONFIRM",
            "CUTOVER",
            "PNV_RESPONSE",
            "ECA_REJECT",
            " SNA",
            "snap",
            "",
        ],
        &["R1", "SNA-000001", "", " R1", "a;b", "\"R,1\"", "\"R\"\"1\""],
        &["A", "C", "D", "", "X", " A"],
        &[
            "0255501234",
            "0255501234;0255501235",
            "",
            " ",
            "02 5550 1234",
            "0455501234",
            "0255501234;",
            "+61255501234",
        ],
        &["", "003", "3", " 3 ", "0255501234:S", "03", "xyz", "  3 ", "1", "104"],
        &[
            "",
            "ca_date=2026-02-25;account=ACC-1",
            "\"reason=a, b\"",
            "x-extra=1;status=C;current=9002",
            "cutover=2026-03-09T10:00:00+11:00;pm=Jo",
            "status=X",
            "novalue",
            "\"reason=multi\nline\"",
            "\"reason=with \"\"quote\"\"\"",
            " account = A ",
            "ca_date=2026-02-30",
            "effective=2026-03-09T10:00:00+11:00;losing=9001;file_seq=7",
            "account=A;account=B;x=1;x=2",
            "ca_date=2026-02-25;cutover=2026-03-09T10:00:00.5+11:00;status=R;losing=901",
            "file_seq=-1",
            "current=9002;",
        ],
    ];

    fn arb_csv_row() -> impl Strategy<Value = Vec<u8>> {
        // Mostly the first (the writer's) form, so that many rows are well-formed.
        let fields: Vec<_> = CSV_FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let writer = if i == 3 { "" } else { f[0] };
                prop_oneof![3 => Just(writer), 1 => prop::sample::select(f.to_vec())]
            })
            .collect();
        (
            fields,
            prop::sample::select(vec!["\n", "\n", "\n", "\r\n", "\r", "\n\n", "\n \n", "\r\n\r\n"]),
            0u8..12,
        )
            .prop_map(|(fields, end, odd)| {
                let mut row = fields.join(",").into_bytes();
                match odd {
                    0 => row.extend_from_slice(b",extra"),
                    1 => row.truncate(row.iter().rposition(|&b| b == b',').unwrap_or(0)),
                    2 => row.extend_from_slice(b"\xff"),
                    3 => row.splice(0..0, "é".bytes()).for_each(drop),
                    _ => {}
                }
                row.extend_from_slice(end.as_bytes());
                row
            })
    }

    /// Each row's line is the line it begins on, however lines end and whatever empty lines
    /// come before it, in both readers.
    #[test]
    fn a_row_is_placed_on_its_own_line() {
        // Each row's line as the reader gives it, and the line of its error if it has one.
        let lines_of = |text: &str, format: TraceFormat, careful: bool| {
            let mut reader = if careful {
                TraceReader::careful(text.as_bytes(), format)
            } else {
                TraceReader::new(text.as_bytes(), format)
            }
            .unwrap();
            let mut lines = Vec::new();
            while let Some(row) = reader.next() {
                lines.push((reader.line(), row.err().map(|e| e.line)));
            }
            lines
        };
        let rows = [
            "1,2026-03-02T10:00:00+11:00,9001,9002,SNA,R1,A,0299990000,,",
            "2,never,9001,9002,SNA,R2,A,0299990001,,",
            "3,2026-03-02T10:00:01+11:00,9001,9002,SNA,R3,A,0299990002,,\"account=A\nB\"",
            "4,2026-03-02T10:00:02+11:00,9001,9002,BOGUS,R4,A,0299990003,,",
            "5,2026-03-02T10:00:03+11:00,9001,9002,SNA,R5,A,0299990004,,",
        ];
        for end in ["\n", "\r\n", "\r"] {
            // Header on line 1, an empty line (2), rows on 3 and 4, the quoted row on 5 and 6,
            // two empty lines (7, 8), rows on 9 and 10.
            let text = format!(
                "{}{end}{end}{}{end}{}{end}{}{end}{end}{end}{}{end}{}",
                COLUMNS.join(","),
                rows[0],
                rows[1],
                rows[2].replace('\n', end),
                rows[3],
                rows[4]
            );
            for careful in [false, true] {
                assert_eq!(
                    lines_of(&text, TraceFormat::Csv, careful),
                    [(3, None), (4, Some(4)), (5, None), (9, Some(9)), (10, None)],
                    "{end:?}, careful: {careful}"
                );
            }
        }
        // Line ends of every kind in one file: the rows begin on lines 2, 4, 5 and 8.
        let mixed = format!(
            "{}\r\n{}\r\r{}\n{}\n\r\n{}",
            COLUMNS.join(","),
            rows[0],
            rows[1],
            rows[2].replace('\n', "\r"),
            rows[3]
        );
        for careful in [false, true] {
            assert_eq!(
                lines_of(&mixed, TraceFormat::Csv, careful),
                [(2, None), (4, Some(4)), (5, None), (8, Some(8))],
                "careful: {careful}"
            );
        }
        let jsonl = "{\"seq\":1}\r\n\r\n{\"seq\":2}\n";
        assert_eq!(lines_of(jsonl, TraceFormat::Jsonl, false), [(1, Some(1)), (3, Some(3))]);
    }

    #[test]
    fn fast_and_careful_readers_agree_on_written_traces() {
        let (good, _) = read_all(SAMPLE.as_bytes(), TraceFormat::Csv).unwrap();
        for format in [TraceFormat::Csv, TraceFormat::Jsonl] {
            let bytes = write_all(&good, format).unwrap();
            let [fast, careful] = both_ways(&bytes, format, false);
            assert_eq!(fast, careful);
            assert_eq!(
                fast.unwrap().into_iter().collect::<Result<Vec<_>, _>>(),
                Ok(good.clone())
            );
        }
        // A file that ends without a line break, and one whose header has a byte-order mark, a
        // column the format does not define, or a quoted name.
        for text in [
            SAMPLE.trim_end().to_string(),
            format!("\u{feff}{SAMPLE}"),
            SAMPLE
                .replacen("detail", "detail,note", 1)
                .replace('\n', ",x\n")
                .replacen("detail,note,x", "detail,note", 1),
            SAMPLE.replacen("seq,", "\"seq\",", 1),
            SAMPLE.replace('\n', "\r\n"),
            SAMPLE.replace('\n', "\r"),
        ] {
            let [fast, careful] = both_ways(text.as_bytes(), TraceFormat::Csv, false);
            assert_eq!(fast, careful, "{text}");
        }
    }

    /// JSON Lines rows in the writer's form and in the forms next to it that the fast path must
    /// leave to the general one.
    #[test]
    fn unreadable_rows_still_name_their_port_where_the_text_does() {
        let line = r#"{"seq":6,"time":"2026-03-02T09:00:00+11:00","from":"9002","to":"9001","msg":"SNA","ref":"P6","category":"A","numbers":["0255501239"],"code":"","detail":{"account":"A	B"}}"#;
        let n = |s: &str| s.parse::<TelephoneNumber>().unwrap();
        let named = |bytes: &[u8], format| {
            let (_, bad) = read_all(bytes, format).unwrap();
            bad.into_iter()
                .map(|e| (e.port_ref.map(|r| r.to_string()), e.numbers))
                .collect::<Vec<_>>()
        };
        // A raw tab in a string: not JSON, but its one `ref` and `numbers` are plain.
        let want = vec![(Some("P6".to_string()), vec![n("0255501239")])];
        assert_eq!(named(format!("{line}\n").as_bytes(), TraceFormat::Jsonl), want);
        // The parser's position is given as the line's column; the row error names the line.
        let (_, bad) = read_all(format!("{line}\n{line}\n").as_bytes(), TraceFormat::Jsonl).unwrap();
        assert_eq!(bad[1].line, 2);
        assert!(
            bad[1].message.starts_with("not a JSON object: ") && bad[1].message.ends_with("(column 166)"),
            "{}",
            bad[1].message
        );
        // Not UTF-8 either.
        let mut bytes = line.replace('\t', "\u{1}").into_bytes();
        let at = bytes.iter().position(|&b| b == 1).unwrap();
        bytes[at] = 0xff;
        bytes.push(b'\n');
        assert_eq!(named(&bytes, TraceFormat::Jsonl), want);
        // Numbers as one string, spaces around the tokens.
        let spaced = line
            .replace(r#""ref":"P6""#, r#""ref" : "P6""#)
            .replace(r#"["0255501239"]"#, r#""0255501239""#);
        assert_eq!(named(format!("{spaced}\n").as_bytes(), TraceFormat::Jsonl), want);
        // Two `ref` members: the line does not say which port it is.
        let twice = line.replace(r#""ref":"P6""#, r#""ref":"P6","ref":"P7""#);
        assert_eq!(
            named(format!("{twice}\n").as_bytes(), TraceFormat::Jsonl),
            vec![(None, vec![n("0255501239")])]
        );
        // Not even an object: nothing.
        assert_eq!(named(b"[1,2,3]\n", TraceFormat::Jsonl), vec![(None, vec![])]);
        // A CSV row with a byte that is not UTF-8 in its detail, read by both readers.
        let header = COLUMNS.join(",");
        let mut csv =
            format!("{header}\n6,2026-03-02T09:00:00+11:00,9002,9001,SNA,P6,A,0255501239,,account=A").into_bytes();
        csv.extend([0xff, b'\n']);
        assert_eq!(named(&csv, TraceFormat::Csv), want);
        let careful: Vec<_> = TraceReader::careful(&csv[..], TraceFormat::Csv)
            .unwrap()
            .filter_map(Result::err)
            .map(|e| (e.port_ref.map(|r| r.to_string()), e.numbers))
            .collect();
        assert_eq!(careful, want);
    }

    fn jsonl_variants(line: &str) -> Vec<String> {
        let mut out = vec![line.to_string()];
        let mut push = |from: &str, to: &str| {
            if line.contains(from) {
                out.push(line.replacen(from, to, 1));
            }
        };
        push("\"seq\":", "\"seq\": ");
        push("\"seq\":1", "\"seq\":\"1\"");
        push("\"seq\":1", "\"seq\":01");
        push("\"seq\":1", "\"seq\":1.0");
        push("\"seq\":1", "\"seq\":1e0");
        push("\"code\":\"\"", "\"code\":null");
        push("\"code\":\"\"", "\"code\":\"3\"");
        push("\"code\":\"\"", "\"code\":3");
        push("\"ref\":\"", "\"ref\":\"\\u0041");
        push("\"to\":\"\"", "\"to\":null");
        push("\"numbers\":[", "\"numbers\":[\"0255501234\",");
        push("\"numbers\":[]", "\"numbers\":\"\"");
        push("\"numbers\":[\"", "\"numbers\":[ \"");
        push("\"detail\":{}", "\"detail\":\"\"");
        push("\"detail\":{", "\"detail\":{\"zz\":\"1\",");
        push("\"detail\":{", "\"detail\":{\"account\":\"B\",");
        push("\"detail\":{", "\"detail\":{\"account\":\"a;b\",");
        push("\"detail\":{", "\"detail\":{\"aa\":\"a;b\",");
        push("\"detail\":{", "\"detail\":{\" account\":\"B\",");
        push("\"detail\":{", "\"detail\":{\"a=b\":\"B\",");
        push("\"detail\":{", "\"detail\":{\"status\":\"X\",");
        push("\"category\":\"", "\"category\":\" ");
        push("\"from\":\"", "\"seq\":3,\"from\":\"");
        push("\"from\":\"", "\"system\":\"x\",\"from\":\"");
        push("}", " }");
        push("{", "{ ");
        out.push(format!("{line} "));
        out.push(format!("{line}x"));
        out.push(line.replacen(",\"detail\"", ",\"detail\":null,\"x\"", 1));
        out
    }

    proptest! {
        #[test]
        fn fast_and_careful_readers_agree_on_csv(
            header in prop::sample::select(vec![
                COLUMNS.join(","),
                format!("\u{feff}{}", COLUMNS.join(",")),
                format!("{},note", COLUMNS.join(",")),
                COLUMNS.join(",").replace("time,from", "from,time"),
            ]),
            header_end in prop::sample::select(vec!["\n", "\r\n", "\r"]),
            rows in prop::collection::vec(arb_csv_row(), 0..12),
            sydney in any::<bool>(),
        ) {
            let mut bytes = format!("{header}{header_end}").into_bytes();
            for row in &rows {
                bytes.extend_from_slice(row);
            }
            let [fast, careful] = both_ways(&bytes, TraceFormat::Csv, sydney);
            prop_assert_eq!(fast, careful, "{}", String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn fast_and_careful_readers_agree_on_csv_bytes(
            bytes in prop::collection::vec(prop::sample::select(b",,,\"\r\n\n a1;=\xff".to_vec()), 0..200),
        ) {
            let mut text = b"seq,time,from,to,msg,ref,category,numbers,code,detail\n".to_vec();
            text.extend_from_slice(&bytes);
            let [fast, careful] = both_ways(&text, TraceFormat::Csv, false);
            prop_assert_eq!(fast, careful, "{:?}", String::from_utf8_lossy(&text));
            let [fast, careful] = both_ways(&bytes, TraceFormat::Csv, false);
            prop_assert_eq!(fast, careful, "{:?}", String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn fast_and_careful_readers_agree_on_jsonl(records in prop::collection::vec(arb_record(), 1..6)) {
            let text = String::from_utf8(write_all(&records, TraceFormat::Jsonl).unwrap()).unwrap();
            let mut lines: Vec<String> = Vec::new();
            for line in text.lines() {
                lines.extend(jsonl_variants(line));
            }
            let all = lines.join("\n");
            let [fast, careful] = both_ways(all.as_bytes(), TraceFormat::Jsonl, false);
            prop_assert_eq!(fast, careful, "{}", all);
        }

        #[test]
        fn fast_and_careful_readers_agree_on_jsonl_bytes(
            records in prop::collection::vec(arb_record(), 1..4),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(b"\"\\\x01\x1f\x7f\xff\xc3;={}[],: n0A\r\n".to_vec())),
                0..4,
            ),
            capacity in prop::sample::select(vec![7usize, 64, 300, 1 << 16]),
        ) {
            // The writer's lines with a few bytes changed, read through buffers of several sizes:
            // lines whole in the buffer are read where they lie, the others the general way.
            let mut bytes = write_all(&records, TraceFormat::Jsonl).unwrap();
            for (at, b) in &edits {
                let i = at.index(bytes.len());
                bytes[i] = *b;
            }
            let buffered = io::BufReader::with_capacity(capacity, &bytes[..]);
            let fast: Vec<_> = TraceReader::new(buffered, TraceFormat::Jsonl).unwrap().collect();
            let careful: Vec<_> = TraceReader::careful(&bytes[..], TraceFormat::Jsonl).unwrap().collect();
            prop_assert_eq!(fast, careful, "{:?}", String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn csv_and_jsonl_round_trip(records in prop::collection::vec(arb_record(), 0..8)) {
            for format in [TraceFormat::Csv, TraceFormat::Jsonl] {
                let bytes = write_all(&records, format).unwrap();
                let (back, bad) = read_all(&bytes, format).unwrap();
                prop_assert!(bad.is_empty(), "{:?}", bad);
                prop_assert_eq!(&back, &records);
            }
        }

        #[test]
        fn fast_time_parse_agrees(ms in -5_000_000_000_000i64..9_000_000_000_000, off in -(23 * 60)..(23 * 60 + 1i32), frac in 0u32..4) {
            let t = Timestamp::from_millis(ms);
            let mut text = String::new();
            t.write_rfc3339_with_offset(off * 60, &mut text);
            if frac == 0 && text.contains('.') {
                text = text.replacen('.', ".0", 1);
            }
            prop_assert_eq!(Timestamp::parse_rfc3339(&text), Timestamp::parse_rfc3339_general(&text), "{}", text);
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut text = b"seq,time,from,to,msg,ref,category,numbers,code,detail\n".to_vec();
            text.extend_from_slice(&bytes);
            let _ = read_all(&text, TraceFormat::Csv);
            let _ = read_all(&bytes, TraceFormat::Jsonl);
        }

        #[test]
        fn csv_writer_agrees_with_the_formatting_machinery(
            records in prop::collection::vec(arb_written_record(), 1..8),
        ) {
            let mut expected = COLUMNS.join(",") + "\n";
            for r in &records {
                expected.push_str(&csv_line_by_fmt(r));
            }
            let written = String::from_utf8(write_all(&records, TraceFormat::Csv).unwrap()).unwrap();
            prop_assert_eq!(written, expected);
        }

        #[test]
        fn jsonl_writer_agrees_with_serde_json(records in prop::collection::vec(arb_written_record(), 1..8)) {
            let mut expected = String::new();
            for r in &records {
                expected.push_str(&jsonl_line_by_fmt(r));
            }
            let written = String::from_utf8(write_all(&records, TraceFormat::Jsonl).unwrap()).unwrap();
            prop_assert_eq!(written, expected);
        }

        #[test]
        fn fast_detail_reads_bytes_as_detail_parse_reads_text(
            parts in prop::collection::vec((detail_part(), prop::sample::select(vec![&b""[..], b"\xff", b"\xc3", b"\xc3\xa9", b";", b"="])), 0..6),
        ) {
            // Each part with bytes after it that may not be UTF-8: where the fast reading
            // answers, the bytes are text and the general reading agrees.
            let mut bytes = Vec::new();
            for (i, (part, tail)) in parts.iter().enumerate() {
                if i > 0 {
                    bytes.push(b';');
                }
                bytes.extend_from_slice(part.as_bytes());
                bytes.extend_from_slice(tail);
            }
            if let Some(d) = fast_detail(&bytes) {
                let text = std::str::from_utf8(&bytes);
                prop_assert!(text.is_ok(), "{:?}", bytes);
                prop_assert_eq!(Ok(d), Detail::parse(text.unwrap_or_default()));
            }
        }

        #[test]
        fn fast_detail_agrees_with_detail_parse(parts in prop::collection::vec(detail_part(), 0..6)) {
            let text = parts.join(";");
            // Where the fast reading answers, it is the general one's; elsewhere the general one
            // reads the text.
            if let Some(d) = fast_detail(text.as_bytes()) {
                prop_assert_eq!(Ok(d), Detail::parse(&text), "{}", text);
            }
        }

        #[test]
        fn time_cache_agrees(secs in prop::collection::vec((0i64..4, 0u32..1000, 0u8..4), 1..20)) {
            let mut cache = TimeCache::default();
            let base = 1_775_404_795i64;
            for (s, ms, form) in secs {
                let t = Timestamp::from_millis((base + s) * 1000 + i64::from(ms));
                let mut text = t.to_rfc3339();
                match form {
                    0 => {}
                    1 => text = text.replacen('+', ".5+", 1),
                    2 => text = text.replacen('T', "T9", 1),
                    _ => text = text.replacen("+1", "-1", 1),
                }
                prop_assert_eq!(cache.read(text.as_bytes()), fast_rfc3339(text.as_bytes()), "{}", text);
            }
        }

        #[test]
        fn byte_positions_agree(bytes in prop::collection::vec(prop::sample::select(b",,,;=a-\x01\x2d\xac\xff".to_vec()), 0..60)) {
            let mut found = Vec::new();
            positions_of(b',', &bytes, &mut found);
            let plain: Vec<usize> = bytes.iter().enumerate().filter(|(_, b)| **b == b',').map(|(i, _)| i).collect();
            prop_assert_eq!(&found, &plain);
            // Split into ten fields where there are exactly nine commas, as `split` splits.
            let fields: Vec<&[u8]> = bytes.split(|b| *b == b',').collect();
            let ten = <[&[u8]; 10]>::try_from(fields).ok();
            prop_assert_eq!(split_written(&bytes), ten);
        }
    }

    /// A CSV row as the writer wrote it with `core::fmt` and the detail's `Display`: the reference
    /// for the hand-written fields.
    fn csv_line_by_fmt(r: &TraceRecord) -> String {
        let m = &r.message;
        let mut l = String::new();
        let _ = write!(l, "{},", r.seq);
        r.time.write_rfc3339_with_offset(r.time.sydney_offset_secs(), &mut l);
        let _ = write!(l, ",{},", r.from);
        if let Some(to) = r.to {
            let _ = write!(l, "{to}");
        }
        let _ = write!(l, ",{},", m.kind);
        if let Some(p) = &m.port_ref {
            l.push_str(p.as_str());
        }
        l.push(',');
        if let Some(c) = m.category {
            l.push(c.as_char());
        }
        l.push(',');
        let numbers: Vec<String> = m.numbers.iter().map(ToString::to_string).collect();
        l.push_str(&numbers.join(";"));
        let _ = write!(l, ",{},", m.code);
        if !m.detail.is_empty() {
            push_csv_field(&mut l, &m.detail.to_string());
        }
        l.push('\n');
        l
    }

    #[test]
    fn jsonl_detail_keys_sort_and_the_last_of_equal_keys_stays() {
        let (mut good, _) = read_all(SAMPLE.as_bytes(), TraceFormat::Csv).unwrap();
        let d = &mut good[0].message.detail;
        d.set_pm(Some("Jo".into()));
        d.set_extra(vec![
            ("pm".into(), "x".into()),
            ("zz".into(), "1".into()),
            ("a b".into(), "\"q\"".into()),
            ("zz".into(), "2".into()),
            ("account".into(), "y".into()),
        ]);
        let written = String::from_utf8(write_all(&good, TraceFormat::Jsonl).unwrap()).unwrap();
        let expected: String = good.iter().map(jsonl_line_by_fmt).collect();
        assert_eq!(written, expected);
        assert!(
            written.contains(r#""pm":"x""#) && written.contains(r#""zz":"2""#),
            "{written}"
        );
    }

    /// A JSON Lines row as the writer wrote it with `core::fmt` and `serde_json`: the reference
    /// for the hand-written fields.
    fn jsonl_line_by_fmt(r: &TraceRecord) -> String {
        let m = &r.message;
        let mut l = String::new();
        let _ = write!(l, "{{\"seq\":{},\"time\":", r.seq);
        let mut text = String::new();
        let mut field = |l: &mut String, name: Option<&str>, value: &dyn std::fmt::Display| {
            if let Some(name) = name {
                let _ = write!(l, ",\"{name}\":");
            }
            text.clear();
            let _ = write!(text, "{value}");
            l.push_str(&Value::String(text.clone()).to_string());
        };
        field(&mut l, None, &r.time);
        field(&mut l, Some("from"), &r.from);
        field(&mut l, Some("to"), &r.to.map(|t| t.to_string()).unwrap_or_default());
        field(&mut l, Some("msg"), &m.kind.keyword());
        field(
            &mut l,
            Some("ref"),
            &m.port_ref.map(|p| p.to_string()).unwrap_or_default(),
        );
        field(
            &mut l,
            Some("category"),
            &m.category.map(|c| c.to_string()).unwrap_or_default(),
        );
        l.push_str(",\"numbers\":[");
        for (i, n) in m.numbers.iter().enumerate() {
            if i > 0 {
                l.push(',');
            }
            field(&mut l, None, n);
        }
        l.push(']');
        field(&mut l, Some("code"), &m.code);
        if m.detail.is_empty() {
            l.push_str(",\"detail\":{}");
        } else {
            let _ = write!(l, ",\"detail\":{}", m.detail.to_json());
        }
        l.push_str("}\n");
        l
    }

    /// Records with every detail key, times over the whole range and in runs of one second.
    fn arb_written_record() -> impl Strategy<Value = TraceRecord> {
        let time = prop_oneof![
            (Timestamp::FIRST.millis()..=Timestamp::LAST.millis()),
            // Sydney's changes of offset, and runs of rows in one second.
            (1_775_400_000_000i64..1_775_500_000_000),
            (1_772_400_000_000i64..1_772_400_003_000),
        ];
        let date = (1i32..=9999, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| chrono::NaiveDate::from_ymd_opt(y, m, d));
        (
            arb_record(),
            time,
            0u64..u64::MAX,
            prop::option::of(date),
            prop::option::of(time_ms()),
            prop::option::of(time_ms()),
            prop::option::of(0u32..=u32::MAX),
            prop::option::of(0u16..=9999),
            prop::option::of("[a-z,\"]{0,6}"),
            prop::collection::vec(("[a-z\"\\\\\u{1}é=;]{0,3}", "[a-z0-9 \"\\\\\u{1f}é=;]{0,4}"), 0..4),
        )
            .prop_map(
                |(mut r, t, seq, ca_date, cutover, effective, file_seq, carrier, account, extra)| {
                    r.time = Timestamp::from_millis(t);
                    r.seq = seq;
                    let d = &mut r.message.detail;
                    d.ca_date = ca_date.flatten();
                    d.cutover = cutover.map(Timestamp::from_millis);
                    d.effective = effective.map(Timestamp::from_millis);
                    d.file_seq = file_seq;
                    d.current = carrier.and_then(CarrierCode::new);
                    d.losing = carrier.and_then(|c| CarrierCode::new(9999 - c));
                    d.set_pm(account.clone());
                    d.set_account(account);
                    d.set_extra(extra);
                    r
                },
            )
    }

    fn time_ms() -> impl Strategy<Value = i64> {
        Timestamp::FIRST.millis()..=Timestamp::LAST.millis()
    }

    /// One `key=value` of a detail: the writer's keys and values, and near misses.
    fn detail_part() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "ca_date",
            "account",
            "cutover",
            "pm",
            "status",
            "current",
            "file_seq",
            "reason",
            "losing",
            "effective",
            "x-extra",
            " account",
            "cutover ",
            "",
            "a=b",
        ]);
        let value = prop::sample::select(vec![
            "2026-02-25",
            "2026-02-30",
            "0000-01-01",
            "ACC-1",
            "",
            " 9002",
            "9002",
            "90021",
            "C",
            "X",
            "7",
            "-1",
            "2026-03-09T10:00:00+11:00",
            "2026-03-09T10:00:00.5+11:00",
            " 2026-03-09T10:00:00+11:00",
            "9999-12-31T23:59:59-05:00",
            "x=y",
            // Values a byte from the writer's widths, and past them.
            "900",
            "90021;",
            ";",
            "2026-02-2",
            "2026-02-25x",
            "2026-03-09T10:00:00+11:0",
            "2026-03-09T10:00:00.123+11:00",
            "2026-03-09T10:00:00+11:00x",
            "P",
            "123456789",
            "4294967295",
            "+5",
        ]);
        prop_oneof![
            8 => (key, value).prop_map(|(k, v)| format!("{k}={v}")),
            1 => Just("novalue".to_string()),
            1 => Just(String::new()),
        ]
    }
}
