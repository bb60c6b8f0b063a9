"""Season summaries of an analysis cube: daily melt, bias and melt area per model, per-pixel errors.

These are what the dashboard plots when no evaluation results file exists. They cover every
day of the cube (metrics vs SAR on SAR days only), unlike `evaluate`, which scores a
split. Everything here reads the cube one day at a time (its chunks are one day), so memory
stays at a few maps whatever the season length.

Daily summary schema (`daily_summary`), dims ``(model, time)`` and ``(time,)``:

* ``melt_area_km2`` (model, time): land pixels with prediction > 0.1 times the pixel area.
* ``valid_melt_area_km2`` (model, time): the same over the valid SAR pixels only (SAR days
  only), to compare like with like with ``sar_melt_area_km2``.
* ``melt_fraction`` (model, time): mean prediction over the valid SAR pixels (SAR days only).
* ``bias``, ``mae``, ``accuracy`` (model, time): `metrics` vs SAR (SAR days only).
* ``sar_melt_fraction`` (time): mean SAR melt fraction over valid pixels (SAR days only).
* ``sar_melt_area_km2`` (time): valid SAR pixels > 0.1 times the pixel area (SAR days only).
* ``valid_pixels`` (time): number of valid SAR pixels.

NaN marks "not defined that day" (no SAR scene, no valid pixel, or a model's prediction not
computed yet: an unrecorded day reads as NaN everywhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from meltwater import schema
from meltwater.data.cube import day_map, pixel_area_km2, season_day
from meltwater.errors import CubeError
from meltwater.evaluation import metrics
from meltwater.evaluation.scoring import DAY_METRICS, day_truth, melt_area_km2, score_day
from meltwater.models.registry import MODEL_NAMES

__all__ = [
    "ablations_in",
    "daily_summary",
    "models_in",
    "monthly_curves",
    "pixel_errors",
    "pixel_series",
    "season_day_curves",
]


def models_in(cube: xr.Dataset) -> list[str]:
    """Models with a ``pred_<model>`` variable in the cube, the registry's models first."""
    return schema.models_in(cube.data_vars, MODEL_NAMES)


def ablations_in(cube: xr.Dataset) -> list[str]:
    """Channels with a precomputed single-channel UNet ablation in the cube."""
    return schema.ablations_in(cube.data_vars)


def _one_day(cube: xr.Dataset, models: list[str], t: pd.Timestamp, land: np.ndarray, area: float):
    truth = day_truth(cube, t)
    keys = ("melt_area_km2", "melt_fraction", *DAY_METRICS)
    out = {k: np.full(len(models), np.nan) for k in (*keys, "valid_melt_area_km2")}
    day = {"sar_melt_fraction": np.nan, "sar_melt_area_km2": np.nan, "valid_pixels": 0.0}
    if truth is not None:
        day["valid_pixels"] = float(truth.valid.sum())
        day["sar_melt_fraction"] = truth.melt_fraction
        day["sar_melt_area_km2"] = truth.melt_area_km2(area)
    for i, m in enumerate(models):
        pred = day_map(cube, schema.pred_var(m), t)
        if not np.isfinite(pred[land]).any():  # not computed yet: undefined, not "no melt"
            continue
        scores = score_day(pred, truth, land, area)
        for k in keys:
            out[k][i] = scores.get(k, np.nan)
        if truth is not None:
            out["valid_melt_area_km2"][i] = melt_area_km2(pred, truth.valid, area)
    return out, day


def daily_summary(
    cube: xr.Dataset,
    models: Sequence[str] | None = None,
    dates: Sequence | None = None,
    *,
    progress: bool = True,
    workers: int = 2,
) -> xr.Dataset:
    """Per-day melt area, melt fraction and metrics vs SAR of each model (schema in the module doc).

    Args:
        cube: analysis cube (`meltwater.data.cube.open_cube`).
        models: model names (default: every ``pred_<model>`` in the cube).
        dates: days to summarise (default: every day of the cube).
        progress: show a tqdm bar.
        workers: threads reading days in parallel (zarr decompression releases the GIL).

    Raises:
        CubeError: a requested model has no ``pred_<model>`` variable.
    """
    models = list(models) if models is not None else models_in(cube)
    missing = [m for m in models if schema.pred_var(m) not in cube]
    if missing:
        raise CubeError(f"cube has no predictions for {missing}; present: {models_in(cube)}")
    times = pd.DatetimeIndex(cube.time.values if dates is None else dates, name="time")
    land = np.asarray(cube["land"].values, dtype=bool)
    area = pixel_area_km2(cube)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        jobs = pool.map(lambda t: _one_day(cube, models, t, land, area), times)
        rows = list(tqdm(jobs, total=len(times), desc="season summary", disable=not progress))
    per_model = {
        k: (("model", "time"), np.stack([r[0][k] for r in rows], axis=1)) for k in rows[0][0]
    }
    per_day = {k: ("time", np.array([r[1][k] for r in rows])) for k in rows[0][1]}
    ds = xr.Dataset({**per_model, **per_day}, coords={"model": models, "time": times})
    ds["melt_area_km2"].attrs["units"] = "km2"
    ds["valid_melt_area_km2"].attrs["units"] = "km2"
    ds["sar_melt_area_km2"].attrs["units"] = "km2"
    ds.attrs["pixel_area_km2"] = area
    ds.attrs["threshold"] = metrics.BINARY_THRESHOLD
    return ds


def monthly_curves(summary: xr.Dataset) -> xr.Dataset:
    """Monthly means of ``melt_fraction``, ``bias``, ``mae`` and ``sar_melt_fraction`` (SAR days).

    Each month averages the days that have a value (NaN days are skipped).
    """
    keep = ["melt_fraction", "bias", "mae", "sar_melt_fraction"]
    return summary[keep].groupby("time.month").mean(skipna=True)


def season_day_curves(summary: xr.Dataset, start: str = "04-01") -> xr.Dataset:
    """Means per day of the season over the years (coordinate ``season_day``, 0 = ``start``)."""
    keep = ["melt_fraction", "bias", "mae", "sar_melt_fraction", "melt_area_km2"]
    sd = xr.DataArray(season_day(summary.time.values, start), dims="time", name="season_day")
    return summary[keep].groupby(sd).mean(skipna=True)


def pixel_errors(
    cube: xr.Dataset, model: str, dates: Sequence, *, progress: bool = False
) -> xr.Dataset:
    """Per-pixel MAE and mean bias (pred − SAR) of ``model`` over the SAR days among ``dates``.

    Returns:
        Dataset with ``mae``, ``bias`` (NaN where a pixel was never valid) and ``count``
        (number of valid SAR days per pixel), dims ``(y, x)``.

    Raises:
        CubeError: no ``pred_<model>`` in the cube.
    """
    var = schema.pred_var(model)
    if var not in cube:
        raise CubeError(f"cube has no {var!r}; models present: {models_in(cube)}")
    times = pd.DatetimeIndex(dates)
    if "has_sar" in cube:
        times = times[np.asarray(cube["has_sar"].sel(time=times).values, dtype=bool)]
    shape = (cube.sizes["y"], cube.sizes["x"])
    abs_sum = np.zeros(shape)
    err_sum = np.zeros(shape)
    count = np.zeros(shape, dtype=np.int32)
    for t in tqdm(times, desc=f"pixel errors {model}", disable=not progress):
        sar = day_map(cube, "sar", t)
        err = day_map(cube, var, t) - sar
        ok = day_map(cube, "valid", t).astype(bool) & np.isfinite(err)
        err = np.where(ok, err, 0.0)
        abs_sum += np.abs(err)
        err_sum += err
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = np.where(count > 0, abs_sum / count, np.nan)
        bias = np.where(count > 0, err_sum / count, np.nan)
    coords = {"y": cube.y, "x": cube.x}
    return xr.Dataset(
        {
            "mae": (("y", "x"), mae.astype(np.float32)),
            "bias": (("y", "x"), bias.astype(np.float32)),
            "count": (("y", "x"), count),
        },
        coords=coords,
        attrs={"model": model, "days": len(times)},
    )


def pixel_series(
    cube: xr.Dataset, x: float, y: float, variables: Sequence[str], dates: Sequence
) -> pd.DataFrame:
    """Values of ``variables`` at the pixel nearest to (``x``, ``y``) over ``dates``.

    Static variables (no time dimension) repeat their value. ``sar`` is NaN on days without a
    scene. The frame is indexed by time; ``attrs`` hold the pixel's x, y, row and column.

    Raises:
        CubeError: (x, y) outside the grid or an unknown variable.
    """
    xs, ys = cube.indexes["x"], cube.indexes["y"]
    half_x = abs(float(xs[1] - xs[0])) / 2 if len(xs) > 1 else 0.0
    half_y = abs(float(ys[1] - ys[0])) / 2 if len(ys) > 1 else 0.0
    if not (
        min(xs) - half_x <= x <= max(xs) + half_x and min(ys) - half_y <= y <= max(ys) + half_y
    ):
        raise CubeError(f"point ({x:.0f}, {y:.0f}) lies outside the cube's grid")
    col = int(np.abs(np.asarray(xs) - x).argmin())
    row = int(np.abs(np.asarray(ys) - y).argmin())
    times = pd.DatetimeIndex(dates, name="time")
    unknown = [v for v in variables if v not in cube.variables]
    if unknown:
        raise CubeError(
            f"cube has no variables {unknown}; valid: {sorted(map(str, cube.data_vars))}"
        )
    cols = {}
    for v in variables:
        da = cube[v].isel(y=row, x=col)
        if "time" in da.dims:
            cols[v] = np.asarray(da.sel(time=times).values, dtype=np.float64)
        else:
            cols[v] = np.full(len(times), float(da.values))
    df = pd.DataFrame(cols, index=times)
    df.attrs.update(x=float(xs[col]), y=float(ys[row]), row=row, col=col)
    return df
