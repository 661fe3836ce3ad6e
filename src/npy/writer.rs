//! Writing a `.npy` file of rows as they arrive, with ordinary buffered
//! writes and no mapping: for arrays larger than memory that are produced
//! once, front to back.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::Path;

use ndarray::{ArrayRef, Dimension};

use crate::element::Element;
use crate::engine::Opened;
use crate::error::{Error, Result};
use crate::layout::byte_extent;
use crate::mode::Mode;
use crate::npy::dtype::descr_of;
use crate::npy::header::NpyHeader;
use crate::settings::MemmapOptions;

/// Writes a C-order `.npy` file row block by row block, without a map and
/// without holding the array: `np.save` for arrays produced in pieces.
///
/// The header is written (and synced) by [`create`](NpyWriter::create), for
/// zero rows, and rewritten in place (its
/// growth slack always holds the row count) at every
/// [`flush`](NpyWriter::flush) and at [`finish`](NpyWriter::finish). If the
/// process dies, the file is a valid `.npy` of the rows written up to the
/// last flush (later bytes are trailing bytes, which numpy ignores).
/// Fortran order is not offered: its rows along the last axis are not
/// contiguous, so they cannot be written front to back; write C order, or
/// use a [`Growable`](crate::Growable) map.
///
/// ```
/// use ndarray::{array, Array2};
/// use ndarray_memmap::NpyWriter;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("stream.npy");
/// let mut writer = NpyWriter::<f32>::create(&path, &[2])?;
/// for k in 0..3 {
///     writer.write(&array![[k as f32, 1.0], [k as f32, 2.0]])?; // a block of two rows
/// }
/// assert_eq!(writer.rows(), 6);
/// writer.finish()?;
/// let back = ndarray_memmap::read_npy::<f32, ndarray::Ix2>(&path)?;
/// assert_eq!(back.dim(), (6, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct NpyWriter<A: Element> {
    out: BufWriter<File>,
    /// Holds the advisory lock and the registry entry for the writer's life.
    opened: Opened,
    descr: Cow<'static, str>,
    row_shape: Vec<usize>,
    header_len: usize,
    version: (u8, u8),
    rows: usize,
    flushed_rows: Option<usize>,
    finished: bool,
    _element: PhantomData<A>,
}

impl<A: Element> NpyWriter<A> {
    /// Creates (or truncates) `path` for an array whose rows have shape
    /// `row_shape` (`&[]` for a 1-D array), under an exclusive advisory lock.
    ///
    /// # Errors
    /// [`Error::NoNpyDescr`], [`Error::SizeOverflow`], and the errors of
    /// opening a file for `w+` ([`Error::NotAFile`], [`Error::Locked`],
    /// [`Error::AlreadyMapped`], [`Error::Io`]).
    pub fn create(path: impl AsRef<Path>, row_shape: &[usize]) -> Result<Self> {
        let path = path.as_ref();
        let descr = descr_of::<A>()?;
        let mut shape = vec![0];
        shape.extend_from_slice(row_shape);
        byte_extent::<A>(row_shape, 0)?;
        let header = NpyHeader::format(&descr, false, &shape);
        let opened = Opened::open(path, Mode::Create, &MemmapOptions::new())?;
        let io = |e| Error::io("write .npy", path, e);
        opened.file.set_len(0).map_err(io)?;
        // The header goes to the file itself, not the buffer, and reaches
        // the disk before `create` returns: a process that dies before its
        // first flush leaves a valid `.npy` of zero rows, never an empty file.
        let mut file = opened.file.try_clone().map_err(io)?;
        file.write_all(&header).map_err(io)?;
        file.sync_data().map_err(|e| Error::io("sync", path, e))?;
        let out = BufWriter::with_capacity(1 << 20, file);
        Ok(NpyWriter {
            out,
            opened,
            descr,
            row_shape: row_shape.to_vec(),
            header_len: header.len(),
            version: (header[6], header[7]),
            rows: 0,
            flushed_rows: Some(0),
            finished: false,
            _element: PhantomData,
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends a block of rows: an array whose first axis counts rows and
    /// whose other axes are the row shape.
    ///
    /// # Errors
    /// [`Error::AppendShape`] for rows of another shape; [`Error::Io`].
    pub fn write<D>(&mut self, block: &ArrayRef<A, D>) -> Result<()>
    where
        D: Dimension,
    {
        if block.ndim() != self.row_shape.len() + 1 || block.shape()[1..] != self.row_shape[..] {
            let mut expected = vec![block.shape().first().copied().unwrap_or(0)];
            expected.extend_from_slice(&self.row_shape);
            return Err(Error::AppendShape {
                expected,
                found: block.shape().to_vec(),
                axis: 0,
            });
        }
        let rows = self
            .rows
            .checked_add(block.shape()[0])
            .ok_or(Error::SizeOverflow {
                shape: self.row_shape.clone(),
                element_size: size_of::<A>(),
                offset: 0,
            })?;
        let path = &self.opened.path;
        let io = |e| Error::io("write .npy", path, e);
        match block.as_slice() {
            Some(elements) => self
                .out
                .write_all(bytemuck::cast_slice(elements))
                .map_err(io)?,
            None => {
                for element in block.iter() {
                    self.out
                        .write_all(bytemuck::bytes_of(element))
                        .map_err(io)?;
                }
            }
        }
        self.rows = rows;
        Ok(())
    }

    /// Writes the buffered rows to the file, then the header that counts
    /// them: the file is a valid `.npy` of every row written so far.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn flush(&mut self) -> Result<()> {
        let path = &self.opened.path;
        self.out
            .flush()
            .map_err(|e| Error::io("write .npy", path, e))?;
        if self.flushed_rows != Some(self.rows) {
            let mut shape = vec![self.rows];
            shape.extend_from_slice(&self.row_shape);
            let header = NpyHeader::format_to_length(
                &self.descr,
                false,
                &shape,
                self.version,
                self.header_len,
            )
            .ok_or_else(|| Error::HeaderFull {
                path: path.clone(),
                header_len: self.header_len,
                needed: NpyHeader::format(&self.descr, false, &shape).len(),
            })?;
            write_all_at(self.out.get_ref(), &header)
                .map_err(|e| Error::io("write .npy header", path, e))?;
            self.flushed_rows = Some(self.rows);
        }
        Ok(())
    }

    /// Flushes and syncs the file to disk, reporting errors.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.finished = true;
        self.out
            .get_ref()
            .sync_all()
            .map_err(|e| Error::io("sync", &self.opened.path, e))
    }
}

/// Writes `bytes` at the start of `file` without moving its position.
#[cfg(unix)]
fn write_all_at(file: &File, bytes: &[u8]) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, 0)
}

#[cfg(windows)]
fn write_all_at(file: &File, mut bytes: &[u8]) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    let mut at = 0;
    while !bytes.is_empty() {
        let n = file.seek_write(bytes, at)?;
        bytes = &bytes[n..];
        at += n as u64;
    }
    Ok(())
}

impl<A: Element> Drop for NpyWriter<A> {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: `finish` reports errors.
            let _ = self.flush();
        }
    }
}
