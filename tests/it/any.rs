//! The run-time-typed path against the typed one and against NumPy: every
//! supported dtype in every mode, numpy's dtype spellings, `can_cast`,
//! `astype` for every pair, other byte orders and unsupported dtypes.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]
#![cfg(feature = "half")]

use crate::common;

use std::fmt::Debug;
use std::path::Path;

use crate::common::{python, s, tempdir};
use ndarray::{ArrayD, IxDyn};
use ndarray_memmap::{
    read_npy, read_npy_any, AnyArray, AnyGuard, AnyMemmap, DType, Error, MemmapOptions, Mode,
    Order, Scalar,
};
use num_complex::Complex;

const DESCRS: [&str; 14] = [
    "|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8", "<c8",
    "<c16",
];

/// NumPy writes each dtype in C and F order, in several shapes, and in the
/// other byte order, with values that exercise every conversion.
const WRITE: &str = r#"
import sys
from pathlib import Path
import numpy as np
out = Path(sys.argv[1])
for d, descr in enumerate(sys.argv[2].split()):
    dt = np.dtype(descr)
    for s, shape in enumerate([(7,), (3, 4), (), (0, 5)]):
        n = int(np.prod(shape, dtype=np.int64))
        i = np.arange(n)
        if dt.kind == "b": flat = i % 3 == 0
        elif dt.kind == "i": flat = (i * 37 + 11) % 251 - 125
        elif dt.kind == "u": flat = (i * 37 + 11) % 251
        elif dt.kind == "f": flat = i * 0.75 + 0.5
        else: flat = (i * 0.5 + 0.25) - 1j * (i + 1)
        for order in "CF":
            a = flat.astype(dt).reshape(shape).copy(order=order)
            np.save(out / f"{d}_{s}_{order}.npy", a)
            np.save(out / f"{d}_{s}_{order}_swapped.npy", a.astype(dt.newbyteorder(">")))
"#;

fn write_numpy_files(dir: &Path) {
    python(WRITE, &[s(dir), &DESCRS.join(" ")]);
}

/// Opens `path` through the run-time path in every mode and checks it
/// against the typed path: values, shape, order, mode, and file bytes.
fn same_as_typed<T: Scalar + PartialEq + Debug + Default>(path: &Path, work: &Path) {
    let typed = read_npy::<T, IxDyn>(path).unwrap();
    let header = ndarray_memmap::read_npy_header(path).unwrap();
    let options = MemmapOptions::new();

    // r: a read-only guard with the typed guard's values and metadata.
    let guard = unsafe { options.open_npy_any(path, Mode::ReadOnly) }.unwrap();
    let AnyGuard::ReadOnly(any) = guard else {
        panic!("mode r gave a writable guard")
    };
    assert_eq!(any.dtype(), T::DTYPE);
    assert_eq!(any.shape(), typed.shape());
    assert_eq!(any.mode(), Mode::ReadOnly);
    let order = if header.fortran_order {
        Order::Fortran
    } else {
        Order::C
    };
    assert_eq!(any.order(), order);
    assert_eq!(any.offset(), header.data_offset);
    assert_eq!(any.as_typed::<T>().unwrap().view(), typed.view());
    let typed_guard = unsafe { options.open_npy::<T, IxDyn>(path) }.unwrap();
    assert_eq!(
        format!("{:?}", any.as_typed::<T>().unwrap()),
        format!("{typed_guard:?}")
    );
    drop(typed_guard);
    assert_eq!(any.into_typed::<T, IxDyn>().unwrap().view(), typed.view());

    // c: writable in memory, the file never changes.
    let before = std::fs::read(path).unwrap();
    let mut guard = unsafe { options.open_npy_any(path, Mode::CopyOnWrite) }.unwrap();
    let copy = guard.writable().unwrap().as_typed_mut::<T>().unwrap();
    copy.fill(T::default());
    guard.close().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), before);

    // r+: the same write through both paths gives the same bytes.
    let (through_any, through_typed) = (work.join("any.npy"), work.join("typed.npy"));
    std::fs::copy(path, &through_any).unwrap();
    std::fs::copy(path, &through_typed).unwrap();
    let mut guard = unsafe { options.open_npy_any(&through_any, Mode::ReadWrite) }.unwrap();
    assert_eq!(guard.mode(), Mode::ReadWrite);
    guard
        .writable()
        .unwrap()
        .as_typed_mut::<T>()
        .unwrap()
        .fill(T::default());
    guard.close().unwrap();
    let mut typed_rw = unsafe { options.open_npy_mut::<T, IxDyn>(&through_typed) }.unwrap();
    typed_rw.fill(T::default());
    typed_rw.close().unwrap();
    assert_eq!(
        std::fs::read(&through_any).unwrap(),
        std::fs::read(&through_typed).unwrap()
    );

    // w+: creation from a dtype, shape and order.
    let mut create = MemmapOptions::new();
    create
        .dtype(T::DTYPE)
        .shape(IxDyn(typed.shape()))
        .order(order);
    let created = unsafe { create.open_npy_any(&through_any, Mode::Create) }.unwrap();
    assert!(matches!(created, AnyGuard::Writable(_)));
    created.close().unwrap();
    let typed_create = MemmapOptions::new()
        .shape(IxDyn(typed.shape()))
        .order(order)
        .clone();
    drop(unsafe { typed_create.create_npy::<T, IxDyn>(&through_typed) }.unwrap());
    assert_eq!(
        std::fs::read(&through_any).unwrap(),
        std::fs::read(&through_typed).unwrap()
    );

    // Raw files: the data bytes at the header's offset, in each mode.
    let raw = work.join("data.bin");
    std::fs::write(&raw, &before[header.data_offset as usize..]).unwrap();
    let mut raw_options = MemmapOptions::new();
    raw_options
        .dtype(T::DTYPE)
        .shape(IxDyn(typed.shape()))
        .order(order);
    for mode in [Mode::ReadOnly, Mode::ReadWrite, Mode::CopyOnWrite] {
        let guard = unsafe { raw_options.open_raw_any(&raw, mode) }.unwrap();
        assert_eq!(
            matches!(guard, AnyGuard::ReadOnly(_)),
            mode == Mode::ReadOnly
        );
        assert_eq!(guard.mode(), mode);
        let values: ArrayD<T> = guard.to_owned_as().unwrap();
        assert_eq!(values, typed, "{mode}");
    }
    let created = unsafe { raw_options.open_raw_any(&raw, Mode::Create) }.unwrap();
    created.close().unwrap();
    assert_eq!(
        std::fs::read(&raw).unwrap().len(),
        before.len() - header.data_offset as usize
    );
}

#[test]
fn every_dtype_opens_through_the_run_time_path_in_every_mode_as_through_the_typed_one() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    write_numpy_files(dir.path());
    let work = tempdir();
    let checks: [fn(&Path, &Path); 14] = [
        same_as_typed::<bool>,
        same_as_typed::<i8>,
        same_as_typed::<u8>,
        same_as_typed::<i16>,
        same_as_typed::<u16>,
        same_as_typed::<i32>,
        same_as_typed::<u32>,
        same_as_typed::<i64>,
        same_as_typed::<u64>,
        same_as_typed::<half::f16>,
        same_as_typed::<f32>,
        same_as_typed::<f64>,
        same_as_typed::<Complex<f32>>,
        same_as_typed::<Complex<f64>>,
    ];
    let mut checked = 0;
    for (d, check) in checks.iter().enumerate() {
        for shape in 0..4 {
            for order in ["C", "F"] {
                check(
                    &dir.path().join(format!("{d}_{shape}_{order}.npy")),
                    work.path(),
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 14 * 8);
}

#[test]
fn the_other_byte_order_is_refused_by_maps_and_swapped_by_the_converting_read() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    write_numpy_files(dir.path());
    for (d, descr) in DESCRS.iter().enumerate() {
        let native = dir.path().join(format!("{d}_1_F.npy"));
        let swapped = dir.path().join(format!("{d}_1_F_swapped.npy"));
        let single_byte = descr.ends_with('1');
        match unsafe { MemmapOptions::new().open_npy_any(&swapped, Mode::ReadOnly) } {
            Ok(_) if single_byte => {}
            Err(Error::ByteOrder { found, remedy }) if !single_byte => {
                assert!(found.starts_with('>'));
                assert!(remedy.contains("read_npy"), "{remedy}");
            }
            other => panic!("{descr}: {other:?}"),
        }
        // The converting read gives the same array as the native file.
        assert_eq!(
            read_npy_any(&swapped).unwrap(),
            read_npy_any(&native).unwrap(),
            "{descr}"
        );
    }
}

#[test]
fn creating_in_the_other_byte_order_is_refused_not_written_natively() {
    let dir = tempdir();
    for descr in [">f8", ">i4", ">c16", ">f2"] {
        let dtype: DType = descr.parse().unwrap();
        for npy in [true, false] {
            let path = dir.path().join(format!("new{npy}.npy"));
            let options = MemmapOptions::new().dtype(dtype).shape(3).clone();
            let opened = if npy {
                unsafe { options.open_npy_any(&path, Mode::Create) }
            } else {
                unsafe { options.open_raw_any(&path, Mode::Create) }
            };
            match opened {
                Err(Error::ByteOrder { found, remedy }) => {
                    assert_eq!(found, descr);
                    assert!(remedy.contains("native dtype"), "{remedy}");
                }
                other => panic!("{descr} (npy: {npy}): {other:?}"),
            }
            assert!(!path.exists(), "{descr}: a refused create made {path:?}");
        }
    }
}

#[test]
fn unsupported_dtypes_are_named_by_both_paths() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    python(
        r#"
import sys
from pathlib import Path
import numpy as np
out = Path(sys.argv[1])
np.save(out / "records.npy", np.zeros(3, dtype=[("x", "<f4"), ("id", "<u8")]))
np.save(out / "bytes.npy", np.array([b"abc", b"de"], dtype="S5"))
np.save(out / "half.npy", np.zeros(4, dtype="<f2"))
np.save(out / "text.npy", np.array(["a"], dtype="<U3"))
np.save(out / "objects.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
"#,
        &[s(dir.path())],
    );
    for (name, descr) in [
        ("bytes", "|S5"),
        ("text", "<U3"),
        ("objects", "|O"),
        ("records", "[("),
    ] {
        let path = dir.path().join(format!("{name}.npy"));
        let outcomes = [
            unsafe { MemmapOptions::new().open_npy_any(&path, Mode::ReadOnly) }.map(drop),
            read_npy_any(&path).map(drop),
            unsafe { MemmapOptions::new().open_npy::<f64, IxDyn>(&path) }.map(drop),
        ];
        for outcome in outcomes {
            match outcome {
                Err(Error::UnsupportedDtype { descr: found }) => {
                    assert!(found.starts_with(descr), "{name}: {found}")
                }
                Err(Error::NpyHeader { reason, .. }) if name == "records" => {
                    assert!(reason.contains("descr"), "{reason}")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}

#[test]
fn dtype_strings_parse_as_numpy_reads_them() {
    if common::numpy_skipped() {
        return;
    }
    // numpy's own answer for each spelling, as `dtype.str` (or an error).
    let spellings = [
        "float32",
        "f4",
        "<f4",
        "=f4",
        "|f4",
        ">f4",
        "f",
        "single",
        "d",
        "double",
        "float",
        "float64",
        "f8",
        "b",
        "B",
        "?",
        "bool",
        "bool_",
        "b1",
        "<b1",
        "i1",
        "int8",
        "byte",
        "ubyte",
        "h",
        "H",
        "i",
        "I",
        "l",
        "L",
        "q",
        "Q",
        "p",
        "n",
        "int",
        "uint",
        "long",
        "intp",
        "int_",
        "intc",
        "u8",
        "<u1",
        ">u1",
        "complex",
        "complex64",
        "complex128",
        "c8",
        "c16",
        "F",
        "D",
        "csingle",
        "cdouble",
        ">i8",
        "<H",
        "uint16",
        "int16",
        "uint32",
        "int64",
        "uint64",
        "e",
        "half",
        "f2",
        "S8",
        "V16",
        "U4",
        "O",
        "g",
        "c",
        "cfloat",
        "u",
        "i16",
        "B1",
        "f1",
        "float8",
        "int0",
        "Float32",
    ];
    let numpy = python(
        r#"
import sys
import numpy as np
for s in sys.argv[1:]:
    try:
        print(s, np.dtype(s).str)
    except Exception:
        print(s, "error")
"#,
        &spellings,
    );
    let mut compared = 0;
    for line in numpy.lines() {
        let (spelling, answer) = line.split_once(' ').unwrap();
        let ours = spelling.parse::<DType>();
        let supported = answer != "error"
            && !["S", "V", "U", "O", "f16"]
                .iter()
                .any(|unsupported| answer[1..].starts_with(unsupported));
        match ours {
            Ok(dtype) => {
                assert!(
                    supported,
                    "{spelling}: numpy says {answer}, we accept {dtype}"
                );
                // numpy prints native order as '<' on this little-endian machine.
                assert_eq!(dtype.descr(), answer, "{spelling}");
            }
            Err(Error::UnsupportedDtype { descr }) => {
                assert!(
                    !supported,
                    "{spelling}: numpy reads it as {answer}, we refuse it"
                );
                assert_eq!(descr, spelling);
            }
            Err(other) => panic!("{spelling}: {other:?}"),
        }
        compared += 1;
    }
    assert_eq!(compared, spellings.len());
}

#[test]
fn can_cast_safely_is_numpys_table() {
    if common::numpy_skipped() {
        return;
    }
    let numpy = common::numpy_safe_cast_table(&DESCRS);
    for (from, row) in DESCRS.iter().zip(numpy.lines()) {
        for (to, cell) in DESCRS.iter().zip(row.split(' ')) {
            let ours = from
                .parse::<DType>()
                .unwrap()
                .can_cast_safely(to.parse().unwrap());
            assert_eq!(ours, cell == "Y", "{from} -> {to}");
        }
    }
}

/// Converts to `T` and writes the result, for NumPy to compare with `astype`.
fn convert_and_save<T: Scalar>(source: &AnyArray, out: &Path) {
    let converted = source.to_owned_as_lossy::<T>().unwrap();
    let safe = source.to_owned_as::<T>();
    match safe {
        Ok(same) => assert_eq!(same, converted),
        Err(Error::UnsafeCast { from, to }) => {
            assert_eq!((from, to), (source.dtype().descr(), T::DTYPE.descr()))
        }
        Err(other) => panic!("{other:?}"),
    }
    AnyArray::from(converted).write_npy(out).unwrap();
}

#[test]
fn to_owned_as_lossy_is_numpys_astype_for_every_pair() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    write_numpy_files(dir.path());
    // In the order of DESCRS.
    let converters: [fn(&AnyArray, &Path); 14] = [
        convert_and_save::<bool>,
        convert_and_save::<i8>,
        convert_and_save::<u8>,
        convert_and_save::<i16>,
        convert_and_save::<u16>,
        convert_and_save::<i32>,
        convert_and_save::<u32>,
        convert_and_save::<i64>,
        convert_and_save::<u64>,
        convert_and_save::<half::f16>,
        convert_and_save::<f32>,
        convert_and_save::<f64>,
        convert_and_save::<Complex<f32>>,
        convert_and_save::<Complex<f64>>,
    ];
    for d in 0..DESCRS.len() {
        let source = read_npy_any(dir.path().join(format!("{d}_1_F.npy"))).unwrap();
        for (t, convert) in converters.iter().enumerate() {
            convert(&source, &dir.path().join(format!("cast_{d}_{t}.npy")));
        }
    }
    let verdict = python(
        r#"
import sys, warnings
from pathlib import Path
import numpy as np
warnings.simplefilter("ignore")
out = Path(sys.argv[1]); ds = sys.argv[2:]
bad = []
for d, src in enumerate(ds):
    a = np.load(out / f"{d}_1_F.npy")
    for t, dst in enumerate(ds):
        ours = np.load(out / f"cast_{d}_{t}.npy")
        want = a.astype(dst)
        if ours.dtype != want.dtype or ours.shape != want.shape or not np.array_equal(ours, want):
            bad.append(f"{src}->{dst}: {ours.ravel()[:4]} vs {want.ravel()[:4]}")
print(len(ds) * len(ds), "pairs;", len(bad), "differ")
for b in bad: print(b)
"#,
        &[&[s(dir.path())], &DESCRS[..]].concat(),
    );
    assert!(verdict.starts_with("196 pairs; 0 differ"), "{verdict}");
}

#[test]
fn typed_requests_of_the_wrong_type_or_rank_name_both() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    ndarray_memmap::write_npy(&path, &ndarray::Array2::<f32>::zeros((2, 3))).unwrap();
    let open = || match unsafe { MemmapOptions::new().open_npy_any(&path, Mode::ReadOnly) } {
        Ok(AnyGuard::ReadOnly(any)) => any,
        other => panic!("{other:?}"),
    };
    match open().into_typed::<f64, IxDyn>() {
        Err(Error::DtypeMismatch {
            expected,
            found,
            shape,
        }) => {
            assert_eq!(
                (expected.as_str(), found.as_str()),
                ("f64 (\"<f8\")", "<f4")
            );
            assert_eq!(shape, [2, 3]);
        }
        other => panic!("{other:?}"),
    }
    match open().into_typed::<f32, ndarray::Ix3>() {
        Err(Error::DimensionMismatch {
            expected: 3,
            found: 2,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let matrix = open().into_typed::<f32, ndarray::Ix2>().unwrap();
    assert_eq!(matrix.dim(), (2, 3));
    assert!(matches!(open(), AnyMemmap::F32(_)));
    assert!(open().as_typed::<u32>().is_none());
    // A read-only guard cannot be written: a typed error, not a panic.
    let mut guard = unsafe { MemmapOptions::new().open_npy_any(&path, Mode::ReadOnly) }.unwrap();
    match guard.writable() {
        Err(err @ Error::ReadOnly { .. }) => assert!(err.to_string().contains("mode 'r'")),
        other => panic!("{other:?}"),
    }
    // Raw files need a dtype.
    match unsafe { MemmapOptions::new().open_raw_any(&path, Mode::ReadOnly) } {
        Err(Error::DtypeRequired { .. }) => {}
        other => panic!("{other:?}"),
    }
}
