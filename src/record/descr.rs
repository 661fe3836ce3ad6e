//! numpy's structured dtypes as `.npy` headers spell them: parse a
//! structured descr into fields with offsets, and format fields back into
//! the exact text numpy writes. Pure functions over strings; no files.
//!
//! The rules are numpy's `descr_to_dtype` and `dtype_to_descr`: a descr is a
//! list of `(name, type)` or `(name, type, shape)` entries, a name may be a
//! `(title, name)` pair, a type is a simple descr or a nested list, and
//! every gap (alignment padding, explicit offsets, trailing item size) is an
//! entry `('', '|Vn')` that is dropped on reading, its bytes counted into
//! the offsets. Offsets are implied by summing sizes.

use crate::element::simple_descr_size;
use crate::error::{Error, Result};
use crate::literal::{self, python_str_repr, python_tuple_repr, Literal};

/// A structured dtype: its fields in order, at their byte offsets, and the
/// size of one record (which counts padding between and after fields).
///
/// ```
/// use ndarray_memmap::RecordDescr;
/// // np.dtype([('a', 'u1'), ('b', '<f4')], align=True): numpy writes the gaps.
/// let text = "[('a', '|u1'), ('', '|V3'), ('b', '<f4')]";
/// let descr = RecordDescr::parse(text)?;
/// let fields: Vec<(&str, usize)> = descr.fields.iter().map(|f| (f.name.as_str(), f.offset)).collect();
/// assert_eq!((fields, descr.itemsize), (vec![("a", 0), ("b", 4)], 8));
/// assert_eq!(descr.to_descr(), text);
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordDescr {
    /// The named fields, padding entries dropped, in the order written.
    pub fields: Vec<RecordField>,
    /// Bytes of one record.
    pub itemsize: usize,
}

/// One field of a [`RecordDescr`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordField {
    /// The field's name (`a['x']`).
    pub name: String,
    /// numpy's optional title, written as `(title, name)`.
    pub title: Option<String>,
    /// The element type of the field.
    pub dtype: FieldDescr,
    /// The field's subarray shape (`('pos', '<f4', (3,))`); empty for one value.
    pub shape: Vec<usize>,
    /// Where the field starts in the record, in bytes.
    pub offset: usize,
}

/// The element type of a record field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldDescr {
    /// A simple descr: `'<f4'`, `'|S8'`, `'>i2'`, `'<M8[ns]'`.
    Simple(String),
    /// A nested record.
    Record(RecordDescr),
}

impl FieldDescr {
    /// Bytes of one value of this type.
    pub fn size(&self) -> usize {
        match self {
            FieldDescr::Simple(descr) => simple_descr_size(descr).unwrap_or(0),
            FieldDescr::Record(record) => record.itemsize,
        }
    }
}

impl RecordField {
    /// Bytes the field takes: its type's size times its subarray's length.
    pub fn size(&self) -> usize {
        self.dtype.size() * self.shape.iter().product::<usize>()
    }
}

impl RecordDescr {
    /// Parses a structured descr as numpy's `descr_to_dtype` reads it.
    ///
    /// # Errors
    /// [`Error::UnsupportedDtype`] naming the descr and what is wrong: not a
    /// list of fields, an entry of the wrong form, a type with no fixed
    /// size, or a size that overflows.
    pub fn parse(descr: &str) -> Result<RecordDescr> {
        let invalid = |why: &str| Error::UnsupportedDtype {
            descr: format!("{descr} ({why})"),
        };
        let value = literal::parse(descr).map_err(|_| invalid("not a Python literal"))?;
        from_value(&value).map_err(|why| invalid(&why))
    }

    /// The descr numpy writes for this record (`dtype_to_descr`): every gap
    /// between fields and after the last as a `('', '|Vn')` entry.
    pub fn to_descr(&self) -> String {
        let mut entries = Vec::new();
        let mut at = 0;
        for field in &self.fields {
            if field.offset > at {
                entries.push(format!("('', '|V{}')", field.offset - at));
            }
            let name = match &field.title {
                Some(title) => format!(
                    "({}, {})",
                    python_str_repr(title),
                    python_str_repr(&field.name)
                ),
                None => python_str_repr(&field.name),
            };
            let dtype = match &field.dtype {
                FieldDescr::Simple(descr) => python_str_repr(descr),
                FieldDescr::Record(record) => record.to_descr(),
            };
            entries.push(match field.shape.as_slice() {
                [] => format!("({name}, {dtype})"),
                shape => format!("({name}, {dtype}, {})", python_tuple_repr(shape)),
            });
            at = field.offset + field.size();
        }
        if self.itemsize > at {
            entries.push(format!("('', '|V{}')", self.itemsize - at));
        }
        format!("[{}]", entries.join(", "))
    }
}

fn from_value(value: &Literal) -> std::result::Result<RecordDescr, String> {
    let Literal::List(entries) = value else {
        return Err("a structured descr is a list of fields".to_owned());
    };
    let mut fields = Vec::new();
    let mut offset = 0usize;
    for entry in entries {
        let Literal::Tuple(parts) = entry else {
            return Err("each field is a tuple".to_owned());
        };
        let (name, dtype, shape) = match parts.as_slice() {
            [name, dtype] => (name, dtype, Vec::new()),
            [name, dtype, shape] => (name, dtype, shape_of(shape)?),
            _ => return Err("each field is (name, type) or (name, type, shape)".to_owned()),
        };
        let (title, name) = match name {
            Literal::Str(name) => (None, name.clone()),
            Literal::Tuple(pair) => match pair.as_slice() {
                [Literal::Str(title), Literal::Str(name)] => (Some(title.clone()), name.clone()),
                [Literal::None, Literal::Str(name)] => (None, name.clone()),
                _ => return Err("a titled name is (title, name)".to_owned()),
            },
            _ => return Err("a field name is a string".to_owned()),
        };
        let dtype = match dtype {
            Literal::Str(simple) => {
                simple_descr_size(simple)
                    .ok_or_else(|| format!("field type {simple:?} has no fixed size"))?;
                FieldDescr::Simple(simple.clone())
            }
            nested @ Literal::List(_) => FieldDescr::Record(from_value(nested)?),
            _ => return Err("a field type is a descr string or a list of fields".to_owned()),
        };
        let field = RecordField {
            name,
            title,
            dtype,
            shape,
            offset,
        };
        let size = field
            .dtype
            .size()
            .checked_mul(
                field
                    .shape
                    .iter()
                    .try_fold(1usize, |a, &n| a.checked_mul(n))
                    .ok_or("shape overflows")?,
            )
            .ok_or("field size overflows")?;
        offset = offset.checked_add(size).ok_or("record size overflows")?;
        // numpy's padding: an unnamed, unstructured void; its bytes only
        // move the next offset.
        let is_padding = field.name.is_empty()
            && field.title.is_none()
            && matches!(&field.dtype, FieldDescr::Simple(d) if d[1..].starts_with('V'));
        if !is_padding {
            fields.push(field);
        }
    }
    Ok(RecordDescr {
        fields,
        itemsize: offset,
    })
}

fn shape_of(value: &Literal) -> std::result::Result<Vec<usize>, String> {
    let dim = |v: &Literal| match v {
        Literal::Int(n) => usize::try_from(*n).map_err(|_| format!("dimension {n} is not valid")),
        _ => Err("a shape holds integers".to_owned()),
    };
    match value {
        Literal::Tuple(items) => items.iter().map(dim).collect(),
        // numpy accepts a bare integer: ('a', '<f4', 3) is (3,).
        single @ Literal::Int(_) => Ok(vec![dim(single)?]),
        _ => Err("a field shape is a tuple".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every descr numpy-formats.md shows for `np.save` of a record array.
    const NUMPY_WROTE: [&str; 9] = [
        "[('x', '<f4'), ('y', '<f4'), ('id', '<u8')]",
        "[('p', [('x', '<f4'), ('y', '<f4')]), ('t', '<i2')]",
        "[('pos', '<f4', (3,)), ('m', '<f8', (2, 2)), ('r', [('c', '>i2')], (2,))]",
        "[('a', '|u1'), ('', '|V3'), ('b', '<f4'), ('c', '|u1'), ('', '|V3')]",
        "[('h', '|u1'), ('', '|V7'), ('p', [('c', '|u1'), ('', '|V7'), ('d', '<f8')])]",
        "[(('X coordinate', 'x'), '<f4'), ('y', '<f4')]",
        "[('a', '>i4'), ('b', '>f8'), ('c', '<u2')]",
        "[('s', '|S8'), ('u', '<U4'), ('v', '|V16')]",
        "[('a', '<i4'), ('', '|V4'), ('b', '<i4'), ('', '|V4')]",
    ];

    #[test]
    fn numpys_descrs_parse_and_format_back_to_the_same_text() {
        let itemsizes = [16, 10, 48, 12, 24, 8, 14, 40, 16];
        for (text, itemsize) in NUMPY_WROTE.iter().zip(itemsizes) {
            let descr = RecordDescr::parse(text).unwrap();
            assert_eq!(descr.itemsize, itemsize, "{text}");
            assert_eq!(descr.to_descr(), *text);
        }
        let aligned = RecordDescr::parse(NUMPY_WROTE[3]).unwrap();
        let layout: Vec<(&str, usize)> = aligned
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.offset))
            .collect();
        assert_eq!(layout, [("a", 0), ("b", 4), ("c", 8)]);
    }

    #[test]
    fn malformed_descrs_are_named() {
        for (text, why) in [
            ("'<f4'", "list of fields"),
            ("[('a',)]", "(name, type)"),
            ("[(1, '<f4')]", "name is a string"),
            ("[('a', '|O')]", "no fixed size"),
            ("[('a', '<f4', (-1,))]", "not valid"),
            ("[('a', '<f8', (4611686018427387904, 4))]", "overflows"),
            ("[('a', '<f4')", "Python literal"),
        ] {
            match RecordDescr::parse(text) {
                Err(Error::UnsupportedDtype { descr }) => {
                    assert!(descr.starts_with(text) && descr.contains(why), "{descr}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
