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

/// Declares an enum with one variant per element type of
/// [`scalar_types!`](crate::scalar::scalar_types), each holding
/// `$holder<element, IxDyn>`, and `From` for every typed holder.
macro_rules! any_enum {
    ($(#[$meta:meta])* $name:ident, $holder:ident, $what:literal) => {
        $crate::scalar::scalar_types!($crate::any::any_enum_of_list! {
            $(#[$meta])* $name, $holder, $what
        });
    };
}

/// [`any_enum!`]'s expansion, given the list of element types.
macro_rules! any_enum_of_list {
    (
        { $(#[$meta:meta])* $name:ident, $holder:ident, $what:literal }
        $( $variant:ident($ty:ty, $kind:ident, $size:literal, $descr:literal $(, feature = $feature:literal)?); )*
    ) => {
        $(#[$meta])*
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = concat!("`", stringify!($ty), "` (`'", $descr, "'`) ", $what)]
                $(#[cfg(feature = $feature)])?
                $(#[cfg_attr(docsrs, doc(cfg(feature = $feature)))])?
                $variant($holder<$ty, ndarray::IxDyn>),
            )*
        }

        impl<T: $crate::Scalar> From<$holder<T, ndarray::IxDyn>> for $name {
            fn from(typed: $holder<T, ndarray::IxDyn>) -> Self {
                $(
                    $(#[cfg(feature = $feature)])?
                    let typed = match $crate::any::same::<_, $holder<$ty, ndarray::IxDyn>>(typed) {
                        Ok(it) => return $name::$variant(it),
                        Err(other) => other,
                    };
                )*
                drop(typed);
                unreachable!("every Scalar type has a variant (Scalar is sealed)")
            }
        }
    };
}

/// Evaluates `$body` with `$inner` bound to the typed value inside `$value`,
/// whatever its variant: the one place the run-time path dispatches.
macro_rules! dispatch {
    ($value:expr, $name:ident, $inner:ident => $body:expr) => {
        $crate::scalar::scalar_types!($crate::any::dispatch_of_list! {
            $value, $name, $inner, $body
        })
    };
}

/// [`dispatch!`]'s expansion, given the list of element types.
macro_rules! dispatch_of_list {
    (
        { $value:expr, $name:ident, $inner:ident, $body:expr }
        $( $variant:ident($ty:ty, $kind:ident, $size:literal, $descr:literal $(, feature = $feature:literal)?); )*
    ) => {
        match $value {
            $( $(#[cfg(feature = $feature)])? $name::$variant($inner) => $body, )*
        }
    };
}

/// Evaluates `$body` with the type alias `$T` set to the element type of
/// `$dtype` (byte order aside), or `$unsupported` if there is none.
macro_rules! with_element_type {
    ($dtype:expr, $T:ident => $body:expr, else $unsupported:expr) => {
        $crate::scalar::scalar_types!($crate::any::with_element_type_of_list! {
            $dtype, $T, $body, $unsupported
        })
    };
}

/// [`with_element_type!`]'s expansion, given the list of element types.
macro_rules! with_element_type_of_list {
    (
        { $dtype:expr, $T:ident, $body:expr, $unsupported:expr }
        $( $variant:ident($ty:ty, $kind:ident, $size:literal, $descr:literal $(, feature = $feature:literal)?); )*
    ) => {{
        let dtype: $crate::DType = $dtype;
        match (dtype.kind, dtype.size) {
            $(
                $(#[cfg(feature = $feature)])?
                ($crate::element::Kind::$kind, $size) => {
                    type $T = $ty;
                    $body
                }
            )*
            _ => $unsupported,
        }
    }};
}

/// `value` as `U`, if `T` is `U` (the typed holder of one variant), or
/// `value` back: moving between a generic parameter and the concrete type
/// of a variant without `unsafe`.
pub(crate) fn same<T: 'static, U: 'static>(value: T) -> Result<U, T> {
    let mut slot = Some(value);
    match (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<U>>() {
        Some(it) => Ok(it.take().expect("the slot was filled above")),
        None => Err(slot.expect("the slot was filled above")),
    }
}

pub(crate) use {
    any_enum, any_enum_of_list, dispatch, dispatch_of_list, with_element_type,
    with_element_type_of_list,
};

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
