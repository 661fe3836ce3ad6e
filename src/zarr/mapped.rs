//! Element access across a whole Zarr array, each chunk mapped the first
//! time it is touched and kept mapped: random reads cost an index lookup,
//! not a map per element (what `numpy.memmap` gives a single file).

use std::cell::{RefCell, RefMut};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use ndarray::{ArrayViewD, Ix1, IxDyn};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::views::fill_view;
use crate::zarr::array::ZarrArray;
use crate::zarr::check_dtype;
use crate::zarr::chunk::{as_array_axes, ChunkData};

/// Chunks kept mapped at most by default: 1024 chunks of 8 MiB is 8 GiB of
/// address space and no memory of its own (the pages are the page cache's).
pub const DEFAULT_MAPPED_CHUNKS: usize = 1024;

/// A Zarr array whose chunks are mapped on first touch and kept mapped
/// (up to a bound, the oldest unmapped first): [`ZarrArray::mapped`].
///
/// Not shared between threads (it is `!Sync`): give each thread its own
/// handle; a chunk mapped by two handles is one set of pages in the page
/// cache.
///
/// ```
/// use ndarray_memmap::{ZarrArray, ZarrArrayBuilder};
/// let dir = tempfile::tempdir()?;
/// let z = ZarrArrayBuilder::new::<i64>(&[100, 100], &[10, 10]).fill_value(-1i64).create(dir.path())?;
/// z.write_region(&[0, 0], &ndarray::Array2::from_shape_fn((50, 100), |(i, j)| (i * 100 + j) as i64))?;
/// z.finish()?;
/// let z = ZarrArray::open(dir.path())?;
/// // SAFETY: nothing else writes the chunk files while they are mapped.
/// let a = unsafe { z.mapped::<i64>() }?;
/// assert_eq!(a.get(&[42, 17])?, 4217); // maps chunk (4, 1), and keeps it
/// assert_eq!(a.get(&[42, 18])?, 4218); // no map: an index lookup
/// assert_eq!(a.get(&[99, 99])?, -1); // an absent chunk: the fill value
/// let expected: i64 = (40..50).flat_map(|i| (10..20).map(move |j| i * 100 + j)).sum();
/// assert_eq!(a.with_chunk(&[4, 1], |view| view.sum())?, expected);
/// assert_eq!(a.mapped_chunks(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ZarrMapped<'a, A: Element> {
    array: &'a ZarrArray,
    capacity: usize,
    chunk_shape: Vec<usize>,
    grid: Vec<usize>,
    /// Per array axis, what `get` needs, together for locality.
    axes: Vec<Axis>,
    /// The stored block's shape, and the axes that turn it into the chunk.
    stored: Vec<usize>,
    inverse: Vec<usize>,
    /// A `RefCell`, not a lock: a lock's atomic instruction on every read
    /// would stop the processor overlapping the memory loads of successive
    /// reads (measured: 6x slower random reads). One handle per thread.
    cache: RefCell<Cache<A>>,
}

/// Grids of at most this many chunks find a mapped chunk through a table
/// indexed by position (4 bytes a chunk, so at most 256 KiB whatever the
/// metadata claims); larger grids through a hash map.
const DIRECT_LIMIT: u64 = 1 << 16;

/// The mapped chunks: each chunk's stored block held flat, for offset
/// access, in a slot; found by its position in the grid's C order (which
/// fits `u64`: the grid has no more chunks than the array has elements,
/// checked at open).
struct Cache<A: Element> {
    /// Position to slot + 1 (0: not mapped), for small grids; else empty.
    table: Vec<u32>,
    /// Position to slot, for large grids.
    map: HashMap<u64, u32, BuildHasherDefault<IdHasher>>,
    /// Each slot's position and block.
    slots: Vec<(u64, ChunkData<A, Ix1>)>,
    /// Slots in the order they were filled, oldest first.
    order: VecDeque<u32>,
}

impl<A: Element> Cache<A> {
    fn new(grid_chunks: u64) -> Self {
        let direct = grid_chunks <= DIRECT_LIMIT;
        Cache {
            table: if direct {
                vec![0; grid_chunks as usize]
            } else {
                Vec::new()
            },
            map: HashMap::default(),
            slots: Vec::new(),
            order: VecDeque::new(),
        }
    }

    #[inline]
    fn slot_of(&self, id: u64) -> Option<usize> {
        if self.table.is_empty() {
            self.map.get(&id).map(|&slot| slot as usize)
        } else {
            match self.table.get(id as usize) {
                Some(&slot) if slot > 0 => Some(slot as usize - 1),
                _ => None,
            }
        }
    }

    fn set_slot(&mut self, id: u64, slot: Option<u32>) {
        if self.table.is_empty() {
            match slot {
                Some(slot) => self.map.insert(id, slot),
                None => self.map.remove(&id),
            };
        } else if let Some(entry) = self.table.get_mut(id as usize) {
            *entry = slot.map_or(0, |slot| slot + 1);
        }
    }

    /// Puts `block` in a slot for `id`: a new one while fewer than
    /// `capacity` are used, else the oldest one's, which is unmapped.
    fn insert(&mut self, id: u64, block: ChunkData<A, Ix1>, capacity: usize) -> usize {
        let reuse = if self.slots.len() >= capacity {
            self.order.pop_front()
        } else {
            None
        };
        let slot = match reuse {
            Some(slot) => {
                let old = self.slots[slot as usize].0;
                self.set_slot(old, None);
                self.slots[slot as usize] = (id, block);
                slot
            }
            None => {
                self.slots.push((id, block));
                (self.slots.len() - 1) as u32
            }
        };
        self.order.push_back(slot);
        self.set_slot(id, Some(slot));
        slot as usize
    }
}

/// Chunk positions are spread well enough by a multiplication: no need
/// for SipHash's defence against chosen keys on this hot path.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl ZarrArray {
    /// Element access across the whole array, each chunk mapped (or read,
    /// or the fill value) as [`chunk`](Self::chunk) gives it, the first
    /// time it is touched, and kept for later reads: up to
    /// [`DEFAULT_MAPPED_CHUNKS`] chunks, then the oldest is unmapped.
    ///
    /// # Safety
    /// As for [`chunk`](Self::chunk), for every chunk file, while the
    /// returned value lives.
    ///
    /// # Errors
    /// [`Error::DtypeMismatch`] if `A` is not the array's type.
    #[allow(unsafe_code)]
    pub unsafe fn mapped<A: Element>(&self) -> Result<ZarrMapped<'_, A>> {
        check_dtype::<A>(&self.meta)?;
        let stored = self.stored_shape();
        let inverse = self.inverse_order();
        // Stored axis p's stride is the product of the stored lengths after it.
        let stored_strides: Vec<usize> = (0..stored.len())
            .map(|p| stored[p + 1..].iter().product())
            .collect();
        Ok(ZarrMapped {
            array: self,
            capacity: DEFAULT_MAPPED_CHUNKS,
            chunk_shape: self.chunk_shape().to_vec(),
            grid: self.grid_shape(),
            axes: (0..inverse.len())
                .map(|k| Axis {
                    len: self.shape()[k],
                    chunk: Divisor::new(self.chunk_shape()[k]),
                    grid: self.grid_shape()[k],
                    stride: stored_strides[inverse[k]],
                })
                .collect(),
            stored,
            inverse,
            cache: RefCell::new(Cache::new(
                self.grid_shape().iter().map(|&n| n as u64).product(),
            )),
        })
    }
}

/// One array axis as `get` walks it.
struct Axis {
    len: usize,
    chunk: Divisor,
    /// Chunks along this axis.
    grid: usize,
    /// The distance in elements between neighbours along this axis inside
    /// a stored block (the `transpose` codec's order).
    stride: usize,
}

/// Division by a chunk length fixed at open: a shift for powers of two, a
/// multiplication (Lemire's method, exact for 32-bit operands) otherwise;
/// a hardware division costs more than the rest of an element read.
#[derive(Clone, Copy)]
struct Divisor {
    d: usize,
    shift: Option<u32>,
    /// `floor(2^64 / d) + 1` for `d < 2^32`, else 0.
    magic: u64,
}

impl Divisor {
    fn new(d: usize) -> Divisor {
        let small = d > 1 && (d as u64) < (1 << 32);
        Divisor {
            d,
            shift: d.is_power_of_two().then(|| d.trailing_zeros()),
            magic: if small { u64::MAX / d as u64 + 1 } else { 0 },
        }
    }

    /// `(n / d, n % d)`.
    #[inline]
    fn div_rem(self, n: usize) -> (usize, usize) {
        if let Some(shift) = self.shift {
            return (n >> shift, n & (self.d - 1));
        }
        if self.magic != 0 && (n as u64) < (1 << 32) {
            let q = ((u128::from(self.magic) * n as u128) >> 64) as usize;
            return (q, n - q * self.d);
        }
        (n / self.d, n % self.d)
    }
}

impl<A: Element> ZarrMapped<'_, A> {
    /// Keeps at most `chunks` chunks mapped (at least 1).
    pub fn max_mapped_chunks(mut self, chunks: usize) -> Self {
        self.capacity = chunks.max(1);
        self
    }

    /// The element at `index` (one entry per axis).
    ///
    /// # Errors
    /// [`Error::InvalidShape`] for an index outside the array, and the
    /// errors of [`ZarrArray::chunk`] the first time its chunk is touched.
    #[inline]
    pub fn get(&self, index: &[usize]) -> Result<A> {
        // The chunk's position in the grid and the element's offset in it,
        // in one pass, without allocating or dividing.
        let (mut id, mut offset) = (0u64, 0usize);
        let mut inside = index.len() == self.axes.len();
        for (axis, &i) in self.axes.iter().zip(index) {
            inside &= i < axis.len;
            let (chunk, within) = axis.chunk.div_rem(i);
            id = id.wrapping_mul(axis.grid as u64).wrapping_add(chunk as u64);
            offset = offset.wrapping_add(within.wrapping_mul(axis.stride));
        }
        // The hot path, inlined into the caller's loop: a mapped chunk.
        if inside {
            if let Ok(cache) = self.cache.try_borrow() {
                if let Some(value) = cache
                    .slot_of(id)
                    .and_then(|slot| cache.slots[slot].1.element(offset))
                {
                    return Ok(value);
                }
            }
        }
        self.get_cold(index, inside, id, offset)
    }

    /// `get` for what the hot path does not handle: an index outside the
    /// array, a chunk not mapped yet, a handle in use.
    #[inline(never)]
    fn get_cold(&self, index: &[usize], inside: bool, id: u64, offset: usize) -> Result<A> {
        if !inside {
            return Err(self.outside(index));
        }
        let mut cache = self.borrow_cache()?;
        let grid_index: Vec<usize> = index
            .iter()
            .zip(&self.chunk_shape)
            .map(|(i, c)| i / c)
            .collect();
        let chunk = self.map_into(&mut cache, id, &grid_index)?;
        chunk.element(offset).ok_or_else(|| {
            self.array.chunk_error(
                &format!("{grid_index:?}"),
                "the chunk's elements are not contiguous".to_owned(),
            )
        })
    }

    fn outside(&self, index: &[usize]) -> Error {
        Error::InvalidShape {
            shape: self.array.shape().to_vec(),
            reason: format!("the index {index:?} is outside the array"),
        }
    }

    /// Maps the chunk at `grid_index` (position `id`) into the cache,
    /// unmapping the oldest if the cache is full.
    #[allow(unsafe_code)]
    fn map_into<'c>(
        &self,
        cache: &'c mut Cache<A>,
        id: u64,
        grid_index: &[usize],
    ) -> Result<&'c ChunkData<A, Ix1>> {
        let slot = match cache.slot_of(id) {
            Some(slot) => slot,
            None => {
                let len = self.chunk_shape.iter().product::<usize>();
                // SAFETY: the caller of `ZarrArray::mapped` promised the
                // contract for every chunk file while this value lives.
                let block = unsafe {
                    self.array
                        .stored_block::<A, Ix1>(grid_index, Ix1(len), &self.array.options)
                }?;
                cache.insert(id, block, self.capacity)
            }
        };
        Ok(&cache.slots[slot].1)
    }

    /// Runs `f` on the view of the chunk at grid `index` (clipped at the
    /// array's edge), mapping it first if it is not mapped yet.
    ///
    /// # Errors
    /// The errors of [`ZarrArray::chunk`] the first time it is touched.
    pub fn with_chunk<R>(
        &self,
        index: &[usize],
        f: impl FnOnce(ArrayViewD<'_, A>) -> R,
    ) -> Result<R> {
        self.array.check_index(index)?;
        let id = index
            .iter()
            .zip(&self.grid)
            .fold(0u64, |id, (&i, &n)| id * n as u64 + i as u64);
        let mut cache = self.borrow_cache()?;
        let block = self.map_into(&mut cache, id, index)?;
        let clip = self.array.clip_of(index);
        let view = match block {
            ChunkData::Mapped(guard) => {
                Self::as_chunk(guard.view(), &self.stored, &self.inverse, &clip)
            }
            ChunkData::Copied(array) => {
                Self::as_chunk(array.view(), &self.stored, &self.inverse, &clip)
            }
            ChunkData::Fill(value) => Some(fill_view(value, &clip)),
        };
        let view = view.ok_or_else(|| {
            self.array.chunk_error(
                &format!("{index:?}"),
                "the stored block does not fit the chunk's shape".to_owned(),
            )
        })?;
        Ok(f(view))
    }

    /// A flat stored block as the chunk's view: reshaped to the stored
    /// shape, then as `ZarrChunk::view` shows it.
    fn as_chunk<'v>(
        flat: ndarray::ArrayView1<'v, A>,
        stored: &[usize],
        inverse: &[usize],
        clip: &[usize],
    ) -> Option<ArrayViewD<'v, A>> {
        let block = flat.into_shape_with_order(IxDyn(stored)).ok()?;
        Some(as_array_axes(block, inverse, clip))
    }

    /// How many chunks are mapped now.
    pub fn mapped_chunks(&self) -> usize {
        self.cache.try_borrow().map_or(0, |cache| cache.slots.len())
    }

    /// The cache, or an error if a closure given to
    /// [`with_chunk`](Self::with_chunk) reads through this same handle.
    fn borrow_cache(&self) -> Result<RefMut<'_, Cache<A>>> {
        self.cache.try_borrow_mut().map_err(|_| Error::ZarrChunk {
            path: self.array.dir.clone(),
            key: "(any)".to_owned(),
            reason: "this ZarrMapped is already in use by a with_chunk closure on this thread; read inside the closure through its view, or make a second handle with ZarrArray::mapped".to_owned(),
        })
    }
}
