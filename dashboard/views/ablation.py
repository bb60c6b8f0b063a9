"""Input-channel toggles: switching a channel off reruns the UNet on the shown day (the maps'
window first, the rest of the domain in the background: a status line says how far it is)."""

from __future__ import annotations

import pandas as pd
import panel as pn

from meltwater_dashboard.escape import markdown_text
from meltwater_dashboard.state import CHANNELS, DashboardState
from meltwater_dashboard.views.curves import metrics_text

__all__ = ["ablation_panel"]

LABELS = {"pmw": "PMW", "mar_wa1": "MAR", "sar_interp": "SAR interp", "dem": "DEM"}


def ablation_panel(state: DashboardState) -> pn.layout.Panel:
    """Channel toggles (pressed = used by the UNet), a busy spinner and the day's metric change."""
    toggles = pn.widgets.CheckButtonGroup(
        options={LABELS[c]: c for c in CHANNELS},
        value=[c for c in CHANNELS if c not in state.ablate],
        color="primary",
        variant="outline",
        sizing_mode="stretch_width",
    )

    def on_toggle(event) -> None:
        state.ablate = [c for c in CHANNELS if c not in event.new]

    def on_state(event) -> None:
        used = [c for c in CHANNELS if c not in state.ablate]  # now, not the (stale) event
        if toggles.value != used:
            toggles.value = used

    toggles.param.watch(on_toggle, "value")
    toggles.disabled = bool(state.ablation_error)
    state.param.watch(lambda e: setattr(toggles, "disabled", bool(e.new)), "ablation_error")
    state.param.watch(on_state, "ablate")
    spinner = pn.indicators.LoadingSpinner(
        value=state.param.busy, size=20, label="running the UNet…", visible=state.param.busy
    )

    nothing = pd.DataFrame()  # the same object every time: no redraw while all inputs are on

    def change(*_) -> pd.DataFrame:
        """The ablated UNet's metrics minus the full UNet's, on the shown day."""
        if not state.ablation or not state.ablation_ready:  # Δ over the whole domain only
            return nothing
        df = state.day_metrics()
        ablated = state.run_name("unet")
        if "unet" not in df.index or ablated not in df.index:
            return nothing
        delta = df.loc[[ablated]] - df.loc["unet"]
        delta.index = [f"Δ {i}" for i in delta.index]
        return metrics_text(delta, signed=True)

    def hint_text(off: list[str], error: str) -> str:
        if error:
            return f"Input switches unavailable: {markdown_text(error, limit=300)}"
        return "" if off else "All inputs on. Switch one off to rerun the UNet on this day."

    def status_text(text: str) -> str:  # the app's own line, longer than a user value's cut
        return markdown_text(text, limit=300)

    hint = pn.pane.Markdown(pn.bind(hint_text, state.param.ablate, state.param.ablation_error))
    status = pn.pane.Markdown(
        pn.bind(status_text, state.param.ablation_status),
        visible=pn.bind(bool, state.param.ablation_status),
        css_classes=["mw-ablation-status"],
        margin=(0, 10),
    )
    table = pn.pane.DataFrame(
        pn.bind(change, state.param.ablate, state.param.day, state.param.year, state.param.busy),
        visible=pn.bind(bool, state.param.ablate),
        sizing_mode="stretch_width",
    )
    return pn.Column(
        pn.pane.Markdown("**UNet inputs** (off = ablated)"), toggles, spinner, hint, table, status
    )
