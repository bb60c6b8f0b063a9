"""Shareable URL state: source, date, model(s), ablations, tab, region, melt threshold, tour
step and the swipe comparison (``swipe=<left>,<right>``, ``swipe_at=<0–100>``) in the query
string.

The URL is untrusted input. The query string is read raw (`urllib.parse`), never through
Panel's location sync, which turns ``123``, ``true`` or ``[…]`` into numbers, booleans or JSON
before any check (such values were dropped without a notice, and 4 301 digits broke the page).
Every value is checked against the lists the cube offers before it touches the state; anything
else is dropped with a notice that shows it as escaped text. No URL value ever names a file.

The browser's address is written by `BrowserUrl` with ``history.replaceState``: a day step (or
any other change) adds no history entry, so Back leaves the page instead of stepping through
states the view would have to follow. Panel's `Location` (which pushes) is only read.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import numpy as np
import pandas as pd
import panel as pn
import param
from panel.custom import JSComponent

from meltwater.evaluation.metrics import BINARY_THRESHOLD
from meltwater.evaluation.thresholds import THRESHOLDS
from meltwater_dashboard.escape import shorten
from meltwater_dashboard.redraw import TABS
from meltwater_dashboard.state import CHANNELS, DashboardState
from meltwater_dashboard.tour import TOUR, step_values
from meltwater_dashboard.views.regions import parse_region

__all__ = [
    "FIELDS",
    "BrowserUrl",
    "apply_url",
    "keep_query_raw",
    "link_url",
    "parse_query",
    "parse_threshold",
    "query_string",
]

FIELDS = (
    "source",
    "date",
    "model",
    "compare",
    "ablate",
    "tab",
    "region",
    "threshold",
    "tour",
    "swipe",
    "swipe_at",
)


def parse_query(search: str) -> dict[str, str]:
    """The raw string values of a query string (``?a=1&b=x``); the last of a repeated key."""
    return dict(parse_qsl(search.lstrip("?"), keep_blank_values=True))


def keep_query_raw() -> None:
    """Make Panel's `Location` read query values as raw strings (idempotent).

    Panel 1.x parses the query of every page it serves (numbers, booleans, JSON) as soon as the
    page's location is made, and ``int()`` of 4 301 or more digits raises there: the page came
    out blank. This app reads links itself (`parse_query`), so Panel gets the raw strings too.
    """
    import panel.io.location as location

    location.parse_query = parse_query  # type: ignore[assignment]


def query_string(state: DashboardState) -> str:
    """The query string (with ``?``) that reproduces ``state``'s view."""
    return "?" + urlencode({k: v for k, v in _state_values(state).items() if v})


def _state_values(state: DashboardState) -> dict[str, str]:
    return {
        "source": state.source,
        "date": state.date_str,
        "model": state.model,
        "compare": state.model_b if state.compare else "",
        "ablate": ",".join(state.ablation),
        "tab": state.tab,
        "region": state.region,
        "threshold": "" if state.threshold == BINARY_THRESHOLD else f"{state.threshold:.2f}",
        "tour": str(state.tour) if state.tour else "",
        "swipe": f"{sw.left},{sw.right}" if (sw := state.swipe).on else "",
        "swipe_at": str(sw.at) if sw.on and sw.at != sw.param.at.default else "",
    }


def apply_url(state: DashboardState, values: dict[str, str], notify: bool = True) -> list[str]:
    """Apply query values to ``state``; return (and, with ``notify``, notify) the rejected ones.

    Unknown parameter names are rejected too; every value is handled as a string.
    """
    rejected = [f"parameter {shorten(k)!r}" for k in values if k not in FIELDS]
    values = {k: str(v) for k, v in values.items() if k in FIELDS}
    if values.get("tour"):
        values = _with_tour_step(state, values, rejected)
    source = values.get("source") or ""
    if source and source != state.source:
        if source in state.param.source.objects:
            state.source = source
        else:
            rejected.append(f"source {shorten(source)!r}")
    date = values.get("date") or ""
    if date:
        times = state.times
        try:
            t = pd.Timestamp(date) if len(date) <= 40 else None
        except (ValueError, TypeError, OverflowError):
            t = None
        if t is not None and t in times:
            state.jump_to(t)
        else:
            rejected.append(f"date {shorten(date)!r}")
    for key, attr in (("model", "model"), ("compare", "model_b")):
        name = values.get(key) or ""
        if not name:
            continue
        # the second model's choices leave out the first (a model is not compared with itself)
        if name in (state.models if key == "model" else state.param.model_b.objects):
            setattr(state, attr, name)
            if key == "compare":
                state.compare = True
        else:
            rejected.append(f"{key} {shorten(name)!r}")
    tab = values.get("tab") or ""
    if tab and tab != state.tab:
        if tab in TABS:
            state.tab = tab
        else:
            rejected.append(f"tab {shorten(tab)!r}")
    region = values.get("region") or ""
    if region:
        good_region = parse_region(state, region)
        if good_region is None:
            rejected.append(f"region {shorten(region)!r}")
        else:
            state.region = good_region
    threshold = values.get("threshold") or ""
    if threshold:
        t = parse_threshold(threshold)
        if t is None:
            rejected.append(f"threshold {shorten(threshold)!r}")
        else:
            state.threshold = t
    ablate = [c for c in (values.get("ablate") or "").split(",") if c]
    bad = [c for c in ablate if c not in CHANNELS]
    if bad:
        rejected.append(f"ablate {shorten(','.join(bad))!r}")
    good = [c for c in CHANNELS if c in ablate]
    if good != list(state.ablation) and (good or "ablate" in values):
        state.ablate = good
    _apply_swipe(state, values, rejected)
    if rejected and notify:
        state.notify(notice(rejected))
    return rejected


def parse_threshold(text: str) -> float | None:
    """A melt threshold of the Thresholds tab's grid (0.05, 0.10, …, 0.90) written as a
    decimal number (``0.35``, ``.35``); None for anything else (no exponent, NaN or inf)."""
    if not 0 < len(text) <= 6 or not all(c.isdigit() or c == "." for c in text):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    match = np.flatnonzero(np.isclose(THRESHOLDS, value, rtol=0, atol=1e-9))
    return float(THRESHOLDS[match[0]]) if match.size else None


def _apply_swipe(state: DashboardState, values: dict[str, str], rejected: list[str]) -> None:
    """``swipe=<left>,<right>`` (two distinct layers the cube offers) turns the swipe frame on;
    ``swipe_at`` is the divider's position, a whole percent 0–100."""
    sw = state.swipe
    swipe = values.get("swipe") or ""
    if swipe:
        pair = swipe.split(",")
        if len(pair) == 2 and pair[0] != pair[1] and all(p in sw.layers for p in pair):
            sw.param.update(left=pair[0], right=pair[1], on=True)
        else:
            rejected.append(f"swipe {shorten(swipe)!r}")
    at = values.get("swipe_at") or ""
    if at:
        if at.isdigit() and len(at) <= 3 and int(at) <= 100:
            sw.at = int(at)
        else:
            rejected.append(f"swipe_at {shorten(at)!r}")


def _with_tour_step(
    state: DashboardState, values: dict[str, str], rejected: list[str]
) -> dict[str, str]:
    """``values`` over the values of their tour step (a step sets every field it does not name
    to its default: no ablation, no compare); an invalid step is added to ``rejected``."""
    tour = values.pop("tour")
    if not (tour.isdigit() and len(tour) <= 3 and 1 <= int(tour) <= len(TOUR)):
        rejected.append(f"tour {shorten(tour)!r}")
        return values
    merged = {"ablate": "", **step_values(state, int(tour)), **values}
    if "compare" not in merged:
        state.compare = False
    state.tour = int(tour)
    return merged


def notice(rejected: list[str]) -> str:
    """The user's notice of rejected link values (plain text; `DashboardState.notify` escapes)."""
    return "ignored invalid link values: " + "; ".join(rejected)


class BrowserUrl(JSComponent):
    """The page's query string: replaced in the address bar (no history entry) when ``search``
    is set here; set here when the browser changes it (Back/Forward within the page)."""

    search = param.String(default="", doc="query string with its '?'")

    _esm = """
    export function render({ model }) {
      const write = () => {
        if (model.search && window.location.search !== model.search) {
          const url = window.location.pathname + model.search + window.location.hash
          window.history.replaceState(window.history.state, "", url)
        }
      }
      const pop = () => { model.search = window.location.search }
      model.on("search", write)
      model.on("remove", () => window.removeEventListener("popstate", pop))
      window.addEventListener("popstate", pop)
      write()
      return document.createElement("span")
    }
    """


def link_url(state: DashboardState, search: str) -> BrowserUrl:
    """Apply the opened page's query string ``search`` to ``state``; return the component
    (to be placed in the page) that keeps the address bar and ``state`` in step both ways."""
    if search.strip("?"):  # noticed once the page is shown (toasts need the page)
        rejected = apply_url(state, parse_query(search), notify=False)
        if rejected:
            state.message = notice(rejected)
            pn.state.onload(lambda: state.notify(notice(rejected)))
    bar = BrowserUrl(search=query_string(state), width=0, height=0, margin=0)

    def push(*_) -> None:
        bar.search = query_string(state)

    def pull(event) -> None:
        if event.new != query_string(state):  # the browser's change, not ours
            apply_url(state, parse_query(event.new))
            push()

    bar.param.watch(pull, "search")
    state.param.watch(
        push,
        [
            "source",
            "day",
            "year",
            "model",
            "model_b",
            "compare",
            "ablate",
            "tab",
            "region",
            "threshold",
            "tour",
        ],
    )
    state.swipe.param.watch(push, ["on", "left", "right", "at"])
    return bar
