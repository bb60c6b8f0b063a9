"""Climatology tab on the toy cube (tests/fixtures/toycube.py): two identical seasons.

Every day unet melts 10 km², mar_interp 20 km², SAR 10 km² on its scene days. Season weeks
from 1 April: 1–2 June in week 8, 3–8 June in week 9, 1 September in week 21, 2–4 in week 22.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from fixtures.toycube import make_toy_cube

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.climatology import climatology, climatology_tab


@pytest.fixture
def state():
    pn.state.clear_caches()
    return DashboardState(source="toy", store=Store({"toy": make_toy_cube()}), year=2019)


def test_climatology_of_the_toy_seasons(state):
    clim = climatology(state)
    assert list(clim.series.values) == ["sar", "unet", "mar_interp"]
    assert list(clim.week.values) == [8, 9, 21, 22] and list(clim.year.values) == [2019, 2020]
    c = clim.climatology.sel(series="mar_interp")
    assert (c.sel(stat=["mean", "min", "max"]) == 20.0).all()
    assert (c.sel(stat="seasons") == 2).all()
    assert (clim.climatology.sel(series="sar", stat="mean") == 10.0).all()


def test_tab_follows_season_day_and_model(state):
    tab = climatology_tab(state)
    tab.get_root(Document())
    grid = tab[1]
    figs = {p.object.title.text.split(":")[0]: p.object for p in grid}
    assert list(figs) == ["SAR (valid pixels)", "unet", "mar_interp"]
    season = figs["unet"].renderers[2].data_source.data
    np.testing.assert_array_equal(season["x"], [59.5, 66.5, 150.5, 157.5])
    np.testing.assert_array_equal(season["y"], [10.0, 10.0, 10.0, 10.0])
    span = figs["unet"].center[-1]
    assert span.location == 61.0  # 1 June
    assert figs["unet"].outline_line_width == 3 and figs["mar_interp"].outline_line_width == 1
    state.day = 9  # 2 September, hidden: nothing moves
    assert span.location == 61.0
    state.tab = "climatology"
    assert span.location == 154.0
    state.model = "mar_interp"
    assert figs["mar_interp"].outline_line_width == 3
