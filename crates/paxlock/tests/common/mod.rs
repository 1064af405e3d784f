//! Helpers shared by the integration tests: run paxlock and the real
//! sanlock side by side on scratch files.
#![allow(dead_code)]

pub mod client;

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub code: i32,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

fn run(mut cmd: Command) -> Run {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Run {
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Runs `paxlock ARGS`.
pub fn paxlock(args: &[&str]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paxlock"));
    c.args(args);
    run(c)
}

/// Runs the real `sanlock ARGS`. A missing sanlock fails the test: the
/// test command installs it (scripts/test), so its absence is a bug.
pub fn sanlock(args: &[&str]) -> Run {
    let mut c = Command::new("sanlock");
    c.args(args);
    match c.output() {
        Ok(out) => Run {
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        },
        Err(e) => panic!("cannot run the real sanlock ({e}); run scripts/test, which installs it"),
    }
}

/// Asserts paxlock and sanlock print the same stdout and exit alike.
pub fn assert_same(args: &[&str]) -> Run {
    let s = sanlock(args);
    let p = paxlock(args);
    assert_eq!(
        p.stdout_str(),
        s.stdout_str(),
        "stdout differs for {args:?}\n--- paxlock stderr:\n{}\n--- sanlock stderr:\n{}",
        p.stderr,
        s.stderr
    );
    assert_eq!(
        p.code, s.code,
        "exit code differs for {args:?}; paxlock stderr: {}",
        p.stderr
    );
    p
}

/// A scratch directory under the target dir (not /tmp, which may be a
/// tmpfs without O_DIRECT).
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("paxlock-test-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// A file of `len` bytes filled with `fill`.
pub fn file(dir: &Path, name: &str, len: u64, fill: u8) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, vec![fill; len as usize]).unwrap();
    p
}

pub fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

pub const MIB: u64 = 1024 * 1024;

/// A loop device over a file, detached on drop.
pub struct LoopDev {
    pub dev: PathBuf,
}

impl LoopDev {
    pub fn new(backing: &Path, sector_size: u32) -> LoopDev {
        let out = Command::new("losetup")
            .args([
                "--sector-size",
                &sector_size.to_string(),
                "--direct-io=on",
                "-f",
                "--show",
            ])
            .arg(backing)
            .output()
            .expect("losetup is needed for block-device tests (util-linux)");
        assert!(
            out.status.success(),
            "losetup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dev = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string());
        LoopDev { dev }
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

/// Reads `len` bytes at `offset` with O_DIRECT (bypassing any cache).
pub fn read_direct(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let d = paxlock_io::Disk::open(path, paxlock_io::Access::ReadOnly).unwrap();
    d.read_at(offset, len, std::time::Duration::from_secs(10))
        .unwrap()
        .into_vec()
}

/// A lease daemon (the real sanlock, or paxlock's) in its own run dir,
/// driven by the real `sanlock client` CLI; shut down on drop.
pub struct TestDaemon {
    pub run_dir: tempfile::TempDir,
    child: std::process::Child,
}

impl TestDaemon {
    /// The real sanlock daemon (unprivileged, no watchdog).
    pub fn sanlock(host_name: &str) -> TestDaemon {
        TestDaemon::sanlock_with(host_name, &[])
    }

    /// The real sanlock daemon with more daemon options.
    pub fn sanlock_with(host_name: &str, extra: &[&str]) -> TestDaemon {
        let mut c = Command::new("sanlock");
        c.args([
            "daemon", "-D", "-w", "0", "-l", "0", "-U", "root", "-G", "root", "-L", "-1", "-S",
            "-1", "-e", host_name,
        ])
        .args(extra)
        .env("SANLOCK_PRIVILEGED", "0");
        TestDaemon::spawn(c, "pxs", "status")
    }

    /// paxlock's daemon.
    pub fn paxlock(host_name: &str) -> TestDaemon {
        TestDaemon::paxlock_with(host_name, &[])
    }

    /// paxlock's daemon with more daemon options.
    pub fn paxlock_with(host_name: &str, extra: &[&str]) -> TestDaemon {
        let mut c = Command::new(env!("CARGO_BIN_EXE_paxlock"));
        c.args([
            "daemon", "-D", "-w", "0", "-l", "0", "-U", "root", "-G", "root", "-e", host_name,
        ])
        .args(extra);
        TestDaemon::spawn(c, "pxp", "status")
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `sig` (e.g. "STOP", "CONT") to the daemon.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} {}", self.pid());
    }

    fn spawn(mut c: Command, prefix: &str, probe: &str) -> TestDaemon {
        // Socket paths are limited to ~108 bytes: keep the run dir short.
        let run_dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .unwrap();
        let log = std::fs::File::create(run_dir.path().join("daemon.log")).unwrap();
        let child = c
            .env("SANLOCK_RUN_DIR", run_dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {c:?}: {e}"));
        let d = TestDaemon { run_dir, child };
        for _ in 0..100 {
            if d.client(&[probe]).code == 0 {
                return d;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("daemon did not come up; log: {}", d.log());
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("sanlock");
        c.arg("client")
            .args(args)
            .env("SANLOCK_RUN_DIR", self.run_dir.path());
        c
    }

    pub fn client(&self, args: &[&str]) -> Run {
        run(self.command(args))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.run_dir.path().join("daemon.log")).unwrap_or_default()
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        // A test that froze the daemon may have failed before thawing it.
        let _ = Command::new("kill")
            .args(["-CONT", &self.pid().to_string()])
            .status();
        let _ = self.client(&["shutdown", "-f", "1"]);
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch dir holding lockspace "LS" (file `ids`, io_timeout 1) and a
/// resource lease per name (file named after it, e.g. `r1` for "R1").
pub fn lease_files(resources: &[&str]) -> (tempfile::TempDir, String) {
    let dir = scratch();
    let d = s(dir.path());
    file(dir.path(), "ids", MIB, 0);
    assert_eq!(
        paxlock(&[
            "direct",
            "init",
            "-s",
            &format!("LS:0:{d}/ids:0"),
            "-o",
            "1"
        ])
        .code,
        0
    );
    for r in resources {
        let f = r.to_lowercase();
        file(dir.path(), &f, MIB, 0);
        assert_eq!(
            paxlock(&["direct", "init", "-r", &format!("LS:{r}:{d}/{f}:0")]).code,
            0
        );
    }
    (dir, d)
}

/// A `paxlock hold` process; its stdout lines arrive on a channel.
pub struct PaxlockHost {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl PaxlockHost {
    pub fn start(args: &[&str]) -> PaxlockHost {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_paxlock"))
            .arg("hold")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        PaxlockHost {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle`; panics after `secs`.
    pub fn wait_for(&mut self, needle: &str, secs: u64) -> String {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "paxlock hold never printed {needle:?}; it printed {:?}",
            self.seen
        );
    }

    /// Closes stdin (release and leave) and returns the exit code.
    pub fn finish(mut self) -> (i32, Vec<String>) {
        drop(self.child.stdin.take());
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        while let Ok(l) = self
            .lines
            .recv_timeout(std::time::Duration::from_millis(200))
        {
            self.seen.push(l);
        }
        (code, std::mem::take(&mut self.seen))
    }
}

impl Drop for PaxlockHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
