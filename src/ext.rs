//! The extension trait: memory-mapped constructors on ndarray's `Array` types.

use std::path::Path;

use ndarray::{Array, Dimension, IntoDimension};

use crate::element::Element;
use crate::error::Result;
use crate::guard::{Memmap, MemmapMut};
use crate::settings::MemmapOptions;

/// Opens files as arrays, spelled like ndarray's own constructors:
/// `Array2::<f32>::open_raw(path, (3, 4))`.
///
/// Every method is a shortcut for [`MemmapOptions`] with defaults; use the
/// builder for offsets, Fortran order, locking and hints. The mapping
/// methods are `unsafe`: see [the contract](Memmap#safety).
///
/// | numpy | this trait |
/// | --- | --- |
/// | `np.memmap(p, dtype, 'r', shape=s)` | `Array::<A, D>::open_raw(p, s)` |
/// | `np.memmap(p, dtype, 'r+', shape=s)` | `Array::<A, D>::open_raw_mut(p, s)` |
/// | `np.memmap(p, dtype, 'c', shape=s)` | `Array::<A, D>::open_raw_copy(p, s)` |
/// | `np.memmap(p, dtype, 'w+', shape=s)` | `Array::<A, D>::create_raw(p, s)` |
/// | `np.load(p, mmap_mode='r')` | `Array::<A, D>::open_npy(p)` |
/// | `np.load(p, mmap_mode='r+')` | `Array::<A, D>::open_npy_mut(p)` |
/// | `np.load(p, mmap_mode='c')` | `Array::<A, D>::open_npy_copy(p)` |
/// | `open_memmap(p, 'w+', dtype, s)` | `Array::<A, D>::create_npy(p, s)` |
///
/// # Examples
/// ```
/// use ndarray::Array2;
/// use ndarray_memmap::MemmapExt;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.npy");
/// // SAFETY: the file is private to this example.
/// let mut a = unsafe { Array2::<f64>::create_npy(&path, (2, 3)) }?;
/// a.row_mut(1).fill(7.0);
/// a.close()?;
/// // SAFETY: as above.
/// let b = unsafe { Array2::<f64>::open_npy(&path) }?;
/// assert_eq!(b.sum(), 21.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The trait is sealed: it is implemented for ndarray's `Array` only, so
/// that methods can be added to it without breaking anyone.
#[allow(unsafe_code)]
pub trait MemmapExt<A: Element, D: Dimension>: Sized + sealed::Sealed {
    /// Maps a raw file read-only (`mode='r'`). See [`MemmapOptions::open_raw`].
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// See [`MemmapOptions::open_raw`].
    unsafe fn open_raw(
        path: impl AsRef<Path>,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<Memmap<A, D>>;

    /// Maps a raw file for writing in place (`mode='r+'`). See [`MemmapOptions::open_raw_mut`].
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// See [`MemmapOptions::open_raw_mut`].
    unsafe fn open_raw_mut(
        path: impl AsRef<Path>,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<MemmapMut<A, D>>;

    /// Maps a raw file copy-on-write (`mode='c'`). See [`MemmapOptions::open_raw_copy`].
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// See [`MemmapOptions::open_raw_copy`].
    unsafe fn open_raw_copy(
        path: impl AsRef<Path>,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<MemmapMut<A, D>>;

    /// Creates or truncates a zero-filled raw file (`mode='w+'`). See [`MemmapOptions::create_raw`].
    ///
    /// Unlike numpy, the file's blocks are reserved at once (it takes its
    /// full size on disk), so a full disk is an error here rather than a
    /// `SIGBUS` later; `MemmapOptions::new().preallocate(false)` gives
    /// numpy's sparse file.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// See [`MemmapOptions::create_raw`].
    unsafe fn create_raw(
        path: impl AsRef<Path>,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<MemmapMut<A, D>>;

    /// Maps a `.npy` file read-only. See [`MemmapOptions::open_npy`].
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// See [`MemmapOptions::open_npy`].
    unsafe fn open_npy(path: impl AsRef<Path>) -> Result<Memmap<A, D>>;

    /// Maps a `.npy` file for writing in place. See [`MemmapOptions::open_npy_mut`].
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// See [`MemmapOptions::open_npy_mut`].
    unsafe fn open_npy_mut(path: impl AsRef<Path>) -> Result<MemmapMut<A, D>>;

    /// Maps a `.npy` file copy-on-write. See [`MemmapOptions::open_npy_copy`].
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// See [`MemmapOptions::open_npy_copy`].
    unsafe fn open_npy_copy(path: impl AsRef<Path>) -> Result<MemmapMut<A, D>>;

    /// Creates a zero-filled C-order `.npy` file. See [`MemmapOptions::create_npy`].
    ///
    /// Unlike numpy, the file's blocks are reserved at once (see
    /// [`create_raw`](MemmapExt::create_raw)).
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// See [`MemmapOptions::create_npy`].
    unsafe fn create_npy(
        path: impl AsRef<Path>,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<MemmapMut<A, D>>;

    /// A zero-filled array backed by an unlinked temporary file. Safe. See [`MemmapOptions::scratch`].
    ///
    /// # Errors
    /// See [`MemmapOptions::scratch`].
    fn scratch(shape: impl IntoDimension<Dim = D>) -> Result<MemmapMut<A, D>>;
}

mod sealed {
    /// Implemented for `Array` only: nobody outside the crate can implement
    /// [`MemmapExt`](super::MemmapExt).
    pub trait Sealed {}
    impl<A, D: ndarray::Dimension> Sealed for ndarray::Array<A, D> {}
}

#[allow(unsafe_code)]
impl<A: Element, D: Dimension> MemmapExt<A, D> for Array<A, D> {
    unsafe fn open_raw(
        path: impl AsRef<Path>,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<Memmap<A, D>> {
        // SAFETY: forwarded to our caller.
        unsafe {
            MemmapOptions::new()
                .shape(shape.into_dimension())
                .open_raw(path)
        }
    }

    unsafe fn open_raw_mut(
        path: impl AsRef<Path>,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<MemmapMut<A, D>> {
        // SAFETY: forwarded to our caller.
        unsafe {
            MemmapOptions::new()
                .shape(shape.into_dimension())
                .open_raw_mut(path)
        }
    }

    unsafe fn open_raw_copy(
        path: impl AsRef<Path>,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<MemmapMut<A, D>> {
        // SAFETY: forwarded to our caller.
        unsafe {
            MemmapOptions::new()
                .shape(shape.into_dimension())
                .open_raw_copy(path)
        }
    }

    unsafe fn create_raw(
        path: impl AsRef<Path>,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<MemmapMut<A, D>> {
        // SAFETY: forwarded to our caller.
        unsafe {
            MemmapOptions::new()
                .shape(shape.into_dimension())
                .create_raw(path)
        }
    }

    unsafe fn open_npy(path: impl AsRef<Path>) -> Result<Memmap<A, D>> {
        // SAFETY: forwarded to our caller.
        unsafe { MemmapOptions::new().open_npy(path) }
    }

    unsafe fn open_npy_mut(path: impl AsRef<Path>) -> Result<MemmapMut<A, D>> {
        // SAFETY: forwarded to our caller.
        unsafe { MemmapOptions::new().open_npy_mut(path) }
    }

    unsafe fn open_npy_copy(path: impl AsRef<Path>) -> Result<MemmapMut<A, D>> {
        // SAFETY: forwarded to our caller.
        unsafe { MemmapOptions::new().open_npy_copy(path) }
    }

    unsafe fn create_npy(
        path: impl AsRef<Path>,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<MemmapMut<A, D>> {
        // SAFETY: forwarded to our caller.
        unsafe {
            MemmapOptions::new()
                .shape(shape.into_dimension())
                .create_npy(path)
        }
    }

    fn scratch(shape: impl IntoDimension<Dim = D>) -> Result<MemmapMut<A, D>> {
        MemmapOptions::new().shape(shape.into_dimension()).scratch()
    }
}
