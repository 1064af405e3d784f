//! The `paxlock-wdmd` command line, shared by the `paxlock-wdmd` binary and
//! (eventually) `paxlock wdmd ...`: see [`run`].

use crate::client::WdmdClient;
use crate::daemon::{log, Daemon, DaemonOptions};
use crate::device::{HwWatchdog, TestWatchdog, WatchdogDevice};
use crate::mux::MuxConfig;
use crate::proto::DEFAULT_SOCKET_PATH;
use crate::testdev::{self, DeviceOptions, Target};
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Parser, Debug)]
/// wdmd-compatible watchdog multiplexer.
#[command(name = "paxlock-wdmd", about = "wdmd-compatible watchdog multiplexer")]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the daemon (stays in the foreground; logs to stderr).
    Daemon(DaemonArgs),
    /// Print the daemon's debug dump (as `wdmd --dump`).
    Dump {
        /// Socket path.
        #[arg(long, default_value = DEFAULT_SOCKET_PATH)]
        socket: PathBuf,
    },
    /// Print the daemon's STATUS reply.
    Status {
        /// Socket path.
        #[arg(long, default_value = DEFAULT_SOCKET_PATH)]
        socket: PathBuf,
    },
    /// The test watchdog device process (started by the daemon).
    #[command(hide = true)]
    TestDevice {
        /// pgid:N or cgroup:PATH.
        #[arg(long)]
        target: Target,
        /// Fire timeout, seconds.
        #[arg(long)]
        fire_timeout: u32,
        /// Log file to append to.
        #[arg(long)]
        log: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
struct DaemonArgs {
    /// Socket path (libwdmd, as used by sanlock, always connects to the default).
    #[arg(long, default_value = DEFAULT_SOCKET_PATH)]
    socket: PathBuf,
    /// Instead of a watchdog device, a test watchdog that SIGKILLs this
    /// process group (pgid:N) or cgroup v2 directory (cgroup:PATH) when a
    /// hardware watchdog would fire.
    #[arg(long, value_name = "pgid:N|cgroup:PATH")]
    test_fire: Option<Target>,
    /// Test watchdog event log (FIRE lines), appended to.
    #[arg(long)]
    test_log: Option<PathBuf>,
    /// Watchdog device (default: the first of /dev/watchdog0, /dev/watchdog1, /dev/watchdog).
    #[arg(long, short = 'w')]
    watchdog_device: Option<PathBuf>,
    /// Fire timeout, seconds (sanlock 3.8.5 requires 60).
    #[arg(long, default_value_t = 60)]
    fire_timeout: u32,
    /// Test interval, seconds (default from the fire timeout: 10 for 60).
    #[arg(long)]
    test_interval: Option<u32>,
    /// Group id owning the socket.
    #[arg(long, short = 'G')]
    socket_gid: Option<u32>,
}

fn run_daemon<D: WatchdogDevice>(a: &DaemonArgs, dev: D, mux: MuxConfig) -> std::io::Result<D> {
    let quit = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&quit))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&quit))?;
    let opts = DaemonOptions {
        socket: a.socket.clone(),
        socket_gid: a.socket_gid,
        mux,
    };
    let mut d = Daemon::new(opts, dev, quit)?;
    d.run()?;
    Ok(d.into_device())
}

fn daemon(a: DaemonArgs, device_prefix: &[String]) -> std::io::Result<()> {
    if a.fire_timeout == 0 {
        return Err(std::io::Error::other("fire timeout must be > 0"));
    }
    let mut mux = MuxConfig::for_fire_timeout(a.fire_timeout);
    if let Some(ti) = a.test_interval {
        mux.test_interval_ms = u64::from(ti.max(1)) * 1000;
    }
    match &a.test_fire {
        Some(t) => {
            let exe = std::env::current_exe()?;
            let dev = TestWatchdog::spawn(
                &exe,
                device_prefix,
                &t.to_string(),
                a.fire_timeout,
                a.test_log.as_deref(),
            )?;
            log(&format!("test watchdog process {}", dev.pid()));
            let dev = run_daemon(&a, dev, mux)?;
            dev.shutdown(true)
        }
        None => {
            let path = match &a.watchdog_device {
                Some(p) => p.clone(),
                None => HwWatchdog::probe_path().ok_or_else(|| {
                    std::io::Error::other(
                        "no watchdog device, load a watchdog driver (softdog) or use --test-fire",
                    )
                })?,
            };
            run_daemon(&a, HwWatchdog::new(path, a.fire_timeout), mux).map(|_| ())
        }
    }
}

/// Parse `argv` (program name first) and run. `device_prefix` are the
/// arguments that make the current executable reach this same command line
/// (`[]` for `paxlock-wdmd`, `["wdmd"]` for `paxlock wdmd`): the test
/// watchdog re-executes it as `<exe> <prefix..> test-device ...`.
/// Returns the exit status.
pub fn run<I, T>(argv: I, device_prefix: &[String]) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let r = match cli.cmd {
        Command::Daemon(a) => daemon(a, device_prefix),
        Command::Dump { socket } => WdmdClient::connect(&socket)
            .and_then(|mut c| c.dump_debug())
            .map(|s| print!("{s}")),
        Command::Status { socket } => WdmdClient::connect(&socket)
            .and_then(|mut c| c.status())
            .map(|s| {
                println!(
                    "test_interval {} fire_timeout {} last_keepalive {}",
                    s.test_interval, s.fire_timeout, s.last_keepalive
                )
            }),
        Command::TestDevice {
            target,
            fire_timeout,
            log,
        } => testdev::main(DeviceOptions {
            target,
            fire_timeout_s: fire_timeout,
            log,
        }),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("paxlock-wdmd: {e}");
            1
        }
    }
}
