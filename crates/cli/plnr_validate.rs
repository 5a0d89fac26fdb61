//! `lnpsim plnr validate`'s reading of one file, in chunks of [`CHUNK`] bytes, a few in flight
//! at once. Worker threads run each record's own checks over a chunk ([`RecordCheck::scan`]);
//! a regular file is also read by the workers, each chunk at its own offset (so the copying
//! out of the page cache is shared too), while a pipe is read here, each chunk cut after its
//! last line end. This thread feeds the chunks in file order to the [`Validation`], which does
//! the checks that need the records before and the full check of every line a scan did not
//! pass. The report and every error, in order, are those of `lnp_plnr::validate_each`, for any
//! number of threads; memory is the chunks in flight (at most [`MAX_IN_FLIGHT`]), whatever the
//! file's size.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::{mpsc, Arc, Mutex};

use lnp_plnr::{Diagnostic, Header, Layout, ReadError, RecordCheck, Report, Scan, Validation};

/// Bytes read at a time.
const CHUNK: usize = 1 << 19;

/// At most this many chunks in memory (4.5 MiB), so that with the duplicate check's 50 MB at
/// most a validation stays within 64 MB of memory.
const MAX_IN_FLIGHT: usize = 9;

/// What to validate: a file read at offsets, or a stream read in order.
pub enum Source<'a> {
    File(&'a File),
    Stream(&'a mut dyn Read),
}

/// A chunk on its way: its place in the file, its bytes and, once scanned, its scan.
struct Job {
    seq: u64,
    /// Where a file's chunk starts (read by whoever takes the job); `None` for a stream's,
    /// read already.
    offset: Option<u64>,
    buf: Vec<u8>,
    len: usize,
    scan: Scan,
    scanned: bool,
    check: Option<Arc<RecordCheck>>,
    error: Option<io::Error>,
}

/// How many threads scan chunks: `threads`, or every core when 0.
pub fn scan_threads(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        n => n,
    }
    .clamp(1, 64)
}

/// Reads into `buf` after `carry` (the start of a line the chunk before left) until it is full
/// or the stream ends; how many bytes it holds and whether the stream ended.
fn fill(src: &mut dyn Read, buf: &mut [u8], carry: &mut Vec<u8>) -> io::Result<(usize, bool)> {
    let mut filled = carry.len();
    buf[..filled].copy_from_slice(carry);
    carry.clear();
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => return Ok((filled, true)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((filled, false))
}

/// Reads a file's bytes from `offset` into `buf` until it is full or the file ends.
fn fill_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A job's work off the feeding thread: reading a file's chunk, then the scan.
fn work(job: &mut Job, file: Option<&File>) {
    if let (Some(offset), Some(file)) = (job.offset, file) {
        match fill_at(file, &mut job.buf, offset) {
            Ok(n) => job.len = n,
            Err(e) => {
                job.error = Some(e);
                return;
            }
        }
    }
    if let Some(check) = &job.check {
        let chunk = &job.buf[..job.len];
        if job.offset.is_some() {
            // Cut at an offset: the chunk begins inside a line, or at one the full check takes.
            check.scan_after_first_line_end(chunk, &mut job.scan);
        } else {
            check.scan(chunk, &mut job.scan);
        }
        job.scanned = true;
    }
}

/// Validates `src` as `lnp_plnr::validate_each` does, on `threads` threads (1: this one).
pub fn validate_source(
    mut src: Source<'_>,
    name: &str,
    layout: &Layout,
    max_errors: usize,
    threads: usize,
    on_header: &mut dyn FnMut(&Header) -> Option<Diagnostic>,
    on_error: &mut dyn FnMut(Diagnostic),
) -> Result<Report, ReadError> {
    let mut v = Validation::new(name, layout, max_errors)?;
    let workers = if threads > 1 { threads } else { 0 };
    let file = match &src {
        Source::File(f) => Some(*f),
        Source::Stream(_) => None,
    };
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (done_tx, done_rx) = mpsc::channel::<Job>();
    let job_rx = Mutex::new(job_rx);
    let result = std::thread::scope(|s| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            s.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(mut job) = job else { return };
                work(&mut job, file);
                if done_tx.send(job).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        let mut pump = Pump {
            v: &mut v,
            // Two chunks per worker keep each busy while this thread feeds, one more is read; at
            // most [`MAX_IN_FLIGHT`] whatever the number of threads.
            in_flight: (2 * workers.max(1) + 1).min(MAX_IN_FLIGHT),
            threaded: workers > 0,
            job_tx: &job_tx,
            done_rx: &done_rx,
        };
        let r = pump.run(&mut src, on_header, on_error);
        // The workers stop when the jobs' sender is gone.
        drop(job_tx);
        r
    });
    result?;
    Ok(v.finish(on_header, on_error))
}

struct Pump<'a> {
    v: &'a mut Validation,
    in_flight: usize,
    threaded: bool,
    job_tx: &'a mpsc::Sender<Job>,
    done_rx: &'a mpsc::Receiver<Job>,
}

impl Pump<'_> {
    /// Reads chunks (or has them read), hands them to the workers (or does their work here),
    /// and feeds them in order.
    fn run(
        &mut self,
        src: &mut Source<'_>,
        on_header: &mut dyn FnMut(&Header) -> Option<Diagnostic>,
        on_error: &mut dyn FnMut(Diagnostic),
    ) -> Result<(), ReadError> {
        let mut pool: Vec<(Vec<u8>, Scan)> = Vec::new();
        let mut made = 0;
        let mut ready: BTreeMap<u64, Job> = BTreeMap::new();
        let (mut next_read, mut next_feed) = (0u64, 0u64);
        let mut carry = Vec::new();
        // The end of the input was read (or fed, for a file), or reading failed.
        let mut ended = false;
        let mut failed: Option<io::Error> = None;
        let mut check: Option<Arc<RecordCheck>> = None;
        loop {
            while let Some(mut job) = ready.remove(&next_feed) {
                next_feed += 1;
                if let Some(e) = job.error.take() {
                    // What was read before is reported first, as a line-by-line read would.
                    failed.get_or_insert(e);
                    ended = true;
                }
                let past_end = job.offset.is_some() && ended;
                if !past_end && failed.is_none() && !self.v.stopped() {
                    let scan = job.scanned.then_some(&job.scan);
                    self.v.feed(&job.buf[..job.len], scan, on_header, on_error);
                    if job.offset.is_some() && job.len < job.buf.len() {
                        // A file's short chunk is its end; any read after it is not fed.
                        ended = true;
                    }
                }
                pool.push((job.buf, job.scan));
                if check.is_none() {
                    check = self.v.record_check().map(Arc::new);
                }
            }
            // A file's chunks wait for the first, which tells whether records can be scanned.
            let is_file = matches!(src, Source::File(_));
            let first_pending = is_file && next_feed == 0 && next_read > 0;
            let can_read = !(ended || failed.is_some() || self.v.stopped() || first_pending);
            if can_read && (!pool.is_empty() || made < self.in_flight) {
                let (buf, scan) = pool.pop().unwrap_or_else(|| {
                    made += 1;
                    (vec![0; CHUNK], Scan::default())
                });
                let mut job = Job {
                    seq: next_read,
                    offset: None,
                    buf,
                    len: 0,
                    scan,
                    scanned: false,
                    check: check.clone(),
                    error: None,
                };
                next_read += 1;
                match src {
                    Source::File(_) => job.offset = Some((job.seq) * CHUNK as u64),
                    Source::Stream(r) => match fill(&mut **r, &mut job.buf, &mut carry) {
                        Ok((filled, true)) => {
                            ended = true;
                            job.len = filled;
                        }
                        Ok((filled, false)) => {
                            // Up to the last line end; a chunk without one is a piece of a long line.
                            let cut = job.buf[..filled]
                                .iter()
                                .rposition(|&b| b == b'\n')
                                .map_or(filled, |i| i + 1);
                            carry.extend_from_slice(&job.buf[cut..filled]);
                            job.len = cut;
                        }
                        Err(e) => job.error = Some(e),
                    },
                }
                let file = match src {
                    Source::File(f) => Some(&**f),
                    Source::Stream(_) => None,
                };
                if self.threaded && job.error.is_none() {
                    if let Err(mpsc::SendError(mut job)) = self.job_tx.send(job) {
                        work(&mut job, file);
                        ready.insert(job.seq, job);
                    }
                } else {
                    if job.error.is_none() {
                        work(&mut job, file);
                    }
                    ready.insert(job.seq, job);
                }
                continue;
            }
            if next_feed == next_read {
                break;
            }
            match self.done_rx.recv() {
                Ok(job) => {
                    ready.insert(job.seq, job);
                }
                Err(_) => return Err(io::Error::other("a validation thread stopped").into()),
            }
        }
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}
