//! Fuzzes the Zarr metadata parser (v3 `zarr.json`, v2 `.zarray` with
//! `.zattrs`): any input must give metadata or a typed error, never a
//! panic, a hang or an allocation the input does not hold; parsed metadata
//! must answer every question about its grid without overflowing.
//!
//! Run (stable toolchain), seeded with documents zarr-python wrote:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run zarr_metadata fuzz/corpus/zarr_metadata fuzz/seeds_zarr`
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndarray_memmap::{Error, ZarrMetadata};

fn exercise(parsed: Result<ZarrMetadata, Error>) {
    match parsed {
        Ok(meta) => {
            let grid = meta.grid_shape();
            assert_eq!(grid.len(), meta.shape().len());
            let last: Vec<usize> = grid.iter().map(|n| n.saturating_sub(1)).collect();
            let _ = (meta.chunk_key(&last), meta.fill_value_json(), meta.dimension_names());
        }
        Err(Error::ZarrMetadata { .. } | Error::ZarrUnsupported { .. } | Error::UnsupportedDtype { .. }) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(ZarrMetadata::from_v3(data));
    // The same bytes as a .zarray, and split into .zarray and .zattrs.
    exercise(ZarrMetadata::from_v2(data, None));
    if let Some(split) = data.iter().position(|&b| b == 0) {
        exercise(ZarrMetadata::from_v2(&data[..split], Some(&data[split + 1..])));
    }
});
