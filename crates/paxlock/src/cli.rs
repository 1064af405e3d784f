//! Command-line definition. One definition drives parsing and `--help`.
//!
//! The syntax is sanlock's: `paxlock direct init -s LOCKSPACE`, options are
//! single letters followed by a separate value, and lease strings use
//! sanlock's colon-separated forms.

use clap::{Args, Parser, Subcommand};
use paxlock_format::leasestr::{LockspaceArg, RentryArg, ResourceArg, RindexArg};
use paxlock_format::{AlignSize, SectorSize};

use crate::direct::{self, GeometryOpts, Outcome, Target};

const LEASE_STRINGS: &str = "\
Lease strings (as sanlock's; a backslash escapes a ':' inside a path; an
OFFSET is in bytes, or a whole number of MiB written like 8M):
  LOCKSPACE = NAME:HOST_ID:PATH:OFFSET
  RESOURCE  = LOCKSPACE_NAME:RESOURCE_NAME:PATH:OFFSET[:LVER|:SH]
  RINDEX    = LOCKSPACE_NAME:PATH:OFFSET
Names are at most 48 bytes, paths at most 1023 bytes.

Geometries (-Z sector size / -A align size, and the host_ids they hold):
  512/1M: 2000   4096/1M: 250   4096/2M: 500   4096/4M: 1000   4096/8M: 2000
Without -Z and -A, a regular file gets 512/1M and a block device with
4096-byte sectors gets 4096/8M, as with sanlock.

Exit status: 0 on success, 1 when the command failed (the 'done' line gives
sanlock's result number), 2 for a usage error.";

/// paxlock: a shared-storage lease manager compatible with sanlock.
///
/// Hosts coordinate only through reads and writes on shared storage: delta
/// leases give each host a host_id, Disk Paxos leases give exclusive or
/// shared ownership of resources such as VM disks. paxlock reads and writes
/// sanlock's on-disk format byte for byte.
#[derive(Debug, Parser)]
#[command(name = "paxlock", version, after_help = LEASE_STRINGS)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read and write lease areas on storage directly, without a daemon
    /// (as `sanlock direct`). Nothing coordinates with running hosts: use
    /// these to set up and inspect storage, not to take leases.
    #[command(subcommand, after_help = LEASE_STRINGS)]
    Direct(DirectCommand),

    /// Join a lockspace as one host and hold resource leases until stdin
    /// closes (or for --seconds), renewing the host_id meanwhile.
    ///
    /// A single-process host, for trying leases out and for interop tests
    /// with sanlock: it joins LOCKSPACE (about 2 io_timeouts for a free
    /// host_id), acquires each -r RESOURCE in order (append :SH for a shared
    /// lease), prints `holding`, and on stdin EOF releases them and frees
    /// the host_id. If renewals fail for 8 io_timeouts it prints
    /// `LEASES LOST` and exits 1. There is no watchdog here, so nothing resets
    /// a host that cannot stop using its leases: do not use it to protect
    /// real data (that is `paxlock daemon -w 1`'s job).
    #[command(after_help = LEASE_STRINGS)]
    Hold(HoldCliArgs),

    /// Run the lease daemon: sanlock's client protocol on
    /// $SANLOCK_RUN_DIR/sanlock.sock (default /run/sanlock), so that the
    /// `sanlock client` CLI, libsanlock, python3-sanlock and libvirt talk
    /// to paxlock.
    ///
    /// Takes sanlock's daemon options and sanlock.conf keys. Processes
    /// that hold leases in a lockspace that is lost or removed are killed
    /// as sanlock does (killpath, SIGTERM, then SIGKILL after -g seconds),
    /// and with -w 1 a wdmd resets the host if that is not enough.
    #[command(disable_help_flag = true)]
    Daemon(DaemonArgs),

    /// Show paxlock's main job on local files, in under a minute: two
    /// daemons as two hosts share a VM disk lease; host A's VM holds it,
    /// host B is refused, A's VM stops, B gets it.
    Demo(DemoArgs),

    /// Send requests to a running lease daemon (paxlock's or sanlock's),
    /// as `sanlock client`: same actions, options, output and exit codes;
    /// listings also print JSON with --json. See docs/client.md.
    #[command(subcommand)]
    Client(Box<crate::client::ClientCommand>),

    /// Mount a FUSE passthrough of DIR whose reads and writes can be
    /// delayed, stalled or failed at run time (for fault tests): `paxlock
    /// faultfs --backing DIR --mount MNT --control SOCK`, then `paxlock
    /// faultfs ctl SOCK stall|ok|delay MS|eio|status`.
    #[command(disable_help_flag = true)]
    Faultfs {
        /// Arguments of paxlock-faultfs.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },

    /// wdmd-compatible watchdog multiplexer (as the paxlock-wdmd binary):
    /// `paxlock wdmd daemon [--test-fire pgid:N|cgroup:PATH] ...`, `status`, `dump`.
    #[command(disable_help_flag = true)]
    Wdmd {
        /// Arguments of paxlock-wdmd.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

/// `paxlock demo` options.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Directory for the lease files and the two hosts' run dirs (default:
    /// a fresh one under /tmp, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

/// `paxlock daemon` options: sanlock's daemon options (`-h` is sanlock's
/// priority option, so help is `--help` only). Settings come from the
/// command line, else from the configuration file (`$PAXLOCK_CONFIG`, or
/// /etc/sanlock/sanlock.conf when it exists), else sanlock's defaults.
#[derive(Debug, Clone, Args)]
pub struct DaemonArgs {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Stay in the foreground (paxlock always does; logs go to log_dump).
    #[arg(short = 'D')]
    pub foreground: bool,
    /// Use the watchdog (default 1, as sanlock): each lockspace keeps an
    /// expiry in the wdmd at /run/wdmd/wdmd.sock (sanlock's wdmd or
    /// `paxlock wdmd`). 0 is for testing only: nothing then resets a host
    /// that cannot stop using its leases.
    #[arg(short = 'w', value_name = "0|1")]
    pub watchdog: Option<u8>,
    /// Our host name in delta leases (default: a fresh random UUID).
    #[arg(short = 'e', value_name = "NAME")]
    pub host_name: Option<String>,
    /// Default io_timeout of lockspaces added without one (default 10).
    #[arg(short = 'o', value_name = "SECONDS")]
    pub io_timeout: Option<u32>,
    /// Seconds a holder gets (killpath or SIGTERM) after its lockspace is
    /// lost, before SIGKILL: 0..60 (default 40).
    #[arg(short = 'g', value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(0..=60))]
    pub grace: Option<u32>,
    /// Owner of the socket: user name or uid (default: user sanlock if it
    /// exists, else root).
    #[arg(short = 'U', value_name = "USER")]
    pub uid: Option<String>,
    /// Group of the socket: group name or gid (default: group sanlock if
    /// it exists, else root).
    #[arg(short = 'G', value_name = "GROUP")]
    pub gid: Option<String>,
    /// Accepted for compatibility, no effect in paxlock (sanlock: mlock,
    /// priority, threads, logging, renewal debugging, bitmap seconds,
    /// history size).
    #[arg(short = 'l', hide = true)]
    pub mlock: Option<i32>,
    #[arg(short = 'h', hide = true)]
    #[allow(missing_docs)]
    pub high_priority: Option<i32>,
    #[arg(short = 't', hide = true)]
    #[allow(missing_docs)]
    pub threads: Option<i32>,
    #[arg(short = 'L', hide = true, allow_negative_numbers = true)]
    #[allow(missing_docs)]
    pub log_file_priority: Option<i32>,
    #[arg(short = 'S', hide = true, allow_negative_numbers = true)]
    #[allow(missing_docs)]
    pub syslog_priority: Option<i32>,
    #[arg(short = 'Q', hide = true)]
    #[allow(missing_docs)]
    pub quiet: Option<i32>,
    #[arg(short = 'R', hide = true)]
    #[allow(missing_docs)]
    pub debug_renew: Option<i32>,
    #[arg(short = 'b', hide = true)]
    #[allow(missing_docs)]
    pub bitmap_seconds: Option<i32>,
    #[arg(short = 'H', hide = true)]
    #[allow(missing_docs)]
    pub history: Option<i32>,
}

/// Arguments of `hold`.
#[derive(Debug, Clone, Args)]
pub struct HoldCliArgs {
    /// The lockspace and our host_id: NAME:HOST_ID:PATH:OFFSET.
    #[arg(short = 's', value_name = "LOCKSPACE", value_parser = LockspaceArg::parse)]
    pub lockspace: LockspaceArg,
    /// A lease to acquire (repeatable): LOCKSPACE_NAME:RESOURCE_NAME:PATH:OFFSET[:SH|:LVER].
    #[arg(short = 'r', value_name = "RESOURCE", value_parser = ResourceArg::parse)]
    pub resources: Vec<ResourceArg>,
    /// io_timeout in seconds (1-255), written into our delta lease.
    #[arg(short = 'o', value_name = "SECONDS", default_value_t = 10)]
    pub io_timeout: u32,
    /// Our host name in the lockspace (default: a fresh random UUID).
    #[arg(short = 'e', value_name = "NAME")]
    pub host_name: Option<String>,
    /// Watchdog fire timeout in seconds; must equal every other host's.
    #[arg(
        long = "watchdog-fire-timeout",
        value_name = "SECONDS",
        default_value_t = 60
    )]
    pub watchdog_fire_timeout: u32,
    /// Hold this many seconds, then release (default: until stdin closes).
    #[arg(long = "seconds", value_name = "SECONDS")]
    pub seconds: Option<u64>,
}

/// `paxlock direct` actions.
#[derive(Debug, Subcommand)]
pub enum DirectCommand {
    /// Initialise a lockspace (-s) or a resource lease (-r) area.
    ///
    /// Writes one whole area (the align size, 1 MiB by default) at OFFSET,
    /// byte for byte as `sanlock direct init` does. A lockspace gets a free
    /// delta-lease slot for every host_id (HOST_ID in the string is
    /// ignored); a resource gets a free paxos leader, a request record and
    /// zeroed dblocks. A lockspace is committed by a second write of its
    /// first sector, so an interrupted init never leaves a valid-looking
    /// half-written lockspace.
    ///
    /// Before writing, paxlock checks the lease string, the geometry, that
    /// OFFSET is a multiple of the align size, and that the file or device
    /// is large enough; on any problem it writes nothing.
    ///
    /// Prints `init done 0` on success, or `init done RV` with sanlock's
    /// negative result number and an explanation on stderr.
    #[command(after_help = LEASE_STRINGS)]
    Init(InitArgs),

    /// Print the leases found on a file or device, as `sanlock direct dump`.
    ///
    /// TARGET is PATH[:OFFSET[:SIZE]] (OFFSET and SIZE in bytes or with an M
    /// suffix). The geometry comes from -Z/-A, or from the first leader found
    /// at OFFSET or at a following MiB. Without SIZE the dump stops at the
    /// first area that holds no lockspace, resource lease or resource index.
    ///
    /// Lockspaces print one line per host_id ever acquired (with -f 1, the
    /// host_ids set in its bitmap follow). Resource leases print the leader
    /// (with -f 1, lver/requested lver/force mode), one `SH` line per shared
    /// holder, and with -f 2 every used dblock. Records whose checksum is
    /// wrong are reported on stderr.
    #[command(after_help = LEASE_STRINGS)]
    Dump(DumpArgs),

    /// Print one leader record, as `sanlock direct read_leader`.
    ///
    /// With -s, the delta lease slot of HOST_ID in the lockspace; with -r,
    /// the resource lease's paxos leader. The record is checked as sanlock
    /// checks it (magic, version, names, checksum); the first line is
    /// `read_leader done RV` with 0 or sanlock's error number, and the
    /// record is printed either way.
    #[command(name = "read_leader", after_help = LEASE_STRINGS)]
    ReadLeader(ReadLeaderArgs),

    /// Format a resource index (-x) and its internal `rindex_lease`.
    ///
    /// Writes the rindex header area at OFFSET and a paxos lease named
    /// `rindex_lease` in the next area, as `sanlock direct format`. Resource
    /// leases indexed by it live from OFFSET + 2 areas on.
    #[command(after_help = LEASE_STRINGS)]
    Format(FormatArgs),

    /// Look up an entry of a resource index, as `sanlock direct lookup`.
    ///
    /// Without -e, prints the lease offset of the first free entry. With
    /// -e NAME, the offset of NAME's lease; with -e :OFFSET, the name at that
    /// offset; with -e NAME:OFFSET, checks that they match.
    #[command(after_help = LEASE_STRINGS)]
    Lookup(LookupArgs),

    /// Add (or with -z 1 remove) one resource index entry, as
    /// `sanlock direct update`. Only the entry's sector is rewritten; the
    /// lease itself is not touched.
    #[command(after_help = LEASE_STRINGS)]
    Update(UpdateArgs),
}

fn parse_sector_size(s: &str) -> Result<SectorSize, String> {
    s.parse::<u64>()
        .ok()
        .and_then(SectorSize::from_bytes)
        .ok_or_else(|| format!("sector size must be 512 or 4096, not {s:?}"))
}

fn parse_align_size(s: &str) -> Result<AlignSize, String> {
    AlignSize::from_arg(s).ok_or_else(|| format!("align size must be 1M, 2M, 4M or 8M, not {s:?}"))
}

/// Options most `direct` actions share.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Lease sector size in bytes: 512 or 4096 (give with -A).
    #[arg(short = 'Z', value_name = "512|4096", value_parser = parse_sector_size)]
    pub sector_size: Option<SectorSize>,
    /// Lease align (area) size: 1M, 2M, 4M or 8M (give with -Z).
    #[arg(short = 'A', value_name = "1M|2M|4M|8M", value_parser = parse_align_size)]
    pub align_size: Option<AlignSize>,
    /// I/O timeout in seconds (1-255). For `init -s` it is also written
    /// into the lockspace, where it sets every host's lease timeouts.
    #[arg(short = 'o', value_name = "SECONDS", default_value_t = direct::IO_TIMEOUT_DEFAULT_SECS)]
    pub io_timeout: u32,
    /// Accepted for sanlock compatibility (asynchronous I/O); no effect.
    #[arg(short = 'a', value_name = "0|1", hide = true)]
    pub aio: Option<u8>,
    /// Accepted for sanlock compatibility (debug output); no effect.
    #[arg(short = 'D', hide = true)]
    pub debug: bool,
}

impl CommonArgs {
    fn geometry(&self) -> GeometryOpts {
        GeometryOpts {
            sector_size: self.sector_size,
            align_size: self.align_size,
        }
    }
}

/// `-s LOCKSPACE` or `-r RESOURCE`, exactly one.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct LeaseTarget {
    /// The lockspace: NAME:HOST_ID:PATH:OFFSET.
    #[arg(short = 's', value_name = "LOCKSPACE", value_parser = LockspaceArg::parse)]
    pub lockspace: Option<LockspaceArg>,
    /// The resource lease: LOCKSPACE_NAME:RESOURCE_NAME:PATH:OFFSET.
    #[arg(short = 'r', value_name = "RESOURCE", value_parser = ResourceArg::parse)]
    pub resource: Option<ResourceArg>,
}

impl LeaseTarget {
    fn target(&self) -> Target {
        match (&self.lockspace, &self.resource) {
            (Some(ls), _) => Target::Lockspace(ls.clone()),
            (None, Some(r)) => Target::Resource(r.clone()),
            // clap's group makes one of them required
            (None, None) => unreachable!("clap requires -s or -r"),
        }
    }
}

/// Arguments of `direct init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub lease: LeaseTarget,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: CommonArgs,
    /// With -r: 1 writes a cleared lease (magic 0x11282016) that every
    /// host refuses until it is initialised again.
    #[arg(short = 'z', value_name = "0|1", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub clear: u8,
    /// With -r: how many host dblocks readers scan (default: all).
    #[arg(
        short = 'n',
        value_name = "NUM_HOSTS",
        default_value_t = 0,
        hide = true
    )]
    pub num_hosts: u64,
}

/// Arguments of `direct dump`.
#[derive(Debug, Clone, Args)]
pub struct DumpArgs {
    /// PATH[:OFFSET[:SIZE]].
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// Detail: 1 adds bitmaps and request records, 2 adds dblocks.
    #[arg(short = 'f', value_name = "0|1|2", default_value_t = 0)]
    pub force_mode: u32,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: CommonArgs,
    /// Print JSON for scripts instead of sanlock's table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `direct read_leader`.
#[derive(Debug, Clone, Args)]
pub struct ReadLeaderArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub lease: LeaseTarget,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: CommonArgs,
    /// Print JSON for scripts instead of sanlock's lines.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `direct format`.
#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// The resource index: LOCKSPACE_NAME:PATH:OFFSET.
    #[arg(short = 'x', value_name = "RINDEX", value_parser = RindexArg::parse)]
    pub rindex: RindexArg,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: CommonArgs,
}

/// Arguments of `direct lookup`.
#[derive(Debug, Clone, Args)]
pub struct LookupArgs {
    /// The resource index: LOCKSPACE_NAME:PATH:OFFSET.
    #[arg(short = 'x', value_name = "RINDEX", value_parser = RindexArg::parse)]
    pub rindex: RindexArg,
    /// The entry: NAME, :OFFSET or NAME:OFFSET.
    #[arg(short = 'e', value_name = "NAME[:OFFSET]", value_parser = RentryArg::parse)]
    pub entry: Option<RentryArg>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: CommonArgs,
}

/// Arguments of `direct update`.
#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// The resource index: LOCKSPACE_NAME:PATH:OFFSET.
    #[arg(short = 'x', value_name = "RINDEX", value_parser = RindexArg::parse)]
    pub rindex: RindexArg,
    /// The entry: NAME:OFFSET (or :OFFSET with -z 1).
    #[arg(short = 'e', value_name = "NAME:OFFSET", value_parser = RentryArg::parse)]
    pub entry: RentryArg,
    /// 1 removes the entry at OFFSET instead of adding one.
    #[arg(short = 'z', value_name = "0|1", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub remove: u8,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: CommonArgs,
}

/// Runs a parsed command line.
pub fn run(cli: &Cli) -> Outcome {
    match &cli.command {
        Command::Client(c) => crate::client::run(c),
        Command::Faultfs { args } => Outcome {
            rv: crate::faultfs::run(args),
            ..Outcome::default()
        },
        Command::Wdmd { args } => Outcome {
            rv: paxlock_wd::cli::run(
                std::iter::once("paxlock wdmd".into()).chain(args.iter().cloned()),
                &["wdmd".to_string()],
            ),
            ..Outcome::default()
        },
        Command::Demo(a) => match crate::demo::run(a) {
            Ok(()) => Outcome::default(),
            Err(e) => {
                eprintln!("paxlock: demo failed: {e}");
                Outcome {
                    rv: 1,
                    ..Outcome::default()
                }
            }
        },
        Command::Daemon(a) => match crate::daemon_opts::options(a) {
            Err(e) => {
                eprintln!("paxlock: error: {e}");
                Outcome {
                    rv: 2,
                    ..Outcome::default()
                }
            }
            Ok(opts) => match paxlockd::run(opts) {
                Ok(()) => Outcome::default(),
                Err(e) => {
                    eprintln!("paxlock: error: {e}");
                    Outcome {
                        rv: 1,
                        ..Outcome::default()
                    }
                }
            },
        },
        Command::Hold(a) => {
            let args = crate::hold::HoldArgs {
                lockspace: a.lockspace.clone(),
                resources: a.resources.clone(),
                io_timeout_secs: a.io_timeout,
                watchdog_fire_timeout_secs: a.watchdog_fire_timeout,
                host_name: a.host_name.clone(),
                hold_secs: a.seconds,
            };
            Outcome {
                rv: crate::hold::run(&args),
                ..Outcome::default()
            }
        }
        Command::Direct(d) => match d {
            DirectCommand::Init(a) => direct::init(
                &a.lease.target(),
                a.common.geometry(),
                a.common.io_timeout,
                a.clear == 1,
                a.num_hosts,
            ),
            DirectCommand::Dump(a) => direct::dump(
                &a.target,
                a.force_mode,
                a.common.geometry(),
                a.common.io_timeout,
                a.json,
            ),
            DirectCommand::ReadLeader(a) => direct::read_leader(
                &a.lease.target(),
                a.common.geometry(),
                a.common.io_timeout,
                a.json,
            ),
            DirectCommand::Format(a) => {
                direct::format(&a.rindex, a.common.geometry(), a.common.io_timeout)
            }
            DirectCommand::Lookup(a) => {
                direct::lookup(&a.rindex, a.entry.as_ref(), a.common.io_timeout)
            }
            DirectCommand::Update(a) => {
                direct::update(&a.rindex, &a.entry, a.remove == 1, a.common.io_timeout)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks (unique option letters, ...).
    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
