//! Every example of numpy.memmap's documentation, in Rust.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use crate::common::{f32_bytes, tempdir};
use ndarray::{s, Array2, Ix1, Ix2};
use ndarray_memmap::{MemmapExt, MemmapOptions, Mode};

fn data() -> Array2<f32> {
    Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32)
}

#[test]
fn numpy_memmap_docstring_walkthrough() {
    let dir = tempdir();
    let filename = dir.path().join("newfile.dat");

    // fp = np.memmap(filename, dtype='float32', mode='w+', shape=(3,4))
    let mut fp = unsafe { Array2::<f32>::create_raw(&filename, (3, 4)) }.unwrap();
    assert_eq!(fp.view(), Array2::<f32>::zeros((3, 4)));
    assert_eq!(fp.mode(), Mode::Create);

    // fp[:] = data[:]
    fp.assign(&data());
    assert_eq!(fp.view(), data());

    // fp.filename == path.abspath(filename)
    assert_eq!(fp.path().unwrap(), std::path::absolute(&filename).unwrap());
    assert!(fp.path().unwrap().is_absolute());

    // fp.flush(); del fp
    fp.flush().unwrap();
    drop(fp);
    assert_eq!(
        std::fs::read(&filename).unwrap(),
        f32_bytes((0..12).map(|i| i as f32))
    );

    // newfp = np.memmap(filename, dtype='float32', mode='r', shape=(3,4))
    let newfp = unsafe { Array2::<f32>::open_raw(&filename, (3, 4)) }.unwrap();
    assert_eq!(newfp.view(), data());

    // fpr = np.memmap(filename, dtype='float32', mode='r', shape=(3,4)): read-only
    // (fpr[0, :] = 0 does not compile; see the compile_fail doctest on Memmap's module).
    let fpr = unsafe { Array2::<f32>::open_raw(&filename, (3, 4)) }.unwrap();
    assert_eq!(fpr.mode(), Mode::ReadOnly);

    // fpc = np.memmap(filename, dtype='float32', mode='c', shape=(3,4)); fpc[0,:] = 0
    let mut fpc = unsafe { Array2::<f32>::open_raw_copy(&filename, (3, 4)) }.unwrap();
    fpc.row_mut(0).fill(0.0);
    let mut expected = data();
    expected.row_mut(0).fill(0.0);
    assert_eq!(fpc.view(), expected);
    // ... and the file is unchanged: fpr still shows the original data.
    assert_eq!(fpr.view(), data());
    drop(fpc);
    assert_eq!(
        std::fs::read(&filename).unwrap(),
        f32_bytes((0..12).map(|i| i as f32))
    );

    // fpo = np.memmap(filename, dtype='float32', mode='r', offset=16)
    let fpo = unsafe {
        MemmapOptions::new()
            .offset(16)
            .open_raw::<f32, Ix1>(&filename)
    }
    .unwrap();
    assert_eq!(fpo.to_vec(), (4..12).map(|i| i as f32).collect::<Vec<_>>());
    assert_eq!(fpo.offset(), 16);
}

#[test]
fn slices_of_a_writable_map_write_through_to_the_file() {
    let dir = tempdir();
    let filename = dir.path().join("slice.dat");
    let mut fp = unsafe { Array2::<f32>::create_raw(&filename, (3, 4)) }.unwrap();
    fp.slice_mut(s![1.., ..;2]).fill(9.0);
    fp.close().unwrap();
    let back = unsafe {
        MemmapOptions::new()
            .shape((3, 4))
            .open_raw::<f32, Ix2>(&filename)
    }
    .unwrap();
    assert_eq!(back.row(1).to_vec(), vec![9.0, 0.0, 9.0, 0.0]);
    assert_eq!(back.row(2).to_vec(), vec![9.0, 0.0, 9.0, 0.0]);
    assert_eq!(back.row(0).sum(), 0.0);
}
