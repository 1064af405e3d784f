//! `paxlock direct init` writes exactly the bytes `sanlock direct init`
//! writes, for every geometry, on regular files and on a 4096-byte-sector
//! block device.

mod common;
use common::*;

/// (-Z, -A) pairs: sanlock's default (none), then the five geometries.
const GEOMETRIES: [Option<(&str, &str)>; 6] = [
    None,
    Some(("512", "1M")),
    Some(("4096", "1M")),
    Some(("4096", "2M")),
    Some(("4096", "4M")),
    Some(("4096", "8M")),
];

fn align_of(g: Option<(&str, &str)>) -> u64 {
    match g.map(|g| g.1) {
        None | Some("1M") => MIB,
        Some("2M") => 2 * MIB,
        Some("4M") => 4 * MIB,
        _ => 8 * MIB,
    }
}

/// Runs the same init with both tools on two files prefilled with the
/// same pattern, at offset one align size in, and compares every byte.
/// `mask` gives a byte range (relative to the area) to ignore: the clear
/// flag writes the current monotonic time there.
fn compare(
    lease: &str,
    extra: &[&str],
    g: Option<(&str, &str)>,
    mask: Option<std::ops::Range<usize>>,
) {
    let dir = scratch();
    let align = align_of(g);
    let len = 3 * align;
    let a = file(dir.path(), "sanlock.img", len, 0x5a);
    let b = file(dir.path(), "paxlock.img", len, 0x5a);
    let args = |p: &std::path::Path| -> Vec<String> {
        let mut v = vec!["direct".to_string(), "init".to_string()];
        v.push(if lease == "s" {
            "-s".into()
        } else {
            "-r".into()
        });
        v.push(if lease == "s" {
            format!("LS:0:{}:{align}", s(p))
        } else {
            format!("LS:RES1:{}:{align}", s(p))
        });
        if let Some((z, al)) = g {
            v.extend([
                "-Z".to_string(),
                z.to_string(),
                "-A".to_string(),
                al.to_string(),
            ]);
        }
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let sa = args(&a);
    let pa = args(&b);
    let sr = sanlock(&sa.iter().map(String::as_str).collect::<Vec<_>>());
    let pr = paxlock(&pa.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        sr.stdout_str(),
        "init done 0\n",
        "sanlock {sa:?}: {}",
        sr.stderr
    );
    assert_eq!(
        pr.stdout_str(),
        sr.stdout_str(),
        "paxlock {pa:?}: {}",
        pr.stderr
    );
    assert_eq!(pr.code, 0);
    let mut x = std::fs::read(&a).unwrap();
    let mut y = std::fs::read(&b).unwrap();
    if let Some(m) = mask {
        let base = align as usize;
        let ours = &y[base + m.start..base + m.end];
        assert!(
            ours.iter().any(|&b| b != 0),
            "masked bytes should hold a timestamp"
        );
        x[base + m.start..base + m.end].fill(0);
        y[base + m.start..base + m.end].fill(0);
    }
    if let Some(i) = x.iter().zip(&y).position(|(p, q)| p != q) {
        panic!(
            "{pa:?}: first differing byte at {i} (area + {}): sanlock {:#04x}, paxlock {:#04x}",
            i as i64 - align as i64,
            x[i],
            y[i]
        );
    }
}

#[test]
fn lockspace_init_is_byte_identical_for_every_geometry() {
    for g in GEOMETRIES {
        compare("s", &[], g, None);
    }
}

#[test]
fn lockspace_init_with_io_timeout_is_byte_identical() {
    for g in GEOMETRIES {
        compare("s", &["-o", "3"], g, None);
    }
}

#[test]
fn resource_init_is_byte_identical_for_every_geometry() {
    for g in GEOMETRIES {
        compare("r", &[], g, None);
    }
}

#[test]
fn cleared_resource_init_is_identical_but_for_the_write_timestamp() {
    for g in GEOMETRIES {
        compare("r", &["-z", "1"], g, Some(192..200));
    }
}

/// On a block device with 4096-byte logical sectors, the default geometry
/// is 4096/8M, and explicit geometries work as on files.
#[test]
fn init_on_a_4k_sector_loop_device_is_byte_identical() {
    let dir = scratch();
    let fa = file(dir.path(), "a.img", 32 * MIB, 0);
    let fb = file(dir.path(), "b.img", 32 * MIB, 0);
    let da = LoopDev::new(&fa, 4096);
    let db = LoopDev::new(&fb, 4096);
    // Every 4K geometry (the default is 4096/8M on this device), lockspaces
    // and resources, with -o, and a cleared resource.
    let cases: [(&str, String, &[&str]); 7] = [
        ("-s", "L4:0:{}:0".into(), &[]),
        ("-r", "L4:R4:{}:8388608".into(), &[]),
        (
            "-r",
            "L4:R5:{}:16777216".into(),
            &["-Z", "4096", "-A", "1M"],
        ),
        (
            "-r",
            "L4:RC:{}:17825792".into(),
            &["-Z", "4096", "-A", "1M", "-z", "1"],
        ),
        (
            "-s",
            "L5:0:{}:20971520".into(),
            &["-Z", "4096", "-A", "2M", "-o", "5"],
        ),
        (
            "-r",
            "L5:R6:{}:25165824".into(),
            &["-Z", "4096", "-A", "4M"],
        ),
        ("-s", "L6:0:{}:29360128".into(), &["-Z", "4096", "-A", "1M"]),
    ];
    for (flag, lease, extra) in &cases {
        for (dev, tool) in [(&da.dev, "sanlock"), (&db.dev, "paxlock")] {
            let l = lease.replace("{}", &s(dev));
            let mut args = vec!["direct", "init", flag, &l];
            args.extend_from_slice(extra);
            let r = if tool == "sanlock" {
                sanlock(&args)
            } else {
                paxlock(&args)
            };
            assert_eq!(
                r.stdout_str(),
                "init done 0\n",
                "{tool} {args:?}: {}",
                r.stderr
            );
        }
    }
    let mut x = read_direct(&da.dev, 0, (32 * MIB) as usize);
    let mut y = read_direct(&db.dev, 0, (32 * MIB) as usize);
    // The cleared lease's write_timestamp is the writer's monotonic time.
    let ts = 17 * MIB as usize + 192..17 * MIB as usize + 200;
    assert!(y[ts.clone()].iter().any(|&b| b != 0));
    x[ts.clone()].fill(0);
    y[ts].fill(0);
    assert!(x.iter().any(|&b| b != 0));
    if let Some(i) = x.iter().zip(&y).position(|(p, q)| p != q) {
        panic!(
            "first differing byte at {i}: sanlock {:#04x}, paxlock {:#04x}",
            x[i], y[i]
        );
    }
    // The default geometry really was 4096/8M: flags 0x80, sector_size 4096.
    assert_eq!(&x[8..16], &[0x80, 0, 0, 0, 0, 0x10, 0, 0]);
}

/// A 512-byte lease on a 4096-byte-sector device would fail at its first
/// single-sector write: paxlock refuses it up front and writes nothing.
#[test]
fn init_refuses_512_byte_leases_on_a_4k_device() {
    let dir = scratch();
    let f = file(dir.path(), "c.img", 4 * MIB, 0xee);
    let d = LoopDev::new(&f, 4096);
    let lease = format!("L:0:{}:0", s(&d.dev));
    let r = paxlock(&["direct", "init", "-s", &lease, "-Z", "512", "-A", "1M"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("4096-byte logical sectors") && r.stderr.contains("-Z 4096"),
        "{}",
        r.stderr
    );
    assert!(
        read_direct(&d.dev, 0, MIB as usize)
            .iter()
            .all(|&b| b == 0xee),
        "nothing may be written"
    );
}
