"""Precompute of the shipped UNet on a 2-worker dask.distributed LocalCluster: the values of the
threaded path, the model loaded once per worker (not per day), dropped after the run."""

from __future__ import annotations

import shutil

import numpy as np
import xarray as xr

from meltwater import precompute_jobs as J
from meltwater.data.cube import open_cube
from meltwater.precompute import precompute

DAYS = 8


def test_two_workers_write_the_threaded_unet_values(tiny_source, tmp_path, monkeypatch):
    from dask.distributed import Client, LocalCluster

    paths = {}
    for name in ("threads", "cluster"):
        paths[name] = tmp_path / f"{name}.zarr"
        shutil.copytree(tiny_source.cube_path, paths[name])
    days = open_cube(paths["threads"]).indexes["time"][:DAYS]
    precompute(paths["threads"], ["unet"], (), dates=days, workers=2, summaries=False)
    loads = []
    load = J.DayRunner._load

    def counted(self):
        loads.append(self.run)
        return load(self)

    monkeypatch.setattr(J.DayRunner, "_load", counted)  # the workers share this process
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster:
        done = precompute(
            paths["cluster"],
            ["unet"],
            (),
            dates=days,
            scheduler=cluster.scheduler_address,
            summaries=False,
        )
        with Client(cluster) as client:
            left = client.run(lambda dask_worker: len(dask_worker.__dict__["meltwater_runs"]))
    assert done == {"pred_unet": DAYS}
    assert 1 <= len(loads) <= 2 and len(set(loads)) == 1  # one model per worker of one run
    assert list(left.values()) == [0, 0]  # dropped after the run
    threads = xr.open_zarr(paths["threads"], chunks=None, consolidated=False)["pred_unet"]
    cluster_out = xr.open_zarr(paths["cluster"], chunks=None, consolidated=False)["pred_unet"]
    assert np.isfinite(threads.values[:DAYS]).any() and np.isnan(threads.values[DAYS:]).all()
    np.testing.assert_array_equal(cluster_out.values, threads.values)
    assert cluster_out.attrs["model_days"] == threads.attrs["model_days"]
