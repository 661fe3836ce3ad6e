//! Fixed-width byte strings (`'|SN'`) and raw voids (`'|VN'`) as `[u8; N]`,
//! against numpy both ways; unicode (`'<UN'`) is a typed refusal.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use crate::common;

use crate::common::{python, s, tempdir};
use ndarray::{Array1, Ix1, Ix2};
use ndarray_memmap::{read_npy, read_npy_any, trim_nul, write_npy, Error, MemmapExt};

#[test]
fn numpys_byte_strings_and_voids_map_as_byte_arrays() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let strings = dir.path().join("s8.npy");
    let voids = dir.path().join("v4.npy");
    python(
        "import sys, numpy as np\n\
         np.save(sys.argv[1], np.array([b'ab', b'', b'12345678', b'x\\x00y'], dtype='S8').reshape(2, 2))\n\
         np.save(sys.argv[2], np.frombuffer(bytes(range(12)), dtype='V4'))",
        &[s(&strings), s(&voids)],
    );
    let mapped = unsafe { ndarray::Array2::<[u8; 8]>::open_npy(&strings) }.unwrap();
    let shown: Vec<&[u8]> = mapped.iter().map(|v| trim_nul(v)).collect();
    assert_eq!(shown, [&b"ab"[..], b"", b"12345678", b"x\0y"]);
    assert_eq!(mapped[[0, 0]], *b"ab\0\0\0\0\0\0");
    let raw = read_npy::<[u8; 4], Ix1>(&voids).unwrap();
    assert_eq!(raw.to_vec(), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
    // The width is part of the type.
    assert!(matches!(
        read_npy::<[u8; 4], Ix2>(&strings),
        Err(Error::DtypeMismatch { found, .. }) if found == "|S8"
    ));
}

#[test]
fn byte_strings_written_here_are_np_saves_bytes() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let values: Array1<[u8; 5]> = ["a", "hello", "", "xy"]
        .iter()
        .map(|t| {
            let mut v = [0u8; 5];
            v[..t.len()].copy_from_slice(t.as_bytes());
            v
        })
        .collect();
    let written = dir.path().join("written.npy");
    write_npy(&written, &values).unwrap();
    let created = dir.path().join("created.npy");
    let mut map = unsafe { Array1::<[u8; 5]>::create_npy(&created, 4) }.unwrap();
    map.assign(&values);
    map.close().unwrap();
    let verdict = python(
        "import io, sys, numpy as np\n\
         want = np.array([b'a', b'hello', b'', b'xy'], dtype='S5')\n\
         buf = io.BytesIO(); np.save(buf, want)\n\
         for p in sys.argv[1:3]:\n\
         \x20   assert open(p, 'rb').read() == buf.getvalue(), p\n\
         \x20   a = np.load(p)\n\
         \x20   assert a.dtype == want.dtype and (a == want).all(), (p, a)\n\
         print('ok')",
        &[s(&written), s(&created)],
    );
    assert_eq!(verdict.trim(), "ok");
}

#[test]
fn unicode_strings_are_a_typed_refusal_naming_the_dtype() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("u3.npy");
    python(
        "import sys, numpy as np\nnp.save(sys.argv[1], np.array(['abc', 'é'], dtype='<U3'))",
        &[s(&path)],
    );
    assert_eq!(ndarray_memmap::read_npy_header(&path).unwrap().descr, "<U3");
    assert!(matches!(
        read_npy_any(&path),
        Err(Error::UnsupportedDtype { descr }) if descr == "<U3"
    ));
    assert!(matches!(
        read_npy::<[u8; 12], Ix1>(&path),
        Err(Error::DtypeMismatch { found, .. }) if found == "<U3"
    ));
}
