//! HDF5 files written here, read by the real h5py (libhdf5 2.0) and
//! `h5dump` (Debian's hdf5-tools, libhdf5 1.10): every element type, groups,
//! attributes, aligned contiguous datasets; files h5py then changes; files
//! we add to; and writers killed at every step.
// Every file these tests map is in a private temporary directory that
// nothing else writes while it is mapped: the whole mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use ndarray::{Array, ArrayD, Ix1, Ix2, IxDyn};
use ndarray_memmap::{npy_record, write_npy, Element, Error, Hdf5File, Hdf5Writer};
use num_complex::Complex;

use crate::common::{self, python, s, tempdir};
use crate::hdf5::Record;

#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct Nested {
    id: u16,
    name: [u8; 6],
    v: [f32; 3],
}
npy_record!(Nested { id, name, v });

/// Writes `values` as dataset `name`, half of them through a map and half
/// with `write_dataset`, and saves them as `.npy` for h5py to compare.
fn put<A: Element + Copy + std::fmt::Debug>(
    writer: &Hdf5Writer,
    dir: &Path,
    name: &str,
    values: ArrayD<A>,
) {
    let stem = name.trim_start_matches('/').replace('/', "__");
    write_npy(dir.join(format!("{stem}.npy")), &values).unwrap();
    if stem.len().is_multiple_of(2) {
        let mut map = unsafe { writer.create_dataset::<A, IxDyn>(name, values.raw_dim()) }.unwrap();
        map.assign(&values);
        map.close().unwrap();
    } else {
        writer.write_dataset(name, &values).unwrap();
    }
}

fn filled<A: Clone>(shape: &[usize], f: impl Fn(usize) -> A) -> ArrayD<A> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).unwrap()
}

const CHECK: &str = r#"
import sys, os, numpy as np, h5py
path, dir, align = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = []
with h5py.File(path, "r") as f:
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            expected = np.load(os.path.join(dir, name.replace("/", "__") + ".npy"))
            got = obj[()]
            assert obj.chunks is None, name
            offset = obj.id.get_offset()
            assert got.shape == expected.shape, (name, got.shape, expected.shape)
            if expected.dtype.names is None:
                assert got.dtype == expected.dtype, (name, got.dtype, expected.dtype)
            else:
                lay = lambda dt: [(n, dt.fields[n][1], dt.fields[n][0].itemsize) for n in dt.names]
                assert lay(got.dtype) == lay(expected.dtype), (name, got.dtype, expected.dtype)
            assert got.tobytes() == expected.tobytes(), name
            if got.size:
                assert offset is not None and offset % max(align, 1) == 0, (name, offset)
                item = 1 << (got.dtype.itemsize - 1).bit_length()
                assert offset % min(item, 4096) == 0, (name, offset, got.dtype.itemsize)
        seen.append(name)
    f.visititems(visit)
    attrs = {k: (v.decode() if isinstance(v, bytes) else v.tolist() if hasattr(v, "tolist") else v)
             for k, v in sorted(f["g"].attrs.items())}
    print(sorted(seen))
    print(attrs)
    print(f["g/sub/f8"].attrs["units"], list(f.attrs["scale"]))
"#;

#[test]
fn h5py_and_h5dump_read_every_type_we_write() {
    if common::numpy_skipped() {
        return;
    }
    for alignment in [1u64, 4096] {
        let dir = tempdir();
        let path = dir.path().join("ours.h5");
        let writer = Hdf5Writer::create(&path)
            .unwrap()
            .alignment(alignment)
            .unwrap();
        let d = dir.path();
        put(&writer, d, "/g/bool", filled(&[7], |i| i % 3 == 0));
        put(&writer, d, "/g/i1", filled(&[5], |i| i as i8 - 2));
        put(&writer, d, "/g/u1x", filled(&[3], |i| i as u8 * 80));
        put(&writer, d, "/g/i2", filled(&[2, 3], |i| -(i as i16) * 300));
        put(&writer, d, "/g/u2", filled(&[4], |i| i as u16 * 1000));
        put(&writer, d, "/g/i4", filled(&[3, 2], |i| i as i32 * -70_000));
        put(&writer, d, "/g/u4", filled(&[4], |i| i as u32 * 3_000_000));
        put(&writer, d, "/g/i8", filled(&[2], |i| i as i64 * -(1 << 40)));
        put(&writer, d, "/g/u8x", filled(&[3], |i| u64::MAX - i as u64));
        put(
            &writer,
            d,
            "/g/f2",
            filled(&[5], |i| half::f16::from_f32(i as f32 / 3.0)),
        );
        put(&writer, d, "/g/f4", filled(&[2, 2, 2], |i| i as f32 * 0.25));
        put(
            &writer,
            d,
            "/g/sub/f8",
            filled(&[10, 3], |i| i as f64 / 7.0),
        );
        put(
            &writer,
            d,
            "/g/c8",
            filled(&[3], |i| Complex::new(i as f32, -(i as f32))),
        );
        put(
            &writer,
            d,
            "/g/c16",
            filled(&[2], |i| Complex::new(i as f64 + 0.5, 2.0)),
        );
        put(&writer, d, "/g/s1", filled(&[3], |i| [b'a' + i as u8]));
        put(
            &writer,
            d,
            "/g/s4x",
            filled(&[2], |i| if i == 0 { *b"ab\0\0" } else { *b"wxyz" }),
        );
        put(&writer, d, "/g/s17", filled(&[2], |i| [b'0' + i as u8; 17]));
        put(
            &writer,
            d,
            "/strings/s2",
            filled(&[2], |i| [b'a' + i as u8; 2]),
        );
        put(
            &writer,
            d,
            "/strings/s3x",
            filled(&[2], |i| [b'a' + i as u8; 3]),
        );
        put(
            &writer,
            d,
            "/strings/s8",
            filled(&[2], |i| [b'a' + i as u8; 8]),
        );
        put(
            &writer,
            d,
            "/strings/s64x",
            filled(&[2], |i| [b'a' + i as u8; 64]),
        );
        put(&writer, d, "/strings/s255", filled(&[1], |_| [b'z'; 255]));
        put(
            &writer,
            d,
            "/g/rec",
            filled(&[4], |i| Record {
                a: i as i32,
                b: i as f64 * 1.5,
            }),
        );
        put(
            &writer,
            d,
            "/g/nested",
            filled(&[2], |i| Nested {
                id: i as u16,
                name: *b"abc\0\0\0",
                v: [i as f32; 3],
            }),
        );
        put(&writer, d, "/scalar", filled(&[], |_| 2.5f64));
        put(&writer, d, "/empty", filled(&[0, 3], |_| 0i32));
        writer.set_attribute("/g", "count", 21i64).unwrap();
        writer.set_attribute("/g", "title", "every type").unwrap();
        writer
            .set_attribute("/g", "range", vec![-1.5, 1.5])
            .unwrap();
        writer.set_attribute("/g", "ids", vec![1i64, 2, 3]).unwrap();
        writer.set_attribute("/g/sub/f8", "units", "m/s").unwrap();
        writer.set_attribute("/", "scale", vec![0.5, 2.0]).unwrap();
        writer.finish().unwrap();
        let printed = python(CHECK, &[s(&path), s(dir.path()), &alignment.to_string()]);
        let lines: Vec<&str> = printed.lines().collect();
        assert!(
            lines[0].contains("'g/sub/f8'")
                && lines[0].contains("'g/nested'")
                && lines[0].contains("'scalar'"),
            "{printed}"
        );
        assert_eq!(
            lines[1],
            "{'count': 21, 'ids': [1, 2, 3], 'range': [-1.5, 1.5], 'title': 'every type'}"
        );
        assert_eq!(lines[2], "b'm/s' [np.float64(0.5), np.float64(2.0)]");
        // Our reader maps every dataset where h5py says it is.
        let file = Hdf5File::open(&path).unwrap();
        let t = unsafe { file.map::<f64, Ix2>("/g/sub/f8") }.unwrap();
        assert_eq!(t[[9, 2]], 29.0 / 7.0);
        assert_eq!(file.read::<Nested>("/g/nested").unwrap()[[1]].v, [1.0; 3]);
        for (name, dataset) in file.datasets().unwrap() {
            let dataset = dataset.unwrap();
            dataset.mappable().unwrap_or_else(|e| panic!("{name}: {e}"));
            if let Some(at) = dataset.address() {
                assert_eq!(at % alignment, 0, "{name}");
            }
        }
        // PyTables (its own libhdf5 1.14) reads it too.
        let pytables = python(
            "import sys, tables\nwith tables.open_file(sys.argv[1]) as f:\n    print(f.get_node('/g/sub/f8')[9, 2], f.get_node('/g/rec')[3]['b'], f.get_node('/g/bool')[:].sum(), f.get_node('/strings/s8')[1])",
            &[s(&path)],
        );
        assert_eq!(pytables.trim(), format!("{} 4.5 3 b'bbbbbbbb'", 29.0 / 7.0));
        // h5dump (libhdf5 1.10) reads the file whole, without an error.
        match std::process::Command::new("h5dump").arg(&path).output() {
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(
                    out.status.success() && out.stderr.is_empty(),
                    "h5dump: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    text.contains("DATASET \"nested\"")
                        && text.contains("\"TRUE\"")
                        && text.contains("\"every type\""),
                    "{text}"
                );
            }
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("h5dump not run ({e}): install hdf5-tools")
            }
            Err(e) => panic!("h5dump is required in CI: {e}"),
        }
    }
}

#[test]
fn data_never_written_takes_no_disk_blocks() {
    let dir = tempdir();
    let path = dir.path().join("sparse.h5");
    let writer = Hdf5Writer::create(&path).unwrap().alignment(4096).unwrap();
    {
        let mut big = unsafe { writer.create_dataset::<f64, Ix2>("/big", (4096, 4096)) }.unwrap();
        big[[0, 0]] = 1.0; // one page
    }
    writer.finish().unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert!(meta.len() > 128 << 20, "{} bytes apparent", meta.len());
    assert!(
        meta.blocks() * 512 < 1 << 20,
        "{} bytes allocated for 128 MiB of data, one page written",
        meta.blocks() * 512
    );
    let file = Hdf5File::open(&path).unwrap();
    assert_eq!(unsafe { file.map::<f64, Ix2>("/big") }.unwrap().sum(), 1.0);
}

#[test]
fn h5py_adds_to_our_file_and_we_add_to_it_again() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("shared.h5");
    let writer = Hdf5Writer::create(&path).unwrap();
    writer
        .write_dataset(
            "/ours/x",
            &Array::from_shape_fn((40, 3), |(i, j)| (i * 3 + j) as f64),
        )
        .unwrap();
    writer.finish().unwrap();
    let before = Hdf5File::open(&path)
        .unwrap()
        .dataset("/ours/x")
        .unwrap()
        .address();
    python(
        "import sys, numpy as np, h5py\n\
         with h5py.File(sys.argv[1], 'a') as f:\n\
         \x20   f['ours/x'].attrs['note'] = 'added by h5py'\n\
         \x20   f.attrs['by'] = 'h5py'\n\
         \x20   f['theirs/y'] = np.arange(5, dtype='<i4')\n\
         \x20   for i in range(12): f['ours/' + str(i)] = np.full(2, i)",
        &[s(&path)],
    );
    let file = Hdf5File::open(&path).unwrap();
    assert_eq!(
        file.dataset("/ours/x").unwrap().address(),
        before,
        "libhdf5 does not move contiguous data"
    );
    let x = unsafe { file.map::<f64, Ix2>("/ours/x") }.unwrap();
    assert_eq!(x[[39, 2]], 119.0);
    drop(x);
    assert_eq!(file.read::<i32>("/theirs/y").unwrap().sum(), 10);
    // Adding to it again: h5py's twelve links made /ours dense, which we
    // do not rewrite; a new group beside it is fine.
    let writer = Hdf5Writer::append(&path).unwrap();
    let dense = writer
        .write_dataset("/ours/z", &Array::from_elem(3, 1u8))
        .unwrap_err();
    assert!(
        matches!(dense, Error::Hdf5Write { .. })
            && dense.to_string().contains("add members to it with h5py"),
        "{dense}"
    );
    {
        let mut z = unsafe { writer.create_dataset::<i16, Ix1>("/more/z", 6) }.unwrap();
        z.assign(&Array::from_iter(0..6i16));
    }
    // h5py made /theirs a symbol-table group (its default format): refused too.
    let old_style = writer
        .write_dataset("/theirs/w", &Array::from_elem((2, 2), 7.5f32))
        .unwrap_err();
    assert!(
        old_style.to_string().contains("symbol table"),
        "{old_style}"
    );
    writer
        .write_dataset("/more/w", &Array::from_elem((2, 2), 7.5f32))
        .unwrap();
    writer.finish().unwrap();
    let printed = python(
        "import sys, h5py\n\
         with h5py.File(sys.argv[1], 'r') as f:\n\
         \x20   print(f['ours/x'][39, 2], f['ours/x'].attrs['note'].decode() if isinstance(f['ours/x'].attrs['note'], bytes) else f['ours/x'].attrs['note'], f['theirs/y'][...].sum(), f['more/z'][...].tolist(), f['more/w'][...].sum(), f['ours/11'][0], f.attrs['by'])",
        &[s(&path)],
    );
    assert_eq!(
        printed.trim(),
        "119.0 added by h5py 10 [0, 1, 2, 3, 4, 5] 30.0 11 h5py"
    );
    // h5py's own default files are refused, by name.
    let theirs = dir.path().join("theirs.h5");
    python(
        "import sys, h5py\nh5py.File(sys.argv[1], 'w').close()",
        &[s(&theirs)],
    );
    let refused = Hdf5Writer::append(&theirs).unwrap_err();
    assert!(
        refused.to_string().contains("superblock version 0"),
        "{refused}"
    );
    // A name that exists, and a path through a dataset, are refused.
    let writer = Hdf5Writer::append(&path).unwrap();
    assert!(writer
        .write_dataset("/more/z", &Array::from_elem(1, 0u8))
        .unwrap_err()
        .to_string()
        .contains("exists"));
    assert!(writer
        .write_dataset("/more/z/q", &Array::from_elem(1, 0u8))
        .unwrap_err()
        .to_string()
        .contains("not a group"));
}

/// The steps a writer takes; the parent kills it after each, and in the
/// middle of the next.
fn writer_steps(path: &Path) {
    let say = |step: &str| println!("step {step}");
    let writer = Hdf5Writer::create(path).unwrap();
    say("created");
    let mut a = unsafe { writer.create_dataset::<f64, Ix2>("/a", (256, 256)) }.unwrap();
    a.fill(1.0);
    drop(a);
    say("a");
    writer
        .write_dataset("/g/b", &Array::from_iter((0..50_000).map(|i| i as f64)))
        .unwrap();
    say("b");
    writer.finish().unwrap();
    say("finished");
    let writer = Hdf5Writer::append(path).unwrap();
    let mut c = unsafe { writer.create_dataset::<f64, Ix1>("/g/c", 100_000) }.unwrap();
    c.fill(3.0);
    drop(c);
    say("c");
    writer.finish().unwrap();
    say("appended");
}

/// What a killed writer may leave: no file, or one whose every dataset
/// holds exactly what was written, as we and h5py read it.
fn check_after_kill(path: &Path, killed_after: &str) {
    if !path.exists() {
        assert!(
            ["none", "created", "a", "b"].contains(&killed_after),
            "killed after {killed_after}: the file is missing"
        );
        return;
    }
    let file = Hdf5File::open(path).unwrap();
    let names: Vec<String> = file
        .datasets()
        .unwrap()
        .into_iter()
        .map(|(n, d)| {
            d.unwrap();
            n
        })
        .collect();
    assert!(
        names == ["/a", "/g/b"] || names == ["/a", "/g/b", "/g/c"],
        "killed after {killed_after}: {names:?}"
    );
    assert_eq!(file.read::<f64>("/a").unwrap().sum(), 65536.0);
    assert_eq!(
        file.read::<f64>("/g/b").unwrap().sum(),
        49_999.0 * 50_000.0 / 2.0
    );
    if names.len() == 3 {
        assert_eq!(file.read::<f64>("/g/c").unwrap().sum(), 300_000.0);
    }
    if !common::numpy_skipped() {
        let printed = python(
            "import sys, h5py\nwith h5py.File(sys.argv[1], 'r') as f:\n    print(sorted(f['g'].keys()), f['a'][...].sum(), f['g/b'][...].sum(), f['g/c'][...].sum() if 'c' in f['g'] else None)",
            &[s(path)],
        );
        assert!(
            printed.starts_with("['b']") || printed.starts_with("['b', 'c']"),
            "{printed}"
        );
    }
}

#[test]
fn a_killed_writer_never_leaves_a_file_with_wrong_data() {
    const TEST: &str = concat!(
        module_path!(),
        "::a_killed_writer_never_leaves_a_file_with_wrong_data"
    );
    if common::child_role().is_some() {
        writer_steps(Path::new(&std::env::var("H5_PATH").unwrap()));
        return;
    }
    let steps = ["none", "created", "a", "b", "finished", "c"];
    for (round, killed_after) in steps.iter().cycle().take(12).enumerate() {
        let dir = tempdir();
        let path = dir.path().join("k.h5");
        let mut child = common::child_command(TEST, "writer", &[("H5_PATH", s(&path))])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        if *killed_after != "none" {
            // Wait for the step to be done (an observable line), then kill
            // at once, while the next step runs.
            loop {
                let Some(line) = lines.next() else {
                    let out = child.wait_with_output().unwrap();
                    panic!(
                        "round {round}: the writer ended before step {killed_after} ({:?}): {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    );
                };
                let line = line.unwrap();
                if line.ends_with(&format!("step {killed_after}")) {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        check_after_kill(&path, killed_after);
        // A killed new file leaves only its temporary file, never the final name.
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert!(leftovers <= 2, "round {round}: {leftovers} files");
    }
}

/// Every refusal of the writer, and of the reader on a file the writer
/// made, names what is wrong; none writes or maps anything.
#[test]
fn misuse_is_refused_by_name() {
    let dir = tempdir();
    let path = dir.path().join("misuse.h5");
    let message = |err: Error| {
        assert!(matches!(err, Error::Hdf5Write { .. }), "{err}");
        err.to_string()
    };
    assert!(
        message(Hdf5Writer::create(&path).unwrap().alignment(3).unwrap_err())
            .contains("not a power of two")
    );
    let writer = Hdf5Writer::create(&path).unwrap();
    assert!(message(
        writer
            .write_dataset("/a/../b", &Array::from_elem(2, 1u8))
            .unwrap_err()
    )
    .contains("without \".\" or \"..\""));
    assert!(message(
        writer
            .write_dataset("", &Array::from_elem(2, 1u8))
            .unwrap_err()
    )
    .contains("names a member below the root"));
    #[cfg(feature = "half")]
    assert!(message(
        writer
            .write_dataset("/bf", &Array::from_elem(2, half::bf16::ONE))
            .unwrap_err()
    )
    .contains("HDF5 has no type here"));
    writer.reserve_dataset::<f64>("/rows", &[4, 3]).unwrap();
    let rows =
        |first, block: ndarray::ArrayD<f64>| writer.write_rows("/rows", first, &block).unwrap_err();
    assert!(message(rows(3, ArrayD::zeros(IxDyn(&[2, 3]))))
        .contains("does not fit the dataset's shape [4, 3]"));
    assert!(message(rows(0, ArrayD::zeros(IxDyn(&[1, 2])))).contains("a block of shape [1, 2]"));
    let wrong_type = writer
        .write_rows("/rows", 0, &Array::from_elem((1, 3), 1i32))
        .unwrap_err();
    assert!(message(wrong_type).contains("the dataset holds <f8, not <i4"));
    let missing = writer
        .write_rows("/nope", 0, &Array::from_elem((1, 3), 1.0))
        .unwrap_err();
    assert!(message(missing).contains("no dataset of that name was created by this writer"));
    let attribute = writer.set_attribute("/nope", "x", 1i64).unwrap_err();
    assert!(message(attribute).contains("no group or dataset of that name"));
    writer
        .write_rows("/rows", 1, &Array::from_elem((2, 3), 2.0))
        .unwrap();
    writer
        .write_dataset("/s", &Array::from_elem(2, *b"ab"))
        .unwrap();
    writer.finish().unwrap();

    let file = Hdf5File::open(&path).unwrap();
    assert_eq!(file.read::<f64>("/rows").unwrap().sum(), 12.0);
    assert!(matches!(
        file.read_region::<f64>("/rows", &[0..5, 0..3]),
        Err(Error::InvalidShape { .. })
    ));
    assert!(matches!(
        unsafe { file.map_any("/s", ndarray_memmap::Mode::ReadOnly) },
        Err(Error::UnsupportedDtype { .. })
    ));
    let create = unsafe { file.map_any("/rows", ndarray_memmap::Mode::Create) }.unwrap_err();
    assert!(
        create.to_string().contains("mode w+ creates a file"),
        "{create}"
    );
    let not_chunked = unsafe { file.chunks::<f64>("/rows") }.unwrap_err();
    assert!(
        not_chunked.to_string().contains("it is not chunked"),
        "{not_chunked}"
    );
    let offset =
        Hdf5File::open_with(ndarray_memmap::MemmapOptions::new().offset(8), &path).unwrap_err();
    assert!(
        matches!(
            offset,
            Error::SettingNotApplicable {
                setting: "offset",
                ..
            }
        ),
        "{offset}"
    );
    // The file replaced after it was opened: a map says so, never maps the new one.
    let writer = Hdf5Writer::create(&path).unwrap();
    writer
        .write_dataset("/rows", &Array::from_elem((8, 3), 5.0))
        .unwrap();
    writer.finish().unwrap();
    let replaced = unsafe { file.map::<f64, Ix2>("/rows") }.unwrap_err();
    assert!(
        replaced.to_string().contains("replaced or changed length"),
        "{replaced}"
    );
}
