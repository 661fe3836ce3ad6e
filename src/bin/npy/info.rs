//! `npy info FILE...`: each file's header, sizes and whether it can be mapped.

use ndarray_memmap::{read_npy_header, MemmapOptions, Mode};

use crate::Failure;

pub fn run(files: &[String]) -> Result<(), Failure> {
    let mut failed = false;
    for (i, file) in files.iter().enumerate() {
        if i > 0 {
            println!();
        }
        if let Err(err) = show(file) {
            // Report every file, and fail at the end.
            eprintln!("npy: {file}: {}", crate::one_line(&err));
            failed = true;
        }
    }
    if failed {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
}

fn show(file: &str) -> Result<(), ndarray_memmap::Error> {
    let header = read_npy_header(file)?;
    let file_len = std::fs::metadata(file)
        .map_err(|e| ndarray_memmap::Error::Io {
            operation: "stat",
            path: Some(file.into()),
            cause: e,
        })?
        .len();
    println!("file      {file}");
    println!("version   {}.{}", header.version.0, header.version.1);
    println!("dtype     {}", header.descr);
    println!("shape     {}", numpy_shape(&header.shape));
    println!("order     {}", if header.fortran_order { "F" } else { "C" });
    println!("header    {} bytes", header.data_offset);
    match header.data_len() {
        Ok(data) => {
            let count = header.len().map_or("?".to_owned(), |n| n.to_string());
            println!("data      {data} bytes ({count} elements)");
            let end = header.data_offset.saturating_add(data);
            match file_len.checked_sub(end) {
                Some(extra) => println!("trailing  {extra} bytes"),
                None => println!("missing   {} bytes: the file is cut short", end - file_len),
            }
        }
        Err(_) => println!(
            "data      {} bytes after the header",
            file_len.saturating_sub(header.data_offset)
        ),
    }
    // SAFETY: opened read-only to see whether it maps, and closed at once.
    let mappable = unsafe { MemmapOptions::new().open_npy_any(file, Mode::ReadOnly) };
    match mappable {
        Ok(_) => println!("mappable  yes"),
        Err(err) => println!("mappable  no: {}", crate::one_line(&err)),
    }
    Ok(())
}

/// A shape as numpy prints it: `(3, 4)`, `(7,)`, `()`.
pub fn numpy_shape(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
