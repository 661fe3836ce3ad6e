//! Zarr array metadata: v3 `zarr.json` and v2 `.zarray` (+ `.zattrs`),
//! parsed into what the engine needs to find every element. Pure: bytes in,
//! a description or a [`MetadataError`] out; no files, no `unsafe`, and no
//! allocation in proportion to a number the document claims (only to the
//! document's own length).

use serde_json::{Map, Value};

use crate::element::{ByteOrder, DType, Kind};
use crate::zarr::fill::{parse_fill, FillValue};

/// The Zarr format version of an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZarrFormat {
    /// Zarr v2: `.zarray` and `.zattrs`.
    V2,
    /// Zarr v3: `zarr.json`.
    V3,
}

/// Why a metadata document was refused: it is invalid (malformed JSON, a
/// missing or ill-typed field), or valid but uses something that cannot be
/// mapped (a compressor, a filter...).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum MetadataError {
    /// What is wrong, naming the field, what was expected and what was found.
    Invalid(String),
    /// A valid feature this crate does not map, and the way out.
    Unsupported {
        feature: String,
        remedy: &'static str,
    },
}

fn invalid(text: impl Into<String>) -> MetadataError {
    MetadataError::Invalid(text.into())
}

/// The way out of a compressed array, named in every compression refusal.
pub(crate) const UNCOMPRESSED_REMEDY: &str = "write the array uncompressed (compressors=None in \
    zarr-python and da.to_zarr, encoding={name: {\"compressors\": None}} in xarray's to_zarr) to map \
    it; zarr-python, zarrs or tensorstore read it as it is, decoding each chunk";

/// How chunk grid indices become keys (file names under the array).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyEncoding {
    /// v3 `default`: `c` first (`c/0/1`); otherwise v2 style (`0.1`).
    pub(crate) prefix_c: bool,
    /// `/` or `.`.
    pub(crate) separator: char,
}

impl KeyEncoding {
    /// The key of the chunk at grid index `index`.
    pub(crate) fn key(&self, index: &[usize]) -> String {
        let mut key = String::new();
        if self.prefix_c {
            key.push('c');
        }
        for (axis, i) in index.iter().enumerate() {
            if axis > 0 || self.prefix_c {
                key.push(self.separator);
            }
            key.push_str(&i.to_string());
        }
        if key.is_empty() {
            // A 0-d array's one chunk in v2 style.
            key.push('0');
        }
        key
    }
}

/// How one chunk's bytes hold its elements: a C-order block of the chunk
/// with its axes permuted (`transpose`), and an optional CRC-32C trailer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChunkCodecs {
    /// Stored axis `i` is the chunk's axis `order[i]` (identity: C order).
    pub(crate) order: Vec<usize>,
    /// A 4-byte CRC-32C of the data follows it (the `crc32c` codec).
    pub(crate) checksum: bool,
}

/// The `sharding_indexed` codec: each grid chunk is a shard file holding
/// inner chunks and an index of where each is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sharding {
    pub(crate) inner_shape: Vec<usize>,
    pub(crate) inner: ChunkCodecs,
    /// The index is followed by its CRC-32C.
    pub(crate) index_checksum: bool,
    /// The index is at the start of the shard (default: the end).
    pub(crate) index_at_start: bool,
}

/// What a Zarr array's metadata says: shape, chunking, element type, fill
/// value, codecs, attributes and dimension names.
///
/// Parsed from the metadata document alone ([`from_v3`](Self::from_v3),
/// [`from_v2`](Self::from_v2)); [`ZarrArray`](crate::ZarrArray) opens an
/// array directory with it.
///
/// ```
/// use ndarray_memmap::{ZarrFormat, ZarrMetadata};
/// let meta = ZarrMetadata::from_v3(br#"{"zarr_format":3,"node_type":"array","shape":[1000,700],
///     "data_type":"float64","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[256,256]}},
///     "chunk_key_encoding":{"name":"default"},"fill_value":"NaN",
///     "codecs":[{"name":"bytes","configuration":{"endian":"little"}}],"dimension_names":["y","x"]}"#)?;
/// assert_eq!((meta.shape(), meta.chunk_shape(), meta.format()), (&[1000, 700][..], &[256, 256][..], ZarrFormat::V3));
/// assert_eq!(meta.grid_shape(), [4, 3]);
/// assert_eq!(meta.chunk_key(&[3, 2]), "c/3/2");
/// assert!(meta.fill_value::<f64>()?.is_nan());
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ZarrMetadata {
    pub(crate) format: ZarrFormat,
    pub(crate) shape: Vec<usize>,
    /// The regular grid's chunk shape (the shard shape when sharded).
    pub(crate) chunk_shape: Vec<usize>,
    /// With the byte order the `bytes` codec (or the v2 dtype) gives.
    pub(crate) dtype: DType,
    pub(crate) fill: FillValue,
    pub(crate) keys: KeyEncoding,
    /// Codecs of each grid chunk (unsharded), or of each inner chunk.
    pub(crate) codecs: ChunkCodecs,
    pub(crate) sharding: Option<Sharding>,
    pub(crate) attributes: Map<String, Value>,
    pub(crate) dimension_names: Option<Vec<Option<String>>>,
}

/// Dimensions beyond this are refused: ndarray's `IxDyn` handles any rank,
/// but a document claiming millions would cost memory per claimed axis.
pub(crate) const MAX_RANK: usize = 64;

fn field<'a>(doc: &'a Map<String, Value>, name: &str) -> Result<&'a Value, MetadataError> {
    doc.get(name)
        .ok_or_else(|| invalid(format!("the field {name:?} is missing")))
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, MetadataError> {
    value
        .as_object()
        .ok_or_else(|| invalid(format!("{what} must be an object, found {}", brief(value))))
}

fn string<'a>(value: &'a Value, what: &str) -> Result<&'a str, MetadataError> {
    value
        .as_str()
        .ok_or_else(|| invalid(format!("{what} must be a string, found {}", brief(value))))
}

/// A JSON value as a message quotes it: whole when short, cut when long.
pub(crate) fn brief(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// A list of sizes (a shape), each fitting `usize`, at most [`MAX_RANK`] long.
fn sizes(value: &Value, what: &str, positive: bool) -> Result<Vec<usize>, MetadataError> {
    let list = value.as_array().ok_or_else(|| {
        invalid(format!(
            "{what} must be a list of integers, found {}",
            brief(value)
        ))
    })?;
    if list.len() > MAX_RANK {
        return Err(invalid(format!(
            "{what} has {} dimensions; at most {MAX_RANK} are supported",
            list.len()
        )));
    }
    list.iter()
        .map(|n| {
            let size = n.as_u64().and_then(|n| usize::try_from(n).ok());
            match size {
                Some(0) if positive => Err(invalid(format!(
                    "{what} must have sizes of at least 1, found {}",
                    brief(value)
                ))),
                Some(size) => Ok(size),
                None => Err(invalid(format!(
                    "{what} must hold non-negative integers that fit in usize, found {}",
                    brief(n)
                ))),
            }
        })
        .collect()
}

impl ZarrMetadata {
    /// Parses a Zarr v3 `zarr.json` of an array.
    ///
    /// # Errors
    /// [`Error::ZarrMetadata`](crate::Error::ZarrMetadata) for a document
    /// that is not valid array metadata (naming the field, what was expected
    /// and what was found), [`Error::ZarrUnsupported`](crate::Error::ZarrUnsupported)
    /// for a valid one that cannot be mapped (compression, filters, other
    /// grids, data types without a fixed-size element), and
    /// [`Error::UnsupportedDtype`](crate::Error::UnsupportedDtype).
    pub fn from_v3(json: &[u8]) -> crate::Result<ZarrMetadata> {
        parse_v3(json).map_err(|e| crate::zarr::metadata_error(None, e))
    }

    /// Parses a Zarr v2 `.zarray` and, if there is one, its `.zattrs`
    /// (the attributes, and the dimension names xarray keeps in
    /// `_ARRAY_DIMENSIONS`).
    ///
    /// # Errors
    /// As for [`from_v3`](Self::from_v3).
    pub fn from_v2(zarray: &[u8], zattrs: Option<&[u8]>) -> crate::Result<ZarrMetadata> {
        parse_v2(zarray, zattrs).map_err(|e| crate::zarr::metadata_error(None, e))
    }
}

fn document(json: &[u8], what: &str) -> Result<Map<String, Value>, MetadataError> {
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| invalid(format!("{what} is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(invalid(format!(
            "{what} must be a JSON object, found {}",
            brief(&other)
        ))),
    }
}

/// The top-level fields of a v3 array's `zarr.json` that this parser reads.
const V3_FIELDS: [&str; 11] = [
    "zarr_format",
    "node_type",
    "shape",
    "data_type",
    "chunk_grid",
    "chunk_key_encoding",
    "fill_value",
    "codecs",
    "attributes",
    "storage_transformers",
    "dimension_names",
];

pub(crate) fn parse_v3(json: &[u8]) -> Result<ZarrMetadata, MetadataError> {
    let doc = document(json, "zarr.json")?;
    match field(&doc, "zarr_format")?.as_u64() {
        Some(3) => {}
        _ => {
            return Err(invalid(format!(
                "zarr_format must be 3 in zarr.json, found {}",
                brief(&doc["zarr_format"])
            )))
        }
    }
    match string(field(&doc, "node_type")?, "node_type")? {
        "array" => {}
        other => {
            return Err(invalid(format!(
                "node_type is {other:?}, not \"array\" (open a group with ZarrGroup::open)"
            )))
        }
    }
    // Unknown fields: allowed only when they say they may be ignored.
    for (key, value) in &doc {
        if V3_FIELDS.contains(&key.as_str()) {
            continue;
        }
        let optional = value
            .get("must_understand")
            .is_some_and(|m| m == &Value::Bool(false));
        if !optional {
            return Err(MetadataError::Unsupported {
                feature: format!("the field {key:?}, which must be understood (it is not an object with \"must_understand\": false)"),
                remedy: "remove the field, or mark it {\"must_understand\": false} if readers may ignore it",
            });
        }
    }
    let shape = sizes(field(&doc, "shape")?, "shape", false)?;
    let rank = shape.len();

    let grid = object(field(&doc, "chunk_grid")?, "chunk_grid")?;
    let grid_name = string(field(grid, "name")?, "chunk_grid.name")?;
    if grid_name != "regular" {
        return Err(MetadataError::Unsupported {
            feature: format!("the chunk grid {grid_name:?} (only \"regular\" grids map)"),
            remedy: "rewrite the array with a regular chunk grid",
        });
    }
    let grid_config = object(field(grid, "configuration")?, "chunk_grid.configuration")?;
    let chunk_shape = sizes(
        field(grid_config, "chunk_shape")?,
        "chunk_grid.configuration.chunk_shape",
        true,
    )?;
    same_rank(&chunk_shape, rank, "chunk_grid.configuration.chunk_shape")?;

    let keys = match doc.get("chunk_key_encoding") {
        None => return Err(invalid("the field \"chunk_key_encoding\" is missing")),
        Some(value) => key_encoding(object(value, "chunk_key_encoding")?)?,
    };

    if let Some(transformers) = doc.get("storage_transformers") {
        match transformers.as_array() {
            Some(list) if list.is_empty() => {}
            _ => {
                return Err(MetadataError::Unsupported {
                    feature: format!("storage transformers {}", brief(transformers)),
                    remedy: "rewrite the array without storage transformers",
                })
            }
        }
    }

    let codec_list = field(&doc, "codecs")?.as_array().ok_or_else(|| {
        invalid(format!(
            "codecs must be a list, found {}",
            brief(&doc["codecs"])
        ))
    })?;
    let data_type = field(&doc, "data_type")?;
    let (kind, size) = v3_data_type(data_type)?;
    let pipeline = codec_pipeline(codec_list, rank, size, "codecs")?;
    let (codecs, byte_order, sharding) = match pipeline {
        Pipeline::Plain { codecs, endian } => (codecs, endian, None),
        Pipeline::Sharded {
            outer_order,
            sharding,
            endian,
        } => {
            if outer_order.iter().enumerate().any(|(i, &a)| i != a) {
                return Err(MetadataError::Unsupported {
                    feature: "a transpose codec before sharding_indexed".to_owned(),
                    remedy: "put the transpose inside the shard's codecs",
                });
            }
            let divides = sharding
                .inner_shape
                .iter()
                .zip(&chunk_shape)
                .all(|(&inner, &outer)| inner <= outer && outer % inner == 0);
            same_rank(
                &sharding.inner_shape,
                rank,
                "sharding_indexed.configuration.chunk_shape",
            )?;
            if !divides {
                return Err(invalid(format!(
                    "the inner chunk shape {:?} of sharding_indexed must divide the shard shape {chunk_shape:?} evenly",
                    sharding.inner_shape
                )));
            }
            (sharding.inner.clone(), endian, Some(sharding))
        }
    };
    let dtype = DType {
        kind,
        size,
        byte_order,
    };
    let fill = parse_fill(field(&doc, "fill_value")?, dtype, ZarrFormat::V3)?;
    let attributes = match doc.get("attributes") {
        None => Map::new(),
        Some(value) => object(value, "attributes")?.clone(),
    };
    let dimension_names = match doc.get("dimension_names") {
        None | Some(Value::Null) => None,
        Some(value) => Some(dimension_names(value, rank, "dimension_names")?),
    };
    Ok(ZarrMetadata {
        format: ZarrFormat::V3,
        shape,
        chunk_shape,
        dtype,
        fill,
        keys,
        codecs,
        sharding,
        attributes,
        dimension_names,
    })
}

fn same_rank(list: &[usize], rank: usize, what: &str) -> Result<(), MetadataError> {
    if list.len() == rank {
        Ok(())
    } else {
        Err(invalid(format!(
            "{what} has {} dimensions, but shape has {rank}",
            list.len()
        )))
    }
}

fn dimension_names(
    value: &Value,
    rank: usize,
    what: &str,
) -> Result<Vec<Option<String>>, MetadataError> {
    let list = value.as_array().ok_or_else(|| {
        invalid(format!(
            "{what} must be a list of strings or nulls, found {}",
            brief(value)
        ))
    })?;
    if list.len() != rank {
        return Err(invalid(format!(
            "{what} has {} names, but shape has {rank} dimensions",
            list.len()
        )));
    }
    list.iter()
        .map(|name| match name {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            other => Err(invalid(format!(
                "{what} must hold strings or nulls, found {}",
                brief(other)
            ))),
        })
        .collect()
}

fn key_encoding(config: &Map<String, Value>) -> Result<KeyEncoding, MetadataError> {
    let name = string(field(config, "name")?, "chunk_key_encoding.name")?;
    let prefix_c = match name {
        "default" => true,
        "v2" => false,
        other => {
            return Err(MetadataError::Unsupported {
                feature: format!(
                    "the chunk key encoding {other:?} (\"default\" and \"v2\" are known)"
                ),
                remedy: "rewrite the array with the \"default\" chunk key encoding",
            })
        }
    };
    let separator = match config.get("configuration").and_then(|c| c.get("separator")) {
        None => {
            if prefix_c {
                '/'
            } else {
                '.'
            }
        }
        Some(Value::String(s)) if s == "/" => '/',
        Some(Value::String(s)) if s == "." => '.',
        Some(other) => {
            return Err(invalid(format!(
                "chunk_key_encoding.configuration.separator must be \"/\" or \".\", found {}",
                brief(other)
            )))
        }
    };
    Ok(KeyEncoding {
        prefix_c,
        separator,
    })
}

/// A v3 `data_type` as kind and size; the byte order comes from the codecs.
fn v3_data_type(value: &Value) -> Result<(Kind, usize), MetadataError> {
    let name = match value {
        Value::String(name) => name.as_str(),
        Value::Object(object) => {
            let name = object.get("name").map_or_else(|| brief(value), brief);
            return Err(MetadataError::Unsupported {
                feature: format!("the data type {name} (an extension type: no element type here matches it)"),
                remedy: "store one of bool, int8..uint64, float16, float32, float64, complex64 or complex128",
            });
        }
        other => {
            return Err(invalid(format!(
                "data_type must be a string, found {}",
                brief(other)
            )))
        }
    };
    let found = match name {
        "bool" => (Kind::Bool, 1),
        "int8" => (Kind::Int, 1),
        "int16" => (Kind::Int, 2),
        "int32" => (Kind::Int, 4),
        "int64" => (Kind::Int, 8),
        "uint8" => (Kind::Uint, 1),
        "uint16" => (Kind::Uint, 2),
        "uint32" => (Kind::Uint, 4),
        "uint64" => (Kind::Uint, 8),
        "float16" if cfg!(feature = "half") => (Kind::Float, 2),
        "float32" => (Kind::Float, 4),
        "float64" => (Kind::Float, 8),
        "complex64" => (Kind::Complex, 8),
        "complex128" => (Kind::Complex, 16),
        "float16" => {
            return Err(MetadataError::Unsupported {
                feature: "the data type \"float16\" without the feature `half`".to_owned(),
                remedy: "enable the crate's feature `half`",
            })
        }
        other => {
            let why = if other.starts_with('r') {
                "raw bits with no element type"
            } else if other == "string" || other == "bytes" {
                "variable-length elements, which have no fixed place in a chunk"
            } else {
                "not a data type this crate maps"
            };
            return Err(MetadataError::Unsupported {
                feature: format!("the data type {other:?} ({why})"),
                remedy: "store one of bool, int8..uint64, float16, float32, float64, complex64 or complex128",
            });
        }
    };
    Ok(found)
}

/// What a v3 codec list describes.
enum Pipeline {
    Plain {
        codecs: ChunkCodecs,
        endian: ByteOrder,
    },
    Sharded {
        outer_order: Vec<usize>,
        sharding: Sharding,
        endian: ByteOrder,
    },
}

/// Reads a codec list: array-to-array codecs (`transpose`), one
/// array-to-bytes codec (`bytes`, or `sharding_indexed` at the top), then
/// bytes-to-bytes codecs (`crc32c`). Anything else is refused by name.
fn codec_pipeline(
    list: &[Value],
    rank: usize,
    size: usize,
    what: &str,
) -> Result<Pipeline, MetadataError> {
    let mut order: Vec<usize> = (0..rank).collect();
    let mut serializer: Option<Pipeline> = None;
    let mut checksum = false;
    for codec in list {
        let codec = object(codec, &format!("each entry of {what}"))?;
        let name = string(field(codec, "name")?, &format!("a codec name in {what}"))?;
        let config = codec.get("configuration");
        if checksum {
            return Err(MetadataError::Unsupported {
                feature: format!("the codec {name:?} after crc32c"),
                remedy: "end the codec list with crc32c",
            });
        }
        match name {
            "transpose" if serializer.is_none() => {
                let permutation = transpose_order(config, rank)?;
                // Applying transposes one after another composes them.
                order = permutation.iter().map(|&axis| order[axis]).collect();
            }
            "bytes" if serializer.is_none() => {
                let endian = bytes_endian(config, size)?;
                serializer = Some(Pipeline::Plain {
                    codecs: ChunkCodecs {
                        order: order.clone(),
                        checksum: false,
                    },
                    endian,
                });
            }
            "sharding_indexed" if serializer.is_none() && what == "codecs" => {
                let (sharding, endian) = sharding_config(config, rank, size)?;
                serializer = Some(Pipeline::Sharded {
                    outer_order: order.clone(),
                    sharding,
                    endian,
                });
            }
            "crc32c" if serializer.is_some() => {
                checksum = true;
            }
            "transpose" | "bytes" | "sharding_indexed" | "crc32c" => {
                return Err(MetadataError::Unsupported {
                    feature: format!("the codec {name:?} at this place in {what}"),
                    remedy: "use transpose (optional), then bytes (or sharding_indexed), then crc32c (optional)",
                });
            }
            "zstd" | "blosc" | "gzip" | "zlib" | "lz4" | "bz2" | "lzma" | "numcodecs.zstd"
            | "numcodecs.blosc" | "numcodecs.gzip" | "numcodecs.zlib" | "numcodecs.lz4" => {
                return Err(MetadataError::Unsupported {
                    feature: format!("the compressor {name:?}"),
                    remedy: UNCOMPRESSED_REMEDY,
                });
            }
            other => {
                return Err(MetadataError::Unsupported {
                    feature: format!("the codec {other:?} (a filter or compressor: it changes the bytes, so they must be decoded)"),
                    remedy: UNCOMPRESSED_REMEDY,
                });
            }
        }
    }
    match serializer {
        Some(Pipeline::Plain { codecs, endian }) => Ok(Pipeline::Plain {
            codecs: ChunkCodecs { checksum, ..codecs },
            endian,
        }),
        Some(sharded @ Pipeline::Sharded { .. }) if !checksum => Ok(sharded),
        Some(Pipeline::Sharded { .. }) => Err(MetadataError::Unsupported {
            feature: "a crc32c codec over whole shards".to_owned(),
            remedy: "checksum the shard index (index_codecs) instead",
        }),
        None => Err(invalid(format!(
            "{what} has no array-to-bytes codec (\"bytes\" or \"sharding_indexed\"), found {}",
            brief(&Value::Array(list.to_vec()))
        ))),
    }
}

fn transpose_order(config: Option<&Value>, rank: usize) -> Result<Vec<usize>, MetadataError> {
    let order = config
        .and_then(|c| c.get("order"))
        .ok_or_else(|| invalid("the transpose codec needs configuration.order"))?;
    let order = sizes(order, "transpose configuration.order", false)?;
    let mut seen = vec![false; rank];
    let is_permutation = order.len() == rank
        && order
            .iter()
            .all(|&axis| axis < rank && !std::mem::replace(&mut seen[axis], true));
    if !is_permutation {
        return Err(invalid(format!(
            "transpose configuration.order must be a permutation of 0..{rank}, found {order:?}"
        )));
    }
    Ok(order)
}

fn bytes_endian(config: Option<&Value>, size: usize) -> Result<ByteOrder, MetadataError> {
    match config.and_then(|c| c.get("endian")) {
        Some(Value::String(s)) if s == "little" => Ok(if size == 1 {
            ByteOrder::NotApplicable
        } else {
            ByteOrder::Little
        }),
        Some(Value::String(s)) if s == "big" => Ok(if size == 1 {
            ByteOrder::NotApplicable
        } else {
            ByteOrder::Big
        }),
        None | Some(Value::Null) if size == 1 => Ok(ByteOrder::NotApplicable),
        None | Some(Value::Null) => Err(invalid(format!(
            "the bytes codec needs configuration.endian (\"little\" or \"big\") for a {size}-byte data type (the spec requires it; zarr-python >= 3.2 refuses it too)"
        ))),
        Some(other) => Err(invalid(format!(
            "the bytes codec's endian must be \"little\" or \"big\", found {}",
            brief(other)
        ))),
    }
}

fn sharding_config(
    config: Option<&Value>,
    rank: usize,
    size: usize,
) -> Result<(Sharding, ByteOrder), MetadataError> {
    let config = object(
        config.ok_or_else(|| invalid("sharding_indexed needs a configuration"))?,
        "sharding_indexed.configuration",
    )?;
    let inner_shape = sizes(
        field(config, "chunk_shape")?,
        "sharding_indexed.configuration.chunk_shape",
        true,
    )?;
    let inner_list = field(config, "codecs")?
        .as_array()
        .ok_or_else(|| invalid("sharding_indexed.configuration.codecs must be a list"))?;
    let (inner, endian) = match codec_pipeline(inner_list, rank, size, "sharding_indexed codecs")? {
        Pipeline::Plain { codecs, endian } => (codecs, endian),
        // Refused inside a shard's codecs already; kept total without a panic.
        Pipeline::Sharded { .. } => {
            return Err(MetadataError::Unsupported {
                feature: "sharding_indexed inside a shard".to_owned(),
                remedy: "use one level of sharding",
            })
        }
    };
    let index_list = match config.get("index_codecs") {
        Some(value) => value
            .as_array()
            .ok_or_else(|| invalid("sharding_indexed.configuration.index_codecs must be a list"))?
            .clone(),
        // The spec's default: little-endian offsets, then a CRC-32C.
        None => vec![
            serde_json::json!({"name": "bytes", "configuration": {"endian": "little"}}),
            serde_json::json!({"name": "crc32c"}),
        ],
    };
    let index_checksum = index_codecs(&index_list)?;
    let index_at_start = match config.get("index_location") {
        None => false,
        Some(Value::String(s)) if s == "end" => false,
        Some(Value::String(s)) if s == "start" => true,
        Some(other) => {
            return Err(invalid(format!(
                "sharding_indexed index_location must be \"start\" or \"end\", found {}",
                brief(other)
            )))
        }
    };
    Ok((
        Sharding {
            inner_shape,
            inner,
            index_checksum,
            index_at_start,
        },
        endian,
    ))
}

/// The shard index's codecs: `bytes` little-endian, optionally `crc32c`.
fn index_codecs(list: &[Value]) -> Result<bool, MetadataError> {
    let names: Vec<Option<&str>> = list
        .iter()
        .map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let little = list.first().is_some_and(|c| {
        c.get("configuration")
            .and_then(|c| c.get("endian"))
            .is_some_and(|e| e == "little")
    });
    match names.as_slice() {
        [Some("bytes")] if little => Ok(false),
        [Some("bytes"), Some("crc32c")] if little => Ok(true),
        _ => Err(MetadataError::Unsupported {
            feature: format!(
                "the shard index codecs {}",
                brief(&Value::Array(list.to_vec()))
            ),
            remedy: "write shards with index_codecs [bytes little-endian, crc32c], zarr-python's default",
        }),
    }
}

/// The fields of a v2 `.zarray` this parser reads.
const V2_FIELDS: [&str; 9] = [
    "zarr_format",
    "shape",
    "chunks",
    "dtype",
    "compressor",
    "fill_value",
    "order",
    "filters",
    "dimension_separator",
];

pub(crate) fn parse_v2(
    zarray: &[u8],
    zattrs: Option<&[u8]>,
) -> Result<ZarrMetadata, MetadataError> {
    let doc = document(zarray, ".zarray")?;
    match field(&doc, "zarr_format")?.as_u64() {
        Some(2) => {}
        _ => {
            return Err(invalid(format!(
                "zarr_format must be 2 in .zarray, found {}",
                brief(&doc["zarr_format"])
            )))
        }
    }
    if let Some(key) = doc.keys().find(|k| !V2_FIELDS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "the field {key:?} is not a Zarr v2 array field"
        )));
    }
    let shape = sizes(field(&doc, "shape")?, "shape", false)?;
    let rank = shape.len();
    let chunk_shape = sizes(field(&doc, "chunks")?, "chunks", true)?;
    same_rank(&chunk_shape, rank, "chunks")?;
    match field(&doc, "compressor")? {
        Value::Null => {}
        compressor => {
            let id = compressor
                .get("id")
                .map_or_else(|| brief(compressor), brief);
            return Err(MetadataError::Unsupported {
                feature: format!("the compressor {id}"),
                remedy: UNCOMPRESSED_REMEDY,
            });
        }
    }
    match doc.get("filters") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) if list.is_empty() => {}
        Some(filters) => {
            let ids: Vec<String> = match filters.as_array() {
                Some(list) => list
                    .iter()
                    .map(|f| f.get("id").map_or_else(|| brief(f), brief))
                    .collect(),
                None => vec![brief(filters)],
            };
            return Err(MetadataError::Unsupported {
                feature: format!("the filters {}", ids.join(", ")),
                remedy: "write the array with filters=None; zarr-python reads it as it is",
            });
        }
    }
    let dtype = match field(&doc, "dtype")? {
        Value::String(descr) => v2_dtype(descr)?,
        other => {
            return Err(MetadataError::Unsupported {
                feature: format!("the dtype {} (a structured dtype)", brief(other)),
                remedy: "store one array per field, or read it with zarr-python",
            })
        }
    };
    let fortran = match field(&doc, "order")? {
        Value::String(s) if s == "C" => false,
        Value::String(s) if s == "F" => true,
        other => {
            return Err(invalid(format!(
                "order must be \"C\" or \"F\", found {}",
                brief(other)
            )))
        }
    };
    let separator = match doc.get("dimension_separator") {
        None | Some(Value::Null) => '.',
        Some(Value::String(s)) if s == "." => '.',
        Some(Value::String(s)) if s == "/" => '/',
        Some(other) => {
            return Err(invalid(format!(
                "dimension_separator must be \".\" or \"/\", found {}",
                brief(other)
            )))
        }
    };
    let fill = parse_fill(field(&doc, "fill_value")?, dtype, ZarrFormat::V2)?;
    let attributes = match zattrs {
        None => Map::new(),
        Some(bytes) => document(bytes, ".zattrs")?,
    };
    let dimension_names = match attributes.get("_ARRAY_DIMENSIONS") {
        None => None,
        Some(value) => Some(dimension_names(value, rank, ".zattrs _ARRAY_DIMENSIONS")?),
    };
    let order = if fortran {
        (0..rank).rev().collect()
    } else {
        (0..rank).collect()
    };
    Ok(ZarrMetadata {
        format: ZarrFormat::V2,
        shape,
        chunk_shape,
        dtype,
        fill,
        keys: KeyEncoding {
            prefix_c: false,
            separator,
        },
        codecs: ChunkCodecs {
            order,
            checksum: false,
        },
        sharding: None,
        attributes,
        dimension_names,
    })
}

/// A v2 dtype string: numpy's descr, with an explicit byte order.
fn v2_dtype(descr: &str) -> Result<DType, MetadataError> {
    let explicit = matches!(descr.as_bytes().first(), Some(b'<' | b'>' | b'|'));
    match descr.parse::<DType>() {
        Ok(dtype) if explicit => Ok(dtype),
        _ => Err(MetadataError::Unsupported {
            feature: format!("the dtype {descr:?}"),
            remedy:
                "store one of |b1, |i1, |u1, <i2..<u8, <f2, <f4, <f8, <c8, <c16 (either byte order)",
        }),
    }
}

impl ZarrMetadata {
    /// The format version.
    pub fn format(&self) -> ZarrFormat {
        self.format
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The shape of each chunk: the unit that is stored, mapped and read
    /// (the inner chunk of a sharded array, as zarr-python's `z.chunks`).
    pub fn chunk_shape(&self) -> &[usize] {
        self.stored_chunk_shape()
    }

    /// The shape of each shard of a sharded array (zarr-python's
    /// `z.shards`), `None` otherwise.
    pub fn shard_shape(&self) -> Option<&[usize]> {
        self.sharding.as_ref().map(|_| self.chunk_shape.as_slice())
    }

    /// The element type, with the byte order the chunks are stored in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// How many chunks the array has along each axis (inner chunks, when
    /// sharded).
    pub fn grid_shape(&self) -> Vec<usize> {
        grid_of(&self.shape, self.chunk_shape())
    }

    /// The key (path under the array's directory) of the file that holds
    /// the chunk at grid `index`: `c/0/1` for v3's default encoding, `0.1`
    /// for v2; the shard's key when sharded. `index` has one entry per axis.
    pub fn chunk_key(&self, index: &[usize]) -> String {
        match &self.sharding {
            Some(sharding) => {
                let shard: Vec<usize> = index
                    .iter()
                    .zip(self.chunk_shape.iter().zip(&sharding.inner_shape))
                    .map(|(i, (s, inner))| i / (s / inner))
                    .collect();
                self.keys.key(&shard)
            }
            None => self.keys.key(index),
        }
    }

    /// The fill value: what every element of an absent chunk is.
    ///
    /// # Errors
    /// [`Error::DtypeMismatch`](crate::Error::DtypeMismatch) if `A` is not
    /// the array's element type.
    pub fn fill_value<A: crate::Element>(&self) -> crate::Result<A> {
        crate::zarr::check_dtype::<A>(self)?;
        self.fill
            .element::<A>()
            .ok_or_else(|| crate::Error::InvalidValue {
                path: None,
                element: crate::element::type_name::<A>(),
                index: 0,
                found: self.fill.bytes.clone(),
            })
    }

    /// The fill value as the metadata writes it (`"NaN"`, `0`, `[1.0, 0.0]`...).
    pub fn fill_value_json(&self) -> Value {
        self.fill.to_json(self.dtype, self.format)
    }

    /// The user attributes (`attributes` in v3, `.zattrs` in v2).
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }

    /// The dimension names, if the metadata has them (v3
    /// `dimension_names`, v2 `_ARRAY_DIMENSIONS`); a name may be null.
    pub fn dimension_names(&self) -> Option<&[Option<String>]> {
        self.dimension_names.as_deref()
    }

    /// Whether the grid chunks are shards of inner chunks.
    pub fn is_sharded(&self) -> bool {
        self.sharding.is_some()
    }

    /// The bytes of one stored chunk's data (the inner chunk, when sharded),
    /// or `None` if that overflows.
    pub(crate) fn stored_chunk_bytes(&self) -> Option<usize> {
        let shape = self.stored_chunk_shape();
        shape
            .iter()
            .try_fold(self.dtype.size, |n, &len| n.checked_mul(len))
            .filter(|&n| n <= isize::MAX as usize)
    }

    /// The shape of one stored chunk (the inner chunk, when sharded).
    pub(crate) fn stored_chunk_shape(&self) -> &[usize] {
        match &self.sharding {
            Some(sharding) => &sharding.inner_shape,
            None => &self.chunk_shape,
        }
    }
}

/// Chunks per axis: the ceiling of each length over its chunk length.
pub(crate) fn grid_of(shape: &[usize], chunk_shape: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .zip(chunk_shape)
        .map(|(&n, &c)| n.div_ceil(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid float64 array's `zarr.json` with `extra` fields spliced in
    /// and `codecs` as given.
    fn doc(extra: &str, codecs: &str) -> String {
        format!(
            r#"{{"zarr_format":3,"node_type":"array","shape":[4,6],"data_type":"float64",
            "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":[2,3]}}}},
            "chunk_key_encoding":{{"name":"default"}},"fill_value":"NaN","codecs":{codecs}{extra}}}"#
        )
    }

    const BYTES: &str = r#"[{"name":"bytes","configuration":{"endian":"little"}}]"#;

    fn unsupported(text: &str) -> String {
        match parse_v3(text.as_bytes()) {
            Err(MetadataError::Unsupported { feature, .. }) => feature,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_need_must_understand_false() {
        assert!(parse_v3(doc(r#","foo":{"must_understand":false}"#, BYTES).as_bytes()).is_ok());
        assert!(unsupported(&doc(r#","foo":{"must_understand":true}"#, BYTES)).contains("\"foo\""));
        assert!(unsupported(&doc(r#","foo":1"#, BYTES)).contains("\"foo\""));
    }

    #[test]
    fn what_cannot_map_is_refused_by_name() {
        let grid = doc("", BYTES).replace("\"regular\"", "\"rectilinear\"");
        assert!(unsupported(&grid).contains("\"rectilinear\""));
        let raw = doc("", r#"[{"name":"bytes"}]"#).replace("\"float64\"", "\"r16\"");
        assert!(unsupported(&raw).contains("\"r16\""));
        let string = doc("", BYTES).replace("\"float64\"", "\"string\"");
        assert!(unsupported(&string).contains("variable-length"));
        let transformers = doc(r#","storage_transformers":[{"name":"t"}]"#, BYTES);
        assert!(unsupported(&transformers).contains("storage transformers"));
        let zstd = doc(
            "",
            r#"[{"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd"}]"#,
        );
        assert!(unsupported(&zstd).contains("\"zstd\""));
    }

    #[test]
    fn bytes_without_endian_is_refused_for_multi_byte_types_only() {
        let err = parse_v3(doc("", r#"[{"name":"bytes"}]"#).as_bytes()).unwrap_err();
        assert!(
            matches!(&err, MetadataError::Invalid(m) if m.contains("endian")),
            "{err:?}"
        );
        let single = doc("", r#"[{"name":"bytes"}]"#)
            .replace("\"float64\"", "\"uint8\"")
            .replace("\"NaN\"", "3");
        assert!(parse_v3(single.as_bytes()).is_ok());
    }

    #[test]
    fn transposes_compose_and_shards_must_divide() {
        let two = r#"[{"name":"transpose","configuration":{"order":[1,0]}},
            {"name":"transpose","configuration":{"order":[1,0]}},
            {"name":"bytes","configuration":{"endian":"little"}}]"#;
        assert_eq!(
            parse_v3(doc("", two).as_bytes()).unwrap().codecs.order,
            [0, 1]
        );
        let uneven = r#"[{"name":"sharding_indexed","configuration":{"chunk_shape":[2,2],
            "codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}}]"#;
        let err = parse_v3(doc("", uneven).as_bytes()).unwrap_err();
        assert!(
            matches!(&err, MetadataError::Invalid(m) if m.contains("divide")),
            "{err:?}"
        );
    }
}
