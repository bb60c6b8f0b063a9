"""Layers drawn with the maps: hillshade under them; the tapped pixel, pending boxes over them."""

from __future__ import annotations

from collections.abc import Callable

import holoviews as hv

from meltwater_dashboard.state import DashboardState

__all__ = ["KDIMS", "hillshade_layer", "pending_layer", "pixel_marker"]

KDIMS = [hv.Dimension("x", label="x", unit="m"), hv.Dimension("y", label="y", unit="m")]
BASE_PIXELS = 800
MARKER_OPTS = dict(marker="x", size=16, color="#ff00cc", line_width=3, tools=[])


def _hatch(plot, element) -> None:
    """Plot hook: hatch the pending boxes (HoloViews has no hatch option for Rectangles)."""
    glyph = plot.handles["glyph"]
    glyph.update(hatch_pattern="/", hatch_color="#303030", hatch_alpha=0.6, hatch_scale=8)


PENDING_OPTS = dict(
    fill_color="#808080",
    fill_alpha=0.35,
    line_alpha=0.0,
    tools=[],
    hooks=[_hatch],
)


def hillshade_layer(state: DashboardState) -> hv.Image:
    """The grey DEM hillshade under every map: static, decimated to at most `BASE_PIXELS` a side.

    A plain Image (no regrid) is sent to the browser once and never recomputed per frame.
    """
    g = state.store.grid(state.source)
    shade = state.store.hillshade(state.source)
    step = max(1, -(-max(shade.shape) // BASE_PIXELS))
    img = hv.Image(shade[::step, ::step], bounds=g.bounds, kdims=KDIMS, vdims=["hillshade"])
    return img.opts(cmap="gray", clim=(0.0, 1.0), colorbar=False, tools=[])


def pixel_marker(state: DashboardState) -> hv.DynamicMap:
    """A cross on the tapped pixel (`state.pixel`), empty before the first tap."""

    def marker(pixel) -> hv.Points:
        return hv.Points([] if pixel is None else [pixel], kdims=KDIMS).opts(**MARKER_OPTS)

    return hv.DynamicMap(marker, streams=[hv.streams.Params(state, ["pixel"])])


def pending_layer(state: DashboardState, model: Callable[[], str]) -> hv.DynamicMap:
    """Hatched grey boxes over the part of the map the live ablation has not computed yet
    (`state.ablation_pending`), on a map of the UNet."""

    def boxes(ablation_pending) -> hv.Rectangles:
        shown = ablation_pending if model() == "unet" else []
        return hv.Rectangles(shown, kdims=[*KDIMS, "x1", "y1"]).opts(**PENDING_OPTS)

    return hv.DynamicMap(boxes, streams=[hv.streams.Params(state, ["ablation_pending"])])
