"""NumPy's side of the benchmarks, on the same files as benches/memmap.rs.

Two uses:
  python3 benches/numpy_bench.py one NAME PATH ITERS
      run measurement NAME ITERS times on PATH and print the total seconds
      (setup and page-cache eviction excluded). benches/memmap.rs calls this
      from inside its criterion run, so NumPy's figures come from the same
      run as ours and sit beside them in every group.
  python3 benches/numpy_bench.py [DATA_DIR] > target/numpy-bench.json
      a standalone pass with medians, reading NDARRAY_MEMMAP_BENCH_SIZE.
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


def one(name, path, iters):
    """Total seconds for `iters` runs of measurement `name` on `path`."""
    path, iters = Path(path), int(iters)
    header_len = 128
    m = np.load(path, mmap_mode="r")
    rows, cols = m.shape
    picks = [((i * 0x9E3779B97F4A7C15) % (1 << 64) >> 20) % rows for i in range(1000)]
    del m
    setup, work = None, None
    if name == "open_memmap":
        work = lambda: np.memmap(path, dtype="<f8", mode="r", offset=header_len)
    elif name == "open_load_mmap":
        work = lambda: np.load(path, mmap_mode="r")
    elif name == "hot_sum_fresh_memmap":
        work = lambda: np.memmap(path, dtype="<f8", mode="r", offset=header_len).sum()
    elif name == "hot_sum_open_memmap":
        m = np.load(path, mmap_mode="r")
        work = m.sum
    elif name == "hot_sum_in_memory":
        in_memory = np.load(path)
        work = in_memory.sum
    elif name == "cold_sum_memmap":
        setup, work = (lambda: evict(path)), (lambda: np.memmap(path, dtype="<f8", mode="r", offset=header_len).sum())
    elif name == "cold_one_element_load_mmap":
        setup, work = (lambda: evict(path)), (lambda: np.load(path, mmap_mode="r")[rows - 1, cols - 1])
    elif name == "cold_one_element_memmap":
        setup, work = (lambda: evict(path)), (lambda: np.memmap(path, dtype="<f8", mode="r", offset=header_len)[-1])
    elif name == "hot_one_row":
        m = np.load(path, mmap_mode="r")
        work = lambda: m[rows // 2].sum()
    elif name == "hot_1000_rows":
        m = np.load(path, mmap_mode="r")
        work = lambda: sum(m[r].sum() for r in picks)
    elif name == "create_fill_flush":
        target = path.with_name("numpy_write_target.bin")
        n = min(rows * cols * 8, 1 << 30) // 8

        def work():
            w = np.memmap(target, dtype="<f8", mode="w+", shape=(n,))
            w[:] = np.arange(n) % 1000
            w.flush()
            del w
        setup = lambda: target.unlink(missing_ok=True)
    else:
        sys.exit(f"unknown measurement {name}")
    total = 0.0
    for _ in range(iters):
        if setup:
            setup()
        start = time.perf_counter()
        work()
        total += time.perf_counter() - start
    print(total)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "one":
        one(*sys.argv[2:5])
    else:
        main()
