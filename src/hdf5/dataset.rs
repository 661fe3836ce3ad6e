//! What a dataset is, as the metadata says: [`Hdf5Dataset`], and whether
//! (and why not) it maps.

use std::path::Path;

use crate::element::Element;
use crate::error::{Error, Result};
use crate::hdf5::bytes::{Fault, Source};
use crate::hdf5::chunk_index::{self, Grid};
use crate::hdf5::datatype::Datatype;
use crate::hdf5::fault_error;
use crate::hdf5::messages::{Filter, Layout};
use crate::hdf5::resolve::{Description, Resolver};

/// Where a dataset's elements are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hdf5Layout {
    /// One block of the file, in C order; `address` is absolute (what
    /// h5py's `get_offset()` gives), `None` if never written.
    Contiguous {
        /// The block's absolute byte offset.
        address: Option<u64>,
        /// The block's length in bytes.
        size: u64,
    },
    /// Chunks of `chunk_shape` elements, found through `index`.
    Chunked {
        /// Each chunk's shape (edge chunks are stored at full size).
        chunk_shape: Vec<usize>,
        /// The chunk index's kind: `"version-1 B-tree"`, `"single chunk"`,
        /// `"implicit"`, `"fixed array"`, `"extensible array"` or
        /// `"version-2 B-tree"`.
        index: &'static str,
    },
    /// Data inside the object header: moves when the header changes.
    Compact,
    /// Data in other files, listed by an external file list.
    External,
    /// Assembled from other datasets.
    Virtual,
}

/// A chunk as the index lists it: h5py's `StoreInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hdf5ChunkRecord {
    /// The chunk's first element (h5py's `chunk_offset`).
    pub origin: Vec<usize>,
    /// Its absolute byte offset (h5py's `byte_offset`).
    pub address: u64,
    /// Its stored size in bytes.
    pub size: u64,
    /// Bit `i` set: filter `i` of the pipeline was skipped for this chunk.
    pub filter_mask: u32,
}

/// A dataset of an HDF5 file: what it is and where its elements are.
#[derive(Clone, Debug)]
pub struct Hdf5Dataset {
    name: String,
    pub(crate) shape: Vec<usize>,
    null: bool,
    max_shape: Vec<Option<u64>>,
    pub(crate) dtype: std::result::Result<Datatype, (String, String)>,
    layout: Hdf5Layout,
    pub(crate) compact: Option<Vec<u8>>,
    pub(crate) fill: Option<Vec<u8>>,
    filters: Vec<Filter>,
    /// The raw layout, for the chunk index.
    pub(crate) raw: Layout,
    /// The base address (the userblock's size).
    pub(crate) base: u64,
    /// The file, named in refusals.
    file: Option<std::path::PathBuf>,
}

impl Hdf5Dataset {
    pub(crate) fn resolve<S: Source + ?Sized>(
        resolver: &Resolver<'_, S>,
        name: &str,
        file: Option<&Path>,
    ) -> Result<Self> {
        let description = resolver
            .dataset(name)
            .map_err(|f| fault_error(file, name, f))?;
        Self::from_description(name, description, resolver.ctx.superblock.base, file)
    }

    pub(crate) fn from_description(
        name: &str,
        d: Description,
        base: u64,
        file: Option<&Path>,
    ) -> Result<Self> {
        let to_usize = |v: u64| {
            usize::try_from(v).map_err(|_| Error::Hdf5Metadata {
                path: file.map(Path::to_path_buf),
                reason: format!(
                    "the dataset {name:?} has a dimension of {v}, more than this machine's usize"
                ),
            })
        };
        let shape = d
            .shape
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(to_usize)
            .collect::<Result<Vec<_>>>()?;
        // ndarray's limit: a shape's element count fits in isize, and so
        // does a chunk's byte count; beyond it nothing can be viewed.
        let fits = |dims: &[usize], item: usize| {
            dims.iter()
                .try_fold(item, |n, &d| n.checked_mul(d))
                .is_some_and(|n| n <= isize::MAX as usize)
        };
        if !fits(&shape, 1) {
            return Err(Error::Hdf5Metadata {
                path: file.map(Path::to_path_buf),
                reason: format!("the dataset {name:?} has shape {shape:?}, more elements than this machine can address"),
            });
        }
        if let Layout::Chunked {
            chunk,
            element_size,
            ..
        } = &d.layout
        {
            let dims = chunk
                .iter()
                .map(|&c| to_usize(c))
                .collect::<Result<Vec<_>>>()?;
            if !fits(&dims, to_usize(*element_size)?) {
                return Err(Error::Hdf5Metadata {
                    path: file.map(Path::to_path_buf),
                    reason: format!("the dataset {name:?} has chunks of {dims:?} elements of {element_size} bytes, more than this machine can address"),
                });
            }
        }
        let layout = match &d.layout {
            _ if d.external => Hdf5Layout::External,
            Layout::Compact { .. } => Hdf5Layout::Compact,
            Layout::Virtual => Hdf5Layout::Virtual,
            Layout::Contiguous { address, size } => Hdf5Layout::Contiguous {
                address: address.map(|a| a + base),
                size: *size,
            },
            Layout::Chunked { chunk, index, .. } => Hdf5Layout::Chunked {
                chunk_shape: chunk.iter().map(|&c| to_usize(c)).collect::<Result<_>>()?,
                index: index.name(),
            },
        };
        let dtype = match d.dtype {
            Ok(dtype) => Ok(dtype),
            Err(Fault::Unsupported { feature, remedy }) => Err((feature, remedy)),
            Err(other) => return Err(fault_error(file, name, other)),
        };
        Ok(Hdf5Dataset {
            name: name.to_owned(),
            null: d.shape.is_none(),
            shape,
            max_shape: d
                .max_shape
                .iter()
                .map(|&m| (m != u64::MAX).then_some(m))
                .collect(),
            dtype,
            layout,
            compact: d.compact,
            fill: d.fill,
            filters: d.filters,
            raw: d.layout,
            base,
            file: file.map(Path::to_path_buf),
        })
    }

    /// The dataset's path in the file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its shape: `[]` for a scalar, `[0]` for the null dataspace
    /// (h5py's `Empty`).
    pub fn shape(&self) -> &[usize] {
        if self.null {
            &[0]
        } else {
            &self.shape
        }
    }

    /// Whether the dataspace is null (no elements, no shape).
    pub fn is_null(&self) -> bool {
        self.null
    }

    /// Its maximum shape, `None` for an unlimited axis (h5py's `maxshape`).
    pub fn max_shape(&self) -> &[Option<u64>] {
        &self.max_shape
    }

    /// Its element type, with byte order; an error names a type this crate
    /// does not map (variable-length, references, opaque, ...).
    ///
    /// # Errors
    /// [`Error::Hdf5Unsupported`] for such a type.
    pub fn dtype(&self) -> Result<&Hdf5Type> {
        self.dtype.as_ref().map_err(|(feature, remedy)| {
            self.refusal(format!("its element type is {feature}"), remedy.clone())
        })
    }

    /// numpy's descr of the element type (`'<f8'`, `'|S4'`, a record's
    /// list), as `dset.dtype` gives it; `None` for an unsupported type.
    pub fn descr(&self) -> Option<String> {
        self.dtype.as_ref().ok().map(Datatype::descr)
    }

    /// Where the elements are stored.
    pub fn layout(&self) -> &Hdf5Layout {
        &self.layout
    }

    /// The absolute byte offset of a contiguous dataset's data, as h5py's
    /// `dset.id.get_offset()` gives it; `None` otherwise.
    pub fn address(&self) -> Option<u64> {
        match self.layout {
            Hdf5Layout::Contiguous { address, .. } => address,
            _ => None,
        }
    }

    /// The chunk shape of a chunked dataset (h5py's `dset.chunks`).
    pub fn chunk_shape(&self) -> Option<&[usize]> {
        match &self.layout {
            Hdf5Layout::Chunked { chunk_shape, .. } => Some(chunk_shape),
            _ => None,
        }
    }

    /// The fill value's bytes as stored, if one is defined.
    pub fn fill_value(&self) -> Option<&[u8]> {
        self.fill.as_deref()
    }

    /// The filter pipeline, each filter by name and id (`"gzip (deflate) (filter 1)"`).
    pub fn filters(&self) -> Vec<String> {
        self.filters.iter().map(Filter::describe).collect()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        if self.null {
            0
        } else {
            self.shape.iter().product()
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn refusal(&self, reason: String, remedy: String) -> Error {
        Error::Hdf5Unsupported {
            path: self.file.clone(),
            dataset: self.name.clone(),
            reason,
            remedy,
        }
    }

    /// Why the dataset cannot be mapped in place as a whole (contiguous)
    /// or chunk by chunk, if it cannot: `Ok(())` when it maps.
    ///
    /// # Errors
    /// [`Error::Hdf5Unsupported`] naming the reason and the way out.
    pub fn mappable(&self) -> Result<()> {
        self.dtype()?;
        match &self.layout {
            Hdf5Layout::Contiguous { address: None, .. } if !self.is_empty() => Err(self.refusal(
                "it was never written, so no storage is allocated (libhdf5 allocates contiguous data late by default)".into(),
                "write it once (dset[...] = data), or create it with early allocation (h5py.h5p: set_alloc_time(h5d.ALLOC_TIME_EARLY))".into(),
            )),
            Hdf5Layout::Compact => Err(self.refusal(
                "its layout is compact: the data lives in the object header, which moves when the header changes".into(),
                "read it with Hdf5File::read, or recreate it contiguous (h5py's default for datasets over 64 KiB)".into(),
            )),
            Hdf5Layout::External => Err(self.refusal(
                "its data is in external files (an external file list)".into(),
                "map each external file's segment as a raw file (MemmapOptions::offset and open_raw)".into(),
            )),
            Hdf5Layout::Virtual => Err(self.refusal(
                "it is a virtual dataset, assembled from other datasets".into(),
                "map its source datasets instead".into(),
            )),
            _ if !self.filters.is_empty() => Err(self.refusal(
                format!("its chunks are filtered ({})", self.filters().join(", ")),
                "read it with h5py, or recreate it without compression (compression=None) to map it".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The dataset's chunks as the index lists them, in C order of their
    /// origins; empty for a dataset that is not chunked.
    pub(crate) fn chunk_records_with<S: Source + ?Sized>(
        &self,
        resolver: &Resolver<'_, S>,
        file: Option<&Path>,
    ) -> Result<Vec<Hdf5ChunkRecord>> {
        let Some(table) = self.chunk_table(resolver, file)? else {
            return Ok(Vec::new());
        };
        let chunk = self.chunk_shape().unwrap_or_default();
        let counts: Vec<usize> = self
            .shape
            .iter()
            .zip(chunk)
            .map(|(n, c)| n.div_ceil(*c))
            .collect();
        let mut records: Vec<(u64, Hdf5ChunkRecord)> = table
            .into_iter()
            .map(|(linear, stored)| {
                let mut rest = linear;
                let mut origin = vec![0; counts.len()];
                for axis in (0..counts.len()).rev() {
                    let n = counts[axis].max(1) as u64;
                    origin[axis] = (rest % n) as usize * chunk[axis];
                    rest /= n;
                }
                (
                    linear,
                    Hdf5ChunkRecord {
                        origin,
                        address: stored.address + self.base,
                        size: stored.size,
                        filter_mask: stored.mask,
                    },
                )
            })
            .collect();
        records.sort_by_key(|(linear, _)| *linear);
        Ok(records.into_iter().map(|(_, r)| r).collect())
    }

    /// The chunk table: linear grid position to stored bytes.
    pub(crate) fn chunk_table<S: Source + ?Sized>(
        &self,
        resolver: &Resolver<'_, S>,
        file: Option<&Path>,
    ) -> Result<Option<std::collections::HashMap<u64, chunk_index::Stored>>> {
        let Layout::Chunked {
            chunk,
            element_size,
            index,
            address,
        } = &self.raw
        else {
            return Ok(None);
        };
        if self.null {
            return Ok(Some(Default::default()));
        }
        let shape: Vec<u64> = self.shape.iter().map(|&n| n as u64).collect();
        let max_shape: Vec<u64> = self
            .max_shape
            .iter()
            .map(|m| m.unwrap_or(u64::MAX))
            .collect();
        let chunk_bytes = chunk
            .iter()
            .try_fold(*element_size, |n, c| n.checked_mul(*c))
            .ok_or_else(|| Error::Hdf5Metadata {
                path: file.map(Path::to_path_buf),
                reason: format!("chunks of {chunk:?} elements of {element_size} bytes overflow"),
            })?;
        let grid = Grid {
            shape: &shape,
            max_shape: &max_shape,
            chunk,
            chunk_bytes,
        };
        let table = chunk_index::read(&resolver.ctx, index, *address, &grid)
            .map_err(|f| fault_error(file, &self.name, f))?;
        Ok(Some(table))
    }

    /// The element type, checked against `A`: `Ok(None)` when the bytes
    /// are `A`s as stored, `Ok(Some(swaps))` when they are in the other
    /// byte order.
    pub(crate) fn match_element<A: Element>(&self) -> Result<crate::npy::dtype::Match> {
        let dtype = self.dtype()?;
        let header = crate::NpyHeader {
            version: (1, 0),
            descr: dtype.descr(),
            fortran_order: false,
            shape: self.shape().to_vec(),
            data_offset: 0,
        };
        crate::npy::dtype::match_dtype::<A>(&header)
    }
}

use crate::hdf5::datatype::Datatype as Hdf5Type;
