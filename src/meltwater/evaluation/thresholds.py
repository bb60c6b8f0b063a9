"""Binary melt scores as functions of the melt threshold (the paper fixes it at 0.1).

Both maps are binarised at the same threshold ``T`` (melt where the value is ``> T``), as
`metrics.accuracy` does at 0.1. For every threshold of a sorted grid, `contingency` counts the
valid pixels in each outcome: ``tp`` (melt in both), ``fp`` (prediction only), ``fn`` (SAR
only), ``tn`` (neither). A pixel is melt in both maps exactly when ``min(pred, sar) > T``, so
the counts of all thresholds come from three sorted arrays (SAR's sorted once per day).

scikit-learn's ``precision_recall_curve`` and xskillscore's ``Contingency`` binarise only the
prediction (or need one call per threshold); here the target moves with the threshold too.

Scores from counts (`binary_scores`): accuracy ``(tp + tn) / n``; precision ``tp / (tp + fp)``
(NaN when nothing is predicted as melt); recall ``tp / (tp + fn)`` (NaN when SAR has no melt);
CSI, the critical success index, ``tp / (tp + fp + fn)`` (NaN when neither map has melt).
Over a split (`split_scores`) each score is the mean of the per-image scores, as the
``aggregates`` ``mean`` of the results file, so the value at 0.1 matches its table.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from meltwater.errors import GridMismatchError, InvalidArgumentError
from meltwater.evaluation.metrics import ArrayLike, valid_pixels

__all__ = [
    "OUTCOMES",
    "SCORES",
    "THRESHOLDS",
    "binary_scores",
    "check_thresholds",
    "contingency",
    "same_cut",
    "split_scores",
    "threshold_scores",
]

THRESHOLDS = np.round(np.arange(0.05, 0.9 + 1e-9, 0.05), 2)
"""The default grid: 0.05, 0.10, …, 0.90 (18 thresholds; 0.1 is the paper's)."""
OUTCOMES = ("tp", "fp", "fn", "tn")
SCORES = ("accuracy", "precision", "recall", "csi")


def check_thresholds(thresholds: ArrayLike) -> np.ndarray:
    """``thresholds`` as a float64 array, checked to increase strictly within [0, 1).

    Raises:
        InvalidArgumentError: empty, not 1-D, not strictly increasing or outside [0, 1).
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or not np.all(np.diff(t) > 0) or t[0] < 0 or t[-1] >= 1:
        raise InvalidArgumentError(
            f"thresholds: expected a strictly increasing 1-D sequence within [0, 1), got {t}"
        )
    return t


def _above(values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For each threshold of ``t``, how many ``values`` exceed it (one sort, 18 searches)."""
    return values.size - np.searchsorted(np.sort(values), same_cut(t, values.dtype), side="right")


def same_cut(t: ArrayLike | float, dtype: np.dtype) -> np.ndarray:
    """Thresholds in ``dtype`` that split its values exactly as the float64 ``t`` do.

    The largest ``dtype`` value not above each threshold: a ``dtype`` value exceeds it exactly
    when it exceeds the threshold (``float32(0.1)`` is above 0.1, so 0.1 becomes the float32 just
    below). Comparing in float32 rather than float64 halves the cost.
    """
    t = np.asarray(t, dtype=np.float64)
    tt = t.astype(dtype)
    return np.where(tt > t, np.nextafter(tt, np.asarray(-np.inf, dtype)), tt).astype(dtype)


def _dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 for float16/float32 inputs, float64 otherwise."""
    return np.result_type(*[a.dtype for a in arrays], np.float32)


def _counts(pred: np.ndarray, sar: np.ndarray, t: np.ndarray, sar_above=None) -> np.ndarray:
    """`OUTCOMES` counts of paired values (``sar_above``: `_above` of ``sar``, if known)."""
    tp = _above(np.minimum(pred, sar), t)  # melt in both: min(pred, sar) > T
    fp = _above(pred, t) - tp
    fn = (_above(sar, t) if sar_above is None else sar_above) - tp
    return np.stack([tp, fp, fn, pred.size - tp - fp - fn], axis=-1).astype(np.int64)


def contingency(
    pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None, thresholds=THRESHOLDS
) -> np.ndarray:
    """Counts of `OUTCOMES` over the valid pixels for each threshold.

    Args:
        pred: predicted melt fraction.
        target: SAR melt fraction, same shape.
        mask: valid pixels (True); None: every pixel where both maps are finite.
        thresholds: strictly increasing grid in [0, 1) (see `check_thresholds`).

    Returns:
        int64 array ``(len(thresholds), 4)``: tp, fp, fn, tn.
    """
    t = check_thresholds(thresholds)
    m = valid_pixels(pred, target, mask)
    p, s = np.asarray(pred), np.asarray(target)
    dtype = _dtype(p, s)
    return _counts(p[m].astype(dtype), s[m].astype(dtype), t)


def binary_scores(counts: xr.DataArray) -> xr.DataArray:
    """`SCORES` from counts with an ``outcome`` dimension (which is replaced by ``score``)."""
    c = counts.astype(np.float64)
    tp, fp, fn, tn = (c.sel(outcome=o, drop=True) for o in OUTCOMES)

    def ratio(num: xr.DataArray, den: xr.DataArray) -> xr.DataArray:
        return num / den.where(den > 0)

    out = [ratio(tp + tn, tp + fp + fn + tn), ratio(tp, tp + fp), ratio(tp, tp + fn)]
    out.append(ratio(tp, tp + fp + fn))
    return xr.concat(out, dim=xr.DataArray(list(SCORES), dims="score", name="score"))


def threshold_scores(
    preds: Mapping[str, ArrayLike],
    target: ArrayLike,
    mask: ArrayLike | None = None,
    thresholds=THRESHOLDS,
) -> xr.DataArray:
    """`SCORES` of each prediction against one target map at every threshold.

    Args:
        preds: model name → prediction map.
        target, mask, thresholds: as for `contingency`.

    Returns:
        DataArray ``(model, score, threshold)``.
    """
    t = check_thresholds(thresholds)
    target = np.asarray(target)
    base = np.isfinite(target) if mask is None else np.asarray(mask, bool) & np.isfinite(target)
    arrays = [np.asarray(p) for p in preds.values()]
    for p in arrays:
        if p.shape != target.shape:
            raise GridMismatchError(f"pred has shape {p.shape} but target has {target.shape}")
    dtype = _dtype(target, *arrays)
    sar = target[base].astype(dtype)
    sar_above = _above(sar, t)  # shared by the models that are finite wherever SAR is valid
    rows = []
    for a in arrays:
        p = a[base].astype(dtype)
        ok = np.isfinite(p)
        if ok.all():
            rows.append(_counts(p, sar, t, sar_above))
        else:
            rows.append(_counts(p[ok], sar[ok], t))
    counts = xr.DataArray(
        np.stack(rows),
        dims=("model", "threshold", "outcome"),
        coords={"model": list(preds), "threshold": t, "outcome": list(OUTCOMES)},
    )
    return binary_scores(counts).transpose("model", "score", "threshold")


def split_scores(counts: xr.DataArray) -> xr.DataArray:
    """Mean over images (``time``) of the per-image `SCORES` (NaN images skipped).

    Args:
        counts: per-image counts ``(model, time, threshold, outcome)``, e.g. the results
            file's ``threshold_counts``.

    Returns:
        DataArray ``(model, score, threshold)``.
    """
    per_image = binary_scores(counts)
    return per_image.mean("time", skipna=True).transpose("model", "score", "threshold")
