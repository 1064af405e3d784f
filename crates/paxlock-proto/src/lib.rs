//! sanlock's client protocol on the wire: pure, without I/O.
//!
//! sanlock's clients (the `sanlock` CLI, libsanlock, python3-sanlock,
//! libvirt) talk to the daemon over a local Unix stream socket,
//! `$SANLOCK_RUN_DIR/sanlock.sock`. Every message is a 32-byte
//! [`SmHeader`] followed by fixed-layout C structs in host byte order. This
//! crate describes all of it byte for byte for sanlock 3.8 on LP64
//! little-endian hosts, so that paxlock's daemon can stand in for
//! sanlock's unchanged clients:
//!
//! * [`SmHeader`] with sanlock's acceptance checks ([`SmHeader::check`]);
//! * every wire struct ([`wire`]) with its C size and offsets;
//! * [`Cmd`], the flag constants ([`flags`]) and the result codes
//!   ([`SanlkRv`], [`rv::errno`], [`sanlock_strerror`]);
//! * framing ([`Request::payload_len_to_read`]) and a typed, never-panicking
//!   request decoder ([`decode_request`]) that knows libsanlock's quirks
//!   (headers that under- or over-state their payload, resources sent
//!   without their disks, REGISTER without payload or reply);
//! * request encoders ([`Request::encode`]) and reply encoders ([`reply`]).
//!
//! Layouts come from `shared/spec/sanlock-protocol.md` and are checked
//! against request bytes captured from the real 3.8.5 clients
//! (`testdata/requests/`, made by `testdata/capture.py`).
//!
//! ```
//! use paxlock_format::Name;
//! use paxlock_proto::{decode_request, reply, Request, ResourceArg, SanlkDisk,
//!                     SanlkOptions, SanlkResource, SmHeader, HeaderVerdict, Cmd};
//!
//! // What `sanlock client acquire -r LS:R1:/dev/leases:1048576 -p 4242` sends.
//! let req = Request::Acquire {
//!     flags: 0,
//!     target_pid: Some(4242),
//!     resources: vec![ResourceArg::new(
//!         SanlkResource {
//!             lockspace_name: Name::new("LS").unwrap(),
//!             name: Name::new("R1").unwrap(),
//!             ..SanlkResource::default()
//!         },
//!         vec![SanlkDisk::new(b"/dev/leases", 1048576).unwrap()],
//!     )],
//!     options: SanlkOptions::default(),
//! };
//! let bytes = req.encode();
//! assert_eq!(bytes.len(), 32 + 128 + 1040 + 56);
//!
//! // The daemon side: header, then exactly the payload the command needs.
//! let header = SmHeader::decode(&bytes[..32]).unwrap();
//! assert_eq!(header.check(), HeaderVerdict::Accept(Cmd::Acquire));
//! let n = Request::payload_len_to_read(&header).unwrap();
//! let decoded = decode_request(&header, &bytes[32..32 + n]).unwrap();
//! assert_eq!(decoded, req);
//!
//! // Answer "already held" (-EEXIST), as sanlock would.
//! let answer = reply::encode_result(&header, -17);
//! assert_eq!(SmHeader::decode(&answer).unwrap().result(), -17);
//! ```

pub mod client;
pub mod cmd;
pub mod cstr;
pub mod error;
pub mod flags;
pub mod header;
pub mod reply;
pub mod request;
pub mod rv;
pub mod wire;

pub use cmd::Cmd;
pub use cstr::{CStrBuf, DiskPath, HelperString};
pub use error::ProtoError;
pub use header::{HeaderVerdict, SmHeader, SM_MAGIC, SM_PROTO, TARGET_SELF};
pub use request::{decode_request, decode_request_bytes, Request};
pub use rv::{describe, sanlock_strerror, ResultCode, SanlkRv};
pub use wire::{
    Encode, EventCb, Killpath, ResourceArg, SanlkDisk, SanlkHost, SanlkHostEvent, SanlkLockspace,
    SanlkOptions, SanlkRentry, SanlkResource, SanlkRindex, SanlkState, StateRecord,
};
