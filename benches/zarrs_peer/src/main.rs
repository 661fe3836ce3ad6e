//! zarrs' side of `benches/zarr.rs`: prints the seconds it measured for
//! `iters` iterations (and a checksum, so that nothing is optimised away).
//!
//! `zarrs-peer element PATH ITERS`: open the array once, then read one
//! pseudo-random element per iteration (`retrieve_array_subset`).
//! `zarrs-peer sum PATH ITERS`: read the whole array into a `Vec<f64>`
//! and sum it, per iteration.
//!
//! Build: `cargo build --release --manifest-path benches/zarrs_peer/Cargo.toml`.

use std::sync::Arc;
use std::time::Instant;

use zarrs::array::{Array, ArraySubset};
use zarrs::filesystem::FilesystemStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (what, path, iters) = (&args[1], &args[2], args[3].parse::<u64>()?);
    let store = Arc::new(FilesystemStore::new(path)?);
    let array = Array::open(store, "/")?;
    let shape = array.shape().to_vec();
    let (rows, cols) = (shape[0], shape[1]);
    let start = Instant::now();
    let mut total = 0.0f64;
    for i in 0..iters {
        if what == "element" {
            let k = (i.wrapping_add(1)).wrapping_mul(2_654_435_761) % (rows * cols);
            let (r, c) = (k / cols, k % cols);
            let subset = ArraySubset::new_with_ranges(&[r..r + 1, c..c + 1]);
            let values: Vec<f64> = array.retrieve_array_subset(&subset)?;
            total += values[0];
        } else {
            let subset = ArraySubset::new_with_ranges(&[0..rows, 0..cols]);
            let values: Vec<f64> = array.retrieve_array_subset(&subset)?;
            total += values.iter().sum::<f64>();
        }
    }
    println!("{} {total}", start.elapsed().as_secs_f64());
    Ok(())
}
