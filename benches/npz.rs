//! A member of a stored `.npz` archive mapped in place, against the same
//! array as a mapped `.npy`, side by side in one criterion run (hot files,
//! open + map + sum); opening a small member of a small and of a large
//! archive (it must not depend on the archive's size); and numpy's
//! `np.load(p)[name]` of the same member, which copies it.
//!
//! Sizes: `NDARRAY_MEMMAP_BENCH_SIZE=smoke` (4 MiB, for CI), unset
//! (256 MiB), `full` (2 GiB, the published figures).

mod common;

use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::{Array1, Array2, Ix1, Ix2};
use ndarray_memmap::{write_npy, MemmapOptions, NpzArchive, NpzWriter};

const COLS: usize = 512;

fn total_bytes() -> usize {
    common::bench_size(4 << 20, 256 << 20, 2 << 30)
}

/// The `.npy`, the archive holding the same array (`big`) and a small
/// member (`tiny`), and an archive holding only `tiny`; built once.
fn fixtures(bytes: usize) -> (PathBuf, PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let rows = bytes / 8 / COLS;
    let npy = dir.join(format!("npz_{rows}x{COLS}.npy"));
    let npz = dir.join(format!("npz_{rows}x{COLS}.npz"));
    let small = dir.join("npz_tiny.npz");
    let tiny = Array1::from_shape_fn(1000, |i| i as f64);
    if !npz.exists() || !npy.exists() {
        let big = Array2::from_shape_fn((rows, COLS), |(i, j)| ((i * COLS + j) % 1000) as f64);
        write_npy(&npy, &big).unwrap();
        let tmp = npz.with_extension("tmp");
        let mut writer = NpzWriter::create(&tmp).unwrap();
        writer.add("big", &big).unwrap();
        writer.add("tiny", &tiny).unwrap();
        writer.finish().unwrap();
        std::fs::rename(&tmp, &npz).unwrap();
    }
    if !small.exists() {
        let mut writer = NpzWriter::create(&small).unwrap();
        writer.add("tiny", &tiny).unwrap();
        writer.finish().unwrap();
    }
    (npy, npz, small)
}

/// Reads the file once so that its pages are in the page cache.
fn warm(path: &Path) {
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf).unwrap() > 0 {}
}

/// `np.load(p)[key]` timed inside Python, or `None` without numpy.
fn numpy_load_member<'a>(path: &'a Path, key: &'a str) -> Option<impl FnMut(u64) -> Duration + 'a> {
    const SCRIPT: &str = "
import sys, time, numpy as np
path, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.perf_counter()
for _ in range(n):
    with np.load(path) as f:
        f[key].sum()
print(time.perf_counter() - start)
";
    if !common::python_has("numpy", "np.load(p)[name]") {
        return None;
    }
    Some(move |iters: u64| {
        common::python_seconds(
            &[
                "-c".as_ref(),
                SCRIPT.as_ref(),
                path.as_os_str(),
                key.as_ref(),
            ],
            iters,
        )
    })
}

fn npz(c: &mut Criterion) {
    let bytes = total_bytes();
    let (npy, npz, small) = fixtures(bytes);
    for path in [&npy, &npz, &small] {
        warm(path);
    }
    let mut group = c.benchmark_group("npz_member");
    group
        .sample_size(10)
        .throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(BenchmarkId::new("map_and_sum", "npz_member"), |b| {
        b.iter(|| {
            let mut archive = NpzArchive::open(&npz).unwrap();
            // SAFETY: benchmark files are written once and only read here.
            let member = unsafe { archive.map::<f64, Ix2>("big") }.unwrap();
            black_box(member.sum())
        })
    });
    group.bench_function(BenchmarkId::new("map_and_sum", "npy"), |b| {
        b.iter(|| {
            // SAFETY: as above.
            let array = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&npy) }.unwrap();
            black_box(array.sum())
        })
    });
    if let Some(mut timer) = numpy_load_member(&npz, "big") {
        group.bench_function(
            BenchmarkId::new("map_and_sum", "numpy_np_load_member"),
            |b| b.iter_custom(&mut timer),
        );
    }
    group.finish();

    let mut group = c.benchmark_group("npz_open_member");
    for (label, archive) in [("small_archive", &small), ("large_archive", &npz)] {
        group.bench_function(BenchmarkId::new("open_and_map_tiny", label), |b| {
            b.iter(|| {
                let mut archive = NpzArchive::open(archive).unwrap();
                // SAFETY: as above.
                let tiny = unsafe { archive.map::<f64, Ix1>("tiny") }.unwrap();
                black_box(tiny[999])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, npz);
criterion_main!(benches);
