//! Shapes, memory order and byte arithmetic: pure functions, every operation checked.

use std::path::Path;

use ndarray::{Dimension, IxDyn, ShapeBuilder, StrideShape};

use crate::element::type_name;
use crate::error::{Error, Result};

/// How a multi-dimensional array is laid out in the file: numpy's `order`.
///
/// ```
/// use ndarray_memmap::Order;
/// assert_eq!("F".parse::<Order>()?, Order::Fortran);
/// assert_eq!("k".parse::<Order>()?, Order::C); // numpy treats 'A' and 'K' as C here
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Order {
    /// Row-major: the last index varies fastest (numpy's default).
    #[default]
    C,
    /// Column-major: the first index varies fastest.
    Fortran,
}

impl Order {
    /// numpy's letter for the order: `"C"` or `"F"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::C => "C",
            Order::Fortran => "F",
        }
    }

    /// The ndarray shape with this order's strides.
    pub(crate) fn stride_shape<D: Dimension>(self, dim: D) -> StrideShape<D> {
        match self {
            Order::C => dim.into(),
            Order::Fortran => dim.f().into(),
        }
    }
}

/// numpy's letter: `C` or `F`.
///
/// ```
/// assert_eq!(ndarray_memmap::Order::Fortran.to_string(), "F");
/// ```
impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Order {
    type Err = Error;

    fn from_str(s: &str) -> Result<Order> {
        match s {
            "C" | "c" | "A" | "a" | "K" | "k" => Ok(Order::C),
            "F" | "f" => Ok(Order::Fortran),
            _ => Err(Error::InvalidOrder {
                found: s.to_owned(),
            }),
        }
    }
}

/// The largest file offset the operating system accepts (`off_t` is an `i64`).
pub(crate) const MAX_FILE_OFFSET: u64 = i64::MAX as u64;

/// Byte length of `shape` elements of `A` stored at `offset`: `(nbytes, offset + nbytes)`.
///
/// Every rule a shape must obey is checked here, so that every entry point
/// can refuse a shape before it touches a file:
/// - ndarray's: the product of the non-zero axis lengths fits in `isize`
///   (it applies to empty arrays too, so `[0, usize::MAX]` is refused);
/// - slices': `nbytes` fits in `isize`;
/// - the file system's: the end fits in a file offset (`i64`), the offset too.
pub(crate) fn byte_extent<A>(shape: &[usize], offset: u64) -> Result<(usize, u64)> {
    let element_size = std::mem::size_of::<A>();
    let overflow = || Error::SizeOverflow {
        shape: shape.to_vec(),
        element_size,
        offset,
    };
    let non_zero = shape
        .iter()
        .filter(|&&len| len != 0)
        .try_fold(1usize, |acc, &len| acc.checked_mul(len))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(overflow)?;
    let count = if shape.contains(&0) { 0 } else { non_zero };
    let nbytes = count
        .checked_mul(element_size)
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(overflow)?;
    let end = offset
        .checked_add(nbytes as u64)
        .filter(|&end| end <= MAX_FILE_OFFSET)
        .ok_or_else(overflow)?;
    Ok((nbytes, end))
}

/// Refuses offsets at which `A` would be misaligned.
///
/// The mapping starts on a page boundary, so an element at `offset` is
/// aligned exactly when `offset` is a multiple of `align_of::<A>()`.
pub(crate) fn check_alignment<A>(offset: u64) -> Result<()> {
    let align = std::mem::align_of::<A>();
    if offset.is_multiple_of(align as u64) {
        Ok(())
    } else {
        Err(Error::Misaligned {
            offset,
            align,
            element: type_name::<A>(),
        })
    }
}

/// numpy's shape inference: as many whole elements as fit between `offset` and the end.
pub(crate) fn infer_len<A>(path: &Path, file_len: u64, offset: u64) -> Result<usize> {
    let element_size = std::mem::size_of::<A>();
    let available = file_len
        .checked_sub(offset)
        .ok_or_else(|| Error::OffsetPastEnd {
            path: path.to_path_buf(),
            offset,
            file_len,
        })?;
    if element_size == 0 || !available.is_multiple_of(element_size as u64) {
        return Err(Error::TrailingBytes {
            path: path.to_path_buf(),
            offset,
            available,
            element_size,
        });
    }
    usize::try_from(available / element_size as u64).map_err(|_| Error::SizeOverflow {
        shape: vec![],
        element_size,
        offset,
    })
}

/// Converts a dynamic shape to the requested dimension type.
pub(crate) fn to_dim<D: Dimension>(shape: &[usize]) -> Result<D> {
    D::from_dimension(&IxDyn(shape)).ok_or_else(|| Error::DimensionMismatch {
        expected: D::NDIM.unwrap_or(shape.len()),
        found: shape.len(),
        shape: shape.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Ix2, Ix3};

    #[test]
    fn byte_extent_multiplies_and_adds_offset() {
        assert_eq!(byte_extent::<f32>(&[3, 4], 16).unwrap(), (48, 64));
        assert_eq!(byte_extent::<f64>(&[], 0).unwrap(), (8, 8));
        assert_eq!(byte_extent::<f64>(&[0, 5], 7).unwrap(), (0, 7));
        assert_eq!(
            byte_extent::<u8>(&[0, isize::MAX as usize], 0).unwrap(),
            (0, 0)
        );
        assert_eq!(
            byte_extent::<u8>(&[4], i64::MAX as u64 - 4).unwrap(),
            (4, i64::MAX as u64)
        );
    }

    #[test]
    fn byte_extent_reports_every_kind_of_overflow() {
        for (shape, offset) in [
            (vec![1usize << 62, 4], 0u64),
            (vec![usize::MAX], 0),
            (vec![1 << 61], 0),
            (vec![8], u64::MAX - 3),
            // ndarray's rule holds for empty arrays too
            (vec![0, usize::MAX], 0),
            (vec![3, 0, 1 << 62], 0),
            // the end must be a file offset (`i64`), also with no data
            (vec![0], i64::MAX as u64 + 1),
            (vec![2], i64::MAX as u64 - 8),
        ] {
            match byte_extent::<f64>(&shape, offset) {
                Err(Error::SizeOverflow {
                    shape: s,
                    element_size: 8,
                    offset: o,
                }) => assert_eq!((s, o), (shape, offset)),
                other => panic!("{shape:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn alignment_is_checked_against_the_element() {
        assert!(check_alignment::<f64>(16).is_ok());
        assert!(check_alignment::<u8>(3).is_ok());
        match check_alignment::<f32>(6) {
            Err(Error::Misaligned {
                offset: 6,
                align: 4,
                element: "f32",
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inference_matches_numpy() {
        let p = Path::new("x");
        assert_eq!(infer_len::<f32>(p, 48, 16).unwrap(), 8);
        assert_eq!(infer_len::<f32>(p, 48, 48).unwrap(), 0);
        assert!(matches!(
            infer_len::<f32>(p, 48, 49),
            Err(Error::OffsetPastEnd {
                offset: 49,
                file_len: 48,
                ..
            })
        ));
        assert!(matches!(
            infer_len::<f32>(p, 50, 0),
            Err(Error::TrailingBytes {
                available: 50,
                element_size: 4,
                ..
            })
        ));
    }

    #[test]
    fn dimension_conversion_names_both_ranks() {
        assert_eq!(to_dim::<Ix2>(&[2, 3]).unwrap(), ndarray::Dim([2, 3]));
        match to_dim::<Ix3>(&[2, 3]) {
            Err(Error::DimensionMismatch {
                expected: 3,
                found: 2,
                shape,
            }) => assert_eq!(shape, vec![2, 3]),
            other => panic!("{other:?}"),
        }
        assert_eq!(to_dim::<IxDyn>(&[1, 2, 3, 4]).unwrap().ndim(), 4);
    }

    #[test]
    fn orders_parse_like_numpy() {
        assert_eq!("c".parse::<Order>().unwrap(), Order::C);
        assert_eq!("f".parse::<Order>().unwrap(), Order::Fortran);
        assert!(matches!("x".parse::<Order>(), Err(Error::InvalidOrder { found }) if found == "x"));
    }
}
