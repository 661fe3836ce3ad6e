"""NumPy's side of the benchmarks, on the same files as benches/memmap.rs.

Usage: python3 benches/numpy_bench.py [DATA_DIR] > target/numpy-bench.json
Reads NDARRAY_MEMMAP_BENCH_SIZE like the Rust benches (smoke, default, full)
and prints median seconds per operation as JSON.
"""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

COLS = 512
SIZES = {"smoke": 4 << 20, "full": 2 << 30}


def fixture(directory, nbytes):
    rows = nbytes // 8 // COLS
    path = Path(directory) / f"sum_{rows}x{COLS}.npy"
    if not path.exists():
        sys.exit(f"{path} is missing: run the Rust benches first (they build the files)")
    return path, rows


def resident_bytes(path):
    """Bytes of the file in the page cache (util-linux fincore)."""
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


def evict(path):
    """Drops the file from the page cache and checks that it worked: pages
    still mapped by a live memmap cannot be dropped, which would make a
    "cold" figure hot."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    resident = resident_bytes(path)
    assert resident < 0.01 * path.stat().st_size, f"eviction failed: {resident} bytes still cached"


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def median_time(fn, repeat, setup=None):
    times = []
    for _ in range(repeat):
        if setup:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    size = os.environ.get("NDARRAY_MEMMAP_BENCH_SIZE", "default")
    nbytes = SIZES.get(size, 256 << 20)
    directory = sys.argv[1] if len(sys.argv) > 1 else "target/bench-data"
    path, rows = fixture(directory, nbytes)
    small, _ = fixture(directory, 1 << 20)
    warm(path)
    warm(small)
    picks = [((i * 0x9E3779B97F4A7C15) % (1 << 64) >> 20) % rows for i in range(1000)]
    results = {"numpy": np.__version__, "size": size, "bytes": nbytes}

    results["open_memmap_1MiB"] = median_time(lambda: np.memmap(small, dtype="<f8", mode="r", offset=128), 2000)
    results["open_memmap_large"] = median_time(lambda: np.memmap(path, dtype="<f8", mode="r", offset=128), 2000)
    results["open_load_mmap_large"] = median_time(lambda: np.load(path, mmap_mode="r"), 2000)

    results["hot_sum_fresh_memmap"] = median_time(lambda: np.memmap(path, dtype="<f8", mode="r", offset=128).sum(), 10)
    open_map = np.load(path, mmap_mode="r")
    results["hot_sum_open_memmap"] = median_time(lambda: open_map.sum(), 10)
    in_memory = np.load(path)
    results["hot_sum_in_memory"] = median_time(lambda: in_memory.sum(), 10)

    # Live maps pin their pages in the page cache: drop them before cold runs.
    del open_map, in_memory
    cold_repeat = 5 if size == "full" else 10
    results["cold_sum_memmap"] = median_time(
        lambda: np.memmap(path, dtype="<f8", mode="r", offset=128).sum(), cold_repeat, setup=lambda: evict(path))
    results["cold_sum_np_load"] = median_time(lambda: np.load(path).sum(), cold_repeat, setup=lambda: evict(path))

    warm(path)
    m = np.load(path, mmap_mode="r")
    results["hot_one_row"] = median_time(lambda: m[rows // 2].sum(), 2000)
    results["hot_1000_rows"] = median_time(lambda: sum(m[r].sum() for r in picks), 20)
    del m
    results["cold_one_element"] = median_time(
        lambda: np.load(path, mmap_mode="r")[rows - 1, COLS - 1], 10, setup=lambda: evict(path))
    results["cold_one_element_raw_memmap"] = median_time(
        lambda: np.memmap(path, dtype="<f8", mode="r", offset=128)[-1], 10, setup=lambda: evict(path))

    n = min(nbytes, 1 << 30) // 8
    target = Path(directory) / "numpy_write_target.bin"

    def create_fill_flush():
        if target.exists():
            target.unlink()
        w = np.memmap(target, dtype="<f8", mode="w+", shape=(n,))
        w[:] = np.arange(n) % 1000
        w.flush()
        del w

    results["write_create_fill_flush"] = median_time(create_fill_flush, 5)
    target.unlink()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
