//! HDF5 datasets mapped in place, without libhdf5: h5py's and PyTables'
//! files read by a pure-Rust resolver of the file's metadata, their data
//! mapped through the crate's one mapping engine.
//!
//! - [`Hdf5File`]: a file opened (its metadata only); datasets found by
//!   path, listed, mapped ([`map`](Hdf5File::map)) or read
//!   ([`read`](Hdf5File::read)).
//! - [`Hdf5Dataset`]: what a dataset is: shape, type with byte order,
//!   layout, address, fill value, filters; and whether it maps.
//! - [`Hdf5Chunks`]: a chunked dataset's chunks as views of one mapping.
//! - [`Hdf5Writer`]: new files whose datasets map (numpy's `w+`), and
//!   datasets added to them.
//! - [`resolve_hdf5_dataset`]: the pure resolver over bytes (what the fuzz
//!   target runs).

mod btree1;
mod btree2;
mod bytes;
mod chunk_index;
mod chunked;
mod dataset;
mod datatype;
mod encode;
mod file;
mod fractal_heap;
mod group;
mod header;
mod lookup3;
mod messages;
mod read;
mod resolve;
mod superblock;
mod writer;

pub use chunked::{Hdf5Chunk, Hdf5Chunks};
pub use dataset::{Hdf5ChunkRecord, Hdf5Dataset, Hdf5Layout};
pub use datatype::{Datatype as Hdf5Type, Field as Hdf5Field};
pub use file::Hdf5File;
pub use writer::{Hdf5Attribute, Hdf5DatasetMut, Hdf5Writer};

use std::path::Path;

use crate::error::{Error, Result};
use bytes::Fault;

/// The resolver's error as the crate's, naming the file and the dataset.
pub(crate) fn fault_error(path: Option<&Path>, dataset: &str, fault: Fault) -> Error {
    let path = path.map(Path::to_path_buf);
    match fault {
        Fault::Invalid(reason) => Error::Hdf5Metadata { path, reason },
        Fault::Unsupported { feature, remedy } => Error::Hdf5Unsupported {
            path,
            dataset: dataset.to_owned(),
            reason: format!("it uses {feature}"),
            remedy,
        },
        Fault::NotFound(reason) => Error::Hdf5NotFound {
            path,
            object: dataset.to_owned(),
            reason,
        },
        Fault::Io(kind, message) => Error::Io {
            operation: "read HDF5 metadata",
            path,
            cause: std::io::Error::new(kind, message),
        },
    }
}

/// Resolves the dataset at `path` in an HDF5 file held in `bytes`, and
/// lists its chunks if it is chunked: everything the crate reads before it
/// maps, with no file and no mapping. This is what the fuzz target runs;
/// any input gives a description or a typed error, never a panic, in time
/// and memory bounded by the input's length.
///
/// ```
/// let not_hdf5 = b"\x89HDF\r\n\x1a\n but nothing after";
/// assert!(ndarray_memmap::resolve_hdf5_dataset(not_hdf5, "/x").is_err());
/// ```
///
/// # Errors
/// [`Error::Hdf5Metadata`], [`Error::Hdf5NotFound`] and
/// [`Error::Hdf5Unsupported`].
pub fn resolve_hdf5_dataset(
    bytes: &[u8],
    path: &str,
) -> Result<(Hdf5Dataset, Vec<Hdf5ChunkRecord>)> {
    let resolver = resolve::Resolver::new(bytes).map_err(|f| fault_error(None, path, f))?;
    let dataset = Hdf5Dataset::resolve(&resolver, path, None)?;
    let chunks = if dataset.chunk_shape().is_some() {
        dataset.chunk_records_with(&resolver, None)?
    } else {
        Vec::new()
    };
    Ok((dataset, chunks))
}
