//! The lease engine on real storage.
//!
//! [`RealEnv`] implements `paxlock_core::Env` with paxlock-io's O_DIRECT
//! disks (every I/O has a deadline) and the monotonic clock; its futures
//! never pend, so the core's `async fn`s run with `block_on`.
//!
//! [`Lockspace`] joins a lockspace and keeps the host_id: a renewal thread
//! per lockspace (so one lockspace's slow storage never delays another's
//! renewals), and a monitor thread that declares the lease lost once the
//! last successful renewal is older than id_renewal_fail_seconds, whether
//! or not the renewal thread is stuck in I/O. Loss is one-way.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use paxlock_core::delta::{self, DeltaHeld, HostEvent, HostState, HostTable, LockspaceConfig};
use paxlock_core::paxos::{self, AcquireOpts, Held, Member, Mode, ResourceSpec};
use paxlock_core::{block_on, DiskId, Env, IoFault, LeaseError};
use paxlock_io::{Access, Disk, IoError};

/// Local monotonic time in ms (CLOCK_MONOTONIC).
pub fn monotime_ms() -> u64 {
    paxlock_io::monotime_ms()
}

/// Disks by id, opened read-write with O_DIRECT.
#[derive(Debug, Default, Clone)]
pub struct RealEnv {
    disks: Arc<Mutex<HashMap<DiskId, Arc<Disk>>>>,
    paths: Arc<Mutex<HashMap<PathBuf, DiskId>>>,
}

impl RealEnv {
    /// An environment with no disks yet.
    pub fn new() -> RealEnv {
        RealEnv::default()
    }

    /// The id of `path`, opening it on first use, and again whenever the
    /// path no longer names the file that was opened (deleted, or deleted
    /// and created anew: a lease taken on the old open file would be a
    /// lease no other host sees). The new file gets a new id; leases held
    /// on the old one keep theirs, so their release reaches the file they
    /// were taken on.
    pub fn disk(&self, path: &Path) -> Result<DiskId, IoError> {
        let mut paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = paths.get(path) {
            if self.get(*id).is_some_and(|d| d.still_at_path()) {
                return Ok(*id);
            }
        }
        let disk = Disk::open(path, Access::ReadWrite)?;
        let mut disks = self.disks.lock().unwrap_or_else(|e| e.into_inner());
        let id = DiskId(disks.len() as u32);
        disks.insert(id, Arc::new(disk));
        paths.insert(path.to_path_buf(), id);
        Ok(id)
    }

    fn get(&self, id: DiskId) -> Option<Arc<Disk>> {
        self.disks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }
}

fn fault(e: IoError) -> IoFault {
    match e {
        IoError::Timeout { .. } | IoError::TooManyStuck { .. } | IoError::WriteInFlight { .. } => {
            IoFault::Timeout
        }
        e => IoFault::Failed(e.code()),
    }
}

impl Env for RealEnv {
    type Buf = paxlock_io::AlignedBuf;
    fn now_ms(&self) -> u64 {
        monotime_ms()
    }

    fn random_u64(&self) -> u64 {
        RandomState::new().build_hasher().finish()
    }

    async fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    async fn read(
        &self,
        disk: DiskId,
        offset: u64,
        len: usize,
        timeout_ms: u64,
    ) -> Result<Self::Buf, IoFault> {
        let d = self.get(disk).ok_or(IoFault::Failed(-19))?;
        d.read_at(offset, len, Duration::from_millis(timeout_ms))
            .map_err(fault)
    }

    async fn write(
        &self,
        disk: DiskId,
        offset: u64,
        data: Vec<u8>,
        timeout_ms: u64,
    ) -> Result<(), IoFault> {
        let d = self.get(disk).ok_or(IoFault::Failed(-19))?;
        d.write_at(offset, &data, Duration::from_millis(timeout_ms))
            .map_err(fault)
    }
}

/// One good renewal, as sanlock's renewal history keeps it (`sanlock
/// client renewal`): the timestamp written, how long the read and the
/// write took, and how many attempts after it timed out or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenewalRecord {
    /// Timestamp written (seconds).
    pub timestamp: u64,
    /// Read duration (ms).
    pub read_ms: u64,
    /// Write duration (ms).
    pub write_ms: u64,
    /// Attempts after this one that timed out.
    pub next_timeouts: u32,
    /// Attempts after this one that failed otherwise.
    pub next_errors: u32,
    /// When it ended (local monotonic ms).
    pub at_ms: u64,
}

/// How many renewals the history keeps (sanlock's `renewal_history_size`).
pub const RENEWAL_HISTORY: usize = 180;

/// Why our hold on a lockspace ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LossReason {
    /// No successful renewal for id_renewal_fail_seconds.
    RenewalTimeout {
        /// ms since the last successful renewal when it was noticed.
        gap_ms: u64,
    },
    /// A renewal found our slot corrupt or taken.
    Corrupt(String),
}

struct Shared<E> {
    cfg: LockspaceConfig,
    env: E,
    held: Mutex<DeltaHeld>,
    hosts: Mutex<HostTable>,
    last_success_ms: AtomicU64,
    lost: Mutex<Option<LossReason>>,
    stop: AtomicBool,
    /// host_id -> until (ms) its bit stays set in our bitmap.
    bits: Mutex<HashMap<u64, u64>>,
    /// Renewals that found another host's bit set for us (a request).
    signalled: AtomicU64,
    /// The last [`RENEWAL_HISTORY`] renewals, oldest first.
    history: Mutex<std::collections::VecDeque<RenewalRecord>>,
    /// The host event our renewals write (SET_EVENT).
    event: Mutex<HostEvent>,
    /// Called for each host event another host sends us.
    event_sink: Mutex<Option<EventSink>>,
    /// Called after each good renewal with its `last_success_ms` (the
    /// watchdog's expiry follows it).
    renewal_hook: Mutex<Option<RenewalHook>>,
}

/// Receives the host events other hosts send us.
type RenewalHook = Box<dyn Fn(u64) + Send + Sync>;
type EventSink = Box<dyn Fn(ReceivedEvent) + Send + Sync>;

/// A host event another host sent us: its delta lease had our bit set
/// in its bitmap and a non-zero event in its `write_*` fields, at one of
/// its renewals (so while the bit stays set, each of its renewals that we
/// see delivers the event again, as in sanlock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedEvent {
    /// The event (generation = the target generation the sender named).
    pub event: HostEvent,
    /// Our host_id (the event's target).
    pub host_id: u64,
    /// The sender's host_id.
    pub from_host_id: u64,
    /// The sender's generation.
    pub from_generation: u64,
}

/// An environment the driver can run on threads.
pub trait ThreadEnv: Env + Clone + Send + Sync + 'static {}
impl<T: Env + Clone + Send + Sync + 'static> ThreadEnv for T {}

/// A joined lockspace with its renewal and monitor threads.
pub struct Lockspace<E: ThreadEnv = RealEnv> {
    shared: Arc<Shared<E>>,
    threads: Vec<JoinHandle<()>>,
}

impl<E: ThreadEnv> std::fmt::Debug for Lockspace<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lockspace")
            .field("space", &self.shared.cfg.space_name)
            .field("host_id", &self.shared.cfg.host_id)
            .finish()
    }
}

impl<E: ThreadEnv> Lockspace<E> {
    /// Joins (acquires our host_id; about 2 io_timeouts for a free slot)
    /// and starts renewing.
    pub fn join(env: E, cfg: LockspaceConfig) -> Result<Lockspace<E>, LeaseError> {
        let held = block_on(delta::delta_acquire(&env, &cfg))?;
        let shared = Arc::new(Shared {
            last_success_ms: AtomicU64::new(held.last_success_ms),
            held: Mutex::new(held),
            hosts: Mutex::new(HostTable::default()),
            lost: Mutex::new(None),
            stop: AtomicBool::new(false),
            bits: Mutex::new(HashMap::new()),
            signalled: AtomicU64::new(0),
            history: Mutex::new(std::collections::VecDeque::new()),
            event: Mutex::new(HostEvent::default()),
            event_sink: Mutex::new(None),
            renewal_hook: Mutex::new(None),
            cfg,
            env,
        });
        let r = Arc::clone(&shared);
        let renewal = std::thread::Builder::new()
            .name(format!("renew-{}", shared.cfg.space_name))
            .spawn(move || renewal_loop(&r))
            .map_err(|_| LeaseError::Stopped)?;
        let m = Arc::clone(&shared);
        let monitor = std::thread::Builder::new()
            .name(format!("monitor-{}", shared.cfg.space_name))
            .spawn(move || monitor_loop(&m))
            .map_err(|_| LeaseError::Stopped)?;
        Ok(Lockspace {
            shared,
            threads: vec![renewal, monitor],
        })
    }

    /// Our generation.
    pub fn generation(&self) -> u64 {
        self.shared.held.lock().map(|h| h.generation).unwrap_or(0)
    }

    /// The configuration.
    pub fn config(&self) -> &LockspaceConfig {
        &self.shared.cfg
    }

    /// Why the lockspace was lost, if it was.
    pub fn lost(&self) -> Option<LossReason> {
        self.shared.lost.lock().map(|l| l.clone()).unwrap_or(None)
    }

    /// Local ms of the last successful renewal.
    pub fn last_success_ms(&self) -> u64 {
        self.shared.last_success_ms.load(Ordering::Acquire)
    }

    /// What `host_status` reports for `host_id`.
    pub fn host_state(&self, host_id: u64) -> HostState {
        let now = self.shared.env.now_ms();
        self.shared
            .hosts
            .lock()
            .map(|t| {
                t.state(
                    host_id,
                    self.shared.cfg.host_id,
                    self.shared.cfg.timeouts,
                    now,
                )
            })
            .unwrap_or(HostState::Unknown)
    }

    /// Every host slot our renewals have seen with an owner or a
    /// timestamp: (host_id, what we saw, its state).
    pub fn hosts(&self) -> Vec<(u64, paxlock_core::delta::HostStatus, HostState)> {
        let now = self.shared.env.now_ms();
        let Ok(t) = self.shared.hosts.lock() else {
            return Vec::new();
        };
        (1..=self.shared.cfg.geometry.max_hosts())
            .filter_map(|h| t.get(h).map(|hs| (h, hs)))
            .filter(|(_, hs)| hs.timestamp != 0 || hs.owner_id != 0)
            .map(|(h, hs)| {
                (
                    h,
                    hs,
                    t.state(h, self.shared.cfg.host_id, self.shared.cfg.timeouts, now),
                )
            })
            .collect()
    }

    fn with_member<T>(
        &self,
        f: impl FnOnce(&Member<'_>) -> Result<T, LeaseError>,
    ) -> Result<T, LeaseError> {
        if self.lost().is_some() {
            return Err(LeaseError::Stopped);
        }
        let m = Member {
            space: &self.shared.cfg,
            generation: self.generation(),
            hosts: &self.shared.hosts,
            bug: None,
        };
        f(&m)
    }

    /// Acquires a resource lease.
    pub fn acquire(
        &self,
        res: &ResourceSpec,
        mode: Mode,
        opts: AcquireOpts,
    ) -> Result<Held, LeaseError> {
        self.with_member(|m| block_on(paxos::acquire(&self.shared.env, m, res, mode, opts)))
    }

    /// Releases a resource lease (no disk I/O once the lockspace is lost:
    /// others then take it after host_dead_seconds).
    pub fn release(&self, held: &Held) -> Result<(), LeaseError> {
        self.with_member(|m| block_on(paxos::release(&self.shared.env, m, held)))
    }

    /// Converts a held lease; on error `held` still describes what we hold.
    pub fn convert(&self, held: &mut Held, to: Mode) -> Result<(), LeaseError> {
        self.with_member(|m| block_on(paxos::convert(&self.shared.env, m, held, to)))
    }

    /// Records a request and signals the owner through our bitmap.
    pub fn request(
        &self,
        res: &ResourceSpec,
        lver: u64,
        force_mode: u32,
    ) -> Result<paxos::RequestOutcome, LeaseError> {
        let out = self.with_member(|m| {
            block_on(paxos::request(&self.shared.env, m, res, lver, force_mode))
        })?;
        if let paxos::RequestOutcome::Recorded { owner_id } = out {
            let until =
                monotime_ms() + u64::from(self.shared.cfg.timeouts.set_bitmap_secs()) * 1000;
            if let Ok(mut b) = self.shared.bits.lock() {
                b.insert(owner_id, until);
            }
        }
        Ok(out)
    }

    /// The host event our renewals write from now on (sanlock's
    /// `host_event`: it stays until replaced or cleared).
    pub fn set_host_event(&self, ev: HostEvent) {
        if let Ok(mut e) = self.shared.event.lock() {
            *e = ev;
        }
    }

    /// Sets `host_id`'s bit in our bitmap for `set_bitmap_seconds` from
    /// now (a host event for it).
    pub fn signal_host(&self, host_id: u64) {
        let until = monotime_ms() + u64::from(self.shared.cfg.timeouts.set_bitmap_secs()) * 1000;
        if let Ok(mut b) = self.shared.bits.lock() {
            b.insert(host_id, until);
        }
    }

    /// Clears `host_id`'s bit in our bitmap (from the next renewal).
    pub fn clear_host_signal(&self, host_id: u64) {
        if let Ok(mut b) = self.shared.bits.lock() {
            b.remove(&host_id);
        }
    }

    /// Sets the function called (on the renewal thread; it must not
    /// block) for each host event another host sends us.
    pub fn set_event_sink(&self, f: impl Fn(ReceivedEvent) + Send + Sync + 'static) {
        if let Ok(mut s) = self.shared.event_sink.lock() {
            *s = Some(Box::new(f));
        }
    }

    /// Sets the function called on the renewal thread after each good
    /// renewal, with the local monotonic ms taken just before its write
    /// (the watchdog's expiry is that + id_renewal_fail_seconds). It must
    /// not block on storage.
    pub fn set_renewal_hook(&self, f: impl Fn(u64) + Send + Sync + 'static) {
        if let Ok(mut h) = self.shared.renewal_hook.lock() {
            *h = Some(Box::new(f));
        }
    }

    /// The renewal history, oldest first.
    pub fn renewal_history(&self) -> Vec<RenewalRecord> {
        self.shared
            .history
            .lock()
            .map(|h| h.iter().copied().collect())
            .unwrap_or_default()
    }

    /// How many renewals so far found another host signalling us through
    /// its bitmap (it recorded a request for a lease we may hold). A
    /// change means: check the requests of the leases held here.
    pub fn signalled(&self) -> u64 {
        self.shared.signalled.load(Ordering::Acquire)
    }

    /// Whether a request asks us to give up `held`: the force mode
    /// (1 force, 2 graceful) of a request for a newer lver.
    pub fn pending_request(&self, held: &Held) -> Result<Option<u32>, LeaseError> {
        self.with_member(|m| block_on(paxos::pending_request(&self.shared.env, m, held)))
    }

    /// Stops renewing and, if the last renewal succeeded and no renewal
    /// found the slot corrupt, frees the host_id. Hold no resource leases
    /// when calling (after a loss: none left held by a live process).
    pub fn leave(mut self) -> Result<(), LeaseError> {
        self.stop_threads();
        let held = self
            .shared
            .held
            .lock()
            .map(|h| h.clone())
            .map_err(|_| LeaseError::Stopped)?;
        // After a renewal timeout we kept renewing: if the last renewal
        // succeeded the slot is still ours to free. Never after a corrupt
        // renewal (the slot may be someone else's).
        if !matches!(self.lost(), Some(LossReason::Corrupt(_))) && held.last_renewal_ok {
            block_on(delta::delta_release(
                &self.shared.env,
                &self.shared.cfg,
                &held,
            ))?;
        }
        Ok(())
    }

    fn stop_threads(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl<E: ThreadEnv> Drop for Lockspace<E> {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

/// Sleeps up to `ms`, waking early when asked to stop. Returns false on stop.
fn nap<E>(s: &Shared<E>, ms: u64) -> bool {
    let end = monotime_ms() + ms;
    while !s.stop.load(Ordering::Acquire) {
        let now = monotime_ms();
        if now >= end {
            return true;
        }
        std::thread::sleep(Duration::from_millis((end - now).min(100)));
    }
    false
}

fn renewal_loop<E: ThreadEnv>(s: &Shared<E>) {
    let renew_ms = u64::from(s.cfg.timeouts.id_renewal_secs()) * 1000;
    let fail_ms = u64::from(s.cfg.timeouts.id_renewal_fail_secs()) * 1000;
    // A renewal that starts, or lands, id_renewal_fail_seconds or more
    // after the last good one does not rescue the lockspace: it is lost
    // for good (a frozen daemon wakes to find this before the monitor
    // thread has looked). As sanlock does, we still go on renewing: a
    // live timestamp keeps others off our leases while our holders are
    // being killed, pushes the watchdog's expiry forward, and lets us
    // free the host_id cleanly once they are gone.
    let check_late = |last: u64, now: u64| {
        let gap_ms = now.saturating_sub(last);
        if gap_ms >= fail_ms {
            if let Ok(mut l) = s.lost.lock() {
                l.get_or_insert(LossReason::RenewalTimeout { gap_ms });
            }
        }
    };
    loop {
        let last = s.last_success_ms.load(Ordering::Acquire);
        let due = last + renew_ms + 500;
        if !nap(s, due.saturating_sub(monotime_ms())) {
            return;
        }
        check_late(last, monotime_ms());
        let now = monotime_ms();
        let bitmap: Vec<u64> = match s.bits.lock() {
            Ok(mut b) => {
                b.retain(|_, until| *until > now);
                b.keys().copied().collect()
            }
            Err(_) => Vec::new(),
        };
        let mut held = match s.held.lock() {
            Ok(h) => h.clone(),
            Err(_) => return,
        };
        let event = s.event.lock().map(|e| *e).unwrap_or_default();
        let r = block_on(delta::delta_renew(
            &s.env, &s.cfg, &mut held, &bitmap, event,
        ));
        if let Ok(mut h) = s.held.lock() {
            *h = held.clone();
        }
        record_renewal(s, &held, &r);
        match r {
            Ok(area) => {
                check_late(last, held.last_success_ms);
                s.last_success_ms
                    .store(held.last_success_ms, Ordering::Release);
                if let Ok(h) = s.renewal_hook.lock() {
                    if let Some(h) = h.as_ref() {
                        h(held.last_success_ms);
                    }
                }
                let events = match s.hosts.lock() {
                    Ok(mut t) => {
                        let before = senders_seen(s, &t, &area);
                        t.observe(&area, s.cfg.geometry, &s.cfg.space_name, monotime_ms());
                        received_events(s, &t, &area, before)
                    }
                    Err(_) => Vec::new(),
                };
                deliver_events(s, events);
                if !HostTable::signalled_by(&area, s.cfg.geometry, s.cfg.host_id).is_empty() {
                    s.signalled.fetch_add(1, Ordering::AcqRel);
                }
            }
            Err(e) if e.is_corrupt_renewal() => {
                if let Ok(mut l) = s.lost.lock() {
                    l.get_or_insert(LossReason::Corrupt(e.to_string()));
                }
                return;
            }
            Err(_) => {
                // Retried after a short pause; the monitor decides loss.
                if !nap(s, 500) {
                    return;
                }
            }
        }
    }
}

/// The hosts (other than us) whose bitmap has our bit set in `area`,
/// with what the table said of them before this read.
fn senders_seen<E>(
    s: &Shared<E>,
    t: &HostTable,
    area: &[u8],
) -> Vec<(u64, Option<paxlock_core::delta::HostStatus>)> {
    HostTable::signalled_by(area, s.cfg.geometry, s.cfg.host_id)
        .into_iter()
        .filter(|h| *h != s.cfg.host_id)
        .map(|h| (h, t.get(h)))
        .collect()
}

/// The events of the senders whose slot changed (a renewal of theirs)
/// since our last read, as sanlock's `check_other_leases` finds them.
fn received_events<E>(
    s: &Shared<E>,
    t: &HostTable,
    area: &[u8],
    before: Vec<(u64, Option<paxlock_core::delta::HostStatus>)>,
) -> Vec<ReceivedEvent> {
    let ss = s.cfg.geometry.sector_usize();
    let mut out = Vec::new();
    for (h, was) in before {
        let Some(now) = t.get(h) else { continue };
        let changed = was.is_none_or(|w| {
            (w.owner_id, w.owner_generation, w.timestamp)
                != (now.owner_id, now.owner_generation, now.timestamp)
        });
        let Some(start) = usize::try_from(h - 1).ok().and_then(|i| i.checked_mul(ss)) else {
            continue;
        };
        let Some(leader) = area
            .get(start..)
            .and_then(|b| paxlock_format::LeaderRecord::decode(b).ok())
        else {
            continue;
        };
        if !changed || leader.write_generation == 0 {
            continue;
        }
        out.push(ReceivedEvent {
            event: HostEvent {
                generation: leader.write_id,
                event: leader.write_generation,
                data: leader.write_timestamp,
            },
            host_id: s.cfg.host_id,
            from_host_id: now.owner_id,
            from_generation: now.owner_generation,
        });
    }
    out
}

fn deliver_events<E>(s: &Shared<E>, events: Vec<ReceivedEvent>) {
    if events.is_empty() {
        return;
    }
    if let Ok(sink) = s.event_sink.lock() {
        if let Some(f) = sink.as_ref() {
            for e in events {
                f(e);
            }
        }
    }
}

/// A good renewal adds a record; a failed attempt counts in the latest
/// record's `next_timeouts` / `next_errors` (as sanlock's history).
fn record_renewal<E, B>(s: &Shared<E>, held: &DeltaHeld, r: &Result<B, LeaseError>) {
    let Ok(mut h) = s.history.lock() else {
        return;
    };
    match r {
        Ok(_) => {
            if h.len() >= RENEWAL_HISTORY {
                h.pop_front();
            }
            h.push_back(RenewalRecord {
                timestamp: held.leader.timestamp,
                read_ms: held.last_read_ms,
                write_ms: held.last_write_ms,
                next_timeouts: 0,
                next_errors: 0,
                at_ms: monotime_ms(),
            });
        }
        Err(e) => {
            if let Some(last) = h.back_mut() {
                if e.code() == -202 {
                    last.next_timeouts += 1;
                } else {
                    last.next_errors += 1;
                }
            }
        }
    }
}

fn monitor_loop<E>(s: &Shared<E>) {
    let fail_ms = u64::from(s.cfg.timeouts.id_renewal_fail_secs()) * 1000;
    while nap(s, 1000) {
        let gap_ms = monotime_ms().saturating_sub(s.last_success_ms.load(Ordering::Acquire));
        if gap_ms >= fail_ms {
            if let Ok(mut l) = s.lost.lock() {
                l.get_or_insert(LossReason::RenewalTimeout { gap_ms });
            }
            return;
        }
        if s.lost.lock().map(|l| l.is_some()).unwrap_or(true) {
            return;
        }
    }
}
