//! Encoding the metadata of new files: the superblock (version 2), object
//! headers (version 2, checksummed), and the messages a group, a dataset
//! and an attribute need. Pure: values in, bytes out; every structure is
//! read back by this crate's own resolver in the tests.

use crate::element::ByteOrder;
use crate::hdf5::bytes::encoded_size;
use crate::hdf5::datatype::{Datatype, Field};
use crate::hdf5::lookup3;

/// The undefined address.
const UNDEFINED: u64 = u64::MAX;

/// Bytes of a version-2 superblock with 8-byte offsets and lengths.
pub(crate) const SUPERBLOCK_LEN: u64 = 48;

/// Free bytes left in every object header (a NIL message), so that a
/// later libhdf5 writer adding an attribute has room for a continuation
/// message without moving anything.
const HEADER_SLACK: usize = 64;

/// A version-2 superblock: 8-byte offsets and lengths, no base address,
/// no extension.
pub(crate) fn superblock(end_of_file: u64, root: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(SUPERBLOCK_LEN as usize);
    out.extend_from_slice(&crate::hdf5::superblock::SIGNATURE);
    out.extend_from_slice(&[2, 8, 8, 0]);
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&UNDEFINED.to_le_bytes());
    out.extend_from_slice(&end_of_file.to_le_bytes());
    out.extend_from_slice(&root.to_le_bytes());
    let checksum = lookup3::hash(&out, 0);
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

/// A header message: its type, flags and data.
pub(crate) struct Message {
    pub(crate) kind: u8,
    pub(crate) flags: u8,
    pub(crate) data: Vec<u8>,
}

impl Message {
    pub(crate) fn new(kind: u16, data: Vec<u8>) -> Message {
        Message {
            kind: kind as u8,
            flags: 0,
            data,
        }
    }
}

/// A version-2 object header holding `messages`, with room to grow.
pub(crate) fn object_header(messages: &[Message]) -> Vec<u8> {
    let mut body = Vec::new();
    for m in messages {
        body.push(m.kind);
        body.extend_from_slice(&(m.data.len() as u16).to_le_bytes());
        body.push(m.flags);
        body.extend_from_slice(&m.data);
    }
    // The NIL message: type 0, its data zeros.
    body.push(0);
    body.extend_from_slice(&(HEADER_SLACK as u16).to_le_bytes());
    body.push(0);
    body.extend(std::iter::repeat_n(0, HEADER_SLACK));
    let mut out = Vec::with_capacity(body.len() + 16);
    out.extend_from_slice(b"OHDR");
    // Version 2; flags: the size of chunk 0 in 4 bytes, nothing optional.
    out.extend_from_slice(&[2, 0b10]);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    let checksum = lookup3::hash(&out, 0);
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

/// A dataspace message (version 2): scalar for an empty shape, else simple
/// with fixed maximum dimensions.
pub(crate) fn dataspace(shape: &[usize]) -> Vec<u8> {
    let mut out = vec![
        2,
        shape.len() as u8,
        u8::from(!shape.is_empty()),
        u8::from(!shape.is_empty()),
    ];
    for _ in 0..2 {
        for &n in shape {
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
    }
    out
}

/// The fill value message (version 3): storage allocated at creation, never
/// filled (so it stays sparse until written), the default fill of zeros.
pub(crate) fn fill_never() -> Vec<u8> {
    vec![3, 0b0000_0101]
}

/// The data layout message (version 3) of a contiguous block.
pub(crate) fn contiguous(address: u64, size: u64) -> Vec<u8> {
    let mut out = vec![3, 1];
    out.extend_from_slice(&address.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out
}

/// The link info message of a group whose links are in its header.
pub(crate) fn link_info() -> Vec<u8> {
    let mut out = vec![0, 0];
    out.extend_from_slice(&UNDEFINED.to_le_bytes());
    out.extend_from_slice(&UNDEFINED.to_le_bytes());
    out
}

/// The group info message, with libhdf5's defaults.
pub(crate) fn group_info() -> Vec<u8> {
    vec![0, 0]
}

/// A hard link message.
pub(crate) fn hard_link(name: &str, address: u64) -> Vec<u8> {
    let name = name.as_bytes();
    let wide = name.len() > 255;
    let utf8 = !name.is_ascii();
    let mut out = vec![1, u8::from(wide) | if utf8 { 0b1_0000 } else { 0 }];
    if utf8 {
        out.push(1);
    }
    if wide {
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    } else {
        out.push(name.len() as u8);
    }
    out.extend_from_slice(name);
    out.extend_from_slice(&address.to_le_bytes());
    out
}

/// An attribute message (version 3): a name, a type, a shape and the data.
pub(crate) fn attribute(name: &str, dtype: &Datatype, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let mut name = name.as_bytes().to_vec();
    name.push(0);
    let dtype = datatype(dtype);
    let space = dataspace(shape);
    let mut out = vec![3, 0];
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&(dtype.len() as u16).to_le_bytes());
    out.extend_from_slice(&(space.len() as u16).to_le_bytes());
    out.push(1); // the name is UTF-8
    out.extend_from_slice(&name);
    out.extend_from_slice(&dtype);
    out.extend_from_slice(&space);
    out.extend_from_slice(data);
    out
}

fn order_bit(order: ByteOrder) -> u8 {
    u8::from(order == ByteOrder::Big)
}

/// A datatype message, as h5py writes the same numpy dtype.
pub(crate) fn datatype(dtype: &Datatype) -> Vec<u8> {
    let mut out = Vec::new();
    encode(dtype, &mut out);
    out
}

fn head(out: &mut Vec<u8>, version: u8, class: u8, bits: [u8; 3], size: usize) {
    out.push((version << 4) | class);
    out.extend_from_slice(&bits);
    out.extend_from_slice(&(size as u32).to_le_bytes());
}

fn encode(dtype: &Datatype, out: &mut Vec<u8>) {
    match *dtype {
        Datatype::Int {
            size,
            signed,
            order,
        } => {
            head(
                out,
                1,
                0,
                [order_bit(order) | if signed { 0b1000 } else { 0 }, 0, 0],
                size,
            );
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&((8 * size) as u16).to_le_bytes());
        }
        Datatype::Float { size, order } => {
            let (exponent_at, exponent_bits, mantissa_bits, bias) = match size {
                2 => (10u8, 5u8, 10u8, 15u32),
                4 => (23, 8, 23, 127),
                _ => (52, 11, 52, 1023),
            };
            // Mantissa normalised with an implied leading bit (2 << 4); the sign in the top bit.
            head(
                out,
                1,
                1,
                [order_bit(order) | 0x20, (8 * size - 1) as u8, 0],
                size,
            );
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&((8 * size) as u16).to_le_bytes());
            out.extend_from_slice(&[exponent_at, exponent_bits, 0, mantissa_bits]);
            out.extend_from_slice(&bias.to_le_bytes());
        }
        Datatype::Bool => {
            // h5py's bool: an enum over a signed byte, FALSE = 0, TRUE = 1.
            head(out, 3, 8, [2, 0, 0], 1);
            encode(
                &Datatype::Int {
                    size: 1,
                    signed: true,
                    order: ByteOrder::Little,
                },
                out,
            );
            out.extend_from_slice(b"FALSE\0TRUE\0");
            out.extend_from_slice(&[0, 1]);
        }
        Datatype::Complex { size, order } => {
            let part = Datatype::Float {
                size: size / 2,
                order,
            };
            let fields = [
                Field {
                    name: "r".into(),
                    offset: 0,
                    dtype: part.clone(),
                },
                Field {
                    name: "i".into(),
                    offset: size / 2,
                    dtype: part,
                },
            ];
            compound(&fields, size, out);
        }
        Datatype::String { size } => {
            // Null-padded ASCII, as h5py stores numpy's 'S' dtype.
            head(out, 1, 3, [0x01, 0, 0], size);
        }
        Datatype::Compound { size, ref fields } => compound(fields, size, out),
        Datatype::Array {
            ref shape,
            ref base,
        } => {
            head(out, 3, 10, [0, 0, 0], dtype.size());
            out.push(shape.len() as u8);
            for &n in shape {
                out.extend_from_slice(&(n as u32).to_le_bytes());
            }
            encode(base, out);
        }
    }
}

fn compound(fields: &[Field], size: usize, out: &mut Vec<u8>) {
    let count = fields.len() as u16;
    let [low, high] = count.to_le_bytes();
    head(out, 3, 6, [low, high, 0], size);
    let width = encoded_size(size as u64);
    for field in fields {
        out.extend_from_slice(field.name.as_bytes());
        out.push(0);
        out.extend_from_slice(&(field.offset as u64).to_le_bytes()[..width]);
        encode(&field.dtype, out);
    }
}
