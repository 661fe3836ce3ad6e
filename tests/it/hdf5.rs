//! HDF5 interop with the real h5py (libhdf5 2.0): h5py writes a matrix of
//! files (every libver, userblocks, alignment on and off, every group
//! form, every supported type in both byte orders, every chunk index) and
//! we resolve, map and read them: our addresses equal `get_offset()`, our
//! chunk lists equal `get_chunk_info()`, and the values we read equal
//! `dset[...]` byte for byte (h5py compares). The Python side is
//! `tests/python/hdf5_side.py`.
// Every file these tests map is in a private temporary directory that
// nothing writes while it is mapped (h5py only reads, or is refused): the
// whole mapping contract.
#![allow(clippy::undocumented_unsafe_blocks)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use ndarray::IxDyn;
use ndarray_memmap::{npy_record, write_npy, Error, Hdf5File, Hdf5Layout, Mode};

use crate::common::{self, python_command, tempdir, typed};

const SIDE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/hdf5_side.py");

fn side(args: &[&str]) -> String {
    let output = python_command()
        .arg(SIDE)
        .args(args)
        .output()
        .expect("run hdf5_side.py");
    assert!(
        output.status.success(),
        "hdf5_side.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// One line of h5py's manifest.
struct Expected {
    file: String,
    dataset: String,
    shape: Option<Vec<usize>>,
    dtype: String,
    offset: Option<u64>,
    chunks: Option<Vec<usize>>,
    /// (origin, address, size, mask)
    chunk_info: Vec<(Vec<usize>, u64, u64, u32)>,
}

fn numbers<T: std::str::FromStr>(text: &str) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    text.split(',')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().expect("a number"))
        .collect()
}

fn manifest(dir: &Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest");
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Expected {
                file: f[0].to_owned(),
                dataset: f[1].to_owned(),
                shape: (f[2] != "null").then(|| numbers(f[2])),
                dtype: f[3].to_owned(),
                offset: (f[4] != "None").then(|| f[4].parse().expect("offset")),
                chunks: (f[5] != "None").then(|| numbers(f[5])),
                chunk_info: f[6]
                    .split(';')
                    .filter(|c| !c.is_empty())
                    .map(|c| {
                        let p: Vec<&str> = c.split(':').collect();
                        (
                            numbers(p[0]),
                            p[1].parse().unwrap(),
                            p[2].parse().unwrap(),
                            p[3].parse().unwrap(),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed)]
pub(crate) struct Record {
    pub(crate) a: i32,
    pub(crate) b: f64,
}
npy_record!(Record { a, b });

#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed)]
struct Nested {
    id: u16,
    v: [f32; 3],
    name: [u8; 5],
}
npy_record!(Nested { id, v, name });

/// Reads `name` as `A` both ways that apply (copying read; the map or the
/// chunk views when the dataset maps), checks they agree, and saves the
/// values for h5py to compare.
fn check_values<A: ndarray_memmap::Element + PartialEq + std::fmt::Debug>(
    file: &Hdf5File,
    name: &str,
    out: &Path,
) -> usize {
    let read = file
        .read::<A>(name)
        .unwrap_or_else(|e| panic!("read {name}: {e}"));
    let dataset = file.dataset(name).unwrap();
    let mut mapped_checks = 0;
    if dataset.dtype().unwrap().is_native() && dataset.mappable().is_ok() {
        match dataset.layout() {
            Hdf5Layout::Contiguous { address, .. } => {
                let aligned = address.unwrap_or(0) % std::mem::align_of::<A>() as u64 == 0;
                match unsafe { file.map::<A, IxDyn>(name) } {
                    Ok(map) => {
                        assert!(aligned, "{name} mapped at a misaligned address");
                        assert_eq!(map.view(), read.view(), "{name}: map and read differ");
                        mapped_checks += 1;
                    }
                    Err(Error::Misaligned { .. }) => {
                        assert!(!aligned, "{name}: aligned but refused")
                    }
                    Err(e) => panic!("map {name}: {e}"),
                }
            }
            Hdf5Layout::Chunked { .. } => {
                let chunks = unsafe { file.chunks::<A>(name) }
                    .unwrap_or_else(|e| panic!("chunks {name}: {e}"));
                let whole: Vec<_> = dataset.shape().iter().map(|&n| 0..n).collect();
                assert_eq!(
                    chunks.read_region(&whole).unwrap(),
                    read,
                    "{name}: chunk views and read differ"
                );
                // Each chunk against a region read (the first 40: the paged
                // fixed array alone has 1600).
                for chunk in chunks.iter().take(40) {
                    let chunk = chunk.unwrap();
                    let view = chunk.view();
                    let region: Vec<_> = chunk
                        .origin()
                        .iter()
                        .zip(view.shape())
                        .map(|(o, n)| *o..o + n)
                        .collect();
                    assert_eq!(
                        view,
                        file.read_region::<A>(name, &region).unwrap().view(),
                        "{name} chunk {:?}",
                        chunk.index()
                    );
                }
                mapped_checks += 1;
            }
            _ => {}
        }
    }
    let stem = format!(
        "{}{}",
        out.file_name().unwrap().to_str().unwrap(),
        name.replace('/', "__")
    );
    let values = out
        .parent()
        .unwrap()
        .join("values")
        .join(format!("{stem}.npy"));
    write_npy(&values, &read).unwrap();
    mapped_checks
}

#[test]
fn h5py_files_resolve_map_and_read_as_h5py_reads_them() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    side(&["write", common::s(dir.path())]);
    std::fs::create_dir(dir.path().join("values")).unwrap();
    let expected = manifest(dir.path());
    assert!(
        expected.len() > 600,
        "the matrix has {} datasets",
        expected.len()
    );
    let (mut offsets, mut chunk_lists, mut maps) = (0, 0, 0);
    for e in &expected {
        let path = dir.path().join(&e.file);
        if e.file == "refusals.h5" {
            continue;
        }
        let file = Hdf5File::open(&path).unwrap();
        let d = file
            .dataset(&e.dataset)
            .unwrap_or_else(|err| panic!("{} {}: {err}", e.file, e.dataset));
        let what = format!("{} {}", e.file, e.dataset);
        match &e.shape {
            Some(shape) => assert_eq!(d.shape(), &shape[..], "{what}"),
            None => assert!(d.is_null(), "{what}"),
        }
        let ours = d.descr().unwrap();
        assert_eq!(ours, e.dtype, "{what}: dtype");
        assert_eq!(d.address(), e.offset, "{what}: get_offset()");
        offsets += usize::from(e.offset.is_some());
        assert_eq!(
            d.chunk_shape().map(<[usize]>::to_vec),
            e.chunks,
            "{what}: chunks"
        );
        if e.chunks.is_some() {
            let mut ours: Vec<_> = file
                .chunk_records(&e.dataset)
                .unwrap()
                .into_iter()
                .map(|r| (r.origin, r.address, r.size, r.filter_mask))
                .collect();
            ours.sort();
            assert_eq!(ours, e.chunk_info, "{what}: get_chunk_info()");
            chunk_lists += 1;
        }
        let dtype = d.dtype().unwrap().clone();
        maps += match e.dtype.as_str() {
            "|S4" => check_values::<[u8; 4]>(&file, &e.dataset, &path),
            "|S5" => check_values::<[u8; 5]>(&file, &e.dataset, &path),
            descr if descr.starts_with("[('a'") => check_values::<Record>(&file, &e.dataset, &path),
            descr if descr.starts_with("[('id'") => {
                check_values::<Nested>(&file, &e.dataset, &path)
            }
            _ => {
                let scalar = dtype.scalar().unwrap().to_native();
                typed!(scalar, T => check_values::<T>(&file, &e.dataset, &path))
            }
        };
    }
    let compared = side(&["compare", common::s(dir.path())]);
    let count: usize = compared
        .trim()
        .trim_start_matches("compared ")
        .parse()
        .unwrap();
    assert!(count > 600, "h5py compared {count} datasets");
    assert!(
        offsets > 400 && chunk_lists > 50 && maps > 300,
        "{offsets} offsets, {chunk_lists} chunk lists, {maps} maps"
    );
}

/// The refusal for `name`, from `map` (contiguous) and `chunks` alike.
fn refusal(file: &Hdf5File, name: &str) -> String {
    let err = match unsafe { file.map::<f64, IxDyn>(name) } {
        Ok(_) => panic!("{name} mapped"),
        Err(err) => err,
    };
    assert!(
        matches!(err, Error::Hdf5Unsupported { .. }),
        "{name}: {err}"
    );
    err.to_string()
}

#[test]
fn datasets_that_cannot_map_are_refused_by_name_with_the_way_out() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    side(&["write", common::s(dir.path())]);
    let file = Hdf5File::open(dir.path().join("refusals.h5")).unwrap();
    let cases = [
        ("/unallocated", "never written"),
        ("/compact", "compact"),
        ("/external", "external files"),
        ("/gzip", "gzip (deflate) (filter 1)"),
        ("/shuffle", "shuffle (filter 2)"),
        ("/virtual", "virtual dataset"),
        ("/vlen_str", "variable-length strings"),
        ("/vlen_int", "variable-length sequences"),
        ("/refs", "references"),
        ("/opaque", "opaque"),
    ];
    for (name, reason) in cases {
        let message = refusal(&file, name);
        assert!(
            message.contains(reason) && message.contains(name),
            "{name}: {message}"
        );
        assert!(message.contains("; "), "{name} names a way out: {message}");
    }
    // What does not map but needs no decoding reads through a copy.
    assert_eq!(
        file.read::<f64>("/compact").unwrap().as_slice().unwrap(),
        &(0..10).map(f64::from).collect::<Vec<_>>()[..]
    );
    assert_eq!(
        file.read::<f64>("/unallocated").unwrap().sum(),
        0.0,
        "the fill value, as h5py reads it"
    );
    let filtered = file.read::<f64>("/gzip").unwrap_err().to_string();
    assert!(filtered.contains("gzip"), "{filtered}");
    assert!(matches!(
        unsafe { file.chunks::<f64>("/gzip") },
        Err(Error::Hdf5Unsupported { .. })
    ));
    // The listing says which map and why not, without failing on any.
    let listed = file.datasets().unwrap();
    assert!(listed.len() >= 10, "{} datasets listed", listed.len());
    for (name, dataset) in &listed {
        let dataset = dataset.as_ref().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(dataset.mappable().is_err(), "{name} is in the refusal file");
    }
    // An external link is named, with the file it points to.
    let link = file.dataset("/external_link").unwrap_err().to_string();
    assert!(
        link.contains("other.h5") && link.contains("external link"),
        "{link}"
    );
    // A missing member names the group that lacks it.
    let missing = Hdf5File::open(dir.path().join("m_latest_0_u.h5"))
        .unwrap()
        .dataset("/a/b/nope")
        .unwrap_err();
    assert!(matches!(missing, Error::Hdf5NotFound { .. }), "{missing}");
    assert!(
        missing
            .to_string()
            .contains("the group /a/b has no member \"nope\""),
        "{missing}"
    );
    // Types and orders: a mismatch names both; the other byte order maps only through a copy.
    let m = Hdf5File::open(dir.path().join("m_latest_0_a.h5")).unwrap();
    assert!(matches!(
        unsafe { m.map::<f32, IxDyn>("/scalars/le_f8") },
        Err(Error::DtypeMismatch { .. })
    ));
    assert!(matches!(
        unsafe { m.map::<f64, IxDyn>("/scalars/be_f8") },
        Err(Error::ByteOrder { .. })
    ));
    let swapped = m.read::<f64>("/scalars/be_f8").unwrap();
    let native = m.read::<f64>("/scalars/le_f8").unwrap();
    assert_eq!(swapped.shape(), native.shape());
}

/// h5py holding `file` open in `mode` in another process, until dropped.
struct Holder(std::process::Child);

impl Holder {
    fn new(file: &Path, mode: &str) -> Holder {
        let mut child = python_command()
            .args([SIDE, "hold", common::s(file), mode])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn h5py");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "holding",
            "h5py did not open {file:?} in {mode}"
        );
        Holder(child)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

#[test]
fn h5py_locks_and_ours_meet_both_ways() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("locks.h5");
    common::python(
        "import h5py, numpy as np, sys\nwith h5py.File(sys.argv[1], 'w') as f: f['x'] = np.arange(8.0)",
        &[common::s(&path)],
    );
    let file = Hdf5File::open(&path).unwrap();
    {
        let _h5py = Holder::new(&path, "r");
        let shared =
            unsafe { file.map::<f64, IxDyn>("/x") }.expect("a read-only map beside h5py 'r'");
        assert_eq!(shared.sum(), 28.0);
        drop(shared);
        let err = unsafe { file.map_mut::<f64, IxDyn>("/x") }.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Locked {
                    requested: "exclusive",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            !err.to_string().contains("another process ("),
            "the message must not claim a process: {err}"
        );
    }
    {
        let _h5py = Holder::new(&path, "r+");
        let err = unsafe { file.map::<f64, IxDyn>("/x") }.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Locked {
                    requested: "shared",
                    ..
                }
            ),
            "{err}"
        );
    }
    {
        // A writer without locks is seen by the superblock's flags.
        let _h5py = Holder::new(&path, "r+nolock");
        let reopened = Hdf5File::open(&path).unwrap();
        assert!(reopened.writer_active());
        let err = unsafe { reopened.map::<f64, IxDyn>("/x") }.unwrap_err();
        assert!(
            err.to_string().contains("a writer has the file open")
                && err.to_string().contains("h5clear -s"),
            "{err}"
        );
        assert!(reopened.read::<f64>("/x").is_err(), "nor a copying read");
    }
    // Ours held: h5py is refused.
    let guard = unsafe { Hdf5File::open(&path).unwrap().map_mut::<f64, IxDyn>("/x") }.unwrap();
    let refused = side(&["tryopen", common::s(&path), "r"]);
    assert!(refused.contains("unable to lock file"), "{refused}");
    drop(guard);
    let shared = unsafe { file.map::<f64, IxDyn>("/x") }.unwrap();
    assert_eq!(side(&["tryopen", common::s(&path), "r"]).trim(), "opened");
    assert!(side(&["tryopen", common::s(&path), "r+"]).contains("unable to lock file"));
    drop(shared);
}

/// What docs/safety.md tells users: h5py's sieve buffer hides a write
/// through a map from bytes h5py has read, and a zero sieve buffer does not.
#[test]
fn a_zero_sieve_buffer_makes_h5py_see_writes_through_a_map() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("sieve.h5");
    let mut seen = Vec::new();
    for sieve in ["65536", "0"] {
        common::python(
            "import h5py, numpy as np, sys\nwith h5py.File(sys.argv[1], 'w') as f: f['x'] = np.zeros(64)",
            &[common::s(&path)],
        );
        let mut child = python_command()
            .args([SIDE, "coherence", common::s(&path), sieve])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        lines.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "0.0");
        let file = Hdf5File::open(&path).unwrap();
        let mut map = unsafe { file.map_mut::<f64, ndarray::Ix1>("/x") }.unwrap();
        map[0] = 9.0;
        map.close().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, b"again\n").unwrap();
        line.clear();
        lines.read_line(&mut line).unwrap();
        seen.push(line.trim().to_owned());
        drop(stdin);
        child.wait().unwrap();
    }
    assert_eq!(
        seen,
        ["0.0", "9.0"],
        "h5py with its 64 KiB sieve buffer, then with none"
    );
}

#[test]
fn writes_through_a_map_are_what_h5py_reads() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("rw.h5");
    common::python(
        "import h5py, numpy as np, sys\nwith h5py.File(sys.argv[1], 'w', libver='latest') as f: f['g/x'] = np.zeros((3, 4), '<i4')",
        &[common::s(&path)],
    );
    let file = Hdf5File::open(&path).unwrap();
    let mut map = unsafe { file.map_mut::<i32, ndarray::Ix2>("/g/x") }.unwrap();
    map[[1, 2]] = 7;
    map.close().unwrap();
    let mut private = unsafe { file.map_copy::<i32, ndarray::Ix2>("/g/x") }.unwrap();
    private[[0, 0]] = -1;
    drop(private);
    let printed = common::python(
        "import h5py, sys\nwith h5py.File(sys.argv[1], 'r') as f: print(f['g/x'][...].tolist())",
        &[common::s(&path)],
    );
    assert_eq!(printed.trim(), "[[0, 0, 0, 0], [0, 0, 7, 0], [0, 0, 0, 0]]");
    let any = unsafe { file.map_any("/g/x", Mode::ReadOnly) }.unwrap();
    assert_eq!(
        (any.shape(), any.dtype().descr()),
        (&[3, 4][..], "<i4".to_owned())
    );
}

/// An HDF5 file h5py wrote, as bytes, with its dataset's path.
fn sample(libver: &str) -> Vec<u8> {
    let dir = tempdir();
    let path = dir.path().join("s.h5");
    common::python(
        "import h5py, numpy as np, sys\n\
         with h5py.File(sys.argv[1], 'w', libver=sys.argv[2]) as f:\n\
         \x20   for i in range(10): f[f'g/d{i}'] = np.arange(4.0)\n\
         \x20   f.create_dataset('c', data=np.arange(100).reshape(10, 10), chunks=(3, 3))\n\
         \x20   f['g/s'] = h5py.SoftLink('/c')",
        &[common::s(&path), libver],
    );
    std::fs::read(path).unwrap()
}

#[test]
fn damaged_files_give_typed_errors_in_bounded_time() {
    if common::numpy_skipped() {
        return;
    }
    for libver in ["earliest", "latest"] {
        let good = sample(libver);
        for path in ["/g/d3", "/c", "/g/s"] {
            ndarray_memmap::resolve_hdf5_dataset(&good, path)
                .unwrap_or_else(|e| panic!("{libver} {path}: {e}"));
        }
        let started = std::time::Instant::now();
        // Every truncation, and a flipped byte at every position: an error
        // or a description, never a panic.
        for cut in (0..good.len()).step_by(7) {
            let _ = ndarray_memmap::resolve_hdf5_dataset(&good[..cut], "/c");
        }
        for at in 0..good.len() {
            for bend in [0xff_u8, 0x01, 0x80] {
                let mut bad = good.clone();
                bad[at] ^= bend;
                let _ = ndarray_memmap::resolve_hdf5_dataset(&bad, "/g/d3");
                let _ = ndarray_memmap::resolve_hdf5_dataset(&bad, "/c");
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(300),
            "{libver}: {:?}",
            started.elapsed()
        );
    }
}

/// A minimal superblock-v0 file whose root object header is `header`
/// (version 1, at byte 96), for hand-made damage.
fn crafted(messages: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut file = vec![0u8; 96];
    file[..8].copy_from_slice(b"\x89HDF\r\n\x1a\n");
    file[13] = 8; // offsets
    file[14] = 8; // lengths
    file[16] = 4;
    file[18] = 16;
    file[24..32].copy_from_slice(&0u64.to_le_bytes()); // base
    file[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    file[48..56].copy_from_slice(&u64::MAX.to_le_bytes());
    file[56..64].copy_from_slice(&0u64.to_le_bytes()); // root entry: name offset
    file[64..72].copy_from_slice(&96u64.to_le_bytes()); // root header
    let body: Vec<u8> = messages
        .iter()
        .flat_map(|(kind, data)| {
            let mut m = Vec::new();
            m.extend_from_slice(&kind.to_le_bytes());
            m.extend_from_slice(&(data.len() as u16).to_le_bytes());
            m.extend_from_slice(&[0, 0, 0, 0]);
            m.extend_from_slice(data);
            m
        })
        .collect();
    file.extend_from_slice(&[1, 0]);
    file.extend_from_slice(&(messages.len() as u16).to_le_bytes());
    file.extend_from_slice(&1u32.to_le_bytes());
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&[0; 4]);
    file.extend_from_slice(&body);
    let len = file.len() as u64;
    file[40..48].copy_from_slice(&len.to_le_bytes());
    file
}

fn metadata_error(bytes: &[u8], path: &str) -> String {
    match ndarray_memmap::resolve_hdf5_dataset(bytes, path) {
        Err(err @ Error::Hdf5Metadata { .. }) => err.to_string(),
        other => panic!("expected Hdf5Metadata, got {other:?}"),
    }
}

fn address(at: u64) -> Vec<u8> {
    let mut v = at.to_le_bytes().to_vec();
    v.extend_from_slice(&16u64.to_le_bytes());
    v
}

#[test]
fn hostile_metadata_is_refused_by_name() {
    // A continuation block that continues into itself.
    let cyclic = crafted(&[(0x10, address(112))]);
    assert!(metadata_error(&cyclic, "/x").contains("cycle"));
    // An address past the end of the file.
    let past = crafted(&[(0x10, address(1 << 40))]);
    assert!(metadata_error(&past, "/x").contains("past the end of the file"));
    // A dataspace of rank 200.
    let mut space = vec![1u8, 200, 0, 0, 0, 0, 0, 0];
    space.extend(std::iter::repeat_n(0xff, 200 * 8));
    let ranked = crafted(&[
        (0x01, space),
        (
            0x08,
            vec![3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
    assert!(metadata_error(&ranked, "/").contains("rank 200"));
    // Bogus offset sizes.
    let mut bogus = crafted(&[]);
    bogus[13] = 3;
    assert!(metadata_error(&bogus, "/x").contains("3-byte offsets"));
    // Not HDF5 at all.
    assert!(metadata_error(b"PK\x03\x04 a zip, not HDF5", "/x").contains("no HDF5 signature"));
    // A soft-link cycle and deep nesting are bounded: 10,000 path parts of a
    // group that is its own member cost one lookup each and end.
    let deep = "/a".repeat(10_000);
    let err = ndarray_memmap::resolve_hdf5_dataset(&crafted(&[]), &deep).unwrap_err();
    assert!(matches!(err, Error::Hdf5NotFound { .. }), "{err}");
}

#[test]
fn a_cyclic_chunk_btree_and_huge_dimensions_are_refused() {
    if common::numpy_skipped() {
        return;
    }
    // h5py's default file: /c's chunks are one version-1 B-tree leaf.
    let good = sample("earliest");
    let at = good
        .windows(5)
        .position(|w| w == b"TREE\x01")
        .expect("the chunk B-tree");
    let mut cyclic = good.clone();
    cyclic[at + 5] = 1; // level 1: its children are nodes...
                        // After the 24-byte node header and the first 32-byte key (rank 2 + 1):
                        // the first child, made the node itself.
    cyclic[at + 24 + 32..at + 24 + 40].copy_from_slice(&(at as u64).to_le_bytes());
    let err = ndarray_memmap::resolve_hdf5_dataset(&cyclic, "/c")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("twice (a cycle)") || err.contains("under one at level"),
        "{err}"
    );

    // A contiguous dataset claiming 2^40 x 2^40 elements in 8 bytes of
    // file: more than any machine addresses, refused when resolved.
    let huge = |side: u64| {
        let mut space = vec![1u8, 2, 0, 0, 0, 0, 0, 0];
        space.extend_from_slice(&side.to_le_bytes());
        space.extend_from_slice(&side.to_le_bytes());
        let float = vec![
            0x11, 0x20, 0x3f, 0x00, 8, 0, 0, 0, 0, 0, 64, 0, 52, 11, 0, 52, 0xff, 0x03, 0, 0, 0, 0,
            0, 0,
        ];
        let mut layout = vec![3u8, 1];
        layout.extend_from_slice(&0u64.to_le_bytes());
        layout.extend_from_slice(&8u64.to_le_bytes());
        layout.extend_from_slice(&[0; 6]);
        crafted(&[(0x01, space), (0x03, float), (0x08, layout)])
    };
    assert!(
        metadata_error(&huge(1 << 40), "/").contains("more elements than this machine can address")
    );
    // 2^31 x 2^31 elements fit ndarray's limit: described, then refused
    // when mapped or read, without allocating.
    let bytes = huge(1 << 31);
    let (dataset, _) = ndarray_memmap::resolve_hdf5_dataset(&bytes, "/").unwrap();
    assert_eq!(dataset.shape(), &[1 << 31, 1 << 31]);
    let dir = tempdir();
    let path = dir.path().join("huge.h5");
    std::fs::write(&path, &bytes).unwrap();
    let file = Hdf5File::open(&path).unwrap();
    let err = file.read::<f64>("/").unwrap_err();
    assert!(matches!(err, Error::Hdf5Metadata { .. }), "{err}");
    let err = unsafe { file.map::<f64, IxDyn>("/") }.unwrap_err();
    assert!(matches!(err, Error::Hdf5Metadata { .. }), "{err}");
}

#[test]
fn deeply_nested_groups_resolve_and_list() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("deep.h5");
    common::python(
        "import h5py, numpy as np, sys\n\
         with h5py.File(sys.argv[1], 'w', libver='latest') as f:\n\
         \x20   f['/'.join(['g'] * 500) + '/x'] = np.arange(3, dtype='<i8')\n\
         \x20   f['loop'] = f['g']  # a hard link back up: a cycle of groups",
        &[common::s(&path)],
    );
    let file = Hdf5File::open(&path).unwrap();
    let deep = format!("/{}/x", ["g"; 500].join("/"));
    assert_eq!(file.read::<i64>(&deep).unwrap().sum(), 3);
    let listed = file.datasets().unwrap();
    assert_eq!(listed.len(), 1, "the dataset once, the cycle cut");
    assert_eq!(listed[0].0, deep);
}

/// PyTables writes HDF5 with its own libhdf5 (1.14): its `Array`, `CArray`,
/// `EArray` (extendable: chunked, one unlimited axis) and `Table` (a
/// chunked compound) map and read as PyTables reads them.
#[test]
fn pytables_files_map_and_read_as_pytables_reads_them() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("pt.h5");
    common::python(
        "import sys, os, numpy as np, tables\n\
         with tables.open_file(sys.argv[1], 'w') as f:\n\
         \x20   f.create_array('/', 'arr', np.arange(12.0).reshape(3, 4))\n\
         \x20   f.create_carray('/', 'carr', obj=np.arange(100, dtype='i4').reshape(10, 10), chunkshape=(3, 3))\n\
         \x20   e = f.create_earray('/', 'earr', tables.Float32Atom(), (0, 5), chunkshape=(4, 5))\n\
         \x20   e.append(np.arange(50, dtype='f4').reshape(10, 5))\n\
         \x20   t = f.create_table('/', 'table', {'a': tables.Int32Col(pos=0), 'b': tables.Float64Col(pos=1)})\n\
         \x20   t.append([(1, 2.0), (3, 4.0)])\n\
         \x20   f.create_array(f.create_group('/', 'grp'), 's', np.array([b'ab', b'cd']))\n\
         with tables.open_file(sys.argv[1]) as f:\n\
         \x20   for node in ('arr', 'carr', 'earr', 'table', 'grp/s'):\n\
         \x20       np.save(os.path.join(sys.argv[2], node.replace('/', '_') + '.npy'), f.get_node('/' + node)[:])",
        &[common::s(&path), common::s(dir.path())],
    );
    let file = Hdf5File::open(&path).unwrap();
    let expected = |name: &str| dir.path().join(format!("{name}.npy"));
    let arr = unsafe { file.map::<f64, ndarray::Ix2>("/arr") }.unwrap();
    assert_eq!(
        arr.view(),
        ndarray_memmap::read_npy::<f64, ndarray::Ix2>(expected("arr"))
            .unwrap()
            .view()
    );
    let carr = unsafe { file.chunks::<i32>("/carr") }.unwrap();
    assert_eq!(
        carr.read_region(&[0..10, 0..10]).unwrap(),
        ndarray_memmap::read_npy::<i32, IxDyn>(expected("carr")).unwrap()
    );
    let earr = unsafe { file.chunks::<f32>("/earr") }.unwrap();
    assert_eq!(file.dataset("/earr").unwrap().max_shape(), &[None, Some(5)]);
    assert_eq!(
        earr.read_region(&[0..10, 0..5]).unwrap(),
        ndarray_memmap::read_npy::<f32, IxDyn>(expected("earr")).unwrap()
    );
    let table = file.read::<Record>("/table").unwrap();
    let rows: Vec<(i32, f64)> = table.iter().map(|r| ({ r.a }, { r.b })).collect();
    assert_eq!(rows, [(1, 2.0), (3, 4.0)]);
    assert_eq!(
        file.read::<[u8; 2]>("/grp/s").unwrap().as_slice().unwrap(),
        &[*b"ab", *b"cd"]
    );
}

#[test]
fn chunked_misuse_is_refused_by_name() {
    if common::numpy_skipped() {
        return;
    }
    let bytes = sample("earliest");
    let dir = tempdir();
    let path = dir.path().join("s.h5");
    std::fs::write(&path, bytes).unwrap();
    let file = Hdf5File::open(&path).unwrap();
    let chunked = unsafe { file.map::<i64, IxDyn>("/c") }.unwrap_err();
    assert!(
        chunked
            .to_string()
            .contains("it is chunked: there is no single block to map"),
        "{chunked}"
    );
    let chunks = unsafe { file.chunks::<i64>("/c") }.unwrap();
    assert_eq!(chunks.grid_shape(), &[4, 4]);
    assert!(matches!(
        chunks.chunk(&[4, 0]),
        Err(Error::InvalidShape { .. })
    ));
    assert!(matches!(
        chunks.chunk(&[0]),
        Err(Error::InvalidShape { .. })
    ));
    assert!(matches!(
        chunks.read_region(&[0..11, 0..10]),
        Err(Error::InvalidShape { .. })
    ));
    let edge = chunks.chunk(&[3, 3]).unwrap();
    assert_eq!(
        (edge.origin(), edge.view().shape()),
        (&[9, 9][..], &[1, 1][..])
    );
    assert_eq!(edge.view()[[0, 0]], 99);
}
