//! Splits a byte stream into lines in constant memory: a line that fits in the reader's buffer
//! is handed out in place; one that straddles buffers is copied, and only its first bytes are
//! kept (a record longer than that is wrong whatever it holds), while its length is counted.

use std::io::{self, BufRead};

use memchr::memchr;

/// How a line ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Ending {
    Lf,
    CrLf,
    /// The last line of a file without a line end.
    None,
}

pub(crate) struct RawLine<'a> {
    /// The line without its line end; at most `keep` bytes of it.
    pub content: &'a [u8],
    /// The full length of the line without its line end.
    pub len: u64,
    pub ending: Ending,
    /// The first byte outside ASCII in the part of the line not kept in `content` (its 0-based
    /// column and value), so that what is reported of a long line does not depend on where a
    /// buffer happened to cut it.
    pub beyond: Option<(u64, u8)>,
}

impl<'a> RawLine<'a> {
    /// A line held whole.
    #[inline]
    pub fn whole(content: &'a [u8], ending: Ending) -> Self {
        Self {
            content,
            len: content.len() as u64,
            ending,
            beyond: None,
        }
    }
}

/// Where the first non-ASCII byte of `part` is, as a column of a line `at` bytes in.
pub(crate) fn first_non_ascii(part: &[u8], at: u64) -> Option<(u64, u8)> {
    let i = part.iter().position(|b| !b.is_ascii())?;
    Some((at + i as u64, part[i]))
}

pub(crate) struct LineSource<R> {
    src: R,
    scratch: Vec<u8>,
    /// The first non-ASCII byte of the open line past what `scratch` keeps.
    beyond: Option<(u64, u8)>,
    pending: usize,
    keep: usize,
    /// The usual length of a line (the record length): a line of that length is recognised by
    /// looking at its end instead of searching for it.
    hint: usize,
}

/// The position of the LF ending a line of `rest` that is `hint` bytes long before its line end
/// (LF or CRLF), if it is one; `None` says "search".
#[inline]
fn line_end_at_hint(rest: &[u8], hint: usize) -> Option<usize> {
    let (head, tail) = rest.split_at_checked(hint)?;
    let at = match tail {
        [b'\n', ..] => hint,
        [b'\r', b'\n', ..] => hint + 1,
        _ => return None,
    };
    // No LF inside the line (one pass without an early exit, so it vectorises).
    let mut lf = false;
    for &b in head {
        lf |= b == b'\n';
    }
    (!lf).then_some(at)
}

/// The position of the LF ending the first line of `rest`.
#[inline]
fn line_end(rest: &[u8], hint: usize) -> Option<usize> {
    line_end_at_hint(rest, hint).or_else(|| memchr(b'\n', rest))
}

impl<R: BufRead> LineSource<R> {
    /// `keep`: how many bytes of an over-long line to keep.
    /// `keep`: how many bytes of an over-long line to keep (one more than the usual length).
    pub fn new(src: R, keep: usize) -> Self {
        Self {
            src,
            scratch: Vec::with_capacity(keep + 2),
            beyond: None,
            pending: 0,
            keep,
            hint: keep.saturating_sub(1),
        }
    }

    fn fill(&mut self) -> io::Result<(Option<usize>, usize)> {
        loop {
            match self.src.fill_buf() {
                Ok(buf) => return Ok((line_end(buf, self.hint), buf.len())),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    pub fn next_line(&mut self) -> io::Result<Option<RawLine<'_>>> {
        if self.pending > 0 {
            self.src.consume(self.pending);
            self.pending = 0;
        }
        self.scratch.clear();
        self.beyond = None;
        let mut total: u64 = 0;
        // The last byte of the line so far, to recognise a CR before the LF.
        let mut last: Option<u8> = None;
        loop {
            let (nl, avail) = self.fill()?;
            if avail == 0 {
                if total == 0 {
                    return Ok(None);
                }
                return Ok(Some(RawLine {
                    content: &self.scratch,
                    len: total,
                    ending: Ending::None,
                    beyond: self.beyond,
                }));
            }
            match nl {
                Some(i) if total == 0 => {
                    // The whole line is in the buffer: hand it out in place.
                    self.pending = i + 1;
                    let buf = self.src.fill_buf()?;
                    let Some(line) = buf.get(..i) else {
                        return Err(io::Error::other("the reader's buffer changed between two reads"));
                    };
                    let (content, ending) = match line.split_last() {
                        Some((b'\r', rest)) => (rest, Ending::CrLf),
                        _ => (line, Ending::Lf),
                    };
                    return Ok(Some(RawLine::whole(content, ending)));
                }
                Some(i) => {
                    self.take(i, &mut total, &mut last)?;
                    self.src.consume(i + 1);
                    let ending = if last == Some(b'\r') {
                        total -= 1;
                        if self.scratch.len() as u64 > total {
                            self.scratch.truncate(total as usize);
                        }
                        Ending::CrLf
                    } else {
                        Ending::Lf
                    };
                    return Ok(Some(RawLine {
                        content: &self.scratch,
                        len: total,
                        ending,
                        beyond: self.beyond,
                    }));
                }
                None => {
                    self.take(avail, &mut total, &mut last)?;
                    self.src.consume(avail);
                }
            }
        }
    }

    /// Calls `f` with each line until it returns false or the input ends. Lines inside the
    /// reader's buffer are handed out without the per-line bookkeeping of [`Self::next_line`].
    pub fn for_each(&mut self, mut f: impl FnMut(&RawLine<'_>) -> bool) -> io::Result<()> {
        loop {
            if self.pending > 0 {
                self.src.consume(self.pending);
                self.pending = 0;
            }
            let (used, stop) = {
                let buf = loop {
                    match self.src.fill_buf() {
                        Ok(buf) => break buf,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                };
                if buf.is_empty() {
                    return Ok(());
                }
                let mut pos = 0;
                let mut stop = false;
                let hint = self.hint;
                while let Some(i) = buf.get(pos..).and_then(|rest| line_end(rest, hint)) {
                    let line = buf.get(pos..pos + i).unwrap_or_default();
                    let (content, ending) = match line.split_last() {
                        Some((b'\r', rest)) => (rest, Ending::CrLf),
                        _ => (line, Ending::Lf),
                    };
                    pos += i + 1;
                    let raw = RawLine::whole(content, ending);
                    if !f(&raw) {
                        stop = true;
                        break;
                    }
                }
                (pos, stop)
            };
            self.src.consume(used);
            if stop {
                return Ok(());
            }
            // What is left of the buffer is the start of a line: read it across buffers.
            match self.next_line()? {
                Some(raw) => {
                    if !f(&raw) {
                        return Ok(());
                    }
                }
                None => return Ok(()),
            }
        }
    }

    /// Appends the first `n` bytes of the buffer to the kept part of the line.
    fn take(&mut self, n: usize, total: &mut u64, last: &mut Option<u8>) -> io::Result<()> {
        let buf = self.src.fill_buf()?;
        let Some(part) = buf.get(..n) else {
            return Err(io::Error::other("the reader's buffer changed between two reads"));
        };
        let room = (self.keep + 1).saturating_sub(self.scratch.len());
        self.scratch.extend_from_slice(&part[..room.min(n)]);
        if self.beyond.is_none() && room < n {
            self.beyond = first_non_ascii(&part[room..], *total + room as u64);
        }
        if let Some(&b) = part.last() {
            *last = Some(b);
        }
        *total += n as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8], cap: usize) -> Vec<(Vec<u8>, u64, Ending)> {
        let mut src = LineSource::new(io::BufReader::with_capacity(cap, data), 8);
        let mut out = Vec::new();
        while let Ok(Some(l)) = src.next_line() {
            out.push((l.content[..l.content.len().min(9)].to_vec(), l.len, l.ending));
        }
        out
    }

    #[test]
    fn splits_in_place_and_across_buffers() {
        let data = b"abc\r\nde\n\nlonger than eight\r\nend";
        for cap in [1, 2, 3, 5, 64] {
            let got = lines(data, cap);
            assert_eq!(
                got,
                vec![
                    (b"abc".to_vec(), 3, Ending::CrLf),
                    (b"de".to_vec(), 2, Ending::Lf),
                    (Vec::new(), 0, Ending::Lf),
                    (b"longer th".to_vec(), 17, Ending::CrLf),
                    (b"end".to_vec(), 3, Ending::None),
                ],
                "buffer of {cap}"
            );
        }
    }

    #[test]
    fn for_each_sees_the_same_lines() {
        let data = b"abc\r\nde\n\nlonger than eight\r\nend";
        for cap in [1, 2, 3, 5, 64] {
            let mut src = LineSource::new(io::BufReader::with_capacity(cap, &data[..]), 8);
            let mut got = Vec::new();
            src.for_each(|l| {
                got.push((l.content[..l.content.len().min(9)].to_vec(), l.len, l.ending));
                true
            })
            .unwrap();
            assert_eq!(got, lines(data, cap), "buffer of {cap}");
        }
    }

    #[test]
    fn lone_cr_at_the_end_is_content() {
        assert_eq!(lines(b"ab\r", 64), vec![(b"ab\r".to_vec(), 3, Ending::None)]);
    }
}
