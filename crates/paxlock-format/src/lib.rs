//! sanlock-compatible on-disk records, pure and without I/O.
//!
//! Every structure sanlock 3.8 writes to shared storage is described here
//! byte for byte, with an `encode` that produces exactly sanlock's bytes and a
//! `decode` that never panics and never trusts a length or a count it reads
//! from disk. Layouts come from `shared/spec/sanlock-ondisk.md` and were
//! checked against bytes written by the real sanlock.
//!
//! The crate performs no I/O, reads no clock and has no global state, so the
//! lease engine and the simulator can use it as they please.
//!
//! ```
//! use paxlock_format::{Geometry, LeaderRecord, Name, SectorSize, AlignSize};
//!
//! let geometry = Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap();
//! let leader = LeaderRecord::new_paxos(geometry, Name::new("LS").unwrap(), Name::new("R1").unwrap(), 2000);
//! let mut sector = vec![0u8; 512];
//! leader.encode(&mut sector).unwrap();
//! let back = LeaderRecord::decode(&sector).unwrap();
//! assert_eq!(back, leader);
//! assert!(back.checksum_ok());
//! ```

pub mod area;
pub mod crc;
pub mod dblock;
pub mod geometry;
pub mod leader;
pub mod leasestr;
pub mod name;
pub mod request;
pub mod rindex;

pub use dblock::{ModeBlock, PaxosDblock};
pub use geometry::{AlignSize, Geometry, SectorSize};
pub use leader::{LeaderKind, LeaderRecord};
pub use name::Name;
pub use request::RequestRecord;
pub use rindex::{RindexEntry, RindexHeader};

/// Why bytes could not be decoded into a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The buffer is shorter than the record.
    #[error("{what} needs {needed} bytes but only {got} were given")]
    Short {
        /// Which record was being decoded.
        what: &'static str,
        /// Bytes the record needs.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
}

/// Why a record could not be encoded into a buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The output buffer is shorter than the record.
    #[error("{what} needs {needed} bytes but the buffer has {got}")]
    Short {
        /// Which record was being encoded.
        what: &'static str,
        /// Bytes the record needs.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
}

pub(crate) fn check_len(
    what: &'static str,
    buf_len: usize,
    needed: usize,
) -> Result<(), DecodeError> {
    if buf_len < needed {
        Err(DecodeError::Short {
            what,
            needed,
            got: buf_len,
        })
    } else {
        Ok(())
    }
}

pub(crate) fn check_out_len(
    what: &'static str,
    buf_len: usize,
    needed: usize,
) -> Result<(), EncodeError> {
    if buf_len < needed {
        Err(EncodeError::Short {
            what,
            needed,
            got: buf_len,
        })
    } else {
        Ok(())
    }
}

/// Little-endian field readers over a slice whose length was checked first.
pub(crate) mod le {
    pub fn u16_at(b: &[u8], off: usize) -> u16 {
        let mut a = [0u8; 2];
        a.copy_from_slice(&b[off..off + 2]);
        u16::from_le_bytes(a)
    }
    pub fn u32_at(b: &[u8], off: usize) -> u32 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&b[off..off + 4]);
        u32::from_le_bytes(a)
    }
    pub fn u64_at(b: &[u8], off: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[off..off + 8]);
        u64::from_le_bytes(a)
    }
    pub fn put_u16(b: &mut [u8], off: usize, v: u16) {
        b[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }
    pub fn put_u32(b: &mut [u8], off: usize, v: u32) {
        b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    pub fn put_u64(b: &mut [u8], off: usize, v: u64) {
        b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
}
