"""Baselines on a hand-made cube (tests/scicube.py) with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fixtures.scicube import NX, NY, OCEAN_COLS, cube_dates, make_cube, split_dates

import meltwater.models.baselines as B
from meltwater.errors import CubeError
from meltwater.models.baselines.linear_dem import fit_line
from meltwater.models.baselines.mar_interp import fit_brightness_gamma, mar_mapping


def _check_map(da, cube, name):
    assert da.dims == ("y", "x")
    assert da.dtype == np.float32
    assert da.name == f"pred_{name}"
    np.testing.assert_array_equal(da.y.values, cube.y.values)
    np.testing.assert_array_equal(da.x.values, cube.x.values)
    assert float(da.min()) >= 0.0 and float(da.max()) <= 1.0


def test_registry_and_all():
    assert B.__all__ == sorted(B.__all__)
    assert set(B.BASELINES) == {
        "mar_interp",
        "pmw_threshold",
        "sar_running_mean",
        "linear_dem",
        "random_forest",
    }
    with pytest.raises(KeyError, match="valid: .*'linear_dem'"):
        B.get_baseline("mar")
    assert B.get_baseline("random_forest", n_estimators=3).n_estimators == 3


def test_unfitted_predict_raises():
    with pytest.raises(RuntimeError, match="not fitted"):
        B.get_baseline("linear_dem").predict(make_cube(), cube_dates()[0])


def test_mar_fit_recovers_parameters_from_samples():
    rng = np.random.default_rng(0)
    mar = rng.random(20_000) * 0.012
    b, g = fit_brightness_gamma(mar, mar_mapping(mar, 143.5, 29.2))
    assert b == pytest.approx(143.5, rel=1e-3)
    assert g == pytest.approx(29.2, rel=1e-3)


def test_mar_interp_fit_on_cube():
    # MAR constant in space per day, so the blur leaves it unchanged; SAR = the mapping of it.
    nt = len(cube_dates())
    level = np.linspace(0.0, 0.0075, nt, dtype=np.float32)
    mar = np.broadcast_to(level[:, None, None], (nt, NY, NX)).copy()
    sar = mar_mapping(mar, 150.0, 10.0)
    cube = make_cube(sar=sar, mar=mar)
    model = B.get_baseline("mar_interp").fit(cube, split_dates(cube, "train"))
    p = model.params()
    assert p["brightness"] == pytest.approx(150.0, rel=1e-3)
    assert p["gamma"] == pytest.approx(10.0, rel=1e-3)
    json.dumps(p)
    day = cube_dates()[10]
    pred = model.predict(cube, day)
    _check_map(pred, cube, "mar_interp")
    assert float(pred[0, 0]) == pytest.approx(float(mar_mapping(level[10], 150.0, 10.0)), rel=1e-4)


def test_pmw_threshold_known_numbers():
    nt = len(cube_dates())
    pmw = np.full((nt, NY, NX), 224.0, np.float32)  # threshold 0.48 * 200 + 128 = 224 K
    pmw[:, :, 10:] = 224.5
    cube = make_cube(pmw=pmw, winter=200.0)
    model = B.get_baseline("pmw_threshold").fit(cube, split_dates(cube, "train"))
    pred = model.predict(cube, cube_dates()[3])
    _check_map(pred, cube, "pmw_threshold")
    assert (pred.values[:, :10] == 0).all() and (pred.values[:, 10:] == 1).all()
    # a colder winter lowers the threshold: 0.48 * 190 + 128 = 219.2 K -> everything melts
    cold = make_cube(pmw=pmw, winter=190.0)
    assert (model.predict(cold, cube_dates()[3]).values == 1).all()
    json.dumps(model.params())


def test_pmw_threshold_missing_year():
    cube = make_cube().assign_coords(year=[2018])
    with pytest.raises(CubeError, match="no year 2019"):
        B.get_baseline("pmw_threshold").fit(cube, split_dates(cube, "train"))


def _scene_cube(values: dict[int, float]) -> np.ndarray:
    nt = len(cube_dates())
    sar = np.zeros((nt, NY, NX), np.float32)
    for i, v in values.items():
        sar[i] = v
    return sar


def test_sar_running_mean_hand_value_and_no_leakage():
    # target: day index 10 (test). Training scenes: 0 2 4 6 12 16 18 20 22 26 28
    # (8, 14 val; 10, 24 test). Before 10: 2, 4, 6; after: 12, 16, 18 (14 is val).
    vals = {2: 0.1, 4: 0.2, 6: 0.3, 12: 0.4, 14: 0.9, 16: 0.5, 18: 0.6, 10: 0.99, 8: 0.95}
    sar = _scene_cube(vals)
    sar[6, 5, 5] = np.nan  # a no-data pixel: averaged over the other five
    cube = make_cube(sar=sar)
    train = split_dates(cube, "train")
    model = B.get_baseline("sar_running_mean").fit(cube, train)
    target = cube_dates()[10]
    pred = model.predict(cube, target)
    _check_map(pred, cube, "sar_running_mean")
    assert float(pred[0, 10]) == pytest.approx((0.1 + 0.2 + 0.3 + 0.4 + 0.5 + 0.6) / 6)
    assert float(pred[5, 5]) == pytest.approx((0.1 + 0.2 + 0.4 + 0.5 + 0.6) / 5)
    # changing the target day or a non-training scene (val day 14) changes nothing
    leak = sar.copy()
    leak[10] = 0.0
    leak[14] = 0.0
    leak[8] = 0.0
    np.testing.assert_array_equal(model.predict(make_cube(sar=leak), target).values, pred.values)
    # changing a training neighbour does change it (the test can fail)
    moved = sar.copy()
    moved[12] = 1.0
    assert not np.allclose(model.predict(make_cube(sar=moved), target).values, pred.values)


def test_fit_line_exact_and_constant():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    assert fit_line(x, 0.5 + 0.25 * x) == pytest.approx((0.5, 0.25))
    assert fit_line(np.ones(3), np.array([0.0, 0.3, 0.6])) == pytest.approx((0.3, 0.0))


def test_linear_dem_per_month():
    nt = len(cube_dates())
    dem = 100.0 * np.arange(NY, dtype=np.float32)[::-1, None] * np.ones((1, NX))
    months = cube_dates().month.values
    a = np.where(months == 6, 0.9, 0.4)[:, None, None]
    b = np.where(months == 6, -3e-4, -1e-4)[:, None, None]
    sar = (a + b * dem[None]).astype(np.float32)  # June 0.9 → 0.21, Sept 0.4 → 0.17
    cube = make_cube(sar=np.broadcast_to(sar, (nt, NY, NX)).copy())
    model = B.get_baseline("linear_dem").fit(cube, split_dates(cube, "train"))
    p = model.params()
    assert p["months"]["6"]["intercept"] == pytest.approx(0.9, abs=1e-5)
    assert p["months"]["6"]["slope_per_m"] == pytest.approx(-3e-4, rel=1e-4)
    assert p["months"]["9"]["slope_per_m"] == pytest.approx(-1e-4, rel=1e-4)
    json.dumps(p)
    pred = model.predict(cube, cube_dates()[10])
    _check_map(pred, cube, "linear_dem")
    np.testing.assert_allclose(pred.values, sar[10], atol=1e-5)
    # July has no training scene: the pooled line is used
    assert set(p["months"]) == {"6", "9"}
    assert model.lines.get(7, model.pooled) == model.pooled


def test_random_forest_learns_dem_step():
    nt = len(cube_dates())
    dem = 100.0 * np.arange(NY)[::-1, None] * np.ones((1, NX))
    sar = np.broadcast_to((dem < 1150).astype(np.float32), (nt, NY, NX)).copy()
    cube = make_cube(sar=sar)
    model = B.get_baseline("random_forest", n_estimators=5, max_depth=4, max_pixels=2000)
    model.fit(cube, split_dates(cube, "train"))
    p = model.params()
    json.dumps(p)
    assert p["n_estimators"] == 5 and p["n_samples"] <= 2000
    assert max(p["feature_importances"], key=p["feature_importances"].get) == "dem"
    pred = model.predict(cube, cube_dates()[10])
    _check_map(pred, cube, "random_forest")
    assert (pred.values[:, :OCEAN_COLS] == 0).all()
    land = pred.values[:, OCEAN_COLS:]
    np.testing.assert_allclose(land, sar[10][:, OCEAN_COLS:], atol=1e-6)


def test_no_training_scene_is_a_cube_error():
    cube = make_cube()
    with pytest.raises(CubeError, match="training dates"):
        B.get_baseline("linear_dem").fit(cube, pd.DatetimeIndex(["2019-06-02"]))


def test_unknown_date_is_a_cube_error():
    cube = make_cube()
    model = B.get_baseline("pmw_threshold").fit(cube, split_dates(cube, "train"))
    with pytest.raises(CubeError, match="not in the cube"):
        model.predict(cube, "2019-07-15")
