//! Black-box tests: the paxlock-wdmd binary with the test watchdog killing a
//! process group, driven by this crate's wdmd client.

mod common;

use common::*;
use paxlock_wd::client::WdmdClient;
use paxlock_wd::testdev::mono_ms;
use std::time::Duration;

const FT: u32 = 3;
const TI: u32 = 1;

#[test]
fn renewing_client_is_never_fired_and_a_stopped_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let mut host = Host::start();
    let mut wd = Wdmd::start(
        dir.path(),
        &dir.path().join("wdmd.sock"),
        &format!("pgid:{}", host.pgid),
        FT,
        TI,
    );
    let mut c = WdmdClient::connect(&wd.socket).unwrap();
    c.register("sanlock_test:1").unwrap();
    c.refcount_set().unwrap();
    let st = c.status().unwrap();
    assert_eq!(st.fire_timeout, FT);
    assert_eq!(st.test_interval, TI);

    // Renew twice a second with an expiry 4 s out, for 3 fire timeouts.
    let until = mono_ms() + 3 * u64::from(FT) * 1000;
    let mut expire = 0;
    while mono_ms() < until {
        let now = now_s();
        expire = now + 4;
        c.test_live(now, expire).unwrap();
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(host.alive(), "fired while renewed:\n{}", wd.log_text());
    assert!(wd.fire_ms().is_none());
    let dump = c.dump_debug().unwrap();
    assert!(dump.contains("sanlock_test:1"), "{dump}");

    // Stop renewing: the group dies within [E, E + fire_timeout + test_interval].
    let e_ms = expire * 1000;
    let dead_at = host.wait_dead(30_000).expect("host was not killed");
    assert!(wait_for(2_000, || !host.group_alive()), "group member left");
    let fire = wd.fire_ms().expect("FIRE line");
    eprintln!(
        "expiry {e_ms} fire {fire} (E{:+} ms) seen dead {dead_at} (E{:+} ms)",
        fire as i64 - e_ms as i64,
        dead_at as i64 - e_ms as i64
    );
    assert!(fire >= e_ms, "fired before the expiry: {fire} < {e_ms}");
    assert!(
        fire <= e_ms + u64::from(FT + TI) * 1000,
        "fired late: {fire} > {e_ms} + {}",
        (FT + TI) * 1000
    );
    assert!(dead_at >= fire);

    // Clean up: clear, then the daemon may exit.
    c.test_live(0, 0).unwrap();
    c.refcount_clear().unwrap();
    drop(c);
    wd.stop();
    assert!(
        wd.stderr_text().contains("CloseUnclean"),
        "{}",
        wd.stderr_text()
    );
}

#[test]
fn clean_stop_never_fires_and_disarms() {
    let dir = tempfile::tempdir().unwrap();
    let mut host = Host::start();
    let mut wd = Wdmd::start(
        dir.path(),
        &dir.path().join("wdmd.sock"),
        &format!("pgid:{}", host.pgid),
        FT,
        TI,
    );
    let mut c = WdmdClient::connect(&wd.socket).unwrap();
    c.register("clean:1").unwrap();
    c.refcount_set().unwrap();
    let now = now_s();
    c.test_live(now, now + 4).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // sanlock's clean stop: TEST_LIVE 0 0, REFCOUNT_CLEAR, close.
    c.test_live(0, 0).unwrap();
    c.refcount_clear().unwrap();
    drop(c);
    // The device is closed cleanly once unused; nothing fires afterwards.
    assert!(
        wait_for(3_000, || wd.log_text().contains("DISARMED")),
        "{}",
        wd.log_text()
    );
    std::thread::sleep(Duration::from_millis(u64::from(FT + TI) * 1000 + 500));
    assert!(host.alive(), "{}", wd.log_text());
    assert!(wd.fire_ms().is_none());
    wd.stop();
    assert!(
        wait_for(3_000, || wd.log_text().contains("EXIT")),
        "{}",
        wd.log_text()
    );
}

#[test]
fn client_that_dies_with_an_expiry_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut host = Host::start();
    let wd = Wdmd::start(
        dir.path(),
        &dir.path().join("wdmd.sock"),
        &format!("pgid:{}", host.pgid),
        FT,
        TI,
    );
    let mut c = WdmdClient::connect(&wd.socket).unwrap();
    c.register("crash:1").unwrap();
    c.refcount_set().unwrap();
    let now = now_s();
    let e_ms = (now + 3) * 1000;
    c.test_live(now, now + 3).unwrap();
    drop(c); // the "sanlock daemon" crashes
    host.wait_dead(20_000).expect("not killed");
    let fire = wd.fire_ms().unwrap();
    eprintln!(
        "fatal close: expiry {e_ms} fire {fire} (E{:+} ms)",
        fire as i64 - e_ms as i64
    );
    assert!(fire >= e_ms && fire <= e_ms + u64::from(FT + TI) * 1000);
    // Nothing can clear it: a new client's clean stop does not help, and
    // the daemon refuses to exit on SIGTERM.
    let p = rustix::process::Pid::from_raw(i32::try_from(wd.child.id()).unwrap()).unwrap();
    rustix::process::kill_process(p, rustix::process::Signal::TERM).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(wd.stderr_text().contains("staying"), "{}", wd.stderr_text());
}

#[test]
fn killed_daemon_still_fires() {
    // The device is a process of its own: killing the daemon is an unclean
    // close, and the timer runs on, as with /dev/watchdog.
    let dir = tempfile::tempdir().unwrap();
    let mut host = Host::start();
    let mut wd = Wdmd::start(
        dir.path(),
        &dir.path().join("wdmd.sock"),
        &format!("pgid:{}", host.pgid),
        FT,
        TI,
    );
    let mut c = WdmdClient::connect(&wd.socket).unwrap();
    c.register("long:1").unwrap();
    let now = now_s();
    c.test_live(now, now + 1000).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    wd.child.kill().unwrap();
    let killed = mono_ms();
    wd.child.wait().unwrap();
    let dead = host.wait_dead(20_000).expect("not killed");
    let fire = wd.fire_ms().unwrap();
    eprintln!(
        "daemon killed at {killed}, fire {fire} (+{} ms)",
        fire - killed
    );
    assert!(fire >= killed && fire <= killed + u64::from(FT) * 1000 + 500);
    assert!(dead >= fire);
}

#[test]
fn cgroup_target_is_killed() {
    // Needs a writable cgroup v2 hierarchy (root); skipped otherwise.
    let Some(root) = cgroup2_root() else {
        eprintln!("skipped: no writable cgroup v2 mount");
        return;
    };
    let cg = root.join(format!("paxlock-wd-test-{}", std::process::id()));
    if std::fs::create_dir(&cg).is_err() {
        eprintln!("skipped: cannot create {}", cg.display());
        return;
    }
    let mut victim = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    std::fs::write(cg.join("cgroup.procs"), victim.id().to_string()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut wd = Wdmd::start(
        dir.path(),
        &dir.path().join("wdmd.sock"),
        &format!("cgroup:{}", cg.display()),
        FT,
        TI,
    );
    let mut c = WdmdClient::connect(&wd.socket).unwrap();
    c.register("cg:1").unwrap();
    let now = now_s();
    c.test_live(now, now + 2).unwrap();
    let end = mono_ms() + 15_000;
    let mut status = None;
    while mono_ms() < end {
        status = victim.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = wd.log_text();
    let _ = victim.kill();
    let _ = victim.wait();
    c.test_live(0, 0).unwrap();
    drop(c);
    wd.stop();
    let _ = std::fs::remove_dir(&cg);
    assert!(status.is_some(), "cgroup member not killed:\n{log}");
    assert!(
        log.contains("action=cgroup.kill result=ok") || log.contains("action=cgroup.procs"),
        "{log}"
    );
}

fn cgroup2_root() -> Option<std::path::PathBuf> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    for l in mi.lines() {
        let (pre, post) = l.split_once(" - ")?;
        if post.starts_with("cgroup2 ") {
            let mp = pre.split_whitespace().nth(4)?;
            let p = std::path::PathBuf::from(mp);
            let probe = p.join(format!("paxlock-wd-probe-{}", std::process::id()));
            if std::fs::create_dir(&probe).is_ok() {
                let _ = std::fs::remove_dir(&probe);
                return Some(p);
            }
        }
    }
    None
}

#[test]
fn unusable_device_makes_status_report_no_fire_timeout() {
    // A device that cannot be opened: STATUS says fire_timeout 0, which
    // sanlock rejects, so no lockspace runs unprotected.
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("wdmd.sock");
    let mut child = std::process::Command::new(BIN)
        .args(["daemon", "-w"])
        .arg(dir.path().join("no-such-watchdog"))
        .arg("--socket")
        .arg(&sock)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(10_000, || {
        std::os::unix::net::UnixStream::connect(&sock).is_ok()
    }));
    let mut c = WdmdClient::connect(&sock).unwrap();
    c.register("x:1").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let st = c.status().unwrap();
    drop(c);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(st.fire_timeout, 0);
}
