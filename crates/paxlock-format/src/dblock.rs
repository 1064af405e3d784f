//! The paxos dblock (`struct paxos_dblock`) and the mode block
//! (`struct mode_block`) that share host_id's sector (`host_id + 1`) of a
//! resource area.
//!
//! ```text
//! dblock, at byte 0 of the sector        mode block, at byte 128
//! off size field                         off size field
//!   0  8   mbal                          128  4   flags (0x1 SHARED)
//!   8  8   bal                           132  4   (padding)
//!  16  8   inp   (owner host_id)         136  8   generation
//!  24  8   inp2  (owner generation)
//!  32  8   inp3  (owner timestamp)
//!  40  8   lver
//!  48  4   checksum  CRC over [0, 48)
//!  52  4   flags (0x1 RELEASED, not covered)
//! ```

use crate::crc::sanlock_crc;
use crate::le::{put_u32, put_u64, u32_at, u64_at};
use crate::{check_len, check_out_len, DecodeError, EncodeError};

/// Encoded length of a dblock.
pub const DBLOCK_LEN: usize = 56;
/// Bytes of the dblock covered by its checksum.
pub const DBLOCK_CHECKSUM_LEN: usize = 48;
/// `DBLOCK_FL_RELEASED`.
pub const DBLOCK_FL_RELEASED: u32 = 0x1;
/// Offset of the mode block in a dblock sector (`MBLOCK_OFFSET`).
pub const MBLOCK_OFFSET: usize = 128;
/// Encoded length of a mode block.
pub const MBLOCK_LEN: usize = 16;
/// `MBLOCK_SHARED`.
pub const MBLOCK_SHARED: u32 = 0x1;

const _: () = assert!(DBLOCK_LEN <= MBLOCK_OFFSET);
const _: () = assert!(MBLOCK_OFFSET + MBLOCK_LEN <= 512);

/// A paxos dblock; `checksum` is as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct PaxosDblock {
    pub mbal: u64,
    pub bal: u64,
    pub inp: u64,
    pub inp2: u64,
    pub inp3: u64,
    pub lver: u64,
    pub checksum: u32,
    pub flags: u32,
}

impl PaxosDblock {
    /// Decodes the first 56 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<PaxosDblock, DecodeError> {
        check_len("paxos dblock", b.len(), DBLOCK_LEN)?;
        Ok(PaxosDblock {
            mbal: u64_at(b, 0),
            bal: u64_at(b, 8),
            inp: u64_at(b, 16),
            inp2: u64_at(b, 24),
            inp3: u64_at(b, 32),
            lver: u64_at(b, 40),
            checksum: u32_at(b, 48),
            flags: u32_at(b, 52),
        })
    }

    /// Writes the 56 bytes at the start of `out`, checksum as stored.
    pub fn encode(&self, out: &mut [u8]) -> Result<(), EncodeError> {
        check_out_len("paxos dblock", out.len(), DBLOCK_LEN)?;
        put_u64(out, 0, self.mbal);
        put_u64(out, 8, self.bal);
        put_u64(out, 16, self.inp);
        put_u64(out, 24, self.inp2);
        put_u64(out, 32, self.inp3);
        put_u64(out, 40, self.lver);
        put_u32(out, 48, self.checksum);
        put_u32(out, 52, self.flags);
        Ok(())
    }

    /// The checksum of bytes [0, 48).
    pub fn computed_checksum(&self) -> u32 {
        let mut b = [0u8; DBLOCK_LEN];
        let _ = self.encode(&mut b); // fixed-size buffer: cannot fail
        sanlock_crc(&b[..DBLOCK_CHECKSUM_LEN])
    }

    /// Recomputes and stores the checksum.
    pub fn seal(&mut self) {
        self.checksum = self.computed_checksum();
    }

    /// sanlock's `verify_dblock`: an all-zero dblock (no checksum written
    /// yet) is valid; otherwise the checksum must match.
    pub fn checksum_ok(&self) -> bool {
        let never_written = self.checksum == 0
            && self.mbal == 0
            && self.bal == 0
            && self.inp == 0
            && self.lver == 0;
        never_written || self.checksum == self.computed_checksum()
    }

    /// True when the RELEASED flag is set.
    pub fn is_released(&self) -> bool {
        self.flags & DBLOCK_FL_RELEASED != 0
    }
}

/// A mode block: whether host_id holds the lease shared, and with which
/// host generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct ModeBlock {
    pub flags: u32,
    pub generation: u64,
}

impl ModeBlock {
    /// Decodes a mode block from a whole dblock sector (it sits at byte 128).
    pub fn decode_from_sector(sector: &[u8]) -> Result<ModeBlock, DecodeError> {
        check_len(
            "mode block sector",
            sector.len(),
            MBLOCK_OFFSET + MBLOCK_LEN,
        )?;
        Ok(ModeBlock {
            flags: u32_at(sector, MBLOCK_OFFSET),
            generation: u64_at(sector, MBLOCK_OFFSET + 8),
        })
    }

    /// Writes the mode block at byte 128 of a dblock sector, padding zero.
    pub fn encode_into_sector(&self, sector: &mut [u8]) -> Result<(), EncodeError> {
        check_out_len(
            "mode block sector",
            sector.len(),
            MBLOCK_OFFSET + MBLOCK_LEN,
        )?;
        put_u32(sector, MBLOCK_OFFSET, self.flags);
        put_u32(sector, MBLOCK_OFFSET + 4, 0);
        put_u64(sector, MBLOCK_OFFSET + 8, self.generation);
        Ok(())
    }

    /// True when SHARED is set.
    pub fn is_shared(&self) -> bool {
        self.flags & MBLOCK_SHARED != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec worked examples 4 and 5 (dblocks written by sanlock).
    #[test]
    fn golden_dblocks() {
        let mut d = PaxosDblock {
            mbal: 1,
            bal: 1,
            inp: 1,
            inp2: 1,
            inp3: 335,
            lver: 1,
            ..Default::default()
        };
        d.seal();
        assert_eq!(d.checksum, 0xa769_03cd);
        d.flags = DBLOCK_FL_RELEASED; // outside the checksum
        assert!(d.checksum_ok());
        let mut d = PaxosDblock {
            mbal: 2001,
            bal: 2001,
            inp: 1,
            inp2: 1,
            inp3: 359,
            lver: 2,
            ..Default::default()
        };
        d.seal();
        assert_eq!(d.checksum, 0x5b18_c9bf);
    }

    #[test]
    fn zero_dblock_is_valid_without_checksum() {
        assert!(PaxosDblock::default().checksum_ok());
        let d = PaxosDblock {
            inp: 5,
            ..Default::default()
        };
        assert!(!d.checksum_ok());
    }

    #[test]
    fn golden_mode_block_bytes() {
        let mut s = vec![0u8; 512];
        ModeBlock {
            flags: MBLOCK_SHARED,
            generation: 1,
        }
        .encode_into_sector(&mut s)
        .unwrap();
        assert_eq!(
            &s[128..144],
            &[1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
        );
        assert!(ModeBlock::decode_from_sector(&s).unwrap().is_shared());
        assert!(ModeBlock::decode_from_sector(&s[..143]).is_err());
    }
}
