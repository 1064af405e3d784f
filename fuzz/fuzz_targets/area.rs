//! area::decode_area on arbitrary bytes, with the geometry chosen by the
//! first input byte. The second byte picks between decoding the rest of
//! the input as an area, and patching the rest into a pristine full-size
//! image (lockspace, resource, rindex or cleared lease) that is then
//! possibly truncated. Every answer is checked against a reference model.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use paxlock_format::area::{self, AreaView};
use paxlock_format::leader::{
    bitmap_hosts, DELTA_DISK_MAGIC, LEADER_RECORD_LEN, PAXOS_DISK_CLEAR, PAXOS_DISK_MAGIC,
};
use paxlock_format::rindex::{RINDEX_DISK_MAGIC, RINDEX_ENTRY_LEN, RINDEX_HEADER_LEN};
use paxlock_format::{
    Geometry, LeaderRecord, ModeBlock, Name, PaxosDblock, RequestRecord, RindexEntry, RindexHeader,
};

thread_local! {
    /// Pristine images per geometry: lockspace, resource, rindex, cleared.
    static IMAGES: RefCell<Vec<[Vec<u8>; 4]>> = RefCell::new(
        Geometry::ALL
            .iter()
            .map(|&g| {
                let ls = Name::new("LS").unwrap();
                let r = Name::new("R1").unwrap();
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
    );
}

fn le32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

/// The invariants of `decode_area(data, g)`.
fn check(data: &[u8], g: Geometry) {
    let v = area::decode_area(data, g);
    let ss = g.sector_usize();
    let usable = data.len().min(g.align_usize()) / ss * ss;
    let magic = le32(data, 0);
    match v {
        AreaView::Lockspace { first, slots } => {
            assert_eq!(magic, DELTA_DISK_MAGIC);
            assert!(usable >= ss);
            assert_eq!(first, LeaderRecord::decode(data).unwrap());
            let want: Vec<usize> = (0..usable / ss)
                .map(|i| i * ss)
                .filter(|&off| {
                    let l = LeaderRecord::decode(&data[off..]).unwrap();
                    l.magic != 0 && (!l.checksum_ok() || l.owner_id != 0 || l.owner_generation != 0)
                })
                .collect();
            let got: Vec<usize> = slots.iter().map(|s| s.offset_in_area as usize).collect();
            assert_eq!(got, want);
            for s in &slots {
                let off = s.offset_in_area as usize;
                assert_eq!(s.host_id, (off / ss) as u64 + 1);
                assert_eq!(s.leader, LeaderRecord::decode(&data[off..]).unwrap());
                assert_eq!(s.checksum_ok, s.leader.checksum_ok());
                assert_eq!(s.bitmap, bitmap_hosts(&data[off..off + ss], g.max_hosts()));
            }
        }
        AreaView::Resource {
            leader,
            leader_checksum_ok,
            request,
            dblocks,
        } => {
            assert_eq!(magic, PAXOS_DISK_MAGIC);
            assert!(usable >= ss);
            assert_eq!(leader, LeaderRecord::decode(data).unwrap());
            assert_eq!(leader_checksum_ok, leader.checksum_ok());
            if usable >= 2 * ss {
                assert_eq!(request, RequestRecord::decode(&data[ss..]).unwrap());
            } else {
                assert_eq!((request.magic, request.version, request.lver), (0, 0, 0));
            }
            let fit = (usable / ss).saturating_sub(2) as u64;
            assert_eq!(dblocks.len() as u64, leader.num_hosts.min(fit));
            for (i, d) in dblocks.iter().enumerate() {
                assert_eq!(d.host_id, i as u64 + 1);
                let s = &data[(i + 2) * ss..(i + 3) * ss];
                assert_eq!(d.dblock, PaxosDblock::decode(s).unwrap());
                assert_eq!(d.mode, ModeBlock::decode_from_sector(s).unwrap());
                assert_eq!(d.checksum_ok, d.dblock.checksum_ok());
            }
        }
        AreaView::Rindex { header, entries } => {
            assert_eq!(magic, RINDEX_DISK_MAGIC);
            assert_eq!(header, RindexHeader::decode(data).unwrap());
            let want: Vec<usize> = (ss..usable)
                .step_by(RINDEX_ENTRY_LEN)
                // used: res_offset non-zero or a non-empty name
                .filter(|&off| data[off..off + 8] != [0u8; 8] || data[off + 16] != 0)
                .collect();
            let got: Vec<usize> = entries.iter().map(|e| e.offset_in_area as usize).collect();
            assert_eq!(got, want);
            for e in &entries {
                let off = e.offset_in_area as usize;
                assert_eq!(e.entry, RindexEntry::decode(&data[off..]).unwrap());
            }
        }
        AreaView::Cleared { leader } => {
            assert_eq!(magic, PAXOS_DISK_CLEAR);
            assert_eq!(leader, LeaderRecord::decode(data).unwrap());
        }
        AreaView::Other { magic: m } => {
            assert_eq!(m, magic);
            match magic {
                DELTA_DISK_MAGIC | PAXOS_DISK_MAGIC => assert_eq!(usable, 0),
                PAXOS_DISK_CLEAR => assert!(data.len() < LEADER_RECORD_LEN),
                RINDEX_DISK_MAGIC => assert!(data.len() < RINDEX_HEADER_LEN),
                _ => {}
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [b0, b1, rest @ ..] = data else {
        if let Some(&b0) = data.first() {
            check(&data[1..], Geometry::ALL[usize::from(b0) % 5]);
        }
        check(data, Geometry::ALL[0]);
        return;
    };
    let gi = usize::from(*b0) % 5;
    let g = Geometry::ALL[gi];
    if b1 & 0x80 == 0 {
        // the rest of the input is the area
        check(rest, g);
        return;
    }
    // patch the rest of the input into a pristine image, decode, restore
    let kind = usize::from(b1 & 3);
    let decode_as = Geometry::ALL[(usize::from(b1 >> 2) & 7) % 5];
    let (at, cut, patch) = match rest {
        [a, b, c, d, e, f, h, i, patch @ ..] => (
            u32::from_le_bytes([*a, *b, *c, *d]) as usize,
            u32::from_le_bytes([*e, *f, *h, *i]) as usize,
            patch,
        ),
        _ => (0, usize::MAX, rest),
    };
    IMAGES.with(|images| {
        let mut images = images.borrow_mut();
        let img = &mut images[gi][kind];
        // half the time aim at the first sectors, where the headers are
        let span = if b1 & 0x40 == 0 {
            3 * g.sector_usize()
        } else {
            img.len()
        };
        let start = at % span;
        let end = (start + patch.len()).min(img.len());
        let saved = img[start..end].to_vec();
        img[start..end].copy_from_slice(&patch[..end - start]);
        let len = if b1 & 0x20 != 0 {
            cut % (img.len() + 1)
        } else {
            img.len()
        };
        check(&img[..len], g);
        if decode_as != g {
            check(&img[..len], decode_as);
        }
        img[start..end].copy_from_slice(&saved);
    });
});
