"""evaluation.summary_store: season summaries stored beside the cube, recomputed when stale."""

from __future__ import annotations

import pytest
from fixtures.toycube import make_toy_cube

from meltwater.evaluation import summary_store as summary_cache
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
