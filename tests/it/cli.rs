//! The `npy` command end to end, on files NumPy wrote: exit codes, output,
//! a big-endian file, a damaged file, and `convert` against numpy's
//! `astype` + `np.save` byte for byte for every pair numpy calls safe.
#![cfg(feature = "cli")]

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{python, s, tempdir};

const DESCRS: [&str; 14] = [
    "|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8", "<c8",
    "<c16",
];

fn npy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npy"))
        .args(args)
        .output()
        .expect("run npy")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The value after `key` on its line of `npy` output.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.strip_prefix(key).map(str::trim))
        .unwrap_or_else(|| panic!("no {key:?} in:\n{text}"))
}

/// Files numpy writes for these tests.
const WRITE: &str = r#"
import sys
from pathlib import Path
import numpy as np
out = Path(sys.argv[1])
f = np.arange(24, dtype="<f8").reshape(4, 6) * 0.5 - 3
f[1, 2] = np.nan
np.save(out / "floats.npy", f)
np.save(out / "big.npy", (np.arange(12) * 37 - 100).astype(">i4").reshape(3, 4))
np.save(out / "fortran.npy", np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)))
np.save(out / "complex.npy", np.array([1 + 2j, 3 - 1j, np.nan, -1 + 0j], dtype=np.complex64))
np.save(out / "flags.npy", np.array([True, False, True]))
np.save(out / "half.npy", np.zeros(3, dtype="<f2"))
np.save(out / "text.npy", np.zeros(3, dtype="<U3"))
np.save(out / "empty.npy", np.zeros((0, 3), dtype="<u2"))
rng = np.random.default_rng(7)
np.save(out / "large.npy", rng.normal(size=(3_000_000,)))
open(out / "damaged.npy", "wb").write(open(out / "floats.npy", "rb").read()[:150])
open(out / "garbage.npy", "wb").write(b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}    \n")
for d, descr in enumerate(sys.argv[2:]):
    dt = np.dtype(descr)
    i = np.arange(12)
    if dt.kind == "b": flat = i % 3 == 0
    elif dt.kind == "i": flat = (i * 37 + 11) % 251 - 125
    elif dt.kind == "u": flat = (i * 37 + 11) % 251
    elif dt.kind == "f": flat = i * 0.75 + 0.5
    else: flat = (i * 0.5 + 0.25) - 1j * (i + 1)
    a = flat.astype(dt).reshape(3, 4)
    np.save(out / f"src_{d}_C.npy", a)
    np.save(out / f"src_{d}_F.npy", np.asfortranarray(a))
"#;

fn numpy_files() -> common::TempDir {
    let dir = tempdir();
    python(WRITE, &[&[s(dir.path())], &DESCRS[..]].concat());
    dir
}

fn path(dir: &Path, name: &str) -> String {
    s(&dir.join(name)).to_owned()
}

#[test]
fn info_shows_headers_and_whether_each_file_maps() {
    if common::numpy_skipped() {
        return;
    }
    let dir = numpy_files();
    let out = npy(&[
        "info",
        &path(dir.path(), "floats.npy"),
        &path(dir.path(), "big.npy"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (floats, big) = text.split_once("\n\n").unwrap();
    assert_eq!(field(floats, "dtype"), "<f8");
    assert_eq!(field(floats, "shape"), "(4, 6)");
    assert_eq!(field(floats, "order"), "C");
    assert_eq!(field(floats, "header"), "128 bytes");
    assert_eq!(field(floats, "data"), "192 bytes (24 elements)");
    assert_eq!(field(floats, "trailing"), "0 bytes");
    assert_eq!(field(floats, "mappable"), "yes");
    assert_eq!(field(big, "dtype"), ">i4");
    assert!(
        field(big, "mappable").starts_with("no: \">i4\" is not in this machine's byte order"),
        "{big}"
    );

    let fortran = stdout(&npy(&["info", &path(dir.path(), "fortran.npy")]));
    assert_eq!(field(&fortran, "order"), "F");
    let half = stdout(&npy(&["info", &path(dir.path(), "half.npy")]));
    assert_eq!(
        (field(&half, "dtype"), field(&half, "mappable")),
        ("<f2", "yes")
    );
    let text = npy(&["info", &path(dir.path(), "text.npy")]);
    assert!(text.status.success());
    assert!(field(&stdout(&text), "mappable").contains("unsupported dtype \"<U3\""));
}

#[test]
fn a_damaged_file_is_one_line_naming_it_and_exit_code_1() {
    if common::numpy_skipped() {
        return;
    }
    let dir = numpy_files();
    let (damaged, garbage) = (
        path(dir.path(), "damaged.npy"),
        path(dir.path(), "garbage.npy"),
    );
    let good = path(dir.path(), "flags.npy");
    // info reports a file cut short (its header is fine) and fails on a
    // damaged header, showing the other files all the same.
    let out = npy(&["info", &damaged, &garbage, &good]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let (cut_short, flags) = text.split_once("\n\n").unwrap();
    assert_eq!(
        field(cut_short, "missing"),
        "170 bytes: the file is cut short"
    );
    assert!(
        field(cut_short, "mappable").starts_with("no: "),
        "{cut_short}"
    );
    assert_eq!(field(flags, "dtype"), "|b1");
    let errors = stderr(&out);
    assert_eq!(errors.lines().count(), 1, "{errors}");
    assert!(
        errors.starts_with(&format!("npy: {garbage}: invalid .npy header")),
        "{errors}"
    );
    for command in [
        &["head", &damaged][..],
        &["stats", &damaged],
        &["convert", &damaged, "x.npy", "--dtype", "f8"],
    ] {
        let out = npy(command);
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        let errors = stderr(&out);
        assert_eq!(errors.lines().count(), 1, "{command:?}: {errors}");
        assert!(errors.starts_with(&format!("npy: {damaged}: ")), "{errors}");
        assert!(
            errors.contains("is 150 bytes long, but offset 128 plus 192 bytes"),
            "{errors}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["head"],
        &["head", "a.npy", "many"],
        &["stats"],
        &["convert", "a.npy"],
        &["convert", "a.npy", "b.npy"],
        &["convert", "a.npy", "b.npy", "--dtype", "float99"],
        &[
            "convert",
            "a.npy",
            "b.npy",
            "--dtype",
            "f4",
            "--byteorder",
            "middle",
        ],
        &["convert", "a.npy", "b.npy", "--dtype", "f4", "--bogus"],
        &["convert", "a.npy", "b.npy", "--dtype", "f4", "--order", "Z"],
        &[
            "convert",
            "a.npy",
            "b.npy",
            "--dtype",
            ">f4",
            "--byteorder",
            "little",
        ],
    ] {
        let out = npy(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("usage:"), "{args:?}");
    }
}

#[test]
fn head_prints_the_first_values_in_c_order() {
    if common::numpy_skipped() {
        return;
    }
    let dir = numpy_files();
    let expected = python(
        r#"
import sys
import numpy as np
for name in sys.argv[2:]:
    a = np.load(sys.argv[1] + "/" + name)
    print(name, " ".join(repr(x.item()) for x in a.ravel()[:5]))
"#,
        &[
            s(dir.path()),
            "fortran.npy",
            "big.npy",
            "floats.npy",
            "flags.npy",
        ],
    );
    for line in expected.lines() {
        let (name, values) = line.split_once(' ').unwrap();
        let out = npy(&["head", &path(dir.path(), name), "5"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let ours: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
        let theirs: Vec<&str> = values.split(' ').collect();
        assert_eq!(ours.len(), theirs.len(), "{name}");
        for (a, b) in ours.iter().zip(theirs) {
            match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(a), Ok(b)) => {
                    assert!(a == b || (a.is_nan() && b.is_nan()), "{name}: {a} vs {b}")
                }
                _ => assert_eq!(a, b, "{name}"),
            }
        }
    }
    // The default is 10 values; fewer when the array is shorter.
    assert_eq!(
        stdout(&npy(&["head", &path(dir.path(), "floats.npy")]))
            .lines()
            .count(),
        10
    );
    assert_eq!(
        stdout(&npy(&["head", &path(dir.path(), "flags.npy")]))
            .lines()
            .count(),
        3
    );
}

#[test]
fn stats_match_numpys_nan_aware_reductions() {
    if common::numpy_skipped() {
        return;
    }
    let dir = numpy_files();
    let names = [
        "floats.npy",
        "big.npy",
        "large.npy",
        "flags.npy",
        "fortran.npy",
        "complex.npy",
    ];
    let expected = python(
        r#"
import sys
import numpy as np
for name in sys.argv[2:]:
    a = np.load(sys.argv[1] + "/" + name)
    nan = int(np.isnan(a).sum()) if a.dtype.kind in "fc" else 0
    ok = a[~np.isnan(a)] if a.dtype.kind in "fc" else a.ravel()
    mean = ok.astype(np.complex128 if a.dtype.kind == "c" else np.float64).mean()
    print(name, a.size, nan, complex(ok.min()), complex(ok.max()), complex(mean))
"#,
        &[&[s(dir.path())], &names[..]].concat(),
    );
    let complex = |text: &str| -> (f64, f64) {
        // numpy's `complex(...)` and our values: "(1+2j)", "1.5", "True".
        let t = text.trim_matches(|c| c == '(' || c == ')');
        match t {
            "True" => return (1.0, 0.0),
            "False" => return (0.0, 0.0),
            _ => {}
        }
        match t.strip_suffix('j') {
            None => (t.parse().unwrap(), 0.0),
            Some(body) => {
                // The sign between the parts: not the first character, not an exponent's.
                let bytes = body.as_bytes();
                let split = (1..bytes.len()).rev().find(|&i| {
                    matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E')
                });
                match split {
                    Some(i) => (body[..i].parse().unwrap(), body[i..].parse().unwrap()),
                    None => (0.0, body.parse().unwrap()), // Python's "0j", "2.5j"
                }
            }
        }
    };
    let close = |a: (f64, f64), b: (f64, f64)| {
        let near = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
        near(a.0, b.0) && near(a.1, b.1)
    };
    for line in expected.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let name = parts[0];
        let out = npy(&["stats", &path(dir.path(), name)]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let text = stdout(&out);
        assert_eq!(field(&text, "count"), parts[1], "{name}");
        assert_eq!(field(&text, "nan"), parts[2], "{name}");
        for (key, theirs) in [("min", parts[3]), ("max", parts[4]), ("mean", parts[5])] {
            let ours = field(&text, key);
            assert!(
                close(complex(ours), complex(theirs)),
                "{name} {key}: {ours} vs {theirs}"
            );
        }
    }
    let empty = stdout(&npy(&["stats", &path(dir.path(), "empty.npy")]));
    assert_eq!((field(&empty, "count"), field(&empty, "min")), ("0", "-"));
}

#[test]
fn convert_is_astype_then_np_save_for_every_safe_pair() {
    if common::numpy_skipped() {
        return;
    }
    let dir = numpy_files();
    let table = common::numpy_safe_cast_table(&DESCRS);
    let mut pairs = Vec::new();
    let safe = table.matches('Y').count();
    for (d, row) in table.lines().enumerate() {
        for (t, cell) in row.split(' ').enumerate() {
            for order in ["C", "F"] {
                let input = path(dir.path(), &format!("src_{d}_{order}.npy"));
                let output = path(dir.path(), &format!("out_{d}_{t}_{order}.npy"));
                let out = npy(&["convert", &input, &output, "--dtype", DESCRS[t]]);
                if cell == "Y" {
                    assert!(
                        out.status.success(),
                        "{} -> {}: {}",
                        DESCRS[d],
                        DESCRS[t],
                        stderr(&out)
                    );
                    pairs.push(format!("{d}:{t}:{order}"));
                } else {
                    assert_eq!(out.status.code(), Some(1), "{} -> {}", DESCRS[d], DESCRS[t]);
                    assert!(stderr(&out).contains("--lossy"), "{}", stderr(&out));
                    assert!(
                        !Path::new(&output).exists(),
                        "a refused convert wrote {output}"
                    );
                }
            }
        }
    }
    assert_eq!(pairs.len(), 2 * safe);
    assert_eq!(safe, 80, "numpy's safe-cast table for these 14 dtypes");
    let verdict = python(
        r#"
import io, sys
import numpy as np
out = sys.argv[1]; ds = sys.argv[2].split(); bad = []
for pair in sys.argv[3:]:
    d, t, order = pair.split(":")
    a = np.load(f"{out}/src_{d}_{order}.npy")
    want = io.BytesIO(); np.save(want, a.astype(ds[int(t)]))
    ours = open(f"{out}/out_{d}_{t}_{order}.npy", "rb").read()
    if ours != want.getvalue(): bad.append(pair)
print(len(sys.argv) - 3, "compared;", len(bad), "differ", bad[:5])
"#,
        &[
            &[s(dir.path()), &DESCRS.join(" ")],
            &pairs.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ]
        .concat(),
    );
    assert!(verdict.contains(" compared; 0 differ"), "{verdict}");
}

#[test]
fn convert_options_order_byte_order_lossy_and_big_endian_input() {
    if common::numpy_skipped() {
        return;
    }
    let dir = numpy_files();
    let p = |name: &str| path(dir.path(), name);
    let run = |args: &[&str]| {
        let out = npy(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    run(&[
        "convert",
        &p("big.npy"),
        &p("o_native.npy"),
        "--dtype",
        "i8",
    ]);
    run(&[
        "convert",
        &p("floats.npy"),
        &p("o_f.npy"),
        "--dtype",
        "f8",
        "--order",
        "F",
        "--byteorder",
        "big",
    ]);
    run(&[
        "convert",
        &p("floats.npy"),
        &p("o_lossy.npy"),
        "--dtype",
        "float32",
        "--lossy",
    ]);
    // A byte order in the dtype is written as asked (np.save of astype('>f4')).
    for (input, descr, name) in [
        ("floats.npy", ">f4", "o_big_f4"),
        ("big.npy", ">i8", "o_big_i8"),
        ("complex.npy", ">c8", "o_big_c8"),
    ] {
        run(&[
            "convert",
            &p(input),
            &p(&format!("{name}.npy")),
            "--dtype",
            descr,
            "--lossy",
        ]);
    }
    // astype's order='K' and 'A' keep a Fortran array Fortran; 'C' does not.
    for order in ["K", "A", "C"] {
        let out = p(&format!("o_order_{order}.npy"));
        run(&[
            "convert",
            &p("fortran.npy"),
            &out,
            "--dtype",
            "i4",
            "--order",
            order,
        ]);
    }
    let verdict = python(
        r#"
import io, sys
import numpy as np
d = sys.argv[1]
def saved(a):
    b = io.BytesIO(); np.save(b, a); return b.getvalue()
checks = [
    ("o_native", saved(np.load(d + "/big.npy").astype("<i8"))),
    ("o_f", saved(np.asfortranarray(np.load(d + "/floats.npy").astype(">f8")))),
    ("o_lossy", saved(np.load(d + "/floats.npy").astype("<f4"))),
    ("o_big_f4", saved(np.load(d + "/floats.npy").astype(">f4"))),
    ("o_big_i8", saved(np.load(d + "/big.npy").astype(">i8"))),
    ("o_big_c8", saved(np.load(d + "/complex.npy").astype(">c8"))),
] + [
    (f"o_order_{o}", saved(np.load(d + "/fortran.npy").astype("<i4", order=o))) for o in "KAC"
]
print(" ".join(name for name, want in checks if open(f"{d}/{name}.npy", "rb").read() != want) or "all equal")
"#,
        &[s(dir.path())],
    );
    assert_eq!(verdict.trim(), "all equal");
    // OUT may not be IN, not even through another name.
    let alias = dir.path().join("alias.npy");
    std::fs::hard_link(dir.path().join("floats.npy"), &alias).unwrap();
    let out = npy(&["convert", &p("floats.npy"), s(&alias), "--dtype", "f8"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// `npy` on Zarr: `convert` from `.npy` to a new Zarr array (read equal by
/// zarr-python, dimension names included) and back (the same bytes as the
/// source), and `info`, `head` and `stats` of the Zarr array agreeing with
/// those of the `.npy`; a compressed array written by zarr-python is
/// refused by name.
#[cfg(feature = "zarr")]
#[test]
fn convert_info_head_and_stats_take_zarr_arrays() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let d = |name: &str| dir.path().join(name);
    python(
        "import sys, numpy as np, zarr
a = (np.arange(3000 * 7, dtype='<f4').reshape(3000, 7) - 100) / 4
a[5, 3] = np.nan
np.save(sys.argv[1], a)
zarr.create_array(store=sys.argv[2], shape=(10,), chunks=(5,), dtype='f8')[...] = np.ones(10)",
        &[s(&d("a.npy")), s(&d("zstd.zarr"))],
    );
    let ok = |args: &[&str]| {
        let out = npy(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    ok(&[
        "convert",
        s(&d("a.npy")),
        s(&d("a.zarr")),
        "--dtype",
        "<f4",
        "--chunks",
        "1000,4",
    ]);
    ok(&[
        "convert",
        s(&d("a.npy")),
        s(&d("f.zarr")),
        "--dtype",
        ">f8",
        "--order",
        "F",
    ]);
    let checked = python(
        "import sys, numpy as np, zarr
a = np.load(sys.argv[1])
for path, dtype in [(sys.argv[2], '<f4'), (sys.argv[3], '>f8')]:
    z = zarr.open_array(path, mode='r')
    assert z.metadata.dimension_names == ('dim_0', 'dim_1'), z.metadata.dimension_names
    # zarr-python 3 reports the native dtype; the byte order is the bytes codec's.
    assert np.array_equal(z[...], a.astype(dtype), equal_nan=True) and z.dtype == np.dtype(dtype).newbyteorder('='), path
print(zarr.open_array(sys.argv[2]).chunks)",
        &[s(&d("a.npy")), s(&d("a.zarr")), s(&d("f.zarr"))],
    );
    assert_eq!(checked.trim(), "(1000, 4)");
    let stored = std::fs::read_to_string(d("f.zarr/zarr.json")).unwrap();
    assert!(
        stored.contains("\"endian\": \"big\"") && stored.contains("\"transpose\""),
        "{stored}"
    );
    // Back to .npy: the same bytes as the source.
    ok(&[
        "convert",
        s(&d("a.zarr")),
        s(&d("back.npy")),
        "--dtype",
        "<f4",
    ]);
    assert_eq!(
        std::fs::read(d("back.npy")).unwrap(),
        std::fs::read(d("a.npy")).unwrap()
    );
    ok(&[
        "convert",
        s(&d("f.zarr")),
        s(&d("back8.npy")),
        "--dtype",
        "<f8",
    ]);
    // info, head and stats agree with the .npy's.
    let info = ok(&["info", s(&d("a.zarr"))]);
    assert_eq!(field(&info, "shape"), "(3000, 7)");
    assert_eq!(field(&info, "chunks"), "(1000, 4)");
    assert_eq!(field(&info, "dims"), "dim_0, dim_1");
    assert!(
        field(&info, "stored").starts_with("6 chunk files for 6 chunks"),
        "{info}"
    );
    assert_eq!(
        ok(&["head", s(&d("a.zarr")), "12"]),
        ok(&["head", s(&d("a.npy")), "12"])
    );
    let (zarr_stats, npy_stats) = (
        ok(&["stats", s(&d("a.zarr"))]),
        ok(&["stats", s(&d("a.npy"))]),
    );
    for key in ["count", "nan", "min", "max"] {
        assert_eq!(field(&zarr_stats, key), field(&npy_stats, key), "{key}");
    }
    let stats8 = ok(&["stats", s(&d("f.zarr"))]);
    assert_eq!(field(&stats8, "max"), field(&npy_stats, "max"));
    // A compressed array: refused by name, with the way out.
    let out = npy(&["stats", s(&d("zstd.zarr"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("\"zstd\"") && stderr(&out).contains("compressors=None"),
        "{}",
        stderr(&out)
    );
    // --chunks needs one length per axis, and a Zarr OUT.
    let out = npy(&[
        "convert",
        s(&d("a.npy")),
        s(&d("c.zarr")),
        "--dtype",
        "<f4",
        "--chunks",
        "10",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 lengths, but the array has 2 axes"),
        "{}",
        stderr(&out)
    );
    let out = npy(&[
        "convert",
        s(&d("a.npy")),
        s(&d("c.npy")),
        "--dtype",
        "<f4",
        "--chunks",
        "10,7",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // convert never overwrites a Zarr array.
    let out = npy(&["convert", s(&d("a.npy")), s(&d("a.zarr")), "--dtype", "<f4"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// `npy` on HDF5: `info` lists an `.h5` file's datasets with their layout
/// and whether each maps (or why not); `head`, `stats` and `convert` take
/// `FILE.h5:/path`, contiguous (mapped) or chunked and big-endian (read in
/// slabs), and `convert` writes what `np.save(dset[...])` writes.
#[cfg(feature = "hdf5")]
#[test]
fn info_head_stats_and_convert_take_hdf5_datasets() {
    if common::numpy_skipped() {
        return;
    }
    let dir = tempdir();
    let d = |name: &str| dir.path().join(name);
    python(
        "import sys, numpy as np, h5py
a = (np.arange(3000 * 7, dtype='<f4').reshape(3000, 7) - 100) / 4
a[5, 3] = np.nan
with h5py.File(sys.argv[1], 'w') as f:
    f['g/contig'] = a
    f.create_dataset('g/chunked_be', data=a.astype('>f8'), chunks=(128, 3))
    f.create_dataset('g/gzip', data=a, chunks=(100, 7), compression='gzip')
    np.save(sys.argv[2], a)
    np.save(sys.argv[3], a.astype('<f8'))",
        &[s(&d("a.h5")), s(&d("a.npy")), s(&d("a8.npy"))],
    );
    let run = |args: &[&str]| {
        let out = npy(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let info = run(&["info", s(&d("a.h5"))]);
    assert!(info.contains("format    hdf5 (superblock v0)"), "{info}");
    assert!(
        info.contains("dataset   /g/contig <f4 (3000, 7) contiguous at byte "),
        "{info}"
    );
    assert!(
        info.contains(
            "/g/chunked_be >f8 (3000, 7) chunks (128, 3) (version-1 B-tree); byte order not native"
        ),
        "{info}"
    );
    assert!(
        info.contains("/g/gzip <f4 (3000, 7) chunks (100, 7) (version-1 B-tree); does not map: ")
            && info.contains("gzip (deflate)"),
        "{info}"
    );
    let contig = format!("{}:/g/contig", s(&d("a.h5")));
    let chunked = format!("{}:/g/chunked_be", s(&d("a.h5")));
    let stats_npy = run(&["stats", s(&d("a.npy"))]);
    assert_eq!(run(&["stats", &contig]), stats_npy);
    assert_eq!(
        run(&["head", &chunked, "20"]),
        run(&["head", s(&d("a8.npy")), "20"])
    );
    run(&["convert", &contig, s(&d("c.npy")), "--dtype", "<f4"]);
    run(&["convert", &chunked, s(&d("b.npy")), "--dtype", "<f8"]);
    assert_eq!(
        std::fs::read(d("c.npy")).unwrap(),
        std::fs::read(d("a.npy")).unwrap()
    );
    assert_eq!(
        std::fs::read(d("b.npy")).unwrap(),
        std::fs::read(d("a8.npy")).unwrap()
    );
    // To HDF5: a new file, then a second dataset added to it; h5py reads both.
    let new = format!("{}:/x/contig", s(&d("ours.h5")));
    run(&["convert", s(&d("a.npy")), &new, "--dtype", "<f4"]);
    run(&[
        "convert",
        &chunked,
        &format!("{}:/x/be_as_f8", s(&d("ours.h5"))),
        "--dtype",
        "<f8",
    ]);
    run(&["convert", &new, s(&d("round.npy")), "--dtype", "<f4"]);
    // From a Zarr array too (the issue's "and from a Zarr array").
    run(&[
        "convert",
        s(&d("a.npy")),
        s(&d("via.zarr")),
        "--dtype",
        "<f4",
    ]);
    run(&[
        "convert",
        s(&d("via.zarr")),
        &format!("{}:/x/from_zarr", s(&d("ours.h5"))),
        "--dtype",
        "<f4",
    ]);
    assert_eq!(
        std::fs::read(d("round.npy")).unwrap(),
        std::fs::read(d("a.npy")).unwrap()
    );
    let checked = python(
        "import sys, numpy as np, h5py
a = np.load(sys.argv[1])
with h5py.File(sys.argv[2], 'r') as f:
    assert np.array_equal(f['x/contig'][...], a, equal_nan=True) and f['x/contig'].dtype == '<f4'
    assert np.array_equal(f['x/be_as_f8'][...], a.astype('<f8'), equal_nan=True)
    assert np.array_equal(f['x/from_zarr'][...], a, equal_nan=True) and f['x/from_zarr'].dtype == '<f4'
    print(f['x/contig'].chunks, f['x/contig'].id.get_offset() % 4)",
        &[s(&d("a.npy")), s(&d("ours.h5"))],
    );
    assert_eq!(checked.trim(), "None 0");
    // h5py's own file gets no dataset from us: refused by name.
    let out = npy(&[
        "convert",
        s(&d("a.npy")),
        &format!("{}:/new", s(&d("a.h5"))),
        "--dtype",
        "<f4",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("superblock version 0"),
        "{}",
        stderr(&out)
    );
    // A filtered dataset is refused by name, exit 1.
    let out = npy(&["stats", &format!("{}:/g/gzip", s(&d("a.h5")))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("gzip"), "{}", stderr(&out));
}
