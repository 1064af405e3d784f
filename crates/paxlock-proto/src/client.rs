//! The client side: reply decoders and a small blocking socket client, as
//! libsanlock talks to the daemon (spec 1.2, 3.4).
//!
//! The decoders are pure: each takes the reply header and the payload bytes
//! that followed it and never panics, whatever the bytes. The socket
//! client ([`Conn`] and the one-call helpers such as [`inquire`]) reads
//! exactly what libsanlock reads for each command, never trusting a length
//! or count sent by the daemon beyond fixed caps, and maps failures to the
//! numbers libsanlock returns (`-errno` of `connect`/`send`/`recv`, `-1` for
//! a short reply) so that a CLI can print sanlock's `done` lines.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::flags::SANLK_STATE_LOCKSPACE;
use crate::flags::SANLK_STATE_RESOURCE;
use crate::header::SmHeader;
use crate::reply::StatusEntry;
use crate::request::Request;
use crate::rv::errno;
use crate::wire::{
    ResourceArg, SanlkDisk, SanlkHost, SanlkLockspace, SanlkRentry, SanlkResource, SanlkState,
    StateRecord, MAX_DISKS, STATE_MAXSTR,
};
use crate::ProtoError;

/// sanlock's default run directory.
pub const DEFAULT_RUN_DIR: &str = "/run/sanlock";
/// The socket's file name inside the run directory.
pub const SOCKET_NAME: &str = "sanlock.sock";
/// `LOG_DUMP_SIZE`: the sanlock CLI ignores log dumps larger than this.
pub const LOG_DUMP_MAX: usize = 1024 * 1024;
/// Most bytes read from one reply payload or STATUS-like stream; a daemon
/// that claims or sends more is not believed.
pub const REPLY_MAX: usize = 64 * 1024 * 1024;

/// `$SANLOCK_RUN_DIR`, or `/run/sanlock`, as libsanlock chooses it.
pub fn run_dir() -> PathBuf {
    std::env::var_os("SANLOCK_RUN_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUN_DIR))
}

/// `<run_dir>/sanlock.sock`.
pub fn socket_path(run_dir: &Path) -> PathBuf {
    run_dir.join(SOCKET_NAME)
}

/// Why a request did not get a (whole) reply.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `connect()` failed: typically no daemon (ENOENT, ECONNREFUSED) or
    /// no permission (EACCES).
    #[error("cannot connect to {}: {source}", path.display())]
    Connect {
        /// The socket path tried.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `send()` or `recv()` failed.
    #[error("socket {op} failed: {source}")]
    Io {
        /// "send" or "recv".
        op: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The daemon closed the connection before the whole reply arrived.
    #[error("the daemon closed the connection after {got} of the {needed} bytes of {what}")]
    Closed {
        /// What was being read.
        what: &'static str,
        /// Bytes expected.
        needed: usize,
        /// Bytes received.
        got: usize,
    },
    /// The reply did not decode.
    #[error("bad reply from the daemon: {0}")]
    Decode(#[from] ProtoError),
}

impl ClientError {
    /// The number libsanlock returns for this failure: `-errno` for
    /// connect/send/recv errors, -1 for a short or undecodable reply.
    pub fn rv(&self) -> i32 {
        match self {
            ClientError::Connect { source, .. } | ClientError::Io { source, .. } => {
                -source.raw_os_error().unwrap_or(errno::EIO)
            }
            ClientError::Closed { .. } | ClientError::Decode(_) => -1,
        }
    }

    /// True for connection failures (no daemon, wrong run dir, permissions).
    pub fn is_connect(&self) -> bool {
        matches!(self, ClientError::Connect { .. })
    }
}

/// One connection to the daemon.
#[derive(Debug)]
pub struct Conn {
    stream: UnixStream,
}

impl Conn {
    /// Connects to `$SANLOCK_RUN_DIR/sanlock.sock`.
    pub fn connect() -> Result<Conn, ClientError> {
        Conn::connect_to(&socket_path(&run_dir()))
    }

    /// Connects to the socket at `path`.
    pub fn connect_to(path: &Path) -> Result<Conn, ClientError> {
        UnixStream::connect(path)
            .map(|stream| Conn { stream })
            .map_err(|source| ClientError::Connect {
                path: path.to_path_buf(),
                source,
            })
    }

    /// The underlying stream (e.g. to keep a registered connection open
    /// across `exec`).
    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    /// Sends a request as libsanlock does (header, then payload).
    pub fn send(&mut self, req: &Request) -> Result<(), ClientError> {
        self.stream
            .write_all(&req.encode())
            .map_err(|source| ClientError::Io { op: "send", source })
    }

    /// Reads exactly `n` bytes (`n` must have been bounded by the caller).
    pub fn recv_exact(&mut self, n: usize, what: &'static str) -> Result<Vec<u8>, ClientError> {
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.stream.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(ClientError::Closed {
                        what,
                        needed: n,
                        got,
                    })
                }
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => return Err(ClientError::Io { op: "recv", source }),
            }
        }
        Ok(buf)
    }

    /// Reads one 32-byte reply header.
    pub fn recv_header(&mut self) -> Result<SmHeader, ClientError> {
        let b = self.recv_exact(SmHeader::LEN, "the reply header")?;
        Ok(SmHeader::decode(&b)?)
    }

    /// Reads until the daemon closes the connection, at most `cap` bytes
    /// (what follows is dropped and reported as a decode error by the
    /// stream decoder, since the record it cuts is incomplete).
    pub fn recv_to_eof(&mut self, cap: usize) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::new();
        (&mut self.stream)
            .take(cap as u64)
            .read_to_end(&mut out)
            .map_err(|source| ClientError::Io { op: "recv", source })?;
        Ok(out)
    }

    /// Reads a generic result reply and returns its `data`.
    pub fn recv_result(&mut self) -> Result<i32, ClientError> {
        Ok(self.recv_header()?.result())
    }
}

/// Sends `req` on a new connection and returns the generic result
/// (`header.data`), as libsanlock's `recv_result()`.
pub fn call_result(req: &Request) -> Result<i32, ClientError> {
    let mut c = Conn::connect()?;
    c.send(req)?;
    c.recv_result()
}

/// REGISTER: a connection that stays open; leases acquired on it with
/// `target_pid: None` belong to this process until the connection closes.
pub fn register() -> Result<Conn, ClientError> {
    let mut c = Conn::connect()?;
    c.send(&Request::Register)?;
    Ok(c)
}

/// SHUTDOWN (no reply, result 0) or, with `wait`, SHUTDOWN_WAIT (the reply
/// arrives when the daemon exits, or `-EBUSY` at once).
pub fn shutdown(force: u32, wait: bool) -> Result<i32, ClientError> {
    let mut c = Conn::connect()?;
    if wait {
        c.send(&Request::ShutdownWait { force })?;
        c.recv_result()
    } else {
        c.send(&Request::Shutdown { force })?;
        Ok(0)
    }
}

// ---------------------------------------------------------------------------
// INQUIRE

/// INQUIRE reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InquireReply {
    /// `header.data`.
    pub result: i32,
    /// `header.data2`: number of resources (0 when there is no payload).
    pub res_count: u32,
    /// The state string without its NUL, `None` when no payload came.
    pub state: Option<String>,
}

impl InquireReply {
    /// Decodes the header and its `length - 32` payload bytes. Like
    /// libsanlock, `res_count` is only taken when a payload came.
    pub fn decode(h: &SmHeader, payload: &[u8]) -> InquireReply {
        if payload.is_empty() {
            return InquireReply {
                result: h.result(),
                res_count: 0,
                state: None,
            };
        }
        let end = payload
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(payload.len());
        InquireReply {
            result: h.result(),
            res_count: h.data2,
            state: Some(String::from_utf8_lossy(&payload[..end]).into_owned()),
        }
    }
}

/// INQUIRE for `target_pid` (`None`: the connection itself, which on a
/// new connection is never registered).
pub fn inquire(target_pid: Option<i32>) -> Result<InquireReply, ClientError> {
    let mut c = Conn::connect()?;
    c.send(&Request::Inquire {
        flags: 0,
        target_pid,
    })?;
    let h = c.recv_header()?;
    let len = (h.length as usize).saturating_sub(SmHeader::LEN);
    if len > REPLY_MAX {
        return Err(ProtoError::BadLength { length: h.length }.into());
    }
    let payload = c.recv_exact(len, "the inquire state string")?;
    Ok(InquireReply::decode(&h, &payload))
}

// ---------------------------------------------------------------------------
// GET_LOCKSPACES / GET_HOSTS

/// How many fixed-size structs a count announces, refusing counts whose
/// bytes would exceed [`REPLY_MAX`].
fn bounded(count: u32, size: usize) -> Result<usize, ProtoError> {
    let n = count as usize;
    if n.saturating_mul(size) > REPLY_MAX {
        return Err(ProtoError::TooLong {
            what: "reply (count × struct size)",
            len: n.saturating_mul(size),
            max: REPLY_MAX,
        });
    }
    Ok(n)
}

/// Decodes `count` consecutive structs of `size` bytes.
fn decode_n<T>(
    payload: &[u8],
    count: usize,
    size: usize,
    what: &'static str,
    f: impl Fn(&[u8]) -> Result<T, ProtoError>,
) -> Result<Vec<T>, ProtoError> {
    let needed = count.saturating_mul(size);
    if payload.len() < needed {
        return Err(ProtoError::Short {
            what,
            needed,
            got: payload.len(),
        });
    }
    (0..count).map(|i| f(&payload[i * size..])).collect()
}

/// GET_LOCKSPACES reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockspacesReply {
    /// `header.data`: 0, or `-ENOSPC` when the daemon's list was cut.
    pub result: i32,
    /// The lockspaces (`flags` holds `SANLK_LSF_ADD` / `SANLK_LSF_REM`).
    pub lockspaces: Vec<SanlkLockspace>,
}

impl LockspacesReply {
    /// Decodes `header.data2` lockspaces from `payload`.
    pub fn decode(h: &SmHeader, payload: &[u8]) -> Result<LockspacesReply, ProtoError> {
        let n = bounded(h.data2, SanlkLockspace::LEN)?;
        Ok(LockspacesReply {
            result: h.result(),
            lockspaces: decode_n(
                payload,
                n,
                SanlkLockspace::LEN,
                "sanlk_lockspace list",
                SanlkLockspace::decode,
            )?,
        })
    }
}

/// Whether a result carries a list (0 or positive, or `-ENOSPC`: a cut one).
fn has_list(result: i32) -> bool {
    result >= 0 || result == -errno::ENOSPC
}

/// GET_LOCKSPACES.
pub fn get_lockspaces() -> Result<LockspacesReply, ClientError> {
    let mut c = Conn::connect()?;
    c.send(&Request::GetLockspaces { flags: 0 })?;
    let h = c.recv_header()?;
    if !has_list(h.result()) {
        return Ok(LockspacesReply {
            result: h.result(),
            lockspaces: Vec::new(),
        });
    }
    let n = bounded(h.data2, SanlkLockspace::LEN)?;
    let payload = c.recv_exact(n * SanlkLockspace::LEN, "the lockspace list")?;
    Ok(LockspacesReply::decode(&h, &payload)?)
}

/// GET_HOSTS (and READ_RESOURCE_OWNERS) host lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsReply {
    /// `header.data`: 0; `-EAGAIN` hosts not ready; `-ENOENT` no lockspace.
    pub result: i32,
    /// The hosts.
    pub hosts: Vec<SanlkHost>,
}

impl HostsReply {
    /// Decodes `header.data2` hosts from `payload`.
    pub fn decode(h: &SmHeader, payload: &[u8]) -> Result<HostsReply, ProtoError> {
        let n = bounded(h.data2, SanlkHost::LEN)?;
        Ok(HostsReply {
            result: h.result(),
            hosts: decode_n(
                payload,
                n,
                SanlkHost::LEN,
                "sanlk_host list",
                SanlkHost::decode,
            )?,
        })
    }
}

/// GET_HOSTS of lockspace `name`; `host_id` 0 = every host seen.
pub fn get_hosts(lockspace: SanlkLockspace) -> Result<HostsReply, ClientError> {
    let mut c = Conn::connect()?;
    c.send(&Request::GetHosts {
        flags: 0,
        lockspace,
    })?;
    let h = c.recv_header()?;
    if !has_list(h.result()) {
        return Ok(HostsReply {
            result: h.result(),
            hosts: Vec::new(),
        });
    }
    let n = bounded(h.data2, SanlkHost::LEN)?;
    let payload = c.recv_exact(n * SanlkHost::LEN, "the host list")?;
    Ok(HostsReply::decode(&h, &payload)?)
}

// ---------------------------------------------------------------------------
// READ_LOCKSPACE / READ_RESOURCE / READ_RESOURCE_OWNERS

/// READ_LOCKSPACE reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLockspaceReply {
    /// `header.data`.
    pub result: i32,
    /// `header.data2`: the lockspace's io_timeout.
    pub io_timeout: u32,
    /// The lockspace as read (name, host_id, align/sector flags); `None`
    /// on error (libsanlock does not read it then).
    pub lockspace: Option<SanlkLockspace>,
}

impl ReadLockspaceReply {
    /// Decodes the header and the lockspace after it (read on success only).
    pub fn decode(h: &SmHeader, payload: &[u8]) -> Result<ReadLockspaceReply, ProtoError> {
        let lockspace = if h.result() >= 0 {
            Some(SanlkLockspace::decode(payload)?)
        } else {
            None
        };
        Ok(ReadLockspaceReply {
            result: h.result(),
            io_timeout: h.data2,
            lockspace,
        })
    }
}

/// READ_LOCKSPACE.
pub fn read_lockspace(lockspace: SanlkLockspace) -> Result<ReadLockspaceReply, ClientError> {
    let mut c = Conn::connect()?;
    c.send(&Request::ReadLockspace {
        flags: 0,
        lockspace,
    })?;
    let h = c.recv_header()?;
    let payload = if h.result() >= 0 {
        c.recv_exact(SanlkLockspace::LEN, "the lockspace read")?
    } else {
        Vec::new()
    };
    Ok(ReadLockspaceReply::decode(&h, &payload)?)
}

/// READ_RESOURCE / READ_RESOURCE_OWNERS reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResourceReply {
    /// `header.data`.
    pub result: i32,
    /// The 128-byte resource as read (names, lver, flags); `None` when the
    /// daemon sent none (READ_RESOURCE_OWNERS on error).
    pub resource: Option<SanlkResource>,
    /// Owners (READ_RESOURCE_OWNERS only).
    pub owners: Vec<SanlkHost>,
}

impl ReadResourceReply {
    /// Decodes a READ_RESOURCE reply: the resource always follows.
    pub fn decode(h: &SmHeader, payload: &[u8]) -> Result<ReadResourceReply, ProtoError> {
        Ok(ReadResourceReply {
            result: h.result(),
            resource: Some(SanlkResource::decode(payload)?),
            owners: Vec::new(),
        })
    }

    /// Decodes a READ_RESOURCE_OWNERS reply: on success the resource and
    /// `header.data2` hosts follow.
    pub fn decode_owners(h: &SmHeader, payload: &[u8]) -> Result<ReadResourceReply, ProtoError> {
        if h.result() < 0 {
            return Ok(ReadResourceReply {
                result: h.result(),
                resource: None,
                owners: Vec::new(),
            });
        }
        let res = SanlkResource::decode(payload)?;
        let n = bounded(h.data2, SanlkHost::LEN)?;
        let owners = decode_n(
            payload.get(SanlkResource::LEN..).unwrap_or(&[]),
            n,
            SanlkHost::LEN,
            "sanlk_host list",
            SanlkHost::decode,
        )?;
        Ok(ReadResourceReply {
            result: h.result(),
            resource: Some(res),
            owners,
        })
    }
}

/// READ_RESOURCE, or READ_RESOURCE_OWNERS with `owners`.
pub fn read_resource(
    resource: ResourceArg,
    owners: bool,
) -> Result<ReadResourceReply, ClientError> {
    let mut c = Conn::connect()?;
    if owners {
        c.send(&Request::ReadResourceOwners { flags: 0, resource })?;
        let h = c.recv_header()?;
        if h.result() < 0 {
            return Ok(ReadResourceReply::decode_owners(&h, &[])?);
        }
        let n = bounded(h.data2, SanlkHost::LEN)?;
        let payload = c.recv_exact(
            SanlkResource::LEN + n * SanlkHost::LEN,
            "the resource and its owners",
        )?;
        Ok(ReadResourceReply::decode_owners(&h, &payload)?)
    } else {
        c.send(&Request::ReadResource { flags: 0, resource })?;
        let h = c.recv_header()?;
        let payload = c.recv_exact(SanlkResource::LEN, "the resource read")?;
        Ok(ReadResourceReply::decode(&h, &payload)?)
    }
}

// ---------------------------------------------------------------------------
// rindex commands

/// UPDATE_RINDEX / LOOKUP_RINDEX / CREATE_RESOURCE / DELETE_RESOURCE reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentryReply {
    /// `header.data` (libsanlock turns a positive one into 0).
    pub result: i32,
    /// The entry, on success.
    pub rentry: Option<SanlkRentry>,
}

impl RentryReply {
    /// Decodes the header and, on success, the entry after it.
    pub fn decode(h: &SmHeader, payload: &[u8]) -> Result<RentryReply, ProtoError> {
        if h.result() < 0 {
            return Ok(RentryReply {
                result: h.result(),
                rentry: None,
            });
        }
        Ok(RentryReply {
            result: 0,
            rentry: Some(SanlkRentry::decode(payload)?),
        })
    }
}

/// Sends an UPDATE_RINDEX, LOOKUP_RINDEX, CREATE_RESOURCE or
/// DELETE_RESOURCE request and reads the entry that comes back.
pub fn rentry_call(req: &Request) -> Result<RentryReply, ClientError> {
    let mut c = Conn::connect()?;
    c.send(req)?;
    let h = c.recv_header()?;
    let payload = if h.result() >= 0 {
        c.recv_exact(SanlkRentry::LEN, "the rindex entry")?
    } else {
        Vec::new()
    };
    Ok(RentryReply::decode(&h, &payload)?)
}

// ---------------------------------------------------------------------------
// VERSION / LOG_DUMP

/// VERSION reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionReply {
    /// `header.data`.
    pub result: i32,
    /// `header.data2`: `major << 24 | minor << 16 | patch << 8 | build`.
    pub version: u32,
    /// `header.version`: the daemon's socket protocol.
    pub proto: u32,
}

impl VersionReply {
    /// Decodes a VERSION reply header.
    pub fn decode(h: &SmHeader) -> VersionReply {
        VersionReply {
            result: h.result(),
            version: if h.result() < 0 { 0 } else { h.data2 },
            proto: h.version,
        }
    }
}

/// VERSION.
pub fn version() -> Result<VersionReply, ClientError> {
    let mut c = Conn::connect()?;
    c.send(&Request::Version { flags: 0 })?;
    Ok(VersionReply::decode(&c.recv_header()?))
}

/// LOG_DUMP reply: the header's `data` is the byte count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDump {
    /// `header.data`: the byte count announced.
    pub count: i32,
    /// The text received (empty when the count is ≤ 0 or above 1 MiB,
    /// which the sanlock CLI ignores).
    pub text: Vec<u8>,
}

/// LOG_DUMP. A count above 1 MiB is ignored as by the sanlock CLI; a
/// dump cut short is returned as far as it came.
pub fn log_dump() -> Result<LogDump, ClientError> {
    let mut c = Conn::connect()?;
    c.send(&Request::LogDump)?;
    let h = c.recv_header()?;
    let count = h.result();
    if count <= 0 || count as usize > LOG_DUMP_MAX {
        return Ok(LogDump {
            count,
            text: Vec::new(),
        });
    }
    let text = c.recv_to_eof(count as usize)?;
    Ok(LogDump { count, text })
}

// ---------------------------------------------------------------------------
// STATUS / HOST_STATUS / RENEWAL streams

/// A STATUS, HOST_STATUS or RENEWAL reply: the header, then records until
/// the daemon closed the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusStream {
    /// The reply header (`data` = result; RENEWAL: `data2` = io_timeout).
    pub header: SmHeader,
    /// The whole records received, in order.
    pub entries: Vec<StatusEntry>,
    /// Why decoding stopped before the end of the bytes, if it did (the
    /// sanlock CLI also stops at the first incomplete record).
    pub error: Option<ProtoError>,
}

/// Decodes one stream entry from the start of `b` as the sanlock CLI reads
/// it: the 80-byte state, `str_len` (≤ 4096) bytes of text, then for
/// LOCKSPACE records a `sanlk_lockspace`, for RESOURCE records a
/// `sanlk_resource` and its `num_disks` (≤ 4, 0 allowed) disks.
pub fn decode_stream_entry(b: &[u8]) -> Result<(StatusEntry, usize), ProtoError> {
    let state = SanlkState::decode(b)?;
    let n = state.str_len as usize;
    if n > STATE_MAXSTR {
        return Err(ProtoError::StateTooLong { len: n });
    }
    let text = b
        .get(SanlkState::LEN..SanlkState::LEN + n)
        .ok_or(ProtoError::Short {
            what: "sanlk_state text",
            needed: SanlkState::LEN + n,
            got: b.len(),
        })?
        .to_vec();
    let rec = StateRecord { state, text };
    let off = SanlkState::LEN + n;
    let rest = &b[off..];
    Ok(match state.state_type {
        SANLK_STATE_LOCKSPACE => (
            StatusEntry::Lockspace(rec, SanlkLockspace::decode(rest)?),
            off + SanlkLockspace::LEN,
        ),
        SANLK_STATE_RESOURCE => {
            let res = SanlkResource::decode(rest)?;
            let nd = res.num_disks as usize;
            if nd > MAX_DISKS {
                return Err(ProtoError::NumDisks {
                    lockspace: res.lockspace_name.to_string_lossy(),
                    name: res.name.to_string_lossy(),
                    num_disks: res.num_disks,
                });
            }
            let disks = decode_n(
                &rest[SanlkResource::LEN..],
                nd,
                SanlkDisk::LEN,
                "sanlk_resource disks",
                SanlkDisk::decode,
            )?;
            (
                StatusEntry::Resource(rec, ResourceArg { res, disks }),
                off + SanlkResource::LEN + nd * SanlkDisk::LEN,
            )
        }
        _ => (StatusEntry::Plain(rec), off),
    })
}

impl StatusStream {
    /// Decodes a header and the records after it; stops at the first
    /// record that does not decode, keeping the ones before it.
    pub fn decode(b: &[u8]) -> Result<StatusStream, ProtoError> {
        let header = SmHeader::decode(b)?;
        let mut off = SmHeader::LEN;
        let mut entries = Vec::new();
        let mut error = None;
        while off < b.len() {
            match decode_stream_entry(&b[off..]) {
                Ok((e, n)) => {
                    off += n;
                    entries.push(e);
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        Ok(StatusStream {
            header,
            entries,
            error,
        })
    }
}

/// Sends STATUS, HOST_STATUS or RENEWAL and reads the stream to EOF.
pub fn stream(req: &Request) -> Result<StatusStream, ClientError> {
    let mut c = Conn::connect()?;
    c.send(req)?;
    let b = c.recv_to_eof(REPLY_MAX)?;
    if b.len() < SmHeader::LEN {
        return Err(ClientError::Closed {
            what: "the reply header",
            needed: SmHeader::LEN,
            got: b.len(),
        });
    }
    Ok(StatusStream::decode(&b)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::Cmd;
    use crate::flags::*;
    use crate::reply;
    use paxlock_format::Name;

    fn ls(name: &str) -> SanlkLockspace {
        SanlkLockspace {
            name: Name::new(name).unwrap(),
            host_id: 1,
            host_id_disk: SanlkDisk::new(b"/dev/x", 0).unwrap(),
            ..SanlkLockspace::default()
        }
    }

    #[test]
    fn inquire_decodes_what_the_daemon_encodes() {
        let req = SmHeader::request(Cmd::Inquire, 0, 32, 0, 6393);
        let out = reply::encode_inquire_reply(&req, 0, 1, b"LS:R1:/p:0:1").unwrap();
        let h = SmHeader::decode(&out).unwrap();
        let r = InquireReply::decode(&h, &out[32..]);
        assert_eq!(r.state.as_deref(), Some("LS:R1:/p:0:1"));
        assert_eq!((r.result, r.res_count), (0, 1));
        let out = reply::encode_inquire_reply(&req, -3, 0, b"").unwrap();
        let r = InquireReply::decode(&SmHeader::decode(&out).unwrap(), &[]);
        assert_eq!((r.result, r.state), (-3, None));
    }

    #[test]
    fn lists_decode_and_refuse_short_or_huge_counts() {
        let req = SmHeader::request(Cmd::GetLockspaces, 0, 32, 0, 0);
        let out = reply::encode_get_lockspaces_reply(&req, 0, &[ls("A"), ls("B")]);
        let h = SmHeader::decode(&out).unwrap();
        let r = LockspacesReply::decode(&h, &out[32..]).unwrap();
        assert_eq!(r.lockspaces.len(), 2);
        assert_eq!(r.lockspaces[1].name.as_bytes(), b"B");
        // one struct missing
        assert!(LockspacesReply::decode(&h, &out[32..32 + 1104]).is_err());
        // a count no daemon could send is not believed
        let huge = SmHeader {
            data2: u32::MAX,
            ..h
        };
        assert!(LockspacesReply::decode(&huge, &out[32..]).is_err());

        let req = SmHeader::request(Cmd::GetHosts, 0, 1136, 0, 0);
        let host = SanlkHost {
            host_id: 2,
            generation: 3,
            timestamp: 4,
            io_timeout: 10,
            flags: SANLK_HOST_LIVE,
        };
        let out = reply::encode_get_hosts_reply(&req, 0, &[host]);
        let r = HostsReply::decode(&SmHeader::decode(&out).unwrap(), &out[32..]).unwrap();
        assert_eq!(r.hosts, vec![host]);
    }

    #[test]
    fn reads_and_rentry() {
        let req = SmHeader::request(Cmd::ReadLockspace, 0, 1136, 0, 0);
        let out = reply::encode_read_lockspace_reply(&req, 0, 10, &ls("LS"));
        let r = ReadLockspaceReply::decode(&SmHeader::decode(&out).unwrap(), &out[32..]).unwrap();
        assert_eq!(
            (r.io_timeout, r.lockspace.unwrap().name.as_bytes()),
            (10, &b"LS"[..])
        );
        // on error the struct is not read
        let out = reply::encode_read_lockspace_reply(&req, -19, 0, &ls("LS"));
        let r = ReadLockspaceReply::decode(&SmHeader::decode(&out).unwrap(), &[]).unwrap();
        assert_eq!((r.result, r.lockspace), (-19, None));

        let req = SmHeader::request(Cmd::ReadResourceOwners, 0, 1200, 0, 0);
        let res = SanlkResource {
            lver: 7,
            ..SanlkResource::default()
        };
        let owner = SanlkHost {
            host_id: 1,
            ..SanlkHost::default()
        };
        let out = reply::encode_read_resource_owners_reply(&req, 0, &res, &[owner]);
        let r =
            ReadResourceReply::decode_owners(&SmHeader::decode(&out).unwrap(), &out[32..]).unwrap();
        assert_eq!((r.resource.unwrap().lver, r.owners.len()), (7, 1));
        assert!(
            ReadResourceReply::decode_owners(&SmHeader::decode(&out).unwrap(), &out[32..150])
                .is_err()
        );

        let req = SmHeader::request(Cmd::LookupRindex, 0, 1360, 0, 0);
        let re = SanlkRentry {
            name: Name::new("R").unwrap(),
            offset: 3 << 20,
            ..SanlkRentry::default()
        };
        let out = reply::encode_rindex_reply(&req, 0, &re);
        let r = RentryReply::decode(&SmHeader::decode(&out).unwrap(), &out[32..]).unwrap();
        assert_eq!(r.rentry, Some(re));
    }

    #[test]
    fn status_stream_decodes_and_stops_at_a_cut_record() {
        let req = SmHeader::request(Cmd::Status, 0, 32, 0, 0);
        let mut b = reply::encode_stream_header(&req, 0, 0).to_vec();
        let daemon = StateRecord::new(
            SanlkState {
                state_type: SANLK_STATE_DAEMON,
                name: Name::new("host").unwrap(),
                ..SanlkState::default()
            },
            "a=1 b=2",
        )
        .unwrap();
        StatusEntry::Plain(daemon).encode(&mut b);
        let lsrec = StateRecord::new(
            SanlkState {
                state_type: SANLK_STATE_LOCKSPACE,
                ..SanlkState::default()
            },
            "list=spaces",
        )
        .unwrap();
        StatusEntry::Lockspace(lsrec, ls("LS")).encode(&mut b);
        let resrec = StateRecord::new(
            SanlkState {
                state_type: SANLK_STATE_RESOURCE,
                data32: 42,
                data64: 1,
                ..SanlkState::default()
            },
            "list=held",
        )
        .unwrap();
        let res = ResourceArg::new(
            SanlkResource::default(),
            vec![SanlkDisk::new(b"/r", 0).unwrap()],
        );
        StatusEntry::Resource(resrec, res).encode(&mut b);
        let s = StatusStream::decode(&b).unwrap();
        assert_eq!(s.entries.len(), 3);
        assert!(s.error.is_none());
        // cut inside the last record: the first two stay, the error is said
        let s = StatusStream::decode(&b[..b.len() - 10]).unwrap();
        assert_eq!(s.entries.len(), 2);
        assert!(s.error.is_some());
        // a str_len over 4096 is refused, not trusted
        let mut bad = b[..32].to_vec();
        SanlkState {
            state_type: SANLK_STATE_DAEMON,
            str_len: 100_000,
            ..SanlkState::default()
        }
        .encode(&mut bad);
        let s = StatusStream::decode(&bad).unwrap();
        assert!(matches!(s.error, Some(ProtoError::StateTooLong { .. })));
    }

    #[test]
    fn decoders_never_panic_on_garbage() {
        // a cheap deterministic fuzz over prefixes and byte patterns
        let mut seed: u32 = 1;
        for len in 0..400usize {
            let mut b = vec![0u8; len];
            for x in b.iter_mut() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *x = (seed >> 16) as u8;
            }
            if len >= 4 {
                b[0..4].copy_from_slice(&(1 + (len as u32 % 6)).to_le_bytes());
            }
            let _ = decode_stream_entry(&b);
            let _ = StatusStream::decode(&b);
            let h = SmHeader {
                data2: seed % 5,
                ..SmHeader::default()
            };
            let _ = LockspacesReply::decode(&h, &b);
            let _ = HostsReply::decode(&h, &b);
            let _ = ReadLockspaceReply::decode(&h, &b);
            let _ = ReadResourceReply::decode(&h, &b);
            let _ = ReadResourceReply::decode_owners(&h, &b);
            let _ = RentryReply::decode(&h, &b);
            let _ = InquireReply::decode(&h, &b);
        }
    }

    #[test]
    fn connect_errors_map_to_minus_errno() {
        let e = Conn::connect_to(Path::new("/nonexistent-dir-paxlock/sanlock.sock")).unwrap_err();
        assert!(e.is_connect());
        assert_eq!(e.rv(), -errno::ENOENT);
        assert!(e
            .to_string()
            .contains("/nonexistent-dir-paxlock/sanlock.sock"));
    }
}
