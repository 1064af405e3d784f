//! paxlock-wdmd: a wdmd-compatible watchdog daemon, with a test watchdog.
//! See `paxlock_wd::cli`.

fn main() -> std::process::ExitCode {
    let rv = paxlock_wd::cli::run(std::env::args_os(), &[]);
    std::process::ExitCode::from(u8::try_from(rv).unwrap_or(1))
}
