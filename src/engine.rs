//! The opening engine: every format's open goes through here. It checks a
//! plan (shape, offset, order, byte range) before any file is touched,
//! registers, locks and measures the file as one ordered step, and hands
//! the file and the plan to the mapping module. The builder
//! ([`MemmapOptions`]) holds the settings; the formats (`.npy`, raw, `.npz`
//! members) say where the elements are.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use ndarray::Dimension;

use crate::advice::Advice;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::guard::{Memmap, MemmapMut, Origin};
use crate::layout::{byte_extent, check_alignment, infer_len, to_dim, Order};
use crate::map::{ReadMapping, Sharing, WriteMapping};
use crate::mode::Mode;
use crate::prefetch::Touch;
use crate::registry::{self, GuardFile, Registration};
use crate::settings::{MemmapOptions, Populate};
use crate::sys;

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

impl MemmapOptions {
    /// Maps a new unlinked file in `dir`, sized for `plan`: the body of
    /// `scratch_in`, whose `unsafe` block is proved here, not assumed.
    #[allow(unsafe_code)]
    pub(crate) fn map_scratch<A: Element, D: Dimension>(
        &self,
        dir: &Path,
        plan: Plan<D>,
    ) -> Result<MemmapMut<A, D>> {
        let temp_dir = dir.to_path_buf();
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

/// Maps `nbytes` of `file` at `offset` shared and writable, viewed as
/// `shape`, which may cover less than the mapping: the entry through which a
/// growing array ([`Growable`](crate::Growable)) remaps, its capacity ahead
/// of its rows. `mmap` allows a mapping to reach past the end of the file;
/// touching a page there raises `SIGBUS`.
///
/// # Safety
/// [The mapping contract](Memmap#safety) holds for `file` while the
/// mapping lives, and nothing touches a page of the mapping past the end of
/// the file (no view, no prefetch) until the file covers it.
#[allow(unsafe_code)]
pub(crate) unsafe fn map_with_capacity<A: Element, D: Dimension>(
    file: &File,
    path: &Path,
    offset: u64,
    nbytes: usize,
    shape: ndarray::StrideShape<D>,
) -> Result<WriteMapping<A, D>> {
    // SAFETY: forwarded to our caller, who promised the contract and keeps
    // every access inside the file.
    unsafe { WriteMapping::map(file, path, offset, nbytes, shape, false, Sharing::Shared) }
}
