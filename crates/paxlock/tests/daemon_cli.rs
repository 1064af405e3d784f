//! The real `sanlock client` CLI drives a paxlock daemon through
//! add_lockspace, command -r -c, status, host_status, gets, inquire,
//! release, rem_lockspace, log_dump and shutdown, with the same output (timestamps,
//! pids, paths and host names aside) and exit codes as against a real
//! sanlock daemon doing the same on its own files.

mod common;
use common::*;

/// Masks what legitimately differs between two runs.
fn normalize(out: &str, dir: &str, pid: u32) -> String {
    let out: String = out.replace(dir, "DIR").replace(&pid.to_string(), "PID");
    let out = out
        .lines()
        .map(|l| {
            let words: Vec<String> = l
                .split(' ')
                .enumerate()
                .map(|(i, w)| {
                    let prev = l.split(' ').nth(i.wrapping_sub(1)).unwrap_or("");
                    if prev == "timestamp" || (i == 1 && l.starts_with("daemon ")) {
                        "X".to_string()
                    } else {
                        w.to_string()
                    }
                })
                .collect();
            words.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n");
    // sanlock lists client records in the order of its connection slots,
    // which depends on which slots earlier connections freed: compare the
    // set of `p ...` lines, not their order.
    let mut lines: Vec<&str> = out.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("p "))
        .unwrap_or(lines.len());
    let end = lines[first..]
        .iter()
        .position(|l| !l.starts_with("p "))
        .map_or(lines.len(), |i| first + i);
    lines[first..end].sort_unstable();
    lines.join("\n")
}

fn scenario(
    client: &dyn Fn(&[&str]) -> Run,
    spawn: &dyn Fn(&[&str]) -> std::process::Command,
    dir: &str,
) -> Vec<(String, i32)> {
    let ls = format!("LS:1:{dir}/ids:0");
    let res = format!("LS:R1:{dir}/r1:0");
    let mut seen = Vec::new();
    let r = client(&["add_lockspace", "-s", &ls, "-o", "1"]);
    seen.push((r.stdout_str(), r.code));
    let mut holder = spawn(&["command", "-r", &res, "-c", "/bin/sleep", "60"])
        .spawn()
        .unwrap();
    let pid = holder.id();
    // wait until the holder's lease shows in status
    for _ in 0..100 {
        if client(&["status"]).stdout_str().contains("r LS:R1") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Wait until the daemon's renewals have seen our host renew (host
    // lists start empty or UNKNOWN right after joining), so that both
    // daemons are compared in the same, settled state.
    let settled = (0..100).any(|_| {
        let g = client(&["gets", "-h", "1"]).stdout_str();
        let h = client(&["host_status", "-s", "LS"]).stdout_str();
        std::thread::sleep(std::time::Duration::from_millis(100));
        g.contains(" LIVE") && h.starts_with("1 timestamp")
    });
    assert!(settled, "the daemon never reported its own host live");
    for args in [
        vec!["inq_lockspace", "-s", &ls],
        vec!["status"],
        vec!["host_status", "-s", "LS"],
        vec!["gets", "-h", "1"],
    ] {
        let r = client(&args);
        seen.push((normalize(&r.stdout_str(), dir, pid), r.code));
    }
    let p = pid.to_string();
    for args in [
        vec!["inquire", "-p", &p],
        vec!["release", "-r", "LS:R1", "-p", &p],
        vec!["inquire", "-p", &p],
        vec!["release", "-r", "LS:R1", "-p", &p],
    ] {
        let r = client(&args);
        seen.push((normalize(&r.stdout_str(), dir, pid), r.code));
    }
    holder.kill().unwrap();
    holder.wait().unwrap();
    let r = client(&["rem_lockspace", "-s", &ls]);
    seen.push((r.stdout_str(), r.code));
    let r = client(&["inq_lockspace", "-s", &ls]);
    seen.push((r.stdout_str(), r.code));
    // log_dump: free-form text (not compared), exit 1 on success on both.
    let r = client(&["log_dump"]);
    seen.push((
        format!("log_dump printed text: {}", r.stdout.len() > 1),
        r.code,
    ));
    // shutdown with no lockspace left: the daemon exits.
    let r = client(&["shutdown"]);
    seen.push((r.stdout_str(), r.code));
    let gone = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        client(&["status"]).code != 0
    });
    seen.push(("daemon gone after shutdown".into(), i32::from(gone)));
    seen
}

fn files() -> (tempfile::TempDir, String) {
    lease_files(&["R1"])
}

#[test]
fn sanlock_cli_sees_the_same_through_paxlock_and_sanlock_daemons() {
    let (_sdir, sd) = files();
    let (_pdir, pd) = files();
    let sanlock_daemon = TestDaemon::sanlock("host-one");
    let paxlock_daemon = TestDaemon::paxlock("host-one");
    let from_sanlock = scenario(
        &|a| sanlock_daemon.client(a),
        &|a| sanlock_daemon.command(a),
        &sd,
    );
    let from_paxlock = scenario(
        &|a| paxlock_daemon.client(a),
        &|a| paxlock_daemon.command(a),
        &pd,
    );
    for (i, (s, p)) in from_sanlock.iter().zip(&from_paxlock).enumerate() {
        assert_eq!(
            p, s,
            "step {i} differs:\n--- paxlock:\n{}\n--- sanlock:\n{}",
            p.0, s.0
        );
    }
    assert_eq!(from_sanlock.len(), from_paxlock.len());
    // and the lease really was held on disk through the paxlock daemon
    let r = paxlock(&[
        "direct",
        "read_leader",
        "-r",
        &format!("LS:R1:{pd}/r1:0"),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(
        (
            v["leader"]["lver"].as_u64(),
            v["leader"]["owner_id"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

/// When a registered process dies, the daemon releases its leases.
#[test]
fn leases_of_a_dead_process_are_released() {
    let (_dir, d) = files();
    let daemon = TestDaemon::paxlock("host-one");
    assert_eq!(
        daemon
            .client(&["add_lockspace", "-s", &format!("LS:1:{d}/ids:0"), "-o", "1"])
            .code,
        0
    );
    let mut holder = daemon
        .command(&[
            "command",
            "-r",
            &format!("LS:R1:{d}/r1:0"),
            "-c",
            "/bin/sleep",
            "60",
        ])
        .spawn()
        .unwrap();
    let leader = || {
        let r = paxlock(&[
            "direct",
            "read_leader",
            "-r",
            &format!("LS:R1:{d}/r1:0"),
            "--json",
        ]);
        serde_json::from_slice::<serde_json::Value>(&r.stdout).unwrap()["leader"]["timestamp"]
            .as_u64()
            .unwrap()
    };
    let wait_for = |held: bool| {
        (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            (leader() != 0) == held
        })
    };
    assert!(wait_for(true), "the lease was never acquired");
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(
        wait_for(false),
        "the lease of the dead process was not released"
    );
    assert!(!daemon.client(&["status"]).stdout_str().contains("r LS:R1"));
}
