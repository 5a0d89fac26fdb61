//! Throughput and memory of the streaming audit (a benchmark, not a test).
//!
//! Synthesises a compliant market-scale trace of Cat A ports (9 rows each, about 20,000 ports
//! open at any time), writes it to a temporary CSV file, then reads it back twice: once parsing
//! only, once parsing and auditing as `lnpsim audit` does (the reader rules, then the auditor),
//! on one thread. Prints rows per second for both and the peak resident memory (`VmHWM` from
//! `/proc/self/status`).
//!
//! ```text
//! cargo bench -p lnp-audit --bench audit                     # 10 million rows
//! LNPSIM_BENCH_ROWS=1000000 cargo bench -p lnp-audit --bench audit
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::time::Instant;

use chrono::{NaiveDate, NaiveTime};
use lnp_audit::{Auditor, LogAudit, RowOrder};
use lnp_model::{
    BusinessCalendar, CarrierCode, Category, Detail, Message, MsgKind, PortRef, PortStatus, Rulebook, TelephoneNumber,
    Timestamp, TraceFormat, TraceReader, TraceRecord, TraceWriter,
};

const PORTS_PER_DAY: u64 = 4000;
const GAP_MS: i64 = 5_000;

/// The instants of one port's nine rows, in order.
fn port_times(cal: &BusinessCalendar, start: Timestamp) -> [Timestamp; 9] {
    let min = |m: i64| m * 60_000;
    let eca = cal.add_business_days(start, 5);
    let cutover = eca.plus_millis(min(6));
    [
        start,
        start.plus_millis(min(5)),
        eca,
        eca.plus_millis(min(5)),
        cutover,
        cutover,
        eca.plus_millis(min(10)),
        cal.add_business_days(cutover, 1),
        cal.add_business_days(cutover, 5),
    ]
}

fn record(seq: u64, port: u64, step: usize, time: Timestamp) -> Option<TraceRecord> {
    use MsgKind as K;
    let losing = CarrierCode::new(9001)?;
    let gaining = CarrierCode::new(9002)?;
    let kinds = [
        K::Sna,
        K::SnaConfirm,
        K::Eca,
        K::EcaConfirm,
        K::Cutover,
        K::DtrStart,
        K::Completion,
        K::PlnrPublish,
        K::DtrStop,
    ];
    let kind = kinds[step];
    let port_ref: PortRef = format!("SNA-{port:08}").parse().ok()?;
    let number = TelephoneNumber::from_nsn(200_000_000 + u32::try_from(port).ok()?).ok()?;
    let (from, to) = match kind {
        K::Sna | K::Eca => (gaining, Some(losing)),
        k if k.is_action() => (losing, None),
        _ => (losing, Some(gaining)),
    };
    let mut detail = Detail::default();
    if kind == K::Sna {
        detail.ca_date = Some(time.sydney_date());
    }
    if kind == K::PlnrPublish {
        detail.status = Some(PortStatus::C);
        detail.current = Some(gaining);
        detail.file_seq = Some(1);
    }
    let mut message = Message::new(kind, port_ref);
    message.category = Some(Category::A);
    message.numbers = lnp_model::Numbers::from_slice(&[number]);
    message.detail = detail;
    Some(TraceRecord {
        seq,
        time,
        from,
        to,
        message,
    })
}

/// Writes `rows` rows, merged in time order across overlapping ports.
fn synthesise(path: &std::path::Path, rows: u64, cal: &BusinessCalendar) -> std::io::Result<()> {
    let mut w = TraceWriter::new(BufWriter::with_capacity(1 << 20, File::create(path)?), TraceFormat::Csv);
    let mut day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default();
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default();
    let mut day_start = Timestamp::from_sydney_local(day.and_time(nine));
    let mut heap: BinaryHeap<Reverse<(Timestamp, u64, usize)>> = BinaryHeap::new();
    let mut times: std::collections::HashMap<u64, [Timestamp; 9]> = std::collections::HashMap::new();
    let (mut next_port, mut seq) = (0u64, 0u64);
    let mut next_start = day_start;
    while seq < rows {
        let start_new = heap.peek().is_none_or(|Reverse((t, _, _))| next_start <= *t);
        let (time, port, step) = if start_new {
            let t = port_times(cal, next_start);
            times.insert(next_port, t);
            let item = (next_start, next_port, 0);
            next_port += 1;
            if next_port % PORTS_PER_DAY == 0 {
                day = cal.next_business_day(day);
                day_start = Timestamp::from_sydney_local(day.and_time(nine));
                next_start = day_start;
            } else {
                next_start = next_start.plus_millis(GAP_MS);
            }
            item
        } else {
            let Some(Reverse(item)) = heap.pop() else { break };
            item
        };
        seq += 1;
        if let Some(r) = record(seq, port, step, time) {
            w.write(&r)?;
        }
        if step < 8 {
            if let Some(t) = times.get(&port) {
                heap.push(Reverse((t[step + 1], port, step + 1)));
            }
        } else {
            times.remove(&port);
        }
    }
    w.flush()
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of this process so far (user + system), from `/proc/self/stat`, in seconds; the
/// wall clock alone misleads on a busy machine.
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> std::io::Result<()> {
    let rows: u64 = std::env::var("LNPSIM_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let book = Rulebook::default();
    let cal = book.calendar();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.csv");

    #[allow(clippy::disallowed_methods, reason = "a benchmark measures wall-clock time")]
    let t0 = Instant::now(); // allow-clock
    synthesise(&path, rows, &cal)?;
    let size = std::fs::metadata(&path)?.len();
    println!(
        "synthesised {rows} rows ({:.1} MB) in {:.1?}",
        size as f64 / 1e6,
        t0.elapsed()
    );

    #[allow(clippy::disallowed_methods, reason = "a benchmark measures wall-clock time")]
    let t1 = Instant::now(); // allow-clock
    let c1 = cpu_secs();
    let mut parsed = 0u64;
    for row in TraceReader::new(BufReader::with_capacity(1 << 20, File::open(&path)?), TraceFormat::Csv)
        .map_err(std::io::Error::other)?
    {
        parsed += u64::from(row.is_ok());
    }
    let parse_secs = t1.elapsed().as_secs_f64();
    let parse_cpu = cpu_secs() - c1;
    println!(
        "parse only:    {parsed} rows in {parse_secs:.2} s = {:.0} rows/s (CPU {parse_cpu:.2} s = {:.0} rows/s)",
        parsed as f64 / parse_secs,
        parsed as f64 / parse_cpu.max(1e-9)
    );

    #[allow(clippy::disallowed_methods, reason = "a benchmark measures wall-clock time")]
    let t2 = Instant::now(); // allow-clock
    let c2 = cpu_secs();
    // The path `lnpsim audit` takes, on one thread: the reader rules (`RowOrder`) settle rows
    // into steps, which the auditor applies in order.
    let mut auditor = Auditor::new(&book, &cal, None);
    let mut order = RowOrder::new(LogAudit::DEFAULT_WINDOW);
    let mut steps = Vec::new();
    let mut max_open = 0usize;
    let mut reader = TraceReader::new(BufReader::with_capacity(1 << 20, File::open(&path)?), TraceFormat::Csv)
        .map_err(std::io::Error::other)?;
    let mut i = 0usize;
    while let Some(row) = reader.next() {
        match row {
            Ok(r) => order.push(reader.line(), r, &mut steps),
            Err(e) => order.push_malformed(e, &mut steps),
        }
        for step in steps.drain(..) {
            auditor.apply(&step);
        }
        if i.is_multiple_of(100_000) {
            max_open = max_open.max(auditor.open_ports());
        }
        i += 1;
    }
    order.finish(&mut steps);
    for step in steps.drain(..) {
        auditor.apply(&step);
    }
    let report = auditor.finish();
    let audit_secs = t2.elapsed().as_secs_f64();
    let audit_cpu = cpu_secs() - c2;
    let n = report.summary.rows as f64;
    println!(
        "parse + audit: {} rows in {audit_secs:.2} s = {:.0} rows/s (CPU {audit_cpu:.2} s = {:.0} rows/s; the audit \
         alone, CPU: {:.0} rows/s)",
        report.summary.rows,
        n / audit_secs,
        n / audit_cpu.max(1e-9),
        n / (audit_cpu - parse_cpu).max(1e-9)
    );
    println!(
        "findings: {}, malformed rows: {}, most ports held: {max_open}, peak RSS (VmHWM): {} MiB",
        report.findings.len(),
        report.malformed_rows.len(),
        peak_rss_kib().map_or_else(|| "?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
    );
    Ok(())
}
