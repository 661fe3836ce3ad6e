//! Groups in their three storage forms: a symbol table (version-1 B-tree,
//! symbol-table nodes, local heap), link messages in the header (compact),
//! and dense links (fractal heap with a version-2 B-tree name index).

use std::cmp::Ordering;

use crate::hdf5::bytes::{invalid, Cursor, Parsed, Source};
use crate::hdf5::header::{kind, Context, Message};
use crate::hdf5::messages::{self, Target};
use crate::hdf5::{btree1, btree2, fractal_heap, lookup3};

/// How a group stores its links.
pub(crate) enum Storage {
    SymbolTable { btree: u64, heap: u64 },
    Compact(Vec<(String, Target)>),
    Dense { heap: u64, names: u64 },
}

/// The group's storage, from its header's messages; `None` if the header
/// is not a group's. `root_cache` is the superblock's copy for the root.
pub(crate) fn storage(
    messages: &[Message],
    sizes: crate::hdf5::bytes::Sizes,
    root_cache: Option<(u64, u64)>,
) -> Parsed<Option<Storage>> {
    let mut links = Vec::new();
    let mut dense = None;
    let mut is_new_style = false;
    for message in messages {
        match message.kind {
            kind::SYMBOL_TABLE => {
                let (btree, heap) = messages::symbol_table(&message.data, sizes)?;
                return Ok(Some(Storage::SymbolTable { btree, heap }));
            }
            kind::LINK_INFO => {
                is_new_style = true;
                dense = messages::link_info(&message.data, sizes)?;
            }
            kind::LINK => links.push(messages::link(&message.data, sizes)?),
            _ => {}
        }
    }
    if let Some((heap, names)) = dense {
        return Ok(Some(Storage::Dense { heap, names }));
    }
    if is_new_style || !links.is_empty() {
        return Ok(Some(Storage::Compact(links)));
    }
    Ok(root_cache.map(|(btree, heap)| Storage::SymbolTable { btree, heap }))
}

/// The link named `name`, if the group has one.
pub(crate) fn lookup<S: Source + ?Sized>(
    ctx: &Context<'_, S>,
    storage: &Storage,
    name: &str,
) -> Parsed<Option<Target>> {
    match storage {
        Storage::Compact(links) => Ok(links
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())),
        Storage::SymbolTable { .. } => Ok(members(ctx, storage)?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)),
        Storage::Dense { heap, names } => {
            let heap = fractal_heap::open(ctx, *heap)?;
            let tree = btree2::open(ctx, *names)?;
            if tree.kind != 5 || tree.record_size < 5 {
                return invalid(format!(
                    "a dense group's name index is a version-2 B-tree of type {}; expected type 5",
                    tree.kind
                ));
            }
            let hash = lookup3::hash(name.as_bytes(), 0);
            let order = |record: &[u8]| {
                u32::from_le_bytes([record[0], record[1], record[2], record[3]]).cmp(&hash)
            };
            let mut found = None;
            tree.search(ctx, &order, &mut |record| {
                let link = heap.object(ctx, &record[4..])?;
                let (link_name, target) = messages::link(&link, ctx.sizes())?;
                if link_name == name {
                    found = Some(target);
                    return Ok(true);
                }
                Ok(false)
            })?;
            Ok(found)
        }
    }
}

/// Every link of the group, in the order the group stores them (names in
/// byte order for symbol tables, by hash for dense groups).
pub(crate) fn members<S: Source + ?Sized>(
    ctx: &Context<'_, S>,
    storage: &Storage,
) -> Parsed<Vec<(String, Target)>> {
    match storage {
        Storage::Compact(links) => Ok(links.clone()),
        Storage::SymbolTable { btree, heap } => {
            let names = local_heap(ctx, *heap)?;
            let o = usize::from(ctx.sizes().offset);
            let l = usize::from(ctx.sizes().length);
            let mut out = Vec::new();
            btree1::walk(ctx, *btree, 0, l, &mut |_key, snod| {
                let head = ctx.read(snod, 8, "symbol table node")?;
                let mut c = Cursor::new(&head, ctx.sizes(), "symbol table node");
                c.signature(b"SNOD")?;
                c.skip(2)?;
                let count = usize::from(c.u16()?);
                let entry = 2 * o + 24;
                let body = ctx.read(snod + 8, (count * entry) as u64, "symbol table node")?;
                let mut c = Cursor::new(&body, ctx.sizes(), "symbol table node");
                for _ in 0..count {
                    let name_at = c.length()? as usize;
                    let header = c.address()?;
                    let cache = c.u32()?;
                    c.skip(4)?;
                    let scratch = c.take(16)?;
                    let name = heap_string(&names, name_at)?;
                    let target = if cache == 2 {
                        let at =
                            u32::from_le_bytes([scratch[0], scratch[1], scratch[2], scratch[3]])
                                as usize;
                        Target::Soft(heap_string(&names, at)?)
                    } else {
                        match header {
                            Some(at) => Target::Hard(at),
                            None => {
                                return invalid(format!(
                                    "the group member {name:?} has no object header"
                                ))
                            }
                        }
                    };
                    out.push((name, target));
                }
                Ok(())
            })?;
            Ok(out)
        }
        Storage::Dense { heap, names } => {
            let heap = fractal_heap::open(ctx, *heap)?;
            let tree = btree2::open(ctx, *names)?;
            if tree.kind != 5 && tree.kind != 6 {
                return invalid(format!(
                    "a dense group's name index is a version-2 B-tree of type {}; expected type 5",
                    tree.kind
                ));
            }
            let skip = if tree.kind == 5 { 4 } else { 8 };
            if tree.record_size <= skip {
                return invalid("a dense group's name index has records too short for a heap ID");
            }
            let mut out = Vec::new();
            tree.search(ctx, &|_| Ordering::Equal, &mut |record| {
                let link = heap.object(ctx, &record[skip..])?;
                out.push(messages::link(&link, ctx.sizes())?);
                Ok(false)
            })?;
            Ok(out)
        }
    }
}

/// A local heap's data segment.
fn local_heap<S: Source + ?Sized>(ctx: &Context<'_, S>, address: u64) -> Parsed<Vec<u8>> {
    let o = u64::from(ctx.sizes().offset);
    let l = u64::from(ctx.sizes().length);
    let head = ctx.read(address, 8 + 2 * l + o, "local heap")?;
    let mut c = Cursor::new(&head, ctx.sizes(), "local heap");
    c.signature(b"HEAP")?;
    c.skip(4)?;
    let size = c.length()?;
    c.length()?;
    let Some(data) = c.address()? else {
        return invalid("a local heap without its data segment");
    };
    ctx.read(data, size, "local heap data segment")
}

fn heap_string(heap: &[u8], at: usize) -> Parsed<String> {
    let Some(rest) = heap.get(at..) else {
        return invalid(format!(
            "a name at byte {at} of a {}-byte local heap",
            heap.len()
        ));
    };
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
}
