//! The guards: they own a file and its mapping and lend ndarray views of it.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};

use ndarray::{ArrayRef, ArrayView, ArrayViewMut, Axis, Dimension, IxDyn, RemoveAxis};

use crate::advice::Advice;
use crate::element::{type_name, Element};
use crate::error::{Error, Result};
use crate::layout::Order;
use crate::map::{ReadMapping, WriteMapping};
use crate::mode::Mode;
use crate::prefetch::{Prefetcher, Touch};
use crate::registry::{GuardFile, Registration};

/// What a guard knows about its file besides the data.
///
/// Field order matters: the file (and its advisory lock) and the registry
/// entry are released only after the mapping, which is declared before this
/// in each guard, is gone.
pub(crate) struct Origin {
    pub(crate) path: Option<PathBuf>,
    pub(crate) offset: u64,
    pub(crate) mode: Mode,
    pub(crate) order: Order,
    /// Held, never read: closing it releases the advisory lock.
    #[allow(dead_code)]
    pub(crate) file: Option<GuardFile>,
    /// Held, never read: dropping it removes the registry entry.
    #[allow(dead_code)]
    pub(crate) registration: Option<Registration>,
    /// The header's layout, for `.npy` files.
    pub(crate) npy: Option<NpyLayout>,
}

/// Where a `.npy` file's header ends and what it says, so that a guard can
/// rewrite it in place.
#[derive(Clone, Debug)]
pub(crate) struct NpyLayout {
    pub(crate) descr: String,
    pub(crate) fortran_order: bool,
    pub(crate) version: (u8, u8),
    /// Magic to final newline: where the data starts.
    pub(crate) header_len: u64,
}

/// A read-only array in a memory-mapped file: numpy's `mode='r'`.
///
/// Derefs to [`ArrayRef`], so every read-only ndarray method works on the
/// guard itself (`guard.sum()`, `guard.row(0)`, `guard.iter()`); [`view`]
/// lends an [`ArrayView`] tied to the guard's lifetime.
///
/// [`view`]: Memmap::view
///
/// # Safety
///
/// This is the one safety text that every `unsafe fn` of this crate that maps
/// a file refers to.
///
/// A memory map is memory that the operating system keeps equal to the file.
/// Rust's references promise that the memory behind them does not change
/// (for `&T`) or that nobody else can see it (for `&mut T`) while they live;
/// another process, or another mapping or file handle in this one, that writes
/// or truncates the file breaks that promise, and that is undefined behaviour
/// (truncation also kills the process with `SIGBUS` on the next access).
/// So the caller of a mapping function must ensure:
///
/// **While the guard lives, no other process, mapping or file handle
/// truncates the file or writes the mapped range, except through this guard.**
///
/// Copy-on-write maps (`c`) are not snapshots: pages not yet written still
/// show later changes to the file, so the same rule applies to them. A guard
/// made [growable](MemmapMut::into_growable) maps more of the file as it
/// grows; the rule covers every range it maps, for as long as it lives.
///
/// The crate narrows the risk but cannot remove it: it takes an advisory lock
/// (shared for `r` and `c`, exclusive for `r+` and `w+`) that cooperating
/// programs honour, refuses a second guard in this process that would alias a
/// writable one, and checks the file's length before mapping so that a view
/// never covers bytes past the end of the file. Advisory locks do not stop a
/// program that ignores them. See [`docs::safety`](crate::docs::safety) for the whole contract.
///
/// Safe alternatives: [`MemmapExt::scratch`](crate::MemmapExt::scratch) (an unlinked temporary file no
/// other program can name), [`Memmap::from_mmap`] (a mapping you made and
/// vouched for yourself) and [`read_npy`](crate::read_npy) /
/// [`write_npy`](crate::write_npy) (ordinary reads and writes).
///
/// # Borrowing
///
/// Views borrow the guard, so none outlives the mapping:
///
/// ```compile_fail,E0597
/// use ndarray::Array1;
/// use ndarray_memmap::MemmapExt;
/// let view = {
///     let guard = Array1::<f32>::scratch(3).unwrap();
///     guard.view()
/// }; // error: `guard` does not live long enough
/// println!("{view}");
/// ```
///
/// A shared and a mutable view cannot coexist:
///
/// ```compile_fail,E0502
/// use ndarray::Array1;
/// use ndarray_memmap::MemmapExt;
/// let mut guard = Array1::<f32>::scratch(3).unwrap();
/// let shared = guard.view();
/// let mut unique = guard.view_mut(); // error: already borrowed as immutable
/// unique[0] = shared[0];
/// ```
///
/// A read-only map has no way to write:
///
/// ```compile_fail,E0596
/// use ndarray::Array1;
/// use ndarray_memmap::MemmapExt;
/// # let path = "x";
/// let mut guard = unsafe { Array1::<f32>::open_raw(path, 3) }.unwrap();
/// guard[0] = 1.0; // error: cannot assign through a `Memmap`
/// ```
///
/// # Examples
///
/// ```
/// use ndarray::Array2;
/// use ndarray_memmap::MemmapExt;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("data.bin");
/// // SAFETY: the file is new and private to this example.
/// let mut fp = unsafe { Array2::<f32>::create_raw(&path, (3, 4)) }?;
/// fp.assign(&Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32));
/// fp.close()?;
///
/// // SAFETY: as above.
/// let newfp = unsafe { Array2::<f32>::open_raw(&path, (3, 4)) }?;
/// assert_eq!(newfp.sum(), 66.0);
/// assert_eq!(newfp[[2, 3]], 11.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Memmap<A: 'static, D = IxDyn> {
    mapping: ReadMapping<A, D>,
    origin: Origin,
}

/// A writable array in a memory-mapped file: numpy's `r+`, `w+` and `c` modes.
///
/// Derefs mutably to [`ArrayRef`], so every ndarray method works on the guard
/// itself (`guard.fill(0.0)`, `guard.assign(&a)`, `guard.sum()`); [`view`] and
/// [`view_mut`] lend views tied to the guard's lifetime. In `r+` and `w+`
/// writes reach the file (visible to readers of the file at once, durable
/// after [`flush`]); in `c` they stay in this process's memory.
///
/// Dropping the guard flushes best-effort; [`close`] flushes and reports the
/// error. Mapping functions are `unsafe`: see [the contract](Memmap#safety).
///
/// # Examples
///
/// ```
/// use ndarray::{s, Array2};
/// use ndarray_memmap::{MemmapExt, Mode};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("grid.bin");
/// // SAFETY: the file is private to this example.
/// let mut grid = unsafe { Array2::<u16>::create_raw(&path, (4, 4)) }?;
/// grid.slice_mut(s![1..3, 1..3]).fill(9);   // any ndarray method, through DerefMut
/// let mut view = grid.view_mut();           // or an explicit view
/// view[[0, 0]] = 1;
/// assert_eq!(grid.sum(), 37);
/// assert_eq!(grid.mode(), Mode::Create);
/// grid.close()?;
/// assert_eq!(std::fs::read(&path)?.len(), 32);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`view`]: MemmapMut::view
/// [`view_mut`]: MemmapMut::view_mut
/// [`flush`]: MemmapMut::flush
/// [`close`]: MemmapMut::close
pub struct MemmapMut<A: 'static, D = IxDyn> {
    mapping: WriteMapping<A, D>,
    origin: Origin,
    flush_on_drop: bool,
}

/// Accessors that both guards share, matching numpy's memmap attributes.
macro_rules! common_accessors {
    () => {
        /// The file's absolute path (numpy's `filename`), or `None` for scratch arrays.
        pub fn path(&self) -> Option<&Path> {
            self.origin.path.as_deref()
        }

        /// Where the data starts in the file, in bytes, as given (numpy's `offset`).
        /// For `.npy` files, the header's length.
        pub fn offset(&self) -> u64 {
            self.origin.offset
        }

        /// The mode the file was opened in (numpy's `mode`).
        pub fn mode(&self) -> Mode {
            self.origin.mode
        }

        /// The order of the data in the file.
        pub fn order(&self) -> Order {
            self.origin.order
        }

        /// Bytes of element data in the mapping (numpy's `nbytes`).
        pub fn nbytes(&self) -> usize {
            self.len() * std::mem::size_of::<A>()
        }

        /// A read-only view of the whole array, borrowed from the guard.
        pub fn view(&self) -> ArrayView<'_, A, D> {
            self.mapping.view()
        }

        /// Tells the kernel how the whole mapping will be accessed (`madvise`).
        ///
        /// ```
        /// use ndarray::Array1;
        /// use ndarray_memmap::{Advice, MemmapExt};
        /// let lookup = Array1::<u64>::scratch(1 << 16)?;
        /// lookup.advise(Advice::Random)?; // only fault in the page that is touched
        /// # Ok::<(), ndarray_memmap::Error>(())
        /// ```
        ///
        /// # Errors
        /// [`Error::Io`] if the kernel refuses the hint;
        /// [`Error::UnsoundAdvice`] for [`Advice::DontNeed`] on a copy-on-write map.
        pub fn advise(&self, advice: Advice) -> Result<()> {
            self.mapping.advise(advice)
        }

        /// Tells the kernel how the subviews `range` along axis 0 will be accessed.
        ///
        /// For C order, the rows `range` are contiguous bytes, and only those
        /// are advised; for other layouts the whole mapping is advised.
        ///
        /// # Errors
        /// As for `advise`.
        pub fn advise_rows(&self, advice: Advice, range: std::ops::Range<usize>) -> Result<()> {
            match row_bytes(self.view(), self.origin.order, &range) {
                Some((start, len)) => self.mapping.advise_range(advice, start, len),
                None => self.mapping.advise(advice),
            }
        }
    };
}

impl<A: Element, D: Dimension> Memmap<A, D> {
    pub(crate) fn new(mapping: ReadMapping<A, D>, origin: Origin) -> Self {
        Memmap { mapping, origin }
    }

    common_accessors!();

    /// The same guard with another dimension type: a fixed rank `D2` that
    /// matches the array's, or `IxDyn`. Nothing is copied or remapped.
    ///
    /// ```
    /// use ndarray::{Ix2, IxDyn};
    /// use ndarray_memmap::MemmapOptions;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.npy");
    /// ndarray_memmap::write_npy(&path, &ndarray::Array2::<u8>::zeros((2, 3)))?;
    /// // SAFETY: the file is private to this example.
    /// let any_rank = unsafe { MemmapOptions::new().open_npy::<u8, IxDyn>(&path) }?;
    /// let matrix = any_rank.into_dimensionality::<Ix2>()?;
    /// assert_eq!(matrix.row(1).len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] naming both ranks; the guard is dropped.
    pub fn into_dimensionality<D2: Dimension>(self) -> Result<Memmap<A, D2>> {
        crate::layout::to_dim::<D2>(self.shape())?;
        let Memmap { mapping, origin } = self;
        Ok(Memmap {
            mapping: mapping.into_dimensionality()?,
            origin,
        })
    }

    /// The same guard with a dynamic rank (`IxDyn`), as ndarray's
    /// `into_dyn`: for code that handles arrays of any rank alike.
    ///
    /// ```
    /// use ndarray::Array2;
    /// use ndarray_memmap::{Memmap, MemmapExt};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.bin");
    /// std::fs::write(&path, [0u8; 6])?;
    /// // SAFETY: the file is private to this example.
    /// let guard: Memmap<u8, _> = unsafe { Array2::<u8>::open_raw(&path, (2, 3)) }?.into_dyn();
    /// assert_eq!(guard.shape(), &[2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_dyn(self) -> Memmap<A, IxDyn> {
        match self.into_dimensionality::<IxDyn>() {
            Ok(guard) => guard,
            // Any rank converts to `IxDyn`.
            Err(_) => unreachable!("IxDyn holds every rank"),
        }
    }

    /// Does nothing, successfully: a read-only map has nothing to write back.
    /// Here so that code written for numpy's `fp.flush()` works on any guard.
    pub fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// Views `shape` elements of `A` in a mapping you made yourself.
    ///
    /// Safe because the `unsafe` part, mapping the file, is done (and its
    /// [contract](Memmap#safety) vouched for) by the caller.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] or [`Error::InvalidShape`] if `offset` plus the
    /// shape's bytes exceed the mapping; [`Error::Misaligned`] or
    /// [`Error::InvalidValue`] as for the mapping constructors.
    ///
    /// # Examples
    /// ```
    /// use ndarray::Ix1;
    /// use ndarray_memmap::{Memmap, Order};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("v.bin");
    /// std::fs::write(&path, [1u32, 2, 3].map(u32::to_ne_bytes).concat())?;
    /// let file = std::fs::File::open(&path)?;
    /// // SAFETY: the file is private to this example.
    /// let mmap = unsafe { memmap2::Mmap::map(&file) }?;
    /// let a = Memmap::<u32, Ix1>::from_mmap(mmap, 4, 2, Order::C)?;
    /// assert_eq!(a.to_vec(), vec![2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_mmap(
        mmap: memmap2::Mmap,
        offset: usize,
        shape: impl ndarray::IntoDimension<Dim = D>,
        order: Order,
    ) -> Result<Self> {
        crate::layout::check_alignment::<A>(offset as u64)?;
        let shape = order.stride_shape(shape.into_dimension());
        let mapping = ReadMapping::from_mmap_range(mmap, offset, shape, None, offset as u64)?;
        Ok(Memmap::new(
            mapping,
            Origin::detached(offset as u64, Mode::ReadOnly, order),
        ))
    }
}

impl<A: Element, D: Dimension> MemmapMut<A, D> {
    pub(crate) fn new(mapping: WriteMapping<A, D>, origin: Origin) -> Self {
        MemmapMut {
            mapping,
            origin,
            flush_on_drop: true,
        }
    }

    common_accessors!();

    /// Whether the guard holds a file of its own (not `from_mmap`).
    pub(crate) fn has_file(&self) -> bool {
        self.origin.file.is_some()
    }

    /// The mapping and the file, moved out; what is left behind is an empty,
    /// detached guard whose drop has nothing to flush or release.
    pub(crate) fn into_parts(mut self) -> Result<(WriteMapping<A, D>, Origin)> {
        let placeholder = self.mapping.placeholder()?;
        let mapping = std::mem::replace(&mut self.mapping, placeholder);
        let detached = Origin::detached(self.origin.offset, self.origin.mode, self.origin.order);
        Ok((mapping, std::mem::replace(&mut self.origin, detached)))
    }

    /// The same guard with another dimension type (see
    /// [`Memmap::into_dimensionality`]). Nothing is flushed, copied or remapped.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] naming both ranks; the guard is dropped
    /// (and flushed, as on every drop).
    pub fn into_dimensionality<D2: Dimension>(self) -> Result<MemmapMut<A, D2>> {
        crate::layout::to_dim::<D2>(self.shape())?;
        let flush_on_drop = self.flush_on_drop;
        let (mapping, origin) = self.into_parts()?;
        Ok(MemmapMut {
            mapping: mapping.into_dimensionality()?,
            origin,
            flush_on_drop,
        })
    }

    /// The same guard with a dynamic rank (`IxDyn`), as ndarray's
    /// `into_dyn`. Nothing is flushed, copied or remapped.
    pub fn into_dyn(self) -> MemmapMut<A, IxDyn> {
        match self.into_dimensionality::<IxDyn>() {
            Ok(guard) => guard,
            // Any rank converts to `IxDyn`, and the detached placeholder
            // (no elements) always has a valid shape.
            Err(_) => unreachable!("IxDyn holds every rank"),
        }
    }

    /// A mutable view of the whole array, borrowed exclusively from the guard.
    pub fn view_mut(&mut self) -> ArrayViewMut<'_, A, D> {
        self.mapping.view_mut()
    }

    /// Iterates over writable blocks of `rows_per_chunk` subviews along
    /// axis 0 (the last block may be shorter): the pattern for filling a
    /// file larger than memory block by block, each block computed in place.
    /// `rows_per_chunk == 0` is treated as 1; a 0-d array yields nothing.
    ///
    /// ```
    /// use ndarray::{Array2, Axis};
    /// use ndarray_memmap::MemmapExt;
    /// let dir = tempfile::tempdir()?;
    /// // SAFETY: the file is private to this example.
    /// let mut table = unsafe { Array2::<f64>::create_raw(dir.path().join("t.bin"), (10, 3)) }?;
    /// for (i, mut block) in table.chunks_mut(4).enumerate() {
    ///     block.fill(i as f64);
    /// }
    /// assert_eq!(table.column(0).to_vec(), [0., 0., 0., 0., 1., 1., 1., 1., 2., 2.]);
    /// table.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn chunks_mut(
        &mut self,
        rows_per_chunk: usize,
    ) -> impl Iterator<Item = ArrayViewMut<'_, A, D>> + '_
    where
        D: RemoveAxis,
    {
        let view = self.mapping.view_mut();
        let blocks = (view.ndim() > 0)
            .then(|| view.into_axis_chunks_iter_mut(Axis(0), rows_per_chunk.max(1)));
        blocks.into_iter().flatten()
    }

    /// Writes changes to disk and waits for it (`msync`): numpy's `flush()`.
    ///
    /// Changes are visible to other readers of the file without it; `flush`
    /// makes them durable. A no-op for copy-on-write maps.
    ///
    /// # Errors
    /// [`Error::Io`] with the operating system's error.
    pub fn flush(&self) -> Result<()> {
        self.mapping.flush().map_err(|e| self.msync_error(e))
    }

    /// Flushes, unmaps and closes the file, reporting any error that `Drop`
    /// would have to swallow.
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_memmap::MemmapExt;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("log.bin");
    /// // SAFETY: the file is private to this example.
    /// let mut log = unsafe { Array1::<u32>::create_raw(&path, 3) }?;
    /// log.fill(7);
    /// log.flush()?; // durable now; the guard stays usable
    /// log[0] = 8;
    /// log.close()?; // flushed again, unmapped, closed
    /// assert_eq!(&std::fs::read(&path)?[..4], &8u32.to_ne_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As for [`flush`](MemmapMut::flush).
    pub fn close(self) -> Result<()> {
        self.close_with(MemmapMut::flush)
    }

    /// Starts writing changes back without waiting (`msync(MS_ASYNC)`).
    ///
    /// The changes are already visible to every reader of the file; this
    /// only asks the kernel to start its write-back now.
    ///
    /// # Errors
    /// [`Error::Io`] with the operating system's error.
    pub fn flush_async(&self) -> Result<()> {
        self.mapping.flush_async().map_err(|e| self.msync_error(e))
    }

    /// Unmaps and closes without waiting for the disk: what numpy does when
    /// a memmap is deleted, and what `std::fs::write` does.
    ///
    /// The data is in the page cache, visible to every reader of the file at
    /// once, and reaches the disk when the kernel writes it back (within
    /// about 30 s on Linux); a power loss before then loses it. [`close`]
    /// waits for the disk instead.
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_memmap::MemmapExt;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("scratch.bin");
    /// // SAFETY: the file is private to this example.
    /// let mut out = unsafe { Array1::<u8>::create_raw(&path, 4) }?;
    /// out.fill(3);
    /// out.close_async()?;
    /// assert_eq!(std::fs::read(&path)?, [3, 3, 3, 3]); // readers see it at once
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As for [`flush_async`](MemmapMut::flush_async).
    ///
    /// [`close`]: MemmapMut::close
    pub fn close_async(self) -> Result<()> {
        self.close_with(MemmapMut::flush_async)
    }

    /// Stops the helper, flushes with `flush` and drops without flushing again.
    fn close_with(mut self, flush: fn(&Self) -> Result<()>) -> Result<()> {
        self.mapping.stop_background();
        let result = flush(&self);
        self.flush_on_drop = false;
        result
    }

    fn msync_error(&self, source: std::io::Error) -> Error {
        Error::Io {
            operation: "msync",
            path: self.origin.path.clone(),
            cause: source,
        }
    }

    /// Views `shape` elements of `A` in a writable mapping you made yourself
    /// (see [`Memmap::from_mmap`]). Writes go wherever your mapping sends
    /// them; [`flush`](MemmapMut::flush) calls the mapping's `flush`.
    ///
    /// # Errors
    /// As for [`Memmap::from_mmap`].
    pub fn from_mmap(
        mmap: memmap2::MmapMut,
        offset: usize,
        shape: impl ndarray::IntoDimension<Dim = D>,
        order: Order,
    ) -> Result<Self> {
        crate::layout::check_alignment::<A>(offset as u64)?;
        let shape = order.stride_shape(shape.into_dimension());
        let mapping = WriteMapping::from_mmap_range(
            mmap,
            offset,
            shape,
            crate::map::Sharing::Shared,
            None,
            offset as u64,
        )?;
        Ok(MemmapMut::new(
            mapping,
            Origin::detached(offset as u64, Mode::ReadWrite, order),
        ))
    }
}

impl Origin {
    /// An I/O error about this guard's file.
    pub(crate) fn io(&self, operation: &'static str, source: std::io::Error) -> Error {
        Error::Io {
            operation,
            path: self.path.clone(),
            cause: source,
        }
    }

    pub(crate) fn detached(offset: u64, mode: Mode, order: Order) -> Origin {
        Origin {
            path: None,
            offset,
            mode,
            order,
            file: None,
            registration: None,
            npy: None,
        }
    }
}

/// Byte range `(start, len)` of rows `range` in a C-contiguous view, if it is one.
fn row_bytes<A, D: Dimension>(
    view: ArrayView<'_, A, D>,
    order: Order,
    range: &std::ops::Range<usize>,
) -> Option<(usize, usize)> {
    if order != Order::C || view.ndim() == 0 || !view.is_standard_layout() {
        return None;
    }
    let rows = view.len_of(Axis(0));
    let end = range.end.min(rows);
    let start = range.start.min(end);
    let row_len = std::mem::size_of::<A>() * view.len().checked_div(rows).unwrap_or(0);
    Some((start * row_len, (end - start) * row_len))
}

impl<A: 'static, D> Drop for MemmapMut<A, D> {
    fn drop(&mut self) {
        self.mapping.stop_background();
        if self.flush_on_drop {
            // Best effort: `close` is the way to see this error.
            let _ = self.mapping.flush();
        }
    }
}

impl<A: Element, D: Dimension> Deref for Memmap<A, D> {
    type Target = ArrayRef<A, D>;

    fn deref(&self) -> &ArrayRef<A, D> {
        self.mapping.array_ref()
    }
}

impl<A: Element, D: Dimension> Deref for MemmapMut<A, D> {
    type Target = ArrayRef<A, D>;

    fn deref(&self) -> &ArrayRef<A, D> {
        self.mapping.array_ref()
    }
}

impl<A: Element, D: Dimension> DerefMut for MemmapMut<A, D> {
    fn deref_mut(&mut self) -> &mut ArrayRef<A, D> {
        self.mapping.array_mut()
    }
}

fn debug_guard<A>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    origin: &Origin,
    shape: &[usize],
) -> fmt::Result {
    f.debug_struct(name)
        .field("path", &origin.path)
        .field("dtype", &type_name::<A>())
        .field("shape", &shape)
        .field("order", &origin.order)
        .field("mode", &origin.mode)
        .field("offset", &origin.offset)
        .finish()
}

/// The array's elements, as ndarray prints them.
///
/// ```
/// use ndarray_memmap::MemmapExt;
/// let mut a = ndarray::Array1::<u8>::scratch(3)?;
/// a.fill(7);
/// assert_eq!(a.to_string(), "[7, 7, 7]");
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
impl<A: Element + fmt::Display, D: Dimension> fmt::Display for Memmap<A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.view(), f)
    }
}

/// The array's elements, as ndarray prints them.
impl<A: Element + fmt::Display, D: Dimension> fmt::Display for MemmapMut<A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.view(), f)
    }
}

impl<A: Element, D: Dimension> fmt::Debug for Memmap<A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_guard::<A>(f, "Memmap", &self.origin, self.shape())
    }
}

impl<A: Element, D: Dimension> fmt::Debug for MemmapMut<A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_guard::<A>(f, "MemmapMut", &self.origin, self.shape())
    }
}

/// Rows of a guard in chunks, optionally with a helper thread that faults
/// in the next chunks while the caller works on the current one.
///
/// Made by [`Memmap::chunks`] and [`MemmapMut::chunks`].
///
/// ```
/// use ndarray::Array2;
/// use ndarray_memmap::MemmapExt;
/// let mut rows = Array2::<u32>::scratch((10, 2))?;
/// rows.fill(1);
/// let sizes: Vec<usize> = rows.chunks(4).prefetch(true).map(|c| c.nrows()).collect();
/// assert_eq!(sizes, [4, 4, 2]);
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
pub struct Chunks<'a, A, D: Dimension> {
    // Declared first so that the helper stops before anything else drops.
    helper: Option<Prefetcher>,
    view: ArrayView<'a, A, D>,
    source: &'a dyn PrefetchSource,
    order: Order,
    prefetch: bool,
    rows_per_chunk: usize,
    next: usize,
    /// Rows handed to the helper so far.
    requested: usize,
}

/// Arrays at least this large prefetch by default: there the helper thread's
/// start-up (tens of microseconds) is noise, and a cold scan measured up to
/// 1.4x faster with it ([`docs::performance`](crate::docs::performance)).
pub const AUTO_PREFETCH_BYTES: usize = 64 << 20;

/// How many chunks the helper may run ahead of the one handed out: two keep
/// the disk busy while the caller works; more would only cost memory.
const CHUNKS_AHEAD: usize = 2;

/// What `Chunks` needs from a guard to prefetch: a helper for its mapping
/// and the mapping bytes of a byte range of the view.
trait PrefetchSource {
    fn prefetcher(&self) -> Option<Prefetcher>;
    fn in_mapping(&self, bytes: std::ops::Range<usize>) -> std::ops::Range<usize>;
}

impl<A: Element, D: Dimension> PrefetchSource for Memmap<A, D> {
    fn prefetcher(&self) -> Option<Prefetcher> {
        self.mapping.prefetcher(Touch::Read)
    }

    fn in_mapping(&self, bytes: std::ops::Range<usize>) -> std::ops::Range<usize> {
        self.mapping.in_mapping(bytes)
    }
}

impl<A: Element, D: Dimension> PrefetchSource for MemmapMut<A, D> {
    fn prefetcher(&self) -> Option<Prefetcher> {
        self.mapping.prefetcher(Touch::Read)
    }

    fn in_mapping(&self, bytes: std::ops::Range<usize>) -> std::ops::Range<usize> {
        self.mapping.in_mapping(bytes)
    }
}

impl<A, D: Dimension> Chunks<'_, A, D> {
    /// Whether to fault in the next chunks on a helper thread while the
    /// caller works on the current one (C-order arrays; elsewhere a no-op).
    /// On by default for arrays of at least [`AUTO_PREFETCH_BYTES`].
    ///
    /// The helper stays at most two chunks ahead, so memory use stays
    /// bounded for files larger than RAM, and stops when the iterator drops.
    /// For a cold scan it keeps the disk reading while the caller computes
    /// (measured figures in [`docs::performance`](crate::docs::performance)).
    pub fn prefetch(mut self, prefetch: bool) -> Self {
        self.prefetch = prefetch;
        if !prefetch {
            self.helper = None;
        }
        self
    }

    /// Asks the helper for the rows up to `CHUNKS_AHEAD` chunks past `end`.
    fn request_ahead(&mut self, end: usize, rows: usize) {
        let target = end
            .saturating_add(CHUNKS_AHEAD.saturating_mul(self.rows_per_chunk))
            .min(rows);
        if target <= self.requested {
            return;
        }
        let range = self.requested..target;
        self.requested = target;
        let Some((start, len)) = row_bytes(self.view.view(), self.order, &range) else {
            // Rows are not contiguous bytes: nothing to ask for, ever.
            self.prefetch = false;
            return;
        };
        if self.helper.is_none() {
            self.helper = self.source.prefetcher();
        }
        if let Some(helper) = &self.helper {
            helper.request(self.source.in_mapping(start..start + len));
        }
    }
}

impl<'a, A, D: RemoveAxis> Iterator for Chunks<'a, A, D> {
    type Item = ArrayView<'a, A, D>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.view.ndim() == 0 {
            return None;
        }
        let rows = self.view.len_of(Axis(0));
        if self.next >= rows {
            self.helper = None;
            return None;
        }
        let start = self.next;
        let end = (start + self.rows_per_chunk).min(rows);
        if self.prefetch {
            self.request_ahead(end, rows);
        }
        self.next = end;
        let (chunk, _) = self.view.clone().split_at(Axis(0), end);
        let (_, chunk) = chunk.split_at(Axis(0), start);
        Some(chunk)
    }
}

macro_rules! chunks_method {
    () => {
        /// Iterates over blocks of `rows_per_chunk` subviews along axis 0:
        /// the pattern for streaming through a file larger than memory.
        ///
        /// For arrays of at least [`AUTO_PREFETCH_BYTES`] a helper thread
        /// faults in the next chunks while the caller works on the current
        /// one; [`Chunks::prefetch`] turns it on or off. A 0-d array yields
        /// nothing; `rows_per_chunk == 0` is treated as 1.
        ///
        /// ```
        /// use ndarray::Array2;
        /// use ndarray_memmap::MemmapExt;
        /// let mut table = Array2::<f64>::scratch((10_000, 4))?;
        /// table.fill(0.5);
        /// let total: f64 = table.chunks(1_000).map(|block| block.sum()).sum();
        /// assert_eq!(total, 20_000.0);
        /// # Ok::<(), ndarray_memmap::Error>(())
        /// ```
        pub fn chunks(&self, rows_per_chunk: usize) -> Chunks<'_, A, D>
        where
            D: RemoveAxis,
        {
            Chunks {
                helper: None,
                view: self.view(),
                source: self,
                order: self.origin.order,
                prefetch: self.nbytes() >= AUTO_PREFETCH_BYTES,
                rows_per_chunk: rows_per_chunk.max(1),
                next: 0,
                requested: 0,
            }
        }
    };
}

impl<A: Element, D: Dimension> Memmap<A, D> {
    chunks_method!();
}

/// Field views of record arrays: numpy's `a['x']`.
macro_rules! field_method {
    () => {
        /// A view of field `name` of every record, without copying
        /// (numpy's `a['x']`); see [`record_field`](crate::record_field).
        ///
        /// # Errors
        /// As for [`record_field`](crate::record_field).
        pub fn field<F>(&self, name: &str) -> Result<ndarray::ArrayViewD<'_, F>>
        where
            A: crate::Record,
            F: crate::FieldType + bytemuck::AnyBitPattern + bytemuck::NoUninit,
        {
            crate::record_field(self, name)
        }
    };
}

impl<A: Element, D: Dimension> Memmap<A, D> {
    field_method!();
}

impl<A: Element, D: Dimension> MemmapMut<A, D> {
    field_method!();
}

impl<A: Element, D: Dimension> MemmapMut<A, D> {
    chunks_method!();
}
