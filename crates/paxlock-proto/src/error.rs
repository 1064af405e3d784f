//! The crate's error type and the result code a daemon sends for each error.

use crate::cmd::Cmd;
use crate::rv::errno;

/// Why bytes could not be decoded as (or a value could not be encoded into)
/// a sanlock client message.
///
/// [`ProtoError::result_code`] says what a sanlock-compatible daemon answers
/// for the error, or that it must not answer at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// Fewer bytes than the structure needs (sanlock: `-ENOTCONN`, the
    /// client closed or wrote short).
    #[error("{what} needs {needed} bytes but only {got} were received")]
    Short {
        /// What was being decoded.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// A request payload longer than its command's structures.
    #[error(
        "{cmd} request has {got} payload bytes but its structures take {expected}; \
         the extra bytes do not belong to any field"
    )]
    Trailing {
        /// The command.
        cmd: Cmd,
        /// Bytes the command's structures take.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The header's magic is not `SM_MAGIC` (0x04282010): not a sanlock
    /// client. sanlock logs and ignores such a header without replying.
    #[error("header magic is {magic:#010x}, not 0x04282010: not a sanlock client message")]
    BadMagic {
        /// The magic found.
        magic: u32,
    },
    /// The header's protocol major is newer than ours. sanlock ignores the
    /// request without replying.
    #[error(
        "client protocol version {version:#010x} has major {}, newer than our 0; \
         upgrade the daemon",
        version >> 16
    )]
    VersionTooNew {
        /// The version found.
        version: u32,
    },
    /// A command number sanlock 3.8 does not know (valid: 1..=40). sanlock
    /// ignores it without replying.
    #[error("unknown command number {cmd} (sanlock 3.8 knows 1..=40)")]
    UnknownCommand {
        /// The number found.
        cmd: u32,
    },
    /// `header.length` below 32 or above `MAX_CLIENT_MSG` (1 MiB): the
    /// message cannot be framed, the connection should be closed.
    #[error("header length {length} is outside 32..=1048576; cannot frame the request")]
    BadLength {
        /// The length found.
        length: u32,
    },
    /// More than `SANLK_MAX_RESOURCES` (8) resources in one request
    /// (sanlock: `-E2BIG`).
    #[error("{cmd} names {count} resources; sanlock accepts at most 8 per request")]
    TooManyResources {
        /// The command.
        cmd: Cmd,
        /// The count found in `header.data`.
        count: u32,
    },
    /// A resource whose `num_disks` is 0 or above `SANLK_MAX_DISKS` (4)
    /// where disks are required (sanlock: `-ERANGE`).
    #[error("resource {lockspace}:{name} has num_disks {num_disks}; it must be 1..=4")]
    NumDisks {
        /// The resource's lockspace name (lossy text).
        lockspace: String,
        /// The resource's name (lossy text).
        name: String,
        /// The value found.
        num_disks: u32,
    },
    /// A C string field with no terminating NUL inside its fixed size.
    #[error("{what} has no terminating NUL within its {len}-byte field")]
    Unterminated {
        /// Which field.
        what: &'static str,
        /// The field's size in bytes.
        len: usize,
    },
    /// A string too long (or holding a NUL) for its fixed-size field.
    #[error("{what} of {len} bytes does not fit its field (at most {max} bytes, no NUL)")]
    TooLong {
        /// Which field.
        what: &'static str,
        /// The length given.
        len: usize,
        /// The most that fits.
        max: usize,
    },
    /// A SET_LVB value longer than 4096 bytes (sanlock: `-E2BIG`).
    #[error("lvb of {len} bytes is longer than the 4096 bytes sanlock accepts")]
    LvbTooLarge {
        /// Bytes given.
        len: usize,
    },
    /// The resource count in `header.data` disagrees with the payload.
    #[error("{cmd} header says {count} resources but the payload holds {found}")]
    CountMismatch {
        /// The command.
        cmd: Cmd,
        /// `header.data`.
        count: u32,
        /// Structures found in the payload.
        found: usize,
    },
    /// A status record's `str_len` above `SANLK_STATE_MAXSTR` (4096), which
    /// would overflow the sanlock CLI's buffer.
    #[error("status text of {len} bytes is longer than SANLK_STATE_MAXSTR (4096)")]
    StateTooLong {
        /// Bytes (with NUL).
        len: usize,
    },
}

impl ProtoError {
    /// The result a sanlock-compatible daemon puts in the reply header's
    /// `data` for this error, or `None` when sanlock sends no reply at all
    /// (bad magic, too-new protocol, unknown command) or the request cannot
    /// be framed (bad length; close the connection).
    pub fn result_code(&self) -> Option<i32> {
        match self {
            ProtoError::BadMagic { .. }
            | ProtoError::VersionTooNew { .. }
            | ProtoError::UnknownCommand { .. }
            | ProtoError::BadLength { .. } => None,
            ProtoError::Short { .. } => Some(-errno::ENOTCONN),
            ProtoError::TooManyResources { .. } | ProtoError::LvbTooLarge { .. } => {
                Some(-errno::E2BIG)
            }
            ProtoError::NumDisks { .. } => Some(-errno::ERANGE),
            ProtoError::Trailing { .. }
            | ProtoError::Unterminated { .. }
            | ProtoError::TooLong { .. }
            | ProtoError::CountMismatch { .. }
            | ProtoError::StateTooLong { .. } => Some(-errno::EINVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_sanlock() {
        let c = |e: ProtoError| e.result_code();
        assert_eq!(c(ProtoError::BadMagic { magic: 0 }), None);
        assert_eq!(c(ProtoError::UnknownCommand { cmd: 41 }), None);
        assert_eq!(c(ProtoError::VersionTooNew { version: 0x20000 }), None);
        assert_eq!(c(ProtoError::BadLength { length: 7 }), None);
        assert_eq!(
            c(ProtoError::Short {
                what: "x",
                needed: 2,
                got: 1
            }),
            Some(-107)
        );
        assert_eq!(
            c(ProtoError::TooManyResources {
                cmd: Cmd::Acquire,
                count: 9
            }),
            Some(-7)
        );
        assert_eq!(
            c(ProtoError::NumDisks {
                lockspace: "LS".into(),
                name: "R".into(),
                num_disks: 0
            }),
            Some(-34)
        );
        assert_eq!(c(ProtoError::LvbTooLarge { len: 4097 }), Some(-7));
        assert_eq!(
            c(ProtoError::Unterminated {
                what: "path",
                len: 1024
            }),
            Some(-22)
        );
    }
}
