//! Request dispatch: one arm per sanlock command.

use std::os::unix::net::UnixStream;
use std::sync::Arc;

use crate::conn::peer_pid;
use crate::conn::{result, Reply};
use crate::lease::*;
use crate::report::*;
use crate::space::*;
use crate::state::*;
use crate::*;
use paxlock_core::delta::HostState;
use paxlock_format::Name;
use paxlock_proto::flags::*;
use paxlock_proto::reply::{self};
use paxlock_proto::wire::{SanlkHost, SanlkLockspace};
use paxlock_proto::{Request, SmHeader};

/// The client a command is for: the one registered by `target_pid`
/// (`header.data2`), or this connection's own registration (-1).
pub(crate) fn target(
    d: &Daemon,
    target_pid: Option<i32>,
    registered: Option<Cid>,
) -> Result<Cid, i32> {
    let c = d.clients.lock().map_err(|_| ESRCH)?;
    match target_pid {
        None => registered.filter(|cid| c.contains_key(cid)).ok_or(ESRCH),
        Some(pid) => c
            .iter()
            .filter(|(_, c)| c.pid == pid)
            .map(|(cid, _)| *cid)
            .min()
            .ok_or(ESRCH),
    }
}

pub(crate) fn handle(
    d: &Arc<Daemon>,
    h: &SmHeader,
    req: Request,
    s: &UnixStream,
    registered: &mut Option<Cid>,
) -> Reply {
    match req {
        Request::Register => {
            if let Some(pid) = peer_pid(s) {
                let cid = d
                    .next_cid
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Ok(mut c) = d.clients.lock() {
                    c.insert(cid, Client::new(pid));
                }
                d.log(format!("cmd_register ci {cid} pid {pid}"));
                *registered = Some(cid);
            }
            Reply::None
        }
        Request::AddLockspace {
            flags,
            io_timeout,
            lockspace,
        } => {
            let rv = add_lockspace(d, lockspace, io_timeout, flags & SANLK_ADD_ASYNC != 0);
            result(h, rv)
        }
        Request::InqLockspace { flags, lockspace } => {
            let inq = || -> i32 {
                let Ok(spaces) = d.spaces.lock() else {
                    return EINVAL;
                };
                // As sanlock: still 0 while the holders of a lockspace
                // being removed (or lost) are killed; EINPROGRESS while it
                // is being added or its host_id freed.
                match spaces.iter().find(|s| s.ls.name.same_as(&lockspace.name)) {
                    Some(Space {
                        state: SpaceState::Joined(_) | SpaceState::Removing(_),
                        ..
                    }) => 0,
                    Some(_) => EINPROGRESS,
                    None => ENOENT,
                }
            };
            let mut rv = inq();
            // SANLK_INQ_WAIT: poll until the add or remove has finished.
            while rv == EINPROGRESS && flags & SANLK_INQ_WAIT != 0 {
                std::thread::sleep(std::time::Duration::from_secs(1));
                rv = inq();
            }
            result(h, rv)
        }
        Request::RemLockspace { flags, lockspace } => {
            result(h, rem_lockspace(d, &lockspace.name, flags))
        }
        Request::GetLockspaces { .. } => {
            let list: Vec<SanlkLockspace> = d
                .spaces
                .lock()
                .map(|s| {
                    s.iter()
                        .map(|s| {
                            let mut ls = s.ls.clone();
                            // As sanlock: a lockspace whose holders are
                            // being killed is still listed; it turns REM
                            // when its host_id is being freed.
                            ls.flags = match &s.state {
                                SpaceState::Adding => SANLK_LSF_ADD,
                                SpaceState::Joined(_) | SpaceState::Removing(_) => 0,
                                SpaceState::Leaving => SANLK_LSF_REM,
                            };
                            ls
                        })
                        .collect()
                })
                .unwrap_or_default();
            Reply::Bytes(reply::encode_get_lockspaces_reply(h, 0, &list))
        }
        Request::Acquire {
            flags,
            target_pid,
            resources,
            options,
        } => match target(d, target_pid, *registered) {
            Err(rv) => result(h, rv),
            Ok(cid) => result(h, acquire(d, cid, flags, resources, &options.owner_name)),
        },
        // Renaming a lease on release (lvmlockd's) is not implemented:
        // refused rather than done without the rename.
        Request::Release { flags, .. } if flags & SANLK_REL_RENAME != 0 => result(h, EOPNOTSUPP),
        Request::Release {
            flags,
            target_pid,
            resources,
        } => match target(d, target_pid, *registered) {
            Err(rv) => result(h, rv),
            // REL_ORPHAN answers the number of orphans released.
            Ok(_) if flags & SANLK_REL_ORPHAN != 0 => {
                result(h, crate::orphan::release(d, resources.first()))
            }
            Ok(cid) => result(h, release(d, cid, flags & SANLK_REL_ALL != 0, &resources)),
        },
        Request::Inquire { target_pid, .. } => match target(d, target_pid, *registered) {
            Err(rv) => result(h, rv),
            Ok(cid) => {
                let strs: Vec<String> = d
                    .clients
                    .lock()
                    .map(|c| {
                        c.get(&cid)
                            .map(|c| {
                                c.tokens
                                    .iter()
                                    .map(|t| res_to_str(&t.arg, &t.held))
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .unwrap_or_default();
                let state = strs.join(" ");
                match reply::encode_inquire_reply(h, 0, strs.len() as u32, state.as_bytes()) {
                    Ok(b) => Reply::Bytes(b),
                    Err(_) => result(h, -81),
                }
            }
        },
        Request::Status { .. } => Reply::Close(status(d, h)),
        Request::HostStatus { lockspace } => Reply::Close(host_status(d, h, &lockspace.name)),
        Request::Renewal { lockspace } => Reply::Close(renewal(d, h, &lockspace.name)),
        Request::GetHosts { lockspace, .. } => {
            let Some(l) = d.joined(&lockspace.name) else {
                return result(h, ENOENT);
            };
            let hosts: Vec<SanlkHost> = l
                .hosts()
                .into_iter()
                .filter(|(id, hs, _)| {
                    (lockspace.host_id == 0 && hs.timestamp != 0) || *id == lockspace.host_id
                })
                .map(|(id, hs, st)| SanlkHost {
                    host_id: id,
                    generation: hs.owner_generation,
                    timestamp: hs.timestamp,
                    io_timeout: u32::from(hs.io_timeout),
                    flags: host_flag(st),
                })
                .collect();
            Reply::Bytes(reply::encode_get_hosts_reply(h, 0, &hosts))
        }
        Request::LogDump => {
            let text: String = d
                .log
                .lock()
                .map(|l| l.iter().map(|x| format!("{x}\n")).collect())
                .unwrap_or_default();
            Reply::Close(reply::encode_log_dump_reply(h, text.as_bytes()))
        }
        Request::Shutdown { force } => {
            let busy = d.spaces.lock().map(|s| !s.is_empty()).unwrap_or(false);
            if force != 0 || !busy {
                if force != 0 {
                    kill_all_holders(d);
                }
                d.shutdown();
            }
            Reply::Close(Vec::new())
        }
        Request::ShutdownWait { force } => {
            let busy = d.spaces.lock().map(|s| !s.is_empty()).unwrap_or(false);
            if busy && force == 0 {
                return result(h, EBUSY);
            }
            if let (Ok(mut w), Ok(c)) = (d.shutdown_waiters.lock(), s.try_clone()) {
                w.push(c);
            }
            if force != 0 {
                kill_all_holders(d);
            }
            d.shutdown();
            Reply::None
        }
        Request::SetConfig {
            config_cmd,
            lockspace,
            ..
        } => {
            let Ok(mut spaces) = d.spaces.lock() else {
                return result(h, EINVAL);
            };
            let rv = match spaces
                .iter_mut()
                .find(|s| s.ls.name.same_as(&lockspace.name))
            {
                None => ENOENT,
                Some(s) => match &s.state {
                    SpaceState::Joined(l) if l.lost().is_none() => {
                        match config_cmd {
                            SANLK_CONFIG_USED => s.used = true,
                            SANLK_CONFIG_UNUSED => s.used = false,
                            SANLK_CONFIG_USED_BY_ORPHANS => s.used_by_orphans = true,
                            SANLK_CONFIG_UNUSED_BY_ORPHANS => s.used_by_orphans = false,
                            _ => {}
                        }
                        0
                    }
                    SpaceState::Adding => ENOENT,
                    _ => ENOSPC,
                },
            };
            result(h, rv)
        }
        Request::Convert {
            target_pid,
            resource,
            ..
        } => match target(d, target_pid, *registered) {
            Err(rv) => result(h, rv),
            Ok(cid) => result(h, convert(d, cid, &resource)),
        },
        Request::Request {
            flags,
            force_mode,
            resource,
        } => result(h, request(d, flags, force_mode, &resource)),
        Request::Restrict { flags } => match *registered {
            Some(cid) => {
                if let Ok(mut c) = d.clients.lock() {
                    if let Some(c) = c.get_mut(&cid) {
                        c.restrict = flags;
                    }
                }
                d.log(format!("cmd_restrict ci {cid} flags {flags:#x}"));
                result(h, 0)
            }
            None => result(h, ESRCH),
        },
        Request::Killpath { flags, killpath } => match *registered {
            Some(cid) => {
                let path = killpath.path.to_string_lossy();
                let args = killpath.args.to_string_lossy();
                d.log(format!(
                    "cmd_killpath ci {cid} {path} {args} flags {flags:#x}"
                ));
                if let Ok(mut c) = d.clients.lock() {
                    if let Some(c) = c.get_mut(&cid) {
                        c.killpath = (!path.is_empty()).then_some((path, args, flags));
                    }
                }
                result(h, 0)
            }
            None => result(h, ESRCH),
        },
        Request::ExamineLockspace { lockspace, .. } => result(h, examine(d, Some(&lockspace.name))),
        Request::ExamineResource { resource, .. } => {
            result(h, examine(d, Some(&resource.lockspace_name)))
        }
        Request::SetLvb { resource, lvb, .. } => result(h, crate::lvb::set(d, &resource, &lvb)),
        Request::GetLvb {
            lvb_len, resource, ..
        } => match crate::lvb::get(d, &resource, lvb_len) {
            Ok(v) => Reply::Bytes(reply::encode_get_lvb_reply(h, 0, &v)),
            Err(rv) => Reply::Bytes(reply::encode_get_lvb_reply(h, rv, &[])),
        },
        Request::RegEvent { lockspace, .. } => {
            // On success the connection is the event connection now: the
            // daemon keeps a copy and stops reading it.
            match crate::events::reg_event(d, &lockspace.name, s) {
                0 => Reply::Close(reply::encode_result(h, 0).to_vec()),
                rv => result(h, rv),
            }
        }
        Request::EndEvent { lockspace, .. } => {
            result(h, crate::events::end_event(d, &lockspace.name))
        }
        Request::SetEvent {
            flags,
            lockspace,
            event,
        } => result(
            h,
            crate::events::set_event(d, &lockspace.name, event, flags),
        ),
        Request::Version { .. } => {
            Reply::Bytes(reply::encode_version_reply(reply::SANLOCK_VERSION_3_8_5).to_vec())
        }
        other => crate::diskcmd::handle(d, h, &other).unwrap_or_else(|| result(h, EOPNOTSUPP)),
    }
}

/// EXAMINE: check the requests of the leases held in a lockspace now
/// (the recovery thread does it).
fn examine(d: &Daemon, name: Option<&Name>) -> i32 {
    let Ok(mut spaces) = d.spaces.lock() else {
        return EINVAL;
    };
    let mut found = false;
    for s in spaces.iter_mut() {
        if name.is_none_or(|n| s.ls.name.same_as(n)) {
            s.examine = true;
            found = true;
        }
    }
    if found {
        0
    } else {
        ENOENT
    }
}

pub(crate) fn host_flag(s: HostState) -> u32 {
    match s {
        HostState::Unknown => SANLK_HOST_UNKNOWN,
        HostState::Free => SANLK_HOST_FREE,
        HostState::Live => SANLK_HOST_LIVE,
        HostState::Fail => SANLK_HOST_FAIL,
        HostState::Dead => SANLK_HOST_DEAD,
    }
}
