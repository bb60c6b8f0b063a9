"""Batch inference of every model on every day of a cube, written into the cube: ``pred_<model>``.

For each day the UNet and every baseline predict the melt fraction (float16 ``pred_<model>``);
on SAR days the UNet also predicts with each single input channel ablated
(``pred_unet_no_<channel>``; NaN on other days). Days are written region-wise (one zarr chunk
per day), so parallel tasks never touch the same chunk. Completed days are recorded in each
variable's ``days_done`` attribute after their chunk is written: a rerun after a kill redoes
only the unfinished days, and a rerun of a finished cube does nothing. A variable whose model
changed (another checkpoint) is recomputed. Parallel over days with dask: local threads by
default, or a ``dask.distributed`` scheduler address (workers must see the same files).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import zarr
from tqdm.auto import tqdm

from meltwater.atomic import exclusive_lock
from meltwater.errors import UnknownNameError
from meltwater.evaluation.summary_store import write_season_summaries
from meltwater.schema import CHANNELS, pred_var

__all__ = ["DONE_ATTR", "MODEL_ATTR", "plan", "precompute"]

DONE_ATTR = "days_done"
MODEL_ATTR = "model_id"
_CACHE: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def _model_id(name: str, models_dir: str | None) -> str:
    if name != "unet":
        return name
    from meltwater.models.checkpoint import read_meta
    from meltwater.models.inference import registry_entry

    entry = registry_entry(None, models_dir)
    return f"unet:{entry['name']}:{read_meta(entry['checkpoint']).weights_sha256[:16]}"


def _jobs(models: Sequence[str], ablations: Sequence[str]) -> dict[str, tuple[str, tuple]]:
    """Variable name → (model, ablated channels)."""
    jobs = {pred_var(m): (m, ()) for m in models}
    if "unet" in models:
        jobs.update({pred_var("unet", (c,)): ("unet", (c,)) for c in ablations})
    return jobs


def _worker_state(path: str, models: tuple[str, ...], models_dir: str | None):
    """The cube and fitted predictors of this process, built once (thread-safe)."""
    from meltwater.data.cube import open_cube
    from meltwater.models.registry import get_predictor

    key = (path, models, models_dir)
    with _LOCK:
        if key not in _CACHE:
            cube = open_cube(path)
            extra = {"models_dir": models_dir} if models_dir else {}
            preds = {m: get_predictor(m, cube, **(extra if m == "unet" else {})) for m in models}
            _CACHE[key] = (cube, preds)
        return _CACHE[key]


def _day_task(
    path: str,
    models: tuple[str, ...],
    models_dir: str | None,
    index: int,
    jobs: list[tuple[str, str, tuple]],
) -> tuple[int, list[str]]:
    """Predict the listed (variable, model, ablation) jobs of one day and write its chunks."""
    cube, preds = _worker_state(path, models, models_dir)
    date = cube.indexes["time"][index]
    group = zarr.open_group(path, mode="r+")
    for var, model, ablate in jobs:
        pred = preds[model].predict(cube, date, ablate=ablate)
        group[var][index] = np.asarray(pred, dtype=np.float16)
    return index, [v for v, _, _ in jobs]


def _ensure_variables(path: Path, cube: xr.Dataset, ids: dict[str, str], overwrite: bool) -> None:
    """Create missing prediction variables (NaN-filled, chunk per day); reset stale ones."""
    import dask.array as da

    group = zarr.open_group(str(path), mode="r+")
    ny, nx, nt = cube.sizes["y"], cube.sizes["x"], cube.sizes["time"]
    new = {}
    for var, model_id in ids.items():
        if var in group and not overwrite and group[var].attrs.get(MODEL_ATTR) == model_id:
            continue
        if var in group:
            group[var].attrs.update({DONE_ATTR: [], MODEL_ATTR: model_id})
            continue
        data = da.full((nt, ny, nx), np.nan, dtype=np.float16, chunks=(1, ny, nx))
        new[var] = xr.DataArray(
            data,
            dims=("time", "y", "x"),
            attrs={"units": "1", "long_name": f"{var} melt fraction", DONE_ATTR: []},
        )
        new[var].attrs[MODEL_ATTR] = model_id
    if new:  # xarray rewrites the group's attributes: hand it the existing ones
        ds = xr.Dataset(new, attrs=dict(group.attrs))
        ds.to_zarr(str(path), mode="a", compute=False, consolidated=False)


def plan(
    path: Path | str,
    models: Sequence[str],
    ablations: Sequence[str] = CHANNELS,
    dates: Sequence | None = None,
) -> dict[int, list[tuple[str, str, tuple]]]:
    """Day index → the (variable, model, ablation) jobs still to do, from the store's records.

    ``dates`` restricts the plan to those days (default: every day of the cube).
    """
    cube = xr.open_zarr(str(path), chunks=None, consolidated=False)
    group = zarr.open_group(str(path), mode="r")
    days = cube.indexes["time"].strftime("%Y-%m-%d")
    wanted = set(days if dates is None else pd.DatetimeIndex(dates).strftime("%Y-%m-%d"))
    has_sar = np.asarray(cube["has_sar"].values, dtype=bool)
    todo: dict[int, list[tuple[str, str, tuple]]] = {}
    for var, (model, ablate) in _jobs(models, ablations).items():
        done = set(group[var].attrs.get(DONE_ATTR, [])) if var in group else set()
        for i, d in enumerate(days):
            if d in wanted and d not in done and (not ablate or has_sar[i]):
                todo.setdefault(i, []).append((var, model, ablate))
    return todo


def _record(group: zarr.Group, dates: pd.DatetimeIndex, index: int, variables: list[str]) -> None:
    day = dates[index].strftime("%Y-%m-%d")
    for var in variables:
        done = list(group[var].attrs.get(DONE_ATTR, []))
        if day not in done:
            group[var].attrs[DONE_ATTR] = sorted([*done, day])


def precompute(
    path: Path | str,
    models: Sequence[str] | None = None,
    ablations: Sequence[str] = CHANNELS,
    *,
    dates: Sequence | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    batch_days: int | None = None,
    models_dir: Path | str | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Fill the cube at ``path`` with every model's predictions; returns days done per variable.

    Args:
        path: the analysis cube (zarr store).
        models: model names (default: `meltwater.models.registry.MODEL_NAMES`).
        ablations: channels ablated one at a time for the UNet on SAR days.
        dates: only these days (default: all).
        scheduler: None (local threads), ``"synchronous"``, or a dask.distributed address.
        workers: local threads (default: the CPUs available).
        batch_days: days computed between two progress records with local threads.
        models_dir: folder of ``models.yaml`` for the UNet (default: the repository's).
        overwrite: recompute every day even when recorded as done.

    Raises:
        UnknownNameError: an unknown model name.
    """
    from meltwater.models.registry import MODEL_NAMES

    path = Path(path).resolve()
    models = tuple(models or MODEL_NAMES)
    unknown = sorted(set(models) - set(MODEL_NAMES))
    if unknown:
        raise UnknownNameError(f"models: unknown {unknown}; valid: {list(MODEL_NAMES)}")
    with exclusive_lock(path):  # one writer per store; a second run waits, then finds it done
        return _precompute_locked(
            path, models, ablations, dates, scheduler, workers, batch_days, models_dir, overwrite
        )


def _precompute_locked(
    path, models, ablations, dates, scheduler, workers, batch_days, models_dir, overwrite
) -> dict[str, int]:
    """`precompute` under the store's lock."""
    import dask

    from meltwater.data.cube import open_cube

    mdir = str(models_dir) if models_dir else None
    cube = open_cube(path)
    ids = {var: _model_id(m, mdir) for var, (m, _) in _jobs(models, ablations).items()}
    _ensure_variables(path, cube, ids, overwrite)
    todo = plan(path, models, ablations, dates)
    group = zarr.open_group(str(path), mode="r+")
    dates = cube.indexes["time"]
    tasks = [dask.delayed(_day_task)(str(path), models, mdir, i, jobs) for i, jobs in todo.items()]
    bar = tqdm(total=len(tasks), desc=f"precompute {path.name}", unit="day")
    if scheduler and scheduler not in ("threads", "synchronous"):
        from dask.distributed import Client, as_completed

        with Client(scheduler) as client:
            for fut in as_completed(client.compute(tasks)):
                _record(group, dates, *fut.result())
                bar.update()
    else:
        n = workers or len(os.sched_getaffinity(0))
        step = batch_days or 2 * n
        for start in range(0, len(tasks), step):
            results = dask.compute(
                *tasks[start : start + step], scheduler=scheduler or "threads", num_workers=n
            )
            for index, variables in results:
                _record(group, dates, index, variables)
            bar.update(len(results))
    bar.close()
    write_season_summaries(path)  # the dashboard's season curves, stored beside the cube
    return {v: len(group[v].attrs.get(DONE_ATTR, [])) for v in ids}
