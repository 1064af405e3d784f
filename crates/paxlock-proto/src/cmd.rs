//! Command numbers (`SM_CMD_*`) carried in `sm_header.cmd`.

use std::fmt;

use crate::ProtoError;

/// A sanlock client command (`SM_CMD_*`, sanlock 3.8: 1..=40).
///
/// Spec 3.3. The names are sanlock's, so log lines map to sanlock's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Cmd {
    /// `SM_CMD_REGISTER` (1): make this connection the caller's lease owner; no reply.
    Register = 1,
    /// `SM_CMD_ADD_LOCKSPACE` (2): join a lockspace (acquire our delta lease).
    AddLockspace = 2,
    /// `SM_CMD_REM_LOCKSPACE` (3): leave a lockspace.
    RemLockspace = 3,
    /// `SM_CMD_SHUTDOWN` (4): stop the daemon; no reply.
    Shutdown = 4,
    /// `SM_CMD_STATUS` (5): stream of status records until EOF.
    Status = 5,
    /// `SM_CMD_LOG_DUMP` (6): the in-memory debug log.
    LogDump = 6,
    /// `SM_CMD_ACQUIRE` (7): acquire resource leases for a registered pid.
    Acquire = 7,
    /// `SM_CMD_RELEASE` (8): release resource leases.
    Release = 8,
    /// `SM_CMD_INQUIRE` (9): the leases a pid holds, as a state string.
    Inquire = 9,
    /// `SM_CMD_RESTRICT` (10): restrict what the daemon does to this pid.
    Restrict = 10,
    /// `SM_CMD_REQUEST` (11): ask the owner of a lease to give it up.
    Request = 11,
    /// `SM_CMD_ALIGN` (12): alignment of a lease area on a disk.
    Align = 12,
    /// `SM_CMD_EXAMINE_LOCKSPACE` (13): check request records of a lockspace's resources.
    ExamineLockspace = 13,
    /// `SM_CMD_EXAMINE_RESOURCE` (14): check the request record of a resource.
    ExamineResource = 14,
    /// `SM_CMD_HOST_STATUS` (15): stream of host records until EOF.
    HostStatus = 15,
    /// `SM_CMD_INQ_LOCKSPACE` (16): is a lockspace joined?
    InqLockspace = 16,
    /// `SM_CMD_KILLPATH` (17): program to run instead of a signal on lease loss.
    Killpath = 17,
    /// `SM_CMD_WRITE_LOCKSPACE` (18): initialise a lockspace area.
    WriteLockspace = 18,
    /// `SM_CMD_WRITE_RESOURCE` (19): initialise a resource lease area.
    WriteResource = 19,
    /// `SM_CMD_READ_LOCKSPACE` (20): read a lockspace's parameters from disk.
    ReadLockspace = 20,
    /// `SM_CMD_READ_RESOURCE` (21): read a resource's parameters from disk.
    ReadResource = 21,
    /// `SM_CMD_GET_LOCKSPACES` (22): the lockspaces this host is in.
    GetLockspaces = 22,
    /// `SM_CMD_GET_HOSTS` (23): the hosts of a lockspace.
    GetHosts = 23,
    /// `SM_CMD_READ_RESOURCE_OWNERS` (24): the hosts owning a resource.
    ReadResourceOwners = 24,
    /// `SM_CMD_SET_LVB` (25): write a lock value block.
    SetLvb = 25,
    /// `SM_CMD_GET_LVB` (26): read a lock value block.
    GetLvb = 26,
    /// `SM_CMD_CONVERT` (27): switch a held lease between shared and exclusive.
    Convert = 27,
    /// `SM_CMD_VERSION` (28): daemon version and protocol.
    Version = 28,
    /// `SM_CMD_SHUTDOWN_WAIT` (29): stop the daemon and answer when it exits.
    ShutdownWait = 29,
    /// `SM_CMD_REG_EVENT` (30): turn this connection into an event fd.
    RegEvent = 30,
    /// `SM_CMD_END_EVENT` (31): unregister an event fd.
    EndEvent = 31,
    /// `SM_CMD_SET_EVENT` (32): publish an event to other hosts.
    SetEvent = 32,
    /// `SM_CMD_SET_CONFIG` (33): per-lockspace settings.
    SetConfig = 33,
    /// `SM_CMD_RENEWAL` (34): stream of renewal-history records until EOF.
    Renewal = 34,
    /// `SM_CMD_FORMAT_RINDEX` (35): initialise a resource index.
    FormatRindex = 35,
    /// `SM_CMD_UPDATE_RINDEX` (36): add or remove a resource index entry.
    UpdateRindex = 36,
    /// `SM_CMD_LOOKUP_RINDEX` (37): find a resource index entry.
    LookupRindex = 37,
    /// `SM_CMD_CREATE_RESOURCE` (38): allocate an entry and initialise its lease.
    CreateResource = 38,
    /// `SM_CMD_DELETE_RESOURCE` (39): free an entry and clear its lease.
    DeleteResource = 39,
    /// `SM_CMD_REBUILD_RINDEX` (40): rebuild the index from the leases on disk.
    RebuildRindex = 40,
}

impl Cmd {
    /// Every command, in numeric order.
    pub const ALL: [Cmd; 40] = [
        Cmd::Register,
        Cmd::AddLockspace,
        Cmd::RemLockspace,
        Cmd::Shutdown,
        Cmd::Status,
        Cmd::LogDump,
        Cmd::Acquire,
        Cmd::Release,
        Cmd::Inquire,
        Cmd::Restrict,
        Cmd::Request,
        Cmd::Align,
        Cmd::ExamineLockspace,
        Cmd::ExamineResource,
        Cmd::HostStatus,
        Cmd::InqLockspace,
        Cmd::Killpath,
        Cmd::WriteLockspace,
        Cmd::WriteResource,
        Cmd::ReadLockspace,
        Cmd::ReadResource,
        Cmd::GetLockspaces,
        Cmd::GetHosts,
        Cmd::ReadResourceOwners,
        Cmd::SetLvb,
        Cmd::GetLvb,
        Cmd::Convert,
        Cmd::Version,
        Cmd::ShutdownWait,
        Cmd::RegEvent,
        Cmd::EndEvent,
        Cmd::SetEvent,
        Cmd::SetConfig,
        Cmd::Renewal,
        Cmd::FormatRindex,
        Cmd::UpdateRindex,
        Cmd::LookupRindex,
        Cmd::CreateResource,
        Cmd::DeleteResource,
        Cmd::RebuildRindex,
    ];

    /// The number on the wire.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// sanlock's name without the `SM_CMD_` prefix, e.g. `"ADD_LOCKSPACE"`.
    pub fn name(self) -> &'static str {
        match self {
            Cmd::Register => "REGISTER",
            Cmd::AddLockspace => "ADD_LOCKSPACE",
            Cmd::RemLockspace => "REM_LOCKSPACE",
            Cmd::Shutdown => "SHUTDOWN",
            Cmd::Status => "STATUS",
            Cmd::LogDump => "LOG_DUMP",
            Cmd::Acquire => "ACQUIRE",
            Cmd::Release => "RELEASE",
            Cmd::Inquire => "INQUIRE",
            Cmd::Restrict => "RESTRICT",
            Cmd::Request => "REQUEST",
            Cmd::Align => "ALIGN",
            Cmd::ExamineLockspace => "EXAMINE_LOCKSPACE",
            Cmd::ExamineResource => "EXAMINE_RESOURCE",
            Cmd::HostStatus => "HOST_STATUS",
            Cmd::InqLockspace => "INQ_LOCKSPACE",
            Cmd::Killpath => "KILLPATH",
            Cmd::WriteLockspace => "WRITE_LOCKSPACE",
            Cmd::WriteResource => "WRITE_RESOURCE",
            Cmd::ReadLockspace => "READ_LOCKSPACE",
            Cmd::ReadResource => "READ_RESOURCE",
            Cmd::GetLockspaces => "GET_LOCKSPACES",
            Cmd::GetHosts => "GET_HOSTS",
            Cmd::ReadResourceOwners => "READ_RESOURCE_OWNERS",
            Cmd::SetLvb => "SET_LVB",
            Cmd::GetLvb => "GET_LVB",
            Cmd::Convert => "CONVERT",
            Cmd::Version => "VERSION",
            Cmd::ShutdownWait => "SHUTDOWN_WAIT",
            Cmd::RegEvent => "REG_EVENT",
            Cmd::EndEvent => "END_EVENT",
            Cmd::SetEvent => "SET_EVENT",
            Cmd::SetConfig => "SET_CONFIG",
            Cmd::Renewal => "RENEWAL",
            Cmd::FormatRindex => "FORMAT_RINDEX",
            Cmd::UpdateRindex => "UPDATE_RINDEX",
            Cmd::LookupRindex => "LOOKUP_RINDEX",
            Cmd::CreateResource => "CREATE_RESOURCE",
            Cmd::DeleteResource => "DELETE_RESOURCE",
            Cmd::RebuildRindex => "REBUILD_RINDEX",
        }
    }
}

impl TryFrom<u32> for Cmd {
    type Error = ProtoError;

    fn try_from(n: u32) -> Result<Cmd, ProtoError> {
        if (1..=40).contains(&n) {
            Ok(Cmd::ALL[(n - 1) as usize])
        } else {
            Err(ProtoError::UnknownCommand { cmd: n })
        }
    }
}

impl From<Cmd> for u32 {
    fn from(c: Cmd) -> u32 {
        c as u32
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_match_the_table() {
        for (i, c) in Cmd::ALL.iter().enumerate() {
            assert_eq!(c.number(), i as u32 + 1);
            assert_eq!(Cmd::try_from(c.number()).unwrap(), *c);
        }
        // spot checks against spec 3.3
        assert_eq!(Cmd::Version.number(), 28);
        assert_eq!(Cmd::Renewal.number(), 34);
        assert_eq!(Cmd::LookupRindex.number(), 37);
        assert_eq!(Cmd::RebuildRindex.name(), "REBUILD_RINDEX");
    }

    #[test]
    fn unknown_numbers_are_errors() {
        for n in [0, 41, 1000, u32::MAX] {
            assert_eq!(Cmd::try_from(n), Err(ProtoError::UnknownCommand { cmd: n }));
        }
    }
}
