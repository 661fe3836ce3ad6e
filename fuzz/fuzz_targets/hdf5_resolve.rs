//! Fuzzes the HDF5 metadata resolver: superblock, object headers with
//! continuations, the three group forms, the dataset messages and every
//! chunk index. Any file must give a description or a typed error, never a
//! panic, a hang or an allocation the input does not hold.
//!
//! The first byte picks the path looked up; the rest is the file.
//! Run (stable toolchain), seeded with files h5py wrote:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run hdf5_resolve fuzz/corpus/hdf5_resolve fuzz/seeds_hdf5`
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndarray_memmap::{resolve_hdf5_dataset, Error};

const PATHS: [&str; 5] = ["/c", "/g/d3", "/g/s", "/x", "/g"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else { return };
    let path = PATHS[usize::from(pick) % PATHS.len()];
    match resolve_hdf5_dataset(file, path) {
        Ok((dataset, chunks)) => {
            let _ = (dataset.shape(), dataset.descr(), dataset.mappable(), dataset.address());
            for chunk in chunks {
                assert_eq!(chunk.origin.len(), dataset.shape().len());
            }
        }
        Err(Error::Hdf5Metadata { .. } | Error::Hdf5NotFound { .. } | Error::Hdf5Unsupported { .. } | Error::Io { .. }) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
});
