//! A wdmd client (the libwdmd calls), for paxlock's daemon and for tests.

use crate::proto::{Cmd, Header, HEADER_LEN};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// STATUS reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Seconds between tests.
    pub test_interval: u32,
    /// Fire timeout, seconds.
    pub fire_timeout: u32,
    /// Monotonic second of the last keepalive.
    pub last_keepalive: u64,
}

/// One connection to a wdmd.
#[derive(Debug)]
pub struct WdmdClient {
    stream: UnixStream,
}

impl WdmdClient {
    /// Connect to the daemon's socket.
    pub fn connect(path: impl AsRef<Path>) -> io::Result<WdmdClient> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(WdmdClient { stream })
    }

    fn send(&mut self, h: &Header) -> io::Result<()> {
        self.stream.write_all(&h.encode())
    }

    fn recv(&mut self) -> io::Result<Header> {
        let mut b = [0u8; HEADER_LEN];
        self.stream.read_exact(&mut b)?;
        Header::decode(&b).map_err(io::Error::other)
    }

    /// REGISTER `name` (at most 128 bytes, as libwdmd).
    pub fn register(&mut self, name: &str) -> io::Result<()> {
        if name.len() > crate::proto::NAME_SIZE {
            return Err(io::Error::from_raw_os_error(36)); // ENAMETOOLONG
        }
        let mut h = Header::new(Cmd::Register);
        h.set_name(name);
        self.send(&h)
    }

    /// REFCOUNT_SET.
    pub fn refcount_set(&mut self) -> io::Result<()> {
        self.send(&Header::new(Cmd::RefcountSet))
    }

    /// REFCOUNT_CLEAR.
    pub fn refcount_clear(&mut self) -> io::Result<()> {
        self.send(&Header::new(Cmd::RefcountClear))
    }

    /// TEST_LIVE (0, 0 disables this client's test).
    pub fn test_live(&mut self, renewal_time: u64, expire_time: u64) -> io::Result<()> {
        let mut h = Header::new(Cmd::TestLive);
        h.renewal_time = renewal_time;
        h.expire_time = expire_time;
        self.send(&h)
    }

    /// STATUS.
    pub fn status(&mut self) -> io::Result<Status> {
        self.send(&Header::new(Cmd::Status))?;
        let h = self.recv()?;
        Ok(Status {
            test_interval: h.test_interval,
            fire_timeout: h.fire_timeout,
            last_keepalive: h.last_keepalive,
        })
    }

    /// OPEN_WATCHDOG: returns the fire timeout in force, 0 on failure.
    pub fn open_watchdog(&mut self, fire_timeout: u32) -> io::Result<u32> {
        let mut h = Header::new(Cmd::OpenWatchdog);
        h.fire_timeout = fire_timeout;
        self.send(&h)?;
        Ok(self.recv()?.fire_timeout)
    }

    /// DUMP_DEBUG: the daemon's text dump (it ends with a NUL).
    pub fn dump_debug(&mut self) -> io::Result<String> {
        self.send(&Header::new(Cmd::DumpDebug))?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = self.stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if let Some(p) = out.iter().position(|&c| c == 0) {
                out.truncate(p);
                break;
            }
            if out.len() > 1 << 20 {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
