//! Helpers shared by the black-box tests.
#![allow(dead_code)]

use paxlock_wd::testdev::mono_ms;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_paxlock-wdmd");

/// A "host": a process group of two sleeps (leader + member).
pub struct Host {
    pub leader: Child,
    pub pgid: i32,
}

impl Host {
    pub fn start() -> Host {
        let leader = Command::new("sh")
            .args(["-c", "sleep 600 & exec sleep 600"])
            .process_group(0)
            .spawn()
            .expect("spawn host");
        let pgid = i32::try_from(leader.id()).unwrap();
        Host { leader, pgid }
    }

    /// Whether the leader is still alive (reaps it if not).
    pub fn alive(&mut self) -> bool {
        self.leader.try_wait().unwrap().is_none()
    }

    /// Wait until the leader dies; returns the monotonic ms at which that was seen.
    pub fn wait_dead(&mut self, timeout_ms: u64) -> Option<u64> {
        let end = mono_ms() + timeout_ms;
        while mono_ms() < end {
            if !self.alive() {
                return Some(mono_ms());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Whether any member of the group is left.
    pub fn group_alive(&self) -> bool {
        let p = rustix::process::Pid::from_raw(self.pgid).unwrap();
        rustix::process::test_kill_process_group(p).is_ok()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(p) = rustix::process::Pid::from_raw(self.pgid) {
            let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
        }
        let _ = self.leader.wait();
    }
}

/// A paxlock-wdmd daemon under test.
pub struct Wdmd {
    pub child: Child,
    pub socket: PathBuf,
    pub log: PathBuf,
    pub stderr: PathBuf,
}

impl Wdmd {
    pub fn start(
        dir: &Path,
        socket: &Path,
        target: &str,
        fire_timeout: u32,
        test_interval: u32,
    ) -> Wdmd {
        let log = dir.join("testwd.log");
        let stderr = dir.join("wdmd.stderr");
        let child = Command::new(BIN)
            .arg("daemon")
            .arg("--socket")
            .arg(socket)
            .arg("--test-fire")
            .arg(target)
            .arg("--test-log")
            .arg(&log)
            .arg("--fire-timeout")
            .arg(fire_timeout.to_string())
            .arg("--test-interval")
            .arg(test_interval.to_string())
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("spawn paxlock-wdmd");
        let w = Wdmd {
            child,
            socket: socket.to_path_buf(),
            log,
            stderr,
        };
        let end = mono_ms() + 10_000;
        while std::os::unix::net::UnixStream::connect(socket).is_err() {
            assert!(mono_ms() < end, "daemon did not start: {}", w.stderr_text());
            std::thread::sleep(Duration::from_millis(20));
        }
        w
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// mono_ms of the FIRE line, if any.
    pub fn fire_ms(&self) -> Option<u64> {
        self.log_text()
            .lines()
            .find(|l| l.contains(" FIRE "))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
    }

    /// SIGTERM and wait (the daemon exits once no client uses it).
    pub fn stop(&mut self) {
        let p = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap()).unwrap();
        let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
        let end = mono_ms() + 10_000;
        while mono_ms() < end {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("daemon did not exit on SIGTERM: {}", self.stderr_text());
    }
}

impl Drop for Wdmd {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Current CLOCK_MONOTONIC second (the protocol's clock).
pub fn now_s() -> u64 {
    mono_ms() / 1000
}

/// Wait until `f` holds or `ms` pass.
pub fn wait_for(ms: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = mono_ms() + ms;
    while mono_ms() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}
