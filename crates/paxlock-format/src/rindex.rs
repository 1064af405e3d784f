//! The resource index (sanlock >= 3.7): a header in sector 0 of the rindex
//! area and 64-byte entries packed from sector 1. No checksums.
//!
//! ```text
//! rindex_header                          rindex_entry
//! off size field                         off size field
//!   0  4   magic 0x01042018                0  8   res_offset
//!   4  4   version 0x00010002              8  4   flags (0)
//!   8  4   flags (align 0x1/2/4/8)        12  4   unused (0)
//!  12  4   sector_size                    16 48   name
//!  16  4   max_resources
//!  20  4   unused
//!  24  8   rx_offset
//!  32 48   lockspace_name
//! ```
//!
//! Entry `i` is at `rx_offset + sector_size + 64 i`; its lease is at
//! `rx_offset + 2 align + i align`. The rindex lease (`rindex_lease`) is an
//! ordinary paxos lease at `rx_offset + align`.

use crate::geometry::Geometry;
use crate::le::{put_u32, put_u64, u32_at, u64_at};
use crate::name::{Name, NAME_LEN};
use crate::{check_len, check_out_len, DecodeError, EncodeError};

/// `RINDEX_DISK_MAGIC`.
pub const RINDEX_DISK_MAGIC: u32 = 0x0104_2018;
/// rindex version written (major 1, minor 2).
pub const RINDEX_DISK_VERSION: u32 = 0x0001_0002;
/// Encoded length of the header.
pub const RINDEX_HEADER_LEN: usize = 80;
/// Encoded length of an entry.
pub const RINDEX_ENTRY_LEN: usize = 64;
/// `max_resources` written when none is asked for.
pub const DEFAULT_MAX_RESOURCES: u32 = 4096;
/// Name of the paxos lease that serialises rindex updates.
pub const RINDEX_LEASE_NAME: &str = "rindex_lease";

/// The rindex header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct RindexHeader {
    pub magic: u32,
    pub version: u32,
    pub flags: u32,
    pub sector_size: u32,
    pub max_resources: u32,
    pub unused: u32,
    pub rx_offset: u64,
    pub lockspace_name: Name,
}

/// Why an rindex header does not fit what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RindexError {
    /// Not an rindex header (`SANLK_RINDEX_MAGIC`, -274).
    #[error("no resource index here: magic is 0x{found:08x}, expected 0x{RINDEX_DISK_MAGIC:08x}")]
    Magic {
        /// The magic found.
        found: u32,
    },
    /// Unknown major version (`SANLK_RINDEX_VERSION`, -275).
    #[error("unsupported resource index version 0x{0:x}")]
    Version(u32),
    /// Lockspace differs (`SANLK_RINDEX_LOCKSPACE`, -276).
    #[error("resource index belongs to lockspace {found:?}, not {expected:?}")]
    Lockspace {
        /// On disk.
        found: String,
        /// Given.
        expected: String,
    },
    /// Header records another offset (`SANLK_RINDEX_OFFSET`, -277).
    #[error(
        "resource index header says it lives at offset {found}, but it was read at {expected}"
    )]
    Offset {
        /// rx_offset on disk.
        found: u64,
        /// Offset used.
        expected: u64,
    },
    /// The header's sector size / align flags are not a valid geometry.
    #[error("resource index header has an invalid geometry (sector_size {sector_size}, flags 0x{flags:x})")]
    Geometry {
        /// sector_size on disk.
        sector_size: u32,
        /// flags on disk.
        flags: u32,
    },
}

impl RindexError {
    /// sanlock's error number.
    pub fn code(&self) -> i32 {
        match self {
            RindexError::Magic { .. } => -274,
            RindexError::Version(_) => -275,
            RindexError::Lockspace { .. } => -276,
            RindexError::Offset { .. } => -277,
            RindexError::Geometry { .. } => -22,
        }
    }
}

impl RindexHeader {
    /// The header `format` writes.
    pub fn new(
        geometry: Geometry,
        lockspace_name: Name,
        rx_offset: u64,
        max_resources: u32,
    ) -> RindexHeader {
        let limit = geometry.max_resources_limit();
        let max_resources = match max_resources {
            0 => DEFAULT_MAX_RESOURCES.min(limit),
            n => n.min(limit),
        };
        RindexHeader {
            magic: RINDEX_DISK_MAGIC,
            version: RINDEX_DISK_VERSION,
            flags: geometry.align_size().rindex_flag(),
            sector_size: geometry.sector_bytes() as u32,
            max_resources,
            unused: 0,
            rx_offset,
            lockspace_name,
        }
    }

    /// Decodes the first 80 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<RindexHeader, DecodeError> {
        check_len("rindex header", b.len(), RINDEX_HEADER_LEN)?;
        Ok(RindexHeader {
            magic: u32_at(b, 0),
            version: u32_at(b, 4),
            flags: u32_at(b, 8),
            sector_size: u32_at(b, 12),
            max_resources: u32_at(b, 16),
            unused: u32_at(b, 20),
            rx_offset: u64_at(b, 24),
            lockspace_name: Name::read(b, 32),
        })
    }

    /// Writes the 80 bytes at the start of `out`.
    pub fn encode(&self, out: &mut [u8]) -> Result<(), EncodeError> {
        check_out_len("rindex header", out.len(), RINDEX_HEADER_LEN)?;
        put_u32(out, 0, self.magic);
        put_u32(out, 4, self.version);
        put_u32(out, 8, self.flags);
        put_u32(out, 12, self.sector_size);
        put_u32(out, 16, self.max_resources);
        put_u32(out, 20, self.unused);
        put_u64(out, 24, self.rx_offset);
        out[32..32 + NAME_LEN].copy_from_slice(self.lockspace_name.raw());
        Ok(())
    }

    /// The geometry the header declares.
    pub fn geometry(&self) -> Option<Geometry> {
        Geometry::from_rindex(self.sector_size, self.flags)
    }

    /// sanlock's checks when opening an rindex for `lockspace_name` at
    /// `rx_offset`, plus a valid geometry. Returns the geometry.
    pub fn verify(&self, lockspace_name: &Name, rx_offset: u64) -> Result<Geometry, RindexError> {
        if self.magic != RINDEX_DISK_MAGIC {
            return Err(RindexError::Magic { found: self.magic });
        }
        if self.version & 0xFFFF_0000 != RINDEX_DISK_VERSION & 0xFFFF_0000 {
            return Err(RindexError::Version(self.version));
        }
        if !self.lockspace_name.same_as(lockspace_name) {
            return Err(RindexError::Lockspace {
                found: self.lockspace_name.to_string_lossy(),
                expected: lockspace_name.to_string_lossy(),
            });
        }
        if self.rx_offset != rx_offset {
            return Err(RindexError::Offset {
                found: self.rx_offset,
                expected: rx_offset,
            });
        }
        self.geometry().ok_or(RindexError::Geometry {
            sector_size: self.sector_size,
            flags: self.flags,
        })
    }

    /// How many entries a search looks at: max_resources, or the geometry
    /// limit when it is 0, and never more than fit in the area.
    pub fn searchable_entries(&self, geometry: Geometry) -> u64 {
        let declared = match self.max_resources {
            0 => geometry.max_resources_limit(),
            n => n,
        };
        let fit = (geometry.align_bytes() - geometry.sector_bytes()) / RINDEX_ENTRY_LEN as u64;
        u64::from(declared).min(fit)
    }
}

/// An rindex entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct RindexEntry {
    pub res_offset: u64,
    pub flags: u32,
    pub unused: u32,
    pub name: Name,
}

impl RindexEntry {
    /// Decodes the first 64 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<RindexEntry, DecodeError> {
        check_len("rindex entry", b.len(), RINDEX_ENTRY_LEN)?;
        Ok(RindexEntry {
            res_offset: u64_at(b, 0),
            flags: u32_at(b, 8),
            unused: u32_at(b, 12),
            name: Name::read(b, 16),
        })
    }

    /// Writes the 64 bytes at the start of `out`.
    pub fn encode(&self, out: &mut [u8]) -> Result<(), EncodeError> {
        check_out_len("rindex entry", out.len(), RINDEX_ENTRY_LEN)?;
        put_u64(out, 0, self.res_offset);
        put_u32(out, 8, self.flags);
        put_u32(out, 12, self.unused);
        out[16..16 + NAME_LEN].copy_from_slice(self.name.raw());
        Ok(())
    }

    /// An entry is free when res_offset is 0 and the name is empty.
    pub fn is_free(&self) -> bool {
        self.res_offset == 0 && self.name.is_empty()
    }
}

/// Byte offset, within the rindex area, of entry `index`; `None` if it
/// does not fit in a u64 (never for an index below `searchable_entries`).
pub fn entry_offset(geometry: Geometry, index: u64) -> Option<u64> {
    index
        .checked_mul(RINDEX_ENTRY_LEN as u64)?
        .checked_add(geometry.sector_bytes())
}

/// Absolute offset of the resource lease that entry `index` describes;
/// `None` if it does not fit in a u64.
pub fn entry_lease_offset(geometry: Geometry, rx_offset: u64, index: u64) -> Option<u64> {
    index
        .checked_add(2)?
        .checked_mul(geometry.align_bytes())?
        .checked_add(rx_offset)
}

/// The entry index whose lease lives at `res_offset`, if `res_offset` is
/// an aligned lease offset of this rindex within `searchable` entries.
pub fn entry_index_for_lease(
    geometry: Geometry,
    rx_offset: u64,
    res_offset: u64,
    searchable: u64,
) -> Option<u64> {
    let first = rx_offset.checked_add(2 * geometry.align_bytes())?;
    let rel = res_offset.checked_sub(first)?;
    if rel % geometry.align_bytes() != 0 {
        return None;
    }
    let index = rel / geometry.align_bytes();
    (index < searchable).then_some(index)
}

/// The entry index for a lease offset the way sanlock's daemon computes it
/// for LOOKUP_RINDEX and UPDATE_RINDEX: `(res_offset - rx_offset - 2 align)
/// / align`, truncated, without checking `max_resources`. `None` when
/// `res_offset` lies before the first lease slot or the entry would not fit
/// in the rindex area (where sanlock would read or write outside its
/// buffer).
pub fn entry_index_in_area(geometry: Geometry, rx_offset: u64, res_offset: u64) -> Option<u64> {
    let first = rx_offset.checked_add(2 * geometry.align_bytes())?;
    let index = res_offset.checked_sub(first)? / geometry.align_bytes();
    let end = entry_offset(geometry, index)?.checked_add(RINDEX_ENTRY_LEN as u64)?;
    (end <= geometry.align_bytes()).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{AlignSize, SectorSize};

    #[test]
    fn golden_header_bytes() {
        let g = Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap();
        let h = RindexHeader::new(g, Name::new("RXLS").unwrap(), 1_048_576, 0);
        let mut b = [0u8; 80];
        h.encode(&mut b).unwrap();
        assert_eq!(
            &b[..24],
            &[
                0x18, 0x20, 0x04, 0x01, 0x02, 0x00, 0x01, 0x00, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0x10, 0,
                0, 0, 0, 0, 0
            ]
        );
        assert_eq!(h.verify(&Name::new("RXLS").unwrap(), 1_048_576), Ok(g));
        assert_eq!(
            h.verify(&Name::new("RXLS").unwrap(), 0).unwrap_err().code(),
            -277
        );
        assert_eq!(
            h.verify(&Name::new("X").unwrap(), 1_048_576)
                .unwrap_err()
                .code(),
            -276
        );
    }

    #[test]
    fn entry_positions_match_sanlock() {
        let g = Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap();
        // direct update -e resA:3145728 wrote entry 0 at 0x100200.
        assert_eq!(entry_offset(g, 0).map(|o| 1_048_576 + o), Some(0x100200));
        assert_eq!(entry_offset(g, 1).map(|o| 1_048_576 + o), Some(0x100240));
        assert_eq!(entry_lease_offset(g, 1_048_576, 0), Some(3_145_728));
        assert_eq!(entry_lease_offset(g, u64::MAX, 0), None);
        assert_eq!(entry_offset(g, 1 << 58), None);
        assert_eq!(
            entry_index_for_lease(g, 1_048_576, 4_194_304, 4096),
            Some(1)
        );
        assert_eq!(entry_index_for_lease(g, 1_048_576, 2_097_152, 4096), None);
        assert_eq!(entry_index_for_lease(g, 1_048_576, 3_145_729, 4096), None);
    }

    #[test]
    fn searchable_entries_never_exceed_the_area() {
        let g = Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap();
        let mut h = RindexHeader::new(g, Name::new("L").unwrap(), 0, 0);
        assert_eq!(h.max_resources, 4096);
        h.max_resources = u32::MAX;
        assert_eq!(h.searchable_entries(g), (1_048_576 - 512) / 64);
    }
    #[test]
    fn entry_index_in_area_is_bounded_by_the_area() {
        let g = Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap();
        let rx = 1_048_576;
        assert_eq!(entry_index_in_area(g, rx, 3 * MIB_), Some(0));
        assert_eq!(entry_index_in_area(g, rx, 4 * MIB_ + 5), Some(1));
        assert_eq!(entry_index_in_area(g, rx, 2 * MIB_), None);
        assert_eq!(entry_index_in_area(g, rx, 0), None);
        // (1 MiB - 512) / 64 = 16376 entries fit
        assert_eq!(
            entry_index_in_area(g, rx, 3 * MIB_ + 16375 * MIB_),
            Some(16375)
        );
        assert_eq!(entry_index_in_area(g, rx, 3 * MIB_ + 16376 * MIB_), None);
        assert_eq!(entry_index_in_area(g, u64::MAX, u64::MAX), None);
    }

    const MIB_: u64 = 1_048_576;
}
