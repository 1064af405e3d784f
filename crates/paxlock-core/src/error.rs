//! Errors of the lease algorithms, each with sanlock's result number.

use paxlock_format::leader::LeaderError;

use crate::env::IoFault;

/// Why a lease operation failed. [`LeaseError::code`] gives sanlock's number
/// (`sanlock_rv.h`, or a negative errno), which clients see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// A read of a leader record failed.
    #[error("reading the leader record: {0}")]
    LeaderRead(IoFault),
    /// A write of a leader record failed.
    #[error("writing the leader record: {0}")]
    LeaderWrite(IoFault),
    /// A read of dblocks failed.
    #[error("reading dblocks: {0}")]
    DblockRead(IoFault),
    /// A write of our dblock failed.
    #[error("writing our dblock: {0}")]
    DblockWrite(IoFault),
    /// The leader record is not the expected one.
    #[error("{0}")]
    Leader(#[from] LeaderError),
    /// A dblock of a host has a bad checksum.
    #[error("dblock of host_id {host_id} has a bad checksum")]
    DblockChecksum {
        /// Whose dblock.
        host_id: u64,
    },
    /// The caller's lver does not match the lease.
    #[error("the lease is at lver {found}, not the lver {wanted} asked for")]
    AcquireLver {
        /// On disk.
        found: u64,
        /// Asked for.
        wanted: u64,
    },
    /// The owner is alive (`SANLK_ACQUIRE_IDLIVE`).
    #[error(
        "the lease is held by host_id {owner_id} (generation {owner_generation}), which is alive"
    )]
    IdLive {
        /// Owner host_id.
        owner_id: u64,
        /// Owner generation.
        owner_generation: u64,
    },
    /// Another host committed this lver first (`SANLK_ACQUIRE_OWNED`).
    #[error("host_id {owner_id} acquired the lease first (lver {lver})")]
    Owned {
        /// The new owner.
        owner_id: u64,
        /// The lver it holds.
        lver: u64,
    },
    /// Our ballot committed another host's value (`SANLK_ACQUIRE_OTHER`).
    #[error("the ballot chose host_id {owner_id} as owner")]
    Other {
        /// Who was chosen.
        owner_id: u64,
    },
    /// Owned by someone not yet known dead, and we may not wait.
    #[error("the lease is held by host_id {owner_id}, which is not yet known to be dead")]
    OwnedRetry {
        /// Owner host_id.
        owner_id: u64,
    },
    /// Shared acquire kept losing to short exclusive holds.
    #[error("shared acquire gave up after repeated contention")]
    ShRetry,
    /// Live shared holders prevent an exclusive lease (`-EAGAIN`).
    #[error("host_id(s) {hosts:?} hold the lease shared and are alive")]
    SharedHolders {
        /// Live holders.
        hosts: Vec<u64>,
    },
    /// Release found a leader that is no longer ours.
    #[error("release: the lease is no longer ours ({0})")]
    ReleaseOwner(&'static str),
    /// Release found another lver.
    #[error("release: the lease moved to lver {found} (we hold {ours})")]
    ReleaseLver {
        /// On disk.
        found: u64,
        /// Ours.
        ours: u64,
    },
    /// Our delta lease names another owner (`SANLK_RENEW_OWNER`).
    #[error("our delta lease was taken over by another host (owner {owner_id} generation {generation} name {name:?})")]
    RenewOwner {
        /// Owner on disk.
        owner_id: u64,
        /// Generation on disk.
        generation: u64,
        /// Host name on disk.
        name: String,
    },
    /// Our delta lease differs from what we wrote (`SANLK_RENEW_DIFF`).
    #[error("our delta lease changed under us")]
    RenewDiff,
    /// The host_id is held by another live host (`SANLK_HOSTID_BUSY`).
    #[error("host_id {host_id} is in use by another host ({name:?})")]
    HostIdBusy {
        /// The host_id.
        host_id: u64,
        /// Who holds it.
        name: String,
    },
    /// host_id outside 1..=max_hosts.
    #[error("host_id {host_id} is out of range 1..={max_hosts}")]
    InvalidHostId {
        /// Given.
        host_id: u64,
        /// Geometry maximum.
        max_hosts: u64,
    },
    /// The request is for an lver not newer than the lease's.
    #[error("request for lver {requested} is stale: the lease is at lver {current}")]
    RequestOld {
        /// Asked.
        requested: u64,
        /// On disk.
        current: u64,
    },
    /// A newer request is already recorded.
    #[error("a request for a newer lver {0} is already recorded")]
    RequestLver(u64),
    /// The request record has a bad magic.
    #[error("the request record has a bad magic")]
    RequestMagic,
    /// The request record has an unknown version.
    #[error("the request record has an unknown version 0x{0:x}")]
    RequestVersion(u32),
    /// The leader is behind the dblocks (a late commit went back over a
    /// newer one): nothing is written until it is repaired.
    #[error("the leader is at lver {leader_lver} but host_id {host_id}'s dblock is at lver {dblock_lver}: the leader went back (a late write); not acting on it")]
    LeaderBehind {
        /// The leader's lver.
        leader_lver: u64,
        /// Whose dblock is ahead.
        host_id: u64,
        /// Its lver.
        dblock_lver: u64,
    },
    /// The operation was stopped (lockspace removed, shutdown).
    #[error("stopped")]
    Stopped,
}

impl LeaseError {
    /// sanlock's result number for this error.
    pub fn code(&self) -> i32 {
        match self {
            LeaseError::LeaderRead(IoFault::Timeout)
            | LeaseError::LeaderWrite(IoFault::Timeout)
            | LeaseError::DblockRead(IoFault::Timeout)
            | LeaseError::DblockWrite(IoFault::Timeout) => -202,
            LeaseError::LeaderRead(_) => -220,
            LeaseError::LeaderWrite(_) => -221,
            LeaseError::DblockRead(_) => -210,
            LeaseError::DblockWrite(_) => -211,
            LeaseError::Leader(e) => e.code(),
            LeaseError::DblockChecksum { .. } => -214,
            LeaseError::AcquireLver { .. } => -240,
            LeaseError::IdLive { .. } => -243,
            LeaseError::Owned { .. } => -244,
            LeaseError::Other { .. } => -245,
            LeaseError::ShRetry => -246,
            LeaseError::OwnedRetry { .. } => -247,
            LeaseError::SharedHolders { .. } => -11,
            LeaseError::ReleaseLver { .. } => -250,
            LeaseError::ReleaseOwner(_) => -251,
            LeaseError::RenewOwner { .. } => -260,
            LeaseError::RenewDiff => -261,
            LeaseError::HostIdBusy { .. } => -262,
            LeaseError::InvalidHostId { .. } => -231,
            LeaseError::RequestOld { .. } => -272,
            LeaseError::RequestLver(_) => -273,
            LeaseError::RequestMagic => -270,
            LeaseError::RequestVersion(_) => -271,
            LeaseError::LeaderBehind { .. } => -222,
            LeaseError::Stopped => -201,
        }
    }

    /// True for a failed or timed-out read or write (worth a retry).
    pub fn is_io(&self) -> bool {
        matches!(
            self,
            LeaseError::LeaderRead(_)
                | LeaseError::LeaderWrite(_)
                | LeaseError::DblockRead(_)
                | LeaseError::DblockWrite(_)
        )
    }

    /// True for renewal results that mean our delta lease is corrupt or
    /// taken: the lockspace is lost at once, without waiting for the
    /// renewal-fail timeout.
    pub fn is_corrupt_renewal(&self) -> bool {
        matches!(
            self,
            LeaseError::RenewOwner { .. } | LeaseError::RenewDiff | LeaseError::Leader(_)
        )
    }
}
