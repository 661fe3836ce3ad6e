//! A Rust struct declared as a numpy record: the [`Record`] trait, the
//! [`npy_record!`](crate::npy_record) macro that implements it, and the
//! field-by-field check of a file's descr against the type.

use crate::element::native;
use crate::element::{DType, Element, Kind};
use crate::error::{Error, Result};
use crate::record::descr::{FieldDescr, RecordDescr, RecordField};

/// A `#[repr(C)]` plain-old-data struct that is a numpy record: its fields,
/// names, types and offsets as numpy's structured dtype lists them.
///
/// Implement it with [`npy_record!`](crate::npy_record), which also
/// implements [`Element`] (so the struct maps, reads and writes as `.npy`
/// like any element) and [`FieldType`] (so it nests in other records).
pub trait Record: Element {
    /// The record's numpy layout.
    fn record_descr() -> RecordDescr;
}

/// A type that can be a record field: the crate's numeric types, fixed-size
/// arrays of them (numpy's subarray fields, `('pos', '<f4', (3,))`), and
/// records declared with [`npy_record!`](crate::npy_record).
pub trait FieldType {
    /// The field's element type and subarray shape.
    fn field_dtype() -> (FieldDescr, Vec<usize>);
}

macro_rules! scalar_field {
    ($($ty:ty => $kind:ident),* $(,)?) => {$(
        impl FieldType for $ty {
            fn field_dtype() -> (FieldDescr, Vec<usize>) {
                let dtype: DType = native(Kind::$kind, std::mem::size_of::<$ty>());
                (FieldDescr::Simple(dtype.descr()), Vec::new())
            }
        }
    )*};
}

scalar_field! {
    bool => Bool, i8 => Int, i16 => Int, i32 => Int, i64 => Int,
    u8 => Uint, u16 => Uint, u32 => Uint, u64 => Uint,
    f32 => Float, f64 => Float,
    num_complex::Complex<f32> => Complex, num_complex::Complex<f64> => Complex,
}

#[cfg(feature = "half")]
scalar_field! { half::f16 => Float }

impl<T: FieldType, const N: usize> FieldType for [T; N] {
    fn field_dtype() -> (FieldDescr, Vec<usize>) {
        let (dtype, mut shape) = T::field_dtype();
        shape.insert(0, N);
        (dtype, shape)
    }
}

/// The field type of the field a closure picks: lets [`npy_record!`] name
/// fields without naming their types. By value, not by reference, so that
/// fields of `#[repr(C, packed)]` records work too.
#[doc(hidden)]
pub fn __field_type_of<R, F: FieldType>(_pick: fn(R) -> F) -> (FieldDescr, Vec<usize>) {
    F::field_dtype()
}

/// Declares a `#[repr(C)]` plain-old-data struct as a numpy record: lists
/// the fields numpy sees, in order, and implements [`Record`], [`Element`]
/// and [`FieldType`] for it. The descr is numpy's for the struct's real
/// layout: fields at their `offset_of!` offsets, and any bytes the list
/// leaves out (explicit padding fields) written as numpy's `('', '|Vn')`
/// gaps, which is how `np.dtype(..., align=True)` is saved.
///
/// ```
/// use ndarray_memmap::{npy_record, Element, Record};
///
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Particle {
///     pos: [f32; 3],
///     vel: [f32; 3],
///     id: u64,
/// }
/// npy_record!(Particle { pos, vel, id });
///
/// assert_eq!(
///     Particle::npy_descr().unwrap(),
///     "[('pos', '<f4', (3,)), ('vel', '<f4', (3,)), ('id', '<u8')]"
/// );
///
/// // numpy's align=True layout: padding the list leaves out becomes gaps.
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Aligned {
///     a: u8,
///     _pad: [u8; 3],
///     b: f32,
/// }
/// npy_record!(Aligned { a, b });
/// assert_eq!(Aligned::npy_descr().unwrap(), "[('a', '|u1'), ('', '|V3'), ('b', '<f4')]");
/// ```
#[macro_export]
macro_rules! npy_record {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        impl $crate::Record for $ty {
            fn record_descr() -> $crate::RecordDescr {
                $crate::RecordDescr {
                    fields: ::std::vec![$({
                        let (dtype, shape) =
                            $crate::__field_type_of::<$ty, _>(|record: $ty| record.$field);
                        $crate::RecordField {
                            name: ::std::string::String::from(::std::stringify!($field)),
                            title: ::std::option::Option::None,
                            dtype,
                            shape,
                            offset: ::std::mem::offset_of!($ty, $field),
                        }
                    }),*],
                    itemsize: ::std::mem::size_of::<$ty>(),
                }
            }
        }

        impl $crate::Element for $ty {
            fn npy_descr() -> ::std::option::Option<::std::borrow::Cow<'static, str>> {
                ::std::option::Option::Some(::std::borrow::Cow::Owned(
                    <$ty as $crate::Record>::record_descr().to_descr(),
                ))
            }
        }

        impl $crate::FieldType for $ty {
            fn field_dtype() -> ($crate::FieldDescr, ::std::vec::Vec<usize>) {
                (
                    $crate::FieldDescr::Record(<$ty as $crate::Record>::record_descr()),
                    ::std::vec::Vec::new(),
                )
            }
        }
    };
}

/// How a file's structured descr relates to a record type's.
pub(crate) enum RecordMatch {
    /// Field for field the same.
    Same,
    /// The same but for the byte order of some fields: reverse each
    /// `(offset, unit)` of every record to read it.
    Swapped(Vec<(usize, usize)>),
}

/// Compares the file's structured descr with the type's, field by field.
///
/// # Errors
/// [`Error::RecordMismatch`] naming the first field that differs (name,
/// type, shape or offset), a missing or an extra field, or the record size.
pub(crate) fn record_match(found: &str, wanted: &str) -> Result<RecordMatch> {
    let file = RecordDescr::parse(found)?;
    let ours = RecordDescr::parse(wanted)?;
    let mut swaps = Vec::new();
    compare(&file, &ours, "", 0, &mut swaps)?;
    Ok(if swaps.is_empty() {
        RecordMatch::Same
    } else {
        RecordMatch::Swapped(swaps)
    })
}

fn compare(
    file: &RecordDescr,
    ours: &RecordDescr,
    prefix: &str,
    base: usize,
    swaps: &mut Vec<(usize, usize)>,
) -> Result<()> {
    let differ = |field: &str, expected: String, found: String| Error::RecordMismatch {
        field: format!("{prefix}{field}"),
        expected,
        found,
    };
    for (i, want) in ours.fields.iter().enumerate() {
        let Some(have) = file.fields.get(i) else {
            return Err(differ(
                &want.name,
                describe(want),
                "no such field".to_owned(),
            ));
        };
        if have.name != want.name {
            return Err(differ(&want.name, describe(want), describe(have)));
        }
        // A byte string field ('|S5') is the same bytes as `[u8; 5]`,
        // which describes itself as five '|u1'.
        let bytes_as_array = matches!((&have.dtype, &want.dtype), (FieldDescr::Simple(h), FieldDescr::Simple(w))
        if w == "|u1" && h.strip_prefix("|S").and_then(|n| n.parse::<usize>().ok()).is_some_and(|n| {
            want.shape.split_last() == Some((&n, &have.shape[..]))
        }));
        if bytes_as_array && have.offset == want.offset {
            continue;
        }
        if have.offset != want.offset || have.shape != want.shape {
            return Err(differ(&want.name, describe(want), describe(have)));
        }
        match (&have.dtype, &want.dtype) {
            (FieldDescr::Record(a), FieldDescr::Record(b)) => {
                let count: usize = want.shape.iter().product();
                for k in 0..count {
                    let at = base + want.offset + k * b.itemsize;
                    compare(a, b, &format!("{prefix}{}.", want.name), at, swaps)?;
                }
            }
            (FieldDescr::Simple(a), FieldDescr::Simple(b)) if a == b => {}
            (FieldDescr::Simple(a), FieldDescr::Simple(b)) => {
                // The same type in the other byte order is read by swapping.
                match (a.parse::<DType>(), b.parse::<DType>()) {
                    (Ok(x), Ok(y)) if x.to_native() == y.to_native() => {
                        let count: usize = want.shape.iter().product();
                        for k in 0..count {
                            let at = base + want.offset + k * y.size;
                            for unit in (0..y.size).step_by(x.swap_unit()) {
                                swaps.push((at + unit, x.swap_unit()));
                            }
                        }
                    }
                    _ => return Err(differ(&want.name, describe(want), describe(have))),
                }
            }
            _ => return Err(differ(&want.name, describe(want), describe(have))),
        }
    }
    if let Some(extra) = file.fields.get(ours.fields.len()) {
        return Err(differ(
            &extra.name,
            "no such field".to_owned(),
            describe(extra),
        ));
    }
    if file.itemsize != ours.itemsize {
        return Err(Error::RecordMismatch {
            field: format!("{prefix}(record size)"),
            expected: format!("{} bytes", ours.itemsize),
            found: format!("{} bytes", file.itemsize),
        });
    }
    Ok(())
}

/// `'x' '<f4' (3,) at offset 8`, for errors.
fn describe(field: &RecordField) -> String {
    let dtype = match &field.dtype {
        FieldDescr::Simple(descr) => descr.clone(),
        FieldDescr::Record(record) => record.to_descr(),
    };
    let shape = if field.shape.is_empty() {
        String::new()
    } else {
        format!(" {:?}", field.shape)
    };
    format!("{:?} {dtype}{shape} at offset {}", field.name, field.offset)
}
