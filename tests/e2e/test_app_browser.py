"""The served dashboard in headless Debian chromium (Playwright) on the tiny demo cube.

Predictions: ``sar_running_mean`` and ``pmw_threshold`` follow their baseline definitions
(DESIGN §5); ``pred_unet`` is a stand-in (a blur-free copy of SAR-interp) and live ablations use
a fake predictor, because this test drives the user interface, not the model.
Screenshots go to ``$MELTWATER_SCREENSHOTS`` (default: the test's tmp dir).
"""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest
from e2e_helpers import serve_app, until, wait_maps, watch

from meltwater.evaluation.evaluate import evaluate, save_results
from meltwater_dashboard.store import Store

pytestmark = pytest.mark.e2e

SOURCE = "e2e"


@pytest.fixture(scope="module")
def served(tiny_cube):
    cube = tiny_cube.copy().load()  # a copy: the session fixture stays untouched
    winter = cube["pmw_winter"].sel(year=cube.time.dt.year).drop_vars("year")
    cube["pred_unet"] = cube["sar_interp"].astype("float16")
    cube["pred_pmw_threshold"] = (cube["pmw"] > 0.48 * winter + 128.0).astype("float16")
    cube["pred_sar_running_mean"] = cube["sar_interp"].astype("float16")
    # a stand-in spread on SAR days: |SAR-interp − 0.5| (the Uncertainty tab reads it)
    spread = np.abs(cube["sar_interp"] - 0.5).where(cube["has_sar"]).astype("float16")
    cube["unc_unet"] = spread

    def slow_unet(c, d, ablate):  # long enough for the page to show the spinner
        time.sleep(1.5)
        return np.full((c.sizes["y"], c.sizes["x"]), 0.5, "f4")

    store = Store({SOURCE: cube}, predictor=slow_unet)
    with serve_app(store, SOURCE) as served:
        yield served


def test_app_scrub_ablate_curves(page, served, shots):
    url, states = served
    errors, external = watch(page)
    page.set_viewport_size({"width": 1700, "height": 1000})
    page.goto(url)
    wait_maps(page, 3)
    state = states[-1]
    page.screenshot(path=str(shots / "dashboard_maps.png"))
    first = state.date
    history = page.evaluate("history.length")

    # scrub with the keyboard on the day slider
    page.locator(".noUi-handle").first.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert until(page, lambda: state.day == 3), state.day
    assert state.date > first
    # the link follows the state (the location update may trail the day change)
    page.wait_for_function(
        f"window.location.search.includes('date={state.date_str}')", timeout=10_000
    )
    page.get_by_role("button", name="Next", exact=True).click()
    assert until(page, lambda: state.day == 4), state.day
    page.wait_for_function("window.location.search.includes('date=')", timeout=10_000)
    assert page.evaluate("history.length") == history  # the address is replaced, not pushed

    # play: days advance with only the prediction map redrawn (the others say they wait);
    # pause: SAR and error catch up
    held = state.date_str
    page.get_by_role("button", name="Play", exact=True).click()
    assert until(page, lambda: state.playing and state.day >= 6), (state.playing, state.day)
    page.get_by_text(f"Error unet − SAR — {held} · updates on pause").wait_for(timeout=10_000)
    page.get_by_role("button", name="Pause", exact=True).click()
    assert until(page, lambda: not state.playing), state.playing
    assert until(page, lambda: "maps_rest" not in state._stale)
    page.locator(".noUi-handle").first.focus()
    page.keyboard.press("Home")
    assert until(page, lambda: state.day == 0), state.day

    # switch a UNet input off: the live (fake) prediction and the metric change appear
    page.get_by_role("button", name="PMW", exact=True).click()
    page.get_by_text("running the UNet…").wait_for(timeout=5_000)  # while it runs
    assert until(page, lambda: state.ablate == ["pmw"]), state.ablate
    page.get_by_text(re.compile("Δ unet_no_pmw")).first.wait_for(timeout=10_000)
    page.screenshot(path=str(shots / "dashboard_ablation.png"))

    # the Curves tab opened from the keyboard (a focused tab header and Enter)
    page.get_by_text("Curves", exact=True).focus()
    page.keyboard.press("Enter")
    assert until(page, lambda: state.tab == "curves"), state.tab
    # click on a season curve: the day jumps to the clicked date
    wait_maps(page, 4)
    before = state.date
    canvas = page.locator(".bk-Canvas").first
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.5)
    assert until(page, lambda: state.date != before), state.date
    page.screenshot(path=str(shots / "dashboard_curves.png"))

    # tap a pixel on the per-pixel error map: its time series appears
    page.get_by_text("Pixel errors", exact=True).click()
    wait_maps(page, 2)
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
    errors, external = watch(page)
    page.goto(url + "?model=gpt&date=1900-01-01&source=..%2F..%2Fetc&tab=curves")
    wait_maps(page, 3)
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
    errors, external = watch(page)
    hostile = {
        "model": "<img src=x onerror=alert(1)>",
        "compare": "true",
        "tab": "<script>alert(2)</script>",
        "date": "1" * 5000,
        "ablate": '{"a":1}',
    }
    from urllib.parse import urlencode

    page.goto(f"{url}?{urlencode(hostile)}")
    wait_maps(page, 1)
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
    errors, external = watch(page)
    page.goto(url + "?date=2018-04-02")
    wait_maps(page, 3)
    page.get_by_role("button", name="Next", exact=True).click()
    page.wait_for_function("window.location.search.includes('date=2018-04-03')", timeout=10_000)
    page.go_back()
    assert page.url == "about:blank"
    page.go_forward()
    wait_maps(page, 3)
    assert "date=2018-04-03" in page.evaluate("window.location.search")
    assert until(page, lambda: states[-1].date_str == "2018-04-03"), states[-1].date_str
    assert not errors, errors
    assert not external, external


def test_analysis_tabs_render(page, served, shots, tmp_path, monkeypatch):
    """Issue 17: the analysis tabs render in the browser without a console error."""
    url, states = served
    errors, external = watch(page)
    page.set_viewport_size({"width": 1700, "height": 1100})
    page.goto(url)
    wait_maps(page, 3)
    cube = states[-1].cube
    sar_day = pd.Timestamp(cube.time.values[np.flatnonzero(cube["has_sar"].values)[2]])
    ds = evaluate(cube, ["unet", "pmw_threshold", "sar_running_mean"], n_boot=100, progress=False)
    save_results(ds.assign_attrs(source=SOURCE), tmp_path)
    monkeypatch.setenv("MELTWATER_DATA", str(tmp_path))  # read by the server's store
    page.goto(f"{url}?date={sar_day:%Y-%m-%d}&tab=thresholds")
    page.get_by_text("Melt threshold (the paper's: 0.1)").first.wait_for(timeout=15_000)
    wait_maps(page, 4)
    assert states[-1].tab == "thresholds" and states[-1].date == sar_day
    page.get_by_text(re.compile("Dashed: mean over the")).first.wait_for(timeout=10_000)
    page.screenshot(path=str(shots / "dashboard_thresholds.png"))
    page.get_by_text("Score card", exact=True).click()
    page.get_by_text("MAE", exact=True).first.wait_for(timeout=15_000)
    page.screenshot(path=str(shots / "dashboard_scorecard.png"))
    page.get_by_text("Onset", exact=True).click()
    page.get_by_text("Freeze-up, model − SAR (days)").first.wait_for(timeout=30_000)
    wait_maps(page, 1)  # hidden tabs are not in the page (dynamic tabs): the onset map
    page.screenshot(path=str(shots / "dashboard_onset.png"))
    page.get_by_text("Climatology", exact=True).click()
    page.get_by_text(re.compile("grey band = min–max")).first.wait_for(timeout=30_000)
    wait_maps(page, 4)  # SAR and the three models
    page.screenshot(path=str(shots / "dashboard_climatology.png"))
    assert not errors, errors
    assert not external, external


def test_conservation_tab_renders(page, served, shots):
    """Issue 17: the conservation tab draws its maps and season curve, and follows a day step."""
    url, states = served
    errors, external = watch(page)
    page.set_viewport_size({"width": 1700, "height": 1100})
    page.goto(url)
    wait_maps(page, 3)
    cube = states[-1].cube
    sar_day = pd.Timestamp(cube.time.values[np.flatnonzero(cube["has_sar"].values)[2]])
    page.goto(f"{url}?date={sar_day:%Y-%m-%d}&tab=conservation")
    page.get_by_text(re.compile("is SAR on the model's side")).first.wait_for(timeout=30_000)
    wait_maps(page, 3)  # model − MAR, SAR − MAR, the season curve
    state = states[-1]
    assert until(page, lambda: page.get_by_text("reading every day").count() == 0, 60_000)
    page.screenshot(path=str(shots / "dashboard_conservation.png"))
    day = state.day
    page.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    assert until(page, lambda: state.day == day + 1), state.day
    page.wait_for_timeout(1000)
    assert not errors, errors
    assert not external, external


def test_regions_tab_draws_a_box(page, served, shots):
    """Issue 17: the regions tab reads a named region from the link (the demo's glacier trunk,
    from the generator's geometry) and a box drawn on its map."""
    url, states = served
    errors, external = watch(page)
    page.set_viewport_size({"width": 1700, "height": 1100})
    page.goto(f"{url}?tab=regions&region=glacier-trunk")
    page.get_by_text(re.compile("or a box drawn on the map")).first.wait_for(timeout=30_000)
    wait_maps(page, 2)  # the region map, the series plot
    state = states[-1]
    assert state.region == "glacier-trunk"
    assert until(page, lambda: page.get_by_text("Reading the season").count() == 0, 60_000)
    page.get_by_text(re.compile(r"^glacier-trunk: [1-9]\d* land pixels")).first.wait_for()
    page.screenshot(path=str(shots / "dashboard_regions_trunk.png"))
    box = page.locator(".bk-Canvas").first.bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.2 * w, y + 0.2 * h)
    page.mouse.down()
    page.mouse.move(x + 0.5 * w, y + 0.6 * h, steps=5)
    page.mouse.up()
    assert until(page, lambda: state.region.count(",") == 3), state.region
    page.get_by_text(re.compile(r"^-?\d+,-?\d+,-?\d+,-?\d+: \d+ land pixels")).first.wait_for(
        timeout=60_000
    )
    assert until(page, lambda: "region=" in page.evaluate("location.search"))
    page.screenshot(path=str(shots / "dashboard_regions.png"))
    assert not errors, errors
    assert not external, external


def test_uncertainty_tab_renders(page, served, shots, tmp_path, monkeypatch):
    """Issue 17: the uncertainty tab draws the spread beside the prediction and the error, and
    the split's spread-vs-error curve from the results file."""
    url, states = served
    errors, external = watch(page)
    page.set_viewport_size({"width": 1700, "height": 1100})
    page.goto(url)
    wait_maps(page, 3)
    cube = states[-1].cube
    sar_day = pd.Timestamp(cube.time.values[np.flatnonzero(cube["has_sar"].values)[2]])
    ds = evaluate(cube, ["unet", "pmw_threshold"], n_boot=50, progress=False)
    assert "calibration_mae" in ds
    save_results(ds.assign_attrs(source=SOURCE), tmp_path)
    monkeypatch.setenv("MELTWATER_DATA", str(tmp_path))  # read by the server's store
    page.goto(f"{url}?date={sar_day:%Y-%m-%d}&tab=uncertainty")
    page.get_by_text(re.compile("Where is the UNet unsure")).first.wait_for(timeout=30_000)
    wait_maps(page, 4)  # prediction, spread, error, the calibration plot
    page.get_by_text(re.compile("SAR days pooled")).first.wait_for(timeout=10_000)
    page.get_by_text(re.compile("Mean spread over land")).first.wait_for(timeout=10_000)
    state = states[-1]
    assert state.tab == "uncertainty" and state.date == sar_day
    page.screenshot(path=str(shots / "dashboard_uncertainty.png"))
    assert not errors, errors
    assert not external, external
