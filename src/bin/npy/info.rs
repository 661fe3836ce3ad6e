//! `npy info FILE...`: each file's header, sizes and whether it can be
//! mapped; for a Zarr array directory, its metadata and how many chunks are
//! stored; for a Zarr group, its members.

use std::path::Path;

use ndarray_memmap::{
    read_npy_header, ByteOrder, MemmapOptions, Mode, ZarrArray, ZarrFormat, ZarrGroup, ZarrNode,
};

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
    if Path::new(file).is_dir() {
        return show_zarr(file);
    }
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

fn format_name(format: ZarrFormat) -> &'static str {
    match format {
        ZarrFormat::V2 => "zarr v2",
        ZarrFormat::V3 => "zarr v3",
    }
}

/// A Zarr array's metadata, or a group's members.
fn show_zarr(dir: &str) -> Result<(), ndarray_memmap::Error> {
    if let Ok(group) = ZarrGroup::open(dir) {
        println!("group     {dir}");
        println!("format    {} group", format_name(group.format()));
        for (name, node) in group.members()? {
            match node {
                ZarrNode::Group => println!("member    {name}/ (group)"),
                ZarrNode::Array => match group.open_array(&name) {
                    Ok(z) => println!(
                        "member    {name} {} {}",
                        z.metadata().dtype().descr(),
                        numpy_shape(z.shape())
                    ),
                    Err(err) => println!("member    {name}: {}", crate::one_line(&err)),
                },
            }
        }
        return Ok(());
    }
    let z = ZarrArray::open(dir)?;
    let meta = z.metadata();
    println!("array     {dir}");
    println!("format    {}", format_name(meta.format()));
    println!("dtype     {}", meta.dtype().descr());
    println!("shape     {}", numpy_shape(meta.shape()));
    println!("chunks    {}", numpy_shape(meta.chunk_shape()));
    if let Some(shards) = meta.shard_shape() {
        println!("shards    {}", numpy_shape(shards));
    }
    println!("fill      {}", meta.fill_value_json());
    if let Some(names) = meta.dimension_names() {
        let names: Vec<&str> = names.iter().map(|n| n.as_deref().unwrap_or("-")).collect();
        println!("dims      {}", names.join(", "));
    }
    println!("attrs     {}", meta.attributes().len());
    let grid: usize = meta.grid_shape().iter().product();
    let files = count_chunk_files(Path::new(dir));
    let unit = if meta.shard_shape().is_some() {
        "shard files"
    } else {
        "chunk files"
    };
    println!("stored    {files} {unit} for {grid} chunks (the rest are the fill value)");
    let dtype = meta.dtype();
    if dtype.byte_order == ByteOrder::NotApplicable || dtype.byte_order == ByteOrder::NATIVE {
        println!("mappable  yes: each stored chunk maps in place");
    } else {
        println!("mappable  no: big-endian chunks are read through a copy");
    }
    Ok(())
}

/// Files under an array's directory other than its metadata: its chunks
/// (or shards), counted from the store, never from the grid's size.
fn count_chunk_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                count_chunk_files(&path)
            } else {
                usize::from(!matches!(
                    name.to_str(),
                    Some("zarr.json" | ".zarray" | ".zattrs")
                ))
            }
        })
        .sum()
}
