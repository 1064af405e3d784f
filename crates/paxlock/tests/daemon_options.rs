//! `paxlock daemon` options and configuration file: sanlock's options
//! and sanlock.conf keys; a key paxlock does not act on gets a warning.

mod common;

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn daemon(run_dir: &std::path::Path, conf: Option<&std::path::Path>, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paxlock"));
    c.arg("daemon")
        .args(args)
        .env("SANLOCK_RUN_DIR", run_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match conf {
        Some(p) => c.env("PAXLOCK_CONFIG", p),
        None => c.env("PAXLOCK_CONFIG", "/dev/null"),
    };
    c
}

fn wait_status(run_dir: &std::path::Path) -> String {
    for _ in 0..100 {
        let out = Command::new("sanlock")
            .args(["client", "status", "-D"])
            .env("SANLOCK_RUN_DIR", run_dir)
            .output()
            .unwrap();
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("daemon did not come up");
}

fn shutdown(run_dir: &std::path::Path, child: std::process::Child) -> String {
    let _ = Command::new("sanlock")
        .args(["client", "shutdown", "-f", "1"])
        .env("SANLOCK_RUN_DIR", run_dir)
        .output();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn config_file_sets_the_host_name_and_warns_about_keys_without_effect() {
    let dir = tempfile::Builder::new()
        .prefix("pxo")
        .tempdir_in("/tmp")
        .unwrap();
    let conf = dir.path().join("sanlock.conf");
    std::fs::write(
        &conf,
        "# test\nour_host_name = from-config\nuse_watchdog = 0\nmlock_level = 1\nfrobnicate = 3\n",
    )
    .unwrap();
    let child = daemon(dir.path(), Some(&conf), &["-D"]).spawn().unwrap();
    let status = wait_status(dir.path());
    assert!(status.contains("our_host_name=from-config"), "{status}");
    let stderr = shutdown(dir.path(), child);
    assert!(stderr.contains("mlock_level has no effect"), "{stderr}");
    assert!(stderr.contains("unknown key \"frobnicate\""), "{stderr}");
}

#[test]
fn command_line_overrides_the_config_file() {
    let dir = tempfile::Builder::new()
        .prefix("pxo")
        .tempdir_in("/tmp")
        .unwrap();
    let conf = dir.path().join("sanlock.conf");
    std::fs::write(&conf, "our_host_name = from-config\nuse_watchdog = 0\n").unwrap();
    let child = daemon(dir.path(), Some(&conf), &["-e", "from-cli"])
        .spawn()
        .unwrap();
    let status = wait_status(dir.path());
    assert!(status.contains("our_host_name=from-cli"), "{status}");
    shutdown(dir.path(), child);
}

#[test]
fn socket_owner_and_mode_follow_u_and_g() {
    let dir = tempfile::Builder::new()
        .prefix("pxo")
        .tempdir_in("/tmp")
        .unwrap();
    let child = daemon(
        dir.path(),
        None,
        &["-w", "0", "-U", "nobody", "-G", "nogroup"],
    )
    .spawn()
    .unwrap();
    wait_status(dir.path());
    let m = std::fs::metadata(dir.path().join("sanlock.sock")).unwrap();
    let nobody = 65534;
    assert_eq!(
        (m.uid(), m.gid(), m.mode() & 0o777),
        (nobody, nobody, 0o660)
    );
    shutdown(dir.path(), child);
}

#[test]
fn bad_settings_are_refused_with_a_clear_message() {
    let dir = tempfile::Builder::new()
        .prefix("pxo")
        .tempdir_in("/tmp")
        .unwrap();
    let conf = dir.path().join("sanlock.conf");
    std::fs::write(&conf, "use_watchdog = 0\nkill_grace_seconds = 99\n").unwrap();
    for (conf, args, needle) in [
        (
            Some(conf.as_path()),
            &["-D"][..],
            "kill_grace_seconds = \"99\"",
        ),
        (
            None,
            &["-w", "0", "-U", "no-such-user-x"][..],
            "no such user",
        ),
        (None, &["-w", "0", "-g", "61"][..], "61"),
    ] {
        let out = daemon(dir.path(), conf, args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(
            !dir.path().join("sanlock.sock").exists(),
            "{args:?} started"
        );
    }
    // The real sanlock refuses a second daemon on one run dir; so do we.
    let first = daemon(dir.path(), None, &["-w", "0"]).spawn().unwrap();
    wait_status(dir.path());
    let second = daemon(dir.path(), None, &["-w", "0"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("another daemon is running"), "{stderr}");
    shutdown(dir.path(), first);
    let _ = s(dir.path());
}
