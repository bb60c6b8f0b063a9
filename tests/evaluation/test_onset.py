"""Melt onset and freeze-up: tiny arrays by hand, and the toy cube's seasons (tests/fixtures)."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.toycube import NX, NY, OCEAN_COLS, make_toy_cube

from meltwater.errors import CubeError, GridMismatchError
from meltwater.evaluation.onset import melt_timing, season_timing, timing_by_band

DAYS = np.array([10, 12, 15, 20])
VALUES = np.array(
    [
        [0.0, 0.2, 0.0],
        [0.5, np.nan, 0.0],
        [0.05, 0.9, 0.0],
        [0.3, 0.0, 0.0],
    ]
)[:, None, :]  # (time 4, y 1, x 3)


def test_melt_timing_by_hand():
    t = melt_timing(VALUES, np.ones(VALUES.shape, bool), DAYS)
    np.testing.assert_array_equal(t["onset"][0], [12, 10, np.nan])
    np.testing.assert_array_equal(t["freeze"][0], [20, 15, np.nan])
    np.testing.assert_array_equal(t["melt_days"][0], [2, 2, 0])
    np.testing.assert_array_equal(t["observed_days"][0], [4, 3, 4])  # NaN is not observed


def test_unobserved_days_do_not_count():
    observed = np.ones(VALUES.shape, bool)
    observed[1, 0, 0] = False  # the first pixel's melt of day 12 is not seen
    t = melt_timing(VALUES, observed, DAYS)
    assert (t["onset"][0, 0], t["freeze"][0, 0], t["melt_days"][0, 0]) == (20, 20, 1)
    with pytest.raises(GridMismatchError, match="one day per time step"):
        melt_timing(VALUES, observed, DAYS[:3])


@pytest.fixture(scope="module")
def toy():
    cube = make_toy_cube()
    unet = cube["pred_unet"].values.copy()
    unet[0] = 0  # 1 June 2019, a SAR day: the UNet starts melting 2 days late
    cube["pred_unet"] = (("time", "y", "x"), unet)
    return cube, season_timing(cube, 2019, ["unet", "mar_interp"])


def test_season_timing_on_sar_days(toy):
    _, t = toy
    assert list(t.series.values) == ["sar", "unet", "mar_interp"]
    assert t.attrs["sar_days"] == 6  # 1, 3, 5, 7 June and 1, 3 September
    sar = t.sel(series="sar")
    assert float(sar.onset[0, 20]) == 61 and float(sar.freeze[0, 20]) == 155  # 1 Jun, 3 Sep
    assert np.isnan(sar.onset[-1, 20]) and int(sar.melt_days[0, 20]) == 6
    assert float(t.onset.sel(series="unet")[0, 20]) == 63
    assert int(t.observed_days.sel(series="mar_interp")[0, 0]) == 0  # ocean: SAR never valid


def test_timing_by_band(toy):
    cube, t = toy
    b = timing_by_band(t, cube["dem"].values)  # DEM 0–390 m: one band
    assert list(b.elev_band.values) == ["0-500"]
    land = NY * (NX - OCEAN_COLS)
    assert float(b.pixels[0]) == land
    assert float(b.onset_diff.sel(model="unet")[0]) == 2.0
    assert float(b.freeze_diff.sel(model="unet")[0]) == 0.0
    assert float(b.onset_diff.sel(model="mar_interp")[0]) == 0.0  # the dry half is not compared
    assert float(b.both_melt.sel(model="mar_interp")[0]) == land / 2
    np.testing.assert_allclose(b.melt_days.sel(elev_band="0-500").values, [3.0, 2.5, 6.0])


def test_errors_name_the_parameter(toy):
    cube, _ = toy
    with pytest.raises(CubeError, match="year: season 2018 has no SAR scene"):
        season_timing(cube, 2018, ["unet"])
    with pytest.raises(CubeError, match=r"models: no predictions in the cube for \['linear_dem'\]"):
        season_timing(cube, 2019, ["linear_dem"])
