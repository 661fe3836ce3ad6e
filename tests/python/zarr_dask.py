"""Dask and xarray on a group Rust wrote (tests/it/zarr.rs): a two-worker
LocalCluster sums the array and writes t * 2 + 1 uncompressed for Rust to
map; xarray opens the group with consolidated=False. Warnings fail."""
import sys
import warnings

if __name__ == "__main__":  # LocalCluster's workers re-import this module
    warnings.simplefilter("error")
    import dask.array as da
    import numpy as np
    import xarray as xr
    from distributed import Client, LocalCluster

    group, out = sys.argv[1], sys.argv[2]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster):
        t = da.from_zarr(group, component="t")
        assert t.chunks[0][0] == 64, t.chunks
        print("dask sum", float(t.sum().compute()))
        (t * 2 + 1).to_zarr(out, compressors=None, zarr_format=3)
    ds = xr.open_zarr(group, consolidated=False)
    print("xarray dims", dict(ds.sizes), "units", ds["t"].attrs["units"])
    assert np.array_equal(ds["x"].values, np.arange(200))
