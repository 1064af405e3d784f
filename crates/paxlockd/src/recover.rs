//! Recovery (sanlock-protocol.md 7.4): what the daemon does to the
//! processes holding leases in a lockspace that was lost (renewal failed
//! past id_renewal_fail_seconds) or is being removed, and to a holder
//! whose lease another host requests.
//!
//! One thread looks at every lockspace five times a second. A lockspace in
//! trouble has its holders killed, at most one action per holder per
//! second and at most [`KILL_COUNT_MAX`] in all:
//!
//! | why | action |
//! |---|---|
//! | removed (REM_LOCKSPACE) | SIGKILL |
//! | lost, within the grace period, killpath set | run killpath (once) |
//! | lost, within the grace period, no killpath | SIGTERM |
//! | lost, grace period over | SIGKILL |
//!
//! The grace period ends `kill_grace_seconds` after the renewal failure
//! (`last_success + id_renewal_fail + kill_grace`). RESTRICT turns SIGKILL
//! into SIGTERM (`SANLK_RESTRICT_SIGKILL`) or SIGTERM into SIGKILL
//! (`SANLK_RESTRICT_SIGTERM`). Once no process holds a lease in it (they
//! died, which closes their connections and drops their leases, or they
//! released them) and no operation is running in it, the lockspace is
//! left: our host_id is freed on disk if the last renewal succeeded (a
//! lost lockspace goes on renewing during recovery, as sanlock's does, so
//! the grace period follows the last good renewal), and never after a
//! corrupt renewal. Only then may the same lockspace be added again, so
//! two incarnations of our host_id never overlap.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use paxlock_driver::{monotime_ms, Lockspace};
use paxlock_format::Name;
use paxlock_proto::flags::*;
use rustix::process::Signal;

use crate::state::*;

/// A client's KILLPATH: program, argument string, `SANLK_KILLPATH_PID`.
type Killpath = (String, String, u32);

/// After this many kill actions on one process, give up (with a watchdog
/// the host is then reset because the lockspace cannot be released).
pub(crate) const KILL_COUNT_MAX: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    Lost,
    Removed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Signal(Signal),
    /// Run the client's killpath program; `with_pid` appends the pid when
    /// the client asked for it with `SANLK_KILLPATH_PID`.
    RunPath {
        with_pid: bool,
    },
}

/// The recovery thread: runs until the daemon stops.
pub(crate) fn watch(d: Arc<Daemon>) {
    while !d.stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(200));
        step(&d, monotime_ms());
    }
}

fn step(d: &Arc<Daemon>, now_ms: u64) {
    let mut troubled: Vec<(Name, Arc<Lockspace>, Why, u64)> = Vec::new();
    let mut requests: Vec<(Name, Arc<Lockspace>)> = Vec::new();
    if let Ok(mut spaces) = d.spaces.lock() {
        for s in spaces.iter_mut() {
            match &s.state {
                SpaceState::Joined(l) if l.lost().is_some() => {
                    let seen = *s.lost_seen_ms.get_or_insert(now_ms);
                    troubled.push((s.ls.name, Arc::clone(l), Why::Lost, seen))
                }
                SpaceState::Joined(l) => {
                    let n = l.signalled();
                    if n != s.signals_seen || s.examine {
                        s.signals_seen = n;
                        s.examine = false;
                        requests.push((s.ls.name, Arc::clone(l)));
                    }
                }
                SpaceState::Removing(l) => {
                    troubled.push((s.ls.name, Arc::clone(l), Why::Removed, now_ms))
                }
                SpaceState::Adding | SpaceState::Leaving => {}
            }
        }
    }
    for (name, l, why, seen_ms) in troubled {
        if d.holds_in(&name) {
            kill_holders(d, &name, &l, why, now_ms, seen_ms);
        } else if crate::orphan::block_leaving(d, &name) {
            // SET_CONFIG USED_BY_ORPHANS: wait for RELEASE(REL_ORPHAN).
        } else {
            drop(l);
            finish(d, &name, why);
        }
    }
    for (name, l) in requests {
        // Reading request records is disk I/O: never on this thread, so
        // that slow storage under one lockspace cannot delay another.
        let d = Arc::clone(d);
        let _ = std::thread::Builder::new()
            .name("requests".into())
            .spawn(move || check_requests(&d, &name, &l));
    }
}

/// Frees (removed) or drops (lost) a lockspace nobody holds leases in,
/// once no operation is running in it either.
fn finish(d: &Daemon, name: &Name, why: Why) {
    let (l, watchdog) = {
        let Ok(mut spaces) = d.spaces.lock() else {
            return;
        };
        let Some(s) = spaces.iter_mut().find(|s| s.ls.name.same_as(name)) else {
            return;
        };
        match &s.state {
            // Every other reference belongs to an operation still running
            // (references are only taken under this lock).
            SpaceState::Joined(l) | SpaceState::Removing(l) if Arc::strong_count(l) == 1 => {}
            _ => return,
        }
        match std::mem::replace(&mut s.state, SpaceState::Leaving) {
            SpaceState::Joined(l) | SpaceState::Removing(l) => (l, s.watchdog.take()),
            _ => return,
        }
    };
    match Arc::try_unwrap(l) {
        Ok(l) => {
            // A lost lockspace frees the host_id too if its last renewal
            // succeeded (renewals go on during recovery), never after a
            // corrupt renewal: `leave` decides.
            let lost = l.lost();
            match l.leave() {
                Ok(()) => d.log(format!("s {name} {why:?}: lockspace left ({lost:?})")),
                Err(e) => d.log(format!("s {name} {why:?}: host_id release failed {e}")),
            }
        }
        Err(_) => d.log(format!("s {name} still in use while leaving")),
    }
    // Renewals have stopped and nothing of ours uses the lockspace: the
    // watchdog may stop guarding it.
    if let Some(w) = &watchdog {
        crate::watchdog::disarm(w);
        d.log(format!("s {name} watchdog disarmed"));
    }
    if let Ok(mut spaces) = d.spaces.lock() {
        spaces.retain(|s| !s.ls.name.same_as(name));
    }
}

/// What to do to a holder now, or `None` (wait).
pub(crate) fn kill_action(
    removed: bool,
    now_ms: u64,
    grace_end_ms: u64,
    kill_grace_secs: u32,
    client: &Client,
) -> Option<Action> {
    let k = &client.kill;
    if k.count >= KILL_COUNT_MAX || (k.count > 0 && now_ms < k.last_ms + 1000) {
        return None;
    }
    let action = if removed {
        Action::Signal(Signal::KILL)
    } else if kill_grace_secs > 0 && now_ms < grace_end_ms {
        match client.killpath {
            Some(_) if k.runpath_sent => return None,
            Some((_, _, flags)) => Action::RunPath {
                with_pid: flags & SANLK_KILLPATH_PID != 0,
            },
            None => Action::Signal(Signal::TERM),
        }
    } else {
        Action::Signal(Signal::KILL)
    };
    Some(restricted(action, client.restrict))
}

/// RESTRICT's SIGKILL/SIGTERM bits swap the signal.
fn restricted(a: Action, restrict: u32) -> Action {
    match a {
        Action::Signal(Signal::KILL) if restrict & SANLK_RESTRICT_SIGKILL != 0 => {
            Action::Signal(Signal::TERM)
        }
        Action::Signal(Signal::TERM) if restrict & SANLK_RESTRICT_SIGTERM != 0 => {
            Action::Signal(Signal::KILL)
        }
        a => a,
    }
}

/// The end of the grace period: kill_grace_seconds after the renewal
/// failed, i.e. after `last_success + id_renewal_fail` (renewals go on
/// during recovery, so a good one moves it, as in sanlock), but never
/// before kill_grace_seconds after we noticed the loss: a daemon that
/// was frozen past the limit still gives its holders their grace (sanlock
/// gets the same when its first renewal after the thaw wins the race
/// with its check; we do not leave it to the race).
pub(crate) fn grace_end_ms(
    last_success_ms: u64,
    fail_secs: u32,
    seen_ms: u64,
    grace_secs: u32,
) -> u64 {
    (last_success_ms + u64::from(fail_secs) * 1000).max(seen_ms) + u64::from(grace_secs) * 1000
}

fn kill_holders(d: &Daemon, name: &Name, l: &Lockspace, why: Why, now_ms: u64, seen_ms: u64) {
    let t = l.config().timeouts;
    let grace_end_ms = grace_end_ms(
        l.last_success_ms(),
        t.id_renewal_fail_secs(),
        seen_ms,
        d.opts.kill_grace_secs,
    );
    let mut todo: Vec<(i32, Action, Option<Killpath>, u32)> = Vec::new();
    if let Ok(mut clients) = d.clients.lock() {
        for c in clients.values_mut() {
            if !c.tokens.iter().any(|t| t.held.res.space_name.same_as(name)) {
                continue;
            }
            let Some(a) = kill_action(
                why == Why::Removed,
                now_ms,
                grace_end_ms,
                d.opts.kill_grace_secs,
                c,
            ) else {
                continue;
            };
            c.kill.count += 1;
            c.kill.last_ms = now_ms;
            if matches!(a, Action::RunPath { .. }) {
                c.kill.runpath_sent = true;
            }
            todo.push((c.pid, a, c.killpath.clone(), c.kill.count));
        }
    }
    for (pid, a, killpath, count) in todo {
        act(d, name, pid, a, killpath.as_ref(), count);
    }
}

fn act(d: &Daemon, name: &Name, pid: i32, a: Action, killpath: Option<&Killpath>, count: u32) {
    match a {
        Action::Signal(sig) => {
            d.log(format!(
                "s {name} kill {pid} sig {} count {count}",
                sig.as_raw()
            ));
            if let Some(p) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(p, sig);
            }
        }
        Action::RunPath { with_pid } => {
            let Some((path, args, _)) = killpath else {
                return;
            };
            let mut argv = split_args(args);
            if with_pid {
                argv.push(pid.to_string());
            }
            argv.truncate(7); // at most 8 entries with the program
            d.log(format!(
                "s {name} killpath {pid} {path} {argv:?} count {count}"
            ));
            match std::process::Command::new(path).args(&argv).spawn() {
                Ok(mut child) => {
                    let _ = std::thread::Builder::new()
                        .name("killpath".into())
                        .spawn(move || child.wait());
                }
                Err(e) => d.log(format!("s {name} killpath {path} failed: {e}")),
            }
        }
    }
}

/// Splits killpath arguments on whitespace; a backslash escapes the next
/// character (a space or a backslash).
pub(crate) fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Another host signalled us (or EXAMINE asked): for every lease held
/// here in `name` with a request for a newer lver, act on its holder as
/// the request's force mode says.
fn check_requests(d: &Daemon, name: &Name, l: &Lockspace) {
    let held: Vec<(Cid, i32, paxlock_core::paxos::Held)> = d
        .clients
        .lock()
        .map(|c| {
            c.iter()
                .flat_map(|(cid, c)| {
                    c.tokens
                        .iter()
                        .filter(|t| t.held.res.space_name.same_as(name))
                        .map(|t| (*cid, c.pid, t.held.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    for (cid, pid, h) in held {
        let Ok(Some(force_mode)) = l.pending_request(&h) else {
            continue;
        };
        let (restrict, killpath) = d
            .clients
            .lock()
            .ok()
            .and_then(|c| c.get(&cid).map(|c| (c.restrict, c.killpath.clone())))
            .unwrap_or((0, None));
        let a = match force_mode {
            SANLK_REQ_FORCE => restricted(Action::Signal(Signal::KILL), restrict),
            SANLK_REQ_GRACEFUL if killpath.is_some() => Action::RunPath { with_pid: false },
            SANLK_REQ_GRACEFUL => restricted(Action::Signal(Signal::TERM), restrict),
            _ => continue,
        };
        d.log(format!(
            "s {name} request for {} force_mode {force_mode}",
            h.res.name
        ));
        act(d, name, pid, a, killpath.as_ref(), 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(killpath: bool, restrict: u32) -> Client {
        let mut c = Client::new(42);
        c.restrict = restrict;
        if killpath {
            c.killpath = Some(("/bin/true".into(), String::new(), 0));
        }
        c
    }

    #[test]
    fn removal_kills_at_once() {
        let c = client(true, 0);
        assert_eq!(
            kill_action(true, 1000, 5000, 40, &c),
            Some(Action::Signal(Signal::KILL))
        );
    }

    #[test]
    fn loss_within_grace_terms_or_runs_killpath_once() {
        assert_eq!(
            kill_action(false, 1000, 5000, 40, &client(false, 0)),
            Some(Action::Signal(Signal::TERM))
        );
        let mut c = client(true, 0);
        assert_eq!(
            kill_action(false, 1000, 5000, 40, &c),
            Some(Action::RunPath { with_pid: false })
        );
        c.kill.runpath_sent = true;
        c.kill.count = 1;
        c.kill.last_ms = 1000;
        assert_eq!(kill_action(false, 3000, 5000, 40, &c), None);
        // grace over: SIGKILL
        assert_eq!(
            kill_action(false, 5000, 5000, 40, &c),
            Some(Action::Signal(Signal::KILL))
        );
    }

    #[test]
    fn grace_follows_the_last_renewal_or_the_notice() {
        // noticed in time: last_success + fail + grace
        assert_eq!(grace_end_ms(10_000, 8, 18_000, 4), 22_000);
        // a good renewal later moves it
        assert_eq!(grace_end_ms(20_000, 8, 18_000, 4), 32_000);
        // noticed late (frozen daemon): from the notice
        assert_eq!(grace_end_ms(10_000, 8, 30_000, 4), 34_000);
        assert_eq!(grace_end_ms(10_000, 8, 30_000, 0), 30_000);
    }

    #[test]
    fn no_grace_means_sigkill() {
        assert_eq!(
            kill_action(false, 1000, 5000, 0, &client(true, 0)),
            Some(Action::Signal(Signal::KILL))
        );
    }

    #[test]
    fn restrict_swaps_signals() {
        assert_eq!(
            kill_action(true, 1000, 5000, 40, &client(false, SANLK_RESTRICT_SIGKILL)),
            Some(Action::Signal(Signal::TERM))
        );
        assert_eq!(
            kill_action(
                false,
                1000,
                5000,
                40,
                &client(false, SANLK_RESTRICT_SIGTERM)
            ),
            Some(Action::Signal(Signal::KILL))
        );
    }

    #[test]
    fn once_a_second_and_at_most_max() {
        let mut c = client(false, 0);
        c.kill.count = 1;
        c.kill.last_ms = 1000;
        assert_eq!(kill_action(false, 1999, 9000, 40, &c), None);
        assert!(kill_action(false, 2000, 9000, 40, &c).is_some());
        c.kill.count = KILL_COUNT_MAX;
        assert_eq!(kill_action(true, 99_000, 9000, 40, &c), None);
    }

    #[test]
    fn killpath_arguments_split_on_unescaped_spaces() {
        assert_eq!(
            split_args(r"qemu:///system  uuid\ 1 a\\b"),
            vec!["qemu:///system", "uuid 1", r"a\b"]
        );
        assert!(split_args("   ").is_empty());
    }
}
