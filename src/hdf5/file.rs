//! [`Hdf5File`]: an HDF5 file opened for its metadata, and its contiguous
//! datasets mapped as the crate's usual guards.

use std::fs::File;
use std::path::{Path, PathBuf};

use ndarray::{Dimension, IxDyn};

use crate::any::{with_element_type, AnyGuard, AnyMemmap, AnyMemmapMut};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::guard::{Memmap, MemmapMut};
use crate::hdf5::bytes::FileSource;
use crate::hdf5::dataset::{Hdf5ChunkRecord, Hdf5Dataset, Hdf5Layout};
use crate::hdf5::fault_error;
use crate::hdf5::resolve::Resolver;
use crate::hdf5::superblock::{self, Superblock};
use crate::mode::Mode;
use crate::npy::dtype::Match;
use crate::settings::MemmapOptions;

/// An HDF5 file opened for its metadata: `h5py.File(path, 'r')`, without
/// libhdf5.
///
/// Opening reads the superblock only; each dataset is then resolved by
/// path ([`dataset`](Self::dataset)) from the file's own metadata, and
/// mapped in place ([`map`](Self::map), [`chunks`](Self::chunks)) or read
/// through a copy ([`read`](Self::read)) where it cannot map.
///
/// ```no_run
/// use ndarray::Ix2;
/// use ndarray_memmap::Hdf5File;
/// let file = Hdf5File::open("data.h5")?;
/// let dset = file.dataset("/group/x")?;
/// println!("{:?} {:?} at {:?}", dset.shape(), dset.descr(), dset.address());
/// // SAFETY: nothing writes data.h5 while the map lives.
/// let x = unsafe { file.map::<f64, Ix2>("/group/x") }?;
/// println!("{}", x.sum());
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
pub struct Hdf5File {
    path: PathBuf,
    file: File,
    len: u64,
    superblock: Superblock,
    options: MemmapOptions,
}

impl std::fmt::Debug for Hdf5File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hdf5File")
            .field("path", &self.path)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Hdf5File {
    /// Opens `path` and reads its superblock. Safe: nothing is mapped.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened or read,
    /// [`Error::NotAFile`], and [`Error::Hdf5Metadata`] if it is not HDF5
    /// or its superblock is damaged.
    pub fn open(path: impl AsRef<Path>) -> Result<Hdf5File> {
        Self::open_with(&MemmapOptions::new(), path)
    }

    /// [`open`](Self::open), with the settings every map of this file uses
    /// (locking, advice, populate). Offset, shape, order and dtype come
    /// from the file: setting them is [`Error::SettingNotApplicable`].
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    pub fn open_with(options: &MemmapOptions, path: impl AsRef<Path>) -> Result<Hdf5File> {
        options.refuse_settings(
            "Hdf5File::open_with",
            &[
                crate::engine::Setting::Offset,
                crate::engine::Setting::Shape,
                crate::engine::Setting::Order,
                crate::engine::Setting::Dtype,
            ],
            "the file's metadata gives each dataset's offset, shape, order and type",
        )?;
        let path = path.as_ref().to_path_buf();
        let (file, meta) = crate::sys::open_regular(&path, std::fs::OpenOptions::new().read(true))?;
        let len = meta.len();
        let superblock = superblock::find(&FileSource { file: &file, len })
            .map_err(|f| fault_error(Some(&path), "/", f))?;
        Ok(Hdf5File {
            path,
            file,
            len,
            superblock,
            options: options.clone(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The superblock's version (0 for h5py's default, 2 for `libver='v108'`, 3 for `'v110'` and later).
    pub fn superblock_version(&self) -> u8 {
        self.superblock.version
    }

    /// The userblock's size: where the HDF5 data starts.
    pub fn userblock_size(&self) -> u64 {
        self.superblock.position
    }

    /// Whether the superblock says a writer has the file open (or crashed
    /// with it open): libhdf5 sets these flags while a file is open for
    /// writing, also for a SWMR writer, which holds no lock.
    pub fn writer_active(&self) -> bool {
        self.superblock.writer_active()
    }

    pub(crate) fn with_resolver<T>(
        &self,
        f: impl FnOnce(&Resolver<'_, FileSource<'_>>) -> Result<T>,
    ) -> Result<T> {
        let source = FileSource {
            file: &self.file,
            len: self.len,
        };
        let resolver = Resolver {
            ctx: crate::hdf5::header::Context {
                source: &source,
                superblock: self.superblock.clone(),
            },
        };
        f(&resolver)
    }

    /// The dataset at `path` (`"/group/x"`; soft links are followed):
    /// `h5py.File(...)[path]`.
    ///
    /// # Errors
    /// [`Error::Hdf5NotFound`] if there is none (naming the group that
    /// lacks the member), [`Error::Hdf5Metadata`] for damaged metadata,
    /// [`Error::Hdf5Unsupported`] for an external link.
    pub fn dataset(&self, path: &str) -> Result<Hdf5Dataset> {
        self.with_resolver(|r| Hdf5Dataset::resolve(r, path, Some(&self.path)))
    }

    /// Every dataset reachable by hard links, by path; soft and external
    /// links are not followed (h5py's `visititems`). A dataset whose
    /// metadata cannot be read is listed with its error.
    ///
    /// # Errors
    /// [`Error::Hdf5Metadata`] if a group's metadata is damaged.
    pub fn datasets(&self) -> Result<Vec<(String, Result<Hdf5Dataset>)>> {
        self.with_resolver(|r| {
            let found = r
                .datasets()
                .map_err(|f| fault_error(Some(&self.path), "/", f))?;
            Ok(found
                .into_iter()
                .map(|(name, description)| {
                    let dataset = description
                        .map_err(|f| fault_error(Some(&self.path), &name, f))
                        .and_then(|d| {
                            Hdf5Dataset::from_description(
                                &name,
                                d,
                                self.superblock.base,
                                Some(&self.path),
                            )
                        });
                    (name, dataset)
                })
                .collect())
        })
    }

    /// A chunked dataset's chunks as its index lists them, in C order of
    /// their origins: h5py's `get_chunk_info(i)` for every `i`. Empty for
    /// a dataset that is not chunked.
    ///
    /// # Errors
    /// As for [`dataset`](Self::dataset), and [`Error::Hdf5Metadata`] for
    /// a damaged index.
    pub fn chunk_records(&self, path: &str) -> Result<Vec<Hdf5ChunkRecord>> {
        self.with_resolver(|r| {
            let dataset = Hdf5Dataset::resolve(r, path, Some(&self.path))?;
            dataset.chunk_records_with(r, Some(&self.path))
        })
    }

    /// Attaches the file's path to a dataset's refusal.
    pub(crate) fn located(&self, err: Error) -> Error {
        match err {
            Error::Hdf5Unsupported {
                path: None,
                dataset,
                reason,
                remedy,
            } => Error::Hdf5Unsupported {
                path: Some(self.path.clone()),
                dataset,
                reason,
                remedy,
            },
            other => other,
        }
    }

    pub(crate) fn writer_refusal(&self, dataset: &str, flags: u32) -> Error {
        Error::Hdf5Unsupported {
            path: Some(self.path.clone()),
            dataset: dataset.to_owned(),
            reason: format!(
                "a writer has the file open (superblock flags {flags:#x}: {}), so its metadata and data may change under a map",
                if flags & 0b100 != 0 { "a SWMR writer, which holds no file lock" } else { "open for writing" }
            ),
            remedy: "close the writer first; if no writer runs (one crashed), clear the flags with `h5clear -s FILE`".into(),
        }
    }

    /// Reopens the file for a map, checks that it is the file resolved,
    /// and returns it; the map's lock then guards it.
    pub(crate) fn reopen(&self, writable: bool) -> Result<File> {
        let (file, meta) = crate::sys::open_regular(
            &self.path,
            std::fs::OpenOptions::new().read(true).write(writable),
        )?;
        let same = {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                let first = self
                    .file
                    .metadata()
                    .map_err(|e| Error::io("stat", &self.path, e))?;
                first.dev() == meta.dev() && first.ino() == meta.ino()
            }
            #[cfg(not(unix))]
            {
                true
            }
        };
        if !same || meta.len() != self.len {
            return Err(Error::Hdf5Metadata {
                path: Some(self.path.clone()),
                reason: format!(
                    "the file was replaced or changed length ({} bytes when opened, {} now) since Hdf5File::open; open it again",
                    self.len,
                    meta.len()
                ),
            });
        }
        Ok(file)
    }

    /// The superblock's flags as they are now, read from `file` (after
    /// the map's lock is taken): refuses a file a writer has open.
    pub(crate) fn check_no_writer(&self, file: &File, dataset: &str) -> Result<()> {
        let now = superblock::find(&FileSource {
            file,
            len: self.len,
        })
        .map_err(|f| fault_error(Some(&self.path), dataset, f))?;
        if now.writer_active() {
            return Err(self.writer_refusal(dataset, now.flags));
        }
        Ok(())
    }

    /// The dataset at `path`, checked to map whole: contiguous and
    /// allocated (or empty), not external, of a supported type.
    fn contiguous(&self, path: &str) -> Result<(Hdf5Dataset, u64)> {
        let dataset = self.dataset(path)?;
        dataset.mappable().map_err(|e| self.located(e))?;
        if self.writer_active() {
            return Err(self.writer_refusal(path, self.superblock.flags));
        }
        match *dataset.layout() {
            Hdf5Layout::Contiguous { address, size } => {
                let nbytes = (dataset.len() as u64).checked_mul(dataset.dtype()?.size() as u64);
                if address.is_some() && nbytes.is_none_or(|n| size < n) {
                    let nbytes = nbytes.map_or_else(|| "more than 2^64".to_owned(), |n| n.to_string());
                    return Err(Error::Hdf5Metadata {
                        path: Some(self.path.clone()),
                        reason: format!("the dataset {path:?} of shape {:?} needs {nbytes} bytes, but its layout stores {size}", dataset.shape()),
                    });
                }
                Ok((dataset.clone(), address.unwrap_or(0)))
            }
            Hdf5Layout::Chunked { .. } => Err(self.located(dataset.refusal(
                "it is chunked: there is no single block to map".into(),
                "map it chunk by chunk with Hdf5File::chunks, or read it whole with Hdf5File::read".into(),
            ))),
            _ => Err(self.located(dataset.refusal("its layout cannot map".into(), "read it with Hdf5File::read".into()))),
        }
    }

    fn map_options<A: Element>(
        &self,
        dataset: &Hdf5Dataset,
        address: u64,
    ) -> Result<MemmapOptions> {
        match dataset.match_element::<A>()? {
            Match::Native => {}
            Match::Swapped { .. } => {
                return Err(Error::ByteOrder {
                    found: dataset.descr().unwrap_or_default(),
                    remedy: "read it with Hdf5File::read, which swaps the bytes",
                })
            }
        }
        let mut options = self.options.clone();
        options.offset(address).shape(IxDyn(dataset.shape()));
        Ok(options)
    }

    /// The steps every contiguous map shares: the dataset checked, the
    /// options made, the file reopened (for writing if `writable`) and
    /// checked to be the one resolved; `open` maps it, and the superblock
    /// is read again under the map's lock.
    fn map_with<A: Element, G>(
        &self,
        path: &str,
        writable: bool,
        open: impl FnOnce(&MemmapOptions, &File) -> Result<G>,
    ) -> Result<G> {
        let (dataset, address) = self.contiguous(path)?;
        let options = self.map_options::<A>(&dataset, address)?;
        let file = self.reopen(writable)?;
        let guard = open(&options, &file)?;
        self.check_no_writer(&file, path)?;
        Ok(guard)
    }

    /// Maps the contiguous dataset at `path` read-only: what
    /// `np.memmap(file, mode='r', dtype=dset.dtype, offset=dset.id.get_offset(), shape=dset.shape)`
    /// does, with the checks that idiom lacks: the type and its byte order,
    /// the alignment, that the data was ever allocated, and that no writer
    /// has the file open.
    ///
    /// A scalar dataset maps as a 0-d array; the null dataspace as an
    /// empty array of shape `[0]`.
    ///
    /// # Safety
    /// See [the mapping contract](crate::Memmap#safety). While libhdf5 (h5py)
    /// has the file open too, its sieve buffer makes its reads and writes
    /// and the map disagree: see the crate's safety docs.
    ///
    /// # Errors
    /// [`Error::Hdf5Unsupported`] for a dataset that cannot map (naming why
    /// and the way out), [`Error::DtypeMismatch`] if `A` is not its type,
    /// [`Error::ByteOrder`] for the other byte order, [`Error::Misaligned`]
    /// where the data's offset is not a multiple of `A`'s alignment
    /// (libhdf5 aligns nothing by default: use [`read`](Self::read)),
    /// [`Error::Locked`] while h5py has the file open for writing, and the
    /// errors of [`open_raw`](MemmapOptions::open_raw).
    #[allow(unsafe_code)]
    pub unsafe fn map<A: Element, D: Dimension>(&self, path: &str) -> Result<Memmap<A, D>> {
        // SAFETY: forwarded to our caller; the range is checked against the file.
        self.map_with::<A, _>(path, false, |options, file| unsafe {
            options.open_raw_file::<A, D>(file)
        })
    }

    /// Maps the contiguous dataset at `path` for reading and writing in
    /// place (`r+`): writes go to the file, where h5py reads them.
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    ///
    /// # Errors
    /// As for [`map`](Self::map); [`Error::Locked`] while h5py has the
    /// file open at all.
    #[allow(unsafe_code)]
    pub unsafe fn map_mut<A: Element, D: Dimension>(&self, path: &str) -> Result<MemmapMut<A, D>> {
        // SAFETY: forwarded to our caller; the range is checked against the file.
        self.map_with::<A, _>(path, true, |options, file| unsafe {
            options.open_raw_file_mut::<A, D>(file)
        })
    }

    /// Maps the contiguous dataset at `path` copy-on-write (`c`): writes
    /// stay in this process's memory; the file never changes.
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    ///
    /// # Errors
    /// As for [`map`](Self::map).
    #[allow(unsafe_code)]
    pub unsafe fn map_copy<A: Element, D: Dimension>(&self, path: &str) -> Result<MemmapMut<A, D>> {
        // SAFETY: forwarded to our caller; the range is checked against the file.
        self.map_with::<A, _>(path, false, |options, file| unsafe {
            options.open_raw_file_copy::<A, D>(file)
        })
    }

    /// Maps the contiguous dataset at `path` with the element type its
    /// metadata gives, in `mode` (`r`, `r+` or `c`): the run-time-typed map.
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    ///
    /// # Errors
    /// As for [`map`](Self::map); [`Error::UnsupportedDtype`] for strings
    /// and compounds (map those typed, as `[u8; N]` or an
    /// [`npy_record!`](crate::npy_record) type); [`Error::InvalidMode`]
    /// for `w+` (create datasets with h5py).
    #[allow(unsafe_code)]
    pub unsafe fn map_any(&self, path: &str, mode: Mode) -> Result<AnyGuard> {
        let scalar = self.scalar_dtype(path)?;
        with_element_type!(scalar, T => {
            // SAFETY: forwarded to our caller.
            unsafe {
                match mode {
                    Mode::ReadOnly => self.map::<T, IxDyn>(path).map(|g| AnyGuard::ReadOnly(AnyMemmap::from(g))),
                    Mode::ReadWrite => self.map_mut::<T, IxDyn>(path).map(|g| AnyGuard::Writable(AnyMemmapMut::from(g))),
                    Mode::CopyOnWrite => self.map_copy::<T, IxDyn>(path).map(|g| AnyGuard::Writable(AnyMemmapMut::from(g))),
                    Mode::Create => Err(Error::Hdf5Unsupported {
                        path: Some(self.path.clone()),
                        dataset: path.to_owned(),
                        reason: "mode w+ creates a file, and this one exists".into(),
                        remedy: "map it in r+ to write in place".into(),
                    }),
                }
            }
        }, else Err(Error::UnsupportedDtype { descr: scalar.descr() }))
    }

    /// The dataset's element type, for the run-time-typed paths: strings
    /// and compounds have no run-time type (map or read those typed).
    pub(crate) fn scalar_dtype(&self, path: &str) -> Result<crate::element::DType> {
        let dataset = self.dataset(path)?;
        let dtype = dataset.dtype().map_err(|e| self.located(e))?;
        dtype.scalar().ok_or_else(|| Error::UnsupportedDtype {
            descr: dtype.descr(),
        })
    }

    pub(crate) fn superblock_flags(&self) -> u32 {
        self.superblock.flags
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn options(&self) -> &MemmapOptions {
        &self.options
    }
}
