//! Replies (daemon → client): the generic result header and the commands
//! whose replies carry data (spec 2.2, 3.4).
//!
//! Every reply header starts as a copy of the request header (cmd,
//! cmd_flags and seq echoed) with `version = SM_PROTO`; the functions here
//! then set `length`, `data` (the result) and `data2` the way sanlock 3.8
//! does for that command. Exceptions, all reproduced: VERSION and the
//! deferred SHUTDOWN_WAIT reply build their header from scratch; LOG_DUMP
//! leaves `length` at the request's value and puts the byte count in
//! `data`; STATUS, HOST_STATUS and RENEWAL send `length = 32` and then
//! stream records until the daemon closes the connection.

use crate::flags::{SANLK_STATE_LOCKSPACE, SANLK_STATE_RESOURCE};
use crate::header::{SmHeader, SM_MAGIC, SM_PROTO};
use crate::wire::{
    ResourceArg, SanlkHost, SanlkLockspace, SanlkRentry, SanlkResource, StateRecord,
};
use crate::ProtoError;

/// sanlock 3.8.5's `sanlock_version_combined` (VERSION reply `data2`):
/// `major << 24 | minor << 16 | patch << 8 | build`.
pub const SANLOCK_VERSION_3_8_5: u32 = 0x0308_0500;

/// `major << 24 | minor << 16 | patch << 8` (build 0), as VERSION reports it.
pub fn version_combined(major: u8, minor: u8, patch: u8) -> u32 {
    (u32::from(major) << 24) | (u32::from(minor) << 16) | (u32::from(patch) << 8)
}

/// The request header turned into a reply header: `version = SM_PROTO`,
/// the given `data`/`data2`, `length = 32 + payload_len`.
fn reply_header(req: &SmHeader, result: i32, data2: u32, payload_len: usize) -> SmHeader {
    SmHeader {
        version: SM_PROTO,
        length: (SmHeader::LEN + payload_len) as u32,
        data: result as u32,
        data2,
        ..*req
    }
}

/// The generic result header (`send_result`, spec 2.2): request copied,
/// `version = 1`, `length = 32`, `data = result`, `data2 = 0`.
pub fn result_header(req: &SmHeader, result: i32) -> SmHeader {
    reply_header(req, result, 0, 0)
}

/// The 32 bytes of the generic result reply.
pub fn encode_result(req: &SmHeader, result: i32) -> [u8; 32] {
    result_header(req, result).to_bytes()
}

/// INQUIRE reply: `data` = result, `data2` = number of resources, then the
/// state string and its NUL (`length` counts both). An empty `state` sends
/// no payload (`length = 32`), as sanlock does when the pid holds nothing.
///
/// `state` is the space-separated resource strings without NUL; a NUL
/// inside it is [`ProtoError::TooLong`].
pub fn encode_inquire_reply(
    req: &SmHeader,
    result: i32,
    res_count: u32,
    state: &[u8],
) -> Result<Vec<u8>, ProtoError> {
    if state.contains(&0) || state.len() >= crate::wire::MAX_CLIENT_MSG {
        return Err(ProtoError::TooLong {
            what: "inquire state string",
            len: state.len(),
            max: crate::wire::MAX_CLIENT_MSG - 1,
        });
    }
    let payload_len = if state.is_empty() { 0 } else { state.len() + 1 };
    let mut out = Vec::with_capacity(SmHeader::LEN + payload_len);
    reply_header(req, result, res_count, payload_len).encode(&mut out);
    if !state.is_empty() {
        out.extend_from_slice(state);
        out.push(0);
    }
    Ok(out)
}

/// GET_LOCKSPACES reply: `data` = result (0, or `-ENOSPC` when truncated),
/// `data2` = count, then the lockspaces.
pub fn encode_get_lockspaces_reply(
    req: &SmHeader,
    result: i32,
    lockspaces: &[SanlkLockspace],
) -> Vec<u8> {
    let n = lockspaces.len();
    let mut out = Vec::with_capacity(SmHeader::LEN + n * SanlkLockspace::LEN);
    reply_header(req, result, n as u32, n * SanlkLockspace::LEN).encode(&mut out);
    for ls in lockspaces {
        ls.encode(&mut out);
    }
    out
}

/// GET_HOSTS reply: `data` = result, `data2` = count, then the hosts.
pub fn encode_get_hosts_reply(req: &SmHeader, result: i32, hosts: &[SanlkHost]) -> Vec<u8> {
    let n = hosts.len();
    let mut out = Vec::with_capacity(SmHeader::LEN + n * SanlkHost::LEN);
    reply_header(req, result, n as u32, n * SanlkHost::LEN).encode(&mut out);
    for h in hosts {
        h.encode(&mut out);
    }
    out
}

/// The header that starts a STATUS, HOST_STATUS or RENEWAL reply:
/// `length = 32` whatever follows, `data` = result, `data2` as given
/// (STATUS echoes the request's, RENEWAL sends the io_timeout). Records
/// follow ([`StatusEntry::encode`]); the daemon then closes the connection.
pub fn encode_stream_header(req: &SmHeader, result: i32, data2: u32) -> [u8; 32] {
    reply_header(req, result, data2, 0).to_bytes()
}

/// One record of a STATUS / HOST_STATUS / RENEWAL stream: the state and
/// text, plus the struct that follows LOCKSPACE and RESOURCE records.
// The lockspace variant holds 1 KiB inline; entries are short-lived.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusEntry {
    /// DAEMON, CLIENT, HOST and RENEWAL records: nothing follows the text.
    Plain(StateRecord),
    /// A LOCKSPACE record and its `sanlk_lockspace`.
    Lockspace(StateRecord, SanlkLockspace),
    /// A RESOURCE record and its `sanlk_resource` with disks.
    Resource(StateRecord, ResourceArg),
}

impl StatusEntry {
    /// The record part.
    pub fn record(&self) -> &StateRecord {
        match self {
            StatusEntry::Plain(r) | StatusEntry::Lockspace(r, _) | StatusEntry::Resource(r, _) => r,
        }
    }

    /// Appends the record and its trailing struct. The record's
    /// `state_type` is written as is; the trailer is what this variant holds.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            StatusEntry::Plain(r) => r.encode(out),
            StatusEntry::Lockspace(r, ls) => {
                r.encode(out);
                ls.encode(out);
            }
            StatusEntry::Resource(r, res) => {
                r.encode(out);
                res.encode(out);
            }
        }
    }

    /// Decodes one entry from the start of `b` as the sanlock CLI does: the
    /// record's type decides the trailer (LOCKSPACE: a lockspace;
    /// RESOURCE: a resource and its disks). Returns the entry and its size.
    pub fn decode(b: &[u8]) -> Result<(StatusEntry, usize), ProtoError> {
        let rec = StateRecord::decode(b)?;
        let off = rec.encoded_len();
        let rest = &b[off..];
        Ok(match rec.state.state_type {
            SANLK_STATE_LOCKSPACE => {
                let ls = SanlkLockspace::decode(rest)?;
                (StatusEntry::Lockspace(rec, ls), off + SanlkLockspace::LEN)
            }
            SANLK_STATE_RESOURCE => {
                let res = ResourceArg::decode(rest)?;
                let n = res.encoded_len();
                (StatusEntry::Resource(rec, res), off + n)
            }
            _ => (StatusEntry::Plain(rec), off),
        })
    }
}

/// Decodes a whole STATUS / HOST_STATUS / RENEWAL stream: the 32-byte
/// header, then entries until the end of `b` (the daemon's EOF).
pub fn decode_status_stream(b: &[u8]) -> Result<(SmHeader, Vec<StatusEntry>), ProtoError> {
    let h = SmHeader::decode(b)?;
    let mut off = SmHeader::LEN;
    let mut out = Vec::new();
    while off < b.len() {
        let (e, n) = StatusEntry::decode(&b[off..])?;
        off += n;
        out.push(e);
    }
    Ok((h, out))
}

/// LOG_DUMP reply: the request header with `version = 1` and `data` = the
/// byte count (`length` and `data2` left as received — sanlock does not
/// update them), then the text. The sanlock CLI ignores counts above 1 MiB.
pub fn encode_log_dump_reply(req: &SmHeader, text: &[u8]) -> Vec<u8> {
    let h = SmHeader {
        version: SM_PROTO,
        data: text.len() as u32,
        ..*req
    };
    let mut out = Vec::with_capacity(SmHeader::LEN + text.len());
    h.encode(&mut out);
    out.extend_from_slice(text);
    out
}

/// VERSION reply, built from scratch as sanlock does: magic, `SM_PROTO`,
/// cmd 28, cmd_flags 0, length 32, seq 0, data 0, `data2` = the daemon
/// version ([`SANLOCK_VERSION_3_8_5`] to pass for sanlock 3.8.5).
pub fn encode_version_reply(daemon_version: u32) -> [u8; 32] {
    SmHeader {
        magic: SM_MAGIC,
        version: SM_PROTO,
        cmd: crate::cmd::Cmd::Version.number(),
        cmd_flags: 0,
        length: SmHeader::LEN as u32,
        seq: 0,
        data: 0,
        data2: daemon_version,
    }
    .to_bytes()
}

/// The deferred SHUTDOWN_WAIT reply sent when the daemon is about to exit:
/// a zeroed header with magic, `SM_PROTO` and length 32 (so `cmd` is 0 and
/// the result 0). An immediate `-EBUSY` uses [`encode_result`] instead.
pub fn encode_shutdown_wait_exit_reply() -> [u8; 32] {
    SmHeader {
        magic: SM_MAGIC,
        version: SM_PROTO,
        length: SmHeader::LEN as u32,
        ..SmHeader::default()
    }
    .to_bytes()
}

/// READ_LOCKSPACE reply: `data` = result, `data2` = io_timeout, then the
/// lockspace — always, even on error.
pub fn encode_read_lockspace_reply(
    req: &SmHeader,
    result: i32,
    io_timeout: u32,
    lockspace: &SanlkLockspace,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(SmHeader::LEN + SanlkLockspace::LEN);
    reply_header(req, result, io_timeout, SanlkLockspace::LEN).encode(&mut out);
    lockspace.encode(&mut out);
    out
}

/// READ_RESOURCE reply: `data` = result, `data2` = 0, then the 128-byte
/// resource — always: libsanlock reads it even on error.
pub fn encode_read_resource_reply(req: &SmHeader, result: i32, res: &SanlkResource) -> Vec<u8> {
    let mut out = Vec::with_capacity(SmHeader::LEN + SanlkResource::LEN);
    reply_header(req, result, 0, SanlkResource::LEN).encode(&mut out);
    res.encode(&mut out);
    out
}

/// READ_RESOURCE_OWNERS reply: `data` = result, `data2` = owner count,
/// then the 128-byte resource and the owners.
pub fn encode_read_resource_owners_reply(
    req: &SmHeader,
    result: i32,
    res: &SanlkResource,
    owners: &[SanlkHost],
) -> Vec<u8> {
    let payload = SanlkResource::LEN + owners.len() * SanlkHost::LEN;
    let mut out = Vec::with_capacity(SmHeader::LEN + payload);
    reply_header(req, result, owners.len() as u32, payload).encode(&mut out);
    res.encode(&mut out);
    for o in owners {
        o.encode(&mut out);
    }
    out
}

/// UPDATE_RINDEX / LOOKUP_RINDEX / CREATE_RESOURCE / DELETE_RESOURCE
/// reply: `data` = result, `data2` = 0, then the entry — always (zeroed on
/// error). FORMAT_RINDEX and REBUILD_RINDEX use [`encode_result`].
pub fn encode_rindex_reply(req: &SmHeader, result: i32, rentry: &SanlkRentry) -> Vec<u8> {
    let mut out = Vec::with_capacity(SmHeader::LEN + SanlkRentry::LEN);
    reply_header(req, result, 0, SanlkRentry::LEN).encode(&mut out);
    rentry.encode(&mut out);
    out
}

/// GET_LVB reply: `data` = result, `data2` = 0, `length` = 32 + n, then the
/// n value bytes (sanlock sends a whole sector: 512 or 4096).
pub fn encode_get_lvb_reply(req: &SmHeader, result: i32, lvb: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SmHeader::LEN + lvb.len());
    reply_header(req, result, 0, lvb.len()).encode(&mut out);
    out.extend_from_slice(lvb);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::Cmd;
    use crate::flags::*;
    use crate::wire::{Encode, SanlkDisk, SanlkState};
    use paxlock_format::Name;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    #[test]
    fn generic_result_matches_the_captured_reply() {
        // spec 2.2: reply to ADD_LOCKSPACE, success
        let req = SmHeader::request(Cmd::AddLockspace, 0, 1136, 0, 0);
        assert_eq!(
            encode_result(&req, 0).to_vec(),
            hex("10 20 28 04 01 00 00 00 02 00 00 00 00 00 00 00 20 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")
        );
        // the request's data2 (target pid) is not echoed
        let req = SmHeader::request(Cmd::Acquire, 0, 1256, 1, 6393);
        let h = result_header(&req, -17);
        assert_eq!((h.data, h.data2, h.length), (0xffff_ffef, 0, 32));
    }

    #[test]
    fn version_reply_matches_the_capture() {
        // spec 9.3 VERSION
        assert_eq!(
            encode_version_reply(SANLOCK_VERSION_3_8_5).to_vec(),
            hex("10 20 28 04 01 00 00 00 1c 00 00 00 00 00 00 00 20 00 00 00 00 00 00 00 00 00 00 00 00 05 08 03")
        );
        assert_eq!(version_combined(3, 8, 5), SANLOCK_VERSION_3_8_5);
    }

    #[test]
    fn inquire_replies() {
        // spec 9.3: one lease, length 66, data2 1
        let req = SmHeader::request(Cmd::Inquire, 0, 32, 0, 6393);
        let out = encode_inquire_reply(&req, 0, 1, b"LS:R1:/tmp/proto-data/res.img:0:1").unwrap();
        assert_eq!(
            out[..32].to_vec(),
            hex("10 20 28 04 01 00 00 00 09 00 00 00 00 00 00 00 42 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00")
        );
        assert_eq!(&out[32..], b"LS:R1:/tmp/proto-data/res.img:0:1\0");
        // no leases: bare header
        let out = encode_inquire_reply(&req, 0, 0, b"").unwrap();
        assert_eq!(out.len(), 32);
        assert_eq!(SmHeader::decode(&out).unwrap().data2, 0);
        // unknown pid
        let out = encode_inquire_reply(&req, -3, 0, b"").unwrap();
        assert_eq!(SmHeader::decode(&out).unwrap().result(), -3);
        assert!(encode_inquire_reply(&req, 0, 1, b"a\0b").is_err());
    }

    #[test]
    fn log_dump_keeps_the_request_length() {
        let req = SmHeader::request(Cmd::LogDump, 0, 32, 0, 0);
        let out = encode_log_dump_reply(&req, b"hello\n");
        let h = SmHeader::decode(&out).unwrap();
        assert_eq!((h.length, h.data), (32, 6));
        assert_eq!(&out[32..], b"hello\n");
    }

    #[test]
    fn structured_replies() {
        let req = SmHeader::request(Cmd::GetHosts, 0, 1136, 0, 0);
        let hosts = [
            SanlkHost {
                host_id: 1,
                generation: 1,
                timestamp: 0x1e7,
                io_timeout: 10,
                flags: SANLK_HOST_LIVE,
            },
            SanlkHost {
                host_id: 2,
                generation: 1,
                timestamp: 0x1d1,
                io_timeout: 10,
                flags: SANLK_HOST_LIVE,
            },
        ];
        let out = encode_get_hosts_reply(&req, 0, &hosts);
        let h = SmHeader::decode(&out).unwrap();
        assert_eq!((h.length, h.data, h.data2), (96, 0, 2));
        assert_eq!(SanlkHost::decode(&out[64..]).unwrap(), hosts[1]);

        let req = SmHeader::request(Cmd::GetLockspaces, 0, 32, 0, 0);
        let ls = SanlkLockspace::named(Name::new("LS").unwrap());
        let out = encode_get_lockspaces_reply(&req, 0, std::slice::from_ref(&ls));
        let h = SmHeader::decode(&out).unwrap();
        assert_eq!((h.length, h.data2), (1136, 1));

        let req = SmHeader::request(Cmd::ReadLockspace, 0, 1136, 0, 0);
        let out = encode_read_lockspace_reply(&req, 0, 10, &ls);
        let h = SmHeader::decode(&out).unwrap();
        assert_eq!((h.length, h.data2), (1136, 10));

        let req = SmHeader::request(Cmd::ReadResource, 0, 1200, 0, 0);
        let res = SanlkResource {
            flags: SANLK_RES_ALIGN1M | SANLK_RES_SECTOR512,
            num_disks: 1,
            lver: 2,
            ..SanlkResource::default()
        };
        let out = encode_read_resource_reply(&req, 0, &res);
        assert_eq!(SmHeader::decode(&out).unwrap().length, 160);
        let out = encode_read_resource_owners_reply(&req, 0, &res, &hosts[..1]);
        let h = SmHeader::decode(&out).unwrap();
        assert_eq!((h.length, h.data2), (192, 1));

        let req = SmHeader::request(Cmd::LookupRindex, 0, 1264, 0, 0);
        let out = encode_rindex_reply(&req, -2, &SanlkRentry::default());
        let h = SmHeader::decode(&out).unwrap();
        assert_eq!((h.length, h.result()), (96, -2));

        let req = SmHeader::request(Cmd::GetLvb, 0, 160, 0, 0);
        let out = encode_get_lvb_reply(&req, 0, &[0u8; 512]);
        assert_eq!(SmHeader::decode(&out).unwrap().length, 544);

        let out = encode_shutdown_wait_exit_reply();
        let h = SmHeader::decode(&out).unwrap();
        assert_eq!((h.cmd, h.length, h.data), (0, 32, 0));
    }

    #[test]
    fn status_stream_round_trip() {
        let req = SmHeader::request(Cmd::Status, 0, 32, 0, 0);
        let mut out = encode_stream_header(&req, 0, 0).to_vec();
        let daemon = StatusEntry::Plain(
            StateRecord::new(
                SanlkState {
                    state_type: SANLK_STATE_DAEMON,
                    name: Name::new("host.example").unwrap(),
                    ..SanlkState::default()
                },
                "our_host_name=host.example version_str=3.8.5",
            )
            .unwrap(),
        );
        let ls = StatusEntry::Lockspace(
            StateRecord::new(
                SanlkState {
                    state_type: SANLK_STATE_LOCKSPACE,
                    data64: 1,
                    name: Name::new("LS").unwrap(),
                    ..SanlkState::default()
                },
                "list=spaces space_id=1",
            )
            .unwrap(),
            SanlkLockspace::named(Name::new("LS").unwrap()),
        );
        let res = StatusEntry::Resource(
            StateRecord::new(
                SanlkState {
                    state_type: SANLK_STATE_RESOURCE,
                    data32: 6393,
                    data64: 1,
                    name: Name::new("R1").unwrap(),
                    ..SanlkState::default()
                },
                "list=held flags=0",
            )
            .unwrap(),
            ResourceArg::new(
                SanlkResource::default(),
                vec![SanlkDisk::new(b"/res", 0).unwrap()],
            ),
        );
        for e in [&daemon, &ls, &res] {
            e.encode(&mut out);
        }
        let (h, entries) = decode_status_stream(&out).unwrap();
        assert_eq!(h.length, 32);
        assert_eq!(entries, vec![daemon.clone(), ls, res]);
        assert_eq!(
            entries[0].record().text_str(),
            b"our_host_name=host.example version_str=3.8.5"
        );
        // a truncated stream is an error, not a panic
        assert!(decode_status_stream(&out[..out.len() - 1]).is_err());
        let _ = daemon.record().state.to_bytes();
    }
}
