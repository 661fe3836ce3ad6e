//! Streams a `.npy` file larger than a memory budget, block by block, and
//! computes per-column statistics (min, max, mean, standard deviation).
//!
//! ```text
//! cargo run --release --example larger_than_ram -- [--budget-mib N] [FILE.npy]
//! ```
//!
//! Without a file, it writes one of twice the budget (f64, 16 columns) to a
//! temporary directory first. Blocks of a quarter of the budget are read
//! with `chunks().prefetch(true)`: a helper thread faults in the next two
//! blocks while this one is summarised, so the disk keeps reading. Pages of
//! finished blocks are released with `DontNeed`, so the process's resident
//! memory (this block and two ahead) stays within the budget however large
//! the file is.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array1, ArrayView2, Axis, Ix2};
use ndarray_memmap::{read_npy_header, Advice, Element, Kind, Memmap, MemmapOptions};
use num_traits::ToPrimitive;

const COLS: usize = 16;

/// Running per-column statistics (Chan et al.'s parallel update of mean and M2).
struct Stats {
    count: f64,
    min: Array1<f64>,
    max: Array1<f64>,
    mean: Array1<f64>,
    m2: Array1<f64>,
}

impl Stats {
    fn new(cols: usize) -> Stats {
        Stats {
            count: 0.0,
            min: Array1::from_elem(cols, f64::INFINITY),
            max: Array1::from_elem(cols, f64::NEG_INFINITY),
            mean: Array1::zeros(cols),
            m2: Array1::zeros(cols),
        }
    }

    fn add<A: ToPrimitive + Copy>(&mut self, block: ArrayView2<'_, A>) {
        let block = block.mapv(|x| x.to_f64().unwrap_or(f64::NAN));
        let n = block.nrows() as f64;
        if n == 0.0 {
            return;
        }
        let mean = block.mean_axis(Axis(0)).expect("non-empty block");
        let m2 = block.var_axis(Axis(0), 0.0) * n;
        for (j, column) in block.columns().into_iter().enumerate() {
            self.min[j] = column.fold(self.min[j], |a, &b| a.min(b));
            self.max[j] = column.fold(self.max[j], |a, &b| a.max(b));
        }
        let total = self.count + n;
        let delta = &mean - &self.mean;
        self.m2 = &self.m2 + &m2 + &delta * &delta * (self.count * n / total);
        self.mean = &self.mean + &delta * (n / total);
        self.count = total;
    }
}

fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn stream<A: Element + ToPrimitive + Copy>(
    path: &PathBuf,
    budget: usize,
) -> Result<(), Box<dyn Error>> {
    // SAFETY: nothing else writes or truncates the file while we read it; the
    // shared advisory lock this takes keeps cooperating writers out.
    let data: Memmap<A, Ix2> = unsafe { MemmapOptions::new().open_npy(path) }?;
    let (rows, cols) = data.dim();
    let row_bytes = cols * std::mem::size_of::<A>();
    let rows_per_block = (budget / 4 / row_bytes.max(1)).max(1);
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
    let mut stats = Stats::new(cols);
    let mut peak_rss = resident_mib();
    for (i, block) in data.chunks(rows_per_block).prefetch(true).enumerate() {
        stats.add(block.view());
        // Release the pages just used: they are clean file pages, so this
        // loses nothing, and resident memory stays bounded.
        data.advise_rows(
            Advice::DontNeed,
            i * rows_per_block..(i + 1) * rows_per_block,
        )?;
        bar.inc((block.nrows() * row_bytes) as u64);
        peak_rss = peak_rss.max(resident_mib());
    }
    bar.finish();
    let seconds = start.elapsed().as_secs_f64();
    let std = stats.m2.mapv(|m2| (m2 / stats.count).sqrt());
    println!("column        min          max         mean          std");
    for j in 0..cols {
        println!(
            "{j:>6} {:>12.4} {:>12.4} {:>12.4} {:>12.4}",
            stats.min[j], stats.max[j], stats.mean[j], std[j]
        );
    }
    println!(
        "summary: {:.0} MiB in {seconds:.2} s = {:.2} GB/s; peak resident memory {peak_rss:.0} MiB (budget {} MiB)",
        data.nbytes() as f64 / (1 << 20) as f64,
        data.nbytes() as f64 / 1e9 / seconds,
        budget >> 20
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut budget_mib = 256usize;
    let mut file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--budget-mib" => {
                budget_mib = args.next().ok_or("--budget-mib needs a number")?.parse()?
            }
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
            // SAFETY: a new file in our own temporary directory.
            let mut out = unsafe {
                MemmapOptions::new()
                    .shape((rows, COLS))
                    .create_npy::<f64, Ix2>(&path)
            }?;
            for (i, mut row) in out.rows_mut().into_iter().enumerate() {
                for (j, x) in row.iter_mut().enumerate() {
                    *x = ((i * 31 + j * 17) % 1000) as f64 / 10.0 + j as f64;
                }
            }
            out.close()?;
            path
        }
    };
    let header = read_npy_header(&path)?;
    match (header.dtype()?.kind, header.dtype()?.size) {
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
    }
}
