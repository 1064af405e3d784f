//! The daemon's shared state: lockspaces, registered clients, the log.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use paxlock_core::paxos::Held;
use paxlock_driver::{Lockspace, RealEnv};
use paxlock_format::Name;
use paxlock_proto::wire::{ResourceArg, SanlkLockspace};

use crate::Options;

pub(crate) enum SpaceState {
    /// ADD_LOCKSPACE is acquiring the host_id.
    Adding,
    /// Joined; lost once `l.lost()` says so (then its holders are killed).
    Joined(Arc<Lockspace>),
    /// REM_LOCKSPACE: holders are being killed; then the host_id is freed.
    Removing(Arc<Lockspace>),
    /// The host_id is being freed (or the lost lockspace's threads are
    /// stopping): no new ADD until it is gone, so that two incarnations
    /// of our host_id never overlap.
    Leaving,
}

pub(crate) struct Space {
    pub(crate) ls: SanlkLockspace,
    pub(crate) state: SpaceState,
    /// SET_CONFIG USED: REM_LOCKSPACE with REM_UNUSED fails with -EBUSY.
    pub(crate) used: bool,
    /// `Lockspace::signalled()` when requests were last checked.
    pub(crate) signals_seen: u64,
    /// EXAMINE asked for the requests to be checked.
    pub(crate) examine: bool,
    /// When the recovery thread first saw the lockspace lost (ms).
    pub(crate) lost_seen_ms: Option<u64>,
    /// Its wdmd connection (`-w 1`), disarmed when the lockspace is left.
    pub(crate) watchdog: Option<crate::watchdog::Armed>,
    /// Host events: registered event connections, the event we send.
    pub(crate) events: Arc<crate::events::SpaceEvents>,
    /// SET_CONFIG USED_BY_ORPHANS: orphan leases block the removal.
    pub(crate) used_by_orphans: bool,
}

impl Space {
    pub(crate) fn new(ls: SanlkLockspace) -> Space {
        Space {
            ls,
            state: SpaceState::Adding,
            used: false,
            signals_seen: 0,
            examine: false,
            lost_seen_ms: None,
            watchdog: None,
            events: Arc::default(),
            used_by_orphans: false,
        }
    }
}

pub(crate) struct Token {
    pub(crate) held: Held,
    pub(crate) arg: ResourceArg,
    /// A CONVERT is doing disk I/O on this lease (without the client
    /// table locked): other commands on it get -EBUSY meanwhile.
    pub(crate) busy: bool,
    /// Acquired with `SANLK_ACQUIRE_LVB`: its lock value block.
    pub(crate) lvb: Option<crate::lvb::Lvb>,
}

/// A registered connection (sanlock's client slot): the key of
/// [`Daemon::clients`]. Several connections of one process are separate
/// clients, as in sanlock.
pub(crate) type Cid = u64;

pub(crate) struct Client {
    /// The peer's pid at REGISTER time.
    pub(crate) pid: i32,
    pub(crate) name: String,
    pub(crate) tokens: Vec<Token>,
    /// `SANLK_RESTRICT_*` (RESTRICT).
    pub(crate) restrict: u32,
    /// KILLPATH: program, its argument string, `SANLK_KILLPATH_PID`.
    pub(crate) killpath: Option<(String, String, u32)>,
    pub(crate) kill: KillState,
}

impl Client {
    pub(crate) fn new(pid: i32) -> Client {
        Client {
            pid,
            name: pid.to_string(),
            tokens: Vec::new(),
            restrict: 0,
            killpath: None,
            kill: KillState::default(),
        }
    }
}

/// How far killing a client has gone (reset when it holds no lease).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KillState {
    /// Signals sent (or killpath runs).
    pub(crate) count: u32,
    /// When the last one was sent (monotonic ms).
    pub(crate) last_ms: u64,
    /// The killpath program has been run.
    pub(crate) runpath_sent: bool,
}

pub(crate) struct Daemon {
    pub(crate) opts: Options,
    pub(crate) host_name: Name,
    pub(crate) env: RealEnv,
    pub(crate) spaces: Mutex<Vec<Space>>,
    pub(crate) clients: Mutex<HashMap<Cid, Client>>,
    /// The next [`Cid`].
    pub(crate) next_cid: std::sync::atomic::AtomicU64,
    /// Resources being acquired now (see `lease::Reservations`); locked
    /// inside `clients`, never the other way round.
    pub(crate) reserved: Mutex<std::collections::HashSet<(String, String)>>,
    pub(crate) log: Mutex<VecDeque<String>>,
    pub(crate) stop: AtomicBool,
    /// SHUTDOWN_WAIT connections, answered when the daemon exits.
    pub(crate) shutdown_waiters: Mutex<Vec<std::os::unix::net::UnixStream>>,
    /// Our socket (SHUTDOWN connects to it to wake the accept loop).
    pub(crate) sock_path: std::path::PathBuf,
    /// Persistent leases whose holder died (`list=orphan`).
    pub(crate) orphans: Mutex<Vec<crate::orphan::Orphan>>,
}

impl Daemon {
    /// Stops the daemon: the accept loop wakes and winds down.
    pub(crate) fn shutdown(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        let _ = std::os::unix::net::UnixStream::connect(&self.sock_path);
    }

    pub(crate) fn log(&self, msg: String) {
        if let Ok(mut l) = self.log.lock() {
            if l.len() >= 10_000 {
                l.pop_front();
            }
            l.push_back(format!("{} {msg}", paxlock_io::monotime_secs()));
        }
    }

    pub(crate) fn joined(&self, name: &Name) -> Option<Arc<Lockspace>> {
        let spaces = self.spaces.lock().ok()?;
        spaces
            .iter()
            .find(|s| s.ls.name.same_as(name))
            .and_then(|s| match &s.state {
                SpaceState::Joined(l) if l.lost().is_none() => Some(Arc::clone(l)),
                _ => None,
            })
    }

    /// Whether a registered client holds a lease in lockspace `name`.
    pub(crate) fn holds_in(&self, name: &Name) -> bool {
        self.clients
            .lock()
            .map(|c| {
                c.values()
                    .any(|c| c.tokens.iter().any(|t| t.held.res.space_name.same_as(name)))
            })
            .unwrap_or(true)
    }

    /// The lockspace in which a held lease can still be released on
    /// disk: joined or being removed, and not lost.
    pub(crate) fn live(&self, name: &Name) -> Option<Arc<Lockspace>> {
        let spaces = self.spaces.lock().ok()?;
        spaces
            .iter()
            .find(|s| s.ls.name.same_as(name))
            .and_then(|s| match &s.state {
                SpaceState::Joined(l) | SpaceState::Removing(l) if l.lost().is_none() => {
                    Some(Arc::clone(l))
                }
                _ => None,
            })
    }
}
