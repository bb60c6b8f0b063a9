"""Metric values checked against hand computations on small arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from skimage.metrics import structural_similarity

from meltwater.errors import GridMismatchError
from meltwater.evaluation import metrics as M

PRED = np.array([[0.0, 0.5], [1.0, 0.2]])
TARGET = np.array([[0.0, 1.0], [1.0, 0.0]])
MASK = np.array([[True, True], [True, False]])  # drops the last pixel


def test_mae_rmse_bias_with_mask():
    # valid diffs: 0, -0.5, 0
    assert M.mae(PRED, TARGET, MASK) == pytest.approx(0.5 / 3)
    assert M.rmse(PRED, TARGET, MASK) == pytest.approx(math.sqrt(0.25 / 3))
    assert M.bias(PRED, TARGET, MASK) == pytest.approx(-0.5 / 3)
    # without mask, all four: diffs 0, -0.5, 0, 0.2
    assert M.mae(PRED, TARGET) == pytest.approx(0.7 / 4)
    assert M.bias(PRED, TARGET) == pytest.approx(-0.3 / 4)


def test_nan_pixels_are_invalid():
    t = TARGET.copy()
    t[1, 1] = np.nan
    assert M.mae(PRED, t) == pytest.approx(0.5 / 3)
    assert M.valid_pixels(PRED, t).sum() == 3


def test_r2_hand_value_and_clamp():
    # valid target 0, 1, 1: mean 2/3, SS_tot/n = (4/9 + 1/9 + 1/9)/3 = 2/9; SS_res/n = 0.25/3
    assert M.r2(PRED, TARGET, MASK) == pytest.approx(1 - (0.25 / 3) / (2 / 9))
    t = np.array([0.0, 1.0])
    assert M.r2(np.array([1.0, 0.0]), t) == -1.0  # 1 - 1/0.25 = -3 → clamped
    assert M.r2(np.array([0.0, 0.0]), np.zeros(2)) == 1.0  # constant target, exact
    assert M.r2(np.array([0.5, 0.0]), np.zeros(2)) == -1.0  # constant target, wrong


def test_binary_metrics():
    p = np.array([0.05, 0.2, 0.9, 0.0, 0.5])
    t = np.array([0.0, 0.0, 1.0, 0.8, 0.11])
    # pred melt: F T T F T; target melt: F F T T T -> TP 2, FP 1, FN 1, TN 1
    assert M.accuracy(p, t) == pytest.approx(3 / 5)
    assert M.precision(p, t) == pytest.approx(2 / 3)
    assert M.recall(p, t) == pytest.approx(2 / 3)
    # threshold is strict: exactly 0.1 is not melt
    assert M.accuracy(np.array([0.1]), np.array([0.0])) == 1.0


def test_undefined_precision_recall_are_nan():
    assert math.isnan(M.precision(np.zeros(3), np.ones(3)))
    assert math.isnan(M.recall(np.ones(3), np.zeros(3)))


def test_all_masked_gives_nan_never_crashes():
    mask = np.zeros((80, 80), bool)
    p = np.random.default_rng(0).random((80, 80))
    out = M.image_metrics(p, p, mask)
    assert out["n_valid"] == 0
    assert all(math.isnan(v) for k, v in out.items() if k != "n_valid")


def test_shape_mismatch_is_typed():
    with pytest.raises(GridMismatchError, match="shape"):
        M.mae(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(GridMismatchError, match="mask"):
        M.mae(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(3, bool))


def test_unknown_metric_lists_valid():
    with pytest.raises(KeyError, match="valid"):
        M.image_metrics(PRED, TARGET, metrics=["nope"])


def test_ssim_window_and_identity():
    assert M.ssim_window(10) == 71
    assert M.ssim_window(1.5) == 11
    rng = np.random.default_rng(1)
    a = rng.random((90, 100))
    assert M.ssim(a, a) == pytest.approx(1.0)
    assert math.isnan(M.ssim(a[:70], a[:70]))  # smaller than the 71-px window


def test_ssim_unmasked_equals_skimage_mean():
    rng = np.random.default_rng(2)
    a, b = rng.random((80, 90)), rng.random((80, 90))
    ref = structural_similarity(
        a, b, gaussian_weights=True, sigma=10, use_sample_covariance=False, data_range=1.0
    )
    assert M.ssim(a, b) == pytest.approx(ref, rel=1e-12)


def test_ssim_border_crop_and_mask():
    rng = np.random.default_rng(3)
    a, b = rng.random((80, 90)), rng.random((80, 90))
    _, smap = structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=10,
        use_sample_covariance=False,
        data_range=1.0,
        full=True,
    )
    # a mask valid only in the 35-px border: nothing left after cropping
    border = np.ones((80, 90), bool)
    border[35:45, 35:55] = False
    assert math.isnan(M.ssim(a, b, border))
    # valid only in the top-left interior quadrant: mean of the full map there
    mask = np.zeros((80, 90), bool)
    mask[30:40, 30:50] = True  # rows 30..34 are in the border and must be ignored
    a0, b0 = np.where(mask, a, 0), np.where(mask, b, 0)
    _, smap0 = structural_similarity(
        a0,
        b0,
        gaussian_weights=True,
        sigma=10,
        use_sample_covariance=False,
        data_range=1.0,
        full=True,
    )
    assert M.ssim(a, b, mask) == pytest.approx(smap0[35:40, 35:50].mean())
    assert M.ssim(a, b, mask) != pytest.approx(smap[35:40, 35:50].mean())


def test_dataarray_inputs():
    da = xr.DataArray(PRED, dims=("y", "x"))
    assert M.mae(da, xr.DataArray(TARGET, dims=("y", "x")), MASK) == pytest.approx(0.5 / 3)


def test_aggregate_mean_std_weighted():
    vals = xr.DataArray(
        [[1.0, 3.0, np.nan], [2.0, 2.0, 2.0]],
        dims=("model", "time"),
        coords={"model": ["a", "b"]},
    )
    n = xr.DataArray([10.0, 30.0, 0.0], dims="time")
    agg = M.aggregate(vals, n)
    assert agg.dims == ("stat", "model")
    assert list(agg.stat.values) == ["mean", "std", "weighted"]
    a = agg.sel(model="a")
    assert float(a.sel(stat="mean")) == pytest.approx(2.0)
    assert float(a.sel(stat="std")) == pytest.approx(1.0)
    assert float(a.sel(stat="weighted")) == pytest.approx((10 + 90) / 40)
    # image with n_valid 0 is dropped even though its value is finite
    assert float(agg.sel(model="b", stat="std")) == 0.0


def test_aggregate_all_nan_is_nan():
    vals = xr.DataArray([np.nan, np.nan], dims="time")
    agg = M.aggregate(vals, xr.DataArray([5.0, 5.0], dims="time"))
    assert np.isnan(agg.values).all()


def test_image_metrics_ssim_sigma():
    rng = np.random.default_rng(4)
    a, b = rng.random((40, 40)), rng.random((40, 40))
    assert math.isnan(M.image_metrics(a, b)["ssim"])  # 40 px < 71-px window
    got = M.image_metrics(a, b, ssim_sigma=2.0)["ssim"]
    assert got == pytest.approx(M.ssim(a, b, sigma=2.0))
    assert not math.isnan(got)
