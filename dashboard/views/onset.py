"""Melt onset and freeze-up: when does melt start and end, per model against SAR, by elevation?

Everything is sampled on the SAR days of the shown season (SAR observes melt only then; the
models are read on the same days where SAR is valid, `meltwater.evaluation.onset`). Tables: mean
onset and freeze-up difference (model − SAR, days) and mean melt-day counts per 500 m band; a
map of the selected model's onset difference. The season's timing is read from beside the cube
(`meltwater precompute` stores it, `summary_store.season_onset`; computed once per process when
missing or stale); a day step within the season redraws nothing, a model change only the map's
data and the bold row.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import panel as pn
import xarray as xr
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d
from bokeh.models.annotations import ColorBar, Title
from bokeh.palettes import RdBu11
from bokeh.plotting import figure

from meltwater.errors import MeltwaterError
from meltwater.evaluation.onset import timing_by_band
from meltwater_dashboard.escape import html_text, markdown_text
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.bokeh_parts import grid_image
from meltwater_dashboard.views.scorecard import CSS
from meltwater_dashboard.views.ticks import follow

__all__ = ["OnsetMap", "band_tables", "onset_tab", "timing"]

DIFF_DAYS = 30  # colour range of the differences, ± days
TABLES = {
    "onset_diff": "Onset, model − SAR (days)",
    "freeze_diff": "Freeze-up, model − SAR (days)",
    "melt_days": "Melt days (of the SAR days)",
}


def timing(state: DashboardState) -> tuple[xr.Dataset, xr.Dataset]:
    """The shown season's per-pixel timing (stored by `meltwater precompute` beside the cube,
    `Store.season_timing`) and its band summary, cached per process and season records."""
    store, source, year = state.store, state.source, int(state.year)

    def compute() -> tuple[xr.Dataset, xr.Dataset]:
        t = store.season_timing(source, year)
        return t, timing_by_band(t, store.get_cube(source)["dem"].values)

    key = f"meltwater-onset-{id(store)}-{source}-{year}-{store.season_key(source, year)}"
    return pn.state.as_cached(key, compute)


def _cell(value: float, signed: bool) -> str:
    if not np.isfinite(value):
        return '<td style="background:transparent">–</td>'
    colour = "transparent"
    if signed and value != 0:
        alpha = 0.12 + 0.6 * min(abs(value) / DIFF_DAYS, 1.0)
        colour = f"rgba({'33,102,172' if value < 0 else '178,24,43'},{alpha:.2f})"
    return (
        f'<td style="background:{colour}">{value:+.1f}</td>' if signed else f"<td>{value:.1f}</td>"
    )


def band_tables(bands: xr.Dataset, model: str) -> str:
    """The band summary as three HTML tables (blue: earlier than SAR, red: later)."""
    head = "".join(f"<th>{html_text(b)} m</th>" for b in bands.elev_band.values)
    px = "".join(f"<td>{int(n)}</td>" for n in bands.pixels.values)
    out = [CSS, '<div style="display:flex;flex-wrap:wrap">']
    for var, title in TABLES.items():
        rows = [f"<tr><th>{title}</th>{head}</tr>"]
        names = bands.series.values if var == "melt_days" else bands.model.values
        dim = "series" if var == "melt_days" else "model"
        for name in names:
            cells = "".join(
                _cell(float(v), var != "melt_days") for v in bands[var].sel({dim: name}).values
            )
            sel = ' class="sel"' if name == model else ""
            label = "SAR" if name == "sar" else html_text(name)
            rows.append(f"<tr{sel}><th>{label}</th>{cells}</tr>")
        if var == "melt_days":
            rows.append(f"<tr><th>pixels observed</th>{px}</tr>")
        out.append(f'<table class="mw-card">{"".join(rows)}</table>')
    return "".join(out) + "</div>"


class OnsetMap:
    """Bokeh image of a model's onset minus SAR's (days) over the season's pixels."""

    def __init__(self, state: DashboardState, t: xr.Dataset):
        self.state, self.t = state, t
        g = state.store.grid(state.source)
        left, bottom, right, top = g.bounds
        width = 520
        height = int(width * (top - bottom) / (right - left))
        mapper = LinearColorMapper(
            palette=RdBu11, low=-DIFF_DAYS, high=DIFF_DAYS, nan_color="#dddddd"
        )
        self.source = ColumnDataSource({"image": [self._image()]})
        self.figure = figure(
            width=width + 90,
            height=height,
            x_range=Range1d(start=left, end=right),
            y_range=Range1d(start=bottom, end=top),
            tools="pan,wheel_zoom,box_zoom,reset,hover",
            match_aspect=True,
            toolbar_location="right",
            tooltips=[("onset − SAR (days)", "@image{+0.0}")],
            title=self._title(),
        )
        grid_image(self.figure, (left, bottom, right, top), self.source, mapper)
        self.figure.add_layout(ColorBar(color_mapper=mapper, title="days"), "right")
        self.figure.axis.visible = False

    def _title(self) -> str:
        return (
            f"Onset of {self.state.model} − onset of SAR, {self.t.attrs['year']} (grey: not both)"
        )

    def _image(self) -> np.ndarray:
        model = self.state.model
        diff = (self.t.onset.sel(series=model) - self.t.onset.sel(series="sar")).values
        ys = self.t.y.values
        return (diff[::-1] if ys[0] > ys[-1] else diff).astype(np.float32)  # bottom row first

    def update(self) -> None:
        """Show the selected model."""
        self.source.data = {"image": [self._image()]}
        cast(Title, self.figure.title).text = self._title()


def onset_tab(state: DashboardState) -> pn.layout.Panel:
    """Tab with the season's onset / freeze-up differences by band and the onset map."""
    body = pn.Column()
    shown: dict[str, Any] = {}

    def draw(*_) -> None:
        key = (int(state.year), state.model)
        if shown.get("key") == key:
            return  # a day step within the season changes nothing here
        try:
            t, bands = timing(state)
        except MeltwaterError as e:
            body.objects = [pn.pane.Markdown(f"No onset for this season: {markdown_text(e)}")]
            shown.clear()
            return
        if shown.get("year") == key[0]:
            shown["map"].update()
            shown["tables"].object = band_tables(bands, state.model)
        else:
            shown["map"] = OnsetMap(state, t)
            shown["tables"] = pn.pane.HTML(
                band_tables(bands, state.model), sizing_mode="stretch_width"
            )
            intro = (
                f"<p>Season {t.attrs['year']}, sampled on its <b>{t.attrs['sar_days']} SAR "
                "days</b> (SAR observes melt only then; each model is read on the same days "
                f"where SAR is valid). Melt: &gt; {t.attrs['threshold']}. Onset / freeze-up: "
                "first / last melt day of a pixel; differences are means over the pixels where "
                "both melt (blue: the model is earlier, red: later). Melt days: mean over the "
                "pixels SAR observed.</p>"
            )
            body.objects = [
                pn.pane.HTML(intro, sizing_mode="stretch_width"),
                shown["tables"],
                pn.pane.Bokeh(shown["map"].figure),
            ]
        shown.update(key=key, year=key[0])

    draw()
    follow(state, "tick_onset", draw)
    return body
