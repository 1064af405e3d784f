//! Disk commands that need no lockspace membership: ALIGN, init and read
//! of lockspaces and resources, READ_RESOURCE_OWNERS, and the resource
//! index (FORMAT/REBUILD/UPDATE/LOOKUP_RINDEX, CREATE/DELETE_RESOURCE).
//!
//! Each command does what sanlock 3.8.5's daemon does, with its result
//! numbers (checked against the real daemon by
//! `crates/paxlock/tests/daemon_diskcmd.rs`):
//!
//! * the disk is opened read-write with O_DIRECT|O_SYNC; an open failure is
//!   `-ENODEV` for ALIGN and the lockspace commands, the open errno (e.g.
//!   `-ENOENT`) for the resource and rindex commands;
//! * reads past the end of the storage give `-EMSGSIZE` (sanlock's aio
//!   sees a short read), misaligned O_DIRECT I/O `-EINVAL`, a timed out
//!   I/O `SANLK_AIO_TIMEOUT`;
//! * the init writes (WRITE_LOCKSPACE, WRITE_RESOURCE, FORMAT_RINDEX, the
//!   leases of CREATE/DELETE_RESOURCE) extend a regular file that is too
//!   short, as sanlock's write does;
//! * geometry comes from the request's `ALIGN*`/`SECTOR*` flags (both or
//!   neither, else -1), else from the device's sector size with the legacy
//!   align size (512 → 1M, 4096 → 8M);
//! * CREATE/DELETE_RESOURCE, and LOOKUP/UPDATE/REBUILD_RINDEX without
//!   `SANLK_RX_NO_LOCKSPACE`, need the lockspace joined (`-ENOENT`
//!   otherwise, `-ENOSPC` when it was lost, `-EBUSY` while another rindex
//!   command of that lockspace runs); CREATE, DELETE and REBUILD (with the
//!   lockspace) hold the `rindex_lease` paxos lease while they update the
//!   index.
//!
//! Where sanlock would read or write outside its buffers (lease offsets
//! before the first lease slot, entries beyond the rindex area, num_hosts
//! larger than the area), this module stops at the area's end and
//! answers `SANLK_RINDEX_OFFSET` or ignores what does not fit.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paxlock_core::paxos::{AcquireOpts, Held, Mode, ResourceSpec};
use paxlock_core::LeaseLoc;
use paxlock_driver::Lockspace;
use paxlock_format::area;
use paxlock_format::dblock::ModeBlock;
use paxlock_format::leader::{DELTA_DISK_MAGIC, DELTA_DISK_VERSION, VERSION_MAJOR_MASK};
use paxlock_format::rindex::{
    self as rx, RindexEntry, RindexHeader, RINDEX_DISK_MAGIC, RINDEX_DISK_VERSION,
    RINDEX_ENTRY_LEN, RINDEX_LEASE_NAME,
};
use paxlock_format::{AlignSize, Geometry, LeaderRecord, Name, SectorSize};
use paxlock_io::{Access, Disk, DiskKind, IoError};
use paxlock_proto::cstr::DiskPath;
use paxlock_proto::flags::{
    SANLK_RES_SHARED, SANLK_RXUP_ADD, SANLK_RXUP_REM, SANLK_RX_NO_LOCKSPACE, SANLK_WRITE_CLEAR,
};
use paxlock_proto::reply;
use paxlock_proto::wire::{
    ResourceArg, SanlkDisk, SanlkHost, SanlkLockspace, SanlkRentry, SanlkResource, SanlkRindex,
};
use paxlock_proto::{Request, SmHeader};

use crate::conn::{result, Reply};
use crate::state::{Daemon, SpaceState};

const ENOENT: i32 = -2;
const EIO: i32 = -5;
const EBADF: i32 = -9;
const EBUSY: i32 = -16;
const ENODEV: i32 = -19;
const EISDIR: i32 = -21;
const EINVAL: i32 = -22;
const ENOSPC: i32 = -28;
const EMSGSIZE: i32 = -90;
const SANLK_AIO_TIMEOUT: i32 = -202;
const SANLK_LEADER_MAGIC: i32 = -223;
const SANLK_LEADER_VERSION: i32 = -224;
const SANLK_RINDEX_MAGIC: i32 = -274;
const SANLK_RINDEX_VERSION: i32 = -275;
const SANLK_RINDEX_LOCKSPACE: i32 = -276;
const SANLK_RINDEX_OFFSET: i32 = -277;
const SANLK_RINDEX_DIFF: i32 = -278;

/// sanlock's `DEFAULT_IO_TIMEOUT`: reads of these commands.
const IO_TIMEOUT_SECS: u32 = 10;
/// sanlock's `DEFAULT_WRITE_INIT_IO_TIMEOUT`: the writes that initialise.
const WRITE_INIT_TIMEOUT: Duration = Duration::from_secs(60);

// The ALIGN/SECTOR bits are the same in sanlk_lockspace, sanlk_resource and
// sanlk_rindex flags.
const FLAG_SECTOR512: u32 = 0x100;
const FLAG_SECTOR4K: u32 = 0x200;
const FLAGS_SIZES: u32 = 0x3f0;

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

/// Handles `req` if it is a disk command; `None` otherwise.
pub(crate) fn handle(d: &Daemon, h: &SmHeader, req: &Request) -> Option<Reply> {
    Some(match req {
        Request::Align { disk } => result(h, align(disk)),
        Request::WriteLockspace {
            io_timeout,
            lockspace,
            ..
        } => result(h, write_lockspace(lockspace, *io_timeout)),
        Request::WriteResource {
            flags,
            max_hosts,
            resource,
            ..
        } => {
            // sanlock 3.8 reads header.data as num_hosts; libsanlock puts
            // the caller's max_hosts there.
            result(
                h,
                write_resource(resource, *max_hosts, flags & SANLK_WRITE_CLEAR != 0),
            )
        }
        Request::ReadLockspace { lockspace, .. } => {
            let mut ls = lockspace.clone();
            let (rv, io_timeout) = match read_lockspace(&mut ls) {
                Ok(t) => (0, t),
                Err(rv) => (rv, 0),
            };
            log(d, "cmd_read_lockspace", rv);
            Reply::Bytes(reply::encode_read_lockspace_reply(h, rv, io_timeout, &ls))
        }
        Request::ReadResource { resource, .. } => {
            let mut res = resource.res;
            let rv = read_resource(resource, &mut res).err().unwrap_or(0);
            log(d, "cmd_read_resource", rv);
            Reply::Bytes(reply::encode_read_resource_reply(h, rv, &res))
        }
        Request::ReadResourceOwners { resource, .. } => {
            let mut res = resource.res;
            let (rv, hosts) = match read_resource_owners(resource, &mut res) {
                Ok(hosts) => (0, hosts),
                Err(rv) => (rv, Vec::new()),
            };
            log(d, "cmd_read_resource_owners", rv);
            Reply::Bytes(reply::encode_read_resource_owners_reply(
                h, rv, &res, &hosts,
            ))
        }
        Request::FormatRindex { rindex, .. } => {
            let rv = format_rindex(rindex).err().unwrap_or(0);
            log(d, "cmd_format_rindex", rv);
            result(h, rv)
        }
        Request::RebuildRindex { flags, rindex } => {
            let rv = rebuild_rindex(d, rindex, *flags).err().unwrap_or(0);
            log(d, "cmd_rebuild_rindex", rv);
            result(h, rv)
        }
        Request::UpdateRindex {
            flags,
            rindex,
            rentry,
        } => rindex_reply(d, h, "cmd_update_rindex", || {
            update_rindex(d, rindex, rentry, *flags)
        }),
        Request::LookupRindex {
            flags,
            rindex,
            rentry,
        } => rindex_reply(d, h, "cmd_lookup_rindex", || {
            lookup_rindex(d, rindex, rentry, *flags)
        }),
        Request::CreateResource {
            num_hosts,
            rindex,
            rentry,
            ..
        } => rindex_reply(d, h, "cmd_create_resource", || {
            create_resource(d, rindex, rentry, *num_hosts)
        }),
        Request::DeleteResource { rindex, rentry, .. } => {
            rindex_reply(d, h, "cmd_delete_resource", || {
                delete_resource(d, rindex, rentry)
            })
        }
        _ => return None,
    })
}

fn log(d: &Daemon, what: &str, rv: i32) {
    d.log(format!("{what} done {rv}"));
}

/// The reply of the four commands that answer with a `sanlk_rentry`:
/// always sent, zeroed except for what the command filled in.
fn rindex_reply(
    d: &Daemon,
    h: &SmHeader,
    what: &str,
    op: impl FnOnce() -> (i32, SanlkRentry),
) -> Reply {
    let (rv, re) = op();
    log(d, what, rv);
    Reply::Bytes(reply::encode_rindex_reply(h, rv, &re))
}

// ---------------------------------------------------------------------------
// Disks, with sanlock's result numbers

/// The result number of a failed open, as sanlock's `open()` gives it.
fn open_code(e: &IoError) -> i32 {
    match e {
        IoError::NotFound { .. } => ENOENT,
        IoError::NotADisk { path } if path.is_dir() => EISDIR,
        IoError::NotADisk { .. } => ENODEV,
        IoError::NoDirectIo { .. } | IoError::Misaligned { .. } => EINVAL,
        IoError::Os { source, .. } => source.raw_os_error().map_or(EIO, |e| -e),
        e => io_code(e),
    }
}

/// The result number of a failed read or write, as sanlock's aio gives it.
fn io_code(e: &IoError) -> i32 {
    match e {
        IoError::PastEnd { .. } | IoError::Short { .. } => EMSGSIZE,
        IoError::Misaligned { .. } | IoError::NoDirectIo { .. } => EINVAL,
        IoError::Timeout { .. } | IoError::TooManyStuck { .. } | IoError::WriteInFlight { .. } => {
            SANLK_AIO_TIMEOUT
        }
        IoError::Os { source, .. } => source.raw_os_error().map_or(EIO, |e| -e),
        IoError::NotFound { .. } | IoError::NotADisk { .. } => ENODEV,
    }
}

fn path_of(p: &DiskPath) -> PathBuf {
    PathBuf::from(std::ffi::OsStr::from_bytes(p.as_bytes()))
}

/// One opened disk (sanlock's `sync_disk`): its path, offset and handle.
struct Sd {
    path: PathBuf,
    offset: u64,
    disk: Disk,
}

impl Sd {
    fn open(d: &SanlkDisk) -> Result<Sd, i32> {
        let path = path_of(&d.path);
        let disk = Disk::open(&path, Access::ReadWrite).map_err(|e| open_code(&e))?;
        Ok(Sd {
            path,
            offset: d.offset,
            disk,
        })
    }

    /// The device's sector size (512 for a regular file), as sanlock's
    /// `sync_disk.sector_size`.
    fn sector_size(&self) -> u32 {
        self.disk.logical_sector_size_bytes()
    }

    /// The geometry init uses when the request names none.
    fn default_geometry(&self) -> Result<Geometry, i32> {
        SectorSize::from_bytes(u64::from(self.sector_size()))
            .map(Geometry::legacy_default)
            .ok_or(EINVAL)
    }

    fn aligned(&self, offset: u64, len: usize) -> bool {
        let ss = u64::from(self.sector_size().max(1));
        offset.is_multiple_of(ss) && (len as u64).is_multiple_of(ss)
    }

    /// Reads `len` bytes at `offset` from the start of the device.
    fn read_abs(&self, offset: u64, len: usize, timeout: Duration) -> Result<Vec<u8>, i32> {
        if !self.aligned(offset, len) {
            return Err(EINVAL);
        }
        self.disk
            .read_at(offset, len, timeout)
            .map(|b| b.into_vec())
            .map_err(|e| io_code(&e))
    }

    /// Reads `len` bytes at `rel` from this disk's offset.
    fn read(&self, rel: u64, len: usize, timeout: Duration) -> Result<Vec<u8>, i32> {
        self.read_abs(self.offset.wrapping_add(rel), len, timeout)
    }

    /// Writes `data` at `offset` from the start of the device. A regular
    /// file too short for it grows first, as sanlock's write grows it.
    fn write_abs(&mut self, offset: u64, data: &[u8], timeout: Duration) -> Result<(), i32> {
        if !self.aligned(offset, data.len()) {
            return Err(EINVAL);
        }
        let end = offset.checked_add(data.len() as u64).ok_or(EINVAL)?;
        if self.disk.kind() == DiskKind::File && end > self.disk.size_bytes() {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&self.path)
                .map_err(|e| e.raw_os_error().map_or(EIO, |e| -e))?;
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            if end > len {
                f.set_len(end)
                    .map_err(|e| e.raw_os_error().map_or(EIO, |e| -e))?;
            }
            drop(f);
            self.disk = Disk::open(&self.path, Access::ReadWrite).map_err(|e| open_code(&e))?;
        }
        self.disk
            .write_at(offset, data, timeout)
            .map_err(|e| match e {
                // A block device refuses a write that starts at or past its
                // end (-ENOSPC); one that crosses the end is short.
                IoError::PastEnd { .. } if offset >= self.disk.size_bytes() => ENOSPC,
                e => io_code(&e),
            })
    }

    /// Writes `data` at `rel` from this disk's offset.
    fn write(&mut self, rel: u64, data: &[u8], timeout: Duration) -> Result<(), i32> {
        self.write_abs(self.offset.wrapping_add(rel), data, timeout)
    }
}

/// Opens a resource's disks as sanlock's `open_disks`: a majority must
/// open, else the last open error. Disks that did not open are `None`
/// (I/O to them fails with `-EBADF`, as sanlock's I/O on fd -1 does).
fn open_disks(disks: &[SanlkDisk]) -> Result<Vec<Option<Sd>>, i32> {
    let mut out = Vec::with_capacity(disks.len());
    let mut last_err = -1;
    for d in disks {
        match Sd::open(d) {
            Ok(sd) => out.push(Some(sd)),
            Err(e) => {
                last_err = e;
                out.push(None);
            }
        }
    }
    let n = disks.len();
    let opened = out.iter().filter(|d| d.is_some()).count();
    // More than half (an even split is not a majority).
    if opened <= n / 2 {
        return Err(last_err);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Sizes and names

/// sanlock's `sizes_from_flags`: the geometry the request's ALIGN/SECTOR
/// flags name; `None` when neither is set; -1 when only one is, or the
/// pair is not a valid geometry.
fn geometry_from_flags(flags: u32) -> Result<Option<Geometry>, i32> {
    let sector = if flags & FLAG_SECTOR512 != 0 {
        Some(SectorSize::S512)
    } else if flags & FLAG_SECTOR4K != 0 {
        Some(SectorSize::S4K)
    } else {
        None
    };
    match (sector, AlignSize::from_leader_flags(flags)) {
        (None, None) => Ok(None),
        (Some(s), Some(a)) => Geometry::new(s, a).map(Some).map_err(|_| -1),
        _ => Err(-1),
    }
}

/// The sector size a request's flags name, if any.
fn sector_from_flags(flags: u32) -> Option<u32> {
    if flags & FLAG_SECTOR512 != 0 {
        Some(512)
    } else if flags & FLAG_SECTOR4K != 0 {
        Some(4096)
    } else {
        None
    }
}

/// The align size a request's flags name, if any.
fn align_from_flags(flags: u32) -> Option<u64> {
    AlignSize::from_leader_flags(flags).map(AlignSize::bytes)
}

/// The align size recorded by a leader: its flag, else the legacy one for
/// its sector size; `None` when neither says.
fn leader_align(l: &LeaderRecord) -> Option<u64> {
    AlignSize::from_leader_flags(l.flags)
        .or_else(|| SectorSize::from_bytes(u64::from(l.sector_size)).map(|s| s.legacy_align()))
        .map(AlignSize::bytes)
}

/// The request flags with the ALIGN/SECTOR bits replaced by what `l`
/// records (sanlock: "the flags set by the user may not have been
/// correct").
fn flags_from_leader(flags: u32, l: &LeaderRecord) -> u32 {
    let mut f = flags & !FLAGS_SIZES;
    f |= match l.sector_size {
        512 => FLAG_SECTOR512,
        4096 => FLAG_SECTOR4K,
        _ => 0,
    };
    f |= leader_align(l)
        .and_then(AlignSize::from_bytes)
        .map_or(0, AlignSize::leader_flag);
    f
}

/// A name as `strncpy` copies it: the bytes up to the first NUL, then zeros.
fn strncpy(n: &Name) -> Name {
    let mut raw = [0u8; 48];
    let b = n.as_bytes();
    raw[..b.len()].copy_from_slice(b);
    Name::from_raw(raw)
}

// ---------------------------------------------------------------------------
// ALIGN, WRITE_LOCKSPACE, WRITE_RESOURCE

fn align(disk: &SanlkDisk) -> i32 {
    if disk.path.is_empty() {
        return ENODEV;
    }
    match Sd::open(disk) {
        Err(_) => ENODEV,
        Ok(sd) => match sd.sector_size() {
            512 => 1 << 20,
            4096 => 8 << 20,
            _ => EINVAL,
        },
    }
}

fn write_lockspace(ls: &SanlkLockspace, io_timeout: u32) -> i32 {
    let r = (|| -> Result<(), i32> {
        if ls.host_id_disk.path.is_empty() {
            return Err(ENODEV);
        }
        let mut sd = Sd::open(&ls.host_id_disk).map_err(|_| ENODEV)?;
        let io_timeout = if io_timeout == 0 {
            IO_TIMEOUT_SECS
        } else {
            io_timeout
        };
        let g = match geometry_from_flags(ls.flags)? {
            Some(g) => g,
            None => sd.default_geometry()?,
        };
        // The leader's io_timeout is 16 bits: sanlock truncates.
        let image = area::lockspace_init(g, strncpy(&ls.name), io_timeout as u16);
        sd.write(0, &image.area, WRITE_INIT_TIMEOUT)?;
        sd.write(0, &image.commit_sector, WRITE_INIT_TIMEOUT)
    })();
    r.err().unwrap_or(0)
}

fn write_resource(arg: &ResourceArg, num_hosts: u32, clear: bool) -> i32 {
    let r = (|| -> Result<(), i32> {
        let mut disks = open_disks(&arg.disks)?;
        let g = match geometry_from_flags(arg.res.flags)? {
            Some(g) => g,
            None => match disks.first() {
                Some(Some(sd)) => sd.default_geometry()?,
                _ => return Err(EINVAL),
            },
        };
        let image = area::resource_init(
            g,
            strncpy(&arg.res.lockspace_name),
            strncpy(&arg.res.name),
            u64::from(num_hosts),
            clear.then(paxlock_io::monotime_secs),
        );
        for sd in disks.iter_mut() {
            match sd {
                Some(sd) => sd.write(0, &image, WRITE_INIT_TIMEOUT)?,
                None => return Err(EBADF),
            }
        }
        Ok(())
    })();
    r.err().unwrap_or(0)
}

// ---------------------------------------------------------------------------
// READ_LOCKSPACE, READ_RESOURCE, READ_RESOURCE_OWNERS

/// Fills `ls` (name, host_id, ALIGN/SECTOR flags) from the delta slot of
/// its host_id (0 means 1); returns the slot's io_timeout.
fn read_lockspace(ls: &mut SanlkLockspace) -> Result<u32, i32> {
    let host_id = ls.host_id.max(1);
    if ls.host_id_disk.path.is_empty() {
        return Err(ENODEV);
    }
    let sd = Sd::open(&ls.host_id_disk).map_err(|_| ENODEV)?;
    let timeout = secs(IO_TIMEOUT_SECS);
    let ss = match sector_from_flags(ls.flags) {
        Some(ss) => ss,
        None => {
            let first = sd.read(0, 4096, timeout)?;
            let l = LeaderRecord::decode(&first).map_err(|_| EIO)?;
            if l.magic != DELTA_DISK_MAGIC {
                return Err(SANLK_LEADER_MAGIC);
            }
            if l.version & VERSION_MAJOR_MASK != DELTA_DISK_VERSION & VERSION_MAJOR_MASK {
                return Err(SANLK_LEADER_VERSION);
            }
            if l.sector_size != 512 && l.sector_size != 4096 {
                return Err(EINVAL);
            }
            l.sector_size
        }
    };
    let rel = (host_id - 1).wrapping_mul(u64::from(ss));
    let sector = sd.read(rel, ss as usize, timeout)?;
    let l = LeaderRecord::decode(&sector).map_err(|_| EIO)?;
    let name = if ls.name.is_empty() {
        l.space_name
    } else {
        ls.name
    };
    l.verify_delta(&name).map_err(|e| e.code())?;
    ls.name = l.space_name;
    ls.host_id = host_id;
    ls.flags = flags_from_leader(ls.flags, &l);
    Ok(u32::from(l.io_timeout))
}

/// Fills `out` (names, lver, ALIGN/SECTOR flags) from the leader on the
/// first disk.
fn read_resource(arg: &ResourceArg, out: &mut SanlkResource) -> Result<(), i32> {
    let disks = open_disks(&arg.disks)?;
    let Some(Some(sd)) = disks.first() else {
        return Err(EBADF);
    };
    // Without a sector size, read 4 KiB: the leader is at its start either way.
    let ss = sector_from_flags(arg.res.flags).unwrap_or(4096);
    let buf = sd.read(0, ss as usize, secs(IO_TIMEOUT_SECS))?;
    let l = LeaderRecord::decode(&buf).map_err(|_| EIO)?;
    let space = if arg.res.lockspace_name.is_empty() {
        l.space_name
    } else {
        arg.res.lockspace_name
    };
    let name = if arg.res.name.is_empty() {
        l.resource_name
    } else {
        arg.res.name
    };
    l.verify_paxos(&space, &name, 0).map_err(|e| e.code())?;
    out.lockspace_name = l.space_name;
    out.name = l.resource_name;
    out.lver = l.lver;
    if l.sector_size == 512 || l.sector_size == 4096 {
        out.flags = flags_from_leader(out.flags, &l);
    }
    Ok(())
}

/// Sets `out.lver` (and `SHARED` when shared holders exist) and returns
/// the owners: the leader's owner, then every other host whose mode block
/// says shared.
fn read_resource_owners(arg: &ResourceArg, out: &mut SanlkResource) -> Result<Vec<SanlkHost>, i32> {
    let disks = open_disks(&arg.disks)?;
    let Some(Some(sd)) = disks.first() else {
        return Err(EBADF);
    };
    let sector_set = sector_from_flags(arg.res.flags);
    let align_set = align_from_flags(arg.res.flags);
    // Guess the smaller sector and its legacy align; reread with what the
    // leader records when the guess was wrong.
    let mut ss: u32 = sector_set.unwrap_or(512);
    let mut al: Option<u64> = align_set.or(Some(if ss == 512 { 1 << 20 } else { 8 << 20 }));
    let mut attempt = 0;
    let (buf, l) = loop {
        attempt += 1;
        if ss == 0 {
            return Err(EINVAL);
        }
        let Some(al_bytes) = al else {
            return Err(-1); // sanlock: a negative buffer length is returned as is
        };
        let buf = sd.read(0, al_bytes as usize, secs(IO_TIMEOUT_SECS))?;
        let l = LeaderRecord::decode(&buf).map_err(|_| EIO)?;
        let lal = leader_align(&l);
        if sector_set.is_some_and(|s| s != l.sector_size) {
            return Err(EINVAL);
        }
        if align_set.is_some() && align_set != lal {
            return Err(EINVAL);
        }
        if ss != l.sector_size || al != lal {
            if attempt >= 3 {
                return Err(EINVAL); // the leader keeps changing under us
            }
            ss = l.sector_size;
            al = lal;
            continue;
        }
        break (buf, l);
    };
    l.verify_paxos(&arg.res.lockspace_name, &arg.res.name, 0)
        .map_err(|e| e.code())?;
    out.lver = l.lver;
    let owned = l.timestamp != 0 && l.owner_id != 0;
    let mut hosts = Vec::new();
    if owned {
        hosts.push(SanlkHost {
            host_id: l.owner_id,
            generation: l.owner_generation,
            timestamp: l.timestamp,
            io_timeout: 0,
            flags: 0,
        });
    }
    let ss = ss as usize;
    for i in 0..l.num_hosts {
        let Some(start) = usize::try_from(i)
            .ok()
            .and_then(|i| i.checked_add(2))
            .and_then(|s| s.checked_mul(ss))
        else {
            break;
        };
        // Never past the area we read, whatever num_hosts says.
        let Some(sector) = buf.get(start..start.saturating_add(ss)) else {
            break;
        };
        let Ok(mb) = ModeBlock::decode_from_sector(sector) else {
            break;
        };
        if !mb.is_shared() {
            continue;
        }
        out.flags |= SANLK_RES_SHARED;
        let host_id = i + 1;
        if owned && host_id == l.owner_id {
            continue;
        }
        hosts.push(SanlkHost {
            host_id,
            generation: mb.generation,
            timestamp: 0,
            io_timeout: 0,
            flags: 0,
        });
    }
    Ok(hosts)
}

// ---------------------------------------------------------------------------
// Resource index

/// What a rindex command knows of the lockspace it works in (sanlock's
/// `space_info`), and the claim that keeps other rindex commands of that
/// lockspace out until it is dropped.
struct RxOp {
    space: Option<Arc<Lockspace>>,
    claim: Option<(usize, Name)>,
}

/// Lockspaces with a rindex command in progress, per daemon.
static RINDEX_OPS: Mutex<Vec<(usize, Name)>> = Mutex::new(Vec::new());

impl RxOp {
    /// sanlock's `lockspace_begin_rindex_op`: the lockspace must be
    /// joined, alive, and have no other rindex command running.
    fn begin(d: &Daemon, name: &Name) -> Result<RxOp, i32> {
        let exists = d
            .spaces
            .lock()
            .map(|s| {
                s.iter()
                    .any(|s| s.ls.name.same_as(name) && matches!(s.state, SpaceState::Joined(_)))
            })
            .unwrap_or(false);
        if !exists {
            return Err(ENOENT);
        }
        let space = d.joined(name).ok_or(ENOSPC)?;
        let key = (d as *const Daemon as usize, strncpy(name));
        let mut ops = RINDEX_OPS.lock().map_err(|_| EBUSY)?;
        if ops.iter().any(|(k, n)| *k == key.0 && n.same_as(&key.1)) {
            return Err(EBUSY);
        }
        ops.push(key);
        Ok(RxOp {
            space: Some(space),
            claim: Some(key),
        })
    }

    /// No lockspace (`SANLK_RX_NO_LOCKSPACE`).
    fn none() -> RxOp {
        RxOp {
            space: None,
            claim: None,
        }
    }

    fn io_timeout(&self) -> Duration {
        secs(
            self.space
                .as_ref()
                .map_or(IO_TIMEOUT_SECS, |s| s.config().timeouts.io_timeout_secs()),
        )
    }

    /// The lockspace's sector size, used to read the rindex header.
    fn sector_size(&self) -> usize {
        self.space
            .as_ref()
            .map_or(4096, |s| s.config().geometry.sector_usize())
    }
}

impl Drop for RxOp {
    fn drop(&mut self) {
        if let Some(key) = self.claim.take() {
            if let Ok(mut ops) = RINDEX_OPS.lock() {
                ops.retain(|(k, n)| !(*k == key.0 && n.same_as(&key.1)));
            }
        }
    }
}

/// An opened rindex with its checked header.
struct Rx {
    sd: Sd,
    header: RindexHeader,
    geometry: Geometry,
}

impl Rx {
    /// Opens the disk (its open errno on failure).
    fn open(ri: &SanlkRindex) -> Result<Sd, i32> {
        Sd::open(&ri.disk)
    }

    /// sanlock's `read_rindex_header` checks: magic, version, lockspace,
    /// offset; then a geometry we can use.
    fn header(sd: Sd, ri: &SanlkRindex, op: &RxOp) -> Result<Rx, i32> {
        let b = sd.read(0, op.sector_size(), op.io_timeout())?;
        let header = RindexHeader::decode(&b).map_err(|_| EIO)?;
        if header.magic != RINDEX_DISK_MAGIC {
            return Err(SANLK_RINDEX_MAGIC);
        }
        if header.version & 0xFFFF_0000 != RINDEX_DISK_VERSION & 0xFFFF_0000 {
            return Err(SANLK_RINDEX_VERSION);
        }
        if !header.lockspace_name.same_as(&ri.lockspace_name) {
            return Err(SANLK_RINDEX_LOCKSPACE);
        }
        if header.rx_offset != sd.offset {
            return Err(SANLK_RINDEX_OFFSET);
        }
        let geometry = header.geometry().ok_or(EINVAL)?;
        Ok(Rx {
            sd,
            header,
            geometry,
        })
    }

    fn align(&self) -> u64 {
        self.geometry.align_bytes()
    }

    /// The whole rindex area.
    fn read_area(&self, op: &RxOp) -> Result<Vec<u8>, i32> {
        self.sd
            .read(0, self.geometry.align_usize(), op.io_timeout())
    }

    /// Entry `index` of `area` (zeroed when outside it).
    fn entry(&self, area: &[u8], index: u64) -> RindexEntry {
        rx::entry_offset(self.geometry, index)
            .and_then(|o| usize::try_from(o).ok())
            .and_then(|o| area.get(o..o.saturating_add(RINDEX_ENTRY_LEN)))
            .and_then(|b| RindexEntry::decode(b).ok())
            .unwrap_or_default()
    }

    /// Absolute offset of the lease that entry `index` describes.
    fn lease_offset(&self, index: u64) -> Result<u64, i32> {
        rx::entry_lease_offset(self.geometry, self.sd.offset, index).ok_or(SANLK_RINDEX_OFFSET)
    }

    /// The first entry (within max_resources) that `pred` accepts.
    fn find(&self, area: &[u8], pred: impl Fn(&RindexEntry) -> bool) -> Option<u64> {
        (0..self.header.searchable_entries(self.geometry)).find(|&i| pred(&self.entry(area, i)))
    }

    /// The entry index of a lease offset, as sanlock computes it.
    fn index_at(&self, res_offset: u64) -> Result<u64, i32> {
        rx::entry_index_in_area(self.geometry, self.sd.offset, res_offset)
            .ok_or(SANLK_RINDEX_OFFSET)
    }

    /// Writes entry `index` (`None` clears it) by rewriting its sector.
    fn write_entry(
        &mut self,
        area: &[u8],
        index: u64,
        entry: Option<(Name, u64)>,
        op: &RxOp,
    ) -> Result<(), i32> {
        let ss = self.geometry.sector_usize();
        let ent = rx::entry_offset(self.geometry, index)
            .and_then(|o| usize::try_from(o).ok())
            .ok_or(SANLK_RINDEX_OFFSET)?;
        let start = ent / ss * ss;
        let mut sector = area
            .get(start..start + ss)
            .ok_or(SANLK_RINDEX_OFFSET)?
            .to_vec();
        let e = match entry {
            Some((name, res_offset)) => RindexEntry {
                res_offset,
                name: strncpy(&name),
                ..RindexEntry::default()
            },
            None => RindexEntry::default(),
        };
        let at = ent - start;
        e.encode(&mut sector[at..])
            .map_err(|_| SANLK_RINDEX_OFFSET)?;
        self.sd.write(start as u64, &sector, op.io_timeout())
    }
}

/// The rindex lease, held by us in `op`'s lockspace.
struct RxLease<'a> {
    space: &'a Lockspace,
    held: Option<Held>,
}

impl<'a> RxLease<'a> {
    /// Acquires `rindex_lease` (right after the rindex area) without
    /// waiting for another owner.
    fn acquire(d: &Daemon, op: &'a RxOp, rx: &Rx, ri: &SanlkRindex) -> Result<RxLease<'a>, i32> {
        let space = op.space.as_deref().ok_or(ENOENT)?;
        let disk = d.env.disk(&rx.sd.path).map_err(|e| open_code(&e))?;
        let spec = ResourceSpec {
            space_name: ri.lockspace_name,
            name: Name::new(RINDEX_LEASE_NAME).unwrap_or_default(),
            loc: LeaseLoc {
                disk,
                offset: rx.sd.offset.checked_add(rx.align()).ok_or(EINVAL)?,
            },
        };
        let held = space
            .acquire(
                &spec,
                Mode::Ex,
                AcquireOpts {
                    lver: None,
                    nowait: true,
                },
            )
            .map_err(|e| e.code())?;
        Ok(RxLease {
            space,
            held: Some(held),
        })
    }
}

impl Drop for RxLease<'_> {
    fn drop(&mut self) {
        if let Some(h) = self.held.take() {
            let _ = self.space.release(&h);
        }
    }
}

fn format_rindex(ri: &SanlkRindex) -> Result<(), i32> {
    let mut sd = Rx::open(ri)?;
    let g = match geometry_from_flags(ri.flags)? {
        Some(g) => g,
        None => sd.default_geometry()?,
    };
    let name = strncpy(&ri.lockspace_name);
    sd.write(
        0,
        &area::rindex_format(g, name, sd.offset, ri.max_resources),
        WRITE_INIT_TIMEOUT,
    )?;
    sd.write(
        g.align_bytes(),
        &area::rindex_lease_init(g, name),
        WRITE_INIT_TIMEOUT,
    )
}

fn lookup_rindex(d: &Daemon, ri: &SanlkRindex, re: &SanlkRentry, flags: u32) -> (i32, SanlkRentry) {
    let mut ret = SanlkRentry::default();
    let r = (|| -> Result<(), i32> {
        let sd = Rx::open(ri)?;
        let op = if flags & SANLK_RX_NO_LOCKSPACE != 0 {
            RxOp::none()
        } else {
            RxOp::begin(d, &ri.lockspace_name)?
        };
        let rx = Rx::header(sd, ri, &op)?;
        let area = rx.read_area(&op)?;
        if re.offset != 0 && !re.offset.is_multiple_of(rx.align()) {
            return Err(SANLK_RINDEX_OFFSET);
        }
        match (re.name.is_empty(), re.offset) {
            (true, 0) => {
                let i = rx.find(&area, RindexEntry::is_free).ok_or(ENOENT)?;
                ret.offset = rx.lease_offset(i)?;
                Ok(())
            }
            (true, off) => {
                let i = rx.index_at(off)?;
                ret.name = rx.entry(&area, i).name;
                ret.offset = off;
                Ok(())
            }
            (false, 0) => {
                let i = rx
                    .find(&area, |e| !e.name.is_empty() && e.name.same_as(&re.name))
                    .ok_or(ENOENT)?;
                ret.name = re.name;
                ret.offset = rx.lease_offset(i)?;
                Ok(())
            }
            (false, off) => {
                let i = rx.index_at(off)?;
                let found = rx.entry(&area, i).name;
                ret.name = found;
                ret.offset = off;
                if found.same_as(&re.name) {
                    Ok(())
                } else {
                    Err(SANLK_RINDEX_DIFF)
                }
            }
        }
    })();
    (r.err().unwrap_or(0), ret)
}

fn update_rindex(d: &Daemon, ri: &SanlkRindex, re: &SanlkRentry, flags: u32) -> (i32, SanlkRentry) {
    let mut ret = SanlkRentry::default();
    let r = (|| -> Result<(), i32> {
        let sd = Rx::open(ri)?;
        let op = if flags & SANLK_RX_NO_LOCKSPACE != 0 {
            RxOp::none()
        } else {
            RxOp::begin(d, &ri.lockspace_name)?
        };
        let mut rx = Rx::header(sd, ri, &op)?;
        let area = rx.read_area(&op)?;
        if re.offset != 0 && !re.offset.is_multiple_of(rx.align()) {
            return Err(SANLK_RINDEX_OFFSET);
        }
        let remove = if flags & SANLK_RXUP_REM != 0 && re.offset != 0 {
            true
        } else if flags & SANLK_RXUP_ADD != 0 && !re.name.is_empty() && re.offset != 0 {
            false
        } else {
            return Err(EINVAL);
        };
        let i = rx.index_at(re.offset)?;
        let entry = (!remove).then_some((re.name, re.offset));
        rx.write_entry(&area, i, entry, &op)?;
        if !remove {
            ret.name = re.name;
            ret.offset = re.offset;
        }
        Ok(())
    })();
    (r.err().unwrap_or(0), ret)
}

fn create_resource(
    d: &Daemon,
    ri: &SanlkRindex,
    re: &SanlkRentry,
    num_hosts: u32,
) -> (i32, SanlkRentry) {
    let mut ret = SanlkRentry::default();
    let r = (|| -> Result<(), i32> {
        let sd = Rx::open(ri)?;
        let op = RxOp::begin(d, &ri.lockspace_name)?;
        let mut rx = Rx::header(sd, ri, &op)?;
        let _lease = RxLease::acquire(d, &op, &rx, ri)?;
        let area = rx.read_area(&op)?;
        let i = rx.find(&area, RindexEntry::is_free).ok_or(ENOENT)?;
        let res_offset = rx.lease_offset(i)?;
        let image = area::resource_init(
            rx.geometry,
            strncpy(&ri.lockspace_name),
            strncpy(&re.name),
            u64::from(num_hosts),
            None,
        );
        rx.sd.write_abs(res_offset, &image, WRITE_INIT_TIMEOUT)?;
        rx.write_entry(&area, i, Some((re.name, res_offset)), &op)?;
        ret.offset = res_offset;
        Ok(())
    })();
    (r.err().unwrap_or(0), ret)
}

fn delete_resource(d: &Daemon, ri: &SanlkRindex, re: &SanlkRentry) -> (i32, SanlkRentry) {
    let r = (|| -> Result<(), i32> {
        let sd = Rx::open(ri)?;
        let op = RxOp::begin(d, &ri.lockspace_name)?;
        let mut rx = Rx::header(sd, ri, &op)?;
        if re.offset != 0 && !re.offset.is_multiple_of(rx.align()) {
            return Err(SANLK_RINDEX_OFFSET);
        }
        let _lease = RxLease::acquire(d, &op, &rx, ri)?;
        let area = rx.read_area(&op)?;
        let i = rx
            .find(&area, |e| !e.name.is_empty() && e.name.same_as(&re.name))
            .ok_or(ENOENT)?;
        let res_offset = rx.lease_offset(i)?;
        rx.write_entry(&area, i, None, &op)?;
        let image = area::resource_init(
            rx.geometry,
            strncpy(&ri.lockspace_name),
            strncpy(&re.name),
            0,
            Some(paxlock_io::monotime_secs()),
        );
        rx.sd.write_abs(res_offset, &image, WRITE_INIT_TIMEOUT)
    })();
    (r.err().unwrap_or(0), SanlkRentry::default())
}

fn rebuild_rindex(d: &Daemon, ri: &SanlkRindex, flags: u32) -> Result<(), i32> {
    let sd = Rx::open(ri)?;
    let nolock = flags & SANLK_RX_NO_LOCKSPACE != 0;
    let op = if nolock {
        RxOp::none()
    } else {
        RxOp::begin(d, &ri.lockspace_name)?
    };
    let mut rx = Rx::header(sd, ri, &op)?;
    let _lease = if nolock {
        None
    } else {
        Some(RxLease::acquire(d, &op, &rx, ri)?)
    };
    let mut area = rx.read_area(&op)?;
    let ss = rx.geometry.sector_usize();
    area[ss..].fill(0);
    for i in 0..rx.header.searchable_entries(rx.geometry) {
        let res_offset = rx.lease_offset(i)?;
        // A lease exists where a paxos leader's magic is; stop at the end
        // of the storage.
        let sector = match rx.sd.read_abs(res_offset, ss, op.io_timeout()) {
            Ok(s) => s,
            Err(EMSGSIZE) => break,
            Err(_) => continue,
        };
        let Ok(l) = LeaderRecord::decode(&sector) else {
            continue;
        };
        if l.magic != paxlock_format::leader::PAXOS_DISK_MAGIC {
            continue;
        }
        let e = RindexEntry {
            res_offset,
            name: l.resource_name,
            ..RindexEntry::default()
        };
        if let Some(at) = rx::entry_offset(rx.geometry, i).and_then(|o| usize::try_from(o).ok()) {
            if let Some(slot) = area.get_mut(at..at + RINDEX_ENTRY_LEN) {
                let _ = e.encode(slot);
            }
        }
    }
    rx.sd.write(0, &area, op.io_timeout())
}
