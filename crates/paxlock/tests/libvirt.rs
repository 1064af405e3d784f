//! libvirt end to end, with paxlock as the lock daemon.
//!
//! Two "hosts" on one machine: two embedded libvirt QEMU drivers
//! (`virsh -c qemu:///embed?root=DIR`, each with its own root, i.e. its own
//! qemu.conf, qemu-sanlock.conf, run and state dirs), each using libvirt's
//! sanlock lock-driver plugin (package libvirt-sanlock) against its own
//! `paxlock daemon` (its own SANLOCK_RUN_DIR), host_id 1 and 2, one shared
//! disk_lease_dir. One VM (64 MiB, no OS) on one shared qcow2 image is
//! defined on both.
//!
//! The walkthrough: the plugin creates `__LIBVIRT__DISKS__` and joins it on
//! both hosts; host 1 starts the VM; a lease file named by the md5 of the
//! disk path appears, and `paxlock direct dump` and `sanlock direct dump`
//! show host 1 owning it; starting the VM on host 2 fails with libvirt's
//! lock error; destroying it on host 1 releases the lease (timestamp 0) and
//! host 2 can then start it; `virt-sanlock-cleanup` removes the lease files
//! no VM uses and keeps the one in use.
//!
//! More tests on the same set-up: save on one host and restore on the
//! other under an observer (one lease holder, one running VM at every
//! moment), read-only and shareable disks, and a frozen daemon on host 1
//! fenced by a test watchdog (over a cgroup holding host 1's daemon and
//! QEMU) before host 2 can start the VM. See docs/libvirt.md.
//!
//! QEMU runs through tests/libvirt/qemu-nolock (image locking off), see the
//! comment there: on one machine QEMU's own image locks would otherwise stop
//! the second QEMU before libvirt asks for the lease.
//!
//! Needs root, libvirt (libvirt-daemon-system, libvirt-clients,
//! libvirt-sanlock) and QEMU (qemu-system-x86, qemu-utils); scripts/test
//! installs them, and if they are missing this test tries to install them
//! itself. It is skipped (with a message) only if they cannot be installed
//! or neither KVM nor TCG is usable. See docs/libvirt.md.

mod common;

use common::{s, scratch, Run};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const LOCKSPACE: &str = "__LIBVIRT__DISKS__";
const PLUGIN: &str = "/usr/lib/x86_64-linux-gnu/libvirt/lock-driver/sanlock.so";
const QEMU_DRIVER: &str =
    "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so";
const VM: &str = "pxlv-vm";
const VM_UUID: &str = "6d1f3c2e-5b0a-4c61-9f0e-2a7f5e1d9c01";
const OTHER: &str = "pxlv-other";
const OTHER_UUID: &str = "6d1f3c2e-5b0a-4c61-9f0e-2a7f5e1d9c02";
const QEMU_NOLOCK: &str = include_str!("libvirt/qemu-nolock");
const DOMAIN_XML: &str = include_str!("libvirt/domain.xml");

// --- prerequisites ----------------------------------------------------------

fn on_path(tool: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
        .any(|d| Path::new(d).join(tool).is_file());
    found
}

/// What is missing, as (what, Debian package).
fn missing() -> Vec<(&'static str, &'static str)> {
    let mut m = Vec::new();
    for (tool, pkg) in [
        ("virsh", "libvirt-clients"),
        ("virt-sanlock-cleanup", "libvirt-sanlock"),
        ("augtool", "augeas-tools"),
        ("qemu-system-x86_64", "qemu-system-x86"),
        ("qemu-img", "qemu-utils"),
        ("md5sum", "coreutils"),
    ] {
        if !on_path(tool) {
            m.push((tool, pkg));
        }
    }
    if !Path::new(QEMU_DRIVER).exists() {
        m.push((QEMU_DRIVER, "libvirt-daemon-system"));
    }
    if !Path::new(PLUGIN).exists() {
        m.push((PLUGIN, "libvirt-sanlock"));
    }
    m
}

fn apt_install(extra: &[&str], pkgs: &[&str]) -> bool {
    eprintln!("libvirt test: apt-get install {extra:?} {pkgs:?}");
    Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(extra)
        .args(pkgs)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Installs what is missing (as scripts/test does); false if it cannot.
fn install() -> bool {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !is_root {
        return false;
    }
    let base = [
        "libvirt-daemon-system",
        "libvirt-clients",
        "libvirt-sanlock",
        "augeas-tools",
        "qemu-system-x86",
    ];
    let mut plain = base.to_vec();
    plain.push("qemu-utils");
    if apt_install(&[], &plain) && missing().is_empty() {
        return true;
    }
    // Debian 12 images that carry qemu-utils from bookworm-backports (10.x)
    // cannot take bookworm's qemu-system-x86 7.2 next to it ("Breaks:
    // qemu-system-common (< 1:8.0)"): take bookworm's qemu-utils too.
    let _ = Command::new("apt-get").args(["update", "-qq"]).status();
    let mut bookworm = base.to_vec();
    bookworm.push("qemu-utils/bookworm");
    apt_install(&["--allow-downgrades"], &bookworm) && missing().is_empty()
}

/// The domain type to use ("kvm", else "qemu" = TCG), or None (with the
/// reason printed) if this test cannot run here.
fn prerequisites() -> Option<&'static str> {
    let m = missing();
    if !m.is_empty() && !install() {
        eprintln!(
            "SKIPPED libvirt end-to-end test: missing {:?} and they cannot be installed \
             (needs root and apt: libvirt-daemon-system libvirt-clients libvirt-sanlock \
             qemu-system-x86 qemu-utils)",
            missing()
        );
        return None;
    }
    // PAXLOCK_TEST_TCG=1 tries the TCG fallback on a machine with KVM.
    let kvm = std::env::var_os("PAXLOCK_TEST_TCG").is_none()
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok();
    if kvm {
        return Some("kvm");
    }
    let tcg = Command::new("qemu-system-x86_64")
        .args(["-accel", "help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("tcg"))
        .unwrap_or(false);
    if tcg {
        eprintln!(
            "libvirt test: KVM not usable (or PAXLOCK_TEST_TCG set): running the VMs under TCG"
        );
        return Some("qemu");
    }
    eprintln!("SKIPPED libvirt end-to-end test: neither /dev/kvm nor QEMU's TCG is usable");
    None
}

// --- one "host": an embedded libvirt QEMU driver in a long-lived virsh ------

/// A long-lived interactive `virsh -c qemu:///embed?root=ROOT`: the QEMU
/// driver runs inside it, with ROOT's config, and talks (through the
/// sanlock plugin and libsanlock) to the lease daemon named by its
/// SANLOCK_RUN_DIR. One process for the whole test: a fresh embed process
/// re-attaches to running VMs asynchronously, and a command racing that
/// (seen with `destroy`) makes libvirt kill the VM ("reason=daemon").
struct Host {
    label: String,
    root: tempfile::TempDir,
    run_dir: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seq: u32,
    /// Domains to destroy on drop.
    domains: Vec<String>,
}

impl Host {
    /// `io_timeout`: the plugin's io_timeout for `__LIBVIRT__DISKS__`
    /// (None: its default, 10 s).
    fn start(
        label: &str,
        host_id: u32,
        daemon: &LeaseDaemon,
        lease_dir: &Path,
        io_timeout: Option<u32>,
    ) -> Host {
        // In /tmp: QEMU's monitor socket lives under ROOT, and socket paths
        // are limited to ~108 bytes.
        let root = tempfile::Builder::new()
            .prefix("pxlv")
            .tempdir_in("/tmp")
            .unwrap();
        let etc = root.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("qemu.conf"),
            "# tests/libvirt.rs: embedded QEMU driver, no systemd, no virtlogd\n\
             lock_manager = \"sanlock\"\n\
             stdio_handler = \"file\"\n\
             security_driver = \"none\"\n\
             cgroup_controllers = [ ]\n\
             namespaces = [ ]\n\
             remember_owner = 0\n\
             user = \"root\"\n\
             group = \"root\"\n",
        )
        .unwrap();
        let mut sanlock_conf = format!(
            "auto_disk_leases = 1\n\
             disk_lease_dir = \"{}\"\n\
             host_id = {host_id}\n\
             require_lease_for_disks = 1\n\
             user = \"root\"\n\
             group = \"root\"\n",
            lease_dir.display()
        );
        if let Some(t) = io_timeout {
            sanlock_conf += &format!("io_timeout = {t}\n");
        }
        std::fs::write(etc.join("qemu-sanlock.conf"), &sanlock_conf).unwrap();
        // virt-sanlock-cleanup reads /etc/libvirt/qemu-sanlock.conf with
        // augtool; AUGEAS_ROOT=ROOT/aug points it at this copy.
        let aug = root.path().join("aug/etc/libvirt");
        std::fs::create_dir_all(&aug).unwrap();
        std::fs::write(aug.join("qemu-sanlock.conf"), &sanlock_conf).unwrap();

        let uri = format!("qemu:///embed?root={}", root.path().display());
        let mut child = Command::new("sh")
            .args(["-c", "exec virsh -c \"$0\" 2>&1", &uri])
            .env("SANLOCK_RUN_DIR", daemon.run_dir.path())
            .env("LC_ALL", "C")
            // The plugin's calls and the lock states it hands to libvirt.
            .env("LIBVIRT_LOG_FILTERS", "1:locking")
            .env(
                "LIBVIRT_LOG_OUTPUTS",
                format!("1:file:{}", root.path().join("locking.log").display()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start virsh");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let stdin = child.stdin.take();
        Host {
            label: label.to_string(),
            root,
            run_dir: daemon.run_dir.path().to_path_buf(),
            child,
            stdin,
            lines: rx,
            seq: 0,
            domains: Vec::new(),
        }
    }

    /// Sends one virsh command; returns what virsh printed (stdout and
    /// stderr) up to the end marker, or None after `secs`.
    fn try_run(&mut self, cmd: &str, secs: u64) -> Option<String> {
        self.seq += 1;
        let marker = format!("__PXLV_END_{}__", self.seq);
        let stdin = self.stdin.as_mut()?;
        writeln!(stdin, "{cmd}\necho {marker}").ok()?;
        stdin.flush().ok()?;
        let end = Instant::now() + Duration::from_secs(secs);
        let mut got = String::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    if l.trim() == marker {
                        return Some(got);
                    }
                    // virsh echoes each command after its prompt.
                    if l.starts_with("virsh #") || l.trim().is_empty() {
                        continue;
                    }
                    got.push_str(&l);
                    got.push('\n');
                }
                Err(_) => break,
            }
        }
        eprintln!(
            "{}: virsh {cmd:?} did not finish in {secs} s; it printed:\n{got}",
            self.label
        );
        None
    }

    fn run(&mut self, cmd: &str, secs: u64) -> String {
        let out = self.try_run(cmd, secs);
        out.unwrap_or_else(|| {
            panic!(
                "{}: virsh {cmd:?} timed out\n{}",
                self.label,
                self.qemu_logs()
            )
        })
    }

    /// Runs `cmd` and asserts its output contains `want`.
    fn expect(&mut self, cmd: &str, want: &str) -> String {
        let out = self.run(cmd, 60);
        assert!(
            out.contains(want),
            "{}: virsh {cmd:?} should print {want:?}; it printed:\n{out}\n{}",
            self.label,
            self.qemu_logs()
        );
        out
    }

    fn define(&mut self, name: &str, uuid: &str, domain_type: &str, emulator: &Path, disk: &Path) {
        self.define_disk(name, uuid, domain_type, emulator, disk, "qcow2", "");
    }

    /// Defines a VM whose one disk is `disk` (`format`), with `extra` in
    /// its `<disk>` element (`<readonly/>`, `<shareable/>`).
    #[allow(clippy::too_many_arguments)]
    fn define_disk(
        &mut self,
        name: &str,
        uuid: &str,
        domain_type: &str,
        emulator: &Path,
        disk: &Path,
        format: &str,
        extra: &str,
    ) {
        let xml = DOMAIN_XML
            .replace("@TYPE@", domain_type)
            .replace("@NAME@", name)
            .replace("@UUID@", uuid)
            .replace("@EMULATOR@", &s(emulator))
            .replace("@DISK@", &s(disk))
            .replace("@FORMAT@", format)
            .replace("@DISK_EXTRA@", extra);
        let file = self.root.path().join(format!("{name}.xml"));
        std::fs::write(&file, xml).unwrap();
        self.domains.push(name.to_string());
        self.expect(
            &format!("define {}", file.display()),
            &format!("Domain '{name}' defined"),
        );
    }

    fn state(&mut self, name: &str) -> String {
        self.run(&format!("domstate {name}"), 30).trim().to_string()
    }

    /// The QEMU logs of this host's domains (for failure messages).
    fn qemu_logs(&self) -> String {
        let mut all = String::new();
        for d in &self.domains {
            let p = self.root.path().join(format!("log/qemu/{d}.log"));
            if let Ok(t) = std::fs::read_to_string(&p) {
                let tail: Vec<&str> = t.lines().rev().take(8).collect();
                all += &format!("--- {} {}:\n", self.label, p.display());
                for l in tail.into_iter().rev() {
                    all += l;
                    all.push('\n');
                }
            }
        }
        all
    }

    /// The pid of this host's QEMU for domain `name`, if it is alive.
    fn qemu_pid(&self, name: &str) -> Option<u32> {
        live_qemu(self.root.path(), name)
    }

    /// What the plugin logged (LIBVIRT_LOG_FILTERS=1:locking).
    fn locking_log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("locking.log")).unwrap_or_default()
    }

    /// `virt-sanlock-cleanup` run on this host: this host's lease daemon,
    /// this host's qemu-sanlock.conf.
    fn cleanup(&self) -> String {
        let out = Command::new("virt-sanlock-cleanup")
            .env("SANLOCK_RUN_DIR", &self.run_dir)
            .env("AUGEAS_ROOT", self.root.path().join("aug"))
            .env("LC_ALL", "C")
            .output()
            .expect("run virt-sanlock-cleanup");
        assert!(
            out.status.success(),
            "virt-sanlock-cleanup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // Stop the VMs through libvirt, then leave virsh.
        for d in self.domains.clone() {
            let _ = self.try_run(&format!("destroy {d}"), 30);
        }
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "quit");
        }
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        // A QEMU that outlived all that (QEMU survives its embed driver's
        // exit): kill it by the pid our driver recorded, if that process is
        // still the QEMU of our root.
        for d in &self.domains {
            let pidfile = self.root.path().join(format!("run/qemu/{d}.pid"));
            let Ok(pid) = std::fs::read_to_string(&pidfile) else {
                continue;
            };
            let pid = pid.trim().to_string();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).into_owned();
            if cmdline.contains(&format!("guest={d},"))
                && cmdline.contains(&*self.root.path().to_string_lossy())
            {
                let _ = Command::new("kill").args(["-9", &pid]).status();
            }
        }
    }
}

/// The pid of the QEMU of domain `name` started by the embedded driver
/// with root `root`, if that process is alive (not a zombie).
fn live_qemu(root: &Path, name: &str) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(root.join(format!("run/qemu/{name}.pid")))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline);
    if !cmdline.contains(&format!("guest={name},")) || !cmdline.contains(&*s(root)) {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (COMM) STATE ...": a zombie (Z) or dead (X) QEMU does not run.
    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
    (state != "Z" && state != "X").then_some(pid)
}

// --- a host's lease daemon ----------------------------------------------------

/// How one host's `paxlock daemon` runs.
#[derive(Default)]
struct DaemonOpts {
    /// `-w 1` with the wdmd at this socket (PAXLOCK_WDMD_SOCKET); else `-w 0`.
    wdmd_socket: Option<PathBuf>,
    /// PAXLOCK_CONFIG (sanlock.conf syntax).
    config: Option<PathBuf>,
    /// A cgroup (v2) directory the daemon starts in.
    cgroup: Option<PathBuf>,
}

/// A `paxlock daemon` in its own SANLOCK_RUN_DIR, shut down on drop.
struct LeaseDaemon {
    run_dir: tempfile::TempDir,
    child: Child,
}

impl LeaseDaemon {
    fn start(host_name: &str, o: &DaemonOpts) -> LeaseDaemon {
        // Socket paths are limited to ~108 bytes: keep the run dir short.
        let run_dir = tempfile::Builder::new()
            .prefix("pxp")
            .tempdir_in("/tmp")
            .unwrap();
        let log = std::fs::File::create(run_dir.path().join("daemon.log")).unwrap();
        let w = if o.wdmd_socket.is_some() { "1" } else { "0" };
        // sh moves itself into the cgroup, then becomes the daemon: the
        // daemon and everything it starts are in the cgroup from the start.
        let mut c = Command::new("sh");
        c.args([
            "-c",
            "if [ -n \"$PXLV_CGROUP\" ]; then echo $$ > \"$PXLV_CGROUP/cgroup.procs\" || exit 97; fi; \
             exec \"$@\"",
            "sh",
            env!("CARGO_BIN_EXE_paxlock"),
            "daemon",
            "-D",
            "-w",
            w,
            "-l",
            "0",
            "-U",
            "root",
            "-G",
            "root",
            "-e",
            host_name,
        ])
        .env("SANLOCK_RUN_DIR", run_dir.path())
        .env_remove("PXLV_CGROUP")
        .stdout(Stdio::null())
        .stderr(log);
        if let Some(sock) = &o.wdmd_socket {
            c.env("PAXLOCK_WDMD_SOCKET", sock);
        }
        if let Some(conf) = &o.config {
            c.env("PAXLOCK_CONFIG", conf);
        }
        if let Some(cg) = &o.cgroup {
            c.env("PXLV_CGROUP", cg);
        }
        let child = c.spawn().expect("start paxlock daemon");
        let mut d = LeaseDaemon { run_dir, child };
        for _ in 0..100 {
            if d.client(&["status"]).code == 0 {
                return d;
            }
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("{host_name}'s daemon exited ({st}); log: {}", d.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{host_name}'s daemon did not come up; log: {}", d.log());
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} {}", self.pid());
    }

    /// `paxlock client ARGS` against this daemon (given up after 10 s: a
    /// frozen daemon does not answer).
    fn client(&self, args: &[&str]) -> Run {
        client_in(self.run_dir.path(), args)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.run_dir.path().join("daemon.log")).unwrap_or_default()
    }
}

/// `paxlock client ARGS` with SANLOCK_RUN_DIR=run_dir, killed after 10 s.
fn client_in(run_dir: &Path, args: &[&str]) -> Run {
    let out = Command::new("timeout")
        .args(["-s", "KILL", "10", env!("CARGO_BIN_EXE_paxlock"), "client"])
        .args(args)
        .env("SANLOCK_RUN_DIR", run_dir)
        .output()
        .expect("run paxlock client");
    Run {
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// The resource lines (`r ...`) of a daemon's status for lease `md5`.
fn held(status: &str, md5: &str) -> Vec<String> {
    let prefix = format!("r {LOCKSPACE}:{md5}:");
    status
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

impl Drop for LeaseDaemon {
    fn drop(&mut self) {
        // A test that froze the daemon may have failed before thawing it.
        let _ = Command::new("kill")
            .args(["-CONT", &self.pid().to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = self.client(&["shutdown", "-f", "1"]);
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- the fence: a test watchdog over a cgroup ---------------------------------

/// Host 1's fence: `paxlock wdmd` with the test watchdog, which kills
/// every process of a cgroup v2 directory (host 1's daemon and, once
/// added, its QEMU) where a hardware watchdog would reset the host.
/// QEMU cannot join the daemon's process group: libvirt starts it in a
/// session of its own (setsid). On drop: wdmd stopped, whatever is left
/// in the cgroup killed, the cgroup removed.
struct Fence {
    cgroup: PathBuf,
    socket: PathBuf,
    fire_log: PathBuf,
    wdmd: Child,
    _dir: tempfile::TempDir,
}

impl Fence {
    /// None (with the reason printed) if no writable cgroup v2 is mounted.
    fn start(fire_timeout: u64) -> Option<Fence> {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let Some(mnt) = mounts
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[2] == "cgroup2")
            .map(|f| PathBuf::from(f[1]))
        else {
            eprintln!("SKIPPED libvirt fence test: no cgroup v2 mounted");
            return None;
        };
        let cgroup = mnt.join(format!("paxlock-libvirt-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir(&cgroup) {
            eprintln!(
                "SKIPPED libvirt fence test: cannot create {}: {e}",
                cgroup.display()
            );
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("pxw")
            .tempdir_in("/tmp")
            .unwrap();
        let socket = dir.path().join("wdmd.sock");
        let fire_log = dir.path().join("fire.log");
        let wdmd = Command::new(env!("CARGO_BIN_EXE_paxlock"))
            .args(["wdmd", "daemon", "--socket"])
            .arg(&socket)
            .arg("--test-fire")
            .arg(format!("cgroup:{}", cgroup.display()))
            .args(["--fire-timeout", &fire_timeout.to_string()])
            .args(["--test-interval", "1", "--test-log"])
            .arg(&fire_log)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("wdmd.log")).unwrap())
            .spawn()
            .expect("start paxlock wdmd");
        let f = Fence {
            cgroup,
            socket,
            fire_log,
            wdmd,
            _dir: dir,
        };
        let end = Instant::now() + Duration::from_secs(10);
        while !f.socket.exists() {
            assert!(Instant::now() < end, "paxlock wdmd did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(f)
    }

    /// Moves process `pid` (all its threads) into the fenced cgroup.
    fn add(&self, pid: u32) {
        std::fs::write(self.cgroup.join("cgroup.procs"), pid.to_string())
            .unwrap_or_else(|e| panic!("move {pid} into {}: {e}", self.cgroup.display()));
    }

    fn procs(&self) -> Vec<u32> {
        std::fs::read_to_string(self.cgroup.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    fn fire_log(&self) -> String {
        std::fs::read_to_string(&self.fire_log).unwrap_or_default()
    }
}

impl Drop for Fence {
    fn drop(&mut self) {
        let _ = self.wdmd.kill();
        let _ = self.wdmd.wait();
        // Only what the test put there: host 1's daemon and QEMU.
        let _ = std::fs::write(self.cgroup.join("cgroup.kill"), "1");
        let end = Instant::now() + Duration::from_secs(10);
        while !self.procs().is_empty() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_dir(&self.cgroup);
    }
}

// --- the observer -------------------------------------------------------------

/// A thread that takes a sample every `every` until stopped, each with the
/// time since the start.
struct Observer<S: Send + 'static> {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(Duration, S)>>,
}

impl<S: Send + 'static> Observer<S> {
    fn start(t0: Instant, every: Duration, mut sample: impl FnMut() -> S + Send + 'static) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut v = Vec::new();
            while !stop2.load(Ordering::SeqCst) {
                let s = sample();
                v.push((t0.elapsed(), s));
                std::thread::sleep(every);
            }
            v
        });
        Observer { stop, thread }
    }

    fn finish(self) -> Vec<(Duration, S)> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().expect("observer thread panicked")
    }
}

// --- lease inspection -------------------------------------------------------

fn md5_hex(text: &str) -> String {
    let mut c = Command::new("md5sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// One row of `direct dump` for a resource lease.
#[derive(Debug, PartialEq)]
struct Leader {
    lockspace: String,
    resource: String,
    timestamp: u64,
    owner: u64,
    generation: u64,
    lver: u64,
}

/// `paxlock direct dump FILE` and `sanlock direct dump FILE`: asserts both
/// print the same and returns the lease's row.
fn dump(file: &Path) -> Leader {
    let f = s(file);
    let p = common::paxlock(&["direct", "dump", &f]);
    let r = common::sanlock(&["direct", "dump", &f]);
    assert_eq!(p.code, 0, "paxlock direct dump {f}: {}", p.stderr);
    assert_eq!(
        p.stdout_str(),
        r.stdout_str(),
        "paxlock and sanlock direct dump differ for {f}"
    );
    let text = p.stdout_str();
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("00000000"))
        .unwrap_or_else(|| panic!("no lease at offset 0 in the dump of {f}:\n{text}"));
    let c: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(c.len(), 7, "unexpected dump row {row:?}");
    let num = |i: usize| c[i].parse::<u64>().unwrap();
    Leader {
        lockspace: c[1].to_string(),
        resource: c[2].to_string(),
        timestamp: num(3),
        owner: num(4),
        generation: num(5),
        lver: num(6),
    }
}

fn lease_dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn qemu_img_create(path: &Path) {
    qemu_img_create_fmt(path, "qcow2")
}

fn qemu_img_create_fmt(path: &Path, format: &str) {
    let out = Command::new("qemu-img")
        .args(["create", "-q", "-f", format])
        .arg(path)
        .arg("16M")
        .output()
        .expect("run qemu-img");
    assert!(
        out.status.success(),
        "qemu-img create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// --- the two hosts -----------------------------------------------------------

/// Two hosts that joined `__LIBVIRT__DISKS__`, with VM (on the shared
/// disk) defined on both and OTHER (another disk) on host 1. Fields drop in
/// order: VMs and virsh first, then the daemons, then the files.
struct Cluster {
    h1: Host,
    h2: Host,
    d1: LeaseDaemon,
    d2: LeaseDaemon,
    /// Host 1's fence, if asked for (after d1: the daemon shuts down first).
    fence: Option<Fence>,
    domain_type: &'static str,
    emulator: PathBuf,
    lease_dir: PathBuf,
    ls_file: PathBuf,
    disk: PathBuf,
    other_disk: PathBuf,
    t0: Instant,
    _work: tempfile::TempDir,
}

impl Cluster {
    fn step(&self, what: &str) {
        eprintln!("[{:5.1}s] {what}", self.t0.elapsed().as_secs_f64());
    }

    fn start(domain_type: &'static str) -> Cluster {
        Cluster::start_with(domain_type, &ClusterOpts::default()).unwrap()
    }

    /// None if the fence asked for cannot be set up here.
    fn start_with(domain_type: &'static str, o: &ClusterOpts) -> Option<Cluster> {
        let t0 = Instant::now();
        // Shared storage: the lease dir and the images (not /tmp, which may
        // be a tmpfs without O_DIRECT).
        let work = scratch();
        let lease_dir = work.path().join("leases");
        std::fs::create_dir(&lease_dir).unwrap();
        let disk = work.path().join("shared.qcow2");
        let other_disk = work.path().join("other.qcow2");
        qemu_img_create(&disk);
        qemu_img_create(&other_disk);
        let emulator = work.path().join("qemu-nolock");
        std::fs::write(&emulator, QEMU_NOLOCK).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&emulator, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut o1 = DaemonOpts::default();
        let mut o2 = DaemonOpts::default();
        let fence = match o.fence_timeout {
            None => None,
            Some(wft) => {
                let f = Fence::start(wft)?;
                // Every host must use the same watchdog fire timeout.
                let conf = work.path().join("sanlock.conf");
                std::fs::write(&conf, format!("watchdog_fire_timeout = {wft}\n")).unwrap();
                o1.wdmd_socket = Some(f.socket.clone());
                o1.cgroup = Some(f.cgroup.clone());
                o1.config = Some(conf.clone());
                o2.config = Some(conf);
                Some(f)
            }
        };
        let d1 = LeaseDaemon::start("libvirt-host1", &o1);
        let d2 = LeaseDaemon::start("libvirt-host2", &o2);

        // Driver start-up: the plugin creates __LIBVIRT__DISKS__ and joins
        // it. Host 1 first: the 9.0 plugin creates the file (O_EXCL),
        // zero-fills and formats it, while a host starting at the same
        // moment finds the file there, joins it at once and fails on the
        // unformatted sectors (logged only; libvirt then runs without the
        // lockspace). So host 2 starts once the lockspace is formatted;
        // both joins (about 2 * io_timeout = 20 s each) then run side by
        // side.
        let ls_file = lease_dir.join(LOCKSPACE);
        let mut h1 = Host::start("host 1", 1, &d1, &lease_dir, o.io_timeout);
        let formatted = || {
            common::paxlock(&[
                "direct",
                "read_leader",
                "-s",
                &format!("{LOCKSPACE}:1:{}:0", ls_file.display()),
            ])
            .code
                == 0
        };
        let end = Instant::now() + Duration::from_secs(60);
        while !formatted() {
            assert!(
                Instant::now() < end,
                "host 1's plugin did not create {}",
                ls_file.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut h2 = Host::start("host 2", 2, &d2, &lease_dir, o.io_timeout);
        h1.expect("uri", "qemu:///embed");
        h2.expect("uri", "qemu:///embed");

        // The same VM, on the same shared image, defined on both hosts.
        for h in [&mut h1, &mut h2] {
            h.define(VM, VM_UUID, domain_type, &emulator, &disk);
        }
        h1.define(OTHER, OTHER_UUID, domain_type, &emulator, &other_disk);
        let c = Cluster {
            h1,
            h2,
            d1,
            d2,
            fence,
            domain_type,
            emulator,
            lease_dir,
            ls_file,
            disk,
            other_disk,
            t0,
            _work: work,
        };
        c.step("both hosts joined __LIBVIRT__DISKS__");
        Some(c)
    }

    /// A new image in the shared work dir.
    fn image(&self, name: &str, format: &str) -> PathBuf {
        let p = self._work.path().join(name);
        qemu_img_create_fmt(&p, format);
        p
    }

    /// The lease file of disk path `disk`.
    fn lease_of(&self, disk: &Path) -> (String, PathBuf) {
        let md5 = md5_hex(&s(disk));
        let p = self.lease_dir.join(&md5);
        (md5, p)
    }
}

#[derive(Default)]
struct ClusterOpts {
    /// The plugin's io_timeout (None: 10 s).
    io_timeout: Option<u32>,
    /// Host 1's daemon runs with `-w 1` under a test watchdog with this
    /// fire timeout, killing host 1's cgroup; both daemons get it as
    /// watchdog_fire_timeout.
    fence_timeout: Option<u64>,
}

// --- the walkthrough ----------------------------------------------------------

#[test]
fn libvirt_two_hosts_one_disk_paxlock_leases() {
    let Some(domain_type) = prerequisites() else {
        return;
    };
    let mut c = Cluster::start(domain_type);
    let (lease_dir, ls_file, disk, other_disk) = (
        c.lease_dir.clone(),
        c.ls_file.clone(),
        c.disk.clone(),
        c.other_disk.clone(),
    );

    // 1. The plugin made and joined __LIBVIRT__DISKS__ on both hosts.
    assert_eq!(
        std::fs::metadata(&ls_file).unwrap().len(),
        common::MIB,
        "the plugin sizes the lockspace file by sanlock_align (1 MiB)"
    );
    for (d, id) in [(&c.d1, 1), (&c.d2, 2)] {
        let st = d.client(&["status"]).stdout_str();
        let want = format!("s {LOCKSPACE}:{id}:{}:0", ls_file.display());
        assert!(
            st.lines().any(|l| l == want),
            "host {id}'s paxlock daemon should be in the lockspace ({want}):\n{st}\n\
             --- its log:\n{}",
            d.client(&["log_dump"]).stdout_str()
        );
    }
    let ls_dump = common::paxlock(&["direct", "dump", &s(&ls_file)]).stdout_str();
    assert_eq!(
        ls_dump,
        common::sanlock(&["direct", "dump", &s(&ls_file)]).stdout_str()
    );
    for (name, id) in [("libvirt-host1", "0001"), ("libvirt-host2", "0002")] {
        assert!(
            ls_dump.lines().any(|l| l.contains(LOCKSPACE)
                && l.contains(name)
                && l.contains(&format!(" {id} "))),
            "the lockspace should hold {name}'s delta lease (host {id}):\n{ls_dump}"
        );
    }

    // 2. Host 1 starts it: the disk lease is md5(disk path) in the lease dir,
    //    held by host 1 for the QEMU process.
    c.h1.expect(&format!("start {VM}"), &format!("Domain '{VM}' started"));
    c.step("host 1 started the VM");
    let md5 = md5_hex(&s(&disk));
    let lease = lease_dir.join(&md5);
    assert_eq!(
        lease_dir_entries(&lease_dir),
        sorted(vec![LOCKSPACE.to_string(), md5.clone()]),
        "one lease file, named md5({})",
        disk.display()
    );
    let l = dump(&lease);
    assert_eq!(
        (
            l.lockspace.as_str(),
            l.resource.as_str(),
            l.owner,
            l.generation,
            l.lver
        ),
        (LOCKSPACE, md5.as_str(), 1, 1, 1),
        "host 1 should own the lease: {l:?}"
    );
    assert_ne!(l.timestamp, 0, "a held lease has a timestamp: {l:?}");
    let st = c.d1.client(&["status"]).stdout_str();
    let res = format!("r {LOCKSPACE}:{md5}:{}:0:1 p ", lease.display());
    assert!(
        st.lines().any(|x| x.starts_with(&res)),
        "host 1's daemon should hold {res}… for QEMU:\n{st}"
    );
    assert!(
        st.lines()
            .any(|x| x.starts_with("p ") && x.ends_with(&format!(" {VM}"))),
        "QEMU should be registered under the domain name:\n{st}"
    );

    // 3. Host 2 cannot start it: libvirt's lock error, VM left shut off.
    let out = c.h2.run(&format!("start {VM}"), 60);
    c.step("host 2 was refused");
    eprintln!("host 2's start printed:\n{out}");
    assert!(
        out.contains("error: resource busy: Failed to acquire lock: Lease is held by another host"),
        "host 2's start should fail with libvirt's lock error; it printed:\n{out}\n{}",
        c.h2.qemu_logs()
    );
    assert_eq!(c.h2.state(VM), "shut off");
    assert_eq!(c.h1.state(VM), "running");
    let l = dump(&lease);
    assert_eq!((l.owner, l.lver), (1, 1), "still host 1's: {l:?}");
    assert_ne!(l.timestamp, 0);

    // 4. Destroy on host 1: the daemon releases the lease when QEMU exits
    //    (timestamp 0, owner and lver kept) ...
    c.h1.expect(
        &format!("destroy {VM}"),
        &format!("Domain '{VM}' destroyed"),
    );
    let end = Instant::now() + Duration::from_secs(10);
    let released = loop {
        let l = dump(&lease);
        if l.timestamp == 0 || Instant::now() > end {
            break l;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    c.step("host 1 destroyed the VM");
    assert_eq!(
        (released.timestamp, released.owner, released.lver),
        (0, 1, 1),
        "the lease should be released: {released:?}"
    );
    let st = c.d1.client(&["status"]).stdout_str();
    assert!(
        !st.lines().any(|x| x.starts_with("r ")),
        "host 1 holds nothing any more:\n{st}"
    );

    // ... and host 2 can start the VM.
    c.h2.expect(&format!("start {VM}"), &format!("Domain '{VM}' started"));
    c.step("host 2 started the VM");
    let l = dump(&lease);
    assert_eq!((l.owner, l.lver), (2, 2), "host 2 should own it now: {l:?}");
    assert_ne!(l.timestamp, 0);
    let st = c.d2.client(&["status"]).stdout_str();
    let res = format!("r {LOCKSPACE}:{md5}:{}:0:2 p ", lease.display());
    assert!(
        st.lines().any(|x| x.starts_with(&res)),
        "host 2's daemon should hold {res}…:\n{st}"
    );

    // 5. virt-sanlock-cleanup. Host 1 leaves an unused lease behind (a second
    //    VM started and destroyed); the VM's lease is in use on host 2.
    c.h1.expect(
        &format!("start {OTHER}"),
        &format!("Domain '{OTHER}' started"),
    );
    c.h1.expect(
        &format!("destroy {OTHER}"),
        &format!("Domain '{OTHER}' destroyed"),
    );
    let other_md5 = md5_hex(&s(&other_disk));
    assert_eq!(
        lease_dir_entries(&lease_dir),
        sorted(vec![LOCKSPACE.into(), md5.clone(), other_md5.clone()])
    );
    let res_of = |m: &str| format!("{LOCKSPACE}:{m}:{}/{m}:0", lease_dir.display());
    // "Cleanup: RESOURCE PASS|FAIL" per file; on FAIL the sanlock CLI's own
    // progress lines ("acquire done -243") come in between.
    let verdict = |out: &str, m: &str| -> Option<String> {
        out.split("Cleanup: ")
            .find(|c| c.starts_with(&format!("{} ", res_of(m))))
            .and_then(|c| c.split_whitespace().last().map(str::to_string))
    };
    let out = c.h1.cleanup();
    c.step("virt-sanlock-cleanup on host 1");
    eprintln!("virt-sanlock-cleanup on host 1:\n{out}");
    assert!(
        verdict(&out, &md5).as_deref() == Some("FAIL"),
        "the lease in use on host 2 must be kept:\n{out}"
    );
    assert!(
        verdict(&out, &other_md5).as_deref() == Some("PASS"),
        "the unused lease must be removed:\n{out}"
    );
    assert_eq!(
        lease_dir_entries(&lease_dir),
        sorted(vec![LOCKSPACE.into(), md5.clone()])
    );
    assert_eq!(
        dump(&lease).owner,
        2,
        "cleanup did not disturb host 2's lease"
    );
    assert_eq!(c.h2.state(VM), "running");

    // Once host 2 is done with the VM, its lease goes too (cleanup on host 2).
    c.h2.expect(
        &format!("destroy {VM}"),
        &format!("Domain '{VM}' destroyed"),
    );
    let out = c.h2.cleanup();
    c.step("virt-sanlock-cleanup on host 2");
    assert!(verdict(&out, &md5).as_deref() == Some("PASS"), "{out}");
    assert_eq!(lease_dir_entries(&lease_dir), vec![LOCKSPACE.to_string()]);

    // Drop: VMs destroyed, virsh quit, daemons shut down.
}

// --- a lease file replaced under a daemon -------------------------------------

/// virt-sanlock-cleanup deletes a lease file no VM holds; the next start of
/// the VM makes the plugin create and format a new file under the same name
/// (md5 of the disk path). Each daemon must then use the new file: sanlock
/// opens a lease's disks for every acquire. A daemon that keeps using a
/// descriptor of the deleted file "holds" the lease where no other host
/// looks: here host 2 is still refused only because its daemon, too, kept
/// the deleted file open (from the cleanup's acquire); a host whose daemon
/// never opened the old file (a third host, a restarted daemon) would take
/// the lease in the new file and run the VM on the same disk.
#[test]
fn libvirt_lease_file_replaced_after_cleanup() {
    let Some(domain_type) = prerequisites() else {
        return;
    };
    let mut c = Cluster::start(domain_type);
    let lease = c.lease_dir.join(md5_hex(&s(&c.disk)));

    // Host 1 runs the VM once: its daemon has used the lease file.
    c.h1.expect(&format!("start {VM}"), &format!("Domain '{VM}' started"));
    c.h1.expect(
        &format!("destroy {VM}"),
        &format!("Domain '{VM}' destroyed"),
    );
    // Weekly cleanup (here on host 2) removes the unused lease file.
    let out = c.h2.cleanup();
    assert!(out.contains(" PASS"), "{out}");
    assert!(!lease.exists());
    c.step("lease file removed by virt-sanlock-cleanup");

    // Host 1 starts the VM again: the plugin makes a new lease file, and
    // host 1 must hold the lease in it.
    c.h1.expect(&format!("start {VM}"), &format!("Domain '{VM}' started"));
    let l = dump(&lease);
    let fds = Command::new("ls")
        .args(["-l", &format!("/proc/{}/fd", c.d1.pid())])
        .output()
        .unwrap();
    let fds = String::from_utf8_lossy(&fds.stdout).into_owned();
    let c_st = c.d1.client(&["status"]).stdout_str();
    let h2_start = c.h2.run(&format!("start {VM}"), 60);
    let h2_state = c.h2.state(VM);
    c.step("host 1 restarted the VM, host 2 tried");
    assert_eq!(
        (l.owner, l.timestamp != 0),
        (1, true),
        "host 1 runs the VM, so host 1 must hold the lease in the new file: {l:?}\n\
         host 1's daemon:\n{c_st}\nits open files:\n{fds}\n\
         and host 2's start of the same VM printed:\n{h2_start}(host 2: {h2_state})"
    );
    assert!(
        h2_start.contains("Failed to acquire lock: Lease is held by another host"),
        "host 2 must not start the VM while host 1 runs it:\n{h2_start}"
    );
}

// --- save on one host, restore on the other -----------------------------------

/// What the observer sees at one moment, per host (index 0 = host 1).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    /// The host's daemon holds the VM's disk lease (`r` line in status).
    lease: [bool; 2],
    /// A QEMU process of the VM is alive on the host.
    qemu: [bool; 2],
    /// ... and libvirt has its CPUs running (status XML state 'running').
    running: [bool; 2],
}

/// Whether the embedded driver at `root` has domain `name` running: a live
/// QEMU and `<domstatus state='running'` in its status XML, which libvirt
/// writes after the CPUs started (after the lease was acquired).
fn vm_running(root: &Path, name: &str) -> bool {
    live_qemu(root, name).is_some()
        && std::fs::read_to_string(root.join(format!("run/qemu/{name}.xml")))
            .map(|x| x.contains("<domstatus state='running'"))
            .unwrap_or(false)
}

/// An observer of both hosts' daemons and QEMUs for `VM` and lease `md5`.
fn observe(c: &Cluster, md5: &str, every: Duration) -> Observer<Seen> {
    let runs = [
        c.d1.run_dir.path().to_path_buf(),
        c.d2.run_dir.path().to_path_buf(),
    ];
    let roots = [
        c.h1.root.path().to_path_buf(),
        c.h2.root.path().to_path_buf(),
    ];
    let md5 = md5.to_string();
    Observer::start(c.t0, every, move || Seen {
        lease: [0, 1]
            .map(|i| !held(&client_in(&runs[i], &["status"]).stdout_str(), &md5).is_empty()),
        qemu: [0, 1].map(|i| live_qemu(&roots[i], VM).is_some()),
        running: [0, 1].map(|i| vm_running(&roots[i], VM)),
    })
}

/// The samples with consecutive repeats dropped, for messages.
fn timeline(samples: &[(Duration, Seen)]) -> String {
    let mut out = String::new();
    let mut last: Option<Seen> = None;
    for (t, s) in samples {
        if last != Some(*s) {
            out += &format!("  [{:6.2}s] {s:?}\n", t.as_secs_f64());
            last = Some(*s);
        }
    }
    out
}

/// Which host holds the lease in each phase (0 = none), repeats dropped.
fn holder_phases(samples: &[(Duration, Seen)]) -> Vec<u8> {
    let mut v: Vec<u8> = Vec::new();
    for (_, s) in samples {
        let h = match s.lease {
            [true, false] => 1,
            [false, true] => 2,
            [false, false] => 0,
            [true, true] => 12,
        };
        if v.last() != Some(&h) {
            v.push(h);
        }
    }
    v
}

/// Migration by save and restore: live migration needs two libvirt daemons
/// that can reach each other, and two embedded drivers cannot (one
/// embedded driver per process, no migration URI between them). `virsh
/// save` stops the CPUs (the plugin releases the lease: Release, lock state
/// returned to libvirt) and writes the memory to a file; `virsh restore` on
/// the other host starts QEMU paused, loads it and starts the CPUs (the
/// plugin acquires the lease there). Throughout, an observer polls both
/// daemons and both hosts' QEMUs: never may both hold the lease, never may
/// the VM run on both. Restoring the same image a second time, on host 1
/// while host 2 runs it, is refused by the lease.
#[test]
fn libvirt_save_restore_moves_the_vm_with_one_lease_holder_at_a_time() {
    let Some(domain_type) = prerequisites() else {
        return;
    };
    let mut c = Cluster::start(domain_type);
    let disk = c.disk.clone();
    let (md5, lease) = c.lease_of(&disk);
    let obs = observe(&c, &md5, Duration::from_millis(20));
    let save1 = c._work.path().join("vm-1.save");
    let save2 = c._work.path().join("vm-2.save");

    // Host 1 runs the VM.
    c.h1.expect(&format!("start {VM}"), &format!("Domain '{VM}' started"));
    c.step("host 1 started the VM");
    let l = dump(&lease);
    assert_eq!((l.owner, l.lver, l.timestamp != 0), (1, 1, true), "{l:?}");
    std::thread::sleep(Duration::from_millis(300));

    // Save on host 1: lease released, QEMU gone.
    c.h1.expect(
        &format!("save {VM} {}", save1.display()),
        &format!("Domain '{VM}' saved to {}", save1.display()),
    );
    c.step("host 1 saved the VM");
    assert_eq!(c.h1.state(VM), "shut off");
    assert_eq!(c.h1.qemu_pid(VM), None);
    let l = dump(&lease);
    assert_eq!(
        (l.owner, l.lver, l.timestamp),
        (1, 1, 0),
        "the save released the lease: {l:?}"
    );
    assert!(held(&c.d1.client(&["status"]).stdout_str(), &md5).is_empty());
    std::thread::sleep(Duration::from_millis(300));

    // Restore on host 2: host 2 acquires (next lver) and runs it.
    c.h2.expect(
        &format!("restore {}", save1.display()),
        &format!("Domain restored from {}", save1.display()),
    );
    c.step("host 2 restored the VM");
    assert_eq!(c.h2.state(VM), "running");
    let l = dump(&lease);
    assert_eq!((l.owner, l.lver, l.timestamp != 0), (2, 2, true), "{l:?}");
    let qemu2 = c.h2.qemu_pid(VM).expect("host 2's QEMU");
    let st = c.d2.client(&["status"]).stdout_str();
    assert_eq!(
        held(&st, &md5),
        vec![format!(
            "r {LOCKSPACE}:{md5}:{}:0:2 p {qemu2}",
            lease.display()
        )],
        "host 2 holds the lease (lver 2) for its QEMU:\n{st}"
    );
    std::thread::sleep(Duration::from_millis(300));

    // The same image restored again on host 1 while host 2 runs it: the
    // lease refuses it; QEMU (started paused) never runs and is gone.
    let out = c.h1.run(&format!("restore {}", save1.display()), 60);
    c.step("host 1's second restore of the same image was refused");
    assert!(
        out.contains("Failed to acquire lock: Lease is held by another host"),
        "restoring the image on host 1 while host 2 runs it must fail on the lease:\n{out}"
    );
    assert_eq!(c.h1.state(VM), "shut off");
    assert_eq!(c.h1.qemu_pid(VM), None);
    assert_eq!(c.h2.state(VM), "running");
    let l = dump(&lease);
    assert_eq!((l.owner, l.lver, l.timestamp != 0), (2, 2, true), "{l:?}");

    // And back: save on host 2, restore on host 1.
    c.h2.expect(
        &format!("save {VM} {}", save2.display()),
        &format!("Domain '{VM}' saved to {}", save2.display()),
    );
    c.step("host 2 saved the VM");
    let l = dump(&lease);
    assert_eq!((l.owner, l.lver, l.timestamp), (2, 2, 0), "{l:?}");
    std::thread::sleep(Duration::from_millis(300));
    c.h1.expect(
        &format!("restore {}", save2.display()),
        &format!("Domain restored from {}", save2.display()),
    );
    c.step("host 1 restored the VM");
    assert_eq!(c.h1.state(VM), "running");
    assert_eq!(c.h2.state(VM), "shut off");
    let l = dump(&lease);
    assert_eq!((l.owner, l.lver, l.timestamp != 0), (1, 3, true), "{l:?}");
    std::thread::sleep(Duration::from_millis(300));

    let samples = obs.finish();
    let tl = timeline(&samples);
    eprintln!("observer, {} samples:\n{tl}", samples.len());
    for (t, s) in &samples {
        assert!(
            !(s.lease[0] && s.lease[1]),
            "both hosts held the lease at {t:?}:\n{tl}"
        );
        assert!(
            !(s.running[0] && s.running[1]),
            "the VM ran on both hosts at {t:?}:\n{tl}"
        );
    }
    // The observer saw each handover: host 1, nobody, host 2, nobody, host 1.
    assert_eq!(holder_phases(&samples), vec![0, 1, 0, 2, 0, 1], "{tl}");

    // The lock states the plugin handed libvirt on each save (Release).
    // The lock state: each save released the lease through the plugin
    // (Release, which hands libvirt the state string; libvirt 9.0 calls it
    // twice, from the STOP event and from stopping the CPUs, the second
    // finding nothing held), but the state does not travel in the save
    // image: every acquire (start, restore) was made with state NULL, so
    // the lease version is not carried over, and the plugin would ignore
    // it anyway (it acquires from the domain XML).
    for (n, h, saves) in [(1, &c.h1, 1), (2, &c.h2, 1)] {
        let log = h.locking_log();
        let releases = log
            .lines()
            .filter(|l| l.contains("virDomainLockProcessPause"))
            .count();
        assert!(
            releases >= saves,
            "host {n}: the save should release through the plugin:\n{log}"
        );
        let resumes: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("virDomainLockProcessResume"))
            .collect();
        assert!(!resumes.is_empty(), "host {n}: no acquire logged:\n{log}");
        assert!(
            resumes.iter().all(|l| l.ends_with("state=<null>")),
            "host {n}: acquires with a lock state: {resumes:?}"
        );
    }
    for f in [&save1, &save2] {
        let image = std::fs::read(f).unwrap();
        assert!(
            !image
                .windows(LOCKSPACE.len())
                .any(|w| w == LOCKSPACE.as_bytes()),
            "the save image {} carries a lock state",
            f.display()
        );
    }
}

// --- read-only and shareable disks --------------------------------------------

/// The plugin's rules for the two other kinds of disk (spec 2.4): a
/// `<readonly/>` disk gets no lease at all (AddResource returns at once),
/// so VMs using it start on both hosts, and it does not stop a writer
/// either; a `<shareable/>` disk gets a shared lease (SANLK_RES_SHARED),
/// held by both hosts at once (`:SH` in status), which refuses an
/// exclusive user of the same disk, while an exclusive holder refuses the
/// shared users in turn.
#[test]
fn libvirt_readonly_disk_no_lease_shareable_disk_shared_lease() {
    let Some(domain_type) = prerequisites() else {
        return;
    };
    let mut c = Cluster::start(domain_type);
    let ro_disk = c.image("ro.qcow2", "qcow2");
    // libvirt refuses shareable qcow2 ("shared access ... requires use of
    // supported storage format"): raw.
    let sh_disk = c.image("sh.raw", "raw");
    let (ro_md5, ro_lease) = c.lease_of(&ro_disk);
    let (sh_md5, sh_lease) = c.lease_of(&sh_disk);
    let (t, e) = (c.domain_type, c.emulator.clone());
    const RO: &str = "pxlv-ro";
    const RW: &str = "pxlv-rw";
    const SH: &str = "pxlv-sh";
    const EX: &str = "pxlv-ex";
    for h in [&mut c.h1, &mut c.h2] {
        h.define_disk(
            RO,
            "6d1f3c2e-5b0a-4c61-9f0e-2a7f5e1d9c11",
            t,
            &e,
            &ro_disk,
            "qcow2",
            "<readonly/>",
        );
        h.define_disk(
            SH,
            "6d1f3c2e-5b0a-4c61-9f0e-2a7f5e1d9c12",
            t,
            &e,
            &sh_disk,
            "raw",
            "<shareable/>",
        );
        h.define_disk(
            EX,
            "6d1f3c2e-5b0a-4c61-9f0e-2a7f5e1d9c13",
            t,
            &e,
            &sh_disk,
            "raw",
            "",
        );
    }
    c.h1.define_disk(
        RW,
        "6d1f3c2e-5b0a-4c61-9f0e-2a7f5e1d9c14",
        t,
        &e,
        &ro_disk,
        "qcow2",
        "",
    );

    // Read-only: both hosts run it, no lease file, nothing held.
    for h in [&mut c.h1, &mut c.h2] {
        h.expect(&format!("start {RO}"), &format!("Domain '{RO}' started"));
    }
    c.step("both hosts run the VM with the read-only disk");
    assert_eq!(
        (c.h1.state(RO), c.h2.state(RO)),
        ("running".into(), "running".into())
    );
    assert!(!ro_lease.exists(), "a read-only disk has no lease file");
    for d in [&c.d1, &c.d2] {
        let st = d.client(&["status"]).stdout_str();
        assert!(
            !st.lines().any(|l| l.starts_with("r ")),
            "no lease is held for a read-only disk:\n{st}"
        );
    }
    // Nor does it stop a writer: a VM writing the same image starts (on
    // host 1, next to the read-only one) and takes an exclusive lease.
    c.h1.expect(&format!("start {RW}"), &format!("Domain '{RW}' started"));
    c.step("a writer of the read-only disk started too");
    let l = dump(&ro_lease);
    assert_eq!(
        (l.resource.as_str(), l.owner, l.timestamp != 0),
        (ro_md5.as_str(), 1, true),
        "{l:?}"
    );
    for h in [&mut c.h1, &mut c.h2] {
        h.expect(
            &format!("destroy {RO}"),
            &format!("Domain '{RO}' destroyed"),
        );
    }
    c.h1.expect(
        &format!("destroy {RW}"),
        &format!("Domain '{RW}' destroyed"),
    );

    // Shareable: both hosts hold the shared lease at once.
    for h in [&mut c.h1, &mut c.h2] {
        h.expect(&format!("start {SH}"), &format!("Domain '{SH}' started"));
    }
    c.step("both hosts run the VM with the shareable disk");
    for (n, d, h) in [(1, &c.d1, &c.h1), (2, &c.d2, &c.h2)] {
        let st = d.client(&["status"]).stdout_str();
        let pid = h.qemu_pid(SH).expect("QEMU");
        assert_eq!(
            held(&st, &sh_md5),
            vec![format!(
                "r {LOCKSPACE}:{sh_md5}:{}:0:SH p {pid}",
                sh_lease.display()
            )],
            "host {n} holds the shared lease:\n{st}"
        );
    }
    let sh_dump = common::paxlock(&["direct", "dump", &s(&sh_lease)]).stdout_str();
    assert_eq!(
        sh_dump,
        common::sanlock(&["direct", "dump", &s(&sh_lease)]).stdout_str()
    );
    // The leader is free (timestamp 0), each shared holder has its mode
    // block (host_id, generation, SH).
    let modes: Vec<Vec<&str>> = sh_dump
        .lines()
        .filter(|l| l.trim_end().ends_with(" SH"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        modes,
        vec![vec!["0001", "0001", "SH"], vec!["0002", "0001", "SH"]],
        "both hosts' SH mode blocks:\n{sh_dump}"
    );

    // An exclusive user of the same disk is refused, on either host. The
    // host's own daemon refuses it first, since it holds the lease (shared)
    // for another process: EEXIST, which the plugin reports with
    // strerror (errno-style codes are not sanlock's -2xx ones).
    let refused = |h: &mut Host, why: &str, want: &str| {
        let out = h.run(&format!("start {EX}"), 60);
        assert!(
            out.contains(want),
            "{}: an exclusive user must be refused {why} with {want:?}; it printed:\n{out}",
            h.label
        );
        assert_eq!(h.state(EX), "shut off");
    };
    let local = "error: Failed to acquire lock: File exists";
    refused(&mut c.h1, "while both hosts hold the shared lease", local);
    refused(&mut c.h2, "while both hosts hold the shared lease", local);
    // With host 1 the only shared holder, host 2's exclusive acquire finds
    // host 1's SH mode block on disk: EAGAIN.
    c.h2.expect(
        &format!("destroy {SH}"),
        &format!("Domain '{SH}' destroyed"),
    );
    refused(
        &mut c.h2,
        "while host 1 holds the shared lease",
        "error: Failed to acquire lock: Resource temporarily unavailable",
    );
    c.step("exclusive users refused");
    // Once no shared holder is left, the exclusive user starts ...
    c.h1.expect(
        &format!("destroy {SH}"),
        &format!("Domain '{SH}' destroyed"),
    );
    c.h2.expect(&format!("start {EX}"), &format!("Domain '{EX}' started"));
    c.step("the exclusive user started once the shared holders stopped");
    let l = dump(&sh_lease);
    assert_eq!((l.owner, l.timestamp != 0), (2, true), "{l:?}");
    let st = c.d2.client(&["status"]).stdout_str();
    let pid = c.h2.qemu_pid(EX).expect("QEMU");
    assert_eq!(
        held(&st, &sh_md5),
        vec![format!(
            "r {LOCKSPACE}:{sh_md5}:{}:0:{} p {pid}",
            sh_lease.display(),
            l.lver
        )],
        "host 2 holds the lease exclusively:\n{st}"
    );
    // ... and then refuses the shared users.
    let out = c.h1.run(&format!("start {SH}"), 60);
    assert!(
        out.contains("resource busy: Failed to acquire lock: Lease is held by another host"),
        "a shared user must be refused while host 2 holds the lease exclusively:\n{out}"
    );
    assert_eq!(c.h1.state(SH), "shut off");
}

// --- the fence ------------------------------------------------------------------

/// The session id of process `pid` (field 6 of /proc/PID/stat).
fn session_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    rest.split_whitespace().nth(3).unwrap().parse().unwrap()
}

/// One start attempt of the VM on host 2 after host 1's daemon froze.
#[derive(Debug)]
struct Attempt {
    from: Duration,
    to: Duration,
    started: bool,
    out: String,
}

/// Host 1's paxlock daemon freezes (SIGSTOP) while its QEMU holds the
/// disk lease. The daemon runs with `-w 1` on `paxlock wdmd`'s test
/// watchdog (fire timeout 10 s, `watchdog_fire_timeout = 10` for both
/// daemons, the plugin's io_timeout 1 s: id_renewal_fail 8 s,
/// host_dead_seconds 18 s), which kills host 1's cgroup — its daemon and
/// its QEMU — where a hardware watchdog would reset host 1. Host 2 tries
/// to start the VM again and again: refused until host 1 is dead, then it
/// starts. An observer fails the test if host 2 ever holds the lease while
/// host 1's QEMU still runs.
#[test]
fn libvirt_frozen_daemon_is_fenced_before_the_other_host_starts_the_vm() {
    const WFT: u64 = 10;
    let Some(domain_type) = prerequisites() else {
        return;
    };
    let opts = ClusterOpts {
        io_timeout: Some(1),
        fence_timeout: Some(WFT),
    };
    let Some(mut c) = Cluster::start_with(domain_type, &opts) else {
        return;
    };
    let disk = c.disk.clone();
    let (md5, lease) = c.lease_of(&disk);
    let ls = format!("s {LOCKSPACE}:1:{}:0", c.ls_file.display());
    let st = c.d1.client(&["status"]).stdout_str();
    assert!(st.lines().any(|l| l == ls), "host 1 joined:\n{st}");

    // Host 1 runs the VM; its QEMU joins the fenced cgroup.
    c.h1.expect(&format!("start {VM}"), &format!("Domain '{VM}' started"));
    let qemu1 = c.h1.qemu_pid(VM).expect("host 1's QEMU");
    // Why a cgroup and not the daemon's process group: QEMU runs in a
    // session of its own (libvirt daemonizes it), and setpgid cannot move
    // a process into a group of another session.
    assert_ne!(
        session_of(qemu1),
        session_of(c.h1.child.id()),
        "QEMU in virsh's session?"
    );
    let fence = c.fence.as_ref().unwrap();
    fence.add(qemu1);
    let procs = fence.procs();
    assert!(
        procs.contains(&c.d1.pid()) && procs.contains(&qemu1),
        "the fenced cgroup holds host 1's daemon {} and QEMU {qemu1}: {procs:?}",
        c.d1.pid()
    );
    let l = dump(&lease);
    assert_eq!((l.owner, l.timestamp != 0), (1, true), "{l:?}");
    // While host 1 is well, host 2 is refused.
    let out = c.h2.run(&format!("start {VM}"), 60);
    assert!(
        out.contains("Failed to acquire lock: Lease is held by another host"),
        "{out}"
    );
    c.step("host 1 runs the VM, host 2 refused");

    let root1 = c.h1.root.path().to_path_buf();
    let run2 = c.d2.run_dir.path().to_path_buf();
    let md5_2 = md5.clone();
    let obs = Observer::start(c.t0, Duration::from_millis(20), move || {
        // (host 1's QEMU alive, host 2 holds the lease): QEMU first, so a
        // sample can only err towards an overlap.
        let q = live_qemu(&root1, VM) == Some(qemu1);
        let h = !held(&client_in(&run2, &["status"]).stdout_str(), &md5_2).is_empty();
        (q, h)
    });

    let t_fault = c.t0.elapsed();
    c.d1.signal("STOP");
    c.step("host 1's daemon frozen");
    let mut attempts = Vec::new();
    loop {
        let from = c.t0.elapsed();
        let out = c.h2.run(&format!("start {VM}"), 60);
        let started = out.contains(&format!("Domain '{VM}' started"));
        attempts.push(Attempt {
            from,
            to: c.t0.elapsed(),
            started,
            out,
        });
        if started || from - t_fault > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    c.step("host 2 started the VM");
    std::thread::sleep(Duration::from_millis(200));
    let samples = obs.finish();

    let summary: String = attempts
        .iter()
        .map(|a| {
            format!(
                "  [{:6.2}s .. {:6.2}s] {} {}\n",
                a.from.as_secs_f64(),
                a.to.as_secs_f64(),
                if a.started { "STARTED" } else { "refused" },
                a.out.lines().last().unwrap_or("")
            )
        })
        .collect();
    let mut tl = String::new();
    let mut last = None;
    for (t, s) in &samples {
        if last != Some(*s) {
            tl += &format!(
                "  [{:6.2}s] host 1's QEMU {}, host 2 {}\n",
                t.as_secs_f64(),
                if s.0 { "alive" } else { "dead" },
                if s.1 {
                    "holds the lease"
                } else {
                    "does not hold it"
                }
            );
            last = Some(*s);
        }
    }
    let fire = fence.fire_log();
    eprintln!(
        "fault at {:.2}s; host 2's attempts:\n{summary}observer:\n{tl}test watchdog:\n{fire}",
        t_fault.as_secs_f64()
    );

    // Never both.
    for (t, (q, h)) in &samples {
        assert!(
            !(*q && *h),
            "host 2 held the lease while host 1's QEMU ran, at {t:?}:\n{tl}"
        );
    }
    let t_dead = samples
        .iter()
        .find(|(_, (q, _))| !q)
        .map(|(t, _)| *t)
        .unwrap_or_else(|| panic!("host 1's QEMU was never killed:\n{tl}"));
    let t_held = samples
        .iter()
        .find(|(_, (_, h))| *h)
        .map(|(t, _)| *t)
        .unwrap_or_else(|| panic!("host 2 never held the lease:\n{tl}\n{summary}"));
    assert!(t_dead < t_held, "{tl}");
    // The test watchdog did it, within its bounds (as in tests/fencing.rs).
    assert!(
        fire.contains("FIRE"),
        "the test watchdog did not fire: {fire}"
    );
    let dead_after = t_dead - t_fault;
    assert!(
        dead_after >= Duration::from_secs(5) && dead_after <= Duration::from_secs(8 + WFT + 3),
        "host 1's QEMU died {dead_after:?} after the freeze"
    );
    assert!(
        c.d1.child.try_wait().unwrap().is_some(),
        "the fence killed host 1's daemon too"
    );
    // Host 2: refused while host 1's QEMU ran, then started.
    let last = attempts.last().unwrap();
    assert!(last.started, "host 2 never started the VM:\n{summary}");
    // (Before the freeze host 2 was refused at once. After it, an attempt
    // is refused at once while host 1's delta lease still looks fresh, or
    // waits in the acquire until host 1 is dead: which one happens depends
    // on where in host 1's renewal cycle the freeze falls.)
    for a in &attempts[..attempts.len() - 1] {
        assert!(
            a.out.contains("Failed to acquire lock"),
            "a failed start should fail on the lease:\n{summary}"
        );
    }
    // Every start that ended while host 1's QEMU ran was refused; the one
    // that succeeded ended after it died (it may have begun before: the
    // acquire waits while host 1's delta lease is not yet expired, with
    // host 2's QEMU started but paused, as libvirt starts every QEMU).
    for a in &attempts {
        assert!(!a.started || a.to > t_dead, "{summary}{tl}");
    }
    assert_eq!(c.h2.state(VM), "running");
    let l = dump(&lease);
    assert_eq!((l.owner, l.timestamp != 0), (2, true), "{l:?}");
    // Host 1's libvirt saw its QEMU die.
    let s1 = c.h1.run(&format!("domstate {VM} --reason"), 30);
    assert!(s1.contains("shut off"), "host 1: {s1}");
    eprintln!("host 1's domstate: {}", s1.trim());
}
