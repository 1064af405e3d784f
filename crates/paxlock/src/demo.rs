//! `paxlock demo`: paxlock's main job on local files. Two paxlock daemons
//! play two hosts that share storage; a stand-in VM process on host A
//! holds its disk's lease; host B is refused while A's VM runs; A's VM
//! stops; B gets the lease. Every step prints the command it runs (the
//! same `paxlock client` / `sanlock client` syntax an admin would type).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::DemoArgs;

/// A small io_timeout keeps the demo short (a join takes ~2 io_timeouts).
const IO: &str = "1";

struct Host {
    name: &'static str,
    run_dir: PathBuf,
    daemon: Child,
}

struct Demo {
    exe: PathBuf,
    dir: PathBuf,
    keep: bool,
    hosts: Vec<Host>,
    vm: Option<Child>,
    t0: Instant,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(vm) = &mut self.vm {
            let _ = vm.kill();
            let _ = vm.wait();
        }
        for h in &mut self.hosts {
            let _ = Command::new(&self.exe)
                .args(["client", "shutdown", "-f", "1"])
                .env("SANLOCK_RUN_DIR", &h.run_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = h.daemon.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = h.daemon.kill();
            let _ = h.daemon.wait();
        }
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn step(d: &Demo, text: &str) {
    let (b, e) = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    println!("\n{b}[{:>4.1}s] {text}{e}", d.t0.elapsed().as_secs_f64());
}

fn show(host: Option<&str>, args: &[&str]) {
    let who = host.map(|h| format!("[{h}] ")).unwrap_or_default();
    println!("  {who}$ paxlock {}", args.join(" "));
}

impl Demo {
    fn paxlock(&self, host: Option<&Host>, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args);
        if let Some(h) = host {
            c.env("SANLOCK_RUN_DIR", &h.run_dir);
        }
        c
    }

    /// Runs `paxlock ARGS` (on `host`), shows it and its output indented.
    fn run(&self, host: Option<&Host>, args: &[&str]) -> Result<(i32, String), String> {
        show(host.map(|h| h.name), args);
        let out = self
            .paxlock(host, args)
            .output()
            .map_err(|e| format!("paxlock {}: {e}", args.join(" ")))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        for l in text.lines() {
            println!("      {l}");
        }
        Ok((out.status.code().unwrap_or(-1), text))
    }

    fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    fn lease(&self) -> String {
        format!(
            "cloud:vm1-disk:{}:0",
            self.dir.join("vm1-disk.lease").display()
        )
    }
}

fn start_daemon(exe: &Path, dir: &Path, name: &'static str) -> Result<Host, String> {
    let run_dir = dir.join(name);
    std::fs::create_dir_all(&run_dir).map_err(|e| format!("{}: {e}", run_dir.display()))?;
    let log = std::fs::File::create(run_dir.join("daemon.log")).map_err(|e| e.to_string())?;
    show(Some(name), &["daemon", "-w", "0", "-e", name]);
    let daemon = Command::new(exe)
        .args(["daemon", "-w", "0", "-e", name])
        .env("SANLOCK_RUN_DIR", &run_dir)
        .env("PAXLOCK_CONFIG", "/dev/null")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the daemon: {e}"))?;
    let host = Host {
        name,
        run_dir,
        daemon,
    };
    // Wait for its socket to answer.
    for _ in 0..100 {
        let ok = Command::new(exe)
            .args(["client", "gets"])
            .env("SANLOCK_RUN_DIR", &host.run_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(host);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("the daemon of {name} did not come up"))
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find paxlock itself: {e}"))?;
    let (dir, keep) = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            (d.clone(), true)
        }
        None => {
            // Short: the run dirs hold unix sockets (108-byte path limit).
            let d = PathBuf::from(format!("/tmp/paxlock-demo.{}", std::process::id()));
            std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            (d, false)
        }
    };
    let mut d = Demo {
        exe,
        dir,
        keep,
        hosts: Vec::new(),
        vm: None,
        t0: Instant::now(),
    };
    println!(
        "paxlock demo: two hosts, one shared VM disk lease, in {}",
        d.dir.display()
    );

    step(
        &d,
        "1. Shared storage: a lockspace and a lease for the disk of VM vm1",
    );
    let ids = d.dir.join("ids");
    for f in [&ids, &d.dir.join("vm1-disk.lease")] {
        std::fs::File::create(f)
            .and_then(|file| file.set_len(1 << 20))
            .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    let ids_s = ids.display().to_string();
    let (rv, _) = d.run(
        None,
        &[
            "direct",
            "init",
            "-s",
            &format!("cloud:0:{ids_s}:0"),
            "-o",
            IO,
        ],
    )?;
    let lease = d.lease();
    let (rv2, _) = d.run(None, &["direct", "init", "-r", &lease])?;
    if rv != 0 || rv2 != 0 {
        return Err("could not initialise the lease files".into());
    }

    step(
        &d,
        "2. Two hosts: a paxlock daemon each, with its own run dir (-w 0: no watchdog in this demo; docs/fencing.md shows fencing)",
    );
    d.hosts.push(start_daemon(&d.exe, &d.dir, "host-A")?);
    d.hosts.push(start_daemon(&d.exe, &d.dir, "host-B")?);

    step(
        &d,
        "3. Both join the lockspace (host_id 1 and 2); a join takes about 2 io_timeouts",
    );
    let mut joins = Vec::new();
    for (i, h) in d.hosts.iter().enumerate() {
        let a = [
            "client",
            "add_lockspace",
            "-s",
            &format!("cloud:{}:{ids_s}:0", i + 1),
            "-o",
            IO,
        ]
        .map(String::from);
        show(
            Some(h.name),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        joins.push(
            d.paxlock(Some(h), &a.iter().map(String::as_str).collect::<Vec<_>>())
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?,
        );
    }
    let started = Instant::now();
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    for (i, j) in joins.iter_mut().enumerate() {
        loop {
            match j.try_wait().map_err(|e| e.to_string())? {
                Some(st) if st.success() => break,
                Some(st) => return Err(format!("host {} could not join ({st})", i + 1)),
                None => {
                    if tty {
                        print!("\r      joining ... {} s", started.elapsed().as_secs());
                        let _ = std::io::Write::flush(&mut std::io::stdout());
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
        }
    }
    let cr = if tty { "\r" } else { "" };
    println!(
        "{cr}      both joined in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    d.run(Some(d.host(0)), &["client", "gets", "-h", "1"])?;

    step(
        &d,
        "4. VM vm1 starts on host A: a stand-in process takes its disk lease and runs",
    );
    let vm_args = ["client", "command", "-r", &lease, "-c", "/bin/sleep", "600"];
    show(Some("host-A"), &vm_args);
    let vm = d
        .paxlock(Some(d.host(0)), &vm_args)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let vm_pid = vm.id();
    d.vm = Some(vm);
    let mut held = false;
    for _ in 0..100 {
        let out = d
            .paxlock(
                Some(d.host(0)),
                &["client", "inquire", "-p", &vm_pid.to_string()],
            )
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&out.stdout).contains("vm1-disk") {
            held = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !held {
        return Err("the VM on host A did not get its lease".into());
    }
    d.run(
        Some(d.host(0)),
        &["client", "inquire", "-p", &vm_pid.to_string()],
    )?;
    d.run(
        None,
        &[
            "direct",
            "dump",
            &d.dir.join("vm1-disk.lease").display().to_string(),
        ],
    )?;

    step(&d, "5. Host B tries to start vm1 as well, and is refused");
    let b_starts_vm1 = [
        "client",
        "command",
        "-r",
        &lease,
        "-c",
        "/bin/echo",
        "vm1 runs on host B",
    ];
    let (rv, text) = d.run(Some(d.host(1)), &b_starts_vm1)?;
    if rv == 0 || !text.contains("-243") {
        return Err(format!("host B was not refused as expected (exit {rv})"));
    }
    println!(
        "      => refused (-243, SANLK_ACQUIRE_IDLIVE): the lease belongs to host_id 1,\n         \
         whose host is alive (it renews its delta lease), so B must not start vm1."
    );

    step(
        &d,
        "6. VM vm1 stops on host A: its process exits and the daemon releases the lease",
    );
    println!("  [host-A] $ kill {vm_pid}   # the VM process ends");
    if let Some(mut vm) = d.vm.take() {
        let _ = vm.kill();
        let _ = vm.wait();
    }
    let mut free = false;
    for _ in 0..100 {
        let out = d
            .paxlock(None, &["direct", "read_leader", "-r", &lease])
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&out.stdout).contains("timestamp 0") {
            free = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !free {
        return Err("host A did not release the lease".into());
    }
    println!("      the lease's leader has timestamp 0 again: free");

    step(
        &d,
        "7. Host B starts vm1 now: it gets the lease (next lease version)",
    );
    let (rv, _) = d.run(Some(d.host(1)), &b_starts_vm1)?;
    if rv != 0 {
        return Err(format!("host B could not take the free lease (exit {rv})"));
    }
    d.run(
        None,
        &[
            "direct",
            "dump",
            &d.dir.join("vm1-disk.lease").display().to_string(),
        ],
    )?;

    step(&d, "8. Done: both hosts leave the lockspace and stop");
    for (i, h) in d.hosts.iter().enumerate() {
        d.run(
            Some(h),
            &[
                "client",
                "rem_lockspace",
                "-s",
                &format!("cloud:{}:{ids_s}:0", i + 1),
            ],
        )?;
    }
    println!(
        "\npaxlock demo finished in {:.1} s: exactly one host held vm1's disk lease at any time.",
        d.t0.elapsed().as_secs_f64()
    );
    Ok(())
}
