"""Shareable URL state: source, date, model(s), ablations and tab in the query string.

The URL is untrusted input: every value is checked against the lists the cube offers before it
touches the state; anything else is dropped with a notification. No URL value ever names a file.
"""

from __future__ import annotations

import pandas as pd
import param
from meltwater_dashboard.state import CHANNELS, TABS, DashboardState

__all__ = ["FIELDS", "UrlState", "apply_url", "link_url"]

FIELDS = ("source", "date", "model", "compare", "ablate", "tab")


class UrlState(param.Parameterized):
    """The query-string mirror of `DashboardState` (strings only, validated on the way in)."""

    source = param.String(default="")
    date = param.String(default="")
    model = param.String(default="")
    compare = param.String(default="")
    ablate = param.String(default="")
    tab = param.String(default="")


def _state_values(state: DashboardState) -> dict[str, str]:
    return {
        "source": state.source,
        "date": state.date_str,
        "model": state.model,
        "compare": state.model_b if state.compare else "",
        "ablate": ",".join(state.ablation),
        "tab": state.tab,
    }


def apply_url(state: DashboardState, values: dict[str, str]) -> list[str]:
    """Apply query values to ``state``; return (and notify) the rejected ones."""
    rejected = []
    source = values.get("source") or ""
    if source and source != state.source:
        if source in state.param.source.objects:
            state.source = source
        else:
            rejected.append(f"source {source!r}")
    date = values.get("date") or ""
    if date:
        times = state.times
        try:
            t = pd.Timestamp(date)
        except (ValueError, TypeError):
            t = None
        if t is not None and t in times:
            state.jump_to(t)
        else:
            rejected.append(f"date {date!r}")
    for key, attr in (("model", "model"), ("compare", "model_b")):
        name = values.get(key) or ""
        if not name:
            continue
        if name in state.models:
            setattr(state, attr, name)
            if key == "compare":
                state.compare = True
        else:
            rejected.append(f"{key} {name!r}")
    tab = values.get("tab") or ""
    if tab and tab != state.tab:
        if tab in TABS:
            state.tab = tab
        else:
            rejected.append(f"tab {tab!r}")
    ablate = [c for c in (values.get("ablate") or "").split(",") if c]
    bad = [c for c in ablate if c not in CHANNELS]
    if bad:
        rejected.append(f"ablate {','.join(bad)!r}")
    good = [c for c in CHANNELS if c in ablate]
    if good != list(state.ablation) and (good or "ablate" in values):
        state.ablate = good
    if rejected:
        state.notify("ignored invalid link values: " + "; ".join(rejected))
    return rejected


def link_url(state: DashboardState, url: UrlState) -> None:
    """Keep ``url`` and ``state`` in step both ways (``url`` is what the location syncs).

    Values already in ``url`` (the query string of the page being opened) are applied first.
    """
    pushing = []

    def push(*_) -> None:
        pushing.append(True)
        try:
            url.param.update(**_state_values(state))
        finally:
            pushing.pop()

    def to_state(*events) -> None:
        if not pushing:
            apply_url(state, {e.name: e.new for e in events})
            push()

    initial = {k: getattr(url, k) for k in FIELDS if getattr(url, k)}
    if initial:
        apply_url(state, initial)
    url.param.watch(to_state, list(FIELDS))
    state.param.watch(
        push, ["source", "day", "year", "model", "model_b", "compare", "ablate", "tab"]
    )
    push()
