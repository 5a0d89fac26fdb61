//! Benchmark (not a test): validate a large register from disk.
//!
//! `cargo bench -p lnp-plnr` generates a 10-million-record full snapshot (about 650 MB) into a
//! temporary folder, reads it once so that it is in the page cache, then validates it
//! `LNPSIM_BENCH_RUNS` times (default 3) single-threaded, line by line (`validate`) and a chunk
//! at a time (`Validation` with `RecordCheck::scan`), printing throughput, and the peak
//! resident memory of the validation alone (`VmHWM` from `/proc/self/status`, reset through
//! `/proc/self/clear_refs` after generating).
//!
//! - `LNPSIM_BENCH_RECORDS=N`: generate N records instead (e.g. 1000000 for a quick look).
//! - `LNPSIM_BENCH_FILE=PATH`: validate that file instead of generating one.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use lnp_model::CarrierCode;
use lnp_plnr::gen::{GenParams, Generator};
use lnp_plnr::{validate, Layout, LineEnd, PlnrReader, PlnrWriter, Scan, Validation};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time this thread has run, in seconds (`/proc/thread-self/schedstat`, nanoseconds): on a
/// shared machine, throughput per CPU second is steadier than per wall second.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(f64::NAN, |ns| ns as f64 / 1e9)
}

fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn generate(path: &PathBuf, records: u64) -> io::Result<()> {
    let params = GenParams {
        records,
        donor: CarrierCode::new(9001).ok_or_else(|| io::Error::other("carrier"))?,
        seed: 1,
        file_date: NaiveDate::from_ymd_opt(2026, 3, 2).ok_or_else(|| io::Error::other("date"))?,
        file_seq: 1,
    };
    let header = params.header();
    let gen = Generator::new(params).map_err(io::Error::other)?;
    let out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut w = PlnrWriter::new(out, &Layout::builtin(), &header, LineEnd::Lf)?;
    for r in gen {
        w.write_record(&r)?;
    }
    w.finish()?.flush()
}

fn validate_chunked(path: &PathBuf, layout: &Layout) -> io::Result<lnp_plnr::Report> {
    let mut file = File::open(path)?;
    let mut v = Validation::new("bench.plnr", layout, 100).map_err(io::Error::other)?;
    let mut buf = vec![0u8; 1 << 19];
    let mut scan = Scan::default();
    let mut carry = 0;
    loop {
        let mut filled = carry;
        while filled < buf.len() {
            match file.read(&mut buf[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        let ended = filled < buf.len();
        let cut = if ended {
            filled
        } else {
            buf[..filled]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(filled, |i| i + 1)
        };
        let chunk = &buf[..cut];
        let scanned = match v.record_check() {
            Some(check) => {
                check.scan(chunk, &mut scan);
                Some(&scan)
            }
            None => None,
        };
        v.feed(chunk, scanned, &mut |_| None, &mut |_| {});
        if ended {
            break;
        }
        buf.copy_within(cut..filled, 0);
        carry = filled - cut;
    }
    Ok(v.finish(&mut |_| None, &mut |_| {}))
}

fn main() -> io::Result<()> {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let runs = env_u64("LNPSIM_BENCH_RUNS", 3).max(1);
    let dir = tempfile::tempdir()?;
    let path = if let Ok(p) = std::env::var("LNPSIM_BENCH_FILE") {
        PathBuf::from(p)
    } else {
        let records = env_u64("LNPSIM_BENCH_RECORDS", 10_000_000);
        let p = dir.path().join("bench.plnr");
        #[allow(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
        let t = Instant::now(); // allow-clock
        generate(&p, records)?;
        println!("generated {records} records in {:.2} s", t.elapsed().as_secs_f64());
        p
    };
    let size = std::fs::metadata(&path)?.len();
    // Warm the page cache.
    io::copy(&mut File::open(&path)?, &mut io::sink())?;
    let peak_reset = reset_peak();
    let layout = Layout::builtin();
    let mut best = f64::MAX;
    let mut best_cpu = f64::MAX;
    for run in 1..=runs {
        let src = BufReader::with_capacity(1 << 18, File::open(&path)?);
        #[allow(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
        let t = Instant::now(); // allow-clock
        let c = cpu_secs();
        let report = validate(src, "bench.plnr", &layout, 100).map_err(io::Error::other)?;
        let cpu = cpu_secs() - c;
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        best_cpu = best_cpu.min(cpu);
        println!(
            "validate run {run}: {} lines, {} errors, wall {:.3} s, {:.2} GB/s, {:.1} M records/s; CPU {:.3} s, {:.2} GB/s",
            report.lines,
            report.errors.len(),
            secs,
            size as f64 / secs / 1e9,
            report.detail_count as f64 / secs / 1e6,
            cpu,
            size as f64 / cpu / 1e9
        );
        if !report.is_valid() {
            println!("  first error: {}", report.errors[0]);
        }
    }
    let hwm = vm_hwm_kib();
    // The chunked validator on this one thread: 512 KiB reads cut at line ends, each chunk
    // scanned (`RecordCheck::scan`) then fed in order (what `lnpsim plnr validate` does with
    // the scans on worker threads).
    let mut best_chunked = f64::MAX;
    for run in 1..=runs {
        #[allow(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
        let t = Instant::now(); // allow-clock
        let c = cpu_secs();
        let report = validate_chunked(&path, &layout)?;
        let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
        best_chunked = best_chunked.min(secs);
        println!(
            "chunked validate run {run}: {} lines, {} errors, wall {secs:.3} s, {:.2} GB/s; CPU {cpu:.3} s, {:.2} GB/s",
            report.lines,
            report.error_count,
            size as f64 / secs / 1e9,
            size as f64 / cpu / 1e9
        );
    }
    println!(
        "best chunked validate (one thread) wall {:.2} GB/s",
        size as f64 / best_chunked / 1e9
    );
    // The strict reader, which builds every record.
    let src = BufReader::with_capacity(1 << 18, File::open(&path)?);
    #[allow(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
    let t = Instant::now(); // allow-clock
    let c = cpu_secs();
    let mut reader = PlnrReader::new(src, "bench.plnr", &layout).map_err(io::Error::other)?;
    let mut n = 0u64;
    while reader.next_record().map_err(io::Error::other)?.is_some() {
        n += 1;
    }
    let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
    println!(
        "strict read (records): {n} records, wall {secs:.3} s, {:.2} GB/s; CPU {cpu:.3} s, {:.2} GB/s",
        size as f64 / secs / 1e9,
        size as f64 / cpu / 1e9
    );
    // The strict reader's lean path (the fields routing reads, nothing allocated per record).
    let src = BufReader::with_capacity(1 << 18, File::open(&path)?);
    #[allow(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
    let t = Instant::now(); // allow-clock
    let c = cpu_secs();
    let mut reader = PlnrReader::new(src, "bench.plnr", &layout).map_err(io::Error::other)?;
    let mut n = 0u64;
    while reader.next_brief().map_err(io::Error::other)?.is_some() {
        n += 1;
    }
    let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
    println!(
        "strict read (briefs): {n} records, wall {secs:.3} s, {:.2} GB/s; CPU {cpu:.3} s, {:.2} GB/s",
        size as f64 / secs / 1e9,
        size as f64 / cpu / 1e9
    );
    println!(
        "file {:.1} MB; best validate wall {:.2} GB/s, CPU {:.2} GB/s; peak RSS during validation {} ({})",
        size as f64 / 1e6,
        size as f64 / best / 1e9,
        size as f64 / best_cpu / 1e9,
        hwm.map_or("unknown".into(), |k| format!("{:.1} MB", k as f64 / 1024.0)),
        if peak_reset {
            "VmHWM reset after generating"
        } else {
            "VmHWM of the whole process, generation included"
        }
    );
    Ok(())
}
