"""A season's melt area against the climatology of every season: mean and min–max per week.

SAR has a scene only every few days, on different days each year, so days are pooled into
weeks of the season (``window`` days from 1 April): each season's weekly value is the mean of
its days with a value, and the climatology of a week is the mean, minimum and maximum of those
weekly values over the seasons that have one. Models (daily) go through the same bins, so a
model and SAR are compared on equal terms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.data.cube import season_day
from meltwater.errors import InvalidArgumentError

__all__ = ["STATS", "melt_area_series", "weekly", "weekly_climatology"]

STATS = ("mean", "min", "max", "seasons")


def weekly(series: xr.DataArray, window: int = 7) -> xr.DataArray:
    """Mean of ``series`` per season and bin of ``window`` season days (NaN days skipped).

    Args:
        series: values along ``time`` (other dimensions kept).
        window: days per bin (7: weeks from 1 April).

    Returns:
        ``series`` with ``time`` replaced by ``year`` and ``week`` (the first season day of
        each bin as coordinate ``week_start``); NaN where a bin of a season has no value.

    Raises:
        InvalidArgumentError: ``window`` < 1.
    """
    if window < 1:
        raise InvalidArgumentError(f"window: expected at least 1 day, got {window}")
    times = pd.DatetimeIndex(series["time"].values)
    years, year_of = np.unique(times.year, return_inverse=True)
    weeks, week_of = np.unique(season_day(times) // window, return_inverse=True)
    cell = np.zeros((len(times), len(years) * len(weeks)))
    cell[np.arange(len(times)), year_of * len(weeks) + week_of] = 1.0
    series = series.transpose(..., "time")
    v = series.values.astype(np.float64)
    ok = np.isfinite(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (np.where(ok, v, 0.0) @ cell) / (ok @ cell)  # 0 / 0: NaN
    dims = series.dims[:-1] + ("year", "week")
    coords = {d: series[d].values for d in series.dims[:-1] if d in series.coords}
    return xr.DataArray(
        mean.reshape(v.shape[:-1] + (len(years), len(weeks))),
        dims=dims,
        coords={**coords, "year": years, "week": weeks, "week_start": ("week", weeks * window)},
    )


def weekly_climatology(series: xr.DataArray, window: int = 7) -> xr.Dataset:
    """Weekly values of every season and their mean, min, max and count over the seasons.

    Returns:
        Dataset with ``weekly`` (…, year, week) and ``climatology`` (…, stat, week) with
        `STATS` ``mean``, ``min``, ``max``, ``seasons`` (how many seasons have the week).
    """
    w = weekly(series, window)
    stats = [
        w.mean("year", skipna=True),
        w.min("year", skipna=True),
        w.max("year", skipna=True),
        w.notnull().sum("year").astype(np.float64),
    ]
    clim = xr.concat(stats, dim=xr.DataArray(list(STATS), dims="stat"))
    return xr.Dataset({"weekly": w, "climatology": clim}, attrs={"window": window})


def melt_area_series(summaries: list[xr.Dataset]) -> xr.DataArray:
    """Melt area (km²) of SAR and each model from season summaries (`summaries.daily_summary`),
    joined over the seasons: dims ``(series, time)``, ``series`` = ``sar`` then the models."""
    parts = []
    for s in summaries:
        sar = s["sar_melt_area_km2"].expand_dims(series=["sar"])
        parts.append(xr.concat([sar, s["melt_area_km2"].rename(model="series")], dim="series"))
    return xr.concat(parts, dim="time").transpose("series", "time")
