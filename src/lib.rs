//! Disk-backed [`ndarray`] arrays through memory maps: what `numpy.memmap`
//! and `numpy.lib.format.open_memmap` are for NumPy.
//!
//! An array whose elements live in a file is opened in constant time, without
//! reading the file, and every ndarray algorithm works on it unchanged:
//! slicing, `sum`, `dot`, `Zip`, `assign`, iterators and rayon. The operating
//! system pages data in as it is touched, so arrays far larger than memory
//! work, and writes go straight to the file.
//!
//! ```
//! use ndarray::{s, Array2};
//! use ndarray_memmap::MemmapExt;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("newfile.dat");
//!
//! // np.memmap(path, dtype='float32', mode='w+', shape=(3, 4))
//! // SAFETY: no other program touches this new file while it is mapped.
//! let mut fp = unsafe { Array2::<f32>::create_raw(&path, (3, 4)) }?;
//! fp.assign(&Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32));
//! fp.close()?; // flushes and reports errors; dropping also flushes
//!
//! // np.memmap(path, dtype='float32', mode='r', shape=(3, 4))
//! // SAFETY: as above.
//! let newfp = unsafe { Array2::<f32>::open_raw(&path, (3, 4)) }?;
//! assert_eq!(newfp.slice(s![.., 3]).to_vec(), vec![3.0, 7.0, 11.0]);
//! assert_eq!(newfp.sum(), 66.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Overview
//!
//! - [`MemmapExt`]: constructors on ndarray's `Array` types, one per numpy
//!   mode, for raw binary files and `.npy` files.
//! - [`MemmapOptions`]: offsets, Fortran [`Order`], locking, preallocation,
//!   access hints ([`Advice`]), header limits.
//! - [`Memmap`] (read-only) and [`MemmapMut`] (writable): guards that own the
//!   file and the mapping. They deref to [`ndarray::ArrayRef`], so
//!   `guard.sum()` works, and lend [`ndarray::ArrayView`]s tied to their
//!   lifetime. Writing through a read-only map does not compile.
//! - [`read_npy`], [`write_npy`], [`read_npy_header`]: `.npy` files with
//!   ordinary I/O, safe, also for data of the other byte order.
//! - `NpzArchive` and `NpzWriter` (feature `npz`, on by default): `.npz`
//!   archives as `np.savez` writes and `np.load` reads them, and stored
//!   members mapped in place.
//! - `Hdf5File` (feature `hdf5`, on by default): HDF5 datasets as h5py
//!   and PyTables write them, resolved without libhdf5 and mapped in place
//!   (contiguous datasets whole, chunked ones chunk by chunk).
//! - [`npy_record!`] and [`Record`]: `#[repr(C)]` structs as numpy's
//!   structured dtypes, with field views ([`record_field`]).
//! - [`Element`]: the element types (`bool`, integers, floats, complex, and
//!   your own plain-old-data types).
//! - [`Error`]: one error type whose messages name the values involved.
//!
//! # Safety
//!
//! Functions that map a file are `unsafe fn`, as in `memmap2`: another
//! process that writes or truncates a mapped file breaks the guarantees of
//! every Rust reference into it. They all refer to one contract, on
//! [`Memmap`](Memmap#safety). The crate narrows the risk with advisory locks,
//! a registry of mapped files in this process and length checks before
//! mapping; [`MemmapExt::scratch`], [`Memmap::from_mmap`], [`read_npy`] and
//! [`write_npy`] are safe. Details: [`docs::safety`].
//!
//! # Stricter than numpy
//!
//! Misaligned offsets, `bool` bytes other than 0 and 1, truncated `.npy`
//! data and overflowing shapes are typed errors, never views. Files from
//! untrusted sources never cause a panic: a damaged header is an
//! [`Error::NpyHeader`] whose message says what was expected and found.
//!
//! # Features
//!
//! - `npz` (default): `.npz` archives, through the `zip` crate.
//! - `zarr` (default): Zarr arrays, through `serde_json`.
//! - `hdf5` (default): HDF5 files, read with no dependency beyond the crate's own.
//! - `half` (default): `half::f16` elements (numpy's `float16`, `'<f2'`, in
//!   every mode and through the run-time-typed path) and `half::bf16`
//!   (ml_dtypes' `bfloat16`, which numpy stores as raw `'<V2'`: mapped as
//!   `bf16` only when the caller asks for `bf16`).
//! - `rayon`: rayon's `par_iter()` and `par_iter_mut()` on the guards, and
//!   ndarray's parallel iterators on their views (`view().into_par_iter()`,
//!   `par_azip!`, `Zip::par_for_each`). ndarray 0.17 has no `par_iter()` on
//!   a view itself: use `into_par_iter()` there.
//!
//!   ```
//!   # #[cfg(feature = "rayon")] {
//!   use ndarray::Array1;
//!   use ndarray_memmap::MemmapExt;
//!   use rayon::prelude::*;
//!   let mut guard = Array1::<f64>::scratch(10_000)?;
//!   guard.par_iter_mut().for_each(|x| *x = 0.5);
//!   let total: f64 = guard.par_iter().sum();
//!   assert_eq!(total, 5_000.0);
//!   assert_eq!(guard.view().into_par_iter().copied().sum::<f64>(), total);
//!   # }
//!   # Ok::<(), ndarray_memmap::Error>(())
//!   ```
//!
//! The minimum supported Rust version is 1.89 (for `File::lock`).
#![deny(unsafe_code, missing_docs)]
// docs.rs builds with `--cfg docsrs` on nightly: feature-gated items are
// marked with the feature that enables them.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod advice;
mod any;
mod buffer;
mod element;
mod engine;
mod error;
mod ext;
mod grow;
mod guard;
#[cfg(feature = "hdf5")]
mod hdf5;
mod layout;
mod lent;
mod literal;
mod map;
mod mode;
mod npy;
#[cfg(feature = "npz")]
mod npz;
mod options;
#[cfg(feature = "rayon")]
mod parallel;
mod prefetch;
mod raw;
mod record;
mod registry;
#[cfg(feature = "half")]
mod round_f16;
mod scalar;
mod settings;
mod sys;
#[cfg(any(feature = "zarr", feature = "hdf5"))]
mod views;
#[cfg(feature = "zarr")]
mod zarr;

pub use advice::Advice;
pub use any::{read_npy_any, AnyArray, AnyGuard, AnyMemmap, AnyMemmapMut, ViewVisitor};
pub use element::{trim_nul, ByteOrder, DType, Element, Kind};
pub use error::{Error, FileTooShortRemedy, Result};
pub use ext::MemmapExt;
pub use grow::{Growable, Growth};
pub use guard::{Chunks, Memmap, MemmapMut, AUTO_PREFETCH_BYTES};
#[cfg(feature = "hdf5")]
#[cfg_attr(docsrs, doc(cfg(feature = "hdf5")))]
pub use hdf5::{
    resolve_hdf5_dataset, Hdf5Attribute, Hdf5Chunk, Hdf5ChunkRecord, Hdf5Chunks, Hdf5Dataset,
    Hdf5DatasetMut, Hdf5Field, Hdf5File, Hdf5Layout, Hdf5Type, Hdf5Writer,
};
pub use layout::Order;
pub use mode::Mode;
pub use npy::{
    read_npy, read_npy_from, read_npy_header, rewrite_npy_with_room, view_npy, view_npy_mut,
    write_npy, write_npy_to, NpyHeader, NpyWriter,
};
#[cfg(feature = "npz")]
#[cfg_attr(docsrs, doc(cfg(feature = "npz")))]
pub use npz::{NpzArchive, NpzMember, NpzWriter};
#[doc(hidden)]
pub use record::__field_type_of;
pub use record::{record_field, FieldDescr, FieldType, Record, RecordDescr, RecordField};
pub use scalar::{Scalar, Value};
/// The `serde_json` whose values [`ZarrMetadata::attributes`] holds.
#[cfg(feature = "zarr")]
#[cfg_attr(docsrs, doc(cfg(feature = "zarr")))]
pub use serde_json;
pub use settings::{MemmapOptions, Populate, DEFAULT_LOCK_WAIT, DEFAULT_MAX_HEADER_SIZE};
#[cfg(feature = "zarr")]
#[cfg_attr(docsrs, doc(cfg(feature = "zarr")))]
pub use zarr::{
    ZarrArray, ZarrArrayBuilder, ZarrChunk, ZarrChunkMut, ZarrChunks, ZarrFormat, ZarrGroup,
    ZarrMapped, ZarrMetadata, ZarrNode, DEFAULT_MAPPED_CHUNKS,
};

/// The `memmap2` maps [`Memmap::from_mmap`] and [`MemmapMut::from_mmap`]
/// take, from the same `memmap2` this crate maps with.
pub use memmap2::{Mmap, MmapMut};
/// The `ndarray` this crate is built on, so that its types (the guards'
/// `ArrayRef`, `Dimension`, `ArrayView`) are the ones you name: no second
/// version to keep in step.
pub use ndarray;

/// Long-form documentation from the repository's `docs/` folder, rendered
/// here so that every code block in it is compiled and run as a doctest.
pub mod docs {
    #[doc = include_str!("../docs/guide.md")]
    pub mod guide {}
    #[doc = include_str!("../docs/numpy-migration.md")]
    pub mod numpy_migration {}
    #[doc = include_str!("../docs/safety.md")]
    pub mod safety {}
    #[doc = include_str!("../docs/design.md")]
    pub mod design {}
    #[doc = include_str!("../docs/performance.md")]
    pub mod performance {}
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
