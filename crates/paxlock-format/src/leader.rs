//! The leader record (`struct leader_record`, sanlock `leader.h`), used for
//! delta leases (one per host slot of a lockspace) and paxos leases (sector
//! 0 of a resource area). 200 bytes, little-endian, no padding:
//!
//! ```text
//! off size field             delta lease meaning          paxos lease meaning
//!   0  4   magic             0x12212010                   0x06152010 (0x11282016 = cleared)
//!   4  4   version           0x00030004                   0x00060004
//!   8  4   flags             align bit                    align bit | 0x1 SHORT_HOLD
//!  12  4   sector_size       512 | 4096                   512 | 4096
//!  16  8   num_hosts         0                            dblocks readers scan
//!  24  8   max_hosts         1                            max for the geometry
//!  32  8   owner_id          host_id of the slot          owner host_id
//!  40  8   owner_generation  host generation              owner generation
//!  48  8   lver              0                            lease version
//!  56 48   space_name        lockspace name               lockspace name
//! 104 48   resource_name     host name (UUID or -e)       resource name
//! 152  8   timestamp         renewal monotime, 0 = free   acquire monotime, 0 = free
//! 160  8   unused1           0                            0
//! 168  4   checksum          CRC over bytes [0, 168)
//! 172  2   unused2           0                            0
//! 174  2   io_timeout        seconds                      0
//! 176  8   write_id          event: target generation     last writer host_id
//! 184  8   write_generation  event: value                 last writer generation
//! 192  8   write_timestamp   event: data                  last writer monotime
//! ```
//!
//! Bytes 200..256 of the sector are zero; a delta slot carries the host
//! bitmap at 256..512.

use crate::crc::sanlock_crc;
use crate::geometry::Geometry;
use crate::le::{put_u16, put_u32, put_u64, u16_at, u32_at, u64_at};
use crate::name::{Name, NAME_LEN};
use crate::{check_len, check_out_len, DecodeError, EncodeError};

/// `DELTA_DISK_MAGIC`.
pub const DELTA_DISK_MAGIC: u32 = 0x1221_2010;
/// `PAXOS_DISK_MAGIC`.
pub const PAXOS_DISK_MAGIC: u32 = 0x0615_2010;
/// `PAXOS_DISK_CLEAR`: a paxos lease deliberately cleared.
pub const PAXOS_DISK_CLEAR: u32 = 0x1128_2016;
/// Delta leader version written (major 3, minor 4).
pub const DELTA_DISK_VERSION: u32 = 0x0003_0004;
/// Paxos leader version written (major 6, minor 4).
pub const PAXOS_DISK_VERSION: u32 = 0x0006_0004;
/// Mask of the major part of a version; readers compare only that.
pub const VERSION_MAJOR_MASK: u32 = 0xFFFF_0000;
/// `LFL_SHORT_HOLD`.
pub const LFL_SHORT_HOLD: u32 = 0x1;
/// Encoded length of a leader record.
pub const LEADER_RECORD_LEN: usize = 200;
/// Bytes covered by the checksum.
pub const LEADER_CHECKSUM_LEN: usize = 168;
/// Bytes sanlock compares when it compares leaders (up to the timestamp).
pub const LEADER_COMPARE_LEN: usize = 152;
/// Offset of the host bitmap in a delta slot.
pub const HOSTID_BITMAP_OFFSET: usize = 256;
/// Size of the host bitmap.
pub const HOSTID_BITMAP_SIZE: usize = 256;

const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 4;
const OFF_FLAGS: usize = 8;
const OFF_SECTOR_SIZE: usize = 12;
const OFF_NUM_HOSTS: usize = 16;
const OFF_MAX_HOSTS: usize = 24;
const OFF_OWNER_ID: usize = 32;
const OFF_OWNER_GENERATION: usize = 40;
const OFF_LVER: usize = 48;
const OFF_SPACE_NAME: usize = 56;
const OFF_RESOURCE_NAME: usize = OFF_SPACE_NAME + NAME_LEN;
const OFF_TIMESTAMP: usize = OFF_RESOURCE_NAME + NAME_LEN;
const OFF_UNUSED1: usize = OFF_TIMESTAMP + 8;
const OFF_CHECKSUM: usize = OFF_UNUSED1 + 8;
const OFF_UNUSED2: usize = OFF_CHECKSUM + 4;
const OFF_IO_TIMEOUT: usize = OFF_UNUSED2 + 2;
const OFF_WRITE_ID: usize = OFF_IO_TIMEOUT + 2;
const OFF_WRITE_GENERATION: usize = OFF_WRITE_ID + 8;
const OFF_WRITE_TIMESTAMP: usize = OFF_WRITE_GENERATION + 8;

const _: () = assert!(OFF_RESOURCE_NAME == 104);
const _: () = assert!(OFF_TIMESTAMP == 152 && OFF_TIMESTAMP == LEADER_COMPARE_LEN);
const _: () = assert!(OFF_CHECKSUM == LEADER_CHECKSUM_LEN);
const _: () = assert!(OFF_IO_TIMEOUT == 174);
const _: () = assert!(OFF_WRITE_TIMESTAMP + 8 == LEADER_RECORD_LEN);
const _: () = assert!(LEADER_RECORD_LEN <= HOSTID_BITMAP_OFFSET);
const _: () = assert!(HOSTID_BITMAP_OFFSET + HOSTID_BITMAP_SIZE <= 512);

/// A leader record, field for field. `checksum` is what is stored; it is
/// not recomputed unless [`LeaderRecord::seal`] is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LeaderRecord {
    pub magic: u32,
    pub version: u32,
    pub flags: u32,
    pub sector_size: u32,
    pub num_hosts: u64,
    pub max_hosts: u64,
    pub owner_id: u64,
    pub owner_generation: u64,
    pub lver: u64,
    pub space_name: Name,
    pub resource_name: Name,
    pub timestamp: u64,
    pub unused1: u64,
    pub checksum: u32,
    pub unused2: u16,
    pub io_timeout: u16,
    pub write_id: u64,
    pub write_generation: u64,
    pub write_timestamp: u64,
}

/// What a leader's magic says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderKind {
    /// A delta lease (lockspace host slot).
    Delta,
    /// A paxos lease (resource).
    Paxos,
    /// A paxos lease cleared with `init -z 1`.
    PaxosClear,
    /// Magic 0: never written, or slot 0 of a lockspace whose init did not
    /// finish.
    Zero,
    /// Anything else.
    Unknown(u32),
}

impl LeaderKind {
    /// Classifies a magic number.
    pub fn of_magic(magic: u32) -> LeaderKind {
        match magic {
            DELTA_DISK_MAGIC => LeaderKind::Delta,
            PAXOS_DISK_MAGIC => LeaderKind::Paxos,
            PAXOS_DISK_CLEAR => LeaderKind::PaxosClear,
            0 => LeaderKind::Zero,
            m => LeaderKind::Unknown(m),
        }
    }

    /// A short description for error messages.
    pub fn describe(self) -> String {
        match self {
            LeaderKind::Delta => "a lockspace (delta lease) record".into(),
            LeaderKind::Paxos => "a resource (paxos lease) record".into(),
            LeaderKind::PaxosClear => "a cleared resource lease (init -z 1)".into(),
            LeaderKind::Zero => "zeros (never initialised, or an init that did not finish)".into(),
            LeaderKind::Unknown(m) => format!("unknown magic 0x{m:08x}"),
        }
    }
}

/// Why a leader record is not the one expected. Each variant maps to
/// sanlock's error number ([`LeaderError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaderError {
    /// Wrong magic (`SANLK_LEADER_MAGIC`, -223).
    #[error("expected {expected} but found {}", found.describe())]
    Magic {
        /// What was found.
        found: LeaderKind,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// Wrong major version (`SANLK_LEADER_VERSION`, -224).
    #[error("unsupported version 0x{found:x} (expected major 0x{expected_major:x})")]
    Version {
        /// The version found.
        found: u32,
        /// The major expected.
        expected_major: u32,
    },
    /// Lockspace name differs (`SANLK_LEADER_LOCKSPACE`, -226).
    #[error("lockspace name is {found:?}, not {expected:?}")]
    Lockspace {
        /// Name on disk.
        found: String,
        /// Name given.
        expected: String,
    },
    /// Resource name differs (`SANLK_LEADER_RESOURCE`, -227).
    #[error("resource name is {found:?}, not {expected:?}")]
    Resource {
        /// Name on disk.
        found: String,
        /// Name given.
        expected: String,
    },
    /// Our host_id is beyond num_hosts (`SANLK_LEADER_NUMHOSTS`, -228).
    #[error("host_id {host_id} is above the lease's num_hosts {num_hosts}")]
    NumHosts {
        /// The lease's num_hosts.
        num_hosts: u64,
        /// Our host_id.
        host_id: u64,
    },
    /// Checksum mismatch (`SANLK_LEADER_CHECKSUM`, -229).
    #[error("checksum mismatch: stored 0x{stored:08x}, computed 0x{computed:08x} (corrupted or torn write)")]
    Checksum {
        /// Checksum stored on disk.
        stored: u32,
        /// Checksum of the bytes on disk.
        computed: u32,
    },
}

impl LeaderError {
    /// sanlock's error number for this error (`sanlock_rv.h`).
    pub fn code(&self) -> i32 {
        match self {
            LeaderError::Magic { .. } => -223,
            LeaderError::Version { .. } => -224,
            LeaderError::Lockspace { .. } => -226,
            LeaderError::Resource { .. } => -227,
            LeaderError::NumHosts { .. } => -228,
            LeaderError::Checksum { .. } => -229,
        }
    }
}

impl LeaderRecord {
    /// An all-zero record.
    pub fn zeroed() -> LeaderRecord {
        LeaderRecord {
            magic: 0,
            version: 0,
            flags: 0,
            sector_size: 0,
            num_hosts: 0,
            max_hosts: 0,
            owner_id: 0,
            owner_generation: 0,
            lver: 0,
            space_name: Name::default(),
            resource_name: Name::default(),
            timestamp: 0,
            unused1: 0,
            checksum: 0,
            unused2: 0,
            io_timeout: 0,
            write_id: 0,
            write_generation: 0,
            write_timestamp: 0,
        }
    }

    /// A free delta slot as `direct init -s` writes it, sealed.
    pub fn new_delta(geometry: Geometry, space_name: Name, io_timeout_secs: u16) -> LeaderRecord {
        let mut l = LeaderRecord::zeroed();
        l.magic = DELTA_DISK_MAGIC;
        l.version = DELTA_DISK_VERSION;
        l.flags = geometry.align_size().leader_flag();
        l.sector_size = geometry.sector_bytes() as u32;
        l.max_hosts = 1;
        l.space_name = space_name;
        l.io_timeout = io_timeout_secs;
        l.seal();
        l
    }

    /// A free paxos leader as `direct init -r` writes it, sealed. `num_hosts`
    /// is capped at the geometry's max_hosts (0 means max_hosts).
    pub fn new_paxos(
        geometry: Geometry,
        space_name: Name,
        resource_name: Name,
        num_hosts: u64,
    ) -> LeaderRecord {
        let max_hosts = geometry.max_hosts();
        let mut l = LeaderRecord::zeroed();
        l.magic = PAXOS_DISK_MAGIC;
        l.version = PAXOS_DISK_VERSION;
        l.flags = geometry.align_size().leader_flag();
        l.sector_size = geometry.sector_bytes() as u32;
        l.num_hosts = if num_hosts == 0 || num_hosts > max_hosts {
            max_hosts
        } else {
            num_hosts
        };
        l.max_hosts = max_hosts;
        l.space_name = space_name;
        l.resource_name = resource_name;
        l.seal();
        l
    }

    /// Decodes the first 200 bytes of `b`. Never panics; fails only when
    /// `b` is short. Nothing is validated: see [`LeaderRecord::verify_delta`]
    /// and [`LeaderRecord::verify_paxos`].
    pub fn decode(b: &[u8]) -> Result<LeaderRecord, DecodeError> {
        check_len("leader record", b.len(), LEADER_RECORD_LEN)?;
        Ok(LeaderRecord {
            magic: u32_at(b, OFF_MAGIC),
            version: u32_at(b, OFF_VERSION),
            flags: u32_at(b, OFF_FLAGS),
            sector_size: u32_at(b, OFF_SECTOR_SIZE),
            num_hosts: u64_at(b, OFF_NUM_HOSTS),
            max_hosts: u64_at(b, OFF_MAX_HOSTS),
            owner_id: u64_at(b, OFF_OWNER_ID),
            owner_generation: u64_at(b, OFF_OWNER_GENERATION),
            lver: u64_at(b, OFF_LVER),
            space_name: Name::read(b, OFF_SPACE_NAME),
            resource_name: Name::read(b, OFF_RESOURCE_NAME),
            timestamp: u64_at(b, OFF_TIMESTAMP),
            unused1: u64_at(b, OFF_UNUSED1),
            checksum: u32_at(b, OFF_CHECKSUM),
            unused2: u16_at(b, OFF_UNUSED2),
            io_timeout: u16_at(b, OFF_IO_TIMEOUT),
            write_id: u64_at(b, OFF_WRITE_ID),
            write_generation: u64_at(b, OFF_WRITE_GENERATION),
            write_timestamp: u64_at(b, OFF_WRITE_TIMESTAMP),
        })
    }

    /// Writes the 200 bytes of the record at the start of `out`, with the
    /// stored checksum as it is. Bytes after 200 are left alone.
    pub fn encode(&self, out: &mut [u8]) -> Result<(), EncodeError> {
        check_out_len("leader record", out.len(), LEADER_RECORD_LEN)?;
        put_u32(out, OFF_MAGIC, self.magic);
        put_u32(out, OFF_VERSION, self.version);
        put_u32(out, OFF_FLAGS, self.flags);
        put_u32(out, OFF_SECTOR_SIZE, self.sector_size);
        put_u64(out, OFF_NUM_HOSTS, self.num_hosts);
        put_u64(out, OFF_MAX_HOSTS, self.max_hosts);
        put_u64(out, OFF_OWNER_ID, self.owner_id);
        put_u64(out, OFF_OWNER_GENERATION, self.owner_generation);
        put_u64(out, OFF_LVER, self.lver);
        out[OFF_SPACE_NAME..OFF_SPACE_NAME + NAME_LEN].copy_from_slice(self.space_name.raw());
        out[OFF_RESOURCE_NAME..OFF_RESOURCE_NAME + NAME_LEN]
            .copy_from_slice(self.resource_name.raw());
        put_u64(out, OFF_TIMESTAMP, self.timestamp);
        put_u64(out, OFF_UNUSED1, self.unused1);
        put_u32(out, OFF_CHECKSUM, self.checksum);
        put_u16(out, OFF_UNUSED2, self.unused2);
        put_u16(out, OFF_IO_TIMEOUT, self.io_timeout);
        put_u64(out, OFF_WRITE_ID, self.write_id);
        put_u64(out, OFF_WRITE_GENERATION, self.write_generation);
        put_u64(out, OFF_WRITE_TIMESTAMP, self.write_timestamp);
        Ok(())
    }

    /// Encodes into a fresh zeroed sector of `sector_len` bytes, as sanlock
    /// writes a leader: the record, then zeros.
    pub fn to_sector(&self, sector_len: usize) -> Result<Vec<u8>, EncodeError> {
        let mut v = vec![0u8; sector_len];
        self.encode(&mut v)?;
        Ok(v)
    }

    /// The checksum of the record's covered bytes [0, 168).
    pub fn computed_checksum(&self) -> u32 {
        let mut b = [0u8; LEADER_RECORD_LEN];
        // A 200-byte buffer always fits: cannot fail.
        let _ = self.encode(&mut b);
        sanlock_crc(&b[..LEADER_CHECKSUM_LEN])
    }

    /// Recomputes and stores the checksum.
    pub fn seal(&mut self) {
        self.checksum = self.computed_checksum();
    }

    /// True when the stored checksum matches the covered bytes.
    pub fn checksum_ok(&self) -> bool {
        self.checksum == self.computed_checksum()
    }

    /// What the magic says this record is.
    pub fn kind(&self) -> LeaderKind {
        LeaderKind::of_magic(self.magic)
    }

    /// The geometry this record declares, if valid.
    pub fn geometry(&self) -> Option<Geometry> {
        Geometry::from_leader(self.sector_size, self.flags)
    }

    /// True when the lease is free (timestamp 0).
    pub fn is_free(&self) -> bool {
        self.timestamp == 0
    }

    fn checksum_result(&self) -> Result<(), LeaderError> {
        let computed = self.computed_checksum();
        if computed != self.checksum {
            return Err(LeaderError::Checksum {
                stored: self.checksum,
                computed,
            });
        }
        Ok(())
    }

    /// sanlock's checks of a delta slot read for lockspace `space_name`:
    /// magic, version major, lockspace name, checksum, in that order.
    pub fn verify_delta(&self, space_name: &Name) -> Result<(), LeaderError> {
        if self.magic != DELTA_DISK_MAGIC {
            return Err(LeaderError::Magic {
                found: self.kind(),
                expected: "a lockspace (delta lease) record",
            });
        }
        if self.version & VERSION_MAJOR_MASK != DELTA_DISK_VERSION & VERSION_MAJOR_MASK {
            return Err(LeaderError::Version {
                found: self.version,
                expected_major: DELTA_DISK_VERSION & VERSION_MAJOR_MASK,
            });
        }
        if !self.space_name.same_as(space_name) {
            return Err(LeaderError::Lockspace {
                found: self.space_name.to_string_lossy(),
                expected: space_name.to_string_lossy(),
            });
        }
        self.checksum_result()
    }

    /// sanlock's checks of a paxos leader: magic (a cleared lease fails
    /// too), version major, lockspace and resource names, num_hosts against
    /// `host_id` (skipped when `host_id` is 0), checksum, in that order.
    pub fn verify_paxos(
        &self,
        space_name: &Name,
        resource_name: &Name,
        host_id: u64,
    ) -> Result<(), LeaderError> {
        if self.magic != PAXOS_DISK_MAGIC {
            return Err(LeaderError::Magic {
                found: self.kind(),
                expected: "a resource (paxos lease) record",
            });
        }
        if self.version & VERSION_MAJOR_MASK != PAXOS_DISK_VERSION & VERSION_MAJOR_MASK {
            return Err(LeaderError::Version {
                found: self.version,
                expected_major: PAXOS_DISK_VERSION & VERSION_MAJOR_MASK,
            });
        }
        if !self.space_name.same_as(space_name) {
            return Err(LeaderError::Lockspace {
                found: self.space_name.to_string_lossy(),
                expected: space_name.to_string_lossy(),
            });
        }
        if !self.resource_name.same_as(resource_name) {
            return Err(LeaderError::Resource {
                found: self.resource_name.to_string_lossy(),
                expected: resource_name.to_string_lossy(),
            });
        }
        if self.num_hosts < host_id {
            return Err(LeaderError::NumHosts {
                num_hosts: self.num_hosts,
                host_id,
            });
        }
        self.checksum_result()
    }
}

/// The host_ids (1-based, at most `max_hosts`) whose bits are set in the
/// bitmap of a delta slot sector. A sector shorter than 512 bytes has none.
pub fn bitmap_hosts(sector: &[u8], max_hosts: u64) -> Vec<u64> {
    let Some(bitmap) = sector.get(HOSTID_BITMAP_OFFSET..HOSTID_BITMAP_OFFSET + HOSTID_BITMAP_SIZE)
    else {
        return Vec::new();
    };
    let limit = max_hosts.min((HOSTID_BITMAP_SIZE * 8) as u64);
    (1..=limit)
        .filter(|&h| {
            let bit = (h - 1) as usize;
            bitmap[bit / 8] & (1 << (bit % 8)) != 0
        })
        .collect()
}

/// Sets host_id's bit in the bitmap of a delta slot sector. Returns false
/// (and changes nothing) if the host_id is 0, beyond the bitmap, or the
/// sector is too short.
pub fn set_bitmap_host(sector: &mut [u8], host_id: u64) -> bool {
    if host_id == 0 || host_id > (HOSTID_BITMAP_SIZE * 8) as u64 {
        return false;
    }
    let Some(bitmap) =
        sector.get_mut(HOSTID_BITMAP_OFFSET..HOSTID_BITMAP_OFFSET + HOSTID_BITMAP_SIZE)
    else {
        return false;
    };
    let bit = (host_id - 1) as usize;
    bitmap[bit / 8] |= 1 << (bit % 8);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{AlignSize, SectorSize};

    fn g512() -> Geometry {
        Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap()
    }

    /// Spec worked example 1: fresh delta slot, "LS", checksum 0xb0f174c0.
    #[test]
    fn golden_fresh_delta_slot() {
        let l = LeaderRecord::new_delta(g512(), Name::new("LS").unwrap(), 10);
        assert_eq!(l.checksum, 0xb0f1_74c0);
        let s = l.to_sector(512).unwrap();
        assert_eq!(&s[168..176], &[0xc0, 0x74, 0xf1, 0xb0, 0, 0, 0x0a, 0]);
    }

    /// Spec worked example 2: fresh paxos leader "LS"/"R1", checksum 0x2073a773.
    #[test]
    fn golden_fresh_paxos_leader() {
        let l = LeaderRecord::new_paxos(
            g512(),
            Name::new("LS").unwrap(),
            Name::new("R1").unwrap(),
            0,
        );
        assert_eq!(l.num_hosts, 2000);
        assert_eq!(l.checksum, 0x2073_a773);
    }

    /// Spec worked examples 3 and 7: held and then released leader.
    #[test]
    fn golden_held_and_released_paxos_leader() {
        let mut l = LeaderRecord::new_paxos(
            g512(),
            Name::new("TLS").unwrap(),
            Name::new("RES1").unwrap(),
            0,
        );
        l.lver = 1;
        l.owner_id = 1;
        l.owner_generation = 1;
        l.timestamp = 335;
        l.write_id = 1;
        l.write_generation = 1;
        l.write_timestamp = 335;
        l.seal();
        assert_eq!(l.checksum, 0x0338_4baf);
        l.timestamp = 0;
        l.write_timestamp = 355;
        l.seal();
        assert_eq!(l.checksum, 0x6037_f76d);
    }

    /// Spec worked example 6: live delta slot with an event in write_*.
    #[test]
    fn golden_live_delta_slot_fields_after_168_are_not_covered() {
        let mut l = LeaderRecord::new_delta(g512(), Name::new("TLS").unwrap(), 10);
        l.owner_id = 1;
        l.owner_generation = 1;
        l.resource_name = Name::new("host-one-uuid").unwrap();
        l.timestamp = 454;
        l.seal();
        assert_eq!(l.checksum, 0xdf8d_129e);
        l.write_id = 1;
        l.write_generation = 7;
        l.write_timestamp = 9;
        l.io_timeout = 3;
        assert!(l.checksum_ok());
    }

    #[test]
    fn verify_order_and_codes() {
        let ls = Name::new("LS").unwrap();
        let r1 = Name::new("R1").unwrap();
        let mut l = LeaderRecord::new_paxos(g512(), ls, r1, 0);
        assert_eq!(l.verify_paxos(&ls, &r1, 1), Ok(()));
        assert_eq!(
            l.verify_paxos(&ls, &Name::new("R2").unwrap(), 1)
                .unwrap_err()
                .code(),
            -227
        );
        assert_eq!(
            l.verify_paxos(&Name::new("X").unwrap(), &r1, 1)
                .unwrap_err()
                .code(),
            -226
        );
        assert_eq!(l.verify_paxos(&ls, &r1, 2001).unwrap_err().code(), -228);
        assert_eq!(l.verify_delta(&ls).unwrap_err().code(), -223);
        l.lver = 9; // not resealed
        assert_eq!(l.verify_paxos(&ls, &r1, 1).unwrap_err().code(), -229);
        l.magic = PAXOS_DISK_CLEAR;
        assert_eq!(l.verify_paxos(&ls, &r1, 1).unwrap_err().code(), -223);
        l.magic = PAXOS_DISK_MAGIC;
        l.version = 0x0005_0004;
        assert_eq!(l.verify_paxos(&ls, &r1, 1).unwrap_err().code(), -224);
    }

    #[test]
    fn short_buffers_are_errors_not_panics() {
        assert!(LeaderRecord::decode(&[0u8; 199]).is_err());
        assert!(LeaderRecord::zeroed().encode(&mut [0u8; 10]).is_err());
    }

    #[test]
    fn bitmap_round_trip() {
        let mut s = vec![0u8; 512];
        assert!(set_bitmap_host(&mut s, 2));
        assert_eq!(s[256], 0x02);
        assert!(set_bitmap_host(&mut s, 2000));
        assert!(!set_bitmap_host(&mut s, 0));
        assert!(!set_bitmap_host(&mut s, 2049));
        assert_eq!(bitmap_hosts(&s, 2000), vec![2, 2000]);
        assert_eq!(bitmap_hosts(&s, 250), vec![2]);
        assert!(bitmap_hosts(&s[..300], 2000).is_empty());
    }
}
