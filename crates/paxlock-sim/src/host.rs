//! What a sanlock daemon does, in simulation (sanlock-algorithms.md,
//! sections 1.3, 4 and 5), for one boot of one host:
//!
//! * join the lockspace with `delta_acquire`, then arm the watchdog
//!   (expiry = last_success + 8 io) before any lease is used;
//! * renew every id_renewal seconds (plus 0.5 s; failures retried 0.5 s
//!   later), feed each renewal's area to the [`HostTable`] shared with the
//!   paxos [`Member`], move the watchdog expiry after each success, and
//!   act on requests signalled through other hosts' bitmaps;
//! * check its own lease every second: once `now - last_success >=
//!   id_renewal_fail` (or after a corrupt renewal) the lockspace is lost:
//!   the holders are told (they stop at once), the watchdog is cleared, and
//!   nothing of this membership is used again (no disk I/O on its leases).
//!   The host joins again a little later (same daemon: same host name, so
//!   sanlock's fast reacquire; a new generation);
//! * run one client per resource: think, then acquire EX or SH, hold,
//!   release or convert, or request (force) the owner to give it up.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Mutex;

use paxlock_core::delta::{self, DeltaHeld, HostEvent, HostTable, LockspaceConfig};
use paxlock_core::paxos::{self, AcquireOpts, Held, Member, Mode, PlantedBug, RequestOutcome};
use paxlock_core::{DiskId, Env, IoFault, LeaseError, LeaseLoc};
use paxlock_format::{LeaderRecord, ModeBlock, Name};

use crate::env::SimEnv;
use crate::trace::{EndWhy, Ev, Op};
use crate::world::Params;

/// A client's view of one resource (one per resource per host: their
/// size does not matter).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Local {
    Free,
    /// An operation (of the client or of the request handler) is running.
    Busy,
    Held(Held),
}

/// One membership of the lockspace (from a join until it is lost).
struct Epoch {
    cfg: LockspaceConfig,
    table: Mutex<HostTable>,
    generation: Cell<u64>,
    last_success_ms: Cell<u64>,
    lost: Cell<bool>,
    corrupt: Cell<bool>,
    /// Hosts whose bit we set in our bitmap, until when (local ms).
    signals: RefCell<Vec<(u64, u64)>>,
    /// When we last handled a signal from a host (local ms).
    handled: RefCell<Vec<(u64, u64)>>,
    res: RefCell<Vec<Local>>,
    bug: Option<PlantedBug>,
    /// Tasks of this membership still running. A new membership on the
    /// same host_id starts only when this is 0: an operation of the old
    /// one could otherwise overwrite the new one's dblock sector (found
    /// by seed 3009313; sanlock refuses add_lockspace with -EAGAIN while
    /// the old lockspace is still being torn down).
    tasks: Cell<u32>,
}

/// Counts one running task of an [`Epoch`] until dropped.
struct TaskGuard(Rc<Epoch>);

impl TaskGuard {
    fn new(ep: &Rc<Epoch>) -> Self {
        ep.tasks.set(ep.tasks.get() + 1);
        TaskGuard(ep.clone())
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.tasks.set(self.0.tasks.get() - 1);
    }
}

/// Spawns a task of membership `ep`, counted in `ep.tasks`.
fn spawn_task(env: &SimEnv, ep: &Rc<Epoch>, fut: impl std::future::Future<Output = ()> + 'static) {
    let guard = TaskGuard::new(ep);
    env.spawn(async move {
        let _guard = guard;
        fut.await;
    });
}

impl Epoch {
    fn member(&self) -> Member<'_> {
        Member {
            space: &self.cfg,
            generation: self.generation.get(),
            hosts: &self.table,
            bug: self.bug,
        }
    }

    fn bitmap(&self, now_ms: u64) -> Vec<u64> {
        let mut s = self.signals.borrow_mut();
        s.retain(|&(_, until)| until > now_ms);
        let mut v: Vec<u64> = s.iter().map(|&(h, _)| h).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether a signal from `from` should be handled now (at most once
    /// per `every_ms` per host, as sanlock).
    fn take_signal(&self, from: u64, now_ms: u64, every_ms: u64) -> bool {
        let mut h = self.handled.borrow_mut();
        match h.iter_mut().find(|(f, _)| *f == from) {
            Some((_, last)) if now_ms < *last + every_ms => false,
            Some((_, last)) => {
                *last = now_ms;
                true
            }
            None => {
                h.push((from, now_ms));
                true
            }
        }
    }
}

/// The environment of a client task: the host's [`SimEnv`], plus the
/// `refresh-hosts` workaround (see `config::Workarounds`): when a read of
/// another host's dblock sector completes, the host's table gets a look
/// at the host slots as they are on disk at that moment, so that the
/// `HostTable::live` call that follows does not judge a new incarnation by
/// an old one.
#[derive(Clone)]
struct ClientEnv {
    inner: SimEnv,
    ep: Rc<Epoch>,
    p: Rc<Params>,
}

impl std::ops::Deref for ClientEnv {
    type Target = SimEnv;
    fn deref(&self) -> &SimEnv {
        &self.inner
    }
}

impl ClientEnv {
    fn reads_other_dblock(&self, offset: u64, len: usize) -> bool {
        let g = self.p.geometry;
        let (align, ss) = (g.align_bytes(), g.sector_bytes());
        let within = offset % align;
        offset >= align
            && len as u64 == ss
            && within >= 2 * ss
            && within.is_multiple_of(ss)
            && within / ss - 1 != self.inner.host as u64 + 1
    }
}

fn peek_hosts(env: &SimEnv, ep: &Epoch, p: &Params) {
    let off = ep.cfg.loc.offset as usize;
    let len = p.hosts * p.geometry.sector_usize();
    let slots = env.with(|w| w.disk.read(off, len));
    let now = env.now_ms();
    if let Ok(mut t) = ep.table.lock() {
        t.observe(&slots, p.geometry, &p.space_name, now);
    }
}

impl Env for ClientEnv {
    type Buf = <SimEnv as Env>::Buf;
    fn now_ms(&self) -> u64 {
        self.inner.now_ms()
    }
    fn random_u64(&self) -> u64 {
        self.inner.random_u64()
    }
    fn sleep_ms(&self, ms: u64) -> impl std::future::Future<Output = ()> {
        self.inner.sleep_ms(ms)
    }
    fn read(
        &self,
        disk: DiskId,
        offset: u64,
        len: usize,
        timeout_ms: u64,
    ) -> impl std::future::Future<Output = Result<Self::Buf, IoFault>> {
        let fut = self.inner.read(disk, offset, len, timeout_ms);
        let refresh = self.p.workarounds.refresh_hosts && self.reads_other_dblock(offset, len);
        let this = self.clone();
        async move {
            let r = fut.await;
            if refresh && r.is_ok() {
                peek_hosts(&this.inner, &this.ep, &this.p);
            }
            r
        }
    }
    fn write(
        &self,
        disk: DiskId,
        offset: u64,
        data: Vec<u8>,
        timeout_ms: u64,
    ) -> impl std::future::Future<Output = Result<(), IoFault>> {
        self.inner.write(disk, offset, data, timeout_ms)
    }
}

fn fail_ms(p: &Params) -> u64 {
    u64::from(p.timeouts.id_renewal_fail_secs()) * 1000
}

/// One boot of host `env.host`: joins, renews, checks, serves clients;
/// rejoins after losing the lockspace. Dropped at once when the host
/// crashes or is reset.
pub(crate) async fn host_main(env: SimEnv, p: Rc<Params>, boot: u32) {
    let host_id = env.host as u64 + 1;
    // A fresh unique name per daemon start (spec 1.1, section 7 item 9).
    let tag = env.random_u64() as u32;
    let name = Name::new(&format!("h{host_id}-boot{boot}-{tag:08x}")).unwrap_or_default();
    let mut epoch_no = 0;
    loop {
        epoch_no += 1;
        let cfg = LockspaceConfig {
            space_name: p.space_name,
            host_id,
            loc: LeaseLoc {
                disk: DiskId(0),
                offset: 0,
            },
            geometry: p.geometry,
            timeouts: p.timeouts,
            host_name: name,
        };
        let ep = Rc::new(Epoch {
            cfg,
            table: Mutex::new(HostTable::default()),
            generation: Cell::new(0),
            last_success_ms: Cell::new(0),
            lost: Cell::new(false),
            corrupt: Cell::new(false),
            signals: RefCell::new(Vec::new()),
            handled: RefCell::new(Vec::new()),
            res: RefCell::new(p.resources.iter().map(|_| Local::Free).collect()),
            bug: p.bug,
            tasks: Cell::new(0),
        });
        env.trace(Ev::JoinStart { epoch: epoch_no });
        let mut held = loop {
            match delta::delta_acquire(&env, &ep.cfg).await {
                Ok(h) => break h,
                Err(e) => {
                    env.trace(Ev::JoinFailed { code: e.code() });
                    env.with(|w| w.stats.join_failures += 1);
                    let d = 1000 + env.upto(3000);
                    env.sleep_ms(d).await;
                }
            }
        };
        ep.generation.set(held.generation);
        ep.last_success_ms.set(held.last_success_ms);
        // Arm the watchdog before the lockspace can be used (spec 5.4, MUST 1).
        let expiry_ms = env.to_sim_ms(held.last_success_ms) + fail_ms(&p);
        let host = env.host;
        env.with(|w| {
            w.stats.joins += 1;
            w.watchdog_set(host, expiry_ms);
            w.trace(
                Some(host),
                Ev::Joined {
                    generation: held.generation,
                    expiry_ms,
                },
            );
        });
        spawn_task(&env, &ep, check_loop(env.clone(), ep.clone(), p.clone()));
        for r in 0..p.resources.len() {
            spawn_task(
                &env,
                &ep,
                client_loop(env.clone(), ep.clone(), p.clone(), r),
            );
        }
        renew_loop(&env, &ep, &p, &mut held).await;
        // The membership is lost: wait for every one of its operations
        // to end before a new one may write under this host_id.
        while ep.tasks.get() > 0 {
            env.sleep_ms(500).await;
        }
        let d = 1000 + env.upto(9000);
        env.sleep_ms(d).await;
    }
}

async fn renew_loop(env: &SimEnv, ep: &Rc<Epoch>, p: &Rc<Params>, held: &mut DeltaHeld) {
    let renewal_ms = u64::from(p.timeouts.id_renewal_secs()) * 1000;
    let set_bitmap_ms = u64::from(p.timeouts.set_bitmap_secs()) * 1000;
    let host_id = env.host as u64 + 1;
    loop {
        if ep.lost.get() {
            return;
        }
        let now = env.now_ms();
        let due = held.last_success_ms + renewal_ms;
        if now < due {
            env.sleep_ms((due - now).min(1000)).await;
            continue;
        }
        env.sleep_ms(500).await;
        if ep.lost.get() {
            return;
        }
        let bitmap = ep.bitmap(env.now_ms());
        match delta::delta_renew(env, &ep.cfg, held, &bitmap, HostEvent::default()).await {
            Ok(area) => {
                let now = env.now_ms();
                // Only the slots of simulated hosts can change: feeding just
                // them keeps a renewal cheap (2000 slots cost ~140 us).
                let n = (p.hosts * p.geometry.sector_usize()).min(area.len());
                if let Ok(mut t) = ep.table.lock() {
                    t.observe(&area[..n], p.geometry, &p.space_name, now);
                }
                ep.last_success_ms.set(held.last_success_ms);
                if !ep.lost.get() {
                    let expiry_ms = env.to_sim_ms(held.last_success_ms) + fail_ms(p);
                    let (host, ts) = (env.host, held.leader.timestamp);
                    env.with(|w| {
                        w.watchdog_set(host, expiry_ms);
                        w.trace(Some(host), Ev::Renewed { ts, expiry_ms });
                    });
                }
                for from in HostTable::signalled_by(&area[..n], p.geometry, host_id) {
                    if ep.take_signal(from, now, set_bitmap_ms) {
                        spawn_task(env, ep, handle_requests(env.clone(), ep.clone(), p.clone()));
                    }
                }
            }
            Err(e) => {
                env.trace(Ev::RenewFailed { code: e.code() });
                env.with(|w| w.stats.renewal_failures += 1);
                if e.is_corrupt_renewal() {
                    ep.corrupt.set(true);
                }
            }
        }
    }
}

/// sanlock's `check_our_lease`, once a second.
async fn check_loop(env: SimEnv, ep: Rc<Epoch>, p: Rc<Params>) {
    loop {
        env.sleep_ms(1000).await;
        if ep.lost.get() {
            return;
        }
        let gap_ms = env.now_ms().saturating_sub(ep.last_success_ms.get());
        let corrupt = ep.corrupt.get();
        if gap_ms >= fail_ms(&p) || corrupt {
            ep.lost.set(true);
            let host = env.host;
            env.with(|w| w.lockspace_lost(host, gap_ms, corrupt));
            for l in ep.res.borrow_mut().iter_mut() {
                if matches!(l, Local::Held(_)) {
                    *l = Local::Free; // the space is dead: no disk I/O
                }
            }
            return;
        }
    }
}

fn op_end(env: &SimEnv, r: usize, op: Op, result: Result<u64, i32>) {
    let host = env.host;
    env.with(|w| w.op_end(host, r, op, result));
}

fn op_start(env: &SimEnv, r: usize, op: Op) {
    let host = env.host;
    env.with(|w| w.op_start(host, r, op));
}

fn set_local(ep: &Epoch, r: usize, l: Local) {
    ep.res.borrow_mut()[r] = l;
}

async fn client_loop(env: SimEnv, ep: Rc<Epoch>, p: Rc<Params>, r: usize) {
    let env = ClientEnv {
        inner: env,
        ep: ep.clone(),
        p: p.clone(),
    };
    let mut backoff = false;
    loop {
        let max = p.workload.think_max_ms;
        let think = if backoff {
            max / 2 + env.upto(max + max / 2)
        } else {
            env.upto(max)
        };
        backoff = false;
        env.sleep_ms(think).await;
        if ep.lost.get() {
            return;
        }
        let state = std::mem::replace(&mut ep.res.borrow_mut()[r], Local::Busy);
        match state {
            Local::Busy => continue, // the request handler is releasing it
            Local::Free => {
                if env.chance(p.workload.request_p) {
                    request(&env, &ep, &p, r).await;
                    set_local(&ep, r, Local::Free);
                } else {
                    let mode = if env.chance(p.workload.sh_p) {
                        Mode::Sh
                    } else {
                        Mode::Ex
                    };
                    backoff = !acquire(&env, &ep, &p, r, mode).await;
                }
            }
            Local::Held(held) => {
                if env.chance(p.workload.convert_p) {
                    convert(&env, &ep, &p, r, held).await;
                } else {
                    release(&env, &ep, &p, r, held, EndWhy::Release).await;
                    set_local(&ep, r, Local::Free);
                }
            }
        }
    }
}

/// Returns whether the lease is now held.
async fn acquire(env: &ClientEnv, ep: &Epoch, p: &Params, r: usize, mode: Mode) -> bool {
    let op = Op::Acquire(mode);
    op_start(env, r, op);
    let m = ep.member();
    let mut result = paxos::acquire(env, &m, &p.resources[r], mode, AcquireOpts::default()).await;
    let host = env.host;
    if let Ok(held) = &result {
        if mode == Mode::Ex && !ep.lost.get() && undo_grant(env, ep, p, r).await {
            let _ = paxos::release(env, &m, held).await;
            result = Err(LeaseError::SharedHolders { hosts: Vec::new() });
        }
    }
    match result {
        Ok(held) if ep.lost.get() => {
            // sanlock's check_new_tokens_space: the lockspace failed while
            // we were acquiring; the token is dropped without disk I/O.
            env.trace(Ev::OkAfterLoss { res: r });
            op_end(env, r, op, Ok(held.lver));
            set_local(ep, r, Local::Free);
            false
        }
        Ok(held) => {
            let lver = held.lver;
            env.with(|w| {
                let now = w.now_ms;
                w.op_end(host, r, op, Ok(lver));
                w.checker.acquired(now, host, r, mode, lver);
            });
            set_local(ep, r, Local::Held(held));
            true
        }
        Err(e) => {
            op_end(env, r, op, Err(e.code()));
            set_local(ep, r, Local::Free);
            false
        }
    }
}

/// Workaround `ex-shared`, after an exclusive success: `true` if the grant
/// must be undone because another live host holds the lease SH (or we
/// could not check).
async fn undo_grant(env: &ClientEnv, ep: &Epoch, p: &Params, r: usize) -> bool {
    if !p.workarounds.ex_shared {
        return false;
    }
    let res = &p.resources[r];
    let ss = p.geometry.sector_usize();
    let len = (p.hosts + 2) * ss;
    let Ok(area) = env.read(res.loc.disk, res.loc.offset, len, p.io_ms()).await else {
        return true;
    };
    if p.workarounds.refresh_hosts {
        // The table may be stale (we were frozen, or our renewals slow):
        // the same refresh as before `live_shared_holders` judges a holder.
        peek_hosts(env, ep, p);
    }
    let me = env.host as u64 + 1;
    for h in (1..=p.hosts as u64).filter(|&h| h != me) {
        let s = &area[(h as usize + 1) * ss..(h as usize + 2) * ss];
        let Ok(mb) = ModeBlock::decode_from_sector(s) else {
            continue;
        };
        if mb.is_shared()
            && ep
                .table
                .lock()
                .map(|t| t.live(h, mb.generation, p.timeouts))
                .unwrap_or(true)
        {
            env.trace(Ev::MissedShared { res: r, holder: h });
            env.with(|w| w.stats.ex_shared_undone += 1);
            return true;
        }
    }
    false
}

fn is_io_error(e: &LeaseError) -> bool {
    matches!(
        e,
        LeaseError::LeaderRead(_)
            | LeaseError::LeaderWrite(_)
            | LeaseError::DblockRead(_)
            | LeaseError::DblockWrite(_)
    )
}

/// Releases `held`: the belief ends as the release starts. An I/O error is
/// retried a few times (sanlock's resource_thread retries in the
/// background); nothing is written once the lockspace is lost.
async fn release(env: &ClientEnv, ep: &Epoch, p: &Params, r: usize, held: Held, why: EndWhy) {
    let host = env.host;
    env.with(|w| w.belief_end(host, r, why));
    if ep.lost.get() {
        return;
    }
    op_start(env, r, Op::Release);
    let m = ep.member();
    for attempt in 1..=4u64 {
        match paxos::release(env, &m, &held).await {
            Ok(()) => {
                op_end(env, r, Op::Release, Ok(0));
                return;
            }
            Err(e) => {
                let retry = is_io_error(&e) && attempt < 4 && !ep.lost.get();
                if !retry {
                    op_end(env, r, Op::Release, Err(e.code()));
                    return;
                }
                env.trace(Ev::OpErr {
                    res: r,
                    op: Op::Release,
                    code: e.code(),
                });
                env.sleep_ms(p.io_ms() * attempt).await;
                if ep.lost.get() {
                    op_end(env, r, Op::Release, Err(e.code()));
                    return;
                }
            }
        }
    }
}

async fn convert(env: &ClientEnv, ep: &Epoch, p: &Params, r: usize, held: Held) {
    let host = env.host;
    let to = if held.mode == Mode::Ex {
        Mode::Sh
    } else {
        Mode::Ex
    };
    let op = Op::Convert(to);
    if to == Mode::Sh {
        // From now on the holder only claims SH.
        env.with(|w| w.checker.downgraded(host, r));
    }
    op_start(env, r, op);
    let m = ep.member();
    // On failure the core leaves `updated` describing what we still hold,
    // with our dblock as last written.
    let mut updated = held.clone();
    let result = paxos::convert(env, &m, &mut updated, to)
        .await
        .map(|()| updated.clone());
    if let Ok(ex) = &result {
        if to == Mode::Ex && !ep.lost.get() && undo_grant(env, ep, p, r).await {
            // Give the lease up entirely (as EX: clears our mode block too).
            op_end(env, r, op, Err(LeaseError::Stopped.code()));
            env.with(|w| w.belief_end(host, r, EndWhy::ConvertFailed));
            let _ = paxos::release(env, &m, ex).await;
            set_local(ep, r, Local::Free);
            return;
        }
    }
    match result {
        Ok(h2) if ep.lost.get() => {
            op_end(env, r, op, Ok(h2.lver));
            set_local(ep, r, Local::Free);
        }
        Ok(h2) => {
            let lver = h2.lver;
            env.with(|w| {
                let now = w.now_ms;
                w.op_end(host, r, op, Ok(lver));
                if to == Mode::Ex {
                    w.checker.acquired(now, host, r, Mode::Ex, lver);
                }
            });
            set_local(ep, r, Local::Held(h2));
        }
        Err(e) => {
            // The operation ends (for the checker) once the client's state
            // is settled below.
            let code = e.code();
            if ep.lost.get() {
                op_end(env, r, op, Err(code));
                set_local(ep, r, Local::Free);
                return;
            }
            let kept = Some(updated);
            let Some(held) = kept else {
                // We cannot tell what our dblock holds: give the lease up
                // without writing anything (it stays on disk in our name).
                op_end(env, r, op, Err(code));
                env.with(|w| w.belief_end(host, r, EndWhy::ConvertFailed));
                set_local(ep, r, Local::Free);
                return;
            };
            op_end(env, r, op, Err(code));
            if to == Mode::Ex {
                // A failed SH->EX conversion leaves the lease held SH
                // (sanlock's convert_sh2ex_token: "keep token and SH mblock").
                set_local(ep, r, Local::Held(held));
            } else {
                // A failed EX->SH conversion: give the lease up entirely,
                // releasing it as EX (clears our dblock and mode block, and
                // frees the leader if we wrote it).
                let mut ex = held;
                ex.mode = Mode::Ex;
                release(env, ep, p, r, ex, EndWhy::ConvertFailed).await;
                set_local(ep, r, Local::Free);
            }
        }
    }
}

/// Asks the current owner to give the lease up (force), as
/// `sanlock request -f 1` with lver = current + 1.
async fn request(env: &ClientEnv, ep: &Epoch, p: &Params, r: usize) {
    let res = &p.resources[r];
    let host_id = env.host as u64 + 1;
    let ss = p.geometry.sector_usize();
    let Ok(sector) = env.read(res.loc.disk, res.loc.offset, ss, p.io_ms()).await else {
        return;
    };
    let Ok(leader) = LeaderRecord::decode(&sector) else {
        return;
    };
    if leader.timestamp == 0 || leader.owner_id == host_id {
        return;
    }
    op_start(env, r, Op::Request);
    let lver = leader.lver + 1;
    let m = ep.member();
    match paxos::request(env, &m, res, lver, 1).await {
        Ok(RequestOutcome::Recorded { owner_id }) => {
            let until = env.now_ms() + u64::from(p.timeouts.set_bitmap_secs()) * 1000;
            ep.signals.borrow_mut().push((owner_id, until));
            env.trace(Ev::RequestSent {
                res: r,
                lver,
                owner: owner_id,
            });
            op_end(env, r, Op::Request, Ok(lver));
        }
        Ok(RequestOutcome::Free) => op_end(env, r, Op::Request, Ok(0)),
        Err(e) => op_end(env, r, Op::Request, Err(e.code())),
    }
}

/// On the owner, after a renewal saw our bit set by another host: give up
/// every held lease whose request record asks for a newer lver (force:
/// the holding "pid" is killed, i.e. stops believing, then the lease is
/// released).
async fn handle_requests(env: SimEnv, ep: Rc<Epoch>, p: Rc<Params>) {
    let env = ClientEnv {
        inner: env,
        ep: ep.clone(),
        p: p.clone(),
    };
    for r in 0..p.resources.len() {
        let held = match &ep.res.borrow()[r] {
            Local::Held(h) => h.clone(),
            _ => continue,
        };
        let m = ep.member();
        let Ok(Some(_force)) = paxos::pending_request(&env, &m, &held).await else {
            continue;
        };
        if ep.lost.get() {
            return;
        }
        {
            let mut res = ep.res.borrow_mut();
            if !matches!(&res[r], Local::Held(h) if *h == held) {
                continue;
            }
            res[r] = Local::Busy;
        }
        release(&env, &ep, &p, r, held, EndWhy::Request).await;
        set_local(&ep, r, Local::Free);
    }
}
