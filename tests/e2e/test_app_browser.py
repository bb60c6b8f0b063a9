"""The served dashboard in headless Debian chromium (Playwright) on the tiny demo cube.

Predictions: ``sar_running_mean`` and ``pmw_threshold`` follow their baseline definitions
(DESIGN §5); ``pred_unet`` is a stand-in (a blur-free copy of SAR-interp) and live ablations use
a fake predictor, because this test drives the user interface, not the model.
Screenshots go to ``$MELTWATER_SCREENSHOTS`` (default: the test's tmp dir).
"""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

import numpy as np
import panel as pn
import pytest

from benchmarks.load import ARGS as CHROMIUM_ARGS
from benchmarks.load import CHROMIUM as CHROMIUM_PATH
from meltwater_dashboard.app import build_app
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store

pytestmark = pytest.mark.e2e

CHROMIUM = Path(CHROMIUM_PATH)
SOURCE = "e2e"
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "blob:http://127.0.0.1", "data:")


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_cube):
    cube = tiny_cube.copy().load()  # a copy: the session fixture stays untouched
    winter = cube["pmw_winter"].sel(year=cube.time.dt.year).drop_vars("year")
    cube["pred_unet"] = cube["sar_interp"].astype("float16")
    cube["pred_pmw_threshold"] = (cube["pmw"] > 0.48 * winter + 128.0).astype("float16")
    cube["pred_sar_running_mean"] = cube["sar_interp"].astype("float16")

    def slow_unet(c, d, ablate):  # long enough for the page to show the spinner
        time.sleep(1.5)
        return np.full((c.sizes["y"], c.sizes["x"]), 0.5, "f4")

    store = Store({SOURCE: cube}, predictor=slow_unet)
    states: list[DashboardState] = []

    def app():
        state = DashboardState(source=SOURCE, store=store)
        states.append(state)
        return build_app(state, sync_url=True)

    port = _free_port()
    server = pn.serve(
        {"app": app},
        port=port,
        address="127.0.0.1",
        websocket_origin=f"127.0.0.1:{port}",
        threaded=True,
        show=False,
    )
    yield f"http://127.0.0.1:{port}/app", states
    server.stop()


@pytest.fixture
def shots(tmp_path) -> Path:
    out = Path(os.environ.get("MELTWATER_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def _watch(page):
    errors, external = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith(LOCAL) else external.append(r.url),
    )
    return errors, external


def _until(page, condition, timeout_ms: int = 15_000) -> bool:
    """Poll a server-side condition while the page keeps running."""
    for _ in range(timeout_ms // 250):
        if condition():
            return True
        page.wait_for_timeout(250)
    return condition()


def _wait_maps(page, n: int) -> None:
    # Bokeh renders into shadow roots: Playwright's CSS locators pierce them, querySelector not
    page.locator(".bk-Canvas").nth(n - 1).wait_for(timeout=30_000)
    page.wait_for_timeout(1500)


def test_app_scrub_ablate_curves(page, served, shots):
    url, states = served
    errors, external = _watch(page)
    page.set_viewport_size({"width": 1700, "height": 1000})
    page.goto(url)
    _wait_maps(page, 3)
    state = states[-1]
    page.screenshot(path=str(shots / "dashboard_maps.png"))
    first = state.date
    history = page.evaluate("history.length")

    # scrub with the keyboard on the day slider
    page.locator(".noUi-handle").first.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert _until(page, lambda: state.day == 3), state.day
    assert state.date > first
    # the link follows the state (the location update may trail the day change)
    page.wait_for_function(
        f"window.location.search.includes('date={state.date_str}')", timeout=10_000
    )
    page.get_by_role("button", name="Next", exact=True).click()
    assert _until(page, lambda: state.day == 4), state.day
    page.wait_for_function("window.location.search.includes('date=')", timeout=10_000)
    assert page.evaluate("history.length") == history  # the address is replaced, not pushed

    # play: days advance with only the prediction map redrawn (the others say they wait);
    # pause: SAR and error catch up
    held = state.date_str
    page.get_by_role("button", name="Play", exact=True).click()
    assert _until(page, lambda: state.playing and state.day >= 6), (state.playing, state.day)
    page.get_by_text(f"Error unet − SAR — {held} · updates on pause").wait_for(timeout=10_000)
    page.get_by_role("button", name="Pause", exact=True).click()
    assert _until(page, lambda: not state.playing), state.playing
    assert _until(page, lambda: "maps_rest" not in state._stale)
    page.locator(".noUi-handle").first.focus()
    page.keyboard.press("Home")
    assert _until(page, lambda: state.day == 0), state.day

    # switch a UNet input off: the live (fake) prediction and the metric change appear
    page.get_by_role("button", name="PMW", exact=True).click()
    page.get_by_text("running the UNet…").wait_for(timeout=5_000)  # while it runs
    assert _until(page, lambda: state.ablate == ["pmw"]), state.ablate
    page.get_by_text(re.compile("Δ unet_no_pmw")).first.wait_for(timeout=10_000)
    page.screenshot(path=str(shots / "dashboard_ablation.png"))

    # the Curves tab opened from the keyboard (a focused tab header and Enter)
    page.get_by_text("Curves", exact=True).focus()
    page.keyboard.press("Enter")
    assert _until(page, lambda: state.tab == "curves"), state.tab
    # click on a season curve: the day jumps to the clicked date
    _wait_maps(page, 4)
    before = state.date
    canvas = page.locator(".bk-Canvas").first
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.5)
    assert _until(page, lambda: state.date != before), state.date
    page.screenshot(path=str(shots / "dashboard_curves.png"))

    # tap a pixel on the per-pixel error map: its time series appears
    page.get_by_text("Pixel errors", exact=True).click()
    _wait_maps(page, 2)
    box = page.locator(".bk-Canvas").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.locator(".bk-Canvas").nth(2).wait_for(timeout=15_000)  # the series below the maps
    assert state.pixel is not None
    assert state.store.grid(SOURCE).index(*state.pixel) is not None
    page.screenshot(path=str(shots / "dashboard_pixel.png"))

    assert not errors, errors
    assert not external, external


def test_bad_url_values_are_ignored(page, served):
    url, states = served
    errors, external = _watch(page)
    page.goto(url + "?model=gpt&date=1900-01-01&source=..%2F..%2Fetc&tab=curves")
    _wait_maps(page, 3)
    page.get_by_text(re.compile("ignored invalid link values")).first.wait_for(timeout=10_000)
    state = states[-1]
    assert state.source == SOURCE and state.model == "unet" and state.tab == "curves"
    assert not errors, errors
    assert not external, external


def test_hostile_link_shows_escaped_notices_and_runs_no_script(page, served, shots):
    """Issue 14.1: every query value is shown as text; nothing in a link executes."""
    url, states = served
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors, external = _watch(page)
    hostile = {
        "model": "<img src=x onerror=alert(1)>",
        "compare": "true",
        "tab": "<script>alert(2)</script>",
        "date": "1" * 5000,
        "ablate": '{"a":1}',
    }
    from urllib.parse import urlencode

    page.goto(f"{url}?{urlencode(hostile)}")
    _wait_maps(page, 1)
    notice = page.locator(".notyf__message").first
    notice.wait_for(timeout=15_000)
    text = notice.inner_text()
    page.screenshot(path=str(shots / "dashboard_hostile_link.png"))
    assert "<img src=x onerror=alert(1)>" in text and "(5000 characters)" in text
    assert "compare 'true'" in text and "ablate" in text
    assert (
        page.locator("img[src='x']").count() == 0
        and page.locator("script:text('alert')").count() == 0
    )
    page.wait_for_timeout(1000)
    assert dialogs == []
    assert states[-1].model != hostile["model"] and states[-1].tab == "maps"
    assert not external, external


def test_back_and_forward_keep_the_view_and_the_address_in_step(page, served):
    """Day steps replace the address: Back leaves the page, Forward opens the stepped view."""
    url, states = served
    errors, external = _watch(page)
    page.goto(url + "?date=2018-04-02")
    _wait_maps(page, 3)
    page.get_by_role("button", name="Next", exact=True).click()
    page.wait_for_function("window.location.search.includes('date=2018-04-03')", timeout=10_000)
    page.go_back()
    assert page.url == "about:blank"
    page.go_forward()
    _wait_maps(page, 3)
    assert "date=2018-04-03" in page.evaluate("window.location.search")
    assert _until(page, lambda: states[-1].date_str == "2018-04-03"), states[-1].date_str
    assert not errors, errors
    assert not external, external
