//! paxlock-wd's wdmd protocol decoding on arbitrary bytes: a header
//! decodes or is refused without panicking, a decoded header re-encodes to
//! its bytes' meaning, and the stream framer splits any byte stream, fed
//! in any chunking, into whole headers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paxlock_wd::proto::{Framer, Header, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::decode(data) {
        let again = Header::decode(&h.encode()).expect("a decoded header re-decodes");
        assert_eq!(again.encode(), h.encode());
    }
    // the same stream in one piece and in uneven pieces gives the same headers
    let mut one = Framer::default();
    let whole = one.push(data);
    let mut pieces = Framer::default();
    let mut parts = Vec::new();
    let mut rest = data;
    let mut n = 1;
    while !rest.is_empty() {
        let k = n.min(rest.len());
        parts.extend(pieces.push(&rest[..k]));
        rest = &rest[k..];
        n = n * 3 % 257 + 1;
    }
    assert_eq!(whole.len(), parts.len());
    assert_eq!(whole.len(), data.len() / HEADER_LEN);
    assert!(one.pending() < HEADER_LEN);
});
