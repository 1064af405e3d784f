//! The `paxlock` command: sanlock-compatible lease tooling.
//!
//! The binary (`main.rs`) only parses arguments and prints; the commands
//! live in [`direct`] and return an [`direct::Outcome`] (stdout bytes,
//! stderr notes, result number), which keeps them testable in-process.

pub mod cli;
pub mod client;
pub mod daemon_opts;
pub mod demo;
pub mod direct;
pub mod faultfs;
pub mod hold;
pub mod render;
