//! Arrays whose element type (and mode) is known only at run time: one enum
//! variant per [`Scalar`] type, each holding the typed guard (or array) with
//! dynamic rank. Opening dispatches once on the dtype and then runs the
//! typed code; so does every method here.

mod array;
mod guard;
mod open;

pub use array::{read_npy_any, AnyArray};
pub use guard::{AnyGuard, AnyMemmap, AnyMemmapMut};

/// Code generic over the element type, run on an array whose type is known
/// only at run time: the enum dispatches once and calls
/// [`visit`](ViewVisitor::visit) with the typed view.
///
/// ```
/// use ndarray::ArrayViewD;
/// use ndarray_memmap::{read_npy_any, Scalar, ViewVisitor};
///
/// /// The first element, printed whatever its type.
/// struct First;
/// impl ViewVisitor for First {
///     type Output = Option<String>;
///     fn visit<A: Scalar>(self, view: ArrayViewD<'_, A>) -> Option<String> {
///         view.iter().next().map(|x| x.to_string())
///     }
/// }
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.npy");
/// ndarray_memmap::write_npy(&path, &ndarray::array![2.5f32, 1.0])?;
/// assert_eq!(read_npy_any(&path)?.visit(First).as_deref(), Some("2.5"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ViewVisitor {
    /// What the visit returns.
    type Output;

    /// Runs on the typed view.
    fn visit<A: crate::Scalar>(self, view: ndarray::ArrayViewD<'_, A>) -> Self::Output;
}

/// Declares an enum with one variant per supported element type, each
/// holding `$holder<element, IxDyn>`.
macro_rules! any_enum {
    ($(#[$meta:meta])* $name:ident, $holder:ident, $wrap:ident, $what:literal) => {
        $(#[$meta])*
        #[non_exhaustive]
        pub enum $name {
            #[doc = concat!("`bool` (`'|b1'`) ", $what)]
            Bool($holder<bool, ndarray::IxDyn>),
            #[doc = concat!("`i8` (`'|i1'`) ", $what)]
            I8($holder<i8, ndarray::IxDyn>),
            #[doc = concat!("`i16` (`'<i2'`) ", $what)]
            I16($holder<i16, ndarray::IxDyn>),
            #[doc = concat!("`i32` (`'<i4'`) ", $what)]
            I32($holder<i32, ndarray::IxDyn>),
            #[doc = concat!("`i64` (`'<i8'`) ", $what)]
            I64($holder<i64, ndarray::IxDyn>),
            #[doc = concat!("`u8` (`'|u1'`) ", $what)]
            U8($holder<u8, ndarray::IxDyn>),
            #[doc = concat!("`u16` (`'<u2'`) ", $what)]
            U16($holder<u16, ndarray::IxDyn>),
            #[doc = concat!("`u32` (`'<u4'`) ", $what)]
            U32($holder<u32, ndarray::IxDyn>),
            #[doc = concat!("`u64` (`'<u8'`) ", $what)]
            U64($holder<u64, ndarray::IxDyn>),
            #[doc = concat!("`half::f16` (`'<f2'`, feature `half`) ", $what)]
            #[cfg(feature = "half")]
            #[cfg_attr(docsrs, doc(cfg(feature = "half")))]
            F16($holder<half::f16, ndarray::IxDyn>),
            #[doc = concat!("`f32` (`'<f4'`) ", $what)]
            F32($holder<f32, ndarray::IxDyn>),
            #[doc = concat!("`f64` (`'<f8'`) ", $what)]
            F64($holder<f64, ndarray::IxDyn>),
            #[doc = concat!("`Complex<f32>` (`'<c8'`) ", $what)]
            C64($holder<num_complex::Complex<f32>, ndarray::IxDyn>),
            #[doc = concat!("`Complex<f64>` (`'<c16'`) ", $what)]
            C128($holder<num_complex::Complex<f64>, ndarray::IxDyn>),
        }

        impl<T: $crate::Scalar> From<$holder<T, ndarray::IxDyn>> for $name {
            fn from(typed: $holder<T, ndarray::IxDyn>) -> Self {
                <T as $crate::any::wrap::Wrap>::$wrap(typed)
            }
        }
    };
}

/// Putting a typed holder into its variant: a sealed part of [`Scalar`](crate::Scalar).
pub(crate) mod wrap {
    use ndarray::{ArrayD, IxDyn};

    use crate::guard::{Memmap, MemmapMut};

    /// One variant of each run-time enum per element type.
    pub trait Wrap: Sized + 'static {
        fn wrap_array(array: ArrayD<Self>) -> super::AnyArray;
        fn wrap_read(guard: Memmap<Self, IxDyn>) -> super::AnyMemmap;
        fn wrap_write(guard: MemmapMut<Self, IxDyn>) -> super::AnyMemmapMut;
    }

    macro_rules! wrap {
        ($($(#[$attr:meta])* $variant:ident($ty:ty)),*) => {$(
            $(#[$attr])*
            impl Wrap for $ty {
                fn wrap_array(array: ArrayD<Self>) -> super::AnyArray {
                    super::AnyArray::$variant(array)
                }
                fn wrap_read(guard: Memmap<Self, IxDyn>) -> super::AnyMemmap {
                    super::AnyMemmap::$variant(guard)
                }
                fn wrap_write(guard: MemmapMut<Self, IxDyn>) -> super::AnyMemmapMut {
                    super::AnyMemmapMut::$variant(guard)
                }
            }
        )*};
    }

    wrap!(
        Bool(bool),
        I8(i8),
        I16(i16),
        I32(i32),
        I64(i64),
        U8(u8),
        U16(u16),
        U32(u32),
        U64(u64),
        #[cfg(feature = "half")]
        #[cfg_attr(docsrs, doc(cfg(feature = "half")))]
        F16(half::f16),
        F32(f32),
        F64(f64),
        C64(num_complex::Complex<f32>),
        C128(num_complex::Complex<f64>)
    );
}

/// Evaluates `$body` with `$inner` bound to the typed value inside `$value`,
/// whatever its variant: the one place the run-time path dispatches.
macro_rules! dispatch {
    ($value:expr, $name:ident, $inner:ident => $body:expr) => {
        match $value {
            $name::Bool($inner) => $body,
            $name::I8($inner) => $body,
            $name::I16($inner) => $body,
            $name::I32($inner) => $body,
            $name::I64($inner) => $body,
            $name::U8($inner) => $body,
            $name::U16($inner) => $body,
            $name::U32($inner) => $body,
            $name::U64($inner) => $body,
            #[cfg(feature = "half")]
            $name::F16($inner) => $body,
            $name::F32($inner) => $body,
            $name::F64($inner) => $body,
            $name::C64($inner) => $body,
            $name::C128($inner) => $body,
        }
    };
}

/// Evaluates `$body` with the type alias `$T` set to the element type of
/// `$dtype` (byte order aside), or `$unsupported` if there is none.
macro_rules! with_element_type {
    ($dtype:expr, $T:ident => $body:expr, else $unsupported:expr) => {{
        use $crate::element::Kind;
        match ($dtype.kind, $dtype.size) {
            (Kind::Bool, 1) => {
                type $T = bool;
                $body
            }
            (Kind::Int, 1) => {
                type $T = i8;
                $body
            }
            (Kind::Int, 2) => {
                type $T = i16;
                $body
            }
            (Kind::Int, 4) => {
                type $T = i32;
                $body
            }
            (Kind::Int, 8) => {
                type $T = i64;
                $body
            }
            (Kind::Uint, 1) => {
                type $T = u8;
                $body
            }
            (Kind::Uint, 2) => {
                type $T = u16;
                $body
            }
            (Kind::Uint, 4) => {
                type $T = u32;
                $body
            }
            (Kind::Uint, 8) => {
                type $T = u64;
                $body
            }
            #[cfg(feature = "half")]
            (Kind::Float, 2) => {
                type $T = half::f16;
                $body
            }
            (Kind::Float, 4) => {
                type $T = f32;
                $body
            }
            (Kind::Float, 8) => {
                type $T = f64;
                $body
            }
            (Kind::Complex, 8) => {
                type $T = num_complex::Complex<f32>;
                $body
            }
            (Kind::Complex, 16) => {
                type $T = num_complex::Complex<f64>;
                $body
            }
            _ => $unsupported,
        }
    }};
}

pub(crate) use {any_enum, dispatch, with_element_type};

/// Copies `view` into a new C-order array of `T`, converting each element;
/// memory is reserved fallibly, since sizes come from files.
fn convert<S: crate::Scalar, T: crate::Scalar>(
    view: ndarray::ArrayViewD<'_, S>,
) -> crate::Result<ndarray::ArrayD<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(view.len())
        .map_err(|_| crate::Error::OutOfMemory {
            path: None,
            bytes: view.len().saturating_mul(std::mem::size_of::<T>()),
        })?;
    out.extend(view.iter().map(|&x| crate::scalar::cast::<S, T>(x)));
    ndarray::ArrayD::from_shape_vec(view.raw_dim(), out).map_err(|e| crate::Error::InvalidShape {
        shape: view.shape().to_vec(),
        reason: e.to_string(),
    })
}

/// Refuses a conversion that numpy's `can_cast(..., 'safe')` refuses.
fn check_safe_cast<T: crate::Scalar>(from: crate::DType) -> crate::Result<()> {
    if from.can_cast_safely(T::DTYPE) {
        Ok(())
    } else {
        Err(crate::Error::UnsafeCast {
            from: from.descr(),
            to: T::DTYPE.descr(),
        })
    }
}

/// The error for a typed request that does not match a run-time dtype.
fn dtype_mismatch<A: crate::Scalar>(found: crate::DType, shape: &[usize]) -> crate::Error {
    crate::Error::DtypeMismatch {
        expected: format!(
            "{} ({:?})",
            crate::element::type_name::<A>(),
            A::DTYPE.descr()
        ),
        found: found.descr(),
        shape: shape.to_vec(),
    }
}
