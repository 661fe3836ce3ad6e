//! `.npy` files: creation, opening, damaged and unusual files.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use crate::common;

use crate::common::{python, s, tempdir, Snapshot};
use ndarray::ShapeBuilder;
use ndarray::{array, s as slice, Array1, Array2, ArrayD, Ix0, Ix1, Ix2, IxDyn};
use ndarray_memmap::{
    read_npy, read_npy_header, write_npy, Error, FileTooShortRemedy, MemmapExt, MemmapOptions,
    NpyHeader, Order,
};
use num_complex::Complex;

#[test]
fn truncated_data_is_an_error_in_every_mode_and_the_file_is_untouched() {
    let dir = tempdir();
    let path = dir.path().join("t.npy");
    write_npy(&path, &Array2::<f64>::ones((10, 10))).unwrap();
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() - 8]).unwrap();
    let before = Snapshot::take(&path);
    let options = MemmapOptions::new();
    let results = [
        unsafe { options.open_npy::<f64, Ix2>(&path) }.map(drop),
        unsafe { options.open_npy_mut::<f64, Ix2>(&path) }.map(drop),
        unsafe { options.open_npy_copy::<f64, Ix2>(&path) }.map(drop),
        read_npy::<f64, Ix2>(&path).map(drop),
    ];
    for result in results {
        match result {
            Err(
                err @ Error::FileTooShort {
                    expected,
                    found,
                    offset,
                    nbytes,
                    remedy: FileTooShortRemedy::Truncated,
                    ..
                },
            ) => {
                assert_eq!((expected, found, offset, nbytes), (928, 920, 128, 800));
                // As numpy's "could only read 99 elements", in bytes and elements.
                let message = err.to_string();
                assert!(
                    message.contains("it holds 792 bytes of data, 99 of the 100 elements"),
                    "{message}"
                );
                assert!(message.contains("cut short"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    before.assert_unchanged();
}

#[test]
fn bytes_after_the_data_are_accepted_and_left_alone() {
    let dir = tempdir();
    let path = dir.path().join("extra.npy");
    write_npy(&path, &array![1u16, 2, 3]).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(b"trailer");
    std::fs::write(&path, &bytes).unwrap();
    let header = read_npy_header(&path).unwrap();
    assert_eq!(header.data_len().unwrap(), 6);
    assert_eq!(
        common::file_len(&path) - header.data_offset - header.data_len().unwrap(),
        7
    );
    let mut m = unsafe { Array1::<u16>::open_npy_mut(&path) }.unwrap();
    m[0] = 9;
    m.close().unwrap();
    assert!(std::fs::read(&path).unwrap().ends_with(b"trailer"));
    assert_eq!(read_npy::<u16, Ix1>(&path).unwrap().to_vec(), vec![9, 2, 3]);
}

#[test]
fn header_cap_is_an_option() {
    let dir = tempdir();
    let path = dir.path().join("h.npy");
    write_npy(&path, &array![1.0f32]).unwrap();
    let capped = unsafe {
        MemmapOptions::new()
            .max_header_size(100)
            .open_npy::<f32, Ix1>(&path)
    };
    match capped {
        Err(Error::NpyHeader { reason, .. }) => assert!(
            reason.contains("header length 118 exceeds the limit of 100"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(unsafe {
        MemmapOptions::new()
            .max_header_size(118)
            .open_npy::<f32, Ix1>(&path)
    }
    .is_ok());
}

#[test]
fn old_unaligned_headers_cannot_be_mapped_but_can_be_read() {
    if common::numpy_skipped() {
        return;
    }
    // numpy < 1.14 padded to 16 bytes; a header with no padding puts data at 60.
    let dir = tempdir();
    let path = dir.path().join("old.npy");
    let dict = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((dict.len() as u16).to_le_bytes());
    bytes.extend(dict);
    let offset = bytes.len() as u64;
    assert_ne!(offset % 8, 0);
    bytes.extend([1.5f64, -2.0].iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(&path, bytes).unwrap();
    match unsafe { Array1::<f64>::open_npy(&path) } {
        Err(Error::Misaligned {
            offset: o,
            align: 8,
            element: "f64",
        }) => assert_eq!(o, offset),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        read_npy::<f64, Ix1>(&path).unwrap().to_vec(),
        vec![1.5, -2.0]
    );
    // numpy reads it too.
    assert_eq!(
        python(
            "import numpy as np, sys; print(np.load(sys.argv[1]).tolist())",
            &[s(&path)]
        )
        .trim(),
        "[1.5, -2.0]"
    );
}

#[test]
fn big_endian_files_from_numpy_are_read_with_swapped_bytes() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let script = r#"
import numpy as np, sys
d = sys.argv[1]
np.save(d + '/i4.npy', np.array([1, -2, 70000], dtype='>i4'))
np.save(d + '/f8.npy', np.array([[1.5, -0.25], [3e300, 0.0]], dtype='>f8'))
np.save(d + '/c8.npy', np.array([1.5 - 2j, 3 + 4j], dtype='>c8'))
np.save(d + '/u2f.npy', np.asfortranarray(np.arange(6, dtype='>u2').reshape(2, 3)))
"#;
    python(script, &[s(dir.path())]);
    let p = |name: &str| dir.path().join(name);
    assert_eq!(
        read_npy::<i32, Ix1>(p("i4.npy")).unwrap(),
        array![1, -2, 70000]
    );
    assert_eq!(
        read_npy::<f64, Ix2>(p("f8.npy")).unwrap(),
        array![[1.5, -0.25], [3e300, 0.0]]
    );
    assert_eq!(
        read_npy::<Complex<f32>, Ix1>(p("c8.npy")).unwrap(),
        array![Complex::new(1.5, -2.0), Complex::new(3.0, 4.0)]
    );
    assert_eq!(
        read_npy::<u16, Ix2>(p("u2f.npy")).unwrap(),
        array![[0, 1, 2], [3, 4, 5]]
    );
    assert!(matches!(
        unsafe { Array1::<i32>::open_npy(p("i4.npy")) },
        Err(Error::ByteOrder { .. })
    ));
}

#[test]
fn zero_dimensional_and_zero_size_files_create_and_open() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let scalar = dir.path().join("scalar.npy");
    let mut m = unsafe {
        MemmapOptions::new()
            .shape(())
            .create_npy::<i64, Ix0>(&scalar)
    }
    .unwrap();
    m[()] = -5;
    m.close().unwrap();
    assert_eq!(common::file_len(&scalar), 128 + 8);
    assert_eq!(
        unsafe { ArrayD::<i64>::open_npy(&scalar) }.unwrap().shape(),
        &[] as &[usize]
    );
    let empty = dir.path().join("empty.npy");
    let m = unsafe { Array2::<f32>::create_npy(&empty, (0, 5)) }.unwrap();
    assert_eq!(m.shape(), &[0, 5]);
    drop(m);
    assert_eq!(
        common::file_len(&empty),
        128,
        "a zero-size array's file is its header alone"
    );
    for mode in ["r", "r+", "c"] {
        let out = python(
            "import numpy as np, sys; a = np.load(sys.argv[1], mmap_mode=sys.argv[3]); b = np.load(sys.argv[2], mmap_mode=sys.argv[3]); print(a.shape, int(a), b.shape, b.dtype)",
            &[s(&scalar), s(&empty), mode],
        );
        assert_eq!(out.trim(), "() -5 (0, 5) float32");
    }
    let back = unsafe { Array2::<f32>::open_npy_mut(&empty) }.unwrap();
    assert_eq!(back.shape(), &[0, 5]);
}

#[test]
fn create_npy_with_writes_an_array_in_one_call_keeping_its_layout() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("from.npy");
    let mut f_layout = Array2::<f64>::zeros((2, 3).f());
    f_layout.assign(&array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let m = unsafe { MemmapOptions::new().create_npy_with(&path, &f_layout) }.unwrap();
    assert_eq!(m.order(), Order::Fortran);
    drop(m);
    assert!(read_npy_header(&path).unwrap().fortran_order);
    assert_eq!(read_npy::<f64, Ix2>(&path).unwrap(), f_layout);
    // A non-contiguous view is written as a C-order copy, as np.save does.
    let strided = Array2::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as u8);
    let view = strided.slice(slice![..;2, 1..;2]);
    let path2 = dir.path().join("strided.npy");
    write_npy(&path2, &view).unwrap();
    assert!(!read_npy_header(&path2).unwrap().fortran_order);
    assert_eq!(read_npy::<u8, Ix2>(&path2).unwrap(), view);
    let out = python(
        "import numpy as np, sys; print(np.load(sys.argv[1]).tolist())",
        &[s(&path2)],
    );
    assert_eq!(out.trim(), "[[1, 3, 5], [13, 15, 17]]");
}

#[test]
fn user_types_with_a_descr_round_trip_through_npy() {
    if common::numpy_skipped() {
        return;
    }
    #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    #[repr(C)]
    struct Rgba {
        r: u8,
        g: u8,
        b: u8,
        a: u8,
    }
    impl ndarray_memmap::Element for Rgba {
        const NPY_DESCR: Option<&'static str> = Some("|V4");
    }
    let dir = tempdir();
    let path = dir.path().join("rgba.npy");
    let mut m = unsafe { Array1::<Rgba>::create_npy(&path, 2) }.unwrap();
    m[1] = Rgba {
        r: 1,
        g: 2,
        b: 3,
        a: 4,
    };
    m.close().unwrap();
    let back = unsafe { Array1::<Rgba>::open_npy(&path) }.unwrap();
    assert_eq!(
        back[1],
        Rgba {
            r: 1,
            g: 2,
            b: 3,
            a: 4
        }
    );
    assert!(matches!(
        unsafe { Array1::<u32>::open_npy(&path) },
        Err(Error::UnsupportedDtype { .. })
    ));
    let out = python(
        "import numpy as np, sys; a = np.load(sys.argv[1]); print(a.dtype, a.view('u1').tolist())",
        &[s(&path)],
    );
    assert_eq!(out.trim(), "|V4 [0, 0, 0, 0, 1, 2, 3, 4]");
}

#[test]
fn dynamic_dimension_reads_any_rank_and_fixed_rank_is_checked() {
    let dir = tempdir();
    let path = dir.path().join("r4.npy");
    write_npy(&path, &ArrayD::<i8>::zeros(IxDyn(&[2, 1, 2, 3]))).unwrap();
    assert_eq!(unsafe { ArrayD::<i8>::open_npy(&path) }.unwrap().ndim(), 4);
    match unsafe { Array2::<i8>::open_npy(&path) } {
        Err(Error::DimensionMismatch {
            expected: 2,
            found: 4,
            shape,
        }) => assert_eq!(shape, vec![2, 1, 2, 3]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn damaged_files_are_errors_not_panics() {
    let dir = tempdir();
    let path = dir.path().join("damaged.npy");
    let good = NpyHeader::format("<f4", false, &[4]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty file", vec![]),
        ("bad magic", b"\x93NUMPX\x01\x00\x00\x00".to_vec()),
        ("unknown version", b"\x93NUMPY\x04\x00\x00\x00".to_vec()),
        ("truncated length", b"\x93NUMPY\x02\x00\x10".to_vec()),
        ("truncated header", good[..50].to_vec()),
        ("not a dict", {
            let mut b = good.clone();
            b[10] = b'[';
            b
        }),
        ("garbage", vec![0xff; 300]),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let before = Snapshot::take(&path);
        let mapped = unsafe { Array1::<f32>::open_npy_mut(&path) }.map(drop);
        assert!(
            matches!(mapped, Err(Error::NpyHeader { .. })),
            "{what}: {mapped:?}"
        );
        assert!(
            matches!(read_npy::<f32, Ix1>(&path), Err(Error::NpyHeader { .. })),
            "{what}"
        );
        before.assert_unchanged();
    }
}

#[test]
fn create_npy_truncates_and_the_header_matches_np_save() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("c.npy");
    std::fs::write(&path, vec![7u8; 5000]).unwrap();
    let mut m = unsafe { Array2::<u32>::create_npy(&path, (3, 4)) }.unwrap();
    m.assign(&Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as u32));
    m.close().unwrap();
    let out = python(
        "import numpy as np, sys, io\nb = io.BytesIO(); np.save(b, np.arange(12, dtype='<u4').reshape(3, 4))\nprint(open(sys.argv[1], 'rb').read() == b.getvalue())",
        &[s(&path)],
    );
    assert_eq!(out.trim(), "True");
}

/// `read_npy` holds the data once: its peak memory is the array plus a
/// small buffer, not a byte buffer beside a decoded copy. Measured in a
/// process of its own, by the kernel's high-water mark of resident memory.
#[test]
fn read_npy_peak_memory_is_the_array_plus_at_most_one_mib() {
    const TEST: &str = concat!(
        module_path!(),
        "::read_npy_peak_memory_is_the_array_plus_at_most_one_mib"
    );
    const FILE: &str = "NDARRAY_MEMMAP_PEAK_FILE";
    let peak_kib = || -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    if common::child_role().as_deref() == Some("peak") {
        let path = std::env::var(FILE).unwrap();
        // Run the reading code once on a tiny file first: its code pages
        // (the one test binary is large) count as resident too.
        let warm = std::path::Path::new(&path).with_extension("warm.npy");
        ndarray_memmap::write_npy(&warm, &Array2::<f64>::zeros((2, 2))).unwrap();
        drop(read_npy::<f64, ndarray::Ix2>(&warm).unwrap());
        let before = peak_kib();
        let array = read_npy::<f64, ndarray::Ix2>(&path).unwrap();
        let after = peak_kib();
        println!(
            "PEAK_GROWTH_KIB {} ARRAY_KIB {}",
            after - before,
            array.len() * 8 / 1024
        );
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("big.npy");
    // 64 MiB; written with a map so that this process's own memory does
    // not matter (the child is a fresh process anyway).
    let mut out = unsafe { Array2::<f64>::create_npy(&path, (8192, 1024)) }.unwrap();
    out.fill(1.5);
    out.close().unwrap();
    let output = common::run_child(TEST, "peak", &[(FILE, path.to_str().unwrap())]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The harness may print "test ... " on the same line first.
    let (_, line) = stdout
        .split_once("PEAK_GROWTH_KIB")
        .expect("the child's report");
    let numbers: Vec<u64> = line
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let (growth, array) = (numbers[0], numbers[1]);
    assert_eq!(array, 64 << 10);
    assert!(
        growth <= array + 1024,
        "peak memory grew by {growth} KiB reading a {array} KiB array"
    );
    // And it did hold the array: the measurement sees real memory.
    assert!(growth >= array - 1024, "grew by only {growth} KiB");
}
