//! Hostile and unusual inputs: out-of-range views, allocations larger than
//! memory, files that are not regular files, refused opens that must leave
//! the file alone, file-size limits, and in-process conflicts racing locks.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]
#![cfg(unix)]

use crate::common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use crate::common::{child_role, tempdir, Snapshot, CHILD_ROLE};
use ndarray::{Array1, Array2, Ix1, IxDyn};
use ndarray_memmap::{
    read_npy, read_npy_header, write_npy, Error, Memmap, MemmapExt, MemmapMut, MemmapOptions,
    NpyHeader, Order,
};

/// Every call that opens a file by path, each reduced to its outcome.
fn every_opening_call(path: &Path) -> Vec<(&'static str, Result<(), Error>)> {
    vec![
        (
            "open_raw",
            unsafe { Array1::<u8>::open_raw(path, 4) }.map(drop),
        ),
        (
            "open_raw_mut",
            unsafe { Array1::<u8>::open_raw_mut(path, 4) }.map(drop),
        ),
        (
            "open_raw_copy",
            unsafe { Array1::<u8>::open_raw_copy(path, 4) }.map(drop),
        ),
        (
            "create_raw",
            unsafe { Array1::<u8>::create_raw(path, 4) }.map(drop),
        ),
        (
            "open_npy",
            unsafe { Array1::<u8>::open_npy(path) }.map(drop),
        ),
        (
            "open_npy_mut",
            unsafe { Array1::<u8>::open_npy_mut(path) }.map(drop),
        ),
        (
            "open_npy_copy",
            unsafe { Array1::<u8>::open_npy_copy(path) }.map(drop),
        ),
        (
            "create_npy",
            unsafe { Array1::<u8>::create_npy(path, 4) }.map(drop),
        ),
        ("read_npy", read_npy::<u8, Ix1>(path).map(drop)),
        ("read_npy_header", read_npy_header(path).map(drop)),
        ("write_npy", write_npy(path, &Array1::<u8>::zeros(4))),
    ]
}

/// Runs `calls` on another thread and waits for it with a generous
/// deadline, so that a call that blocks forever fails the test instead of
/// hanging it.
fn within_deadline<T: Send + 'static>(calls: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(calls());
    });
    outcome
        .recv_timeout(Duration::from_secs(60))
        .expect("an opening call blocked for 60 s")
}

// ---- 1: no view, and no pointer, outside the mapping ----

#[test]
fn from_mmap_refuses_a_start_past_the_mapping_even_for_no_elements() {
    for (start, shape) in [(4096 * 1024, 0usize), (65, 0), (64, 1), (usize::MAX, 0)] {
        let map = memmap2::MmapMut::map_anon(64).unwrap();
        match MemmapMut::<u8, Ix1>::from_mmap(map, start, shape, Order::C) {
            Err(Error::InvalidShape { reason, .. }) => {
                assert!(
                    reason.contains("mapping, which is 64 bytes long")
                        || reason.contains("mapping is 64 bytes long (0 after byte 64)"),
                    "{reason}"
                )
            }
            // Past the largest file offset: refused by the size rules first.
            Err(Error::SizeOverflow { .. }) if start == usize::MAX => {}
            other => panic!("start {start}, shape {shape}: {other:?}"),
        }
        let map = memmap2::MmapMut::map_anon(64)
            .unwrap()
            .make_read_only()
            .unwrap();
        let aligned = start.checked_next_multiple_of(8).unwrap_or(usize::MAX & !7);
        assert!(
            Memmap::<u64, Ix1>::from_mmap(map, aligned, shape, Order::C).is_err(),
            "read-only, start {start}, shape {shape}"
        );
    }
    // The end of the mapping is a valid place for no elements.
    let map = memmap2::MmapMut::map_anon(64).unwrap();
    let empty = MemmapMut::<u64, Ix1>::from_mmap(map, 64, 0, Order::C).unwrap();
    assert_eq!(empty.len(), 0);
}

// ---- 2: an allocation larger than memory is an error, not an abort ----

#[test]
fn read_npy_of_more_data_than_memory_is_an_error_naming_the_bytes() {
    let overcommit = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap_or_default();
    if overcommit.trim() == "1" {
        eprintln!("skipped: vm.overcommit_memory=1 grants any allocation, so none can fail");
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("huge.npy");
    let elements = 1usize << 40;
    let header = NpyHeader::format("|u1", false, &[elements]);
    std::fs::write(&path, &header).unwrap();
    // Sparse: a valid 1 TiB file that takes no disk space.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(header.len() as u64 + elements as u64).unwrap();
    match read_npy::<u8, Ix1>(&path) {
        Err(err @ Error::OutOfMemory { .. }) => {
            assert!(matches!(err, Error::OutOfMemory { bytes, .. } if bytes == elements));
            let message = err.to_string();
            assert!(message.contains("1099511627776 bytes"), "{message}");
            assert!(message.contains("open_npy"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_header_length_raised_past_the_file_allocates_only_what_the_file_holds() {
    let dir = tempdir();
    let path = dir.path().join("lying.npy");
    // Version 2 header claiming 4 GiB - 1 bytes of header text, in a 12-byte file.
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    match unsafe {
        MemmapOptions::new()
            .max_header_size(usize::MAX)
            .open_npy::<u8, Ix1>(&path)
    } {
        Err(Error::NpyHeader { reason, .. }) => {
            assert!(
                reason.contains("expected 4294967295 bytes, found 0"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}

// ---- 3: FIFOs, sockets, devices, directories: refused at once ----

fn assert_all_refused_as(path: &Path, file_type: &'static str) {
    let owned = path.to_path_buf();
    let outcomes = within_deadline(move || every_opening_call(&owned));
    for (call, outcome) in outcomes {
        match outcome {
            Err(err @ Error::NotAFile { .. }) => {
                assert!(
                    matches!(&err, Error::NotAFile { file_type: t, path: p } if *t == file_type && p.ends_with(path.file_name().unwrap())),
                    "{call}: {err:?}"
                );
                assert!(
                    err.to_string()
                        .contains(&format!("is a {file_type}, not a regular file")),
                    "{call}: {err}"
                );
            }
            other => panic!("{call} on a {file_type}: {other:?}"),
        }
    }
}

#[test]
fn a_fifo_with_no_writer_is_refused_at_once_by_every_call() {
    let dir = tempdir();
    let path = dir.path().join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    assert_all_refused_as(&path, "FIFO");
}

#[test]
fn a_socket_a_device_and_a_directory_are_refused_by_every_call() {
    let dir = tempdir();
    let socket = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    assert_all_refused_as(&socket, "socket");
    assert_all_refused_as(Path::new("/dev/null"), "character device");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert_all_refused_as(&sub, "directory");
}

// ---- 4: a refused open leaves the file as it was ----

#[test]
fn an_empty_shape_too_large_for_ndarray_is_refused_before_the_file_is_touched() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, [7u8; 64]).unwrap();
    let before = Snapshot::take(&path);
    let huge = IxDyn(&[0, usize::MAX]);
    let mut options = MemmapOptions::new();
    options.offset(65).shape(huge.clone());
    let outcomes = [
        unsafe { options.open_raw_mut::<u8, IxDyn>(&path) }.map(drop),
        unsafe { options.create_raw::<u8, IxDyn>(&path) }.map(drop),
        // A .npy takes no offset (its header places the data).
        unsafe {
            MemmapOptions::new()
                .shape(huge.clone())
                .create_npy::<u8, IxDyn>(&path)
        }
        .map(drop),
        unsafe { options.open_raw::<u8, IxDyn>(&path) }.map(drop),
        MemmapOptions::new()
            .shape(huge.clone())
            .scratch::<u8, IxDyn>()
            .map(drop),
    ];
    for outcome in outcomes {
        match outcome {
            Err(Error::SizeOverflow { shape, .. }) => assert_eq!(shape, [0, usize::MAX]),
            other => panic!("{other:?}"),
        }
        before.assert_unchanged();
    }
}

#[test]
fn a_zero_size_shape_past_the_largest_file_offset_is_an_offset_error() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, [7u8; 64]).unwrap();
    let before = Snapshot::take(&path);
    let offset = i64::MAX as u64 + 1;
    let result = unsafe {
        MemmapOptions::new()
            .offset(offset)
            .shape(0)
            .open_raw_mut::<u8, Ix1>(&path)
    };
    match result {
        Err(err @ Error::SizeOverflow { .. }) => {
            assert!(matches!(err, Error::SizeOverflow { offset: o, .. } if o == offset));
            assert!(err.to_string().contains("largest file offset"), "{err}");
        }
        other => panic!("{other:?}"),
    }
    before.assert_unchanged();
}

#[test]
fn r_plus_puts_back_a_file_it_extended_when_the_mapping_is_then_refused() {
    let dir = tempdir();
    let path = dir.path().join("flags.bin");
    std::fs::write(&path, [1u8, 0, 2]).unwrap(); // 2 is not a bool
    let before = Snapshot::take(&path);
    match unsafe { Array1::<bool>::open_raw_mut(&path, 8) } {
        Err(Error::InvalidValue { .. }) => {}
        other => panic!("{other:?}"),
    }
    before.assert_unchanged();
}

#[test]
fn a_failed_w_plus_leaves_an_existing_file_unchanged_for_each_kind_of_refusal() {
    let dir = tempdir();
    let path = dir.path().join("keep.npy");
    write_npy(&path, &Array2::<f64>::from_elem((3, 4), 2.5)).unwrap();
    let before = Snapshot::take(&path);
    type Attempt<'a> = Box<dyn Fn() -> Result<(), Error> + 'a>;
    let kinds: Vec<(&str, Attempt)> = vec![
        (
            "shape rule",
            Box::new(|| {
                unsafe {
                    MemmapOptions::new()
                        .shape(IxDyn(&[0, usize::MAX]))
                        .create_raw::<f64, IxDyn>(&path)
                }
                .map(drop)
            }),
        ),
        (
            "no shape",
            Box::new(|| unsafe { MemmapOptions::new().create_raw::<f64, Ix1>(&path) }.map(drop)),
        ),
        (
            "misaligned offset",
            Box::new(|| {
                unsafe {
                    MemmapOptions::new()
                        .offset(3)
                        .shape(4)
                        .create_raw::<f64, Ix1>(&path)
                }
                .map(drop)
            }),
        ),
        (
            "overflowing size",
            Box::new(|| unsafe { Array1::<f64>::create_npy(&path, usize::MAX / 4) }.map(drop)),
        ),
        (
            "rank",
            Box::new(|| {
                unsafe {
                    MemmapOptions::new()
                        .shape((2, 2))
                        .create_raw::<f64, Ix1>(&path)
                }
                .map(drop)
            }),
        ),
        (
            "unsound advice",
            Box::new(|| {
                unsafe {
                    MemmapOptions::new()
                        .advice(ndarray_memmap::Advice::DontNeed)
                        .open_npy_copy::<f64, ndarray::Ix2>(&path)
                }
                .map(drop)
            }),
        ),
    ];
    for (kind, attempt) in &kinds {
        assert!(attempt().is_err(), "{kind} was not refused");
        before.assert_unchanged();
    }

    // Another guard of this process.
    {
        let _reader = unsafe { Array2::<f64>::open_npy(&path) }.unwrap();
        for attempt in [
            unsafe { Array2::<f64>::create_npy(&path, (3, 4)) }.map(drop),
            unsafe { Array2::<f64>::create_raw(&path, (3, 4)) }.map(drop),
        ] {
            assert!(
                matches!(attempt, Err(Error::AlreadyMapped { .. })),
                "{attempt:?}"
            );
        }
        before.assert_unchanged();
    }

    // Another holder of the lock (a second open file description behaves
    // as another process would).
    {
        let other = std::fs::File::open(&path).unwrap();
        other.lock_shared().unwrap();
        let mut options = MemmapOptions::new();
        options.lock_wait(Duration::ZERO).shape((3, 4));
        for attempt in [
            unsafe { options.create_npy::<f64, ndarray::Ix2>(&path) }.map(drop),
            unsafe { options.create_raw::<f64, ndarray::Ix2>(&path) }.map(drop),
        ] {
            assert!(matches!(attempt, Err(Error::Locked { .. })), "{attempt:?}");
        }
        before.assert_unchanged();
    }
}

// ---- 5: a file-size limit is an error, whether or not SIGXFSZ is ignored ----

const LIMITED_PATH: &str = "NDARRAY_MEMMAP_LIMITED_PATH";

#[test]
fn a_file_size_limit_is_a_typed_error_and_the_process_lives() {
    const TEST: &str = concat!(
        module_path!(),
        "::a_file_size_limit_is_a_typed_error_and_the_process_lives"
    );
    if child_role().as_deref() == Some("limited") {
        let path = std::path::PathBuf::from(std::env::var(LIMITED_PATH).unwrap());
        std::fs::write(&path, b"old").unwrap();
        let big = 2usize << 20; // the limit below is 1 MiB
        let attempts: Vec<(&str, Result<(), Error>)> = vec![
            (
                "create_raw",
                unsafe { Array1::<u8>::create_raw(&path, big) }.map(drop),
            ),
            (
                "create_npy",
                unsafe { Array1::<u8>::create_npy(&path, big) }.map(drop),
            ),
            (
                "open_raw_mut",
                unsafe { Array1::<u8>::open_raw_mut(&path, big) }.map(drop),
            ),
            (
                "open_mut sparse",
                unsafe {
                    MemmapOptions::new()
                        .shape(big)
                        .preallocate(false)
                        .open_raw_mut::<u8, Ix1>(&path)
                }
                .map(drop),
            ),
            ("write_npy", write_npy(&path, &Array1::<u8>::zeros(big))),
            ("Growable::append", {
                // Its own file: the growable's rows must stay as they were.
                let log = path.with_extension("log.npy");
                let mut rows = unsafe { Array2::<u8>::create_npy(&log, (0, 1024)) }
                    .unwrap()
                    .into_growable()
                    .unwrap();
                let outcome = rows.append(&Array2::<u8>::zeros((2048, 1024)));
                assert_eq!(rows.rows(), 0, "a refused append changed the array");
                drop(rows);
                assert_eq!(std::fs::metadata(&log).unwrap().len(), 128);
                outcome
            }),
        ];
        for (call, outcome) in attempts {
            match outcome {
                Err(err @ Error::FileSizeLimit { .. }) => {
                    let Error::FileSizeLimit { needed, limit, .. } = &err else {
                        unreachable!()
                    };
                    assert_eq!(*limit, 1 << 20, "{call}");
                    assert!(*needed >= big as u64, "{call}: {needed}");
                    assert!(err.to_string().contains("ulimit -f"), "{err}");
                    println!("refused: {call}");
                }
                other => panic!("{call}: expected FileSizeLimit, got {other:?}"),
            }
            assert_eq!(
                std::fs::read(&path).unwrap(),
                b"old",
                "{call} changed the file"
            );
        }
        return;
    }
    for (disposition, trap) in [("default", ""), ("ignored", "trap '' XFSZ && ")] {
        let dir = tempdir();
        let path = dir.path().join("limited.bin");
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -f 2048 && {trap}exec \"$0\" \"$@\""))
            .arg(std::env::current_exe().unwrap())
            .args([
                common::test_name(TEST),
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ROLE, "limited")
            .env(LIMITED_PATH, &path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "SIGXFSZ {disposition}: {:?}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(stdout.matches("refused: ").count(), 6, "{stdout}");
    }
}

// ---- 6: a conflict inside this process is always AlreadyMapped ----

#[test]
fn an_in_process_conflict_is_never_reported_as_another_processs_lock() {
    const TEST: &str = concat!(
        module_path!(),
        "::an_in_process_conflict_is_never_reported_as_another_processs_lock"
    );
    if child_role().is_none() {
        // Alone in a process of its own: a fork by another test's thread
        // would hold copies of our descriptors, and so a real lock.
        let output = common::run_child(TEST, "race", &[]);
        assert!(
            output.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    let dir = tempdir();
    let path = Arc::new(dir.path().join("contended.bin"));
    std::fs::write(&*path, [0u8; 64]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer_opens = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let (path, stop, opens) = (path.clone(), stop.clone(), writer_opens.clone());
            std::thread::spawn(move || {
                let mut misreported = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match unsafe { MemmapOptions::new().open_raw_mut::<u8, Ix1>(&*path) } {
                        Ok(guard) => {
                            opens.fetch_add(1, Ordering::Relaxed);
                            drop(guard);
                        }
                        Err(Error::AlreadyMapped { .. }) => {}
                        Err(other) => misreported.push(other.to_string()),
                    }
                }
                misreported
            })
        })
        .collect();
    let (mut refused, mut misreported) = (0, Vec::new());
    // Enough contended attempts to have hit the race thousands of times
    // before the fix; the count, not a duration, ends the loop.
    for _ in 0..3000 {
        let attempt = unsafe {
            MemmapOptions::new()
                .lock_wait(Duration::from_millis(5))
                .open_raw::<u8, Ix1>(&*path)
        };
        match attempt {
            Ok(_) => {}
            Err(Error::AlreadyMapped { .. }) => refused += 1,
            Err(other) => misreported.push(other.to_string()),
        }
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        misreported.extend(writer.join().unwrap());
    }
    assert!(
        misreported.is_empty(),
        "{} of the refusals were not AlreadyMapped, e.g. {:?}",
        misreported.len(),
        misreported.first()
    );
    assert!(
        refused > 0,
        "the reader never met a writer: the test proved nothing"
    );
    assert!(writer_opens.load(Ordering::Relaxed) > 0);
}

// ---- a full disk: refused before the file changes, or the documented rest ----

const TINY_FS: &str = "NDARRAY_MEMMAP_TINY_FS";

#[test]
fn a_full_disk_is_refused_before_the_file_changes() {
    const TEST: &str = concat!(
        module_path!(),
        "::a_full_disk_is_refused_before_the_file_changes"
    );
    if child_role().as_deref() != Some("tiny_fs") {
        let dir = tempdir();
        // A private mount namespace, so the 256 KiB tmpfs is seen by the
        // child alone and disappears with it.
        let output = std::process::Command::new("unshare")
            .args(["--mount", "sh", "-c"])
            .arg("mount -t tmpfs -o size=256k tmpfs \"$NDARRAY_MEMMAP_TINY_FS\" && exec \"$0\" \"$@\"")
            .arg(std::env::current_exe().unwrap())
            .args([common::test_name(TEST), "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ROLE, "tiny_fs")
            .env(TINY_FS, dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() && stderr.contains("mount") && !stderr.contains("panicked") {
            eprintln!("skipped: cannot mount a private tmpfs here (needs root): {stderr}");
            return;
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("tiny fs: every case checked"), "{stdout}");
        return;
    }
    let dir = std::path::PathBuf::from(std::env::var(TINY_FS).unwrap());
    let path = dir.join("keep.bin");
    std::fs::write(&path, vec![0xAB; 64 << 10]).unwrap();
    let before = Snapshot::take(&path);
    let big = 1 << 20;
    let attempts = [
        (
            "create_raw",
            unsafe { Array1::<u8>::create_raw(&path, big) }.map(drop),
        ),
        (
            "create_npy",
            unsafe { Array1::<u8>::create_npy(&path, big) }.map(drop),
        ),
        (
            "open_raw_mut",
            unsafe { Array1::<u8>::open_raw_mut(&path, big) }.map(drop),
        ),
        ("write_npy", write_npy(&path, &Array1::<u8>::zeros(big))),
    ];
    let mut available = 0;
    for (call, outcome) in attempts {
        match outcome {
            Err(err @ Error::DiskFull { .. }) => {
                let Error::DiskFull { available: a, .. } = err else {
                    unreachable!()
                };
                available = a;
                assert!(a < big as u64, "{call}: {a}");
                assert!(err.to_string().contains("preallocate(false)"), "{err}");
                println!("{call}: {err}");
            }
            other => panic!("{call}: expected DiskFull, got {other:?}"),
        }
        before.assert_unchanged();
    }
    // Sparse extension needs no space now, as in numpy.
    let sparse = unsafe {
        MemmapOptions::new()
            .shape(big)
            .preallocate(false)
            .open_raw_mut::<u8, Ix1>(&path)
    };
    assert_eq!(sparse.unwrap().len(), big);
    std::fs::write(&path, vec![0xAB; 64 << 10]).unwrap();

    // The one failure the check cannot foresee: exactly the free space, but
    // starting one byte into a page, so the blocks span one page more. `w+`
    // has given up the old content by then; the file is left empty, as
    // documented, never with a partial array.
    let fits_exactly = available as usize + (64 << 10);
    let result = unsafe {
        MemmapOptions::new()
            .offset(1)
            .shape(fits_exactly)
            .create_raw::<u8, Ix1>(&path)
    };
    match result {
        Err(Error::Io {
            operation,
            cause: source,
            ..
        }) => {
            assert_eq!(operation, "extend file");
            assert_eq!(source.raw_os_error(), Some(28), "ENOSPC expected: {source}");
        }
        other => panic!("expected ENOSPC from the allocation, got {other:?}"),
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    println!("tiny fs: every case checked ({available} bytes were free)");
}
