"""A season whose predictions are not all computed yet: say so, with the progress, and follow it.

``make serve`` opens the page once the opening season is precomputed and fills the other
seasons in the background (``make rest``). `pending_text` tells how far that is, from the
cube's per-day records (`Store.done`, re-read from the store when they change); the state's
`FollowsPrecompute` base keeps it in ``pending`` (shown above every tab, and once per season as
a notice)
and, while a season is pending, looks again every `PENDING_POLL_MS`, redrawing the views once
the shown day or the whole season has been written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import panel as pn
import param

from meltwater.schema import pred_var

if TYPE_CHECKING:
    from meltwater_dashboard.store import Store

__all__ = ["PENDING_POLL_MS", "FollowsPrecompute", "count", "pending_text"]

PENDING_POLL_MS = 5000  # how often a session looks at the records while a season is pending


def count(n: int) -> str:
    """``n`` with thousands apart by a no-break space, as the docs write them (``1 281``)."""
    return f"{n:,}".replace(",", "\u00a0")


def pending_text(
    store: Store, source: str, models: list[str], year: int, date: str, day_ok: bool
) -> str:
    """What is missing of season ``year`` for ``models`` and how far the precompute is; ``""``
    when every day of the season is there.

    Args:
        store: the process's store.
        source: the cube's source.
        models: the models whose ``pred_*`` variables must hold a day.
        year: the season shown.
        date: the day shown (``YYYY-MM-DD``).
        day_ok: whether every model holds ``date`` (`Store.is_done`).
    """
    times = store.times(source)
    done = np.ones(len(times), bool)
    for m in models:
        done &= store.done(source, pred_var(m))
    season = np.asarray(times.year == year)
    if done[season].all():
        return ""
    have, days = int(done[season].sum()), int(season.sum())
    overall = f"{count(int(done.sum()))} of {count(len(times))} days of every season"
    shown = "" if day_ok else f" (not yet {date}, the day shown)"
    if store.remote(source):
        return (
            f"Predictions for {year} are not all in the cube at {store.cube_location(source)}: "
            f"{have} of {days} days of the season{shown}, {overall}. This server reads that cube "
            "read-only and computes nothing; run `meltwater precompute --source "
            f"{source} --years {year}` where the cube is written."
        )
    if store.writer_active(source):
        return (
            f"Predictions for {year} are still being computed in the background: {have} of "
            f"{days} days of the season done{shown}, {overall}; the season appears as its "
            "days are written."
        )
    return (
        f"Predictions for {year} are not computed: {have} of {days} days of the season"
        f"{shown}, {overall}. Run `make rest`, or `meltwater precompute --source {source} "
        f"--years {year}`, to compute them."
    )


class FollowsPrecompute(param.Parameterized):
    """The pending predictions of `DashboardState` (one of its base classes)."""

    if TYPE_CHECKING:  # parameters and methods of the state
        store: Store
        source: str
        year: int

        @property
        def date_str(self) -> str: ...
        @property
        def models(self) -> list[str]: ...
        def notify(self, msg: str, level: str = "warning") -> None: ...
        def _refresh(self, views: tuple[str, ...] = ...) -> None: ...

    pending = param.String(default="", doc="what the season shown still lacks (empty: nothing)")

    _pending_timer: Any = None
    _pending_seen: tuple = ()  # (source, year) of the last notice
    _pending_state: tuple = ()  # (source, year, date, pending?, day done?) of the last check

    def check_pending(self, refresh: bool = False) -> None:
        """Read the records again and update ``pending``; notify once per season;
        with ``refresh``, redraw the views when the shown day or the whole season was written
        since the last check. While something is pending, check every `PENDING_POLL_MS`."""
        models, date = self.models, self.date_str
        day_ok = all(self.store.is_done(self.source, pred_var(m), date) for m in models)
        text = pending_text(self.store, self.source, models, int(self.year), date, day_ok)
        where = (self.source, int(self.year), date)
        before, self._pending_state = self._pending_state, (*where, bool(text), day_ok)
        self.pending = text
        if text and self._pending_seen != where[:2]:  # a toast once per season, not per day
            self._pending_seen = where[:2]
            self.notify(text, "info")
        if refresh and before[:3] == where and before[3]:  # something was pending here
            if (day_ok and not before[4]) or not text:
                self._refresh()
        self._poll(bool(text))

    def _poll(self, on: bool) -> None:
        if on and self._pending_timer is None and pn.state.curdoc is not None:
            self._pending_timer = pn.state.add_periodic_callback(
                lambda: self.check_pending(refresh=True), period=PENDING_POLL_MS
            )
        elif not on and self._pending_timer is not None:
            self._pending_timer.stop()
            self._pending_timer = None
