//! Arrays that grow in place along their growth axis: appending rows,
//! resizing and truncating a mapped raw or `.npy` file, the mapping extended
//! ahead in amortised steps, the file as rows are written, and the `.npy`
//! header rewritten inside its own bytes, data first and header last.

use std::fmt;
use std::fs::File;

use crate::registry::GuardFile;
use std::ops::{Deref, DerefMut};
use std::path::Path;

use ndarray::{ArrayRef, ArrayView, ArrayViewMut, Axis, Dimension, IxDyn};

use crate::element::Element;
use crate::engine::grow;
use crate::error::{Error, Result};
use crate::guard::{MemmapMut, NpyLayout, Origin};
use crate::layout::{byte_extent, Order};
use crate::map::{Sharing, WriteMapping};
use crate::mode::Mode;
use crate::npy::NpyHeader;

/// How far ahead the mapping is extended when an append needs room (the
/// file grows only as rows are written).
///
/// ```
/// use ndarray_memmap::Growth;
/// assert_eq!(Growth::default(), Growth::Double);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Growth {
    /// To twice the rows needed (at least 64 KiB of data): appending N rows
    /// one at a time costs O(log N) remaps and O(N) bytes written.
    #[default]
    Double,
    /// To the rows needed, rounded up to a multiple of this many rows.
    Rows(usize),
}

/// A writable mapped array that can grow and shrink along its growth axis
/// (axis 0 in C order, the last axis in Fortran order: numpy's rule, which
/// its `.npy` header slack follows). Made by [`MemmapMut::into_growable`].
///
/// Derefs to ndarray's [`ArrayRef`] of the current shape. Every method that
/// changes the length takes `&mut self`, so no view can outlive a remap.
///
/// # Crash consistency
/// Data is written before the header that announces it. If the process
/// dies at any moment, the file opens (here and in numpy) with the old or
/// the new length and correct data for that length; bytes past the
/// header's length are trailing bytes, which numpy and this crate ignore.
/// After a power loss or an operating-system crash, what was last
/// [`flush`](Growable::flush)ed or [`close`](Growable::close)d is
/// guaranteed (data synced before the header); rows appended since then
/// may be lost, or read as zeros, because the kernel writes pages back in
/// no particular order. Raw files have no header: their length is the
/// file's, so after a crash they may end in reserved rows of zeros.
///
/// ```
/// use ndarray::{array, Array2};
/// use ndarray_memmap::MemmapExt;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("log.npy");
/// // SAFETY: the file is private to this example.
/// let mut log = unsafe { Array2::<f64>::create_npy(&path, (0, 3)) }?.into_growable()?;
/// for t in 0..1000 {
///     log.append(&array![[t as f64, 0.5, -1.0]])?;
/// }
/// assert_eq!(log.rows(), 1000);
/// log.close()?; // trims the reserved tail: the file is np.save's bytes
/// let back = ndarray_memmap::read_npy::<f64, ndarray::Ix2>(&path)?;
/// assert_eq!((back.nrows(), back[[999, 0]]), (1000, 999.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Growable<A: Element, D: Dimension = IxDyn> {
    mapping: WriteMapping<A, D>,
    origin: Origin,
    file: GuardFile,
    /// The current shape; its growth axis is `rows`.
    shape: D,
    axis: Axis,
    /// Bytes of one step along the growth axis.
    row_bytes: usize,
    /// Rows the mapping holds. The file holds the rows written so far (and
    /// any stale bytes past them); the view never reaches past the file.
    capacity: usize,
    growth: Growth,
    /// Where the kernel was last asked to start writing rows to disk
    /// ([`WRITEBACK_BATCH`]).
    written_back: u64,
    closed: bool,
}

/// Appended bytes gathered before the kernel is asked to start writing them
/// out (`sync_file_range` on Linux): the disk works while rows still
/// arrive, and the `fsync` of `close` waits for the last batch only.
const WRITEBACK_BATCH: u64 = 8 << 20;

impl<A: Element, D: Dimension> MemmapMut<A, D> {
    /// This guard as a [`Growable`]: its file can grow and shrink along the
    /// growth axis. The lock and the registry entry stay with it.
    ///
    /// # Errors
    /// [`Error::NotGrowable`] for a copy-on-write map (it never changes the
    /// file), a guard made by `from_mmap` (no file of its own to grow) and
    /// a 0-d array (no axis). A `scratch` guard grows: its unlinked file is
    /// its own, so a scratch array larger than memory can be filled row by
    /// row, with nothing left on disk when it is dropped.
    pub fn into_growable(self) -> Result<Growable<A, D>> {
        let refuse = |reason| Err(Error::NotGrowable { reason });
        if !matches!(self.mode(), Mode::ReadWrite | Mode::Create) {
            return refuse("a copy-on-write map never changes its file");
        }
        if self.ndim() == 0 {
            return refuse("a 0-d array has no axis to grow");
        }
        // A scratch guard passes: its unlinked file is its own.
        if !self.has_file() {
            return refuse("the guard has no file of its own (made by from_mmap)");
        }
        let (mut mapping, mut origin) = self.into_parts()?;
        let Some(file) = origin.file.take() else {
            return refuse("the guard has no file of its own (made by from_mmap)");
        };
        mapping.stop_background();
        let shape = mapping.view().raw_dim();
        let axis = match origin.order {
            Order::Fortran => Axis(shape.ndim() - 1),
            Order::C => Axis(0),
        };
        let rows = shape[axis.index()];
        let row_elements: usize = (0..shape.ndim())
            .filter(|&i| i != axis.index())
            .map(|i| shape[i])
            .product();
        let row_bytes = row_elements * size_of::<A>();
        let written_back = byte_extent::<A>(shape.slice(), origin.offset)?.1;
        Ok(Growable {
            mapping,
            origin,
            file,
            shape,
            axis,
            row_bytes,
            capacity: rows,
            growth: Growth::Double,
            written_back,
            closed: false,
        })
    }
}

impl<A: Element, D: Dimension> Growable<A, D> {
    /// Length along the growth axis.
    pub fn rows(&self) -> usize {
        self.shape[self.axis.index()]
    }

    /// Rows the array can grow to without a remap.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The growth axis: 0 in C order, the last in Fortran order.
    pub fn axis(&self) -> Axis {
        self.axis
    }

    /// How the file is extended ahead of appends (default [`Growth::Double`]).
    pub fn set_growth(&mut self, growth: Growth) {
        self.growth = growth;
    }

    /// The file's absolute path.
    pub fn path(&self) -> Option<&Path> {
        self.origin.path.as_deref()
    }

    /// The order of the data in the file.
    pub fn order(&self) -> Order {
        self.origin.order
    }

    /// A read-only view of the array, borrowed from the guard.
    pub fn view(&self) -> ArrayView<'_, A, D> {
        self.mapping.view()
    }

    /// A mutable view of the array, borrowed exclusively from the guard.
    pub fn view_mut(&mut self) -> ArrayViewMut<'_, A, D> {
        self.mapping.view_mut()
    }

    /// Appends `rows` along the growth axis: numpy's
    /// `NpyAppendArray(p).append(rows)`, in place, without a cast (the
    /// element type is the array's).
    ///
    /// # Errors
    /// [`Error::AppendShape`] if the other axes differ, [`Error::HeaderFull`]
    /// if the `.npy` header has no room for the new shape (see
    /// [`rewrite_npy_with_room`](crate::rewrite_npy_with_room)),
    /// [`Error::FileSizeLimit`], [`Error::DiskFull`], [`Error::Io`]. On an
    /// error the array and the file's contents keep their old length.
    pub fn append(&mut self, rows: &ArrayRef<A, D>) -> Result<()> {
        let mut expected = self.shape.clone();
        expected[self.axis.index()] = rows.len_of(self.axis);
        if rows.raw_dim() != expected {
            return Err(Error::AppendShape {
                expected: expected.slice().to_vec(),
                found: rows.shape().to_vec(),
                axis: self.axis.index(),
            });
        }
        let old = self.rows();
        let new = old
            .checked_add(rows.len_of(self.axis))
            .ok_or_else(|| self.overflow())?;
        // The new rows go to the file with `pwrite`, in the file's order,
        // into the part of the mapping past the view, which no reference
        // covers: the page cache fills the pages once, with no zero-filled
        // page faults, and the shared mapping sees them. Rows in another
        // layout are copied into the file's order first.
        let transposed = rows.t();
        let in_file_order = match self.origin.order {
            Order::C => rows.as_standard_layout(),
            Order::Fortran => transposed.as_standard_layout(),
        };
        let elements = in_file_order.as_slice().ok_or_else(|| self.overflow())?;
        self.set_rows(new, Some(bytemuck::cast_slice(elements)))
    }

    /// Changes the length along the growth axis to `rows`: new rows are
    /// zero, removed rows are cut off (the header first, so no stale row is
    /// ever announced).
    ///
    /// # Errors
    /// As for [`append`](Growable::append).
    pub fn resize(&mut self, rows: usize) -> Result<()> {
        let old = self.rows();
        if rows <= old {
            return self.truncate(rows);
        }
        self.set_rows(rows, None)
    }

    /// Shortens the array to `rows` along the growth axis (no-op if it is
    /// not longer). The file keeps the cut rows as trailing bytes until
    /// [`shrink_to_fit`] or [`close`] trims them.
    ///
    /// [`shrink_to_fit`]: Growable::shrink_to_fit
    /// [`close`]: Growable::close
    ///
    /// # Errors
    /// [`Error::Io`] if the header cannot be written.
    pub fn truncate(&mut self, rows: usize) -> Result<()> {
        let old = self.rows();
        if rows >= old {
            return Ok(());
        }
        let mut shape = self.shape.clone();
        shape[self.axis.index()] = rows;
        // The header shrinks first: the cut rows are never announced again.
        self.write_header(&shape)?;
        self.mapping
            .set_shape(self.origin.order.stride_shape(shape.clone()))?;
        self.shape = shape;
        Ok(())
    }

    /// Makes room for at least `extra` more rows without further remaps
    /// (the mapping grows; the file grows as rows are written).
    ///
    /// # Errors
    /// [`Error::SizeOverflow`], [`Error::Io`] if `mmap` fails.
    pub fn reserve(&mut self, extra: usize) -> Result<()> {
        let needed = self
            .rows()
            .checked_add(extra)
            .ok_or_else(|| self.overflow())?;
        self.ensure_capacity(needed, needed)
    }

    /// Trims the file to the array's length and the mapping to the array.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn shrink_to_fit(&mut self) -> Result<()> {
        if self.capacity > self.rows() {
            // Unmap the tail before the file loses it.
            self.remap(self.rows())?;
        }
        let end = self.data_end(self.rows())?;
        let file_len = self
            .file
            .metadata()
            .map_err(|e| self.origin.io("stat", e))?
            .len();
        if file_len > end {
            self.file
                .set_len(end)
                .map_err(|e| self.origin.io("truncate", e))?;
        }
        Ok(())
    }

    /// Writes data and header to disk and waits: data first
    /// (`msync`), then the header (`fdatasync`), so that what a power loss
    /// leaves is the array as of this call.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn flush(&self) -> Result<()> {
        self.mapping
            .flush()
            .map_err(|e| self.origin.io("msync", e))?;
        self.file
            .sync_data()
            .map_err(|e| self.origin.io("fdatasync", e))
    }

    /// Trims the file and the mapping, flushes and closes, reporting errors. The
    /// file is then exactly `np.save`'s bytes for the array (when the
    /// header kept numpy's length), which `npy-append-array` can open.
    ///
    /// # Errors
    /// As for [`shrink_to_fit`](Growable::shrink_to_fit) and [`flush`](Growable::flush).
    pub fn close(mut self) -> Result<()> {
        self.shrink_to_fit()?;
        self.flush()?;
        self.closed = true;
        Ok(())
    }

    /// Grows to `rows` (more than now): writes the new rows to the file
    /// (`data`, or zeros over whatever the file held there), then shows them
    /// in the view, then announces them in the header. Data first, header
    /// last; every check before the first write.
    fn set_rows(&mut self, rows: usize, data: Option<&[u8]>) -> Result<()> {
        let mut shape = self.shape.clone();
        shape[self.axis.index()] = rows;
        let header = self.header_for(&shape)?;
        self.ensure_capacity(rows, self.planned_capacity(rows)?)?;
        let (start, end) = (self.data_end(self.rows())?, self.data_end(rows)?);
        let path = self.origin.path.clone().unwrap_or_default();
        // Past the limit, a write would be killed by SIGXFSZ.
        crate::sys::check_file_size_limit(&path, end)?;
        match data {
            // `pwrite` extends the file and allocates the blocks it writes,
            // or fails: a full disk is an error, not a later SIGBUS.
            Some(bytes) => write_all_at(&self.file, bytes, start)
                .map_err(|e| self.origin.io("write rows", e))?,
            None => self.write_zeros(&path, start, end)?,
        }
        self.written_back = self.written_back.min(start);
        if end - self.written_back >= WRITEBACK_BATCH {
            crate::sys::start_writeback(&self.file, self.written_back, end - self.written_back);
            self.written_back = end;
        }
        let old_shape = self.shape.clone();
        if let Err(err) = self.show(shape.clone()) {
            self.show(old_shape)?;
            return Err(err);
        }
        if let Some(header) = header {
            if let Err(err) = self.write_at_start(&header) {
                // The header still announces the old length: show that.
                self.show(old_shape)?;
                return Err(err);
            }
        }
        self.shape = shape;
        Ok(())
    }

    /// Re-views the mapping as `shape`.
    fn show(&mut self, shape: D) -> Result<()> {
        self.mapping
            .set_shape(self.origin.order.stride_shape(shape))
    }

    /// Zeros in `start..end` of the file: bytes it already holds there
    /// (rows cut by `truncate`, trailing bytes) are overwritten, the rest is
    /// added by extending the file, its blocks reserved.
    fn write_zeros(&self, path: &Path, start: u64, end: u64) -> Result<()> {
        let file_len = self
            .file
            .metadata()
            .map_err(|e| self.origin.io("stat", e))?
            .len();
        let zeros = vec![0u8; (end.min(file_len).saturating_sub(start)).min(1 << 20) as usize];
        let mut at = start;
        while at < end.min(file_len) {
            let n = zeros.len().min((end.min(file_len) - at) as usize);
            write_all_at(&self.file, &zeros[..n], at)
                .map_err(|e| self.origin.io("write rows", e))?;
            at += n as u64;
        }
        grow(&self.file, path, file_len, start, end, true)
    }

    /// The capacity to extend to when `rows` are needed, by the growth policy.
    fn planned_capacity(&self, rows: usize) -> Result<usize> {
        if rows <= self.capacity {
            return Ok(self.capacity);
        }
        let planned = match self.growth {
            Growth::Double => {
                let floor = (64 << 10) / self.row_bytes.max(1);
                rows.saturating_mul(2).max(floor)
            }
            Growth::Rows(step) => rows.div_ceil(step.max(1)).saturating_mul(step.max(1)),
        };
        // Never plan past what the address space or a file offset holds.
        let fits = |capacity: usize| self.data_end(capacity).is_ok();
        Ok(if fits(planned) { planned } else { rows })
    }

    /// Extends the file and the mapping to `capacity` rows if `needed` rows
    /// do not fit now.
    fn ensure_capacity(&mut self, needed: usize, capacity: usize) -> Result<()> {
        if needed <= self.capacity {
            return Ok(());
        }
        // The mapping grows ahead; the file grows only as rows are written.
        self.remap(capacity.max(needed))
    }

    /// Replaces the mapping with one of `capacity` rows, the view unchanged.
    #[allow(unsafe_code)]
    fn remap(&mut self, capacity: usize) -> Result<()> {
        let nbytes = usize::try_from(self.data_end(capacity)? - self.origin.offset)
            .map_err(|_| self.overflow())?;
        let path = self.origin.path.clone().unwrap_or_default();
        // Let go of the old mapping first: one mapping of the file at a time.
        let placeholder = WriteMapping::empty(
            self.origin.order.stride_shape(D::zeros(self.shape.ndim())),
            Sharing::Shared,
        )?;
        let old = std::mem::replace(&mut self.mapping, placeholder);
        old.flush_async().map_err(|e| self.origin.io("msync", e))?;
        drop(old);
        // SAFETY: the caller of the `unsafe fn` that opened this guard
        // promised the mapping contract for its file for as long as the
        // guard lives, and this mapping is part of the guard. Nothing
        // touches the pages past the end of the file: the view covers only
        // rows inside the file (`set_rows` writes or extends the file before
        // the view shows them; `shrink_to_fit` remaps before it trims), a
        // `Growable`'s prefetch helper is stopped for good, and `msync`
        // faults no page in.
        self.mapping = unsafe {
            crate::engine::map_with_capacity(
                &self.file,
                &path,
                self.origin.offset,
                nbytes,
                self.origin.order.stride_shape(self.shape.clone()),
            )
        }?;
        self.capacity = capacity;
        Ok(())
    }

    /// The header announcing `shape`, or `None` for a raw file.
    fn header_for(&self, shape: &D) -> Result<Option<Vec<u8>>> {
        let Some(NpyLayout {
            descr,
            fortran_order,
            version,
            header_len,
        }) = &self.origin.npy
        else {
            return Ok(None);
        };
        let header_len = *header_len as usize;
        match NpyHeader::format_to_length(
            descr,
            *fortran_order,
            shape.slice(),
            *version,
            header_len,
        ) {
            Some(header) => Ok(Some(header)),
            None => Err(Error::HeaderFull {
                path: self.origin.path.clone().unwrap_or_default(),
                header_len,
                needed: NpyHeader::format(descr, *fortran_order, shape.slice()).len(),
            }),
        }
    }

    fn write_header(&self, shape: &D) -> Result<()> {
        match self.header_for(shape)? {
            Some(header) => self.write_at_start(&header),
            None => Ok(()),
        }
    }

    fn write_at_start(&self, bytes: &[u8]) -> Result<()> {
        write_all_at(&self.file, bytes, 0).map_err(|e| self.origin.io("write .npy header", e))
    }

    /// Where the data of `rows` rows ends in the file, checked.
    fn data_end(&self, rows: usize) -> Result<u64> {
        let mut shape = self.shape.clone();
        shape[self.axis.index()] = rows;
        Ok(byte_extent::<A>(shape.slice(), self.origin.offset)?.1)
    }

    fn overflow(&self) -> Error {
        Error::SizeOverflow {
            shape: self.shape.slice().to_vec(),
            element_size: size_of::<A>(),
            offset: self.origin.offset,
        }
    }
}

#[cfg(unix)]
fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(not(unix))]
fn write_all_at(mut file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

impl<A: Element, D: Dimension> Drop for Growable<A, D> {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // Best effort, as for every guard: `close` reports errors. The tail
        // is cut without a remap: the mapping past the array is never
        // touched again and is unmapped right after this.
        self.mapping.stop_background();
        let _ = self.mapping.flush();
        if let Ok(end) = self.data_end(self.rows()) {
            let _ = self.file.set_len(end);
        }
    }
}

impl<A: Element, D: Dimension> Deref for Growable<A, D> {
    type Target = ArrayRef<A, D>;

    fn deref(&self) -> &ArrayRef<A, D> {
        self.mapping.array_ref()
    }
}

impl<A: Element, D: Dimension> DerefMut for Growable<A, D> {
    fn deref_mut(&mut self) -> &mut ArrayRef<A, D> {
        self.mapping.array_mut()
    }
}

impl<A: Element, D: Dimension> fmt::Debug for Growable<A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Growable")
            .field("path", &self.origin.path)
            .field("dtype", &crate::element::type_name::<A>())
            .field("shape", &self.shape.slice())
            .field("capacity", &self.capacity)
            .field("order", &self.origin.order)
            .finish()
    }
}
