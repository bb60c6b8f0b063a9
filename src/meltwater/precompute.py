"""Batch inference of every model on every day of a cube, written into the cube: ``pred_<model>``.

For each day the UNet and every baseline predict the melt fraction (float16 ``pred_<model>``);
on SAR days the UNet also predicts with each single input channel ablated
(``pred_unet_no_<channel>``; NaN on other days). Days are written region-wise (a day's chunks
hold that day only), so parallel tasks never touch the same chunk; a day's overview levels are
written with it, before the day is recorded. Completed days are recorded in each
variable's ``days_done`` attribute after their chunk is written: a rerun after a kill redoes
only the unfinished days, and a rerun of a finished cube does nothing (and takes no lock, so
it also works on a read-only data folder). Each day is recorded under the model that wrote it
(`meltwater.data.provenance`): precompute with another model (another checkpoint) first clears the
days the previous model wrote (recomputing those asked for), so a variable never mixes models.
``verify`` decodes the chunks (and overview levels) of the days recorded as done and recomputes
the damaged ones.
Parallel over days with dask: local threads by default, a LocalCluster (``"local"``) or a
``dask.distributed`` scheduler address (workers must see the same files; `meltwater.cluster`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
import zarr
from tqdm.auto import tqdm

from meltwater.atomic import exclusive_lock, writing
from meltwater.cluster import connect, forget_on_workers, is_distributed
from meltwater.data.chunk_files import ChunkFiles
from meltwater.data.overviews import level_group, stored_factors, write_day
from meltwater.data.provenance import (
    CHUNKS_ATTR,
    DAYS_ATTR,
    DONE_ATTR,
    MODEL_ATTR,
    create_prediction_variables,
    model_days,
    provenance_attrs,
    same_model,
)
from meltwater.data.remote import is_url
from meltwater.data.zarr_nodes import array_node
from meltwater.errors import CorruptDataError, UnknownNameError
from meltwater.evaluation.summary_store import write_season_summaries
from meltwater.precompute_jobs import DayRunner, check_uncertainty, job_ids, jobs, sar_days_only
from meltwater.schema import CHANNELS, is_unc_var

__all__ = ["DAYS_ATTR", "DONE_ATTR", "MODEL_ATTR", "forget_on_workers", "plan", "precompute"]

log = logging.getLogger(__name__)


def _days_done(arr: zarr.Array) -> set[str]:
    """The days a prediction array records as done."""
    done = arr.attrs.get(DONE_ATTR, [])
    return {str(d) for d in done} if isinstance(done, list) else set()


def _day_strings(cube: xr.Dataset) -> pd.Index:
    return cube.indexes["time"].strftime("%Y-%m-%d")


def _ensure_variables(
    path: Path | str, cube: xr.Dataset, ids: dict[str, str], overwrite: bool, dates=None
) -> dict[str, int]:
    """Create missing prediction variables and make each hold days of its model ``ids[var]`` only.

    Days another model wrote are cleared (chunk set to NaN, then forgotten); with ``overwrite``
    the days of ``dates`` (default all) are forgotten so they are recomputed, the others kept.
    Returns the number of days cleared per variable.
    """
    group = zarr.open_group(str(path), mode="r+")
    days = _day_strings(cube)
    index = {d: i for i, d in enumerate(days)}
    redo = set(days if dates is None else pd.DatetimeIndex(dates).strftime("%Y-%m-%d"))
    new, cleared = {}, {}
    for var, model_id in ids.items():
        if var not in group:
            what = "TTA spread (std of the members)" if is_unc_var(var) else "melt fraction"
            new[var] = {"units": "1", "long_name": f"{var} {what}"}
            new[var].update(provenance_attrs({}, model_id))
            continue
        arr = array_node(group, var)
        recorded = model_days(arr.attrs) or {}
        mine = sorted({d for m, ds in recorded.items() if same_model(m, model_id) for d in ds})
        other = sorted({d for m, ds in recorded.items() if not same_model(m, model_id) for d in ds})
        for d in other:  # clear the chunk before forgetting the day: never an unlabelled chunk
            if d in index:
                write_day(group, var, index[d], np.full(arr.shape[1:], np.nan, arr.dtype))
        if other:
            cleared[var] = len(other)
            others = ", ".join(m for m in recorded if not same_model(m, model_id))
            msg = "%s: cleared %d day(s) written by another model (%s); model now %s"
            log.warning(msg, var, len(other), others, model_id)
        if overwrite:
            mine = [d for d in mine if d not in redo]
        attrs = provenance_attrs({model_id: mine}, model_id)
        if any(arr.attrs.get(k) != v for k, v in attrs.items()):
            arr.attrs.update(attrs)
    create_prediction_variables(path, cube.sizes, new)
    return cleared


def plan(
    path: Path | str,
    models: Sequence[str],
    ablations: Sequence[str] = CHANNELS,
    dates: Sequence | None = None,
    uncertainty: int = 0,
) -> dict[int, list[tuple[str, str, tuple]]]:
    """Day index → the (variable, model, ablation) jobs still to do, from the store's records.

    ``dates`` restricts the plan to those days (default: every day of the cube); with
    ``uncertainty`` members, ``unc_unet`` is planned on SAR days like the ablations.
    """
    cube = xr.open_zarr(str(path), chunks=None, consolidated=False)
    group = zarr.open_group(str(path), mode="r")
    days = cube.indexes["time"].strftime("%Y-%m-%d")
    wanted = set(days if dates is None else pd.DatetimeIndex(dates).strftime("%Y-%m-%d"))
    has_sar = np.asarray(cube["has_sar"].values, dtype=bool)
    todo: dict[int, list[tuple[str, str, tuple]]] = {}
    for var, (model, ablate) in jobs(models, ablations, uncertainty).items():
        done = _days_done(array_node(group, var)) if var in group else set()
        for i, d in enumerate(days):
            if d in wanted and d not in done and (not sar_days_only(var, ablate) or has_sar[i]):
                todo.setdefault(i, []).append((var, model, ablate))
    return todo


def _record(
    group: zarr.Group, dates: pd.DatetimeIndex, index: int, variables: list[str], ids: dict
) -> None:
    """Record ``index``'s day as done by ``ids[var]`` for each variable (after its chunk)."""
    day = dates[index].strftime("%Y-%m-%d")
    for var in variables:
        arr = array_node(group, var)
        recorded = model_days(arr.attrs) or {}
        mine = recorded.get(ids[var], [])
        if day not in mine:
            arr.attrs.update(provenance_attrs({**recorded, ids[var]: [*mine, day]}, ids[var]))


def _verify(path: Path | str, cube: xr.Dataset, ids: dict[str, str], dates) -> dict[str, list[str]]:
    """Days recorded as done (among ``dates``) whose chunks (full resolution or an overview
    level) cannot be decoded or, in a local store that stores every chunk, are missing, per
    variable."""
    group = zarr.open_group(str(path), mode="r")
    days = _day_strings(cube)
    wanted = set(days if dates is None else pd.DatetimeIndex(dates).strftime("%Y-%m-%d"))
    names = [""] + [level_group(f) for f in stored_factors(group.attrs)]
    bad: dict[str, list[str]] = {}
    for var in ids:
        if var not in group:
            continue
        arr = array_node(group, var)
        done = _days_done(arr)
        arrays = [array_node(group, f"{n}/{var}" if n else var) for n in names]
        files = [ChunkFiles(Path(path) / n / var) for n in names]
        stored = bool(arr.attrs.get(CHUNKS_ATTR)) and not is_url(path)
        for i, d in enumerate(days):
            if d in done and d in wanted:
                try:
                    for a, f in zip(arrays, files, strict=True):
                        if stored and f.missing(np.array([i])):
                            lost = f"its chunk in {f.dir} is missing"
                            raise CorruptDataError(lost, path=str(path), variable=var, day=d)
                        a[i]
                except OSError:
                    raise
                except Exception as e:  # the codec's error for damaged bytes
                    log.warning("%s of %s in %s is damaged (%s): recomputing it", var, d, path, e)
                    bad.setdefault(var, []).append(d)
    return bad


def _forget(path: Path | str, bad: dict[str, list[str]]) -> None:
    group = zarr.open_group(str(path), mode="r+")
    for var, days in bad.items():
        arr = array_node(group, var)
        recorded = model_days(arr.attrs) or {}
        kept = {m: [d for d in ds if d not in days] for m, ds in recorded.items()}
        arr.attrs.update(provenance_attrs(kept, str(arr.attrs.get(MODEL_ATTR, "unknown"))))


def _up_to_date(path: Path | str, ids: dict[str, str], todo: dict) -> bool:
    """Nothing to write: every variable exists, holds only its model's days, and none is due."""
    group = zarr.open_group(str(path), mode="r")
    for var, model_id in ids.items():
        if var not in group or group[var].attrs.get(MODEL_ATTR) != model_id:
            return False
        if any(m != model_id for m in model_days(group[var].attrs) or {}):
            return False
    return not todo


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
    verify: bool = False,
    uncertainty: int = 0,
    summaries: bool = True,
) -> dict[str, int]:
    """Fill the cube at ``path`` with every model's predictions; returns days done per variable.

    Args:
        path: the analysis cube (zarr store).
        models: model names (default: `meltwater.models.registry.MODEL_NAMES`).
        ablations: channels ablated one at a time for the UNet on SAR days.
        dates: only these days (default: all).
        scheduler: None (local threads), ``"synchronous"``, ``"local"`` (a LocalCluster of
            ``workers`` processes) or a dask.distributed scheduler address.
        workers: local threads, or the LocalCluster's worker processes (default: the CPUs
            available).
        batch_days: days computed between two progress records with local threads.
        models_dir: folder of ``models.yaml`` for the UNet (default: the repository's).
        overwrite: recompute the days of ``dates`` even when recorded as done (the other
            days stay recorded).
        verify: decode the stored chunk of every day recorded as done and recompute those
            that are damaged.
        uncertainty: 0 (none), or the UNet's TTA members (4 or 8, `meltwater.models.tta`)
            whose per-pixel spread is written as ``unc_unet`` on SAR days; its model id
            (``unet_tta<N>:<name>:<hash>``) records the member count and the checkpoint.
        summaries: store the season summaries beside the cube afterwards (False: leave
            them to the dashboard, which computes a missing or stale one when first shown).

    Raises:
        UnknownNameError: an unknown model name.
        InvalidArgumentError: ``uncertainty`` not 0, 4 or 8, or without ``unet``.
    """
    from meltwater.data.cube import open_cube
    from meltwater.models.registry import MODEL_NAMES

    path = str(path) if is_url(path) else Path(path).resolve()
    models = tuple(models or MODEL_NAMES)
    unknown = sorted(set(models) - set(MODEL_NAMES))
    if unknown:
        raise UnknownNameError(f"models: unknown {unknown}; valid: {list(MODEL_NAMES)}")
    check_uncertainty(models, uncertainty)
    mdir = str(models_dir) if models_dir else None
    cube = open_cube(path)
    ids = job_ids(models, ablations, uncertainty, mdir)
    bad = _verify(path, cube, ids, dates) if verify else {}
    todo = plan(path, models, ablations, dates, uncertainty)
    if not overwrite and not bad and _up_to_date(path, ids, todo):
        if summaries:
            write_season_summaries(path)  # reads them; writes only a stale one (if it can)
        return _counts(path, ids)
    args = (
        path,
        models,
        ablations,
        dates,
        scheduler,
        workers,
        batch_days,
        mdir,
        overwrite,
        uncertainty,
    )
    # one writer per local store (a second waits, then finds it done); none on object storage
    lock = exclusive_lock(path) if isinstance(path, Path) else contextlib.nullcontext()
    with writing(path), lock:
        done = _precompute_locked(*args, ids, bad)
        if summaries:
            write_season_summaries(path)  # the dashboard's curves, beside the cube
    return done


def _run(tasks, group, dates, ids, bar, scheduler, workers, batch_days, run) -> None:
    """Compute the day tasks and record each day as its chunks are written."""
    import dask

    if is_distributed(scheduler):
        from dask.distributed import as_completed

        with connect(scheduler, workers) as client:
            try:
                for fut in as_completed(client.compute(tasks)):
                    index, variables = fut.result()
                    _record(group, dates, index, variables, ids)
                    bar.update()
            finally:
                client.run(forget_on_workers, run=run)
        return
    n = workers or len(os.sched_getaffinity(0))
    step = batch_days or 2 * n
    for start in range(0, len(tasks), step):
        results = dask.compute(
            *tasks[start : start + step], scheduler=scheduler or "threads", num_workers=n
        )
        for index, variables in results:
            _record(group, dates, index, variables, ids)
        bar.update(len(results))


def _counts(path: Path | str, ids: dict[str, str]) -> dict[str, int]:
    group = zarr.open_group(str(path), mode="r")
    return {v: len(_days_done(array_node(group, v))) for v in ids}


def _precompute_locked(
    path, models, ablations, dates, scheduler, workers, batch_days, mdir, overwrite, unc, ids, bad
) -> dict[str, int]:
    """`precompute` under the store's lock."""
    import dask

    from meltwater.data.cube import open_cube

    cube = open_cube(path)
    _forget(path, bad)
    _ensure_variables(path, cube, ids, overwrite, dates)
    todo = plan(path, models, ablations, dates, unc)
    group = zarr.open_group(str(path), mode="r+")
    dates = cube.indexes["time"]
    run = uuid.uuid4().hex
    runner = DayRunner(str(path), tuple(models), mdir, run, unc)
    tasks = [dask.delayed(runner, pure=False)(i, jobs) for i, jobs in todo.items()]
    name = str(path).rstrip("/").rsplit("/", 1)[-1]
    with tqdm(total=len(tasks), desc=f"precompute {name}", unit="day") as bar:
        _run(tasks, group, dates, ids, bar, scheduler, workers, batch_days, run)
    return _counts(path, ids)
