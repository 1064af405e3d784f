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

use common::{s, scratch, TestDaemon};
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
    fn start(label: &str, host_id: u32, daemon: &TestDaemon, lease_dir: &Path) -> Host {
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
        let sanlock_conf = format!(
            "auto_disk_leases = 1\n\
             disk_lease_dir = \"{}\"\n\
             host_id = {host_id}\n\
             require_lease_for_disks = 1\n\
             user = \"root\"\n\
             group = \"root\"\n",
            lease_dir.display()
        );
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
        let xml = DOMAIN_XML
            .replace("@TYPE@", domain_type)
            .replace("@NAME@", name)
            .replace("@UUID@", uuid)
            .replace("@EMULATOR@", &s(emulator))
            .replace("@DISK@", &s(disk));
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
    let out = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
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
    d1: TestDaemon,
    d2: TestDaemon,
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

    fn start(domain_type: &str) -> Cluster {
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
        let d1 = TestDaemon::paxlock("libvirt-host1");
        let d2 = TestDaemon::paxlock("libvirt-host2");

        // Driver start-up: the plugin creates __LIBVIRT__DISKS__ and joins
        // it. Host 1 first: the 9.0 plugin creates the file (O_EXCL),
        // zero-fills and formats it, while a host starting at the same
        // moment finds the file there, joins it at once and fails on the
        // unformatted sectors (logged only; libvirt then runs without the
        // lockspace). So host 2 starts once the lockspace is formatted;
        // both joins (about 2 * io_timeout = 20 s each) then run side by
        // side.
        let ls_file = lease_dir.join(LOCKSPACE);
        let mut h1 = Host::start("host 1", 1, &d1, &lease_dir);
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
        let mut h2 = Host::start("host 2", 2, &d2, &lease_dir);
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
            lease_dir,
            ls_file,
            disk,
            other_disk,
            t0,
            _work: work,
        };
        c.step("both hosts joined __LIBVIRT__DISKS__");
        c
    }
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
