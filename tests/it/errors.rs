//! One test per error variant: the variant, its fields, its message, and a
//! file left exactly as it was.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use crate::common;

use crate::common::{f32_bytes, tempdir, Snapshot};
use ndarray::{Array1, Array2, Ix1, Ix2, Ix3};
use ndarray_memmap::{Error, MemmapExt, MemmapOptions, Mode, Order};

fn npy_with_header(dict: &str) -> Vec<u8> {
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((dict.len() as u16).to_le_bytes());
    out.extend(dict.as_bytes());
    out
}

#[test]
fn io_for_a_missing_file_names_the_path() {
    let dir = tempdir();
    let path = dir.path().join("missing.bin");
    match unsafe { Array1::<f32>::open_raw(&path, 3) } {
        Err(err @ Error::Io { .. }) => {
            let Error::Io {
                operation,
                path: Some(p),
                cause: source,
            } = &err
            else {
                unreachable!()
            };
            assert_eq!((*operation, p.as_path()), ("open", path.as_path()));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            // The system's reason is in the message, not only in a source chain.
            let message = err.to_string();
            assert!(message.contains("missing.bin"), "{message}");
            assert!(
                message.ends_with(": No such file or directory (os error 2)"),
                "{message}"
            );
            assert!(std::error::Error::source(&err).is_none());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !path.exists(),
        "a failed read-only open must not create the file"
    );
}

#[test]
fn a_directory_is_named_as_one() {
    let dir = tempdir();
    for mode in [Mode::ReadOnly, Mode::ReadWrite] {
        let result = match mode {
            Mode::ReadOnly => {
                unsafe { MemmapOptions::new().open_raw::<u8, Ix1>(dir.path()) }.map(drop)
            }
            _ => unsafe { MemmapOptions::new().open_raw_mut::<u8, Ix1>(dir.path()) }.map(drop),
        };
        match result {
            Err(err @ Error::NotAFile { .. }) => {
                assert!(
                    matches!(
                        err,
                        Error::NotAFile {
                            file_type: "directory",
                            ..
                        }
                    ),
                    "{mode}: {err:?}"
                );
                assert!(
                    err.to_string()
                        .contains("is a directory, not a regular file"),
                    "{err}"
                );
            }
            other => panic!("{mode}: {other:?}"),
        }
    }
}

#[test]
fn io_for_a_read_only_file_opened_for_writing() {
    use std::os::unix::fs::PermissionsExt;
    if common::child_role().is_none() && common::is_root() {
        // Root ignores permission bits: run this test again as an ordinary user.
        let dir = tempdir();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        // A copy of this test binary that the unprivileged user can run
        // wherever the checkout lives.
        let exe = dir.path().join("errors-test");
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let output = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe)
            .args([
                common::test_name(concat!(
                    module_path!(),
                    "::io_for_a_read_only_file_opened_for_writing"
                )),
                "--exact",
                "--nocapture",
            ])
            .env(common::CHILD_ROLE, "unprivileged")
            .env("TMPDIR", dir.path())
            .current_dir(dir.path())
            .output()
            .expect("setpriv (util-linux) runs the test as an ordinary user");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"));
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("ro.bin");
    std::fs::write(&path, [0u8; 8]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = Snapshot::take(&path);
    match unsafe { Array1::<u8>::open_raw_mut(&path, 8) } {
        Err(Error::Io {
            operation: "open",
            cause: source,
            ..
        }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied)
        }
        other => panic!("{other:?}"),
    }
    match unsafe { Array1::<u8>::create_raw(&path, 8) } {
        Err(Error::Io { cause: source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied)
        }
        other => panic!("{other:?}"),
    }
    before.assert_unchanged();
    // Reading it is fine.
    assert_eq!(
        unsafe { Array1::<u8>::open_raw(&path, 8) }.unwrap().len(),
        8
    );
}

#[test]
fn invalid_mode_names_the_string_and_the_accepted_ones() {
    let err = "rw".parse::<Mode>().unwrap_err();
    assert!(matches!(&err, Error::InvalidMode { found } if found == "rw"));
    assert_eq!(
        err.to_string(),
        "mode must be one of 'r', 'c', 'r+', 'w+', 'readonly', 'copyonwrite', 'readwrite', 'write' (got \"rw\")"
    );
}

#[test]
fn invalid_order_names_the_string() {
    let err = "x".parse::<Order>().unwrap_err();
    assert!(matches!(&err, Error::InvalidOrder { found } if found == "x"));
    assert!(err.to_string().contains("(got \"x\")"));
}

#[test]
fn file_too_short_names_needed_and_actual_length() {
    let dir = tempdir();
    let path = dir.path().join("short.bin");
    std::fs::write(&path, [0u8; 40]).unwrap();
    let before = Snapshot::take(&path);
    for copy in [false, true] {
        let options = MemmapOptions::new().offset(16).shape((2, 4)).clone();
        let result = if copy {
            unsafe { options.open_raw_copy::<f32, Ix2>(&path) }.map(drop)
        } else {
            unsafe { options.open_raw::<f32, Ix2>(&path) }.map(drop)
        };
        match result {
            Err(err @ Error::FileTooShort { .. }) => {
                let Error::FileTooShort {
                    expected,
                    found,
                    offset,
                    nbytes,
                    ..
                } = err
                else {
                    unreachable!()
                };
                assert_eq!((expected, found, offset, nbytes), (48, 40, 16, 32));
                let message = err.to_string();
                assert!(message.contains("40 bytes long"), "{message}");
                assert!(
                    message.contains("it holds 24 bytes of data, 6 of the 8 elements"),
                    "{message}"
                );
                assert!(
                    message.contains("mode 'r+' would extend the file"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    before.assert_unchanged();
}

#[test]
fn offset_past_end_without_a_shape_is_refused_in_every_mode() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, [0u8; 8]).unwrap();
    let before = Snapshot::take(&path);
    let options = MemmapOptions::new().offset(12).clone();
    for result in [
        unsafe { options.open_raw::<u32, Ix1>(&path) }.map(drop),
        unsafe { options.open_raw_mut::<u32, Ix1>(&path) }.map(drop),
        unsafe { options.open_raw_copy::<u32, Ix1>(&path) }.map(drop),
    ] {
        assert!(
            matches!(
                result,
                Err(Error::OffsetPastEnd {
                    offset: 12,
                    file_len: 8,
                    ..
                })
            ),
            "{result:?}"
        );
    }
    before.assert_unchanged();
}

#[test]
fn trailing_bytes_name_the_available_bytes_and_element_size() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, [0u8; 10]).unwrap();
    match unsafe { MemmapOptions::new().open_raw::<f64, Ix1>(&path) } {
        Err(Error::TrailingBytes {
            offset: 0,
            available: 10,
            element_size: 8,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn misaligned_offset_names_offset_and_alignment_before_touching_the_file() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, [0u8; 64]).unwrap();
    let before = Snapshot::take(&path);
    let options = MemmapOptions::new().offset(6).shape(4).clone();
    for result in [
        unsafe { options.open_raw::<f64, Ix1>(&path) }.map(drop),
        unsafe { options.open_raw_mut::<f64, Ix1>(&path) }.map(drop),
        unsafe { options.create_raw::<f64, Ix1>(&path) }.map(drop),
    ] {
        match result {
            Err(err @ Error::Misaligned { .. }) => {
                assert!(matches!(
                    err,
                    Error::Misaligned {
                        offset: 6,
                        align: 8,
                        element: "f64"
                    }
                ));
                let message = err.to_string();
                assert!(
                    message.starts_with("offset 6 is not a multiple of the alignment 8 of f64"),
                    "{message}"
                );
                // The way out: a copying read, which any offset suits.
                assert!(message.contains("read_raw"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    before.assert_unchanged();
}

#[test]
fn size_overflow_is_one_error_not_a_wrap() {
    let dir = tempdir();
    let path = dir.path().join("new.bin");
    for (shape, offset) in [
        (vec![1usize << 62, 4], 0u64),
        (vec![usize::MAX, 2], 0),
        (vec![4], u64::MAX - 7),
    ] {
        let result = unsafe {
            MemmapOptions::new()
                .shape(shape.clone())
                .offset(offset)
                .create_raw::<f64, ndarray::IxDyn>(&path)
        };
        match result {
            Err(Error::SizeOverflow {
                shape: s,
                element_size: 8,
                offset: o,
            }) => assert_eq!((s, o), (shape, offset)),
            other => panic!("{other:?}"),
        }
    }
    assert!(
        !path.exists(),
        "the file must not be created when the shape is refused"
    );
}

#[test]
fn shape_required_for_create_is_checked_before_the_file_is_touched() {
    let dir = tempdir();
    let path = dir.path().join("keep.bin");
    std::fs::write(&path, b"precious").unwrap();
    let before = Snapshot::take(&path);
    match unsafe { MemmapOptions::new().create_raw::<u8, Ix1>(&path) } {
        Err(Error::ShapeRequired { reason }) => assert!(reason.contains("w+")),
        other => panic!("{other:?}"),
    }
    match unsafe { MemmapOptions::new().open_raw::<u8, Ix2>(&path) } {
        Err(Error::ShapeRequired { reason }) => assert!(reason.contains("only 1-D")),
        other => panic!("{other:?}"),
    }
    before.assert_unchanged();
}

#[test]
fn dimension_mismatch_names_both_ranks() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, [0u8; 24]).unwrap();
    match unsafe {
        MemmapOptions::new()
            .shape((2, 3))
            .open_raw::<f32, Ix3>(&path)
    } {
        Err(err @ Error::DimensionMismatch { .. }) => {
            assert!(
                matches!(&err, Error::DimensionMismatch { expected: 3, found: 2, shape } if shape == &vec![2, 3])
            );
            assert!(err.to_string().contains("has 2 axes"), "{err}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_value_names_the_element_type() {
    let dir = tempdir();
    let path = dir.path().join("b.bin");
    std::fs::write(&path, [1u8, 0, 1, 0xff, 2]).unwrap();
    let by_map = unsafe { Array1::<bool>::open_raw(&path, 5) }.map(drop);
    let by_mutable_map = unsafe { Array1::<bool>::open_raw_mut(&path, 5) }.map(drop);
    for result in [by_map, by_mutable_map] {
        match result {
            Err(
                err @ Error::InvalidValue {
                    element: "bool",
                    path: Some(_),
                    index: 3,
                    ..
                },
            ) => {
                let message = err.to_string();
                assert!(message.contains("b.bin: element 3 is 0xff"), "{message}");
                assert!(message.contains("only bytes 0 and 1"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    // The copying read names the same element.
    let npy = dir.path().join("b.npy");
    let mut bytes = ndarray_memmap::NpyHeader::format("|b1", false, &[5]);
    bytes.extend([1u8, 0, 1, 0xff, 2]);
    std::fs::write(&npy, bytes).unwrap();
    match ndarray_memmap::read_npy::<bool, Ix1>(&npy) {
        Err(Error::InvalidValue {
            index: 3, found, ..
        }) => assert_eq!(found, [0xff]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn already_mapped_refuses_aliasing_in_this_process() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, [0u8; 8]).unwrap();
    let writer = unsafe { Array1::<u8>::open_raw_mut(&path, 8) }.unwrap();
    match unsafe { Array1::<u8>::open_raw_mut(&path, 8) } {
        Err(Error::AlreadyMapped {
            existing,
            requested: "writable",
            path: p,
        }) => {
            assert_eq!(p, std::path::absolute(&path).unwrap());
            assert_eq!(existing, "a writable guard (mode 'r+' or 'w+')");
        }
        other => panic!("{other:?}"),
    }
    match unsafe { Array1::<u8>::open_raw(&path, 8) } {
        Err(
            err @ Error::AlreadyMapped {
                requested: "read-only",
                ..
            },
        ) => {
            let message = err.to_string();
            assert!(message.contains("by a writable guard"), "{message}");
            assert!(message.contains("numpy allows this"), "{message}");
            assert!(message.contains("drop that guard first"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    drop(writer);
    let reader = unsafe { Array1::<u8>::open_raw(&path, 8) }.unwrap();
    let second_reader = unsafe { Array1::<u8>::open_raw_copy(&path, 8) }.unwrap();
    match unsafe { Array1::<u8>::create_raw(&path, 8) } {
        Err(Error::AlreadyMapped {
            existing,
            requested: "writable",
            ..
        }) => assert_eq!(existing, "2 read-only guards"),
        other => panic!("{other:?}"),
    }
    drop((reader, second_reader));
    // A hard link is the same file.
    let link = dir.path().join("link.bin");
    std::fs::hard_link(&path, &link).unwrap();
    let _writer = unsafe { Array1::<u8>::open_raw_mut(&path, 8) }.unwrap();
    assert!(matches!(
        unsafe { Array1::<u8>::open_raw(&link, 8) },
        Err(Error::AlreadyMapped { .. })
    ));
}

#[test]
fn locked_when_another_handle_holds_a_conflicting_lock() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, [0u8; 8]).unwrap();
    let other = std::fs::File::open(&path).unwrap();
    other.lock().unwrap();
    let before = Snapshot::take(&path);
    match unsafe { Array1::<u8>::open_raw(&path, 8) } {
        Err(err @ Error::Locked { .. }) => {
            assert!(matches!(
                &err,
                Error::Locked {
                    requested: "shared",
                    ..
                }
            ));
            assert!(err.to_string().contains("lock(false)"), "{err}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        unsafe { Array1::<u8>::create_raw(&path, 8) },
        Err(Error::Locked {
            requested: "exclusive",
            ..
        })
    ));
    before.assert_unchanged();
    // Opting out maps anyway.
    assert!(unsafe {
        MemmapOptions::new()
            .lock(false)
            .shape(8)
            .open_raw::<u8, Ix1>(&path)
    }
    .is_ok());
}

#[test]
fn npy_header_names_the_file_and_the_problem() {
    let dir = tempdir();
    let path = dir.path().join("bad.npy");
    std::fs::write(&path, b"\x92NUMPY\x01\x00").unwrap();
    let before = Snapshot::take(&path);
    match unsafe { Array1::<f64>::open_npy_mut(&path) } {
        Err(err @ Error::NpyHeader { .. }) => {
            let Error::NpyHeader {
                path: Some(p),
                reason,
            } = &err
            else {
                panic!("{err:?}")
            };
            assert_eq!(p, &std::path::absolute(&path).unwrap());
            assert!(reason.contains("magic string"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    before.assert_unchanged();
}

#[test]
fn unsupported_dtype_says_what_is_supported() {
    let dir = tempdir();
    let path = dir.path().join("s.npy");
    std::fs::write(
        &path,
        npy_with_header("{'descr': '|S5', 'fortran_order': False, 'shape': (2,), }\n"),
    )
    .unwrap();
    match unsafe { Array1::<f64>::open_npy(&path) } {
        Err(err @ Error::UnsupportedDtype { .. }) => {
            assert!(matches!(&err, Error::UnsupportedDtype { descr } if descr == "|S5"));
            assert!(err.to_string().contains("supported are bool"), "{err}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dtype_mismatch_names_file_dtype_shape_and_request() {
    let dir = tempdir();
    let path = dir.path().join("f8.npy");
    ndarray_memmap::write_npy(&path, &Array2::<f64>::zeros((1000, 3))).unwrap();
    match unsafe { Array2::<f32>::open_npy(&path) } {
        Err(err @ Error::DtypeMismatch { .. }) => {
            assert_eq!(
                err.to_string(),
                "file holds \"<f8\" of shape [1000, 3], but f32 (\"<f4\") was requested"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn byte_order_points_to_read_npy() {
    let dir = tempdir();
    let path = dir.path().join("be.npy");
    let mut bytes = ndarray_memmap::NpyHeader::format(">i4", false, &[2]);
    bytes.extend([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]);
    std::fs::write(&path, bytes).unwrap();
    match unsafe { Array1::<i32>::open_npy(&path) } {
        Err(err @ Error::ByteOrder { .. }) => {
            assert!(matches!(&err, Error::ByteOrder { found, .. } if found == ">i4"));
            assert!(err.to_string().contains("read_npy"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ndarray_memmap::read_npy::<i32, Ix1>(&path)
            .unwrap()
            .to_vec(),
        vec![1, -2]
    );
}

#[test]
fn invalid_shape_when_a_user_mapping_is_too_small() {
    let dir = tempdir();
    let path = dir.path().join("small.bin");
    std::fs::write(&path, f32_bytes([1.0, 2.0])).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let mmap = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    match ndarray_memmap::Memmap::<f32, Ix1>::from_mmap(mmap, 4, 2, Order::C) {
        Err(Error::InvalidShape { shape, reason }) => {
            assert_eq!(shape, vec![2]);
            assert!(
                reason.contains(
                    "needs 8 bytes from byte 4, but the mapping is 8 bytes long (4 after byte 4)"
                ),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unsound_advice_is_refused_on_copy_on_write_maps() {
    let mut scratch = Array1::<u8>::scratch(8).unwrap();
    scratch[0] = 1;
    // Shared maps may drop pages: the data is in the file.
    scratch.advise(ndarray_memmap::Advice::DontNeed).unwrap();
    assert_eq!(scratch[0], 1);
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, [0u8; 8]).unwrap();
    let cow = unsafe { Array1::<u8>::open_raw_copy(&path, 8) }.unwrap();
    assert!(matches!(
        cow.advise(ndarray_memmap::Advice::DontNeed),
        Err(Error::UnsoundAdvice {
            advice: ndarray_memmap::Advice::DontNeed
        })
    ));
}

#[test]
fn no_npy_descr_for_user_types_without_one() {
    #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
    #[repr(C)]
    struct Pair {
        a: u16,
        b: u16,
    }
    impl ndarray_memmap::Element for Pair {}
    let dir = tempdir();
    let path = dir.path().join("pair.npy");
    match unsafe { Array1::<Pair>::create_npy(&path, 3) } {
        Err(Error::NoNpyDescr { element }) => assert!(element.ends_with("Pair")),
        other => panic!("{other:?}"),
    }
    assert!(!path.exists());
    // Raw files need no descr.
    let mut raw = unsafe { Array1::<Pair>::create_raw(dir.path().join("pair.bin"), 3) }.unwrap();
    raw[1] = Pair { a: 1, b: 2 };
    assert_eq!(raw[1].a + raw[1].b, 3);
}

/// Whether `message` is what `example` shows, where `...` in the example
/// stands for any text.
fn shows(example: &str, message: &str) -> bool {
    let pieces: Vec<&str> = example.split("...").collect();
    if pieces.len() == 1 {
        return example == message;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !message.starts_with(first)
        || !message.ends_with(last)
        || message.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &message[first.len()..message.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// The example messages of docs/safety.md's table of bad inputs, in order:
/// the third column's first `code` span, where it is a message.
fn documented_messages() -> Vec<String> {
    let doc = include_str!("../../docs/safety.md");
    let table = doc
        .split("| input | error | message (example) |")
        .nth(1)
        .expect("docs/safety.md has the table of bad inputs");
    table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|row| {
            // The last cell: a message in a code span (two backticks and
            // spaces when it holds a backtick); a pipe in it is escaped.
            let cell = row.rsplit(" | ").next()?;
            let (open, close) = if cell.starts_with("`` ") {
                ("`` ", " ``")
            } else {
                ("`", "`")
            };
            let rest = cell.strip_prefix(open)?;
            let end = rest.find(close)?;
            Some(rest[..end].replace("\\|", "|"))
        })
        .collect()
}

#[test]
fn every_example_message_in_the_safety_docs_is_one_the_crate_prints() {
    use std::path::PathBuf;
    let p = |name: &str| PathBuf::from(format!("/tmp/x/{name}"));
    let os = |code: i32| std::io::Error::from_raw_os_error(code);
    // Each documented case, built with the values the example shows; the
    // tests named in docs/safety.md check that the case gives this variant.
    let errors = vec![
        Error::Io { operation: "open", path: Some(p("missing.bin")), cause: os(libc::ENOENT) },
        Error::Io { operation: "open", path: Some(p("ro.bin")), cause: os(libc::EACCES) },
        Error::ShapeRequired { reason: "create a file (mode 'w+')" },
        Error::ShapeRequired {
            reason: "open a raw file as more than one dimension (only 1-D shapes are inferred)",
        },
        Error::FileTooShort {
            path: p("short.bin"),
            expected: 48,
            found: 40,
            offset: 16,
            nbytes: 32,
            element_size: 8,
            remedy: ndarray_memmap::FileTooShortRemedy::ExtendWithReadWrite,
        },
        Error::SizeOverflow { shape: vec![1 << 62, 4], element_size: 8, offset: 0 },
        Error::OffsetPastEnd { path: p("a.bin"), offset: 12, file_len: 8 },
        Error::TrailingBytes { path: p("a.bin"), offset: 0, available: 10, element_size: 8 },
        Error::Misaligned { offset: 6, align: 8, element: "f64" },
        Error::InvalidValue { path: Some(p("b.bin")), element: "bool", index: 3, found: vec![2] },
        Error::DimensionMismatch { expected: 2, found: 4, shape: vec![2, 1, 2, 3] },
        Error::DtypeMismatch {
            expected: "f32 (\"<f4\")".to_owned(),
            found: "<f8".to_owned(),
            shape: vec![1000, 3],
        },
        Error::ByteOrder {
            found: ">i4".to_owned(),
            remedy: "read it into memory with read_npy, which swaps bytes",
        },
        Error::NpyHeader {
            path: Some(p("bad.npy")),
            reason: "the magic string is not correct: expected b'\\x93NUMPY', found b'\\x92NUMPY'"
                .to_owned(),
        },
        Error::NpyHeader {
            path: Some(p("big.npy")),
            reason: "header length 118 exceeds the limit of 100 bytes (see MemmapOptions::max_header_size)"
                .to_owned(),
        },
        Error::UnsupportedDtype { descr: "|O".to_owned() },
        Error::FileTooShort {
            path: p("cut.npy"),
            expected: 928,
            found: 920,
            offset: 128,
            nbytes: 800,
            element_size: 8,
            remedy: ndarray_memmap::FileTooShortRemedy::Truncated,
        },
        Error::AlreadyMapped {
            path: p("a.bin"),
            existing: "a writable guard".to_owned(),
            requested: "read-only",
        },
        Error::Locked { path: p("a.bin"), requested: "exclusive" },
        Error::DiskFull { path: p("keep.bin"), needed: 983_040, available: 196_608 },
        Error::Io { operation: "extend file", path: Some(p("big.bin")), cause: os(libc::ENOSPC) },
        Error::FileSizeLimit { path: p("limited.bin"), needed: 2_097_152, limit: 1_048_576 },
        Error::NotAFile { path: p("pipe"), file_type: "FIFO" },
        Error::NotAFile { path: p("sock"), file_type: "socket" },
        Error::NotAFile { path: PathBuf::from("/tmp/x"), file_type: "directory" },
        Error::OutOfMemory { path: Some(p("huge.npy")), bytes: 1 << 40 },
        Error::SizeOverflow { shape: vec![0, usize::MAX], element_size: 1, offset: 65 },
        Error::InvalidShape {
            shape: vec![0],
            reason: "starts at byte 4194304, past the end of the mapping, which is 64 bytes long"
                .to_owned(),
        },
        Error::RecordMismatch {
            field: "vel".to_owned(),
            expected: "\"vel\" <f4 [3] at offset 12".to_owned(),
            found: "\"velocity\" <f4 [3] at offset 12".to_owned(),
        },
        Error::Npz {
            path: Some(p("cut.npz")),
            reason: "invalid Zip archive: Unexpected end of zip::format::blocks::Zip32CDEBlock"
                .to_owned(),
        },
        Error::Npz {
            path: Some(p("twice.npz")),
            reason: "its central directory lists a member name more than once (numpy would silently read the last of each)"
                .to_owned(),
        },
        Error::FileTooShort {
            path: p("mixed.npz[bomb.npy]"),
            expected: 8_796_093_022_336,
            found: 144,
            offset: 128,
            nbytes: 8_796_093_022_208,
            element_size: 8,
            remedy: ndarray_memmap::FileTooShortRemedy::Truncated,
        },
        Error::Npz {
            path: Some(p("inflated.npz")),
            reason: "member \"z.npy\" declares 2147483632 bytes, but 106 Deflated bytes can give at most 110416; the archive is damaged"
                .to_owned(),
        },
        Error::NpyHeader {
            path: Some(p("mixed.npz[readme.txt]")),
            reason: "file ends while reading the magic string: expected 8 bytes, found 5".to_owned(),
        },
        Error::SettingNotApplicable {
            setting: "shape",
            terminal: "open_npy",
            reason: "the .npy header gives it",
        },
        Error::NotMappable {
            path: Some(p("o.npz")),
            name: "ccc.npy".to_owned(),
            reason: "its data starts at byte 609 of the archive, not a multiple of 2, the alignment of i16 (NpzWriter aligns every stored member to 64 bytes; np.savez aligns none)"
                .to_owned(),
        },
        Error::ZarrUnsupported {
            path: Some(p("a.zarr/zarr.json")),
            feature: "the compressor \"zstd\"".to_owned(),
            remedy: "write the array uncompressed (compressors=None in zarr-python and da.to_zarr, encoding={name: {\"compressors\": None}} in xarray's to_zarr) to map it; zarr-python, zarrs or tensorstore read it as it is, decoding each chunk",
        },
        Error::ZarrMetadata {
            path: Some(p("empty")),
            reason: "there is no zarr.json (v3) or .zarray (v2): the directory is not a Zarr array".to_owned(),
        },
        Error::ZarrChunk {
            path: p("a.zarr"),
            key: "c/0/1".to_owned(),
            reason: "the chunk is 20 bytes, but a chunk of shape [2, 2] holds 36 (8-byte elements and a 4-byte CRC-32C; edge chunks are stored full size); rewrite the chunk".to_owned(),
        },
        Error::ZarrChunk {
            path: p("s.zarr"),
            key: "c/0".to_owned(),
            reason: "slot 1 of the shard index points at bytes 40..48 of a 52-byte shard whose data lies in 0..16".to_owned(),
        },
        #[cfg(feature = "hdf5")]
        Error::Hdf5Write {
            path: p("data.h5"),
            object: "/".to_owned(),
            reason: "datasets are added only to files of this crate's format (superblock version 2 at byte 0, 8-byte addresses, no extension); this one has superblock version 0: add datasets with h5py, or write a new file".to_owned(),
        },
        #[cfg(feature = "hdf5")]
        Error::Hdf5Write {
            path: p("ours.h5"),
            object: "/g/x".to_owned(),
            reason: "a member of that name exists; choose another name".to_owned(),
        },
        #[cfg(feature = "hdf5")]
        Error::Hdf5Metadata {
            path: Some(p("cyclic.h5")),
            reason: "the object header at byte 96 continues into a block it has already read (a cycle), or into more than 4096 blocks; the file is damaged".to_owned(),
        },
        #[cfg(feature = "hdf5")]
        Error::Hdf5NotFound {
            path: Some(p("f.h5")),
            object: "/a/b/nope".to_owned(),
            reason: "the group /a/b has no member \"nope\"".to_owned(),
        },
        #[cfg(feature = "hdf5")]
        Error::Hdf5Unsupported {
            path: Some(p("f.h5")),
            dataset: "/gzip".to_owned(),
            reason: "its chunks are filtered (gzip (deflate) (filter 1))".to_owned(),
            remedy: "read it with h5py, or recreate it without compression (compression=None) to map it".to_owned(),
        },
        #[cfg(feature = "hdf5")]
        Error::Hdf5Unsupported {
            path: Some(p("f.h5")),
            dataset: "/x".to_owned(),
            reason: "it was never written, so no storage is allocated (libhdf5 allocates contiguous data late by default)".to_owned(),
            remedy: "write it once (dset[...] = data), or create it with early allocation (h5py.h5p: set_alloc_time(h5d.ALLOC_TIME_EARLY))".to_owned(),
        },
        #[cfg(feature = "hdf5")]
        Error::Hdf5Unsupported {
            path: Some(p("f.h5")),
            dataset: "/x".to_owned(),
            reason: "a writer has the file open (superblock flags 0x1: open for writing), so its metadata and data may change under a map".to_owned(),
            remedy: "close the writer first; if no writer runs (one crashed), clear the flags with `h5clear -s FILE`".to_owned(),
        },
    ];
    let printed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let documented = documented_messages();
    assert!(
        documented.len() >= 30,
        "the table was not found whole: {documented:#?}"
    );
    let mut missing = Vec::new();
    for example in &documented {
        if !printed.iter().any(|message| shows(example, message)) {
            missing.push(example.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/safety.md shows messages the crate does not print:\n{}\n\nthe crate prints:\n{}",
        missing.join("\n"),
        printed.join("\n")
    );
    for message in &printed {
        assert!(
            documented.iter().any(|example| shows(example, message)),
            "no row of docs/safety.md shows this message: {message}"
        );
    }
}

#[test]
fn setting_not_applicable_names_the_setting_the_terminal_and_what_decides_instead() {
    let dir = tempdir();
    let npy = dir.path().join("a.npy");
    ndarray_memmap::write_npy(&npy, &Array2::<f64>::zeros((2, 3))).unwrap();
    let before = Snapshot::take(&npy);
    let dtype: ndarray_memmap::DType = "f8".parse().unwrap();
    let check = |outcome: Result<(), Error>, setting: &str, terminal: &str| match outcome {
        Err(Error::SettingNotApplicable {
            setting: s,
            terminal: t,
            reason,
        }) => {
            assert_eq!((s, t), (setting, terminal));
            assert!(!reason.is_empty());
        }
        other => panic!("{setting} for {terminal}: {other:?}"),
    };
    unsafe {
        check(
            MemmapOptions::new()
                .shape((2, 3))
                .open_npy::<f64, Ix2>(&npy)
                .map(drop),
            "shape",
            "open_npy",
        );
        check(
            MemmapOptions::new()
                .offset(8)
                .open_npy_mut::<f64, Ix2>(&npy)
                .map(drop),
            "offset",
            "open_npy_mut",
        );
        check(
            MemmapOptions::new()
                .order(Order::Fortran)
                .open_npy_copy::<f64, Ix2>(&npy)
                .map(drop),
            "order",
            "open_npy_copy",
        );
        check(
            MemmapOptions::new()
                .dtype(dtype)
                .open_npy::<f64, Ix2>(&npy)
                .map(drop),
            "dtype",
            "open_npy",
        );
        check(
            MemmapOptions::new()
                .dtype(dtype)
                .open_raw::<f64, Ix1>(&npy)
                .map(drop),
            "dtype",
            "open_raw",
        );
        check(
            MemmapOptions::new()
                .shape(2)
                .offset(64)
                .create_npy::<f64, Ix1>(&npy)
                .map(drop),
            "offset",
            "create_npy",
        );
        check(
            MemmapOptions::new()
                .shape(2)
                .dtype(dtype)
                .create_raw::<f64, Ix1>(&npy)
                .map(drop),
            "dtype",
            "create_raw",
        );
        check(
            MemmapOptions::new()
                .dtype(dtype)
                .open_npy_any(&npy, Mode::ReadOnly)
                .map(drop),
            "dtype",
            "open_npy_any of an existing file",
        );
    }
    check(
        MemmapOptions::new()
            .shape(3)
            .offset(8)
            .scratch::<f64, Ix1>()
            .map(drop),
        "offset",
        "scratch",
    );
    check(
        MemmapOptions::new()
            .order(Order::Fortran)
            .read_npy::<f64, Ix2>(&npy)
            .map(drop),
        "order",
        "read_npy",
    );
    before.assert_unchanged();
    // Settings that apply are taken: offset and shape for a raw open.
    let raw = unsafe {
        MemmapOptions::new()
            .offset(128)
            .shape(6)
            .open_raw::<f64, Ix1>(&npy)
    };
    assert_eq!(raw.unwrap().len(), 6);
}
