"""The page a class sees (issue 18): the animation export and the guided tour of the served
dashboard in headless Debian chromium (Playwright) on the tiny demo cube, with stand-in
predictions and a stand-in UNet for live ablations."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
from e2e_helpers import serve_app, until, wait_maps, watch

from meltwater_dashboard.store import Store
from meltwater_dashboard.tour import TOUR

pytestmark = pytest.mark.e2e

SOURCE = "e2e"


@pytest.fixture(scope="module")
def served(tiny_cube):
    cube = tiny_cube.copy().load()
    cube["pred_unet"] = cube["sar_interp"].astype("float16")
    cube["pred_mar_interp"] = (cube["mar_wa1"] > 0.01).astype("float16")

    def unet(c, d, ablate):
        return np.full((c.sizes["y"], c.sizes["x"]), 0.5, "f4")

    with serve_app(Store({SOURCE: cube}, predictor=unet), SOURCE) as served:
        yield served


def test_animation_downloads_a_gif_of_the_season(page, served, shots):
    url, states = served
    errors, external = watch(page)
    page.set_viewport_size({"width": 1700, "height": 1100})
    page.goto(f"{url}?model=unet")  # not the opening story: no compare
    wait_maps(page, 3)
    state = states[-1]
    page.get_by_role("button", name="Export", exact=True).click()  # the group starts folded
    page.get_by_role("button", name="Animation", exact=True).wait_for(timeout=10_000)
    page.locator("input[type=checkbox]").nth(1).click()  # after "Compare with": side by side
    page.wait_for_timeout(500)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_text("Animation", exact=True).click()
    path = info.value.path()
    assert info.value.suggested_filename.startswith(f"meltwater_{SOURCE}_unet_sar_")
    assert info.value.suggested_filename.endswith(".gif")
    frames = iio.imread(path, index=None, extension=".gif")
    assert frames.shape[0] == len(state.days) and frames.shape[2] > 1.5 * frames.shape[1]
    page.locator(".bk-panel-models-layout-Column").first.screenshot(
        path=str(shots / "dashboard_animation_export.png")
    )
    assert not errors, errors
    assert not external, external


def test_tour_walks_its_steps_and_explains_the_inputs(page, served, shots):
    url, states = served
    errors, external = watch(page)
    page.set_viewport_size({"width": 1700, "height": 1100})
    page.goto(f"{url}?tour=1")
    page.get_by_text(f"Step 1 of {len(TOUR)}: The inputs").wait_for(timeout=30_000)
    state = states[-1]
    assert (state.tour, state.tab) == (1, "inputs")
    expected = {2: ("maps", True, ()), 3: ("maps", False, ("dem",)), 4: ("curves", True, ())}
    for n, (tab, compare, off) in expected.items():
        page.get_by_text("Next ▶").click()
        page.get_by_text(f"Step {n} of {len(TOUR)}: {TOUR[n - 1].title}").wait_for()
        shown = (n, tab, compare, off)
        assert until(
            page, lambda v=shown: (state.tour, state.tab, state.compare, state.ablation) == v
        )
        assert until(page, lambda n=n: f"tour={n}" in page.evaluate("location.search"))
        if n == 2:
            wait_maps(page, 5)
            page.screenshot(path=str(shots / "dashboard_tour_step2.png"))
    page.get_by_text("What are the inputs?").click()
    page.get_by_text("passive microwave brightness temperature").wait_for()
    page.screenshot(path=str(shots / "dashboard_tour_inputs_help.png"))
    page.get_by_text("End tour").click()
    assert until(page, lambda: state.tour == 0)
    assert not errors, errors
    assert not external, external
