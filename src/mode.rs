//! numpy's four memmap modes.

use crate::error::Error;

/// How a file is opened and mapped: numpy's `mode` argument.
///
/// Parses numpy's strings and their aliases:
///
/// ```
/// use ndarray_memmap::Mode;
/// assert_eq!("r".parse::<Mode>()?, Mode::ReadOnly);
/// assert_eq!("readwrite".parse::<Mode>()?, Mode::ReadWrite);
/// assert_eq!(Mode::Create.as_str(), "w+");
/// assert!("rw".parse::<Mode>().is_err());
/// # Ok::<(), ndarray_memmap::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `'r'` / `'readonly'`: read an existing file; the view is immutable.
    ReadOnly,
    /// `'r+'` / `'readwrite'`: read and write an existing file in place.
    ReadWrite,
    /// `'w+'` / `'write'`: create or truncate, then read and write.
    Create,
    /// `'c'` / `'copyonwrite'`: writable, but changes stay in memory and never reach the file.
    CopyOnWrite,
}

impl Mode {
    /// numpy's canonical letter for the mode: `"r"`, `"r+"`, `"w+"` or `"c"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "r",
            Mode::ReadWrite => "r+",
            Mode::Create => "w+",
            Mode::CopyOnWrite => "c",
        }
    }

    /// Whether writes through the map reach the file (`r+`, `w+`).
    pub fn writes_file(self) -> bool {
        matches!(self, Mode::ReadWrite | Mode::Create)
    }
}

impl std::str::FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Mode, Error> {
        match s {
            "r" | "readonly" => Ok(Mode::ReadOnly),
            "r+" | "readwrite" => Ok(Mode::ReadWrite),
            "w+" | "write" => Ok(Mode::Create),
            "c" | "copyonwrite" => Ok(Mode::CopyOnWrite),
            _ => Err(Error::InvalidMode {
                found: s.to_owned(),
            }),
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_numpy_spelling_parses_to_its_canonical_mode() {
        for (text, mode) in [
            ("r", Mode::ReadOnly),
            ("readonly", Mode::ReadOnly),
            ("r+", Mode::ReadWrite),
            ("readwrite", Mode::ReadWrite),
            ("w+", Mode::Create),
            ("write", Mode::Create),
            ("c", Mode::CopyOnWrite),
            ("copyonwrite", Mode::CopyOnWrite),
        ] {
            let parsed: Mode = text.parse().unwrap();
            assert_eq!(parsed, mode);
            assert_eq!(parsed.as_str().parse::<Mode>().unwrap(), mode);
        }
    }

    #[test]
    fn numpy_invalid_modes_are_refused_with_the_string() {
        for bad in ["w", "rb", "rw", "", "R"] {
            match bad.parse::<Mode>() {
                Err(Error::InvalidMode { found }) => assert_eq!(found, bad),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
