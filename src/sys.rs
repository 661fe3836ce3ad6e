//! Operating-system calls that std does not offer: block preallocation.

use std::fs::File;
use std::io;

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
