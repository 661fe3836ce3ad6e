//! Operating-system calls that std does not offer, and the one way the
//! crate opens files: regular files only, never blocking.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

use crate::error::{Error, Result};

/// Opens `path` with `options`, refusing anything that is not a regular
/// file before it is locked, read, written or truncated.
///
/// On Unix the open itself passes `O_NONBLOCK`, so that opening a FIFO with
/// no peer returns at once instead of blocking forever; the flag has no
/// effect on reads and writes of regular files (Linux `open(2)`), the only
/// files that get past the check. Opening a socket, or a FIFO for writing
/// with no reader, fails (`ENXIO`): the error then names the file type too.
pub(crate) fn open_regular(path: &Path, options: &mut OpenOptions) -> Result<(File, Metadata)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) => {
            // Name the file type where that is the reason (socket, FIFO with
            // no reader, directory opened for writing).
            if let Ok(meta) = std::fs::metadata(path) {
                check_regular(path, &meta)?;
            }
            return Err(Error::io("open", path, e));
        }
    };
    let meta = file.metadata().map_err(|e| Error::io("stat", path, e))?;
    check_regular(path, &meta)?;
    Ok((file, meta))
}

pub(crate) fn check_regular(path: &Path, meta: &Metadata) -> Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    Err(Error::NotAFile {
        path: path.to_path_buf(),
        file_type: file_type_name(meta),
    })
}

fn file_type_name(meta: &Metadata) -> &'static str {
    let file_type = meta.file_type();
    if file_type.is_dir() {
        return "directory";
    }
    if file_type.is_symlink() {
        return "symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "FIFO";
        }
        if file_type.is_socket() {
            return "socket";
        }
        if file_type.is_char_device() {
            return "character device";
        }
        if file_type.is_block_device() {
            return "block device";
        }
    }
    "special file"
}

/// This process's soft file-size limit (`RLIMIT_FSIZE`), if there is one.
#[cfg(unix)]
#[allow(unsafe_code)] // one libc call; see the proof below
pub(crate) fn file_size_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, which
    // points to a live, writable, properly aligned `rlimit` on our stack.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) };
    if rc != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // `rlim_t` is not `u64` on every target
    Some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub(crate) fn file_size_limit() -> Option<u64> {
    None
}

/// Refuses to make `path` longer than the file-size limit allows. Without
/// this check the kernel sends `SIGXFSZ`, whose default action kills the
/// process (Python ignores the signal at start-up, so numpy sees `EFBIG`).
pub(crate) fn check_file_size_limit(path: &Path, needed: u64) -> Result<()> {
    match file_size_limit() {
        Some(limit) if needed > limit => Err(Error::FileSizeLimit {
            path: path.to_path_buf(),
            needed,
            limit,
        }),
        _ => Ok(()),
    }
}

/// Bytes an unprivileged process may still allocate on the file system
/// that holds `file` (`fstatvfs`: `f_bavail * f_frsize`), if known.
#[cfg(unix)]
#[allow(unsafe_code)] // one libc call; see the proof below
pub(crate) fn free_space(file: &File) -> Option<u64> {
    use std::os::fd::AsRawFd;
    // SAFETY: `statvfs` is plain old data: all zeros is a valid value.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `fstatvfs` writes one `statvfs` through the pointer, which
    // points to a live, writable, aligned `statvfs` on our stack; the
    // descriptor is kept open by `file` for the duration of the call.
    let rc = unsafe { libc::fstatvfs(file.as_raw_fd(), &mut stats) };
    if rc != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between targets
    (stats.f_bavail as u64).checked_mul(stats.f_frsize as u64)
}

#[cfg(not(unix))]
pub(crate) fn free_space(_file: &File) -> Option<u64> {
    None
}

/// Bytes of disk the file occupies now (freed when it is truncated).
fn allocated(meta: &Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.blocks().saturating_mul(512)
    }
    #[cfg(not(unix))]
    {
        meta.len()
    }
}

/// Refuses, before anything is changed, to give `file` `needed` more bytes
/// of disk (after freeing what it occupies now, if `replacing`) when the
/// file system does not have them: the common disk-full case becomes an
/// error that leaves the file as it was. Block rounding and other writers
/// can still make the allocation itself fail; callers handle that too.
pub(crate) fn check_free_space(
    file: &File,
    path: &Path,
    needed: u64,
    replacing: bool,
) -> Result<()> {
    let Some(available) = free_space(file) else {
        return Ok(());
    };
    let freed = if replacing {
        file.metadata().map(|meta| allocated(&meta)).unwrap_or(0)
    } else {
        0
    };
    let needed = needed.saturating_sub(freed);
    if needed > available {
        return Err(Error::DiskFull {
            path: path.to_path_buf(),
            needed,
            available,
        });
    }
    Ok(())
}

/// Extends `file` to at least `start + len` bytes and reserves disk blocks
/// for `[start, start + len)`, so a full disk or a file-size limit fails here
/// rather than as SIGBUS on the first write through a mapping.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // one libc call; see the proof below
pub(crate) fn preallocate(file: &File, start: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    if len == 0 {
        return Ok(());
    }
    let too_big = || io::Error::from_raw_os_error(libc::EFBIG);
    let start = libc::off_t::try_from(start).map_err(|_| too_big())?;
    let len = libc::off_t::try_from(len).map_err(|_| too_big())?;
    // SAFETY: `posix_fallocate` reads no memory of ours; it takes a file
    // descriptor, which `file` keeps open for the duration of the call, and
    // two integers checked above to fit `off_t`.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), start, len) };
    match rc {
        0 => Ok(()),
        // Filesystems without fallocate (glibc's fallback can fail too):
        // fall back to a sparse extension, as numpy does.
        libc::EOPNOTSUPP | libc::EINVAL => extend(file, start as u64 + len as u64),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// Platforms without `posix_fallocate`: a sparse extension, as numpy does.
#[cfg(not(target_os = "linux"))]
pub(crate) fn preallocate(file: &File, start: u64, len: u64) -> io::Result<()> {
    extend(file, start + len)
}

/// Grows `file` to `len` bytes (never shrinks it); new bytes read as zero.
pub(crate) fn extend(file: &File, len: u64) -> io::Result<()> {
    if file.metadata()?.len() < len {
        file.set_len(len)?;
    }
    Ok(())
}

/// Reads a file from `pos` on with positional reads (`pread`), leaving the
/// file's own position alone: a lent file shares it with its owner.
pub(crate) struct ReadAt<'a> {
    pub(crate) file: &'a File,
    pub(crate) pos: u64,
}

impl io::Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.pos)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A path naming an open file, for messages and the registry's records:
/// where `/proc` says it is on Linux, `<open file>` elsewhere.
pub(crate) fn path_of(file: &File) -> std::path::PathBuf {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        if let Ok(path) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
            return path;
        }
    }
    let _ = file;
    std::path::PathBuf::from("<open file>")
}

/// Asks the kernel to start writing `[start, start + len)` of `file` to disk
/// now, without waiting for it, so that a later `fsync` finds less to do.
/// A hint: on other platforms, or if the call fails, nothing happens.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // one libc call; see the proof below
pub(crate) fn start_writeback(file: &File, start: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(start), Ok(len)) = (libc::off64_t::try_from(start), libc::off64_t::try_from(len))
    else {
        return;
    };
    // SAFETY: `sync_file_range` reads no memory of ours; it takes a file
    // descriptor, which `file` keeps open for the duration of the call, two
    // integers checked above to fit `off64_t`, and a flag.
    let _ =
        unsafe { libc::sync_file_range(file.as_raw_fd(), start, len, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn start_writeback(_file: &File, _start: u64, _len: u64) {}

/// Reads `buf.len()` bytes of `file` at `offset`.
pub(crate) fn read_exact_at(
    file: &std::fs::File,
    buf: &mut [u8],
    offset: u64,
) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// Writes all of `buf` to `file` at `offset`.
pub(crate) fn write_all_at(file: &std::fs::File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_write(
                file,
                &buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            done += n;
        }
        Ok(())
    }
}
