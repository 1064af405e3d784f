//! LeaderRecord::decode on arbitrary bytes: decode fails exactly on short
//! input, re-encoding reproduces the 200 bytes, the checksum and the
//! verify_* checks agree with a model written from the spec.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paxlock_format::crc::sanlock_crc;
use paxlock_format::leader::{
    bitmap_hosts, set_bitmap_host, LeaderKind, DELTA_DISK_MAGIC, DELTA_DISK_VERSION,
    LEADER_CHECKSUM_LEN, LEADER_RECORD_LEN, PAXOS_DISK_MAGIC, PAXOS_DISK_VERSION,
};
use paxlock_format::{LeaderRecord, Name};

fn le(b: &[u8], off: usize, len: usize) -> u64 {
    b[off..off + len]
        .iter()
        .rev()
        .fold(0, |acc, &x| (acc << 8) | u64::from(x))
}

fn le32(b: &[u8], off: usize) -> u32 {
    le(b, off, 4) as u32
}

fuzz_target!(|data: &[u8]| {
    let l = match LeaderRecord::decode(data) {
        Err(e) => {
            assert!(
                data.len() < LEADER_RECORD_LEN,
                "decode failed on {} bytes",
                data.len()
            );
            assert!(!e.to_string().is_empty());
            return;
        }
        Ok(l) => l,
    };
    assert!(data.len() >= LEADER_RECORD_LEN);

    // re-encoding reproduces the bytes the record covers, and nothing else
    let mut out = vec![0xa5u8; LEADER_RECORD_LEN + 8];
    l.encode(&mut out).unwrap();
    assert_eq!(&out[..LEADER_RECORD_LEN], &data[..LEADER_RECORD_LEN]);
    assert!(out[LEADER_RECORD_LEN..].iter().all(|&b| b == 0xa5));
    assert_eq!(LeaderRecord::decode(&out).unwrap(), l);
    assert!(l.encode(&mut out[..LEADER_RECORD_LEN - 1]).is_err());

    // every field sits where the spec table of leader.rs puts it
    let fields: [(usize, usize, u64); 17] = [
        (0, 4, l.magic.into()),
        (4, 4, l.version.into()),
        (8, 4, l.flags.into()),
        (12, 4, l.sector_size.into()),
        (16, 8, l.num_hosts),
        (24, 8, l.max_hosts),
        (32, 8, l.owner_id),
        (40, 8, l.owner_generation),
        (48, 8, l.lver),
        (152, 8, l.timestamp),
        (160, 8, l.unused1),
        (168, 4, l.checksum.into()),
        (172, 2, l.unused2.into()),
        (174, 2, l.io_timeout.into()),
        (176, 8, l.write_id),
        (184, 8, l.write_generation),
        (192, 8, l.write_timestamp),
    ];
    for (off, len, v) in fields {
        assert_eq!(le(data, off, len), v, "leader field at offset {off}");
    }
    assert_eq!(l.space_name.raw(), &data[56..104]);
    assert_eq!(l.resource_name.raw(), &data[104..152]);

    // the checksum is the CRC of bytes [0, 168), stored at 168
    let crc = sanlock_crc(&data[..LEADER_CHECKSUM_LEN]);
    assert_eq!(l.checksum, le32(data, 168));
    assert_eq!(l.computed_checksum(), crc);
    assert_eq!(l.checksum_ok(), crc == l.checksum);

    // verify_delta: magic, version major, name, checksum, in that order
    let major = |v: u32| v & 0xffff_0000;
    let own_space = l.space_name;
    let own_res = l.resource_name;
    let delta_shape = l.magic == DELTA_DISK_MAGIC && major(l.version) == major(DELTA_DISK_VERSION);
    match l.verify_delta(&own_space) {
        Ok(()) => assert!(delta_shape && l.checksum_ok()),
        Err(e) => {
            let want = if l.magic != DELTA_DISK_MAGIC {
                -223
            } else if major(l.version) != major(DELTA_DISK_VERSION) {
                -224
            } else {
                -229
            };
            assert_eq!(e.code(), want, "{e}");
        }
    }
    // a name that differs before its first NUL is rejected with -226
    let other = other_name(&own_space);
    if delta_shape {
        assert_eq!(l.verify_delta(&other).unwrap_err().code(), -226);
    }

    // verify_paxos: magic, version, lockspace, resource, num_hosts, checksum
    let paxos_shape = l.magic == PAXOS_DISK_MAGIC && major(l.version) == major(PAXOS_DISK_VERSION);
    for host_id in [0, 1, l.num_hosts, l.num_hosts.saturating_add(1), u64::MAX] {
        let r = l.verify_paxos(&own_space, &own_res, host_id);
        let want = if l.magic != PAXOS_DISK_MAGIC {
            Err(-223)
        } else if major(l.version) != major(PAXOS_DISK_VERSION) {
            Err(-224)
        } else if l.num_hosts < host_id {
            Err(-228)
        } else if !l.checksum_ok() {
            Err(-229)
        } else {
            Ok(())
        };
        assert_eq!(
            r.as_ref().map_err(|e| e.code()),
            want.as_ref().map_err(|c| *c),
            "{r:?}"
        );
        if let Err(e) = r {
            assert!(!e.to_string().is_empty());
        }
    }
    if paxos_shape {
        assert_eq!(
            l.verify_paxos(&other, &own_res, 0).unwrap_err().code(),
            -226
        );
        assert_eq!(
            l.verify_paxos(&own_space, &other_name(&own_res), 0)
                .unwrap_err()
                .code(),
            -227
        );
    }

    // sealing fixes the checksum and changes only bytes [168, 172)
    let mut sealed = l;
    sealed.seal();
    assert!(sealed.checksum_ok());
    let s = sealed.to_sector(LEADER_RECORD_LEN).unwrap();
    assert_eq!(&s[..168], &data[..168]);
    assert_eq!(&s[172..200], &data[172..200]);
    assert_eq!(le32(&s, 168), crc);

    // helpers never panic and agree with the fields
    if let Some(g) = l.geometry() {
        assert_eq!(g.sector_bytes(), u64::from(l.sector_size));
    }
    assert!(!l.kind().describe().is_empty());
    assert_eq!(l.kind() == LeaderKind::Zero, l.magic == 0);
    assert_eq!(l.is_free(), l.timestamp == 0);

    // bitmap of a delta sector: sorted, in range, and set/read agree
    let hosts = bitmap_hosts(data, l.max_hosts);
    assert!(hosts.windows(2).all(|w| w[0] < w[1]));
    assert!(hosts.iter().all(|&h| h >= 1 && h <= l.max_hosts.min(2048)));
    if data.len() >= 512 {
        let mut sector = data[..512].to_vec();
        let h = l.owner_id;
        let set = set_bitmap_host(&mut sector, h);
        assert_eq!(set, (1..=2048).contains(&h));
        if set {
            assert!(bitmap_hosts(&sector, 2048).contains(&h));
            assert_eq!(&sector[..256], &data[..256]);
        } else {
            assert_eq!(&sector[..], &data[..512]);
        }
    } else {
        assert!(hosts.is_empty());
    }
});

/// A name that differs from `n` before its first NUL.
fn other_name(n: &Name) -> Name {
    let mut raw = *n.raw();
    raw[0] = if raw[0] == b'x' { b'y' } else { b'x' };
    Name::from_raw(raw)
}
