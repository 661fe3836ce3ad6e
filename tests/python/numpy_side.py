"""The NumPy side of the interop tests (run by tests/interop.rs).

Values follow one formula shared with the Rust side: element i, counted in
C order of the logical array, is
  bool: i % 3 == 0;  signed: (i*37+11) % 251 - 125;  unsigned: (i*37+11) % 251;
  float: i*0.25 - 3;  complex: (i*0.5) - (i+1)j.

Manifest lines: kind name descr order version shape offset
  kind: npy (np.save's bytes) | npymap (open_memmap's bytes) | raw;  order: C | F;  version: 1.0 | 2.0 | 3.0 | auto;
  shape: comma-separated, '-' for ();  offset: bytes (raw files only).
"""
import io
import sys
from pathlib import Path

import numpy as np

DESCRS = ["|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f4", "<f8", "<c8", "<c16"]
SHAPES = [(7,), (3, 4), (2, 3, 4), (), (0, 5), (1, 5), (5, 1)]
VERSIONS = [(1, 0), (2, 0), (3, 0)]


def values(descr, shape, order):
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.int64)
    dtype = np.dtype(descr)
    if dtype.kind == "b":
        flat = i % 3 == 0
    elif dtype.kind == "i":
        flat = (i * 37 + 11) % 251 - 125
    elif dtype.kind == "u":
        flat = (i * 37 + 11) % 251
    elif dtype.kind == "f":
        flat = i * 0.25 - 3
    else:
        flat = i * 0.5 - 1j * (i + 1)
    a = flat.astype(dtype).reshape(shape)
    return a.copy(order=order)


def parse_shape(text):
    return () if text == "-" else tuple(int(x) for x in text.split(","))


def fmt_shape(shape):
    return "-" if shape == () else ",".join(str(x) for x in shape)


def write(out):
    """NumPy writes every combination; the Rust side reads them."""
    out = Path(out)
    lines = []
    for d, descr in enumerate(DESCRS):
        for order in "CF":
            for s, shape in enumerate(SHAPES):
                a = values(descr, shape, order)
                for version in VERSIONS:
                    name = f"np_{d}_{order}_{s}_v{version[0]}.npy"
                    m = np.lib.format.open_memmap(out / name, mode="w+", dtype=a.dtype, shape=shape,
                                                  fortran_order=(order == "F"), version=version)
                    m[...] = a
                    m.flush()
                    del m
                    lines.append(f"npy {name} {descr} {order} {version[0]}.0 {fmt_shape(shape)} 0")
                name = f"np_{d}_{order}_{s}_save.npy"
                np.save(out / name, a)
                lines.append(f"npy {name} {descr} {order} auto {fmt_shape(shape)} 0")
            # Raw files through np.memmap at several offsets.
            itemsize = np.dtype(descr).itemsize
            for offset in [0, 4096 + itemsize, 3 * itemsize]:
                shape = (3, 5)
                name = f"raw_{d}_{order}_{offset}.bin"
                (out / name).write_bytes(b"")
                m = np.memmap(out / name, dtype=descr, mode="w+", shape=shape, order=order, offset=offset)
                m[...] = values(descr, shape, order)
                m.flush()
                del m
                lines.append(f"raw {name} {descr} {order} auto {fmt_shape(shape)} {offset}")
    # One raw file with the data past 4 GiB (sparse).
    offset = (5 << 30) + 8
    m = np.memmap(out / "raw_big.bin", dtype="<f8", mode="w+", shape=(4, 2), offset=offset)
    m[...] = values("<f8", (4, 2), "C")
    m.flush()
    del m
    lines.append(f"raw raw_big.bin <f8 C auto 4,2 {offset}")
    (out / "manifest.txt").write_text("\n".join(lines) + "\n")


def check(directory):
    """Checks every file the Rust side listed: values, header fields, bytes."""
    directory = Path(directory)
    count = 0
    for line in (directory / "manifest.txt").read_text().splitlines():
        kind, name, descr, order, version, shape, offset = line.split()
        shape, offset = parse_shape(shape), int(offset)
        path = directory / name
        expected = values(descr, shape, order)
        if kind in ("npy", "npymap"):
            loaded = np.load(path)
            mapped = np.load(path, mmap_mode="r")
            for a in (loaded, mapped):
                assert a.dtype == np.dtype(descr), (name, a.dtype, descr)
                assert a.shape == shape, (name, a.shape, shape)
                assert np.array_equal(a, expected), (name, a, expected)
            if not (expected.flags.c_contiguous and expected.flags.f_contiguous):
                assert loaded.flags.f_contiguous == (order == "F"), name
            if kind == "npymap":
                # open_memmap writes the order it is given, whatever the shape.
                fortran = order == "F"
                ref = path.with_suffix(".ref")
                m = np.lib.format.open_memmap(ref, mode="w+", dtype=expected.dtype, shape=shape,
                                              fortran_order=fortran)
                m[...] = expected
                m.flush()
                del m
                reference = ref.read_bytes()
                ref.unlink()
            else:
                # np.save writes True only for arrays that are not also C order.
                fortran = (order == "F" and expected.ndim > 1 and expected.size > 0
                           and not expected.flags.c_contiguous)
                buf = io.BytesIO()
                np.save(buf, expected)
                reference = buf.getvalue()
            assert path.read_bytes() == reference, f"{name}: bytes differ from numpy's ({kind})"
            with open(path, "rb") as f:
                major, minor = np.lib.format.read_magic(f)
                if (major, minor) == (1, 0):
                    header = np.lib.format.read_array_header_1_0(f)
                else:
                    header = np.lib.format.read_array_header_2_0(f)
            assert header == (shape, fortran, np.dtype(descr)), (name, header)
        else:
            m = np.memmap(path, dtype=descr, mode="r", shape=shape, order=order, offset=offset)
            assert np.array_equal(m, expected), (name, m, expected)
            assert path.stat().st_size == offset + expected.nbytes, name
            data = path.read_bytes()[offset:] if offset < (1 << 30) else None
            if data is not None:
                assert data == expected.tobytes(order="A"), f"{name}: bytes differ"
        count += 1
    print(f"checked {count}")


def edit(path, mode):
    """numpy changes a file the Rust side wrote: r+ memmap, element 0 <- 42, last <- -7."""
    if mode == "npy":
        m = np.load(path, mmap_mode="r+")
    else:
        m = np.memmap(path, dtype="<f8", mode="r+")
    m.flat[0] = 42
    m.flat[-1] = -7
    m.flush()
    print(m.shape)


def show(path):
    """Prints a .npy file's values for the Rust side to compare."""
    a = np.load(path)
    print(" ".join(repr(float(x)) for x in a.ravel(order="K")))


if __name__ == "__main__":
    {"write": write, "check": check, "edit": lambda p, mode="npy": edit(p, mode), "show": show}[sys.argv[1]](*sys.argv[2:])
