//! Paxos (resource) leases (spec sanlock-algorithms.md section 3 and the
//! historical fixes of section 7): acquire, release, owner liveness,
//! interleaved ballots, I/O failures, shared leases, conversion, requests.
//! Several simulated hosts share one in-memory environment; hooks run one
//! host's steps between another's.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use paxlock_core::paxos::{self, AcquireOpts, Held, Mode, RequestOutcome, ResourceSpec};
use paxlock_core::{block_on, IoFault, LeaseError};
use paxlock_format::dblock::{DBLOCK_FL_RELEASED, MBLOCK_SHARED};
use paxlock_format::leader::{LFL_SHORT_HOLD, PAXOS_DISK_VERSION};
use paxlock_format::request::{REQ_DISK_MAGIC, REQ_DISK_VERSION};
use paxlock_format::{area, LeaderRecord, ModeBlock, PaxosDblock, RequestRecord};

/// A lockspace, the resource, and hosts 1 ("host-a") and 2 ("host-b")
/// joined; the I/O log is cleared.
fn two_hosts() -> (MemEnv, Rc<Host>, Rc<Host>) {
    let env = setup();
    let a = Host::join(&env, 1, "host-a");
    let b = Host::join(&env, 2, "host-b");
    env.reset_log();
    (env, a, b)
}

fn code<T: std::fmt::Debug>(r: Result<T, LeaseError>) -> i32 {
    r.unwrap_err().code()
}

/// Runs `f` before the n-th (1-based) I/O of `kind` on the resource disk
/// by the code under test.
fn before_nth_res_io(
    kind: IoKind,
    n: usize,
    f: impl FnOnce(&MemEnv) + 'static,
) -> impl FnMut(&MemEnv, IoEvent) + 'static {
    let mut seen = 0;
    let mut f = Some(f);
    move |env: &MemEnv, ev: IoEvent| {
        if ev.kind == kind && ev.disk == RES_DISK {
            seen += 1;
            if seen == n {
                if let Some(f) = f.take() {
                    f(env);
                }
            }
        }
    }
}

/// The sectors the code under test wrote to host_id's dblock sector.
fn dblock_writes(env: &MemEnv, host_id: u64) -> Vec<(PaxosDblock, ModeBlock)> {
    env.ios(IoKind::Write, RES_DISK)
        .into_iter()
        .filter(|w| w.offset == (host_id + 1) * 512)
        .map(|w| {
            (
                PaxosDblock::decode(&w.data).unwrap(),
                ModeBlock::decode_from_sector(&w.data).unwrap(),
            )
        })
        .collect()
}

/// The leaders the code under test wrote.
fn leader_writes(env: &MemEnv) -> Vec<LeaderRecord> {
    env.ios(IoKind::Write, RES_DISK)
        .into_iter()
        .filter(|w| w.offset == 0)
        .map(|w| LeaderRecord::decode(&w.data).unwrap())
        .collect()
}

fn shared(generation: u64) -> ModeBlock {
    ModeBlock {
        flags: MBLOCK_SHARED,
        generation,
    }
}

// ---------------------------------------------------------------------------
// acquire and release of a free lease

#[test]
fn paxos_acquire_of_free_lease_commits_lver_1_with_us_as_owner() {
    let (env, a, _b) = two_hosts();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    let now = env.now_secs();

    let l = leader(&env);
    assert!(l.checksum_ok());
    assert_eq!(l.lver, 1);
    assert_eq!((l.owner_id, l.owner_generation), (1, a.generation()));
    assert_eq!(l.timestamp, now);
    assert_eq!(
        (l.write_id, l.write_generation, l.write_timestamp),
        (1, a.generation(), now)
    );
    assert_eq!(l.flags & LFL_SHORT_HOLD, 0);

    let d = dblock(&env, 1);
    assert!(d.checksum_ok());
    assert_eq!((d.mbal, d.bal, d.lver), (1, 1, 1), "mbal = host_id");
    assert_eq!((d.inp, d.inp2, d.inp3), (1, a.generation(), l.timestamp));
    assert_eq!(d.flags, 0);
    assert_eq!(mode_block(&env, 1), ModeBlock::default());

    assert_eq!(held.mode, Mode::Ex);
    assert_eq!(held.lver, 1);
    assert_eq!(held.leader, l);
    assert_eq!(held.dblock, d);
    assert_eq!(held.generation, a.generation());
    // timeouts.h: 3 reads of the area and 3 one-sector writes; no owner check
    assert_eq!((env.reads(RES_DISK), env.writes(RES_DISK)), (3, 3));
    assert!(env
        .ios(IoKind::Write, RES_DISK)
        .iter()
        .all(|w| w.len == 512 && w.timeout_ms == 10_000));
    assert_eq!(env.reads(LS_DISK) + env.writes(LS_DISK), 0);
    assert!(env.sleeps().is_empty());
    // phase 1 cleared bal/inp, phase 2 accepted our value
    let w = dblock_writes(&env, 1);
    assert_eq!(w.len(), 2);
    assert_eq!(
        (w[0].0.mbal, w[0].0.bal, w[0].0.inp, w[0].0.lver),
        (1, 0, 0, 1)
    );
    assert_eq!(w[1].0, d);
}

#[test]
fn paxos_release_marks_dblock_released_keeps_values_and_frees_leader() {
    let (env, a, _b) = two_hosts();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    env.advance_ms(5_000);
    env.reset_log();
    a.release(&env, &held).unwrap();

    let d = dblock(&env, 1);
    let mut expected = held.dblock;
    expected.flags |= DBLOCK_FL_RELEASED;
    assert_eq!(d, expected, "values kept, RELEASED set");
    assert!(d.checksum_ok(), "flags are outside the checksum");
    assert_eq!(mode_block(&env, 1), ModeBlock::default());

    let l = leader(&env);
    assert!(l.checksum_ok());
    assert_eq!(l.timestamp, 0);
    assert_eq!(l.lver, 1, "lver is not bumped on release");
    assert_eq!((l.owner_id, l.owner_generation), (1, a.generation()));
    assert_eq!(
        (l.write_id, l.write_generation, l.write_timestamp),
        (1, a.generation(), env.now_secs())
    );
    assert_eq!(l.flags & LFL_SHORT_HOLD, 0);
    assert_eq!(env.writes(RES_DISK), 2);
    // dblock first, then the leader
    assert_eq!(env.ios(IoKind::Write, RES_DISK)[0].offset, 2 * 512);
    assert_eq!(env.ios(IoKind::Write, RES_DISK)[1].offset, 0);
}

#[test]
fn paxos_reacquire_after_release_uses_lver_2_and_mbal_2001() {
    let (env, a, _b) = two_hosts();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    a.release(&env, &held).unwrap();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    assert_eq!(held.lver, 2);
    let d = dblock(&env, 1);
    assert_eq!((d.mbal, d.bal, d.lver, d.flags), (2001, 2001, 2, 0));
    assert_single_owner(&env, 1, a.generation(), 2);
    a.release(&env, &held).unwrap();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    assert_eq!(held.lver, 3);
    assert_eq!(dblock(&env, 1).mbal, 4001);
}

#[test]
fn paxos_acquire_by_another_host_after_release_uses_the_next_mbal_multiple() {
    let (env, a, b) = two_hosts();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    a.release(&env, &held).unwrap();
    env.reset_log();
    let held = b.acquire(&env, Mode::Ex).unwrap();
    assert!(
        env.sleeps().is_empty(),
        "a free leader needs no owner check"
    );
    assert_eq!(held.lver, 2);
    assert_eq!(dblock(&env, 2).mbal, 2002);
    assert_single_owner(&env, 2, b.generation(), 2);
}

#[test]
fn paxos_acquire_of_a_lease_we_already_own_runs_a_ballot_at_once() {
    let (env, a, _b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    env.reset_log();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    assert_eq!(held.lver, 2);
    assert_eq!(env.reads(LS_DISK), 0, "no owner check");
    assert!(env.sleeps().is_empty());
}

// ---------------------------------------------------------------------------
// the owner check

#[test]
fn paxos_acquire_while_a_live_host_holds_it_fails_idlive_and_disturbs_nothing() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    let area_before = res_area(&env);
    let a_slot = delta_slot(&env, 1);
    env.reset_log();
    // host-a renews every 20 s
    let last = std::cell::Cell::new(env.now_ms());
    env.set_sleep_hook(move |env: &MemEnv| {
        if env.now_ms() - last.get() >= 20_000 {
            bump_delta_timestamp(env, 1);
            last.set(env.now_ms());
        }
    });
    let t0 = env.now_ms();
    let e = b.acquire(&env, Mode::Ex).unwrap_err();
    assert_eq!(
        e,
        LeaseError::IdLive {
            owner_id: 1,
            owner_generation: a.generation()
        }
    );
    assert_eq!(e.code(), -243);
    assert!(env.now_ms() - t0 <= 21_000, "within one owner renewal");
    assert_eq!(
        res_area(&env),
        area_before,
        "nothing of the owner disturbed"
    );
    assert_eq!(env.writes(RES_DISK) + env.writes(LS_DISK), 0);
    let now_slot = delta_slot(&env, 1);
    assert_eq!(now_slot.owner_generation, a_slot.owner_generation);
    assert_eq!(now_slot.resource_name, a_slot.resource_name);
}

#[test]
fn paxos_acquire_fails_idlive_at_once_when_our_renewals_just_saw_the_owner_change() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    b.observe(&env);
    env.advance_ms(20_000);
    a.renew(&env).unwrap();
    env.advance_ms(500);
    b.observe(&env);
    env.reset_log();
    let e = b.acquire(&env, Mode::Ex).unwrap_err();
    assert_eq!(e.code(), -243);
    assert!(env.sleeps().is_empty(), "no need to wait for a change");
    assert_eq!(env.writes(RES_DISK), 0);
}

#[test]
fn paxos_acquire_ballots_at_once_when_the_owners_delta_lease_is_free() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    a.leave(&env);
    env.reset_log();
    let held = b.acquire(&env, Mode::Ex).unwrap();
    assert!(env.sleeps().is_empty());
    assert_eq!(held.lver, 2);
    assert_single_owner(&env, 2, b.generation(), 2);
}

#[test]
fn paxos_acquire_ballots_at_once_when_the_owner_has_a_newer_generation() {
    let (env, a, b) = two_hosts();
    let old_gen = a.generation();
    a.acquire(&env, Mode::Ex).unwrap();
    a.rejoin(&env);
    assert_eq!(a.generation(), old_gen + 1);
    env.set_sleep_hook(keep_alive(1));
    env.reset_log();
    let held = b.acquire(&env, Mode::Ex).unwrap();
    assert!(env.sleeps().is_empty());
    assert_eq!(held.lver, 2);
    assert_single_owner(&env, 2, b.generation(), 2);
}

#[test]
fn paxos_acquire_takes_a_lease_left_by_our_previous_generation_at_once() {
    let (env, a, _b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    a.rejoin(&env);
    env.reset_log();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    assert_eq!(env.reads(LS_DISK), 0, "no owner check");
    assert!(env.sleeps().is_empty());
    assert_eq!(held.lver, 2);
    assert_single_owner(&env, 1, a.generation(), 2);
}

#[test]
fn paxos_acquire_of_a_dead_owner_succeeds_only_after_host_dead_seconds() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    env.reset_log();
    // host-a never renews again
    let t0 = env.now_ms();
    let held = b.acquire(&env, Mode::Ex).unwrap();
    let waited = env.now_ms() - t0;
    assert!(
        (HOST_DEAD_MS..150_000).contains(&waited),
        "waited {waited} ms"
    );
    assert!(env
        .ios(IoKind::Write, RES_DISK)
        .iter()
        .all(|w| w.at_ms > t0 + HOST_DEAD_MS));
    assert!(env.sleeps().iter().all(|&s| s <= 1_000), "1 s steps");
    assert_eq!(held.lver, 2);
    assert_single_owner(&env, 2, b.generation(), 2);
}

#[test]
fn paxos_acquire_of_a_dead_owner_waits_host_dead_of_the_owners_io_timeout() {
    let env = setup();
    let a = Host::join_io(&env, 1, "host-a", 20);
    let b = Host::join(&env, 2, "host-b");
    a.acquire(&env, Mode::Ex).unwrap();
    let t0 = env.now_ms();
    b.acquire(&env, Mode::Ex).unwrap();
    let waited = env.now_ms() - t0;
    assert!((220_000..230_000).contains(&waited), "waited {waited} ms");
}

#[test]
fn paxos_acquire_counts_the_dead_wait_from_when_our_renewals_last_saw_the_owner_change() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    b.observe(&env);
    env.advance_ms(20_000);
    a.renew(&env).unwrap();
    b.observe(&env); // change seen here
    let seen = env.now_ms();
    env.advance_ms(20_000);
    b.observe(&env); // no change
    env.advance_ms(60_000);
    let t0 = env.now_ms();
    b.acquire(&env, Mode::Ex).unwrap();
    assert!(env.now_ms() - seen > HOST_DEAD_MS);
    let waited = env.now_ms() - t0;
    assert!((60_000..70_000).contains(&waited), "waited {waited} ms");
}

#[test]
fn paxos_acquire_restarts_when_the_leader_changes_while_waiting() {
    let (env, a, b) = two_hosts();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    let a2 = a.clone();
    let mut n = 0;
    env.set_sleep_hook(move |env: &MemEnv| {
        n += 1;
        if n == 5 {
            a2.release(env, &held).unwrap();
        }
    });
    let t0 = env.now_ms();
    let held_b = b.acquire(&env, Mode::Ex).unwrap();
    assert!(env.now_ms() - t0 < 10_000);
    assert_eq!(held_b.lver, 2);
    assert_single_owner(&env, 2, b.generation(), 2);
}

#[test]
fn paxos_acquire_with_another_lver_fails_acquire_lver() {
    let (env, a, b) = two_hosts();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    a.release(&env, &held).unwrap();
    env.reset_log();
    let opts = AcquireOpts {
        lver: Some(5),
        nowait: false,
    };
    let e = b.acquire_opts(&env, Mode::Ex, opts).unwrap_err();
    assert_eq!(
        e,
        LeaseError::AcquireLver {
            found: 1,
            wanted: 5
        }
    );
    assert_eq!(e.code(), -240);
    assert_eq!(env.writes(RES_DISK), 0);
    let opts = AcquireOpts {
        lver: Some(1),
        nowait: false,
    };
    assert_eq!(b.acquire_opts(&env, Mode::Ex, opts).unwrap().lver, 2);
}

#[test]
fn paxos_acquire_nowait_fails_owned_retry_instead_of_waiting() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    env.reset_log();
    let opts = AcquireOpts {
        lver: None,
        nowait: true,
    };
    let e = b.acquire_opts(&env, Mode::Ex, opts).unwrap_err();
    assert_eq!(e, LeaseError::OwnedRetry { owner_id: 1 });
    assert_eq!(e.code(), -247);
    assert!(env.sleeps().is_empty());
    assert_eq!(env.writes(RES_DISK), 0);
}

// ---------------------------------------------------------------------------
// interleaved ballots

#[test]
fn paxos_ballot_that_sees_a_larger_mbal_retries_with_mbal_plus_max_hosts() {
    let (env, a, _b) = two_hosts();
    // host 2 runs phase 1 only (mbal 2002), between our phase-1 write and read
    env.set_io_hook(before_nth_res_io(IoKind::Read, 2, |env: &MemEnv| {
        put_dblock(
            env,
            2,
            PaxosDblock {
                mbal: 2002,
                lver: 1,
                ..Default::default()
            },
            None,
        )
    }));
    let held = a.acquire(&env, Mode::Ex).unwrap();
    let mbals: Vec<u64> = dblock_writes(&env, 1)
        .iter()
        .filter(|(d, _)| d.bal == 0)
        .map(|(d, _)| d.mbal)
        .collect();
    assert_eq!(mbals, vec![1, 2001, 4001], "phase-1 ballots");
    assert_eq!(env.sleeps().len(), 2, "a backoff per abort");
    assert!(env.sleeps().iter().all(|&s| s < 1_000));
    assert_eq!(held.lver, 1);
    assert_eq!((held.dblock.mbal, held.dblock.bal), (4001, 4001));
    assert_single_owner(&env, 1, a.generation(), 1);
}

#[test]
fn paxos_ballot_aborted_by_a_larger_lver_restarts_from_the_new_leader() {
    let (env, a, _b) = two_hosts();
    // between our phase-1 write and read, host 2 acquires lver 1 and 2 and
    // releases: its dblock is at lver 2, the leader free at lver 2
    let g2 = 7;
    env.set_io_hook(before_nth_res_io(IoKind::Read, 2, move |env: &MemEnv| {
        put_dblock(
            env,
            2,
            PaxosDblock {
                mbal: 2002,
                bal: 2002,
                inp: 2,
                inp2: g2,
                inp3: 5,
                lver: 2,
                flags: DBLOCK_FL_RELEASED,
                ..Default::default()
            },
            None,
        );
        edit_leader(env, |l| {
            l.lver = 2;
            l.timestamp = 0;
            l.owner_id = 2;
            l.owner_generation = g2;
            l.write_id = 2;
        });
    }));
    let held = a.acquire(&env, Mode::Ex).unwrap();
    // restarted from the new leader: lver 3, and lver 1 never committed
    assert_eq!(held.lver, 3);
    assert_single_owner(&env, 1, a.generation(), 3);
    let lvers: Vec<u64> = dblock_writes(&env, 1).iter().map(|(d, _)| d.lver).collect();
    assert_eq!(lvers, vec![1, 3, 3]);
    assert!(leader_writes(&env).iter().all(|l| l.lver == 3));
    assert_eq!(env.sleeps().len(), 1, "one backoff after the abort");
}

#[test]
fn paxos_two_interleaved_ballots_commit_exactly_one_owner() {
    let (env, a, b) = two_hosts();
    let b_out: Rc<RefCell<Option<Result<Held, LeaseError>>>> = Rc::default();
    let (b2, out) = (b.clone(), b_out.clone());
    // host-b's whole acquire runs between host-a's phase-1 write and read
    env.set_io_hook(before_nth_res_io(IoKind::Read, 2, move |env: &MemEnv| {
        *out.borrow_mut() = Some(b2.acquire(env, Mode::Ex));
    }));
    let e = a.acquire(&env, Mode::Ex).unwrap_err();
    let held_b = b_out.borrow_mut().take().unwrap().unwrap();
    assert_eq!(held_b.lver, 1);
    assert_eq!(dblock(&env, 2).mbal, 2002, "host-b saw host-a's mbal 1");
    assert_eq!(
        e,
        LeaseError::Owned {
            owner_id: 2,
            lver: 1
        }
    );
    assert_eq!(e.code(), -244);
    assert_single_owner(&env, 2, b.generation(), 1);
}

/// Both hosts run the ballot for lver 1; host-b starts after host-a's
/// phase 2, adopts host-a's accepted value and commits host-a (-245);
/// host-a's phase-2 read sees host-b's larger mbal, and its retry finds
/// itself committed.
fn ballot_committed_by_another_host(env: &MemEnv, a: &Host, b: &Rc<Host>) -> Held {
    let b_out: Rc<RefCell<Option<Result<Held, LeaseError>>>> = Rc::default();
    let (b2, out) = (b.clone(), b_out.clone());
    env.set_io_hook(before_nth_res_io(IoKind::Read, 3, move |env: &MemEnv| {
        *out.borrow_mut() = Some(b2.acquire(env, Mode::Ex));
    }));
    let held = a.acquire(env, Mode::Ex).unwrap();
    env.clear_hooks();
    let e = b_out.borrow_mut().take().unwrap().unwrap_err();
    assert_eq!(e, LeaseError::Other { owner_id: 1 });
    assert_eq!(e.code(), -245);
    held
}

#[test]
fn paxos_ballot_adopts_a_value_already_accepted_by_another_host() {
    let (env, a, b) = two_hosts();
    let held = ballot_committed_by_another_host(&env, &a, &b);
    assert_eq!(held.lver, 1);
    let l = leader(&env);
    assert_eq!(held.leader, l);
    assert_eq!(l.write_id, 2, "host-b wrote the leader");
    assert_single_owner(&env, 1, a.generation(), 1);
    let d2 = dblock(&env, 2);
    assert_eq!((d2.inp, d2.inp2, d2.bal), (1, a.generation(), 2002));
}

#[test]
fn paxos_acquire_committed_by_another_host_returns_the_dblock_we_last_wrote() {
    let (env, a, b) = two_hosts();
    let held = ballot_committed_by_another_host(&env, &a, &b);
    let on_disk = dblock(&env, 1);
    assert_eq!((on_disk.mbal, on_disk.bal, on_disk.inp), (1, 1, 1));
    // spec 7.3: keep the exact dblock you last wrote
    assert_eq!(held.dblock, on_disk);
}

#[test]
fn paxos_release_never_writes_a_leader_another_host_wrote() {
    let (env, a, b) = two_hosts();
    let held = ballot_committed_by_another_host(&env, &a, &b);
    let before = leader_sector(&env);
    env.reset_log();
    a.release(&env, &held).unwrap();
    assert_eq!(leader_sector(&env), before, "the leader is left alone");
    assert_eq!(env.writes(RES_DISK), 1, "only our dblock");
    assert!(dblock(&env, 1).is_released());
}

#[test]
fn paxos_release_of_a_lease_another_host_committed_keeps_our_dblock_values() {
    let (env, a, b) = two_hosts();
    let held = ballot_committed_by_another_host(&env, &a, &b);
    let mut expected = dblock(&env, 1);
    a.release(&env, &held).unwrap();
    // spec 3.5 step 2 and 7.2: RELEASED set, values never zeroed
    expected.flags |= DBLOCK_FL_RELEASED;
    assert_eq!(dblock(&env, 1), expected);
}

#[test]
fn paxos_acquire_of_a_lease_committed_for_a_live_owner_that_released_runs_a_ballot() {
    let (env, a, b) = two_hosts();
    let held = ballot_committed_by_another_host(&env, &a, &b);
    a.release(&env, &held).unwrap();
    let c = Host::join(&env, 3, "host-c");
    env.set_sleep_hook(keep_alive(1));
    let t0 = env.now_ms();
    let held_c = c.acquire(&env, Mode::Ex).unwrap();
    assert!(env.now_ms() - t0 < 20_000, "no host_dead wait");
    assert_eq!(held_c.lver, 2);
    assert_single_owner(&env, 3, c.generation(), 2);
}

#[test]
fn paxos_acquire_of_a_lease_committed_for_a_live_owner_that_still_holds_it_fails_idlive() {
    let (env, a, b) = two_hosts();
    ballot_committed_by_another_host(&env, &a, &b);
    let c = Host::join(&env, 3, "host-c");
    env.set_sleep_hook(keep_alive(1));
    env.reset_log();
    let e = c.acquire(&env, Mode::Ex).unwrap_err();
    assert_eq!(e.code(), -243);
    assert_eq!(env.writes(RES_DISK), 0);
}

// ---------------------------------------------------------------------------
// I/O failures inside acquire

#[test]
fn paxos_acquire_after_a_phase_2_write_failure_retracts_so_others_need_not_wait() {
    for (fault, code_expected) in [
        (Fault::Io(IoFault::Failed(-5)), -211),
        (Fault::Io(IoFault::Timeout), -202),
        (Fault::TimeoutButLands, -202),
    ] {
        let (env, a, b) = two_hosts();
        env.fail_write(RES_DISK, 1, fault);
        let e = a.acquire(&env, Mode::Ex).unwrap_err();
        assert_eq!(e.code(), code_expected, "{fault:?}: {e}");
        assert!(env.faults_all_fired());
        let d = dblock(&env, 1);
        assert!(d.is_released(), "{fault:?}: our dblock is RELEASED");
        assert!(d.checksum_ok());
        assert_eq!(d.lver, 1);
        assert_eq!(leader(&env).timestamp, 0);
        // host-b acquires without waiting, though host-a is alive
        env.set_sleep_hook(keep_alive(1));
        env.reset_log();
        // host-a's accepted value is kept (it may have been chosen), so
        // host-b's ballot at lver 1 commits host-a, sees host-a's dblock
        // RELEASED, and takes lver 2 at once.
        let held = b.acquire(&env, Mode::Ex).unwrap();
        assert!(env.sleeps().is_empty(), "{fault:?}");
        assert_eq!(held.lver, 2);
        assert_single_owner(&env, 2, b.generation(), 2);
    }
}

#[test]
fn paxos_acquire_after_a_phase_2_read_failure_retracts() {
    let (env, a, b) = two_hosts();
    env.fail_read(RES_DISK, 2, IoFault::Failed(-5));
    let e = a.acquire(&env, Mode::Ex).unwrap_err();
    assert_eq!(e.code(), -210);
    assert!(dblock(&env, 1).is_released());
    env.reset_log();
    b.acquire(&env, Mode::Ex).unwrap();
    assert!(env.sleeps().is_empty());
}

#[test]
fn paxos_acquire_failing_before_phase_2_writes_nothing_more() {
    // phase-1 write fails
    let (env, a, _b) = two_hosts();
    env.fail_write(RES_DISK, 0, Fault::Io(IoFault::Failed(-5)));
    assert_eq!(code(a.acquire(&env, Mode::Ex)), -211);
    assert_eq!(env.writes(RES_DISK), 1, "only the failed write");
    assert_eq!(dblock(&env, 1), PaxosDblock::default());
    // phase-1 read fails
    let (env, a, _b) = two_hosts();
    env.fail_read(RES_DISK, 1, IoFault::Failed(-5));
    assert_eq!(code(a.acquire(&env, Mode::Ex)), -210);
    assert_eq!(env.writes(RES_DISK), 1, "the phase-1 write only");
    assert!(!dblock(&env, 1).is_released());
    // the first read fails
    let (env, a, _b) = two_hosts();
    env.fail_read(RES_DISK, 0, IoFault::Timeout);
    assert_eq!(code(a.acquire(&env, Mode::Ex)), -202);
    assert_eq!(env.writes(RES_DISK), 0);
}

#[test]
fn paxos_acquire_commit_write_failure_retracts_and_leaves_the_lease_free() {
    let (env, a, b) = two_hosts();
    env.fail_write(RES_DISK, 2, Fault::Io(IoFault::Failed(-5)));
    let e = a.acquire(&env, Mode::Ex).unwrap_err();
    assert_eq!(e.code(), -221);
    assert!(dblock(&env, 1).is_released());
    assert_eq!(leader(&env).lver, 0);
    env.set_sleep_hook(keep_alive(1));
    env.reset_log();
    // lver 1 is committed for host-a (its accepted value is kept), which
    // released it: host-b takes lver 2 without waiting.
    assert_eq!(b.acquire(&env, Mode::Ex).unwrap().lver, 2);
    assert!(env.sleeps().is_empty());
}

#[test]
fn paxos_commit_write_timeout_that_landed_is_retracted_by_freeing_the_leader() {
    let (env, a, b) = two_hosts();
    env.fail_write(RES_DISK, 2, Fault::TimeoutButLands);
    let e = a.acquire(&env, Mode::Ex).unwrap_err();
    assert_eq!(e.code(), -202);
    let l = leader(&env);
    assert_eq!((l.lver, l.timestamp, l.owner_id), (1, 0, 1), "freed");
    assert!(dblock(&env, 1).is_released());
    env.set_sleep_hook(keep_alive(1));
    env.reset_log();
    assert_eq!(b.acquire(&env, Mode::Ex).unwrap().lver, 2);
    assert!(env.sleeps().is_empty());
}

// ---------------------------------------------------------------------------
// shared leases

#[test]
fn paxos_sh_acquire_leaves_a_shared_mode_block_a_released_dblock_and_a_free_leader() {
    let (env, a, _b) = two_hosts();
    let held = a.acquire(&env, Mode::Sh).unwrap();
    assert_eq!(held.mode, Mode::Sh);
    assert_eq!(held.lver, 1);
    assert_eq!(mode_block(&env, 1), shared(a.generation()));
    let d = dblock(&env, 1);
    assert!(d.is_released());
    assert_eq!(
        (d.mbal, d.bal, d.inp, d.inp2, d.lver),
        (1, 1, 1, a.generation(), 1)
    );
    assert_eq!(held.dblock, d);
    let l = leader(&env);
    assert_eq!((l.timestamp, l.lver), (0, 1));
    assert_eq!(l.flags & LFL_SHORT_HOLD, 0);
    // committed with SHORT_HOLD, then freed
    let lw = leader_writes(&env);
    assert_eq!(lw.len(), 2);
    assert_ne!(lw[0].flags & LFL_SHORT_HOLD, 0);
    assert_ne!(lw[0].timestamp, 0);
    assert_eq!(lw[1].timestamp, 0);
}

#[test]
fn paxos_two_sh_holders_each_keep_their_mode_block() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Sh).unwrap();
    env.reset_log();
    let held_b = b.acquire(&env, Mode::Sh).unwrap();
    assert!(env.sleeps().is_empty());
    assert_eq!(held_b.lver, 2);
    assert_eq!(mode_block(&env, 1), shared(a.generation()));
    assert_eq!(mode_block(&env, 2), shared(b.generation()));
    assert_eq!(leader(&env).timestamp, 0);
}

#[test]
fn paxos_sh_release_clears_only_our_mode_block_and_leaves_the_leader_alone() {
    let (env, a, b) = two_hosts();
    let held_a = a.acquire(&env, Mode::Sh).unwrap();
    b.acquire(&env, Mode::Sh).unwrap();
    let before = leader_sector(&env);
    env.reset_log();
    a.release(&env, &held_a).unwrap();
    assert_eq!(mode_block(&env, 1), ModeBlock::default());
    assert!(dblock(&env, 1).is_released());
    assert_eq!(dblock(&env, 1).lver, 1, "values kept");
    assert_eq!(mode_block(&env, 2), shared(b.generation()));
    assert_eq!(leader_sector(&env), before);
    assert_eq!(env.writes(RES_DISK), 1);
}

#[test]
fn paxos_ex_acquire_with_a_live_sh_holder_fails_eagain_and_frees_the_leader() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Sh).unwrap();
    let a_sector = dblock_sector(&env, 1);
    let e = b.acquire(&env, Mode::Ex).unwrap_err();
    assert_eq!(e, LeaseError::SharedHolders { hosts: vec![1] });
    assert_eq!(e.code(), -11);
    let l = leader(&env);
    assert_eq!((l.timestamp, l.lver), (0, 2), "free again");
    assert_eq!(dblock_sector(&env, 1), a_sector, "holder intact");
    assert!(dblock(&env, 2).is_released());
    // and again
    assert_eq!(code(b.acquire(&env, Mode::Ex)), -11);
    assert_eq!(mode_block(&env, 1), shared(a.generation()));
}

#[test]
fn paxos_ex_acquire_clears_the_sector_of_a_dead_sh_holder() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Sh).unwrap();
    // host-b's renewals see host-a stop
    b.observe(&env);
    env.advance_ms(HOST_DEAD_MS + 1_000);
    b.observe(&env);
    let held = b.acquire(&env, Mode::Ex).unwrap();
    assert_eq!(held.lver, 2);
    assert!(dblock_sector(&env, 1).iter().all(|&x| x == 0), "zeroed");
    assert_single_owner(&env, 2, b.generation(), 2);
}

#[test]
fn paxos_ex_acquire_clears_an_sh_holder_whose_incarnation_is_gone() {
    // its host_id re-acquired with a newer generation
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Sh).unwrap();
    a.rejoin(&env);
    b.observe(&env);
    b.acquire(&env, Mode::Ex).unwrap();
    assert_eq!(mode_block(&env, 1), ModeBlock::default());
    // its host_id freed
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Sh).unwrap();
    a.leave(&env);
    b.observe(&env);
    b.acquire(&env, Mode::Ex).unwrap();
    assert_eq!(mode_block(&env, 1), ModeBlock::default());
}

#[test]
fn paxos_ex_acquire_keeps_an_sh_holder_seen_alive_recently() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Sh).unwrap();
    b.observe(&env);
    env.advance_ms(100_000);
    a.renew(&env).unwrap();
    b.observe(&env);
    env.advance_ms(100_000);
    assert_eq!(code(b.acquire(&env, Mode::Ex)), -11);
    assert_eq!(mode_block(&env, 1), shared(a.generation()));
}

#[test]
fn paxos_convert_sh_to_ex_alone_succeeds_and_drops_the_mode_block() {
    let (env, a, _b) = two_hosts();
    let sh = a.acquire(&env, Mode::Sh).unwrap();
    env.reset_log();
    let ex = a.convert(&env, &sh, Mode::Ex).unwrap();
    assert_eq!(ex.mode, Mode::Ex);
    assert_eq!(ex.lver, 2);
    assert_single_owner(&env, 1, a.generation(), 2);
    assert_eq!(leader(&env).flags & LFL_SHORT_HOLD, 0);
    assert_eq!(mode_block(&env, 1), ModeBlock::default());
    let d = dblock(&env, 1);
    assert_eq!(ex.dblock, d);
    assert_eq!((d.mbal, d.bal, d.lver, d.flags), (2001, 2001, 2, 0));
    // we never dropped to "no lease": every write of our sector but the
    // last carried our SHARED mode block
    let w = dblock_writes(&env, 1);
    assert!(w.len() >= 3);
    assert!(w[..w.len() - 1]
        .iter()
        .all(|(_, m)| *m == shared(a.generation())));
    assert_eq!(w.last().unwrap().1, ModeBlock::default());
}

#[test]
fn paxos_convert_sh_to_ex_with_another_live_sh_holder_fails_eagain_and_keeps_us_shared() {
    let (env, a, b) = two_hosts();
    let sh = a.acquire(&env, Mode::Sh).unwrap();
    b.acquire(&env, Mode::Sh).unwrap();
    env.reset_log();
    let e = a.convert(&env, &sh, Mode::Ex).unwrap_err();
    assert_eq!(e, LeaseError::SharedHolders { hosts: vec![2] });
    assert_eq!(e.code(), -11);
    assert_eq!(mode_block(&env, 1), shared(a.generation()));
    assert!(dblock(&env, 1).is_released());
    assert_eq!(mode_block(&env, 2), shared(b.generation()));
    assert_eq!(leader(&env).timestamp, 0, "leader released");
    let w = dblock_writes(&env, 1);
    assert!(!w.is_empty());
    assert!(w.iter().all(|(_, m)| *m == shared(a.generation())));
    // still an SH holder: host-b's EX is refused
    assert_eq!(code(b.acquire(&env, Mode::Ex)), -11);
}

#[test]
fn paxos_convert_ex_to_sh_leaves_a_shared_mode_block_and_frees_the_leader() {
    let (env, a, b) = two_hosts();
    let ex = a.acquire(&env, Mode::Ex).unwrap();
    let sh = a.convert(&env, &ex, Mode::Sh).unwrap();
    assert_eq!(sh.mode, Mode::Sh);
    let l = leader(&env);
    assert_eq!((l.timestamp, l.lver), (0, 1));
    let d = dblock(&env, 1);
    let mut expected = ex.dblock;
    expected.flags |= DBLOCK_FL_RELEASED;
    assert_eq!(d, expected, "dblock values kept");
    assert_eq!(mode_block(&env, 1), shared(a.generation()));
    assert_eq!(code(b.acquire(&env, Mode::Ex)), -11);
    // and host-b may share it
    b.acquire(&env, Mode::Sh).unwrap();
}

#[test]
fn paxos_convert_to_the_mode_held_does_nothing() {
    let (env, a, _b) = two_hosts();
    let ex = a.acquire(&env, Mode::Ex).unwrap();
    env.reset_log();
    assert_eq!(a.convert(&env, &ex, Mode::Ex).unwrap(), ex);
    assert_eq!(env.writes(RES_DISK) + env.reads(RES_DISK), 0);
}

#[test]
fn paxos_sh_acquire_against_a_plain_exclusive_holder_fails_idlive_without_retrying() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    env.set_sleep_hook(keep_alive(1));
    env.reset_log();
    assert_eq!(code(b.acquire(&env, Mode::Sh)), -243);
    assert_eq!(env.sleeps(), vec![1_000], "one owner check, no backoff");
}

#[test]
fn paxos_sh_acquire_retries_past_a_short_hold_that_ends() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    edit_leader(&env, |l| l.flags |= LFL_SHORT_HOLD);
    let mut n = 0;
    env.set_sleep_hook(move |env: &MemEnv| {
        n += 1;
        bump_delta_timestamp(env, 1);
        if n == 2 {
            // the short hold ends during our backoff
            edit_leader(env, |l| {
                l.timestamp = 0;
                l.flags &= !LFL_SHORT_HOLD;
            });
        }
    });
    let held = b.acquire(&env, Mode::Sh).unwrap();
    assert_eq!(held.lver, 2);
    assert_eq!(mode_block(&env, 2), shared(b.generation()));
}

/// Spec 3.6: retry up to sh_retries (8) times, then SANLK_ACQUIRE_SHRETRY.
#[test]
fn paxos_sh_acquire_against_a_lasting_short_hold_fails_shretry() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    edit_leader(&env, |l| l.flags |= LFL_SHORT_HOLD);
    env.set_sleep_hook(keep_alive(1));
    env.reset_log();
    let e = b.acquire(&env, Mode::Sh).unwrap_err();
    let backoffs = env.sleeps().iter().filter(|&&s| s < 1_000).count();
    assert_eq!(backoffs, 8, "sh_retries");
    assert_eq!(e, LeaseError::ShRetry);
    assert_eq!(e.code(), -246);
}

// ---------------------------------------------------------------------------
// requests

fn request(env: &MemEnv, h: &Host, lver: u64, force: u32) -> Result<RequestOutcome, LeaseError> {
    block_on(paxos::request(env, &h.member(), &res(), lver, force))
}

fn pending(env: &MemEnv, h: &Host, held: &Held) -> Option<u32> {
    block_on(paxos::pending_request(env, &h.member(), held)).unwrap()
}

#[test]
fn paxos_request_on_a_free_lease_writes_nothing() {
    let (env, _a, b) = two_hosts();
    assert_eq!(request(&env, &b, 1, 1).unwrap(), RequestOutcome::Free);
    assert_eq!(env.writes(RES_DISK), 0);
    assert_eq!(request_record(&env), RequestRecord::new_init());
}

#[test]
fn paxos_request_for_an_lver_not_newer_fails_request_old() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    env.reset_log();
    for lver in [0, 1] {
        let e = request(&env, &b, lver, 1).unwrap_err();
        assert_eq!(
            e,
            LeaseError::RequestOld {
                requested: lver,
                current: 1
            }
        );
        assert_eq!(e.code(), -272);
    }
    assert_eq!(env.writes(RES_DISK), 0);
}

#[test]
fn paxos_request_is_recorded_and_seen_by_the_owner_only_for_a_newer_lver() {
    let (env, a, b) = two_hosts();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    assert_eq!(pending(&env, &a, &held), None);
    env.reset_log();
    assert_eq!(
        request(&env, &b, 2, 1).unwrap(),
        RequestOutcome::Recorded { owner_id: 1 }
    );
    let sector = env.peek(RES_DISK, 512, 512);
    let mut expected = vec![0u8; 512];
    expected[0..4].copy_from_slice(&REQ_DISK_MAGIC.to_le_bytes());
    expected[4..8].copy_from_slice(&REQ_DISK_VERSION.to_le_bytes());
    expected[8..16].copy_from_slice(&2u64.to_le_bytes());
    expected[16..20].copy_from_slice(&1u32.to_le_bytes());
    assert_eq!(sector, expected);
    assert_eq!(env.writes(RES_DISK), 1);
    assert_eq!(pending(&env, &a, &held), Some(1));
    // the same lver again is allowed (several requesters), here graceful
    request(&env, &b, 2, 2).unwrap();
    assert_eq!(pending(&env, &a, &held), Some(2));
    // force_mode 0 clears it
    request(&env, &b, 2, 0).unwrap();
    assert_eq!(pending(&env, &a, &held), None);
    // a request for the lver held is no request
    put_request_record(
        &env,
        RequestRecord {
            lver: 1,
            force_mode: 1,
            ..RequestRecord::new_init()
        },
    );
    assert_eq!(pending(&env, &a, &held), None);
    // nor a damaged record
    put_request_record(
        &env,
        RequestRecord {
            magic: 0,
            lver: 2,
            force_mode: 1,
            ..RequestRecord::new_init()
        },
    );
    assert_eq!(pending(&env, &a, &held), None);
}

#[test]
fn paxos_request_older_than_the_recorded_one_fails_request_lver() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    put_request_record(
        &env,
        RequestRecord {
            lver: 5,
            force_mode: 1,
            ..RequestRecord::new_init()
        },
    );
    env.reset_log();
    let e = request(&env, &b, 3, 1).unwrap_err();
    assert_eq!(e, LeaseError::RequestLver(5));
    assert_eq!(e.code(), -273);
    assert_eq!(env.writes(RES_DISK), 0);
}

#[test]
fn paxos_request_with_a_damaged_request_record_fails_request_magic() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    put_request_record(
        &env,
        RequestRecord {
            magic: 0x1234,
            ..RequestRecord::new_init()
        },
    );
    env.reset_log();
    assert_eq!(code(request(&env, &b, 2, 1)), -270);
    assert_eq!(env.writes(RES_DISK), 0);
}

// ---------------------------------------------------------------------------
// damaged leases

#[test]
fn paxos_acquire_of_a_leader_with_a_bad_checksum_fails_leader_checksum_without_writing() {
    let (env, a, b) = two_hosts();
    let mut l = leader(&env);
    l.num_hosts = 1999; // checksum left stale
    env.poke(RES_DISK, 0, &l.to_sector(512).unwrap());
    assert_eq!(code(a.acquire(&env, Mode::Ex)), -229);
    assert_eq!(code(b.acquire(&env, Mode::Sh)), -229);
    assert_eq!(env.all_writes(), 0);
    assert_eq!(leader(&env).timestamp, 0, "no owner");
}

#[test]
fn paxos_acquire_of_a_held_lease_whose_leader_went_bad_fails_without_writing() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    let mut l = leader(&env);
    l.owner_id = 2;
    env.poke(RES_DISK, 0, &l.to_sector(512).unwrap());
    env.reset_log();
    assert_eq!(code(b.acquire(&env, Mode::Ex)), -229);
    assert_eq!(env.all_writes(), 0);
}

#[test]
fn paxos_acquire_of_a_cleared_or_uninitialised_lease_fails_leader_magic_without_writing() {
    let (env, a, _b) = two_hosts();
    let cleared = area::resource_init(g(), name(SPACE), name(RES), 0, Some(1234));
    env.poke(RES_DISK, 0, &cleared);
    assert_eq!(code(a.acquire(&env, Mode::Ex)), -223);
    env.poke(RES_DISK, 0, &vec![0u8; 1 << 20]);
    assert_eq!(code(a.acquire(&env, Mode::Ex)), -223);
    assert_eq!(env.all_writes(), 0);
}

#[test]
fn paxos_acquire_with_wrong_names_version_or_num_hosts_fails_with_leader_codes() {
    let (env, a, _b) = two_hosts();
    let wrong_res = ResourceSpec {
        name: name("R2"),
        ..res()
    };
    let e = block_on(paxos::acquire(
        &env,
        &a.member(),
        &wrong_res,
        Mode::Ex,
        AcquireOpts::default(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), -227);
    let wrong_space = ResourceSpec {
        space_name: name("OTHER"),
        ..res()
    };
    let e = block_on(paxos::acquire(
        &env,
        &a.member(),
        &wrong_space,
        Mode::Ex,
        AcquireOpts::default(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), -226);
    edit_leader(&env, |l| l.version = PAXOS_DISK_VERSION + 0x0001_0000);
    assert_eq!(code(a.acquire(&env, Mode::Ex)), -224);
    // num_hosts 2: host 3 may not take part
    init_resource(&env, 2);
    let c = Host::join(&env, 3, "host-c");
    env.reset_log();
    assert_eq!(code(c.acquire(&env, Mode::Ex)), -228);
    assert_eq!(env.all_writes(), 0);
    a.acquire(&env, Mode::Ex).unwrap();
}

#[test]
fn paxos_acquire_with_a_bad_dblock_checksum_fails_dblock_checksum_without_writing() {
    let (env, a, _b) = two_hosts();
    let mut s = vec![0u8; 512];
    PaxosDblock {
        mbal: 5,
        lver: 1,
        checksum: 0xdead_beef,
        ..Default::default()
    }
    .encode(&mut s)
    .unwrap();
    env.poke(RES_DISK, 3 * 512, &s);
    let e = a.acquire(&env, Mode::Ex).unwrap_err();
    assert_eq!(e, LeaseError::DblockChecksum { host_id: 2 });
    assert_eq!(e.code(), -214);
    assert_eq!(env.all_writes(), 0);
}

// ---------------------------------------------------------------------------
// release errors

#[test]
fn paxos_release_refuses_a_leader_at_another_lver_or_owner() {
    let (env, a, _b) = two_hosts();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    edit_leader(&env, |l| l.lver = 5);
    assert_eq!(code(a.release(&env, &held)), -250);
    assert_eq!(leader(&env).timestamp, held.leader.timestamp, "not freed");
    edit_leader(&env, |l| {
        l.lver = 1;
        l.owner_generation += 1;
    });
    assert_eq!(code(a.release(&env, &held)), -251);
    edit_leader(&env, |l| {
        l.owner_generation -= 1;
        l.timestamp = 0;
    });
    assert_eq!(code(a.release(&env, &held)), -251);
}

/// Spec 3.7 step 2: a bad request-record magic is -270, a bad version -271.
#[test]
fn paxos_request_with_an_unknown_request_version_fails_request_version() {
    let (env, a, b) = two_hosts();
    a.acquire(&env, Mode::Ex).unwrap();
    put_request_record(
        &env,
        RequestRecord {
            version: 0x0002_0001,
            ..RequestRecord::new_init()
        },
    );
    env.reset_log();
    assert_eq!(code(request(&env, &b, 2, 1)), -271);
    assert_eq!(env.writes(RES_DISK), 0);
}

/// Spec 3.6 (sh->ex: "we never drop to no lease") and 7.4: a convert that
/// fails leaves us holding the lease shared, so every write of our sector,
/// the clean-up after a phase-2 failure included, must keep our SHARED
/// mode block; otherwise another host's EX acquire succeeds while we still
/// hold SH.
#[test]
fn paxos_convert_sh_to_ex_failing_in_phase_2_keeps_our_shared_mode_block() {
    let (env, a, b) = two_hosts();
    let sh = a.acquire(&env, Mode::Sh).unwrap();
    env.reset_log();
    env.fail_write(RES_DISK, 1, Fault::Io(IoFault::Failed(-5)));
    assert_eq!(code(a.convert(&env, &sh, Mode::Ex)), -211);
    assert_eq!(mode_block(&env, 1), shared(a.generation()));
    assert!(dblock_writes(&env, 1)
        .iter()
        .all(|(_, m)| *m == shared(a.generation())));
    assert_eq!(code(b.acquire(&env, Mode::Ex)), -11);
}

// ---------------------------------------------------------------------------
// Fixes found by the simulator (paxlock-sim)

/// A value we accepted at an lver may have been chosen: a later phase 1 at
/// the same lver keeps it (Disk Paxos), instead of clearing bal/inp as
/// sanlock does.
#[test]
fn paxos_phase_1_keeps_our_accepted_value_at_the_same_lver() {
    let (env, a, _b) = two_hosts();
    // Our phase 2 is accepted on disk, then the commit write fails.
    env.fail_write(RES_DISK, 2, Fault::Io(IoFault::Failed(-5)));
    assert_eq!(code(a.acquire(&env, Mode::Ex)), -221);
    let accepted = dblock(&env, 1);
    assert!(accepted.bal != 0 && accepted.inp == 1);
    env.reset_log();
    a.acquire(&env, Mode::Ex).unwrap();
    let writes = dblock_writes(&env, 1);
    let phase1 = writes.first().unwrap().0;
    assert!(phase1.mbal > accepted.mbal);
    assert_eq!(
        (phase1.bal, phase1.inp, phase1.inp3),
        (accepted.bal, accepted.inp, accepted.inp3),
        "phase 1 kept the value"
    );
}

/// A dblock more than one lver ahead of the leader means the leader went
/// back (a late commit landed over a newer one): acquire refuses with
/// SANLK_LEADER_DIFF and writes nothing.
#[test]
fn paxos_acquire_refuses_a_leader_behind_the_dblocks() {
    let (env, a, _b) = two_hosts();
    edit_leader(&env, |l| l.lver = 3);
    put_dblock(
        &env,
        2,
        PaxosDblock {
            mbal: 2,
            bal: 2,
            inp: 2,
            inp2: 1,
            inp3: 5,
            lver: 5,
            ..Default::default()
        },
        None,
    );
    env.reset_log();
    let e = a.acquire(&env, Mode::Ex).unwrap_err();
    assert_eq!(e.code(), -222, "{e}");
    assert_eq!(env.writes(RES_DISK), 0);
    // one lver ahead is a ballot in progress: fine
    put_dblock(
        &env,
        2,
        PaxosDblock {
            mbal: 2,
            lver: 4,
            ..Default::default()
        },
        None,
    );
    assert_eq!(a.acquire(&env, Mode::Ex).unwrap().lver, 4);
}

/// After an SH to EX conversion fails, the caller's lease (still SH) carries
/// the dblock we last wrote, so releasing it never writes an older lver.
#[test]
fn paxos_failed_convert_hands_back_the_dblock_we_last_wrote() {
    let (env, a, _b) = two_hosts();
    let sh = a.acquire(&env, Mode::Sh).unwrap();
    let mut held = sh.clone();
    env.fail_write(RES_DISK, 1, Fault::Io(IoFault::Failed(-5)));
    let e = paxlock_core::block_on(paxlock_core::paxos::convert(
        &env,
        &a.member(),
        &mut held,
        Mode::Ex,
    ))
    .unwrap_err();
    assert_eq!(e.code(), -211);
    assert_eq!(held.mode, Mode::Sh);
    assert_eq!(
        held.dblock.lver,
        sh.lver + 1,
        "the conversion's ballot lver"
    );
    assert_eq!(held.dblock, {
        let mut d = dblock(&env, 1);
        d.flags = held.dblock.flags;
        d
    });
    a.release(&env, &held).unwrap();
    assert_eq!(
        dblock(&env, 1).lver,
        sh.lver + 1,
        "release did not go back to the older lver"
    );
}

/// An lver we gave up (our dblock there is RELEASED: a release, or a
/// retract after a failed commit) is never claimed again, even when the
/// leader is still below it (the commit never landed, or the leader went
/// back under a late write): others may already have moved past it. The
/// acquire commits that lver so the leader catches up, then takes the next.
#[test]
fn paxos_acquire_never_claims_an_lver_we_already_released() {
    let (env, a, _b) = two_hosts();
    env.fail_write(RES_DISK, 2, Fault::Io(IoFault::Failed(-5)));
    assert_eq!(code(a.acquire(&env, Mode::Ex)), -221);
    let d = dblock(&env, 1);
    assert!(d.is_released() && d.lver == 1 && d.bal != 0);
    assert_eq!(leader(&env).lver, 0, "the commit never landed");
    env.reset_log();
    let held = a.acquire(&env, Mode::Ex).unwrap();
    assert_eq!(
        held.lver, 2,
        "lver 1 was given up: it must not be handed out again"
    );
    let lw = leader_writes(&env);
    assert!(
        lw.iter().any(|l| l.lver == 1 && l.timestamp == 0),
        "lver 1 caught up and given back: {lw:?}"
    );
    assert_single_owner(&env, 1, a.generation(), 2);
}
