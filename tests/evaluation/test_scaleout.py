"""Evaluate on a dask.distributed LocalCluster: the same results as threads, models loaded once
per worker, dropped after the run; the CLI's ``--scheduler``."""

from __future__ import annotations

import shutil

import pytest
import xarray as xr

from meltwater.cli import main
from meltwater.data.cube import open_cube
from meltwater.errors import InvalidArgumentError
from meltwater.evaluation import evaluate as E
from meltwater.evaluation import predictors as P
from meltwater.precompute import precompute

MODELS = ["mar_interp", "pmw_threshold", "linear_dem"]
RUN_ATTRS = ("elapsed_s", "created", "workers")  # how the run went, not what it found


@pytest.fixture(scope="module")
def stored(tiny_source, tmp_path_factory):
    """A copy of the tiny cube storing ``pmw_threshold`` on its first 10 days only (so the
    other days are predicted live: source ``cube+live``)."""
    path = tmp_path_factory.mktemp("scaleout") / "demo.zarr"
    shutil.copytree(tiny_source.cube_path, path)
    days = open_cube(path).indexes["time"][:10]
    precompute(path, ["pmw_threshold"], (), dates=days, scheduler="synchronous")
    return path


def _run_free(ds: xr.Dataset) -> xr.Dataset:
    return ds.drop_attrs(deep=False).assign_attrs(
        {k: v for k, v in ds.attrs.items() if k not in RUN_ATTRS}
    )


def test_cluster_results_equal_threads(stored, monkeypatch):
    from dask.distributed import Client, LocalCluster

    cube = open_cube(stored)
    threads = E.evaluate(cube, MODELS, "test", workers=2, progress=False)
    loads = []
    make = P.make_predictors

    def counted(*a, **k):
        loads.append(1)
        return make(*a, **k)

    # counts every predictor set built, on the client (evaluate) and on the workers (scaleout,
    # from predictors; same process)
    monkeypatch.setattr(E, "make_predictors", counted)
    monkeypatch.setattr(P, "make_predictors", counted)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster:
        dist = E.evaluate(cube, MODELS, "test", scheduler=cluster.scheduler_address, progress=False)
        with Client(cluster) as client:
            left = client.run(lambda dask_worker: len(dask_worker.__dict__["meltwater_runs"]))
    assert cube.sizes["time"] > 20  # many days per worker, ...
    assert 2 <= len(loads) <= 3  # ... yet one predictor set per worker (+ the client's)
    assert list(left.values()) == [0, 0]  # dropped after the run
    assert threads.attrs["prediction_source"] == dist.attrs["prediction_source"]
    assert '"pmw_threshold": "cube+live"' in dist.attrs["prediction_source"]
    xr.testing.assert_identical(_run_free(threads), _run_free(dist))


def test_cluster_needs_a_stored_cube(stored):
    cube = open_cube(stored).load()
    cube.encoding = {}
    with pytest.raises(InvalidArgumentError, match="scheduler: .*opened from its store"):
        E.evaluate(cube, MODELS, "test", scheduler="tcp://127.0.0.1:1", progress=False)


def test_cli_local_cluster(stored, tiny_source, tmp_path, capsys):
    root = tmp_path / "data"
    (root / "cubes").mkdir(parents=True)
    (root / "cubes" / "demo.zarr").symlink_to(stored)
    (root / "demo").symlink_to(tiny_source.root)
    args = ["evaluate", "--data-root", str(root), "--models", "pmw_threshold"]
    main([*args, "--area-days", "split", "--scheduler", "local", "--workers", "2"])
    out = xr.open_dataset(root / "results" / "demo_test.nc")
    ref = E.evaluate(open_cube(stored), ["pmw_threshold"], "test", area_days="split")
    xr.testing.assert_identical(out.scores.load(), ref.scores)
    assert "results written" in capsys.readouterr().out
