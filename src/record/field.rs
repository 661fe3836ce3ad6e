//! One field of a record array, viewed in place: numpy's `a['x']`.

use ndarray::{ArrayRef, ArrayView, Dimension, IxDyn, ShapeBuilder};

use crate::element::type_name;
use crate::error::{Error, Result};
use crate::record::descr::FieldDescr;
use crate::record::typed::{FieldType, Record};

/// A view of field `name` of every record in `records`, without copying:
/// numpy's `a['x']`. A subarray field adds its axes after the records'
/// (`('pos', '<f4', (3,))` of `n` records is `n x 3`), as numpy does.
///
/// Only safe casts are used: the records' memory is viewed as `F`s and
/// strided, which needs the records to be contiguous in memory (any order,
/// as a map or an owned array is), the record size and the field's offset
/// to be whole multiples of `F`'s size, and `F` to accept every bit pattern
/// (so not `bool`).
///
/// ```
/// use ndarray::Array1;
/// use ndarray_memmap::{npy_record, record_field};
///
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Point { x: f32, y: f32, id: u32, _pad: u32 }
/// npy_record!(Point { x, y, id });
///
/// let points = Array1::from_shape_fn(3, |i| Point { x: i as f32, y: -(i as f32), id: 7, _pad: 0 });
/// let ys = record_field::<_, f32, _>(&points, "y")?;
/// assert_eq!(ys.iter().copied().collect::<Vec<_>>(), [0.0, -1.0, -2.0]);
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
///
/// # Errors
/// [`Error::RecordMismatch`] for a name the record lacks or a field of
/// another type than `F`; [`Error::InvalidShape`] where the layout rules
/// above do not hold (read the field by copying instead: `records.map(|r| r.x)`).
pub fn record_field<'a, R, F, D>(
    records: &'a ArrayRef<R, D>,
    name: &str,
) -> Result<ArrayView<'a, F, IxDyn>>
where
    R: Record,
    F: FieldType + bytemuck::AnyBitPattern + bytemuck::NoUninit,
    D: Dimension,
{
    let descr = R::record_descr();
    let field = descr
        .fields
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| Error::RecordMismatch {
            field: name.to_owned(),
            expected: "a field of that name".to_owned(),
            found: format!(
                "only {:?} in {}",
                descr
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>(),
                type_name::<R>()
            ),
        })?;
    let (dtype, inner) = F::field_dtype();
    // A subarray field is viewed as its element type with extra axes.
    if !inner.is_empty() || !same_type(&dtype, &field.dtype) {
        return Err(Error::RecordMismatch {
            field: name.to_owned(),
            expected: format!("{} ({})", type_name::<F>(), show(&dtype)),
            found: show(&field.dtype),
        });
    }
    let layout_error = |reason: String| Error::InvalidShape {
        shape: records.shape().to_vec(),
        reason,
    };
    let size = std::mem::size_of::<F>();
    if size == 0 || descr.itemsize % size != 0 || field.offset % size != 0 {
        return Err(layout_error(format!(
            "field {name:?} at byte {} of a {}-byte record is not a whole number of {}s from the start",
            field.offset,
            descr.itemsize,
            type_name::<F>()
        )));
    }
    let memory = records
        .as_slice_memory_order()
        .ok_or_else(|| layout_error("the records are not contiguous in memory".to_owned()))?;
    let flat: &'a [F] =
        bytemuck::try_cast_slice(bytemuck::cast_slice::<R, u8>(memory)).map_err(|e| {
            layout_error(format!(
                "the records cannot be viewed as {}: {e}",
                type_name::<F>()
            ))
        })?;
    let per_record = descr.itemsize / size;
    let start = field.offset / size;
    // Strides of the records, in records, become strides in `F`s; the
    // field's own axes follow, C order.
    let mut shape: Vec<usize> = records.shape().to_vec();
    let mut strides: Vec<usize> = records
        .strides()
        .iter()
        .map(|&s| usize::try_from(s).map(|s| s * per_record))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| layout_error("negative strides".to_owned()))?;
    let mut step = 1;
    let mut field_strides = Vec::new();
    for &n in field.shape.iter().rev() {
        field_strides.push(step);
        step *= n;
    }
    field_strides.reverse();
    shape.extend_from_slice(&field.shape);
    strides.extend(field_strides);
    // No records: an empty view of numpy's shape. The strides above would
    // still reach across the field's own axes, past an empty slice.
    if shape.contains(&0) {
        return ArrayView::from_shape(IxDyn(&shape), &flat[..0])
            .map_err(|e| layout_error(e.to_string()));
    }
    // The view starts at the first record in memory order: where
    // `to_slice_memory_order` starts (strides are non-negative here).
    let data = flat.get(start..).unwrap_or(&[]);
    ArrayView::from_shape(IxDyn(&shape).strides(IxDyn(&strides)), data)
        .map_err(|e| layout_error(e.to_string()))
}

/// Field types match if equal, treating a simple descr's `=`/native forms alike.
fn same_type(a: &FieldDescr, b: &FieldDescr) -> bool {
    match (a, b) {
        (FieldDescr::Simple(x), FieldDescr::Simple(y)) => {
            x == y
                || matches!((x.parse::<crate::DType>(), y.parse::<crate::DType>()), (Ok(p), Ok(q)) if p == q)
        }
        _ => a == b,
    }
}

fn show(dtype: &FieldDescr) -> String {
    match dtype {
        FieldDescr::Simple(descr) => descr.clone(),
        FieldDescr::Record(record) => record.to_descr(),
    }
}
