//! `paxlock client <action>`: requests to a running lease daemon (paxlock's
//! or sanlock's) over `$SANLOCK_RUN_DIR/sanlock.sock`, with the syntax,
//! output and exit codes of `sanlock client <action>` (see docs/client.md).
//!
//! Every action prints on stdout exactly what sanlock 3.8.5's CLI prints
//! (`<action>` / `<action> done <rv>` lines, listings) and exits 0 only when
//! the result is 0. Listings also have `--json`. Failures to reach the
//! daemon print sanlock's lines and, on stderr, a `paxlock:` hint.

mod act;
mod lease;
mod show;

use std::io::Write;

use clap::{ArgAction, Args, Subcommand};
use paxlock_proto::client::ClientError;
use paxlock_proto::wire::{ResourceArg, SanlkLockspace};
use paxlock_proto::{SanlkRentry, SanlkRindex};

use crate::direct::Outcome;

/// Where an action writes: stdout as it goes (flushed line by line, so
/// long requests show their first line at once), and notes for stderr.
pub struct Ctx<'a> {
    out: &'a mut dyn Write,
    notes: Vec<String>,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("notes", &self.notes).finish()
    }
}

impl<'a> Ctx<'a> {
    /// A context writing to `out`.
    pub fn new(out: &'a mut dyn Write) -> Ctx<'a> {
        Ctx {
            out,
            notes: Vec::new(),
        }
    }

    /// Prints bytes on stdout and flushes them (a closed pipe is ignored).
    pub fn print(&mut self, b: &[u8]) {
        let _ = self.out.write_all(b).and_then(|()| self.out.flush());
    }

    /// Prints one line.
    pub fn line(&mut self, s: &str) {
        self.print(format!("{s}\n").as_bytes());
    }

    /// Adds a note for stderr (printed with a `paxlock: ` prefix).
    pub fn note(&mut self, s: impl Into<String>) {
        self.notes.push(s.into());
    }

    /// The stderr hint for a connection failure.
    pub fn connect_hint(&mut self, e: &ClientError) {
        let dir = paxlock_proto::client::run_dir();
        let env = if std::env::var_os("SANLOCK_RUN_DIR").is_some() {
            format!("SANLOCK_RUN_DIR={}", dir.display())
        } else {
            format!("SANLOCK_RUN_DIR is not set, so {} is used", dir.display())
        };
        self.note(format!(
            "error: {e}; is the daemon running? ({env}; start one with `paxlock daemon` or `sanlock daemon`)"
        ));
    }

    /// Notes a client error and returns its result number.
    pub fn client_error(&mut self, e: ClientError) -> i32 {
        let rv = e.rv();
        self.client_error_rv(e, rv)
    }

    /// Notes a client error and returns `rv`.
    pub fn client_error_rv(&mut self, e: ClientError, rv: i32) -> i32 {
        if e.is_connect() {
            self.connect_hint(&e);
        } else {
            self.note(format!("error: {e}"));
        }
        rv
    }

    /// The notes so far.
    pub fn into_notes(self) -> Vec<String> {
        self.notes
    }
}

// ---------------------------------------------------------------------------
// command line

fn p_ls_full(s: &str) -> Result<SanlkLockspace, String> {
    lease::lockspace_full(s)
}
fn p_ls_loose(s: &str) -> Result<SanlkLockspace, String> {
    lease::lockspace_loose(s)
}
fn p_res_full(s: &str) -> Result<ResourceArg, String> {
    lease::resource_full(s)
}
fn p_res_loose(s: &str) -> Result<ResourceArg, String> {
    lease::resource_loose(s)
}
fn p_rindex(s: &str) -> Result<SanlkRindex, String> {
    lease::rindex(s)
}
fn p_rentry(s: &str) -> Result<SanlkRentry, String> {
    lease::rentry(s)
}
fn p_num(s: &str) -> Result<u64, String> {
    lease::number(s)
}
fn p_num32(s: &str) -> Result<u32, String> {
    lease::number32(s)
}
fn p_sector(s: &str) -> Result<u32, String> {
    match s {
        "512" => Ok(512),
        "4096" => Ok(4096),
        _ => Err(format!("sector size must be 512 or 4096, not {s:?}")),
    }
}
fn p_align(s: &str) -> Result<u32, String> {
    match s {
        "1M" => Ok(1 << 20),
        "2M" => Ok(2 << 20),
        "4M" => Ok(4 << 20),
        "8M" => Ok(8 << 20),
        _ => Err(format!("align size must be 1M, 2M, 4M or 8M, not {s:?}")),
    }
}
fn p_bool01(s: &str) -> Result<bool, String> {
    match s.trim().parse::<i64>() {
        Ok(n) => Ok(n != 0),
        Err(_) => Err(format!("expected 0 or 1, not {s:?}")),
    }
}

const LEASE_STRINGS: &str = "\
Lease strings (as sanlock's; a backslash escapes a ':' or space in a path;
an OFFSET is in bytes, or a whole number of MiB written like 8M):
  LOCKSPACE = NAME:HOST_ID:PATH:OFFSET
  RESOURCE  = LOCKSPACE_NAME:RESOURCE_NAME:PATH:OFFSET[:PATH:OFFSET...][:LVER|:SH]
  RINDEX    = LOCKSPACE_NAME:PATH:OFFSET
Where only names are used, `-s NAME` and `-r LOCKSPACE_NAME:RESOURCE_NAME`
are enough (host_status, renewal, set_event, set_config, release, convert,
examine).

The daemon is reached at $SANLOCK_RUN_DIR/sanlock.sock (default
/run/sanlock). Exit status: 0 when the result is 0, 1 otherwise (the
`done` line gives sanlock's result number; log_dump and align therefore
exit 1 on success, as with sanlock), 2 for a usage error.";

/// `-Z` / `-A` geometry for init, read and format.
#[derive(Debug, Clone, Args)]
pub struct GeomArgs {
    /// Sector size: 512 or 4096.
    #[arg(short = 'Z', value_name = "512|4096", value_parser = p_sector)]
    pub sector_size: Option<u32>,
    /// Align size (needs -Z): 1M, 2M, 4M or 8M.
    #[arg(short = 'A', value_name = "1M|2M|4M|8M", value_parser = p_align)]
    pub align_size: Option<u32>,
}

impl GeomArgs {
    /// The SANLK_{LSF,RES,RIF}_{SECTOR,ALIGN}* bits (same values in all
    /// three), or sanlock's error for a bad combination.
    fn flags(&self) -> Result<u32, String> {
        use paxlock_proto::flags::*;
        match (self.sector_size, self.align_size) {
            (None, None) => return Ok(0),
            (Some(512), Some(a)) if a != 1 << 20 => {}
            (Some(_), _) => {
                let s = if self.sector_size == Some(512) {
                    SANLK_LSF_SECTOR512
                } else {
                    SANLK_LSF_SECTOR4K
                };
                let a = match self.align_size {
                    Some(x) if x == 1 << 20 => SANLK_LSF_ALIGN1M,
                    Some(x) if x == 2 << 20 => SANLK_LSF_ALIGN2M,
                    Some(x) if x == 4 << 20 => SANLK_LSF_ALIGN4M,
                    Some(_) => SANLK_LSF_ALIGN8M,
                    None => 0,
                };
                return Ok(s | a);
            }
            (None, Some(_)) => {}
        }
        Err(format!(
            "invalid sector_size/align_size combination ({}/{}); use one of 512/1M, 4096/1M, 4096/2M, 4096/4M, 4096/8M",
            self.sector_size.unwrap_or(0),
            self.align_size.unwrap_or(0)
        ))
    }
}

/// `-s LOCKSPACE` or `-r RESOURCE`, exactly one.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct FullTarget {
    /// The lockspace: NAME:HOST_ID:PATH:OFFSET.
    #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_full)]
    pub lockspace: Option<SanlkLockspace>,
    /// The resource lease: LOCKSPACE_NAME:RESOURCE_NAME:PATH:OFFSET.
    #[arg(short = 'r', value_name = "RESOURCE", value_parser = p_res_full)]
    pub resource: Option<ResourceArg>,
}

/// `paxlock client` actions (sanlock's names).
#[derive(Debug, Subcommand)]
#[command(after_help = LEASE_STRINGS)]
pub enum ClientCommand {
    /// Print the daemon's state: the daemon, its clients (`p PID NAME`),
    /// lockspaces (`s LOCKSPACE [ADD|REM]`) and held resources
    /// (`r RESOURCE:LVER p PID`). -D adds every record's key=value details;
    /// -o p groups resources under their pid, -o s under their lockspace.
    #[command(after_help = LEASE_STRINGS)]
    Status {
        /// Detail: each record's key=value fields, one per line.
        #[arg(short = 'D')]
        debug: bool,
        /// Sort: p = by pid, s = by lockspace.
        #[arg(short = 'o', value_name = "p|s")]
        sort: Option<String>,
        /// Print JSON instead (see docs/client.md).
        #[arg(long)]
        json: bool,
    },
    /// Print the hosts the daemon sees in a lockspace (`HOST_ID timestamp
    /// TS`); without -s, in every lockspace (`lockspace NAME` before each).
    #[command(name = "host_status", after_help = LEASE_STRINGS)]
    HostStatus {
        /// The lockspace (its name is enough).
        #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_loose)]
        lockspace: Option<SanlkLockspace>,
        /// Detail: last_check, last_live, owner, io_timeout... per host.
        #[arg(short = 'D')]
        debug: bool,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Print a lockspace's recent delta-lease renewals (timestamp,
    /// read/write milliseconds, timeouts and errors).
    #[command(after_help = LEASE_STRINGS)]
    Renewal {
        /// The lockspace (its name is enough).
        #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_loose)]
        lockspace: SanlkLockspace,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Print the lockspaces (`s LOCKSPACE [ADD|REM]`), with -h 1 also the
    /// hosts of each (`h ID gen G timestamp TS STATE`).
    #[command(disable_help_flag = true, after_help = LEASE_STRINGS)]
    Gets {
        /// 1: also list each lockspace's hosts.
        #[arg(short = 'h', value_name = "0|1", value_parser = p_bool01, default_value = "0", action = ArgAction::Set)]
        hosts: bool,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
        /// Print help.
        #[arg(long, action = ArgAction::Help)]
        help: Option<bool>,
    },
    /// Print the daemon's in-memory debug log. Exits 1 even on success
    /// (sanlock's result is the byte count).
    #[command(name = "log_dump")]
    LogDump,
    /// Ask the daemon to exit. Without -f 1 it refuses while lockspaces
    /// are joined (silently, unless -w 1 waits for the answer: -16).
    /// -f 1 kills lease holders and leaves every lockspace first.
    Shutdown {
        /// 1: force (kill lease holders, leave lockspaces).
        #[arg(short = 'f', value_name = "0|1", value_parser = p_num32, default_value = "0")]
        force: u32,
        /// 1: wait for the daemon's answer (until it exits).
        #[arg(
            short = 'w',
            value_name = "0|1",
            default_value_t = 0,
            allow_negative_numbers = true
        )]
        wait: i32,
    },
    /// Join a lockspace with HOST_ID (waits until joined: about 2
    /// io_timeouts plus a few seconds for a free host_id; 20+ s with the
    /// default io_timeout 10). Progress goes to stderr on a terminal.
    #[command(name = "add_lockspace", after_help = LEASE_STRINGS)]
    AddLockspace {
        /// The lockspace and our host_id: NAME:HOST_ID:PATH:OFFSET.
        #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_full)]
        lockspace: SanlkLockspace,
        /// io_timeout in seconds for this lockspace (default: the daemon's).
        #[arg(short = 'o', value_name = "SECONDS", value_parser = p_num32)]
        io_timeout: Option<u32>,
    },
    /// Ask whether a lockspace is joined: 0 yes, -2 no, -115 being added
    /// or removed.
    #[command(name = "inq_lockspace", after_help = LEASE_STRINGS)]
    InqLockspace {
        /// The lockspace: NAME:HOST_ID:PATH:OFFSET.
        #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_full)]
        lockspace: SanlkLockspace,
    },
    /// Leave a lockspace; processes holding leases in it are killed
    /// (SIGKILL) first.
    #[command(name = "rem_lockspace", after_help = LEASE_STRINGS)]
    RemLockspace {
        /// The lockspace: NAME:HOST_ID:PATH:OFFSET.
        #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_full)]
        lockspace: SanlkLockspace,
    },
    /// Register with the daemon, acquire the leases, then exec PATH ARGS
    /// with the registered connection inherited: the leases are held until
    /// the command (and every process that inherited the connection)
    /// exits. Without -c, hold the leases until killed.
    #[command(after_help = LEASE_STRINGS)]
    Command(CommandArgs),
    /// Acquire leases for another registered process PID.
    #[command(after_help = LEASE_STRINGS)]
    Acquire {
        /// Lease to acquire (repeatable, at most 8).
        #[arg(short = 'r', value_name = "RESOURCE", value_parser = p_res_full)]
        resources: Vec<ResourceArg>,
        /// The registered process.
        #[arg(short = 'p', value_name = "PID", allow_negative_numbers = true)]
        pid: Option<i32>,
        #[command(flatten)]
        opts: AcquireOpts,
    },
    /// Convert a held lease of PID to shared (RESOURCE ends in :SH) or
    /// exclusive.
    #[command(after_help = LEASE_STRINGS)]
    Convert {
        /// The lease (LOCKSPACE_NAME:RESOURCE_NAME[...][:SH]).
        #[arg(short = 'r', value_name = "RESOURCE", value_parser = p_res_loose)]
        resource: ResourceArg,
        /// The registered process.
        #[arg(short = 'p', value_name = "PID", allow_negative_numbers = true)]
        pid: Option<i32>,
    },
    /// Release leases of PID (-r LOCKSPACE_NAME:RESOURCE_NAME is enough).
    #[command(after_help = LEASE_STRINGS)]
    Release {
        /// Lease to release (repeatable, at most 8).
        #[arg(short = 'r', value_name = "RESOURCE", value_parser = p_res_loose)]
        resources: Vec<ResourceArg>,
        /// The registered process.
        #[arg(short = 'p', value_name = "PID", allow_negative_numbers = true)]
        pid: Option<i32>,
        /// 1: release all of PID's leases.
        #[arg(short = 'a', value_name = "0|1", value_parser = p_bool01, default_value = "0", action = ArgAction::Set)]
        all: bool,
        /// 1: release orphan leases (with -s NAME: all orphans of it).
        #[arg(short = 'O', value_name = "0|1", value_parser = p_bool01, default_value = "0", action = ArgAction::Set)]
        orphan: bool,
        /// The lockspace whose orphans to release (with -O 1).
        #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_loose)]
        lockspace: Option<SanlkLockspace>,
    },
    /// Print the leases PID holds, as a state string.
    Inquire {
        /// The registered process.
        #[arg(short = 'p', value_name = "PID", allow_negative_numbers = true)]
        pid: Option<i32>,
        /// Also parse the state string and print it back.
        #[arg(short = 'D')]
        debug: bool,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Ask the lease's owner to give it up: -f 1 kills the holder
    /// (SIGKILL), -f 2 runs its killpath or sends SIGTERM, -f 0 only
    /// records the request.
    #[command(after_help = LEASE_STRINGS)]
    Request {
        /// The lease (with :LVER to ask for that version).
        #[arg(short = 'r', value_name = "RESOURCE", value_parser = p_res_full)]
        resource: ResourceArg,
        /// Force mode: 0, 1 (force) or 2 (graceful).
        #[arg(short = 'f', value_name = "FORCE_MODE", value_parser = p_num32, default_value = "0")]
        force: u32,
    },
    /// Make the daemon check requests on a resource (or all resources of a
    /// lockspace) now.
    #[command(after_help = LEASE_STRINGS)]
    Examine {
        /// The resource.
        #[arg(short = 'r', value_name = "RESOURCE", value_parser = p_res_loose)]
        resource: Option<ResourceArg>,
        /// The lockspace (with its path).
        #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_loose)]
        lockspace: Option<SanlkLockspace>,
    },
    /// Print the lease alignment of the lockspace's disk. The result is the
    /// alignment, so (as with sanlock) the exit status is 1 on success.
    #[command(after_help = LEASE_STRINGS)]
    Align {
        /// The lockspace (its path and offset are used).
        #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_loose)]
        lockspace: SanlkLockspace,
    },
    /// Have the daemon initialise a lockspace or resource lease area.
    #[command(visible_alias = "write", after_help = LEASE_STRINGS)]
    Init {
        #[command(flatten)]
        target: FullTarget,
        /// With -r: 1 writes a cleared (invalid) lease.
        #[arg(short = 'z', value_name = "0|1", value_parser = p_bool01, default_value = "0", action = ArgAction::Set)]
        clear: bool,
        /// io_timeout written into a lockspace.
        #[arg(short = 'o', value_name = "SECONDS", value_parser = p_num32)]
        io_timeout: Option<u32>,
        /// max_hosts (sent as sanlock does; its daemon derives it from -Z/-A).
        #[arg(short = 'm', value_name = "MAX_HOSTS", value_parser = p_num32, default_value = "0")]
        max_hosts: u32,
        /// num_hosts of a resource lease.
        #[arg(short = 'n', value_name = "NUM_HOSTS", value_parser = p_num32, default_value = "0")]
        num_hosts: u32,
        #[command(flatten)]
        geom: GeomArgs,
    },
    /// Have the daemon read a lockspace or resource lease from disk.
    #[command(disable_help_flag = true, after_help = LEASE_STRINGS)]
    Read {
        #[command(flatten)]
        target: FullTarget,
        /// Detail: io_timeout, sector and align sizes.
        #[arg(short = 'D')]
        debug: bool,
        /// With -r, 1: also list the lease's owners.
        #[arg(short = 'h', value_name = "0|1", value_parser = p_bool01, default_value = "0", action = ArgAction::Set)]
        owners: bool,
        #[command(flatten)]
        geom: GeomArgs,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
        /// Print help.
        #[arg(long, action = ArgAction::Help)]
        help: Option<bool>,
    },
    /// Print the daemon's and this client's versions (exits 0 even when
    /// the daemon cannot be reached, as sanlock).
    Version,
    /// Set an event for host HOST_ID, delivered through our delta lease.
    #[command(name = "set_event", after_help = LEASE_STRINGS)]
    SetEvent {
        /// The lockspace (its name is enough).
        #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_loose)]
        lockspace: SanlkLockspace,
        /// Target host_id.
        #[arg(short = 'i', value_name = "HOST_ID", value_parser = p_num, default_value = "0")]
        host_id: u64,
        /// Target generation (0: any).
        #[arg(short = 'g', value_name = "GEN", value_parser = p_num, default_value = "0")]
        generation: u64,
        /// Event number.
        #[arg(short = 'e', value_name = "EVENT", value_parser = p_num, default_value = "0")]
        event: u64,
        /// Event data.
        #[arg(short = 'd', value_name = "DATA", value_parser = p_num, default_value = "0")]
        data: u64,
    },
    /// Mark a lockspace used/unused (-u) or used/unused by orphans (-O).
    #[command(name = "set_config", after_help = LEASE_STRINGS)]
    SetConfig {
        /// The lockspace (its name is enough).
        #[arg(short = 's', value_name = "LOCKSPACE", value_parser = p_ls_loose)]
        lockspace: SanlkLockspace,
        /// 1: used, 0: unused.
        #[arg(short = 'u', value_name = "0|1", value_parser = p_bool01)]
        used: Option<bool>,
        /// 1: used by orphans, 0: unused by orphans (wins over -u).
        #[arg(short = 'O', value_name = "0|1", value_parser = p_bool01)]
        orphan: Option<bool>,
    },
    /// Format a resource index.
    #[command(after_help = LEASE_STRINGS)]
    Format {
        /// The resource index.
        #[arg(short = 'x', value_name = "RINDEX", value_parser = p_rindex)]
        rindex: SanlkRindex,
        #[command(flatten)]
        geom: GeomArgs,
    },
    /// Rebuild a resource index from the leases found.
    #[command(after_help = LEASE_STRINGS)]
    Rebuild {
        /// The resource index.
        #[arg(short = 'x', value_name = "RINDEX", value_parser = p_rindex)]
        rindex: SanlkRindex,
    },
    /// Create a resource lease in a resource index; prints its offset.
    #[command(after_help = LEASE_STRINGS)]
    Create {
        /// The resource index.
        #[arg(short = 'x', value_name = "RINDEX", value_parser = p_rindex)]
        rindex: SanlkRindex,
        /// The resource name.
        #[arg(short = 'e', value_name = "RESOURCE_NAME", value_parser = p_rentry)]
        entry: SanlkRentry,
    },
    /// Delete a resource lease from a resource index.
    #[command(after_help = LEASE_STRINGS)]
    Delete {
        /// The resource index.
        #[arg(short = 'x', value_name = "RINDEX", value_parser = p_rindex)]
        rindex: SanlkRindex,
        /// NAME[:OFFSET].
        #[arg(short = 'e', value_name = "RESOURCE_NAME[:OFFSET]", value_parser = p_rentry)]
        entry: SanlkRentry,
    },
    /// Look up an entry of a resource index (without -e: the first free).
    #[command(after_help = LEASE_STRINGS)]
    Lookup {
        /// The resource index.
        #[arg(short = 'x', value_name = "RINDEX", value_parser = p_rindex)]
        rindex: SanlkRindex,
        /// NAME[:OFFSET] or :OFFSET.
        #[arg(short = 'e', value_name = "RESOURCE_NAME[:OFFSET]", value_parser = p_rentry)]
        entry: Option<SanlkRentry>,
    },
    /// Add (or with -z 1 remove) a resource index entry.
    #[command(after_help = LEASE_STRINGS)]
    Update {
        /// The resource index.
        #[arg(short = 'x', value_name = "RINDEX", value_parser = p_rindex)]
        rindex: SanlkRindex,
        /// NAME[:OFFSET].
        #[arg(short = 'e', value_name = "RESOURCE_NAME[:OFFSET]", value_parser = p_rentry)]
        entry: SanlkRentry,
        /// 1: remove the entry.
        #[arg(short = 'z', value_name = "0|1", value_parser = p_bool01, default_value = "0", action = ArgAction::Set)]
        remove: bool,
    },
}

/// Options of acquire and command.
#[derive(Debug, Clone, Args)]
pub struct AcquireOpts {
    /// num_hosts to set on the leases.
    #[arg(short = 'n', value_name = "NUM_HOSTS", value_parser = p_num32, default_value = "0")]
    pub num_hosts: u32,
    /// 1: persistent leases (kept as orphans when the holder exits).
    #[arg(short = 'P', value_name = "0|1", value_parser = p_bool01, default_value = "0", action = ArgAction::Set)]
    pub persistent: bool,
    /// 1: take over orphan leases.
    #[arg(short = 'O', value_name = "0|1", value_parser = p_bool01, default_value = "0", action = ArgAction::Set)]
    pub orphan: bool,
}

/// Arguments of `command`.
#[derive(Debug, Clone, Args)]
pub struct CommandArgs {
    /// Lease to acquire (repeatable, at most 8).
    #[arg(short = 'r', value_name = "RESOURCE", value_parser = p_res_full)]
    pub resources: Vec<ResourceArg>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub opts: AcquireOpts,
    /// The command to exec (a path: no $PATH search, as sanlock's execv)
    /// and its arguments; everything after -c belongs to it.
    #[arg(short = 'c', value_name = "PATH", num_args = 1.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub command: Option<Vec<String>>,
}

/// Runs one client action, printing on stdout as it goes.
pub fn run(cmd: &ClientCommand) -> Outcome {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let mut ctx = Ctx::new(&mut lock);
    let rv = run_with(&mut ctx, cmd);
    Outcome {
        stdout: Vec::new(),
        stderr: ctx.into_notes(),
        rv,
    }
}

/// Runs one action with output to `ctx`; returns sanlock's result number.
pub fn run_with(ctx: &mut Ctx, cmd: &ClientCommand) -> i32 {
    use ClientCommand as C;
    match cmd {
        C::Status { debug, sort, json } => show::status(
            ctx,
            *debug,
            sort.as_deref().and_then(|s| s.chars().next()),
            *json,
        ),
        C::HostStatus {
            lockspace,
            debug,
            json,
        } => show::host_status(ctx, lockspace.as_ref(), *debug, *json),
        C::Renewal { lockspace, json } => show::renewal(ctx, lockspace, *json),
        C::Gets { hosts, json, .. } => show::gets(ctx, *hosts, *json),
        C::LogDump => show::log_dump(ctx),
        C::Version => show::version(ctx),
        C::Inquire { pid, debug, json } => show::inquire(ctx, *pid, *debug, *json),
        C::Read {
            target,
            debug,
            owners,
            geom,
            json,
            ..
        } => {
            let flags = match geom.flags() {
                Ok(f) => f,
                Err(e) => return act::usage(ctx, e),
            };
            match (&target.lockspace, &target.resource) {
                (Some(ls), _) => {
                    let mut ls = ls.clone();
                    ls.flags |= flags;
                    show::read_lockspace(ctx, ls, *debug, *json)
                }
                (None, Some(r)) => {
                    let mut r = r.clone();
                    r.res.flags |= flags;
                    show::read_resource(ctx, r, *owners, *debug, *json)
                }
                (None, None) => act::usage(ctx, "read needs -s LOCKSPACE or -r RESOURCE".into()),
            }
        }
        other => act::run(ctx, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(subcommand)]
        c: ClientCommand,
    }

    fn parse(args: &[&str]) -> Result<ClientCommand, clap::Error> {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).map(|t| t.c)
    }

    #[test]
    fn command_takes_everything_after_c() {
        let c = parse(&[
            "command",
            "-r",
            "LS:R:/p:0",
            "-c",
            "/bin/sh",
            "-c",
            "echo -r x",
        ])
        .unwrap();
        match c {
            ClientCommand::Command(a) => {
                assert_eq!(a.resources.len(), 1);
                assert_eq!(
                    a.command.unwrap(),
                    vec!["/bin/sh".to_string(), "-c".into(), "echo -r x".into()]
                );
            }
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn sanlock_syntax_parses() {
        assert!(parse(&["gets", "-h", "1"]).is_ok());
        assert!(parse(&["host_status", "-s", "LS", "-D"]).is_ok());
        assert!(parse(&["release", "-r", "LS:R1", "-p", "12"]).is_ok());
        assert!(parse(&["write", "-s", "LS:0:/p:0"]).is_ok());
        assert!(parse(&["read", "-r", "LS:R1:/p:0", "-h", "1", "-D"]).is_ok());
        assert!(parse(&["shutdown", "-f", "1", "-w", "1"]).is_ok());
        // a resource read needs its disk
        assert!(parse(&["read", "-r", "LS:R1"]).is_err());
        assert!(parse(&["add_lockspace", "-s", "LS"]).is_err());
        assert!(parse(&[
            "set_event",
            "-s",
            "LS",
            "-i",
            "0x2",
            "-e",
            "0x42",
            "-d",
            "7"
        ])
        .is_ok());
    }

    #[test]
    fn geometry_combinations() {
        let g = |s, a| GeomArgs {
            sector_size: s,
            align_size: a,
        };
        assert_eq!(g(None, None).flags().unwrap(), 0);
        assert_eq!(g(Some(512), None).flags().unwrap(), 0x100);
        assert_eq!(g(Some(4096), Some(8 << 20)).flags().unwrap(), 0x280);
        assert!(g(Some(512), Some(2 << 20)).flags().is_err());
        assert!(g(None, Some(1 << 20)).flags().is_err());
    }
}
