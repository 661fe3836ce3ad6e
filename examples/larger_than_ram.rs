//! Streams a `.npy` file larger than a memory budget, block by block, and
//! computes per-column statistics (min, max, mean, standard deviation) in
//! one pass, with no copy of the data; then times numpy's chunked
//! equivalent on the same file and prints the ratio.
//!
//! ```text
//! cargo run --release --example larger_than_ram -- [--budget-mib N] [--no-numpy] [FILE.npy]
//! ```
//!
//! Without a file, it writes one of twice the budget (f64, 16 columns) to a
//! temporary directory first, with the streaming `NpyWriter` (no map, so the
//! writing does not count against the budget). Blocks are an eighth of the
//! budget and read with `chunks().prefetch(true)`: a helper thread faults in
//! the next two blocks while this one is summarised. Pages of finished
//! blocks are released with `DontNeed` (they are clean file pages: nothing is
//! lost, and a hot file stays in the page cache), so resident memory is
//! about three blocks however large the file is. The peak reported is the
//! kernel's high-water mark (`VmHWM`), not a sample.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array2, ArrayView2, Ix2};
use ndarray_memmap::{read_npy_header, Advice, Element, Kind, Memmap, MemmapOptions, NpyWriter};
use num_traits::AsPrimitive;

const COLS: usize = 16;

/// Column sums, sums of squares, minima and maxima: what numpy's chunked
/// code keeps, updated row by row in one pass over each block.
struct Sums {
    count: usize,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
}

impl Sums {
    fn new(cols: usize) -> Sums {
        Sums {
            count: 0,
            sum: vec![0.0; cols],
            sum_sq: vec![0.0; cols],
            min: vec![f64::INFINITY; cols],
            max: vec![f64::NEG_INFINITY; cols],
        }
    }

    /// Folds a block in. Rows of a C-order block are contiguous, so the
    /// inner loop runs over one row's columns, beside the accumulators,
    /// and vectorises; no element is copied or converted into a new array.
    fn add<A: AsPrimitive<f64>>(&mut self, block: ArrayView2<'_, A>) {
        let cols = self.sum.len();
        self.count += block.nrows();
        let fold = |row: &[A], s: &mut Sums| {
            let lanes = s
                .sum
                .iter_mut()
                .zip(&mut s.sum_sq)
                .zip(&mut s.min)
                .zip(&mut s.max);
            for (&x, (((sum, sum_sq), min), max)) in row.iter().zip(lanes) {
                let x: f64 = x.as_();
                *sum += x;
                *sum_sq += x * x;
                *min = if x < *min { x } else { *min };
                *max = if x > *max { x } else { *max };
            }
        };
        match block.as_slice() {
            Some(flat) => flat.chunks_exact(cols).for_each(|row| fold(row, self)),
            // A Fortran-order file: rows are strided; fold them one by one.
            None => {
                let mut row = Vec::with_capacity(cols);
                for r in block.rows() {
                    row.clear();
                    row.extend(r.iter().copied());
                    fold(&row, self);
                }
            }
        }
    }
}

/// The process's peak resident memory so far, in MiB: the kernel's
/// high-water mark, which no sampling can miss.
fn peak_resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn stream<A: Element + AsPrimitive<f64>>(
    path: &Path,
    budget: usize,
) -> Result<f64, Box<dyn Error>> {
    // SAFETY: nothing else writes or truncates the file while we read it; the
    // shared advisory lock this takes keeps cooperating writers out.
    let data: Memmap<A, Ix2> = unsafe { MemmapOptions::new().open_npy(path) }?;
    let (rows, cols) = data.dim();
    let row_bytes = cols * std::mem::size_of::<A>();
    let rows_per_block = (budget / 8 / row_bytes.max(1)).max(1);
    println!(
        "streaming {} ({rows} x {cols}, {:.0} MiB) with a {} MiB budget, {rows_per_block} rows per block",
        path.display(),
        data.nbytes() as f64 / (1 << 20) as f64,
        budget >> 20
    );
    let bar = ProgressBar::new(data.nbytes() as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )?);
    let start = Instant::now();
    let mut sums = Sums::new(cols);
    for (i, block) in data.chunks(rows_per_block).prefetch(true).enumerate() {
        sums.add(block.view());
        // Release the pages just used: they are clean file pages, so this
        // loses nothing, and resident memory stays bounded.
        data.advise_rows(
            Advice::DontNeed,
            i * rows_per_block..(i + 1) * rows_per_block,
        )?;
        bar.inc((block.nrows() * row_bytes) as u64);
    }
    bar.finish();
    let seconds = start.elapsed().as_secs_f64();
    let n = sums.count as f64;
    println!("column        min          max         mean          std");
    for j in 0..cols {
        let mean = sums.sum[j] / n;
        let std = (sums.sum_sq[j] / n - mean * mean).max(0.0).sqrt();
        println!(
            "{j:>6} {:>12.4} {:>12.4} {:>12.4} {:>12.4}",
            sums.min[j], sums.max[j], mean, std
        );
    }
    let peak = peak_resident_mib();
    println!(
        "summary: {:.0} MiB in {seconds:.2} s = {:.2} GB/s; peak resident memory {peak:.0} MiB (VmHWM; budget {} MiB{})",
        data.nbytes() as f64 / (1 << 20) as f64,
        data.nbytes() as f64 / 1e9 / seconds,
        budget >> 20,
        if peak <= (budget >> 20) as f64 { ", kept" } else { ", EXCEEDED" }
    );
    Ok(seconds)
}

/// numpy's chunked equivalent: `np.load(mmap_mode='r')`, then per 2^20-row
/// block the column sums, sums of squares, minima and maxima. Its time and
/// its own peak resident memory in MiB, or `None` without python3 and numpy.
fn numpy_seconds(path: &Path) -> Option<(f64, f64)> {
    const SCRIPT: &str = "
import sys, time, numpy as np
start = time.perf_counter()
a = np.load(sys.argv[1], mmap_mode='r')
n, c = a.shape
s = np.zeros(c); ss = np.zeros(c); mn = np.full(c, np.inf); mx = np.full(c, -np.inf)
for i in range(0, n, 1 << 20):
    b = a[i:i + (1 << 20)]
    s += b.sum(axis=0); ss += (b * b).sum(axis=0)
    mn = np.minimum(mn, b.min(axis=0)); mx = np.maximum(mx, b.max(axis=0))
import resource
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
";
    // The tests' pinned environment when they have made it, else python3.
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/python/bin/python");
    let python = if venv.exists() {
        venv.as_path()
    } else {
        Path::new("python3")
    };
    let out = std::process::Command::new(python)
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some((fields.next()?.ok()?, fields.next()?.ok()?))
}

/// Writes `rows` x 16 test values with the streaming writer, block by block.
fn write_test_file(path: &Path, rows: usize) -> Result<(), Box<dyn Error>> {
    let mut out = NpyWriter::<f64>::create(path, &[COLS])?;
    let block = 1 << 16;
    for start in (0..rows).step_by(block) {
        let n = block.min(rows - start);
        let values = Array2::from_shape_fn((n, COLS), |(i, j)| {
            (((start + i) * 31 + j * 17) % 1000) as f64 / 10.0 + j as f64
        });
        out.write(&values)?;
    }
    out.finish()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut budget_mib = 256usize;
    let mut file = None;
    let mut compare = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--budget-mib" => {
                budget_mib = args.next().ok_or("--budget-mib needs a number")?.parse()?
            }
            "--no-numpy" => compare = false,
            _ => file = Some(PathBuf::from(arg)),
        }
    }
    let budget = budget_mib << 20;
    let temp = tempfile::tempdir()?;
    let path = match file {
        Some(path) => path,
        None => {
            let path = temp.path().join("large.npy");
            let rows = 2 * budget / (COLS * 8);
            println!(
                "writing {} MiB of test data to {}",
                (rows * COLS * 8) >> 20,
                path.display()
            );
            write_test_file(&path, rows)?;
            path
        }
    };
    let header = read_npy_header(&path)?;
    let ours = match (header.dtype()?.kind, header.dtype()?.size) {
        (Kind::Float, 8) => stream::<f64>(&path, budget),
        (Kind::Float, 4) => stream::<f32>(&path, budget),
        (Kind::Int, 8) => stream::<i64>(&path, budget),
        (Kind::Int, 4) => stream::<i32>(&path, budget),
        (Kind::Uint, 1) => stream::<u8>(&path, budget),
        _ => Err(format!(
            "{}: this example handles f8, f4, i8, i4 and u1 files, not {}",
            path.display(),
            header.descr
        )
        .into()),
    }?;
    if compare {
        match numpy_seconds(&path) {
            Some((theirs, their_peak)) => println!(
                "numpy's chunked equivalent on the same file, just after: {theirs:.2} s (its own peak resident memory {their_peak:.0} MiB); this example is {:.1}x faster",
                theirs / ours
            ),
            None => println!("python3 with numpy not found: no comparison"),
        }
    }
    Ok(())
}
