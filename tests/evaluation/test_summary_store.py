"""evaluation.summary_store: season summaries stored beside the cube, recomputed when stale."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.toycube import make_toy_cube

from meltwater.evaluation import summary_store as summary_cache
from meltwater.evaluation.onset import season_timing
from meltwater.evaluation.summaries import daily_summary


@pytest.fixture
def counted(monkeypatch):
    calls = []

    def fake(cube, dates=None, progress=False):
        calls.append(len(dates))
        return daily_summary(cube, dates=dates, progress=False)

    monkeypatch.setattr(summary_cache, "daily_summary", fake)
    return calls


def test_stored_then_read_back(tmp_path, counted):
    cube = make_toy_cube()
    cube_path = tmp_path / "demo.zarr"
    summary_cache.season_summary(cube, 2019, cube_path)  # a reader (the dashboard) only reads
    path = summary_cache.summary_path(cube_path, 2019)
    assert not path.exists()
    first = summary_cache.season_summary(cube, 2019, cube_path, write=True)
    assert path == tmp_path / "demo.summary" / "2019.nc" and path.is_file()
    assert counted == [12, 12]  # the 12 days of 2019 only
    again = summary_cache.season_summary(cube, 2019, cube_path)
    assert counted == [12, 12]  # read from disk
    assert float(again["bias"].sel(model="unet").isel(time=0)) == pytest.approx(-0.125)
    assert again.equals(first)


def test_new_predictions_make_it_stale(tmp_path, counted):
    cube = make_toy_cube()
    cube_path = tmp_path / "demo.zarr"
    summary_cache.season_summary(cube, 2020, cube_path, write=True)
    cube["pred_mar_interp"] = cube["pred_mar_interp"] * 0.5
    cube["pred_mar_interp"].attrs["days_done"] = ["2020-06-01"]  # what precompute records
    fresh = summary_cache.season_summary(cube, 2020, cube_path, write=True)
    assert counted == [12, 12]
    assert float(fresh["bias"].sel(model="mar_interp").isel(time=0)) == pytest.approx(0.0)
    cube.attrs["source_fingerprint"] = "rebuilt"
    summary_cache.season_summary(cube, 2020, cube_path, write=True)
    assert len(counted) == 3


def test_unwritable_place_still_answers(tmp_path, counted):
    blocker = tmp_path / "demo.summary"
    blocker.write_text("a file where the summary folder would go")
    ds = summary_cache.season_summary(make_toy_cube(), 2019, tmp_path / "demo.zarr", write=True)
    assert ds.sizes == {"model": 2, "time": 12}
    assert blocker.read_text().startswith("a file")


@pytest.fixture
def timed(monkeypatch):
    calls = []

    def fake(cube, year, models, threshold):
        calls.append((year, tuple(models)))
        return season_timing(cube, year, models, threshold)

    monkeypatch.setattr(summary_cache, "season_timing", fake)
    return calls


def test_onset_stored_then_read_back(tmp_path, timed):
    cube = make_toy_cube()
    cube_path = tmp_path / "demo.zarr"
    summary_cache.season_onset(cube, 2019, cube_path)  # a reader (the dashboard) only reads
    path = summary_cache.onset_path(cube_path, 2019)
    assert not path.exists()
    first = summary_cache.season_onset(cube, 2019, cube_path, write=True)
    assert path == tmp_path / "demo.summary" / "onset_2019.nc" and path.is_file()
    again = summary_cache.season_onset(cube, 2019, cube_path)
    assert timed == [(2019, ("unet", "mar_interp"))] * 2  # the third answer came from disk
    expected = season_timing(cube, 2019, ["unet", "mar_interp"])
    assert list(again.series.values) == ["sar", "unet", "mar_interp"]
    for var in ("onset", "freeze", "melt_days", "observed_days"):  # float32 / int16 on disk
        np.testing.assert_array_equal(again[var].values, expected[var].values)
    assert again.equals(first) and again.attrs["sar_days"] == expected.attrs["sar_days"]


def test_onset_is_stale_when_the_cube_or_its_predictions_change(tmp_path, timed):
    cube = make_toy_cube()
    cube_path = tmp_path / "demo.zarr"
    summary_cache.season_onset(cube, 2019, cube_path, write=True)
    summary_cache.season_onset(cube, 2019, cube_path, write=True)
    assert len(timed) == 1
    cube.attrs["source_fingerprint"] = "rebuilt"  # the cube was rebuilt from changed files
    summary_cache.season_onset(cube, 2019, cube_path, write=True)
    assert len(timed) == 2
    cube["pred_unet"] = cube["pred_unet"] * 0  # a new model never melts
    cube["pred_unet"].attrs["model_id"] = "unet:retrained"
    fresh = summary_cache.season_onset(cube, 2019, cube_path, write=True)
    assert len(timed) == 3 and np.isnan(fresh.onset.sel(series="unet").values).all()
    summary_cache.season_onset(cube, 2019, cube_path, threshold=0.5)  # another threshold
    assert len(timed) == 4


def test_precompute_writes_the_onset_of_seasons_with_sar(tmp_path, timed, monkeypatch):
    cube_path = tmp_path / "demo.zarr"
    cube = make_toy_cube()
    monkeypatch.setattr("meltwater.data.cube.open_cube", lambda path: cube)
    paths = summary_cache.write_season_summaries(cube_path, progress=False)
    onsets = sorted(p.name for p in paths if p.name.startswith("onset_"))
    years = sorted({int(y) for y in cube.time.dt.year[cube.has_sar.values].values})
    assert onsets == [f"onset_{y}.nc" for y in years] and all(p.is_file() for p in paths)


def test_a_season_key_ignores_other_seasons_and_only_complete_seasons_are_written(
    tmp_path, monkeypatch
):
    cube = make_toy_cube()
    days = [str(d.date()) for d in cube.indexes["time"]]
    done_2019 = [d for d in days if d.startswith("2019")]
    cube["pred_unet"].attrs.update(model_days={"unet:a:1": done_2019}, days_done=done_2019)
    key_2019, key_2020 = (summary_cache.summary_key(cube, y) for y in (2019, 2020))
    cube_path = tmp_path / "demo.zarr"
    monkeypatch.setattr("meltwater.data.cube.open_cube", lambda path: cube)
    paths = summary_cache.write_season_summaries(cube_path, progress=False)
    assert sorted(p.name for p in paths) == ["2019.nc", "onset_2019.nc"]  # 2020 has no UNet day
    assert not summary_cache.summary_path(cube_path, 2020).exists()
    cube["pred_unet"].attrs.update(model_days={"unet:a:1": days}, days_done=days)
    assert summary_cache.summary_key(cube, 2019) == key_2019  # 2020's days leave 2019 current
    assert summary_cache.summary_key(cube, 2020) != key_2020
    assert summary_cache.season_complete(cube, 2020)
