//! Whole lease areas: the images `init` and `format` write, and a decoder
//! that turns one area's bytes into typed records (used by `dump`).

use crate::dblock::{ModeBlock, PaxosDblock};
use crate::geometry::Geometry;
use crate::leader::{
    bitmap_hosts, LeaderRecord, DELTA_DISK_MAGIC, PAXOS_DISK_CLEAR, PAXOS_DISK_MAGIC,
};
use crate::name::Name;
use crate::request::RequestRecord;
use crate::rindex::{
    RindexEntry, RindexHeader, RINDEX_DISK_MAGIC, RINDEX_ENTRY_LEN, RINDEX_LEASE_NAME,
};

/// The two writes that initialise a lockspace, in order.
///
/// sanlock writes the whole area with slot 0's magic set to 0, then rewrites
/// sector 0 with the real magic: a crash between the two leaves a lockspace
/// that readers reject instead of a half-written one that looks valid.
#[derive(Debug, Clone)]
pub struct LockspaceInit {
    /// First write: the whole area (`align_size` bytes).
    pub area: Vec<u8>,
    /// Second write: sector 0 (`sector_size` bytes) with the real magic.
    pub commit_sector: Vec<u8>,
}

/// The lockspace area `direct init -s` writes.
pub fn lockspace_init(geometry: Geometry, space_name: Name, io_timeout_secs: u16) -> LockspaceInit {
    let ss = geometry.sector_usize();
    let mut area = vec![0u8; geometry.align_usize()];
    let slot = LeaderRecord::new_delta(geometry, space_name, io_timeout_secs);
    for host in 0..geometry.max_hosts() as usize {
        let mut l = slot;
        if host == 0 {
            l.magic = 0;
            l.seal();
        }
        // Slots lie inside the area (checked at compile time in geometry).
        let _ = l.encode(&mut area[host * ss..(host + 1) * ss]);
    }
    let mut commit_sector = vec![0u8; ss];
    let _ = slot.encode(&mut commit_sector);
    LockspaceInit {
        area,
        commit_sector,
    }
}

/// The resource area `direct init -r` writes: leader, request record,
/// zeros. `clear_write_timestamp` makes a cleared lease (`-z 1`), whose
/// leader has magic `PAXOS_DISK_CLEAR` and that write_timestamp.
pub fn resource_init(
    geometry: Geometry,
    space_name: Name,
    resource_name: Name,
    num_hosts: u64,
    clear_write_timestamp: Option<u64>,
) -> Vec<u8> {
    let mut area = vec![0u8; geometry.align_usize()];
    let mut leader = LeaderRecord::new_paxos(geometry, space_name, resource_name, num_hosts);
    if let Some(ts) = clear_write_timestamp {
        leader.magic = PAXOS_DISK_CLEAR;
        leader.write_timestamp = ts;
        leader.seal();
    }
    let ss = geometry.sector_usize();
    let _ = leader.encode(&mut area[..ss]);
    let _ = RequestRecord::new_init().encode(&mut area[ss..2 * ss]);
    area
}

/// The rindex area `format` writes (the header, then zeros). The rindex
/// lease at `rx_offset + align` is [`rindex_lease_init`].
pub fn rindex_format(
    geometry: Geometry,
    space_name: Name,
    rx_offset: u64,
    max_resources: u32,
) -> Vec<u8> {
    let mut area = vec![0u8; geometry.align_usize()];
    let _ = RindexHeader::new(geometry, space_name, rx_offset, max_resources).encode(&mut area);
    area
}

/// The `rindex_lease` paxos lease `format` writes after the rindex area.
pub fn rindex_lease_init(geometry: Geometry, space_name: Name) -> Vec<u8> {
    // "rindex_lease" is 12 bytes: always a valid name.
    let lease_name = Name::new(RINDEX_LEASE_NAME).unwrap_or_default();
    resource_init(geometry, space_name, lease_name, 0, None)
}

/// One delta slot found in a lockspace area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaSlot {
    /// Byte offset of the slot within the area.
    pub offset_in_area: u64,
    /// host_id the slot belongs to (slot index + 1).
    pub host_id: u64,
    /// The leader record.
    pub leader: LeaderRecord,
    /// host_ids set in the slot's bitmap.
    pub bitmap: Vec<u64>,
    /// Whether the checksum matches.
    pub checksum_ok: bool,
}

/// One host's dblock sector of a resource area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DblockSlot {
    /// host_id (dblock index + 1).
    pub host_id: u64,
    /// The dblock.
    pub dblock: PaxosDblock,
    /// The mode block.
    pub mode: ModeBlock,
    /// Whether the dblock checksum matches (zero dblocks count as valid).
    pub checksum_ok: bool,
}

/// One used rindex entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentrySlot {
    /// Byte offset of the entry within the rindex area.
    pub offset_in_area: u64,
    /// The entry.
    pub entry: RindexEntry,
}

/// What an area holds, decoded without trusting any count on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AreaView {
    /// A lockspace: the slots that were ever acquired (owner or generation
    /// non-zero), and every slot whose checksum is wrong.
    Lockspace {
        /// The first slot's leader (header of the area).
        first: LeaderRecord,
        /// Slots to show.
        slots: Vec<DeltaSlot>,
    },
    /// A resource (paxos) lease.
    Resource {
        /// The leader.
        leader: LeaderRecord,
        /// Whether the leader's checksum matches.
        leader_checksum_ok: bool,
        /// The request record.
        request: RequestRecord,
        /// The dblocks of hosts 1..=num_hosts (capped by what fits).
        dblocks: Vec<DblockSlot>,
    },
    /// An rindex.
    Rindex {
        /// The header.
        header: RindexHeader,
        /// Used entries.
        entries: Vec<RentrySlot>,
    },
    /// A cleared paxos lease.
    Cleared {
        /// The leader.
        leader: LeaderRecord,
    },
    /// Anything else; `magic` is the first 4 bytes (0 if too short).
    Other {
        /// The first u32 of the area.
        magic: u32,
    },
}

fn magic_of(b: &[u8]) -> u32 {
    b.get(..4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
        .unwrap_or(0)
}

/// Decodes one area as `dump` sees it. `data` is the area's bytes (it may be
/// shorter than the align size at the end of a device); `geometry` is the
/// one used for the whole dump. Never panics.
pub fn decode_area(data: &[u8], geometry: Geometry) -> AreaView {
    let ss = geometry.sector_usize();
    let sectors = (data.len() / ss).min(geometry.sectors_per_area() as usize);
    let sector = |i: usize| &data[i * ss..(i + 1) * ss];
    match magic_of(data) {
        DELTA_DISK_MAGIC if sectors > 0 => {
            let Ok(first) = LeaderRecord::decode(sector(0)) else {
                return AreaView::Other {
                    magic: DELTA_DISK_MAGIC,
                };
            };
            let mut slots = Vec::new();
            for i in 0..sectors {
                let s = sector(i);
                let Ok(leader) = LeaderRecord::decode(s) else {
                    continue;
                };
                if leader.magic == 0 {
                    continue;
                }
                let checksum_ok = leader.checksum_ok();
                if leader.owner_id == 0 && leader.owner_generation == 0 && checksum_ok {
                    continue;
                }
                slots.push(DeltaSlot {
                    offset_in_area: (i * ss) as u64,
                    host_id: i as u64 + 1,
                    leader,
                    bitmap: bitmap_hosts(s, geometry.max_hosts()),
                    checksum_ok,
                });
            }
            AreaView::Lockspace { first, slots }
        }
        PAXOS_DISK_MAGIC if sectors > 0 => {
            let Ok(leader) = LeaderRecord::decode(sector(0)) else {
                return AreaView::Other {
                    magic: PAXOS_DISK_MAGIC,
                };
            };
            let request = if sectors > 1 {
                RequestRecord::decode(sector(1)).unwrap_or(RequestRecord {
                    magic: 0,
                    version: 0,
                    lver: 0,
                    force_mode: 0,
                })
            } else {
                RequestRecord {
                    magic: 0,
                    version: 0,
                    lver: 0,
                    force_mode: 0,
                }
            };
            let available = sectors.saturating_sub(2) as u64;
            let n = leader.num_hosts.min(available);
            let mut dblocks = Vec::with_capacity(n as usize);
            for i in 0..n as usize {
                let s = sector(2 + i);
                let (Ok(dblock), Ok(mode)) =
                    (PaxosDblock::decode(s), ModeBlock::decode_from_sector(s))
                else {
                    continue;
                };
                dblocks.push(DblockSlot {
                    host_id: i as u64 + 1,
                    dblock,
                    mode,
                    checksum_ok: dblock.checksum_ok(),
                });
            }
            AreaView::Resource {
                leader_checksum_ok: leader.checksum_ok(),
                leader,
                request,
                dblocks,
            }
        }
        PAXOS_DISK_CLEAR => match LeaderRecord::decode(data) {
            Ok(leader) => AreaView::Cleared { leader },
            Err(_) => AreaView::Other {
                magic: PAXOS_DISK_CLEAR,
            },
        },
        RINDEX_DISK_MAGIC => {
            let Ok(header) = RindexHeader::decode(data) else {
                return AreaView::Other {
                    magic: RINDEX_DISK_MAGIC,
                };
            };
            let per_sector = ss / RINDEX_ENTRY_LEN;
            let mut entries = Vec::new();
            for i in 1..sectors {
                for j in 0..per_sector {
                    let off = i * ss + j * RINDEX_ENTRY_LEN;
                    let Ok(entry) = RindexEntry::decode(&data[off..off + RINDEX_ENTRY_LEN]) else {
                        continue;
                    };
                    if !entry.is_free() {
                        entries.push(RentrySlot {
                            offset_in_area: off as u64,
                            entry,
                        });
                    }
                }
            }
            AreaView::Rindex { header, entries }
        }
        magic => AreaView::Other { magic },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{AlignSize, SectorSize};

    #[test]
    fn lockspace_init_commits_slot_zero_last() {
        let g = Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap();
        let init = lockspace_init(g, Name::new("LS").unwrap(), 10);
        assert_eq!(init.area.len(), 1 << 20);
        assert_eq!(&init.area[..4], &[0, 0, 0, 0]);
        assert_eq!(&init.area[512..516], &DELTA_DISK_MAGIC.to_le_bytes());
        assert!(init.area[2000 * 512..].iter().all(|&b| b == 0));
        let mut committed = init.area.clone();
        committed[..512].copy_from_slice(&init.commit_sector);
        // after the commit every slot is identical, checksum 0xb0f174c0
        for h in 0..2000 {
            assert_eq!(
                &committed[h * 512..h * 512 + 512],
                &committed[..512],
                "slot {h}"
            );
        }
        assert_eq!(&committed[168..172], &0xb0f1_74c0u32.to_le_bytes());
    }

    #[test]
    fn decode_area_survives_lying_num_hosts() {
        let g = Geometry::new(SectorSize::S4K, AlignSize::A1M).unwrap();
        let mut area = resource_init(
            g,
            Name::new("LS").unwrap(),
            Name::new("R").unwrap(),
            0,
            None,
        );
        area[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        match decode_area(&area, g) {
            AreaView::Resource {
                dblocks,
                leader_checksum_ok,
                ..
            } => {
                assert_eq!(dblocks.len(), 254);
                assert!(!leader_checksum_ok);
            }
            v => panic!("{v:?}"),
        }
        // a truncated area is fine too
        assert!(matches!(
            decode_area(&area[..100], g),
            AreaView::Resource { .. } | AreaView::Other { .. }
        ));
    }
}
