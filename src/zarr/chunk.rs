//! One chunk of a Zarr array as a view: mapped in place, copied, or the
//! fill value; and the writable chunk, committed by rename.

use std::path::PathBuf;

use ndarray::{ArrayViewD, ArrayViewMutD, IxDyn, Slice};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::guard::{Memmap, MemmapMut};
use crate::settings::{MemmapOptions, Populate};
use crate::views::{empty_view, fill_view};
use crate::zarr::array::{next_index, ZarrArray};

/// Where a chunk's elements come from, as a stored block of dimension `D`.
pub(crate) enum ChunkData<A: Element, D: ndarray::Dimension = IxDyn> {
    /// The chunk file's bytes, mapped in place.
    Mapped(Memmap<A, D>),
    /// A copy: big-endian data, or an inner chunk not aligned for `A`.
    Copied(ndarray::Array<A, D>),
    /// The store has nothing for this chunk: every element is this value.
    Fill(A),
}

impl<A: Element> ChunkData<A, ndarray::Ix1> {
    /// The element at `offset` of a stored block held flat (C order over
    /// the stored axes): element access without building a view.
    #[inline]
    pub(crate) fn element(&self, offset: usize) -> Option<A> {
        match self {
            ChunkData::Mapped(guard) => guard.get(offset).copied(),
            ChunkData::Copied(array) => array.get(offset).copied(),
            ChunkData::Fill(value) => Some(*value),
        }
    }
}

/// One chunk of a [`ZarrArray`]: a view of its elements, clipped to the
/// array's edge (edge chunks are stored full size, padded with the fill
/// value), in the array's axis order whatever the `transpose` codec stored.
///
/// ```
/// use ndarray_memmap::{ZarrArray, ZarrArrayBuilder};
/// let dir = tempfile::tempdir()?;
/// let z = ZarrArrayBuilder::new::<i32>(&[3, 3], &[2, 2]).fill_value(-1i32).create(dir.path())?;
/// z.write_chunk(&[0, 0], &ndarray::array![[1, 2], [3, 4]].into_dyn())?;
/// z.finish()?;
/// let z = ZarrArray::open(dir.path())?;
/// // SAFETY: nothing else writes the chunk files meanwhile.
/// let stored = unsafe { z.chunk::<i32>(&[0, 0]) }?;
/// assert!(stored.is_mapped());
/// let absent = unsafe { z.chunk::<i32>(&[1, 1]) }?; // no file: the fill value
/// assert!(absent.is_fill());
/// assert_eq!((absent.origin(), absent.view().shape()), (&[2, 2][..], &[1, 1][..]));
/// assert_eq!(absent.view().sum(), -1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ZarrChunk<A: Element> {
    index: Vec<usize>,
    origin: Vec<usize>,
    clip: Vec<usize>,
    /// Turns the stored block's axes into the array's.
    inverse: Vec<usize>,
    data: ChunkData<A>,
}

impl<A: Element> ZarrChunk<A> {
    pub(crate) fn new(
        index: Vec<usize>,
        origin: Vec<usize>,
        clip: Vec<usize>,
        inverse: Vec<usize>,
        data: ChunkData<A>,
    ) -> Self {
        ZarrChunk {
            index,
            origin,
            clip,
            inverse,
            data,
        }
    }

    /// The chunk's elements inside the array: shape `min(chunk, edge)`.
    pub fn view(&self) -> ArrayViewD<'_, A> {
        match &self.data {
            ChunkData::Mapped(guard) => as_array_axes(guard.view(), &self.inverse, &self.clip),
            ChunkData::Copied(array) => as_array_axes(array.view(), &self.inverse, &self.clip),
            ChunkData::Fill(value) => fill_view(value, &self.clip),
        }
    }

    /// The chunk's grid index.
    pub fn index(&self) -> &[usize] {
        &self.index
    }

    /// The array index of the chunk's first element.
    pub fn origin(&self) -> &[usize] {
        &self.origin
    }

    /// Whether the elements are the chunk file's bytes, mapped in place.
    pub fn is_mapped(&self) -> bool {
        matches!(self.data, ChunkData::Mapped(_))
    }

    /// Whether the store has no bytes for this chunk, so that every
    /// element is the fill value.
    pub fn is_fill(&self) -> bool {
        matches!(self.data, ChunkData::Fill(_))
    }
}

/// An empty view, for the one case `from_shape` could refuse (a clipped
/// shape whose element count overflows, which a checked chunk never has).
/// A stored block as the chunk's view: its axes put back in the array's
/// order (`inverse` undoes the `transpose` codec), clipped at the edge.
pub(crate) fn as_array_axes<'v, A>(
    stored: ArrayViewD<'v, A>,
    inverse: &[usize],
    clip: &[usize],
) -> ArrayViewD<'v, A> {
    let mut view = stored.permuted_axes(IxDyn(inverse));
    view.slice_each_axis_inplace(|axis| Slice::from(0..clip[axis.axis.index()]));
    view
}

/// The chunks of a [`ZarrArray`] in C order of the grid
/// ([`ZarrArray::chunks`]): one mapped at a time, each dropped (and
/// unmapped) when the caller lets it go.
pub struct ZarrChunks<'a, A: Element> {
    array: &'a ZarrArray,
    /// The grid's first and last index, the box `next_index` walks.
    first: Vec<usize>,
    last: Vec<usize>,
    next: Option<Vec<usize>>,
    /// The chunk maps' options: the array's, populating unless told not to.
    options: MemmapOptions,
    _element: std::marker::PhantomData<A>,
}

impl<'a, A: Element> ZarrChunks<'a, A> {
    pub(crate) fn new(array: &'a ZarrArray, grid: Vec<usize>) -> Self {
        let next = (!grid.contains(&0)).then(|| vec![0; grid.len()]);
        let mut options = array.options.clone();
        if options.populate == Populate::OnAccess {
            options.populate(Populate::AtOpen);
        }
        ZarrChunks {
            array,
            first: vec![0; grid.len()],
            last: grid.iter().map(|n| n.saturating_sub(1)).collect(),
            next,
            options,
            _element: std::marker::PhantomData,
        }
    }

    /// Whether each chunk's pages are faulted in when it is mapped, in one
    /// call (`Populate::AtOpen`), rather than one fault per few pages as
    /// the scan touches them: on by default, since a scan reads every page
    /// (measured about 10% faster on hot files). A chunk read in part
    /// only is cheaper with `populate(false)`.
    pub fn populate(mut self, populate: bool) -> Self {
        let wanted = if populate {
            Populate::AtOpen
        } else {
            Populate::OnAccess
        };
        if self.options.populate != Populate::Background {
            self.options.populate(wanted);
        }
        self
    }
}

impl<A: Element> Iterator for ZarrChunks<'_, A> {
    type Item = Result<ZarrChunk<A>>;

    #[allow(unsafe_code)]
    fn next(&mut self) -> Option<Self::Item> {
        let index = self.next.take()?;
        let mut following = index.clone();
        if next_index(&mut following, &self.first, &self.last) {
            self.next = Some(following);
        }
        // SAFETY: the caller of `ZarrArray::chunks` promised the contract
        // for every chunk file of the array.
        Some(unsafe { self.array.chunk_with::<A>(&index, &self.options) })
    }
}

/// A writable chunk of a [`ZarrArray`]: a chunk file mapped in place
/// ([`ZarrArray::chunk_mut`], mode `r+`), or a new chunk file under a
/// temporary name ([`ZarrArray::new_chunk`], mode `w+`) that
/// [`close`](Self::close) renames into place. A new chunk dropped without
/// `close` is discarded: no half-written chunk ever has its final name.
pub struct ZarrChunkMut<A: Element> {
    pub(crate) index: Vec<usize>,
    pub(crate) origin: Vec<usize>,
    pub(crate) clip: Vec<usize>,
    pub(crate) inverse: Vec<usize>,
    pub(crate) guard: Option<MemmapMut<A, IxDyn>>,
    /// For a new chunk: its temporary and final paths, and what `close`
    /// needs to decide whether it is all fill.
    pub(crate) pending: Option<PendingChunk>,
}

pub(crate) struct PendingChunk {
    pub(crate) temp: PathBuf,
    pub(crate) target: PathBuf,
    pub(crate) fill: Vec<u8>,
    pub(crate) keep_fill_chunks: bool,
    pub(crate) checksum: bool,
}

impl<A: Element> ZarrChunkMut<A> {
    /// The chunk's elements inside the array, writable.
    pub fn view_mut(&mut self) -> ArrayViewMutD<'_, A> {
        let clip = self.clip.clone();
        let inverse = IxDyn(&self.inverse);
        match self.guard.as_mut() {
            Some(guard) => {
                let mut view = guard.view_mut().permuted_axes(inverse);
                view.slice_each_axis_inplace(|axis| Slice::from(0..clip[axis.axis.index()]));
                view
            }
            None => ndarray::ArrayViewMut1::from(&mut [][..]).into_dyn(),
        }
    }

    /// The chunk's elements inside the array.
    pub fn view(&self) -> ArrayViewD<'_, A> {
        match self.guard.as_ref() {
            Some(guard) => as_array_axes(guard.view(), &self.inverse, &self.clip),
            None => empty_view(),
        }
    }

    /// The chunk's grid index.
    pub fn index(&self) -> &[usize] {
        &self.index
    }

    /// The array index of the chunk's first element.
    pub fn origin(&self) -> &[usize] {
        &self.origin
    }

    /// Flushes the chunk to disk; a new chunk is then renamed to its key
    /// (or, if every element is the fill value and the array leaves such
    /// chunks out, removed along with any older file of that key, as
    /// zarr-python does).
    ///
    /// # Errors
    /// [`Error::Io`] if flushing, syncing or renaming fails; the
    /// temporary file is removed.
    pub fn close(mut self) -> Result<()> {
        self.commit()
    }

    fn commit(&mut self) -> Result<()> {
        let Some(guard) = self.guard.take() else {
            return Ok(());
        };
        let pending = self.pending.take();
        let bytes: &[u8] = match guard.as_slice_memory_order() {
            Some(elements) => bytemuck::cast_slice(elements),
            None => &[],
        };
        let all_fill = pending.as_ref().is_some_and(|p| {
            !p.keep_fill_chunks
                && bytes
                    .chunks_exact(p.fill.len().max(1))
                    .all(|e| e == p.fill.as_slice())
        });
        let crc = pending
            .as_ref()
            .filter(|p| p.checksum)
            .map(|_| crate::zarr::crc32c::crc32c(bytes));
        let closed = guard.close();
        let Some(p) = pending else {
            return closed;
        };
        let finish = closed.and_then(|()| {
            if all_fill {
                std::fs::remove_file(&p.temp)
                    .map_err(|e| Error::io("remove all-fill chunk", &p.temp, e))?;
                return match std::fs::remove_file(&p.target) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(Error::io("remove chunk", &p.target, e))
                    }
                    _ => Ok(()),
                };
            }
            if let Some(crc) = crc {
                crate::zarr::write::append_checksum(&p.temp, crc)?;
            }
            crate::zarr::write::sync_and_rename(&p.temp, &p.target)
        });
        if finish.is_err() {
            let _ = std::fs::remove_file(&p.temp);
        }
        finish
    }
}

impl<A: Element> Drop for ZarrChunkMut<A> {
    fn drop(&mut self) {
        match self.pending.take() {
            // Not closed: the new chunk is abandoned, never published.
            Some(p) => {
                drop(self.guard.take());
                let _ = std::fs::remove_file(&p.temp);
            }
            // In place: the guard's own drop flushes.
            None => drop(self.guard.take()),
        }
    }
}
