//! A deterministic in-memory environment for the lease algorithms.
//!
//! [`MemEnv`] implements [`paxlock_core::Env`] with:
//! * disks held in memory (`RefCell<Vec<u8>>`), shared by every simulated
//!   host of a test (each host has its own `LockspaceConfig` / `Member`);
//! * a fake monotonic clock that only `sleep_ms` (or the test) advances, so
//!   a 140 s wait costs nothing;
//! * fault injection: the n-th next read or write of a disk fails with an
//!   [`IoFault`] (or times out although the write lands);
//! * a hook called after every sleep (another host renews while we wait)
//!   and a hook called before every I/O (another host's step runs between
//!   two of ours);
//! * a log of every I/O (counters, write timeouts, written bytes).
//!
//! Every future it returns is ready at once, so tests drive the algorithms
//! with [`paxlock_core::block_on`]. I/O done from inside a hook is logged as
//! such and never counted against the operation under test, and hooks and
//! faults do not fire for it.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Mutex;

use paxlock_core::delta::{self, DeltaHeld, HostEvent, HostTable, LockspaceConfig};
use paxlock_core::paxos::{self, AcquireOpts, Held, Member, Mode, ResourceSpec};
pub use paxlock_core::Env;
use paxlock_core::{block_on, DiskId, IoFault, LeaseError, LeaseLoc, Timeouts};
use paxlock_format::area;
use paxlock_format::leader::bitmap_hosts;
use paxlock_format::{
    AlignSize, Geometry, LeaderRecord, ModeBlock, Name, PaxosDblock, RequestRecord, SectorSize,
};

/// The lockspace disk of every test.
pub const LS_DISK: DiskId = DiskId(0);
/// The resource disk of every test.
pub const RES_DISK: DiskId = DiskId(1);
/// Lockspace name.
pub const SPACE: &str = "LS";
/// Resource name.
pub const RES: &str = "R1";
/// Where the fake clock starts (1000 s), so timestamps are never 0.
pub const START_MS: u64 = 1_000_000;
/// Default io_timeout.
pub const IO: u32 = 10;
/// Default watchdog fire timeout.
pub const WFT: u32 = 60;
/// host_dead_seconds at io 10, wft 60.
pub const HOST_DEAD_MS: u64 = 140_000;

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoKind {
    /// A read.
    Read,
    /// A write.
    Write,
}

/// How an injected fault behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The I/O fails with this fault and (for a write) does not land.
    Io(IoFault),
    /// A write that misses its deadline (`IoFault::Timeout`) but lands.
    TimeoutButLands,
}

#[derive(Debug, Clone, Copy)]
struct FaultRule {
    kind: IoKind,
    disk: DiskId,
    skip: usize,
    fault: Fault,
}

/// One I/O as the environment saw it.
#[derive(Debug, Clone)]
pub struct IoRecord {
    /// Read or write.
    pub kind: IoKind,
    /// Disk.
    pub disk: DiskId,
    /// Byte offset.
    pub offset: u64,
    /// Length in bytes.
    pub len: usize,
    /// The deadline the caller gave.
    pub timeout_ms: u64,
    /// The bytes written (writes only).
    pub data: Vec<u8>,
    /// Fake time of the I/O.
    pub at_ms: u64,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
    /// True when it came from a hook (another simulated host).
    pub by_hook: bool,
}

/// What the I/O hook is told about the I/O about to happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoEvent {
    /// Read or write.
    pub kind: IoKind,
    /// Disk.
    pub disk: DiskId,
    /// Byte offset.
    pub offset: u64,
    /// Length.
    pub len: usize,
}

type SleepHook = Box<dyn FnMut(&MemEnv)>;
type IoHook = Box<dyn FnMut(&MemEnv, IoEvent)>;

/// The in-memory environment.
pub struct MemEnv {
    disks: RefCell<BTreeMap<DiskId, Vec<u8>>>,
    now_ms: Cell<u64>,
    rng: Cell<u64>,
    faults: RefCell<Vec<FaultRule>>,
    sleep_hook: RefCell<Option<SleepHook>>,
    io_hook: RefCell<Option<IoHook>>,
    hook_depth: Cell<u32>,
    log: RefCell<Vec<IoRecord>>,
    sleeps: RefCell<Vec<u64>>,
}

impl std::fmt::Debug for MemEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemEnv")
            .field("now_ms", &self.now_ms.get())
            .finish_non_exhaustive()
    }
}

impl Default for MemEnv {
    fn default() -> Self {
        MemEnv::new()
    }
}

impl MemEnv {
    /// Two 1 MiB zeroed disks (LS_DISK, RES_DISK), clock at START_MS.
    pub fn new() -> MemEnv {
        let mut disks = BTreeMap::new();
        disks.insert(LS_DISK, vec![0u8; 1 << 20]);
        disks.insert(RES_DISK, vec![0u8; 1 << 20]);
        MemEnv {
            disks: RefCell::new(disks),
            now_ms: Cell::new(START_MS),
            rng: Cell::new(0x9E37_79B9_7F4A_7C15),
            faults: RefCell::new(Vec::new()),
            sleep_hook: RefCell::new(None),
            io_hook: RefCell::new(None),
            hook_depth: Cell::new(0),
            log: RefCell::new(Vec::new()),
            sleeps: RefCell::new(Vec::new()),
        }
    }

    // ----- clock ---------------------------------------------------------

    /// Moves the fake clock forward (a test's own passage of time).
    pub fn advance_ms(&self, ms: u64) {
        self.now_ms.set(self.now_ms.get() + ms);
    }

    /// The sleeps the code under test made (not those of hooks), in ms.
    pub fn sleeps(&self) -> Vec<u64> {
        self.sleeps.borrow().clone()
    }

    /// Forgets the recorded sleeps and I/O log.
    pub fn reset_log(&self) {
        self.sleeps.borrow_mut().clear();
        self.log.borrow_mut().clear();
    }

    // ----- raw disk access (no hooks, no faults, no log) -----------------

    /// Bytes of a disk, bypassing everything.
    pub fn peek(&self, disk: DiskId, offset: u64, len: usize) -> Vec<u8> {
        let disks = self.disks.borrow();
        let d = disks.get(&disk).expect("no such disk");
        let off = usize::try_from(offset).unwrap();
        d[off..off + len].to_vec()
    }

    /// Overwrites bytes of a disk, bypassing everything.
    pub fn poke(&self, disk: DiskId, offset: u64, data: &[u8]) {
        let mut disks = self.disks.borrow_mut();
        let d = disks.get_mut(&disk).expect("no such disk");
        let off = usize::try_from(offset).unwrap();
        d[off..off + data.len()].copy_from_slice(data);
    }

    // ----- faults --------------------------------------------------------

    /// The read of `disk` after `skip` more reads of it fails with `fault`.
    pub fn fail_read(&self, disk: DiskId, skip: usize, fault: IoFault) {
        self.faults.borrow_mut().push(FaultRule {
            kind: IoKind::Read,
            disk,
            skip,
            fault: Fault::Io(fault),
        });
    }

    /// The write of `disk` after `skip` more writes of it fails as `fault`.
    pub fn fail_write(&self, disk: DiskId, skip: usize, fault: Fault) {
        self.faults.borrow_mut().push(FaultRule {
            kind: IoKind::Write,
            disk,
            skip,
            fault,
        });
    }

    /// True when no injected fault is still waiting to fire.
    pub fn faults_all_fired(&self) -> bool {
        self.faults.borrow().is_empty()
    }

    fn take_fault(&self, kind: IoKind, disk: DiskId) -> Option<Fault> {
        // Each rule counts the matching I/Os from when it was set.
        let mut faults = self.faults.borrow_mut();
        let mut fired = None;
        let mut i = 0;
        while i < faults.len() {
            let r = &mut faults[i];
            if r.kind == kind && r.disk == disk {
                if r.skip == 0 && fired.is_none() {
                    fired = Some(faults.remove(i).fault);
                    continue;
                }
                r.skip = r.skip.saturating_sub(1);
            }
            i += 1;
        }
        fired
    }

    // ----- hooks ---------------------------------------------------------

    /// Calls `f` after every sleep of the code under test (time already
    /// advanced). Replaces any previous sleep hook.
    pub fn set_sleep_hook(&self, f: impl FnMut(&MemEnv) + 'static) {
        *self.sleep_hook.borrow_mut() = Some(Box::new(f));
    }

    /// Calls `f` before every I/O of the code under test.
    pub fn set_io_hook(&self, f: impl FnMut(&MemEnv, IoEvent) + 'static) {
        *self.io_hook.borrow_mut() = Some(Box::new(f));
    }

    /// Removes both hooks.
    pub fn clear_hooks(&self) {
        *self.sleep_hook.borrow_mut() = None;
        *self.io_hook.borrow_mut() = None;
    }

    /// True while a hook runs (its I/O belongs to another simulated host).
    pub fn in_hook(&self) -> bool {
        self.hook_depth.get() > 0
    }

    fn run_sleep_hook(&self) {
        let Some(mut hook) = self.sleep_hook.borrow_mut().take() else {
            return;
        };
        self.hook_depth.set(self.hook_depth.get() + 1);
        hook(self);
        self.hook_depth.set(self.hook_depth.get() - 1);
        let mut slot = self.sleep_hook.borrow_mut();
        if slot.is_none() {
            *slot = Some(hook);
        }
    }

    fn run_io_hook(&self, ev: IoEvent) {
        let Some(mut hook) = self.io_hook.borrow_mut().take() else {
            return;
        };
        self.hook_depth.set(self.hook_depth.get() + 1);
        hook(self, ev);
        self.hook_depth.set(self.hook_depth.get() - 1);
        let mut slot = self.io_hook.borrow_mut();
        if slot.is_none() {
            *slot = Some(hook);
        }
    }

    // ----- log -----------------------------------------------------------

    /// Every I/O so far, hooks' included.
    pub fn log(&self) -> Vec<IoRecord> {
        self.log.borrow().clone()
    }

    /// I/Os of the code under test on `disk`.
    pub fn ios(&self, kind: IoKind, disk: DiskId) -> Vec<IoRecord> {
        self.log
            .borrow()
            .iter()
            .filter(|r| r.kind == kind && r.disk == disk && !r.by_hook)
            .cloned()
            .collect()
    }

    /// Reads by the code under test on `disk`.
    pub fn reads(&self, disk: DiskId) -> usize {
        self.ios(IoKind::Read, disk).len()
    }

    /// Writes by the code under test on `disk`.
    pub fn writes(&self, disk: DiskId) -> usize {
        self.ios(IoKind::Write, disk).len()
    }

    /// Writes by the code under test on any disk.
    pub fn all_writes(&self) -> usize {
        self.writes(LS_DISK) + self.writes(RES_DISK)
    }

    fn record(&self, kind: IoKind, disk: DiskId, offset: u64, len: usize, t: u64, data: &[u8]) {
        self.log.borrow_mut().push(IoRecord {
            kind,
            disk,
            offset,
            len,
            timeout_ms: t,
            data: data.to_vec(),
            at_ms: self.now_ms.get(),
            fault: None,
            by_hook: self.in_hook(),
        });
    }

    fn set_last_fault(&self, f: Fault) {
        if let Some(r) = self.log.borrow_mut().last_mut() {
            r.fault = Some(f);
        }
    }
}

impl Env for MemEnv {
    type Buf = Vec<u8>;
    fn now_ms(&self) -> u64 {
        self.now_ms.get()
    }

    fn random_u64(&self) -> u64 {
        // xorshift64*: deterministic
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    async fn sleep_ms(&self, ms: u64) {
        if !self.in_hook() {
            self.sleeps.borrow_mut().push(ms);
        }
        self.now_ms.set(self.now_ms.get() + ms);
        if !self.in_hook() {
            self.run_sleep_hook();
        }
    }

    async fn read(
        &self,
        disk: DiskId,
        offset: u64,
        len: usize,
        timeout_ms: u64,
    ) -> Result<Vec<u8>, IoFault> {
        let hooked = self.in_hook();
        if !hooked {
            self.run_io_hook(IoEvent {
                kind: IoKind::Read,
                disk,
                offset,
                len,
            });
        }
        self.record(IoKind::Read, disk, offset, len, timeout_ms, &[]);
        if !hooked {
            if let Some(f) = self.take_fault(IoKind::Read, disk) {
                self.set_last_fault(f);
                return Err(match f {
                    Fault::Io(e) => e,
                    Fault::TimeoutButLands => IoFault::Timeout,
                });
            }
        }
        Ok(self.peek(disk, offset, len))
    }

    async fn write(
        &self,
        disk: DiskId,
        offset: u64,
        data: Vec<u8>,
        timeout_ms: u64,
    ) -> Result<(), IoFault> {
        let hooked = self.in_hook();
        if !hooked {
            self.run_io_hook(IoEvent {
                kind: IoKind::Write,
                disk,
                offset,
                len: data.len(),
            });
        }
        self.record(IoKind::Write, disk, offset, data.len(), timeout_ms, &data);
        if !hooked {
            if let Some(f) = self.take_fault(IoKind::Write, disk) {
                self.set_last_fault(f);
                return Err(match f {
                    Fault::Io(e) => e,
                    Fault::TimeoutButLands => {
                        self.poke(disk, offset, &data);
                        IoFault::Timeout
                    }
                });
            }
        }
        self.poke(disk, offset, &data);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// geometry, names, initialisation

/// 512-byte sectors, 1 MiB areas, 2000 hosts.
pub fn g() -> Geometry {
    Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap()
}

/// A name.
pub fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

/// Timeouts for io and wft 60.
pub fn timeouts(io: u32) -> Timeouts {
    Timeouts::new(io, WFT).unwrap()
}

/// Initialises the lockspace on LS_DISK as `direct init -s` does: the area,
/// then the commit sector.
pub fn init_lockspace(env: &MemEnv, io_timeout: u16) {
    let init = area::lockspace_init(g(), name(SPACE), io_timeout);
    env.poke(LS_DISK, 0, &init.area);
    env.poke(LS_DISK, 0, &init.commit_sector);
}

/// Initialises the resource on RES_DISK (num_hosts 0 = max_hosts).
pub fn init_resource(env: &MemEnv, num_hosts: u64) {
    let a = area::resource_init(g(), name(SPACE), name(RES), num_hosts, None);
    env.poke(RES_DISK, 0, &a);
}

/// A lockspace and a resource, both initialised (io_timeout 10).
pub fn setup() -> MemEnv {
    let env = MemEnv::new();
    init_lockspace(&env, 10);
    init_resource(&env, 0);
    env
}

/// The resource spec of RES on RES_DISK.
pub fn res() -> ResourceSpec {
    ResourceSpec {
        space_name: name(SPACE),
        name: name(RES),
        loc: LeaseLoc {
            disk: RES_DISK,
            offset: 0,
        },
    }
}

/// A lockspace config for a host.
pub fn ls_config(host_id: u64, host_name: &str, io: u32) -> LockspaceConfig {
    LockspaceConfig {
        space_name: name(SPACE),
        host_id,
        loc: LeaseLoc {
            disk: LS_DISK,
            offset: 0,
        },
        geometry: g(),
        timeouts: timeouts(io),
        host_name: name(host_name),
    }
}

// ---------------------------------------------------------------------------
// reading and editing records directly

/// The whole sector of host_id's delta slot.
pub fn delta_sector(env: &MemEnv, host_id: u64) -> Vec<u8> {
    env.peek(LS_DISK, (host_id - 1) * 512, 512)
}

/// host_id's delta leader as on disk.
pub fn delta_slot(env: &MemEnv, host_id: u64) -> LeaderRecord {
    LeaderRecord::decode(&delta_sector(env, host_id)).unwrap()
}

/// host_ids set in host_id's bitmap.
pub fn delta_bitmap(env: &MemEnv, host_id: u64) -> Vec<u64> {
    bitmap_hosts(&delta_sector(env, host_id), 2000)
}

/// Rewrites host_id's delta leader with `f` applied and a fresh checksum;
/// the bitmap half of the sector is kept.
pub fn edit_delta_slot(env: &MemEnv, host_id: u64, f: impl FnOnce(&mut LeaderRecord)) {
    let mut s = delta_sector(env, host_id);
    let mut l = LeaderRecord::decode(&s).unwrap();
    f(&mut l);
    l.seal();
    l.encode(&mut s).unwrap();
    env.poke(LS_DISK, (host_id - 1) * 512, &s);
}

/// Like `edit_delta_slot` but the checksum is left as it was.
pub fn edit_delta_slot_unsealed(env: &MemEnv, host_id: u64, f: impl FnOnce(&mut LeaderRecord)) {
    let mut s = delta_sector(env, host_id);
    let mut l = LeaderRecord::decode(&s).unwrap();
    f(&mut l);
    l.encode(&mut s).unwrap();
    env.poke(LS_DISK, (host_id - 1) * 512, &s);
}

/// What another host's renewal does to its slot: a new timestamp (now).
pub fn bump_delta_timestamp(env: &MemEnv, host_id: u64) {
    let ts = env.now_secs();
    edit_delta_slot(env, host_id, |l| l.timestamp = ts);
}

/// The whole lockspace area (what a renewal reads).
pub fn ls_area(env: &MemEnv) -> Vec<u8> {
    env.peek(LS_DISK, 0, 1 << 20)
}

/// The paxos leader on disk.
pub fn leader(env: &MemEnv) -> LeaderRecord {
    LeaderRecord::decode(&env.peek(RES_DISK, 0, 512)).unwrap()
}

/// The raw leader sector.
pub fn leader_sector(env: &MemEnv) -> Vec<u8> {
    env.peek(RES_DISK, 0, 512)
}

/// Rewrites the paxos leader with `f` applied and a fresh checksum.
pub fn edit_leader(env: &MemEnv, f: impl FnOnce(&mut LeaderRecord)) {
    let mut l = leader(env);
    f(&mut l);
    l.seal();
    env.poke(RES_DISK, 0, &l.to_sector(512).unwrap());
}

/// host_id's dblock sector.
pub fn dblock_sector(env: &MemEnv, host_id: u64) -> Vec<u8> {
    env.peek(RES_DISK, (host_id + 1) * 512, 512)
}

/// host_id's dblock.
pub fn dblock(env: &MemEnv, host_id: u64) -> PaxosDblock {
    PaxosDblock::decode(&dblock_sector(env, host_id)).unwrap()
}

/// host_id's mode block.
pub fn mode_block(env: &MemEnv, host_id: u64) -> ModeBlock {
    ModeBlock::decode_from_sector(&dblock_sector(env, host_id)).unwrap()
}

/// Writes host_id's dblock sector (dblock sealed, optional mode block).
pub fn put_dblock(env: &MemEnv, host_id: u64, mut d: PaxosDblock, mode: Option<ModeBlock>) {
    d.seal();
    let mut s = vec![0u8; 512];
    d.encode(&mut s).unwrap();
    if let Some(m) = mode {
        m.encode_into_sector(&mut s).unwrap();
    }
    env.poke(RES_DISK, (host_id + 1) * 512, &s);
}

/// The request record on disk.
pub fn request_record(env: &MemEnv) -> RequestRecord {
    RequestRecord::decode(&env.peek(RES_DISK, 512, 512)).unwrap()
}

/// Writes the request record.
pub fn put_request_record(env: &MemEnv, r: RequestRecord) {
    let mut s = vec![0u8; 512];
    r.encode(&mut s).unwrap();
    env.poke(RES_DISK, 512, &s);
}

/// The whole resource area.
pub fn res_area(env: &MemEnv) -> Vec<u8> {
    env.peek(RES_DISK, 0, 1 << 20)
}

// ---------------------------------------------------------------------------
// simulated hosts

/// One simulated host: its lockspace membership and what its renewals saw.
#[derive(Debug)]
pub struct Host {
    /// Its lockspace config.
    pub cfg: LockspaceConfig,
    /// Its held delta lease.
    pub held: RefCell<DeltaHeld>,
    /// Its view of the other hosts.
    pub table: Mutex<HostTable>,
}

impl Host {
    /// Joins the lockspace (a real `delta_acquire`; costs 2 io of fake
    /// time). Panics if the join fails.
    pub fn join(env: &MemEnv, host_id: u64, host_name: &str) -> Rc<Host> {
        Host::join_io(env, host_id, host_name, IO)
    }

    /// Joins with another io_timeout.
    pub fn join_io(env: &MemEnv, host_id: u64, host_name: &str, io: u32) -> Rc<Host> {
        let cfg = ls_config(host_id, host_name, io);
        let held = block_on(delta::delta_acquire(env, &cfg))
            .unwrap_or_else(|e| panic!("host {host_id} join: {e}"));
        Rc::new(Host {
            cfg,
            held: RefCell::new(held),
            table: Mutex::new(HostTable::default()),
        })
    }

    /// host_id.
    pub fn id(&self) -> u64 {
        self.cfg.host_id
    }

    /// Its current generation.
    pub fn generation(&self) -> u64 {
        self.held.borrow().generation
    }

    /// The paxos view of this host.
    pub fn member(&self) -> Member<'_> {
        Member {
            space: &self.cfg,
            generation: self.generation(),
            hosts: &self.table,
            bug: None,
        }
    }

    /// One renewal; what it read is recorded in the host table.
    pub fn renew(&self, env: &MemEnv) -> Result<(), LeaseError> {
        let mut held = self.held.borrow_mut();
        let area = block_on(delta::delta_renew(
            env,
            &self.cfg,
            &mut held,
            &[],
            HostEvent::default(),
        ))?;
        self.table
            .lock()
            .unwrap()
            .observe(&area, g(), &name(SPACE), env.now_ms());
        Ok(())
    }

    /// Records the lockspace as it is now in the host table (what one
    /// renewal read would give), without writing anything.
    pub fn observe(&self, env: &MemEnv) {
        self.table
            .lock()
            .unwrap()
            .observe(&ls_area(env), g(), &name(SPACE), env.now_ms());
    }

    /// Leaves the lockspace (timestamp 0).
    pub fn leave(&self, env: &MemEnv) {
        block_on(delta::delta_release(env, &self.cfg, &self.held.borrow())).unwrap();
    }

    /// Leaves and joins again (generation + 1).
    pub fn rejoin(&self, env: &MemEnv) {
        self.leave(env);
        let held = block_on(delta::delta_acquire(env, &self.cfg)).unwrap();
        *self.held.borrow_mut() = held;
    }

    /// Acquires RES in `mode`.
    pub fn acquire(&self, env: &MemEnv, mode: Mode) -> Result<Held, LeaseError> {
        self.acquire_opts(env, mode, AcquireOpts::default())
    }

    /// Acquires RES with options.
    pub fn acquire_opts(
        &self,
        env: &MemEnv,
        mode: Mode,
        opts: AcquireOpts,
    ) -> Result<Held, LeaseError> {
        block_on(paxos::acquire(env, &self.member(), &res(), mode, opts))
    }

    /// Releases a held lease.
    pub fn release(&self, env: &MemEnv, held: &Held) -> Result<(), LeaseError> {
        block_on(paxos::release(env, &self.member(), held))
    }

    /// Converts a held lease.
    pub fn convert(&self, env: &MemEnv, held: &Held, to: Mode) -> Result<Held, LeaseError> {
        let mut h = held.clone();
        block_on(paxos::convert(env, &self.member(), &mut h, to)).map(|()| h)
    }
}

/// A sleep hook that stands for a live host renewing its delta lease every
/// second of fake time (a new timestamp on every sleep of ours).
pub fn keep_alive(host_id: u64) -> impl FnMut(&MemEnv) + 'static {
    move |env: &MemEnv| bump_delta_timestamp(env, host_id)
}

/// Asserts that the lease has exactly the owner `(id, generation)` at
/// `lver`, and that no dblock at that lver carries another accepted value.
pub fn assert_single_owner(env: &MemEnv, id: u64, generation: u64, lver: u64) {
    let l = leader(env);
    assert!(l.checksum_ok());
    assert_eq!(l.lver, lver, "leader lver");
    assert_ne!(l.timestamp, 0, "the leader must be held");
    assert_eq!(
        (l.owner_id, l.owner_generation),
        (id, generation),
        "leader owner"
    );
    for h in 1..=8 {
        let d = dblock(env, h);
        if d.lver == lver && d.inp != 0 && d.bal != 0 {
            assert_eq!(
                (d.inp, d.inp2),
                (id, generation),
                "host {h} accepted another value at lver {lver}"
            );
        }
    }
}
