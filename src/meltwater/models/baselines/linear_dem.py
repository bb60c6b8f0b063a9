"""Linear DEM: per calendar month, a least-squares line of SAR melt fraction on elevation.

``pred = clip(intercept[month] + slope[month] · dem, 0, 1)``. Months without training scenes
use the line fitted on all training pixels.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.data.cube import day_map
from meltwater.models.baselines.base import (
    Baseline,
    as_prediction,
    sample_training_pixels,
    training_days,
)

__all__ = ["LinearDem", "fit_line"]


def fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``(intercept, slope)`` of y on x; slope 0 when x is constant."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size == 0:
        raise ValueError("fit_line needs at least one sample")
    xc = x - x.mean()
    sxx = float((xc**2).sum())
    slope = float((xc * (y - y.mean())).sum() / sxx) if sxx > 0 else 0.0
    return float(y.mean() - slope * x.mean()), slope


def _line_dict(line: tuple[float, float]) -> dict[str, float]:
    return {"intercept": line[0], "slope_per_m": line[1]}


class LinearDem(Baseline):
    """Per-month linear regression of melt fraction on the DEM.

    Args:
        pixels_per_day: valid pixels sampled from each training scene.
        seed: sampling seed.
    """

    name = "linear_dem"

    def __init__(self, pixels_per_day: int = 5000, seed: int = 0) -> None:
        super().__init__()
        self.pixels_per_day = pixels_per_day
        self.seed = seed
        self.lines: dict[int, tuple[float, float]] = {}
        self.pooled: tuple[float, float] = (float("nan"), float("nan"))

    def fit(self, cube: xr.Dataset, train_dates: pd.DatetimeIndex) -> Self:
        dem = np.asarray(cube["dem"].values, dtype=np.float64).ravel()
        by_month: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        days = training_days(cube, train_dates)
        for date, idx in sample_training_pixels(cube, days, self.pixels_per_day, self.seed):
            sar = day_map(cube, "sar", date).ravel()[idx]
            by_month.setdefault(date.month, []).append((dem[idx], sar))
        self.lines = {
            m: fit_line(np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v]))
            for m, v in sorted(by_month.items())
        }
        pairs = [p for v in by_month.values() for p in v]
        self.pooled = fit_line(
            np.concatenate([a for a, _ in pairs]), np.concatenate([b for _, b in pairs])
        )
        self._fitted = True
        return self

    def predict(self, cube: xr.Dataset, date: pd.Timestamp | str) -> xr.DataArray:
        self._require_fitted()
        date = pd.Timestamp(date)
        intercept, slope = self.lines.get(date.month, self.pooled)
        pred = intercept + slope * np.asarray(cube["dem"].values, dtype=np.float64)
        return as_prediction(pred, cube, self.name, date)

    def params(self) -> dict[str, Any]:
        return {
            "form": "clip(intercept[month] + slope_per_m[month] * dem, 0, 1)",
            "months": {str(m): _line_dict(p) for m, p in self.lines.items()},
            "pooled": _line_dict(self.pooled),
        }
