//! HDF5 datasets mapped in place, side by side in one criterion run with
//! the same data as a mapped `.npy` and with h5py (files hot in the page
//! cache):
//!
//! - `hdf5_find`: finding `/g/d05000` in a dense group of 10,000 datasets
//!   (fractal heap and version-2 B-tree name index; the file open once);
//!   h5py: `f['/g/d05000']` and its offset;
//! - `hdf5_hot_sum`: a sum over a contiguous dataset (ours: opened,
//!   resolved and mapped per iteration; the `.npy`: opened and mapped;
//!   h5py: `dset[...].sum()`);
//! - `hdf5_random_element`: one pseudo-random element, everything open
//!   once (ours and the `.npy`: one map; h5py: `dset[i, j]`);
//! - `hdf5_write`: a new file with one `f64` dataset filled from an
//!   in-memory array (ours: `Hdf5Writer::create_dataset`, the map
//!   assigned, closed, `finish`: synced and renamed; ours again with
//!   `write_dataset`, ordinary writes; the same bytes by `write_all` +
//!   `sync_all`, no HDF5: what any durable write costs on this disk; h5py:
//!   `create_dataset`,
//!   `dset[...] = a` and close, not synced, and the same with `os.fsync`);
//!   1 GiB in `full`, 128 MiB unset. Each variant runs back to back, so
//!   each reuses the memory its last iteration freed: on this VM memory
//!   freed a few seconds earlier costs 3x to 10x more to touch again (the
//!   balloon's free page reporting; docs/performance.md), which is why
//!   the write is not interleaved;
//! - and, printed, the hot sum interleaved: each round sums the `.npy`
//!   and the dataset once (which goes first alternates), medians over
//!   `NDARRAY_MEMMAP_BENCH_ROUNDS` rounds (9), so that both see the same
//!   machine (this VM's memory bandwidth drifts by 1.5x between minutes).
//!
//! The read fixtures are written by h5py (the files users will map), so
//! without the pinned Python environment every group is skipped.
//! Sizes: `NDARRAY_MEMMAP_BENCH_SIZE=smoke` (4 MiB, for CI), unset
//! (256 MiB), `full` (2 GiB: the figures).

mod common;

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Ix2;
use ndarray_memmap::{Hdf5File, MemmapOptions};

const COLS: usize = 1024;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/hdf5_bench.py")
}

/// The fixtures' directory, written by h5py once per size.
fn fixtures(rows: usize) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-data/hdf5-{rows}"));
    if !dir.join("dense.h5").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let args: Vec<std::ffi::OsString> = vec![
            script().into(),
            "fixtures".into(),
            dir.clone().into(),
            rows.to_string().into(),
            COLS.to_string().into(),
        ];
        let status = std::process::Command::new(common::python_exe().expect("checked"))
            .args(&args)
            .status()
            .expect("run hdf5_bench.py");
        assert!(status.success(), "hdf5_bench.py fixtures failed");
    }
    dir
}

fn hdf5_vs_peers(c: &mut Criterion) {
    if !common::python_has("h5py", "every HDF5 benchmark (h5py writes the fixtures)") {
        return;
    }
    let bytes = common::bench_size(4 << 20, 256 << 20, 2 << 30);
    let rows = bytes / 8 / COLS;
    let dir = fixtures(rows);
    let (contig, npy, dense) = (
        dir.join("contig.h5"),
        dir.join("contig.npy"),
        dir.join("dense.h5"),
    );

    let mut group = c.benchmark_group("hdf5_find");
    let file = Hdf5File::open(&dense).unwrap();
    group.bench_function("ours_dataset_in_dense_group", |b| {
        b.iter(|| black_box(file.dataset("/g/d05000").unwrap().address()))
    });
    group.bench_function("ours_open_and_dataset", |b| {
        b.iter(|| {
            black_box(
                Hdf5File::open(&dense)
                    .unwrap()
                    .dataset("/g/d05000")
                    .unwrap()
                    .address(),
            )
        })
    });
    group.bench_function("h5py_dataset_in_dense_group", |b| {
        b.iter_custom(|iters| {
            common::python_seconds(
                &[script().as_os_str(), "find".as_ref(), dense.as_os_str()],
                iters,
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("hdf5_hot_sum");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("npy_mapped", |b| {
        b.iter(|| {
            // SAFETY: the benchmark's own file; nothing else writes it.
            let a = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&npy) }.unwrap();
            black_box(a.sum())
        })
    });
    group.bench_function("hdf5_mapped", |b| {
        b.iter(|| {
            // SAFETY: as above.
            let a = unsafe { Hdf5File::open(&contig).unwrap().map::<f64, Ix2>("/x") }.unwrap();
            black_box(a.sum())
        })
    });
    group.bench_function("h5py_read_sum", |b| {
        b.iter_custom(|iters| {
            common::python_seconds(
                &[script().as_os_str(), "sum".as_ref(), contig.as_os_str()],
                iters,
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("hdf5_random_element");
    let mut k = 0usize;
    let mut next = move || {
        k = k.wrapping_add(1);
        let flat = k.wrapping_mul(2_654_435_761) % (rows * COLS);
        (flat / COLS, flat % COLS)
    };
    // SAFETY: as above.
    let npy_map = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&npy) }.unwrap();
    group.bench_function("npy_mapped_element", |b| {
        b.iter(|| {
            let (i, j) = next();
            black_box(npy_map[[i, j]])
        })
    });
    drop(npy_map);
    // SAFETY: as above.
    let map = unsafe { Hdf5File::open(&contig).unwrap().map::<f64, Ix2>("/x") }.unwrap();
    group.bench_function("hdf5_mapped_element", |b| {
        b.iter(|| {
            let (i, j) = next();
            black_box(map[[i, j]])
        })
    });
    group.bench_function("h5py_element", |b| {
        b.iter_custom(|iters| {
            common::python_seconds(
                &[script().as_os_str(), "element".as_ref(), contig.as_os_str()],
                iters,
            )
        })
    });
    group.finish();
    interleaved_sum(&npy, &contig);
    write_group(c);
}

fn write_group(c: &mut Criterion) {
    let bytes = common::bench_size(4 << 20, 128 << 20, 1 << 30);
    let rows = bytes / 8 / COLS;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/hdf5-write");
    std::fs::create_dir_all(&dir).unwrap();
    let data = ndarray::Array2::from_shape_fn((rows, COLS), |(i, j)| (i * COLS + j) as f64);
    let mut group = c.benchmark_group("hdf5_write");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("ours_map_filled_synced", |b| {
        b.iter_custom(|iters| {
            time_new_files(&dir, "ours.h5", iters, |target| {
                let writer = ndarray_memmap::Hdf5Writer::create(target).unwrap();
                // SAFETY: the benchmark's own new file.
                let mut x =
                    unsafe { writer.create_dataset::<f64, Ix2>("/x", (rows, COLS)) }.unwrap();
                x.assign(&data);
                x.close().unwrap();
                writer.finish().unwrap();
            })
        })
    });
    // The same bytes written with `write_all` and synced, no HDF5 at all:
    // what any durable write of them costs on this disk.
    let bytes_of_data: &[u8] = bytemuck::cast_slice(data.as_slice().expect("standard layout"));
    group.bench_function("plain_write_all_synced", |b| {
        b.iter_custom(|iters| {
            time_new_files(&dir, "plain.bin", iters, |target| {
                let mut file = std::fs::File::create(target).unwrap();
                std::io::Write::write_all(&mut file, bytes_of_data).unwrap();
                file.sync_all().unwrap();
            })
        })
    });
    group.bench_function("ours_write_dataset_synced", |b| {
        b.iter_custom(|iters| {
            time_new_files(&dir, "ours-w.h5", iters, |target| {
                let writer = ndarray_memmap::Hdf5Writer::create(target).unwrap();
                writer.write_dataset("/x", &data).unwrap();
                writer.finish().unwrap();
            })
        })
    });
    for (name, command) in [
        ("h5py_create_and_write", "write"),
        ("h5py_create_write_fsync", "write_synced"),
    ] {
        let args: Vec<std::ffi::OsString> = vec![
            script().into(),
            command.into(),
            dir.clone().into(),
            rows.to_string().into(),
            COLS.to_string().into(),
        ];
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
                common::python_seconds(&args, iters)
            })
        });
    }
    group.finish();
}

/// Times `iters` runs of `write`, each making `dir/name` anew; the file is
/// removed after each, outside the timing.
fn time_new_files(
    dir: &std::path::Path,
    name: &str,
    iters: u64,
    write: impl Fn(&std::path::Path),
) -> std::time::Duration {
    let target = dir.join(name);
    let mut elapsed = std::time::Duration::ZERO;
    for _ in 0..iters {
        let start = std::time::Instant::now();
        write(&target);
        elapsed += start.elapsed();
        std::fs::remove_file(&target).unwrap();
    }
    elapsed
}

fn interleaved_sum(npy: &std::path::Path, contig: &std::path::Path) {
    let rounds: usize = std::env::var("NDARRAY_MEMMAP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(9);
    let npy_sum = || {
        let start = std::time::Instant::now();
        // SAFETY: the benchmark's own file; nothing else writes it.
        let a = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(npy) }.unwrap();
        black_box(a.sum());
        start.elapsed().as_secs_f64()
    };
    let hdf5_sum = || {
        let start = std::time::Instant::now();
        // SAFETY: as above.
        let a = unsafe { Hdf5File::open(contig).unwrap().map::<f64, Ix2>("/x") }.unwrap();
        black_box(a.sum());
        start.elapsed().as_secs_f64()
    };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            theirs.push(npy_sum());
            ours.push(hdf5_sum());
        } else {
            ours.push(hdf5_sum());
            theirs.push(npy_sum());
        }
    }
    let (npy_median, npy_spread) = common::median_and_spread(&theirs);
    let (hdf5_median, hdf5_spread) = common::median_and_spread(&ours);
    eprintln!(
        "hdf5_hot_sum interleaved, {rounds} rounds: .npy {:.1} ms (spread {:.1}), hdf5 {:.1} ms (spread {:.1}): hdf5 / .npy speed {:.2}x",
        npy_median * 1e3,
        npy_spread * 1e3,
        hdf5_median * 1e3,
        hdf5_spread * 1e3,
        npy_median / hdf5_median
    );
}

criterion_group!(benches, hdf5_vs_peers);
criterion_main!(benches);
