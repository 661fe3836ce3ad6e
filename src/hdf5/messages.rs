//! The messages a dataset or group is described by: dataspace, fill value,
//! data layout, filter pipeline, links and link info. Pure: bytes in,
//! values out.

use crate::hdf5::bytes::{invalid, unsupported, Cursor, Parsed, Sizes};

/// HDF5's limit on a dataspace's rank.
pub(crate) const MAX_RANK: usize = 32;

/// A dataspace: `None` for the null dataspace (no elements, no shape).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dataspace {
    pub(crate) shape: Option<Vec<u64>>,
    pub(crate) max_shape: Option<Vec<u64>>,
}

pub(crate) fn dataspace(data: &[u8], sizes: Sizes) -> Parsed<Dataspace> {
    let mut c = Cursor::new(data, sizes, "dataspace message");
    let version = c.u8()?;
    let rank = usize::from(c.u8()?);
    let flags = c.u8()?;
    if rank > MAX_RANK {
        return invalid(format!(
            "a dataspace of rank {rank}; HDF5 allows at most {MAX_RANK}"
        ));
    }
    let null = match version {
        1 => {
            c.skip(5)?;
            false
        }
        2 => c.u8()? == 2,
        _ => {
            return unsupported(
                format!("dataspace message version {version}"),
                "this crate reads versions 1 and 2",
            )
        }
    };
    let shape = (0..rank).map(|_| c.length()).collect::<Parsed<Vec<_>>>()?;
    let max_shape = if flags & 1 != 0 {
        Some((0..rank).map(|_| c.length()).collect::<Parsed<Vec<_>>>()?)
    } else {
        None
    };
    Ok(Dataspace {
        shape: (!null).then_some(shape),
        max_shape,
    })
}

/// When storage is allocated, and whether and how a fill value is defined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fill {
    /// The fill value's bytes; `None` when undefined (libhdf5 then fills with zeros).
    pub(crate) value: Option<Vec<u8>>,
}

/// The old fill value message (0x0004): a size and the bytes.
pub(crate) fn fill_old(data: &[u8], sizes: Sizes) -> Parsed<Fill> {
    let mut c = Cursor::new(data, sizes, "fill value message");
    let size = c.u32()? as usize;
    let value = c.take(size)?.to_vec();
    Ok(Fill {
        value: (size > 0).then_some(value),
    })
}

/// The fill value message (0x0005), versions 1 to 3.
pub(crate) fn fill(data: &[u8], sizes: Sizes) -> Parsed<Fill> {
    let mut c = Cursor::new(data, sizes, "fill value message");
    let version = c.u8()?;
    let defined = match version {
        1 | 2 => {
            c.skip(2)?; // allocation time, fill write time
            let defined = c.u8()? != 0;
            if version == 1 || defined {
                let size = c.u32()? as usize;
                let value = c.take(size)?.to_vec();
                return Ok(Fill {
                    value: (defined && size > 0).then_some(value),
                });
            }
            false
        }
        3 => {
            let flags = c.u8()?;
            if flags & 0b10_0000 != 0 {
                let size = c.u32()? as usize;
                let value = c.take(size)?.to_vec();
                return Ok(Fill {
                    value: (size > 0).then_some(value),
                });
            }
            false
        }
        _ => {
            return unsupported(
                format!("fill value message version {version}"),
                "this crate reads versions 1 to 3",
            )
        }
    };
    let _ = defined;
    Ok(Fill { value: None })
}

/// How a chunked dataset finds its chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ChunkIndex {
    /// A version-1 B-tree (layout versions 1 to 3, and libver up to v108).
    BTreeV1,
    /// One chunk, at the layout's address; filtered: its size and mask.
    Single { filtered: Option<(u64, u32)> },
    /// Chunks back to back from the address, in C order of the grid.
    Implicit,
    /// A fixed array; pages of `2^page_bits` entries.
    FixedArray { page_bits: u8 },
    /// An extensible array (one unlimited dimension).
    ExtensibleArray,
    /// A version-2 B-tree (more than one unlimited dimension).
    BTreeV2,
}

impl ChunkIndex {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ChunkIndex::BTreeV1 => "version-1 B-tree",
            ChunkIndex::Single { .. } => "single chunk",
            ChunkIndex::Implicit => "implicit",
            ChunkIndex::FixedArray { .. } => "fixed array",
            ChunkIndex::ExtensibleArray => "extensible array",
            ChunkIndex::BTreeV2 => "version-2 B-tree",
        }
    }
}

/// The data layout message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Data in the object header.
    Compact { size: u64 },
    /// One block; `None` if not allocated.
    Contiguous { address: Option<u64>, size: u64 },
    /// Chunks of `chunk` elements (without the element-size axis); the
    /// index's address, `None` when no chunk is allocated.
    Chunked {
        chunk: Vec<u64>,
        element_size: u64,
        index: ChunkIndex,
        address: Option<u64>,
    },
    /// A virtual dataset.
    Virtual,
}

pub(crate) fn layout(data: &[u8], sizes: Sizes) -> Parsed<Layout> {
    let mut c = Cursor::new(data, sizes, "data layout message");
    let version = c.u8()?;
    match version {
        1 | 2 => {
            let rank = usize::from(c.u8()?);
            let class = c.u8()?;
            c.skip(5)?;
            if rank > MAX_RANK + 1 {
                return invalid(format!("a data layout of rank {rank}"));
            }
            let address = if class != 0 { c.address()? } else { None };
            let dims = (0..rank)
                .map(|_| c.u32().map(u64::from))
                .collect::<Parsed<Vec<_>>>()?;
            match class {
                0 => Ok(Layout::Compact {
                    size: u64::from(c.u32()?),
                }),
                1 => {
                    let size = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
                    let Some(size) = size else {
                        return invalid("a contiguous layout whose size overflows");
                    };
                    Ok(Layout::Contiguous { address, size })
                }
                2 => chunked_dims(dims, ChunkIndex::BTreeV1, address),
                _ => invalid(format!("data layout class {class}")),
            }
        }
        3..=5 => {
            let class = c.u8()?;
            match class {
                0 => Ok(Layout::Compact {
                    size: u64::from(c.u16()?),
                }),
                1 => {
                    let address = c.address()?;
                    Ok(Layout::Contiguous {
                        address,
                        size: c.length()?,
                    })
                }
                2 if version == 3 => {
                    let rank = usize::from(c.u8()?);
                    if rank > MAX_RANK + 1 {
                        return invalid(format!(
                            "a chunked layout of rank {rank}; HDF5 allows at most {}",
                            MAX_RANK + 1
                        ));
                    }
                    let address = c.address()?;
                    let dims = (0..rank)
                        .map(|_| c.u32().map(u64::from))
                        .collect::<Parsed<Vec<_>>>()?;
                    chunked_dims(dims, ChunkIndex::BTreeV1, address)
                }
                2 => {
                    let flags = c.u8()?;
                    let rank = usize::from(c.u8()?);
                    if rank > MAX_RANK + 1 {
                        return invalid(format!(
                            "a chunked layout of rank {rank}; HDF5 allows at most {}",
                            MAX_RANK + 1
                        ));
                    }
                    let width = usize::from(c.u8()?);
                    if !(1..=8).contains(&width) {
                        return invalid(format!(
                            "chunk dimensions encoded in {width} bytes; 1 to 8 are valid"
                        ));
                    }
                    let dims = (0..rank)
                        .map(|_| c.uint(width))
                        .collect::<Parsed<Vec<_>>>()?;
                    let index = match c.u8()? {
                        1 => {
                            let filtered = if flags & 0b10 != 0 {
                                Some((c.length()?, c.u32()?))
                            } else {
                                None
                            };
                            ChunkIndex::Single { filtered }
                        }
                        2 => ChunkIndex::Implicit,
                        3 => ChunkIndex::FixedArray { page_bits: c.u8()? },
                        4 => {
                            c.skip(5)?; // the array's creation parameters; the header repeats them
                            ChunkIndex::ExtensibleArray
                        }
                        5 => {
                            c.skip(6)?; // node size, split and merge percentages; the header repeats them
                            ChunkIndex::BTreeV2
                        }
                        other => {
                            return invalid(format!(
                                "chunk index type {other}; HDF5 defines 1 to 5"
                            ))
                        }
                    };
                    let address = c.address()?;
                    chunked_dims(dims, index, address)
                }
                3 => Ok(Layout::Virtual),
                _ => invalid(format!("data layout class {class}; HDF5 defines 0 to 3")),
            }
        }
        _ => unsupported(
            format!("data layout message version {version}"),
            "this crate reads versions 1 to 5",
        ),
    }
}

fn chunked_dims(mut dims: Vec<u64>, index: ChunkIndex, address: Option<u64>) -> Parsed<Layout> {
    let Some(element_size) = dims.pop() else {
        return invalid("a chunked layout without dimensions");
    };
    if dims.contains(&0) {
        return invalid(format!("a chunk shape {dims:?} with a zero length"));
    }
    Ok(Layout::Chunked {
        chunk: dims,
        element_size,
        index,
        address,
    })
}

/// A filter of the pipeline: its id and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) id: u16,
    pub(crate) name: String,
}

impl Filter {
    /// The filter's usual name, and the library that decodes it.
    pub(crate) fn describe(&self) -> String {
        let known = match self.id {
            1 => "gzip (deflate)",
            2 => "shuffle",
            3 => "fletcher32",
            4 => "szip",
            5 => "nbit",
            6 => "scaleoffset",
            32000 => "lzf",
            32001 => "blosc",
            32004 => "lz4",
            32008 => "bitshuffle",
            32015 => "zstd",
            _ => "",
        };
        match (known, self.name.as_str()) {
            ("", "") => format!("filter {}", self.id),
            ("", name) => format!("{name} (filter {})", self.id),
            (known, _) => format!("{known} (filter {})", self.id),
        }
    }
}

pub(crate) fn filters(data: &[u8], sizes: Sizes) -> Parsed<Vec<Filter>> {
    let mut c = Cursor::new(data, sizes, "filter pipeline message");
    let version = c.u8()?;
    let count = usize::from(c.u8()?);
    if version == 1 {
        c.skip(6)?;
    }
    let mut out = Vec::new();
    for _ in 0..count {
        let id = c.u16()?;
        let name_len = if version == 1 || id >= 256 {
            usize::from(c.u16()?)
        } else {
            0
        };
        let _flags = c.u16()?;
        let values = usize::from(c.u16()?);
        let name = if name_len > 0 {
            let raw = c.take(if version == 1 {
                name_len.div_ceil(8) * 8
            } else {
                name_len
            })?;
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            String::from_utf8_lossy(&raw[..end]).into_owned()
        } else {
            String::new()
        };
        c.skip(4 * values)?;
        if version == 1 && values % 2 == 1 {
            c.skip(4)?;
        }
        out.push(Filter { id, name });
    }
    Ok(out)
}

/// Where a link points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// An object header in this file.
    Hard(u64),
    /// A path to resolve in this file.
    Soft(String),
    /// An object in another file: its file and path.
    External(String, String),
}

/// A link message (0x0006): the member's name and target.
pub(crate) fn link(data: &[u8], sizes: Sizes) -> Parsed<(String, Target)> {
    let mut c = Cursor::new(data, sizes, "link message");
    let version = c.u8()?;
    if version != 1 {
        return unsupported(
            format!("link message version {version}"),
            "this crate reads version 1",
        );
    }
    let flags = c.u8()?;
    let kind = if flags & 0b1000 != 0 { c.u8()? } else { 0 };
    if flags & 0b100 != 0 {
        c.skip(8)?;
    }
    if flags & 0b1_0000 != 0 {
        c.skip(1)?;
    }
    let name_len = c.uint(1 << (flags & 0b11))? as usize;
    let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
    let target = match kind {
        0 => match c.address()? {
            Some(at) => Target::Hard(at),
            None => return invalid(format!("the hard link {name:?} has no address")),
        },
        1 => {
            let len = usize::from(c.u16()?);
            Target::Soft(String::from_utf8_lossy(c.take(len)?).into_owned())
        }
        64 => {
            let len = usize::from(c.u16()?);
            let raw = c.take(len)?;
            // A version/flags byte, then the file's name and the object's path, NUL-terminated.
            let parts: Vec<String> = raw
                .get(1..)
                .unwrap_or_default()
                .split(|&b| b == 0)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            Target::External(
                parts.first().cloned().unwrap_or_default(),
                parts.get(1).cloned().unwrap_or_default(),
            )
        }
        other => {
            return unsupported(
                format!("user-defined link type {other}"),
                "resolve the link with h5py",
            )
        }
    };
    Ok((name, target))
}

/// The link info message (0x0002): the dense storage of a group's links,
/// if any (fractal heap, name-index B-tree).
pub(crate) fn link_info(data: &[u8], sizes: Sizes) -> Parsed<Option<(u64, u64)>> {
    let mut c = Cursor::new(data, sizes, "link info message");
    let _version = c.u8()?;
    let flags = c.u8()?;
    if flags & 1 != 0 {
        c.skip(8)?;
    }
    let heap = c.address()?;
    let names = c.address()?;
    Ok(heap.zip(names))
}

/// The symbol table message (0x0011): the group's B-tree and local heap.
pub(crate) fn symbol_table(data: &[u8], sizes: Sizes) -> Parsed<(u64, u64)> {
    let mut c = Cursor::new(data, sizes, "symbol table message");
    match (c.address()?, c.address()?) {
        (Some(btree), Some(heap)) => Ok((btree, heap)),
        _ => invalid("a symbol table message without its B-tree or heap"),
    }
}

/// A shared message's target: the object header that holds the message.
pub(crate) fn shared(data: &[u8], sizes: Sizes) -> Parsed<u64> {
    let mut c = Cursor::new(data, sizes, "shared message");
    let version = c.u8()?;
    let kind = c.u8()?;
    match version {
        1 => c.skip(6)?,
        2 | 3 => {}
        _ => return invalid(format!("shared message version {version}")),
    }
    if version == 3 && kind == 1 {
        return unsupported(
            "a message in the shared-message heap",
            "repack the file without shared messages (h5repack), or read it with h5py",
        );
    }
    match c.address()? {
        Some(at) => Ok(at),
        None => invalid("a shared message without an address"),
    }
}
