//! Fencing, black box: host A is a paxlock daemon with the watchdog on
//! (`-w 1`) and a stand-in VM holding a lease, all in one process group;
//! its watchdog is `paxlock wdmd` with the test device, which kills that
//! group when a hardware watchdog would fire. Host B is a second paxlock
//! daemon that tries to take the lease. A is frozen (SIGSTOP) or killed
//! (SIGKILL) while holding it: the test watchdog must kill A's VM, and B
//! must get the lease only after that and not before host_dead_seconds.
//! The test is the observer: it fails on any moment where B holds the
//! lease while A's VM still runs.
//!
//! Timeouts: io_timeout 1 s, watchdog fire timeout 10 s (both hosts'
//! configuration), so id_renewal_fail is 8 s and host_dead_seconds 18 s.

// Host A's children are killed and reaped by `HostA`'s Drop; the early
// panics of `start_a` (before it exists) fail the test, and the children
// of a finished test binary are reaped by init.
#![allow(clippy::zombie_processes)]

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const HOLDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/holder.py");
const WFT: u64 = 10;

struct HostA {
    daemon: Child,
    holder: Child,
    wdmd: Child,
    run_dir: tempfile::TempDir,
}

impl Drop for HostA {
    fn drop(&mut self) {
        for c in [&mut self.holder, &mut self.daemon, &mut self.wdmd] {
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn conf(dir: &Path) -> PathBuf {
    let p = dir.join("sanlock.conf");
    std::fs::write(&p, format!("watchdog_fire_timeout = {WFT}\n")).unwrap();
    p
}

fn client(run_dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_paxlock"))
        .arg("client")
        .args(args)
        .env("SANLOCK_RUN_DIR", run_dir)
        .output()
        .unwrap();
    Run {
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn wait_up(run_dir: &Path) {
    for _ in 0..200 {
        if client(run_dir, &["gets"]).code == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("daemon in {} did not come up", run_dir.display());
}

/// Host A: wdmd with the test device, then the daemon (its own process
/// group) joined as host_id 1, then the VM holding LS:R1 in that group.
fn start_a(dir: &str, conf: &Path) -> HostA {
    let run_dir = tempfile::Builder::new()
        .prefix("pxa")
        .tempdir_in("/tmp")
        .unwrap();
    let wd_sock = run_dir.path().join("wdmd.sock");
    let daemon = Command::new(env!("CARGO_BIN_EXE_paxlock"))
        .args(["daemon", "-w", "1", "-e", "host-a"])
        .env("SANLOCK_RUN_DIR", run_dir.path())
        .env("PAXLOCK_CONFIG", conf)
        .env("PAXLOCK_WDMD_SOCKET", &wd_sock)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pgid = daemon.id();
    let wdmd = Command::new(env!("CARGO_BIN_EXE_paxlock"))
        .args(["wdmd", "daemon", "--socket"])
        .arg(&wd_sock)
        .args(["--test-fire", &format!("pgid:{pgid}")])
        .args(["--fire-timeout", &WFT.to_string(), "--test-interval", "1"])
        .arg("--test-log")
        .arg(run_dir.path().join("fire.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if wd_sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_up(run_dir.path());
    let r = client(
        run_dir.path(),
        &[
            "add_lockspace",
            "-s",
            &format!("LS:1:{dir}/ids:0"),
            "-o",
            "1",
        ],
    );
    assert_eq!(r.code, 0, "A add_lockspace: {}{}", r.stdout_str(), r.stderr);
    let marker = run_dir.path().join("vm");
    let holder = Command::new("/usr/bin/python3")
        .arg(HOLDER)
        .arg(format!("{dir}/r1"))
        .arg(&marker)
        .arg("--ignore-term")
        .env("SANLOCK_RUN_DIR", run_dir.path())
        .process_group(pgid as i32)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::fs::read_to_string(&marker)
            .unwrap_or_default()
            .contains("acquired")
        {
            return HostA {
                daemon,
                holder,
                wdmd,
                run_dir,
            };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("A's VM did not get its lease");
}

#[derive(Debug)]
struct Outcome {
    /// From the fault to A's VM seen dead.
    vm_dead_after: Duration,
    /// From the fault to B holding the lease.
    b_got_it_after: Duration,
}

/// Applies `fault` to A's daemon, then B tries to take the lease until it
/// gets it; the test watches A's VM meanwhile.
fn scenario(fault: &str) -> Outcome {
    let (dir, d) = lease_files(&["R1"]);
    let conf = conf(dir.path());
    let mut a = start_a(&d, &conf);
    let b_run = tempfile::Builder::new()
        .prefix("pxb")
        .tempdir_in("/tmp")
        .unwrap();
    let mut b = Command::new(env!("CARGO_BIN_EXE_paxlock"))
        .args(["daemon", "-w", "0", "-e", "host-b"])
        .env("SANLOCK_RUN_DIR", b_run.path())
        .env("PAXLOCK_CONFIG", &conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_up(b_run.path());
    let r = client(
        b_run.path(),
        &["add_lockspace", "-s", &format!("LS:2:{d}/ids:0"), "-o", "1"],
    );
    assert_eq!(r.code, 0, "B add_lockspace: {}", r.stdout_str());
    let lease = format!("LS:R1:{d}/r1:0");
    // While A is well, B is refused.
    let r = client(b_run.path(), &["command", "-r", &lease, "-c", "/bin/true"]);
    assert_ne!(r.code, 0, "B got the lease while A's VM holds it");

    let t0 = Instant::now();
    let ok = Command::new("kill")
        .args([&format!("-{fault}"), &a.daemon.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);

    // B tries in the background (an acquire may wait for host_dead).
    let b_dir = b_run.path().to_path_buf();
    let lease2 = lease.clone();
    let taker = std::thread::spawn(move || loop {
        let r = client(&b_dir, &["command", "-r", &lease2, "-c", "/bin/true"]);
        if r.code == 0 {
            return Instant::now();
        }
        std::thread::sleep(Duration::from_millis(300));
    });
    // The observer: A's VM must be dead before B holds the lease.
    let mut vm_dead: Option<Instant> = None;
    while t0.elapsed() < Duration::from_secs(60) {
        if vm_dead.is_none() && a.holder.try_wait().unwrap().is_some() {
            vm_dead = Some(Instant::now());
        }
        if taker.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let b_at = taker.join().expect("B never got the lease");
    let vm_dead = vm_dead.unwrap_or_else(|| {
        panic!(
            "B got the lease while A's VM was still running ({:?} after the fault)",
            b_at - t0
        )
    });
    assert!(
        vm_dead < b_at,
        "overlap: B at {:?}, A's VM dead at {:?}",
        b_at - t0,
        vm_dead - t0
    );
    let fire = std::fs::read_to_string(a.run_dir.path().join("fire.log")).unwrap_or_default();
    assert!(
        fire.contains("FIRE"),
        "the test watchdog did not fire: {fire}"
    );
    let _ = b.kill();
    let _ = b.wait();
    drop(a);
    Outcome {
        vm_dead_after: vm_dead - t0,
        b_got_it_after: b_at - t0,
    }
}

fn check(fault: &str, o: &Outcome) {
    eprintln!("{fault}: {o:?}");
    // The watchdog fires at most id_renewal_fail + wft after the last
    // renewal (which was up to 2 io_timeouts before the fault) and not
    // before the renewal would have failed.
    assert!(o.vm_dead_after >= Duration::from_secs(5), "{fault}: {o:?}");
    assert!(
        o.vm_dead_after <= Duration::from_secs(8 + WFT + 3),
        "{fault}: {o:?}"
    );
    // B waits host_dead_seconds (8 + wft = 18 s) after it last saw A
    // renew: never less than about 16 s after the fault.
    assert!(
        o.b_got_it_after >= Duration::from_secs(15),
        "{fault}: {o:?}"
    );
}

#[test]
fn a_frozen_daemon_is_fenced_before_the_other_host_takes_its_lease() {
    let o = scenario("STOP");
    check("SIGSTOP", &o);
}

#[test]
fn a_killed_daemon_is_fenced_before_the_other_host_takes_its_lease() {
    let o = scenario("KILL");
    check("SIGKILL", &o);
}
