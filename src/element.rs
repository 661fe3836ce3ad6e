//! Element types that may live in a mapped file, and numpy's dtype strings for them.

use std::borrow::Cow;

use bytemuck::checked::CheckedCastError;
use bytemuck::{CheckedBitPattern, NoUninit};
use num_complex::Complex;

use crate::error::{Error, Result};

/// A type whose values can be read from and written to a mapped file.
///
/// The bounds are [`bytemuck`]'s: [`NoUninit`] (no padding, so every element
/// written is fully initialised bytes) and [`CheckedBitPattern`] (bytes are
/// validated before they become elements; for plain-old-data types every
/// pattern is valid and the check compiles away, for `bool` each byte must be
/// 0 or 1). Implementing `Element` therefore needs no `unsafe`.
///
/// Implemented for `bool`, every fixed-size primitive integer, `f32`, `f64`,
/// `Complex<f32>` and `Complex<f64>`; `half::f16` and `half::bf16` (feature
/// `half`); and `[u8; N]` for numpy's byte strings and voids (`'|SN'`,
/// `'|VN'`).
///
/// # Adding your own type
///
/// Derive bytemuck's `Pod` (which proves the type has no padding and accepts
/// every bit pattern) and implement the trait, naming the numpy descr if the
/// type is to be stored in `.npy` files:
///
/// ```
/// use ndarray_memmap::Element;
///
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Rgba { r: u8, g: u8, b: u8, a: u8 }
///
/// impl Element for Rgba {
///     const NPY_DESCR: Option<&'static str> = Some("|V4");
/// }
/// ```
///
/// # A descr must fit the type
///
/// The descr is checked against the type when it is first used with a
/// `.npy` file, at compile time: it must be a simple descr (byte order,
/// kind, item size: `'<f8'`, `'|V16'`, `'|S8'`, `'<M8[ns]'`) whose item
/// size is the type's size. A 4-byte type that claims to be `'<f8'` does not
/// compile:
///
/// ```compile_fail,E0080
/// # use ndarray_memmap::Element;
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct W(u32);
/// impl Element for W {
///     const NPY_DESCR: Option<&'static str> = Some("<f8");
/// }
/// let _ = ndarray_memmap::write_npy("w.npy", &ndarray::arr1(&[W(1)]));
/// ```
///
/// and neither does a structured descr, which this trait cannot describe:
///
/// ```compile_fail,E0080
/// # use ndarray_memmap::Element;
/// # #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// # #[repr(C)]
/// # struct P { x: f32, y: f32 }
/// impl Element for P {
///     const NPY_DESCR: Option<&'static str> = Some("[('x', '<f4'), ('y', '<f4')]");
/// }
/// let _ = ndarray_memmap::read_npy::<P, ndarray::Ix1>("p.npy");
/// ```
pub trait Element: CheckedBitPattern + NoUninit + Send + Sync + 'static {
    /// The numpy descr of this type in native byte order (`"<f8"` for `f64`
    /// on little-endian machines), or `None` if it has none. Needed only for
    /// `.npy` files; checked against the type's size (see above).
    const NPY_DESCR: Option<&'static str> = None;

    /// The descr written for this type: [`NPY_DESCR`](Element::NPY_DESCR)
    /// unless a type computes it (`[u8; N]` writes `'|SN'`, which no
    /// constant can spell for every `N`).
    fn npy_descr() -> Option<Cow<'static, str>> {
        Self::NPY_DESCR.map(Cow::Borrowed)
    }

    /// Whether a file of `descr` holds values of this type, besides its own
    /// descr (`[u8; N]` also reads numpy's raw `'|VN'`). None by default.
    fn reads_descr(descr: &str) -> bool {
        let _ = descr;
        false
    }

    /// Views bytes as elements, checking alignment and length, and every
    /// value where some bit patterns are invalid.
    ///
    /// The default checks each value through [`CheckedBitPattern`]. For a
    /// `Pod` type every pattern is valid and an optimised build removes the
    /// check, but an unoptimised one still loops over every element at open
    /// (seconds for a few GiB). Override both methods with bytemuck's plain
    /// casts (as the crate's numeric types do) to skip that:
    ///
    /// ```
    /// # #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
    /// # #[repr(C)]
    /// # struct Rgba { r: u8, g: u8, b: u8, a: u8 }
    /// use bytemuck::checked::CheckedCastError;
    /// impl ndarray_memmap::Element for Rgba {
    ///     fn cast_slice(bytes: &[u8]) -> Result<&[Self], CheckedCastError> {
    ///         bytemuck::try_cast_slice(bytes).map_err(CheckedCastError::PodCastError)
    ///     }
    ///     fn cast_slice_mut(bytes: &mut [u8]) -> Result<&mut [Self], CheckedCastError> {
    ///         bytemuck::try_cast_slice_mut(bytes).map_err(CheckedCastError::PodCastError)
    ///     }
    /// }
    /// ```
    ///
    /// # Errors
    /// bytemuck's error: misaligned or ragged bytes, or an invalid value.
    fn cast_slice(bytes: &[u8]) -> std::result::Result<&[Self], CheckedCastError> {
        bytemuck::checked::try_cast_slice(bytes)
    }

    /// [`cast_slice`](Element::cast_slice) for mutable bytes.
    ///
    /// # Errors
    /// As for `cast_slice`.
    fn cast_slice_mut(bytes: &mut [u8]) -> std::result::Result<&mut [Self], CheckedCastError> {
        bytemuck::checked::try_cast_slice_mut(bytes)
    }
}

/// The compile-time check of `A::NPY_DESCR` against `A`. A type of its own,
/// not a trait constant, so that an implementation cannot override it.
pub(crate) struct DescrCheck<A>(std::marker::PhantomData<A>);

impl<A: Element> DescrCheck<A> {
    /// Evaluated (and so checked) wherever a `.npy` path names it.
    pub(crate) const OK: () = match A::NPY_DESCR {
        None => (),
        Some(descr) => match simple_descr_size(descr) {
            Some(size) if size == std::mem::size_of::<A>() => (),
            Some(_) => panic!(
                "Element::NPY_DESCR declares an item size that is not the size of the type"
            ),
            None => panic!(
                "Element::NPY_DESCR must be a simple numpy descr: a byte order ('<', '>', '|'), a kind letter and an item size, such as '<f8' or '|V16'"
            ),
        },
    };
}

/// The item size a simple numpy descr declares (`'<f8'` → 8, `'<U3'` → 12,
/// `'<M8[ns]'` → 8), or `None` for anything else (structured, `'|O'`,
/// missing byte order or size): what numpy's `dtype.str` can be for an
/// unstructured type with a fixed size.
pub(crate) const fn simple_descr_size(descr: &str) -> Option<usize> {
    let b = descr.as_bytes();
    if b.len() < 3 || !matches!(b[0], b'<' | b'>' | b'|') {
        return None;
    }
    let kind = b[1];
    if !matches!(
        kind,
        b'b' | b'i' | b'u' | b'f' | b'c' | b'S' | b'U' | b'V' | b'm' | b'M'
    ) {
        return None;
    }
    let mut i = 2;
    let mut size: usize = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        size = match size.checked_mul(10) {
            Some(n) => match n.checked_add((b[i] - b'0') as usize) {
                Some(n) => n,
                None => return None,
            },
            None => return None,
        };
        i += 1;
    }
    if i == 2 || size == 0 {
        return None;
    }
    // Only datetimes carry a unit: `'<M8[ns]'`.
    if i < b.len() {
        if !matches!(kind, b'm' | b'M') || b[i] != b'[' || b[b.len() - 1] != b']' {
            return None;
        }
        let mut j = i + 1;
        while j < b.len() - 1 {
            if !b[j].is_ascii_alphanumeric() {
                return None;
            }
            j += 1;
        }
    }
    if kind == b'U' {
        size.checked_mul(4)
    } else {
        Some(size)
    }
}

/// The plain casts for types where every bit pattern is a valid value.
macro_rules! pod_casts {
    () => {
        fn cast_slice(bytes: &[u8]) -> std::result::Result<&[Self], CheckedCastError> {
            bytemuck::try_cast_slice(bytes).map_err(CheckedCastError::PodCastError)
        }

        fn cast_slice_mut(bytes: &mut [u8]) -> std::result::Result<&mut [Self], CheckedCastError> {
            bytemuck::try_cast_slice_mut(bytes).map_err(CheckedCastError::PodCastError)
        }
    };
}

macro_rules! element {
    ($($ty:ty => $code:literal),* $(,)?) => {$(
        impl Element for $ty {
            const NPY_DESCR: Option<&'static str> = Some(native_descr!($code));
            pod_casts!();
        }
    )*};
}

/// Prefixes a multi-byte type code with the target's byte-order character.
macro_rules! native_descr {
    ($code:literal) => {
        if cfg!(target_endian = "little") {
            concat!("<", $code)
        } else {
            concat!(">", $code)
        }
    };
}

impl Element for bool {
    const NPY_DESCR: Option<&'static str> = Some("|b1");
}
impl Element for u8 {
    const NPY_DESCR: Option<&'static str> = Some("|u1");
    pod_casts!();
}
impl Element for i8 {
    const NPY_DESCR: Option<&'static str> = Some("|i1");
    pod_casts!();
}
element! {
    u16 => "u2", i16 => "i2", u32 => "u4", i32 => "i4", u64 => "u8", i64 => "i8",
    f32 => "f4", f64 => "f8", Complex<f32> => "c8", Complex<f64> => "c16",
}

/// numpy's `float16` (`'<f2'`), through the `half` crate (feature `half`).
#[cfg(feature = "half")]
#[cfg_attr(docsrs, doc(cfg(feature = "half")))]
impl Element for half::f16 {
    const NPY_DESCR: Option<&'static str> = Some(native_descr!("f2"));
    pod_casts!();
}

/// `bfloat16` has no numpy descr: `ml_dtypes` saves it as two raw bytes,
/// `'<V2'`, which numpy reads back as `V2`. This type claims that descr, so
/// a `'<V2'` file opens as `bf16` only when the caller asks for `bf16`; the
/// run-time-typed path, which cannot know, refuses it.
#[cfg(feature = "half")]
#[cfg_attr(docsrs, doc(cfg(feature = "half")))]
impl Element for half::bf16 {
    const NPY_DESCR: Option<&'static str> = Some(native_descr!("V2"));
    pod_casts!();
}

/// numpy's fixed-width byte strings and raw voids: `'|SN'` (`np.bytes_`,
/// NUL-padded) and `'|VN'` (`np.void`) both hold `N` bytes an element, read
/// as `[u8; N]`; written as `'|SN'`, what `np.save` of a bytes array writes.
/// [`trim_nul`] shows an `S` value as numpy does, trailing NULs removed.
impl<const N: usize> Element for [u8; N] {
    fn npy_descr() -> Option<Cow<'static, str>> {
        Some(Cow::Owned(format!("|S{N}")))
    }

    fn reads_descr(descr: &str) -> bool {
        // A void has no byte order; ml_dtypes writes its types as `'<VN'`.
        ["|", "<", ">"]
            .iter()
            .any(|order| descr == format!("{order}V{N}"))
    }

    pod_casts!();
}

/// An `S` value as numpy shows it: the bytes before the trailing NULs.
///
/// ```
/// assert_eq!(ndarray_memmap::trim_nul(b"ab\0\0"), b"ab");
/// assert_eq!(String::from_utf8_lossy(ndarray_memmap::trim_nul(b"name\0\0\0\0")), "name");
/// ```
pub fn trim_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// The byte order of a dtype as written in its descr.
///
/// ```
/// use ndarray_memmap::{ByteOrder, DType};
/// assert_eq!(">i4".parse::<DType>()?.byte_order, ByteOrder::Big);
/// assert_eq!("|u1".parse::<DType>()?.byte_order, ByteOrder::NotApplicable);
/// assert!("<f8".parse::<DType>()?.is_native() == (ByteOrder::NATIVE == ByteOrder::Little));
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `'<'`.
    Little,
    /// `'>'`.
    Big,
    /// `'|'`: single bytes, or types with no byte order.
    NotApplicable,
}

impl ByteOrder {
    /// The byte order of the machine running this code.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "little") {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    };
}

/// The kind of a numpy dtype this crate understands.
///
/// ```
/// use ndarray_memmap::{DType, Kind};
/// let kinds: Vec<Kind> = ["|b1", "<i8", "<u2", "<f4", "<c16"]
///     .iter()
///     .map(|d| d.parse::<DType>().map(|t| t.kind))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(kinds, [Kind::Bool, Kind::Int, Kind::Uint, Kind::Float, Kind::Complex]);
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `b`: bool.
    Bool,
    /// `i`: signed integer.
    Int,
    /// `u`: unsigned integer.
    Uint,
    /// `f`: IEEE float.
    Float,
    /// `c`: complex, a pair of floats.
    Complex,
}

/// A numpy dtype of the kinds the crate maps: kind, item size and byte order.
///
/// Parsed from a `.npy` descr such as `'<f8'`, `'>i4'` or `'|b1'`.
///
/// ```
/// use ndarray_memmap::{ByteOrder, DType, Kind};
/// let dtype: DType = "<c16".parse()?;
/// assert_eq!((dtype.kind, dtype.size, dtype.byte_order), (Kind::Complex, 16, ByteOrder::Little));
/// assert_eq!(dtype.descr(), "<c16");
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DType {
    /// What the bytes mean.
    pub kind: Kind,
    /// Bytes per element.
    pub size: usize,
    /// Byte order of multi-byte values.
    pub byte_order: ByteOrder,
}

impl DType {
    /// The canonical descr numpy writes for this dtype (`'|u1'`, `'<f8'`, ...).
    pub fn descr(&self) -> String {
        let order = match self.byte_order {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
            ByteOrder::NotApplicable => '|',
        };
        let kind = match self.kind {
            Kind::Bool => 'b',
            Kind::Int => 'i',
            Kind::Uint => 'u',
            Kind::Float => 'f',
            Kind::Complex => 'c',
        };
        format!("{order}{kind}{}", self.size)
    }

    /// Size in bytes of the unit whose bytes are reversed to change byte
    /// order: the item for numbers, each half for complex numbers.
    pub fn swap_unit(&self) -> usize {
        match self.kind {
            Kind::Complex => self.size / 2,
            _ => self.size,
        }
    }

    /// Whether the data can be used in place on this machine.
    pub fn is_native(&self) -> bool {
        self.byte_order == ByteOrder::NATIVE || self.byte_order == ByteOrder::NotApplicable
    }

    /// The same dtype in native byte order.
    pub fn to_native(self) -> DType {
        match self.byte_order {
            ByteOrder::NotApplicable => self,
            _ => DType {
                byte_order: ByteOrder::NATIVE,
                ..self
            },
        }
    }
}

impl std::str::FromStr for DType {
    type Err = Error;

    /// Parses a dtype string as `np.dtype(...)` accepts it, for the types the
    /// crate supports: a descr (an optional `<`, `>`, `|` or `=` prefix, a
    /// kind letter and an item size: `'<f4'`, `'i8'`), a one-letter code
    /// (`'d'`, `'b'` for int8, `'?'` for bool, `'B'`, `'h'`, `'F'`...,
    /// prefix allowed) or a name (`'float32'`, `'uint8'`, `'complex128'`,
    /// `'bool'`, `'int'`, `'double'`...). Single-byte types normalise to `|`
    /// whatever their prefix, as numpy does.
    ///
    /// ```
    /// use ndarray_memmap::DType;
    /// for (spelling, descr) in [("float32", "<f4"), ("d", "<f8"), ("b", "|i1"), ("?", "|b1"),
    ///                           (">H", ">u2"), ("complex", "<c16"), ("int", "<i8")] {
    ///     assert_eq!(spelling.parse::<DType>()?.descr(), descr);
    /// }
    /// assert!("longdouble".parse::<DType>().is_err()); // valid numpy, not supported here
    /// # Ok::<(), ndarray_memmap::Error>(())
    /// ```
    fn from_str(descr: &str) -> Result<DType> {
        let unsupported = || Error::UnsupportedDtype {
            descr: descr.to_owned(),
        };
        if let Some(dtype) = numpy_name(descr) {
            return Ok(dtype);
        }
        let (order, rest) = match descr.as_bytes().first() {
            Some(b'<') => (ByteOrder::Little, &descr[1..]),
            Some(b'>') => (ByteOrder::Big, &descr[1..]),
            Some(b'|') => (ByteOrder::NotApplicable, &descr[1..]),
            Some(b'=') => (ByteOrder::NATIVE, &descr[1..]),
            _ => (ByteOrder::NATIVE, descr),
        };
        if let Some(dtype) = letter_code(rest, order) {
            return Ok(dtype);
        }
        let mut chars = rest.chars();
        let kind = match chars.next() {
            Some('b') => Kind::Bool,
            Some('i') => Kind::Int,
            Some('u') => Kind::Uint,
            Some('f') => Kind::Float,
            Some('c') => Kind::Complex,
            _ => return Err(unsupported()),
        };
        let digits = chars.as_str();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unsupported());
        }
        let size: usize = digits.parse().map_err(|_| unsupported())?;
        let supported = match kind {
            Kind::Bool => size == 1,
            Kind::Int | Kind::Uint => matches!(size, 1 | 2 | 4 | 8),
            Kind::Float => matches!(size, 4 | 8) || (size == 2 && cfg!(feature = "half")),
            Kind::Complex => matches!(size, 8 | 16),
        };
        if !supported {
            return Err(unsupported());
        }
        let byte_order = match order {
            _ if size == 1 => ByteOrder::NotApplicable,
            // numpy reads `'|f4'` as native order.
            ByteOrder::NotApplicable => ByteOrder::NATIVE,
            order => order,
        };
        Ok(DType {
            kind,
            size,
            byte_order,
        })
    }
}

/// A dtype in native byte order (single bytes: `|`).
pub(crate) const fn native(kind: Kind, size: usize) -> DType {
    DType {
        kind,
        size,
        byte_order: if size == 1 {
            ByteOrder::NotApplicable
        } else {
            ByteOrder::NATIVE
        },
    }
}

/// numpy's names for the supported types (`np.dtype('float32')`); numpy 2
/// on a 64-bit Linux machine, where `long` and `intp` are 64 bits.
fn numpy_name(name: &str) -> Option<DType> {
    let (kind, size) = match name {
        "bool" | "bool_" => (Kind::Bool, 1),
        "int8" | "byte" => (Kind::Int, 1),
        "int16" | "short" => (Kind::Int, 2),
        "int32" | "intc" => (Kind::Int, 4),
        "int64" | "int" | "int_" | "intp" | "long" | "longlong" => (Kind::Int, 8),
        "uint8" | "ubyte" => (Kind::Uint, 1),
        "uint16" | "ushort" => (Kind::Uint, 2),
        "uint32" | "uintc" => (Kind::Uint, 4),
        "uint64" | "uint" | "uintp" | "ulong" | "ulonglong" => (Kind::Uint, 8),
        "float16" | "half" if cfg!(feature = "half") => (Kind::Float, 2),
        "float32" | "single" => (Kind::Float, 4),
        "float64" | "float" | "double" => (Kind::Float, 8),
        "complex64" | "csingle" => (Kind::Complex, 8),
        "complex128" | "complex" | "cdouble" => (Kind::Complex, 16),
        _ => return None,
    };
    Some(native(kind, size))
}

/// numpy's one-letter type codes for the supported types (`'d'`, `'b'` =
/// int8, `'?'` = bool), in the byte order of the prefix, if any.
fn letter_code(code: &str, order: ByteOrder) -> Option<DType> {
    let (kind, size) = match code {
        "?" => (Kind::Bool, 1),
        "b" => (Kind::Int, 1),
        "B" => (Kind::Uint, 1),
        "h" => (Kind::Int, 2),
        "H" => (Kind::Uint, 2),
        "i" => (Kind::Int, 4),
        "I" => (Kind::Uint, 4),
        "l" | "q" | "p" | "n" => (Kind::Int, 8),
        "L" | "Q" | "P" | "N" => (Kind::Uint, 8),
        "e" if cfg!(feature = "half") => (Kind::Float, 2),
        "f" => (Kind::Float, 4),
        "d" => (Kind::Float, 8),
        "F" => (Kind::Complex, 8),
        "D" => (Kind::Complex, 16),
        _ => return None,
    };
    let dtype = native(kind, size);
    Some(match order {
        ByteOrder::Little | ByteOrder::Big if size > 1 => DType {
            byte_order: order,
            ..dtype
        },
        _ => dtype,
    })
}

impl DType {
    /// Whether numpy's `np.can_cast(self, to, 'safe')` is true: every value
    /// of `self` has a value of `to` (integers of 64 bits to `float64` and
    /// `complex128` count as safe in numpy, though large ones round). Byte
    /// order does not matter, as in numpy.
    ///
    /// ```
    /// use ndarray_memmap::DType;
    /// let dt = |s: &str| s.parse::<DType>().unwrap();
    /// assert!(dt("u1").can_cast_safely(dt("i2")));
    /// assert!(!dt("u8").can_cast_safely(dt("i8")));
    /// assert!(dt("i8").can_cast_safely(dt("f8")));
    /// assert!(!dt("f8").can_cast_safely(dt("f4")));
    /// assert!(dt("?").can_cast_safely(dt("c8")) && !dt("u1").can_cast_safely(dt("?")));
    /// ```
    pub fn can_cast_safely(self, to: DType) -> bool {
        use Kind::*;
        let (from_size, to_size) = (self.size, to.size);
        match (self.kind, to.kind) {
            (Bool, _) => true,
            (_, Bool) => false,
            (Uint, Uint) | (Int, Int) | (Float, Float) | (Complex, Complex) => to_size >= from_size,
            (Uint, Int) => to_size > from_size,
            (Int, Uint) => false,
            // float16 holds integers of 8 bits, float32 of up to 16; float64
            // numpy calls safe for all (complex: the same, per part).
            (Int | Uint, Float) => to_size == 8 || from_size < to_size,
            (Int | Uint, Complex) => to_size == 16 || from_size < to_size / 2,
            (Float, Complex) => to_size >= 2 * from_size,
            (Float | Complex, Int | Uint) | (Complex, Float) => false,
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.descr())
    }
}

/// The short Rust name of `A`, for error messages (`f64`, `Complex<f32>`).
pub(crate) fn type_name<A>() -> &'static str {
    let full = std::any::type_name::<A>();
    // Keep generic arguments readable: strip module paths before the last `::`
    // of the outer name only.
    match full.find('<') {
        Some(open) => {
            let outer = &full[..open];
            let start = outer.rfind("::").map_or(0, |i| i + 2);
            &full[start..]
        }
        None => full.rsplit("::").next().unwrap_or(full),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descr_parsing_normalises_single_byte_prefixes() {
        for descr in ["<u1", ">u1", "|u1", "u1", "=u1"] {
            assert_eq!(descr.parse::<DType>().unwrap().descr(), "|u1");
        }
        assert_eq!("<b1".parse::<DType>().unwrap().descr(), "|b1");
        assert_eq!(">i4".parse::<DType>().unwrap().byte_order, ByteOrder::Big);
    }

    #[test]
    fn descr_parsing_rejects_unsupported_kinds_and_sizes() {
        for descr in [
            "|S5", "<U3", "|V4", "<M8[ns]", "<f16", "|O", "", "<", "<i3", "<f8x",
        ] {
            assert!(
                matches!(descr.parse::<DType>(), Err(Error::UnsupportedDtype { descr: d }) if d == descr),
                "{descr}"
            );
        }
    }

    #[test]
    fn every_builtin_descr_round_trips() {
        fn check<A: Element>() {
            let descr = A::NPY_DESCR.unwrap();
            let dtype: DType = descr.parse().unwrap();
            assert_eq!(dtype.descr(), descr);
            assert_eq!(dtype.size, std::mem::size_of::<A>());
            assert!(dtype.is_native());
        }
        check::<bool>();
        check::<u8>();
        check::<i8>();
        check::<u16>();
        check::<i16>();
        check::<u32>();
        check::<i32>();
        check::<u64>();
        check::<i64>();
        check::<f32>();
        check::<f64>();
        check::<Complex<f32>>();
        check::<Complex<f64>>();
    }

    #[test]
    fn simple_descr_sizes_follow_numpy() {
        for (descr, size) in [
            ("<f8", Some(8)),
            ("|b1", Some(1)),
            ("<c16", Some(16)),
            ("|V16", Some(16)),
            ("|S5", Some(5)),
            ("<U3", Some(12)),
            ("<M8[ns]", Some(8)),
            ("<m8[s]", Some(8)),
            ("f8", None),
            ("|O", None),
            ("<f", None),
            ("<f0", None),
            ("<f8[ns]", None),
            ("<M8[n s]", None),
            ("[('x', '<f4')]", None),
            ("'<f8'", None),
            ("<f99999999999999999999999", None),
        ] {
            assert_eq!(simple_descr_size(descr), size, "{descr}");
        }
    }

    #[test]
    fn type_names_are_short() {
        assert_eq!(type_name::<f64>(), "f64");
        assert_eq!(type_name::<Complex<f32>>(), "Complex<f32>");
    }
}
