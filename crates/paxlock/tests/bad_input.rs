//! Bad input gets one clear line naming the problem and what to do, a
//! non-zero exit, and nothing written.

mod common;
use common::*;
use std::path::Path;

/// Runs paxlock with `args` and checks: it fails, stderr names the
/// problem (every `needle`), and `img` is byte-for-byte unchanged.
fn refused(img: &Path, args: &[&str], needles: &[&str]) {
    let before = std::fs::read(img).unwrap();
    let r = paxlock(args);
    assert_ne!(r.code, 0, "{args:?} should fail; stdout {}", r.stdout_str());
    for n in needles {
        assert!(
            r.stderr.contains(n),
            "{args:?}: stderr should mention {n:?}:\n{}",
            r.stderr
        );
    }
    assert!(
        r.stderr.lines().count() <= 3,
        "{args:?}: keep it short:\n{}",
        r.stderr
    );
    assert!(
        std::fs::read(img).unwrap() == before,
        "{args:?} changed the file"
    );
}

#[test]
fn malformed_lease_strings() {
    let dir = scratch();
    let img = file(dir.path(), "a.img", 2 * MIB, 0x77);
    let p = s(&img);
    let long = "n".repeat(49);
    refused(
        &img,
        &["direct", "init", "-s", &format!("{long}:0:{p}:0")],
        &["49 bytes", "at most 48"],
    );
    refused(
        &img,
        &["direct", "init", "-r", &format!("LS:{long}:{p}:0")],
        &["resource name", "49 bytes"],
    );
    refused(
        &img,
        &["direct", "init", "-s", &format!("LS:one:{p}:0")],
        &["host_id \"one\"", "not a number"],
    );
    refused(
        &img,
        &["direct", "init", "-s", &format!("LS:0:{p}:1k")],
        &["offset \"1k\"", "not a number"],
    );
    refused(
        &img,
        &["direct", "init", "-r", &format!("LS:R:{p}")],
        &["LOCKSPACE_NAME:RESOURCE_NAME:PATH:OFFSET"],
    );
    refused(
        &img,
        &["direct", "init", "-s", &format!("LS:0:{p}")],
        &["NAME:HOST_ID:PATH:OFFSET"],
    );
    let long_path = format!("/{}", "p".repeat(1100));
    refused(
        &img,
        &["direct", "init", "-s", &format!("LS:0:{long_path}:0")],
        &["path", "1101 bytes", "1023"],
    );
    refused(
        &img,
        &["direct", "init", "-r", &format!("LS:R:{p}:0:notanlver")],
        &["lver \"notanlver\""],
    );
}

#[test]
fn missing_and_too_small_storage() {
    let dir = scratch();
    let missing = format!("{}/nope.img", s(dir.path()));
    let r = paxlock(&["direct", "init", "-s", &format!("LS:0:{missing}:0")]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no such file") && r.stderr.contains("truncate"),
        "{}",
        r.stderr
    );
    assert!(
        !Path::new(&missing).exists(),
        "init must not create the file"
    );
    let small = file(dir.path(), "small.img", 100 * 1024, 0x11);
    refused(
        &small,
        &["direct", "init", "-s", &format!("LS:0:{}:0", s(&small))],
        &["too small", "truncate -s 1048576"],
    );
    let two = file(dir.path(), "two.img", 2 * MIB, 0x22);
    refused(
        &two,
        &[
            "direct",
            "init",
            "-r",
            &format!("LS:R:{}:1M", s(&two)),
            "-Z",
            "4096",
            "-A",
            "2M",
        ],
        &["not a multiple of the align size"],
    );
    refused(
        &two,
        &["direct", "format", "-x", &format!("LS:{}:1M", s(&two))],
        &["too small", "2 x 1M"],
    );
}

#[test]
fn offsets_not_on_the_align_size() {
    let dir = scratch();
    let img = file(dir.path(), "o.img", 4 * MIB, 0x33);
    let p = s(&img);
    refused(
        &img,
        &["direct", "init", "-r", &format!("LS:R:{p}:512")],
        &["offset 512", "align size 1M", "use 0 or 1048576"],
    );
    refused(
        &img,
        &["direct", "init", "-s", &format!("LS:0:{p}:1000")],
        &["offset 1000"],
    );
}

#[test]
fn geometry_that_sanlock_rejects() {
    let dir = scratch();
    let img = file(dir.path(), "g.img", 8 * MIB, 0x44);
    let p = s(&img);
    let lease = format!("LS:0:{p}:0");
    refused(
        &img,
        &["direct", "init", "-s", &lease, "-Z", "512", "-A", "2M"],
        &["512/2097152", "512/1M, 4096/1M"],
    );
    refused(
        &img,
        &["direct", "init", "-s", &lease, "-Z", "4096"],
        &["-Z 4096 was given without -A"],
    );
    refused(
        &img,
        &["direct", "init", "-s", &lease, "-A", "4M"],
        &["-A 4M was given without -Z"],
    );
    refused(
        &img,
        &["direct", "init", "-s", &lease, "-Z", "1024", "-A", "1M"],
        &["512 or 4096"],
    );
    refused(
        &img,
        &["direct", "init", "-s", &lease, "-Z", "4096", "-A", "3M"],
        &["1M, 2M, 4M or 8M"],
    );
    refused(
        &img,
        &["direct", "init", "-s", &lease, "-o", "0"],
        &["io_timeout 0", "1 to 255"],
    );
    refused(
        &img,
        &["direct", "init", "-s", &lease, "-o", "300"],
        &["io_timeout 300"],
    );
}

#[test]
fn areas_never_initialised() {
    let dir = scratch();
    let img = file(dir.path(), "z.img", 2 * MIB, 0);
    let p = s(&img);
    refused(
        &img,
        &["direct", "read_leader", "-r", &format!("LS:R:{p}:0")],
        &["never initialised", "paxlock direct init"],
    );
    refused(
        &img,
        &["direct", "read_leader", "-s", &format!("LS:1:{p}:0")],
        &["no lease at offset 0"],
    );
    refused(
        &img,
        &["direct", "dump", &p],
        &["no lockspace or resource lease found"],
    );
    refused(
        &img,
        &["direct", "lookup", "-x", &format!("LS:{p}:0")],
        &["no resource index here", "direct format"],
    );
    refused(
        &img,
        &[
            "direct",
            "update",
            "-x",
            &format!("LS:{p}:0"),
            "-e",
            "r1:2097152",
        ],
        &["no resource index here"],
    );
}

#[test]
fn read_leader_of_host_id_outside_the_lockspace() {
    let dir = scratch();
    let img = file(dir.path(), "h.img", MIB, 0);
    let p = s(&img);
    assert_eq!(
        paxlock(&[
            "direct",
            "init",
            "-s",
            &format!("LS:0:{p}:0"),
            "-Z",
            "4096",
            "-A",
            "1M"
        ])
        .code,
        0
    );
    refused(
        &img,
        &["direct", "read_leader", "-s", &format!("LS:0:{p}:0")],
        &["host_id 0", "1 to 250"],
    );
    refused(
        &img,
        &["direct", "read_leader", "-s", &format!("LS:251:{p}:0")],
        &["host_id 251", "1 to 250"],
    );
}
