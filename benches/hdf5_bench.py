"""h5py's side of benches/hdf5.rs: writes the fixtures, and prints the
seconds it measured for `iters` (the last argument) iterations.

  fixtures DIR ROWS COLS   DIR/contig.h5 (/x: ROWS x COLS float64, contiguous,
                           written slab by slab), its twin DIR/contig.npy, and
                           DIR/dense.h5 (/g: 10,000 datasets, libver 'latest',
                           so the group is dense: fractal heap + v2 B-tree)
  find PATH ITERS          f['/g/d05000'] per iteration, the file open once
  sum PATH ITERS           f['/x'][...].sum() per iteration
  element PATH ITERS       one pseudo-random f['/x'][i, j] per iteration
  write DIR ROWS COLS ITERS
                           after one untimed iteration, per iteration: a new file, create_dataset of ROWS x COLS
                           float64, dset[...] = a prepared array, close (not synced)
  write_synced DIR ROWS COLS ITERS
                           the same, then os.fsync of the file: durable, as ours is
"""
import os
import sys
import time

import h5py
import numpy as np


def fixtures(directory, rows, cols):
    contig = os.path.join(directory, "contig.h5")
    npy = os.path.join(directory, "contig.npy")
    slab = max(1, (64 << 20) // (8 * cols))
    twin = np.lib.format.open_memmap(npy + ".part", mode="w+", dtype="<f8", shape=(rows, cols))
    with h5py.File(contig + ".part", "w", alignment_threshold=1, alignment_interval=4096) as f:
        x = f.create_dataset("x", shape=(rows, cols), dtype="<f8")
        for start in range(0, rows, slab):
            n = min(slab, rows - start)
            i = np.arange(start, start + n)[:, None]
            j = np.arange(cols)[None, :]
            block = (i ^ j).astype("<f8") + 0.5
            x[start:start + n] = block
            twin[start:start + n] = block
    twin.flush()
    del twin
    os.replace(npy + ".part", npy)
    os.replace(contig + ".part", contig)
    dense = os.path.join(directory, "dense.h5")
    with h5py.File(dense + ".part", "w", libver="latest") as f:
        g = f.create_group("g")
        for k in range(10_000):
            g.create_dataset("d%05d" % k, data=np.arange(4.0) + k)
    os.replace(dense + ".part", dense)


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "fixtures":
        fixtures(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        sys.exit(0)
    if what in ("write", "write_synced"):
        directory, rows, cols, iters = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        a = np.arange(rows * cols, dtype="<f8").reshape(rows, cols)
        elapsed = 0.0
        # One untimed iteration first: criterion's warm-up runs ours in its
        # process before it measures, and this process is new per sample.
        for i in range(-1, iters):
            target = os.path.join(directory, "h5py-%d.h5" % i)
            start = time.perf_counter()
            with h5py.File(target, "w") as f:
                f.create_dataset("x", shape=a.shape, dtype="<f8")[...] = a
            if what == "write_synced":
                fd = os.open(target, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
            if i >= 0:
                elapsed += time.perf_counter() - start
            os.remove(target)
        print(elapsed)
        sys.exit(0)
    path, iters = sys.argv[2], int(sys.argv[-1])
    total = 0.0
    with h5py.File(path, "r") as f:
        start = time.perf_counter()
        if what == "find":
            for _ in range(iters):
                total += f["/g/d05000"].id.get_offset() or 0
        elif what == "sum":
            for _ in range(iters):
                total = float(f["/x"][...].sum())
        else:
            x = f["/x"]
            rows, cols = x.shape
            for i in range(iters):
                k = ((i + 1) * 2654435761) % (rows * cols)
                total += float(x[k // cols, k % cols])
        elapsed = time.perf_counter() - start
    print(elapsed, total)
