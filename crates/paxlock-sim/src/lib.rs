//! A deterministic simulator for paxlock's lease algorithms, in the style
//! of TigerBeetle's VOPR (STYLE.md 1.1, 2.5).
//!
//! One `u64` seed drives a whole run: several simulated hosts, each a
//! small model of a sanlock daemon (join the lockspace, renew, check its
//! own lease every second, a watchdog, and clients that acquire, release,
//! convert and request EX and SH leases), run paxlock-core's real
//! `async fn`s over a simulated disk and simulated time. Faults are drawn
//! from the seed: host crashes, host freezes (tasks not polled, the
//! watchdog keeps counting), storage stalls of one host, EIO, slow I/O that
//! times out and lands late, reordered completions. A [`checker`] watches,
//! from outside the hosts, which host *believes* it holds which lease, and
//! fails the run on any overlap (and, in fault-free runs, when a free lease
//! is not granted within a bound).
//!
//! Parts:
//! * `world` — the event queue ordered by (time, sequence number); the
//!   simulated disk: a read returns the bytes as of its completion, a
//!   write lands whole at its completion, even after its caller saw a
//!   timeout at its deadline; per-host faults and watchdogs; and the
//!   executor, which polls boxed futures with a no-op waker;
//! * `disk` — the disk's bytes, copy-on-write per lease area, so that a
//!   read shares them instead of copying (a write copies an area only if
//!   a read of it is still held);
//! * `env` — [`paxlock_core::Env`] for one host: sim time plus a per-boot
//!   clock offset, the run's PRNG, sleeps and I/O as events;
//! * `host` — the host model;
//! * [`checker`] — the safety and liveness checks;
//! * [`trace`] — compact records, formatted only for a report or a replay;
//! * [`config`] — what a seed draws (hosts, resources, geometry, faults,
//!   workload) and [`config::Workarounds`] for known paxlock-core bugs.
//!
//! ```
//! use paxlock_sim::{run, SimConfig};
//!
//! let cfg = SimConfig { duration_ms: Some(30_000), ..SimConfig::new(1) };
//! let out = run(&cfg);
//! assert!(out.violation.is_none(), "{}", out.report());
//! assert_eq!(run(&cfg).stats, out.stats, "a seed replays exactly");
//! ```

pub mod checker;
pub mod config;
mod disk;
mod env;
mod host;
pub mod rng;
pub mod stats;
pub mod trace;
mod world;

pub use checker::Violation;
pub use config::{Bug, FaultChoice, Scenario, SimConfig};
pub use stats::Stats;

/// The result of one run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// One line describing the scenario drawn from the seed.
    pub scenario: String,
    /// The first violation, with its time (sim ms).
    pub violation: Option<(u64, Violation)>,
    /// Counters.
    pub stats: Stats,
    /// The trace kept (every record with `full_trace`, else the last
    /// `trace_tail`), one record per line.
    pub trace: String,
    /// Number of trace records produced.
    pub trace_records: u64,
}

impl Outcome {
    /// A readable report: scenario, verdict, and the trace kept.
    pub fn report(&self) -> String {
        let mut s = format!("seed {}: {}\n", self.seed, self.scenario);
        match &self.violation {
            Some((at, v)) => s.push_str(&format!(
                "VIOLATION at {}.{:03}s: {v}\n",
                at / 1000,
                at % 1000
            )),
            None => s.push_str("no violation\n"),
        }
        s.push_str(&self.trace);
        s
    }
}

/// Runs one seed.
pub fn run(cfg: &SimConfig) -> Outcome {
    let mut sim = world::Sim::new(cfg);
    sim.run();
    let out = {
        let w = sim.world.borrow();
        let violation = w.checker.violation.clone();
        let trace = if cfg.full_trace || violation.is_some() {
            w.trace.render()
        } else {
            String::new()
        };
        Outcome {
            seed: cfg.seed,
            scenario: w.sc.describe(),
            violation,
            stats: w.stats.clone(),
            trace,
            trace_records: w.trace.total,
        }
    };
    sim.shutdown();
    out
}
