//! [`Env`] for one simulated host: the global sim time plus the host's
//! clock offset, the run's seeded PRNG, and sleeps and I/O that wait for
//! events of the simulation.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use paxlock_core::env::{DiskId, Env, IoFault};

use crate::disk::SimBuf;
use crate::trace::Ev;
use crate::world::{Completion, Slot, World};

/// One host's handle on the simulated world.
#[derive(Clone)]
pub(crate) struct SimEnv {
    world: Rc<RefCell<World>>,
    /// Host index (host_id - 1).
    pub host: usize,
    clock_offset_ms: u64,
}

impl std::fmt::Debug for SimEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimEnv(host {})", self.host)
    }
}

impl SimEnv {
    pub fn new(world: Rc<RefCell<World>>, host: usize, clock_offset_ms: u64) -> SimEnv {
        SimEnv {
            world,
            host,
            clock_offset_ms,
        }
    }

    /// Runs `f` on the world (never across an await).
    pub fn with<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.world.borrow_mut())
    }

    /// Traces `ev` for this host.
    pub fn trace(&self, ev: Ev) {
        let host = self.host;
        self.with(|w| w.trace(Some(host), ev));
    }

    /// Converts this host's monotonic ms to sim ms.
    pub fn to_sim_ms(&self, local_ms: u64) -> u64 {
        local_ms.saturating_sub(self.clock_offset_ms)
    }

    /// True with probability `p`.
    pub fn chance(&self, p: f64) -> bool {
        self.with(|w| w.rng.chance(p))
    }

    /// A number in `0..=max`.
    pub fn upto(&self, max: u64) -> u64 {
        self.with(|w| w.rng.range(0, max))
    }

    /// Starts a new task on this host.
    pub fn spawn(&self, fut: impl Future<Output = ()> + 'static) {
        let host = self.host;
        self.with(|w| w.spawned.push((host, Box::pin(fut))));
    }
}

/// A sleep.
pub(crate) struct Sleep {
    world: Rc<RefCell<World>>,
    ms: u64,
    slot: Option<Rc<Slot>>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match &this.slot {
            None => {
                this.slot = Some(this.world.borrow_mut().sleep(this.ms));
                Poll::Pending
            }
            Some(slot) => match slot.borrow_mut().take() {
                Some(_) => Poll::Ready(()),
                None => Poll::Pending,
            },
        }
    }
}

enum IoReq {
    Read {
        disk: DiskId,
        offset: u64,
        len: usize,
    },
    Write {
        disk: DiskId,
        offset: u64,
        data: Vec<u8>,
    },
}

/// A read or a write.
pub(crate) struct Io {
    world: Rc<RefCell<World>>,
    req: Option<IoReq>,
    timeout_ms: u64,
    slot: Option<Rc<Slot>>,
}

impl Io {
    fn poll_completion(&mut self) -> Option<Completion> {
        match &self.slot {
            None => {
                let req = self
                    .req
                    .take()
                    .unwrap_or_else(|| unreachable!("an I/O is submitted once"));
                let mut w = self.world.borrow_mut();
                self.slot = Some(match req {
                    IoReq::Read { disk, offset, len } => {
                        w.submit_read(disk, offset, len, self.timeout_ms)
                    }
                    IoReq::Write { disk, offset, data } => {
                        w.submit_write(disk, offset, data, self.timeout_ms)
                    }
                });
                None
            }
            Some(slot) => slot.borrow_mut().take(),
        }
    }
}

/// A read's future.
pub(crate) struct ReadFut(Io);
/// A write's future.
pub(crate) struct WriteFut(Io);

impl Future for ReadFut {
    type Output = Result<SimBuf, IoFault>;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut().0.poll_completion() {
            None => Poll::Pending,
            Some(Completion::Read(r)) => Poll::Ready(r),
            Some(c) => unreachable!("a read completed as {c:?}"),
        }
    }
}

impl Future for WriteFut {
    type Output = Result<(), IoFault>;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut().0.poll_completion() {
            None => Poll::Pending,
            Some(Completion::Wrote(r)) => Poll::Ready(r),
            Some(c) => unreachable!("a write completed as {c:?}"),
        }
    }
}

impl Env for SimEnv {
    type Buf = SimBuf;
    fn now_ms(&self) -> u64 {
        self.world.borrow().now_ms + self.clock_offset_ms
    }

    fn random_u64(&self) -> u64 {
        self.world.borrow_mut().rng.next_u64()
    }

    fn sleep_ms(&self, ms: u64) -> impl Future<Output = ()> {
        Sleep {
            world: self.world.clone(),
            ms,
            slot: None,
        }
    }

    fn read(
        &self,
        disk: DiskId,
        offset: u64,
        len: usize,
        timeout_ms: u64,
    ) -> impl Future<Output = Result<SimBuf, IoFault>> {
        ReadFut(Io {
            world: self.world.clone(),
            req: Some(IoReq::Read { disk, offset, len }),
            timeout_ms,
            slot: None,
        })
    }

    fn write(
        &self,
        disk: DiskId,
        offset: u64,
        data: Vec<u8>,
        timeout_ms: u64,
    ) -> impl Future<Output = Result<(), IoFault>> {
        WriteFut(Io {
            world: self.world.clone(),
            req: Some(IoReq::Write { disk, offset, data }),
            timeout_ms,
            slot: None,
        })
    }
}
