//! Where a chunk's elements are: its own file, a slot of a shard file, or
//! nowhere (the fill value). Each file is opened once, and its length and
//! shard index are read from that open file, so a shard that another writer
//! replaces (zarr-python re-packs shards by rename) can never pair one
//! file's index with another file's data.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::zarr::array::ZarrArray;
use crate::zarr::crc32c::crc32c;

/// An inner chunk slot of a shard that holds nothing.
const EMPTY: u64 = u64::MAX;

/// A chunk's stored bytes, found.
pub(crate) struct Located {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
    pub(crate) key: String,
    /// Where the data starts in the file.
    pub(crate) offset: u64,
    /// The data's length, without a checksum trailer.
    pub(crate) nbytes: usize,
    /// A 4-byte CRC-32C follows the data.
    pub(crate) checksum: bool,
}

/// What the store holds for a chunk.
pub(crate) enum Found {
    /// No file, or an empty shard slot: every element is the fill value.
    Absent,
    At(Located),
}

/// The last shard index read, for scans that visit a shard's inner chunks
/// one after another.
#[derive(Default)]
pub(crate) struct ShardCache(Mutex<Option<CachedIndex>>);

struct CachedIndex {
    shard: Vec<usize>,
    identity: FileIdentity,
    entries: Arc<Vec<(u64, u64)>>,
}

/// What tells one version of a file from another: a replaced shard has a
/// new inode (on Unix), and a rewritten one a new length or time.
#[derive(Clone, PartialEq, Eq)]
struct FileIdentity {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

fn identity(meta: &std::fs::Metadata) -> FileIdentity {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    FileIdentity {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode,
    }
}

impl ZarrArray {
    /// The chunk error for `key` of this array.
    pub(crate) fn chunk_error(&self, key: &str, reason: String) -> Error {
        Error::ZarrChunk {
            path: self.dir.clone(),
            key: key.to_owned(),
            reason,
        }
    }

    /// Checks `index` against the chunk grid.
    pub(crate) fn check_index(&self, index: &[usize]) -> Result<()> {
        let grid = self.meta.grid_shape();
        if index.len() == grid.len() && index.iter().zip(&grid).all(|(i, n)| i < n) {
            Ok(())
        } else {
            Err(self.chunk_error(
                &format!("{index:?}"),
                format!(
                    "the index is outside the chunk grid {grid:?} (shape {:?} in chunks of {:?})",
                    self.meta.shape,
                    self.meta.chunk_shape()
                ),
            ))
        }
    }

    /// Finds the stored bytes of the chunk at grid `index` (checked).
    pub(crate) fn locate(&self, index: &[usize]) -> Result<Found> {
        self.check_index(index)?;
        let data_bytes = self.chunk_nbytes;
        let checksum = self.meta.codecs.checksum;
        let stored = data_bytes as u64 + if checksum { 4 } else { 0 };
        let Some(sharding) = &self.meta.sharding else {
            let key = self.meta.keys.key(index);
            let Some((file, path, meta)) = self.open_key(&key)? else {
                return Ok(Found::Absent);
            };
            if meta.len() != stored {
                return Err(self.chunk_error(&key, self.length_message(meta.len(), stored)));
            }
            return Ok(Found::At(Located {
                file,
                path,
                key,
                offset: 0,
                nbytes: data_bytes,
                checksum,
            }));
        };
        let per_shard: Vec<usize> = self
            .meta
            .chunk_shape
            .iter()
            .zip(&sharding.inner_shape)
            .map(|(s, i)| s / i)
            .collect();
        let shard: Vec<usize> = index.iter().zip(&per_shard).map(|(i, n)| i / n).collect();
        let slot = index
            .iter()
            .zip(&per_shard)
            .fold(0usize, |at, (i, n)| at * n + i % n);
        let key = self.meta.keys.key(&shard);
        let Some((file, path, meta)) = self.open_key(&key)? else {
            return Ok(Found::Absent);
        };
        let entries = self.shard_index(&file, &meta, &shard, &key, &per_shard, stored)?;
        let (offset, nbytes) = entries.get(slot).copied().unwrap_or((EMPTY, EMPTY));
        if offset == EMPTY {
            return Ok(Found::Absent);
        }
        Ok(Found::At(Located {
            file,
            path,
            key: format!("{key} (inner chunk {index:?})"),
            offset,
            nbytes: (nbytes - if checksum { 4 } else { 0 }) as usize,
            checksum,
        }))
    }

    fn length_message(&self, found: u64, expected: u64) -> String {
        let trailer = if self.meta.codecs.checksum {
            " and a 4-byte CRC-32C"
        } else {
            ""
        };
        format!(
            "the chunk is {found} bytes, but a chunk of shape {:?} holds {expected} ({}-byte elements{trailer}; edge chunks are stored full size); rewrite the chunk",
            self.meta.stored_chunk_shape(),
            self.meta.dtype.size
        )
    }

    /// Opens the file of `key`, or `None` if there is none.
    fn open_key(&self, key: &str) -> Result<Option<(File, PathBuf, std::fs::Metadata)>> {
        let path = self.dir.join(key);
        match File::open(&path) {
            Ok(file) => {
                let meta = file
                    .metadata()
                    .map_err(|e| Error::io("stat chunk", &path, e))?;
                crate::sys::check_regular(&path, &meta)?;
                Ok(Some((file, path, meta)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("open chunk", &path, e)),
        }
    }

    /// The shard's index: `(offset, nbytes)` per inner chunk in C order,
    /// its checksum verified and every entry checked to lie in the file,
    /// clear of the index and of every other entry.
    fn shard_index(
        &self,
        file: &File,
        meta: &std::fs::Metadata,
        shard: &[usize],
        key: &str,
        per_shard: &[usize],
        stored: u64,
    ) -> Result<Arc<Vec<(u64, u64)>>> {
        let sharding = self
            .meta
            .sharding
            .as_ref()
            .ok_or_else(|| self.chunk_error(key, "the array is not sharded".to_owned()))?;
        let id = identity(meta);
        if let Ok(cache) = self.shard_cache.0.lock() {
            if let Some(cached) = cache.as_ref() {
                if cached.shard == shard && cached.identity == id {
                    return Ok(Arc::clone(&cached.entries));
                }
            }
        }
        let len = meta.len();
        // The slot count comes from the metadata; the file must hold the
        // whole index before anything of that size is allocated.
        let slots = per_shard
            .iter()
            .try_fold(1u64, |n, &s| n.checked_mul(s as u64));
        let index_bytes = slots
            .and_then(|n| n.checked_mul(16))
            .and_then(|n| n.checked_add(if sharding.index_checksum { 4 } else { 0 }));
        let index_bytes = match index_bytes {
            Some(n) if n <= len => n,
            _ => {
                return Err(self.chunk_error(
                    key,
                    format!(
                        "the shard is {len} bytes, too short for its index of {} slots ({:?} inner chunks of {:?} per shard)",
                        slots.map_or("too many".to_owned(), |n| n.to_string()),
                        per_shard,
                        sharding.inner_shape
                    ),
                ))
            }
        };
        let index_at = if sharding.index_at_start {
            0
        } else {
            len - index_bytes
        };
        let mut raw = vec![0u8; index_bytes as usize];
        crate::sys::read_exact_at(file, &mut raw, index_at)
            .map_err(|e| Error::io("read shard index", &self.dir.join(key), e))?;
        let table_len = raw.len() - if sharding.index_checksum { 4 } else { 0 };
        if sharding.index_checksum {
            let expected = u32::from_le_bytes([
                raw[table_len],
                raw[table_len + 1],
                raw[table_len + 2],
                raw[table_len + 3],
            ]);
            let found = crc32c(&raw[..table_len]);
            if expected != found {
                return Err(self.chunk_error(
                    key,
                    format!("the shard index's CRC-32C is {found:#010x}, but the shard records {expected:#010x}: the shard is damaged; rewrite it"),
                ));
            }
        }
        let entries: Vec<(u64, u64)> = raw[..table_len]
            .chunks_exact(16)
            .map(|pair| {
                let mut offset = [0u8; 8];
                let mut nbytes = [0u8; 8];
                offset.copy_from_slice(&pair[..8]);
                nbytes.copy_from_slice(&pair[8..]);
                (u64::from_le_bytes(offset), u64::from_le_bytes(nbytes))
            })
            .collect();
        let (data_start, data_end) = if sharding.index_at_start {
            (index_bytes, len)
        } else {
            (0, len - index_bytes)
        };
        let mut used: Vec<(u64, u64, usize)> = Vec::new();
        for (slot, &(offset, nbytes)) in entries.iter().enumerate() {
            match (offset == EMPTY, nbytes == EMPTY) {
                (true, true) => continue,
                (false, false) => {}
                _ => {
                    return Err(self.chunk_error(
                        key,
                        format!("slot {slot} of the shard index is half empty (offset {offset}, nbytes {nbytes}; an empty slot has both 2^64 - 1)"),
                    ))
                }
            }
            if nbytes != stored {
                return Err(self.chunk_error(
                    key,
                    format!("slot {slot} of the shard index says {nbytes} bytes, but an inner chunk of shape {:?} is stored in {stored}", sharding.inner_shape),
                ));
            }
            let end = offset.checked_add(nbytes);
            if offset < data_start || end.is_none_or(|end| end > data_end) {
                return Err(self.chunk_error(
                    key,
                    format!("slot {slot} of the shard index points at bytes {offset}..{} of a {len}-byte shard whose data lies in {data_start}..{data_end}", offset.saturating_add(nbytes)),
                ));
            }
            used.push((offset, nbytes, slot));
        }
        used.sort_unstable();
        for pair in used.windows(2) {
            let ((a, a_len, a_slot), (b, _, b_slot)) = (pair[0], pair[1]);
            if a + a_len > b {
                return Err(self.chunk_error(
                    key,
                    format!("slots {a_slot} and {b_slot} of the shard index overlap (bytes {a}..{} and {b}..)", a + a_len),
                ));
            }
        }
        let entries = Arc::new(entries);
        if let Ok(mut cache) = self.shard_cache.0.lock() {
            *cache = Some(CachedIndex {
                shard: shard.to_vec(),
                identity: id,
                entries: Arc::clone(&entries),
            });
        }
        Ok(entries)
    }
}
