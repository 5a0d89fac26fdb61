//! `lnpsim sweep`: one story under many seeds, in parallel, as a property of Code compliance.
//!
//! Each seed is one deterministic run (`lnpsim run SCENARIO --seed S` gives the same one), audited
//! and with its expectations checked. Seeds run on a rayon pool in chunks; results are gathered
//! in seed order, so the report is the same whatever `--jobs` is.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::{Args, ValueEnum};
use lnp_audit::xml_escape;
use lnp_model::{BusinessCalendar, Rulebook, TraceRecord};
use lnp_sim::{run_scenario, RunOptions, Scenario, TraceSink};
use rayon::prelude::*;

use crate::common::{load_calendar, load_rulebook, read_text, Progress};

/// Seeds run in parallel at a time; results are folded in seed order between chunks.
const CHUNK: usize = 1024;
/// Failed seeds listed one by one in the report (all are counted).
pub const MAX_FAILED_LISTED: usize = 10_000;
/// Failed seeds shown in the text report.
const TEXT_FAILED_SHOWN: usize = 10;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SweepFormat {
    Text,
    Json,
    Junit,
}

const EXAMPLES: &str = "\
Examples (from the repository's root):
  lnpsim sweep scenarios/cat-a-happy-path.toml --seeds 1..500
  lnpsim sweep scenarios/cat-c-happy-path.toml --seeds 1..300 --jobs 2 --format json
  lnpsim sweep scenarios/cat-a-late-answer.toml --seeds 1..90 --shard 2/3 --format junit

Shards: --shard K/N runs the seeds s of the range with s mod N = K - 1, so shards 1/N to N/N are
disjoint and together cover the range; any batch system can spread a sweep over machines.

Exit status: 0 every seed held its expectations, 1 a seed failed, 2 bad input or usage.";

#[derive(Args)]
#[command(after_help = EXAMPLES)]
pub struct SweepArgs {
    /// The story to run under each seed.
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// The seeds, both ends included: `1..4000` is 4,000 seeds; one seed is `7..7`.
    #[arg(long, value_name = "A..B", value_parser = parse_seeds)]
    seeds: (u64, u64),
    /// Threads to run seeds on (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Run only this shard of the seeds: K of N (`2/3`), the seeds s with s mod N = K - 1.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: SweepFormat,
}

fn parse_seeds(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("{s:?}: write the seeds as A..B, both ends included (1..4000)");
    // A bare number is refused, not taken as one seed: `--seeds 4000` could as well mean
    // 4,000 seeds, and guessing either way would run the wrong sweep silently.
    let Some((a, b)) = s.split_once("..") else {
        return Err(format!(
            "{s:?}: write the seeds as A..B, both ends included (1..{0} is {0} seeds; the one seed {0} is {0}..{0})",
            s.trim()
        ));
    };
    let (a, b) = (a.trim(), b.trim());
    let a: u64 = a.parse().map_err(|_| bad())?;
    let b: u64 = b.parse().map_err(|_| bad())?;
    if a > b {
        return Err(format!("{s:?}: the range is empty ({a} is after {b})"));
    }
    Ok((a, b))
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("{s:?}: write the shard as K/N with 1 <= K <= N (2/3)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let k: u64 = k.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// A sink that keeps nothing: the run's in-run audit sees every row.
struct Discard;

impl TraceSink for Discard {
    fn record(&mut self, _record: &TraceRecord) {}
}

/// What one seed's run came to.
struct SeedResult {
    seed: u64,
    held: bool,
    /// Why it failed, in words: the failed expectations, or the event bound.
    why: Vec<String>,
    /// Findings by rule ID.
    by_rule: BTreeMap<&'static str, u64>,
}

fn run_seed(scenario: &Scenario, book: &Rulebook, calendar: &BusinessCalendar, seed: u64) -> Result<SeedResult> {
    let options = RunOptions {
        seed: Some(seed),
        ..RunOptions::default()
    };
    let report = run_scenario(scenario, book, calendar, options, &mut Discard).map_err(|e| anyhow!("{e}"))?;
    let mut why: Vec<String> = report
        .expectations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| format!("line {}: {}: {}", e.line, e.what, e.detail))
        .collect();
    if report.stats.stopped_by_event_bound {
        why.push("the run stopped at its event bound".into());
    }
    let mut by_rule = BTreeMap::new();
    for f in &report.audit.findings {
        *by_rule.entry(f.rule.as_str()).or_insert(0) += 1;
    }
    Ok(SeedResult {
        seed,
        held: why.is_empty(),
        why,
        by_rule,
    })
}

/// The sweep's verdict.
#[derive(Default)]
struct Tally {
    seeds: u64,
    passed: u64,
    failed: u64,
    /// The first failing seeds, in seed order, with why.
    failed_listed: Vec<(u64, Vec<String>)>,
    /// Findings by rule: how many, and in how many seeds.
    by_rule: BTreeMap<&'static str, (u64, u64)>,
}

impl Tally {
    fn add(&mut self, r: SeedResult) {
        self.seeds += 1;
        if r.held {
            self.passed += 1;
        } else {
            self.failed += 1;
            if self.failed_listed.len() < MAX_FAILED_LISTED {
                self.failed_listed.push((r.seed, r.why));
            }
        }
        for (rule, n) in r.by_rule {
            let e = self.by_rule.entry(rule).or_insert((0, 0));
            e.0 += n;
            e.1 += 1;
        }
    }
}

/// The seeds of `range` in `shard`, in order.
fn shard_seeds(range: (u64, u64), shard: (u64, u64)) -> impl Iterator<Item = u64> {
    let (k, n) = shard;
    let (a, b) = range;
    // The first seed of the range with s mod n = k - 1.
    let offset = (i128::from(k) - 1 - i128::from(a % n)).rem_euclid(i128::from(n)) as u64;
    let first = a.checked_add(offset).filter(|f| *f <= b);
    let step = usize::try_from(n).unwrap_or(usize::MAX);
    first.into_iter().flat_map(move |f| (f..=b).step_by(step))
}

fn command_for(path: &Path, seed: u64) -> String {
    format!("lnpsim run {} --seed {seed}", path.display())
}

pub fn run(args: &SweepArgs) -> Result<ExitCode> {
    let path = &args.scenario;
    let text = read_text(path)?;
    let scenario = Scenario::from_toml(&text, path.parent()).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(|e| format!("{}: {e}", path.display())).collect();
        anyhow!("invalid scenario\n  {}", lines.join("\n  "))
    })?;
    let book = load_rulebook(scenario.rulebook.as_deref())?;
    let calendar = load_calendar(&book, &scenario.holidays)?;
    let shard = args.shard.unwrap_or((1, 1));
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(j) = args.jobs {
            b = b.num_threads(usize::from(j));
        }
        b.build()
            .map_err(|e| anyhow!("cannot start the sweep's threads: {e}"))?
    };
    tracing::debug!(
        seeds_from = args.seeds.0,
        seeds_to = args.seeds.1,
        shard = format!("{}/{}", shard.0, shard.1),
        threads = pool.current_num_threads(),
        "sweep starts"
    );
    #[allow(clippy::disallowed_methods, reason = "the CLI reports how fast the sweep went")]
    let started = std::time::Instant::now(); // allow-clock
    let mut tally = Tally::default();
    let mut progress = Progress::every("sweep", "seeds", CHUNK as u64);
    let mut seeds = shard_seeds(args.seeds, shard).peekable();
    while seeds.peek().is_some() {
        let chunk: Vec<u64> = seeds.by_ref().take(CHUNK).collect();
        let results: Vec<Result<SeedResult>> = pool.install(|| {
            chunk
                .par_iter()
                .map(|&s| run_seed(&scenario, &book, &calendar, s))
                .collect()
        });
        for r in results {
            let r = r.map_err(|e| anyhow!("{}: {e}", path.display()))?;
            progress.tick(|| format!("seed {}", r.seed));
            tally.add(r);
        }
    }
    progress.finish();
    if tally.seeds == 0 {
        // Not an error: a batch system runs shards 1/N to N/N whatever the range, and a range
        // shorter than N leaves some of them empty. Every seed they ran (none) held.
        eprintln!(
            "shard {}/{} of seeds {}..{} holds no seed: nothing to run",
            shard.0, shard.1, args.seeds.0, args.seeds.1
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    tracing::debug!(
        seeds = tally.seeds,
        failed = tally.failed,
        elapsed_s = elapsed,
        "sweep done"
    );
    // The figures that change from run to run go to stderr, so the report itself is the same
    // for the same input.
    eprintln!(
        "{} seed{} in {elapsed:.2} s ({:.0} seeds/s, {} thread{})",
        tally.seeds,
        if tally.seeds == 1 { "" } else { "s" },
        tally.seeds as f64 / elapsed.max(1e-9),
        pool.current_num_threads(),
        if pool.current_num_threads() == 1 { "" } else { "s" }
    );
    let out = match args.format {
        SweepFormat::Text => text_report(path, args.seeds, shard, &tally),
        SweepFormat::Json => json_report(path, &tally)? + "\n",
        SweepFormat::Junit => junit_report(path, &scenario.name, &tally),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::from(u8::from(tally.failed > 0)))
}

fn text_report(path: &Path, range: (u64, u64), shard: (u64, u64), t: &Tally) -> String {
    let mut out = String::new();
    let shard_text = if shard == (1, 1) {
        String::new()
    } else {
        format!(", shard {}/{}", shard.0, shard.1)
    };
    let _ = writeln!(
        out,
        "{}: seeds {}..{}{shard_text}: {} run, {} held every expectation, {} failed",
        path.display(),
        range.0,
        range.1,
        t.seeds,
        t.passed,
        t.failed
    );
    if t.failed > 0 {
        let shown = t.failed_listed.len().min(TEXT_FAILED_SHOWN);
        let _ = writeln!(out, "\nFailed seeds (the first {shown} of {}):", t.failed);
        for (seed, why) in t.failed_listed.iter().take(shown) {
            let _ = writeln!(out, "  seed {seed}: {}", why.join("; "));
            let _ = writeln!(out, "    {}", command_for(path, *seed));
        }
    }
    if t.by_rule.is_empty() {
        out.push_str("\nNo findings in any seed.\n");
    } else {
        out.push_str("\nFindings by rule, over all seeds:\n");
        for (rule, (n, in_seeds)) in &t.by_rule {
            let _ = writeln!(
                out,
                "  {rule:<20} {n} in {in_seeds} seed{}",
                if *in_seeds == 1 { "" } else { "s" }
            );
        }
    }
    let _ = writeln!(out, "\n{}", if t.failed == 0 { "PASS" } else { "FAIL" });
    out
}

fn json_report(path: &Path, t: &Tally) -> Result<String> {
    let failed: Vec<serde_json::Value> = t
        .failed_listed
        .iter()
        .map(|(seed, why)| serde_json::json!({"seed": seed, "command": command_for(path, *seed), "why": why}))
        .collect();
    let by_rule: serde_json::Map<String, serde_json::Value> = t
        .by_rule
        .iter()
        .map(|(rule, (n, _))| ((*rule).to_string(), serde_json::Value::from(*n)))
        .collect();
    let v = serde_json::json!({
        "seeds": t.seeds,
        "passed": t.passed,
        "failed": failed,
        "failed_count": t.failed,
        "by_rule": by_rule,
    });
    Ok(serde_json::to_string_pretty(&v)?)
}

fn junit_report(path: &Path, name: &str, t: &Tally) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuite name=\"{} (sweep)\" tests=\"{}\" failures=\"{}\">",
        xml_escape(name),
        t.seeds,
        t.failed
    );
    let _ = writeln!(
        x,
        "  <testcase classname=\"{}\" name=\"{} seeds held every expectation\"/>",
        xml_escape(name),
        t.passed
    );
    for (seed, why) in &t.failed_listed {
        let _ = writeln!(
            x,
            "  <testcase classname=\"{}\" name=\"seed {seed}\">\n    <failure message=\"{}\">{}</failure>\n  </testcase>",
            xml_escape(name),
            xml_escape(&why.join("; ")),
            xml_escape(&command_for(path, *seed))
        );
    }
    x.push_str("</testsuite>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_and_cover_the_range() {
        let all: Vec<u64> = shard_seeds((5, 104), (1, 1)).collect();
        assert_eq!(all, (5..=104).collect::<Vec<_>>());
        let mut union: Vec<u64> = (1..=3).flat_map(|k| shard_seeds((5, 104), (k, 3))).collect();
        union.sort_unstable();
        assert_eq!(union, all);
        assert!(shard_seeds((5, 104), (2, 3)).all(|s| s % 3 == 1));
        // The end of the seed space.
        assert_eq!(shard_seeds((u64::MAX - 1, u64::MAX), (1, 1)).count(), 2);
        assert_eq!(shard_seeds((7, 7), (2, 2)).count(), 1);
        assert_eq!(shard_seeds((8, 8), (2, 2)).count(), 0);
    }

    #[test]
    fn seeds_and_shards_parse() {
        assert_eq!(parse_seeds("1..4000"), Ok((1, 4000)));
        assert_eq!(parse_seeds("7..7"), Ok((7, 7)));
        // A bare number could mean one seed or that many: refused, and the message says how
        // to write either.
        let bare = parse_seeds("7").unwrap_err();
        assert!(bare.contains("1..7") && bare.contains("7..7"), "{bare}");
        assert!(parse_seeds("5..1").is_err());
        assert!(parse_seeds("a..b").is_err());
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        for bad in ["0/3", "4/3", "1/0", "x"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
