//! paxlock-proto's request decoder on arbitrary bytes: the first 32 bytes
//! are the header, the rest the payload. Decoding never panics; a request
//! that decodes has exactly the framed payload size, re-encodes to the same
//! payload bytes, and decodes again to the same request. The framing helper
//! never asks for more than 1 MiB, and the struct and status-stream
//! decoders survive the same bytes.
//!
//! Seed with the captured vectors for speed:
//!   mkdir -p corpus/proto && for f in ../crates/paxlock-proto/testdata/requests/*.hex; do
//!     grep -v '^#' "$f" | xxd -r -p > "corpus/proto/$(basename "$f" .hex)"; done
#![no_main]

use libfuzzer_sys::fuzz_target;
use paxlock_proto::reply::decode_status_stream;
use paxlock_proto::{
    decode_request, decode_request_bytes, Encode, HeaderVerdict, ProtoError, Request, ResourceArg,
    SanlkLockspace, SanlkResource, SmHeader, StateRecord,
};

fuzz_target!(|data: &[u8]| {
    // whole-stream helper: never panics, never claims more than it has
    if let Ok((_, used)) = decode_request_bytes(data) {
        assert!(used <= data.len());
    }
    let _ = decode_status_stream(data);
    for b in [data, data.get(32..).unwrap_or(&[])] {
        if let Ok(r) = ResourceArg::decode(b) {
            assert_eq!(r.to_bytes(), b[..r.encoded_len()].to_vec());
        }
        if let Ok(r) = StateRecord::decode(b) {
            assert_eq!(r.to_bytes(), b[..r.encoded_len()].to_vec());
        }
        if let Ok(l) = SanlkLockspace::decode(b) {
            assert_eq!(l.to_bytes(), b[..SanlkLockspace::LEN].to_vec());
        }
        if let Ok(r) = SanlkResource::decode(b) {
            assert_eq!(r.to_bytes(), b[..SanlkResource::LEN].to_vec());
        }
    }

    if data.len() < SmHeader::LEN {
        assert!(SmHeader::decode(data).is_err());
        return;
    }
    let h = SmHeader::decode(data).unwrap();
    assert_eq!(h.to_bytes(), data[..32]);
    let payload = &data[32..];

    let framed = Request::payload_len_to_read(&h);
    if let Ok(n) = framed {
        assert!(n <= 1024 * 1024 - 32);
    }

    // the payload as given, and cut to the framed size
    let mut inputs = vec![payload];
    if let Ok(n) = framed {
        if n < payload.len() {
            inputs.push(&payload[..n]);
        }
    }
    for p in inputs {
        match decode_request(&h, p) {
            Ok(req) => {
                assert!(matches!(h.check(), HeaderVerdict::Accept(c) if c == req.cmd()));
                assert_eq!(framed.as_ref().ok(), Some(&p.len()));
                // every payload byte is kept: re-encoding reproduces them
                let (h2, p2) = req.encode_parts();
                assert_eq!(p2, p, "{} payload re-encoded differently", req.cmd());
                assert_eq!(h2.cmd, h.cmd);
                // and the canonical form frames and decodes to the same request
                let again = req.encode();
                let (req2, used) = decode_request_bytes(&again).unwrap();
                assert_eq!(used, again.len());
                assert_eq!(req2, req);
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                match e {
                    ProtoError::BadMagic { .. }
                    | ProtoError::VersionTooNew { .. }
                    | ProtoError::UnknownCommand { .. }
                    | ProtoError::BadLength { .. } => assert_eq!(e.result_code(), None),
                    _ => assert!(e.result_code().unwrap_or(0) < 0),
                }
            }
        }
    }
});
