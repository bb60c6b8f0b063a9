"""Score card view on the toy cube's evaluation (tests/fixtures/toycube.py).

Every test image is the same: unet MAE 0.125, bias −0.125, accuracy 1; mar_interp MAE 0.5,
bias 0.5, accuracy 0.5. So intervals have zero width and unet is better (green) everywhere.
"""

from __future__ import annotations

import panel as pn
import pytest
from bokeh.document import Document
from fixtures.toycube import make_toy_cube

from meltwater.evaluation.evaluate import evaluate, save_results
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.scorecard import card_html, scorecard_tab


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("MELTWATER_DATA", str(tmp_path))
    return DashboardState(source="toy", store=Store({"toy": make_toy_cube()}), year=2019)


@pytest.fixture
def results(state, tmp_path):
    ds = evaluate(state.cube, ["unet", "mar_interp"], "test", n_boot=50, progress=False)
    save_results(ds.assign_attrs(source="toy"), tmp_path)
    pn.state.clear_caches()
    return ds


def test_card_cells_and_colours(results):
    html = card_html(results["card_month"], "unet", 6, "mar_interp")
    assert "<th>MAE</th><th>Apr</th>" in html
    assert "0.125 [0.125, 0.125]" in html and "0.500 [0.500, 0.500]" in html
    unet_mae = html.split("<th>MAE</th>")[1].split('<tr class="sel"><th>unet</th>')[1]
    assert unet_mae.startswith('<td style="background:transparent">–</td>')  # no April image
    assert 'class="day" style="background:rgba(44,160,44,0.72)">0.125' in unet_mae
    assert "<th>mar_interp (ref.)</th>" in html
    elev = card_html(results["card_elevation"], "mar_interp", None, "mar_interp")
    assert "<th>0-500 m</th>" in elev and 'class="day"' not in elev


def test_names_from_the_file_are_escaped(results):
    card = results["card_month"].assign_coords(model=["<img src=x>", "mar_interp"])
    html = card_html(card, "mar_interp", 6, "mar_interp")
    assert "&lt;img src=x&gt;" in html and "<img" not in html


def test_tab_follows_day_and_model_when_in_view(state, results):
    tab = scorecard_tab(state)
    tab.get_root(Document())
    state.tab = "scorecard"
    before = state.tick_scorecard
    state.model = "mar_interp"
    assert state.tick_scorecard == before + 1
    assert '<tr class="sel"><th>mar_interp (ref.)</th>' in tab[2].object
    state.day = 8  # 1 September
    assert 'class="day" style="background:transparent">0.500' in tab[2].object.split("Sep")[1]
    tab[1].value = "elevation band"
    assert "<th>0-500 m</th>" in tab[2].object


def test_without_results_says_what_to_run(state):
    assert "meltwater evaluate" in scorecard_tab(state).object
