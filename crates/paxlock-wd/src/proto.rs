//! The wdmd client protocol (libwdmd ↔ wdmd), as used by sanlock 3.8.5.
//!
//! Facts (checked against the installed sanlock 3.8.5 / libwdmd.so.1 and the
//! public wdmd headers, see `docs` in the crate README section of lib.rs):
//!
//! * Unix stream socket, fixed path `/run/wdmd/wdmd.sock` (libwdmd reads no
//!   environment variable; `SANLOCK_RUN_DIR` does not move it).
//! * Every message, request or reply, is one whole `struct wdmd_header` of
//!   176 bytes in host byte order: six `u32` (magic, cmd, len, flags,
//!   test_interval, fire_timeout), three `u64` (last_keepalive, renewal_time,
//!   expire_time), then `name[128]`. libwdmd zeroes the header and never sets
//!   `magic`, `len` or `flags`, so the daemon must not check them.
//! * Commands: REGISTER 1, REFCOUNT_SET 2, REFCOUNT_CLEAR 3, TEST_LIVE 4,
//!   STATUS 5 (the only ones libwdmd 3.8.5 sends), and in later wdmd versions
//!   DUMP_DEBUG 6 (reply: plain text) and OPEN_WATCHDOG 7 (reply: a header whose
//!   `fire_timeout` is 0 on failure).
//! * STATUS's reply is the request header with `test_interval`,
//!   `fire_timeout` and `last_keepalive` filled in; sanlock reads it with
//!   `MSG_WAITALL` and refuses a lockspace if `fire_timeout` differs from its
//!   own (60 in 3.8.5).
//! * Times are CLOCK_MONOTONIC seconds.

use std::fmt;

/// Size of `struct wdmd_header` on the wire.
pub const HEADER_LEN: usize = 176;
/// Size of the `name` field (`WDMD_NAME_SIZE`).
pub const NAME_SIZE: usize = 128;
/// Where libwdmd connects (fixed in libwdmd).
pub const DEFAULT_SOCKET_PATH: &str = "/run/wdmd/wdmd.sock";

/// A wdmd command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// Name the connection (`name`); the daemon records the peer pid.
    Register,
    /// The client uses the watchdog: do not exit while set.
    RefcountSet,
    /// The client no longer uses the watchdog.
    RefcountClear,
    /// New renewal and expiry times (0, 0 disables the test). No reply.
    TestLive,
    /// Reply with test_interval, fire_timeout, last_keepalive.
    Status,
    /// Reply with a text dump.
    DumpDebug,
    /// Open the device with `fire_timeout`; reply with the timeout in force, 0 on failure.
    OpenWatchdog,
}

impl Cmd {
    /// Wire value.
    pub fn code(self) -> u32 {
        match self {
            Cmd::Register => 1,
            Cmd::RefcountSet => 2,
            Cmd::RefcountClear => 3,
            Cmd::TestLive => 4,
            Cmd::Status => 5,
            Cmd::DumpDebug => 6,
            Cmd::OpenWatchdog => 7,
        }
    }

    /// From a wire value; `None` for unknown commands (wdmd ignores them).
    pub fn from_code(code: u32) -> Option<Cmd> {
        Some(match code {
            1 => Cmd::Register,
            2 => Cmd::RefcountSet,
            3 => Cmd::RefcountClear,
            4 => Cmd::TestLive,
            5 => Cmd::Status,
            6 => Cmd::DumpDebug,
            7 => Cmd::OpenWatchdog,
            _ => return None,
        })
    }
}

/// `struct wdmd_header`.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// Unused by libwdmd (always 0).
    pub magic: u32,
    /// Command code (see [`Cmd`]); kept raw so unknown values round-trip.
    pub cmd: u32,
    /// Unused by libwdmd.
    pub len: u32,
    /// Unused by libwdmd.
    pub flags: u32,
    /// STATUS reply: seconds between tests.
    pub test_interval: u32,
    /// STATUS / OPEN_WATCHDOG: watchdog fire timeout in seconds.
    pub fire_timeout: u32,
    /// STATUS reply: monotonic second of the last keepalive.
    pub last_keepalive: u64,
    /// TEST_LIVE: monotonic second of the client's last renewal.
    pub renewal_time: u64,
    /// TEST_LIVE: monotonic second at which the client's test fails (0: none).
    pub expire_time: u64,
    /// REGISTER: client name, NUL padded (not necessarily NUL terminated).
    pub name: [u8; NAME_SIZE],
}

impl Default for Header {
    fn default() -> Self {
        Header {
            magic: 0,
            cmd: 0,
            len: 0,
            flags: 0,
            test_interval: 0,
            fire_timeout: 0,
            last_keepalive: 0,
            renewal_time: 0,
            expire_time: 0,
            name: [0; NAME_SIZE],
        }
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("magic", &self.magic)
            .field("cmd", &self.cmd)
            .field("len", &self.len)
            .field("flags", &self.flags)
            .field("test_interval", &self.test_interval)
            .field("fire_timeout", &self.fire_timeout)
            .field("last_keepalive", &self.last_keepalive)
            .field("renewal_time", &self.renewal_time)
            .field("expire_time", &self.expire_time)
            .field("name", &self.name_str())
            .finish()
    }
}

/// Why bytes are not a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer than [`HEADER_LEN`] bytes.
    Short(usize),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Short(n) => write!(f, "wdmd header needs {HEADER_LEN} bytes, got {n}"),
        }
    }
}

impl std::error::Error for DecodeError {}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_ne_bytes(a)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_ne_bytes(a)
}

impl Header {
    /// A zeroed header for `cmd`, as libwdmd builds them.
    pub fn new(cmd: Cmd) -> Header {
        Header {
            cmd: cmd.code(),
            ..Header::default()
        }
    }

    /// The command, if known.
    pub fn command(&self) -> Option<Cmd> {
        Cmd::from_code(self.cmd)
    }

    /// Set `name`, truncated to [`NAME_SIZE`] bytes (as `strncpy`).
    pub fn set_name(&mut self, name: &str) {
        self.name = [0; NAME_SIZE];
        let b = name.as_bytes();
        let n = b.len().min(NAME_SIZE);
        self.name[..n].copy_from_slice(&b[..n]);
    }

    /// `name` up to the first NUL, lossily as UTF-8.
    pub fn name_str(&self) -> String {
        let end = self.name.iter().position(|&c| c == 0).unwrap_or(NAME_SIZE);
        String::from_utf8_lossy(&self.name[..end]).into_owned()
    }

    /// The 176 wire bytes (host byte order, as the C struct).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        let words = [
            self.magic,
            self.cmd,
            self.len,
            self.flags,
            self.test_interval,
            self.fire_timeout,
        ];
        for (i, w) in words.iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
        }
        b[24..32].copy_from_slice(&self.last_keepalive.to_ne_bytes());
        b[32..40].copy_from_slice(&self.renewal_time.to_ne_bytes());
        b[40..48].copy_from_slice(&self.expire_time.to_ne_bytes());
        b[48..].copy_from_slice(&self.name);
        b
    }

    /// Decode the first [`HEADER_LEN`] bytes of `b`. Never panics; extra
    /// bytes are ignored (the stream framing is fixed-size, `len` is not
    /// trusted).
    pub fn decode(b: &[u8]) -> Result<Header, DecodeError> {
        if b.len() < HEADER_LEN {
            return Err(DecodeError::Short(b.len()));
        }
        let mut name = [0u8; NAME_SIZE];
        name.copy_from_slice(&b[48..HEADER_LEN]);
        Ok(Header {
            magic: u32_at(b, 0),
            cmd: u32_at(b, 4),
            len: u32_at(b, 8),
            flags: u32_at(b, 12),
            test_interval: u32_at(b, 16),
            fire_timeout: u32_at(b, 20),
            last_keepalive: u64_at(b, 24),
            renewal_time: u64_at(b, 32),
            expire_time: u64_at(b, 40),
            name,
        })
    }
}

/// Splits a byte stream into whole headers. Keeps at most one partial
/// header; never allocates more than one header's worth beyond the input.
#[derive(Debug, Default)]
pub struct Framer {
    partial: Vec<u8>,
}

impl Framer {
    /// Feed bytes; returns every complete header they finish.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Header> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let need = HEADER_LEN - self.partial.len();
            let take = need.min(bytes.len());
            self.partial.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.partial.len() == HEADER_LEN {
                if let Ok(h) = Header::decode(&self.partial) {
                    out.push(h);
                }
                self.partial.clear();
            }
        }
        out
    }

    /// Bytes of an unfinished header.
    pub fn pending(&self) -> usize {
        self.partial.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_matches_libwdmd() {
        // libwdmd's wdmd_test_live stores cmd at +4, renewal at +0x20,
        // expire at +0x28, and sends 0xb0 bytes; REGISTER copies the name to +0x30.
        let mut h = Header::new(Cmd::TestLive);
        h.renewal_time = 0x1122;
        h.expire_time = 0x3344;
        h.set_name("sanlock_LS:1");
        let b = h.encode();
        assert_eq!(b.len(), 0xb0);
        assert_eq!(u32_at(&b, 4), 4);
        assert_eq!(u64_at(&b, 0x20), 0x1122);
        assert_eq!(u64_at(&b, 0x28), 0x3344);
        assert_eq!(&b[0x30..0x30 + 12], b"sanlock_LS:1");
        assert_eq!(b[0], 0, "libwdmd never sets magic");
    }

    #[test]
    fn long_name_truncates() {
        let mut h = Header::new(Cmd::Register);
        h.set_name(&"x".repeat(300));
        assert_eq!(h.name_str().len(), NAME_SIZE);
    }

    #[test]
    fn short_input_is_an_error() {
        assert_eq!(Header::decode(&[0; 10]), Err(DecodeError::Short(10)));
    }

    proptest! {
        #[test]
        fn decode_never_panics(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Header::decode(&b);
        }

        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), HEADER_LEN..=HEADER_LEN)) {
            let h = Header::decode(&bytes).unwrap();
            prop_assert_eq!(h.encode().to_vec(), bytes);
        }

        #[test]
        fn framer_any_split(n in 0usize..5, cuts in proptest::collection::vec(1usize..200, 0..20)) {
            let mut stream = Vec::new();
            for i in 0..n {
                let mut h = Header::new(Cmd::TestLive);
                h.renewal_time = i as u64;
                stream.extend_from_slice(&h.encode());
            }
            let mut f = Framer::default();
            let mut got = Vec::new();
            let mut rest = &stream[..];
            for c in cuts {
                let c = c.min(rest.len());
                got.extend(f.push(&rest[..c]));
                rest = &rest[c..];
            }
            got.extend(f.push(rest));
            prop_assert_eq!(got.len(), n);
            for (i, h) in got.iter().enumerate() {
                prop_assert_eq!(h.renewal_time, i as u64);
            }
            prop_assert_eq!(f.pending(), 0);
        }
    }
}
