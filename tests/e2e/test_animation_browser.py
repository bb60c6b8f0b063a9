"""The animation export of the served dashboard (headless Debian chromium, Playwright)."""

from __future__ import annotations

import imageio.v3 as iio
import pytest
from e2e_helpers import serve_app, wait_maps, watch

from meltwater_dashboard.store import Store

pytestmark = pytest.mark.e2e

SOURCE = "e2e"


@pytest.fixture(scope="module")
def served(tiny_cube):
    cube = tiny_cube.copy().load()
    cube["pred_unet"] = cube["sar_interp"].astype("float16")
    cube["pred_sar_running_mean"] = cube["sar_interp"].astype("float16")
    with serve_app(Store({SOURCE: cube}), SOURCE) as served:
        yield served


def test_animation_downloads_a_gif_of_the_season(page, served, shots):
    url, states = served
    errors, external = watch(page)
    page.set_viewport_size({"width": 1700, "height": 1100})
    page.goto(url)
    wait_maps(page, 3)
    state = states[-1]
    page.locator("input[type=checkbox]").nth(1).click()  # after "Compare with"
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
