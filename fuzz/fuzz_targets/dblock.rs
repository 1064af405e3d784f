//! PaxosDblock::decode and ModeBlock::decode_from_sector on arbitrary bytes:
//! decode fails exactly on short input, re-encoding reproduces the bytes,
//! and the checksum rule (CRC of [0, 48), all-zero exception) holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paxlock_format::crc::sanlock_crc;
use paxlock_format::dblock::{
    DBLOCK_CHECKSUM_LEN, DBLOCK_FL_RELEASED, DBLOCK_LEN, MBLOCK_LEN, MBLOCK_OFFSET, MBLOCK_SHARED,
};
use paxlock_format::{ModeBlock, PaxosDblock};

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
fn le64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

fuzz_target!(|data: &[u8]| {
    match PaxosDblock::decode(data) {
        Err(_) => assert!(data.len() < DBLOCK_LEN),
        Ok(d) => {
            assert!(data.len() >= DBLOCK_LEN);
            let mut out = vec![0x5au8; DBLOCK_LEN + 8];
            d.encode(&mut out).unwrap();
            assert_eq!(&out[..DBLOCK_LEN], &data[..DBLOCK_LEN]);
            assert!(out[DBLOCK_LEN..].iter().all(|&b| b == 0x5a));
            assert!(d.encode(&mut out[..DBLOCK_LEN - 1]).is_err());
            assert_eq!(PaxosDblock::decode(&out).unwrap(), d);

            // field positions straight from the spec table
            assert_eq!(d.mbal, le64(data, 0));
            assert_eq!(d.bal, le64(data, 8));
            assert_eq!(d.inp, le64(data, 16));
            assert_eq!(d.inp2, le64(data, 24));
            assert_eq!(d.inp3, le64(data, 32));
            assert_eq!(d.lver, le64(data, 40));
            assert_eq!(d.checksum, le32(data, 48));
            assert_eq!(d.flags, le32(data, 52));

            let crc = sanlock_crc(&data[..DBLOCK_CHECKSUM_LEN]);
            assert_eq!(d.computed_checksum(), crc);
            let never_written =
                d.checksum == 0 && d.mbal == 0 && d.bal == 0 && d.inp == 0 && d.lver == 0;
            assert_eq!(d.checksum_ok(), never_written || crc == d.checksum);
            assert_eq!(d.is_released(), d.flags & DBLOCK_FL_RELEASED != 0);

            // sealing changes only the checksum; flags stay outside it
            let mut s = d;
            s.seal();
            assert!(s.checksum_ok());
            s.flags ^= 0xffff_ffff;
            assert!(s.checksum_ok());
            s.lver ^= 1;
            let zero_exception =
                s.mbal == 0 && s.bal == 0 && s.inp == 0 && s.lver == 0 && s.checksum == 0;
            assert!(zero_exception || !s.checksum_ok());
        }
    }

    match ModeBlock::decode_from_sector(data) {
        Err(_) => assert!(data.len() < MBLOCK_OFFSET + MBLOCK_LEN),
        Ok(m) => {
            assert!(data.len() >= MBLOCK_OFFSET + MBLOCK_LEN);
            assert_eq!(m.flags, le32(data, 128));
            assert_eq!(m.generation, le64(data, 136));
            assert_eq!(m.is_shared(), m.flags & MBLOCK_SHARED != 0);
            // re-encoding into the same sector reproduces it, except the
            // padding at [132, 136), which is written as zero
            let mut sector = data.to_vec();
            m.encode_into_sector(&mut sector).unwrap();
            assert_eq!(&sector[..132], &data[..132]);
            assert_eq!(&sector[132..136], &[0u8; 4]);
            assert_eq!(&sector[136..], &data[136..]);
            assert_eq!(ModeBlock::decode_from_sector(&sector).unwrap(), m);
            assert!(m.encode_into_sector(&mut sector[..143]).is_err());
        }
    }
});
