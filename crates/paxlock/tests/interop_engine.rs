//! The lease engine against the real sanlock daemon, as two hosts of one
//! lockspace on shared files: each refuses the other's exclusive lease,
//! sanlock sees paxlock's host as LIVE, and each takes over a lease the
//! other released.

mod common;
use common::*;

fn setup(dir: &std::path::Path) -> (String, String) {
    let ls = file(dir, "ids", MIB, 0);
    let res = file(dir, "r1.lease", MIB, 0);
    assert_eq!(
        paxlock(&[
            "direct",
            "init",
            "-s",
            &format!("LS:0:{}:0", s(&ls)),
            "-o",
            "1"
        ])
        .code,
        0
    );
    assert_eq!(
        paxlock(&["direct", "init", "-r", &format!("LS:R1:{}:0", s(&res))]).code,
        0
    );
    (s(&ls), s(&res))
}

fn leader(res: &str) -> serde_json::Value {
    let r = paxlock(&[
        "direct",
        "read_leader",
        "-r",
        &format!("LS:R1:{res}:0"),
        "--json",
    ]);
    serde_json::from_slice::<serde_json::Value>(&r.stdout).unwrap()["leader"].clone()
}

#[test]
fn paxlock_holds_and_sanlock_is_refused_then_takes_over() {
    let dir = scratch();
    let (ls, res) = setup(dir.path());
    let mut host1 = PaxlockHost::start(&[
        "-s",
        &format!("LS:1:{ls}:0"),
        "-r",
        &format!("LS:R1:{res}:0"),
        "-o",
        "1",
    ]);
    host1.wait_for("holding", 30);
    let sanlock2 = TestDaemon::sanlock("sanlock-host-two");
    let r = sanlock2.client(&["add_lockspace", "-s", &format!("LS:2:{ls}:0"), "-o", "1"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout_str(), sanlock2.log());

    // sanlock is refused: the owner (paxlock, host 1) is alive.
    let r = sanlock2.client(&[
        "command",
        "-r",
        &format!("LS:R1:{res}:0"),
        "-c",
        "/bin/true",
    ]);
    assert!(
        r.stdout_str().contains("acquire done -243"),
        "{}",
        r.stdout_str()
    );
    assert_ne!(r.code, 0);
    assert_eq!(leader(&res)["owner_id"], 1);

    // sanlock sees paxlock's host renewing: LIVE.
    let mut live = false;
    for _ in 0..50 {
        let g = sanlock2.client(&["gets", "-h", "1"]).stdout_str();
        if g.lines()
            .any(|l| l.starts_with("h 1 ") && l.ends_with("LIVE"))
        {
            live = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        live,
        "sanlock never reported host 1 LIVE: {}",
        sanlock2.client(&["gets", "-h", "1"]).stdout_str()
    );

    // paxlock releases; sanlock takes the lease over at the next lver.
    let (code, lines) = host1.finish();
    assert_eq!(code, 0, "{lines:?}");
    assert!(lines.iter().any(|l| l == "released R1"), "{lines:?}");
    let lver_released = leader(&res)["lver"].as_u64().unwrap();
    // (On success sanlock execs the command before flushing its output:
    // judge by the exit code and the leader it wrote.)
    let r = sanlock2.client(&[
        "command",
        "-r",
        &format!("LS:R1:{res}:0"),
        "-c",
        "/bin/true",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout_str(), r.stderr);
    let l = leader(&res);
    assert_eq!(
        (l["owner_id"].as_u64(), l["lver"].as_u64()),
        (Some(2), Some(lver_released + 1))
    );
}

#[test]
fn sanlock_holds_and_paxlock_is_refused_then_takes_over() {
    let dir = scratch();
    let (ls, res) = setup(dir.path());
    let sanlock2 = TestDaemon::sanlock("sanlock-host-two");
    let r = sanlock2.client(&["add_lockspace", "-s", &format!("LS:2:{ls}:0"), "-o", "1"]);
    assert_eq!(r.code, 0, "{}", r.stdout_str());
    let mut holder = sanlock2
        .command(&[
            "command",
            "-r",
            &format!("LS:R1:{res}:0"),
            "-c",
            "/bin/sleep",
            "600",
        ])
        .spawn()
        .unwrap();
    let mut held = false;
    for _ in 0..100 {
        if leader(&res)["owner_id"] == 2 && leader(&res)["timestamp"] != 0 {
            held = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(held, "sanlock did not acquire R1");

    // paxlock is refused: sanlock's host renews, so it is alive.
    let mut host1 = PaxlockHost::start(&[
        "-s",
        &format!("LS:1:{ls}:0"),
        "-r",
        &format!("LS:R1:{res}:0"),
        "-o",
        "1",
    ]);
    let line = host1.wait_for("R1", 60);
    assert!(
        line.starts_with("cannot acquire R1") && line.contains("(-243)"),
        "{line}"
    );
    let (code, lines) = host1.finish();
    assert_eq!(code, 1, "{lines:?}");
    assert_eq!(
        leader(&res)["owner_id"],
        2,
        "paxlock must not disturb the holder"
    );

    // sanlock's holder exits, sanlock releases; paxlock takes over.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let mut free = false;
    for _ in 0..100 {
        if leader(&res)["timestamp"] == 0 {
            free = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(free, "sanlock did not release R1 after its holder died");
    let lver_released = leader(&res)["lver"].as_u64().unwrap();
    let mut host1 = PaxlockHost::start(&[
        "-s",
        &format!("LS:1:{ls}:0"),
        "-r",
        &format!("LS:R1:{res}:0"),
        "-o",
        "1",
    ]);
    host1.wait_for("holding", 60);
    let l = leader(&res);
    assert_eq!(
        (l["owner_id"].as_u64(), l["lver"].as_u64()),
        (Some(1), Some(lver_released + 1))
    );
    let (code, lines) = host1.finish();
    assert_eq!(code, 0, "{lines:?}");
}
