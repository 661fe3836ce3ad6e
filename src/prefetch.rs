//! A helper thread that faults a mapping's pages in ahead of the code using them.
//!
//! Building page tables (and, for a cold file, reading it) happens on the
//! other core while the caller computes, instead of in page faults on the
//! caller's thread. The thread holds an `Arc` of the mapping, so its pages
//! stay mapped while it works, and it asks the kernel to populate pages
//! (`MADV_POPULATE_READ`/`_WRITE`), which reports errors instead of raising
//! `SIGBUS` and creates no Rust reference to the bytes: nothing it does can
//! change or invalidate what a view sees.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// How far the helper gets between checks for cancellation: 8 MiB takes
/// about a millisecond hot and a few cold, so dropping a guard never waits long.
const STEP: usize = 8 << 20;

/// How the helper faults pages in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Touch {
    /// Map pages readable; a later write still faults (once per page).
    Read,
    /// Map pages writable, which dirties them: only for arrays about to be
    /// filled, since every page will be written back to the file.
    Write,
}

/// A mapping the helper can populate.
pub(crate) trait Prefault: Send + Sync + 'static {
    /// Faults in `len` bytes at `start`; an error stops the helper.
    fn prefault(&self, start: usize, len: usize, touch: Touch) -> std::io::Result<()>;
}

/// The populate request for `touch`.
#[cfg(target_os = "linux")]
fn advice_for(touch: Touch) -> memmap2::Advice {
    match touch {
        Touch::Read => memmap2::Advice::PopulateRead,
        Touch::Write => memmap2::Advice::PopulateWrite,
    }
}

/// Elsewhere, read-ahead is the closest portable request.
#[cfg(all(unix, not(target_os = "linux")))]
fn advice_for(_touch: Touch) -> memmap2::Advice {
    memmap2::Advice::WillNeed
}

macro_rules! prefault {
    ($($map:ty),*) => {$(
        impl Prefault for $map {
            #[cfg(unix)]
            fn prefault(&self, start: usize, len: usize, touch: Touch) -> std::io::Result<()> {
                self.advise_range(advice_for(touch), start, len)
            }

            #[cfg(not(unix))]
            fn prefault(&self, _start: usize, _len: usize, _touch: Touch) -> std::io::Result<()> {
                Ok(())
            }
        }
    )*};
}

prefault!(memmap2::Mmap, memmap2::MmapMut);

/// The helper thread; dropping it stops and joins it.
pub(crate) struct Prefetcher {
    requests: Option<Sender<Range<usize>>>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Prefetcher {
    /// Starts a helper for `map`, or `None` if no thread could be started
    /// (a hint, so the caller goes on without one).
    pub(crate) fn spawn<M: Prefault>(map: Arc<M>, touch: Touch) -> Option<Prefetcher> {
        let (requests, queue) = mpsc::channel::<Range<usize>>();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancel);
        let thread = std::thread::Builder::new()
            .name("ndarray-memmap-prefetch".into())
            .spawn(move || {
                for range in queue {
                    let mut start = range.start;
                    while start < range.end {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let len = STEP.min(range.end - start);
                        // Old kernels (EINVAL), a file cut short by someone
                        // else (EFAULT): stop helping; the caller's own
                        // accesses behave exactly as without a helper.
                        if map.prefault(start, len, touch).is_err() {
                            return;
                        }
                        start += len;
                    }
                }
            })
            .ok()?;
        Some(Prefetcher {
            requests: Some(requests),
            cancel,
            thread: Some(thread),
        })
    }

    /// Queues `range` (bytes of the mapping) to be faulted in, after
    /// everything queued before it.
    pub(crate) fn request(&self, range: Range<usize>) {
        if let Some(requests) = &self.requests {
            // A helper that stopped early needs no more work.
            let _ = requests.send(range);
        }
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            // The helper cannot panic short of an allocation failure; its
            // result carries nothing.
            let _ = thread.join();
        }
    }
}
