//! Page-aligned buffers for O_DIRECT, without `unsafe`: a `Vec` one page
//! larger than needed, used from its first page-aligned byte.

use crate::BUF_ALIGN;

/// A zero-initialised buffer whose start is aligned to [`BUF_ALIGN`].
#[derive(Debug)]
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    /// A zeroed buffer of `len` bytes.
    pub fn zeroed(len: usize) -> AlignedBuf {
        let storage = vec![0u8; len + BUF_ALIGN];
        let start = storage.as_ptr().align_offset(BUF_ALIGN);
        assert!(
            start < BUF_ALIGN,
            "align_offset for u8 pointers is always computable"
        );
        AlignedBuf {
            storage,
            start,
            len,
        }
    }

    /// An aligned copy of `data`.
    pub fn from_slice(data: &[u8]) -> AlignedBuf {
        let mut b = AlignedBuf::zeroed(data.len());
        b.as_mut_slice().copy_from_slice(data);
        b
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    /// The bytes, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Consumes the buffer into a plain `Vec` (a copy).
    pub fn into_vec(self) -> Vec<u8> {
        self.as_slice().to_vec()
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_for_many_sizes() {
        for len in [0, 1, 512, 4096, 1 << 20] {
            let b = AlignedBuf::zeroed(len);
            assert_eq!(b.as_slice().as_ptr() as usize % BUF_ALIGN, 0);
            assert_eq!(b.len(), len);
        }
    }
}
