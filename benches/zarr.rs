//! A Zarr array with every chunk mapped in place, side by side in one
//! criterion run with the same array as a mapped `.npy`, with zarr-python
//! and with zarrs (files hot in the page cache):
//!
//! - `zarr_hot_sum`: a sum over every element (ours: each chunk mapped;
//!   the `.npy`: opened and mapped; zarr-python: `z[...].sum()`; zarrs:
//!   `retrieve_array_subset` of the whole array into a `Vec`, summed);
//! - `zarr_random_element`: one pseudo-random element, two ways: with
//!   the file holding it mapped for that element alone (ours: its chunk;
//!   the `.npy`: the whole file), and with everything mapped once
//!   (ours: `ZarrArray::mapped`, each chunk mapped on first touch; the
//!   `.npy`: one map); the peers open the array once and read one element;
//! - `zarr_write`: creating an array and writing an in-memory array into
//!   it (ours: `write_region`, each chunk synced and renamed; zarr-python:
//!   `z[...] = a`, not synced);
//! - and, printed, the anonymous memory a full scan of mapped chunks adds.
//!
//! Sizes: `NDARRAY_MEMMAP_BENCH_SIZE=smoke` (4 MiB, for CI), unset
//! (256 MiB; writes 128 MiB), `full` (2 GiB; writes 1 GiB: the issue's
//! figures); chunks of 1024 x 1024 `f64` (8 MiB).
//!
//! zarrs runs as a binary of its own (`benches/zarrs_peer`), so that it
//! never enters this crate's dependency graph or its MSRV check; build it
//! once with `cargo build --release --manifest-path benches/zarrs_peer/Cargo.toml`,
//! or its variants are skipped (with a message).

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::{Array2, Ix2};
use ndarray_memmap::{MemmapOptions, ZarrArray, ZarrArrayBuilder};

const COLS: usize = 1024;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data")
}

fn fixtures() -> (PathBuf, PathBuf, usize) {
    let bytes = common::bench_size(4 << 20, 256 << 20, 2 << 30);
    let rows = bytes / 8 / COLS;
    let dir = data_dir();
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
        // The .npy twin, written chunk by chunk through a map.
        // SAFETY: the benchmark's own new file; nothing else writes it.
        let mut twin = unsafe {
            MemmapOptions::new()
                .shape((rows, COLS))
                .create_npy::<f64, Ix2>(&npy)
        }
        .unwrap();
        let z = ZarrArray::open(&zarr).unwrap();
        // SAFETY: as above.
        for chunk in unsafe { z.chunks::<f64>() }.unwrap() {
            let chunk = chunk.unwrap();
            let start = chunk.origin()[0];
            let view = chunk.view().into_dimensionality::<Ix2>().unwrap();
            twin.slice_mut(ndarray::s![start..start + view.nrows(), ..])
                .assign(&view);
        }
        twin.close().unwrap();
    }
    (zarr, npy, rows)
}

/// The zarrs peer binary, if it was built.
fn zarrs_peer(skipping: &str) -> Option<PathBuf> {
    let exe = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("benches/zarrs_peer/target/release/zarrs-peer");
    if exe.is_file() {
        Some(exe)
    } else {
        eprintln!(
            "zarrs peer not built (cargo build --release --manifest-path benches/zarrs_peer/Cargo.toml): skipping {skipping}"
        );
        None
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/zarr_bench.py")
}

/// This process's anonymous resident memory (`RssAnon`), in bytes.
fn rss_anon() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The largest growth of anonymous memory during a scan of every chunk,
/// sampled after each chunk is summed.
fn scan_anon_growth(z: &ZarrArray) -> Option<u64> {
    let before = rss_anon()?;
    let mut peak = before;
    let mut total = 0.0;
    // SAFETY: the benchmark's own files; nothing else writes them.
    for chunk in unsafe { z.chunks::<f64>() }.unwrap() {
        total += chunk.unwrap().view().sum();
        peak = peak.max(rss_anon()?);
    }
    black_box(total);
    Some(peak - before)
}

fn zarr_vs_peers(c: &mut Criterion) {
    let (zarr, npy, rows) = fixtures();
    let z = ZarrArray::open(&zarr).unwrap();
    let chunk = z.chunk_shape().to_vec();
    if let Some(growth) = scan_anon_growth(&z) {
        eprintln!(
            "zarr full scan of {} MiB: anonymous memory grew by {:.1} MiB",
            (rows * COLS * 8) >> 20,
            growth as f64 / (1 << 20) as f64
        );
    }
    let mut group = c.benchmark_group("zarr_hot_sum");
    group.throughput(Throughput::Bytes((rows * COLS * 8) as u64));
    group.sample_size(10);
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
        group.bench_function("zarr_python_read_sum", |b| {
            b.iter_custom(|iters| {
                common::python_seconds(
                    &[script().as_os_str(), "sum".as_ref(), zarr.as_os_str()],
                    iters,
                )
            })
        });
    }
    if let Some(peer) = zarrs_peer("zarrs' whole-array read") {
        group.bench_function("zarrs_read_sum", |b| {
            b.iter_custom(|iters| {
                common::program_seconds(&peer, &["sum".as_ref(), zarr.as_os_str()], iters)
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
    // SAFETY: as above.
    let npy_map = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&npy) }.unwrap();
    group.bench_function("npy_mapped_element", |b| {
        b.iter(|| {
            let (i, j) = next();
            black_box(npy_map[[i, j]])
        })
    });
    // SAFETY: as above.
    let mapped = unsafe { z.mapped::<f64>() }.unwrap();
    group.bench_function("zarr_mapped_element", |b| {
        b.iter(|| {
            let (i, j) = next();
            black_box(mapped.get(&[i, j]).unwrap())
        })
    });
    if common::python_has("zarr", "zarr-python's z[i, j]") {
        group.bench_function("zarr_python_element", |b| {
            b.iter_custom(|iters| {
                common::python_seconds(
                    &[script().as_os_str(), "element".as_ref(), zarr.as_os_str()],
                    iters,
                )
            })
        });
    }
    if let Some(peer) = zarrs_peer("zarrs' element read") {
        group.bench_function("zarrs_element", |b| {
            b.iter_custom(|iters| {
                common::program_seconds(&peer, &["element".as_ref(), zarr.as_os_str()], iters)
            })
        });
    }
    group.finish();
    write_group(c);
}

/// Creating an array and writing an in-memory array into it.
fn write_group(c: &mut Criterion) {
    let bytes = common::bench_size(4 << 20, 128 << 20, 1 << 30);
    let rows = bytes / 8 / COLS;
    let chunk_rows = rows.min(1024);
    let dir = data_dir().join("zarr-write");
    std::fs::create_dir_all(&dir).unwrap();
    let data = Array2::from_shape_fn((rows, COLS), |(i, j)| (i * COLS + j) as f64);
    let mut group = c.benchmark_group("zarr_write");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("ours_write_region_synced", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for i in 0..iters {
                let target = dir.join(format!("ours-{i}.zarr"));
                let _ = std::fs::remove_dir_all(&target);
                let start = Instant::now();
                let z = ZarrArrayBuilder::new::<f64>(&[rows, COLS], &[chunk_rows, COLS])
                    .create(&target)
                    .unwrap();
                z.write_region(&[0, 0], &data).unwrap();
                z.finish().unwrap();
                elapsed += start.elapsed();
                remove(&target);
            }
            elapsed
        })
    });
    if common::python_has("zarr", "zarr-python's write") {
        let args: Vec<std::ffi::OsString> = vec![
            script().into(),
            "write".into(),
            dir.clone().into(),
            rows.to_string().into(),
            COLS.to_string().into(),
            chunk_rows.to_string().into(),
        ];
        group.bench_function("zarr_python_write", |b| {
            b.iter_custom(|iters| {
                let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
                common::python_seconds(&args, iters)
            })
        });
    }
    group.finish();
}

fn remove(path: &Path) {
    let _ = std::fs::remove_dir_all(path);
}

criterion_group!(benches, zarr_vs_peers);
criterion_main!(benches);
