"""meltwater.evaluation.scoring: the per-day kernel against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from meltwater.evaluation.scoring import Truth, day_truth, melt_area_km2, score_day

NAN = np.nan


def test_score_day_by_hand():
    pred = np.array([[0.0, 0.5], [1.0, NAN]], np.float32)
    sar = np.array([[0.0, 1.0], [0.0, 1.0]], np.float32)
    valid = np.array([[True, True], [True, False]])
    land = np.array([[True, True], [False, True]])
    s = score_day(pred, Truth(sar, valid), land, area_km2=0.01)
    # land pixels above 0.1: (0,1) only; (1,0) is ocean, (1,1) NaN never melts
    assert s["melt_area_km2"] == pytest.approx(0.01)
    assert s["melt_fraction"] == pytest.approx(0.5)  # (0 + 0.5 + 1) / 3
    assert s["mae"] == pytest.approx((0 + 0.5 + 1) / 3)
    assert s["bias"] == pytest.approx((0 - 0.5 + 1) / 3)
    # binarised at > 0.1: pred 0,1,1 vs sar 0,1,0 → 2 of 3 agree
    assert s["accuracy"] == pytest.approx(2 / 3)
    assert s["n_valid"] == 3


def test_score_day_without_truth_or_land():
    pred = np.array([[0.2, 0.05]], np.float32)
    assert score_day(pred, None, np.array([[True, True]]), 2.0) == {"melt_area_km2": 2.0}
    assert "melt_area_km2" not in score_day(pred, Truth(pred, np.ones((1, 2), bool)))
    assert melt_area_km2(pred, np.array([[False, True]]), 2.0) == 0.0


def test_day_truth_masks_nan_sar_and_skips_days_without_scene():
    t = pd.to_datetime(["2019-06-01", "2019-06-02"])
    sar = np.array([[[0.3, NAN]], [[NAN, NAN]]], np.float32)
    cube = xr.Dataset(
        {
            "sar": (("time", "y", "x"), sar),
            "valid": (("time", "y", "x"), np.ones((2, 1, 2), bool)),
            "has_sar": ("time", [True, False]),
        },
        coords={"time": t, "y": [0.0], "x": [0.0, 100.0]},
    )
    truth = day_truth(cube, t[0])
    assert truth.valid.tolist() == [[True, False]]
    assert truth.melt_fraction == pytest.approx(0.3)
    assert truth.melt_area_km2(1.0) == 1.0
    assert day_truth(cube, t[1]) is None
