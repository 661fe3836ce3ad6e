//! The copying reads' one allocation: elements read straight from a reader
//! into the array's own buffer.
//!
//! The bytes land in zeroed memory laid out for `A` (fresh zeroed pages cost
//! nothing until the read touches them), are swapped in place if asked, are
//! validated by bytemuck, and only then count as elements. Peak memory is the
//! array itself: no byte buffer beside it, no second pass to decode.

use std::alloc::{alloc_zeroed, Layout};
use std::io::{self, Read};
use std::mem::size_of;
use std::path::Path;

use crate::element::{type_name, Element};
use crate::error::Error;

/// Why a buffer could not be filled.
#[derive(Debug)]
pub(crate) enum FillError {
    /// The allocation of this many bytes failed.
    OutOfMemory(usize),
    /// The reader ended after this many bytes.
    Short(usize),
    /// The reader failed.
    Io(io::Error),
    /// Element `index` (in read order) is not a valid `A`: these are its bytes.
    Invalid { index: usize, found: Vec<u8> },
    /// `A` has no size: there is nothing to read it from.
    ZeroSized,
}

/// Reads `count` elements of `A` from `reader`, first reversing, in every
/// element, the bytes of each `(offset, length)` in `swaps` (data of the
/// other byte order: one entry per number, so records swap field by field).
#[allow(unsafe_code)] // one allocation, one view of it as bytes, one set_len; proofs below
pub(crate) fn read_elements<A: Element>(
    reader: &mut impl Read,
    count: usize,
    swaps: &[(usize, usize)],
) -> Result<Vec<A>, FillError> {
    if size_of::<A>() == 0 {
        return Err(FillError::ZeroSized);
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    let layout = Layout::array::<A>(count)
        .map_err(|_| FillError::OutOfMemory(count.saturating_mul(size_of::<A>())))?;
    // SAFETY: `layout` has a non-zero size: `count` and `size_of::<A>()` are
    // both non-zero (checked above).
    let ptr = unsafe { alloc_zeroed(layout) }.cast::<A>();
    if ptr.is_null() {
        return Err(FillError::OutOfMemory(layout.size()));
    }
    // SAFETY: `ptr` comes from the global allocator with the layout of an
    // array of `count` `A`s, which is what a `Vec<A>` of capacity `count`
    // owns; length 0 claims no element yet. From here the `Vec` frees it on
    // every path.
    let mut elements = unsafe { Vec::from_raw_parts(ptr, 0, count) };
    // SAFETY: the `Vec`'s allocation holds `layout.size()` bytes, all
    // initialised (zeroed above); `u8` needs no alignment; the pointer comes
    // from the `Vec` itself, and the `Vec` is not used again (its length is
    // 0, so it hands out no element) until `bytes` is dead.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(elements.as_mut_ptr().cast::<u8>(), layout.size())
    };
    fill(reader, bytes)?;
    if !swaps.is_empty() {
        for element in bytes.chunks_exact_mut(size_of::<A>()) {
            for &(at, len) in swaps {
                // Entries come from the element's own layout; one that did
                // not fit would be skipped, never a panic.
                if let Some(number) = element.get_mut(at..at.saturating_add(len)) {
                    number.reverse();
                }
            }
        }
    }
    // bytemuck's own check, not `Element::cast_slice`, which a user may
    // override: the `set_len` below rests on it. For types where every bit
    // pattern is valid it compiles to nothing.
    if bytemuck::checked::try_cast_slice::<u8, A>(bytes).is_err() {
        return Err(first_invalid::<A>(bytes));
    }
    // SAFETY: all `count` elements are initialised (every byte was read
    // into) and were just checked to be valid values of `A`.
    unsafe { elements.set_len(count) };
    Ok(elements)
}

/// The swaps of an element of `size` bytes made of numbers of `unit` bytes
/// each (a complex number is two).
pub(crate) fn swap_units(size: usize, unit: usize) -> Vec<(usize, usize)> {
    if unit < 2 {
        return Vec::new();
    }
    (0..size / unit).map(|i| (i * unit, unit)).collect()
}

/// Fills `bytes` from `reader`, or says how many bytes it had.
fn fill(reader: &mut impl Read, bytes: &mut [u8]) -> Result<(), FillError> {
    let mut filled = 0;
    while filled < bytes.len() {
        match reader.read(&mut bytes[filled..]) {
            Ok(0) => return Err(FillError::Short(filled)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FillError::Io(e)),
        }
    }
    Ok(())
}

/// The first element of `bytes` that is not a valid `A`, for the error.
pub(crate) fn first_invalid<A: Element>(bytes: &[u8]) -> FillError {
    let size = size_of::<A>().max(1);
    let (index, found) = bytes
        .chunks_exact(size)
        .enumerate()
        .find(|(_, chunk)| bytemuck::checked::try_pod_read_unaligned::<A>(chunk).is_err())
        .map_or((0, Vec::new()), |(index, chunk)| (index, chunk.to_vec()));
    FillError::Invalid { index, found }
}

/// The crate's error for bytes that cannot be viewed as `A`s: an invalid
/// value (naming the first) or misaligned data.
pub(crate) fn cast_error<A: Element>(
    path: Option<&Path>,
    offset: u64,
    bytes: &[u8],
    err: bytemuck::checked::CheckedCastError,
) -> Error {
    match err {
        bytemuck::checked::CheckedCastError::InvalidBitPattern => {
            let (index, found) = match first_invalid::<A>(bytes) {
                FillError::Invalid { index, found } => (index, found),
                _ => (0, Vec::new()),
            };
            Error::InvalidValue {
                path: path.map(Path::to_path_buf),
                element: type_name::<A>(),
                index,
                found,
            }
        }
        bytemuck::checked::CheckedCastError::PodCastError(_) => Error::Misaligned {
            offset,
            align: std::mem::align_of::<A>(),
            element: type_name::<A>(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_swaps_and_validates_in_one_buffer() {
        let bytes: Vec<u8> = (1..=8u16).flat_map(u16::to_be_bytes).collect();
        let swapped: Vec<u16> = read_elements(&mut bytes.as_slice(), 8, &swap_units(2, 2)).unwrap();
        assert_eq!(swapped, (1..=8).collect::<Vec<u16>>());
        let native: Vec<u16> = read_elements(&mut bytes.as_slice(), 8, &[]).unwrap();
        assert_eq!(native[0], u16::from_ne_bytes([0, 1]));
        assert_eq!(native.capacity(), 8);
    }

    #[test]
    fn an_invalid_bool_names_its_index_and_byte() {
        match read_elements::<bool>(&mut [1u8, 0, 1, 7, 2].as_slice(), 5, &[]) {
            Err(FillError::Invalid { index, found }) => assert_eq!((index, found), (3, vec![7])),
            other => panic!("{other:?}"),
        }
        let ok = read_elements::<bool>(&mut [1u8, 0, 1].as_slice(), 3, &[]).unwrap();
        assert_eq!(ok, [true, false, true]);
    }

    #[test]
    fn a_short_reader_says_how_much_it_had() {
        match read_elements::<u32>(&mut [0u8; 10].as_slice(), 3, &[]) {
            Err(FillError::Short(n)) => assert_eq!(n, 10),
            other => panic!("{other:?}"),
        }
        assert!(read_elements::<u32>(&mut [0u8; 0].as_slice(), 0, &[])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn an_impossible_size_is_out_of_memory_not_an_abort() {
        match read_elements::<u64>(&mut [0u8; 0].as_slice(), usize::MAX / 4, &[]) {
            Err(FillError::OutOfMemory(bytes)) => assert_eq!(bytes, usize::MAX),
            other => panic!("{other:?}"),
        }
    }
}
