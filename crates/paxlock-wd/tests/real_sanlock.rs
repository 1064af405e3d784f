//! A REAL sanlock 3.8.5 daemon with `-w 1` uses paxlock-wdmd in place of
//! wdmd (libwdmd's socket path is fixed: /run/wdmd/wdmd.sock). It joins a
//! lockspace with io_timeout 1; then the whole sanlock process group is
//! SIGSTOPped, and the test watchdog must kill it at about
//! last_renewal + 8*io + fire_timeout (fire_timeout is 60: sanlock 3.8.5
//! checks wdmd's STATUS for exactly 60).
//!
//! Skipped when sanlock is not installed or another wdmd answers on
//! /run/wdmd/wdmd.sock. Serialized across processes by a lock file.

mod common;

use common::*;
use paxlock_wd::proto::DEFAULT_SOCKET_PATH;
use paxlock_wd::testdev::mono_ms;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Cleanup {
    created_dir: bool,
    pgid: Option<i32>,
    sanlock: Option<std::process::Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(g) = self.pgid.and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process_group(g, rustix::process::Signal::KILL);
            let _ = rustix::process::kill_process_group(g, rustix::process::Signal::CONT);
        }
        if let Some(c) = &mut self.sanlock {
            let _ = c.wait();
        }
        let sock = Path::new(DEFAULT_SOCKET_PATH);
        if std::os::unix::net::UnixStream::connect(sock).is_err() {
            let _ = std::fs::remove_file(sock);
        }
        if self.created_dir {
            let _ = std::fs::remove_dir(sock.parent().unwrap());
        }
    }
}

fn sanlock_cmd(run: &Path) -> Command {
    let mut c = Command::new("sanlock");
    c.env("SANLOCK_RUN_DIR", run).env("SANLOCK_PRIVILEGED", "0");
    c
}

/// (renewal, expire) of the last TEST_LIVE the daemon logged.
fn last_test_live(stderr: &str) -> Option<(u64, u64)> {
    let l = stderr
        .lines()
        .rev()
        .find(|l| l.contains(" test_live client "))?;
    let w: Vec<&str> = l.split_whitespace().collect();
    let r = w.iter().position(|&x| x == "renewal")?;
    let e = w.iter().position(|&x| x == "expire")?;
    Some((w.get(r + 1)?.parse().ok()?, w.get(e + 1)?.parse().ok()?))
}

#[test]
fn real_sanlock_is_fenced_by_the_test_watchdog() {
    if Command::new("sanlock")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("skipped: sanlock not installed");
        return;
    }
    // One such test at a time on this machine (other worktrees too).
    let lock = std::fs::File::create("/tmp/paxlock-wd-real-sanlock.lock").unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let sock = Path::new(DEFAULT_SOCKET_PATH);
    if std::os::unix::net::UnixStream::connect(sock).is_ok() {
        eprintln!("skipped: a wdmd already serves {DEFAULT_SOCKET_PATH}");
        return;
    }
    let mut cleanup = Cleanup {
        created_dir: !sock.parent().unwrap().exists(),
        pgid: None,
        sanlock: None,
    };

    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let disk = dir.path().join("disk");
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(4 << 20)
        .unwrap();
    let st = sanlock_cmd(&run)
        .args(["direct", "init", "-s"])
        .arg(format!("LS:0:{}:0", disk.display()))
        .args(["-o", "1"])
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");

    // The "host": sanlock in a process group of its own.
    let slog = dir.path().join("sanlock.log");
    let sanlock = sanlock_cmd(&run)
        .args([
            "daemon", "-D", "-w", "1", "-l", "0", "-U", "root", "-G", "root", "-e", "hostA",
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&slog).unwrap())
        .stderr(std::fs::File::create(dir.path().join("sanlock.err")).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = i32::try_from(sanlock.id()).unwrap();
    cleanup.pgid = Some(pgid);
    cleanup.sanlock = Some(sanlock);
    assert!(
        wait_for(10_000, || run.join("sanlock.sock").exists()),
        "sanlock did not start"
    );

    let wdir = dir.path().join("wd");
    std::fs::create_dir(&wdir).unwrap();
    let mut wd = Wdmd::start(&wdir, sock, &format!("pgid:{pgid}"), 60, 1);

    let add = sanlock_cmd(&run)
        .args(["client", "add_lockspace", "-s"])
        .arg(format!("LS:1:{}:0", disk.display()))
        .args(["-o", "1"])
        .output()
        .unwrap();
    assert!(
        add.status.success() && String::from_utf8_lossy(&add.stdout).contains("done 0"),
        "{add:?}\n{}",
        wd.stderr_text()
    );
    // sanlock registered and renews through us.
    assert!(
        wait_for(15_000, || {
            let s = wd.stderr_text();
            s.contains("sanlock_LS:1") && s.matches(" test_live client ").count() >= 3
        }),
        "{}",
        wd.stderr_text()
    );
    assert!(wd
        .stderr_text()
        .contains(&format!("pid {pgid} sanlock_LS:1")));

    // Freeze the host's daemon (and its helper).
    rustix::process::kill_process_group(
        rustix::process::Pid::from_raw(pgid).unwrap(),
        rustix::process::Signal::STOP,
    )
    .unwrap();
    let stopped = mono_ms();
    std::thread::sleep(Duration::from_millis(300));
    let (renewal, expire) = last_test_live(&wd.stderr_text()).unwrap();
    assert_eq!(expire, renewal + 8, "expiry = renewal + 8*io");

    let mut dead_at = None;
    let end = mono_ms() + 100_000;
    while mono_ms() < end {
        if cleanup
            .sanlock
            .as_mut()
            .unwrap()
            .try_wait()
            .unwrap()
            .is_some()
        {
            dead_at = Some(mono_ms());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let fire = wd.fire_ms();
    eprintln!(
        "real sanlock: last renewal {renewal} s, expiry {expire} s, SIGSTOP at {stopped} ms, \
         FIRE at {fire:?} ms = renewal{:+} ms = expiry{:+} ms, seen dead at {dead_at:?}",
        fire.map_or(0, |f| f as i64 - (renewal * 1000) as i64),
        fire.map_or(0, |f| f as i64 - (expire * 1000) as i64),
    );
    let log = wd.log_text();
    let stderr = wd.stderr_text();
    let _ = wd.child.kill(); // it holds sanlock's fatal client: SIGTERM is refused
    let _ = wd.child.wait();
    let dead_at = dead_at.unwrap_or_else(|| panic!("sanlock not killed\n{log}\n{stderr}"));
    let fire = fire.expect("FIRE line");
    // host_dead_seconds(io 1) = 8 + 60 after the last renewal; the last
    // ping is at expiry - test_interval, so the fire is at expiry + 59 s.
    assert!(fire >= (expire - 1) * 1000 + 60_000, "early: {fire}\n{log}");
    assert!(fire <= expire * 1000 + 60_000 + 500, "late: {fire}\n{log}");
    assert!(dead_at >= fire);
    drop(cleanup);
}
