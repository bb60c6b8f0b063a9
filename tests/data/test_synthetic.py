import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from meltwater.data.geotiff import read_grid
from meltwater.data.synthetic import GENERATOR_VERSION, DemoConfig, demo_split, simulate
from meltwater.errors import UnknownNameError


@pytest.fixture(scope="module")
def sim():
    return simulate(DemoConfig.preset("tiny"))


def test_deterministic_for_a_seed(sim):
    again = simulate(DemoConfig.preset("tiny"))
    for k in ("dem", "truth", "mar", "pmw", "sar"):
        np.testing.assert_array_equal(sim[k], again[k])
    other = simulate(DemoConfig.preset("tiny", seed=1))
    assert not np.array_equal(sim["truth"], other["truth"])


def test_terrain_is_a_fjord_and_ice_sheet(sim):
    dem, land = sim["dem"], sim["land"]
    assert dem[~land].max() == 0 and 3000 < dem.max() < 3600
    assert 0.05 < (~land).mean() < 0.5
    nx = dem.shape[1]
    east, west = dem[:, nx // 2 :][land[:, nx // 2 :]], dem[:, : nx // 10]
    assert west.mean() > east.mean() + 1500  # the ice sheet rises inland (west)


def test_melt_follows_temperature_and_elevation(sim):
    land, dem, truth, days = sim["land"], sim["dem"], sim["truth"], sim["days"]
    monthly = pd.Series(truth[:, land].mean(axis=1), index=days).groupby(days.month).mean()
    assert monthly[7] > monthly[5] > monthly[4] and monthly[7] > monthly[9]
    summer = truth[(days.month >= 6) & (days.month <= 8)].mean(axis=0)
    low = summer[land & (dem < np.quantile(dem[land], 0.25))].mean()
    high = summer[land & (dem > np.quantile(dem[land], 0.75))].mean()
    assert low > high + 0.2
    share = (truth[:, land] < 0.1) | (truth[:, land] > 0.9)
    assert share.mean() > 0.9  # mostly 0 or 1, as the real SAR target


def test_mar_seasonal_bias_sign():
    # MAR cells are ~6 km: use a domain that holds several of them (the tiny one holds ~4).
    sim = simulate(replace(DemoConfig.preset("small"), years=(2018,)))
    land, days = sim["land"], sim["days"]
    mar_wet = (sim["mar"][:, land] > 0.003).mean(axis=1)
    true_wet = (sim["truth"][:, land] > 0.5).mean(axis=1)
    june, september = days.month == 6, days.month == 9
    assert mar_wet[june].mean() > true_wet[june].mean()
    assert mar_wet[september].mean() < true_wet[september].mean()
    assert 0 <= sim["mar"].min() and sim["mar"].max() <= 0.09
    summer = sim["mar"][(days.month >= 6) & (days.month <= 8)][:, land]
    assert 0.002 < summer.mean() < 0.02  # the real WA1 is ~0.006 on average


def test_pmw_sees_wet_snow_coarsely(sim):
    land, truth, pmw = sim["land"], sim["truth"], sim["pmw"]
    r = np.corrcoef(truth[:, land].mean(axis=1), pmw[:, land].mean(axis=1))[0, 1]
    assert r > 0.8
    assert 150 < pmw.min() and pmw.max() < 285
    # ~6 km footprint: neighbouring 100 m pixels share one value within a block
    assert np.unique(pmw[100, :31, :31].round(3)).size < 31 * 31 / 4


def test_sar_only_on_revisit_days(sim):
    sar_days = sim["sar_days"]
    n = (sar_days - pd.Timestamp("2016-01-01")).days
    assert np.all((n % 6 == 0) | ((n - 2) % 6 == 0))
    gaps = np.diff(sar_days[sar_days.year == 2018]).astype("timedelta64[D]").astype(int)
    assert gaps.min() >= 2 and np.median(gaps) <= 4
    assert 40 < (sar_days.year == 2018).sum() < 92
    ocean = ~sim["land"]
    assert np.isnan(sim["sar"][:, ocean]).all()
    assert np.isnan(sim["sar"][:, sim["land"]]).mean() > 0.02  # swath and layover gaps


def test_split_follows_the_paper_rule(sim):
    split = demo_split(sim["sar_days"], seed=0)
    assert (split["test"].year == 2017).sum() == 0 and (split["val"].year == 2017).sum() == 0
    for month in range(4, 10):
        assert ((split["test"].year == 2018) & (split["test"].month == month)).sum() == 2
        assert ((split["val"].year == 2018) & (split["val"].month == month)).sum() == 2
    all_days = split["train"].union(split["val"]).union(split["test"])
    assert (
        len(all_days) == len(sim["sar_days"]) and split["train"].intersection(split["test"]).empty
    )


def test_written_layout_matches_the_real_one(tiny_source):
    meta = json.loads((tiny_source.root / "demo.json").read_text())
    assert meta["generator_version"] == GENERATOR_VERSION and meta["config"]["seed"] == 0
    for split in ("train", "val", "test"):
        for day in tiny_source.split_dates(split):
            assert tiny_source.day_path("sar", day).is_file()
    assert len(tiny_source.split_dates("deploy")) == 2 * 183
    grid = read_grid(tiny_source.static_path("dem"))
    assert grid.shape == (64, 96) and grid.crs.to_dict()["proj"] == "aea"
    assert read_grid(tiny_source.day_path("pmw", "2018-07-01")).matches(grid)


def test_unknown_preset():
    with pytest.raises(UnknownNameError, match="unknown demo size 'huge'"):
        DemoConfig.preset("huge")
