//! Property tests: every struct and every request round-trips, and no
//! decoder panics or over-reads on arbitrary bytes.

use paxlock_format::name::NAME_LEN;
use paxlock_format::Name;
use paxlock_proto::reply::{decode_status_stream, StatusEntry};
use paxlock_proto::request::decode_request_bytes;
use paxlock_proto::{
    decode_request, Cmd, DiskPath, Encode, EventCb, HeaderVerdict, HelperString, Killpath,
    ProtoError, Request, ResourceArg, SanlkDisk, SanlkHost, SanlkHostEvent, SanlkLockspace,
    SanlkOptions, SanlkRentry, SanlkResource, SanlkRindex, SanlkState, SmHeader, StateRecord,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// strategies

fn arb_name() -> impl Strategy<Value = Name> {
    prop_oneof![
        // typical: short text, NUL padded
        "[A-Za-z0-9_.-]{0,48}".prop_map(|s| Name::new(&s).unwrap()),
        // anything, including garbage after a NUL and no NUL at all
        prop::collection::vec(any::<u8>(), NAME_LEN).prop_map(|v| {
            let mut raw = [0u8; NAME_LEN];
            raw.copy_from_slice(&v);
            Name::from_raw(raw)
        }),
    ]
}

/// A C string field of N bytes: a string, its NUL, and maybe garbage after.
fn arb_cstr<const N: usize>() -> impl Strategy<Value = paxlock_proto::CStrBuf<N>> {
    (
        prop::collection::vec(1u8..=255, 0..N.min(64)),
        prop::collection::vec(any::<u8>(), 0..8),
        any::<bool>(),
    )
        .prop_map(|(s, tail, full)| {
            let mut raw = [0u8; N];
            if full {
                // longest string: N-1 bytes then the NUL
                raw[..N - 1].fill(b'p');
            } else {
                raw[..s.len()].copy_from_slice(&s);
                let t0 = s.len() + 1;
                let n = tail.len().min(N - t0);
                raw[t0..t0 + n].copy_from_slice(&tail[..n]);
            }
            paxlock_proto::CStrBuf::from_raw(raw, "test").unwrap()
        })
}

fn arb_disk() -> impl Strategy<Value = SanlkDisk> {
    (arb_cstr::<1024>(), any::<u64>(), any::<u32>(), any::<u32>()).prop_map(
        |(path, offset, pad1, pad2)| SanlkDisk {
            path,
            offset,
            pad1,
            pad2,
        },
    )
}

fn arb_resource() -> impl Strategy<Value = SanlkResource> {
    (
        arb_name(),
        arb_name(),
        any::<u64>(),
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(lockspace_name, name, lver, data64, data32, unused, flags, num_disks)| {
                SanlkResource {
                    lockspace_name,
                    name,
                    lver,
                    data64,
                    data32,
                    unused,
                    flags,
                    num_disks,
                }
            },
        )
}

fn arb_resource_arg() -> impl Strategy<Value = ResourceArg> {
    (arb_resource(), prop::collection::vec(arb_disk(), 1..=4))
        .prop_map(|(res, disks)| ResourceArg::new(res, disks))
}

fn arb_lockspace() -> impl Strategy<Value = SanlkLockspace> {
    (
        arb_name(),
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        arb_disk(),
    )
        .prop_map(|(name, host_id, flags, pad, host_id_disk)| SanlkLockspace {
            name,
            host_id,
            flags,
            pad,
            host_id_disk,
        })
}

fn arb_options() -> impl Strategy<Value = SanlkOptions> {
    (arb_name(), any::<u32>(), any::<u32>()).prop_map(|(owner_name, flags, len)| SanlkOptions {
        owner_name,
        flags,
        len,
    })
}

fn arb_host() -> impl Strategy<Value = SanlkHost> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(host_id, generation, timestamp, io_timeout, flags)| SanlkHost {
                host_id,
                generation,
                timestamp,
                io_timeout,
                flags,
            },
        )
}

fn arb_event() -> impl Strategy<Value = SanlkHostEvent> {
    (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
        |(host_id, generation, event, data)| SanlkHostEvent {
            host_id,
            generation,
            event,
            data,
        },
    )
}

fn arb_header() -> impl Strategy<Value = SmHeader> {
    any::<[u32; 8]>().prop_map(|f| SmHeader {
        magic: f[0],
        version: f[1],
        cmd: f[2],
        cmd_flags: f[3],
        length: f[4],
        seq: f[5],
        data: f[6],
        data2: f[7],
    })
}

fn arb_state() -> impl Strategy<Value = SanlkState> {
    (
        any::<[u32; 4]>(),
        any::<u64>(),
        arb_name(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(a, data64, name, str_len, pad2)| SanlkState {
            state_type: a[0],
            flags: a[1],
            data32: a[2],
            pad1: a[3],
            data64,
            name,
            str_len,
            pad2,
        })
}

fn arb_rindex() -> impl Strategy<Value = SanlkRindex> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        arb_name(),
        arb_disk(),
    )
        .prop_map(
            |(flags, max_resources, unused, lockspace_name, disk)| SanlkRindex {
                flags,
                max_resources,
                unused,
                lockspace_name,
                disk,
            },
        )
}

fn arb_rentry() -> impl Strategy<Value = SanlkRentry> {
    (arb_name(), any::<u64>(), any::<u32>(), any::<u32>()).prop_map(
        |(name, offset, flags, unused)| SanlkRentry {
            name,
            offset,
            flags,
            unused,
        },
    )
}

fn arb_killpath() -> impl Strategy<Value = Killpath> {
    (arb_cstr::<128>(), arb_cstr::<128>()).prop_map(|(path, args)| Killpath { path, args })
}

/// -1 means "self" on the wire, so `Some(-1)` is not a distinct value.
fn arb_target() -> impl Strategy<Value = Option<i32>> {
    prop_oneof![
        Just(None),
        any::<i32>()
            .prop_filter("-1 is self", |p| *p != -1)
            .prop_map(Some),
    ]
}

fn arb_request() -> BoxedStrategy<Request> {
    (0..Cmd::ALL.len())
        .prop_flat_map(|i| arb_request_for(Cmd::ALL[i]))
        .boxed()
}

fn arb_request_for(cmd: Cmd) -> BoxedStrategy<Request> {
    use Request as R;
    let f = any::<u32>();
    match cmd {
        Cmd::Register => Just(R::Register).boxed(),
        Cmd::AddLockspace => (f, any::<u32>(), arb_lockspace())
            .prop_map(|(flags, io_timeout, lockspace)| R::AddLockspace {
                flags,
                io_timeout,
                lockspace,
            })
            .boxed(),
        Cmd::RemLockspace => (f, arb_lockspace())
            .prop_map(|(flags, lockspace)| R::RemLockspace { flags, lockspace })
            .boxed(),
        Cmd::Shutdown => any::<u32>().prop_map(|force| R::Shutdown { force }).boxed(),
        Cmd::Status => any::<u32>().prop_map(|level| R::Status { level }).boxed(),
        Cmd::LogDump => Just(R::LogDump).boxed(),
        Cmd::Acquire => (
            f,
            arb_target(),
            prop::collection::vec(arb_resource_arg(), 0..=8),
            arb_options(),
        )
            .prop_map(|(flags, target_pid, resources, options)| R::Acquire {
                flags,
                target_pid,
                resources,
                options,
            })
            .boxed(),
        Cmd::Release => (
            f,
            arb_target(),
            prop::collection::vec(arb_resource(), 0..=8),
        )
            .prop_map(|(flags, target_pid, resources)| R::Release {
                flags,
                target_pid,
                resources,
            })
            .boxed(),
        Cmd::Inquire => (f, arb_target())
            .prop_map(|(flags, target_pid)| R::Inquire { flags, target_pid })
            .boxed(),
        Cmd::Restrict => f.prop_map(|flags| R::Restrict { flags }).boxed(),
        Cmd::Request => (f, any::<u32>(), arb_resource_arg())
            .prop_map(|(flags, force_mode, resource)| R::Request {
                flags,
                force_mode,
                resource,
            })
            .boxed(),
        Cmd::Align => arb_disk().prop_map(|disk| R::Align { disk }).boxed(),
        Cmd::ExamineLockspace => (f, arb_lockspace())
            .prop_map(|(flags, lockspace)| R::ExamineLockspace { flags, lockspace })
            .boxed(),
        Cmd::ExamineResource => (f, arb_resource())
            .prop_map(|(flags, resource)| R::ExamineResource { flags, resource })
            .boxed(),
        Cmd::HostStatus => arb_lockspace()
            .prop_map(|lockspace| R::HostStatus { lockspace })
            .boxed(),
        Cmd::InqLockspace => (f, arb_lockspace())
            .prop_map(|(flags, lockspace)| R::InqLockspace { flags, lockspace })
            .boxed(),
        Cmd::Killpath => (f, arb_killpath())
            .prop_map(|(flags, killpath)| R::Killpath { flags, killpath })
            .boxed(),
        Cmd::WriteLockspace => (f, any::<u32>(), any::<u32>(), arb_lockspace())
            .prop_map(
                |(flags, max_hosts, io_timeout, lockspace)| R::WriteLockspace {
                    flags,
                    max_hosts,
                    io_timeout,
                    lockspace,
                },
            )
            .boxed(),
        Cmd::WriteResource => (f, any::<u32>(), any::<u32>(), arb_resource_arg())
            .prop_map(|(flags, max_hosts, num_hosts, resource)| R::WriteResource {
                flags,
                max_hosts,
                num_hosts,
                resource,
            })
            .boxed(),
        Cmd::ReadLockspace => (f, arb_lockspace())
            .prop_map(|(flags, lockspace)| R::ReadLockspace { flags, lockspace })
            .boxed(),
        Cmd::ReadResource => (f, arb_resource_arg())
            .prop_map(|(flags, resource)| R::ReadResource { flags, resource })
            .boxed(),
        Cmd::GetLockspaces => f.prop_map(|flags| R::GetLockspaces { flags }).boxed(),
        Cmd::GetHosts => (f, arb_lockspace())
            .prop_map(|(flags, lockspace)| R::GetHosts { flags, lockspace })
            .boxed(),
        Cmd::ReadResourceOwners => (f, arb_resource_arg())
            .prop_map(|(flags, resource)| R::ReadResourceOwners { flags, resource })
            .boxed(),
        Cmd::SetLvb => (
            f,
            arb_resource(),
            prop::collection::vec(any::<u8>(), 0..=4096),
        )
            .prop_map(|(flags, resource, lvb)| R::SetLvb {
                flags,
                resource,
                lvb,
            })
            .boxed(),
        Cmd::GetLvb => (f, any::<u32>(), arb_resource())
            .prop_map(|(flags, lvb_len, resource)| R::GetLvb {
                flags,
                lvb_len,
                resource,
            })
            .boxed(),
        Cmd::Convert => (f, arb_target(), arb_resource())
            .prop_map(|(flags, target_pid, resource)| R::Convert {
                flags,
                target_pid,
                resource,
            })
            .boxed(),
        Cmd::Version => f.prop_map(|flags| R::Version { flags }).boxed(),
        Cmd::ShutdownWait => any::<u32>()
            .prop_map(|force| R::ShutdownWait { force })
            .boxed(),
        Cmd::RegEvent => (f, arb_lockspace(), arb_event())
            .prop_map(|(flags, lockspace, event)| R::RegEvent {
                flags,
                lockspace,
                event,
            })
            .boxed(),
        Cmd::EndEvent => (f, arb_lockspace())
            .prop_map(|(flags, lockspace)| R::EndEvent { flags, lockspace })
            .boxed(),
        Cmd::SetEvent => (f, arb_lockspace(), arb_event())
            .prop_map(|(flags, lockspace, event)| R::SetEvent {
                flags,
                lockspace,
                event,
            })
            .boxed(),
        Cmd::SetConfig => (f, any::<u32>(), arb_lockspace())
            .prop_map(|(flags, config_cmd, lockspace)| R::SetConfig {
                flags,
                config_cmd,
                lockspace,
            })
            .boxed(),
        Cmd::Renewal => arb_lockspace()
            .prop_map(|lockspace| R::Renewal { lockspace })
            .boxed(),
        Cmd::FormatRindex => (f, arb_rindex())
            .prop_map(|(flags, rindex)| R::FormatRindex { flags, rindex })
            .boxed(),
        Cmd::UpdateRindex => (f, arb_rindex(), arb_rentry())
            .prop_map(|(flags, rindex, rentry)| R::UpdateRindex {
                flags,
                rindex,
                rentry,
            })
            .boxed(),
        Cmd::LookupRindex => (f, arb_rindex(), arb_rentry())
            .prop_map(|(flags, rindex, rentry)| R::LookupRindex {
                flags,
                rindex,
                rentry,
            })
            .boxed(),
        Cmd::CreateResource => (f, any::<u32>(), any::<u32>(), arb_rindex(), arb_rentry())
            .prop_map(
                |(flags, max_hosts, num_hosts, rindex, rentry)| R::CreateResource {
                    flags,
                    max_hosts,
                    num_hosts,
                    rindex,
                    rentry,
                },
            )
            .boxed(),
        Cmd::DeleteResource => (f, arb_rindex(), arb_rentry())
            .prop_map(|(flags, rindex, rentry)| R::DeleteResource {
                flags,
                rindex,
                rentry,
            })
            .boxed(),
        Cmd::RebuildRindex => (f, arb_rindex())
            .prop_map(|(flags, rindex)| R::RebuildRindex { flags, rindex })
            .boxed(),
    }
}

/// Round trip of a fixed-size struct: exact length, decode inverts encode.
fn check_fixed<T: Encode + PartialEq + std::fmt::Debug>(
    v: &T,
    len: usize,
    decode: impl Fn(&[u8]) -> Result<T, ProtoError>,
) {
    let b = v.to_bytes();
    assert_eq!(b.len(), len);
    assert_eq!(&decode(&b).unwrap(), v);
    // a longer buffer decodes the prefix; a shorter one is an error
    let mut longer = b.clone();
    longer.extend_from_slice(&[0xAA; 7]);
    assert_eq!(&decode(&longer).unwrap(), v);
    assert!(decode(&b[..len - 1]).is_err());
}

/// Decoding arbitrary bytes: never panics; success re-encodes the prefix.
fn check_bytes<T: Encode>(b: &[u8], len: usize, decode: impl Fn(&[u8]) -> Result<T, ProtoError>) {
    match decode(b) {
        Ok(v) => assert_eq!(v.to_bytes(), b[..len].to_vec()),
        Err(e) => {
            assert!(!e.to_string().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn header_round_trip(h in arb_header()) {
        let b = h.to_bytes();
        prop_assert_eq!(SmHeader::decode(&b).unwrap(), h);
        prop_assert_eq!(SmHeader::from_bytes(&b), h);
        // the verdict follows spec 2.1
        let v = h.check();
        if h.magic != 0x0428_2010 {
            prop_assert_eq!(v, HeaderVerdict::BadMagic(h.magic));
        } else if h.version != 0 && h.cmd != 28 && (h.version >> 16) > 0 {
            prop_assert_eq!(v, HeaderVerdict::VersionTooNew(h.version));
        } else if (1..=40).contains(&h.cmd) {
            prop_assert_eq!(v, HeaderVerdict::Accept(Cmd::try_from(h.cmd).unwrap()));
        } else {
            prop_assert_eq!(v, HeaderVerdict::UnknownCommand(h.cmd));
        }
    }

    #[test]
    fn disk_round_trip(d in arb_disk()) { check_fixed(&d, 1040, SanlkDisk::decode); }

    #[test]
    fn resource_round_trip(r in arb_resource()) { check_fixed(&r, 128, SanlkResource::decode); }

    #[test]
    fn resource_arg_round_trip(r in arb_resource_arg()) {
        let b = r.to_bytes();
        prop_assert_eq!(b.len(), 128 + 1040 * r.disks.len());
        prop_assert_eq!(r.encoded_len(), b.len());
        prop_assert_eq!(ResourceArg::decode(&b).unwrap(), r);
        prop_assert!(ResourceArg::decode(&b[..b.len() - 1]).is_err());
    }

    #[test]
    fn lockspace_round_trip(l in arb_lockspace()) { check_fixed(&l, 1104, SanlkLockspace::decode); }

    #[test]
    fn options_round_trip(o in arb_options()) { check_fixed(&o, 56, SanlkOptions::decode); }

    #[test]
    fn host_round_trip(h in arb_host()) { check_fixed(&h, 32, SanlkHost::decode); }

    #[test]
    fn host_event_round_trip(e in arb_event()) { check_fixed(&e, 32, SanlkHostEvent::decode); }

    #[test]
    fn state_round_trip(s in arb_state()) { check_fixed(&s, 80, SanlkState::decode); }

    #[test]
    fn state_record_round_trip(s in arb_state(), text in "[ -~]{0,200}") {
        let rec = StateRecord::new(s, &text).unwrap();
        prop_assert_eq!(rec.text_str(), text.as_bytes());
        let b = rec.to_bytes();
        prop_assert_eq!(b.len(), rec.encoded_len());
        prop_assert_eq!(StateRecord::decode(&b).unwrap(), rec);
    }

    #[test]
    fn rindex_round_trip(r in arb_rindex()) { check_fixed(&r, 1104, SanlkRindex::decode); }

    #[test]
    fn rentry_round_trip(r in arb_rentry()) { check_fixed(&r, 64, SanlkRentry::decode); }

    #[test]
    fn event_cb_round_trip(h in arb_header(), e in arb_event(), a in any::<u64>(), g in any::<u64>()) {
        let cb = EventCb { header: h, event: e, from_host_id: a, from_generation: g };
        check_fixed(&cb, 80, EventCb::decode);
    }

    #[test]
    fn killpath_round_trip(k in arb_killpath()) { check_fixed(&k, 256, Killpath::decode); }

    #[test]
    fn structs_decode_arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..1300)) {
        check_bytes(&b, 32, SmHeader::decode);
        check_bytes(&b, 1040, SanlkDisk::decode);
        check_bytes(&b, 128, SanlkResource::decode);
        check_bytes(&b, 1104, SanlkLockspace::decode);
        check_bytes(&b, 56, SanlkOptions::decode);
        check_bytes(&b, 32, SanlkHost::decode);
        check_bytes(&b, 32, SanlkHostEvent::decode);
        check_bytes(&b, 80, SanlkState::decode);
        check_bytes(&b, 1104, SanlkRindex::decode);
        check_bytes(&b, 64, SanlkRentry::decode);
        check_bytes(&b, 80, EventCb::decode);
        check_bytes(&b, 256, Killpath::decode);
        if let Ok(r) = ResourceArg::decode(&b) {
            prop_assert_eq!(r.to_bytes(), b[..r.encoded_len()].to_vec());
        }
        if let Ok(r) = StateRecord::decode(&b) {
            prop_assert_eq!(r.to_bytes(), b[..r.encoded_len()].to_vec());
        }
        let _ = StatusEntry::decode(&b);
        let _ = decode_status_stream(&b);
    }

    /// Every request survives encode → frame → decode, and the framing rule
    /// reads exactly the bytes the encoder (libsanlock's behaviour) sends.
    #[test]
    fn request_round_trip(req in arb_request()) {
        let bytes = req.encode();
        let h = SmHeader::decode(&bytes).unwrap();
        prop_assert_eq!(h.check(), HeaderVerdict::Accept(req.cmd()));
        prop_assert_eq!(32 + Request::payload_len_to_read(&h).unwrap(), bytes.len());
        let (back, used) = decode_request_bytes(&bytes).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(&back, &req);
        prop_assert_eq!(back.encode(), bytes);
    }

    /// Any single corrupted byte in a valid request either fails to decode
    /// or decodes to a request that re-encodes consistently; nothing panics.
    #[test]
    fn corrupted_requests_never_panic(req in arb_request(), pos in any::<prop::sample::Index>(), val in any::<u8>()) {
        let mut bytes = req.encode();
        let i = pos.index(bytes.len());
        bytes[i] = val;
        if let Ok((r, used)) = decode_request_bytes(&bytes) {
            let again = r.encode();
            let (r2, used2) = decode_request_bytes(&again).unwrap();
            prop_assert_eq!(r2, r);
            prop_assert_eq!(used2, again.len());
            prop_assert!(used <= bytes.len());
        }
    }

    /// Arbitrary header + payload: never panics; success implies the
    /// payload has exactly the framed size and the request is stable under
    /// re-encoding.
    #[test]
    fn decoder_never_panics(h in arb_header(), cmd in 0u32..44, magic_ok in any::<bool>(),
                            payload in prop::collection::vec(any::<u8>(), 0..3000)) {
        let mut h = h;
        h.cmd = cmd;
        if magic_ok { h.magic = 0x0428_2010; h.version = 1; }
        match decode_request(&h, &payload) {
            Ok(r) => {
                prop_assert_eq!(Request::payload_len_to_read(&h).unwrap(), payload.len());
                prop_assert_eq!(r.cmd().number(), cmd);
                let (r2, _) = decode_request_bytes(&r.encode()).unwrap();
                prop_assert_eq!(r2, r);
            }
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                let _ = e.result_code();
            }
        }
        // with the payload cut to the framed size, too
        if let Ok(n) = Request::payload_len_to_read(&h) {
            if n <= payload.len() {
                let _ = decode_request(&h, &payload[..n]);
            }
        }
    }

    /// The framing rule never asks for more than 1 MiB, whatever the header.
    #[test]
    fn framing_is_bounded(h in arb_header()) {
        if let Ok(n) = Request::payload_len_to_read(&h) {
            prop_assert!(n <= 1024 * 1024 - 32);
        }
    }
}

#[test]
fn names_of_48_bytes_round_trip_without_nul() {
    let full = Name::new(&"n".repeat(48)).unwrap();
    let r = Request::Release {
        flags: 0,
        target_pid: None,
        resources: vec![SanlkResource {
            lockspace_name: full,
            name: full,
            ..SanlkResource::default()
        }],
    };
    let (back, _) = decode_request_bytes(&r.encode()).unwrap();
    assert_eq!(back, r);
    let _ = DiskPath::default();
    let _ = HelperString::default();
}
