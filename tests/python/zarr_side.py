"""The zarr-python side of the Zarr interop tests (tests/it/zarr.rs).

Run as `python zarr_side.py COMMAND ROOT`:
  write ROOT   zarr-python writes the matrix of arrays under ROOT/zp and
               saves what it reads back as ROOT/expected/NAME.npy; prints
               the names, one per line.
  compare ROOT every ROOT/ours/NAME*.npy (what Rust read) equals
               ROOT/expected/NAME.npy: dtype (native order) and bytes.
  check ROOT   zarr-python opens every array Rust wrote under ROOT/rs and
               compares it with ROOT/rs_expected/NAME.npy; then writes the
               same array itself under ROOT/zp_same and compares every
               chunk file byte for byte with ours.
"""
import json
import os
import sys
import warnings

import numpy as np
import zarr
from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec, TransposeCodec

warnings.simplefilter("error")  # a warning is a failure: users would see it
# zarr-python warns about float16/complex fills and consolidated metadata in
# ways that say nothing about our files; those are allowed explicitly below.

DTYPES = ["bool", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"]


def sample(shape, dtype, seed=0):
    n = int(np.prod(shape))
    i = np.arange(n) + seed
    dt = np.dtype(dtype)
    if dt.kind == "b":
        a = (i % 3) == 0
    elif dt.kind == "i":
        a = (i * 37 + 11) % 251 - 125
    elif dt.kind == "u":
        a = (i * 37 + 11) % 251
    elif dt.kind == "c":
        a = (i * 0.25 - 3) + 1j * (i * 0.5)
    else:
        a = i * 0.25 - 3
    return a.astype(dt).reshape(shape)


def fill_for(dtype):
    return {"b": True, "i": -7, "u": 9, "f": np.nan, "c": complex(np.nan, 1.0)}[np.dtype(dtype).kind]


def create(path, shape, chunks, dtype, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr.create_array(store=path, shape=shape, chunks=chunks, dtype=dtype,
                                 compressors=kw.pop("compressors", None), **kw)


def write_matrix(root):
    zp = os.path.join(root, "zp")
    expected = os.path.join(root, "expected")
    os.makedirs(expected, exist_ok=True)
    names = []

    def done(name, z):
        np.save(os.path.join(expected, name + ".npy"), np.asarray(z[...]))
        if name not in names:
            names.append(name)

    for d in DTYPES:
        for fmt in (3, 2):
            name = f"v{fmt}_{d}"
            z = create(os.path.join(zp, name), (7, 5), (3, 2), d, fill_value=fill_for(d), zarr_format=fmt)
            a = sample((7, 5), d)
            a[0:3, 0:2] = fill_for(d)  # chunk (0, 0) is all fill: zarr-python leaves it out
            z[...] = a
            assert not os.path.exists(os.path.join(zp, name, "c/0/0" if fmt == 3 else "0.0")), name
            done(name, z)
    special = {
        "v3_f8_T": dict(shape=(7, 5), chunks=(3, 2), dtype="f8", filters=[TransposeCodec(order=(1, 0))]),
        "v3_i4_T3": dict(shape=(5, 6, 7), chunks=(2, 4, 3), dtype="i4", filters=[TransposeCodec(order=(2, 0, 1))]),
        "v3_f8_be": dict(shape=(7, 5), chunks=(3, 2), dtype="f8", serializer=BytesCodec(endian="big")),
        "v3_c8_be": dict(shape=(4, 3), chunks=(3, 2), dtype="c8", serializer=BytesCodec(endian="big")),
        "v3_u2_dot": dict(shape=(7, 5), chunks=(3, 2), dtype="u2",
                          chunk_key_encoding={"name": "default", "separator": "."}),
        "v3_i2_v2keys": dict(shape=(7, 5), chunks=(3, 2), dtype="i2",
                             chunk_key_encoding={"name": "v2", "separator": "."}),
        "v3_i8_v2slash": dict(shape=(7, 5), chunks=(3, 2), dtype="i8",
                              chunk_key_encoding={"name": "v2", "separator": "/"}),
        "v3_0d": dict(shape=(), chunks=(), dtype="f8"),
        "v3_empty": dict(shape=(0, 4), chunks=(2, 2), dtype="f4"),
        "v3_crc": dict(shape=(7, 5), chunks=(3, 2), dtype="f8", compressors=[Crc32cCodec()]),
        "v3_shard_end": dict(shape=(70, 64), chunks=(16, 16), shards=(32, 32), dtype="f8"),
        "v3_shard_u1": dict(shape=(9, 9), chunks=(2, 2), shards=(4, 4), dtype="u1"),
        "v3_shard_start": dict(shape=(64, 64), chunks=(32, 32), dtype="f8",
                               serializer=ShardingCodec(chunk_shape=(16, 16), codecs=[BytesCodec()],
                                                        index_location="start")),
        "v3_shard_T": dict(shape=(40, 24), chunks=(20, 12), dtype="i4",
                           serializer=ShardingCodec(chunk_shape=(10, 6),
                                                    codecs=[TransposeCodec(order=(1, 0)), BytesCodec()])),
        "v2_f8_F": dict(shape=(7, 5), chunks=(3, 2), dtype="f8", zarr_format=2, order="F"),
        "v2_i4_be": dict(shape=(7, 5), chunks=(3, 2), dtype=">i4", zarr_format=2),
        "v2_f4_slash": dict(shape=(7, 5), chunks=(3, 2), dtype="f4", zarr_format=2,
                            chunk_key_encoding={"name": "v2", "separator": "/"}),
    }
    for name, kw in special.items():
        shape = kw["shape"]
        z = create(os.path.join(zp, name), fill_value=0, **kw)
        a = sample(shape, kw["dtype"])
        if name == "v3_shard_end":
            a[0:16, 16:32] = 0  # inner chunk (0, 1) all fill: an empty index slot
        z[...] = a
        done(name, z)
    # A shard zarr-python re-packed: written, then one element changed.
    z = zarr.open_array(os.path.join(zp, "v3_shard_end"), mode="r+")
    z[0, 0] = 12345.0
    done("v3_shard_end", z)
    # v2 with fill_value null, as zarr 2 wrote "no fill value".
    name = "v2_u8_null"
    z = create(os.path.join(zp, name), (7, 5), (3, 2), "u8", fill_value=0, zarr_format=2)
    a = sample((7, 5), "u8")
    a[0:3, 0:2] = 0
    z[...] = a
    meta_path = os.path.join(zp, name, ".zarray")
    meta = load_json(meta_path)
    meta["fill_value"] = None
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    done(name, zarr.open_array(os.path.join(zp, name), mode="r"))
    print("\n".join(names))


def load_json(path):
    with open(path) as f:
        return json.load(f)


def native(a):
    return a.astype(a.dtype.newbyteorder("="))


def compare(root):
    expected = os.path.join(root, "expected")
    ours = os.path.join(root, "ours")
    count = 0
    for file in sorted(os.listdir(ours)):
        name = file[: -len(".npy")].split("@")[0]
        want = native(np.load(os.path.join(expected, name + ".npy")))
        got = np.load(os.path.join(ours, file))
        assert got.dtype == want.dtype, (file, got.dtype, want.dtype)
        assert got.shape == want.shape, (file, got.shape, want.shape)
        assert got.tobytes() == want.tobytes(), (file, got, want)
        count += 1
    print(count)


def chunk_files(path):
    found = {}
    for base, _, files in os.walk(path):
        for f in files:
            if f in ("zarr.json", ".zarray", ".zattrs"):
                continue
            full = os.path.join(base, f)
            with open(full, "rb") as f:
                found[os.path.relpath(full, path)] = f.read()
    return found


def check(root):
    rs = os.path.join(root, "rs")
    count = 0
    for name in sorted(os.listdir(rs)):
        spec = load_json(os.path.join(root, "rs_expected", name + ".json"))
        want = np.load(os.path.join(root, "rs_expected", name + ".npy"))
        z = zarr.open_array(os.path.join(rs, name), mode="r")
        got = np.asarray(z[...])
        assert native(got).dtype == want.dtype, (name, got.dtype, want.dtype)
        assert native(got).tobytes() == want.tobytes(), (name, got, want)
        if spec["format"] == 3:
            names = z.metadata.dimension_names
            assert names is not None and len(names) == want.ndim, (name, names)
        # zarr-python writes the same array; its chunk files equal ours.
        same = os.path.join(root, "zp_same", name)
        kw = dict(fill_value=json_fill(spec["fill"], want.dtype), zarr_format=spec["format"])
        if spec["format"] == 3:
            if spec["order"] == "F" and want.ndim > 1:
                kw["filters"] = [TransposeCodec(order=tuple(range(want.ndim))[::-1])]
            if spec["checksum"]:
                kw["compressors"] = [Crc32cCodec()]
            if spec["separator"] != "/":
                kw["chunk_key_encoding"] = {"name": "default", "separator": spec["separator"]}
        else:
            kw["order"] = spec["order"]
            kw["chunk_key_encoding"] = {"name": "v2", "separator": spec["separator"]}
        dtype = spec["dtype"]
        twin = create(same, want.shape, tuple(spec["chunks"]), dtype, **kw)
        twin[...] = want.astype(dtype)
        mine, theirs = chunk_files(os.path.join(rs, name)), chunk_files(same)
        assert sorted(mine) == sorted(theirs), (name, sorted(mine), sorted(theirs))
        for key in mine:
            assert mine[key] == theirs[key], (name, key)
        count += 1
    print(count)


def json_fill(value, dtype):
    def one(v):
        return {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}.get(v, v) if isinstance(v, str) else v
    if isinstance(value, list):
        return complex(one(value[0]), one(value[1]))
    return one(value)


if __name__ == "__main__":
    command, root = sys.argv[1], sys.argv[2]
    {"write": write_matrix, "compare": compare, "check": check}[command](root)
