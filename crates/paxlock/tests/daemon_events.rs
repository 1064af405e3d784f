//! Host events, LVBs and persistent/orphan leases: the same python3-sanlock
//! scripts (tests/python/host_events.py, lvb_orphans.py) against real
//! sanlock daemons and paxlock daemons give the same results, and host
//! events cross between the two in both directions.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

/// Runs a python script against the daemon at `run_dir`; its JSON output.
fn python(run_dir: &Path, name: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new("/usr/bin/python3")
        .arg(script(name))
        .args(args)
        .env("SANLOCK_RUN_DIR", run_dir)
        .output()
        .expect("run /usr/bin/python3 (python3-sanlock)");
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn add_lockspace(daemon: &TestDaemon, d: &str, host_id: u32) {
    let r = daemon.client(&[
        "add_lockspace",
        "-s",
        &format!("LS:{host_id}:{d}/ids:0"),
        "-o",
        "1",
    ]);
    assert_eq!(
        r.code,
        0,
        "add_lockspace: {}{}",
        r.stdout_str(),
        daemon.log()
    );
}

/// Compares two step lists ([name, kind, value]) step by step.
fn assert_same_steps(sanlock: &serde_json::Value, paxlock: &serde_json::Value) {
    let (a, b) = (sanlock.as_array().unwrap(), paxlock.as_array().unwrap());
    for (s, p) in a.iter().zip(b) {
        assert_eq!(p, s, "paxlock (left) and sanlock (right) differ");
    }
    assert_eq!(a.len(), b.len(), "different step counts");
}

fn step<'a>(steps: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    steps
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x[0] == name)
        .unwrap_or_else(|| panic!("no step {name}"))
}

const SETEV_CUR_GENERATION: &str = "1";

/// Host 1 (`sender`) sets event 7 (data 9) for host 2 (`receiver`) in one
/// lockspace; returns what host 2's registered event fd received.
fn event_between(sender: TestDaemon, receiver: TestDaemon) -> serde_json::Value {
    let (_dir, d) = lease_files(&[]);
    std::thread::scope(|s| {
        s.spawn(|| add_lockspace(&sender, &d, 1));
        s.spawn(|| add_lockspace(&receiver, &d, 2));
    });
    let mut listener = Command::new("/usr/bin/python3")
        .arg(script("host_events.py"))
        .args(["listen", "40"])
        .env("SANLOCK_RUN_DIR", receiver.run_dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(listener.stdout.take().unwrap());
    let mut ready = String::new();
    out.read_line(&mut ready).unwrap();
    assert_eq!(ready.trim(), "ready", "listener did not register");
    let sent = python(
        sender.run_dir.path(),
        "host_events.py",
        &["send", "2", "7", "9", SETEV_CUR_GENERATION],
    );
    assert_eq!(sent, serde_json::json!([0]), "set_event");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(listener.wait().unwrap().success(), "listener failed");
    serde_json::from_str(&rest).unwrap_or_else(|e| panic!("{e}: {rest}"))
}

/// The one event host 2 must see: for it (host 2, generation 1 as host 1
/// saw it), from host 1 generation 1.
fn expected_event() -> serde_json::Value {
    serde_json::json!([{
        "data": 9, "event": 7, "from_generation": 1, "from_host_id": 1,
        "generation": 1, "host_id": 2
    }])
}

#[test]
fn host_event_reaches_the_other_host_on_sanlock_and_on_paxlock_alike() {
    let (from_sanlock, from_paxlock) = std::thread::scope(|s| {
        let a =
            s.spawn(|| event_between(TestDaemon::sanlock("ev-s1"), TestDaemon::sanlock("ev-s2")));
        let b =
            s.spawn(|| event_between(TestDaemon::paxlock("ev-p1"), TestDaemon::paxlock("ev-p2")));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(from_sanlock["events"], expected_event(), "{from_sanlock}");
    assert_eq!(from_paxlock["events"], from_sanlock["events"]);
    // Repeated while the bit stays set (set_bitmap_seconds), at each of
    // the sender's renewals: sanlock delivers it more than once too.
    assert!(from_paxlock["count"].as_u64().unwrap() >= 1);
}

#[test]
fn host_events_cross_between_sanlock_and_paxlock_both_ways() {
    let (to_paxlock, to_sanlock) = std::thread::scope(|s| {
        let a = s.spawn(|| event_between(TestDaemon::sanlock("x-s1"), TestDaemon::paxlock("x-p2")));
        let b = s.spawn(|| event_between(TestDaemon::paxlock("x-p1"), TestDaemon::sanlock("x-s2")));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(to_paxlock["events"], expected_event(), "sanlock -> paxlock");
    assert_eq!(to_sanlock["events"], expected_event(), "paxlock -> sanlock");
}

fn walk(daemon: TestDaemon) -> serde_json::Value {
    let (_dir, d) = lease_files(&[]);
    add_lockspace(&daemon, &d, 1);
    python(
        daemon.run_dir.path(),
        "host_events.py",
        &["walk", &format!("{d}/ids")],
    )
}

#[test]
fn set_event_reg_event_end_event_results_match_sanlock() {
    let (s, p) = std::thread::scope(|sc| {
        let a = sc.spawn(|| walk(TestDaemon::sanlock("walk-s")));
        let b = sc.spawn(|| walk(TestDaemon::paxlock("walk-p")));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_same_steps(&s, &p);
    // Not vacuous: the errors and what reached the disk.
    assert_eq!(step(&s, "set_other_event_busy")[2], 16);
    assert_eq!(step(&s, "reg_33rd")[2], 50);
    assert_eq!(step(&s, "set_host_2001")[2], 22);
    assert_eq!(step(&s, "slot_event")[2], serde_json::json!([0, 3, 9]));
    assert_eq!(step(&s, "slot_bitmap")[2], "0001000000000000");
}

fn lvb_orphans(daemon: TestDaemon) -> serde_json::Value {
    let (_dir, d) = lease_files(&["R1", "R2"]);
    python(daemon.run_dir.path(), "lvb_orphans.py", &[&d])
}

#[test]
fn lvb_and_orphan_leases_behave_as_on_sanlock() {
    let (s, p) = std::thread::scope(|sc| {
        let a = sc.spawn(|| lvb_orphans(TestDaemon::sanlock("lvb-s")));
        let b = sc.spawn(|| lvb_orphans(TestDaemon::paxlock("lvb-p")));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_same_steps(&s, &p);
    let pad = |s: &str| format!("{s:\0<16}");
    assert_eq!(step(&s, "get_lvb")[2], pad("hello-lvb"));
    assert_eq!(step(&s, "set_lvb_too_big")[2], 7);
    assert_eq!(step(&s, "disk_after_release")[2], "secondxxxxxxxxxx");
    assert_eq!(step(&s, "get_lvb_without_flag")[2], 22);
    assert_eq!(step(&s, "disk_after_convert")[2], "convertedxxxxxxx");
    assert_eq!(
        step(&s, "status_orphan")[2],
        serde_json::json!(["r LS:R1:W/r1:0:6 p PID ORPHAN"])
    );
    assert_eq!(step(&s, "acquire_orphan_not_allowed")[2], -117);
    assert_eq!(step(&s, "acquire_orphan_only_none")[2], 0);
    assert_eq!(step(&s, "acquire_orphan_only_lvb_none")[2], -2);
    assert_eq!(step(&s, "acquire_orphan_adopt")[2], 0);
    assert_eq!(step(&s, "rem_unused_with_orphans")[2], 16);
    assert_eq!(step(&s, "release_orphan_named")[2], 1);
    assert_eq!(step(&s, "inq_after_orphan_released")[2], false);
}
