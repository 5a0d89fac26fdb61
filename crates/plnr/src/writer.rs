//! The writer: formats each record by the layout, then runs the reader's own checks on the
//! line before writing it, so it writes exactly what the reader accepts (a record the reader
//! would reject is refused with `InvalidInput`). The trailer's totals are computed.

use std::io::{self, Write};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use crate::check::Checker;
use crate::diag::Diagnostic;
use crate::layout::{FieldKind, Layout, RecordLayout, Role};
use crate::lines::{Ending, RawLine};
use crate::types::{category_index, status_index, Header, LineEnd, Record};

/// A value to format into a field.
enum Out<'a> {
    Num(u64),
    Date(NaiveDate),
    Time(NaiveDateTime),
    Code(usize),
    Text(&'a str),
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn put_digits(dst: &mut [u8], mut v: u64) -> bool {
    for slot in dst.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    v == 0
}

fn put_date(dst: &mut [u8], d: NaiveDate) -> bool {
    let y = d.year();
    (1..=9999).contains(&y)
        && dst.len() >= 8
        && put_digits(&mut dst[..4], y as u64)
        && put_digits(&mut dst[4..6], u64::from(d.month()))
        && put_digits(&mut dst[6..8], u64::from(d.day()))
}

fn put_time(dst: &mut [u8], t: NaiveDateTime) -> bool {
    dst.len() >= 14
        && put_date(&mut dst[..8], t.date())
        && put_digits(&mut dst[8..10], u64::from(t.hour()))
        && put_digits(&mut dst[10..12], u64::from(t.minute()))
        && put_digits(&mut dst[12..14], u64::from(t.second()))
        && t.nanosecond() == 0
}

/// Formats one record into `buf` (already the record's length).
fn format<'a>(
    buf: &mut [u8],
    layout: &Layout,
    rec: &RecordLayout,
    value: impl Fn(Role) -> Option<Out<'a>>,
) -> io::Result<()> {
    buf.fill(b' ');
    let rt = &layout.record_type;
    if let Some(dst) = buf.get_mut(rt.start - 1..rt.start - 1 + rt.width) {
        dst.copy_from_slice(rec.code.as_bytes());
    }
    for f in &rec.fields {
        let Some(dst) = buf.get_mut(f.range()) else {
            continue;
        };
        let ok = match (&f.kind, f.role.and_then(&value)) {
            (FieldKind::Literal(v), _) => {
                dst.copy_from_slice(v.as_bytes());
                true
            }
            (FieldKind::Filler, _) => true,
            (FieldKind::Digits, Some(Out::Num(n))) => put_digits(dst, n),
            (FieldKind::Date, Some(Out::Date(d))) => put_date(dst, d),
            (FieldKind::Timestamp, Some(Out::Time(t))) => put_time(dst, t),
            (FieldKind::Codes(list), Some(Out::Code(i))) => match list.get(i) {
                Some(code) => {
                    dst.copy_from_slice(code.as_bytes());
                    true
                }
                None => false,
            },
            (FieldKind::Text, Some(Out::Text(s))) if s.len() <= dst.len() => {
                dst[..s.len()].copy_from_slice(s.as_bytes());
                true
            }
            _ => false,
        };
        if !ok {
            return Err(invalid(format!(
                "field \"{}\" ({} wide) cannot hold the value given",
                f.name, f.width
            )));
        }
    }
    Ok(())
}

/// Writes a register file: the header on creation, records one by one, the trailer on
/// [`PlnrWriter::finish`].
pub struct PlnrWriter<W: Write> {
    out: W,
    checker: Checker,
    line_end: LineEnd,
    final_line_end: bool,
    buf: Vec<u8>,
    errs: Vec<Diagnostic>,
    /// A refused record leaves the checker's counts ahead of the output: nothing more is written.
    failed: bool,
}

impl<W: Write> PlnrWriter<W> {
    /// Writes the header.
    pub fn new(out: W, layout: &Layout, header: &Header, line_end: LineEnd) -> io::Result<Self> {
        let checker = Checker::new(layout, "output").map_err(|e| invalid(e.to_string()))?;
        let mut w = Self {
            out,
            checker,
            line_end,
            final_line_end: true,
            buf: vec![b' '; layout.record_length],
            errs: Vec::new(),
            failed: false,
        };
        let l = w.checker.layout();
        format(&mut w.buf, l, &l.header, |role| match role {
            Role::Donor => Some(Out::Num(u64::from(header.donor.get()))),
            Role::FileDate => Some(Out::Date(header.file_date)),
            Role::FileSeq => Some(Out::Num(u64::from(header.file_seq))),
            Role::CreatedAt => Some(Out::Time(header.created_at)),
            Role::FileKind => Some(Out::Code(header.kind.index())),
            _ => None,
        })?;
        w.emit(true)?;
        Ok(w)
    }

    /// Whether the trailer ends with a line end (default: yes). A file read without a final
    /// line end is written back the same way.
    pub fn set_final_line_end(&mut self, yes: bool) {
        self.final_line_end = yes;
    }

    /// Detail records written so far.
    pub fn records_written(&self) -> u64 {
        self.checker.body_count()
    }

    pub fn write_record(&mut self, r: &Record) -> io::Result<()> {
        let l = self.checker.layout();
        format(&mut self.buf, l, &l.detail, |role| match role {
            Role::Action => Some(Out::Code(r.action.index())),
            Role::Number => Some(Out::Num(u64::from(r.number.nsn()))),
            Role::Current => Some(Out::Num(u64::from(r.current.get()))),
            Role::Losing => Some(Out::Num(u64::from(r.losing.get()))),
            Role::Status => Some(Out::Code(status_index(r.status))),
            Role::EffectiveAt => Some(Out::Time(r.effective_at)),
            Role::Category => Some(Out::Code(category_index(r.category))),
            Role::PortRef => Some(Out::Text(&r.port_ref)),
            _ => None,
        })?;
        self.emit(true)
    }

    /// Writes the trailer with the computed detail count and hash total, and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let count = self.checker.body_count();
        let hash = self.checker.hash_total();
        let l = self.checker.layout();
        format(&mut self.buf, l, &l.trailer, |role| match role {
            Role::DetailCount => Some(Out::Num(count)),
            Role::HashTotal => Some(Out::Num(hash)),
            _ => None,
        })?;
        self.emit(self.final_line_end)?;
        self.checker.finish(&mut self.errs);
        self.refuse()?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Checks the formatted line as the reader would, then writes it.
    fn emit(&mut self, line_end: bool) -> io::Result<()> {
        if self.failed {
            return Err(invalid(
                "an earlier record was refused; the file cannot be completed".into(),
            ));
        }
        let ending = match (line_end, self.line_end) {
            (false, _) => Ending::None,
            (true, LineEnd::Lf) => Ending::Lf,
            (true, LineEnd::CrLf) => Ending::CrLf,
        };
        let raw = RawLine::whole(&self.buf, ending);
        self.checker.line(&raw, &mut self.errs);
        self.refuse()?;
        self.out.write_all(&self.buf)?;
        if line_end {
            self.out.write_all(self.line_end.as_bytes())?;
        }
        Ok(())
    }

    fn refuse(&mut self) -> io::Result<()> {
        if self.errs.is_empty() {
            return Ok(());
        }
        self.failed = true;
        let text: Vec<String> = self.errs.drain(..).map(|d| d.to_string()).collect();
        Err(invalid(format!(
            "refusing to write what a reader would reject: {}",
            text.join("; ")
        )))
    }
}

/// Writes a whole file in the built-in layout with LF line ends.
pub fn write_file(header: &Header, records: &[Record]) -> io::Result<Vec<u8>> {
    let mut w = PlnrWriter::new(Vec::new(), &Layout::builtin(), header, LineEnd::Lf)?;
    for r in records {
        w.write_record(r)?;
    }
    w.finish()
}
