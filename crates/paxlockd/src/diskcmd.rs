//! Disk commands that need no lockspace membership: ALIGN, init and read
//! of lockspaces and resources, READ_RESOURCE_OWNERS, and the resource
//! index (FORMAT/REBUILD/UPDATE/LOOKUP_RINDEX, CREATE/DELETE_RESOURCE).

use paxlock_proto::{Request, SmHeader};

use crate::conn::Reply;
use crate::state::Daemon;

/// Handles `req` if it is a disk command; `None` otherwise.
pub(crate) fn handle(_d: &Daemon, _h: &SmHeader, _req: &Request) -> Option<Reply> {
    None
}
