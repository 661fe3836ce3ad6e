//! Matching a `.npy` header's dtype against an element type, and the
//! descr an element type writes. Pure: no files, no mapping; the copying
//! reader, the byte views, the writers, `.npz` and the maps all use it.

use std::borrow::Cow;
use std::path::Path;

use crate::element::{type_name, DType, DescrCheck, Element};
use crate::error::{Error, Result};
use crate::layout::Order;
use crate::npy::header::NpyHeader;

/// `np.save` writes `fortran_order: True` only for arrays that are Fortran-
/// but not C-contiguous; shapes with at most one axis longer than 1, and
/// empty arrays, are both, so they are written as C order. (`open_memmap`,
/// and so `create_npy`, writes the order it is asked for.)
pub(crate) fn is_fortran_only(order: Order, shape: &[usize]) -> bool {
    order == Order::Fortran && !shape.contains(&0) && shape.iter().filter(|&&n| n > 1).count() > 1
}

/// The descr of `A`, or the error saying it has none.
pub(crate) fn descr_of<A: Element>() -> Result<Cow<'static, str>> {
    // A descr that does not fit `A` fails to compile here.
    #[allow(clippy::let_unit_value)]
    let () = DescrCheck::<A>::OK;
    A::npy_descr().ok_or(Error::NoNpyDescr {
        element: type_name::<A>(),
    })
}

/// How the file's dtype relates to `A`.
pub(crate) enum Match {
    /// The bytes are `A`s as they are.
    Native,
    /// The bytes are `A`s in the other byte order: reverse, in every
    /// element, the bytes at each `(offset, length)`.
    Swapped { at: Vec<(usize, usize)> },
}

/// Checks the header's dtype against `A`, naming both on a mismatch.
pub(crate) fn match_dtype<A: Element>(header: &NpyHeader) -> Result<Match> {
    let want = descr_of::<A>()?;
    let mismatch = || Error::DtypeMismatch {
        expected: format!("{} ({want:?})", type_name::<A>()),
        found: header.descr.clone(),
        shape: header.shape.clone(),
    };
    match (header.descr.parse::<DType>(), want.parse::<DType>()) {
        (Ok(found), Ok(wanted)) if found == wanted => Ok(Match::Native),
        (Ok(found), Ok(wanted)) if found.to_native() == wanted => Ok(Match::Swapped {
            at: crate::buffer::swap_units(found.size, found.swap_unit()),
        }),
        (Ok(_), _) => Err(mismatch()),
        // A user type's descr (`|V16`, ...) must match exactly, or be one
        // the type says it reads (`[u8; N]` reads `|SN` and `|VN`).
        (Err(_), _) if header.descr == want || A::reads_descr(&header.descr) => Ok(Match::Native),
        // A record: field by field, each field in either byte order.
        (Err(_), Err(_)) if want.starts_with('[') && header.descr.starts_with('[') => {
            match crate::record::record_match(&header.descr, &want)? {
                crate::record::RecordMatch::Same => Ok(Match::Native),
                crate::record::RecordMatch::Swapped(at) => Ok(Match::Swapped { at }),
            }
        }
        (Err(_), Ok(_)) => Err(Error::UnsupportedDtype {
            descr: header.descr.clone(),
        }),
        (Err(_), Err(_)) => Err(mismatch()),
    }
}

pub(crate) fn with_path(err: Error, path: &Path) -> Error {
    match err {
        Error::NpyHeader { path: None, reason } => Error::NpyHeader {
            path: Some(path.to_path_buf()),
            reason,
        },
        Error::Io {
            operation,
            path: None,
            cause: source,
        } => Error::Io {
            operation,
            path: Some(path.to_path_buf()),
            cause: source,
        },
        other => other,
    }
}
