//! The builder for less common options, and the open/create logic behind every entry point.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ndarray::{Dimension, IntoDimension};

use crate::advice::Advice;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::guard::{Memmap, MemmapMut, Origin};
use crate::layout::{byte_extent, check_alignment, infer_len, to_dim, Order};
use crate::map::{ReadMapping, Sharing, WriteMapping};
use crate::mode::Mode;
use crate::prefetch::Touch;
use crate::registry::{self, GuardFile, Registration};
use crate::sys;

/// How long an open waits for a conflicting advisory lock by default.
///
/// ```
/// use std::time::Duration;
/// use ndarray_memmap::{MemmapOptions, DEFAULT_LOCK_WAIT};
/// assert_eq!(DEFAULT_LOCK_WAIT, Duration::from_millis(200));
/// let impatient = MemmapOptions::new().lock_wait(Duration::ZERO).clone();
/// # drop(impatient);
/// ```
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_millis(200);

/// numpy's default cap on `.npy` header length, in bytes.
///
/// ```
/// use ndarray_memmap::{MemmapOptions, DEFAULT_MAX_HEADER_SIZE};
/// assert_eq!(DEFAULT_MAX_HEADER_SIZE, 10_000);
/// let trusting = MemmapOptions::new().max_header_size(1 << 20).clone();
/// # drop(trusting);
/// ```
pub const DEFAULT_MAX_HEADER_SIZE: usize = 10_000;

/// When a mapping's pages get their page-table entries (are "faulted in").
///
/// Choose with [`MemmapOptions::populate`]. Measured effects are in
/// [`docs::performance`](crate::docs::performance).
///
/// ```
/// use ndarray::Ix1;
/// use ndarray_memmap::{MemmapOptions, Populate};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("big.bin");
/// std::fs::write(&path, vec![0u8; 1 << 24])?;
/// // A whole-array reduction: let a helper thread fault pages in ahead of the sum.
/// // SAFETY: the file is private to this example.
/// let data = unsafe {
///     MemmapOptions::new().populate(Populate::Background).open_raw::<f64, Ix1>(&path)
/// }?;
/// assert_eq!(data.sum(), 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Populate {
    /// When first touched (the default). Opening costs the same for any
    /// size, and a lookup touches only its page; the first pass over the
    /// whole array pays the faults on the caller's thread.
    #[default]
    OnAccess,
    /// All of them before the open returns (`MAP_POPULATE`): the open takes
    /// as long as faulting in (or, cold, reading) the whole range.
    AtOpen,
    /// By a helper thread, front to back, starting at open, while the caller
    /// already works on the array: for whole-array passes on a machine with
    /// a spare core, the faults (and, cold, the disk reads) happen beside the
    /// computation instead of inside it. The open returns at once; dropping
    /// the guard stops and joins the helper.
    ///
    /// The helper runs ahead as far as it can, so the file should fit in
    /// memory; to stream a larger one, use [`Chunks::prefetch`](crate::Chunks::prefetch),
    /// which stays a few chunks ahead. On a new file (`w+`) the helper maps
    /// pages writable, which marks every page dirty: every page is written
    /// back to disk, so choose it when you will fill the array.
    Background,
}

/// Options for opening or creating a mapped array: numpy's `offset`, `shape`
/// and `order`, plus locking, preallocation and access hints.
///
/// Setters take `&mut self` and return it, so calls chain; the terminal
/// methods choose the mode (`open_raw` = `r`, `open_raw_mut` = `r+`,
/// `open_raw_copy` = `c`, `create_raw` = `w+`, and `_npy` twins for `.npy`
/// files) and so the guard
/// type, which makes writing through a read-only map a compile error.
///
/// ```
/// use ndarray::Ix1;
/// use ndarray_memmap::MemmapOptions;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("data.bin");
/// std::fs::write(&path, (0..12u32).flat_map(|i| (i as f32).to_ne_bytes()).collect::<Vec<u8>>())?;
/// // np.memmap(path, dtype='float32', mode='r', offset=16)
/// // SAFETY: the file is private to this example.
/// let fpo = unsafe { MemmapOptions::new().offset(16).open_raw::<f32, Ix1>(&path) }?;
/// assert_eq!(fpo.to_vec(), vec![4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct MemmapOptions {
    pub(crate) offset: u64,
    pub(crate) shape: Option<Vec<usize>>,
    pub(crate) order: Option<Order>,
    pub(crate) populate: Populate,
    pub(crate) lock: bool,
    pub(crate) lock_wait: Duration,
    pub(crate) preallocate: bool,
    pub(crate) advice: Option<Advice>,
    pub(crate) max_header_size: usize,
    pub(crate) dtype: Option<crate::DType>,
}

/// The public terminal that opens `target` in `mode`, for messages:
/// `open_raw_file_mut` for a lent raw file in `r+`, and so on.
pub(crate) fn terminal_name(target: &Target<'_>, mode: Mode, format: &str) -> &'static str {
    let lent = matches!(target, Target::File(_));
    match (format, lent, mode) {
        ("npy", false, Mode::ReadOnly) => "open_npy",
        ("npy", false, Mode::ReadWrite) => "open_npy_mut",
        ("npy", false, Mode::CopyOnWrite) => "open_npy_copy",
        ("npy", true, Mode::ReadOnly) => "open_npy_file",
        ("npy", true, Mode::ReadWrite) => "open_npy_file_mut",
        ("npy", true, Mode::CopyOnWrite) => "open_npy_file_copy",
        ("npy", _, Mode::Create) => "create_npy",
        (_, false, Mode::ReadOnly) => "open_raw",
        (_, false, Mode::ReadWrite) => "open_raw_mut",
        (_, false, Mode::CopyOnWrite) => "open_raw_copy",
        (_, true, Mode::ReadOnly) => "open_raw_file",
        (_, true, Mode::ReadWrite) => "open_raw_file_mut",
        (_, true, Mode::CopyOnWrite) => "open_raw_file_copy",
        (_, _, Mode::Create) => "create_raw",
    }
}

/// A builder setting that a terminal may refuse ([`MemmapOptions::refuse_settings`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Setting {
    Offset,
    Shape,
    Order,
    Dtype,
}

impl Setting {
    fn name(self) -> &'static str {
        match self {
            Setting::Offset => "offset",
            Setting::Shape => "shape",
            Setting::Order => "order",
            Setting::Dtype => "dtype",
        }
    }
}

impl Default for MemmapOptions {
    fn default() -> Self {
        MemmapOptions {
            offset: 0,
            shape: None,
            order: None,
            populate: Populate::OnAccess,
            lock: true,
            lock_wait: DEFAULT_LOCK_WAIT,
            preallocate: true,
            advice: None,
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
            dtype: None,
        }
    }
}

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

    /// Maps an opened file read-only.
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety); the file covers the plan's range.
    #[allow(unsafe_code)]
    pub(crate) unsafe fn map_read_only<A: Element, D: Dimension>(
        &self,
        opened: Opened,
        plan: Plan<D>,
    ) -> Result<Memmap<A, D>> {
        let (plan_offset, plan_order) = (plan.offset, plan.order);
        // SAFETY: forwarded to our caller.
        let mut mapping = unsafe {
            ReadMapping::map(
                &opened.file,
                &opened.path,
                plan.offset,
                plan.nbytes,
                plan.shape,
                self.populate == Populate::AtOpen,
            )
        }?;
        if self.populate == Populate::Background {
            mapping.populate_in_background();
        }
        let guard = Memmap::new(
            mapping,
            opened.into_origin(plan_offset, Mode::ReadOnly, plan_order),
        );
        if let Some(advice) = self.advice {
            guard.advise(advice)?;
        }
        Ok(guard)
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
        let temp_dir = dir.as_ref().to_path_buf();
        let file = tempfile::tempfile_in(&temp_dir)
            .map_err(|e| Error::io("create temporary file", &temp_dir, e))?;
        grow(&file, &temp_dir, 0, 0, plan.end, self.preallocate)?;
        // SAFETY: the file has no name (unlinked at creation), so no other
        // program can open it through the file system, and its only
        // descriptor is owned by the guard and never lent out: nothing but
        // the guard can write or truncate it. Its length covers the range.
        let mut mapping = unsafe {
            WriteMapping::map(
                &file,
                &temp_dir,
                0,
                plan.nbytes,
                plan.shape,
                self.populate == Populate::AtOpen,
                Sharing::Shared,
            )
        }?;
        if self.populate == Populate::Background {
            mapping.populate_in_background(Touch::Write);
        }
        let origin = Origin {
            path: None,
            offset: 0,
            mode: Mode::Create,
            order: self.layout_order(),
            file: Some(GuardFile::owned(file)),
            registration: None,
            npy: None,
        };
        Ok(MemmapMut::new(mapping, origin))
    }

    /// Refuses every setting in `unused` that was made: `terminal` would
    /// ignore it, because `reason` decides that value instead. (An offset
    /// of 0 is the default, and no setting.)
    pub(crate) fn refuse_settings(
        &self,
        terminal: &'static str,
        unused: &[Setting],
        reason: &'static str,
    ) -> Result<()> {
        let made = |setting: &Setting| match setting {
            Setting::Offset => self.offset != 0,
            Setting::Shape => self.shape.is_some(),
            Setting::Order => self.order.is_some(),
            Setting::Dtype => self.dtype.is_some(),
        };
        match unused.iter().find(|s| made(s)) {
            Some(setting) => Err(Error::SettingNotApplicable {
                setting: setting.name(),
                terminal,
                reason,
            }),
            None => Ok(()),
        }
    }

    /// The memory order set with [`order`](Self::order), C by default.
    pub(crate) fn layout_order(&self) -> Order {
        self.order.unwrap_or(Order::C)
    }

    /// The refusal for the typed raw terminals: their type parameter is
    /// the element type.
    pub(crate) fn refuse_dtype(&self, terminal: &'static str) -> Result<()> {
        self.refuse_settings(
            terminal,
            &[Setting::Dtype],
            "the element type parameter gives the dtype",
        )
    }

    /// Refuses an access hint that would be unsound for `mode`, before any
    /// file is opened.
    pub(crate) fn check_advice(&self, mode: Mode) -> Result<()> {
        match self.advice {
            Some(advice @ Advice::DontNeed) if mode == Mode::CopyOnWrite => {
                Err(Error::UnsoundAdvice { advice })
            }
            _ => Ok(()),
        }
    }

    /// Opens an existing raw file and checks it against the shape (given or inferred).
    pub(crate) fn open_existing<A: Element, D: Dimension>(
        &self,
        target: Target<'_>,
        mode: Mode,
    ) -> Result<(Opened, Plan<D>)> {
        // Every check that needs no file runs before the file is opened.
        self.refuse_dtype(terminal_name(&target, mode, "raw"))?;
        check_alignment::<A>(self.offset)?;
        let given =
            match &self.shape {
                Some(shape) => Some(Plan::<D>::new::<A>(
                    shape,
                    self.offset,
                    self.layout_order(),
                )?),
                None if D::NDIM.is_some_and(|n| n != 1) => return Err(Error::ShapeRequired {
                    reason:
                        "open a raw file as more than one dimension (only 1-D shapes are inferred)",
                }),
                None => None,
            };
        let mut opened = Opened::open_target(target, mode, self)?;
        let file_len = opened.len();
        let plan = match given {
            Some(plan) => plan,
            None => {
                let len = infer_len::<A>(&opened.path, file_len, self.offset)?;
                Plan::<D>::new::<A>(&[len], self.offset, self.layout_order())?
            }
        };
        if plan.end > file_len {
            if mode.writes_file() {
                grow(
                    &opened.file,
                    &opened.path,
                    file_len,
                    self.offset,
                    plan.end,
                    self.preallocate,
                )?;
                opened.grown_from = Some(file_len);
            } else {
                return Err(Error::FileTooShort {
                    path: opened.path.clone(),
                    expected: plan.end,
                    found: file_len,
                    offset: self.offset,
                    nbytes: plan.nbytes as u64,
                    element_size: std::mem::size_of::<A>(),
                    remedy: crate::error::FileTooShortRemedy::ExtendWithReadWrite,
                });
            }
        }
        Ok((opened, plan))
    }

    /// Maps an opened file writable (shared for `r+`/`w+`, private for `c`).
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety); the file covers the plan's range.
    #[allow(unsafe_code)]
    pub(crate) unsafe fn map_writable<A: Element, D: Dimension>(
        &self,
        opened: Opened,
        plan: Plan<D>,
        mode: Mode,
    ) -> Result<MemmapMut<A, D>> {
        let sharing = if mode == Mode::CopyOnWrite {
            Sharing::CopyOnWrite
        } else {
            Sharing::Shared
        };
        let (plan_offset, plan_order) = (plan.offset, plan.order);
        // SAFETY: forwarded to our caller.
        let mapped = unsafe {
            WriteMapping::map(
                &opened.file,
                &opened.path,
                plan.offset,
                plan.nbytes,
                plan.shape,
                self.populate == Populate::AtOpen,
                sharing,
            )
        };
        let mut mapping = mapped.inspect_err(|_| {
            // A refused map (an invalid `bool` byte in the old part, say)
            // must not leave the file longer than it was.
            if let Some(old_len) = opened.grown_from {
                let _ = opened.file.set_len(old_len);
            }
        })?;
        if self.populate == Populate::Background {
            // A new file is about to be filled; an existing one is read first.
            let touch = if mode == Mode::Create {
                Touch::Write
            } else {
                Touch::Read
            };
            mapping.populate_in_background(touch);
        }
        let guard = MemmapMut::new(mapping, opened.into_origin(plan_offset, mode, plan_order));
        if let Some(advice) = self.advice {
            guard.advise(advice)?;
        }
        Ok(guard)
    }
}

/// What the checks decided: the dimension with its strides and the byte range.
pub(crate) struct Plan<D: Dimension> {
    pub(crate) shape: ndarray::StrideShape<D>,
    pub(crate) order: Order,
    pub(crate) offset: u64,
    pub(crate) nbytes: usize,
    pub(crate) end: u64,
}

impl<D: Dimension> Plan<D> {
    pub(crate) fn new<A: Element>(shape: &[usize], offset: u64, order: Order) -> Result<Plan<D>> {
        check_alignment::<A>(offset)?;
        let dim = to_dim::<D>(shape)?;
        let (nbytes, end) = byte_extent::<A>(shape, offset)?;
        Ok(Plan {
            shape: order.stride_shape(dim),
            order,
            offset,
            nbytes,
            end,
        })
    }
}

/// What to open: a path, or a file the caller has open already.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    Path(&'a Path),
    File(&'a File),
}

/// An open, registered and (optionally) locked file.
pub(crate) struct Opened {
    pub(crate) file: GuardFile,
    pub(crate) path: PathBuf,
    len: u64,
    /// The length before `r+` extended the file, so that a mapping refused
    /// afterwards can put it back.
    grown_from: Option<u64>,
    registration: Registration,
    /// The header's layout, for `.npy` files.
    pub(crate) npy: Option<crate::guard::NpyLayout>,
}

impl Opened {
    /// Opens `path` for `mode` without truncating it (`w+` truncates only
    /// after every check has passed), refuses anything but a regular file,
    /// registers it, and locks it if asked.
    ///
    /// The registry comes before the lock, so a conflict with a guard of
    /// this process is always [`Error::AlreadyMapped`], never mistaken for
    /// another process's lock ([`Error::Locked`]).
    pub(crate) fn open(path: &Path, mode: Mode, options: &MemmapOptions) -> Result<Opened> {
        let mut open_options = OpenOptions::new();
        match mode {
            Mode::ReadOnly | Mode::CopyOnWrite => open_options.read(true),
            Mode::ReadWrite => open_options.read(true).write(true),
            Mode::Create => open_options
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        };
        let (file, meta) = sys::open_regular(path, &mut open_options)?;
        // numpy reports `os.path.abspath`; resolving symlinks would cost a
        // system call per path component on every open.
        let path = std::path::absolute(path).map_err(|e| Error::io("resolve path", path, e))?;
        Opened::register_and_lock(file, &meta, path, mode, options, false)
    }

    /// Opens `target` for `mode`: a path, or a file the caller lends.
    pub(crate) fn open_target(
        target: Target<'_>,
        mode: Mode,
        options: &MemmapOptions,
    ) -> Result<Opened> {
        match target {
            Target::Path(path) => Opened::open(path, mode, options),
            Target::File(file) => Opened::lend(file, mode, options),
        }
    }

    /// A duplicate of the caller's `file`, checked, registered and locked
    /// as [`open`](Opened::open) does with a path. Its access mode is the
    /// caller's: a writable map of a file opened read-only fails in `mmap`.
    fn lend(file: &File, mode: Mode, options: &MemmapOptions) -> Result<Opened> {
        let path = sys::path_of(file);
        let meta = file.metadata().map_err(|e| Error::io("stat", &path, e))?;
        sys::check_regular(&path, &meta)?;
        let file = file
            .try_clone()
            .map_err(|e| Error::io("duplicate file descriptor", &path, e))?;
        Opened::register_and_lock(file, &meta, path, mode, options, true)
    }

    /// The steps every opening shares once the file is open and checked:
    /// the registry first, then the lock (if asked), then the length,
    /// measured under the lock so that a cooperating writer cannot change
    /// it between this check and the mapping. A `lent` file's lock is
    /// released explicitly when the guard drops (see [`GuardFile`]).
    fn register_and_lock(
        file: File,
        meta: &std::fs::Metadata,
        path: PathBuf,
        mode: Mode,
        options: &MemmapOptions,
        lent: bool,
    ) -> Result<Opened> {
        let writable = mode.writes_file();
        let registration = Registration::register(meta, &path, writable)?;
        let len = if options.lock {
            registry::lock(&file, &path, writable, options.lock_wait)?;
            file.metadata()
                .map_err(|e| Error::io("stat", &path, e))?
                .len()
        } else {
            meta.len()
        };
        let file = if lent {
            GuardFile::lent(file, options.lock)
        } else {
            GuardFile::owned(file)
        };
        Ok(Opened {
            file,
            path,
            len,
            grown_from: None,
            registration,
            npy: None,
        })
    }

    /// The file's length when it was opened (under the lock, if any).
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn into_origin(self, offset: u64, mode: Mode, order: Order) -> Origin {
        Origin {
            path: Some(self.path),
            offset,
            mode,
            order,
            file: Some(self.file),
            registration: Some(self.registration),
            npy: self.npy,
        }
    }
}

/// Grows a file from `old_len` to `end` bytes, reserving blocks for the
/// array's bytes `[max(offset, old_len), end)` when `preallocate` is set.
/// On failure the file is put back to `old_len`.
pub(crate) fn grow(
    file: &File,
    path: &Path,
    old_len: u64,
    offset: u64,
    end: u64,
    preallocate: bool,
) -> Result<()> {
    if end <= old_len {
        return Ok(());
    }
    sys::check_file_size_limit(path, end)?;
    let result = if preallocate {
        let start = offset.max(old_len);
        sys::check_free_space(file, path, end - start, false)?;
        sys::preallocate(file, start, end - start).and_then(|()| sys::extend(file, end))
    } else {
        sys::extend(file, end)
    };
    result.map_err(|e| {
        // Undo a partial extension so a failed open leaves the file as it was.
        let _ = file.set_len(old_len);
        Error::io("extend file", path, e)
    })
}
