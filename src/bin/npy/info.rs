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
    if let Some((path, dataset)) = crate::source::hdf5_dataset(file) {
        return show_hdf5(path, Some(dataset));
    }
    if is_hdf5(file) {
        return show_hdf5(file, None);
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

/// Whether `file` starts with HDF5's signature (at byte 0 or after a userblock).
fn is_hdf5(file: &str) -> bool {
    ndarray_memmap::Hdf5File::open(file).is_ok()
}

/// An HDF5 file's datasets (or one of them): name, dtype, shape, layout,
/// and whether it maps, or why not.
fn show_hdf5(file: &str, only: Option<&str>) -> Result<(), ndarray_memmap::Error> {
    let h5 = ndarray_memmap::Hdf5File::open(file)?;
    println!("file      {file}");
    println!(
        "format    hdf5 (superblock v{}{})",
        h5.superblock_version(),
        if h5.userblock_size() > 0 {
            format!(", {}-byte userblock", h5.userblock_size())
        } else {
            String::new()
        }
    );
    if h5.writer_active() {
        println!("writer    a writer has the file open (or crashed): nothing maps until it closes");
    }
    let listed = match only {
        Some(dataset) => vec![(dataset.to_owned(), h5.dataset(dataset))],
        None => h5.datasets()?,
    };
    for (name, dataset) in listed {
        let d = match dataset {
            Ok(d) => d,
            Err(err) => {
                println!("dataset   {name}: {}", crate::one_line(&err));
                continue;
            }
        };
        let layout = match d.layout() {
            ndarray_memmap::Hdf5Layout::Contiguous {
                address: Some(at), ..
            } => format!("contiguous at byte {at}"),
            ndarray_memmap::Hdf5Layout::Contiguous { address: None, .. } => {
                "contiguous, not allocated".to_owned()
            }
            ndarray_memmap::Hdf5Layout::Chunked { chunk_shape, index } => {
                format!("chunks {} ({index})", numpy_shape(chunk_shape))
            }
            ndarray_memmap::Hdf5Layout::Compact => "compact".to_owned(),
            ndarray_memmap::Hdf5Layout::External => "external".to_owned(),
            ndarray_memmap::Hdf5Layout::Virtual => "virtual".to_owned(),
        };
        let alignment = d
            .dtype()
            .ok()
            .and_then(|t| t.scalar())
            .map_or(1, |t| match t.kind {
                ndarray_memmap::Kind::Complex => t.size / 2,
                _ => t.size,
            }) as u64;
        let maps = match d.mappable() {
            Ok(()) if d.dtype().is_ok_and(|t| !t.is_native()) => {
                "byte order not native: read through a copy".to_owned()
            }
            Ok(()) if d.address().is_some_and(|at| at % alignment != 0) => {
                format!("misaligned for its {alignment}-byte elements: read through a copy")
            }
            Ok(()) => "maps".to_owned(),
            Err(err) => format!("does not map: {}", crate::one_line(&err)),
        };
        println!(
            "dataset   {name} {} {} {layout}; {maps}",
            d.descr().unwrap_or_else(|| "?".to_owned()),
            numpy_shape(d.shape())
        );
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
