//! Helpers shared by the benchmark binaries: the size switch and timing
//! a Python side from inside a criterion run.
#![allow(dead_code)] // each bench uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The bytes a benchmark works on: `NDARRAY_MEMMAP_BENCH_SIZE=smoke` (for
/// CI), unset, or `full` (the published figures).
pub fn bench_size(smoke: usize, default: usize, full: usize) -> usize {
    match std::env::var("NDARRAY_MEMMAP_BENCH_SIZE").as_deref() {
        Ok("smoke") => smoke,
        Ok("full") => full,
        _ => default,
    }
}

/// The interpreter of the tests' pinned Python environment
/// (`tests/python/ensure_env.py`, made on first use), or `None` without
/// `python3`, said once.
pub fn python_exe() -> Option<&'static Path> {
    static EXE: OnceLock<Option<PathBuf>> = OnceLock::new();
    EXE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/ensure_env.py");
        let out = Command::new("python3")
            .arg(&script)
            .arg(&dir)
            .stderr(Stdio::inherit())
            .output();
        match out {
            Ok(out) if out.status.success() => Some(PathBuf::from(
                String::from_utf8_lossy(&out.stdout).trim_end().to_owned(),
            )),
            _ => {
                eprintln!(
                    "no test Python environment (python3 {} failed): skipping the Python sides",
                    script.display()
                );
                None
            }
        }
    })
    .as_deref()
}

/// Whether the pinned Python environment can import `module`; says so when
/// it cannot, naming what is skipped.
pub fn python_has(module: &str, skipping: &str) -> bool {
    let Some(python) = python_exe() else {
        return false;
    };
    let available = Command::new(python)
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        eprintln!("python with {module} not found: skipping {skipping}");
    }
    available
}

/// Runs `python args... iters` (the pinned environment's), whose only output is the seconds it
/// measured itself for `iters` iterations: an `iter_custom` timing.
pub fn python_seconds(args: &[&std::ffi::OsStr], iters: u64) -> Duration {
    program_seconds(python_exe().expect("checked by python_has"), args, iters)
}

/// Runs `program args... iters`, whose first output word is the seconds it
/// measured itself for `iters` iterations: an `iter_custom` timing of a
/// peer in another process (Python, or a binary of its own).
pub fn program_seconds(program: &Path, args: &[&std::ffi::OsStr], iters: u64) -> Duration {
    let out = Command::new(program)
        .args(args)
        .arg(iters.to_string())
        .output()
        .expect("run the peer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seconds: f64 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("the peer printed the seconds");
    Duration::from_secs_f64(seconds)
}

/// The median and the spread (largest minus smallest) of `seconds`.
pub fn median_and_spread(seconds: &[f64]) -> (f64, f64) {
    let mut sorted = seconds.to_vec();
    sorted.sort_by(f64::total_cmp);
    match (sorted.first(), sorted.last()) {
        (Some(min), Some(max)) => (sorted[sorted.len() / 2], max - min),
        _ => (f64::NAN, f64::NAN),
    }
}

/// `sync(2)`: every file's dirty pages on disk, so that a timed variant
/// does not pay for the write-back of the one before.
pub fn sync_all() {
    let _ = Command::new("sync").status();
}
