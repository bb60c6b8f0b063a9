"""A season still being precomputed: the page says how far it is and picks up new days.

On the tiny demo's cube (2 seasons of 183 days) `pmw_threshold` is precomputed on 5 days of
2017 and every day of 2018, as ``make demo`` leaves the seasons the page does not open on.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from meltwater.atomic import exclusive_lock
from meltwater.data.catalog import get_source
from meltwater.data.cube import open_cube
from meltwater.evaluation.summary_store import summary_path
from meltwater.precompute import precompute
from meltwater_dashboard.pending import count
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.pending import pending_html

MODEL = "pmw_threshold"


def _precompute(cube_path, days) -> None:
    precompute(cube_path, [MODEL], (), dates=days, scheduler="synchronous")


@pytest.fixture
def partial(tiny_data_root, tmp_path, monkeypatch):
    """(state, cube path, the cube's days): a data folder whose 2017 has 5 days of predictions."""
    root = tmp_path / "data"
    shutil.copytree(tiny_data_root / "cubes", root / "cubes")
    monkeypatch.setenv("MELTWATER_DATA", str(root))
    cube_path = get_source("demo").cube_path
    times = open_cube(cube_path).indexes["time"]
    _precompute(cube_path, times[times.year == 2018].append(times[:5]))
    state = DashboardState(source="demo", store=Store(), year=2017, day=10)
    return state, cube_path, times


def test_the_page_says_how_far_the_season_is(toasts, partial):
    state, cube_path, times = partial
    assert (len(times), int((times.year == 2017).sum())) == (366, 183)
    assert state.pending == (
        "Predictions for 2017 are not computed: 5 of 183 days of the season (not yet "
        "2017-04-11, the day shown), 188 of 366 days of every season. Run `make rest`, or "
        "`meltwater precompute --source demo --years 2017`, to compute them."
    )
    assert len(toasts.shown) == 1 and "5 of 183 days" in toasts.shown[0]  # once, as a toast
    assert np.isnan(state.prediction()).all()  # no map drawn from a day not computed
    state.day = 2  # a computed day of the pending season: the season is still pending
    assert "5 of 183 days of the season, 188 of 366" in state.pending
    assert np.isfinite(state.prediction()).any()
    state.year = 2018  # a complete season: nothing pending
    assert state.pending == ""
    with exclusive_lock(cube_path):  # a precompute writing the cube now
        state.year = 2017
        assert state.pending.startswith(
            "Predictions for 2017 are still being computed in the background: 5 of 183 days"
        )


def test_a_day_written_after_the_page_opened_is_shown(partial):
    state, cube_path, times = partial
    before = state.prediction()
    assert np.isnan(before).all()
    _precompute(cube_path, times[10:11])  # the shown day, written by a precompute beside
    state.check_pending(refresh=True)
    assert "6 of 183 days of the season, 189 of 366" in state.pending
    assert "not yet" not in state.pending
    after = state.prediction()
    land = state.store.frame("demo", "land", "").astype(bool)
    assert np.isfinite(after[land]).all() and np.isnan(after[~land]).all()


def test_curves_of_a_pending_season_are_undefined_where_not_computed(partial):
    state, cube_path, times = partial
    summary = state.store.daily_summary("demo", 2017)["melt_area_km2"].sel(model=MODEL)
    defined = np.isfinite(summary.values)
    assert defined.sum() == 5 and defined[:5].all()  # not "no melt" on the other 178 days
    assert summary_path(cube_path, 2018).is_file()  # the complete season's is stored
    assert not summary_path(cube_path, 2017).exists()
    _precompute(cube_path, times[5:8])
    again = state.store.daily_summary("demo", 2017)["melt_area_km2"].sel(model=MODEL)
    assert np.isfinite(again.values).sum() == 8  # new days picked up, not the cached summary


def test_the_notice_is_escaped_text():
    hostile = "Predictions for <img src=x onerror=alert(1)> are not computed & <b>soon</b>"
    shown = pending_html(hostile)
    assert "<img" not in shown and "<b>" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown and "&amp;" in shown
    assert pending_html("") == ""
    assert count(1281) == "1\u00a0281" and count(366) == "366"  # never split across lines


def test_season_views_follow_the_records(partial):
    from meltwater_dashboard.views.climatology import climatology
    from meltwater_dashboard.views.onset import timing

    state, cube_path, times = partial
    onset, clim = timing(state)[0], climatology(state)
    assert timing(state)[0] is onset and climatology(state) is clim  # cached while unchanged
    _precompute(cube_path, times[5:8])
    assert timing(state)[0] is not onset  # recomputed with the new days
    assert climatology(state) is not clim


def test_a_hostile_source_name_stays_text(toasts):
    from fixtures.toycube import make_toy_cube

    cube = make_toy_cube()
    days = [str(d.date()) for d in cube.indexes["time"] if d.year == 2019]
    cube["pred_unet"].attrs.update(model_days={"unet:a:1": days}, days_done=days)
    name = '<img src=x onerror="alert(1)">'
    state = DashboardState(source=name, store=Store({name: cube}), year=2020)
    assert state.pending.startswith("Predictions for 2020 are not computed: 0 of 12 days")
    assert f"--source {name} --years 2020" in state.pending
    shown = pending_html(state.pending)
    assert "<img" not in shown and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in shown
    assert toasts.shown and "<img" not in toasts.shown[-1]
    state.year = 2019
    assert state.pending == ""
