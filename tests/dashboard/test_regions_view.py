"""Regions tab and the ``region`` link value on the toy cube (tests/fixtures/toycube.py).

The toy's DEM (0–390 m) is one band, ``elev-0-500``, and every land pixel is within 5 km of
the ocean (columns 0–9): both regions are the 2000 land pixels. Over them: unet 0.375 every
day, mar_interp 1, SAR 0.5 on its 6 scene days of 2019; MAR melt (WA1 0.01 on columns 35–59)
0.5; PMW 0. Metrics: unet MAE 0.125, bias −0.125, accuracy 1; mar_interp 0.5, 0.5, 0.5.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.events import SelectionGeometry
from fixtures.toycube import make_mar_toy_cube

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.url import apply_url, query_string
from meltwater_dashboard.views.regions import parse_region, regions, regions_tab, summary


@pytest.fixture
def state():
    pn.state.clear_caches()
    return DashboardState(source="toy", store=Store({"toy": make_mar_toy_cube()}), year=2019)


def test_predefined_regions_of_the_toy(state):
    r = regions(state)
    assert list(r) == ["elev-0-500", "coast-5km"]
    assert all(m.sum() == 2000 for m in r.values())


def test_series_and_metrics(state):
    s = summary(state, "coast-5km").result(timeout=30)
    mean = s["mean"].sel(region="coast-5km")
    np.testing.assert_allclose(mean.sel(series="unet"), 0.375, rtol=1e-6)
    np.testing.assert_allclose(mean.sel(series="mar_interp"), 1.0)
    np.testing.assert_allclose(mean.sel(series="mar"), 0.5)
    np.testing.assert_allclose(mean.sel(series="pmw"), 0.0)
    np.testing.assert_allclose(mean.sel(series="sar").values[::2], 0.5)
    m = s["metrics"].sel(region="coast-5km")
    np.testing.assert_allclose(m.sel(model="unet"), [0.125, -0.125, 1.0], rtol=1e-6)
    np.testing.assert_allclose(m.sel(model="mar_interp"), [0.5, 0.5, 0.5])
    assert int(s.n_images.sel(region="coast-5km")) == 6


def test_box_region_is_read_alone(state):
    box = "300000,-2502000,303500,-2500000"  # top 20 rows, columns 0–34: 20 × 25 land pixels
    s = summary(state, box).result(timeout=30)
    assert int(s.pixels.sel(region=box)) == 500
    np.testing.assert_allclose(s["mean"].sel(region=box, series="unet"), 0.75, rtol=1e-6)
    np.testing.assert_allclose(s["mean"].sel(region=box, series="mar"), 0.0)


def test_parse_region(state):
    assert parse_region(state, "coast-5km") == "coast-5km"
    assert parse_region(state, " 303500, -2500000 ,300000,-2502000") == (
        "300000,-2502000,303500,-2500000"
    )
    for bad in ("glacier", "1,2,3,4", "300000,-2502000,300000,-2500000", "a,b,c,d", "nan"):
        assert parse_region(state, bad) is None


def test_region_in_the_link(state):
    assert apply_url(state, {"region": "elev-0-500"}, notify=False) == []
    assert state.region == "elev-0-500" and "region=elev-0-500" in query_string(state)
    rejected = apply_url(state, {"region": "<script>x</script>"}, notify=False)
    assert rejected == ["region '<script>x</script>'"] and state.region == "elev-0-500"


def test_tab_draws_follows_and_exports(state):
    state.tab = "regions"
    tab = regions_tab(state)
    tab.get_root(Document())
    view_map = tab[2][0].object
    summary(state, state.region).result(timeout=30)
    state.region = "coast-5km"  # done: drawn at once
    table = tab[2][1]
    assert 'class="sel"><th>unet</th><td>0.125</td><td>-0.125</td><td>1.000</td>' in table.object
    plot = tab[4].object
    line = next(r for r in plot.renderers if r.glyph.line_width == 3.5)
    np.testing.assert_allclose(line.data_source.data["y"], 0.375, rtol=1e-6)
    state.model = "mar_interp"
    assert 'class="sel"><th>mar_interp' in table.object
    csv = tab[1][1].callback().read()
    assert csv.splitlines()[0] == "date,unet,mar_interp,sar,mar,pmw"
    assert csv.splitlines()[1].startswith("2019-06-01,0.375,1,0.5,0.5,0")
    geometry = {"type": "rect", "x0": 300000.0, "y0": -2502000.0, "x1": 303500.0, "y1": -2500000.0}
    view_map._trigger_event(SelectionGeometry(view_map, geometry=geometry, final=True))
    assert state.region == "300000,-2502000,303500,-2500000"
    image = view_map.renderers[1].data_source.data["image"][0]
    assert image.sum() == 500 and image[-20:, 10:35].all()  # bottom row first: the top rows


def test_hidden_tab_costs_nothing(state):
    state.tab = "regions"
    tab = regions_tab(state)
    tab.get_root(Document())
    span = next(a for a in tab[4].object.center if getattr(a, "dimension", "") == "height")
    state.tab = "maps"
    before = span.location
    state.day = 3
    assert span.location == before
    state.tab = "regions"
    assert before == 61 and span.location == 64  # 1 and 4 June
