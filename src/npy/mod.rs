//! `.npy` files: mapping them (`open_memmap`, `np.load(mmap_mode=...)`) and
//! reading or writing them without a mapping (`np.load`, `np.save`).

pub(crate) mod dtype;
pub(crate) mod header;
pub(crate) mod io;
pub(crate) mod open;
mod rewrite;
mod view;
mod writer;

pub use header::NpyHeader;
pub(crate) use io::read_header_of;
#[cfg(feature = "npz")]
pub(crate) use io::read_npy_stream;
pub use io::{read_npy, read_npy_from, read_npy_header, write_npy, write_npy_to};
pub use rewrite::rewrite_npy_with_room;
pub use view::{view_npy, view_npy_mut};
pub use writer::NpyWriter;
