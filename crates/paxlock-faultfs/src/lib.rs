//! paxlock-faultfs: a FUSE passthrough filesystem whose reads and writes
//! can be made slow, stalled or failing at run time, so that one host's
//! view of shared storage misbehaves while another view of the same
//! backing directory stays healthy.
//!
//! ```text
//! paxlock-faultfs --backing /srv/shared --mount /mnt/hostA --control /run/a.sock &
//! paxlock-faultfs --backing /srv/shared --mount /mnt/hostB &
//! paxlock-faultfs ctl /run/a.sock stall      # host A's storage hangs
//! paxlock-faultfs ctl /run/a.sock ok         # and recovers
//! ```
//!
//! See [`control`] for the commands and [`fs`] for how two mounts stay
//! coherent with clients doing `O_DIRECT` I/O.
//!
//! Limits, on purpose or not yet lifted:
//!
//! - Faults apply to reads, writes and fsyncs only; lookups, opens,
//!   getattr, truncate and directory operations always pass through.
//! - A client whose I/O is stalled sleeps uninterruptibly (state `D`, not
//!   even SIGKILL wakes it), as on hung shared storage, until the mode
//!   changes or this process ends (SIGTERM first lets stalled I/O go).
//! - Each delayed or stalled I/O waits on a thread of its own, so the FUSE
//!   worker threads stay free (and the control socket has its own thread);
//!   those threads are not bounded.
//! - Two mounts are coherent because both go to one backing filesystem on
//!   one machine: it is not a cluster filesystem.
//! - No rename, links or symlinks; inode numbers are this process's own
//!   and never reused.

pub mod control;
pub mod fs;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

pub use control::{Command, Faults, Mode};

/// How to mount.
#[derive(Debug, Clone)]
pub struct Options {
    /// The directory passed through.
    pub backing: PathBuf,
    /// Where to mount it.
    pub mountpoint: PathBuf,
    /// The control socket to create, if any.
    pub control: Option<PathBuf>,
    /// FUSE worker threads.
    pub threads: usize,
}

/// Whether `fusermount3` is on `PATH`.
pub fn have_fusermount3() -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("fusermount3").is_file()))
        .unwrap_or(false)
}

/// Mounts, serves until unmounted (by `fusermount3 -u`, or SIGTERM,
/// SIGINT or SIGHUP to this process), and unmounts. Prints `ready` on
/// stdout once the mount is live.
pub fn serve(opts: &Options) -> anyhow::Result<()> {
    if !Path::new("/dev/fuse").exists() {
        bail!("/dev/fuse not found: load the fuse module (modprobe fuse)");
    }
    if !rustix::process::geteuid().is_root() && !have_fusermount3() {
        bail!("fusermount3 not found: apt-get install fuse3");
    }
    let faults = Arc::new(Faults::new());
    let fs = fs::FaultFs::new(&opts.backing, faults.clone())
        .with_context(|| format!("backing directory {}", opts.backing.display()))?;
    let listener = match &opts.control {
        Some(path) => Some(bind_control(path)?),
        None => None,
    };
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        fuser::MountOption::FSName(format!("faultfs:{}", opts.backing.display())),
        fuser::MountOption::Subtype("paxlock-faultfs".into()),
    ];
    config.n_threads = Some(opts.threads.max(1));
    config.clone_fd = opts.threads > 1;
    let mut session = fuser::Session::new(fs, &opts.mountpoint, &config).map_err(|e| {
        let hint = if have_fusermount3() {
            ""
        } else {
            " (fusermount3 not found: apt-get install fuse3)"
        };
        anyhow::anyhow!("mounting {}: {e}{hint}", opts.mountpoint.display())
    })?;
    let unmounter = session.unmount_callable();

    if let Some(listener) = listener {
        let faults = faults.clone();
        std::thread::Builder::new()
            .name("faultfs-control".into())
            .spawn(move || control_loop(listener, faults))
            .context("starting the control thread")?;
    }
    {
        let faults = faults.clone();
        let control = opts.control.clone();
        let mountpoint = opts.mountpoint.clone();
        let mut signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGHUP,
        ])
        .context("installing signal handlers")?;
        let mut unmounter = unmounter;
        std::thread::Builder::new()
            .name("faultfs-signals".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    eprintln!(
                        "[{:.3}] paxlock-faultfs: signal {sig}, unmounting",
                        control::monotonic_secs()
                    );
                    // let stalled I/Os finish, then detach the mount
                    faults.apply(&Command::Set {
                        mode: Mode::Ok,
                        file: None,
                    });
                    if let Err(e) = unmounter.unmount() {
                        // busy (a client has a file open): detach lazily
                        if let Err(e2) = detach(&mountpoint) {
                            eprintln!("paxlock-faultfs: unmount: {e}; lazy unmount: {e2:#}");
                        }
                    }
                    // a client keeping a file open keeps the session up:
                    // the mount is detached already, so just go
                    std::thread::sleep(Duration::from_secs(2));
                    if let Some(c) = control {
                        let _ = std::fs::remove_file(c);
                    }
                    std::process::exit(0);
                }
            })
            .context("starting the signal thread")?;
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    eprintln!(
        "[{:.3}] paxlock-faultfs: {} mounted at {}{}",
        control::monotonic_secs(),
        opts.backing.display(),
        opts.mountpoint.display(),
        opts.control
            .as_ref()
            .map(|c| format!(", control socket {}", c.display()))
            .unwrap_or_default()
    );
    let result = session.run();
    if let Some(c) = &opts.control {
        let _ = std::fs::remove_file(c);
    }
    result.context("FUSE session")
}

/// Lazy unmount: the mount leaves the namespace now, the FUSE connection
/// when its last open file is closed (or this process exits).
fn detach(mountpoint: &Path) -> anyhow::Result<()> {
    if rustix::mount::unmount(mountpoint, rustix::mount::UnmountFlags::DETACH).is_ok() {
        return Ok(());
    }
    let status = std::process::Command::new("fusermount3")
        .args(["-u", "-z", "--"])
        .arg(mountpoint)
        .status()
        .context("fusermount3 not found: apt-get install fuse3")?;
    if !status.success() {
        bail!("fusermount3 -u -z {}: {status}", mountpoint.display());
    }
    Ok(())
}

fn bind_control(path: &Path) -> anyhow::Result<UnixListener> {
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_socket() {
            bail!("{}: exists and is not a socket", path.display());
        }
        if UnixStream::connect(path).is_ok() {
            bail!(
                "{}: another paxlock-faultfs is listening there",
                path.display()
            );
        }
        std::fs::remove_file(path).with_context(|| format!("removing stale {}", path.display()))?;
    }
    UnixListener::bind(path).with_context(|| format!("control socket {}", path.display()))
}

fn control_loop(listener: UnixListener, faults: Arc<Faults>) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let faults = faults.clone();
        let _ = std::thread::Builder::new()
            .name("faultfs-ctl-conn".into())
            .spawn(move || serve_control_conn(conn, &faults));
    }
}

/// Answers each command line of one connection with one reply line.
fn serve_control_conn(conn: UnixStream, faults: &Faults) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn.take(1 << 20));
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(control::MAX_LINE as u64 + 1)
            .read_line(&mut line)
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let reply = if line.len() > control::MAX_LINE && !line.ends_with('\n') {
            // drop the rest of the overlong line with the connection
            let r = format!("error: command longer than {} bytes", control::MAX_LINE);
            let _ = writeln!(out, "{r}");
            return;
        } else {
            faults.handle_line(&line)
        };
        if writeln!(out, "{reply}").is_err() {
            return;
        }
    }
}

/// Sends one command to a control socket and returns the reply line;
/// `Err` if it cannot be sent or the reply is an `error:`.
pub fn send_command(socket: &Path, command: &str) -> anyhow::Result<String> {
    if command.contains('\n') {
        bail!("a command is one line");
    }
    let mut s = UnixStream::connect(socket)
        .with_context(|| format!("connecting to control socket {}", socket.display()))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    writeln!(s, "{command}")?;
    s.shutdown(std::net::Shutdown::Write)?;
    let mut reply = String::new();
    BufReader::new(s)
        .read_line(&mut reply)
        .context("reading the reply")?;
    let reply = reply.trim_end().to_string();
    if reply.is_empty() {
        bail!("no reply from {}", socket.display());
    }
    if let Some(e) = reply.strip_prefix("error: ") {
        bail!("{e}");
    }
    Ok(reply)
}
