//! A Zarr array with every chunk mapped in place, against the same array
//! as a mapped `.npy`, side by side in one criterion run (hot files): a
//! sum over every element, and one pseudo-random element (each time the
//! file holding it is mapped: the chunk, or the whole `.npy`); and
//! zarr-python's `z[i, j]` and `z[...].sum()` of the same array.
//!
//! Sizes: `NDARRAY_MEMMAP_BENCH_SIZE=smoke` (4 MiB, for CI), unset
//! (256 MiB), `full` (2 GiB, the figure); chunks of 1024 x 1024
//! `f64` (8 MiB).

mod common;

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::{Array2, Ix2};
use ndarray_memmap::{MemmapOptions, ZarrArray, ZarrArrayBuilder};

const COLS: usize = 1024;

fn fixtures() -> (PathBuf, PathBuf, usize) {
    let bytes = common::bench_size(4 << 20, 256 << 20, 2 << 30);
    let rows = bytes / 8 / COLS;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let npy = dir.join(format!("zarr-twin-{rows}.npy"));
    let zarr = dir.join(format!("zarr-{rows}.zarr"));
    if !zarr.join("zarr.json").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&zarr);
        let chunk_rows = rows.min(1024);
        let z = ZarrArrayBuilder::new::<f64>(&[rows, COLS], &[chunk_rows, COLS])
            .create(&zarr)
            .unwrap();
        let block = Array2::from_shape_fn((chunk_rows, COLS), |(i, j)| (i ^ j) as f64 + 0.5);
        for start in (0..rows).step_by(chunk_rows) {
            let n = chunk_rows.min(rows - start);
            z.write_region(&[start, 0], &block.slice(ndarray::s![..n, ..]))
                .unwrap();
        }
        z.finish().unwrap();
        let whole = ZarrArray::open(&zarr).unwrap().read::<f64>().unwrap();
        ndarray_memmap::write_npy(&npy, &whole).unwrap();
    }
    (zarr, npy, rows)
}

fn zarr_vs_npy(c: &mut Criterion) {
    let (zarr, npy, rows) = fixtures();
    let z = ZarrArray::open(&zarr).unwrap();
    let chunk = z.chunk_shape().to_vec();
    let mut group = c.benchmark_group("zarr_hot_sum");
    group.throughput(Throughput::Bytes((rows * COLS * 8) as u64));
    group.bench_function("npy_mapped", |b| {
        b.iter(|| {
            // SAFETY: the benchmark's own file; nothing else writes it.
            let a = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&npy) }.unwrap();
            black_box(a.sum())
        })
    });
    group.bench_function("zarr_chunks_mapped", |b| {
        b.iter(|| {
            let mut total = 0.0;
            // SAFETY: as above.
            for chunk in unsafe { z.chunks::<f64>() }.unwrap() {
                total += chunk.unwrap().view().sum();
            }
            black_box(total)
        })
    });
    if common::python_has("zarr", "zarr-python's z[...].sum()") {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/zarr_bench.py");
        group.bench_function("zarr_python_read_sum", |b| {
            b.iter_custom(|iters| {
                common::python_seconds(
                    &[script.as_os_str(), "sum".as_ref(), zarr.as_os_str()],
                    iters,
                )
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("zarr_random_element");
    let mut k = 0usize;
    let mut next = move || {
        k = k.wrapping_add(1);
        let flat = k.wrapping_mul(2_654_435_761) % (rows * COLS);
        (flat / COLS, flat % COLS)
    };
    group.bench_function("npy_open_and_element", |b| {
        b.iter(|| {
            let (i, j) = next();
            // SAFETY: as above.
            let a = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&npy) }.unwrap();
            black_box(a[[i, j]])
        })
    });
    group.bench_function("zarr_chunk_map_and_element", |b| {
        b.iter(|| {
            let (i, j) = next();
            // SAFETY: as above.
            let c = unsafe { z.chunk::<f64>(&[i / chunk[0], j / chunk[1]]) }.unwrap();
            black_box(c.view()[[i % chunk[0], j % chunk[1]]])
        })
    });
    if common::python_has("zarr", "zarr-python's z[i, j]") {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/zarr_bench.py");
        group.bench_function("zarr_python_element", |b| {
            b.iter_custom(|iters| {
                common::python_seconds(
                    &[script.as_os_str(), "element".as_ref(), zarr.as_os_str()],
                    iters,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, zarr_vs_npy);
criterion_main!(benches);
