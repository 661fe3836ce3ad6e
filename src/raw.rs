//! Reading raw binary files with ordinary I/O: numpy's `np.fromfile`. No
//! mapping, no contract, safe; so also the way to read what a map refuses
//! (a misaligned offset, data of the other byte order).

use std::fs::OpenOptions;
use std::io::{BufReader, Seek, SeekFrom};
use std::mem::size_of;
use std::path::Path;

use ndarray::{Array, Dimension, ShapeBuilder};

use crate::buffer::read_elements;
use crate::element::{type_name, DType, Element};
use crate::error::{Error, FileTooShortRemedy, Result};
use crate::layout::{byte_extent, infer_len, to_dim, Order};
use crate::npy::io::fill_error;
use crate::settings::MemmapOptions;
use crate::sys;

impl MemmapOptions {
    /// Reads a raw binary file into an owned array: numpy's
    /// `np.fromfile(path, dtype, count, offset=offset)`, reshaped.
    ///
    /// Uses the builder's [`offset`](MemmapOptions::offset),
    /// [`shape`](MemmapOptions::shape) (inferred for 1-D from the file's
    /// length, as for a map) and [`order`](MemmapOptions::order). Any offset
    /// works, aligned or not. With [`dtype`](MemmapOptions::dtype) set to
    /// `A`'s type in the other byte order (`">f8"` for `f64`), the bytes are
    /// swapped to native order, which a map cannot do.
    ///
    /// ```
    /// use ndarray::{array, Ix2};
    /// use ndarray_memmap::MemmapOptions;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("be.bin");
    /// // Three bytes of some other header, then big-endian u16 data.
    /// std::fs::write(&path, [9, 9, 9, 0, 1, 0, 2, 0, 3, 1, 0])?;
    /// let a = MemmapOptions::new()
    ///     .offset(3)
    ///     .shape((2, 2))
    ///     .dtype(">u2".parse()?)
    ///     .read_raw::<u16, Ix2>(&path)?;
    /// assert_eq!(a, array![[1, 2], [3, 256]]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::FileTooShort`] and [`Error::OffsetPastEnd`] (naming what the
    /// file holds), [`Error::TrailingBytes`] for an inferred length,
    /// [`Error::ShapeRequired`] for more than one dimension without a shape,
    /// [`Error::DtypeMismatch`] if the dtype is not `A`'s in either byte
    /// order, [`Error::InvalidValue`], [`Error::OutOfMemory`], [`Error::NotAFile`]
    /// and [`Error::Io`].
    pub fn read_raw<A: Element, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<Array<A, D>> {
        let path = path.as_ref();
        let swap = self.swap_unit::<A>()?;
        if self.shape.is_none() && D::NDIM.is_some_and(|n| n != 1) {
            return Err(Error::ShapeRequired {
                reason: "read a raw file as more than one dimension (only 1-D shapes are inferred)",
            });
        }
        let (file, meta) = sys::open_regular(path, OpenOptions::new().read(true))?;
        let file_len = meta.len();
        let shape = match &self.shape {
            Some(shape) => shape.clone(),
            None => vec![infer_len::<A>(path, file_len, self.offset)?],
        };
        let dim = to_dim::<D>(&shape)?;
        let (nbytes, end) = byte_extent::<A>(&shape, self.offset)?;
        // Never allocate more than the file holds.
        if end > file_len {
            return Err(Error::FileTooShort {
                path: path.to_path_buf(),
                expected: end,
                found: file_len,
                offset: self.offset,
                nbytes: nbytes as u64,
                element_size: size_of::<A>(),
                remedy: FileTooShortRemedy::None,
            });
        }
        let mut reader = BufReader::new(file);
        reader
            .seek(SeekFrom::Start(self.offset))
            .map_err(|e| Error::io("seek", path, e))?;
        let count = nbytes / size_of::<A>().max(1);
        let swaps = swap.map_or_else(Vec::new, |unit| {
            crate::buffer::swap_units(size_of::<A>(), unit)
        });
        let elements = read_elements::<A>(&mut reader, count, &swaps)
            .map_err(|e| fill_error::<A>(e, path, self.offset, nbytes, FileTooShortRemedy::None))?;
        let shape = match self.layout_order() {
            Order::Fortran => dim.f(),
            Order::C => dim.into_shape_with_order(),
        };
        Array::from_shape_vec(shape, elements).map_err(|e| Error::InvalidShape {
            shape: self.shape.clone().unwrap_or_default(),
            reason: e.to_string(),
        })
    }

    /// The byte-swap unit that turns the builder's dtype into `A`: `None`
    /// when it is `A`'s own (or unset).
    fn swap_unit<A: Element>(&self) -> Result<Option<usize>> {
        let Some(given) = self.dtype else {
            return Ok(None);
        };
        let own = A::NPY_DESCR.and_then(|d| d.parse::<DType>().ok());
        match own {
            Some(own) if given == own => Ok(None),
            Some(own) if given.to_native() == own => Ok(Some(given.swap_unit())),
            _ => Err(Error::DtypeMismatch {
                expected: format!(
                    "{} ({})",
                    type_name::<A>(),
                    A::NPY_DESCR.unwrap_or("no descr")
                ),
                found: given.descr(),
                shape: self.shape.clone().unwrap_or_default(),
            }),
        }
    }
}
