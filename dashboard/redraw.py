"""The dashboard's tabs and redraw ticks: a change redraws the views on the tab in view only.

Views that follow the day, model or ablation redraw through tick counters (``tick_<view>``): a
change bumps only the ticks of views on the tab in view and marks the others stale, so hidden
views cost nothing while the player runs and catch up when their tab opens. While the player
runs, only the prediction maps follow each frame; the other maps of the Maps tab (SAR, error,
difference) catch up on pause and name the day they show (``maps_date``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import param

__all__ = ["ANALYSIS_TABS", "TABS", "Redraws"]

ANALYSIS_TABS = (
    "thresholds",
    "scorecard",
    "onset",
    "climatology",
    "conservation",
    "regions",
    "uncertainty",
)  # issue 17, one view each
TABS = ("maps", "inputs", "curves", "errors", *ANALYSIS_TABS)
# views redrawn through a tick (``tick_<view>``; "maps" has two), by the tab they are on
_VIEW_TAB = {
    "maps": "maps",
    "inputs": "inputs",
    "curves": "curves",
    "errors": "errors",
    "series": "errors",
    **{t: t for t in ANALYSIS_TABS},
}


class Redraws(param.Parameterized):
    """The tab shown and the redraw ticks of `DashboardState` (one of its base classes)."""

    if TYPE_CHECKING:  # a property of the state

        @property
        def date_str(self) -> str: ...

    tab: param.Selector[str] = param.Selector(default="maps", objects=list(TABS))
    playing = param.Boolean(default=False, doc="the day player is running")
    maps_date = param.String(default="", doc="day shown by the SAR, error and difference maps")
    tick_pred = param.Integer(default=0, doc="redraw the prediction maps")
    tick_maps = param.Integer(default=0, doc="redraw the other maps of the Maps tab")
    tick_inputs = param.Integer(default=0)
    tick_curves = param.Integer(default=0, doc="redraw the day's metrics table")
    tick_errors = param.Integer(default=0, doc="redraw the per-pixel error maps")
    tick_series = param.Integer(default=0, doc="redraw the tapped pixel's series")
    tick_thresholds = param.Integer(default=0, doc="redraw the day's threshold curves")
    tick_scorecard = param.Integer(default=0, doc="mark the day's month and model on the card")
    tick_onset = param.Integer(default=0, doc="follow the season and model on the onset tab")
    tick_climatology = param.Integer(default=0, doc="follow season, day, model (climatology)")
    tick_conservation = param.Integer(default=0, doc="follow day and model (conservation)")
    tick_regions = param.Integer(default=0, doc="follow day and model (regions)")
    tick_uncertainty = param.Integer(default=0, doc="follow day and ablation (uncertainty)")

    def __init__(self, **params: Any) -> None:
        self._stale: set[str] = set()
        super().__init__(**params)

    @param.depends("tab", watch=True)
    def _on_tab(self) -> None:
        for view in [v for v in self._stale if _VIEW_TAB.get(v) == self.tab]:
            self._stale.discard(view)
            self._bump(view)

    @param.depends("playing", watch=True)
    def _on_playing(self) -> None:
        if not self.playing and "maps_rest" in self._stale:
            self._stale.discard("maps_rest")
            self._bump_maps()

    def _bump(self, view: str) -> None:
        if view != "maps":
            name = f"tick_{view}"
            setattr(self, name, getattr(self, name) + 1)
            return
        self.tick_pred += 1
        if self.playing:  # the other maps wait for the pause
            self._stale.add("maps_rest")
        else:
            self._bump_maps()

    def _bump_maps(self) -> None:
        self.maps_date = self.date_str
        self.tick_maps += 1

    def _refresh(self, views: tuple[str, ...] = tuple(_VIEW_TAB)) -> None:
        for view in views:
            if _VIEW_TAB[view] == self.tab:
                self._bump(view)
            else:
                self._stale.add(view)
