//! Property tests: the header parser against random and mutated input, and
//! random operation sequences on a map checked against an in-memory model.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use crate::common;

use ndarray::{Array2, Ix2};
use ndarray_memmap::{Error, MemmapOptions, NpyHeader, Order};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256)
}

/// Parsing succeeds or fails with one of the header errors; anything else is a bug.
fn is_header_outcome(result: &Result<NpyHeader, Error>) -> bool {
    matches!(
        result,
        Ok(_) | Err(Error::NpyHeader { .. }) | Err(Error::UnsupportedDtype { .. })
    )
}

/// A valid header for a random descr, order and shape.
fn valid_header() -> impl Strategy<Value = (String, bool, Vec<usize>)> {
    let descr = prop::sample::select(vec![
        "|b1", "|u1", "<i2", ">u4", "<i8", "<f4", ">f8", "<c8", "<c16",
    ]);
    (
        descr,
        any::<bool>(),
        prop::collection::vec(0usize..1_000_000, 0..6),
    )
        .prop_map(|(d, f, s)| (d.to_owned(), f, s))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn formatted_headers_parse_back_to_the_same_fields((descr, fortran, shape) in valid_header()) {
        let bytes = NpyHeader::format(&descr, fortran, &shape);
        prop_assert_eq!(bytes.len() % 64, 0);
        let header = NpyHeader::parse(&bytes, usize::MAX).unwrap();
        prop_assert_eq!(&header.descr, &descr);
        prop_assert_eq!(header.fortran_order, fortran);
        prop_assert_eq!(&header.shape, &shape);
        prop_assert_eq!(header.data_offset as usize, bytes.len());
    }

    #[test]
    fn mutated_headers_never_panic(
        (descr, fortran, shape) in valid_header(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = NpyHeader::format(&descr, fortran, &shape);
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let keep = cut.index(bytes.len() + 1);
        // Any outcome but a panic is fine; errors must be the header kinds.
        for input in [&bytes[..], &bytes[..keep]] {
            let result = NpyHeader::parse(input, 10_000);
            prop_assert!(is_header_outcome(&result), "unexpected outcome {:?}", result);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), prefix in any::<bool>()) {
        let mut input = if prefix { b"\x93NUMPY\x01\x00".to_vec() } else { vec![] };
        input.extend(bytes);
        let result = NpyHeader::parse(&input, 10_000);
        prop_assert!(is_header_outcome(&result), "unexpected outcome {:?}", result);
    }

    #[test]
    fn random_header_text_never_panics(text in "[{}()\\[\\],:'\" a-zA-Z0-9_<>|.\\-\n]{0,120}") {
        let mut input = b"\x93NUMPY\x01\x00".to_vec();
        input.extend((text.len() as u16).to_le_bytes());
        input.extend(text.as_bytes());
        let result = NpyHeader::parse(&input, 10_000);
        prop_assert!(is_header_outcome(&result), "unexpected outcome {:?}", result);
    }
}

/// One step of the model test.
#[derive(Clone, Debug)]
enum Op {
    /// Write `value` at `[row, col]` through a writable view.
    Write(usize, usize, i32),
    /// Fill row `row` through `row_mut`.
    FillRow(usize, i32),
    Flush,
    /// Drop the guard and reopen in `r+`.
    Reopen,
    /// Open a copy-on-write map, scribble on it, drop it: the file must not change.
    CopyOnWriteScribble(i32),
    /// Open read-only and compare with the model.
    CheckReadOnly,
}

fn op(rows: usize, cols: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..rows, 0..cols, any::<i32>()).prop_map(|(r, c, v)| Op::Write(r, c, v)),
        2 => (0..rows, any::<i32>()).prop_map(|(r, v)| Op::FillRow(r, v)),
        1 => Just(Op::Flush),
        1 => Just(Op::Reopen),
        1 => any::<i32>().prop_map(Op::CopyOnWriteScribble),
        1 => Just(Op::CheckReadOnly),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, usize, bool, bool, Vec<Op>)> {
    (1usize..9, 1usize..9, any::<bool>(), any::<bool>()).prop_flat_map(
        |(rows, cols, fortran, npy)| {
            (
                Just(rows),
                Just(cols),
                Just(fortran),
                Just(npy),
                prop::collection::vec(op(rows, cols), 1..40),
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases() / 4))]

    #[test]
    fn a_map_behaves_like_an_in_memory_array((rows, cols, fortran, npy, ops) in scenario()) {
        let dir = common::tempdir();
        let path = dir.path().join(if npy { "m.npy" } else { "m.bin" });
        let order = if fortran { Order::Fortran } else { Order::C };
        let mut options = MemmapOptions::new();
        options.shape((rows, cols)).order(order);
        // A .npy's header gives its shape and order: its opens take none.
        let header_opens = MemmapOptions::new();
        let open_rw = |options: &MemmapOptions| if npy {
            unsafe { header_opens.open_npy_mut::<i32, Ix2>(&path) }.unwrap()
        } else {
            unsafe { options.open_raw_mut::<i32, Ix2>(&path) }.unwrap()
        };
        let mut model = Array2::<i32>::zeros((rows, cols));
        let mut guard = Some(if npy {
            unsafe { options.create_npy::<i32, Ix2>(&path) }.unwrap()
        } else {
            unsafe { options.create_raw::<i32, Ix2>(&path) }.unwrap()
        });
        for op in ops {
            match op {
                Op::Write(r, c, v) => {
                    guard.as_mut().unwrap().view_mut()[[r, c]] = v;
                    model[[r, c]] = v;
                }
                Op::FillRow(r, v) => {
                    guard.as_mut().unwrap().row_mut(r).fill(v);
                    model.row_mut(r).fill(v);
                }
                Op::Flush => guard.as_ref().unwrap().flush().unwrap(),
                Op::Reopen => {
                    drop(guard.take());
                    guard = Some(open_rw(&options));
                }
                Op::CopyOnWriteScribble(v) => {
                    drop(guard.take());
                    let mut cow = if npy {
                        unsafe { header_opens.open_npy_copy::<i32, Ix2>(&path) }.unwrap()
                    } else {
                        unsafe { options.open_raw_copy::<i32, Ix2>(&path) }.unwrap()
                    };
                    cow.fill(v);
                    drop(cow);
                    guard = Some(open_rw(&options));
                }
                Op::CheckReadOnly => {
                    drop(guard.take());
                    let reader = if npy {
                        unsafe { header_opens.open_npy::<i32, Ix2>(&path) }.unwrap()
                    } else {
                        unsafe { options.open_raw::<i32, Ix2>(&path) }.unwrap()
                    };
                    prop_assert_eq!(reader.view(), model.view());
                    drop(reader);
                    guard = Some(open_rw(&options));
                }
            }
        }
        guard.take().unwrap().close().unwrap();
        // Byte for byte: the file holds the model in the file's order.
        let bytes = std::fs::read(&path).unwrap();
        let data_start = if npy { ndarray_memmap::read_npy_header(&path).unwrap().data_offset as usize } else { 0 };
        let in_file_order: Vec<i32> = if fortran && rows > 1 && cols > 1 {
            model.t().iter().copied().collect()
        } else {
            model.iter().copied().collect()
        };
        let expected: Vec<u8> = in_file_order.iter().flat_map(|v| v.to_ne_bytes()).collect();
        prop_assert_eq!(&bytes[data_start..], &expected[..]);
    }
}

/// Every entry point that opens a file by path, for the refusal property.
#[derive(Clone, Copy, Debug)]
enum Entry {
    Open,
    OpenMut,
    OpenCopy,
    Create,
    OpenNpy,
    OpenNpyMut,
    OpenNpyCopy,
    CreateNpy,
    ReadNpy,
    ReadNpyHeader,
    /// The run-time-typed raw open, in `r+` (which may grow the file).
    OpenAnyReadWrite,
    /// The run-time-typed `.npy` open, in `w+` (which truncates).
    OpenNpyAnyCreate,
}

const ENTRIES: [Entry; 12] = [
    Entry::Open,
    Entry::OpenMut,
    Entry::OpenCopy,
    Entry::Create,
    Entry::OpenNpy,
    Entry::OpenNpyMut,
    Entry::OpenNpyCopy,
    Entry::CreateNpy,
    Entry::ReadNpy,
    Entry::ReadNpyHeader,
    Entry::OpenAnyReadWrite,
    Entry::OpenNpyAnyCreate,
];

fn attempt<A: ndarray_memmap::Scalar>(
    entry: Entry,
    options: &MemmapOptions,
    path: &std::path::Path,
) -> Result<(), Error> {
    use ndarray::IxDyn;
    use ndarray_memmap::Mode;
    let mut typed = options.clone();
    typed.dtype(A::DTYPE);
    unsafe {
        match entry {
            Entry::Open => options.open_raw::<A, IxDyn>(path).map(drop),
            Entry::OpenMut => options.open_raw_mut::<A, IxDyn>(path).map(drop),
            Entry::OpenCopy => options.open_raw_copy::<A, IxDyn>(path).map(drop),
            Entry::Create => options.create_raw::<A, IxDyn>(path).map(drop),
            Entry::OpenNpy => options.open_npy::<A, IxDyn>(path).map(drop),
            Entry::OpenNpyMut => options.open_npy_mut::<A, IxDyn>(path).map(drop),
            Entry::OpenNpyCopy => options.open_npy_copy::<A, IxDyn>(path).map(drop),
            Entry::CreateNpy => options.create_npy::<A, IxDyn>(path).map(drop),
            Entry::ReadNpy => ndarray_memmap::read_npy::<A, IxDyn>(path).map(drop),
            Entry::ReadNpyHeader => ndarray_memmap::read_npy_header(path).map(drop),
            Entry::OpenAnyReadWrite => typed.open_raw_any(path, Mode::ReadWrite).map(drop),
            Entry::OpenNpyAnyCreate => typed.open_npy_any(path, Mode::Create).map(drop),
        }
    }
}

/// Axis lengths: small ones, zero, and the huge ones that overflow or that
/// only an empty array may have.
fn axis() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..5,
        1 => 5usize..300,
        1 => Just(1 << 40),
        1 => Just(1 << 62),
        1 => Just(isize::MAX as usize),
        1 => Just(usize::MAX),
    ]
}

fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..300,
        1 => Just(1 << 40),
        1 => Just(i64::MAX as u64),
        1 => Just(i64::MAX as u64 + 1),
        1 => Just(u64::MAX),
    ]
}

/// A file: random bytes, or a `.npy` header for a random shape followed by
/// a random amount of data.
fn file_contents() -> impl Strategy<Value = Vec<u8>> {
    let descr = prop::sample::select(vec!["|u1", "<f8", "|b1", ">f8", "<i4"]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        (
            descr,
            any::<bool>(),
            prop::collection::vec(axis(), 0..4),
            prop::collection::vec(0u8..3, 0..400)
        )
            .prop_map(|(descr, fortran, shape, data)| {
                let mut bytes = NpyHeader::format(descr, fortran, &shape);
                bytes.extend(data);
                bytes
            }),
    ]
}

/// The property: a refused open leaves the file's length and bytes as they
/// were, whatever the shape, offset, order, element type and entry point.
#[test]
fn a_refused_open_never_changes_the_file() {
    const TEST: &str = concat!(module_path!(), "::a_refused_open_never_changes_the_file");
    if common::child_role().is_none() {
        // Under a 16 MiB file-size limit every valid but huge shape is
        // refused before the file is touched, so no case fills the disk,
        // and a check that let one through would kill the child (SIGXFSZ).
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg("ulimit -f 16384 && exec \"$0\" \"$@\"")
            .arg(std::env::current_exe().unwrap())
            .args([
                common::test_name(TEST),
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(common::CHILD_ROLE, "refusals")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{:?}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    let dir = common::tempdir();
    let path = dir.path().join("target.bin");
    let strategy = (
        file_contents(),
        prop::collection::vec(axis(), 0..4),
        offset(),
        any::<bool>(),
        any::<bool>(),
        0usize..3,
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases() * 2)
    });
    let (refused, accepted) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner
        .run(
            &strategy,
            |(contents, shape, offset, fortran, preallocate, element)| {
                let mut options = MemmapOptions::new();
                options
                    .shape(ndarray::IxDyn(&shape))
                    .offset(offset)
                    .order(if fortran { Order::Fortran } else { Order::C })
                    .preallocate(preallocate);
                for entry in ENTRIES {
                    std::fs::write(&path, &contents).unwrap();
                    let before = std::fs::read(&path).unwrap();
                    let outcome = match element {
                        0 => attempt::<u8>(entry, &options, &path),
                        1 => attempt::<f64>(entry, &options, &path),
                        _ => attempt::<bool>(entry, &options, &path),
                    };
                    match outcome {
                        Ok(()) => accepted.set(accepted.get() + 1),
                        Err(err) => {
                            refused.set(refused.get() + 1);
                            let after = std::fs::read(&path).unwrap();
                            prop_assert!(
                                after == before,
                                "{:?} refused with {} but changed the file from {} to {} bytes",
                                entry,
                                err,
                                before.len(),
                                after.len()
                            );
                        }
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    // Both outcomes must be common, or the property was tested on one side only.
    println!("refused {}, accepted {}", refused.get(), accepted.get());
    assert!(refused.get() > 100 && accepted.get() > 100);
}
