"""PMW threshold (Colosio et al. 2021): melt where Tb exceeds a winter-referenced threshold.

``melt = 1 where Tb > slope · Tb_winter + offset else 0`` with slope 0.48 and offset 128 K;
``Tb_winter`` is the cube's ``pmw_winter`` (Jan–Feb mean brightness temperature) of the
target date's year. Nothing is fitted: `fit` only checks the inputs exist.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.data.cube import day_map
from meltwater.errors import CubeError
from meltwater.models.baselines.base import Baseline, as_prediction, training_days

__all__ = ["PmwThreshold", "winter_tb"]


def winter_tb(cube: xr.Dataset, year: int) -> np.ndarray:
    """The Jan–Feb mean brightness temperature of ``year`` from the cube.

    Raises:
        CubeError: the cube has no ``pmw_winter`` or not for that year.
    """
    if "pmw_winter" not in cube:
        raise CubeError("cube has no variable 'pmw_winter' (Jan–Feb mean Tb per year)")
    years = [int(y) for y in cube["year"].values]
    if int(year) not in years:
        raise CubeError(f"cube's pmw_winter has no year {year}; it has {years}")
    return np.asarray(cube["pmw_winter"].sel(year=int(year)).values, dtype=np.float32)


class PmwThreshold(Baseline):
    """Binary melt from Tb > slope · Tb_winter + offset (Colosio et al. 2021).

    Args:
        slope: multiplier of the winter mean Tb.
        offset_k: offset in kelvin.
    """

    name = "pmw_threshold"

    def __init__(self, slope: float = 0.48, offset_k: float = 128.0) -> None:
        super().__init__()
        self.slope = float(slope)
        self.offset_k = float(offset_k)

    def fit(self, cube: xr.Dataset, train_dates: pd.DatetimeIndex) -> Self:
        for year in sorted({d.year for d in training_days(cube, train_dates)}):
            winter_tb(cube, year)
        self._fitted = True
        return self

    def predict(self, cube: xr.Dataset, date: pd.Timestamp | str) -> xr.DataArray:
        self._require_fitted()
        date = pd.Timestamp(date)
        tb = day_map(cube, "pmw", date)
        melt = tb > self.slope * winter_tb(cube, date.year) + self.offset_k
        return as_prediction(melt.astype(np.float32), cube, self.name, date)

    def params(self) -> dict[str, Any]:
        return {
            "form": "Tb > slope * Tb_winter + offset_k",
            "slope": self.slope,
            "offset_k": self.offset_k,
        }
