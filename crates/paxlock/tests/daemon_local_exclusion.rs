//! Two processes on one host never both hold an exclusive lease: local
//! acquires of one resource racing each other get one success and
//! -EBUSY ("being acquired") for the rest, on paxlock's daemon as on
//! sanlock's; a later acquire while it is held gets -EEXIST.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Barrier};

use common::*;
use paxlock_format::Name;
use paxlock_proto::wire::{ResourceArg, SanlkDisk, SanlkOptions, SanlkResource};
use paxlock_proto::Request;

fn race(d: &TestDaemon, dir: &str, n: usize) -> Vec<i32> {
    let r = d.client(&[
        "add_lockspace",
        "-s",
        &format!("LS:1:{dir}/ids:0"),
        "-o",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout_str());
    let sock = d.run_dir.path().join("sanlock.sock");
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (sock, barrier, dir) = (sock.clone(), barrier.clone(), dir.to_string());
            std::thread::spawn(move || {
                let mut s = UnixStream::connect(&sock).unwrap();
                let reg: Vec<u8> = [0x0428_2010u32, 1, 1, 0, 32, 0, 0, 0]
                    .iter()
                    .flat_map(|v| v.to_ne_bytes())
                    .collect();
                s.write_all(&reg).unwrap();
                let res = SanlkResource {
                    lockspace_name: Name::new("LS").unwrap(),
                    name: Name::new("R1").unwrap(),
                    ..SanlkResource::default()
                };
                let disk = SanlkDisk::new(format!("{dir}/r1").as_bytes(), 0).unwrap();
                let req = Request::Acquire {
                    flags: 0,
                    target_pid: None,
                    resources: vec![ResourceArg::new(res, vec![disk])],
                    options: SanlkOptions::default(),
                };
                barrier.wait();
                s.write_all(&req.encode()).unwrap();
                let mut h = [0u8; 32];
                s.read_exact(&mut h).unwrap();
                let rv = i32::from_ne_bytes(h[24..28].try_into().unwrap());
                (rv, s) // keep the connection (and so the lease) until all are in
            })
        })
        .collect();
    let results: Vec<(i32, UnixStream)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let mut rvs: Vec<i32> = results.iter().map(|(rv, _)| *rv).collect();
    // One more, now that it is held.
    let r = d.client(&[
        "command",
        "-r",
        &format!("LS:R1:{dir}/r1:0"),
        "-c",
        "/bin/true",
    ]);
    rvs.push(if r.stdout_str().contains("acquire done -17") {
        -17
    } else {
        r.code
    });
    rvs.sort_unstable();
    rvs
}

#[test]
fn racing_local_acquires_give_one_holder() {
    let n = 8;
    let t = std::thread::spawn(move || {
        let (_dir, d) = lease_files(&["R1"]);
        let s = TestDaemon::sanlock("host-one");
        race(&s, &d, n)
    });
    let (_dir, d) = lease_files(&["R1"]);
    let p = TestDaemon::paxlock("host-one");
    let from_paxlock = race(&p, &d, n);
    let from_sanlock = t.join().unwrap();
    // Exactly one winner; the others -EBUSY (or -EEXIST if the winner
    // was already done when they came); then -EEXIST.
    for (who, rvs) in [("sanlock", &from_sanlock), ("paxlock", &from_paxlock)] {
        assert_eq!(
            rvs.iter().filter(|rv| **rv == 0).count(),
            1,
            "{who}: {rvs:?}"
        );
        assert!(
            rvs.iter().all(|rv| [0, -16, -17].contains(rv)),
            "{who}: {rvs:?}"
        );
        assert!(
            rvs.iter().filter(|rv| **rv == -17).count() >= 1,
            "{who}: {rvs:?}"
        );
    }
}
