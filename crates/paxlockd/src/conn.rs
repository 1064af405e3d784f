//! One connection: read a request, decode it, dispatch, reply.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use crate::dispatch::handle;
use crate::lease::client_dead;
use crate::state::*;
use paxlock_proto::flags::SANLK_RESTRICT_ALL;
use paxlock_proto::reply::{self};
use paxlock_proto::{decode_request, Request, SmHeader};

/// Serves one connection until it closes.
///
/// A connection may sit idle between requests for ever (a registered
/// process holds its leases that way), but once a header has arrived its
/// payload must follow within [`MSG_TIMEOUT`], and a reply must be taken
/// within it too: a client that stalls mid-message or never reads gets
/// its connection closed, and its thread ends.
pub(crate) fn serve(d: &Arc<Daemon>, mut s: UnixStream) {
    let mut registered: Option<Cid> = None;
    let _ = s.set_write_timeout(Some(MSG_TIMEOUT));
    loop {
        let mut hb = [0u8; 32];
        let _ = s.set_read_timeout(None);
        if s.read_exact(&mut hb).is_err() {
            break;
        }
        let _ = s.set_read_timeout(Some(MSG_TIMEOUT));
        let h = SmHeader::from_bytes(&hb);
        if h.check().into_result().is_err() {
            break; // wrong magic or protocol: close
        }
        let Ok(len) = Request::payload_len_to_read(&h) else {
            break;
        };
        // Grown as bytes arrive: a length that lies costs nothing.
        let mut payload = Vec::new();
        match (&mut s).take(len as u64).read_to_end(&mut payload) {
            Ok(n) if n == len => {}
            _ => break, // truncated, or stalled past MSG_TIMEOUT
        }
        let req = match decode_request(&h, &payload) {
            Ok(r) => r,
            Err(e) => match e.result_code() {
                Some(rv) => {
                    let _ = s.write_all(&reply::encode_result(&h, rv));
                    continue;
                }
                None => break,
            },
        };
        if let Some(cid) = registered {
            let all = d
                .clients
                .lock()
                .map(|c| {
                    c.get(&cid)
                        .is_some_and(|c| c.restrict & SANLK_RESTRICT_ALL != 0)
                })
                .unwrap_or(false);
            if all {
                // RESTRICT_ALL: dropped without a reply, as sanlock does;
                // the connection stays registered.
                d.log(format!("ci {cid} restrict all: {:?} dropped", req.cmd()));
                continue;
            }
        }
        match handle(d, &h, req, &s, &mut registered) {
            Reply::Bytes(b) => {
                if s.write_all(&b).is_err() {
                    break;
                }
            }
            Reply::None => {}
            Reply::Close(b) => {
                let _ = s.write_all(&b);
                break;
            }
        }
    }
    if let Some(cid) = registered {
        client_dead(d, cid);
    }
}

/// How long the rest of a message, or the taking of a reply, may take.
pub(crate) const MSG_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) enum Reply {
    Bytes(Vec<u8>),
    None,
    Close(Vec<u8>),
}

pub(crate) fn result(h: &SmHeader, rv: i32) -> Reply {
    Reply::Bytes(reply::encode_result(h, rv).to_vec())
}

pub(crate) fn peer_pid(s: &UnixStream) -> Option<i32> {
    rustix::net::sockopt::socket_peercred(s)
        .ok()
        .map(|c| c.pid.as_raw_nonzero().get())
}
