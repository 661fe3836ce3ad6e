//! `Populate` modes and `Chunks::prefetch`: same values as without them, the
//! helper thread really faults pages in, and it is gone once its owner drops.
//!
//! The tests here share one process and count helper threads by name, so
//! they run one at a time (`SERIAL`).
#![allow(clippy::undocumented_unsafe_blocks)] // test files are private to each test

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::tempdir;
use ndarray::{Array1, Array2, Ix1, Ix2};
use ndarray_memmap::{Advice, MemmapExt, MemmapOptions, Populate};

static SERIAL: Mutex<()> = Mutex::new(());

const MODES: [Populate; 3] = [Populate::OnAccess, Populate::AtOpen, Populate::Background];

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Prefetch helper threads alive in this process, read again for up to a
/// second until there are `expected`: a joined thread can stay listed for a
/// moment while the kernel finishes its exit, and a new one takes its name
/// only once it runs.
fn helper_threads_settling_to(expected: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let count = helper_threads();
        if count == expected || Instant::now() > deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Helper threads alive once a thread started just now would have run and
/// taken its name, and one joined just now would be gone.
fn helpers_after_a_moment() -> usize {
    std::thread::sleep(Duration::from_millis(200));
    helper_threads()
}

fn helper_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter(|task| {
            let comm = task.as_ref().unwrap().path().join("comm");
            // The kernel truncates thread names to 15 bytes.
            std::fs::read_to_string(comm).is_ok_and(|name| name.starts_with("ndarray-memmap-"))
        })
        .count()
}

/// `path` read-only as f64, with a background helper.
fn open_in_background(path: &Path) -> ndarray_memmap::Memmap<f64, Ix1> {
    unsafe {
        MemmapOptions::new()
            .populate(Populate::Background)
            .open_raw::<f64, Ix1>(path)
    }
    .unwrap()
}

/// A file of `len` bytes that are all holes.
fn sparse_file(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

fn write_f64(path: &Path, n: usize) -> Array1<f64> {
    let values = Array1::from_shape_fn(n, |i| (i % 977) as f64 - 3.5);
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
    values
}

#[test]
fn every_populate_mode_reads_the_same_values_in_every_open_mode() {
    let _serial = serial();
    let dir = tempdir();
    let path = dir.path().join("values.bin");
    let n = (3 << 20) + 17; // several helper steps, and not a whole page
    let expected = write_f64(&path, n);
    for populate in MODES {
        let mut options = MemmapOptions::new();
        options.populate(populate);
        let read = unsafe { options.open_raw::<f64, Ix1>(&path) }.unwrap();
        assert_eq!(*read, expected, "r with {populate:?}");
        drop(read);
        let mut copy = unsafe { options.open_raw_copy::<f64, Ix1>(&path) }.unwrap();
        assert_eq!(*copy, expected, "c with {populate:?}");
        copy.fill(0.0);
        drop(copy);
        let update = unsafe { options.open_raw_mut::<f64, Ix1>(&path) }.unwrap();
        assert_eq!(*update, expected, "r+ with {populate:?}");
        update.close().unwrap();
    }
    let on_disk = unsafe { Array1::<f64>::open_raw(&path, n) }.unwrap();
    assert_eq!(*on_disk, expected, "a copy-on-write map wrote to the file");
}

#[test]
fn a_new_file_filled_beside_a_write_helper_holds_exactly_what_was_written() {
    let _serial = serial();
    let dir = tempdir();
    for (populate, close_async) in [
        (Populate::Background, false),
        (Populate::Background, true),
        (Populate::AtOpen, false),
        (Populate::OnAccess, true),
    ] {
        let path = dir
            .path()
            .join(format!("new-{populate:?}-{close_async}.npy"));
        let shape = (1500, 700); // 8.0 MiB: more than one helper step
        let expected = Array2::from_shape_fn(shape, |(i, j)| (i * 700 + j) as u32);
        let mut out = unsafe {
            MemmapOptions::new()
                .populate(populate)
                .shape(shape)
                .create_npy::<u32, Ix2>(&path)
        }
        .unwrap();
        // Leave the last rows zero: the helper must not invent data there.
        out.slice_mut(ndarray::s![..1400, ..])
            .assign(&expected.slice(ndarray::s![..1400, ..]));
        if close_async {
            out.close_async().unwrap();
        } else {
            out.close().unwrap();
        }
        let back: Array2<u32> = ndarray_memmap::read_npy(&path).unwrap();
        assert_eq!(
            back.slice(ndarray::s![..1400, ..]),
            expected.slice(ndarray::s![..1400, ..])
        );
        assert!(back.slice(ndarray::s![1400.., ..]).iter().all(|&x| x == 0));
    }
    let mut scratch = MemmapOptions::new()
        .shape(1 << 21)
        .populate(Populate::Background)
        .scratch::<u32, Ix1>()
        .unwrap();
    assert_eq!(scratch.sum(), 0);
    scratch.fill(2);
    assert_eq!(scratch.sum(), 2 << 21);
}

/// Fraction of `path`'s pages in the page cache (mincore on a fresh map).
#[cfg(target_os = "linux")]
fn resident_fraction(path: &Path) -> f64 {
    let file = std::fs::File::open(path).unwrap();
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    let page = 4096;
    let pages = map.len().div_ceil(page);
    let mut residency = vec![0u8; pages];
    let rc = unsafe { libc::mincore(map.as_ptr() as *mut _, map.len(), residency.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
    residency.iter().filter(|&&r| r & 1 == 1).count() as f64 / pages as f64
}

#[cfg(target_os = "linux")]
fn evict(path: &Path) {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).unwrap();
    file.sync_all().unwrap();
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0);
}

/// Waits up to 20 s for `path` to be (almost) wholly in the page cache.
#[cfg(target_os = "linux")]
fn becomes_resident(path: &Path) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resident = resident_fraction(path);
        if resident > 0.99 || Instant::now() > deadline {
            return resident;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_background_helper_reads_a_cold_file_that_nobody_touches() {
    let _serial = serial();
    let dir = tempdir();
    let path = dir.path().join("cold.bin");
    write_f64(&path, 4 << 20); // 32 MiB
    evict(&path);
    if resident_fraction(&path) > 0.01 {
        eprintln!("skipped: this file system does not drop pages on request");
        return;
    }
    // Without a helper, opening reads nothing.
    let lazy = unsafe { MemmapOptions::new().open_raw::<f64, Ix1>(&path) }.unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        resident_fraction(&path) < 0.01,
        "an open without a helper read the file"
    );
    drop(lazy);
    let guard = open_in_background(&path);
    let resident = becomes_resident(&path);
    assert!(
        resident > 0.99,
        "only {:.1}% read by the helper",
        resident * 100.0
    );
    drop(guard);
}

#[cfg(target_os = "linux")]
#[test]
fn chunk_prefetch_reads_ahead_of_the_caller_but_only_a_few_chunks() {
    let _serial = serial();
    let dir = tempdir();
    let path = dir.path().join("rows.npy");
    let rows = 8192; // 4 KiB rows: 32 MiB
    let expected = Array2::from_shape_fn((rows, 512), |(i, j)| (i + j) as f64);
    ndarray_memmap::write_npy(&path, &expected).unwrap();
    evict(&path);
    if resident_fraction(&path) > 0.01 {
        eprintln!("skipped: this file system does not drop pages on request");
        return;
    }
    // `Random` turns the kernel's read-ahead off, so what is resident is
    // what the caller and the helper touched.
    let guard = unsafe {
        MemmapOptions::new()
            .advice(Advice::Random)
            .open_npy::<f64, Ix2>(&path)
    }
    .unwrap();
    let mut chunks = guard.chunks(256).prefetch(true); // 1 MiB chunks
    let first = chunks.next().unwrap();
    assert_eq!(first, expected.slice(ndarray::s![..256, ..]));
    // The helper was asked for chunks 0..3 and nothing after them: wait
    // (up to 30 s, for a busy machine) until it has read them, then give it
    // a moment to overrun if it were going to.
    let ahead = 3.0 * 256.0 / rows as f64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while resident_fraction(&path) <= 0.9 * ahead && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    let resident = resident_fraction(&path);
    assert!(
        resident > 0.9 * ahead,
        "prefetched {resident:.3} of the file, expected about {ahead:.3}"
    );
    assert!(
        resident < 1.5 * ahead,
        "the helper ran to {resident:.3} of the file"
    );
    let rest: Vec<_> = chunks.collect();
    assert_eq!(rest.len(), rows / 256 - 1);
    for (k, chunk) in rest.iter().enumerate() {
        let start = (k + 1) * 256;
        assert_eq!(chunk, &expected.slice(ndarray::s![start..start + 256, ..]));
    }
}

#[test]
fn helpers_are_joined_when_their_owner_drops() {
    let _serial = serial();
    let before = helper_threads_settling_to(0);
    let dir = tempdir();
    let path = dir.path().join("sparse.bin");
    // 256 MiB of holes: the helper may or may not finish before the drop;
    // either way it must be gone after it. (Much larger would fill the page
    // cache with zeros on a small CI machine.)
    sparse_file(&path, 256 << 20);
    let guard = open_in_background(&path);
    assert_eq!(guard[(32 << 20) - 1], 0.0);
    drop(guard);
    assert_eq!(
        helper_threads_settling_to(before),
        before,
        "a background helper outlived its guard"
    );

    let mut update = unsafe {
        MemmapOptions::new()
            .populate(Populate::Background)
            .open_raw_mut::<f64, Ix1>(&path)
    }
    .unwrap();
    update[1] = 1.0;
    update.close().unwrap();
    assert_eq!(
        helper_threads_settling_to(before),
        before,
        "a background helper outlived close()"
    );

    let table = unsafe {
        MemmapOptions::new()
            .shape((1 << 15, 1024))
            .open_raw::<f64, Ix2>(&path)
    }
    .unwrap();
    let mut chunks = table.chunks(1024).prefetch(true);
    assert_eq!(chunks.next().unwrap().nrows(), 1024);
    drop(chunks);
    assert_eq!(
        helper_threads_settling_to(before),
        before,
        "a chunk helper outlived its iterator"
    );
    drop(table);
}

#[test]
fn chunk_prefetch_on_a_fortran_order_map_starts_no_helper() {
    let _serial = serial();
    let before = helper_threads_settling_to(0);
    let dir = tempdir();
    let path = dir.path().join("fortran.bin");
    let columns = write_f64(&path, 64 * 1024);
    let grid = unsafe {
        MemmapOptions::new()
            .shape((1024, 64))
            .order(ndarray_memmap::Order::Fortran)
            .open_raw::<f64, Ix2>(&path)
    }
    .unwrap();
    let mut chunks = grid.chunks(100).prefetch(true);
    let first = chunks.next().unwrap();
    // Rows of a Fortran-order array are strided, so there is no byte range
    // to hand to a helper.
    assert_eq!(helpers_after_a_moment(), before);
    assert_eq!(first[[3, 2]], columns[2 * 1024 + 3]);
    assert_eq!(chunks.map(|c| c.nrows()).sum::<usize>(), 924);
}

#[test]
fn chunks_prefetch_by_default_only_on_large_arrays() {
    let _serial = serial();
    let before = helper_threads_settling_to(0);
    let dir = tempdir();
    let path = dir.path().join("large.bin");
    let len = ndarray_memmap::AUTO_PREFETCH_BYTES as u64;
    sparse_file(&path, len);
    let rows = (len / 8 / 512) as usize;
    let large = unsafe {
        MemmapOptions::new()
            .shape((rows, 512))
            .open_raw::<f64, Ix2>(&path)
    }
    .unwrap();
    let mut chunks = large.chunks(16);
    chunks.next().unwrap();
    assert_eq!(
        helper_threads_settling_to(before + 1),
        before + 1,
        "no helper on a large array"
    );
    drop(chunks);
    let mut opted_out = large.chunks(16).prefetch(false);
    opted_out.next().unwrap();
    assert_eq!(helpers_after_a_moment(), before);
    drop(opted_out);

    // Both guards are read-only, so they may share the file.
    let small = unsafe {
        MemmapOptions::new()
            .shape((rows - 1, 512))
            .open_raw::<f64, Ix2>(&path)
    }
    .unwrap();
    let mut chunks = small.chunks(16);
    chunks.next().unwrap();
    assert_eq!(
        helpers_after_a_moment(),
        before,
        "a helper on a small array"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn opening_a_numeric_map_reads_no_page() {
    let _serial = serial();
    let dir = tempdir();
    let path = dir.path().join("untouched.bin");
    // 1 GiB of holes: reading it all would fill the page cache with zeros.
    sparse_file(&path, 1 << 30);
    let numbers = unsafe { MemmapOptions::new().open_raw::<f64, Ix1>(&path) }.unwrap();
    assert_eq!(numbers.len(), 1 << 27);
    let resident = resident_fraction(&path);
    assert!(
        resident < 0.01,
        "opening read {:.1}% of the file",
        resident * 100.0
    );
    drop(numbers);
    // `bool` is the type whose bytes must be checked, so its open reads them.
    let small = dir.path().join("flags.bin");
    std::fs::write(&small, vec![1u8; 1 << 20]).unwrap();
    evict(&small);
    let flags = unsafe { MemmapOptions::new().open_raw::<bool, Ix1>(&small) }.unwrap();
    assert!(resident_fraction(&small) > 0.99);
    assert!(flags.iter().all(|&f| f));
}

/// The helper asks the kernel to populate pages instead of touching them,
/// so a file cut short under it ends the helper with an error, not the
/// process with `SIGBUS`. (Cutting a mapped file breaks the mapping
/// contract; the test never reads through the guard, so nothing here reads
/// a page past the end.)
#[cfg(target_os = "linux")]
#[test]
fn a_file_cut_short_under_the_helper_stops_it_without_a_signal() {
    let _serial = serial();
    let before = helper_threads_settling_to(0);
    let dir = tempdir();
    let path = dir.path().join("shrinking.bin");
    write_f64(&path, 8 << 20); // 64 MiB
    evict(&path);
    let guard = open_in_background(&path);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    // The helper stops on its own, while the guard still lives.
    assert_eq!(
        helper_threads_settling_to(before),
        before,
        "the helper kept running past the end of the file"
    );
    drop(guard);
}
