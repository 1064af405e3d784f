//! Simulated time, storage and the deterministic executor.
//!
//! Everything happens in one thread. The [`World`] holds the event queue,
//! ordered by (time, sequence number), the disk, every host's fault and
//! watchdog state, the checker and the trace. The [`Sim`] owns the tasks
//! (boxed futures, each belonging to one host) and drives them: it polls
//! every ready task with a no-op waker, then pops the next event, moves
//! time to it and handles it (which may make tasks ready), and so on.
//! A future that waits (sleep, I/O) registers an event for the task being
//! polled; when the event fires, its result is put in a shared slot and
//! the task is made ready again.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Waker};

use paxlock_core::env::IoFault;
use paxlock_core::paxos::ResourceSpec;
use paxlock_core::{DiskId, LeaseLoc, Timeouts};
use paxlock_format::{area, LeaderRecord, ModeBlock, Name, PaxosDblock, RequestRecord};

use crate::checker::Checker;
use crate::config::{Scenario, SimConfig};
use crate::disk::{SimBuf, SimDisk};
use crate::rng::Rng;
use crate::stats::Stats;
use crate::trace::{EndWhy, Ev, IoEnd, Op, Rec, Target, Trace, WriteSum};

/// Index of a task in [`Sim`]'s table (never reused within a run).
pub(crate) type TaskId = usize;

/// What a waiting future gets back.
#[derive(Debug)]
pub(crate) enum Completion {
    Slept,
    Read(Result<SimBuf, IoFault>),
    Wrote(Result<(), IoFault>),
}

/// Where an event puts a waiting future's result.
pub(crate) type Slot = RefCell<Option<Completion>>;

/// A boxed task.
pub(crate) type TaskFuture = Pin<Box<dyn Future<Output = ()>>>;

enum EventKind {
    /// A sleep ends.
    Wake {
        task: TaskId,
        slot: Rc<Slot>,
    },
    /// A read completes: the disk bytes as of now.
    ReadDone {
        task: TaskId,
        slot: Rc<Slot>,
        offset: u64,
        len: usize,
    },
    /// A write completes in time.
    WriteDone {
        task: TaskId,
        slot: Rc<Slot>,
    },
    /// An I/O fails or times out.
    IoFailed {
        task: TaskId,
        slot: Rc<Slot>,
        fault: IoFault,
        write: bool,
    },
    /// A write reaches the disk.
    Land {
        id: u64,
        offset: u64,
        data: Vec<u8>,
        target: Target,
        host: usize,
        boot: u32,
        timed_out: bool,
        no_value: bool,
    },
    /// A host's watchdog expiry passes.
    WatchdogExpiry {
        host: usize,
        boot: u32,
        expiry_ms: u64,
    },
    /// The watchdog fires (if still expired).
    WatchdogFire {
        host: usize,
        boot: u32,
        expiry_ms: u64,
    },
    Crash {
        host: usize,
    },
    Freeze {
        host: usize,
        ms: u64,
    },
    Thaw {
        host: usize,
        token: u64,
    },
    Stall {
        host: usize,
        ms: u64,
    },
    Boot {
        host: usize,
    },
    LivenessDeadline {
        host: usize,
        res: usize,
        started_ms: u64,
    },
}

struct Event {
    at_ms: u64,
    seq: u64,
    kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    /// Reversed: the heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_ms, other.seq).cmp(&(self.at_ms, self.seq))
    }
}

/// One host's state as the world (not the host) sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostState {
    /// Running (not crashed or reset).
    pub up: bool,
    /// Boot number (incremented at each boot).
    pub boot: u32,
    /// Its tasks are not polled.
    pub frozen: bool,
    freeze_token: u64,
    /// Its I/Os issued before this complete after it.
    pub stall_until_ms: u64,
    /// Its monotonic clock minus sim time (per boot).
    pub clock_offset_ms: u64,
    /// The lockspace is registered with the watchdog.
    pub wd_armed: bool,
    /// The watchdog expiry (sim ms).
    pub wd_expiry_ms: u64,
}

/// What every host's code needs to know about the run.
#[derive(Debug)]
pub(crate) struct Params {
    pub space_name: Name,
    pub geometry: paxlock_format::Geometry,
    pub timeouts: Timeouts,
    pub resources: Vec<ResourceSpec>,
    pub hosts: usize,
    pub workload: crate::config::Workload,
    pub bug: Option<paxlock_core::paxos::PlantedBug>,
    pub workarounds: crate::config::Workarounds,
}

impl Params {
    pub fn io_ms(&self) -> u64 {
        u64::from(self.timeouts.io_timeout_secs()) * 1000
    }
}

/// The shared state of a run.
pub(crate) struct World {
    pub now_ms: u64,
    seq: u64,
    queue: BinaryHeap<Event>,
    pub rng: Rng,
    pub disk: SimDisk,
    pub sc: Scenario,
    pub params: Rc<Params>,
    pub ready: VecDeque<TaskId>,
    /// The task being polled, and its host.
    pub current: Option<(TaskId, usize)>,
    /// Tasks spawned during a poll, moved into the table after it.
    pub spawned: Vec<(usize, TaskFuture)>,
    pub hosts: Vec<HostState>,
    pub checker: Checker,
    pub trace: Trace,
    pub stats: Stats,
    next_io: u64,
    workarounds: crate::config::Workarounds,
    /// Per (host, disk offset): when that host's last write there lands.
    last_land_ms: std::collections::HashMap<(usize, u64), u64>,
}

impl World {
    fn push(&mut self, at_ms: u64, kind: EventKind) {
        self.seq += 1;
        self.queue.push(Event {
            at_ms,
            seq: self.seq,
            kind,
        });
    }

    /// Records `ev` for `host` (or the disk) now.
    pub fn trace(&mut self, host: Option<usize>, ev: Ev) {
        self.trace.push(Rec {
            at_ms: self.now_ms,
            host,
            ev,
        });
    }

    fn current(&self) -> (TaskId, usize) {
        self.current
            .unwrap_or_else(|| panic!("a simulated future was polled outside a task"))
    }

    /// Registers a sleep of the current task.
    pub fn sleep(&mut self, ms: u64) -> Rc<Slot> {
        let (task, _) = self.current();
        let slot = Rc::new(RefCell::new(None));
        self.push(
            self.now_ms + ms,
            EventKind::Wake {
                task,
                slot: slot.clone(),
            },
        );
        slot
    }

    fn target(&self, offset: u64, len: usize) -> Target {
        let g = self.params.geometry;
        let (align, ss) = (g.align_bytes(), g.sector_bytes());
        let (area, within, len64) = (offset / align, offset % align, len as u64);
        if area == 0 {
            return match len64 {
                l if l == align && within == 0 => Target::LsArea,
                l if l == ss && within.is_multiple_of(ss) => Target::LsSlot(within / ss + 1),
                _ => Target::Other(offset, len),
            };
        }
        let r = (area - 1) as usize;
        match (within, len64) {
            (0, l) if l == align => Target::ResArea(r),
            (0, l) if l == ss => Target::ResLeader(r),
            (0, _) => Target::ResDblocks(r),
            (w, l) if w == ss && l == ss => Target::ResRequest(r),
            (w, l) if w >= 2 * ss && w.is_multiple_of(ss) && l == ss => {
                Target::ResDblock(r, w / ss - 1)
            }
            _ => Target::Other(offset, len),
        }
    }

    fn summarize(target: Target, data: &[u8]) -> WriteSum {
        match target {
            Target::LsSlot(_) => LeaderRecord::decode(data)
                .map(|l| WriteSum::Delta {
                    owner: l.owner_id,
                    generation: l.owner_generation,
                    ts: l.timestamp,
                })
                .unwrap_or(WriteSum::Raw),
            Target::ResLeader(_) => LeaderRecord::decode(data)
                .map(|l| WriteSum::Leader {
                    lver: l.lver,
                    owner: l.owner_id,
                    generation: l.owner_generation,
                    ts: l.timestamp,
                    writer: l.write_id,
                })
                .unwrap_or(WriteSum::Raw),
            Target::ResDblock(..) => match (
                PaxosDblock::decode(data),
                ModeBlock::decode_from_sector(data),
            ) {
                (Ok(d), Ok(m)) => WriteSum::Dblock {
                    mbal: d.mbal,
                    bal: d.bal,
                    inp: d.inp,
                    inp2: d.inp2,
                    lver: d.lver,
                    released: d.is_released(),
                    shared: m.is_shared(),
                },
                _ => WriteSum::Raw,
            },
            Target::ResRequest(_) => RequestRecord::decode(data)
                .map(|r| WriteSum::Request {
                    lver: r.lver,
                    force: r.force_mode,
                })
                .unwrap_or(WriteSum::Raw),
            _ => WriteSum::Raw,
        }
    }

    /// Decides when and how an I/O of `host` ends.
    fn plan_io(&mut self, host: usize, len: usize, timeout_ms: u64) -> (u64, IoEnd) {
        let mut lat = self.rng.range(1, 8) + 2 * (len as u64 >> 20);
        let f = &self.sc.faults;
        let (slow_p, eio_p) = (f.slow_p, f.eio_p);
        if slow_p > 0.0 && self.rng.chance(slow_p) {
            lat = self.rng.range(300, 2500);
        }
        let stall = self.hosts[host].stall_until_ms;
        if stall > self.now_ms {
            lat += stall - self.now_ms;
        }
        let end = if lat > timeout_ms {
            self.stats.io_timeouts += 1;
            IoEnd::Timeout
        } else if eio_p > 0.0 && self.rng.chance(eio_p) {
            self.stats.io_errors += 1;
            IoEnd::Eio
        } else {
            IoEnd::Ok
        };
        (self.now_ms + lat, end)
    }

    fn check_disk(&self, disk: DiskId, offset: u64, len: usize) {
        assert_eq!(disk, DiskId(0), "the simulation has one disk");
        assert!(
            offset as usize + len <= self.disk.len(),
            "I/O past the end of the disk: {offset} + {len}"
        );
    }

    /// Issues a read of the current task.
    pub fn submit_read(
        &mut self,
        disk: DiskId,
        offset: u64,
        len: usize,
        timeout_ms: u64,
    ) -> Rc<Slot> {
        self.check_disk(disk, offset, len);
        let (task, host) = self.current();
        let slot = Rc::new(RefCell::new(None));
        let (done_ms, end) = self.plan_io(host, len, timeout_ms);
        self.next_io += 1;
        let id = self.next_io;
        let target = self.target(offset, len);
        self.trace(
            Some(host),
            Ev::Io {
                id,
                write: false,
                target,
                end,
                done_ms,
                sum: WriteSum::Raw,
            },
        );
        let deadline_ms = self.now_ms + timeout_ms;
        match end {
            IoEnd::Ok => self.push(
                done_ms,
                EventKind::ReadDone {
                    task,
                    slot: slot.clone(),
                    offset,
                    len,
                },
            ),
            IoEnd::Eio => self.push(
                done_ms,
                EventKind::IoFailed {
                    task,
                    slot: slot.clone(),
                    fault: IoFault::Failed(-5),
                    write: false,
                },
            ),
            IoEnd::Timeout => self.push(
                deadline_ms,
                EventKind::IoFailed {
                    task,
                    slot: slot.clone(),
                    fault: IoFault::Timeout,
                    write: false,
                },
            ),
        }
        slot
    }

    /// Issues a write of the current task. It lands at its completion
    /// time, even when its caller has seen a timeout long before.
    pub fn submit_write(
        &mut self,
        disk: DiskId,
        offset: u64,
        data: Vec<u8>,
        timeout_ms: u64,
    ) -> Rc<Slot> {
        self.check_disk(disk, offset, data.len());
        let (task, host) = self.current();
        let slot = Rc::new(RefCell::new(None));
        let (done_ms, end) = self.plan_io(host, data.len(), timeout_ms);
        // The Env contract (paxlock_core::env): a write to a sector that
        // still has an earlier write of this host in flight is refused at
        // once and never lands, so writes to one sector land in issue order
        // (paxlock-io does the same on real disks).
        let in_flight_until = self.last_land_ms.get(&(host, offset)).copied().unwrap_or(0);
        if in_flight_until > self.now_ms {
            self.stats.writes_ordered += 1;
            self.stats.io_timeouts += 1;
            let now = self.now_ms;
            self.push(
                now,
                EventKind::IoFailed {
                    task,
                    slot: slot.clone(),
                    fault: IoFault::Timeout,
                    write: true,
                },
            );
            return slot;
        }
        if end != IoEnd::Eio {
            self.last_land_ms.insert((host, offset), done_ms);
        }
        self.next_io += 1;
        let id = self.next_io;
        let target = self.target(offset, data.len());
        let sum = Self::summarize(target, &data);
        self.trace(
            Some(host),
            Ev::Io {
                id,
                write: true,
                target,
                end,
                done_ms,
                sum,
            },
        );
        // A write of our own dblock that carries no accepted value (phase 1,
        // or a retract): see workaround keep-accepted.
        let mut no_value = false;
        if let Target::ResDblock(_, h) = target {
            if let Ok(d) = PaxosDblock::decode(&data) {
                no_value = h == host as u64 + 1 && d.lver != 0 && d.bal == 0 && d.inp == 0;
            }
        }
        let boot = self.hosts[host].boot;
        match end {
            IoEnd::Ok => {
                // Landing first (lower sequence number), then the caller learns.
                self.push(
                    done_ms,
                    EventKind::Land {
                        id,
                        offset,
                        data,
                        target,
                        host,
                        boot,
                        timed_out: false,
                        no_value,
                    },
                );
                self.push(
                    done_ms,
                    EventKind::WriteDone {
                        task,
                        slot: slot.clone(),
                    },
                );
            }
            IoEnd::Eio => self.push(
                done_ms,
                EventKind::IoFailed {
                    task,
                    slot: slot.clone(),
                    fault: IoFault::Failed(-5),
                    write: true,
                },
            ),
            IoEnd::Timeout => {
                self.push(
                    done_ms,
                    EventKind::Land {
                        id,
                        offset,
                        data,
                        target,
                        host,
                        boot,
                        timed_out: true,
                        no_value,
                    },
                );
                let deadline_ms = self.now_ms + timeout_ms;
                self.push(
                    deadline_ms,
                    EventKind::IoFailed {
                        task,
                        slot: slot.clone(),
                        fault: IoFault::Timeout,
                        write: true,
                    },
                );
            }
        }
        slot
    }

    /// Arms (or moves) `host`'s watchdog expiry.
    pub fn watchdog_set(&mut self, host: usize, expiry_ms: u64) {
        let h = &mut self.hosts[host];
        h.wd_armed = true;
        h.wd_expiry_ms = expiry_ms;
        let boot = h.boot;
        self.push(
            expiry_ms,
            EventKind::WatchdogExpiry {
                host,
                boot,
                expiry_ms,
            },
        );
    }

    /// `host` found its lockspace lost: it tells its holders (they stop at
    /// once) and, with no holder left, clears its watchdog.
    pub fn lockspace_lost(&mut self, host: usize, gap_ms: u64, corrupt: bool) {
        self.stats.lockspaces_lost += 1;
        self.trace(Some(host), Ev::LockspaceLost { gap_ms, corrupt });
        for res in self.checker.end_all(host) {
            self.trace(
                Some(host),
                Ev::BeliefEnd {
                    res,
                    why: EndWhy::Told,
                },
            );
        }
        self.hosts[host].wd_armed = false;
    }

    /// A client operation starts on `host`.
    pub fn op_start(&mut self, host: usize, res: usize, op: Op) {
        self.trace(Some(host), Ev::OpStart { res, op });
        if op == Op::Request {
            return;
        }
        if let Some(deadline_ms) = self.checker.op_start(self.now_ms, host, res, op) {
            let started_ms = self.now_ms;
            self.push(
                deadline_ms + 1,
                EventKind::LivenessDeadline {
                    host,
                    res,
                    started_ms,
                },
            );
        }
    }

    /// A client operation ends: `Ok(lver)` or `Err(code)`.
    pub fn op_end(&mut self, host: usize, res: usize, op: Op, result: Result<u64, i32>) {
        match result {
            Ok(lver) => self.trace(Some(host), Ev::OpOk { res, op, lver }),
            Err(code) => self.trace(Some(host), Ev::OpErr { res, op, code }),
        }
        self.stats.op(op, result);
        if op != Op::Request {
            let now = self.now_ms;
            self.checker
                .op_end(now, host, res, result.err().unwrap_or(0));
        }
    }

    /// `host` stops believing it holds `res`.
    pub fn belief_end(&mut self, host: usize, res: usize, why: EndWhy) {
        if self.checker.end(host, res) {
            self.trace(Some(host), Ev::BeliefEnd { res, why });
        }
    }
}

struct Task {
    host: usize,
    fut: TaskFuture,
}

/// The executor: the task table and the event loop.
pub(crate) struct Sim {
    pub world: Rc<RefCell<World>>,
    tasks: Vec<Option<Task>>,
    parked: Vec<Vec<TaskId>>,
    end_ms: u64,
    pub events: u64,
}

impl Sim {
    /// Builds the disk, the hosts' boots and the fault plan of `cfg`.
    pub fn new(cfg: &SimConfig) -> Sim {
        let mut rng = Rng::new(cfg.seed);
        let sc = Scenario::draw(cfg, &mut rng);
        let mut plan_rng = rng.fork();
        let world_rng = rng.fork();
        let g = sc.geometry;
        let space_name = Name::new("SIM_LS").unwrap_or_default();
        let mut disk = vec![0u8; g.align_usize() * (1 + sc.resources)];
        let init = area::lockspace_init(g, space_name, sc.io_timeout_secs as u16);
        disk[..init.area.len()].copy_from_slice(&init.area);
        disk[..init.commit_sector.len()].copy_from_slice(&init.commit_sector);
        let mut resources = Vec::new();
        for r in 0..sc.resources {
            let name = Name::new(&format!("r{r}")).unwrap_or_default();
            let off = g.align_usize() * (1 + r);
            let img = area::resource_init(g, space_name, name, sc.hosts as u64, None);
            disk[off..off + img.len()].copy_from_slice(&img);
            resources.push(ResourceSpec {
                space_name,
                name,
                loc: LeaseLoc {
                    disk: DiskId(0),
                    offset: off as u64,
                },
            });
        }
        let timeouts = Timeouts::new(sc.io_timeout_secs, sc.watchdog_fire_timeout_secs)
            .unwrap_or_else(|e| panic!("scenario timeouts: {e}"));
        let params = Rc::new(Params {
            space_name,
            geometry: g,
            timeouts,
            resources,
            hosts: sc.hosts,
            workload: sc.workload.clone(),
            bug: cfg.bug.map(|b| b.planted()),
            workarounds: cfg.workarounds,
        });
        let liveness = sc.faults.is_none() && cfg.bug.is_none();
        let io_ms = params.io_ms();
        let mut world = World {
            now_ms: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            rng: world_rng,
            disk: SimDisk::new(&disk, g.align_usize()),
            checker: Checker::new(sc.hosts, sc.resources, liveness.then_some(io_ms)),
            trace: Trace::new(if cfg.full_trace {
                None
            } else {
                Some(cfg.trace_tail)
            }),
            stats: Stats::default(),
            hosts: vec![HostState::default(); sc.hosts],
            params,
            ready: VecDeque::new(),
            current: None,
            spawned: Vec::new(),
            next_io: 0,
            workarounds: cfg.workarounds,
            last_land_ms: std::collections::HashMap::new(),
            sc,
        };
        Self::plan_faults(&mut world, &mut plan_rng);
        let end_ms = world.sc.duration_ms;
        let hosts = world.sc.hosts;
        Sim {
            world: Rc::new(RefCell::new(world)),
            tasks: Vec::new(),
            parked: vec![Vec::new(); hosts],
            end_ms,
            events: 0,
        }
    }

    fn plan_faults(w: &mut World, rng: &mut Rng) {
        let hosts = w.sc.hosts;
        let (lo, hi) = (5_000, w.sc.duration_ms - 10_000);
        for h in 0..hosts {
            let at = rng.range(0, 3_000);
            w.push(at, EventKind::Boot { host: h });
        }
        let f = w.sc.faults.clone();
        for h in 0..hosts {
            if f.crash {
                for _ in 0..rng.range(0, 2) {
                    let at = rng.range(lo, hi);
                    w.push(at, EventKind::Crash { host: h });
                }
            }
            if f.freeze {
                for _ in 0..rng.range(1, 3) {
                    let at = rng.range(lo, hi);
                    let ms = match rng.below(10) {
                        0..=4 => rng.range(300, 7_000),
                        5..=7 => rng.range(7_000, 20_000),
                        _ => rng.range(20_000, 40_000),
                    };
                    w.push(at, EventKind::Freeze { host: h, ms });
                }
            }
            if f.stall {
                for _ in 0..rng.range(1, 3) {
                    let at = rng.range(lo, hi);
                    let ms = if rng.chance(0.5) {
                        rng.range(500, 7_000)
                    } else {
                        rng.range(7_000, 30_000)
                    };
                    w.push(at, EventKind::Stall { host: h, ms });
                }
            }
        }
    }

    fn poll_ready(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            let next = self.world.borrow_mut().ready.pop_front();
            let Some(tid) = next else { return };
            let Some(task) = self.tasks.get_mut(tid).and_then(|t| t.as_mut()) else {
                continue;
            };
            let host = task.host;
            if self.world.borrow().hosts[host].frozen {
                self.parked[host].push(tid);
                continue;
            }
            self.world.borrow_mut().current = Some((tid, host));
            let done = task.fut.as_mut().poll(&mut cx).is_ready();
            self.world.borrow_mut().current = None;
            if done {
                self.tasks[tid] = None;
            }
            let spawned = std::mem::take(&mut self.world.borrow_mut().spawned);
            for (host, fut) in spawned {
                self.add_task(host, fut);
            }
        }
    }

    fn add_task(&mut self, host: usize, fut: TaskFuture) {
        let tid = self.tasks.len();
        self.tasks.push(Some(Task { host, fut }));
        self.world.borrow_mut().ready.push_back(tid);
    }

    /// Runs until the end of the scenario or the first violation.
    pub fn run(&mut self) {
        loop {
            self.poll_ready();
            if self.world.borrow().checker.violation.is_some() {
                break;
            }
            let ev = {
                let mut w = self.world.borrow_mut();
                match w.queue.peek() {
                    Some(e) if e.at_ms <= self.end_ms => w.queue.pop(),
                    _ => None,
                }
            };
            let Some(ev) = ev else { break };
            self.world.borrow_mut().now_ms = ev.at_ms;
            self.events += 1;
            self.handle(ev.kind);
        }
        let mut w = self.world.borrow_mut();
        w.stats.events = self.events;
        w.stats.sim_ms = w.now_ms;
        w.stats.liveness_passed = w.checker.liveness_passed;
    }

    /// Drops every task (breaks the futures' references to the world).
    pub fn shutdown(&mut self) {
        self.tasks.clear();
        let mut w = self.world.borrow_mut();
        w.spawned.clear();
        w.queue.clear();
    }

    fn wake(&mut self, task: TaskId, slot: &Slot, c: Completion) {
        *slot.borrow_mut() = Some(c);
        self.world.borrow_mut().ready.push_back(task);
    }

    fn handle(&mut self, kind: EventKind) {
        match kind {
            EventKind::Wake { task, slot } => self.wake(task, &slot, Completion::Slept),
            EventKind::ReadDone {
                task,
                slot,
                offset,
                len,
            } => {
                let data = self.world.borrow().disk.read(offset as usize, len);
                self.wake(task, &slot, Completion::Read(Ok(data)));
            }
            EventKind::WriteDone { task, slot } => {
                self.wake(task, &slot, Completion::Wrote(Ok(())))
            }
            EventKind::IoFailed {
                task,
                slot,
                fault,
                write,
            } => {
                let c = if write {
                    Completion::Wrote(Err(fault))
                } else {
                    Completion::Read(Err(fault))
                };
                self.wake(task, &slot, c);
            }
            EventKind::Land {
                id,
                offset,
                mut data,
                target,
                host,
                boot,
                timed_out,
                no_value,
            } => {
                let mut w = self.world.borrow_mut();
                let o = offset as usize;
                if no_value && w.workarounds.keep_accepted {
                    let on_disk = PaxosDblock::decode(w.disk.bytes(o, data.len()));
                    let new = PaxosDblock::decode(&data);
                    if let (Ok(old), Ok(mut d)) = (on_disk, new) {
                        if old.checksum_ok() && old.lver == d.lver && old.bal != 0 && old.inp != 0 {
                            d.mbal = d.mbal.max(old.mbal);
                            d.bal = old.bal;
                            d.inp = old.inp;
                            d.inp2 = old.inp2;
                            d.inp3 = old.inp3;
                            d.seal();
                            let _ = d.encode(&mut data);
                            w.stats.accepted_kept += 1;
                            let sum = World::summarize(target, &data);
                            w.trace(None, Ev::AcceptedKept { id, sum });
                        }
                    }
                }
                w.disk.write(o, &data);
                let hs = &w.hosts[host];
                let late = timed_out || !hs.up || hs.boot != boot;
                if late {
                    w.stats.late_writes += 1;
                }
                w.trace(None, Ev::Land { id, target, late });
            }
            EventKind::WatchdogExpiry {
                host,
                boot,
                expiry_ms,
            } => {
                let mut w = self.world.borrow_mut();
                let hs = &w.hosts[host];
                if hs.up && hs.boot == boot && hs.wd_armed && hs.wd_expiry_ms == expiry_ms {
                    // wdmd stops petting before the expiry; the device fires
                    // at most wft after the last ping, so no later than
                    // expiry + wft. When exactly is up to the seed.
                    let wft_ms = u64::from(w.sc.watchdog_fire_timeout_secs) * 1000;
                    let fire_ms = expiry_ms + w.rng.range(0, wft_ms);
                    w.trace(Some(host), Ev::WatchdogExpired { expiry_ms, fire_ms });
                    w.push(
                        fire_ms,
                        EventKind::WatchdogFire {
                            host,
                            boot,
                            expiry_ms,
                        },
                    );
                }
            }
            EventKind::WatchdogFire {
                host,
                boot,
                expiry_ms,
            } => {
                let fire = {
                    let w = self.world.borrow();
                    let hs = &w.hosts[host];
                    hs.up && hs.boot == boot && hs.wd_armed && hs.wd_expiry_ms == expiry_ms
                };
                if fire {
                    self.world.borrow_mut().stats.watchdog_fires += 1;
                    self.take_down(host, EndWhy::Reset);
                }
            }
            EventKind::Crash { host } => {
                if self.world.borrow().hosts[host].up {
                    self.world.borrow_mut().stats.crashes += 1;
                    self.take_down(host, EndWhy::Crash);
                }
            }
            EventKind::Freeze { host, ms } => {
                let mut w = self.world.borrow_mut();
                let now = w.now_ms;
                if w.hosts[host].up && !w.hosts[host].frozen {
                    w.stats.freezes += 1;
                    let hs = &mut w.hosts[host];
                    hs.frozen = true;
                    hs.freeze_token += 1;
                    let token = hs.freeze_token;
                    w.trace(Some(host), Ev::Freeze { ms });
                    w.push(now + ms, EventKind::Thaw { host, token });
                }
            }
            EventKind::Thaw { host, token } => {
                let mut w = self.world.borrow_mut();
                if w.hosts[host].frozen && w.hosts[host].freeze_token == token {
                    w.hosts[host].frozen = false;
                    w.trace(Some(host), Ev::Thaw);
                    w.ready.extend(self.parked[host].drain(..));
                }
            }
            EventKind::Stall { host, ms } => {
                let mut w = self.world.borrow_mut();
                if w.hosts[host].up {
                    w.stats.stalls += 1;
                    let until = w.now_ms + ms;
                    let hs = &mut w.hosts[host];
                    hs.stall_until_ms = hs.stall_until_ms.max(until);
                    w.trace(Some(host), Ev::Stall { ms });
                }
            }
            EventKind::Boot { host } => self.boot(host),
            EventKind::LivenessDeadline {
                host,
                res,
                started_ms,
            } => {
                let mut w = self.world.borrow_mut();
                let now = w.now_ms;
                w.checker.deadline(now, host, res, started_ms);
            }
        }
    }

    fn boot(&mut self, host: usize) {
        let (env, params, boot) = {
            let mut w = self.world.borrow_mut();
            let offset = w.rng.range(1_000, 1_000_000);
            let hs = &mut w.hosts[host];
            hs.up = true;
            hs.boot += 1;
            hs.frozen = false;
            hs.clock_offset_ms = offset;
            let boot = hs.boot;
            w.trace(
                Some(host),
                Ev::Boot {
                    boot,
                    clock_offset_ms: offset,
                },
            );
            (
                crate::env::SimEnv::new(self.world.clone(), host, offset),
                w.params.clone(),
                boot,
            )
        };
        self.add_task(host, Box::pin(crate::host::host_main(env, params, boot)));
    }

    /// A crash or a watchdog reset: the host's tasks are dropped at once,
    /// its beliefs vanish, its in-flight writes still land. It boots again
    /// a little later.
    fn take_down(&mut self, host: usize, why: EndWhy) {
        {
            let mut w = self.world.borrow_mut();
            w.trace(
                Some(host),
                if why == EndWhy::Crash {
                    Ev::Crash
                } else {
                    Ev::WatchdogFire
                },
            );
            for res in w.checker.end_all(host) {
                w.trace(Some(host), Ev::BeliefEnd { res, why });
            }
            w.checker.host_gone(host);
            let hs = &mut w.hosts[host];
            hs.up = false;
            hs.frozen = false;
            hs.wd_armed = false;
            let down_ms = w.rng.range(2_000, 20_000);
            let at = w.now_ms + down_ms;
            w.push(at, EventKind::Boot { host });
        }
        let mut dropped = Vec::new();
        for t in self.tasks.iter_mut() {
            if t.as_ref().is_some_and(|t| t.host == host) {
                dropped.push(t.take());
            }
        }
        self.parked[host].clear();
        drop(dropped); // outside any borrow of the world
    }
}
