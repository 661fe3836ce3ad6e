//! Fuzzes `.npz` reading from bytes: any input must give an archive or a
//! typed error, and every member of an archive a header, an array or a
//! typed error; never a panic, a hang or an allocation the input does not
//! hold.
//!
//! Run (stable toolchain), seeded with archives numpy wrote and bad ones:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run npz fuzz/corpus/npz fuzz/seeds_npz`
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use ndarray_memmap::NpzArchive;

fuzz_target!(|data: &[u8]| {
    let Ok(mut archive) = NpzArchive::new(Cursor::new(data)) else {
        return;
    };
    let names: Vec<String> = archive.names().into_iter().map(str::to_owned).collect();
    for name in names {
        if let Ok(header) = archive.header(&name) {
            // A member's data can be no larger than the input: a header
            // that says otherwise must be refused before allocating.
            let _ = (header, archive.read_any(&name));
        }
    }
});
