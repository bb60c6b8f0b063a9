"""Onset tab on the toy cube (tests/fixtures/toycube.py) with the UNet's 2019 melt starting late.

SAR days of 2019: 1, 3, 5, 7 June and 1, 3 September; SAR melts in the top half from 1 June
to 3 September. The UNet misses 1 June (onset 2 days late); mar_interp melts everywhere.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from fixtures.toycube import NY, OCEAN_COLS, make_toy_cube

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.onset import band_tables, onset_tab, timing


@pytest.fixture
def state():
    cube = make_toy_cube()
    unet = cube["pred_unet"].values.copy()
    unet[0] = 0
    cube["pred_unet"] = (("time", "y", "x"), unet)
    pn.state.clear_caches()
    return DashboardState(source="toy", store=Store({"toy": cube}), year=2019)


def test_band_tables(state):
    _, bands = timing(state)
    html = band_tables(bands, "unet")
    unet = html.split('<tr class="sel"><th>unet</th>')[1]
    assert unet.startswith('<td style="background:rgba(178,24,43,0.16)">+2.0</td>')  # later
    assert "<th>SAR</th><td>3.0</td>" in html and "<th>mar_interp</th><td>6.0</td>" in html
    assert "<th>pixels observed</th><td>2000</td>" in html


def test_tab_follows_season_and_model(state):
    tab = onset_tab(state)
    tab.get_root(Document())
    onset_map = tab[2].object
    image = onset_map.renderers[0].data_source.data["image"][0]
    assert image.shape == (NY, 60)
    assert image[-1, OCEAN_COLS] == 2.0 and np.isnan(image[0, OCEAN_COLS])  # top row last
    assert np.isnan(image[-1, 0])  # ocean
    state.tab = "onset"
    state.model = "mar_interp"
    image = onset_map.renderers[0].data_source.data["image"][0]
    assert image[-1, OCEAN_COLS] == 0.0 and "mar_interp" in onset_map.title.text
    assert '<tr class="sel"><th>mar_interp</th>' in tab[1].object
    state.year = 2020  # a new season: its own timing (the UNet is not late there)
    assert "Season 2020" in tab[0].object
    assert "+0.0" in tab[1].object.split("<th>unet</th>")[1][:60]


def test_names_are_escaped_and_a_season_without_sar_is_a_message(state):
    _, bands = timing(state)
    html = band_tables(bands.assign_coords(model=["<b>x</b>", "mar_interp"]), "")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html
    cube = state.cube.copy()
    cube["has_sar"] = cube["has_sar"] & (cube.time.dt.year == 2020)
    other = DashboardState(source="dry", store=Store({"dry": cube}), year=2019)
    text = onset_tab(other)[0].object
    assert text.startswith("No onset for this season: year: season 2019 has no SAR scene")
