//! Views of a whole `.npy` held in memory (`&[u8]`, `&mut [u8]`): bytes read
//! from a network, an archive or a mapping made elsewhere, viewed in place
//! (ndarray-npy's `ViewNpyExt`/`ViewMutNpyExt`). Safe: no file, no mapping.

use std::mem::size_of;
use std::path::{Path, PathBuf};

use ndarray::{ArrayView, ArrayViewMut, Dimension, ShapeBuilder, StrideShape};

use crate::buffer::cast_error;
use crate::element::Element;
use crate::error::{Error, FileTooShortRemedy, Result};
use crate::layout::{byte_extent, to_dim};
use crate::npy::dtype::{match_dtype, Match};
use crate::npy::header::NpyHeader;
use crate::settings::DEFAULT_MAX_HEADER_SIZE;

/// What errors name as the file.
const BYTES: &str = "<bytes>";

/// Views the array in `bytes`, a whole `.npy` file in memory, without
/// copying.
///
/// ```
/// use ndarray::{array, Ix2};
/// let mut npy = Vec::new();
/// ndarray_memmap::write_npy_to(&mut npy, &array![[1u8, 2], [3, 4]])?;
/// let view = ndarray_memmap::view_npy::<u8, Ix2>(&npy)?;
/// assert_eq!(view, array![[1, 2], [3, 4]]);
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
///
/// # Errors
/// [`Error::NpyHeader`], [`Error::DtypeMismatch`], [`Error::UnsupportedDtype`],
/// [`Error::DimensionMismatch`], [`Error::ByteOrder`] (use
/// [`read_npy_from`](crate::read_npy_from), which swaps),
/// [`Error::FileTooShort`] (bytes cut short), [`Error::Misaligned`] (the
/// data's address is not aligned for `A`: numpy aligns it to 64 bytes from
/// the start, so a buffer that starts aligned is fine; otherwise copy with
/// `read_npy_from`) and [`Error::InvalidValue`].
pub fn view_npy<A: Element, D: Dimension>(bytes: &[u8]) -> Result<ArrayView<'_, A, D>> {
    let (shape, range, offset) = locate::<A, D>(bytes)?;
    let data = &bytes[range];
    let elements = A::cast_slice(data)
        .map_err(|e| cast_error::<A>(Some(Path::new(BYTES)), offset, data, e))?;
    ArrayView::from_shape(shape, elements).map_err(|e| shape_error(bytes, e))
}

/// Views the array in `bytes`, a whole `.npy` file in memory, for writing in
/// place: what is written changes `bytes`, which stay a valid `.npy`.
///
/// ```
/// use ndarray::{array, Ix1};
/// let mut npy = Vec::new();
/// ndarray_memmap::write_npy_to(&mut npy, &array![1i32, 2, 3])?;
/// ndarray_memmap::view_npy_mut::<i32, Ix1>(&mut npy)?[1] = 20;
/// assert_eq!(ndarray_memmap::read_npy_from::<i32, Ix1>(npy.as_slice())?, array![1, 20, 3]);
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
///
/// # Errors
/// As for [`view_npy`].
pub fn view_npy_mut<A: Element, D: Dimension>(bytes: &mut [u8]) -> Result<ArrayViewMut<'_, A, D>> {
    let (shape, range, offset) = locate::<A, D>(bytes)?;
    let shape_text = NpyHeader::parse(bytes, DEFAULT_MAX_HEADER_SIZE)
        .map(|h| h.shape)
        .unwrap_or_default();
    // Checked through a shared borrow first, so that the error can name
    // the bad element (a failed mutable cast would keep `bytes` borrowed).
    if let Err(e) = A::cast_slice(&bytes[range.clone()]) {
        return Err(cast_error::<A>(
            Some(Path::new(BYTES)),
            offset,
            &bytes[range],
            e,
        ));
    }
    let elements =
        A::cast_slice_mut(&mut bytes[range.clone()]).map_err(|e| Error::InvalidShape {
            shape: shape_text.clone(),
            reason: e.to_string(),
        })?;
    ArrayViewMut::from_shape(shape, elements).map_err(|e| Error::InvalidShape {
        shape: shape_text,
        reason: e.to_string(),
    })
}

/// Parses the header and checks it against `A`, `D` and the bytes: the
/// shape with its order, the data's byte range and its offset.
fn locate<A: Element, D: Dimension>(
    bytes: &[u8],
) -> Result<(StrideShape<D>, std::ops::Range<usize>, u64)> {
    let header = NpyHeader::parse(bytes, DEFAULT_MAX_HEADER_SIZE)?;
    if let Match::Swapped { .. } = match_dtype::<A>(&header)? {
        return Err(Error::ByteOrder {
            found: header.descr.clone(),
            remedy: "read it with read_npy_from, which swaps bytes",
        });
    }
    let dim = to_dim::<D>(&header.shape)?;
    let (nbytes, end) = byte_extent::<A>(&header.shape, header.data_offset)?;
    let len = bytes.len() as u64;
    if end > len {
        return Err(Error::FileTooShort {
            path: PathBuf::from(BYTES),
            expected: end,
            found: len,
            offset: header.data_offset,
            nbytes: nbytes as u64,
            element_size: size_of::<A>(),
            remedy: FileTooShortRemedy::Truncated,
        });
    }
    let shape = if header.fortran_order {
        dim.f()
    } else {
        dim.into_shape_with_order()
    };
    // `end` fits in memory: it is at most `bytes.len()`.
    Ok((
        shape.into(),
        header.data_offset as usize..end as usize,
        header.data_offset,
    ))
}

fn shape_error(bytes: &[u8], err: ndarray::ShapeError) -> Error {
    Error::InvalidShape {
        shape: NpyHeader::parse(bytes, DEFAULT_MAX_HEADER_SIZE)
            .map(|h| h.shape)
            .unwrap_or_default(),
        reason: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Ix1, Ix2};

    /// `.npy` bytes in a buffer that starts 8-byte aligned.
    fn aligned_npy(array: &ndarray::Array2<f64>) -> Vec<u64> {
        let mut bytes = Vec::new();
        crate::write_npy_to(&mut bytes, array).unwrap();
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
        words
    }

    #[test]
    fn views_see_the_bytes_in_both_orders() {
        let c = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let f = c.t().as_standard_layout().into_owned().reversed_axes();
        for array in [c.clone(), f.to_owned()] {
            let words = aligned_npy(&array);
            let view = view_npy::<f64, Ix2>(bytemuck::cast_slice(&words)).unwrap();
            assert_eq!(view, c);
        }
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let words = aligned_npy(&array![[1.0, 2.0]]);
        let bytes: &[u8] = bytemuck::cast_slice(&words);
        assert!(matches!(
            view_npy::<f32, Ix2>(bytes),
            Err(Error::DtypeMismatch { .. })
        ));
        assert!(matches!(
            view_npy::<f64, Ix1>(bytes),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            view_npy::<f64, Ix2>(&bytes[..bytes.len() - 1]),
            Err(Error::FileTooShort { found, .. }) if found == bytes.len() as u64 - 1
        ));
        // One byte into an 8-byte-aligned buffer: the data is misaligned.
        let mut buffer = vec![0u64; words.len() + 1];
        let shifted = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut buffer)[1..=bytes.len()];
        shifted.copy_from_slice(bytes);
        assert!(matches!(
            view_npy::<f64, Ix2>(shifted),
            Err(Error::Misaligned {
                offset: 128,
                align: 8,
                ..
            })
        ));
        let mut flags = Vec::new();
        crate::write_npy_to(&mut flags, &array![true, false]).unwrap();
        let last = flags.len() - 1;
        flags[last] = 9;
        assert!(matches!(
            view_npy_mut::<bool, Ix1>(&mut flags),
            Err(Error::InvalidValue { index: 1, .. })
        ));
    }
}
