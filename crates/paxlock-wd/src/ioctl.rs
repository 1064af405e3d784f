//! The three Linux watchdog ioctls (`<linux/watchdog.h>`), the only unsafe
//! code in paxlock. rustix exposes raw ioctls only as `unsafe fn`; each call
//! below is a fixed opcode with a correctly sized `c_int` argument.
#![allow(unsafe_code)]

use rustix::ioctl::{ioctl, opcode, Getter, Updater};
use std::ffi::c_int;
use std::os::fd::AsFd;

/// `WDIOC_KEEPALIVE = _IOR('W', 5, int)`.
const WDIOC_KEEPALIVE: u32 = opcode::read::<c_int>(b'W', 5);
/// `WDIOC_SETTIMEOUT = _IOWR('W', 6, int)`.
const WDIOC_SETTIMEOUT: u32 = opcode::read_write::<c_int>(b'W', 6);
/// `WDIOC_GETTIMEOUT = _IOR('W', 7, int)`.
const WDIOC_GETTIMEOUT: u32 = opcode::read::<c_int>(b'W', 7);

/// Ping the watchdog.
pub fn keepalive(fd: impl AsFd) -> std::io::Result<()> {
    // SAFETY: WDIOC_KEEPALIVE is _IOR('W', 5, int): the kernel writes at most
    // one c_int, which `Getter<_, c_int>` provides (the driver ignores it).
    let _: c_int = unsafe { ioctl(fd, Getter::<WDIOC_KEEPALIVE, c_int>::new()) }?;
    Ok(())
}

/// Read the fire timeout, seconds.
pub fn get_timeout(fd: impl AsFd) -> std::io::Result<u32> {
    // SAFETY: WDIOC_GETTIMEOUT is _IOR('W', 7, int): the kernel writes one
    // c_int into the `Getter`'s c_int buffer.
    let t: c_int = unsafe { ioctl(fd, Getter::<WDIOC_GETTIMEOUT, c_int>::new()) }?;
    Ok(u32::try_from(t).unwrap_or(0))
}

/// Set the fire timeout; returns the value the driver actually took.
pub fn set_timeout(fd: impl AsFd, seconds: u32) -> std::io::Result<u32> {
    let mut v: c_int = c_int::try_from(seconds).unwrap_or(c_int::MAX);
    // SAFETY: WDIOC_SETTIMEOUT is _IOWR('W', 6, int): the kernel reads and
    // writes back one c_int, which `v` is, borrowed for the call only.
    unsafe { ioctl(fd, Updater::<WDIOC_SETTIMEOUT, c_int>::new(&mut v)) }?;
    Ok(u32::try_from(v).unwrap_or(0))
}
