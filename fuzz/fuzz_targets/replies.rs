//! The client side: paxlock-proto's reply decoders (used by `paxlock
//! client`) on arbitrary bytes, as a daemon (or anything on the socket)
//! might send them. The first 32 bytes are the reply header; decoding
//! never panics and never trusts a count or a length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paxlock_proto::client::{
    HostsReply, InquireReply, LockspacesReply, ReadLockspaceReply, ReadResourceReply, RentryReply,
};
use paxlock_proto::SmHeader;

fuzz_target!(|data: &[u8]| {
    let Ok(h) = SmHeader::decode(data) else {
        return;
    };
    let payload = &data[SmHeader::LEN..];
    let _ = InquireReply::decode(&h, payload);
    let _ = LockspacesReply::decode(&h, payload);
    let _ = HostsReply::decode(&h, payload);
    let _ = ReadLockspaceReply::decode(&h, payload);
    let _ = ReadResourceReply::decode(&h, payload);
    let _ = ReadResourceReply::decode_owners(&h, payload);
    let _ = RentryReply::decode(&h, payload);
});
