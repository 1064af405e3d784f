//! Lease commands: acquire, release, convert, request; client death.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use paxlock_driver::Lockspace;

use crate::state::*;
use crate::*;
use paxlock_core::paxos::{AcquireOpts, Mode, ResourceSpec};
use paxlock_core::LeaseLoc;
use paxlock_format::{LeaderRecord, Name};
use paxlock_io::{Access, Disk};
use paxlock_proto::flags::*;
use paxlock_proto::wire::{ResourceArg, SanlkResource};

/// Resources being acquired on this host right now, by (lockspace,
/// resource) name: a second local acquire of one gets -EEXIST at once,
/// as if it were held (the engine would grant our own host its lease
/// again, and two local processes would both hold it).
pub(crate) struct Reservations<'a> {
    d: &'a Daemon,
    keys: Vec<(String, String)>,
}

impl Reservations<'_> {
    /// Reserves `r`: -EEXIST if a local client holds it, -EBUSY if
    /// another local acquire of it is under way (as sanlock answers).
    fn reserve(&mut self, r: &SanlkResource) -> Result<(), i32> {
        let key = (r.lockspace_name.to_string_lossy(), r.name.to_string_lossy());
        let Ok(clients) = self.d.clients.lock() else {
            return Err(EBUSY);
        };
        let held_here = clients.values().any(|c| {
            c.tokens.iter().any(|t| {
                t.held.res.space_name.same_as(&r.lockspace_name) && t.held.res.name.same_as(&r.name)
            })
        });
        if held_here {
            return Err(EEXIST);
        }
        let Ok(mut reserved) = self.d.reserved.lock() else {
            return Err(EBUSY);
        };
        if !reserved.insert(key.clone()) {
            return Err(if self.keys.contains(&key) {
                EEXIST
            } else {
                EBUSY
            });
        }
        self.keys.push(key);
        Ok(())
    }
}

impl Drop for Reservations<'_> {
    fn drop(&mut self) {
        if let Ok(mut reserved) = self.d.reserved.lock() {
            for k in &self.keys {
                reserved.remove(k);
            }
        }
    }
}

/// ACQUIRE; `flags` are its `SANLK_ACQUIRE_*` flags (LVB, orphans).
pub(crate) fn acquire(
    d: &Daemon,
    cid: Cid,
    flags: u32,
    resources: Vec<ResourceArg>,
    owner_name: &Name,
) -> i32 {
    let mut got: Vec<Token> = Vec::new();
    let mut rv = 0;
    // Dropped last: the leases are in the client's table by then.
    let mut reservations = Reservations {
        d,
        keys: Vec::new(),
    };
    for arg in resources {
        let r = &arg.res;
        let Some(space) = d.joined(&r.lockspace_name) else {
            rv = ENOSPC;
            break;
        };
        if let Err(e) = reservations.reserve(r) {
            rv = e;
            break;
        }
        // Persistent leases whose holder died (orphan.rs).
        match crate::orphan::check(d, &arg, flags) {
            crate::orphan::Check::Acquire => {}
            crate::orphan::Check::Adopted(t) => {
                got.push(*t);
                continue;
            }
            crate::orphan::Check::Refuse(e) => {
                rv = e;
                break;
            }
        }
        let Some(disk0) = arg.disks.first() else {
            rv = -34;
            break;
        };
        let disk = match d.env.disk(Path::new(&disk0.path.to_string_lossy())) {
            Ok(x) => x,
            Err(_) => {
                rv = ENODEV;
                break;
            }
        };
        let spec = ResourceSpec {
            space_name: r.lockspace_name,
            name: r.name,
            loc: LeaseLoc {
                disk,
                offset: disk0.offset,
            },
        };
        let mode = if r.flags & SANLK_RES_SHARED != 0 {
            Mode::Sh
        } else {
            Mode::Ex
        };
        let opts = AcquireOpts {
            lver: (r.flags & SANLK_RES_LVER != 0).then_some(r.lver),
            nowait: flags & SANLK_ACQUIRE_OWNER_NOWAIT != 0,
        };
        match space.acquire(&spec, mode, opts) {
            Ok(held) => {
                d.log(format!(
                    "cmd_acquire ci {cid} {}:{} lver {} done",
                    r.lockspace_name, r.name, held.lver
                ));
                let lvb = (flags & SANLK_ACQUIRE_LVB != 0).then(|| {
                    crate::lvb::read(d, &arg, &held, space.config().timeouts.io_timeout_secs())
                });
                got.push(Token {
                    held,
                    arg: arg.clone(),
                    busy: false,
                    lvb,
                });
            }
            Err(e) => {
                d.log(format!(
                    "cmd_acquire ci {cid} {}:{} failed {e}",
                    r.lockspace_name, r.name
                ));
                rv = e.code();
                break;
            }
        }
    }
    if rv != 0 {
        for t in got {
            if let Some(space) = d.joined(&t.held.res.space_name) {
                let _ = space.release(&t.held);
            }
        }
        return rv;
    }
    let gone = match d.clients.lock() {
        Ok(mut c) => match c.get_mut(&cid) {
            Some(client) => {
                // As sanlock: the caller's owner name (libvirt: the VM
                // name) replaces the client's name, even when empty.
                client.name = owner_name.to_string_lossy();
                client.tokens.extend(got);
                None
            }
            None => Some(got),
        },
        Err(_) => Some(got),
    };
    if let Some(got) = gone {
        // The process died during the acquire: give the leases back
        // (sanlock answers -ENOTTY then).
        for t in got {
            if let Some(space) = d.live(&t.held.res.space_name) {
                let _ = release_retrying(&space, &t.held);
            }
        }
        return ENOTTY;
    }
    drop(reservations);
    0
}

pub(crate) fn release(d: &Daemon, cid: Cid, all: bool, resources: &[SanlkResource]) -> i32 {
    // Hold the lockspaces first: while we do, the recovery thread cannot
    // free one of them under a lease we are still releasing.
    let names: Vec<Name> = d
        .clients
        .lock()
        .map(|c| {
            c.get(&cid)
                .map(|c| c.tokens.iter().map(|t| t.held.res.space_name).collect())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let spaces: Vec<(Name, Arc<Lockspace>)> = names
        .iter()
        .filter_map(|n| d.live(n).map(|l| (*n, l)))
        .collect();
    let taken: Vec<Token> = {
        let Ok(mut c) = d.clients.lock() else {
            return EPERM;
        };
        let Some(client) = c.get_mut(&cid) else {
            return ESRCH;
        };
        let out: Vec<Token> = if all {
            // A lease being converted is released when the convert ends
            // and finds its client gone (see `convert`).
            let (busy, out) = client.tokens.drain(..).partition(|t| t.busy);
            client.tokens = busy;
            out
        } else {
            let mut out = Vec::new();
            for r in resources {
                match client.tokens.iter().position(|t| {
                    t.held.res.space_name.same_as(&r.lockspace_name)
                        && t.held.res.name.same_as(&r.name)
                }) {
                    Some(i) if client.tokens[i].busy => {
                        client.tokens.extend(out);
                        return EBUSY;
                    }
                    Some(i) => out.push(client.tokens.remove(i)),
                    None => {
                        client.tokens.extend(out);
                        return EPERM;
                    }
                }
            }
            out
        };
        if client.tokens.is_empty() {
            client.kill = KillState::default();
        }
        out
    };
    let mut rv = 0;
    for mut t in taken {
        // In a lost lockspace nothing is written: others take the lease
        // after host_dead_seconds.
        let space = spaces
            .iter()
            .find(|(n, _)| n.same_as(&t.held.res.space_name));
        if let Some((_, space)) = space {
            // A value set with SET_LVB goes to disk first (EX only).
            crate::lvb::write_back_token(d, &mut t, space.config().timeouts.io_timeout_secs());
        }
        let outcome = match space {
            Some((_, space)) => match release_retrying(space, &t.held) {
                Ok(()) => "done".to_string(),
                Err(e) => {
                    rv = e.code();
                    format!("failed {e}")
                }
            },
            None => "without disk i/o (lockspace lost)".to_string(),
        };
        d.log(format!(
            "cmd_release ci {cid} {}:{} {outcome}",
            t.held.res.space_name, t.held.res.name
        ));
    }
    rv
}

/// Releases on disk, retrying I/O errors and timeouts a few times: a
/// release that fails leaves the lease owned by our live host on disk,
/// where nobody else can take it until we leave the lockspace.
pub(crate) fn release_retrying(
    space: &Lockspace,
    held: &paxlock_core::paxos::Held,
) -> Result<(), paxlock_core::LeaseError> {
    let mut attempt = 0;
    loop {
        match space.release(held) {
            Err(e) if e.is_io() && attempt < 3 && space.lost().is_none() => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(200 * attempt));
            }
            r => return r,
        }
    }
}

pub(crate) fn convert(d: &Daemon, cid: Cid, r: &SanlkResource) -> i32 {
    let to = if r.flags & SANLK_RES_SHARED != 0 {
        Mode::Sh
    } else {
        Mode::Ex
    };
    let Some(space) = d.joined(&r.lockspace_name) else {
        return ENOSPC;
    };
    let same = |t: &Token| {
        t.held.res.space_name.same_as(&r.lockspace_name) && t.held.res.name.same_as(&r.name)
    };
    let (mut held, mut lvb, arg) = {
        let Ok(mut clients) = d.clients.lock() else {
            return EINVAL;
        };
        let Some(client) = clients.get_mut(&cid) else {
            return ESRCH;
        };
        let Some(t) = client.tokens.iter_mut().find(|t| same(t)) else {
            return ENOENT;
        };
        if t.busy {
            return EBUSY;
        }
        t.busy = true;
        (t.held.clone(), t.lvb.clone(), t.arg.clone())
    };
    if to == Mode::Sh {
        // EX -> SH writes a value set with SET_LVB first, as a release does.
        if let Some(l) = lvb.as_mut() {
            crate::lvb::write_back(d, &arg, &held, l, space.config().timeouts.io_timeout_secs());
        }
    }
    // Disk I/O without the client table locked. On failure `held` still
    // describes what we hold (SH stays SH).
    let rv = match space.convert(&mut held, to) {
        Ok(()) => 0,
        Err(e) => e.code(),
    };
    let orphaned = {
        let Ok(mut clients) = d.clients.lock() else {
            return EINVAL;
        };
        match clients
            .get_mut(&cid)
            .and_then(|c| c.tokens.iter_mut().find(|t| same(t) && t.busy))
        {
            Some(t) => {
                t.held = held.clone();
                t.busy = false;
                // Written above, and not set again meanwhile.
                if let (Some(now), Some(done)) = (t.lvb.as_mut(), lvb.as_ref()) {
                    if !done.dirty && now.buf == done.buf {
                        now.dirty = false;
                    }
                }
                false
            }
            None => true,
        }
    };
    if orphaned {
        // The client died meanwhile: its other leases are released; this
        // one is ours to release.
        let _ = space.release(&held);
        d.log(format!(
            "convert {}:{}: client {cid} gone, released",
            r.lockspace_name, r.name
        ));
    }
    rv
}

pub(crate) fn request(d: &Daemon, flags: u32, force_mode: u32, arg: &ResourceArg) -> i32 {
    let r = &arg.res;
    let Some(space) = d.joined(&r.lockspace_name) else {
        return ENOSPC;
    };
    let Some(disk0) = arg.disks.first() else {
        return -34;
    };
    let path = PathBuf::from(disk0.path.to_string_lossy());
    let Ok(disk) = d.env.disk(&path) else {
        return ENODEV;
    };
    let lver = if flags & SANLK_REQUEST_NEXT_LVER != 0 {
        // the lease's current lver + 1
        let leader = Disk::open(&path, Access::ReadOnly)
            .and_then(|dk| dk.read_at(disk0.offset, 4096, Duration::from_secs(10)))
            .ok()
            .and_then(|b| LeaderRecord::decode(&b).ok());
        match leader {
            Some(l) => l.lver + 1,
            None => return -220,
        }
    } else {
        r.lver
    };
    let spec = ResourceSpec {
        space_name: r.lockspace_name,
        name: r.name,
        loc: LeaseLoc {
            disk,
            offset: disk0.offset,
        },
    };
    match space.request(&spec, lver, force_mode) {
        Ok(_) => 0,
        Err(e) => e.code(),
    }
}

pub(crate) fn client_dead(d: &Daemon, cid: Cid) {
    // Persistent leases are kept as orphans, not released.
    crate::orphan::keep_persistent(d, cid);
    let _ = release(d, cid, true, &[]);
    if let Ok(mut c) = d.clients.lock() {
        c.remove(&cid);
    }
    d.log(format!("client ci {cid} dead: leases released"));
}

pub(crate) fn kill_all_holders(d: &Daemon) {
    let holders: Vec<(Cid, i32)> = d
        .clients
        .lock()
        .map(|c| {
            c.iter()
                .filter(|(_, c)| !c.tokens.is_empty())
                .map(|(cid, c)| (*cid, c.pid))
                .collect()
        })
        .unwrap_or_default();
    for (cid, pid) in holders {
        if let Some(p) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
        client_dead(d, cid);
    }
}
