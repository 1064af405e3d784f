//! `paxlock client` against the real sanlock daemon, compared with the real
//! `sanlock client` on the same daemon (stdout and exit code), and against
//! paxlock's own daemon.

mod common;

use std::process::Stdio;

use common::client::*;
use common::{lease_files, TestDaemon};

/// A `paxlock client command` holding leases (its pid is the holder's),
/// killed on drop.
struct Holder(std::process::Child);

impl Holder {
    fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status_has(d: &TestDaemon, needle: &str) -> bool {
    d.client(&["status"]).stdout_str().contains(needle)
}

fn join(d: &TestDaemon, ls: &str) {
    let r = px(d, &["add_lockspace", "-s", ls, "-o", "1"]);
    assert_eq!(
        r.stdout_str(),
        "add_lockspace_timeout 1\nadd_lockspace_timeout done 0\n",
        "stderr: {}",
        r.stderr
    );
    assert_eq!(r.code, 0);
}

#[test]
fn same_output_as_sanlock_without_leases() {
    let d = TestDaemon::sanlock("cli-a");
    let (_dir, p) = lease_files(&["R1"]);
    let ls = format!("LS:1:{p}/ids:0");
    let r1 = format!("LS:R1:{p}/r1:0");
    for args in [
        &["version"][..],
        &["status"],
        &["status", "-o", "p"],
        &["status", "-o", "s"],
        &["gets"],
        &["gets", "-h", "1"],
        &["host_status"],
        &["host_status", "-s", "LS"],
        &["renewal", "-s", "LS"],
        &["inquire", "-p", "1"],
        &["inq_lockspace", "-s", &ls],
        &["rem_lockspace", "-s", &ls],
        &["acquire", "-r", &r1, "-p", "1"],
        &["release", "-r", "LS:R1", "-p", "1"],
        &["convert", "-r", "LS:R1", "-p", "1"],
        &["request", "-r", &r1, "-f", "0"],
        &["examine", "-r", "LS:R1"],
        &["set_config", "-s", "LS", "-u", "1"],
        &["set_event", "-s", "LS", "-i", "2", "-e", "0x42", "-d", "9"],
        &["read", "-s", &format!("LS:0:{p}/ids:0"), "-D"],
        &["read", "-r", &r1, "-D", "-h", "1"],
        &["read", "-r", &format!("LS:R1:{p}/ids:0")],
        &["align", "-s", &format!("LS:0:{p}/ids:0")],
    ] {
        same_with(&d, args, &drop_transient);
    }
    // align and log_dump "succeed" with exit status 1, as with sanlock
    assert_eq!(px(&d, &["align", "-s", &format!("LS:0:{p}/ids:0")]).code, 1);
    let s = d.client(&["log_dump"]);
    let x = px(&d, &["log_dump"]);
    assert_eq!((x.code, s.code), (1, 1));
    assert!(x.stdout_str().contains("sanlock daemon started"));

    // init through the daemon: both clients write the same bytes
    for (kind, name) in [("-s", "LS2:0:{f}:0"), ("-r", "LS:R7:{f}:0")] {
        let fs = common::file(_dir.path(), &format!("s{kind}"), common::MIB, 0);
        let fp = common::file(_dir.path(), &format!("p{kind}"), common::MIB, 0);
        let a = d.client(&["init", kind, &name.replace("{f}", &common::s(&fs))]);
        let b = px(&d, &["init", kind, &name.replace("{f}", &common::s(&fp))]);
        assert_eq!((b.stdout_str(), b.code), (a.stdout_str(), a.code));
        assert_eq!(b.stdout_str(), "init\ninit done 0\n");
        assert_eq!(std::fs::read(&fs).unwrap(), std::fs::read(&fp).unwrap());
    }
}

#[test]
fn same_output_as_sanlock_with_leases() {
    let d = TestDaemon::sanlock("cli-b");
    let (_dir, p) = lease_files(&["R1", "R2", "R3"]);
    let ls = format!("LS:1:{p}/ids:0");
    let r1 = format!("LS:R1:{p}/r1:0");
    let r2 = format!("LS:R2:{p}/r2:0");
    let r3 = format!("LS:R3:{p}/r3:0");
    join(&d, &ls);
    same(&d, &["inq_lockspace", "-s", &ls]);
    same(&d, &["add_lockspace", "-s", &ls]); // -17: already joined
    same(&d, &["shutdown", "-w", "1"]); // -16: lockspaces joined

    // paxlock's `command` holds R1 and execs sleep with the connection
    let h = Holder(
        px_command(&d, &["command", "-r", &r1, "-c", "/bin/sleep", "60"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = h.pid();
    assert!(
        wait_until(10, || status_has(&d, &format!("r {r1}:1 p {pid}"))),
        "the lease of `paxlock client command` never showed: {}",
        d.client(&["status"]).stdout_str()
    );
    // a second holder, shared, started by the real sanlock
    let mut sh = d
        .command(&[
            "command",
            "-r",
            &format!("{r3}:SH"),
            "-c",
            "/bin/sleep",
            "60",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let shpid = sh.id().to_string();
    assert!(wait_until(10, || status_has(&d, &format!(":SH p {shpid}"))));

    // state-changing requests run once, by paxlock; the repeats compare
    let r = px(&d, &["acquire", "-r", &r2, "-p", &pid]);
    assert_eq!(
        (r.stdout_str(), r.code),
        (format!("acquire pid {pid}\nacquire done 0\n"), 0),
        "{}",
        r.stderr
    );
    same(&d, &["acquire", "-r", &r2, "-p", &pid]); // -17 now
    same(
        &d,
        &["acquire", "-r", &format!("NOLS:R2:{p}/r2:0"), "-p", &pid],
    );
    for args in [
        &["status"][..],
        &["status", "-o", "p"],
        &["status", "-o", "s"],
        &["inquire", "-p", &pid],
        &["inquire", "-p", &pid, "-D"],
        &["inquire", "-p", &shpid, "-D"],
        &["gets"],
    ] {
        same_with(&d, args, &drop_transient);
    }
    let x = px(&d, &["inquire", "-p", &pid]);
    assert!(
        x.stdout_str().contains(&format!("\"{r1}:1 {r2}:1\"")),
        "{}",
        x.stdout_str()
    );
    // timestamps and monotonic times move between the two runs
    let masked = |s: &str| mask_digits(&drop_transient(s));
    for args in [
        &["status", "-D"][..],
        &["status", "-o", "s", "-D"],
        &["host_status", "-s", "LS", "-D"],
        &["host_status"],
        &["gets", "-h", "1"],
        &["renewal", "-s", "LS"],
    ] {
        same_with(&d, args, &masked);
    }
    let r = px(
        &d,
        &["convert", "-r", &format!("LS:R2:{p}/r2:0:SH"), "-p", &pid],
    );
    assert_eq!(
        r.stdout_str(),
        format!("convert pid {pid}\nconvert done 0\n")
    );
    same(&d, &["inquire", "-p", &pid]); // R2 now shows :SH
    assert!(px(&d, &["inquire", "-p", &pid])
        .stdout_str()
        .contains(&format!("{r2}:SH")));
    same(&d, &["release", "-r", "LS:R9", "-p", &pid]); // not held: -1
    let r = px(&d, &["release", "-r", "LS:R2", "-p", &pid]);
    assert_eq!(
        (r.stdout_str(), r.code),
        (format!("release pid {pid}\nrelease done 0\n"), 0)
    );
    assert!(!status_has(&d, "LS:R2:"));

    // the lease lives as long as the exec'd command
    drop(h);
    assert!(wait_until(10, || !status_has(&d, &format!("p {pid}"))));
    let _ = sh.kill();
    let _ = sh.wait();
    assert!(wait_until(10, || !status_has(&d, "r LS:")));
    let r = px(&d, &["rem_lockspace", "-s", &ls]);
    assert_eq!(
        (r.stdout_str(), r.code),
        ("rem_lockspace\nrem_lockspace done 0\n".to_string(), 0)
    );
    same(&d, &["inq_lockspace", "-s", &ls]); // -2 now
}

#[test]
fn json_listings() {
    let d = TestDaemon::sanlock("cli-c");
    let (_dir, p) = lease_files(&["R1"]);
    let ls = format!("LS:1:{p}/ids:0");
    let r1 = format!("LS:R1:{p}/r1:0");
    join(&d, &ls);
    let h = Holder(
        px_command(&d, &["command", "-r", &r1, "-c", "/bin/sleep", "60"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = h.0.id() as u64;
    assert!(wait_until(10, || status_has(
        &d,
        &format!("r {r1}:1 p {pid}")
    )));
    let json = |args: &[&str]| -> serde_json::Value {
        let r = px(&d, args);
        serde_json::from_slice(&r.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", r.stdout_str()))
    };
    let v = json(&["status", "--json"]);
    assert_eq!(v["daemon"]["name"], "cli-c");
    assert_eq!(v["lockspaces"][0]["name"], "LS");
    assert_eq!(v["lockspaces"][0]["host_id"], 1);
    assert_eq!(v["lockspaces"][0]["state"], "joined");
    assert_eq!(v["lockspaces"][0]["info"]["io_timeout"], "1");
    let r = &v["resources"][0];
    assert_eq!(
        (r["name"].as_str(), r["pid"].as_u64()),
        (Some("R1"), Some(pid))
    );
    assert_eq!(r["disks"][0]["path"], format!("{p}/r1"));
    assert_eq!(
        (r["lver"].as_u64(), r["state"].as_str()),
        (Some(1), Some("held"))
    );
    assert!(v["clients"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["pid"].as_u64() == Some(pid)));

    let v = json(&["inquire", "-p", &pid.to_string(), "--json"]);
    assert_eq!(v["result"], 0);
    assert_eq!(v["state"], format!("{r1}:1"));
    assert_eq!(v["resources"][0]["lver"], 1);

    // the first host scan may not be done yet ("hosts not ready", -11)
    assert!(wait_until(10, || d
        .client(&["gets", "-h", "1"])
        .stdout_str()
        .contains("h 1 ")));
    let v = json(&["gets", "-h", "1", "--json"]);
    assert_eq!(v["lockspaces"][0]["path"], format!("{p}/ids"));
    assert_eq!(v["lockspaces"][0]["hosts_result"], 0, "{v}");
    let hosts = v["lockspaces"][0]["hosts"].as_array().unwrap();
    assert!(hosts
        .iter()
        .any(|h| h["host_id"] == 1 && h["state"] == "LIVE"));

    let v = json(&["host_status", "-s", "LS", "--json"]);
    assert_eq!(v["lockspaces"][0]["hosts"][0]["host_id"], 1);
    assert_eq!(
        v["lockspaces"][0]["hosts"][0]["info"]["owner_name"],
        "cli-c"
    );

    let v = json(&["renewal", "-s", "LS", "--json"]);
    assert_eq!(v["io_timeout"], 1);
    assert!(v["renewals"][0]["timestamp"].as_u64().unwrap() > 0);

    let v = json(&["read", "-r", &r1, "-h", "1", "--json"]);
    assert_eq!(v["resource"]["lver"], 1);
    assert_eq!(v["resource"]["owners"][0]["host_id"], 1);
    let v = json(&["read", "-s", &format!("LS:0:{p}/ids:0"), "--json"]);
    assert_eq!(v["lockspace"]["io_timeout"], 1);
    assert_eq!(v["lockspace"]["sector_size"], 512);

    // errors keep the exit status
    let r = px(&d, &["inquire", "-p", "1", "--json"]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["result"], -3);
}

#[test]
fn no_daemon_prints_sanlocks_lines_and_a_hint() {
    let dir = tempfile::Builder::new()
        .prefix("pxn")
        .tempdir_in("/tmp")
        .unwrap();
    let run = dir.path();
    for args in [
        &["status"][..],
        &["gets"],
        &["version"],
        &["inquire", "-p", "1"],
        &["host_status", "-s", "LS"],
        &["log_dump"],
        &["shutdown"],
        &["add_lockspace", "-s", "LS:1:/dev/null:0"],
        &["release", "-r", "LS:R1", "-p", "1"],
    ] {
        let s = sl_in(run, args);
        let p = px_in(run, args);
        assert_eq!(p.stdout_str(), s.stdout_str(), "{args:?}");
        assert_eq!(p.code, s.code, "{args:?}");
        assert!(
            p.stderr.contains("paxlock: error: cannot connect to")
                && p.stderr.contains("is the daemon running?")
                && p.stderr
                    .contains(&format!("SANLOCK_RUN_DIR={}", run.display())),
            "{args:?}: {}",
            p.stderr
        );
    }
    // sanlock exits 0 when `command` cannot register; paxlock reports it
    let s = sl_in(run, &["command", "-r", "LS:R1:/x:0", "-c", "/bin/true"]);
    let p = px_in(run, &["command", "-r", "LS:R1:/x:0", "-c", "/bin/true"]);
    assert_eq!(p.stdout_str(), s.stdout_str());
    assert_eq!(p.stdout_str(), "register\nregister done -2\n");
    assert_eq!((s.code, p.code), (0, 1));
}

#[test]
fn usage_errors_name_the_problem() {
    let run = std::path::Path::new("/nonexistent");
    let r = px_in(run, &["add_lockspace", "-s", "LS"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("NAME:HOST_ID:PATH:OFFSET"),
        "{}",
        r.stderr
    );
    let r = px_in(run, &["read", "-r", "LS:R1:/p:0", "-Z", "512", "-A", "8M"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("512/1M"), "{}", r.stderr);
    let r = px_in(run, &["frobnicate"]);
    assert_eq!(r.code, 2);
}

#[test]
fn help_matches_the_documentation() {
    let r = common::paxlock(&["client", "--help"]);
    assert_eq!(r.code, 0);
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/client.md"))
        .expect("docs/client.md");
    let help = r.stdout_str();
    for action in [
        "status",
        "host_status",
        "renewal",
        "gets",
        "log_dump",
        "shutdown",
        "add_lockspace",
        "inq_lockspace",
        "rem_lockspace",
        "command",
        "acquire",
        "convert",
        "release",
        "inquire",
        "request",
        "examine",
        "align",
        "init",
        "read",
        "version",
        "set_event",
        "set_config",
        "format",
        "rebuild",
        "create",
        "delete",
        "lookup",
        "update",
    ] {
        assert!(
            help.contains(&format!("  {action} ")),
            "--help lacks {action}"
        );
        assert!(
            doc.contains(&format!("paxlock client {action}")),
            "docs/client.md lacks `paxlock client {action}`"
        );
        let r = common::paxlock(&["client", action, "--help"]);
        assert_eq!(r.code, 0, "{action} --help");
    }
}

#[test]
fn works_with_paxlockd() {
    let d = TestDaemon::paxlock("cli-p");
    let (_dir, p) = lease_files(&["R1", "R2"]);
    let ls = format!("LS:1:{p}/ids:0");
    let r1 = format!("LS:R1:{p}/r1:0");
    let r2 = format!("LS:R2:{p}/r2:0");
    let v = px(&d, &["version"]);
    assert_eq!(v.code, 0);
    assert!(
        v.stdout_str().contains("daemon socket protocol 0.1"),
        "{}",
        v.stdout_str()
    );
    same(&d, &["version"]);
    join(&d, &ls);
    same(&d, &["inq_lockspace", "-s", &ls]);
    let h = Holder(
        px_command(&d, &["command", "-r", &r1, "-c", "/bin/sleep", "60"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = h.pid();
    assert!(
        wait_until(10, || px(&d, &["status"])
            .stdout_str()
            .contains(&format!("r {r1}:1 p {pid}"))),
        "{}",
        px(&d, &["status"]).stdout_str()
    );
    for args in [
        &["status"][..],
        &["status", "-o", "p"],
        &["gets"],
        &["inquire", "-p", &pid],
    ] {
        same_with(&d, args, &drop_transient);
    }
    let r = px(&d, &["acquire", "-r", &r2, "-p", &pid]);
    assert_eq!(
        r.stdout_str(),
        format!("acquire pid {pid}\nacquire done 0\n")
    );
    same(&d, &["acquire", "-r", &r2, "-p", &pid]); // -17
    same(&d, &["inquire", "-p", &pid]);
    let r = px(&d, &["release", "-r", "LS:R2", "-p", &pid]);
    assert_eq!(
        r.stdout_str(),
        format!("release pid {pid}\nrelease done 0\n")
    );
    same(&d, &["release", "-r", "LS:R2", "-p", &pid]); // -1
    let masked = |s: &str| mask_digits(&drop_transient(s));
    same_with(&d, &["host_status", "-s", "LS", "-D"], &masked);
    same_with(&d, &["gets", "-h", "1"], &masked);
    assert_eq!(px(&d, &["log_dump"]).code, 1);
    drop(h);
    assert!(wait_until(10, || !px(&d, &["status"])
        .stdout_str()
        .contains("r LS:")));
    let r = px(&d, &["rem_lockspace", "-s", &ls]);
    assert_eq!(
        r.stdout_str(),
        "rem_lockspace\nrem_lockspace done 0\n",
        "{}",
        r.stderr
    );
}
