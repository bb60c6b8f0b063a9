"""Page layout: responsive grids, linked maps that keep their aspect, the grouped sidebar, the
swipe comparison (state, link values, the frame)."""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import CustomJS, Plot

from meltwater_dashboard.escape import html_text
from meltwater_dashboard.swipe import SAR
from meltwater_dashboard.url import apply_url, parse_query, query_string
from meltwater_dashboard.views.curves import curves_tab
from meltwater_dashboard.views.grid import MAP_MIN_PX, grid_css
from meltwater_dashboard.views.maps import result_maps
from meltwater_dashboard.views.sidebar import GROUPS, sidebar
from meltwater_dashboard.views.swipe import layer_values, maps_tab, swipe_frame

HOSTILE = "<img src=x onerror=alert(1)>"


def _figures(viewable) -> list[Plot]:
    root = pn.Column(viewable).get_root(Document())
    return [p for p in root.select({"type": Plot}) if p.renderers]


def test_grid_lets_the_width_choose_the_columns():
    css = grid_css(440)
    assert "repeat(auto-fill, minmax(440px, 1fr))" in css
    assert "grid-row: auto !important" in css  # Bokeh's fixed cells are overridden


def test_maps_fill_their_cell_keep_the_grid_aspect_and_share_pan_zoom(state):
    state.compare = True
    grid = result_maps(state)
    assert isinstance(grid, pn.GridBox) and grid.sizing_mode == "stretch_width"
    assert f"minmax({MAP_MIN_PX}px" in grid.stylesheets[0]
    figs = _figures(grid)
    assert len(figs) == 5  # A, B, A − B, SAR, error
    assert {f.sizing_mode for f in figs} == {"stretch_width"}
    assert len({id(f.x_range) for f in figs}) == 1 and len({id(f.y_range) for f in figs}) == 1
    left, bottom, right, top = state.store.grid(state.source).bounds
    for fig in figs:  # the height follows the frame's width in the browser, at the grid's aspect
        (cb,) = fig.js_property_callbacks["change:inner_width"]  # once, however often drawn
        assert isinstance(cb, CustomJS)
        assert cb.args["aspect"] == pytest.approx((right - left) / (top - bottom))


def test_curves_are_a_grid(state):
    tab = curves_tab(state)
    grids = [o for o in tab.objects if isinstance(o, pn.GridBox)]
    assert len(grids) == 1 and len(grids[0].objects) == 5  # three season and two monthly plots
    figs = _figures(grids[0])
    assert len(figs) == 5 and {f.sizing_mode for f in figs} == {"stretch_width"}


def test_sidebar_is_grouped_with_export_folded(state):
    cards = [o for o in sidebar(state).objects if isinstance(o, pn.Card)]
    assert tuple(c.title for c in cards) == GROUPS
    assert [c.title for c in cards if c.collapsed] == ["Export"]
    assert all(c.collapsible for c in cards)


def test_swipe_layers_are_the_models_and_sar_and_stay_distinct(state):
    sw = state.swipe
    assert sw.layers == [*state.models, SAR]
    assert (sw.left, sw.right) == (state.models[0], SAR)
    sw.left = SAR  # picking the other side's layer swaps the two
    assert (sw.left, sw.right) == (SAR, state.models[0])


def test_swipe_link_round_trips_and_switches_the_maps_tab(state):
    assert not isinstance(maps_tab(state), pn.Column)
    assert apply_url(state, {"swipe": f"mar_interp,{SAR}", "swipe_at": "30"}) == []
    sw = state.swipe
    assert (sw.on, sw.left, sw.right, sw.at) == (True, "mar_interp", SAR, 30)
    query = query_string(state)
    assert "swipe=mar_interp%2Csar" in query and "swipe_at=30" in query
    other = type(state)(source="toy", store=state.store, year=2019)
    assert apply_url(other, parse_query(query)) == []
    assert (other.swipe.on, other.swipe.left, other.swipe.right, other.swipe.at) == (
        True,
        "mar_interp",
        SAR,
        30,
    )


@pytest.mark.parametrize(
    "values, shown",
    [
        ({"swipe": HOSTILE}, f"swipe '{HOSTILE}'"),
        ({"swipe": "unet,unet"}, "swipe 'unet,unet'"),
        ({"swipe": "unet,sar,mar_interp"}, "swipe 'unet,sar,mar_interp'"),
        ({"swipe": "unet,../../etc"}, "swipe 'unet,../../etc'"),
        ({"swipe_at": "101"}, "swipe_at '101'"),
        ({"swipe_at": "-5"}, "swipe_at '-5'"),
        ({"swipe_at": "4" * 5000}, "(5000 characters)"),
        ({"swipe_at": f"5{HOSTILE}"}, f"swipe_at '5{HOSTILE}'"),
    ],
    ids=["html", "same", "three", "path", "over", "negative", "digits", "html-at"],
)
def test_bad_swipe_link_values_are_noticed_as_escaped_text(state, toasts, values, shown):
    sw = state.swipe
    before = (sw.on, sw.left, sw.right, sw.at)
    assert len(apply_url(state, values)) == 1
    assert (sw.on, sw.left, sw.right, sw.at) == before
    (toast,) = toasts.shown
    assert html_text(shown) in toast and "<" not in toast


def test_swipe_frame_stacks_two_linked_maps_of_the_shown_day(state):
    sw = state.swipe
    sw.param.update(on=True, left="mar_interp", right=SAR, at=35)
    frame = swipe_frame(state)
    (swipe,) = [o for o in frame.objects if isinstance(o, pn.Swipe)]
    assert swipe.value == 35
    sw.at = 70  # the slider, the link and the dragged divider are one value
    assert swipe.value == 70
    swipe.value = 20
    assert sw.at == 20
    figs = _figures(swipe)
    assert len(figs) == 2 and figs[0].x_range is figs[1].x_range
    state.day = 3
    np.testing.assert_array_equal(layer_values(state, SAR), state.layer("sar"))
    np.testing.assert_array_equal(layer_values(state, "mar_interp"), state.prediction("mar_interp"))
