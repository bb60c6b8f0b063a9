"""What a session costs and what sessions share (docs/reliability.md, "Serving a class"): read-only
data is computed once per process, every session's state is its own, and a served page builds
only its first map before the browser has loaded it (`meltwater_dashboard.progressive`)."""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.document import Document
from bokeh.model import Model
from bokeh.models import ColumnDataSource
from panel.io.state import set_curdoc

from meltwater_dashboard.app import build_app
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.context import locator_svg, map_context
from meltwater_dashboard.views.maps import result_maps


def _session(store) -> tuple[DashboardState, Model]:
    state = DashboardState(source="toy", store=store, year=2019)
    return state, build_app(state).get_root(Document())


def _images(root: Model) -> list[np.ndarray]:
    """The map images of a rendered page (the hillshade's and the layers')."""
    return [
        np.array(m.data["image"][0])
        for m in root.references()
        if isinstance(m, ColumnDataSource) and "image" in m.data and "dw" in m.data
    ]


def test_a_second_session_reuses_what_the_first_computed(store):
    first, _ = _session(store)
    hits = store.hillshade.cache_info().hits
    misses = store.hillshade.cache_info().misses
    second, _ = _session(store)
    assert store.hillshade.cache_info().misses == misses  # not computed again
    assert store.hillshade.cache_info().hits > hits
    assert map_context(second) is map_context(first)  # one context for every map and session
    assert locator_svg(second) is locator_svg(first)


def test_two_sessions_do_not_share_mutable_state(store):
    a, doc_a = _session(store)
    b, doc_b = _session(store)
    before_b = [img.copy() for img in _images(doc_b)]
    a.param.update(day=5, model="mar_interp", ablate=["dem"], pixel=(300_550.0, -2_500_550.0))
    assert (b.day, b.model, b.ablate, b.pixel) == (0, "unet", [], None)
    own = {m.id for m in doc_a.references()}  # every session has its own Bokeh models
    assert not own & {m.id for m in doc_b.references()}
    after_b = _images(doc_b)
    assert len(after_b) == len(before_b) > 0
    assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(before_b, after_b, strict=True))
    assert any(  # while a's maps moved to its new day
        not np.array_equal(x, y, equal_nan=True)
        for x, y in zip(_images(doc_a), before_b, strict=True)
    )


def test_a_served_page_builds_its_first_map_then_the_others_once_loaded(state):
    state.compare = True
    doc = Document()
    pn.state._loaded[doc] = False  # as in a server session before its browser has the page
    with set_curdoc(doc):
        maps = result_maps(state)
        kinds = [type(m).__name__ for m in maps]
        assert kinds == ["Column", "Spacer", "Spacer", "Spacer", "Spacer"]
        assert all(m.loading for m in maps[1:])
        pn.state._on_load(doc)  # the browser has drawn the page
        titles = [m[0].object for m in maps]
    pn.state._loaded.pop(doc, None)
    assert len(titles) == 5 and "Prediction" in titles[0] and "Error" in titles[-1]
