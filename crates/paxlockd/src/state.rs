//! The daemon's shared state: lockspaces, registered clients, the log.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use paxlock_core::paxos::Held;
use paxlock_driver::{Lockspace, RealEnv};
use paxlock_format::Name;
use paxlock_proto::wire::{ResourceArg, SanlkLockspace};

use crate::Options;

pub(crate) enum SpaceState {
    Adding,
    Joined(Arc<Lockspace>),
}

pub(crate) struct Space {
    pub(crate) ls: SanlkLockspace,
    pub(crate) state: SpaceState,
}

pub(crate) struct Token {
    pub(crate) held: Held,
    pub(crate) arg: ResourceArg,
}

pub(crate) struct Client {
    pub(crate) name: String,
    pub(crate) tokens: Vec<Token>,
}

pub(crate) struct Daemon {
    pub(crate) opts: Options,
    pub(crate) host_name: Name,
    pub(crate) env: RealEnv,
    pub(crate) spaces: Mutex<Vec<Space>>,
    pub(crate) clients: Mutex<HashMap<i32, Client>>,
    pub(crate) log: Mutex<VecDeque<String>>,
    pub(crate) stop: AtomicBool,
}

impl Daemon {
    pub(crate) fn log(&self, msg: String) {
        if let Ok(mut l) = self.log.lock() {
            if l.len() >= 10_000 {
                l.pop_front();
            }
            l.push_back(format!("{} {msg}", paxlock_io::monotime_secs()));
        }
    }

    pub(crate) fn joined(&self, name: &Name) -> Option<Arc<Lockspace>> {
        let spaces = self.spaces.lock().ok()?;
        spaces
            .iter()
            .find(|s| s.ls.name.same_as(name))
            .and_then(|s| match &s.state {
                SpaceState::Joined(l) if l.lost().is_none() => Some(Arc::clone(l)),
                _ => None,
            })
    }
}
