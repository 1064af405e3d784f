//! `paxlock-faultfs`: mount a fault-injecting passthrough, or send a
//! command to one.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A FUSE passthrough of DIR at MOUNTPOINT whose reads and writes can be
/// delayed, stalled or failed at run time through the control socket.
#[derive(Debug, Parser)]
#[command(
    name = "paxlock-faultfs",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    /// The directory passed through.
    #[arg(long, value_name = "DIR", required = true)]
    backing: Option<PathBuf>,
    /// Where to mount it.
    #[arg(long = "mount", value_name = "MOUNTPOINT", required = true)]
    mountpoint: Option<PathBuf>,
    /// Unix socket taking one-line commands: ok, delay MS, stall, eio,
    /// eio-writes, eio-reads (each optionally followed by a FILE name),
    /// status.
    #[arg(long, value_name = "SOCKET")]
    control: Option<PathBuf>,
    /// FUSE worker threads.
    #[arg(long, default_value_t = 4)]
    threads: usize,
    #[command(subcommand)]
    cmd: Option<Sub>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Send a command to a running paxlock-faultfs, print its reply.
    Ctl {
        /// Its control socket.
        socket: PathBuf,
        /// The command, e.g. `stall`, `delay 500 ids`, `status`.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Some(Sub::Ctl { socket, command }) => {
            paxlock_faultfs::send_command(&socket, &command.join(" ")).map(|r| println!("{r}"))
        }
        None => match (cli.backing, cli.mountpoint) {
            (Some(backing), Some(mountpoint)) => {
                paxlock_faultfs::serve(&paxlock_faultfs::Options {
                    backing,
                    mountpoint,
                    control: cli.control,
                    threads: cli.threads,
                })
            }
            _ => Err(anyhow::anyhow!("--backing and --mount are required")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paxlock-faultfs: {e:#}");
            ExitCode::FAILURE
        }
    }
}
