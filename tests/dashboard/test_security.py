"""Hostile links and broken models on the served page: shown as text, never as markup (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.toycube import make_toy_cube

from meltwater.errors import CheckpointError
from meltwater_dashboard.escape import html_text, markdown_text, shorten
from meltwater_dashboard.state import NOTICE_BURST, DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.url import apply_url, parse_query, query_string
from meltwater_dashboard.views.ablation import ablation_panel

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def state():
    return DashboardState(source="toy", store=Store({"toy": make_toy_cube()}), year=2019)


def test_escaping_rules():
    assert html_text(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;"
    assert html_text('"a" & b') == "&quot;a&quot; &amp; b"
    md = markdown_text("[x](javascript:alert(1)) **b** <i>")
    assert "<" not in md and "\\[x\\]\\(javascript" in md and "\\*\\*b\\*\\*" in md
    long = shorten("9" * 5000)
    assert len(long) < 200 and long.endswith("(5000 characters)")


def test_query_values_arrive_as_raw_strings():
    q = parse_query("?date=20190601&model=123&compare=true&ablate=[1]&tab=%3Cb%3E&x=1&x=2")
    assert q == {
        "date": "20190601",
        "model": "123",
        "compare": "true",
        "ablate": "[1]",
        "tab": "<b>",
        "x": "2",
    }


@pytest.mark.parametrize(
    "values, shown",
    [
        ({"model": HOSTILE}, f"model '{HOSTILE}'"),
        ({"date": "123"}, "date '123'"),
        ({"model": "123"}, "model '123'"),
        ({"compare": "true"}, "compare 'true'"),
        ({"ablate": '{"a": 1}'}, """ablate '{"a": 1}'"""),
        ({"tab": "[1, 2]"}, "tab '[1, 2]'"),
        ({"date": "1" * 5000}, "(5000 characters)"),
        ({"source": "javascript:alert(1)"}, "source 'javascript:alert(1)'"),
        ({"<script>": "1"}, "parameter '<script>'"),
    ],
    ids=["html", "number-date", "number", "boolean", "json", "list", "4301+digits", "js", "key"],
)
def test_every_rejected_link_value_is_noticed_as_escaped_text(state, toasts, values, shown):
    before = (state.source, state.date, state.model, state.compare, state.tab, state.ablation)
    assert len(apply_url(state, values)) == 1
    assert (state.source, state.date, state.model, state.compare, state.tab, state.ablation) == (
        before
    )
    (toast,) = toasts.shown
    assert html_text(shown) in toast and "<" not in toast


def test_compact_dates_are_read_as_dates(state, toasts):
    assert apply_url(state, {"date": "20190602"}) == [] and toasts.shown == []
    assert state.date_str == "2019-06-02"


def test_notices_are_deduplicated_and_rate_limited(state, toasts):
    for _ in range(50):
        state.notify("same")
    assert toasts.shown == ["same"]
    for i in range(20):
        state.notify(f"other {i}")
    assert len(toasts.shown) == NOTICE_BURST


def test_query_string_round_trips_the_view(state):
    state.param.update(model="mar_interp", tab="curves", ablate=["dem"])
    other = DashboardState(source="toy", store=state.store, year=2019)
    assert apply_url(other, parse_query(query_string(state))) == []
    assert (other.date, other.model, other.tab, other.ablation) == (
        state.date,
        "mar_interp",
        "curves",
        ("dem",),
    )


def test_broken_checkpoint_disables_the_switches_once(toasts):
    calls = []

    def broken(cube, date, ablate):
        calls.append(ablate)
        raise CheckpointError("checkpoint models/unet_demo: weights SHA-256 mismatch")

    state = DashboardState(source="toy", store=Store({"toy": make_toy_cube()}, broken), year=2019)
    panel = ablation_panel(state)
    toggles, hint = panel[1], panel[3]
    toggles.value = [c for c in toggles.value if c != "dem"]  # a click on "DEM"
    assert state.ablate == [] and toggles.value == list(toggles.options.values())
    assert toggles.disabled and "weights SHA" in hint.object
    assert "All inputs on" not in hint.object
    for _ in range(5):  # further clicks do nothing: no model run, no new toast
        toggles.value = []
    assert calls == [("dem",)] and len(toasts.shown) == 1


def test_a_damaged_day_is_a_notice_and_no_data_not_a_dead_page(state, toasts, monkeypatch):
    """Issue 14.4: a chunk that cannot be decoded names variable, day and store in the page."""
    from meltwater.errors import CorruptDataError

    bad_day = state.days[3].strftime("%Y-%m-%d")
    read = state.store.frame

    def frame(source, var, date):
        if var == "sar" and date == bad_day:
            raise CorruptDataError(
                f"sar of {bad_day} in store /data/toy.zarr cannot be decoded", path="/data/toy.zarr"
            )
        return read(source, var, date)

    monkeypatch.setattr(state.store, "frame", frame)
    state.day = 3
    sar = state.layer("sar")
    assert sar.shape == state.store.frame("toy", "dem", "").shape and np.isnan(sar).all()
    assert np.isnan(state.error()).all()  # no SAR that day: no error map
    assert state.prediction().shape == sar.shape  # the other maps still show
    assert toasts.shown and f"sar of {bad_day}" in toasts.shown[-1]
    assert "/data/toy.zarr" in toasts.shown[-1]
    state.day = 4
    assert np.isfinite(state.layer("pmw")).any()


@pytest.mark.parametrize(
    "value",
    [HOSTILE, "0.33", "0.95", "0", "1e-1", "nan", "inf", "-0.35", "0.350001", "1" * 5000, "0x1"],
)
def test_hostile_thresholds_are_rejected_as_escaped_text(state, toasts, value):
    assert apply_url(state, {"threshold": value}) == [f"threshold {shorten(value)!r}"]
    assert state.threshold == 0.1
    (toast,) = toasts.shown
    assert toast.startswith("ignored invalid link values: threshold &#x27;") and "<" not in toast
    assert html_text(value[:40]) in toast


def test_threshold_in_the_link_and_the_slider():
    from bokeh.document import Document

    from meltwater_dashboard.views.thresholds import thresholds_tab

    state = DashboardState(source="toy", store=Store({"toy": make_toy_cube()}), year=2019)
    assert "threshold" not in query_string(state)  # the default 0.1 is not written
    assert apply_url(state, {"threshold": ".35"}) == [] and state.threshold == 0.35
    assert "threshold=0.35" in query_string(state)
    other = DashboardState(source="toy", store=state.store, year=2019)
    assert apply_url(other, parse_query(query_string(state))) == [] and other.threshold == 0.35
    tab = thresholds_tab(state)
    tab.get_root(Document())
    slider = tab[1]
    assert slider.value == 0.35
    slider.value = 0.6
    assert state.threshold == 0.6
    state.threshold = 0.2
    assert slider.value == 0.2
