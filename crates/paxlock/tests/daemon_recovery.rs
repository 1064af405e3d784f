//! What a daemon does to the processes holding its leases when the
//! lockspace is lost (renewal failed past id_renewal_fail_seconds), when
//! it is removed, and when another host requests a lease: each scenario
//! runs against a real sanlock daemon and a paxlock daemon at once, and
//! the two must treat the stand-in VM process the same way.
//!
//! A lockspace is lost here by freezing the daemon (SIGSTOP) for longer
//! than id_renewal_fail_seconds (8 s at io_timeout 1): when it thaws, the
//! renewal is too late and the holders must go.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;

const HOLDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/holder.py");

/// Starts holder.py against `daemon`; returns once it holds LS:R1.
fn start_holder(daemon: &TestDaemon, dir: &str, marker: &Path, extra: &[&str]) -> Child {
    let child = Command::new("/usr/bin/python3")
        .arg(HOLDER)
        .arg(format!("{dir}/r1"))
        .arg(marker)
        .args(extra)
        .env("SANLOCK_RUN_DIR", daemon.run_dir.path())
        .spawn()
        .expect("start holder.py");
    wait_until(10, || read(marker).contains("acquired"))
        .unwrap_or_else(|| panic!("holder did not acquire: {}", read(marker)));
    child
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Polls `f` every 100 ms for up to `secs`; returns the time it took.
fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        if f() {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Waits for `child` to exit; returns the signal that ended it (0 = exit).
fn wait_exit(child: &mut Child, secs: u64) -> Option<i32> {
    let mut out = None;
    wait_until(secs, || match child.try_wait() {
        Ok(Some(st)) => {
            out = Some(st.signal().unwrap_or(0));
            true
        }
        _ => false,
    });
    if out.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    out
}

fn add_lockspace(d: &TestDaemon, dir: &str, host_id: u32) {
    let r = d.client(&[
        "add_lockspace",
        "-s",
        &format!("LS:{host_id}:{dir}/ids:0"),
        "-o",
        "1",
    ]);
    assert_eq!(
        r.code,
        0,
        "add_lockspace: {}{}\ndaemon log:\n{}{}",
        r.stdout_str(),
        r.stderr,
        d.log(),
        d.client(&["log_dump"]).stdout_str()
    );
}

fn lockspace_listed(d: &TestDaemon) -> bool {
    d.client(&["gets"]).stdout_str().contains("s LS:")
}

/// Runs `scenario` against a sanlock daemon and a paxlock daemon in
/// parallel (each with its own lease files) and returns both outcomes.
fn both<T: Send + 'static>(
    extra: &'static [&'static str],
    scenario: fn(&TestDaemon, &str, &Path) -> T,
) -> (T, T) {
    let run = move |paxlock: bool| {
        let d = if paxlock {
            TestDaemon::paxlock_with("host-a", extra)
        } else {
            TestDaemon::sanlock_with("host-a", extra)
        };
        let (dir, path) = lease_files(&["R1"]);
        let out = scenario(&d, &path, &dir.path().join("marker"));
        if std::thread::panicking() {
            eprintln!("daemon log:\n{}", d.log());
        }
        out
    };
    let s = std::thread::spawn(move || run(false));
    let p = std::thread::spawn(move || run(true));
    (
        s.join().expect("sanlock run"),
        p.join().expect("paxlock run"),
    )
}

#[derive(Debug, PartialEq)]
struct LossOutcome {
    /// SIGTERMs the holder got (it notes each one) within the watch.
    terms: usize,
    /// The signal that ended it within the watch (None: still running).
    signal: Option<i32>,
    /// Once it was gone, the lockspace left the daemon's list.
    lockspace_gone: bool,
    /// Adding it again works afterwards.
    readd: i32,
}

fn freeze_past_fail(d: &TestDaemon) {
    d.signal("STOP");
    std::thread::sleep(Duration::from_secs(10)); // > 8 x io_timeout
    d.signal("CONT");
}

/// Freezes the daemon past the renewal-fail limit with a holder of LS:R1,
/// watches the holder for `watch_secs`, then ends it (if still running)
/// and checks that the lockspace goes away and can be added again.
fn loss(d: &TestDaemon, dir: &str, marker: &Path, extra: &[&str], watch_secs: u64) -> LossOutcome {
    add_lockspace(d, dir, 1);
    let mut holder = start_holder(d, dir, marker, extra);
    freeze_past_fail(d);
    let signal = wait_exit(&mut holder, watch_secs);
    let terms = read(marker).lines().filter(|l| *l == "TERM").count();
    let lockspace_gone = wait_until(10, || !lockspace_listed(d)).is_some();
    let readd = d
        .client(&[
            "add_lockspace",
            "-s",
            &format!("LS:1:{dir}/ids:0"),
            "-o",
            "1",
        ])
        .code;
    LossOutcome {
        terms,
        signal,
        lockspace_gone,
        readd,
    }
}

/// The renewal fails, then storage is back: the lockspace stays lost (a
/// one-way state), but since renewals succeed again the grace period
/// follows the last good renewal, so a holder that ignores SIGTERM gets
/// SIGTERM once a second and no SIGKILL. Once it is gone, the lockspace
/// is left and can be added again.
///
/// sanlock races here: if its once-a-second check runs before its first
/// renewal after the thaw, the grace period has already passed and the
/// holder gets SIGKILL at once (seen on a loaded machine). paxlock counts
/// the grace period from when it noticed the loss at the latest, so its
/// holder always gets its grace.
#[test]
fn lease_loss_sigterm_once_a_second_within_grace() {
    let (s, p) = both(&["-g", "4"], |d, dir, m| {
        loss(d, dir, m, &["--ignore-term"], 5)
    });
    let sanlock_graceful = s.signal.is_none() && (3..=7).contains(&s.terms);
    let sanlock_raced = s.signal == Some(9) && s.terms == 0;
    assert!(sanlock_graceful || sanlock_raced, "sanlock: {s:?}");
    assert!(s.lockspace_gone && s.readd == 0, "sanlock: {s:?}");
    assert_eq!(p.signal, None, "paxlock: {p:?}\nsanlock: {s:?}");
    assert!((3..=7).contains(&p.terms), "paxlock: {p:?}");
    assert_eq!((p.lockspace_gone, p.readd), (true, 0), "paxlock: {p:?}");
}

/// With kill_grace_seconds 0 the holder is SIGKILLed at once.
#[test]
fn lease_loss_without_grace_is_sigkill() {
    let (s, p) = both(&["-g", "0"], |d, dir, m| loss(d, dir, m, &[], 10));
    assert_eq!(s.signal, Some(9), "sanlock: {s:?}");
    assert_eq!(s.terms, 0, "sanlock: {s:?}");
    assert_eq!(p, s);
}

/// A holder that set a killpath gets its program run once, with its
/// arguments, instead of SIGTERM (sanlock may instead SIGKILL at once,
/// by the race described above).
#[test]
fn lease_loss_runs_the_killpath_once() {
    let (s, p) = both(&["-g", "4"], |d, dir, m| {
        let prog = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/killpath_note.sh");
        let out = loss(d, dir, m, &["--killpath", prog], 4);
        let note = std::fs::read_to_string(format!("{}.killpath", m.display())).unwrap_or_default();
        (out, note)
    });
    assert_eq!(
        s.0.terms, 0,
        "sanlock sent SIGTERM despite the killpath: {s:?}"
    );
    let sanlock_graceful = s.0.signal.is_none() && s.1.trim() == "arg two";
    let sanlock_raced = s.0.signal == Some(9) && s.1.is_empty();
    assert!(sanlock_graceful || sanlock_raced, "sanlock: {s:?}");
    assert_eq!(p.0.signal, None, "paxlock: {p:?}");
    assert_eq!(p.0.terms, 0, "paxlock: {p:?}");
    assert_eq!(p.1.trim(), "arg two", "paxlock: {p:?}");
    assert_eq!((p.0.lockspace_gone, p.0.readd), (true, 0), "paxlock: {p:?}");
}

/// REM_LOCKSPACE SIGKILLs the holders, then frees the host_id: the
/// delta lease is left with timestamp 0.
#[test]
fn rem_lockspace_kills_holders_and_frees_the_host_id() {
    let (s, p) = both(&[], |d, dir, m| {
        add_lockspace(d, dir, 1);
        let mut holder = start_holder(d, dir, m, &[]);
        let rem = d.client(&["rem_lockspace", "-s", &format!("LS:1:{dir}/ids:0")]);
        let signal = wait_exit(&mut holder, 10);
        let leader = paxlock(&["direct", "read_leader", "-s", &format!("LS:1:{dir}/ids:0")]);
        let ts = leader
            .stdout_str()
            .lines()
            .find(|l| l.starts_with("timestamp "))
            .map(String::from);
        let res = paxlock(&["direct", "dump", &format!("{dir}/r1")]).stdout_str();
        (
            rem.code,
            signal,
            ts,
            lockspace_listed(d),
            res.lines().count(),
        )
    });
    assert_eq!(s.0, 0, "sanlock: {s:?}");
    assert_eq!(s.1, Some(9), "sanlock: {s:?}");
    assert_eq!(s.2.as_deref(), Some("timestamp 0"), "sanlock: {s:?}");
    assert!(!s.3, "sanlock: {s:?}");
    assert_eq!(p, s, "paxlock vs sanlock");
}

/// Host B (a real sanlock daemon) requests with force the lease that a
/// process on host A (a paxlock daemon) holds: A's daemon SIGKILLs the
/// holder; then B gets the lease. And the other way round.
#[test]
fn a_forced_request_from_the_other_host_kills_the_holder() {
    for paxlock_owner in [true, false] {
        let (dir, path) = lease_files(&["R1"]);
        let (a, b) = if paxlock_owner {
            (TestDaemon::paxlock("host-a"), TestDaemon::sanlock("host-b"))
        } else {
            (TestDaemon::sanlock("host-a"), TestDaemon::paxlock("host-b"))
        };
        let ta = std::thread::spawn({
            let path = path.clone();
            move || {
                add_lockspace(&a, &path, 1);
                a
            }
        });
        add_lockspace(&b, &path, 2);
        let a = ta.join().unwrap();
        let marker = dir.path().join("marker");
        let mut holder = start_holder(&a, &path, &marker, &[]);
        let res = format!("LS:R1:{path}/r1:0");
        // The holder has lver 1: ask for lver 2.
        let r = b.client(&["request", "-r", &format!("{res}:2"), "-f", "1"]);
        assert_eq!(r.code, 0, "request: {}{}", r.stdout_str(), r.stderr);
        let signal = wait_exit(&mut holder, 30);
        assert_eq!(
            signal,
            Some(9),
            "owner {} did not SIGKILL the holder; log:\n{}",
            if paxlock_owner { "paxlock" } else { "sanlock" },
            a.log()
        );
        // The lease is free again: B's command can take it.
        let got = wait_until(20, || {
            b.client(&["command", "-r", &res, "-c", "/bin/true"]).code == 0
        });
        assert!(got.is_some(), "B could not take the released lease");
    }
}
