//! RindexHeader / RindexEntry decoding and the rindex offset helpers on
//! arbitrary bytes: decode fails exactly on short input, re-encoding
//! reproduces the bytes, verify follows sanlock's order of checks, and the
//! helpers agree with each other on fuzzed numbers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paxlock_format::rindex::{
    entry_index_for_lease, entry_lease_offset, entry_offset, RINDEX_DISK_MAGIC,
    RINDEX_DISK_VERSION, RINDEX_ENTRY_LEN, RINDEX_HEADER_LEN,
};
use paxlock_format::{Geometry, Name, RindexEntry, RindexHeader};

fn le64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    let n = b.len().saturating_sub(off).min(8);
    a[..n].copy_from_slice(&b[off.min(b.len())..off.min(b.len()) + n]);
    u64::from_le_bytes(a)
}

fn other_name(n: &Name) -> Name {
    let mut raw = *n.raw();
    raw[0] = if raw[0] == b'x' { b'y' } else { b'x' };
    Name::from_raw(raw)
}

fn header(data: &[u8]) {
    let h = match RindexHeader::decode(data) {
        Err(_) => {
            assert!(data.len() < RINDEX_HEADER_LEN);
            return;
        }
        Ok(h) => h,
    };
    assert!(data.len() >= RINDEX_HEADER_LEN);
    let mut out = [0u8; RINDEX_HEADER_LEN];
    h.encode(&mut out).unwrap();
    assert_eq!(&out[..], &data[..RINDEX_HEADER_LEN]);
    assert!(h.encode(&mut out[..RINDEX_HEADER_LEN - 1]).is_err());
    let le32 = |off: usize| le64(data, off) as u32;
    assert_eq!(
        [
            h.magic,
            h.version,
            h.flags,
            h.sector_size,
            h.max_resources,
            h.unused
        ],
        [le32(0), le32(4), le32(8), le32(12), le32(16), le32(20)]
    );
    assert_eq!(h.rx_offset, le64(data, 24));
    assert_eq!(h.lockspace_name.raw(), &data[32..80]);

    // verify: magic, version major, lockspace, offset, geometry
    let shape_ok = h.magic == RINDEX_DISK_MAGIC
        && h.version & 0xffff_0000 == RINDEX_DISK_VERSION & 0xffff_0000;
    let name = h.lockspace_name;
    match h.verify(&name, h.rx_offset) {
        Ok(g) => {
            assert!(shape_ok);
            assert_eq!(Some(g), h.geometry());
            assert_eq!(g.sector_bytes(), u64::from(h.sector_size));
        }
        Err(e) => {
            let want = if h.magic != RINDEX_DISK_MAGIC {
                -274
            } else if !shape_ok {
                -275
            } else {
                assert!(h.geometry().is_none());
                -22
            };
            assert_eq!(e.code(), want, "{e}");
            assert!(!e.to_string().is_empty());
        }
    }
    if shape_ok {
        assert_eq!(
            h.verify(&other_name(&name), h.rx_offset)
                .unwrap_err()
                .code(),
            -276
        );
        let wrong = h.rx_offset.wrapping_add(1);
        assert_eq!(h.verify(&name, wrong).unwrap_err().code(), -277);
    }

    // searchable_entries never exceeds what fits in the area
    for g in Geometry::ALL {
        let fit = (g.align_bytes() - g.sector_bytes()) / RINDEX_ENTRY_LEN as u64;
        let declared = match h.max_resources {
            0 => u64::from(g.max_resources_limit()),
            n => u64::from(n),
        };
        assert_eq!(h.searchable_entries(g), declared.min(fit));
    }
}

fn entries(data: &[u8]) {
    for chunk in data.chunks(RINDEX_ENTRY_LEN).take(64) {
        match RindexEntry::decode(chunk) {
            Err(_) => assert!(chunk.len() < RINDEX_ENTRY_LEN),
            Ok(e) => {
                let mut out = [0u8; RINDEX_ENTRY_LEN];
                e.encode(&mut out).unwrap();
                assert_eq!(&out[..], chunk);
                assert_eq!(e.res_offset, le64(chunk, 0));
                assert_eq!(e.flags, le64(chunk, 8) as u32);
                assert_eq!(e.unused, le64(chunk, 12) as u32);
                assert_eq!(e.name.raw(), &chunk[16..64]);
                assert_eq!(e.is_free(), e.res_offset == 0 && chunk[16] == 0);
            }
        }
    }
}

fn helpers(data: &[u8]) {
    let g = Geometry::ALL[usize::from(data.first().copied().unwrap_or(0)) % 5];
    let a = g.align_bytes();
    let rx = le64(data, 1);
    let res = le64(data, 9);
    let searchable = le64(data, 17);
    let index = le64(data, 25);

    match entry_index_for_lease(g, rx, res, searchable) {
        Some(i) => {
            assert!(i < searchable);
            let at = i
                .checked_mul(a)
                .and_then(|x| x.checked_add(2 * a))
                .and_then(|x| x.checked_add(rx));
            assert_eq!(at, Some(res));
            assert_eq!(entry_lease_offset(g, rx, i), Some(res));
        }
        None => {
            // not a slot: before the first lease, misaligned, or too far
            if let Some(rel) = rx
                .checked_add(2 * a)
                .and_then(|first| res.checked_sub(first))
            {
                assert!(rel % a != 0 || rel / a >= searchable);
            }
        }
    }

    // entry_lease_offset / entry_index_for_lease are inverse on every index
    // whose lease offset is representable, and both helpers say None (never
    // panic) when the result does not fit in a u64.
    let representable = index
        .checked_add(2)
        .and_then(|k| k.checked_mul(a))
        .and_then(|x| x.checked_add(rx));
    assert_eq!(entry_lease_offset(g, rx, index), representable);
    if let Some(lease) = representable {
        assert_eq!(
            entry_index_for_lease(g, rx, lease, index.saturating_add(1)),
            Some(index)
        );
        assert_eq!(entry_index_for_lease(g, rx, lease, index), None);
    }
    assert_eq!(
        entry_offset(g, index),
        index
            .checked_mul(RINDEX_ENTRY_LEN as u64)
            .and_then(|x| x.checked_add(g.sector_bytes()))
    );
}

fuzz_target!(|data: &[u8]| {
    header(data);
    entries(data.get(RINDEX_HEADER_LEN..).unwrap_or(&[]));
    helpers(data);
});
