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
            return match s.state {
                SpaceState::Adding => EINPROGRESS,
                SpaceState::Joined(_) => EEXIST,
            };
        }
        spaces.push(Space {
            ls: ls.clone(),
            state: SpaceState::Adding,
        });
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
    match Lockspace::join(d.env.clone(), cfg) {
        Ok(l) => {
            d.log(format!(
                "s {} delta_acquire done generation {}",
                ls.name,
                l.generation()
            ));
            if let Ok(mut s) = d.spaces.lock() {
                if let Some(s) = s.iter_mut().find(|s| s.ls.name.same_as(&ls.name)) {
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

pub(crate) fn rem_lockspace(d: &Daemon, name: &Name) -> i32 {
    let space = {
        let Ok(mut spaces) = d.spaces.lock() else {
            return EINVAL;
        };
        match spaces.iter().position(|s| s.ls.name.same_as(name)) {
            None => return ENOENT,
            Some(i) if matches!(spaces[i].state, SpaceState::Adding) => return EINPROGRESS,
            Some(i) => spaces.remove(i),
        }
    };
    // Release what local clients hold in it, then free the host_id.
    if let SpaceState::Joined(l) = space.state {
        if let Ok(mut clients) = d.clients.lock() {
            for c in clients.values_mut() {
                c.tokens.retain(|t| {
                    if t.held.res.space_name.same_as(name) {
                        let _ = l.release(&t.held);
                        false
                    } else {
                        true
                    }
                });
            }
        }
        d.log(format!("cmd_rem_lockspace {name}"));
        if let Ok(l) = Arc::try_unwrap(l) {
            return l.leave().map(|()| 0).unwrap_or_else(|e| e.code());
        }
    }
    0
}
