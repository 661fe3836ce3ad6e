//! The only module that maps files and turns mapped bytes into views.
//!
//! A mapping and the view into it live together in one value, so the view's
//! internal `'static` lifetime never escapes: every view handed out is
//! re-borrowed from `&self` or `&mut self`. Fields are declared helper
//! first, view second, mapping last, so the helper thread stops and the view
//! is dropped before the memory they point into is unmapped.

#![allow(unsafe_code)] // this module is the crate's mapping boundary; each block carries its proof

use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use memmap2::{Mmap, MmapMut, MmapOptions};
use ndarray::{ArrayRef, ArrayView, ArrayViewMut, Dimension, StrideShape};

use crate::advice::Advice;
use crate::buffer::cast_error;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::prefetch::{Prefault, Prefetcher, Touch};

/// How to map: shared read-only, shared writable, or private copy-on-write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sharing {
    Shared,
    CopyOnWrite,
}

/// A read-only mapping and the one view into it.
pub(crate) struct ReadMapping<A: 'static, D> {
    background: Option<Prefetcher>,
    view: ArrayView<'static, A, D>,
    map: Option<Arc<Mmap>>,
    /// Where the view's bytes start in the mapping.
    start: usize,
}

/// A writable mapping (shared or copy-on-write) and the one view into it.
pub(crate) struct WriteMapping<A: 'static, D> {
    background: Option<Prefetcher>,
    view: ArrayViewMut<'static, A, D>,
    map: Option<Arc<MmapMut>>,
    start: usize,
    sharing: Sharing,
}

fn map_options(offset: u64, nbytes: usize, populate: bool) -> MmapOptions {
    let mut options = MmapOptions::new();
    options.offset(offset).len(nbytes);
    if populate {
        options.populate();
    }
    options
}

/// The byte range of a mapping of `map_len` bytes that `shape` elements of
/// `A` starting at byte `start` occupy, checked to lie inside the mapping
/// (the start too, even when no byte is needed).
fn bytes_in_range<A, D: Dimension>(
    shape: &StrideShape<D>,
    map_len: usize,
    start: usize,
) -> Result<Range<usize>> {
    let (nbytes, _) = crate::layout::byte_extent::<A>(shape.raw_dim().slice(), start as u64)?;
    let fits = start
        .checked_add(nbytes)
        .filter(|&end| start <= map_len && end <= map_len);
    match fits {
        Some(end) => Ok(start..end),
        None => Err(Error::InvalidShape {
            shape: shape.raw_dim().slice().to_vec(),
            reason: match map_len.checked_sub(start) {
                Some(available) => format!(
                    "needs {nbytes} bytes from byte {start}, but the mapping is {map_len} bytes long ({available} after byte {start})"
                ),
                None => format!(
                    "starts at byte {start}, past the end of the mapping, which is {map_len} bytes long"
                ),
            },
        }),
    }
}

/// The one place where mapped bytes get the `'static` lifetime: a mutable
/// view of `shape` elements of `A` from byte `start` of `map`.
fn view_of_mapping<A: Element, D: Dimension>(
    map: &mut MmapMut,
    start: usize,
    shape: StrideShape<D>,
    path: Option<&Path>,
    file_offset: u64,
) -> Result<ArrayViewMut<'static, A, D>> {
    let range = bytes_in_range::<A, D>(&shape, map.len(), start)?;
    // Safe, bounds-checked slicing: no pointer arithmetic can leave the mapping.
    let bytes: *mut [u8] = &mut map[range.clone()];
    // SAFETY: only the lifetime is extended; the pointer comes from a
    // bounds-checked slice of the mapping. Its pages stay at the same
    // address until the `MmapMut` is dropped (moving it into an `Arc` does
    // not move them). Every caller stores the view in the `WriteMapping`
    // that owns the mapping, declared before it so the view drops first,
    // lends it out only re-borrowed from `&self`/`&mut self`, and holds no
    // other view of the mapping at the same time (`set_shape` drops the old
    // view before making a new one). `self.map` (and a prefetch helper's
    // clone of the `Arc`) is used only through memmap2's `flush`/`advise`,
    // which pass the raw pointer to the kernel and create no reference to
    // the bytes; populate requests never change the bytes.
    let bytes: &'static mut [u8] = unsafe { &mut *bytes };
    let elements = match A::cast_slice_mut(bytes) {
        Ok(elements) => elements,
        // Re-borrowed from the mapping, safely: the `'static` slice is gone.
        Err(e) => return Err(cast_error::<A>(path, file_offset, &map[range], e)),
    };
    ArrayViewMut::from_shape(shape.clone(), elements).map_err(|e| shape_error(&shape, e))
}

fn shape_error<D: Dimension>(shape: &StrideShape<D>, err: ndarray::ShapeError) -> Error {
    Error::InvalidShape {
        shape: shape.raw_dim().slice().to_vec(),
        reason: err.to_string(),
    }
}

impl<A: Element, D: Dimension> ReadMapping<A, D> {
    /// Maps `nbytes` at `offset` of `file` read-only and views them as `shape`.
    ///
    /// # Safety
    /// The caller upholds the crate's mapping contract (see
    /// [`Memmap`](crate::Memmap#safety)) for the mapped range while the result lives.
    pub(crate) unsafe fn map(
        file: &File,
        path: &Path,
        offset: u64,
        nbytes: usize,
        shape: StrideShape<D>,
        populate: bool,
    ) -> Result<Self> {
        if nbytes == 0 {
            return Self::empty(shape);
        }
        // SAFETY: the caller promises that no one truncates or changes the
        // range while the mapping lives; the range lies inside the file
        // (checked by the caller against the file's length).
        let map = unsafe { map_options(offset, nbytes, populate).map(file) }
            .map_err(|e| Error::io("mmap", path, e))?;
        Self::from_mmap_range(map, 0, shape, Some(path), offset)
    }

    /// A view of no elements, backed by no mapping.
    pub(crate) fn empty(shape: StrideShape<D>) -> Result<Self> {
        let view = ArrayView::from_shape(shape.clone(), &[]).map_err(|e| shape_error(&shape, e))?;
        Ok(ReadMapping {
            background: None,
            view,
            map: None,
            start: 0,
        })
    }

    /// Views `shape` elements starting `start` bytes into an existing mapping.
    /// `file_offset` is only for error messages.
    pub(crate) fn from_mmap_range(
        map: Mmap,
        start: usize,
        shape: StrideShape<D>,
        path: Option<&Path>,
        file_offset: u64,
    ) -> Result<Self> {
        let range = bytes_in_range::<A, D>(&shape, map.len(), start)?;
        // Safe, bounds-checked slicing: no pointer arithmetic can leave the mapping.
        let bytes: *const [u8] = &map[range];
        // SAFETY: only the lifetime is extended; the pointer comes from a
        // bounds-checked slice of the mapping. `Mmap` owns memory that stays
        // valid, at the same address, until the `Mmap` is dropped; moving it
        // (here into an `Arc`) does not move the pages. The slice is stored
        // in `Self` beside the `Arc`, is dropped before it (field order), and
        // is only ever lent out re-borrowed for the lifetime of `&self`, so
        // it never outlives the mapping.
        let bytes: &'static [u8] = unsafe { &*bytes };
        let elements =
            A::cast_slice(bytes).map_err(|e| cast_error::<A>(path, file_offset, bytes, e))?;
        let view =
            ArrayView::from_shape(shape.clone(), elements).map_err(|e| shape_error(&shape, e))?;
        Ok(ReadMapping {
            background: None,
            view,
            map: Some(Arc::new(map)),
            start,
        })
    }

    pub(crate) fn view(&self) -> ArrayView<'_, A, D> {
        self.view.view()
    }

    pub(crate) fn array_ref(&self) -> &ArrayRef<A, D> {
        &self.view
    }

    pub(crate) fn advise(&self, advice: Advice) -> Result<()> {
        match &self.map {
            Some(map) => advise_map(&**map, advice, 0, map.len()),
            None => Ok(()),
        }
    }

    /// Advises `len` bytes at `start` of the view.
    pub(crate) fn advise_range(&self, advice: Advice, start: usize, len: usize) -> Result<()> {
        match &self.map {
            Some(map) => advise_map(&**map, advice, self.start + start, len),
            None => Ok(()),
        }
    }

    /// Starts a helper thread that faults the whole view in, front to back.
    pub(crate) fn populate_in_background(&mut self) {
        let view_bytes = self.in_mapping(0..self.view.len() * size_of::<A>());
        self.background = whole_view_helper(self.map.as_ref(), Touch::Read, view_bytes);
    }

    /// A helper thread for this mapping, with nothing queued.
    pub(crate) fn prefetcher(&self, touch: Touch) -> Option<Prefetcher> {
        Prefetcher::spawn(Arc::clone(self.map.as_ref()?), touch)
    }

    /// Mapping bytes of view bytes `range`.
    pub(crate) fn in_mapping(&self, range: Range<usize>) -> Range<usize> {
        shifted(range, self.start)
    }
}

impl<A: Element, D: Dimension> WriteMapping<A, D> {
    /// Maps `nbytes` at `offset` of `file` writable (shared or private) and
    /// views them as `shape`, checking every element's bytes.
    ///
    /// # Safety
    /// The caller upholds the crate's mapping contract (see
    /// [`Memmap`](crate::Memmap#safety)) for the mapped range while the result lives.
    pub(crate) unsafe fn map(
        file: &File,
        path: &Path,
        offset: u64,
        nbytes: usize,
        shape: StrideShape<D>,
        populate: bool,
        sharing: Sharing,
    ) -> Result<Self> {
        if nbytes == 0 {
            return Self::empty(shape, sharing);
        }
        let options = map_options(offset, nbytes, populate);
        let map = match sharing {
            // SAFETY: as for `ReadMapping::map`; the file was opened for
            // writing by the caller, and the range lies inside the file.
            Sharing::Shared => unsafe { options.map_mut(file) },
            // SAFETY: as above; a private mapping never writes the file.
            Sharing::CopyOnWrite => unsafe { options.map_copy(file) },
        }
        .map_err(|e| Error::io("mmap", path, e))?;
        Self::from_mmap_range(map, 0, shape, sharing, Some(path), offset)
    }

    pub(crate) fn empty(shape: StrideShape<D>, sharing: Sharing) -> Result<Self> {
        let view =
            ArrayViewMut::from_shape(shape.clone(), &mut []).map_err(|e| shape_error(&shape, e))?;
        Ok(WriteMapping {
            background: None,
            view,
            map: None,
            start: 0,
            sharing,
        })
    }

    pub(crate) fn from_mmap_range(
        mut map: MmapMut,
        start: usize,
        shape: StrideShape<D>,
        sharing: Sharing,
        path: Option<&Path>,
        file_offset: u64,
    ) -> Result<Self> {
        let view = view_of_mapping(&mut map, start, shape, path, file_offset)?;
        Ok(WriteMapping {
            background: None,
            view,
            map: Some(Arc::new(map)),
            start,
            sharing,
        })
    }

    /// Views `shape` elements at the same start of the same mapping: an
    /// array that grew or shrank inside the bytes already mapped.
    pub(crate) fn set_shape(&mut self, shape: StrideShape<D>) -> Result<()> {
        self.stop_background();
        // Give up the old view before making the new one over the same bytes.
        let placeholder = ArrayViewMut::from_shape(D::zeros(self.view.ndim()), &mut [])
            .map_err(|e| shape_error(&shape, e))?;
        self.view = placeholder;
        match self.map.as_mut().map(Arc::get_mut) {
            Some(Some(map)) => {
                self.view = view_of_mapping(map, self.start, shape, None, 0)?;
                Ok(())
            }
            // No helper holds the `Arc` once stopped; with no mapping at
            // all, only an empty shape fits.
            _ => {
                self.view = ArrayViewMut::from_shape(shape.clone(), &mut [])
                    .map_err(|e| shape_error(&shape, e))?;
                Ok(())
            }
        }
    }

    pub(crate) fn view(&self) -> ArrayView<'_, A, D> {
        self.view.view()
    }

    pub(crate) fn view_mut(&mut self) -> ArrayViewMut<'_, A, D> {
        self.view.view_mut()
    }

    pub(crate) fn array_ref(&self) -> &ArrayRef<A, D> {
        &self.view
    }

    pub(crate) fn array_mut(&mut self) -> &mut ArrayRef<A, D> {
        &mut self.view
    }

    pub(crate) fn advise(&self, advice: Advice) -> Result<()> {
        match &self.map {
            Some(map) => self.advise_checked(map, advice, 0, map.len()),
            None => Ok(()),
        }
    }

    /// Advises `len` bytes at `start` of the view.
    pub(crate) fn advise_range(&self, advice: Advice, start: usize, len: usize) -> Result<()> {
        match &self.map {
            Some(map) => self.advise_checked(map, advice, self.start + start, len),
            None => Ok(()),
        }
    }

    /// Starts a helper thread that faults the whole view in, front to back:
    /// writable for `Touch::Write` (dirtying every page), else readable.
    pub(crate) fn populate_in_background(&mut self, touch: Touch) {
        let view_bytes = self.in_mapping(0..self.view.len() * size_of::<A>());
        self.background = whole_view_helper(self.map.as_ref(), touch, view_bytes);
    }

    /// A helper thread for this mapping, with nothing queued.
    pub(crate) fn prefetcher(&self, touch: Touch) -> Option<Prefetcher> {
        Prefetcher::spawn(Arc::clone(self.map.as_ref()?), touch)
    }

    /// Mapping bytes of view bytes `range`.
    pub(crate) fn in_mapping(&self, range: Range<usize>) -> Range<usize> {
        shifted(range, self.start)
    }

    fn advise_checked(
        &self,
        map: &MmapMut,
        advice: Advice,
        start: usize,
        len: usize,
    ) -> Result<()> {
        if advice == Advice::DontNeed && self.sharing == Sharing::CopyOnWrite {
            return Err(Error::UnsoundAdvice { advice });
        }
        advise_map(map, advice, start, len)
    }
}

impl<A: Element, D: Dimension> ReadMapping<A, D> {
    /// The same mapping with the view's dimension type changed; the caller
    /// has checked that the rank fits, so ndarray's conversion succeeds.
    pub(crate) fn into_dimensionality<D2: Dimension>(self) -> Result<ReadMapping<A, D2>> {
        let ReadMapping {
            background,
            view,
            map,
            start,
        } = self;
        let shape = view.shape().to_vec();
        // Dropping `map` here on failure cannot free memory the view still
        // names: the helper, if any, holds its own `Arc` of the mapping.
        let view = view
            .into_dimensionality::<D2>()
            .map_err(|e| rank_error(shape, e))?;
        Ok(ReadMapping {
            background,
            view,
            map,
            start,
        })
    }
}

impl<A: Element, D: Dimension> WriteMapping<A, D> {
    /// As [`ReadMapping::into_dimensionality`].
    pub(crate) fn into_dimensionality<D2: Dimension>(self) -> Result<WriteMapping<A, D2>> {
        let WriteMapping {
            background,
            view,
            map,
            start,
            sharing,
        } = self;
        let shape = view.shape().to_vec();
        let view = view
            .into_dimensionality::<D2>()
            .map_err(|e| rank_error(shape, e))?;
        Ok(WriteMapping {
            background,
            view,
            map,
            start,
            sharing,
        })
    }

    /// An empty placeholder of the same rank and sharing.
    pub(crate) fn placeholder(&self) -> Result<Self> {
        Self::empty(D::zeros(self.view.ndim()).into(), self.sharing)
    }
}

fn rank_error(shape: Vec<usize>, err: ndarray::ShapeError) -> Error {
    Error::InvalidShape {
        shape,
        reason: err.to_string(),
    }
}

impl<A: 'static, D> WriteMapping<A, D> {
    /// Stops (and joins) the background helper, if any.
    pub(crate) fn stop_background(&mut self) {
        self.background = None;
    }

    /// Writes dirty pages back to the file and waits (`msync(MS_SYNC)`).
    /// Nothing to do for copy-on-write maps, whose pages never reach the file.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        match (&self.map, self.sharing) {
            (Some(map), Sharing::Shared) => map.flush(),
            _ => Ok(()),
        }
    }

    /// Starts writing dirty pages back and returns (`msync(MS_ASYNC)`).
    pub(crate) fn flush_async(&self) -> std::io::Result<()> {
        match (&self.map, self.sharing) {
            (Some(map), Sharing::Shared) => map.flush_async(),
            _ => Ok(()),
        }
    }
}

/// A helper for `map` (none for an empty array) with `bytes` queued.
fn whole_view_helper<M: Prefault>(
    map: Option<&Arc<M>>,
    touch: Touch,
    bytes: Range<usize>,
) -> Option<Prefetcher> {
    let helper = Prefetcher::spawn(Arc::clone(map?), touch)?;
    helper.request(bytes);
    Some(helper)
}

/// `range` moved `by` bytes up.
fn shifted(range: Range<usize>, by: usize) -> Range<usize> {
    range.start + by..range.end + by
}

/// Applies `advice` to `len` bytes at `start` of a mapping of any kind.
#[cfg(unix)]
fn advise_map<M: std::ops::Deref<Target = [u8]> + Advisable>(
    map: &M,
    advice: Advice,
    start: usize,
    len: usize,
) -> Result<()> {
    let len = len.min(map.len().saturating_sub(start));
    if len == 0 {
        return Ok(());
    }
    let checked = match advice {
        Advice::Normal => memmap2::Advice::Normal,
        Advice::Sequential => memmap2::Advice::Sequential,
        Advice::Random => memmap2::Advice::Random,
        Advice::WillNeed => memmap2::Advice::WillNeed,
        Advice::DontNeed => {
            return map.dont_need(start, len).map_err(|source| Error::Io {
                operation: "madvise",
                path: None,
                cause: source,
            })
        }
    };
    map.advise(checked, start, len).map_err(|source| Error::Io {
        operation: "madvise",
        path: None,
        cause: source,
    })
}

#[cfg(not(unix))]
fn advise_map<M>(_map: &M, _advice: Advice, _start: usize, _len: usize) -> Result<()> {
    // No madvise here: hints are optional by nature, so ignoring them is correct.
    Ok(())
}

/// memmap2's advice calls, shared by its read-only and writable maps.
#[cfg(unix)]
trait Advisable {
    fn advise(&self, advice: memmap2::Advice, start: usize, len: usize) -> std::io::Result<()>;
    fn dont_need(&self, start: usize, len: usize) -> std::io::Result<()>;
}

#[cfg(unix)]
macro_rules! advisable {
    ($($map:ty),*) => {$(
        impl Advisable for $map {
            fn advise(&self, advice: memmap2::Advice, start: usize, len: usize) -> std::io::Result<()> {
                self.advise_range(advice, start, len)
            }

            fn dont_need(&self, start: usize, len: usize) -> std::io::Result<()> {
                // SAFETY: only shared file mappings reach here (copy-on-write
                // maps are refused in `advise_checked`). For those, dropping
                // pages loses nothing: the data lives in the page cache and the
                // file, and the next access reads the same bytes back, so no
                // value visible through a reference changes.
                unsafe { self.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, len) }
            }
        }
    )*};
}

#[cfg(unix)]
advisable!(Mmap, MmapMut);

/// The view construction, checked also under Miri (`.ci/miri`): memmap2's
/// anonymous maps are the one kind of mapping Miri can make, and a
/// copy-on-write `WriteMapping` never calls `msync`, which Miri cannot run.
#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Ix1, Ix2, ShapeBuilder};

    fn anon(len: usize, fill: impl Fn(usize) -> u8) -> MmapMut {
        let mut map = MmapMut::map_anon(len).expect("anonymous map");
        for (i, byte) in map.iter_mut().enumerate() {
            *byte = fill(i);
        }
        map
    }

    fn mapping<A: Element, D: Dimension>(
        map: MmapMut,
        start: usize,
        shape: impl Into<StrideShape<D>>,
    ) -> Result<WriteMapping<A, D>> {
        WriteMapping::from_mmap_range(map, start, shape.into(), Sharing::CopyOnWrite, None, 0)
    }

    #[test]
    fn a_view_exists_exactly_when_it_lies_inside_the_mapping() {
        for start in [0usize, 8, 56, 64, 72, 4096 * 1024, usize::MAX & !7] {
            for len in [0usize, 1, 7, 8] {
                let fits = start <= 64 && start + len * 8 <= 64;
                match mapping::<u64, Ix1>(anon(64, |_| 0), start, len) {
                    Ok(view) => {
                        assert!(fits, "start {start}, len {len}");
                        assert_eq!(view.view().len(), len);
                        assert_eq!(view.in_mapping(0..len * 8), start..start + len * 8);
                    }
                    Err(Error::InvalidShape { .. } | Error::SizeOverflow { .. }) => {
                        assert!(!fits, "start {start}, len {len}")
                    }
                    Err(other) => panic!("start {start}, len {len}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn views_read_and_write_the_mapped_bytes_at_their_offset() {
        let map = anon(64, |i| i as u8);
        let mut mapping = mapping::<u32, Ix2>(map, 16, (2, 3)).unwrap();
        let first = u32::from_ne_bytes([16, 17, 18, 19]);
        assert_eq!(mapping.view()[[0, 0]], first);
        mapping.view_mut()[[1, 2]] = 0xdead_beef;
        assert_eq!(mapping.view()[[1, 2]], 0xdead_beef);
        let expected: Vec<u32> = (0..6u8)
            .map(|k| {
                let b = 16 + 4 * k;
                u32::from_ne_bytes([b, b + 1, b + 2, b + 3])
            })
            .take(5)
            .chain([0xdead_beef])
            .collect();
        assert_eq!(
            mapping.array_ref().iter().copied().collect::<Vec<_>>(),
            expected
        );
    }

    #[test]
    fn fortran_strides_stay_inside_the_mapping() {
        let map = anon(48, |i| i as u8);
        let mut mapping = mapping::<u8, Ix2>(map, 40, (2, 4).f()).unwrap();
        assert_eq!(mapping.view()[[1, 3]], 47);
        assert_eq!(mapping.view()[[1, 0]], 41);
        mapping.view_mut().column_mut(3).fill(9);
        assert_eq!(mapping.view().iter().filter(|&&b| b == 9).count(), 2);
    }

    #[test]
    fn bools_are_checked_and_misaligned_starts_refused() {
        let mapped = mapping::<bool, Ix1>(anon(8, |i| (i == 5) as u8 * 2), 0, 8);
        assert!(
            matches!(mapped, Err(Error::InvalidValue { .. })),
            "{:?}",
            mapped.err()
        );
        let ok = mapping::<bool, Ix1>(anon(8, |i| (i % 2) as u8), 0, 8).unwrap();
        assert_eq!(ok.view().iter().filter(|&&b| b).count(), 4);
        let misaligned = mapping::<u64, Ix1>(anon(64, |_| 0), 4, 1);
        assert!(matches!(misaligned, Err(Error::Misaligned { .. })));
    }

    #[test]
    fn a_view_grows_and_shrinks_inside_its_mapping() {
        let mut mapping = mapping::<u8, Ix1>(anon(64, |i| i as u8), 8, 4).unwrap();
        mapping.view_mut()[3] = 200;
        mapping.set_shape(40.into()).unwrap();
        assert_eq!(mapping.view().len(), 40);
        assert_eq!((mapping.view()[3], mapping.view()[39]), (200, 47));
        // Past the mapping: refused, whatever the old view was.
        assert!(mapping.set_shape(57.into()).is_err());
        mapping.set_shape(2.into()).unwrap();
        assert_eq!(mapping.view().to_vec(), [8, 9]);
        mapping.view_mut()[1] = 7;
        mapping.set_shape(56.into()).unwrap();
        assert_eq!(mapping.view()[1], 7);
    }

    #[test]
    fn an_empty_view_needs_no_mapping() {
        let empty = WriteMapping::<f64, Ix2>::empty((0, 3).into(), Sharing::Shared).unwrap();
        assert_eq!(empty.view().shape(), [0, 3]);
        let read = ReadMapping::<f64, Ix2>::empty((4, 0).into()).unwrap();
        assert_eq!(read.view().shape(), [4, 0]);
    }
}
