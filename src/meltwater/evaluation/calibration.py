"""Spread-vs-error calibration of the UNet's uncertainty ``unc_unet`` against SAR.

The valid pixels of a SAR day are binned by the UNet's spread (`SPREAD_EDGES`); per bin the
pixel count, the sum of ``|pred − SAR|`` and the sum of the spread are kept (`spread_sums`),
so days add up and a split's curve is their sum (`calibration_curve`): mean spread → mean
absolute error, with the pixels behind each point. A useful spread rises with the error.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from meltwater.errors import InvalidArgumentError

__all__ = [
    "SPREAD_EDGES",
    "SPREAD_SUMS",
    "calibration_curve",
    "day_curve",
    "spread_bin_labels",
    "spread_sums",
]

SPREAD_EDGES = np.array([0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5])
"""Bin edges of the spread (std of melt fractions in [0, 1] is at most 0.5); the last bin
holds everything from 0.3 up."""
SPREAD_SUMS = ("n", "abs_err", "spread")


def spread_bin_labels(edges: np.ndarray = SPREAD_EDGES) -> list[str]:
    """``"0.00-0.01"``, … one label per bin."""
    return [f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def spread_sums(
    pred: np.ndarray,
    sar: np.ndarray,
    spread: np.ndarray,
    valid: np.ndarray,
    edges: np.ndarray = SPREAD_EDGES,
) -> np.ndarray:
    """Per spread bin: valid pixels ``n``, Σ|pred − SAR| and Σspread (`SPREAD_SUMS`).

    Pixels count where ``valid`` and all three maps are finite. A spread below the first edge
    falls in the first bin, one at or above the last inner edge in the last.

    Returns:
        ``(len(edges) - 1, 3)`` float64.

    Raises:
        InvalidArgumentError: the maps' shapes differ.
    """
    shapes = {np.shape(a) for a in (pred, sar, spread, valid)}
    if len(shapes) != 1:
        raise InvalidArgumentError(
            f"pred, sar, spread, valid: expected one shape, got {sorted(map(str, shapes))}"
        )
    pred, sar, spread = (np.asarray(a, dtype=np.float64) for a in (pred, sar, spread))
    ok = np.asarray(valid, dtype=bool) & np.isfinite(pred) & np.isfinite(sar) & np.isfinite(spread)
    nb = len(edges) - 1
    idx = np.searchsorted(edges[1:-1], spread[ok], side="right")
    n = np.bincount(idx, minlength=nb)
    err = np.bincount(idx, weights=np.abs(pred[ok] - sar[ok]), minlength=nb)
    sp = np.bincount(idx, weights=spread[ok], minlength=nb)
    return np.stack([n, err, sp], axis=-1).astype(np.float64)


def calibration_curve(sums: xr.DataArray) -> xr.Dataset:
    """The curve of summed `spread_sums` ``(…, spread_bin, spread_sum)``, summed over ``time``
    when present: ``mae`` and ``spread`` (means per bin, NaN for an empty bin) and ``pixels``."""
    if "time" in sums.dims:
        sums = sums.sum("time")
    n = sums.sel(spread_sum="n", drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = sums.sel(spread_sum="abs_err", drop=True) / n.where(n > 0)
        spread = sums.sel(spread_sum="spread", drop=True) / n.where(n > 0)
    return xr.Dataset({"mae": mae, "spread": spread, "pixels": n})


def day_curve(
    pred: np.ndarray, sar: np.ndarray, spread: np.ndarray, valid: np.ndarray
) -> xr.Dataset:
    """`calibration_curve` of one day (`spread_sums` of its maps), with ``spread_lo`` and
    ``spread_hi`` coordinates."""
    sums = xr.DataArray(
        spread_sums(pred, sar, spread, valid),
        dims=("spread_bin", "spread_sum"),
        coords={
            "spread_bin": spread_bin_labels(),
            "spread_sum": list(SPREAD_SUMS),
            "spread_lo": ("spread_bin", SPREAD_EDGES[:-1]),
            "spread_hi": ("spread_bin", SPREAD_EDGES[1:]),
        },
    )
    return calibration_curve(sums)
