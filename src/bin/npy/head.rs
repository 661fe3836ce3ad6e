//! `npy head FILE [N]`: the first N values in C (logical) order, one a line
//! (of a Zarr array, only the chunks that hold them are read).

use ndarray::ArrayViewD;
use ndarray_memmap::{Scalar, ViewVisitor};

use crate::source::Source;
use crate::Failure;

struct First(usize);

impl ViewVisitor for First {
    type Output = Vec<String>;

    fn visit<A: Scalar>(self, view: ArrayViewD<'_, A>) -> Vec<String> {
        view.iter()
            .take(self.0)
            .map(|x| crate::stats::show(x.to_value()))
            .collect()
    }
}

pub fn run(file: &str, count: usize) -> Result<(), Failure> {
    let source = Source::open(file).map_err(Failure::file(file))?;
    let mut shown = 0;
    for part in source.parts(ndarray_memmap::Order::C) {
        if shown == count {
            break;
        }
        let values = source
            .visit_part(&part, First(count - shown))
            .map_err(Failure::file(file))?;
        shown += values.len();
        for value in values {
            println!("{value}");
        }
    }
    Ok(())
}
