"""zarr-python's side of benches/zarr.rs: prints the seconds it measured
for `iters` (the last argument) iterations.

  element PATH ITERS   open the array, then read one pseudo-random element per iteration
  sum PATH ITERS       z[...].sum() per iteration
  write DIR ROWS COLS CHUNK_ROWS ITERS
                       per iteration: create an uncompressed float64 array
                       in a fresh directory under DIR and write a
                       prepared in-memory array into it (z[...] = a)
"""
import os
import shutil
import sys
import time

import numpy as np
import zarr

if __name__ == "__main__":
    what, path, iters = sys.argv[1], sys.argv[2], int(sys.argv[-1])
    if what == "write":
        rows, cols, chunk_rows = (int(x) for x in sys.argv[3:6])
        a = np.arange(rows * cols, dtype="f8").reshape(rows, cols)
        elapsed = 0.0
        for i in range(iters):
            target = os.path.join(path, f"zp-{i}.zarr")
            shutil.rmtree(target, ignore_errors=True)
            start = time.perf_counter()
            z = zarr.create_array(store=target, shape=a.shape, chunks=(chunk_rows, cols),
                                  dtype="f8", compressors=None)
            z[...] = a
            elapsed += time.perf_counter() - start
            shutil.rmtree(target)
        print(elapsed)
        sys.exit(0)
    z = zarr.open_array(path, mode="r")
    rows, cols = z.shape
    total = 0.0
    start = time.perf_counter()
    if what == "element":
        for i in range(iters):
            k = ((i + 1) * 2654435761) % (rows * cols)
            total += float(z[k // cols, k % cols])
    else:
        for _ in range(iters):
            total = float(z[...].sum())
    print(time.perf_counter() - start, total)
