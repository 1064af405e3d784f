//! The passthrough filesystem: every operation goes to the same path
//! below the backing directory; reads and writes pass the fault gate
//! first.
//!
//! Coherence between two mounts of one backing directory (two hosts'
//! views of shared storage): every open is answered with
//! `FOPEN_DIRECT_IO`, so the kernel keeps no page cache of its own for
//! the FUSE file and sends every read and write here; attributes and
//! entries are never cached (TTL 0). Here, a file the client opened
//! `O_DIRECT` gets a backing descriptor opened `O_DIRECT` too, used for
//! every sector-aligned I/O (through an aligned buffer); other I/Os, and
//! backing filesystems that refuse `O_DIRECT`, use a buffered descriptor
//! opened `O_DSYNC` for writing, whose page cache is the backing
//! filesystem's own and so shared by every mount on this machine.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, LockOwner, OpenFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use paxlock_io::AlignedBuf;
use rustix::fs::OFlags;

use crate::control::{Faults, Op};

/// Attributes and entries are never cached: another mount may change them.
const TTL: Duration = Duration::ZERO;

/// Every open: no kernel page cache for FUSE files; direct writes to one
/// file need not wait for each other.
const OPEN_FLAGS: FopenFlags =
    FopenFlags::FOPEN_DIRECT_IO.union(FopenFlags::FOPEN_PARALLEL_DIRECT_WRITES);

/// I/Os whose offset and length are multiples of this go through the
/// backing `O_DIRECT` descriptor.
const DIRECT_ALIGN: u64 = 512;

/// The filesystem of one mount.
#[derive(Debug)]
pub struct FaultFs {
    backing: PathBuf,
    faults: Arc<Faults>,
    inodes: Mutex<Inodes>,
    handles: Mutex<HashMap<u64, Arc<Handle>>>,
    next_fh: AtomicU64,
}

/// Inode numbers, ours, for paths relative to the backing directory (the
/// root is the empty path and inode 1).
#[derive(Debug)]
struct Inodes {
    by_ino: HashMap<u64, PathBuf>,
    by_path: HashMap<PathBuf, u64>,
    next: u64,
}

/// An open file.
#[derive(Debug)]
struct Handle {
    /// Path relative to the mount's root, as fault rules name files.
    rel: String,
    file: File,
    /// The same file opened `O_DIRECT`, if the client asked for it and the
    /// backing filesystem allows it.
    direct: Option<File>,
}

fn errno(e: &io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc_eio()))
}

fn libc_eio() -> i32 {
    rustix::io::Errno::IO.raw_os_error()
}

fn time(secs: i64, nsecs: i64) -> SystemTime {
    let nsecs = u32::try_from(nsecs).unwrap_or(0).min(999_999_999);
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs.unsigned_abs(), nsecs)
    } else {
        UNIX_EPOCH - Duration::new(secs.unsigned_abs(), 0) + Duration::new(0, nsecs)
    }
}

fn kind(m: &Metadata) -> FileType {
    FileType::from_std(m.file_type()).unwrap_or(FileType::RegularFile)
}

fn attr(ino: u64, m: &Metadata) -> FileAttr {
    FileAttr {
        ino: INodeNo(ino),
        size: m.size(),
        blocks: m.blocks(),
        atime: time(m.atime(), m.atime_nsec()),
        mtime: time(m.mtime(), m.mtime_nsec()),
        ctime: time(m.ctime(), m.ctime_nsec()),
        crtime: time(m.ctime(), m.ctime_nsec()),
        kind: kind(m),
        perm: (m.mode() & 0o7777) as u16,
        nlink: m.nlink().try_into().unwrap_or(u32::MAX),
        uid: m.uid(),
        gid: m.gid(),
        rdev: m.rdev().try_into().unwrap_or(0),
        blksize: m.blksize().try_into().unwrap_or(4096),
        flags: 0,
    }
}

/// Open flags passed on to the backing file: the sync ones (and append).
fn passed_flags(flags: i32) -> i32 {
    let keep = OFlags::SYNC | OFlags::DSYNC | OFlags::APPEND;
    flags & keep.bits() as i32
}

fn wants_direct(flags: i32) -> bool {
    flags & OFlags::DIRECT.bits() as i32 != 0
}

impl FaultFs {
    /// A filesystem passing through to `backing`, faulted by `faults`.
    pub fn new(backing: &Path, faults: Arc<Faults>) -> io::Result<FaultFs> {
        let backing = fs::canonicalize(backing)?;
        if !backing.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a directory", backing.display()),
            ));
        }
        let mut by_ino = HashMap::new();
        let mut by_path = HashMap::new();
        by_ino.insert(INodeNo::ROOT.0, PathBuf::new());
        by_path.insert(PathBuf::new(), INodeNo::ROOT.0);
        Ok(FaultFs {
            backing,
            faults,
            inodes: Mutex::new(Inodes {
                by_ino,
                by_path,
                next: INodeNo::ROOT.0 + 1,
            }),
            handles: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
        })
    }

    fn inodes(&self) -> MutexGuard<'_, Inodes> {
        self.inodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn handles(&self) -> MutexGuard<'_, HashMap<u64, Arc<Handle>>> {
        self.handles.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The relative path of an inode.
    fn rel(&self, ino: INodeNo) -> Result<PathBuf, Errno> {
        self.inodes()
            .by_ino
            .get(&ino.0)
            .cloned()
            .ok_or(Errno::ENOENT)
    }

    /// The relative path of `name` in directory `parent`.
    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<PathBuf, Errno> {
        let p = self.rel(parent)?;
        if name.is_empty() || name == "." || name == ".." || name.as_encoded_bytes().contains(&b'/')
        {
            return Err(Errno::EINVAL);
        }
        Ok(p.join(name))
    }

    /// The inode number of a relative path, allocated on first sight.
    fn intern(&self, rel: &Path) -> u64 {
        let mut inodes = self.inodes();
        if let Some(&ino) = inodes.by_path.get(rel) {
            return ino;
        }
        let ino = inodes.next;
        inodes.next += 1;
        inodes.by_ino.insert(ino, rel.to_path_buf());
        inodes.by_path.insert(rel.to_path_buf(), ino);
        ino
    }

    fn forget_path(&self, rel: &Path) {
        let mut inodes = self.inodes();
        if let Some(ino) = inodes.by_path.remove(rel) {
            inodes.by_ino.remove(&ino);
        }
    }

    fn full(&self, rel: &Path) -> PathBuf {
        self.backing.join(rel)
    }

    fn handle(&self, fh: FileHandle) -> Result<Arc<Handle>, Errno> {
        self.handles().get(&fh.0).cloned().ok_or(Errno::EBADF)
    }

    /// Opens the backing file for a client's open flags and registers a
    /// handle for it.
    fn open_handle(&self, rel: &Path, flags: i32, create: Option<u32>) -> io::Result<u64> {
        let acc = flags & OFlags::ACCMODE.bits() as i32;
        let read = acc == OFlags::RDONLY.bits() as i32 || acc == OFlags::RDWR.bits() as i32;
        let write = acc == OFlags::WRONLY.bits() as i32 || acc == OFlags::RDWR.bits() as i32;
        let mut sync = passed_flags(flags);
        if write {
            sync |= OFlags::DSYNC.bits() as i32;
        }
        let opts = |direct: bool| {
            let mut o = OpenOptions::new();
            o.read(read).write(write);
            let mut custom = sync;
            if direct {
                custom |= OFlags::DIRECT.bits() as i32;
            }
            o.custom_flags(custom);
            o
        };
        let path = self.full(rel);
        let file = match create {
            Some(mode) => {
                let mut o = opts(false);
                o.mode(mode);
                if flags & OFlags::EXCL.bits() as i32 != 0 {
                    o.create_new(true);
                } else {
                    o.create(true);
                }
                o.open(&path)?
            }
            None => opts(false).open(&path)?,
        };
        if flags & OFlags::TRUNC.bits() as i32 != 0 && write {
            file.set_len(0)?;
        }
        let direct = if wants_direct(flags) {
            opts(true).open(&path).ok()
        } else {
            None
        };
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        let handle = Handle {
            rel: rel.to_string_lossy().into_owned(),
            file,
            direct,
        };
        self.handles().insert(fh, Arc::new(handle));
        Ok(fh)
    }
}

fn aligned(offset: u64, len: usize) -> bool {
    offset.is_multiple_of(DIRECT_ALIGN) && (len as u64).is_multiple_of(DIRECT_ALIGN)
}

/// Reads up to `size` bytes at `offset` (fewer only at end of file).
fn do_read(h: &Handle, offset: u64, size: usize) -> io::Result<Vec<u8>> {
    if let (Some(d), true) = (&h.direct, aligned(offset, size)) {
        let mut buf = AlignedBuf::zeroed(size);
        match read_full(d, buf.as_mut_slice(), offset) {
            Ok(n) => {
                let mut v = buf.into_vec();
                v.truncate(n);
                return Ok(v);
            }
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {}
            Err(e) => return Err(e),
        }
    }
    let mut v = vec![0u8; size];
    let n = read_full(&h.file, &mut v, offset)?;
    v.truncate(n);
    Ok(v)
}

fn read_full(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn do_write(h: &Handle, offset: u64, data: &[u8]) -> io::Result<()> {
    if let (Some(d), true) = (&h.direct, aligned(offset, data.len())) {
        let buf = AlignedBuf::from_slice(data);
        match d.write_all_at(buf.as_slice(), offset) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {}
            Err(e) => return Err(e),
        }
    }
    h.file.write_all_at(data, offset)
}

/// Gate, read and reply.
fn serve_read(faults: &Faults, h: &Handle, offset: u64, size: usize, reply: ReplyData) {
    if faults.gate(&h.rel, Op::Read).is_err() {
        return reply.error(Errno::EIO);
    }
    match do_read(h, offset, size) {
        Ok(v) => reply.data(&v),
        Err(e) => reply.error(errno(&e)),
    }
}

/// Gate, write and reply.
fn serve_write(faults: &Faults, h: &Handle, offset: u64, data: &[u8], reply: ReplyWrite) {
    if faults.gate(&h.rel, Op::Write).is_err() {
        return reply.error(Errno::EIO);
    }
    match do_write(h, offset, data) {
        Ok(()) => reply.written(data.len().try_into().unwrap_or(u32::MAX)),
        Err(e) => reply.error(errno(&e)),
    }
}

/// Gate (as a write), sync and reply.
fn serve_fsync(faults: &Faults, h: &Handle, datasync: bool, reply: ReplyEmpty) {
    if faults.gate(&h.rel, Op::Write).is_err() {
        return reply.error(Errno::EIO);
    }
    let r = if datasync {
        h.file.sync_data()
    } else {
        h.file.sync_all()
    };
    match r {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(errno(&e)),
    }
}

impl Filesystem for FaultFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        // Asynchronous direct I/O lets aio clients (sanlock) submit without
        // blocking, so their own I/O timeouts see a stalled disk as one.
        let _ = config.add_capabilities(InitFlags::FUSE_ASYNC_DIO);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let rel = match self.child(parent, name) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        match fs::symlink_metadata(self.full(&rel)) {
            Ok(m) => {
                let ino = self.intern(&rel);
                reply.entry(&TTL, &attr(ino, &m), Generation(0));
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        let m = match fh.and_then(|fh| self.handle(fh).ok()) {
            Some(h) => h.file.metadata(),
            None => match self.rel(ino) {
                Ok(rel) => fs::symlink_metadata(self.full(&rel)),
                Err(e) => return reply.error(e),
            },
        };
        match m {
            Ok(m) => reply.attr(&TTL, &attr(ino.0, &m)),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let rel = match self.rel(ino) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        let path = self.full(&rel);
        let result = (|| -> io::Result<Metadata> {
            if let Some(mode) = mode {
                fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777))?;
            }
            if uid.is_some() || gid.is_some() {
                std::os::unix::fs::lchown(&path, uid, gid)?;
            }
            if let Some(size) = size {
                let h = fh.and_then(|fh| self.handle(fh).ok());
                match h {
                    Some(h) if h.file.set_len(size).is_ok() => {}
                    _ => OpenOptions::new().write(true).open(&path)?.set_len(size)?,
                }
            }
            fs::symlink_metadata(&path)
        })();
        match result {
            Ok(m) => reply.attr(&TTL, &attr(ino.0, &m)),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let rel = match self.child(parent, name) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        let path = self.full(&rel);
        let result = fs::create_dir(&path)
            .and_then(|()| {
                fs::set_permissions(&path, fs::Permissions::from_mode(mode & !umask & 0o7777))
            })
            .and_then(|()| fs::symlink_metadata(&path));
        match result {
            Ok(m) => reply.entry(&TTL, &attr(self.intern(&rel), &m), Generation(0)),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let rel = match self.child(parent, name) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        match fs::remove_file(self.full(&rel)) {
            Ok(()) => {
                self.forget_path(&rel);
                reply.ok()
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let rel = match self.child(parent, name) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        match fs::remove_dir(self.full(&rel)) {
            Ok(()) => {
                self.forget_path(&rel);
                reply.ok()
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let rel = match self.rel(ino) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        match self.open_handle(&rel, flags.0, None) {
            Ok(fh) => reply.opened(FileHandle(fh), OPEN_FLAGS),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let rel = match self.child(parent, name) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        let result = self
            .open_handle(&rel, flags, Some(mode & !umask & 0o7777))
            .and_then(|fh| {
                let m = self
                    .handle(FileHandle(fh))
                    .map_err(|_| io::Error::other("lost handle"))?;
                Ok((fh, m.file.metadata()?))
            });
        match result {
            Ok((fh, m)) => reply.created(
                &TTL,
                &attr(self.intern(&rel), &m),
                Generation(0),
                FileHandle(fh),
                OPEN_FLAGS,
            ),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let h = match self.handle(fh) {
            Ok(h) => h,
            Err(e) => return reply.error(e),
        };
        let size = size as usize;
        if self.faults.may_wait(&h.rel) {
            // wait on a thread of its own, not the session's
            let faults = self.faults.clone();
            let spawned = std::thread::Builder::new()
                .name("faultfs-read".into())
                .spawn(move || serve_read(&faults, &h, offset, size, reply));
            if spawned.is_err() {
                eprintln!("paxlock-faultfs: cannot start an I/O thread");
            }
        } else {
            serve_read(&self.faults, &h, offset, size, reply);
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let h = match self.handle(fh) {
            Ok(h) => h,
            Err(e) => return reply.error(e),
        };
        if self.faults.may_wait(&h.rel) {
            let faults = self.faults.clone();
            let data = data.to_vec();
            let spawned = std::thread::Builder::new()
                .name("faultfs-write".into())
                .spawn(move || serve_write(&faults, &h, offset, &data, reply));
            if spawned.is_err() {
                eprintln!("paxlock-faultfs: cannot start an I/O thread");
            }
        } else {
            serve_write(&self.faults, &h, offset, data, reply);
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.handles().remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        let h = match self.handle(fh) {
            Ok(h) => h,
            Err(e) => return reply.error(e),
        };
        if self.faults.may_wait(&h.rel) {
            let faults = self.faults.clone();
            let spawned = std::thread::Builder::new()
                .name("faultfs-fsync".into())
                .spawn(move || serve_fsync(&faults, &h, datasync, reply));
            if spawned.is_err() {
                eprintln!("paxlock-faultfs: cannot start an I/O thread");
            }
        } else {
            serve_fsync(&self.faults, &h, datasync, reply);
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let rel = match self.rel(ino) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        let entries = match fs::read_dir(self.full(&rel)) {
            Ok(d) => d,
            Err(e) => return reply.error(errno(&e)),
        };
        let mut list: Vec<(u64, FileType, std::ffi::OsString)> = vec![
            (ino.0, FileType::Directory, ".".into()),
            (ino.0, FileType::Directory, "..".into()),
        ];
        for e in entries.flatten() {
            let kind = e
                .file_type()
                .ok()
                .and_then(FileType::from_std)
                .unwrap_or(FileType::RegularFile);
            let child = rel.join(e.file_name());
            list.push((self.intern(&child), kind, e.file_name()));
        }
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        for (i, (ino, kind, name)) in list.into_iter().enumerate().skip(skip) {
            if reply.add(INodeNo(ino), i as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match rustix::fs::statvfs(&self.backing) {
            Ok(s) => reply.statfs(
                s.f_blocks,
                s.f_bfree,
                s.f_bavail,
                s.f_files,
                s.f_ffree,
                s.f_bsize.try_into().unwrap_or(4096),
                s.f_namemax.try_into().unwrap_or(255),
                s.f_frsize.try_into().unwrap_or(4096),
            ),
            Err(e) => reply.error(Errno::from_i32(e.raw_os_error())),
        }
    }
}
