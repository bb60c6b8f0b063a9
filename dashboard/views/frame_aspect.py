"""A map's height that follows its width, so that its frame (the data area) keeps its aspect."""

from __future__ import annotations

from collections.abc import Callable

from bokeh.models import CustomJS

__all__ = ["DECORATION_PX", "keep_frame_aspect"]

DECORATION_PX = 90  # toolbar above, x axis below the frame: a first guess, the browser corrects it
EVENT = "change:inner_width"
FRAME_ASPECT_JS = """
// only while the map shows its whole extent: a new height re-renders the map and would lose a
// zoomed view (the first width seen is the full view's)
const xr = plot.x_range
if (xr._mw_full === undefined) { xr._mw_full = xr.end - xr.start }
const zoomed = (xr.end - xr.start) < 0.999 * xr._mw_full
const extra = plot.outer_height - plot.inner_height
const height = Math.round(plot.inner_width / aspect) + extra
if (!zoomed && plot.inner_width > 0 && Math.abs(plot.height - height) > 1) {
  plot.height = height
}
"""


def keep_frame_aspect(aspect: float) -> Callable:
    """Plot hook: the plot's height follows its frame's width so that the frame (the map's
    data area) keeps ``aspect`` (width / height) whatever width the page gives the plot; Bokeh's
    own ``aspect_ratio`` would hold the whole figure's, colour bar and axes included."""

    def hook(plot, element) -> None:  # runs on every render of the plot: attach once
        fig = plot.state
        if any(cb.tags == ["frame-aspect"] for cb in fig.js_property_callbacks.get(EVENT, [])):
            return
        code = CustomJS(
            args={"plot": fig, "aspect": aspect}, code=FRAME_ASPECT_JS, tags=["frame-aspect"]
        )
        fig.js_on_change("inner_width", code)

    return hook
