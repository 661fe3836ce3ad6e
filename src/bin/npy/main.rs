//! `npy`: look at and convert `.npy` files of any element type from the
//! command line, built on the crate's run-time-typed arrays.
//!
//! ```text
//! cargo install ndarray-memmap --features cli   # or --path . from a checkout
//! npy info FILE...                          header, sizes, whether it maps
//! npy head FILE [N]                         the first N values (default 10), C order
//! npy stats FILE                            count, NaN count, min, max, mean
//! npy convert IN OUT --dtype DTYPE [--order C|F|A|K] [--byteorder native|little|big] [--lossy] [--chunks N,N,...]
//! ```
//!
//! FILE and IN are `.npy` files, Zarr array directories or HDF5 datasets
//! (`FILE.h5:/path`); `info` also lists a Zarr group's members and an HDF5
//! file's datasets; an OUT ending in `.zarr` is a new Zarr v3 array,
//! uncompressed, with dimension names; an OUT of the form
//! `FILE.h5:/path` is a new HDF5 dataset (in a new file, or added to one
//! this crate wrote).
//!
//! Files in native byte order are mapped and streamed, so `stats` and
//! `convert` work on files larger than memory; files in the other byte
//! order are read into memory (swapped). A run longer than a second shows
//! a progress bar on standard error.
//!
//! Exit codes: 0 success, 1 a file could not be read or written (one line
//! on standard error names the file and the problem), 2 usage.

mod blocks;
mod convert;
mod head;
mod info;
mod progress;
mod source;
mod stats;

use std::process::ExitCode;

const USAGE: &str = "usage:
  npy info FILE...
  npy head FILE [N]
  npy stats FILE
  npy convert IN OUT --dtype DTYPE [--order C|F|A|K] [--byteorder native|little|big] [--lossy] [--chunks N,N,...]
FILE and IN: a .npy file, a Zarr array directory or an HDF5 dataset (FILE.h5:/path; info lists a whole .h5);
OUT ending in .zarr: a new Zarr v3 array; OUT FILE.h5:/path: a new HDF5 dataset";

/// `npy info a.npy | head -3`: like every Unix filter, end quietly when the
/// reader goes away. Rust ignores `SIGPIPE`, so `println!` would panic on
/// the broken pipe instead; this puts back the default action (exit).
#[cfg(unix)]
#[allow(unsafe_code)]
fn restore_sigpipe() {
    // SAFETY: called first thing in `main`, before any other thread exists;
    // `SIG_DFL` is a valid disposition for `SIGPIPE`, and no handler of
    // ours is replaced.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}

/// A failure, and which exit code it earns.
enum Failure {
    /// The command line is wrong: exit 2.
    Usage(String),
    /// A file could not be read or written: exit 1.
    File(String, ndarray_memmap::Error),
    /// Files could not be read, and each has been reported already: exit 1.
    Reported,
}

impl Failure {
    fn file(path: &str) -> impl FnOnce(ndarray_memmap::Error) -> Failure + '_ {
        move |err| Failure::File(path.to_owned(), err)
    }
}

fn run(args: &[String]) -> Result<(), Failure> {
    let usage = |why: &str| Failure::Usage(why.to_owned());
    let (command, rest) = args.split_first().ok_or_else(|| usage("no command"))?;
    match command.as_str() {
        "info" if !rest.is_empty() => info::run(rest),
        "head" => match rest {
            [file] => head::run(file, 10),
            [file, n] => head::run(file, n.parse().map_err(|_| usage("N must be a count"))?),
            _ => Err(usage("head takes FILE [N]")),
        },
        "stats" => match rest {
            [file] => stats::run(file),
            _ => Err(usage("stats takes one FILE")),
        },
        "convert" => convert::run(&convert::Options::parse(rest).map_err(Failure::Usage)?),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(usage(&format!(
            "unknown command or missing files: {command}"
        ))),
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(why)) => {
            eprintln!("npy: {why}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::File(path, err)) => {
            eprintln!("npy: {path}: {}", one_line(&err));
            ExitCode::from(1)
        }
        Err(Failure::Reported) => ExitCode::from(1),
    }
}

/// The error and its causes on one line, with the command's way out where
/// the library's message names a function.
fn one_line(err: &ndarray_memmap::Error) -> String {
    if let ndarray_memmap::Error::UnsafeCast { from, to } = err {
        return format!(
            "converting {from} to {to} may lose values (numpy's can_cast(..., 'safe') is False); pass --lossy to convert anyway, as astype does"
        );
    }
    let mut line = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        line.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    line
}
