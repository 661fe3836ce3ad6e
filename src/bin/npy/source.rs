//! Opening an array of any element type for reading: a `.npy` file (mapped
//! when the byte order is native, read into memory, swapped, otherwise) or
//! a Zarr array directory (read in slabs of chunks, so that arrays larger
//! than memory stream).

use std::ops::Range;
use std::path::Path;

use ndarray_memmap::{
    read_npy_any, AnyArray, AnyGuard, AnyMemmap, DType, Error, MemmapOptions, Mode, Order,
    ViewVisitor, ZarrArray,
};

pub enum Source {
    Mapped(AnyMemmap),
    Loaded(AnyArray, Order),
    Zarr(ZarrArray),
}

impl Source {
    pub fn open(path: &str) -> Result<Source, Error> {
        if Path::new(path).is_dir() {
            return Ok(Source::Zarr(ZarrArray::open(path)?));
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
        }
    }

    pub fn shape(&self) -> &[usize] {
        match self {
            Source::Mapped(map) => map.shape(),
            Source::Loaded(array, _) => array.shape(),
            Source::Zarr(z) => z.shape(),
        }
    }

    /// The order of the data in the file (a Zarr array's is C: its chunks'
    /// own order is a detail of each chunk).
    pub fn order(&self) -> Order {
        match self {
            Source::Mapped(map) => map.order(),
            Source::Loaded(_, order) => *order,
            Source::Zarr(_) => Order::C,
        }
    }

    /// The regions the array is walked in, in `order`: the whole of a
    /// `.npy`; slabs one chunk thick of a Zarr array, along axis 0 for C
    /// order and the last axis for Fortran order, whose elements in `order`
    /// concatenate to the whole array's.
    pub fn parts(&self, order: Order) -> Vec<Vec<Range<usize>>> {
        let shape = self.shape();
        let whole: Vec<Range<usize>> = shape.iter().map(|&n| 0..n).collect();
        let Source::Zarr(z) = self else {
            return vec![whole];
        };
        if shape.is_empty() || shape.contains(&0) {
            return vec![whole];
        }
        let axis = match order {
            Order::C => 0,
            Order::Fortran => shape.len() - 1,
        };
        let step = z.chunk_shape()[axis];
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
        }
    }
}
