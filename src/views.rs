//! Views that no file backs: the fill value of a chunk that was never
//! written (zero strides, so it costs one element), and an empty view.
//! Shared by the Zarr and HDF5 chunk views.

use ndarray::{ArrayViewD, IxDyn, ShapeBuilder};

/// An empty one-axis view.
pub(crate) fn empty_view<'a, A>() -> ArrayViewD<'a, A> {
    ndarray::ArrayView1::from(&[][..]).into_dyn()
}

/// Every element `value`, in a view of shape `clip` with zero strides:
/// absent chunks cost no memory.
pub(crate) fn fill_view<'v, A>(value: &'v A, clip: &[usize]) -> ArrayViewD<'v, A> {
    let strides = IxDyn(&vec![0; clip.len()]);
    ArrayViewD::from_shape(IxDyn(clip).strides(strides), std::slice::from_ref(value))
        .unwrap_or_else(|_| empty_view())
}
