//! Lockspace commands: add, remove.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::state::*;
use crate::*;
use paxlock_core::delta::LockspaceConfig;
use paxlock_core::{LeaseLoc, Timeouts};
use paxlock_driver::Lockspace;
use paxlock_format::{LeaderRecord, Name};
use paxlock_io::{Access, Disk};
use paxlock_proto::flags::{SANLK_REM_ASYNC, SANLK_REM_UNUSED};
use paxlock_proto::wire::SanlkLockspace;

pub(crate) fn geometry_at(path: &Path, offset: u64) -> Result<paxlock_format::Geometry, i32> {
    let disk = Disk::open(path, Access::ReadOnly).map_err(|e| e.code())?;
    let b = disk
        .read_at(offset, 4096, Duration::from_secs(10))
        .map_err(|e| e.code())?;
    let l = LeaderRecord::decode(&b).map_err(|_| -5)?;
    l.geometry().ok_or(-223)
}

pub(crate) fn add_lockspace(
    d: &Arc<Daemon>,
    ls: SanlkLockspace,
    io_timeout: u32,
    async_add: bool,
) -> i32 {
    if ls.name.is_empty() || ls.host_id == 0 || ls.host_id_disk.path.is_empty() {
        return EINVAL;
    }
    {
        let Ok(mut spaces) = d.spaces.lock() else {
            return EINVAL;
        };
        if let Some(s) = spaces.iter().find(|s| s.ls.name.same_as(&ls.name)) {
            return match &s.state {
                SpaceState::Adding => EINPROGRESS,
                SpaceState::Joined(l) if l.lost().is_none() => EEXIST,
                // Lost, being removed or leaving: its operations and
                // holders must be gone before our host_id is taken anew.
                _ => EAGAIN,
            };
        }
        spaces.push(Space::new(ls.clone()));
    }
    let d2 = Arc::clone(d);
    let join = move || {
        let rv = join_lockspace(&d2, &ls, io_timeout);
        if rv != 0 {
            if let Ok(mut s) = d2.spaces.lock() {
                s.retain(|s| !s.ls.name.same_as(&ls.name));
            }
        }
        rv
    };
    if async_add {
        std::thread::spawn(join);
        0
    } else {
        join()
    }
}

pub(crate) fn join_lockspace(d: &Daemon, ls: &SanlkLockspace, io_timeout: u32) -> i32 {
    let path = PathBuf::from(ls.host_id_disk.path.to_string_lossy());
    let geometry = match geometry_at(&path, ls.host_id_disk.offset) {
        Ok(g) => g,
        Err(rv) => return rv,
    };
    let io = if io_timeout == 0 {
        d.opts.io_timeout_secs
    } else {
        io_timeout
    };
    let Ok(timeouts) = Timeouts::new(io, d.opts.watchdog_fire_timeout_secs) else {
        return EINVAL;
    };
    let disk = match d.env.disk(&path) {
        Ok(x) => x,
        Err(_) => return ENODEV,
    };
    let cfg = LockspaceConfig {
        space_name: ls.name,
        host_id: ls.host_id,
        loc: LeaseLoc {
            disk,
            offset: ls.host_id_disk.offset,
        },
        geometry,
        timeouts,
        host_name: d.host_name,
    };
    d.log(format!(
        "cmd_add_lockspace {}:{} io_timeout {io}",
        ls.name, ls.host_id
    ));
    // The watchdog first: no host_id without a watchdog behind it.
    let wd = match &d.opts.wdmd_socket {
        None => None,
        Some(sock) => match crate::watchdog::connect(sock, d.opts.watchdog_fire_timeout_secs) {
            Ok(c) => Some(c),
            Err(e) => {
                d.log(format!("s {} add_lockspace: {e}", ls.name));
                return -5; // EIO
            }
        },
    };
    match Lockspace::join(d.env.clone(), cfg) {
        Ok(l) => {
            d.log(format!(
                "s {} delta_acquire done generation {}",
                ls.name,
                l.generation()
            ));
            let armed = match wd {
                None => None,
                Some(c) => {
                    let name = format!("paxlock_{}:{}", ls.name, ls.host_id);
                    match crate::watchdog::arm(c, &name, &l) {
                        Ok(a) => Some(a),
                        Err(e) => {
                            // Not usable without the watchdog: give the
                            // host_id back (no lease can be held yet).
                            d.log(format!("s {} add_lockspace: {e}", ls.name));
                            let _ = l.leave();
                            return -5;
                        }
                    }
                }
            };
            if let Ok(mut s) = d.spaces.lock() {
                if let Some(s) = s.iter_mut().find(|s| s.ls.name.same_as(&ls.name)) {
                    crate::events::attach(&s.events, &l);
                    s.watchdog = armed;
                    s.state = SpaceState::Joined(Arc::new(l));
                }
            }
            0
        }
        Err(e) => {
            d.log(format!("s {} delta_acquire failed {e}", ls.name));
            e.code()
        }
    }
}

/// REM_LOCKSPACE: kill the holders of its leases (SIGKILL, as sanlock
/// does for an external remove); the recovery thread frees the host_id
/// once they are gone and no operation is running in it. Waits for that
/// unless `async_rem`.
pub(crate) fn rem_lockspace(d: &Daemon, name: &Name, flags: u32) -> i32 {
    {
        let Ok(mut spaces) = d.spaces.lock() else {
            return EINVAL;
        };
        let Some(space) = spaces.iter_mut().find(|s| s.ls.name.same_as(name)) else {
            return ENOENT;
        };
        match &space.state {
            SpaceState::Adding | SpaceState::Leaving => return EINPROGRESS,
            // Asked again while its holders are killed: as sanlock, the
            // same removal (and a synchronous one waits for it).
            SpaceState::Removing(_) => {}
            SpaceState::Joined(l) => {
                if flags & SANLK_REM_UNUSED != 0
                    && (space.used || d.holds_in(name) || crate::orphan::count_in(d, name) > 0)
                {
                    return EBUSY;
                }
                space.state = SpaceState::Removing(Arc::clone(l));
            }
        }
    }
    d.log(format!("cmd_rem_lockspace {name} flags {flags:#x}"));
    if flags & SANLK_REM_ASYNC != 0 {
        return 0;
    }
    loop {
        let gone = d
            .spaces
            .lock()
            .map(|s| !s.iter().any(|s| s.ls.name.same_as(name)))
            .unwrap_or(true);
        if gone {
            return 0;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
