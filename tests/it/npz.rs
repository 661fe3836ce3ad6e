//! `.npz` archives against numpy, both ways, member by member and value by
//! value; maps of stored members; and bad archives, each a typed error.
// Every archive these tests map is a private temporary file that nothing
// else touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]
#![cfg(feature = "npz")]

use crate::common;

use std::path::Path;

use crate::common::{python, s, tempdir};
use ndarray::{Array, ArrayD, Dimension, Ix0, Ix1, Ix2, IxDyn, ShapeBuilder};
use ndarray_memmap::{read_npy, write_npy, Element, Error, NpzArchive, NpzWriter, Order};
use num_complex::Complex;

/// Writes, with numpy, `savez.npz` and `compressed.npz` holding one member
/// per dtype and layout (keyword and positional, C and F order, 0-d and
/// zero-size), and beside them each member alone as `<archive>.<key>.npy`
/// (`np.save`), and prints `archive key` per member.
const NUMPY_WRITES: &str = r#"
import sys, os, numpy as np
d = sys.argv[1]
descrs = ["|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f4", "<f8", "<c8", "<c16"]
members = {}
for i, descr in enumerate(descrs):
    a = (np.arange(12) * 37 % 11).astype(descr).reshape(3, 4)
    members[f"m{i}"] = a
    members[f"m{i}_f"] = np.asfortranarray(a)
members["scalar"] = np.array(2.5)
members["empty"] = np.zeros((0, 5), "<i4")
positional = [np.arange(5, dtype="<i2"), np.ones((2, 3))]
for archive, save in [("savez", np.savez), ("compressed", np.savez_compressed)]:
    save(os.path.join(d, archive + ".npz"), *positional, **members)
    with np.load(os.path.join(d, archive + ".npz")) as f:
        for key in f.files:
            np.save(os.path.join(d, f"{archive}.{key}.npy"), f[key])
            print(archive, key)
"#;

#[test]
fn every_member_numpy_writes_reads_here_value_for_value() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let listing = python(NUMPY_WRITES, &[s(dir.path())]);
    let mut checked = 0;
    for archive_name in ["savez", "compressed"] {
        let mut archive = NpzArchive::open(dir.path().join(format!("{archive_name}.npz"))).unwrap();
        let keys: Vec<&str> = listing
            .lines()
            .filter_map(|l| l.strip_prefix(archive_name)?.strip_prefix(' '))
            .collect();
        // numpy's order: keyword members first, then arr_0, arr_1.
        assert_eq!(archive.names(), keys);
        assert_eq!(&keys[keys.len() - 2..], ["arr_0", "arr_1"]);
        for key in keys {
            let reference = dir.path().join(format!("{archive_name}.{key}.npy"));
            let header = archive.header(key).unwrap();
            assert_eq!(
                header,
                ndarray_memmap::read_npy_header(&reference).unwrap(),
                "{key}"
            );
            // Read through the run-time-typed path, written back with
            // np.save's rule: the same bytes as numpy's np.save of the
            // member means the same dtype, shape, order and values.
            let ours = dir.path().join(format!("{archive_name}.{key}.ours.npy"));
            archive.read_any(key).unwrap().write_npy(&ours).unwrap();
            assert_eq!(
                std::fs::read(&ours).unwrap(),
                std::fs::read(&reference).unwrap(),
                "{archive_name}[{key}]"
            );
            checked += 1;
        }
        // A typed read, with or without the .npy suffix.
        let typed = archive.read::<f64, Ix2>("arr_1.npy").unwrap();
        assert_eq!(typed, ndarray::Array2::<f64>::ones((2, 3)));
    }
    assert_eq!(checked, 2 * (13 * 2 + 2 + 2));
}

#[test]
fn a_stored_numpy_member_maps_when_aligned_and_says_why_not_otherwise() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("o.npz");
    // numpy-formats.md 1.2: bb's data lands at byte 368 (8-aligned), ccc's at
    // 609 (odd); compressed members never map.
    python(
        "import sys, numpy as np\n\
         np.savez(sys.argv[1], a=np.arange(1, dtype='u1'), bb=np.arange(7, dtype='<f8'), ccc=np.arange(9, dtype='<i2').reshape(3, 3))\n\
         np.savez_compressed(sys.argv[2], z=np.arange(4, dtype='<f8'))",
        &[s(&path), s(&dir.path().join("z.npz"))],
    );
    let mut archive = NpzArchive::open(&path).unwrap();
    let bb = unsafe { archive.map::<f64, Ix1>("bb") }.unwrap();
    assert_eq!(bb.to_vec(), (0..7).map(f64::from).collect::<Vec<_>>());
    assert_eq!(bb.offset(), 368);
    let a = unsafe { archive.map::<u8, Ix1>("a") }.unwrap();
    assert_eq!(a.to_vec(), [0]);
    match unsafe { archive.map::<i16, Ix2>("ccc") } {
        Err(err @ Error::NotMappable { .. }) => {
            let message = err.to_string();
            assert!(message.contains("\"ccc.npy\""), "{message}");
            assert!(message.contains("byte 609"), "{message}");
            assert!(message.contains("NpzArchive::read"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        archive.read::<i16, Ix2>("ccc").unwrap(),
        Array::from_shape_fn((3, 3), |(i, j)| (i * 3 + j) as i16)
    );
    let mut compressed = NpzArchive::open(dir.path().join("z.npz")).unwrap();
    match unsafe { compressed.map::<f64, Ix1>("z") } {
        Err(Error::NotMappable { reason, .. }) => {
            assert!(reason.contains("compressed"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // A writable map of a member is not offered; copy-on-write is.
    let mut private = unsafe { archive.map_copy::<f64, Ix1>("bb") }.unwrap();
    private[0] = 100.0;
    drop(private);
    assert_eq!(archive.read::<f64, Ix1>("bb").unwrap()[0], 0.0);
}

/// Arrays of several types and layouts, written here; numpy checks them
/// against `np.save`d copies, and this crate maps every stored member back.
#[test]
fn archives_written_here_load_in_numpy_and_every_stored_member_maps() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let floats = Array::from_shape_fn((5, 3), |(i, j)| i as f64 * 0.5 - j as f64);
    let mut fortran = Array::<i32, _>::zeros((4, 6).f());
    fortran.assign(&Array::from_shape_fn((4, 6), |(i, j)| {
        (i * 6 + j) as i32 - 7
    }));
    let flags = ndarray::array![true, false, true];
    let complex = ndarray::array![Complex::new(1.0f32, -2.0), Complex::new(0.5, 0.25)];
    let scalar = ndarray::arr0(7u16);
    let empty = Array::<u8, _>::zeros((0, 4));
    let bytes = Array::from_shape_fn(13, |i| i as u8);
    for (archive_name, compressed) in [("ours.npz", false), ("ours_z.npz", true)] {
        let path = dir.path().join(archive_name);
        let mut npz = NpzWriter::create(&path).unwrap().compressed(compressed);
        npz.add("floats", &floats).unwrap();
        npz.add("fortran", &fortran).unwrap();
        npz.add("flags", &flags).unwrap();
        npz.add("complex", &complex).unwrap();
        npz.add("scalar", &scalar).unwrap();
        npz.add("empty", &empty).unwrap();
        npz.add("bytes", &bytes).unwrap();
        // Streamed in chunks of rows, Fortran order along the last axis.
        let mut streamed = npz
            .start::<i32>("streamed", &[4, 6], Order::Fortran)
            .unwrap();
        for columns in fortran.axis_chunks_iter(ndarray::Axis(1), 4) {
            streamed.write(&columns).unwrap();
        }
        streamed.finish().unwrap();
        npz.finish().unwrap();
    }
    for (key, reference) in [
        ("floats", write_ref(dir.path(), "floats", &floats)),
        ("fortran", write_ref(dir.path(), "fortran", &fortran)),
        ("flags", write_ref(dir.path(), "flags", &flags)),
        ("complex", write_ref(dir.path(), "complex", &complex)),
        ("scalar", write_ref(dir.path(), "scalar", &scalar)),
        ("empty", write_ref(dir.path(), "empty", &empty)),
        ("bytes", write_ref(dir.path(), "bytes", &bytes)),
        ("streamed", write_ref(dir.path(), "streamed", &fortran)),
    ] {
        let checked = python(
            "import sys, numpy as np, zipfile, struct\n\
             d, key, ref = sys.argv[1:4]\n\
             want = np.load(ref)\n\
             for name in ['ours.npz', 'ours_z.npz']:\n\
             \x20   with np.load(d + '/' + name) as f:\n\
             \x20       got = f[key]\n\
             \x20   assert got.dtype == want.dtype and got.shape == want.shape, (name, key, got.dtype, got.shape)\n\
             \x20   assert np.array_equal(got, want), (name, key)\n\
             \x20   assert got.flags.f_contiguous == want.flags.f_contiguous, (name, key)\n\
             raw = open(d + '/ours.npz', 'rb').read()\n\
             info = zipfile.ZipFile(d + '/ours.npz').getinfo(key + '.npy')\n\
             at = info.header_offset\n\
             n, m = struct.unpack('<HH', raw[at + 26:at + 30])\n\
             start = at + 30 + n + m\n\
             assert start % 64 == 0, (key, start)\n\
             assert raw[start:start + 6] == b'\\x93NUMPY'\n\
             print('ok', key, start)",
            &[s(dir.path()), key, s(&reference)],
        );
        assert!(checked.starts_with("ok "), "{checked}");
    }
    let mut archive = NpzArchive::open(dir.path().join("ours.npz")).unwrap();
    assert_eq!(
        archive.names(),
        ["floats", "fortran", "flags", "complex", "scalar", "empty", "bytes", "streamed"]
    );
    assert_maps::<f64, Ix2>(&mut archive, "floats", &floats);
    assert_maps::<i32, Ix2>(&mut archive, "fortran", &fortran);
    assert_maps::<bool, Ix1>(&mut archive, "flags", &flags);
    assert_maps::<Complex<f32>, Ix1>(&mut archive, "complex", &complex);
    assert_maps::<u16, Ix0>(&mut archive, "scalar", &scalar);
    assert_maps::<u8, Ix2>(&mut archive, "empty", &empty);
    assert_maps::<u8, Ix1>(&mut archive, "bytes", &bytes);
    assert_maps::<i32, Ix2>(&mut archive, "streamed", &fortran);
}

fn write_ref<A: Element, D: Dimension>(
    dir: &Path,
    key: &str,
    array: &Array<A, D>,
) -> std::path::PathBuf {
    let path = dir.join(format!("{key}.ref.npy"));
    write_npy(&path, array).unwrap();
    path
}

fn assert_maps<A: Element + PartialEq + std::fmt::Debug, D: Dimension>(
    archive: &mut NpzArchive,
    key: &str,
    want: &Array<A, D>,
) {
    let mapped = unsafe { archive.map::<A, D>(key) }.unwrap();
    assert_eq!(mapped.view(), want.view(), "{key}");
    assert_eq!(mapped.offset() % 64, 0, "{key}");
    assert_eq!(&archive.read::<A, D>(key).unwrap(), want, "{key}");
}

#[test]
fn a_numpy_member_over_4_gib_in_a_sparse_archive_maps_and_its_neighbour_reads() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("big.npz");
    // numpy-formats.md 1.5: np.savez into a sink that keeps the small writes
    // (every zip structure) and drops the bulk zeros, replayed into a sparse
    // file: numpy's exact archive, 8 KiB on disk.
    python(
        r#"
import io, sys, numpy as np
class Sink(io.RawIOBase):
    def __init__(self): self.pos, self.end, self.kept = 0, 0, []
    def writable(self): return True
    def seekable(self): return True
    def tell(self): return self.pos
    def seek(self, off, whence=0):
        self.pos = off if whence == 0 else (self.pos + off if whence == 1 else self.end + off)
        return self.pos
    def write(self, b):
        b = bytes(b)
        if len(b) <= 4096: self.kept.append((self.pos, b))
        elif any(b): raise ValueError("only zeros may be dropped")
        self.pos += len(b); self.end = max(self.end, self.pos)
        return len(b)
sink = Sink()
np.savez(sink, big=np.zeros(2**32 + 16, 'u1'), small=np.arange(3, dtype='<i2'))
with open(sys.argv[1], 'wb') as f:
    f.truncate(sink.end)
    for at, b in sink.kept:
        f.seek(at); f.write(b)
"#,
        &[s(&path)],
    );
    let mut archive = NpzArchive::open(&path).unwrap();
    assert_eq!(archive.names(), ["big", "small"]);
    assert_eq!(archive.header("big").unwrap().shape, [(1usize << 32) + 16]);
    let big = unsafe { archive.map::<u8, Ix1>("big") }.unwrap();
    assert_eq!(big.len(), (1 << 32) + 16);
    assert_eq!((big[0], big[1 << 31], big[big.len() - 1]), (0, 0, 0));
    drop(big);
    assert_eq!(
        archive.read::<i16, Ix1>("small").unwrap().to_vec(),
        [0, 1, 2]
    );
}

/// Archives numpy's zipfile writes but that lie, or are cut, or are not
/// `.npz` at all: each is a typed error, none a panic, and nothing is
/// allocated for sizes a member does not hold.
#[test]
fn bad_archives_are_typed_errors() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    python(
        r#"
import io, sys, os, zipfile, numpy as np
d = sys.argv[1]
def npy(a):
    b = io.BytesIO(); np.save(b, a); return b.getvalue()
with zipfile.ZipFile(os.path.join(d, 'mixed.npz'), 'w') as z:
    z.writestr('readme.txt', b'hello')
    z.writestr('x.npy', npy(np.arange(2)))
    # A header announcing 2**40 float64 over 16 bytes of data (deflated),
    # and one announcing 1000 over the same 16 bytes (stored).
    hdr = np.lib.format.header_data_from_array_1_0(np.zeros(2))
    hdr['shape'] = (2**40,)
    b = io.BytesIO(); np.lib.format.write_array_header_1_0(b, hdr); b.write(np.zeros(2).tobytes())
    z.writestr('bomb.npy', b.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    hdr['shape'] = (1000,)
    b = io.BytesIO(); np.lib.format.write_array_header_1_0(b, hdr); b.write(np.zeros(2).tobytes())
    z.writestr('short.npy', b.getvalue())
import warnings
warnings.simplefilter('ignore')
with zipfile.ZipFile(os.path.join(d, 'dup.npz'), 'w') as z:
    z.writestr('d.npy', npy(np.array([1])))
    z.writestr('d.npy', npy(np.array([2])))
good = io.BytesIO(); np.savez(good, a=np.arange(10))
open(os.path.join(d, 'cut.npz'), 'wb').write(good.getvalue()[:-1])
open(os.path.join(d, 'plain.npz'), 'wb').write(npy(np.arange(3)))
# A deflated member whose central directory claims 2 GiB uncompressed.
packed = io.BytesIO(); np.savez_compressed(packed, z=np.zeros(1000))
raw = bytearray(packed.getvalue())
at = raw.index(b'PK\x01\x02')
raw[at + 24:at + 28] = (0x7FFFFFF0).to_bytes(4, 'little')
open(os.path.join(d, 'inflated.npz'), 'wb').write(raw)
"#,
        &[s(dir.path())],
    );
    let mut mixed = NpzArchive::open(dir.path().join("mixed.npz")).unwrap();
    assert_eq!(mixed.names(), ["readme.txt", "x", "bomb", "short"]);
    assert_eq!(mixed.read::<i64, Ix1>("x").unwrap().to_vec(), [0, 1]);
    match mixed.read_any("readme.txt") {
        Err(Error::NpyHeader { path, reason }) => {
            assert!(reason.contains("magic string"), "{reason}");
            assert!(path
                .unwrap()
                .to_string_lossy()
                .ends_with("mixed.npz[readme.txt]"));
        }
        other => panic!("{other:?}"),
    }
    for key in ["bomb", "short"] {
        match mixed.read::<f64, Ix1>(key) {
            Err(err @ Error::FileTooShort { .. }) => {
                let message = err.to_string();
                assert!(message.contains(&format!("[{key}.npy]")), "{message}");
                assert!(
                    message.contains("it holds 16 bytes of data, 2 of the"),
                    "{message}"
                );
            }
            other => panic!("{key}: {other:?}"),
        }
        assert!(matches!(
            unsafe { mixed.map::<f64, Ix1>(key) },
            Err(Error::FileTooShort { .. } | Error::NotMappable { .. })
        ));
    }
    match mixed.read::<f64, Ix1>("nope") {
        Err(Error::NoSuchMember {
            name, available, ..
        }) => {
            assert_eq!(name, "nope");
            assert_eq!(available, ["readme.txt", "x", "bomb", "short"]);
        }
        other => panic!("{other:?}"),
    }
    // Opening reads the central directory only; reading the member refuses
    // a size its compressed bytes cannot give, before allocating it.
    let mut inflated = NpzArchive::open(dir.path().join("inflated.npz")).unwrap();
    match inflated.read::<f64, Ix1>("z") {
        Err(Error::Npz { reason, .. }) => {
            assert!(reason.contains("declares 2147483632 bytes"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    for (name, expect) in [
        ("dup.npz", "more than once"),
        ("cut.npz", ""),
        ("plain.npz", ""),
    ] {
        match NpzArchive::open(dir.path().join(name)) {
            Err(err @ Error::Npz { .. }) => assert!(err.to_string().contains(expect), "{err}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn writer_refusals_leave_no_lying_member() {
    let dir = tempdir();
    let path = dir.path().join("w.npz");
    let mut npz = NpzWriter::create(&path).unwrap();
    npz.add("a", &ndarray::array![1u8, 2]).unwrap();
    assert!(matches!(
        npz.add("a", &ndarray::array![3u8]),
        Err(Error::Npz { reason, .. }) if reason.contains("added already")
    ));
    let mut member = npz.start::<u8>("b", &[4, 2], Order::C).unwrap();
    assert!(matches!(
        member.write(&ndarray::array![[1u8, 2, 3]]),
        Err(Error::AppendShape { .. })
    ));
    member.write(&ndarray::array![[1u8, 2], [3, 4]]).unwrap();
    assert!(matches!(
        member.write(&ndarray::Array2::<u8>::zeros((3, 2))),
        Err(Error::InvalidShape { .. })
    ));
    drop(member);
    // The member has 4 of its 8 elements: the archive may not be finished.
    match npz.finish() {
        Err(Error::Npz { reason, .. }) => {
            assert!(reason.contains("\"b\" was started but not finished"))
        }
        other => panic!("{other:?}"),
    }
    let mut npz = NpzWriter::create(&path).unwrap();
    let mut member = npz.start::<u8>("b", &[4, 2], Order::C).unwrap();
    member.write(&ndarray::array![[1u8, 2], [3, 4]]).unwrap();
    assert!(matches!(member.finish(), Err(Error::InvalidShape { .. })));
    npz.finish().unwrap_err();
    // Alignment off: numpy's unpadded layout, whose members need not map.
    let mut npz = NpzWriter::new(std::io::Cursor::new(Vec::new())).aligned(false);
    npz.add("a", &ndarray::array![1u8]).unwrap();
    npz.add("b", &ndarray::array![2.0f64]).unwrap();
    let bytes = npz.finish().unwrap().into_inner();
    let at = bytes.windows(6).rposition(|w| w == b"\x93NUMPY").unwrap();
    assert_ne!(at % 64, 0, "unaligned: member b's .npy starts at {at}");
    let mut archive = NpzArchive::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(archive.read::<f64, Ix1>("b").unwrap()[0], 2.0);
    // An in-memory archive, read back from the bytes.
    let mut npz = NpzWriter::new(std::io::Cursor::new(Vec::new()));
    npz.add("v", &ArrayD::<f32>::from_elem(IxDyn(&[2, 2]), 1.5))
        .unwrap();
    let bytes = npz.finish().unwrap().into_inner();
    let mut archive = NpzArchive::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(archive.read::<f32, IxDyn>("v").unwrap().sum(), 6.0);
    assert!(matches!(
        read_npy::<f32, Ix1>(&path),
        Err(Error::NpyHeader { .. })
    ));
}
