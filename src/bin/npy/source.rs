//! Opening an array of any element type for reading: a `.npy` file (mapped
//! when the byte order is native, read into memory, swapped, otherwise) or
//! a Zarr array directory (read in slabs of chunks, so that arrays larger
//! than memory stream), or an HDF5 dataset, `FILE.h5:/path` (mapped when
//! contiguous, native and aligned; otherwise read in slabs).

use std::ops::Range;
use std::path::Path;

use ndarray_memmap::{
    read_npy_any, AnyArray, AnyGuard, AnyMemmap, DType, Error, Hdf5File, MemmapOptions, Mode,
    Order, ViewVisitor, ZarrArray,
};

/// Slabs of a dataset read through a copy hold about this many bytes.
const SLAB_BYTES: usize = 64 << 20;

/// `FILE.h5:/path` split into the file and the dataset's path, when the
/// part before `:/` is a file.
pub fn hdf5_dataset(arg: &str) -> Option<(&str, &str)> {
    let at = arg.find(":/")?;
    let (file, dataset) = (&arg[..at], &arg[at + 1..]);
    Path::new(file).is_file().then_some((file, dataset))
}

pub enum Source {
    Mapped(AnyMemmap),
    Loaded(AnyArray, Order),
    Zarr(ZarrArray),
    /// An HDF5 dataset read in slabs: its file, path, dtype and shape.
    Hdf5(Hdf5File, String, DType, Vec<usize>, Vec<usize>),
}

impl Source {
    pub fn open(path: &str) -> Result<Source, Error> {
        if Path::new(path).is_dir() {
            return Ok(Source::Zarr(ZarrArray::open(path)?));
        }
        if let Some((file, dataset)) = hdf5_dataset(path) {
            let h5 = Hdf5File::open(file)?;
            // SAFETY: as for a .npy file below.
            if let Ok(AnyGuard::ReadOnly(map)) = unsafe { h5.map_any(dataset, Mode::ReadOnly) } {
                return Ok(Source::Mapped(map));
            }
            let d = h5.dataset(dataset)?;
            let dtype = d.dtype()?;
            let scalar = dtype.scalar().ok_or_else(|| Error::UnsupportedDtype {
                descr: dtype.descr(),
            })?;
            let shape = d.shape().to_vec();
            // Slabs a chunk thick, or about SLAB_BYTES of rows.
            let steps = match d.chunk_shape() {
                Some(chunk) => chunk.to_vec(),
                None => {
                    let row: usize = shape.iter().skip(1).product::<usize>().max(1) * scalar.size;
                    let rows = (SLAB_BYTES / row).max(1);
                    let mut steps = shape.clone();
                    if let Some(first) = steps.first_mut() {
                        *first = rows;
                    }
                    if let Some(last) = steps.last_mut() {
                        if shape.len() > 1 {
                            *last = (SLAB_BYTES
                                / (shape[..shape.len() - 1].iter().product::<usize>().max(1)
                                    * scalar.size))
                                .max(1);
                        }
                    }
                    steps
                }
            };
            return Ok(Source::Hdf5(
                h5,
                dataset.to_owned(),
                scalar.to_native(),
                shape,
                steps,
            ));
        }
        // SAFETY: the file is only read, under a shared advisory lock that
        // keeps cooperating writers out; the command does not outlive a
        // user's other programs writing the file, which they must not do.
        match unsafe { MemmapOptions::new().open_npy_any(path, Mode::ReadOnly) } {
            Ok(AnyGuard::ReadOnly(map)) => Ok(Source::Mapped(map)),
            Ok(AnyGuard::Writable(_)) => unreachable!("mode 'r' gives a read-only guard"),
            Err(Error::ByteOrder { .. }) => {
                let header = ndarray_memmap::read_npy_header(path)?;
                let order = if header.fortran_order {
                    Order::Fortran
                } else {
                    Order::C
                };
                Ok(Source::Loaded(read_npy_any(path)?, order))
            }
            Err(other) => Err(other),
        }
    }

    /// The element type, in native byte order (the values read are native).
    pub fn dtype(&self) -> DType {
        match self {
            Source::Mapped(map) => map.dtype(),
            Source::Loaded(array, _) => array.dtype(),
            Source::Zarr(z) => z.metadata().dtype().to_native(),
            Source::Hdf5(_, _, dtype, _, _) => *dtype,
        }
    }

    pub fn shape(&self) -> &[usize] {
        match self {
            Source::Mapped(map) => map.shape(),
            Source::Loaded(array, _) => array.shape(),
            Source::Zarr(z) => z.shape(),
            Source::Hdf5(_, _, _, shape, _) => shape,
        }
    }

    /// The order of the data in the file (a Zarr array's is C: its chunks'
    /// own order is a detail of each chunk).
    pub fn order(&self) -> Order {
        match self {
            Source::Mapped(map) => map.order(),
            Source::Loaded(_, order) => *order,
            Source::Zarr(_) | Source::Hdf5(..) => Order::C,
        }
    }

    /// The regions the array is walked in, in `order`: the whole of a
    /// `.npy`; slabs one chunk thick of a Zarr array, along axis 0 for C
    /// order and the last axis for Fortran order, whose elements in `order`
    /// concatenate to the whole array's.
    pub fn parts(&self, order: Order) -> Vec<Vec<Range<usize>>> {
        let shape = self.shape();
        let whole: Vec<Range<usize>> = shape.iter().map(|&n| 0..n).collect();
        let steps = match self {
            Source::Zarr(z) => z.chunk_shape().to_vec(),
            Source::Hdf5(_, _, _, _, steps) => steps.clone(),
            _ => return vec![whole],
        };
        if shape.is_empty() || shape.contains(&0) {
            return vec![whole];
        }
        let axis = match order {
            Order::C => 0,
            Order::Fortran => shape.len() - 1,
        };
        let step = steps[axis].max(1);
        (0..shape[axis])
            .step_by(step)
            .map(|start| {
                let mut part = whole.clone();
                part[axis] = start..(start + step).min(shape[axis]);
                part
            })
            .collect()
    }

    /// Runs `visitor` on the elements of `part` (one of [`parts`](Self::parts)).
    pub fn visit_part<V: ViewVisitor>(
        &self,
        part: &[Range<usize>],
        visitor: V,
    ) -> Result<V::Output, Error> {
        match self {
            Source::Mapped(map) => Ok(map.visit(visitor)),
            Source::Loaded(array, _) => Ok(array.visit(visitor)),
            Source::Zarr(z) => Ok(z.read_region_any(part)?.visit(visitor)),
            Source::Hdf5(file, dataset, ..) => {
                Ok(file.read_region_any(dataset, part)?.visit(visitor))
            }
        }
    }
}
