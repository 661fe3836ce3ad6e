//! Mapping a file the caller has open already: one opened with special
//! flags, or handed over by another API (a `File` from a socket's
//! `SCM_RIGHTS`, a sandbox's pre-opened descriptor, `tempfile`).
//!
//! The guard keeps a duplicate of the descriptor, so the caller's `File`
//! may be closed while the guard lives. The file is registered and locked
//! as a path would be; because a duplicate shares the caller's open file
//! description, and an advisory lock belongs to that description, the
//! caller must not lock or unlock it while a guard lives.

use std::fs::File;

use ndarray::Dimension;

use crate::element::Element;
use crate::engine::Target;
use crate::error::Result;
use crate::guard::{Memmap, MemmapMut};
use crate::mode::Mode;
use crate::settings::MemmapOptions;

impl MemmapOptions {
    /// [`open_raw`](MemmapOptions::open_raw) of a raw file the caller has open
    /// (for reading, at least).
    ///
    /// ```
    /// use ndarray::Ix1;
    /// use ndarray_memmap::MemmapOptions;
    /// let file = tempfile::tempfile()?; // no path at all
    /// file.set_len(16)?;
    /// // SAFETY: the file is private to this example.
    /// let zeros = unsafe { MemmapOptions::new().open_raw_file::<u32, Ix1>(&file) }?;
    /// assert_eq!(zeros.len(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// As for [`open_raw`](MemmapOptions::open_raw).
    #[allow(unsafe_code)]
    pub unsafe fn open_raw_file<A: Element, D: Dimension>(
        &self,
        file: &File,
    ) -> Result<Memmap<A, D>> {
        let (opened, plan) = self.open_existing::<A, D>(Target::File(file), Mode::ReadOnly)?;
        // SAFETY: forwarded to our caller; the range lies inside the file (checked).
        unsafe { self.map_read_only(opened, plan) }
    }

    /// [`open_raw_mut`](MemmapOptions::open_raw_mut) (`r+`) of a raw file the caller
    /// has open for reading and writing. The file is extended to the shape
    /// if shorter, as numpy does.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// As for [`open_raw_mut`](MemmapOptions::open_raw_mut); [`Error::Io`](crate::Error::Io)
    /// from `mmap` if the file is not open for writing.
    #[allow(unsafe_code)]
    pub unsafe fn open_raw_file_mut<A: Element, D: Dimension>(
        &self,
        file: &File,
    ) -> Result<MemmapMut<A, D>> {
        let (opened, plan) = self.open_existing::<A, D>(Target::File(file), Mode::ReadWrite)?;
        // SAFETY: forwarded to our caller; the range lies inside the file (checked or extended).
        unsafe { self.map_writable(opened, plan, Mode::ReadWrite) }
    }

    /// [`open_raw_copy`](MemmapOptions::open_raw_copy) (`c`) of a raw file
    /// the caller has open (for reading, at least): writes stay in memory,
    /// the file is never changed.
    ///
    /// ```
    /// use ndarray::Ix1;
    /// use ndarray_memmap::MemmapOptions;
    /// let file = tempfile::tempfile()?;
    /// file.set_len(16)?;
    /// // SAFETY: the file is private to this example.
    /// let mut private = unsafe { MemmapOptions::new().open_raw_file_copy::<u32, Ix1>(&file) }?;
    /// private[0] = 7; // this process's copy only
    /// assert_eq!(file.metadata()?.len(), 16);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// As for [`open_raw_copy`](MemmapOptions::open_raw_copy).
    #[allow(unsafe_code)]
    pub unsafe fn open_raw_file_copy<A: Element, D: Dimension>(
        &self,
        file: &File,
    ) -> Result<MemmapMut<A, D>> {
        self.check_advice(Mode::CopyOnWrite)?;
        let (opened, plan) = self.open_existing::<A, D>(Target::File(file), Mode::CopyOnWrite)?;
        // SAFETY: forwarded to our caller; the range lies inside the file (checked).
        unsafe { self.map_writable(opened, plan, Mode::CopyOnWrite) }
    }

    /// [`open_npy`](MemmapOptions::open_npy) of a `.npy` file the caller has open.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// As for [`open_npy`](MemmapOptions::open_npy).
    #[allow(unsafe_code)]
    pub unsafe fn open_npy_file<A: Element, D: Dimension>(
        &self,
        file: &File,
    ) -> Result<Memmap<A, D>> {
        let (opened, plan) = self.open_npy_existing::<A, D>(Target::File(file), Mode::ReadOnly)?;
        // SAFETY: forwarded to our caller; the file covers the data (checked).
        unsafe { self.map_read_only(opened, plan) }
    }

    /// [`open_npy_mut`](MemmapOptions::open_npy_mut) (`r+`) of a `.npy` file
    /// the caller has open for reading and writing.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// As for [`open_npy_mut`](MemmapOptions::open_npy_mut);
    /// [`Error::Io`](crate::Error::Io) from `mmap` if the file is not open
    /// for writing.
    #[allow(unsafe_code)]
    pub unsafe fn open_npy_file_mut<A: Element, D: Dimension>(
        &self,
        file: &File,
    ) -> Result<MemmapMut<A, D>> {
        let (opened, plan) = self.open_npy_existing::<A, D>(Target::File(file), Mode::ReadWrite)?;
        // SAFETY: forwarded to our caller; the file covers the data (checked).
        unsafe { self.map_writable(opened, plan, Mode::ReadWrite) }
    }

    /// [`open_npy_copy`](MemmapOptions::open_npy_copy) (`c`) of a `.npy` file
    /// the caller has open: writes stay in memory, the file is never changed.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// As for [`open_npy_copy`](MemmapOptions::open_npy_copy).
    #[allow(unsafe_code)]
    pub unsafe fn open_npy_file_copy<A: Element, D: Dimension>(
        &self,
        file: &File,
    ) -> Result<MemmapMut<A, D>> {
        self.check_advice(Mode::CopyOnWrite)?;
        let (opened, plan) =
            self.open_npy_existing::<A, D>(Target::File(file), Mode::CopyOnWrite)?;
        // SAFETY: forwarded to our caller; the file covers the data (checked).
        unsafe { self.map_writable(opened, plan, Mode::CopyOnWrite) }
    }
}
