//! Page-aligned buffers for O_DIRECT, without `unsafe`: a `Vec` one page
//! larger than needed, used from its first page-aligned byte.
//!
//! Large read buffers (a whole lease area: 1 MiB, or 8 MiB with 4 KiB
//! sectors) come from a small process-wide pool and go back to it when
//! dropped. Allocating them afresh for every read cost a `memset` of the
//! whole buffer (glibc's `calloc` on reused heap memory) and, worse, kept
//! up to two of them per malloc arena resident after they were freed
//! (glibc raises its mmap threshold the first time such a buffer is
//! freed, so the following ones come from the arenas and stay there). A
//! pooled buffer is allocated once, straight from the kernel, and never
//! freed. The pool is one for the process, not one per disk: a daemon
//! may have many lease disks open, but does few large reads at a time.

use std::sync::Mutex;

use crate::BUF_ALIGN;

/// Reads of at least this many bytes use pooled buffers.
pub const POOLED_MIN_BYTES: usize = 64 << 10;

/// Buffers the pool keeps (reads that overlap need more than one: a
/// lockspace renewal and a resource acquire).
pub const POOL_MAX: usize = 2;

/// The pool of large read buffers.
pub(crate) static READ_POOL: Pool = Pool::new();

/// A pool of buffer storage (`Vec`s of a page more than their usable size).
#[derive(Debug)]
pub(crate) struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl Pool {
    /// A buffer of `len` bytes from the pool (the smallest one that is
    /// large enough), or a new zeroed one. Its bytes are whatever an
    /// earlier read left there: for reads only, which overwrite them all.
    pub(crate) const fn new() -> Pool {
        Pool {
            free: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn take(&'static self, len: usize) -> AlignedBuf {
        if len < POOLED_MIN_BYTES {
            return AlignedBuf::zeroed(len);
        }
        let storage = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let best = free
                .iter()
                .enumerate()
                .filter(|(_, v)| usable(v) >= len)
                .min_by_key(|(_, v)| v.len())
                .map(|(i, _)| i);
            best.map(|i| free.swap_remove(i))
        };
        let mut b = match storage {
            Some(storage) => AlignedBuf {
                start: storage.as_ptr().align_offset(BUF_ALIGN),
                storage,
                len,
                home: None,
            },
            None => AlignedBuf::zeroed(len),
        };
        b.home = Some(self);
        b
    }

    fn give_back(&self, storage: Vec<u8>) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.push(storage);
        if free.len() > POOL_MAX {
            // keep the largest: they serve every read size
            if let Some(i) = free
                .iter()
                .enumerate()
                .min_by_key(|(_, v)| v.len())
                .map(|(i, _)| i)
            {
                free.swap_remove(i);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn sizes(&self) -> Vec<usize> {
        let free = self.free.lock().unwrap();
        free.iter().map(|v| usable(v)).collect()
    }
}

/// Bytes usable from the first aligned byte of `storage`.
fn usable(storage: &[u8]) -> usize {
    storage.len() - storage.as_ptr().align_offset(BUF_ALIGN).min(storage.len())
}

/// A buffer whose start is aligned to [`BUF_ALIGN`]: zero-initialised, or
/// (from a disk's read pool) holding what the read put there.
#[derive(Debug)]
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
    /// The pool it goes back to when dropped.
    home: Option<&'static Pool>,
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if let Some(pool) = self.home.take() {
            if !self.storage.is_empty() {
                pool.give_back(std::mem::take(&mut self.storage));
            }
        }
    }
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
            home: None,
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

    /// Consumes the buffer into a plain `Vec`, reusing its storage: the
    /// bytes move down to the start of the allocation (a `memmove`, with
    /// no second allocation of the whole length as a copy would need). A
    /// pooled buffer so leaves its pool; where the bytes are only read,
    /// keep the `AlignedBuf` (it derefs to `[u8]`) and let it go back.
    pub fn into_vec(mut self) -> Vec<u8> {
        let mut v = std::mem::take(&mut self.storage);
        v.truncate(self.start + self.len);
        v.drain(..self.start);
        v
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

    #[test]
    fn pooled_buffers_come_back_and_are_reused() {
        let pool: &'static Pool = Box::leak(Box::new(Pool::new()));
        let small = pool.take(4096);
        assert!(small.home.is_none(), "small reads are not pooled");
        drop(small);
        assert!(pool.sizes().is_empty());
        let big = pool.take(1 << 20);
        assert_eq!(big.len(), 1 << 20);
        assert_eq!(big.as_slice().as_ptr() as usize % BUF_ALIGN, 0);
        let at = big.as_slice().as_ptr();
        drop(big);
        assert_eq!(pool.sizes().len(), 1);
        // a smaller read reuses the same storage
        let again = pool.take(128 << 10);
        assert_eq!(again.as_slice().as_ptr(), at);
        assert_eq!(again.len(), 128 << 10);
        assert!(pool.sizes().is_empty());
        // three in use at once: the pool keeps the two largest
        let a = pool.take(1 << 20);
        let b = pool.take(2 << 20);
        drop((again, a, b));
        let mut sizes = pool.sizes();
        sizes.sort();
        assert_eq!(sizes.len(), POOL_MAX);
        assert!(sizes[0] >= 1 << 20 && sizes[1] >= 2 << 20, "{sizes:?}");
        // taken out as a Vec, a buffer leaves the pool
        let v = pool.take(2 << 20).into_vec();
        assert_eq!(v.len(), 2 << 20);
        assert_eq!(pool.sizes().len(), 1);
    }

    #[test]
    fn into_vec_keeps_the_bytes() {
        for len in [0, 1, 512, 4096, 1 << 20] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let v = AlignedBuf::from_slice(&data).into_vec();
            assert_eq!(v, data);
        }
    }
}
