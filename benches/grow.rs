//! Appending rows to a growing `.npy` file, side by side in one criterion
//! run: this crate's `Growable` (rows of 4 KiB and blocks of 1 MiB), one
//! `write_npy` of the whole array held in memory, and the PyPI package
//! `npy-append-array` doing the same appends. Every variant ends durable
//! (`close` syncs; the others `fsync`), from a deleted target.
//!
//! Sizes: `NDARRAY_MEMMAP_BENCH_SIZE=smoke` (4 MiB, for CI), unset (64 MiB),
//! `full` (1 GiB, the published figures).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use ndarray::{Array2, Axis};
use ndarray_memmap::{write_npy, MemmapExt};

/// 512 f64: a row is 4 KiB.
const COLS: usize = 512;

fn total_bytes() -> usize {
    common::bench_size(4 << 20, 64 << 20, 1 << 30)
}

/// Each variant starts from a deleted target; the unlink (of a 1 GiB file,
/// tens of milliseconds) is not timed, as on the Python side.
fn fresh(path: &Path) {
    let _ = std::fs::remove_file(path);
}

fn append_all(path: &Path, data: &Array2<f64>, chunk_rows: usize) {
    // SAFETY: the benchmark's own file, in its own directory.
    let mut out = unsafe { Array2::<f64>::create_npy(path, (0, COLS)) }
        .unwrap()
        .into_growable()
        .unwrap();
    for block in data.axis_chunks_iter(Axis(0), chunk_rows) {
        out.append(&block).unwrap();
    }
    out.close().unwrap();
}

fn write_once(path: &Path, data: &Array2<f64>) {
    write_npy(path, data).unwrap();
    std::fs::File::open(path).unwrap().sync_all().unwrap();
}

/// `iter_custom` timing of npy-append-array, or `None` without it.
fn npy_append_array<'a>(
    path: &'a Path,
    rows: usize,
    chunk_rows: usize,
) -> Option<impl FnMut(u64) -> Duration + 'a> {
    if !common::python_has("npy_append_array", "its side") {
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/append_bench.py");
    Some(move |iters: u64| {
        let [rows, cols, chunk] = [rows, COLS, chunk_rows].map(|n| n.to_string());
        common::python_seconds(
            &[
                script.as_ref(),
                path.as_os_str(),
                rows.as_ref(),
                cols.as_ref(),
                chunk.as_ref(),
            ],
            iters,
        )
    })
}

/// What both append groups work on: the rows in memory and a target path
/// in a directory of their own (removed when dropped).
struct Setup {
    bytes: usize,
    rows: usize,
    data: Array2<f64>,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let bytes = total_bytes();
        let rows = bytes / (COLS * 8);
        let data = Array2::from_shape_fn((rows, COLS), |(i, j)| (i * COLS + j) as f64);
        std::fs::create_dir_all("target").unwrap();
        let dir = tempfile::tempdir_in("target").unwrap();
        let path = dir.path().join("grown.npy");
        Setup {
            bytes,
            rows,
            data,
            _dir: dir,
            path,
        }
    }
}

fn append(c: &mut Criterion) {
    let Setup {
        bytes,
        rows,
        data,
        _dir,
        path,
    } = Setup::new();
    let mut group = c.benchmark_group("append");
    group
        .throughput(Throughput::Bytes(bytes as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(if bytes >= 1 << 30 { 60 } else { 10 }));
    for (label, chunk_rows) in [("4KiB", 1), ("1MiB", 256)] {
        group.bench_function(BenchmarkId::new("growable", label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    fresh(&path);
                    let start = Instant::now();
                    append_all(&path, &data, chunk_rows);
                    total += start.elapsed();
                }
                total
            })
        });
        if let Some(mut timer) = npy_append_array(&path, rows, chunk_rows) {
            group.bench_function(BenchmarkId::new("npy_append_array", label), |b| {
                b.iter_custom(&mut timer)
            });
        }
    }
    group.bench_function(BenchmarkId::new("write_npy_once", "whole"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                fresh(&path);
                let start = Instant::now();
                write_once(&path, &data);
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

/// The comparisons of `append`, interleaved: every round runs each variant
/// once (starting one variant later than the round before), so slow and
/// fast periods of the shared disk hit all variants alike. Prints each
/// round's seconds, the medians and the spread (max - min) across rounds,
/// and writes them to `target/criterion/append_interleaved.json`.
/// `NDARRAY_MEMMAP_BENCH_ROUNDS` sets the number of counted rounds (default
/// 5), after one warm-up round.
fn interleaved(_: &mut Criterion) {
    let Setup {
        bytes,
        rows,
        data,
        _dir,
        path,
    } = Setup::new();
    let rounds: usize = std::env::var("NDARRAY_MEMMAP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if bytes <= 4 << 20 { 1 } else { 5 });
    type Run<'a> = Box<dyn FnMut() -> Duration + 'a>;
    let mut variants: Vec<(String, Run<'_>)> = Vec::new();
    for (label, chunk_rows) in [("1MiB", 256), ("4KiB", 1)] {
        let (data, path) = (&data, &path);
        variants.push((
            format!("growable/{label}"),
            Box::new(move || {
                fresh(path);
                let start = Instant::now();
                append_all(path, data, chunk_rows);
                start.elapsed()
            }),
        ));
        if let Some(mut timer) = npy_append_array(path, rows, chunk_rows) {
            variants.push((
                format!("npy_append_array/{label}"),
                Box::new(move || {
                    fresh(path);
                    timer(1)
                }),
            ));
        }
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    // Round 0 warms up and is not counted: on this virtual machine the
    // first gigabyte of page cache a run touches is memory the host took
    // back (free page reporting), several times slower to fill, and only
    // whichever variant comes first pays for it.
    for round in 0..=rounds {
        let count = variants.len();
        for i in (0..count).map(|k| (k + round) % count) {
            // Every variant starts with the previous one's writes on disk.
            fresh(&path);
            common::sync_all();
            let seconds = (variants[i].1)().as_secs_f64();
            let counted = if round == 0 { " (warm-up)" } else { "" };
            println!("round {round} {:28} {seconds:.3} s{counted}", variants[i].0);
            if round > 0 {
                times[i].push(seconds);
            }
        }
    }
    let mut entries = Vec::new();
    for ((name, _), t) in variants.iter().zip(&times) {
        let (median, spread) = common::median_and_spread(t);
        println!(
            "interleaved {name:28} median {median:.3} s, spread {spread:.3} s over {} rounds",
            t.len()
        );
        entries.push(format!(
            "\"{name}\": {{\"rounds\": {t:?}, \"median\": {median}, \"spread\": {spread}}}"
        ));
    }
    let out = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/criterion/append_interleaved.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(out, format!("{{{}}}", entries.join(", "))).unwrap();
}

criterion_group!(benches, append, interleaved);
criterion_main!(benches);
