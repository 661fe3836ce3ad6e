//! Fuzzes the `.npy` header parser: any input must give a header or a header
//! error, never a panic, a hang or an out-of-bounds read; a parsed header must
//! format and parse back to the same fields.
//!
//! Run (stable toolchain), seeded with headers numpy wrote:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run npy_header fuzz/corpus/npy_header fuzz/seeds`
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndarray_memmap::{Error, NpyHeader};

fuzz_target!(|data: &[u8]| {
    match NpyHeader::parse(data, 10_000) {
        Ok(header) => {
            assert!(header.data_offset as usize <= data.len());
            let again = NpyHeader::parse(&NpyHeader::format(&header.descr, header.fortran_order, &header.shape), usize::MAX)
                .expect("formatted headers parse");
            assert_eq!((again.descr, again.fortran_order, again.shape), (header.descr, header.fortran_order, header.shape));
        }
        Err(Error::NpyHeader { .. } | Error::UnsupportedDtype { .. }) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
});
