"""The shared baseline interface and the cube helpers every baseline uses."""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.data.cube import day_map
from meltwater.errors import CubeError
from meltwater.schema import pred_var

__all__ = ["Baseline", "as_prediction", "sample_training_pixels", "training_days"]


def as_prediction(values: np.ndarray, cube: xr.Dataset, name: str, date) -> xr.DataArray:
    """Wrap a (y, x) map as a float32 DataArray in [0, 1] on the cube's grid (and CRS)."""
    arr = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0), 0.0, 1.0)
    coords = {"y": cube["y"], "x": cube["x"], "time": pd.Timestamp(date)}
    if "spatial_ref" in cube.coords:
        coords["spatial_ref"] = cube["spatial_ref"]
    return xr.DataArray(
        arr,
        dims=("y", "x"),
        coords=coords,
        name=pred_var(name),
        attrs={"units": "1", "long_name": f"melt fraction predicted by {name}"},
    )


def training_days(cube: xr.Dataset, train_dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The training dates that are cube days with a SAR scene.

    Raises:
        CubeError: none of ``train_dates`` is a SAR day of the cube.
    """
    dates = pd.DatetimeIndex(train_dates)
    has = cube["has_sar"].to_series()
    days = dates[dates.isin(has.index[has.values.astype(bool)])]
    if len(days) == 0:
        raise CubeError(
            f"none of the {len(dates)} training dates is a SAR day of the cube; "
            "check the split against the cube's time axis"
        )
    return days.sort_values()


def sample_training_pixels(
    cube: xr.Dataset,
    dates: pd.DatetimeIndex,
    n_per_day: int,
    seed: int,
) -> list[tuple[pd.Timestamp, np.ndarray]]:
    """Random valid pixels of each training day: ``[(date, flat indices), ...]``.

    At most ``n_per_day`` pixels per day (all valid pixels when fewer), without replacement.
    """
    rng = np.random.default_rng(seed)
    out = []
    for date in dates:
        valid = np.flatnonzero(day_map(cube, "valid", date).astype(bool))
        if valid.size > n_per_day:
            valid = np.sort(rng.choice(valid, n_per_day, replace=False))
        if valid.size:
            out.append((pd.Timestamp(date), valid))
    return out


class Baseline(abc.ABC):
    """A non-deep-learning predictor of the daily 100 m melt fraction.

    Subclasses set ``name`` and implement `fit`, `predict` and `params`.
    """

    name: ClassVar[str]

    def __init__(self) -> None:
        self._fitted = False

    @abc.abstractmethod
    def fit(self, cube: xr.Dataset, train_dates: pd.DatetimeIndex) -> Self:
        """Fit on the SAR scenes of ``train_dates``; returns ``self``."""

    @abc.abstractmethod
    def predict(self, cube: xr.Dataset, date: pd.Timestamp | str) -> xr.DataArray:
        """Melt fraction of ``date``: dims (y, x), float32 in [0, 1], the cube's coords."""

    @abc.abstractmethod
    def params(self) -> dict[str, Any]:
        """Fitted values as a JSON-able dict."""

    def _require_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError(
                f"baseline {self.name!r} is not fitted; call .fit(cube, train_dates)"
            )

    def __repr__(self) -> str:
        state = self.params() if self._fitted else "unfitted"
        return f"{type(self).__name__}({state})"
