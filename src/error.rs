//! The crate's one error type.

use std::io;
use std::path::PathBuf;

/// The dtypes the run-time-typed path holds, for [`Error::UnsupportedDtype`].
#[cfg(feature = "half")]
const SUPPORTED_DTYPES: &str = "supported are bool '|b1', integers '|i1' '|u1' '<i2'..'<u8', \
    floats '<f2' '<f4' '<f8', complex '<c8' '<c16' (either byte order), and numpy's names and codes \
    for them ('bool', 'int8'..'uint64', 'float16', 'float32', 'float64', 'complex64', 'complex128', \
    'e', 'f', 'd', 'b', 'B', '?', ...); records and byte strings open through the typed path \
    (npy_record! types, [u8; N])";
#[cfg(not(feature = "half"))]
const SUPPORTED_DTYPES: &str = "supported are bool '|b1', integers '|i1' '|u1' '<i2'..'<u8', \
    floats '<f4' '<f8', complex '<c8' '<c16' (either byte order), and numpy's names and codes for \
    them ('bool', 'int8'..'uint64', 'float32', 'float64', 'complex64', 'complex128', 'f', 'd', 'b', \
    'B', '?', ...); float16 needs the feature `half`; records and byte strings open through the \
    typed path (npy_record! types, [u8; N])";

/// Everything that can go wrong when mapping, creating or parsing an array file.
///
/// Every variant names the values involved so that the message alone tells
/// what was expected and what was found. The enum is `#[non_exhaustive]`:
/// match with a wildcard arm.
///
/// ```
/// use ndarray_memmap::{Error, MemmapOptions};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("short.bin");
/// std::fs::write(&path, [0u8; 10])?;
/// // SAFETY: the file is private to this example.
/// match unsafe { MemmapOptions::new().shape(4).open_raw::<f32, ndarray::Ix1>(&path) } {
///     Err(Error::FileTooShort { expected, found, .. }) => assert_eq!((expected, found), (16, 10)),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed (open, stat, set_len, mmap, msync, ...).
    ///
    /// The message ends with the system's reason ("No such file or
    /// directory"), so printing the error with `{}` shows it; for that
    /// reason it is not also returned by `source()` (see [`docs::design`](crate::docs::design)).
    #[error("{operation} failed for {path}: {cause}", path = display_path(.path))]
    Io {
        /// What the crate was doing.
        operation: &'static str,
        /// The file involved, when there is one.
        path: Option<PathBuf>,
        /// The system's error.
        cause: io::Error,
    },

    /// A mode string is not one of numpy's.
    #[error("mode must be one of 'r', 'c', 'r+', 'w+', 'readonly', 'copyonwrite', 'readwrite', 'write' (got {found:?})")]
    InvalidMode {
        /// The string that was given.
        found: String,
    },

    /// An order string is not one of numpy's.
    #[error("order must be one of 'C', 'F', 'A', 'K' (got {found:?})")]
    InvalidOrder {
        /// The string that was given.
        found: String,
    },

    /// The file is shorter than `offset + nbytes` in a mode that must not extend it.
    #[error("{path} is {found} bytes long, but offset {offset} plus {nbytes} bytes of data need {expected}: {held}{remedy}", path = .path.display(), held = held(*.found, *.offset, *.nbytes, *.element_size), remedy = .remedy.text())]
    FileTooShort {
        /// The file.
        path: PathBuf,
        /// Bytes the array needs, counting from the start of the file.
        expected: u64,
        /// The file's actual length.
        found: u64,
        /// Where the data starts.
        offset: u64,
        /// Bytes of element data.
        nbytes: u64,
        /// Bytes per element.
        element_size: usize,
        /// What would read the file anyway, if anything.
        remedy: FileTooShortRemedy,
    },

    /// The offset lies past the end of the file and no shape was given.
    #[error("offset {offset} is past the end of {path} ({file_len} bytes), so no shape can be inferred", path = .path.display())]
    OffsetPastEnd {
        /// The file.
        path: PathBuf,
        /// The requested offset.
        offset: u64,
        /// The file's length.
        file_len: u64,
    },

    /// With no shape given, the bytes after the offset are not a whole number of elements.
    #[error("{available} bytes after offset {offset} in {path} are not a multiple of the element size {element_size}", path = .path.display())]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The requested offset.
        offset: u64,
        /// Bytes from the offset to the end of the file.
        available: u64,
        /// `size_of` the element type.
        element_size: usize,
    },

    /// The data would start at an address that is not aligned for the element type.
    #[error("offset {offset} is not a multiple of the alignment {align} of {element}, so the data cannot be viewed in place; read a copy instead with read_npy (.npy files) or read_raw (raw files, numpy's fromfile)")]
    Misaligned {
        /// Byte offset of the data in the file.
        offset: u64,
        /// Required alignment of the element type.
        align: usize,
        /// The element type's name.
        element: &'static str,
    },

    /// A shape's element count or byte length does not fit in memory arithmetic.
    #[error("shape {shape:?} of {element_size}-byte elements at offset {offset} overflows the address space or the largest file offset (2^63 - 1 bytes)")]
    SizeOverflow {
        /// The requested shape.
        shape: Vec<usize>,
        /// `size_of` the element type.
        element_size: usize,
        /// The requested offset.
        offset: u64,
    },

    /// A shape is needed but none was given (mode `w+`, or inference for more than one dimension).
    #[error("a shape is required to {reason}; give one with MemmapOptions::shape(...)")]
    ShapeRequired {
        /// Why the shape was needed.
        reason: &'static str,
    },

    /// The shape's number of axes does not match the requested dimension type.
    #[error(
        "shape {shape:?} has {found} axes, but an array of dimension {expected} was requested"
    )]
    DimensionMismatch {
        /// Axes the requested dimension type has.
        expected: usize,
        /// Axes the shape has.
        found: usize,
        /// The shape.
        shape: Vec<usize>,
    },

    /// A byte is not a valid value of the element type (a `bool` byte other than 0 or 1).
    #[error("{path}: element {index} is {found}, which is not a valid {element}{rule}", path = display_path(.path), found = hex_bytes(.found), rule = if *.element == "bool" { " (only bytes 0 and 1 are booleans)" } else { "" })]
    InvalidValue {
        /// The file.
        path: Option<PathBuf>,
        /// The element type's name.
        element: &'static str,
        /// Index (in memory order) of the first invalid element.
        index: usize,
        /// That element's bytes.
        found: Vec<u8>,
    },

    /// Another guard in this process maps the file in a conflicting way.
    #[error("{path} is already mapped by {existing} in this process, so a {requested} guard would alias it (numpy allows this, and each map then sees the other's writes); drop that guard first, or read a copy with read_npy", path = .path.display())]
    AlreadyMapped {
        /// The file.
        path: PathBuf,
        /// What maps it already: `"a writable guard"` or `"2 read-only guards"`.
        existing: String,
        /// `"writable"` or `"read-only"`: what was asked for.
        requested: &'static str,
    },

    /// Another open handle holds a conflicting advisory lock on the file:
    /// another process, or another open file in this process (libhdf5, as
    /// h5py or the `hdf5` crate use it, locks its own descriptor). The
    /// lock cannot say which.
    #[error("{path} is locked by another open handle, in another process or in this one ({requested} lock refused); close the other handle, or opt out with MemmapOptions::lock(false) only if you coordinate access yourself", path = .path.display())]
    Locked {
        /// The file.
        path: PathBuf,
        /// `"shared"` or `"exclusive"`.
        requested: &'static str,
    },

    /// The `.npy` header could not be parsed.
    #[error("invalid .npy header in {path}: {reason}", path = display_path(.path))]
    NpyHeader {
        /// The file, when reading from one.
        path: Option<PathBuf>,
        /// What is wrong, naming expected and found values.
        reason: String,
    },

    /// A builder setting that the terminal called cannot use: refused, never
    /// silently ignored.
    #[error("MemmapOptions::{setting} does not apply to {terminal}: {reason}; leave it out")]
    SettingNotApplicable {
        /// The setting: `"offset"`, `"shape"`, `"order"` or `"dtype"`.
        setting: &'static str,
        /// What was called.
        terminal: &'static str,
        /// What decides that value instead.
        reason: &'static str,
    },

    /// A dtype this crate (or the run-time-typed path) does not hold.
    #[error("unsupported dtype {descr:?}: {SUPPORTED_DTYPES}")]
    UnsupportedDtype {
        /// The descr string from the header.
        descr: String,
    },

    /// The file's dtype does not match the requested element type.
    #[error("file holds {found:?} of shape {shape:?}, but {expected} was requested")]
    DtypeMismatch {
        /// The requested Rust element type and its descr.
        expected: String,
        /// The descr in the file.
        found: String,
        /// The shape in the file.
        shape: Vec<usize>,
    },

    /// A dtype in the other byte order, which cannot be viewed in place: in
    /// a file to map, or asked for a file to create.
    #[error(
        "{found:?} is not in this machine's byte order, so it cannot be viewed in place; {remedy}"
    )]
    ByteOrder {
        /// The descr in the file, or the one asked for.
        found: String,
        /// The way out: the copying read that swaps bytes, or a native dtype.
        remedy: &'static str,
    },

    /// A shape does not fit the mapped data (an internal check that guards the views).
    #[error("shape {shape:?} does not fit the data: {reason}")]
    InvalidShape {
        /// The shape.
        shape: Vec<usize>,
        /// Why it does not fit.
        reason: String,
    },

    /// An access hint that would be unsound for this kind of map.
    #[error("advice {advice:?} would discard the private pages of a copy-on-write map")]
    UnsoundAdvice {
        /// The refused hint.
        advice: crate::advice::Advice,
    },

    /// The path names something other than a regular file (a directory, a
    /// FIFO, a socket, a device): refused before any lock, read or write,
    /// because opening or reading such a file can block forever or never end.
    #[error("{path} is a {file_type}, not a regular file; only regular files can be mapped or read as arrays", path = .path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is: `"directory"`, `"FIFO"`, `"socket"`,
        /// `"character device"`, `"block device"` or `"symbolic link"`.
        file_type: &'static str,
    },

    /// The file would grow past this process's file-size limit
    /// (`RLIMIT_FSIZE`, set with `ulimit -f`). Checked before the file is
    /// touched, so the process is not killed by `SIGXFSZ` and the file keeps
    /// its length and bytes.
    #[error("{path} would need {needed} bytes, over this process's file-size limit of {limit} bytes (RLIMIT_FSIZE, `ulimit -f`); raise the limit or use a smaller shape", path = .path.display())]
    FileSizeLimit {
        /// The file.
        path: PathBuf,
        /// The length the file would need.
        needed: u64,
        /// The soft limit in force.
        limit: u64,
    },

    /// The file system does not have the disk space the array needs.
    /// Checked before the file is changed, so the file keeps its length and
    /// bytes.
    #[error("{path} needs {needed} more bytes of disk space, but its file system has {available} available; free some space or use a smaller shape (preallocate(false) defers the failure to a SIGBUS on a later write)", path = .path.display())]
    DiskFull {
        /// The file.
        path: PathBuf,
        /// Bytes the file would need beyond what it occupies (or frees).
        needed: u64,
        /// Bytes the file system has for this process.
        available: u64,
    },

    /// Memory for an array read into memory could not be allocated.
    #[error("reading {path} needs {bytes} bytes of memory, which could not be allocated; map the file instead (open_npy) or read it in parts", path = display_path(.path))]
    OutOfMemory {
        /// The file being read, when there is one.
        path: Option<PathBuf>,
        /// The bytes requested.
        bytes: usize,
    },

    /// A run-time-typed open of a raw file (or a `.npy` creation) without a dtype.
    #[error("a dtype is required to {reason}; give one with MemmapOptions::dtype(...)")]
    DtypeRequired {
        /// Why the dtype was needed.
        reason: &'static str,
    },

    /// A write was asked of an array opened read-only (mode `'r'`).
    #[error("{path} is mapped read-only (mode 'r'); open it with mode 'r+', 'c' or 'w+' to write", path = display_path(.path))]
    ReadOnly {
        /// The file.
        path: Option<PathBuf>,
    },

    /// A conversion that numpy's `can_cast(from, to, 'safe')` refuses,
    /// asked for without saying that loss is acceptable.
    #[error("converting {from} to {to} may lose values (numpy's can_cast(..., 'safe') is False); use to_owned_as_lossy to convert anyway, as astype does")]
    UnsafeCast {
        /// The source dtype.
        from: String,
        /// The requested dtype.
        to: String,
    },

    /// A guard that cannot grow.
    #[error("this array cannot grow: {reason}")]
    NotGrowable {
        /// Why.
        reason: &'static str,
    },

    /// Rows to append whose other axes differ from the array's.
    #[error("rows of shape {found:?} cannot be appended along axis {axis} of an array whose rows are shaped as {expected:?}")]
    AppendShape {
        /// The shape the rows would need.
        expected: Vec<usize>,
        /// The rows' shape.
        found: Vec<usize>,
        /// The growth axis.
        axis: usize,
    },

    /// A `.npy` header too short for the grown shape (a file written without
    /// numpy's growth slack).
    #[error("the .npy header of {path} is {header_len} bytes, but the new shape needs {needed}; rewrite the file once with rewrite_npy_with_room (a copy), then it grows in place", path = .path.display())]
    HeaderFull {
        /// The file.
        path: PathBuf,
        /// Bytes the header has (magic to newline).
        header_len: usize,
        /// Bytes numpy's header for the new shape takes.
        needed: usize,
    },

    /// The element type has no numpy descr, so it cannot be stored in a `.npy` file.
    #[error("element type {element} has no .npy descr; implement Element::NPY_DESCR for it")]
    NoNpyDescr {
        /// The element type's name.
        element: &'static str,
    },

    /// A file's record layout differs from the record type asked for.
    #[error("the file's records differ from the type's at field {field:?}: expected {expected}, found {found}")]
    RecordMismatch {
        /// The first field that differs (`pos`, `p.x` for a nested one).
        field: String,
        /// What the type has there.
        expected: String,
        /// What the file has there.
        found: String,
    },

    /// An `.npz` archive's zip container is damaged or not one this crate
    /// reads (a truncated central directory, duplicate member names, ...).
    #[error("{path} is not a readable .npz archive: {reason}", path = display_path(.path))]
    Npz {
        /// The archive, when there is a file.
        path: Option<PathBuf>,
        /// What is wrong, in words.
        reason: String,
    },

    /// An `.npz` archive has no member of that name.
    #[error("{path} has no member {name:?}; its members are {available:?}", path = display_path(.path))]
    NoSuchMember {
        /// The archive, when there is a file.
        path: Option<PathBuf>,
        /// The name asked for.
        name: String,
        /// The names it has, as numpy lists them.
        available: Vec<String>,
    },

    /// An `.npz` member cannot be mapped in place: it is compressed, or its
    /// data is not aligned for the element type.
    #[error("member {name:?} of {path} cannot be mapped in place: {reason}; read a copy with NpzArchive::read instead", path = display_path(.path))]
    NotMappable {
        /// The archive.
        path: Option<PathBuf>,
        /// The member.
        name: String,
        /// Why not.
        reason: String,
    },

    /// A Zarr array's or group's metadata is missing or invalid: not JSON,
    /// a missing or ill-typed field, a shape that overflows, an unknown
    /// field that must be understood.
    #[error("invalid Zarr metadata in {path}: {reason}", path = display_path(.path))]
    ZarrMetadata {
        /// The metadata file (`zarr.json`, `.zarray`), when there is one.
        path: Option<PathBuf>,
        /// What is wrong: the field, what was expected and what was found.
        reason: String,
    },

    /// A valid Zarr array uses something that cannot be mapped: a
    /// compressor, a filter, a non-regular grid, an extension data type.
    #[error("{path} uses {feature}, which this crate does not map: {remedy}", path = display_path(.path))]
    ZarrUnsupported {
        /// The metadata file, when there is one.
        path: Option<PathBuf>,
        /// What it uses (the codec, field or data type, by name).
        feature: String,
        /// The way out.
        remedy: &'static str,
    },

    /// A chunk or shard of a Zarr array is damaged (a file of the wrong
    /// length, a shard index pointing past its file or overlapping itself,
    /// a checksum that does not match), or an index is outside the grid.
    #[error("chunk {key} of the Zarr array {path}: {reason}", path = .path.display())]
    ZarrChunk {
        /// The array's directory.
        path: PathBuf,
        /// The chunk's key (`c/0/1`) or grid index.
        key: String,
        /// What is wrong, expected against found.
        reason: String,
    },

    /// An HDF5 file's metadata is damaged or is not HDF5: a bad signature
    /// or checksum, an address past the end of the file, a cycle.
    #[error("invalid HDF5 metadata in {path}: {reason}", path = display_path(.path))]
    Hdf5Metadata {
        /// The file, when reading from one.
        path: Option<PathBuf>,
        /// What is wrong, expected against found.
        reason: String,
    },

    /// An HDF5 file has no dataset at the path asked for.
    #[error("no dataset {object:?} in {path}: {reason}", path = display_path(.path))]
    Hdf5NotFound {
        /// The file, when reading from one.
        path: Option<PathBuf>,
        /// The path asked for.
        object: String,
        /// Why: the group without that member, or what is there instead.
        reason: String,
    },

    /// An HDF5 file cannot be written as asked: a member of that name
    /// exists, a parent is not a group, the file is not of a kind this
    /// crate adds datasets to.
    #[error("cannot write {object:?} in {path}: {reason}", path = .path.display())]
    Hdf5Write {
        /// The file.
        path: PathBuf,
        /// The object's path in the file.
        object: String,
        /// Why, and the way out.
        reason: String,
    },

    /// A valid HDF5 dataset that cannot be mapped (or read) as asked: not
    /// allocated, compact, external, virtual, filtered, an unsupported
    /// type, a writer active on the file.
    #[error("the dataset {dataset:?} in {path} cannot be mapped: {reason}; {remedy}", path = display_path(.path))]
    Hdf5Unsupported {
        /// The file, when reading from one.
        path: Option<PathBuf>,
        /// The dataset's path in the file.
        dataset: String,
        /// What stands in the way, by name.
        reason: String,
        /// The way out.
        remedy: String,
    },
}

/// `Result` with this crate's [`Error`].
///
/// ```
/// fn parse_mode(text: &str) -> ndarray_memmap::Result<ndarray_memmap::Mode> {
///     text.parse()
/// }
/// assert!(parse_mode("c").is_ok());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn display_path(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => path.display().to_string(),
        None => "<unnamed file>".to_owned(),
    }
}

/// For code that returns `std::io::Result`: the kind says what happened
/// (an I/O error keeps its own), the message is this error's.
///
/// ```
/// fn open_len(path: &std::path::Path) -> std::io::Result<usize> {
///     // SAFETY: the file is private to this example.
///     let a = unsafe { ndarray_memmap::MemmapOptions::new().open_raw::<u8, ndarray::Ix1>(path) }?;
///     Ok(a.len())
/// }
/// let missing = open_len(std::path::Path::new("/nonexistent/x.bin")).unwrap_err();
/// assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
/// ```
impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        use io::ErrorKind as K;
        let kind = match &err {
            Error::Io { cause, .. } => cause.kind(),
            Error::FileTooShort { .. } => K::UnexpectedEof,
            Error::NotAFile { .. } | Error::InvalidMode { .. } | Error::InvalidOrder { .. } => {
                K::InvalidInput
            }
            Error::AlreadyMapped { .. } | Error::Locked { .. } => K::ResourceBusy,
            Error::FileSizeLimit { .. } => K::FileTooLarge,
            Error::DiskFull { .. } => K::StorageFull,
            Error::OutOfMemory { .. } => K::OutOfMemory,
            Error::ReadOnly { .. } => K::PermissionDenied,
            Error::UnsupportedDtype { .. } | Error::NoNpyDescr { .. } => K::Unsupported,
            Error::ZarrUnsupported { .. } | Error::Hdf5Unsupported { .. } => K::Unsupported,
            Error::Hdf5NotFound { .. } => K::NotFound,
            _ => K::InvalidData,
        };
        io::Error::new(kind, err)
    }
}

impl Error {
    pub(crate) fn io(operation: &'static str, path: &std::path::Path, cause: io::Error) -> Self {
        Error::Io {
            operation,
            path: Some(path.to_path_buf()),
            cause,
        }
    }
}

/// What could read a file that is shorter than its array, named in
/// [`Error::FileTooShort`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileTooShortRemedy {
    /// A raw file opened read-only or copy-on-write: mode `r+` would extend
    /// it to the array's length, as numpy's memmap does.
    ExtendWithReadWrite,
    /// Nothing reads it: a raw file opened `r+` that could not be extended,
    /// or a copy read.
    None,
    /// A `.npy` file whose data was cut short: its header announces more
    /// than the file holds. Refused in every mode (numpy's `r+` would
    /// extend it with zeros, hiding the damage).
    Truncated,
}

impl FileTooShortRemedy {
    fn text(self) -> &'static str {
        match self {
            FileTooShortRemedy::ExtendWithReadWrite => {
                "; mode 'r+' would extend the file to that length with zeros, as numpy's memmap does"
            }
            FileTooShortRemedy::None => "",
            FileTooShortRemedy::Truncated => {
                "; the .npy data was cut short (the header announces more than the file holds)"
            }
        }
    }
}

/// "it holds 24 bytes of data, 3 of the 5 elements" for a short file.
fn held(file_len: u64, offset: u64, nbytes: u64, element_size: usize) -> String {
    let data = file_len.saturating_sub(offset);
    let size = element_size.max(1) as u64;
    format!(
        "it holds {data} bytes of data, {} of the {} elements",
        data.min(nbytes) / size,
        nbytes / size
    )
}

/// `0x02`, or `[0x01, 0x02]` for a multi-byte element.
fn hex_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
    match hex.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", hex.join(", ")),
    }
}
