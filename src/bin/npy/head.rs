//! `npy head FILE [N]`: the first N values in C (logical) order, one a line.

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
    for value in source.visit(First(count)) {
        println!("{value}");
    }
    Ok(())
}
