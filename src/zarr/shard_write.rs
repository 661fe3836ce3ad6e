//! Writing into sharded arrays: every shard a region touches is rewritten
//! whole (as zarr-python does), under a temporary name and renamed into
//! place, with each inner chunk at a page-aligned offset so that it maps.
//! Inner chunks the region does not touch keep their stored bytes.

use ndarray::{ArrayD, ArrayViewD, Slice};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::sys::read_exact_at;
use crate::zarr::array::{next_index, ZarrArray};
use crate::zarr::crc32c::crc32c;
use crate::zarr::locate::Found;
use crate::zarr::write::write_atomically;

/// Inner chunks start at multiples of this: a page on the platforms we
/// build for, so that every inner chunk maps in place.
const INNER_ALIGN: u64 = 4096;

impl ZarrArray {
    /// `write_region` for a sharded array (the region is checked, non-empty).
    pub(crate) fn write_region_sharded<A: Element>(
        &self,
        origin: &[usize],
        data: &ArrayViewD<'_, A>,
        swapped: bool,
    ) -> Result<()> {
        let shard_shape = self.meta.chunk_shape.clone();
        let end: Vec<usize> = origin
            .iter()
            .zip(data.shape())
            .map(|(o, n)| o + n)
            .collect();
        let first: Vec<usize> = origin
            .iter()
            .zip(&shard_shape)
            .map(|(o, s)| o / s)
            .collect();
        let last: Vec<usize> = end
            .iter()
            .zip(&shard_shape)
            .map(|(e, s)| (e - 1) / s)
            .collect();
        let mut shard = first.clone();
        loop {
            self.rewrite_shard(&shard, origin, &end, data, swapped)?;
            if !next_index(&mut shard, &first, &last) {
                return Ok(());
            }
        }
    }

    /// Rewrites one shard with the part of `data` (at `origin..end`) inside it.
    fn rewrite_shard<A: Element>(
        &self,
        shard: &[usize],
        origin: &[usize],
        end: &[usize],
        data: &ArrayViewD<'_, A>,
        swapped: bool,
    ) -> Result<()> {
        let Some(sharding) = &self.meta.sharding else {
            return Err(Error::ZarrChunk {
                path: self.dir.clone(),
                key: format!("{shard:?}"),
                reason: "the array is not sharded".to_owned(),
            });
        };
        let inner = sharding.inner_shape.clone();
        let per_shard: Vec<usize> = self
            .meta
            .chunk_shape
            .iter()
            .zip(&inner)
            .map(|(s, i)| s / i)
            .collect();
        let grid = self.meta.grid_shape();
        let zeros = vec![0; per_shard.len()];
        let last: Vec<usize> = per_shard.iter().map(|n| n - 1).collect();
        let mut local = zeros.clone();
        // Each slot's stored bytes (data and any checksum), in C order.
        let mut slots: Vec<Option<Vec<u8>>> = Vec::new();
        loop {
            let global: Vec<usize> = shard
                .iter()
                .zip(&per_shard)
                .zip(&local)
                .map(|((s, n), l)| s * n + l)
                .collect();
            let inside = global.iter().zip(&grid).all(|(g, n)| g < n);
            slots.push(if inside {
                self.slot_bytes(&global, origin, end, data, swapped)?
            } else {
                None
            });
            if !next_index(&mut local, &zeros, &last) {
                break;
            }
        }
        let key = self.meta.keys.key(shard);
        let path = self.dir.join(&key);
        if slots.iter().all(Option::is_none) {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::io("remove all-fill shard", &path, e))
                }
                _ => Ok(()),
            };
        }
        let index_bytes = 16 * slots.len() as u64 + if sharding.index_checksum { 4 } else { 0 };
        let base = if sharding.index_at_start {
            index_bytes.next_multiple_of(INNER_ALIGN)
        } else {
            0
        };
        let mut entries = Vec::with_capacity(slots.len());
        let mut at = base;
        for slot in &slots {
            match slot {
                Some(bytes) => {
                    at = at.next_multiple_of(INNER_ALIGN);
                    entries.push((at, bytes.len() as u64));
                    at += bytes.len() as u64;
                }
                None => entries.push((u64::MAX, u64::MAX)),
            }
        }
        let mut index: Vec<u8> = entries
            .iter()
            .flat_map(|(offset, nbytes)| {
                offset.to_le_bytes().into_iter().chain(nbytes.to_le_bytes())
            })
            .collect();
        if sharding.index_checksum {
            let crc = crc32c(&index);
            index.extend_from_slice(&crc.to_le_bytes());
        }
        let total = (at
            + if sharding.index_at_start {
                0
            } else {
                index_bytes
            }) as usize;
        let mut bytes = vec![0u8; total];
        for (slot, &(offset, _)) in slots.iter().zip(&entries) {
            if let Some(data) = slot {
                bytes[offset as usize..offset as usize + data.len()].copy_from_slice(data);
            }
        }
        let index_at = if sharding.index_at_start {
            0
        } else {
            at as usize
        };
        bytes[index_at..index_at + index.len()].copy_from_slice(&index);
        write_atomically(&path, &bytes)
    }

    /// The stored bytes of inner chunk `global` after the write: its old
    /// bytes if the region misses it, else the updated chunk encoded;
    /// `None` for an empty slot (all fill value, left out).
    fn slot_bytes<A: Element>(
        &self,
        global: &[usize],
        origin: &[usize],
        end: &[usize],
        data: &ArrayViewD<'_, A>,
        swapped: bool,
    ) -> Result<Option<Vec<u8>>> {
        let chunk_origin = self.origin_of(global);
        let clip = self.clip_of(global);
        let chunk = self.meta.chunk_shape().to_vec();
        let overlap = |k: usize| {
            (
                origin[k].max(chunk_origin[k]),
                end[k].min(chunk_origin[k] + chunk[k]),
            )
        };
        let touched = (0..chunk.len()).all(|k| {
            let (start, stop) = overlap(k);
            start < stop
        });
        let covered = (0..chunk.len())
            .all(|k| origin[k] <= chunk_origin[k] && chunk_origin[k] + clip[k] <= end[k]);
        if !touched {
            // Unchanged: its stored bytes, copied as they are.
            return match self.locate(global)? {
                Found::Absent => Ok(None),
                Found::At(located) => {
                    let len = located.nbytes + if located.checksum { 4 } else { 0 };
                    let mut bytes = vec![0u8; len];
                    read_exact_at(&located.file, &mut bytes, located.offset)
                        .map_err(|e| Error::io("read inner chunk", &located.path, e))?;
                    Ok(Some(bytes))
                }
            };
        }
        let mut block: ArrayD<A> = self.block_to_update::<A>(global, covered, swapped)?;
        block
            .slice_each_axis_mut(|axis| {
                let k = axis.axis.index();
                let (start, stop) = overlap(k);
                Slice::from(start - chunk_origin[k]..stop - chunk_origin[k])
            })
            .assign(&data.slice_each_axis(|axis| {
                let k = axis.axis.index();
                let (start, stop) = overlap(k);
                Slice::from(start - origin[k]..stop - origin[k])
            }));
        Ok(self.encode(block.view()).map(|(data, crc)| {
            let mut bytes = data.into_owned();
            if let Some(crc) = crc {
                bytes.extend_from_slice(&crc.to_le_bytes());
            }
            bytes
        }))
    }
}
