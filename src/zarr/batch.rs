//! Chunk files written as a batch: each under a temporary name beside its
//! key, its write-back started at once; then all synced and renamed into
//! place together. The disk works on one chunk while the next is encoded,
//! and every chunk is durable before its name appears, so a crash (or a
//! power cut) never shows half a chunk under a key.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::zarr::write::temp_path;

/// Temporary files held open at most: past this the batch is committed, so
/// a region of any size needs no more file descriptors than this.
const MAX_PENDING: usize = 64;

#[derive(Default)]
pub(crate) struct Batch {
    /// Written, not yet synced: the file, its temporary name, its key's path.
    written: Vec<(File, PathBuf, PathBuf)>,
    /// Keys whose chunks are now all fill value: removed on commit.
    removed: Vec<PathBuf>,
}

impl Batch {
    /// Writes `data` and then `trailer` to a temporary file for `target`.
    pub(crate) fn write(&mut self, target: &Path, data: &[u8], trailer: &[u8]) -> Result<()> {
        if self.written.len() >= MAX_PENDING {
            self.commit_pending()?;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create directory", parent, e))?;
        }
        let temp = temp_path(target);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| Error::io("create temporary file", &temp, e))?;
        // Pushed first, so that a failed write still removes the file.
        let written = file
            .write_all(data)
            .and_then(|()| file.write_all(trailer))
            .map_err(|e| Error::io("write chunk", &temp, e));
        crate::sys::start_writeback(&file, 0, (data.len() + trailer.len()) as u64);
        self.written.push((file, temp, target.to_path_buf()));
        written
    }

    /// Removes `target`'s file on commit (its chunk is all fill value).
    pub(crate) fn remove(&mut self, target: PathBuf) {
        self.removed.push(target);
    }

    /// Syncs every written file and renames it into place.
    fn commit_pending(&mut self) -> Result<()> {
        for (file, temp, target) in std::mem::take(&mut self.written) {
            let done = file
                .sync_data()
                .map_err(|e| Error::io("sync chunk", &temp, e))
                .and_then(|()| {
                    std::fs::rename(&temp, &target)
                        .map_err(|e| Error::io("rename into place", &target, e))
                });
            if done.is_err() {
                let _ = std::fs::remove_file(&temp);
                return done;
            }
        }
        Ok(())
    }

    /// Commits the batch: every chunk written is in place and durable,
    /// every chunk now all fill value removed.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.commit_pending()?;
        for target in std::mem::take(&mut self.removed) {
            match std::fs::remove_file(&target) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("remove all-fill chunk", &target, e))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Drop for Batch {
    /// A batch not committed (an error on the way) leaves no temporary file.
    fn drop(&mut self) {
        for (_, temp, _) in self.written.drain(..) {
            let _ = std::fs::remove_file(temp);
        }
    }
}
