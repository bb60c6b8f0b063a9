"""Conservation tab on the toy cube (tests/fixtures/toycube.py) with MAR in two cells.

MAR WA1 is 0 on columns 10–34 and 0.01 on 35–59 (land: 10–59; 40 rows), so cells are columns
10–34 (cell 0, 1000 land pixels) and 35–59 (cell 1, 1000) with MAR melt 0 and
(143.5 · 0.01 → 1) 1. ``pred_unet`` is 0.75 in the top 20 rows, 0 below: 0.375 on both cells;
``pred_mar_interp`` is 1. PMW (Tb 200 + day index) stays below 0.48 · 300 + 128 = 272 K: 0.
SAR (SAR days: 1 on top, 0 below) averages 0.5 on both cells.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from fixtures.toycube import make_mar_toy_cube, make_toy_cube

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.conservation import cells, conservation_tab, season_curve


@pytest.fixture
def state():
    pn.state.clear_caches()
    return DashboardState(source="toy", store=Store({"toy": make_mar_toy_cube()}), year=2019)


def test_cells_of_the_toy_mar(state):
    labels = cells(state)
    assert (labels[:, :10] == -1).all() and (labels[:, 10:35] == 0).all()
    assert (labels[:, 35:] == 1).all()


def test_season_curve_has_exact_domain_means(state):
    season = season_curve(state).result(timeout=30)
    assert season.sizes["time"] == 12
    np.testing.assert_allclose(season["res_mar:unet"], 0.375 - 0.5)  # (0.375 + 0.375 − 1) / 2
    np.testing.assert_allclose(season["res_mar:mar_interp"], 0.5)
    np.testing.assert_allclose(season["res_pmw:unet"], 0.375)
    sar = season["sar_res_mar"].values
    np.testing.assert_allclose(sar[::2], 0.0)  # (0.5 − 0 + 0.5 − 1) / 2 on SAR days
    assert np.isnan(sar[1::2]).all()


def test_tab_follows_day_and_model(state):
    tab = conservation_tab(state)
    tab.get_root(Document())
    table, row = tab[1], tab[2]
    model_map = row[0].object
    state.model = "mar_interp"
    state.tab = "conservation"
    image = model_map.renderers[0].data_source.data["image"][0]
    assert "mar_interp − MAR" in model_map.title.text
    np.testing.assert_allclose(image[:, 10:35], 1.0)  # 1 − 0
    np.testing.assert_allclose(image[:, 35:], 0.0)  # 1 − 1
    assert np.isnan(image[:, :10]).all()
    assert 'class="sel"><th>mar_interp' in table.object and "+0.500" in table.object
    state.day = 1  # no SAR scene
    assert "no SAR scene" in row[1].object.title.text


def test_hidden_tab_costs_nothing(state, monkeypatch):
    tab = conservation_tab(state)
    tab.get_root(Document())
    calls = []
    view_map = tab[2][0].object
    monkeypatch.setattr(state, "layer", lambda var: calls.append(var))
    state.tab = "maps"
    state.day = 2
    assert calls == [] and "2019-06-01" in view_map.title.text


def test_missing_winter_tb_is_a_notice_not_a_crash():
    pn.state.clear_caches()
    store = Store({"toy": make_toy_cube()})
    tab = conservation_tab(DashboardState(source="toy", store=store, year=2019))
    assert r"pmw\_winter" in tab[3].object  # markdown-escaped
