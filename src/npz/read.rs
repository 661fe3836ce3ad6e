//! Reading `.npz` archives lazily, as `np.load(p)` does, and mapping their
//! stored members in place, which numpy cannot.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use ndarray::{Array, Dimension, IxDyn};
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

use crate::any::{with_element_type, AnyArray};
use crate::element::{type_name, Element};
use crate::error::{Error, FileTooShortRemedy, Result};
use crate::guard::{Memmap, MemmapMut};
use crate::layout::byte_extent;
use crate::npy::dtype::{match_dtype, Match};
use crate::npy::header::read_header;
use crate::npy::read_npy_stream;
use crate::npy::NpyHeader;
use crate::npz::names::{key_of, lookup};
use crate::settings::{MemmapOptions, DEFAULT_MAX_HEADER_SIZE};
use crate::sys;

/// Deflate's largest expansion: 1032 output bytes per input byte.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// An `.npz` archive opened for reading: numpy's `NpzFile`.
///
/// Opening reads only the zip central directory. Each member is read when
/// asked for: its header alone ([`header`](NpzArchive::header), which
/// inflates just the header of a compressed member), a copy of its array
/// ([`read`](NpzArchive::read), [`read_any`](NpzArchive::read_any)), or, for
/// a stored (uncompressed) member whose data is aligned, a map of it in
/// place ([`map`](NpzArchive::map)).
///
/// ```
/// use ndarray::{array, Ix1, Ix2};
/// use ndarray_memmap::{NpzArchive, NpzWriter};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("arrays.npz");
/// let mut npz = NpzWriter::create(&path)?; // np.savez(path, x=..., y=...)
/// npz.add("x", &array![1.0f64, 2.0, 3.0])?;
/// npz.add("y", &array![[1u8, 2], [3, 4]])?;
/// npz.finish()?;
///
/// let mut archive = NpzArchive::open(&path)?; // np.load(path)
/// assert_eq!(archive.names(), ["x", "y"]);
/// assert_eq!(archive.read::<u8, Ix2>("y")?, array![[1, 2], [3, 4]]);
/// // SAFETY: nothing else writes or truncates the archive while it is mapped.
/// let x = unsafe { archive.map::<f64, Ix1>("x") }?; // in place, no copy
/// assert_eq!(x.sum(), 6.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct NpzArchive<R = File> {
    zip: ZipArchive<R>,
    path: Option<PathBuf>,
    /// Member names in the central directory's order.
    members: Vec<String>,
    max_header_size: usize,
}

impl NpzArchive<File> {
    /// Opens the archive at `path`, reading its central directory only.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::NotAFile`], and [`Error::Npz`] for a damaged
    /// zip container (a truncated or lying central directory) or one that
    /// lists a member name twice.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let (file, _) = sys::open_regular(path, OpenOptions::new().read(true))?;
        let path = std::path::absolute(path).map_err(|e| Error::io("resolve path", path, e))?;
        Self::with_path(file, Some(path))
    }

    /// Maps a stored member read-only, in place: what
    /// `np.load(p, mmap_mode='r')[key]` would be if numpy did not ignore
    /// `mmap_mode` for archives. The map is of the archive file, from the
    /// member's data on, through the crate's one mapping path, with its
    /// registry entry and shared lock; the zip CRC is not checked (that
    /// would read every byte).
    ///
    /// # Safety
    /// See [the mapping contract](Memmap#safety): the archive must not be
    /// written or truncated while the guard lives.
    ///
    /// # Errors
    /// [`Error::NotMappable`] for a compressed member or one whose data is
    /// not aligned for `A` (archives numpy writes align nothing; those
    /// [`NpzWriter`](crate::NpzWriter) writes align every member to 64
    /// bytes), [`Error::NoSuchMember`], the header and dtype errors of
    /// [`open_npy`](MemmapOptions::open_npy), [`Error::FileTooShort`] if
    /// the member is shorter than its header says, and the errors of
    /// [`open_raw`](MemmapOptions::open_raw).
    #[allow(unsafe_code)]
    pub unsafe fn map<A: Element, D: Dimension>(&mut self, key: &str) -> Result<Memmap<A, D>> {
        // SAFETY: forwarded to our caller.
        unsafe { self.map_with(&MemmapOptions::new(), key) }
    }

    /// [`map`](NpzArchive::map) with options: access hints, populate,
    /// locking and the header limit (offset, shape and order come from the
    /// member).
    ///
    /// # Safety
    /// As for [`map`](NpzArchive::map).
    ///
    /// # Errors
    /// As for [`map`](NpzArchive::map).
    #[allow(unsafe_code)]
    pub unsafe fn map_with<A: Element, D: Dimension>(
        &mut self,
        options: &MemmapOptions,
        key: &str,
    ) -> Result<Memmap<A, D>> {
        let (options, path) = self.member_map_options::<A>(options, key)?;
        // SAFETY: forwarded to our caller; `open` checks the range against
        // the file's length again.
        unsafe { options.open_raw::<A, D>(path) }
    }

    /// Maps a stored member copy-on-write (`mode='c'`): writes change memory
    /// only, never the archive (whose CRC they would invalidate).
    ///
    /// # Safety
    /// As for [`map`](NpzArchive::map).
    ///
    /// # Errors
    /// As for [`map`](NpzArchive::map).
    #[allow(unsafe_code)]
    pub unsafe fn map_copy<A: Element, D: Dimension>(
        &mut self,
        key: &str,
    ) -> Result<MemmapMut<A, D>> {
        let (options, path) = self.member_map_options::<A>(&MemmapOptions::new(), key)?;
        // SAFETY: forwarded to our caller.
        unsafe { options.open_raw_copy::<A, D>(path) }
    }

    /// The options that map member `key` as a raw array of the archive, and
    /// the archive's path: every check that needs the member, first.
    fn member_map_options<A: Element>(
        &mut self,
        options: &MemmapOptions,
        key: &str,
    ) -> Result<(MemmapOptions, PathBuf)> {
        use crate::engine::Setting;
        options.refuse_settings(
            "an .npz member map",
            &[
                Setting::Offset,
                Setting::Shape,
                Setting::Order,
                Setting::Dtype,
            ],
            "the member's header and its place in the archive give it",
        )?;
        let index = self.index_of(key)?;
        let name = self.members[index].clone();
        let header = self.header_at(index, options.max_header_size)?;
        if let Match::Swapped { .. } = match_dtype::<A>(&header)? {
            return Err(Error::ByteOrder {
                found: header.descr.clone(),
                remedy: "read the member with NpzArchive::read, which swaps bytes",
            });
        }
        let not_mappable = |reason: String| Error::NotMappable {
            path: self.path.clone(),
            name: name.clone(),
            reason,
        };
        let path = self.path.clone();
        let member = self
            .zip
            .by_index_raw(index)
            .map_err(|e| zip_error(&path, e))?;
        let method = member.compression();
        if method != CompressionMethod::Stored {
            return Err(not_mappable(format!("it is compressed ({method})")));
        }
        let size = member.size();
        let start = member
            .data_start()
            .ok_or_else(|| not_mappable("the zip reader did not locate its data".to_owned()))?;
        drop(member);
        let (nbytes, end) = byte_extent::<A>(&header.shape, header.data_offset)?;
        if end > size {
            return Err(self.member_too_short::<A>(&name, &header, nbytes, size));
        }
        let offset = start + header.data_offset;
        let align = std::mem::align_of::<A>() as u64;
        if offset % align != 0 {
            return Err(not_mappable(format!(
                "its data starts at byte {offset} of the archive, not a multiple of {align}, the alignment of {} (NpzWriter aligns every stored member to 64 bytes; np.savez aligns none)",
                type_name::<A>()
            )));
        }
        let path = self.path.clone().ok_or_else(|| {
            not_mappable("the archive was opened from a reader, not a file".to_owned())
        })?;
        let mut options = options.clone();
        options
            .offset(offset)
            .shape(header.shape.clone())
            .order(header.order());
        Ok((options, path))
    }
}

impl<R: Read + Seek> NpzArchive<R> {
    /// Reads the archive from any seekable reader (an in-memory
    /// `Cursor<Vec<u8>>`, say): everything but mapping.
    ///
    /// # Errors
    /// [`Error::Npz`] as for [`open`](NpzArchive::open).
    pub fn new(reader: R) -> Result<Self> {
        Self::with_path(reader, None)
    }

    fn with_path(reader: R, path: Option<PathBuf>) -> Result<Self> {
        let zip = ZipArchive::new(reader).map_err(|e| Error::Npz {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if zip.has_duplicate_names() {
            return Err(Error::Npz {
                path,
                reason: "its central directory lists a member name more than once (numpy would silently read the last of each)".to_owned(),
            });
        }
        let members = (0..zip.len())
            .map(|i| match zip.name_for_index(i) {
                Some(Ok(name)) => Ok(name.into_owned()),
                Some(Err(e)) => Err(zip_error(&path, e)),
                None => Err(Error::Npz {
                    path: path.clone(),
                    reason: format!("entry {i} has no name"),
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(NpzArchive {
            zip,
            path,
            members,
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
        })
    }

    /// The longest `.npy` header accepted in a member (default 10000 bytes,
    /// as numpy).
    pub fn max_header_size(&mut self, bytes: usize) -> &mut Self {
        self.max_header_size = bytes;
        self
    }

    /// The members' keys in archive order, as numpy's `NpzFile.files` lists
    /// them: `x.npy` is `x`; other names are kept as they are.
    pub fn names(&self) -> Vec<&str> {
        self.members.iter().map(|m| key_of(m)).collect()
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the archive has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `key` names a member (with or without `.npy`, as numpy's `in`).
    pub fn contains(&self, key: &str) -> bool {
        lookup(&self.members, key).is_some()
    }

    /// The `.npy` header of member `key`, without reading its data (a
    /// compressed member is inflated only as far as its header).
    ///
    /// # Errors
    /// [`Error::NoSuchMember`], [`Error::NpyHeader`] (also for a member that
    /// is not a `.npy` file, which numpy would return as raw bytes),
    /// [`Error::Npz`] if the member cannot be read.
    pub fn header(&mut self, key: &str) -> Result<NpyHeader> {
        let index = self.index_of(key)?;
        self.header_at(index, self.max_header_size)
    }

    /// Reads member `key` into an owned array: `np.load(p)[key]`. Stored and
    /// deflated members alike; the member's size is checked against its
    /// header before anything is allocated, and its CRC after the data.
    ///
    /// # Errors
    /// As for [`header`](NpzArchive::header), plus the dtype and shape
    /// errors of [`read_npy`](crate::read_npy) and [`Error::FileTooShort`]
    /// for a member shorter than its header says.
    pub fn read<A: Element, D: Dimension>(&mut self, key: &str) -> Result<Array<A, D>> {
        let index = self.index_of(key)?;
        let member_path = self.member_path(index);
        let max_header_size = self.max_header_size;
        let path = self.path.clone();
        let mut member = self.zip.by_index(index).map_err(|e| zip_error(&path, e))?;
        let size = member.size();
        // The declared size is the archive's word; what the compressed bytes
        // can really give bounds it, so a bomb allocates nothing.
        let (method, packed) = (member.compression(), member.compressed_size());
        let most = match method {
            CompressionMethod::Stored => packed,
            _ => packed
                .saturating_mul(MAX_DEFLATE_RATIO)
                .saturating_add(1024),
        };
        if size > most {
            return Err(Error::Npz {
                path: path.clone(),
                reason: format!(
                    "member {:?} declares {size} bytes, but {packed} {method} bytes can give at most {most}; the archive is damaged",
                    self.members[index]
                ),
            });
        }
        let array =
            read_npy_stream::<A, D>(&mut member, Some(size), &member_path, max_header_size)?;
        // Reading to the end makes the zip reader check the CRC.
        io::copy(&mut member, &mut io::sink()).map_err(|e| Error::Npz {
            path: path.clone(),
            reason: format!("member {:?}: {e}", self.members[index]),
        })?;
        Ok(array)
    }

    /// Reads member `key` into an array of the element type its header
    /// names: `np.load(p)[key]` without naming a type.
    ///
    /// # Errors
    /// As for [`read`](NpzArchive::read), and [`Error::UnsupportedDtype`].
    pub fn read_any(&mut self, key: &str) -> Result<AnyArray> {
        let header = self.header(key)?;
        let dtype = header.dtype()?;
        with_element_type!(dtype, T => self.read::<T, IxDyn>(key).map(AnyArray::from),
            else Err(Error::UnsupportedDtype { descr: header.descr }))
    }

    fn index_of(&self, key: &str) -> Result<usize> {
        lookup(&self.members, key).ok_or_else(|| Error::NoSuchMember {
            path: self.path.clone(),
            name: key.to_owned(),
            available: self.names().into_iter().map(str::to_owned).collect(),
        })
    }

    fn header_at(&mut self, index: usize, max_header_size: usize) -> Result<NpyHeader> {
        let member_path = self.member_path(index);
        let path = self.path.clone();
        let mut member = self.zip.by_index(index).map_err(|e| zip_error(&path, e))?;
        read_header(&mut member, max_header_size)
            .map_err(|e| crate::npy::dtype::with_path(e, &member_path))
    }

    /// `archive.npz[x.npy]`: how errors name a member.
    fn member_path(&self, index: usize) -> PathBuf {
        let archive = self
            .path
            .as_deref()
            .map_or_else(|| "<archive>".to_owned(), |p| p.display().to_string());
        PathBuf::from(format!("{archive}[{}]", self.members[index]))
    }

    fn member_too_short<A: Element>(
        &self,
        name: &str,
        header: &NpyHeader,
        nbytes: usize,
        size: u64,
    ) -> Error {
        let index = self.members.iter().position(|m| m == name).unwrap_or(0);
        Error::FileTooShort {
            path: self.member_path(index),
            expected: header.data_offset + nbytes as u64,
            found: size,
            offset: header.data_offset,
            nbytes: nbytes as u64,
            element_size: std::mem::size_of::<A>(),
            remedy: FileTooShortRemedy::Truncated,
        }
    }
}

fn zip_error(path: &Option<PathBuf>, err: ZipError) -> Error {
    match err {
        ZipError::Io(e) => Error::Io {
            operation: "read .npz archive",
            path: path.clone(),
            cause: e,
        },
        other => Error::Npz {
            path: path.clone(),
            reason: other.to_string(),
        },
    }
}

impl<R> std::fmt::Debug for NpzArchive<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzArchive")
            .field("path", &self.path)
            .field("members", &self.members)
            .finish()
    }
}
