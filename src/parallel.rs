//! With the `rayon` feature: rayon's `par_iter()` and `par_iter_mut()` on
//! the guards themselves, as on an owned `Array`. (On views, ndarray 0.17
//! offers `into_par_iter()` and `par_azip!`, not `par_iter()`.)
//! The example is in the crate docs, under Features.

use ndarray::parallel::prelude::*;
use ndarray::parallel::Parallel;
use ndarray::{ArrayView, ArrayViewMut, Dimension};

use crate::element::Element;
use crate::guard::{Memmap, MemmapMut};

#[cfg_attr(docsrs, doc(cfg(feature = "rayon")))]
impl<'a, A: Element, D: Dimension> IntoParallelIterator for &'a Memmap<A, D> {
    type Iter = Parallel<ArrayView<'a, A, D>>;
    type Item = &'a A;

    fn into_par_iter(self) -> Self::Iter {
        self.view().into_par_iter()
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "rayon")))]
impl<'a, A: Element, D: Dimension> IntoParallelIterator for &'a MemmapMut<A, D> {
    type Iter = Parallel<ArrayView<'a, A, D>>;
    type Item = &'a A;

    fn into_par_iter(self) -> Self::Iter {
        self.view().into_par_iter()
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "rayon")))]
impl<'a, A: Element, D: Dimension> IntoParallelIterator for &'a mut MemmapMut<A, D> {
    type Iter = Parallel<ArrayViewMut<'a, A, D>>;
    type Item = &'a mut A;

    fn into_par_iter(self) -> Self::Iter {
        self.view_mut().into_par_iter()
    }
}
