//! The wdmd-compatible daemon: a unix socket server around [`Mux`] and a
//! [`WatchdogDevice`]. One thread, poll(2); never blocks on a client.

use crate::device::WatchdogDevice;
use crate::mux::{ClientId, DevAction, Event, Millis, Mux, MuxConfig};
use crate::proto::{Cmd, Framer, Header};
use crate::testdev::mono_ms;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::collections::BTreeMap;
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Daemon options.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Socket path (libwdmd's is fixed: /run/wdmd/wdmd.sock).
    pub socket: PathBuf,
    /// Group owning the socket (mode 0660), if any.
    pub socket_gid: Option<u32>,
    /// Test interval, fire timeout.
    pub mux: MuxConfig,
}

struct Conn {
    stream: UnixStream,
    framer: Framer,
}

/// Log a line with the monotonic time (seconds.millis), to stderr.
pub fn log(msg: &str) {
    let t = mono_ms();
    let _ = writeln!(
        io::stderr(),
        "{}.{:03} paxlock-wdmd[{}] {msg}",
        t / 1000,
        t % 1000,
        std::process::id()
    );
}

/// Bind the socket: refuse if a daemon already answers there; otherwise
/// replace a stale socket file. Creates the directory (0775) if missing.
pub fn bind_socket(path: &Path, gid: Option<u32>) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o775))?;
        }
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                ErrorKind::AddrInUse,
                format!("a wdmd already serves {}", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    if let Some(g) = gid {
        rustix::fs::chown(path, None, Some(rustix::fs::Gid::from_raw(g)))?;
    }
    l.set_nonblocking(true)?;
    Ok(l)
}

/// The daemon's state.
#[derive(Debug)]
pub struct Daemon<D: WatchdogDevice> {
    opts: DaemonOptions,
    mux: Mux,
    dev: D,
    listener: UnixListener,
    conns: BTreeMap<ClientId, ConnDbg>,
    next_id: ClientId,
    quit: Arc<AtomicBool>,
    /// The last device open failed: STATUS then reports fire_timeout 0, so
    /// that sanlock refuses the lockspace ("wdmd invalid fire_timeout").
    open_failed: bool,
}

/// Wrapper so the map derives Debug.
struct ConnDbg(Conn);

impl std::fmt::Debug for ConnDbg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Conn({:?})", self.0.stream)
    }
}

impl<D: WatchdogDevice> Daemon<D> {
    /// Bind the socket and set up. `quit` is set by SIGTERM/SIGINT.
    pub fn new(opts: DaemonOptions, dev: D, quit: Arc<AtomicBool>) -> io::Result<Daemon<D>> {
        let listener = bind_socket(&opts.socket, opts.socket_gid)?;
        let mut cfg = opts.mux;
        cfg.fire_timeout_s = dev.fire_timeout();
        Ok(Daemon {
            mux: Mux::new(cfg),
            opts,
            dev,
            listener,
            conns: BTreeMap::new(),
            next_id: 1,
            quit,
            open_failed: false,
        })
    }

    /// The multiplexer (for tests and dumps).
    pub fn mux(&self) -> &Mux {
        &self.mux
    }

    fn apply(&mut self, acts: Vec<DevAction>, now: Millis) {
        for a in acts {
            let r = match a {
                DevAction::Open => {
                    let r = self.dev.open();
                    self.open_failed = r.is_err();
                    r
                }
                DevAction::Keepalive => self.dev.keepalive(),
                DevAction::CloseUnclean => self.dev.close_unclean(),
                DevAction::CloseClean => self.dev.close_clean(),
            };
            let fire = self.mux.fire_at().map_or("none".to_string(), |f| {
                format!("{}.{:03}", f / 1000, f % 1000)
            });
            match (&a, r) {
                (DevAction::Keepalive, Ok(())) => {}
                (_, Ok(())) => log(&format!(
                    "{} {:?} fire_at {fire} now {}.{:03}",
                    self.dev.describe(),
                    a,
                    now / 1000,
                    now % 1000
                )),
                (_, Err(e)) => log(&format!("{} {:?} error {e}", self.dev.describe(), a)),
            }
        }
        for e in self.mux.take_events() {
            match e {
                Event::TestFail {
                    id,
                    result,
                    expire_s,
                } => {
                    let c = self.mux.clients().get(&id);
                    log(&format!(
                        "test {result:?} client {id} {} pid {} now {} expire {expire_s}",
                        c.map_or("", |c| c.name.as_str()),
                        c.map_or(0, |c| c.pid),
                        now / 1000
                    ));
                }
                Event::FatalClose { id, expire_s } => log(&format!(
                    "client {id} closed with expire {expire_s}: fatal, expiry stays"
                )),
            }
        }
    }

    fn dump(&self) -> String {
        let now = mono_ms();
        let mut s = format!(
            "wdmd {} now {} device {} state {:?} resetting {} test_interval_ms {} fire_timeout {} last_keepalive {} fire_at {}\n",
            std::process::id(),
            now / 1000,
            self.dev.describe(),
            self.mux.device(),
            self.mux.resetting(),
            self.mux.interval_ms(),
            self.mux.config().fire_timeout_s,
            self.mux.last_keepalive().map_or(0, |k| k / 1000),
            self.mux.fire_at().map_or("none".into(), |f| (f / 1000).to_string()),
        );
        for (id, c) in self.mux.clients() {
            s.push_str(&format!(
                "client {id} name {} pid {} dead {} ref {} now {} renewal {} expire {}\n",
                c.name,
                c.pid,
                u8::from(c.dead),
                u8::from(c.refcount),
                now / 1000,
                c.renewal_s,
                c.expire_s
            ));
        }
        s
    }

    fn handle(&mut self, id: ClientId, h: Header) -> Option<Vec<u8>> {
        match h.command() {
            Some(Cmd::Register) => {
                let pid = self
                    .conns
                    .get(&id)
                    .and_then(|c| rustix::net::sockopt::socket_peercred(&c.0.stream).ok())
                    .map_or(0, |cr| cr.pid.as_raw_nonzero().get());
                let name = h.name_str();
                log(&format!("register client {id} pid {pid} {name}"));
                self.mux.register(id, &name, pid);
                None
            }
            Some(Cmd::RefcountSet) => {
                self.mux.refcount(id, true);
                None
            }
            Some(Cmd::RefcountClear) => {
                self.mux.refcount(id, false);
                None
            }
            Some(Cmd::TestLive) => {
                log(&format!(
                    "test_live client {id} renewal {} expire {}",
                    h.renewal_time, h.expire_time
                ));
                self.mux.test_live(id, h.renewal_time, h.expire_time);
                None
            }
            Some(Cmd::Status) => {
                let mut r = h;
                r.test_interval = u32::try_from(self.mux.config().test_interval_ms / 1000)
                    .unwrap_or(u32::MAX)
                    .max(1);
                r.fire_timeout = if self.open_failed {
                    0
                } else {
                    self.mux.config().fire_timeout_s
                };
                r.last_keepalive = self.mux.last_keepalive().map_or(0, |k| k / 1000);
                Some(r.encode().to_vec())
            }
            Some(Cmd::OpenWatchdog) => {
                let want = h.fire_timeout;
                let cur = self.mux.config().fire_timeout_s;
                let got = if want == cur || want == 0 {
                    cur
                } else if self.mux.device() == crate::mux::DevState::Closed {
                    match self.dev.set_fire_timeout(want) {
                        Ok(t) if t == want => {
                            self.mux.set_fire_timeout(t);
                            t
                        }
                        _ => 0,
                    }
                } else {
                    // Already armed with another value: report ours; the
                    // client compares and refuses.
                    cur
                };
                log(&format!("open_watchdog client {id} want {want} got {got}"));
                let mut r = h;
                r.fire_timeout = got;
                Some(r.encode().to_vec())
            }
            Some(Cmd::DumpDebug) => {
                let mut b = self.dump().into_bytes();
                b.push(0);
                Some(b)
            }
            None => {
                log(&format!("client {id} unknown cmd {}", h.cmd));
                None
            }
        }
    }

    fn drop_conn(&mut self, id: ClientId) {
        self.conns.remove(&id);
        if self.mux.disconnect(id) {
            log(&format!("client {id} disconnected with expiry set (fatal)"));
        }
    }

    /// Serve until asked to quit (and no client uses the watchdog).
    pub fn run(&mut self) -> io::Result<()> {
        log(&format!(
            "serving {} device {} fire_timeout {} test_interval_ms {}",
            self.opts.socket.display(),
            self.dev.describe(),
            self.mux.config().fire_timeout_s,
            self.mux.config().test_interval_ms
        ));
        let mut quit_logged = false;
        loop {
            let now = mono_ms();
            let acts = self.mux.tick(now);
            self.apply(acts, now);

            if self.quit.load(Ordering::Relaxed) {
                if !self.mux.in_use() {
                    break;
                }
                if !quit_logged {
                    log("asked to quit, but clients use the watchdog: staying");
                    quit_logged = true;
                }
            }

            let wait = self.mux.next_test(now).saturating_sub(now).min(500);
            let ids: Vec<ClientId> = self.conns.keys().copied().collect();
            let (ready_listener, ready): (bool, Vec<(ClientId, PollFlags)>) = {
                let mut fds = Vec::with_capacity(ids.len() + 1);
                fds.push(PollFd::new(&self.listener, PollFlags::IN));
                for id in &ids {
                    fds.push(PollFd::new(&self.conns[id].0.stream, PollFlags::IN));
                }
                let ts = Timespec {
                    tv_sec: i64::try_from(wait / 1000).unwrap_or(0),
                    tv_nsec: i64::try_from((wait % 1000) * 1_000_000).unwrap_or(0),
                };
                match poll(&mut fds, Some(&ts)) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(e) => return Err(e.into()),
                }
                let l = !fds[0].revents().is_empty();
                let r = ids
                    .iter()
                    .zip(fds[1..].iter())
                    .filter(|(_, f)| !f.revents().is_empty())
                    .map(|(id, f)| (*id, f.revents()))
                    .collect();
                (l, r)
            };

            if ready_listener {
                loop {
                    match self.listener.accept() {
                        Ok((s, _)) => {
                            if s.set_nonblocking(true).is_err() {
                                continue;
                            }
                            let id = self.next_id;
                            self.next_id += 1;
                            self.conns.insert(
                                id,
                                ConnDbg(Conn {
                                    stream: s,
                                    framer: Framer::default(),
                                }),
                            );
                            self.mux.connect(id);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => {
                            log(&format!("accept error {e}"));
                            break;
                        }
                    }
                }
            }

            for (id, _flags) in ready {
                let mut buf = [0u8; 4096];
                let mut dead = false;
                let mut headers = Vec::new();
                if let Some(c) = self.conns.get_mut(&id) {
                    loop {
                        match c.0.stream.read(&mut buf) {
                            Ok(0) => {
                                dead = true;
                                break;
                            }
                            Ok(n) => headers.extend(c.0.framer.push(&buf[..n])),
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                            Err(_) => {
                                dead = true;
                                break;
                            }
                        }
                    }
                }
                for h in headers {
                    if let Some(reply) = self.handle(id, h) {
                        if let Some(c) = self.conns.get_mut(&id) {
                            // Replies are small and the peer waits for them:
                            // the socket buffer takes them at once. A peer
                            // that lets its buffer fill is dropped rather
                            // than allowed to block the test loop.
                            if c.0.stream.write_all(&reply).is_err() {
                                dead = true;
                            }
                        }
                    }
                }
                if dead {
                    self.drop_conn(id);
                }
            }
        }
        // Quit: disarm.
        if self.mux.device() != crate::mux::DevState::Closed {
            if let Err(e) = self.dev.close_clean() {
                log(&format!("close clean error {e}"));
            }
        }
        let _ = std::fs::remove_file(&self.opts.socket);
        log("exit");
        Ok(())
    }

    /// Take the device back (after [`Daemon::run`]).
    pub fn into_device(self) -> D {
        self.dev
    }
}
