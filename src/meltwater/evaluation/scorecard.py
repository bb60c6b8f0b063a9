"""Score cards: model × metric × (month | elevation band), with bootstrap intervals over images.

Each image contributes, per group of pixels (an elevation band), sums from which the card's
metrics follow (`group_sums`): valid pixels ``n``, ``err`` = Σ(pred − SAR), ``abs_err``,
``sq_err``, and the melt counts ``tp``, ``fp``, ``fn`` at > 0.1. A card cell pools the sums of
its images, so its MAE is the valid-pixel-weighted mean of the images' MAEs (as
``month_bias`` of the results file) and its accuracy the share of agreeing pixels.

Intervals: the images are resampled with replacement (``n_boot`` times, seeded; within each
month for the month card, all test images for the elevation card, the same draws for every
model), the cell's metric is recomputed from the resampled sums, and the ``(1 ± level) / 2``
percentiles are the interval. scipy's ``stats.bootstrap`` resamples observations one statistic
at a time; resampling weights shared by all cells keep models comparable and cost one
``einsum``.

`relative_skill` compares every model with a reference (MAR interpolation): positive means
better — higher accuracy, CSI, precision or recall, lower MAE or RMSE, smaller |bias|.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from typing import Any, cast

import numpy as np
import xarray as xr

from meltwater.errors import InvalidArgumentError, UnknownNameError
from meltwater.evaluation.metrics import BINARY_THRESHOLD, ArrayLike, valid_pixels

__all__ = [
    "BOUNDS",
    "CARD_METRICS",
    "HIGHER_IS_BETTER",
    "SUMS",
    "bootstrap_card",
    "card_scores",
    "group_sums",
    "relative_skill",
    "scorecards",
]

SUMS = ("n", "err", "abs_err", "sq_err", "tp", "fp", "fn")
CARD_METRICS = ("accuracy", "csi", "precision", "recall", "mae", "rmse", "bias")
HIGHER_IS_BETTER = ("accuracy", "csi", "precision", "recall")
BOUNDS = ("value", "lo", "hi")


def group_sums(
    pred: ArrayLike,
    target: ArrayLike,
    mask: ArrayLike | None,
    groups: np.ndarray,
    n_groups: int,
    threshold: float = BINARY_THRESHOLD,
) -> np.ndarray:
    """`SUMS` of one image per pixel group, ``(n_groups, len(SUMS))``.

    Args:
        pred, target, mask: as for the metrics (`metrics.valid_pixels`).
        groups: group index ``0 … n_groups − 1`` of every pixel (same shape as the maps).
        n_groups: number of groups.
        threshold: melt is ``> threshold`` in both maps.
    """
    m = valid_pixels(pred, target, mask)
    g = np.asarray(groups)[m]
    p = np.asarray(pred, dtype=np.float64)[m]
    t = np.asarray(target, dtype=np.float64)[m]
    e = p - t
    pm, tm = p > threshold, t > threshold
    cols = [None, e, np.abs(e), e * e, pm & tm, pm & ~tm, ~pm & tm]
    return np.stack([np.bincount(g, c, minlength=n_groups) for c in cols], axis=-1)


def card_scores(sums: xr.DataArray) -> xr.DataArray:
    """`CARD_METRICS` from pooled sums (dimension ``sum`` becomes ``card_metric``); NaN if empty."""
    s = {k: sums.sel(sum=k, drop=True) for k in SUMS}

    def ratio(num: xr.DataArray, den: xr.DataArray) -> xr.DataArray:
        return num / den.where(den > 0)

    n, tp, fp, fn = s["n"], s["tp"], s["fp"], s["fn"]
    out: list[xr.DataArray] = [
        ratio(n - fp - fn, n),
        ratio(tp, tp + fp + fn),
        ratio(tp, tp + fp),
        ratio(tp, tp + fn),
        ratio(s["abs_err"], n),
        cast(xr.DataArray, np.sqrt(ratio(s["sq_err"], n))),
        ratio(s["err"], n),
    ]
    return xr.concat(out, dim=xr.DataArray(list(CARD_METRICS), dims="card_metric"))


def _weights(strata: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_boot, n_images)`` multiplicities of images resampled within each stratum."""
    w = np.zeros((n_boot, len(strata)))
    rows = np.arange(n_boot)[:, None]
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        np.add.at(w, (rows, idx[rng.integers(0, idx.size, (n_boot, idx.size))]), 1.0)
    return w


def bootstrap_card(
    sums: xr.DataArray,
    strata: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.9,
) -> xr.DataArray:
    """Card values and bootstrap intervals from per-image sums.

    Args:
        sums: ``(model, time, <group>, sum)``; an image contributes zeros to groups it is not in.
        strata: label of every image (``time``); images are resampled within each label.
        n_boot: resamples.
        seed: seed of the resampling (`numpy.random.default_rng`).
        level: coverage of the interval (0.9: the 5th and 95th percentiles).

    Returns:
        ``(model, card_metric, <group>, bound)`` with `BOUNDS` ``value``, ``lo``, ``hi``.

    Raises:
        InvalidArgumentError: ``n_boot`` < 1, ``level`` outside (0, 1) or ``strata`` not one
            label per image.
    """
    if n_boot < 1 or not 0 < level < 1:
        raise InvalidArgumentError(
            f"n_boot and level: expected n_boot ≥ 1 and 0 < level < 1, got {n_boot}, {level}"
        )
    strata = np.asarray(strata)
    if strata.shape != (sums.sizes["time"],):
        raise InvalidArgumentError(
            f"strata: expected one label per image ({sums.sizes['time']}), got {strata.shape}"
        )
    group = next(d for d in sums.dims if d not in ("model", "time", "sum"))
    sums = sums.transpose("model", "time", group, "sum")
    w = _weights(strata, n_boot, np.random.default_rng(seed))
    boot = np.einsum("bt,mtgs->mgbs", w, sums.values)
    dims = ("model", group, "boot", "sum")
    scores = card_scores(xr.DataArray(boot, dims=dims, coords={"sum": list(SUMS)})).values
    q = 100 * np.array([(1 - level) / 2, (1 + level) / 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a cell without pixels: NaN
        lo, hi = np.nanpercentile(scores, q, axis=-1)
    value = card_scores(sums.sum("time")).transpose("card_metric", "model", group).values
    out = np.stack([value, lo, hi], axis=-1).transpose(1, 0, 2, 3)
    coords: dict[Hashable, Any] = {"model": sums.model.values, "card_metric": list(CARD_METRICS)}
    coords[group] = sums[group].values
    return xr.DataArray(
        out,
        dims=("model", "card_metric", group, "bound"),
        coords={**coords, "bound": list(BOUNDS)},
        attrs={"n_boot": n_boot, "seed": seed, "level": level},
    )


def scorecards(
    elevation_sums: xr.DataArray,
    months: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.9,
) -> tuple[xr.DataArray, xr.DataArray]:
    """The month card and the elevation-band card from per-image, per-band sums.

    Args:
        elevation_sums: ``(model, time, elev_band, sum)`` (the results file's variable).
        months: the months of the card (images of other months are left out of it).
        n_boot, seed, level: as for `bootstrap_card`.

    Returns:
        ``(card_month, card_elevation)``: ``(model, card_metric, month | elev_band, bound)``.
    """
    image = elevation_sums.sum("elev_band")
    month_of = elevation_sums["time"].dt.month
    member = xr.DataArray(np.asarray(months), dims="month", coords={"month": np.asarray(months)})
    by_month = image.where(month_of == member, 0.0).transpose("model", "time", "month", "sum")
    card_month = bootstrap_card(by_month, month_of.values, n_boot, seed, level)
    strata = np.zeros(elevation_sums.sizes["time"])
    card_elev = bootstrap_card(elevation_sums, strata, n_boot, seed, level)
    return card_month, card_elev


def relative_skill(card: xr.DataArray, reference: str = "mar_interp") -> xr.DataArray:
    """How much better each model is than ``reference`` per cell (positive: better).

    Args:
        card: ``(model, card_metric, …)`` values (e.g. ``card.sel(bound="value")``).
        reference: the model compared with.

    Raises:
        UnknownNameError: ``reference`` is not a model of the card.
    """
    models = [str(m) for m in card.model.values]
    if reference not in models:
        raise UnknownNameError(f"reference: unknown model {reference!r}; valid: {models}")
    ref = card.sel(model=reference)
    higher = card.card_metric.isin(list(HIGHER_IS_BETTER))
    lower = card.card_metric.isin(["mae", "rmse"])
    return xr.where(
        higher, card - ref, xr.where(lower, ref - card, abs(ref) - abs(card))
    ).transpose(*card.dims)
