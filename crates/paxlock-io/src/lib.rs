//! Aligned O_DIRECT I/O on lease storage, with a deadline on every I/O.
//!
//! A lease manager must never let one stuck disk stall it past a deadline:
//! a blocking `pread` on a dead path cannot be cancelled. So every I/O here
//! runs on a helper thread that owns its aligned buffer and its file handle
//! until the kernel is done with them; the caller waits only until the
//! deadline and then gets [`IoError::Timeout`]. A disk with too many I/Os
//! still stuck in the kernel refuses new ones ([`IoError::TooManyStuck`]),
//! so a dead path cannot pile up threads.
//!
//! The helper threads live on: each disk keeps up to [`IDLE_WORKERS_MAX`]
//! idle ones, and an I/O takes an idle one if there is one and starts a
//! new one only if not (the first I/O, I/Os issued in parallel, or after a
//! timeout, while the timed-out I/O still holds its thread). Starting a
//! thread per I/O cost more than the I/O itself on fast storage.
//!
//! Files are opened `O_DIRECT | O_DSYNC` for writing (see [`Disk::open`]
//! for why not `O_SYNC`, as sanlock does), so that what a read returns is
//! what shared storage holds, not a page cache copy, and a write is on
//! stable storage when it returns.
//!
//! ```no_run
//! use paxlock_io::{Disk, Access};
//! use std::time::Duration;
//!
//! let disk = Disk::open("/var/lib/leases/ids".as_ref(), Access::ReadOnly).unwrap();
//! let sector = disk.read_at(0, 4096, Duration::from_secs(10)).unwrap();
//! assert_eq!(sector.len(), 4096);
//! ```

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::Duration;

mod buf;
pub use buf::{AlignedBuf, POOLED_MIN_BYTES, POOL_MAX};

/// Alignment of every buffer handed to the kernel: one page, which covers
/// both 512- and 4096-byte logical sectors.
pub const BUF_ALIGN: usize = 4096;

/// I/Os that may be stuck in the kernel on one disk before it refuses more.
pub const STUCK_IOS_MAX: usize = 8;

/// Idle I/O threads a disk keeps for its next I/Os; more exit when done.
pub const IDLE_WORKERS_MAX: usize = 2;

/// Errors of disk I/O, each naming the disk.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The path does not exist.
    #[error("{path}: no such file or device; create it first (e.g. truncate -s 1M {path}) or fix the path")]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// The path is neither a regular file nor a block device.
    #[error("{path}: not a regular file or block device")]
    NotADisk {
        /// The path.
        path: PathBuf,
    },
    /// The filesystem refused O_DIRECT.
    #[error("{path}: the filesystem does not support O_DIRECT (tmpfs?); leases need storage that supports direct I/O")]
    NoDirectIo {
        /// The path.
        path: PathBuf,
    },
    /// The kernel refused an I/O as misaligned.
    #[error(
        "{path}: {op} of {len} bytes at offset {offset} was refused as misaligned (EINVAL); \
         offsets and sizes must be multiples of the storage's sector size ({sector_size_bytes} bytes here)"
    )]
    Misaligned {
        /// The path.
        path: PathBuf,
        /// read or write.
        op: &'static str,
        /// The offset.
        offset: u64,
        /// The length.
        len: usize,
        /// The device's logical sector size.
        sector_size_bytes: u32,
    },
    /// The I/O would go past the end of the file or device.
    #[error(
        "{path}: {op} of {len} bytes at offset {offset} goes past the end ({size_bytes} bytes); \
         grow the file or use a smaller offset"
    )]
    PastEnd {
        /// The path.
        path: PathBuf,
        /// read or write.
        op: &'static str,
        /// The offset.
        offset: u64,
        /// The length.
        len: usize,
        /// Size of the file or device.
        size_bytes: u64,
    },
    /// The I/O did not complete before its deadline. It may still complete
    /// later; its buffer stays alive until it does.
    #[error("{path}: {op} of {len} bytes at offset {offset} timed out after {timeout:?}")]
    Timeout {
        /// The path.
        path: PathBuf,
        /// read or write.
        op: &'static str,
        /// The offset.
        offset: u64,
        /// The length.
        len: usize,
        /// The deadline used.
        timeout: Duration,
    },
    /// An earlier write to an overlapping range has not completed yet (it
    /// timed out and is still in the kernel). Issuing another could let the
    /// two land in the wrong order, so the new one is refused.
    #[error("{path}: an earlier write at offset {offset} is still in flight; not writing over it")]
    WriteInFlight {
        /// The path.
        path: PathBuf,
        /// The offset of the refused write.
        offset: u64,
    },
    /// Too many earlier I/Os on this disk are still stuck.
    #[error("{path}: {stuck} earlier I/Os have not completed; the storage is not responding")]
    TooManyStuck {
        /// The path.
        path: PathBuf,
        /// How many are stuck.
        stuck: usize,
    },
    /// A short read or write.
    #[error("{path}: {op} at offset {offset} transferred {done} of {len} bytes")]
    Short {
        /// The path.
        path: PathBuf,
        /// read or write.
        op: &'static str,
        /// The offset.
        offset: u64,
        /// Bytes transferred.
        done: usize,
        /// Bytes asked.
        len: usize,
    },
    /// Any other OS error.
    #[error("{path}: {op}: {source}")]
    Os {
        /// The path.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

impl IoError {
    /// A negative errno-style number in sanlock's manner, for the "done"
    /// lines of the CLI (`-ENODEV`, `-EINVAL`, `SANLK_AIO_TIMEOUT`, `-EIO`).
    pub fn code(&self) -> i32 {
        match self {
            IoError::NotFound { .. } | IoError::NotADisk { .. } => -19,
            IoError::NoDirectIo { .. } | IoError::Misaligned { .. } => -22,
            IoError::Timeout { .. }
            | IoError::TooManyStuck { .. }
            | IoError::WriteInFlight { .. } => -202,
            IoError::PastEnd { .. } | IoError::Short { .. } => -5,
            IoError::Os { source, .. } => source.raw_os_error().map_or(-5, |e| -e),
        }
    }
}

/// How to open a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only.
    ReadOnly,
    /// Read and write (writes are O_DSYNC: durable when they return).
    ReadWrite,
}

/// What kind of storage a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskKind {
    /// A regular file (on NFS, a local filesystem, ...).
    File,
    /// A block device.
    Block,
}

/// An open lease disk.
#[derive(Debug)]
pub struct Disk {
    file: Arc<File>,
    path: PathBuf,
    kind: DiskKind,
    logical_sector_size_bytes: u32,
    size_bytes: u64,
    stuck: Arc<AtomicUsize>,
    /// Byte ranges of writes not yet completed by the kernel.
    writes_in_flight: Arc<Mutex<Vec<(u64, u64)>>>,
    /// Idle I/O threads of this disk.
    workers: Arc<Workers>,
    /// (st_dev, st_ino) of what was opened.
    identity: (u64, u64),
}

/// The part of an I/O that runs on an I/O thread: the I/O itself, which
/// returns what hands its result over to the waiting caller.
type Job = Box<dyn FnOnce(&File) -> Box<dyn FnOnce() + Send> + Send>;

/// A job for an I/O thread, with the sender of the thread's own queue,
/// which the thread puts back on the idle list once the I/O is done.
struct Work {
    job: Job,
    me: mpsc::SyncSender<Work>,
}

/// The idle I/O threads of a disk, each as the sender of its queue. An idle
/// thread is referenced from here only: when the disk is dropped, so is
/// this list, the threads' queues close and they exit. A thread busy with
/// an I/O holds only a weak reference and exits once the I/O is done.
#[derive(Default)]
struct Workers {
    idle: Mutex<Vec<mpsc::SyncSender<Work>>>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let idle = self.idle.lock().map(|i| i.len()).unwrap_or(0);
        f.debug_struct("Workers").field("idle", &idle).finish()
    }
}

impl Workers {
    fn take(&self) -> Option<mpsc::SyncSender<Work>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// Puts a thread back on the idle list; false when the list is full.
    fn put(&self, me: mpsc::SyncSender<Work>) -> bool {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() >= IDLE_WORKERS_MAX {
            return false;
        }
        idle.push(me);
        true
    }
}

/// An I/O thread: runs one job at a time; after each, goes back on the
/// idle list *before* handing the result over, so that the caller's next
/// I/O finds it there instead of starting another thread.
fn worker_loop(file: Arc<File>, queue: mpsc::Receiver<Work>, workers: Weak<Workers>) {
    while let Ok(Work { job, me }) = queue.recv() {
        let reply = job(&file);
        let keep = workers.upgrade().is_some_and(|w| w.put(me));
        reply();
        if !keep {
            return;
        }
    }
}

impl Disk {
    /// Opens `path` with O_DIRECT (and O_DSYNC for writing), finds out what
    /// it is, its logical sector size (512 for regular files, as sanlock
    /// assumes; the kernel's for block devices) and its size.
    ///
    /// Why O_DSYNC where sanlock uses O_SYNC: a lease write must be on
    /// stable storage before we act on it (a ballot's next phase, telling a
    /// client it holds the lease). O_DSYNC gives exactly that: when
    /// `pwrite` returns, the data and all metadata needed to read it back
    /// (block allocation, unwritten-extent conversion, file size) are
    /// durable, through a device cache flush or FUA (POSIX synchronized I/O
    /// data integrity completion; on NFS, a DATA_SYNC/FILE_SYNC write or a
    /// COMMIT). What O_SYNC adds is the rest of the inode: the mtime/ctime
    /// every write changes, which on a journaling filesystem means a
    /// journal commit per write on top of the data write. No host reads
    /// timestamps of lease files, and the on-disk lease format is the same,
    /// so the guarantee the protocol needs is unchanged. On block devices
    /// the two flags behave the same.
    pub fn open(path: &Path, access: Access) -> Result<Disk, IoError> {
        let os = |op, source| IoError::Os {
            path: path.to_path_buf(),
            op,
            source,
        };
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => IoError::NotFound {
                path: path.to_path_buf(),
            },
            _ => os("stat", e),
        })?;
        let ft = meta.file_type();
        let kind = if ft.is_file() {
            DiskKind::File
        } else if ft.is_block_device() {
            DiskKind::Block
        } else {
            return Err(IoError::NotADisk {
                path: path.to_path_buf(),
            });
        };
        let mut opts = OpenOptions::new();
        opts.read(true);
        let mut flags = rustix::fs::OFlags::DIRECT.bits();
        if access == Access::ReadWrite {
            opts.write(true);
            flags |= rustix::fs::OFlags::DSYNC.bits();
        }
        opts.custom_flags(flags as i32);
        let mut file = opts.open(path).map_err(|e| match e.raw_os_error() {
            Some(22) => IoError::NoDirectIo {
                path: path.to_path_buf(),
            },
            _ if e.kind() == std::io::ErrorKind::NotFound => IoError::NotFound {
                path: path.to_path_buf(),
            },
            _ => os("open", e),
        })?;
        let (logical_sector_size_bytes, size_bytes) = match kind {
            DiskKind::File => (512, meta.len()),
            DiskKind::Block => {
                let ss =
                    rustix::fs::ioctl_blksszget(&file).map_err(|e| os("BLKSSZGET", e.into()))?;
                let size = file.seek(SeekFrom::End(0)).map_err(|e| os("seek", e))?;
                (ss, size)
            }
        };
        let opened = file.metadata().map_err(|e| os("fstat", e))?;
        let identity = (opened.dev(), opened.ino());
        Ok(Disk {
            identity,
            file: Arc::new(file),
            path: path.to_path_buf(),
            kind,
            logical_sector_size_bytes,
            size_bytes,
            stuck: Arc::new(AtomicUsize::new(0)),
            writes_in_flight: Arc::new(Mutex::new(Vec::new())),
            workers: Arc::new(Workers::default()),
        })
    }

    /// The path it was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether its path still names the file or device that was opened.
    /// False once the file was deleted, or deleted and created anew (as
    /// `virt-sanlock-cleanup` and libvirt do with lease files): I/O on the
    /// old open file would then reach storage no other host looks at.
    pub fn still_at_path(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.identity)
    }

    /// File or block device.
    pub fn kind(&self) -> DiskKind {
        self.kind
    }

    /// The logical sector size: 512 for regular files, the kernel's for
    /// block devices.
    pub fn logical_sector_size_bytes(&self) -> u32 {
        self.logical_sector_size_bytes
    }

    /// Size of the file or device in bytes, as of open.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    fn check_range(&self, op: &'static str, offset: u64, len: usize) -> Result<(), IoError> {
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|end| end > self.size_bytes) {
            return Err(IoError::PastEnd {
                path: self.path.clone(),
                op,
                offset,
                len,
                size_bytes: self.size_bytes,
            });
        }
        Ok(())
    }

    fn misaligned(&self, op: &'static str, offset: u64, len: usize) -> IoError {
        IoError::Misaligned {
            path: self.path.clone(),
            op,
            offset,
            len,
            sector_size_bytes: self.logical_sector_size_bytes,
        }
    }

    /// Runs `f` on an I/O thread (an idle one, or a new one) and waits at
    /// most `timeout` for it.
    fn run<T: Send + 'static>(
        &self,
        op: &'static str,
        offset: u64,
        len: usize,
        timeout: Duration,
        f: impl FnOnce(&File) -> T + Send + 'static,
    ) -> Result<T, IoError> {
        let stuck = self.stuck.load(Ordering::Acquire);
        if stuck >= STUCK_IOS_MAX {
            return Err(IoError::TooManyStuck {
                path: self.path.clone(),
                stuck,
            });
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let counter = Arc::clone(&self.stuck);
        counter.fetch_add(1, Ordering::AcqRel);
        let job: Job = Box::new(move |file: &File| {
            let r = f(file);
            counter.fetch_sub(1, Ordering::AcqRel);
            // The receiver is gone after a timeout: the result is dropped.
            Box::new(move || {
                let _ = tx.send(r);
            })
        });
        if let Err(e) = self.submit(job) {
            self.stuck.fetch_sub(1, Ordering::AcqRel);
            return Err(IoError::Os {
                path: self.path.clone(),
                op: "spawn I/O thread",
                source: e,
            });
        }
        rx.recv_timeout(timeout).map_err(|_| IoError::Timeout {
            path: self.path.clone(),
            op,
            offset,
            len,
            timeout,
        })
    }

    /// Hands `job` to an idle I/O thread, or to a new one.
    fn submit(&self, mut job: Job) -> std::io::Result<()> {
        while let Some(me) = self.workers.take() {
            // An idle thread always takes work (its queue holds one and is
            // empty); if it is gone all the same, try the next one.
            match me.try_send(Work {
                job,
                me: me.clone(),
            }) {
                Ok(()) => return Ok(()),
                Err(mpsc::TrySendError::Full(w) | mpsc::TrySendError::Disconnected(w)) => {
                    job = w.job
                }
            }
        }
        let (me, queue) = mpsc::sync_channel(1);
        let file = Arc::clone(&self.file);
        let workers = Arc::downgrade(&self.workers);
        std::thread::Builder::new()
            .name("paxlock-io".to_string())
            .spawn(move || worker_loop(file, queue, workers))?;
        me.try_send(Work {
            job,
            me: me.clone(),
        })
        .map_err(|_| std::io::Error::other("new I/O thread is gone"))
    }

    /// Reads `len` bytes at `offset` into an aligned buffer: a new one,
    /// or for large reads one from a pool, which it goes back to when
    /// dropped (see [`POOLED_MIN_BYTES`]). The kernel is done with a
    /// buffer before it can go back: a timed-out read keeps its buffer
    /// until the read completes.
    pub fn read_at(
        &self,
        offset: u64,
        len: usize,
        timeout: Duration,
    ) -> Result<AlignedBuf, IoError> {
        self.check_range("read", offset, len)?;
        let mut buf = buf::READ_POOL.take(len);
        let r = self.run("read", offset, len, timeout, move |file| {
            let mut done = 0;
            while done < len {
                match file.read_at(&mut buf.as_mut_slice()[done..], offset + done as u64) {
                    Ok(0) => break,
                    Ok(n) => done += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            Ok((buf, done))
        })?;
        match r {
            Ok((buf, done)) if done == len => Ok(buf),
            Ok((_, done)) => Err(IoError::Short {
                path: self.path.clone(),
                op: "read",
                offset,
                done,
                len,
            }),
            Err(e) if e.raw_os_error() == Some(22) => Err(self.misaligned("read", offset, len)),
            Err(e) => Err(IoError::Os {
                path: self.path.clone(),
                op: "read",
                source: e,
            }),
        }
    }

    /// Writes `data` at `offset` (O_DSYNC: durable when this returns Ok).
    ///
    /// Writes to one range land in the order they were issued: a write that
    /// overlaps an earlier one still in flight (timed out, not yet
    /// completed by the kernel) is refused with [`IoError::WriteInFlight`].
    pub fn write_at(&self, offset: u64, data: &[u8], timeout: Duration) -> Result<(), IoError> {
        let len = data.len();
        self.check_range("write", offset, len)?;
        let range = (offset, offset + len as u64);
        {
            let mut flying = self
                .writes_in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if flying.iter().any(|&(a, b)| a < range.1 && range.0 < b) {
                return Err(IoError::WriteInFlight {
                    path: self.path.clone(),
                    offset,
                });
            }
            flying.push(range);
        }
        let buf = AlignedBuf::from_slice(data);
        let flying = Arc::clone(&self.writes_in_flight);
        let done = move || {
            let mut f = flying.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = f.iter().position(|&r| r == range) {
                f.swap_remove(i);
            }
        };
        let guard = OnDrop(Some(done));
        let r = self.run("write", offset, len, timeout, move |file| {
            let _guard = guard; // the range is free again once the kernel is done
            let mut done = 0;
            while done < len {
                match file.write_at(&buf.as_slice()[done..], offset + done as u64) {
                    Ok(0) => break,
                    Ok(n) => done += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            Ok(done)
        })?;
        match r {
            Ok(done) if done == len => Ok(()),
            Ok(done) => Err(IoError::Short {
                path: self.path.clone(),
                op: "write",
                offset,
                done,
                len,
            }),
            Err(e) if e.raw_os_error() == Some(22) => Err(self.misaligned("write", offset, len)),
            Err(e) => Err(IoError::Os {
                path: self.path.clone(),
                op: "write",
                source: e,
            }),
        }
    }
}

/// Runs a closure when dropped (here: on the I/O thread, once the kernel
/// has finished with a write, or if the thread could not be started).
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// Whole seconds of CLOCK_MONOTONIC, as sanlock's `monotime()` writes into
/// timestamps. Never 0 on a running system (0 means "free" on disk), so it
/// is clamped to at least 1.
pub fn monotime_secs() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(t.tv_sec).unwrap_or(0).max(1)
}

/// CLOCK_MONOTONIC in milliseconds (the clock of every lease deadline).
pub fn monotime_ms() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1000 + u64::try_from(t.tv_nsec).unwrap_or(0) / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(len: u64) -> (tempfile::TempDir, PathBuf) {
        // Under the target dir, not /tmp: /tmp may be tmpfs, which has no O_DIRECT.
        let dir = tempfile::Builder::new()
            .tempdir_in(env!("CARGO_MANIFEST_DIR"))
            .unwrap();
        let p = dir.path().join("disk");
        let f = File::create(&p).unwrap();
        f.set_len(len).unwrap();
        (dir, p)
    }

    #[test]
    fn write_then_read_back() {
        let (_d, p) = scratch(1 << 20);
        let disk = Disk::open(&p, Access::ReadWrite).unwrap();
        assert_eq!(disk.kind(), DiskKind::File);
        assert_eq!(disk.logical_sector_size_bytes(), 512);
        let data: Vec<u8> = (0..4096).map(|i| i as u8).collect();
        disk.write_at(8192, &data, Duration::from_secs(5)).unwrap();
        let back = disk.read_at(8192, 4096, Duration::from_secs(5)).unwrap();
        assert_eq!(back.as_slice(), &data[..]);
    }

    #[test]
    fn misaligned_offset_is_named() {
        let (_d, p) = scratch(1 << 20);
        let disk = Disk::open(&p, Access::ReadWrite).unwrap();
        let e = disk
            .write_at(1000, &[0u8; 512], Duration::from_secs(5))
            .unwrap_err();
        assert!(matches!(e, IoError::Misaligned { offset: 1000, .. }), "{e}");
        assert_eq!(e.code(), -22);
    }

    #[test]
    fn past_end_is_refused_before_any_io() {
        let (_d, p) = scratch(4096);
        let disk = Disk::open(&p, Access::ReadWrite).unwrap();
        let e = disk
            .write_at(4096, &[1u8; 512], Duration::from_secs(5))
            .unwrap_err();
        assert!(
            matches!(
                e,
                IoError::PastEnd {
                    size_bytes: 4096,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 4096);
    }

    #[test]
    fn a_write_over_one_still_in_flight_is_refused() {
        let (_d, p) = scratch(1 << 20);
        let disk = Disk::open(&p, Access::ReadWrite).unwrap();
        // stands for a timed-out write of [4096, 8192) still in the kernel
        disk.writes_in_flight.lock().unwrap().push((4096, 8192));
        let e = disk
            .write_at(7680, &[1u8; 512], Duration::from_secs(5))
            .unwrap_err();
        assert!(
            matches!(e, IoError::WriteInFlight { offset: 7680, .. }),
            "{e}"
        );
        assert_eq!(e.code(), -202);
        // other ranges are fine, and a completed write frees its range
        disk.write_at(8192, &[2u8; 512], Duration::from_secs(5))
            .unwrap();
        disk.write_at(8192, &[3u8; 512], Duration::from_secs(5))
            .unwrap();
        assert_eq!(disk.writes_in_flight.lock().unwrap().len(), 1);
        disk.writes_in_flight.lock().unwrap().clear();
        disk.write_at(4096, &[4u8; 512], Duration::from_secs(5))
            .unwrap();
    }

    #[test]
    fn missing_path_says_so() {
        let e = Disk::open(Path::new("/nonexistent/paxlock/disk"), Access::ReadOnly).unwrap_err();
        assert!(e.to_string().contains("no such file"), "{e}");
        assert_eq!(e.code(), -19);
    }

    #[test]
    fn a_stuck_io_times_out_and_its_thread_finishes_later() {
        let (_d, p) = scratch(4096);
        let disk = Disk::open(&p, Access::ReadOnly).unwrap();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let e = disk
            .run("read", 0, 512, Duration::from_millis(50), move |_f| {
                let _ = release_rx.recv();
            })
            .unwrap_err();
        assert!(matches!(e, IoError::Timeout { .. }));
        assert_eq!(disk.stuck.load(Ordering::Acquire), 1);
        release_tx.send(()).unwrap();
        for _ in 0..500 {
            if disk.stuck.load(Ordering::Acquire) == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the stuck I/O thread never finished");
    }

    fn idle_workers(disk: &Disk) -> usize {
        disk.workers.idle.lock().unwrap().len()
    }

    #[test]
    fn sequential_ios_reuse_one_thread() {
        let (_d, p) = scratch(1 << 20);
        let disk = Disk::open(&p, Access::ReadWrite).unwrap();
        assert_eq!(idle_workers(&disk), 0);
        let threads = std::sync::Mutex::new(std::collections::HashSet::new());
        let threads = Arc::new(threads);
        for i in 0..20u64 {
            disk.write_at(i * 512, &[i as u8; 512], Duration::from_secs(5))
                .unwrap();
            assert_eq!(
                disk.read_at(i * 512, 512, Duration::from_secs(5)).unwrap()[0],
                i as u8
            );
            let t = Arc::clone(&threads);
            disk.run("read", 0, 0, Duration::from_secs(5), move |_f| {
                t.lock().unwrap().insert(std::thread::current().id());
            })
            .unwrap();
            assert_eq!(idle_workers(&disk), 1);
        }
        assert_eq!(threads.lock().unwrap().len(), 1);
    }

    #[test]
    fn parallel_ios_use_parallel_threads_and_keep_a_few() {
        let (_d, p) = scratch(1 << 20);
        let disk = Arc::new(Disk::open(&p, Access::ReadWrite).unwrap());
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let callers: Vec<_> = (0..4)
            .map(|_| {
                let (disk, barrier) = (Arc::clone(&disk), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    // all four I/Os are in flight at once
                    disk.run("read", 0, 0, Duration::from_secs(5), move |_f| {
                        barrier.wait();
                    })
                })
            })
            .collect();
        for c in callers {
            c.join().unwrap().unwrap();
        }
        for _ in 0..500 {
            if idle_workers(&disk) == IDLE_WORKERS_MAX {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(idle_workers(&disk), IDLE_WORKERS_MAX);
    }

    #[test]
    fn dropping_a_disk_ends_its_threads() {
        let (_d, p) = scratch(4096);
        let disk = Disk::open(&p, Access::ReadOnly).unwrap();
        disk.read_at(0, 512, Duration::from_secs(5)).unwrap();
        assert_eq!(idle_workers(&disk), 1);
        let file = Arc::downgrade(&disk.file);
        drop(disk);
        // the idle thread held the last other reference to the file
        for _ in 0..500 {
            if file.upgrade().is_none() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the idle I/O thread did not exit with its disk");
    }

    #[test]
    fn a_thread_freed_by_a_late_io_serves_the_next() {
        let (_d, p) = scratch(4096);
        let disk = Disk::open(&p, Access::ReadOnly).unwrap();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let e = disk
            .run("read", 0, 512, Duration::from_millis(20), move |_f| {
                let _ = release_rx.recv();
            })
            .unwrap_err();
        assert!(matches!(e, IoError::Timeout { .. }));
        assert_eq!(idle_workers(&disk), 0);
        release_tx.send(()).unwrap();
        for _ in 0..500 {
            if idle_workers(&disk) == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(idle_workers(&disk), 1);
        disk.read_at(0, 512, Duration::from_secs(5)).unwrap();
        assert_eq!(idle_workers(&disk), 1);
    }

    #[test]
    fn too_many_stuck_ios_refuse_new_ones() {
        let (_d, p) = scratch(4096);
        let disk = Disk::open(&p, Access::ReadOnly).unwrap();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        for _ in 0..STUCK_IOS_MAX {
            let rx = Arc::clone(&release_rx);
            let _ = disk.run("read", 0, 512, Duration::from_millis(1), move |_f| {
                let _ = rx.lock().map(|r| r.recv());
            });
        }
        let e = disk.read_at(0, 512, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, IoError::TooManyStuck { .. }), "{e}");
        drop(release_tx);
    }
}
