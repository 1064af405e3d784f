//! Watchdog device backends behind one trait.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

/// A watchdog device with Linux `/dev/watchdog` semantics: opening arms it
/// and pings it; closing after writing 'V' disarms it; closing without 'V'
/// pings it once more and leaves it running.
pub trait WatchdogDevice: std::fmt::Debug + Send {
    /// Open (arm + ping), with the fire timeout in force.
    fn open(&mut self) -> io::Result<()>;
    /// Ping.
    fn keepalive(&mut self) -> io::Result<()>;
    /// Close without 'V'.
    fn close_unclean(&mut self) -> io::Result<()>;
    /// Write 'V' and close.
    fn close_clean(&mut self) -> io::Result<()>;
    /// Ask for a fire timeout; returns the one in force (at the next open).
    fn set_fire_timeout(&mut self, seconds: u32) -> io::Result<u32>;
    /// The fire timeout in force.
    fn fire_timeout(&self) -> u32;
    /// For logs.
    fn describe(&self) -> String;
}

/// `/dev/watchdog` (or another watchdog device node).
#[derive(Debug)]
pub struct HwWatchdog {
    path: PathBuf,
    fire_timeout: u32,
    file: Option<File>,
}

impl HwWatchdog {
    /// A closed device at `path`, to be armed with `fire_timeout` seconds.
    pub fn new(path: impl Into<PathBuf>, fire_timeout: u32) -> HwWatchdog {
        HwWatchdog {
            path: path.into(),
            fire_timeout,
            file: None,
        }
    }

    /// The first of wdmd's candidate device paths that exists.
    pub fn probe_path() -> Option<PathBuf> {
        ["/dev/watchdog0", "/dev/watchdog1", "/dev/watchdog"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    }
}

impl WatchdogDevice for HwWatchdog {
    fn open(&mut self) -> io::Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let f = File::options().write(true).open(&self.path)?;
        let cur = crate::ioctl::get_timeout(&f);
        let ok = match cur {
            Ok(t) if t == self.fire_timeout => Ok(()),
            _ => match crate::ioctl::set_timeout(&f, self.fire_timeout) {
                Ok(t) if t == self.fire_timeout => Ok(()),
                Ok(t) => Err(io::Error::other(format!(
                    "{} took timeout {t}, not {}",
                    self.path.display(),
                    self.fire_timeout
                ))),
                Err(e) => Err(e),
            },
        };
        if let Err(e) = ok {
            // Disarm what we just armed, as wdmd does.
            let mut f = f;
            let _ = f.write_all(b"V");
            return Err(e);
        }
        crate::ioctl::keepalive(&f)?;
        self.file = Some(f);
        Ok(())
    }

    fn keepalive(&mut self) -> io::Result<()> {
        match &self.file {
            Some(f) => crate::ioctl::keepalive(f),
            None => Err(io::Error::other("watchdog not open")),
        }
    }

    fn close_unclean(&mut self) -> io::Result<()> {
        self.file = None;
        Ok(())
    }

    fn close_clean(&mut self) -> io::Result<()> {
        match self.file.take() {
            Some(mut f) => f.write_all(b"V"),
            None => Ok(()),
        }
    }

    fn set_fire_timeout(&mut self, seconds: u32) -> io::Result<u32> {
        if let Some(f) = &self.file {
            let t = crate::ioctl::set_timeout(f, seconds)?;
            self.fire_timeout = t;
            return Ok(t);
        }
        self.fire_timeout = seconds;
        Ok(seconds)
    }

    fn fire_timeout(&self) -> u32 {
        self.fire_timeout
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// The test watchdog: a separate process (see [`crate::testdev`]) that
/// models the device's timer and, when it would fire, kills the "host"
/// (a process group or a cgroup). Talking to it is a pipe of text lines;
/// the pipe closing is the device file closing, so if this process dies
/// the device behaves as after an unclean close and still fires.
#[derive(Debug)]
pub struct TestWatchdog {
    child: Child,
    stdin: Option<ChildStdin>,
    fire_timeout: u32,
    target: String,
}

impl TestWatchdog {
    /// Start the device process: `program args... test-device --target T
    /// --fire-timeout S [--log PATH]`. `program` must run
    /// [`crate::testdev::main`] for the `test-device` subcommand (the
    /// `paxlock-wdmd` binary does). It runs in its own process group, so
    /// that killing the daemon's group does not kill the device.
    pub fn spawn(
        program: &std::path::Path,
        prefix_args: &[String],
        target: &str,
        fire_timeout: u32,
        log: Option<&std::path::Path>,
    ) -> io::Result<TestWatchdog> {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(program);
        cmd.args(prefix_args)
            .arg("test-device")
            .arg("--target")
            .arg(target)
            .arg("--fire-timeout")
            .arg(fire_timeout.to_string())
            .stdin(Stdio::piped())
            .process_group(0);
        if let Some(l) = log {
            cmd.arg("--log").arg(l);
        }
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take();
        Ok(TestWatchdog {
            child,
            stdin,
            fire_timeout,
            target: target.to_string(),
        })
    }

    /// Pid of the device process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        match &mut self.stdin {
            Some(s) => {
                s.write_all(line.as_bytes())?;
                s.flush()
            }
            None => Err(io::Error::other("test watchdog pipe closed")),
        }
    }
}

impl WatchdogDevice for TestWatchdog {
    fn open(&mut self) -> io::Result<()> {
        self.send("open\n")
    }
    fn keepalive(&mut self) -> io::Result<()> {
        self.send("ping\n")
    }
    fn close_unclean(&mut self) -> io::Result<()> {
        self.send("close\n")
    }
    fn close_clean(&mut self) -> io::Result<()> {
        self.send("V\nclose\n")
    }
    fn set_fire_timeout(&mut self, seconds: u32) -> io::Result<u32> {
        self.send(&format!("timeout {seconds}\n"))?;
        self.fire_timeout = seconds;
        Ok(seconds)
    }
    fn fire_timeout(&self) -> u32 {
        self.fire_timeout
    }
    fn describe(&self) -> String {
        format!(
            "test watchdog pid {} target {}",
            self.child.id(),
            self.target
        )
    }
}

impl TestWatchdog {
    /// Close the pipe (the device file) and wait for the device process if
    /// it exits (it does when disarmed; an armed one goes on until it fires).
    pub fn shutdown(mut self, wait: bool) -> io::Result<()> {
        self.stdin = None;
        if wait {
            self.child.wait()?;
        }
        Ok(())
    }
}
