//! Prints a `.npy` file's header (version, dtype, shape, order, data offset)
//! and its first values, or a clear error for a damaged file.
//!
//! ```text
//! cargo run --example npy_inspect -- FILE.npy [COUNT]
//! ```

use std::fmt::Debug;
use std::path::Path;
use std::process::ExitCode;

use ndarray::IxDyn;
use ndarray_memmap::{read_npy, read_npy_header, DType, Element, Kind, MemmapOptions};
use num_complex::Complex;

/// Prints the first `count` values: mapped when the byte order is native,
/// otherwise read into memory with the bytes swapped.
fn show<A: Element + Debug>(
    path: &Path,
    count: usize,
    native: bool,
) -> Result<(), ndarray_memmap::Error> {
    let (first, total): (Vec<A>, usize) = if native {
        // SAFETY: inspection is read-only and short; the shared advisory lock
        // keeps cooperating writers out while we look.
        let data = unsafe { MemmapOptions::new().open_npy::<A, IxDyn>(path) }?;
        (data.iter().take(count).copied().collect(), data.len())
    } else {
        let data = read_npy::<A, IxDyn>(path)?;
        (data.iter().take(count).copied().collect(), data.len())
    };
    let more = if total > count { " ..." } else { "" };
    let how = if native {
        ""
    } else {
        " (read with bytes swapped)"
    };
    println!("values    {first:?}{more}{how}");
    Ok(())
}

fn inspect(path: &Path, count: usize) -> Result<(), ndarray_memmap::Error> {
    let header = read_npy_header(path)?;
    println!("file      {}", path.display());
    println!("version   {}.{}", header.version.0, header.version.1);
    println!("descr     {}", header.descr);
    println!("shape     {:?}", header.shape);
    println!(
        "order     {}",
        if header.fortran_order { "Fortran" } else { "C" }
    );
    println!("data at   byte {}", header.data_offset);
    let file_len = std::fs::metadata(path).map_err(|e| ndarray_memmap::Error::Io {
        operation: "stat",
        path: Some(path.to_path_buf()),
        source: e,
    })?;
    let end = header.data_offset + header.data_len()?;
    match file_len.len().checked_sub(end) {
        Some(0) => {}
        Some(extra) => println!("trailing  {extra} bytes after the data (ignored, as numpy does)"),
        None => println!(
            "truncated file is {} bytes, the header needs {end}",
            file_len.len()
        ),
    }
    let dtype: DType = header.dtype()?;
    let native = dtype.is_native();
    match (dtype.kind, dtype.size) {
        (Kind::Bool, 1) => show::<bool>(path, count, native),
        (Kind::Int, 1) => show::<i8>(path, count, native),
        (Kind::Int, 2) => show::<i16>(path, count, native),
        (Kind::Int, 4) => show::<i32>(path, count, native),
        (Kind::Int, 8) => show::<i64>(path, count, native),
        (Kind::Uint, 1) => show::<u8>(path, count, native),
        (Kind::Uint, 2) => show::<u16>(path, count, native),
        (Kind::Uint, 4) => show::<u32>(path, count, native),
        (Kind::Uint, 8) => show::<u64>(path, count, native),
        (Kind::Float, 4) => show::<f32>(path, count, native),
        (Kind::Float, 8) => show::<f64>(path, count, native),
        (Kind::Complex, 8) => show::<Complex<f32>>(path, count, native),
        (Kind::Complex, 16) => show::<Complex<f64>>(path, count, native),
        _ => Err(ndarray_memmap::Error::UnsupportedDtype {
            descr: header.descr,
        }),
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: npy_inspect FILE.npy [COUNT]");
        return ExitCode::from(2);
    };
    let count = args.next().and_then(|c| c.parse().ok()).unwrap_or(8);
    match inspect(Path::new(&path), count) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            if let Some(source) = std::error::Error::source(&err) {
                eprintln!("caused by: {source}");
            }
            ExitCode::FAILURE
        }
    }
}
