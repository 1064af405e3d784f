//! Result codes: sanlock's own `SANLK_*` values (`sanlock_rv.h`), the
//! Linux errno values the daemon returns, and their texts.
//!
//! A result travels as a signed 32-bit integer in the reply header's `data`:
//! `0` (or a documented positive value) on success, `-errno` for generic
//! failures, `-2xx` for sanlock-specific ones (spec 4). Clients read these
//! numbers: python3-sanlock raises `SanlockException(errno, ...)` with a
//! positive errno for codes in (-200, 0) and the raw negative code at or
//! below -200; libvirt compares against `-EEXIST` and `-EINPROGRESS`.

use std::fmt;

/// sanlock's own result codes (`sanlock_rv.h`, spec 4.1), as sent on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum SanlkRv {
    /// Internal success of the disk code; converted to 0 before replying.
    Ok = 1,
    /// Unused.
    None = 0,
    Error = -201,
    AioTimeout = -202,
    WdError = -203,
    DblockRead = -210,
    DblockWrite = -211,
    DblockLver = -212,
    DblockMbal = -213,
    DblockChecksum = -214,
    LeaderRead = -220,
    LeaderWrite = -221,
    LeaderDiff = -222,
    LeaderMagic = -223,
    LeaderVersion = -224,
    LeaderSectorsize = -225,
    LeaderLockspace = -226,
    LeaderResource = -227,
    LeaderNumhosts = -228,
    LeaderChecksum = -229,
    AddlsSizes = -230,
    AddlsInvalidHostid = -231,
    AcquireLver = -240,
    AcquireLockspace = -241,
    AcquireIddisk = -242,
    AcquireIdlive = -243,
    AcquireOwned = -244,
    AcquireOther = -245,
    AcquireShretry = -246,
    AcquireOwnedRetry = -247,
    ReleaseLver = -250,
    ReleaseOwner = -251,
    RenewOwner = -260,
    RenewDiff = -261,
    HostidBusy = -262,
    RequestMagic = -270,
    RequestVersion = -271,
    RequestOld = -272,
    RequestLver = -273,
    RindexMagic = -274,
    RindexVersion = -275,
    RindexLockspace = -276,
    RindexOffset = -277,
    RindexDiff = -278,
}

impl SanlkRv {
    /// Every code, in `sanlock_rv.h` order.
    pub const ALL: [SanlkRv; 44] = [
        SanlkRv::Ok,
        SanlkRv::None,
        SanlkRv::Error,
        SanlkRv::AioTimeout,
        SanlkRv::WdError,
        SanlkRv::DblockRead,
        SanlkRv::DblockWrite,
        SanlkRv::DblockLver,
        SanlkRv::DblockMbal,
        SanlkRv::DblockChecksum,
        SanlkRv::LeaderRead,
        SanlkRv::LeaderWrite,
        SanlkRv::LeaderDiff,
        SanlkRv::LeaderMagic,
        SanlkRv::LeaderVersion,
        SanlkRv::LeaderSectorsize,
        SanlkRv::LeaderLockspace,
        SanlkRv::LeaderResource,
        SanlkRv::LeaderNumhosts,
        SanlkRv::LeaderChecksum,
        SanlkRv::AddlsSizes,
        SanlkRv::AddlsInvalidHostid,
        SanlkRv::AcquireLver,
        SanlkRv::AcquireLockspace,
        SanlkRv::AcquireIddisk,
        SanlkRv::AcquireIdlive,
        SanlkRv::AcquireOwned,
        SanlkRv::AcquireOther,
        SanlkRv::AcquireShretry,
        SanlkRv::AcquireOwnedRetry,
        SanlkRv::ReleaseLver,
        SanlkRv::ReleaseOwner,
        SanlkRv::RenewOwner,
        SanlkRv::RenewDiff,
        SanlkRv::HostidBusy,
        SanlkRv::RequestMagic,
        SanlkRv::RequestVersion,
        SanlkRv::RequestOld,
        SanlkRv::RequestLver,
        SanlkRv::RindexMagic,
        SanlkRv::RindexVersion,
        SanlkRv::RindexLockspace,
        SanlkRv::RindexOffset,
        SanlkRv::RindexDiff,
    ];

    /// The value on the wire.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The code for a wire value, if it is one of sanlock's.
    pub fn from_code(rv: i32) -> Option<SanlkRv> {
        SanlkRv::ALL.iter().copied().find(|c| c.code() == rv)
    }

    /// sanlock's macro name, e.g. `"SANLK_ACQUIRE_IDLIVE"`.
    pub fn name(self) -> &'static str {
        use SanlkRv::*;
        match self {
            Ok => "SANLK_OK",
            None => "SANLK_NONE",
            Error => "SANLK_ERROR",
            AioTimeout => "SANLK_AIO_TIMEOUT",
            WdError => "SANLK_WD_ERROR",
            DblockRead => "SANLK_DBLOCK_READ",
            DblockWrite => "SANLK_DBLOCK_WRITE",
            DblockLver => "SANLK_DBLOCK_LVER",
            DblockMbal => "SANLK_DBLOCK_MBAL",
            DblockChecksum => "SANLK_DBLOCK_CHECKSUM",
            LeaderRead => "SANLK_LEADER_READ",
            LeaderWrite => "SANLK_LEADER_WRITE",
            LeaderDiff => "SANLK_LEADER_DIFF",
            LeaderMagic => "SANLK_LEADER_MAGIC",
            LeaderVersion => "SANLK_LEADER_VERSION",
            LeaderSectorsize => "SANLK_LEADER_SECTORSIZE",
            LeaderLockspace => "SANLK_LEADER_LOCKSPACE",
            LeaderResource => "SANLK_LEADER_RESOURCE",
            LeaderNumhosts => "SANLK_LEADER_NUMHOSTS",
            LeaderChecksum => "SANLK_LEADER_CHECKSUM",
            AddlsSizes => "SANLK_ADDLS_SIZES",
            AddlsInvalidHostid => "SANLK_ADDLS_INVALID_HOSTID",
            AcquireLver => "SANLK_ACQUIRE_LVER",
            AcquireLockspace => "SANLK_ACQUIRE_LOCKSPACE",
            AcquireIddisk => "SANLK_ACQUIRE_IDDISK",
            AcquireIdlive => "SANLK_ACQUIRE_IDLIVE",
            AcquireOwned => "SANLK_ACQUIRE_OWNED",
            AcquireOther => "SANLK_ACQUIRE_OTHER",
            AcquireShretry => "SANLK_ACQUIRE_SHRETRY",
            AcquireOwnedRetry => "SANLK_ACQUIRE_OWNED_RETRY",
            ReleaseLver => "SANLK_RELEASE_LVER",
            ReleaseOwner => "SANLK_RELEASE_OWNER",
            RenewOwner => "SANLK_RENEW_OWNER",
            RenewDiff => "SANLK_RENEW_DIFF",
            HostidBusy => "SANLK_HOSTID_BUSY",
            RequestMagic => "SANLK_REQUEST_MAGIC",
            RequestVersion => "SANLK_REQUEST_VERSION",
            RequestOld => "SANLK_REQUEST_OLD",
            RequestLver => "SANLK_REQUEST_LVER",
            RindexMagic => "SANLK_RINDEX_MAGIC",
            RindexVersion => "SANLK_RINDEX_VERSION",
            RindexLockspace => "SANLK_RINDEX_LOCKSPACE",
            RindexOffset => "SANLK_RINDEX_OFFSET",
            RindexDiff => "SANLK_RINDEX_DIFF",
        }
    }

    /// The text libsanlock's `sanlock_strerror()` gives for this code.
    pub fn strerror(self) -> &'static str {
        sanlock_strerror(self.code())
    }
}

impl TryFrom<i32> for SanlkRv {
    type Error = i32;

    /// The code for a wire value; the value itself when it is not sanlock's.
    fn try_from(rv: i32) -> Result<SanlkRv, i32> {
        SanlkRv::from_code(rv).ok_or(rv)
    }
}

impl From<SanlkRv> for i32 {
    fn from(c: SanlkRv) -> i32 {
        c.code()
    }
}

impl fmt::Display for SanlkRv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.code(), self.name(), self.strerror())
    }
}

/// Byte-for-byte what libsanlock 3.8's `sanlock_strerror(rv)` returns:
/// a text for the sanlock codes it knows, `"Unknown error"` for everything
/// else (including every errno value, 0, 1 and -230/-231/-240/-274..-278).
///
/// Checked against the real library: `testdata/strerror.txt`.
pub fn sanlock_strerror(rv: i32) -> &'static str {
    match rv {
        -201 => "General error",
        -202 => "IO timeout",
        -203 => "Watchdog device error",
        -210 => "Lease read error in dblock",
        -211 => "Lease write error in dblock",
        -212 => "Lease was acquired by another host in new ballot",
        -213 => "Lease was acquired by another host in current ballot",
        -214 => "Lease checksum error in dblock",
        -220 => "Lease read error in leader",
        -221 => "Lease write error in leader",
        -222 => "Lease read inconsistent",
        -223 => "Lease does not exist on storage",
        -224 => "Lease format version on storage is not recognized",
        -225 => "Lease sector size is inconsistent",
        -226 => "Lease lockspace name is incorrect",
        -227 => "Lease resource name is incorrect",
        -228 => "Lease num_hosts is incorrect",
        -229 => "Lease checksum error in leader",
        -241 => "Lease lockspace is not found",
        -242 => "Lease lockspace disk cannot be opened",
        -243 => "Lease is held by another host",
        -244 => "Lease was acquired by another host in other ballot",
        -245 => "Lease was acquired by another host in local commit",
        -246 => "Lease is held by another host for shared acquire",
        -247 => "Lease is owned by another host",
        -250 => "Lease release version is incorrect",
        -251 => "Lease release owner is incorrect",
        -260 => "Lease renew owner is incorrect",
        -261 => "Lease renew data has changed",
        -262 => "Lease host ID is being used by another host",
        -270 => "Lease request block has invalid data",
        -271 => "Lease request block has invalid version",
        -272 => "Lease request has newer lease version",
        -273 => "Lease request block has newer version",
        _ => "Unknown error",
    }
}

/// Linux (x86_64/aarch64 generic) errno values that sanlock's daemon and
/// libsanlock return negated (spec 4.2), with glibc's `strerror` texts.
pub mod errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const ESRCH: i32 = 3;
    pub const EINTR: i32 = 4;
    pub const EIO: i32 = 5;
    pub const ENXIO: i32 = 6;
    pub const E2BIG: i32 = 7;
    pub const EAGAIN: i32 = 11;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EBUSY: i32 = 16;
    pub const EEXIST: i32 = 17;
    pub const ENODEV: i32 = 19;
    pub const EINVAL: i32 = 22;
    pub const ENOTTY: i32 = 25;
    pub const ENOSPC: i32 = 28;
    pub const EPIPE: i32 = 32;
    pub const ERANGE: i32 = 34;
    pub const ENOSYS: i32 = 38;
    pub const ENOCSI: i32 = 50;
    pub const ELIBACC: i32 = 79;
    pub const ELIBBAD: i32 = 80;
    pub const ELIBSCN: i32 = 81;
    pub const ENOTCONN: i32 = 107;
    pub const ETIMEDOUT: i32 = 110;
    pub const ECONNREFUSED: i32 = 111;
    pub const EINPROGRESS: i32 = 115;
    pub const ESTALE: i32 = 116;
    pub const EUCLEAN: i32 = 117;

    const TABLE: [(i32, &str, &str); 29] = [
        (EPERM, "EPERM", "Operation not permitted"),
        (ENOENT, "ENOENT", "No such file or directory"),
        (ESRCH, "ESRCH", "No such process"),
        (EINTR, "EINTR", "Interrupted system call"),
        (EIO, "EIO", "Input/output error"),
        (ENXIO, "ENXIO", "No such device or address"),
        (E2BIG, "E2BIG", "Argument list too long"),
        (EAGAIN, "EAGAIN", "Resource temporarily unavailable"),
        (ENOMEM, "ENOMEM", "Cannot allocate memory"),
        (EACCES, "EACCES", "Permission denied"),
        (EBUSY, "EBUSY", "Device or resource busy"),
        (EEXIST, "EEXIST", "File exists"),
        (ENODEV, "ENODEV", "No such device"),
        (EINVAL, "EINVAL", "Invalid argument"),
        (ENOTTY, "ENOTTY", "Inappropriate ioctl for device"),
        (ENOSPC, "ENOSPC", "No space left on device"),
        (EPIPE, "EPIPE", "Broken pipe"),
        (ERANGE, "ERANGE", "Numerical result out of range"),
        (ENOSYS, "ENOSYS", "Function not implemented"),
        (ENOCSI, "ENOCSI", "No CSI structure available"),
        (ELIBACC, "ELIBACC", "Can not access a needed shared library"),
        (ELIBBAD, "ELIBBAD", "Accessing a corrupted shared library"),
        (ELIBSCN, "ELIBSCN", ".lib section in a.out corrupted"),
        (ENOTCONN, "ENOTCONN", "Transport endpoint is not connected"),
        (ETIMEDOUT, "ETIMEDOUT", "Connection timed out"),
        (ECONNREFUSED, "ECONNREFUSED", "Connection refused"),
        (EINPROGRESS, "EINPROGRESS", "Operation now in progress"),
        (ESTALE, "ESTALE", "Stale file handle"),
        (EUCLEAN, "EUCLEAN", "Structure needs cleaning"),
    ];

    /// Every errno value listed here.
    pub fn all() -> impl Iterator<Item = i32> {
        TABLE.iter().map(|t| t.0)
    }

    /// The symbolic name (`"ENOENT"`) of a positive errno value listed here.
    pub fn name(e: i32) -> Option<&'static str> {
        TABLE.iter().find(|t| t.0 == e).map(|t| t.1)
    }

    /// glibc's `strerror(e)` text for a positive errno value listed here
    /// (what python3-sanlock shows as the exception's third element).
    pub fn text(e: i32) -> Option<&'static str> {
        TABLE.iter().find(|t| t.0 == e).map(|t| t.2)
    }
}

/// A wire result sorted the way clients read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// 0 or a positive value (ALIGN's alignment, LOG_DUMP's byte count).
    Success(i32),
    /// A negated errno value (-1..=-199); carries the positive errno.
    Errno(i32),
    /// One of sanlock's own codes (≤ -200 and known).
    Sanlk(SanlkRv),
    /// Any other value ≤ -200.
    Other(i32),
}

impl ResultCode {
    /// Sorts a result the way python3-sanlock does: (-200, 0) is an errno,
    /// ≤ -200 is sanlock's own.
    pub fn classify(rv: i32) -> ResultCode {
        if rv >= 0 {
            ResultCode::Success(rv)
        } else if rv > -200 {
            ResultCode::Errno(-rv)
        } else {
            match SanlkRv::from_code(rv) {
                Some(c) => ResultCode::Sanlk(c),
                None => ResultCode::Other(rv),
            }
        }
    }
}

/// A one-line description of a wire result for logs and error messages,
/// e.g. `"-2 ENOENT (No such file or directory)"` or
/// `"-243 SANLK_ACQUIRE_IDLIVE (Lease is held by another host)"`.
pub fn describe(rv: i32) -> String {
    match ResultCode::classify(rv) {
        ResultCode::Success(v) => format!("{v} (success)"),
        ResultCode::Errno(e) => match (errno::name(e), errno::text(e)) {
            (Some(n), Some(t)) => format!("{rv} {n} ({t})"),
            _ => format!("{rv} (errno {e})"),
        },
        ResultCode::Sanlk(c) => c.to_string(),
        ResultCode::Other(v) => format!("{v} (unknown sanlock code)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in SanlkRv::ALL {
            assert_eq!(SanlkRv::from_code(c.code()), Some(c));
            assert_eq!(SanlkRv::try_from(c.code()), Ok(c));
            assert!(c.name().starts_with("SANLK_"));
        }
        assert_eq!(SanlkRv::try_from(-2), Err(-2));
        assert_eq!(SanlkRv::AcquireIdlive.code(), -243);
        assert_eq!(SanlkRv::HostidBusy.code(), -262);
        assert_eq!(SanlkRv::RindexDiff.code(), -278);
    }

    #[test]
    fn classify_like_python() {
        assert_eq!(ResultCode::classify(0), ResultCode::Success(0));
        assert_eq!(ResultCode::classify(1048576), ResultCode::Success(1048576));
        assert_eq!(ResultCode::classify(-17), ResultCode::Errno(17));
        assert_eq!(ResultCode::classify(-199), ResultCode::Errno(199));
        assert_eq!(ResultCode::classify(-200), ResultCode::Other(-200));
        assert_eq!(
            ResultCode::classify(-243),
            ResultCode::Sanlk(SanlkRv::AcquireIdlive)
        );
        assert_eq!(ResultCode::classify(-279), ResultCode::Other(-279));
    }

    #[test]
    fn descriptions() {
        assert_eq!(describe(-2), "-2 ENOENT (No such file or directory)");
        assert_eq!(
            describe(-243),
            "-243 SANLK_ACQUIRE_IDLIVE (Lease is held by another host)"
        );
        assert_eq!(describe(-240), "-240 SANLK_ACQUIRE_LVER (Unknown error)");
        assert_eq!(describe(0), "0 (success)");
        assert_eq!(describe(-150), "-150 (errno 150)");
    }
}
