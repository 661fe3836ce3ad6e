//! Helpers shared by the benchmark binaries: the size switch and timing
//! a Python side from inside a criterion run.
#![allow(dead_code)] // each bench uses a different subset

use std::process::Command;
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

/// Whether `python3` can import `module`; says so when it cannot, naming
/// what is skipped.
pub fn python_has(module: &str, skipping: &str) -> bool {
    let available = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        eprintln!("python3 with {module} not found: skipping {skipping}");
    }
    available
}

/// Runs `python3 args... iters`, whose only output is the seconds it
/// measured itself for `iters` iterations: an `iter_custom` timing.
pub fn python_seconds(args: &[&std::ffi::OsStr], iters: u64) -> Duration {
    let out = Command::new("python3")
        .args(args)
        .arg(iters.to_string())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seconds: f64 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("python printed the seconds");
    Duration::from_secs_f64(seconds)
}
