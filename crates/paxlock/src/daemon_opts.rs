//! `paxlock daemon`: its options from the command line, the configuration
//! file and sanlock's defaults, in that order.

use std::path::{Path, PathBuf};

use paxlockd::config::{self, ConfigFile};

use crate::cli::DaemonArgs;

/// The configuration file: `$PAXLOCK_CONFIG`, else sanlock's when it
/// exists.
fn config_path() -> Option<PathBuf> {
    match std::env::var_os("PAXLOCK_CONFIG") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            let p = PathBuf::from("/etc/sanlock/sanlock.conf");
            p.exists().then_some(p)
        }
    }
}

fn load(path: &Path) -> Result<ConfigFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let c = config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for w in &c.warnings {
        eprintln!("paxlock: warning: {}: {w}", path.display());
    }
    Ok(c)
}

/// A user or group by name or number, from `file` (/etc/passwd or
/// /etc/group: `name:x:id:...`).
fn lookup_id(file: &str, what: &str) -> Option<u32> {
    if let Ok(n) = what.parse() {
        return Some(n);
    }
    std::fs::read_to_string(file).ok()?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == what).then(|| f.nth(1)?.parse().ok())?
    })
}

/// The daemon's options.
pub fn options(a: &DaemonArgs) -> Result<paxlockd::Options, String> {
    let c = match config_path() {
        Some(p) => load(&p)?,
        None => ConfigFile::default(),
    };
    let watchdog = a
        .watchdog
        .map(|w| w != 0)
        .or(c.use_watchdog)
        .unwrap_or(true);
    // sanlock's wdmd socket is fixed; $PAXLOCK_WDMD_SOCKET moves ours (tests).
    let wdmd_socket = watchdog.then(|| {
        std::env::var_os("PAXLOCK_WDMD_SOCKET")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(paxlock_wd::proto::DEFAULT_SOCKET_PATH))
    });
    if let Some(sock) = &wdmd_socket {
        if !sock.exists() {
            eprintln!(
                "paxlock: warning: no watchdog daemon at {}: add_lockspace fails until one runs \
                 (start `paxlock wdmd daemon` or wdmd; -w 0 disables the watchdog, for testing only)",
                sock.display()
            );
        }
    }
    let run_dir = std::env::var_os("SANLOCK_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/run/sanlock".into());
    let user = a.uid.clone().or(c.user.clone());
    let group = a.gid.clone().or(c.group.clone());
    let uid = match &user {
        Some(u) => Some(
            lookup_id("/etc/passwd", u)
                .ok_or_else(|| format!("-U {u}: no such user (give a user name or a uid)"))?,
        ),
        None => lookup_id("/etc/passwd", "sanlock"),
    };
    let gid = match &group {
        Some(g) => Some(
            lookup_id("/etc/group", g)
                .ok_or_else(|| format!("-G {g}: no such group (give a group name or a gid)"))?,
        ),
        None => lookup_id("/etc/group", "sanlock"),
    };
    let socket_owner = match (uid, gid) {
        (None, None) => None,
        (u, g) => Some((u.unwrap_or(0), g.unwrap_or(0))),
    };
    let io_timeout_secs = a.io_timeout.or(c.io_timeout_secs).unwrap_or(10);
    if io_timeout_secs == 0 {
        return Err("-o 0: the io_timeout must be at least 1 second".into());
    }
    Ok(paxlockd::Options {
        run_dir,
        host_name: a
            .host_name
            .clone()
            .or(c.host_name.clone())
            .unwrap_or_else(crate::hold::random_host_name),
        io_timeout_secs,
        watchdog_fire_timeout_secs: c.watchdog_fire_timeout_secs.unwrap_or(60),
        kill_grace_secs: a.grace.or(c.kill_grace_secs).unwrap_or(40),
        socket_owner,
        wdmd_socket,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_by_name_or_number() {
        assert_eq!(lookup_id("/etc/passwd", "root"), Some(0));
        assert_eq!(lookup_id("/etc/group", "root"), Some(0));
        assert_eq!(lookup_id("/etc/passwd", "1234"), Some(1234));
        assert_eq!(lookup_id("/etc/passwd", "no-such-user-here"), None);
    }
}
