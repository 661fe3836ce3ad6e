//! Prints a `.npy` file's header (version, dtype, shape, order, data offset)
//! and its first values, or a clear error for a damaged file.
//!
//! ```text
//! cargo run --example npy_inspect -- FILE.npy [COUNT]
//! ```

use std::path::Path;
use std::process::ExitCode;

use ndarray::ArrayViewD;
use ndarray_memmap::{
    read_npy_any, read_npy_header, AnyGuard, MemmapOptions, Mode, Scalar, ViewVisitor,
};

/// The first `count` values, whatever the element type.
struct First(usize);

impl ViewVisitor for First {
    type Output = (Vec<String>, usize);

    fn visit<A: Scalar>(self, view: ArrayViewD<'_, A>) -> (Vec<String>, usize) {
        (
            view.iter().take(self.0).map(A::to_string).collect(),
            view.len(),
        )
    }
}

/// Prints the first `count` values: mapped when the byte order is native,
/// otherwise read into memory with the bytes swapped.
fn show(path: &Path, count: usize) -> Result<(), ndarray_memmap::Error> {
    // SAFETY: inspection is read-only and short; the shared advisory lock
    // keeps cooperating writers out while we look.
    let ((first, total), how) =
        match unsafe { MemmapOptions::new().open_npy_any(path, Mode::ReadOnly) } {
            Ok(AnyGuard::ReadOnly(data)) => (data.visit(First(count)), ""),
            Ok(AnyGuard::Writable(_)) => unreachable!("mode 'r' gives a read-only guard"),
            Err(ndarray_memmap::Error::ByteOrder { .. }) => (
                read_npy_any(path)?.visit(First(count)),
                " (read with bytes swapped)",
            ),
            Err(other) => return Err(other),
        };
    let more = if total > count { " ..." } else { "" };
    println!("values    [{}]{more}{how}", first.join(", "));
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
        cause: e,
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
    show(path, count)
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
