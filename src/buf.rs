//! Read-only arrays that are either owned (freshly built, e.g. by training)
//! or borrowed from a memory-mapped model file without copying.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use bytemuck::Pod;
use memmap2::Mmap;

/// A read-only `[T]`: owned, or a window of a memory map. Mapped windows are
/// checked for alignment when made, so dereferencing never fails.
pub enum Buf<T: Pod> {
    /// An array in memory.
    Owned(Vec<T>),
    /// `len` elements starting at byte `start` of a shared memory map.
    Mapped {
        /// The map the elements live in.
        map: Arc<Mmap>,
        /// Byte offset of the first element (aligned for `T`).
        start: usize,
        /// Number of elements.
        len: usize,
        /// The element type.
        _elem: PhantomData<T>,
    },
}

impl<T: Pod> Buf<T> {
    /// A window of `map` holding `bytes` bytes at `start`; copied into an
    /// owned vector when the bytes are not aligned for `T`. Fails when the
    /// window is out of bounds or not a whole number of elements.
    pub fn mapped(map: Arc<Mmap>, start: usize, bytes: usize) -> anyhow::Result<Buf<T>> {
        let size = std::mem::size_of::<T>();
        let end = start
            .checked_add(bytes)
            .filter(|&end| end <= map.len())
            .ok_or_else(|| {
                anyhow::anyhow!("tensor window {start}+{bytes} lies outside the file")
            })?;
        anyhow::ensure!(
            bytes.is_multiple_of(size),
            "tensor of {bytes} bytes is not a whole number of {size}-byte elements"
        );
        let slice = &map[start..end];
        if !(slice.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>()) {
            return Ok(Buf::Owned(bytemuck::pod_collect_to_vec::<u8, T>(slice)));
        }
        Ok(Buf::Mapped {
            map,
            start,
            len: bytes / size,
            _elem: PhantomData,
        })
    }

    /// True when the data lives in a memory map (not copied).
    pub fn is_mapped(&self) -> bool {
        matches!(self, Buf::Mapped { .. })
    }
}

impl<T: Pod> Deref for Buf<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Buf::Owned(v) => v,
            Buf::Mapped {
                map, start, len, ..
            } => bytemuck::cast_slice(&map[*start..*start + *len * std::mem::size_of::<T>()]),
        }
    }
}

impl<T: Pod> From<Vec<T>> for Buf<T> {
    fn from(v: Vec<T>) -> Buf<T> {
        Buf::Owned(v)
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for Buf<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Buf(len={}, mapped={})", self.len(), self.is_mapped())
    }
}
