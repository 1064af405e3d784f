//! Text exactly as sanlock 3.8.5 prints it, and JSON for scripts.
//!
//! Text is built as bytes, not `String`: names on disk may hold any bytes
//! and sanlock prints them raw, so we do too.

use std::io::Write;

use paxlock_format::area::{AreaView, DeltaSlot};
use paxlock_format::{LeaderRecord, Name};
use serde_json::{json, Value};

/// sanlock's `%Ns`: right-align `bytes` in `width` columns (no truncation).
fn pad_left(out: &mut Vec<u8>, bytes: &[u8], width: usize) {
    out.extend(std::iter::repeat_n(b' ', width.saturating_sub(bytes.len())));
    out.extend_from_slice(bytes);
}

/// The column header of `dump`.
pub fn dump_header(force_mode: u32) -> Vec<u8> {
    let mut out = format!(
        "{:>8} {:>36} {:>48} {:>10} {:>4} {:>4} lver",
        "offset", "lockspace", "resource", "timestamp", "own", "gen"
    )
    .into_bytes();
    if force_mode != 0 {
        out.extend_from_slice(b"/req/mode");
    }
    out.push(b'\n');
    out
}

fn leader_columns(out: &mut Vec<u8>, offset: u64, leader: &LeaderRecord) {
    let _ = write!(out, "{offset:08} ");
    pad_left(out, leader.space_name.as_bytes(), 36);
    out.push(b' ');
    pad_left(out, leader.resource_name.as_bytes(), 48);
    let _ = write!(
        out,
        " {:010} {:04} {:04}",
        leader.timestamp, leader.owner_id, leader.owner_generation
    );
}

/// The `dump` lines for one area that starts at absolute `offset`.
pub fn dump_area(out: &mut Vec<u8>, offset: u64, view: &AreaView, force_mode: u32) {
    match view {
        AreaView::Lockspace { slots, .. } => {
            for slot in slots.iter().filter(|s| shown_delta(s)) {
                leader_columns(out, offset + slot.offset_in_area, &slot.leader);
                if force_mode != 0 {
                    for h in &slot.bitmap {
                        let _ = write!(out, " {h}");
                    }
                }
                out.push(b'\n');
            }
        }
        AreaView::Resource {
            leader,
            request,
            dblocks,
            ..
        } => {
            leader_columns(out, offset, leader);
            let _ = write!(out, " {}", leader.lver);
            if force_mode != 0 {
                let _ = write!(out, "/{}/{}", request.lver, request.force_mode);
            }
            out.push(b'\n');
            for d in dblocks {
                let b = &d.dblock;
                if force_mode > 1 && (b.mbal != 0 || b.inp != 0 || b.lver != 0) {
                    let _ = writeln!(
                        out,
                        "dblock[{:04}] mbal {} bal {} inp {} inp2 {} inp3 {} lver {} sum {:x}",
                        d.host_id - 1,
                        b.mbal,
                        b.bal,
                        b.inp,
                        b.inp2,
                        b.inp3,
                        b.lver,
                        b.checksum
                    );
                }
                if d.mode.is_shared() {
                    out.extend(std::iter::repeat_n(b' ', 106));
                    let _ = writeln!(out, "{:04} {:04} SH", d.host_id, d.mode.generation);
                }
            }
        }
        AreaView::Rindex { header, entries } => {
            let _ = write!(out, "{offset:08} ");
            pad_left(out, header.lockspace_name.as_bytes(), 36);
            let _ = writeln!(
                out,
                " rindex_header 0x{:x} {} {} {}",
                header.flags, header.sector_size as i32, header.max_resources, header.rx_offset
            );
            if force_mode != 0 {
                for e in entries {
                    let _ = write!(out, "{:08} ", offset + e.offset_in_area);
                    pad_left(out, header.lockspace_name.as_bytes(), 36);
                    out.extend_from_slice(b" rentry ");
                    out.extend_from_slice(e.entry.name.as_bytes());
                    let _ = writeln!(out, " {}", e.entry.res_offset);
                }
            }
        }
        AreaView::Cleared { .. } | AreaView::Other { .. } => {}
    }
}

/// sanlock shows a delta slot when it was ever acquired.
pub fn shown_delta(slot: &DeltaSlot) -> bool {
    slot.leader.owner_id != 0 || slot.leader.owner_generation != 0
}

/// `read_leader`'s `name value` lines (after the "done" line).
pub fn leader_lines(out: &mut Vec<u8>, l: &LeaderRecord, is_lockspace: bool) {
    let _ = writeln!(out, "magic 0x{:x}", l.magic);
    let _ = writeln!(out, "version 0x{:x}", l.version);
    let _ = writeln!(out, "flags 0x{:x}", l.flags);
    let _ = writeln!(out, "sector_size {}", l.sector_size);
    let _ = writeln!(out, "num_hosts {}", l.num_hosts);
    let _ = writeln!(out, "max_hosts {}", l.max_hosts);
    let _ = writeln!(out, "owner_id {}", l.owner_id);
    let _ = writeln!(out, "owner_generation {}", l.owner_generation);
    let _ = writeln!(out, "lver {}", l.lver);
    out.extend_from_slice(b"space_name ");
    out.extend_from_slice(l.space_name.as_bytes());
    out.extend_from_slice(b"\nresource_name ");
    out.extend_from_slice(l.resource_name.as_bytes());
    out.push(b'\n');
    let _ = writeln!(out, "timestamp {}", l.timestamp);
    let _ = writeln!(out, "checksum 0x{:x}", l.checksum);
    let _ = writeln!(out, "io_timeout {}", l.io_timeout);
    let (a, b, c) = if is_lockspace {
        ("extra1", "extra2", "extra3")
    } else {
        ("write_id", "write_generation", "write_timestamp")
    };
    let _ = writeln!(out, "{a} {}", l.write_id);
    let _ = writeln!(out, "{b} {}", l.write_generation);
    let _ = writeln!(out, "{c} {}", l.write_timestamp);
}

fn name_json(n: &Name) -> Value {
    Value::String(n.to_string_lossy())
}

/// A leader record as JSON, with its checksum verdict.
pub fn leader_json(l: &LeaderRecord) -> Value {
    json!({
        "magic": l.magic,
        "kind": format!("{:?}", l.kind()).to_lowercase(),
        "version": l.version,
        "flags": l.flags,
        "sector_size": l.sector_size,
        "num_hosts": l.num_hosts,
        "max_hosts": l.max_hosts,
        "owner_id": l.owner_id,
        "owner_generation": l.owner_generation,
        "lver": l.lver,
        "space_name": name_json(&l.space_name),
        "resource_name": name_json(&l.resource_name),
        "timestamp": l.timestamp,
        "checksum": l.checksum,
        "checksum_computed": l.computed_checksum(),
        "checksum_ok": l.checksum_ok(),
        "io_timeout": l.io_timeout,
        "write_id": l.write_id,
        "write_generation": l.write_generation,
        "write_timestamp": l.write_timestamp,
    })
}

/// One area as JSON.
pub fn area_json(offset: u64, view: &AreaView) -> Value {
    match view {
        AreaView::Lockspace { slots, .. } => json!({
            "offset": offset,
            "type": "lockspace",
            "hosts": slots.iter().map(|s| json!({
                "offset": offset + s.offset_in_area,
                "host_id": s.host_id,
                "acquired": shown_delta(s),
                "bitmap": s.bitmap,
                "leader": leader_json(&s.leader),
            })).collect::<Vec<_>>(),
        }),
        AreaView::Resource {
            leader,
            request,
            dblocks,
            ..
        } => json!({
            "offset": offset,
            "type": "resource",
            "leader": leader_json(leader),
            "request": {"magic": request.magic, "version": request.version, "lver": request.lver, "force_mode": request.force_mode},
            "dblocks": dblocks.iter()
                .filter(|d| d.dblock.mbal != 0 || d.dblock.inp != 0 || d.dblock.lver != 0 || d.mode.flags != 0 || !d.checksum_ok)
                .map(|d| json!({
                    "host_id": d.host_id,
                    "mbal": d.dblock.mbal, "bal": d.dblock.bal,
                    "inp": d.dblock.inp, "inp2": d.dblock.inp2, "inp3": d.dblock.inp3,
                    "lver": d.dblock.lver, "checksum": d.dblock.checksum, "checksum_ok": d.checksum_ok,
                    "released": d.dblock.is_released(),
                    "shared": d.mode.is_shared(), "mode_generation": d.mode.generation,
                })).collect::<Vec<_>>(),
        }),
        AreaView::Rindex { header, entries } => json!({
            "offset": offset,
            "type": "rindex",
            "lockspace_name": name_json(&header.lockspace_name),
            "flags": header.flags,
            "sector_size": header.sector_size,
            "max_resources": header.max_resources,
            "rx_offset": header.rx_offset,
            "entries": entries.iter().map(|e| json!({
                "offset": offset + e.offset_in_area,
                "name": name_json(&e.entry.name),
                "res_offset": e.entry.res_offset,
            })).collect::<Vec<_>>(),
        }),
        AreaView::Cleared { leader } => {
            json!({"offset": offset, "type": "cleared", "leader": leader_json(leader)})
        }
        AreaView::Other { magic } => json!({"offset": offset, "type": "other", "magic": magic}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paxlock_format::area::{decode_area, resource_init};
    use paxlock_format::{AlignSize, Geometry, SectorSize};

    /// The fresh-resource sample of the spec, byte for byte.
    #[test]
    fn fresh_resource_dump_matches_sanlock_sample() {
        let g = Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap();
        let area = resource_init(
            g,
            Name::new("LS").unwrap(),
            Name::new("R1").unwrap(),
            0,
            None,
        );
        let mut out = dump_header(0);
        dump_area(&mut out, 0, &decode_area(&area, g), 0);
        let expected = "  offset                            lockspace                                         resource  timestamp  own  gen lver\n\
00000000                                   LS                                               R1 0000000000 0000 0000 0\n";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
