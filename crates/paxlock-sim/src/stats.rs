//! Counters of a run, summed over many seeds by the CLI.

use std::collections::BTreeMap;
use std::fmt;

use crate::trace::{code_name, Op};

/// What happened in one run (or many, after [`Stats::add`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events handled.
    pub events: u64,
    /// Simulated time (ms).
    pub sim_ms: u64,
    /// Acquires that returned Ok.
    pub acquire_ok: u64,
    /// Acquires that failed, by result code.
    pub acquire_err: BTreeMap<i32, u64>,
    /// Releases that succeeded / failed.
    pub release_ok: u64,
    /// Releases that failed.
    pub release_err: u64,
    /// Conversions that succeeded.
    pub convert_ok: u64,
    /// Conversions that failed, by result code.
    pub convert_err: BTreeMap<i32, u64>,
    /// Requests recorded (or found the lease free).
    pub request_ok: u64,
    /// Requests that failed.
    pub request_err: u64,
    /// Lockspace joins.
    pub joins: u64,
    /// Failed join attempts.
    pub join_failures: u64,
    /// Failed renewals.
    pub renewal_failures: u64,
    /// Lockspaces lost (renewal fail timeout or corrupt).
    pub lockspaces_lost: u64,
    /// Faults: crashes.
    pub crashes: u64,
    /// Faults: freezes.
    pub freezes: u64,
    /// Faults: storage stalls.
    pub stalls: u64,
    /// Faults: I/Os that failed with EIO.
    pub io_errors: u64,
    /// I/Os that completed after their deadline.
    pub io_timeouts: u64,
    /// Writes that landed after a timeout or after their host went down.
    pub late_writes: u64,
    /// Watchdog resets.
    pub watchdog_fires: u64,
    /// Uncontended acquires of a free lease that the liveness check
    /// watched and that succeeded in time (fault-free seeds).
    pub liveness_passed: u64,
    /// Dblock writes that would have erased our accepted value at the same
    /// lver and landed with it kept (workaround `keep-accepted`).
    pub accepted_kept: u64,
    /// Writes delayed behind an earlier write of the same host to the same
    /// sector (workaround `write-order`).
    pub writes_ordered: u64,
    /// Exclusive successes undone because a live SH holder was missed
    /// (workaround `ex-shared`).
    pub ex_shared_undone: u64,
    /// `Held` dblocks refreshed from disk after a failed conversion
    /// (workaround `fresh-dblock`) that differed from the stale one.
    pub dblocks_refreshed: u64,
}

impl Stats {
    pub(crate) fn op(&mut self, op: Op, result: Result<u64, i32>) {
        match (op, result) {
            (Op::Acquire(_), Ok(_)) => self.acquire_ok += 1,
            (Op::Acquire(_), Err(c)) => *self.acquire_err.entry(c).or_default() += 1,
            (Op::Release, Ok(_)) => self.release_ok += 1,
            (Op::Release, Err(_)) => self.release_err += 1,
            (Op::Convert(_), Ok(_)) => self.convert_ok += 1,
            (Op::Convert(_), Err(c)) => *self.convert_err.entry(c).or_default() += 1,
            (Op::Request, Ok(_)) => self.request_ok += 1,
            (Op::Request, Err(_)) => self.request_err += 1,
        }
    }

    /// Adds another run's counters.
    pub fn add(&mut self, o: &Stats) {
        self.events += o.events;
        self.sim_ms += o.sim_ms;
        self.acquire_ok += o.acquire_ok;
        for (k, v) in &o.acquire_err {
            *self.acquire_err.entry(*k).or_default() += v;
        }
        self.release_ok += o.release_ok;
        self.release_err += o.release_err;
        self.convert_ok += o.convert_ok;
        for (k, v) in &o.convert_err {
            *self.convert_err.entry(*k).or_default() += v;
        }
        self.request_ok += o.request_ok;
        self.request_err += o.request_err;
        self.joins += o.joins;
        self.join_failures += o.join_failures;
        self.renewal_failures += o.renewal_failures;
        self.lockspaces_lost += o.lockspaces_lost;
        self.crashes += o.crashes;
        self.freezes += o.freezes;
        self.stalls += o.stalls;
        self.io_errors += o.io_errors;
        self.io_timeouts += o.io_timeouts;
        self.late_writes += o.late_writes;
        self.watchdog_fires += o.watchdog_fires;
        self.liveness_passed += o.liveness_passed;
        self.accepted_kept += o.accepted_kept;
        self.writes_ordered += o.writes_ordered;
        self.ex_shared_undone += o.ex_shared_undone;
        self.dblocks_refreshed += o.dblocks_refreshed;
    }
}

fn by_code(m: &BTreeMap<i32, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(c, n)| format!("{} {n}", code_name(**c)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed: u64 = self.acquire_err.values().sum();
        writeln!(
            f,
            "  simulated time   {:.1} h, {} events",
            self.sim_ms as f64 / 3_600_000.0,
            self.events
        )?;
        writeln!(
            f,
            "  acquires         {} ok, {} failed: {}",
            self.acquire_ok,
            failed,
            by_code(&self.acquire_err)
        )?;
        writeln!(
            f,
            "  releases         {} ok, {} failed; converts {} ok, failed: {}",
            self.release_ok,
            self.release_err,
            self.convert_ok,
            by_code(&self.convert_err)
        )?;
        writeln!(
            f,
            "  requests         {} ok, {} failed",
            self.request_ok, self.request_err
        )?;
        writeln!(
            f,
            "  liveness         {} uncontended acquires of a free lease granted in time",
            self.liveness_passed
        )?;
        writeln!(
            f,
            "  lockspace        {} joins ({} failed attempts), {} renewals failed, {} lost",
            self.joins, self.join_failures, self.renewal_failures, self.lockspaces_lost
        )?;
        write!(
            f,
            "  faults           {} crashes, {} freezes, {} stalls, {} EIO, {} I/O timeouts, {} late writes, {} watchdog resets",
            self.crashes, self.freezes, self.stalls, self.io_errors, self.io_timeouts, self.late_writes, self.watchdog_fires
        )?;
        write!(
            f,
            "\n  workarounds      keep-accepted {}, write-order {}, ex-shared {}, fresh-dblock {} (times each changed the run)",
            self.accepted_kept, self.writes_ordered, self.ex_shared_undone, self.dblocks_refreshed
        )?;
        Ok(())
    }
}
