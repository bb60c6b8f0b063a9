"""meltwater.evaluation.summaries on the hand-set toy cube (values derived in tests/toycube.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures.toycube import NY, OCEAN_COLS, make_toy_cube, toy_dates

from meltwater.data import cube as cube_mod
from meltwater.errors import CubeError
from meltwater.evaluation import summaries as summary


@pytest.fixture(scope="module")
def cube():
    return make_toy_cube()


def test_models_and_ablations(cube):
    assert summary.models_in(cube) == ["unet", "mar_interp"]
    assert summary.ablations_in(cube) == ["pmw"]
    assert cube_mod.pixel_area_km2(cube) == pytest.approx(0.01)


def test_daily_summary_values(cube):
    s = summary.daily_summary(cube, progress=False)
    assert s.sizes == {"model": 2, "time": 24}
    sar_day, other = cube.time.values[0], cube.time.values[1]
    u = s.sel(model="unet", time=sar_day)
    assert float(u.bias) == pytest.approx(-0.125)
    assert float(u.mae) == pytest.approx(0.125)
    assert float(u.accuracy) == pytest.approx(1.0)
    assert float(u.melt_fraction) == pytest.approx(0.375)
    assert float(u.melt_area_km2) == pytest.approx(10.0)
    m = s.sel(model="mar_interp", time=sar_day)
    assert float(m.bias) == pytest.approx(0.5)
    assert float(m.accuracy) == pytest.approx(0.5)
    assert float(m.melt_area_km2) == pytest.approx(20.0)
    assert float(s.sar_melt_fraction.sel(time=sar_day)) == pytest.approx(0.5)
    assert float(s.sar_melt_area_km2.sel(time=sar_day)) == pytest.approx(10.0)
    assert float(s.valid_pixels.sel(time=sar_day)) == NY * (60 - OCEAN_COLS)
    # no SAR scene: metrics undefined, melt area still defined
    assert np.isnan(float(s.bias.sel(model="unet", time=other)))
    assert float(s.melt_area_km2.sel(model="unet", time=other)) == pytest.approx(10.0)
    assert np.isnan(float(s.valid_melt_area_km2.sel(model="unet", time=other)))


def test_valid_melt_area_counts_only_the_valid_sar_pixels():
    cube = make_toy_cube()
    cube["sar"][0, :10] = np.nan  # half of the melting (top) rows without SAR on day 0
    cube["valid"][0, :10] = False
    s = summary.daily_summary(cube, dates=cube.time.values[:1], progress=False)
    day = s.isel(time=0)
    assert float(day.sar_melt_area_km2) == pytest.approx(5.0)
    assert float(day.valid_melt_area_km2.sel(model="unet")) == pytest.approx(5.0)
    assert float(day.valid_melt_area_km2.sel(model="mar_interp")) == pytest.approx(15.0)
    assert float(day.melt_area_km2.sel(model="unet")) == pytest.approx(10.0)  # all land


def test_curves(cube):
    s = summary.daily_summary(cube, progress=False)
    mon = summary.monthly_curves(s)
    assert list(mon.month.values) == [6, 9]
    assert float(mon.bias.sel(model="unet", month=6)) == pytest.approx(-0.125)
    sd = summary.season_day_curves(s)
    # 1 June is day 61 of a season starting 1 April
    assert int(sd.season_day[0]) == 61
    assert float(sd.bias.sel(model="mar_interp", season_day=61)) == pytest.approx(0.5)


def test_season_day():
    got = cube_mod.season_day(pd.to_datetime(["2019-04-01", "2020-09-30"]))
    assert list(got) == [0, 182]


def test_pixel_errors(cube):
    dates = toy_dates()[:8]
    e = summary.pixel_errors(cube, "unet", dates)
    assert e.attrs["days"] == 4
    assert float(e.mae[0, OCEAN_COLS]) == pytest.approx(0.25)
    assert float(e.bias[0, OCEAN_COLS]) == pytest.approx(-0.25)
    assert float(e.bias[-1, -1]) == 0.0
    assert np.isnan(float(e.mae[0, 0]))  # ocean: never valid
    assert int(e["count"][0, OCEAN_COLS]) == 4
    with pytest.raises(CubeError, match="pred_nope"):
        summary.pixel_errors(cube, "nope", dates)


def test_pixel_series(cube):
    x, y = float(cube.x[OCEAN_COLS]), float(cube.y[0])
    df = summary.pixel_series(cube, x + 20, y - 20, ["sar", "pred_unet", "dem"], toy_dates()[:4])
    assert df.attrs["row"] == 0 and df.attrs["col"] == OCEAN_COLS
    assert list(df["sar"].isna()) == [False, True, False, True]
    assert df["pred_unet"].tolist() == [0.75] * 4
    assert df["dem"].tolist() == [390.0] * 4
    with pytest.raises(CubeError, match="outside"):
        summary.pixel_series(cube, 0.0, 0.0, ["sar"], toy_dates()[:2])


def test_day_map_errors(cube):
    with pytest.raises(CubeError, match="not in the cube"):
        cube_mod.day_map(cube, "sar", "2019-01-01")
    with pytest.raises(CubeError, match="no variable"):
        cube_mod.day_map(cube, "nope", "2019-06-01")
