"""The guided tour in the sidebar (steps of `dashboard.tour`) and the inputs' explanations."""

from __future__ import annotations

import panel as pn

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.tour import INPUTS_HELP, TOUR
from meltwater_dashboard.url import apply_url

__all__ = ["go_to_step", "inputs_help", "tour_panel"]


def go_to_step(state: DashboardState, n: int) -> None:
    """Show tour step ``n`` (1-based) as its link would; 0 leaves the tour (the view stays)."""
    if n == 0:
        state.tour = 0
        return
    apply_url(state, {"tour": str(n)})


def _text(n: int) -> str:
    if not n:
        return ""
    step = TOUR[n - 1]
    return f"**Step {n} of {len(TOUR)}: {step.title}**\n\n{step.text}"


def inputs_help() -> pn.Card:
    """A collapsed card that explains every input."""
    return pn.Card(
        pn.pane.Markdown(INPUTS_HELP, sizing_mode="stretch_width"),
        title="What are the inputs?",
        collapsed=True,
        sizing_mode="stretch_width",
    )


def tour_panel(state: DashboardState) -> pn.Column:
    """*Guided tour*, or *Back* / *Next* / *End tour* with the step's text."""
    w = pn.widgets
    start = w.Button(label="Guided tour", color="primary", variant="outline")
    back = w.Button(label="◀ Back", width=80)
    nxt = w.Button(label="Next ▶", width=80)
    end = w.Button(label="End tour", width=90)
    start.on_click(lambda _: go_to_step(state, 1))
    back.on_click(lambda _: go_to_step(state, max(1, state.tour - 1)))
    nxt.on_click(lambda _: go_to_step(state, min(len(TOUR), state.tour + 1)))
    end.on_click(lambda _: go_to_step(state, 0))

    def sync(*_) -> None:
        on = bool(state.tour)
        start.visible = not on
        controls.visible = on
        back.disabled = state.tour <= 1
        nxt.disabled = state.tour >= len(TOUR)

    controls = pn.Row(back, nxt, end)
    text = pn.pane.Markdown(pn.bind(_text, state.param.tour), sizing_mode="stretch_width")
    state.param.watch(sync, "tour")
    sync()
    return pn.Column(start, controls, text, sizing_mode="stretch_width")
