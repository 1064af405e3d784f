//! sanlock's checksum: CRC-32C (Castagnoli) register update seeded with
//! `0xFFFF_FFFE` (`~1`) and with no final XOR.
//!
//! This is not standard CRC-32C. With the `crc32c` crate, which inverts the
//! register on entry and exit, it is `!crc32c_append(1, data)`:
//! entry inversion of 1 gives the seed `0xFFFF_FFFE`, and the exit inversion
//! is undone by the outer `!`.

/// The checksum sanlock stores in leader records and paxos dblocks.
pub fn sanlock_crc(data: &[u8]) -> u32 {
    !crc32c::crc32c_append(1, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit reference, written from the definition (reflected
    /// polynomial 0x82F63B78), to pin the crate identity above.
    fn reference(data: &[u8]) -> u32 {
        let mut crc: u32 = 0xFFFF_FFFE;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn standard_check_value_of_the_underlying_crc32c() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn matches_bitwise_reference() {
        for len in [0usize, 1, 7, 48, 168, 513] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            assert_eq!(sanlock_crc(&data), reference(&data), "len {len}");
        }
    }

    /// Worked example 1 of the spec: a fresh delta slot of lockspace "LS"
    /// written by `sanlock direct init -s LS:0:file:0`.
    #[test]
    fn golden_fresh_delta_leader() {
        let mut b = [0u8; 168];
        b[0..4].copy_from_slice(&0x1221_2010u32.to_le_bytes());
        b[4..8].copy_from_slice(&0x0003_0004u32.to_le_bytes());
        b[8..12].copy_from_slice(&0x10u32.to_le_bytes());
        b[12..16].copy_from_slice(&512u32.to_le_bytes());
        b[24..32].copy_from_slice(&1u64.to_le_bytes());
        b[56..58].copy_from_slice(b"LS");
        assert_eq!(sanlock_crc(&b), 0xb0f1_74c0);
    }
}
