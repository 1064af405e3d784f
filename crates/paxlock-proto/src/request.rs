//! Requests (client → daemon): framing, typed decoding and encoding.
//!
//! A daemon reads a request in three steps:
//!
//! 1. read 32 bytes and [`SmHeader::check`] them (spec 2.1);
//! 2. read [`Request::payload_len_to_read`] more bytes — which is *not*
//!    always `header.length - 32` (see below);
//! 3. [`decode_request`] the header and those bytes into a [`Request`].
//!
//! # How many payload bytes follow the header
//!
//! sanlock's daemon reads fixed-size structs and mostly ignores
//! `header.length`, and libsanlock relies on it (spec 3.4, 8.1 item 3; all
//! confirmed by the captures in `testdata/requests/`):
//!
//! | command | `length` says | bytes actually sent |
//! |---------|---------------|---------------------|
//! | HOST_STATUS (15), RENEWAL (34) | 32 | 32 + 1104 (`sanlk_lockspace`) |
//! | LOOKUP_RINDEX (37) | 32 + 1104 + 128 | 32 + 1104 + 64 (`sanlk_rindex` + `sanlk_rentry`) |
//! | ACQUIRE (7) with `sanlk_options.len` ≠ 0 | 32 + resources + 56 | the same: the `len` bytes are never sent |
//!
//! So for every command whose payload has a fixed size the fixed size is
//! read, whatever `length` says; for the commands whose payload varies
//! (ACQUIRE, RELEASE, REQUEST, WRITE_RESOURCE, READ_RESOURCE,
//! READ_RESOURCE_OWNERS, SET_LVB) `length - 32` is read, bounded by
//! `MAX_CLIENT_MSG` (1 MiB). Either way the daemon never waits for bytes
//! libsanlock does not send, and a lying `length` cannot make it allocate
//! more than 1 MiB.

use paxlock_format::Name;

use crate::cmd::Cmd;
use crate::header::{SmHeader, TARGET_SELF};
use crate::wire::{
    Killpath, ResourceArg, SanlkDisk, SanlkHostEvent, SanlkLockspace, SanlkOptions, SanlkRentry,
    SanlkResource, SanlkRindex, LVB_MAX, MAX_CLIENT_MSG, MAX_RESOURCES,
};
use crate::ProtoError;

/// A decoded client request, one variant per command (spec 3.4).
///
/// Header fields that libsanlock always sends as 0 (or -1) for a command
/// are not kept; everything else is. `target_pid` is `header.data2`:
/// `None` is -1, "the registered caller of this connection", `Some(pid)`
/// names another registered process.
///
/// [`Request::encode`] produces what libsanlock sends, quirks included, so
/// `decode_request` ∘ `encode` is the identity.
// Variants carry 1 KiB structs inline; a request is decoded one at a time
// and boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// REGISTER (1): no payload, no reply.
    Register,
    /// ADD_LOCKSPACE (2).
    AddLockspace {
        /// `SANLK_ADD_*`.
        flags: u32,
        /// `header.data`: io_timeout in seconds, 0 = daemon default.
        io_timeout: u32,
        /// The lockspace to join (name, host_id, disk).
        lockspace: SanlkLockspace,
    },
    /// REM_LOCKSPACE (3).
    RemLockspace {
        /// `SANLK_REM_*`.
        flags: u32,
        /// The lockspace to leave.
        lockspace: SanlkLockspace,
    },
    /// SHUTDOWN (4): no reply.
    Shutdown {
        /// `header.data`: 1 = kill lease holders and exit even with lockspaces.
        force: u32,
    },
    /// STATUS (5).
    Status {
        /// `header.data`: 0 all, 1 daemon, 2 + clients, 3 + lockspaces.
        level: u32,
    },
    /// LOG_DUMP (6).
    LogDump,
    /// ACQUIRE (7).
    Acquire {
        /// `SANLK_ACQUIRE_*`.
        flags: u32,
        /// `header.data2`.
        target_pid: Option<i32>,
        /// `header.data` resources (at most 8), each with 1..=4 disks.
        resources: Vec<ResourceArg>,
        /// The options struct that follows the resources.
        options: SanlkOptions,
    },
    /// RELEASE (8): resources without disks.
    Release {
        /// `SANLK_REL_*`.
        flags: u32,
        /// `header.data2`.
        target_pid: Option<i32>,
        /// The 128-byte structs sent (`header.data` of them, at most 8).
        resources: Vec<SanlkResource>,
    },
    /// INQUIRE (9).
    Inquire {
        /// Flags (unused by sanlock).
        flags: u32,
        /// `header.data2`.
        target_pid: Option<i32>,
    },
    /// RESTRICT (10), on a registered connection (`data2` = -1).
    Restrict {
        /// `SANLK_RESTRICT_*`.
        flags: u32,
    },
    /// REQUEST (11).
    Request {
        /// `SANLK_REQUEST_*`.
        flags: u32,
        /// `header.data`: `SANLK_REQ_FORCE` / `SANLK_REQ_GRACEFUL`.
        force_mode: u32,
        /// The resource and its disks.
        resource: ResourceArg,
    },
    /// ALIGN (12).
    Align {
        /// The disk whose alignment is asked.
        disk: SanlkDisk,
    },
    /// EXAMINE_LOCKSPACE (13).
    ExamineLockspace {
        /// Flags.
        flags: u32,
        /// The lockspace.
        lockspace: SanlkLockspace,
    },
    /// EXAMINE_RESOURCE (14): resource without disks.
    ExamineResource {
        /// Flags.
        flags: u32,
        /// The resource (128 bytes only).
        resource: SanlkResource,
    },
    /// HOST_STATUS (15): `length` says 32 but a lockspace follows.
    HostStatus {
        /// Only `name` is used.
        lockspace: SanlkLockspace,
    },
    /// INQ_LOCKSPACE (16).
    InqLockspace {
        /// `SANLK_INQ_WAIT`.
        flags: u32,
        /// The lockspace.
        lockspace: SanlkLockspace,
    },
    /// KILLPATH (17), on a registered connection (`data2` = -1).
    Killpath {
        /// `SANLK_KILLPATH_PID`.
        flags: u32,
        /// Program and arguments.
        killpath: Killpath,
    },
    /// WRITE_LOCKSPACE (18).
    WriteLockspace {
        /// Flags.
        flags: u32,
        /// `header.data` (ignored by sanlock: derived from align/sector flags).
        max_hosts: u32,
        /// `header.data2`: io_timeout, 0 = default.
        io_timeout: u32,
        /// Name, disk and `SANLK_LSF_ALIGN*/SECTOR*` flags.
        lockspace: SanlkLockspace,
    },
    /// WRITE_RESOURCE (19).
    ///
    /// libsanlock puts `max_hosts` in `header.data` and `num_hosts` in
    /// `header.data2` (`sanlock_write_resource(res, max_hosts, num_hosts,
    /// flags)`; captured), but sanlock 3.8's daemon reads `header.data` as
    /// num_hosts — so it uses the caller's max_hosts there.
    WriteResource {
        /// `SANLK_WRITE_CLEAR`.
        flags: u32,
        /// `header.data`, as libsanlock sends it.
        max_hosts: u32,
        /// `header.data2`, as libsanlock sends it.
        num_hosts: u32,
        /// The resource and its disks.
        resource: ResourceArg,
    },
    /// READ_LOCKSPACE (20).
    ReadLockspace {
        /// Flags.
        flags: u32,
        /// Disk and align/sector flags; host_id 0 means 1.
        lockspace: SanlkLockspace,
    },
    /// READ_RESOURCE (21).
    ReadResource {
        /// Flags.
        flags: u32,
        /// Disks and align/sector flags (names may be empty).
        resource: ResourceArg,
    },
    /// GET_LOCKSPACES (22).
    GetLockspaces {
        /// Flags.
        flags: u32,
    },
    /// GET_HOSTS (23).
    GetHosts {
        /// Flags.
        flags: u32,
        /// `name`, and `host_id` (0 = all hosts).
        lockspace: SanlkLockspace,
    },
    /// READ_RESOURCE_OWNERS (24).
    ReadResourceOwners {
        /// Flags.
        flags: u32,
        /// The resource and its disks.
        resource: ResourceArg,
    },
    /// SET_LVB (25): resource without disks, then the value.
    SetLvb {
        /// Flags.
        flags: u32,
        /// The resource (128 bytes only).
        resource: SanlkResource,
        /// The value, at most 4096 bytes (`length - 160`).
        lvb: Vec<u8>,
    },
    /// GET_LVB (26): resource without disks.
    GetLvb {
        /// Flags.
        flags: u32,
        /// `header.data2`: bytes wanted, 0 = one sector (libsanlock sends 0).
        lvb_len: u32,
        /// The resource (128 bytes only).
        resource: SanlkResource,
    },
    /// CONVERT (27): resource without disks.
    Convert {
        /// `SANLK_CONVERT_OWNER_NOWAIT`.
        flags: u32,
        /// `header.data2`.
        target_pid: Option<i32>,
        /// Target mode in `flags & SANLK_RES_SHARED`.
        resource: SanlkResource,
    },
    /// VERSION (28).
    Version {
        /// Flags.
        flags: u32,
    },
    /// SHUTDOWN_WAIT (29).
    ShutdownWait {
        /// `header.data`: 1 = force.
        force: u32,
    },
    /// REG_EVENT (30).
    RegEvent {
        /// Flags.
        flags: u32,
        /// Only `name` is used.
        lockspace: SanlkLockspace,
        /// Sent but unused by sanlock.
        event: SanlkHostEvent,
    },
    /// END_EVENT (31).
    EndEvent {
        /// Flags.
        flags: u32,
        /// Only `name` is used.
        lockspace: SanlkLockspace,
    },
    /// SET_EVENT (32).
    SetEvent {
        /// `SANLK_SETEV_*`.
        flags: u32,
        /// Only `name` is used.
        lockspace: SanlkLockspace,
        /// Target host and event.
        event: SanlkHostEvent,
    },
    /// SET_CONFIG (33).
    SetConfig {
        /// Flags.
        flags: u32,
        /// `header.data`: `SANLK_CONFIG_*`.
        config_cmd: u32,
        /// Only `name` is used.
        lockspace: SanlkLockspace,
    },
    /// RENEWAL (34): `length` says 32 but a lockspace follows.
    Renewal {
        /// Only `name` is used.
        lockspace: SanlkLockspace,
    },
    /// FORMAT_RINDEX (35).
    FormatRindex {
        /// Flags.
        flags: u32,
        /// The index to format.
        rindex: SanlkRindex,
    },
    /// UPDATE_RINDEX (36).
    UpdateRindex {
        /// `SANLK_RXUP_ADD` / `SANLK_RXUP_REM` (+ `SANLK_RX_NO_LOCKSPACE`).
        flags: u32,
        /// The index.
        rindex: SanlkRindex,
        /// The entry.
        rentry: SanlkRentry,
    },
    /// LOOKUP_RINDEX (37): `length` over-states the payload by 64.
    LookupRindex {
        /// Flags.
        flags: u32,
        /// The index.
        rindex: SanlkRindex,
        /// The name (and/or offset) to look up; empty = first free.
        rentry: SanlkRentry,
    },
    /// CREATE_RESOURCE (38).
    CreateResource {
        /// Flags.
        flags: u32,
        /// `header.data`.
        max_hosts: u32,
        /// `header.data2`.
        num_hosts: u32,
        /// The index.
        rindex: SanlkRindex,
        /// The new entry's name.
        rentry: SanlkRentry,
    },
    /// DELETE_RESOURCE (39).
    DeleteResource {
        /// Flags.
        flags: u32,
        /// The index.
        rindex: SanlkRindex,
        /// The entry to delete.
        rentry: SanlkRentry,
    },
    /// REBUILD_RINDEX (40).
    RebuildRindex {
        /// Flags.
        flags: u32,
        /// The index.
        rindex: SanlkRindex,
    },
}

/// The payload size of commands whose payload never varies; `None` for the
/// variable ones, whose size comes from `header.length`.
fn fixed_payload_len(cmd: Cmd) -> Option<usize> {
    const LS: usize = SanlkLockspace::LEN;
    const RX: usize = SanlkRindex::LEN;
    Some(match cmd {
        Cmd::Register
        | Cmd::Shutdown
        | Cmd::Status
        | Cmd::LogDump
        | Cmd::Inquire
        | Cmd::Restrict
        | Cmd::GetLockspaces
        | Cmd::Version
        | Cmd::ShutdownWait => 0,
        Cmd::AddLockspace
        | Cmd::RemLockspace
        | Cmd::ExamineLockspace
        | Cmd::HostStatus
        | Cmd::InqLockspace
        | Cmd::WriteLockspace
        | Cmd::ReadLockspace
        | Cmd::GetHosts
        | Cmd::EndEvent
        | Cmd::SetConfig
        | Cmd::Renewal => LS,
        Cmd::RegEvent | Cmd::SetEvent => LS + SanlkHostEvent::LEN,
        Cmd::Align => SanlkDisk::LEN,
        Cmd::ExamineResource | Cmd::GetLvb | Cmd::Convert => SanlkResource::LEN,
        Cmd::Killpath => Killpath::LEN,
        Cmd::FormatRindex | Cmd::RebuildRindex => RX,
        Cmd::UpdateRindex | Cmd::LookupRindex | Cmd::CreateResource | Cmd::DeleteResource => {
            RX + SanlkRentry::LEN
        }
        Cmd::Acquire
        | Cmd::Release
        | Cmd::Request
        | Cmd::WriteResource
        | Cmd::ReadResource
        | Cmd::ReadResourceOwners
        | Cmd::SetLvb => return None,
    })
}

fn target_from_wire(data2: u32) -> Option<i32> {
    if data2 == TARGET_SELF {
        None
    } else {
        Some(data2 as i32)
    }
}

fn target_to_wire(t: Option<i32>) -> u32 {
    match t {
        None => TARGET_SELF,
        Some(pid) => pid as u32,
    }
}

/// Decodes one resource with disks that must fill `payload` exactly.
fn one_resource(cmd: Cmd, payload: &[u8]) -> Result<ResourceArg, ProtoError> {
    let r = ResourceArg::decode(payload)?;
    if r.encoded_len() != payload.len() {
        return Err(ProtoError::Trailing {
            cmd,
            expected: r.encoded_len(),
            got: payload.len(),
        });
    }
    Ok(r)
}

impl Request {
    /// How many payload bytes follow this header on the socket, for
    /// sanlock's clients (see the module docs for the quirks).
    ///
    /// Errors: [`ProtoError::UnknownCommand`], and [`ProtoError::BadLength`]
    /// when `length` is below 32 or above 1 MiB — the stream cannot be
    /// resynchronised then, so close the connection.
    pub fn payload_len_to_read(h: &SmHeader) -> Result<usize, ProtoError> {
        let cmd = Cmd::try_from(h.cmd)?;
        let length = h.length as usize;
        if !(SmHeader::LEN..=MAX_CLIENT_MSG).contains(&length) {
            return Err(ProtoError::BadLength { length: h.length });
        }
        Ok(fixed_payload_len(cmd).unwrap_or(length - SmHeader::LEN))
    }

    /// The command of this request.
    pub fn cmd(&self) -> Cmd {
        match self {
            Request::Register => Cmd::Register,
            Request::AddLockspace { .. } => Cmd::AddLockspace,
            Request::RemLockspace { .. } => Cmd::RemLockspace,
            Request::Shutdown { .. } => Cmd::Shutdown,
            Request::Status { .. } => Cmd::Status,
            Request::LogDump => Cmd::LogDump,
            Request::Acquire { .. } => Cmd::Acquire,
            Request::Release { .. } => Cmd::Release,
            Request::Inquire { .. } => Cmd::Inquire,
            Request::Restrict { .. } => Cmd::Restrict,
            Request::Request { .. } => Cmd::Request,
            Request::Align { .. } => Cmd::Align,
            Request::ExamineLockspace { .. } => Cmd::ExamineLockspace,
            Request::ExamineResource { .. } => Cmd::ExamineResource,
            Request::HostStatus { .. } => Cmd::HostStatus,
            Request::InqLockspace { .. } => Cmd::InqLockspace,
            Request::Killpath { .. } => Cmd::Killpath,
            Request::WriteLockspace { .. } => Cmd::WriteLockspace,
            Request::WriteResource { .. } => Cmd::WriteResource,
            Request::ReadLockspace { .. } => Cmd::ReadLockspace,
            Request::ReadResource { .. } => Cmd::ReadResource,
            Request::GetLockspaces { .. } => Cmd::GetLockspaces,
            Request::GetHosts { .. } => Cmd::GetHosts,
            Request::ReadResourceOwners { .. } => Cmd::ReadResourceOwners,
            Request::SetLvb { .. } => Cmd::SetLvb,
            Request::GetLvb { .. } => Cmd::GetLvb,
            Request::Convert { .. } => Cmd::Convert,
            Request::Version { .. } => Cmd::Version,
            Request::ShutdownWait { .. } => Cmd::ShutdownWait,
            Request::RegEvent { .. } => Cmd::RegEvent,
            Request::EndEvent { .. } => Cmd::EndEvent,
            Request::SetEvent { .. } => Cmd::SetEvent,
            Request::SetConfig { .. } => Cmd::SetConfig,
            Request::Renewal { .. } => Cmd::Renewal,
            Request::FormatRindex { .. } => Cmd::FormatRindex,
            Request::UpdateRindex { .. } => Cmd::UpdateRindex,
            Request::LookupRindex { .. } => Cmd::LookupRindex,
            Request::CreateResource { .. } => Cmd::CreateResource,
            Request::DeleteResource { .. } => Cmd::DeleteResource,
            Request::RebuildRindex { .. } => Cmd::RebuildRindex,
        }
    }

    /// The header libsanlock sends for this request, and the payload bytes.
    ///
    /// `length` is 32 + payload except for libsanlock's quirks:
    /// HOST_STATUS and RENEWAL say 32, LOOKUP_RINDEX says 32 + 1104 + 128.
    pub fn encode_parts(&self) -> (SmHeader, Vec<u8>) {
        let mut p = Vec::new();
        // (cmd_flags, data, data2)
        let (flags, data, data2) = match self {
            Request::Register | Request::LogDump => (0, 0, 0),
            Request::AddLockspace {
                flags,
                io_timeout,
                lockspace,
            } => {
                lockspace.encode(&mut p);
                (*flags, *io_timeout, 0)
            }
            Request::RemLockspace { flags, lockspace }
            | Request::ExamineLockspace { flags, lockspace }
            | Request::InqLockspace { flags, lockspace }
            | Request::ReadLockspace { flags, lockspace }
            | Request::GetHosts { flags, lockspace }
            | Request::EndEvent { flags, lockspace } => {
                lockspace.encode(&mut p);
                (*flags, 0, 0)
            }
            Request::Shutdown { force } | Request::ShutdownWait { force } => (0, *force, 0),
            Request::Status { level } => (0, *level, 0),
            Request::Acquire {
                flags,
                target_pid,
                resources,
                options,
            } => {
                for r in resources {
                    r.encode(&mut p);
                }
                options.encode(&mut p);
                (*flags, resources.len() as u32, target_to_wire(*target_pid))
            }
            Request::Release {
                flags,
                target_pid,
                resources,
            } => {
                for r in resources {
                    r.encode(&mut p);
                }
                (*flags, resources.len() as u32, target_to_wire(*target_pid))
            }
            Request::Inquire { flags, target_pid } => (*flags, 0, target_to_wire(*target_pid)),
            Request::Restrict { flags } => (*flags, 0, TARGET_SELF),
            Request::Request {
                flags,
                force_mode,
                resource,
            } => {
                resource.encode(&mut p);
                (*flags, *force_mode, 0)
            }
            Request::Align { disk } => {
                disk.encode(&mut p);
                (0, 0, 0)
            }
            Request::ExamineResource { flags, resource } => {
                resource.encode(&mut p);
                (*flags, 0, 0)
            }
            Request::HostStatus { lockspace } | Request::Renewal { lockspace } => {
                lockspace.encode(&mut p);
                (0, 0, 0)
            }
            Request::Killpath { flags, killpath } => {
                killpath.encode(&mut p);
                (*flags, 0, TARGET_SELF)
            }
            Request::WriteLockspace {
                flags,
                max_hosts,
                io_timeout,
                lockspace,
            } => {
                lockspace.encode(&mut p);
                (*flags, *max_hosts, *io_timeout)
            }
            Request::WriteResource {
                flags,
                max_hosts,
                num_hosts,
                resource,
            } => {
                resource.encode(&mut p);
                (*flags, *max_hosts, *num_hosts)
            }
            Request::ReadResource { flags, resource }
            | Request::ReadResourceOwners { flags, resource } => {
                resource.encode(&mut p);
                (*flags, 0, 0)
            }
            Request::GetLockspaces { flags } | Request::Version { flags } => (*flags, 0, 0),
            Request::SetLvb {
                flags,
                resource,
                lvb,
            } => {
                resource.encode(&mut p);
                p.extend_from_slice(lvb);
                (*flags, 0, 0)
            }
            Request::GetLvb {
                flags,
                lvb_len,
                resource,
            } => {
                resource.encode(&mut p);
                (*flags, 0, *lvb_len)
            }
            Request::Convert {
                flags,
                target_pid,
                resource,
            } => {
                resource.encode(&mut p);
                (*flags, 0, target_to_wire(*target_pid))
            }
            Request::RegEvent {
                flags,
                lockspace,
                event,
            }
            | Request::SetEvent {
                flags,
                lockspace,
                event,
            } => {
                lockspace.encode(&mut p);
                event.encode(&mut p);
                (*flags, 0, 0)
            }
            Request::SetConfig {
                flags,
                config_cmd,
                lockspace,
            } => {
                lockspace.encode(&mut p);
                (*flags, *config_cmd, 0)
            }
            Request::FormatRindex { flags, rindex } | Request::RebuildRindex { flags, rindex } => {
                rindex.encode(&mut p);
                (*flags, 0, 0)
            }
            Request::UpdateRindex {
                flags,
                rindex,
                rentry,
            }
            | Request::LookupRindex {
                flags,
                rindex,
                rentry,
            }
            | Request::DeleteResource {
                flags,
                rindex,
                rentry,
            } => {
                rindex.encode(&mut p);
                rentry.encode(&mut p);
                (*flags, 0, 0)
            }
            Request::CreateResource {
                flags,
                max_hosts,
                num_hosts,
                rindex,
                rentry,
            } => {
                rindex.encode(&mut p);
                rentry.encode(&mut p);
                (*flags, *max_hosts, *num_hosts)
            }
        };
        let cmd = self.cmd();
        let length = match cmd {
            Cmd::HostStatus | Cmd::Renewal => SmHeader::LEN,
            Cmd::LookupRindex => SmHeader::LEN + SanlkRindex::LEN + SanlkResource::LEN,
            _ => SmHeader::LEN + p.len(),
        };
        (SmHeader::request(cmd, flags, length as u32, data, data2), p)
    }

    /// The header libsanlock sends for this request.
    pub fn header(&self) -> SmHeader {
        self.encode_parts().0
    }

    /// The request as libsanlock puts it on the socket: header then payload.
    pub fn encode(&self) -> Vec<u8> {
        let (h, p) = self.encode_parts();
        let mut out = Vec::with_capacity(SmHeader::LEN + p.len());
        h.encode(&mut out);
        out.extend_from_slice(&p);
        out
    }

    /// A RELEASE of one resource by name, as `sanlock client release -r
    /// LS:R` sends it (128-byte struct, num_disks 0).
    pub fn release_by_name(lockspace: Name, name: Name, target_pid: Option<i32>) -> Request {
        Request::Release {
            flags: 0,
            target_pid,
            resources: vec![SanlkResource {
                lockspace_name: lockspace,
                name,
                ..SanlkResource::default()
            }],
        }
    }
}

/// Decodes a request: `payload` must be exactly the
/// [`Request::payload_len_to_read`] bytes that followed `h`.
///
/// Checks, in sanlock's order: the header (magic, protocol major, command
/// number), the framing (`length`), the payload size, then the command's
/// own limits — resource count ≤ 8 (`-E2BIG`), `num_disks` 1..=4 where
/// disks follow (`-ERANGE`), C strings NUL-terminated, lvb ≤ 4096
/// (`-E2BIG`). Never panics, whatever the bytes; never allocates more than
/// the payload's size. See [`ProtoError::result_code`] for the reply to
/// send on error.
pub fn decode_request(h: &SmHeader, payload: &[u8]) -> Result<Request, ProtoError> {
    let cmd = h.check().into_result()?;
    let expected = Request::payload_len_to_read(h)?;
    if payload.len() < expected {
        return Err(ProtoError::Short {
            what: cmd.name(),
            needed: expected,
            got: payload.len(),
        });
    }
    if payload.len() > expected {
        return Err(ProtoError::Trailing {
            cmd,
            expected,
            got: payload.len(),
        });
    }
    let flags = h.cmd_flags;
    let ls = || SanlkLockspace::decode(payload);
    let rx = || SanlkRindex::decode(payload);
    let re = || SanlkRentry::decode(&payload[SanlkRindex::LEN..]);
    let ev = || SanlkHostEvent::decode(&payload[SanlkLockspace::LEN..]);
    Ok(match cmd {
        Cmd::Register => Request::Register,
        Cmd::AddLockspace => Request::AddLockspace {
            flags,
            io_timeout: h.data,
            lockspace: ls()?,
        },
        Cmd::RemLockspace => Request::RemLockspace {
            flags,
            lockspace: ls()?,
        },
        Cmd::Shutdown => Request::Shutdown { force: h.data },
        Cmd::Status => Request::Status { level: h.data },
        Cmd::LogDump => Request::LogDump,
        Cmd::Acquire => {
            let count = h.data;
            if count as usize > MAX_RESOURCES {
                return Err(ProtoError::TooManyResources { cmd, count });
            }
            let mut off = 0;
            let mut resources = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let r = ResourceArg::decode(&payload[off..])?;
                off += r.encoded_len();
                resources.push(r);
            }
            let options = SanlkOptions::decode(&payload[off..])?;
            off += SanlkOptions::LEN;
            if off != payload.len() {
                return Err(ProtoError::Trailing {
                    cmd,
                    expected: off,
                    got: payload.len(),
                });
            }
            Request::Acquire {
                flags,
                target_pid: target_from_wire(h.data2),
                resources,
                options,
            }
        }
        Cmd::Release => {
            let count = h.data;
            if count as usize > MAX_RESOURCES {
                return Err(ProtoError::TooManyResources { cmd, count });
            }
            let needed = count as usize * SanlkResource::LEN;
            if payload.len() < needed {
                return Err(ProtoError::Short {
                    what: "RELEASE resources",
                    needed,
                    got: payload.len(),
                });
            }
            if payload.len() > needed {
                return Err(ProtoError::CountMismatch {
                    cmd,
                    count,
                    found: payload.len().div_ceil(SanlkResource::LEN),
                });
            }
            let resources = payload
                .chunks_exact(SanlkResource::LEN)
                .map(SanlkResource::decode)
                .collect::<Result<Vec<_>, _>>()?;
            Request::Release {
                flags,
                target_pid: target_from_wire(h.data2),
                resources,
            }
        }
        Cmd::Inquire => Request::Inquire {
            flags,
            target_pid: target_from_wire(h.data2),
        },
        Cmd::Restrict => Request::Restrict { flags },
        Cmd::Request => Request::Request {
            flags,
            force_mode: h.data,
            resource: one_resource(cmd, payload)?,
        },
        Cmd::Align => Request::Align {
            disk: SanlkDisk::decode(payload)?,
        },
        Cmd::ExamineLockspace => Request::ExamineLockspace {
            flags,
            lockspace: ls()?,
        },
        Cmd::ExamineResource => Request::ExamineResource {
            flags,
            resource: SanlkResource::decode(payload)?,
        },
        Cmd::HostStatus => Request::HostStatus { lockspace: ls()? },
        Cmd::InqLockspace => Request::InqLockspace {
            flags,
            lockspace: ls()?,
        },
        Cmd::Killpath => Request::Killpath {
            flags,
            killpath: Killpath::decode(payload)?,
        },
        Cmd::WriteLockspace => Request::WriteLockspace {
            flags,
            max_hosts: h.data,
            io_timeout: h.data2,
            lockspace: ls()?,
        },
        Cmd::WriteResource => Request::WriteResource {
            flags,
            max_hosts: h.data,
            num_hosts: h.data2,
            resource: one_resource(cmd, payload)?,
        },
        Cmd::ReadLockspace => Request::ReadLockspace {
            flags,
            lockspace: ls()?,
        },
        Cmd::ReadResource => Request::ReadResource {
            flags,
            resource: one_resource(cmd, payload)?,
        },
        Cmd::GetLockspaces => Request::GetLockspaces { flags },
        Cmd::GetHosts => Request::GetHosts {
            flags,
            lockspace: ls()?,
        },
        Cmd::ReadResourceOwners => Request::ReadResourceOwners {
            flags,
            resource: one_resource(cmd, payload)?,
        },
        Cmd::SetLvb => {
            let resource = SanlkResource::decode(payload)?;
            let lvb = &payload[SanlkResource::LEN..];
            if lvb.len() > LVB_MAX {
                return Err(ProtoError::LvbTooLarge { len: lvb.len() });
            }
            Request::SetLvb {
                flags,
                resource,
                lvb: lvb.to_vec(),
            }
        }
        Cmd::GetLvb => Request::GetLvb {
            flags,
            lvb_len: h.data2,
            resource: SanlkResource::decode(payload)?,
        },
        Cmd::Convert => Request::Convert {
            flags,
            target_pid: target_from_wire(h.data2),
            resource: SanlkResource::decode(payload)?,
        },
        Cmd::Version => Request::Version { flags },
        Cmd::ShutdownWait => Request::ShutdownWait { force: h.data },
        Cmd::RegEvent => Request::RegEvent {
            flags,
            lockspace: ls()?,
            event: ev()?,
        },
        Cmd::EndEvent => Request::EndEvent {
            flags,
            lockspace: ls()?,
        },
        Cmd::SetEvent => Request::SetEvent {
            flags,
            lockspace: ls()?,
            event: ev()?,
        },
        Cmd::SetConfig => Request::SetConfig {
            flags,
            config_cmd: h.data,
            lockspace: ls()?,
        },
        Cmd::Renewal => Request::Renewal { lockspace: ls()? },
        Cmd::FormatRindex => Request::FormatRindex {
            flags,
            rindex: rx()?,
        },
        Cmd::UpdateRindex => Request::UpdateRindex {
            flags,
            rindex: rx()?,
            rentry: re()?,
        },
        Cmd::LookupRindex => Request::LookupRindex {
            flags,
            rindex: rx()?,
            rentry: re()?,
        },
        Cmd::CreateResource => Request::CreateResource {
            flags,
            max_hosts: h.data,
            num_hosts: h.data2,
            rindex: rx()?,
            rentry: re()?,
        },
        Cmd::DeleteResource => Request::DeleteResource {
            flags,
            rindex: rx()?,
            rentry: re()?,
        },
        Cmd::RebuildRindex => Request::RebuildRindex {
            flags,
            rindex: rx()?,
        },
    })
}

/// Splits `bytes` into a header and the payload
/// [`Request::payload_len_to_read`] asks for, and decodes them; returns the
/// request and the bytes it used. For tests and tools that hold a whole
/// byte stream; a daemon reads the header and payload separately.
pub fn decode_request_bytes(bytes: &[u8]) -> Result<(Request, usize), ProtoError> {
    let h = SmHeader::decode(bytes)?;
    h.check().into_result()?;
    let n = Request::payload_len_to_read(&h)?;
    let end = SmHeader::LEN + n;
    if bytes.len() < end {
        return Err(ProtoError::Short {
            what: "request payload",
            needed: end,
            got: bytes.len(),
        });
    }
    let req = decode_request(&h, &bytes[SmHeader::LEN..end])?;
    Ok((req, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cstr::DiskPath;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn disk(p: &str, off: u64) -> SanlkDisk {
        SanlkDisk::new(p.as_bytes(), off).unwrap()
    }

    fn res(ls: &str, r: &str) -> SanlkResource {
        SanlkResource {
            lockspace_name: name(ls),
            name: name(r),
            ..SanlkResource::default()
        }
    }

    #[test]
    fn every_command_has_a_payload_rule() {
        for c in Cmd::ALL {
            let h = SmHeader::request(c, 0, 32, 0, 0);
            let n = Request::payload_len_to_read(&h).unwrap();
            match c {
                Cmd::HostStatus | Cmd::Renewal => assert_eq!(n, 1104),
                Cmd::LookupRindex => assert_eq!(n, 1168),
                _ => {}
            }
        }
    }

    #[test]
    fn lengths_are_bounded() {
        let mut h = SmHeader::request(Cmd::Acquire, 0, 31, 1, 0);
        assert_eq!(
            Request::payload_len_to_read(&h),
            Err(ProtoError::BadLength { length: 31 })
        );
        h.length = 1024 * 1024 + 1;
        assert!(Request::payload_len_to_read(&h).is_err());
        h.length = 1024 * 1024;
        assert_eq!(Request::payload_len_to_read(&h), Ok(1024 * 1024 - 32));
        h.length = u32::MAX;
        assert!(Request::payload_len_to_read(&h).is_err());
        h.cmd = 0;
        assert_eq!(
            Request::payload_len_to_read(&h),
            Err(ProtoError::UnknownCommand { cmd: 0 })
        );
    }

    #[test]
    fn acquire_limits() {
        let one = ResourceArg::new(res("LS", "R1"), vec![disk("/d", 0)]);
        let req = Request::Acquire {
            flags: 0,
            target_pid: Some(7),
            resources: vec![one.clone(); 8],
            options: SanlkOptions::default(),
        };
        let bytes = req.encode();
        let (back, used) = decode_request_bytes(&bytes).unwrap();
        assert_eq!(back, req);
        assert_eq!(used, bytes.len());

        // nine resources: -E2BIG before anything is read
        let mut h = SmHeader::decode(&bytes).unwrap();
        h.data = 9;
        let err = decode_request(&h, &bytes[32..]).unwrap_err();
        assert_eq!(err.result_code(), Some(-7));

        // a huge count is not trusted either
        h.data = u32::MAX;
        assert!(matches!(
            decode_request(&h, &bytes[32..]),
            Err(ProtoError::TooManyResources { .. })
        ));

        // count larger than the payload: short, -ENOTCONN
        let one_req = Request::Acquire {
            flags: 0,
            target_pid: None,
            resources: vec![one],
            options: SanlkOptions::default(),
        };
        let b = one_req.encode();
        let mut h = SmHeader::decode(&b).unwrap();
        h.data = 2;
        assert_eq!(
            decode_request(&h, &b[32..]).unwrap_err().result_code(),
            Some(-107)
        );
        // count smaller than the payload: trailing bytes
        h.data = 0;
        assert!(matches!(
            decode_request(&h, &b[32..]),
            Err(ProtoError::Trailing { .. })
        ));
    }

    #[test]
    fn acquire_num_disks_zero_is_erange() {
        let mut bytes = Request::Acquire {
            flags: 0,
            target_pid: None,
            resources: vec![ResourceArg::new(res("LS", "R1"), vec![disk("/d", 0)])],
            options: SanlkOptions::default(),
        }
        .encode();
        bytes[32 + 124..32 + 128].copy_from_slice(&0u32.to_le_bytes());
        let err = decode_request_bytes(&bytes).unwrap_err();
        assert!(matches!(err, ProtoError::NumDisks { num_disks: 0, .. }));
        assert_eq!(err.result_code(), Some(-34));
    }

    #[test]
    fn release_counts() {
        let req = Request::release_by_name(name("LS"), name("R1"), Some(4242));
        let b = req.encode();
        assert_eq!(b.len(), 160);
        assert_eq!(decode_request_bytes(&b).unwrap().0, req);

        let mut h = SmHeader::decode(&b).unwrap();
        h.data = 2;
        assert!(matches!(
            decode_request(&h, &b[32..]),
            Err(ProtoError::Short { .. })
        ));
        h.data = 0;
        assert!(matches!(
            decode_request(&h, &b[32..]),
            Err(ProtoError::CountMismatch {
                count: 0,
                found: 1,
                ..
            })
        ));
        h.data = 9;
        assert!(matches!(
            decode_request(&h, &b[32..]),
            Err(ProtoError::TooManyResources { count: 9, .. })
        ));
    }

    #[test]
    fn header_quirks_are_reproduced() {
        let hs = Request::HostStatus {
            lockspace: SanlkLockspace::named(name("LS")),
        };
        let b = hs.encode();
        assert_eq!(b.len(), 32 + 1104);
        assert_eq!(hs.header().length, 32);
        assert_eq!(decode_request_bytes(&b).unwrap(), (hs, 1136));

        let lk = Request::LookupRindex {
            flags: 0,
            rindex: SanlkRindex::default(),
            rentry: SanlkRentry::default(),
        };
        let b = lk.encode();
        assert_eq!(b.len(), 32 + 1104 + 64);
        assert_eq!(lk.header().length, 32 + 1104 + 128);
        assert_eq!(decode_request_bytes(&b).unwrap(), (lk, 1200));
    }

    #[test]
    fn lvb_limit() {
        let mk = |n: usize| Request::SetLvb {
            flags: 0,
            resource: res("LS", "R1"),
            lvb: vec![7; n],
        };
        let ok = mk(4096).encode();
        assert!(decode_request_bytes(&ok).is_ok());
        let big = mk(4097).encode();
        assert_eq!(
            decode_request_bytes(&big).unwrap_err(),
            ProtoError::LvbTooLarge { len: 4097 }
        );
    }

    #[test]
    fn payload_must_match_exactly() {
        let req = Request::AddLockspace {
            flags: 0,
            io_timeout: 0,
            lockspace: SanlkLockspace {
                name: name("LS"),
                host_id: 1,
                host_id_disk: SanlkDisk {
                    path: DiskPath::new(b"/ls").unwrap(),
                    ..SanlkDisk::default()
                },
                ..SanlkLockspace::default()
            },
        };
        let b = req.encode();
        let h = SmHeader::decode(&b).unwrap();
        assert!(matches!(
            decode_request(&h, &b[32..b.len() - 1]),
            Err(ProtoError::Short { .. })
        ));
        let mut long = b[32..].to_vec();
        long.push(0);
        assert!(matches!(
            decode_request(&h, &long),
            Err(ProtoError::Trailing { .. })
        ));
        // header checks come first
        let bad = SmHeader { magic: 1, ..h };
        assert_eq!(
            decode_request(&bad, &b[32..]),
            Err(ProtoError::BadMagic { magic: 1 })
        );
    }

    #[test]
    fn target_pid_mapping() {
        assert_eq!(target_from_wire(0xffff_ffff), None);
        assert_eq!(target_from_wire(4242), Some(4242));
        assert_eq!(target_from_wire(0), Some(0));
        assert_eq!(target_to_wire(None), 0xffff_ffff);
        assert_eq!(target_to_wire(Some(6393)), 6393);
    }
}
