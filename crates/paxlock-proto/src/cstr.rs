//! Fixed-size, NUL-terminated C string fields (`char path[1024]`,
//! `char killpath[128]`).

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::ProtoError;

/// A `char field[N]` that must hold a NUL-terminated string: disk paths
/// (`N` = 1024, [`DiskPath`]) and killpath program/arguments (`N` = 128,
/// [`HelperString`]).
///
/// The raw `N` bytes are kept as received, so re-encoding reproduces them
/// exactly (bytes after the NUL included); comparisons and
/// [`CStrBuf::as_bytes`] look only up to the first NUL, as C does.
/// Every value holds at least one NUL: decoding rejects a field without one
/// ([`ProtoError::Unterminated`]), so no reader can run past the field.
#[derive(Clone)]
pub struct CStrBuf<const N: usize>([u8; N]);

/// `char path[SANLK_PATH_LEN]` (1024 bytes, NUL included) of `sanlk_disk`.
pub type DiskPath = CStrBuf<1024>;
/// `char path[SANLK_HELPER_PATH_LEN]` / `args[SANLK_HELPER_ARGS_LEN]`
/// (128 bytes, NUL included) of KILLPATH.
pub type HelperString = CStrBuf<128>;

impl<const N: usize> CStrBuf<N> {
    /// The field's size in bytes.
    pub const LEN: usize = N;

    /// A field holding `s` followed by NULs. `s` may not contain a NUL and
    /// must leave room for the terminating one (at most `N - 1` bytes).
    pub fn new(s: &[u8]) -> Result<CStrBuf<N>, ProtoError> {
        if s.len() >= N || s.contains(&0) {
            return Err(ProtoError::TooLong {
                what: "C string",
                len: s.len(),
                max: N.saturating_sub(1),
            });
        }
        let mut raw = [0u8; N];
        raw[..s.len()].copy_from_slice(s);
        Ok(CStrBuf(raw))
    }

    /// The field from its raw bytes; fails when they hold no NUL.
    pub fn from_raw(raw: [u8; N], what: &'static str) -> Result<CStrBuf<N>, ProtoError> {
        if raw.contains(&0) {
            Ok(CStrBuf(raw))
        } else {
            Err(ProtoError::Unterminated { what, len: N })
        }
    }

    /// Reads `N` bytes at the start of `b`; the caller checked the length.
    pub(crate) fn read(b: &[u8], what: &'static str) -> Result<CStrBuf<N>, ProtoError> {
        let mut raw = [0u8; N];
        raw.copy_from_slice(&b[..N]);
        CStrBuf::from_raw(raw, what)
    }

    /// The raw `N` bytes.
    pub fn raw(&self) -> &[u8; N] {
        &self.0
    }

    /// The string: bytes before the first NUL.
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        &self.0[..end]
    }

    /// True when the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.first().is_none_or(|&b| b == 0)
    }

    /// The string as text, invalid UTF-8 replaced (for display and logs).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl<const N: usize> Default for CStrBuf<N> {
    fn default() -> CStrBuf<N> {
        CStrBuf([0u8; N])
    }
}

/// Equality is on the whole raw field (what re-encoding would produce);
/// compare [`CStrBuf::as_bytes`] for C string equality.
impl<const N: usize> PartialEq for CStrBuf<N> {
    fn eq(&self, other: &CStrBuf<N>) -> bool {
        self.0[..] == other.0[..]
    }
}

impl<const N: usize> Eq for CStrBuf<N> {}

impl<const N: usize> Hash for CStrBuf<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0[..].hash(state)
    }
}

impl<const N: usize> fmt::Debug for CStrBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail_dirty = self.0[self.as_bytes().len()..].iter().any(|&b| b != 0);
        if tail_dirty {
            write!(f, "CStr({:?} + bytes after NUL)", self.to_string_lossy())
        } else {
            write!(f, "CStr({:?})", self.to_string_lossy())
        }
    }
}

impl<const N: usize> fmt::Display for CStrBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert!(HelperString::new(&[b'a'; 127]).is_ok());
        assert!(matches!(
            HelperString::new(&[b'a'; 128]),
            Err(ProtoError::TooLong { max: 127, .. })
        ));
        assert!(HelperString::new(b"a\0b").is_err());
        assert!(matches!(
            HelperString::from_raw([b'x'; 128], "args"),
            Err(ProtoError::Unterminated {
                what: "args",
                len: 128
            })
        ));
    }

    #[test]
    fn raw_bytes_after_the_nul_are_kept() {
        let mut raw = [0u8; 128];
        raw[..2].copy_from_slice(b"/x");
        raw[5] = 7;
        let s = HelperString::from_raw(raw, "path").unwrap();
        assert_eq!(s.as_bytes(), b"/x");
        assert_eq!(s.raw(), &raw);
        assert_ne!(s, HelperString::new(b"/x").unwrap());
        assert!(format!("{s:?}").contains("after NUL"));
        assert!(DiskPath::default().is_empty());
    }
}
