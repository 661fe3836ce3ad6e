//! Reading and writing `.npy` files with ordinary file I/O: no mapping, no
//! contract, safe. Also the way to load data of the other byte order.

use std::fs::OpenOptions;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use ndarray::{Array, ArrayBase, Data, Dimension, ShapeBuilder};

use crate::element::{type_name, Element};
use crate::error::{Error, Result};
use crate::layout::{byte_extent, to_dim, Order};
use crate::npy::header::{read_header, NpyHeader};
use crate::npy::open::{descr_of, is_fortran_only, match_dtype, with_path, Match};
use crate::options::{MemmapOptions, DEFAULT_MAX_HEADER_SIZE};
use crate::sys;

/// Reads only the header of a `.npy` file: for programs that choose the
/// element type at run time.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::NotAFile`] for a
/// directory, FIFO, socket or device, [`Error::NpyHeader`] if the header
/// is damaged or longer than numpy's default cap of 10000 bytes.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.npy");
/// ndarray_memmap::write_npy(&path, &ndarray::Array2::<f64>::zeros((1000, 3)))?;
/// let header = ndarray_memmap::read_npy_header(&path)?;
/// assert_eq!((header.descr.as_str(), header.shape.as_slice(), header.data_offset), ("<f8", &[1000, 3][..], 128));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_npy_header(path: impl AsRef<Path>) -> Result<NpyHeader> {
    read_header_of(path.as_ref(), DEFAULT_MAX_HEADER_SIZE)
}

/// The header of the `.npy` file at `path`, at most `max_header_size` bytes long.
pub(crate) fn read_header_of(path: &Path, max_header_size: usize) -> Result<NpyHeader> {
    let (file, _) = sys::open_regular(path, OpenOptions::new().read(true))?;
    read_header(&mut BufReader::new(file), max_header_size).map_err(|e| with_path(e, path))
}

/// Reads a whole `.npy` file into an owned array: `np.load(path)`.
///
/// Data in the other byte order is swapped to native order, so this also
/// reads the files that a map must refuse with [`Error::ByteOrder`].
///
/// # Errors
/// As for [`open_npy`](crate::MemmapOptions::open_npy), less the mapping and
/// alignment errors, plus [`Error::OutOfMemory`] (naming the bytes) when the
/// array does not fit in memory: the process is never aborted.
///
/// # Examples
/// ```
/// use ndarray::{array, Ix2};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.npy");
/// ndarray_memmap::write_npy(&path, &array![[1i32, 2], [3, 4]])?;
/// let back = ndarray_memmap::read_npy::<i32, Ix2>(&path)?;
/// assert_eq!(back, array![[1, 2], [3, 4]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_npy<A: Element, D: Dimension>(path: impl AsRef<Path>) -> Result<Array<A, D>> {
    read_npy_with_limit(path.as_ref(), DEFAULT_MAX_HEADER_SIZE)
}

impl MemmapOptions {
    /// [`read_npy`](crate::read_npy) with this builder's
    /// [`max_header_size`](MemmapOptions::max_header_size), for files whose
    /// headers numpy itself wrote longer than 10000 bytes. Safe: no mapping.
    ///
    /// ```
    /// use ndarray::IxDyn;
    /// use ndarray_memmap::MemmapOptions;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("many_axes.npy");
    /// // 4000 axes: np.save writes a header of about 12 KB.
    /// ndarray_memmap::write_npy(&path, &ndarray::ArrayD::<u8>::zeros(vec![1; 4000]))?;
    /// assert!(ndarray_memmap::read_npy::<u8, IxDyn>(&path).is_err());
    /// let a = MemmapOptions::new().max_header_size(1 << 20).read_npy::<u8, IxDyn>(&path)?;
    /// assert_eq!(a.ndim(), 4000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As for [`read_npy`](crate::read_npy).
    pub fn read_npy<A: Element, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<Array<A, D>> {
        read_npy_with_limit(path.as_ref(), self.max_header_size)
    }

    /// [`read_npy_header`](crate::read_npy_header) with this builder's
    /// [`max_header_size`](MemmapOptions::max_header_size).
    ///
    /// # Errors
    /// As for [`read_npy_header`](crate::read_npy_header).
    pub fn read_npy_header(&self, path: impl AsRef<Path>) -> Result<NpyHeader> {
        read_header_of(path.as_ref(), self.max_header_size)
    }
}

fn read_npy_with_limit<A: Element, D: Dimension>(
    path: &Path,
    max_header_size: usize,
) -> Result<Array<A, D>> {
    let (file, meta) = sys::open_regular(path, OpenOptions::new().read(true))?;
    let file_len = meta.len();
    let mut reader = BufReader::new(file);
    let header = read_header(&mut reader, max_header_size).map_err(|e| with_path(e, path))?;
    let swap = match_dtype::<A>(&header)?;
    let dim = to_dim::<D>(&header.shape)?;
    let (nbytes, end) = byte_extent::<A>(&header.shape, header.data_offset)?;
    // Never allocate more than the file holds.
    if end > file_len {
        return Err(Error::FileTooShort {
            path: path.to_path_buf(),
            expected: end,
            found: file_len,
            offset: header.data_offset,
            nbytes: nbytes as u64,
        });
    }
    let mut bytes = try_with_capacity::<u8>(nbytes, path)?;
    // `read_to_end` fills the reserved capacity without zeroing it first.
    let read = (&mut reader)
        .take(nbytes as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read .npy data", path, e))?;
    if read < nbytes {
        // The file shrank after it was measured.
        return Err(Error::FileTooShort {
            path: path.to_path_buf(),
            expected: end,
            found: header.data_offset + read as u64,
            offset: header.data_offset,
            nbytes: nbytes as u64,
        });
    }
    if let Match::Swapped { unit } = swap {
        bytes.chunks_exact_mut(unit).for_each(<[u8]>::reverse);
    }
    let size = std::mem::size_of::<A>().max(1);
    let mut elements = try_with_capacity::<A>(nbytes / size, path)?;
    for chunk in bytes.chunks_exact(size) {
        let element = bytemuck::checked::try_pod_read_unaligned::<A>(chunk).map_err(|_| {
            Error::InvalidValue {
                path: Some(path.to_path_buf()),
                element: type_name::<A>(),
            }
        })?;
        elements.push(element);
    }
    drop(bytes);
    let shape = if header.fortran_order {
        dim.f()
    } else {
        dim.into_shape_with_order()
    };
    Array::from_shape_vec(shape, elements).map_err(|e| Error::InvalidShape {
        shape: header.shape.clone(),
        reason: e.to_string(),
    })
}

/// An empty vector with room for `len` elements, or the error naming the
/// bytes that could not be had (never an abort: sizes come from files).
fn try_with_capacity<T>(len: usize, path: &Path) -> Result<Vec<T>> {
    let mut vec = Vec::new();
    vec.try_reserve_exact(len).map_err(|_| Error::OutOfMemory {
        path: Some(path.to_path_buf()),
        bytes: len.saturating_mul(std::mem::size_of::<T>()),
    })?;
    Ok(vec)
}

/// Writes `array` to a `.npy` file with ordinary writes: `np.save(path, array)`.
///
/// The bytes are identical to numpy's: a C-contiguous array is written in C
/// order, a Fortran-contiguous one in Fortran order, anything else as a C-order copy.
///
/// # Errors
/// [`Error::NoNpyDescr`] if `A` has no descr; [`Error::NotAFile`] for a
/// directory, FIFO, socket or device and [`Error::FileSizeLimit`] over the
/// process's file-size limit, both before the file is touched;
/// [`Error::Io`] if the file cannot be written.
///
/// # Examples
/// ```
/// use ndarray::{array, ShapeBuilder};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("f.npy");
/// let mut fortran = ndarray::Array2::<i16>::zeros((2, 3).f());
/// fortran.assign(&array![[1, 2, 3], [4, 5, 6]]);
/// ndarray_memmap::write_npy(&path, &fortran)?;
/// assert!(ndarray_memmap::read_npy_header(&path)?.fortran_order);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_npy<A, S, D>(path: impl AsRef<Path>, array: &ArrayBase<S, D>) -> Result<()>
where
    A: Element,
    S: Data<Elem = A>,
    D: Dimension,
{
    let path = path.as_ref();
    let descr = descr_of::<A>()?;
    let fortran = !array.is_standard_layout()
        && array.t().is_standard_layout()
        && is_fortran_only(Order::Fortran, array.shape());
    let header = NpyHeader::format(descr, fortran, array.shape());
    let (nbytes, _) = byte_extent::<A>(array.shape(), 0)?;
    let total = header.len() as u64 + nbytes as u64;
    sys::check_file_size_limit(path, total)?;
    let (file, _) = sys::open_regular(
        path,
        OpenOptions::new().write(true).create(true).truncate(false),
    )?;
    sys::check_free_space(&file, path, total, true)?;
    // Every check has passed: only now is the old content given up.
    file.set_len(0)
        .map_err(|e| Error::io("truncate", path, e))?;
    let mut writer = BufWriter::new(file);
    let io = |e| Error::io("write .npy", path, e);
    writer.write_all(&header).map_err(io)?;
    let slice = if fortran {
        array.as_slice_memory_order()
    } else {
        array.as_slice()
    };
    match slice {
        Some(slice) => writer.write_all(bytemuck::cast_slice(slice)).map_err(io)?,
        None => {
            for element in array.iter() {
                writer.write_all(bytemuck::bytes_of(element)).map_err(io)?;
            }
        }
    }
    writer.flush().map_err(io)
}
