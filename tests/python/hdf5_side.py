"""The h5py side of the HDF5 interop tests.

    hdf5_side.py write DIR      writes the matrix of files and DIR/manifest.json:
                                for every dataset its shape, dtype, h5py's
                                get_offset() and get_chunk_info() list
    hdf5_side.py compare DIR    checks DIR/values/*.npy (what the crate read)
                                against dset[...]: dtype and exact bytes
    hdf5_side.py hold FILE MODE opens FILE with h5py in MODE ('r', 'r+',
                                'r+nolock') and holds it until stdin closes
    hdf5_side.py tryopen FILE   prints "opened" or the error h5py gives
"""
import json
import os
import sys

import h5py
import numpy as np

SCALARS = ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "c8", "c16"]
LIBVERS = ["earliest", "v108", "v110", "latest"]
RECORD = np.dtype([("a", "<i4"), ("b", "<f8")])
NESTED = np.dtype([("id", "<u2"), ("v", "<f4", (3,)), ("name", "S5")])


def values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    dt = np.dtype(dtype)
    if dt.kind == "b":
        flat = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        flat = rng.integers(info.min, info.max, n, dtype=dt.newbyteorder("="), endpoint=True)
    elif dt.kind == "f":
        flat = (rng.standard_normal(n) * 1000).astype(dt)
    elif dt.kind == "c":
        flat = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dt)
    elif dt.kind == "S":
        flat = np.array([("s%d" % i).encode()[: dt.itemsize] for i in range(n)], dtype=dt)
    else:
        flat = np.zeros(n, dtype=dt)
        for name in dt.names:
            sub = dt[name]
            base = sub.base if sub.shape else sub
            count = n * int(np.prod(sub.shape or (1,)))
            flat[name] = values(base, (count,), seed + len(name)).reshape((n,) + sub.shape)
    return np.asarray(flat, dtype=dt).reshape(shape)


def plain_descr(descr):
    """numpy's descr without h5py's metadata dicts (string encodings)."""
    out = []
    for entry in descr:
        name, kind = entry[0], entry[1]
        if isinstance(kind, tuple):
            kind = kind[0]
        elif isinstance(kind, list):
            kind = plain_descr(kind)
        out.append((name, kind) + tuple(entry[2:]))
    return out


def describe(dset):
    info = {
        "shape": list(dset.shape) if dset.shape is not None else None,
        "dtype": dset.dtype.str if dset.dtype.names is None else str(plain_descr(dset.dtype.descr)),
        "offset": dset.id.get_offset(),
        "chunks": list(dset.chunks) if dset.chunks else None,
        "compression": dset.compression,
    }
    userblock = dset.file.id.get_create_plist().get_userblock()
    if userblock and info["offset"] == userblock - 1 and dset.id.get_storage_size() == 0:
        # libhdf5 adds the userblock to the undefined address (2**64 - 1)
        # of storage never allocated, and so reports userblock - 1.
        info["offset"] = None
    if dset.chunks:
        infos = [dset.id.get_chunk_info(i) for i in range(dset.id.get_num_chunks())]
        info["chunk_info"] = sorted([list(c.chunk_offset), c.byte_offset, c.size, c.filter_mask] for c in infos)
    return info


def matrix_file(path, libver, userblock, aligned):
    kwargs = {"libver": libver, "userblock_size": userblock}
    if aligned:
        # libhdf5 wants the userblock at least as large as the alignment.
        kwargs.update(alignment_threshold=1, alignment_interval=userblock if userblock else 4096)
    with h5py.File(path, "w", **kwargs) as f:
        seed = 0
        for name in SCALARS:
            for order in "<>":
                dt = np.dtype(name).newbyteorder(order)
                seed += 1
                f.create_dataset("scalars/%s%s" % ("le_" if order == "<" else "be_", name), data=values(dt, (7, 3), seed))
        f.create_dataset("scalars/bool", data=values("?", (11,), 99))
        # Three bytes first, so that the next dataset is misaligned without alignment.
        f.create_dataset("odd/u1x3", data=np.arange(3, dtype="u1"))
        f.create_dataset("odd/f8_after", data=values("<f8", (5,), 5))
        f.create_dataset("odd/zero_d", data=np.float64(1.5))
        f.create_dataset("odd/empty", shape=(0,), dtype="<i4")
        f.create_dataset("odd/null", data=h5py.Empty("<f8"))
        f.create_dataset("types/strings", data=values("S4", (6,), 7))
        f.create_dataset("types/record", data=values(RECORD, (5,), 8))
        f.create_dataset("types/nested", data=values(NESTED, (4,), 9))
        f["types/named_f8"] = np.dtype("<f8")
        f.create_dataset("types/committed", data=values("<f8", (4,), 10), dtype=f["types/named_f8"])
        f.create_dataset("types/fill7", shape=(4,), dtype="<f8", fillvalue=7.0)
        # Groups in every storage form: compact (<= 8 links) and dense (more), nested.
        for i in range(12):
            f.create_dataset("dense/d%02d" % i, data=np.full(3, i, dtype="<i2"))
        f.create_dataset("a/b/c/d/deep", data=values("<u4", (2, 2), 11))
        f["links/soft"] = h5py.SoftLink("/a/b/c/d/deep")
        f["links/relative"] = h5py.SoftLink("../a/b/c/d/deep")
        f.create_dataset("chunked/i4", data=values("<i4", (50, 10), 12), chunks=(25, 10))
        f.create_dataset("chunked/edges", data=values(">f8", (13, 7), 13), chunks=(5, 3))
        f.create_dataset("chunked/sparse", shape=(20, 20), dtype="<f4", chunks=(5, 5), fillvalue=-1.0)
        f["chunked/sparse"][0:5, 5:10] = 2.5
    return {"libver": libver, "userblock": userblock, "aligned": aligned}


def index_file(path):
    """Every chunk index of layout version 4 (libver 'latest')."""
    with h5py.File(path, "w", libver="latest") as f:
        f.create_dataset("fixed", data=values("<i4", (10, 10), 1), chunks=(5, 5))
        # 40 x 40 = 1600 chunks: the fixed array pages (1024 entries a page).
        f.create_dataset("fixed_paged", data=values("<u2", (80, 80), 2), chunks=(2, 2))
        f.create_dataset("single", data=values("<f8", (10, 10), 3), chunks=(10, 10))
        # One unlimited axis: an extensible array, past its index block into super blocks.
        ext = f.create_dataset("extensible", shape=(0, 6), maxshape=(None, 6), dtype="<i8", chunks=(2, 3))
        ext.resize((700, 6))
        ext[...] = values("<i8", (700, 6), 4)
        # Two unlimited axes: a version-2 B-tree, deep enough for internal nodes.
        bt2 = f.create_dataset("btree2", shape=(0, 0), maxshape=(None, None), dtype="<f4", chunks=(4, 4))
        bt2.resize((120, 120))
        bt2[...] = values("<f4", (120, 120), 5)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((5, 5))
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        space = h5py.h5s.create_simple((10, 10))
        h5py.h5d.create(f.id, b"implicit", h5py.h5t.STD_I32LE, space, dcpl=dcpl).close()
        f["implicit"][...] = values("<i4", (10, 10), 6)
        f.create_dataset("sparse_fixed", shape=(30, 30), dtype="<i2", chunks=(3, 3), fillvalue=9)
        f["sparse_fixed"][3:6, 9:12] = 1
    with h5py.File(path.replace(".h5", "_v1.h5"), "w") as f:
        # The default format: a version-1 B-tree, several levels deep.
        f.create_dataset("btree1", data=values("<i2", (300, 300), 7), chunks=(4, 4))


def refusal_file(path, directory):
    with h5py.File(path, "w") as f:
        f.create_dataset("unallocated", shape=(1000,), dtype="<f8")
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple((10,))
        h5py.h5d.create(f.id, b"compact", h5py.h5t.IEEE_F64LE, space, dcpl=dcpl).close()
        f["compact"][...] = np.arange(10.0)
        with open(os.path.join(directory, "ext.bin"), "wb") as e:
            e.write(np.arange(10, dtype="<f8").tobytes())
        f.create_dataset("external", shape=(10,), dtype="<f8", external=[("ext.bin", 0, 80)])
        f.create_dataset("gzip", data=np.arange(100.0), chunks=(10,), compression="gzip")
        f.create_dataset("shuffle", data=np.arange(100.0), chunks=(10,), shuffle=True)
        f.create_dataset("vlen_str", data=["a", "bc"], dtype=h5py.string_dtype())
        f.create_dataset("vlen_int", shape=(2,), dtype=h5py.vlen_dtype("i4"))
        f.create_dataset("refs", shape=(1,), dtype=h5py.ref_dtype)
        f.create_dataset("opaque", data=np.void(b"\x01\x02\x03\x04"))
        layout = h5py.VirtualLayout(shape=(10,), dtype="<f8")
        layout[:] = h5py.VirtualSource(f["compact"])
        f.create_virtual_dataset("virtual", layout)
        f["external_link"] = h5py.ExternalLink("other.h5", "/x")


def write(directory):
    manifest = {"files": []}
    for libver in LIBVERS:
        for userblock in (0, 512, 4096):
            for aligned in (False, True):
                name = "m_%s_%d_%s.h5" % (libver, userblock, "a" if aligned else "u")
                path = os.path.join(directory, name)
                settings = matrix_file(path, libver, userblock, aligned)
                manifest["files"].append({"name": name, "settings": settings, "datasets": collect(path)})
    index_path = os.path.join(directory, "index.h5")
    index_file(index_path)
    for name in ("index.h5", "index_v1.h5"):
        manifest["files"].append({"name": name, "settings": {}, "datasets": collect(os.path.join(directory, name))})
    refusal_file(os.path.join(directory, "refusals.h5"), directory)
    with open(os.path.join(directory, "manifest.json"), "w") as out:
        json.dump(manifest, out, indent=1)
    # The same, one dataset a line, for the Rust side (which parses no JSON):
    # file, dataset, shape, dtype, offset, chunks, chunks as origin:address:size:mask.
    with open(os.path.join(directory, "manifest.tsv"), "w") as out:
        for entry in manifest["files"]:
            for name, d in entry["datasets"].items():
                chunk_info = ";".join(
                    "%s:%d:%d:%d" % (",".join(map(str, c[0])), c[1], c[2], c[3]) for c in d.get("chunk_info", [])
                )
                fields = [
                    entry["name"],
                    name,
                    "null" if d["shape"] is None else ",".join(map(str, d["shape"])),
                    d["dtype"],
                    str(d["offset"]),
                    "None" if d["chunks"] is None else ",".join(map(str, d["chunks"])),
                    chunk_info,
                ]
                out.write("\t".join(fields) + "\n")


def collect(path):
    found = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                found["/" + name] = describe(obj)
        f.visititems(visit)
    return found


def compare(directory):
    with open(os.path.join(directory, "manifest.json")) as m:
        manifest = json.load(m)
    checked = 0
    for entry in manifest["files"]:
        with h5py.File(os.path.join(directory, entry["name"]), "r") as f:
            for name in entry["datasets"]:
                npy = os.path.join(directory, "values", entry["name"] + name.replace("/", "__") + ".npy")
                if not os.path.exists(npy):
                    continue
                ours = np.load(npy)
                theirs = f[name][()]
                if isinstance(theirs, h5py.Empty):
                    theirs = np.zeros((0,), dtype=f[name].dtype)
                theirs = np.asarray(theirs)
                expected = theirs.astype(theirs.dtype.newbyteorder("="))
                assert ours.shape == expected.shape, (entry["name"], name, ours.shape, expected.shape)
                if expected.dtype.names is None:
                    assert ours.dtype == expected.dtype, (entry["name"], name, ours.dtype, expected.dtype)
                else:
                    # A byte-string field is written back as u1 items (Rust's [u8; N]): same bytes.
                    layout = lambda dt: [(n, dt.fields[n][1], dt.fields[n][0].itemsize) for n in dt.names]
                    assert layout(ours.dtype) == layout(expected.dtype), (entry["name"], name, ours.dtype, expected.dtype)
                assert ours.tobytes() == expected.tobytes(), (entry["name"], name)
                checked += 1
    print("compared", checked)


def hold(path, mode):
    if mode == "r+nolock":
        f = h5py.File(path, "r+", locking=False)
    else:
        f = h5py.File(path, mode)
    print("holding", flush=True)
    sys.stdin.read()
    f.close()


def coherence(path, sieve):
    """Opens PATH read-only without its lock, with a sieve buffer of SIEVE
    bytes; prints x[0], then again after each line read from stdin."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_sieve_buf_size(int(sieve))
    fapl.set_file_locking(False, True)
    f = h5py.File(h5py.h5f.open(path.encode(), h5py.h5f.ACC_RDONLY, fapl=fapl))
    x = f["x"]
    print(float(x[0]), flush=True)
    for _ in sys.stdin:
        print(float(x[0]), flush=True)
    f.close()


def tryopen(path, mode):
    try:
        h5py.File(path, mode).close()
        print("opened")
    except OSError as e:
        print("refused:", e)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "write":
        write(sys.argv[2])
    elif command == "compare":
        compare(sys.argv[2])
    elif command == "hold":
        hold(sys.argv[2], sys.argv[3])
    elif command == "coherence":
        coherence(sys.argv[2], sys.argv[3])
    elif command == "tryopen":
        tryopen(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("unknown command " + command)
