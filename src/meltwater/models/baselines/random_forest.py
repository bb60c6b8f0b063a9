"""Random forest: per-pixel regression of melt fraction on the four model inputs and the month.

Features per pixel: the normalised, blurred channels of `meltwater.data.preprocess.model_inputs`
(``pmw, mar_wa1, sar_interp, dem``; z-score stats computed on the training dates) and the
calendar month. Trained on a random subsample of valid training pixels so it fits in seconds;
predicted on land pixels only (ocean is 0, it is never a valid pixel).
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.ensemble import RandomForestRegressor

from meltwater.data.cube import day_map
from meltwater.data.preprocess import NormStats, model_inputs
from meltwater.models.baselines.base import (
    Baseline,
    as_prediction,
    sample_training_pixels,
    training_days,
)
from meltwater.schema import CHANNELS

__all__ = ["FEATURES", "RandomForest"]

FEATURES = (*CHANNELS, "month")


def _features(x: np.ndarray, idx: np.ndarray, month: int) -> np.ndarray:
    """(n, 5) features of flat pixel indices ``idx`` from a (4, ny, nx) input stack."""
    flat = x.reshape(x.shape[0], -1)[:, idx].T
    return np.column_stack([flat, np.full(idx.size, month, dtype=np.float32)])


class RandomForest(Baseline):
    """scikit-learn random forest over the model inputs + month.

    Args:
        n_estimators: number of trees.
        max_depth: maximum tree depth.
        max_pixels: total training pixels, spread evenly over the training scenes.
        n_jobs: parallel jobs for fit and predict (None: 1).
        seed: seed of the pixel sample and the forest.
    """

    name = "random_forest"

    def __init__(
        self,
        n_estimators: int = 200,
        max_depth: int = 16,
        max_pixels: int = 8_000,
        n_jobs: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.max_pixels = max_pixels
        self.n_jobs = n_jobs
        self.seed = seed
        self.stats: NormStats | None = None
        self.forest: RandomForestRegressor | None = None
        self.n_samples = 0

    def fit(self, cube: xr.Dataset, train_dates: pd.DatetimeIndex) -> Self:
        days = training_days(cube, train_dates)
        self.stats = NormStats.compute(cube, days)
        per_day = max(1, self.max_pixels // len(days))
        feats, target = [], []
        for date, idx in sample_training_pixels(cube, days, per_day, self.seed):
            x = model_inputs(cube, date, self.stats)
            feats.append(_features(x, idx, date.month))
            target.append(day_map(cube, "sar", date).ravel()[idx])
        self.forest = RandomForestRegressor(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            n_jobs=self.n_jobs,
            random_state=self.seed,
        )
        X = np.concatenate(feats)
        self.forest.fit(X, np.concatenate(target))
        self.n_samples = int(X.shape[0])
        self._fitted = True
        return self

    def predict(self, cube: xr.Dataset, date: pd.Timestamp | str) -> xr.DataArray:
        self._require_fitted()
        assert self.stats is not None and self.forest is not None, "set by fit()"
        date = pd.Timestamp(date)
        land = np.flatnonzero(np.asarray(cube["land"].values, dtype=bool))
        x = model_inputs(cube, date, self.stats)
        pred = np.zeros(x.shape[1] * x.shape[2], dtype=np.float32)
        if land.size:
            pred[land] = self.forest.predict(_features(x, land, date.month))
        return as_prediction(pred.reshape(x.shape[1:]), cube, self.name, date)

    def params(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "n_samples": self.n_samples,
            "seed": self.seed,
            "norm_stats": self.stats.to_dict() if self.stats is not None else None,
            "feature_importances": (
                dict(zip(FEATURES, map(float, self.forest.feature_importances_), strict=True))
                if self.forest is not None
                else None
            ),
        }
