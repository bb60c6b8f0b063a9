"""The Maps tab: the side-by-side maps, or one frame that swipes between two layers.

The swipe frame stacks two linked maps (`maps.map_view`, shared pan/zoom) in Panel's `Swipe`
layout: the left layer shows left of the divider, the right layer right of it (the browser
clips each map; no server round trip while dragging). The divider is dragged on the map or set
with the slider above it (keyboard: arrow keys); both follow `state.swipe.at`. The layers are
model predictions (the UNet as run, with its ablation) or SAR, and follow the day with the
prediction maps (`tick_pred`, every frame while playing).
"""

from __future__ import annotations

import html

import numpy as np
import panel as pn

from meltwater.data.overviews import LevelWindow
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.swipe import SAR
from meltwater_dashboard.views.maps import map_view, result_maps

__all__ = ["DIVIDER_COLOR", "layer_name", "layer_values", "maps_tab", "swipe_frame"]

DIVIDER_COLOR = "#ff00cc"  # the tapped pixel's colour: seen on blue, white and grey alike


def layer_values(state: DashboardState, layer: str, window: LevelWindow | None = None):
    """The shown day of ``layer`` (a model's prediction, or SAR): the grid or a level window."""
    if layer == SAR:
        return state.layer("sar", window)
    return state.prediction(layer, window)


def layer_name(state: DashboardState, layer: str) -> str:
    """``layer`` as titled: ``SAR``, or the model as run (``unet_no_dem``)."""
    return "SAR" if layer == SAR else state.run_name(layer)


def _layer_map(state: DashboardState, layer: str) -> pn.pane.HoloViews:
    def values() -> np.ndarray:
        return layer_values(state, layer)

    def reader(win: LevelWindow) -> np.ndarray:
        return layer_values(state, layer, win)

    view = map_view(state, "sar" if layer == SAR else "pred", values, "tick_pred", reader)
    return pn.pane.HoloViews(view, linked_axes=True, margin=0, sizing_mode="stretch_width")


def swipe_frame(state: DashboardState) -> pn.Column:
    """Title, divider slider and the two stacked maps of `state.swipe`."""
    sw = state.swipe

    def title(*_) -> str:
        left, right = layer_name(state, sw.left), layer_name(state, sw.right)
        scene = "" if state.has_sar or SAR not in (sw.left, sw.right) else " (no scene this day)"
        text = f"◀ {left} | {right} ▶ — {state.date_str}{scene}"
        return f"<b>{html.escape(text)}</b>"

    heading = pn.pane.HTML(
        pn.bind(title, state.param.tick_pred, sw.param.left, sw.param.right), margin=(0, 10)
    )
    slider = pn.widgets.IntSlider.from_param(
        sw.param.at, name="Divider (% of the frame from the left)", sizing_mode="stretch_width"
    )
    frame = pn.Swipe(
        _layer_map(state, sw.left),
        _layer_map(state, sw.right),
        value=sw.at,
        slider_width=4,
        slider_color=DIVIDER_COLOR,
        sizing_mode="stretch_width",
    )
    frame.param.watch(lambda e: setattr(sw, "at", e.new), "value")
    sw.param.watch(lambda e: setattr(frame, "value", e.new), "at")
    return pn.Column(heading, slider, frame, sizing_mode="stretch_width")


def maps_tab(state: DashboardState) -> pn.viewable.Viewable:
    """The swipe frame when `state.swipe` is on, else the side-by-side maps."""
    if not state.swipe.on:
        return result_maps(state)
    sw = state.swipe
    frame = pn.bind(lambda *_: swipe_frame(state), sw.param.left, sw.param.right)
    return pn.Column(frame, sizing_mode="stretch_width")
