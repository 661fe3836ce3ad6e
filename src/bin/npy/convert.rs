//! `npy convert IN OUT --dtype DTYPE [--order C|F|A|K] [--byteorder native|little|big] [--lossy] [--chunks N,N,...]`:
//! numpy's `np.save(OUT, np.load(IN).astype(DTYPE, order=...))`, streamed
//! block by block. Conversions that numpy's `can_cast(..., 'safe')`
//! refuses need `--lossy`. IN is a `.npy` file or a Zarr array directory;
//! an OUT ending in `.zarr` is a new Zarr v3 array (uncompressed, with
//! dimension names, in chunks of about 8 MiB unless `--chunks` says), as
//! `zarr.create_array(OUT, ..., compressors=None)` + `z[...] = a` writes it.
//! An OUT of the form `FILE.h5:/group/name` is a new HDF5 dataset
//! (contiguous, C order, native byte order) in a new file, or added to a
//! file this crate wrote. OUT is written beside itself and renamed into
//! place at the end (an existing HDF5 file gains the dataset when its
//! superblock is rewritten, last), so a failure or a crash never leaves
//! half a file or half an array.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::{ArrayViewD, Axis};
use ndarray_memmap::{
    AnyArray, ByteOrder, DType, Error, Hdf5Writer, NpyHeader, Order, Scalar, ViewVisitor,
    ZarrArray, ZarrArrayBuilder,
};

use crate::blocks::{for_each_block, in_order};
use crate::progress::Progress;
use crate::source::Source;
use crate::Failure;

pub struct Options {
    input: String,
    output: String,
    dtype: DType,
    order: Option<Order>,
    byte_order: ByteOrder,
    lossy: bool,
    chunks: Option<Vec<usize>>,
}

/// Zarr chunks of about this many bytes unless `--chunks` says otherwise:
/// Dask's and zarr-python's usual range, and the size that maps well.
const ZARR_CHUNK_BYTES: usize = 8 << 20;

/// Whether OUT names a Zarr array to create (`*.zarr`).
fn is_zarr(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "zarr")
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut files = Vec::new();
        let (mut dtype, mut order, mut byte_order, mut lossy) = (None, None, None, false);
        let mut chunks = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value =
                |name: &str| args.next().cloned().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--dtype" => {
                    dtype = Some(
                        value("--dtype")?
                            .parse::<DType>()
                            .map_err(|e| e.to_string())?,
                    )
                }
                // astype's meanings: 'K' keeps the order the elements are
                // in, and 'A' is 'F' for a Fortran-contiguous source: for a
                // .npy or raw source both are the source's own order.
                "--order" => {
                    order = match value("--order")?.as_str() {
                        "C" | "c" => Some(Order::C),
                        "F" | "f" => Some(Order::Fortran),
                        "K" | "k" | "A" | "a" => None,
                        other => {
                            return Err(format!("--order must be C, F, A or K (got {other:?})"))
                        }
                    }
                }
                "--byteorder" => {
                    byte_order = match value("--byteorder")?.as_str() {
                        "native" | "=" => Some(ByteOrder::NATIVE),
                        "little" | "<" => Some(ByteOrder::Little),
                        "big" | ">" => Some(ByteOrder::Big),
                        other => {
                            return Err(format!(
                                "--byteorder must be native, little or big (got {other:?})"
                            ))
                        }
                    }
                }
                "--lossy" => lossy = true,
                "--chunks" => {
                    let text = value("--chunks")?;
                    let parsed: Result<Vec<usize>, _> =
                        text.split(',').map(|n| n.trim().parse::<usize>()).collect();
                    match parsed {
                        Ok(list) if !list.contains(&0) => chunks = Some(list),
                        _ => {
                            return Err(format!(
                                "--chunks must be lengths of at least 1 separated by commas, one per axis (got {text:?})"
                            ))
                        }
                    }
                }
                flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
                file => files.push(file.to_owned()),
            }
        }
        let [input, output] =
            <[String; 2]>::try_from(files).map_err(|_| "convert takes IN and OUT".to_owned())?;
        let dtype: DType = dtype.ok_or("convert needs --dtype")?;
        if chunks.is_some() && !is_zarr(Path::new(&output)) {
            return Err("--chunks applies to a Zarr OUT (a path ending in .zarr)".to_owned());
        }
        // A byte order spelled in the dtype ('>f4') is written as asked,
        // as np.save(OUT, a.astype('>f4')) does; --byteorder may say the
        // same, never the opposite.
        let byte_order = match byte_order {
            None => dtype.byte_order,
            Some(asked) if dtype.is_native() || asked == dtype.byte_order => asked,
            Some(asked) => {
                return Err(format!(
                    "--dtype {:?} and --byteorder {asked:?} ask for different byte orders",
                    dtype.descr()
                ))
            }
        };
        Ok(Options {
            input,
            output,
            dtype,
            order,
            byte_order,
            lossy,
            chunks,
        })
    }
}

pub fn run(options: &Options) -> Result<(), Failure> {
    let input = options.input.as_str();
    let source = Source::open(input).map_err(Failure::file(input))?;
    let from = source.dtype();
    let to = options.dtype.to_native();
    if !options.lossy && !from.can_cast_safely(to) {
        let err = Error::UnsafeCast {
            from: from.descr(),
            to: to.descr(),
        };
        return Err(Failure::File(input.to_owned(), err));
    }
    let output = Path::new(&options.output);
    if is_same_file(Path::new(input), output) {
        return Err(Failure::Usage(
            "OUT must not be IN: the input is read while OUT is written".into(),
        ));
    }
    let shape = source.shape().to_vec();
    // np.save's rule: Fortran order is written only for arrays that are
    // Fortran- but not C-contiguous; others are the same bytes in C order.
    let fortran = options.order.unwrap_or(source.order()) == Order::Fortran
        && !shape.contains(&0)
        && shape.iter().filter(|&&n| n > 1).count() > 1;
    let stored = DType {
        byte_order: if to.size == 1 {
            ByteOrder::NotApplicable
        } else {
            options.byte_order
        },
        ..to
    };
    if let Some((file, dataset)) = options.output.split_once(":/") {
        if stored.byte_order == ByteOrder::Big || options.order == Some(Order::Fortran) {
            return Err(Failure::Usage(
                "an HDF5 dataset is written in C order and native byte order; leave out --order F and --byteorder big".into(),
            ));
        }
        let dataset = format!("/{dataset}");
        return write_hdf5(
            &source,
            Path::new(file),
            &dataset,
            stored,
            &shape,
            options.lossy,
        )
        .map_err(Failure::file(&options.output));
    }
    let temporary = temporary_beside(output);
    if is_zarr(output) {
        if output.exists() {
            return Err(Failure::Usage(format!(
                "{} exists: convert creates a new Zarr array and never overwrites one; remove it first",
                options.output
            )));
        }
        let chunks = match &options.chunks {
            Some(chunks) if chunks.len() == shape.len() => chunks.clone(),
            Some(chunks) => {
                return Err(Failure::Usage(format!(
                    "--chunks has {} lengths, but the array has {} axes",
                    chunks.len(),
                    shape.len()
                )))
            }
            None => default_chunks(&shape, stored.size),
        };
        let order = options.order.unwrap_or(source.order());
        let written = write_zarr(
            &source,
            &temporary,
            stored,
            order,
            &shape,
            &chunks,
            options.lossy,
        )
        .and_then(|()| {
            std::fs::rename(&temporary, output).map_err(|e| io_error("rename", output, e))
        });
        if written.is_err() {
            let _ = std::fs::remove_dir_all(&temporary);
        }
        return written.map_err(Failure::file(&options.output));
    }
    let written =
        write(&source, &temporary, stored, fortran, &shape, options.lossy).and_then(|()| {
            std::fs::rename(&temporary, output).map_err(|e| io_error("rename", output, e))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map_err(Failure::file(&options.output))
}

/// Chunks of at most [`ZARR_CHUNK_BYTES`]: the whole array, with the
/// leading axes halved until a chunk fits (so chunks are runs of rows).
fn default_chunks(shape: &[usize], element_size: usize) -> Vec<usize> {
    let mut chunks: Vec<usize> = shape.iter().map(|&n| n.max(1)).collect();
    let bytes = |c: &[usize]| c.iter().fold(element_size, |b, &n| b.saturating_mul(n));
    while bytes(&chunks) > ZARR_CHUNK_BYTES {
        match chunks.iter_mut().find(|n| **n > 1) {
            Some(n) => *n = n.div_ceil(2),
            None => break,
        }
    }
    chunks
}

/// Writes a new Zarr array at `path` from `source`, converted to `stored`,
/// slab by slab; its metadata last.
fn write_zarr(
    source: &Source,
    path: &Path,
    stored: DType,
    order: Order,
    shape: &[usize],
    chunks: &[usize],
    lossy: bool,
) -> Result<(), Error> {
    let z = ZarrArrayBuilder::with_dtype(stored, shape, chunks)
        .order(order)
        .create(path)?;
    let mut progress = Progress::new((shape.iter().product::<usize>() * stored.size) as u64);
    for part in source.parts(Order::C) {
        let origin: Vec<usize> = part.iter().map(|r| r.start).collect();
        source.visit_part(
            &part,
            ZarrBlocks {
                z: &z,
                origin,
                chunk_rows: chunks.first().copied().unwrap_or(1),
                stored,
                lossy,
                progress: &mut progress,
            },
        )??;
    }
    progress.finish();
    z.finish()
}

/// Converts a part of the source in blocks of whole chunk rows and writes
/// each into the Zarr array at its place.
struct ZarrBlocks<'a> {
    z: &'a ZarrArray,
    origin: Vec<usize>,
    chunk_rows: usize,
    stored: DType,
    lossy: bool,
    progress: &'a mut Progress,
}

impl ViewVisitor for ZarrBlocks<'_> {
    type Output = Result<(), Error>;

    fn visit<A: Scalar>(self, view: ArrayViewD<'_, A>) -> Result<(), Error> {
        let blocks: Vec<ArrayViewD<'_, A>> = if view.ndim() == 0 {
            vec![view.view()]
        } else {
            view.axis_chunks_iter(Axis(0), self.chunk_rows).collect()
        };
        let mut origin = self.origin.clone();
        for block in blocks {
            let converted =
                AnyArray::from(block.to_owned()).to_dtype(self.stored.to_native(), self.lossy)?;
            converted.visit(WriteAt {
                z: self.z,
                origin: &origin,
            })?;
            self.progress.advance((block.len() * size_of::<A>()) as u64);
            if let Some(first) = origin.first_mut() {
                *first += block.shape()[0];
            }
        }
        Ok(())
    }
}

/// Writes the dataset `dataset` of a new HDF5 file at `file` (or of an
/// existing one this crate wrote) from `source`, converted to `stored`,
/// slab by slab.
fn write_hdf5(
    source: &Source,
    file: &Path,
    dataset: &str,
    stored: DType,
    shape: &[usize],
    lossy: bool,
) -> Result<(), Error> {
    let writer = if file.exists() {
        Hdf5Writer::append(file)?
    } else {
        Hdf5Writer::create(file)?
    };
    let mut progress = Progress::new((shape.iter().product::<usize>() * stored.size) as u64);
    let mut reserved = false;
    for part in source.parts(Order::C) {
        let first = part.first().map_or(0, |r| r.start);
        source.visit_part(
            &part,
            Hdf5Blocks {
                writer: &writer,
                dataset,
                first,
                shape,
                stored,
                lossy,
                reserved: &mut reserved,
                progress: &mut progress,
            },
        )??;
    }
    if !reserved {
        // Every source has one part at least, an empty array too.
        return Err(Error::InvalidShape {
            shape: shape.to_vec(),
            reason: "the source gave no part to write".into(),
        });
    }
    progress.finish();
    writer.finish()
}

/// Converts a part of the source in blocks of about 8 MiB of rows and
/// writes each as rows of the HDF5 dataset.
struct Hdf5Blocks<'a> {
    writer: &'a Hdf5Writer,
    dataset: &'a str,
    first: usize,
    shape: &'a [usize],
    stored: DType,
    lossy: bool,
    reserved: &'a mut bool,
    progress: &'a mut Progress,
}

impl ViewVisitor for Hdf5Blocks<'_> {
    type Output = Result<(), Error>;

    fn visit<A: Scalar>(self, view: ArrayViewD<'_, A>) -> Result<(), Error> {
        let row = view.shape().iter().skip(1).product::<usize>().max(1) * size_of::<A>();
        let blocks: Vec<ArrayViewD<'_, A>> = if view.ndim() == 0 || view.is_empty() {
            vec![view.view()]
        } else {
            view.axis_chunks_iter(Axis(0), (ZARR_CHUNK_BYTES / row).max(1))
                .collect()
        };
        let mut first = self.first;
        for block in blocks {
            let converted =
                AnyArray::from(block.to_owned()).to_dtype(self.stored.to_native(), self.lossy)?;
            converted.visit(WriteRows {
                writer: self.writer,
                dataset: self.dataset,
                first,
                shape: self.shape,
                reserved: &mut *self.reserved,
            })?;
            self.progress.advance((block.len() * size_of::<A>()) as u64);
            first += block.shape().first().copied().unwrap_or(0);
        }
        Ok(())
    }
}

/// Writes a typed slab as rows of the HDF5 dataset, creating it first.
struct WriteRows<'a> {
    writer: &'a Hdf5Writer,
    dataset: &'a str,
    first: usize,
    shape: &'a [usize],
    reserved: &'a mut bool,
}

impl ViewVisitor for WriteRows<'_> {
    type Output = Result<(), Error>;

    fn visit<A: Scalar>(self, view: ArrayViewD<'_, A>) -> Result<(), Error> {
        if !*self.reserved {
            self.writer.reserve_dataset::<A>(self.dataset, self.shape)?;
            *self.reserved = true;
        }
        self.writer.write_rows(self.dataset, self.first, &view)
    }
}

/// Writes a typed block into the Zarr array at `origin`.
struct WriteAt<'a> {
    z: &'a ZarrArray,
    origin: &'a [usize],
}

impl ViewVisitor for WriteAt<'_> {
    type Output = Result<(), Error>;

    fn visit<A: Scalar>(self, view: ArrayViewD<'_, A>) -> Result<(), Error> {
        self.z.write_region(self.origin, &view)
    }
}

fn write(
    source: &Source,
    path: &Path,
    stored: DType,
    fortran: bool,
    shape: &[usize],
    lossy: bool,
) -> Result<(), Error> {
    let file = File::create(path).map_err(|e| io_error("create", path, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(&NpyHeader::format(&stored.descr(), fortran, shape))
        .map_err(|e| io_error("write", path, e))?;
    let order = if fortran { Order::Fortran } else { Order::C };
    for part in source.parts(order) {
        source.visit_part(
            &part,
            Blocks {
                out: &mut out,
                path,
                stored,
                order,
                lossy,
            },
        )??;
    }
    let file = out
        .into_inner()
        .map_err(|e| io_error("write", path, e.into_error()))?;
    file.sync_all().map_err(|e| io_error("sync", path, e))
}

/// Converts the source block by block and writes each in `order`.
struct Blocks<'a, W> {
    out: &'a mut W,
    path: &'a Path,
    stored: DType,
    order: Order,
    lossy: bool,
}

impl<W: Write> ViewVisitor for Blocks<'_, W> {
    type Output = Result<(), Error>;

    fn visit<A: Scalar>(self, view: ArrayViewD<'_, A>) -> Result<(), Error> {
        let Blocks {
            out,
            path,
            stored,
            order,
            lossy,
        } = self;
        let mut progress = Progress::new((view.len() * size_of::<A>()) as u64);
        let mut result = Ok(());
        for_each_block(&view, order, |block| {
            if result.is_ok() {
                let converted =
                    AnyArray::from(block.to_owned()).to_dtype(stored.to_native(), lossy);
                result = converted.and_then(|c| {
                    c.visit(Bytes {
                        out: &mut *out,
                        path,
                        stored,
                        order,
                    })
                });
                progress.advance((block.len() * size_of::<A>()) as u64);
            }
        });
        progress.finish();
        result
    }
}

/// Writes a converted block's elements in `order` and the stored byte order.
struct Bytes<'a, W> {
    out: &'a mut W,
    path: &'a Path,
    stored: DType,
    order: Order,
}

impl<W: Write> ViewVisitor for Bytes<'_, W> {
    type Output = Result<(), Error>;

    fn visit<A: Scalar>(self, view: ArrayViewD<'_, A>) -> Result<(), Error> {
        let swap = !self.stored.is_native();
        let unit = self.stored.swap_unit();
        let mut element = vec![0u8; size_of::<A>()];
        for x in in_order(&view, self.order) {
            element.copy_from_slice(bytemuck::bytes_of(x));
            if swap {
                element.chunks_exact_mut(unit).for_each(<[u8]>::reverse);
            }
            self.out
                .write_all(&element)
                .map_err(|e| io_error("write", self.path, e))?;
        }
        Ok(())
    }
}

fn io_error(operation: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        operation,
        path: Some(path.to_path_buf()),
        cause: source,
    }
}

/// `OUT.npy.partial-PID`, in OUT's directory so the rename stays on one file system.
fn temporary_beside(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}", std::process::id()));
    output.with_file_name(name)
}

/// Whether two paths name one file (hard links and symlinks included).
fn is_same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
