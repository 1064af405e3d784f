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

/// A child killed and reaped on drop unless taken.
struct Reap(Option<Child>);

impl Reap {
    fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    fn take(&mut self) -> Child {
        self.0.take().expect("taken once")
    }
}

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Paxlock,
    Sanlock,
}

/// sanlock's libwdmd always connects to this socket.
const WDMD_SOCK: &str = "/run/wdmd/wdmd.sock";

/// Joins `lockspace` with io_timeout 1. A join that timed out (-202) is
/// tried again: with io_timeout 1 and several tests on two busy cores an
/// I/O through FUSE can take longer than a second; that is not what these
/// tests are about.
fn join(run_dir: &Path, lockspace: &str, who: &str) {
    let mut last = String::new();
    for _ in 0..3 {
        let r = client(run_dir, &["add_lockspace", "-s", lockspace, "-o", "1"]);
        if r.code == 0 {
            return;
        }
        last = format!("{}{}", r.stdout_str(), r.stderr);
        if !last.contains("-202") {
            break;
        }
    }
    panic!("{who} add_lockspace: {last}");
}

/// Host A: wdmd with the test device, then the daemon (its own process
/// group) joined as host_id 1, then the VM holding LS:R1 in that group.
/// A paxlock A uses a wdmd socket of its own and the fire timeout of its
/// configuration; a sanlock A (3.8.5 insists on 60 s) the fixed socket.
fn start_a(kind: Kind, dir: &str, conf: &Path, wft: u64) -> HostA {
    start_a_with(kind, dir, conf, wft, &["--ignore-term"])
}

/// `start_a`, with the VM's holder.py options.
fn start_a_with(kind: Kind, dir: &str, conf: &Path, wft: u64, vm_opts: &[&str]) -> HostA {
    let run_dir = tempfile::Builder::new()
        .prefix("pxa")
        .tempdir_in("/tmp")
        .unwrap();
    let wd_sock = match kind {
        Kind::Paxlock => run_dir.path().join("wdmd.sock"),
        Kind::Sanlock => PathBuf::from(WDMD_SOCK),
    };
    let daemon = match kind {
        Kind::Paxlock => Command::new(env!("CARGO_BIN_EXE_paxlock"))
            .args(["daemon", "-w", "1", "-e", "host-a"])
            .env("SANLOCK_RUN_DIR", run_dir.path())
            .env("PAXLOCK_CONFIG", conf)
            .env("PAXLOCK_WDMD_SOCKET", &wd_sock)
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        Kind::Sanlock => Command::new("sanlock")
            .args([
                "daemon", "-D", "-w", "1", "-l", "0", "-U", "root", "-G", "root",
            ])
            .args(["-L", "-1", "-S", "-1", "-e", "host-a"])
            .env("SANLOCK_RUN_DIR", run_dir.path())
            .env("SANLOCK_PRIVILEGED", "0")
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    };
    // Until HostA owns them, a panic (a join that fails) must not leave
    // the daemon and its wdmd running: a leftover wdmd on the fixed socket
    // would make later sanlock-as-A tests skip.
    let mut daemon = Reap(Some(daemon));
    let pgid = daemon.id();
    if let Some(parent) = wd_sock.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let mut wdmd = Reap(Some(
        Command::new(env!("CARGO_BIN_EXE_paxlock"))
            .args(["wdmd", "daemon", "--socket"])
            .arg(&wd_sock)
            .args(["--test-fire", &format!("pgid:{pgid}")])
            .args(["--fire-timeout", &wft.to_string(), "--test-interval", "1"])
            .arg("--test-log")
            .arg(run_dir.path().join("fire.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    for _ in 0..100 {
        if wd_sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_up(run_dir.path());
    join(run_dir.path(), &format!("LS:1:{dir}/ids:0"), "A");
    let marker = run_dir.path().join("vm");
    let mut holder = Reap(Some(
        Command::new("/usr/bin/python3")
            .arg(HOLDER)
            .arg(format!("{dir}/r1"))
            .arg(&marker)
            .args(vm_opts)
            .env("SANLOCK_RUN_DIR", run_dir.path())
            .process_group(pgid as i32)
            .spawn()
            .unwrap(),
    ));
    for _ in 0..100 {
        if std::fs::read_to_string(&marker)
            .unwrap_or_default()
            .contains("acquired")
        {
            return HostA {
                daemon: daemon.take(),
                holder: holder.take(),
                wdmd: wdmd.take(),
                run_dir,
            };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("A's VM did not get its lease");
}

/// Host B: a daemon without watchdog (it is not faulted).
fn start_b(kind: Kind, run_dir: &Path, conf: &Path) -> Child {
    match kind {
        Kind::Paxlock => Command::new(env!("CARGO_BIN_EXE_paxlock"))
            .args(["daemon", "-w", "0", "-e", "host-b"])
            .env("SANLOCK_RUN_DIR", run_dir)
            .env("PAXLOCK_CONFIG", conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        Kind::Sanlock => Command::new("sanlock")
            .args([
                "daemon", "-D", "-w", "0", "-l", "0", "-U", "root", "-G", "root",
            ])
            .args(["-L", "-1", "-S", "-1", "-e", "host-b"])
            .env("SANLOCK_RUN_DIR", run_dir)
            .env("SANLOCK_PRIVILEGED", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    }
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
fn scenario(fault: &str, a_kind: Kind, b_kind: Kind, wft: u64) -> Outcome {
    let (dir, d) = lease_files(&["R1"]);
    // Every host must share the watchdog fire timeout.
    let conf = dir.path().join("sanlock.conf");
    std::fs::write(&conf, format!("watchdog_fire_timeout = {wft}\n")).unwrap();
    let mut a = start_a(a_kind, &d, &conf, wft);
    let b_run = tempfile::Builder::new()
        .prefix("pxb")
        .tempdir_in("/tmp")
        .unwrap();
    let mut b = start_b(b_kind, b_run.path(), &conf);
    wait_up(b_run.path());
    join(b_run.path(), &format!("LS:2:{d}/ids:0"), "B");
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
    while t0.elapsed() < Duration::from_secs(120) {
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

/// `wft`: every host's watchdog fire timeout.
fn check(what: &str, o: &Outcome, wft: u64) {
    eprintln!("{what}: {o:?}");
    // The watchdog fires at most id_renewal_fail + wft after the last
    // renewal (which was up to 2 io_timeouts before the fault) and not
    // before the renewal would have failed.
    assert!(o.vm_dead_after >= Duration::from_secs(5), "{what}: {o:?}");
    assert!(
        o.vm_dead_after <= Duration::from_secs(8 + wft + 3),
        "{what}: {o:?}"
    );
    // B waits host_dead_seconds (8 + wft) after it last saw A renew:
    // never less than about that minus 2 io_timeouts after the fault.
    assert!(
        o.b_got_it_after >= Duration::from_secs(8 + wft - 3),
        "{what}: {o:?}"
    );
}

#[test]
fn a_frozen_daemon_is_fenced_before_the_other_host_takes_its_lease() {
    let o = scenario("STOP", Kind::Paxlock, Kind::Paxlock, WFT);
    check("paxlock A SIGSTOP, paxlock B", &o, WFT);
}

#[test]
fn a_killed_daemon_is_fenced_before_the_other_host_takes_its_lease() {
    let o = scenario("KILL", Kind::Paxlock, Kind::Paxlock, WFT);
    check("paxlock A SIGKILL, paxlock B", &o, WFT);
}

/// Runs `f` (a scenario with sanlock as host A) holding the fixed wdmd
/// socket: None (skipped) when a wdmd that is not ours answers there.
fn with_fixed_wdmd<T>(f: impl FnOnce() -> T) -> Option<T> {
    let _lock = fixed_wdmd_socket()?;
    let out = f();
    let _ = std::fs::remove_file(WDMD_SOCK);
    Some(out)
}

/// Takes the fixed wdmd socket for a test that needs it (the paxlock-wd
/// real-sanlock test takes the same lock); None (skip) when a wdmd that
/// is not ours answers there.
fn fixed_wdmd_socket() -> Option<std::fs::File> {
    let lock = std::fs::File::create("/tmp/paxlock-wd-real-sanlock.lock").unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    if std::os::unix::net::UnixStream::connect(WDMD_SOCK).is_ok() {
        eprintln!("skipped: a wdmd already runs at {WDMD_SOCK}");
        return None;
    }
    let _ = std::fs::remove_file(WDMD_SOCK);
    Some(lock)
}

/// Mixed: host A is paxlock, B is the real sanlock (fire timeout 60 s, as
/// sanlock 3.8.5 insists), which takes the lease after its host_dead.
#[test]
fn a_frozen_paxlock_host_is_fenced_before_a_sanlock_host_takes_its_lease() {
    let o = scenario("STOP", Kind::Paxlock, Kind::Sanlock, 60);
    check("paxlock A SIGSTOP, sanlock B", &o, 60);
}

/// Mixed, the other way: host A is the real sanlock with `-w 1`, its wdmd
/// is `paxlock wdmd` with the test device; B is paxlock.
#[test]
fn a_frozen_sanlock_host_is_fenced_before_a_paxlock_host_takes_its_lease() {
    let Some(o) = with_fixed_wdmd(|| scenario("STOP", Kind::Sanlock, Kind::Paxlock, 60)) else {
        return;
    };
    check("sanlock A SIGSTOP, paxlock B", &o, 60);
}

/// The reference: the same scenario with sanlock on both hosts (A on
/// `paxlock wdmd`'s test watchdog), for the times to compare with. It
/// tests sanlock, not paxlock, so it runs only with PAXLOCK_REFERENCE=1
/// (docs/fencing.md has its figures).
#[test]
fn reference_a_frozen_sanlock_host_and_a_sanlock_taker() {
    if std::env::var_os("PAXLOCK_REFERENCE").is_none() {
        eprintln!("skipped: set PAXLOCK_REFERENCE=1 to time sanlock alone");
        return;
    }
    let Some(o) = with_fixed_wdmd(|| scenario("STOP", Kind::Sanlock, Kind::Sanlock, 60)) else {
        return;
    };
    check("sanlock A SIGSTOP, sanlock B", &o, 60);
}

/// Host A's view of the shared directory through `paxlock faultfs`.
struct FaultView {
    child: Child,
    mnt: PathBuf,
    control: PathBuf,
}

impl FaultView {
    fn mount(backing: &Path, at: &Path) -> FaultView {
        let mnt = at.join("mnt");
        std::fs::create_dir_all(&mnt).unwrap();
        let control = at.join("faultfs.sock");
        let mut child = Command::new(env!("CARGO_BIN_EXE_paxlock"))
            .arg("faultfs")
            .arg("--backing")
            .arg(backing)
            .arg("--mount")
            .arg(&mnt)
            .arg("--control")
            .arg(&control)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        assert!(line.contains("ready"), "faultfs did not mount: {line:?}");
        FaultView {
            child,
            mnt,
            control,
        }
    }

    fn ctl(&self, cmd: &str) {
        let out = Command::new(env!("CARGO_BIN_EXE_paxlock"))
            .args(["faultfs", "ctl"])
            .arg(&self.control)
            .args(cmd.split(' '))
            .output()
            .unwrap();
        assert!(out.status.success(), "faultfs ctl {cmd}: {out:?}");
    }
}

impl Drop for FaultView {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_paxlock"))
            .args(["faultfs", "ctl"])
            .arg(&self.control)
            .arg("ok")
            .output();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = Command::new("fusermount3")
            .arg("-uz")
            .arg(&self.mnt)
            .status();
    }
}

#[derive(Debug)]
struct StallOutcome {
    /// From the stall to A's VM seen dead (None: still running).
    vm_dead_after: Option<Duration>,
    /// From the stall to B holding the lease (None: refused throughout).
    b_got_it_after: Option<Duration>,
    /// The test watchdog fired (A's whole group reset).
    fired: bool,
}

/// Host A (paxlock, `-w 1`, test watchdog) reaches the shared files only
/// through a faultfs view; B reaches them directly. A's storage stalls
/// for `stall` (for good if None); B tries to take the lease for `watch`.
fn stall_scenario(stall: Option<Duration>, watch: Duration) -> StallOutcome {
    stall_scenario_of(Kind::Paxlock, Kind::Paxlock, WFT, stall, watch)
}

/// `stall_scenario` with the kinds of host A and B and the shared fire
/// timeout.
fn stall_scenario_of(
    a_kind: Kind,
    b_kind: Kind,
    wft: u64,
    stall: Option<Duration>,
    watch: Duration,
) -> StallOutcome {
    let (dir, d) = lease_files(&["R1"]);
    let conf = dir.path().join("sanlock.conf");
    std::fs::write(&conf, format!("watchdog_fire_timeout = {wft}\n")).unwrap();
    let view_dir = tempfile::Builder::new()
        .prefix("pxv")
        .tempdir_in("/tmp")
        .unwrap();
    let view = FaultView::mount(dir.path(), view_dir.path());
    let a_path = view.mnt.display().to_string();
    // A's VM exits on SIGTERM (no --ignore-term): recovery can end it.
    let mut a = start_a_with(a_kind, &a_path, &conf, wft, &[]);
    let b_run = tempfile::Builder::new()
        .prefix("pxb")
        .tempdir_in("/tmp")
        .unwrap();
    let mut b = start_b(b_kind, b_run.path(), &conf);
    wait_up(b_run.path());
    join(b_run.path(), &format!("LS:2:{d}/ids:0"), "B");
    let lease = format!("LS:R1:{d}/r1:0");

    let t0 = Instant::now();
    view.ctl("stall");
    // B tries in the background (an acquire may wait for host_dead).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let taker = {
        let (b_dir, lease, stop) = (b_run.path().to_path_buf(), lease.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = client(&b_dir, &["command", "-r", &lease, "-c", "/bin/true"]);
                if r.code == 0 {
                    return Some(Instant::now());
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            None
        })
    };
    let mut resumed = false;
    let mut vm_dead = None;
    while t0.elapsed() < watch && !taker.is_finished() {
        if let Some(s) = stall {
            if !resumed && t0.elapsed() >= s {
                view.ctl("ok");
                resumed = true;
            }
        }
        if vm_dead.is_none() && a.holder.try_wait().unwrap().is_some() {
            vm_dead = Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let b_at = taker.join().expect("B's taker");
    if let Some(b_at) = b_at {
        // The observer: B holds the lease; A's VM must have been gone.
        let dead = vm_dead.unwrap_or_else(|| {
            panic!(
                "B got the lease {:?} after the stall while A's VM still runs",
                b_at - t0
            )
        });
        assert!(
            dead < b_at - t0,
            "overlap: B at {:?}, VM dead at {dead:?}",
            b_at - t0
        );
    }
    let b_got = b_at.map(|t| t - t0);
    view.ctl("ok");
    let fired = std::fs::read_to_string(a.run_dir.path().join("fire.log"))
        .unwrap_or_default()
        .contains("FIRE");
    let _ = b.kill();
    let _ = b.wait();
    drop(a);
    drop(view);
    StallOutcome {
        vm_dead_after: vm_dead,
        b_got_it_after: b_got,
        fired,
    }
}

/// (c) A's storage stalls for good: A's daemon sees its renewals fail
/// (8 s), SIGTERMs its VM, which exits; with no holder left the watchdog
/// is disarmed, so A itself is not reset. B takes the lease only after
/// host_dead_seconds.
#[test]
fn a_stalled_host_kills_its_vm_and_the_other_host_takes_over_after_host_dead() {
    let o = stall_scenario(None, Duration::from_secs(30));
    eprintln!("storage stall: {o:?}");
    let vm = o.vm_dead_after.expect("A's VM was not stopped");
    assert!(
        vm >= Duration::from_secs(5) && vm <= Duration::from_secs(12),
        "{o:?}"
    );
    let b = o.b_got_it_after.expect("B never got the lease");
    assert!(b >= Duration::from_secs(8 + WFT - 3), "{o:?}");
    assert!(
        !o.fired,
        "the watchdog fired although the VM had stopped: {o:?}"
    );
}

/// (d) A's storage stalls for 3 s (less than the renewal-fail limit) and
/// recovers: nothing is killed, nothing is taken over.
#[test]
fn a_short_stall_kills_nothing_and_nothing_is_taken_over() {
    let o = stall_scenario(Some(Duration::from_secs(3)), Duration::from_secs(25));
    eprintln!("short stall: {o:?}");
    assert_eq!(o.vm_dead_after, None, "{o:?}");
    assert_eq!(o.b_got_it_after, None, "{o:?}");
    assert!(!o.fired, "{o:?}");
}

fn check_stall(what: &str, o: &StallOutcome, wft: u64) {
    eprintln!("{what}: {o:?}");
    let vm = o.vm_dead_after.expect("A's VM was not stopped");
    assert!(
        vm >= Duration::from_secs(5) && vm <= Duration::from_secs(12),
        "{what}: {o:?}"
    );
    let b = o.b_got_it_after.expect("B never got the lease");
    assert!(b >= Duration::from_secs(8 + wft - 3), "{what}: {o:?}");
    assert!(
        !o.fired,
        "{what}: the watchdog fired although the VM had stopped: {o:?}"
    );
}

/// (b) with a sanlock host as B.
#[test]
fn a_killed_paxlock_host_is_fenced_before_a_sanlock_host_takes_its_lease() {
    let o = scenario("KILL", Kind::Paxlock, Kind::Sanlock, 60);
    check("paxlock A SIGKILL, sanlock B", &o, 60);
}

/// (b) with sanlock as A.
#[test]
fn a_killed_sanlock_host_is_fenced_before_a_paxlock_host_takes_its_lease() {
    let Some(o) = with_fixed_wdmd(|| scenario("KILL", Kind::Sanlock, Kind::Paxlock, 60)) else {
        return;
    };
    check("sanlock A SIGKILL, paxlock B", &o, 60);
}

/// (c) with a sanlock host as B.
#[test]
fn a_stalled_paxlock_host_kills_its_vm_before_a_sanlock_host_takes_over() {
    let o = stall_scenario_of(
        Kind::Paxlock,
        Kind::Sanlock,
        60,
        None,
        Duration::from_secs(80),
    );
    check_stall("paxlock A stalled, sanlock B", &o, 60);
}

/// (c) with sanlock as A.
#[test]
fn a_stalled_sanlock_host_kills_its_vm_before_a_paxlock_host_takes_over() {
    let Some(o) = with_fixed_wdmd(|| {
        stall_scenario_of(
            Kind::Sanlock,
            Kind::Paxlock,
            60,
            None,
            Duration::from_secs(80),
        )
    }) else {
        return;
    };
    check_stall("sanlock A stalled, paxlock B", &o, 60);
}

/// (d) with a sanlock host as B.
#[test]
fn a_short_stall_of_a_paxlock_host_lets_a_sanlock_host_take_nothing() {
    let o = stall_scenario_of(
        Kind::Paxlock,
        Kind::Sanlock,
        60,
        Some(Duration::from_secs(3)),
        Duration::from_secs(25),
    );
    eprintln!("paxlock A short stall, sanlock B: {o:?}");
    assert_eq!(
        (o.vm_dead_after, o.b_got_it_after, o.fired),
        (None, None, false),
        "{o:?}"
    );
}
