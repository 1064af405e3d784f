//! RequestRecord::decode on arbitrary bytes: decode fails exactly on short
//! input, and re-encoding reproduces the 20 data bytes plus zero padding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paxlock_format::request::{REQUEST_RECORD_LEN, REQ_DISK_MAGIC, REQ_DISK_VERSION};
use paxlock_format::RequestRecord;

fuzz_target!(|data: &[u8]| {
    let r = match RequestRecord::decode(data) {
        Err(e) => {
            assert!(data.len() < REQUEST_RECORD_LEN);
            assert!(!e.to_string().is_empty());
            return;
        }
        Ok(r) => r,
    };
    assert!(data.len() >= REQUEST_RECORD_LEN);
    assert_eq!(r.magic, u32::from_le_bytes(data[0..4].try_into().unwrap()));
    assert_eq!(
        r.version,
        u32::from_le_bytes(data[4..8].try_into().unwrap())
    );
    assert_eq!(r.lver, u64::from_le_bytes(data[8..16].try_into().unwrap()));
    assert_eq!(
        r.force_mode,
        u32::from_le_bytes(data[16..20].try_into().unwrap())
    );

    let mut out = data.to_vec();
    r.encode(&mut out).unwrap();
    assert_eq!(&out[..20], &data[..20]);
    assert_eq!(&out[20..24], &[0u8; 4]);
    assert_eq!(&out[24..], &data[24..]);
    assert_eq!(RequestRecord::decode(&out).unwrap(), r);
    assert!(r.encode(&mut out[..REQUEST_RECORD_LEN - 1]).is_err());

    let init = RequestRecord::new_init();
    assert_eq!(
        (init.magic, init.version, init.lver, init.force_mode),
        (REQ_DISK_MAGIC, REQ_DISK_VERSION, 0, 0)
    );
});
