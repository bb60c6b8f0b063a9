"""The one per-day scoring kernel: a prediction of one day against that day's SAR scene.

`evaluate` (a split), the season summaries, the classroom helpers and the dashboard's day table
all score a day through `score_day`, so a number means the same wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.data.cube import day_map
from meltwater.evaluation import metrics

__all__ = ["DAY_METRICS", "Truth", "day_truth", "melt_area_km2", "score_day"]

DAY_METRICS = ("mae", "bias", "accuracy")
"""Metrics of a day's quick score (the summaries, the dashboard, the classroom)."""


@dataclass(frozen=True)
class Truth:
    """A day's SAR melt fraction and the pixels it is valid on (land, finite)."""

    sar: np.ndarray
    valid: np.ndarray

    @property
    def melt_fraction(self) -> float:
        """Mean SAR melt fraction over the valid pixels."""
        return metrics.masked_mean(self.sar, self.valid)

    def melt_area_km2(self, area_km2: float) -> float:
        """Area of the valid pixels with SAR melt above `metrics.BINARY_THRESHOLD`."""
        return float((self.valid & (self.sar > metrics.BINARY_THRESHOLD)).sum()) * area_km2


def day_truth(cube: xr.Dataset, date: pd.Timestamp | str) -> Truth | None:
    """The SAR scene of ``date`` (None when the cube has no scene that day)."""
    if "has_sar" in cube and not bool(cube["has_sar"].sel(time=pd.Timestamp(date))):
        return None
    sar = day_map(cube, "sar", date)
    return Truth(sar, day_map(cube, "valid", date).astype(bool) & np.isfinite(sar))


def melt_area_km2(pred: np.ndarray, land: np.ndarray, area_km2: float) -> float:
    """Land area where ``pred`` exceeds `metrics.BINARY_THRESHOLD` (NaN pixels never melt)."""
    return float((land & (pred > metrics.BINARY_THRESHOLD)).sum()) * area_km2


def score_day(
    pred: np.ndarray,
    truth: Truth | None,
    land: np.ndarray | None = None,
    area_km2: float = 0.0,
    metric_names: Sequence[str] = DAY_METRICS,
    ssim_sigma: float = metrics.SSIM_SIGMA,
) -> dict[str, float]:
    """Melt area of one day's prediction and, on a SAR day, its scores against SAR.

    Args:
        pred: the (y, x) prediction.
        truth: the day's SAR (`day_truth`); None scores the melt area only.
        land: land mask of the grid (None: no melt area).
        area_km2: area of one pixel.
        metric_names: names of `metrics.METRICS` to compute.
        ssim_sigma: Gaussian σ of the SSIM window, pixels.

    Returns:
        ``melt_area_km2`` (given ``land``); with a truth also ``melt_fraction`` (mean
        prediction over the valid, finite pixels), ``n_valid`` and each metric.
    """
    out = {} if land is None else {"melt_area_km2": melt_area_km2(pred, land, area_km2)}
    if truth is not None:
        out["melt_fraction"] = metrics.masked_mean(pred, truth.valid & np.isfinite(pred))
        out.update(metrics.image_metrics(pred, truth.sar, truth.valid, metric_names, ssim_sigma))
    return out
