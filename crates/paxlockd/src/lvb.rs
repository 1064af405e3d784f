//! Lock value blocks (sanlock-algorithms.md: "The LVB is the sector after
//! the dblock of host 2000"): one sector of a resource lease, sector 2002
//! of its area, that holders pass a value through.
//!
//! As sanlock does: ACQUIRE with `SANLK_ACQUIRE_LVB` reads the sector into
//! the held lease (a read error is only logged); SET_LVB copies the value
//! into the start of that copy (the rest keeps what was read) and marks it
//! to be written; the sector is written back when an exclusive lease is
//! released or converted to shared (a write error is only logged, and a
//! shared release never writes). GET_LVB returns the copy (one sector, or
//! `header.data2` bytes of it). SET_LVB and GET_LVB find the lease among
//! every lease held on this host, whoever holds it.

use std::path::Path;
use std::time::Duration;

use paxlock_core::paxos::{Held, Mode};
use paxlock_io::{Access, Disk};
use paxlock_proto::wire::{ResourceArg, SanlkResource};

use crate::state::*;
use crate::*;

/// The LVB's sector in the lease area.
const LVB_SECTOR: u64 = 2002;
const E2BIG: i32 = -7;

/// A held lease's lock value block.
#[derive(Debug, Clone)]
pub(crate) struct Lvb {
    /// One sector: as read at acquire, then as SET_LVB changed it.
    pub(crate) buf: Vec<u8>,
    /// SET_LVB changed it since it was last written.
    pub(crate) dirty: bool,
}

fn location(arg: &ResourceArg, held: &Held) -> Option<(String, u64, usize)> {
    let disk = arg.disks.first()?;
    let ss = held.geometry.sector_usize();
    let off = disk
        .offset
        .checked_add(LVB_SECTOR.checked_mul(ss as u64)?)?;
    Some((disk.path.to_string_lossy(), off, ss))
}

/// Reads the LVB of a lease just acquired with `SANLK_ACQUIRE_LVB`. A
/// read error leaves it zeroed (logged), as the acquire still succeeds.
pub(crate) fn read(d: &Daemon, arg: &ResourceArg, held: &Held, io_timeout_secs: u32) -> Lvb {
    let ss = held.geometry.sector_usize();
    let mut lvb = Lvb {
        buf: vec![0; ss],
        dirty: false,
    };
    let Some((path, off, ss)) = location(arg, held) else {
        return lvb;
    };
    let r = Disk::open(Path::new(&path), Access::ReadOnly)
        .and_then(|disk| disk.read_at(off, ss, Duration::from_secs(u64::from(io_timeout_secs))));
    match r {
        Ok(b) => {
            let b = b.into_vec();
            let n = b.len().min(ss);
            lvb.buf[..n].copy_from_slice(&b[..n]);
        }
        Err(e) => d.log(format!(
            "{}:{} read_lvb error {e}",
            held.res.space_name, held.res.name
        )),
    }
    lvb
}

/// Writes a changed LVB back before an exclusive lease is released or
/// converted to shared. Errors are logged only (the lease operation goes
/// on, as in sanlock).
pub(crate) fn write_back(
    d: &Daemon,
    arg: &ResourceArg,
    held: &Held,
    lvb: &mut Lvb,
    io_timeout_secs: u32,
) {
    if held.mode != Mode::Ex || !lvb.dirty {
        return;
    }
    let Some((path, off, _)) = location(arg, held) else {
        return;
    };
    let r = Disk::open(Path::new(&path), Access::ReadWrite).and_then(|disk| {
        disk.write_at(
            off,
            &lvb.buf,
            Duration::from_secs(u64::from(io_timeout_secs)),
        )
    });
    match r {
        Ok(()) => lvb.dirty = false,
        Err(e) => d.log(format!(
            "{}:{} write_lvb error {e}",
            held.res.space_name, held.res.name
        )),
    }
}

/// [`write_back`] for a token about to be released.
pub(crate) fn write_back_token(d: &Daemon, t: &mut Token, io_timeout_secs: u32) {
    if let Some(lvb) = t.lvb.as_mut() {
        write_back(d, &t.arg, &t.held, lvb, io_timeout_secs);
    }
}

/// Runs `f` on the held lease named by `r` (any client's). `-ENOENT` when
/// none is held here, `-EINVAL` when it was acquired without LVB.
fn with_held<T>(d: &Daemon, r: &SanlkResource, f: impl FnOnce(&mut Lvb) -> T) -> Result<T, i32> {
    let mut clients = d.clients.lock().map_err(|_| ENOENT)?;
    let t = clients
        .values_mut()
        .flat_map(|c| c.tokens.iter_mut())
        .find(|t| {
            t.held.res.space_name.same_as(&r.lockspace_name) && t.held.res.name.same_as(&r.name)
        })
        .ok_or(ENOENT)?;
    t.lvb.as_mut().map(f).ok_or(EINVAL)
}

/// SET_LVB.
pub(crate) fn set(d: &Daemon, r: &SanlkResource, value: &[u8]) -> i32 {
    let rv = with_held(d, r, |lvb| {
        if value.len() > lvb.buf.len() {
            return E2BIG;
        }
        lvb.buf[..value.len()].copy_from_slice(value);
        lvb.dirty = true;
        0
    })
    .unwrap_or_else(|e| e);
    d.log(format!(
        "cmd_set_lvb {}:{} len {} result {rv}",
        r.lockspace_name,
        r.name,
        value.len()
    ));
    rv
}

/// GET_LVB: `len` bytes (0 = one sector; at most one sector).
pub(crate) fn get(d: &Daemon, r: &SanlkResource, len: u32) -> Result<Vec<u8>, i32> {
    with_held(d, r, |lvb| {
        let n = match len as usize {
            0 => lvb.buf.len(),
            n => n.min(lvb.buf.len()),
        };
        lvb.buf[..n].to_vec()
    })
}
