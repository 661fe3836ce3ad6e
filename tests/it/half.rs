//! Half-precision elements against numpy (`float16`) and ml_dtypes
//! (`bfloat16`), bit for bit: NaN payloads, infinities, signed zeros,
//! subnormals; both ways; both byte orders.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]
#![cfg(feature = "half")]

use crate::common;

use crate::common::{python, s, tempdir};
use half::{bf16, f16};
use ndarray::{Array1, Ix1, IxDyn};
use ndarray_memmap::{read_npy, read_npy_any, write_npy, Error, MemmapExt, MemmapOptions};

/// float16 bit patterns numpy-formats.md lists: zeros, infinities, quiet and
/// signalling NaNs with payloads and both signs, the smallest and largest
/// subnormals, the smallest normal, 1.0, 0.1 and the largest finite value.
const F16_BITS: [u16; 15] = [
    0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0xfe00, 0x7c01, 0x7d00, 0x7fff, 0x0001, 0x03ff, 0x0400,
    0x3c00, 0x2e66, 0x7bff,
];

fn bits_list(bits: &[u16]) -> String {
    bits.iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn numpys_float16_maps_bit_for_bit_in_either_byte_order() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let little = dir.path().join("f2.npy");
    let big = dir.path().join("f2_big.npy");
    python(
        "import sys, numpy as np\n\
         bits = np.array([int(b) for b in sys.argv[3].split(',')], dtype='<u2')\n\
         np.save(sys.argv[1], bits.view('<f2'))\n\
         np.save(sys.argv[2], bits.view('<f2').astype('>f2'))",
        &[s(&little), s(&big), &bits_list(&F16_BITS)],
    );
    let mapped = unsafe { Array1::<f16>::open_npy(&little) }.unwrap();
    let bits: Vec<u16> = mapped.iter().map(|x| x.to_bits()).collect();
    assert_eq!(bits, F16_BITS);
    // The other byte order: a map refuses it, the copying reads swap it.
    assert!(matches!(
        unsafe { Array1::<f16>::open_npy(&big) },
        Err(Error::ByteOrder { found, .. }) if found == ">f2"
    ));
    let swapped = read_npy::<f16, Ix1>(&big).unwrap();
    assert_eq!(
        swapped.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        F16_BITS
    );
    // The run-time path knows float16 as numpy does.
    let any = read_npy_any(&big).unwrap();
    assert_eq!(any.dtype().descr(), "<f2");
    let as_f64 = any.to_owned_as::<f64>().unwrap();
    assert_eq!(as_f64[12], 1.0);
    assert_eq!(as_f64[9], 2f64.powi(-24));
    assert!(
        any.to_owned_as::<i16>().is_err(),
        "f2 -> i2 is not a safe cast"
    );
}

#[test]
fn float16_written_here_is_np_saves_bytes_and_numpys_values() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let values: Array1<f16> = F16_BITS.iter().map(|&b| f16::from_bits(b)).collect();
    let written = dir.path().join("written.npy");
    write_npy(&written, &values).unwrap();
    let created = dir.path().join("created.npy");
    let mut map = unsafe { Array1::<f16>::create_npy(&created, F16_BITS.len()) }.unwrap();
    map.assign(&values);
    map.close().unwrap();
    let verdict = python(
        "import io, sys, numpy as np\n\
         bits = np.array([int(b) for b in sys.argv[3].split(',')], dtype='<u2')\n\
         buf = io.BytesIO(); np.save(buf, bits.view('<f2'))\n\
         for p in sys.argv[1:3]:\n\
         \x20   assert open(p, 'rb').read() == buf.getvalue(), p\n\
         \x20   a = np.load(p)\n\
         \x20   assert a.dtype == np.float16 and (a.view('<u2') == bits).all(), p\n\
         print('ok')",
        &[s(&written), s(&created), &bits_list(&F16_BITS)],
    );
    assert_eq!(verdict.trim(), "ok");
}

#[test]
fn bfloat16_reads_what_ml_dtypes_writes_only_when_asked_for() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("bf16.npy");
    // ml_dtypes saves bfloat16 as the raw two-byte void '<V2'.
    let printed = python(
        "import sys, numpy as np, ml_dtypes\n\
         a = np.array([1.0, -0.5, np.inf, -0.0, 0.1, 3e38, 2.0**-133], dtype=ml_dtypes.bfloat16)\n\
         np.save(sys.argv[1], a)\n\
         print(a.dtype.str, ','.join(str(b) for b in a.view('<u2')))",
        &[s(&path)],
    );
    let (descr, numpy_bits) = printed.trim().split_once(' ').unwrap();
    assert_eq!(descr, "<V2");
    let numpy_bits: Vec<u16> = numpy_bits.split(',').map(|b| b.parse().unwrap()).collect();
    assert_eq!(ndarray_memmap::read_npy_header(&path).unwrap().descr, "<V2");
    let mapped = unsafe { Array1::<bf16>::open_npy(&path) }.unwrap();
    let bits: Vec<u16> = mapped.iter().map(|x| x.to_bits()).collect();
    assert_eq!(bits, numpy_bits);
    assert_eq!(&bits[..5], [0x3f80, 0xbf00, 0x7f80, 0x8000, 0x3dcd]);
    // Nothing says '<V2' is bfloat16 but the caller: the run-time path refuses.
    assert!(
        matches!(read_npy_any(&path), Err(Error::UnsupportedDtype { descr }) if descr == "<V2")
    );
    // Written here: numpy reads raw V2, and ml_dtypes' view restores the values.
    let ours = dir.path().join("ours.npy");
    write_npy(&ours, &mapped.to_owned()).unwrap();
    let verdict = python(
        "import sys, numpy as np, ml_dtypes\n\
         a = np.load(sys.argv[1])\n\
         assert a.dtype == np.dtype('V2'), a.dtype\n\
         b = a.view(ml_dtypes.bfloat16)\n\
         print(' '.join(str(float(x)) for x in b[:4]))",
        &[s(&ours)],
    );
    assert_eq!(verdict.trim(), "1.0 -0.5 inf -0.0");
    let back = read_npy::<bf16, IxDyn>(&ours).unwrap();
    assert_eq!(back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), bits);
    // Other two-byte types are not bfloat16.
    let other = dir.path().join("u2.npy");
    write_npy(&other, &ndarray::array![1u16]).unwrap();
    assert!(matches!(
        unsafe { MemmapOptions::new().open_npy::<bf16, Ix1>(&other) },
        Err(Error::DtypeMismatch { .. })
    ));
}

#[test]
fn float16_raw_files_map_in_every_mode_as_np_memmap_sees_them() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("f2.bin");
    let values: Array1<f16> = F16_BITS.iter().map(|&b| f16::from_bits(b)).collect();
    let mut created = unsafe { Array1::<f16>::create_raw(&path, F16_BITS.len()) }.unwrap();
    created.assign(&values);
    created.close().unwrap();
    let mut rw = unsafe { Array1::<f16>::open_raw_mut(&path, F16_BITS.len()) }.unwrap();
    rw[12] = f16::from_f32(-2.5);
    rw.close().unwrap();
    let mut cow = unsafe { Array1::<f16>::open_raw_copy(&path, F16_BITS.len()) }.unwrap();
    cow[0] = f16::ONE; // private: the file keeps 0.0
    drop(cow);
    let read = unsafe { Array1::<f16>::open_raw(&path, F16_BITS.len()) }.unwrap();
    assert_eq!(read[12], f16::from_f32(-2.5));
    let mut want = F16_BITS;
    want[12] = f16::from_f32(-2.5).to_bits();
    let numpy = python(
        "import sys, numpy as np\n\
         m = np.memmap(sys.argv[1], dtype='<f2', mode='r')\n\
         print(','.join(str(b) for b in m.view('<u2')))",
        &[s(&path)],
    );
    assert_eq!(numpy.trim(), bits_list(&want));
}

/// numpy's `astype('<f2')` of boundary values in every source dtype: each
/// midpoint between adjacent float16 values and its neighbours in the
/// source type, overflow to infinity, subnormals, signed zeros, NaN payloads
/// (quiet and signalling), and every integer up to past float16's range.
const FLOAT16_BOUNDARIES: &str = r#"
import sys
from pathlib import Path
import numpy as np
out = Path(sys.argv[1])
h = np.arange(0, 0x7C00, dtype=np.uint16).view(np.float16).astype(np.float64)
mids = np.concatenate([(h[:-1] + h[1:]) / 2, [65520.0]])  # exact in float32 too
def floats(dt, nan_bits, tiny):
    m = mids.astype(dt)
    vals = np.concatenate([np.nextafter(m, dt(-np.inf)), m, np.nextafter(m, dt(np.inf)), h.astype(dt)])
    vals = np.concatenate([vals, -vals, np.array([0.0, -0.0, np.inf, -np.inf, np.finfo(dt).max,
                                                  np.finfo(dt).tiny, tiny, -tiny], dtype=dt)])
    return np.concatenate([vals, np.array(nan_bits, dtype=vals.dtype.str.replace("f", "u")).view(dt)])
f8 = floats(np.float64, [0x7FF0000000000001, 0x7FF4000000000000, 0x7FF8000000000000,
                         0xFFF8000000000123, 0x7FFFFFFFFFFFFFFF, 0x7FF0040000000000], 2.0**-25 * (1 + 2.0**-30))
f4 = floats(np.float32, [0x7F800001, 0x7FA00000, 0x7FC00000, 0xFFC01234, 0x7FFFFFFF, 0x7F802000],
            np.nextafter(np.float32(2.0**-25), np.float32(1)))
ints = np.arange(-70000, 70000)
sources = {
    "f8": f8, "f4": f4, "c16": (f8 + 0.5j).astype("c16"), "c8": (f4 + 0.5j).astype("c8"),
    "b1": np.array([False, True]),
}
for d in ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8"]:
    info = np.iinfo(d)
    v = ints[(ints >= info.min) & (ints <= info.max)].astype(d)
    sources[d] = np.concatenate([v, np.array([info.min, info.max], dtype=d)])
for name, a in sources.items():
    np.save(out / f"src_{name}.npy", a)
    with np.errstate(all="ignore"):
        np.save(out / f"want_{name}.npy", a.astype("<f2").view("<u2"))
print(" ".join(sources))
"#;

#[test]
fn every_conversion_into_float16_is_numpys_correctly_rounded_astype() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let names = python(FLOAT16_BOUNDARIES, &[s(dir.path())]);
    let f2: ndarray_memmap::DType = "f2".parse().unwrap();
    for name in names.split_whitespace() {
        let source = read_npy_any(dir.path().join(format!("src_{name}.npy"))).unwrap();
        let want = read_npy::<u16, IxDyn>(dir.path().join(format!("want_{name}.npy"))).unwrap();
        let typed = source
            .to_owned_as_lossy::<f16>()
            .unwrap()
            .mapv(f16::to_bits);
        let by_dtype = source
            .to_dtype(f2, true)
            .unwrap()
            .into_typed::<f16, IxDyn>()
            .unwrap()
            .mapv(f16::to_bits);
        assert_eq!(
            typed, by_dtype,
            "{name}: to_owned_as_lossy and to_dtype differ"
        );
        let wrong: Vec<String> = typed
            .iter()
            .zip(&want)
            .enumerate()
            .filter(|(_, (ours, numpy))| ours != numpy)
            .take(5)
            .map(|(i, (ours, numpy))| format!("element {i}: ours {ours:#06x}, numpy {numpy:#06x}"))
            .collect();
        assert!(
            wrong.is_empty(),
            "{name} -> float16 differs from numpy:\n{}",
            wrong.join("\n")
        );
        assert!(typed.len() > 1 || name == "b1");
    }
}
