//! Fault modes, the one-line control commands that switch them, and the
//! gate every read and write of the filesystem passes through.
//!
//! Commands (one per line on the control socket, or the words after
//! `paxlock-faultfs ctl SOCKET`):
//!
//! | command            | effect                                              |
//! |--------------------|-----------------------------------------------------|
//! | `ok`               | everything healthy again; forgets every per-file rule |
//! | `delay MS`         | every read and write sleeps MS milliseconds first   |
//! | `stall`            | reads and writes block until the mode changes       |
//! | `eio`              | reads and writes fail with EIO                      |
//! | `eio-writes`       | writes fail with EIO, reads work                    |
//! | `eio-reads`        | reads fail with EIO, writes work                    |
//! | `MODE ... FILE`    | the same, for files named FILE only (a file name such as `ids`, or a path from the mount's root); `ok FILE` makes FILE healthy whatever the global mode |
//! | `status`           | the mode, the per-file rules and I/O counters       |
//!
//! Every reply is one line: `ok: STATUS` or `error: MESSAGE`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Longest delay accepted (one hour): longer ones are almost surely typos.
pub const MAX_DELAY_MS: u64 = 3_600_000;

/// Longest command line accepted on the control socket.
pub const MAX_LINE: usize = 4096;

/// What reads and writes of a file do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Pass through.
    Ok,
    /// Sleep this long, then pass through.
    Delay(Duration),
    /// Block until the mode changes, then do what the new mode says.
    Stall,
    /// Reads and writes fail with EIO.
    Eio,
    /// Writes fail with EIO; reads pass through.
    EioWrites,
    /// Reads fail with EIO; writes pass through.
    EioReads,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Ok => write!(f, "ok"),
            Mode::Delay(d) => write!(f, "delay {}", d.as_millis()),
            Mode::Stall => write!(f, "stall"),
            Mode::Eio => write!(f, "eio"),
            Mode::EioWrites => write!(f, "eio-writes"),
            Mode::EioReads => write!(f, "eio-reads"),
        }
    }
}

/// A parsed control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Set the mode of every file (`file: None`, which also forgets the
    /// per-file rules) or of the files named `file`.
    Set {
        /// The new mode.
        mode: Mode,
        /// Only files with this name or path, if given.
        file: Option<String>,
    },
    /// Report the state.
    Status,
}

/// Parses one command line. Never panics; every bad input is an `Err`
/// with a message saying what is wrong.
pub fn parse(line: &str) -> Result<Command, String> {
    if line.len() > MAX_LINE {
        return Err(format!("command longer than {MAX_LINE} bytes"));
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&verb, args)) = words.split_first() else {
        return Err(
            "empty command; try: ok, delay MS, stall, eio, eio-writes, eio-reads, status".into(),
        );
    };
    let (mode, rest) = match verb {
        "status" => {
            return if args.is_empty() {
                Ok(Command::Status)
            } else {
                Err("status takes no arguments".into())
            };
        }
        "ok" => (Mode::Ok, args),
        "stall" => (Mode::Stall, args),
        "eio" => (Mode::Eio, args),
        "eio-writes" => (Mode::EioWrites, args),
        "eio-reads" => (Mode::EioReads, args),
        "delay" => {
            let Some((ms, rest)) = args.split_first() else {
                return Err("delay needs milliseconds: delay MS [FILE]".into());
            };
            let ms: u64 = ms
                .parse()
                .map_err(|_| format!("delay: {ms:?} is not a number of milliseconds"))?;
            if ms > MAX_DELAY_MS {
                return Err(format!("delay: {ms} ms is more than {MAX_DELAY_MS} ms"));
            }
            (Mode::Delay(Duration::from_millis(ms)), rest)
        }
        other => {
            return Err(format!(
                "unknown command {other:?}; try: ok, delay MS, stall, eio, eio-writes, eio-reads, status"
            ))
        }
    };
    let file = match rest {
        [] => None,
        [file] => Some(valid_file(file)?),
        _ => return Err(format!("{verb}: too many arguments (at most one FILE)")),
    };
    Ok(Command::Set { mode, file })
}

fn valid_file(file: &str) -> Result<String, String> {
    let trimmed = file.trim_matches('/');
    if trimmed.is_empty()
        || trimmed
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(format!(
            "{file:?} is not a file name or a path below the mount"
        ));
    }
    Ok(trimmed.to_string())
}

/// An I/O the mode says is to fail with EIO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectedEio;

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A read.
    Read,
    /// A write.
    Write,
}

/// The fault state of one mount, shared by the filesystem's threads and
/// the control listener.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug)]
struct State {
    global: Mode,
    files: BTreeMap<String, Mode>,
    reads: u64,
    writes: u64,
    failed: u64,
    stalled: u64,
}

impl Default for State {
    fn default() -> Self {
        State {
            global: Mode::Ok,
            files: BTreeMap::new(),
            reads: 0,
            writes: 0,
            failed: 0,
            stalled: 0,
        }
    }
}

impl State {
    /// The mode for `path` (relative to the mount's root): its own rule
    /// (by path, then by file name), else the global mode.
    fn mode_for(&self, path: &str) -> Mode {
        if self.files.is_empty() {
            return self.global;
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        self.files
            .get(path)
            .or_else(|| self.files.get(name))
            .copied()
            .unwrap_or(self.global)
    }

    fn status(&self) -> String {
        let mut s = format!("mode={}", self.global);
        for (file, mode) in &self.files {
            s.push_str(&format!(" file[{file}]={mode}"));
        }
        s.push_str(&format!(
            " reads={} writes={} failed={} stalled={}",
            self.reads, self.writes, self.failed, self.stalled
        ));
        s
    }
}

/// Seconds of `CLOCK_MONOTONIC`, the clock sanlock's logs use.
pub fn monotonic_secs() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

impl Faults {
    /// A healthy state.
    pub fn new() -> Faults {
        Faults::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a command and returns its reply line (without newline).
    /// Mode changes are logged to stderr with a monotonic timestamp.
    pub fn apply(&self, cmd: &Command) -> String {
        let mut st = self.lock();
        match cmd {
            Command::Status => {}
            Command::Set { mode, file: None } => {
                let was = st.global;
                let had_rules = !st.files.is_empty();
                st.global = *mode;
                st.files.clear();
                eprintln!(
                    "[{:.3}] paxlock-faultfs: mode {mode} for all files (was {was}{})",
                    monotonic_secs(),
                    if had_rules {
                        ", and per-file rules"
                    } else {
                        ""
                    },
                );
                self.changed.notify_all();
            }
            Command::Set {
                mode,
                file: Some(f),
            } => {
                let was = st.mode_for(f);
                st.files.insert(f.clone(), *mode);
                eprintln!(
                    "[{:.3}] paxlock-faultfs: mode {mode} for {f} (was {was})",
                    monotonic_secs()
                );
                self.changed.notify_all();
            }
        }
        format!("ok: {}", st.status())
    }

    /// Parses and applies one command line; the reply line.
    pub fn handle_line(&self, line: &str) -> String {
        match parse(line) {
            Ok(cmd) => self.apply(&cmd),
            Err(e) => format!("error: {e}"),
        }
    }

    /// The state as `status` reports it.
    pub fn status(&self) -> String {
        self.lock().status()
    }

    /// Whether an I/O of `path` may have to wait now (delay or stall): the
    /// filesystem then serves it on a thread of its own.
    pub fn may_wait(&self, path: &str) -> bool {
        matches!(self.lock().mode_for(path), Mode::Delay(_) | Mode::Stall)
    }

    /// The gate an I/O of `path` passes before it is done: returns when it
    /// may proceed, after the delay or stall its mode imposes, or
    /// `Err(InjectedEio)` when it is to fail with EIO.
    pub fn gate(&self, path: &str, op: Op) -> Result<(), InjectedEio> {
        let mut st = self.lock();
        match op {
            Op::Read => st.reads += 1,
            Op::Write => st.writes += 1,
        }
        let mut stalled = false;
        let result = loop {
            match (st.mode_for(path), op) {
                (Mode::Ok, _) | (Mode::EioWrites, Op::Read) | (Mode::EioReads, Op::Write) => {
                    break Ok(())
                }
                (Mode::Eio, _) | (Mode::EioWrites, Op::Write) | (Mode::EioReads, Op::Read) => {
                    st.failed += 1;
                    break Err(InjectedEio);
                }
                (Mode::Delay(d), _) => {
                    if stalled {
                        st.stalled -= 1;
                    }
                    drop(st);
                    std::thread::sleep(d);
                    return Ok(());
                }
                (Mode::Stall, _) => {
                    if !stalled {
                        stalled = true;
                        st.stalled += 1;
                    }
                    st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            }
        };
        if stalled {
            st.stalled -= 1;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    fn set(mode: Mode, file: Option<&str>) -> Command {
        Command::Set {
            mode,
            file: file.map(str::to_string),
        }
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(parse("ok"), Ok(set(Mode::Ok, None)));
        assert_eq!(parse("  stall \n"), Ok(set(Mode::Stall, None)));
        assert_eq!(parse("eio"), Ok(set(Mode::Eio, None)));
        assert_eq!(parse("eio-writes"), Ok(set(Mode::EioWrites, None)));
        assert_eq!(parse("eio-reads"), Ok(set(Mode::EioReads, None)));
        assert_eq!(
            parse("delay 500"),
            Ok(set(Mode::Delay(Duration::from_millis(500)), None))
        );
        assert_eq!(
            parse("delay 0 ids"),
            Ok(set(Mode::Delay(Duration::ZERO), Some("ids")))
        );
        assert_eq!(parse("stall ids"), Ok(set(Mode::Stall, Some("ids"))));
        assert_eq!(parse("ok /sub/ids/"), Ok(set(Mode::Ok, Some("sub/ids"))));
        assert_eq!(parse("status"), Ok(Command::Status));
    }

    #[test]
    fn rejects_bad_commands() {
        for bad in [
            "",
            "   ",
            "stal",
            "STALL",
            "delay",
            "delay -1",
            "delay 1.5",
            "delay 99999999999999999999999",
            "delay 3600001",
            "delay x ids",
            "stall a b",
            "status now",
            "eio /",
            "eio a//b",
            "eio ../x",
            "eio ./x",
        ] {
            let r = parse(bad);
            assert!(r.is_err(), "{bad:?} parsed as {r:?}");
        }
        assert!(parse(&"x".repeat(MAX_LINE + 1)).is_err());
    }

    #[test]
    fn parser_never_panics_on_odd_bytes() {
        let pieces = [
            "ok",
            "delay",
            "stall",
            "eio",
            "1",
            "-",
            "\u{0}",
            "é",
            "\t",
            " ",
            "/",
            "..",
            "999",
            "eio-writes",
            "status",
            "\u{feff}",
        ];
        // every sequence of up to three pieces, with and without spaces
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let _ = parse(&format!("{a}{b}{c}"));
                    let _ = parse(&format!("{a} {b} {c}"));
                }
            }
        }
    }

    #[test]
    fn per_file_rules_override_the_global_mode() {
        let f = Faults::new();
        f.apply(&set(Mode::Eio, Some("ids")));
        assert_eq!(f.gate("ids", Op::Read), Err(InjectedEio));
        assert_eq!(f.gate("sub/ids", Op::Read), Err(InjectedEio));
        assert_eq!(f.gate("leases", Op::Read), Ok(()));
        f.apply(&set(Mode::EioWrites, None)); // clears the rule for ids
        assert_eq!(f.gate("ids", Op::Read), Ok(()));
        assert_eq!(f.gate("ids", Op::Write), Err(InjectedEio));
        f.apply(&set(Mode::Ok, Some("sub/ids")));
        assert_eq!(f.gate("sub/ids", Op::Write), Ok(()));
        assert_eq!(f.gate("ids", Op::Write), Err(InjectedEio));
        f.apply(&set(Mode::EioReads, None));
        assert_eq!(f.gate("ids", Op::Read), Err(InjectedEio));
        assert_eq!(f.gate("ids", Op::Write), Ok(()));
        let status = f.status();
        assert!(status.starts_with("mode=eio-reads reads="), "{status}");
    }

    #[test]
    fn stall_blocks_until_the_mode_changes() {
        let f = Arc::new(Faults::new());
        f.apply(&set(Mode::Stall, None));
        let g = f.clone();
        let t = std::thread::spawn(move || g.gate("ids", Op::Read));
        let start = Instant::now();
        while !f.status().ends_with("stalled=1") {
            assert!(start.elapsed() < Duration::from_secs(5), "{}", f.status());
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!t.is_finished());
        // a stalled I/O follows the new mode: eio fails it
        f.apply(&set(Mode::Eio, None));
        assert_eq!(t.join().unwrap(), Err(InjectedEio));
        assert!(f.status().ends_with("failed=1 stalled=0"), "{}", f.status());
    }

    #[test]
    fn delay_sleeps() {
        let f = Faults::new();
        f.handle_line("delay 50");
        assert!(f.may_wait("x"));
        let start = Instant::now();
        assert_eq!(f.gate("x", Op::Write), Ok(()));
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert!(f.handle_line("nonsense").starts_with("error: "));
        assert!(f.handle_line("ok").starts_with("ok: mode=ok"));
        assert!(!f.may_wait("x"));
    }
}
