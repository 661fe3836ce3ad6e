//! The resolver: from a path in the file to what a dataset is and where its
//! elements are. Pure: it reads through a [`Source`] (a byte slice, or the
//! file by positioned reads) and never maps anything, so the fuzz target
//! runs it over arbitrary bytes.

use std::collections::HashSet;

use crate::hdf5::bytes::{invalid, unsupported, Fault, Parsed, Source};
use crate::hdf5::datatype::{self, Datatype};
use crate::hdf5::group;
use crate::hdf5::header::{kind, Context, Message};
use crate::hdf5::messages::{self, Filter, Layout, Target};
use crate::hdf5::superblock;

/// Soft links followed in one lookup before it is called a cycle (libhdf5's
/// own limit is 16).
const MAX_SOFT_LINKS: usize = 16;

/// What the metadata says about a dataset.
#[derive(Clone, Debug)]
pub(crate) struct Description {
    /// `None` for the null dataspace.
    pub(crate) shape: Option<Vec<u64>>,
    /// `u64::MAX` for an unlimited axis; the shape when none is stored.
    pub(crate) max_shape: Vec<u64>,
    pub(crate) dtype: Parsed<Datatype>,
    pub(crate) layout: Layout,
    /// The compact layout's bytes.
    pub(crate) compact: Option<Vec<u8>>,
    pub(crate) fill: Option<Vec<u8>>,
    pub(crate) filters: Vec<Filter>,
    pub(crate) external: bool,
}

/// An open file's metadata.
pub(crate) struct Resolver<'s, S: Source + ?Sized> {
    pub(crate) ctx: Context<'s, S>,
}

impl<'s, S: Source + ?Sized> Resolver<'s, S> {
    pub(crate) fn new(source: &'s S) -> Parsed<Self> {
        let superblock = superblock::find(source)?;
        Ok(Resolver {
            ctx: Context { source, superblock },
        })
    }

    /// The object header address at `path`, soft links followed.
    pub(crate) fn locate(&self, path: &str) -> Parsed<u64> {
        let mut hops = 0;
        self.locate_from(path, &mut hops)
    }

    fn locate_from(&self, path: &str, hops: &mut usize) -> Parsed<u64> {
        let mut current = self.ctx.superblock.root;
        let mut walked: Vec<&str> = Vec::new();
        for name in path.split('/').filter(|n| !n.is_empty() && *n != ".") {
            let here = format!("/{}", walked.join("/"));
            let storage = self.group_storage(current)?.ok_or_else(|| {
                Fault::NotFound(format!(
                    "{here} is not a group, so it has no member {name:?}"
                ))
            })?;
            let target = group::lookup(&self.ctx, &storage, name)?.ok_or_else(|| {
                Fault::NotFound(format!("the group {here} has no member {name:?}"))
            })?;
            current = match target {
                Target::Hard(at) => at,
                Target::Soft(to) => {
                    *hops += 1;
                    if *hops > MAX_SOFT_LINKS {
                        return invalid(format!(
                            "more than {MAX_SOFT_LINKS} soft links followed resolving {path:?} (a cycle of soft links?)"
                        ));
                    }
                    let absolute = if to.starts_with('/') {
                        to
                    } else {
                        format!("{here}/{to}")
                    };
                    self.locate_from(&absolute, hops)?
                }
                Target::External(file, object) => {
                    return unsupported(
                        format!(
                            "an external link ({name:?} points to {object:?} in the file {file:?})"
                        ),
                        format!("open {file:?} itself and map {object:?} there"),
                    )
                }
            };
            walked.push(name);
        }
        Ok(current)
    }

    fn group_storage(&self, address: u64) -> Parsed<Option<group::Storage>> {
        let messages = self.ctx.header(address)?;
        let root_cache = if address == self.ctx.superblock.root {
            self.ctx.superblock.root_cache
        } else {
            None
        };
        group::storage(&messages, self.ctx.sizes(), root_cache)
    }

    /// The dataset at `path`.
    pub(crate) fn dataset(&self, path: &str) -> Parsed<Description> {
        let address = self.locate(path)?;
        let messages = self.ctx.header(address)?;
        self.describe(&messages)?.ok_or_else(|| {
            Fault::NotFound(format!(
                "{path} is not a dataset (a group or a named datatype)"
            ))
        })
    }

    /// The description of a header's dataset, or `None` if it is not one.
    fn describe(&self, messages: &[Message]) -> Parsed<Option<Description>> {
        let sizes = self.ctx.sizes();
        let mut space = None;
        let mut dtype = None;
        let mut layout = None;
        let mut fill = None;
        let mut fill_old = None;
        let mut filters = Vec::new();
        let mut external = false;
        for message in messages {
            let data = &message.data;
            match message.kind {
                kind::DATASPACE => {
                    space = Some(messages::dataspace(
                        &self.shared(message, kind::DATASPACE)?,
                        sizes,
                    )?)
                }
                kind::DATATYPE => {
                    dtype = Some(
                        self.shared(message, kind::DATATYPE)
                            .and_then(|d| datatype::parse(&d, sizes)),
                    )
                }
                kind::LAYOUT => layout = Some((messages::layout(data, sizes)?, data.clone())),
                kind::FILL => {
                    fill = Some(messages::fill(&self.shared(message, kind::FILL)?, sizes)?)
                }
                kind::FILL_OLD => fill_old = Some(messages::fill_old(data, sizes)?),
                kind::FILTERS => {
                    filters = messages::filters(&self.shared(message, kind::FILTERS)?, sizes)?
                }
                kind::EXTERNAL => external = true,
                _ => {}
            }
        }
        let Some((layout, raw_layout)) = layout else {
            return Ok(None);
        };
        let Some(space) = space else {
            return invalid("a dataset without a dataspace message");
        };
        let Some(dtype) = dtype else {
            return invalid("a dataset without a datatype message");
        };
        // A damaged datatype is damage; an unsupported one is a refusal kept for later.
        let dtype = match dtype {
            Err(Fault::Unsupported { feature, remedy }) => {
                Err(Fault::Unsupported { feature, remedy })
            }
            other => Ok(other?),
        };
        let compact = match layout {
            Layout::Compact { size } => compact_bytes(&raw_layout, size),
            _ => None,
        };
        let shape = space.shape;
        let max_shape = match (&space.max_shape, &shape) {
            (Some(max), _) => max.clone(),
            (None, Some(shape)) => shape.clone(),
            (None, None) => Vec::new(),
        };
        if let (
            Layout::Chunked {
                chunk,
                element_size,
                ..
            },
            Some(shape),
            Ok(dtype),
        ) = (&layout, &shape, &dtype)
        {
            if chunk.len() != shape.len() {
                return invalid(format!(
                    "chunks of rank {} for a dataset of rank {}",
                    chunk.len(),
                    shape.len()
                ));
            }
            if *element_size != dtype.size() as u64 {
                return invalid(format!(
                    "the chunk layout gives {element_size}-byte elements, the datatype {} bytes",
                    dtype.size()
                ));
            }
        }
        let fill = fill.or(fill_old).and_then(|f| f.value);
        Ok(Some(Description {
            shape,
            max_shape,
            dtype,
            layout,
            compact,
            fill,
            filters,
            external,
        }))
    }

    /// A message's own bytes: itself, or the message it shares from a
    /// committed datatype's header.
    fn shared(&self, message: &Message, kind: u16) -> Parsed<Vec<u8>> {
        if !message.is_shared() {
            return Ok(message.data.clone());
        }
        let at = messages::shared(&message.data, self.ctx.sizes())?;
        let target = self.ctx.header(at)?;
        match target.into_iter().find(|m| m.kind == kind) {
            Some(m) if !m.is_shared() => Ok(m.data),
            Some(_) => invalid("a shared message that points to another shared message"),
            None => invalid(format!("a shared message points to the header at {at}, which has no message of type {kind}")),
        }
    }

    /// Every dataset reachable from the root by hard links, with its path,
    /// in the order the groups store their links; soft and external links
    /// are not followed. A dataset that cannot be described is listed with
    /// its error.
    pub(crate) fn datasets(&self) -> Parsed<Vec<(String, Parsed<Description>)>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        // Depth first, in name order, without recursion: a file may nest
        // groups as deep as it likes; `seen` ends cycles of hard links.
        let mut stack = vec![(self.ctx.superblock.root, String::new())];
        while let Some((address, path)) = stack.pop() {
            if !seen.insert(address) {
                continue;
            }
            let messages = self.ctx.header(address)?;
            let root_cache = if address == self.ctx.superblock.root {
                self.ctx.superblock.root_cache
            } else {
                None
            };
            if let Some(storage) = group::storage(&messages, self.ctx.sizes(), root_cache)? {
                let mut members = group::members(&self.ctx, &storage)?;
                members.sort_by(|a, b| b.0.cmp(&a.0));
                for (name, target) in members {
                    if let Target::Hard(at) = target {
                        stack.push((at, format!("{path}/{name}")));
                    }
                }
                continue;
            }
            match self.describe(&messages) {
                Ok(Some(description)) => out.push((path, Ok(description))),
                Ok(None) => {}
                Err(err) => out.push((path, Err(err))),
            }
        }
        Ok(out)
    }
}

/// The compact layout's data: after the version, class and size fields.
fn compact_bytes(raw: &[u8], size: u64) -> Option<Vec<u8>> {
    let start = if raw.first().copied().unwrap_or(0) >= 3 {
        4
    } else {
        return None;
    };
    raw.get(start..start + size as usize).map(<[u8]>::to_vec)
}
