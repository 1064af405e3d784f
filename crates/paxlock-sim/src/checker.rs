//! The checker: watches, from outside the hosts, which host *believes* it
//! holds which lease, and fails the run when beliefs overlap.
//!
//! A host believes it holds a lease from the moment its acquire (or SH to
//! EX conversion) returns Ok until its release starts, until it is told
//! that its lockspace was lost, or until it is reset or crashes. The
//! checks (sanlock-algorithms.md, section 5.4 and STYLE.md 2.5):
//!
//! * **taken while held**: a host's acquire returns Ok (or its conversion
//!   to EX) while another host that was neither told nor reset still
//!   believes it holds the lease in a conflicting mode;
//! * **two exclusive**: two hosts believe they hold the same lease EX;
//! * **exclusive and shared**: an EX believer and an SH believer coexist.
//!
//! The first is checked at the moment of the acquire; the other two after
//! every change of beliefs (they overlap in practice; both stay explicit).
//!
//! **Liveness** (fault-free seeds only): an acquire that starts while its
//! resource is quiescent (nobody believes it held, no other operation on it
//! is running) and meets no contention before it ends must succeed within
//! a bound derived from the I/Os of the uncontended path, each bounded by
//! io_timeout: EX = 3 reads + 3 writes (read area, phase 1 write + read,
//! phase 2 write + read, commit write; sanlock's `paxos_acquire_free_max`
//! = 6 io) plus 2 reads when the leader still names a previous owner that
//! released through its dblock only (delta slot read, dblock read):
//! **8 io**. SH adds the mode-block write and the leader release (read +
//! write): **11 io**.

use std::fmt;

use paxlock_core::paxos::Mode;

use crate::trace::{code_name, mode_name, Op};

/// A host's belief that it holds a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Belief {
    /// How it believes it holds it.
    pub mode: Mode,
    /// Since when (sim ms).
    pub since_ms: u64,
    /// The lver its acquire returned.
    pub lver: u64,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// `taker`'s acquire (or conversion) returned Ok while `holder` still
    /// believed it held the lease in a conflicting mode.
    TakenWhileHeld {
        /// Resource.
        res: usize,
        /// Host that still believes (index).
        holder: usize,
        /// Its belief.
        holder_belief: Belief,
        /// Host whose acquire returned Ok.
        taker: usize,
        /// Its mode.
        taker_mode: Mode,
        /// The lver the taker got.
        taker_lver: u64,
    },
    /// Two hosts believe they hold the lease EX.
    TwoExclusive {
        /// Resource.
        res: usize,
        /// One host.
        a: usize,
        /// The other.
        b: usize,
    },
    /// An EX and an SH believer coexist.
    ExclusiveAndShared {
        /// Resource.
        res: usize,
        /// The EX believer.
        ex: usize,
        /// An SH believer.
        sh: usize,
    },
    /// An uncontended acquire of a free lease did not succeed in time.
    Liveness {
        /// Resource.
        res: usize,
        /// The acquiring host.
        host: usize,
        /// Its mode.
        mode: Mode,
        /// When it started (sim ms).
        started_ms: u64,
        /// The bound (ms).
        bound_ms: u64,
        /// What happened: `None` = still running at the bound, else the
        /// result code (0 = ok but too late).
        code: Option<i32>,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Violation::TakenWhileHeld { res, holder, holder_belief, taker, taker_mode, taker_lver } => write!(
                f,
                "r{res}: host {} acquired it {} (lver {taker_lver}) while host {} still believes it holds it {} \
                 (since {} ms, lver {}) and was neither told nor reset",
                taker + 1,
                mode_name(taker_mode),
                holder + 1,
                mode_name(holder_belief.mode),
                holder_belief.since_ms,
                holder_belief.lver
            ),
            Violation::TwoExclusive { res, a, b } => {
                write!(f, "r{res}: hosts {} and {} both believe they hold it EX", a + 1, b + 1)
            }
            Violation::ExclusiveAndShared { res, ex, sh } => {
                write!(f, "r{res}: host {} believes it holds it EX while host {} holds it SH", ex + 1, sh + 1)
            }
            Violation::Liveness { res, host, mode, started_ms, bound_ms, code } => {
                write!(
                    f,
                    "liveness: host {} started an uncontended {} acquire of free r{res} at {} ms; bound {} ms; ",
                    host + 1,
                    mode_name(mode),
                    started_ms,
                    bound_ms
                )?;
                match code {
                    None => write!(f, "still not done at the bound"),
                    Some(0) => write!(f, "it succeeded too late"),
                    Some(c) => write!(f, "it failed with {}", code_name(c)),
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Watch {
    host: usize,
    res: usize,
    mode: Mode,
    started_ms: u64,
    deadline_ms: u64,
}

/// The beliefs of every host about every resource, and the checks.
#[derive(Debug)]
pub struct Checker {
    hosts: usize,
    beliefs: Vec<Option<Belief>>,
    ops: Vec<u32>,
    watches: Vec<Watch>,
    liveness_bounds_ms: Option<(u64, u64)>,
    /// The first violation found, with its time.
    pub violation: Option<(u64, Violation)>,
    /// Watched (uncontended, free) acquires that succeeded within the bound.
    pub liveness_passed: u64,
}

impl Checker {
    /// A checker for `hosts` x `resources`. With `liveness_io_ms` (the
    /// io_timeout in ms) the liveness check is on.
    pub fn new(hosts: usize, resources: usize, liveness_io_ms: Option<u64>) -> Checker {
        Checker {
            hosts,
            beliefs: vec![None; hosts * resources],
            ops: vec![0; hosts * resources],
            watches: Vec::new(),
            liveness_bounds_ms: liveness_io_ms.map(|io| (8 * io, 11 * io)),
            violation: None,
            liveness_passed: 0,
        }
    }

    fn ix(&self, host: usize, res: usize) -> usize {
        res * self.hosts + host
    }

    fn flag(&mut self, now_ms: u64, v: Violation) {
        if self.violation.is_none() {
            self.violation = Some((now_ms, v));
        }
    }

    /// What `host` believes about `res`.
    pub fn belief(&self, host: usize, res: usize) -> Option<Belief> {
        self.beliefs[self.ix(host, res)]
    }

    fn conflicts(a: Mode, b: Mode) -> bool {
        a == Mode::Ex || b == Mode::Ex
    }

    /// `host`'s acquire of `res` in `mode` returned Ok (or its conversion
    /// to EX did: `mode` = Ex).
    pub fn acquired(&mut self, now_ms: u64, host: usize, res: usize, mode: Mode, lver: u64) {
        for other in 0..self.hosts {
            if other == host {
                continue;
            }
            if let Some(b) = self.beliefs[self.ix(other, res)] {
                if Self::conflicts(b.mode, mode) {
                    self.flag(
                        now_ms,
                        Violation::TakenWhileHeld {
                            res,
                            holder: other,
                            holder_belief: b,
                            taker: host,
                            taker_mode: mode,
                            taker_lver: lver,
                        },
                    );
                }
            }
        }
        let i = self.ix(host, res);
        let since_ms = match self.beliefs[i] {
            Some(b) if b.mode == Mode::Sh && mode == Mode::Ex => b.since_ms,
            _ => now_ms,
        };
        self.beliefs[i] = Some(Belief {
            mode,
            since_ms,
            lver,
        });
        self.check_resource(now_ms, res);
    }

    /// `host` starts converting its EX hold of `res` to SH: from now on it
    /// only claims SH.
    pub fn downgraded(&mut self, host: usize, res: usize) {
        let i = self.ix(host, res);
        if let Some(b) = &mut self.beliefs[i] {
            b.mode = Mode::Sh;
        }
    }

    /// `host` no longer believes it holds `res`. Returns whether it did.
    pub fn end(&mut self, host: usize, res: usize) -> bool {
        let i = self.ix(host, res);
        self.beliefs[i].take().is_some()
    }

    /// `host` no longer believes it holds anything (told, reset, crashed).
    /// Returns the resources it believed held.
    pub fn end_all(&mut self, host: usize) -> Vec<usize> {
        let resources = self.beliefs.len() / self.hosts;
        (0..resources).filter(|&r| self.end(host, r)).collect()
    }

    /// The overlap checks for one resource.
    pub fn check_resource(&mut self, now_ms: u64, res: usize) {
        let mut ex = Vec::new();
        let mut sh = Vec::new();
        for h in 0..self.hosts {
            match self.beliefs[self.ix(h, res)] {
                Some(Belief { mode: Mode::Ex, .. }) => ex.push(h),
                Some(Belief { mode: Mode::Sh, .. }) => sh.push(h),
                None => {}
            }
        }
        if ex.len() >= 2 {
            self.flag(
                now_ms,
                Violation::TwoExclusive {
                    res,
                    a: ex[0],
                    b: ex[1],
                },
            );
        }
        if let (Some(&e), Some(&s)) = (ex.first(), sh.first()) {
            self.flag(now_ms, Violation::ExclusiveAndShared { res, ex: e, sh: s });
        }
    }

    fn quiescent(&self, res: usize) -> bool {
        (0..self.hosts)
            .all(|h| self.beliefs[self.ix(h, res)].is_none() && self.ops[self.ix(h, res)] == 0)
    }

    /// An operation on `res` starts on `host` (requests do not count: they
    /// do not touch the lease itself). Any other host's watched acquire of
    /// `res` now has contention and is no longer watched. Returns the
    /// deadline when this is an acquire that the liveness check watches.
    pub fn op_start(&mut self, now_ms: u64, host: usize, res: usize, op: Op) -> Option<u64> {
        self.watches.retain(|w| w.res != res);
        let quiet = self.quiescent(res);
        let i = self.ix(host, res);
        self.ops[i] += 1;
        let (ex_ms, sh_ms) = self.liveness_bounds_ms?;
        let Op::Acquire(mode) = op else { return None };
        if !quiet {
            return None;
        }
        let deadline_ms = now_ms + if mode == Mode::Ex { ex_ms } else { sh_ms };
        self.watches.push(Watch {
            host,
            res,
            mode,
            started_ms: now_ms,
            deadline_ms,
        });
        Some(deadline_ms)
    }

    /// The operation ends: `code` 0 = Ok.
    pub fn op_end(&mut self, now_ms: u64, host: usize, res: usize, code: i32) {
        let i = self.ix(host, res);
        self.ops[i] = self.ops[i].saturating_sub(1);
        if let Some(k) = self
            .watches
            .iter()
            .position(|w| w.host == host && w.res == res)
        {
            let w = self.watches.remove(k);
            if code != 0 || now_ms > w.deadline_ms {
                self.flag(now_ms, Self::liveness(w, Some(code)));
            } else {
                self.liveness_passed += 1;
            }
        }
    }

    fn liveness(w: Watch, code: Option<i32>) -> Violation {
        Violation::Liveness {
            res: w.res,
            host: w.host,
            mode: w.mode,
            started_ms: w.started_ms,
            bound_ms: w.deadline_ms - w.started_ms,
            code,
        }
    }

    /// A watched acquire's deadline passed: fails if it is still running.
    pub fn deadline(&mut self, now_ms: u64, host: usize, res: usize, started_ms: u64) {
        if let Some(w) = self
            .watches
            .iter()
            .find(|w| w.host == host && w.res == res && w.started_ms == started_ms)
            .copied()
        {
            self.flag(now_ms, Self::liveness(w, None));
        }
    }

    /// `host`'s tasks are gone (reset, crash): its operations are over.
    pub fn host_gone(&mut self, host: usize) {
        let resources = self.beliefs.len() / self.hosts;
        for r in 0..resources {
            let i = self.ix(host, r);
            self.ops[i] = 0;
        }
        self.watches.retain(|w| w.host != host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_holders_coexist() {
        let mut c = Checker::new(3, 1, None);
        c.acquired(1, 0, 0, Mode::Sh, 1);
        c.acquired(2, 1, 0, Mode::Sh, 2);
        assert!(c.violation.is_none());
        c.end_all(0);
        c.end(1, 0);
        c.acquired(3, 2, 0, Mode::Ex, 3);
        assert!(c.violation.is_none());
    }

    #[test]
    fn liveness_watch_is_cancelled_by_contention() {
        let mut c = Checker::new(2, 1, Some(1000));
        assert_eq!(c.op_start(0, 0, 0, Op::Acquire(Mode::Ex)), Some(8000));
        assert_eq!(c.op_start(5, 1, 0, Op::Acquire(Mode::Ex)), None);
        c.op_end(9000, 0, 0, -243);
        assert!(c.violation.is_none());
    }
}
