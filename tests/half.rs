//! Half-precision elements against numpy (`float16`) and ml_dtypes
//! (`bfloat16`), bit for bit: NaN payloads, infinities, signed zeros,
//! subnormals; both ways; both byte orders.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]
#![cfg(feature = "half")]

mod common;

use common::{python, s, tempdir};
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
        Err(Error::ByteOrder { found }) if found == ">f2"
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
