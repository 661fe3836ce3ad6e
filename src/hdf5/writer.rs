//! [`Hdf5Writer`]: new HDF5 files whose datasets map, as h5py reads them;
//! and datasets added to such files. numpy's `w+`, for HDF5.
//!
//! A new file is written under a temporary name beside its final one:
//! each dataset's data is allocated at creation, aligned, and left sparse
//! until written (through the map the writer lends, or `write_dataset`);
//! `finish` writes the metadata after the data, the superblock last,
//! syncs and renames. A killed writer leaves only the temporary file.
//! Datasets added to an existing file go after its end, with new headers
//! for the groups they change (the old ones are left as they were), and
//! the superblock is rewritten last: until then the file is the old one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};

use ndarray::{ArrayRef, Dimension, IntoDimension};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::guard::{MemmapMut, Origin};
use crate::hdf5::bytes::FileSource;
use crate::hdf5::datatype::Datatype;
use crate::hdf5::encode::{self, Message};
use crate::hdf5::header::{kind, Context};
use crate::hdf5::messages::{self, Target};
use crate::hdf5::{fault_error, group, superblock};
use crate::layout::Order;
use crate::map::{Sharing, WriteMapping};
use crate::mode::Mode;
use crate::registry::Registration;

/// An attribute's value: a number, a string or a small array of numbers.
#[derive(Clone, Debug, PartialEq)]
pub enum Hdf5Attribute {
    /// A 64-bit signed integer (h5py reads an `int64`).
    Int(i64),
    /// A 64-bit float (h5py reads a `float64`).
    Float(f64),
    /// A string, stored fixed-length and UTF-8 (h5py reads `bytes`).
    Text(String),
    /// A one-axis array of `int64`.
    Ints(Vec<i64>),
    /// A one-axis array of `float64`.
    Floats(Vec<f64>),
}

impl From<i64> for Hdf5Attribute {
    fn from(value: i64) -> Self {
        Hdf5Attribute::Int(value)
    }
}
impl From<f64> for Hdf5Attribute {
    fn from(value: f64) -> Self {
        Hdf5Attribute::Float(value)
    }
}
impl From<&str> for Hdf5Attribute {
    fn from(value: &str) -> Self {
        Hdf5Attribute::Text(value.to_owned())
    }
}
impl From<String> for Hdf5Attribute {
    fn from(value: String) -> Self {
        Hdf5Attribute::Text(value)
    }
}
impl From<Vec<i64>> for Hdf5Attribute {
    fn from(value: Vec<i64>) -> Self {
        Hdf5Attribute::Ints(value)
    }
}
impl From<Vec<f64>> for Hdf5Attribute {
    fn from(value: Vec<f64>) -> Self {
        Hdf5Attribute::Floats(value)
    }
}

impl Hdf5Attribute {
    /// The attribute message.
    fn message(&self, name: &str) -> Vec<u8> {
        let int = Datatype::Int {
            size: 8,
            signed: true,
            order: crate::ByteOrder::Little,
        };
        let float = Datatype::Float {
            size: 8,
            order: crate::ByteOrder::Little,
        };
        let le = |values: &mut dyn Iterator<Item = [u8; 8]>| values.flatten().collect::<Vec<u8>>();
        match self {
            Hdf5Attribute::Int(v) => encode::attribute(name, &int, &[], &v.to_le_bytes()),
            Hdf5Attribute::Float(v) => encode::attribute(name, &float, &[], &v.to_le_bytes()),
            Hdf5Attribute::Text(text) => {
                let size = text.len().max(1);
                let mut bytes = text.as_bytes().to_vec();
                bytes.resize(size, 0);
                encode::attribute(name, &Datatype::String { size }, &[], &bytes)
            }
            Hdf5Attribute::Ints(v) => encode::attribute(
                name,
                &int,
                &[v.len()],
                &le(&mut v.iter().map(|x| x.to_le_bytes())),
            ),
            Hdf5Attribute::Floats(v) => encode::attribute(
                name,
                &float,
                &[v.len()],
                &le(&mut v.iter().map(|x| x.to_le_bytes())),
            ),
        }
    }
}

/// A dataset's writable map, lent by [`Hdf5Writer::create_dataset`]: the
/// crate's [`MemmapMut`] (it derefs to it), tied to the writer so that the
/// file cannot be finished while it lives.
pub struct Hdf5DatasetMut<'w, A: Element, D: Dimension> {
    guard: MemmapMut<A, D>,
    _writer: PhantomData<&'w Hdf5Writer>,
}

impl<A: Element, D: Dimension> Deref for Hdf5DatasetMut<'_, A, D> {
    type Target = MemmapMut<A, D>;
    fn deref(&self) -> &MemmapMut<A, D> {
        &self.guard
    }
}

impl<A: Element, D: Dimension> DerefMut for Hdf5DatasetMut<'_, A, D> {
    fn deref_mut(&mut self) -> &mut MemmapMut<A, D> {
        &mut self.guard
    }
}

impl<A: Element, D: Dimension> Hdf5DatasetMut<'_, A, D> {
    /// Flushes the map and ends the loan (dropping also flushes, without
    /// reporting errors).
    ///
    /// # Errors
    /// [`Error::Io`] if the flush fails.
    pub fn close(self) -> Result<()> {
        // Flushed here to report errors; the drop that follows finds nothing to flush.
        self.guard.flush()
    }
}

/// A member of a group being written.
enum Node {
    Group(GroupNode),
    Dataset(DatasetNode),
    /// A member the file had already that is not a group (a dataset, a
    /// soft or external link): kept as it is.
    Existing,
}

#[derive(Default)]
struct GroupNode {
    /// The group's header in the file, when it exists already.
    existing: Option<u64>,
    /// Members, by name; in an existing group only those added, or on the
    /// way to one, with the rest left to its old header.
    children: BTreeMap<String, Node>,
    attributes: Vec<(String, Vec<u8>)>,
}

struct DatasetNode {
    dtype: Datatype,
    shape: Vec<usize>,
    address: u64,
    size: u64,
    attributes: Vec<(String, Vec<u8>)>,
}

struct State {
    /// Where the next allocation may start.
    end: u64,
    root: GroupNode,
}

/// Creates an HDF5 file whose datasets map, and that h5py, PyTables and
/// `h5dump` read; or adds datasets to a file of that kind.
///
/// Every dataset is contiguous, allocated when created (so that it has an
/// address at once) and never filled (so that it takes no disk blocks until
/// written), its data aligned to its element size or to
/// [`alignment`](Self::alignment): the four settings libhdf5 needs to be
/// told, made the only ones.
///
/// ```
/// use ndarray::Ix2;
/// use ndarray_memmap::{Hdf5File, Hdf5Writer};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("new.h5");
/// let writer = Hdf5Writer::create(&path)?;
/// {
///     // SAFETY: the new file is this process's alone until `finish`.
///     let mut t = unsafe { writer.create_dataset::<f64, Ix2>("/grid/t", (300, 200)) }?;
///     t.fill(1.5); // through the map
///     t.close()?;
/// }
/// writer.set_attribute("/grid/t", "units", "K")?;
/// writer.finish()?; // metadata, superblock, sync, rename
///
/// let file = Hdf5File::open(&path)?;
/// // SAFETY: nothing writes the file meanwhile.
/// let t = unsafe { file.map::<f64, Ix2>("/grid/t") }?;
/// assert_eq!(t.sum(), 1.5 * 60_000.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Hdf5Writer {
    path: PathBuf,
    /// Where the file is written: a temporary name for a new file, the
    /// file itself when appending.
    written: PathBuf,
    file: File,
    appending: Option<Appending>,
    alignment: u64,
    state: RefCell<State>,
    _registration: Registration,
    finished: bool,
}

/// What an existing file had, to append to it.
struct Appending {
    len: u64,
}

impl std::fmt::Debug for Hdf5Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hdf5Writer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn write_error(path: &Path, object: &str, reason: impl Into<String>) -> Error {
    Error::Hdf5Write {
        path: path.to_path_buf(),
        object: object.to_owned(),
        reason: reason.into(),
    }
}

/// `path`'s components, refusing empty ones and `.`.
fn components<'p>(file: &Path, path: &'p str) -> Result<Vec<&'p str>> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(write_error(
            file,
            path,
            "a path names a member below the root: \"/group/name\", without \".\" or \"..\"",
        ));
    }
    Ok(parts)
}

fn align_up(at: u64, alignment: u64) -> u64 {
    at.div_ceil(alignment) * alignment
}

impl Hdf5Writer {
    /// Starts a new file at `path`, written under a temporary name beside it
    /// and renamed over `path` by [`finish`](Self::finish).
    ///
    /// # Errors
    /// [`Error::Io`] if the temporary file cannot be created.
    pub fn create(path: impl AsRef<Path>) -> Result<Hdf5Writer> {
        let path = path.as_ref().to_path_buf();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let written = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&written)
            .map_err(|e| Error::io("create", &written, e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io("stat", &written, e))?;
        let registration = Registration::register(&meta, &written, true)?;
        crate::registry::lock(&file, &written, true, std::time::Duration::ZERO)?;
        Ok(Hdf5Writer {
            path,
            written,
            file,
            appending: None,
            alignment: 1,
            state: RefCell::new(State {
                end: encode::SUPERBLOCK_LEN,
                root: GroupNode::default(),
            }),
            _registration: registration,
            finished: false,
        })
    }

    /// Opens a file this crate wrote (a version-2 superblock, groups with
    /// their links in their headers) to add datasets and groups to it. The
    /// file keeps every byte it had until [`finish`](Self::finish): new
    /// data and headers go after its end, and the superblock, rewritten
    /// last, makes them part of the file.
    ///
    /// # Errors
    /// [`Error::Hdf5Write`] for a file of another kind (h5py's default
    /// format: a version-0 superblock and symbol-table groups; a superblock
    /// extension, where libhdf5 may keep free-space records; groups in
    /// dense storage), or a writer active on it; [`Error::Locked`] while
    /// h5py or another writer has it open.
    pub fn append(path: impl AsRef<Path>) -> Result<Hdf5Writer> {
        let path = path.as_ref().to_path_buf();
        let (file, meta) =
            crate::sys::open_regular(&path, std::fs::OpenOptions::new().read(true).write(true))?;
        let registration = Registration::register(&meta, &path, true)?;
        crate::registry::lock(&file, &path, true, std::time::Duration::from_millis(200))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", &path, e))?
            .len();
        let sb = superblock::find(&FileSource { file: &file, len })
            .map_err(|f| fault_error(Some(&path), "/", f))?;
        let refuse = |reason: String| Err(write_error(&path, "/", reason));
        if sb.version != 2
            || sb.position != 0
            || sb.base != 0
            || sb.extension.is_some()
            || sb.sizes.offset != 8
            || sb.sizes.length != 8
        {
            return refuse(format!(
                "datasets are added only to files of this crate's format (superblock version 2 at byte 0, 8-byte addresses, no extension); this one has superblock version {}{}: add datasets with h5py, or write a new file",
                sb.version,
                if sb.extension.is_some() { " with an extension (libhdf5 may keep free-space records there)" } else { "" }
            ));
        }
        if sb.writer_active() {
            return refuse(format!("a writer has the file open (superblock flags {:#x}); close it first, or clear a crashed writer's flags with `h5clear -s FILE`", sb.flags));
        }
        let root = sb.root;
        let writer = Hdf5Writer {
            path: path.clone(),
            written: path,
            file,
            appending: Some(Appending { len }),
            alignment: 1,
            state: RefCell::new(State {
                end: len,
                root: GroupNode {
                    existing: Some(root),
                    ..GroupNode::default()
                },
            }),
            _registration: registration,
            finished: false,
        };
        // The root must be a group whose links this crate can rewrite.
        writer.links_of(root, "/")?;
        Ok(writer)
    }

    /// Aligns every dataset created from here on to `bytes` (a power of
    /// two): 4096 puts each on a page of its own. By default each is
    /// aligned to its element size (rounded up to a power of two).
    ///
    /// # Errors
    /// [`Error::Hdf5Write`] if `bytes` is not a power of two.
    pub fn alignment(mut self, bytes: u64) -> Result<Self> {
        if !bytes.is_power_of_two() {
            return Err(write_error(
                &self.path,
                "/",
                format!("the alignment {bytes} is not a power of two"),
            ));
        }
        self.alignment = bytes;
        Ok(self)
    }

    /// The links of an existing group (its header at `address`), checked to
    /// be in the header itself, as this crate writes them.
    fn links_of(&self, address: u64, name: &str) -> Result<Vec<(String, Target)>> {
        let len = self.appending.as_ref().map_or(0, |a| a.len);
        let source = FileSource {
            file: &self.file,
            len,
        };
        let sb = superblock::find(&source).map_err(|f| fault_error(Some(&self.path), name, f))?;
        let ctx = Context {
            source: &source,
            superblock: sb,
        };
        let fault = |f| fault_error(Some(&self.path), name, f);
        let header = ctx.header(address).map_err(fault)?;
        match group::storage(&header, ctx.sizes(), None).map_err(fault)? {
            Some(group::Storage::Compact(links)) => Ok(links),
            Some(_) => Err(write_error(
                &self.path,
                name,
                "the group keeps its links in a B-tree (libhdf5's symbol table or dense storage), which this crate does not rewrite; add members to it with h5py",
            )),
            None => Err(write_error(&self.path, name, "it is not a group")),
        }
    }

    /// Runs `f` on the group at `parts` (created on the way, as h5py's
    /// `require_group`), loading existing groups' members as needed.
    fn with_group<T>(
        &self,
        object: &str,
        parts: &[&str],
        f: impl FnOnce(&mut GroupNode) -> Result<T>,
    ) -> Result<T> {
        let mut state = self.state.borrow_mut();
        let mut group = &mut state.root;
        let mut walked = String::new();
        for part in parts {
            walked.push('/');
            walked.push_str(part);
            if !group.children.contains_key(*part) {
                let existing = match group.existing {
                    Some(at) => self
                        .links_of(at, &walked)
                        .map(|links| links.into_iter().find(|(n, _)| n == part))?,
                    None => None,
                };
                let node = match existing {
                    Some((_, Target::Hard(at))) => {
                        self.links_of(at, &walked)?;
                        Node::Group(GroupNode {
                            existing: Some(at),
                            ..GroupNode::default()
                        })
                    }
                    Some(_) => Node::Existing,
                    None => Node::Group(GroupNode::default()),
                };
                group.children.insert((*part).to_owned(), node);
            }
            group = match group.children.get_mut(*part) {
                Some(Node::Group(g)) => g,
                _ => {
                    return Err(write_error(
                        &self.path,
                        object,
                        format!("{walked} is not a group"),
                    ))
                }
            };
        }
        f(group)
    }

    /// Records a new dataset at `path` and allocates its data: where it
    /// starts, and its size.
    fn allocate(
        &self,
        path: &str,
        dtype: Datatype,
        shape: Vec<usize>,
        align: u64,
    ) -> Result<(u64, u64)> {
        let parts = components(&self.path, path)?;
        let (name, parents) = parts.split_last().expect("components are never empty");
        let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let size = count
            .and_then(|n| n.checked_mul(dtype.size()))
            .filter(|&n| n <= isize::MAX as usize)
            .ok_or_else(|| {
                write_error(
                    &self.path,
                    path,
                    format!(
                        "a shape of {shape:?} elements of {} bytes overflows",
                        dtype.size()
                    ),
                )
            })? as u64;
        let exists = |group: &GroupNode| -> Result<bool> {
            if group.children.contains_key(*name) {
                return Ok(true);
            }
            match group.existing {
                Some(at) => Ok(self.links_of(at, path)?.iter().any(|(n, _)| n == name)),
                None => Ok(false),
            }
        };
        let start = {
            let state = self.state.borrow();
            align_up(state.end, align.max(self.alignment))
        };
        let end = start
            .checked_add(size)
            .ok_or_else(|| write_error(&self.path, path, "the file would pass 2^64 bytes"))?;
        self.with_group(path, parents, |group| {
            if exists(group)? {
                return Err(write_error(
                    &self.path,
                    path,
                    "a member of that name exists; choose another name",
                ));
            }
            group.children.insert(
                (*name).to_owned(),
                Node::Dataset(DatasetNode {
                    dtype,
                    shape,
                    address: start,
                    size,
                    attributes: Vec::new(),
                }),
            );
            Ok(())
        })?;
        crate::sys::check_file_size_limit(&self.written, end)?;
        self.file
            .set_len(end)
            .map_err(|e| Error::io("extend file", &self.written, e))?;
        self.state.borrow_mut().end = end;
        Ok((start, size))
    }

    fn dtype_of<A: Element>(&self, path: &str) -> Result<(Datatype, u64)> {
        let descr = crate::npy::dtype::descr_of::<A>()?;
        let dtype = Datatype::from_descr(&descr).ok_or_else(|| {
            write_error(
                &self.path,
                path,
                format!("HDF5 has no type here for numpy's {descr:?}"),
            )
        })?;
        let align = (std::mem::size_of::<A>().max(1).next_power_of_two() as u64).min(4096);
        Ok((dtype, align))
    }

    /// Creates the dataset at `path` (groups on the way are created) and
    /// lends its data as a writable map: `np.memmap(..., mode='w+')`. Its
    /// data is allocated now and takes no disk blocks until written.
    /// Several datasets may be open at once; [`finish`](Self::finish) waits
    /// for them all to be dropped (the borrow checker sees to it).
    ///
    /// # Safety
    /// See [the mapping contract](crate::Memmap#safety): nothing else may
    /// write or truncate the file (under its temporary name, or the file
    /// itself when appending) while the map lives.
    ///
    /// # Errors
    /// [`Error::Hdf5Write`] for a path that exists or whose parent is a
    /// dataset, or an element type HDF5 has no type for;
    /// [`Error::FileSizeLimit`]; [`Error::Io`].
    #[allow(unsafe_code)]
    pub unsafe fn create_dataset<A: Element, D: Dimension>(
        &self,
        path: &str,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<Hdf5DatasetMut<'_, A, D>> {
        let shape = shape.into_dimension();
        let (dtype, align) = self.dtype_of::<A>(path)?;
        let (address, size) = self.allocate(path, dtype, shape.slice().to_vec(), align)?;
        let strides = Order::C.stride_shape(shape);
        // SAFETY: forwarded to our caller; the range lies inside the file,
        // which was just extended to cover it, and no other range this
        // writer lends overlaps it.
        let mapping = unsafe {
            WriteMapping::<A, D>::map(
                &self.file,
                &self.written,
                address,
                size as usize,
                strides,
                false,
                Sharing::Shared,
            )
        }?;
        let origin = Origin {
            path: Some(self.path.clone()),
            offset: address,
            mode: Mode::Create,
            order: Order::C,
            file: None,
            registration: None,
            npy: None,
        };
        Ok(Hdf5DatasetMut {
            guard: MemmapMut::new(mapping, origin),
            _writer: PhantomData,
        })
    }

    /// Creates the dataset at `path` holding `array`'s elements (in C
    /// order), written with ordinary I/O: `f.create_dataset(path, data=array)`.
    ///
    /// # Errors
    /// As for [`create_dataset`](Self::create_dataset).
    pub fn write_dataset<A: Element, D: Dimension>(
        &self,
        path: &str,
        array: &ArrayRef<A, D>,
    ) -> Result<()> {
        let (dtype, align) = self.dtype_of::<A>(path)?;
        let (address, _) = self.allocate(path, dtype, array.shape().to_vec(), align)?;
        self.write_elements(address, array)
    }

    /// Creates the dataset at `path` of `shape` without writing or mapping
    /// it: its data is allocated, sparse, to be written with
    /// [`write_rows`](Self::write_rows) (a dataset larger than memory, one
    /// slab at a time).
    ///
    /// # Errors
    /// As for [`create_dataset`](Self::create_dataset).
    pub fn reserve_dataset<A: Element>(&self, path: &str, shape: &[usize]) -> Result<()> {
        let (dtype, align) = self.dtype_of::<A>(path)?;
        self.allocate(path, dtype, shape.to_vec(), align)
            .map(|_| ())
    }

    /// Writes `block` into the dataset at `path` (created by this writer)
    /// as its rows `first..first + block.shape()[0]`: the block covers the
    /// other axes whole. A 0-d dataset takes a 0-d block.
    ///
    /// # Errors
    /// [`Error::Hdf5Write`] for a dataset this writer did not create, a
    /// block of another type or that does not fit; [`Error::Io`].
    pub fn write_rows<A: Element, D: Dimension>(
        &self,
        path: &str,
        first: usize,
        block: &ArrayRef<A, D>,
    ) -> Result<()> {
        let (dtype, _) = self.dtype_of::<A>(path)?;
        let parts = components(&self.path, path)?;
        let (name, parents) = parts.split_last().expect("components are never empty");
        let (address, shape) =
            self.with_group(path, parents, |group| match group.children.get(*name) {
                Some(Node::Dataset(d)) if d.dtype == dtype => Ok((d.address, d.shape.clone())),
                Some(Node::Dataset(d)) => Err(write_error(
                    &self.path,
                    path,
                    format!(
                        "the dataset holds {}, not {}",
                        d.dtype.descr(),
                        dtype.descr()
                    ),
                )),
                _ => Err(write_error(
                    &self.path,
                    path,
                    "no dataset of that name was created by this writer",
                )),
            })?;
        let fits = if shape.is_empty() {
            block.ndim() == 0 && first == 0
        } else {
            block.ndim() == shape.len()
                && block.shape()[1..] == shape[1..]
                && first
                    .checked_add(block.shape()[0])
                    .is_some_and(|end| end <= shape[0])
        };
        if !fits {
            return Err(write_error(
                &self.path,
                path,
                format!("a block of shape {:?} at row {first} does not fit the dataset's shape {shape:?}", block.shape()),
            ));
        }
        let row: usize = shape.iter().skip(1).product::<usize>() * std::mem::size_of::<A>();
        self.write_elements(address + (first * row) as u64, block)
    }

    /// Writes `array`'s elements in C order from `at`, a megabyte at a time.
    fn write_elements<A: Element, D: Dimension>(
        &self,
        mut at: u64,
        array: &ArrayRef<A, D>,
    ) -> Result<()> {
        if let Some(slice) = array.as_slice() {
            // In pieces, each one's write-back started at once: the disk
            // works while the next piece is copied, and `finish`'s sync
            // finds little left to do.
            for piece in bytemuck::cast_slice::<A, u8>(slice).chunks(WRITE_BEHIND_BYTES) {
                crate::sys::write_all_at(&self.file, piece, at)
                    .map_err(|e| Error::io("write", &self.written, e))?;
                crate::sys::start_writeback(&self.file, at, piece.len() as u64);
                at += piece.len() as u64;
            }
            return Ok(());
        }
        let mut buffer: Vec<A> = Vec::with_capacity((1 << 20) / std::mem::size_of::<A>().max(1));
        let flush = |buffer: &mut Vec<A>, at: &mut u64| -> Result<()> {
            let bytes: &[u8] = bytemuck::cast_slice(buffer.as_slice());
            crate::sys::write_all_at(&self.file, bytes, *at)
                .map_err(|e| Error::io("write", &self.written, e))?;
            crate::sys::start_writeback(&self.file, *at, bytes.len() as u64);
            *at += bytes.len() as u64;
            buffer.clear();
            Ok(())
        };
        for value in array.iter() {
            buffer.push(*value);
            if buffer.len() == buffer.capacity() {
                flush(&mut buffer, &mut at)?;
            }
        }
        flush(&mut buffer, &mut at)
    }

    /// Sets the attribute `name` of the group or dataset at `object` ("/"
    /// for the root), created by this writer (or a group it rewrites).
    ///
    /// # Errors
    /// [`Error::Hdf5Write`] if there is no such object among those written.
    pub fn set_attribute(
        &self,
        object: &str,
        name: &str,
        value: impl Into<Hdf5Attribute>,
    ) -> Result<()> {
        let message = value.into().message(name);
        let parts: Vec<&str> = object.split('/').filter(|p| !p.is_empty()).collect();
        let set = |list: &mut Vec<(String, Vec<u8>)>| {
            list.retain(|(n, _)| n != name);
            list.push((name.to_owned(), message.clone()));
        };
        let Some((last, parents)) = parts.split_last() else {
            set(&mut self.state.borrow_mut().root.attributes);
            return Ok(());
        };
        self.with_group(object, parents, |group| match group.children.get_mut(*last) {
            Some(Node::Group(g)) => {
                set(&mut g.attributes);
                Ok(())
            }
            Some(Node::Dataset(d)) => {
                set(&mut d.attributes);
                Ok(())
            }
            _ => Err(write_error(&self.path, object, "no group or dataset of that name was written here; attributes go on objects this writer creates")),
        })
    }

    /// Writes the metadata (each dataset's header, then each group's), the
    /// superblock last, syncs the file and (new files) renames it into
    /// place. A writer dropped without `finish` leaves nothing: a new
    /// file's temporary file is removed, an existing file is put back to
    /// its length.
    ///
    /// # Errors
    /// [`Error::Io`] if a write, the sync or the rename fails (the old file,
    /// if any, is then as it was).
    pub fn finish(mut self) -> Result<()> {
        let mut state = std::mem::replace(
            &mut *self.state.borrow_mut(),
            State {
                end: 0,
                root: GroupNode::default(),
            },
        );
        let mut at = align_up(state.end, 8);
        let root = self.write_group(&mut state.root, &mut at, "/")?;
        let write = |bytes: &[u8], offset: u64| {
            crate::sys::write_all_at(&self.file, bytes, offset)
                .map_err(|e| Error::io("write", &self.written, e))
        };
        self.file
            .set_len(at)
            .map_err(|e| Error::io("extend file", &self.written, e))?;
        if self.appending.is_some() {
            // Everything new is durable before the superblock points to it.
            self.file
                .sync_all()
                .map_err(|e| Error::io("sync", &self.written, e))?;
        }
        write(&encode::superblock(at, root), 0)?;
        self.file
            .sync_all()
            .map_err(|e| Error::io("sync", &self.written, e))?;
        if self.appending.is_none() {
            std::fs::rename(&self.written, &self.path)
                .map_err(|e| Error::io("rename", &self.path, e))?;
            if let Some(dir) = self.path.parent() {
                if let Ok(dir) = File::open(if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                }) {
                    let _ = dir.sync_all();
                }
            }
        }
        self.finished = true;
        Ok(())
    }

    /// Writes `group`'s members' headers, then its own, at `*at`; returns
    /// its address.
    fn write_group(&self, group: &mut GroupNode, at: &mut u64, path: &str) -> Result<u64> {
        let mut links: Vec<(String, u64)> = Vec::new();
        for (name, node) in &mut group.children {
            let child = if path == "/" {
                format!("/{name}")
            } else {
                format!("{path}/{name}")
            };
            match node {
                Node::Group(g) => links.push((name.clone(), self.write_group(g, at, &child)?)),
                Node::Dataset(d) => {
                    let mut messages = vec![
                        Message::new(kind::DATASPACE, encode::dataspace(&d.shape)),
                        Message {
                            kind: kind::DATATYPE as u8,
                            flags: 1,
                            data: encode::datatype(&d.dtype),
                        },
                        Message {
                            kind: kind::FILL as u8,
                            flags: 1,
                            data: encode::fill_never(),
                        },
                        // libhdf5 refuses an address for no bytes: empty data is never allocated.
                        Message::new(
                            kind::LAYOUT,
                            encode::contiguous(
                                if d.size == 0 { u64::MAX } else { d.address },
                                d.size,
                            ),
                        ),
                    ];
                    messages.extend(
                        d.attributes
                            .iter()
                            .map(|(_, m)| Message::new(ATTRIBUTE, m.clone())),
                    );
                    links.push((
                        name.clone(),
                        self.put(&encode::object_header(&messages), at)?,
                    ));
                }
                Node::Existing => {}
            }
        }
        let mut messages = Vec::new();
        match group.existing {
            Some(address) => {
                // The old header's messages, with the links to rewritten
                // members replaced and the new ones added.
                let len = self.appending.as_ref().map_or(0, |a| a.len);
                let source = FileSource {
                    file: &self.file,
                    len,
                };
                let sb = superblock::find(&source)
                    .map_err(|f| fault_error(Some(&self.path), path, f))?;
                let ctx = Context {
                    source: &source,
                    superblock: sb,
                };
                for m in ctx
                    .header(address)
                    .map_err(|f| fault_error(Some(&self.path), path, f))?
                {
                    if m.kind == 0 || m.kind == kind::CONTINUATION {
                        continue;
                    }
                    if m.kind == kind::LINK {
                        let (name, _) = messages::link(&m.data, ctx.sizes())
                            .map_err(|f| fault_error(Some(&self.path), path, f))?;
                        if links.iter().any(|(n, _)| *n == name) {
                            continue;
                        }
                    }
                    if m.kind == ATTRIBUTE
                        && group
                            .attributes
                            .iter()
                            .any(|(n, _)| attribute_name(&m.data) == Some(n.as_str()))
                    {
                        continue;
                    }
                    messages.push(Message {
                        kind: m.kind as u8,
                        flags: m.flags,
                        data: m.data,
                    });
                }
            }
            None => {
                messages.push(Message::new(kind::LINK_INFO, encode::link_info()));
                messages.push(Message::new(GROUP_INFO, encode::group_info()));
            }
        }
        messages.extend(
            links
                .iter()
                .map(|(name, address)| Message::new(kind::LINK, encode::hard_link(name, *address))),
        );
        messages.extend(
            group
                .attributes
                .iter()
                .map(|(_, m)| Message::new(ATTRIBUTE, m.clone())),
        );
        self.put(&encode::object_header(&messages), at)
    }

    /// Writes `bytes` at `*at` (8-aligned) and moves `*at` past them.
    fn put(&self, bytes: &[u8], at: &mut u64) -> Result<u64> {
        let address = align_up(*at, 8);
        crate::sys::write_all_at(&self.file, bytes, address)
            .map_err(|e| Error::io("write", &self.written, e))?;
        *at = address + bytes.len() as u64;
        Ok(address)
    }
}

/// Bytes written between two starts of write-back (`write_dataset`,
/// `write_rows`): as Zarr's batched writes found, early enough that the
/// disk keeps up, large enough that the calls cost nothing.
const WRITE_BEHIND_BYTES: usize = 8 << 20;

/// The attribute message's type.
const ATTRIBUTE: u16 = 0x000C;
/// The group info message's type.
const GROUP_INFO: u16 = 0x000A;

/// The name of an attribute message (versions 1 to 3).
fn attribute_name(data: &[u8]) -> Option<&str> {
    let len = usize::from(u16::from_le_bytes([*data.get(2)?, *data.get(3)?]));
    let start = match data.first()? {
        1 => 8,
        2 => 8,
        _ => 9,
    };
    let name = data.get(start..start + len)?;
    std::str::from_utf8(name.strip_suffix(&[0]).unwrap_or(name)).ok()
}

impl Drop for Hdf5Writer {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        match &self.appending {
            None => {
                let _ = std::fs::remove_file(&self.written);
            }
            Some(appending) => {
                let _ = self.file.set_len(appending.len);
            }
        }
    }
}
