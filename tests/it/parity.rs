//! What ndarray-npy users reach for, here too: `.npy` through any
//! `Read`/`Write`, views of `.npy` bytes in memory, maps of a `File` the
//! caller has open; and numpy's `fromfile`. Compared with numpy itself.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use crate::common;

use crate::common::{python, s, tempdir};
use ndarray::{Array1, Array2, ArrayD, Ix1, Ix2, IxDyn, ShapeBuilder};
use ndarray_memmap::{
    read_npy, read_npy_from, read_npy_header, view_npy, view_npy_mut, write_npy, write_npy_to,
    Error, MemmapExt, MemmapOptions,
};

fn table() -> Array2<f64> {
    Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64 - 2.5)
}

#[test]
fn write_npy_to_gives_np_saves_bytes_and_read_npy_from_reads_numpys() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let c = table();
    let mut f = Array2::<f64>::zeros((3, 4).f());
    f.assign(&c);
    for (name, array) in [("c", &c), ("f", &f)] {
        let mut ours = Vec::new();
        write_npy_to(&mut ours, array).unwrap();
        let path = dir.path().join(format!("{name}.npy"));
        python(
            "import sys, numpy as np\n\
             a = (np.arange(12, dtype='<f8') - 2.5).reshape(3, 4)\n\
             np.save(sys.argv[1], a if sys.argv[2] == 'c' else np.asfortranarray(a))",
            &[s(&path), name],
        );
        let numpys = std::fs::read(&path).unwrap();
        assert_eq!(ours, numpys, "{name}: bytes differ from np.save");
        let from_file = read_npy_from::<f64, Ix2>(std::fs::File::open(&path).unwrap()).unwrap();
        let from_bytes = read_npy_from::<f64, Ix2>(numpys.as_slice()).unwrap();
        assert_eq!((&from_file, &from_bytes), (&c, &c));
    }
}

#[test]
fn read_npy_from_swaps_big_endian_and_names_a_short_stream() {
    let mut bytes = ndarray_memmap::NpyHeader::format(">i2", false, &[3]);
    bytes.extend([0, 1, 1, 0, 0xff, 0xfe]);
    let values = read_npy_from::<i16, Ix1>(bytes.as_slice()).unwrap();
    assert_eq!(values.to_vec(), [1, 256, -2]);
    match read_npy_from::<i16, Ix1>(&bytes[..bytes.len() - 3]) {
        Err(err @ Error::FileTooShort { .. }) => {
            let message = err.to_string();
            assert!(message.starts_with("<reader>"), "{message}");
            assert!(
                message.contains("it holds 3 bytes of data, 1 of the 3 elements"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn views_of_npy_bytes_see_numpys_data_and_write_through() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    python(
        "import sys, numpy as np\n\
         np.save(sys.argv[1], np.asfortranarray((np.arange(12, dtype='<f8') - 2.5).reshape(3, 4)))",
        &[s(&path)],
    );
    let file = std::fs::read(&path).unwrap();
    // An 8-byte-aligned buffer, as a mapping or an allocator gives.
    let mut words = vec![0u64; file.len().div_ceil(8)];
    let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..file.len()];
    bytes.copy_from_slice(&file);
    assert_eq!(view_npy::<f64, Ix2>(bytes).unwrap(), table());
    view_npy_mut::<f64, Ix2>(bytes).unwrap()[[2, 3]] = 100.0;
    std::fs::write(&path, &*bytes).unwrap();
    let last = python(
        "import sys, numpy as np\nprint(np.load(sys.argv[1])[2, 3])",
        &[s(&path)],
    );
    assert_eq!(last.trim(), "100.0");
}

#[test]
fn read_raw_matches_np_fromfile_at_any_offset_in_either_byte_order() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("raw.bin");
    // Three bytes of something else, then big-endian int32 data: a map must
    // refuse both the offset and the byte order.
    let printed = python(
        "import sys, numpy as np\n\
         a = (np.arange(6, dtype='>i4') - 3) * 70000\n\
         with open(sys.argv[1], 'wb') as f:\n\
         \x20   f.write(b'abc')\n\
         \x20   a.tofile(f)\n\
         print(' '.join(map(str, np.fromfile(sys.argv[1], dtype='>i4', offset=3))))",
        &[s(&path)],
    );
    let numpys: Vec<i32> = printed
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let mut options = MemmapOptions::new();
    options.offset(3).dtype(">i4".parse().unwrap());
    let inferred = options.read_raw::<i32, Ix1>(&path).unwrap();
    assert_eq!(inferred.to_vec(), numpys);
    let shaped = options
        .clone()
        .shape((2, 3))
        .order(ndarray_memmap::Order::Fortran)
        .read_raw::<i32, Ix2>(&path)
        .unwrap();
    assert_eq!(
        shaped,
        Array2::from_shape_vec((2, 3).f(), numpys.clone()).unwrap()
    );
    // A map of the same bytes is refused, and says where to go.
    match unsafe { MemmapOptions::new().offset(3).open_raw::<i32, Ix1>(&path) } {
        Err(err @ Error::Misaligned { .. }) => assert!(err.to_string().contains("read_raw")),
        other => panic!("{other:?}"),
    }
    // A dtype that is not i32's in either order is named.
    options.dtype("<f4".parse().unwrap());
    assert!(matches!(
        options.read_raw::<i32, Ix1>(&path),
        Err(Error::DtypeMismatch { found, .. }) if found == "<f4"
    ));
}

#[test]
fn a_lent_file_maps_and_its_lock_ends_with_the_guard() {
    let dir = tempdir();
    let path = dir.path().join("lent.bin");
    std::fs::write(&path, [0u8; 32]).unwrap();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let mut options = MemmapOptions::new();
    options.shape(8);
    let mut guard = unsafe { options.open_raw_file_mut::<u32, Ix1>(&file) }.unwrap();
    guard[7] = 7;
    assert_eq!(
        guard.path(),
        Some(std::fs::canonicalize(&path).unwrap().as_path())
    );
    // The registry knows the file by its inode, whatever path reaches it.
    assert!(matches!(
        unsafe { Array1::<u32>::open_raw(&path, 8) },
        Err(Error::AlreadyMapped { .. })
    ));
    guard.close().unwrap();
    // The caller's `File` is still open, and its open file description
    // still exists; the guard's exclusive lock must not outlive the guard.
    let mut quick = MemmapOptions::new();
    quick
        .shape(8)
        .lock_wait(std::time::Duration::from_millis(0));
    let again = unsafe { quick.open_raw_mut::<u32, Ix1>(&path) }.unwrap();
    assert_eq!(again[7], 7);
    drop(again);
    // A read-only lent file cannot be mapped for writing: the system says so.
    let read_only = std::fs::File::open(&path).unwrap();
    assert!(matches!(
        unsafe { options.open_raw_file_mut::<u32, Ix1>(&read_only) },
        Err(Error::Io { .. })
    ));
    let view = unsafe { options.open_raw_file::<u32, Ix1>(&read_only) }.unwrap();
    assert_eq!(view[7], 7);
}

#[test]
fn a_lent_npy_file_maps_like_a_path() {
    let dir = tempdir();
    let path = dir.path().join("lent.npy");
    write_npy(&path, &table()).unwrap();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let options = MemmapOptions::new();
    let mut guard = unsafe { options.open_npy_file_mut::<f64, Ix2>(&file) }.unwrap();
    guard[[0, 0]] = 9.0;
    drop(guard);
    let read = unsafe { options.open_npy_file::<f64, Ix2>(&file) }.unwrap();
    assert_eq!(read[[0, 0]], 9.0);
    // The header was read without moving the caller's file position.
    use std::io::Seek;
    assert_eq!((&file).stream_position().unwrap(), 0);
    drop(read);
    assert_eq!(read_npy::<f64, Ix2>(&path).unwrap()[[0, 0]], 9.0);
}

#[test]
fn lent_files_map_copy_on_write_and_never_change() {
    let dir = tempdir();
    let npy = dir.path().join("lent_copy.npy");
    write_npy(&npy, &table()).unwrap();
    let before = std::fs::read(&npy).unwrap();
    let file = std::fs::File::open(&npy).unwrap(); // read-only is enough for 'c'
    let options = MemmapOptions::new();
    let mut private = unsafe { options.open_npy_file_copy::<f64, Ix2>(&file) }.unwrap();
    assert_eq!(private.mode(), ndarray_memmap::Mode::CopyOnWrite);
    private[[0, 0]] = -1.0;
    assert_eq!(private[[0, 0]], -1.0);
    drop(private);
    let raw = unsafe {
        MemmapOptions::new()
            .offset(128)
            .open_raw_file_copy::<f64, Ix1>(&file)
    };
    let mut raw = raw.unwrap();
    raw[0] = -2.0;
    drop(raw);
    assert_eq!(
        std::fs::read(&npy).unwrap(),
        before,
        "a copy-on-write map changed the file"
    );
}

#[test]
fn chunks_mut_fills_a_file_block_by_block_and_into_dyn_keeps_it() {
    let dir = tempdir();
    let path = dir.path().join("filled.npy");
    let mut guard = unsafe { Array2::<u32>::create_npy(&path, (10, 3)) }.unwrap();
    let mut first_rows = Vec::new();
    let mut row = 0;
    for mut block in guard.chunks_mut(4) {
        first_rows.push(row);
        for mut r in block.rows_mut() {
            r.fill(row);
            row += 1;
        }
    }
    assert_eq!(first_rows, [0, 4, 8]);
    let dynamic = guard.into_dyn();
    assert_eq!(dynamic.shape(), &[10, 3]);
    dynamic.close().unwrap();
    let back = read_npy::<u32, IxDyn>(&path).unwrap();
    assert_eq!(
        back,
        ArrayD::from_shape_fn(IxDyn(&[10, 3]), |i| i[0] as u32)
    );
}

#[test]
fn numpys_structured_and_string_headers_are_read_and_only_mapping_refuses() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let printed = python(
        "import sys, numpy as np, os\n\
         d = sys.argv[1]\n\
         dts = {'rec': np.dtype([('x', '<f4'), ('pos', '<f4', (3,)), ('id', '<u8')]),\n\
         \x20      'aligned': np.dtype([('a', 'u1'), ('b', '<f8')], align=True),\n\
         \x20      'bytes': np.dtype('S5'), 'text': np.dtype('<U3')}\n\
         for name, dt in dts.items():\n\
         \x20   np.save(os.path.join(d, name + '.npy'), np.zeros((2, 3), dtype=dt))\n\
         \x20   print(name, repr(np.lib.format.dtype_to_descr(dt)) if dt.names else dt.str)",
        &[s(dir.path())],
    );
    for line in printed.lines() {
        let (name, descr) = line.split_once(' ').unwrap();
        let path = dir.path().join(format!("{name}.npy"));
        let header = read_npy_header(&path).unwrap();
        assert_eq!(header.descr, descr, "{name}");
        assert_eq!(header.shape, [2, 3], "{name}");
        match unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&path) } {
            Err(Error::UnsupportedDtype { descr: found }) => assert_eq!(found, descr),
            other => panic!("{name}: {other:?}"),
        }
    }
}
