//! Mapped arrays of run-time element type, read-only and writable, and the
//! guard of run-time mode that holds either.

use std::any::Any;
use std::path::Path;

use ndarray::{ArrayD, Dimension, IxDyn};

use super::{any_enum, check_safe_cast, convert, dispatch, dtype_mismatch, ViewVisitor};
use crate::error::{Error, Result};
use crate::guard::{Memmap, MemmapMut};
use crate::layout::Order;
use crate::mode::Mode;
use crate::scalar::Scalar;
use crate::DType;

any_enum!(
    /// A read-only mapped array whose element type is known only at run
    /// time: `np.load(p, mmap_mode='r')` without naming a type.
    ///
    /// Made by [`MemmapOptions::open_npy_any`](crate::MemmapOptions::open_npy_any)
    /// and [`open_raw_any`](crate::MemmapOptions::open_raw_any) (inside an
    /// [`AnyGuard`]). Match on it for the typed guard, or use the methods
    /// that do not depend on the type:
    ///
    /// ```
    /// use ndarray_memmap::{AnyGuard, AnyMemmap, MemmapOptions, Mode};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.npy");
    /// ndarray_memmap::write_npy(&path, &ndarray::array![[1.5f64, 2.0], [3.0, 4.5]])?;
    /// // SAFETY: the file is private to this example.
    /// let AnyGuard::ReadOnly(data) = unsafe { MemmapOptions::new().open_npy_any(&path, Mode::ReadOnly) }? else {
    ///     unreachable!("mode 'r' always gives a read-only guard")
    /// };
    /// assert_eq!((data.dtype().descr(), data.shape()), ("<f8".to_owned(), &[2, 2][..]));
    /// match &data {
    ///     AnyMemmap::F64(guard) => assert_eq!(guard.sum(), 11.0),
    ///     other => panic!("unexpected {:?}", other.dtype()),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[derive(Debug)]
    AnyMemmap,
    Memmap,
    "elements, read-only."
);

any_enum!(
    /// A writable mapped array (`r+`, `w+` or `c`) whose element type is
    /// known only at run time. See [`AnyMemmap`].
    ///
    /// ```
    /// use ndarray_memmap::{AnyMemmapMut, MemmapOptions, Mode};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.npy");
    /// ndarray_memmap::write_npy(&path, &ndarray::Array1::<i16>::zeros(4))?;
    /// // SAFETY: the file is private to this example.
    /// let mut guard = unsafe { MemmapOptions::new().open_npy_any(&path, Mode::ReadWrite) }?;
    /// if let AnyMemmapMut::I16(data) = guard.writable()? {
    ///     data.fill(7);
    /// }
    /// guard.close()?;
    /// assert_eq!(ndarray_memmap::read_npy::<i16, ndarray::Ix1>(&path)?.sum(), 28);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[derive(Debug)]
    AnyMemmapMut,
    MemmapMut,
    "elements, writable."
);

/// What does not depend on the element type, for both mapped enums.
macro_rules! untyped_accessors {
    ($name:ident) => {
        /// The element type, in native byte order (maps always are).
        pub fn dtype(&self) -> DType {
            dispatch!(self, $name, g => element_dtype(g.view()))
        }

        /// The array's shape.
        pub fn shape(&self) -> &[usize] {
            dispatch!(self, $name, g => g.shape())
        }

        /// The number of axes.
        pub fn ndim(&self) -> usize {
            self.shape().len()
        }

        /// The number of elements.
        pub fn len(&self) -> usize {
            dispatch!(self, $name, g => g.len())
        }

        /// Whether the array has no elements.
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }

        /// The order of the data in the file.
        pub fn order(&self) -> Order {
            dispatch!(self, $name, g => g.order())
        }

        /// The mode the file was opened in.
        pub fn mode(&self) -> Mode {
            dispatch!(self, $name, g => g.mode())
        }

        /// The file's absolute path.
        pub fn path(&self) -> Option<&Path> {
            dispatch!(self, $name, g => g.path())
        }

        /// Where the data starts in the file, in bytes.
        pub fn offset(&self) -> u64 {
            dispatch!(self, $name, g => g.offset())
        }

        /// Bytes of element data.
        pub fn nbytes(&self) -> usize {
            dispatch!(self, $name, g => g.nbytes())
        }

        /// Runs `visitor` on the typed view (see [`ViewVisitor`]).
        pub fn visit<V: ViewVisitor>(&self, visitor: V) -> V::Output {
            dispatch!(self, $name, g => visitor.visit(g.view()))
        }

        /// A converted copy, numpy's `astype(T)`, for conversions numpy's
        /// `can_cast(..., 'safe')` allows (every value survives).
        ///
        /// # Errors
        /// [`Error::UnsafeCast`] naming both dtypes when values could be
        /// lost ([`to_owned_as_lossy`](Self::to_owned_as_lossy) converts
        /// anyway); [`Error::OutOfMemory`] if the copy does not fit.
        pub fn to_owned_as<T: Scalar>(&self) -> Result<ArrayD<T>> {
            check_safe_cast::<T>(self.dtype())?;
            self.to_owned_as_lossy()
        }

        /// A converted copy with numpy's `astype` semantics for every pair:
        /// floats truncate toward zero, integers wrap, complex numbers keep
        /// their real part, non-zero is `true`, float16 rounds to nearest
        /// even. Floats out of an integer type's range saturate and NaN
        /// gives 0, where numpy's result depends on the platform (its C
        /// cast is undefined there).
        ///
        /// # Errors
        /// [`Error::OutOfMemory`] if the copy does not fit.
        pub fn to_owned_as_lossy<T: Scalar>(&self) -> Result<ArrayD<T>> {
            dispatch!(self, $name, g => convert(g.view()))
        }
    };
}

/// The native dtype of a view's element type.
fn element_dtype<A: Scalar>(_: ndarray::ArrayViewD<'_, A>) -> DType {
    A::DTYPE
}

/// Moves `guard` out as `Target` if that is its type.
fn downcast<G: Any, Target: Any>(guard: G) -> Option<Target> {
    (Box::new(guard) as Box<dyn Any>)
        .downcast::<Target>()
        .ok()
        .map(|boxed| *boxed)
}

impl AnyMemmap {
    untyped_accessors!(AnyMemmap);

    /// Does nothing, successfully: a read-only map has nothing to write
    /// back (numpy's `flush()` on an `r` map).
    ///
    /// # Errors
    /// None; the `Result` matches [`AnyMemmapMut::flush`].
    pub fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// Unmaps and closes the file.
    ///
    /// # Errors
    /// None; the `Result` matches [`AnyMemmapMut::close`].
    pub fn close(self) -> Result<()> {
        Ok(())
    }

    /// The typed guard of a chosen rank (`IxDyn` for any).
    ///
    /// # Errors
    /// [`Error::DtypeMismatch`] or [`Error::DimensionMismatch`] naming
    /// expected and found; the guard is dropped.
    pub fn into_typed<A: Scalar, D: Dimension>(self) -> Result<Memmap<A, D>> {
        let (dtype, shape) = (self.dtype(), self.shape().to_vec());
        let typed = dispatch!(self, AnyMemmap, g => downcast::<_, Memmap<A, IxDyn>>(g));
        typed
            .ok_or_else(|| dtype_mismatch::<A>(dtype, &shape))?
            .into_dimensionality()
    }

    /// The typed guard, borrowed, if the elements are `A`s.
    pub fn as_typed<A: Scalar>(&self) -> Option<&Memmap<A, IxDyn>> {
        dispatch!(self, AnyMemmap, g => (g as &dyn Any).downcast_ref())
    }
}

impl AnyMemmapMut {
    untyped_accessors!(AnyMemmapMut);

    /// Writes changes to disk and waits (see [`MemmapMut::flush`]).
    ///
    /// # Errors
    /// [`Error::Io`] with the operating system's error.
    pub fn flush(&self) -> Result<()> {
        dispatch!(self, AnyMemmapMut, g => g.flush())
    }

    /// Flushes, unmaps and closes, reporting errors (see [`MemmapMut::close`]).
    ///
    /// # Errors
    /// As for [`flush`](Self::flush).
    pub fn close(self) -> Result<()> {
        dispatch!(self, AnyMemmapMut, g => g.close())
    }

    /// The typed guard of a chosen rank (`IxDyn` for any).
    ///
    /// # Errors
    /// As for [`AnyMemmap::into_typed`].
    pub fn into_typed<A: Scalar, D: Dimension>(self) -> Result<MemmapMut<A, D>> {
        let (dtype, shape) = (self.dtype(), self.shape().to_vec());
        let typed = dispatch!(self, AnyMemmapMut, g => downcast::<_, MemmapMut<A, IxDyn>>(g));
        typed
            .ok_or_else(|| dtype_mismatch::<A>(dtype, &shape))?
            .into_dimensionality()
    }

    /// The typed guard, borrowed, if the elements are `A`s.
    pub fn as_typed<A: Scalar>(&self) -> Option<&MemmapMut<A, IxDyn>> {
        dispatch!(self, AnyMemmapMut, g => (g as &dyn Any).downcast_ref())
    }

    /// The typed guard, borrowed mutably, if the elements are `A`s.
    pub fn as_typed_mut<A: Scalar>(&mut self) -> Option<&mut MemmapMut<A, IxDyn>> {
        dispatch!(self, AnyMemmapMut, g => (g as &mut dyn Any).downcast_mut())
    }
}

/// A mapped array whose element type and mode are both chosen at run time:
/// read-only exactly when the mode is `r`.
///
/// Writing needs [`writable`](AnyGuard::writable), which is an
/// [`Error::ReadOnly`] for an `r` map: a check the caller sees, never a panic.
///
/// ```
/// use ndarray_memmap::{AnyGuard, MemmapOptions, Mode};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.npy");
/// ndarray_memmap::write_npy(&path, &ndarray::Array1::<u8>::zeros(3))?;
/// let mode: Mode = "r".parse()?; // from a configuration file, say
/// // SAFETY: the file is private to this example.
/// let mut guard = unsafe { MemmapOptions::new().open_npy_any(&path, mode) }?;
/// assert_eq!((guard.mode(), guard.len()), (Mode::ReadOnly, 3));
/// assert!(guard.writable().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub enum AnyGuard {
    /// Opened with mode `r`.
    ReadOnly(AnyMemmap),
    /// Opened with mode `r+`, `w+` or `c`.
    Writable(AnyMemmapMut),
}

/// Forwards a method to whichever guard is inside.
macro_rules! either {
    ($self:expr, $g:ident => $body:expr) => {
        match $self {
            AnyGuard::ReadOnly($g) => $body,
            AnyGuard::Writable($g) => $body,
        }
    };
}

impl AnyGuard {
    /// The element type, in native byte order.
    pub fn dtype(&self) -> DType {
        either!(self, g => g.dtype())
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        either!(self, g => g.shape())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        either!(self, g => g.len())
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The order of the data in the file.
    pub fn order(&self) -> Order {
        either!(self, g => g.order())
    }

    /// The mode the file was opened in.
    pub fn mode(&self) -> Mode {
        either!(self, g => g.mode())
    }

    /// The file's absolute path.
    pub fn path(&self) -> Option<&Path> {
        either!(self, g => g.path())
    }

    /// Where the data starts in the file, in bytes.
    pub fn offset(&self) -> u64 {
        either!(self, g => g.offset())
    }

    /// Writes changes to disk and waits; nothing to do for a read-only map.
    ///
    /// # Errors
    /// [`Error::Io`] with the operating system's error.
    pub fn flush(&self) -> Result<()> {
        match self {
            AnyGuard::ReadOnly(_) => Ok(()),
            AnyGuard::Writable(g) => g.flush(),
        }
    }

    /// Flushes (if writable), unmaps and closes, reporting errors.
    ///
    /// # Errors
    /// As for [`flush`](Self::flush).
    pub fn close(self) -> Result<()> {
        match self {
            AnyGuard::ReadOnly(_) => Ok(()),
            AnyGuard::Writable(g) => g.close(),
        }
    }

    /// The writable guard, or [`Error::ReadOnly`] for a map opened `r`.
    ///
    /// # Errors
    /// [`Error::ReadOnly`] naming the file.
    pub fn writable(&mut self) -> Result<&mut AnyMemmapMut> {
        match self {
            AnyGuard::Writable(g) => Ok(g),
            AnyGuard::ReadOnly(g) => Err(Error::ReadOnly {
                path: g.path().map(Path::to_path_buf),
            }),
        }
    }

    /// Runs `visitor` on the typed view (see [`ViewVisitor`]).
    pub fn visit<V: ViewVisitor>(&self, visitor: V) -> V::Output {
        either!(self, g => g.visit(visitor))
    }

    /// A converted copy for safe conversions (see [`AnyMemmap::to_owned_as`]).
    ///
    /// # Errors
    /// As for [`AnyMemmap::to_owned_as`].
    pub fn to_owned_as<T: Scalar>(&self) -> Result<ArrayD<T>> {
        either!(self, g => g.to_owned_as())
    }

    /// A converted copy for any conversion (see [`AnyMemmap::to_owned_as_lossy`]).
    ///
    /// # Errors
    /// As for [`AnyMemmap::to_owned_as_lossy`].
    pub fn to_owned_as_lossy<T: Scalar>(&self) -> Result<ArrayD<T>> {
        either!(self, g => g.to_owned_as_lossy())
    }
}
