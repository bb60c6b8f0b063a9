"""Precompute and evaluate days/s on 1, 2, 4 dask.distributed workers vs the threaded path.

Part of `benchmarks.scale` (its ``--workers`` table). On the cube at ``path`` (the full-size
synthetic demo), a subset of days is recomputed (``overwrite``) by the threaded path (this
process, one thread per CPU) and by a LocalCluster of 1, 2 and 4 single-threaded worker
processes; then the same days are scored by `evaluate` on each. The clusters are started
before the clock (their start time is printed apart); each timed run includes the workers
opening the cube and building (fitting, loading) their models once; the season summaries that
precompute stores afterwards are left out (``summaries=False``: minutes on this grid, the same
for every run). Ratios: days/s against
the first cluster (1 worker) and against the threaded path.

``unet`` among the models is the shipped UNet (``models/unet_demo``, precision ``auto``): every
worker loads it once per run (`meltwater.precompute_jobs.DayRunner`), and the load is in the
timed run. Evaluating it scores the SAR days live with the UNet (minutes a day on this grid):
``evaluate=False`` times precompute only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from meltwater.data.cube import open_cube
from meltwater.evaluation.evaluate import evaluate
from meltwater.precompute import precompute

WORKERS = (1, 2, 4)


def _days(path: Path, n: int) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(``n`` days spread over the season, its SAR days among ``n`` more: evaluate's days)."""
    cube = open_cube(path)
    times = cube.indexes["time"]
    every = times[np.linspace(0, len(times) - 1, n).round().astype(int)]
    sar = times[cube["has_sar"].values.astype(bool)]
    return every, sar[np.linspace(0, len(sar) - 1, min(n, len(sar))).round().astype(int)]


def _rates(path: Path, models: Sequence[str], scheduler: str | None, workers: int | None,
           days: pd.DatetimeIndex, sar_days: pd.DatetimeIndex) -> tuple[float, float]:  # fmt: skip
    """(precompute days/s, evaluate days/s; NaN without SAR days) on ``scheduler``."""
    t = time.perf_counter()
    precompute(path, models, (), dates=days, scheduler=scheduler, workers=workers, overwrite=True,
               summaries=False)  # fmt: skip
    pre = len(days) / (time.perf_counter() - t)
    if not len(sar_days):
        return pre, float("nan")
    cube = open_cube(path)
    split = str(cube["split"].sel(time=sar_days[0]).values)
    t = time.perf_counter()
    evaluate(cube, models, split, dates=sar_days, area_days="split", scheduler=scheduler,
             workers=workers, progress=False)  # fmt: skip
    return pre, len(sar_days) / (time.perf_counter() - t)


def scaleout(
    path: Path,
    models: Sequence[str],
    n_days: int,
    workers: Sequence[int] = WORKERS,
    evaluate: bool = True,
) -> list[tuple[str, float, float]]:
    """Rows (configuration, precompute days/s, evaluate days/s), printed as a table; clusters
    of ``workers`` processes each (the first is the reference of "vs 1 worker")."""
    from dask.distributed import LocalCluster

    days, sar_days = _days(path, n_days)
    sar_days = sar_days if evaluate else sar_days[:0]
    print(f"\nscale-out: models {list(models)}, {len(days)} days precomputed, "
          f"{len(sar_days)} SAR days evaluated, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    threads = len(os.sched_getaffinity(0))
    rows = [(f"threaded ({threads} threads)", *_rates(path, models, None, None, days, sar_days))]
    print(f"  {rows[-1][0]}: {rows[-1][1]:.3f} / {rows[-1][2]:.3f} days/s")
    for n in workers:
        t = time.perf_counter()
        with LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=None) as cluster:
            start = time.perf_counter() - t
            rows.append(
                (
                    f"{n} worker(s)",
                    *_rates(path, models, cluster.scheduler_address, None, days, sar_days),
                )  # fmt: skip
            )
        print(f"  LocalCluster of {n}: started in {start:.1f} s, {rows[-1][1]:.3f} / "
              f"{rows[-1][2]:.3f} days/s, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    one, ref = rows[1], rows[0]
    first = f"vs {workers[0]} worker{'s' if workers[0] > 1 else ''}"
    print(f"\n| run | precompute days/s | {first} | vs threaded | evaluate days/s "
          f"| {first} | vs threaded |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, pre, ev in rows:
        scored = (f"{ev:.3f} | {ev / one[2]:.2f}× | {ev / ref[2]:.2f}×" if np.isfinite(ev)
                  else "— | — | —")  # fmt: skip
        print(f"| {label} | {pre:.3f} | {pre / one[1]:.2f}× | {pre / ref[1]:.2f}× | {scored} |")
    return rows
