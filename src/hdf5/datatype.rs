//! The datatype message: HDF5's element types, and the numpy dtype each
//! maps to (h5py's conventions: `bool` is an enum over one byte, complex
//! numbers a compound `{r, i}`, fixed strings `|SN`).

use crate::element::{ByteOrder, DType, Kind};
use crate::hdf5::bytes::{encoded_size, invalid, unsupported, Cursor, Parsed, Sizes};
use crate::record::{FieldDescr, RecordDescr, RecordField};

/// Nesting of compound and array types beyond this is refused as hostile.
const MAX_DEPTH: usize = 32;

/// An element type the crate maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Datatype {
    /// A whole-byte integer.
    Int {
        /// Bytes per element: 1, 2, 4 or 8.
        size: usize,
        /// Two's complement (`i`) or unsigned (`u`).
        signed: bool,
        /// Byte order as stored.
        order: ByteOrder,
    },
    /// An IEEE 754 float of 2, 4 or 8 bytes.
    Float {
        /// Bytes per element.
        size: usize,
        /// Byte order as stored.
        order: ByteOrder,
    },
    /// h5py's `bool`: an enum over one byte with `FALSE = 0` and `TRUE = 1`.
    Bool,
    /// A complex number: h5py's compound `{r, i}` of two floats, or
    /// libhdf5 2.0's complex class.
    Complex {
        /// Bytes per element (both parts).
        size: usize,
        /// Byte order as stored.
        order: ByteOrder,
    },
    /// A fixed-size byte string (`|SN`, `[u8; N]`).
    String {
        /// Bytes per element.
        size: usize,
    },
    /// A compound of fields: numpy's structured dtype.
    Compound {
        /// Bytes per element.
        size: usize,
        /// The fields, by increasing offset.
        fields: Vec<Field>,
    },
    /// A fixed-shape array of a base type (a field's shape).
    Array {
        /// The array's shape.
        shape: Vec<usize>,
        /// The type of its items.
        base: Box<Datatype>,
    },
}

/// A compound's field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Its byte offset in the element.
    pub offset: usize,
    /// Its type.
    pub dtype: Datatype,
}

impl Datatype {
    /// Bytes per element.
    pub fn size(&self) -> usize {
        match self {
            Datatype::Int { size, .. }
            | Datatype::Float { size, .. }
            | Datatype::Complex { size, .. }
            | Datatype::String { size }
            | Datatype::Compound { size, .. } => *size,
            Datatype::Bool => 1,
            Datatype::Array { shape, base } => shape.iter().product::<usize>() * base.size(),
        }
    }

    /// The scalar dtype, for the run-time-typed paths; `None` for strings,
    /// compounds and arrays.
    pub fn scalar(&self) -> Option<DType> {
        let (kind, size, byte_order) = match *self {
            Datatype::Int {
                size,
                signed,
                order,
            } => (
                if signed { Kind::Int } else { Kind::Uint },
                size,
                single_byte(size, order),
            ),
            Datatype::Float { size, order } => (Kind::Float, size, order),
            Datatype::Complex { size, order } => (Kind::Complex, size, order),
            Datatype::Bool => (Kind::Bool, 1, ByteOrder::NotApplicable),
            _ => return None,
        };
        Some(DType {
            kind,
            size,
            byte_order,
        })
    }

    /// numpy's descr of the type, as `np.dtype(...).descr` would spell it
    /// in a `.npy` header: `'<f8'`, `'|S4'`, `"[('a', '<i4'), ('b', '<f8')]"`.
    pub fn descr(&self) -> String {
        match self {
            Datatype::String { size } => format!("|S{size}"),
            Datatype::Compound { .. } => self.record().to_descr(),
            Datatype::Array { shape, base } => format!("({}, {shape:?})", base.descr()),
            scalar => scalar.scalar().map(|d| d.descr()).unwrap_or_default(),
        }
    }

    fn record(&self) -> RecordDescr {
        let Datatype::Compound { size, fields } = self else {
            return RecordDescr {
                fields: Vec::new(),
                itemsize: self.size(),
            };
        };
        RecordDescr {
            fields: fields
                .iter()
                .map(|field| {
                    let (dtype, shape) = match &field.dtype {
                        Datatype::Array { shape, base } => (base.as_ref(), shape.clone()),
                        other => (other, Vec::new()),
                    };
                    RecordField {
                        name: field.name.clone(),
                        title: None,
                        dtype: match dtype {
                            Datatype::Compound { .. } => FieldDescr::Record(dtype.record()),
                            other => FieldDescr::Simple(other.descr()),
                        },
                        shape,
                        offset: field.offset,
                    }
                })
                .collect(),
            itemsize: *size,
        }
    }

    /// Whether every byte is in this machine's order (or order does not apply).
    pub fn is_native(&self) -> bool {
        match self {
            Datatype::Int { order, .. }
            | Datatype::Float { order, .. }
            | Datatype::Complex { order, .. } => *order == ByteOrder::NATIVE || self.size() == 1,
            Datatype::Bool | Datatype::String { .. } => true,
            Datatype::Compound { fields, .. } => fields.iter().all(|f| f.dtype.is_native()),
            Datatype::Array { base, .. } => base.is_native(),
        }
    }
}

fn single_byte(size: usize, order: ByteOrder) -> ByteOrder {
    if size == 1 {
        ByteOrder::NotApplicable
    } else {
        order
    }
}

/// Parses a datatype message.
pub(crate) fn parse(data: &[u8], sizes: Sizes) -> Parsed<Datatype> {
    let mut cursor = Cursor::new(data, sizes, "datatype message");
    parse_at(&mut cursor, 0)
}

fn order_of(bits: u32) -> ByteOrder {
    if bits & 1 == 0 {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    }
}

fn parse_at(cursor: &mut Cursor<'_>, depth: usize) -> Parsed<Datatype> {
    if depth > MAX_DEPTH {
        return invalid(format!(
            "a datatype nested more than {MAX_DEPTH} deep; the file is damaged"
        ));
    }
    let head = cursor.u8()?;
    let (class, version) = (head & 0x0f, head >> 4);
    let bits = cursor.uint(3)? as u32;
    let size = cursor.u32()? as usize;
    if !(1..=1 << 24).contains(&size) {
        return invalid(format!(
            "a datatype of {size} bytes; HDF5 types are 1 byte to 16 MiB"
        ));
    }
    match class {
        0 => {
            let offset = cursor.u16()?;
            let precision = cursor.u16()?;
            if offset != 0 || usize::from(precision) != 8 * size || ![1, 2, 4, 8].contains(&size) {
                return unsupported(
                    format!("a {precision}-bit integer at bit {offset} of a {size}-byte element"),
                    "only whole 1-, 2-, 4- and 8-byte integers map; read the dataset with h5py",
                );
            }
            Ok(Datatype::Int { size, signed: bits & 0b1000 != 0, order: order_of(bits) })
        }
        1 => {
            if bits & 0b100_0000 != 0 {
                return unsupported("VAX byte order", "convert the dataset to IEEE floats with h5py");
            }
            let offset = cursor.u16()?;
            let precision = cursor.u16()?;
            let layout = (cursor.u8()?, cursor.u8()?, cursor.u8()?, cursor.u8()?);
            let bias = cursor.u32()?;
            let sign = (bits >> 8) & 0xff;
            let ieee = match size {
                2 => ((10, 5, 0, 10), 15, 15),
                4 => ((23, 8, 0, 23), 127, 31),
                8 => ((52, 11, 0, 52), 1023, 63),
                _ => ((0, 0, 0, 0), 0, 0),
            };
            if offset != 0 || usize::from(precision) != 8 * size || layout != ieee.0 || bias != ieee.1 || sign != ieee.2 {
                return unsupported(
                    format!("a {size}-byte float that is not IEEE 754 binary{} (exponent {} bits at {}, mantissa {} bits, bias {bias})", 8 * size, layout.1, layout.0, layout.3),
                    "only IEEE half, single and double floats map; convert the dataset with h5py",
                );
            }
            Ok(Datatype::Float { size, order: order_of(bits) })
        }
        2 => unsupported("an HDF5 time type", "read the dataset with h5py"),
        3 => Ok(Datatype::String { size }),
        4 => unsupported("an HDF5 bitfield type", "read the dataset with h5py, or store it as unsigned integers"),
        5 => unsupported("an opaque type", "read the dataset with h5py, which gives numpy void ('|V') elements"),
        6 => compound(cursor, version, bits, size, depth),
        7 => unsupported("object or region references", "dereference them with h5py"),
        8 => enumeration(cursor, version, bits, size, depth),
        9 => unsupported(
            if bits & 0b11 == 1 { "variable-length strings" } else { "variable-length sequences" },
            "their elements live in the global heap, not in the dataset's storage; read the dataset with h5py, or store fixed-length strings ('S' dtype)",
        ),
        10 => {
            let shape = array_dims(cursor, version)?;
            let base = parse_at(cursor, depth + 1)?;
            let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            if count.and_then(|n| n.checked_mul(base.size())) != Some(size) {
                return invalid(format!("an array type of shape {shape:?} over {}-byte items claims {size} bytes", base.size()));
            }
            Ok(Datatype::Array { shape, base: Box::new(base) })
        }
        11 => {
            let base = parse_at(cursor, depth + 1)?;
            match base {
                Datatype::Float { size: part, order } if 2 * part == size => Ok(Datatype::Complex { size, order }),
                other => unsupported(format!("a complex type over {other:?}"), "only complex numbers of two f4 or f8 parts map"),
            }
        }
        _ => invalid(format!("datatype class {class}; HDF5 defines 0 to 11")),
    }
}

fn array_dims(cursor: &mut Cursor<'_>, version: u8) -> Parsed<Vec<usize>> {
    let rank = usize::from(cursor.u8()?);
    if rank > 32 {
        return invalid(format!(
            "an array type of rank {rank}; HDF5 allows at most 32"
        ));
    }
    if version < 3 {
        cursor.skip(3)?;
    }
    let shape = (0..rank)
        .map(|_| cursor.u32().map(|d| d as usize))
        .collect::<Parsed<Vec<_>>>()?;
    if version < 3 {
        cursor.skip(4 * rank)?; // permutation indices, unused by libhdf5
    }
    Ok(shape)
}

/// A member name: NUL-terminated, padded to 8 bytes before version 3.
fn member_name(cursor: &mut Cursor<'_>, version: u8) -> Parsed<String> {
    let start = cursor.position();
    let name = cursor.c_string()?;
    if version < 3 {
        let used = cursor.position() - start;
        cursor.skip((8 - used % 8) % 8)?;
    }
    Ok(String::from_utf8_lossy(name).into_owned())
}

fn compound(
    cursor: &mut Cursor<'_>,
    version: u8,
    bits: u32,
    size: usize,
    depth: usize,
) -> Parsed<Datatype> {
    let count = (bits & 0xffff) as usize;
    let mut fields = Vec::new();
    for _ in 0..count {
        let name = member_name(cursor, version)?;
        let offset = match version {
            1 | 2 => cursor.u32()? as usize,
            _ => cursor.uint(encoded_size(size as u64))? as usize,
        };
        let mut shape = Vec::new();
        if version == 1 {
            let rank = usize::from(cursor.u8()?);
            cursor.skip(3 + 4 + 4)?;
            let dims = (0..4)
                .map(|_| cursor.u32().map(|d| d as usize))
                .collect::<Parsed<Vec<_>>>()?;
            if rank > 4 {
                return invalid(format!(
                    "a version-1 compound member of rank {rank}; at most 4"
                ));
            }
            shape = dims[..rank].to_vec();
        }
        let mut dtype = parse_at(cursor, depth + 1)?;
        if !shape.is_empty() {
            dtype = Datatype::Array {
                shape,
                base: Box::new(dtype),
            };
        }
        if offset
            .checked_add(dtype.size())
            .is_none_or(|end| end > size)
        {
            return invalid(format!(
                "the compound member {name:?} at byte {offset} ({} bytes) ends past the {size}-byte element",
                dtype.size()
            ));
        }
        fields.push(Field {
            name,
            offset,
            dtype,
        });
    }
    fields.sort_by_key(|f| f.offset);
    for pair in fields.windows(2) {
        if pair[0].offset + pair[0].dtype.size() > pair[1].offset {
            return unsupported(
                format!(
                    "overlapping compound members {:?} and {:?}",
                    pair[0].name, pair[1].name
                ),
                "numpy has no such dtype; read the members with h5py",
            );
        }
    }
    // h5py's complex numbers.
    if let [r, i] = fields.as_slice() {
        if let (Datatype::Float { size: a, order: oa }, Datatype::Float { size: b, order: ob }) =
            (&r.dtype, &i.dtype)
        {
            if r.name == "r"
                && i.name == "i"
                && a == b
                && oa == ob
                && r.offset == 0
                && i.offset == *a
                && size == 2 * a
                && *a >= 4
            {
                return Ok(Datatype::Complex { size, order: *oa });
            }
        }
    }
    Ok(Datatype::Compound { size, fields })
}

fn enumeration(
    cursor: &mut Cursor<'_>,
    version: u8,
    bits: u32,
    size: usize,
    depth: usize,
) -> Parsed<Datatype> {
    let count = (bits & 0xffff) as usize;
    let base = parse_at(cursor, depth + 1)?;
    let Datatype::Int {
        size: base_size, ..
    } = base
    else {
        return invalid("an enum whose base type is not an integer");
    };
    if base_size != size {
        return invalid(format!(
            "an enum of {size} bytes over a {base_size}-byte integer"
        ));
    }
    let mut names = Vec::new();
    for _ in 0..count {
        names.push(member_name(cursor, version)?);
    }
    let mut values = Vec::new();
    for _ in 0..count {
        values.push(cursor.uint(base_size.min(8))?);
    }
    let is_bool = size == 1
        && names.len() == 2
        && names
            .iter()
            .zip(&values)
            .all(|(n, v)| (n == "FALSE" && *v == 0) || (n == "TRUE" && *v == 1));
    if is_bool {
        return Ok(Datatype::Bool);
    }
    // h5py reads other enums as their base integers.
    Ok(base)
}

impl Datatype {
    /// The HDF5 type of a numpy descr, as h5py would store it: `None` for
    /// a descr HDF5 has no type for here (voids, dates, unicode).
    pub(crate) fn from_descr(descr: &str) -> Option<Datatype> {
        if let Some(n) = descr
            .strip_prefix("|S")
            .and_then(|n| n.parse::<usize>().ok())
        {
            return (n > 0).then_some(Datatype::String { size: n });
        }
        if descr.starts_with('[') {
            return Self::from_record(&crate::record::RecordDescr::parse(descr).ok()?);
        }
        let dtype: DType = descr.parse().ok()?;
        let order = if dtype.size == 1 {
            ByteOrder::Little
        } else {
            dtype.byte_order
        };
        Some(match dtype.kind {
            Kind::Bool => Datatype::Bool,
            Kind::Int | Kind::Uint => Datatype::Int {
                size: dtype.size,
                signed: dtype.kind == Kind::Int,
                order,
            },
            Kind::Float => Datatype::Float {
                size: dtype.size,
                order,
            },
            Kind::Complex => Datatype::Complex {
                size: dtype.size,
                order,
            },
        })
    }

    fn from_record(record: &RecordDescr) -> Option<Datatype> {
        let mut fields = Vec::new();
        for field in &record.fields {
            let mut dtype = match &field.dtype {
                FieldDescr::Simple(descr) => Self::from_descr(descr)?,
                FieldDescr::Record(inner) => Self::from_record(inner)?,
            };
            if !field.shape.is_empty() {
                dtype = Datatype::Array {
                    shape: field.shape.clone(),
                    base: Box::new(dtype),
                };
            }
            fields.push(Field {
                name: field.name.clone(),
                offset: field.offset,
                dtype,
            });
        }
        Some(Datatype::Compound {
            size: record.itemsize,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Datatype};
    use crate::hdf5::bytes::Sizes;

    #[test]
    fn every_type_written_reads_back_as_itself() {
        let descrs = [
            "|b1",
            "|i1",
            "|u1",
            "<i2",
            ">i2",
            "<u4",
            ">u8",
            "<f2",
            ">f2",
            "<f4",
            ">f8",
            "<c8",
            ">c16",
            "|S7",
            "[('a', '<i4'), ('b', '<f8')]",
            "[('id', '<u2'), ('v', '<f4', (3,)), ('name', '|S5')]",
            "[('x', '<f8'), ('', '|V4'), ('inner', [('p', '<i2'), ('q', '>f4')])]",
            "[('m', '<i4', (2, 3))]",
        ];
        for descr in descrs {
            let dtype = Datatype::from_descr(descr).unwrap_or_else(|| panic!("{descr}"));
            let bytes = crate::hdf5::encode::datatype(&dtype);
            let back = parse(
                &bytes,
                Sizes {
                    offset: 8,
                    length: 8,
                },
            )
            .unwrap();
            assert_eq!(back, dtype, "{descr}");
            let canonical = if descr.starts_with("|i1") || descr.starts_with("|u1") {
                descr.to_owned()
            } else {
                dtype.descr()
            };
            assert_eq!(Datatype::from_descr(&canonical), Some(dtype), "{descr}");
        }
        assert_eq!(Datatype::from_descr("<U4"), None);
        assert_eq!(Datatype::from_descr("|V8"), None);
    }
}
