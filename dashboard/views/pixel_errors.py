"""Per-pixel error over the season vs SAR, and the time series of a tapped pixel."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn

from meltwater.schema import pred_var
from meltwater_dashboard.state import MONTH_NAMES, MONTHS, DashboardState
from meltwater_dashboard.views.curves import named_series
from meltwater_dashboard.views.grid import responsive_grid
from meltwater_dashboard.views.maps import STYLES, map_panel

__all__ = ["error_maps", "errors_tab", "pixel_frame", "pixel_plot"]

TS_OPTS = dict(frame_width=520, frame_height=170, show_grid=True, tools=["hover"])


def _pixel_errors(state: DashboardState):
    months = tuple(sorted(state.months)) or MONTHS
    return state.store.pixel_errors(state.source, state.model, int(state.year), months)


def error_maps(state: DashboardState) -> pn.GridBox:
    """Per-pixel MAE and mean bias of the selected model over the selected months."""

    def title(kind: str):
        def text() -> str:
            e = _pixel_errors(state)
            return f"{STYLES[kind][0]}: {state.model}, {state.year} ({e.attrs['days']} SAR days)"

        return text

    def getter(kind: str):
        def values() -> np.ndarray:
            arr = _pixel_errors(state)[kind].values
            return arr if state.store.grid(state.source).y_descending else arr[::-1]

        return values

    return responsive_grid(
        *[map_panel(state, k, getter(k), title(k), "tick_errors") for k in ("mae", "bias")]
    )


def pixel_frame(state: DashboardState) -> pd.DataFrame | None:
    """Inputs, SAR and shown models' predictions at the tapped pixel over the season."""
    if state.pixel is None:
        return None
    variables = ("sar", "sar_interp", "pmw", "mar_wa1", *[pred_var(m) for m in state.shown_models])
    x, y = state.pixel
    return state.store.pixel_series(
        state.source, x, y, tuple(dict.fromkeys(variables)), int(state.year)
    )


def pixel_plot(state: DashboardState) -> pn.viewable.Viewable:
    """Time series of the tapped pixel: melt fraction panel and the two physical inputs."""
    df = pixel_frame(state)
    if df is None:
        return pn.pane.Markdown("Tap a pixel on any map to see its time series.")
    g = state.store.grid(state.source)
    ll = g.lonlat(df.attrs["x"], df.attrs["y"])
    where = f"x {df.attrs['x']:.0f} m, y {df.attrs['y']:.0f} m"
    if ll is not None:
        where += f" (lat {ll[1]:.4f}°, lon {ll[0]:.4f}°)"
    melt = hv.Dimension("melt", label="melt fraction", range=(0, 1))
    line = hv.VLine(state.date).opts(color="red", line_dash="dashed")
    layers = [named_series(df[pred_var(m)], "date", melt, m)[0] for m in state.shown_models]
    layers.append(named_series(df["sar_interp"], "date", melt, "SAR interpolated")[0])
    layers.append(named_series(df["sar"].dropna(), "date", melt, "SAR", size=7)[1])
    top = (hv.Overlay(layers) * line).opts(title=f"Pixel {where}", legend_position="right")
    pmw = hv.Curve((df.index, df["pmw"]), "date", hv.Dimension("pmw", label="PMW", unit="K"))
    mar = hv.Curve((df.index, df["mar_wa1"]), "date", hv.Dimension("mar", label="MAR WA1"))
    layout = (top + pmw * line + mar * line).cols(1)
    return pn.pane.HoloViews(
        layout.opts(hv.opts.Curve(**TS_OPTS), hv.opts.Scatter(color="black", tools=["hover"]))
    )


def errors_tab(state: DashboardState) -> pn.layout.Panel:
    """Months picker, the two per-pixel error maps and the tapped pixel's series."""
    months = pn.widgets.CheckButtonGroup.from_param(
        state.param.months, options={MONTH_NAMES[m]: m for m in MONTHS}, label="Months"
    )
    series = pn.bind(lambda *_: pixel_plot(state), state.param.tick_series)
    return pn.Column(months, error_maps(state), series)
