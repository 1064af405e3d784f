//! `LeaseError::code()` against sanlock_rv.h (spec sanlock-protocol.md,
//! result codes) and errno values, for every variant.

use paxlock_core::{IoFault, LeaseError};
use paxlock_format::leader::LeaderError;
use paxlock_format::LeaderKind;

#[test]
fn lease_error_codes_match_sanlock_rv_h() {
    let eio = IoFault::Failed(-5);
    let cases: Vec<(LeaseError, i32)> = vec![
        (LeaseError::LeaderRead(eio), -220),  // SANLK_LEADER_READ
        (LeaseError::LeaderWrite(eio), -221), // SANLK_LEADER_WRITE
        (LeaseError::DblockRead(eio), -210),  // SANLK_DBLOCK_READ
        (LeaseError::DblockWrite(eio), -211), // SANLK_DBLOCK_WRITE
        (LeaseError::DblockChecksum { host_id: 3 }, -214), // SANLK_DBLOCK_CHECKSUM
        (
            LeaseError::AcquireLver {
                found: 1,
                wanted: 2,
            },
            -240,
        ), // SANLK_ACQUIRE_LVER
        (
            LeaseError::IdLive {
                owner_id: 1,
                owner_generation: 1,
            },
            -243, // SANLK_ACQUIRE_IDLIVE
        ),
        (
            LeaseError::Owned {
                owner_id: 1,
                lver: 1,
            },
            -244,
        ), // SANLK_ACQUIRE_OWNED
        (LeaseError::Other { owner_id: 1 }, -245), // SANLK_ACQUIRE_OTHER
        (LeaseError::ShRetry, -246),               // SANLK_ACQUIRE_SHRETRY
        (LeaseError::OwnedRetry { owner_id: 1 }, -247), // SANLK_ACQUIRE_OWNED_RETRY
        (LeaseError::SharedHolders { hosts: vec![2] }, -11), // -EAGAIN
        (LeaseError::ReleaseLver { found: 2, ours: 1 }, -250), // SANLK_RELEASE_LVER
        (LeaseError::ReleaseOwner("x"), -251),     // SANLK_RELEASE_OWNER
        (
            LeaseError::RenewOwner {
                owner_id: 1,
                generation: 2,
                name: "b".into(),
            },
            -260, // SANLK_RENEW_OWNER
        ),
        (LeaseError::RenewDiff, -261), // SANLK_RENEW_DIFF
        (
            LeaseError::HostIdBusy {
                host_id: 1,
                name: "b".into(),
            },
            -262, // SANLK_HOSTID_BUSY
        ),
        (
            LeaseError::InvalidHostId {
                host_id: 0,
                max_hosts: 2000,
            },
            -231, // SANLK_ADDLS_INVALID_HOSTID
        ),
        (
            LeaseError::RequestOld {
                requested: 1,
                current: 1,
            },
            -272, // SANLK_REQUEST_OLD
        ),
        (LeaseError::RequestLver(5), -273), // SANLK_REQUEST_LVER
        (LeaseError::RequestMagic, -270),   // SANLK_REQUEST_MAGIC
        (LeaseError::Stopped, -201),        // SANLK_ERROR
    ];
    for (e, code) in cases {
        assert_eq!(e.code(), code, "{e:?}");
    }
}

#[test]
fn lease_error_io_timeouts_are_sanlk_aio_timeout() {
    for e in [
        LeaseError::LeaderRead(IoFault::Timeout),
        LeaseError::LeaderWrite(IoFault::Timeout),
        LeaseError::DblockRead(IoFault::Timeout),
        LeaseError::DblockWrite(IoFault::Timeout),
    ] {
        assert_eq!(e.code(), -202, "{e:?}");
    }
}

#[test]
fn lease_error_leader_codes_match_sanlock_rv_h() {
    let cases: Vec<(LeaderError, i32)> = vec![
        (
            LeaderError::Magic {
                found: LeaderKind::Zero,
                expected: "x",
            },
            -223, // SANLK_LEADER_MAGIC
        ),
        (
            LeaderError::Version {
                found: 0x0009_0000,
                expected_major: 0x0006_0000,
            },
            -224, // SANLK_LEADER_VERSION
        ),
        (
            LeaderError::Lockspace {
                found: "a".into(),
                expected: "b".into(),
            },
            -226, // SANLK_LEADER_LOCKSPACE
        ),
        (
            LeaderError::Resource {
                found: "a".into(),
                expected: "b".into(),
            },
            -227, // SANLK_LEADER_RESOURCE
        ),
        (
            LeaderError::NumHosts {
                num_hosts: 1,
                host_id: 2,
            },
            -228, // SANLK_LEADER_NUMHOSTS
        ),
        (
            LeaderError::Checksum {
                stored: 1,
                computed: 2,
            },
            -229, // SANLK_LEADER_CHECKSUM
        ),
    ];
    for (le, code) in cases {
        let e = LeaseError::from(le);
        assert_eq!(e.code(), code, "{e:?}");
        // spec 1.3 step 2: every LEADER_* result of a renewal is corrupt
        assert!(e.is_corrupt_renewal(), "{e:?}");
    }
}

#[test]
fn lease_error_only_owner_diff_and_leader_results_are_corrupt_renewals() {
    assert!(LeaseError::RenewDiff.is_corrupt_renewal());
    assert!(LeaseError::RenewOwner {
        owner_id: 1,
        generation: 1,
        name: String::new()
    }
    .is_corrupt_renewal());
    for e in [
        LeaseError::LeaderRead(IoFault::Timeout),
        LeaseError::LeaderRead(IoFault::Failed(-5)),
        LeaseError::LeaderWrite(IoFault::Timeout),
        LeaseError::LeaderWrite(IoFault::Failed(-5)),
        LeaseError::Stopped,
    ] {
        assert!(!e.is_corrupt_renewal(), "{e:?}");
    }
}
