"""The guided tour (`dashboard.tour`, `views.tour`): each step's link sets its view."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from meltwater.errors import InvalidArgumentError
from meltwater_dashboard.tour import INPUTS_HELP, TOUR, step_values, tour_day
from meltwater_dashboard.url import apply_url, parse_query, query_string
from meltwater_dashboard.views.tour import go_to_step, inputs_help, tour_panel

GUIDE = Path(__file__).parents[2] / "docs" / "teachers_guide.md"
EXPECTED = {  # step: (tab, model, compared model or None, switched-off inputs)
    1: ("inputs", "unet", None, ()),
    2: ("maps", "mar_interp", "unet", ()),
    3: ("maps", "unet", None, ("dem",)),
    4: ("curves", "mar_interp", "unet", ()),
}


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_each_step_sets_its_view_in_any_order(state):
    day = tour_day(state)
    assert day in state.store.sar_days("toy") and day.year == 2020
    for n in (4, 3, 1, 2, 3, 1):
        assert apply_url(state, {"tour": str(n)}) == []
        tab, model, other, off = EXPECTED[n]
        assert (state.tour, state.tab, state.model, state.date) == (n, tab, model, day)
        assert state.compare == (other is not None) and state.ablation == off
        if other:
            assert state.model_b == other


def test_the_tour_season_has_june_and_september_scenes(state, monkeypatch):
    sar = state.store.sar_days("toy")
    assert {d.month for d in sar if d.year == 2020} >= {6, 9}
    no_late_2020 = [d for d in sar if not (d.year == 2020 and d.month == 9)]
    monkeypatch.setattr(state.store, "sar_days", lambda source: no_late_2020)
    day = tour_day(state)
    assert day.year == 2019 and day in no_late_2020 and day >= pd.Timestamp(2019, 6, 15)


def test_a_step_is_a_shareable_link(state, store):
    go_to_step(state, 2)
    query = query_string(state)
    assert "tour=2" in query and "tab=maps" in query
    again = type(state)(source="toy", store=store)
    assert apply_url(again, parse_query(query)) == []
    assert query_string(again) == query
    go_to_step(state, 0)
    assert state.tour == 0 and "tour" not in query_string(state) and state.tab == "maps"


def test_link_values_beside_the_step_win_and_bad_steps_are_noticed(state):
    assert apply_url(state, {"tour": "1", "tab": "curves"}) == []
    assert (state.tour, state.tab) == (1, "curves")
    for bad in ("9", "0", "two", "<b>x</b>", "1" * 5000):
        state.tour = 0
        rejected = apply_url(state, {"tour": bad})
        assert len(rejected) == 1 and rejected[0].startswith("tour ") and state.tour == 0
    assert "&lt;b&gt;" not in state.message and len(state.message) < 300
    with pytest.raises(InvalidArgumentError, match="tour step"):
        step_values(state, 5)


def test_panel_walks_the_steps(state):
    panel = tour_panel(state)
    start, controls, text = panel.objects
    back, nxt, end = controls.objects
    assert start.visible and not controls.visible
    start.clicks += 1
    assert state.tour == 1 and controls.visible and back.disabled
    for n in range(2, len(TOUR) + 1):
        nxt.clicks += 1
        assert state.tour == n
    assert nxt.disabled and TOUR[-1].title in text.object
    back.clicks += 1
    assert state.tour == len(TOUR) - 1
    end.clicks += 1
    assert state.tour == 0 and start.visible
    assert inputs_help().collapsed


def test_the_teachers_guide_has_every_step_and_the_inputs_help():
    guide = _flat(GUIDE.read_text(encoding="utf-8"))
    for n, step in enumerate(TOUR, 1):
        assert f"{n}. **{step.title}** — {_flat(step.text)}" in guide
    assert _flat(INPUTS_HELP) in guide
    for word in ("PMW", "MAR", "SAR-interp", "DEM", "Melt fraction"):
        assert f"**{word}**" in INPUTS_HELP
