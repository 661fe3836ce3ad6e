//! Fractal heaps: where a dense group keeps its link messages. Only what
//! finding an object by its heap ID needs: the header, the doubling table
//! of indirect and direct blocks, tiny objects in the ID itself.

use std::collections::HashSet;

use crate::hdf5::bytes::{invalid, unsupported, verify_checksum, Cursor, Parsed, Source};
use crate::hdf5::header::Context;

/// A heap's header, as far as finding objects needs it.
pub(crate) struct Heap {
    id_length: usize,
    filtered: bool,
    checksummed_direct: bool,
    width: u64,
    start_size: u64,
    max_direct_size: u64,
    offset_bytes: usize,
    length_bytes: usize,
    root: Option<u64>,
    root_rows: u64,
    max_direct_rows: u64,
}

pub(crate) fn open<S: Source + ?Sized>(ctx: &Context<'_, S>, address: u64) -> Parsed<Heap> {
    let o = u64::from(ctx.sizes().offset);
    let l = u64::from(ctx.sizes().length);
    let fixed = 4 + 1 + 2 + 2 + 1 + 4 + l + o + l + o + 8 * l + 2 + l + l + 2 + 2 + o + 2;
    let head = ctx.read(address, fixed, "fractal heap header")?;
    let mut c = Cursor::new(&head, ctx.sizes(), "fractal heap header");
    c.signature(b"FRHP")?;
    let _version = c.u8()?;
    let id_length = usize::from(c.u16()?);
    let filter_length = u64::from(c.u16()?);
    let flags = c.u8()?;
    let max_managed = u64::from(c.u32()?);
    c.length()?;
    c.address()?;
    c.length()?;
    c.address()?;
    for _ in 0..8 {
        c.length()?;
    }
    let width = u64::from(c.u16()?);
    let start_size = c.length()?;
    let max_direct_size = c.length()?;
    let max_heap_bits = u64::from(c.u16()?);
    let _start_rows = c.u16()?;
    let root = c.address()?;
    let root_rows = u64::from(c.u16()?);
    let extra = if filter_length > 0 {
        l + 4 + filter_length
    } else {
        0
    };
    let whole = ctx.read(address, fixed + extra + 4, "fractal heap header")?;
    verify_checksum(&whole, "fractal heap header")?;
    let power_of_two = |n: u64| n != 0 && n.is_power_of_two();
    if !power_of_two(width)
        || !power_of_two(start_size)
        || !power_of_two(max_direct_size)
        || max_direct_size < start_size
        || !(1..=64).contains(&max_heap_bits)
        || root_rows > 64
        || id_length == 0
        || id_length > 4096
    {
        return invalid(format!(
            "a fractal heap with table width {width}, block sizes {start_size} to {max_direct_size}, {max_heap_bits}-bit offsets and {root_rows} root rows; the file is damaged"
        ));
    }
    let log2 = |n: u64| u64::from(63 - n.leading_zeros());
    let limit_enc = |n: u64| crate::hdf5::bytes::encoded_size(n);
    Ok(Heap {
        id_length,
        filtered: filter_length > 0,
        checksummed_direct: flags & 0b10 != 0,
        width,
        start_size,
        max_direct_size,
        offset_bytes: max_heap_bits.div_ceil(8) as usize,
        length_bytes: (log2(max_direct_size).div_ceil(8) as usize)
            .min(limit_enc(max_managed))
            .max(1),
        root,
        root_rows,
        max_direct_rows: log2(max_direct_size) - log2(start_size) + 2,
    })
}

impl Heap {
    /// The bytes of the object a heap ID names.
    pub(crate) fn object<S: Source + ?Sized>(
        &self,
        ctx: &Context<'_, S>,
        id: &[u8],
    ) -> Parsed<Vec<u8>> {
        let Some(&first) = id.first() else {
            return invalid("an empty fractal heap ID");
        };
        if first >> 6 != 0 {
            return invalid(format!(
                "fractal heap ID version {}; HDF5 defines 0",
                first >> 6
            ));
        }
        match (first >> 4) & 0b11 {
            0 => {
                let mut c = Cursor::new(id, ctx.sizes(), "fractal heap ID");
                c.skip(1)?;
                let offset = c.uint(self.offset_bytes)?;
                let length = c.uint(self.length_bytes)?;
                self.managed(ctx, offset, length)
            }
            2 => {
                let (length, start) = if self.id_length > 18 {
                    (
                        ((usize::from(first & 0x0f) << 8) | usize::from(*id.get(1).unwrap_or(&0)))
                            + 1,
                        2,
                    )
                } else {
                    (usize::from(first & 0x0f) + 1, 1)
                };
                match id.get(start..start + length) {
                    Some(bytes) => Ok(bytes.to_vec()),
                    None => invalid("a tiny fractal heap object longer than its ID"),
                }
            }
            1 => unsupported(
                "a huge object in a fractal heap",
                "read the group with h5py",
            ),
            _ => invalid("fractal heap ID type 3"),
        }
    }

    fn row_size(&self, row: u64) -> u64 {
        if row == 0 {
            self.start_size
        } else {
            self.start_size << (row - 1).min(63)
        }
    }

    fn managed<S: Source + ?Sized>(
        &self,
        ctx: &Context<'_, S>,
        offset: u64,
        length: u64,
    ) -> Parsed<Vec<u8>> {
        if self.filtered {
            return unsupported(
                "a filtered fractal heap",
                "repack the file without filters on its groups (h5repack)",
            );
        }
        let Some(root) = self.root else {
            return invalid("a fractal heap ID names an object, but the heap is empty");
        };
        let (block, block_offset, block_size) = if self.root_rows == 0 {
            (root, 0, self.start_size)
        } else {
            self.find_direct(ctx, root, offset)?
        };
        let header = 4
            + 1
            + u64::from(ctx.sizes().offset)
            + self.offset_bytes as u64
            + if self.checksummed_direct { 4 } else { 0 };
        let prefix = ctx.read(block, 4, "fractal heap direct block")?;
        if prefix != b"FHDB" {
            return invalid("expected the signature \"FHDB\" of a fractal heap direct block; the address is damaged");
        }
        let within = offset - block_offset;
        if within < header
            || within
                .checked_add(length)
                .is_none_or(|end| end > block_size)
        {
            return invalid(format!(
                "a fractal heap object at {within} ({length} bytes) lies outside its {block_size}-byte direct block"
            ));
        }
        ctx.read(block + within, length, "fractal heap object")
    }

    /// The direct block holding heap offset `offset`: its address, its own
    /// heap offset and its size.
    fn find_direct<S: Source + ?Sized>(
        &self,
        ctx: &Context<'_, S>,
        root: u64,
        offset: u64,
    ) -> Parsed<(u64, u64, u64)> {
        let o = u64::from(ctx.sizes().offset);
        let mut block = root;
        let mut base = 0u64;
        let mut rows = self.root_rows;
        let mut seen = HashSet::new();
        loop {
            if !seen.insert(block) || seen.len() > 64 {
                return invalid(
                    "a fractal heap's indirect blocks form a cycle; the file is damaged",
                );
            }
            let direct_rows = rows.min(self.max_direct_rows);
            let entries = direct_rows * self.width + (rows - direct_rows) * self.width;
            let len = 4 + 1 + o + self.offset_bytes as u64 + entries * o + 4;
            let bytes = ctx.read(block, len, "fractal heap indirect block")?;
            verify_checksum(&bytes, "fractal heap indirect block")?;
            let mut c = Cursor::new(&bytes, ctx.sizes(), "fractal heap indirect block");
            c.signature(b"FHIB")?;
            c.skip(1 + usize::from(ctx.sizes().offset) + self.offset_bytes)?;
            let Some(relative) = offset.checked_sub(base) else {
                return invalid("a fractal heap offset before its block");
            };
            let first_rows = self.width * self.start_size;
            let row = if relative < first_rows {
                0
            } else {
                u64::from(63 - (relative / first_rows).leading_zeros()) + 1
            };
            if row >= rows {
                return invalid(format!(
                    "a fractal heap offset {offset} past the heap's {rows} rows"
                ));
            }
            let row_start = if row == 0 { 0 } else { first_rows << (row - 1) };
            let size = self.row_size(row);
            let column = (relative - row_start) / size;
            c.skip(((row * self.width + column) * o) as usize)?;
            let Some(child) = c.address()? else {
                return invalid(format!(
                    "the fractal heap block holding offset {offset} was never allocated"
                ));
            };
            let Some(child_base) = column
                .checked_mul(size)
                .and_then(|c| c.checked_add(row_start))
                .and_then(|c| c.checked_add(base))
            else {
                return invalid("a fractal heap offset that overflows");
            };
            if row < self.max_direct_rows {
                return Ok((child, child_base, size));
            }
            if size > self.max_direct_size.saturating_mul(1 << 40) {
                return invalid("a fractal heap indirect block too large");
            }
            block = child;
            base = child_base;
            rows = u64::from(63 - size.leading_zeros())
                - u64::from(63 - first_rows.leading_zeros())
                + 1;
        }
    }
}
