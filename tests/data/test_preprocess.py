import numpy as np
import pandas as pd
import pytest
import xarray as xr

from meltwater.data.preprocess import (
    CHANNELS,
    NormStats,
    gaussian_blur,
    model_inputs,
    neighbour_scenes,
    target_and_mask,
    time_interpolated_sar,
)
from meltwater.errors import InvalidArgumentError, UnknownNameError


def test_blur_preserves_constants_and_mass():
    assert np.allclose(gaussian_blur(np.full((30, 40), 3.0), 15, 45), 3.0)
    impulse = np.zeros((121, 121), np.float32)
    impulse[60, 60] = 1
    out = gaussian_blur(impulse, 15, 45)
    assert out.sum() == pytest.approx(1.0, rel=1e-5)
    assert out[60, 60 + 23] == 0 and out[60, 60 + 22] > 0  # kernel 45 → radius 22


def test_blur_does_not_spread_nan():
    a = np.ones((20, 20), np.float32)
    a[5, 5] = np.nan
    out = gaussian_blur(a, 3, 9)
    assert np.isnan(out[5, 5]) and np.allclose(np.delete(out.ravel(), 5 * 20 + 5), 1.0)
    with pytest.raises(ValueError, match="odd"):
        gaussian_blur(a, 3, 8)


def _series(values, dates):
    return xr.DataArray(
        np.asarray(values, np.float32).reshape(-1, 1, 1),
        dims=("time", "y", "x"),
        coords={"time": pd.DatetimeIndex(dates), "y": [0.0], "x": [0.0]},
    )


def test_time_interpolated_sar_by_hand():
    dates = pd.date_range("2019-06-01", periods=10, freq="D")
    sar = _series([0.0, 1.0, np.nan, 0.5, 9.0, 0.25, 1.0, 0.0, 7.0, 1.0], dates)
    train = dates[[0, 1, 2, 3, 5, 6, 7, 9]]  # days 4 and 8 (values 9, 7) are not training scenes
    out = time_interpolated_sar(sar, train).values[:, 0, 0]
    # day 4: before = days 1,2,3 (1, nan, 0.5), after = days 5,6,7 (0.25, 1, 0) → mean of finite
    assert out[4] == pytest.approx((1 + 0.5 + 0.25 + 1 + 0) / 5)
    # day 3 (a training scene) excludes itself: days 0,1,2 and 5,6,7
    assert out[3] == pytest.approx((0 + 1 + 0.25 + 1 + 0) / 5)
    assert 9.0 not in out and not np.isnan(out).any()


def test_time_interpolated_sar_stays_in_year_and_defaults_to_zero():
    dates = pd.DatetimeIndex(["2018-09-28", "2019-04-02", "2019-04-05"])
    sar = _series([1.0, np.nan, 0.5], dates)
    out = time_interpolated_sar(sar, dates).values[:, 0, 0]
    assert out[1] == pytest.approx(0.5)  # not the 2018 scene
    assert out[2] == 0.0  # its only neighbour is NaN → no information → 0
    assert list(neighbour_scenes(dates[2], dates)) == [dates[1]]


def test_norm_stats_round_trip_and_validation():
    s = NormStats.paper()
    assert NormStats.from_dict(s.to_dict()) == s
    assert s.apply("dem", np.array([1175.09 + 993.85]))[0] == pytest.approx(1.0)
    with pytest.raises(InvalidArgumentError, match="mean/std"):
        NormStats.from_dict({"mean": {}, "std": {}})
    bad = s.to_dict()
    bad["std"]["pmw"] = 0
    with pytest.raises(InvalidArgumentError, match="positive"):
        NormStats.from_dict(bad)


def test_model_inputs(tiny_cube, tiny_source):
    day = tiny_source.split_dates("test")[0]
    stats = NormStats.compute(tiny_cube, tiny_source.split_dates("train"))
    x = model_inputs(tiny_cube, day, stats)
    assert x.shape == (len(CHANNELS), 64, 96) and x.dtype == np.float32 and np.isfinite(x).all()
    land = tiny_cube["land"].values
    assert x[3][land].mean() == pytest.approx(0.0, abs=1e-4)
    assert x[3][land].std() == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_array_equal(x[2], tiny_cube["sar_interp"].sel(time=day).values)
    ablated = model_inputs(tiny_cube, day, stats, ablate=["pmw", "dem"])
    assert (ablated[0] == 0).all() and (ablated[3] == 0).all()
    np.testing.assert_array_equal(ablated[1:3], x[1:3])
    with pytest.raises(UnknownNameError, match="unknown channel.*'tb'"):
        model_inputs(tiny_cube, day, stats, ablate=["tb"])


def test_target_and_mask(tiny_cube, tiny_source):
    day = tiny_source.split_dates("train")[10]
    target, mask = target_and_mask(tiny_cube, day)
    sar = tiny_cube["sar"].sel(time=day).values
    assert np.array_equal(mask, np.isfinite(sar) & tiny_cube["land"].values)
    assert (target[~np.isfinite(sar)] == 0).all() and np.isfinite(target).all()
