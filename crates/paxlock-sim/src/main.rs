//! `paxlock-sim`: runs many seeds of the deterministic simulator, or
//! replays one with its full trace.
//!
//! ```text
//! paxlock-sim --seeds 10000 [--start S] [--hosts 2..8] [--bug NAME] [--jobs J]
//! paxlock-sim --seed S [--hosts H] [--bug NAME]        # full trace of one seed
//! ```
//! Exit status: 0 = no violation (or, with `--bug`, the planted bug was
//! found); 1 = a violation (or, with `--bug`, none found); 2 = usage error.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use paxlock_sim::config::Workarounds;
use paxlock_sim::{run, Bug, FaultChoice, Outcome, SimConfig, Stats};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BugArg {
    /// Commit without the read after phase 2.
    SkipPhase2Read,
    /// Take over a lease after 1 s instead of host_dead.
    EarlyTakeover,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FaultsArg {
    /// Drawn per seed (about one seed in eight is fault-free).
    Random,
    /// No faults: the liveness check runs in every seed.
    None,
    /// Every fault kind in every seed.
    All,
}

/// Deterministic simulation of paxlock's lease algorithms: simulated hosts,
/// disk, time, watchdogs and faults; a checker fails any overlap of
/// lease holders.
#[derive(Debug, Parser)]
#[command(name = "paxlock-sim", version)]
struct Cli {
    /// Number of seeds to run (start..start+N).
    #[arg(long, default_value_t = 100, conflicts_with = "seed")]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Replay one seed and print its full trace.
    #[arg(long)]
    seed: Option<u64>,
    /// Number of hosts (2..=8); drawn per seed when not given.
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=8))]
    hosts: Option<u64>,
    /// Plant a bug in paxlock-core; success means it was found.
    #[arg(long, value_enum)]
    bug: Option<BugArg>,
    /// Fault selection.
    #[arg(long, value_enum, default_value_t = FaultsArg::Random)]
    faults: FaultsArg,
    /// Threads running seeds in parallel.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Trace records shown with a violation.
    #[arg(long, default_value_t = 120)]
    tail: usize,
    /// Simulated seconds per seed (default 150).
    #[arg(long, value_parser = clap::value_parser!(u64).range(30..))]
    duration: Option<u64>,
    /// Turn on a workaround for a paxlock-core bug that is fixed now (to
    /// study seeds of an older core): keep-accepted, ex-shared,
    /// refresh-hosts, fresh-dblock, or all (repeatable).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Workarounds::NAMES))]
    workaround: Vec<String>,
}

impl Cli {
    fn config(&self, seed: u64) -> SimConfig {
        SimConfig {
            seed,
            hosts: self.hosts.map(|h| h as usize),
            bug: self.bug.map(|b| match b {
                BugArg::SkipPhase2Read => Bug::SkipPhase2Read,
                BugArg::EarlyTakeover => Bug::EarlyTakeover,
            }),
            faults: match self.faults {
                FaultsArg::Random => FaultChoice::Random,
                FaultsArg::None => FaultChoice::None,
                FaultsArg::All => FaultChoice::All,
            },
            full_trace: self.seed.is_some(),
            trace_tail: self.tail,
            workarounds: self.workarounds(),
            duration_ms: self.duration.map(|s| s * 1000),
        }
    }

    fn workarounds(&self) -> Workarounds {
        let mut w = Workarounds::NONE;
        for n in &self.workaround {
            w.enable(n);
        }
        w
    }

    fn replay_command(&self, seed: u64) -> String {
        let mut s = format!("cargo run --release -p paxlock-sim -- --seed {seed}");
        if let Some(h) = self.hosts {
            s.push_str(&format!(" --hosts {h}"));
        }
        if let Some(b) = self.bug {
            s.push_str(&format!(
                " --bug {}",
                b.to_possible_value()
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default()
            ));
        }
        if let Some(d) = self.duration {
            s.push_str(&format!(" --duration {d}"));
        }
        for n in self.workarounds().enabled() {
            s.push_str(&format!(" --workaround {n}"));
        }
        if self.faults != FaultsArg::Random {
            s.push_str(&format!(
                " --faults {}",
                self.faults
                    .to_possible_value()
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default()
            ));
        }
        s
    }
}

/// `println!` that ignores a closed stdout (e.g. `| head`) instead of
/// panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!`, likewise.
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(seed) = cli.seed {
        let out = run(&cli.config(seed));
        out!("{}", out.report());
        outln!("{}", out.stats);
        return if out.violation.is_some() == cli.bug.is_some() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    many(&cli)
}

struct Shared {
    next: AtomicU64,
    /// The lowest violating seed found so far.
    first_bad: Mutex<Option<Outcome>>,
    stats: Mutex<(u64, Stats)>,
}

fn many(cli: &Cli) -> ExitCode {
    let end = cli.start.saturating_add(cli.seeds);
    let shared = Shared {
        next: AtomicU64::new(cli.start),
        first_bad: Mutex::new(None),
        stats: Mutex::new((0, Stats::default())),
    };
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cli.jobs.max(1) {
            s.spawn(|| worker(cli, &shared, end));
        }
    });
    let secs = t0.elapsed().as_secs_f64();
    let (ran, stats) = shared.stats.into_inner().unwrap_or_else(|e| e.into_inner());
    let bad = shared
        .first_bad
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    outln!(
        "paxlock-sim: {ran} seeds run (from {}), {} violation(s), {:.1} s wall, {:.1} seeds/s",
        cli.start,
        usize::from(bad.is_some()),
        secs,
        ran as f64 / secs.max(1e-9)
    );
    outln!("{stats}");
    match (&bad, cli.bug) {
        (Some(out), bug) => {
            outln!();
            out!("{}", out.report());
            outln!();
            if let Some(b) = bug {
                outln!(
                    "planted bug {} FOUND after {} seed(s) (seed {})",
                    b.to_possible_value()
                        .map(|v| v.get_name().to_string())
                        .unwrap_or_default(),
                    out.seed - cli.start + 1,
                    out.seed
                );
            } else {
                outln!("VIOLATION in seed {}", out.seed);
            }
            outln!("replay: {}", cli.replay_command(out.seed));
            if bug.is_some() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        (None, Some(_)) => {
            outln!("planted bug NOT found in {ran} seeds");
            ExitCode::FAILURE
        }
        (None, None) => ExitCode::SUCCESS,
    }
}

fn worker(cli: &Cli, shared: &Shared, end: u64) {
    let mut local = Stats::default();
    let mut ran = 0;
    loop {
        let seed = shared.next.fetch_add(1, Ordering::Relaxed);
        if seed >= end {
            break;
        }
        let stop = shared
            .first_bad
            .lock()
            .map(|b| b.as_ref().is_some_and(|o| o.seed < seed))
            .unwrap_or(true);
        if stop {
            break;
        }
        let out = run(&cli.config(seed));
        ran += 1;
        local.add(&out.stats);
        if out.violation.is_some() {
            if let Ok(mut b) = shared.first_bad.lock() {
                if b.as_ref().is_none_or(|o| o.seed > seed) {
                    *b = Some(out);
                }
            }
        }
    }
    if let Ok(mut s) = shared.stats.lock() {
        s.0 += ran;
        s.1.add(&local);
    }
}
