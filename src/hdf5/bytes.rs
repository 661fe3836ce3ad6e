//! Reading the file's metadata: a byte source (a slice for the fuzz target
//! and the tests, the file itself through `pread` otherwise) and a cursor
//! over one structure's bytes. Every read is checked against the end of
//! the file, so a structure's claimed size never allocates more than the
//! file holds.

use std::fs::File;
use std::io;

/// Why the resolver stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The metadata is damaged or not HDF5: what was expected and found.
    Invalid(String),
    /// Valid HDF5 that this crate does not read: the feature and the way out.
    Unsupported { feature: String, remedy: String },
    /// No object at the path: why.
    NotFound(String),
    /// The file could not be read.
    Io(io::ErrorKind, String),
}

pub(crate) type Parsed<T> = std::result::Result<T, Fault>;

/// Shorthand for an [`Fault::Invalid`] error.
pub(crate) fn invalid<T>(reason: impl Into<String>) -> Parsed<T> {
    Err(Fault::Invalid(reason.into()))
}

/// Shorthand for an [`Fault::Unsupported`] error.
pub(crate) fn unsupported<T>(feature: impl Into<String>, remedy: impl Into<String>) -> Parsed<T> {
    Err(Fault::Unsupported {
        feature: feature.into(),
        remedy: remedy.into(),
    })
}

/// Where the resolver reads bytes from.
pub(crate) trait Source {
    /// The number of bytes there are.
    fn len(&self) -> u64;
    /// Fills `buf` from `at`; the range lies inside `len` (checked by the caller).
    ///
    /// # Errors
    /// The read's I/O error.
    fn read_at(&self, at: u64, buf: &mut [u8]) -> io::Result<()>;
}

impl Source for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(at).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let end = start
            .checked_add(buf.len())
            .filter(|&end| end <= <[u8]>::len(self))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(&self[start..end]);
        Ok(())
    }
}

/// A file read with positioned reads, its length taken once.
pub(crate) struct FileSource<'a> {
    pub(crate) file: &'a File,
    pub(crate) len: u64,
}

impl Source for FileSource<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        crate::sys::read_exact_at(self.file, buf, at)
    }
}

/// Reads `len` bytes at `at`, refusing a range past the end of the source.
pub(crate) fn read<S: Source + ?Sized>(
    source: &S,
    at: u64,
    len: u64,
    what: &str,
) -> Parsed<Vec<u8>> {
    let end = at.checked_add(len);
    match end {
        Some(end) if end <= source.len() => {}
        _ => {
            return invalid(format!(
                "the {what} at byte {at} ({len} bytes) ends past the end of the file ({} bytes); the file is truncated or the address is damaged",
                source.len()
            ))
        }
    }
    // The length is at most the file's, checked above.
    let mut buf = vec![0; len as usize];
    source
        .read_at(at, &mut buf)
        .map_err(|e| Fault::Io(e.kind(), format!("reading the {what} at byte {at}: {e}")))?;
    Ok(buf)
}

/// The all-ones address HDF5 writes for "none".
pub(crate) const UNDEFINED: u64 = u64::MAX;

/// A cursor over one structure's bytes, with the file's sizes of offsets
/// and lengths.
#[derive(Clone)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    offset_size: u8,
    length_size: u8,
    what: &'a str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8], sizes: Sizes, what: &'a str) -> Self {
        Cursor {
            bytes,
            at: 0,
            offset_size: sizes.offset,
            length_size: sizes.length,
            what,
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.at
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    pub(crate) fn take(&mut self, n: usize) -> Parsed<&'a [u8]> {
        if n > self.remaining() {
            return invalid(format!(
                "the {} needs {n} more bytes at byte {} of its {}; it is truncated",
                self.what,
                self.at,
                self.bytes.len()
            ));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    pub(crate) fn skip(&mut self, n: usize) -> Parsed<()> {
        self.take(n).map(|_| ())
    }

    pub(crate) fn seek(&mut self, at: usize) -> Parsed<()> {
        if at > self.bytes.len() {
            return invalid(format!(
                "the {} points to byte {at} of its {}",
                self.what,
                self.bytes.len()
            ));
        }
        self.at = at;
        Ok(())
    }

    pub(crate) fn u8(&mut self) -> Parsed<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Parsed<u16> {
        Ok(self.uint(2)? as u16)
    }

    pub(crate) fn u32(&mut self) -> Parsed<u32> {
        Ok(self.uint(4)? as u32)
    }

    pub(crate) fn u64(&mut self) -> Parsed<u64> {
        self.uint(8)
    }

    /// A little-endian unsigned integer of `n` bytes (at most 8).
    pub(crate) fn uint(&mut self, n: usize) -> Parsed<u64> {
        if n > 8 {
            return invalid(format!(
                "the {} has a {n}-byte integer; at most 8 are read",
                self.what
            ));
        }
        let bytes = self.take(n)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |value, &b| (value << 8) | u64::from(b)))
    }

    /// An address; `None` for the undefined address (all bits set).
    pub(crate) fn address(&mut self) -> Parsed<Option<u64>> {
        let n = usize::from(self.offset_size);
        let value = self.uint(n)?;
        let undefined = if n == 8 {
            UNDEFINED
        } else {
            (1u64 << (8 * n)) - 1
        };
        Ok((value != undefined).then_some(value))
    }

    pub(crate) fn length(&mut self) -> Parsed<u64> {
        self.uint(usize::from(self.length_size))
    }

    /// A NUL-terminated string (the NUL consumed).
    pub(crate) fn c_string(&mut self) -> Parsed<&'a [u8]> {
        let rest = &self.bytes[self.at..];
        let Some(end) = rest.iter().position(|&b| b == 0) else {
            return invalid(format!(
                "the {} has a name without its terminating NUL",
                self.what
            ));
        };
        self.at += end + 1;
        Ok(&rest[..end])
    }

    pub(crate) fn signature(&mut self, expected: &[u8; 4]) -> Parsed<()> {
        let found = self.take(4)?;
        if found != expected {
            return invalid(format!(
                "expected the signature {:?} of a {}, found {:?}; the address is damaged",
                String::from_utf8_lossy(expected),
                self.what,
                String::from_utf8_lossy(found)
            ));
        }
        Ok(())
    }
}

/// The file's sizes of offsets (addresses) and lengths, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sizes {
    pub(crate) offset: u8,
    pub(crate) length: u8,
}

/// Checks a structure's Jenkins lookup3 checksum: the last four bytes of
/// `bytes` over the rest.
pub(crate) fn verify_checksum(bytes: &[u8], what: &str) -> Parsed<()> {
    if bytes.len() < 4 {
        return invalid(format!("the {what} is too short for its checksum"));
    }
    let (body, stored) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
    let computed = crate::hdf5::lookup3::hash(body, 0);
    if stored != computed {
        return invalid(format!(
            "the {what}'s checksum is {computed:#010x}, but it records {stored:#010x}: the file is damaged"
        ));
    }
    Ok(())
}

/// The number of bytes that encode values up to `max` (libhdf5's
/// `H5VM_limit_enc_size`).
pub(crate) fn encoded_size(max: u64) -> usize {
    (63 - max.max(1).leading_zeros() as usize) / 8 + 1
}
