//! Object headers, versions 1 and 2, with their continuation blocks: the
//! list of messages that describes a group, a dataset or a committed
//! datatype.

use std::collections::HashSet;

use crate::hdf5::bytes::{invalid, unsupported, verify_checksum, Cursor, Parsed, Sizes, Source};
use crate::hdf5::superblock::Superblock;

/// Message types the resolver reads.
pub(crate) mod kind {
    pub(crate) const DATASPACE: u16 = 0x0001;
    pub(crate) const LINK_INFO: u16 = 0x0002;
    pub(crate) const DATATYPE: u16 = 0x0003;
    pub(crate) const FILL_OLD: u16 = 0x0004;
    pub(crate) const FILL: u16 = 0x0005;
    pub(crate) const LINK: u16 = 0x0006;
    pub(crate) const EXTERNAL: u16 = 0x0007;
    pub(crate) const LAYOUT: u16 = 0x0008;
    pub(crate) const FILTERS: u16 = 0x000B;
    pub(crate) const CONTINUATION: u16 = 0x0010;
    pub(crate) const SYMBOL_TABLE: u16 = 0x0011;
}

/// Continuation blocks followed for one header before it is called
/// hostile: libhdf5 adds one per growth of a header, a handful in practice.
const MAX_CONTINUATIONS: usize = 4096;

/// One header message.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub(crate) kind: u16,
    pub(crate) flags: u8,
    pub(crate) data: Vec<u8>,
}

impl Message {
    /// Whether the message is stored elsewhere (bit 1: shared).
    pub(crate) fn is_shared(&self) -> bool {
        self.flags & 0b10 != 0
    }
}

/// The file being resolved: its bytes and its superblock.
pub(crate) struct Context<'s, S: Source + ?Sized> {
    pub(crate) source: &'s S,
    pub(crate) superblock: Superblock,
}

impl<S: Source + ?Sized> Context<'_, S> {
    pub(crate) fn sizes(&self) -> Sizes {
        self.superblock.sizes
    }

    /// The absolute position of a stored (relative) address.
    pub(crate) fn absolute(&self, address: u64) -> Parsed<u64> {
        match self.superblock.base.checked_add(address) {
            Some(at) => Ok(at),
            None => invalid(format!(
                "the address {address} overflows past the base address"
            )),
        }
    }

    /// Reads `len` bytes at the stored address `address`.
    pub(crate) fn read(&self, address: u64, len: u64, what: &str) -> Parsed<Vec<u8>> {
        crate::hdf5::bytes::read(self.source, self.absolute(address)?, len, what)
    }

    /// The messages of the object header at `address`, continuations followed.
    pub(crate) fn header(&self, address: u64) -> Parsed<Vec<Message>> {
        let prefix = self.read(address, 4, "object header")?;
        if prefix == b"OHDR" {
            self.header_v2(address)
        } else if prefix[0] == 1 {
            self.header_v1(address)
        } else {
            invalid(format!(
                "expected an object header at byte {} (version 1, or the signature \"OHDR\"), found the bytes {:02x?}; the address is damaged",
                self.absolute(address)?,
                prefix
            ))
        }
    }

    fn header_v1(&self, address: u64) -> Parsed<Vec<Message>> {
        let prefix = self.read(address, 16, "object header")?;
        let mut cursor = Cursor::new(&prefix, self.sizes(), "object header");
        // The message count is not checked: libhdf5 tolerates (and
        // repairs) headers whose count disagrees with their blocks.
        cursor.skip(8)?;
        let size = u64::from(cursor.u32()?);
        let mut messages = Vec::new();
        let mut blocks = vec![(address.saturating_add(16), size)];
        let mut seen = HashSet::new();
        while let Some((at, len)) = blocks.pop() {
            if !seen.insert(at) || seen.len() > MAX_CONTINUATIONS {
                return invalid(format!(
                    "the object header at byte {} continues into a block it has already read (a cycle), or into more than {MAX_CONTINUATIONS} blocks; the file is damaged",
                    self.absolute(address)?
                ));
            }
            let bytes = self.read(at, len, "object header block")?;
            let mut cursor = Cursor::new(&bytes, self.sizes(), "object header block");
            while cursor.remaining() >= 8 {
                let kind = cursor.u16()?;
                let size = usize::from(cursor.u16()?);
                let flags = cursor.u8()?;
                cursor.skip(3)?;
                let data = cursor.take(size)?.to_vec();
                if kind == kind::CONTINUATION {
                    blocks.push(continuation(&data, self.sizes())?);
                }
                messages.push(Message { kind, flags, data });
            }
        }
        Ok(messages)
    }

    fn header_v2(&self, address: u64) -> Parsed<Vec<Message>> {
        let prefix = self.read(address, 6, "object header")?;
        let version = prefix[4];
        if version != 2 {
            return unsupported(
                format!("object header version {version}"),
                "this crate reads versions 1 and 2, which libhdf5 up to 2.0 writes",
            );
        }
        let flags = prefix[5];
        let times = if flags & 0b10_0000 != 0 { 16 } else { 0 };
        let phase = if flags & 0b1_0000 != 0 { 4 } else { 0 };
        let size_width = 1u64 << (flags & 0b11);
        let head_len = 6 + times + phase + size_width;
        let head = self.read(address, head_len, "object header")?;
        let mut cursor = Cursor::new(&head, self.sizes(), "object header");
        cursor.skip((head_len - size_width) as usize)?;
        let chunk_size = cursor.uint(size_width as usize)?;
        let with_order = flags & 0b100 != 0;
        let Some(first_len) = chunk_size.checked_add(head_len + 4) else {
            return invalid("an object header's size overflows");
        };
        let mut messages = Vec::new();
        // (address, length, bytes before the messages)
        let mut blocks = vec![(address, first_len, head_len as usize)];
        let mut seen = HashSet::new();
        while let Some((at, len, skip)) = blocks.pop() {
            if !seen.insert(at) || seen.len() > MAX_CONTINUATIONS {
                return invalid(format!(
                    "the object header at byte {} continues into a block it has already read (a cycle), or into more than {MAX_CONTINUATIONS} blocks; the file is damaged",
                    self.absolute(address)?
                ));
            }
            let bytes = self.read(at, len, "object header block")?;
            verify_checksum(&bytes, "object header")?;
            if skip == 0 && bytes.get(..4) != Some(b"OCHK") {
                return invalid("expected the signature \"OCHK\" of an object header continuation block; the address is damaged");
            }
            let body = &bytes[if skip == 0 { 4 } else { skip }..bytes.len() - 4];
            let mut cursor = Cursor::new(body, self.sizes(), "object header block");
            let header_len = if with_order { 6 } else { 4 };
            while cursor.remaining() >= header_len {
                let kind = u16::from(cursor.u8()?);
                let size = usize::from(cursor.u16()?);
                let flags = cursor.u8()?;
                if with_order {
                    cursor.skip(2)?;
                }
                let data = cursor.take(size)?.to_vec();
                if kind == kind::CONTINUATION {
                    let (at, len) = continuation(&data, self.sizes())?;
                    blocks.push((at, len, 0));
                }
                messages.push(Message { kind, flags, data });
            }
        }
        Ok(messages)
    }
}

fn continuation(data: &[u8], sizes: Sizes) -> Parsed<(u64, u64)> {
    let mut cursor = Cursor::new(data, sizes, "continuation message");
    let Some(at) = cursor.address()? else {
        return invalid("a continuation message without an address");
    };
    Ok((at, cursor.length()?))
}
