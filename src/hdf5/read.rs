//! Copying reads: what needs no decompression but cannot map (the other
//! byte order, misaligned data, compact datasets, a region across chunks)
//! read with positioned reads into an owned array. Safe: nothing is mapped.

use std::collections::HashMap;
use std::ops::Range;

use ndarray::{ArrayD, ArrayViewD, IxDyn, SliceInfoElem};

use crate::any::{with_element_type, AnyArray};
use crate::buffer::read_elements;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::hdf5::chunk_index::Stored;
use crate::hdf5::dataset::{Hdf5Dataset, Hdf5Layout};
use crate::hdf5::file::Hdf5File;
use crate::npy::dtype::Match;

/// Where a block's bytes come from.
pub(crate) enum Bytes<'a> {
    File(&'a std::fs::File),
    Slice(&'a [u8]),
}

impl Bytes<'_> {
    fn read(&self, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
        match self {
            Bytes::File(file) => crate::sys::read_exact_at(file, buf, at),
            Bytes::Slice(bytes) => crate::hdf5::bytes::Source::read_at(*bytes, at, buf),
        }
    }
}

/// The byte swaps `A` needs, from the dataset's type.
pub(crate) fn swaps_for<A: Element>(dataset: &Hdf5Dataset) -> Result<Vec<(usize, usize)>> {
    Ok(match dataset.match_element::<A>()? {
        Match::Native => Vec::new(),
        Match::Swapped { at } => at,
    })
}

/// Checks `region` against `shape`, or fills it with the whole shape.
pub(crate) fn check_region(
    dataset: &Hdf5Dataset,
    region: Option<&[Range<usize>]>,
) -> Result<Vec<Range<usize>>> {
    let shape = dataset.shape();
    let Some(region) = region else {
        return Ok(shape.iter().map(|&n| 0..n).collect());
    };
    if region.len() != shape.len()
        || region
            .iter()
            .zip(shape)
            .any(|(r, &n)| r.start > r.end || r.end > n)
    {
        return Err(Error::InvalidShape {
            shape: shape.to_vec(),
            reason: format!(
                "the region {region:?} is not inside the dataset {:?} of shape {shape:?}",
                dataset.name()
            ),
        });
    }
    Ok(region.to_vec())
}

/// Reads the box `origin + shape` of a C-order block of `block` elements
/// stored at `at`, in C order, swapping bytes by `swaps`.
pub(crate) fn read_box<A: Element>(
    bytes: &Bytes<'_>,
    at: u64,
    block: &[usize],
    origin: &[usize],
    shape: &[usize],
    swaps: &[(usize, usize)],
    path: &std::path::Path,
) -> Result<Vec<A>> {
    let count: usize = shape.iter().product();
    let size = std::mem::size_of::<A>();
    let mut out: Vec<A> = Vec::new();
    out.try_reserve_exact(count)
        .map_err(|_| Error::OutOfMemory {
            path: Some(path.to_path_buf()),
            bytes: count.saturating_mul(size),
        })?;
    if count == 0 {
        return Ok(out);
    }
    let rank = block.len();
    // The trailing axes the box covers whole merge into one run with the
    // first axis it does not.
    let mut whole = 0;
    while whole < rank
        && shape[rank - 1 - whole] == block[rank - 1 - whole]
        && origin[rank - 1 - whole] == 0
    {
        whole += 1;
    }
    let lead = rank.saturating_sub(whole + 1);
    let run: usize = shape[lead..].iter().product();
    let strides: Vec<usize> = (0..rank).map(|a| block[a + 1..].iter().product()).collect();
    let mut index = vec![0usize; lead];
    let mut buf = vec![0u8; run * size];
    loop {
        let element: usize = (0..rank)
            .map(|a| (origin[a] + if a < lead { index[a] } else { 0 }) * strides[a])
            .sum();
        bytes
            .read(at + (element * size) as u64, &mut buf)
            .map_err(|e| Error::io("read HDF5 data", path, e))?;
        let elements = read_elements::<A>(&mut &buf[..], run, swaps).map_err(|e| {
            crate::npy::io::fill_error::<A>(
                e,
                path,
                at,
                buf.len(),
                crate::error::FileTooShortRemedy::None,
            )
        })?;
        out.extend_from_slice(&elements);
        // The next index of the leading axes, in C order.
        let mut axis = lead;
        loop {
            if axis == 0 {
                return Ok(out);
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

/// The slice of `out` (covering `region`) that the box `start..end` is.
pub(crate) fn place(region: &[Range<usize>], start: &[usize], end: &[usize]) -> Vec<SliceInfoElem> {
    region
        .iter()
        .zip(start.iter().zip(end))
        .map(|(r, (s, e))| SliceInfoElem::Slice {
            start: (s - r.start) as isize,
            end: Some((e - r.start) as isize),
            step: 1,
        })
        .collect()
}

/// The chunks (grid index ranges) a region touches.
pub(crate) fn chunk_span(region: &[Range<usize>], chunk: &[usize]) -> Vec<Range<usize>> {
    region
        .iter()
        .zip(chunk)
        .map(|(r, c)| r.start / c..r.end.div_ceil(*c))
        .collect()
}

/// Calls `f` with each grid index in `span`, in C order.
pub(crate) fn for_each_index(
    span: &[Range<usize>],
    mut f: impl FnMut(&[usize]) -> Result<()>,
) -> Result<()> {
    if span.iter().any(|r| r.is_empty()) {
        return Ok(());
    }
    let mut index: Vec<usize> = span.iter().map(|r| r.start).collect();
    loop {
        f(&index)?;
        let mut axis = span.len();
        loop {
            if axis == 0 {
                return Ok(());
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < span[axis].end {
                break;
            }
            index[axis] = span[axis].start;
        }
    }
}

/// The fill value as an `A`, checked (zeros where none is defined).
pub(crate) fn fill_element<A: Element>(
    dataset: &Hdf5Dataset,
    swaps: &[(usize, usize)],
    path: &std::path::Path,
) -> Result<A> {
    let size = std::mem::size_of::<A>();
    let bytes = match dataset.fill_value() {
        Some(bytes) if bytes.len() == size => bytes.to_vec(),
        _ => vec![0; size],
    };
    let mut one = read_elements::<A>(&mut &bytes[..], 1, swaps).map_err(|e| {
        crate::npy::io::fill_error::<A>(e, path, 0, size, crate::error::FileTooShortRemedy::None)
    })?;
    one.pop().ok_or(Error::InvalidShape {
        shape: vec![1],
        reason: "the fill value is empty".into(),
    })
}

/// `count` copies of `fill`, allocated fallibly.
pub(crate) fn filled<A: Element>(count: usize, fill: A, path: &std::path::Path) -> Result<Vec<A>> {
    let mut values = Vec::new();
    values
        .try_reserve_exact(count)
        .map_err(|_| Error::OutOfMemory {
            path: Some(path.to_path_buf()),
            bytes: count.saturating_mul(std::mem::size_of::<A>()),
        })?;
    values.resize(count, fill);
    Ok(values)
}

/// Reads `region` of a chunked dataset from `bytes` through its chunk table.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_chunked<A: Element>(
    bytes: &Bytes<'_>,
    dataset: &Hdf5Dataset,
    table: &HashMap<u64, Stored>,
    region: &[Range<usize>],
    swaps: &[(usize, usize)],
    path: &std::path::Path,
    base: u64,
) -> Result<ArrayD<A>> {
    let chunk = dataset.chunk_shape().unwrap_or_default().to_vec();
    let shape = dataset.shape().to_vec();
    let counts: Vec<usize> = shape
        .iter()
        .zip(&chunk)
        .map(|(n, c)| n.div_ceil(*c))
        .collect();
    let fill = fill_element::<A>(dataset, swaps, path)?;
    let region_shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
    let elements = filled(region_shape.iter().product(), fill, path)?;
    let mut out = ArrayD::from_shape_vec(IxDyn(&region_shape), elements).map_err(|_| {
        Error::InvalidShape {
            shape: region_shape.clone(),
            reason: "the region does not fill its shape".into(),
        }
    })?;
    let chunk_bytes = chunk.iter().product::<usize>() * std::mem::size_of::<A>();
    for_each_index(&chunk_span(region, &chunk), |index| {
        let linear = index
            .iter()
            .zip(&counts)
            .fold(0u64, |at, (i, n)| at * *n as u64 + *i as u64);
        let Some(stored) = table.get(&linear) else {
            return Ok(());
        };
        if stored.size != chunk_bytes as u64 {
            return Err(Error::Hdf5Metadata {
                path: Some(path.to_path_buf()),
                reason: format!("the chunk at {index:?} of {:?} stores {} bytes; an unfiltered chunk of {chunk:?} holds {chunk_bytes}", dataset.name(), stored.size),
            });
        }
        let start: Vec<usize> = index
            .iter()
            .zip(&chunk)
            .zip(region)
            .map(|((i, c), r)| (i * c).max(r.start))
            .collect();
        let end: Vec<usize> = index
            .iter()
            .zip(&chunk)
            .zip(region)
            .map(|((i, c), r)| ((i + 1) * c).min(r.end))
            .collect();
        let within: Vec<usize> = start
            .iter()
            .zip(index.iter().zip(&chunk))
            .map(|(s, (i, c))| s - i * c)
            .collect();
        let box_shape: Vec<usize> = start.iter().zip(&end).map(|(s, e)| e - s).collect();
        let values = read_box::<A>(
            bytes,
            stored.address + base,
            &chunk,
            &within,
            &box_shape,
            swaps,
            path,
        )?;
        let view = ArrayViewD::from_shape(IxDyn(&box_shape), &values).map_err(|_| {
            Error::InvalidShape {
                shape: box_shape.clone(),
                reason: "a chunk's box does not fill its shape".into(),
            }
        })?;
        out.slice_mut(place(region, &start, &end).as_slice())
            .assign(&view);
        Ok(())
    })?;
    Ok(out)
}

impl Hdf5File {
    /// Reads the dataset at `path` whole into an owned array:
    /// `dset[...]`. Safe: nothing is mapped. Reads what cannot map but
    /// needs no decoding: the other byte order (swapped), misaligned data,
    /// compact datasets, chunked ones (absent chunks as the fill value),
    /// and a contiguous dataset never written (the fill value, as h5py
    /// gives it).
    ///
    /// # Errors
    /// [`Error::Hdf5Unsupported`] for filtered, external and virtual
    /// datasets and unsupported types; [`Error::DtypeMismatch`];
    /// [`Error::OutOfMemory`] (the allocation is fallible);
    /// [`Error::InvalidValue`] for a `bool` byte other than 0 or 1.
    pub fn read<A: Element>(&self, path: &str) -> Result<ArrayD<A>> {
        self.read_part::<A>(path, None)
    }

    /// Reads `region` (one range per axis) of the dataset at `path`:
    /// `dset[a:b, c:d]`; only the chunks it touches are read.
    ///
    /// # Errors
    /// As for [`read`](Self::read); [`Error::InvalidShape`] for a region
    /// outside the dataset.
    pub fn read_region<A: Element>(
        &self,
        path: &str,
        region: &[Range<usize>],
    ) -> Result<ArrayD<A>> {
        self.read_part::<A>(path, Some(region))
    }

    /// [`read`](Self::read) with the element type the metadata gives.
    ///
    /// # Errors
    /// As for [`read`](Self::read); [`Error::UnsupportedDtype`] for strings
    /// and compounds (read those typed).
    pub fn read_any(&self, path: &str) -> Result<AnyArray> {
        self.read_part_any(path, None)
    }

    /// [`read_region`](Self::read_region) with the element type the
    /// metadata gives.
    ///
    /// # Errors
    /// As for [`read_any`](Self::read_any) and [`read_region`](Self::read_region).
    pub fn read_region_any(&self, path: &str, region: &[Range<usize>]) -> Result<AnyArray> {
        self.read_part_any(path, Some(region))
    }

    fn read_part_any(&self, path: &str, region: Option<&[Range<usize>]>) -> Result<AnyArray> {
        let scalar = self.scalar_dtype(path)?;
        let native = scalar.to_native();
        with_element_type!(native, T => self.read_part::<T>(path, region).map(AnyArray::from), else Err(Error::UnsupportedDtype { descr: scalar.descr() }))
    }

    fn read_part<A: Element>(
        &self,
        path: &str,
        region: Option<&[Range<usize>]>,
    ) -> Result<ArrayD<A>> {
        let dataset = self.dataset(path)?;
        let swaps = swaps_for::<A>(&dataset)?;
        if self.writer_active() {
            return Err(self.writer_refusal(path, self.superblock_flags()));
        }
        let region = check_region(&dataset, region)?;
        let region_shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        let shaped = |values: Vec<A>| {
            ArrayD::from_shape_vec(IxDyn(&region_shape), values).map_err(|_| Error::InvalidShape {
                shape: region_shape.clone(),
                reason: "the data does not fill the region".into(),
            })
        };
        // Contiguous and compact data are one C-order block: in the file, or
        // in the object header.
        let (block, at) = match dataset.layout() {
            Hdf5Layout::Contiguous {
                address: Some(address),
                size,
            } => {
                let needed = (dataset.len() as u64).saturating_mul(std::mem::size_of::<A>() as u64);
                if *size < needed
                    || address
                        .checked_add(needed)
                        .is_none_or(|end| end > self.len())
                {
                    return Err(Error::Hdf5Metadata {
                        path: Some(self.path().to_path_buf()),
                        reason: format!("the dataset {path:?} needs {needed} bytes from byte {address}; its layout stores {size} and the file has {}", self.len()),
                    });
                }
                (Bytes::File(self.file()), *address)
            }
            Hdf5Layout::Contiguous { address: None, .. } => {
                let fill = fill_element::<A>(&dataset, &swaps, self.path())?;
                return shaped(filled(region_shape.iter().product(), fill, self.path())?);
            }
            Hdf5Layout::Compact => {
                let bytes = dataset.compact.as_deref().unwrap_or_default();
                let needed = dataset.len().saturating_mul(std::mem::size_of::<A>());
                if bytes.len() < needed {
                    return Err(Error::Hdf5Metadata {
                        path: Some(self.path().to_path_buf()),
                        reason: format!(
                            "the compact dataset {path:?} holds {} bytes; its shape needs {needed}",
                            bytes.len()
                        ),
                    });
                }
                (Bytes::Slice(bytes), 0)
            }
            Hdf5Layout::Chunked { .. } => {
                dataset.mappable().map_err(|e| self.located(e))?;
                let table = self
                    .with_resolver(|r| dataset.chunk_table(r, Some(self.path())))?
                    .unwrap_or_default();
                for stored in table.values() {
                    if stored
                        .address
                        .checked_add(stored.size)
                        .and_then(|e| e.checked_add(dataset.base))
                        .is_none_or(|end| end > self.len())
                    {
                        return Err(Error::Hdf5Metadata {
                            path: Some(self.path().to_path_buf()),
                            reason: format!("a chunk of {path:?} at byte {} ({} bytes) ends past the end of the file ({} bytes)", stored.address + dataset.base, stored.size, self.len()),
                        });
                    }
                }
                return read_chunked::<A>(
                    &Bytes::File(self.file()),
                    &dataset,
                    &table,
                    &region,
                    &swaps,
                    self.path(),
                    dataset.base,
                );
            }
            _ => {
                return Err(self.located(dataset.mappable().err().unwrap_or_else(|| {
                    dataset.refusal(
                        "its layout cannot be read".into(),
                        "read it with h5py".into(),
                    )
                })))
            }
        };
        let origin: Vec<usize> = region.iter().map(|r| r.start).collect();
        shaped(read_box::<A>(
            &block,
            at,
            dataset.shape(),
            &origin,
            &region_shape,
            &swaps,
            self.path(),
        )?)
    }
}
