//! The seam between the lease algorithms and the world.
//!
//! The algorithms are `async fn`s generic over [`Env`]: every disk read or
//! write, every sleep and every look at the clock goes through it. The real
//! driver implements it with blocking O_DIRECT I/O (so its futures are
//! always ready, and [`block_on`] runs them); the simulator implements it
//! with simulated storage and time, and runs many hosts' futures in one
//! deterministic loop. No algorithm can tell the difference.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Which shared disk an I/O goes to (the environment maps it to a path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiskId(pub u32);

/// Where a lease area starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseLoc {
    /// The disk.
    pub disk: DiskId,
    /// Byte offset of the area.
    pub offset: u64,
}

/// An I/O that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IoFault {
    /// It missed its deadline. A write may still land later.
    #[error("I/O timed out")]
    Timeout,
    /// It failed (negative errno).
    #[error("I/O failed with {0}")]
    Failed(i32),
}

/// Clock, randomness, sleeping and disk I/O for the lease algorithms.
///
/// Time is CLOCK_MONOTONIC (never wall-clock time): it only moves forward,
/// and it is what other hosts can never see. On-disk timestamps are its
/// whole seconds.
pub trait Env {
    /// Monotonic time in milliseconds.
    fn now_ms(&self) -> u64;

    /// Monotonic time in whole seconds, as written into timestamps; at
    /// least 1, since 0 means "free" on disk.
    fn now_secs(&self) -> u64 {
        (self.now_ms() / 1000).max(1)
    }

    /// A random number (ballot backoff); seeded in the simulator.
    fn random_u64(&self) -> u64;

    /// Sleeps `ms` milliseconds.
    fn sleep_ms(&self, ms: u64) -> impl Future<Output = ()>;

    /// What a read returns: the bytes read. The real driver hands out a
    /// pooled aligned buffer (no allocation, zeroing or copy per read), the
    /// simulator a shared view of its disk. Algorithms should drop a read
    /// before their next I/O when they can: a held buffer keeps a pool
    /// buffer (driver) or makes a write copy what it holds (simulator).
    type Buf: std::ops::Deref<Target = [u8]>;

    /// Reads `len` bytes at `offset` of `disk`, waiting at most `timeout_ms`.
    fn read(
        &self,
        disk: DiskId,
        offset: u64,
        len: usize,
        timeout_ms: u64,
    ) -> impl Future<Output = Result<Self::Buf, IoFault>>;

    /// Writes `data` at `offset` of `disk`, waiting at most `timeout_ms`.
    /// After a timeout the write may still land later: callers must allow
    /// for it.
    ///
    /// Contract: writes through one environment to overlapping ranges land
    /// in the order they were issued. An implementation that cannot
    /// guarantee it (a timed-out write is still in the kernel) must refuse
    /// the new write with `IoFault::Timeout` rather than let it race the old
    /// one: otherwise our own stale write could land over a newer one and
    /// erase, say, a SHARED mode block we still rely on.
    fn write(
        &self,
        disk: DiskId,
        offset: u64,
        data: Vec<u8>,
        timeout_ms: u64,
    ) -> impl Future<Output = Result<(), IoFault>>;
}

/// Runs a future whose environment never leaves it pending (blocking I/O).
///
/// # Panics
/// If the future returns `Pending`: that environment is not a blocking one,
/// and must be driven by its own executor (the simulator).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => {
            panic!("block_on: the environment returned Pending; drive it with its own executor")
        }
    }
}
