"""SAR running mean: the time-interpolated SAR of the training scenes (DESIGN.md §4).

Per pixel, the mean of the valid SAR of up to 3 preceding and 3 following *training* scenes of
the same year; the target date and non-training scenes never contribute; 0 where none is valid.
It is computed from the cube's ``sar`` with the dates given to `fit`, so it equals the cube's
``sar_interp`` channel when fitted on the cube's training split.
"""

from __future__ import annotations

from typing import Any, Self

import pandas as pd
import xarray as xr

from meltwater.data.preprocess import time_interpolated_sar
from meltwater.errors import CubeError
from meltwater.models.baselines.base import Baseline, as_prediction, training_days

__all__ = ["SarRunningMean"]


class SarRunningMean(Baseline):
    """Mean of the neighbouring training SAR scenes.

    Args:
        n_neighbours: training scenes used on each side of the target date.
    """

    name = "sar_running_mean"

    def __init__(self, n_neighbours: int = 3) -> None:
        super().__init__()
        self.n_neighbours = n_neighbours
        self.train_dates = pd.DatetimeIndex([])

    def fit(self, cube: xr.Dataset, train_dates: pd.DatetimeIndex) -> Self:
        self.train_dates = training_days(cube, train_dates)
        self._fitted = True
        return self

    def predict(self, cube: xr.Dataset, date: pd.Timestamp | str) -> xr.DataArray:
        self._require_fitted()
        date = pd.Timestamp(date)
        if date not in cube.indexes["time"]:
            raise CubeError(f"date {date.date()} is not in the cube")
        interp = time_interpolated_sar(cube["sar"], self.train_dates, [date], self.n_neighbours)
        return as_prediction(interp.values[0], cube, self.name, date)

    def params(self) -> dict[str, Any]:
        return {
            "form": "mean of valid SAR of the n nearest training scenes before/after, same year",
            "n_neighbours": self.n_neighbours,
            "n_train_scenes": len(self.train_dates),
        }
