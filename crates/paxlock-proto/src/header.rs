//! `struct sm_header`: the 32 bytes in front of every request and reply.

use crate::cmd::Cmd;
use crate::wire::Reader;
use crate::ProtoError;

/// `SM_MAGIC`, the first four bytes of every message (`10 20 28 04` on a
/// little-endian wire).
pub const SM_MAGIC: u32 = 0x0428_2010;
/// `SM_PROTO`: protocol major 0 (upper 16 bits), minor 1 (lower 16 bits).
pub const SM_PROTO: u32 = 0x0000_0001;
/// `data2` of a request that acts on the registered caller itself (-1).
pub const TARGET_SELF: u32 = 0xffff_ffff;

// struct sm_header (spec 2.1), 32 bytes, host byte order (little-endian on
// every platform sanlock runs on):
//
// | off | size | field     | request                        | reply                          |
// |-----|------|-----------|--------------------------------|--------------------------------|
// |   0 |    4 | magic     | 0x04282010                     | same                           |
// |   4 |    4 | version   | SM_PROTO (0x00000001)          | SM_PROTO                       |
// |   8 |    4 | cmd       | SM_CMD_*                       | echoed                         |
// |  12 |    4 | cmd_flags | command flags                  | echoed (VERSION: 0)            |
// |  16 |    4 | length    | 32 + payload (quirks: §3.4)    | 32 + reply payload (quirks)    |
// |  20 |    4 | seq       | 0                              | echoed                         |
// |  24 |    4 | data      | command argument               | result (signed)                |
// |  28 |    4 | data2     | argument; target pid or -1     | second result, else 0          |

/// `struct sm_header`, the 32-byte header of every request and reply.
///
/// Fields are kept raw (`u32`) because their meaning depends on the command
/// and the direction; [`crate::Request`] gives them names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SmHeader {
    /// `SM_MAGIC`.
    pub magic: u32,
    /// `SM_PROTO` (major in the upper 16 bits).
    pub version: u32,
    /// `SM_CMD_*` number.
    pub cmd: u32,
    /// Command-specific flags.
    pub cmd_flags: u32,
    /// Total message length in bytes, header included.
    pub length: u32,
    /// Sequence number; libsanlock always sends 0.
    pub seq: u32,
    /// Request argument, or the reply's result.
    pub data: u32,
    /// Second argument (target pid for process commands) or second result.
    pub data2: u32,
}

/// What the daemon's acceptance checks (spec 2.1) make of a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderVerdict {
    /// Process it as this command.
    Accept(Cmd),
    /// Wrong magic: not a sanlock client; ignore it (no reply).
    BadMagic(u32),
    /// A newer protocol major than ours; ignore it (no reply).
    VersionTooNew(u32),
    /// A command number outside 1..=40; ignore it (no reply).
    UnknownCommand(u32),
}

impl HeaderVerdict {
    /// The verdict as a `Result`: the command, or the error to log.
    pub fn into_result(self) -> Result<Cmd, ProtoError> {
        match self {
            HeaderVerdict::Accept(c) => Ok(c),
            HeaderVerdict::BadMagic(magic) => Err(ProtoError::BadMagic { magic }),
            HeaderVerdict::VersionTooNew(version) => Err(ProtoError::VersionTooNew { version }),
            HeaderVerdict::UnknownCommand(cmd) => Err(ProtoError::UnknownCommand { cmd }),
        }
    }
}

impl SmHeader {
    /// Bytes on the wire.
    pub const LEN: usize = 32;

    /// A request header as libsanlock builds it: magic, `SM_PROTO`, seq 0.
    pub fn request(cmd: Cmd, cmd_flags: u32, length: u32, data: u32, data2: u32) -> SmHeader {
        SmHeader {
            magic: SM_MAGIC,
            version: SM_PROTO,
            cmd: cmd.number(),
            cmd_flags,
            length,
            seq: 0,
            data,
            data2,
        }
    }

    /// Decodes the first 32 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<SmHeader, ProtoError> {
        let mut r = Reader::new(b, "sm_header");
        let h = SmHeader {
            magic: r.u32()?,
            version: r.u32()?,
            cmd: r.u32()?,
            cmd_flags: r.u32()?,
            length: r.u32()?,
            seq: r.u32()?,
            data: r.u32()?,
            data2: r.u32()?,
        };
        Ok(h)
    }

    /// Decodes exactly 32 bytes (cannot fail).
    pub fn from_bytes(b: &[u8; 32]) -> SmHeader {
        let f = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        SmHeader {
            magic: f(0),
            version: f(4),
            cmd: f(8),
            cmd_flags: f(12),
            length: f(16),
            seq: f(20),
            data: f(24),
            data2: f(28),
        }
    }

    /// The 32 bytes on the wire.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, v) in [
            self.magic,
            self.version,
            self.cmd,
            self.cmd_flags,
            self.length,
            self.seq,
            self.data,
            self.data2,
        ]
        .iter()
        .enumerate()
        {
            out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Appends the 32 bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// sanlock's acceptance checks of spec 2.1, in its order: magic, then
    /// protocol major (skipped for version 0, which pre-2014 clients send,
    /// and for VERSION requests), then the command number. A minor newer
    /// than ours is accepted.
    ///
    /// The fourth check, "connection not restricted with
    /// `SANLK_RESTRICT_ALL`", is connection state and is the daemon's job.
    pub fn check(&self) -> HeaderVerdict {
        if self.magic != SM_MAGIC {
            return HeaderVerdict::BadMagic(self.magic);
        }
        let is_version_cmd = self.cmd == Cmd::Version.number();
        if self.version != 0
            && !is_version_cmd
            && (self.version & 0xffff_0000) > (SM_PROTO & 0xffff_0000)
        {
            return HeaderVerdict::VersionTooNew(self.version);
        }
        match Cmd::try_from(self.cmd) {
            Ok(c) => HeaderVerdict::Accept(c),
            Err(_) => HeaderVerdict::UnknownCommand(self.cmd),
        }
    }

    /// `data` read as the signed result of a reply.
    pub fn result(&self) -> i32 {
        self.data as i32
    }

    /// `data2` read as a signed value (target pid, -1 = self).
    pub fn data2_i32(&self) -> i32 {
        self.data2 as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reply to ADD_LOCKSPACE captured from the real daemon (spec 2.2).
    const ADD_LOCKSPACE_OK: [u8; 32] = [
        0x10, 0x20, 0x28, 0x04, 0x01, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn captured_reply_decodes() {
        let h = SmHeader::decode(&ADD_LOCKSPACE_OK).unwrap();
        assert_eq!(h.magic, SM_MAGIC);
        assert_eq!(h.version, 1);
        assert_eq!(h.cmd, 2);
        assert_eq!(h.length, 32);
        assert_eq!(h.result(), 0);
        assert_eq!(h.to_bytes(), ADD_LOCKSPACE_OK);
        assert_eq!(SmHeader::from_bytes(&ADD_LOCKSPACE_OK), h);
        assert_eq!(h.check(), HeaderVerdict::Accept(Cmd::AddLockspace));
    }

    #[test]
    fn short_input_is_an_error() {
        assert!(matches!(
            SmHeader::decode(&ADD_LOCKSPACE_OK[..31]),
            Err(ProtoError::Short {
                needed: 32,
                got: 31,
                ..
            })
        ));
    }

    #[test]
    fn acceptance_checks() {
        let ok = SmHeader::request(Cmd::Status, 0, 32, 0, 0);
        assert_eq!(ok.check(), HeaderVerdict::Accept(Cmd::Status));

        let bad = SmHeader {
            magic: 0x1028_2004,
            ..ok
        };
        assert_eq!(bad.check(), HeaderVerdict::BadMagic(0x1028_2004));

        // version 0 (pre-2014 clients) and a newer minor are accepted
        assert!(matches!(
            SmHeader { version: 0, ..ok }.check(),
            HeaderVerdict::Accept(_)
        ));
        assert!(matches!(
            SmHeader {
                version: 0x0000_ffff,
                ..ok
            }
            .check(),
            HeaderVerdict::Accept(_)
        ));
        // a newer major is not, except for VERSION
        let newer = SmHeader {
            version: 0x0001_0001,
            ..ok
        };
        assert_eq!(newer.check(), HeaderVerdict::VersionTooNew(0x0001_0001));
        let newer_version = SmHeader { cmd: 28, ..newer };
        assert_eq!(newer_version.check(), HeaderVerdict::Accept(Cmd::Version));

        // magic is checked before the command number
        let unknown = SmHeader { cmd: 41, ..ok };
        assert_eq!(unknown.check(), HeaderVerdict::UnknownCommand(41));
        assert_eq!(
            SmHeader {
                magic: 0,
                ..unknown
            }
            .check(),
            HeaderVerdict::BadMagic(0)
        );
        assert_eq!(
            unknown.check().into_result(),
            Err(ProtoError::UnknownCommand { cmd: 41 })
        );
    }
}
