//! The fixed-layout structs of the client protocol (spec 3.2), with the C
//! LP64 sizes and offsets of sanlock 3.8 on a little-endian host.
//!
//! Every `decode` reads a prefix of its input and never panics; every
//! `encode` appends exactly the struct's bytes. Decoding then encoding gives
//! back the same bytes: padding and fields sanlock ignores are kept, so a
//! daemon can echo what it got and tests can compare byte for byte.

use paxlock_format::name::NAME_LEN;
use paxlock_format::Name;

use crate::cstr::{DiskPath, HelperString};
use crate::header::SmHeader;
use crate::ProtoError;

/// `SANLK_MAX_RESOURCES`: resources per ACQUIRE/RELEASE.
pub const MAX_RESOURCES: usize = 8;
/// `SANLK_MAX_DISKS`: disks per resource.
pub const MAX_DISKS: usize = 4;
/// `SANLK_PATH_LEN`: bytes of a disk path field, NUL included.
pub const PATH_LEN: usize = 1024;
/// `SANLK_HELPER_PATH_LEN` = `SANLK_HELPER_ARGS_LEN`: killpath fields.
pub const HELPER_LEN: usize = 128;
/// `SANLK_STATE_MAXSTR`: most bytes of a status text (NUL included).
pub const STATE_MAXSTR: usize = 4096;
/// `SANLK_MAX_RES_STR`: most bytes of one resource string.
pub const MAX_RES_STR: usize = 4400;
/// Most bytes of a lock value block (SET_LVB).
pub const LVB_MAX: usize = 4096;
/// `MAX_CLIENT_MSG`: paxlock's bound on a request's `header.length`.
pub const MAX_CLIENT_MSG: usize = 1024 * 1024;

// ---------------------------------------------------------------------------
// reading helpers

/// A bounds-checked little-endian cursor; every read reports `Short`.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, pos: 0, what }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(ProtoError::Short {
                what: self.what,
                needed: self.pos.saturating_add(n),
                got: self.buf.len(),
            }),
        }
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ProtoError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ProtoError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub(crate) fn name(&mut self) -> Result<Name, ProtoError> {
        let b = self.take(NAME_LEN)?;
        let mut raw = [0u8; NAME_LEN];
        raw.copy_from_slice(b);
        Ok(Name::from_raw(raw))
    }
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn check_len(what: &'static str, b: &[u8], needed: usize) -> Result<(), ProtoError> {
    if b.len() < needed {
        Err(ProtoError::Short {
            what,
            needed,
            got: b.len(),
        })
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// struct sanlk_disk — 1040 bytes
//
// | off  | size | field  | meaning                                           |
// |------|------|--------|---------------------------------------------------|
// |    0 | 1024 | path   | NUL-terminated, unescaped                         |
// | 1024 |    8 | offset | byte offset of the lease area                     |
// | 1032 |    4 | pad1   | 0 from clients; sanlock leaks sector_size in STATUS |
// | 1036 |    4 | pad2   | 0 from clients; sanlock leaks an fd in STATUS     |

/// `struct sanlk_disk`: where a lease area lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SanlkDisk {
    /// The device or file, unescaped.
    pub path: DiskPath,
    /// Byte offset of the lease area.
    pub offset: u64,
    /// Padding; clients send 0.
    pub pad1: u32,
    /// Padding; clients send 0.
    pub pad2: u32,
}

impl SanlkDisk {
    /// Bytes on the wire.
    pub const LEN: usize = 1040;

    /// A disk with zero padding.
    pub fn new(path: &[u8], offset: u64) -> Result<SanlkDisk, ProtoError> {
        Ok(SanlkDisk {
            path: DiskPath::new(path)?,
            offset,
            pad1: 0,
            pad2: 0,
        })
    }

    /// Decodes the first 1040 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<SanlkDisk, ProtoError> {
        check_len("sanlk_disk", b, Self::LEN)?;
        let path = DiskPath::read(b, "sanlk_disk.path")?;
        let mut r = Reader::new(&b[PATH_LEN..], "sanlk_disk");
        Ok(SanlkDisk {
            path,
            offset: r.u64()?,
            pad1: r.u32()?,
            pad2: r.u32()?,
        })
    }

    /// Appends the 1040 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.path.raw());
        put64(out, self.offset);
        put32(out, self.pad1);
        put32(out, self.pad2);
    }
}

// ---------------------------------------------------------------------------
// struct sanlk_resource — 128 bytes (+ num_disks × sanlk_disk where sent)
//
// | off | size | field          | meaning                                   |
// |-----|------|----------------|-------------------------------------------|
// |   0 |   48 | lockspace_name | NUL not required when 48 bytes are used   |
// |  48 |   48 | name           | resource name, same rule                  |
// |  96 |    8 | lver           | lease version (input: with SANLK_RES_LVER)|
// | 104 |    8 | data64         | per-command                               |
// | 112 |    4 | data32         | per-command (SANLK_RES_NUM_HOSTS: hosts)  |
// | 116 |    4 | unused         | 0                                         |
// | 120 |    4 | flags          | SANLK_RES_*                               |
// | 124 |    4 | num_disks      | disks that follow (where they are sent)   |
// | 128 | 1040×n | disks[]      | only for ACQUIRE, REQUEST, READ_*, WRITE_RESOURCE, STATUS |

/// The 128-byte fixed part of `struct sanlk_resource`.
///
/// RELEASE, CONVERT, EXAMINE_RESOURCE, SET_LVB and GET_LVB send only this
/// part, whatever `num_disks` says; see [`ResourceArg`] for the form with
/// its disks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SanlkResource {
    /// The lockspace the resource belongs to.
    pub lockspace_name: Name,
    /// The resource name.
    pub name: Name,
    /// Lease version.
    pub lver: u64,
    /// Command-specific.
    pub data64: u64,
    /// Command-specific (new num_hosts with `SANLK_RES_NUM_HOSTS`).
    pub data32: u32,
    /// Unused, kept for exact re-encoding.
    pub unused: u32,
    /// `SANLK_RES_*`.
    pub flags: u32,
    /// Number of disks (that follow, where disks are sent).
    pub num_disks: u32,
}

impl SanlkResource {
    /// Bytes on the wire.
    pub const LEN: usize = 128;

    /// Decodes the first 128 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<SanlkResource, ProtoError> {
        let mut r = Reader::new(b, "sanlk_resource");
        Ok(SanlkResource {
            lockspace_name: r.name()?,
            name: r.name()?,
            lver: r.u64()?,
            data64: r.u64()?,
            data32: r.u32()?,
            unused: r.u32()?,
            flags: r.u32()?,
            num_disks: r.u32()?,
        })
    }

    /// Appends the 128 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.lockspace_name.raw());
        out.extend_from_slice(self.name.raw());
        put64(out, self.lver);
        put64(out, self.data64);
        put32(out, self.data32);
        put32(out, self.unused);
        put32(out, self.flags);
        put32(out, self.num_disks);
    }

    /// `-ERANGE` unless 1 ≤ `num_disks` ≤ 4 (what sanlock demands wherever
    /// disks follow).
    pub fn check_num_disks(&self) -> Result<usize, ProtoError> {
        let n = self.num_disks as usize;
        if (1..=MAX_DISKS).contains(&n) {
            Ok(n)
        } else {
            Err(ProtoError::NumDisks {
                lockspace: self.lockspace_name.to_string_lossy(),
                name: self.name.to_string_lossy(),
                num_disks: self.num_disks,
            })
        }
    }
}

/// `struct sanlk_resource` followed by its `num_disks` disks, as ACQUIRE,
/// REQUEST, READ_RESOURCE(_OWNERS), WRITE_RESOURCE and STATUS send it
/// (libsanlock's `res_args[]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResourceArg {
    /// The fixed part; [`ResourceArg::encode`] writes `disks.len()` as its
    /// `num_disks`.
    pub res: SanlkResource,
    /// 1..=4 disks.
    pub disks: Vec<SanlkDisk>,
}

impl ResourceArg {
    /// A resource with its disks; sets `res.num_disks`.
    pub fn new(mut res: SanlkResource, disks: Vec<SanlkDisk>) -> ResourceArg {
        res.num_disks = disks.len() as u32;
        ResourceArg { res, disks }
    }

    /// Bytes on the wire: 128 + 1040 per disk.
    pub fn encoded_len(&self) -> usize {
        SanlkResource::LEN + SanlkDisk::LEN * self.disks.len()
    }

    /// Decodes a resource and its disks from the start of `b`. `num_disks`
    /// must be 1..=4 ([`ProtoError::NumDisks`], sanlock's `-ERANGE`).
    pub fn decode(b: &[u8]) -> Result<ResourceArg, ProtoError> {
        let res = SanlkResource::decode(b)?;
        let n = res.check_num_disks()?;
        check_len(
            "sanlk_resource disks",
            b,
            SanlkResource::LEN + n * SanlkDisk::LEN,
        )?;
        let mut disks = Vec::with_capacity(n);
        for i in 0..n {
            let off = SanlkResource::LEN + i * SanlkDisk::LEN;
            disks.push(SanlkDisk::decode(&b[off..])?);
        }
        Ok(ResourceArg { res, disks })
    }

    /// Appends the resource (with `num_disks = disks.len()`) and its disks.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let res = SanlkResource {
            num_disks: self.disks.len() as u32,
            ..self.res
        };
        res.encode(out);
        for d in &self.disks {
            d.encode(out);
        }
    }
}

// ---------------------------------------------------------------------------
// struct sanlk_lockspace — 1104 bytes
//
// | off | size | field        | meaning                                       |
// |-----|------|--------------|-----------------------------------------------|
// |   0 |   48 | name         | lockspace name                                |
// |  48 |    8 | host_id      | 1..2000                                       |
// |  56 |    4 | flags        | SANLK_LSF_*                                   |
// |  60 |    4 | (padding)    | 0 from clients; garbage in some daemon replies |
// |  64 | 1040 | host_id_disk | sanlk_disk of the delta-lease area            |

/// `struct sanlk_lockspace`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SanlkLockspace {
    /// Lockspace name.
    pub name: Name,
    /// Our host id in it.
    pub host_id: u64,
    /// `SANLK_LSF_*`.
    pub flags: u32,
    /// The C padding at offset 60, kept for exact re-encoding.
    pub pad: u32,
    /// Where the delta leases live.
    pub host_id_disk: SanlkDisk,
}

impl SanlkLockspace {
    /// Bytes on the wire.
    pub const LEN: usize = 1104;

    /// A lockspace struct holding only a name (what HOST_STATUS, GET_HOSTS,
    /// SET_CONFIG, the event commands and RENEWAL send).
    pub fn named(name: Name) -> SanlkLockspace {
        SanlkLockspace {
            name,
            ..SanlkLockspace::default()
        }
    }

    /// Decodes the first 1104 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<SanlkLockspace, ProtoError> {
        check_len("sanlk_lockspace", b, Self::LEN)?;
        let mut r = Reader::new(b, "sanlk_lockspace");
        Ok(SanlkLockspace {
            name: r.name()?,
            host_id: r.u64()?,
            flags: r.u32()?,
            pad: r.u32()?,
            host_id_disk: SanlkDisk::decode(&b[64..])?,
        })
    }

    /// Appends the 1104 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name.raw());
        put64(out, self.host_id);
        put32(out, self.flags);
        put32(out, self.pad);
        self.host_id_disk.encode(out);
    }
}

// ---------------------------------------------------------------------------
// struct sanlk_options — 56 bytes (after the resources of ACQUIRE)
//
// | off | size | field      | meaning                                        |
// |-----|------|------------|------------------------------------------------|
// |   0 |   48 | owner_name | shown by `status` as the client name           |
// |  48 |    4 | flags      | unused by the daemon                           |
// |  52 |    4 | len        | ignored; the str[len] it describes is never sent |

/// `struct sanlk_options`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SanlkOptions {
    /// Friendly owner name (libvirt: the VM name).
    pub owner_name: Name,
    /// Unused by the daemon.
    pub flags: u32,
    /// Copied from the caller by libsanlock but the bytes it counts are
    /// never sent and the header length does not include them.
    pub len: u32,
}

impl SanlkOptions {
    /// Bytes on the wire.
    pub const LEN: usize = 56;

    /// Decodes the first 56 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<SanlkOptions, ProtoError> {
        let mut r = Reader::new(b, "sanlk_options");
        Ok(SanlkOptions {
            owner_name: r.name()?,
            flags: r.u32()?,
            len: r.u32()?,
        })
    }

    /// Appends the 56 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.owner_name.raw());
        put32(out, self.flags);
        put32(out, self.len);
    }
}

// ---------------------------------------------------------------------------
// struct sanlk_host — 32 bytes
//
// | off | size | field      |
// |-----|------|------------|
// |   0 |    8 | host_id    |
// |   8 |    8 | generation |
// |  16 |    8 | timestamp  |
// |  24 |    4 | io_timeout |
// |  28 |    4 | flags      | low nibble: SANLK_HOST_* state

/// `struct sanlk_host`: one host in GET_HOSTS / READ_RESOURCE_OWNERS replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SanlkHost {
    /// Host id.
    pub host_id: u64,
    /// Its generation.
    pub generation: u64,
    /// Its last delta-lease timestamp (seconds).
    pub timestamp: u64,
    /// Its io_timeout (seconds).
    pub io_timeout: u32,
    /// `SANLK_HOST_*` in the low nibble.
    pub flags: u32,
}

impl SanlkHost {
    /// Bytes on the wire.
    pub const LEN: usize = 32;

    /// The `SANLK_HOST_*` state (`flags & SANLK_HOST_MASK`).
    pub fn state(&self) -> u32 {
        self.flags & crate::flags::SANLK_HOST_MASK
    }

    /// Decodes the first 32 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<SanlkHost, ProtoError> {
        let mut r = Reader::new(b, "sanlk_host");
        Ok(SanlkHost {
            host_id: r.u64()?,
            generation: r.u64()?,
            timestamp: r.u64()?,
            io_timeout: r.u32()?,
            flags: r.u32()?,
        })
    }

    /// Appends the 32 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put64(out, self.host_id);
        put64(out, self.generation);
        put64(out, self.timestamp);
        put32(out, self.io_timeout);
        put32(out, self.flags);
    }
}

// ---------------------------------------------------------------------------
// struct sanlk_host_event — 32 bytes
//
// | off | size | field      |
// |-----|------|------------|
// |   0 |    8 | host_id    |
// |   8 |    8 | generation |
// |  16 |    8 | event      |
// |  24 |    8 | data       |

/// `struct sanlk_host_event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SanlkHostEvent {
    /// Target (SET_EVENT) or source host id.
    pub host_id: u64,
    /// Its generation (0 with `SANLK_SETEV_CUR_GENERATION`).
    pub generation: u64,
    /// Event number.
    pub event: u64,
    /// Event data.
    pub data: u64,
}

impl SanlkHostEvent {
    /// Bytes on the wire.
    pub const LEN: usize = 32;

    /// Decodes the first 32 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<SanlkHostEvent, ProtoError> {
        let mut r = Reader::new(b, "sanlk_host_event");
        Ok(SanlkHostEvent {
            host_id: r.u64()?,
            generation: r.u64()?,
            event: r.u64()?,
            data: r.u64()?,
        })
    }

    /// Appends the 32 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put64(out, self.host_id);
        put64(out, self.generation);
        put64(out, self.event);
        put64(out, self.data);
    }
}

// ---------------------------------------------------------------------------
// struct sanlk_state — 80 bytes, then str_len bytes of text
//
// | off | size | field     | meaning                                          |
// |-----|------|-----------|--------------------------------------------------|
// |   0 |    4 | type      | SANLK_STATE_*                                    |
// |   4 |    4 | flags     | 0                                                |
// |   8 |    4 | data32    | CLIENT: pid; RESOURCE: holder pid; HOST: host_id |
// |  12 |    4 | (padding) |                                                  |
// |  16 |    8 | data64    | LOCKSPACE: host_id; RESOURCE: lver; HOST/RENEWAL: timestamp |
// |  24 |   48 | name      | host / client / lockspace / resource name        |
// |  72 |    4 | str_len   | text bytes that follow, NUL included (0: none)   |
// |  76 |    4 | (padding) | the declared str[] starts here but text follows the 80 bytes |

/// `struct sanlk_state`: the fixed part of a STATUS / HOST_STATUS / RENEWAL
/// record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SanlkState {
    /// `SANLK_STATE_*` (C field `type`).
    pub state_type: u32,
    /// 0.
    pub flags: u32,
    /// Pid or host id, per type.
    pub data32: u32,
    /// Padding at offset 12.
    pub pad1: u32,
    /// host_id, lver or timestamp, per type.
    pub data64: u64,
    /// Name, per type.
    pub name: Name,
    /// Bytes of text that follow (NUL included).
    pub str_len: u32,
    /// Padding at offset 76.
    pub pad2: u32,
}

impl SanlkState {
    /// Bytes on the wire.
    pub const LEN: usize = 80;

    /// Decodes the first 80 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<SanlkState, ProtoError> {
        let mut r = Reader::new(b, "sanlk_state");
        Ok(SanlkState {
            state_type: r.u32()?,
            flags: r.u32()?,
            data32: r.u32()?,
            pad1: r.u32()?,
            data64: r.u64()?,
            name: r.name()?,
            str_len: r.u32()?,
            pad2: r.u32()?,
        })
    }

    /// Appends the 80 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put32(out, self.state_type);
        put32(out, self.flags);
        put32(out, self.data32);
        put32(out, self.pad1);
        put64(out, self.data64);
        out.extend_from_slice(self.name.raw());
        put32(out, self.str_len);
        put32(out, self.pad2);
    }
}

/// A `sanlk_state` and the `str_len` bytes of text after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct StateRecord {
    /// The fixed part; [`StateRecord::encode`] writes `text.len()` as
    /// its `str_len`.
    pub state: SanlkState,
    /// The raw text bytes, terminating NUL included (empty: no text).
    pub text: Vec<u8>,
}

impl StateRecord {
    /// A record whose text is `text` plus a terminating NUL (no text at all
    /// when `text` is empty). Fails when the text holds a NUL or would
    /// exceed `SANLK_STATE_MAXSTR` (4096 bytes with the NUL): the sanlock
    /// CLI reads it into a 4096-byte buffer.
    pub fn new(state: SanlkState, text: &str) -> Result<StateRecord, ProtoError> {
        let bytes = text.as_bytes();
        if bytes.contains(&0) {
            return Err(ProtoError::TooLong {
                what: "status text",
                len: bytes.len(),
                max: STATE_MAXSTR - 1,
            });
        }
        let mut raw = Vec::with_capacity(bytes.len() + 1);
        if !bytes.is_empty() {
            raw.extend_from_slice(bytes);
            raw.push(0);
        }
        if raw.len() > STATE_MAXSTR {
            return Err(ProtoError::StateTooLong { len: raw.len() });
        }
        let state = SanlkState {
            str_len: raw.len() as u32,
            ..state
        };
        Ok(StateRecord { state, text: raw })
    }

    /// The text without its NUL, as the CLI prints it.
    pub fn text_str(&self) -> &[u8] {
        let end = self
            .text
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.text.len());
        &self.text[..end]
    }

    /// Bytes on the wire.
    pub fn encoded_len(&self) -> usize {
        SanlkState::LEN + self.text.len()
    }

    /// Decodes a record from the start of `b`; `str_len` must be ≤ 4096.
    pub fn decode(b: &[u8]) -> Result<StateRecord, ProtoError> {
        let state = SanlkState::decode(b)?;
        let n = state.str_len as usize;
        if n > STATE_MAXSTR {
            return Err(ProtoError::StateTooLong { len: n });
        }
        check_len("sanlk_state text", b, SanlkState::LEN + n)?;
        Ok(StateRecord {
            state,
            text: b[SanlkState::LEN..SanlkState::LEN + n].to_vec(),
        })
    }

    /// Appends the record (with `str_len = text.len()`).
    pub fn encode(&self, out: &mut Vec<u8>) {
        SanlkState {
            str_len: self.text.len() as u32,
            ..self.state
        }
        .encode(out);
        out.extend_from_slice(&self.text);
    }
}

// ---------------------------------------------------------------------------
// struct sanlk_rindex — 1104 bytes
//
// | off | size | field          | meaning                                 |
// |-----|------|----------------|-----------------------------------------|
// |   0 |    4 | flags          | SANLK_RIF_* (align/sector)              |
// |   4 |    4 | max_resources  | FORMAT: entries to make room for        |
// |   8 |    8 | unused         |                                         |
// |  16 |   48 | lockspace_name |                                         |
// |  64 | 1040 | disk           | sanlk_disk of the index                 |

/// `struct sanlk_rindex`: where a resource index lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SanlkRindex {
    /// `SANLK_RIF_*`.
    pub flags: u32,
    /// Entries (FORMAT_RINDEX).
    pub max_resources: u32,
    /// Unused, kept for exact re-encoding.
    pub unused: u64,
    /// The lockspace of the indexed resources.
    pub lockspace_name: Name,
    /// The index's disk.
    pub disk: SanlkDisk,
}

impl SanlkRindex {
    /// Bytes on the wire.
    pub const LEN: usize = 1104;

    /// Decodes the first 1104 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<SanlkRindex, ProtoError> {
        check_len("sanlk_rindex", b, Self::LEN)?;
        let mut r = Reader::new(b, "sanlk_rindex");
        Ok(SanlkRindex {
            flags: r.u32()?,
            max_resources: r.u32()?,
            unused: r.u64()?,
            lockspace_name: r.name()?,
            disk: SanlkDisk::decode(&b[64..])?,
        })
    }

    /// Appends the 1104 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put32(out, self.flags);
        put32(out, self.max_resources);
        put64(out, self.unused);
        out.extend_from_slice(self.lockspace_name.raw());
        self.disk.encode(out);
    }
}

// ---------------------------------------------------------------------------
// struct sanlk_rentry — 64 bytes
//
// | off | size | field  |
// |-----|------|--------|
// |   0 |   48 | name   | resource name
// |  48 |    8 | offset | its lease offset
// |  56 |    4 | flags  |
// |  60 |    4 | unused |

/// `struct sanlk_rentry`: one resource index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SanlkRentry {
    /// Resource name (empty: any / none).
    pub name: Name,
    /// Lease offset.
    pub offset: u64,
    /// Flags.
    pub flags: u32,
    /// Unused, kept for exact re-encoding.
    pub unused: u32,
}

impl SanlkRentry {
    /// Bytes on the wire.
    pub const LEN: usize = 64;

    /// Decodes the first 64 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<SanlkRentry, ProtoError> {
        let mut r = Reader::new(b, "sanlk_rentry");
        Ok(SanlkRentry {
            name: r.name()?,
            offset: r.u64()?,
            flags: r.u32()?,
            unused: r.u32()?,
        })
    }

    /// Appends the 64 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name.raw());
        put64(out, self.offset);
        put32(out, self.flags);
        put32(out, self.unused);
    }
}

// ---------------------------------------------------------------------------
// struct event_cb — 80 bytes, pushed on REG_EVENT connections
//
// | off | size | field           | meaning                                       |
// |-----|------|-----------------|-----------------------------------------------|
// |   0 |   32 | h               | sm_header: magic, version SM_CB_PROTO, cmd SM_CB_GET_EVENT, length 80 |
// |  32 |   32 | he              | sanlk_host_event                              |
// |  64 |    8 | from_host_id    | host that set the event                       |
// |  72 |    8 | from_generation | its generation                                |

/// `struct event_cb`: an event the daemon pushes on an event fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventCb {
    /// Header: magic, `SM_CB_PROTO`, `SM_CB_GET_EVENT`, length 80.
    pub header: SmHeader,
    /// The event.
    pub event: SanlkHostEvent,
    /// Sender's host id.
    pub from_host_id: u64,
    /// Sender's generation.
    pub from_generation: u64,
}

impl EventCb {
    /// Bytes on the wire.
    pub const LEN: usize = 80;

    /// The message sanlock sends: header zeroed except magic, version
    /// `SM_CB_PROTO`, cmd `SM_CB_GET_EVENT` and length 80.
    pub fn new(event: SanlkHostEvent, from_host_id: u64, from_generation: u64) -> EventCb {
        EventCb {
            header: SmHeader {
                magic: crate::header::SM_MAGIC,
                version: crate::flags::SM_CB_PROTO,
                cmd: crate::flags::SM_CB_GET_EVENT,
                length: Self::LEN as u32,
                ..SmHeader::default()
            },
            event,
            from_host_id,
            from_generation,
        }
    }

    /// Decodes the first 80 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<EventCb, ProtoError> {
        check_len("event_cb", b, Self::LEN)?;
        let mut r = Reader::new(&b[64..], "event_cb");
        Ok(EventCb {
            header: SmHeader::decode(b)?,
            event: SanlkHostEvent::decode(&b[32..])?,
            from_host_id: r.u64()?,
            from_generation: r.u64()?,
        })
    }

    /// Appends the 80 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        self.event.encode(out);
        put64(out, self.from_host_id);
        put64(out, self.from_generation);
    }
}

// ---------------------------------------------------------------------------
// KILLPATH payload — 256 bytes: path[128] then args[128], each NUL-terminated

/// The KILLPATH payload: program and its arguments, each a 128-byte C string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Killpath {
    /// Program to run (at most 127 bytes).
    pub path: HelperString,
    /// Its arguments, space separated, `\` escapes a space or backslash.
    pub args: HelperString,
}

impl Killpath {
    /// Bytes on the wire.
    pub const LEN: usize = 2 * HELPER_LEN;

    /// Decodes the first 256 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Killpath, ProtoError> {
        check_len("killpath", b, Self::LEN)?;
        Ok(Killpath {
            path: HelperString::read(b, "killpath path")?,
            args: HelperString::read(&b[HELPER_LEN..], "killpath args")?,
        })
    }

    /// Appends the 256 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.path.raw());
        out.extend_from_slice(self.args.raw());
    }
}

/// Encodes any of this module's values to a fresh `Vec`.
pub trait Encode {
    /// Appends the wire bytes to `out`.
    fn encode_into(&self, out: &mut Vec<u8>);

    /// The wire bytes.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

macro_rules! impl_encode {
    ($($t:ty),*) => {
        $(impl Encode for $t {
            fn encode_into(&self, out: &mut Vec<u8>) {
                self.encode(out)
            }
        })*
    };
}

impl_encode!(
    SmHeader,
    SanlkDisk,
    SanlkResource,
    ResourceArg,
    SanlkLockspace,
    SanlkOptions,
    SanlkHost,
    SanlkHostEvent,
    SanlkState,
    StateRecord,
    SanlkRindex,
    SanlkRentry,
    EventCb,
    Killpath
);

#[cfg(test)]
mod tests {
    use super::*;

    fn le32(b: &[u8], off: usize) -> u32 {
        u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
    }

    fn le64(b: &[u8], off: usize) -> u64 {
        u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
    }

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    #[test]
    fn sizes_are_the_c_lp64_sizes() {
        let ls = SanlkLockspace::default().to_bytes();
        assert_eq!(ls.len(), 1104);
        assert_eq!(SanlkDisk::default().to_bytes().len(), 1040);
        assert_eq!(SanlkResource::default().to_bytes().len(), 128);
        assert_eq!(SanlkOptions::default().to_bytes().len(), 56);
        assert_eq!(SanlkHost::default().to_bytes().len(), 32);
        assert_eq!(SanlkHostEvent::default().to_bytes().len(), 32);
        assert_eq!(SanlkState::default().to_bytes().len(), 80);
        assert_eq!(SanlkRindex::default().to_bytes().len(), 1104);
        assert_eq!(SanlkRentry::default().to_bytes().len(), 64);
        assert_eq!(EventCb::default().to_bytes().len(), 80);
        assert_eq!(Killpath::default().to_bytes().len(), 256);
    }

    #[test]
    fn lockspace_offsets() {
        let ls = SanlkLockspace {
            name: name("LS"),
            host_id: 0x0102_0304_0506_0708,
            flags: 0x110,
            pad: 3,
            host_id_disk: SanlkDisk {
                path: DiskPath::new(b"/p").unwrap(),
                offset: 0x1122_3344,
                pad1: 512,
                pad2: 11,
            },
        };
        let b = ls.to_bytes();
        assert_eq!(&b[0..2], b"LS");
        assert_eq!(le64(&b, 48), 0x0102_0304_0506_0708);
        assert_eq!(le32(&b, 56), 0x110);
        assert_eq!(le32(&b, 60), 3);
        assert_eq!(&b[64..66], b"/p");
        assert_eq!(le64(&b, 64 + 1024), 0x1122_3344);
        assert_eq!(le32(&b, 64 + 1032), 512);
        assert_eq!(le32(&b, 64 + 1036), 11);
        assert_eq!(SanlkLockspace::decode(&b).unwrap(), ls);
    }

    #[test]
    fn resource_offsets_and_disks() {
        let r = ResourceArg::new(
            SanlkResource {
                lockspace_name: name("LS"),
                name: name("R1"),
                lver: 5,
                data64: 6,
                data32: 7,
                unused: 8,
                flags: 9,
                num_disks: 0,
            },
            vec![
                SanlkDisk::new(b"/a", 1).unwrap(),
                SanlkDisk::new(b"/b", 2).unwrap(),
            ],
        );
        let b = r.to_bytes();
        assert_eq!(b.len(), 128 + 2 * 1040);
        assert_eq!(&b[48..50], b"R1");
        assert_eq!(le64(&b, 96), 5);
        assert_eq!(le64(&b, 104), 6);
        assert_eq!(le32(&b, 112), 7);
        assert_eq!(le32(&b, 116), 8);
        assert_eq!(le32(&b, 120), 9);
        assert_eq!(le32(&b, 124), 2);
        assert_eq!(&b[128 + 1040..128 + 1042], b"/b");
        assert_eq!(ResourceArg::decode(&b).unwrap(), r);
    }

    #[test]
    fn resource_disk_count_limits() {
        let mut res = SanlkResource {
            num_disks: 0,
            ..SanlkResource::default()
        };
        let mut b = res.to_bytes();
        assert!(matches!(
            ResourceArg::decode(&b),
            Err(ProtoError::NumDisks { num_disks: 0, .. })
        ));
        res.num_disks = 5;
        b = res.to_bytes();
        assert!(matches!(
            ResourceArg::decode(&b),
            Err(ProtoError::NumDisks { num_disks: 5, .. })
        ));
        res.num_disks = u32::MAX;
        b = res.to_bytes();
        assert_eq!(
            ResourceArg::decode(&b).unwrap_err().result_code(),
            Some(-34)
        );
        // a valid count with the disk missing is short, not a panic
        res.num_disks = 4;
        b = res.to_bytes();
        assert!(matches!(
            ResourceArg::decode(&b),
            Err(ProtoError::Short { needed, .. }) if needed == 128 + 4 * 1040
        ));
    }

    #[test]
    fn unterminated_path_is_rejected() {
        let mut b = SanlkDisk::default().to_bytes();
        b[..1024].fill(b'x');
        assert!(matches!(
            SanlkDisk::decode(&b),
            Err(ProtoError::Unterminated {
                what: "sanlk_disk.path",
                len: 1024
            })
        ));
    }

    #[test]
    fn state_record_text() {
        let st = SanlkState {
            state_type: 5,
            data32: 1,
            data64: 220,
            ..SanlkState::default()
        };
        let rec = StateRecord::new(st, "last_check=241 io_timeout=10").unwrap();
        assert_eq!(rec.state.str_len, 29);
        assert_eq!(rec.text_str(), b"last_check=241 io_timeout=10");
        let b = rec.to_bytes();
        assert_eq!(le32(&b, 72), 29);
        assert_eq!(b[b.len() - 1], 0);
        assert_eq!(StateRecord::decode(&b).unwrap(), rec);
        assert_eq!(StateRecord::new(st, "").unwrap().text.len(), 0);
        assert!(StateRecord::new(st, &"x".repeat(4095)).is_ok());
        assert!(matches!(
            StateRecord::new(st, &"x".repeat(4096)),
            Err(ProtoError::StateTooLong { len: 4097 })
        ));
        let mut big = st;
        big.str_len = 5000;
        assert!(matches!(
            StateRecord::decode(&big.to_bytes()),
            Err(ProtoError::StateTooLong { len: 5000 })
        ));
    }

    #[test]
    fn event_cb_layout() {
        let ev = EventCb::new(
            SanlkHostEvent {
                host_id: 1,
                generation: 2,
                event: 0x42,
                data: 0x99,
            },
            3,
            4,
        );
        let b = ev.to_bytes();
        assert_eq!(le32(&b, 0), 0x0428_2010);
        assert_eq!(le32(&b, 4), 1);
        assert_eq!(le32(&b, 8), 1);
        assert_eq!(le32(&b, 16), 80);
        assert_eq!(le64(&b, 48), 0x42);
        assert_eq!(le64(&b, 64), 3);
        assert_eq!(le64(&b, 72), 4);
        assert_eq!(EventCb::decode(&b).unwrap(), ev);
    }

    #[test]
    fn rindex_rentry_offsets() {
        let rx = SanlkRindex {
            flags: 0x280,
            max_resources: 1000,
            unused: 0,
            lockspace_name: name("LS"),
            disk: SanlkDisk::new(b"/rx", 4096).unwrap(),
        };
        let b = rx.to_bytes();
        assert_eq!(le32(&b, 0), 0x280);
        assert_eq!(le32(&b, 4), 1000);
        assert_eq!(&b[16..18], b"LS");
        assert_eq!(&b[64..67], b"/rx");
        assert_eq!(SanlkRindex::decode(&b).unwrap(), rx);
        let re = SanlkRentry {
            name: name("R9"),
            offset: 3 << 20,
            flags: 1,
            unused: 2,
        };
        let b = re.to_bytes();
        assert_eq!(le64(&b, 48), 3 << 20);
        assert_eq!(le32(&b, 56), 1);
        assert_eq!(le32(&b, 60), 2);
        assert_eq!(SanlkRentry::decode(&b).unwrap(), re);
    }
}
