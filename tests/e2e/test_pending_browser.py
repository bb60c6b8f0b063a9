"""A season still being precomputed, in headless chromium: the page says so above the tabs and
in the map's title, and shows the day once a precompute beside the server has written it.
No console error, no request to another host."""

from __future__ import annotations

import shutil

import pytest
from e2e_helpers import serve_app, until, wait_maps, watch

from meltwater.data.catalog import get_source
from meltwater.data.cube import open_cube
from meltwater.precompute import precompute
from meltwater_dashboard.store import Store

pytestmark = pytest.mark.e2e

MODEL = "pmw_threshold"
DAY = "2017-04-11"


@pytest.fixture
def pending_root(tiny_data_root, tmp_path, monkeypatch):
    """A data folder whose cube holds 2018 and 5 days of 2017 (not ``DAY``)."""
    root = tmp_path / "data"
    shutil.copytree(tiny_data_root / "cubes", root / "cubes")
    monkeypatch.setenv("MELTWATER_DATA", str(root))
    cube_path = get_source("demo").cube_path
    times = open_cube(cube_path).indexes["time"]
    precompute(cube_path, [MODEL], (), dates=times[times.year == 2018].append(times[:5]), workers=1)
    return cube_path


def test_a_pending_season_says_so_and_shows_its_days_when_written(page, pending_root, shots):
    errors, external = watch(page)
    with serve_app(Store(), "demo") as (url, states):
        page.goto(f"{url}?date={DAY}")
        wait_maps(page, 2)
        banner = page.locator(".mw-pending")
        banner.wait_for(timeout=15_000)
        text = banner.inner_text()
        assert "Predictions for 2017 are not computed: 5 of 183 days of the season" in text
        assert f"(not yet {DAY}, the day shown), 188 of 366 days" in text
        assert page.get_by_text(f"Prediction {MODEL} — {DAY} (not computed yet)").count() == 1
        page.screenshot(path=str(shots / "dashboard_pending_season.png"))

        state = states[-1]
        precompute(pending_root, [MODEL], (), dates=[DAY], workers=1)  # a precompute beside
        assert until(page, lambda: "not yet" not in state.pending, 20_000), state.pending
        page.get_by_text("6 of 183 days of the season").first.wait_for(timeout=10_000)
        title = page.get_by_text(f"Prediction {MODEL} — {DAY}", exact=True)
        title.wait_for(timeout=10_000)  # redrawn: "(not computed yet)" is gone
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "dashboard_pending_day_written.png"))
        assert state.date_str == DAY
    assert not errors, errors
    assert not external, external
