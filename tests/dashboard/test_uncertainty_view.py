"""Uncertainty tab on the toy cube (tests/fixtures/toycube.py) with a hand-set spread.

``pred_unet`` is 0.75 in the top 20 rows, 0 below; SAR (every other day) 1 on top, 0 below;
land is columns 10–59. The stored ``unc_unet`` is 0.25 on top and 0 below on SAR days, so the
day's calibration has two points: spread 0 → |error| 0 (1000 pixels) and spread 0.25 →
|error| 0.25 (1000 pixels).
"""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from fixtures.toycube import NX, NY, OCEAN_COLS, make_toy_cube

from meltwater.errors import MeltwaterError
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.uncertainty import LiveSpread, UncertaintyView, uncertainty_tab

TOP = np.arange(NY)[:, None] < NY // 2


def _cube(stored: bool = True):
    cube = make_toy_cube()
    if stored:
        has_sar = cube["has_sar"].values
        spread = np.full(cube["pred_unet"].shape, np.nan, np.float16)
        spread[has_sar] = np.where(TOP, 0.25, 0.0)
        cube["unc_unet"] = (("time", "y", "x"), spread)
    return cube


class FakeLive:
    """A live spread of 0.1 everywhere, recording its calls."""

    def __init__(self, fail: bool = False):
        self.calls: list[tuple] = []
        self.fail = fail

    def __call__(self, source, date, ablate):
        self.calls.append((source, date, ablate))
        if self.fail:
            raise MeltwaterError("no checkpoint <b>here</b>")
        return np.full((NY, NX), 0.1, np.float32)


def _state(cube) -> DashboardState:
    pn.state.clear_caches()
    return DashboardState(source="toy", store=Store({"toy": cube}), year=2019)


def _image(src) -> np.ndarray:
    return src.data["image"][0][::-1]  # rows north → south


def test_stored_spread_and_the_day_calibration():
    live = FakeLive()
    view = UncertaintyView(_state(_cube()), LiveSpread(live))
    assert live.calls == []  # day 0 is a SAR day with a stored spread
    spread = _image(view.spread_src)
    assert np.isnan(spread[:, :OCEAN_COLS]).all()
    np.testing.assert_allclose(spread[TOP[:, 0], OCEAN_COLS:], 0.25)
    np.testing.assert_allclose(spread[~TOP[:, 0], OCEAN_COLS:], 0.0)
    np.testing.assert_allclose(_image(view.pred_src)[: NY // 2, OCEAN_COLS:], 0.75, atol=1e-3)
    error = _image(view.error_src)
    np.testing.assert_allclose(error[: NY // 2, OCEAN_COLS:], 0.25, atol=1e-3)
    np.testing.assert_allclose(error[NY // 2 :, OCEAN_COLS:], 0.0)
    day = view.day_src.data
    assert list(day["n"]) == [1000, 1000]
    np.testing.assert_allclose(day["x"], [0.0, 0.25])
    np.testing.assert_allclose(day["y"], [0.0, 0.25], atol=1e-3)
    assert "MAE 0.125 over 2000 valid pixels" in view.day_note.object
    assert "spread ≥ 0.20 (1000 pixels): mean |error| 0.250" in view.day_note.object
    assert "stored" in view.spread_map.title.text
    assert "No split curve (no results file)" in view.split_note


def test_live_spread_on_a_day_without_one_and_with_an_ablation():
    live = FakeLive()
    state = _state(_cube(stored=False))
    spreads = LiveSpread(live)
    view = UncertaintyView(state, spreads)
    spreads.get("toy", state.date_str, ()).result(timeout=10)
    view.update()  # what the tab's poll does once the spread is there
    assert "live, 4 TTA members" in view.spread_map.title.text
    np.testing.assert_allclose(_image(view.spread_src)[:, OCEAN_COLS:], 0.1)
    day = view.day_src.data
    assert list(day["n"]) == [2000] and day["y"][0] == pytest.approx(0.125, abs=1e-3)
    view.update()  # cached: not computed again
    assert live.calls == [("toy", state.date_str, ())]
    state.ablate = ["pmw"]  # the stand-in store UNet is not needed: the toy stores no_pmw
    spreads.get("toy", state.date_str, ("pmw",)).result(timeout=10)
    view.update()
    assert live.calls[-1] == ("toy", state.date_str, ("pmw",))
    assert view.pred_map.title.text.startswith("unet_no_pmw")


def test_no_sar_day_no_unet_and_a_failing_live_spread():
    state = _state(_cube())
    state.day = 1  # no SAR scene, no stored spread: live
    live = FakeLive(fail=True)
    spreads = LiveSpread(live)
    view = UncertaintyView(state, spreads)
    with pytest.raises(MeltwaterError):
        spreads.get("toy", state.date_str, ()).result(timeout=10)
    view.update()
    assert view.status.object == ("No spread for 2019-06-02: no checkpoint &lt;b&gt;here&lt;/b&gt;")
    state.day = 0
    view.update()
    assert view.status.object == "" and list(view.day_src.data["n"]) == [1000, 1000]
    state.day = 2  # a SAR day, stored: fine; now a day without SAR
    state.day = 3
    spreads_ok = LiveSpread(FakeLive())
    view = UncertaintyView(state, spreads_ok)
    spreads_ok.get("toy", state.date_str, ()).result(timeout=10)
    view.update()
    assert view.error_map.title.text == "|error|: no SAR scene this day"
    assert list(view.day_src.data["n"]) == []
    no_unet = _state(_cube().drop_vars(["pred_unet", "pred_unet_no_pmw"]))
    view = UncertaintyView(no_unet, LiveSpread(FakeLive()))
    assert "no UNet predictions" in view.status.object


def test_tab_follows_the_day_only_while_shown(monkeypatch):
    state = _state(_cube())
    import meltwater_dashboard.views.uncertainty as U

    monkeypatch.setattr(U, "live_spread", lambda s: LiveSpread(FakeLive()))
    tab = uncertainty_tab(state)
    tab.get_root(Document())
    pred_map = tab[2][0].object
    state.day = 2
    assert pred_map.title.text.endswith("2019-06-01")  # hidden: not redrawn
    state.tab = "uncertainty"
    assert pred_map.title.text.endswith("2019-06-03")
    state.day = 4
    assert pred_map.title.text.endswith("2019-06-05")


def test_scrubbing_queues_at_most_one_live_day():
    import threading

    gate = threading.Event()
    calls = []

    def slow(source, date, ablate):
        calls.append(date)
        gate.wait(10)
        return np.zeros((NY, NX), np.float32)

    spreads = LiveSpread(slow)
    first = spreads.get("toy", "2019-06-02", ())
    while not calls:  # the first day is running
        gate.wait(0.01)
    queued = [spreads.get("toy", f"2019-06-0{d}", ()) for d in (3, 4, 5)]
    assert [f.cancelled() for f in queued] == [True, True, False]  # only the last one waits
    gate.set()
    assert first.result(10).shape == (NY, NX) and queued[-1].result(10) is not None
    assert calls == ["2019-06-02", "2019-06-05"]
    assert spreads.get("toy", "2019-06-05", ()) is queued[-1]  # kept: not computed again


def test_days_scrubbed_past_start_no_live_spread():
    from meltwater_dashboard.views.uncertainty import Superseded, superseded

    live = FakeLive()
    spreads = LiveSpread(live, settle_s=0.3)
    passed = spreads.get("toy", "2019-06-02", ())  # settling when the next day is asked for
    shown = spreads.get("toy", "2019-06-03", ())
    assert shown.result(10).shape == (NY, NX)
    with pytest.raises(Superseded):
        passed.result(10)
    assert superseded(passed) and not superseded(shown)
    assert live.calls == [("toy", "2019-06-03", ())]  # the day passed was never computed
    again = spreads.get("toy", "2019-06-02", ())  # back on it: computed now
    assert again is not passed and again.result(10) is not None
    assert live.calls[-1] == ("toy", "2019-06-02", ())
