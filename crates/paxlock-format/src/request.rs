//! The request record (`struct request_record`), sector 1 of a resource
//! area. 24 bytes, no checksum:
//!
//! ```text
//! off size field       meaning
//!   0  4   magic       0x08292011
//!   4  4   version     0x00010001
//!   8  8   lver        lease version being requested
//!  16  4   force_mode  0 none, 1 FORCE, 2 GRACEFUL
//!  20  4   (padding)   0
//! ```

use crate::le::{put_u32, put_u64, u32_at, u64_at};
use crate::{check_len, check_out_len, DecodeError, EncodeError};

/// `REQ_DISK_MAGIC`.
pub const REQ_DISK_MAGIC: u32 = 0x0829_2011;
/// Request record version written (major 1, minor 1).
pub const REQ_DISK_VERSION: u32 = 0x0001_0001;
/// Encoded length.
pub const REQUEST_RECORD_LEN: usize = 24;

/// A request record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct RequestRecord {
    pub magic: u32,
    pub version: u32,
    pub lver: u64,
    pub force_mode: u32,
}

impl RequestRecord {
    /// The record `direct init -r` writes: magic, version, lver 0, no force.
    pub fn new_init() -> RequestRecord {
        RequestRecord {
            magic: REQ_DISK_MAGIC,
            version: REQ_DISK_VERSION,
            lver: 0,
            force_mode: 0,
        }
    }

    /// Decodes the first 24 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<RequestRecord, DecodeError> {
        check_len("request record", b.len(), REQUEST_RECORD_LEN)?;
        Ok(RequestRecord {
            magic: u32_at(b, 0),
            version: u32_at(b, 4),
            lver: u64_at(b, 8),
            force_mode: u32_at(b, 16),
        })
    }

    /// Writes the 24 bytes (padding as zero) at the start of `out`.
    pub fn encode(&self, out: &mut [u8]) -> Result<(), EncodeError> {
        check_out_len("request record", out.len(), REQUEST_RECORD_LEN)?;
        put_u32(out, 0, self.magic);
        put_u32(out, 4, self.version);
        put_u64(out, 8, self.lver);
        put_u32(out, 16, self.force_mode);
        put_u32(out, 20, 0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes seen on disk after `sanlock client request ... :4 -f 2`.
    #[test]
    fn golden_request_bytes() {
        let r = RequestRecord {
            lver: 4,
            force_mode: 2,
            ..RequestRecord::new_init()
        };
        let mut b = [0xffu8; 24];
        r.encode(&mut b).unwrap();
        assert_eq!(&b[..8], &[0x11, 0x20, 0x29, 0x08, 0x01, 0x00, 0x01, 0x00]);
        assert_eq!(&b[8..16], &4u64.to_le_bytes());
        assert_eq!(&b[16..24], &[2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(RequestRecord::decode(&b).unwrap(), r);
    }
}
