"""Threshold scores: hand-computed counts on tiny arrays; agreement with `metrics` at 0.1."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from meltwater.errors import InvalidArgumentError
from meltwater.evaluation import metrics
from meltwater.evaluation import thresholds as T

PRED = np.array([0.0, 0.2, 0.5, 0.95, np.nan, 0.7])
SAR = np.array([0.0, 0.5, 0.2, 0.95, 0.3, 0.0])
MASK = np.array([True, True, True, True, True, False])  # the last pixel does not count
GRID = [0.1, 0.3, 0.6]


def test_contingency_by_hand():
    counts = T.contingency(PRED, SAR, MASK, GRID)
    # > 0.1: both melt at 0.2/0.5, 0.5/0.2, 0.95/0.95; 0/0 dry
    # > 0.3: 0.95 both, 0.5 pred only, 0.5 SAR only, 0/0 dry
    # > 0.6: 0.95 both, three dry
    np.testing.assert_array_equal(counts, [[3, 0, 0, 1], [1, 1, 1, 1], [1, 0, 0, 3]])
    assert counts.dtype == np.int64


def test_scores_by_hand():
    s = T.threshold_scores({"a": PRED, "b": np.zeros(6)}, SAR, MASK, GRID)
    assert s.dims == ("model", "score", "threshold")
    a = s.sel(model="a")
    np.testing.assert_allclose(a.sel(score="accuracy"), [1.0, 0.5, 1.0])
    np.testing.assert_allclose(a.sel(score="precision"), [1.0, 0.5, 1.0])
    np.testing.assert_allclose(a.sel(score="recall"), [1.0, 0.5, 1.0])
    np.testing.assert_allclose(a.sel(score="csi"), [1.0, 1 / 3, 1.0])
    b = s.sel(model="b")  # no melt; 5 valid pixels (its 5th is finite): SAR melts 4, 2, 1
    np.testing.assert_allclose(b.sel(score="accuracy"), [0.2, 0.6, 0.8])
    assert np.isnan(b.sel(score="precision")).all()
    np.testing.assert_allclose(b.sel(score="recall"), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(b.sel(score="csi"), [0.0, 0.0, 0.0])


def test_no_melt_anywhere_is_nan_not_error():
    s = T.threshold_scores({"dry": np.zeros(4)}, np.zeros(4), None, GRID).sel(model="dry")
    np.testing.assert_allclose(s.sel(score="accuracy"), 1.0)
    for k in ("precision", "recall", "csi"):
        assert np.isnan(s.sel(score=k)).all()


def test_matches_metrics_at_the_papers_threshold():
    rng = np.random.default_rng(3)
    pred = rng.random((30, 40)).astype(np.float16)
    sar = rng.random((30, 40)).astype(np.float32)
    pred[:3] = 0.1  # ties with the threshold are not melt in either code path
    sar[3:6] = np.float32(0.1)
    mask = rng.random((30, 40)) > 0.2
    s = T.threshold_scores({"m": pred}, sar, mask).sel(model="m", threshold=0.1)
    assert float(s.sel(score="accuracy")) == metrics.accuracy(pred, sar, mask)
    assert float(s.sel(score="precision")) == pytest.approx(metrics.precision(pred, sar, mask))
    assert float(s.sel(score="recall")) == pytest.approx(metrics.recall(pred, sar, mask))
    assert list(T.THRESHOLDS[:3]) == [0.05, 0.1, 0.15] and T.THRESHOLDS[-1] == 0.9


def test_split_scores_mean_over_images():
    one = T.contingency(PRED, SAR, MASK, GRID)
    dry = T.contingency(np.zeros(4), np.zeros(4), None, GRID)
    counts = xr.DataArray(
        np.stack([one, dry])[None],
        dims=("model", "time", "threshold", "outcome"),
        coords={"threshold": GRID, "outcome": list(T.OUTCOMES)},
    )
    s = T.split_scores(counts).isel(model=0)
    np.testing.assert_allclose(s.sel(score="accuracy"), [1.0, 0.75, 1.0])
    np.testing.assert_allclose(s.sel(score="csi"), [1.0, 1 / 3, 1.0])  # the dry image is NaN


@pytest.mark.parametrize("bad", [[], [0.3, 0.1], [0.1, 0.1], [-0.1, 0.5], [0.5, 1.0], [[0.1]]])
def test_bad_thresholds_name_the_parameter(bad):
    with pytest.raises(InvalidArgumentError, match="thresholds: expected a strictly increasing"):
        T.contingency(PRED, SAR, MASK, bad)
