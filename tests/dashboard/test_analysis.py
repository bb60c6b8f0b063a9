"""The analysis tabs' registry agrees with the state's tab list and reaches the page."""

from __future__ import annotations

import panel as pn
from fixtures.toycube import make_toy_cube

from meltwater_dashboard.app import TAB_TITLES, build_app
from meltwater_dashboard.redraw import ANALYSIS_TABS, TABS
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.analysis import ANALYSIS_VIEWS


def test_registry_matches_the_state_and_the_page():
    assert tuple(ANALYSIS_VIEWS) == ANALYSIS_TABS and TABS[-7:] == ANALYSIS_TABS
    assert [TAB_TITLES[t] for t in ANALYSIS_TABS] == [
        "Thresholds",
        "Score card",
        "Onset",
        "Climatology",
        "Conservation",
        "Regions",
        "Uncertainty",
    ]
    state = DashboardState(source="toy", store=Store({"toy": make_toy_cube()}))
    (tabs,) = build_app(state).select(pn.Tabs)
    assert tabs._names[-7:] == [TAB_TITLES[t] for t in ANALYSIS_TABS]
