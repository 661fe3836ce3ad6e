//! Opening files with a run-time element type and a run-time mode.

use std::path::Path;

use ndarray::IxDyn;

use super::{with_element_type, AnyGuard};
use crate::engine::Setting;
use crate::error::{Error, Result};
use crate::mode::Mode;
use crate::npy::read_header_of;
use crate::scalar::Scalar;
use crate::settings::MemmapOptions;
use crate::DType;

/// The way out when a new file is asked for in the other byte order.
const CREATE_NATIVE: &str = "ask for the native dtype instead (numpy reads either order the same)";

impl MemmapOptions {
    /// The element type for the run-time-typed opens: required by
    /// [`open_raw_any`](Self::open_raw_any) (a raw file does not say) and by
    /// [`open_npy_any`](Self::open_npy_any) in mode `w+`, and used by
    /// [`read_raw`](Self::read_raw) for its byte order. Every other terminal
    /// refuses it with [`Error::SettingNotApplicable`] (a type parameter or a
    /// header gives the dtype there), rather than ignore it.
    ///
    /// ```
    /// use ndarray_memmap::{DType, MemmapOptions};
    /// let options = MemmapOptions::new().dtype("float32".parse::<DType>()?).clone();
    /// # drop(options);
    /// # Ok::<(), ndarray_memmap::Error>(())
    /// ```
    pub fn dtype(&mut self, dtype: DType) -> &mut Self {
        self.dtype = Some(dtype);
        self
    }

    /// Opens a raw file in a mode chosen at run time, with the element type
    /// given by [`dtype`](Self::dtype): `np.memmap(p, dtype=..., mode=m)`.
    /// The guard is read-only exactly when the mode is `r`.
    ///
    /// ```
    /// use ndarray_memmap::{AnyGuard, MemmapOptions};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("raw.bin");
    /// // np.memmap(path, dtype='uint16', mode='w+', shape=(2, 3))
    /// // SAFETY: the file is private to this example.
    /// let guard = unsafe {
    ///     MemmapOptions::new().dtype("uint16".parse()?).shape((2, 3)).open_raw_any(&path, "w+".parse()?)
    /// }?;
    /// assert!(matches!(guard, AnyGuard::Writable(_)));
    /// assert_eq!((guard.shape(), guard.dtype().descr()), (&[2, 3][..], "<u2".to_owned()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Safety
    /// See [the mapping contract](crate::Memmap#safety).
    ///
    /// # Errors
    /// [`Error::DtypeRequired`] without a dtype, [`Error::ByteOrder`] for a
    /// dtype in the other byte order (read such data with
    /// [`read_npy_any`](crate::read_npy_any) or convert it), and the errors
    /// of the typed open for the mode ([`open_raw`](Self::open_raw),
    /// [`open_raw_mut`](Self::open_raw_mut), [`open_raw_copy`](Self::open_raw_copy),
    /// [`create_raw`](Self::create_raw)).
    #[allow(unsafe_code)]
    pub unsafe fn open_raw_any(&self, path: impl AsRef<Path>, mode: Mode) -> Result<AnyGuard> {
        let dtype = self.dtype.ok_or(Error::DtypeRequired {
            reason: "open a raw file of run-time element type",
        })?;
        if !dtype.is_native() {
            let remedy = match mode {
                Mode::Create => CREATE_NATIVE,
                _ => "read it with MemmapOptions::read_raw, which swaps bytes",
            };
            return Err(Error::ByteOrder {
                found: dtype.descr(),
                remedy,
            });
        }
        with_element_type!(dtype, T => {
            // SAFETY: forwarded to our caller.
            unsafe { self.open_as::<T>(path.as_ref(), mode, false) }
        }, else Err(Error::UnsupportedDtype { descr: dtype.descr() }))
    }

    /// Opens a `.npy` file in a mode chosen at run time, with the element
    /// type its header names: `np.load(p, mmap_mode=m)`. The guard is
    /// read-only exactly when the mode is `r`. Mode `w+` creates the file,
    /// with [`dtype`](Self::dtype), [`shape`](Self::shape) and
    /// [`order`](Self::order), as `open_memmap(p, mode='w+', ...)` does.
    ///
    /// # Safety
    /// See [the mapping contract](crate::Memmap#safety).
    ///
    /// # Errors
    /// [`Error::UnsupportedDtype`] naming the descr for a dtype the
    /// run-time path does not hold (structured, strings, objects, and
    /// `float16` without the `half` feature; records and byte strings open
    /// through the typed path); [`Error::ByteOrder`] for data in the other
    /// byte order (read it with [`read_npy_any`](crate::read_npy_any)), and
    /// for `w+` with a dtype in the other byte order, which is refused
    /// rather than written in another order than asked;
    /// [`Error::DtypeRequired`] for `w+` without a dtype; and the errors of
    /// the typed `.npy` opens.
    ///
    /// # Examples
    /// ```
    /// use ndarray_memmap::{AnyGuard, MemmapOptions, Mode};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("new.npy");
    /// // open_memmap(path, mode='w+', dtype='complex64', shape=(2, 2))
    /// // SAFETY: the file is private to this example.
    /// let created = unsafe {
    ///     MemmapOptions::new().dtype("complex64".parse()?).shape((2, 2)).open_npy_any(&path, Mode::Create)
    /// }?;
    /// created.close()?;
    /// // np.load(path, mmap_mode='c'): writable in memory, the file stays as it is.
    /// let guard = unsafe { MemmapOptions::new().open_npy_any(&path, "c".parse()?) }?;
    /// assert!(matches!(guard, AnyGuard::Writable(_)));
    /// assert_eq!(guard.dtype().descr(), "<c8");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[allow(unsafe_code)]
    pub unsafe fn open_npy_any(&self, path: impl AsRef<Path>, mode: Mode) -> Result<AnyGuard> {
        let path = path.as_ref();
        match mode {
            Mode::Create => self.refuse_settings(
                "open_npy_any in mode 'w+'",
                &[Setting::Offset],
                "the data starts after the header it writes",
            )?,
            _ => self.refuse_settings(
                "open_npy_any of an existing file",
                &[
                    Setting::Offset,
                    Setting::Shape,
                    Setting::Order,
                    Setting::Dtype,
                ],
                "the .npy header gives it",
            )?,
        }
        let dtype = match mode {
            Mode::Create => {
                let dtype = self.dtype.ok_or(Error::DtypeRequired {
                    reason: "create a .npy file of run-time element type",
                })?;
                // The file would be viewed in place, so it must be native:
                // never write another dtype than the one asked for.
                if !dtype.is_native() {
                    return Err(Error::ByteOrder {
                        found: dtype.descr(),
                        remedy: CREATE_NATIVE,
                    });
                }
                dtype
            }
            _ => read_header_of(path, self.max_header_size)?.dtype()?,
        };
        with_element_type!(dtype, T => {
            // SAFETY: forwarded to our caller. The typed open reads the
            // header again and checks it against `T`, so a file changed in
            // between is an error, not a misread.
            unsafe { self.open_as::<T>(path, mode, true) }
        }, else Err(Error::UnsupportedDtype { descr: dtype.descr() }))
    }

    /// The typed open for `mode`, wrapped in the run-time enums.
    ///
    /// # Safety
    /// See [the mapping contract](crate::Memmap#safety).
    #[allow(unsafe_code)]
    unsafe fn open_as<T: Scalar>(&self, path: &Path, mode: Mode, npy: bool) -> Result<AnyGuard> {
        // The dtype chose `T`; the typed terminals take it from there.
        let mut typed = self.clone();
        typed.dtype = None;
        let this = &typed;
        // SAFETY: forwarded to our caller.
        unsafe {
            Ok(match (mode, npy) {
                (Mode::ReadOnly, false) => {
                    AnyGuard::ReadOnly(this.open_raw::<T, IxDyn>(path)?.into())
                }
                (Mode::ReadOnly, true) => {
                    AnyGuard::ReadOnly(this.open_npy::<T, IxDyn>(path)?.into())
                }
                (Mode::ReadWrite, false) => {
                    AnyGuard::Writable(this.open_raw_mut::<T, IxDyn>(path)?.into())
                }
                (Mode::ReadWrite, true) => {
                    AnyGuard::Writable(this.open_npy_mut::<T, IxDyn>(path)?.into())
                }
                (Mode::CopyOnWrite, false) => {
                    AnyGuard::Writable(this.open_raw_copy::<T, IxDyn>(path)?.into())
                }
                (Mode::CopyOnWrite, true) => {
                    AnyGuard::Writable(this.open_npy_copy::<T, IxDyn>(path)?.into())
                }
                (Mode::Create, false) => {
                    AnyGuard::Writable(this.create_raw::<T, IxDyn>(path)?.into())
                }
                (Mode::Create, true) => {
                    AnyGuard::Writable(this.create_npy::<T, IxDyn>(path)?.into())
                }
            })
        }
    }
}
