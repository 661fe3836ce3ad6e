//! The README's main job: create a file-backed array, fill it, reopen it,
//! and run ordinary ndarray code on it, saying what happens at each step.
//!
//! Run with `cargo run --release --example quickstart [DIR]`; the files go
//! to a temporary directory unless DIR is given.

use std::error::Error;
use std::time::Instant;

use ndarray::{s, Array1, Array2, Axis, Ix2};
use ndarray_memmap::{read_npy_header, MemmapExt, MemmapOptions};

const ROWS: usize = 1_000_000;
const COLS: usize = 8;

fn main() -> Result<(), Box<dyn Error>> {
    let temp = tempfile::tempdir()?;
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("measurements.npy");
    let mb = (ROWS * COLS * 8) as f64 / 1e6;

    // 1. Create a zero-filled .npy file of 1,000,000 x 8 f64 and map it: numpy's
    //    open_memmap(path, mode='w+', dtype='<f8', shape=(1000000, 8)).
    let start = Instant::now();
    // SAFETY: the file is new, in a directory of our own, and nothing else
    // writes or truncates it while it is mapped.
    let mut array = unsafe { Array2::<f64>::create_npy(&path, (ROWS, COLS)) }?;
    println!(
        "created  {} ({mb:.0} MB) in {:.1} ms",
        path.display(),
        ms(start)
    );

    // 2. Fill it with ordinary ndarray code: column j of row i holds i * (j + 1) / ROWS.
    let start = Instant::now();
    for (i, mut row) in array.axis_iter_mut(Axis(0)).enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = (i * (j + 1)) as f64 / ROWS as f64;
        }
    }
    array.close()?; // flush to disk and report any error
    println!(
        "filled   and flushed in {:.1} ms ({:.2} GB/s)",
        ms(start),
        mb / 1e3 / start.elapsed().as_secs_f64()
    );

    // 3. Reopen read-only: O(1), nothing is read until it is touched.
    let start = Instant::now();
    // SAFETY: as above.
    let data = unsafe { MemmapOptions::new().open_npy::<f64, Ix2>(&path) }?;
    println!("reopened {data:?} in {:.3} ms", ms(start));
    let header = read_npy_header(&path)?;
    println!(
        "header   version {}.{}, descr {}, shape {:?}, data at byte {}",
        header.version.0, header.version.1, header.descr, header.shape, header.data_offset
    );

    // 4. Ordinary ndarray algorithms, unchanged.
    let start = Instant::now();
    let means: Array1<f64> = data.mean_axis(Axis(0)).ok_or("no rows")?;
    let total = data.sum();
    let last_rows = data.slice(s![-3.., ..]).to_owned();
    let dot = data.column(0).dot(&data.column(7));
    println!("computed in {:.1} ms:", ms(start));
    println!("  sum of all elements      {total:.3}");
    println!("  column means             {:.4}", means);
    println!("  dot(column 0, column 7)  {dot:.3}");
    println!(
        "  last 3 rows, first 3 columns\n{:.6}",
        last_rows.slice(s![.., ..3])
    );

    // 5. Check the results against the closed forms, so the run proves itself.
    let n = ROWS as f64;
    for (j, mean) in means.iter().enumerate() {
        let expected = (j + 1) as f64 * (n - 1.0) / 2.0 / n;
        assert!(
            (mean - expected).abs() < 1e-9,
            "column {j}: mean {mean} != {expected}"
        );
    }
    println!("checked  every column mean against its closed form: ok");
    println!(
        "python   np.load(path, mmap_mode='r') opens the same file (pass a directory to keep it)"
    );
    Ok(())
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}
