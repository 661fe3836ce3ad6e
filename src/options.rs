//! The public builder: its settings and its terminals. The opening logic
//! behind every terminal is the engine's (`engine.rs`).

use std::path::Path;
use std::time::Duration;

use ndarray::{Dimension, IntoDimension};

use crate::advice::Advice;
use crate::element::Element;
use crate::engine::{grow, Opened, Plan, Setting, Target};
use crate::error::{Error, Result};
use crate::guard::{Memmap, MemmapMut};
use crate::layout::Order;
use crate::mode::Mode;
use crate::settings::{MemmapOptions, Populate};
use crate::sys;

impl MemmapOptions {
    /// Defaults: offset 0, shape inferred (1-D), C order, locking on,
    /// preallocation on, no access hint, header cap 10000 bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Byte offset of the data in a raw file (numpy's `offset`). Any value;
    /// it must be a multiple of the element's alignment. A `.npy` file's
    /// header gives its data offset, so `.npy` terminals (and `scratch`)
    /// refuse a non-zero offset with [`Error::SettingNotApplicable`]
    /// rather than ignore it.
    pub fn offset(&mut self, offset: u64) -> &mut Self {
        self.offset = offset;
        self
    }

    /// The array's shape (numpy's `shape`). Without it, raw files are
    /// viewed as 1-D with as many elements as fit after the offset. Opens
    /// of an existing `.npy` file (whose header gives the shape) refuse it
    /// with [`Error::SettingNotApplicable`]; `create_npy` needs it.
    pub fn shape(&mut self, shape: impl IntoDimension) -> &mut Self {
        self.shape = Some(shape.into_dimension().slice().to_vec());
        self
    }

    /// Memory order of a raw file (numpy's `order`); default C. For
    /// `create_npy` it chooses the layout written in the header; opens of
    /// an existing `.npy` file refuse it ([`Error::SettingNotApplicable`]).
    pub fn order(&mut self, order: Order) -> &mut Self {
        self.order = Some(order);
        self
    }

    /// When pages are faulted in: on first access (default), all at open,
    /// or by a helper thread in the background; see [`Populate`].
    pub fn populate(&mut self, populate: Populate) -> &mut Self {
        self.populate = populate;
        self
    }

    /// Take an advisory lock (default on): shared for `r` and `c`, exclusive
    /// for `r+` and `w+`, refused with [`Error::Locked`] if another process
    /// holds a conflicting one for longer than [`lock_wait`](Self::lock_wait).
    /// Turn off only when you coordinate access yourself.
    pub fn lock(&mut self, lock: bool) -> &mut Self {
        self.lock = lock;
        self
    }

    /// How long to wait for a conflicting advisory lock to be released
    /// before failing with [`Error::Locked`] (default 200 ms; zero fails at once).
    pub fn lock_wait(&mut self, wait: Duration) -> &mut Self {
        self.lock_wait = wait;
        self
    }

    /// Reserve disk blocks when creating or extending a file (default on),
    /// so that a full disk is an error at open instead of `SIGBUS` on a
    /// later write. Off gives numpy's sparse extension.
    pub fn preallocate(&mut self, preallocate: bool) -> &mut Self {
        self.preallocate = preallocate;
        self
    }

    /// An access hint applied to the whole mapping right after it is made.
    pub fn advice(&mut self, advice: Advice) -> &mut Self {
        self.advice = Some(advice);
        self
    }

    /// The longest `.npy` header accepted, in bytes (default 10000, as numpy).
    /// Checked before anything is allocated.
    pub fn max_header_size(&mut self, bytes: usize) -> &mut Self {
        self.max_header_size = bytes;
        self
    }

    /// Opens a raw file read-only: `np.memmap(path, mode='r')`.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened, [`Error::FileTooShort`] if
    /// it ends before `offset` plus the shape's bytes, [`Error::Misaligned`],
    /// [`Error::SizeOverflow`], [`Error::DimensionMismatch`],
    /// [`Error::ShapeRequired`] (no shape and more than one dimension),
    /// [`Error::OffsetPastEnd`] and [`Error::TrailingBytes`] (inference),
    /// [`Error::InvalidValue`] (a `bool` byte other than 0 or 1),
    /// [`Error::NotAFile`] (a directory, FIFO, socket or device),
    /// [`Error::Locked`] and [`Error::AlreadyMapped`].
    #[allow(unsafe_code)]
    pub unsafe fn open_raw<A: Element, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<Memmap<A, D>> {
        let (opened, plan) =
            self.open_existing::<A, D>(Target::Path(path.as_ref()), Mode::ReadOnly)?;
        // SAFETY: forwarded to our caller; the range lies inside the file (checked by `open_existing`).
        unsafe { self.map_read_only(opened, plan) }
    }

    /// Opens a raw file for reading and writing in place: `np.memmap(path, mode='r+')`.
    ///
    /// A file shorter than `offset` plus the shape's bytes is extended with zeros
    /// (its blocks reserved unless [`preallocate(false)`](Self::preallocate)); it is never shrunk.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// As for [`open_raw`](Self::open_raw), except that a short file is extended:
    /// [`Error::FileSizeLimit`] if that would pass the process's file-size
    /// limit (checked first), [`Error::Io`] if the disk is full. The file is
    /// then left at its old length, as it is when the mapping is refused
    /// after the extension.
    #[allow(unsafe_code)]
    pub unsafe fn open_raw_mut<A: Element, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<MemmapMut<A, D>> {
        let (opened, plan) =
            self.open_existing::<A, D>(Target::Path(path.as_ref()), Mode::ReadWrite)?;
        // SAFETY: forwarded to our caller; the file now covers the range.
        unsafe { self.map_writable(opened, plan, Mode::ReadWrite) }
    }

    /// Opens a raw file copy-on-write: `np.memmap(path, mode='c')`. Writes
    /// change memory only; the file is opened read-only and never changes.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety); a copy-on-write map is not a
    /// snapshot, so the same rule applies.
    ///
    /// # Errors
    /// As for [`open_raw`](Self::open_raw).
    #[allow(unsafe_code)]
    pub unsafe fn open_raw_copy<A: Element, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<MemmapMut<A, D>> {
        self.check_advice(Mode::CopyOnWrite)?;
        let (opened, plan) =
            self.open_existing::<A, D>(Target::Path(path.as_ref()), Mode::CopyOnWrite)?;
        // SAFETY: forwarded to our caller; the range lies inside the file.
        unsafe { self.map_writable(opened, plan, Mode::CopyOnWrite) }
    }

    /// Creates (or truncates) a raw file of the given shape, zero-filled:
    /// `np.memmap(path, mode='w+', shape=...)`.
    ///
    /// The shape is required and checked before the file is touched. The
    /// file's blocks are reserved at once unless
    /// [`preallocate(false)`](Self::preallocate) says otherwise: the file
    /// takes its full size on disk (numpy's is sparse), and a full disk is
    /// an error here instead of a `SIGBUS` on a later write.
    ///
    /// Unlike numpy, which truncates first, the file is truncated only after
    /// every check has passed: the shape and offset rules, the file-size
    /// limit, the file type, this process's other guards and the lock. A
    /// refusal for any of those leaves an existing file's length and bytes
    /// as they were. Only a failure after that point (the disk fills up
    /// while the blocks are reserved, or `mmap` itself fails) leaves the
    /// file changed: empty (0 bytes) if reserving the blocks failed, or at
    /// its new length, zero-filled, if the mapping failed.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety).
    ///
    /// # Errors
    /// [`Error::ShapeRequired`] without a shape; [`Error::Io`] if the file
    /// cannot be created or its blocks reserved; and the shape checks of
    /// [`open_raw`](Self::open_raw).
    #[allow(unsafe_code)]
    pub unsafe fn create_raw<A: Element, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<MemmapMut<A, D>> {
        let path = path.as_ref();
        self.refuse_dtype("create_raw")?;
        let shape = self.shape.as_deref().ok_or(Error::ShapeRequired {
            reason: "create a file (mode 'w+')",
        })?;
        let plan = Plan::<D>::new::<A>(shape, self.offset, self.layout_order())?;
        sys::check_file_size_limit(path, plan.end)?;
        let opened = Opened::open(path, Mode::Create, self)?;
        if self.preallocate {
            sys::check_free_space(&opened.file, path, plan.end - self.offset, true)?;
        }
        // Every check has passed (shape, size limit, file type, registry,
        // lock, disk space): only now is the old content given up.
        opened
            .file
            .set_len(0)
            .map_err(|e| Error::io("truncate", path, e))?;
        grow(
            &opened.file,
            path,
            0,
            self.offset,
            plan.end,
            self.preallocate,
        )?;
        // SAFETY: forwarded to our caller; the file was just sized to cover the range.
        unsafe { self.map_writable(opened, plan, Mode::Create) }
    }

    /// A zero-filled scratch array backed by an unlinked temporary file:
    /// disk-backed memory that no other program can reach by name, so no
    /// contract is needed and the call is safe. The file disappears with the
    /// guard. Uses `shape` and `order`; `offset` and `lock` do not apply.
    ///
    /// # Errors
    /// [`Error::ShapeRequired`] without a shape, [`Error::Io`] if the
    /// temporary file cannot be made or sized, and the shape checks.
    ///
    /// # Examples
    /// ```
    /// use ndarray::Ix2;
    /// use ndarray_memmap::MemmapOptions;
    ///
    /// let mut scratch = MemmapOptions::new().shape((1000, 3)).scratch::<f64, Ix2>()?;
    /// scratch.fill(1.5);
    /// assert_eq!(scratch.sum(), 4500.0);
    /// # Ok::<(), ndarray_memmap::Error>(())
    /// ```
    pub fn scratch<A: Element, D: Dimension>(&self) -> Result<MemmapMut<A, D>> {
        self.scratch_in(std::env::temp_dir())
    }

    /// [`scratch`](Self::scratch) with its unlinked file in `dir` rather
    /// than in `TMPDIR`: a disk with room, not a small `/tmp`.
    ///
    /// ```
    /// use ndarray::Ix1;
    /// use ndarray_memmap::MemmapOptions;
    /// let big_disk = tempfile::tempdir()?; // a directory on the disk of your choice
    /// let mut scratch = MemmapOptions::new().shape(1 << 20).scratch_in::<u8, Ix1>(big_disk.path())?;
    /// scratch.fill(1);
    /// assert_eq!(scratch.len(), 1 << 20);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As for [`scratch`](Self::scratch).
    #[allow(unsafe_code)]
    pub fn scratch_in<A: Element, D: Dimension>(
        &self,
        dir: impl AsRef<Path>,
    ) -> Result<MemmapMut<A, D>> {
        self.refuse_settings(
            "scratch",
            &[Setting::Offset],
            "a scratch array's data starts its own file",
        )?;
        self.refuse_dtype("scratch")?;
        let shape = self.shape.as_deref().ok_or(Error::ShapeRequired {
            reason: "create a scratch array",
        })?;
        let plan = Plan::<D>::new::<A>(shape, 0, self.layout_order())?;
        self.map_scratch(dir.as_ref(), plan)
    }
}
