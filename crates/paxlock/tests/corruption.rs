//! A corrupted checksum, a torn sector and a wrong magic are each detected
//! and reported, by paxlock as by sanlock.

mod common;
use common::*;
use paxlock_format::{LeaderRecord, Name};

/// A lockspace whose host 1 slot holds a live-looking record; returns the
/// image path and the encoded slot.
fn lockspace_with_live_slot(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let img = file(dir, "ls.img", MIB, 0);
    assert_eq!(
        paxlock(&["direct", "init", "-s", &format!("LS:0:{}:0", s(&img))]).code,
        0
    );
    let bytes = std::fs::read(&img).unwrap();
    let old = bytes[..512].to_vec();
    let mut l = LeaderRecord::decode(&old).unwrap();
    l.owner_id = 1;
    l.owner_generation = 3;
    l.resource_name = Name::new("host-one-0123456789abcdef").unwrap();
    l.timestamp = 4242;
    l.seal();
    let new = l.to_sector(512).unwrap();
    (img, old, new)
}

fn write_slot(img: &std::path::Path, sector: &[u8]) {
    let mut bytes = std::fs::read(img).unwrap();
    bytes[..512].copy_from_slice(sector);
    std::fs::write(img, bytes).unwrap();
}

#[test]
fn corrupted_checksum_is_detected_by_read_leader_and_dump() {
    let dir = scratch();
    let (img, _old, mut new) = lockspace_with_live_slot(dir.path());
    new[152] ^= 0x01; // the timestamp changes under the checksum
    write_slot(&img, &new);
    let lease = format!("LS:1:{}:0", s(&img));
    let r = assert_same(&["direct", "read_leader", "-s", &lease]);
    assert!(r.stdout_str().starts_with("read_leader done -229\n"));
    assert!(
        r.stderr.contains("checksum mismatch") && r.stderr.contains(&s(&img)),
        "{}",
        r.stderr
    );
    let r = assert_same(&["direct", "dump", &s(&img)]);
    assert!(
        r.stderr.contains("host_id 1 delta lease") && r.stderr.contains("checksum mismatch"),
        "{}",
        r.stderr
    );
    let r = paxlock(&["direct", "dump", &s(&img), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["areas"][0]["hosts"][0]["leader"]["checksum_ok"], false);
}

/// A sector torn by a partial write: the first 128 bytes come from the new
/// record (new owner and generation), the rest from the old one.
#[test]
fn torn_sector_is_detected() {
    let dir = scratch();
    let (img, old, new) = lockspace_with_live_slot(dir.path());
    let mut torn = old.clone();
    torn[..128].copy_from_slice(&new[..128]);
    write_slot(&img, &torn);
    let lease = format!("LS:1:{}:0", s(&img));
    let r = assert_same(&["direct", "read_leader", "-s", &lease]);
    assert!(
        r.stdout_str().starts_with("read_leader done -229\n"),
        "{}",
        r.stdout_str()
    );
    assert!(r.stderr.contains("torn"), "{}", r.stderr);
    let r = paxlock(&["direct", "dump", &s(&img)]);
    assert!(r.stderr.contains("torn by a partial write"), "{}", r.stderr);
}

#[test]
fn torn_dblock_is_detected_in_dump() {
    let dir = scratch();
    let img = file(dir.path(), "res.img", MIB, 0);
    assert_eq!(
        paxlock(&["direct", "init", "-r", &format!("LS:R1:{}:0", s(&img))]).code,
        0
    );
    let mut bytes = std::fs::read(&img).unwrap();
    // host 3's dblock (sector 4): half a ballot, mbal written, checksum not.
    bytes[4 * 512..4 * 512 + 8].copy_from_slice(&2003u64.to_le_bytes());
    std::fs::write(&img, &bytes).unwrap();
    let r = assert_same(&["direct", "dump", &s(&img), "-f", "2"]);
    assert!(
        r.stderr.contains("dblock of host_id 3") && r.stderr.contains("checksum mismatch"),
        "{}",
        r.stderr
    );
}

#[test]
fn wrong_magic_is_detected() {
    let dir = scratch();
    let img = file(dir.path(), "m.img", 2 * MIB, 0);
    let p = s(&img);
    assert_eq!(
        paxlock(&["direct", "init", "-r", &format!("LS:R1:{p}:1M")]).code,
        0
    );
    let mut bytes = std::fs::read(&img).unwrap();
    bytes[MIB as usize..MIB as usize + 4].copy_from_slice(&0xdead_beefu32.to_le_bytes());
    std::fs::write(&img, &bytes).unwrap();
    let r = assert_same(&["direct", "read_leader", "-r", &format!("LS:R1:{p}:1M")]);
    assert!(r.stdout_str().starts_with("read_leader done -223\n"));
    assert!(
        r.stderr.contains("unknown magic 0xdeadbeef"),
        "{}",
        r.stderr
    );
    let r = assert_same(&["direct", "dump", &format!("{p}:1M")]);
    assert!(
        r.stderr.contains("no lockspace or resource lease found"),
        "{}",
        r.stderr
    );
}
