//! The integration tests, one binary (so the suite links once), a module
//! per subject. Shared helpers are in `common`; the Python side's pinned
//! packages and scripts in `tests/python/`.

mod common;

mod any;
mod bytes;
mod cli;
mod concurrency;
mod errors;
mod grow;
mod half;
#[cfg(feature = "hdf5")]
mod hdf5;
#[cfg(feature = "hdf5")]
mod hdf5_write;
mod hostile;
mod interop;
mod npy;
mod npz;
mod numpy_docs;
mod parity;
mod populate;
mod proptests;
mod raw;
mod records;
#[cfg(feature = "zarr")]
mod zarr;
