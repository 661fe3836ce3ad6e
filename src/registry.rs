//! Defence in depth against aliasing: advisory file locks between processes
//! and a registry of mapped files within this process.

use std::collections::BTreeMap;
use std::fs::{File, Metadata, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Identifies a file independently of the path used to reach it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FileKey {
    /// Device and inode: hard links and symlinks resolve to one key.
    #[cfg(unix)]
    Inode(u64, u64),
    /// Elsewhere, the canonical path is the best identity std offers.
    #[cfg_attr(unix, allow(dead_code))]
    Path(PathBuf),
}

#[derive(Default)]
struct Holders {
    readers: usize,
    writer: bool,
}

/// Files mapped by live guards in this process. A `BTreeMap` because its
/// constructor is `const`.
static MAPPED: Mutex<BTreeMap<FileKey, Holders>> = Mutex::new(BTreeMap::new());

/// A guard's entry in the registry; removing it is its `Drop`.
#[derive(Debug)]
pub(crate) struct Registration {
    key: FileKey,
    writable: bool,
}

fn describe_holders(holders: &Holders) -> String {
    match holders.readers {
        _ if holders.writer => "a writable guard (mode 'r+' or 'w+')".to_owned(),
        1 => "a read-only guard".to_owned(),
        n => format!("{n} read-only guards"),
    }
}

fn describe(writable: bool) -> &'static str {
    if writable {
        "writable"
    } else {
        "read-only"
    }
}

fn key_of(meta: &Metadata, path: &Path) -> Result<FileKey> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = path;
        Ok(FileKey::Inode(meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        let path = path
            .canonicalize()
            .map_err(|e| Error::io("canonicalize", path, e))?;
        Ok(FileKey::Path(path))
    }
}

impl Registration {
    /// Records a guard on `file`: many read-only guards may share a file, a
    /// writable one must be alone, like a reader-writer lock. Copy-on-write
    /// maps count as readers: they never write the file.
    pub(crate) fn register(meta: &Metadata, path: &Path, writable: bool) -> Result<Registration> {
        let key = key_of(meta, path)?;
        // A poisoned lock only means another thread panicked while holding
        // it; the map itself is always left consistent.
        let mut mapped = MAPPED.lock().unwrap_or_else(|e| e.into_inner());
        check(mapped.get(&key), path, writable)?;
        let holders = mapped.entry(key.clone()).or_default();
        if writable {
            holders.writer = true;
        } else {
            holders.readers += 1;
        }
        Ok(Registration { key, writable })
    }
}

/// Refuses a guard that would alias another guard of this process.
fn check(holders: Option<&Holders>, path: &Path, writable: bool) -> Result<()> {
    let existing = match holders {
        Some(h) if h.writer || (writable && h.readers > 0) => describe_holders(h),
        _ => return Ok(()),
    };
    Err(Error::AlreadyMapped {
        path: path.to_path_buf(),
        existing,
        requested: describe(writable),
    })
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut mapped = MAPPED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(holders) = mapped.get_mut(&self.key) {
            if self.writable {
                holders.writer = false;
            } else {
                holders.readers = holders.readers.saturating_sub(1);
            }
            if !holders.writer && holders.readers == 0 {
                mapped.remove(&self.key);
            }
        }
    }
}

/// A guard's file. Closing it releases the advisory lock, except for a file
/// lent by the caller ([`open_raw_file`](crate::MemmapOptions::open_raw_file)): that
/// descriptor is a duplicate of the caller's, and a lock belongs to the open
/// file description they share, so it would outlive the guard; it is
/// released explicitly instead.
#[derive(Debug)]
pub(crate) struct GuardFile {
    file: File,
    unlock_on_drop: bool,
}

impl GuardFile {
    /// A file this crate opened: closing it releases its lock.
    pub(crate) fn owned(file: File) -> GuardFile {
        GuardFile {
            file,
            unlock_on_drop: false,
        }
    }

    /// A duplicate of a caller's file, whose lock (if taken) is released on drop.
    pub(crate) fn lent(file: File, locked: bool) -> GuardFile {
        GuardFile {
            file,
            unlock_on_drop: locked,
        }
    }
}

impl std::ops::Deref for GuardFile {
    type Target = File;

    fn deref(&self) -> &File {
        &self.file
    }
}

impl Drop for GuardFile {
    fn drop(&mut self) {
        if self.unlock_on_drop {
            let _ = self.file.unlock();
        }
    }
}

/// Takes an advisory lock on `file`: shared for readers, exclusive for
/// writers, waiting at most `wait` for a conflicting holder to let go. The
/// lock is released when the file is closed.
///
/// Called only after the file is registered: a guard of this process that
/// conflicts has been refused by the registry already, so a lock still
/// refused at the deadline is another process's (or a forked child's).
///
/// A short wait matters even between programs that never share a file for
/// long: while any thread of this process forks a child, the child briefly
/// holds copies of every descriptor, and with them their locks, until it
/// execs.
pub(crate) fn lock(file: &File, path: &Path, exclusive: bool, wait: Duration) -> Result<()> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_micros(100);
    loop {
        let result = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match result {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(10));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    path: path.to_path_buf(),
                    requested: if exclusive { "exclusive" } else { "shared" },
                })
            }
            Err(TryLockError::Error(e)) => return Err(Error::io("lock", path, e)),
        }
    }
}
