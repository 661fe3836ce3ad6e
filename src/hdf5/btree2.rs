//! Version-2 B-trees: the name index of a dense group (record type 5) and
//! the chunk index of a dataset with more than one unlimited dimension
//! (types 10 and 11).

use std::cmp::Ordering;
use std::collections::HashSet;

use crate::hdf5::bytes::{encoded_size, invalid, verify_checksum, Cursor, Parsed, Source};
use crate::hdf5::header::Context;

/// Depths beyond this are refused as hostile: a tree of 512-byte nodes
/// that deep would index more records than any file holds.
const MAX_DEPTH: u16 = 32;

/// A tree's header.
pub(crate) struct Tree {
    pub(crate) kind: u8,
    node_size: u64,
    pub(crate) record_size: usize,
    depth: u16,
    root: Option<u64>,
    root_records: u64,
    /// Per depth: bytes of a child's record count, and of its total.
    widths: Vec<(usize, usize)>,
}

pub(crate) fn open<S: Source + ?Sized>(ctx: &Context<'_, S>, address: u64) -> Parsed<Tree> {
    let o = u64::from(ctx.sizes().offset);
    let l = u64::from(ctx.sizes().length);
    let bytes = ctx.read(
        address,
        4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + o + 2 + l + 4,
        "version-2 B-tree header",
    )?;
    verify_checksum(&bytes, "version-2 B-tree header")?;
    let mut c = Cursor::new(&bytes, ctx.sizes(), "version-2 B-tree header");
    c.signature(b"BTHD")?;
    let _version = c.u8()?;
    let kind = c.u8()?;
    let node_size = u64::from(c.u32()?);
    let record_size = usize::from(c.u16()?);
    let depth = c.u16()?;
    c.skip(2)?;
    let root = c.address()?;
    let root_records = u64::from(c.u16()?);
    if depth > MAX_DEPTH || record_size == 0 || !(16..=1 << 24).contains(&node_size) {
        return invalid(format!(
            "a version-2 B-tree of depth {depth}, {node_size}-byte nodes and {record_size}-byte records; the file is damaged"
        ));
    }
    // libhdf5's H5B2__hdr_init: how many records each level can hold, and
    // so how many bytes its child pointers use for counts.
    let prefix = 10u64;
    let leaf_max = (node_size - prefix) / record_size as u64;
    let nrec_width = encoded_size(leaf_max);
    let mut widths = vec![(nrec_width, 0usize)];
    let mut cumulative = leaf_max;
    for level in 1..=usize::from(depth) {
        let pointer = o as usize + nrec_width + widths[level - 1].1;
        let max =
            (node_size.saturating_sub(prefix + pointer as u64)) / (record_size + pointer) as u64;
        cumulative = (max + 1).saturating_mul(cumulative).saturating_add(max);
        widths.push((nrec_width, encoded_size(cumulative)));
    }
    Ok(Tree {
        kind,
        node_size,
        record_size,
        depth,
        root,
        root_records,
        widths,
    })
}

impl Tree {
    /// Visits, in key order, every record for which `order` is `Equal`,
    /// descending only into children whose key range can hold such a
    /// record (`order` gives a record's key against the sought one). A
    /// constant `Equal` visits every record. `visit` returns `true` to stop.
    pub(crate) fn search<S: Source + ?Sized>(
        &self,
        ctx: &Context<'_, S>,
        order: &dyn Fn(&[u8]) -> Ordering,
        visit: &mut dyn FnMut(&[u8]) -> Parsed<bool>,
    ) -> Parsed<()> {
        let Some(root) = self.root else { return Ok(()) };
        let mut seen = HashSet::new();
        self.node(
            ctx,
            root,
            self.root_records,
            self.depth,
            order,
            visit,
            &mut seen,
        )
        .map(|_| ())
    }

    #[allow(clippy::too_many_arguments)]
    fn node<S: Source + ?Sized>(
        &self,
        ctx: &Context<'_, S>,
        address: u64,
        records: u64,
        depth: u16,
        order: &dyn Fn(&[u8]) -> Ordering,
        visit: &mut dyn FnMut(&[u8]) -> Parsed<bool>,
        seen: &mut HashSet<u64>,
    ) -> Parsed<bool> {
        if !seen.insert(address) {
            return invalid(format!("a version-2 B-tree reaches the node at {address} twice (a cycle); the file is damaged"));
        }
        let o = usize::from(ctx.sizes().offset);
        let (nrec_width, total_width) = self.widths[usize::from(depth)];
        let pointer = if depth > 0 {
            o + nrec_width + if depth > 1 { total_width } else { 0 }
        } else {
            0
        };
        let used = 6
            + records as usize * self.record_size
            + if depth > 0 {
                (records as usize + 1) * pointer
            } else {
                0
            };
        if used as u64 + 4 > self.node_size {
            return invalid(format!(
                "a version-2 B-tree node claims {records} records, more than its {}-byte node holds",
                self.node_size
            ));
        }
        let bytes = ctx.read(address, used as u64 + 4, "version-2 B-tree node")?;
        verify_checksum(&bytes, "version-2 B-tree node")?;
        let mut c = Cursor::new(&bytes, ctx.sizes(), "version-2 B-tree node");
        c.signature(if depth > 0 { b"BTIN" } else { b"BTLF" })?;
        c.skip(2)?;
        let mut list = Vec::with_capacity(records as usize);
        for _ in 0..records {
            list.push(c.take(self.record_size)?);
        }
        if depth == 0 {
            for record in list {
                if order(record) == Ordering::Equal && visit(record)? {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        let mut children = Vec::with_capacity(list.len() + 1);
        for _ in 0..=records {
            let Some(child) = c.address()? else {
                return invalid("a version-2 B-tree internal node with an undefined child");
            };
            let count = c.uint(nrec_width)?;
            if depth > 1 {
                c.skip(total_width)?;
            }
            children.push((child, count));
        }
        for (i, &(child, count)) in children.iter().enumerate() {
            let above_low = i == 0 || order(list[i - 1]) != Ordering::Greater;
            let below_high = i == list.len() || order(list[i]) != Ordering::Less;
            if above_low
                && below_high
                && self.node(ctx, child, count, depth - 1, order, visit, seen)?
            {
                return Ok(true);
            }
            if let Some(record) = list.get(i) {
                if order(record) == Ordering::Equal && visit(record)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}
