"""Regions: a region's melt season (each model, SAR, MAR, PMW) and its metrics on SAR days.

A region is a predefined one (500 m elevation bands, the coast: `meltwater.evaluation.regions`)
or a box drawn with the box-select tool on this tab's map; it is the link value ``region``
(`parse_region`). The season's series of every predefined region come from one background pass
over the season (once per season and process); a drawn box takes its own pass. A day step moves
a line and a model change the bold line: nothing is read.
"""

from __future__ import annotations

import io
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
import xarray as xr
from bokeh.events import Event, SelectionGeometry
from bokeh.models import BoxSelectTool, ColumnDataSource, LinearColorMapper, Range1d
from bokeh.models.annotations import Span
from bokeh.plotting import figure

from meltwater.data.cube import season_day
from meltwater.errors import MeltwaterError
from meltwater.evaluation.regions import (
    box_mask,
    glacier_trunk,
    predefined_regions,
    region_summary,
)
from meltwater_dashboard.escape import html_text, markdown_text
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.bokeh_parts import grid_image, season_figure
from meltwater_dashboard.views.curves import model_color
from meltwater_dashboard.views.scorecard import CSS
from meltwater_dashboard.views.ticks import follow

__all__ = ["RegionView", "parse_region", "regions", "regions_tab", "summary"]

POLL_MS = 500
BOX = "box drawn on the map"
SIGNAL_STYLE: dict[str, dict[str, Any]] = {
    "mar": {"color": "black", "line_dash": "dashed", "legend_label": "MAR"},
    "pmw": {"color": "grey", "line_dash": "dotted", "legend_label": "PMW"},
}


def regions(state: DashboardState) -> dict[str, np.ndarray]:
    """The source's predefined regions (cube orientation), cached per process."""
    store, source = state.store, state.source

    def compute() -> dict[str, np.ndarray]:
        cube = store.get_cube(source)
        g = store.grid(source)
        spacing = (abs(float(g.ys[1] - g.ys[0])), abs(float(g.xs[1] - g.xs[0])))
        dem, land = cube["dem"].values, cube["land"].values
        return predefined_regions(dem, land, spacing, trunk=glacier_trunk(cube))

    return pn.state.as_cached(f"meltwater-regions-{id(store)}-{source}", compute)


def parse_region(state: DashboardState, text: str) -> str | None:
    """``text`` as a region of the source: a predefined name, or ``x0,y0,x1,y1`` (metres, the
    grid's CRS) inside the grid's bounds and not empty, written back canonically; else None."""
    text = str(text).strip()
    if text in regions(state):
        return text
    parts = text.split(",")
    if len(parts) != 4 or len(text) > 100:
        return None
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        return None
    left, bottom, right, top = state.store.grid(state.source).bounds
    inside = all(left <= x <= right for x in (x0, x1)) and all(bottom <= y <= top for y in (y0, y1))
    if not inside or x0 == x1 or y0 == y1:
        return None
    x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    return f"{x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f}"


def _bounds(box: str) -> tuple[float, float, float, float]:
    """The numbers of a `parse_region` box."""
    x0, y0, x1, y1 = (float(v) for v in box.split(","))
    return x0, y0, x1, y1


def _pool() -> ThreadPoolExecutor:
    return pn.state.as_cached(
        "meltwater-regions-pool",
        lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="meltwater-regions"),
    )


def summary(state: DashboardState, region: str) -> Future:
    """`region_summary` of the shown season for ``region`` (every predefined region in one
    pass; a box alone), computed once per process in the background."""
    store, source, year = state.store, state.source, int(state.year)
    days, models = store.season_days(source, year), list(state.models)
    predefined = regions(state)
    if region in predefined:
        key, masks = "predefined", predefined
    else:
        cube = store.get_cube(source)
        key = region
        masks = {region: box_mask(cube.x.values, cube.y.values, _bounds(region))}

    def submit() -> Future:
        return _pool().submit(region_summary, store.get_cube(source), days, models, masks)

    return pn.state.as_cached(f"meltwater-region-{id(store)}-{source}-{year}-{key}", submit)


def metrics_table(s: xr.Dataset, region: str, model: str) -> str:
    """The region's SAR-day metrics per model as HTML (the selected model bold)."""
    r = s.sel(region=region)
    head = "".join(f"<th>{html_text(m)}</th>" for m in r.metric.values)
    rows = [f"<tr><th></th>{head}</tr>"]
    for m in r.model.values:
        vals = r.metrics.sel(model=m).values
        cells = "".join(f"<td>{v:.3f}</td>" if np.isfinite(v) else "<td>–</td>" for v in vals)
        sel = ' class="sel"' if m == model else ""
        rows.append(f"<tr{sel}><th>{html_text(m)}</th>{cells}</tr>")
    note = (
        f"<p>{html_text(region)}: {int(r.pixels)} land pixels; metrics over "
        f"{int(r.n_images)} SAR days of the season.</p>"
    )
    return f'{CSS}{note}<table class="mw-card">{"".join(rows)}</table>'


def series_frame(s: xr.Dataset, region: str) -> pd.DataFrame:
    """The region's daily series as a table: one column per model and signal."""
    df = s["mean"].sel(region=region).to_pandas().T
    df.columns = [str(c) for c in df.columns]
    df.index.name = "date"
    return df


class RegionView:
    """The region chooser, its map, the series plot, the metrics table and the CSV."""

    def __init__(self, state: DashboardState):
        self.state = state
        names = list(regions(state))
        self.chooser = pn.widgets.Select(label="Region", options=[*names, BOX], width=260)
        self.map, self.mask_src = self._map()
        self.plot = season_figure("Mean melt fraction over the region", 280)
        self.sources = {
            k: ColumnDataSource({"x": [], "y": []}) for k in [*state.models, *SIGNAL_STYLE]
        }
        self.lines = {
            m: self.plot.line(
                "x", "y", source=self.sources[m], color=model_color(m), legend_label=m
            )
            for m in state.models
        }
        for k, style in SIGNAL_STYLE.items():
            self.plot.line("x", "y", source=self.sources[k], **style)
        self.sar = ColumnDataSource({"x": [], "y": []})
        self.plot.scatter("x", "y", source=self.sar, color="black", legend_label="SAR")
        self.span = Span(location=0, dimension="height", line_color="red", line_dash="dotted")
        self.plot.add_layout(self.span)
        self.plot.legend.click_policy = "hide"
        self.plot.add_layout(self.plot.legend[0], "right")
        self.table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.status = pn.pane.Markdown("")
        self.download = pn.widgets.FileDownload(
            callback=self._csv, filename="region.csv", label="Region CSV", color="light"
        )
        self._timer: Any = None
        self._shown: tuple[xr.Dataset, str] | None = None
        self._source, self._year = state.source, int(state.year)
        if state.region not in regions(state) and parse_region(state, state.region) is None:
            state.region = names[0] if names else ""
        self.chooser.value = state.region if state.region in names else "box drawn on the map"
        self.chooser.param.watch(self._on_choice, "value")
        state.param.watch(lambda *_: self.show_region(), "region")
        self.show_region()
        self.update()

    def _map(self) -> tuple[figure, ColumnDataSource]:
        s = self.state
        left, bottom, right, top = s.store.grid(s.source).bounds
        width = 520
        fig = figure(
            width=width,
            height=int(width * (top - bottom) / (right - left)),
            x_range=Range1d(start=left, end=right),
            y_range=Range1d(start=bottom, end=top),
            tools="pan,wheel_zoom,reset",
            toolbar_location="right",
            title="Region (drag with the box tool to draw one)",
        )
        shade = s.store.hillshade(s.source)[::-1]
        fig.image(
            image=[shade], x=left, y=bottom, dw=right - left, dh=top - bottom, palette="Greys256"
        )
        src = ColumnDataSource({"image": [np.zeros((1, 1), np.float32)]})
        mapper = LinearColorMapper(palette=["#d62728"], low=0.5, high=1.5, low_color=(0, 0, 0, 0))
        grid_image(fig, (left, bottom, right, top), src, mapper, global_alpha=0.45)
        box = BoxSelectTool(dimensions="both")
        fig.add_tools(box)
        fig.toolbar.active_drag = box
        fig.on_event(SelectionGeometry, self._on_box)
        fig.axis.visible = False
        return fig, src

    def _on_box(self, event: Event) -> None:
        g = event.geometry if isinstance(event, SelectionGeometry) else None
        if g is None or g["type"] != "rect" or not getattr(event, "final", True):
            return
        text = f"{g['x0']},{g['y0']},{g['x1']},{g['y1']}"
        region = parse_region(self.state, text)
        if region is not None:
            self.state.region = region

    def _on_choice(self, event) -> None:
        if event.new in regions(self.state):
            self.state.region = event.new

    def mask(self) -> np.ndarray:
        """The shown region's mask, rows north → south."""
        s, region = self.state, self.state.region
        cube = s.cube
        if region in regions(s):
            m = regions(s)[region]
        else:
            m = box_mask(cube.x.values, cube.y.values, _bounds(region))
            m = m & cube["land"].values.astype(bool)
        return m if s.store.grid(s.source).y_descending else m[::-1]

    def show_region(self) -> None:
        """Outline the region and draw its season (read in the background when new)."""
        s = self.state
        if s.source != self._source:
            return  # a source change rebuilds the tab
        region = s.region if parse_region(s, s.region) is not None else None
        if region is None:
            self.status.object = f"Unknown region {markdown_text(s.region)}"
            return
        self.chooser.value = region if region in regions(s) else BOX
        self.mask_src.data = {"image": [self.mask()[::-1].astype(np.float32)]}
        future, key = summary(s, region), (region, int(s.year))
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if future.done():
            self._draw(future, key)
            return
        self.status.object = f"Reading the season of {markdown_text(region)}…"
        self.table.object, self._shown = "", None
        for src in (*self.sources.values(), self.sar):
            src.data = {"x": [], "y": []}

        def poll() -> None:
            if future.done() and self._timer is not None:
                self._timer.stop()
                self._timer = None
                self._draw(future, key)

        self._timer = pn.state.add_periodic_callback(poll, period=POLL_MS)

    def _draw(self, future: Future, key: tuple) -> None:
        if key != (self.state.region, int(self.state.year)):
            return
        try:
            s: xr.Dataset = future.result()
        except MeltwaterError as e:
            self.status.object = f"No series for this region: {markdown_text(e)}"
            return
        region = key[0]
        x = season_day(s.indexes["time"])
        mean = s["mean"].sel(region=region)
        for k, src in self.sources.items():
            src.data = {"x": x, "y": mean.sel(series=k).values}
        sar = mean.sel(series="sar").values
        ok = np.isfinite(sar)
        self.sar.data = {"x": x[ok], "y": sar[ok]}
        self.table.object = metrics_table(s, region, self.state.model)
        self.status.object = ""
        self._shown = (s, region)
        self.update()

    def update(self) -> None:
        """Follow the day (the red line) and the model (bold line and row)."""
        s = self.state
        self.span.location = float(season_day([s.date])[0])
        for m, line in self.lines.items():
            line.glyph.line_width = 3.5 if m == s.model else 1.2
        if self._year != int(s.year):
            self._year, self._shown = int(s.year), None
            self.show_region()
        elif self._shown is not None:
            data, region = self._shown
            self.table.object = metrics_table(data, region, s.model)

    def _csv(self) -> io.StringIO:
        buf = io.StringIO()
        if self._shown is None:
            buf.write("the region's season is still being read\n")
        else:
            data, region = self._shown
            series_frame(data, region).to_csv(buf, float_format="%.6g")
        buf.seek(0)
        return buf


def regions_tab(state: DashboardState) -> pn.layout.Panel:
    """Tab with a region's melt season and its SAR-day metrics."""
    view = RegionView(state)
    follow(state, "tick_regions", view.update)
    intro = (
        "<p>Mean melt fraction over a region: each model, SAR on its scene days (dots), MAR "
        "(its WA1 mapped as the MAR interpolation baseline, dashed) and PMW (Colosio "
        "threshold, dotted). Regions: 500 m elevation bands, the coast (land within 5 km of "
        "the ocean), on the demo the glacier trunk and its tributaries (the generator's own "
        "outline), or a box drawn on the map. The table scores each model against SAR over "
        "the region's valid pixels, averaged over the season's SAR days.</p>"
    )
    return pn.Column(
        pn.pane.HTML(intro, sizing_mode="stretch_width"),
        pn.Row(view.chooser, view.download),
        pn.Row(pn.pane.Bokeh(view.map), view.table),
        view.status,
        pn.pane.Bokeh(view.plot),
    )
