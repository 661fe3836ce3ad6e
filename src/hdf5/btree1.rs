//! Version-1 B-trees: a symbol-table group's index (type 0) and the chunk
//! index of datasets written with libhdf5's default format (type 1).

use std::collections::HashSet;

use crate::hdf5::bytes::{invalid, Cursor, Parsed, Source};
use crate::hdf5::header::Context;

/// Levels beyond this are refused as hostile.
const MAX_LEVEL: u8 = 64;

/// One node: its level, keys (raw) and children.
pub(crate) struct Node {
    pub(crate) level: u8,
    pub(crate) keys: Vec<Vec<u8>>,
    pub(crate) children: Vec<u64>,
}

/// Reads the node at `address`, of `kind` (0 groups, 1 chunks), whose keys
/// are `key_size` bytes.
pub(crate) fn node<S: Source + ?Sized>(
    ctx: &Context<'_, S>,
    address: u64,
    kind: u8,
    key_size: usize,
) -> Parsed<Node> {
    let o = usize::from(ctx.sizes().offset);
    let head = ctx.read(address, (8 + 2 * o) as u64, "version-1 B-tree node")?;
    let mut c = Cursor::new(&head, ctx.sizes(), "version-1 B-tree node");
    c.signature(b"TREE")?;
    let found = c.u8()?;
    let level = c.u8()?;
    let entries = usize::from(c.u16()?);
    if found != kind || level > MAX_LEVEL {
        return invalid(format!(
            "expected a version-1 B-tree node of type {kind}, found type {found} at level {level}; the file is damaged"
        ));
    }
    let body_len = entries * (key_size + o) + key_size;
    let body = ctx.read(
        address + (8 + 2 * o) as u64,
        body_len as u64,
        "version-1 B-tree node",
    )?;
    let mut c = Cursor::new(&body, ctx.sizes(), "version-1 B-tree node");
    let mut keys = Vec::with_capacity(entries + 1);
    let mut children = Vec::with_capacity(entries);
    for _ in 0..entries {
        keys.push(c.take(key_size)?.to_vec());
        match c.address()? {
            Some(child) => children.push(child),
            None => return invalid("a version-1 B-tree node with an undefined child"),
        }
    }
    keys.push(c.take(key_size)?.to_vec());
    Ok(Node {
        level,
        keys,
        children,
    })
}

/// Visits every leaf entry of the tree at `root`, left to right: its key
/// before it, and its child address. Cycles and level inversions are errors.
pub(crate) fn walk<S: Source + ?Sized>(
    ctx: &Context<'_, S>,
    root: u64,
    kind: u8,
    key_size: usize,
    visit: &mut dyn FnMut(&[u8], u64) -> Parsed<()>,
) -> Parsed<()> {
    let mut seen = HashSet::new();
    walk_node(ctx, root, kind, key_size, None, visit, &mut seen)
}

fn walk_node<S: Source + ?Sized>(
    ctx: &Context<'_, S>,
    address: u64,
    kind: u8,
    key_size: usize,
    parent_level: Option<u8>,
    visit: &mut dyn FnMut(&[u8], u64) -> Parsed<()>,
    seen: &mut HashSet<u64>,
) -> Parsed<()> {
    if !seen.insert(address) {
        return invalid(format!(
            "a version-1 B-tree reaches the node at {address} twice (a cycle); the file is damaged"
        ));
    }
    let node = node(ctx, address, kind, key_size)?;
    if let Some(parent) = parent_level {
        if node.level + 1 != parent {
            return invalid(format!(
                "a version-1 B-tree node at level {} under one at level {parent}; the file is damaged",
                node.level
            ));
        }
    }
    for (i, &child) in node.children.iter().enumerate() {
        if node.level == 0 {
            visit(&node.keys[i], child)?;
        } else {
            walk_node(ctx, child, kind, key_size, Some(node.level), visit, seen)?;
        }
    }
    Ok(())
}
