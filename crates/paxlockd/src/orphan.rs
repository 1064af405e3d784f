//! Persistent leases and orphans (sanlock-protocol.md 7.5).
//!
//! A lease acquired with the resource flag `SANLK_RES_PERSISTENT` is not
//! released when its holder dies (its registered connection closes): it
//! stays held on disk and becomes an *orphan* (`status` shows
//! `list=orphan`, the CLI prints ` ORPHAN`). An explicit RELEASE releases
//! it as usual. Then, as sanlock 3.8.5 does:
//!
//! * ACQUIRE of an orphan's resource without `SANLK_ACQUIRE_ORPHAN` or
//!   `ORPHAN_ONLY` fails with `-EUCLEAN`, and so does an orphan-acquire in
//!   the other mode (EX vs SH). In the same mode the new holder adopts it
//!   without disk I/O (same lver; its LVB too).
//! * `ORPHAN_ONLY` with no orphan: sanlock tests the wrong bit here
//!   (`cmd_flags & 1`, i.e. `SANLK_ACQUIRE_LVB`), so it answers `-ENOENT`
//!   only when `SANLK_ACQUIRE_LVB` is set too and otherwise acquires the
//!   lease normally. We do the same.
//! * RELEASE with `SANLK_REL_ORPHAN` releases the orphans of the named
//!   resource (every orphan of the lockspace when the name is empty) and
//!   answers their number, not 0.
//! * Orphans count as use for REM_LOCKSPACE with `SANLK_REM_UNUSED`
//!   (-EBUSY); with SET_CONFIG USED_BY_ORPHANS they hold off a removal
//!   until released. When the lockspace is left they are dropped without
//!   disk I/O (freeing our host_id frees them).
//! * A lease whose lockspace is lost or being removed is never orphaned.

use std::sync::{Arc, Weak};

use paxlock_core::paxos::Mode;
use paxlock_driver::Lockspace;
use paxlock_format::Name;
use paxlock_proto::flags::*;
use paxlock_proto::reply::StatusEntry;
use paxlock_proto::wire::{ResourceArg, SanlkResource};

use crate::report::{record, state};
use crate::state::*;
use crate::*;

const EUCLEAN: i32 = -117;

/// A persistent lease whose holder died.
pub(crate) struct Orphan {
    pub(crate) token: Token,
    /// The dead holder's pid (sanlock shows 0 for a shared one).
    pub(crate) pid: i32,
    /// The lockspace incarnation it is held in: once that is left, the
    /// orphan is gone.
    space: Weak<Lockspace>,
}

impl Orphan {
    fn alive(&self) -> bool {
        self.space.strong_count() > 0
    }

    fn is(&self, space: &Name, name: &Name) -> bool {
        self.token.held.res.space_name.same_as(space) && self.token.held.res.name.same_as(name)
    }
}

fn persistent(t: &Token) -> bool {
    t.arg.res.flags & SANLK_RES_PERSISTENT != 0 && !t.busy
}

/// A client died: its persistent leases in a joined (not lost, not
/// removed) lockspace become orphans instead of being released.
pub(crate) fn keep_persistent(d: &Daemon, cid: Cid) {
    // Lock order: the lockspaces are looked up with the client table
    // unlocked (others lock spaces, then clients).
    let names: Vec<Name> = d
        .clients
        .lock()
        .map(|c| {
            c.get(&cid)
                .map(|c| {
                    c.tokens
                        .iter()
                        .filter(|t| persistent(t))
                        .map(|t| t.held.res.space_name)
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default();
    if names.is_empty() {
        return;
    }
    let spaces: Vec<(Name, Arc<Lockspace>)> = names
        .iter()
        .filter_map(|n| d.joined(n).map(|l| (*n, l)))
        .collect();
    let (pid, kept): (i32, Vec<Token>) = {
        let Ok(mut c) = d.clients.lock() else {
            return;
        };
        let Some(client) = c.get_mut(&cid) else {
            return;
        };
        let (kept, rest): (Vec<Token>, Vec<Token>) = client.tokens.drain(..).partition(|t| {
            persistent(t)
                && spaces
                    .iter()
                    .any(|(n, _)| n.same_as(&t.held.res.space_name))
        });
        client.tokens = rest;
        (client.pid, kept)
    };
    let Ok(mut o) = d.orphans.lock() else {
        return;
    };
    for t in kept {
        let Some((_, l)) = spaces
            .iter()
            .find(|(n, _)| n.same_as(&t.held.res.space_name))
        else {
            continue;
        };
        d.log(format!(
            "ci {cid} pid {pid} dead: {}:{} kept as orphan",
            t.held.res.space_name, t.held.res.name
        ));
        o.push(Orphan {
            pid: if t.held.mode == Mode::Sh { 0 } else { pid },
            token: t,
            space: Arc::downgrade(l),
        });
    }
}

/// What ACQUIRE does about orphans of a resource.
pub(crate) enum Check {
    /// No orphan: acquire on disk.
    Acquire,
    /// Adopted: the lease is the caller's now.
    Adopted(Box<Token>),
    /// Refused with this result.
    Refuse(i32),
}

/// ACQUIRE of `arg` with acquire `flags`: refuse, adopt an orphan, or go on.
pub(crate) fn check(d: &Daemon, arg: &ResourceArg, flags: u32) -> Check {
    let r = &arg.res;
    let allow = flags & (SANLK_ACQUIRE_ORPHAN | SANLK_ACQUIRE_ORPHAN_ONLY) != 0;
    let Ok(mut o) = d.orphans.lock() else {
        return Check::Refuse(EINVAL);
    };
    o.retain(Orphan::alive);
    let Some(i) = o.iter().position(|x| x.is(&r.lockspace_name, &r.name)) else {
        // sanlock's `cmd_flags & only_orphan` (see the module comment).
        if flags & SANLK_ACQUIRE_ORPHAN_ONLY != 0 && flags & SANLK_ACQUIRE_LVB != 0 {
            return Check::Refuse(ENOENT);
        }
        return Check::Acquire;
    };
    let want_sh = r.flags & SANLK_RES_SHARED != 0;
    let is_sh = o[i].token.held.mode == Mode::Sh;
    if !allow || want_sh != is_sh {
        d.log(format!(
            "acquire {}:{}: orphan exists (allowed {allow}, shared {is_sh})",
            r.lockspace_name, r.name
        ));
        return Check::Refuse(EUCLEAN);
    }
    let orphan = o.remove(i);
    let mut token = orphan.token;
    // The new holder's request (its flags decide whether the lease is
    // persistent from now on); the lease itself as held on disk.
    token.arg = arg.clone();
    token.busy = false;
    d.log(format!(
        "acquire {}:{} adopted orphan lver {}",
        r.lockspace_name, r.name, token.held.lver
    ));
    Check::Adopted(Box::new(token))
}

/// RELEASE with `SANLK_REL_ORPHAN`: releases the orphans of `r` (all of
/// its lockspace when `r.name` is empty). Returns how many.
pub(crate) fn release(d: &Daemon, r: Option<&SanlkResource>) -> i32 {
    let Some(r) = r else {
        return 0;
    };
    let taken: Vec<Orphan> = {
        let Ok(mut o) = d.orphans.lock() else {
            return 0;
        };
        o.retain(Orphan::alive);
        let (taken, rest) = o.drain(..).partition(|x| {
            x.token.held.res.space_name.same_as(&r.lockspace_name)
                && (r.name.is_empty() || x.token.held.res.name.same_as(&r.name))
        });
        *o = rest;
        taken
    };
    let n = taken.len();
    for mut x in taken {
        let name = (x.token.held.res.space_name, x.token.held.res.name);
        let outcome = match d.live(&name.0) {
            Some(l) => {
                crate::lvb::write_back_token(
                    d,
                    &mut x.token,
                    l.config().timeouts.io_timeout_secs(),
                );
                match crate::lease::release_retrying(&l, &x.token.held) {
                    Ok(()) => "done".to_string(),
                    Err(e) => format!("failed {e}"),
                }
            }
            None => "without disk i/o (lockspace lost)".to_string(),
        };
        d.log(format!("release orphan {}:{} {outcome}", name.0, name.1));
    }
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Orphans held in lockspace `name`.
pub(crate) fn count_in(d: &Daemon, name: &Name) -> usize {
    d.orphans
        .lock()
        .map(|o| {
            o.iter()
                .filter(|x| x.alive() && x.token.held.res.space_name.same_as(name))
                .count()
        })
        .unwrap_or(0)
}

/// Whether orphans hold off leaving lockspace `name` (SET_CONFIG
/// USED_BY_ORPHANS and orphans there).
pub(crate) fn block_leaving(d: &Daemon, name: &Name) -> bool {
    let used = d
        .spaces
        .lock()
        .map(|s| {
            s.iter()
                .any(|s| s.ls.name.same_as(name) && s.used_by_orphans)
        })
        .unwrap_or(false);
    used && count_in(d, name) > 0
}

/// The STATUS records of the orphans.
pub(crate) fn status(d: &Daemon, push: &mut dyn FnMut(StatusEntry)) {
    let Ok(o) = d.orphans.lock() else {
        return;
    };
    for x in o.iter().filter(|x| x.alive()) {
        let t = &x.token;
        let mut arg = t.arg.clone();
        if t.held.mode == Mode::Sh {
            arg.res.flags |= SANLK_RES_SHARED;
        }
        let st = state(
            SANLK_STATE_RESOURCE,
            x.pid as u32,
            t.held.lver,
            t.arg.res.name,
        );
        if let Some(r) = record(st, &format!("list=orphan lver={}", t.held.lver)) {
            push(StatusEntry::Resource(r, arg));
        }
    }
}
