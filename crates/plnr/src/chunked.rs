//! Validation a chunk at a time, so that a caller can check the records of several chunks at
//! once (on threads of its own: this crate has none) and still report exactly what
//! [`crate::validate_each`] reports, in the same order.
//!
//! Each detail record's own checks (its length and line end, every field, what a snapshot may
//! hold, the action against the donor) need nothing but the header: [`RecordCheck::scan`] runs
//! them over a chunk of whole lines and notes, per line, either the number of a record that
//! passed them all or that the line needs the full check. [`Validation::feed`] then takes the
//! chunks in file order and does what needs the records before: line numbers, counts, the hash
//! total, duplicates, where headers and trailers stand; and the full check, with its
//! diagnostics, on every line the scan did not pass. A chunk fed without a scan is checked line
//! by line, so the result never depends on how a file is cut or which chunks were scanned. A
//! chunk may also be cut anywhere and scanned after its first line end
//! ([`RecordCheck::scan_after_first_line_end`]), for chunks read at fixed offsets.
//!
//! ```
//! use lnp_plnr::gen::{GenParams, Generator};
//! use lnp_plnr::{Layout, RecordCheck, Scan, Validation};
//!
//! let params = GenParams {
//!     records: 1000,
//!     donor: lnp_model::CarrierCode::new(9001).unwrap(),
//!     seed: 1,
//!     file_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
//!     file_seq: 1,
//! };
//! let records: Vec<_> = Generator::new(params.clone()).unwrap().collect();
//! let file = lnp_plnr::write_file(&params.header(), &records).unwrap();
//! let layout = Layout::builtin();
//! let mut v = Validation::new("f.plnr", &layout, 100).unwrap();
//! let (first, rest) = file.split_at(file.iter().position(|&b| b == b'\n').unwrap() + 1);
//! let mut errors = Vec::new();
//! v.feed(first, None, &mut |_| None, &mut |d| errors.push(d));
//! let check: RecordCheck = v.record_check().unwrap();
//! let mut scan = Scan::default();
//! check.scan(rest, &mut scan); // this part may run on another thread
//! assert_eq!(scan.passed(), 1000);
//! v.feed(rest, Some(&scan), &mut |_| None, &mut |d| errors.push(d));
//! let report = v.finish(&mut |_| None, &mut |d| errors.push(d));
//! assert!(report.is_valid() && errors.is_empty() && report.detail_count == 1000);
//! ```

use memchr::memchr;

use crate::check::{Checker, Columns, Parsed, RecordContext};
use crate::diag::Diagnostic;
use crate::layout::Layout;
use crate::lines::{Ending, RawLine};
use crate::reader::{ReadError, Report};
use crate::types::{FileKind, Header};
use lnp_model::CarrierCode;

/// A line the scan did not pass.
const CAREFUL: u32 = u32::MAX;

/// The checks of one detail record on its own, for the file whose header a [`Validation`] has
/// read. Plain data: share it between threads.
#[derive(Clone, Debug)]
pub struct RecordCheck {
    ctx: RecordContext,
}

type Key = (Option<Ending>, Option<CarrierCode>, Option<FileKind>);

/// What [`RecordCheck::scan`] found in a chunk: per line, the number of a record that passed
/// every check of its own, or that the line needs the full check. Reuse one to spare
/// allocations.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    /// Where the first line scanned starts.
    start: usize,
    marks: Vec<u32>,
    bytes: usize,
    key: Option<Key>,
}

impl Scan {
    /// How many lines the scan saw.
    pub fn lines(&self) -> usize {
        self.marks.len()
    }

    /// How many of them passed.
    pub fn passed(&self) -> usize {
        self.marks.iter().filter(|&&m| m != CAREFUL).count()
    }
}

impl RecordCheck {
    /// Checks each line of `chunk` (whole lines, from a line's start; a last line without its
    /// line end is left to the full check) as a detail record of the body of the file.
    pub fn scan(&self, chunk: &[u8], scan: &mut Scan) {
        self.scan_from(chunk, 0, scan);
    }

    /// [`Self::scan`] of the lines after the chunk's first line end, for a chunk cut anywhere
    /// (at a fixed offset of the file, say): what comes before is the end of a line begun in
    /// the chunk before, or a line the full check takes.
    pub fn scan_after_first_line_end(&self, chunk: &[u8], scan: &mut Scan) {
        let start = memchr(b'\n', chunk).map_or(chunk.len(), |i| i + 1);
        self.scan_from(chunk, start, scan);
    }

    fn scan_from(&self, chunk: &[u8], start: usize, scan: &mut Scan) {
        let ctx = &self.ctx;
        scan.marks.clear();
        scan.start = start;
        scan.bytes = chunk.len();
        scan.key = Some((Some(ctx.ending), Some(ctx.donor), Some(ctx.kind)));
        let len = ctx.record_length;
        // A PLNR-SIM/1 file's records are checked with every field at a constant place.
        let builtin = ctx.fast.columns == Columns::BUILTIN && len == Columns::BUILTIN.record_length;
        match ctx.ending {
            Ending::Lf if builtin => self.scan_lines::<64, 65>(&Columns::BUILTIN, chunk, start, scan),
            Ending::CrLf if builtin => self.scan_lines::<64, 66>(&Columns::BUILTIN, chunk, start, scan),
            Ending::Lf => self.scan_lines_of(len, len + 1, &ctx.fast.columns, chunk, start, scan),
            Ending::CrLf => self.scan_lines_of(len, len + 2, &ctx.fast.columns, chunk, start, scan),
            // A first line without a line end is the whole file: no body.
            Ending::None => self.scan_lines_of(len, usize::MAX / 2, &ctx.fast.columns, chunk, start, scan),
        }
    }

    /// [`Self::scan_lines_of`] for records of `LEN` bytes, `STEP` with their line end, known
    /// when this is compiled.
    #[inline(never)]
    fn scan_lines<const LEN: usize, const STEP: usize>(
        &self,
        columns: &Columns,
        chunk: &[u8],
        start: usize,
        scan: &mut Scan,
    ) {
        self.scan_lines_of(LEN, STEP, columns, chunk, start, scan);
    }

    /// The scan of the lines from `start`, each a record of `len` bytes (the file's) and its
    /// line end, `step` bytes in all, when good.
    #[allow(clippy::inline_always, reason = "made once for each of `scan_lines`'s constants")]
    #[inline(always)]
    fn scan_lines_of(&self, len: usize, step: usize, columns: &Columns, chunk: &[u8], start: usize, scan: &mut Scan) {
        let ctx = &self.ctx;
        let full = ctx.kind == FileKind::Full;
        let check_ends = !ctx.plan.no_line_ends();
        scan.marks.reserve(chunk.len().saturating_sub(start) / step.max(1) + 1);
        let mut pos = start;
        while pos < chunk.len() {
            let mut passed = None;
            if let Some((content, end)) = chunk
                .get(pos..pos.saturating_add(step))
                .and_then(|l| l.split_at_checked(len))
            {
                let end_ok = match end {
                    [b'\n'] => ctx.ending == Ending::Lf,
                    [b'\r', b'\n'] => ctx.ending == Ending::CrLf,
                    _ => false,
                };
                if end_ok && !(check_ends && content.iter().any(|&b| b == b'\n' || b == b'\r')) {
                    passed = ctx.fast.clean_nsn(columns, &ctx.plan, ctx.donor, full, content);
                }
            }
            if let Some(nsn) = passed {
                scan.marks.push(nsn);
                pos += step;
            } else {
                scan.marks.push(CAREFUL);
                pos = memchr(b'\n', &chunk[pos..]).map_or(chunk.len(), |i| pos + i + 1);
            }
        }
    }
}

/// The start of a line that runs past the chunk it began in: its first bytes (as many as the
/// line reader keeps), its length so far and its last byte.
#[derive(Default)]
struct Partial {
    scratch: Vec<u8>,
    total: u64,
    last: Option<u8>,
    beyond: Option<(u64, u8)>,
}

/// Validates a file fed a chunk at a time, in file order; what [`crate::validate_each`] does
/// for a whole source.
pub struct Validation {
    checker: Checker,
    keep: usize,
    partial: Partial,
    errors: Vec<Diagnostic>,
    header: Option<Header>,
    trailer: Option<crate::types::Trailer>,
    limit: usize,
    count: usize,
    truncated: bool,
}

impl Validation {
    /// `name` is the file name diagnostics carry; `max_errors` as for [`crate::validate`].
    pub fn new(name: &str, layout: &Layout, max_errors: usize) -> Result<Self, ReadError> {
        let checker = Checker::new(layout, name)?;
        Ok(Self {
            checker,
            keep: layout.record_length + 1,
            partial: Partial::default(),
            errors: Vec::new(),
            header: None,
            trailer: None,
            limit: if max_errors == 0 { usize::MAX } else { max_errors },
            count: 0,
            truncated: false,
        })
    }

    /// The checks one detail record needs, once line 1 has been fed (`None` before, when line 1
    /// was no good header, or for a layout without fixed one-character codes).
    pub fn record_check(&self) -> Option<RecordCheck> {
        self.checker.record_context().map(|ctx| RecordCheck { ctx })
    }

    /// Whether reporting stopped at the error limit (nothing more is taken then).
    pub fn stopped(&self) -> bool {
        self.truncated
    }

    /// Takes the next bytes of the file, any amount (a line may run on into the next chunk);
    /// `scan`, if given, is the scan of exactly these bytes by this file's [`RecordCheck`] (a
    /// scan of other bytes, or while a line from the chunk before is still open, is ignored).
    /// `on_header` sees a good header and may add an error of its own on its line; each error
    /// goes to `on_error` as it is found. False once the error limit is reached.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        scan: Option<&Scan>,
        on_header: &mut dyn FnMut(&Header) -> Option<Diagnostic>,
        on_error: &mut dyn FnMut(Diagnostic),
    ) -> bool {
        if self.truncated {
            return false;
        }
        let mut pos = 0;
        if self.partial.total > 0 {
            let Some(i) = memchr(b'\n', chunk) else {
                self.take(chunk);
                return true;
            };
            self.take(chunk.get(..i).unwrap_or_default());
            pos = i + 1;
            if !self.close_partial(true, on_header, on_error) {
                return false;
            }
        }
        let key = self.checker.context_key();
        if let Some(s) = scan.filter(|s| s.bytes == chunk.len() && s.key == Some(key)) {
            // The lines before the scan's first, the full way.
            while pos < s.start {
                match self.careful_line(chunk, pos, on_header, on_error) {
                    Some(next) => pos = next,
                    None => return false,
                }
            }
            if pos == s.start {
                return self.feed_scanned(chunk, s, on_header, on_error);
            }
        }
        self.feed_lines(chunk, pos, on_header, on_error)
    }

    fn feed_scanned(
        &mut self,
        chunk: &[u8],
        scan: &Scan,
        on_header: &mut dyn FnMut(&Header) -> Option<Diagnostic>,
        on_error: &mut dyn FnMut(Diagnostic),
    ) -> bool {
        let Some(ending) = self.checker.context_key().0 else {
            return self.feed_lines(chunk, scan.start, on_header, on_error);
        };
        let step = self.checker.layout().record_length + if ending == Ending::CrLf { 2 } else { 1 };
        let mut pos = scan.start;
        let marks = &scan.marks;
        let mut i = 0;
        while i < marks.len() && pos < chunk.len() {
            if self.checker.in_body() {
                // A run of passed lines, each within the chunk.
                let most = (chunk.len() - pos) / step;
                let run = marks.get(i..marks.len().min(i + most)).unwrap_or_default();
                let taken = self.checker.accept_clean_run(run, CAREFUL, ending);
                if taken > 0 {
                    i += taken;
                    pos += taken * step;
                    continue;
                }
            }
            match self.careful_line(chunk, pos, on_header, on_error) {
                Some(next) => pos = next,
                None => return false,
            }
            i += 1;
        }
        // Only if the scan was of other bytes after all.
        self.feed_lines(chunk, pos, on_header, on_error)
    }

    /// Every line from `pos` on, each the full way.
    fn feed_lines(
        &mut self,
        chunk: &[u8],
        mut pos: usize,
        on_header: &mut dyn FnMut(&Header) -> Option<Diagnostic>,
        on_error: &mut dyn FnMut(Diagnostic),
    ) -> bool {
        while pos < chunk.len() {
            match self.careful_line(chunk, pos, on_header, on_error) {
                Some(next) => pos = next,
                None => return false,
            }
        }
        true
    }

    /// The line at `pos` the full way (or, without its line end, kept as the start of a line
    /// that goes on in the next chunk); where the next line starts, `None` at the error limit.
    fn careful_line(
        &mut self,
        chunk: &[u8],
        pos: usize,
        on_header: &mut dyn FnMut(&Header) -> Option<Diagnostic>,
        on_error: &mut dyn FnMut(Diagnostic),
    ) -> Option<usize> {
        let rest = chunk.get(pos..).unwrap_or_default();
        let Some(i) = memchr(b'\n', rest) else {
            self.take(rest);
            return Some(chunk.len());
        };
        let line = rest.get(..i).unwrap_or_default();
        let (content, ending) = match line.split_last() {
            Some((b'\r', head)) => (head, Ending::CrLf),
            _ => (line, Ending::Lf),
        };
        let raw = RawLine::whole(content, ending);
        self.line(&raw, on_header, on_error).then_some(pos + i + 1)
    }

    fn line(
        &mut self,
        raw: &RawLine<'_>,
        on_header: &mut dyn FnMut(&Header) -> Option<Diagnostic>,
        on_error: &mut dyn FnMut(Diagnostic),
    ) -> bool {
        match self.checker.line(raw, &mut self.errors) {
            Parsed::Header(h) => {
                self.errors.extend(on_header(&h));
                self.header = Some(h);
            }
            Parsed::Trailer(t) => self.trailer = Some(t),
            Parsed::Detail(_) | Parsed::Nothing => {}
        }
        self.hand_out(on_error);
        self.truncated = self.count >= self.limit;
        !self.truncated
    }

    fn hand_out(&mut self, on_error: &mut dyn FnMut(Diagnostic)) {
        for d in self.errors.drain(..) {
            if self.count < self.limit {
                on_error(d);
            }
            self.count += 1;
        }
    }

    /// Appends to the open line, keeping its first bytes only (as the line reader does).
    fn take(&mut self, part: &[u8]) {
        let p = &mut self.partial;
        let room = (self.keep + 1).saturating_sub(p.scratch.len());
        p.scratch
            .extend_from_slice(part.get(..room.min(part.len())).unwrap_or_default());
        if p.beyond.is_none() {
            if let Some(past) = part.get(room..) {
                p.beyond = crate::lines::first_non_ascii(past, p.total + room as u64);
            }
        }
        if let Some(&b) = part.last() {
            p.last = Some(b);
        }
        p.total += part.len() as u64;
    }

    /// Checks the open line: ended by an LF (`ended`), or the file's last line.
    fn close_partial(
        &mut self,
        ended: bool,
        on_header: &mut dyn FnMut(&Header) -> Option<Diagnostic>,
        on_error: &mut dyn FnMut(Diagnostic),
    ) -> bool {
        let mut p = std::mem::take(&mut self.partial);
        let ending = if !ended {
            Ending::None
        } else if p.last == Some(b'\r') {
            p.total -= 1;
            if p.scratch.len() as u64 > p.total {
                p.scratch.truncate(p.total as usize);
            }
            Ending::CrLf
        } else {
            Ending::Lf
        };
        let raw = RawLine {
            content: &p.scratch,
            len: p.total,
            ending,
            beyond: p.beyond,
        };
        let go_on = self.line(&raw, on_header, on_error);
        // Keep the allocation for the next long line.
        p.scratch.clear();
        self.partial = Partial {
            scratch: p.scratch,
            ..Partial::default()
        };
        go_on
    }

    /// After the last chunk: the checks of the file's end, and the report (its `errors` empty,
    /// as from [`crate::validate_each`]).
    pub fn finish(
        mut self,
        on_header: &mut dyn FnMut(&Header) -> Option<Diagnostic>,
        on_error: &mut dyn FnMut(Diagnostic),
    ) -> Report {
        if !self.truncated && self.partial.total > 0 {
            self.close_partial(false, on_header, on_error);
        }
        if !self.truncated {
            self.checker.finish(&mut self.errors);
            self.hand_out(on_error);
        }
        if self.count > self.limit {
            self.truncated = true;
        }
        Report {
            header: self.header,
            detail_count: self.checker.body_count(),
            trailer: self.trailer,
            errors: Vec::new(),
            error_count: self.count.min(self.limit),
            truncated: self.truncated,
            lines: self.checker.line_no(),
            line_end: self.checker.line_end(),
            final_line_end: self.checker.final_line_end(),
        }
    }
}
