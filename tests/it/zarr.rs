//! Zarr interop with the real zarr-python, Dask and xarray, both ways:
//! zarr-python writes a matrix of arrays (every dtype, v2 and v3, C order
//! and transposed, big-endian, edge and missing chunks, CRC-32C, shards with
//! the index at either end, a re-packed shard) and we map and read them;
//! we write arrays and zarr-python reads them, and writes the same arrays
//! itself with chunk files byte-identical to ours. The Python side is
//! `tests/python/zarr_side.py`.
// Every chunk file these tests map is in a private temporary directory
// that nothing else writes while it is mapped: the whole mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use std::path::Path;

use ndarray::{ArrayD, IxDyn, Slice};
use ndarray_memmap::{
    AnyArray, DType, Error, Kind, Order, Scalar, ZarrArray, ZarrArrayBuilder, ZarrFormat, ZarrGroup,
};

use crate::common::{self, python_command, s, tempdir, typed};

const SIDE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/zarr_side.py");

fn zarr_side(command: &str, root: &Path) -> String {
    let output = python_command()
        .arg(SIDE)
        .arg(command)
        .arg(root)
        .output()
        .expect("run zarr_side.py");
    assert!(
        output.status.success(),
        "zarr_side.py {command} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// The array assembled from its chunks as `chunks()` maps them (mapped,
/// copied or fill), each chunk's view placed at its origin.
fn assemble<A: Scalar>(z: &ZarrArray) -> ArrayD<A> {
    let fill = z
        .metadata()
        .fill_value::<A>()
        .expect("fill of the array's type");
    let mut out = ArrayD::from_elem(IxDyn(z.shape()), fill);
    for chunk in unsafe { z.chunks::<A>() }.expect("chunks") {
        let chunk = chunk.expect("chunk");
        let view = chunk.view();
        let origin = chunk.origin().to_vec();
        out.slice_each_axis_mut(|axis| {
            let k = axis.axis.index();
            Slice::from(origin[k]..origin[k] + view.shape()[k])
        })
        .assign(&view);
    }
    out
}

/// Asserts equal shapes and elements, NaN equal to NaN (as printed).
fn same<A: std::fmt::Debug>(
    a: ndarray::ArrayViewD<'_, A>,
    b: ndarray::ArrayViewD<'_, A>,
    name: &str,
) {
    assert_eq!(a.shape(), b.shape(), "{name}");
    let print =
        |v: ndarray::ArrayViewD<'_, A>| v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>();
    assert_eq!(print(a), print(b), "{name}");
}

#[test]
fn zarr_python_writes_we_map_and_read_equal_values() {
    if common::numpy_skipped() {
        return;
    }
    let root = tempdir();
    let names = zarr_side("write", root.path());
    let ours = root.path().join("ours");
    std::fs::create_dir_all(&ours).unwrap();
    let mut mapped = 0;
    let mut copied = 0;
    for name in names.lines() {
        let z = ZarrArray::open(root.path().join("zp").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // The safe, run-time-typed copy: z[...].
        let read = z.read_any().unwrap_or_else(|e| panic!("{name}: {e}"));
        read.write_npy(ours.join(format!("{name}@read.npy")))
            .unwrap();
        // Chunk by chunk through the maps.
        let assembled: AnyArray =
            typed!(z.metadata().dtype().to_native(), T => AnyArray::from(assemble::<T>(&z)));
        assembled
            .write_npy(ours.join(format!("{name}@chunks.npy")))
            .unwrap();
        // A region across chunk boundaries, and one chunk read safely.
        if z.shape().len() == 2 && z.shape().iter().all(|&n| n >= 4) {
            let region = z.read_region_any(&[1..4, 1..4]).unwrap();
            let whole = read.clone();
            typed!(whole.dtype(), T => {
                let whole = whole.into_typed::<T, IxDyn>().unwrap();
                let part = region.into_typed::<T, IxDyn>().unwrap();
                same(part.view(), whole.slice_each_axis(|_| Slice::from(1..4usize)), name);
            });
        }
        typed!(z.metadata().dtype().to_native(), T => {
            for chunk in unsafe { z.chunks::<T>() }.unwrap() {
                let chunk = chunk.unwrap();
                if chunk.is_mapped() { mapped += 1 } else if !chunk.is_fill() { copied += 1 }
                let safe = z.read_chunk::<T>(chunk.index()).unwrap();
                same(safe.view(), chunk.view(), name);
            }
        });
    }
    assert!(
        mapped > 50 && copied > 5,
        "mapped {mapped}, copied {copied}"
    );
    let compared: usize = zarr_side("compare", root.path()).trim().parse().unwrap();
    assert_eq!(compared, 2 * names.lines().count());
}

/// What we write, and what zarr-python must then write byte for byte.
struct Spec {
    name: String,
    format: ZarrFormat,
    order: Order,
    checksum: bool,
    separator: char,
}

fn write_ours<A: Scalar>(root: &Path, spec: &Spec, fill: A, data: ArrayD<A>, chunks: &[usize]) {
    let dir = root.join("rs").join(&spec.name);
    let mut builder = ZarrArrayBuilder::new::<A>(data.shape(), chunks)
        .fill_value(fill)
        .format(spec.format)
        .order(spec.order)
        .separator(spec.separator)
        .checksum(spec.checksum);
    if data.ndim() == 2 {
        builder = builder.dimension_names(["y", "x"]);
    }
    let z = builder.create(&dir).unwrap();
    // Half through write_region, the rest chunk by chunk through new maps.
    let rows = data.shape().first().copied().unwrap_or(0);
    let split = rows / 2 / chunks[0] * chunks[0];
    if data.ndim() == 2 && split > 0 && spec.name.contains("mapped") {
        z.write_region(
            &[0, 0],
            &data.slice_each_axis(|a| {
                if a.axis.index() == 0 {
                    Slice::from(0..split)
                } else {
                    Slice::from(..)
                }
            }),
        )
        .unwrap();
        let grid = z.grid_shape();
        for i in split / chunks[0]..grid[0] {
            for j in 0..grid[1] {
                let mut chunk = unsafe { z.new_chunk::<A>(&[i, j]) }.unwrap();
                let origin = chunk.origin().to_vec();
                let mut view = chunk.view_mut();
                let shape = view.shape().to_vec();
                view.assign(&data.slice_each_axis(|a| {
                    let k = a.axis.index();
                    Slice::from(origin[k]..origin[k] + shape[k])
                }));
                chunk.close().unwrap();
            }
        }
    } else {
        z.write_region(&vec![0; data.ndim()], &data).unwrap();
    }
    z.finish().unwrap();
    let expected = root.join("rs_expected");
    std::fs::create_dir_all(&expected).unwrap();
    ndarray_memmap::write_npy(expected.join(format!("{}.npy", spec.name)), &data).unwrap();
    let meta = ZarrArray::open(&dir).unwrap();
    let json = ndarray_memmap::serde_json::json!({
        "format": if spec.format == ZarrFormat::V3 { 3 } else { 2 },
        "order": if spec.order == Order::Fortran { "F" } else { "C" },
        "checksum": spec.checksum,
        "separator": spec.separator.to_string(),
        "chunks": chunks,
        "dtype": meta.metadata().dtype().descr(),
        "fill": meta.metadata().fill_value_json(),
    });
    std::fs::write(
        expected.join(format!("{}.json", spec.name)),
        json.to_string(),
    )
    .unwrap();
}

/// `x` as an `A`, as numpy's `astype` converts it.
fn convert<A: Scalar>(x: f64) -> A {
    AnyArray::from(ndarray::arr1(&[x]).into_dyn())
        .to_owned_as_lossy::<A>()
        .unwrap()[0]
}

/// Element i of a test array: distinct, in range, some equal to the fill.
fn sample<A: Scalar>(shape: &[usize], fill: A) -> ArrayD<A> {
    let n: usize = shape.iter().product();
    let mut values: Vec<A> = (0..n)
        .map(|i| convert::<A>(((i * 37 + 11) % 101) as f64 - 50.0))
        .collect();
    // The first 3x2 block is all fill, so that its chunk is left out.
    if shape.len() == 2 {
        for r in 0..3.min(shape[0]) {
            for c in 0..2.min(shape[1]) {
                values[r * shape[1] + c] = fill;
            }
        }
    }
    ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
}

#[test]
fn we_write_zarr_python_reads_and_writes_the_same_bytes() {
    if common::numpy_skipped() {
        return;
    }
    let root = tempdir();
    let mut count = 0;
    let dtypes = [
        "|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8",
        "<c16",
    ];
    for descr in dtypes {
        let dtype: DType = descr.parse().unwrap();
        for (format, order, checksum, separator, tag) in [
            (ZarrFormat::V3, Order::C, false, '/', "v3"),
            (ZarrFormat::V3, Order::Fortran, true, '.', "v3_F_crc_dot"),
            (ZarrFormat::V2, Order::C, false, '.', "v2"),
            (
                ZarrFormat::V2,
                Order::Fortran,
                false,
                '/',
                "v2_F_slash_mapped",
            ),
        ] {
            let spec = Spec {
                name: format!("{tag}_{}", &descr[1..]),
                format,
                order,
                checksum,
                separator,
            };
            typed!(dtype, T => {
                let fill = convert::<T>(if dtype.kind == Kind::Bool { 1.0 } else { 7.0 });
                write_ours::<T>(root.path(), &spec, fill, sample::<T>(&[7, 5], fill), &[3, 2]);
            });
            count += 1;
        }
    }
    let spec = Spec {
        name: "v3_3d_mapped".into(),
        format: ZarrFormat::V3,
        order: Order::C,
        checksum: false,
        separator: '/',
    };
    write_ours::<f64>(
        root.path(),
        &spec,
        f64::NAN,
        sample::<f64>(&[5, 6, 7], f64::NAN),
        &[2, 4, 3],
    );
    count += 1;
    let checked: usize = zarr_side("check", root.path()).trim().parse().unwrap();
    assert_eq!(checked, count);
}

#[test]
fn compressed_and_filtered_arrays_are_refused_by_name() {
    let dir = tempdir();
    let cases = [
        (
            r#"{"name":"zstd","configuration":{"level":0,"checksum":false}}"#,
            "\"zstd\"",
        ),
        (r#"{"name":"blosc","configuration":{}}"#, "\"blosc\""),
        (r#"{"name":"gzip","configuration":{"level":5}}"#, "\"gzip\""),
    ];
    for (codec, named) in cases {
        let doc = format!(
            r#"{{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"float64",
            "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":[2]}}}},
            "chunk_key_encoding":{{"name":"default"}},"fill_value":0.0,
            "codecs":[{{"name":"bytes","configuration":{{"endian":"little"}}}},{codec}]}}"#
        );
        std::fs::write(dir.path().join("zarr.json"), doc).unwrap();
        let err = ZarrArray::open(dir.path()).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::ZarrUnsupported { .. }), "{message}");
        assert!(
            message.contains(named) && message.contains("compressors=None"),
            "{message}"
        );
    }
    std::fs::remove_file(dir.path().join("zarr.json")).unwrap();
    std::fs::write(
        dir.path().join(".zarray"),
        r#"{"zarr_format":2,"shape":[4],"chunks":[2],"dtype":"<f8","compressor":null,"fill_value":0,
        "order":"C","filters":[{"id":"delta","dtype":"<f8"}]}"#,
    )
    .unwrap();
    let message = ZarrArray::open(dir.path()).unwrap_err().to_string();
    assert!(
        message.contains("\"delta\"") && message.contains("filters=None"),
        "{message}"
    );
}

#[test]
fn damaged_stores_are_typed_errors() {
    let dir = tempdir();
    let z = ZarrArrayBuilder::new::<f64>(&[4, 4], &[2, 2])
        .checksum(true)
        .create(dir.path().join("a"))
        .unwrap();
    z.write_region(&[0, 0], &ndarray::Array2::<f64>::from_elem((4, 4), 1.5))
        .unwrap();
    z.finish().unwrap();
    let z = ZarrArray::open(dir.path().join("a")).unwrap();
    // A bad CRC-32C is found where it is checked: on the copying reads.
    let chunk = dir.path().join("a/c/0/1");
    let mut bytes = std::fs::read(&chunk).unwrap();
    bytes[3] ^= 1;
    std::fs::write(&chunk, &bytes).unwrap();
    let message = z.read::<f64>().unwrap_err().to_string();
    assert!(
        message.contains("c/0/1") && message.contains("CRC-32C"),
        "{message}"
    );
    // A truncated chunk: never a view.
    std::fs::write(&chunk, &bytes[..20]).unwrap();
    let err = unsafe { z.chunk::<f64>(&[0, 1]) }
        .err()
        .expect("a truncated chunk is refused");
    assert!(
        err.to_string().contains("is 20 bytes") && err.to_string().contains("36"),
        "{err}"
    );
    // Outside the grid.
    let err = unsafe { z.chunk::<f64>(&[2, 0]) }.err().unwrap();
    assert!(
        err.to_string().contains("outside the chunk grid [2, 2]"),
        "{err}"
    );
    // Another type.
    assert!(matches!(z.read::<f32>(), Err(Error::DtypeMismatch { .. })));
    // A 2^60-element array opens (its chunks are small) but is not read whole.
    let big = dir.path().join("big");
    std::fs::create_dir(&big).unwrap();
    std::fs::write(
        big.join("zarr.json"),
        r#"{"zarr_format":3,"node_type":"array","shape":[1073741824,1073741824],"data_type":"uint8",
        "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[1024,1024]}},
        "chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#,
    )
    .unwrap();
    let z = ZarrArray::open(&big).unwrap();
    assert!(matches!(z.read::<u8>(), Err(Error::OutOfMemory { .. })));
    assert_eq!(unsafe { z.chunk::<u8>(&[5, 7]) }.unwrap().view().sum(), 0);
    // Shapes and chunk grids that overflow.
    for (shape, chunks) in [
        ("[18446744073709551615, 4]", "[1, 1]"),
        ("[4]", "[18446744073709551615]"),
    ] {
        std::fs::write(
            big.join("zarr.json"),
            format!(r#"{{"zarr_format":3,"node_type":"array","shape":{shape},"data_type":"float64",
            "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":{chunks}}}}},
            "chunk_key_encoding":{{"name":"default"}},"fill_value":0,"codecs":[{{"name":"bytes","configuration":{{"endian":"little"}}}}]}}"#),
        )
        .unwrap();
        let err = ZarrArray::open(&big).unwrap_err();
        assert!(matches!(err, Error::ZarrMetadata { .. }), "{err}");
    }
    // Missing and malformed metadata.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(ZarrArray::open(&empty)
        .unwrap_err()
        .to_string()
        .contains("not a Zarr array"));
    std::fs::write(empty.join("zarr.json"), "{\"zarr_format\": 3, ").unwrap();
    assert!(ZarrArray::open(&empty)
        .unwrap_err()
        .to_string()
        .contains("not valid JSON"));
}

/// A shard written by hand, with its index bent in each way a damaged
/// store could: past the file, overlapping itself, a bad CRC.
#[test]
fn damaged_shard_indexes_are_typed_errors() {
    let dir = tempdir();
    let meta = r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint32",
        "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4]}},
        "chunk_key_encoding":{"name":"default"},"fill_value":0,
        "codecs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[2],
        "codecs":[{"name":"bytes","configuration":{"endian":"little"}}],
        "index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}]}"#;
    std::fs::write(dir.path().join("zarr.json"), meta).unwrap();
    std::fs::create_dir(dir.path().join("c")).unwrap();
    let shard = |entries: [(u64, u64); 2], bad_crc: bool| {
        let mut bytes: Vec<u8> = [1u32, 2, 3, 4]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut index = Vec::new();
        for (offset, nbytes) in entries {
            index.extend_from_slice(&offset.to_le_bytes());
            index.extend_from_slice(&nbytes.to_le_bytes());
        }
        let crc = crc32c_reference(&index) ^ u32::from(bad_crc);
        bytes.extend_from_slice(&index);
        bytes.extend_from_slice(&crc.to_le_bytes());
        std::fs::write(dir.path().join("c/0"), bytes).unwrap();
    };
    shard([(0, 8), (8, 8)], false);
    let z = ZarrArray::open(dir.path()).unwrap();
    assert_eq!(
        z.read::<u32>().unwrap().iter().copied().collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    for (entries, bad_crc, says) in [
        ([(0, 8), (8, 8)], true, "CRC-32C"),
        ([(0, 8), (40, 8)], false, "points at bytes 40..48"),
        ([(0, 8), (4, 8)], false, "overlap"),
        ([(0, 8), (8, 4)], false, "says 4 bytes"),
        ([(0, 8), (u64::MAX, 8)], false, "half empty"),
    ] {
        shard(entries, bad_crc);
        let z = ZarrArray::open(dir.path()).unwrap();
        let message = z.read::<u32>().unwrap_err().to_string();
        assert!(message.contains(says), "{says}: {message}");
    }
}

/// CRC-32C, bit by bit: an independent reference for the crate's table.
fn crc32c_reference(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_killed_writer_leaves_no_chunk_under_its_key_and_no_array() {
    const TEST: &str = concat!(
        module_path!(),
        "::a_killed_writer_leaves_no_chunk_under_its_key_and_no_array"
    );
    if let Some(role) = common::child_role() {
        let dir = std::env::var("ZARR_DIR").unwrap();
        let z = ZarrArrayBuilder::new::<f64>(&[64, 64], &[32, 32])
            .create(&dir)
            .unwrap();
        z.write_chunk(&[0, 0], &ndarray::Array2::<f64>::ones((32, 32)))
            .unwrap();
        let mut chunk = unsafe { z.new_chunk::<f64>(&[1, 1]) }.unwrap();
        chunk.view_mut().fill(2.0);
        assert_eq!(role, "writer");
        // Killed here: the new chunk is mapped, not closed; no metadata yet.
        std::process::abort();
    }
    let dir = tempdir();
    let array = dir.path().join("a.zarr");
    let output = common::run_child(TEST, "writer", &[("ZARR_DIR", s(&array))]);
    assert!(!output.status.success());
    assert!(
        array.join("c/0/0").is_file(),
        "the closed chunk is in place"
    );
    assert!(
        !array.join("c/1/1").exists(),
        "the unclosed one never got its key"
    );
    assert!(!array.join("zarr.json").exists(), "the metadata comes last");
    assert!(matches!(
        ZarrArray::open(&array),
        Err(Error::ZarrMetadata { .. })
    ));
}

#[test]
fn processes_writing_distinct_chunks_lose_nothing() {
    const TEST: &str = concat!(
        module_path!(),
        "::processes_writing_distinct_chunks_lose_nothing"
    );
    if let Some(role) = common::child_role() {
        let dir = std::env::var("ZARR_DIR").unwrap();
        let row: usize = role.parse().unwrap();
        let z = ZarrArray::open_mut(&dir).unwrap();
        for col in 0..8 {
            let value = (row * 8 + col) as f64;
            z.write_region(
                &[row * 4, col * 4],
                &ndarray::Array2::<f64>::from_elem((4, 4), value),
            )
            .unwrap();
        }
        return;
    }
    let dir = tempdir();
    let array = dir.path().join("a.zarr");
    ZarrArrayBuilder::new::<f64>(&[16, 32], &[4, 4])
        .fill_value(-1.0)
        .create(&array)
        .unwrap()
        .finish()
        .unwrap();
    let children: Vec<_> = (0..4)
        .map(|row| {
            common::child_command(TEST, &row.to_string(), &[("ZARR_DIR", s(&array))])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let read = ZarrArray::open(&array).unwrap().read::<f64>().unwrap();
    for ((r, c), &value) in read
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap()
        .indexed_iter()
    {
        assert_eq!(value, ((r / 4) * 8 + c / 4) as f64);
    }
}

#[test]
fn groups_list_members_and_consolidate_on_request() {
    let dir = tempdir();
    let group = ZarrGroup::create(dir.path().join("g"), ZarrFormat::V3).unwrap();
    let a = group
        .create_array("a", &ZarrArrayBuilder::new::<i32>(&[3], &[2]))
        .unwrap();
    a.finish().unwrap();
    let root_doc = || std::fs::read_to_string(dir.path().join("g/zarr.json")).unwrap();
    assert!(
        !root_doc().contains("consolidated_metadata"),
        "only on request"
    );
    group.consolidate().unwrap();
    assert!(root_doc().contains("\"a\""));
    let b = group
        .create_array("b", &ZarrArrayBuilder::new::<f32>(&[2, 2], &[2, 2]))
        .unwrap();
    b.finish().unwrap();
    assert!(
        root_doc().contains("\"b\""),
        "rewritten when the group changes"
    );
    let sub = group.create_group("sub").unwrap();
    sub.create_array("c", &ZarrArrayBuilder::new::<u8>(&[1], &[1]))
        .unwrap()
        .finish()
        .unwrap();
    assert!(root_doc().contains("\"sub/c\""), "{}", root_doc());
    let names: Vec<String> = group
        .members()
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["a", "b", "sub"]);
}

#[test]
fn dask_and_xarray_compute_on_what_we_write_and_we_map_what_dask_writes() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let group = ZarrGroup::create(dir.path().join("ds.zarr"), ZarrFormat::V3).unwrap();
    let t = ArrayD::from_shape_fn(IxDyn(&[300, 200]), |i| (i[0] * 200 + i[1]) as f64 * 0.5);
    let z = group
        .create_array(
            "t",
            &ZarrArrayBuilder::new::<f64>(&[300, 200], &[64, 64])
                .dimension_names(["y", "x"])
                .attribute("units", "K"),
        )
        .unwrap();
    z.write_region(&[0, 0], &t).unwrap();
    z.finish().unwrap();
    let x = group
        .create_array(
            "x",
            &ZarrArrayBuilder::new::<i64>(&[200], &[50]).dimension_names(["x"]),
        )
        .unwrap();
    x.write_region(&[0], &ndarray::Array1::from_iter(0..200i64))
        .unwrap();
    x.finish().unwrap();
    let out = dir.path().join("out.zarr");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/zarr_dask.py");
    let output = python_command()
        .arg(script)
        .arg(dir.path().join("ds.zarr"))
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(
        printed.contains(&format!("dask sum {}", t.sum())),
        "{printed}"
    );
    assert!(
        printed.contains("xarray dims {'y': 300, 'x': 200} units K"),
        "{printed}"
    );
    // What the cluster wrote (t * 2 + 1, compressors=None), mapped here.
    let result = ZarrArray::open(&out).unwrap();
    let mut total = 0.0;
    let mut mapped = 0;
    for chunk in unsafe { result.chunks::<f64>() }.unwrap() {
        let chunk = chunk.unwrap();
        mapped += usize::from(chunk.is_mapped());
        total += chunk.view().sum();
    }
    assert_eq!(mapped, result.grid_shape().iter().product::<usize>());
    assert_eq!(total, t.mapv(|v| v * 2.0 + 1.0).sum());
}

/// The fuzz target's property over a deterministic neighbourhood of the
/// seeds zarr-python wrote (fuzz/seeds_zarr): every truncation and every
/// byte replaced by each of a few JSON-significant characters parses to
/// metadata or a typed error, never a panic.
#[test]
fn metadata_near_real_documents_parses_or_is_a_typed_error() {
    use ndarray_memmap::ZarrMetadata;
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds_zarr");
    let mut parsed = 0;
    let mut refused = 0;
    for entry in std::fs::read_dir(seeds).unwrap() {
        let path = entry.unwrap().path();
        let seed = std::fs::read(&path).unwrap();
        let v2 = path.extension().is_some_and(|e| e == "zarray");
        let parse = |bytes: &[u8]| {
            if v2 {
                ZarrMetadata::from_v2(bytes, None)
            } else {
                ZarrMetadata::from_v3(bytes)
            }
        };
        let mut check = |bytes: &[u8]| match parse(bytes) {
            Ok(meta) => {
                parsed += 1;
                let _ = (meta.grid_shape(), meta.fill_value_json());
            }
            Err(
                Error::ZarrMetadata { .. }
                | Error::ZarrUnsupported { .. }
                | Error::UnsupportedDtype { .. },
            ) => refused += 1,
            Err(other) => panic!("{}: unexpected error {other:?}", path.display()),
        };
        check(&seed);
        for cut in 0..seed.len() {
            check(&seed[..cut]);
        }
        for at in 0..seed.len() {
            for byte in *b"9-\"}[0e" {
                let mut bent = seed.clone();
                bent[at] = byte;
                check(&bent);
            }
        }
    }
    assert!(
        parsed > 100 && refused > 1000,
        "parsed {parsed}, refused {refused}"
    );
}

/// `chunk_mut` writes through to an existing chunk file in place (`r+`);
/// it refuses a chunk with no file, and arrays opened read-only.
#[test]
fn chunk_mut_writes_in_place_and_refuses_what_it_cannot_map() {
    let dir = tempdir();
    let path = dir.path().join("a.zarr");
    let z = ZarrArrayBuilder::new::<i32>(&[5, 4], &[2, 2])
        .order(Order::Fortran)
        .create(&path)
        .unwrap();
    z.write_region(
        &[0, 0],
        &ndarray::Array2::<i32>::from_shape_fn((5, 4), |(i, j)| (i * 4 + j) as i32 + 1),
    )
    .unwrap();
    z.finish().unwrap();
    let z = ZarrArray::open_mut(&path).unwrap();
    {
        let mut chunk = unsafe { z.chunk_mut::<i32>(&[2, 1]) }.unwrap();
        assert_eq!(chunk.view().shape(), &[1, 2]); // clipped at the edge
        chunk.view_mut()[[0, 1]] = -5; // element [4, 3]
        chunk.close().unwrap();
    }
    let read = ZarrArray::open(&path).unwrap().read::<i32>().unwrap();
    assert_eq!(read[[4, 3]], -5);
    assert_eq!(read[[4, 2]], 19);
    let empty = dir.path().join("e.zarr");
    let e = ZarrArrayBuilder::new::<i32>(&[2], &[2])
        .create(&empty)
        .unwrap();
    e.finish().unwrap();
    let e = ZarrArray::open_mut(&empty).unwrap();
    assert!(matches!(
        unsafe { e.chunk_mut::<i32>(&[0]) },
        Err(Error::ZarrChunk { .. })
    ));
    let r = ZarrArray::open(&path).unwrap();
    assert!(matches!(
        unsafe { r.chunk_mut::<i32>(&[0, 0]) },
        Err(Error::ReadOnly { .. })
    ));
}

/// xarray opens our groups through their consolidated metadata (v3 inline,
/// v2 `.zmetadata`) without a warning, and sees an array added after the
/// group was consolidated: the metadata is rewritten, never stale.
#[test]
fn xarray_opens_our_consolidated_groups_v2_and_v3() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    for (format, name) in [(ZarrFormat::V3, "v3.zarr"), (ZarrFormat::V2, "v2.zarr")] {
        let group = ZarrGroup::create(dir.path().join(name), format).unwrap();
        let a = group
            .create_array(
                "a",
                &ZarrArrayBuilder::new::<f32>(&[6, 4], &[4, 4])
                    .dimension_names(["y", "x"])
                    .attribute("units", "m"),
            )
            .unwrap();
        a.write_region(&[0, 0], &ndarray::Array2::<f32>::from_elem((6, 4), 2.5))
            .unwrap();
        a.finish().unwrap();
        group.consolidate().unwrap();
        // Added after consolidating: finish() rewrites the consolidated metadata.
        let b = group
            .create_array(
                "b",
                &ZarrArrayBuilder::new::<i16>(&[4], &[3]).dimension_names(["x"]),
            )
            .unwrap();
        b.write_region(&[0], &ndarray::arr1(&[1i16, 2, 3, 4]))
            .unwrap();
        b.finish().unwrap();
    }
    let printed = common::python(
        r#"
import sys, warnings
warnings.simplefilter("error")
import xarray as xr
for path in sys.argv[1:]:
    ds = xr.open_zarr(path, consolidated=True)
    print(sorted(ds.data_vars), dict(ds.sizes), float(ds["a"].sum()), int(ds["b"].sum()), ds["a"].attrs["units"])
"#,
        &[
            s(&dir.path().join("v3.zarr")),
            s(&dir.path().join("v2.zarr")),
        ],
    );
    let expected = "['a', 'b'] {'y': 6, 'x': 4} 60.0 10 m";
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        [expected, expected],
        "{printed}"
    );
}

/// Shards on request: every inner chunk at a page-aligned offset (so every
/// stored one maps), all-fill inner chunks as empty slots, all-fill shards
/// left out, partial rewrites keeping the other inner chunks; zarr-python
/// reads what we wrote, and we read what zarr-python then re-packs.
#[test]
fn sharded_arrays_we_write_map_and_zarr_python_reads_them() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("s.zarr");
    let data = ArrayD::from_shape_fn(IxDyn(&[70, 64]), |i| {
        if i[0] < 16 && (16..32).contains(&i[1]) {
            f64::NAN
        } else {
            (i[0] * 64 + i[1]) as f64
        }
    });
    let z = ZarrArrayBuilder::new::<f64>(&[70, 64], &[16, 16])
        .shards(&[32, 32])
        .fill_value(f64::NAN)
        .dimension_names(["y", "x"])
        .create(&path)
        .unwrap();
    z.write_region(&[0, 0], &data).unwrap();
    // A partial rewrite: one element of shard c/1/1, the rest kept.
    z.write_region(&[40, 40], &ndarray::arr2(&[[-1.0]]))
        .unwrap();
    z.finish().unwrap();
    let mut expected = data.clone();
    expected[[40, 40]] = -1.0;
    // Every inner chunk's offset is a multiple of 4096, and its slot is
    // empty where the chunk is all fill.
    let shard = std::fs::read(path.join("c/0/0")).unwrap();
    let index = &shard[shard.len() - 68..shard.len() - 4];
    let pairs: Vec<(u64, u64)> = index
        .chunks_exact(16)
        .map(|p| {
            (
                u64::from_le_bytes(p[..8].try_into().unwrap()),
                u64::from_le_bytes(p[8..].try_into().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        pairs[1],
        (u64::MAX, u64::MAX),
        "inner chunk (0, 1) is all NaN: {pairs:?}"
    );
    assert!(
        pairs
            .iter()
            .filter(|p| p.0 != u64::MAX)
            .all(|p| p.0 % 4096 == 0 && p.1 == 2048),
        "{pairs:?}"
    );
    let z = ZarrArray::open(&path).unwrap();
    assert_eq!(z.metadata().shard_shape(), Some(&[32, 32][..]));
    let mut stored = 0;
    for chunk in unsafe { z.chunks::<f64>() }.unwrap() {
        let chunk = chunk.unwrap();
        assert!(chunk.is_mapped() || chunk.is_fill(), "{:?}", chunk.index());
        stored += usize::from(chunk.is_mapped());
    }
    assert_eq!(stored, 5 * 4 - 1);
    same(z.read::<f64>().unwrap().view(), expected.view(), "ours");
    ndarray_memmap::write_npy(dir.path().join("expected.npy"), &expected).unwrap();
    let printed = common::python(
        "import sys, numpy as np, zarr
z = zarr.open_array(sys.argv[1], mode='r+')
assert z.chunks == (16, 16) and z.shards == (32, 32), (z.chunks, z.shards)
assert np.array_equal(z[...], np.load(sys.argv[2]), equal_nan=True)
z[0, 0] = 12345.0  # zarr-python re-packs shard c/0/0
print('ok')",
        &[s(&path), s(&dir.path().join("expected.npy"))],
    );
    assert_eq!(printed.trim(), "ok");
    expected[[0, 0]] = 12345.0;
    same(
        ZarrArray::open(&path)
            .unwrap()
            .read::<f64>()
            .unwrap()
            .view(),
        expected.view(),
        "re-packed",
    );
    // Writable maps of inner chunks are refused with the way out.
    let z = ZarrArray::open_mut(&path).unwrap();
    let err = unsafe { z.new_chunk::<f64>(&[0, 0]) }.err().unwrap();
    assert!(
        matches!(err, Error::ZarrUnsupported { .. }) && err.to_string().contains("write_region"),
        "{err}"
    );
}

/// A full scan of mapped chunks adds next to no anonymous memory: each
/// chunk's pages are the page cache's (`RssFile`), and absent chunks are a
/// zero-stride view of one element. Run in a child process of its own, so
/// that other tests' allocations do not count.
#[cfg(target_os = "linux")]
#[test]
fn a_full_scan_adds_less_than_16_mib_of_anonymous_memory() {
    const TEST: &str = concat!(
        module_path!(),
        "::a_full_scan_adds_less_than_16_mib_of_anonymous_memory"
    );
    fn rss_anon() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    }
    if common::child_role().is_some() {
        let z = ZarrArray::open(std::env::var("ZARR_DIR").unwrap()).unwrap();
        let before = rss_anon();
        let mut peak = before;
        let mut total = 0.0;
        let mut mapped = 0;
        for chunk in unsafe { z.chunks::<f64>() }.unwrap() {
            let chunk = chunk.unwrap();
            mapped += usize::from(chunk.is_mapped());
            total += chunk.view().sum();
            peak = peak.max(rss_anon());
        }
        assert_eq!(mapped, 12, "12 of 16 chunks are stored");
        assert_eq!(total, 12.0 * 1024.0 * 1024.0 * 1.5);
        let grown = peak - before;
        assert!(
            grown < 16 << 20,
            "a scan of 96 MiB of chunks grew anonymous memory by {grown} bytes"
        );
        println!("grew {grown}");
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("scan.zarr");
    // 128 MiB in 16 chunks of 8 MiB, 4 of them absent (all fill).
    let z = ZarrArrayBuilder::new::<f64>(&[16 * 1024, 1024], &[1024, 1024])
        .create(&path)
        .unwrap();
    let block = ndarray::Array2::<f64>::from_elem((1024, 1024), 1.5);
    for i in 0..12 {
        z.write_chunk(&[i, 0], &block).unwrap();
    }
    z.finish().unwrap();
    let output = common::run_child(TEST, "scan", &[("ZARR_DIR", s(&path))]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `mapped()`: each chunk mapped on first touch and kept, at most the
/// bound, the oldest unmapped first; the fill value for absent chunks.
#[test]
fn mapped_arrays_keep_chunks_mapped_up_to_a_bound() {
    let dir = tempdir();
    let z = ZarrArrayBuilder::new::<u32>(&[9, 9], &[3, 3])
        .fill_value(7u32)
        .create(dir.path())
        .unwrap();
    z.write_region(
        &[0, 0],
        &ndarray::Array2::from_shape_fn((6, 9), |(i, j)| (i * 9 + j) as u32),
    )
    .unwrap();
    z.finish().unwrap();
    let z = ZarrArray::open(dir.path()).unwrap();
    let a = unsafe { z.mapped::<u32>() }.unwrap().max_mapped_chunks(2);
    assert_eq!(a.get(&[0, 0]).unwrap(), 0);
    assert_eq!(a.get(&[1, 2]).unwrap(), 11);
    assert_eq!(a.mapped_chunks(), 1);
    assert_eq!(a.get(&[4, 8]).unwrap(), 44);
    assert_eq!(a.get(&[8, 8]).unwrap(), 7, "absent: the fill value");
    assert_eq!(a.mapped_chunks(), 2, "bounded");
    assert_eq!(a.get(&[0, 1]).unwrap(), 1, "remapped after eviction");
    assert!(matches!(a.get(&[9, 0]), Err(Error::InvalidShape { .. })));
    assert!(matches!(
        unsafe { z.mapped::<i32>() },
        Err(Error::DtypeMismatch { .. })
    ));
}

/// `mapped().get` reads through the `transpose` codec's order and through
/// copies of big-endian chunks: every element equals `read()`'s.
#[test]
fn mapped_get_agrees_with_read_in_every_layout() {
    let dir = tempdir();
    for (name, order, big) in [
        ("c", Order::C, false),
        ("f", Order::Fortran, false),
        ("be", Order::Fortran, true),
    ] {
        let path = dir.path().join(name);
        let dtype = DType {
            byte_order: if big {
                ndarray_memmap::ByteOrder::Big
            } else {
                ndarray_memmap::ByteOrder::Little
            },
            .."<i4".parse::<DType>().unwrap()
        };
        let z = ZarrArrayBuilder::with_dtype(dtype, &[7, 5, 3], &[3, 2, 2])
            .order(order)
            .create(&path)
            .unwrap();
        z.write_region(
            &[0, 0, 0],
            &ArrayD::from_shape_fn(IxDyn(&[7, 5, 3]), |i| {
                (i[0] * 100 + i[1] * 10 + i[2]) as i32
            }),
        )
        .unwrap();
        z.finish().unwrap();
        let z = ZarrArray::open(&path).unwrap();
        let whole = z.read::<i32>().unwrap();
        let a = unsafe { z.mapped::<i32>() }.unwrap();
        for (index, &value) in whole.indexed_iter() {
            assert_eq!(
                a.get(ndarray::Dimension::slice(&index)).unwrap(),
                value,
                "{name} {index:?}"
            );
        }
    }
}

/// A grid of more chunks than the direct table holds (65536) finds its
/// mapped chunks through the hash map, with the same results.
#[test]
fn mapped_get_on_a_grid_too_large_for_the_table() {
    let dir = tempdir();
    let z = ZarrArrayBuilder::new::<u16>(&[70_000, 2], &[1, 2])
        .create(dir.path())
        .unwrap();
    z.write_region(
        &[69_990, 0],
        &ndarray::Array2::from_shape_fn((10, 2), |(i, j)| (i * 2 + j) as u16 + 1),
    )
    .unwrap();
    z.finish().unwrap();
    let z = ZarrArray::open(dir.path()).unwrap();
    let a = unsafe { z.mapped::<u16>() }.unwrap().max_mapped_chunks(3);
    for round in 0..2 {
        for i in 0..10 {
            assert_eq!(
                a.get(&[69_990 + i, 1]).unwrap(),
                (i * 2 + 1) as u16 + 1,
                "round {round}"
            );
        }
        assert_eq!(a.get(&[5, 0]).unwrap(), 0);
    }
    assert_eq!(a.mapped_chunks(), 3);
}

/// A dtype no element type has (its fields are public) is refused before
/// any file is made.
#[test]
fn the_builder_refuses_a_dtype_no_element_has() {
    let dir = tempdir();
    let odd = DType {
        size: 3,
        ..("<i4".parse::<DType>().unwrap())
    };
    let err = ZarrArrayBuilder::with_dtype(odd, &[4], &[2])
        .create(dir.path().join("a"))
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedDtype { .. }), "{err}");
    assert!(!dir.path().join("a").exists());
}

/// Overwriting a chunk with the fill value removes its file (zarr-python's
/// `write_empty_chunks=False`), or keeps it when asked; a region outside
/// the array and a `mapped` handle re-entered from its own closure are
/// typed errors.
#[test]
fn fill_overwrites_remove_chunks_and_misuse_is_a_typed_error() {
    let dir = tempdir();
    for (keep, name) in [(false, "drop"), (true, "keep")] {
        let path = dir.path().join(name);
        let z = ZarrArrayBuilder::new::<f32>(&[4], &[2])
            .write_empty_chunks(keep)
            .create(&path)
            .unwrap();
        z.write_region(&[0], &ndarray::arr1(&[1.0f32, 2.0, 3.0, 4.0]))
            .unwrap();
        assert!(path.join("c/0").is_file());
        z.write_region(&[0], &ndarray::arr1(&[0.0f32, 0.0]))
            .unwrap();
        assert_eq!(path.join("c/0").is_file(), keep, "{name}");
        z.finish().unwrap();
        let z = ZarrArray::open(&path).unwrap();
        assert_eq!(
            z.read::<f32>().unwrap().iter().copied().collect::<Vec<_>>(),
            [0.0, 0.0, 3.0, 4.0]
        );
        assert!(matches!(
            z.read_region::<f32>(std::slice::from_ref(&(3..5))),
            Err(Error::InvalidShape { .. })
        ));
        let a = unsafe { z.mapped::<f32>() }.unwrap();
        let inner = a.with_chunk(&[1], |_| a.get(&[0])).unwrap();
        assert!(matches!(inner, Err(Error::ZarrChunk { .. })), "{inner:?}");
    }
}
