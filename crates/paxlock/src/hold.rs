//! `paxlock hold`: join a lockspace as one host and hold resource leases,
//! renewing, until told to stop. A one-process host for trying leases out
//! and for interop tests against sanlock (the daemon comes later).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use paxlock_core::delta::LockspaceConfig;
use paxlock_core::paxos::{AcquireOpts, Held, Mode, ResourceSpec};
use paxlock_core::{LeaseLoc, Timeouts};
use paxlock_driver::{Lockspace, RealEnv};
use paxlock_format::leasestr::{LockspaceArg, ResourceArg};
use paxlock_format::{Geometry, LeaderRecord, Name};
use paxlock_io::{Access, Disk};

/// What `hold` was asked to do.
#[derive(Debug, Clone)]
pub struct HoldArgs {
    /// The lockspace and our host_id.
    pub lockspace: LockspaceArg,
    /// Leases to acquire (`:SH` for shared).
    pub resources: Vec<ResourceArg>,
    /// io_timeout for our delta lease.
    pub io_timeout_secs: u32,
    /// Watchdog fire timeout (must match every host's).
    pub watchdog_fire_timeout_secs: u32,
    /// Our host name (default: a fresh random one).
    pub host_name: Option<String>,
    /// Hold this long, then release (default: until stdin closes).
    pub hold_secs: Option<u64>,
}

fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line.as_ref());
    let _ = out.flush();
}

/// A fresh host name like sanlock's default: a random UUID and the node name.
pub fn random_host_name() -> String {
    let r = |_| RandomState::new().build_hasher().finish();
    let (a, b) = (r(0), r(1));
    let node = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let s = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}.{}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff,
        node.trim()
    );
    s.chars().take(48).collect()
}

fn geometry_at(path: &str, offset: u64) -> Result<Geometry, String> {
    let d = Disk::open(Path::new(path), Access::ReadOnly).map_err(|e| e.to_string())?;
    let b = d
        .read_at(
            offset,
            4096.min(d.size_bytes().saturating_sub(offset) as usize),
            Duration::from_secs(10),
        )
        .map_err(|e| e.to_string())?;
    let l = LeaderRecord::decode(&b).map_err(|e| e.to_string())?;
    l.geometry().ok_or_else(|| {
        format!(
            "{path}:{offset}: no lockspace here ({}); run 'paxlock direct init -s' first",
            l.kind().describe()
        )
    })
}

/// While alive, prints the seconds waited on stderr once a second, when
/// stderr is a terminal (joining a lockspace takes 2 io_timeouts or more).
struct Ticker(
    Option<mpsc::Sender<()>>,
    Option<std::thread::JoinHandle<()>>,
);

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.0.take());
        if let Some(t) = self.1.take() {
            let _ = t.join();
        }
    }
}

fn progress_ticker(what: &'static str) -> Ticker {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return Ticker(None, None);
    }
    let (tx, rx) = mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        let mut secs = 0;
        while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(1)) {
            secs += 1;
            eprint!("\r{what}: {secs} s ");
        }
        if secs > 0 {
            eprintln!();
        }
    });
    Ticker(Some(tx), Some(t))
}

/// Runs `hold`; returns the process exit code.
pub fn run(a: &HoldArgs) -> i32 {
    let ls = &a.lockspace;
    let timeouts = match Timeouts::new(a.io_timeout_secs, a.watchdog_fire_timeout_secs) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("paxlock: error: {e}");
            return 2;
        }
    };
    let geometry = match geometry_at(&ls.disk.path, ls.disk.offset) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("paxlock: error: {e}");
            return 1;
        }
    };
    let env = RealEnv::new();
    let disk = match env.disk(Path::new(&ls.disk.path)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("paxlock: error: {e}");
            return 1;
        }
    };
    let host_name = a.host_name.clone().unwrap_or_else(random_host_name);
    let Ok(host_name) = Name::new(&host_name) else {
        eprintln!("paxlock: error: host name {host_name:?} is longer than 48 bytes");
        return 2;
    };
    let cfg = LockspaceConfig {
        space_name: ls.name,
        host_id: ls.host_id,
        loc: LeaseLoc {
            disk,
            offset: ls.disk.offset,
        },
        geometry,
        timeouts,
        host_name,
    };
    say(format!(
        "joining lockspace {} as host_id {} (io_timeout {} s): about {} s if the host_id is free, {} s if another host held it",
        ls.name,
        ls.host_id,
        timeouts.io_timeout_secs(),
        timeouts.delta_short_delay_secs(),
        timeouts.host_dead_secs() + timeouts.delta_short_delay_secs()
    ));
    let ticker = progress_ticker("joining");
    let joined = Lockspace::join(env.clone(), cfg);
    drop(ticker);
    let space = match joined {
        Ok(s) => s,
        Err(e) => {
            say(format!(
                "cannot join lockspace {}: {e} ({})",
                ls.name,
                e.code()
            ));
            return 1;
        }
    };
    say(format!(
        "joined lockspace {} as host_id {} generation {}",
        ls.name,
        ls.host_id,
        space.generation()
    ));
    let mut held: Vec<Held> = Vec::new();
    let mut failed = false;
    for r in &a.resources {
        let disk = match env.disk(Path::new(&r.disks[0].path)) {
            Ok(d) => d,
            Err(e) => {
                say(format!("cannot acquire {}: {e}", r.name));
                failed = true;
                break;
            }
        };
        let spec = ResourceSpec {
            space_name: r.lockspace,
            name: r.name,
            loc: LeaseLoc {
                disk,
                offset: r.disks[0].offset,
            },
        };
        let mode = if r.shared { Mode::Sh } else { Mode::Ex };
        match space.acquire(
            &spec,
            mode,
            AcquireOpts {
                lver: r.lver,
                nowait: false,
            },
        ) {
            Ok(h) => {
                say(format!("acquired {} ({:?}, lver {})", r.name, mode, h.lver));
                held.push(h);
            }
            Err(e) => {
                say(format!("cannot acquire {}: {e} ({})", r.name, e.code()));
                failed = true;
                break;
            }
        }
    }
    if !failed {
        say(match a.hold_secs {
            Some(s) => format!("holding for {s} s"),
            None => "holding; close stdin to release and leave".to_string(),
        });
        let (tx, rx) = mpsc::channel::<()>();
        if a.hold_secs.is_none() {
            std::thread::spawn(move || {
                let stdin = std::io::stdin();
                for line in stdin.lock().lines() {
                    if line.is_err() {
                        break;
                    }
                }
                let _ = tx.send(());
            });
        }
        let deadline = a
            .hold_secs
            .map(|s| paxlock_driver::monotime_ms() + s * 1000);
        loop {
            if let Some(reason) = space.lost() {
                say(format!(
                    "LEASES LOST: lockspace {} failed ({reason:?}); stop using every resource now",
                    ls.name
                ));
                return 1;
            }
            if deadline.is_some_and(|d| paxlock_driver::monotime_ms() >= d) {
                break;
            }
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) if a.hold_secs.is_none() => {
                    break
                }
                _ => {}
            }
        }
    }
    for h in held.iter().rev() {
        match space.release(h) {
            Ok(()) => say(format!("released {}", h.res.name)),
            Err(e) => {
                say(format!(
                    "release of {} failed: {e} ({})",
                    h.res.name,
                    e.code()
                ));
                failed = true;
            }
        }
    }
    match space.leave() {
        Ok(()) => say(format!("left lockspace {}", ls.name)),
        Err(e) => {
            say(format!("leaving lockspace {} failed: {e}", ls.name));
            failed = true;
        }
    }
    i32::from(failed)
}
