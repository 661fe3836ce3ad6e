//! Walking an array in blocks of about 8 MiB, in C or Fortran memory order,
//! so that a mapped file larger than memory streams through the page cache.

use ndarray::{ArrayViewD, Axis};
use ndarray_memmap::Order;

const BLOCK_BYTES: usize = 8 << 20;

/// Calls `each` with consecutive blocks whose elements, each iterated in
/// `order`, concatenate to the whole array in `order`: blocks of rows
/// (axis 0) for C order, of the last axis for Fortran order.
pub fn for_each_block<A>(
    view: &ArrayViewD<'_, A>,
    order: Order,
    mut each: impl FnMut(ArrayViewD<'_, A>),
) {
    if view.ndim() == 0 {
        return each(view.view());
    }
    let axis = match order {
        Order::C => Axis(0),
        Order::Fortran => Axis(view.ndim() - 1),
    };
    let per_step = (view.len() / view.len_of(axis).max(1)).max(1) * size_of::<A>();
    let steps = (BLOCK_BYTES / per_step.max(1)).max(1);
    for block in view.axis_chunks_iter(axis, steps) {
        each(block);
    }
}

/// The elements of `block` in `order`.
pub fn in_order<'a, A>(
    block: &'a ArrayViewD<'_, A>,
    order: Order,
) -> Box<dyn Iterator<Item = &'a A> + 'a> {
    match order {
        Order::C => Box::new(block.iter()),
        Order::Fortran => Box::new(block.t().into_iter()),
    }
}
