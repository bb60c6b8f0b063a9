"""Season curves: daily bias and melt fraction vs SAR, melt area, monthly bias, day metrics.

Curves come from `Store.daily_summary` (computed from the cube's predictions once per source and
year; a remote cube's are only read, and a missing one leaves the plots empty under a notice
that names it, `summary_notice`). The current day is a VLine in its own DynamicMap, so
scrubbing only moves the line; a tap on a curve plot selects the nearest day.
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import xarray as xr

from meltwater.errors import MeltwaterError
from meltwater.models.registry import MODEL_NAMES
from meltwater.schema import CHANNELS, UNET, run_name
from meltwater_dashboard.escape import markdown_text
from meltwater_dashboard.state import MONTH_NAMES, DashboardState
from meltwater_dashboard.views.grid import PLOT_MIN_PX, responsive_grid

__all__ = [
    "curves_tab",
    "day_line",
    "legend_height",
    "metrics_text",
    "model_color",
    "named_series",
    "monthly_plot",
    "results_section",
    "season_plot",
    "summary_frame",
    "summary_notice",
]

PLOTS = {
    "bias": ("Daily bias vs SAR (prediction − SAR, SAR days)", "bias", "melt fraction"),
    "melt_fraction": ("Mean melt fraction on valid SAR pixels", "melt fraction", "melt fraction"),
    "valid_melt_area_km2": (
        "Melt area (> 0.1) on the valid SAR pixels of each SAR day",
        "melt area",
        "km²",
    ),
}
SAR_VAR = {"melt_fraction": "sar_melt_fraction", "valid_melt_area_km2": "sar_melt_area_km2"}

PLOT_HEIGHT = 280
LEGEND_ROW_PX = 23  # one legend entry of a Bokeh plot at the default font
PLOT_CHROME_PX = 100  # title, x axis and the legend's padding around the frame


def legend_height(entries: int) -> int:
    """A plot height whose frame holds a right-hand legend of ``entries`` rows (≥ PLOT_HEIGHT)."""
    return max(PLOT_HEIGHT, PLOT_CHROME_PX + LEGEND_ROW_PX * entries)


# Category10 without its grey, then Category20b's darkest: one colour per model of
# `MODEL_ORDER` (spelled out so the module does not need a plotting backend at import)
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939", "#843c39",
]  # fmt: skip
# every model the dashboard can plot, in the order of their colours: the same colour for a
# model in every plot, whichever others are shown
MODEL_ORDER = (*MODEL_NAMES, *(run_name(UNET, (c,)) for c in CHANNELS))


def model_color(model: str) -> str:
    """The colour of ``model`` (a `MODEL_ORDER` name) in every plot; grey for another name."""
    return PALETTE[MODEL_ORDER.index(model) % len(PALETTE)] if model in MODEL_ORDER else "grey"


# plots fill their grid cell's width (`views.grid`) at a fixed height
SIZE = dict(responsive=True, height=PLOT_HEIGHT, min_width=PLOT_MIN_PX)
OPTS = dict(**SIZE, show_grid=True, tools=["hover", "tap"])


def summary_frame(state: DashboardState) -> pd.DataFrame:
    """The season's daily summary as a wide table (one column per variable and model)."""
    ds = state.store.daily_summary(state.source, int(state.year))
    cols = {}
    for var in map(str, ds.data_vars):
        da = ds[var]
        if "model" in da.dims:
            for m in ds.model.values:
                cols[f"{var}_{m}"] = da.sel(model=m).to_series()
        else:
            cols[var] = da.to_series()
    return pd.DataFrame(cols).rename_axis("date")


def summary_notice(state: DashboardState) -> str:
    """Why the season's curves are empty (its summary cannot be had: a remote cube without the
    stored one), as escaped Markdown; ``""`` when they are drawn."""
    try:
        state.store.daily_summary(state.source, int(state.year))
    except MeltwaterError as e:
        return f"No season curves for {state.year}: {markdown_text(e, limit=400)}"
    return ""


def _no_curves(kdim: str, vdim: str) -> hv.Overlay:
    return hv.Overlay([hv.Curve([], kdim, vdim)])


def named_series(
    s: pd.Series,
    kdim: str,
    vdim: hv.Dimension,
    name: str,
    color: str | None = None,
    size: int = 4,
) -> list[hv.Element]:
    """A curve and its dots of ``s``; their hover names the series (``model``)."""
    data = pd.DataFrame({kdim: s.index, vdim.name: s.values, "model": name})
    vdims = [vdim, hv.Dimension("model")]
    style: dict[str, Any] = {} if color is None else {"color": color}
    if kdim == "date":  # the day without a time of day
        style["hover_tooltips"] = [
            ("model", "@{model}"),
            ("date", "@{date}{%F}"),
            (vdim.pprint_label, f"@{{{vdim.name}}}"),
        ]
        style["hover_formatters"] = {"@{date}": "datetime"}
    curve = hv.Curve(data, kdim, vdims, label=name).opts(**style)
    return [curve, hv.Scatter(data, kdim, vdims, label=name).opts(size=size, **style)]


def _curves(ds: xr.Dataset, var: str) -> hv.Overlay:
    _, label, unit = PLOTS[var]
    vdim = hv.Dimension(var, label=label, unit=unit)
    layers = []
    for m in ds.model.values:
        s = ds[var].sel(model=m).to_series().dropna()
        layers += named_series(s, "date", vdim, str(m), model_color(str(m)), 4)
    if var in SAR_VAR:
        s = ds[SAR_VAR[var]].to_series().dropna()
        layers.append(named_series(s, "date", vdim, "SAR", "black", 6)[1])
    if var == "bias":
        layers.append(hv.HLine(0).opts(color="grey"))
    return hv.Overlay(layers).opts(legend_position="right")


def _by_month(s: pd.Series) -> pd.Series:
    """A series over month numbers re-indexed by month names (Apr … Sep)."""
    return pd.Series(s.values, index=[MONTH_NAMES.get(int(m), str(m)) for m in s.index])


def day_line(state: DashboardState) -> hv.DynamicMap:
    """A VLine at the current day (moves without redrawing the curves)."""

    def line(day: int, year: int) -> hv.VLine:
        return hv.VLine(state.date).opts(color="red", line_width=2, line_dash="dashed")

    return hv.DynamicMap(line, streams=[hv.streams.Params(state, ["day", "year"])])


def season_plot(state: DashboardState, var: str) -> hv.DynamicMap:
    """Curves of ``var`` per model for the season, with the day line; tap to select a day."""

    def plot(source: str, year: int) -> hv.Overlay:
        try:
            ds = state.store.daily_summary(source, int(year))
        except MeltwaterError:  # said by `summary_notice` above the plots
            return _no_curves("date", var)
        return _curves(ds, var).opts(hv.opts.Curve(**OPTS), hv.opts.Scatter(**OPTS))

    dmap = hv.DynamicMap(plot, streams=[hv.streams.Params(state, ["source", "year"])])
    line = day_line(state)
    # a Tap stream must hang on a DynamicMap of one element (not one returning an Overlay)
    tap = hv.streams.Tap(source=line)
    tap.add_subscriber(lambda x, y: state.jump_to(x))
    return (dmap * line).opts(title=PLOTS[var][0], legend_position="right")


def monthly_plot(state: DashboardState, var: str) -> hv.Overlay:
    """Monthly means of ``var`` (``bias`` or ``melt_fraction``) per model; SAR for the latter."""
    from meltwater.evaluation.summaries import monthly_curves

    label = {"bias": "monthly mean bias", "melt_fraction": "monthly mean melt fraction"}[var]
    try:
        mon = monthly_curves(state.store.daily_summary(state.source, int(state.year)))
    except MeltwaterError:  # said by `summary_notice` above the plots
        return _no_curves("month", var).opts(title=label.capitalize())
    vdim = hv.Dimension(var, label=label, unit="melt fraction")
    series = [(str(m), model_color(str(m)), mon[var].sel(model=m)) for m in mon.model.values]
    if var == "melt_fraction":
        series.append(("SAR", "black", mon["sar_melt_fraction"]))
    layers = []
    for name, color, da in series:
        layers += named_series(_by_month(da.to_series()), "month", vdim, name, color, 6)
    if var == "bias":
        layers.append(hv.HLine(0).opts(color="grey"))
    title = f"{label.capitalize()} on SAR days, {state.year}"
    return hv.Overlay(layers).opts(
        hv.opts.Curve(**SIZE, show_grid=True),
        hv.opts.Scatter(tools=["hover"]),
        hv.opts.Overlay(title=title, legend_position="right"),
    )


def results_section(state: DashboardState) -> pn.viewable.Viewable:
    """Monthly / season-day bias and the metric table from `meltwater evaluate`'s results file."""
    res = state.store.results(state.source)
    if res is None:
        return pn.pane.Markdown(
            f"No evaluation results for {markdown_text(state.source)} (run `meltwater evaluate`)."
        )
    layers: dict[str, list[hv.Element]] = {"month": [], "season_day": []}
    vdim = hv.Dimension("bias", label="mean bias vs SAR", unit="melt fraction")
    for m in res.model.values:
        color = model_color(str(m))
        month = _by_month(res["month_bias"].sel(model=m).to_series().dropna())
        layers["month"] += named_series(month, "month", vdim, str(m), color, 6)
        sday = res["season_day_bias"].sel(model=m).to_series().dropna()
        layers["season_day"].append(named_series(sday, "season_day", vdim, str(m), color, 0)[0])
    split = res.attrs.get("split", "test")
    opts = dict(**SIZE, show_grid=True, legend_position="right")
    opts["height"] = legend_height(res.sizes["model"])  # ten models with the ablations
    month = (hv.Overlay(layers["month"]) * hv.HLine(0).opts(color="grey")).opts(
        hv.opts.Overlay(title=f"Monthly bias, {split} split, all years", **opts),
        hv.opts.Scatter(size=6, tools=["hover"]),
    )
    sday = (hv.Overlay(layers["season_day"]) * hv.HLine(0).opts(color="grey")).opts(
        hv.opts.Overlay(title=f"Bias by day of season (0 = 1 April), {split} split", **opts),
        hv.opts.Curve(tools=["hover"]),
    )
    agg = res["aggregates"]
    table = pd.DataFrame(
        {
            metric: [
                f"{float(agg.sel(model=m, metric=metric, stat='mean')):.3f} ± "
                f"{float(agg.sel(model=m, metric=metric, stat='std')):.3f}"
                for m in res.model.values
            ]
            for metric in ("accuracy", "mae", "rmse", "r2", "ssim", "bias")
            if metric in agg.metric.values
        },
        index=[str(m) for m in res.model.values],
    )
    return pn.Column(
        pn.pane.Markdown(f"**Evaluation on the {split} split** (`meltwater evaluate`, mean ± std)"),
        pn.pane.DataFrame(table, max_width=700),
        responsive_grid(
            pn.pane.HoloViews(month, sizing_mode="stretch_width"),
            pn.pane.HoloViews(sday, sizing_mode="stretch_width"),
            min_px=PLOT_MIN_PX,
        ),
        sizing_mode="stretch_width",
    )


NO_SCENE = "no SAR scene"


def metrics_text(df: pd.DataFrame, signed: bool = False) -> pd.DataFrame:
    """A metric table as text with three decimals; NaN (no SAR scene that day) reads so."""
    fmt = "{:+.3f}" if signed else "{:.3f}"
    return df.apply(lambda col: col.map(lambda v: fmt.format(v) if np.isfinite(v) else NO_SCENE))


def _day_table(state: DashboardState) -> pd.DataFrame:
    return metrics_text(state.day_metrics())


def curves_tab(state: DashboardState) -> pn.layout.Panel:
    """Tab with the season curves, the monthly bias and the current day's metrics; the plots
    in a grid whose column count follows the width (`views.grid`)."""
    stretch = dict(sizing_mode="stretch_width")
    plots = [
        pn.pane.HoloViews(season_plot(state, var), linked_axes=True, **stretch) for var in PLOTS
    ]
    monthly = [
        pn.pane.HoloViews(
            pn.bind(lambda *_, v=var: monthly_plot(state, v), state.param.source, state.param.year),
            **stretch,
        )
        for var in ("bias", "melt_fraction")
    ]
    table = pn.pane.DataFrame(
        pn.bind(lambda *_: _day_table(state), state.param.tick_curves),
        sizing_mode="stretch_width",
        max_width=520,
    )
    notice = pn.bind(lambda *_: summary_notice(state), state.param.source, state.param.year)
    return pn.Column(
        pn.pane.Alert(notice, alert_type="warning", visible=pn.bind(bool, notice), **stretch),
        pn.pane.Markdown("**Metrics of the shown day vs SAR**"),
        table,
        pn.pane.Markdown("Click a curve plot to jump to that day."),
        responsive_grid(*plots, *monthly, min_px=PLOT_MIN_PX),
        pn.panel(pn.bind(lambda *_: results_section(state), state.param.source), **stretch),
        **stretch,
    )
