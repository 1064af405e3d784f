//! Paxos (resource) leases: acquire and release, exclusive and shared,
//! conversion between them, and requests, as sanlock 3.8 runs them (see
//! `shared/spec/sanlock-algorithms.md`, section 3). One Disk Paxos instance
//! is run per lease version (lver); the leader record caches its outcome.

use std::sync::Mutex;

use paxlock_format::dblock::{DBLOCK_FL_RELEASED, MBLOCK_SHARED};
use paxlock_format::leader::{LeaderRecord, LFL_SHORT_HOLD};
use paxlock_format::request::{RequestRecord, REQ_DISK_MAGIC, REQ_DISK_VERSION};
use paxlock_format::{Geometry, ModeBlock, Name, PaxosDblock};

use crate::ballot::{evaluate_phase, first_mbal, Abort, Inp, SeenDblock};
use crate::delta::{read_slot, HostTable, LockspaceConfig};
use crate::env::{Env, IoFault, LeaseLoc};
use crate::error::LeaseError;

/// How many times an acquire restarts (the leader changed under it) or
/// retries a ballot (a competing ballot won a phase) before giving up.
pub const ACQUIRE_ATTEMPTS_MAX: u32 = 256;
/// sanlock's default number of shared-acquire retries against short holds.
pub const SH_RETRIES: u32 = 8;

/// A bug the simulator plants on purpose, to prove its checker catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantedBug {
    /// Skip the read after phase 2: commit without checking that no
    /// higher ballot started meanwhile.
    SkipPhase2Read,
    /// Treat an owner as dead after 1 s instead of host_dead_seconds.
    EarlyTakeover,
}

/// Our membership of a lockspace, as the paxos code needs it.
#[derive(Debug)]
pub struct Member<'a> {
    /// The lockspace.
    pub space: &'a LockspaceConfig,
    /// Our generation in it.
    pub generation: u64,
    /// What our renewals saw of the other hosts.
    pub hosts: &'a Mutex<HostTable>,
    /// A planted bug (simulator only; `None` everywhere else).
    pub bug: Option<PlantedBug>,
}

impl Member<'_> {
    fn host_id(&self) -> u64 {
        self.space.host_id
    }

    fn io_ms(&self) -> u64 {
        u64::from(self.space.timeouts.io_timeout_secs()) * 1000
    }

    fn has_bug(&self, b: PlantedBug) -> bool {
        cfg!(feature = "planted-bugs") && self.bug == Some(b)
    }

    fn host_status(&self, host_id: u64) -> Option<crate::delta::HostStatus> {
        self.hosts.lock().map(|t| t.get(host_id)).unwrap_or(None)
    }
}

/// A resource lease to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// Lockspace name (must be the member's).
    pub space_name: Name,
    /// Resource name.
    pub name: Name,
    /// Where the lease area starts.
    pub loc: LeaseLoc,
}

/// Exclusive or shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One holder.
    Ex,
    /// Any number of shared holders, and no exclusive one.
    Sh,
}

/// A held lease: what we need to release or convert it safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The resource.
    pub res: ResourceSpec,
    /// How we hold it.
    pub mode: Mode,
    /// The lver we acquired.
    pub lver: u64,
    /// The leader we committed.
    pub leader: LeaderRecord,
    /// Our dblock as last written.
    pub dblock: PaxosDblock,
    /// The lease's geometry.
    pub geometry: Geometry,
    /// Our host generation when we acquired.
    pub generation: u64,
}

/// Options of an acquire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AcquireOpts {
    /// Fail unless the lease is at this lver (`SANLK_RES_LVER`).
    pub lver: Option<u64>,
    /// Fail at once with `OwnedRetry` instead of waiting for an owner that
    /// is not (yet) known dead.
    pub nowait: bool,
}

/// The whole area, read and checked.
struct AreaRead {
    leader: LeaderRecord,
    geometry: Geometry,
    max_mbal: u64,
    /// Our own dblock as on disk.
    ours: PaxosDblock,
    /// Hosts whose mode block says SHARED.
    shared: Vec<u64>,
}

fn dblock_sector(g: Geometry, d: &PaxosDblock, mode: Option<ModeBlock>) -> Vec<u8> {
    let mut s = vec![0u8; g.sector_usize()];
    let _ = d.encode(&mut s); // a sector always holds a dblock and a mode block
    if let Some(m) = mode {
        let _ = m.encode_into_sector(&mut s);
    }
    s
}

fn seen_dblocks(area: &[u8], g: Geometry, num_hosts: u64) -> Vec<SeenDblock> {
    let ss = g.sector_usize();
    let n = num_hosts.min((area.len() / ss).saturating_sub(2) as u64);
    (0..n as usize)
        .filter_map(|i| {
            let s = &area[(2 + i) * ss..(3 + i) * ss];
            let dblock = PaxosDblock::decode(s).ok()?;
            let mode = ModeBlock::decode_from_sector(s).ok()?;
            Some(SeenDblock {
                host_id: i as u64 + 1,
                dblock,
                checksum_ok: dblock.checksum_ok(),
                shared: mode.is_shared(),
            })
        })
        .collect()
}

/// Reads the whole lease area and verifies the leader and every dblock.
async fn read_area<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    hint: Geometry,
) -> Result<AreaRead, LeaseError> {
    let mut g = hint;
    for _ in 0..2 {
        let area = env
            .read(res.loc.disk, res.loc.offset, g.align_usize(), m.io_ms())
            .await
            .map_err(LeaseError::LeaderRead)?;
        let leader = verified_leader(&area, m, res)?;
        match leader.geometry() {
            Some(lg) if lg != g => {
                g = lg; // the lease says otherwise: read again with its geometry
                continue;
            }
            _ => {}
        }
        let seen = seen_dblocks(&area, g, leader.num_hosts);
        if let Some(bad) = seen.iter().find(|s| !s.checksum_ok) {
            return Err(LeaseError::DblockChecksum {
                host_id: bad.host_id,
            });
        }
        let max_mbal = seen.iter().map(|s| s.dblock.mbal).max().unwrap_or(0);
        // A dblock more than one lver ahead of the leader means a later
        // instance was decided and the leader went back (a commit that
        // timed out landed late, over a newer one). Acting on that leader
        // could hand out a lease someone holds: refuse, write nothing.
        if let Some(ahead) = seen
            .iter()
            .find(|s| s.dblock.lver > leader.lver.saturating_add(1))
        {
            return Err(LeaseError::LeaderBehind {
                leader_lver: leader.lver,
                host_id: ahead.host_id,
                dblock_lver: ahead.dblock.lver,
            });
        }
        let ours = seen
            .iter()
            .find(|s| s.host_id == m.host_id())
            .map(|s| s.dblock)
            .unwrap_or_default();
        let shared = seen
            .iter()
            .filter(|s| s.shared)
            .map(|s| s.host_id)
            .collect();
        return Ok(AreaRead {
            leader,
            geometry: g,
            max_mbal,
            ours,
            shared,
        });
    }
    Err(LeaseError::Leader(
        paxlock_format::leader::LeaderError::Magic {
            found: paxlock_format::LeaderKind::Unknown(0),
            expected: "a lease whose geometry does not keep changing",
        },
    ))
}

async fn read_leader<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    g: Geometry,
) -> Result<LeaderRecord, LeaseError> {
    let b = env
        .read(res.loc.disk, res.loc.offset, g.sector_usize(), m.io_ms())
        .await
        .map_err(LeaseError::LeaderRead)?;
    verified_leader(&b, m, res)
}

/// Decodes the leader at the start of `bytes` and checks it as sanlock does.
fn verified_leader(
    bytes: &[u8],
    m: &Member<'_>,
    res: &ResourceSpec,
) -> Result<LeaderRecord, LeaseError> {
    let leader =
        LeaderRecord::decode(bytes).map_err(|_| LeaseError::LeaderRead(IoFault::Failed(-5)))?;
    leader.verify_paxos(&res.space_name, &res.name, m.host_id())?;
    Ok(leader)
}

async fn write_dblock<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    g: Geometry,
    d: &PaxosDblock,
    mode: Option<ModeBlock>,
) -> Result<(), LeaseError> {
    let off = g
        .dblock_offset(m.host_id())
        .ok_or(LeaseError::InvalidHostId {
            host_id: m.host_id(),
            max_hosts: g.max_hosts(),
        })?;
    env.write(
        res.loc.disk,
        res.loc.offset + off,
        dblock_sector(g, d, mode),
        m.io_ms(),
    )
    .await
    .map_err(LeaseError::DblockWrite)
}

enum BallotEnd {
    Chosen {
        inp: Inp,
        dblock: PaxosDblock,
        shared: Vec<u64>,
    },
    /// A competing ballot won a phase; carries what we last wrote.
    Abort(#[allow(dead_code)] Abort, PaxosDblock),
}

/// One Disk Paxos ballot: phase 1 (promise), choose, phase 2 (accept).
/// `Err((e, Some(d)))` means the error came in phase 2, after we tried to
/// write `d`: our value may still be chosen by another host.
#[allow(clippy::too_many_arguments)]
async fn run_ballot<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    g: Geometry,
    num_hosts: u64,
    lver: u64,
    mbal: u64,
    keep_mode: Option<ModeBlock>,
    prev: Option<PaxosDblock>,
) -> Result<BallotEnd, (LeaseError, Option<PaxosDblock>)> {
    let sectors = (num_hosts + 2)
        .next_power_of_two()
        .min(g.sectors_per_area());
    let read_len = (sectors * g.sector_bytes()) as usize;
    // Phase 1: announce our ballot number. sanlock clears our bal/inp here;
    // we keep a value we accepted earlier at this same lver (as Disk Paxos
    // does), because it may have been chosen: erasing it could let another
    // ballot choose a different owner for this lver.
    let mut ours = match prev.filter(|p| p.lver == lver && p.bal != 0 && p.inp != 0) {
        Some(p) => PaxosDblock {
            mbal,
            lver,
            bal: p.bal,
            inp: p.inp,
            inp2: p.inp2,
            inp3: p.inp3,
            ..Default::default()
        },
        None => PaxosDblock {
            mbal,
            lver,
            ..Default::default()
        },
    };
    ours.seal();
    write_dblock(env, m, res, g, &ours, keep_mode)
        .await
        .map_err(|e| (e, None))?;
    let view = {
        // In a block: the read's buffer goes back before phase 2.
        let area = env
            .read(res.loc.disk, res.loc.offset, read_len, m.io_ms())
            .await
            .map_err(|e| (LeaseError::DblockRead(e), None))?;
        match evaluate_phase(&seen_dblocks(&area, g, num_hosts), lver, mbal) {
            Ok(v) => v,
            Err(a) => return Ok(BallotEnd::Abort(a, ours)),
        }
    };
    // Choose: the value accepted with the largest bal, else ourselves.
    let inp = view.best.map(|b| b.1).unwrap_or(Inp {
        inp: m.host_id(),
        inp2: m.generation,
        inp3: env.now_secs(),
    });
    // Phase 2: accept it.
    ours = PaxosDblock {
        mbal,
        bal: mbal,
        inp: inp.inp,
        inp2: inp.inp2,
        inp3: inp.inp3,
        lver,
        ..Default::default()
    };
    ours.seal();
    write_dblock(env, m, res, g, &ours, keep_mode)
        .await
        .map_err(|e| (e, Some(ours)))?;
    if !m.has_bug(PlantedBug::SkipPhase2Read) {
        let area = env
            .read(res.loc.disk, res.loc.offset, read_len, m.io_ms())
            .await
            .map_err(|e| (LeaseError::DblockRead(e), Some(ours)))?;
        if let Err(a) = evaluate_phase(&seen_dblocks(&area, g, num_hosts), lver, mbal) {
            return Ok(BallotEnd::Abort(a, ours));
        }
    }
    Ok(BallotEnd::Chosen {
        inp,
        dblock: ours,
        shared: view.shared,
    })
}

/// Whether the owner's dblock says it released this lease at the leader's
/// lver or later.
async fn owner_released<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    g: Geometry,
    leader: &LeaderRecord,
) -> Result<bool, LeaseError> {
    let Some(off) = g.dblock_offset(leader.owner_id) else {
        return Ok(false);
    };
    let s = env
        .read(
            res.loc.disk,
            res.loc.offset + off,
            g.sector_usize(),
            m.io_ms(),
        )
        .await
        .map_err(LeaseError::DblockRead)?;
    Ok(PaxosDblock::decode(&s)
        .is_ok_and(|d| d.checksum_ok() && d.is_released() && d.lver >= leader.lver))
}

/// Waits until the owner of `leader` is known gone, or fails with IdLive.
/// Returns `Ok(true)` to run a ballot, `Ok(false)` to restart (the leader
/// changed while we waited).
async fn wait_for_owner<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    g: Geometry,
    leader: &LeaderRecord,
    nowait: bool,
) -> Result<bool, LeaseError> {
    let owner_id = leader.owner_id;
    let (mut wait_start_ms, mut last_ts) = match m.host_status(owner_id) {
        Some(hs)
            if hs.last_live_ms != 0
                && hs.owner_id == owner_id
                && hs.owner_generation == leader.owner_generation =>
        {
            (hs.last_live_ms, hs.timestamp)
        }
        _ => (env.now_ms(), 0),
    };
    let space = m.space;
    // Committed on the owner's behalf by another host, and the owner has
    // already released at this lver (or later): it is gone, go ahead.
    if leader.write_id != leader.owner_id && owner_released(env, m, res, g, leader).await? {
        return Ok(true);
    }
    // Bounded: each pass sleeps 1 s, and the owner is judged dead after at
    // most host_dead_seconds (255 * 8 + wft at worst).
    for _ in 0..4096 {
        let delta = read_slot(
            env,
            space.loc,
            space.geometry,
            &space.space_name,
            owner_id,
            m.io_ms(),
        )
        .await?;
        if delta.timestamp == 0
            || delta.owner_id != owner_id
            || delta.owner_generation > leader.owner_generation
        {
            return Ok(true); // that incarnation is gone
        }
        let hs = m.host_status(owner_id);
        if last_ts == 0 {
            last_ts = delta.timestamp;
        } else if delta.timestamp != last_ts
            || hs.is_some_and(|h| h.last_check_ms == h.last_live_ms && h.last_live_ms != 0)
        {
            // Alive. If someone else committed it on the owner's behalf, the
            // owner may have released through its dblock alone.
            if leader.write_id != leader.owner_id && owner_released(env, m, res, g, leader).await? {
                return Ok(true);
            }
            return Err(LeaseError::IdLive {
                owner_id,
                owner_generation: leader.owner_generation,
            });
        }
        let dead_ms = if m.has_bug(PlantedBug::EarlyTakeover) {
            1000
        } else {
            u64::from(space.timeouts.of_peer(delta.io_timeout).host_dead_secs()) * 1000
        };
        if env.now_ms().saturating_sub(wait_start_ms) > dead_ms {
            return Ok(true);
        }
        if nowait {
            return Err(LeaseError::OwnedRetry { owner_id });
        }
        env.sleep_ms(1000).await;
        let now_leader = read_leader(env, m, res, g).await?;
        if now_leader != *leader {
            return Ok(false);
        }
        if wait_start_ms == 0 {
            wait_start_ms = env.now_ms();
        }
    }
    Err(LeaseError::OwnedRetry { owner_id })
}

/// Acquires the lease exclusively, or for `Mode::Sh` takes it briefly to
/// add our shared mode block. `keep_mode` carries our SHARED mode block
/// through the ballot when converting SH to EX.
async fn acquire_inner<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    mode: Mode,
    opts: AcquireOpts,
    keep_mode: Option<ModeBlock>,
    wrote: &mut Option<PaxosDblock>,
) -> Result<(Held, Vec<u64>), LeaseError> {
    let host_id = m.host_id();
    let mut hint = m.space.geometry;
    'restart: for _ in 0..ACQUIRE_ATTEMPTS_MAX {
        let cur = read_area(env, m, res, hint).await?;
        hint = cur.geometry;
        let g = cur.geometry;
        let leader = cur.leader;
        if let Some(want) = opts.lver {
            if leader.lver != want {
                return Err(LeaseError::AcquireLver {
                    found: leader.lver,
                    wanted: want,
                });
            }
        }
        let free_for_us = leader.timestamp == 0
            || (leader.owner_id == host_id && leader.owner_generation <= m.generation);
        if !free_for_us && !wait_for_owner(env, m, res, g, &leader, opts.nowait).await? {
            continue 'restart;
        }
        let next_lver = leader.lver + 1;
        // We already gave this lver up (released it, or retracted after a
        // failed commit), yet the leader is still below it: our commit
        // never landed, or the leader went back under a late write. Winning
        // this instance again names us, but it is the instance we let go
        // (others may have moved past it): commit it so the leader catches
        // up, then start over at the next lver instead of claiming it.
        let released_here =
            cur.ours.lver == next_lver && cur.ours.is_released() && cur.ours.bal != 0;
        let max_hosts = if leader.max_hosts == 0 {
            g.max_hosts()
        } else {
            leader.max_hosts
        };
        let mut mbal = first_mbal(cur.max_mbal, max_hosts, host_id);
        // What we last wrote into our dblock in this acquire (None before
        // our first ballot): release must keep exactly these values.
        let mut last_written: Option<PaxosDblock> = None;
        for _ in 0..ACQUIRE_ATTEMPTS_MAX {
            if let Some(dblock) = last_written {
                let now = read_leader(env, m, res, g).await?;
                if now.lver == next_lver {
                    if now.owner_id == host_id
                        && now.owner_generation == m.generation
                        && released_here
                    {
                        // Committed for us by another host: give it back
                        // (our dblock RELEASED), then go on to the next lver.
                        let mut d = dblock;
                        d.flags |= DBLOCK_FL_RELEASED;
                        let _ = write_dblock(env, m, res, g, &d, keep_mode).await;
                        *wrote = Some(d);
                        continue 'restart;
                    }
                    if now.owner_id == host_id && now.owner_generation == m.generation {
                        // Another host committed our value for us. Shared
                        // holders must still be checked: look again.
                        let shared = match read_area(env, m, res, g).await {
                            Ok(a) => a.shared,
                            Err(_) => cur.shared.clone(),
                        };
                        return Ok((
                            Held {
                                res: res.clone(),
                                mode,
                                lver: next_lver,
                                leader: now,
                                dblock,
                                geometry: g,
                                generation: m.generation,
                            },
                            shared.into_iter().filter(|&h| h != host_id).collect(),
                        ));
                    }
                    return Err(LeaseError::Owned {
                        owner_id: now.owner_id,
                        lver: now.lver,
                    });
                }
                if now.lver > next_lver || now != leader {
                    continue 'restart;
                }
            }
            let prev = last_written.or(Some(cur.ours));
            let ballot = run_ballot(
                env,
                m,
                res,
                g,
                leader.num_hosts,
                next_lver,
                mbal,
                keep_mode,
                prev,
            )
            .await;
            let (inp, dblock, shared) = match ballot {
                Ok(BallotEnd::Chosen {
                    inp,
                    dblock,
                    shared,
                }) => (inp, dblock, shared),
                Ok(BallotEnd::Abort(_, written)) => {
                    last_written = Some(written);
                    *wrote = Some(written);
                    env.sleep_ms(env.random_u64() % 1000).await;
                    mbal += max_hosts;
                    continue;
                }
                Err((e, phase2)) => {
                    if let Some(d) = phase2 {
                        *wrote = Some(retract(env, m, res, g, d, keep_mode).await);
                    }
                    return Err(e);
                }
            };
            *wrote = Some(dblock);
            // Commit: the leader caches the decided value.
            let mut new = leader;
            new.lver = next_lver;
            new.owner_id = inp.inp;
            new.owner_generation = inp.inp2;
            new.timestamp = inp.inp3;
            new.write_id = host_id;
            new.write_generation = m.generation;
            new.write_timestamp = env.now_secs();
            let ours = inp.inp == host_id && inp.inp2 == m.generation;
            if mode == Mode::Sh && ours {
                new.flags |= LFL_SHORT_HOLD;
            } else {
                new.flags &= !LFL_SHORT_HOLD;
            }
            new.seal();
            let sector = new.to_sector(g.sector_usize()).unwrap_or_default();
            if let Err(e) = env
                .write(res.loc.disk, res.loc.offset, sector, m.io_ms())
                .await
            {
                *wrote = Some(retract(env, m, res, g, dblock, keep_mode).await);
                return Err(LeaseError::LeaderWrite(e));
            }
            if ours && released_here {
                // Give the caught-up instance back at once, as a release
                // would (dblock RELEASED, leader free), then take the next.
                let mut d = dblock;
                d.flags |= DBLOCK_FL_RELEASED;
                let _ = write_dblock(env, m, res, g, &d, keep_mode).await;
                *wrote = Some(d);
                let _ = write_leader_free(env, m, res, g, new).await;
                continue 'restart;
            }
            if !ours {
                // We committed another host's accepted value. If that host
                // has since released it (an acquire of its that failed and
                // retracted), the lease is free again: go round once more.
                if owner_released(env, m, res, g, &new).await.unwrap_or(false) {
                    continue 'restart;
                }
                return Err(LeaseError::Other { owner_id: inp.inp });
            }
            let held = Held {
                res: res.clone(),
                mode,
                lver: next_lver,
                leader: new,
                dblock,
                geometry: g,
                generation: m.generation,
            };
            return Ok((held, shared.into_iter().filter(|&h| h != host_id).collect()));
        }
        return Err(LeaseError::OwnedRetry {
            owner_id: leader.owner_id,
        });
    }
    Err(LeaseError::OwnedRetry { owner_id: 0 })
}

/// After an I/O error in phase 2 or at commit, our value may still be
/// chosen by another host: rewrite our phase-2 dblock with the RELEASED
/// flag, and free the leader if it names us, so the lease is not left held
/// in our name (acquirers treat an owner whose dblock is RELEASED as gone).
/// Unlike sanlock's `R_ERASE_ALL`, which zeroes the dblock, the accepted
/// value is kept: it may already be chosen, and erasing it would let
/// another ballot choose a second owner for the same lver. `keep_mode`
/// keeps our SHARED mode block when an SH to EX conversion failed: we still
/// hold SH. Returns what was written (or attempted).
async fn retract<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    g: Geometry,
    phase2: PaxosDblock,
    keep_mode: Option<ModeBlock>,
) -> PaxosDblock {
    let lver = phase2.lver;
    let mut d = phase2;
    d.flags |= DBLOCK_FL_RELEASED; // outside the checksum: it stays valid
    let _ = write_dblock(env, m, res, g, &d, keep_mode).await;
    if let Ok(l) = read_leader(env, m, res, g).await {
        if l.lver == lver
            && l.owner_id == m.host_id()
            && l.owner_generation == m.generation
            && l.write_id == m.host_id()
        {
            let _ = write_leader_free(env, m, res, g, l).await;
        }
    }
    d
}

async fn write_leader_free<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    g: Geometry,
    mut l: LeaderRecord,
) -> Result<(), LeaseError> {
    l.timestamp = 0;
    l.write_id = m.host_id();
    l.write_generation = m.generation;
    l.write_timestamp = env.now_secs();
    l.flags &= !LFL_SHORT_HOLD;
    l.seal();
    let sector = l.to_sector(g.sector_usize()).unwrap_or_default();
    env.write(res.loc.disk, res.loc.offset, sector, m.io_ms())
        .await
        .map_err(LeaseError::LeaderWrite)
}

/// Frees the leader we committed, if we are still its writer (never
/// overwrite a leader another host wrote).
async fn release_leader<E: Env>(env: &E, m: &Member<'_>, held: &Held) -> Result<(), LeaseError> {
    let l = read_leader(env, m, &held.res, held.geometry).await?;
    if l.write_id != m.host_id() {
        return Ok(()); // our RELEASED dblock flag is the release
    }
    if l.lver != held.lver {
        return Err(LeaseError::ReleaseLver {
            found: l.lver,
            ours: held.lver,
        });
    }
    if l.timestamp == 0 {
        return Err(LeaseError::ReleaseOwner("the leader is already free"));
    }
    if l.owner_id != m.host_id() || l.owner_generation != held.generation {
        return Err(LeaseError::ReleaseOwner("the leader names another owner"));
    }
    write_leader_free(env, m, &held.res, held.geometry, l).await
}

/// The live shared holders among `hosts`; dead ones have their sector
/// cleared (sanlock's `clear_dead_shared`).
async fn live_shared_holders<E: Env>(
    env: &E,
    m: &Member<'_>,
    held: &Held,
    hosts: &[u64],
) -> Result<Vec<u64>, LeaseError> {
    let g = held.geometry;
    let mut live = Vec::new();
    for &h in hosts {
        let Some(off) = g.dblock_offset(h) else {
            continue;
        };
        let s = env
            .read(
                held.res.loc.disk,
                held.res.loc.offset + off,
                g.sector_usize(),
                m.io_ms(),
            )
            .await
            .map_err(LeaseError::DblockRead)?;
        let Ok(mb) = ModeBlock::decode_from_sector(&s) else {
            continue;
        };
        drop(s); // not held across the write below
        if !mb.is_shared() {
            continue; // released since the ballot read it
        }
        let alive = m
            .hosts
            .lock()
            .map(|t| t.live(h, mb.generation, m.space.timeouts))
            .unwrap_or(true);
        if alive {
            live.push(h);
        } else {
            let zero = vec![0u8; g.sector_usize()];
            env.write(
                held.res.loc.disk,
                held.res.loc.offset + off,
                zero,
                m.io_ms(),
            )
            .await
            .map_err(LeaseError::DblockWrite)?;
        }
    }
    Ok(live)
}

/// Acquires a resource lease exclusively (`Mode::Ex`) or shared.
pub async fn acquire<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    mode: Mode,
    opts: AcquireOpts,
) -> Result<Held, LeaseError> {
    match mode {
        Mode::Ex => {
            let (held, shared) =
                acquire_inner(env, m, res, Mode::Ex, opts, None, &mut None).await?;
            if shared.is_empty() {
                return Ok(held);
            }
            let live = live_shared_holders(env, m, &held, &shared).await?;
            if live.is_empty() {
                return Ok(held);
            }
            release(env, m, &held).await?;
            Err(LeaseError::SharedHolders { hosts: live })
        }
        Mode::Sh => {
            for attempt in 0..=SH_RETRIES {
                match acquire_inner(env, m, res, Mode::Sh, opts, None, &mut None).await {
                    Ok((mut held, _)) => {
                        let mb = ModeBlock {
                            flags: MBLOCK_SHARED,
                            generation: m.generation,
                        };
                        let mut d = held.dblock;
                        d.flags |= DBLOCK_FL_RELEASED;
                        if let Err(e) = write_dblock(env, m, res, held.geometry, &d, Some(mb)).await
                        {
                            // Not shared after all: give the short hold back.
                            let _ = release_leader(env, m, &held).await;
                            return Err(e);
                        }
                        held.dblock = d;
                        release_leader(env, m, &held).await?;
                        return Ok(held);
                    }
                    Err(
                        e @ (LeaseError::IdLive { .. }
                        | LeaseError::Owned { .. }
                        | LeaseError::Other { .. }),
                    ) => {
                        // Retry only against a short (shared-acquire) hold.
                        let l = read_leader(env, m, res, m.space.geometry).await.ok();
                        if l.is_none_or(|l| l.flags & LFL_SHORT_HOLD == 0) {
                            return Err(e);
                        }
                        if attempt == SH_RETRIES {
                            return Err(LeaseError::ShRetry);
                        }
                        env.sleep_ms(env.random_u64() % 1000).await;
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(LeaseError::ShRetry)
        }
    }
}

/// Releases a held lease. EX: mark our dblock RELEASED (values kept), then
/// free the leader if we wrote it. SH: clear our mode block.
pub async fn release<E: Env>(env: &E, m: &Member<'_>, held: &Held) -> Result<(), LeaseError> {
    let mut d = held.dblock;
    d.flags |= DBLOCK_FL_RELEASED;
    match held.mode {
        Mode::Ex => {
            let _ = write_dblock(env, m, &held.res, held.geometry, &d, None).await;
            release_leader(env, m, held).await
        }
        Mode::Sh => write_dblock(env, m, &held.res, held.geometry, &d, None).await,
    }
}

/// Converts a held lease to `to`, updating `held`. On an error `held`
/// still describes what we hold: SH to EX fails with `SharedHolders` while
/// other live hosts hold it shared, and we then still hold it shared (our
/// SHARED mode block is kept through the ballot), with `held.dblock` being
/// what we last wrote, so that a later release never writes an older lver.
pub async fn convert<E: Env>(
    env: &E,
    m: &Member<'_>,
    held: &mut Held,
    to: Mode,
) -> Result<(), LeaseError> {
    let g = held.geometry;
    let mb = ModeBlock {
        flags: MBLOCK_SHARED,
        generation: m.generation,
    };
    match (held.mode, to) {
        (Mode::Ex, Mode::Ex) | (Mode::Sh, Mode::Sh) => Ok(()),
        (Mode::Ex, Mode::Sh) => {
            let mut d = held.dblock;
            d.flags |= DBLOCK_FL_RELEASED;
            write_dblock(env, m, &held.res, g, &d, Some(mb)).await?;
            let ex = held.clone();
            held.mode = Mode::Sh;
            held.dblock = d;
            release_leader(env, m, &ex).await
        }
        (Mode::Sh, Mode::Ex) => {
            let mut wrote = None;
            let acquired = acquire_inner(
                env,
                m,
                &held.res,
                Mode::Ex,
                AcquireOpts::default(),
                Some(mb),
                &mut wrote,
            )
            .await;
            let (ex, shared) = match acquired {
                Ok(v) => v,
                Err(e) => {
                    if let Some(w) = wrote {
                        held.dblock = w;
                    }
                    return Err(e);
                }
            };
            let live = match live_shared_holders(env, m, &ex, &shared).await {
                Ok(live) => live,
                Err(e) => {
                    back_to_shared(env, m, held, &ex, mb).await;
                    return Err(e);
                }
            };
            if !live.is_empty() {
                back_to_shared(env, m, held, &ex, mb).await;
                return Err(LeaseError::SharedHolders { hosts: live });
            }
            *held = ex;
            write_dblock(env, m, &held.res, g, &held.dblock, None).await
        }
    }
}

/// After a failed SH to EX conversion that committed the leader: give the
/// leader back and stay shared.
async fn back_to_shared<E: Env>(
    env: &E,
    m: &Member<'_>,
    held: &mut Held,
    ex: &Held,
    mb: ModeBlock,
) {
    let mut d = ex.dblock;
    d.flags |= DBLOCK_FL_RELEASED;
    let _ = write_dblock(env, m, &held.res, held.geometry, &d, Some(mb)).await;
    held.dblock = d;
    let _ = release_leader(env, m, ex).await;
}

/// What a request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// The lease is free: nothing was written.
    Free,
    /// The request was recorded; set this owner's bit in our bitmap.
    Recorded {
        /// The current owner, to signal.
        owner_id: u64,
    },
}

/// Asks the owner of a lease to give it up (`sanlock_request`): records
/// `{lver, force_mode}` in the request record. The caller must then set the
/// owner's bit in our delta-lease bitmap so its next renewal notices.
pub async fn request<E: Env>(
    env: &E,
    m: &Member<'_>,
    res: &ResourceSpec,
    lver: u64,
    force_mode: u32,
) -> Result<RequestOutcome, LeaseError> {
    let cur = read_area(env, m, res, m.space.geometry).await?;
    let g = cur.geometry;
    if cur.leader.timestamp == 0 {
        return Ok(RequestOutcome::Free);
    }
    if cur.leader.lver >= lver {
        return Err(LeaseError::RequestOld {
            requested: lver,
            current: cur.leader.lver,
        });
    }
    let b = env
        .read(
            res.loc.disk,
            res.loc.offset + g.request_offset(),
            g.sector_usize(),
            m.io_ms(),
        )
        .await
        .map_err(LeaseError::LeaderRead)?;
    let rr = RequestRecord::decode(&b).map_err(|_| LeaseError::RequestMagic)?;
    drop(b); // not held across the write below
    if rr.magic != REQ_DISK_MAGIC {
        return Err(LeaseError::RequestMagic);
    }
    if rr.version & 0xffff_0000 != REQ_DISK_VERSION & 0xffff_0000 {
        return Err(LeaseError::RequestVersion(rr.version));
    }
    if rr.lver > lver {
        return Err(LeaseError::RequestLver(rr.lver));
    }
    let mut sector = vec![0u8; g.sector_usize()];
    let _ = RequestRecord {
        lver,
        force_mode,
        ..RequestRecord::new_init()
    }
    .encode(&mut sector);
    env.write(
        res.loc.disk,
        res.loc.offset + g.request_offset(),
        sector,
        m.io_ms(),
    )
    .await
    .map_err(LeaseError::LeaderWrite)?;
    Ok(RequestOutcome::Recorded {
        owner_id: cur.leader.owner_id,
    })
}

/// On the owner: whether a request asks us to give up `held`; returns the
/// force mode (1 force, 2 graceful) when a newer lver was requested.
pub async fn pending_request<E: Env>(
    env: &E,
    m: &Member<'_>,
    held: &Held,
) -> Result<Option<u32>, LeaseError> {
    let g = held.geometry;
    let b = env
        .read(
            held.res.loc.disk,
            held.res.loc.offset + g.request_offset(),
            g.sector_usize(),
            m.io_ms(),
        )
        .await
        .map_err(LeaseError::LeaderRead)?;
    let rr = RequestRecord::decode(&b).map_err(|_| LeaseError::RequestMagic)?;
    Ok(
        (rr.magic == REQ_DISK_MAGIC && rr.force_mode != 0 && rr.lver > held.lver)
            .then_some(rr.force_mode),
    )
}
