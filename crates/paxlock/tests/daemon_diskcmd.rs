//! The daemon's disk commands (ALIGN, WRITE/READ_LOCKSPACE,
//! WRITE/READ_RESOURCE, READ_RESOURCE_OWNERS and the resource index:
//! FORMAT/LOOKUP/UPDATE/REBUILD_RINDEX, CREATE/DELETE_RESOURCE) give the
//! real `sanlock client` CLI, python3-sanlock and libsanlock the same
//! results from a paxlock daemon as from a sanlock daemon, and write the
//! same bytes.
//!
//! Every test runs one script twice, once against each daemon, on separate
//! but identical scratch files, and compares what the clients printed, the
//! return codes and the files. Bytes that differ by design are masked:
//! the write_id/generation/timestamp of paxos leaders (a cleared lease's
//! `write_timestamp` is the daemon's monotonic clock), the 4 bytes of
//! struct padding after a request record (uninitialised stack in sanlock)
//! and, in the `rindex_lease` only, the dblocks' timestamps, checksums and
//! flags (left by acquiring and releasing it; paxlock's release marks its
//! dblock RELEASED as a resource release does, sanlock's rindex code does
//! not).

mod common;
use common::*;

use std::path::Path;

const PAXOS_DISK_MAGIC: u32 = 0x0615_2010;
const PAXOS_DISK_CLEAR: u32 = 0x1128_2016;

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// `bytes` with the fields that differ by design zeroed, in every paxos
/// (or cleared) lease that starts on a 1 MiB boundary.
fn masked(mut bytes: Vec<u8>) -> Vec<u8> {
    let mut at = 0usize;
    while at + 4096 <= bytes.len() {
        let magic = u32_at(&bytes, at);
        if magic == PAXOS_DISK_MAGIC || magic == PAXOS_DISK_CLEAR {
            let ss = match u32_at(&bytes, at + 12) {
                4096 => 4096,
                _ => 512,
            };
            bytes[at + 176..at + 200].fill(0); // write_id, write_generation, write_timestamp
            bytes[at + ss + 20..at + ss + 24].fill(0); // request record padding
                                                       // The rindex_lease was acquired and released by CREATE, DELETE
                                                       // and REBUILD: its dblocks hold timestamps, and paxlock's
                                                       // release also sets DBLOCK_FL_RELEASED in ours.
            if &bytes[at + 104..at + 117] == b"rindex_lease\0" {
                let mut s = at + 2 * ss;
                while s + ss <= (at + MIB as usize).min(bytes.len()) {
                    bytes[s + 32..s + 40].fill(0); // dblock timestamp
                    bytes[s + 48..s + 56].fill(0); // dblock checksum and flags
                    s += ss;
                }
            }
        }
        at += MIB as usize;
    }
    bytes
}

fn read_file(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (metadata: {:?})",
            p.display(),
            std::fs::metadata(p).map(|m| m.len())
        )
    })
}

/// Asserts that the files `names` are alike (after masking) in both dirs.
fn assert_same_files(sanlock_dir: &Path, paxlock_dir: &Path, names: &[&str]) {
    for n in names {
        let s = masked(read_file(&sanlock_dir.join(n)));
        let p = masked(read_file(&paxlock_dir.join(n)));
        assert_eq!(s.len(), p.len(), "{n}: sizes differ");
        if let Some(i) = s.iter().zip(&p).position(|(a, b)| a != b) {
            panic!(
                "{n}: first difference at byte {i} (0x{i:x}): sanlock {:02x}, paxlock {:02x}",
                s[i], p[i]
            );
        }
    }
}

/// Runs each line of `script` (`{W}` = `dir`) with `sanlock client`
/// against `d`; returns, per line, the line, the exit code and the output
/// with `dir` replaced by `W`.
fn transcript(d: &TestDaemon, dir: &str, script: &[&str]) -> Vec<String> {
    script
        .iter()
        .map(|line| {
            let line = line.replace("{W}", dir);
            let args: Vec<&str> = line.split_whitespace().collect();
            let r = d.client(&args);
            format!(
                "{} => rc {}\n{}{}",
                line.replace(dir, "W"),
                r.code,
                r.stdout_str().replace(dir, "W"),
                r.stderr.replace(dir, "W")
            )
        })
        .collect()
}

fn assert_same_transcripts(s: &[String], p: &[String]) {
    assert_eq!(s.len(), p.len());
    for (s, p) in s.iter().zip(p) {
        assert_eq!(p, s, "paxlock (left) and sanlock (right) differ");
    }
}

/// Two identical scratch dirs made by `setup`, one per daemon.
fn two_dirs(setup: impl Fn(&Path)) -> (tempfile::TempDir, tempfile::TempDir) {
    let a = scratch();
    let b = scratch();
    setup(a.path());
    setup(b.path());
    (a, b)
}

fn sized(dir: &Path, name: &str, len: u64) {
    let f = std::fs::File::create(dir.join(name)).unwrap();
    f.set_len(len).unwrap();
}

fn line_of<'a>(t: &'a [String], prefix: &str) -> &'a str {
    t.iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in {t:#?}"))
}

const INIT_READ_ALIGN: &[&str] = &[
    "init -s LS:0:{W}/a.img:0",
    "init -s LS:0:{W}/a.img:1048576 -o 7",
    "align -s LS:0:{W}/a.img:0",
    "read -s LS:0:{W}/a.img:0 -D",
    "read -s LS:5:{W}/a.img:0 -D",
    "read -s XX:0:{W}/a.img:0",
    "read -s LS:0:{W}/a.img:1048576 -D",
    "read -s LS:0:{W}/a.img:1048576 -Z 4096 -A 1M -D",
    "read -s LS:0:{W}/z.img:0",
    "read -s LS:0:{W}/z.img:1048576",
    "read -s LS:0:{W}/a.img:1000",
    "read -s LS:0:{W}/nope:0",
    "align -s LS:0:{W}/nope:0",
    "init -s LS:0:{W}/nope:0",
    "init -s LS:0:{W}/small.img:0",
    "init -s LS:0:{W}/z.img:512",
    "init -s LS:0:{W}/z.img:1000",
    "init -s LS:0:{W}:0",
    "init -s LS4K:0:{W}/a.img:2097152 -Z 4096 -A 2M -o 3",
    "read -s LS4K:0:{W}/a.img:2097152 -D",
    "init -r LS:R1:{W}/r.img:0",
    "init -r LS:R2:{W}/r.img:1048576 -n 7",
    "init -r LS:R3:{W}/r.img:2097152 -z 1",
    "init -r LS:R4:{W}/r.img:3145728 -Z 4096 -A 1M",
    "init -r LS:R5:{W}/r.img:4194304 -Z 512 -A 2M",
    "read -r LS:R1:{W}/r.img:0 -D",
    "read -r LS:R2:{W}/r.img:1048576 -D",
    "read -r LS:R3:{W}/r.img:2097152 -D",
    "read -r LS:R4:{W}/r.img:3145728 -D",
    "read -r LS:R4:{W}/r.img:3145728 -Z 512 -A 1M -D",
    "read -r LS:RX:{W}/r.img:0",
    "read -r XX:R1:{W}/r.img:0",
    "read -r LS:R1:{W}/r.img:0 -h 1",
    "read -r LS:R4:{W}/r.img:3145728 -h 1",
    "read -r LS:R2:{W}/r.img:1048576 -h 1 -Z 4096 -A 1M",
    "read -r LS:R1:{W}/z.img:0 -h 1",
    "read -r LS:R1:{W}/nope:0",
    "read -r LS:R1:{W}/nope:0 -h 1",
    "init -r LS:R1:{W}/nope:0",
    "read -r LS:R1:{W}:0",
    "init -r LS:R1:{W}:0",
    "read -r LS:R1:{W}/a.img:0",
    "read -r LS:R1:{W}/a.img:0 -h 1",
    "read -r LS:R1:{W}/r.img:8388608",
    "format -x LS:{W}/r.img:6291456",
    "format -x LS:{W}/nope:0",
    "lookup -x LS:{W}/r.img:6291456",
    "create -x LS:{W}/r.img:6291456 -e R9",
    "delete -x LS:{W}/r.img:6291456 -e R9",
    "rebuild -x LS:{W}/r.img:6291456",
    "update -x LS:{W}/r.img:6291456 -e R9:8388608",
];

#[test]
fn cli_init_read_and_align_match_sanlock() {
    let (sd, pd) = two_dirs(|d| {
        sized(d, "a.img", 4 * MIB);
        sized(d, "z.img", MIB);
        sized(d, "small.img", 0);
        sized(d, "r.img", 8 * MIB);
    });
    let sanlock_daemon = TestDaemon::sanlock("host-one");
    let paxlock_daemon = TestDaemon::paxlock("host-one");
    let s = transcript(&sanlock_daemon, &s_(sd.path()), INIT_READ_ALIGN);
    let p = transcript(&paxlock_daemon, &s_(pd.path()), INIT_READ_ALIGN);
    assert_same_transcripts(&s, &p);
    // Not vacuous: successes and the expected errors were seen.
    assert!(line_of(&s, "align -s LS:0:W/a.img:0").contains("align done 1048576"));
    assert!(line_of(&s, "read -s LS:0:W/a.img:1048576 -D").contains("io_timeout 7"));
    assert!(line_of(&s, "read -s LS:0:W/z.img:0").contains("read error -223"));
    assert!(line_of(&s, "read -r LS:R1:W/nope:0 =>").contains("read error -2"));
    assert!(line_of(&s, "read -r LS:RX:").contains("read error -227"));
    assert!(line_of(&s, "read -r LS:R4:W/r.img:3145728 -D").contains("sector_size 4096"));
    assert!(line_of(&s, "lookup -x").contains("lookup done -2"));
    assert_same_files(
        sd.path(),
        pd.path(),
        &["a.img", "z.img", "small.img", "r.img"],
    );
    // init grew the empty file to one lockspace area, as sanlock's write does
    assert_eq!(read_file(&pd.path().join("small.img")).len() as u64, MIB);
}

// `s` is taken by the helper that turns a path into a String.
fn s_(p: &Path) -> String {
    s(p)
}

const RINDEX_WITH_LOCKSPACE: &[&str] = &[
    "format -x LS:{W}/rx.img:0",
    "lookup -x LS:{W}/rx.img:0",
    "lookup -x XX:{W}/rx.img:0",
    "lookup -x LS:{W}/rx.img:4096",
    "create -x LS:{W}/rx.img:0 -e R1",
    "create -x LS:{W}/rx.img:0 -e R2",
    "create -x LS:{W}/rx.img:0 -e R1",
    "lookup -x LS:{W}/rx.img:0",
    "lookup -x LS:{W}/rx.img:0 -e R2",
    "lookup -x LS:{W}/rx.img:0 -e R2:3145728",
    "lookup -x LS:{W}/rx.img:0 -e :3145728",
    "lookup -x LS:{W}/rx.img:0 -e :3145729",
    "lookup -x LS:{W}/rx.img:0 -e R1:3145728",
    "lookup -x LS:{W}/rx.img:0 -e R9",
    "read -r LS:R1:{W}/rx.img:2097152 -D",
    "read -r LS:R2:{W}/rx.img:3145728 -h 1",
    "delete -x LS:{W}/rx.img:0 -e R1",
    "delete -x LS:{W}/rx.img:0 -e R1",
    "delete -x LS:{W}/rx.img:0 -e R1",
    "delete -x LS:{W}/rx.img:0 -e R2:3145729",
    "read -r LS:R1:{W}/rx.img:2097152",
    "lookup -x LS:{W}/rx.img:0",
    "update -x LS:{W}/rx.img:0 -e R7:5242880",
    "update -x LS:{W}/rx.img:0 -e R7:5242881",
    "update -x LS:{W}/rx.img:0 -e R7",
    "update -x LS:{W}/rx.img:0 -e :4194304 -z 1",
    "update -x LS:{W}/rx.img:0 -e :0 -z 1",
    "lookup -x LS:{W}/rx.img:0 -e R7",
    "rebuild -x LS:{W}/rx.img:0",
    "lookup -x LS:{W}/rx.img:0 -e R7",
    "lookup -x LS:{W}/rx.img:0 -e R2",
    "create -x LS:{W}/rx.img:0 -e R3",
    "rebuild -x XX:{W}/rx.img:0",
    "create -x LS:{W}/nope:0 -e R3",
    "create -x LS:{W}/ids:0 -e R3",
    "delete -x LS:{W}/ids:0 -e R3",
    "rebuild -x LS:{W}/ids:0",
    "format -x LS:{W}/rx2.img:0 -Z 4096 -A 2M",
    "create -x LS:{W}/rx2.img:0 -e S1",
    "lookup -x LS:{W}/rx2.img:0 -e S1",
    "read -r LS:S1:{W}/rx2.img:4194304 -D",
];

/// Joins lockspace LS (io_timeout 1) as host 1, runs `script`, leaves.
fn with_lockspace(d: &TestDaemon, dir: &str, script: &[&str]) -> Vec<String> {
    let mut t = transcript(d, dir, &["add_lockspace -s LS:1:{W}/ids:0 -o 1"]);
    assert!(
        t[0].contains(" => rc 0"),
        "{}\ndaemon log:\n{}",
        t[0],
        d.log()
    );
    t.extend(transcript(d, dir, script));
    t.extend(transcript(d, dir, &["rem_lockspace -s LS:1:{W}/ids:0"]));
    t
}

fn lockspace_dir(d: &Path) {
    sized(d, "ids", MIB);
    sized(d, "rx.img", 8 * MIB);
    sized(d, "rx2.img", 8 * MIB);
    let r = sanlock(&[
        "direct",
        "init",
        "-s",
        &format!("LS:0:{}/ids:0", d.display()),
        "-o",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn cli_rindex_commands_with_a_joined_lockspace_match_sanlock() {
    let (sd, pd) = two_dirs(lockspace_dir);
    let sanlock_daemon = TestDaemon::sanlock("host-one");
    let paxlock_daemon = TestDaemon::paxlock("host-one");
    let (s, p) = std::thread::scope(|sc| {
        let s = sc.spawn(|| with_lockspace(&sanlock_daemon, &s_(sd.path()), RINDEX_WITH_LOCKSPACE));
        let p = sc.spawn(|| with_lockspace(&paxlock_daemon, &s_(pd.path()), RINDEX_WITH_LOCKSPACE));
        (s.join().unwrap(), p.join().unwrap())
    });
    assert_same_transcripts(&s, &p);
    assert!(s[0].contains("add_lockspace_timeout done 0"), "{}", s[0]);
    assert!(line_of(&s, "create -x LS:W/rx.img:0 -e R2").contains("offset 3145728"));
    assert!(line_of(&s, "lookup -x LS:W/rx.img:0 -e R1:3145728").contains("lookup done -278"));
    assert!(line_of(&s, "read -r LS:S1:").contains("sector_size 4096"));
    assert_same_files(sd.path(), pd.path(), &["rx.img", "rx2.img"]);
}

/// Runs a python script (under tests/python) with `args` against `d`.
fn python(d: &TestDaemon, script: &str, args: &[String]) -> serde_json::Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(&path)
        .args(args)
        .env("SANLOCK_RUN_DIR", d.run_dir.path())
        .output()
        .expect("run /usr/bin/python3 (python3-sanlock)");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn assert_same_steps(s: &serde_json::Value, p: &serde_json::Value) -> Vec<serde_json::Value> {
    let (a, b) = (s.as_array().unwrap(), p.as_array().unwrap());
    assert_eq!(a.len(), b.len());
    for (s, p) in a.iter().zip(b) {
        assert_eq!(p, s, "paxlock (left) and sanlock (right) differ");
    }
    a.clone()
}

fn step<'a>(steps: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    steps
        .iter()
        .find(|x| x[0] == name)
        .unwrap_or_else(|| panic!("no step {name}"))
}

#[test]
fn python_and_libsanlock_disk_commands_match_sanlock() {
    let (sd, pd) = two_dirs(|d| {
        sized(d, "ls.img", 2 * MIB);
        sized(d, "res.img", 8 * MIB);
        sized(d, "z.img", MIB);
        sized(d, "tiny.img", 0);
        sized(d, "rx.img", 8 * MIB);
    });
    let sanlock_daemon = TestDaemon::sanlock("host-one");
    let paxlock_daemon = TestDaemon::paxlock("host-one");
    let s = python(&sanlock_daemon, "disk_commands.py", &[s_(sd.path())]);
    let p = python(&paxlock_daemon, "disk_commands.py", &[s_(pd.path())]);
    let steps = assert_same_steps(&s, &p);
    assert_eq!(step(&steps, "read_ls_2")[2]["iotimeout"], 5);
    assert_eq!(step(&steps, "read_res_uninit")[2], -223);
    assert_eq!(step(&steps, "owners_wrong_name")[2], -227);
    assert_eq!(step(&steps, "write_res_bad_geometry")[2], 1);
    assert_eq!(step(&steps, "lookup_rebuilt")[3], "B7");
    assert_eq!(step(&steps, "lookup_name_offset_diff")[2], -278);
    assert_same_files(
        sd.path(),
        pd.path(),
        &["ls.img", "res.img", "z.img", "tiny.img", "rx.img"],
    );
}

#[test]
fn read_resource_owners_lists_the_holders_like_sanlock() {
    let (sd, pd) = two_dirs(|d| {
        lockspace_dir(d);
        for r in ["r1", "r2"] {
            sized(d, r, MIB);
        }
        let dd = d.display();
        for (name, f) in [("R1", "r1"), ("R2", "r2")] {
            let r = sanlock(&["direct", "init", "-r", &format!("LS:{name}:{dd}/{f}:0")]);
            assert_eq!(r.code, 0, "{}", r.stderr);
        }
    });
    let sanlock_daemon = TestDaemon::sanlock("host-one");
    let paxlock_daemon = TestDaemon::paxlock("host-one");
    let run = |d: &TestDaemon, dir: &Path| {
        let w = s_(dir);
        let add = transcript(d, &w, &["add_lockspace -s LS:1:{W}/ids:0 -o 1"]);
        assert!(
            add[0].contains("done 0"),
            "{}\nrun dir {:?}: {:?}\ndaemon log:\n{}",
            add[0],
            d.run_dir.path(),
            std::fs::read_dir(d.run_dir.path())
                .map(|r| r.map(|e| e.map(|e| e.file_name())).collect::<Vec<_>>()),
            d.log()
        );
        let out = python(d, "owners.py", &[format!("{w}/r1"), format!("{w}/r2")]);
        let cli = transcript(
            d,
            &w,
            &[
                "read -r LS:R1:{W}/r1:0 -h 1",
                "rem_lockspace -s LS:1:{W}/ids:0",
            ],
        );
        (out, cli)
    };
    let ((s, s_cli), (p, p_cli)) = std::thread::scope(|sc| {
        let a = sc.spawn(|| run(&sanlock_daemon, sd.path()));
        let b = sc.spawn(|| run(&paxlock_daemon, pd.path()));
        (a.join().unwrap(), b.join().unwrap())
    });
    let steps = assert_same_steps(&s, &p);
    assert_same_transcripts(&s_cli, &p_cli);
    assert_eq!(
        step(&steps, "owners_ex")[2],
        serde_json::json!([[1, 1, "ts"]])
    );
    assert_eq!(step(&steps, "owners_sh")[2], serde_json::json!([[1, 1, 0]]));
    assert_eq!(step(&steps, "owners_ex_after")[2], serde_json::json!([]));
}

/// Commands that fail: the same error on both daemons, and every file
/// byte for byte as before.
#[test]
fn failed_commands_match_sanlock_and_leave_the_disk_untouched() {
    const SETUP: &[&str] = &[
        "init -s LS:0:{W}/a.img:0",
        "init -r LS:R1:{W}/a.img:1048576",
        "format -x LS:{W}/a.img:2097152",
    ];
    const FAILING: &[&str] = &[
        "init -s LS:0:{W}/a.img:1000",
        "init -s LS:0:{W}/nope:0",
        "init -s LS:0:{W}/a.img:0 -Z 512 -A 8M",
        "init -r LS:R1:{W}/a.img:1048576 -Z 512 -A 2M",
        "init -r LS:R1:{W}/a.img:1049000",
        "init -r LS:R1:{W}/a.img:1048576:{W}/nope:0",
        "init -r LS:R1:{W}/nope:0:{W}/nope2:0:{W}/a.img:1048576",
        "read -s LS:0:{W}/a.img:1048576",
        "read -r LS:R1:{W}/a.img:0",
        "read -r LS:R2:{W}/a.img:1048576 -h 1",
        "format -x LS:{W}/nope:0",
        "lookup -x LS:{W}/a.img:2097152",
        "create -x LS:{W}/a.img:2097152 -e N1",
        "delete -x LS:{W}/a.img:2097152 -e N1",
        "update -x LS:{W}/a.img:2097152 -e N1:5242880",
        "rebuild -x LS:{W}/a.img:2097152",
        "align -s LS:0:{W}/nope:0",
    ];
    let (sd, pd) = two_dirs(|d| sized(d, "a.img", 8 * MIB));
    let sanlock_daemon = TestDaemon::sanlock("host-one");
    let paxlock_daemon = TestDaemon::paxlock("host-one");
    let run = |d: &TestDaemon, dir: &Path| {
        let w = s_(dir);
        let setup = transcript(d, &w, SETUP);
        for l in &setup {
            assert!(l.contains(" => rc 0"), "{l}");
        }
        let before = read_file(&dir.join("a.img"));
        let t = transcript(d, &w, FAILING);
        assert_eq!(
            read_file(&dir.join("a.img")),
            before,
            "a failed command changed the disk"
        );
        assert!(!dir.join("nope").exists() && !dir.join("nope2").exists());
        t
    };
    let s = run(&sanlock_daemon, sd.path());
    let p = run(&paxlock_daemon, pd.path());
    assert_same_transcripts(&s, &p);
    for l in &s {
        assert!(!l.contains(" => rc 0\n"), "expected a failure: {l}");
    }
    assert!(line_of(&s, "init -r LS:R1:W/a.img:1048576:W/nope:0").contains("init done -2"));
    assert!(line_of(&s, "lookup -x").contains("lookup done -2"));
    assert_same_files(sd.path(), pd.path(), &["a.img"]);
}

const LOOP_SCRIPT: &[&str] = &[
    "align -s LS:0:{D}:0",
    "init -s LS:0:{D}:0",
    "read -s LS:0:{D}:0 -D",
    "init -r LS:R1:{D}:8388608",
    "read -r LS:R1:{D}:8388608 -D",
    "read -r LS:R1:{D}:8388608 -h 1",
    "init -r LS:R2:{D}:16777216 -Z 4096 -A 1M",
    "read -r LS:R2:{D}:16777216 -D",
    "init -r LS:R3:{D}:17825792 -Z 512 -A 1M",
    "init -s LS:0:{D}:17825792 -Z 512 -A 1M",
    "init -s LS:0:{D}:512",
    "read -s LS:0:{D}:33554432",
    "format -x LS:{D}:25165824 -Z 4096 -A 4M",
    "lookup -x LS:{D}:25165824",
    "init -r LS:R9:{D}:41943040",
];

/// A real 4096-byte-sector device: sanlock's defaults become 4096/8M,
/// and 512-byte I/O is refused by the kernel.
#[test]
fn four_k_sector_loop_device_matches_sanlock() {
    let (sd, pd) = two_dirs(|d| sized(d, "backing", 40 * MIB));
    let sl = LoopDev::new(&sd.path().join("backing"), 4096);
    let pl = LoopDev::new(&pd.path().join("backing"), 4096);
    let sanlock_daemon = TestDaemon::sanlock("host-one");
    let paxlock_daemon = TestDaemon::paxlock("host-one");
    let run = |d: &TestDaemon, dev: &Path| {
        let dev = s_(dev);
        let script: Vec<String> = LOOP_SCRIPT.iter().map(|l| l.replace("{D}", &dev)).collect();
        let script: Vec<&str> = script.iter().map(String::as_str).collect();
        transcript(d, &dev, &script)
    };
    let s = run(&sanlock_daemon, &sl.dev);
    let p = run(&paxlock_daemon, &pl.dev);
    assert_same_transcripts(&s, &p);
    assert!(s[0].contains("align done 8388608"), "{}", s[0]);
    assert!(line_of(&s, "read -s LS:0:W:0 -D").contains("sector_size 4096"));
    let sb = masked(read_direct(&sl.dev, 0, (40 * MIB) as usize));
    let pb = masked(read_direct(&pl.dev, 0, (40 * MIB) as usize));
    if let Some(i) = sb.iter().zip(&pb).position(|(a, b)| a != b) {
        panic!("device bytes differ first at {i} (0x{i:x})");
    }
}
