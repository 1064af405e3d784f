//! What one run simulates. [`SimConfig`] is what the caller chooses;
//! [`Scenario`] is everything else, drawn from the seed, so that a seed (and
//! the few options printed in the replay command) reproduces a run exactly.

use paxlock_core::paxos::PlantedBug;
use paxlock_format::{AlignSize, Geometry, SectorSize};

use crate::rng::Rng;

/// A bug planted in paxlock-core on every host, to prove the checker can
/// fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// Commit without the read after phase 2.
    SkipPhase2Read,
    /// Take over an owner's lease after 1 s instead of host_dead.
    EarlyTakeover,
}

impl Bug {
    /// Every planted bug, by CLI name.
    pub const ALL: [Bug; 2] = [Bug::SkipPhase2Read, Bug::EarlyTakeover];

    /// The CLI name (`skip-phase2-read`, `early-takeover`).
    pub fn name(self) -> &'static str {
        match self {
            Bug::SkipPhase2Read => "skip-phase2-read",
            Bug::EarlyTakeover => "early-takeover",
        }
    }

    /// Parses a CLI name.
    pub fn parse(s: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == s)
    }

    /// The core's switch for it.
    pub fn planted(self) -> PlantedBug {
        match self {
            Bug::SkipPhase2Read => PlantedBug::SkipPhase2Read,
            Bug::EarlyTakeover => PlantedBug::EarlyTakeover,
        }
    }
}

/// Workarounds for paxlock-core bugs this simulator found. All of them are
/// fixed in the core now (keep-accepted, ex-shared, refresh-hosts,
/// fresh-dblock; and write ordering became part of the `Env` contract,
/// which the simulated disk enforces), so they are all off by default. They
/// stay available (`--workaround NAME`) to study a failing seed of an older
/// core. Three earlier bugs (unsealed retract dblock, SH mode block cleared
/// by a failed SH->EX conversion, stale dblock when another host committed
/// us) were fixed before these switches existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workarounds {
    /// `keep-accepted`: an accepted value at an lver must never be erased
    /// (spec section 7 items 2, 13 and 14), but paxlock-core erases ours in
    /// two ways: `retract` (after an I/O error in phase 2 or at commit)
    /// writes our dblock as zeros + RELEASED at that lver, and the next
    /// acquire, which still reads the old leader when our commit has not
    /// landed, runs a *new ballot at the same lver* whose phase 1 writes
    /// bal = inp = 0. If our value had been chosen (e.g. only the commit
    /// write timed out), another host can then choose a different owner at
    /// the same lver, our late commit lands on top and names us, and our
    /// next acquire takes the "owner is us" shortcut (or another host sees
    /// a RELEASED owner): two exclusive holders. When a dblock without an
    /// accepted value lands on our dblock that holds one at the same lver,
    /// the simulated disk keeps the accepted bal/inp (and the larger mbal),
    /// as in the Disk Paxos paper.
    pub keep_accepted: bool,
    /// `ex-shared`: when an exclusive acquire (or SH->EX conversion)
    /// succeeds because another host committed our value after our own
    /// ballot aborted, `acquire_inner` returns an empty list of SHARED
    /// holders (those seen by the aborted ballot are dropped), so the live
    /// shared holders are never checked. After an exclusive success the
    /// client reads the mode blocks itself and, if another live host holds
    /// the lease SH, releases it and counts the acquire as EAGAIN.
    pub ex_shared: bool,
    /// `refresh-hosts`: `HostTable::live(host, gen)` (as sanlock's
    /// `host_live`) judges a mode block whose generation is *newer* than the
    /// one we last observed by the old incarnation's last renewal, so a host
    /// that just rejoined (new generation) and took the lease SH looks dead
    /// when our own renewals (the only thing that refreshes the table) were
    /// slow, or when we were frozen; an exclusive acquire then clears its
    /// SHARED mode block. Whenever a read of another host's dblock sector
    /// completes (which is what `live_shared_holders` does right before it
    /// asks `HostTable::live`), the client's environment refreshes the
    /// host's table with a look at the host slots as they are on disk at
    /// that moment.
    pub refresh_hosts: bool,
    /// `fresh-dblock`: after a failed `convert`, the caller's `Held` still
    /// carries the dblock of the original acquire, while the conversion's
    /// ballot wrote our dblock at a newer lver (where our value may have
    /// been chosen and our commit may still land late). Releasing that
    /// `Held` rewrites our dblock at the old lver, erasing the accepted
    /// value, with the same outcome as `keep-accepted`. After a failed
    /// conversion the client re-reads its own dblock and uses it in the
    /// `Held` it keeps or releases (if that read fails it gives the lease
    /// up without writing).
    pub fresh_dblock: bool,
}

impl Workarounds {
    /// All on.
    pub const ALL: Workarounds = Workarounds {
        keep_accepted: true,
        ex_shared: true,
        refresh_hosts: true,
        fresh_dblock: true,
    };
    /// All off (the default: the core has the fixes).
    pub const NONE: Workarounds = Workarounds {
        keep_accepted: false,
        ex_shared: false,
        refresh_hosts: false,
        fresh_dblock: false,
    };
    /// The CLI names.
    pub const NAMES: [&'static str; 5] = [
        "keep-accepted",
        "ex-shared",
        "refresh-hosts",
        "fresh-dblock",
        "all",
    ];

    /// Turns on the workaround called `name` (or `all`).
    pub fn enable(&mut self, name: &str) -> bool {
        match name {
            "keep-accepted" => self.keep_accepted = true,
            "ex-shared" => self.ex_shared = true,
            "refresh-hosts" => self.refresh_hosts = true,
            "fresh-dblock" => self.fresh_dblock = true,
            "all" => *self = Workarounds::ALL,
            _ => return false,
        }
        true
    }

    /// The names of the workarounds that are on.
    pub fn enabled(&self) -> Vec<&'static str> {
        let all = Workarounds::ALL.disabled();
        let off = self.disabled();
        all.into_iter().filter(|n| !off.contains(n)).collect()
    }

    /// Turns off the workaround called `name` (or `all`).
    pub fn disable(&mut self, name: &str) -> bool {
        match name {
            "keep-accepted" => self.keep_accepted = false,
            "ex-shared" => self.ex_shared = false,
            "refresh-hosts" => self.refresh_hosts = false,
            "fresh-dblock" => self.fresh_dblock = false,
            "all" => *self = Workarounds::NONE,
            _ => return false,
        }
        true
    }

    /// The names of those turned off.
    pub fn disabled(&self) -> Vec<&'static str> {
        let all = [
            (self.keep_accepted, "keep-accepted"),
            (self.ex_shared, "ex-shared"),
            (self.refresh_hosts, "refresh-hosts"),
            (self.fresh_dblock, "fresh-dblock"),
        ];
        all.into_iter()
            .filter(|(on, _)| !on)
            .map(|(_, n)| n)
            .collect()
    }
}

/// Which faults a run may inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultChoice {
    /// Drawn per seed: about one seed in eight has no fault at all (and
    /// then the liveness check is on), the others a random mix.
    Random,
    /// No fault at all in any seed: liveness is checked everywhere.
    None,
    /// Every fault kind in every seed.
    All,
}

/// What the caller chooses for one run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The seed.
    pub seed: u64,
    /// Number of hosts (2..=8); drawn from the seed when `None`.
    pub hosts: Option<usize>,
    /// A planted bug, on every host.
    pub bug: Option<Bug>,
    /// Fault selection.
    pub faults: FaultChoice,
    /// Keep every trace event (for replay) instead of only the last ones.
    pub full_trace: bool,
    /// How many of the last events a violation report shows.
    pub trace_tail: usize,
    /// Workarounds for known paxlock-core bugs (see [`Workarounds`]).
    pub workarounds: Workarounds,
    /// Simulated time per seed; [`DURATION_MS_DEFAULT`] when `None`.
    pub duration_ms: Option<u64>,
}

/// Simulated time per seed by default: 150 s, with io_timeout 1 s (a
/// renewal every 2.5 s, host_dead 18 s) long enough for several rounds of
/// faults, resets and rejoins.
pub const DURATION_MS_DEFAULT: u64 = 150_000;

impl SimConfig {
    /// The defaults for `seed`: random hosts and faults, no bug.
    pub fn new(seed: u64) -> SimConfig {
        SimConfig {
            seed,
            hosts: None,
            bug: None,
            faults: FaultChoice::Random,
            full_trace: false,
            trace_tail: 120,
            workarounds: Workarounds::NONE,
            duration_ms: None,
        }
    }
}

/// The fault mix of one seed.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Hosts crash (tasks dropped at once), then reboot.
    pub crash: bool,
    /// Hosts freeze (their tasks are not polled) for up to 40 s.
    pub freeze: bool,
    /// One host's storage stalls (its I/Os take very long).
    pub stall: bool,
    /// Probability that an I/O fails with EIO.
    pub eio_p: f64,
    /// Probability that an I/O is slow (0.3..2.5 s: past the 1 s io_timeout
    /// about half the time, so it times out and a write lands late).
    pub slow_p: f64,
}

impl FaultPlan {
    /// True when nothing at all is injected (liveness is then checked).
    pub fn is_none(&self) -> bool {
        !self.crash && !self.freeze && !self.stall && self.eio_p == 0.0 && self.slow_p == 0.0
    }

    /// One line for the trace header.
    pub fn describe(&self) -> String {
        if self.is_none() {
            return "none".into();
        }
        let mut v = Vec::new();
        if self.crash {
            v.push("crash".to_string());
        }
        if self.freeze {
            v.push("freeze".to_string());
        }
        if self.stall {
            v.push("stall".to_string());
        }
        if self.eio_p > 0.0 {
            v.push(format!("eio {:.3}", self.eio_p));
        }
        if self.slow_p > 0.0 {
            v.push(format!("slow {:.3}", self.slow_p));
        }
        v.join(", ")
    }
}

/// How the simulated clients use the leases.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Think time (and hold time) between operations on a resource: uniform
    /// in 0..=this; after a failed acquire, in this/2..=2*this (a client
    /// backs off instead of spinning on a held lease).
    pub think_max_ms: u64,
    /// Probability that an acquire is shared.
    pub sh_p: f64,
    /// Probability that an idle client sends a request (force) instead of
    /// acquiring.
    pub request_p: f64,
    /// Probability that a holder converts instead of releasing.
    pub convert_p: f64,
}

/// Everything about a run that is not the caller's choice, drawn from the
/// seed.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Hosts (host_id = index + 1).
    pub hosts: usize,
    /// Resources (each a paxos lease area after the lockspace area).
    pub resources: usize,
    /// Lease geometry (512/1M mostly, sometimes 4K/1M).
    pub geometry: Geometry,
    /// Simulated time to run.
    pub duration_ms: u64,
    /// io_timeout of every host.
    pub io_timeout_secs: u32,
    /// Watchdog fire timeout of every host.
    pub watchdog_fire_timeout_secs: u32,
    /// Faults.
    pub faults: FaultPlan,
    /// Client behaviour.
    pub workload: Workload,
}

impl Scenario {
    /// Draws the scenario of `cfg` from `rng` (seeded with the seed).
    pub fn draw(cfg: &SimConfig, rng: &mut Rng) -> Scenario {
        let duration_ms = cfg.duration_ms.unwrap_or(DURATION_MS_DEFAULT);
        assert!(
            duration_ms >= 30_000,
            "a seed needs at least 30 s of simulated time"
        );
        let hosts = cfg.hosts.unwrap_or_else(|| rng.range(2, 5) as usize);
        assert!((2..=8).contains(&hosts), "hosts must be 2..=8");
        let mut resources = rng.range(1, 3) as usize;
        let geometry = if rng.below(4) == 0 {
            Geometry::new(SectorSize::S4K, AlignSize::A1M)
        } else {
            Geometry::new(SectorSize::S512, AlignSize::A1M)
        }
        .unwrap_or_else(|_| unreachable!("512/1M and 4K/1M are valid"));
        let mut faults = FaultPlan::default();
        let fault_free = match cfg.faults {
            FaultChoice::None => true,
            FaultChoice::All => false,
            FaultChoice::Random => rng.below(8) == 0,
        };
        if !fault_free {
            let all = cfg.faults == FaultChoice::All;
            // Draw until at least one kind is on.
            while faults.is_none() {
                faults.crash = all || rng.chance(0.4);
                faults.freeze = all || rng.chance(0.5);
                faults.stall = all || rng.chance(0.5);
                faults.eio_p = if all || rng.chance(0.4) {
                    [0.002, 0.01, 0.03][rng.below(3) as usize]
                } else {
                    0.0
                };
                faults.slow_p = if all || rng.chance(0.4) {
                    [0.002, 0.01, 0.05][rng.below(3) as usize]
                } else {
                    0.0
                };
            }
        }
        let mut workload = Workload {
            think_max_ms: [300, 1000, 3000, 6000][rng.below(4) as usize],
            sh_p: [0.0, 0.3, 0.6][rng.below(3) as usize],
            request_p: [0.0, 0.05, 0.2][rng.below(3) as usize],
            convert_p: [0.0, 0.2, 0.5][rng.below(3) as usize],
        };
        if cfg.bug == Some(Bug::SkipPhase2Read) {
            // Many concurrent exclusive ballots on one lease.
            resources = 1;
            workload.think_max_ms = 300;
            workload.sh_p = 0.0;
        }
        Scenario {
            hosts,
            resources,
            geometry,
            duration_ms,
            io_timeout_secs: 1,
            watchdog_fire_timeout_secs: 10,
            faults,
            workload,
        }
    }

    /// One line for the trace header.
    pub fn describe(&self) -> String {
        format!(
            "{} hosts, {} resources, geometry {}/{}, {} s, io_timeout {} s, wft {} s, faults: {}; think <= {} ms, sh {:.1}, request {:.2}, convert {:.1}",
            self.hosts,
            self.resources,
            self.geometry.sector_bytes(),
            self.geometry.align_size().as_arg(),
            self.duration_ms / 1000,
            self.io_timeout_secs,
            self.watchdog_fire_timeout_secs,
            self.faults.describe(),
            self.workload.think_max_ms,
            self.workload.sh_p,
            self.workload.request_p,
            self.workload.convert_p,
        )
    }
}
