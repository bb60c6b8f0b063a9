"""Regions on a hand-made 4 × 4 cube (100 m pixels, column 0 ocean), two days, one SAR scene.

Rows 0–1 are at 600 m (band ``elev-500-1000``), rows 2–3 at 100 m (``elev-0-500``); the 100 m
coast is column 1. Model ``a`` on day 1: rows 1, 0.5, 0, 0.2 → band means 0.75 and 0.1, coast
(1 + 0.5 + 0 + 0.2) / 4 = 0.425; 0 on day 2. MAR (WA1 0.01 → melt 1 by the paper's mapping) on
rows 0–1 only; PMW (280 K > 0.48 · 300 + 128 = 272 K) on row 0 only. SAR (day 1): 1 on row 0,
0 below, pixel (1, 3) invalid. High band, 5 valid pixels: SAR 0.6, MAE 0.2, bias 0.2, accuracy
0.6; low band, 6: SAR 0, MAE 0.1, bias 0.1, accuracy 0.5; coast, 4: SAR 0.25, MAE 0.175, bias
0.175, accuracy 0.5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from meltwater.errors import GridMismatchError, InvalidArgumentError
from meltwater.evaluation import metrics
from meltwater.evaluation.regions import (
    TRUNK,
    box_mask,
    glacier_trunk,
    predefined_regions,
    region_summary,
)


def hand_cube() -> xr.Dataset:
    land = np.ones((4, 4), bool)
    land[:, 0] = False
    dem = np.repeat([[600.0], [600.0], [100.0], [100.0]], 4, axis=1)
    pred = np.zeros((2, 4, 4))
    pred[0] = np.array([1.0, 0.5, 0.0, 0.2])[:, None]
    mar = np.zeros((2, 4, 4))
    mar[:, :2] = 0.01
    pmw = np.full((2, 4, 4), 200.0)
    pmw[:, 0] = 280.0
    sar = np.full((2, 4, 4), np.nan)
    sar[0] = np.array([1.0, 0.0, 0.0, 0.0])[:, None]
    sar[0, 1, 3] = np.nan
    sar[:, ~land] = np.nan
    three = ("time", "y", "x")
    return xr.Dataset(
        {
            "land": (("y", "x"), land),
            "dem": (("y", "x"), dem),
            "pred_a": (three, pred),
            "mar_wa1": (three, mar),
            "pmw": (three, pmw),
            "sar": (three, sar),
            "valid": (three, np.isfinite(sar)),
            "has_sar": ("time", [True, False]),
            "pmw_winter": (("year", "y", "x"), np.full((1, 4, 4), 300.0)),
        },
        coords={
            "time": pd.date_range("2019-06-01", periods=2),
            "y": [350.0, 250.0, 150.0, 50.0],
            "x": [50.0, 150.0, 250.0, 350.0],
            "year": [2019],
        },
    )


def regions() -> dict[str, np.ndarray]:
    c = hand_cube()
    return predefined_regions(c.dem.values, c.land.values, (100.0, 100.0), coast_km=0.1)


def test_predefined_regions():
    r = regions()
    assert list(r) == ["elev-0-500", "elev-500-1000", "coast-0.1km"]
    assert r["elev-0-500"].sum() == 6 and r["elev-0-500"][2:, 1:].all()
    np.testing.assert_array_equal(np.flatnonzero(r["coast-0.1km"].any(axis=0)), [1])
    assert r["coast-0.1km"].sum() == 4


def test_box_mask_takes_pixel_centres_in_any_corner_order():
    c = hand_cube()
    m = box_mask(c.x.values, c.y.values, (260.0, 100.0, 140.0, 300.0))  # x 150, 250; y 250, 150
    assert m.sum() == 4 and m[1:3, 1:3].all()
    with pytest.raises(InvalidArgumentError, match="bounds"):
        box_mask(c.x.values, c.y.values, (0.0, 0.0, np.nan, 1.0))


def test_region_series_and_metrics():
    c = hand_cube()
    s = region_summary(c, c.indexes["time"], ["a"], regions())
    mean = s["mean"].isel(time=0)
    np.testing.assert_allclose(mean.sel(series="a"), [0.1, 0.75, 0.425])
    np.testing.assert_allclose(mean.sel(series="mar"), [0.0, 1.0, 0.5])
    np.testing.assert_allclose(mean.sel(series="pmw"), [0.0, 0.5, 0.25])
    np.testing.assert_allclose(mean.sel(series="sar"), [0.0, 0.6, 0.25])
    assert np.isnan(s["mean"].sel(series="sar").isel(time=1)).all()
    np.testing.assert_allclose(s["mean"].sel(series="a").isel(time=1), 0.0)
    m = s["metrics"].sel(model="a")
    np.testing.assert_allclose(m.sel(metric="mae"), [0.1, 0.2, 0.175])
    np.testing.assert_allclose(m.sel(metric="bias"), [0.1, 0.2, 0.175])
    np.testing.assert_allclose(m.sel(metric="accuracy"), [0.5, 0.6, 0.5])
    np.testing.assert_array_equal(s.n_images, [1, 1, 1])
    np.testing.assert_array_equal(s.pixels, [6, 6, 4])


def test_metrics_match_the_metrics_module():
    c = hand_cube()
    r = regions()["elev-500-1000"]
    s = region_summary(c, c.indexes["time"][:1], ["a"], {"high": r})
    mask = r & c.valid.values[0]
    ref = metrics.image_metrics(
        c.pred_a.values[0], c.sar.values[0], mask, ("mae", "bias", "accuracy")
    )
    for k in ("mae", "bias", "accuracy"):
        assert float(s["metrics"].sel(region="high", model="a", metric=k)) == pytest.approx(ref[k])


def test_bad_region_shape_is_named():
    c = hand_cube()
    with pytest.raises(GridMismatchError, match="regions"):
        region_summary(c, c.indexes["time"], ["a"], {"x": np.ones((3, 3), bool)})
    with pytest.raises(InvalidArgumentError, match="regions"):
        region_summary(c, c.indexes["time"], ["a"], {})


def test_the_demo_offers_its_glacier_trunk(tiny_cube):
    from meltwater.data.synthetic import DemoConfig, demo_terrain

    trunk = glacier_trunk(tiny_cube)
    want = demo_terrain(DemoConfig.preset("tiny")).trunk
    assert trunk is not None and trunk.shape == want.shape
    assert np.array_equal(trunk if tiny_cube["y"][0] > tiny_cube["y"][-1] else trunk[::-1], want)
    land = tiny_cube["land"].values.astype(bool)
    out = predefined_regions(tiny_cube["dem"].values, land, (100.0, 100.0), trunk=trunk)
    assert out[TRUNK].sum() == (trunk & land).sum() > 0
    # the trunk is a lowered channel: lower than the ice beside it at the same distance inland
    dem = tiny_cube["dem"].values
    assert dem[out[TRUNK]].mean() < np.median(dem[land])
    other = tiny_cube.copy()
    other.attrs = {k: v for k, v in tiny_cube.attrs.items() if k != "demo_metadata"}
    assert glacier_trunk(other) is None  # the release: no trunk is guessed
    with pytest.raises(GridMismatchError):
        predefined_regions(dem, land, (100.0, 100.0), trunk=trunk[:-1])
