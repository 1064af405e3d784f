//! The simulated disk, copy-on-write per lease area.
//!
//! A read returns the bytes as of its completion. Copying them out cost a
//! 1 MiB (8 MiB with 4 KiB sectors) `memcpy` per area read, most of the
//! simulator's time. Instead the disk is kept as one shared chunk per lease
//! area, and a read hands out a reference to its chunk ([`SimBuf`]); a write
//! that lands on a chunk someone still holds copies that chunk first
//! (`Rc::make_mut`), so every reader keeps seeing what it read. The
//! algorithms mostly drop a read before their next write lands, so few
//! chunks are ever copied. What any read or write sees is the same as with
//! a flat byte array: runs stay the same for a seed.

use std::ops::Deref;
use std::rc::Rc;

/// The disk: `chunks.len()` chunks of `chunk` bytes.
pub(crate) struct SimDisk {
    chunk: usize,
    chunks: Vec<Rc<Vec<u8>>>,
}

impl SimDisk {
    /// A disk holding `bytes`, in chunks of `chunk` bytes (the lease
    /// areas' alignment).
    pub fn new(bytes: &[u8], chunk: usize) -> SimDisk {
        assert!(
            chunk > 0 && bytes.len().is_multiple_of(chunk),
            "the disk is whole chunks"
        );
        SimDisk {
            chunk,
            chunks: bytes.chunks(chunk).map(|c| Rc::new(c.to_vec())).collect(),
        }
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.chunk * self.chunks.len()
    }

    /// The bytes `offset..offset + len`, which must be within one chunk.
    pub fn bytes(&self, offset: usize, len: usize) -> &[u8] {
        let (i, at) = (offset / self.chunk, offset % self.chunk);
        &self.chunks[i][at..at + len]
    }

    /// The bytes `offset..offset + len` as they are now: shared with the
    /// disk when within one chunk, else a copy.
    pub fn read(&self, offset: usize, len: usize) -> SimBuf {
        let (i, at) = (offset / self.chunk, offset % self.chunk);
        if at + len <= self.chunk {
            SimBuf(Repr::Shared {
                chunk: Rc::clone(&self.chunks[i]),
                at,
                len,
            })
        } else {
            let mut v = Vec::with_capacity(len);
            let mut o = offset;
            while o < offset + len {
                let n = (self.chunk - o % self.chunk).min(offset + len - o);
                v.extend_from_slice(self.bytes(o, n));
                o += n;
            }
            SimBuf(Repr::Owned(v))
        }
    }

    /// Writes `data` at `offset`; a chunk that a reader still holds is
    /// copied first.
    pub fn write(&mut self, offset: usize, data: &[u8]) {
        let mut o = offset;
        while o < offset + data.len() {
            let (i, at) = (o / self.chunk, o % self.chunk);
            let n = (self.chunk - at).min(offset + data.len() - o);
            Rc::make_mut(&mut self.chunks[i])[at..at + n]
                .copy_from_slice(&data[o - offset..o - offset + n]);
            o += n;
        }
    }
}

/// What a simulated read returns: the bytes as of its completion.
#[derive(Debug)]
pub(crate) struct SimBuf(Repr);

#[derive(Debug)]
enum Repr {
    Shared {
        chunk: Rc<Vec<u8>>,
        at: usize,
        len: usize,
    },
    Owned(Vec<u8>),
}

impl Deref for SimBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Shared { chunk, at, len } => &chunk[*at..*at + *len],
            Repr::Owned(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keep_what_they_read() {
        let flat: Vec<u8> = (0..64u32).map(|i| i as u8).collect();
        let mut d = SimDisk::new(&flat, 16);
        assert_eq!(d.len(), 64);
        let held = d.read(16, 16);
        let across = d.read(8, 24);
        assert_eq!(&held[..], &flat[16..32]);
        assert_eq!(&across[..], &flat[8..32]);
        d.write(12, &[0xff; 8]); // spans chunks 0 and 1
        assert_eq!(&held[..], &flat[16..32], "a held read does not change");
        assert_eq!(&across[..], &flat[8..32]);
        let mut now = flat.clone();
        now[12..20].fill(0xff);
        assert_eq!(&d.read(0, 64)[..], &now[..]);
        assert_eq!(d.bytes(16, 4), &now[16..20]);
        drop(held);
        d.write(16, &[1]);
        now[16] = 1;
        assert_eq!(&d.read(16, 16)[..], &now[16..32]);
    }
}
