//! Capacity of one paxlock daemon: 100 lockspaces, 1,000 registered
//! client connections and 10,000 held leases at once, and no renewal
//! late meanwhile (each lockspace's renewal history, as `sanlock client
//! renewal` prints it, shows no gap between good renewals reaching
//! id_renewal_warn_seconds, and no failed attempt).
//!
//! The sizes can be lowered for a quick look with PAXLOCK_CAPACITY=
//! "LOCKSPACES,CONNECTIONS,LEASES" (e.g. "10,100,1000").

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::*;
use paxlock_format::{area, Geometry, LeaderRecord, Name, SectorSize};
use paxlock_proto::wire::{ResourceArg, SanlkDisk, SanlkOptions, SanlkResource};
use paxlock_proto::Request;

/// io_timeout of the lockspaces: renewals every 4 s, warning at 12 s.
const IO: u16 = 2;

fn sizes() -> (usize, usize, usize) {
    let v: Vec<usize> = std::env::var("PAXLOCK_CAPACITY")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    match v[..] {
        [a, b, c] => (a, b, c),
        _ => (100, 1000, 10_000),
    }
}

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn header(cmd: u32, flags: u32, length: usize, data: u32, data2: u32) -> Vec<u8> {
    [0x0428_2010u32, 1, cmd, flags, length as u32, 0, data, data2]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect()
}

fn read_result(s: &mut UnixStream) -> i32 {
    let mut h = [0u8; 32];
    s.read_exact(&mut h).expect("reply");
    i32::from_ne_bytes(h[24..28].try_into().unwrap())
}

#[test]
fn hundred_lockspaces_thousand_clients_ten_thousand_leases_no_renewal_late() {
    let (n_ls, n_conn, n_leases) = sizes();
    let per_ls = n_leases.div_ceil(n_ls);
    let g = Geometry::legacy_default(SectorSize::from_bytes(512).unwrap());
    let dir = scratch();
    let dpath = s(dir.path());

    // Storage: lockspace i in ids<i>; its leases R<j> at j MiB of res<i>.
    let t0 = Instant::now();
    for i in 0..n_ls {
        let ls = name(&format!("LS{i}"));
        let f = std::fs::File::create(dir.path().join(format!("ids{i}"))).unwrap();
        let init = area::lockspace_init(g, ls, IO);
        f.write_all_at(&init.area, 0).unwrap();
        f.write_all_at(&init.commit_sector, 0).unwrap();
        let f = std::fs::File::create(dir.path().join(format!("res{i}"))).unwrap();
        f.set_len(per_ls as u64 * g.align_size().bytes()).unwrap();
        for j in 0..per_ls {
            let a = area::resource_init(g, ls, name(&format!("R{j}")), 0, None);
            let head = &a[..2 * g.sector_usize()];
            f.write_all_at(head, j as u64 * g.align_size().bytes())
                .unwrap();
        }
        f.sync_all().unwrap();
    }
    eprintln!("storage set up in {:?}", t0.elapsed());

    let d = TestDaemon::paxlock("capacity");
    let sock = d.run_dir.path().join("sanlock.sock");

    // Join every lockspace at once (asynchronous adds), then wait.
    let t0 = Instant::now();
    let mut adders: Vec<std::process::Child> = (0..n_ls)
        .map(|i| {
            d.command(&[
                "add_lockspace",
                "-s",
                &format!("LS{i}:1:{dpath}/ids{i}:0"),
                "-o",
                &IO.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for a in &mut adders {
        assert!(a.wait().unwrap().success(), "add_lockspace failed");
    }
    let join_time = t0.elapsed();
    eprintln!("{n_ls} lockspaces joined in {join_time:?}");

    // n_conn registered connections; lease k goes to connection k % n_conn.
    let t0 = Instant::now();
    let mut conns: Vec<UnixStream> = (0..n_conn)
        .map(|_| {
            let mut s = UnixStream::connect(&sock).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
            s.write_all(&header(1, 0, 32, 0, 0)).unwrap(); // REGISTER
            s
        })
        .collect();
    let workers = 8;
    let chunks: Vec<Vec<(usize, UnixStream)>> = {
        let mut v: Vec<Vec<(usize, UnixStream)>> = (0..workers).map(|_| Vec::new()).collect();
        for (c, s) in conns.drain(..).enumerate() {
            v[c % workers].push((c, s));
        }
        v
    };
    let dpath2 = dpath.clone();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let dpath = dpath2.clone();
            std::thread::spawn(move || {
                let mut out = Vec::new();
                let mut held = 0usize;
                for (c, mut s) in chunk {
                    let mine: Vec<usize> = (c..n_leases).step_by(n_conn).collect();
                    for batch in mine.chunks(8) {
                        let resources: Vec<ResourceArg> = batch
                            .iter()
                            .map(|&k| {
                                let (i, j) = (k % n_ls, k / n_ls);
                                let res = SanlkResource {
                                    lockspace_name: name(&format!("LS{i}")),
                                    name: name(&format!("R{j}")),
                                    ..SanlkResource::default()
                                };
                                let path = format!("{dpath}/res{i}");
                                let disk =
                                    SanlkDisk::new(path.as_bytes(), j as u64 * 1_048_576).unwrap();
                                ResourceArg::new(res, vec![disk])
                            })
                            .collect();
                        let req = Request::Acquire {
                            flags: 0,
                            target_pid: None,
                            resources,
                            options: SanlkOptions::default(),
                        };
                        s.write_all(&req.encode()).unwrap();
                        let rv = read_result(&mut s);
                        assert_eq!(rv, 0, "acquire of {batch:?} on connection {c}");
                        held += batch.len();
                    }
                    out.push(s);
                }
                (out, held)
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        let (mut v, n) = h.join().expect("acquire worker");
        conns.append(&mut v);
        total += n;
    }
    let acquire_time = t0.elapsed();
    assert_eq!(total, n_leases);
    eprintln!("{n_leases} leases acquired by {n_conn} clients in {acquire_time:?}");

    // The daemon reports them all.
    let status = d.client(&["status"]).stdout_str();
    let held = status.lines().filter(|l| l.starts_with("r ")).count();
    assert_eq!(held, n_leases, "status lists {held} leases");
    let clients = status.lines().filter(|l| l.starts_with("p ")).count();
    assert!(clients >= n_conn, "status lists {clients} clients");

    // Hold for a few more renewal rounds, then check every history.
    std::thread::sleep(Duration::from_secs(3 * 2 * u64::from(IO)));
    let warn_secs = 6 * u64::from(IO);
    let mut worst = 0u64;
    for i in 0..n_ls {
        let r = d.client(&["renewal", "-s", &format!("LS{i}:1:{dpath}/ids{i}:0")]);
        let mut ts: Vec<u64> = Vec::new();
        for line in r.stdout_str().lines() {
            let f = |k: &str| -> u64 {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(k))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            assert_eq!(
                (f("next_timeouts="), f("next_errors=")),
                (0, 0),
                "LS{i}: a renewal attempt failed: {line}"
            );
            ts.push(f("timestamp="));
        }
        assert!(
            ts.len() >= 3,
            "LS{i}: only {} renewals: {}",
            ts.len(),
            r.stdout_str()
        );
        for w in ts.windows(2) {
            worst = worst.max(w[1].saturating_sub(w[0]));
        }
    }
    eprintln!(
        "longest gap between renewals: {worst} s (renewal every {} s, late at {warn_secs} s)",
        2 * IO
    );
    assert!(worst < warn_secs, "a renewal was late: {worst} s gap");

    // Dropping the connections releases everything.
    let t0 = Instant::now();
    drop(conns);
    let released = (0..600).any(|_| {
        std::thread::sleep(Duration::from_millis(200));
        !d.client(&["status"])
            .stdout_str()
            .lines()
            .any(|l| l.starts_with("r "))
    });
    assert!(released, "leases still held after the clients went away");
    // ... on disk too: every leader free (timestamp 0).
    let all_free = || {
        (0..n_leases).all(|k| {
            let (i, j) = (k % n_ls, k / n_ls);
            let b = read_direct(
                &dir.path().join(format!("res{i}")),
                j as u64 * g.align_size().bytes(),
                g.sector_usize(),
            );
            LeaderRecord::decode(&b).is_ok_and(|l| l.timestamp == 0 && l.lver == 1)
        })
    };
    let on_disk = (0..300).any(|_| {
        std::thread::sleep(Duration::from_millis(200));
        all_free()
    });
    if !on_disk {
        let bad: Vec<String> = (0..n_leases)
            .filter_map(|k| {
                let (i, j) = (k % n_ls, k / n_ls);
                let b = read_direct(
                    &dir.path().join(format!("res{i}")),
                    j as u64 * g.align_size().bytes(),
                    g.sector_usize(),
                );
                match LeaderRecord::decode(&b) {
                    Ok(l) if l.timestamp == 0 && l.lver == 1 => None,
                    Ok(l) => Some(format!(
                        "LS{i}:R{j} lver {} ts {} owner {}",
                        l.lver, l.timestamp, l.owner_id
                    )),
                    Err(e) => Some(format!("LS{i}:R{j} {e}")),
                }
            })
            .take(5)
            .collect();
        panic!(
            "leases not free on disk after the release: {bad:?}\n{}",
            d.client(&["log_dump"])
                .stdout_str()
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    eprintln!("released in {:?}", t0.elapsed());
}
