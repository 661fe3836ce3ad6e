//! The crate's built-in numeric element types as one family: their dtypes,
//! and conversions between any two of them (numpy's `astype`).
//!
//! Every conversion goes through a lossless intermediate [`Value`] (`i64`,
//! `u64`, `f64` or `Complex<f64>` hold every value of their smaller kin
//! exactly), then to the target with `num-traits`' `as` semantics. Those
//! are numpy's `astype` results for every defined case: floats truncate
//! toward zero, integers wrap, complex numbers keep their real part,
//! anything non-zero (NaN included) is `true`, and float16 rounds once, to
//! nearest even. One case differs on purpose: a float outside an integer
//! type's range, or NaN, converted to that integer type. numpy's result
//! there is whatever the machine's C cast gives (undefined behaviour in C;
//! on x86-64 usually the type's minimum, elsewhere often another value);
//! here it saturates to the type's minimum or maximum, and NaN gives 0, as
//! Rust's `as` defines on every platform.

use num_complex::Complex;
use num_traits::AsPrimitive;

use crate::element::{native as dtype, DType, Element, Kind};

/// The built-in element types, written once: every list of them (the
/// run-time enums' variants, their dispatch, the dtype-to-type match, the
/// `Scalar` impls' dtypes) is generated from this one. Invokes
/// `$callback! { $args ... }` followed by one entry per type:
/// `Variant(type, Kind, size, "descr");`, a feature-gated type with
/// `, feature = "name"` last.
macro_rules! scalar_types {
    ($($callback:ident)::+ ! { $($args:tt)* }) => {
        $($callback)::+! {
            { $($args)* }
            Bool(bool, Bool, 1, "|b1");
            I8(i8, Int, 1, "|i1");
            I16(i16, Int, 2, "<i2");
            I32(i32, Int, 4, "<i4");
            I64(i64, Int, 8, "<i8");
            U8(u8, Uint, 1, "|u1");
            U16(u16, Uint, 2, "<u2");
            U32(u32, Uint, 4, "<u4");
            U64(u64, Uint, 8, "<u8");
            F16(half::f16, Float, 2, "<f2", feature = "half");
            F32(f32, Float, 4, "<f4");
            F64(f64, Float, 8, "<f8");
            C64(num_complex::Complex<f32>, Complex, 8, "<c8");
            C128(num_complex::Complex<f64>, Complex, 16, "<c16");
        }
    };
}
pub(crate) use scalar_types;

/// A value of any [`Scalar`] type, widened without loss: what code that
/// does not know the element type can compute with.
///
/// ```
/// use ndarray_memmap::{Scalar, Value};
/// assert_eq!(7u16.to_value(), Value::Uint(7));
/// assert_eq!((-2i8).to_value(), Value::Int(-2));
/// assert_eq!(0.5f32.to_value(), Value::Float(0.5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// From `bool`.
    Bool(bool),
    /// From a signed integer.
    Int(i64),
    /// From an unsigned integer.
    Uint(u64),
    /// From `f16`, `f32` or `f64`.
    Float(f64),
    /// From `Complex<f32>` or `Complex<f64>`.
    Complex(Complex<f64>),
}

mod sealed {
    pub trait Convert: Sized {
        fn from_value(value: super::Value) -> Self;

        /// The conversion from one element of `S`: through its widened
        /// [`Value`](super::Value) unless a target needs the source's own
        /// bits (float16 from float32 keeps a signalling NaN's payload,
        /// which widening to float64 may quiet).
        fn from_scalar<S: super::Scalar>(value: S) -> Self {
            Self::from_value(value.to_value())
        }
    }
}

/// The built-in numeric element types: `bool`, the fixed-size integers,
/// `half::f16` (feature `half`), `f32`, `f64`, `Complex<f32>` and
/// `Complex<f64>`. Sealed: these are the
/// types the run-time-typed path ([`AnyMemmap`](crate::AnyMemmap)) holds
/// and converts between.
///
/// ```
/// use ndarray_memmap::{DType, Scalar};
/// assert_eq!(<u16 as Scalar>::DTYPE, "uint16".parse::<DType>()?);
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
pub trait Scalar:
    Element + Copy + PartialEq + std::fmt::Debug + std::fmt::Display + sealed::Convert
{
    /// This type's dtype, in native byte order.
    const DTYPE: DType;

    /// The value, widened without loss.
    fn to_value(self) -> Value;
}

/// Converts `value` to `T`, numpy's `astype` for one element.
pub(crate) fn cast<S: Scalar, T: Scalar>(value: S) -> T {
    T::from_scalar(value)
}

/// Real targets: from every source through `as`.
macro_rules! real_scalar {
    ($($ty:ty),* $(,)?) => {$(
        impl sealed::Convert for $ty {
            fn from_value(value: Value) -> Self {
                match value {
                    Value::Bool(b) => u8::from(b).as_(),
                    Value::Int(i) => i.as_(),
                    Value::Uint(u) => u.as_(),
                    Value::Float(f) => f.as_(),
                    Value::Complex(c) => c.re.as_(),
                }
            }
        }
    )*};
}

real_scalar!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// `float16`: every conversion rounds once, from the exact value, as
/// numpy's `astype` does (never through float32, and never with
/// `half::f16::from_f64`, which rounds wrongly: see `round_f16`).
#[cfg(feature = "half")]
#[cfg_attr(docsrs, doc(cfg(feature = "half")))]
impl sealed::Convert for half::f16 {
    fn from_value(value: Value) -> Self {
        use crate::round_f16::f16_bits_from_f64;
        let bits = match value {
            Value::Bool(b) => f16_bits_from_f64(f64::from(u8::from(b))),
            // Integers beyond 2**53 round on the way to float64, but every
            // one of them is far beyond float16's range: infinity either way.
            Value::Int(i) => f16_bits_from_f64(i.as_()),
            Value::Uint(u) => f16_bits_from_f64(u.as_()),
            Value::Float(f) => f16_bits_from_f64(f),
            Value::Complex(c) => f16_bits_from_f64(c.re),
        };
        half::f16::from_bits(bits)
    }

    fn from_scalar<S: Scalar>(value: S) -> Self {
        use crate::round_f16::f16_bits_from_f32;
        let any: &dyn std::any::Any = &value;
        if let Some(&x) = any.downcast_ref::<f32>() {
            half::f16::from_bits(f16_bits_from_f32(x))
        } else if let Some(x) = any.downcast_ref::<Complex<f32>>() {
            half::f16::from_bits(f16_bits_from_f32(x.re))
        } else if let Some(&x) = any.downcast_ref::<half::f16>() {
            x
        } else {
            Self::from_value(value.to_value())
        }
    }
}

impl sealed::Convert for bool {
    fn from_value(value: Value) -> Self {
        match value {
            Value::Bool(b) => b,
            Value::Int(i) => i != 0,
            Value::Uint(u) => u != 0,
            // NaN is non-zero, so true, as in numpy.
            Value::Float(f) => f != 0.0,
            Value::Complex(c) => c.re != 0.0 || c.im != 0.0,
        }
    }
}

macro_rules! complex_scalar {
    ($($part:ty),*) => {$(
        impl sealed::Convert for Complex<$part> {
            fn from_value(value: Value) -> Self {
                let real: $part = sealed::Convert::from_value(value);
                match value {
                    Value::Complex(c) => Complex::new(c.re.as_(), c.im.as_()),
                    _ => Complex::new(real, 0.0),
                }
            }
        }
    )*};
}

complex_scalar!(f32, f64);

/// `Scalar` for every type of the list: its dtype, and its value widened.
macro_rules! scalar_impls {
    ({} $( $variant:ident($ty:ty, $kind:ident, $size:literal, $descr:literal $(, feature = $feature:literal)?); )*) => {$(
        $(#[cfg(feature = $feature)])?
        $(#[cfg_attr(docsrs, doc(cfg(feature = $feature)))])?
        impl Scalar for $ty {
            const DTYPE: DType = dtype(Kind::$kind, $size);

            fn to_value(self) -> Value {
                widen!($kind, self)
            }
        }
    )*};
}

/// A value of kind `$kind` widened without loss.
macro_rules! widen {
    (Bool, $x:expr) => {
        Value::Bool($x)
    };
    (Complex, $x:expr) => {
        Value::Complex(Complex::new($x.re.into(), $x.im.into()))
    };
    ($kind:ident, $x:expr) => {
        Value::$kind($x.into())
    };
}

scalar_types!(scalar_impls! {});

#[cfg(test)]
mod tests {
    use super::*;

    /// The list's descr and size are the element type's own, for every
    /// type of the list.
    #[test]
    fn every_listed_type_has_the_descr_and_size_of_its_element_impl() {
        macro_rules! check_list {
            ({} $( $variant:ident($ty:ty, $kind:ident, $size:literal, $descr:literal $(, feature = $feature:literal)?); )*) => {$(
                $(#[cfg(feature = $feature)])?
                {
                    assert_eq!(<$ty as Scalar>::DTYPE.descr(), <$ty as Element>::NPY_DESCR.unwrap());
                    assert_eq!(<$ty as Scalar>::DTYPE, $descr.parse::<DType>().unwrap().to_native());
                    assert_eq!(std::mem::size_of::<$ty>(), $size);
                }
            )*};
        }
        scalar_types!(check_list! {});
    }

    #[test]
    fn casts_follow_numpy_astype() {
        assert_eq!(cast::<i64, f64>(-3), -3.0);
        assert_eq!(cast::<f64, i32>(-2.9), -2);
        assert_eq!(cast::<u16, u8>(300), 44); // wraps
        assert_eq!(cast::<i8, u8>(-1), 255);
        assert!(cast::<f32, bool>(f32::NAN));
        assert!(!cast::<i32, bool>(0));
        assert_eq!(cast::<bool, f32>(true), 1.0);
        assert_eq!(cast::<Complex<f64>, f32>(Complex::new(1.5, 2.0)), 1.5);
        assert_eq!(cast::<u8, Complex<f32>>(7), Complex::new(7.0, 0.0));
        assert_eq!(
            cast::<Complex<f32>, Complex<f64>>(Complex::new(0.5, -0.25)),
            Complex::new(0.5, -0.25)
        );
        assert_eq!(cast::<u64, u64>(u64::MAX), u64::MAX);
        assert_eq!(cast::<i64, i64>(i64::MIN), i64::MIN);
    }
}
