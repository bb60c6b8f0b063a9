"""Climatology band: the shown season's weekly melt area against the mean and min–max of all.

One small plot per series (SAR, then each model): grey band = min–max over the cube's seasons,
dashed = their mean, coloured = the shown season (weekly means: SAR has scenes on a few days a
week only, `meltwater.evaluation.climatology`); the red line is the shown day. Plain Bokeh
figures: a day step moves the line, a season change rewrites the season lines' data, a model
change outlines that model's plot.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import panel as pn
import xarray as xr
from bokeh.models import ColumnDataSource, DataRange1d
from bokeh.models.annotations import Span
from bokeh.plotting import figure

from meltwater.data.cube import season_day
from meltwater.evaluation.climatology import melt_area_series, weekly_climatology
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.curves import model_color
from meltwater_dashboard.views.ticks import follow

__all__ = ["ClimatologyPlots", "climatology", "climatology_tab"]

FIGURE: dict[str, Any] = dict(
    width=340, height=210, tools="pan,box_zoom,reset,save,hover", toolbar_location=None
)


def climatology(state: DashboardState) -> xr.Dataset:
    """`weekly_climatology` of the melt area of SAR and every model, cached per process under
    the seasons' prediction records (recomputed once a precompute beside has written more)."""
    store, source = state.store, state.source
    years = sorted({int(y) for y in state.times.year})

    def compute() -> xr.Dataset:
        series = melt_area_series([store.daily_summary(source, y) for y in years])
        return weekly_climatology(series)

    records = "".join(store.season_key(source, y)[:8] for y in years)
    return pn.state.as_cached(f"meltwater-climatology-{id(store)}-{source}-{records}", compute)


class ClimatologyPlots:
    """The small multiples of one tab; `update` follows the season, day and model."""

    def __init__(self, state: DashboardState, clim: xr.Dataset):
        self.state, self.clim = state, clim
        self.figures: dict[str, figure] = {}
        self.season: dict[str, ColumnDataSource] = {}
        self.spans: list[Span] = []
        x = clim.week_start.values + clim.attrs["window"] / 2  # the middle of each week
        shared = DataRange1d(start=0)  # one melt-area scale: SAR and models compare by eye
        for s in clim.series.values:
            name = str(s)
            c = clim.climatology.sel(series=s)
            title = "SAR (valid pixels)" if name == "sar" else name
            fig = figure(title=f"{title}: melt area, km²", y_range=shared, **FIGURE)
            fig.xaxis.axis_label = "day of season (0 = 1 April)"
            lo, hi = c.sel(stat="min").values, c.sel(stat="max").values
            fig.varea(x=x, y1=lo, y2=hi, fill_color="grey", fill_alpha=0.3)
            fig.line(x, c.sel(stat="mean").values, color="black", line_dash="dashed")
            colour = "black" if name == "sar" else model_color(name)
            src = ColumnDataSource({"x": x, "y": np.full(x.size, np.nan)})
            fig.line("x", "y", source=src, color=colour, line_width=2.5)
            fig.scatter("x", "y", source=src, color=colour, size=4)
            span = Span(location=0, dimension="height", line_color="red", line_dash="dotted")
            fig.add_layout(span)
            self.figures[name], self.season[name] = fig, src
            self.spans.append(span)
        self._year: int | None = None
        self.update()

    def update(self, *_) -> None:
        """Show the selected season, mark the shown day and outline the selected model."""
        s = self.state
        if self._year != int(s.year):
            self._year = int(s.year)
            weekly = self.clim.weekly.sel(year=self._year)
            for name, src in self.season.items():
                src.data = {"x": src.data["x"], "y": weekly.sel(series=name).values}
        day = float(season_day([s.date])[0])
        for span in self.spans:
            span.location = day
        for name, fig in self.figures.items():
            fig.outline_line_color = "#d62728" if name == s.model else "#e5e5e5"
            fig.outline_line_width = 3 if name == s.model else 1


def climatology_tab(state: DashboardState) -> pn.layout.Panel:
    """Tab with the melt-area climatology of SAR and every model."""
    clim = climatology(state)
    plots = ClimatologyPlots(state, clim)
    follow(state, "tick_climatology", plots.update)
    years = ", ".join(str(y) for y in clim.year.values)
    intro = (
        f"Weekly mean melt area of the shown season (coloured) against all seasons of the cube "
        f"({years}): grey band = min–max, dashed = mean. Weeks pool the days of each season "
        "(SAR: its scene days only). Red: the shown day; outlined: the selected model."
    )
    return pn.Column(
        pn.pane.Markdown(intro, width=1000),
        pn.GridBox(*[pn.pane.Bokeh(f) for f in plots.figures.values()], ncols=3),
    )
