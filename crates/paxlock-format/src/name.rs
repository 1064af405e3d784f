//! Fixed 48-byte names (`NAME_ID_SIZE`) as sanlock stores them.

use std::fmt;

/// `NAME_ID_SIZE`: bytes of a lockspace, resource or host name on disk.
pub const NAME_LEN: usize = 48;

/// A lockspace, resource or host name: up to 48 bytes, NUL-padded on disk,
/// with no terminating NUL when it is exactly 48 bytes long.
///
/// Names read from disk may hold any bytes; names made with [`Name::new`]
/// hold no NUL and no `:` is rejected here (colons are the caller's concern).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name([u8; NAME_LEN]);

/// Why a string cannot be a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Longer than 48 bytes.
    #[error("name {name:?} is {len} bytes long; sanlock names are at most 48 bytes")]
    TooLong {
        /// The name given.
        name: String,
        /// Its length in bytes.
        len: usize,
    },
    /// Holds a NUL byte, which would cut it short on disk.
    #[error("name {0:?} contains a NUL byte")]
    Nul(String),
}

impl Default for Name {
    fn default() -> Name {
        Name([0u8; NAME_LEN])
    }
}

impl Name {
    /// A name from a string of at most 48 bytes without NUL.
    pub fn new(s: &str) -> Result<Name, NameError> {
        let bytes = s.as_bytes();
        if bytes.len() > NAME_LEN {
            return Err(NameError::TooLong {
                name: s.to_string(),
                len: bytes.len(),
            });
        }
        if bytes.contains(&0) {
            return Err(NameError::Nul(s.to_string()));
        }
        let mut raw = [0u8; NAME_LEN];
        raw[..bytes.len()].copy_from_slice(bytes);
        Ok(Name(raw))
    }

    /// The 48 raw bytes, as found on disk.
    pub fn from_raw(raw: [u8; NAME_LEN]) -> Name {
        Name(raw)
    }

    /// Reads 48 raw bytes at `off`; the caller has checked the length.
    pub(crate) fn read(b: &[u8], off: usize) -> Name {
        let mut raw = [0u8; NAME_LEN];
        raw.copy_from_slice(&b[off..off + NAME_LEN]);
        Name(raw)
    }

    /// The raw 48 bytes.
    pub fn raw(&self) -> &[u8; NAME_LEN] {
        &self.0
    }

    /// The bytes up to the first NUL (what C's `strncpy(.., 48)` copies).
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        &self.0[..end]
    }

    /// True when the name is empty (first byte NUL).
    pub fn is_empty(&self) -> bool {
        self.0[0] == 0
    }

    /// The name as text, with invalid UTF-8 replaced (for display only).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }

    /// sanlock's `strncmp(a, b, 48) == 0`: equal up to the first NUL.
    pub fn same_as(&self, other: &Name) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({:?})", self.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_eight_bytes_fill_the_field_without_nul() {
        let s = "a".repeat(48);
        let n = Name::new(&s).unwrap();
        assert_eq!(n.raw(), &[b'a'; 48]);
        assert_eq!(n.as_bytes().len(), 48);
    }

    #[test]
    fn forty_nine_bytes_are_rejected() {
        let s = "a".repeat(49);
        assert!(matches!(
            Name::new(&s),
            Err(NameError::TooLong { len: 49, .. })
        ));
    }

    #[test]
    fn comparison_stops_at_nul() {
        let mut raw = [0u8; NAME_LEN];
        raw[..2].copy_from_slice(b"LS");
        raw[3] = b'x'; // garbage after the terminator is ignored, as strncmp does
        assert!(Name::from_raw(raw).same_as(&Name::new("LS").unwrap()));
    }
}
