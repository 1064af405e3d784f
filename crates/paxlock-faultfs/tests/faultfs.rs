//! Two mounts of one backing directory (host A's view, host B's view),
//! faults injected into A only. Each mount is a `paxlock-faultfs` child
//! process; a guard unmounts it (and lets stalled I/O go) whatever
//! happens to the test.
//!
//! Skipped (with a message) where FUSE is not available; the sanlock
//! tests are skipped where sanlock is not installed.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use paxlock_faultfs::send_command;
use paxlock_io::AlignedBuf;
use rustix::fs::OFlags;
use rustix::process::{kill_process, Pid, Signal};

const BIN: &str = env!("CARGO_BIN_EXE_paxlock-faultfs");
const EIO: i32 = 5;

fn fuse_available() -> bool {
    let ok = Path::new("/dev/fuse").exists()
        && (rustix::process::geteuid().is_root() || paxlock_faultfs::have_fusermount3());
    if !ok {
        eprintln!(
            "skipping: no /dev/fuse, or not root and fusermount3 missing (apt-get install fuse3)"
        );
    }
    ok
}

fn sanlock_available() -> bool {
    let ok = Command::new("sanlock")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        eprintln!("skipping: sanlock not installed (apt-get install sanlock)");
    }
    ok
}

fn is_mounted(mnt: &Path) -> bool {
    let Ok(canon) = mnt.canonicalize() else {
        // a dead FUSE mount cannot be stat'ed: look it up by name
        return std::fs::read_to_string("/proc/self/mounts")
            .map(|m| m.contains(&format!(" {} ", mnt.display())))
            .unwrap_or(false);
    };
    std::fs::read_to_string("/proc/self/mounts")
        .map(|m| m.contains(&format!(" {} ", canon.display())))
        .unwrap_or(false)
}

fn scratch() -> tempfile::TempDir {
    // under /tmp: unix socket paths must stay short
    tempfile::Builder::new()
        .prefix("faultfs-test")
        .tempdir_in("/tmp")
        .unwrap()
}

/// Sends SIGTERM, waits up to `grace`, then SIGKILL; reaps the child.
fn stop_child(child: &mut Child, grace: Duration) {
    let _ = kill_process(Pid::from_child(child), Signal::TERM);
    let start = Instant::now();
    while start.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// One mount: a `paxlock-faultfs` process. Dropping it lets stalled I/O
/// go, stops the process and makes sure the mount is gone.
struct View {
    child: Option<Child>,
    mnt: PathBuf,
    control: Option<PathBuf>,
    log: PathBuf,
}

impl View {
    fn mount(backing: &Path, mnt: &Path, control: Option<&Path>, log: &Path) -> View {
        std::fs::create_dir_all(mnt).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("--backing").arg(backing).arg("--mount").arg(mnt);
        if let Some(c) = control {
            cmd.arg("--control").arg(c);
        }
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(File::create(log).unwrap())
            .spawn()
            .expect("spawn paxlock-faultfs");
        let mut view = View {
            child: Some(child),
            mnt: mnt.to_path_buf(),
            control: control.map(Path::to_path_buf),
            log: log.to_path_buf(),
        };
        let stdout = view.child.as_mut().unwrap().stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line.trim() == "ready" => view,
            other => panic!(
                "paxlock-faultfs did not mount {} ({other:?}): {}",
                mnt.display(),
                std::fs::read_to_string(log).unwrap_or_default()
            ),
        }
    }

    fn ctl(&self, command: &str) -> String {
        let socket = self.control.as_ref().expect("view has a control socket");
        send_command(socket, command).unwrap_or_else(|e| panic!("ctl {command}: {e:#}"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.mnt.join(name)
    }
}

impl Drop for View {
    fn drop(&mut self) {
        if let Some(c) = &self.control {
            let _ = send_command(c, "ok");
        }
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, Duration::from_secs(5));
        }
        if is_mounted(&self.mnt) {
            let _ = Command::new("fusermount3")
                .arg("-u")
                .arg("-z")
                .arg(&self.mnt)
                .status();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- {} log:\n{}",
                self.mnt.display(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// Host A's view (with a control socket) and host B's view of one
/// backing directory holding a 1 MiB `ids` and a 1 MiB `leases`.
struct Pair {
    a: View,
    b: View,
    backing: PathBuf,
    // dropped last: the mounts go before their directories
    _dir: tempfile::TempDir,
}

fn pair() -> Pair {
    let dir = scratch();
    let backing = dir.path().join("backing");
    std::fs::create_dir(&backing).unwrap();
    for f in ["ids", "leases"] {
        File::create(backing.join(f))
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
    }
    let a = View::mount(
        &backing,
        &dir.path().join("a"),
        Some(&dir.path().join("a.sock")),
        &dir.path().join("a.log"),
    );
    let b = View::mount(
        &backing,
        &dir.path().join("b"),
        None,
        &dir.path().join("b.log"),
    );
    Pair {
        a,
        b,
        backing,
        _dir: dir,
    }
}

fn open_direct(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags((OFlags::DIRECT | OFlags::DSYNC).bits() as i32)
        .open(path)
}

fn read_direct(path: &Path, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let f = open_direct(path)?;
    let mut buf = AlignedBuf::zeroed(len);
    f.read_exact_at(buf.as_mut_slice(), offset)?;
    Ok(buf.into_vec())
}

fn write_direct(path: &Path, offset: u64, data: &[u8]) -> io::Result<()> {
    let f = open_direct(path)?;
    f.write_all_at(AlignedBuf::from_slice(data).as_slice(), offset)
}

/// Runs `f` on a thread; its result arrives on the receiver.
fn in_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[test]
fn views_are_coherent_with_o_direct() {
    if !fuse_available() {
        return;
    }
    let p = pair();
    let t = Instant::now();
    // A writes, B reads, and back; 512- and 4096-aligned
    for (i, (offset, len)) in [
        (0u64, 512usize),
        (8192, 4096),
        (512 * 7, 512 * 3),
        (65536, 1 << 18),
    ]
    .into_iter()
    .enumerate()
    {
        let len = len.min((1 << 20) - offset as usize);
        let data = pattern(i as u8, len);
        write_direct(&p.a.path("ids"), offset, &data).unwrap();
        assert_eq!(read_direct(&p.b.path("ids"), offset, len).unwrap(), data);
        let back = pattern(i as u8 + 100, len);
        write_direct(&p.b.path("ids"), offset, &back).unwrap();
        assert_eq!(read_direct(&p.a.path("ids"), offset, len).unwrap(), back);
    }
    // a 1 MiB read through one view, as sanlock reads a whole lockspace
    let whole = read_direct(&p.a.path("ids"), 0, 1 << 20).unwrap();
    assert_eq!(whole, std::fs::read(p.backing.join("ids")).unwrap());

    // files created, grown, truncated and removed through one view are
    // seen so through the other at once
    std::fs::write(p.a.path("new"), b"hello").unwrap();
    assert_eq!(std::fs::read(p.b.path("new")).unwrap(), b"hello");
    open_direct(&p.b.path("new"))
        .unwrap()
        .set_len(4096)
        .unwrap();
    assert_eq!(std::fs::metadata(p.a.path("new")).unwrap().len(), 4096);
    let names: Vec<_> = std::fs::read_dir(&p.b.mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.contains(&"new".to_string()), "{names:?}");
    std::fs::remove_file(p.a.path("new")).unwrap();
    assert!(!p.b.path("new").exists());
    assert!(!p.backing.join("new").exists());
    eprintln!("coherence checks took {:?}", t.elapsed());
}

#[test]
fn stall_blocks_one_view_only() {
    if !fuse_available() {
        return;
    }
    let p = pair();
    let data = pattern(7, 4096);
    write_direct(&p.a.path("ids"), 4096, &data).unwrap();

    assert!(p.a.ctl("stall").starts_with("ok: mode=stall"));
    let stalled_at = Instant::now();
    let path_a = p.a.path("ids");
    let read_a = in_thread(move || read_direct(&path_a, 4096, 4096));
    // B is healthy meanwhile, reads and writes
    let t = Instant::now();
    for _ in 0..10 {
        assert_eq!(read_direct(&p.b.path("ids"), 4096, 4096).unwrap(), data);
        write_direct(&p.b.path("leases"), 0, &data).unwrap();
    }
    let b_took = t.elapsed();
    assert!(
        matches!(
            read_a.recv_timeout(Duration::from_secs(1)),
            Err(mpsc::RecvTimeoutError::Timeout)
        ),
        "A's read completed while A was stalled"
    );
    // the control socket and the CLI still work; the read waits in the fs
    let status = Command::new(BIN)
        .arg("ctl")
        .arg(p.a.control.as_ref().unwrap())
        .arg("status")
        .output()
        .unwrap();
    assert!(status.status.success());
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        status.contains("mode=stall") && status.contains("stalled=1"),
        "{status}"
    );
    // other operations of A (lookup, getattr) are not stalled
    assert_eq!(std::fs::metadata(p.a.path("ids")).unwrap().len(), 1 << 20);

    let released = Instant::now();
    p.a.ctl("ok");
    let got = read_a
        .recv_timeout(Duration::from_secs(5))
        .expect("A's read completes after ok");
    assert_eq!(got.unwrap(), data);
    eprintln!(
        "stall: A's read blocked {:?}, done {:?} after ok; 10 reads+writes via B took {b_took:?}",
        stalled_at.elapsed(),
        released.elapsed()
    );
}

#[test]
fn eio_fails_one_view_only() {
    if !fuse_available() {
        return;
    }
    let p = pair();
    let data = pattern(3, 512);
    p.a.ctl("eio");
    let e = read_direct(&p.a.path("ids"), 0, 512).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(EIO), "{e}");
    let e = write_direct(&p.a.path("ids"), 0, &data).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(EIO), "{e}");
    write_direct(&p.b.path("ids"), 0, &data).unwrap();
    assert_eq!(read_direct(&p.b.path("ids"), 0, 512).unwrap(), data);

    p.a.ctl("eio-writes");
    assert_eq!(read_direct(&p.a.path("ids"), 0, 512).unwrap(), data);
    let e = write_direct(&p.a.path("ids"), 0, &data).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(EIO), "{e}");

    p.a.ctl("eio-reads");
    write_direct(&p.a.path("ids"), 512, &data).unwrap();
    let e = read_direct(&p.a.path("ids"), 512, 512).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(EIO), "{e}");

    // a rule for one file: ids fails, leases works
    p.a.ctl("ok");
    let status = p.a.ctl("eio ids");
    assert!(status.contains("file[ids]=eio"), "{status}");
    assert!(read_direct(&p.a.path("ids"), 0, 512).is_err());
    write_direct(&p.a.path("leases"), 0, &data).unwrap();
    assert_eq!(read_direct(&p.a.path("leases"), 0, 512).unwrap(), data);

    p.a.ctl("ok");
    assert_eq!(read_direct(&p.a.path("ids"), 0, 512).unwrap(), data);
    let status = p.a.ctl("status");
    assert!(status.contains("failed=5"), "{status}");
}

#[test]
fn delay_slows_one_view() {
    if !fuse_available() {
        return;
    }
    let p = pair();
    p.a.ctl("delay 300");
    let t = Instant::now();
    read_direct(&p.a.path("ids"), 0, 4096).unwrap();
    let a_read = t.elapsed();
    let t = Instant::now();
    write_direct(&p.a.path("ids"), 0, &pattern(1, 4096)).unwrap();
    let a_write = t.elapsed();
    let t = Instant::now();
    read_direct(&p.b.path("ids"), 0, 4096).unwrap();
    let b_read = t.elapsed();
    assert!(a_read >= Duration::from_millis(300), "{a_read:?}");
    assert!(a_write >= Duration::from_millis(300), "{a_write:?}");
    assert!(b_read < a_read, "B {b_read:?}, A {a_read:?}");
    p.a.ctl("ok");
    let t = Instant::now();
    read_direct(&p.a.path("ids"), 0, 4096).unwrap();
    let a_after = t.elapsed();
    assert!(a_after < Duration::from_millis(300), "{a_after:?}");
    eprintln!("delay 300: A read {a_read:?}, A write {a_write:?}, B read {b_read:?}, A after ok {a_after:?}");
}

#[test]
fn ctl_reports_bad_commands_and_mount_errors() {
    if !fuse_available() {
        return;
    }
    let p = pair();
    let out = Command::new(BIN)
        .arg("ctl")
        .arg(p.a.control.as_ref().unwrap())
        .args(["delay", "soon"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a number of milliseconds"), "{err}");
    // one connection, many commands, one reply line each
    let mut s = std::os::unix::net::UnixStream::connect(p.a.control.as_ref().unwrap()).unwrap();
    use std::io::Write;
    s.write_all(b"bogus\nstatus\n\ndelay 5 ids\n").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let lines: Vec<String> = BufReader::new(s).lines().map(Result::unwrap).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[0].starts_with("error: unknown command"), "{lines:?}");
    assert!(lines[1].starts_with("ok: mode=ok"), "{lines:?}");
    assert!(lines[2].starts_with("error: empty command"), "{lines:?}");
    assert!(lines[3].contains("file[ids]=delay 5"), "{lines:?}");
    // a missing socket, a missing backing dir: clear errors
    let out = Command::new(BIN)
        .args(["ctl", "/nonexistent/sock", "ok"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("connecting to control socket"));
    let out = Command::new(BIN)
        .args(["--backing", "/nonexistent/dir", "--mount"])
        .arg(&p.b.mnt)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("backing directory /nonexistent/dir"));
}

fn sanlock(args: &[&str], env: &[(&str, &Path)]) -> (bool, String) {
    let mut cmd = Command::new("sanlock");
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run sanlock");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn sanlock_init_through_one_view_is_seen_through_the_other() {
    if !fuse_available() || !sanlock_available() {
        return;
    }
    let p = pair();
    let t = Instant::now();
    let ls = format!("LS:0:{}:0", p.a.path("ids").display());
    let (ok, out) = sanlock(&["direct", "init", "-s", &ls, "-o", "1"], &[]);
    assert!(ok && out.contains("init done 0"), "{out}");
    let res = format!("LS:res1:{}:0", p.a.path("leases").display());
    let (ok, out) = sanlock(&["direct", "init", "-r", &res], &[]);
    assert!(ok && out.contains("init done 0"), "{out}");
    let init_took = t.elapsed();

    let t = Instant::now();
    let ls_b = format!("LS:1:{}:0", p.b.path("ids").display());
    let (ok, out) = sanlock(&["direct", "read_leader", "-s", &ls_b], &[]);
    assert!(ok, "{out}");
    assert!(out.contains("magic 0x12212010"), "{out}");
    assert!(out.contains("space_name LS\n"), "{out}");
    assert!(out.contains("io_timeout 1\n"), "{out}");
    let p_b = p.b.path("leases");
    let (ok, out) = sanlock(&["direct", "dump", p_b.to_str().unwrap()], &[]);
    assert!(ok, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("00000000") && l.contains(" LS ") && l.contains(" res1 ")),
        "{out}"
    );
    eprintln!(
        "sanlock direct init via A: {init_took:?}; read_leader+dump via B: {:?}",
        t.elapsed()
    );

    // with A failing, sanlock through A fails, through B works
    p.a.ctl("eio");
    let ls_a = format!("LS:1:{}:0", p.a.path("ids").display());
    let (ok, out) = sanlock(&["direct", "read_leader", "-s", &ls_a], &[]);
    assert!(!ok || !out.contains("read_leader done 0"), "{out}");
    let (ok, _) = sanlock(&["direct", "read_leader", "-s", &ls_b], &[]);
    assert!(ok);
}

/// A sanlock daemon (no watchdog, unprivileged, private run dir); stopped
/// by its pid, after letting its storage go, when dropped.
struct Daemon {
    child: Child,
    run_dir: PathBuf,
    release: Option<PathBuf>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(c) = &self.release {
            let _ = send_command(c, "ok");
        }
        let _ = sanlock(
            &["client", "shutdown", "-f", "1"],
            &[("SANLOCK_RUN_DIR", &self.run_dir)],
        );
        stop_child(&mut self.child, Duration::from_secs(10));
    }
}

/// Host 1's delta lease timestamp, read through `view` (the leader
/// record's `timestamp` is the u64 at byte 152 of the host's sector).
fn host1_timestamp(view: &View) -> u64 {
    let s = read_direct(&view.path("ids"), 0, 512).unwrap();
    u64::from_le_bytes(s[152..160].try_into().unwrap())
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    t.elapsed()
}

#[test]
fn sanlock_daemon_renewals_stop_when_its_view_stalls() {
    if !fuse_available() || !sanlock_available() {
        return;
    }
    let p = pair();
    let run = scratch();
    let env = [("SANLOCK_RUN_DIR", run.path())];
    let ls = format!("LS:0:{}:0", p.a.path("ids").display());
    let (ok, out) = sanlock(&["direct", "init", "-s", &ls, "-o", "1"], &[]);
    assert!(ok, "{out}");

    let log = File::create(run.path().join("daemon.log")).unwrap();
    let child = Command::new("sanlock")
        .args([
            "daemon", "-D", "-w", "0", "-l", "0", "-U", "root", "-G", "root", "-e", "hostA",
        ])
        .env("SANLOCK_RUN_DIR", run.path())
        .env("SANLOCK_PRIVILEGED", "0")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let _daemon = Daemon {
        child,
        run_dir: run.path().to_path_buf(),
        release: p.a.control.clone(),
    };
    wait_for("sanlock daemon up", Duration::from_secs(10), || {
        sanlock(&["client", "status"], &env).0
    });

    let t = Instant::now();
    let ls = format!("LS:1:{}:0", p.a.path("ids").display());
    let (ok, out) = sanlock(&["client", "add_lockspace", "-s", &ls, "-o", "1"], &env);
    assert!(ok && out.contains("done 0"), "{out}");
    let add_took = t.elapsed();
    // renewals (every 2 s with io_timeout 1) are seen through B
    let first = host1_timestamp(&p.b);
    assert!(first > 0);
    let renew_seen = wait_for("a renewal seen via B", Duration::from_secs(6), || {
        host1_timestamp(&p.b) > first
    });

    p.a.ctl("stall");
    let stalled_at = Instant::now();
    // a renewal write already under way may still land
    std::thread::sleep(Duration::from_millis(1000));
    let frozen = host1_timestamp(&p.b);
    let failed_after = wait_for(
        "sanlock reports the renewal failure",
        Duration::from_secs(20),
        || {
            assert_eq!(
                host1_timestamp(&p.b),
                frozen,
                "host 1 renewed through a stalled view"
            );
            let (_, dump) = sanlock(&["client", "log_dump"], &env);
            dump.contains("check_our_lease failed")
        },
    ) + Duration::from_millis(1000);
    let (_, status) = sanlock(&["client", "status"], &env);
    let (_, dump) = sanlock(&["client", "log_dump"], &env);
    assert!(dump.contains("renewal error"), "{dump}");
    let a_status = p.a.ctl("status");
    assert!(!a_status.contains("stalled=0"), "{a_status}");
    // the failure comes 8 s (8 * io_timeout) after the last renewal, which
    // was at most 2 s before the stall
    assert!(failed_after >= Duration::from_secs(5), "{failed_after:?}");
    assert_eq!(host1_timestamp(&p.b), frozen);

    p.a.ctl("ok");
    let released = Instant::now();
    // the stalled I/Os complete, the failed lockspace goes away
    let gone_after = wait_for(
        "the failed lockspace is freed",
        Duration::from_secs(20),
        || {
            let (_, s) = sanlock(&["client", "status"], &env);
            !s.contains("s LS:1:")
        },
    );
    wait_for("stalled I/Os done", Duration::from_secs(5), || {
        p.a.ctl("status").contains("stalled=0")
    });
    eprintln!(
        "sanlock daemon: add_lockspace {add_took:?}, renewal seen via B {renew_seen:?} later; \
         stall -> check_our_lease failed after {failed_after:?} (status then: {:?}); \
         ok -> lockspace freed after {gone_after:?}; total stall {:?}",
        status.lines().find(|l| l.starts_with("s ")).unwrap_or(""),
        released.duration_since(stalled_at)
    );
}

#[test]
fn paxlock_io_sees_a_stalled_view_time_out_and_a_failing_one_fail() {
    use paxlock_io::{Access, Disk, IoError};
    if !fuse_available() {
        return;
    }
    let p = pair();
    let disk_a = Disk::open(&p.a.path("ids"), Access::ReadWrite).unwrap();
    let disk_b = Disk::open(&p.b.path("ids"), Access::ReadWrite).unwrap();
    let data = pattern(9, 512);
    disk_a
        .write_at(1024, &data, Duration::from_secs(5))
        .unwrap();
    let got = disk_b.read_at(1024, 512, Duration::from_secs(5)).unwrap();
    assert_eq!(got.as_slice(), &data[..]);

    p.a.ctl("stall");
    let t = Instant::now();
    let e = disk_a
        .read_at(0, 4096, Duration::from_millis(500))
        .unwrap_err();
    let timed_out = t.elapsed();
    assert!(matches!(e, IoError::Timeout { .. }), "{e}");
    assert_eq!(e.code(), -202);
    // B unaffected, A's stuck read still held in the filesystem
    disk_b.read_at(0, 4096, Duration::from_secs(5)).unwrap();
    assert!(p.a.ctl("status").contains("stalled=1"));

    p.a.ctl("eio");
    wait_for("the stalled read failed", Duration::from_secs(5), || {
        p.a.ctl("status").contains("stalled=0")
    });
    let e = disk_a.read_at(0, 4096, Duration::from_secs(5)).unwrap_err();
    assert_eq!(e.code(), -EIO, "{e}");
    let e = disk_a
        .write_at(0, &data, Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(e.code(), -EIO, "{e}");

    p.a.ctl("ok");
    disk_a.write_at(0, &data, Duration::from_secs(5)).unwrap();
    let got = disk_b.read_at(0, 512, Duration::from_secs(5)).unwrap();
    assert_eq!(got.as_slice(), &data[..]);
    eprintln!("paxlock-io on a stalled view: Timeout after {timed_out:?}");
}

#[test]
fn sigterm_while_stalled_lets_io_finish_and_unmounts() {
    if !fuse_available() {
        return;
    }
    let mut p = pair();
    let data = pattern(5, 4096);
    write_direct(&p.a.path("ids"), 0, &data).unwrap();
    p.a.ctl("stall");
    let path_a = p.a.path("ids");
    let read_a = in_thread(move || read_direct(&path_a, 0, 4096));
    wait_for(
        "the read reached the stalled view",
        Duration::from_secs(5),
        || p.a.ctl("status").contains("stalled=1"),
    );
    let mut child = p.a.child.take().unwrap();
    let t = Instant::now();
    kill_process(Pid::from_child(&child), Signal::TERM).unwrap();
    let got = read_a
        .recv_timeout(Duration::from_secs(5))
        .expect("the stalled read finishes on SIGTERM");
    assert_eq!(got.unwrap(), data);
    let exited = wait_for("paxlock-faultfs exits", Duration::from_secs(10), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    assert!(!is_mounted(&p.a.mnt));
    assert!(!p.a.control.as_ref().unwrap().exists());
    eprintln!(
        "SIGTERM while stalled: read done, exited after {:?}",
        exited.max(t.elapsed())
    );
}
