//! Delta leases (spec sanlock-algorithms.md section 1): acquire, renew,
//! release, one test per rule, on the in-memory environment.

mod common;

use std::rc::Rc;

use common::*;
use paxlock_core::delta::{self, DeltaHeld, HostEvent, LockspaceConfig};
use paxlock_core::{block_on, IoFault, LeaseError};
use paxlock_format::leader::{set_bitmap_host, DELTA_DISK_VERSION};

fn acquire(env: &MemEnv, cfg: &LockspaceConfig) -> Result<DeltaHeld, LeaseError> {
    block_on(delta::delta_acquire(env, cfg))
}

fn renew(
    env: &MemEnv,
    cfg: &LockspaceConfig,
    held: &mut DeltaHeld,
    bitmap: &[u64],
    event: HostEvent,
) -> Result<Vec<u8>, LeaseError> {
    block_on(delta::delta_renew(env, cfg, held, bitmap, event))
}

/// A lockspace where host_id 1 was last held by "previous" (generation 4,
/// io_timeout `prev_io`), with timestamp `ts` (0 = released).
fn lockspace_with_previous_owner(prev_io: u16, ts: u64) -> MemEnv {
    let env = MemEnv::new();
    init_lockspace(&env, 10);
    edit_delta_slot(&env, 1, |l| {
        l.owner_id = 1;
        l.owner_generation = 4;
        l.resource_name = name("previous");
        l.io_timeout = prev_io;
        l.timestamp = ts;
    });
    env
}

/// host_id 1 joined by "host-a" (io 10), then the log cleared.
fn joined() -> (MemEnv, LockspaceConfig, DeltaHeld) {
    let env = MemEnv::new();
    init_lockspace(&env, 10);
    let cfg = ls_config(1, "host-a", 10);
    let held = acquire(&env, &cfg).unwrap();
    env.reset_log();
    (env, cfg, held)
}

fn assert_busy(r: Result<DeltaHeld, LeaseError>, who: &str) {
    match r {
        Err(e @ LeaseError::HostIdBusy { .. }) => {
            assert_eq!(e.code(), -262);
            let LeaseError::HostIdBusy { host_id, name } = e else {
                unreachable!()
            };
            assert_eq!((host_id, name.as_str()), (1, who));
        }
        other => panic!("expected HostIdBusy, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// acquire

#[test]
fn delta_acquire_of_free_slot_takes_short_delay_and_bumps_generation() {
    // previous owner released (timestamp 0) with io_timeout 5; we use 10
    let env = lockspace_with_previous_owner(5, 0);
    let cfg = ls_config(1, "host-a", 10);
    let held = acquire(&env, &cfg).unwrap();

    // one short delay of 2 * the previous owner's io_timeout, nothing else
    assert_eq!(env.sleeps(), vec![10_000]);
    let slot = delta_slot(&env, 1);
    assert!(slot.checksum_ok());
    assert_eq!(slot.owner_id, 1);
    assert_eq!(slot.owner_generation, 5, "generation = previous + 1");
    assert_eq!(slot.resource_name, name("host-a"));
    assert_eq!(slot.io_timeout, 10, "our io_timeout is written");
    assert_eq!(slot.timestamp, START_MS / 1000, "written before the delay");
    // read, write, delay, verifying read
    let reads = env.ios(IoKind::Read, LS_DISK);
    let writes = env.ios(IoKind::Write, LS_DISK);
    assert_eq!((reads.len(), writes.len()), (2, 1));
    assert_eq!(reads[0].at_ms, START_MS);
    assert_eq!(writes[0].at_ms, START_MS);
    assert_eq!(reads[1].at_ms, START_MS + 10_000, "verify after the delay");
    assert!(reads.iter().all(|r| r.timeout_ms == 10_000));
    assert_eq!(writes[0].timeout_ms, 10_000);
    assert_eq!((writes[0].offset, writes[0].len), (0, 512));

    assert_eq!(held.generation, 5);
    assert_eq!(held.leader, slot);
    assert_eq!(held.last_success_ms, START_MS);
    assert!(held.last_renewal_ok);
}

#[test]
fn delta_acquire_keeps_other_fields_and_clears_the_bitmap() {
    let env = lockspace_with_previous_owner(10, 0);
    edit_delta_slot(&env, 1, |l| {
        l.write_id = 7;
        l.write_generation = 8;
        l.write_timestamp = 9;
        l.lver = 3;
    });
    let mut s = delta_sector(&env, 1);
    assert!(set_bitmap_host(&mut s, 2));
    assert!(set_bitmap_host(&mut s, 77));
    env.poke(LS_DISK, 0, &s);
    assert_eq!(delta_bitmap(&env, 1), vec![2, 77]);
    let before = delta_slot(&env, 1);

    acquire(&env, &ls_config(1, "host-a", 10)).unwrap();
    let after = delta_slot(&env, 1);
    assert_eq!(
        (
            after.write_id,
            after.write_generation,
            after.write_timestamp
        ),
        (7, 8, 9)
    );
    assert_eq!(after.lver, 3);
    assert_eq!(
        (
            after.flags,
            after.max_hosts,
            after.sector_size,
            after.version
        ),
        (
            before.flags,
            before.max_hosts,
            before.sector_size,
            before.version
        )
    );
    assert!(delta_bitmap(&env, 1).is_empty(), "bitmap cleared");
    assert!(delta_sector(&env, 1)[200..].iter().all(|&b| b == 0));
}

#[test]
fn delta_acquire_short_delay_uses_our_io_timeout_when_the_slot_has_none() {
    let env = lockspace_with_previous_owner(0, 0);
    acquire(&env, &ls_config(1, "host-a", 7)).unwrap();
    assert_eq!(env.sleeps(), vec![14_000]);
    assert_eq!(delta_slot(&env, 1).io_timeout, 7);
}

#[test]
fn delta_acquire_of_slot_held_by_silent_other_waits_host_dead_then_takes_it() {
    let env = lockspace_with_previous_owner(10, 500);
    let held = acquire(&env, &ls_config(1, "host-a", 10)).unwrap();
    // host_dead = 8*10 + 60, then the short delay
    assert_eq!(env.sleeps(), vec![140_000, 20_000]);
    assert_eq!(env.reads(LS_DISK), 3);
    assert_eq!(env.writes(LS_DISK), 1);
    let w = &env.ios(IoKind::Write, LS_DISK)[0];
    assert_eq!(w.at_ms, START_MS + 140_000, "written only after the wait");
    assert_eq!(held.generation, 5);
    let slot = delta_slot(&env, 1);
    assert_eq!(slot.resource_name, name("host-a"));
    assert_eq!(slot.timestamp, (START_MS + 140_000) / 1000);
}

#[test]
fn delta_acquire_waits_host_dead_of_the_previous_owners_io_timeout() {
    // the previous owner ran with io 20: 8*20 + 60 = 220 s, short delay 40 s
    let env = lockspace_with_previous_owner(20, 500);
    acquire(&env, &ls_config(1, "host-a", 10)).unwrap();
    assert_eq!(env.sleeps(), vec![220_000, 40_000]);
    assert_eq!(delta_slot(&env, 1).io_timeout, 10);
}

#[test]
fn delta_acquire_fails_host_id_busy_when_the_owner_renews_during_the_wait() {
    let env = lockspace_with_previous_owner(10, 500);
    env.set_sleep_hook(keep_alive(1));
    let r = acquire(&env, &ls_config(1, "host-a", 10));
    assert_busy(r, "previous");
    assert_eq!(env.sleeps(), vec![140_000]);
    assert_eq!(env.writes(LS_DISK), 0, "nothing written");
    let slot = delta_slot(&env, 1);
    assert_eq!(slot.resource_name, name("previous"));
    assert_eq!(slot.owner_generation, 4);
}

#[test]
fn delta_acquire_fails_host_id_busy_when_any_leader_field_changes_during_the_wait() {
    // any leader field changing during the wait counts, not only timestamp
    let env = lockspace_with_previous_owner(10, 500);
    env.set_sleep_hook(|env: &MemEnv| edit_delta_slot(env, 1, |l| l.write_generation = 3));
    assert_busy(acquire(&env, &ls_config(1, "host-a", 10)), "previous");
    assert_eq!(env.writes(LS_DISK), 0);
}

#[test]
fn delta_acquire_ignores_a_bitmap_change_during_the_wait() {
    let env = lockspace_with_previous_owner(10, 500);
    env.set_sleep_hook(|env: &MemEnv| {
        if env.now_ms() == START_MS + 140_000 {
            let mut s = delta_sector(env, 1);
            set_bitmap_host(&mut s, 9);
            env.poke(LS_DISK, 0, &s);
        }
    });
    let held = acquire(&env, &ls_config(1, "host-a", 10)).unwrap();
    assert_eq!(held.generation, 5);
}

#[test]
fn delta_acquire_takes_a_slot_freed_during_the_wait() {
    let env = lockspace_with_previous_owner(10, 500);
    env.set_sleep_hook(|env: &MemEnv| {
        if env.now_ms() == START_MS + 140_000 {
            edit_delta_slot(env, 1, |l| l.timestamp = 0);
        }
    });
    let held = acquire(&env, &ls_config(1, "host-a", 10)).unwrap();
    assert_eq!(held.generation, 5);
    assert_eq!(delta_slot(&env, 1).resource_name, name("host-a"));
}

/// Spec 1.2 steps 5-6 and section 0: (host_id, generation) names one
/// incarnation. If another incarnation took the slot (generation 5) and
/// freed it while we waited, our write must build on what we read last,
/// or we would reuse generation 5.
#[test]
fn delta_acquire_after_the_wait_bumps_the_generation_it_read_last() {
    let env = lockspace_with_previous_owner(10, 500);
    env.set_sleep_hook(|env: &MemEnv| {
        if env.now_ms() == START_MS + 140_000 {
            edit_delta_slot(env, 1, |l| {
                l.owner_generation = 5;
                l.resource_name = name("host-b");
                l.timestamp = 0;
            });
        }
    });
    let held = acquire(&env, &ls_config(1, "host-a", 10)).unwrap();
    assert_eq!(
        held.generation, 6,
        "generation 5 was already used by host-b's incarnation"
    );
    assert_eq!(delta_slot(&env, 1).owner_generation, 6);
}

#[test]
fn delta_acquire_fails_host_id_busy_when_overwritten_before_the_verify_read() {
    let env = lockspace_with_previous_owner(10, 0);
    // another host writes its own record during our short delay
    env.set_sleep_hook(|env: &MemEnv| {
        edit_delta_slot(env, 1, |l| {
            l.resource_name = name("host-b");
            l.timestamp = env.now_secs();
        });
    });
    assert_busy(acquire(&env, &ls_config(1, "host-a", 10)), "host-b");
    assert_eq!(env.sleeps(), vec![20_000]);
    assert_eq!(env.writes(LS_DISK), 1);
}

/// Spec 8 #4: two hosts join the same free host_id. Here host-b's whole
/// join runs between host-a's first read and its write: both pass their
/// verify, and host-b (overwritten) finds out at its next renewal, as a
/// corrupt result.
#[test]
fn delta_acquire_collision_on_a_free_slot_is_caught_by_the_overwritten_hosts_next_renewal() {
    let env = lockspace_with_previous_owner(10, 0);
    let b: Rc<std::cell::RefCell<Option<DeltaHeld>>> = Rc::new(std::cell::RefCell::new(None));
    let b_in_hook = b.clone();
    env.set_io_hook(move |env: &MemEnv, ev: IoEvent| {
        if ev.kind == IoKind::Write && b_in_hook.borrow().is_none() {
            let held = block_on(delta::delta_acquire(env, &ls_config(1, "host-b", 10)))
                .expect("host-b joins a free slot");
            *b_in_hook.borrow_mut() = Some(held);
        }
    });
    let a = acquire(&env, &ls_config(1, "host-a", 10)).unwrap();
    env.clear_hooks();
    let mut b = b.borrow_mut().take().unwrap();
    // both read generation 4 and wrote 5: the slot is host-a's now
    assert_eq!((a.generation, b.generation), (5, 5));
    assert_eq!(delta_slot(&env, 1).resource_name, name("host-a"));
    env.advance_ms(20_000);
    let e = renew(
        &env,
        &ls_config(1, "host-b", 10),
        &mut b,
        &[],
        HostEvent::default(),
    )
    .unwrap_err();
    assert!(matches!(e, LeaseError::RenewOwner { .. }), "{e:?}");
    assert!(e.is_corrupt_renewal());
}

#[test]
fn delta_fast_reacquire_with_our_own_host_name_skips_the_long_wait() {
    let env = lockspace_with_previous_owner(10, 500);
    edit_delta_slot(&env, 1, |l| l.resource_name = name("host-a"));
    let held = acquire(&env, &ls_config(1, "host-a", 10)).unwrap();
    assert_eq!(env.sleeps(), vec![20_000], "only the short delay");
    assert_eq!(env.reads(LS_DISK), 2);
    assert_eq!(held.generation, 5);
}

#[test]
fn delta_acquire_of_slot_with_bad_checksum_fails_leader_checksum_without_writing() {
    let env = lockspace_with_previous_owner(10, 0);
    edit_delta_slot_unsealed(&env, 1, |l| l.owner_generation = 99);
    let e = acquire(&env, &ls_config(1, "host-a", 10)).unwrap_err();
    assert_eq!(e.code(), -229, "{e}");
    assert_eq!(env.writes(LS_DISK), 0);
    assert!(env.sleeps().is_empty());
    assert_eq!(delta_slot(&env, 1).owner_generation, 99, "never repaired");
}

#[test]
fn delta_acquire_with_wrong_lockspace_name_fails_leader_lockspace_without_writing() {
    let env = lockspace_with_previous_owner(10, 0);
    let mut cfg = ls_config(1, "host-a", 10);
    cfg.space_name = name("OTHER");
    let e = acquire(&env, &cfg).unwrap_err();
    assert_eq!(e.code(), -226, "{e}");
    assert_eq!(env.writes(LS_DISK), 0);
}

#[test]
fn delta_acquire_of_uninitialised_slot_fails_leader_magic_without_writing() {
    // a disk never initialised
    let env = MemEnv::new();
    let e = acquire(&env, &ls_config(3, "host-a", 10)).unwrap_err();
    assert_eq!(e.code(), -223, "{e}");
    assert_eq!(env.writes(LS_DISK), 0);
    // an init whose commit write never happened: slot 1 still has magic 0
    let env = MemEnv::new();
    let init = paxlock_format::area::lockspace_init(g(), name(SPACE), 10);
    env.poke(LS_DISK, 0, &init.area);
    let e = acquire(&env, &ls_config(1, "host-a", 10)).unwrap_err();
    assert_eq!(e.code(), -223, "{e}");
    assert_eq!(env.writes(LS_DISK), 0);
}

#[test]
fn delta_acquire_with_unknown_major_version_fails_leader_version() {
    let env = lockspace_with_previous_owner(10, 0);
    edit_delta_slot(&env, 1, |l| l.version = DELTA_DISK_VERSION + 0x0001_0000);
    let e = acquire(&env, &ls_config(1, "host-a", 10)).unwrap_err();
    assert_eq!(e.code(), -224, "{e}");
    assert_eq!(env.writes(LS_DISK), 0);
    // a newer minor version is fine
    edit_delta_slot(&env, 1, |l| l.version = DELTA_DISK_VERSION + 1);
    acquire(&env, &ls_config(1, "host-a", 10)).unwrap();
}

#[test]
fn delta_acquire_rejects_host_id_outside_1_to_max_hosts() {
    let env = lockspace_with_previous_owner(10, 0);
    for id in [0, 2001] {
        let e = acquire(&env, &ls_config(id, "host-a", 10)).unwrap_err();
        assert_eq!(e.code(), -231, "host_id {id}: {e}");
    }
    assert_eq!(env.reads(LS_DISK) + env.writes(LS_DISK), 0);
}

#[test]
fn delta_acquire_io_errors_fail_with_leader_read_and_write_codes() {
    let env = lockspace_with_previous_owner(10, 0);
    env.fail_read(LS_DISK, 0, IoFault::Failed(-5));
    let e = acquire(&env, &ls_config(1, "host-a", 10)).unwrap_err();
    assert_eq!(e.code(), -220, "{e}");
    env.fail_read(LS_DISK, 0, IoFault::Timeout);
    let e = acquire(&env, &ls_config(1, "host-a", 10)).unwrap_err();
    assert_eq!(e.code(), -202, "{e}");
    assert_eq!(env.writes(LS_DISK), 0);
    env.fail_write(LS_DISK, 0, Fault::Io(IoFault::Failed(-5)));
    let e = acquire(&env, &ls_config(1, "host-a", 10)).unwrap_err();
    assert_eq!(e.code(), -221, "{e}");
    assert!(env.sleeps().is_empty(), "no delay after a failed write");
    // the verifying read failing is an error too
    env.fail_read(LS_DISK, 1, IoFault::Failed(-5));
    let e = acquire(&env, &ls_config(1, "host-a", 10)).unwrap_err();
    assert_eq!(e.code(), -220, "{e}");
    assert!(env.faults_all_fired());
}

// ---------------------------------------------------------------------------
// renew

#[test]
fn delta_renew_writes_new_timestamp_bitmap_and_event_fields() {
    let (env, cfg, mut held) = joined();
    env.advance_ms(20_500);
    let before = ls_area(&env);
    let event = HostEvent {
        generation: 5,
        event: 9,
        data: 11,
    };
    let area = renew(&env, &cfg, &mut held, &[3, 7, 2000], event).unwrap();
    assert_eq!(area, before, "the area as read before our write");

    let now = env.now_ms();
    let slot = delta_slot(&env, 1);
    assert!(slot.checksum_ok());
    assert_eq!(slot.timestamp, now / 1000);
    assert_eq!(
        (slot.write_id, slot.write_generation, slot.write_timestamp),
        (5, 9, 11)
    );
    assert_eq!(delta_bitmap(&env, 1), vec![3, 7, 2000]);
    assert_eq!(
        (slot.owner_id, slot.owner_generation, slot.resource_name),
        (1, 1, name("host-a"))
    );
    assert_eq!(held.leader, slot);
    assert_eq!(held.last_success_ms, now);
    assert!(held.last_renewal_ok);

    // one read of the whole area with io_timeout, one sector written with
    // host_dead as its timeout
    let reads = env.ios(IoKind::Read, LS_DISK);
    let writes = env.ios(IoKind::Write, LS_DISK);
    assert_eq!((reads.len(), writes.len()), (1, 1));
    assert_eq!((reads[0].offset, reads[0].len), (0, 1 << 20));
    assert_eq!(reads[0].timeout_ms, 10_000);
    assert_eq!((writes[0].offset, writes[0].len), (0, 512));
    assert_eq!(writes[0].timeout_ms, HOST_DEAD_MS);
    assert!(env.sleeps().is_empty(), "no delay, no re-read");

    // the next renewal without bits clears them
    env.advance_ms(20_500);
    renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap();
    assert!(delta_bitmap(&env, 1).is_empty());
    assert_eq!(delta_slot(&env, 1).write_id, 0);
}

#[test]
fn delta_renew_of_slot_of_another_host_id_writes_only_that_slot() {
    let env = MemEnv::new();
    init_lockspace(&env, 10);
    let cfg = ls_config(5, "host-e", 10);
    let mut held = acquire(&env, &cfg).unwrap();
    let before = ls_area(&env);
    env.advance_ms(20_000);
    renew(&env, &cfg, &mut held, &[1], HostEvent::default()).unwrap();
    let after = ls_area(&env);
    assert_eq!(&after[..4 * 512], &before[..4 * 512]);
    assert_eq!(&after[5 * 512..], &before[5 * 512..]);
    assert_eq!(delta_slot(&env, 5).timestamp, env.now_secs());
}

#[test]
fn delta_renew_puts_our_io_timeout_back_after_a_failed_renewal() {
    let (env, cfg, mut held) = joined();
    env.advance_ms(20_000);
    env.fail_read(LS_DISK, 0, IoFault::Timeout);
    renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    // someone changed io_timeout meanwhile: tolerated, and put back
    edit_delta_slot(&env, 1, |l| l.io_timeout = 30);
    env.advance_ms(1_000);
    renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap();
    assert_eq!(delta_slot(&env, 1).io_timeout, 10);
    assert_eq!(held.leader.io_timeout, 10);
}

#[test]
fn delta_renew_writes_the_configured_io_timeout() {
    let (env, mut cfg, mut held) = joined();
    cfg.timeouts = timeouts(5);
    env.advance_ms(20_000);
    renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap();
    assert_eq!(delta_slot(&env, 1).io_timeout, 5);
}

#[test]
fn delta_renew_finds_another_owner_fails_renew_owner_as_corrupt() {
    type Edit = fn(&mut paxlock_format::LeaderRecord);
    let edits: [(&str, Edit); 3] = [
        ("name", |l| l.resource_name = name("host-b")),
        ("generation", |l| l.owner_generation += 1),
        ("owner_id", |l| l.owner_id = 2),
    ];
    for (what, edit) in edits {
        let (env, cfg, mut held) = joined();
        edit_delta_slot(&env, 1, edit);
        let on_disk = delta_sector(&env, 1);
        env.advance_ms(20_000);
        let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
        assert!(
            matches!(e, LeaseError::RenewOwner { .. }),
            "{what}: got {e:?}"
        );
        assert_eq!(e.code(), -260);
        assert!(e.is_corrupt_renewal(), "{what}");
        assert_eq!(env.writes(LS_DISK), 0, "{what}: never repaired");
        assert_eq!(delta_sector(&env, 1), on_disk);
    }
}

#[test]
fn delta_renew_after_success_fails_renew_diff_on_any_changed_byte() {
    type Edit = fn(&mut paxlock_format::LeaderRecord);
    let edits: [(&str, Edit); 4] = [
        ("timestamp", |l| l.timestamp += 1),
        ("write_id", |l| l.write_id = 4),
        ("io_timeout", |l| l.io_timeout = 20),
        ("lver", |l| l.lver = 1),
    ];
    for (what, edit) in edits {
        let (env, cfg, mut held) = joined();
        env.advance_ms(20_000);
        renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap();
        edit_delta_slot(&env, 1, edit);
        env.reset_log();
        env.advance_ms(20_000);
        let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
        assert_eq!(e, LeaseError::RenewDiff, "{what}");
        assert_eq!(e.code(), -261);
        assert!(e.is_corrupt_renewal());
        assert_eq!(env.writes(LS_DISK), 0, "{what}");
    }
}

#[test]
fn delta_renew_ignores_a_changed_bitmap_half() {
    let (env, cfg, mut held) = joined();
    let mut s = delta_sector(&env, 1);
    set_bitmap_host(&mut s, 4);
    env.poke(LS_DISK, 0, &s);
    env.advance_ms(20_000);
    renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap();
}

#[test]
fn delta_renew_read_failure_is_not_corrupt_and_next_renewal_tolerates_a_diff() {
    let (env, cfg, mut held) = joined();
    let last = held.clone();
    env.advance_ms(20_000);
    env.fail_read(LS_DISK, 0, IoFault::Failed(-5));
    let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    assert_eq!(e.code(), -220);
    assert!(!e.is_corrupt_renewal());
    assert!(!held.last_renewal_ok);
    assert_eq!(held.leader, last.leader);
    assert_eq!(held.last_success_ms, last.last_success_ms);
    assert_eq!(env.writes(LS_DISK), 0);

    // the bytes on disk are now not known exactly: a changed timestamp
    // (e.g. a late write of ours) is tolerated
    edit_delta_slot(&env, 1, |l| l.timestamp += 3);
    env.advance_ms(500);
    renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap();
    assert!(held.last_renewal_ok);
    assert_eq!(delta_slot(&env, 1).timestamp, env.now_secs());

    // and a read timeout (-202) is the same
    env.advance_ms(20_000);
    env.fail_read(LS_DISK, 0, IoFault::Timeout);
    let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    assert_eq!(e.code(), -202);
    assert!(!e.is_corrupt_renewal());
    assert!(!held.last_renewal_ok);
}

#[test]
fn delta_renew_write_timeout_that_lands_is_tolerated_by_the_next_renewal() {
    let (env, cfg, mut held) = joined();
    let last = held.clone();
    env.advance_ms(20_000);
    env.fail_write(LS_DISK, 0, Fault::TimeoutButLands);
    let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    assert_eq!(e.code(), -202);
    assert!(!e.is_corrupt_renewal());
    assert!(!held.last_renewal_ok);
    assert_eq!(held.last_success_ms, last.last_success_ms, "not a success");
    assert_eq!(held.leader, last.leader);
    // the write landed: the disk differs from what we know
    assert_ne!(delta_slot(&env, 1), held.leader);

    env.advance_ms(500);
    renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap();
    assert!(held.last_renewal_ok);
    assert_eq!(held.leader, delta_slot(&env, 1));

    // once a renewal succeeded again, differences are RenewDiff again
    edit_delta_slot(&env, 1, |l| l.timestamp += 1);
    env.advance_ms(20_000);
    let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    assert_eq!(e, LeaseError::RenewDiff);
}

#[test]
fn delta_renew_write_failure_leaves_last_success_unchanged() {
    let (env, cfg, mut held) = joined();
    let last = held.clone();
    env.advance_ms(20_000);
    env.fail_write(LS_DISK, 0, Fault::Io(IoFault::Failed(-5)));
    let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    assert_eq!(e.code(), -221);
    assert!(!e.is_corrupt_renewal());
    assert!(!held.last_renewal_ok);
    assert_eq!(held.last_success_ms, last.last_success_ms);
    assert_eq!(delta_slot(&env, 1), last.leader, "nothing landed");
}

#[test]
fn delta_renew_after_a_failure_still_fails_renew_owner_on_another_owner() {
    let (env, cfg, mut held) = joined();
    env.advance_ms(20_000);
    env.fail_read(LS_DISK, 0, IoFault::Timeout);
    renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    edit_delta_slot(&env, 1, |l| {
        l.resource_name = name("host-b");
        l.owner_generation += 1;
    });
    env.advance_ms(500);
    let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    assert!(matches!(e, LeaseError::RenewOwner { .. }), "{e:?}");
    assert!(e.is_corrupt_renewal());
    assert_eq!(env.writes(LS_DISK), 0);
}

#[test]
fn delta_renew_of_a_damaged_slot_fails_with_the_leader_code_as_corrupt() {
    // bad checksum
    let (env, cfg, mut held) = joined();
    edit_delta_slot_unsealed(&env, 1, |l| l.timestamp += 1);
    env.advance_ms(20_000);
    let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    assert_eq!(e.code(), -229, "{e}");
    assert!(e.is_corrupt_renewal());
    assert_eq!(env.writes(LS_DISK), 0);
    // magic wiped
    let (env, cfg, mut held) = joined();
    edit_delta_slot(&env, 1, |l| l.magic = 0);
    let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    assert_eq!(e.code(), -223, "{e}");
    assert!(e.is_corrupt_renewal());
    // another lockspace's name
    let (env, cfg, mut held) = joined();
    edit_delta_slot(&env, 1, |l| l.space_name = name("OTHER"));
    let e = renew(&env, &cfg, &mut held, &[], HostEvent::default()).unwrap_err();
    assert_eq!(e.code(), -226, "{e}");
    assert!(e.is_corrupt_renewal());
    assert_eq!(env.writes(LS_DISK), 0);
}

// ---------------------------------------------------------------------------
// release

#[test]
fn delta_release_writes_timestamp_zero_and_keeps_everything_else() {
    let (env, cfg, mut held) = joined();
    env.advance_ms(20_000);
    let event = HostEvent {
        generation: 1,
        event: 2,
        data: 3,
    };
    renew(&env, &cfg, &mut held, &[4], event).unwrap();
    env.reset_log();
    block_on(delta::delta_release(&env, &cfg, &held)).unwrap();

    let slot = delta_slot(&env, 1);
    assert!(slot.checksum_ok());
    assert_eq!(slot.timestamp, 0);
    let mut expected = held.leader;
    expected.timestamp = 0;
    expected.seal();
    assert_eq!(slot, expected, "all but the timestamp kept");
    assert!(delta_bitmap(&env, 1).is_empty(), "rest of the sector zero");
    assert_eq!(env.writes(LS_DISK), 1);
    assert_eq!(env.reads(LS_DISK), 0);
    assert!(env.sleeps().is_empty(), "release does not delay");
}

#[test]
fn delta_release_lets_the_next_host_in_after_the_short_delay_only() {
    let (env, cfg, held) = joined();
    block_on(delta::delta_release(&env, &cfg, &held)).unwrap();
    env.reset_log();
    let next = acquire(&env, &ls_config(1, "host-b", 10)).unwrap();
    assert_eq!(env.sleeps(), vec![20_000]);
    assert_eq!(next.generation, held.generation + 1);
}
