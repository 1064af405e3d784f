//! The test watchdog device: a process of its own that models a hardware
//! watchdog's timer and, at the moment the hardware would reset the
//! machine (last ping + fire timeout), SIGKILLs the "host": a process group
//! or every process of a cgroup v2 directory.
//!
//! It reads commands, one per line, from stdin (the "device file"):
//! `open` (arm + ping), `ping`, `timeout N` (set fire timeout + ping),
//! `V` (the magic close character), `close`. End of input is a close. As
//! with Linux's watchdog core, a close after `V` disarms; any other close
//! pings once and leaves the timer running. So if the daemon that feeds the
//! device dies or is killed, the device still fires.
//!
//! Every event is logged as one line, to stderr and (optionally) appended to
//! a log file: `<mono_ms> paxlock-testwd[<pid>] <EVENT> key=value...`.
//! The line a test waits for starts with `FIRE`.

use crate::mux::Millis;
use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

/// CLOCK_MONOTONIC now, milliseconds.
pub fn mono_ms() -> Millis {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let s = u64::try_from(ts.tv_sec).unwrap_or(0);
    let ns = u64::try_from(ts.tv_nsec).unwrap_or(0);
    s * 1000 + ns / 1_000_000
}

/// What the test watchdog kills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A process group id (`pgid:N`).
    Pgid(i32),
    /// A cgroup v2 directory (`cgroup:PATH`).
    Cgroup(PathBuf),
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        if let Some(n) = s.strip_prefix("pgid:") {
            let n: i32 = n.parse().map_err(|e| format!("bad pgid {n:?}: {e}"))?;
            if n <= 1 {
                return Err(format!("refusing pgid {n}"));
            }
            Ok(Target::Pgid(n))
        } else if let Some(p) = s.strip_prefix("cgroup:") {
            if p.is_empty() {
                return Err("empty cgroup path".into());
            }
            Ok(Target::Cgroup(PathBuf::from(p)))
        } else {
            Err(format!("target must be pgid:N or cgroup:PATH, not {s:?}"))
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Pgid(n) => write!(f, "pgid:{n}"),
            Target::Cgroup(p) => write!(f, "cgroup:{}", p.display()),
        }
    }
}

/// One input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// Open: arm and ping.
    Open,
    /// Keepalive.
    Ping,
    /// Set the fire timeout (seconds) and ping.
    Timeout(u32),
    /// Magic close character.
    V,
    /// Close the device file.
    Close,
}

impl Msg {
    /// Parse a line; `None` for anything else (ignored).
    pub fn parse(line: &str) -> Option<Msg> {
        let line = line.trim();
        Some(match line {
            "open" => Msg::Open,
            "ping" => Msg::Ping,
            "V" => Msg::V,
            "close" => Msg::Close,
            _ => Msg::Timeout(line.strip_prefix("timeout ")?.trim().parse().ok()?),
        })
    }
}

/// The device's timer, pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceModel {
    /// Fire timeout, ms.
    pub fire_timeout_ms: Millis,
    /// Timer running.
    pub armed: bool,
    /// Device file open.
    pub open: bool,
    /// 'V' seen since the last ping/open.
    pub expect_close: bool,
    /// Time of the last ping.
    pub last_ping: Millis,
    /// Already fired (a reset host stays reset).
    pub fired: bool,
}

impl DeviceModel {
    /// A disarmed device.
    pub fn new(fire_timeout_s: u32) -> DeviceModel {
        DeviceModel {
            fire_timeout_ms: u64::from(fire_timeout_s) * 1000,
            armed: false,
            open: false,
            expect_close: false,
            last_ping: 0,
            fired: false,
        }
    }

    /// Apply a message at `now`. Returns a word for the log.
    pub fn handle(&mut self, msg: Msg, now: Millis) -> &'static str {
        if self.fired {
            return "ignored-after-fire";
        }
        match msg {
            Msg::Open => {
                self.open = true;
                self.armed = true;
                self.expect_close = false;
                self.last_ping = now;
                "open"
            }
            Msg::Ping if self.open => {
                self.expect_close = false;
                self.last_ping = now;
                "ping"
            }
            Msg::Timeout(s) if self.open => {
                self.fire_timeout_ms = u64::from(s) * 1000;
                self.last_ping = now;
                "timeout"
            }
            Msg::V if self.open => {
                self.expect_close = true;
                "expect-close"
            }
            Msg::Close if self.open => {
                self.open = false;
                if self.expect_close {
                    self.armed = false;
                    self.expect_close = false;
                    "disarmed"
                } else if self.armed {
                    // "watchdog did not stop!": one last ping, keeps running.
                    self.last_ping = now;
                    "closed-unclean"
                } else {
                    "closed"
                }
            }
            _ => "ignored-not-open",
        }
    }

    /// When it fires, if armed.
    pub fn deadline(&self) -> Option<Millis> {
        (self.armed && !self.fired).then(|| self.last_ping + self.fire_timeout_ms)
    }
}

struct Logger {
    file: Option<std::fs::File>,
}

impl Logger {
    fn line(&mut self, msg: &str) {
        let l = format!(
            "{} paxlock-testwd[{}] {msg}\n",
            mono_ms(),
            std::process::id()
        );
        let _ = io::stderr().write_all(l.as_bytes());
        if let Some(f) = &mut self.file {
            let _ = f.write_all(l.as_bytes());
            let _ = f.flush();
        }
    }
}

fn target_present(t: &Target) -> bool {
    match t {
        Target::Pgid(n) => match rustix::process::Pid::from_raw(*n) {
            Some(p) => !matches!(
                rustix::process::test_kill_process_group(p),
                Err(rustix::io::Errno::SRCH)
            ),
            None => false,
        },
        Target::Cgroup(p) => p.is_dir(),
    }
}

/// Kill the target now. Returns a description of what was done.
pub fn kill_target(t: &Target) -> String {
    match t {
        Target::Pgid(n) => match rustix::process::Pid::from_raw(*n) {
            Some(p) => {
                match rustix::process::kill_process_group(p, rustix::process::Signal::KILL) {
                    Ok(()) => "action=killpg result=ok".into(),
                    Err(e) => format!("action=killpg result=error:{e}"),
                }
            }
            None => "action=none result=bad-pgid".into(),
        },
        Target::Cgroup(dir) => kill_cgroup(dir),
    }
}

fn kill_cgroup(dir: &Path) -> String {
    let kill_file = dir.join("cgroup.kill");
    if kill_file.exists() {
        return match std::fs::write(&kill_file, b"1") {
            Ok(()) => "action=cgroup.kill result=ok".into(),
            Err(e) => format!("action=cgroup.kill result=error:{e}"),
        };
    }
    // Older kernels: kill every pid, repeat until the group is empty (a
    // forking process may add pids while we go).
    let mut killed = 0usize;
    for _ in 0..50 {
        let procs = match std::fs::read_to_string(dir.join("cgroup.procs")) {
            Ok(s) => s,
            Err(e) => return format!("action=cgroup.procs result=error:{e} killed={killed}"),
        };
        let pids: Vec<i32> = procs
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if pids.is_empty() {
            return format!("action=cgroup.procs result=ok killed={killed}");
        }
        for pid in pids {
            if let Some(p) = rustix::process::Pid::from_raw(pid) {
                if rustix::process::kill_process(p, rustix::process::Signal::KILL).is_ok() {
                    killed += 1;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    format!("action=cgroup.procs result=not-empty killed={killed}")
}

/// Options of the `test-device` subcommand.
#[derive(Debug, Clone)]
pub struct DeviceOptions {
    /// What to kill.
    pub target: Target,
    /// Initial fire timeout, seconds.
    pub fire_timeout_s: u32,
    /// Log file to append to.
    pub log: Option<PathBuf>,
}

/// Run the device process until its input ends and it is disarmed, or it
/// has fired. Reads stdin.
pub fn main(opts: DeviceOptions) -> io::Result<()> {
    let file = match &opts.log {
        Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
        None => None,
    };
    let mut log = Logger { file };
    let (tx, rx) = mpsc::channel::<Option<Msg>>();
    std::thread::spawn(move || {
        let stdin = io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            if let Some(m) = Msg::parse(&line) {
                if tx.send(Some(m)).is_err() {
                    return;
                }
            }
        }
        let _ = tx.send(None);
    });

    let mut dev = DeviceModel::new(opts.fire_timeout_s);
    let mut target_gone = false;
    let mut input_open = true;
    log.line(&format!(
        "START target={} fire_timeout_s={}",
        opts.target, opts.fire_timeout_s
    ));
    loop {
        let now = mono_ms();
        if let Some(d) = dev.deadline() {
            if now >= d {
                let what = if target_gone {
                    "action=none result=target-gone".to_string()
                } else {
                    kill_target(&opts.target)
                };
                dev.fired = true;
                dev.armed = false;
                log.line(&format!(
                    "FIRE mono_ms={now} last_ping_ms={} fire_timeout_s={} due_ms={d} target={} {what}",
                    dev.last_ping,
                    dev.fire_timeout_ms / 1000,
                    opts.target
                ));
            }
        }
        if !input_open && dev.deadline().is_none() {
            log.line("EXIT");
            return Ok(());
        }
        if !target_gone && !dev.fired && !target_present(&opts.target) {
            // Never kill a pgid that may since have been reused.
            target_gone = true;
            log.line(&format!("TARGET-GONE target={}", opts.target));
        }
        let wait = match dev.deadline() {
            Some(d) => d.saturating_sub(now).min(200),
            None => 200,
        };
        if !input_open {
            std::thread::sleep(Duration::from_millis(wait));
            continue;
        }
        match rx.recv_timeout(Duration::from_millis(wait)) {
            Ok(Some(m)) => {
                let now = mono_ms();
                let word = dev.handle(m, now);
                if m != Msg::Ping {
                    log.line(&format!(
                        "{} armed={} deadline_ms={}",
                        word.to_uppercase(),
                        dev.armed,
                        dev.deadline().map_or("none".into(), |d| d.to_string())
                    ));
                }
            }
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                input_open = false;
                let now = mono_ms();
                let word = if dev.open {
                    dev.handle(Msg::Close, now)
                } else {
                    "closed"
                };
                log.line(&format!(
                    "EOF {} armed={} deadline_ms={}",
                    word,
                    dev.armed,
                    dev.deadline().map_or("none".into(), |d| d.to_string())
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!("pgid:42".parse::<Target>(), Ok(Target::Pgid(42)));
        assert!("pgid:1".parse::<Target>().is_err());
        assert!("pgid:-5".parse::<Target>().is_err());
        assert_eq!(
            "cgroup:/sys/fs/cgroup/x".parse::<Target>(),
            Ok(Target::Cgroup("/sys/fs/cgroup/x".into()))
        );
        assert!("x".parse::<Target>().is_err());
    }

    #[test]
    fn msgs_parse() {
        assert_eq!(Msg::parse("open"), Some(Msg::Open));
        assert_eq!(Msg::parse("timeout 7\n"), Some(Msg::Timeout(7)));
        assert_eq!(Msg::parse("timeout x"), None);
        assert_eq!(Msg::parse("bogus"), None);
    }

    #[test]
    fn linux_watchdog_semantics() {
        let mut d = DeviceModel::new(10);
        assert_eq!(d.deadline(), None);
        d.handle(Msg::Ping, 1); // not open: ignored
        assert_eq!(d.deadline(), None);
        d.handle(Msg::Open, 100);
        assert_eq!(d.deadline(), Some(10_100));
        d.handle(Msg::Ping, 2_000);
        assert_eq!(d.deadline(), Some(12_000));
        // unclean close pings once and keeps running
        assert_eq!(d.handle(Msg::Close, 3_000), "closed-unclean");
        assert_eq!(d.deadline(), Some(13_000));
        d.handle(Msg::Ping, 4_000); // closed: no effect
        assert_eq!(d.deadline(), Some(13_000));
        // reopen pings
        d.handle(Msg::Open, 5_000);
        assert_eq!(d.deadline(), Some(15_000));
        // V then close disarms
        d.handle(Msg::V, 6_000);
        assert_eq!(d.handle(Msg::Close, 6_000), "disarmed");
        assert_eq!(d.deadline(), None);
        // a ping after V cancels the expect-close
        d.handle(Msg::Open, 7_000);
        d.handle(Msg::V, 7_100);
        d.handle(Msg::Ping, 7_200);
        assert_eq!(d.handle(Msg::Close, 7_300), "closed-unclean");
        assert_eq!(d.deadline(), Some(17_300));
        d.fired = true;
        assert_eq!(d.deadline(), None);
        assert_eq!(d.handle(Msg::Open, 20_000), "ignored-after-fire");
    }
}
