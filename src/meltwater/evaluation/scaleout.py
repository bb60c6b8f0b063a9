"""`evaluate`'s days on a dask.distributed cluster (``scheduler="local"`` or an address).

Each worker opens the cube from its store and builds the predictors once per run (the UNet
loaded, baselines fitted on first use: `meltwater.cluster.run_state`), then scores the days it
is given with the same per-day function as the threaded path (`evaluate._one_day`), so the
rows, and the results assembled from them, are the same. Where each model's predictions came
from (cube, cube+live, live) and its fitted parameters are collected from the workers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from meltwater.cluster import connect, forget_on_workers, run_state
from meltwater.errors import InvalidArgumentError

__all__ = ["DayScorer", "cluster_rows", "store_of"]


def store_of(cube: Any) -> str:
    """The store ``cube`` was opened from (workers open it themselves).

    Raises:
        InvalidArgumentError: the cube was built in memory, not opened from a store.
    """
    source = cube.encoding.get("source")
    if not source:
        raise InvalidArgumentError(
            "scheduler: evaluating on a cluster needs a cube opened from its store "
            "(meltwater.data.cube.open_cube); this one has no store"
        )
    return str(source)


class DayScorer:
    """Scores one day on a worker; the cube and predictors are loaded once per worker and run."""

    def __init__(
        self, path: str, models: tuple[str, ...], ablations: tuple[str, ...],
        train: pd.DatetimeIndex, use_cube: bool, ssim_sigma: float, run: str,
    ):  # fmt: skip
        self.path, self.models, self.ablations, self.train = path, models, ablations, train
        self.use_cube, self.ssim_sigma, self.run = use_cube, ssim_sigma, run

    def _load(self) -> tuple[Any, dict, dict]:
        from meltwater.data.cube import open_cube
        from meltwater.evaluation.evaluate import day_context
        from meltwater.evaluation.predictors import ablation_predictors, make_predictors
        from meltwater.schema import UNET

        cube = open_cube(self.path)
        preds = make_predictors(cube, self.models, self.train, use_cube=self.use_cube)
        if self.ablations:
            preds |= ablation_predictors(cube, preds[UNET], self.ablations, self.use_cube)
        return cube, preds, day_context(cube, preds, self.ssim_sigma)

    def state(self) -> tuple[Any, dict, dict]:
        """(cube, predictors, per-day context) of this run on this worker."""
        state = run_state(self.run, self._load)
        return self._load() if state is None else state

    def __call__(self, date: pd.Timestamp, score: bool) -> dict:
        from meltwater.evaluation.evaluate import _one_day

        cube, preds, ctx = self.state()
        return _one_day(cube, date, preds, score, ctx)


def _describe_run(dask_worker: Any, run: str) -> dict[str, tuple[str, str]]:
    """(prediction source, fitted params) of each model of ``run`` on this worker."""
    from meltwater.evaluation.predictors import describe

    state = dask_worker.__dict__.get("meltwater_runs", {}).get(run)
    if state is None:  # this worker scored no day
        return {}
    cube, preds, _ = state
    return {m: describe(p, cube) for m, p in preds.items()}


def _merge(found: Sequence[dict[str, tuple[str, str]]], models: Sequence[str]) -> dict:
    """One description per model: a worker that predicted live (and so fitted) says most."""

    def rank(d: tuple[str, str]) -> tuple[bool, bool]:
        return d[0] == "cube+live", d[1] != "{}"

    out = {}
    for m in models:
        seen = [f[m] for f in found if m in f]
        out[m] = max(seen, key=rank) if seen else ("live", json.dumps({}))
    return out


def cluster_rows(
    cube: Any,
    models: Sequence[str],
    ablations: Sequence[str],
    train: pd.DatetimeIndex,
    use_cube: bool,
    days: pd.DatetimeIndex,
    scored: set,
    ssim_sigma: float,
    scheduler: str,
    workers: int | None,
    progress: bool,
) -> tuple[dict, dict]:
    """(day → row, model → (source, params)) of ``days`` computed on the cluster; ``models``
    and the UNet's ``ablations`` are built on each worker as `evaluate` builds them."""
    from dask.distributed import as_completed

    run = uuid.uuid4().hex
    scorer = DayScorer(
        store_of(cube), tuple(models), tuple(ablations), train, use_cube, ssim_sigma, run
    )
    with connect(scheduler, workers) as client:
        try:
            futures = client.map(scorer, list(days), [d in scored for d in days], pure=False)
            index = {f.key: d for f, d in zip(futures, days, strict=True)}
            got = {}
            bar = tqdm(total=len(days), desc="evaluate", disable=not progress)
            for fut in as_completed(futures):
                got[index[fut.key]] = fut.result()
                bar.update()
            bar.close()
            found = list(client.run(_describe_run, run=run).values())
        finally:
            client.run(forget_on_workers, run=run)
    names = [m for f in found for m in f]
    return {d: got[d] for d in days}, _merge(found, list(dict.fromkeys([*models, *names])))
