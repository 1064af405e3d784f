//! `paxlock direct dump` and `read_leader` print exactly what sanlock
//! prints, on areas written by `sanlock direct` (areas written by a live
//! sanlock daemon are in interop_daemon.rs).

mod common;
use common::*;

fn dump_all_modes(target: &str) {
    for f in ["0", "1", "2"] {
        assert_same(&["direct", "dump", target, "-f", f]);
    }
    assert_same(&["direct", "dump", target]);
}

#[test]
fn dump_of_fresh_lockspace_resources_and_rindex() {
    let dir = scratch();
    let img = file(dir.path(), "rx.img", 8 * MIB, 0);
    let p = s(&img);
    for args in [
        vec![
            "direct".to_string(),
            "init".into(),
            "-s".into(),
            format!("RXLS:0:{p}:0"),
        ],
        vec![
            "direct".into(),
            "format".into(),
            "-x".into(),
            format!("RXLS:{p}:1048576"),
        ],
        vec![
            "direct".into(),
            "update".into(),
            "-x".into(),
            format!("RXLS:{p}:1048576"),
            "-e".into(),
            "resA:3145728".into(),
        ],
        vec![
            "direct".into(),
            "update".into(),
            "-x".into(),
            format!("RXLS:{p}:1048576"),
            "-e".into(),
            "resB:4194304".into(),
        ],
        vec![
            "direct".into(),
            "init".into(),
            "-r".into(),
            format!("RXLS:resA:{p}:3145728"),
        ],
        vec![
            "direct".into(),
            "init".into(),
            "-r".into(),
            format!("RXLS:resB:{p}:4194304"),
        ],
    ] {
        let r = sanlock(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(r.code, 0, "{args:?}: {}", r.stdout_str());
    }
    dump_all_modes(&p);
    dump_all_modes(&format!("{p}:1M"));
    dump_all_modes(&format!("{p}:3145728:2M"));
    // A size reaching past the initialised areas keeps going (sanlock skips unknown areas).
    dump_all_modes(&format!("{p}:0:8M"));
    // An offset that is not MiB-aligned gets sanlock's warning line.
    assert_same(&["direct", "dump", &format!("{p}:512")]);
}

#[test]
fn dump_of_4k_geometries_and_names_of_48_bytes() {
    let dir = scratch();
    let img = file(dir.path(), "g.img", 16 * MIB, 0);
    let p = s(&img);
    let long_ls = "L".repeat(48);
    let long_r = "r".repeat(48);
    let r = sanlock(&[
        "direct",
        "init",
        "-s",
        &format!("{long_ls}:0:{p}:0"),
        "-Z",
        "4096",
        "-A",
        "4M",
    ]);
    assert_eq!(r.code, 0);
    let r = sanlock(&[
        "direct",
        "init",
        "-r",
        &format!("{long_ls}:{long_r}:{p}:4M"),
        "-Z",
        "4096",
        "-A",
        "4M",
    ]);
    assert_eq!(r.code, 0);
    dump_all_modes(&p);
    assert_same(&[
        "direct",
        "read_leader",
        "-r",
        &format!("{long_ls}:{long_r}:{p}:4M"),
    ]);
    assert_same(&[
        "direct",
        "read_leader",
        "-s",
        &format!("{long_ls}:1000:{p}:0"),
    ]);
}

#[test]
fn read_leader_matches_including_sanlock_error_numbers() {
    let dir = scratch();
    let img = file(dir.path(), "rl.img", 4 * MIB, 0);
    let p = s(&img);
    assert_eq!(
        sanlock(&["direct", "init", "-s", &format!("LS:0:{p}:0"), "-o", "7"]).code,
        0
    );
    assert_eq!(
        sanlock(&["direct", "init", "-r", &format!("LS:R1:{p}:1M")]).code,
        0
    );
    assert_eq!(
        sanlock(&["direct", "init", "-r", &format!("LS:RC:{p}:2M"), "-z", "1"]).code,
        0
    );
    for (flag, lease) in [
        ("-s", format!("LS:1:{p}:0")),
        ("-s", format!("LS:2000:{p}:0")),
        ("-s", format!("OTHER:1:{p}:0")), // -226
        ("-r", format!("LS:R1:{p}:1M")),
        ("-r", format!("LS:R2:{p}:1M")), // -227
        ("-r", format!("XX:R1:{p}:1M")), // -226
        ("-r", format!("LS:R1:{p}:0")),  // a lockspace read as a resource: -223
        ("-s", format!("LS:1:{p}:1M")),  // a resource read as a lockspace: -223
        ("-r", format!("LS:RC:{p}:2M")), // cleared: -223
    ] {
        assert_same(&["direct", "read_leader", flag, &lease]);
    }
    assert_same(&[
        "direct",
        "read_leader",
        "-r",
        &format!("LS:R1:{p}:1M"),
        "-Z",
        "512",
        "-A",
        "1M",
    ]);
}

#[test]
fn dump_errors_print_what_sanlock_prints() {
    let dir = scratch();
    let zero = file(dir.path(), "zero.img", MIB, 0);
    assert_same(&["direct", "dump", &s(&zero)]);
    assert_same(&["direct", "dump", &format!("{}/missing.img", s(dir.path()))]);
}

#[test]
fn json_output_is_parseable_and_carries_the_records() {
    let dir = scratch();
    let img = file(dir.path(), "j.img", 2 * MIB, 0);
    let p = s(&img);
    assert_eq!(
        paxlock(&["direct", "init", "-s", &format!("LS:0:{p}:0")]).code,
        0
    );
    assert_eq!(
        paxlock(&["direct", "init", "-r", &format!("LS:R1:{p}:1M")]).code,
        0
    );
    let r = paxlock(&["direct", "dump", &p, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["sector_size"], 512);
    assert_eq!(v["areas"][0]["type"], "lockspace");
    assert_eq!(v["areas"][1]["type"], "resource");
    assert_eq!(v["areas"][1]["leader"]["resource_name"], "R1");
    assert_eq!(v["areas"][1]["leader"]["checksum_ok"], true);
    let r = paxlock(&[
        "direct",
        "read_leader",
        "-r",
        &format!("LS:R1:{p}:1M"),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["result"], 0);
    assert_eq!(v["leader"]["num_hosts"], 2000);
    assert_eq!(v["leader"]["checksum"], 0x2073_a773u32);
}
