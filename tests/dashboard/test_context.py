"""Map context (`dashboard.views.context`): scale bar, north arrow, lat/lon lines, locator."""

from __future__ import annotations

import dataclasses

import holoviews as hv
import numpy as np
import panel as pn
import pytest

from meltwater_dashboard.views.context import (
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
    overlay = map_context(state)
    paths = [e for e in overlay if isinstance(e, hv.Path)]
    bar = next(
        p for p in paths if len(p.data) == 1 and len(p.data[0]) == 2 and np.ptp(p.data[0]["y"]) == 0
    )
    length = float(np.ptp(bar.data[0]["x"]))
    assert length == nice_length((g.bounds[2] - g.bounds[0]) / 5)
    labels = [e.text for e in overlay if isinstance(e, hv.Text)]
    assert (f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m") in labels


def test_north_arrow_points_to_higher_latitude_along_a_meridian(state):
    g = state.store.grid("toy")
    shaft = next(e for e in north_arrow(g) if isinstance(e, hv.Path)).data[0]
    (x0, x1), (y0, y1) = shaft["x"], shaft["y"]
    lon0, lat0 = g.lonlat(x0, y0)
    lon1, lat1 = g.lonlat(x1, y1)
    assert lat1 > lat0 and abs(lon1 - lon0) < 1e-3


def test_graticule_lines_are_inside_the_map_and_labelled_in_degrees(state):
    g = state.store.grid("toy")
    left, bottom, right, top = g.bounds
    overlay = graticule(g)
    path = [e for e in overlay if isinstance(e, hv.Path)][0]
    lines = [(sub.dimension_values("x"), sub.dimension_values("y")) for sub in path.split()]
    labels = [e.text for e in overlay if isinstance(e, hv.Text)]
    assert lines and all(
        ((x >= left) & (x <= right) & (y >= bottom) & (y <= top)).all() for x, y in lines
    )
    assert labels and all(t.endswith(("°N", "°W")) for t in labels)


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
