//! A chunked dataset mapped once, each chunk a view of that mapping:
//! [`Hdf5Chunks`].

use std::collections::HashMap;
use std::ops::Range;

use ndarray::{ArrayD, ArrayViewD, CowArray, Ix1, IxDyn, Slice};

use crate::buffer::{cast_error, read_elements};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::guard::Memmap;
use crate::hdf5::chunk_index::Stored;
use crate::hdf5::dataset::Hdf5Dataset;
use crate::hdf5::file::Hdf5File;
use crate::hdf5::read::{
    check_region, chunk_span, fill_element, filled, for_each_index, place, swaps_for,
};

/// One chunk of a chunked dataset ([`Hdf5Chunks::chunk`]): a view of the
/// file's mapping where its bytes are the elements, a copy where they are
/// not (the other byte order, misaligned), or the fill value where the
/// chunk was never written. Clipped to the dataset's edge.
pub struct Hdf5Chunk<'a, A: Element> {
    index: Vec<usize>,
    origin: Vec<usize>,
    data: CowArray<'a, A, IxDyn>,
    mapped: bool,
    fill: bool,
}

impl<A: Element> Hdf5Chunk<'_, A> {
    /// The chunk's elements, clipped to the dataset.
    pub fn view(&self) -> ArrayViewD<'_, A> {
        self.data.view()
    }

    /// Its position in the chunk grid.
    pub fn index(&self) -> &[usize] {
        &self.index
    }

    /// Its first element's position in the dataset (h5py's `chunk_offset`).
    pub fn origin(&self) -> &[usize] {
        &self.origin
    }

    /// Whether the view is the mapping itself (not a copy, not the fill).
    pub fn is_mapped(&self) -> bool {
        self.mapped
    }

    /// Whether the chunk was never written: every element the fill value.
    pub fn is_fill(&self) -> bool {
        self.fill
    }
}

/// A chunked, unfiltered dataset with the whole file mapped once
/// read-only ([`Hdf5File::chunks`]): every chunk a view borrowed from that
/// one mapping.
pub struct Hdf5Chunks<A: Element> {
    map: Memmap<u8, Ix1>,
    dataset: Hdf5Dataset,
    table: HashMap<u64, Stored>,
    swaps: Vec<(usize, usize)>,
    fill: A,
    counts: Vec<usize>,
    chunk_bytes: usize,
    path: std::path::PathBuf,
}

impl Hdf5File {
    /// Maps the file once and gives the chunked dataset at `path` chunk by
    /// chunk: what `dset.id.get_chunk_info(i)` and an `np.memmap` per
    /// chunk would give, with the checks that lacks. Every chunk index
    /// libhdf5 writes is read: version-1 B-tree (h5py's default), single
    /// chunk, implicit, fixed array, extensible array, version-2 B-tree.
    ///
    /// # Safety
    /// See [the mapping contract](crate::Memmap#safety): nothing may write
    /// or truncate the file while the chunks live.
    ///
    /// # Errors
    /// [`Error::Hdf5Unsupported`] for filtered datasets (naming the
    /// filters) and datasets that are not chunked;
    /// [`Error::DtypeMismatch`]; [`Error::Hdf5Metadata`] for a damaged
    /// index or a chunk past the end of the file; [`Error::Locked`].
    #[allow(unsafe_code)]
    pub unsafe fn chunks<A: Element>(&self, path: &str) -> Result<Hdf5Chunks<A>> {
        let dataset = self.dataset(path)?;
        dataset.mappable().map_err(|e| self.located(e))?;
        let Some(chunk) = dataset.chunk_shape().map(<[usize]>::to_vec) else {
            return Err(self.located(dataset.refusal(
                "it is not chunked".into(),
                "map it whole with Hdf5File::map".into(),
            )));
        };
        if self.writer_active() {
            return Err(self.writer_refusal(path, self.superblock_flags()));
        }
        let swaps = swaps_for::<A>(&dataset)?;
        let fill = fill_element::<A>(&dataset, &swaps, self.path())?;
        let table = self
            .with_resolver(|r| dataset.chunk_table(r, Some(self.path())))?
            .unwrap_or_default();
        let chunk_bytes = chunk.iter().product::<usize>() * std::mem::size_of::<A>();
        for stored in table.values() {
            let end = stored
                .address
                .checked_add(dataset.base)
                .and_then(|a| a.checked_add(chunk_bytes as u64));
            if stored.size != chunk_bytes as u64 || end.is_none_or(|end| end > self.len()) {
                return Err(Error::Hdf5Metadata {
                    path: Some(self.path().to_path_buf()),
                    reason: format!(
                        "a chunk of {path:?} at byte {} stores {} bytes (an unfiltered chunk of {chunk:?} holds {chunk_bytes}) and must end inside the file ({} bytes)",
                        stored.address + dataset.base,
                        stored.size,
                        self.len()
                    ),
                });
            }
        }
        let file = self.reopen(false)?;
        let mut options = self.options().clone();
        options.shape(self.len() as usize);
        // SAFETY: forwarded to our caller.
        let map = unsafe { options.open_raw_file::<u8, Ix1>(&file) }?;
        self.check_no_writer(&file, path)?;
        let counts = dataset
            .shape()
            .iter()
            .zip(&chunk)
            .map(|(n, c)| n.div_ceil(*c))
            .collect();
        Ok(Hdf5Chunks {
            map,
            dataset,
            table,
            swaps,
            fill,
            counts,
            chunk_bytes,
            path: self.path().to_path_buf(),
        })
    }
}

impl<A: Element> std::fmt::Debug for Hdf5Chunks<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hdf5Chunks")
            .field("dataset", &self.dataset.name())
            .field("grid", &self.counts)
            .field("stored", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl<A: Element> std::fmt::Debug for Hdf5Chunk<'_, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hdf5Chunk")
            .field("index", &self.index)
            .field("origin", &self.origin)
            .field("mapped", &self.mapped)
            .field("fill", &self.fill)
            .finish_non_exhaustive()
    }
}

impl<A: Element> Hdf5Chunks<A> {
    /// The dataset.
    pub fn dataset(&self) -> &Hdf5Dataset {
        &self.dataset
    }

    /// The chunk shape.
    pub fn chunk_shape(&self) -> &[usize] {
        self.dataset.chunk_shape().unwrap_or_default()
    }

    /// Chunks per axis.
    pub fn grid_shape(&self) -> &[usize] {
        &self.counts
    }

    /// The chunk at grid position `index`.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] for an index outside the grid;
    /// [`Error::InvalidValue`] for a `bool` byte other than 0 or 1;
    /// [`Error::OutOfMemory`] if a copy cannot be allocated.
    pub fn chunk(&self, index: &[usize]) -> Result<Hdf5Chunk<'_, A>> {
        if index.len() != self.counts.len() || index.iter().zip(&self.counts).any(|(i, n)| i >= n) {
            return Err(Error::InvalidShape {
                shape: index.to_vec(),
                reason: format!(
                    "the chunk index is outside the grid {:?} of {:?}",
                    self.counts,
                    self.dataset.name()
                ),
            });
        }
        let chunk = self.chunk_shape();
        let origin: Vec<usize> = index.iter().zip(chunk).map(|(i, c)| i * c).collect();
        let clip: Vec<usize> = origin
            .iter()
            .zip(chunk)
            .zip(self.dataset.shape())
            .map(|((o, c), n)| (*c).min(n - o))
            .collect();
        let linear = index
            .iter()
            .zip(&self.counts)
            .fold(0u64, |at, (i, n)| at * *n as u64 + *i as u64);
        let Some(stored) = self.table.get(&linear) else {
            let view = crate::views::fill_view(&self.fill, &clip);
            return Ok(Hdf5Chunk {
                index: index.to_vec(),
                origin,
                data: CowArray::from(view),
                mapped: false,
                fill: true,
            });
        };
        let start = (stored.address + self.dataset.base) as usize;
        let all = self.map.as_slice().unwrap_or_default();
        let bytes = &all[start..start + self.chunk_bytes];
        let aligned = (bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<A>());
        let shape = IxDyn(chunk);
        if self.swaps.is_empty() && aligned {
            let elements = A::cast_slice(bytes)
                .map_err(|e| cast_error::<A>(Some(&self.path), start as u64, bytes, e))?;
            let mut view =
                ArrayViewD::from_shape(shape, elements).map_err(|_| self.shape_error())?;
            view.slice_each_axis_inplace(|axis| Slice::from(0..clip[axis.axis.index()]));
            return Ok(Hdf5Chunk {
                index: index.to_vec(),
                origin,
                data: CowArray::from(view),
                mapped: true,
                fill: false,
            });
        }
        let count = self.chunk_bytes / std::mem::size_of::<A>().max(1);
        let values = read_elements::<A>(&mut &bytes[..], count, &self.swaps).map_err(|e| {
            crate::npy::io::fill_error::<A>(
                e,
                &self.path,
                start as u64,
                bytes.len(),
                crate::error::FileTooShortRemedy::None,
            )
        })?;
        let owned = ArrayD::from_shape_vec(shape, values).map_err(|_| self.shape_error())?;
        let clipped = owned
            .slice_each_axis(|axis| Slice::from(0..clip[axis.axis.index()]))
            .to_owned();
        Ok(Hdf5Chunk {
            index: index.to_vec(),
            origin,
            data: CowArray::from(clipped),
            mapped: false,
            fill: false,
        })
    }

    fn shape_error(&self) -> Error {
        Error::InvalidShape {
            shape: self.chunk_shape().to_vec(),
            reason: "a chunk's bytes do not fill its shape".into(),
        }
    }

    /// Every chunk in C order of the grid.
    pub fn iter(&self) -> impl Iterator<Item = Result<Hdf5Chunk<'_, A>>> + '_ {
        let total: usize = if self.counts.contains(&0) {
            0
        } else {
            self.counts.iter().product()
        };
        (0..total).map(move |mut linear| {
            let mut index = vec![0; self.counts.len()];
            for axis in (0..self.counts.len()).rev() {
                index[axis] = linear % self.counts[axis];
                linear /= self.counts[axis];
            }
            self.chunk(&index)
        })
    }

    /// `region` (one range per axis) assembled across chunks as an owned
    /// array: `dset[a:b, c:d]`.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] for a region outside the dataset; as for
    /// [`chunk`](Self::chunk).
    pub fn read_region(&self, region: &[Range<usize>]) -> Result<ArrayD<A>> {
        let region = check_region(&self.dataset, Some(region))?;
        let shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        let values = filled(shape.iter().product(), self.fill, &self.path)?;
        let mut out =
            ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|_| self.shape_error())?;
        let chunk = self.chunk_shape().to_vec();
        for_each_index(&chunk_span(&region, &chunk), |index| {
            let piece = self.chunk(index)?;
            let start: Vec<usize> = piece
                .origin()
                .iter()
                .zip(&region)
                .map(|(o, r)| (*o).max(r.start))
                .collect();
            let end: Vec<usize> = piece
                .origin()
                .iter()
                .zip(piece.view().shape())
                .zip(&region)
                .map(|((o, n), r)| (o + n).min(r.end))
                .collect();
            let within: Vec<ndarray::SliceInfoElem> = start
                .iter()
                .zip(&end)
                .zip(piece.origin())
                .map(|((s, e), o)| ndarray::SliceInfoElem::Slice {
                    start: (s - o) as isize,
                    end: Some((e - o) as isize),
                    step: 1,
                })
                .collect();
            let view = piece.view();
            out.slice_mut(place(&region, &start, &end).as_slice())
                .assign(&view.slice(within.as_slice()));
            Ok(())
        })?;
        Ok(out)
    }
}
