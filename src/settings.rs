//! The builder's settings as data: what [`MemmapOptions`] holds, its
//! defaults, and [`Populate`]. The setters and terminals are in
//! `options.rs`; the engine reads these fields. Imports only leaf modules.

use std::time::Duration;

use crate::advice::Advice;
use crate::layout::Order;

/// How long an open waits for a conflicting advisory lock by default.
///
/// ```
/// use std::time::Duration;
/// use ndarray_memmap::{MemmapOptions, DEFAULT_LOCK_WAIT};
/// assert_eq!(DEFAULT_LOCK_WAIT, Duration::from_millis(200));
/// let impatient = MemmapOptions::new().lock_wait(Duration::ZERO).clone();
/// # drop(impatient);
/// ```
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_millis(200);

/// numpy's default cap on `.npy` header length, in bytes.
///
/// ```
/// use ndarray_memmap::{MemmapOptions, DEFAULT_MAX_HEADER_SIZE};
/// assert_eq!(DEFAULT_MAX_HEADER_SIZE, 10_000);
/// let trusting = MemmapOptions::new().max_header_size(1 << 20).clone();
/// # drop(trusting);
/// ```
pub const DEFAULT_MAX_HEADER_SIZE: usize = 10_000;

/// When a mapping's pages get their page-table entries (are "faulted in").
///
/// Choose with [`MemmapOptions::populate`]. Measured effects are in
/// [`docs::performance`](crate::docs::performance).
///
/// ```
/// use ndarray::Ix1;
/// use ndarray_memmap::{MemmapOptions, Populate};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("big.bin");
/// std::fs::write(&path, vec![0u8; 1 << 24])?;
/// // A whole-array reduction: let a helper thread fault pages in ahead of the sum.
/// // SAFETY: the file is private to this example.
/// let data = unsafe {
///     MemmapOptions::new().populate(Populate::Background).open_raw::<f64, Ix1>(&path)
/// }?;
/// assert_eq!(data.sum(), 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Populate {
    /// When first touched (the default). Opening costs the same for any
    /// size, and a lookup touches only its page; the first pass over the
    /// whole array pays the faults on the caller's thread.
    #[default]
    OnAccess,
    /// All of them before the open returns (`MAP_POPULATE`): the open takes
    /// as long as faulting in (or, cold, reading) the whole range.
    AtOpen,
    /// By a helper thread, front to back, starting at open, while the caller
    /// already works on the array: for whole-array passes on a machine with
    /// a spare core, the faults (and, cold, the disk reads) happen beside the
    /// computation instead of inside it. The open returns at once; dropping
    /// the guard stops and joins the helper.
    ///
    /// The helper runs ahead as far as it can, so the file should fit in
    /// memory; to stream a larger one, use [`Chunks::prefetch`](crate::Chunks::prefetch),
    /// which stays a few chunks ahead. On a new file (`w+`) the helper maps
    /// pages writable, which marks every page dirty: every page is written
    /// back to disk, so choose it when you will fill the array.
    Background,
}

/// Options for opening or creating a mapped array: numpy's `offset`, `shape`
/// and `order`, plus locking, preallocation and access hints.
///
/// Setters take `&mut self` and return it, so calls chain; the terminal
/// methods choose the mode (`open_raw` = `r`, `open_raw_mut` = `r+`,
/// `open_raw_copy` = `c`, `create_raw` = `w+`, and `_npy` twins for `.npy`
/// files) and so the guard
/// type, which makes writing through a read-only map a compile error.
///
/// ```
/// use ndarray::Ix1;
/// use ndarray_memmap::MemmapOptions;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("data.bin");
/// std::fs::write(&path, (0..12u32).flat_map(|i| (i as f32).to_ne_bytes()).collect::<Vec<u8>>())?;
/// // np.memmap(path, dtype='float32', mode='r', offset=16)
/// // SAFETY: the file is private to this example.
/// let fpo = unsafe { MemmapOptions::new().offset(16).open_raw::<f32, Ix1>(&path) }?;
/// assert_eq!(fpo.to_vec(), vec![4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct MemmapOptions {
    pub(crate) offset: u64,
    pub(crate) shape: Option<Vec<usize>>,
    pub(crate) order: Option<Order>,
    pub(crate) populate: Populate,
    pub(crate) lock: bool,
    pub(crate) lock_wait: Duration,
    pub(crate) preallocate: bool,
    pub(crate) advice: Option<Advice>,
    pub(crate) max_header_size: usize,
    pub(crate) dtype: Option<crate::element::DType>,
}

impl Default for MemmapOptions {
    fn default() -> Self {
        MemmapOptions {
            offset: 0,
            shape: None,
            order: None,
            populate: Populate::OnAccess,
            lock: true,
            lock_wait: DEFAULT_LOCK_WAIT,
            preallocate: true,
            advice: None,
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
            dtype: None,
        }
    }
}
