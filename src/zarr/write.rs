//! Writing chunks and metadata: every file is written under a temporary
//! name in its final directory and renamed into place, as zarr-python does,
//! so a reader (or a killed writer) never sees half a chunk under its key.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use std::borrow::Cow;

use ndarray::{ArrayD, ArrayRef, ArrayViewD, Dimension, IxDyn, Slice};

use crate::element::{ByteOrder, Element};
use crate::error::{Error, Result};
use crate::guard::MemmapMut;
use crate::zarr::array::{filled, next_index, ZarrArray};
use crate::zarr::batch::Batch;
use crate::zarr::chunk::{PendingChunk, ZarrChunkMut};
use crate::zarr::crc32c::crc32c;
use crate::zarr::locate::Found;
use crate::zarr::metadata::ZarrFormat;
use crate::zarr::{check_dtype, json};

/// Makes temporary names unique within the process; the process id makes
/// them unique between processes writing one array.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary name beside `target`: `<name>.<pid>-<n>.partial`.
pub(crate) fn temp_path(target: &Path) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!("{name}.{}-{n}.partial", std::process::id()))
}

/// Renames a finished temporary file to its final name.
pub(crate) fn sync_and_rename(temp: &Path, target: &Path) -> Result<()> {
    std::fs::rename(temp, target).map_err(|e| Error::io("rename into place", target, e))
}

/// Writes `bytes` to `target` through a temporary file: written, synced to
/// disk, then renamed. On failure the temporary file is removed.
pub(crate) fn write_atomically(target: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    let temp = temp_path(target);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| Error::io("create temporary file", &temp, e))?;
        file.write_all(bytes)
            .map_err(|e| Error::io("write", &temp, e))?;
        file.sync_data().map_err(|e| Error::io("sync", &temp, e))?;
        sync_and_rename(&temp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Appends the CRC-32C `crc` to the file at `path`, and syncs it.
pub(crate) fn append_checksum(path: &Path, crc: u32) -> Result<()> {
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| Error::io("open for the checksum", path, e))?;
    file.write_all(&crc.to_le_bytes())
        .and_then(|()| file.sync_data())
        .map_err(|e| Error::io("append checksum", path, e))
}

impl ZarrArray {
    /// Refuses writes to an array opened read-only, or to a sharded one.
    pub(crate) fn check_writable(&self) -> Result<()> {
        if !self.writable {
            return Err(Error::ReadOnly {
                path: Some(self.dir.clone()),
            });
        }
        Ok(())
    }

    /// Refuses a writable map where the array is read-only or sharded, or
    /// its bytes are not `A`s in native order (a map cannot swap them).
    fn check_mappable_for_writing<A: Element>(&self) -> Result<()> {
        self.check_writable()?;
        if self.meta.sharding.is_some() {
            return Err(Error::ZarrUnsupported {
                path: Some(self.meta_path.clone()),
                feature: "a writable map of an inner chunk of a shard".to_owned(),
                remedy: "write sharded arrays with write_region or write_chunk, which rewrite each shard whole (inner chunks page-aligned, so that they map)",
            });
        }
        if check_dtype::<A>(&self.meta)? {
            return Err(Error::ByteOrder {
                found: self.meta.dtype.descr(),
                remedy: "write the chunk with ZarrArray::write_chunk, which swaps bytes",
            });
        }
        Ok(())
    }

    /// The writable chunk at grid `index` over `guard`.
    fn writable_chunk<A: Element>(
        &self,
        index: &[usize],
        guard: MemmapMut<A, IxDyn>,
        pending: Option<PendingChunk>,
    ) -> ZarrChunkMut<A> {
        ZarrChunkMut {
            index: index.to_vec(),
            origin: self.origin_of(index),
            clip: self.clip_of(index),
            inverse: self.inverse_order(),
            guard: Some(guard),
            pending,
        }
    }

    fn chunk_path(&self, index: &[usize]) -> PathBuf {
        self.dir.join(self.meta.keys.key(index))
    }

    /// Encodes a full chunk (array axis order, chunk shape) as its stored
    /// bytes: permuted by the `transpose` codec, in the array's byte order,
    /// and the CRC-32C to follow them if the codecs ask for one. The bytes
    /// are the chunk's own, uncopied, where they already are the stored
    /// form. `None` if it is all fill and the array leaves such chunks out.
    pub(crate) fn encode<'v, A: Element>(
        &self,
        chunk: ArrayViewD<'v, A>,
    ) -> Option<(Cow<'v, [u8]>, Option<u32>)> {
        let identity = self
            .meta
            .codecs
            .order
            .iter()
            .enumerate()
            .all(|(i, &a)| i == a);
        let mut bytes: Cow<'v, [u8]> = match chunk.to_slice() {
            Some(elements) if identity => Cow::Borrowed(bytemuck::cast_slice(elements)),
            _ => {
                let stored = chunk
                    .permuted_axes(IxDyn(&self.meta.codecs.order))
                    .as_standard_layout()
                    .into_owned();
                Cow::Owned(bytemuck::cast_slice(stored.as_slice().unwrap_or(&[])).to_vec())
            }
        };
        let fill = &self.meta.fill.bytes;
        // Real data differs from the fill at its first element: cheap.
        if !self.write_empty_chunks
            && bytes
                .chunks_exact(fill.len().max(1))
                .all(|e| e == fill.as_slice())
        {
            return None;
        }
        let dtype = self.meta.dtype;
        if dtype.byte_order != ByteOrder::NATIVE && dtype.byte_order != ByteOrder::NotApplicable {
            for unit in bytes.to_mut().chunks_exact_mut(dtype.swap_unit()) {
                unit.reverse();
            }
        }
        let crc = self.meta.codecs.checksum.then(|| crc32c(&bytes));
        Some((bytes, crc))
    }

    /// The full chunk at grid `index` (array axis order) that a write
    /// updates: the fill value if the write covers it (its old contents do
    /// not matter), else its stored elements (or the fill value if absent).
    pub(crate) fn block_to_update<A: Element>(
        &self,
        index: &[usize],
        covered: bool,
        swapped: bool,
    ) -> Result<ArrayD<A>> {
        let chunk = self.meta.chunk_shape();
        if covered {
            return filled(chunk, self.fill::<A>()?, &self.dir);
        }
        match self.locate(index)? {
            Found::Absent => filled(chunk, self.fill::<A>()?, &self.dir),
            Found::At(located) => Ok(self
                .read_located::<A>(&located, swapped)?
                .permuted_axes(IxDyn(&self.inverse_order()))
                .as_standard_layout()
                .into_owned()),
        }
    }

    /// Writes a full chunk into `batch`, or marks its file for removal if
    /// it is all fill.
    fn store_chunk<A: Element>(
        &self,
        batch: &mut Batch,
        index: &[usize],
        chunk: ArrayViewD<'_, A>,
    ) -> Result<()> {
        let path = self.chunk_path(index);
        match self.encode(chunk) {
            Some((data, crc)) => {
                let trailer = crc.map(u32::to_le_bytes);
                batch.write(&path, &data, trailer.as_ref().map_or(&[][..], |t| &t[..]))
            }
            None => {
                batch.remove(path);
                Ok(())
            }
        }
    }

    /// Writes the chunk at grid `index` from `data`, whose shape is the
    /// chunk's inside the array (clipped at the edge; the padding is
    /// written as the fill value). The file is written under a temporary
    /// name and renamed into place; a chunk that is all fill value is left
    /// out (its old file removed) unless the array keeps such chunks.
    ///
    /// # Errors
    /// [`Error::ReadOnly`] for an array opened with [`open`](Self::open),
    /// [`Error::DtypeMismatch`], [`Error::ZarrChunk`] for an index outside
    /// the grid, [`Error::InvalidShape`] for data of another shape,
    /// [`Error::ZarrUnsupported`] for a sharded array, and [`Error::Io`].
    pub fn write_chunk<A: Element, D: Dimension>(
        &self,
        index: &[usize],
        data: &ArrayRef<A, D>,
    ) -> Result<()> {
        self.check_writable()?;
        check_dtype::<A>(&self.meta)?;
        self.check_index(index)?;
        let clip = self.clip_of(index);
        if data.shape() == clip.as_slice() && self.meta.sharding.is_some() {
            // The shard holding it is rewritten whole.
            return self.write_region(&self.origin_of(index), data);
        }
        if data.shape() != clip.as_slice() {
            return Err(Error::InvalidShape {
                shape: data.shape().to_vec(),
                reason: format!(
                    "chunk {index:?} holds {clip:?} elements inside the array; write data of that shape"
                ),
            });
        }
        let mut chunk = filled(self.meta.chunk_shape(), self.fill::<A>()?, &self.dir)?;
        chunk
            .slice_each_axis_mut(|axis| Slice::from(0..clip[axis.axis.index()]))
            .assign(&data.view().into_dyn());
        let mut batch = Batch::default();
        self.store_chunk(&mut batch, index, chunk.view())?;
        batch.commit()
    }

    /// Writes `data` into the array at `origin` (one index per axis):
    /// zarr-python's `z[a:b, c:d] = data`. Chunks that `data` covers are
    /// written whole; chunks it covers in part are read, updated and
    /// written back. Each chunk file is replaced by rename, so processes
    /// writing *different* chunks never lose each other's data (Dask's
    /// model); two writers of the *same* chunk race, as in zarr-python.
    ///
    /// In a sharded array each shard the region touches is rewritten whole
    /// (as zarr-python does), with every inner chunk at a page-aligned
    /// offset so that it maps; processes must then write distinct *shards*.
    ///
    /// # Errors
    /// As for [`write_chunk`](Self::write_chunk), and
    /// [`Error::InvalidShape`] for a region outside the array.
    pub fn write_region<A: Element, D: Dimension>(
        &self,
        origin: &[usize],
        data: &ArrayRef<A, D>,
    ) -> Result<()> {
        self.check_writable()?;
        let swapped = check_dtype::<A>(&self.meta)?;
        let shape = &self.meta.shape;
        let fits = origin.len() == shape.len()
            && origin
                .iter()
                .zip(data.shape())
                .zip(shape)
                .all(|((&o, &n), &len)| o.checked_add(n).is_some_and(|end| end <= len));
        if !fits {
            return Err(Error::InvalidShape {
                shape: data.shape().to_vec(),
                reason: format!(
                    "data at origin {origin:?} does not fit inside the array's shape {shape:?}"
                ),
            });
        }
        if data.is_empty() {
            return Ok(());
        }
        let data = data.view().into_dyn();
        if self.meta.sharding.is_some() {
            return self.write_region_sharded(origin, &data, swapped);
        }
        let chunk = self.meta.chunk_shape().to_vec();
        let end: Vec<usize> = origin
            .iter()
            .zip(data.shape())
            .map(|(o, n)| o + n)
            .collect();
        let first: Vec<usize> = origin.iter().zip(&chunk).map(|(o, c)| o / c).collect();
        let last: Vec<usize> = end.iter().zip(&chunk).map(|(e, c)| (e - 1) / c).collect();
        let mut batch = Batch::default();
        let mut index = first.clone();
        loop {
            let chunk_origin = self.origin_of(&index);
            let clip = self.clip_of(&index);
            let covered = (0..chunk.len())
                .all(|k| origin[k] <= chunk_origin[k] && chunk_origin[k] + clip[k] <= end[k]);
            let overlap = |k: usize| {
                let start = origin[k].max(chunk_origin[k]);
                let stop = end[k].min(chunk_origin[k] + chunk[k]);
                (start, stop)
            };
            let source = data.slice_each_axis(|axis| {
                let k = axis.axis.index();
                let (start, stop) = overlap(k);
                Slice::from(start - origin[k]..stop - origin[k])
            });
            if covered && clip == chunk {
                // The data holds the whole chunk: encoded straight from it.
                self.store_chunk(&mut batch, &index, source)?;
            } else {
                let mut block = self.block_to_update::<A>(&index, covered, swapped)?;
                block
                    .slice_each_axis_mut(|axis| {
                        let k = axis.axis.index();
                        let (start, stop) = overlap(k);
                        Slice::from(start - chunk_origin[k]..stop - chunk_origin[k])
                    })
                    .assign(&source);
                self.store_chunk(&mut batch, &index, block.view())?;
            }
            if !next_index(&mut index, &first, &last) {
                break;
            }
        }
        batch.commit()?;
        Ok(())
    }

    /// A new chunk file for grid `index`, mapped writable and holding the
    /// fill value: numpy's `w+`, per chunk. It is written under a temporary
    /// name and renamed to its key by [`ZarrChunkMut::close`]; dropped
    /// without `close`, it is discarded.
    ///
    /// # Safety
    /// See [the mapping contract](crate::Memmap#safety): nothing else may
    /// write or truncate the temporary file (it has a fresh name no other
    /// program knows) while the chunk lives.
    ///
    /// # Errors
    /// As for [`write_chunk`](Self::write_chunk), and
    /// [`Error::ByteOrder`] for a big-endian array (write it with
    /// `write_chunk`, which swaps).
    #[allow(unsafe_code)]
    pub unsafe fn new_chunk<A: Element>(&self, index: &[usize]) -> Result<ZarrChunkMut<A>> {
        self.check_mappable_for_writing::<A>()?;
        self.check_index(index)?;
        let target = self.chunk_path(index);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create directory", parent, e))?;
        }
        let temp = temp_path(&target);
        let mut options = self.options.clone();
        options.shape(IxDyn(&self.stored_shape()));
        // SAFETY: forwarded to our caller; the file is new (`w+` creates
        // it) and its name is known only to this process.
        let mut guard = unsafe { options.create_raw::<A, IxDyn>(&temp) }?;
        if !self.meta.fill.is_zero() {
            guard.fill(self.fill::<A>()?);
        }
        let pending = PendingChunk {
            temp,
            target,
            fill: self.meta.fill.bytes.clone(),
            keep_fill_chunks: self.write_empty_chunks,
            checksum: self.meta.codecs.checksum,
        };
        Ok(self.writable_chunk(index, guard, Some(pending)))
    }

    /// Maps the existing chunk file of grid `index` writable, in place
    /// (`r+`): writes go straight to the file.
    ///
    /// Where this is not safe: zarr-python and Dask replace a chunk file by
    /// rename when they write it, so a chunk mapped here while they write
    /// the same chunk goes stale and one side's writes are lost. Use it on
    /// arrays only this program writes.
    ///
    /// # Safety
    /// See [the mapping contract](crate::Memmap#safety), for the chunk file.
    ///
    /// # Errors
    /// As for [`new_chunk`](Self::new_chunk); [`Error::ZarrChunk`] if the
    /// chunk has no file (create it with `new_chunk` or `write_chunk`) or
    /// carries a CRC-32C (which writes in place would falsify).
    #[allow(unsafe_code)]
    pub unsafe fn chunk_mut<A: Element>(&self, index: &[usize]) -> Result<ZarrChunkMut<A>> {
        self.check_mappable_for_writing::<A>()?;
        let key = self.meta.keys.key(index);
        if self.meta.codecs.checksum {
            return Err(self.chunk_error(&key, "the chunk carries a CRC-32C that writes in place would falsify; write it with write_chunk".to_owned()));
        }
        let located = match self.locate(index)? {
            Found::At(located) => located,
            Found::Absent => {
                return Err(self.chunk_error(&key, "the chunk has no file to map (all fill value); create it with new_chunk or write_chunk".to_owned()))
            }
        };
        drop(located);
        let path = self.chunk_path(index);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open chunk", &path, e))?;
        let mut options = self.options.clone();
        options.shape(IxDyn(&self.stored_shape()));
        // SAFETY: forwarded to our caller. The file's length is checked
        // under the lock again; a shorter file is refused, not extended,
        // because `locate` found it full length.
        let guard = unsafe { options.open_raw_file_mut::<A, IxDyn>(&file) }?;
        Ok(self.writable_chunk(index, guard, None))
    }

    /// Writes the metadata of an array made with
    /// [`ZarrArrayBuilder::create`](crate::ZarrArrayBuilder::create), last
    /// and atomically (temporary file, sync, rename): before this, readers
    /// find no array; after it, the array with every chunk written so far.
    /// Rewrites the consolidated metadata of any enclosing group that has
    /// it. Does nothing more for an array opened with
    /// [`open_mut`](Self::open_mut).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn finish(mut self) -> Result<()> {
        if self.unpublished {
            match self.meta.format {
                ZarrFormat::V3 => write_atomically(
                    &self.dir.join("zarr.json"),
                    json::v3_array(&self.meta).as_bytes(),
                )?,
                ZarrFormat::V2 => {
                    write_atomically(
                        &self.dir.join(".zattrs"),
                        json::v2_zattrs(&self.meta).as_bytes(),
                    )?;
                    write_atomically(
                        &self.dir.join(".zarray"),
                        json::v2_zarray(&self.meta).as_bytes(),
                    )?;
                }
            }
            self.unpublished = false;
            crate::zarr::group::reconsolidate_ancestors(&self.dir)?;
        }
        Ok(())
    }
}
