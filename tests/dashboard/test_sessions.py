"""What a session costs and what sessions share (docs/reliability.md, "Serving a class"): read-only
data is computed once per process, every session's state is its own, and a served page builds
only its first map before the browser has loaded it (`meltwater_dashboard.progressive`)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import panel as pn
from bokeh.document import Document
from bokeh.model import Model
from bokeh.models import ColumnDataSource
from panel.io.state import set_curdoc

from meltwater_dashboard import progressive
from meltwater_dashboard import store as store_module
from meltwater_dashboard.app import build_app
from meltwater_dashboard.progressive import Backlog
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
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


class _Loop:
    """A stand-in server loop for `Backlog`: `run` runs what is due now (timers set for later,
    e.g. the backlog's re-check while a page waits, are left out)."""

    def __init__(self) -> None:
        self.timers: list[Callable[[], None]] = []
        self.ran: list[tuple[str, int]] = []

    def later(self, delay: float, fn: Callable[[], None]) -> None:
        if delay <= 0:
            self.timers.append(fn)

    def submit(self, doc: Document, job: Callable[[], None]) -> None:
        job()

    def run(self) -> None:
        while self.timers:
            self.timers.pop(0)()


def _job(loop: _Loop, name: str, i: int) -> Callable[[], None]:
    return lambda: loop.ran.append((name, i))


def test_the_backlog_builds_no_deferred_view_while_a_session_waits_for_its_first():
    loop = _Loop()
    backlog = Backlog(quiet=0.0, submit=loop.submit, later=loop.later)
    a, b, c = Document(), Document(), Document()
    for doc in (a, b, c):
        backlog.opened(doc)
    backlog.loaded(a, [_job(loop, "a", 1), _job(loop, "a", 2)])
    loop.run()
    assert loop.ran == [] and backlog.waiting == 2 and backlog.pending == 2
    backlog.loaded(b, [_job(loop, "b", 1)])
    loop.run()
    assert loop.ran == []  # c still waits for its first map
    backlog.closed(c)  # a page that went away holds no one back
    loop.run()
    assert loop.ran == [("a", 1), ("a", 2), ("b", 1)]  # in the order the pages loaded
    assert backlog.done == 3 and backlog.pending == 0


def test_the_backlog_drops_a_closed_sessions_views_and_ignores_a_page_that_never_loads():
    loop = _Loop()
    backlog = Backlog(quiet=0.0, max_wait=0.0, submit=loop.submit, later=loop.later)
    a, b, never = Document(), Document(), Document()
    backlog.opened(a)
    backlog.opened(b)
    backlog.opened(never)
    backlog.loaded(a, [_job(loop, "a", 1)])
    backlog.loaded(b, [_job(loop, "b", 1)])
    backlog.closed(a)
    loop.run()  # `never` has waited longer than max_wait (0 s): it no longer counts
    assert loop.ran == [("b", 1)]


def test_a_parked_session_holds_no_one_back_until_it_is_handed_to_a_page():
    loop = _Loop()
    backlog = Backlog(quiet=0.0, submit=loop.submit, later=loop.later)
    pooled, other, unknown = Document(), Document(), Document()
    backlog.opened(pooled)  # built ahead of a class (session_pool), then parked
    backlog.park(pooled)
    backlog.opened(other)
    backlog.loaded(other, [_job(loop, "other", 1)])
    loop.run()
    assert loop.ran == [("other", 1)] and backlog.waiting == 0  # the pooled one did not block
    backlog.resume(pooled)  # handed to a page: it waits for its first view again
    backlog.resume(unknown)  # never parked: resuming it changes nothing
    assert backlog.waiting == 1
    backlog.loaded(other, [_job(loop, "other", 2)])
    loop.run()
    assert loop.ran == [("other", 1)]  # held back by the handed-out page
    backlog.loaded(pooled, [_job(loop, "pooled", 1)])
    loop.run()
    assert loop.ran == [("other", 1), ("other", 2), ("pooled", 1)]


def _in_doc(doc: Document, job: Callable[[], None]) -> None:
    with set_curdoc(doc):
        job()


def test_served_pages_get_their_other_maps_once_every_first_map_is_shown(state, monkeypatch):
    """Served: each page's first map is built with it, the others by the backlog once no page
    waits for its first map."""
    loop = _Loop()
    backlog = Backlog(quiet=0.0, submit=_in_doc, later=loop.later)
    monkeypatch.setattr(progressive, "BACKLOG", backlog)
    state.compare = True
    docs = [Document(), Document()]
    grids, roots = [], []
    for doc in docs:
        context = SimpleNamespace(id=str(id(doc)), request=SimpleNamespace(arguments={}))
        doc._session_context = lambda context=context: context  # as a served session's
        with set_curdoc(doc):
            grids.append(result_maps(state))
            roots.append(grids[-1].get_root(doc))
    assert backlog.waiting == 2
    with set_curdoc(docs[0]):
        pn.state._on_load(docs[0])  # the first browser has drawn its page
    loop.run()
    kinds = [type(m).__name__ for m in grids[0]]
    assert kinds == ["Column", "Spacer", "Spacer", "Spacer", "Spacer"]  # the second page waits
    with set_curdoc(docs[1]):
        pn.state._on_load(docs[1])
    loop.run()
    for grid, root in zip(grids, roots, strict=True):
        titles = [m[0].object for m in grid]
        assert len(titles) == 5 and "Prediction" in titles[0] and "Error" in titles[-1]
        figures = [m[1]._plots[root.ref["id"]][0].state for m in grid]
        assert len({id(f.x_range) for f in figures}) == 1  # the added maps pan with the first
    assert backlog.done == 8
    for doc in docs:
        pn.state._loaded.pop(doc, None)


def test_sessions_opened_together_read_the_catalog_once(monkeypatch):
    reads: list[int] = []
    real = store_module.load_catalog
    monkeypatch.setattr(store_module, "load_catalog", lambda: reads.append(1) or real())
    fresh = Store()
    first = fresh.available_sources()
    assert fresh.available_sources() == first and len(reads) == 1  # reused within the TTL
    monkeypatch.setattr(store_module, "SOURCES_TTL", 0.0)
    assert fresh.available_sources() == first and len(reads) == 2  # then read again
