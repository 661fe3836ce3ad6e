//! Opening a `.npy` file of any element type for reading: mapped when the
//! byte order is native, read into memory (swapped) otherwise.

use ndarray_memmap::{
    read_npy_any, AnyArray, AnyGuard, AnyMemmap, DType, Error, MemmapOptions, Mode, Order,
    ViewVisitor,
};

pub enum Source {
    Mapped(AnyMemmap),
    Loaded(AnyArray, Order),
}

impl Source {
    pub fn open(path: &str) -> Result<Source, Error> {
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

    pub fn dtype(&self) -> DType {
        match self {
            Source::Mapped(map) => map.dtype(),
            Source::Loaded(array, _) => array.dtype(),
        }
    }

    pub fn shape(&self) -> &[usize] {
        match self {
            Source::Mapped(map) => map.shape(),
            Source::Loaded(array, _) => array.shape(),
        }
    }

    /// The order of the data in the file.
    pub fn order(&self) -> Order {
        match self {
            Source::Mapped(map) => map.order(),
            Source::Loaded(_, order) => *order,
        }
    }

    pub fn visit<V: ViewVisitor>(&self, visitor: V) -> V::Output {
        match self {
            Source::Mapped(map) => map.visit(visitor),
            Source::Loaded(array, _) => array.visit(visitor),
        }
    }
}
