//! `npy stats FILE`: count, NaN count, minimum, maximum and mean, in one
//! streamed pass. Like numpy's `nanmin`, `nanmax` and `nanmean`, NaNs are
//! counted and left out; complex numbers compare as numpy orders them
//! (real part first); 64-bit integers are summed exactly.

use ndarray::ArrayViewD;
use ndarray_memmap::{Order, Scalar, Value, ViewVisitor};
use num_complex::Complex;

use crate::blocks::{for_each_block, in_order};
use crate::progress::Progress;
use crate::source::Source;
use crate::Failure;

#[derive(Default)]
struct Stats {
    count: u64,
    nan: u64,
    min: Option<Value>,
    max: Option<Value>,
    sum_int: i128,
    sum_float: Complex<f64>,
}

impl Stats {
    fn add(&mut self, value: Value) {
        self.count += 1;
        match value {
            Value::Float(f) if f.is_nan() => return self.nan += 1,
            Value::Complex(c) if c.is_nan() => return self.nan += 1,
            Value::Bool(b) => self.sum_int += i128::from(b),
            Value::Int(i) => self.sum_int += i128::from(i),
            Value::Uint(u) => self.sum_int += i128::from(u),
            Value::Float(f) => self.sum_float.re += f,
            Value::Complex(c) => self.sum_float += c,
        }
        if self.min.is_none_or(|min| less(value, min)) {
            self.min = Some(value);
        }
        if self.max.is_none_or(|max| less(max, value)) {
            self.max = Some(value);
        }
    }

    /// Adds another part's statistics to these.
    fn merge(&mut self, other: Stats) {
        self.count += other.count;
        self.nan += other.nan;
        self.sum_int += other.sum_int;
        self.sum_float += other.sum_float;
        if let Some(min) = other.min {
            if self.min.is_none_or(|m| less(min, m)) {
                self.min = Some(min);
            }
        }
        if let Some(max) = other.max {
            if self.max.is_none_or(|m| less(m, max)) {
                self.max = Some(max);
            }
        }
    }

    fn mean(&self) -> Option<Value> {
        let n = self.count - self.nan;
        let mean = match self.min? {
            Value::Complex(_) => Value::Complex(self.sum_float / n as f64),
            Value::Float(_) => Value::Float(self.sum_float.re / n as f64),
            _ => Value::Float(self.sum_int as f64 / n as f64),
        };
        Some(mean)
    }
}

/// numpy's order for values of one kind (NaNs are never compared here).
fn less(a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::Bool(a), Value::Bool(b)) => !a && b,
        (Value::Int(a), Value::Int(b)) => a < b,
        (Value::Uint(a), Value::Uint(b)) => a < b,
        (Value::Float(a), Value::Float(b)) => a < b,
        (Value::Complex(a), Value::Complex(b)) => (a.re, a.im) < (b.re, b.im),
        _ => false,
    }
}

/// A value as numpy prints it: `True`, `-3`, `2.5`, `(1.5-2j)`.
pub fn show(value: Value) -> String {
    match value {
        Value::Bool(b) => if b { "True" } else { "False" }.to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Complex(c) => format!(
            "({:?}{}{:?}j)",
            c.re,
            if c.im < 0.0 || c.im.is_sign_negative() {
                ""
            } else {
                "+"
            },
            c.im
        ),
    }
}

struct Pass(Order);

impl ViewVisitor for Pass {
    type Output = Stats;

    fn visit<A: Scalar>(self, view: ArrayViewD<'_, A>) -> Stats {
        let mut stats = Stats::default();
        let mut progress = Progress::new((view.len() * size_of::<A>()) as u64);
        for_each_block(&view, self.0, |block| {
            for &x in in_order(&block, self.0) {
                stats.add(x.to_value());
            }
            progress.advance((block.len() * size_of::<A>()) as u64);
        });
        progress.finish();
        stats
    }
}

pub fn run(file: &str) -> Result<(), Failure> {
    let source = Source::open(file).map_err(Failure::file(file))?;
    let mut stats = Stats::default();
    for part in source.parts(source.order()) {
        let part = source
            .visit_part(&part, Pass(source.order()))
            .map_err(Failure::file(file))?;
        stats.merge(part);
    }
    let shown = |value: Option<Value>| value.map_or("-".to_owned(), show);
    println!("dtype     {}", source.dtype());
    println!("shape     {}", crate::info::numpy_shape(source.shape()));
    println!("count     {}", stats.count);
    println!("nan       {}", stats.nan);
    println!("min       {}", shown(stats.min));
    println!("max       {}", shown(stats.max));
    println!("mean      {}", shown(stats.mean()));
    Ok(())
}
