//! Mixed cluster: a paxlock daemon and a real sanlock daemon as two hosts of
//! one lockspace on shared files. They exclude each other both ways for EX
//! leases, share SH leases, see each other in host_status, and take over a
//! lease the other released.

mod common;
use common::*;
use std::process::Child;

fn holder(cmd: std::process::Command) -> Child {
    let mut c = cmd;
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c.spawn().unwrap()
}

/// Polls `status` until a resource line starting with `needle` shows as
/// held (not still being added, sanlock's ` ADD` suffix), or is gone.
fn wait_status(client: &dyn Fn(&[&str]) -> Run, needle: &str, present: bool) -> bool {
    (0..150).any(|_| {
        let out = client(&["status"]).stdout_str();
        let held = out
            .lines()
            .any(|l| l.starts_with(needle) && !l.ends_with(" ADD"));
        let ok = if present { held } else { !out.contains(needle) };
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        ok
    })
}

#[test]
fn paxlock_and_sanlock_daemons_share_one_lockspace() {
    let (_dir, d) = lease_files(&["R1", "R2"]);
    let px = TestDaemon::paxlock("paxlock-host");
    let sl = TestDaemon::sanlock("sanlock-host");
    let (pxc, slc) = (|a: &[&str]| px.client(a), |a: &[&str]| sl.client(a));
    assert_eq!(
        px.client(&["add_lockspace", "-s", &format!("LS:1:{d}/ids:0"), "-o", "1"])
            .code,
        0
    );
    assert_eq!(
        sl.client(&["add_lockspace", "-s", &format!("LS:2:{d}/ids:0"), "-o", "1"])
            .code,
        0
    );
    let r1 = format!("LS:R1:{d}/r1:0");
    let r2 = format!("LS:R2:{d}/r2:0");

    // paxlock holds R1 EX: sanlock is refused.
    let mut a = holder(px.command(&["command", "-r", &r1, "-c", "/bin/sleep", "60"]));
    assert!(wait_status(&pxc, "r LS:R1", true));
    let r = sl.client(&["command", "-r", &r1, "-c", "/bin/true"]);
    assert!(
        r.stdout_str().contains("acquire done -243"),
        "{}",
        r.stdout_str()
    );

    // sanlock holds R2 EX: paxlock is refused.
    let mut b = holder(sl.command(&["command", "-r", &r2, "-c", "/bin/sleep", "60"]));
    assert!(wait_status(&slc, "r LS:R2", true));
    let r = px.client(&["command", "-r", &r2, "-c", "/bin/true"]);
    assert!(
        r.stdout_str().contains("acquire done -243"),
        "{}",
        r.stdout_str()
    );

    // Each sees the other host in host_status.
    let sees = |client: &dyn Fn(&[&str]) -> Run, other: &str| {
        (0..100).any(|_| {
            let ok = client(&["host_status", "-s", "LS"])
                .stdout_str()
                .lines()
                .any(|l| l.starts_with(other));
            if !ok {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            ok
        })
    };
    assert!(
        sees(&pxc, "2 timestamp"),
        "paxlock does not see sanlock's host"
    );
    assert!(
        sees(&slc, "1 timestamp"),
        "sanlock does not see paxlock's host"
    );

    // Both let go; each takes over the lease the other released.
    a.kill().unwrap();
    a.wait().unwrap();
    b.kill().unwrap();
    b.wait().unwrap();
    assert!(wait_status(&pxc, "r LS:R1", false));
    assert!(wait_status(&slc, "r LS:R2", false));
    let mut a = holder(sl.command(&["command", "-r", &r1, "-c", "/bin/sleep", "60"]));
    assert!(
        wait_status(&slc, "r LS:R1", true),
        "sanlock could not take over R1"
    );
    let mut b = holder(px.command(&["command", "-r", &r2, "-c", "/bin/sleep", "60"]));
    assert!(
        wait_status(&pxc, "r LS:R2", true),
        "paxlock could not take over R2"
    );
    a.kill().unwrap();
    a.wait().unwrap();
    b.kill().unwrap();
    b.wait().unwrap();
    assert!(wait_status(&slc, "r LS:R1", false));
    assert!(wait_status(&pxc, "r LS:R2", false));

    // Shared: both hold R1 SH at once.
    let sh = format!("{r1}:SH");
    let mut a = holder(px.command(&["command", "-r", &sh, "-c", "/bin/sleep", "60"]));
    assert!(wait_status(&pxc, "r LS:R1", true), "paxlock SH");
    let mut b = holder(sl.command(&["command", "-r", &sh, "-c", "/bin/sleep", "60"]));
    assert!(
        wait_status(&slc, "r LS:R1", true),
        "sanlock SH next to paxlock SH"
    );
    let two_shared = (0..100).any(|_| {
        let dump = paxlock(&["direct", "dump", &format!("{d}/r1")]).stdout_str();
        std::thread::sleep(std::time::Duration::from_millis(100));
        dump.matches(" SH\n").count() == 2
    });
    assert!(
        two_shared,
        "{}",
        paxlock(&["direct", "dump", &format!("{d}/r1")]).stdout_str()
    );
    a.kill().unwrap();
    a.wait().unwrap();
    b.kill().unwrap();
    b.wait().unwrap();
    assert!(wait_status(&pxc, "r LS:R1", false));
    assert!(wait_status(&slc, "r LS:R1", false));
    assert_eq!(
        px.client(&["rem_lockspace", "-s", &format!("LS:1:{d}/ids:0")])
            .code,
        0
    );
    assert_eq!(
        sl.client(&["rem_lockspace", "-s", &format!("LS:2:{d}/ids:0")])
            .code,
        0
    );
}
