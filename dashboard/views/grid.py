"""A responsive grid of equal cells: as many columns of at least ``min_px`` as the width allows.

Panel's `GridBox` is a CSS grid with a fixed number of columns and a fixed cell per child; a
stylesheet lets the children flow and sets the column template to
``repeat(auto-fill, minmax(min_px, 1fr))``: the browser picks the number of columns from the
width it has (maps: two at 1600 and 1280 px, one at 1024 px) and every cell of a row has the
same width, also in a last row that is not full.
"""

from __future__ import annotations

import panel as pn

__all__ = ["MAP_MIN_PX", "PLOT_MIN_PX", "grid_css", "responsive_grid"]

MAP_MIN_PX = 440  # a map cell: frame, y axis and colour bar (the toolbar is above)
PLOT_MIN_PX = 480  # a curve plot cell: frame, axes and legend


def grid_css(min_px: int) -> str:
    """The stylesheet of a `responsive_grid` with cells of at least ``min_px``."""
    return (
        ":host { display: grid !important; "
        f"grid-template-columns: repeat(auto-fill, minmax({int(min_px)}px, 1fr)) !important; "
        "grid-auto-rows: auto !important; grid-auto-flow: row !important; align-items: start; }\n"
        # Bokeh places each child in a fixed cell (inline grid-row/column): let them flow
        "* { grid-row: auto !important; grid-column: auto !important; }"
    )


def responsive_grid(*objects, min_px: int = MAP_MIN_PX, **params) -> pn.GridBox:
    """``objects`` in a grid whose column count follows the page width; each object should
    stretch to its cell's width (``sizing_mode="stretch_width"``)."""
    params.setdefault("sizing_mode", "stretch_width")
    return pn.GridBox(*objects, ncols=1, stylesheets=[grid_css(min_px)], **params)
