//! Reading and writing `.npy` files with ordinary file I/O: no mapping, no
//! contract, safe. Also the way to load data of the other byte order.

use std::fs::OpenOptions;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use ndarray::{Array, ArrayRef, Dimension, ShapeBuilder};

use std::mem::size_of;

use crate::buffer::{read_elements, FillError};
use crate::element::{type_name, Element};
use crate::error::{Error, FileTooShortRemedy, Result};
use crate::layout::{byte_extent, to_dim, Order};
use crate::npy::dtype::{descr_of, is_fortran_only, match_dtype, with_path, Match};
use crate::npy::header::{read_header, NpyHeader};
use crate::settings::{MemmapOptions, DEFAULT_MAX_HEADER_SIZE};
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
        self.refuse_header_settings("read_npy")?;
        read_npy_with_limit(path.as_ref(), self.max_header_size)
    }

    /// [`read_npy_header`](crate::read_npy_header) with this builder's
    /// [`max_header_size`](MemmapOptions::max_header_size).
    ///
    /// # Errors
    /// As for [`read_npy_header`](crate::read_npy_header).
    pub fn read_npy_header(&self, path: impl AsRef<Path>) -> Result<NpyHeader> {
        self.refuse_header_settings("read_npy_header")?;
        read_header_of(path.as_ref(), self.max_header_size)
    }

    /// The copying `.npy` reads take only `max_header_size`: the header
    /// gives the rest.
    fn refuse_header_settings(&self, terminal: &'static str) -> Result<()> {
        use crate::engine::Setting;
        self.refuse_settings(
            terminal,
            &[
                Setting::Offset,
                Setting::Shape,
                Setting::Order,
                Setting::Dtype,
            ],
            "the .npy header gives it",
        )
    }
}

fn read_npy_with_limit<A: Element, D: Dimension>(
    path: &Path,
    max_header_size: usize,
) -> Result<Array<A, D>> {
    let (file, meta) = sys::open_regular(path, OpenOptions::new().read(true))?;
    read_npy_stream(
        BufReader::new(file),
        Some(meta.len()),
        path,
        max_header_size,
    )
}

/// Reads a `.npy` stream: the header, then the data straight into the
/// array's buffer. With `file_len`, a file too short is refused before any
/// allocation; a stream of unknown length is read until it ends.
pub(crate) fn read_npy_stream<A: Element, D: Dimension>(
    mut reader: impl Read,
    file_len: Option<u64>,
    path: &Path,
    max_header_size: usize,
) -> Result<Array<A, D>> {
    let header = read_header(&mut reader, max_header_size).map_err(|e| with_path(e, path))?;
    let swap = match_dtype::<A>(&header)?;
    let dim = to_dim::<D>(&header.shape)?;
    let (nbytes, end) = byte_extent::<A>(&header.shape, header.data_offset)?;
    // Never allocate more than the file holds.
    if let Some(file_len) = file_len.filter(|&len| end > len) {
        return Err(Error::FileTooShort {
            path: path.to_path_buf(),
            expected: end,
            found: file_len,
            offset: header.data_offset,
            nbytes: nbytes as u64,
            element_size: size_of::<A>(),
            remedy: FileTooShortRemedy::Truncated,
        });
    }
    let swap = match swap {
        Match::Native => Vec::new(),
        Match::Swapped { at } => at,
    };
    let elements =
        read_elements::<A>(&mut reader, nbytes / size_of::<A>().max(1), &swap).map_err(|e| {
            fill_error::<A>(
                e,
                path,
                header.data_offset,
                nbytes,
                FileTooShortRemedy::Truncated,
            )
        })?;
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

/// Reads a whole `.npy` from any reader into an owned array: `np.load` of a
/// file object (ndarray-npy's `ReadNpyExt`). The data goes straight into the
/// array's buffer; data of the other byte order is swapped.
///
/// The reader is read up to the end of the array's data, no further. Its
/// length is unknown here, so the array's buffer is reserved at once (in
/// pages that the system fills only as data arrives); reading a stream that
/// ends early is [`Error::FileTooShort`] naming `<reader>`.
///
/// ```
/// use ndarray::{array, Ix1};
/// let mut bytes = Vec::new();
/// ndarray_memmap::write_npy_to(&mut bytes, &array![1.5f32, 2.5])?;
/// let back = ndarray_memmap::read_npy_from::<f32, Ix1>(bytes.as_slice())?;
/// assert_eq!(back, array![1.5, 2.5]);
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
///
/// # Errors
/// As for [`read_npy`], less the file errors.
pub fn read_npy_from<A: Element, D: Dimension>(reader: impl Read) -> Result<Array<A, D>> {
    read_npy_stream(reader, None, Path::new(READER), DEFAULT_MAX_HEADER_SIZE)
}

/// What errors name as the file when reading from a reader.
const READER: &str = "<reader>";

/// Writes `array` as a whole `.npy` to any writer: `np.save` to a file
/// object (ndarray-npy's `WriteNpyExt`). The bytes are those of
/// [`write_npy`]; wrap an unbuffered writer in a `BufWriter`.
///
/// # Errors
/// [`Error::NoNpyDescr`], [`Error::SizeOverflow`], and [`Error::Io`] naming
/// `<writer>` if a write fails.
pub fn write_npy_to<A, D>(mut writer: impl Write, array: &ArrayRef<A, D>) -> Result<()>
where
    A: Element,
    D: Dimension,
{
    let (header, _) = npy_header_of(array)?;
    write_array(&mut writer, &header, array, Path::new("<writer>"))
}

/// The `.npy` header `np.save` writes for `array`, and the data's length.
fn npy_header_of<A, D>(array: &ArrayRef<A, D>) -> Result<(Vec<u8>, usize)>
where
    A: Element,
    D: Dimension,
{
    let descr = descr_of::<A>()?;
    let header = NpyHeader::format(&descr, saved_as_fortran(array), array.shape());
    let (nbytes, _) = byte_extent::<A>(array.shape(), 0)?;
    Ok((header, nbytes))
}

/// `np.save`'s rule: Fortran order only for arrays that are Fortran- but
/// not C-contiguous.
fn saved_as_fortran<A, D: Dimension>(array: &ArrayRef<A, D>) -> bool {
    !array.is_standard_layout()
        && array.t().is_standard_layout()
        && is_fortran_only(Order::Fortran, array.shape())
}

/// Writes the header, then the elements in the order the header says.
fn write_array<A, D>(
    writer: &mut impl Write,
    header: &[u8],
    array: &ArrayRef<A, D>,
    path: &Path,
) -> Result<()>
where
    A: Element,
    D: Dimension,
{
    let io = |e| Error::io("write .npy", path, e);
    writer.write_all(header).map_err(io)?;
    let slice = if saved_as_fortran(array) {
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

/// The crate's error for a copying read of `nbytes` at `offset` of `path`
/// that could not fill its buffer.
pub(crate) fn fill_error<A: Element>(
    err: FillError,
    path: &Path,
    offset: u64,
    nbytes: usize,
    remedy: FileTooShortRemedy,
) -> Error {
    match err {
        FillError::OutOfMemory(bytes) => Error::OutOfMemory {
            path: Some(path.to_path_buf()),
            bytes,
        },
        // The file shrank after it was measured.
        FillError::Short(read) => Error::FileTooShort {
            path: path.to_path_buf(),
            expected: offset + nbytes as u64,
            found: offset + read as u64,
            offset,
            nbytes: nbytes as u64,
            element_size: size_of::<A>(),
            remedy,
        },
        FillError::Io(e) => Error::io("read array data", path, e),
        FillError::Invalid { index, found } => Error::InvalidValue {
            path: Some(path.to_path_buf()),
            element: type_name::<A>(),
            index,
            found,
        },
        FillError::ZeroSized => Error::InvalidShape {
            shape: vec![nbytes],
            reason: format!(
                "{} has no size, so it cannot be read from bytes",
                type_name::<A>()
            ),
        },
    }
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
pub fn write_npy<A, D>(path: impl AsRef<Path>, array: &ArrayRef<A, D>) -> Result<()>
where
    A: Element,
    D: Dimension,
{
    let path = path.as_ref();
    let (header, nbytes) = npy_header_of(array)?;
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
    write_array(&mut BufWriter::new(file), &header, array, path)
}
