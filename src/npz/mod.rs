//! `.npz` archives: numpy's `np.savez`, `np.savez_compressed` and
//! `np.load(p)` on an archive, plus what numpy cannot do, mapping stored
//! members in place.
//!
//! The zip container is the `zip` crate's; the member's array goes through
//! this crate's `.npy` code and, for maps, its one mapping path.

mod names;
mod read;
mod write;

pub use read::NpzArchive;
pub use write::{NpzMember, NpzWriter};
