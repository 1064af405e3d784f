//! Helpers for `paxlock client` tests: run the real `sanlock client` and
//! `paxlock client` against the same daemon and compare.
#![allow(dead_code)]

use std::process::Command;

use super::{Run, TestDaemon};

fn run(mut c: Command) -> Run {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("cannot run {c:?}: {e}"));
    Run {
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// `paxlock client ARGS` with `SANLOCK_RUN_DIR=run_dir`.
pub fn px_in(run_dir: &std::path::Path, args: &[&str]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paxlock"));
    c.arg("client").args(args).env("SANLOCK_RUN_DIR", run_dir);
    run(c)
}

/// `sanlock client ARGS` with `SANLOCK_RUN_DIR=run_dir`.
pub fn sl_in(run_dir: &std::path::Path, args: &[&str]) -> Run {
    let mut c = Command::new("sanlock");
    c.arg("client").args(args).env("SANLOCK_RUN_DIR", run_dir);
    run(c)
}

/// `paxlock client ARGS` against `d`.
pub fn px(d: &TestDaemon, args: &[&str]) -> Run {
    px_in(d.run_dir.path(), args)
}

/// A `paxlock client` command against `d`, not yet run.
pub fn px_command(d: &TestDaemon, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paxlock"));
    c.arg("client")
        .args(args)
        .env("SANLOCK_RUN_DIR", d.run_dir.path());
    c
}

/// Every run of digits replaced by `#` (timestamps, fds, monotonic times).
pub fn mask_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_num = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_num {
                out.push('#');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

/// Drops the daemon's transient client slots from `status` output: the
/// `p -1 ` lines with an empty name (connections being freed) and the
/// `p -1 status` line (the asking connection), with their `-D` details.
pub fn drop_transient(s: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for l in s.lines() {
        if l.starts_with("    ") {
            if !skipping {
                out.push_str(l);
                out.push('\n');
            }
            continue;
        }
        skipping = l == "p -1 " || l == "p -1 status";
        if !skipping {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Runs `sanlock client ARGS` then `paxlock client ARGS` against `d` and
/// asserts the same exit code and the same stdout after `norm`.
pub fn same_with(d: &TestDaemon, args: &[&str], norm: &dyn Fn(&str) -> String) -> Run {
    let s = d.client(args);
    let p = px(d, args);
    assert_eq!(
        norm(&p.stdout_str()),
        norm(&s.stdout_str()),
        "stdout of `client {}` differs (left paxlock, right sanlock)\n--- paxlock stderr:\n{}\n--- sanlock stderr:\n{}",
        args.join(" "),
        p.stderr,
        s.stderr
    );
    assert_eq!(
        p.code,
        s.code,
        "exit code of `client {}` differs; paxlock stderr: {}",
        args.join(" "),
        p.stderr
    );
    p
}

/// [`same_with`] comparing stdout exactly.
pub fn same(d: &TestDaemon, args: &[&str]) -> Run {
    same_with(d, args, &|s| s.to_string())
}

/// Polls `f` every 100 ms until it is true or `secs` pass.
pub fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    f()
}
