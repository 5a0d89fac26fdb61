//! The streaming reader (strict: stops at the first error) and the validator (reports every
//! error up to a limit). Both read line by line from a `BufRead` in constant memory.

use std::collections::BTreeMap;
use std::io::{self, BufRead};

use lnp_model::CarrierCode;
use thiserror::Error;

use crate::check::{Checker, Parsed, RawDetail};
use crate::diag::{quote, Diagnostic, ErrorKind, Subject};
use crate::layout::{Layout, LayoutError, Role};
use crate::lines::LineSource;
use crate::types::{Header, LineEnd, Record, RecordBrief, Trailer};

/// Why a file could not be read.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The source could not be read.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file breaks the layout (strict reading stops at the first error).
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    /// The layout itself is unusable.
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

/// Reads a register strictly: the header on construction, then one record per call, stopping
/// at the first error. After the last record, the trailer's totals are available.
pub struct PlnrReader<R> {
    lines: LineSource<R>,
    checker: Checker,
    header: Header,
    trailer: Option<Trailer>,
    errs: Vec<Diagnostic>,
    done: bool,
}

fn first_error(errs: &mut Vec<Diagnostic>) -> Option<ReadError> {
    let d = errs.drain(..).next()?;
    Some(ReadError::Invalid(Box::new(d)))
}

impl<R: BufRead> PlnrReader<R> {
    /// Reads the header. `name` is the file name diagnostics carry.
    pub fn new(src: R, name: &str, layout: &Layout) -> Result<Self, ReadError> {
        let mut checker = Checker::new(layout, name)?;
        let mut lines = LineSource::new(src, layout.record_length + 1);
        let mut errs = Vec::new();
        let header = match lines.next_line()? {
            None => {
                checker.finish(&mut errs);
                None
            }
            Some(raw) => match checker.line(&raw, &mut errs) {
                Parsed::Header(h) => Some(h),
                _ => None,
            },
        };
        if let Some(e) = first_error(&mut errs) {
            return Err(e);
        }
        let Some(header) = header else {
            return Err(io::Error::other("no header and no diagnostic: this is a bug in lnp-plnr").into());
        };
        Ok(Self {
            lines,
            checker,
            header,
            trailer: None,
            errs,
            done: false,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next detail record; `None` after the trailer, once the end of the file has been
    /// checked (detail count, hash total, nothing after the trailer).
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        #[allow(
            clippy::redundant_closure_for_method_calls,
            reason = "the method's lifetime is fixed by its impl, the closure's is not"
        )]
        match self.next_detail(|d| d.to_record())? {
            None => Ok(None),
            Some(Some(r)) => Ok(Some(r)),
            Some(None) => Err(io::Error::other("a checked time did not convert: this is a bug in lnp-plnr").into()),
        }
    }

    /// [`Self::next_record`] without building the record: the fields routing reads, checked
    /// exactly as strictly (every field of every line is checked), with nothing allocated per
    /// record.
    pub fn next_brief(&mut self) -> Result<Option<RecordBrief>, ReadError> {
        self.next_detail(|d| RecordBrief {
            action: d.action,
            number: d.number,
            current: d.current,
            losing: d.losing,
            status: d.status,
        })
    }

    /// The next good detail record, as `f` makes it.
    fn next_detail<T>(&mut self, f: impl FnOnce(RawDetail<'_>) -> T) -> Result<Option<T>, ReadError> {
        if self.done {
            return Ok(None);
        }
        loop {
            let Some(raw) = self.lines.next_line().inspect_err(|_| self.done = true)? else {
                self.done = true;
                self.checker.finish(&mut self.errs);
                return match first_error(&mut self.errs) {
                    Some(e) => Err(e),
                    None => Ok(None),
                };
            };
            let parsed = self.checker.line(&raw, &mut self.errs);
            if let Some(e) = first_error(&mut self.errs) {
                self.done = true;
                return Err(e);
            }
            match parsed {
                Parsed::Detail(d) => return Ok(Some(f(d))),
                Parsed::Trailer(t) => self.trailer = Some(t),
                Parsed::Header(_) | Parsed::Nothing => {}
            }
        }
    }

    /// The trailer's totals, once read.
    pub fn trailer(&self) -> Option<Trailer> {
        self.trailer
    }

    /// The file's line end (known from the header line on).
    pub fn line_end(&self) -> LineEnd {
        self.checker.line_end()
    }

    /// Whether the last line read ended with a line end (after the end: whether the file did).
    pub fn final_line_end(&self) -> bool {
        self.checker.final_line_end()
    }

    /// Reads every remaining record.
    pub fn read_all(mut self) -> Result<(Header, Vec<Record>), ReadError> {
        let mut records = Vec::new();
        while let Some(r) = self.next_record()? {
            records.push(r);
        }
        Ok((self.header, records))
    }
}

impl<R: BufRead> Iterator for PlnrReader<R> {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// What validating a file found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The header, when the first line is a good one.
    pub header: Option<Header>,
    /// Lines between the header and the trailer (what the trailer's detail count must say).
    pub detail_count: u64,
    /// The trailer's totals, when it is a good one.
    pub trailer: Option<Trailer>,
    /// Every error found, in line order, at most the limit given ([`validate`]; empty from
    /// [`validate_each`], which hands them out instead).
    pub errors: Vec<Diagnostic>,
    /// How many errors were found (at most the limit given).
    pub error_count: usize,
    /// Reading stopped at the limit; there may be more errors.
    pub truncated: bool,
    pub lines: u64,
    pub line_end: LineEnd,
    pub final_line_end: bool,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.error_count == 0
    }
}

/// Validates a whole file, reporting every error up to `max_errors` (0: no limit). Never
/// returns [`ReadError::Invalid`]: errors in the file are the report's.
pub fn validate(src: impl BufRead, name: &str, layout: &Layout, max_errors: usize) -> Result<Report, ReadError> {
    let mut errors = Vec::new();
    let mut report = validate_each(src, name, layout, max_errors, |_| None, |d| errors.push(d))?;
    report.errors = errors;
    Ok(report)
}

/// Validates a whole file as [`validate`] does, handing each error to `on_error` as it is found
/// instead of holding them, so that memory stays bounded however many errors a file has. The
/// report's `errors` is empty; `error_count` says how many were handed out. `on_header` sees a
/// good header as soon as it is read and may add an error of its own on that line (a gap in
/// the file sequence, which needs the files before it).
pub fn validate_each(
    src: impl BufRead,
    name: &str,
    layout: &Layout,
    max_errors: usize,
    mut on_header: impl FnMut(&Header) -> Option<Diagnostic>,
    mut on_error: impl FnMut(Diagnostic),
) -> Result<Report, ReadError> {
    let mut checker = Checker::new(layout, name)?;
    let mut lines = LineSource::new(src, layout.record_length + 1);
    let mut errors = Vec::new();
    let mut header = None;
    let mut trailer = None;
    let limit = if max_errors == 0 { usize::MAX } else { max_errors };
    let mut count = 0usize;
    let mut truncated = false;
    let mut hand_out = |errors: &mut Vec<Diagnostic>, count: &mut usize| {
        for d in errors.drain(..) {
            if *count < limit {
                on_error(d);
            }
            *count += 1;
        }
    };
    lines.for_each(|raw| {
        match checker.line(raw, &mut errors) {
            Parsed::Header(h) => {
                errors.extend(on_header(&h));
                header = Some(h);
            }
            Parsed::Trailer(t) => trailer = Some(t),
            Parsed::Detail(_) | Parsed::Nothing => {}
        }
        hand_out(&mut errors, &mut count);
        truncated = count >= limit;
        !truncated
    })?;
    if !truncated {
        checker.finish(&mut errors);
        hand_out(&mut errors, &mut count);
    }
    if count > limit {
        truncated = true;
    }
    Ok(Report {
        header,
        detail_count: checker.body_count(),
        trailer,
        errors: Vec::new(),
        error_count: count.min(limit),
        truncated,
        lines: checker.line_no(),
        line_end: checker.line_end(),
        final_line_end: checker.final_line_end(),
    })
}

/// Checks that each donor's files follow one another: each file's sequence is one more than
/// the same donor's previous file given.
#[derive(Default)]
pub struct SequenceCheck {
    last: BTreeMap<CarrierCode, (String, u32)>,
}

impl SequenceCheck {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a file's header; a gap (or a step back) after the same donor's previous file is
    /// reported on line 1 at the file sequence field.
    pub fn check(&mut self, file: &str, header: &Header, layout: &Layout) -> Option<Diagnostic> {
        let previous = self.last.insert(header.donor, (file.to_string(), header.file_seq));
        let (prev_file, prev_seq) = previous?;
        let want = prev_seq.checked_add(1)?;
        if header.file_seq == want {
            return None;
        }
        let f = layout.header.field(Role::FileSeq)?;
        let w = f.width;
        Some(Diagnostic {
            file: file.to_string(),
            line: 1,
            kind: ErrorKind::SequenceGap,
            subject: Subject::Field {
                name: f.name.clone(),
                first: f.start,
                last: f.end(),
            },
            found: quote(format!("{:0w$}", header.file_seq).as_bytes()),
            expected: format!("\"{want:0w$}\" (one more than {prev_file}'s {prev_seq:0w$})"),
        })
    }
}
