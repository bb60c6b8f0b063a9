"""Pure metric functions: a prediction and a SAR target map plus a boolean valid mask.

Every metric reduces over the valid pixels through one helper, `masked_mean`; a pixel counts
as valid where the mask is True and both maps are finite. A map with no valid pixel gives NaN,
never an error. Binary metrics threshold both maps at ``> BINARY_THRESHOLD`` (0.1).

Conventions where a value is undefined:
    * R² is ``1 − SS_res/SS_tot`` clamped to ≥ −1; for a constant target (SS_tot = 0) it is 1
      when the prediction is exact and −1 otherwise (the limit of the formula, then clamped).
    * precision is NaN when no valid pixel is predicted as melt; recall is NaN when no valid
      pixel of the target is melt.
    * SSIM is NaN when the image is smaller than the Gaussian window (71 px for σ = 10) or no
      valid pixel lies inside the cropped border.

Aggregates over images (`aggregate`): ``mean`` and ``std`` (population, ddof = 0) of the
finite per-image values, and ``weighted``: the mean weighted by each image's valid-pixel count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr
from skimage.metrics import structural_similarity

from meltwater.errors import GridMismatchError, UnknownNameError

__all__ = [
    "BINARY_THRESHOLD",
    "METRICS",
    "METRIC_NAMES",
    "SSIM_SIGMA",
    "STATS",
    "accuracy",
    "aggregate",
    "bias",
    "image_metrics",
    "mae",
    "masked_mean",
    "precision",
    "r2",
    "recall",
    "rmse",
    "ssim",
    "ssim_window",
    "valid_pixels",
]

BINARY_THRESHOLD = 0.1
SSIM_SIGMA = 10.0
SSIM_TRUNCATE = 3.5  # skimage's value for gaussian_weights=True
STATS = ("mean", "std", "weighted")

ArrayLike = np.ndarray | xr.DataArray


def _pair(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None):
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if p.shape != t.shape:
        raise GridMismatchError(f"pred has shape {p.shape} but target has shape {t.shape}")
    m = np.ones(p.shape, bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != p.shape:
        raise GridMismatchError(f"mask has shape {m.shape}, expected the maps' shape {p.shape}")
    return p, t, m & np.isfinite(p) & np.isfinite(t)


def valid_pixels(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> np.ndarray:
    """Boolean map of the pixels the metrics use: mask True and both maps finite."""
    return _pair(pred, target, mask)[2]


def masked_mean(values: ArrayLike, mask: ArrayLike) -> float:
    """Mean of ``values`` where ``mask`` is True; NaN when no pixel is selected.

    The single spatial reduction every metric goes through.
    """
    m = np.asarray(mask, dtype=bool)
    n = int(m.sum())
    if n == 0:
        return float("nan")
    return float(np.asarray(values, dtype=np.float64)[m].sum() / n)


def mae(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Mean absolute error over valid pixels."""
    p, t, m = _pair(pred, target, mask)
    return masked_mean(np.abs(p - t), m)


def rmse(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Root-mean-square error over valid pixels."""
    p, t, m = _pair(pred, target, mask)
    return float(np.sqrt(masked_mean((p - t) ** 2, m)))


def bias(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Mean signed error ``pred − target`` over valid pixels (positive: too much melt)."""
    p, t, m = _pair(pred, target, mask)
    return masked_mean(p - t, m)


def r2(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Coefficient of determination over valid pixels, clamped to ≥ −1 (see module notes)."""
    p, t, m = _pair(pred, target, mask)
    ss_res = masked_mean((p - t) ** 2, m)
    if np.isnan(ss_res):
        return float("nan")
    ss_tot = masked_mean((t - masked_mean(t, m)) ** 2, m)
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else -1.0
    return float(max(1.0 - ss_res / ss_tot, -1.0))


def _binary(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None):
    p, t, m = _pair(pred, target, mask)
    return p > BINARY_THRESHOLD, t > BINARY_THRESHOLD, m


def accuracy(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Fraction of valid pixels where melt (> 0.1) in the prediction agrees with the target."""
    pb, tb, m = _binary(pred, target, mask)
    return masked_mean(pb == tb, m)


def precision(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Fraction of predicted-melt valid pixels that are melt in the target (NaN if none)."""
    pb, tb, m = _binary(pred, target, mask)
    return masked_mean(tb, m & pb)


def recall(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Fraction of target-melt valid pixels that the prediction marks as melt (NaN if none)."""
    pb, tb, m = _binary(pred, target, mask)
    return masked_mean(pb, m & tb)


def ssim_window(sigma: float = SSIM_SIGMA) -> int:
    """Width in pixels of skimage's Gaussian SSIM window for ``sigma`` (71 for σ = 10)."""
    return 2 * int(SSIM_TRUNCATE * sigma + 0.5) + 1


def ssim(
    pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None, sigma: float = SSIM_SIGMA
) -> float:
    """Masked structural similarity (Gaussian weights, data range 1).

    Invalid pixels are set to 0 in both maps, the full SSIM map is computed, its border of
    half a window (35 px for σ = 10) is cropped, and the rest is averaged over valid pixels.

    Args:
        pred: predicted melt fraction, 2-D.
        target: SAR melt fraction, 2-D.
        mask: valid pixels (True); None means every finite pixel.
        sigma: Gaussian σ of the SSIM window in pixels.

    Returns:
        Mean SSIM over valid pixels inside the crop, or NaN (see module notes).
    """
    p, t, m = _pair(pred, target, mask)
    if p.ndim != 2:
        raise GridMismatchError(f"ssim needs 2-D maps (y, x), got shape {p.shape}")
    win = ssim_window(sigma)
    if min(p.shape) < win or not m.any():
        return float("nan")
    p = np.where(m, p, 0.0)
    t = np.where(m, t, 0.0)
    _, smap = structural_similarity(
        p,
        t,
        gaussian_weights=True,
        sigma=sigma,
        use_sample_covariance=False,
        data_range=1.0,
        full=True,
    )
    pad = (win - 1) // 2
    crop = (slice(pad, p.shape[0] - pad), slice(pad, p.shape[1] - pad))
    return masked_mean(smap[crop], m[crop])


Metric = Callable[[ArrayLike, ArrayLike, ArrayLike | None], float]

METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "mae": mae,
    "rmse": rmse,
    "r2": r2,
    "ssim": ssim,
    "bias": bias,
    "precision": precision,
    "recall": recall,
}
METRIC_NAMES = tuple(METRICS)


def image_metrics(
    pred: ArrayLike,
    target: ArrayLike,
    mask: ArrayLike | None = None,
    metrics: Sequence[str] = METRIC_NAMES,
    ssim_sigma: float = SSIM_SIGMA,
) -> dict[str, float]:
    """All requested metrics of one image plus ``n_valid`` (its valid-pixel count).

    Args:
        pred, target, mask: as for the single metrics.
        metrics: names from `METRICS`.
        ssim_sigma: Gaussian σ of the SSIM window (pixels).

    Raises:
        KeyError: an unknown metric name (the message lists the valid ones).
    """
    unknown = [k for k in metrics if k not in METRICS]
    if unknown:
        raise UnknownNameError(f"unknown metric(s) {unknown}; valid: {sorted(METRICS)}")
    out = {
        k: ssim(pred, target, mask, ssim_sigma) if k == "ssim" else METRICS[k](pred, target, mask)
        for k in metrics
    }
    out["n_valid"] = float(valid_pixels(pred, target, mask).sum())
    return out


def aggregate(values: xr.DataArray, n_valid: xr.DataArray, dim: str = "time") -> xr.DataArray:
    """Reduce per-image metric values over ``dim`` to the stats ``mean``, ``std``, ``weighted``.

    Args:
        values: per-image values with dimension ``dim`` (NaN images are skipped).
        n_valid: valid-pixel count of each image, broadcastable against ``values``.
        dim: the image dimension to reduce.

    Returns:
        ``values`` without ``dim`` and with a new ``stat`` dimension; NaN where no image counts.
    """
    ok = np.isfinite(values) & (n_valid > 0)
    v = values.where(ok)
    w = n_valid.where(ok, 0.0).broadcast_like(values)
    wsum = w.sum(dim)
    weighted = (v.fillna(0.0) * w).sum(dim) / wsum.where(wsum > 0)
    out = [v.mean(dim, skipna=True), v.std(dim, skipna=True, ddof=0), weighted]
    return xr.concat(out, dim=xr.DataArray(list(STATS), dims="stat", name="stat"))
