//! sanlock's daemon configuration file (`/etc/sanlock/sanlock.conf`):
//! `key = value` lines, `#` comments. Pure: the caller reads the file.
//!
//! Keys paxlock acts on: `our_host_name`, `io_timeout`,
//! `watchdog_fire_timeout`, `kill_grace_seconds`, `uname`, `gname`,
//! `use_watchdog`. Every other sanlock key is accepted with a warning
//! that says it has no effect in paxlock; an unknown key gets a warning
//! naming it. A bad value is an error (the daemon does not start on a
//! configuration it misreads).

/// What the file sets (None = not set).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// `our_host_name` (`-e`).
    pub host_name: Option<String>,
    /// `io_timeout` (`-o`).
    pub io_timeout_secs: Option<u32>,
    /// `watchdog_fire_timeout`.
    pub watchdog_fire_timeout_secs: Option<u32>,
    /// `kill_grace_seconds` (`-g`).
    pub kill_grace_secs: Option<u32>,
    /// `uname` (`-U`): socket owner.
    pub user: Option<String>,
    /// `gname` (`-G`): socket group.
    pub group: Option<String>,
    /// `use_watchdog` (`-w`).
    pub use_watchdog: Option<bool>,
    /// Warnings to print (keys without effect, unknown keys).
    pub warnings: Vec<String>,
}

/// sanlock keys paxlock accepts but does not act on, with the reason.
const NO_EFFECT: &[(&str, &str)] = &[
    ("quiet_fail", "paxlock logs contention at debug level"),
    ("debug_renew", "renewals are always in the renewal history"),
    (
        "logfile_priority",
        "paxlock logs to its in-memory log (log_dump)",
    ),
    ("logfile_use_utc", "paxlock logs monotonic seconds"),
    ("syslog_priority", "paxlock does not use syslog"),
    ("names_log_priority", "paxlock does not use syslog"),
    ("high_priority", "paxlock does not change its scheduling"),
    ("mlock_level", "paxlock does not lock its memory"),
    (
        "sh_retries",
        "paxlock retries shared acquires as its engine decides",
    ),
    ("renewal_read_extend_sec", "not implemented"),
    ("renewal_history_size", "the history keeps 180 renewals"),
    ("paxos_debug_all", "no paxos debug log"),
    ("debug_io", "no per-I/O debug log"),
    ("max_sectors_kb", "paxlock never changes max_sectors_kb"),
    ("debug_clients", "no per-client debug log"),
    ("debug_cmd", "no per-command debug switches"),
    ("write_init_io_timeout", "init writes use io_timeout"),
    (
        "max_worker_threads",
        "paxlock runs one thread per connection",
    ),
    ("use_hugepages", "not used"),
    ("debug_hosts", "no per-host debug log"),
];

/// Parses the file's text.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    let mut c = ConfigFile::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: {raw:?} is not `key = value`", n + 1));
        };
        let (key, value) = (key.trim(), value.trim());
        let num = |max: u32| -> Result<u32, String> {
            value
                .parse::<u32>()
                .ok()
                .filter(|v| *v <= max)
                .ok_or_else(|| {
                    format!(
                        "line {}: {key} = {value:?}: expected a number from 0 to {max}",
                        n + 1
                    )
                })
        };
        match key {
            "our_host_name" => c.host_name = Some(value.to_string()),
            "io_timeout" => c.io_timeout_secs = Some(num(255)?).filter(|v| *v > 0),
            "watchdog_fire_timeout" => c.watchdog_fire_timeout_secs = Some(num(3600)?),
            "kill_grace_seconds" => c.kill_grace_secs = Some(num(60)?),
            "uname" => c.user = Some(value.to_string()),
            "gname" => c.group = Some(value.to_string()),
            "use_watchdog" => c.use_watchdog = Some(num(1)? == 1),
            k => match NO_EFFECT.iter().find(|(name, _)| *name == k) {
                Some((_, why)) => c.warnings.push(format!(
                    "line {}: {k} has no effect in paxlock ({why})",
                    n + 1
                )),
                None => c.warnings.push(format!(
                    "line {}: unknown key {k:?} ignored (not a sanlock.conf key)",
                    n + 1
                )),
            },
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_comments() {
        let c = parse(
            "# sanlock.conf\nour_host_name = h1 # comment\nio_timeout=5\n\
             kill_grace_seconds = 0\nuname = sanlock\ngname=disk\nuse_watchdog = 0\n\
             watchdog_fire_timeout = 60\n",
        )
        .unwrap();
        assert_eq!(c.host_name.as_deref(), Some("h1"));
        assert_eq!(c.io_timeout_secs, Some(5));
        assert_eq!(c.kill_grace_secs, Some(0));
        assert_eq!(c.user.as_deref(), Some("sanlock"));
        assert_eq!(c.group.as_deref(), Some("disk"));
        assert_eq!(c.use_watchdog, Some(false));
        assert_eq!(c.watchdog_fire_timeout_secs, Some(60));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn keys_without_effect_and_unknown_keys_warn() {
        let c = parse("mlock_level = 1\nfrobnicate = 3\n").unwrap();
        assert_eq!(c.warnings.len(), 2);
        assert!(c.warnings[0].contains("mlock_level has no effect"));
        assert!(c.warnings[1].contains("unknown key \"frobnicate\""));
    }

    #[test]
    fn bad_values_are_errors_that_name_the_line() {
        let e = parse("\nkill_grace_seconds = 99\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("0 to 60"), "{e}");
        let e = parse("io_timeout = ten\n").unwrap_err();
        assert!(e.contains("io_timeout"), "{e}");
        let e = parse("just words\n").unwrap_err();
        assert!(e.contains("key = value"), "{e}");
    }
}
