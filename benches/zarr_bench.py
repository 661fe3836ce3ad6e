"""zarr-python's side of benches/zarr.rs: prints the seconds it measured
for `iters` iterations. `element PATH ITERS`: open the array and read one
pseudo-random element per iteration; `sum PATH ITERS`: z[...].sum()."""
import sys
import time

import zarr

if __name__ == "__main__":
    what, path, iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
    z = zarr.open_array(path, mode="r")
    rows, cols = z.shape
    start = time.perf_counter()
    if what == "element":
        total = 0.0
        for i in range(iters):
            k = (i * 2654435761) % (rows * cols)
            total += float(z[k // cols, k % cols])
    else:
        for _ in range(iters):
            total = float(z[...].sum())
    print(time.perf_counter() - start, total)
