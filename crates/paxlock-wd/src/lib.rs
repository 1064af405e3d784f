//! paxlock-wd: a wdmd-compatible watchdog multiplexer.
//!
//! sanlock's safety rests on the watchdog: a host that cannot renew its
//! host_id lease is reset before any other host may take its leases (spec
//! §5). sanlock 3.8.5 talks to the watchdog multiplexer `wdmd` through
//! libwdmd over `/run/wdmd/wdmd.sock`. This crate provides:
//!
//! * [`proto`]: the wdmd wire format (176-byte `wdmd_header`), fuzz-safe.
//! * [`mux`]: the multiplexer as a pure state machine (tests, early fail,
//!   fatal close, pet / close-unclean / reopen / close-clean decisions, and
//!   the time at which the device fires).
//! * [`device`]: backends: `/dev/watchdog` and a *test watchdog* that, at
//!   the moment a hardware watchdog would fire, SIGKILLs a process group or
//!   a cgroup ([`testdev`] is its process).
//! * [`daemon`]: the wdmd-compatible daemon (`paxlock-wdmd daemon`), which
//!   a real `sanlock daemon -w 1` can use in place of wdmd.
//! * [`client`]: the libwdmd calls, for paxlock's daemon and tests.

pub mod cli;
pub mod client;
pub mod daemon;
pub mod device;
mod ioctl;
pub mod mux;
pub mod proto;
pub mod testdev;
