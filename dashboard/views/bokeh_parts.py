"""Bokeh pieces shared by the analysis views: a season plot and an image over the grid."""

from __future__ import annotations

from typing import Any

from bokeh.models import ColumnDataSource
from bokeh.models.mappers import ColorMapper
from bokeh.plotting import figure

__all__ = ["grid_image", "season_figure"]


def season_figure(title: str, height: int, width: int = 900) -> figure:
    """A plot over the day of season (0 = 1 April) with pan, zoom, reset, save and hover."""
    fig = figure(
        width=width,
        height=height,
        title=title,
        tools="pan,box_zoom,reset,save,hover",
        toolbar_location="right",
    )
    fig.xaxis.axis_label = "day of season (0 = 1 April)"
    return fig


def grid_image(
    fig: figure,
    bounds: tuple[float, float, float, float],
    source: ColumnDataSource,
    mapper: ColorMapper,
    **glyph: Any,
) -> Any:
    """The ``image`` column of ``source`` drawn over ``bounds`` (left, bottom, right, top),
    coloured by ``mapper``; returns the glyph renderer."""
    left, bottom, right, top = bounds
    return fig.image(
        "image",
        x=left,
        y=bottom,
        dw=right - left,
        dh=top - bottom,
        color_mapper=mapper,  # type: ignore[call-arg]  # a glyph property bokeh's stubs omit
        source=source,
        **glyph,
    )
