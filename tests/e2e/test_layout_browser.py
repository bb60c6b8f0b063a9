"""The page's layout in headless Debian chromium: maps that fill the width at three window
widths, the accessible tab list, the grouped sidebar and the swipe comparison.

The tiny demo cube with two stand-in models that are easy to tell apart on screen:
``mar_interp`` is melt everywhere (opaque dark blue), ``pmw_threshold`` no melt anywhere (almost
transparent: the grey hillshade shows).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from e2e_helpers import serve_app, until, wait_maps, watch
from PIL import Image

from meltwater_dashboard.store import Store

pytestmark = pytest.mark.e2e

SOURCE = "e2e"
SIDEBAR_PX = 330

FIGURES_JS = """() => {
  const figs = [...Bokeh.documents[0].all_models].filter(
    (m) => m.type === "Figure" && m.inner_width > 0)
  return figs.map((f) => [f.inner_width, f.inner_height, f.x_range.id, f.y_range.id])
}"""


@pytest.fixture(scope="module")
def served(tiny_cube):
    cube = tiny_cube.copy().load()
    cube["pred_unet"] = cube["sar_interp"].astype("float16")
    cube["pred_mar_interp"] = (cube["sar_interp"] * 0 + 1).astype("float16")
    cube["pred_pmw_threshold"] = (cube["sar_interp"] * 0).astype("float16")
    store = Store({SOURCE: cube})
    with serve_app(store, SOURCE) as served:
        yield served


def _blue_share(shot: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> float:
    """Share of the pixels of the box (page px) coloured melt blue (blue well above red)."""
    part = shot[int(y0) : int(y1), int(x0) : int(x1)].astype(int)
    return float(np.mean(part[..., 2] - part[..., 0] > 80))


@pytest.mark.parametrize("width, per_row", [(1600, 2), (1280, 2), (1024, 1)])
def test_maps_fill_the_width_keep_their_aspect_and_pan_together(page, served, width, per_row):
    url, states = served
    errors, external = watch(page)
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{url}?model=unet&compare=mar_interp")
    wait_maps(page, 5)
    figs = page.evaluate(FIGURES_JS)
    assert len(figs) == 5
    g = states[-1].store.grid(SOURCE)
    left, bottom, right, top = g.bounds
    for w, h, *_ in figs:  # every frame at the grid's aspect
        assert w / h == pytest.approx((right - left) / (top - bottom), rel=0.03)
    share = max(w for w, *_ in figs) * per_row / (width - SIDEBAR_PX)
    assert 0.55 < share <= 1.0, share  # the frames (without axes, colour bar) fill the row
    # shared ranges (the maps built after the first are linked as the backlog builds them)
    assert until(page, lambda: len({f[2:] for f in map(tuple, page.evaluate(FIGURES_JS))}) == 1)
    tops = sorted(round(b["y"]) for b in map(lambda i: _canvas_box(page, i), range(5)))
    assert len(set(tops)) == -(-5 // per_row)  # rows of ``per_row`` maps
    assert not errors, errors
    assert not external, external


def _canvas_box(page, i: int) -> dict | None:
    return page.locator(".bk-Canvas").nth(i).bounding_box()


def test_tabs_are_an_accessible_tab_list_switched_by_keyboard(page, served):
    url, states = served
    errors, external = watch(page)
    page.goto(f"{url}?model=unet")
    wait_maps(page, 3)
    state = states[-1]
    page.get_by_role("tablist").first.wait_for(timeout=10_000)
    maps, curves = page.get_by_role("tab", name="Maps"), page.get_by_role("tab", name="Curves")
    assert maps.get_attribute("aria-selected") == "true"
    assert curves.get_attribute("aria-selected") == "false"
    curves.focus()
    page.keyboard.press("Enter")
    assert until(page, lambda: state.tab == "curves"), state.tab
    assert until(page, lambda: curves.get_attribute("aria-selected") == "true")
    assert maps.get_attribute("aria-selected") == "false"
    curves.focus()  # the header may be drawn again once the tab opens
    page.keyboard.press("ArrowRight")
    assert until(page, lambda: state.tab == "errors"), state.tab
    errors_tab = page.get_by_role("tab", name="Pixel errors")
    assert until(page, lambda: errors_tab.get_attribute("aria-selected") == "true")
    assert not errors, errors
    assert not external, external


def test_sidebar_groups_fold_from_the_keyboard(page, served):
    url, _ = served
    errors, external = watch(page)
    page.goto(f"{url}?model=unet")
    wait_maps(page, 3)
    for name in ("When", "What", "Inputs", "Where", "Export"):
        page.get_by_role("button", name=name, exact=True).wait_for(timeout=10_000)
    png = page.get_by_role("button", name="Map PNG")
    assert not png.is_visible()  # Export starts folded
    page.get_by_role("button", name="Export", exact=True).focus()
    page.keyboard.press("Enter")
    png.wait_for(timeout=10_000)
    page.get_by_role("button", name="When", exact=True).focus()
    page.keyboard.press("Enter")
    page.get_by_text("Day of season").wait_for(state="hidden", timeout=10_000)
    assert not errors, errors
    assert not external, external


def test_swipe_shows_one_layer_each_side_of_the_dragged_divider(page, served, shots):
    url, states = served
    errors, external = watch(page)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{url}?model=unet&date=2018-06-01")
    wait_maps(page, 3)
    state = states[-1]
    page.get_by_role("button", name="Swipe", exact=True).click()  # maps: side by side → swipe
    assert until(page, lambda: state.swipe.on)
    page.get_by_role("combobox", name="Swipe: left").select_option("mar_interp")
    page.get_by_role("combobox", name="right").select_option("pmw_threshold")
    assert until(
        page, lambda: (state.swipe.left, state.swipe.right) == ("mar_interp", "pmw_threshold")
    )
    wait_maps(page, 2)
    divider = page.locator(".swipe-container .slider")

    def sides(at: int) -> tuple[float, float]:
        """Blue share left and right of the divider at ``at`` % (inside the map frame), with
        the frame measured with the screenshot (a layer change redraws it); (0, 1) while the
        frame is being redrawn."""
        frame, fig = page.locator(".swipe-container").bounding_box(), _canvas_box(page, 0)
        if frame is None or fig is None:
            return 0.0, 1.0
        shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"))
        x = frame["x"] + frame["width"] * at / 100
        y0, y1 = fig["y"] + 0.3 * fig["height"], fig["y"] + 0.7 * fig["height"]
        lo, hi = frame["x"] + 0.1 * frame["width"], frame["x"] + 0.8 * frame["width"]
        return _blue_share(shot, lo, x - 8, y0, y1), _blue_share(shot, x + 8, hi, y0, y1)

    def shows(at: int) -> bool:  # melt-everywhere left of the divider, dry right of it
        left, right = sides(at)
        return left > 0.5 and right < 0.02

    assert state.swipe.at == 50
    assert until(page, lambda: shows(50)), sides(50)  # once the new layers are drawn
    # drag the divider to 70 %: the left layer now reaches further right
    box, frame = divider.bounding_box(), page.locator(".swipe-container").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(frame["x"] + 0.7 * frame["width"], box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    assert until(page, lambda: abs(state.swipe.at - 70) <= 1), state.swipe.at
    assert until(page, lambda: shows(state.swipe.at)), sides(state.swipe.at)
    page.screenshot(path=str(shots / "dashboard_swipe.png"))
    page.wait_for_function("window.location.search.includes('swipe=mar_interp%2Cpmw_threshold')")
    assert f"swipe_at={state.swipe.at}" in page.evaluate("window.location.search")
    # the swipe follows the day
    title = page.get_by_text("◀ mar_interp | pmw_threshold ▶ — 2018-06-01")
    title.wait_for(timeout=10_000)
    page.get_by_role("button", name="Next", exact=True).click()
    page.get_by_text("◀ mar_interp | pmw_threshold ▶ — 2018-06-02").wait_for(timeout=10_000)
    assert not errors, errors
    assert not external, external
