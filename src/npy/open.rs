//! Mapping `.npy` files: the options' `_npy` terminals.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use ndarray::{ArrayRef, Dimension};

use crate::element::Element;
use crate::engine::{grow, terminal_name, Opened, Plan, Setting, Target};
use crate::error::{Error, Result};
use crate::guard::{Memmap, MemmapMut, NpyLayout};
use crate::layout::Order;
use crate::mode::Mode;
use crate::npy::dtype::{descr_of, match_dtype, with_path, Match};
use crate::npy::header::{read_header, NpyHeader};
use crate::settings::MemmapOptions;
use crate::sys;

impl MemmapOptions {
    /// Opens a `.npy` file read-only: `np.load(path, mmap_mode='r')`.
    ///
    /// dtype, shape and order come from the header and are checked against
    /// `A` and `D` (`IxDyn` accepts any rank).
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// [`Error::NpyHeader`] for a damaged header, [`Error::DtypeMismatch`],
    /// [`Error::ByteOrder`] (data of the other endianness: use
    /// [`read_npy`](crate::read_npy)), [`Error::UnsupportedDtype`],
    /// [`Error::DimensionMismatch`], [`Error::FileTooShort`] (truncated data),
    /// [`Error::Misaligned`] (old files whose data is not aligned), and the
    /// I/O and locking errors of [`open_raw`](MemmapOptions::open_raw).
    #[allow(unsafe_code)]
    pub unsafe fn open_npy<A: Element, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<Memmap<A, D>> {
        let (opened, plan) =
            self.open_npy_existing::<A, D>(Target::Path(path.as_ref()), Mode::ReadOnly)?;
        // SAFETY: forwarded to our caller; the file covers the data (checked).
        unsafe { self.map_read_only(opened, plan) }
    }

    /// Opens a `.npy` file for reading and writing in place:
    /// `np.load(path, mmap_mode='r+')`. Unlike numpy, a file whose data is
    /// shorter than the header says is an error, not silently extended.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// As for [`open_npy`](MemmapOptions::open_npy).
    #[allow(unsafe_code)]
    pub unsafe fn open_npy_mut<A: Element, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<MemmapMut<A, D>> {
        let (opened, plan) =
            self.open_npy_existing::<A, D>(Target::Path(path.as_ref()), Mode::ReadWrite)?;
        // SAFETY: forwarded to our caller; the file covers the data (checked).
        unsafe { self.map_writable(opened, plan, Mode::ReadWrite) }
    }

    /// Opens a `.npy` file copy-on-write: `np.load(path, mmap_mode='c')`.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// As for [`open_npy`](MemmapOptions::open_npy).
    #[allow(unsafe_code)]
    pub unsafe fn open_npy_copy<A: Element, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<MemmapMut<A, D>> {
        self.check_advice(Mode::CopyOnWrite)?;
        let (opened, plan) =
            self.open_npy_existing::<A, D>(Target::Path(path.as_ref()), Mode::CopyOnWrite)?;
        // SAFETY: forwarded to our caller; the file covers the data (checked).
        unsafe { self.map_writable(opened, plan, Mode::CopyOnWrite) }
    }

    /// Creates (or truncates) a `.npy` file of the given [`shape`](Self::shape)
    /// and [`order`](Self::order), zero-filled, and maps it for writing:
    /// `open_memmap(path, mode='w+', dtype=..., shape=...)`.
    ///
    /// The header is byte-identical to what `np.save` writes for the same array.
    /// As for [`create_raw`](MemmapOptions::create_raw), the file's blocks are
    /// reserved at once unless [`preallocate(false)`](MemmapOptions::preallocate).
    ///
    /// An existing file is truncated only after every check has passed, as
    /// for [`create_raw`](MemmapOptions::create_raw); a failure after that leaves
    /// it empty (0 bytes), never a header without its data.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// [`Error::ShapeRequired`], [`Error::NoNpyDescr`], [`Error::SizeOverflow`],
    /// [`Error::DimensionMismatch`], and the I/O and locking errors of
    /// [`create_raw`](MemmapOptions::create_raw).
    #[allow(unsafe_code)]
    pub unsafe fn create_npy<A: Element, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<MemmapMut<A, D>> {
        let path = path.as_ref();
        self.refuse_settings(
            "create_npy",
            &[Setting::Offset],
            "the data starts after the header it writes",
        )?;
        self.refuse_dtype("create_npy")?;
        let shape = self.shape.as_deref().ok_or(Error::ShapeRequired {
            reason: "create a .npy file",
        })?;
        // `open_memmap(..., fortran_order=True)` writes `True` whatever the
        // shape; only `np.save` of an array asks whether it is also C order.
        let order = self.layout_order();
        let fortran = order == Order::Fortran;
        let header = NpyHeader::format(&descr_of::<A>()?, fortran, shape);
        let plan = Plan::<D>::new::<A>(shape, header.len() as u64, order)?;
        sys::check_file_size_limit(path, plan.end)?;
        let mut opened = Opened::open(path, Mode::Create, self)?;
        if self.preallocate {
            sys::check_free_space(&opened.file, path, plan.end, true)?;
        }
        opened.npy = Some(NpyLayout {
            descr: descr_of::<A>()?.into_owned(),
            fortran_order: fortran,
            version: (header[6], header[7]),
            header_len: header.len() as u64,
        });
        // Every check has passed: only now is the old content given up.
        let mut file: &File = &opened.file;
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(&header))
            .map_err(|e| {
                let _ = file.set_len(0);
                Error::io("write .npy header", path, e)
            })?;
        // On failure `grow` puts the file back to 0 bytes, not to a header
        // that promises data the file lacks.
        grow(file, path, 0, plan.offset, plan.end, self.preallocate)?;
        // SAFETY: forwarded to our caller; the file was just sized to cover the data.
        unsafe { self.map_writable(opened, plan, Mode::Create) }
    }

    /// Writes `array` to a new `.npy` file and maps it for writing, in one call.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// As for [`create_npy`](MemmapOptions::create_npy).
    #[allow(unsafe_code)]
    pub unsafe fn create_npy_with<A, D>(
        &self,
        path: impl AsRef<Path>,
        array: &ArrayRef<A, D>,
    ) -> Result<MemmapMut<A, D>>
    where
        A: Element + Clone,
        D: Dimension,
    {
        let order = if array.is_standard_layout() || !array.t().is_standard_layout() {
            Order::C
        } else {
            Order::Fortran
        };
        let mut options = self.clone();
        options.shape(array.raw_dim().into_dyn()).order(order);
        // SAFETY: forwarded to our caller.
        let mut guard = unsafe { options.create_npy::<A, D>(path) }?;
        guard.assign(array);
        Ok(guard)
    }

    pub(crate) fn open_npy_existing<A: Element, D: Dimension>(
        &self,
        target: Target<'_>,
        mode: Mode,
    ) -> Result<(Opened, Plan<D>)> {
        self.refuse_settings(
            terminal_name(&target, mode, "npy"),
            &[
                Setting::Offset,
                Setting::Shape,
                Setting::Order,
                Setting::Dtype,
            ],
            "the .npy header gives it",
        )?;
        let mut opened = Opened::open_target(target, mode, self)?;
        // One read of 4 KiB holds any ordinary header: one system call, not three.
        // Positional reads: a lent file's position is its owner's.
        let mut reader = std::io::BufReader::with_capacity(
            4096,
            sys::ReadAt {
                file: &opened.file,
                pos: 0,
            },
        );
        let header = read_header(&mut reader, self.max_header_size)
            .map_err(|e| with_path(e, &opened.path))?;
        match match_dtype::<A>(&header)? {
            Match::Native => {}
            Match::Swapped { .. } => {
                return Err(Error::ByteOrder {
                    found: header.descr.clone(),
                    remedy: "read it into memory with read_npy, which swaps bytes",
                })
            }
        }
        let plan = Plan::<D>::new::<A>(&header.shape, header.data_offset, header.order())?;
        opened.npy = Some(NpyLayout {
            descr: header.descr.clone(),
            fortran_order: header.fortran_order,
            version: header.version,
            header_len: header.data_offset,
        });
        let file_len = opened.len();
        if plan.end > file_len {
            return Err(Error::FileTooShort {
                path: opened.path.clone(),
                expected: plan.end,
                found: file_len,
                offset: plan.offset,
                nbytes: plan.nbytes as u64,
                element_size: std::mem::size_of::<A>(),
                remedy: crate::error::FileTooShortRemedy::Truncated,
            });
        }
        Ok((opened, plan))
    }
}
