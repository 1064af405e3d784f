//! The run's trace: compact records of what happened, formatted only when
//! someone reads them (a violation report or a replay).

use std::collections::VecDeque;
use std::fmt;

use paxlock_core::paxos::Mode;

/// What an I/O touched, worked out from its offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The whole lockspace area (renewal read).
    LsArea,
    /// One delta slot.
    LsSlot(u64),
    /// A whole resource area (paxos read of everything).
    ResArea(usize),
    /// The first sectors of a resource (ballot read of the dblocks).
    ResDblocks(usize),
    /// A resource's leader sector.
    ResLeader(usize),
    /// A resource's request record.
    ResRequest(usize),
    /// One host's dblock sector of a resource.
    ResDblock(usize, u64),
    /// Anything else.
    Other(u64, usize),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Target::LsArea => write!(f, "lockspace area"),
            Target::LsSlot(h) => write!(f, "delta slot {h}"),
            Target::ResArea(r) => write!(f, "r{r} area"),
            Target::ResDblocks(r) => write!(f, "r{r} dblocks"),
            Target::ResLeader(r) => write!(f, "r{r} leader"),
            Target::ResRequest(r) => write!(f, "r{r} request"),
            Target::ResDblock(r, h) => write!(f, "r{r} dblock {h}"),
            Target::Other(o, l) => write!(f, "offset {o} len {l}"),
        }
    }
}

/// What a written sector holds (decoded at issue time, for the trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteSum {
    /// A delta leader.
    Delta {
        /// owner_id.
        owner: u64,
        /// Generation.
        generation: u64,
        /// Timestamp (0 = free).
        ts: u64,
    },
    /// A paxos leader.
    Leader {
        /// lver.
        lver: u64,
        /// owner_id.
        owner: u64,
        /// owner generation.
        generation: u64,
        /// Timestamp (0 = free).
        ts: u64,
        /// write_id.
        writer: u64,
    },
    /// A dblock and its mode block.
    Dblock {
        /// mbal.
        mbal: u64,
        /// bal.
        bal: u64,
        /// inp (proposed owner).
        inp: u64,
        /// inp2 (its generation).
        inp2: u64,
        /// lver.
        lver: u64,
        /// RELEASED flag.
        released: bool,
        /// SHARED mode block.
        shared: bool,
    },
    /// A request record.
    Request {
        /// lver.
        lver: u64,
        /// Force mode.
        force: u32,
    },
    /// Not decoded.
    Raw,
}

impl fmt::Display for WriteSum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WriteSum::Delta {
                owner,
                generation,
                ts,
            } => write!(f, "[owner {owner} gen {generation} ts {ts}]"),
            WriteSum::Leader {
                lver,
                owner,
                generation,
                ts,
                writer,
            } => {
                write!(
                    f,
                    "[lver {lver} owner {owner} gen {generation} ts {ts} by {writer}]"
                )
            }
            WriteSum::Dblock {
                mbal,
                bal,
                inp,
                inp2,
                lver,
                released,
                shared,
            } => {
                write!(f, "[lver {lver} mbal {mbal} bal {bal} inp {inp}/{inp2}")?;
                if released {
                    write!(f, " RELEASED")?;
                }
                if shared {
                    write!(f, " SHARED")?;
                }
                write!(f, "]")
            }
            WriteSum::Request { lver, force } => write!(f, "[lver {lver} force {force}]"),
            WriteSum::Raw => Ok(()),
        }
    }
}

/// How an I/O ends, as decided when it was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoEnd {
    /// Completes in time.
    Ok,
    /// Completes after its deadline: the caller sees a timeout at the
    /// deadline (a write still lands at completion).
    Timeout,
    /// Fails with EIO (a failed write does not land).
    Eio,
}

/// A client operation on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Acquire in a mode.
    Acquire(Mode),
    /// Release.
    Release,
    /// Convert to a mode.
    Convert(Mode),
    /// Request (force) the owner to give it up.
    Request,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Acquire(m) => write!(f, "acquire {}", mode_name(*m)),
            Op::Release => write!(f, "release"),
            Op::Convert(m) => write!(f, "convert to {}", mode_name(*m)),
            Op::Request => write!(f, "request"),
        }
    }
}

/// "EX" or "SH".
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Ex => "EX",
        Mode::Sh => "SH",
    }
}

/// Why a host stopped believing it holds a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndWhy {
    /// It started releasing it.
    Release,
    /// Its lockspace was lost and it was told.
    Told,
    /// A request (force) made it give the lease up.
    Request,
    /// A conversion failed: it gives up the lease.
    ConvertFailed,
    /// The host was reset by its watchdog.
    Reset,
    /// The host crashed.
    Crash,
}

/// One thing that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ev {
    /// The host (re)starts.
    Boot {
        /// Boot number.
        boot: u32,
        /// Its monotonic clock minus sim time.
        clock_offset_ms: u64,
    },
    /// Starts joining the lockspace.
    JoinStart {
        /// Lockspace membership number within this boot.
        epoch: u32,
    },
    /// Joined; the watchdog is armed.
    Joined {
        /// New generation.
        generation: u64,
        /// Watchdog expiry (sim ms).
        expiry_ms: u64,
    },
    /// Join failed (it will retry).
    JoinFailed {
        /// Error code.
        code: i32,
    },
    /// Renewal succeeded; the watchdog expiry moves.
    Renewed {
        /// Timestamp written.
        ts: u64,
        /// New watchdog expiry (sim ms).
        expiry_ms: u64,
    },
    /// Renewal failed.
    RenewFailed {
        /// Error code.
        code: i32,
    },
    /// The host found its lockspace lost, told its holders and cleared its
    /// watchdog.
    LockspaceLost {
        /// ms since the last successful renewal.
        gap_ms: u64,
        /// Lost through a corrupt renewal result.
        corrupt: bool,
    },
    /// The watchdog expiry passed with the lockspace still registered: it
    /// will fire at `fire_ms` unless cleared or renewed.
    WatchdogExpired {
        /// The expiry.
        expiry_ms: u64,
        /// When it fires.
        fire_ms: u64,
    },
    /// The watchdog fires: the host is reset.
    WatchdogFire,
    /// Fault: crash.
    Crash,
    /// Fault: freeze for `ms`.
    Freeze {
        /// Duration.
        ms: u64,
    },
    /// The freeze ends.
    Thaw,
    /// Fault: this host's storage stalls.
    Stall {
        /// Duration.
        ms: u64,
    },
    /// A client operation starts.
    OpStart {
        /// Resource.
        res: usize,
        /// What.
        op: Op,
    },
    /// It succeeded.
    OpOk {
        /// Resource.
        res: usize,
        /// What.
        op: Op,
        /// The lver held (0 if not applicable).
        lver: u64,
    },
    /// It failed.
    OpErr {
        /// Resource.
        res: usize,
        /// What.
        op: Op,
        /// Error code.
        code: i32,
    },
    /// An acquire returned Ok after the lockspace was lost: ignored.
    OkAfterLoss {
        /// Resource.
        res: usize,
    },
    /// A host stops believing it holds a lease.
    BeliefEnd {
        /// Resource.
        res: usize,
        /// Why.
        why: EndWhy,
    },
    /// A request was recorded; the owner's bit is set in our bitmap.
    RequestSent {
        /// Resource.
        res: usize,
        /// lver asked for.
        lver: u64,
        /// Owner signalled.
        owner: u64,
    },
    /// An I/O is issued (its end is decided now).
    Io {
        /// I/O number.
        id: u64,
        /// Write or read.
        write: bool,
        /// What it touches.
        target: Target,
        /// How it ends.
        end: IoEnd,
        /// When it completes (sim ms).
        done_ms: u64,
        /// What a write carries.
        sum: WriteSum,
    },
    /// Workaround `keep-accepted`: a dblock without an accepted value
    /// landed on ours holding one at the same lver; the value was kept.
    AcceptedKept {
        /// I/O number.
        id: u64,
        /// The dblock now on disk.
        sum: WriteSum,
    },
    /// Workaround `ex-shared`: an exclusive success missed live SH holders.
    MissedShared {
        /// Resource.
        res: usize,
        /// The first live SH holder found.
        holder: u64,
    },
    /// A write lands on the disk.
    Land {
        /// I/O number.
        id: u64,
        /// Where.
        target: Target,
        /// After its caller saw a timeout, or after its host was reset.
        late: bool,
    },
}

/// One trace record.
#[derive(Debug, Clone, Copy)]
pub struct Rec {
    /// Sim time (ms).
    pub at_ms: u64,
    /// Host index, or `None` for the disk.
    pub host: Option<usize>,
    /// What.
    pub ev: Ev,
}

impl fmt::Display for Rec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>4}.{:03}s ", self.at_ms / 1000, self.at_ms % 1000)?;
        match self.host {
            Some(h) => write!(f, "h{:<2} ", h + 1)?,
            None => write!(f, "    ")?,
        }
        match self.ev {
            Ev::Boot { boot, clock_offset_ms } => write!(f, "boot #{boot} (clock offset {clock_offset_ms} ms)"),
            Ev::JoinStart { epoch } => write!(f, "join lockspace (membership #{epoch})"),
            Ev::Joined { generation, expiry_ms } => {
                write!(f, "joined, generation {generation}; watchdog armed, expiry {}", secs(expiry_ms))
            }
            Ev::JoinFailed { code } => write!(f, "join failed: {}", code_name(code)),
            Ev::Renewed { ts, expiry_ms } => write!(f, "renewed ts {ts}; watchdog expiry {}", secs(expiry_ms)),
            Ev::RenewFailed { code } => write!(f, "renewal failed: {}", code_name(code)),
            Ev::LockspaceLost { gap_ms, corrupt } => write!(
                f,
                "LOCKSPACE LOST ({}; {} ms since last renewal): holders told, watchdog cleared",
                if corrupt { "corrupt renewal" } else { "renewal fail timeout" },
                gap_ms
            ),
            Ev::WatchdogExpired { expiry_ms, fire_ms } => {
                write!(f, "watchdog expiry {} passed; fires at {} unless cleared", secs(expiry_ms), secs(fire_ms))
            }
            Ev::WatchdogFire => write!(f, "WATCHDOG FIRES: host reset"),
            Ev::Crash => write!(f, "CRASH"),
            Ev::Freeze { ms } => write!(f, "FREEZE for {ms} ms"),
            Ev::Thaw => write!(f, "thaw"),
            Ev::Stall { ms } => write!(f, "STORAGE STALL for {ms} ms"),
            Ev::OpStart { res, op } => write!(f, "r{res} {op} ..."),
            Ev::OpOk { res, op, lver } => {
                write!(f, "r{res} {op} -> ok")?;
                if lver != 0 {
                    write!(f, " (lver {lver})")?;
                }
                Ok(())
            }
            Ev::OpErr { res, op, code } => write!(f, "r{res} {op} -> {}", code_name(code)),
            Ev::OkAfterLoss { res } => write!(f, "r{res} acquire returned ok after the lockspace was lost: ignored"),
            Ev::BeliefEnd { res, why } => write!(f, "r{res} no longer believed held ({why:?})"),
            Ev::RequestSent { res, lver, owner } => write!(f, "r{res} request lver {lver} recorded; signalling host {owner}"),
            Ev::Io { id, write, target, end, done_ms, sum } => {
                write!(f, "io#{id} {} {target} {sum}", if write { "write" } else { "read" })?;
                match end {
                    IoEnd::Ok => write!(f, " done at {}", secs(done_ms)),
                    IoEnd::Timeout => write!(f, " SLOW: completes at {} (times out)", secs(done_ms)),
                    IoEnd::Eio => write!(f, " EIO at {}", secs(done_ms)),
                }
            }
            Ev::AcceptedKept { id, sum } => {
                write!(f, "io#{id}: WORKAROUND keep-accepted: our accepted value kept, dblock now {sum}")
            }
            Ev::MissedShared { res, holder } => write!(
                f,
                "r{res} WORKAROUND ex-shared: exclusive grant missed live SH holder {holder}; releasing, counted as EAGAIN"
            ),
            Ev::Land { id, target, late } => {
                write!(f, "io#{id} lands on {target}{}", if late { " (LATE)" } else { "" })
            }
        }
    }
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// A readable name for a result code of paxlock-core.
pub fn code_name(code: i32) -> String {
    let name = match code {
        -202 => "timeout",
        -220 => "LEADER_READ",
        -221 => "LEADER_WRITE",
        -210 => "DBLOCK_READ",
        -211 => "DBLOCK_WRITE",
        -214 => "DBLOCK_CHECKSUM",
        -240 => "ACQUIRE_LVER",
        -243 => "ACQUIRE_IDLIVE",
        -244 => "ACQUIRE_OWNED",
        -245 => "ACQUIRE_OTHER",
        -246 => "ACQUIRE_SHRETRY",
        -247 => "ACQUIRE_OWNED_RETRY",
        -11 => "EAGAIN (shared holders)",
        -250 => "RELEASE_LVER",
        -251 => "RELEASE_OWNER",
        -260 => "RENEW_OWNER",
        -261 => "RENEW_DIFF",
        -262 => "HOSTID_BUSY",
        -272 => "REQUEST_OLD",
        -273 => "REQUEST_LVER",
        -270 => "REQUEST_MAGIC",
        -201 => "stopped",
        c if (-229..=-223).contains(&c) => "LEADER_* (bad leader)",
        _ => "error",
    };
    format!("{name}({code})")
}

/// The trace: every record (replay), or the last `cap` (bulk runs).
#[derive(Debug)]
pub struct Trace {
    recs: VecDeque<Rec>,
    cap: Option<usize>,
    /// Records ever pushed.
    pub total: u64,
}

impl Trace {
    /// Keeps everything when `cap` is `None`.
    pub fn new(cap: Option<usize>) -> Trace {
        Trace {
            recs: VecDeque::new(),
            cap,
            total: 0,
        }
    }

    /// Adds a record.
    pub fn push(&mut self, rec: Rec) {
        self.total += 1;
        if let Some(cap) = self.cap {
            if self.recs.len() >= cap {
                self.recs.pop_front();
            }
        }
        self.recs.push_back(rec);
    }

    /// The records kept, oldest first.
    pub fn records(&self) -> impl Iterator<Item = &Rec> {
        self.recs.iter()
    }

    /// The records kept, one per line.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for r in &self.recs {
            s.push_str(&r.to_string());
            s.push('\n');
        }
        s
    }
}
