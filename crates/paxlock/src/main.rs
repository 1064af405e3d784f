//! `paxlock`: parse the command line, run, print, exit.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use paxlock::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = run(&cli);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth reporting.
    let _ = stdout
        .write_all(&outcome.stdout)
        .and_then(|()| stdout.flush());
    let mut stderr = std::io::stderr().lock();
    for line in &outcome.stderr {
        let _ = writeln!(stderr, "paxlock: {line}");
    }
    ExitCode::from(outcome.exit_code() as u8)
}
