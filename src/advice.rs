//! The access hints a caller gives the kernel. A leaf: the error type and
//! the mapping both use it.

/// An access-pattern hint for the kernel (`madvise`). A no-op where the
/// platform has no `madvise`.
///
/// Give one when opening ([`MemmapOptions::advice`](crate::MemmapOptions::advice))
/// or later ([`Memmap::advise`](crate::Memmap::advise), `advise_rows`). The
/// measured effect of each is in [`docs::performance`](crate::docs::performance).
///
/// ```
/// use ndarray::Array1;
/// use ndarray_memmap::{Advice, MemmapExt};
/// let data = Array1::<f32>::scratch(1 << 20)?;
/// data.advise(Advice::Sequential)?;
/// data.advise_rows(Advice::WillNeed, 0..4096)?;
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Advice {
    /// No special treatment (the kernel's default read-ahead).
    Normal,
    /// Pages will be read in order: read ahead aggressively, drop pages behind.
    Sequential,
    /// Pages will be read in no order: read only the page that faults.
    Random,
    /// Pages will be needed soon: start reading them now.
    WillNeed,
    /// Pages are not needed now: the kernel may drop them from this mapping;
    /// they are read again from the file on the next access. Refused on
    /// copy-on-write maps, whose private changes it would throw away.
    DontNeed,
}
