import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from meltwater.data.catalog import get_source
from meltwater.data.geotiff import read_grid
from meltwater.data.splits import release_split
from meltwater.data.synthetic import GENERATOR_VERSION, LAYOUT, DemoConfig, simulate, write_demo
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


def test_melt_follows_temperature_and_elevation(sim):
    land, dem, truth, days = sim["land"], sim["dem"], sim["truth"], sim["days"]
    monthly = pd.Series(truth[:, land].mean(axis=1), index=days).groupby(days.month).mean()
    assert monthly[7] > monthly[5] > monthly[4] and monthly[7] > monthly[9]
    june = truth[days.month == 6].mean(axis=0)
    ice = land & sim["ice"]
    low = june[ice & (dem < np.quantile(dem[ice], 0.25))].mean()
    high = june[ice & (dem > np.quantile(dem[ice], 0.9))].mean()
    assert low > high + 0.3  # the lapse rate and the snow line: low ice melts first
    share = (truth[:, land] < 0.1) | (truth[:, land] > 0.9)
    assert share.mean() > 0.9  # mostly 0 or 1, as the real SAR target


@pytest.fixture(scope="module")
def small():
    return simulate(replace(DemoConfig.preset("small"), years=(2018,)))


def _melt_on(sim, month, mask):
    days = sim["days"]
    return float(sim["truth"][days.month == month][:, mask].mean())


def test_bare_ice_below_the_snow_line_melts_more_than_snow_at_the_same_height(small):
    # same elevation band, ice vs the snow-covered rock beside it in August: rock has lost its
    # snow (dry), ice below the snow line is wet
    land, dem = small["land"], small["dem"]
    band = land & (dem > 500) & (dem < 900)
    assert _melt_on(small, 8, band & small["ice"]) > 0.5
    assert _melt_on(small, 8, band & ~small["ice"]) < 0.2


def test_foehn_events_warm_the_truth_more_than_mar(small):
    foehn = small["foehn"]
    assert 1 <= (foehn > 0).sum() <= 20 and foehn.max() <= 10
    from meltwater.data.synthetic import DemoConfig as C

    assert C().mar_foehn_share < 1


def test_mar_biases_vary_in_season_and_space(small):
    # MAR cells are ~6 km: the small domain holds several of them
    land, dem, days = small["land"], small["dem"], small["days"]
    mar_wet, true_wet = small["mar"] > 0.003, small["truth"] > 0.5
    june, september = days.month == 6, days.month == 9
    high = land & small["ice"] & (dem > 900) & (dem < 1500)
    assert mar_wet[june][:, high].mean() > true_wet[june][:, high].mean() + 0.1  # albedo overmelt
    assert mar_wet[september][:, land].mean() < true_wet[september][:, land].mean()  # undermelt
    assert 0 <= small["mar"].min() and small["mar"].max() <= 0.09
    summer = small["mar"][(days.month >= 6) & (days.month <= 8)][:, land]
    assert 0.002 < summer.mean() < 0.03  # the real WA1 is ~0.006 on average


def test_pmw_sees_wet_snow_coarsely(sim):
    land, truth, pmw = sim["land"], sim["truth"], sim["pmw"]
    r = np.corrcoef(truth[:, land].mean(axis=1), pmw[:, land].mean(axis=1))[0, 1]
    assert r > 0.7
    assert 150 < pmw.min() and pmw.max() < 285
    # ~6 km footprint: neighbouring 100 m pixels share one value within a block
    assert np.unique(pmw[100, :31, :31].round(3)).size < 31 * 31 / 4


def test_sar_on_the_release_dates_with_gaps(sim):
    split = release_split()
    release = split["train"].union(split["val"]).union(split["test"])
    sar_days = sim["sar_days"]
    assert sar_days.equals(release[release.year.isin([2017, 2018])])
    assert len(sar_days) == 14 + 66 + 12 + 12
    ocean = ~sim["land"]
    assert np.isnan(sim["sar"][:, ocean]).all()
    assert np.isnan(sim["sar"][:, sim["land"]]).mean() > 0.02  # swath and layover gaps
    i = sim["days"].get_indexer(sar_days)
    ok = np.isfinite(sim["sar"])
    err = np.abs(sim["sar"][ok] - sim["truth"][i][ok])
    assert 0.005 < err.mean() < 0.1  # speckle, not the truth itself


def test_the_demo_writes_the_release_split_and_the_temporal_hold_out(tiny_source):
    split = release_split()
    for name in ("train", "val", "test"):
        want = split[name][split[name].year.isin([2017, 2018])]
        assert tiny_source.split_dates(name).equals(want)
    demo_t = get_source("demo_temporal", data_root=tiny_source.root.parent)
    assert demo_t.split_dates("test").empty  # the tiny demo holds 2017–2018 only
    assert demo_t.split_dates("train").equals(
        tiny_source.split_dates("train").union(tiny_source.split_dates("test"))
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


def test_a_new_config_removes_the_old_days(tmp_path):
    cfg = replace(DemoConfig.preset("tiny"), years=(2018,), shape=(16, 24))
    write_demo(tmp_path, cfg)
    stale = tmp_path / LAYOUT / "SAR/S1Xv1.2/HH_PercentMelt/2018_04_02.tif"  # no release date
    stale.write_bytes(b"old")
    write_demo(tmp_path, cfg)
    assert stale.is_file()  # same config: nothing rewritten
    write_demo(tmp_path, replace(cfg, seed=1))
    assert not stale.exists()
    assert (tmp_path / "splits/temporal/train.csv").is_file()


def test_unknown_preset():
    with pytest.raises(UnknownNameError, match="unknown demo size 'huge'"):
        DemoConfig.preset("huge")
