//! The superblock: where the file's metadata starts, its sizes of offsets
//! and lengths, the base address every stored address is relative to, and
//! whether a writer has the file open.

use crate::hdf5::bytes::{
    invalid, read, unsupported, verify_checksum, Cursor, Parsed, Sizes, Source,
};

/// The eight bytes every HDF5 superblock starts with.
pub(crate) const SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', 0x0d, 0x0a, 0x1a, 0x0a];

/// What the resolver needs from the superblock.
#[derive(Clone, Debug)]
pub(crate) struct Superblock {
    pub(crate) version: u8,
    /// Where the superblock is: the userblock's size.
    pub(crate) position: u64,
    /// The absolute address that stored addresses are relative to.
    pub(crate) base: u64,
    pub(crate) sizes: Sizes,
    /// The file-consistency flags: nonzero while a writer has the file open
    /// (bit 0), or a SWMR writer (bit 2); a crashed writer leaves them set.
    pub(crate) flags: u32,
    /// The root group's object header (relative).
    pub(crate) root: u64,
    /// The root group's symbol-table scratch pad (B-tree, local heap), for
    /// version 0 and 1 superblocks whose root header may omit it.
    pub(crate) root_cache: Option<(u64, u64)>,
    /// The superblock extension's object header (versions 2 and 3).
    pub(crate) extension: Option<u64>,
}

impl Superblock {
    /// Whether a writer holds the file open, by the flags.
    pub(crate) fn writer_active(&self) -> bool {
        self.flags & 0b101 != 0
    }
}

/// Finds and parses the superblock: at byte 0, or at 512, 1024, 2048, ...
/// after a userblock.
pub(crate) fn find<S: Source + ?Sized>(source: &S) -> Parsed<Superblock> {
    let mut at = 0u64;
    loop {
        if at.saturating_add(8) > source.len() {
            return invalid(format!(
                "no HDF5 signature (89 48 44 46 0d 0a 1a 0a) at byte 0 or at any power of two from 512 up to the file's end ({} bytes): not an HDF5 file",
                source.len()
            ));
        }
        if read(source, at, 8, "signature")? == SIGNATURE {
            return parse(source, at);
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
}

fn parse<S: Source + ?Sized>(source: &S, position: u64) -> Parsed<Superblock> {
    let head = read(
        source,
        position,
        16.min(source.len() - position),
        "superblock",
    )?;
    let version = *head.get(8).unwrap_or(&u8::MAX);
    match version {
        0 | 1 => parse_v0(source, position, version),
        2 | 3 => parse_v2(source, position, version),
        _ => unsupported(
            format!("superblock version {version}"),
            "this crate reads versions 0 to 3, which every libhdf5 up to 2.0 writes; repack the file with h5repack",
        ),
    }
}

fn check_sizes(offset: u8, length: u8) -> Parsed<Sizes> {
    if ![2, 4, 8].contains(&offset) || ![2, 4, 8].contains(&length) {
        return invalid(format!(
            "the superblock gives {offset}-byte offsets and {length}-byte lengths; HDF5 uses 2, 4 or 8 (libhdf5 writes 8)"
        ));
    }
    Ok(Sizes { offset, length })
}

fn parse_v0<S: Source + ?Sized>(source: &S, position: u64, version: u8) -> Parsed<Superblock> {
    let fixed = read(source, position, 24, "superblock")?;
    let sizes = check_sizes(fixed[13], fixed[14])?;
    let o = u64::from(sizes.offset);
    // v1 adds the indexed-storage K and two reserved bytes.
    let extra = if version == 1 { 4 } else { 0 };
    let variable = 4 * o + o + o + 4 + 4 + 16;
    let bytes = read(source, position, 24 + extra + variable, "superblock")?;
    let mut cursor = Cursor::new(&bytes, sizes, "superblock");
    cursor.skip(20)?;
    let flags = cursor.u32()?;
    cursor.skip(extra as usize)?;
    let base = cursor.address()?.unwrap_or(0);
    let _free_space = cursor.address()?;
    let _end_of_file = cursor.address()?;
    let _driver = cursor.address()?;
    // The root group's symbol-table entry.
    let _name_offset = cursor.address()?;
    let root = cursor.address()?.ok_or_else(|| {
        crate::hdf5::bytes::Fault::Invalid("the superblock has no root group".into())
    })?;
    let cache_type = cursor.u32()?;
    cursor.skip(4)?;
    let root_cache = if cache_type == 1 {
        let btree = cursor.address()?;
        let heap = cursor.address()?;
        btree.zip(heap)
    } else {
        None
    };
    check_base(base, position)?;
    Ok(Superblock {
        version,
        position,
        base,
        sizes,
        flags,
        root,
        root_cache,
        extension: None,
    })
}

fn parse_v2<S: Source + ?Sized>(source: &S, position: u64, version: u8) -> Parsed<Superblock> {
    let fixed = read(source, position, 12, "superblock")?;
    let sizes = check_sizes(fixed[9], fixed[10])?;
    let o = u64::from(sizes.offset);
    let bytes = read(source, position, 12 + 4 * o + 4, "superblock")?;
    verify_checksum(&bytes, "superblock")?;
    let mut cursor = Cursor::new(&bytes, sizes, "superblock");
    cursor.skip(11)?;
    let flags = u32::from(cursor.u8()?);
    let base = cursor.address()?.unwrap_or(0);
    let extension = cursor.address()?;
    let _end_of_file = cursor.address()?;
    let root = cursor.address()?.ok_or_else(|| {
        crate::hdf5::bytes::Fault::Invalid("the superblock has no root group".into())
    })?;
    check_base(base, position)?;
    Ok(Superblock {
        version,
        position,
        base,
        sizes,
        flags,
        root,
        root_cache: None,
        extension,
    })
}

fn check_base(base: u64, position: u64) -> Parsed<()> {
    if base > position {
        return invalid(format!(
            "the superblock at byte {position} gives the base address {base}, past itself; the file is damaged"
        ));
    }
    Ok(())
}
