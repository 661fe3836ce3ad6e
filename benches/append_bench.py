"""npy-append-array's side of benches/grow.rs, timed from inside its criterion run.

  python3 benches/append_bench.py TARGET ROWS COLS CHUNK_ROWS ITERS

Appends ROWS x COLS float64 rows (the same values as the Rust side) to a new
file TARGET in blocks of CHUNK_ROWS with NpyAppendArray, then fsyncs it, as
the Rust side's close() does; ITERS times. Prints the total seconds; the
array is made in memory beforehand and not timed.
"""
import os
import sys
import time

import numpy as np
from npy_append_array import NpyAppendArray

target, rows, cols, chunk, iters = sys.argv[1], *map(int, sys.argv[2:6])
data = (np.arange(rows * cols, dtype=np.float64)).reshape(rows, cols)
total = 0.0
for _ in range(iters):
    if os.path.exists(target):
        os.unlink(target)
    start = time.perf_counter()
    with NpyAppendArray(target) as out:
        for i in range(0, rows, chunk):
            out.append(data[i:i + chunk])
    fd = os.open(target, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    total += time.perf_counter() - start
print(total)
