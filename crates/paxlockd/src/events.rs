//! Host events (sanlock-protocol.md 3.4, sanlock-ondisk.md 3.2-3.3):
//! SET_EVENT, REG_EVENT, END_EVENT and the `event_cb` messages.
//!
//! A host sends an event by writing it into the `write_*` fields of its
//! own delta lease and setting the target's bit in its bitmap for
//! set_bitmap_seconds; the event stays in its lease until replaced or
//! cleared. A host that reads another's lease with its bit set, at a
//! renewal of that host (its timestamp changed) and a non-zero event,
//! pushes an 80-byte `event_cb` on every connection registered with
//! REG_EVENT in that lockspace (non-blocking: dropped if the socket is
//! full, the connection forgotten on error).
//!
//! A registered event connection is no longer read by the daemon: its
//! thread ends and a copy of the socket is kept here. The client ends it
//! by writing the 4-byte value 1 and closing it, then sends END_EVENT on a
//! new connection, which makes the daemon look (non-blocking) at every
//! registered connection of the lockspace and forget the ended ones.

use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use paxlock_core::delta::HostEvent;
use paxlock_driver::{monotime_ms, Lockspace, ReceivedEvent};
use paxlock_format::Name;
use paxlock_proto::flags::*;
use paxlock_proto::wire::{EventCb, SanlkHostEvent};
use rustix::net::{RecvFlags, SendFlags};

use crate::state::*;
use crate::*;

/// REG_EVENT connections per lockspace (sanlock's `MAX_EVENT_FDS`).
pub(crate) const MAX_EVENT_FDS: usize = 32;
/// No free event slot.
pub(crate) const ENOCSI: i32 = -50;
/// sanlock's `DEFAULT_MAX_HOSTS`: set_event's upper bound on host_id.
const DEFAULT_MAX_HOSTS: u64 = 2000;

/// A lockspace's host events.
#[derive(Default)]
pub(crate) struct SpaceEvents {
    /// The registered event connections (at most [`MAX_EVENT_FDS`]).
    fds: Mutex<Vec<UnixStream>>,
    /// The event our renewals write, and when SET_EVENT last set or
    /// cleared it (local ms).
    sending: Mutex<(SanlkHostEvent, Option<u64>)>,
}

impl SpaceEvents {
    /// Pushes `e` on every registered connection (never blocks).
    pub(crate) fn deliver(&self, e: &ReceivedEvent) {
        let cb = EventCb::new(
            SanlkHostEvent {
                host_id: e.host_id,
                generation: e.event.generation,
                event: e.event.event,
                data: e.event.data,
            },
            e.from_host_id,
            e.from_generation,
        );
        let mut bytes = Vec::with_capacity(EventCb::LEN);
        cb.encode(&mut bytes);
        let Ok(mut fds) = self.fds.lock() else {
            return;
        };
        fds.retain(|s| {
            match rustix::net::send(s, &bytes, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
                Ok(_) => true,
                // Full: this one is lost, as with sanlock's MSG_DONTWAIT
                // (which closes the fd on any error, EAGAIN included; we
                // keep a slow reader registered).
                Err(e) if e == rustix::io::Errno::AGAIN => true,
                Err(_) => false,
            }
        });
    }

    /// Forgets the connections whose client ended them (wrote 1, or
    /// closed or broke them). Returns how many.
    fn clean(&self) -> usize {
        let Ok(mut fds) = self.fds.lock() else {
            return 0;
        };
        let before = fds.len();
        fds.retain(|s| {
            let mut end = [0u8; 4];
            match rustix::net::recv(s, &mut end[..], RecvFlags::DONTWAIT) {
                Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::INTR => true,
                // Some other value than 1: ignored, as sanlock does.
                Ok((4, _)) => u32::from_le_bytes(end) != 1,
                // EOF, a short read, an error: gone.
                _ => false,
            }
        });
        before - fds.len()
    }
}

/// The lockspace named `name` as sanlock's `spaces` list has it (joined,
/// possibly lost or being removed; not while being added or left).
fn find(d: &Daemon, name: &Name) -> Option<(Arc<SpaceEvents>, Arc<Lockspace>)> {
    let spaces = d.spaces.lock().ok()?;
    let s = spaces.iter().find(|s| s.ls.name.same_as(name))?;
    match &s.state {
        SpaceState::Joined(l) | SpaceState::Removing(l) => {
            Some((Arc::clone(&s.events), Arc::clone(l)))
        }
        SpaceState::Adding | SpaceState::Leaving => None,
    }
}

/// Called once a lockspace is joined: its renewals hand us the events
/// other hosts send.
pub(crate) fn attach(events: &Arc<SpaceEvents>, l: &Lockspace) {
    let ev = Arc::clone(events);
    l.set_event_sink(move |e| ev.deliver(&e));
}

/// REG_EVENT: `s` becomes an event connection of lockspace `name`. On
/// success the caller stops reading it (after the reply).
pub(crate) fn reg_event(d: &Daemon, name: &Name, s: &UnixStream) -> i32 {
    if name.is_empty() {
        return EINVAL;
    }
    let Some((ev, _)) = find(d, name) else {
        return ENOENT;
    };
    for attempt in 0..2 {
        if let Ok(mut fds) = ev.fds.lock() {
            if fds.len() < MAX_EVENT_FDS {
                let Ok(c) = s.try_clone() else {
                    return ENOCSI;
                };
                fds.push(c);
                d.log(format!("s {name} reg_event slot {}", fds.len() - 1));
                return 0;
            }
        }
        // Full: make room from ended connections, once.
        if attempt == 0 && ev.clean() == 0 {
            break;
        }
    }
    ENOCSI
}

/// END_EVENT: forget the event connections of `name` its clients ended.
pub(crate) fn end_event(d: &Daemon, name: &Name) -> i32 {
    if name.is_empty() {
        return EINVAL;
    }
    let Some((ev, _)) = find(d, name) else {
        return ENOENT;
    };
    let n = ev.clean();
    d.log(format!("s {name} end_event: {n} unregistered"));
    0
}

/// SET_EVENT: what our renewals write from now on, and whose bits they
/// set (sanlock's `lockspace_set_event`).
pub(crate) fn set_event(d: &Daemon, name: &Name, mut he: SanlkHostEvent, flags: u32) -> i32 {
    if name.is_empty() || he.host_id == 0 || he.host_id > DEFAULT_MAX_HOSTS {
        return EINVAL;
    }
    let Some((ev, l)) = find(d, name) else {
        return ENOENT;
    };
    let max_hosts = l.config().geometry.max_hosts();
    if he.host_id > max_hosts {
        return EINVAL;
    }
    if he.generation == 0 && flags & SANLK_SETEV_CUR_GENERATION != 0 {
        // The generation our renewals last saw in its slot (0 if none).
        he.generation = l
            .hosts()
            .into_iter()
            .find(|(id, _, _)| *id == he.host_id)
            .map(|(_, hs, _)| hs.owner_generation)
            .unwrap_or(0);
    }
    let now = monotime_ms();
    let window_ms = u64::from(l.config().timeouts.set_bitmap_secs()) * 1000;
    let Ok(mut sending) = ev.sending.lock() else {
        return EINVAL;
    };
    let write = |l: &Lockspace, e: &SanlkHostEvent| {
        l.set_host_event(HostEvent {
            generation: e.generation,
            event: e.event,
            data: e.data,
        })
    };
    if flags & SANLK_SETEV_CLEAR_EVENT != 0 {
        *sending = (SanlkHostEvent::default(), Some(now));
        write(&l, &sending.0);
        return 0;
    }
    if flags & SANLK_SETEV_CLEAR_HOSTID != 0 {
        l.clear_host_signal(he.host_id);
        return 0;
    }
    let (cur, set_at) = *sending;
    // A different non-zero event may not replace one set within
    // set_bitmap_seconds (its targets may not have seen it yet).
    if flags & SANLK_SETEV_REPLACE_EVENT == 0
        && set_at.is_some_and(|t| now.saturating_sub(t) < window_ms)
        && cur.event != 0
        && he.event != 0
        && cur.event != he.event
    {
        d.log(format!(
            "s {name} set_event {} {} {} {} busy: {} {} {} {} not yet seen",
            he.host_id,
            he.generation,
            he.event,
            he.data,
            cur.host_id,
            cur.generation,
            cur.event,
            cur.data
        ));
        return EBUSY;
    }
    *sending = (he, Some(now));
    write(&l, &he);
    if flags & SANLK_SETEV_ALL_HOSTS != 0 {
        let ours = l.config().host_id;
        for h in (1..=max_hosts).filter(|h| *h != ours) {
            l.signal_host(h);
        }
    } else if he.host_id != l.config().host_id {
        l.signal_host(he.host_id);
    }
    d.log(format!(
        "s {name} set_event {} {} {} {} flags {flags:#x}",
        he.host_id, he.generation, he.event, he.data
    ));
    0
}
