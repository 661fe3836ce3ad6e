//! Interop with real NumPy, both ways: every dtype, C and F order, 0-d,
//! zero-size and n-d shapes, header versions 1.0/2.0/3.0, raw files at
//! offsets (one not a page multiple, one above 4 GiB). Values, header fields
//! and exact bytes are compared. The NumPy side is `tests/python/numpy_side.py`.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use crate::common;

use std::fmt::Debug;
use std::path::Path;

use crate::common::{python, s, tempdir};
use ndarray::ShapeBuilder;
use ndarray::{ArrayD, Ix2, IxDyn};
use ndarray_memmap::{read_npy, read_npy_header, write_npy, Element, MemmapOptions, Order};
use num_complex::Complex;

const SIDE: &str = include_str!("../python/numpy_side.py");

/// Runs a function of the NumPy side with arguments.
fn numpy(args: &[&str]) -> String {
    python(&format!("{SIDE}\n"), args)
}

/// Element i of every test array, in C order (the formula in numpy_side.py).
trait Sample: Element + Copy + PartialEq + Debug {
    fn sample(i: usize) -> Self;
}

macro_rules! sample_int {
    ($($t:ty: $signed:expr),*) => {$(
        impl Sample for $t {
            fn sample(i: usize) -> Self {
                let v = ((i * 37 + 11) % 251) as i64;
                (if $signed { v - 125 } else { v }) as $t
            }
        }
    )*};
}
sample_int!(i8: true, i16: true, i32: true, i64: true, u8: false, u16: false, u32: false, u64: false);

impl Sample for bool {
    fn sample(i: usize) -> Self {
        i.is_multiple_of(3)
    }
}
impl Sample for f32 {
    fn sample(i: usize) -> Self {
        i as f32 * 0.25 - 3.0
    }
}
impl Sample for f64 {
    fn sample(i: usize) -> Self {
        i as f64 * 0.25 - 3.0
    }
}
impl Sample for Complex<f32> {
    fn sample(i: usize) -> Self {
        Complex::new(i as f32 * 0.5, -(i as f32 + 1.0))
    }
}
impl Sample for Complex<f64> {
    fn sample(i: usize) -> Self {
        Complex::new(i as f64 * 0.5, -(i as f64 + 1.0))
    }
}

fn expected<A: Sample>(shape: &[usize]) -> ArrayD<A> {
    let n = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(A::sample).collect()).unwrap()
}

/// Calls `visit::<A>()` with the Rust type of a descr.
trait Visit {
    fn visit<A: Sample>(&mut self);
}

fn dispatch(descr: &str, v: &mut impl Visit) {
    match descr {
        "|b1" => v.visit::<bool>(),
        "|i1" => v.visit::<i8>(),
        "|u1" => v.visit::<u8>(),
        "<i2" => v.visit::<i16>(),
        "<u2" => v.visit::<u16>(),
        "<i4" => v.visit::<i32>(),
        "<u4" => v.visit::<u32>(),
        "<i8" => v.visit::<i64>(),
        "<u8" => v.visit::<u64>(),
        "<f4" => v.visit::<f32>(),
        "<f8" => v.visit::<f64>(),
        "<c8" => v.visit::<Complex<f32>>(),
        "<c16" => v.visit::<Complex<f64>>(),
        other => panic!("no Rust type for {other}"),
    }
}

const DESCRS: [&str; 13] = [
    "|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f4", "<f8", "<c8", "<c16",
];
const SHAPES: [&[usize]; 7] = [&[7], &[3, 4], &[2, 3, 4], &[], &[0, 5], &[1, 5], &[5, 1]];

struct Entry {
    kind: String,
    name: String,
    descr: String,
    order: Order,
    version: String,
    shape: Vec<usize>,
    offset: u64,
}

fn parse_manifest(dir: &Path) -> Vec<Entry> {
    std::fs::read_to_string(dir.join("manifest.txt"))
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            Entry {
                kind: f[0].into(),
                name: f[1].into(),
                descr: f[2].into(),
                order: f[3].parse().unwrap(),
                version: f[4].into(),
                shape: if f[5] == "-" {
                    vec![]
                } else {
                    f[5].split(',').map(|x| x.parse().unwrap()).collect()
                },
                offset: f[6].parse().unwrap(),
            }
        })
        .collect()
}

fn manifest_line(e: &Entry) -> String {
    let shape = if e.shape.is_empty() {
        "-".to_owned()
    } else {
        e.shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        "{} {} {} {} {} {} {}",
        e.kind,
        e.name,
        e.descr,
        e.order.as_str(),
        e.version,
        shape,
        e.offset
    )
}

/// Reads one numpy-written file in every way the crate offers and compares.
struct ReadNumpyFile<'a> {
    dir: &'a Path,
    entry: &'a Entry,
    checked: usize,
}

impl Visit for ReadNumpyFile<'_> {
    fn visit<A: Sample>(&mut self) {
        let e = self.entry;
        let path = self.dir.join(&e.name);
        let want = expected::<A>(&e.shape);
        if e.kind == "npy" {
            let header = read_npy_header(&path).unwrap();
            assert_eq!(header.shape, e.shape, "{}", e.name);
            assert_eq!(header.descr, e.descr, "{}", e.name);
            if e.version != "auto" {
                assert_eq!(
                    format!("{}.{}", header.version.0, header.version.1),
                    e.version,
                    "{}",
                    e.name
                );
            }
            let options = MemmapOptions::new();
            let r = unsafe { options.open_npy::<A, IxDyn>(&path) }.unwrap();
            assert_eq!(r.view(), want, "{}", e.name);
            assert_eq!(r.offset(), header.data_offset);
            drop(r);
            let c = unsafe { options.open_npy_copy::<A, IxDyn>(&path) }.unwrap();
            assert_eq!(c.view(), want, "{}", e.name);
            drop(c);
            let rw = unsafe { options.open_npy_mut::<A, IxDyn>(&path) }.unwrap();
            assert_eq!(rw.view(), want, "{}", e.name);
            drop(rw);
            assert_eq!(read_npy::<A, IxDyn>(&path).unwrap(), want, "{}", e.name);
        } else {
            let mut options = MemmapOptions::new();
            options
                .offset(e.offset)
                .shape(e.shape.clone())
                .order(e.order);
            let r = unsafe { options.open_raw::<A, IxDyn>(&path) }.unwrap();
            assert_eq!(r.view(), want, "{}", e.name);
        }
        self.checked += 1;
    }
}

#[test]
fn crate_reads_every_file_numpy_writes_exactly() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    numpy(&["write", s(dir.path())]);
    let entries = parse_manifest(dir.path());
    // 13 dtypes x 2 orders x (7 shapes x 4 npy files + 3 raw offsets) + 1 big raw file.
    assert_eq!(entries.len(), 13 * 2 * (7 * 4 + 3) + 1);
    let mut checked = 0;
    for entry in &entries {
        let mut reader = ReadNumpyFile {
            dir: dir.path(),
            entry,
            checked: 0,
        };
        dispatch(&entry.descr, &mut reader);
        checked += reader.checked;
    }
    assert_eq!(checked, entries.len());
}

/// Writes one file of every kind the crate writes, for numpy to check.
struct WriteForNumpy<'a> {
    dir: &'a Path,
    index: usize,
    entries: Vec<Entry>,
}

impl Visit for WriteForNumpy<'_> {
    fn visit<A: Sample>(&mut self) {
        let descr = A::NPY_DESCR.unwrap().to_owned();
        for order in [Order::C, Order::Fortran] {
            for (s, shape) in SHAPES.iter().enumerate() {
                let want = expected::<A>(shape);
                // Through a map: create_npy, then assign.
                let name = format!("rs_{}_{}_{s}_map.npy", self.index, order.as_str());
                let mut options = MemmapOptions::new();
                options.shape(shape.to_vec()).order(order);
                let mut m =
                    unsafe { options.create_npy::<A, IxDyn>(self.dir.join(&name)) }.unwrap();
                m.assign(&want);
                m.close().unwrap();
                self.push("npymap", name, &descr, order, shape, 0);
                // Through ordinary writes, from an array in that memory order.
                let name = format!("rs_{}_{}_{s}_write.npy", self.index, order.as_str());
                let laid_out = if order == Order::Fortran {
                    let mut f =
                        ArrayD::from_shape_vec(IxDyn(shape).f(), vec![A::sample(0); want.len()])
                            .unwrap();
                    f.assign(&want);
                    f
                } else {
                    want.clone()
                };
                write_npy(self.dir.join(&name), &laid_out).unwrap();
                self.push("npy", name, &descr, order, shape, 0);
            }
            let size = std::mem::size_of::<A>() as u64;
            for offset in [0, 4096 + size, 3 * size] {
                let name = format!("rs_{}_{}_{offset}.bin", self.index, order.as_str());
                let mut options = MemmapOptions::new();
                options.shape((3, 5)).order(order).offset(offset);
                let mut m = unsafe { options.create_raw::<A, Ix2>(self.dir.join(&name)) }.unwrap();
                m.assign(&expected::<A>(&[3, 5]).into_dimensionality::<Ix2>().unwrap());
                m.close().unwrap();
                self.push("raw", name, &descr, order, &[3, 5], offset);
            }
        }
        self.index += 1;
    }
}

impl WriteForNumpy<'_> {
    fn push(
        &mut self,
        kind: &str,
        name: String,
        descr: &str,
        order: Order,
        shape: &[usize],
        offset: u64,
    ) {
        self.entries.push(Entry {
            kind: kind.into(),
            name,
            descr: descr.into(),
            order,
            version: "auto".into(),
            shape: shape.to_vec(),
            offset,
        });
    }
}

#[test]
fn numpy_reads_every_file_the_crate_writes_exactly() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let mut writer = WriteForNumpy {
        dir: dir.path(),
        index: 0,
        entries: vec![],
    };
    for descr in DESCRS {
        dispatch(descr, &mut writer);
    }
    // One raw file with its data above 4 GiB.
    let offset = (5u64 << 30) + 8;
    let mut big = unsafe {
        MemmapOptions::new()
            .shape((4, 2))
            .offset(offset)
            .create_raw::<f64, Ix2>(dir.path().join("rs_big.bin"))
    }
    .unwrap();
    big.assign(
        &expected::<f64>(&[4, 2])
            .into_dimensionality::<Ix2>()
            .unwrap(),
    );
    big.close().unwrap();
    writer.push("raw", "rs_big.bin".into(), "<f8", Order::C, &[4, 2], offset);

    let lines: Vec<String> = writer.entries.iter().map(manifest_line).collect();
    std::fs::write(dir.path().join("manifest.txt"), lines.join("\n") + "\n").unwrap();
    let out = numpy(&["check", s(dir.path())]);
    assert_eq!(out.trim(), format!("checked {}", lines.len()));
    assert_eq!(lines.len(), 13 * 2 * (7 * 2 + 3) + 1);
}

#[test]
fn read_write_edits_are_seen_across_both_languages() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    // The crate writes, numpy edits in place (r+), the crate sees the edit.
    let path = dir.path().join("edit.npy");
    let mut m = unsafe {
        MemmapOptions::new()
            .shape((3, 4))
            .create_npy::<f64, Ix2>(&path)
    }
    .unwrap();
    m.fill(1.0);
    m.close().unwrap();
    assert_eq!(numpy(&["edit", s(&path)]).trim(), "(3, 4)");
    let back = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&path) }.unwrap();
    assert_eq!(
        (back[[0, 0]], back[[2, 3]], back[[1, 1]]),
        (42.0, -7.0, 1.0)
    );
    drop(back);

    // numpy writes, the crate edits in place (r+), numpy sees the edit.
    numpy(&["write", s(dir.path())]);
    let theirs = dir.path().join("np_10_F_1_v1.npy"); // <f8, Fortran, (3, 4)
    let mut m = unsafe { MemmapOptions::new().open_npy_mut::<f64, Ix2>(&theirs) }.unwrap();
    assert_eq!(m.order(), Order::Fortran);
    m[[2, 0]] = 100.5;
    m.close().unwrap();
    let shown: Vec<f64> = numpy(&["show", s(&theirs)])
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    // numpy prints in memory order (column-major): element [2, 0] is third.
    let mut want = expected::<f64>(&[3, 4]);
    want[[2, 0]] = 100.5;
    assert_eq!(shown, want.t().iter().copied().collect::<Vec<_>>());

    // Raw files too: numpy edits a raw file the crate made.
    let raw = dir.path().join("edit.bin");
    let mut m = unsafe {
        MemmapOptions::new()
            .shape(5)
            .create_raw::<f64, ndarray::Ix1>(&raw)
    }
    .unwrap();
    m.fill(2.0);
    m.close().unwrap();
    assert_eq!(numpy(&["edit", s(&raw), "raw"]).trim(), "(5,)");
    let back = unsafe { MemmapOptions::new().open_raw::<f64, ndarray::Ix1>(&raw) }.unwrap();
    assert_eq!(back.to_vec(), vec![42.0, 2.0, 2.0, 2.0, -7.0]);
}
