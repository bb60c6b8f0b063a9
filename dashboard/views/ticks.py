"""Views that redraw on a state tick, for as long as their source is shown."""

from __future__ import annotations

from collections.abc import Callable

from meltwater_dashboard.state import DashboardState

__all__ = ["follow"]


def follow(state: DashboardState, tick: str, redraw: Callable[[], None]) -> None:
    """Call ``redraw`` on every bump of ``state``'s ``tick`` while the source stays the same.

    A source change rebuilds the tab (``app.py``), so the old copy's watcher removes itself
    instead of redrawing figures that are no longer on the page.
    """
    source = state.source

    def call(_event) -> None:
        if state.source != source:
            state.param.unwatch(watcher)
            return
        redraw()

    watcher = state.param.watch(call, tick)
