//! Giving a `.npy` file numpy's header, growth slack included, by copying
//! it: for files whose header cannot hold a grown shape.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::engine::Opened;
use crate::error::{Error, Result};
use crate::layout::byte_extent;
use crate::mode::Mode;
use crate::npy::dtype::with_path;
use crate::npy::header::{read_header, NpyHeader};
use crate::settings::MemmapOptions;

const COPY_CHUNK: usize = 16 << 20;

/// Rewrites the `.npy` file at `path` with the header `np.save` writes for
/// it (numpy's growth slack included), so that it can then grow in place
/// with [`Growable`](crate::Growable): the way out of [`Error::HeaderFull`]
/// for files written without slack (by ndarray-npy, old numpy, other
/// writers). The data is copied into a new file beside it, synced and
/// renamed over the old one, so a failure or a crash leaves the old file;
/// `progress(copied, total)` is called after each 16 MiB of data. The file
/// is held under an exclusive advisory lock while it is copied. Trailing
/// bytes past the data are dropped: the result is `np.save`'s bytes.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("tight.npy");
/// // A header with no room to grow (68 bytes: not even 64-aligned; numpy reads it).
/// let mut bytes = ndarray_memmap::NpyHeader::format_to_length("|u1", false, &[3], (1, 0), 68).unwrap();
/// bytes.extend([7, 8, 9]);
/// std::fs::write(&path, bytes)?;
/// ndarray_memmap::rewrite_npy_with_room(&path, |_, _| {})?;
/// let header = ndarray_memmap::read_npy_header(&path)?;
/// assert_eq!((header.data_offset, header.shape.as_slice()), (128, &[3][..]));
/// assert_eq!(ndarray_memmap::read_npy::<u8, ndarray::Ix1>(&path)?.to_vec(), [7, 8, 9]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// The errors of reading a `.npy` header, [`Error::UnsupportedDtype`] (the
/// element size must be known), [`Error::FileTooShort`], [`Error::Locked`],
/// [`Error::AlreadyMapped`], and [`Error::Io`] for the copy.
pub fn rewrite_npy_with_room(
    path: impl AsRef<Path>,
    mut progress: impl FnMut(u64, u64),
) -> Result<()> {
    let path = path.as_ref();
    let opened = Opened::open(path, Mode::ReadWrite, &MemmapOptions::new())?;
    let mut reader = BufReader::new(&*opened.file);
    let header = read_header(&mut reader, usize::MAX).map_err(|e| with_path(e, path))?;
    let size = header.dtype()?.size;
    let (total, end) = byte_extent::<u8>(
        &[header.len().unwrap_or(usize::MAX), size],
        header.data_offset,
    )
    .map_err(|_| Error::SizeOverflow {
        shape: header.shape.clone(),
        element_size: size,
        offset: header.data_offset,
    })?;
    if end > opened.len() {
        return Err(Error::FileTooShort {
            path: opened.path.clone(),
            expected: end,
            found: opened.len(),
            offset: header.data_offset,
            nbytes: total as u64,
            element_size: size,
            remedy: crate::error::FileTooShortRemedy::Truncated,
        });
    }
    let temporary = beside(path);
    let copied = copy_with_header(
        &opened.file,
        &header,
        total as u64,
        &temporary,
        &mut progress,
    )
    .and_then(|()| std::fs::rename(&temporary, path).map_err(|e| Error::io("rename", path, e)));
    if copied.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    copied
}

fn copy_with_header(
    mut source: &File,
    header: &NpyHeader,
    total: u64,
    temporary: &Path,
    progress: &mut impl FnMut(u64, u64),
) -> Result<()> {
    let io = |operation| move |e| Error::io(operation, temporary, e);
    let file = File::create(temporary).map_err(io("create"))?;
    let mut out = BufWriter::with_capacity(COPY_CHUNK, file);
    let new_header = NpyHeader::format(&header.descr, header.fortran_order, &header.shape);
    out.write_all(&new_header).map_err(io("write"))?;
    source
        .seek(SeekFrom::Start(header.data_offset))
        .map_err(io("seek"))?;
    let mut chunk = vec![0u8; COPY_CHUNK.min(total as usize).max(1)];
    let mut copied = 0u64;
    while copied < total {
        let want = chunk.len().min((total - copied) as usize);
        source.read_exact(&mut chunk[..want]).map_err(io("read"))?;
        out.write_all(&chunk[..want]).map_err(io("write"))?;
        copied += want as u64;
        progress(copied, total);
    }
    let file = out.into_inner().map_err(|e| io("write")(e.into_error()))?;
    file.sync_all().map_err(io("sync"))
}

/// `NAME.rewrite-PID` in the same directory, so the rename is atomic.
fn beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".rewrite-{}", std::process::id()));
    path.with_file_name(name)
}
