//! Helpers shared by the integration tests: run paxlock and the real
//! sanlock side by side on scratch files.
#![allow(dead_code)]

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
