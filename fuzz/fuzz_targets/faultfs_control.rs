//! paxlock-faultfs's control-socket command parser on arbitrary lines:
//! never panics; an accepted command has a non-empty description.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let _ = paxlock_faultfs::control::parse(&line);
});
