//! Records: numpy's structured dtypes. `descr` parses and formats their
//! header text (pure); `typed` declares a Rust struct as a record; `field`
//! views one field of a record array in place.

mod descr;
mod field;
mod typed;

pub use descr::{FieldDescr, RecordDescr, RecordField};
pub use field::record_field;
#[doc(hidden)]
pub use typed::__field_type_of;
pub(crate) use typed::{record_match, RecordMatch};
pub use typed::{FieldType, Record};
