//! The actions that print `<action>` / `<action> done <rv>` lines, and
//! `command` (register, acquire, exec).

use std::io::IsTerminal;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use paxlock_proto::client::{self as pc, ClientError};
use paxlock_proto::flags::*;
use paxlock_proto::rv::errno;
use paxlock_proto::wire::{ResourceArg, SanlkHostEvent, SanlkLockspace, SanlkOptions};
use paxlock_proto::{Request, SanlkRentry, SanlkResource};

use super::{AcquireOpts, ClientCommand, CommandArgs, Ctx};

/// sanlock's default io_timeout (`-o` equal to it sends 0 = daemon default).
const DEFAULT_IO_TIMEOUT: u32 = 10;

/// A usage error found after parsing (exit status 1, like sanlock's).
pub fn usage(ctx: &mut Ctx, msg: String) -> i32 {
    ctx.note(format!("error: {msg}"));
    -errno::EINVAL
}

/// Result of a one-shot request, or libsanlock's number for a failure
/// (noted on stderr).
fn result_of(ctx: &mut Ctx, r: Result<i32, ClientError>) -> i32 {
    match r {
        Ok(rv) => rv,
        Err(e) => ctx.client_error(e),
    }
}

fn call(ctx: &mut Ctx, req: &Request) -> i32 {
    result_of(ctx, pc::call_result(req))
}

/// Prints `label`, runs `f`, prints `label done rv`.
fn done(ctx: &mut Ctx, label: &str, f: impl FnOnce(&mut Ctx) -> i32) -> i32 {
    ctx.line(label);
    let rv = f(ctx);
    ctx.line(&format!("{label} done {rv}"));
    rv
}

/// While `f` runs, shows elapsed seconds on stderr if it is a terminal.
fn with_progress<T>(what: &str, f: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return f();
    }
    let (tx, rx) = mpsc::channel::<()>();
    let what = what.to_string();
    let t = std::thread::spawn(move || {
        let start = Instant::now();
        while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(1)) {
            eprint!(
                "\rpaxlock: {what}: waiting for the daemon, {} s ",
                start.elapsed().as_secs()
            );
        }
        if start.elapsed() >= Duration::from_secs(1) {
            eprint!("\r\x1b[K");
        }
    });
    let r = f();
    let _ = tx.send(());
    let _ = t.join();
    r
}

fn acquire_resources(list: &[ResourceArg], opts: &AcquireOpts) -> Vec<ResourceArg> {
    list.iter()
        .cloned()
        .map(|mut r| {
            if opts.num_hosts != 0 {
                r.res.flags |= SANLK_RES_NUM_HOSTS;
                r.res.data32 = opts.num_hosts;
            }
            if opts.persistent {
                r.res.flags |= SANLK_RES_PERSISTENT;
            }
            r
        })
        .collect()
}

fn check_count(ctx: &mut Ctx, n: usize) -> Result<(), i32> {
    if n > paxlock_proto::wire::MAX_RESOURCES {
        return Err(usage(
            ctx,
            format!("{n} resources given; at most 8 per request (sanlock's limit)"),
        ));
    }
    Ok(())
}

/// The 128-byte part of a resource as sanlock's CLI sends it where disks
/// are not sent (num_disks still says how many the string named).
fn bare(r: &ResourceArg) -> SanlkResource {
    SanlkResource {
        num_disks: r.disks.len() as u32,
        ..r.res
    }
}

/// Runs the actions not handled by `show`.
pub fn run(ctx: &mut Ctx, cmd: &ClientCommand) -> i32 {
    use ClientCommand as C;
    match cmd {
        C::Shutdown { force, wait } => {
            ctx.line(&format!("shutdown force {} wait {wait}", *force as i32));
            let rv = result_of(ctx, pc::shutdown(*force, *wait != 0));
            ctx.line(&format!("shutdown done {rv}"));
            rv
        }
        C::AddLockspace {
            lockspace,
            io_timeout,
        } => {
            let io = match io_timeout {
                Some(0) | None => DEFAULT_IO_TIMEOUT,
                Some(n) => *n,
            };
            let label = if io != DEFAULT_IO_TIMEOUT {
                ctx.line(&format!("add_lockspace_timeout {io}"));
                "add_lockspace_timeout"
            } else {
                ctx.line("add_lockspace");
                "add_lockspace"
            };
            let req = Request::AddLockspace {
                flags: 0,
                io_timeout: if io != DEFAULT_IO_TIMEOUT { io } else { 0 },
                lockspace: lockspace.clone(),
            };
            let r = with_progress(label, || pc::call_result(&req));
            let rv = result_of(ctx, r);
            ctx.line(&format!("{label} done {rv}"));
            rv
        }
        C::InqLockspace { lockspace } => done(ctx, "inq_lockspace", |ctx| {
            call(
                ctx,
                &Request::InqLockspace {
                    flags: 0,
                    lockspace: lockspace.clone(),
                },
            )
        }),
        C::RemLockspace { lockspace } => {
            ctx.line("rem_lockspace");
            let req = Request::RemLockspace {
                flags: 0,
                lockspace: lockspace.clone(),
            };
            let r = with_progress("rem_lockspace", || pc::call_result(&req));
            let rv = result_of(ctx, r);
            ctx.line(&format!("rem_lockspace done {rv}"));
            rv
        }
        C::Command(a) => command(ctx, a),
        C::Acquire {
            resources,
            pid,
            opts,
        } => {
            if let Err(rv) = check_count(ctx, resources.len()) {
                return rv;
            }
            ctx.line(&format!("acquire pid {}", pid.unwrap_or(-1)));
            let req = Request::Acquire {
                flags: if opts.orphan { SANLK_ACQUIRE_ORPHAN } else { 0 },
                target_pid: *pid,
                resources: acquire_resources(resources, opts),
                options: SanlkOptions::default(),
            };
            let rv = call(ctx, &req);
            ctx.line(&format!("acquire done {rv}"));
            rv
        }
        C::Convert { resource, pid } => {
            ctx.line(&format!("convert pid {}", pid.unwrap_or(-1)));
            let rv = call(
                ctx,
                &Request::Convert {
                    flags: 0,
                    target_pid: *pid,
                    resource: bare(resource),
                },
            );
            ctx.line(&format!("convert done {rv}"));
            rv
        }
        C::Release {
            resources,
            pid,
            all,
            orphan,
            lockspace,
        } => {
            if let Err(rv) = check_count(ctx, resources.len()) {
                return rv;
            }
            ctx.line(&format!("release pid {}", pid.unwrap_or(-1)));
            let mut list: Vec<SanlkResource> = resources.iter().map(bare).collect();
            if *orphan && list.is_empty() {
                if let Some(ls) = lockspace.as_ref().filter(|l| !l.name.is_empty()) {
                    list.push(SanlkResource {
                        lockspace_name: ls.name,
                        ..SanlkResource::default()
                    });
                }
            }
            let mut flags = 0;
            if *orphan {
                flags |= SANLK_REL_ORPHAN;
            }
            if *all {
                flags |= SANLK_REL_ALL;
            }
            let rv = call(
                ctx,
                &Request::Release {
                    flags,
                    target_pid: *pid,
                    resources: list,
                },
            );
            ctx.line(&format!("release done {rv}"));
            rv
        }
        C::Request { resource, force } => done(ctx, "request", |ctx| {
            call(
                ctx,
                &Request::Request {
                    flags: 0,
                    force_mode: *force,
                    resource: resource.clone(),
                },
            )
        }),
        C::Examine {
            resource,
            lockspace,
        } => done(ctx, "examine", |ctx| {
            let req = match (lockspace, resource) {
                (Some(ls), _) if !ls.host_id_disk.path.is_empty() => Request::ExamineLockspace {
                    flags: 0,
                    lockspace: ls.clone(),
                },
                (_, Some(r)) => Request::ExamineResource {
                    flags: 0,
                    resource: bare(r),
                },
                _ => {
                    ctx.note("error: examine needs -r RESOURCE or -s LOCKSPACE with its path");
                    return -errno::EINVAL;
                }
            };
            call(ctx, &req)
        }),
        C::Align { lockspace } => done(ctx, "align", |ctx| {
            call(
                ctx,
                &Request::Align {
                    disk: lockspace.host_id_disk.clone(),
                },
            )
        }),
        C::Init {
            target,
            clear,
            io_timeout,
            max_hosts,
            num_hosts,
            geom,
        } => {
            let gflags = match geom.flags() {
                Ok(f) => f,
                Err(e) => return usage(ctx, e),
            };
            done(ctx, "init", |ctx| {
                match (&target.lockspace, &target.resource) {
                    (Some(ls), _) => {
                        let mut ls = ls.clone();
                        ls.flags |= gflags;
                        call(
                            ctx,
                            &Request::WriteLockspace {
                                flags: 0,
                                max_hosts: *max_hosts,
                                io_timeout: match io_timeout {
                                    Some(0) | None => DEFAULT_IO_TIMEOUT,
                                    Some(n) => *n,
                                },
                                lockspace: ls,
                            },
                        )
                    }
                    (None, Some(r)) => {
                        let mut r = r.clone();
                        r.res.flags |= gflags;
                        call(
                            ctx,
                            &Request::WriteResource {
                                flags: if *clear { SANLK_WRITE_CLEAR } else { 0 },
                                max_hosts: *max_hosts,
                                num_hosts: *num_hosts,
                                resource: r,
                            },
                        )
                    }
                    (None, None) => -errno::EINVAL,
                }
            })
        }
        C::SetEvent {
            lockspace,
            host_id,
            generation,
            event,
            data,
        } => {
            ctx.line(&format!(
                "set_event {host_id} {generation} event 0x{event:x} data 0x{data:x}"
            ));
            let rv = call(
                ctx,
                &Request::SetEvent {
                    flags: 0,
                    lockspace: SanlkLockspace::named(lockspace.name),
                    event: SanlkHostEvent {
                        host_id: *host_id,
                        generation: *generation,
                        event: *event,
                        data: *data,
                    },
                },
            );
            ctx.line(&format!("set_event done {rv}"));
            rv
        }
        C::SetConfig {
            lockspace,
            used,
            orphan,
        } => {
            let config_cmd = match (orphan, used) {
                (Some(true), _) => SANLK_CONFIG_USED_BY_ORPHANS,
                (Some(false), _) => SANLK_CONFIG_UNUSED_BY_ORPHANS,
                (None, Some(true)) => SANLK_CONFIG_USED,
                (None, Some(false)) => SANLK_CONFIG_UNUSED,
                (None, None) => 0,
            };
            let mut line = b"set_config ".to_vec();
            line.extend_from_slice(lockspace.name.as_bytes());
            line.extend_from_slice(format!(" {config_cmd}\n").as_bytes());
            ctx.print(&line);
            let rv = call(
                ctx,
                &Request::SetConfig {
                    flags: 0,
                    config_cmd,
                    lockspace: SanlkLockspace::named(lockspace.name),
                },
            );
            ctx.line(&format!("set_config done {rv}"));
            rv
        }
        C::Format { rindex, geom } => {
            let gflags = match geom.flags() {
                Ok(f) => f,
                Err(e) => return usage(ctx, e),
            };
            let mut rx = rindex.clone();
            rx.flags |= gflags;
            let rv = call(
                ctx,
                &Request::FormatRindex {
                    flags: 0,
                    rindex: rx,
                },
            );
            ctx.line(&format!("format done {rv}"));
            rv
        }
        C::Rebuild { rindex } => {
            let rv = call(
                ctx,
                &Request::RebuildRindex {
                    flags: 0,
                    rindex: rindex.clone(),
                },
            );
            ctx.line(&format!("rebuild done {rv}"));
            rv
        }
        C::Create { rindex, entry } => {
            let r = pc::rentry_call(&Request::CreateResource {
                flags: 0,
                max_hosts: 0,
                num_hosts: 0,
                rindex: rindex.clone(),
                rentry: *entry,
            });
            let (rv, re) = rentry_result(ctx, r);
            ctx.line(&format!("create_resource done {rv}"));
            if rv == 0 {
                ctx.line(&format!("offset {}", re.offset));
            }
            rv
        }
        C::Delete { rindex, entry } => {
            let r = pc::rentry_call(&Request::DeleteResource {
                flags: 0,
                rindex: rindex.clone(),
                rentry: *entry,
            });
            let (rv, _) = rentry_result(ctx, r);
            ctx.line(&format!("delete_resource done {rv}"));
            rv
        }
        C::Lookup { rindex, entry } => {
            let r = pc::rentry_call(&Request::LookupRindex {
                flags: 0,
                rindex: rindex.clone(),
                rentry: entry.unwrap_or_default(),
            });
            let (rv, re) = rentry_result(ctx, r);
            ctx.line(&format!("lookup done {rv}"));
            if rv == 0 {
                let mut line = b"name ".to_vec();
                if re.name.is_empty() {
                    line.push(b'-');
                } else {
                    line.extend_from_slice(re.name.as_bytes());
                }
                line.extend_from_slice(format!(" offset {}\n", re.offset).as_bytes());
                ctx.print(&line);
            }
            rv
        }
        C::Update {
            rindex,
            entry,
            remove,
        } => {
            let r = pc::rentry_call(&Request::UpdateRindex {
                flags: if *remove {
                    SANLK_RXUP_REM
                } else {
                    SANLK_RXUP_ADD
                },
                rindex: rindex.clone(),
                rentry: *entry,
            });
            let (rv, _) = rentry_result(ctx, r);
            ctx.line(&format!("update done {rv}"));
            rv
        }
        // listings are dispatched by the caller
        C::Status { .. }
        | C::HostStatus { .. }
        | C::Renewal { .. }
        | C::Gets { .. }
        | C::LogDump
        | C::Version
        | C::Inquire { .. }
        | C::Read { .. } => usage(ctx, "internal: listing dispatched as an action".into()),
    }
}

fn rentry_result(ctx: &mut Ctx, r: Result<pc::RentryReply, ClientError>) -> (i32, SanlkRentry) {
    match r {
        Ok(r) => (r.result, r.rentry.unwrap_or_default()),
        Err(e) => (ctx.client_error(e), SanlkRentry::default()),
    }
}

/// `command -r RESOURCE... [-c PATH ARGS...]`.
fn command(ctx: &mut Ctx, a: &CommandArgs) -> i32 {
    if let Err(rv) = check_count(ctx, a.resources.len()) {
        return rv;
    }
    ctx.line("register");
    let mut conn = match pc::register() {
        Ok(c) => c,
        Err(e) => {
            let rv = e.rv();
            ctx.line(&format!("register done {rv}"));
            // sanlock exits 0 here; paxlock reports the failure
            return ctx.client_error_rv(e, rv);
        }
    };
    let fd = {
        use std::os::fd::AsRawFd;
        conn.stream().as_raw_fd()
    };
    ctx.line(&format!("register done {fd}"));
    ctx.line(&format!("acquire fd {fd}"));
    let req = Request::Acquire {
        flags: if a.opts.orphan {
            SANLK_ACQUIRE_ORPHAN
        } else {
            0
        },
        target_pid: None,
        resources: acquire_resources(&a.resources, &a.opts),
        options: SanlkOptions::default(),
    };
    let rv = match conn.send(&req).and_then(|()| conn.recv_result()) {
        Ok(rv) => rv,
        Err(e) => ctx.client_error(e),
    };
    ctx.line(&format!("acquire done {rv}"));
    if rv < 0 {
        return rv;
    }
    let Some(argv) = a.command.as_ref().filter(|v| !v.is_empty()) else {
        // no -c: hold the leases until killed, as sanlock
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    };
    // The registered connection must survive exec: the daemon releases
    // the leases when its last holder closes it.
    if let Err(e) = rustix::io::fcntl_setfd(conn.stream(), rustix::io::FdFlags::empty()) {
        ctx.note(format!(
            "error: cannot keep the daemon connection open across exec: {e}"
        ));
        return -e.raw_os_error();
    }
    // execv: PATH is used as given, without a $PATH search
    let prog = if argv[0].contains('/') {
        argv[0].clone()
    } else {
        format!("./{}", argv[0])
    };
    let err = {
        use std::os::unix::process::CommandExt;
        std::process::Command::new(&prog)
            .arg0(&argv[0])
            .args(&argv[1..])
            .exec()
    };
    ctx.note(format!("error: execv {} failed: {err}", argv[0]));
    // the connection closes when we exit, which releases the leases
    drop(conn);
    -err.raw_os_error().unwrap_or(errno::EINVAL)
}
