"""Conservation: where does a downscaled product disagree with MAR on MAR's own cells?

Numbers from `meltwater.evaluation.conservation`. Two maps of the shown day per MAR cell (the
selected model − MAR; SAR − MAR on SAR days), a table of the day's land-weighted domain means
and the season's daily domain-mean residual model − MAR per model, with SAR − MAR as points
on SAR days. The season curve reads every day of the season (~10 s on the demo) in a background
thread, once per season and process; the tab shows the day's maps meanwhile. Plain Bokeh
figures: a day step rewrites two image sources, a table and a span.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import numpy as np
import panel as pn
import xarray as xr
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d
from bokeh.models.annotations import ColorBar, Span, Title
from bokeh.palettes import RdBu11
from bokeh.plotting import figure

from meltwater.data.cube import day_map, season_day
from meltwater.errors import MeltwaterError
from meltwater.evaluation import conservation as cons
from meltwater.models.baselines.pmw_threshold import winter_tb
from meltwater.schema import pred_var
from meltwater_dashboard.escape import html_text, markdown_text
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.bokeh_parts import grid_image, season_figure
from meltwater_dashboard.views.curves import model_color
from meltwater_dashboard.views.scorecard import CSS
from meltwater_dashboard.views.ticks import follow

__all__ = ["ConservationView", "cells", "conservation_tab", "season_curve"]

SAMPLE_DAYS = 40  # MAR days read to find the cell edges
POLL_MS = 500  # how often a waiting tab looks for its season curve


def cells(state: DashboardState) -> np.ndarray:
    """MAR cell labels of the source, rows north → south, cached per process."""
    store, source = state.store, state.source

    def compute() -> np.ndarray:
        cube = store.get_cube(source)
        times = state.times
        pick = times[np.linspace(0, len(times) - 1, min(SAMPLE_DAYS, len(times))).astype(int)]
        mar = np.stack([day_map(cube, "mar_wa1", t) for t in pick])
        labels = cons.mar_cells(mar, cube["land"].values.astype(bool))
        return labels if store.grid(source).y_descending else labels[::-1]

    return pn.state.as_cached(f"meltwater-cells-{id(store)}-{source}", compute)


def season_curve(state: DashboardState) -> Future:
    """The shown season's `season_residuals`, computed once per process (and season records,
    `Store.season_key`) in the background."""
    store, source, year = state.store, state.source, int(state.year)
    pool = pn.state.as_cached(
        "meltwater-conservation-pool",
        lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="meltwater-conservation"),
    )
    labels = cells(state)
    cube_cells = labels if store.grid(source).y_descending else labels[::-1]
    days, models = store.season_days(source, year), list(state.models)

    def submit() -> Future:
        cube = store.get_cube(source)
        return pool.submit(cons.season_residuals, cube, days, models, cube_cells)

    key = f"meltwater-conservation-{id(store)}-{source}-{year}-{store.season_key(source, year)}"
    return pn.state.as_cached(key, submit)


def _map(state: DashboardState, title: str) -> tuple[figure, ColumnDataSource]:
    left, bottom, right, top = state.store.grid(state.source).bounds
    width = 440
    mapper = LinearColorMapper(palette=RdBu11, low=-1, high=1, nan_color="#dddddd")
    src = ColumnDataSource({"image": [np.zeros((1, 1), np.float32)]})
    fig = figure(
        width=width + 80,
        height=int(width * (top - bottom) / (right - left)),
        x_range=Range1d(start=left, end=right),
        y_range=Range1d(start=bottom, end=top),
        tools="pan,wheel_zoom,box_zoom,reset,hover",
        toolbar_location="right",
        tooltips=[("residual", "@image{+0.00}")],
        title=title,
    )
    grid_image(fig, (left, bottom, right, top), src, mapper)
    fig.add_layout(ColorBar(color_mapper=mapper, title="melt fraction"), "right")
    fig.axis.visible = False
    return fig, src


def _fmt(v: float) -> str:
    return f"{v:+.3f}" if np.isfinite(v) else "–"


def day_table(day: xr.Dataset, model: str) -> str:
    """The day's domain means as an HTML table (the selected model bold)."""
    r = cons.domain_residuals(day)
    head = "<tr><th></th><th>− MAR</th><th>− PMW</th><th>− MAR, SAR's cells</th></tr>"
    rows = [head]
    for m in day.model.values:
        sel = ' class="sel"' if m == model else ""
        cells_ = "".join(
            f"<td>{_fmt(r[f'{k}:{m}'])}</td>" for k in ("res_mar", "res_pmw", "res_mar_sar_cells")
        )
        rows.append(f"<tr{sel}><th>{html_text(m)}</th>{cells_}</tr>")
    rows.append(f"<tr><th>SAR</th><td>–</td><td>–</td><td>{_fmt(r['sar_res_mar'])}</td></tr>")
    return f'{CSS}<table class="mw-card">{"".join(rows)}</table>'


class ConservationView:
    """The maps, the day table and the season curve; `update` follows day and model."""

    def __init__(self, state: DashboardState):
        self.state = state
        labels = cells(state)
        self.cells = pn.state.as_cached(  # the labels' matrix, once per process and source
            f"meltwater-cell-index-{id(state.store)}-{state.source}",
            lambda: cons.CellIndex(labels),
        )
        self.model_map, self.model_src = _map(state, "")
        self.sar_map, self.sar_src = _map(state, "")
        self.table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.curve = season_figure(
            "Domain-mean residual model − MAR (lines); SAR − MAR on SAR days (dots)", 260
        )
        self.lines: dict[str, ColumnDataSource] = {}
        self.renderers: dict[str, Any] = {}
        for m in state.models:
            src = ColumnDataSource({"x": [], "y": []})
            self.lines[m] = src
            self.renderers[m] = self.curve.line(
                "x", "y", source=src, color=model_color(m), legend_label=m
            )
        self.sar_points = ColumnDataSource({"x": [], "y": []})
        self.curve.scatter("x", "y", source=self.sar_points, color="black", legend_label="SAR")
        self.curve.add_layout(Span(location=0, dimension="width", line_color="grey"))
        self.span = Span(location=0, dimension="height", line_color="red", line_dash="dotted")
        self.curve.add_layout(self.span)
        self.curve.legend.click_policy = "hide"
        self.curve.add_layout(self.curve.legend[0], "right")
        self.status = pn.pane.Markdown("")
        self._year: int | None = None
        self._timer: Any = None
        self.update()

    def update(self) -> None:
        """Show the shown day and the selected model; ask for the season curve on a new season."""
        s = self.state
        try:
            d = self.day()
        except MeltwaterError as e:
            self.status.object = f"No conservation check for {s.date_str}: {markdown_text(e)}"
            return
        m = s.model
        res = d.res_mar.sel(model=m).values if m in d.model.values else np.full(d.cell.size, np.nan)
        self.model_src.data = {"image": [self._image(res)]}
        self.sar_src.data = {"image": [self._image(d.sar_res_mar.values)]}
        cast(Title, self.model_map.title).text = f"{m} − MAR per MAR cell, {s.date_str}"
        sar_title = "SAR − MAR per MAR cell" if s.has_sar else "SAR − MAR: no SAR scene this day"
        cast(Title, self.sar_map.title).text = sar_title
        self.table.object = day_table(d, m)
        for name, r in self.renderers.items():
            r.glyph.line_width = 3.5 if name == m else 1.2
        self.span.location = float(season_day([s.date])[0])
        if self._year != int(s.year):
            self._year = int(s.year)
            self._wait_for_season()

    def day(self) -> xr.Dataset:
        """`day_conservation` of the shown day from the frames the maps read; the next day's
        frames are then read in the background."""
        s = self.state
        preds = {m: s.layer(pred_var(m)) for m in s.models}
        sar = valid = None
        if s.has_sar:
            sar, valid = s.layer("sar"), s.layer("valid") > 0
        winter = pn.state.as_cached(
            f"meltwater-winter-{id(s.store)}-{s.source}-{s.year}",
            lambda: self._frame(winter_tb(s.cube, int(s.year))),
        )
        pmw = cons.pmw_melt(s.layer("pmw"), winter)
        day = cons.day_conservation(preds, s.layer("mar_wa1"), pmw, self.cells, sar, valid)
        if s.day + 1 < len(s.days):
            nxt = s.days[s.day + 1]
            read = [pred_var(m) for m in s.models] + ["mar_wa1", "pmw"]
            read += ["sar", "valid"] if nxt in s.store.sar_days(s.source) else []
            s.store.prefetch(s.source, read, nxt.strftime("%Y-%m-%d"))
        return day

    def _frame(self, arr: np.ndarray) -> np.ndarray:
        return arr if self.state.store.grid(self.state.source).y_descending else arr[::-1]

    def _image(self, values: np.ndarray) -> np.ndarray:
        return cons.cell_image(values, self.cells)[::-1]  # bottom row first

    def _wait_for_season(self) -> None:
        future, year = season_curve(self.state), int(self.state.year)
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if future.done():
            self._show_season(future, year)
            return
        self.status.object = f"Season {year} curve: reading every day of the season…"
        for src in (*self.lines.values(), self.sar_points):
            src.data = {"x": [], "y": []}

        def poll() -> None:
            if future.done() and self._timer is not None:
                self._timer.stop()
                self._timer = None
                if int(self.state.year) == year:
                    self._show_season(future, year)

        self._timer = pn.state.add_periodic_callback(poll, period=POLL_MS)

    def _show_season(self, future: Future, year: int) -> None:
        try:
            season: xr.Dataset = future.result()
        except MeltwaterError as e:
            self.status.object = f"No season curve for {year}: {markdown_text(e)}"
            return
        x = season_day(season.indexes["time"])
        for m, src in self.lines.items():
            key = f"res_mar:{m}"
            y = season[key].values if key in season else np.full(x.size, np.nan)
            src.data = {"x": x, "y": y}
        sar = season["sar_res_mar"].values
        ok = np.isfinite(sar)
        self.sar_points.data = {"x": x[ok], "y": sar[ok]}
        self.status.object = ""


def conservation_tab(state: DashboardState) -> pn.layout.Panel:
    """Tab comparing each model with MAR (and PMW, SAR) on MAR's cells."""
    view = ConservationView(state)
    follow(state, "tick_conservation", view.update)
    intro = (
        "<p>Each model's melt fraction averaged over MAR's own ~6 km cells (where the raw MAR "
        "field is constant) against MAR's melt on that cell (WA1 mapped as the MAR "
        "interpolation baseline does, brightness 143.5, gamma 29.2: nearly any liquid water "
        "is melt) and PMW's (Colosio threshold, cell mean). Blue: the model melts less than "
        "MAR, red: more. On SAR days, SAR − MAR over the cells SAR covers by half or more "
        "answers: <i>is SAR on the model's side?</i> Means weight cells by land pixels.</p>"
    )
    return pn.Column(
        pn.pane.HTML(intro, sizing_mode="stretch_width"),
        view.table,
        pn.Row(pn.pane.Bokeh(view.model_map), pn.pane.Bokeh(view.sar_map)),
        view.status,
        pn.pane.Bokeh(view.curve),
    )
