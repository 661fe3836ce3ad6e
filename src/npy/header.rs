//! The `.npy` header: parse and format. Pure functions over bytes; no files,
//! no `unsafe`. Untrusted input yields a typed error, never a panic.

use std::io::Read;

use crate::element::DType;
use crate::error::{Error, Result};
use crate::layout::Order;
use crate::literal::{self, python_str_repr, python_tuple_repr, Literal};

/// The six bytes every `.npy` file starts with ([`NpyHeader::MAGIC`]).
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// numpy aligns the data to this many bytes.
const ARRAY_ALIGN: usize = 64;

/// numpy pads the growth axis as if it had this many digits.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// What a `.npy` header says about the array that follows it.
///
/// Read one from a file with [`read_npy_header`](crate::read_npy_header), or
/// from bytes with [`NpyHeader::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// Format version: `(1, 0)`, `(2, 0)` or `(3, 0)`.
    pub version: (u8, u8),
    /// The dtype descr exactly as written (`"<f8"`, `"|b1"`, ...).
    pub descr: String,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The array's shape; empty for 0-d arrays.
    pub shape: Vec<usize>,
    /// Where the data starts: the length of magic, version, length field and header.
    pub data_offset: u64,
}

impl NpyHeader {
    /// The six bytes every `.npy` file starts with.
    ///
    /// ```
    /// use ndarray_memmap::NpyHeader;
    /// let header = NpyHeader::format("<f8", false, &[3]);
    /// assert!(header.starts_with(NpyHeader::MAGIC));
    /// ```
    pub const MAGIC: &'static [u8; 6] = MAGIC;

    /// The descr parsed into a [`DType`].
    ///
    /// # Errors
    /// [`Error::UnsupportedDtype`] for dtypes the crate cannot map.
    pub fn dtype(&self) -> Result<DType> {
        self.descr.parse()
    }

    /// The fields of a structured dtype, with their offsets and the record
    /// size, as numpy's `descr_to_dtype` reads them.
    ///
    /// # Errors
    /// [`Error::UnsupportedDtype`] if the descr is not a structured one.
    pub fn record(&self) -> Result<crate::RecordDescr> {
        crate::RecordDescr::parse(&self.descr)
    }

    /// The data's memory order.
    pub fn order(&self) -> Order {
        if self.fortran_order {
            Order::Fortran
        } else {
            Order::C
        }
    }

    /// The number of elements (1 for 0-d arrays), or `None` on overflow.
    pub fn len(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
    }

    /// Bytes of array data the header announces (`len() * itemsize`); bytes
    /// of a file past `data_offset + data_len()` are trailing bytes, which
    /// numpy and this crate accept and ignore.
    ///
    /// # Errors
    /// [`Error::UnsupportedDtype`] if the descr is not one the crate knows;
    /// [`Error::SizeOverflow`] if the size does not fit in `u64`.
    ///
    /// ```
    /// use ndarray_memmap::NpyHeader;
    /// let header = NpyHeader::parse(&NpyHeader::format("<f4", false, &[2, 3]), 10_000)?;
    /// assert_eq!(header.data_len()?, 24);
    /// # Ok::<(), ndarray_memmap::Error>(())
    /// ```
    pub fn data_len(&self) -> Result<u64> {
        let size = self.dtype()?.size;
        let overflow = || Error::SizeOverflow {
            shape: self.shape.clone(),
            element_size: size,
            offset: self.data_offset,
        };
        let count = self.len().ok_or_else(overflow)?;
        (count as u64).checked_mul(size as u64).ok_or_else(overflow)
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Parses a header from the start of `bytes`, which may go on into the data.
    ///
    /// # Errors
    /// [`Error::NpyHeader`] for a damaged or oversized header (longer than
    /// `max_header_size`) or a `'descr'` that is no dtype at all (an
    /// integer, say). A structured or string dtype is not an error here: its
    /// descr is kept as text (`"[('x', '<f4')]"`), and only
    /// [`dtype`](NpyHeader::dtype), mapping and reading refuse it.
    ///
    /// # Examples
    /// ```
    /// use ndarray_memmap::NpyHeader;
    /// let mut bytes = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".to_vec();
    /// bytes.extend([b' '; 58]);
    /// bytes.push(b'\n');
    /// let header = NpyHeader::parse(&bytes, 10_000)?;
    /// assert_eq!((header.descr.as_str(), header.shape.as_slice(), header.data_offset), ("<f4", &[2, 3][..], 128));
    /// # Ok::<(), ndarray_memmap::Error>(())
    /// ```
    pub fn parse(bytes: &[u8], max_header_size: usize) -> Result<NpyHeader> {
        read_header(&mut &bytes[..], max_header_size)
    }

    /// The exact header bytes numpy writes for this dtype, order and shape
    /// (`np.save`, `open_memmap`): the smallest version that can hold it,
    /// padded with spaces and a newline so the data starts at a multiple of 64.
    ///
    /// ```
    /// use ndarray_memmap::NpyHeader;
    /// let bytes = NpyHeader::format("<f4", false, &[2, 3]);
    /// assert_eq!(bytes.len(), 128);
    /// assert!(bytes.starts_with(b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
    /// assert!(bytes.ends_with(b" \n"));
    /// ```
    pub fn format(descr: &str, fortran_order: bool, shape: &[usize]) -> Vec<u8> {
        let mut text = format!(
            "{{'descr': {}, 'fortran_order': {}, 'shape': {}, }}",
            descr_repr(descr),
            if fortran_order { "True" } else { "False" },
            python_tuple_repr(shape),
        );
        if !shape.is_empty() {
            // Room for the growth axis to gain digits without moving the data.
            let axis = if fortran_order {
                shape[shape.len() - 1]
            } else {
                shape[0]
            };
            let digits = axis.to_string().len();
            text.extend(std::iter::repeat_n(
                ' ',
                GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
            ));
        }
        let latin1 = text.chars().all(|c| (c as u32) < 256);
        let encoded: Vec<u8> = if latin1 {
            text.chars().map(|c| c as u8).collect()
        } else {
            text.into_bytes()
        };
        // Version and padding are decided together: the length field's size
        // changes the prefix, which changes the padding.
        let hlen = encoded.len() + 1; // the final '\n'
        let padded = |prefix: usize| hlen + ARRAY_ALIGN - (prefix + hlen) % ARRAY_ALIGN;
        let (version, header_len) = if !latin1 {
            ((3u8, 0u8), padded(12))
        } else if padded(10) <= u16::MAX as usize {
            ((1, 0), padded(10))
        } else {
            ((2, 0), padded(12))
        };
        let mut out = Vec::with_capacity(12 + header_len);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[version.0, version.1]);
        if version == (1, 0) {
            out.extend_from_slice(&(header_len as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header_len as u32).to_le_bytes());
        }
        out.extend_from_slice(&encoded);
        out.resize(out.len() + header_len - hlen, b' ');
        out.push(b'\n');
        out
    }
}

impl NpyHeader {
    /// The header for this dtype, order and shape, written to fill exactly
    /// `total_len` bytes (magic to final newline) in format `version`: how a
    /// header is rewritten in place when an array grows. Equal to
    /// [`format`](NpyHeader::format)'s bytes whenever `format` picks the same
    /// version and length (the growth slack and the alignment padding are
    /// both spaces). `None` if the text does not fit, or the version cannot
    /// hold it (v1.0 and v2.0 need latin-1 text; v1.0 at most 65535 bytes).
    ///
    /// ```
    /// use ndarray_memmap::NpyHeader;
    /// let grown = NpyHeader::format_to_length("<f4", false, &[1000, 3], (1, 0), 128).unwrap();
    /// assert_eq!(grown, NpyHeader::format("<f4", false, &[1000, 3]));
    /// assert!(NpyHeader::format_to_length("<f4", false, &[1; 40], (1, 0), 128).is_none());
    /// ```
    pub fn format_to_length(
        descr: &str,
        fortran_order: bool,
        shape: &[usize],
        version: (u8, u8),
        total_len: usize,
    ) -> Option<Vec<u8>> {
        let text = format!(
            "{{'descr': {}, 'fortran_order': {}, 'shape': {}, }}",
            descr_repr(descr),
            if fortran_order { "True" } else { "False" },
            python_tuple_repr(shape),
        );
        let (prefix, encoded): (usize, Vec<u8>) = match version {
            (1, 0) | (2, 0) => {
                let latin1: Option<Vec<u8>> =
                    text.chars().map(|c| u8::try_from(c as u32).ok()).collect();
                (if version == (1, 0) { 10 } else { 12 }, latin1?)
            }
            (3, 0) => (12, text.into_bytes()),
            _ => return None,
        };
        let header_len = total_len.checked_sub(prefix)?;
        if encoded.len() + 1 > header_len || (version == (1, 0) && header_len > u16::MAX as usize) {
            return None;
        }
        let mut out = Vec::with_capacity(total_len);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[version.0, version.1]);
        if version == (1, 0) {
            out.extend_from_slice(&(header_len as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&u32::try_from(header_len).ok()?.to_le_bytes());
        }
        out.extend_from_slice(&encoded);
        out.resize(total_len - 1, b' ');
        out.push(b'\n');
        Some(out)
    }
}

fn header_error(reason: impl Into<String>) -> Error {
    Error::NpyHeader {
        path: None,
        reason: reason.into(),
    }
}

/// Reads exactly `buf.len()` bytes or explains how many were missing.
fn read_full(reader: &mut impl Read, buf: &mut [u8], what: &str) -> Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(header_error(format!(
                    "file ends while reading {what}: expected {} bytes, found {filled}",
                    buf.len()
                )))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Io {
                    operation: "read .npy header",
                    path: None,
                    cause: source,
                })
            }
        }
    }
    Ok(())
}

/// Reads and parses a header from `reader`, leaving it at the first data byte.
/// The header's length is checked against `max_header_size` before any
/// buffer for it is allocated.
pub(crate) fn read_header(reader: &mut impl Read, max_header_size: usize) -> Result<NpyHeader> {
    let mut magic = [0u8; 8];
    read_full(reader, &mut magic, "the magic string")?;
    if &magic[..6] != MAGIC {
        return Err(header_error(format!(
            "the magic string is not correct: expected {}, found {}",
            escape_bytes(MAGIC),
            escape_bytes(&magic[..6])
        )));
    }
    let version = (magic[6], magic[7]);
    let length_size = match version {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        (major, minor) => {
            return Err(header_error(format!(
                "unsupported format version {major}.{minor}: expected 1.0, 2.0 or 3.0"
            )))
        }
    };
    let mut length = [0u8; 4];
    read_full(reader, &mut length[..length_size], "the header length")?;
    let header_len = u32::from_le_bytes(length) as usize;
    if header_len > max_header_size {
        return Err(header_error(format!(
            "header length {header_len} exceeds the limit of {max_header_size} bytes (see MemmapOptions::max_header_size)"
        )));
    }
    // Grown as bytes arrive, not reserved up front: a header length raised
    // by `max_header_size` never costs more memory than the file holds.
    let mut raw = Vec::new();
    reader
        .take(header_len as u64)
        .read_to_end(&mut raw)
        .map_err(|source| Error::Io {
            operation: "read .npy header",
            path: None,
            cause: source,
        })?;
    if raw.len() < header_len {
        return Err(header_error(format!(
            "file ends while reading the header: expected {header_len} bytes, found {}",
            raw.len()
        )));
    }
    let text: String = if version == (3, 0) {
        String::from_utf8(raw)
            .map_err(|e| header_error(format!("header is not valid UTF-8: {e}")))?
    } else {
        raw.iter().map(|&b| b as char).collect() // latin-1
    };
    let data_offset = (8 + length_size + header_len) as u64;
    let fields = parse_dict(&text, version != (3, 0))?;
    Ok(NpyHeader {
        version,
        descr: fields.descr,
        fortran_order: fields.fortran_order,
        shape: fields.shape,
        data_offset,
    })
}

/// Whether numpy's `descr_to_dtype` could read `value` as a dtype: a
/// string, a `(descr, shape)` subarray, or a list of fields `(name, descr)`
/// or `(name, descr, shape)`, a name being a string or a `(title, name)`
/// pair. (Depth is bounded by the literal parser's nesting limit.)
pub(crate) fn is_dtype_descriptor(value: &Literal) -> bool {
    let is_shape = |v: &Literal| match v {
        Literal::Int(n) => *n >= 0,
        Literal::Tuple(items) => items
            .iter()
            .all(|i| matches!(i, Literal::Int(n) if *n >= 0)),
        _ => false,
    };
    let is_name = |v: &Literal| match v {
        Literal::Str(_) => true,
        Literal::Tuple(pair) => {
            matches!(
                pair.as_slice(),
                [Literal::Str(_) | Literal::None, Literal::Str(_)]
            )
        }
        _ => false,
    };
    match value {
        Literal::Str(_) => true,
        Literal::Tuple(items) => {
            matches!(items.as_slice(), [inner, shape] if is_dtype_descriptor(inner) && is_shape(shape))
        }
        Literal::List(fields) => fields.iter().all(|field| match field {
            Literal::Tuple(parts) => match parts.as_slice() {
                [name, descr] => is_name(name) && is_dtype_descriptor(descr),
                [name, descr, shape] => {
                    is_name(name) && is_dtype_descriptor(descr) && is_shape(shape)
                }
                _ => false,
            },
            _ => false,
        }),
        _ => false,
    }
}

struct Fields {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the header text and checks it holds exactly numpy's three keys.
fn parse_dict(text: &str, allow_long_suffix: bool) -> Result<Fields> {
    let (value, trailing) = literal::parse_prefix(text, allow_long_suffix)?;
    if let Some((at, c)) = trailing {
        return Err(header_error(format!(
            "cannot parse header: unexpected {c:?} at character {at} after the dictionary"
        )));
    }
    let Literal::Dict(pairs) = value else {
        return Err(header_error(format!(
            "header is not a dictionary: {}",
            value.repr()
        )));
    };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    let mut keys = Vec::new();
    for (key, value) in pairs {
        let name = match &key {
            Literal::Str(name) => name.as_str(),
            _ => "",
        };
        match name {
            "descr" => descr = Some(value),
            "fortran_order" => fortran_order = Some(value),
            "shape" => shape = Some(value),
            _ => {}
        }
        keys.push(key.repr());
    }
    keys.sort();
    keys.dedup();
    let (Some(descr), Some(fortran_order), Some(shape), 3) =
        (descr, fortran_order, shape, keys.len())
    else {
        return Err(header_error(format!(
            "header does not contain the correct keys: expected ['descr', 'fortran_order', 'shape'], found [{}]",
            keys.join(", ")
        )));
    };
    // A structured (or subarray) descr is kept as its text, as numpy would
    // print it: the header is valid, only mapping or reading refuses it.
    let descr = match descr {
        Literal::Str(s) => s,
        other if is_dtype_descriptor(&other) => other.repr(),
        other => {
            return Err(header_error(format!(
                "'descr' is not a valid dtype descriptor: found {} ({}), expected a string such as '<f8' or a list of fields such as [('x', '<f4')]",
                other.repr(),
                other.type_name()
            )))
        }
    };
    let fortran_order = match fortran_order {
        Literal::Bool(b) => b,
        other => {
            return Err(header_error(format!(
                "fortran_order is not a valid bool: {}",
                other.repr()
            )))
        }
    };
    let shape = match &shape {
        Literal::Tuple(items) => items
            .iter()
            .map(|item| match item {
                Literal::Int(n) if *n < 0 => Err(header_error(format!(
                    "negative dimensions are not allowed: shape {}",
                    shape.repr()
                ))),
                Literal::Int(n) => usize::try_from(*n).map_err(|_| {
                    header_error(format!(
                        "dimension {n} in shape {} is too large",
                        shape.repr()
                    ))
                }),
                _ => Err(header_error(format!(
                    "shape is not valid: {}",
                    shape.repr()
                ))),
            })
            .collect::<Result<Vec<usize>>>()?,
        other => {
            return Err(header_error(format!(
                "shape is not valid: {}",
                other.repr()
            )))
        }
    };
    Ok(Fields {
        descr,
        fortran_order,
        shape,
    })
}

/// A descr as the header writes it: a structured one (a list of fields)
/// as the literal it is, any other as a quoted string.
fn descr_repr(descr: &str) -> String {
    let structured = descr.starts_with('[')
        && literal::parse(descr)
            .is_ok_and(|v| matches!(v, Literal::List(_)) && is_dtype_descriptor(&v));
    if structured {
        descr.to_owned()
    } else {
        python_str_repr(descr)
    }
}

/// Bytes as Python writes them: `b'\x93NUMPY'`.
fn escape_bytes(bytes: &[u8]) -> String {
    let escaped: String = bytes
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    format!("b'{escaped}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_bytes(dict: &str, version: (u8, u8)) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([version.0, version.1]);
        if version == (1, 0) {
            out.extend((dict.len() as u16).to_le_bytes());
        } else {
            out.extend((dict.len() as u32).to_le_bytes());
        }
        out.extend(dict.as_bytes());
        out
    }

    fn reason(result: Result<NpyHeader>) -> String {
        match result {
            Err(Error::NpyHeader { reason, .. }) => reason,
            other => panic!("expected a header error, got {other:?}"),
        }
    }

    #[test]
    fn format_matches_numpys_worked_example_byte_for_byte() {
        let mut expected =
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
                .to_vec();
        expected.extend([b' '; 58]);
        expected.push(b'\n');
        assert_eq!(NpyHeader::format("<f4", false, &[2, 3]), expected);
    }

    #[test]
    fn growth_padding_keeps_the_header_at_128_bytes_up_to_21_digits() {
        for exponent in 0..=19u32 {
            let n = 10usize.pow(exponent);
            assert_eq!(NpyHeader::format("<f8", false, &[n]).len(), 128, "{n}");
            assert_eq!(NpyHeader::format("<f8", true, &[3, n]).len(), 128, "{n}");
        }
        assert_eq!(NpyHeader::format("<f8", false, &[5_368_709_120]).len(), 128);
    }

    #[test]
    fn zero_dimensional_headers_have_no_growth_padding() {
        let bytes = NpyHeader::format("<i8", false, &[]);
        let text = String::from_utf8_lossy(&bytes[10..]);
        assert!(text.starts_with("{'descr': '<i8', 'fortran_order': False, 'shape': (), }"));
        assert_eq!(bytes.len() % 64, 0);
    }

    #[test]
    fn padding_is_never_zero_and_always_ends_in_newline() {
        for ndim in 0..40 {
            let shape = vec![7usize; ndim];
            let bytes = NpyHeader::format("<u2", false, &shape);
            assert_eq!(bytes.len() % 64, 0);
            assert_eq!(*bytes.last().unwrap(), b'\n');
            assert_eq!(bytes[bytes.len() - 2], b' ');
            let header = NpyHeader::parse(&bytes, usize::MAX).unwrap();
            assert_eq!(header.shape, shape);
            assert_eq!(header.data_offset as usize, bytes.len());
        }
    }

    #[test]
    fn huge_headers_switch_to_version_2() {
        let shape = vec![1usize; 30_000];
        let bytes = NpyHeader::format("<f8", false, &shape);
        assert_eq!(&bytes[6..8], &[2, 0]);
        assert_eq!(bytes.len() % 64, 0);
        let header = NpyHeader::parse(&bytes, usize::MAX).unwrap();
        assert_eq!((header.version, header.shape.len()), ((2, 0), 30_000));
    }

    #[test]
    fn non_latin1_descr_switches_to_version_3() {
        let bytes = NpyHeader::format("|V\u{4e16}", false, &[2]);
        assert_eq!(&bytes[6..8], &[3, 0]);
        let header = NpyHeader::parse(&bytes, 10_000).unwrap();
        assert_eq!(header.descr, "|V\u{4e16}");
    }

    #[test]
    fn parser_accepts_what_literal_eval_accepts() {
        let cases = [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            "{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<f8\"}",
            "{ 'descr' : '<f8' ,\n'fortran_order':False,'shape':( 3 , ) }   \n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }",
        ];
        for dict in cases {
            let header = NpyHeader::parse(&header_bytes(dict, (1, 0)), 10_000).unwrap();
            assert_eq!(
                (header.descr.as_str(), header.shape.as_slice()),
                ("<f8", &[3][..]),
                "{dict}"
            );
        }
        let scalar = NpyHeader::parse(
            &header_bytes("{'descr':'|u1','fortran_order':True,'shape':()}", (1, 0)),
            100,
        )
        .unwrap();
        assert!(scalar.shape.is_empty() && scalar.fortran_order);
    }

    #[test]
    fn parser_names_what_is_wrong() {
        let cases = [
            ("[1, 2]", "header is not a dictionary: [1, 2]"),
            ("{'descr': '<f8', 'shape': (3,)}", "found ['descr', 'shape']"),
            ("{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}", "fortran_order is not a valid bool: 0"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': [3]}", "shape is not valid: [3]"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (3, -1)}", "negative dimensions"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}", "correct keys"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,", "expected"),
            ("{'descr': '<f8', 'fortran_order': Nope, 'shape': (3,)}", "\"Nope\""),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999999999999999999999,)}", "too large"),
        ];
        for (dict, fragment) in cases {
            let why = reason(NpyHeader::parse(&header_bytes(dict, (1, 0)), 10_000));
            assert!(why.contains(fragment), "{dict}: {why}");
        }
    }

    #[test]
    fn long_suffix_is_refused_in_version_3() {
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }";
        assert!(
            reason(NpyHeader::parse(&header_bytes(dict, (3, 0)), 10_000))
                .contains("end of an integer")
        );
    }

    #[test]
    fn a_structured_descr_parses_and_only_its_dtype_is_unsupported() {
        for descr in [
            "[('a', '<f4')]",
            "[('x', '<f4'), ('y', '<f4'), ('id', '<u8')]",
            "[('pos', '<f4', (3,)), ('', '|V4'), (('title', 'n'), [('a', '|u1')])]",
            "('<f8', (2, 2))",
        ] {
            let dict = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (3,), }}");
            let header = NpyHeader::parse(&header_bytes(&dict, (1, 0)), 10_000).unwrap();
            assert_eq!(
                (header.descr.as_str(), header.shape.as_slice()),
                (descr, &[3][..])
            );
            match header.dtype() {
                Err(Error::UnsupportedDtype { descr: found }) => assert_eq!(found, descr),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_descr_that_is_no_dtype_names_the_key_and_what_was_found() {
        for (descr, found) in [
            ("3", "found 3 (an integer)"),
            ("[3, 4]", "found [3, 4] (a list)"),
            ("[('a',)]", "found [('a',)] (a list)"),
            ("{'a': '<f4'}", "found {'a': '<f4'} (a dict)"),
            ("None", "found None (None)"),
        ] {
            let dict = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (3,), }}");
            let message = reason(NpyHeader::parse(&header_bytes(&dict, (1, 0)), 10_000));
            assert!(
                message.contains("'descr' is not a valid dtype descriptor"),
                "{message}"
            );
            assert!(message.contains(found), "{message}");
        }
    }

    #[test]
    fn prefix_errors_name_expected_and_found() {
        assert!(reason(NpyHeader::parse(b"\x93NUM", 100)).contains("expected 8 bytes, found 4"));
        assert!(reason(NpyHeader::parse(b"\x92NUMPY\x01\x00", 100)).contains("found b'\\x92NUMPY'"));
        assert!(reason(NpyHeader::parse(b"\x93NUMPY\x01\x01\x00\x00", 100)).contains("version 1.1"));
        assert!(reason(NpyHeader::parse(b"\x93NUMPY\x01\x00\x10", 100)).contains("header length"));
        assert!(
            reason(NpyHeader::parse(b"\x93NUMPY\x01\x00\x76\x00{'descr'", 200))
                .contains("expected 118 bytes, found 8")
        );
    }

    #[test]
    fn header_size_is_capped_before_allocating() {
        let bytes = b"\x93NUMPY\x02\x00\xff\xff\xff\xff";
        assert!(reason(NpyHeader::parse(bytes, 10_000))
            .contains("header length 4294967295 exceeds the limit of 10000"));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let dict = format!("{}{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(
            reason(NpyHeader::parse(&header_bytes(&dict, (2, 0)), usize::MAX))
                .contains("nested deeper")
        );
    }
}
