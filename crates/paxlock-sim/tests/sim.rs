//! The simulator's own tests: many seeds with faults and no violation,
//! the planted bugs found, exact replay, liveness, and the checker.
//!
//! Time budget: the suite runs `cargo nextest run` in debug, where a seed
//! of the default 150 s costs about 50 ms (half of it copying the 1 MiB
//! areas that every renewal and every paxos read returns). So in debug
//! builds these tests simulate **60 s per seed** (still several renewal
//! rounds, faults, resets and rejoins: io_timeout is 1 s, host_dead 18 s)
//! and run the seed ranges in parts that nextest spreads over the cores;
//! release builds use the full 150 s. The CLI's 100,000-seed runs use 150 s.

use paxlock_sim::{run, Bug, FaultChoice, Outcome, SimConfig, Stats};

/// Simulated time per seed in these tests (see the module comment).
const DURATION_MS: u64 = if cfg!(debug_assertions) {
    60_000
} else {
    150_000
};

fn config(seed: u64, faults: FaultChoice) -> SimConfig {
    SimConfig {
        faults,
        duration_ms: Some(DURATION_MS),
        ..SimConfig::new(seed)
    }
}

fn run_range(seeds: std::ops::Range<u64>, faults: FaultChoice) -> (Stats, u64) {
    let mut total = Stats::default();
    let mut with_faults = 0;
    for seed in seeds {
        let cfg = config(seed, faults);
        let out = run(&cfg);
        assert!(
            out.violation.is_none(),
            "{}\nreplay: cargo run --release -p paxlock-sim -- --seed {seed} --duration {}{}",
            out.report(),
            DURATION_MS / 1000,
            match faults {
                FaultChoice::None => " --faults none",
                FaultChoice::All => " --faults all",
                FaultChoice::Random => "",
            }
        );
        if !out.scenario.contains("faults: none") {
            with_faults += 1;
        }
        total.add(&out.stats);
    }
    (total, with_faults)
}

/// 1000 seeds (0..1000), in four parts: random fault mixes, no violation.
fn fault_part(part: u64) {
    let (stats, with_faults) = run_range(part * 250..(part + 1) * 250, FaultChoice::Random);
    // About one seed in eight is fault-free (liveness is checked there).
    assert!(
        with_faults >= 200,
        "only {with_faults} of 250 seeds had faults"
    );
    assert!(stats.acquire_ok > 5_000, "too little work: {stats}");
    assert!(
        stats.crashes + stats.freezes + stats.stalls > 200,
        "too few faults: {stats}"
    );
    assert!(
        stats.watchdog_fires > 10 && stats.lockspaces_lost > 10,
        "too few resets: {stats}"
    );
    assert!(
        stats.io_timeouts > 1000 && stats.late_writes > 100,
        "too few timeouts: {stats}"
    );
}

#[test]
fn faults_seeds_0_to_249() {
    fault_part(0);
}

#[test]
fn faults_seeds_250_to_499() {
    fault_part(1);
}

#[test]
fn faults_seeds_500_to_749() {
    fault_part(2);
}

#[test]
fn faults_seeds_750_to_999() {
    fault_part(3);
}

/// Every fault kind in every seed.
#[test]
fn all_faults_100_seeds() {
    let (stats, with_faults) = run_range(10_000..10_100, FaultChoice::All);
    assert_eq!(with_faults, 100);
    assert!(
        stats.watchdog_fires > 0 && stats.lockspaces_lost > 0,
        "{stats}"
    );
}

fn find_bug(bug: Bug, budget: u64) -> (u64, Outcome) {
    for seed in 0..budget {
        let out = run(&SimConfig {
            bug: Some(bug),
            ..config(seed, FaultChoice::Random)
        });
        if out.violation.is_some() {
            return (seed + 1, out);
        }
    }
    panic!("planted bug {} not found in {budget} seeds", bug.name());
}

#[test]
fn planted_bug_skip_phase2_read_is_found() {
    let (needed, out) = find_bug(Bug::SkipPhase2Read, 200);
    eprintln!(
        "skip-phase2-read found after {needed} seed(s):\n{}",
        out.report()
    );
    assert!(needed <= 20, "needed {needed} seeds");
}

#[test]
fn planted_bug_early_takeover_is_found() {
    let (needed, out) = find_bug(Bug::EarlyTakeover, 200);
    eprintln!(
        "early-takeover found after {needed} seed(s):\n{}",
        out.report()
    );
    assert!(needed <= 20, "needed {needed} seeds");
}

/// The same seed gives the same run, event for event.
#[test]
fn a_seed_replays_exactly() {
    for seed in [3, 77] {
        let cfg = SimConfig {
            full_trace: true,
            ..config(seed, FaultChoice::Random)
        };
        let a = run(&cfg);
        let b = run(&cfg);
        assert!(a.trace_records > 1000);
        assert_eq!(a.trace, b.trace, "seed {seed}: traces differ");
        assert_eq!(a.stats, b.stats);
        assert_eq!(a.scenario, b.scenario);
    }
    let other = run(&SimConfig {
        full_trace: true,
        ..config(4, FaultChoice::Random)
    });
    let three = run(&SimConfig {
        full_trace: true,
        ..config(3, FaultChoice::Random)
    });
    assert_ne!(other.trace, three.trace, "different seeds, same trace");
    // The violation report of a planted bug replays too.
    let (needed, _) = find_bug(Bug::EarlyTakeover, 200);
    let cfg = SimConfig {
        bug: Some(Bug::EarlyTakeover),
        full_trace: true,
        ..config(needed - 1, FaultChoice::Random)
    };
    let (x, y) = (run(&cfg), run(&cfg));
    assert!(x.violation.is_some());
    assert_eq!(x.violation, y.violation);
    assert_eq!(x.trace, y.trace);
}

/// Fault-free seeds: every uncontended acquire of a free lease is granted
/// within the bound (8 io for EX, 11 io for SH).
#[test]
fn liveness_without_faults() {
    let (stats, with_faults) = run_range(20_000..20_100, FaultChoice::None);
    assert_eq!(with_faults, 0);
    assert!(
        stats.liveness_passed > 300,
        "liveness was barely exercised: {stats}"
    );
    assert_eq!(
        stats.io_timeouts + stats.io_errors + stats.crashes + stats.freezes + stats.stalls,
        0
    );
}

/// Seeds from long runs that once found two holders, replayed at their
/// full 150 s: a late leader write after we gave an lver up (1045152,
/// 1094888, 1101374), and an old membership's acquire overwriting the
/// new membership's dblock sector after a rejoin (3009313), and a thawed
/// host judging a live SH holder dead by its old host table (3038887).
#[test]
fn seeds_that_once_failed() {
    for seed in [1_045_152, 1_094_888, 1_101_374, 3_009_313, 3_038_887] {
        let out = run(&SimConfig::new(seed));
        assert!(
            out.violation.is_none(),
            "{}\nreplay: cargo run --release -p paxlock-sim -- --seed {seed}",
            out.report()
        );
    }
}
