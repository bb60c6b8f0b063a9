"""Score cards: sums and scores by hand, bootstrap intervals with exact values, relative sign."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from meltwater.errors import InvalidArgumentError, UnknownNameError
from meltwater.evaluation import scorecard as S

PRED = np.array([0.2, 0.0, 0.5, np.nan])
SAR = np.array([0.0, 0.3, 0.5, 0.1])
GROUPS = np.array([0, 0, 1, 1])


def _sums(per_image: list[np.ndarray], models=("a",)) -> xr.DataArray:
    """(model, time, band, sum) with the same images for every model."""
    arr = np.stack([np.stack(per_image)] * len(models))
    return xr.DataArray(
        arr,
        dims=("model", "time", "band", "sum"),
        coords={
            "model": list(models),
            "time": pd.date_range("2019-06-01", periods=len(per_image)),
            "band": np.arange(arr.shape[2]),
            "sum": list(S.SUMS),
        },
    )


def test_group_sums_by_hand():
    sums = S.group_sums(PRED, SAR, None, GROUPS, 2)
    # group 0: +0.2 predicted only (fp), −0.3 SAR only (fn); group 1: 0.5/0.5 melt in both
    np.testing.assert_allclose(sums[0], [2, -0.1, 0.5, 0.13, 0, 1, 1])
    np.testing.assert_allclose(sums[1], [1, 0.0, 0.0, 0.0, 1, 0, 0])


def test_card_scores_by_hand():
    card = S.card_scores(_sums([S.group_sums(PRED, SAR, None, GROUPS, 2)]).sum("time"))
    g0 = card.sel(model="a", band=0)
    np.testing.assert_allclose(g0.values, [0, 0, 0, 0, 0.25, np.sqrt(0.065), -0.05])
    assert list(card.card_metric.values) == list(S.CARD_METRICS)
    np.testing.assert_allclose(card.sel(model="a", band=1).values, [1, 1, 1, 1, 0, 0, 0])


def test_identical_images_give_zero_width_intervals():
    one = S.group_sums(PRED, SAR, None, GROUPS, 2)
    card = S.bootstrap_card(_sums([one] * 5), np.zeros(5), n_boot=200, seed=1)
    value, lo, hi = (card.sel(bound=b).values for b in S.BOUNDS)
    np.testing.assert_allclose(lo, value, rtol=0, atol=1e-12)
    np.testing.assert_allclose(hi, value, rtol=0, atol=1e-12)
    assert card.attrs == {"n_boot": 200, "seed": 1, "level": 0.9}


def test_two_images_interval_spans_the_resamples():
    # image A exact (MAE 0), image B off by 1 (MAE 1), same pixel count: resamples AA, AB, BB
    a = S.group_sums(np.zeros(4), np.zeros(4), None, np.zeros(4, int), 1)
    b = S.group_sums(np.ones(4), np.zeros(4), None, np.zeros(4, int), 1)
    card = S.bootstrap_card(_sums([a, b]), np.zeros(2), n_boot=1000, seed=0)
    mae = card.sel(model="a", band=0, card_metric="mae")
    assert list(mae.values) == [0.5, 0.0, 1.0]  # value pooled; 5 % / 95 %: AA and BB (p 0.25)
    again = S.bootstrap_card(_sums([a, b]), np.zeros(2), n_boot=1000, seed=0)
    xr.testing.assert_identical(card, again)


def test_strata_resample_within_their_label():
    # one image per month: each month's cell can only resample its own image
    a = S.group_sums(np.zeros(4), np.zeros(4), None, np.zeros(4, int), 1)
    b = S.group_sums(np.ones(4), np.zeros(4), None, np.zeros(4, int), 1)
    card = S.bootstrap_card(_sums([a, b]), np.array([6, 7]), n_boot=100)
    assert list(card.sel(card_metric="mae", band=0, model="a").values) == [0.5, 0.5, 0.5]


def test_relative_skill_sign():
    vals = np.array(
        [
            [0.9, 0.5, 0.5, 0.5, 0.1, 0.2, -0.05],  # good: better everywhere
            [0.8, 0.4, 0.4, 0.4, 0.2, 0.3, 0.10],  # the reference
            [0.7, 0.3, 0.3, 0.3, 0.3, 0.4, -0.20],  # worse everywhere
        ]
    )
    card = xr.DataArray(
        vals,
        dims=("model", "card_metric"),
        coords={"model": ["good", "mar_interp", "bad"], "card_metric": list(S.CARD_METRICS)},
    )
    rel = S.relative_skill(card)
    assert (rel.sel(model="good") > 0).all() and (rel.sel(model="bad") < 0).all()
    assert (rel.sel(model="mar_interp") == 0).all()
    assert float(rel.sel(model="good", card_metric="mae")) == pytest.approx(0.1)
    assert float(rel.sel(model="good", card_metric="bias")) == pytest.approx(0.05)
    with pytest.raises(UnknownNameError, match="reference: unknown model 'unet'"):
        S.relative_skill(card, "unet")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_boot": 0}, "n_boot and level"), ({"level": 1.0}, "n_boot and level")],
)
def test_bad_bootstrap_arguments(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        S.bootstrap_card(_sums([np.zeros((1, 7))]), np.zeros(1), **kwargs)
    with pytest.raises(InvalidArgumentError, match="strata: expected one label per image"):
        S.bootstrap_card(_sums([np.zeros((1, 7))]), np.zeros(3))
