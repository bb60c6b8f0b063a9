"""Map context (`dashboard.views.context`): scale bar, north arrow, lat/lon lines, locator."""

from __future__ import annotations

import dataclasses

import holoviews as hv
import numpy as np
import panel as pn
import pytest
from bokeh.models import Text

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.context import (
    CONTEXT_RENDERER,
    GREENLAND,
    domain_outline,
    graticule,
    locator_svg,
    map_context,
    nice_length,
    north_arrow,
)


@pytest.mark.parametrize(("limit", "length"), [(12_800, 10_000), (3.0, 2.0), (0.7, 0.5), (5, 5)])
def test_nice_length(limit, length):
    assert nice_length(limit) == length


def test_scale_bar_has_a_nice_length_and_its_label(state):
    g = state.store.grid("toy")
    context = map_context(state)
    bar = next(p for p, _ in context.strokes if np.ptp(p[:, 1]) == 0)
    length = float(np.ptp(bar[:, 0]))
    assert length == nice_length((g.bounds[2] - g.bounds[0]) / 5)
    labels = [t.text for t in context.labels]
    assert (f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m") in labels


def test_north_arrow_points_to_higher_latitude_along_a_meridian(state):
    g = state.store.grid("toy")
    shaft, (hx, hy, _), label = north_arrow(g)
    (x0, y0), (x1, y1) = shaft
    lon0, lat0 = g.lonlat(x0, y0)
    lon1, lat1 = g.lonlat(x1, y1)
    assert lat1 > lat0 and abs(lon1 - lon0) < 1e-3
    assert (hx, hy) == (x1, y1) and label.text == "N"


def test_graticule_lines_are_inside_the_map_and_labelled_in_degrees(state):
    g = state.store.grid("toy")
    left, bottom, right, top = g.bounds
    lines, labels = graticule(g)
    assert lines and all(
        ((x >= left) & (x <= right) & (y >= bottom) & (y <= top)).all()
        for x, y in ((line[:, 0], line[:, 1]) for line in lines)
    )
    assert labels and all(t.text.endswith(("°N", "°W")) for t in labels)


def test_the_context_is_computed_once_and_drawn_once_per_figure(state):
    """Every session and map shares one context; a re-render (pan/zoom) adds no glyphs."""
    context = map_context(state)
    assert map_context(DashboardState(source="toy", store=state.store, year=2019)) is context
    plot = hv.renderer("bokeh").get_plot(hv.Image(np.zeros((2, 2))).opts(hooks=[context.draw]))
    before = len(plot.state.renderers)
    context.draw(plot, None)
    added = [r for r in plot.state.renderers if r.name == CONTEXT_RENDERER]
    assert len(plot.state.renderers) == before and len(added) == 4  # lines, strokes, text, head
    texts = next(r for r in added if isinstance(r.glyph, Text)).data_source.data["text"]
    assert list(texts) == [t.text for t in context.labels]


def test_locator_outlines_the_domain_on_greenland(state):
    assert GREENLAND[0] == GREENLAND[-1]
    lon, lat = domain_outline(state.store.grid("toy")).T
    assert -75 < lon.mean() < -10 and 59 < lat.mean() < 84
    svg = locator_svg(state)
    assert svg.startswith("<svg") and "Where this is" in svg
    assert pn.pane.SVG(svg).object == svg


def test_no_crs_no_arrow_lines_or_locator(state):
    g = dataclasses.replace(state.store.grid("toy"), to_lonlat=None)
    assert north_arrow(g) is None and graticule(g) is None and domain_outline(g) is None
