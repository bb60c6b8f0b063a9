"""MeltwaterBench Explorer dashboard: ``panel serve dashboard/app.py`` (assembly only)."""

from __future__ import annotations

import panel as pn

from meltwater.errors import MeltwaterError
from meltwater_dashboard.escape import markdown_text
from meltwater_dashboard.keys import TabKeys
from meltwater_dashboard.offline import serve_css_locally
from meltwater_dashboard.opening import open_story
from meltwater_dashboard.redraw import TABS
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.url import keep_query_raw, link_url
from meltwater_dashboard.views.analysis import ANALYSIS_VIEWS
from meltwater_dashboard.views.curves import curves_tab
from meltwater_dashboard.views.maps import input_maps
from meltwater_dashboard.views.pending import pending_banner
from meltwater_dashboard.views.pixel_errors import errors_tab
from meltwater_dashboard.views.sidebar import sidebar
from meltwater_dashboard.views.swipe import maps_tab

TAB_TITLES = {"maps": "Maps", "inputs": "Inputs", "curves": "Curves", "errors": "Pixel errors"}
TAB_TITLES.update({tab: title for tab, (title, _) in ANALYSIS_VIEWS.items()})


def build_app(state: DashboardState | None = None, sync_url: bool = False) -> pn.viewable.Viewable:
    """The whole page for one session.

    With ``sync_url`` the state follows the opened link and is mirrored in the query string; a
    link without values opens on the story day (`opening.open_story`).
    """
    state = state or DashboardState()
    views = {
        "maps": pn.bind(
            lambda *_: maps_tab(state),
            state.param.source,
            state.param.compare,
            state.swipe.param.on,
        ),
        "inputs": pn.bind(lambda *_: input_maps(state), state.param.source),
        "curves": pn.bind(lambda *_: curves_tab(state), state.param.source),
        "errors": pn.bind(lambda *_: errors_tab(state), state.param.source),
    }
    for tab, (_, view) in ANALYSIS_VIEWS.items():
        views[tab] = pn.bind(lambda *_, view=view: view(state), state.param.source)
    # lazy: a tab's views are built when it is first shown, not for every session up front
    tabs = pn.Tabs(
        *[
            (TAB_TITLES[t], pn.panel(views[t], lazy=True, sizing_mode="stretch_width"))
            for t in TABS
        ],
        dynamic=True,
        active=TABS.index(state.tab),
        sizing_mode="stretch_width",
    )
    tabs.param.watch(lambda e: setattr(state, "tab", TABS[e.new]), "active")
    state.param.watch(lambda e: setattr(tabs, "active", TABS.index(e.new)), "tab")
    keys = TabKeys(width=0, height=0, margin=0)
    main = pn.Column(pending_banner(state), tabs, sizing_mode="stretch_width")
    page = pn.Row(sidebar(state), main, keys, sizing_mode="stretch_width")
    if sync_url:
        keep_query_raw()
        location = pn.state.location
        search = location.search if location is not None else ""
        if not search.strip("?"):
            open_story(state)
        page.append(link_url(state, search))
    return page


def main_page() -> pn.viewable.Viewable:
    """The served page; a clear message instead of a traceback when no usable cube exists."""
    serve_css_locally()
    try:
        state = DashboardState()
        app = build_app(state, sync_url=True)
    except MeltwaterError as e:
        text = markdown_text(e, limit=400)
        return pn.pane.Alert(f"MeltwaterBench Explorer cannot start: {text}", alert_type="danger")
    state.store.preload_unet(state.source)
    return app


pn.extension(notifications=True, loading_indicator=True)
# what `pn.state.served` checks, without its `inspect.stack()` (~0.2 s of every session)
if __name__.startswith("bokeh_app_"):
    main_page().servable(title="MeltwaterBench Explorer")
