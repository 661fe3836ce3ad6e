//! Raw (header-less) files: modes, offsets, shapes, orders and element types.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use crate::common::{f32_bytes, file_len, tempdir};
use ndarray::{array, s, Array1, Array2, Array3, ArrayD, Axis, Ix0, Ix1, Ix2, IxDyn, Zip};
use ndarray_memmap::{
    Advice, Error, Memmap, MemmapExt, MemmapMut, MemmapOptions, Mode, Order, Populate,
};
use num_complex::Complex;

#[test]
fn create_zero_fills_and_sizes_the_file_exactly() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    let fp = unsafe {
        MemmapOptions::new()
            .shape((5, 7))
            .offset(24)
            .create_raw::<f64, Ix2>(&path)
    }
    .unwrap();
    assert!(fp.iter().all(|&x| x == 0.0));
    assert_eq!(file_len(&path), 24 + 5 * 7 * 8);
    assert_eq!(fp.nbytes(), 280);
}

#[test]
fn create_truncates_an_existing_longer_file() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, vec![0xAB; 1000]).unwrap();
    let fp = unsafe { Array1::<u8>::create_raw(&path, 10) }.unwrap();
    assert_eq!(fp.to_vec(), vec![0; 10]);
    drop(fp);
    assert_eq!(std::fs::read(&path).unwrap(), vec![0; 10]);
}

#[test]
fn create_with_offset_leaves_a_zero_gap_before_the_data() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    let mut fp = unsafe {
        MemmapOptions::new()
            .shape(3)
            .offset(4100)
            .create_raw::<u32, Ix1>(&path)
    }
    .unwrap();
    fp.assign(&array![1, 2, 3]);
    fp.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 4112);
    assert!(bytes[..4100].iter().all(|&b| b == 0));
    assert_eq!(
        &bytes[4100..],
        &[1u32, 2, 3].map(u32::to_ne_bytes).concat()[..]
    );
}

#[test]
fn read_write_extends_a_short_file_with_zeros_and_never_shrinks() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, [1u8, 2, 3]).unwrap();
    let fp = unsafe { Array1::<u8>::open_raw_mut(&path, 6) }.unwrap();
    assert_eq!(fp.to_vec(), vec![1, 2, 3, 0, 0, 0]);
    drop(fp);
    assert_eq!(file_len(&path), 6);
    let small = unsafe { Array1::<u8>::open_raw_mut(&path, 2) }.unwrap();
    assert_eq!(small.to_vec(), vec![1, 2]);
    drop(small);
    assert_eq!(file_len(&path), 6);
}

#[test]
fn read_write_changes_reach_the_file_without_flush() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, f32_bytes([0.0; 4])).unwrap();
    let mut fp = unsafe { Array1::<f32>::open_raw_mut(&path, 4) }.unwrap();
    fp[2] = 2.5;
    // Shared mappings are the page cache: a plain read sees the write at once.
    assert_eq!(
        std::fs::read(&path).unwrap(),
        f32_bytes([0.0, 0.0, 2.5, 0.0])
    );
    drop(fp);
}

#[test]
fn copy_on_write_changes_memory_but_never_the_file() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    let original = f32_bytes((0..8).map(|i| i as f32));
    std::fs::write(&path, &original).unwrap();
    let reader = unsafe { Array1::<f32>::open_raw(&path, 8) }.unwrap();
    let mut cow = unsafe { Array1::<f32>::open_raw_copy(&path, 8) }.unwrap();
    cow.fill(-1.0);
    cow.flush().unwrap(); // a no-op, as in numpy
    reader.flush().unwrap(); // so is flushing a read-only map
    assert_eq!(cow.sum(), -8.0);
    assert_eq!(reader.sum(), 28.0);
    cow.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), original);
    assert_eq!(file_len(&path), 32);
}

#[test]
fn shape_is_inferred_as_one_dimension_from_file_length_and_offset() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    std::fs::write(&path, f32_bytes((0..12).map(|i| i as f32))).unwrap();
    let all = unsafe { MemmapOptions::new().open_raw::<f32, Ix1>(&path) }.unwrap();
    assert_eq!(all.len(), 12);
    let dynamic = unsafe { MemmapOptions::new().offset(8).open_raw::<f32, IxDyn>(&path) }.unwrap();
    assert_eq!(dynamic.shape(), &[10]);
    let at_end = unsafe { MemmapOptions::new().offset(48).open_raw::<f32, Ix1>(&path) }.unwrap();
    assert_eq!(at_end.len(), 0);
}

#[test]
fn offsets_that_are_not_page_multiples_map_at_the_exact_byte() {
    let dir = tempdir();
    let path = dir.path().join("a.bin");
    let values: Vec<u32> = (0..4096).collect();
    std::fs::write(
        &path,
        values
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for offset in [4, 4092, 4096, 4100, 8188] {
        let fp = unsafe {
            MemmapOptions::new()
                .offset(offset)
                .shape(2)
                .open_raw::<u32, Ix1>(&path)
        }
        .unwrap();
        let first = (offset / 4) as u32;
        assert_eq!(fp.to_vec(), vec![first, first + 1], "offset {offset}");
    }
}

#[test]
fn offsets_above_four_gib_work_on_sparse_files() {
    let dir = tempdir();
    let path = dir.path().join("big.bin");
    let offset = 5u64 << 30;
    {
        let mut fp = unsafe {
            MemmapOptions::new()
                .shape((2, 3))
                .offset(offset + 8)
                .create_raw::<i64, Ix2>(&path)
        }
        .unwrap();
        fp.assign(&array![[1, 2, 3], [4, 5, 6]]);
        fp.close().unwrap();
    }
    assert_eq!(file_len(&path), offset + 8 + 48);
    let fp = unsafe {
        MemmapOptions::new()
            .offset(offset)
            .open_raw::<i64, Ix1>(&path)
    }
    .unwrap();
    assert_eq!(fp.to_vec(), vec![0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(fp.offset(), offset);
}

#[test]
fn fortran_order_stores_columns_contiguously() {
    let dir = tempdir();
    let path = dir.path().join("f.bin");
    let mut fp = unsafe {
        MemmapOptions::new()
            .shape((2, 3))
            .order(Order::Fortran)
            .create_raw::<i32, Ix2>(&path)
    }
    .unwrap();
    fp.assign(&array![[1, 2, 3], [4, 5, 6]]);
    assert_eq!(fp.strides(), &[1, 2]);
    assert_eq!(fp.order(), Order::Fortran);
    fp.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, [1i32, 4, 2, 5, 3, 6].map(i32::to_ne_bytes).concat());
    // Reopened with the other order, the same bytes read as the transpose.
    let c = unsafe { Array2::<i32>::open_raw(&path, (3, 2)) }.unwrap();
    assert_eq!(c.view(), array![[1, 4], [2, 5], [3, 6]]);
}

#[test]
fn zero_size_arrays_keep_their_shape_and_need_no_mapping() {
    let dir = tempdir();
    let path = dir.path().join("z.bin");
    let fp = unsafe {
        MemmapOptions::new()
            .shape((0, 5))
            .create_raw::<f64, Ix2>(&path)
    }
    .unwrap();
    assert_eq!(fp.shape(), &[0, 5]);
    assert_eq!(fp.sum(), 0.0);
    // The pointer of an empty view is still aligned and non-null.
    assert_eq!(fp.as_ptr() as usize % std::mem::align_of::<f64>(), 0);
    drop(fp);
    assert_eq!(file_len(&path), 0);
    // An empty file opened read-only with an inferred shape is an empty array
    // (numpy raises "cannot mmap an empty file").
    let empty = unsafe { MemmapOptions::new().open_raw::<f64, Ix1>(&path) }.unwrap();
    assert!(empty.is_empty());
    let kept = unsafe { Array2::<f64>::open_raw(&path, (0, 5)) }.unwrap();
    assert_eq!(kept.shape(), &[0, 5]);
}

#[test]
fn zero_dimensional_arrays_hold_one_element() {
    let dir = tempdir();
    let path = dir.path().join("scalar.bin");
    let mut fp = unsafe { MemmapOptions::new().shape(()).create_raw::<u16, Ix0>(&path) }.unwrap();
    fp[()] = 513;
    fp.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), 513u16.to_ne_bytes());
    let back = unsafe {
        MemmapOptions::new()
            .shape(Vec::<usize>::new())
            .open_raw::<u16, IxDyn>(&path)
    }
    .unwrap();
    assert_eq!(back.ndim(), 0);
    assert_eq!(back[IxDyn(&[])], 513);
}

#[test]
fn booleans_open_only_when_every_byte_is_zero_or_one() {
    let dir = tempdir();
    let path = dir.path().join("b.bin");
    std::fs::write(&path, [0u8, 1, 1, 0]).unwrap();
    let ok = unsafe { Array1::<bool>::open_raw(&path, 4) }.unwrap();
    assert_eq!(ok.to_vec(), vec![false, true, true, false]);
    drop(ok);
    std::fs::write(&path, [0u8, 1, 2, 0]).unwrap();
    for mode in [Mode::ReadOnly, Mode::ReadWrite, Mode::CopyOnWrite] {
        let options = MemmapOptions::new();
        let result = match mode {
            Mode::ReadOnly => unsafe { options.open_raw::<bool, Ix1>(&path) }.map(drop),
            Mode::ReadWrite => unsafe { options.open_raw_mut::<bool, Ix1>(&path) }.map(drop),
            _ => unsafe { options.open_raw_copy::<bool, Ix1>(&path) }.map(drop),
        };
        match result {
            Err(Error::InvalidValue {
                path: Some(p),
                element,
                index,
                found,
            }) => {
                assert_eq!((element, index, found), ("bool", 2, vec![2]));
                assert_eq!(p, std::path::absolute(&path).unwrap());
            }
            other => panic!("{mode}: {other:?}"),
        }
    }
}

#[test]
fn complex_numbers_are_real_imaginary_pairs() {
    let dir = tempdir();
    let path = dir.path().join("c.bin");
    let mut fp = unsafe { Array1::<Complex<f64>>::create_raw(&path, 2) }.unwrap();
    fp.assign(&array![Complex::new(1.0, 2.0), Complex::new(3.0, -4.0)]);
    fp.close().unwrap();
    let as_floats = unsafe { Array1::<f64>::open_raw(&path, 4) }.unwrap();
    assert_eq!(as_floats.to_vec(), vec![1.0, 2.0, 3.0, -4.0]);
}

#[test]
fn every_integer_and_float_type_round_trips() {
    fn round_trip<A>(values: [A; 3])
    where
        A: ndarray_memmap::Element + Copy + PartialEq + std::fmt::Debug,
    {
        let dir = tempdir();
        let path = dir.path().join("t.bin");
        let mut fp = unsafe { Array1::<A>::create_raw(&path, 3) }.unwrap();
        fp.assign(&Array1::from(values.to_vec()));
        fp.close().unwrap();
        let back = unsafe { Array1::<A>::open_raw(&path, 3) }.unwrap();
        assert_eq!(back.to_vec(), values.to_vec());
    }
    round_trip([i8::MIN, 0, i8::MAX]);
    round_trip([0u8, 1, u8::MAX]);
    round_trip([i16::MIN, 0, i16::MAX]);
    round_trip([0u16, 1, u16::MAX]);
    round_trip([i32::MIN, 0, i32::MAX]);
    round_trip([0u32, 1, u32::MAX]);
    round_trip([i64::MIN, 0, i64::MAX]);
    round_trip([0u64, 1, u64::MAX]);
    round_trip([f32::MIN, -0.0, f32::INFINITY]);
    round_trip([f64::MIN_POSITIVE, 1e300, f64::NEG_INFINITY]);
    round_trip([
        Complex::new(1.0f32, -1.0),
        Complex::new(0.0, 0.0),
        Complex::new(2.5, 3.5),
    ]);
}

#[test]
fn ordinary_ndarray_algorithms_work_on_guards() {
    let dir = tempdir();
    let a_path = dir.path().join("a.bin");
    let b_path = dir.path().join("b.bin");
    let mut a = unsafe { Array2::<f64>::create_raw(&a_path, (3, 3)) }.unwrap();
    a.assign(&Array2::from_shape_fn((3, 3), |(i, j)| (i * 3 + j) as f64));
    let mut b = unsafe { Array2::<f64>::create_raw(&b_path, (3, 3)) }.unwrap();
    b.assign(&Array2::eye(3));
    let in_memory = a.to_owned();
    assert_eq!(a.dot(&*b), in_memory);
    assert_eq!(a.sum_axis(Axis(0)), array![9.0, 12.0, 15.0]);
    Zip::from(&mut *b).and(&*a).for_each(|b, &a| *b += a);
    assert_eq!(b.diag().to_vec(), vec![1.0, 5.0, 9.0]);
    assert_eq!(a.iter().copied().fold(f64::MIN, f64::max), 8.0);
    assert_eq!(a.slice(s![.., 1]).to_vec(), vec![1.0, 4.0, 7.0]);
    let doubled = &*a * 2.0;
    assert_eq!(doubled[[2, 2]], 16.0);
}

#[test]
fn guards_report_numpys_attributes_and_debug_shows_no_data() {
    let dir = tempdir();
    let path = dir.path().join("attrs.bin");
    let fp = unsafe {
        MemmapOptions::new()
            .shape((2, 2))
            .offset(8)
            .order(Order::Fortran)
            .create_raw::<u64, Ix2>(&path)
    }
    .unwrap();
    assert_eq!(
        fp.path(),
        Some(std::path::absolute(&path).unwrap().as_path())
    );
    assert_eq!(
        (fp.offset(), fp.mode(), fp.order()),
        (8, Mode::Create, Order::Fortran)
    );
    let debug = format!("{fp:?}");
    for fragment in [
        "MemmapMut",
        "attrs.bin",
        "u64",
        "[2, 2]",
        "Fortran",
        "Create",
        "offset: 8",
    ] {
        assert!(debug.contains(fragment), "{debug}");
    }
    assert!(!debug.contains("0, 0"), "{debug}");
}

#[test]
fn chunks_visit_every_row_once_in_order() {
    let dir = tempdir();
    let path = dir.path().join("rows.bin");
    let mut fp = unsafe { Array2::<u32>::create_raw(&path, (10, 3)) }.unwrap();
    fp.assign(&Array2::from_shape_fn((10, 3), |(i, _)| i as u32));
    let firsts: Vec<Vec<u32>> = fp.chunks(4).map(|chunk| chunk.column(0).to_vec()).collect();
    assert_eq!(firsts, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]);
    assert_eq!(fp.chunks(0).count(), 10);
    let prefetched: Vec<Vec<u32>> = fp
        .chunks(4)
        .prefetch(true)
        .map(|chunk| chunk.column(0).to_vec())
        .collect();
    assert_eq!(prefetched, firsts);
    drop(fp);
    let reader = unsafe { Array2::<u32>::open_raw(&path, (10, 3)) }.unwrap();
    let total: u32 = reader.chunks(3).map(|chunk| chunk.sum()).sum();
    assert_eq!(total, reader.sum());
    let scalar = MemmapOptions::new()
        .shape(Vec::<usize>::new())
        .scratch::<u8, IxDyn>()
        .unwrap();
    assert_eq!(scalar.chunks(1).count(), 0);
}

#[test]
fn every_access_hint_is_accepted_where_sound() {
    let dir = tempdir();
    let path = dir.path().join("hints.bin");
    std::fs::write(&path, vec![0u8; 1 << 16]).unwrap();
    let reader = unsafe {
        MemmapOptions::new()
            .advice(Advice::Sequential)
            .populate(Populate::AtOpen)
            .open_raw::<u8, Ix1>(&path)
    }
    .unwrap();
    for advice in [
        Advice::Normal,
        Advice::Sequential,
        Advice::Random,
        Advice::WillNeed,
        Advice::DontNeed,
    ] {
        reader.advise(advice).unwrap();
        reader.advise_rows(advice, 100..2000).unwrap();
    }
    assert_eq!(reader.sum(), 0);
    drop(reader);
    let mut cow = unsafe { MemmapOptions::new().open_raw_copy::<u8, Ix1>(&path) }.unwrap();
    cow[0] = 7;
    match cow.advise(Advice::DontNeed) {
        Err(Error::UnsoundAdvice { advice }) => assert_eq!(advice, Advice::DontNeed),
        other => panic!("{other:?}"),
    }
    assert_eq!(cow[0], 7);
}

#[test]
fn scratch_arrays_are_safe_disk_backed_memory() {
    let mut scratch = Array3::<f32>::scratch((4, 5, 6)).unwrap();
    assert_eq!(scratch.path(), None);
    scratch.fill(0.5);
    assert_eq!(scratch.sum(), 60.0);
    scratch.flush().unwrap();
    let fortran = MemmapOptions::new()
        .shape((2, 3))
        .order(Order::Fortran)
        .scratch::<u8, Ix2>()
        .unwrap();
    assert_eq!(fortran.strides(), &[1, 2]);
}

#[test]
fn from_mmap_views_a_mapping_made_by_the_caller() {
    let dir = tempdir();
    let path = dir.path().join("user.bin");
    std::fs::write(&path, f32_bytes([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let mmap = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    let view = Memmap::<f32, Ix2>::from_mmap(mmap, 4, (2, 3), Order::C).unwrap();
    assert_eq!(view.view(), array![[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]]);
    assert_eq!(view.path(), None);

    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let mmap = unsafe { memmap2::MmapMut::map_mut(&file) }.unwrap();
    let mut writable = MemmapMut::<f32, Ix1>::from_mmap(mmap, 0, 2, Order::C).unwrap();
    writable[1] = 20.0;
    writable.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap()[4..8], 20f32.to_ne_bytes());
}

#[test]
fn dynamic_dimension_accepts_any_rank() {
    let dir = tempdir();
    let path = dir.path().join("d.bin");
    let mut fp = unsafe { ArrayD::<i16>::create_raw(&path, IxDyn(&[2, 1, 3, 1])) }.unwrap();
    fp.fill(3);
    assert_eq!(fp.ndim(), 4);
    assert_eq!(fp.sum(), 18);
}
