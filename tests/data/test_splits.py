"""Split sets: the release's data_v1_4 lists and the temporal hold-out derived from them."""

import pandas as pd

from meltwater.data.catalog import get_source
from meltwater.data.splits import read_list, release_split, temporal_split, write_split


def test_release_split_is_389_70_70():
    split = release_split()
    assert [len(split[k]) for k in ("train", "val", "test")] == [389, 70, 70]
    assert (split["test"].year == 2017).sum() == 0  # 2017 all train
    test = split["test"]
    per_month = pd.Series(1, index=test).groupby([test.year, test.month]).sum()
    assert per_month[per_month.index.get_level_values(0) <= 2022].eq(2).all()  # 2 a month


def test_temporal_hold_out():
    split = release_split()
    temporal = temporal_split(split)
    assert [len(temporal[k]) for k in ("train", "val", "test")] == [411, 60, 58]
    assert (temporal["test"].year == 2023).all() and (temporal["train"].year <= 2022).all()
    assert temporal["val"].equals(split["val"][split["val"].year <= 2022])
    assert temporal["val"].intersection(temporal["train"]).empty
    assert len(temporal["train"].union(temporal["val"]).union(temporal["test"])) == 529


def test_the_shipped_temporal_lists_match():
    shipped = get_source("meltwaterbench_temporal")
    temporal = temporal_split(release_split())
    for name in ("train", "val", "test"):
        assert shipped.split_dates(name).equals(temporal[name])
    assert shipped.split_dates("deploy").equals(get_source("meltwaterbench").split_dates("deploy"))


def test_write_and_read_a_list(tmp_path):
    days = pd.DatetimeIndex(["2019-07-01", "2018-06-02"])
    write_split(tmp_path, {"test": days})
    assert (tmp_path / "test.csv").read_text() == "2019_07_01.tif\n2018_06_02.tif\n"
    assert read_list(tmp_path / "test.csv").equals(days.sort_values().rename("time"))
