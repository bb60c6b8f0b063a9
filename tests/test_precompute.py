"""Precompute on the tiny cube: every model and ablation, float16, idempotent, resumable."""

from __future__ import annotations

import shutil

import numpy as np
import torch
import xarray as xr
import zarr
from fixtures.smallmodel import RESNET18_SMALL

from meltwater.data.preprocess import NormStats
from meltwater.evaluation.summary_store import summary_key, summary_path
from meltwater.models.checkpoint import CheckpointMeta, save_checkpoint
from meltwater.models.registry import MODEL_NAMES
from meltwater.models.unet import build_model
from meltwater.schema import CHANNELS

MODELS = ("unet", "pmw_threshold", "sar_running_mean")


def _days(cube, n=6):
    """The first ``n`` days of the cube: a mix of SAR and non-SAR days."""
    return cube.indexes["time"][:n]


def _run(path, small_registry, **kw):
    from meltwater.precompute import precompute

    kw.setdefault("scheduler", "synchronous")
    cube = xr.open_zarr(path, chunks=None, consolidated=False)
    return precompute(path, MODELS, models_dir=small_registry, dates=_days(cube), **kw)


def test_precompute_writes_every_model_and_ablation(cube_copy, small_registry, tiny_cube):
    from meltwater.models.inference import UNetPredictor

    done = _run(cube_copy, small_registry, scheduler=None, workers=2)
    has_sar = tiny_cube["has_sar"].values.astype(bool)
    n_sar = int(has_sar[:6].sum())
    assert 0 < n_sar < 6
    expected = {f"pred_{m}": 6 for m in MODELS} | {f"pred_unet_no_{c}": n_sar for c in CHANNELS}
    assert done == expected
    out = xr.open_zarr(cube_copy, chunks=None, consolidated=False)
    assert out.attrs["cube_version"] == tiny_cube.attrs["cube_version"]
    assert out["pred_unet"].dtype == np.float16
    assert out["pred_unet"].dims == ("time", "y", "x")
    abl = out["pred_unet_no_dem"].values
    assert np.isnan(abl[6:]).all() and np.isnan(abl[:6][~has_sar[:6]]).all()
    assert np.isfinite(abl[:6][has_sar[:6]]).all()
    assert np.isfinite(out["pred_pmw_threshold"].values[:6]).all()
    # stored values equal a live prediction (to float16 precision)
    unet = UNetPredictor.from_registry(models_dir=small_registry)
    day = tiny_cube.indexes["time"][np.flatnonzero(has_sar[:6])[-1]]
    live = unet.predict(tiny_cube, day, ablate=("dem",)).values
    stored = out["pred_unet_no_dem"].sel(time=day).values.astype(np.float32)
    np.testing.assert_allclose(stored, live, atol=2e-3)
    # a season summary is stored only for a season every model has completed: none yet
    assert not any(summary_path(cube_copy, y).exists() for y in set(out.indexes["time"].year))


def test_a_completed_season_gets_its_summary(cube_copy, small_registry):
    from meltwater.data.cube import open_cube
    from meltwater.precompute import precompute

    cube = open_cube(cube_copy)
    first = cube.indexes["time"].year.min()
    season = cube.indexes["time"][cube.indexes["time"].year == first]
    models = ("pmw_threshold", "sar_running_mean")
    precompute(cube_copy, models, (), dates=season, scheduler="synchronous")
    out = open_cube(cube_copy)
    path = summary_path(cube_copy, first)
    with xr.open_dataset(path) as ds:
        assert ds.attrs["summary_key"] == summary_key(out, first)
        assert list(ds.model.values) == [m for m in MODEL_NAMES if m in models]
        assert int(np.isfinite(ds["melt_area_km2"].values).all(axis=0).sum()) == len(season)
    assert not summary_path(cube_copy, first + 1).exists()  # the next season has no day yet


def test_rerun_is_a_no_op_and_kill_resumes(cube_copy, small_registry, monkeypatch):
    from meltwater import precompute as pc
    from meltwater.precompute_jobs import DayRunner

    _run(cube_copy, small_registry)
    days = _days(xr.open_zarr(cube_copy, consolidated=False))
    assert pc.plan(cube_copy, MODELS, dates=days) == {}
    assert (
        len(pc.plan(cube_copy, MODELS))
        == xr.open_zarr(cube_copy, consolidated=False).sizes["time"] - 6
    )
    before = xr.open_zarr(cube_copy, chunks=None, consolidated=False)["pred_unet"].values.copy()

    # simulate a kill: forget 3 days of pred_unet and spoil their stored values
    group = zarr.open_group(str(cube_copy), mode="r+")
    done = list(group["pred_unet"].attrs[pc.DONE_ATTR])
    group["pred_unet"].attrs[pc.DONE_ATTR] = done[3:]
    group["pred_unet"][:3] = np.float16(7.0)
    todo = pc.plan(cube_copy, MODELS, dates=days)
    assert sorted(todo) == [0, 1, 2]
    assert all(v == "pred_unet" for jobs in todo.values() for v, _, _ in jobs)

    calls = []
    real = DayRunner.__call__
    monkeypatch.setattr(
        DayRunner, "__call__", lambda s, i, jobs: calls.append(i) or real(s, i, jobs)
    )
    _run(cube_copy, small_registry)
    assert sorted(calls) == [0, 1, 2]
    after = xr.open_zarr(cube_copy, chunks=None, consolidated=False)["pred_unet"].values
    np.testing.assert_array_equal(after, before)
    assert group["pred_unet"].attrs[pc.DONE_ATTR] == sorted(done)


def test_changed_checkpoint_recomputes(cube_copy, small_registry, tmp_path):
    from meltwater import precompute as pc
    from meltwater.precompute_jobs import model_id

    _run(cube_copy, small_registry, ablations=())
    other = tmp_path / "other"
    shutil.copytree(small_registry, other)
    torch.manual_seed(1)
    meta = CheckpointMeta(
        name="small", model=RESNET18_SMALL.to_dict(), norm_stats=NormStats.paper().to_dict()
    )
    save_checkpoint(build_model(RESNET18_SMALL).eval(), other / "small", meta)
    days = _days(xr.open_zarr(cube_copy, consolidated=False))
    assert pc.plan(cube_copy, MODELS, (), days) == {}
    ids = {"pred_unet": model_id("unet", str(other))}
    pc._ensure_variables(cube_copy, xr.open_zarr(cube_copy, consolidated=False), ids, False)
    todo = pc.plan(cube_copy, MODELS, (), days)
    assert {v for jobs in todo.values() for v, _, _ in jobs} == {"pred_unet"}


def test_day_runner_loads_once_per_run_and_travels_without_its_models(cube_copy, small_registry):
    import pickle

    from meltwater.precompute_jobs import DayRunner

    runner = DayRunner(str(cube_copy), ("pmw_threshold",), str(small_registry), "run-1")
    first = runner.state()
    assert runner.state() is first  # threads of one run share the fitted models
    copy = pickle.loads(pickle.dumps(runner))
    assert copy.run == "run-1" and copy._state is None  # no model is shipped to a worker
    assert DayRunner(str(cube_copy), ("pmw_threshold",), None, "run-2").state() is not first


def test_distributed_scheduler_address(cube_copy, small_registry):
    from dask.distributed import Client, LocalCluster

    from meltwater.precompute import precompute

    days = _days(xr.open_zarr(cube_copy, consolidated=False), 3)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster:
        done = precompute(
            cube_copy,
            ("unet", "pmw_threshold"),
            (),
            dates=days,
            scheduler=cluster.scheduler_address,
            models_dir=small_registry,
        )
        with Client(cluster) as client:  # the run's models were dropped from the worker
            left = client.run(lambda dask_worker: len(dask_worker.__dict__["meltwater_runs"]))
    assert list(left.values()) == [0]
    assert done == {"pred_unet": 3, "pred_pmw_threshold": 3}
    out = xr.open_zarr(cube_copy, chunks=None, consolidated=False)
    assert np.isfinite(out["pred_unet"].values[:3]).all()
    assert np.isnan(out["pred_unet"].values[3:]).all()
