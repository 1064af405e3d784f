//! Lease geometry: sector size, align size, and where each host's sector is.
//!
//! | sector | align | max_hosts | leader flag | rindex flag |
//! |--------|-------|-----------|-------------|-------------|
//! | 512    | 1 MiB | 2000      | 0x10        | 0x1         |
//! | 4096   | 1 MiB | 250       | 0x10        | 0x1         |
//! | 4096   | 2 MiB | 500       | 0x20        | 0x2         |
//! | 4096   | 4 MiB | 1000      | 0x40        | 0x4         |
//! | 4096   | 8 MiB | 2000      | 0x80        | 0x8         |
//!
//! No other pair is valid: sanlock rejects 512 with 2, 4 or 8 MiB.

use std::fmt;

/// One MiB, the unit of align sizes.
pub const MIB: u64 = 1024 * 1024;

/// `DEFAULT_MAX_HOSTS`: host count sanlock assumes when no geometry is given.
pub const DEFAULT_MAX_HOSTS: u64 = 2000;

/// The lease's logical sector size (not necessarily the device's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectorSize {
    /// 512-byte sectors.
    S512,
    /// 4096-byte sectors.
    S4K,
}

/// The size of one lease area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlignSize {
    /// 1 MiB.
    A1M,
    /// 2 MiB.
    A2M,
    /// 4 MiB.
    A4M,
    /// 8 MiB.
    A8M,
}

impl SectorSize {
    /// 512 or 4096.
    pub fn from_bytes(n: u64) -> Option<SectorSize> {
        match n {
            512 => Some(SectorSize::S512),
            4096 => Some(SectorSize::S4K),
            _ => None,
        }
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        match self {
            SectorSize::S512 => 512,
            SectorSize::S4K => 4096,
        }
    }

    /// The size in bytes as `usize`.
    pub const fn bytes_usize(self) -> usize {
        self.bytes() as usize
    }

    /// sanlock's historical align size for a sector size, used when a
    /// record carries no align flag (written by sanlock <= 3.6).
    pub const fn legacy_align(self) -> AlignSize {
        match self {
            SectorSize::S512 => AlignSize::A1M,
            SectorSize::S4K => AlignSize::A8M,
        }
    }
}

impl AlignSize {
    /// 1, 2, 4 or 8 MiB.
    pub fn from_bytes(n: u64) -> Option<AlignSize> {
        match n {
            x if x == MIB => Some(AlignSize::A1M),
            x if x == 2 * MIB => Some(AlignSize::A2M),
            x if x == 4 * MIB => Some(AlignSize::A4M),
            x if x == 8 * MIB => Some(AlignSize::A8M),
            _ => None,
        }
    }

    /// Parses the CLI spelling `1M`, `2M`, `4M` or `8M`.
    pub fn from_arg(s: &str) -> Option<AlignSize> {
        match s {
            "1M" => Some(AlignSize::A1M),
            "2M" => Some(AlignSize::A2M),
            "4M" => Some(AlignSize::A4M),
            "8M" => Some(AlignSize::A8M),
            _ => None,
        }
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        match self {
            AlignSize::A1M => MIB,
            AlignSize::A2M => 2 * MIB,
            AlignSize::A4M => 4 * MIB,
            AlignSize::A8M => 8 * MIB,
        }
    }

    /// The align bit in `leader_record.flags` (`LFL_ALIGN_*`).
    pub const fn leader_flag(self) -> u32 {
        match self {
            AlignSize::A1M => 0x10,
            AlignSize::A2M => 0x20,
            AlignSize::A4M => 0x40,
            AlignSize::A8M => 0x80,
        }
    }

    /// The align bit in `rindex_header.flags` (`RHF_ALIGN_*`).
    pub const fn rindex_flag(self) -> u32 {
        match self {
            AlignSize::A1M => 0x1,
            AlignSize::A2M => 0x2,
            AlignSize::A4M => 0x4,
            AlignSize::A8M => 0x8,
        }
    }

    /// The align size named by leader flags, checking 1M, 2M, 4M, 8M in that
    /// order as sanlock does; `None` when no align bit is set.
    pub const fn from_leader_flags(flags: u32) -> Option<AlignSize> {
        if flags & 0x10 != 0 {
            Some(AlignSize::A1M)
        } else if flags & 0x20 != 0 {
            Some(AlignSize::A2M)
        } else if flags & 0x40 != 0 {
            Some(AlignSize::A4M)
        } else if flags & 0x80 != 0 {
            Some(AlignSize::A8M)
        } else {
            None
        }
    }

    /// The align size named by rindex header flags.
    pub const fn from_rindex_flags(flags: u32) -> Option<AlignSize> {
        if flags & 0x1 != 0 {
            Some(AlignSize::A1M)
        } else if flags & 0x2 != 0 {
            Some(AlignSize::A2M)
        } else if flags & 0x4 != 0 {
            Some(AlignSize::A4M)
        } else if flags & 0x8 != 0 {
            Some(AlignSize::A8M)
        } else {
            None
        }
    }

    /// The CLI spelling.
    pub const fn as_arg(self) -> &'static str {
        match self {
            AlignSize::A1M => "1M",
            AlignSize::A2M => "2M",
            AlignSize::A4M => "4M",
            AlignSize::A8M => "8M",
        }
    }
}

/// A valid (sector size, align size) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    sector_size: SectorSize,
    align_size: AlignSize,
}

/// An invalid sector/align pair.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid sector size/align size combination ({sector_size_bytes}/{align_size_bytes}); \
     use one of 512/1M, 4096/1M, 4096/2M, 4096/4M, 4096/8M"
)]
pub struct GeometryError {
    /// The sector size given.
    pub sector_size_bytes: u64,
    /// The align size given.
    pub align_size_bytes: u64,
}

impl Geometry {
    /// All five valid geometries, in the order of the table above.
    pub const ALL: [Geometry; 5] = [
        Geometry {
            sector_size: SectorSize::S512,
            align_size: AlignSize::A1M,
        },
        Geometry {
            sector_size: SectorSize::S4K,
            align_size: AlignSize::A1M,
        },
        Geometry {
            sector_size: SectorSize::S4K,
            align_size: AlignSize::A2M,
        },
        Geometry {
            sector_size: SectorSize::S4K,
            align_size: AlignSize::A4M,
        },
        Geometry {
            sector_size: SectorSize::S4K,
            align_size: AlignSize::A8M,
        },
    ];

    /// A geometry, if the pair is one sanlock accepts.
    pub fn new(sector_size: SectorSize, align_size: AlignSize) -> Result<Geometry, GeometryError> {
        if sector_size == SectorSize::S512 && align_size != AlignSize::A1M {
            return Err(GeometryError {
                sector_size_bytes: sector_size.bytes(),
                align_size_bytes: align_size.bytes(),
            });
        }
        Ok(Geometry {
            sector_size,
            align_size,
        })
    }

    /// sanlock's default when neither is given: the legacy align size for the
    /// device's sector size (512 -> 1M, 4096 -> 8M), with 2000 hosts.
    pub fn legacy_default(sector_size: SectorSize) -> Geometry {
        Geometry {
            sector_size,
            align_size: sector_size.legacy_align(),
        }
    }

    /// The geometry recorded in a leader's `sector_size` and `flags`, with
    /// the legacy fallback when no align bit is set. `None` if the sector
    /// size is not 512 or 4096 or the pair is invalid.
    pub fn from_leader(sector_size_bytes: u32, flags: u32) -> Option<Geometry> {
        let ss = SectorSize::from_bytes(u64::from(sector_size_bytes))?;
        let align = AlignSize::from_leader_flags(flags).unwrap_or(ss.legacy_align());
        Geometry::new(ss, align).ok()
    }

    /// The geometry recorded in an rindex header.
    pub fn from_rindex(sector_size_bytes: u32, flags: u32) -> Option<Geometry> {
        let ss = SectorSize::from_bytes(u64::from(sector_size_bytes))?;
        let align = AlignSize::from_rindex_flags(flags)?;
        Geometry::new(ss, align).ok()
    }

    /// The sector size.
    pub const fn sector_size(self) -> SectorSize {
        self.sector_size
    }

    /// The align size.
    pub const fn align_size(self) -> AlignSize {
        self.align_size
    }

    /// Sector size in bytes.
    pub const fn sector_bytes(self) -> u64 {
        self.sector_size.bytes()
    }

    /// Sector size in bytes as `usize`.
    pub const fn sector_usize(self) -> usize {
        self.sector_size.bytes_usize()
    }

    /// Align size in bytes.
    pub const fn align_bytes(self) -> u64 {
        self.align_size.bytes()
    }

    /// Align size in bytes as `usize`.
    pub const fn align_usize(self) -> usize {
        self.align_size.bytes() as usize
    }

    /// Sectors in one area.
    pub const fn sectors_per_area(self) -> u64 {
        self.align_bytes() / self.sector_bytes()
    }

    /// The largest host_id, which is also the number of delta slots and
    /// paxos dblocks in an area.
    pub const fn max_hosts(self) -> u64 {
        match (self.sector_size, self.align_size) {
            (SectorSize::S512, _) => 2000,
            (SectorSize::S4K, AlignSize::A1M) => 250,
            (SectorSize::S4K, AlignSize::A2M) => 500,
            (SectorSize::S4K, AlignSize::A4M) => 1000,
            (SectorSize::S4K, AlignSize::A8M) => 2000,
        }
    }

    /// The most rindex entries an rindex of this geometry may search.
    pub const fn max_resources_limit(self) -> u32 {
        match self.align_size {
            AlignSize::A1M => 16000,
            AlignSize::A2M => 32000,
            AlignSize::A4M => 64000,
            AlignSize::A8M => 128000,
        }
    }

    /// Byte offset, within a lockspace area, of host_id's delta slot.
    /// `None` unless `1 <= host_id <= max_hosts`.
    pub fn delta_slot_offset(self, host_id: u64) -> Option<u64> {
        if host_id == 0 || host_id > self.max_hosts() {
            return None;
        }
        Some((host_id - 1) * self.sector_bytes())
    }

    /// Byte offset, within a resource area, of host_id's dblock sector
    /// (sector `host_id + 1`). `None` unless `1 <= host_id <= max_hosts`.
    pub fn dblock_offset(self, host_id: u64) -> Option<u64> {
        if host_id == 0 || host_id > self.max_hosts() {
            return None;
        }
        Some((host_id + 1) * self.sector_bytes())
    }

    /// Byte offset of the request record within a resource area.
    pub const fn request_offset(self) -> u64 {
        self.sector_bytes()
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.sector_bytes(), self.align_size.as_arg())
    }
}

// Every geometry's slots must fit in one area: delta slots use max_hosts
// sectors; a paxos lease uses the leader, the request record and max_hosts
// dblocks.
const _: () = {
    let mut i = 0;
    while i < Geometry::ALL.len() {
        let g = Geometry::ALL[i];
        assert!(g.max_hosts() + 2 <= g.sectors_per_area());
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_valid_geometries() {
        let rows: Vec<(u64, u64, u64, u32)> = Geometry::ALL
            .iter()
            .map(|g| {
                (
                    g.sector_bytes(),
                    g.align_bytes(),
                    g.max_hosts(),
                    g.align_size().leader_flag(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (512, MIB, 2000, 0x10),
                (4096, MIB, 250, 0x10),
                (4096, 2 * MIB, 500, 0x20),
                (4096, 4 * MIB, 1000, 0x40),
                (4096, 8 * MIB, 2000, 0x80),
            ]
        );
    }

    #[test]
    fn rejects_512_with_large_align() {
        for a in [AlignSize::A2M, AlignSize::A4M, AlignSize::A8M] {
            let e = Geometry::new(SectorSize::S512, a).unwrap_err();
            assert!(e.to_string().contains("512/"), "{e}");
        }
    }

    #[test]
    fn legacy_fallback_when_no_align_flag() {
        assert_eq!(
            Geometry::from_leader(512, 0),
            Some(Geometry::legacy_default(SectorSize::S512))
        );
        assert_eq!(
            Geometry::from_leader(4096, 0).unwrap().align_size(),
            AlignSize::A8M
        );
        // first set bit wins, in the order 1M, 2M, 4M, 8M
        assert_eq!(
            Geometry::from_leader(4096, 0x80 | 0x20)
                .unwrap()
                .align_size(),
            AlignSize::A2M
        );
        assert_eq!(Geometry::from_leader(1024, 0x10), None);
        assert_eq!(Geometry::from_leader(512, 0x20), None);
    }

    #[test]
    fn host_sectors() {
        let g = Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap();
        assert_eq!(g.delta_slot_offset(1), Some(0));
        assert_eq!(g.delta_slot_offset(2000), Some(1999 * 512));
        assert_eq!(g.delta_slot_offset(0), None);
        assert_eq!(g.delta_slot_offset(2001), None);
        assert_eq!(g.dblock_offset(1), Some(1024));
        let g = Geometry::new(SectorSize::S4K, AlignSize::A1M).unwrap();
        assert_eq!(g.dblock_offset(250), Some(251 * 4096));
        assert_eq!(g.dblock_offset(251), None);
    }
}
