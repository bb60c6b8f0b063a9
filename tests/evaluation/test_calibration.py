"""Spread-vs-error calibration: per-bin sums and the curve, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from meltwater.errors import InvalidArgumentError
from meltwater.evaluation.calibration import (
    SPREAD_EDGES,
    SPREAD_SUMS,
    calibration_curve,
    spread_bin_labels,
    spread_sums,
)


def test_spread_sums_by_hand():
    pred = np.array([[0.2, 0.4, 1.0], [0.0, 0.5, np.nan]])
    sar = np.array([[0.0, 0.0, 1.0], [1.0, 0.5, 0.0]])
    spread = np.array([[0.005, 0.015, 0.6], [0.35, 0.01, 0.0]])
    valid = np.array([[True, True, True], [True, False, True]])
    s = spread_sums(pred, sar, spread, valid)
    assert s.shape == (len(SPREAD_EDGES) - 1, len(SPREAD_SUMS))
    # bins [0, .01) [.01, .02) [.02, .05) [.05, .1) [.1, .2) [.2, .3) [.3, ∞)
    # (0.01 is invalid, the NaN prediction is left out; 0.6 and 0.35 go to the last bin)
    expected = np.zeros((7, 3))
    expected[0] = [1, 0.2, 0.005]
    expected[1] = [1, 0.4, 0.015]
    expected[6] = [2, 0.0 + 1.0, 0.6 + 0.35]
    assert np.allclose(s, expected)
    with pytest.raises(InvalidArgumentError, match="expected one shape"):
        spread_sums(pred, sar[:, :2], spread, valid)


def test_curve_pools_days_and_leaves_empty_bins_nan():
    day1 = np.zeros((7, 3))
    day1[0] = [2, 0.2, 0.01]
    day2 = np.zeros((7, 3))
    day2[0] = [2, 0.6, 0.01]
    day2[3] = [4, 1.0, 0.3]
    sums = xr.DataArray(
        np.stack([day1, day2, np.full((7, 3), np.nan)]),  # a day without a spread: NaN
        dims=("time", "spread_bin", "spread_sum"),
        coords={"spread_bin": spread_bin_labels(), "spread_sum": list(SPREAD_SUMS)},
    )
    curve = calibration_curve(sums)
    assert curve["pixels"].values.tolist() == [4, 0, 0, 4, 0, 0, 0]
    assert curve["mae"].values[0] == pytest.approx(0.2)
    assert curve["mae"].values[3] == pytest.approx(0.25)
    assert curve["spread"].values[3] == pytest.approx(0.075)
    assert np.isnan(curve["mae"].values[[1, 2, 4, 5, 6]]).all()
    assert spread_bin_labels()[:2] == ["0.00-0.01", "0.01-0.02"]
