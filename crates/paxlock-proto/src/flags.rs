//! Flag bits and small enumerations carried in headers and structs.
//!
//! Names are sanlock's (`sanlock.h`, `sanlock_resource.h`,
//! `sanlock_admin.h`, `sanlock_sock.h`), values are from spec 3. Each group
//! says where it travels. Unknown bits are ignored by sanlock, and so
//! should they be by paxlock.
#![allow(missing_docs)] // the constant names are the documentation

// ---- sanlk_resource.flags (SANLK_RES_*) ------------------------------------

/// `lver` holds the lease version the acquire must find.
pub const SANLK_RES_LVER: u32 = 0x0000_0001;
/// `data32` holds a new num_hosts.
pub const SANLK_RES_NUM_HOSTS: u32 = 0x0000_0002;
/// Shared mode.
pub const SANLK_RES_SHARED: u32 = 0x0000_0004;
/// The lease survives its owner's exit as an orphan.
pub const SANLK_RES_PERSISTENT: u32 = 0x0000_0008;
pub const SANLK_RES_ALIGN1M: u32 = 0x0000_0010;
pub const SANLK_RES_ALIGN2M: u32 = 0x0000_0020;
pub const SANLK_RES_ALIGN4M: u32 = 0x0000_0040;
pub const SANLK_RES_ALIGN8M: u32 = 0x0000_0080;
pub const SANLK_RES_SECTOR512: u32 = 0x0000_0100;
pub const SANLK_RES_SECTOR4K: u32 = 0x0000_0200;

// ---- sanlk_lockspace.flags (SANLK_LSF_*) -----------------------------------

/// In GET_LOCKSPACES replies: the lockspace is being added.
pub const SANLK_LSF_ADD: u32 = 0x0000_0001;
/// In GET_LOCKSPACES replies: the lockspace is being removed.
pub const SANLK_LSF_REM: u32 = 0x0000_0002;
pub const SANLK_LSF_ALIGN1M: u32 = 0x0000_0010;
pub const SANLK_LSF_ALIGN2M: u32 = 0x0000_0020;
pub const SANLK_LSF_ALIGN4M: u32 = 0x0000_0040;
pub const SANLK_LSF_ALIGN8M: u32 = 0x0000_0080;
pub const SANLK_LSF_SECTOR512: u32 = 0x0000_0100;
pub const SANLK_LSF_SECTOR4K: u32 = 0x0000_0200;

// ---- sanlk_rindex.flags (SANLK_RIF_*, same values as RES) -------------------

pub const SANLK_RIF_ALIGN1M: u32 = 0x0000_0010;
pub const SANLK_RIF_ALIGN2M: u32 = 0x0000_0020;
pub const SANLK_RIF_ALIGN4M: u32 = 0x0000_0040;
pub const SANLK_RIF_ALIGN8M: u32 = 0x0000_0080;
pub const SANLK_RIF_SECTOR512: u32 = 0x0000_0100;
pub const SANLK_RIF_SECTOR4K: u32 = 0x0000_0200;

// ---- cmd_flags of RESTRICT (SANLK_RESTRICT_*) -------------------------------

/// Ignore every later request on the connection (no reply).
pub const SANLK_RESTRICT_ALL: u32 = 0x0000_0001;
/// Never SIGKILL this pid (SIGTERM instead).
pub const SANLK_RESTRICT_SIGKILL: u32 = 0x0000_0002;
/// Never SIGTERM this pid (SIGKILL instead).
pub const SANLK_RESTRICT_SIGTERM: u32 = 0x0000_0004;

// ---- cmd_flags of KILLPATH ----------------------------------------------------

/// Append the pid as the killpath program's last argument.
pub const SANLK_KILLPATH_PID: u32 = 0x0000_0001;

// ---- cmd_flags of ACQUIRE (SANLK_ACQUIRE_*) -----------------------------------

pub const SANLK_ACQUIRE_LVB: u32 = 0x0000_0001;
pub const SANLK_ACQUIRE_ORPHAN: u32 = 0x0000_0002;
pub const SANLK_ACQUIRE_ORPHAN_ONLY: u32 = 0x0000_0004;
pub const SANLK_ACQUIRE_OWNER_NOWAIT: u32 = 0x0000_0008;

// ---- cmd_flags of RELEASE (SANLK_REL_*) ----------------------------------------

/// Release every lease of the pid; the payload is ignored.
pub const SANLK_REL_ALL: u32 = 0x0000_0001;
/// Two structs: the second carries the new name written at release.
pub const SANLK_REL_RENAME: u32 = 0x0000_0002;
/// Release orphans; an empty name means every orphan of the lockspace.
pub const SANLK_REL_ORPHAN: u32 = 0x0000_0004;

// ---- cmd_flags of CONVERT ---------------------------------------------------------

/// Same value as `SANLK_ACQUIRE_OWNER_NOWAIT`.
pub const SANLK_CONVERT_OWNER_NOWAIT: u32 = 0x0000_0008;

// ---- REQUEST: cmd_flags and header.data (force mode) ------------------------------

/// cmd_flags: request the next lease version (python sets it when `version=None`).
pub const SANLK_REQUEST_NEXT_LVER: u32 = 0x0000_0001;
/// force_mode (`header.data`): SIGKILL the holder.
pub const SANLK_REQ_FORCE: u32 = 0x0000_0001;
/// force_mode (`header.data`): killpath, else SIGTERM.
pub const SANLK_REQ_GRACEFUL: u32 = 0x0000_0002;
/// Old name of `SANLK_REQ_FORCE`.
pub const SANLK_REQ_KILL_PID: u32 = SANLK_REQ_FORCE;

// ---- cmd_flags of ADD / REM / INQ_LOCKSPACE -----------------------------------------

/// ADD_LOCKSPACE: reply as soon as the add has started.
pub const SANLK_ADD_ASYNC: u32 = 0x0000_0001;
/// REM_LOCKSPACE: reply as soon as the removal has started.
pub const SANLK_REM_ASYNC: u32 = 0x0000_0001;
/// REM_LOCKSPACE: fail with `-EBUSY` if any lease is held in it.
pub const SANLK_REM_UNUSED: u32 = 0x0000_0002;
/// INQ_LOCKSPACE: wait while the lockspace is being added or removed.
pub const SANLK_INQ_WAIT: u32 = 0x0000_0001;

// ---- cmd_flags of WRITE_RESOURCE ---------------------------------------------------

/// Write an invalid lease so that later reads fail.
pub const SANLK_WRITE_CLEAR: u32 = 0x0000_0001;

// ---- sanlk_host.flags & SANLK_HOST_MASK (host state) --------------------------------

pub const SANLK_HOST_UNKNOWN: u32 = 0x0000_0001;
pub const SANLK_HOST_FREE: u32 = 0x0000_0002;
pub const SANLK_HOST_LIVE: u32 = 0x0000_0003;
pub const SANLK_HOST_FAIL: u32 = 0x0000_0004;
pub const SANLK_HOST_DEAD: u32 = 0x0000_0005;
/// Selects the `SANLK_HOST_*` state from `sanlk_host.flags`.
pub const SANLK_HOST_MASK: u32 = 0x0000_000F;

// ---- SET_CONFIG config_cmd (header.data) ---------------------------------------------

pub const SANLK_CONFIG_USED: u32 = 0x0000_0001;
pub const SANLK_CONFIG_UNUSED: u32 = 0x0000_0002;
pub const SANLK_CONFIG_USED_BY_ORPHANS: u32 = 0x0000_0004;
pub const SANLK_CONFIG_UNUSED_BY_ORPHANS: u32 = 0x0000_0008;

// ---- cmd_flags of the rindex commands ------------------------------------------------

/// Any rindex command: do not use the lockspace (no paxos lease on the index).
pub const SANLK_RX_NO_LOCKSPACE: u32 = 0x0000_0001;
/// UPDATE_RINDEX: add the entry.
pub const SANLK_RXUP_ADD: u32 = 0x0001_0000;
/// UPDATE_RINDEX: remove the entry.
pub const SANLK_RXUP_REM: u32 = 0x0002_0000;

// ---- cmd_flags of SET_EVENT (SANLK_SETEV_*) --------------------------------------------

pub const SANLK_SETEV_CUR_GENERATION: u32 = 0x0000_0001;
pub const SANLK_SETEV_CLEAR_HOSTID: u32 = 0x0000_0002;
pub const SANLK_SETEV_CLEAR_EVENT: u32 = 0x0000_0004;
pub const SANLK_SETEV_REPLACE_EVENT: u32 = 0x0000_0008;
pub const SANLK_SETEV_ALL_HOSTS: u32 = 0x0000_0010;

// ---- sanlk_state.type (SANLK_STATE_*) and STATUS levels ----------------------------------

pub const SANLK_STATE_DAEMON: u32 = 1;
pub const SANLK_STATE_CLIENT: u32 = 2;
pub const SANLK_STATE_LOCKSPACE: u32 = 3;
pub const SANLK_STATE_RESOURCE: u32 = 4;
pub const SANLK_STATE_HOST: u32 = 5;
pub const SANLK_STATE_RENEWAL: u32 = 6;

// ---- event fd messages ------------------------------------------------------------------

/// `event_cb.h.version`.
pub const SM_CB_PROTO: u32 = 0x0000_0001;
/// `event_cb.h.cmd`.
pub const SM_CB_GET_EVENT: u32 = 1;
/// The 4 bytes (`u32` 1) a client writes on its event fd before END_EVENT.
pub const END_EVENT_MARKER: u32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rindex_and_lockspace_geometry_flags_equal_resource_ones() {
        // sanlock makes these equal "in case of typos"; paxlock relies on it.
        assert_eq!(SANLK_RIF_ALIGN1M, SANLK_RES_ALIGN1M);
        assert_eq!(SANLK_RIF_SECTOR4K, SANLK_RES_SECTOR4K);
        assert_eq!(SANLK_LSF_ALIGN8M, SANLK_RES_ALIGN8M);
        assert_eq!(SANLK_LSF_SECTOR512, SANLK_RES_SECTOR512);
        assert_eq!(SANLK_CONVERT_OWNER_NOWAIT, SANLK_ACQUIRE_OWNER_NOWAIT);
    }
}
