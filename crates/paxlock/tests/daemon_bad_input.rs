//! Bad input on paxlock's daemon socket: wrong magic, lengths that lie,
//! truncated and stalled messages, huge counts, unknown commands, a client
//! that never reads its replies, and a flood of connections. Each gets an
//! error reply or a closed connection; the daemon keeps serving everyone
//! else and leaks neither threads nor file descriptors.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::*;

const SM_MAGIC: u32 = 0x0428_2010;
const CMD_INQUIRE: u32 = 9;
const CMD_ACQUIRE: u32 = 7;
const CMD_VERSION: u32 = 28;
const CMD_STATUS: u32 = 5;

fn header(magic: u32, cmd: u32, flags: u32, length: u32, data: u32, data2: u32) -> Vec<u8> {
    [magic, 1, cmd, flags, length, 0, data, data2]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect()
}

fn connect(d: &TestDaemon) -> UnixStream {
    let s = UnixStream::connect(d.run_dir.path().join("sanlock.sock")).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Reads until EOF or a 32-byte reply header; returns the header's
/// `data` (the result) or None on EOF.
fn reply(s: &mut UnixStream) -> Option<i32> {
    let mut h = [0u8; 32];
    s.read_exact(&mut h).ok()?;
    Some(i32::from_ne_bytes(h[24..28].try_into().unwrap()))
}

/// The daemon closed the connection (a reset counts: it closed with our
/// bytes unread).
fn closed(s: &mut UnixStream) -> bool {
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(0) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(_) => false,
    }
}

/// The daemon still answers a fresh client.
fn still_serving(d: &TestDaemon) {
    let mut s = connect(d);
    s.write_all(&header(SM_MAGIC, CMD_VERSION, 0, 32, 0, 0))
        .unwrap();
    let mut h = [0u8; 32];
    s.read_exact(&mut h).expect("version reply");
    assert_eq!(
        u32::from_ne_bytes(h[28..32].try_into().unwrap()),
        0x0308_0500,
        "daemon version"
    );
}

fn proc_count(pid: u32, what: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/{what}"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits (up to 15 s) for the daemon's threads and fds to come back to
/// `base`.
fn settles(d: &TestDaemon, base: (usize, usize)) -> (usize, usize) {
    let t0 = Instant::now();
    loop {
        let now = (proc_count(d.pid(), "task"), proc_count(d.pid(), "fd"));
        if now.0 <= base.0 && now.1 <= base.1 || t0.elapsed() > Duration::from_secs(15) {
            return now;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn baseline(d: &TestDaemon) -> (usize, usize) {
    still_serving(d);
    std::thread::sleep(Duration::from_millis(200));
    (proc_count(d.pid(), "task"), proc_count(d.pid(), "fd"))
}

#[test]
fn malformed_messages_get_an_error_or_a_close_and_nothing_leaks() {
    let d = TestDaemon::paxlock("bad-input");
    let base = baseline(&d);

    // Wrong magic: closed.
    let mut s = connect(&d);
    s.write_all(&header(0xdead_beef, CMD_VERSION, 0, 32, 0, 0))
        .unwrap();
    assert!(closed(&mut s), "wrong magic");

    // A length that lies (4 GiB): closed, nothing allocated for it.
    let mut s = connect(&d);
    s.write_all(&header(SM_MAGIC, CMD_ACQUIRE, 0, u32::MAX, 1, u32::MAX))
        .unwrap();
    assert!(closed(&mut s), "huge length");

    // A length below the header: closed.
    let mut s = connect(&d);
    s.write_all(&header(SM_MAGIC, CMD_INQUIRE, 0, 4, 0, 0))
        .unwrap();
    assert!(closed(&mut s), "short length");

    // Unknown command: closed (sanlock would never answer; we do not hang).
    let mut s = connect(&d);
    s.write_all(&header(SM_MAGIC, 999, 0, 32, 0, 0)).unwrap();
    assert!(closed(&mut s), "unknown command");

    // Huge resource count: -E2BIG, and the connection goes on.
    let mut s = connect(&d);
    let n = 100_000u32;
    s.write_all(&header(SM_MAGIC, CMD_ACQUIRE, 0, 32 + 56, n, u32::MAX))
        .unwrap();
    s.write_all(&[0u8; 56]).unwrap();
    assert_eq!(reply(&mut s), Some(-7), "res_count 100000");
    drop(s);

    // Truncated: a header promising an ACQUIRE payload, then EOF.
    let mut s = connect(&d);
    s.write_all(&header(
        SM_MAGIC,
        CMD_ACQUIRE,
        0,
        32 + 128 + 1040 + 56,
        1,
        u32::MAX,
    ))
    .unwrap();
    s.write_all(&[0u8; 100]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(closed(&mut s), "truncated");

    // Stalled mid-message: closed after the message timeout (10 s).
    let mut s = connect(&d);
    s.write_all(&header(
        SM_MAGIC,
        CMD_ACQUIRE,
        0,
        32 + 128 + 1040 + 56,
        1,
        u32::MAX,
    ))
    .unwrap();
    s.write_all(&[0u8; 100]).unwrap();
    still_serving(&d); // meanwhile, others are served
    let t0 = Instant::now();
    assert!(closed(&mut s), "stalled");
    assert!(t0.elapsed() < Duration::from_secs(12), "{:?}", t0.elapsed());

    // Garbage bytes.
    let mut s = connect(&d);
    s.write_all(&[0x55u8; 4096]).unwrap();
    assert!(closed(&mut s), "garbage");

    still_serving(&d);
    let after = settles(&d, base);
    assert!(
        after.0 <= base.0 && after.1 <= base.1,
        "threads/fds {after:?} after, {base:?} before"
    );
}

/// A client that sends requests and never reads the replies: once the
/// socket buffer is full the daemon's write times out and the connection
/// is closed; meanwhile and afterwards the daemon serves others.
#[test]
fn a_client_that_never_reads_its_replies_is_dropped() {
    let d = TestDaemon::paxlock("no-reader");
    let base = baseline(&d);
    let mut s = connect(&d);
    s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    // Each STATUS reply is closed after, so use INQUIRE (-ESRCH replies)
    // on one connection: 32 bytes each, far more than the buffers hold.
    let req = header(SM_MAGIC, CMD_INQUIRE, 0, 32, 0, 4_000_000);
    let t0 = Instant::now();
    let mut sent = 0usize;
    while t0.elapsed() < Duration::from_secs(20) {
        if s.write_all(&req).is_err() {
            break; // the daemon stopped reading: it is blocked or gone
        }
        sent += 1;
    }
    still_serving(&d);
    // We keep the connection open and still do not read: the daemon's
    // reply write times out (10 s) and it lets the connection go.
    let after = settles(&d, base);
    assert!(
        after.0 <= base.0 && after.1 <= base.1,
        "threads/fds {after:?} with the non-reader still connected, {base:?} before ({sent} requests sent)"
    );
    assert!(closed(&mut s) || reply(&mut s).is_some());
    drop(s);
    still_serving(&d);
}

/// 1,000 connections at once, each asking STATUS: every one is answered,
/// and when they are gone the daemon is back to its threads and fds.
#[test]
fn a_flood_of_connections_is_served_and_leaves_nothing_behind() {
    let d = TestDaemon::paxlock("flood");
    let base = baseline(&d);
    let mut conns: Vec<UnixStream> = (0..1000).map(|_| connect(&d)).collect();
    for s in &mut conns {
        s.write_all(&header(SM_MAGIC, CMD_STATUS, 0, 32, 0, 0))
            .unwrap();
    }
    for (i, s) in conns.iter_mut().enumerate() {
        let mut all = Vec::new();
        s.read_to_end(&mut all)
            .unwrap_or_else(|e| panic!("conn {i}: {e}"));
        assert!(all.len() > 32, "conn {i}: {} bytes", all.len());
    }
    drop(conns);
    still_serving(&d);
    let after = settles(&d, base);
    assert!(
        after.0 <= base.0 && after.1 <= base.1,
        "threads/fds {after:?} after, {base:?} before"
    );
}
