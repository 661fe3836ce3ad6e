//! Arrays that grow: appending, resizing and truncating mapped `.npy` and
//! raw files, against numpy's bytes and npy-append-array both ways; headers
//! without room; the streaming writer; locks through remaps; SIGKILL at
//! random moments; and random operation sequences against a `Vec` model.
// Every file these tests map is a private temporary file that nothing else
// touches, which is the whole of the mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use crate::common::{child_role, python, s, tempdir, Snapshot};
use ndarray::{array, s as sl, Array1, Array2, Axis, Ix2, ShapeBuilder};
use ndarray_memmap::{
    read_npy, read_npy_header, rewrite_npy_with_room, write_npy, Error, Growth, MemmapExt,
    MemmapOptions, NpyHeader, NpyWriter, Order,
};

/// Row `i` of the test arrays: `[i, i + 0.5, -i]`.
fn row(i: usize) -> Array2<f64> {
    let i = i as f64;
    array![[i, i + 0.5, -i]]
}

/// A new, empty growing `.npy` file of rows of three `f64`.
fn new_log(path: &Path) -> ndarray_memmap::Growable<f64, Ix2> {
    unsafe { Array2::<f64>::create_npy(path, (0, 3)) }
        .unwrap()
        .into_growable()
        .unwrap()
}

fn expected(rows: usize) -> Array2<f64> {
    let mut out = Array2::zeros((rows, 3));
    for (i, mut r) in out.rows_mut().into_iter().enumerate() {
        r.assign(&row(i).row(0));
    }
    out
}

/// Whether `path` holds exactly `np.save`'s bytes for the array numpy loads from it.
fn is_np_save_identical(path: &Path) -> bool {
    python(
        r#"
import io, sys
import numpy as np
a = np.load(sys.argv[1])
b = io.BytesIO(); np.save(b, a)
print(open(sys.argv[1], "rb").read() == b.getvalue())
"#,
        &[s(path)],
    )
    .trim()
        == "True"
}

#[test]
fn appended_rows_give_np_saves_bytes_in_c_and_fortran_order() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    // C order: rows along axis 0, one at a time (many capacity steps).
    let c = dir.path().join("c.npy");
    let mut log = new_log(&c);
    for i in 0..5000 {
        log.append(&row(i)).unwrap();
    }
    assert_eq!(log.view(), expected(5000).view());
    assert!(log.capacity() >= 5000);
    log.close().unwrap();
    assert_eq!(read_npy::<f64, Ix2>(&c).unwrap(), expected(5000));
    assert!(is_np_save_identical(&c));

    // Fortran order: the last axis grows, as in numpy's slack rule.
    let f = dir.path().join("f.npy");
    let mut options = MemmapOptions::new();
    options.shape((3, 2)).order(Order::Fortran);
    let mut cols = unsafe { options.create_npy::<i32, Ix2>(&f) }
        .unwrap()
        .into_growable()
        .unwrap();
    assert_eq!(cols.axis(), Axis(1));
    cols.view_mut().assign(&array![[1, 4], [2, 5], [3, 6]]);
    for k in 0..100 {
        cols.append(&array![[k], [k + 1], [k + 2]]).unwrap();
    }
    cols.close().unwrap();
    let back = read_npy::<i32, Ix2>(&f).unwrap();
    assert_eq!(back.dim(), (3, 102));
    assert_eq!(back.column(101).to_vec(), [99, 100, 101]);
    assert!(read_npy_header(&f).unwrap().fortran_order);
    assert!(is_np_save_identical(&f));
}

#[test]
fn resize_truncate_and_reserve_never_show_stale_rows() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    let mut a = new_log(&path);
    for i in 0..10 {
        a.append(&row(i)).unwrap();
    }
    a.truncate(4).unwrap();
    assert_eq!(read_npy_header(&path).unwrap().shape, [4, 3]);
    a.resize(8).unwrap();
    assert_eq!(a.slice(sl![..4, ..]), expected(4));
    assert!(
        a.slice(sl![4.., ..]).iter().all(|&x| x == 0.0),
        "stale rows shown"
    );
    a.reserve(1000).unwrap();
    assert!(a.capacity() >= 1008);
    a.shrink_to_fit().unwrap();
    assert_eq!(a.capacity(), 8);
    assert_eq!(common::file_len(&path), 128 + 8 * 24);
    drop(a); // drop trims too
    assert_eq!(read_npy::<f64, Ix2>(&path).unwrap().nrows(), 8);
}

#[test]
fn resize_over_garbage_past_the_data_shows_zeros() {
    // A bool array whose file goes on with bytes that are not bools: a
    // resize must write zeros over them before the view shows them.
    let dir = tempdir();
    let path = dir.path().join("flags.npy");
    write_npy(&path, &Array1::from(vec![true, false, true])).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend([7u8, 9, 255]);
    std::fs::write(&path, bytes).unwrap();
    let mut flags = unsafe { ndarray::Array1::<bool>::open_npy_mut(&path) }
        .unwrap()
        .into_growable()
        .unwrap();
    flags.resize(8).unwrap();
    assert_eq!(
        flags.to_vec(),
        [true, false, true, false, false, false, false, false]
    );
    flags.close().unwrap();
    assert_eq!(read_npy::<bool, ndarray::Ix1>(&path).unwrap().len(), 8);
}

#[test]
fn a_wrong_row_shape_is_refused_and_changes_nothing() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    write_npy(&path, &expected(3)).unwrap();
    let before = Snapshot::take(&path);
    let mut a = unsafe { Array2::<f64>::open_npy_mut(&path) }
        .unwrap()
        .into_growable()
        .unwrap();
    match a.append(&Array2::<f64>::zeros((2, 4))) {
        Err(Error::AppendShape {
            expected,
            found,
            axis: 0,
        }) => {
            assert_eq!((expected, found), (vec![2, 3], vec![2, 4]))
        }
        other => panic!("{other:?}"),
    }
    drop(a);
    before.assert_unchanged();
}

#[test]
fn raw_files_grow_and_close_at_their_exact_length() {
    let dir = tempdir();
    let path = dir.path().join("raw.bin");
    let mut a = unsafe {
        MemmapOptions::new()
            .shape((0, 4))
            .create_raw::<f32, Ix2>(&path)
    }
    .unwrap()
    .into_growable()
    .unwrap();
    a.set_growth(Growth::Rows(100));
    for k in 0..250 {
        a.append(&Array2::from_elem((1, 4), k as f32)).unwrap();
    }
    assert_eq!(a.capacity(), 300);
    a.close().unwrap();
    assert_eq!(common::file_len(&path), 250 * 16);
    let back = unsafe {
        MemmapOptions::new()
            .shape((250, 4))
            .open_raw::<f32, Ix2>(&path)
    }
    .unwrap();
    assert_eq!(back[[249, 3]], 249.0);
}

#[test]
fn locks_and_the_registry_hold_through_remaps() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    let mut a = new_log(&path);
    for i in 0..3 {
        a.append(&row(i)).unwrap();
        // A remap happened on the first append; the file is still ours.
        assert!(matches!(
            unsafe { Array2::<f64>::open_npy(&path) },
            Err(Error::AlreadyMapped { .. })
        ));
        let other = std::fs::File::open(&path).unwrap();
        assert!(matches!(
            other.try_lock_shared(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
    }
}

#[test]
fn a_scratch_array_grows_on_its_own_unlinked_file() {
    let mut grown = Array2::<f64>::scratch((1, 3))
        .unwrap()
        .into_growable()
        .unwrap();
    grown.view_mut().assign(&expected(1));
    for i in 1..200 {
        grown.append(&row(i)).unwrap();
    }
    assert_eq!(grown.view(), expected(200));
    assert_eq!(grown.path(), None);
}

#[test]
fn copy_on_write_and_0_d_guards_cannot_grow() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    write_npy(&path, &expected(2)).unwrap();
    let cow = unsafe { Array2::<f64>::open_npy_copy(&path) }.unwrap();
    assert!(matches!(
        cow.into_growable(),
        Err(Error::NotGrowable { .. })
    ));
    let zero_d = dir.path().join("z.npy");
    let scalar = unsafe { ndarray::Array0::<f64>::create_npy(&zero_d, ()) }.unwrap();
    assert!(matches!(
        scalar.into_growable(),
        Err(Error::NotGrowable { .. })
    ));
}

#[test]
fn a_header_without_room_is_a_typed_error_until_rewritten() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("tight.npy");
    // numpy-style alignment but no growth slack, as other writers do: the
    // shape text of 21 axes leaves room in the 128-byte header for one more
    // digit, not two.
    let mut shape = vec![1usize; 21];
    shape[0] = 2;
    let mut bytes = NpyHeader::format_to_length("<f8", false, &shape, (1, 0), 128).unwrap();
    bytes.extend([1.0f64, 2.0].iter().flat_map(|x| x.to_ne_bytes()));
    std::fs::write(&path, &bytes).unwrap();
    let before = Snapshot::take(&path);
    let mut a = unsafe { MemmapOptions::new().open_npy_mut::<f64, ndarray::IxDyn>(&path) }
        .unwrap()
        .into_growable()
        .unwrap();
    // 98 more rows make 100: two more digits, and the header has room for one.
    let mut more_rows = vec![1usize; 21];
    more_rows[0] = 98;
    let block = ndarray::ArrayD::from_elem(more_rows, 3.0);
    match a.append(&block) {
        Err(err @ Error::HeaderFull { .. }) => {
            assert!(
                matches!(
                    err,
                    Error::HeaderFull {
                        header_len: 128,
                        needed: 192,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains("rewrite_npy_with_room"));
        }
        other => panic!("{other:?}"),
    }
    drop(a);
    before.assert_unchanged();
    let mut steps = 0;
    rewrite_npy_with_room(&path, |copied, total| {
        steps += 1;
        assert!(copied <= total);
    })
    .unwrap();
    assert_eq!(steps, 1);
    assert!(is_np_save_identical(&path));
    let mut a = unsafe { MemmapOptions::new().open_npy_mut::<f64, ndarray::IxDyn>(&path) }
        .unwrap()
        .into_growable()
        .unwrap();
    a.append(&block).unwrap();
    a.append(&block).unwrap();
    a.close().unwrap();
    assert_eq!(read_npy_header(&path).unwrap().shape[0], 198);
    assert!(is_np_save_identical(&path));
}

#[test]
fn npy_append_array_and_this_crate_append_to_each_others_files() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let ours = dir.path().join("ours.npy");
    let theirs = dir.path().join("theirs.npy");
    // Ours first, then npy-append-array appends, then ours again.
    let mut a = new_log(&ours);
    for i in 0..100 {
        a.append(&row(i)).unwrap();
    }
    a.close().unwrap();
    python(
        r#"
import sys
import numpy as np
from npy_append_array import NpyAppendArray
ours, theirs = sys.argv[1:3]
with NpyAppendArray(ours) as n:
    for i in range(100, 150):
        n.append(np.array([[i, i + 0.5, -i]], dtype="<f8"))
np.save(theirs, np.array([[i, i + 0.5, -i] for i in range(20)], dtype="<f8"))
with NpyAppendArray(theirs) as n:
    n.append(np.array([[i, i + 0.5, -i] for i in range(20, 40)], dtype="<f8"))
"#,
        &[s(&ours), s(&theirs)],
    );
    assert_eq!(read_npy::<f64, Ix2>(&ours).unwrap(), expected(150));
    assert_eq!(read_npy::<f64, Ix2>(&theirs).unwrap(), expected(40));
    for (path, from) in [(&ours, 150), (&theirs, 40)] {
        let mut a = unsafe { Array2::<f64>::open_npy_mut(path) }
            .unwrap()
            .into_growable()
            .unwrap();
        for i in from..from + 60 {
            a.append(&row(i)).unwrap();
        }
        a.close().unwrap();
        assert!(is_np_save_identical(path));
    }
    let check = python(
        r#"
import sys
import numpy as np
from npy_append_array import NpyAppendArray
for path, n in [(sys.argv[1], 210), (sys.argv[2], 100)]:
    a = np.load(path, mmap_mode="r")
    want = np.array([[i, i + 0.5, -i] for i in range(n)], dtype="<f8")
    with NpyAppendArray(path) as w:  # opens: no recovery needed
        pass
    print(np.array_equal(a, want), end=" ")
"#,
        &[s(&ours), s(&theirs)],
    );
    assert_eq!(check.trim(), "True True");
}

#[test]
fn the_streaming_writer_leaves_a_valid_file_at_every_flush() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("stream.npy");
    let mut writer = NpyWriter::<f64>::create(&path, &[3]).unwrap();
    for i in 0..10 {
        writer.write(&row(i)).unwrap();
    }
    writer.flush().unwrap();
    assert_eq!(read_npy::<f64, Ix2>(&path).unwrap(), expected(10));
    // A non-contiguous block is written in C order all the same.
    let block = expected(20);
    let fortran = {
        let mut f = Array2::<f64>::zeros((10, 3).f());
        f.assign(&block.slice(sl![10.., ..]));
        f
    };
    writer.write(&fortran).unwrap();
    assert!(matches!(
        writer.write(&Array1::<f64>::zeros(3)),
        Err(Error::AppendShape { .. })
    ));
    writer.finish().unwrap();
    assert_eq!(read_npy::<f64, Ix2>(&path).unwrap(), expected(20));
    assert!(is_np_save_identical(&path));
}

/// The child of the crash test: appends row after row, printing the count
/// after each append returns.
fn crash_child(path: &Path, mode: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match mode {
        "mapped" => {
            let mut a = new_log(path);
            // Small steps: a remap every 64 rows, so kills land in remaps too.
            a.set_growth(Growth::Rows(64));
            for i in 0..1_000_000 {
                a.append(&row(i)).unwrap();
                writeln!(stdout, "{}", i + 1).unwrap();
            }
        }
        _ => {
            let mut writer = NpyWriter::<f64>::create(path, &[3]).unwrap();
            for i in 0..1_000_000 {
                writer.write(&row(i)).unwrap();
                writer.flush().unwrap();
                writeln!(stdout, "{}", i + 1).unwrap();
            }
        }
    }
}

#[test]
fn sigkill_at_random_moments_leaves_a_valid_file_with_every_acknowledged_row() {
    if common::numpy_skipped() {
        return;
    }
    const TEST: &str = concat!(
        module_path!(),
        "::sigkill_at_random_moments_leaves_a_valid_file_with_every_acknowledged_row"
    );
    if let Some(mode) = child_role() {
        let path = std::path::PathBuf::from(std::env::var("NDARRAY_MEMMAP_CRASH_PATH").unwrap());
        return crash_child(&path, &mode);
    }
    let dir = tempdir();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut files = Vec::new();
    for trial in 0..60 {
        let mode = if trial % 3 == 2 { "writer" } else { "mapped" };
        let path = dir.path().join(format!("crash_{trial}.npy"));
        let mut child =
            common::child_command(TEST, mode, &[("NDARRAY_MEMMAP_CRASH_PATH", s(&path))])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
        // Kill after a random number of acknowledged rows: an observable
        // condition, not a sleep; the child is mid-append at a random point.
        let kill_after = 1 + next() % 3000;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked = 0u64;
        for line in lines.by_ref() {
            if let Ok(n) = line.unwrap().trim().parse::<u64>() {
                acked = n;
            }
            if acked >= kill_after {
                break;
            }
        }
        child.kill().unwrap();
        // Every acknowledgement printed before the kill counts.
        for line in lines {
            if let Ok(n) = line.unwrap_or_default().trim().parse::<u64>() {
                acked = n;
            }
        }
        child.wait().unwrap();
        let rows = read_npy::<f64, Ix2>(&path).unwrap_or_else(|e| panic!("trial {trial}: {e}"));
        let n = rows.nrows() as u64;
        assert!(
            n == acked || n == acked + 1,
            "trial {trial} ({mode}): {n} rows after {acked} acknowledged"
        );
        assert_eq!(rows, expected(n as usize), "trial {trial}");
        files.push(format!("{}:{n}", s(&path)));
    }
    let verdict = python(
        r#"
import sys
import numpy as np
bad = []
for item in sys.argv[1:]:
    path, n = item.rsplit(":", 1); n = int(n)
    for a in (np.load(path), np.load(path, mmap_mode="r")):
        want = np.array([[i, i + 0.5, -i] for i in range(n)], dtype="<f8").reshape(n, 3)
        if a.shape != (n, 3) or not np.array_equal(a, want): bad.append(path)
print(len(bad), "bad")
"#,
        &files.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(verdict.trim(), "0 bad");
}

/// The streaming writer's stages, in order, and the rows a reader must
/// find after a kill right after each: what the last flush counted.
const WRITER_STAGES: [(&str, usize); 7] = [
    ("create", 0),
    ("write 5 rows", 0),
    ("flush", 5),
    ("write 5 more", 5),
    ("write 300000 more (past the 1 MiB buffer)", 5),
    ("flush", 300_010),
    ("finish", 300_010),
];

fn writer_child(path: &Path, last_stage: usize) {
    use std::io::Write;
    let mut writer = Some(NpyWriter::<f64>::create(path, &[3]).unwrap());
    let mut next_row = 0;
    let mut write_rows = |writer: &mut NpyWriter<f64>, n: usize| {
        writer
            .write(&expected(next_row + n).slice(sl![next_row.., ..]))
            .unwrap();
        next_row += n;
    };
    for stage in 1..=last_stage {
        let w = writer.as_mut().unwrap();
        match stage {
            1 => write_rows(w, 5),
            3 => write_rows(w, 5),
            4 => write_rows(w, 300_000),
            2 | 5 => w.flush().unwrap(),
            _ => writer.take().unwrap().finish().unwrap(),
        }
    }
    println!("ready");
    std::io::stdout().flush().unwrap();
    // Wait to be killed, holding the writer (and whatever it buffers).
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    std::mem::forget(writer);
}

#[test]
fn a_killed_stream_writer_leaves_a_valid_npy_of_the_flushed_rows_at_every_stage() {
    if common::numpy_skipped() {
        return;
    }
    const TEST: &str = concat!(
        module_path!(),
        "::a_killed_stream_writer_leaves_a_valid_npy_of_the_flushed_rows_at_every_stage"
    );
    if let Some(stage) = child_role() {
        let path = std::path::PathBuf::from(std::env::var("NDARRAY_MEMMAP_CRASH_PATH").unwrap());
        return writer_child(&path, stage.parse().unwrap());
    }
    let dir = tempdir();
    let mut files = Vec::new();
    for (stage, (name, rows)) in WRITER_STAGES.iter().enumerate() {
        let path = dir.path().join(format!("stage_{stage}.npy"));
        let mut child = common::child_command(
            TEST,
            &stage.to_string(),
            &[("NDARRAY_MEMMAP_CRASH_PATH", s(&path))],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        // Kill once the child says it has reached the stage: an observable
        // condition, not a sleep.
        let ready = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .any(|line| line.is_ok_and(|l| l.trim_end().ends_with("ready")));
        assert!(
            ready,
            "the child for stage {stage} ({name}) never got there"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        let found = read_npy::<f64, Ix2>(&path)
            .unwrap_or_else(|e| panic!("killed after {name} (stage {stage}): {e}"));
        assert_eq!(
            found,
            expected(*rows),
            "killed after {name} (stage {stage})"
        );
        files.push(format!("{}:{rows}", s(&path)));
    }
    let verdict = python(
        r#"
import sys
import numpy as np
bad = []
for item in sys.argv[1:]:
    path, n = item.rsplit(":", 1); n = int(n)
    try:
        a = np.load(path)
        want = np.array([[i, i + 0.5, -i] for i in range(n)], dtype="<f8").reshape(n, 3)
        if a.shape != (n, 3) or not np.array_equal(a, want): bad.append(f"{path}: {a.shape}")
    except Exception as e:
        bad.append(f"{path}: {e!r}")
print(len(bad), "bad", *bad)
"#,
        &files.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(verdict.trim(), "0 bad");
}

#[test]
fn random_appends_resizes_truncates_and_reopens_match_a_vec() {
    use proptest::prelude::*;
    #[derive(Clone, Debug)]
    enum Op {
        Append(usize),
        Resize(usize),
        Truncate(usize),
        Reopen,
        ShrinkToFit,
    }
    let op = prop_oneof![
        4 => (1usize..40).prop_map(Op::Append),
        2 => (0usize..200).prop_map(Op::Resize),
        2 => (0usize..200).prop_map(Op::Truncate),
        1 => Just(Op::Reopen),
        1 => Just(Op::ShrinkToFit),
    ];
    let dir = tempdir();
    let path = dir.path().join("model.npy");
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(64)
    });
    runner
        .run(&prop::collection::vec(op, 1..30), |ops| {
            let mut model: Vec<[u32; 2]> = Vec::new();
            let open = || {
                unsafe { MemmapOptions::new().open_npy_mut::<u32, Ix2>(&path) }
                    .unwrap()
                    .into_growable()
                    .unwrap()
            };
            let mut a = unsafe { Array2::<u32>::create_npy(&path, (0, 2)) }
                .unwrap()
                .into_growable()
                .unwrap();
            let mut counter = 1u32;
            for op in ops {
                match op {
                    Op::Append(n) => {
                        let rows = Array2::from_shape_fn((n, 2), |(i, j)| {
                            counter + 2 * i as u32 + j as u32
                        });
                        a.append(&rows).unwrap();
                        model.extend(rows.rows().into_iter().map(|r| [r[0], r[1]]));
                        counter += 2 * n as u32;
                    }
                    Op::Resize(n) => {
                        a.resize(n).unwrap();
                        model.resize(n, [0, 0]);
                    }
                    Op::Truncate(n) => {
                        a.truncate(n).unwrap();
                        model.truncate(n);
                    }
                    Op::Reopen => {
                        drop(a);
                        a = open();
                    }
                    Op::ShrinkToFit => a.shrink_to_fit().unwrap(),
                }
                let flat: Vec<u32> = model.iter().flatten().copied().collect();
                prop_assert_eq!(a.view().iter().copied().collect::<Vec<_>>(), flat);
            }
            drop(a);
            let back = read_npy::<u32, Ix2>(&path).unwrap();
            let flat: Vec<u32> = model.iter().flatten().copied().collect();
            prop_assert_eq!(back.iter().copied().collect::<Vec<_>>(), flat);
            Ok(())
        })
        .unwrap();
}
