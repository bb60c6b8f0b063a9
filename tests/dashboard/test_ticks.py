"""A tab's tick watcher follows its source only (a source change rebuilds the tab)."""

from __future__ import annotations

from fixtures.toycube import make_toy_cube

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.ticks import follow


def test_watcher_stops_when_the_source_changes():
    store = Store({"toy": make_toy_cube(), "toy2": make_toy_cube()})
    state = DashboardState(source="toy", store=store, year=2019, tab="thresholds")
    calls: list[str] = []
    follow(state, "tick_thresholds", lambda: calls.append(state.source))
    state.day = 2
    assert calls == ["toy"]
    state.source = "toy2"  # bumps every tick of the tab in view: the old copy stays quiet
    state.day = 3
    assert calls == ["toy"]
