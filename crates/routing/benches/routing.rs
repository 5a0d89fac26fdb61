//! Market-scale routing table benchmark (not a test): `cargo bench -p lnp-routing`.
//!
//! Generates a national-sized market from a fixed seed (allocations in blocks of 10,000 numbers,
//! a quarter of each block ported), writes each donor's PLNR-SIM/1 snapshot and one update file,
//! then measures:
//! 1. building the table from the files (read and parsed by `lnp-plnr`), and from the same records
//!    already in memory (the table build alone);
//! 2. the table's bytes per ported number and the process's peak memory (`VmHWM`);
//! 3. random lookups per second on one core, against a `HashMap<u64, u16>` (`SipHash`) and a
//!    `FastMap<u32, u16>` (fast hash) baseline on the same probes in the same run; each loop
//!    sums the carriers it found, and the sums must agree (so no loop can be optimised away and
//!    every path answers alike).
//!
//! `LNP_BENCH_NUMBERS` sets how many numbers are ported (default 10,000,000).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lnp_model::{CarrierCode, NumberRange, PortStatus, TelephoneNumber};
use lnp_plnr::{Action, FileKind};
use lnp_routing::{Allocations, Change, RoutingTable, TableBuilder};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

const BLOCK: u32 = 10_000;
const DONORS: u16 = 40;
const FIRST_DONOR: u16 = 1000;

fn now() -> Instant {
    #[allow(clippy::disallowed_methods, reason = "a benchmark measures wall-clock time")]
    Instant::now() // allow-clock
}

fn carrier(code: u16) -> CarrierCode {
    CarrierCode::new(code).unwrap_or_else(|| panic!("carrier code {code} out of range"))
}

fn number(nsn: u32) -> TelephoneNumber {
    TelephoneNumber::from_nsn(nsn).unwrap_or_else(|e| panic!("nsn {nsn}: {e}"))
}

/// CPU time this thread has run, in seconds (`/proc/thread-self/schedstat`, nanoseconds): on a
/// shared machine, CPU time is steadier than wall time.
fn cpu_secs() -> f64 {
    fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(f64::NAN, |ns| ns as f64 / 1e9)
}

/// Peak resident memory of this process so far, from `/proc/self/status` (kB), if available.
fn vm_hwm_kb() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn vm_rss_kb() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Market {
    allocations: Vec<(NumberRange, CarrierCode)>,
    /// Block starts per donor, in number order.
    blocks: Vec<(u32, u16)>,
}

fn market(ported: u64, rng: &mut ChaCha8Rng) -> Market {
    // Four times as many allocated numbers as ported ones, in blocks of 10,000 across the four
    // geographic areas.
    let wanted = ((ported * 4).div_ceil(u64::from(BLOCK)) as usize).max(1);
    let mut all: Vec<u32> = [2u32, 3, 7, 8]
        .iter()
        .flat_map(|&area| (0..10_000u32).map(move |b| area * 100_000_000 + b * BLOCK))
        .collect();
    for i in (1..all.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        all.swap(i, j);
    }
    all.truncate(wanted);
    all.sort_unstable();
    let blocks: Vec<(u32, u16)> = all
        .iter()
        .map(|&s| (s, FIRST_DONOR + (rng.next_u32() % u32::from(DONORS)) as u16))
        .collect();
    let allocations = blocks
        .iter()
        .map(|&(s, d)| {
            let range = NumberRange::new(number(s), number(s + BLOCK - 1)).unwrap_or_else(|e| panic!("{e}"));
            (range, carrier(d))
        })
        .collect();
    Market { allocations, blocks }
}

/// Calls `f(donor, change)` for every snapshot record of the market (a quarter of each block),
/// donor by donor, then `u(donor, change)` for each update record (1 in 100 numbers re-ported or
/// given back).
fn records(m: &Market, ported: u64, seed: u64, mut f: impl FnMut(u16, FileKind, &Change)) {
    for donor in FIRST_DONOR..FIRST_DONOR + DONORS {
        for kind in [FileKind::Full, FileKind::Update] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ u64::from(donor));
            let mut count = 0u64;
            let per_block = (ported / m.blocks.len() as u64).max(1) as u32;
            for &(start, d) in &m.blocks {
                if d != donor {
                    continue;
                }
                // `per_block` distinct numbers: a random stride walk through the block.
                let step = 4u32;
                let offset = rng.next_u32() % step;
                for k in 0..per_block.min(BLOCK / step) {
                    let nsn = start + offset + k * step;
                    let r = rng.next_u32();
                    let current = FIRST_DONOR + DONORS + (r % 20) as u16;
                    let change = match kind {
                        FileKind::Full => Change {
                            action: Action::A,
                            number: number(nsn),
                            current: carrier(current),
                            losing: carrier(donor),
                            status: PortStatus::C,
                        },
                        FileKind::Update if r % 100 == 0 => Change {
                            action: Action::D,
                            number: number(nsn),
                            current: carrier(donor),
                            losing: carrier(current),
                            status: PortStatus::C,
                        },
                        FileKind::Update if r % 100 == 1 => Change {
                            action: Action::C,
                            number: number(nsn),
                            current: carrier(FIRST_DONOR + DONORS + 20),
                            losing: carrier(current),
                            status: PortStatus::C,
                        },
                        FileKind::Update => continue,
                    };
                    f(donor, kind, &change);
                    count += 1;
                }
            }
            let _ = count;
        }
    }
}

fn plnr_line(change: &Change) -> String {
    let mut line = String::with_capacity(66);
    let _ = write!(
        line,
        "D{}{}{}{}{}20260301100000A{:<12}{:16}",
        change.action.as_char(),
        change.number,
        change.current,
        change.losing,
        change.status,
        "BENCH-1",
        ""
    );
    line
}

/// Writes each donor's snapshot (`seq 1`) and update (`seq 2`) as PLNR-SIM/1 files.
fn write_files(dir: &Path, m: &Market, ported: u64, seed: u64) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut open: Option<(PathBuf, BufWriter<fs::File>, u64, u64)> = None;
    let finish = |open: &mut Option<(PathBuf, BufWriter<fs::File>, u64, u64)>, paths: &mut Vec<PathBuf>| {
        if let Some((path, mut w, count, hash)) = open.take() {
            let trailer = format!("T{count:09}{:012}{:42}\n", hash % 1_000_000_000_000, "");
            w.write_all(trailer.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            w.flush().unwrap_or_else(|e| panic!("{e}"));
            paths.push(path);
        }
    };
    let mut current_key = None;
    records(m, ported, seed, |donor, kind, change| {
        if current_key != Some((donor, kind)) {
            finish(&mut open, &mut paths);
            current_key = Some((donor, kind));
            let (seq, k) = match kind {
                FileKind::Full => (1, 'F'),
                FileKind::Update => (2, 'U'),
            };
            let path = dir.join(format!("{donor}-{seq:06}.plnr"));
            let file = fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut w = BufWriter::with_capacity(1 << 20, file);
            let header = format!("HPLNRSIM1{donor}20260302{seq:06}20260302030000{k}{:22}\n", "");
            w.write_all(header.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            open = Some((path, w, 0, 0));
        }
        if let Some((_, w, count, hash)) = &mut open {
            let mut line = plnr_line(change);
            line.push('\n');
            w.write_all(line.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            *count += 1;
            *hash += u64::from(change.number.nsn());
        }
    });
    finish(&mut open, &mut paths);
    paths
}

fn per_second(count: usize, d: Duration) -> f64 {
    count as f64 / d.as_secs_f64()
}

fn main() {
    let ported: u64 = std::env::var("LNP_BENCH_NUMBERS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(10_000_000);
    let seed = 0x1a9_5eed;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m = market(ported, &mut rng);
    println!(
        "market: {} allocations of {BLOCK} numbers, {DONORS} donors, target {ported} ported numbers",
        m.allocations.len()
    );
    let allocations = Allocations::new(m.allocations.clone()).unwrap_or_else(|e| panic!("{e}"));

    // 1a. The table build alone, from records generated on the fly.
    let rss_before = vm_rss_kb();
    let t0 = now();
    let c0 = cpu_secs();
    let mut builder = TableBuilder::new(allocations.clone());
    let mut last = None;
    let mut applied = 0usize;
    records(&m, ported, seed, |donor, kind, change| {
        if last != Some((donor, kind)) {
            last = Some((donor, kind));
            let seq = if kind == FileKind::Full { 1 } else { 2 };
            builder
                .begin_file(carrier(donor), seq, kind)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        builder.apply(change, String::new).unwrap_or_else(|e| panic!("{e}"));
        applied += 1;
    });
    let table = builder.build();
    let build_alone = t0.elapsed();
    println!(
        "build from {applied} records in memory: wall {:.3} s, CPU {:.3} s, {} ported numbers in the table",
        build_alone.as_secs_f64(),
        cpu_secs() - c0,
        table.len()
    );
    println!(
        "table structure: {} bytes = {:.2} bytes per ported number (a 64-byte line per 128 allocated numbers: their bits, the rank of each group of 16 and the first 40 carriers as one-byte palette indexes); allocations with their page directory: {} bytes more",
        table.heap_bytes(),
        table.heap_bytes() as f64 / table.len().max(1) as f64,
        table.allocations().heap_bytes()
    );
    if let (Some(hwm), Some(before)) = (vm_hwm_kb(), rss_before) {
        println!(
            "peak memory (VmHWM) after the in-memory build: {hwm} kB; {:.2} bytes per ported number above the {before} kB before it",
            (hwm.saturating_sub(before) * 1024) as f64 / table.len().max(1) as f64
        );
    }

    // 1b. From PLNR files.
    files_phase(&m, ported, seed, &allocations, &table);

    // 3. Lookups: half ported numbers, half random allocated numbers (mostly not ported).
    let ported_list: Vec<u32> = table.iter().map(|(n, _)| n.nsn()).collect();
    let probes_n = 20_000_000usize.min(ported_list.len() * 4).max(1);
    let probes: Vec<TelephoneNumber> = (0..probes_n)
        .map(|i| {
            if i % 2 == 0 && !ported_list.is_empty() {
                number(ported_list[(rng.next_u64() % ported_list.len() as u64) as usize])
            } else {
                let (start, _) = m.blocks[(rng.next_u64() % m.blocks.len() as u64) as usize];
                number(start + rng.next_u32() % BLOCK)
            }
        })
        .collect();
    let baseline: HashMap<u64, u16> = table.iter().map(|(n, c)| (u64::from(n.nsn()), c.get())).collect();
    // A fast-hash map too (lnp-model's FastMap: a multiply-xorshift hasher, as FxHash), so the
    // table is not compared with SipHash alone.
    let fast: lnp_model::fasthash::FastMap<u32, u16> = table.iter().map(|(n, c)| (n.nsn(), c.get())).collect();
    drop(ported_list);

    for round in 1..=2 {
        let c = cpu_secs();
        let t = now();
        let mut acc = 0u64;
        for &p in &probes {
            acc = acc.wrapping_add(u64::from(table.ported(black_box(p)).map_or(0, CarrierCode::get)));
        }
        let table_ported = t.elapsed();
        let table_ported_cpu = cpu_secs() - c;
        let sum_ported = black_box(acc);

        let t = now();
        let mut acc = 0u64;
        for &p in &probes {
            acc = acc.wrapping_add(table.route(black_box(p)).carrier().map_or(0, |c| u64::from(c.get())));
        }
        let table_route = t.elapsed();
        let sum_route = black_box(acc);

        let c = cpu_secs();
        let t = now();
        let mut acc = 0u64;
        for &p in &probes {
            acc = acc.wrapping_add(u64::from(
                baseline.get(&u64::from(black_box(p).nsn())).copied().unwrap_or(0),
            ));
        }
        let map = t.elapsed();
        let map_cpu = cpu_secs() - c;
        let sum_map = black_box(acc);

        let t = now();
        let mut acc = 0u64;
        for &p in &probes {
            acc = acc.wrapping_add(u64::from(fast.get(&black_box(p).nsn()).copied().unwrap_or(0)));
        }
        let fast_map = t.elapsed();
        let sum_fast = black_box(acc);

        let t = now();
        let mut routes = Vec::with_capacity(1024);
        let mut acc = 0u64;
        for chunk in probes.chunks(1024) {
            routes.clear();
            table.route_many(black_box(chunk), &mut routes);
            acc = acc.wrapping_add(
                routes
                    .iter()
                    .map(|r| r.carrier().map_or(0, |c| u64::from(c.get())))
                    .sum::<u64>(),
            );
        }
        let table_batch = t.elapsed();
        let sum_batch = black_box(acc);
        // The work cannot have been optimised away, and every path found the same carriers.
        assert_eq!(sum_ported, sum_map, "table.ported and the SipHash map disagree");
        assert_eq!(sum_ported, sum_fast, "table.ported and the fast map disagree");
        assert_eq!(sum_route, sum_batch, "table.route and table.route_many disagree");

        println!(
            "lookups round {round} ({probes_n} random probes, half ported, one core; checksums agree):\n  table.ported {:.1} M/s, table.route (with donor fallback) {:.1} M/s, table.route_many (batches of 1024) {:.1} M/s\n  HashMap<u64,u16> baseline (std SipHash) {:.1} M/s, FastMap<u32,u16> baseline (fast hash) {:.1} M/s\n  per CPU second: table.ported {:.1} M/s, HashMap baseline {:.1} M/s",
            per_second(probes_n, table_ported) / 1e6,
            per_second(probes_n, table_route) / 1e6,
            per_second(probes_n, table_batch) / 1e6,
            per_second(probes_n, map) / 1e6,
            per_second(probes_n, fast_map) / 1e6,
            probes_n as f64 / table_ported_cpu / 1e6,
            probes_n as f64 / map_cpu / 1e6
        );
    }
    if let Some(hwm) = vm_hwm_kb() {
        println!("peak memory (VmHWM) at the end, with the probes and the HashMap baseline: {hwm} kB");
    }
}

/// Writes the market's PLNR files, then builds the table from them (read and parsed by
/// `lnp-plnr`'s streaming reader) and checks it equals the in-memory build.
fn files_phase(m: &Market, ported: u64, seed: u64, allocations: &Allocations, expected: &RoutingTable) {
    let dir = std::env::temp_dir().join(format!("lnp-routing-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let t = now();
    let paths = write_files(&dir, m, ported, seed);
    let bytes: u64 = paths
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|md| md.len())
        .sum();
    println!(
        "wrote {} PLNR files, {:.0} MB, in {:.1} s",
        paths.len(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let layout = lnp_plnr::Layout::builtin();
    let t = now();
    let c = cpu_secs();
    let mut builder = TableBuilder::new(allocations.clone());
    let mut records = 0usize;
    for path in &paths {
        let name = path.display().to_string();
        let file = fs::File::open(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut reader = lnp_plnr::PlnrReader::new(std::io::BufReader::with_capacity(1 << 20, file), &name, &layout)
            .unwrap_or_else(|e| panic!("{e}"));
        let h = reader.header().clone();
        builder
            .begin_file(h.donor, h.file_seq, h.kind)
            .unwrap_or_else(|e| panic!("{e}"));
        while let Some(r) = reader.next_brief().unwrap_or_else(|e| panic!("{e}")) {
            builder
                .apply(&Change::from(r), String::new)
                .unwrap_or_else(|e| panic!("{e}"));
            records += 1;
        }
    }
    let table = builder.build();
    let took = t.elapsed();
    let cpu = cpu_secs() - c;
    println!(
        "build from PLNR files (read, parse, apply, build): wall {:.3} s for {records} records, {:.1} M records/s; CPU {cpu:.3} s, {:.1} M records/s",
        took.as_secs_f64(),
        per_second(records, took) / 1e6,
        records as f64 / cpu / 1e6
    );
    assert_eq!(
        table.len(),
        expected.len(),
        "the file build and the in-memory build differ"
    );
    if let Some(hwm) = vm_hwm_kb() {
        println!("peak memory (VmHWM) after both builds: {hwm} kB");
    }
    let _ = fs::remove_dir_all(&dir);
}
