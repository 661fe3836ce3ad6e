//! The builder of new Zarr arrays: what `zarr.create_array(...,
//! compressors=None)` takes, with zarr-python's defaults where it has them.

use std::path::Path;

use serde_json::{Map, Value};

use crate::element::{type_name, DType, Element};
use crate::error::{Error, Result};
use crate::layout::Order;
use crate::settings::MemmapOptions;
use crate::zarr::array::ZarrArray;
use crate::zarr::fill::FillValue;
use crate::zarr::metadata::{
    ChunkCodecs, KeyEncoding, Sharding, ZarrFormat, ZarrMetadata, MAX_RANK,
};

/// A new Zarr array: shape, chunks, element type, and the options
/// zarr-python's `create_array` takes; [`create`](Self::create) makes the
/// directory and returns the array open for writing, and
/// [`ZarrArray::finish`] writes its metadata last.
///
/// Written as zarr-python writes it, so that zarr-python, Dask and xarray
/// open it without a warning: Zarr v3 (v2 on request), the `bytes` codec
/// (no compression), `dimension_names` always (`dim_0`, `dim_1`... unless
/// given: xarray needs them), chunks that are all fill value left out.
///
/// ```
/// use ndarray_memmap::{Order, ZarrArray, ZarrArrayBuilder};
/// let dir = tempfile::tempdir()?;
/// let z = ZarrArrayBuilder::new::<f32>(&[100, 60], &[32, 32])
///     .fill_value(f32::NAN)
///     .dimension_names(["y", "x"])
///     .attribute("units", "kelvin")
///     .order(Order::Fortran) // the transpose codec: chunks stored column-major
///     .create(dir.path().join("t.zarr"))?;
/// z.write_region(&[0, 0], &ndarray::Array2::<f32>::ones((100, 60)))?;
/// z.finish()?;
/// let z = ZarrArray::open(dir.path().join("t.zarr"))?;
/// assert_eq!(z.metadata().dimension_names(), Some(&[Some("y".into()), Some("x".into())][..]));
/// assert_eq!(z.read::<f32>()?.sum(), 6000.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ZarrArrayBuilder {
    shape: Vec<usize>,
    chunk_shape: Vec<usize>,
    dtype: Result<DType, String>,
    fill: Option<(Vec<u8>, &'static str)>,
    order: Order,
    format: ZarrFormat,
    separator: Option<char>,
    checksum: bool,
    dimension_names: Option<Vec<Option<String>>>,
    attributes: Map<String, Value>,
    write_empty_chunks: bool,
    shards: Option<Vec<usize>>,
    options: MemmapOptions,
}

impl ZarrArrayBuilder {
    /// An array of `A` of `shape`, in chunks of `chunk_shape`.
    pub fn new<A: Element>(shape: &[usize], chunk_shape: &[usize]) -> Self {
        let dtype = crate::npy::dtype::descr_of::<A>()
            .map_err(|e| e.to_string())
            .and_then(|descr| {
                descr.parse::<DType>().map_err(|_| {
                    format!(
                        "{} (descr {descr:?}) has no Zarr data type",
                        type_name::<A>()
                    )
                })
            });
        Self::with_dtype_result(dtype, shape, chunk_shape)
    }

    /// An array of the element type `dtype` (chosen at run time).
    pub fn with_dtype(dtype: DType, shape: &[usize], chunk_shape: &[usize]) -> Self {
        Self::with_dtype_result(Ok(dtype), shape, chunk_shape)
    }

    fn with_dtype_result(
        dtype: Result<DType, String>,
        shape: &[usize],
        chunk_shape: &[usize],
    ) -> Self {
        ZarrArrayBuilder {
            shape: shape.to_vec(),
            chunk_shape: chunk_shape.to_vec(),
            dtype,
            fill: None,
            order: Order::C,
            format: ZarrFormat::V3,
            separator: None,
            checksum: false,
            dimension_names: None,
            attributes: Map::new(),
            write_empty_chunks: false,
            shards: None,
            options: MemmapOptions::new(),
        }
    }

    /// The fill value: what absent chunks hold, and what pads edge chunks.
    /// Default 0 (`false`, `0.0`), as in zarr-python.
    pub fn fill_value<A: Element>(mut self, value: A) -> Self {
        self.fill = Some((bytemuck::bytes_of(&value).to_vec(), type_name::<A>()));
        self
    }

    /// The chunks' memory order: C (default), or Fortran (stored through
    /// the `transpose` codec in v3, `order: "F"` in v2).
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Zarr v3 (default) or v2.
    pub fn format(mut self, format: ZarrFormat) -> Self {
        self.format = format;
        self
    }

    /// The chunk key separator: `/` (v3's default: `c/0/1`) or `.` (v2's
    /// default: `0.1`).
    pub fn separator(mut self, separator: char) -> Self {
        self.separator = Some(separator);
        self
    }

    /// A CRC-32C after each chunk's data (the `crc32c` codec, v3 only).
    pub fn checksum(mut self, checksum: bool) -> Self {
        self.checksum = checksum;
        self
    }

    /// The names of the dimensions (xarray's variable dimensions).
    pub fn dimension_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.dimension_names = Some(names.into_iter().map(|n| Some(n.into())).collect());
        self
    }

    /// Sets one attribute (any JSON value: numbers, strings, lists, objects).
    pub fn attribute(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.attributes.insert(name.to_owned(), value.into());
        self
    }

    /// Keeps chunks that are all fill value as files (zarr-python's
    /// `write_empty_chunks=True`); by default they are left out.
    pub fn write_empty_chunks(mut self, keep: bool) -> Self {
        self.write_empty_chunks = keep;
        self
    }

    /// Stores the chunks in shards of `shard_shape` (a multiple of the
    /// chunk shape along every axis; v3 only): one file per shard, an index
    /// at its end with a CRC-32C, and every inner chunk at a page-aligned
    /// offset so that it maps. Fewer files for file systems that limit
    /// them; each write rewrites the shards it touches whole.
    ///
    /// Dask's writes into sharded arrays lose data upstream when Dask's
    /// blocks are smaller than a shard (zarr-python #3682, dask#12583):
    /// write with Dask's chunks equal to the shards, or unsharded.
    pub fn shards(mut self, shard_shape: &[usize]) -> Self {
        self.shards = Some(shard_shape.to_vec());
        self
    }

    /// Options for the chunk maps ([`ZarrArray::new_chunk`]): locking,
    /// populate, access hints.
    pub fn map_options(mut self, options: &MemmapOptions) -> Self {
        self.options = options.clone();
        self
    }

    /// The metadata this builder describes, checked.
    pub fn metadata(&self) -> Result<ZarrMetadata> {
        let invalid = |reason: String| Error::ZarrMetadata { path: None, reason };
        let dtype = self.dtype.clone().map_err(invalid)?;
        // `DType`'s fields are public: a kind and size no element type has
        // (a 3-byte integer) must not reach the metadata.
        let known = dtype.descr().parse::<DType>().ok();
        if known.map(|d| (d.kind, d.size)) != Some((dtype.kind, dtype.size)) {
            return Err(Error::UnsupportedDtype {
                descr: dtype.descr(),
            });
        }
        let rank = self.shape.len();
        if self.chunk_shape.len() != rank || rank > MAX_RANK {
            return Err(invalid(format!(
                "chunk shape {:?} must have one length per axis of shape {:?} (at most {MAX_RANK})",
                self.chunk_shape, self.shape
            )));
        }
        if self.chunk_shape.contains(&0) {
            return Err(invalid(format!(
                "chunk shape {:?} must have lengths of at least 1",
                self.chunk_shape
            )));
        }
        let fill = match &self.fill {
            None => FillValue::from_bytes(vec![0; dtype.size]),
            Some((bytes, name)) if bytes.len() == dtype.size => {
                let _ = name;
                FillValue::from_bytes(bytes.clone())
            }
            Some((_, name)) => {
                return Err(Error::DtypeMismatch {
                    expected: dtype.descr(),
                    found: format!("a fill value of type {name}"),
                    shape: self.shape.clone(),
                })
            }
        };
        if self.checksum && self.format == ZarrFormat::V2 {
            return Err(invalid(
                "Zarr v2 has no crc32c codec; use v3 for checksums".to_owned(),
            ));
        }
        let separator = self.separator.unwrap_or(match self.format {
            ZarrFormat::V3 => '/',
            ZarrFormat::V2 => '.',
        });
        if separator != '/' && separator != '.' {
            return Err(invalid(format!(
                "the chunk key separator must be '/' or '.', found {separator:?}"
            )));
        }
        let order = match self.order {
            Order::Fortran => (0..rank).rev().collect(),
            Order::C => (0..rank).collect(),
        };
        if let Some(names) = &self.dimension_names {
            if names.len() != rank {
                return Err(invalid(format!(
                    "{} dimension names given for {rank} dimensions",
                    names.len()
                )));
            }
        }
        let codecs = ChunkCodecs {
            order,
            checksum: self.checksum,
        };
        let (grid_shape, sharding) = match &self.shards {
            None => (self.chunk_shape.clone(), None),
            Some(_) if self.format == ZarrFormat::V2 => {
                return Err(invalid("Zarr v2 has no shards; use v3 for them".to_owned()))
            }
            Some(shards) => {
                let fits = shards.len() == rank
                    && shards
                        .iter()
                        .zip(&self.chunk_shape)
                        .all(|(&s, &c)| s >= c && s % c == 0);
                if !fits {
                    return Err(invalid(format!(
                        "shard shape {shards:?} must be a multiple of the chunk shape {:?} along every axis",
                        self.chunk_shape
                    )));
                }
                let sharding = Sharding {
                    inner_shape: self.chunk_shape.clone(),
                    inner: codecs.clone(),
                    index_checksum: true,
                    index_at_start: false,
                };
                (shards.clone(), Some(sharding))
            }
        };
        let names = self
            .dimension_names
            .clone()
            .unwrap_or_else(|| (0..rank).map(|i| Some(format!("dim_{i}"))).collect());
        Ok(ZarrMetadata {
            format: self.format,
            shape: self.shape.clone(),
            chunk_shape: grid_shape,
            dtype,
            fill,
            keys: KeyEncoding {
                prefix_c: self.format == ZarrFormat::V3,
                separator,
            },
            codecs,
            sharding,
            attributes: self.attributes.clone(),
            dimension_names: Some(names),
        })
    }

    /// Makes the array's directory (which must not exist, or be empty)
    /// and returns the array open for writing. Nothing is visible to
    /// readers until [`ZarrArray::finish`] writes the metadata.
    ///
    /// # Errors
    /// [`Error::ZarrMetadata`] for an inconsistent description or a
    /// directory that is not empty, [`Error::DtypeMismatch`] for a fill
    /// value of another type, and [`Error::Io`].
    pub fn create(&self, dir: impl AsRef<Path>) -> Result<ZarrArray> {
        let meta = self.metadata()?;
        let dir = dir.as_ref();
        let dir = std::path::absolute(dir).map_err(|e| Error::io("resolve path", dir, e))?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        let mut entries =
            std::fs::read_dir(&dir).map_err(|e| Error::io("list directory", &dir, e))?;
        if entries.next().is_some() {
            return Err(Error::ZarrMetadata {
                path: Some(dir.clone()),
                reason: "the directory is not empty; create a new array in a new or empty directory (remove the old one first to replace it)".to_owned(),
            });
        }
        let meta_path = dir.join(match self.format {
            ZarrFormat::V3 => "zarr.json",
            ZarrFormat::V2 => ".zarray",
        });
        let mut array = ZarrArray::from_metadata(dir, meta_path, meta, self.options.clone())?;
        array.writable = true;
        array.unpublished = true;
        array.write_empty_chunks = self.write_empty_chunks;
        Ok(array)
    }
}
