//! Property tests of the on-disk records and the lease strings.
//!
//! Layout checks compare encoded bytes with the offsets of the spec tables
//! (written out here again, independently of the crate's constants), so a
//! wrong offset fails even when encode and decode agree with each other.

use std::sync::OnceLock;

use paxlock_format::area::{self, AreaView};
use paxlock_format::dblock::{DBLOCK_CHECKSUM_LEN, DBLOCK_LEN, MBLOCK_LEN, MBLOCK_OFFSET};
use paxlock_format::leader::{
    self, DELTA_DISK_MAGIC, DELTA_DISK_VERSION, LEADER_CHECKSUM_LEN, LEADER_RECORD_LEN,
    PAXOS_DISK_CLEAR, PAXOS_DISK_MAGIC, PAXOS_DISK_VERSION,
};
use paxlock_format::leasestr::{
    parse_dump_target, DiskLoc, LockspaceArg, RentryArg, ResourceArg, RindexArg, MAX_DISKS,
    PATH_LEN_MAX,
};
use paxlock_format::name::NAME_LEN;
use paxlock_format::request::REQUEST_RECORD_LEN;
use paxlock_format::rindex::{self, RINDEX_DISK_MAGIC, RINDEX_ENTRY_LEN, RINDEX_HEADER_LEN};
use paxlock_format::{
    Geometry, LeaderRecord, ModeBlock, Name, PaxosDblock, RequestRecord, RindexEntry, RindexHeader,
};
use proptest::prelude::*;

const MIB: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------
// helpers and strategies

/// Little-endian unsigned value of `len` bytes at `off`.
fn le(b: &[u8], off: usize, len: usize) -> u64 {
    b[off..off + len]
        .iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

fn arb_name() -> impl Strategy<Value = Name> {
    prop_oneof![
        // fully random raw bytes (NULs anywhere, garbage after a NUL)
        3 => prop::collection::vec(any::<u8>(), NAME_LEN)
            .prop_map(|v| Name::from_raw(v.try_into().unwrap())),
        // a printable name padded with NULs
        1 => "[A-Za-z0-9_-]{0,48}".prop_map(|s| Name::new(&s).unwrap()),
    ]
}

fn arb_magic() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(DELTA_DISK_MAGIC),
        Just(PAXOS_DISK_MAGIC),
        Just(PAXOS_DISK_CLEAR),
        Just(RINDEX_DISK_MAGIC),
        Just(0u32),
        any::<u32>(),
    ]
}

fn arb_leader() -> impl Strategy<Value = LeaderRecord> {
    let a = (
        arb_magic(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    );
    let b = (
        arb_name(),
        arb_name(),
        any::<u64>(),
        any::<u64>(),
        any::<u32>(),
    );
    let c = (
        any::<u16>(),
        any::<u16>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    );
    (a, b, c).prop_map(
        |(
            (magic, version, flags, sector_size, num_hosts, max_hosts, owner_id, owner_gen, lver),
            (space_name, resource_name, timestamp, unused1, checksum),
            (unused2, io_timeout, write_id, write_generation, write_timestamp),
        )| LeaderRecord {
            magic,
            version,
            flags,
            sector_size,
            num_hosts,
            max_hosts,
            owner_id,
            owner_generation: owner_gen,
            lver,
            space_name,
            resource_name,
            timestamp,
            unused1,
            checksum,
            unused2,
            io_timeout,
            write_id,
            write_generation,
            write_timestamp,
        },
    )
}

fn arb_dblock() -> impl Strategy<Value = PaxosDblock> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(mbal, bal, inp, inp2, inp3, lver, checksum, flags)| PaxosDblock {
                mbal,
                bal,
                inp,
                inp2,
                inp3,
                lver,
                checksum,
                flags,
            },
        )
}

fn arb_request() -> impl Strategy<Value = RequestRecord> {
    (arb_magic(), any::<u32>(), any::<u64>(), any::<u32>()).prop_map(
        |(magic, version, lver, force_mode)| RequestRecord {
            magic,
            version,
            lver,
            force_mode,
        },
    )
}

fn arb_rindex_header() -> impl Strategy<Value = RindexHeader> {
    (
        arb_magic(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        arb_name(),
    )
        .prop_map(
            |(magic, version, flags, sector_size, max_resources, unused, rx_offset, name)| {
                RindexHeader {
                    magic,
                    version,
                    flags,
                    sector_size,
                    max_resources,
                    unused,
                    rx_offset,
                    lockspace_name: name,
                }
            },
        )
}

fn arb_rindex_entry() -> impl Strategy<Value = RindexEntry> {
    (any::<u64>(), any::<u32>(), any::<u32>(), arb_name()).prop_map(
        |(res_offset, flags, unused, name)| RindexEntry {
            res_offset,
            flags,
            unused,
            name,
        },
    )
}

/// A random buffer of at least `min` bytes, to show that encode writes its
/// own bytes and leaves the rest alone.
fn arb_buf(min: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), min..min + 600)
}

fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..5000)
}

/// Checks a leader's encoding against the spec table of `leader.rs`.
fn assert_leader_layout(l: &LeaderRecord, b: &[u8]) {
    let ints: [(usize, usize, u64); 17] = [
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
    for (off, len, v) in ints {
        assert_eq!(le(b, off, len), v, "leader field at offset {off}");
    }
    assert_eq!(&b[56..104], l.space_name.raw(), "space_name at 56");
    assert_eq!(&b[104..152], l.resource_name.raw(), "resource_name at 104");
}

// ---------------------------------------------------------------------------
// encode/decode round trips

proptest! {
    #[test]
    fn leader_round_trip(l in arb_leader(), mut buf in arb_buf(LEADER_RECORD_LEN)) {
        let before = buf.clone();
        l.encode(&mut buf).unwrap();
        assert_leader_layout(&l, &buf);
        prop_assert_eq!(&buf[LEADER_RECORD_LEN..], &before[LEADER_RECORD_LEN..]);
        prop_assert_eq!(LeaderRecord::decode(&buf).unwrap(), l);
        let sector = l.to_sector(512).unwrap();
        prop_assert_eq!(&sector[..LEADER_RECORD_LEN], &buf[..LEADER_RECORD_LEN]);
        prop_assert!(sector[LEADER_RECORD_LEN..].iter().all(|&x| x == 0));
    }

    #[test]
    fn leader_bytes_round_trip(b in prop::collection::vec(any::<u8>(), LEADER_RECORD_LEN)) {
        let l = LeaderRecord::decode(&b).unwrap();
        assert_leader_layout(&l, &b);
        let mut out = [0u8; LEADER_RECORD_LEN];
        l.encode(&mut out).unwrap();
        prop_assert_eq!(&out[..], &b[..]);
    }

    #[test]
    fn leader_seal_is_crc_of_first_168_bytes(l in arb_leader()) {
        let mut l = l;
        l.seal();
        prop_assert!(l.checksum_ok());
        let b = l.to_sector(LEADER_RECORD_LEN).unwrap();
        prop_assert_eq!(
            l.checksum,
            paxlock_format::crc::sanlock_crc(&b[..LEADER_CHECKSUM_LEN])
        );
        prop_assert_eq!(le(&b, 168, 4), u64::from(l.checksum));
    }

    #[test]
    fn dblock_round_trip(d in arb_dblock(), mut buf in arb_buf(DBLOCK_LEN)) {
        let before = buf.clone();
        d.encode(&mut buf).unwrap();
        let expect: [(usize, usize, u64); 8] = [
            (0, 8, d.mbal),
            (8, 8, d.bal),
            (16, 8, d.inp),
            (24, 8, d.inp2),
            (32, 8, d.inp3),
            (40, 8, d.lver),
            (48, 4, d.checksum.into()),
            (52, 4, d.flags.into()),
        ];
        for (off, len, v) in expect {
            prop_assert_eq!(le(&buf, off, len), v, "dblock field at offset {}", off);
        }
        prop_assert_eq!(&buf[DBLOCK_LEN..], &before[DBLOCK_LEN..]);
        prop_assert_eq!(PaxosDblock::decode(&buf).unwrap(), d);
        let mut again = [0u8; DBLOCK_LEN];
        PaxosDblock::decode(&buf[..DBLOCK_LEN]).unwrap().encode(&mut again).unwrap();
        prop_assert_eq!(&again[..], &buf[..DBLOCK_LEN]);
    }

    #[test]
    fn mode_block_round_trip(
        flags in any::<u32>(),
        generation in any::<u64>(),
        mut sector in arb_buf(MBLOCK_OFFSET + MBLOCK_LEN),
    ) {
        let m = ModeBlock { flags, generation };
        let before = sector.clone();
        m.encode_into_sector(&mut sector).unwrap();
        prop_assert_eq!(le(&sector, 128, 4), u64::from(flags));
        prop_assert_eq!(le(&sector, 132, 4), 0);
        prop_assert_eq!(le(&sector, 136, 8), generation);
        prop_assert_eq!(&sector[..128], &before[..128]);
        prop_assert_eq!(&sector[144..], &before[144..]);
        prop_assert_eq!(ModeBlock::decode_from_sector(&sector).unwrap(), m);
        prop_assert_eq!(m.is_shared(), flags & 1 != 0);
    }

    #[test]
    fn request_round_trip(r in arb_request(), mut buf in arb_buf(REQUEST_RECORD_LEN)) {
        let before = buf.clone();
        r.encode(&mut buf).unwrap();
        prop_assert_eq!(le(&buf, 0, 4), u64::from(r.magic));
        prop_assert_eq!(le(&buf, 4, 4), u64::from(r.version));
        prop_assert_eq!(le(&buf, 8, 8), r.lver);
        prop_assert_eq!(le(&buf, 16, 4), u64::from(r.force_mode));
        prop_assert_eq!(le(&buf, 20, 4), 0, "padding is written as zero");
        prop_assert_eq!(&buf[REQUEST_RECORD_LEN..], &before[REQUEST_RECORD_LEN..]);
        prop_assert_eq!(RequestRecord::decode(&buf).unwrap(), r);
    }

    #[test]
    fn rindex_header_round_trip(h in arb_rindex_header(), mut buf in arb_buf(RINDEX_HEADER_LEN)) {
        let before = buf.clone();
        h.encode(&mut buf).unwrap();
        let expect: [(usize, usize, u64); 7] = [
            (0, 4, h.magic.into()),
            (4, 4, h.version.into()),
            (8, 4, h.flags.into()),
            (12, 4, h.sector_size.into()),
            (16, 4, h.max_resources.into()),
            (20, 4, h.unused.into()),
            (24, 8, h.rx_offset),
        ];
        for (off, len, v) in expect {
            prop_assert_eq!(le(&buf, off, len), v, "rindex header field at offset {}", off);
        }
        prop_assert_eq!(&buf[32..80], h.lockspace_name.raw());
        prop_assert_eq!(&buf[RINDEX_HEADER_LEN..], &before[RINDEX_HEADER_LEN..]);
        prop_assert_eq!(RindexHeader::decode(&buf).unwrap(), h);
    }

    #[test]
    fn rindex_entry_round_trip(e in arb_rindex_entry(), mut buf in arb_buf(RINDEX_ENTRY_LEN)) {
        let before = buf.clone();
        e.encode(&mut buf).unwrap();
        prop_assert_eq!(le(&buf, 0, 8), e.res_offset);
        prop_assert_eq!(le(&buf, 8, 4), u64::from(e.flags));
        prop_assert_eq!(le(&buf, 12, 4), u64::from(e.unused));
        prop_assert_eq!(&buf[16..64], e.name.raw());
        prop_assert_eq!(&buf[RINDEX_ENTRY_LEN..], &before[RINDEX_ENTRY_LEN..]);
        prop_assert_eq!(RindexEntry::decode(&buf).unwrap(), e);
        prop_assert_eq!(e.is_free(), e.res_offset == 0 && e.name.raw()[0] == 0);
    }
}

// ---------------------------------------------------------------------------
// decoders never panic, and fail exactly on short input

proptest! {
    #[test]
    fn decoders_never_panic(b in arb_bytes()) {
        let n = b.len();
        match LeaderRecord::decode(&b) {
            Ok(l) => {
                prop_assert!(n >= LEADER_RECORD_LEN);
                let mut out = [0u8; LEADER_RECORD_LEN];
                l.encode(&mut out).unwrap();
                prop_assert_eq!(&out[..], &b[..LEADER_RECORD_LEN]);
                let name = l.space_name;
                let _ = l.verify_delta(&name);
                let _ = l.verify_paxos(&name, &l.resource_name, l.num_hosts);
                let _ = (l.checksum_ok(), l.geometry(), l.kind().describe());
            }
            Err(_) => prop_assert!(n < LEADER_RECORD_LEN),
        }
        match PaxosDblock::decode(&b) {
            Ok(d) => {
                prop_assert!(n >= DBLOCK_LEN);
                let mut out = [0u8; DBLOCK_LEN];
                d.encode(&mut out).unwrap();
                prop_assert_eq!(&out[..], &b[..DBLOCK_LEN]);
                let _ = d.checksum_ok();
            }
            Err(_) => prop_assert!(n < DBLOCK_LEN),
        }
        match ModeBlock::decode_from_sector(&b) {
            Ok(m) => {
                prop_assert!(n >= MBLOCK_OFFSET + MBLOCK_LEN);
                prop_assert_eq!(u64::from(m.flags), le(&b, 128, 4));
                prop_assert_eq!(m.generation, le(&b, 136, 8));
            }
            Err(_) => prop_assert!(n < MBLOCK_OFFSET + MBLOCK_LEN),
        }
        match RequestRecord::decode(&b) {
            Ok(r) => {
                prop_assert!(n >= REQUEST_RECORD_LEN);
                let mut out = [0u8; REQUEST_RECORD_LEN];
                r.encode(&mut out).unwrap();
                prop_assert_eq!(&out[..20], &b[..20]);
                prop_assert_eq!(&out[20..], &[0u8; 4][..]);
            }
            Err(_) => prop_assert!(n < REQUEST_RECORD_LEN),
        }
        match RindexHeader::decode(&b) {
            Ok(h) => {
                prop_assert!(n >= RINDEX_HEADER_LEN);
                let mut out = [0u8; RINDEX_HEADER_LEN];
                h.encode(&mut out).unwrap();
                prop_assert_eq!(&out[..], &b[..RINDEX_HEADER_LEN]);
                let _ = h.verify(&h.lockspace_name, h.rx_offset);
                if let Some(g) = h.geometry() {
                    let s = h.searchable_entries(g);
                    prop_assert!(s * RINDEX_ENTRY_LEN as u64 + g.sector_bytes() <= g.align_bytes());
                }
            }
            Err(_) => prop_assert!(n < RINDEX_HEADER_LEN),
        }
        match RindexEntry::decode(&b) {
            Ok(e) => {
                prop_assert!(n >= RINDEX_ENTRY_LEN);
                let mut out = [0u8; RINDEX_ENTRY_LEN];
                e.encode(&mut out).unwrap();
                prop_assert_eq!(&out[..], &b[..RINDEX_ENTRY_LEN]);
            }
            Err(_) => prop_assert!(n < RINDEX_ENTRY_LEN),
        }
        let hosts = leader::bitmap_hosts(&b, u64::MAX);
        if n < 512 {
            prop_assert!(hosts.is_empty());
        }
        prop_assert!(hosts.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(hosts.iter().all(|&h| (1..=2048).contains(&h)));
    }

    #[test]
    fn encoders_reject_short_buffers(len in 0usize..RINDEX_HEADER_LEN.max(LEADER_RECORD_LEN)) {
        let mut b = vec![0xa5u8; len];
        prop_assert_eq!(LeaderRecord::zeroed().encode(&mut b).is_ok(), len >= LEADER_RECORD_LEN);
        prop_assert_eq!(PaxosDblock::default().encode(&mut b).is_ok(), len >= DBLOCK_LEN);
        prop_assert_eq!(
            ModeBlock::default().encode_into_sector(&mut b).is_ok(),
            len >= MBLOCK_OFFSET + MBLOCK_LEN
        );
        prop_assert_eq!(
            RequestRecord::new_init().encode(&mut b).is_ok(),
            len >= REQUEST_RECORD_LEN
        );
        prop_assert_eq!(RindexEntry::default().encode(&mut b).is_ok(), len >= RINDEX_ENTRY_LEN);
    }

    #[test]
    fn bitmap_set_then_read(hosts in prop::collection::btree_set(1u64..=2048, 0..40)) {
        let mut s = vec![0u8; 512];
        for &h in &hosts {
            prop_assert!(leader::set_bitmap_host(&mut s, h));
        }
        prop_assert!(s[..256].iter().all(|&x| x == 0));
        let back = leader::bitmap_hosts(&s, 2048);
        prop_assert_eq!(back, hosts.iter().copied().collect::<Vec<_>>());
    }

    #[test]
    fn rindex_helpers_agree(
        gi in 0usize..5,
        rx_align in 0u64..1_000_000,
        index in 0u64..200_000,
        searchable in 0u64..200_000,
        near in prop::option::of(-2i64..=2),
        jitter in any::<u64>(),
    ) {
        let g = Geometry::ALL[gi];
        // often put the searchable limit right at the index
        let searchable = near.map_or(searchable, |d| index.saturating_add_signed(d));
        let rx = rx_align * g.align_bytes();
        let lease = rindex::entry_lease_offset(g, rx, index).unwrap();
        let found = rindex::entry_index_for_lease(g, rx, lease, searchable);
        prop_assert_eq!(found, (index < searchable).then_some(index));
        // a lease offset that is not aligned is never found
        let off = jitter % g.align_bytes();
        if off != 0 {
            prop_assert_eq!(rindex::entry_index_for_lease(g, rx, lease + off, u64::MAX), None);
        }
        prop_assert_eq!(
            rindex::entry_offset(g, index),
            Some(g.sector_bytes() + 64 * index)
        );
        // arbitrary numbers never panic
        let _ = rindex::entry_index_for_lease(g, jitter, jitter.rotate_left(7), jitter);
    }
}

proptest! {
    #[test]
    fn searchable_entries_fit_the_area(h in arb_rindex_header(), gi in 0usize..5) {
        let g = Geometry::ALL[gi];
        let fit = (g.align_bytes() - g.sector_bytes()) / RINDEX_ENTRY_LEN as u64;
        let declared = match h.max_resources {
            0 => u64::from(g.max_resources_limit()),
            n => u64::from(n),
        };
        prop_assert_eq!(h.searchable_entries(g), declared.min(fit));
        let fresh = RindexHeader::new(g, h.lockspace_name, h.rx_offset, h.max_resources);
        prop_assert!(fresh.max_resources >= 1 && fresh.max_resources <= g.max_resources_limit());
        prop_assert_eq!(fresh.verify(&h.lockspace_name, h.rx_offset), Ok(g));
        prop_assert_eq!(fresh.geometry(), Some(g));
    }
}

// ---------------------------------------------------------------------------
// decode_area

/// Invariants every `decode_area` answer must satisfy.
fn check_area_view(data: &[u8], g: Geometry, v: &AreaView) -> Result<(), TestCaseError> {
    let ss = g.sector_usize();
    let usable = data.len().min(g.align_usize()) / ss * ss;
    let magic = if data.len() >= 4 {
        le(data, 0, 4) as u32
    } else {
        0
    };
    match v {
        AreaView::Lockspace { first, slots } => {
            prop_assert_eq!(magic, DELTA_DISK_MAGIC);
            prop_assert_eq!(*first, LeaderRecord::decode(data).unwrap());
            // reference model: every written slot that was ever acquired or
            // whose checksum is wrong, in order
            let want: Vec<usize> = (0..usable / ss)
                .map(|i| i * ss)
                .filter(|&off| {
                    let l = LeaderRecord::decode(&data[off..]).unwrap();
                    l.magic != 0 && (!l.checksum_ok() || l.owner_id != 0 || l.owner_generation != 0)
                })
                .collect();
            let got: Vec<usize> = slots.iter().map(|s| s.offset_in_area as usize).collect();
            prop_assert_eq!(got, want);
            for s in slots {
                let off = s.offset_in_area as usize;
                prop_assert_eq!(s.host_id, (off / ss) as u64 + 1);
                prop_assert_eq!(s.leader, LeaderRecord::decode(&data[off..]).unwrap());
                prop_assert_eq!(s.checksum_ok, s.leader.checksum_ok());
                prop_assert_eq!(
                    &s.bitmap,
                    &leader::bitmap_hosts(&data[off..off + ss], g.max_hosts())
                );
            }
        }
        AreaView::Resource {
            leader,
            leader_checksum_ok,
            request,
            dblocks,
        } => {
            prop_assert_eq!(magic, PAXOS_DISK_MAGIC);
            prop_assert_eq!(*leader, LeaderRecord::decode(data).unwrap());
            prop_assert_eq!(*leader_checksum_ok, leader.checksum_ok());
            if usable >= 2 * ss {
                prop_assert_eq!(*request, RequestRecord::decode(&data[ss..]).unwrap());
            }
            let fit = (usable / ss).saturating_sub(2) as u64;
            prop_assert_eq!(dblocks.len() as u64, leader.num_hosts.min(fit));
            for (i, d) in dblocks.iter().enumerate() {
                prop_assert_eq!(d.host_id, i as u64 + 1);
                let s = &data[(i + 2) * ss..(i + 3) * ss];
                prop_assert_eq!(d.dblock, PaxosDblock::decode(s).unwrap());
                prop_assert_eq!(d.mode, ModeBlock::decode_from_sector(s).unwrap());
                prop_assert_eq!(d.checksum_ok, d.dblock.checksum_ok());
            }
        }
        AreaView::Rindex { header, entries } => {
            prop_assert_eq!(magic, RINDEX_DISK_MAGIC);
            prop_assert_eq!(*header, RindexHeader::decode(data).unwrap());
            // reference model: every used entry from sector 1 on, in order
            let want: Vec<usize> = (ss..usable)
                .step_by(RINDEX_ENTRY_LEN)
                .filter(|&off| !RindexEntry::decode(&data[off..]).unwrap().is_free())
                .collect();
            let got: Vec<usize> = entries.iter().map(|e| e.offset_in_area as usize).collect();
            prop_assert_eq!(got, want);
            for e in entries {
                let off = e.offset_in_area as usize;
                prop_assert_eq!(e.entry, RindexEntry::decode(&data[off..]).unwrap());
            }
        }
        AreaView::Cleared { leader } => {
            prop_assert_eq!(magic, PAXOS_DISK_CLEAR);
            prop_assert_eq!(*leader, LeaderRecord::decode(data).unwrap());
        }
        AreaView::Other { magic: m } => {
            prop_assert_eq!(*m, magic);
            // known magics with enough bytes are never "other"
            match magic {
                DELTA_DISK_MAGIC | PAXOS_DISK_MAGIC => prop_assert!(usable == 0),
                PAXOS_DISK_CLEAR => prop_assert!(data.len() < LEADER_RECORD_LEN),
                RINDEX_DISK_MAGIC => prop_assert!(data.len() < RINDEX_HEADER_LEN),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Pristine full-size images, built once: (lockspace, resource, rindex,
/// cleared) for each geometry.
fn images() -> &'static Vec<[Vec<u8>; 4]> {
    static IMAGES: OnceLock<Vec<[Vec<u8>; 4]>> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let ls = Name::new("LS").unwrap();
        let r = Name::new("R1").unwrap();
        Geometry::ALL
            .iter()
            .map(|&g| {
                let init = area::lockspace_init(g, ls, 10);
                let mut lockspace = init.area;
                lockspace[..g.sector_usize()].copy_from_slice(&init.commit_sector);
                [
                    lockspace,
                    area::resource_init(g, ls, r, 0, None),
                    area::rindex_format(g, ls, 0, 0),
                    area::resource_init(g, ls, r, 0, Some(77)),
                ]
            })
            .collect()
    })
}

#[test]
fn pristine_images_decode_as_written() {
    for (gi, imgs) in images().iter().enumerate() {
        let g = Geometry::ALL[gi];
        match area::decode_area(&imgs[0], g) {
            AreaView::Lockspace { first, slots } => {
                assert!(first.checksum_ok());
                assert!(slots.is_empty(), "{g}: {slots:?}");
            }
            v => panic!("{g}: {v:?}"),
        }
        match area::decode_area(&imgs[1], g) {
            AreaView::Resource {
                leader_checksum_ok,
                dblocks,
                request,
                ..
            } => {
                assert!(leader_checksum_ok);
                assert_eq!(request, RequestRecord::new_init());
                assert_eq!(dblocks.len() as u64, g.max_hosts());
                assert!(dblocks.iter().all(|d| d.checksum_ok));
            }
            v => panic!("{g}: {v:?}"),
        }
        match area::decode_area(&imgs[2], g) {
            AreaView::Rindex { header, entries } => {
                assert_eq!(header.verify(&Name::new("LS").unwrap(), 0), Ok(g));
                assert!(entries.is_empty());
            }
            v => panic!("{g}: {v:?}"),
        }
        match area::decode_area(&imgs[3], g) {
            AreaView::Cleared { leader } => assert_eq!(leader.write_timestamp, 77),
            v => panic!("{g}: {v:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Small buffers with a (usually) known magic, decoded with each geometry.
    #[test]
    fn decode_area_never_panics_small(magic in arb_magic(), mut b in arb_bytes()) {
        if b.len() >= 4 {
            b[..4].copy_from_slice(&magic.to_le_bytes());
        }
        for g in Geometry::ALL {
            let v = area::decode_area(&b, g);
            check_area_view(&b, g, &v)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Full-size images with random patches (lying num_hosts, garbage
    /// sectors, entries), possibly truncated or too long.
    #[test]
    fn decode_area_never_panics_full_size(
        gi in 0usize..5,
        kind in 0usize..4,
        patches in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..80)),
            0..24,
        ),
        num_hosts in prop_oneof![Just(None), any::<u64>().prop_map(Some)],
        cut in prop_oneof![Just(None), any::<prop::sample::Index>().prop_map(Some)],
        extra in 0usize..5000,
        decode_as in 0usize..5,
    ) {
        let mut data = images()[gi][kind].clone();
        if let Some(n) = num_hosts {
            data[16..24].copy_from_slice(&n.to_le_bytes());
        }
        for (at, bytes) in &patches {
            // bias half the patches to the first sectors, where the headers are
            let span = if bytes[0] & 1 == 0 { 3 * 4096 } else { data.len() };
            let off = at.index(span.min(data.len()));
            let end = (off + bytes.len()).min(data.len());
            data[off..end].copy_from_slice(&bytes[..end - off]);
        }
        match cut {
            Some(at) => data.truncate(at.index(data.len() + 1)),
            None => data.resize(data.len() + extra, 0xee),
        }
        for g in [Geometry::ALL[gi], Geometry::ALL[decode_as]] {
            let v = area::decode_area(&data, g);
            check_area_view(&data, g, &v)?;
        }
    }
}

// ---------------------------------------------------------------------------
// checksums

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every single-bit flip in [0, 172) breaks a sealed leader's checksum;
    /// every flip in [172, 200) keeps it. Each flip is seen by decode.
    #[test]
    fn leader_checksum_covers_exactly_0_168(l in arb_leader()) {
        let mut l = l;
        l.seal();
        let b = l.to_sector(LEADER_RECORD_LEN).unwrap();
        prop_assert!(LeaderRecord::decode(&b).unwrap().checksum_ok());
        for bit in 0..LEADER_RECORD_LEN * 8 {
            let mut f = b.clone();
            f[bit / 8] ^= 1 << (bit % 8);
            let d = LeaderRecord::decode(&f).unwrap();
            prop_assert_ne!(d, l, "flip of bit {} not decoded", bit);
            let covered = bit / 8 < LEADER_CHECKSUM_LEN + 4; // data + stored checksum
            prop_assert_eq!(d.checksum_ok(), !covered, "flip of bit {}", bit);
        }
    }

    /// Same for dblocks: [0, 48) covered, the checksum itself at [48, 52),
    /// the flags at [52, 56) not covered.
    #[test]
    fn dblock_checksum_covers_exactly_0_48(d in arb_dblock()) {
        let mut d = d;
        d.seal();
        // the never-written exception (all zero, checksum 0) is out of scope
        prop_assume!(d.checksum.count_ones() > 1);
        let mut b = [0u8; DBLOCK_LEN];
        d.encode(&mut b).unwrap();
        prop_assert!(PaxosDblock::decode(&b).unwrap().checksum_ok());
        for bit in 0..DBLOCK_LEN * 8 {
            let mut f = b;
            f[bit / 8] ^= 1 << (bit % 8);
            let x = PaxosDblock::decode(&f).unwrap();
            prop_assert_ne!(x, d, "flip of bit {} not decoded", bit);
            let covered = bit / 8 < DBLOCK_CHECKSUM_LEN + 4;
            prop_assert_eq!(x.checksum_ok(), !covered, "flip of bit {}", bit);
        }
    }

    /// verify_delta / verify_paxos of a sealed record accept exactly the
    /// records whose magic, major version, names and num_hosts fit.
    #[test]
    fn verify_accepts_exactly_matching_sealed_records(
        l in arb_leader(),
        right_magic in any::<bool>(),
        right_version in any::<bool>(),
        host_id in 0u64..4000,
        near in prop::option::of(-2i64..=2),
        paxos in any::<bool>(),
    ) {
        let mut l = l;
        let (magic, version) = if paxos {
            (PAXOS_DISK_MAGIC, PAXOS_DISK_VERSION)
        } else {
            (DELTA_DISK_MAGIC, DELTA_DISK_VERSION)
        };
        if right_magic {
            l.magic = magic;
        }
        if right_version {
            l.version = (version & 0xffff_0000) | (l.version & 0xffff);
        }
        l.num_hosts %= 4000;
        // often ask for a host_id right at the num_hosts boundary
        let host_id = near.map_or(host_id, |d| l.num_hosts.saturating_add_signed(d));
        l.seal();
        let (ls, rs) = (l.space_name, l.resource_name);
        let ok = l.magic == magic && l.version >> 16 == version >> 16;
        if paxos {
            let r = l.verify_paxos(&ls, &rs, host_id);
            prop_assert_eq!(r.is_ok(), ok && l.num_hosts >= host_id, "{:?}", r);
        } else {
            let r = l.verify_delta(&ls);
            prop_assert_eq!(r.is_ok(), ok, "{:?}", r);
        }
        if ok {
            let mut broken = l;
            broken.lver ^= 1;
            let e = if paxos {
                broken.verify_paxos(&ls, &rs, 0).unwrap_err()
            } else {
                broken.verify_delta(&ls).unwrap_err()
            };
            prop_assert_eq!(e.code(), -229);
        }
    }
}

// ---------------------------------------------------------------------------
// lease strings

/// Printable lease-string material, heavy on separators and escapes.
fn arb_lease_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9:\\\\M/SH_ -]{0,120}",
        "([a-z]{0,3}:){0,12}[0-9M\\\\]{0,25}",
        (
            "[A-Za-z0-9:\\\\/]{0,4}",
            1000usize..1100,
            "[0-9:M\\\\]{0,24}"
        )
            .prop_map(|(a, n, b)| format!("{a}{}{b}", "p".repeat(n))),
    ]
}

/// A name sanlock users write: 1..=48 of [A-Za-z0-9_-].
fn arb_name_str() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,48}"
}

/// A path (1..=PATH_LEN_MAX bytes, with ':' and '\\' in it) and its escaped
/// spelling; `esc` chooses which ordinary characters get a needless escape.
fn arb_path() -> impl Strategy<Value = (String, String)> {
    let short = "[A-Za-z0-9_./:\\\\-]{1,64}".boxed();
    let long = (1usize..=PATH_LEN_MAX)
        .prop_flat_map(|n| prop::collection::vec(prop::sample::select(&b"/ab:\\9"[..]), n))
        .prop_map(|v| String::from_utf8(v).unwrap())
        .boxed();
    (prop_oneof![4 => short, 1 => long], any::<u64>()).prop_map(|(p, seed)| {
        let mut out = String::new();
        for (i, c) in p.chars().enumerate() {
            if c == ':' || c == '\\' || ((seed >> (i % 64)) & 1 == 1 && i % 3 == 0) {
                out.push('\\');
            }
            out.push(c);
        }
        (p, out)
    })
}

/// An offset and its spelling: bytes, or whole MiB with `M`.
fn arb_offset() -> impl Strategy<Value = (u64, String)> {
    prop_oneof![
        any::<u64>().prop_map(|n| (n, n.to_string())),
        (0u64..16_384).prop_map(|n| (n, n.to_string())),
        (0u64..=u64::MAX / MIB).prop_map(|n| (n * MIB, format!("{n}M"))),
        (0u64..64).prop_map(|n| (n * MIB, format!("{n}M"))),
    ]
}

fn arb_disk() -> impl Strategy<Value = (DiskLoc, String)> {
    (arb_path(), arb_offset()).prop_map(|((path, pesc), (offset, oesc))| {
        (DiskLoc { path, offset }, format!("{pesc}:{oesc}"))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn lease_parsers_never_panic(s in arb_lease_like()) {
        let check_disk = |d: &DiskLoc| !d.path.is_empty() && d.path.len() <= PATH_LEN_MAX;
        if let Ok(l) = LockspaceArg::parse(&s) {
            prop_assert!(check_disk(&l.disk));
        }
        if let Ok(r) = ResourceArg::parse(&s) {
            prop_assert!((1..=MAX_DISKS).contains(&r.disks.len()));
            prop_assert!(r.disks.iter().all(check_disk));
            prop_assert!(!(r.shared && r.lver.is_some()));
        }
        if let Ok(x) = RindexArg::parse(&s) {
            prop_assert!(check_disk(&x.disk));
        }
        let _ = RentryArg::parse(&s);
        if let Ok((p, _, _)) = parse_dump_target(&s) {
            prop_assert!(!p.is_empty() && p.len() <= PATH_LEN_MAX);
        }
        // an unescaped string without ':' or '\\' is a single field
        if !s.contains(':') && !s.contains('\\') {
            prop_assert!(LockspaceArg::parse(&s).is_err());
            prop_assert!(ResourceArg::parse(&s).is_err());
            prop_assert!(RindexArg::parse(&s).is_err());
        }
    }

    #[test]
    fn lockspace_string_round_trip(
        name in arb_name_str(),
        host_id in any::<u64>(),
        (disk, desc) in arb_disk(),
    ) {
        let s = format!("{name}:{host_id}:{desc}");
        let l = LockspaceArg::parse(&s).map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        prop_assert_eq!(l.name.as_bytes(), name.as_bytes());
        prop_assert_eq!(l.host_id, host_id);
        prop_assert_eq!(l.disk, disk);
    }

    #[test]
    fn resource_string_round_trip(
        ls in arb_name_str(),
        name in arb_name_str(),
        disks in prop::collection::vec(arb_disk(), 1..=MAX_DISKS),
        tail in prop_oneof![Just(None), Just(Some(None)), any::<u64>().prop_map(|n| Some(Some(n)))],
    ) {
        let mut s = format!("{ls}:{name}");
        for (_, d) in &disks {
            s.push(':');
            s.push_str(d);
        }
        match tail {
            None => {}
            Some(None) => s.push_str(":SH"),
            Some(Some(n)) => s.push_str(&format!(":{n}")),
        }
        let r = ResourceArg::parse(&s).map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        prop_assert_eq!(r.lockspace.as_bytes(), ls.as_bytes());
        prop_assert_eq!(r.name.as_bytes(), name.as_bytes());
        prop_assert_eq!(r.disks, disks.into_iter().map(|(d, _)| d).collect::<Vec<_>>());
        prop_assert_eq!(r.shared, tail == Some(None));
        prop_assert_eq!(r.lver, tail.flatten());
    }

    #[test]
    fn resource_with_too_many_disks_is_rejected(
        disks in prop::collection::vec(arb_disk(), MAX_DISKS + 1..MAX_DISKS + 4),
    ) {
        let mut s = String::from("LS:R");
        for (_, d) in &disks {
            s.push(':');
            s.push_str(d);
        }
        prop_assert!(ResourceArg::parse(&s).is_err());
    }

    #[test]
    fn rindex_string_round_trip(ls in arb_name_str(), (disk, desc) in arb_disk()) {
        let s = format!("{ls}:{desc}");
        let x = RindexArg::parse(&s).map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        prop_assert_eq!(x.lockspace.as_bytes(), ls.as_bytes());
        prop_assert_eq!(x.disk, disk);
    }

    #[test]
    fn rentry_string_round_trip(name in arb_name_str(), off in prop::option::of(arb_offset())) {
        let s = match &off {
            Some((_, o)) => format!("{name}:{o}"),
            None => name.clone(),
        };
        let e = RentryArg::parse(&s).map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        prop_assert_eq!(e.name.as_bytes(), name.as_bytes());
        prop_assert_eq!(e.offset, off.map_or(0, |(n, _)| n));
    }

    #[test]
    fn dump_target_round_trip(
        (path, pesc) in arb_path(),
        off in prop::option::of((arb_offset(), prop::option::of(arb_offset()))),
    ) {
        let s = match &off {
            None => pesc.clone(),
            Some(((_, o), None)) => format!("{pesc}:{o}"),
            Some(((_, o), Some((_, z)))) => format!("{pesc}:{o}:{z}"),
        };
        let t = parse_dump_target(&s).map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        let want = match off {
            None => (path, 0, None),
            Some(((o, _), size)) => (path, o, size.map(|(z, _)| z)),
        };
        prop_assert_eq!(t, want);
    }

    #[test]
    fn bad_names_and_numbers_are_rejected(
        long in "[A-Za-z0-9]{49,80}",
        big_mib in (u64::MAX / MIB + 1)..=u64::MAX,
        junk in "[0-9]{0,3}[a-zA-LN-Z ][0-9]{0,3}",
    ) {
        let too_long_path = "p".repeat(PATH_LEN_MAX + 1);
        let rejected = [
            LockspaceArg::parse(&format!("{long}:1:/p:0")).is_err(),
            ResourceArg::parse(&format!("LS:{long}:/p:0")).is_err(),
            RentryArg::parse(&long).is_err(),
            RindexArg::parse(&format!("LS:/p:{big_mib}M")).is_err(),
            LockspaceArg::parse(&format!("LS:{junk}:/p:0")).is_err(),
            LockspaceArg::parse(&format!("LS:1:/p:{junk}")).is_err(),
            ResourceArg::parse(&format!("LS:R:/p:0:{junk}")).is_err(),
            parse_dump_target(&format!("/p:{junk}")).is_err(),
            RindexArg::parse(&format!("LS:{too_long_path}:0")).is_err(),
        ];
        for (i, r) in rejected.iter().enumerate() {
            prop_assert!(*r, "case {} accepted", i);
        }
    }
}
