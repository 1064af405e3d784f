//! paxlock's lease daemon (work in progress): sanlock's client protocol
//! (`paxlock-proto`) on `$SANLOCK_RUN_DIR/sanlock.sock`, over the lease
//! engine (`paxlock-driver`), so that the unchanged `sanlock client` CLI,
//! libsanlock and python3-sanlock can use paxlock.
//!
//! Implemented so far: REGISTER (a registered connection's pid owns its
//! leases; they are released when the connection closes), ADD/INQ/REM
//! LOCKSPACE, GET_LOCKSPACES, ACQUIRE, RELEASE, INQUIRE, STATUS,
//! HOST_STATUS, GET_HOSTS, LOG_DUMP, SHUTDOWN, VERSION. Every other command
//! gets `-EOPNOTSUPP`. Not yet: killing holders on lease loss, the
//! watchdog, and the remaining commands.
//!
//! Threads: one accept loop, one thread per connection; each lockspace
//! renews on its own threads (paxlock-driver).

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paxlock_core::delta::{HostState, LockspaceConfig};
use paxlock_core::paxos::{AcquireOpts, Held, Mode, ResourceSpec};
use paxlock_core::{LeaseLoc, Timeouts};
use paxlock_driver::{Lockspace, RealEnv};
use paxlock_format::{LeaderRecord, Name};
use paxlock_io::{Access, Disk};
use paxlock_proto::flags::*;
use paxlock_proto::reply::{self, StatusEntry};
use paxlock_proto::wire::{
    ResourceArg, SanlkHost, SanlkLockspace, SanlkResource, SanlkState, StateRecord,
};
use paxlock_proto::{decode_request, Request, SmHeader};

const EPERM: i32 = -1;
const ENOENT: i32 = -2;
const ESRCH: i32 = -3;
const EEXIST: i32 = -17;
const ENODEV: i32 = -19;
const EINVAL: i32 = -22;
const ENOSPC: i32 = -28;
const EOPNOTSUPP: i32 = -95;
const EINPROGRESS: i32 = -115;

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
}

enum SpaceState {
    Adding,
    Joined(Arc<Lockspace>),
}

struct Space {
    ls: SanlkLockspace,
    state: SpaceState,
}

struct Token {
    held: Held,
    arg: ResourceArg,
}

struct Client {
    name: String,
    tokens: Vec<Token>,
}

struct Daemon {
    opts: Options,
    host_name: Name,
    env: RealEnv,
    spaces: Mutex<Vec<Space>>,
    clients: Mutex<HashMap<i32, Client>>,
    log: Mutex<VecDeque<String>>,
    stop: AtomicBool,
}

impl Daemon {
    fn log(&self, msg: String) {
        if let Ok(mut l) = self.log.lock() {
            if l.len() >= 10_000 {
                l.pop_front();
            }
            l.push_back(format!("{} {msg}", paxlock_io::monotime_secs()));
        }
    }

    fn joined(&self, name: &Name) -> Option<Arc<Lockspace>> {
        let spaces = self.spaces.lock().ok()?;
        spaces
            .iter()
            .find(|s| s.ls.name.same_as(name))
            .and_then(|s| match &s.state {
                SpaceState::Joined(l) if l.lost().is_none() => Some(Arc::clone(l)),
                _ => None,
            })
    }
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
    let host_name = Name::new(&opts.host_name).map_err(|e| e.to_string())?;
    let d = Arc::new(Daemon {
        opts,
        host_name,
        env: RealEnv::new(),
        spaces: Mutex::new(Vec::new()),
        clients: Mutex::new(HashMap::new()),
        log: Mutex::new(VecDeque::new()),
        stop: AtomicBool::new(false),
    });
    d.log(format!(
        "paxlock daemon started, host name {}",
        d.opts.host_name
    ));
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    while !d.stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, _)) => {
                let d = Arc::clone(&d);
                let _ = stream.set_nonblocking(false);
                std::thread::spawn(move || serve(&d, stream));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    // Leave every lockspace we still hold (holders are gone by now).
    let spaces: Vec<Space> = d
        .spaces
        .lock()
        .map(|mut s| s.drain(..).collect())
        .unwrap_or_default();
    for s in spaces {
        if let SpaceState::Joined(l) = s.state {
            if let Ok(l) = Arc::try_unwrap(l) {
                let _ = l.leave();
            }
        }
    }
    Ok(())
}

/// Serves one connection until it closes.
fn serve(d: &Arc<Daemon>, mut s: UnixStream) {
    let mut registered: Option<i32> = None;
    loop {
        let mut hb = [0u8; 32];
        if s.read_exact(&mut hb).is_err() {
            break;
        }
        let h = SmHeader::from_bytes(&hb);
        if h.check().into_result().is_err() {
            break; // wrong magic or protocol: close
        }
        let Ok(len) = Request::payload_len_to_read(&h) else {
            break;
        };
        let mut payload = vec![0u8; len];
        if s.read_exact(&mut payload).is_err() {
            break;
        }
        let req = match decode_request(&h, &payload) {
            Ok(r) => r,
            Err(e) => match e.result_code() {
                Some(rv) => {
                    let _ = s.write_all(&reply::encode_result(&h, rv));
                    continue;
                }
                None => break,
            },
        };
        match handle(d, &h, req, &s, &mut registered) {
            Reply::Bytes(b) => {
                if s.write_all(&b).is_err() {
                    break;
                }
            }
            Reply::None => {}
            Reply::Close(b) => {
                let _ = s.write_all(&b);
                break;
            }
        }
    }
    if let Some(pid) = registered {
        client_dead(d, pid);
    }
}

enum Reply {
    Bytes(Vec<u8>),
    None,
    Close(Vec<u8>),
}

fn result(h: &SmHeader, rv: i32) -> Reply {
    Reply::Bytes(reply::encode_result(h, rv).to_vec())
}

fn peer_pid(s: &UnixStream) -> Option<i32> {
    rustix::net::sockopt::socket_peercred(s)
        .ok()
        .map(|c| c.pid.as_raw_nonzero().get())
}

fn target(d: &Daemon, target_pid: Option<i32>, registered: Option<i32>) -> Result<i32, i32> {
    let pid = match target_pid {
        Some(p) => p,
        None => registered.ok_or(ESRCH)?,
    };
    if d.clients
        .lock()
        .map(|c| c.contains_key(&pid))
        .unwrap_or(false)
    {
        Ok(pid)
    } else {
        Err(ESRCH)
    }
}

fn handle(
    d: &Arc<Daemon>,
    h: &SmHeader,
    req: Request,
    s: &UnixStream,
    registered: &mut Option<i32>,
) -> Reply {
    match req {
        Request::Register => {
            if let Some(pid) = peer_pid(s) {
                if let Ok(mut c) = d.clients.lock() {
                    c.insert(
                        pid,
                        Client {
                            name: pid.to_string(),
                            tokens: Vec::new(),
                        },
                    );
                }
                d.log(format!("cmd_register pid {pid}"));
                *registered = Some(pid);
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
        Request::InqLockspace { lockspace, .. } => {
            let spaces = d.spaces.lock();
            let rv = match spaces
                .as_ref()
                .ok()
                .and_then(|s| s.iter().find(|s| s.ls.name.same_as(&lockspace.name)))
            {
                Some(Space {
                    state: SpaceState::Joined(_),
                    ..
                }) => 0,
                Some(_) => EINPROGRESS,
                None => ENOENT,
            };
            result(h, rv)
        }
        Request::RemLockspace { lockspace, .. } => result(h, rem_lockspace(d, &lockspace.name)),
        Request::GetLockspaces { .. } => {
            let list: Vec<SanlkLockspace> = d
                .spaces
                .lock()
                .map(|s| {
                    s.iter()
                        .map(|s| {
                            let mut ls = s.ls.clone();
                            ls.flags = if matches!(s.state, SpaceState::Adding) {
                                SANLK_LSF_ADD
                            } else {
                                0
                            };
                            ls
                        })
                        .collect()
                })
                .unwrap_or_default();
            Reply::Bytes(reply::encode_get_lockspaces_reply(h, 0, &list))
        }
        Request::Acquire {
            target_pid,
            resources,
            options,
            ..
        } => match target(d, target_pid, *registered) {
            Err(rv) => result(h, rv),
            Ok(pid) => result(h, acquire(d, pid, resources, &options.owner_name)),
        },
        Request::Release {
            flags,
            target_pid,
            resources,
        } => match target(d, target_pid, *registered) {
            Err(rv) => result(h, rv),
            Ok(pid) => result(h, release(d, pid, flags & SANLK_REL_ALL != 0, &resources)),
        },
        Request::Inquire { target_pid, .. } => match target(d, target_pid, *registered) {
            Err(rv) => result(h, rv),
            Ok(pid) => {
                let strs: Vec<String> = d
                    .clients
                    .lock()
                    .map(|c| {
                        c.get(&pid)
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
                d.stop.store(true, Ordering::Release);
            }
            Reply::Close(Vec::new())
        }
        Request::Convert {
            target_pid,
            resource,
            ..
        } => match target(d, target_pid, *registered) {
            Err(rv) => result(h, rv),
            Ok(pid) => result(h, convert(d, pid, &resource)),
        },
        Request::Request {
            flags,
            force_mode,
            resource,
        } => result(h, request(d, flags, force_mode, &resource)),
        Request::Restrict { .. } | Request::Killpath { .. } if registered.is_some() => result(h, 0),
        Request::ExamineResource { .. } | Request::ExamineLockspace { .. } => result(h, 0),
        Request::Version { .. } => {
            Reply::Bytes(reply::encode_version_reply(reply::SANLOCK_VERSION_3_8_5).to_vec())
        }
        _ => result(h, EOPNOTSUPP),
    }
}

fn host_flag(s: HostState) -> u32 {
    match s {
        HostState::Unknown => SANLK_HOST_UNKNOWN,
        HostState::Free => SANLK_HOST_FREE,
        HostState::Live => SANLK_HOST_LIVE,
        HostState::Fail => SANLK_HOST_FAIL,
        HostState::Dead => SANLK_HOST_DEAD,
    }
}

fn geometry_at(path: &Path, offset: u64) -> Result<paxlock_format::Geometry, i32> {
    let disk = Disk::open(path, Access::ReadOnly).map_err(|e| e.code())?;
    let b = disk
        .read_at(offset, 4096, Duration::from_secs(10))
        .map_err(|e| e.code())?;
    let l = LeaderRecord::decode(&b).map_err(|_| -5)?;
    l.geometry().ok_or(-223)
}

fn add_lockspace(d: &Arc<Daemon>, ls: SanlkLockspace, io_timeout: u32, async_add: bool) -> i32 {
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

fn join_lockspace(d: &Daemon, ls: &SanlkLockspace, io_timeout: u32) -> i32 {
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

fn rem_lockspace(d: &Daemon, name: &Name) -> i32 {
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

fn acquire(d: &Daemon, pid: i32, resources: Vec<ResourceArg>, owner_name: &Name) -> i32 {
    let mut got: Vec<Token> = Vec::new();
    let mut rv = 0;
    for arg in resources {
        let r = &arg.res;
        let Some(space) = d.joined(&r.lockspace_name) else {
            rv = ENOSPC;
            break;
        };
        let held_here = d
            .clients
            .lock()
            .map(|c| {
                c.values().any(|c| {
                    c.tokens.iter().any(|t| {
                        t.held.res.space_name.same_as(&r.lockspace_name)
                            && t.held.res.name.same_as(&r.name)
                    })
                })
            })
            .unwrap_or(true);
        if held_here || got.iter().any(|t| t.held.res.name.same_as(&r.name)) {
            rv = EEXIST;
            break;
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
            nowait: false,
        };
        match space.acquire(&spec, mode, opts) {
            Ok(held) => {
                d.log(format!(
                    "cmd_acquire pid {pid} {}:{} lver {} done",
                    r.lockspace_name, r.name, held.lver
                ));
                got.push(Token {
                    held,
                    arg: arg.clone(),
                });
            }
            Err(e) => {
                d.log(format!(
                    "cmd_acquire pid {pid} {}:{} failed {e}",
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
    if let Ok(mut c) = d.clients.lock() {
        match c.get_mut(&pid) {
            Some(client) => {
                // As sanlock: the caller's owner name (libvirt: the VM
                // name) replaces the client's name, even when empty.
                client.name = owner_name.to_string_lossy();
                client.tokens.extend(got);
            }
            None => return ESRCH,
        }
    }
    0
}

fn release(d: &Daemon, pid: i32, all: bool, resources: &[SanlkResource]) -> i32 {
    let taken: Vec<Token> = {
        let Ok(mut c) = d.clients.lock() else {
            return EPERM;
        };
        let Some(client) = c.get_mut(&pid) else {
            return ESRCH;
        };
        if all {
            client.tokens.drain(..).collect()
        } else {
            let mut out = Vec::new();
            for r in resources {
                match client.tokens.iter().position(|t| {
                    t.held.res.space_name.same_as(&r.lockspace_name)
                        && t.held.res.name.same_as(&r.name)
                }) {
                    Some(i) => out.push(client.tokens.remove(i)),
                    None => {
                        client.tokens.extend(out);
                        return EPERM;
                    }
                }
            }
            out
        }
    };
    let mut rv = 0;
    for t in taken {
        if let Some(space) = d.joined(&t.held.res.space_name) {
            if let Err(e) = space.release(&t.held) {
                rv = e.code();
            }
        }
        d.log(format!(
            "cmd_release pid {pid} {}:{}",
            t.held.res.space_name, t.held.res.name
        ));
    }
    rv
}

fn convert(d: &Daemon, pid: i32, r: &SanlkResource) -> i32 {
    let to = if r.flags & SANLK_RES_SHARED != 0 {
        Mode::Sh
    } else {
        Mode::Ex
    };
    let Some(space) = d.joined(&r.lockspace_name) else {
        return ENOSPC;
    };
    let Ok(mut clients) = d.clients.lock() else {
        return EINVAL;
    };
    let Some(client) = clients.get_mut(&pid) else {
        return ESRCH;
    };
    let Some(t) = client.tokens.iter_mut().find(|t| {
        t.held.res.space_name.same_as(&r.lockspace_name) && t.held.res.name.same_as(&r.name)
    }) else {
        return ENOENT;
    };
    // On failure `held` still describes what we hold (SH stays SH).
    match space.convert(&mut t.held, to) {
        Ok(()) => 0,
        Err(e) => e.code(),
    }
}

fn request(d: &Daemon, flags: u32, force_mode: u32, arg: &ResourceArg) -> i32 {
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

fn client_dead(d: &Daemon, pid: i32) {
    let _ = release(d, pid, true, &[]);
    if let Ok(mut c) = d.clients.lock() {
        c.remove(&pid);
    }
    d.log(format!("client pid {pid} dead: leases released"));
}

fn kill_all_holders(d: &Daemon) {
    let pids: Vec<i32> = d
        .clients
        .lock()
        .map(|c| {
            c.iter()
                .filter(|(_, c)| !c.tokens.is_empty())
                .map(|(p, _)| *p)
                .collect()
        })
        .unwrap_or_default();
    for pid in pids {
        if let Some(p) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
        client_dead(d, pid);
    }
}

/// sanlock_path_export: a backslash before every unescaped ':' and space.
fn path_export(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            ':' | ' ' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// sanlock_res_to_str, as INQUIRE and STATUS print a held resource.
fn res_to_str(arg: &ResourceArg, held: &Held) -> String {
    let mut s = format!("{}:{}", arg.res.lockspace_name, arg.res.name);
    for disk in &arg.disks {
        s.push_str(&format!(
            ":{}:{}",
            path_export(&disk.path.to_string_lossy()),
            disk.offset
        ));
    }
    if held.mode == Mode::Sh {
        s.push_str(":SH");
    } else {
        s.push_str(&format!(":{}", held.lver));
    }
    s
}

fn state(state_type: u32, data32: u32, data64: u64, name: Name) -> SanlkState {
    SanlkState {
        state_type,
        flags: 0,
        data32,
        pad1: 0,
        data64,
        name,
        str_len: 0,
        pad2: 0,
    }
}

fn record(st: SanlkState, text: &str) -> Option<StateRecord> {
    StateRecord::new(st, text).ok()
}

fn status(d: &Daemon, h: &SmHeader) -> Vec<u8> {
    let mut out = reply::encode_stream_header(h, 0, h.data2).to_vec();
    let mut push = |e: StatusEntry| e.encode(&mut out);
    if let Some(r) = record(
        state(SANLK_STATE_DAEMON, 0, 0, d.host_name),
        &format!("our_host_name={} use_watchdog=0", d.opts.host_name),
    ) {
        push(StatusEntry::Plain(r));
    }
    // sanlock lists its internal helper and listener, then its clients,
    // then the status connection itself: scripts see the same lines.
    for name in ["helper", "listener"] {
        if let Some(r) = record(
            state(
                SANLK_STATE_CLIENT,
                u32::MAX,
                0,
                Name::new(name).unwrap_or_default(),
            ),
            "pid=-1",
        ) {
            push(StatusEntry::Plain(r));
        }
    }
    if let Ok(clients) = d.clients.lock() {
        let mut pids: Vec<&i32> = clients.keys().collect();
        pids.sort();
        for pid in pids {
            let c = &clients[pid];
            let name = Name::new(&c.name).unwrap_or_default();
            if let Some(r) = record(
                state(SANLK_STATE_CLIENT, *pid as u32, 0, name),
                &format!("pid={pid}"),
            ) {
                push(StatusEntry::Plain(r));
            }
        }
    }
    if let Some(r) = record(
        state(
            SANLK_STATE_CLIENT,
            u32::MAX,
            0,
            Name::new("status").unwrap_or_default(),
        ),
        "pid=-1",
    ) {
        push(StatusEntry::Plain(r));
    }
    if let Ok(spaces) = d.spaces.lock() {
        for s in spaces.iter() {
            let list = if matches!(s.state, SpaceState::Adding) {
                "add"
            } else {
                "spaces"
            };
            if let Some(r) = record(
                state(SANLK_STATE_LOCKSPACE, 0, s.ls.host_id, s.ls.name),
                &format!("list={list}"),
            ) {
                push(StatusEntry::Lockspace(r, s.ls.clone()));
            }
        }
    }
    if let Ok(clients) = d.clients.lock() {
        for (pid, c) in clients.iter() {
            for t in &c.tokens {
                let mut arg = t.arg.clone();
                if t.held.mode == Mode::Sh {
                    arg.res.flags |= SANLK_RES_SHARED;
                }
                let st = state(
                    SANLK_STATE_RESOURCE,
                    *pid as u32,
                    t.held.lver,
                    t.arg.res.name,
                );
                if let Some(r) = record(st, &format!("list=held lver={}", t.held.lver)) {
                    push(StatusEntry::Resource(r, arg));
                }
            }
        }
    }
    out
}

fn host_status(d: &Daemon, h: &SmHeader, name: &Name) -> Vec<u8> {
    let Some(l) = d.joined(name) else {
        return reply::encode_stream_header(h, ENOSPC, 0).to_vec();
    };
    let mut out = reply::encode_stream_header(h, 0, 0).to_vec();
    for (id, hs, _) in l.hosts() {
        let text = format!(
            "last_check={} last_live={} last_req=0 owner_id={} owner_generation={} timestamp={} io_timeout={}",
            hs.last_check_ms / 1000,
            hs.last_live_ms / 1000,
            hs.owner_id,
            hs.owner_generation,
            hs.timestamp,
            hs.io_timeout
        );
        if let Some(r) = record(
            state(SANLK_STATE_HOST, id as u32, hs.timestamp, Name::default()),
            &text,
        ) {
            StatusEntry::Plain(r).encode(&mut out);
        }
    }
    out
}
