//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub use tempfile::TempDir;

/// A fresh temporary directory, removed when dropped.
pub fn tempdir() -> TempDir {
    tempfile::tempdir().expect("create temporary directory")
}

/// Whether to skip a test that compares with numpy: only when the
/// environment says `NDARRAY_MEMMAP_SKIP_NUMPY=1` (CI never does), with the
/// reason printed, so a machine without numpy can run the rest.
pub fn numpy_skipped() -> bool {
    let skip = std::env::var("NDARRAY_MEMMAP_SKIP_NUMPY").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("skipped: NDARRAY_MEMMAP_SKIP_NUMPY=1 (this test compares with numpy)");
    }
    skip
}

/// The interpreter of the tests' own Python environment: a virtual
/// environment under `target/tmp/python` holding the packages pinned in
/// `tests/python/requirements.txt`, made on first use by
/// `tests/python/ensure_env.py` (the same script `.ci/run` and the
/// benchmarks call) and reused while that file is unchanged.
///
/// # Panics
/// Without `python3` on the `PATH`, or when the environment cannot be made,
/// with one line saying what to install; `NDARRAY_MEMMAP_SKIP_NUMPY=1` skips
/// the tests that need it instead (see [`numpy_skipped`]).
pub fn python_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/ensure_env.py");
        let output = match Command::new("python3")
            .arg(&script)
            .arg(&dir)
            .stderr(Stdio::inherit())
            .output()
        {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "python3 not found: the interop tests need Python 3 with its venv module \
                 (Debian: apt-get install python3 python3-venv), or set \
                 NDARRAY_MEMMAP_SKIP_NUMPY=1 to skip them"
            ),
            Err(e) => panic!("could not run python3 {}: {e}", script.display()),
        };
        assert!(
            output.status.success(),
            "{} could not make the test Python environment in {} (its messages are above); \
             remove that directory and run the tests again, or set NDARRAY_MEMMAP_SKIP_NUMPY=1",
            script.display(),
            dir.display()
        );
        let printed = String::from_utf8(output.stdout).expect("ensure_env.py prints a UTF-8 path");
        PathBuf::from(printed.trim_end())
    })
}

/// Runs `python -c script args...` in the tests' Python environment
/// ([`python_exe`]) and returns its standard output.
pub fn python(script: &str, args: &[&str]) -> String {
    let output = python_command()
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run the test environment's python");
    assert!(
        output.status.success(),
        "python failed:\n--- script ---\n{script}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("python printed UTF-8")
}

/// A command running the tests' Python environment ([`python_exe`]).
pub fn python_command() -> Command {
    Command::new(python_exe())
}

/// Path as a `&str` for command lines.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// File length in bytes.
pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("stat").len()
}

/// `values` as native-endian bytes.
pub fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(f32::to_ne_bytes).collect()
}

/// Snapshot of a file's length and bytes, to prove a failed call left it alone.
pub struct Snapshot {
    path: PathBuf,
    bytes: Option<Vec<u8>>,
}

impl Snapshot {
    pub fn take(path: &Path) -> Snapshot {
        Snapshot {
            path: path.to_path_buf(),
            bytes: std::fs::read(path).ok(),
        }
    }

    pub fn assert_unchanged(&self) {
        let now = std::fs::read(&self.path).ok();
        assert!(
            now == self.bytes,
            "{} was modified by a failed call",
            self.path.display()
        );
    }
}

/// Name of the environment variable that tells a re-executed test binary
/// which child role to play.
pub const CHILD_ROLE: &str = "NDARRAY_MEMMAP_TEST_CHILD";

/// Re-runs this test binary, running only `test_name`, with `role` in
/// [`CHILD_ROLE`] and extra environment; the test sees the role and acts as
/// the child. Returns the child's output.
pub fn run_child(test_name: &str, role: &str, env: &[(&str, &str)]) -> Output {
    child_command(test_name, role, env)
        .output()
        .expect("run child test process")
}

/// The command [`run_child`] runs, for callers that need to spawn it themselves.
pub fn child_command(test_name: &str, role: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("current test binary"));
    command
        .args([
            self::test_name(test_name),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ROLE, role)
        .envs(env.iter().copied());
    command
}

/// The name libtest knows a test by, from its full path
/// (`concat!(module_path!(), "::name")`): the path without the crate.
pub fn test_name(path: &str) -> &str {
    path.split_once("::").map_or(path, |(_, name)| name)
}

/// The role this process plays, if it is a child started by [`run_child`].
pub fn child_role() -> Option<String> {
    std::env::var(CHILD_ROLE).ok()
}

/// Whether this process runs as root (which bypasses file permissions).
#[cfg(unix)]
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// numpy's `np.can_cast(a, b, 'safe')` for every pair of `descrs`: one row
/// per `a`, `Y` or `.` per `b`, separated by spaces.
pub fn numpy_safe_cast_table(descrs: &[&str]) -> String {
    python(
        r#"
import sys
import numpy as np
ds = sys.argv[1:]
for a in ds:
    print(" ".join("Y" if np.can_cast(a, b, "safe") else "." for b in ds))
"#,
        descrs,
    )
}

/// Runs `$body` with `$T` the Rust type of `$dtype`.
macro_rules! typed {
    ($dtype:expr, $T:ident => $body:expr) => {{
        let dtype: ndarray_memmap::DType = $dtype;
        match (dtype.kind, dtype.size) {
            (ndarray_memmap::Kind::Bool, 1) => {
                type $T = bool;
                $body
            }
            (ndarray_memmap::Kind::Int, 1) => {
                type $T = i8;
                $body
            }
            (ndarray_memmap::Kind::Int, 2) => {
                type $T = i16;
                $body
            }
            (ndarray_memmap::Kind::Int, 4) => {
                type $T = i32;
                $body
            }
            (ndarray_memmap::Kind::Int, 8) => {
                type $T = i64;
                $body
            }
            (ndarray_memmap::Kind::Uint, 1) => {
                type $T = u8;
                $body
            }
            (ndarray_memmap::Kind::Uint, 2) => {
                type $T = u16;
                $body
            }
            (ndarray_memmap::Kind::Uint, 4) => {
                type $T = u32;
                $body
            }
            (ndarray_memmap::Kind::Uint, 8) => {
                type $T = u64;
                $body
            }
            (ndarray_memmap::Kind::Float, 2) => {
                type $T = half::f16;
                $body
            }
            (ndarray_memmap::Kind::Float, 4) => {
                type $T = f32;
                $body
            }
            (ndarray_memmap::Kind::Float, 8) => {
                type $T = f64;
                $body
            }
            (ndarray_memmap::Kind::Complex, 8) => {
                type $T = num_complex::Complex<f32>;
                $body
            }
            (ndarray_memmap::Kind::Complex, 16) => {
                type $T = num_complex::Complex<f64>;
                $body
            }
            other => panic!("no type for {other:?}"),
        }
    }};
}

#[allow(unused_imports)]
pub(crate) use typed;
