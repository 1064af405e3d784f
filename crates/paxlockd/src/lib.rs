//! paxlock's lease daemon: sanlock's client protocol (`paxlock-proto`) on
//! `$SANLOCK_RUN_DIR/sanlock.sock`, over the lease engine
//! (`paxlock-driver`), so that the unchanged `sanlock client` CLI,
//! libsanlock, python3-sanlock and libvirt's plugin use paxlock.
//!
//! Every request sanlock 3.8.5's clients send is handled as sanlock's
//! daemon handles it (host events: events.rs, lock value blocks: lvb.rs,
//! persistent and orphan leases: orphan.rs), except RELEASE with
//! `SANLK_REL_RENAME` (-EOPNOTSUPP); see ARCHITECTURE.md for the modules.
//! There is no watchdog yet.
//!
//! Threads: one accept loop, one thread per connection, one recovery
//! thread; each lockspace renews on its own threads (paxlock-driver).

pub mod config;
mod conn;
mod diskcmd;
mod dispatch;
mod events;
mod lease;
mod lvb;
mod orphan;
mod recover;
mod report;
mod space;
mod state;
mod watchdog;

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paxlock_driver::RealEnv;
use paxlock_format::Name;

use crate::conn::serve;
use crate::state::*;

pub(crate) const EPERM: i32 = -1;
pub(crate) const ENOENT: i32 = -2;
pub(crate) const ESRCH: i32 = -3;
pub(crate) const EAGAIN: i32 = -11;
pub(crate) const EBUSY: i32 = -16;
pub(crate) const EEXIST: i32 = -17;
pub(crate) const ENOTTY: i32 = -25;
pub(crate) const ENODEV: i32 = -19;
pub(crate) const EINVAL: i32 = -22;
pub(crate) const ENOSPC: i32 = -28;
pub(crate) const EOPNOTSUPP: i32 = -95;
pub(crate) const EINPROGRESS: i32 = -115;

/// How the daemon was started.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run directory (`$SANLOCK_RUN_DIR`, default /run/sanlock).
    pub run_dir: PathBuf,
    /// Our host name in delta leases (default: a fresh random one).
    pub host_name: String,
    /// Default io_timeout for lockspaces added without one.
    pub io_timeout_secs: u32,
    /// Watchdog fire timeout (must match every host's).
    pub watchdog_fire_timeout_secs: u32,
    /// After a lockspace is lost, how long its lease holders get (killpath
    /// or SIGTERM) before SIGKILL (`-g`, sanlock's default 40).
    pub kill_grace_secs: u32,
    /// Owner and group of the socket (`-U`/`-G`); None leaves root's.
    pub socket_owner: Option<(u32, u32)>,
    /// `-w 1`: every lockspace keeps an expiry in a wdmd at this socket
    /// (None: `-w 0`, for testing only).
    pub wdmd_socket: Option<PathBuf>,
}

/// Runs the daemon until SHUTDOWN. Returns an error message on startup failure.
pub fn run(opts: Options) -> Result<(), String> {
    std::fs::create_dir_all(&opts.run_dir)
        .map_err(|e| format!("{}: {e}", opts.run_dir.display()))?;
    let lock_path = opts.run_dir.join("sanlock.pid");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("{}: {e}", lock_path.display()))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
        |_| {
            format!(
                "another daemon is running with run dir {}; stop it or use another SANLOCK_RUN_DIR",
                opts.run_dir.display()
            )
        },
    )?;
    let _ = lock.set_len(0);
    let _ = writeln!(&lock, "{}", std::process::id());
    let sock_path = opts.run_dir.join("sanlock.sock");
    let _ = std::fs::remove_file(&sock_path);
    let listener =
        UnixListener::bind(&sock_path).map_err(|e| format!("{}: {e}", sock_path.display()))?;
    let _ = std::fs::set_permissions(&sock_path, std::fs::Permissions::from_mode(0o660));
    if let Some((uid, gid)) = opts.socket_owner {
        std::os::unix::fs::chown(&sock_path, Some(uid), Some(gid))
            .map_err(|e| format!("chown {} to {uid}:{gid}: {e}", sock_path.display()))?;
    }
    let host_name = Name::new(&opts.host_name).map_err(|e| e.to_string())?;
    let d = Arc::new(Daemon {
        opts,
        host_name,
        env: RealEnv::new(),
        spaces: Mutex::new(Vec::new()),
        clients: Mutex::new(HashMap::new()),
        next_cid: std::sync::atomic::AtomicU64::new(1),
        reserved: Mutex::new(std::collections::HashSet::new()),
        log: Mutex::new(VecDeque::new()),
        stop: AtomicBool::new(false),
        shutdown_waiters: Mutex::new(Vec::new()),
        sock_path: sock_path.clone(),
        orphans: Mutex::new(Vec::new()),
    });
    d.log(format!(
        "paxlock daemon started, host name {}",
        d.opts.host_name
    ));
    {
        let d = Arc::clone(&d);
        std::thread::Builder::new()
            .name("recover".into())
            .spawn(move || recover::watch(d))
            .map_err(|e| format!("cannot start the recovery thread: {e}"))?;
    }
    // SHUTDOWN wakes this loop with a connection of its own.
    for stream in listener.incoming() {
        if d.stop.load(Ordering::Acquire) {
            break;
        }
        let Ok(stream) = stream else {
            std::thread::sleep(Duration::from_millis(20)); // EMFILE and such
            continue;
        };
        let d = Arc::clone(&d);
        let spawned = std::thread::Builder::new()
            .name("conn".into())
            .stack_size(CONN_STACK)
            .spawn(move || serve(&d, stream));
        if spawned.is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // Leave every lockspace we still hold (holders are gone by now); a
    // lost one is dropped without a write.
    let spaces: Vec<Space> = d
        .spaces
        .lock()
        .map(|mut s| s.drain(..).collect())
        .unwrap_or_default();
    for s in spaces {
        if let SpaceState::Joined(l) | SpaceState::Removing(l) = s.state {
            if let Ok(l) = Arc::try_unwrap(l) {
                if l.lost().is_none() {
                    let _ = l.leave();
                }
            }
        }
        // Holders are gone (killed by a forced shutdown, or there were
        // none): the watchdog may stop guarding the lockspace.
        if let Some(w) = &s.watchdog {
            watchdog::disarm(w);
        }
    }
    let _ = std::fs::remove_file(&d.sock_path);
    // SHUTDOWN_WAIT: answered just before we exit (header built anew,
    // cmd 0, as sanlock does).
    if let Ok(mut w) = d.shutdown_waiters.lock() {
        for mut s in w.drain(..) {
            let _ = s.write_all(&paxlock_proto::reply::encode_shutdown_wait_exit_reply());
        }
    }
    Ok(())
}

/// Stack of a connection thread: a request is handled with little stack,
/// and 1,000 connections must stay cheap.
const CONN_STACK: usize = 256 * 1024;
