"""MAR interpolation: blurred MAR WA1 mapped to a melt map by a brightness and a gamma.

``pred = clip(brightness · blur(mar_wa1), 0, 1) ** (1 / gamma)`` with the blur of the UNet
input (Gaussian σ 33 px, kernel 99): the image brightness/gamma correction. Brightness scales
MAR liquid water so that ``mar ≥ 1 / brightness`` saturates at 1; a gamma above 1 lifts small
values towards 1, so a large gamma gives a near-binary map (any MAR water → melt). The form is
monotone in MAR; both parameters are fitted on the training SAR scenes by a log-spaced grid
search refined with Nelder–Mead, minimising the mean squared error over sampled valid pixels.
The paper reports brightness ≈ 143.5 and gamma ≈ 29.2 on the real data.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import minimize

from meltwater.data.cube import day_map
from meltwater.data.preprocess import BLUR, gaussian_blur
from meltwater.models.baselines.base import (
    Baseline,
    as_prediction,
    sample_training_pixels,
    training_days,
)

__all__ = ["MarInterp", "fit_brightness_gamma", "mar_mapping"]

MAR_SIGMA, MAR_KERNEL = BLUR["mar_wa1"]  # the UNet input blur (paper: σ 33 px, kernel 99)
_LOG_B = np.linspace(np.log(1.0), np.log(1e5), 41)
_LOG_G = np.linspace(np.log(1 / 300.0), np.log(300.0), 41)


def mar_mapping(mar: np.ndarray, brightness: float, gamma: float) -> np.ndarray:
    """``clip(brightness · mar, 0, 1) ** (1 / gamma)`` (0 where MAR ≤ 0)."""
    return np.clip(brightness * np.asarray(mar, dtype=np.float64), 0.0, 1.0) ** (1.0 / gamma)


def _mse(log_b: float, log_g: float, mar: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean((mar_mapping(mar, np.exp(log_b), np.exp(log_g)) - target) ** 2))


def fit_brightness_gamma(
    mar: np.ndarray,
    target: np.ndarray,
    max_grid_samples: int = 20_000,
    max_samples: int = 100_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Least-squares brightness and gamma of `mar_mapping` for paired samples.

    A 41 × 41 log-spaced grid search on a subsample, refined by Nelder–Mead on a larger one.

    Args:
        mar: blurred MAR values, 1-D.
        target: SAR melt fraction at the same pixels, 1-D.
        max_grid_samples: samples used by the grid search.
        max_samples: samples used by the refinement.
        seed: seed of the subsamples.

    Returns:
        ``(brightness, gamma)``.
    """
    mar = np.asarray(mar, dtype=np.float64).ravel()
    target = np.asarray(target, dtype=np.float64).ravel()
    if mar.size == 0 or mar.size != target.size:
        raise ValueError(f"need equal, non-empty samples; got {mar.size} MAR and {target.size} SAR")
    order = np.random.default_rng(seed).permutation(mar.size)
    m, t = mar[order[:max_grid_samples]], target[order[:max_grid_samples]]
    with np.errstate(divide="ignore"):
        logm = np.log(np.clip(m, 0.0, None))
    best = (np.inf, 0.0, 0.0)
    for lb in _LOG_B:
        logx = np.minimum(lb + logm, 0.0)  # log of clip(b·m, 0, 1)
        err = ((np.exp(np.exp(-_LOG_G)[:, None] * logx[None, :]) - t) ** 2).mean(axis=1)
        i = int(np.argmin(err))
        if err[i] < best[0]:
            best = (float(err[i]), float(lb), float(_LOG_G[i]))
    m, t = mar[order[:max_samples]], target[order[:max_samples]]
    res = minimize(
        lambda p: _mse(p[0], p[1], m, t),
        x0=np.array(best[1:]),
        method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-14, "maxiter": 2000},
    )
    return float(np.exp(res.x[0])), float(np.exp(res.x[1]))


class MarInterp(Baseline):
    """Blurred MAR WA1 with a fitted brightness/gamma mapping (see module docstring).

    Args:
        pixels_per_day: valid pixels sampled from each training scene for the fit.
        seed: sampling seed.
    """

    name = "mar_interp"

    def __init__(self, pixels_per_day: int = 5000, seed: int = 0) -> None:
        super().__init__()
        self.pixels_per_day = pixels_per_day
        self.seed = seed
        self.brightness = float("nan")
        self.gamma = float("nan")
        self.n_samples = 0

    @staticmethod
    def blurred_mar(cube: xr.Dataset, date: pd.Timestamp | str) -> np.ndarray:
        """MAR WA1 of ``date`` blurred like the UNet input (σ 33 px, kernel 99)."""
        return gaussian_blur(day_map(cube, "mar_wa1", date), MAR_SIGMA, MAR_KERNEL)

    def fit(self, cube: xr.Dataset, train_dates: pd.DatetimeIndex) -> Self:
        days = training_days(cube, train_dates)
        mar, sar = [], []
        for date, idx in sample_training_pixels(cube, days, self.pixels_per_day, self.seed):
            mar.append(self.blurred_mar(cube, date).ravel()[idx])
            sar.append(day_map(cube, "sar", date).ravel()[idx])
        mar_all, sar_all = np.concatenate(mar), np.concatenate(sar)
        self.brightness, self.gamma = fit_brightness_gamma(mar_all, sar_all, seed=self.seed)
        self.n_samples = int(mar_all.size)
        self._fitted = True
        return self

    def predict(self, cube: xr.Dataset, date: pd.Timestamp | str) -> xr.DataArray:
        self._require_fitted()
        pred = mar_mapping(self.blurred_mar(cube, date), self.brightness, self.gamma)
        return as_prediction(pred, cube, self.name, date)

    def params(self) -> dict[str, Any]:
        return {
            "form": "clip(brightness * blur(mar_wa1), 0, 1) ** (1 / gamma)",
            "brightness": self.brightness,
            "gamma": self.gamma,
            "blur_sigma_px": MAR_SIGMA,
            "blur_kernel_px": MAR_KERNEL,
            "n_samples": self.n_samples,
        }
