//! A Zarr array directory opened: its metadata, and its chunks mapped in
//! place, read through a copy, or the fill value.

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, Dimension, IxDyn, Slice};

use crate::any::{with_element_type, AnyArray, ViewVisitor};
use crate::buffer::{read_elements, swap_units};
use crate::element::Element;
use crate::engine::Setting;
use crate::error::{Error, FileTooShortRemedy, Result};
use crate::settings::MemmapOptions;
use crate::sys::read_exact_at;
use crate::zarr::chunk::{ChunkData, ZarrChunk, ZarrChunks};
use crate::zarr::crc32c::crc32c;
use crate::zarr::locate::{Found, Located, ShardCache};
use crate::zarr::metadata::{parse_v2, parse_v3, ZarrMetadata};
use crate::zarr::{check_dtype, metadata_error};

/// Metadata documents larger than this are refused before they are read:
/// real ones are kilobytes, and the limit bounds what a damaged store costs.
pub(crate) const MAX_METADATA_BYTES: u64 = 64 << 20;

/// A Zarr array (v2 or v3) opened from its directory: `zarr.open_array`.
///
/// Opening reads only the metadata. Each chunk is then mapped in place
/// ([`chunk`](Self::chunk), [`chunks`](Self::chunks)) when its bytes are
/// the elements as they are (uncompressed, native byte order, aligned),
/// read through a copy when they are not (big-endian, misaligned in a
/// shard), or is the fill value when the store has no bytes for it.
/// [`read`](Self::read) and [`read_region`](Self::read_region) assemble an
/// owned array across chunks, as zarr-python's `z[...]` does.
///
/// For a sharded array, "chunk" means the inner chunk, as in zarr-python's
/// `z.chunks` (and Dask's `from_zarr`): the unit that maps.
///
/// ```
/// use ndarray::{array, s};
/// use ndarray_memmap::{ZarrArray, ZarrArrayBuilder};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.zarr");
/// let data = ndarray::Array2::from_shape_fn((5, 3), |(i, j)| (10 * i + j) as f64);
/// // zarr.create_array(path, shape=(5, 3), chunks=(2, 2), dtype='f8', compressors=None)
/// let z = ZarrArrayBuilder::new::<f64>(&[5, 3], &[2, 2]).create(&path)?;
/// z.write_region(&[0, 0], &data)?;
/// z.finish()?; // the metadata, last
///
/// let z = ZarrArray::open(&path)?;
/// assert_eq!(z.read::<f64>()?, data.clone().into_dyn()); // z[...]
/// // SAFETY: no other program writes or truncates the chunk files meanwhile.
/// let chunk = unsafe { z.chunk::<f64>(&[2, 1]) }?; // c/2/1, mapped in place
/// assert_eq!(chunk.view(), array![[42.0]].into_dyn()); // clipped at the edge
/// assert_eq!(z.read_region::<f64>(&[1..4, 1..3])?, data.slice(s![1..4, 1..3]).into_dyn());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ZarrArray {
    pub(crate) dir: PathBuf,
    pub(crate) meta_path: PathBuf,
    pub(crate) meta: ZarrMetadata,
    pub(crate) options: MemmapOptions,
    /// The bytes of one stored chunk's data (the inner chunk, when sharded).
    pub(crate) chunk_nbytes: usize,
    pub(crate) shard_cache: ShardCache,
    pub(crate) writable: bool,
    /// The metadata is still to be written ([`finish`](Self::finish)).
    pub(crate) unpublished: bool,
    pub(crate) write_empty_chunks: bool,
}

impl std::fmt::Debug for ZarrArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrArray")
            .field("dir", &self.dir)
            .field("meta", &self.meta)
            .field("writable", &self.writable)
            .finish_non_exhaustive()
    }
}

/// Reads a metadata file, or `None` if there is none; at most
/// [`MAX_METADATA_BYTES`].
pub(crate) fn read_metadata_file(path: &Path) -> Result<Option<Vec<u8>>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open Zarr metadata", path, e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read Zarr metadata", path, e))?;
    if bytes.len() as u64 > MAX_METADATA_BYTES {
        return Err(Error::ZarrMetadata {
            path: Some(path.to_path_buf()),
            reason: format!(
                "the document is over {MAX_METADATA_BYTES} bytes; real metadata is kilobytes"
            ),
        });
    }
    Ok(Some(bytes))
}

/// The array's metadata from `dir`: `zarr.json`, else `.zarray` (+ `.zattrs`).
pub(crate) fn load_metadata(dir: &Path) -> Result<(ZarrMetadata, PathBuf)> {
    let v3 = dir.join("zarr.json");
    if let Some(bytes) = read_metadata_file(&v3)? {
        let meta = parse_v3(&bytes).map_err(|e| metadata_error(Some(&v3), e))?;
        return Ok((meta, v3));
    }
    let v2 = dir.join(".zarray");
    if let Some(bytes) = read_metadata_file(&v2)? {
        let attrs = read_metadata_file(&dir.join(".zattrs"))?;
        let meta = parse_v2(&bytes, attrs.as_deref()).map_err(|e| metadata_error(Some(&v2), e))?;
        return Ok((meta, v2));
    }
    let reason = if dir.join(".zgroup").exists() {
        "it is a Zarr v2 group (.zgroup), not an array; open it with ZarrGroup::open".to_owned()
    } else if dir.is_dir() {
        "there is no zarr.json (v3) or .zarray (v2): the directory is not a Zarr array".to_owned()
    } else {
        "no such directory".to_owned()
    };
    Err(Error::ZarrMetadata {
        path: Some(dir.to_path_buf()),
        reason,
    })
}

impl ZarrArray {
    /// Opens the array in `dir` for reading (zarr-python's mode `'r'`),
    /// reading its metadata only.
    ///
    /// # Errors
    /// [`Error::ZarrMetadata`] for missing or invalid metadata,
    /// [`Error::ZarrUnsupported`] for an array that cannot be mapped (a
    /// compressor, a filter: the message names it and the way out), and
    /// [`Error::Io`].
    pub fn open(dir: impl AsRef<Path>) -> Result<ZarrArray> {
        Self::open_with(&MemmapOptions::new(), dir)
    }

    /// [`open`](Self::open) for writing chunks too (mode `'r+'`): see
    /// [`write_region`](Self::write_region), [`write_chunk`](Self::write_chunk),
    /// [`new_chunk`](Self::new_chunk) and [`chunk_mut`](Self::chunk_mut).
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    pub fn open_mut(dir: impl AsRef<Path>) -> Result<ZarrArray> {
        let mut array = Self::open(dir)?;
        array.writable = true;
        Ok(array)
    }

    /// [`open`](Self::open) with options for the chunk maps: locking,
    /// access hints, populate. Offset, shape, order and dtype come from the
    /// metadata and are refused.
    ///
    /// # Errors
    /// As for [`open`](Self::open), and [`Error::SettingNotApplicable`].
    pub fn open_with(options: &MemmapOptions, dir: impl AsRef<Path>) -> Result<ZarrArray> {
        options.refuse_settings(
            "ZarrArray::open_with",
            &[
                Setting::Offset,
                Setting::Shape,
                Setting::Order,
                Setting::Dtype,
            ],
            "the array's metadata gives it",
        )?;
        let dir = dir.as_ref();
        let dir = std::path::absolute(dir).map_err(|e| Error::io("resolve path", dir, e))?;
        let (meta, meta_path) = load_metadata(&dir)?;
        Self::from_metadata(dir, meta_path, meta, options.clone())
    }

    pub(crate) fn from_metadata(
        dir: PathBuf,
        meta_path: PathBuf,
        meta: ZarrMetadata,
        options: MemmapOptions,
    ) -> Result<ZarrArray> {
        let chunk_nbytes = meta
            .stored_chunk_bytes()
            .ok_or_else(|| Error::ZarrMetadata {
                path: Some(meta_path.clone()),
                reason: format!(
                    "a chunk of shape {:?} of {}-byte elements overflows the address space",
                    meta.stored_chunk_shape(),
                    meta.dtype.size
                ),
            })?;
        if meta
            .shape
            .iter()
            .try_fold(1u64, |n, &len| n.checked_mul(len as u64))
            .is_none()
        {
            return Err(Error::ZarrMetadata {
                path: Some(meta_path),
                reason: format!("the shape {:?} has more than 2^64 elements", meta.shape),
            });
        }
        Ok(ZarrArray {
            dir,
            meta_path,
            meta,
            options,
            chunk_nbytes,
            shard_cache: ShardCache::default(),
            writable: false,
            unpublished: false,
            write_empty_chunks: false,
        })
    }

    /// The array's metadata: shape, chunks, dtype, fill value, attributes,
    /// dimension names.
    pub fn metadata(&self) -> &ZarrMetadata {
        &self.meta
    }

    /// The array's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.meta.shape
    }

    /// The shape of a chunk ([`chunk`](Self::chunk)'s unit: the inner chunk
    /// of a sharded array).
    pub fn chunk_shape(&self) -> &[usize] {
        self.meta.chunk_shape()
    }

    /// Chunks along each axis.
    pub fn grid_shape(&self) -> Vec<usize> {
        self.meta.grid_shape()
    }

    /// The element origin of the chunk at grid `index`.
    pub(crate) fn origin_of(&self, index: &[usize]) -> Vec<usize> {
        index
            .iter()
            .zip(self.meta.chunk_shape())
            .map(|(i, c)| i * c)
            .collect()
    }

    /// The part of the chunk at `index` inside the array.
    pub(crate) fn clip_of(&self, index: &[usize]) -> Vec<usize> {
        index
            .iter()
            .zip(self.meta.chunk_shape())
            .zip(&self.meta.shape)
            .map(|((i, c), n)| (*c).min(n - i * c))
            .collect()
    }

    /// The stored block's shape: the chunk's axes in the order the
    /// `transpose` codec stores them.
    pub(crate) fn stored_shape(&self) -> Vec<usize> {
        let chunk = self.meta.chunk_shape();
        self.meta
            .codecs
            .order
            .iter()
            .map(|&axis| chunk[axis])
            .collect()
    }

    /// The permutation that turns the stored block back into the chunk.
    pub(crate) fn inverse_order(&self) -> Vec<usize> {
        let order = &self.meta.codecs.order;
        let mut inverse = vec![0; order.len()];
        for (stored, &axis) in order.iter().enumerate() {
            inverse[axis] = stored;
        }
        inverse
    }

    /// Maps the chunk at grid `index` in place, or reads it through a copy
    /// where it cannot be mapped (big-endian, misaligned inside a shard),
    /// or gives the fill value where the store has no bytes for it. Its
    /// [`view`](ZarrChunk::view) is clipped to the array's edge.
    ///
    /// # Safety
    /// See [the mapping contract](crate::Memmap#safety): the chunk's file
    /// must not be written or truncated by others while the chunk lives.
    /// zarr-python and Dask replace chunk files by rename, which leaves a
    /// live map valid but stale.
    ///
    /// # Errors
    /// [`Error::DtypeMismatch`] if `A` is not the array's type,
    /// [`Error::ZarrChunk`] for an index outside the grid or a damaged
    /// chunk (a file of the wrong length, a bad shard index), and the
    /// errors of [`open_raw`](MemmapOptions::open_raw).
    #[allow(unsafe_code)]
    pub unsafe fn chunk<A: Element>(&self, index: &[usize]) -> Result<ZarrChunk<A>> {
        // SAFETY: forwarded to our caller.
        unsafe { self.chunk_with(index, &self.options) }
    }

    /// [`chunk`](Self::chunk) mapped with `options` (a scan populates).
    ///
    /// # Safety
    /// As for [`chunk`](Self::chunk).
    #[allow(unsafe_code)]
    pub(crate) unsafe fn chunk_with<A: Element>(
        &self,
        index: &[usize],
        options: &MemmapOptions,
    ) -> Result<ZarrChunk<A>> {
        let shape = IxDyn(&self.stored_shape());
        // SAFETY: forwarded to our caller.
        let data = unsafe { self.stored_block::<A, IxDyn>(index, shape, options) }?;
        Ok(ZarrChunk::new(
            index.to_vec(),
            self.origin_of(index),
            self.clip_of(index),
            self.inverse_order(),
            data,
        ))
    }

    /// The stored block of the chunk at grid `index`, as `shape` (the
    /// stored shape, or its length as one axis): mapped where its bytes
    /// are the elements, copied where they are not, or the fill value.
    ///
    /// # Safety
    /// As for [`chunk`](Self::chunk).
    #[allow(unsafe_code)]
    pub(crate) unsafe fn stored_block<A: Element, D: Dimension>(
        &self,
        index: &[usize],
        shape: D,
        options: &MemmapOptions,
    ) -> Result<ChunkData<A, D>> {
        let swapped = check_dtype::<A>(&self.meta)?;
        Ok(match self.locate(index)? {
            Found::Absent => ChunkData::Fill(self.fill::<A>()?),
            Found::At(located) => {
                let aligned = located.offset % std::mem::align_of::<A>() as u64 == 0;
                if swapped || !aligned {
                    let copied = self.read_located::<A>(&located, swapped)?;
                    let reshaped = copied.into_shape_with_order(shape.clone()).map_err(|_| {
                        Error::InvalidShape {
                            shape: shape.slice().to_vec(),
                            reason: "the chunk's element count does not fill its shape".to_owned(),
                        }
                    })?;
                    ChunkData::Copied(reshaped)
                } else {
                    let mut options = options.clone();
                    options.offset(located.offset).shape(shape);
                    // SAFETY: forwarded to our caller; the file's length was
                    // checked, and is checked again under the lock.
                    ChunkData::Mapped(unsafe { options.open_raw_file::<A, D>(&located.file) }?)
                }
            }
        })
    }

    /// Every chunk in C order of the grid, each as [`chunk`](Self::chunk)
    /// gives it, with its origin: a scan that maps one chunk at a time.
    ///
    /// # Safety
    /// As for [`chunk`](Self::chunk), for every chunk file.
    ///
    /// # Errors
    /// As for [`chunk`](Self::chunk), per item; [`Error::DtypeMismatch`] up front.
    #[allow(unsafe_code)]
    pub unsafe fn chunks<A: Element>(&self) -> Result<ZarrChunks<'_, A>> {
        check_dtype::<A>(&self.meta)?;
        Ok(ZarrChunks::new(self, self.grid_shape()))
    }

    /// Runs `visitor` on the chunk at grid `index` with the element type
    /// the metadata gives, mapped (or copied, or the fill value) as
    /// [`chunk`](Self::chunk) gives it: the run-time-typed chunk, which
    /// dispatches once into the typed code.
    ///
    /// ```
    /// use ndarray_memmap::{Scalar, ViewVisitor, ZarrArray, ZarrArrayBuilder};
    /// struct Len;
    /// impl ViewVisitor for Len {
    ///     type Output = usize;
    ///     fn visit<A: Scalar>(self, view: ndarray::ArrayViewD<'_, A>) -> usize {
    ///         view.len()
    ///     }
    /// }
    /// let dir = tempfile::tempdir()?;
    /// let z = ZarrArrayBuilder::new::<u16>(&[5], &[2]).create(dir.path())?;
    /// z.finish()?;
    /// let z = ZarrArray::open(dir.path())?;
    /// // SAFETY: nothing else writes the chunk files meanwhile.
    /// assert_eq!(unsafe { z.visit_chunk(&[2], Len) }?, 1); // the edge chunk, clipped
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Safety
    /// As for [`chunk`](Self::chunk).
    ///
    /// # Errors
    /// As for [`chunk`](Self::chunk); [`Error::UnsupportedDtype`] cannot
    /// occur for metadata this crate parsed.
    #[allow(unsafe_code)]
    pub unsafe fn visit_chunk<V: ViewVisitor>(
        &self,
        index: &[usize],
        visitor: V,
    ) -> Result<V::Output> {
        let dtype = self.meta.dtype.to_native();
        // SAFETY: forwarded to our caller.
        with_element_type!(dtype, T => unsafe { self.chunk::<T>(index) }.map(|chunk| visitor.visit(chunk.view())), else Err(Error::UnsupportedDtype { descr: dtype.descr() }))
    }

    /// The fill value as an `A` (the dtype is checked by the caller).
    pub(crate) fn fill<A: Element>(&self) -> Result<A> {
        self.meta
            .fill
            .element::<A>()
            .ok_or_else(|| Error::InvalidValue {
                path: Some(self.meta_path.clone()),
                element: crate::element::type_name::<A>(),
                index: 0,
                found: self.meta.fill.bytes.clone(),
            })
    }

    /// Reads a located chunk's stored block (in stored axis order),
    /// checking its CRC-32C if it has one.
    pub(crate) fn read_located<A: Element>(
        &self,
        located: &Located,
        swapped: bool,
    ) -> Result<ArrayD<A>> {
        let count = self.chunk_nbytes / std::mem::size_of::<A>().max(1);
        let swaps = if swapped {
            swap_units(self.meta.dtype.size, self.meta.dtype.swap_unit())
        } else {
            Vec::new()
        };
        let fill_error = |e| {
            crate::npy::io::fill_error::<A>(
                e,
                &located.path,
                located.offset,
                located.nbytes,
                FileTooShortRemedy::None,
            )
        };
        let elements = if located.checksum {
            let mut raw = Vec::new();
            raw.try_reserve_exact(located.nbytes + 4)
                .map_err(|_| Error::OutOfMemory {
                    path: Some(located.path.clone()),
                    bytes: located.nbytes + 4,
                })?;
            raw.resize(located.nbytes + 4, 0);
            read_exact_at(&located.file, &mut raw, located.offset)
                .map_err(|e| Error::io("read chunk", &located.path, e))?;
            let (data, trailer) = raw.split_at(located.nbytes);
            let recorded = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
            let computed = crc32c(data);
            if recorded != computed {
                return Err(self.chunk_error(
                    &located.key,
                    format!("its CRC-32C is {computed:#010x}, but the chunk records {recorded:#010x}: the chunk is damaged; rewrite it"),
                ));
            }
            read_elements::<A>(&mut &data[..], count, &swaps).map_err(fill_error)?
        } else {
            let mut reader = ReadAt {
                file: &located.file,
                at: located.offset,
            };
            read_elements::<A>(&mut reader, count, &swaps).map_err(fill_error)?
        };
        ArrayD::from_shape_vec(IxDyn(&self.stored_shape()), elements).map_err(|_| {
            Error::InvalidShape {
                shape: self.stored_shape(),
                reason: "the chunk's element count does not fill its shape".to_owned(),
            }
        })
    }

    /// The chunk at grid `index` as an owned array clipped to the array's
    /// edge, read with ordinary I/O (safe: nothing is mapped).
    ///
    /// # Errors
    /// As for [`chunk`](Self::chunk).
    pub fn read_chunk<A: Element>(&self, index: &[usize]) -> Result<ArrayD<A>> {
        let swapped = check_dtype::<A>(&self.meta)?;
        let clip = self.clip_of(index);
        match self.locate(index)? {
            Found::Absent => filled(&clip, self.fill::<A>()?, &self.dir),
            Found::At(located) => {
                let stored = self.read_located::<A>(&located, swapped)?;
                let view = stored.permuted_axes(IxDyn(&self.inverse_order()));
                let clipped = view.slice_each_axis(|axis| Slice::from(0..clip[axis.axis.index()]));
                Ok(clipped.as_standard_layout().into_owned())
            }
        }
    }

    /// The elements in `region` (one range per axis) as an owned C-order
    /// array, assembled across chunks: zarr-python's `z[a:b, c:d]`. Safe:
    /// chunks are read with ordinary I/O, not mapped.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] for a region outside the array,
    /// [`Error::OutOfMemory`] if the result cannot be allocated (checked
    /// before allocating), and the errors of [`read_chunk`](Self::read_chunk).
    pub fn read_region<A: Element>(&self, region: &[Range<usize>]) -> Result<ArrayD<A>> {
        let swapped = check_dtype::<A>(&self.meta)?;
        self.check_region(region)?;
        let shape: Vec<usize> = region.iter().map(|r| r.end - r.start).collect();
        let mut out = filled(&shape, self.fill::<A>()?, &self.dir)?;
        if shape.contains(&0) {
            return Ok(out);
        }
        let chunk = self.meta.chunk_shape().to_vec();
        let first: Vec<usize> = region
            .iter()
            .zip(&chunk)
            .map(|(r, c)| r.start / c)
            .collect();
        let last: Vec<usize> = region
            .iter()
            .zip(&chunk)
            .map(|(r, c)| (r.end - 1) / c)
            .collect();
        let mut index = first.clone();
        loop {
            if let Found::At(located) = self.locate(&index)? {
                let stored = self.read_located::<A>(&located, swapped)?;
                let block = stored.permuted_axes(IxDyn(&self.inverse_order()));
                let origin = self.origin_of(&index);
                // The overlap of this chunk and the region, in each one's coordinates.
                let source = block.slice_each_axis(|axis| {
                    let k = axis.axis.index();
                    let start = region[k].start.max(origin[k]);
                    let end = region[k].end.min(origin[k] + chunk[k]);
                    Slice::from(start - origin[k]..end - origin[k])
                });
                let mut target = out.slice_each_axis_mut(|axis| {
                    let k = axis.axis.index();
                    let start = region[k].start.max(origin[k]);
                    let end = region[k].end.min(origin[k] + chunk[k]);
                    Slice::from(start - region[k].start..end - region[k].start)
                });
                target.assign(&source);
            }
            if !next_index(&mut index, &first, &last) {
                break;
            }
        }
        Ok(out)
    }

    fn check_region(&self, region: &[Range<usize>]) -> Result<()> {
        let shape = &self.meta.shape;
        let fits = region.len() == shape.len()
            && region
                .iter()
                .zip(shape)
                .all(|(r, &n)| r.start <= r.end && r.end <= n);
        if fits {
            Ok(())
        } else {
            Err(Error::InvalidShape {
                shape: shape.clone(),
                reason: format!(
                    "the region {region:?} is not inside the array (one range per axis, each within its length)"
                ),
            })
        }
    }

    /// The whole array as an owned C-order array: `z[...]`.
    ///
    /// # Errors
    /// As for [`read_region`](Self::read_region).
    pub fn read<A: Element>(&self) -> Result<ArrayD<A>> {
        let region: Vec<Range<usize>> = self.meta.shape.iter().map(|&n| 0..n).collect();
        self.read_region(&region)
    }

    /// [`read`](Self::read) with the element type chosen at run time from
    /// the metadata: dispatches once into the typed code.
    ///
    /// # Errors
    /// As for [`read`](Self::read).
    pub fn read_any(&self) -> Result<AnyArray> {
        let region: Vec<Range<usize>> = self.meta.shape.iter().map(|&n| 0..n).collect();
        self.read_region_any(&region)
    }

    /// [`read_region`](Self::read_region) with the element type chosen at
    /// run time.
    ///
    /// # Errors
    /// As for [`read_region`](Self::read_region).
    pub fn read_region_any(&self, region: &[Range<usize>]) -> Result<AnyArray> {
        let dtype = self.meta.dtype.to_native();
        with_element_type!(dtype, T => self.read_region::<T>(region).map(AnyArray::from), else Err(Error::UnsupportedDtype { descr: dtype.descr() }))
    }
}

/// An array of `shape` with every element `value`, allocated fallibly.
pub(crate) fn filled<A: Element>(shape: &[usize], value: A, path: &Path) -> Result<ArrayD<A>> {
    let count = shape
        .iter()
        .try_fold(1usize, |n, &len| n.checked_mul(len))
        .filter(|&n| {
            n.checked_mul(std::mem::size_of::<A>())
                .is_some_and(|b| b <= isize::MAX as usize)
        });
    let oom = |bytes| Error::OutOfMemory {
        path: Some(path.to_path_buf()),
        bytes,
    };
    let Some(count) = count else {
        return Err(oom(usize::MAX));
    };
    let mut elements = Vec::new();
    elements
        .try_reserve_exact(count)
        .map_err(|_| oom(count * std::mem::size_of::<A>()))?;
    elements.resize(count, value);
    ArrayD::from_shape_vec(IxDyn(shape), elements).map_err(|_| oom(count))
}

/// Steps `index` through the box `first..=last` in C order; `false` when done.
pub(crate) fn next_index(index: &mut [usize], first: &[usize], last: &[usize]) -> bool {
    for axis in (0..index.len()).rev() {
        if index[axis] < last[axis] {
            index[axis] += 1;
            return true;
        }
        index[axis] = first[axis];
    }
    false
}

/// Sequential reads from a position of a file, without moving its cursor.
struct ReadAt<'a> {
    file: &'a File,
    at: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.at)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}
