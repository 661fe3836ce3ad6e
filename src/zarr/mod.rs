//! Zarr arrays (v2 and v3) with every uncompressed chunk mapped in place:
//! the format Dask and xarray compute on, read and written byte for byte
//! as zarr-python does.
//!
//! - [`ZarrMetadata`]: the pure parser of `zarr.json` and `.zarray`.
//! - [`ZarrArray`]: an array directory opened; its chunks mapped
//!   ([`chunk`](ZarrArray::chunk)), read ([`read`](ZarrArray::read),
//!   [`read_region`](ZarrArray::read_region)) and written.
//! - [`ZarrArrayBuilder`]: a new array, written chunk by chunk, its
//!   metadata last.
//! - [`ZarrGroup`]: groups of arrays (an xarray dataset).

mod array;
mod batch;
mod build;
mod chunk;
mod crc32c;
mod fill;
mod group;
mod json;
mod locate;
mod mapped;
mod metadata;
mod shard_write;
mod write;

pub use array::ZarrArray;
pub use build::ZarrArrayBuilder;
pub use chunk::{ZarrChunk, ZarrChunkMut, ZarrChunks};
pub use group::{ZarrGroup, ZarrNode};
pub use mapped::{ZarrMapped, DEFAULT_MAPPED_CHUNKS};
pub use metadata::{ZarrFormat, ZarrMetadata};

use std::path::Path;

use crate::element::{type_name, DType, Element};
use crate::error::{Error, Result};
use metadata::MetadataError;

/// A parser error as the crate's error, naming the metadata file.
pub(crate) fn metadata_error(path: Option<&Path>, err: MetadataError) -> Error {
    let path = path.map(Path::to_path_buf);
    match err {
        MetadataError::Invalid(reason) => Error::ZarrMetadata { path, reason },
        MetadataError::Unsupported { feature, remedy } => Error::ZarrUnsupported {
            path,
            feature,
            remedy,
        },
    }
}

/// Whether the array's elements are `A`s as stored (`Ok(false)`) or in the
/// other byte order (`Ok(true)`); a different type is
/// [`Error::DtypeMismatch`].
pub(crate) fn check_dtype<A: Element>(meta: &ZarrMetadata) -> Result<bool> {
    let want = crate::npy::dtype::descr_of::<A>()?;
    let found = meta.dtype;
    match want.parse::<DType>() {
        Ok(wanted) if found == wanted => Ok(false),
        Ok(wanted) if found.to_native() == wanted => Ok(true),
        _ => Err(Error::DtypeMismatch {
            expected: format!("{} ({want:?})", type_name::<A>()),
            found: found.descr(),
            shape: meta.shape.clone(),
        }),
    }
}
