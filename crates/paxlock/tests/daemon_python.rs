//! One python3-sanlock script (register, add_lockspace, acquire EX and SH,
//! inquire, convert, request, release, get_hosts, rem_lockspace, and the
//! expected errors) passes unchanged, with the same results, against a
//! sanlock daemon and a paxlock daemon.

mod common;
use common::*;

fn walkthrough(run_dir: &std::path::Path) -> serde_json::Value {
    let (_dir, d) = lease_files(&["R1"]);
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python/lease_walkthrough.py");
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(format!("{d}/ids"))
        .arg(format!("{d}/r1"))
        .env("SANLOCK_RUN_DIR", run_dir)
        .output()
        .expect("run /usr/bin/python3 (python3-sanlock)");
    assert!(
        out.status.success(),
        "script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn python3_sanlock_walkthrough_gives_the_same_results_on_both_daemons() {
    let sanlock_daemon = TestDaemon::sanlock("host-one");
    let paxlock_daemon = TestDaemon::paxlock("host-one");
    let from_sanlock = walkthrough(sanlock_daemon.run_dir.path());
    let from_paxlock = walkthrough(paxlock_daemon.run_dir.path());
    let (a, b) = (
        from_sanlock.as_array().unwrap(),
        from_paxlock.as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for (s, p) in a.iter().zip(b) {
        assert_eq!(p, s, "paxlock (left) and sanlock (right) differ");
    }
    // The walkthrough is not vacuous: it saw successes and the expected errors.
    let step = |name: &str| a.iter().find(|x| x[0] == name).unwrap().clone();
    assert_eq!(step("acquire_ex")[1], "ok");
    assert_eq!(step("acquire_ex_again")[2], 17);
    assert_eq!(step("release_not_held")[2], 1);
    assert_eq!(step("acquire_unjoined_lockspace")[2], 28);
    assert_eq!(step("acquire_lver_mismatch")[2], -240);
}
