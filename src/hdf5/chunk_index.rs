//! Finding a chunked dataset's chunks, for every index libhdf5 writes: a
//! version-1 B-tree, and layout version 4's single chunk, implicit, fixed
//! array (paged or not), extensible array and version-2 B-tree. The result
//! is one table from grid position to stored bytes, whatever the index.

use std::collections::HashMap;

use crate::hdf5::bytes::{invalid, verify_checksum, Cursor, Parsed, Source};
use crate::hdf5::header::Context;
use crate::hdf5::messages::ChunkIndex;
use crate::hdf5::{btree1, btree2};

/// A chunk's stored bytes: its address (relative to the base), size and
/// the filters skipped for it (bit `i` set: filter `i` was not applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stored {
    pub(crate) address: u64,
    pub(crate) size: u64,
    pub(crate) mask: u32,
}

/// The grid a dataset's chunks fall on.
pub(crate) struct Grid<'a> {
    /// The dataset's current shape.
    pub(crate) shape: &'a [u64],
    /// Its maximum shape (`u64::MAX` for unlimited axes).
    pub(crate) max_shape: &'a [u64],
    pub(crate) chunk: &'a [u64],
    pub(crate) chunk_bytes: u64,
}

impl Grid<'_> {
    /// Chunks per axis over the current shape.
    pub(crate) fn counts(&self) -> Vec<u64> {
        self.shape
            .iter()
            .zip(self.chunk)
            .map(|(n, c)| n.div_ceil(*c))
            .collect()
    }

    /// Chunks per axis over the maximum shape (libhdf5 numbers fixed and
    /// implicit indexes by it); an unlimited axis counts its current chunks.
    fn max_counts(&self) -> Vec<u64> {
        self.max_shape
            .iter()
            .zip(self.shape)
            .zip(self.chunk)
            .map(|((m, n), c)| {
                if *m == u64::MAX {
                    n.div_ceil(*c)
                } else {
                    m.max(n).div_ceil(*c)
                }
            })
            .collect()
    }

    /// The linear position (C order over the current grid) of chunk
    /// `coords`, or `None` if it lies outside the current shape.
    pub(crate) fn linear(&self, coords: &[u64]) -> Option<u64> {
        let counts = self.counts();
        if coords.len() != counts.len() || coords.iter().zip(&counts).any(|(c, n)| c >= n) {
            return None;
        }
        coords
            .iter()
            .zip(&counts)
            .try_fold(0u64, |at, (c, n)| at.checked_mul(*n)?.checked_add(*c))
    }
}

/// Unravels `index` in C order over `counts`.
fn unravel(mut index: u64, counts: &[u64]) -> Vec<u64> {
    let mut coords = vec![0; counts.len()];
    for (axis, &n) in counts.iter().enumerate().rev() {
        if axis == 0 {
            coords[0] = index;
        } else {
            coords[axis] = index % n.max(1);
            index /= n.max(1);
        }
    }
    coords
}

/// Every stored chunk of the dataset, keyed by its linear position in the
/// current grid. Chunks the index lists outside the current shape (left
/// by a shrink) are dropped, as libhdf5 ignores them.
pub(crate) fn read<S: Source + ?Sized>(
    ctx: &Context<'_, S>,
    index: &ChunkIndex,
    address: Option<u64>,
    grid: &Grid<'_>,
) -> Parsed<HashMap<u64, Stored>> {
    let mut table = HashMap::new();
    let Some(address) = address else {
        return Ok(table);
    };
    let rank = grid.shape.len();
    let mut put = |coords: Vec<u64>, stored: Stored| {
        if let Some(at) = grid.linear(&coords) {
            table.insert(at, stored);
        }
    };
    match index {
        ChunkIndex::BTreeV1 => {
            let key_size = 8 + 8 * (rank + 1);
            btree1::walk(ctx, address, 1, key_size, &mut |key, child| {
                let mut c = Cursor::new(key, ctx.sizes(), "chunk B-tree key");
                let size = u64::from(c.u32()?);
                let mask = c.u32()?;
                let mut coords = Vec::with_capacity(rank);
                for axis in 0..rank {
                    let offset = c.u64()?;
                    if offset % grid.chunk[axis] != 0 {
                        return invalid(format!("a chunk at element offset {offset} on axis {axis}, not a multiple of the chunk length {}", grid.chunk[axis]));
                    }
                    coords.push(offset / grid.chunk[axis]);
                }
                put(
                    coords,
                    Stored {
                        address: child,
                        size,
                        mask,
                    },
                );
                Ok(())
            })?;
        }
        ChunkIndex::Single { filtered } => {
            let (size, mask) = filtered.unwrap_or((grid.chunk_bytes, 0));
            put(
                vec![0; rank],
                Stored {
                    address,
                    size,
                    mask,
                },
            );
        }
        ChunkIndex::Implicit => {
            let counts = grid.max_counts();
            let total = counts.iter().try_fold(1u64, |n, c| n.checked_mul(*c));
            let end = total
                .and_then(|t| t.checked_mul(grid.chunk_bytes))
                .and_then(|b| b.checked_add(address));
            match end {
                Some(end) if ctx.absolute(end)? <= ctx.source.len() => {}
                _ => return invalid(format!(
                    "an implicit chunk index of {counts:?} chunks of {} bytes from {address} ends past the end of the file ({} bytes)",
                    grid.chunk_bytes, ctx.source.len()
                )),
            }
            for i in 0..total.unwrap_or(0) {
                put(
                    unravel(i, &counts),
                    Stored {
                        address: address + i * grid.chunk_bytes,
                        size: grid.chunk_bytes,
                        mask: 0,
                    },
                );
            }
        }
        ChunkIndex::FixedArray { .. } => {
            let counts = grid.max_counts();
            fixed_array(ctx, address, grid.chunk_bytes, &mut |i, stored| {
                put(unravel(i, &counts), stored)
            })?;
        }
        ChunkIndex::ExtensibleArray => {
            let unlimited = grid
                .max_shape
                .iter()
                .position(|&m| m == u64::MAX)
                .unwrap_or(0);
            // libhdf5 numbers the chunks with the unlimited axis first.
            let mut order = vec![unlimited];
            order.extend((0..rank).filter(|&a| a != unlimited));
            let counts = grid.max_counts();
            let swizzled: Vec<u64> = order.iter().map(|&a| counts[a]).collect();
            extensible_array(ctx, address, grid.chunk_bytes, &mut |i, stored| {
                let sw = unravel(i, &swizzled);
                let mut coords = vec![0; rank];
                for (k, &axis) in order.iter().enumerate() {
                    coords[axis] = sw[k];
                }
                put(coords, stored);
            })?;
        }
        ChunkIndex::BTreeV2 => {
            let tree = btree2::open(ctx, address)?;
            let o = usize::from(ctx.sizes().offset);
            let filtered = match tree.kind {
                10 => false,
                11 => true,
                other => {
                    return invalid(format!(
                        "a chunk index B-tree of record type {other}; expected 10 or 11"
                    ))
                }
            };
            let fixed = o + 8 * rank + if filtered { 4 } else { 0 };
            if tree.record_size < fixed {
                return invalid(format!(
                    "chunk records of {} bytes; {rank} axes need {fixed}",
                    tree.record_size
                ));
            }
            let size_width = tree.record_size - fixed;
            tree.search(ctx, &|_| std::cmp::Ordering::Equal, &mut |record| {
                let mut c = Cursor::new(record, ctx.sizes(), "chunk B-tree record");
                let Some(at) = c.address()? else {
                    return Ok(false);
                };
                let (size, mask) = if filtered {
                    (c.uint(size_width)?, c.u32()?)
                } else {
                    (grid.chunk_bytes, 0)
                };
                let coords = (0..rank).map(|_| c.u64()).collect::<Parsed<Vec<_>>>()?;
                put(
                    coords,
                    Stored {
                        address: at,
                        size,
                        mask,
                    },
                );
                Ok(false)
            })?;
        }
    }
    Ok(table)
}

/// An index entry: the chunk's address, then (filtered) its size and mask.
fn entry(
    c: &mut Cursor<'_>,
    element_size: usize,
    offset_size: usize,
    default_size: u64,
) -> Parsed<Option<Stored>> {
    let address = c.address()?;
    let (size, mask) = if element_size > offset_size {
        let width =
            element_size
                .checked_sub(offset_size + 4)
                .ok_or(crate::hdf5::bytes::Fault::Invalid(format!(
                    "chunk index entries of {element_size} bytes"
                )))?;
        (c.uint(width)?, c.u32()?)
    } else {
        (default_size, 0)
    };
    Ok(address.map(|address| Stored {
        address,
        size,
        mask,
    }))
}

fn fixed_array<S: Source + ?Sized>(
    ctx: &Context<'_, S>,
    address: u64,
    chunk_bytes: u64,
    put: &mut dyn FnMut(u64, Stored),
) -> Parsed<()> {
    let o = u64::from(ctx.sizes().offset);
    let l = u64::from(ctx.sizes().length);
    let head = ctx.read(address, 4 + 4 + l + o + 4, "fixed array header")?;
    verify_checksum(&head, "fixed array header")?;
    let mut c = Cursor::new(&head, ctx.sizes(), "fixed array header");
    c.signature(b"FAHD")?;
    c.skip(2)?;
    let element_size = usize::from(c.u8()?);
    let page_bits = c.u8()?;
    let count = c.length()?;
    let Some(block) = c.address()? else {
        return Ok(());
    };
    if element_size < o as usize || page_bits > 32 {
        return invalid(format!(
            "a fixed array of {element_size}-byte entries with {page_bits} page bits"
        ));
    }
    let page = 1u64 << page_bits;
    let pages = if count > page {
        count.div_ceil(page)
    } else {
        0
    };
    let prefix = 4 + 1 + 1 + o + pages.div_ceil(8);
    let esize = element_size as u64;
    let Some(entries_bytes) = count.checked_mul(esize) else {
        return invalid("a fixed array whose size overflows");
    };
    if pages == 0 {
        let Some(len) = entries_bytes.checked_add(prefix + 4) else {
            return invalid("a fixed array whose size overflows");
        };
        let bytes = ctx.read(block, len, "fixed array data block")?;
        verify_checksum(&bytes, "fixed array data block")?;
        let mut c = Cursor::new(&bytes, ctx.sizes(), "fixed array data block");
        c.signature(b"FADB")?;
        c.seek(prefix as usize)?;
        for i in 0..count {
            if let Some(stored) = entry(&mut c, element_size, o as usize, chunk_bytes)? {
                put(i, stored);
            }
        }
        return Ok(());
    }
    let head = ctx.read(block, prefix + 4, "fixed array data block")?;
    verify_checksum(&head, "fixed array data block")?;
    let bitmap = &head[(prefix - pages.div_ceil(8)) as usize..prefix as usize];
    let mut at = block + prefix + 4;
    for p in 0..pages {
        let in_page = page.min(count - p * page);
        let len = in_page * esize + 4;
        if bitmap[(p / 8) as usize] & (0x80 >> (p % 8)) != 0 {
            let bytes = ctx.read(at, len, "fixed array page")?;
            verify_checksum(&bytes, "fixed array page")?;
            let mut c = Cursor::new(&bytes, ctx.sizes(), "fixed array page");
            for k in 0..in_page {
                if let Some(stored) = entry(&mut c, element_size, o as usize, chunk_bytes)? {
                    put(p * page + k, stored);
                }
            }
        }
        at += page * esize + 4;
    }
    Ok(())
}

fn extensible_array<S: Source + ?Sized>(
    ctx: &Context<'_, S>,
    address: u64,
    chunk_bytes: u64,
    put: &mut dyn FnMut(u64, Stored),
) -> Parsed<()> {
    let o = u64::from(ctx.sizes().offset);
    let l = u64::from(ctx.sizes().length);
    let head = ctx.read(address, 4 + 8 + 6 * l + o + 4, "extensible array header")?;
    verify_checksum(&head, "extensible array header")?;
    let mut c = Cursor::new(&head, ctx.sizes(), "extensible array header");
    c.signature(b"EAHD")?;
    c.skip(2)?;
    let element_size = usize::from(c.u8()?);
    let max_bits = u32::from(c.u8()?);
    let index_elements = u64::from(c.u8()?);
    let min_data = u64::from(c.u8()?);
    let min_pointers = u64::from(c.u8()?);
    let page_bits = u32::from(c.u8()?);
    for _ in 0..4 {
        c.length()?;
    }
    let max_index = c.length()?;
    c.length()?;
    let Some(index_block) = c.address()? else {
        return Ok(());
    };
    let valid = (1..=64).contains(&max_bits)
        && min_data.is_power_of_two()
        && min_pointers.is_power_of_two()
        && page_bits < 32
        && element_size >= o as usize
        && u64::from(63 - min_data.leading_zeros()) < u64::from(max_bits);
    if !valid {
        return invalid(format!(
            "an extensible array with {max_bits} index bits, data blocks of at least {min_data} and {min_pointers} pointers per super block; the file is damaged"
        ));
    }
    let esize = element_size as u64;
    let log2 = |n: u64| u64::from(63 - n.leading_zeros());
    let super_blocks = 1 + u64::from(max_bits) - log2(min_data);
    let direct_super = 2 * log2(min_pointers);
    let direct_blocks = 2 * (min_pointers - 1);
    let secondary = super_blocks.saturating_sub(direct_super);
    let offset_bytes = u64::from(max_bits).div_ceil(8);
    let len = 4 + 2 + o + index_elements * esize + direct_blocks * o + secondary * o + 4;
    let bytes = ctx.read(index_block, len, "extensible array index block")?;
    verify_checksum(&bytes, "extensible array index block")?;
    let mut c = Cursor::new(&bytes, ctx.sizes(), "extensible array index block");
    c.signature(b"EAIB")?;
    c.skip(2 + o as usize)?;
    for i in 0..index_elements.min(max_index) {
        if let Some(stored) = entry(&mut c, element_size, o as usize, chunk_bytes)? {
            put(i, stored);
        }
    }
    c.seek((4 + 2 + o + index_elements * esize) as usize)?;
    let direct: Vec<Option<u64>> = (0..direct_blocks)
        .map(|_| c.address())
        .collect::<Parsed<_>>()?;
    let indirect: Vec<Option<u64>> = (0..secondary).map(|_| c.address()).collect::<Parsed<_>>()?;
    let page = 1u64 << page_bits;
    let mut start = index_elements;
    let mut direct_at = 0usize;
    for s in 0..super_blocks {
        if start >= max_index {
            break;
        }
        let blocks = 1u64 << (s / 2);
        let Some(per_block) = min_data
            .checked_shl(s.div_ceil(2) as u32)
            .filter(|&n| n <= 1 << 40)
        else {
            return invalid("an extensible array whose data blocks would exceed 2^40 entries");
        };
        let pages = if per_block > page {
            per_block / page
        } else {
            0
        };
        // Each data block's address, and (paged blocks) which pages were written.
        let (addresses, page_bits_set): (Vec<Option<u64>>, Vec<u8>) = if s < direct_super {
            let out = direct
                .get(direct_at..direct_at + blocks as usize)
                .map(<[_]>::to_vec);
            direct_at += blocks as usize;
            let out = out.ok_or(crate::hdf5::bytes::Fault::Invalid(
                "an extensible array index block too short".into(),
            ))?;
            // Blocks of the index block are never paged by libhdf5; all pages count as written.
            (out, vec![0xff; (blocks * pages).div_ceil(8) as usize])
        } else {
            match indirect.get((s - direct_super) as usize).copied().flatten() {
                // Never allocated: every element of the super block absent.
                None => {
                    start = start.saturating_add(blocks.saturating_mul(per_block));
                    continue;
                }
                Some(sblock) => {
                    let bitmap = (blocks * pages).div_ceil(8);
                    let len = 4 + 2 + o + offset_bytes + bitmap + blocks * o + 4;
                    let bytes = ctx.read(sblock, len, "extensible array super block")?;
                    verify_checksum(&bytes, "extensible array super block")?;
                    let mut c = Cursor::new(&bytes, ctx.sizes(), "extensible array super block");
                    c.signature(b"EASB")?;
                    c.skip((2 + o + offset_bytes) as usize)?;
                    let bits = c.take(bitmap as usize)?.to_vec();
                    (
                        (0..blocks).map(|_| c.address()).collect::<Parsed<_>>()?,
                        bits,
                    )
                }
            }
        };
        for (b, block) in addresses.into_iter().enumerate() {
            let first = start.saturating_add((b as u64).saturating_mul(per_block));
            let Some(block) = block else { continue };
            if first >= max_index {
                break;
            }
            let paged = per_block > page;
            let prefix = 4 + 2 + o + offset_bytes;
            if !paged {
                let bytes = ctx.read(
                    block,
                    prefix + per_block * esize + 4,
                    "extensible array data block",
                )?;
                verify_checksum(&bytes, "extensible array data block")?;
                let mut c = Cursor::new(&bytes, ctx.sizes(), "extensible array data block");
                c.signature(b"EADB")?;
                c.seek(prefix as usize)?;
                for k in 0..per_block {
                    if let Some(stored) = entry(&mut c, element_size, o as usize, chunk_bytes)? {
                        put(first + k, stored);
                    }
                }
            } else {
                // Pages follow the block's prefix and checksum; the super
                // block's bitmap says which were ever written.
                let mut at = block + prefix + 4;
                for p in 0..pages {
                    let bit = b as u64 * pages + p;
                    let written = page_bits_set
                        .get((bit / 8) as usize)
                        .is_some_and(|byte| byte & (0x80 >> (bit % 8)) != 0);
                    if written {
                        let bytes =
                            ctx.read(at, page * esize + 4, "extensible array data block page")?;
                        verify_checksum(&bytes, "extensible array data block page")?;
                        let mut c =
                            Cursor::new(&bytes, ctx.sizes(), "extensible array data block page");
                        for k in 0..page {
                            if let Some(stored) =
                                entry(&mut c, element_size, o as usize, chunk_bytes)?
                            {
                                put(first + p * page + k, stored);
                            }
                        }
                    }
                    at += page * esize + 4;
                }
            }
        }
        start = start.saturating_add(blocks.saturating_mul(per_block));
    }
    Ok(())
}
