//! Owned arrays of run-time element type: `np.load(p)` without naming a type.

use std::any::Any;
use std::path::Path;

use ndarray::{Array, ArrayD, Dimension, IxDyn};

use super::{
    any_enum, check_safe_cast, convert, dispatch, dtype_mismatch, with_element_type, ViewVisitor,
};
use crate::error::{Error, Result};
use crate::npy::{read_npy, read_npy_header, write_npy};
use crate::scalar::Scalar;
use crate::DType;

any_enum!(
    /// An owned array whose element type is known only at run time, read
    /// with [`read_npy_any`].
    ///
    /// ```
    /// use ndarray_memmap::{read_npy_any, AnyArray};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.npy");
    /// ndarray_memmap::write_npy(&path, &ndarray::array![1u16, 2, 3])?;
    /// let any = read_npy_any(&path)?;
    /// assert_eq!(any.dtype().descr(), "<u2");
    /// let wide = any.to_owned_as::<i64>()?; // safe: every u16 is an i64
    /// assert_eq!(wide.sum(), 6);
    /// assert!(any.to_owned_as::<u8>().is_err()); // not safe: astype would wrap
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[derive(Clone, Debug, PartialEq)]
    AnyArray,
    Array,
    "elements."
);

/// Reads a whole `.npy` file into an owned array of whatever element type
/// its header names: `np.load(path)`. Data in the other byte order is
/// swapped to native order.
///
/// # Errors
/// As for [`read_npy`](crate::read_npy); a dtype the crate does not
/// support is [`Error::UnsupportedDtype`] naming the descr.
///
/// # Examples
/// ```
/// use ndarray_memmap::{read_npy_any, AnyArray};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("big_endian.npy");
/// // A big-endian file, as some instruments write: '>i4'.
/// let mut bytes = ndarray_memmap::NpyHeader::format(">i4", false, &[2]);
/// bytes.extend([0, 0, 0, 7, 0, 0, 1, 0]);
/// std::fs::write(&path, bytes)?;
/// match read_npy_any(&path)? {
///     AnyArray::I32(a) => assert_eq!(a.as_slice(), Some(&[7, 256][..])),
///     other => panic!("{:?}", other.dtype()),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_npy_any(path: impl AsRef<Path>) -> Result<AnyArray> {
    let path = path.as_ref();
    let header = read_npy_header(path)?;
    let dtype = header.dtype()?;
    with_element_type!(dtype, T => read_npy::<T, IxDyn>(path).map(AnyArray::from),
        else Err(Error::UnsupportedDtype { descr: header.descr }))
}

impl AnyArray {
    /// The element type, in native byte order.
    pub fn dtype(&self) -> DType {
        dispatch!(self, AnyArray, a => dtype_of(a))
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        dispatch!(self, AnyArray, a => a.shape())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        dispatch!(self, AnyArray, a => a.len())
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A converted copy, numpy's `astype(T)`, where `can_cast(..., 'safe')`
    /// allows it.
    ///
    /// # Errors
    /// [`Error::UnsafeCast`] naming both dtypes; [`Error::OutOfMemory`].
    pub fn to_owned_as<T: Scalar>(&self) -> Result<ArrayD<T>> {
        check_safe_cast::<T>(self.dtype())?;
        self.to_owned_as_lossy()
    }

    /// A converted copy with numpy's `astype` semantics for every pair:
    /// floats truncate toward zero, integers wrap, complex numbers keep
    /// their real part, non-zero is `true`, float16 rounds to nearest even.
    /// Floats out of an integer type's range saturate and NaN gives 0,
    /// where numpy's result depends on the platform (its C cast is
    /// undefined there).
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if the copy does not fit.
    pub fn to_owned_as_lossy<T: Scalar>(&self) -> Result<ArrayD<T>> {
        dispatch!(self, AnyArray, a => convert(a.view()))
    }

    /// Runs `visitor` on the typed view (see [`ViewVisitor`]).
    pub fn visit<V: ViewVisitor>(&self, visitor: V) -> V::Output {
        dispatch!(self, AnyArray, a => visitor.visit(a.view()))
    }

    /// A converted copy of run-time element type `dtype` (its byte order
    /// aside): numpy's `astype(dtype)`, as [`to_owned_as_lossy`](Self::to_owned_as_lossy)
    /// converts. Only where `can_cast(..., 'safe')`
    /// allows it, unless `lossy`.
    ///
    /// ```
    /// let a = ndarray_memmap::AnyArray::from(ndarray::arr1(&[1.5f64, -2.5]).into_dyn());
    /// let ints = a.to_dtype("i2".parse()?, true)?;
    /// assert_eq!(ints, ndarray_memmap::AnyArray::from(ndarray::arr1(&[1i16, -2]).into_dyn()));
    /// assert!(a.to_dtype("i2".parse()?, false).is_err());
    /// # Ok::<(), ndarray_memmap::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnsafeCast`] for an unsafe conversion without `lossy`;
    /// [`Error::OutOfMemory`].
    pub fn to_dtype(&self, dtype: DType, lossy: bool) -> Result<AnyArray> {
        with_element_type!(dtype, T => {
            if lossy {
                self.to_owned_as_lossy::<T>().map(AnyArray::from)
            } else {
                self.to_owned_as::<T>().map(AnyArray::from)
            }
        }, else Err(Error::UnsupportedDtype { descr: dtype.descr() }))
    }

    /// The typed array of a chosen rank (`IxDyn` for any), without a copy.
    ///
    /// # Errors
    /// [`Error::DtypeMismatch`] or [`Error::DimensionMismatch`].
    pub fn into_typed<A: Scalar, D: Dimension>(self) -> Result<Array<A, D>> {
        let (dtype, shape) = (self.dtype(), self.shape().to_vec());
        let typed = dispatch!(self, AnyArray, a => (Box::new(a) as Box<dyn Any>).downcast::<ArrayD<A>>().ok());
        let array = *typed.ok_or_else(|| dtype_mismatch::<A>(dtype, &shape))?;
        crate::layout::to_dim::<D>(&shape)?;
        array
            .into_dimensionality::<D>()
            .map_err(|e| Error::InvalidShape {
                shape,
                reason: e.to_string(),
            })
    }

    /// Writes the array to a `.npy` file: `np.save(path, array)`.
    ///
    /// # Errors
    /// As for [`write_npy`](crate::write_npy).
    pub fn write_npy(&self, path: impl AsRef<Path>) -> Result<()> {
        dispatch!(self, AnyArray, a => write_npy(path.as_ref(), a))
    }
}

fn dtype_of<A: Scalar>(_: &ArrayD<A>) -> DType {
    A::DTYPE
}
