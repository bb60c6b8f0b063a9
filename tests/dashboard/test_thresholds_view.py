"""Threshold explorer on the hand-set toy cube (tests/fixtures/toycube.py).

On a SAR day SAR is 1 in the top half of the land, 0 below; unet is 0.75 / 0, mar_interp 1.
Below 0.75 unet is perfect; from 0.75 on it predicts no melt (accuracy 0.5, recall 0, CSI 0).
mar_interp marks all land as melt at every threshold: accuracy and precision 0.5, recall 1, CSI
0.5.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import Span
from fixtures.toycube import make_toy_cube

from meltwater.evaluation.evaluate import evaluate, save_results
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.thresholds import (
    DayScores,
    split_curves,
    threshold_table,
    thresholds_tab,
)


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("MELTWATER_DATA", str(tmp_path))
    cube = make_toy_cube()
    return DashboardState(source="toy", store=Store({"toy": cube}), year=2019)


def _results(state, tmp_path):
    ds = evaluate(state.cube, ["unet", "mar_interp"], "test", progress=False)
    save_results(ds.assign_attrs(source="toy"), tmp_path)


def test_day_scores_by_hand(state):
    day = DayScores(state)()
    unet, mar = day.sel(model="unet"), day.sel(model="mar_interp")
    below, above = unet.sel(threshold=0.7), unet.sel(threshold=0.75)
    assert list(below.values) == [1.0, 1.0, 1.0, 1.0]
    assert above.sel(score="accuracy") == 0.5 and np.isnan(above.sel(score="precision"))
    assert (above.sel(score="recall"), above.sel(score="csi")) == (0.0, 0.0)
    assert np.allclose(mar.sel(score="accuracy"), 0.5) and np.allclose(mar.sel(score="csi"), 0.5)
    state.day = 1  # no SAR scene
    assert DayScores(state)() is None


def test_table_at_the_slider_threshold(state, tmp_path):
    _results(state, tmp_path)
    split, note = split_curves(state)
    assert "12 images of the test split" in note  # SAR days of both toy seasons
    table = threshold_table(DayScores(state)(), split, 0.8)
    assert table.loc["unet", ("day", "Accuracy")] == 0.5
    assert table.loc["unet", ("split", "CSI")] == 0.0
    assert table.loc["mar_interp", ("day", "Recall")] == 1.0
    assert table.loc["unet", ("day", "CSI")] == 0.0
    assert threshold_table(DayScores(state)(), split, 0.1).loc["unet", ("split", "CSI")] == 1.0
    assert list(threshold_table(None, None, 0.1).columns) == []


def test_without_results_the_tab_says_what_to_run(state):
    split, note = split_curves(state)
    assert split is None and "meltwater evaluate" in note


def test_tab_renders_and_follows_day_only_in_view(state, tmp_path):
    _results(state, tmp_path)
    pn.state.clear_caches()
    tab = thresholds_tab(state)
    tab.get_root(Document())
    before = state.tick_thresholds
    state.day = 2  # hidden: nothing is recomputed
    assert state.tick_thresholds == before
    state.tab = "thresholds"
    assert state.tick_thresholds == before + 1
    state.model = "mar_interp"
    assert state.tick_thresholds == before + 2
    assert "Scores of 2019-06-03 at threshold 0.10" in tab[2].object
    fig = tab[4][0].object  # accuracy: the day's lines follow the day and the model
    lines = {
        r.data_source.data["model"][0]: r for r in fig.renderers if "model" in r.data_source.data
    }
    assert lines["unet"].data_source.data["value"][-1] == 0.5
    assert (lines["mar_interp"].glyph.line_width, lines["unet"].glyph.line_width) == (3.0, 1.5)
    tab[1].value = 0.3
    assert {s.location for s in fig.center if isinstance(s, Span)} == {0.1, 0.3}
    assert tab[3].object.loc["unet", ("day", "Accuracy")] == 1.0
    state.day = 3
    assert "no SAR scene" in tab[2].object
    assert np.isnan(lines["unet"].data_source.data["value"]).all()


def test_every_model_keeps_one_colour_and_split_only_models_are_in_the_legend(state, tmp_path):
    from bokeh.models import Legend

    from meltwater_dashboard.views.curves import MODEL_ORDER, model_color
    from meltwater_dashboard.views.thresholds import ThresholdPlots

    assert len(MODEL_ORDER) == 10 and len({model_color(m) for m in MODEL_ORDER}) == 10
    assert model_color("not_a_model") == "grey"
    ds = evaluate(state.cube, ["unet", "mar_interp"], "test", progress=False)
    # an ablation scored over the split only: the cube holds no pred_unet_no_dem
    ds = ds.assign_coords(model=["unet", "unet_no_dem"]).assign_attrs(source="toy")
    save_results(ds, tmp_path)
    split, _ = split_curves(state)
    plots = ThresholdPlots(state, DayScores(state), split)
    legend = next(x for x in plots.figures["csi"].right if isinstance(x, Legend))
    assert [item.label.value for item in legend.items] == [
        "unet",
        "mar_interp",
        "unet_no_dem (split)",
    ]
    dashed = plots.split_lines["csi", "unet_no_dem"].glyph
    assert dashed.line_dash == [6] and dashed.line_color == model_color("unet_no_dem")
    assert plots.lines["csi", "mar_interp"].glyph.line_color == model_color("mar_interp")
