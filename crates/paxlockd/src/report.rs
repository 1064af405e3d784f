//! STATUS, HOST_STATUS and the resource strings of INQUIRE.

use crate::state::*;
use crate::*;
use paxlock_core::paxos::{Held, Mode};
use paxlock_format::Name;
use paxlock_proto::flags::*;
use paxlock_proto::reply::{self, StatusEntry};
use paxlock_proto::wire::{ResourceArg, SanlkState, StateRecord};
use paxlock_proto::SmHeader;

/// sanlock_path_export: a backslash before every unescaped ':' and space.
pub(crate) fn path_export(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            ':' | ' ' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// sanlock_res_to_str, as INQUIRE and STATUS print a held resource.
pub(crate) fn res_to_str(arg: &ResourceArg, held: &Held) -> String {
    let mut s = format!("{}:{}", arg.res.lockspace_name, arg.res.name);
    for disk in &arg.disks {
        s.push_str(&format!(
            ":{}:{}",
            path_export(&disk.path.to_string_lossy()),
            disk.offset
        ));
    }
    if held.mode == Mode::Sh {
        s.push_str(":SH");
    } else {
        s.push_str(&format!(":{}", held.lver));
    }
    s
}

pub(crate) fn state(state_type: u32, data32: u32, data64: u64, name: Name) -> SanlkState {
    SanlkState {
        state_type,
        flags: 0,
        data32,
        pad1: 0,
        data64,
        name,
        str_len: 0,
        pad2: 0,
    }
}

pub(crate) fn record(st: SanlkState, text: &str) -> Option<StateRecord> {
    StateRecord::new(st, text).ok()
}

pub(crate) fn status(d: &Daemon, h: &SmHeader) -> Vec<u8> {
    let mut out = reply::encode_stream_header(h, 0, h.data2).to_vec();
    let mut push = |e: StatusEntry| e.encode(&mut out);
    if let Some(r) = record(
        state(SANLK_STATE_DAEMON, 0, 0, d.host_name),
        &format!("our_host_name={} use_watchdog=0", d.opts.host_name),
    ) {
        push(StatusEntry::Plain(r));
    }
    // sanlock lists its internal helper and listener, then its clients,
    // then the status connection itself: scripts see the same lines.
    for name in ["helper", "listener"] {
        if let Some(r) = record(
            state(
                SANLK_STATE_CLIENT,
                u32::MAX,
                0,
                Name::new(name).unwrap_or_default(),
            ),
            "pid=-1",
        ) {
            push(StatusEntry::Plain(r));
        }
    }
    if let Ok(clients) = d.clients.lock() {
        let mut cids: Vec<&Cid> = clients.keys().collect();
        cids.sort();
        for cid in cids {
            let c = &clients[cid];
            let pid = c.pid;
            let name = Name::new(&c.name).unwrap_or_default();
            if let Some(r) = record(
                state(SANLK_STATE_CLIENT, pid as u32, 0, name),
                &format!("pid={pid}"),
            ) {
                push(StatusEntry::Plain(r));
            }
        }
    }
    if let Some(r) = record(
        state(
            SANLK_STATE_CLIENT,
            u32::MAX,
            0,
            Name::new("status").unwrap_or_default(),
        ),
        "pid=-1",
    ) {
        push(StatusEntry::Plain(r));
    }
    if let Ok(spaces) = d.spaces.lock() {
        for s in spaces.iter() {
            let list = match &s.state {
                SpaceState::Adding => "add",
                SpaceState::Joined(_) | SpaceState::Removing(_) => "spaces",
                SpaceState::Leaving => "rem",
            };
            if let Some(r) = record(
                state(SANLK_STATE_LOCKSPACE, 0, s.ls.host_id, s.ls.name),
                &format!("list={list}"),
            ) {
                push(StatusEntry::Lockspace(r, s.ls.clone()));
            }
        }
    }
    if let Ok(clients) = d.clients.lock() {
        for c in clients.values() {
            let pid = &c.pid;
            for t in &c.tokens {
                let mut arg = t.arg.clone();
                if t.held.mode == Mode::Sh {
                    arg.res.flags |= SANLK_RES_SHARED;
                }
                let st = state(
                    SANLK_STATE_RESOURCE,
                    *pid as u32,
                    t.held.lver,
                    t.arg.res.name,
                );
                if let Some(r) = record(st, &format!("list=held lver={}", t.held.lver)) {
                    push(StatusEntry::Resource(r, arg));
                }
            }
        }
    }
    crate::orphan::status(d, &mut push);
    out
}

pub(crate) fn host_status(d: &Daemon, h: &SmHeader, name: &Name) -> Vec<u8> {
    let Some(l) = d.joined(name) else {
        return reply::encode_stream_header(h, ENOSPC, 0).to_vec();
    };
    let mut out = reply::encode_stream_header(h, 0, 0).to_vec();
    for (id, hs, _) in l.hosts() {
        let text = format!(
            "last_check={} last_live={} last_req=0 owner_id={} owner_generation={} timestamp={} io_timeout={}",
            hs.last_check_ms / 1000,
            hs.last_live_ms / 1000,
            hs.owner_id,
            hs.owner_generation,
            hs.timestamp,
            hs.io_timeout
        );
        if let Some(r) = record(
            state(SANLK_STATE_HOST, id as u32, hs.timestamp, Name::default()),
            &text,
        ) {
            StatusEntry::Plain(r).encode(&mut out);
        }
    }
    out
}

/// RENEWAL: our renewal history in a lockspace, one record per good
/// renewal (`sanlock client renewal -s LS` prints the texts).
pub(crate) fn renewal(d: &Daemon, h: &SmHeader, name: &Name) -> Vec<u8> {
    let Some(l) = d.joined(name) else {
        return reply::encode_stream_header(h, ENOSPC, 0).to_vec();
    };
    let io = l.config().timeouts.io_timeout_secs();
    let mut out = reply::encode_stream_header(h, 0, io).to_vec();
    for r in l.renewal_history() {
        let text = format!(
            "timestamp={} read_ms={} write_ms={} next_timeouts={} next_errors={}",
            r.timestamp, r.read_ms, r.write_ms, r.next_timeouts, r.next_errors
        );
        if let Some(rec) = record(state(SANLK_STATE_RENEWAL, 0, r.timestamp, *name), &text) {
            StatusEntry::Plain(rec).encode(&mut out);
        }
    }
    out
}
