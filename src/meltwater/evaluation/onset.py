"""Melt onset and freeze-up per pixel: first and last melt day of a season, and melt-day counts.

SAR observes melt only on its scene days, so every series here is sampled on the SAR days of
the season, and a model is read only where SAR is valid that day ("sampled like SAR"): a
model's onset is then comparable with SAR's, not earlier merely because the model is daily.
Melt is a value ``> threshold`` (0.1, as the binary metrics). Days are days of the season
(0 = 1 April, `meltwater.data.cube.season_day`).

`melt_timing` works on arrays; `season_timing` reads a cube's season; `timing_by_band` gives,
per 500 m elevation band (as the results file's ``elevation_bias``), each model's mean onset and
freeze-up difference from SAR in days (model − SAR, over the pixels where both melt) and the
mean melt-day counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.data.cube import season_day
from meltwater.errors import CubeError, GridMismatchError
from meltwater.evaluation.metrics import BINARY_THRESHOLD
from meltwater.evaluation.results import elevation_bands
from meltwater.evaluation.thresholds import same_cut
from meltwater.schema import pred_var

__all__ = ["TIMING_VARS", "melt_timing", "season_timing", "timing_by_band"]

TIMING_VARS = ("onset", "freeze", "melt_days", "observed_days")


def melt_timing(
    values: np.ndarray,
    observed: np.ndarray,
    days: np.ndarray,
    threshold: float = BINARY_THRESHOLD,
) -> dict[str, np.ndarray]:
    """Per-pixel onset, freeze-up and melt-day counts of one series.

    Args:
        values: ``(time, y, x)`` melt fraction.
        observed: ``(time, y, x)`` True where the day counts (NaN values never do).
        days: day of the season of each time step, increasing.
        threshold: melt is ``> threshold``.

    Returns:
        `TIMING_VARS` as ``(y, x)`` arrays: ``onset`` / ``freeze`` (float, NaN where the pixel
        never melts), ``melt_days`` and ``observed_days`` (int).
    """
    v = np.asarray(values)
    if np.shape(observed) != v.shape or len(days) != v.shape[0]:
        raise GridMismatchError(
            f"values {v.shape}, observed {np.shape(observed)} and days ({len(days)}): "
            "expected the same (time, y, x) and one day per time step"
        )
    dtype = np.result_type(v.dtype, np.float32)
    cut = same_cut(threshold, dtype)  # compare in float32 (fast), exactly as in float64
    onset = np.full(v.shape[1:], np.nan)
    freeze = np.full(v.shape[1:], np.nan)
    melt_days = np.zeros(v.shape[1:], np.int64)
    observed_days = np.zeros(v.shape[1:], np.int64)
    for i, day in enumerate(np.asarray(days, dtype=np.float64)):  # one map at a time: fast
        x = v[i].astype(dtype)
        obs = np.asarray(observed[i], bool) & np.isfinite(x)
        melt = obs & (x > cut)
        onset[melt & np.isnan(onset)] = day
        freeze[melt] = day
        melt_days += melt
        observed_days += obs
    return {
        "onset": onset,
        "freeze": freeze,
        "melt_days": melt_days,
        "observed_days": observed_days,
    }


def season_timing(
    cube: xr.Dataset,
    year: int,
    models: Sequence[str],
    threshold: float = BINARY_THRESHOLD,
) -> xr.Dataset:
    """`melt_timing` of SAR and each model over the SAR days of the season ``year``.

    Returns:
        Dataset with `TIMING_VARS` of dims ``(series, y, x)``, ``series`` = ``sar`` then the
        models; attributes ``year``, ``sar_days`` (how many scenes), ``threshold``.

    Raises:
        CubeError: the season has no SAR scene, or a model has no ``pred_<model>``.
    """
    missing = [m for m in models if pred_var(m) not in cube]
    if missing:
        raise CubeError(f"models: no predictions in the cube for {missing}")
    times = pd.DatetimeIndex(cube.time.values)
    idx = np.flatnonzero(np.asarray(cube["has_sar"].values, bool) & (times.year == int(year)))
    if idx.size == 0:
        raise CubeError(f"year: season {year} has no SAR scene in the cube")
    days = season_day(times[idx])
    sar = np.asarray(cube["sar"].isel(time=idx).values)
    valid = np.asarray(cube["valid"].isel(time=idx).values, bool) & np.isfinite(sar)
    series = {"sar": melt_timing(sar, valid, days, threshold)}
    del sar
    for m in models:
        pred = np.asarray(cube[pred_var(m)].isel(time=idx).values)
        series[m] = melt_timing(pred, valid, days, threshold)
    names = list(series)
    data = {k: (("series", "y", "x"), np.stack([series[s][k] for s in names])) for k in TIMING_VARS}
    return xr.Dataset(
        data,
        coords={"series": names, "y": cube.y.values, "x": cube.x.values},
        attrs={"year": int(year), "sar_days": int(idx.size), "threshold": threshold},
    )


def timing_by_band(timing: xr.Dataset, dem: np.ndarray) -> xr.Dataset:
    """Mean onset / freeze-up difference from SAR and melt-day counts per elevation band.

    Args:
        timing: `season_timing` output.
        dem: ``(y, x)`` elevation in metres.

    Returns:
        Dataset with ``onset_diff``, ``freeze_diff`` (model, elev_band: mean model − SAR in
        days over the pixels where both melt; NaN where none), ``both_melt`` (those pixels),
        ``melt_days`` (series, elev_band: mean over the pixels SAR observed at least once) and
        ``pixels`` (elev_band: those pixels).
    """
    band, edges = elevation_bands(dem)
    labels = [f"{int(lo)}-{int(hi)}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    nb = len(labels)
    seen = timing["observed_days"].sel(series="sar").values > 0

    def band_mean(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = np.bincount(band[mask], minlength=nb).astype(np.float64)
        total = np.bincount(band[mask], weights=values[mask], minlength=nb)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, total / n, np.nan), n

    models = [str(s) for s in timing.series.values if s != "sar"]
    out: dict[str, list] = {"onset_diff": [], "freeze_diff": [], "both_melt": []}
    for m in models:
        for k in ("onset", "freeze"):
            diff = (timing[k].sel(series=m) - timing[k].sel(series="sar")).values
            mean, n = band_mean(diff, np.isfinite(diff))
            out[f"{k}_diff"].append(mean)
        out["both_melt"].append(n)
    days = [band_mean(timing["melt_days"].sel(series=s).values, seen)[0] for s in timing.series]
    coords = {"model": models, "elev_band": labels}
    ds = xr.Dataset(
        {k: (("model", "elev_band"), np.array(v).reshape(len(models), nb)) for k, v in out.items()},
        coords=coords,
    )
    ds["melt_days"] = xr.DataArray(
        np.array(days), dims=("series", "elev_band"), coords={"series": timing.series.values}
    )
    ds["pixels"] = ("elev_band", band_mean(np.zeros(band.shape), seen)[1])
    return ds.assign_attrs(timing.attrs)
