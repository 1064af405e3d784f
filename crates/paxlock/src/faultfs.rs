//! `paxlock faultfs`: the fault-injecting FUSE passthrough of
//! `paxlock-faultfs`, for fault tests (one host's storage stalls or fails
//! while another host's view of it stays healthy).

use std::path::PathBuf;

/// Runs `paxlock faultfs ARGS`; returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let usage = "usage: paxlock faultfs --backing DIR --mount MNT [--control SOCK] [--threads N]\n       \
                 paxlock faultfs ctl SOCK COMMAND (ok, delay MS, stall, eio, eio-writes, eio-reads [FILE]; status)";
    if args.first().map(String::as_str) == Some("ctl") {
        let (Some(sock), true) = (args.get(1), args.len() > 2) else {
            eprintln!("{usage}");
            return 2;
        };
        return match paxlock_faultfs::send_command(&PathBuf::from(sock), &args[2..].join(" ")) {
            Ok(r) => {
                println!("{r}");
                i32::from(r.starts_with("error"))
            }
            Err(e) => {
                eprintln!("paxlock: faultfs ctl: {e:#}");
                1
            }
        };
    }
    let (mut backing, mut mountpoint, mut control, mut threads) = (None, None, None, 4);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next();
        match (a.as_str(), v) {
            ("--backing", Some(v)) => backing = Some(PathBuf::from(v)),
            ("--mount", Some(v)) => mountpoint = Some(PathBuf::from(v)),
            ("--control", Some(v)) => control = Some(PathBuf::from(v)),
            ("--threads", Some(v)) => match v.parse() {
                Ok(n) => threads = n,
                Err(_) => {
                    eprintln!("paxlock: faultfs: --threads {v}: not a number\n{usage}");
                    return 2;
                }
            },
            _ => {
                eprintln!("paxlock: faultfs: unexpected {a:?}\n{usage}");
                return 2;
            }
        }
    }
    let (Some(backing), Some(mountpoint)) = (backing, mountpoint) else {
        eprintln!("{usage}");
        return 2;
    };
    match paxlock_faultfs::serve(&paxlock_faultfs::Options {
        backing,
        mountpoint,
        control,
        threads,
    }) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("paxlock: faultfs: {e:#}");
            1
        }
    }
}
