//! How other hosts are judged from our renewal reads (spec
//! sanlock-algorithms.md 1.5 and 2.1): `HostTable::state` (get_host_flag),
//! `HostTable::live` (host_live) and `HostTable::signalled_by`.

mod common;

use common::*;
use paxlock_core::delta::{HostState, HostTable};
use paxlock_format::leader::set_bitmap_host;

const T: u64 = START_MS;

/// A lockspace where host 2 holds its slot (generation 1, timestamp 900,
/// io_timeout `io`).
fn peer(io: u16) -> MemEnv {
    let env = MemEnv::new();
    init_lockspace(&env, 10);
    edit_delta_slot(&env, 2, |l| {
        l.owner_id = 2;
        l.owner_generation = 1;
        l.resource_name = name("host-b");
        l.timestamp = 900;
        l.io_timeout = io;
    });
    env
}

fn observe(table: &mut HostTable, env: &MemEnv, at_ms: u64) {
    table.observe(&ls_area(env), g(), &name(SPACE), at_ms);
}

fn state(table: &HostTable, host_id: u64, at_ms: u64) -> HostState {
    table.state(host_id, 1, timeouts(10), at_ms)
}

/// host 2 observed at T, and seen renewing at T + 20 s.
fn seen_renewing(io: u16) -> (MemEnv, HostTable) {
    let env = peer(io);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    edit_delta_slot(&env, 2, |l| l.timestamp = 920);
    observe(&mut t, &env, T + 20_000);
    (env, t)
}

#[test]
fn host_table_reports_unknown_right_after_the_first_observation() {
    let env = peer(10);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    assert_eq!(state(&t, 2, T), HostState::Unknown);
    let hs = t.get(2).unwrap();
    assert_eq!(
        (hs.first_check_ms, hs.last_check_ms, hs.last_live_ms),
        (T, T, T)
    );
    assert_eq!(
        (hs.timestamp, hs.owner_id, hs.owner_generation),
        (900, 2, 1)
    );
    assert_eq!(hs.io_timeout, 10);
    assert!(!hs.lease_bad);
    // no change at the next look: still unknown
    observe(&mut t, &env, T + 20_000);
    assert_eq!(state(&t, 2, T + 20_000), HostState::Unknown);
    assert_eq!(t.get(2).unwrap().last_check_ms, T + 20_000);
    assert_eq!(t.get(2).unwrap().last_live_ms, T);
}

#[test]
fn host_table_reports_unknown_for_a_host_never_observed() {
    let t = HostTable::default();
    assert_eq!(state(&t, 2, T), HostState::Unknown);
    assert!(t.get(2).is_none());
}

#[test]
fn host_table_reports_live_once_a_change_is_seen() {
    let (env, mut t) = seen_renewing(10);
    assert_eq!(state(&t, 2, T + 20_000), HostState::Live);
    assert_eq!(t.get(2).unwrap().last_live_ms, T + 20_000);
    // a look without change keeps it live
    observe(&mut t, &env, T + 40_000);
    assert_eq!(state(&t, 2, T + 40_000), HostState::Live);
    assert_eq!(t.get(2).unwrap().last_live_ms, T + 20_000);
}

#[test]
fn host_table_counts_a_new_generation_as_a_change() {
    let env = peer(10);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    // same timestamp, new incarnation
    edit_delta_slot(&env, 2, |l| l.owner_generation = 2);
    observe(&mut t, &env, T + 20_000);
    assert_eq!(t.get(2).unwrap().last_live_ms, T + 20_000);
    assert_eq!(t.get(2).unwrap().owner_generation, 2);
    assert_eq!(state(&t, 2, T + 20_000), HostState::Live);
}

#[test]
fn host_table_reports_fail_after_8_io_without_change() {
    let (_env, t) = seen_renewing(10);
    let last = T + 20_000;
    assert_eq!(state(&t, 2, last + 80_000), HostState::Live);
    assert_eq!(state(&t, 2, last + 81_000), HostState::Fail);
}

#[test]
fn host_table_reports_dead_after_8_io_plus_watchdog_fire_timeout() {
    let (_env, t) = seen_renewing(10);
    let last = T + 20_000;
    assert_eq!(state(&t, 2, last + 140_000), HostState::Fail);
    assert_eq!(state(&t, 2, last + 141_000), HostState::Dead);
}

#[test]
fn host_table_reports_fail_then_dead_for_a_host_never_seen_changing() {
    let env = peer(10);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    observe(&mut t, &env, T + 60_000);
    assert_eq!(state(&t, 2, T + 80_000), HostState::Unknown);
    assert_eq!(state(&t, 2, T + 81_000), HostState::Fail);
    assert_eq!(state(&t, 2, T + 141_000), HostState::Dead);
}

#[test]
fn host_table_reports_free_for_timestamp_zero() {
    let env = peer(10);
    edit_delta_slot(&env, 3, |l| l.owner_id = 3);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    assert_eq!(state(&t, 3, T), HostState::Free);
    assert_eq!(state(&t, 3, T + 1_000_000), HostState::Free);
    // a host that leaves becomes free
    edit_delta_slot(&env, 2, |l| l.timestamp = 0);
    observe(&mut t, &env, T + 20_000);
    assert_eq!(state(&t, 2, T + 20_000), HostState::Free);
}

#[test]
fn host_table_reports_our_own_host_id_live() {
    let env = peer(10);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    // judged as host 2 itself: never seen changing, long ago
    assert_eq!(t.state(2, 2, timeouts(10), T + 1_000_000), HostState::Live);
    assert_eq!(state(&t, 2, T + 1_000_000), HostState::Dead);
}

#[test]
fn host_table_judges_a_peer_by_its_own_io_timeout() {
    // peer io 20 (ours 10): fail 160 s, dead 220 s
    let (_env, t) = seen_renewing(20);
    let last = T + 20_000;
    assert_eq!(state(&t, 2, last + 160_000), HostState::Live);
    assert_eq!(state(&t, 2, last + 161_000), HostState::Fail);
    assert_eq!(state(&t, 2, last + 220_000), HostState::Fail);
    assert_eq!(state(&t, 2, last + 221_000), HostState::Dead);
    // a peer with io 5 fails after 40 s
    let (_env, t) = seen_renewing(5);
    assert_eq!(state(&t, 2, last + 41_000), HostState::Fail);
    assert_eq!(state(&t, 2, last + 101_000), HostState::Dead);
}

#[test]
fn host_table_uses_our_io_timeout_for_a_peer_that_wrote_none() {
    let (_env, t) = seen_renewing(0);
    let last = T + 20_000;
    assert_eq!(state(&t, 2, last + 80_000), HostState::Live);
    assert_eq!(state(&t, 2, last + 81_000), HostState::Fail);
    assert_eq!(state(&t, 2, last + 141_000), HostState::Dead);
}

#[test]
fn host_table_keeps_identity_of_a_bad_record_but_counts_its_timestamp_change() {
    let env = peer(10);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    // the record goes bad (checksum) with another generation and timestamp
    edit_delta_slot_unsealed(&env, 2, |l| {
        l.owner_generation = 7;
        l.timestamp = 950;
    });
    observe(&mut t, &env, T + 20_000);
    let hs = t.get(2).unwrap();
    assert!(hs.lease_bad);
    assert_eq!(hs.owner_generation, 1, "identity left alone");
    assert_eq!(hs.timestamp, 950);
    assert_eq!(hs.last_live_ms, T + 20_000, "a timestamp change counts");
    // a bad record whose timestamp does not change is no sign of life
    observe(&mut t, &env, T + 40_000);
    assert_eq!(t.get(2).unwrap().last_live_ms, T + 20_000);
}

// ---------------------------------------------------------------------------
// live()

#[test]
fn host_table_live_is_true_for_a_host_never_observed() {
    let t = HostTable::default();
    assert!(t.live(2, 1, timeouts(10)));
}

#[test]
fn host_table_live_is_false_for_timestamp_zero() {
    let env = peer(10);
    edit_delta_slot(&env, 2, |l| l.timestamp = 0);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    assert!(!t.live(2, 1, timeouts(10)));
}

#[test]
fn host_table_live_is_false_when_a_newer_generation_holds_the_host_id() {
    let env = peer(10);
    edit_delta_slot(&env, 2, |l| l.owner_generation = 3);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    assert!(!t.live(2, 2, timeouts(10)), "generation 2 is gone");
    assert!(t.live(2, 3, timeouts(10)));
    assert!(t.live(2, 4, timeouts(10)), "not known to be older");
}

#[test]
fn host_table_live_is_false_when_never_seen_changing_for_longer_than_host_dead() {
    let env = peer(10);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    observe(&mut t, &env, T + 100_000);
    assert!(t.live(2, 1, timeouts(10)));
    observe(&mut t, &env, T + 140_000);
    assert!(t.live(2, 1, timeouts(10)));
    observe(&mut t, &env, T + 141_000);
    assert!(!t.live(2, 1, timeouts(10)));
}

/// Dead needs evidence: an old table (our renewals stalled, or we were
/// frozen) says nothing about the time since our last look, however
/// long ago that was (simulator seed 3038887).
#[test]
fn host_table_live_is_true_when_our_own_look_is_old() {
    let env = peer(10);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    observe(&mut t, &env, T + 100_000);
    assert!(t.live(2, 1, timeouts(10)));
}

#[test]
fn host_table_live_is_false_when_the_last_change_is_older_than_host_dead() {
    let (env, mut t) = seen_renewing(10);
    let last = T + 20_000;
    observe(&mut t, &env, last + 140_000);
    assert!(t.live(2, 1, timeouts(10)));
    observe(&mut t, &env, last + 141_000);
    assert!(!t.live(2, 1, timeouts(10)));
    // with the peer's io 20, 220 s
    let (env, mut t) = seen_renewing(20);
    observe(&mut t, &env, last + 220_000);
    assert!(t.live(2, 1, timeouts(10)));
    observe(&mut t, &env, last + 221_000);
    assert!(!t.live(2, 1, timeouts(10)));
}

// ---------------------------------------------------------------------------
// signalled_by()

#[test]
fn host_table_signalled_by_finds_the_hosts_whose_bitmap_has_our_bit() {
    let env = peer(10);
    for (host, bits) in [(2u64, &[1u64, 9][..]), (5, &[1]), (3, &[4]), (7, &[2000])] {
        let mut s = delta_sector(&env, host);
        for &b in bits {
            assert!(set_bitmap_host(&mut s, b));
        }
        env.poke(LS_DISK, (host - 1) * 512, &s);
    }
    let area = ls_area(&env);
    assert_eq!(HostTable::signalled_by(&area, g(), 1), vec![2, 5]);
    assert_eq!(HostTable::signalled_by(&area, g(), 4), vec![3]);
    assert_eq!(HostTable::signalled_by(&area, g(), 9), vec![2]);
    assert_eq!(HostTable::signalled_by(&area, g(), 2000), vec![7]);
    assert!(HostTable::signalled_by(&area, g(), 8).is_empty());
    assert!(HostTable::signalled_by(&area, g(), 0).is_empty());
}

#[test]
fn host_table_signalled_by_sees_bits_a_renewal_wrote() {
    let env = MemEnv::new();
    init_lockspace(&env, 10);
    let a = Host::join(&env, 1, "host-a");
    let b = Host::join(&env, 2, "host-b");
    env.advance_ms(20_000);
    let mut held = b.held.borrow_mut();
    let area = paxlock_core::block_on(paxlock_core::delta::delta_renew(
        &env,
        &b.cfg,
        &mut held,
        &[1],
        Default::default(),
    ))
    .unwrap();
    // not in the area read before the write, but in the next one
    assert!(HostTable::signalled_by(&area, g(), a.id()).is_empty());
    assert_eq!(
        HostTable::signalled_by(&ls_area(&env), g(), a.id()),
        vec![2]
    );
}

#[test]
fn host_table_fed_by_renewals_sees_a_joining_peer_unknown_then_live() {
    let env = MemEnv::new();
    init_lockspace(&env, 10);
    let a = Host::join(&env, 1, "host-a");
    let b = Host::join(&env, 2, "host-b");
    a.renew(&env).unwrap();
    let ours = timeouts(10);
    let state_of_b = |now| a.table.lock().unwrap().state(2, 1, ours, now);
    assert_eq!(state_of_b(env.now_ms()), HostState::Unknown);
    env.advance_ms(20_000);
    b.renew(&env).unwrap();
    env.advance_ms(1_000);
    a.renew(&env).unwrap();
    assert_eq!(state_of_b(env.now_ms()), HostState::Live);
    assert_eq!(
        a.table.lock().unwrap().state(1, 1, ours, env.now_ms()),
        HostState::Live
    );
    // b stops renewing
    for _ in 0..4 {
        env.advance_ms(20_000);
        a.renew(&env).unwrap();
    }
    assert_eq!(state_of_b(env.now_ms()), HostState::Live, "80 s");
    env.advance_ms(20_000);
    a.renew(&env).unwrap();
    assert_eq!(state_of_b(env.now_ms()), HostState::Fail, "100 s");
    for _ in 0..2 {
        env.advance_ms(20_000);
        a.renew(&env).unwrap();
    }
    assert_eq!(state_of_b(env.now_ms()), HostState::Fail, "140 s");
    assert_eq!(state_of_b(env.now_ms() + 1_000), HostState::Dead, "141 s");
}

/// A host seen at generation 1 that rejoined as generation 2 after our last
/// look (its new mode block carries generation 2) is alive, however stale
/// its old incarnation looks: we have not observed the new one yet.
#[test]
fn host_table_live_for_a_generation_newer_than_observed() {
    let (env, mut t) = seen_renewing(10);
    let long_after = T + 20_000 + 1_000_000;
    observe(&mut t, &env, long_after);
    assert!(!t.live(2, 1, timeouts(10)), "generation 1 is stale");
    assert!(
        t.live(2, 2, timeouts(10)),
        "generation 2 is newer than we saw"
    );
}

/// A slot we saw free (generation 0) whose host has joined since (its mode
/// block says generation 1) is alive: we have not looked since it joined.
#[test]
fn host_table_live_for_a_host_that_joined_a_slot_we_saw_free() {
    let env = MemEnv::new();
    init_lockspace(&env, 10);
    let mut t = HostTable::default();
    observe(&mut t, &env, T);
    assert!(!t.live(2, 0, timeouts(10)), "free when we looked");
    assert!(
        t.live(2, 1, timeouts(10)),
        "a newer incarnation than we saw"
    );
}
