//! Criterion benchmarks: disk-backed against in-memory, against `read()`,
//! `pread`, `std::fs` and ndarray-npy, each side by side in one run.
//!
//! Sizes: `NDARRAY_MEMMAP_BENCH_SIZE=smoke` (4 MiB, for CI), unset (256 MiB),
//! `full` (2 GiB, the published figures). Data files are built once in
//! `NDARRAY_MEMMAP_BENCH_DIR` (default `target/bench-data`), outside every
//! measured closure. `benches/report.py` turns the results into ratios.
#![allow(unsafe_code)] // the page-cache helpers call libc; each block has its proof
#![allow(missing_docs)] // criterion's macros generate undocumented items

mod common;

use std::fs::File;
use std::hint::black_box;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use ndarray::{Array2, ArrayView2, Axis, Ix1, Ix2};
use ndarray_memmap::{read_npy, Advice, Memmap, MemmapOptions, Populate};

/// Columns of the 2-D benchmark array: one row is 4 KiB of f64.
const COLS: usize = 512;

/// Rows per block of the chunked scans: 8 MiB.
const CHUNK_ROWS: usize = 2048;

struct Config {
    name: &'static str,
    bytes: usize,
    dir: PathBuf,
}

fn config() -> Config {
    let (name, bytes) = match std::env::var("NDARRAY_MEMMAP_BENCH_SIZE").as_deref() {
        Ok("smoke") => ("smoke", 4 << 20),
        Ok("full") => ("full", 2 << 30),
        _ => ("default", 256 << 20),
    };
    let dir = std::env::var_os("NDARRAY_MEMMAP_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"));
    std::fs::create_dir_all(&dir).expect("create the benchmark data directory");
    Config { name, bytes, dir }
}

/// A `.npy` file of `bytes / 8` f64 values shaped `(rows, COLS)`, built once.
fn fixture(dir: &Path, bytes: usize) -> PathBuf {
    let rows = bytes / 8 / COLS;
    let path = dir.join(format!("sum_{rows}x{COLS}.npy"));
    let expected_len = 128 + (rows * COLS * 8) as u64;
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(expected_len) {
        let tmp = path.with_extension("tmp");
        // SAFETY: a new file in the benchmark's own directory.
        let mut a = unsafe {
            MemmapOptions::new()
                .shape((rows, COLS))
                .create_npy::<f64, Ix2>(&tmp)
        }
        .unwrap();
        a.iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = (i % 1000) as f64 * 1e-3);
        a.close().unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

/// Drops the file's pages from the page cache (after writing back dirty ones).
fn evict(path: &Path) {
    use std::os::fd::AsRawFd;
    let file = File::open(path).unwrap();
    file.sync_all().unwrap();
    // SAFETY: posix_fadvise only reads its integer arguments and the
    // descriptor, which `file` keeps open for the call.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise failed");
}

/// Fraction of the file's pages in the page cache, by `mincore`.
fn resident_fraction(path: &Path) -> f64 {
    let file = File::open(path).unwrap();
    // SAFETY: read-only map of a benchmark file nothing else writes; used only
    // for mincore, never read through.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    let page = 4096;
    let pages = map.len().div_ceil(page);
    let mut vec = vec![0u8; pages];
    // SAFETY: `map` is a live mapping of `map.len()` bytes starting at a page
    // boundary, and `vec` has one byte per page of it, as mincore requires.
    let rc = unsafe {
        libc::mincore(
            map.as_ptr() as *mut libc::c_void,
            map.len(),
            vec.as_mut_ptr(),
        )
    };
    assert_eq!(rc, 0, "mincore failed");
    vec.iter().filter(|&&b| b & 1 == 1).count() as f64 / pages.max(1) as f64
}

/// Evicts and checks that it worked, so a "cold" figure is really cold.
fn evict_checked(path: &Path) {
    evict(path);
    let resident = resident_fraction(path);
    assert!(
        resident < 0.01,
        "eviction failed: {:.1}% still cached",
        resident * 100.0
    );
}

/// A timing routine for `iter_custom` that evicts the file before each
/// iteration and times only `work`.
fn cold<'a>(path: &'a Path, work: &'a dyn Fn() -> f64) -> impl FnMut(u64) -> Duration + 'a {
    move |iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            evict_checked(path);
            let start = Instant::now();
            black_box(work());
            total += start.elapsed();
        }
        total
    }
}

/// A timing routine for `iter_custom` that deletes `target` and lets earlier
/// write-back finish before each iteration (untimed), and times only `work`.
fn on_new_file<'a>(target: &'a Path, work: &'a dyn Fn()) -> impl FnMut(u64) -> Duration + 'a {
    move |iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            fresh_target(target);
            let start = Instant::now();
            work();
            total += start.elapsed();
        }
        total
    }
}

/// Deletes `target` and waits for all write-back, so that no iteration pays
/// for the dirty pages of the one before.
fn fresh_target(target: &Path) {
    let _ = std::fs::remove_file(target);
    // SAFETY: sync takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// Fills `n` f64 with the benchmark's values, in place.
fn fill(values: &mut ndarray::ArrayRef1<f64>) {
    values
        .iter_mut()
        .enumerate()
        .for_each(|(i, x)| *x = (i % 1000) as f64);
}

/// Creates `target` as `n` f64 through a map, fills it and closes it,
/// waiting for the disk or not.
fn create_fill(target: &Path, n: usize, preallocate: bool, populate: Populate, durable: bool) {
    // SAFETY: the benchmark's own file.
    let mut g = unsafe {
        MemmapOptions::new()
            .shape(n)
            .preallocate(preallocate)
            .populate(populate)
            .create_raw::<f64, Ix1>(target)
    }
    .unwrap();
    fill(&mut g);
    if durable {
        g.close().unwrap();
    } else {
        g.close_async().unwrap();
    }
}

/// The in-memory way to the same file: compute the array, then write it.
fn compute_then_write(target: &Path, n: usize) {
    let mut values = ndarray::Array1::<f64>::zeros(n);
    fill(&mut values);
    std::fs::write(target, bytemuck::cast_slice(values.as_slice().unwrap())).unwrap();
}

/// Puts the whole file in the page cache with one sequential read after
/// eviction: the state a file is in after it was written or read once, with
/// page-cache folios as large as readahead makes them.
///
/// With `NDARRAY_MEMMAP_BENCH_COMPACT=1` it first asks the kernel to compact
/// free memory (needs root), so that read-ahead can allocate large folios:
/// how large they are decides how many page-table entries a map of a hot
/// file needs, and it otherwise depends on how fragmented earlier work left
/// memory. `docs/performance.md` reports the hot group both ways.
fn warm(path: &Path) {
    if std::env::var_os("NDARRAY_MEMMAP_BENCH_COMPACT").is_some_and(|v| v == "1") {
        if let Err(e) = std::fs::write("/proc/sys/vm/compact_memory", "1") {
            eprintln!("cannot compact memory ({e}): measuring as is");
        }
    }
    evict(path);
    let mut f = File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf).unwrap() > 0 {}
}

/// ndarray's sum of a 2-D view: the same reduction everywhere below.
fn sum(view: ArrayView2<'_, f64>) -> f64 {
    view.sum()
}

/// Sums the data of a benchmark `.npy` file with 4 MiB `read()` calls.
fn read_chunks_sum(path: &Path) -> f64 {
    let mut f = File::open(path).unwrap();
    let mut buf = vec![0u8; 4 << 20];
    f.read_exact(&mut buf[..128]).unwrap();
    let mut total = 0.0;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break total;
        }
        total += sum_bytes(&buf[..n]);
    }
}

fn sum_bytes(bytes: &[u8]) -> f64 {
    // Data after a 128-byte header is 8-aligned in the file, not in a Vec<u8>.
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_ne_bytes(c.try_into().unwrap()))
        .sum()
}

/// A timing routine for `iter_custom` that asks NumPy (benches/numpy_bench.py)
/// to run measurement `name` `iters` times on `path` and report the total,
/// so NumPy's figures come from the same run as ours. `None` without NumPy.
fn numpy<'a>(name: &'static str, path: &'a Path) -> Option<impl FnMut(u64) -> Duration + 'a> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/numpy_bench.py");
    if !common::python_has("numpy", &format!("the numpy side of {name}")) {
        return None;
    }
    Some(move |iters: u64| {
        common::python_seconds(
            &[
                script.as_ref(),
                "one".as_ref(),
                name.as_ref(),
                path.as_os_str(),
            ],
            iters,
        )
    })
}

/// Maps a benchmark file read-only.
fn map_npy(options: &MemmapOptions, path: &Path) -> Memmap<f64, Ix2> {
    // SAFETY: benchmark files are written once by `fixture` and only read afterwards.
    unsafe { options.open_npy(path) }.unwrap()
}

fn open_latency(c: &mut Criterion) {
    let cfg = config();
    let small = fixture(&cfg.dir, 1 << 20);
    let large = fixture(&cfg.dir, cfg.bytes);
    warm(&small);
    let mut group = c.benchmark_group("open");
    for (label, path) in [("1MiB", &small), (cfg.name, &large)] {
        if let Some(mut timer) = numpy("open_memmap", path) {
            group.bench_function(BenchmarkId::new("numpy_memmap", label), |b| {
                b.iter_custom(&mut timer)
            });
        }
        if let Some(mut timer) = numpy("open_load_mmap", path) {
            group.bench_function(BenchmarkId::new("numpy_load_mmap", label), |b| {
                b.iter_custom(&mut timer)
            });
        }
        group.bench_function(BenchmarkId::new("open_npy", label), |b| {
            b.iter(|| black_box(map_npy(&MemmapOptions::new(), path)))
        });
        group.bench_function(BenchmarkId::new("open_raw", label), |b| {
            b.iter(|| {
                // SAFETY: benchmark files are written once and only read here.
                let map = unsafe { MemmapOptions::new().offset(128).open_raw::<f64, Ix1>(path) };
                black_box(map.unwrap())
            })
        });
    }
    group.finish();
}

/// `read_npy` (into the array's own buffer) against ndarray-npy's
/// `read_npy`, on hot files of 4 KiB, 1 MiB and the configured size.
fn read_copy(c: &mut Criterion) {
    let cfg = config();
    let mut group = c.benchmark_group("read_copy");
    group.sample_size(10);
    for (label, bytes) in [("4KiB", 4 << 10), ("1MiB", 1 << 20), (cfg.name, cfg.bytes)] {
        let path = fixture(&cfg.dir, bytes);
        warm(&path);
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(BenchmarkId::new("read_npy", label), |b| {
            b.iter(|| black_box(read_npy::<f64, Ix2>(&path).unwrap()))
        });
        group.bench_function(BenchmarkId::new("ndarray_npy", label), |b| {
            b.iter(|| black_box(ndarray_npy::read_npy::<_, Array2<f64>>(&path).unwrap()))
        });
    }
    group.finish();
}

fn hot_sum(c: &mut Criterion) {
    let cfg = config();
    let path = fixture(&cfg.dir, cfg.bytes);
    warm(&path);
    let in_memory: Array2<f64> = read_npy(&path).unwrap();
    // SAFETY: as above.
    let open = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&path) }.unwrap();
    let mut group = c.benchmark_group("hot_sum");
    group
        .throughput(Throughput::Bytes(cfg.bytes as u64))
        .sample_size(20);
    group.bench_function("in_memory", |b| b.iter(|| black_box(sum(in_memory.view()))));
    group.bench_function("open_guard", |b| b.iter(|| black_box(sum(open.view()))));
    group.bench_function("fresh_guard", |b| {
        b.iter(|| {
            // SAFETY: as above.
            let g = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&path) }.unwrap();
            black_box(sum(g.view()))
        })
    });
    group.bench_function("fresh_guard_populate", |b| {
        b.iter(|| {
            // SAFETY: as above.
            let g = unsafe {
                MemmapOptions::new()
                    .populate(Populate::AtOpen)
                    .open_npy::<f64, Ix2>(&path)
            }
            .unwrap();
            black_box(sum(g.view()))
        })
    });
    group.bench_function("fresh_guard_background", |b| {
        b.iter(|| {
            let g = map_npy(MemmapOptions::new().populate(Populate::Background), &path);
            black_box(sum(g.view()))
        })
    });
    for name in [
        "hot_sum_fresh_memmap",
        "hot_sum_open_memmap",
        "hot_sum_in_memory",
    ] {
        if let Some(mut timer) = numpy(name, &path) {
            group.bench_function(format!("numpy_{name}"), |b| b.iter_custom(&mut timer));
        }
    }
    group.bench_function("naive_iter_sum", |b| {
        b.iter(|| black_box(open.iter().sum::<f64>()))
    });
    group.bench_function("fs_read_then_sum", |b| {
        b.iter(|| black_box(sum_bytes(&std::fs::read(&path).unwrap()[128..])))
    });
    group.finish();
}

fn cold_sum(c: &mut Criterion) {
    let cfg = config();
    let path = fixture(&cfg.dir, cfg.bytes);
    let mut group = c.benchmark_group("cold_sum");
    group
        .throughput(Throughput::Bytes(cfg.bytes as u64))
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(if cfg.name == "full" { 20 } else { 5 }));
    let guard_sum = |advice: Option<Advice>| {
        let path = path.clone();
        move || {
            let mut options = MemmapOptions::new();
            if let Some(advice) = advice {
                options.advice(advice);
            }
            // SAFETY: as above.
            let g = unsafe { options.open_npy::<f64, Ix2>(&path) }.unwrap();
            sum(g.view())
        }
    };
    for (name, advice) in [
        ("guard_no_hint", None),
        ("guard_sequential", Some(Advice::Sequential)),
        ("guard_willneed", Some(Advice::WillNeed)),
    ] {
        let work = guard_sum(advice);
        group.bench_function(name, |b| b.iter_custom(cold(&path, &work)));
    }
    let background =
        || sum(map_npy(MemmapOptions::new().populate(Populate::Background), &path).view());
    group.bench_function("guard_background", |b| {
        b.iter_custom(cold(&path, &background))
    });
    let chunked = || {
        // SAFETY: as above.
        let g = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&path) }.unwrap();
        g.chunks(4096).map(sum).sum::<f64>()
    };
    group.bench_function("guard_chunks", |b| b.iter_custom(cold(&path, &chunked)));
    let prefetched = || {
        let g = map_npy(&MemmapOptions::new(), &path);
        g.chunks(4096).prefetch(true).map(sum).sum::<f64>()
    };
    group.bench_function("guard_chunks_prefetch", |b| {
        b.iter_custom(cold(&path, &prefetched))
    });
    let sequential_chunks = || {
        let g = map_npy(MemmapOptions::new().advice(Advice::Sequential), &path);
        g.chunks(4096).map(sum).sum::<f64>()
    };
    group.bench_function("guard_chunks_sequential", |b| {
        b.iter_custom(cold(&path, &sequential_chunks))
    });
    let read_chunks = || read_chunks_sum(&path);
    if let Some(mut timer) = numpy("cold_sum_memmap", &path) {
        group.bench_function("numpy_memmap", |b| b.iter_custom(&mut timer));
    }
    group.bench_function("read_chunks", |b| b.iter_custom(cold(&path, &read_chunks)));
    let fs_read = || sum_bytes(&std::fs::read(&path).unwrap()[128..]);
    group.bench_function("fs_read", |b| b.iter_custom(cold(&path, &fs_read)));
    let npy_crate = || {
        ndarray_npy::read_npy::<_, Array2<f64>>(&path)
            .unwrap()
            .sum()
    };
    group.bench_function("ndarray_npy_read", |b| {
        b.iter_custom(cold(&path, &npy_crate))
    });
    group.finish();
}

fn partial(c: &mut Criterion) {
    let cfg = config();
    let path = fixture(&cfg.dir, cfg.bytes);
    let rows = cfg.bytes / 8 / COLS;
    let picks: Vec<usize> = (0..1000u64)
        .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) as usize % rows)
        .collect();
    let row_bytes = COLS * 8;
    let mut group = c.benchmark_group("partial");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    let open = |advice: Advice| {
        // SAFETY: as above.
        unsafe {
            MemmapOptions::new()
                .advice(advice)
                .open_npy::<f64, Ix2>(&path)
        }
        .unwrap()
    };
    let pread_row = |file: &File, row: usize| {
        let mut buf = vec![0u8; row_bytes];
        file.read_exact_at(&mut buf, 128 + (row * row_bytes) as u64)
            .unwrap();
        sum_bytes(&buf)
    };
    warm(&path);
    let hot = open(Advice::Normal);
    let file = File::open(&path).unwrap();
    group.bench_function("hot_one_row_guard", |b| {
        b.iter(|| black_box(hot.row(rows / 2).sum()))
    });
    group.bench_function("hot_one_row_pread", |b| {
        b.iter(|| black_box(pread_row(&file, rows / 2)))
    });
    group.bench_function("hot_one_row_read_whole_file", |b| {
        b.iter(|| {
            black_box(sum_bytes(
                &std::fs::read(&path).unwrap()[128 + rows / 2 * row_bytes..][..row_bytes],
            ))
        })
    });
    group.bench_function("hot_1000_rows_guard", |b| {
        b.iter(|| black_box(picks.iter().map(|&r| hot.row(r).sum()).sum::<f64>()))
    });
    for name in ["hot_one_row", "hot_1000_rows"] {
        if let Some(mut timer) = numpy(name, &path) {
            group.bench_function(format!("numpy_{name}"), |b| b.iter_custom(&mut timer));
        }
    }
    group.bench_function("hot_1000_rows_pread", |b| {
        b.iter(|| black_box(picks.iter().map(|&r| pread_row(&file, r)).sum::<f64>()))
    });
    drop(hot);
    for (name, advice) in [
        ("cold_one_element_guard_default", Advice::Normal),
        ("cold_one_element_guard_random", Advice::Random),
    ] {
        let work = || open(advice)[[rows - 1, COLS - 1]];
        group.bench_function(name, |b| b.iter_custom(cold(&path, &work)));
    }
    let work = || {
        let mut buf = [0u8; 8];
        File::open(&path)
            .unwrap()
            .read_exact_at(&mut buf, 128 + (rows * row_bytes - 8) as u64)
            .unwrap();
        f64::from_ne_bytes(buf)
    };
    group.bench_function("cold_one_element_pread", |b| {
        b.iter_custom(cold(&path, &work))
    });
    // A raw map knows the data offset like `pread` does, so it needs no header read.
    let work = || {
        let mut options = MemmapOptions::new();
        options.offset(128).advice(Advice::Random);
        // SAFETY: benchmark files are written once and only read here.
        let g = unsafe { options.open_raw::<f64, Ix1>(&path) }.unwrap();
        g[g.len() - 1]
    };
    for name in ["cold_one_element_load_mmap", "cold_one_element_memmap"] {
        if let Some(mut timer) = numpy(name, &path) {
            group.bench_function(format!("numpy_{name}"), |b| b.iter_custom(&mut timer));
        }
    }
    group.bench_function("cold_one_element_raw_guard_random", |b| {
        b.iter_custom(cold(&path, &work))
    });
    for (name, advice) in [
        ("cold_1000_rows_guard_default", Advice::Normal),
        ("cold_1000_rows_guard_random", Advice::Random),
    ] {
        let work = || {
            let g = open(advice);
            picks.iter().map(|&r| g.row(r).sum()).sum::<f64>()
        };
        group.bench_function(name, |b| b.iter_custom(cold(&path, &work)));
    }
    let work = || {
        let f = File::open(&path).unwrap();
        picks.iter().map(|&r| pread_row(&f, r)).sum::<f64>()
    };
    group.bench_function("cold_1000_rows_pread", |b| {
        b.iter_custom(cold(&path, &work))
    });
    group.finish();
}

fn write(c: &mut Criterion) {
    let cfg = config();
    let bytes = cfg.bytes.min(1 << 30);
    let n = bytes / 8;
    let target = cfg.dir.join("write_target.bin");
    let data: Vec<u8> = (0..n)
        .flat_map(|i| ((i % 1000) as f64).to_ne_bytes())
        .collect();
    let mut group = c.benchmark_group("write");
    group
        .throughput(Throughput::Bytes(bytes as u64))
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat);
    // (name, preallocate, populate, wait for the disk at the end)
    for (name, preallocate, populate, durable) in [
        (
            "create_fill_flush_preallocated",
            true,
            Populate::OnAccess,
            true,
        ),
        ("create_fill_flush_sparse", false, Populate::OnAccess, true),
        (
            "create_fill_flush_background",
            true,
            Populate::Background,
            true,
        ),
        ("create_fill_close_async", true, Populate::OnAccess, false),
        (
            "create_fill_close_async_background",
            true,
            Populate::Background,
            false,
        ),
    ] {
        let create_fill = || create_fill(&target, n, preallocate, populate, durable);
        group.bench_function(name, |b| b.iter_custom(on_new_file(&target, &create_fill)));
    }
    let compute_write = || compute_then_write(&target, n);
    group.bench_function("compute_then_std_fs_write", |b| {
        b.iter_custom(on_new_file(&target, &compute_write))
    });
    let write_no_sync = || std::fs::write(&target, &data).unwrap();
    group.bench_function("std_fs_write_no_sync", |b| {
        b.iter_custom(on_new_file(&target, &write_no_sync))
    });
    // NumPy sizes its write from the data file, as this group does.
    let source = fixture(&cfg.dir, cfg.bytes);
    if let Some(mut timer) = numpy("create_fill_flush", &source) {
        group.bench_function("numpy_create_fill_flush", |b| b.iter_custom(&mut timer));
    }
    let write_then_sync = || {
        let mut f = File::create(&target).unwrap();
        f.write_all(&data).unwrap();
        f.sync_all().unwrap();
    };
    group.bench_function("std_fs_write_then_sync", |b| {
        b.iter_custom(on_new_file(&target, &write_then_sync))
    });
    group.finish();
    let _ = std::fs::remove_file(&target);
}

#[cfg(feature = "rayon")]
fn parallel(c: &mut Criterion) {
    use ndarray::parallel::prelude::*;
    let cfg = config();
    let path = fixture(&cfg.dir, cfg.bytes);
    warm(&path);
    // SAFETY: as above.
    let g = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&path) }.unwrap();
    let mut group = c.benchmark_group("parallel");
    group
        .throughput(Throughput::Bytes(cfg.bytes as u64))
        .sample_size(10);
    group.bench_function("sum_1_core", |b| b.iter(|| black_box(g.sum())));
    group.bench_function("sum_all_cores", |b| {
        b.iter(|| {
            black_box(
                g.axis_chunks_iter(Axis(0), 256)
                    .into_par_iter()
                    .map(|c| c.sum())
                    .sum::<f64>(),
            )
        })
    });
    group.bench_function("ln_1p_1_core", |b| {
        b.iter(|| black_box(g.iter().map(|x| x.ln_1p()).sum::<f64>()))
    });
    group.bench_function("ln_1p_all_cores", |b| {
        // rayon's `par_iter()` on the guard itself (feature `rayon`).
        b.iter(|| black_box(g.par_iter().map(|x| x.ln_1p()).sum::<f64>()))
    });
    group.finish();
}

#[cfg(not(feature = "rayon"))]
fn parallel(_: &mut Criterion) {}

fn layout(c: &mut Criterion) {
    let cfg = config();
    let bytes = cfg.bytes.min(256 << 20);
    let side = ((bytes / 8) as f64).sqrt() as usize;
    let mut group = c.benchmark_group("layout");
    group
        .throughput(Throughput::Bytes((side * side * 8) as u64))
        .sample_size(10);
    for order in [ndarray_memmap::Order::C, ndarray_memmap::Order::Fortran] {
        let path = cfg
            .dir
            .join(format!("square_{side}_{}.bin", order.as_str()));
        if std::fs::metadata(&path).map(|m| m.len()).ok() != Some((side * side * 8) as u64) {
            // SAFETY: the benchmark's own file.
            let mut g = unsafe {
                MemmapOptions::new()
                    .shape((side, side))
                    .order(order)
                    .create_raw::<f64, Ix2>(&path)
            }
            .unwrap();
            g.fill(1.0);
            g.close().unwrap();
        }
        // SAFETY: as above.
        let g = unsafe {
            MemmapOptions::new()
                .shape((side, side))
                .order(order)
                .open_raw::<f64, Ix2>(&path)
        }
        .unwrap();
        let label = order.as_str();
        group.bench_function(BenchmarkId::new("row_sums", label), |b| {
            b.iter(|| black_box(g.rows().into_iter().map(|r| r.sum()).sum::<f64>()))
        });
        group.bench_function(BenchmarkId::new("column_sums", label), |b| {
            b.iter(|| black_box(g.columns().into_iter().map(|c| c.sum()).sum::<f64>()))
        });
        group.bench_function(BenchmarkId::new("sum_axis_0", label), |b| {
            b.iter(|| black_box(g.sum_axis(Axis(0))))
        });
    }
    group.finish();
}

/// Opening a hot `.npy` and reading one hot row, against the numpy calls
/// the README compares with, interleaved: every round times a batch of
/// each (per call), nine rounds, medians printed.
fn hot_interleaved(_: &mut Criterion) {
    let cfg = config();
    let path = fixture(&cfg.dir, cfg.bytes);
    warm(&path);
    let rounds = if cfg.name == "smoke" { 1 } else { 9 };
    let (opens, rows_read) = if cfg.name == "smoke" {
        (10, 100)
    } else {
        (2000, 20_000)
    };
    let hot = map_npy(&MemmapOptions::new(), &path);
    let middle = hot.nrows() / 2;
    type Run<'a> = Box<dyn FnMut() -> Option<f64> + 'a>;
    fn per_call<'a>(calls: u64, mut f: impl FnMut() + 'a) -> Run<'a> {
        Box::new(move || {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            Some(start.elapsed().as_secs_f64() / calls as f64)
        })
    }
    let mut variants: Vec<(&str, Run<'_>)> = vec![
        (
            "open_npy + drop",
            per_call(opens, || {
                drop(black_box(map_npy(&MemmapOptions::new(), &path)))
            }),
        ),
        (
            "guard.row(i).sum()",
            per_call(rows_read, || {
                black_box(hot.row(black_box(middle)).sum());
            }),
        ),
    ];
    for (label, name, calls) in [
        ("np.memmap(...) + del", "open_memmap", opens),
        ("np.load(mmap_mode='r') + del", "open_load_mmap", opens),
        ("m[i].sum() (np.load mmap)", "hot_one_row", rows_read),
    ] {
        if let Some(mut timer) = numpy(name, &path) {
            variants.push((
                label,
                Box::new(move || Some(timer(calls).as_secs_f64() / calls as f64)),
            ));
        }
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..rounds {
        let count = variants.len();
        for i in (0..count).map(|k| (k + round) % count) {
            if let Some(t) = (variants[i].1)() {
                times[i].push(t);
            }
        }
    }
    for ((name, _), t) in variants.iter().zip(&times) {
        let (median, spread) = common::median_and_spread(t);
        println!(
            "hot {name:32} median {:8.2} us, spread {:7.2} us over {} rounds",
            median * 1e6,
            spread * 1e6,
            t.len()
        );
    }
}

/// One cold element, interleaved (every round runs each variant once, the
/// file evicted and checked before each): `open_npy` with `Advice::Random`
/// against the like-for-like `pread`s, a raw map against one `pread`, and
/// numpy; then the same open taken apart step by step, each system call
/// timed on a cold file. Medians printed; figures in docs/performance.md.
fn cold_open_interleaved(_: &mut Criterion) {
    use std::os::fd::AsRawFd;
    let cfg = config();
    let path = fixture(&cfg.dir, cfg.bytes);
    let rounds = if cfg.name == "smoke" { 1 } else { 31 };
    let len = std::fs::metadata(&path).unwrap().len();
    let last = len - 8;
    let timed = |f: &dyn Fn() -> f64| {
        let start = Instant::now();
        black_box(f());
        Some(start.elapsed())
    };
    let npy = |advice: Advice| {
        // SAFETY: benchmark files are written once and only read here.
        let g = unsafe {
            MemmapOptions::new()
                .advice(advice)
                .open_npy::<f64, Ix2>(&path)
        }
        .unwrap();
        let (r, c) = g.dim();
        g[[r - 1, c - 1]]
    };
    let raw = || {
        // SAFETY: as above.
        let g = unsafe {
            MemmapOptions::new()
                .offset(128)
                .advice(Advice::Random)
                .open_raw::<f64, Ix1>(&path)
        }
        .unwrap();
        g[g.len() - 1]
    };
    let preads = |header: usize| {
        let file = File::open(&path).unwrap();
        let mut head = vec![0u8; header];
        file.read_exact_at(&mut head, 0).unwrap();
        let mut element = [0u8; 8];
        file.read_exact_at(&mut element, last).unwrap();
        f64::from_ne_bytes(element) + f64::from(head.first().copied().unwrap_or(0))
    };
    type Run<'a> = Box<dyn Fn() -> Option<Duration> + 'a>;
    let mut variants: Vec<(&str, Run<'_>)> = vec![
        (
            "open_npy_random_element_drop",
            Box::new(|| timed(&|| npy(Advice::Random))),
        ),
        (
            "open_npy_default_element_drop",
            Box::new(|| timed(&|| npy(Advice::Normal))),
        ),
        ("open_raw_random_element_drop", Box::new(|| timed(&raw))),
        (
            "open_pread_header128_pread_element",
            Box::new(|| timed(&|| preads(128))),
        ),
        ("open_pread_element", Box::new(|| timed(&|| preads(0)))),
    ];
    for name in ["cold_one_element_load_mmap", "cold_one_element_memmap"] {
        if let Some(mut timer) = numpy(name, &path) {
            let timer = std::cell::RefCell::new(move || timer(1));
            variants.push((name, Box::new(move || Some((timer.borrow_mut())()))));
        }
    }
    // The open taken apart: the system calls `open_npy` makes, in its
    // order, each timed (nanoseconds).
    const STEPS: [&str; 9] = [
        "open",
        "fstat",
        "flock + fstat",
        "pread 4 KiB header",
        "mmap",
        "madvise(RANDOM)",
        "touch the last element",
        "munmap",
        "close",
    ];
    let steps = || {
        let mut t = [0f64; STEPS.len()];
        let mut clock = Instant::now();
        let mut lap = |i: usize, clock: &mut Instant| {
            t[i] = clock.elapsed().as_secs_f64();
            *clock = Instant::now();
        };
        let file = File::open(&path).unwrap();
        lap(0, &mut clock);
        let size = file.metadata().unwrap().len();
        lap(1, &mut clock);
        file.lock_shared().unwrap();
        black_box(file.metadata().unwrap().len());
        lap(2, &mut clock);
        let mut head = [0u8; 4096];
        let n = file.read_at(&mut head, 0).unwrap();
        black_box(n);
        lap(3, &mut clock);
        // SAFETY: a read-only map of a benchmark file nothing writes.
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        lap(4, &mut clock);
        map.advise(memmap2::Advice::Random).unwrap();
        lap(5, &mut clock);
        black_box(map[(size - 1) as usize]);
        lap(6, &mut clock);
        drop(map);
        lap(7, &mut clock);
        black_box(file.as_raw_fd());
        drop(file);
        lap(8, &mut clock);
        t
    };
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len() + 1];
    let mut step_times: Vec<Vec<f64>> = vec![Vec::new(); STEPS.len()];
    for round in 0..rounds {
        let count = variants.len() + 1;
        for i in (0..count).map(|k| (k + round) % count) {
            evict_checked(&path);
            if i == variants.len() {
                for (k, t) in steps().into_iter().enumerate() {
                    step_times[k].push(t);
                }
            } else if let Some(elapsed) = (variants[i].1)() {
                times[i].push(elapsed.as_secs_f64());
            }
        }
    }
    let median = |t: &mut Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t.get(t.len() / 2).copied().unwrap_or(f64::NAN)
    };
    for ((name, _), t) in variants.iter().zip(times.iter_mut()) {
        println!(
            "cold element {name:36} median {:7.1} us over {} rounds",
            median(t) * 1e6,
            t.len()
        );
    }
    for (name, t) in STEPS.iter().zip(step_times.iter_mut()) {
        println!("cold open step {name:24} median {:7.1} us", median(t) * 1e6);
    }
}

/// The comparisons that drift most between minutes on a shared machine (cold
/// reads from a shared disk, and first-touch page faults), run interleaved:
/// every round runs each variant once, so slow and fast periods hit all
/// variants alike. Prints medians and writes them to
/// `target/criterion/interleaved.json` for `benches/report.py`.
fn interleaved(_: &mut Criterion) {
    let cfg = config();
    let path = fixture(&cfg.dir, cfg.bytes);
    let rounds = if cfg.name == "smoke" { 1 } else { 11 };
    let in_memory: Array2<f64> = read_npy(&path).unwrap();
    let timed = |f: &dyn Fn() -> f64| {
        let start = Instant::now();
        black_box(f());
        Some(start.elapsed())
    };
    let numpy_once = |name: &'static str| numpy(name, &path).map(|mut timer| timer(1));
    let read_chunks = || read_chunks_sum(&path);
    type Run<'a> = Box<dyn Fn() -> Option<Duration> + 'a>;
    let variants: Vec<(&str, Run<'_>)> = vec![
        (
            "cold/guard_no_hint",
            Box::new(|| timed(&|| sum(map_npy(&MemmapOptions::new(), &path).view()))),
        ),
        (
            "cold/guard_chunks",
            Box::new(|| {
                timed(&|| {
                    map_npy(&MemmapOptions::new(), &path)
                        .chunks(CHUNK_ROWS)
                        .prefetch(false)
                        .map(sum)
                        .sum()
                })
            }),
        ),
        (
            "cold/guard_willneed",
            Box::new(|| {
                timed(&|| sum(map_npy(MemmapOptions::new().advice(Advice::WillNeed), &path).view()))
            }),
        ),
        (
            "cold/guard_background",
            Box::new(|| {
                timed(&|| {
                    sum(map_npy(MemmapOptions::new().populate(Populate::Background), &path).view())
                })
            }),
        ),
        (
            "cold/guard_chunks_prefetch",
            Box::new(|| {
                timed(&|| {
                    map_npy(&MemmapOptions::new(), &path)
                        .chunks(CHUNK_ROWS)
                        .prefetch(true)
                        .map(sum)
                        .sum()
                })
            }),
        ),
        ("cold/read_chunks", Box::new(|| timed(&read_chunks))),
        (
            "cold/numpy_memmap",
            Box::new(|| numpy_once("cold_sum_memmap")),
        ),
        (
            "hot/in_memory",
            Box::new(|| timed(&|| sum(in_memory.view()))),
        ),
        (
            "hot/fresh_guard",
            Box::new(|| timed(&|| sum(map_npy(&MemmapOptions::new(), &path).view()))),
        ),
        (
            "hot/fresh_guard_populate",
            Box::new(|| {
                timed(&|| {
                    sum(map_npy(MemmapOptions::new().populate(Populate::AtOpen), &path).view())
                })
            }),
        ),
        (
            "hot/fresh_guard_background",
            Box::new(|| {
                timed(&|| {
                    sum(map_npy(MemmapOptions::new().populate(Populate::Background), &path).view())
                })
            }),
        ),
        (
            "hot/numpy_fresh_memmap",
            Box::new(|| numpy_once("hot_sum_fresh_memmap")),
        ),
    ];
    let target = cfg.dir.join("write_target.bin");
    let n = cfg.bytes.min(1 << 30) / 8;
    let data: Vec<u8> = (0..n)
        .flat_map(|i| ((i % 1000) as f64).to_ne_bytes())
        .collect();
    // Writes produce no value to sum: time them as units.
    let timed_write = |f: &dyn Fn()| {
        let start = Instant::now();
        f();
        Some(start.elapsed())
    };
    let writes: Vec<(&str, Run<'_>)> = vec![
        (
            "write/create_fill_close_async_background",
            Box::new(|| {
                timed_write(&|| create_fill(&target, n, true, Populate::Background, false))
            }),
        ),
        (
            "write/create_fill_close_async",
            Box::new(|| timed_write(&|| create_fill(&target, n, true, Populate::OnAccess, false))),
        ),
        (
            "write/compute_then_std_fs_write",
            Box::new(|| timed_write(&|| compute_then_write(&target, n))),
        ),
        (
            "write/std_fs_write_no_sync",
            Box::new(|| timed_write(&|| std::fs::write(&target, &data).unwrap())),
        ),
    ];
    // `NDARRAY_MEMMAP_BENCH_ONLY=cold` (a prefix) runs a subset;
    // `NDARRAY_MEMMAP_BENCH_ROUNDS` sets the rounds.
    let only = std::env::var("NDARRAY_MEMMAP_BENCH_ONLY").unwrap_or_default();
    let rounds = std::env::var("NDARRAY_MEMMAP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(rounds);
    let variants: Vec<(&str, Run<'_>)> = variants
        .into_iter()
        .chain(writes)
        .filter(|(name, _)| name.starts_with(only.as_str()))
        .collect();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..rounds {
        // Each round starts one variant later, so that no variant always
        // follows the same one: on this virtual machine, memory just freed
        // by one variant is faster to fill for the next than memory the host
        // has taken back, which favoured whatever ran second.
        let order = (0..variants.len()).map(|k| (k + round) % variants.len());
        for i in order {
            let (name, run) = &variants[i];
            if name.starts_with("cold") {
                evict_checked(&path);
            } else if name.starts_with("write") {
                fresh_target(&target);
            } else if resident_fraction(&path) < 0.99 {
                warm(&path);
            }
            if *name == "hot/in_memory" {
                // Hot means hot on both sides: the array sat idle through the
                // cold variants, and this virtual machine's host may have
                // paged it out meanwhile (it measured 2x slower untouched).
                black_box(sum(in_memory.view()));
            }
            if let Some(elapsed) = run() {
                times[i].push(elapsed.as_secs_f64());
            }
        }
    }
    let mut entries = Vec::new();
    for ((name, _), t) in variants.iter().zip(times) {
        if t.is_empty() {
            continue;
        }
        let (median, spread) = common::median_and_spread(&t);
        let rounds: Vec<String> = t.iter().map(|s| format!("{:.0}", s * 1e3)).collect();
        println!(
            "interleaved {name:28} median {:8.1} ms, spread {:7.1} ms over {} rounds: {}",
            median * 1e3,
            spread * 1e3,
            t.len(),
            rounds.join(" ")
        );
        entries.push(format!("\"{name}\": {median}"));
    }
    let _ = std::fs::remove_file(&target);
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/criterion/interleaved.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(out, format!("{{{}}}", entries.join(", "))).unwrap();
}

criterion_group!(
    benches,
    open_latency,
    read_copy,
    hot_sum,
    cold_sum,
    partial,
    write,
    parallel,
    layout,
    interleaved,
    cold_open_interleaved,
    hot_interleaved
);
criterion_main!(benches);
