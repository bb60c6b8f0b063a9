"""The sidebar, grouped by question: *When* (source, season, the day control), *What* (model,
compare, side-by-side or swipe maps and the swipe's layers), *Inputs* (the UNet's input switches
and what each input is), *Where* (values at the pointer, the level and window the maps read,
the locator) and *Export*.

Each group is a collapsible card whose header is a button (Tab reaches it; Enter or Space
folds it) carrying the group's heading; *Export* starts folded.
"""

from __future__ import annotations

import panel as pn

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.ablation import ablation_panel
from meltwater_dashboard.views.animation import animation_panel
from meltwater_dashboard.views.context import locator_svg
from meltwater_dashboard.views.export import export_panel
from meltwater_dashboard.views.maps import readout
from meltwater_dashboard.views.player import DayPlayer
from meltwater_dashboard.views.tour import inputs_help, tour_panel

__all__ = ["GROUPS", "MAP_MODES", "group", "sidebar", "what_panel"]

GROUPS = ("When", "What", "Inputs", "Where", "Export")
MAP_MODES = {"Side by side": False, "Swipe": True}
WIDTH = 330


def group(title: str, *objects, collapsed: bool = False) -> pn.Card:
    """A collapsible sidebar group headed ``title``."""
    return pn.Card(
        *objects,
        title=title,
        collapsed=collapsed,
        sizing_mode="stretch_width",
        margin=(4, 0),
        styles={"border": "1px solid #ddd"},
    )


def what_panel(state: DashboardState) -> pn.Column:
    """Model, compare with a second model, and the maps' mode: side by side, or a swipe between
    two layers (its left and right layer)."""
    w, sw = pn.widgets, state.swipe
    mode = w.RadioButtonGroup.from_param(
        sw.param.on, options=MAP_MODES, name="Maps", color="primary", variant="outline"
    )
    layers = pn.Row(
        w.Select.from_param(sw.param.left, name="Swipe: left", width=145),
        w.Select.from_param(sw.param.right, name="right", width=145),
        visible=sw.param.on,
    )
    return pn.Column(
        w.Select.from_param(state.param.model, label="Model"),
        pn.Row(
            w.Checkbox.from_param(state.param.compare, label="Compare with"),
            w.Select.from_param(state.param.model_b, label="", width=150),
        ),
        pn.pane.Markdown("Maps", margin=(0, 10)),
        mode,
        layers,
        sizing_mode="stretch_width",
    )


def sidebar(state: DashboardState) -> pn.Column:
    """The page's sidebar for one session."""
    w = pn.widgets
    when = group(
        "When",
        w.Select.from_param(state.param.source, label="Source"),
        w.Select.from_param(state.param.year, label="Season"),
        DayPlayer(state).panel(),
    )
    where = group(
        "Where",
        pn.pane.Markdown("**Values at the pointer**"),
        pn.pane.HTML(pn.bind(lambda *_: readout(state), state.param.hover, state.param.tick_maps)),
        pn.pane.Str(state.param.map_detail, styles={"font-size": "12px"}),
        pn.pane.SVG(pn.bind(lambda *_: locator_svg(state), state.param.source), width=220),
    )
    return pn.Column(
        pn.pane.Markdown(
            "## MeltwaterBench Explorer\nDaily 100 m surface meltwater, Helheim Glacier"
        ),
        tour_panel(state),
        when,
        group("What", what_panel(state)),
        group("Inputs", ablation_panel(state), inputs_help()),
        where,
        group("Export", export_panel(state), animation_panel(state), collapsed=True),
        width=WIDTH,
    )
