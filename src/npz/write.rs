//! Writing `.npz` archives: numpy's `np.savez` and `np.savez_compressed`,
//! with every stored member's data aligned so that it can be mapped.

use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use ndarray::{ArrayRef, Dimension};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::{byte_extent, Order};
use crate::npy::dtype::descr_of;
use crate::npy::{write_npy_to, NpyHeader};
use crate::npz::names::member_of;
use crate::sys;

/// Where stored members' data starts: numpy's `.npy` alignment, so that the
/// array bytes after a member's header (a multiple of 64 bytes long) are
/// aligned for every element type, and pages of large members line up.
const MEMBER_ALIGNMENT: u16 = 64;

/// Writes an `.npz` archive, member by member: numpy's `np.savez`
/// (stored, the default) or `np.savez_compressed` ([`compressed`]).
///
/// Stored members' data is aligned to 64 bytes inside the archive (padding
/// in the local header's extra field, which zip readers skip), so every
/// member of an archive written here can be mapped with
/// [`NpzArchive::map`](crate::NpzArchive::map). numpy loads these archives
/// as it loads its own.
///
/// Members are written as they are added: an array is written from its
/// memory without a copy, and [`start`](NpzWriter::start) streams a member
/// in chunks of rows, for arrays larger than memory.
///
/// [`compressed`]: NpzWriter::compressed
///
/// ```
/// use ndarray::{array, Array2, Ix1};
/// use ndarray_memmap::{NpzArchive, NpzWriter, Order};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("run.npz");
/// // np.savez_compressed(path, t=..., x=...)
/// let mut npz = NpzWriter::create(&path)?.compressed(true);
/// npz.add("t", &array![0.0f64, 0.5, 1.0])?;
/// // A member written in chunks of rows, never whole in memory:
/// let mut x = npz.start::<f32>("x", &[1000, 3], Order::C)?;
/// for block in 0..10 {
///     x.write(&Array2::<f32>::from_elem((100, 3), block as f32))?;
/// }
/// x.finish()?;
/// npz.finish()?;
/// assert_eq!(NpzArchive::open(&path)?.read::<f64, Ix1>("t")?, array![0.0, 0.5, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct NpzWriter<W: Write + Seek = File> {
    zip: ZipWriter<W>,
    path: Option<PathBuf>,
    compressed: bool,
    aligned: bool,
    keys: Vec<String>,
    /// A member started with `start` and not finished: its header promises
    /// more data than it has, so nothing more may be written.
    unfinished: Option<String>,
}

impl NpzWriter<File> {
    /// Creates (or truncates) the archive at `path`. numpy appends `.npz` to
    /// a path without it; this writes the path it is given.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::NotAFile`].
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let (file, _) = sys::open_regular(
            path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true),
        )?;
        let mut writer = NpzWriter::new(file);
        writer.path = Some(path.to_path_buf());
        Ok(writer)
    }
}

impl<W: Write + Seek> NpzWriter<W> {
    /// Writes an archive to any seekable writer (a `Cursor<Vec<u8>>`, say).
    pub fn new(writer: W) -> Self {
        NpzWriter {
            zip: ZipWriter::new(writer),
            path: None,
            compressed: false,
            aligned: true,
            keys: Vec::new(),
            unfinished: None,
        }
    }

    /// Whether to deflate the members added from now on (zlib level 6, as
    /// `np.savez_compressed`). Compressed members cannot be mapped.
    pub fn compressed(mut self, compressed: bool) -> Self {
        self.compressed = compressed;
        self
    }

    /// Whether to align stored members' data to 64 bytes (the default), so
    /// that they can be mapped. Off, the archive's layout is numpy's own
    /// (numpy aligns nothing): smaller by up to 64 bytes a member.
    pub fn aligned(mut self, aligned: bool) -> Self {
        self.aligned = aligned;
        self
    }

    /// Adds `array` as member `key` (`key.npy` in the zip, as numpy names
    /// it), with `np.save`'s bytes and order, written from the array's
    /// memory when it is contiguous.
    ///
    /// # Errors
    /// [`Error::Npz`] for a key used already, [`Error::NoNpyDescr`],
    /// [`Error::Io`] if writing fails.
    pub fn add<A, D>(&mut self, key: &str, array: &ArrayRef<A, D>) -> Result<()>
    where
        A: Element,
        D: Dimension,
    {
        let total = NpyHeader::format(&descr_of::<A>()?, false, array.shape()).len() as u64
            + byte_extent::<A>(array.shape(), 0)?.0 as u64;
        self.start_member(key, total)?;
        write_npy_to(&mut self.zip, array).map_err(|e| self.rename_io(e))
    }

    /// Starts member `key` of `shape` (in `order`), to be written in chunks
    /// of whole rows with [`NpzMember::write`]: along axis 0 for C order,
    /// along the last axis for Fortran order (the file's memory order).
    ///
    /// # Errors
    /// As for [`add`](NpzWriter::add), and [`Error::SizeOverflow`].
    pub fn start<A: Element>(
        &mut self,
        key: &str,
        shape: &[usize],
        order: Order,
    ) -> Result<NpzMember<'_, W, A>> {
        let header = NpyHeader::format(&descr_of::<A>()?, order == Order::Fortran, shape);
        let (nbytes, _) = byte_extent::<A>(shape, 0)?;
        self.start_member(key, header.len() as u64 + nbytes as u64)?;
        self.unfinished = Some(key.to_owned());
        self.zip
            .write_all(&header)
            .map_err(|e| self.io_error("write .npz member", e))?;
        Ok(NpzMember {
            writer: self,
            shape: shape.to_vec(),
            order,
            remaining: nbytes / std::mem::size_of::<A>().max(1),
            element: std::marker::PhantomData,
        })
    }

    /// Writes the central directory and returns the writer.
    ///
    /// # Errors
    /// [`Error::Io`] if writing fails.
    pub fn finish(self) -> Result<W> {
        self.check_finished()?;
        let path = self.path.clone();
        self.zip.finish().map_err(|e| Error::Npz {
            path,
            reason: format!("writing the central directory failed: {e}"),
        })
    }

    /// Refuses to go on after a member that was started and never finished.
    fn check_finished(&self) -> Result<()> {
        match &self.unfinished {
            Some(key) => Err(Error::Npz {
                path: self.path.clone(),
                reason: format!(
                    "member {key:?} was started but not finished (NpzMember::finish), so the archive would hold a member shorter than its header says"
                ),
            }),
            None => Ok(()),
        }
    }

    fn start_member(&mut self, key: &str, bytes: u64) -> Result<()> {
        self.check_finished()?;
        if self.keys.iter().any(|k| k == key) {
            return Err(Error::Npz {
                path: self.path.clone(),
                reason: format!(
                    "member {key:?} was added already; numpy would list it twice and read the last"
                ),
            });
        }
        let options = SimpleFileOptions::default()
            // numpy's fixed timestamp and permissions: the same arrays give
            // the same archive.
            .last_modified_time(DateTime::default())
            .unix_permissions(0o600)
            // Zip64 sizes when the member could pass 4 GiB.
            .large_file(bytes >= u64::from(u32::MAX));
        let options = if self.compressed {
            options
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(6))
        } else {
            options
                .compression_method(CompressionMethod::Stored)
                .with_alignment(if self.aligned { MEMBER_ALIGNMENT } else { 0 })
        };
        self.zip
            .start_file(member_of(key), options)
            .map_err(|e| Error::Npz {
                path: self.path.clone(),
                reason: format!("starting member {key:?} failed: {e}"),
            })?;
        self.keys.push(key.to_owned());
        Ok(())
    }

    fn io_error(&self, operation: &'static str, cause: std::io::Error) -> Error {
        Error::Io {
            operation,
            path: self.path.clone(),
            cause,
        }
    }

    /// `write_npy_to` names `<writer>`; name the archive instead.
    fn rename_io(&self, err: Error) -> Error {
        match err {
            Error::Io { cause, .. } => self.io_error("write .npz member", cause),
            other => other,
        }
    }
}

/// A member being written in chunks: made by [`NpzWriter::start`].
pub struct NpzMember<'a, W: Write + Seek, A: Element> {
    writer: &'a mut NpzWriter<W>,
    shape: Vec<usize>,
    order: Order,
    /// Elements still to come.
    remaining: usize,
    element: std::marker::PhantomData<A>,
}

impl<W: Write + Seek, A: Element> NpzMember<'_, W, A> {
    /// Writes the next rows: `rows` must have the member's shape but along
    /// the growth axis (axis 0 in C order, the last in Fortran order), and
    /// no more rows than the member has left.
    ///
    /// # Errors
    /// [`Error::AppendShape`] for rows of the wrong shape, [`Error::InvalidShape`]
    /// for more rows than the member holds, [`Error::Io`].
    pub fn write<D>(&mut self, rows: &ArrayRef<A, D>) -> Result<()>
    where
        D: Dimension,
    {
        let axis = match self.order {
            Order::C => 0,
            Order::Fortran => self.shape.len().saturating_sub(1),
        };
        let fits = rows.ndim() == self.shape.len()
            && (0..rows.ndim()).all(|i| i == axis || rows.shape()[i] == self.shape[i]);
        if !fits || self.shape.is_empty() {
            let mut expected = self.shape.clone();
            if let Some(n) = expected.get_mut(axis) {
                *n = rows.shape().get(axis).copied().unwrap_or(0);
            }
            return Err(Error::AppendShape {
                expected,
                found: rows.shape().to_vec(),
                axis,
            });
        }
        if rows.len() > self.remaining {
            return Err(Error::InvalidShape {
                shape: self.shape.clone(),
                reason: format!(
                    "{} more elements were written than the member's shape holds",
                    rows.len() - self.remaining
                ),
            });
        }
        let transposed = rows.t();
        let in_order = match self.order {
            Order::C => rows.as_standard_layout(),
            Order::Fortran => transposed.as_standard_layout(),
        };
        let elements = in_order.as_slice().unwrap_or_default();
        self.writer
            .zip
            .write_all(bytemuck::cast_slice(elements))
            .map_err(|e| self.writer.io_error("write .npz member", e))?;
        self.remaining -= rows.len();
        Ok(())
    }

    /// Ends the member, checking that every element was written.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] naming how many elements are missing.
    pub fn finish(self) -> Result<()> {
        if self.remaining > 0 {
            return Err(Error::InvalidShape {
                shape: self.shape,
                reason: format!(
                    "the member was finished with {} elements still unwritten",
                    self.remaining
                ),
            });
        }
        self.writer.unfinished = None;
        Ok(())
    }
}
