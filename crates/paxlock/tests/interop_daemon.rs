//! `dump` and `read_leader` print exactly what sanlock prints for areas a
//! live sanlock daemon wrote: a lockspace with two renewing hosts and a host
//! event, an exclusively held lease, a lease held shared by two hosts, a
//! lease with a pending request, an rindex, and 4K-sector variants.
//!
//! The areas come from `tests/interop/sanlock-fixtures.sh`, which runs two
//! real sanlock daemons and snapshots the files while the leases are held.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

fn make_fixtures() -> (tempfile::TempDir, PathBuf) {
    let dir = scratch();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/sanlock-fixtures.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("run sanlock-fixtures.sh");
    assert!(
        out.status.success(),
        "sanlock-fixtures.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let snap = dir.path().join("snap");
    (dir, snap)
}

#[test]
fn areas_written_by_a_live_sanlock_daemon() {
    let (_dir, snap) = make_fixtures();
    let f = |n: &str| s(&snap.join(n));
    for name in [
        "ls.img", "ex.img", "sh.img", "rel.img", "rx.img", "ls4k.img", "ex4k.img",
    ] {
        for mode in ["0", "1", "2"] {
            let r = assert_same(&["direct", "dump", &f(name), "-f", mode]);
            assert!(
                r.stderr.is_empty(),
                "{name}: unexpected problems reported: {}",
                r.stderr
            );
        }
    }
    // The dumps show what the fixtures set out to make.
    let ls = paxlock(&["direct", "dump", &f("ls.img"), "-f", "1"]).stdout_str();
    assert!(ls.contains("host-one") && ls.contains("host-two"), "{ls}");
    let sh = paxlock(&["direct", "dump", &f("sh.img")]).stdout_str();
    assert_eq!(sh.matches(" SH\n").count(), 2, "{sh}");
    let rel = paxlock(&["direct", "dump", &f("rel.img"), "-f", "1"]).stdout_str();
    assert!(rel.contains(" 2/3/2\n"), "{rel}");

    for (flag, lease) in [
        ("-s", format!("TLS:1:{}:0", f("ls.img"))),
        ("-s", format!("TLS:2:{}:0", f("ls.img"))),
        ("-s", format!("TLS:3:{}:0", f("ls.img"))),
        ("-r", format!("TLS:EXRES:{}:0", f("ex.img"))),
        ("-r", format!("TLS:SHRES:{}:0", f("sh.img"))),
        ("-r", format!("TLS:RELRES:{}:0", f("rel.img"))),
        ("-s", format!("T4K:1:{}:0", f("ls4k.img"))),
        ("-r", format!("T4K:EX4K:{}:0", f("ex4k.img"))),
    ] {
        let r = assert_same(&["direct", "read_leader", flag, &lease]);
        assert!(
            r.stdout_str().starts_with("read_leader done 0\n"),
            "{lease}: {}",
            r.stdout_str()
        );
    }
    let held = paxlock(&[
        "direct",
        "read_leader",
        "-r",
        &format!("TLS:EXRES:{}:0", f("ex.img")),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&held.stdout).unwrap();
    assert_eq!(v["leader"]["owner_id"], 1);
    assert_ne!(
        v["leader"]["timestamp"], 0,
        "the EX lease was held when the snapshot was taken"
    );

    let rx = format!("RXLS:{}:1048576", f("rx.img"));
    for e in [
        None,
        Some("resA"),
        Some("resB"),
        Some(":4194304"),
        Some("resA:3145728"),
        Some("resB:3145728"),
        Some("nosuch"),
    ] {
        let mut args = vec!["direct", "lookup", "-x", &rx];
        if let Some(e) = e {
            args.extend(["-e", e]);
        }
        assert_same(&args);
    }
}
