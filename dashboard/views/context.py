"""Map context: a scale bar, a north arrow and lat/lon lines on every map, and a locator map of
Greenland with the domain outlined. All are static and come from the cube's CRS through pyproj;
no tiles, no downloaded coastline. Each is computed once per process and source (`MapContext`,
the locator's SVG) and shared by every session; a map draws its context as four plain Bokeh
glyphs (`MapContext.draw`).

`GREENLAND` is a coarse outline of Greenland (±30 km): the (lon, lat) of 20 coastal landmarks in
order round the coast, typed in from their gazetteer coordinates (rounded to 0.1°) for this
project. It only shows where the domain lies.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource
from matplotlib.figure import Figure

from meltwater_dashboard.grid import Grid
from meltwater_dashboard.state import DashboardState

__all__ = [
    "GREENLAND",
    "Label",
    "MapContext",
    "domain_outline",
    "graticule",
    "locator_svg",
    "map_context",
    "nice_length",
    "north_arrow",
    "scale_bar",
]

# (lon, lat) clockwise from Cape Farewell
GREENLAND = (
    (-43.9, 59.8),  # Cape Farewell
    (-48.0, 61.0),  # Paamiut coast
    (-51.7, 64.2),  # Nuuk
    (-53.7, 66.9),  # Sisimiut
    (-51.1, 69.2),  # Ilulissat (Disko Bay)
    (-55.0, 70.7),  # Uummannaq fjord mouth
    (-56.2, 72.8),  # Upernavik
    (-61.0, 75.9),  # Melville Bay
    (-68.7, 76.5),  # Pituffik (Thule)
    (-72.0, 78.5),  # Smith Sound
    (-63.0, 81.0),  # Hall Basin
    (-33.0, 83.6),  # Cape Morris Jesup
    (-11.5, 81.5),  # Nordostrundingen
    (-18.7, 76.8),  # Danmarkshavn
    (-22.0, 70.5),  # Scoresby Sund
    (-31.0, 68.3),  # Kangerlussuaq (east) fjord
    (-37.6, 65.6),  # Tasiilaq
    (-41.0, 63.0),  # south-east coast
    (-42.5, 61.0),  # Prins Christian Sund
    (-43.9, 59.8),  # Cape Farewell (closed)
)
GRID_LINE = dict(line_color="black", line_alpha=0.35, line_width=1, line_dash="dashed")
CONTEXT_RENDERER = "meltwater-context"  # the name of the glyphs `MapContext.draw` adds


@dataclass(frozen=True)
class Label:
    """A text on the map (Bokeh text properties)."""

    x: float
    y: float
    text: str
    size: str = "9pt"
    color: str = "black"
    align: str = "center"
    baseline: str = "middle"


@dataclass(frozen=True)
class MapContext:
    """The static furniture of a grid's maps as plain data, computed once per source.

    Attributes:
        grid_lines: dashed lat/lon lines, each an ``(n, 2)`` array of (x, y).
        strokes: solid lines (scale bar, north arrow shaft) as (``(n, 2)`` points, width px).
        labels: texts (scale bar length, "N", degrees of the lat/lon lines).
        head: the north arrow's head (x, y, angle in radians), None without a CRS.
    """

    grid_lines: tuple[np.ndarray, ...]
    strokes: tuple[tuple[np.ndarray, float], ...]
    labels: tuple[Label, ...]
    head: tuple[float, float, float] | None

    def draw(self, plot, element) -> None:
        """HoloViews plot hook: add the context to the map's Bokeh figure as four glyphs.

        Plain Bokeh glyphs cost a few ms per map where one HoloViews element per line and
        text cost ~0.6 s of plot machinery per map (docs/reliability.md). Added once per
        figure (a re-render on pan/zoom keeps them).
        """
        fig = plot.state
        if any(r.name == CONTEXT_RENDERER for r in fig.renderers):
            return
        if self.grid_lines:
            fig.multi_line(
                xs=[line[:, 0] for line in self.grid_lines],
                ys=[line[:, 1] for line in self.grid_lines],
                name=CONTEXT_RENDERER,
                **GRID_LINE,
            )
        fig.multi_line(
            xs=[p[:, 0] for p, _ in self.strokes],
            ys=[p[:, 1] for p, _ in self.strokes],
            line_width=[w for _, w in self.strokes],
            color="black",
            name=CONTEXT_RENDERER,
        )
        columns = {f: [getattr(t, f) for t in self.labels] for f in Label.__dataclass_fields__}
        fig.text(
            x="x",
            y="y",
            text="text",
            text_font_size="size",
            text_color="color",
            text_align="align",
            text_baseline="baseline",
            source=ColumnDataSource(columns),
            name=CONTEXT_RENDERER,
        )
        if self.head is not None:
            x, y, angle = self.head
            fig.scatter(
                [x],
                [y],
                marker="triangle",
                size=12,
                color="black",
                angle=angle,
                name=CONTEXT_RENDERER,
            )


def nice_length(limit: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ not above ``limit`` (> 0)."""
    power = 10 ** np.floor(np.log10(limit))
    return float(max(m * power for m in (1, 2, 5) if m * power <= limit))


def scale_bar(g: Grid) -> tuple[np.ndarray, Label]:
    """A bar of a round length (a fifth of the map's width or less) and its label."""
    left, bottom, right, top = g.bounds
    width, height = right - left, top - bottom
    length = nice_length(width / 5)
    x0, y0 = left + 0.04 * width, bottom + 0.06 * height
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    bar = np.array([(x0, y0), (x0 + length, y0)])
    return bar, Label(x0 + length / 2, y0 + 0.05 * height, text)


def north_arrow(g: Grid) -> tuple[np.ndarray, tuple[float, float, float], Label] | None:
    """An arrow towards true north in the bottom-right corner: its shaft (2 points), its head
    (x, y, angle in radians) and the "N" (None without a CRS)."""
    if g.to_lonlat is None:
        return None
    left, bottom, right, top = g.bounds
    width, height = right - left, top - bottom
    x, y = right - 0.06 * width, bottom + 0.06 * height
    lon, lat = g.to_lonlat.transform(x, y)
    nx, ny = g.to_lonlat.transform(lon, lat + 0.01, direction="INVERSE")
    d = np.array([nx - x, ny - y]) / np.hypot(nx - x, ny - y) * 0.18 * height
    shaft = np.array([(x, y), (x + d[0], y + d[1])])
    head = (float(x + d[0]), float(y + d[1]), float(np.arctan2(-d[0], d[1])))
    return shaft, head, Label(x + 1.3 * d[0], y + 1.3 * d[1], "N", size="11pt")


def graticule(g: Grid, n: int = 3) -> tuple[list[np.ndarray], list[Label]] | None:
    """Lines of constant latitude and longitude (about ``n`` of each, at 0.1°, 0.2°, 0.5°, 1°…
    steps), each an ``(n, 2)`` array inside the map, and their labels in degrees (None without
    a CRS)."""
    if g.to_lonlat is None:
        return None
    left, bottom, right, top = g.bounds
    xs, ys = np.meshgrid(np.linspace(left, right, 20), np.linspace(bottom, top, 20))
    lons, lats = g.to_lonlat.transform(xs.ravel(), ys.ravel())
    lines, labels = [], []
    for kind, values in (("lat", lats), ("lon", lons)):
        lo, hi = float(np.min(values)), float(np.max(values))
        step = nice_length((hi - lo) / n) if hi > lo else 1.0
        for v in np.arange(np.ceil(lo / step) * step, hi, step):
            other = np.linspace(
                *((lons.min(), lons.max()) if kind == "lat" else (lats.min(), lats.max())), 100
            )
            lon, lat = (other, np.full(100, v)) if kind == "lat" else (np.full(100, v), other)
            x, y = g.to_lonlat.transform(lon, lat, direction="INVERSE")
            inside = (x >= left) & (x <= right) & (y >= bottom) & (y <= top)
            if inside.sum() < 2:
                continue
            lines.append(np.column_stack([x[inside], y[inside]]))
            # latitudes labelled on the left, longitudes along the top
            i = int(np.argmin(x[inside]) if kind == "lat" else np.argmax(y[inside]))
            hemi = ("N" if v >= 0 else "S") if kind == "lat" else ("E" if v >= 0 else "W")
            text = f"{abs(v):.4g}°{hemi}"
            base = "bottom" if kind == "lat" else "top"
            labels.append(Label(x[inside][i], y[inside][i], text, "8pt", "#333", "left", base))
    return lines, labels


def map_context(state: DashboardState) -> MapContext:
    """Scale bar, north arrow and lat/lon lines of the source's grid, computed once per
    process and source and drawn into every map by `maps.map_view` (`MapContext.draw`)."""
    store, source = state.store, state.source

    def compute() -> MapContext:
        g = store.grid(source)
        bar, bar_label = scale_bar(g)
        strokes, labels, head = [(bar, 4.0)], [bar_label], None
        arrow = north_arrow(g)
        if arrow is not None:
            shaft, head, n = arrow
            strokes.append((shaft, 3.0))
            labels.append(n)
        lines, grid_labels = graticule(g) or ([], [])
        return MapContext(tuple(lines), tuple(strokes), tuple(labels + grid_labels), head)

    return pn.state.as_cached(f"meltwater-context-{id(store)}-{source}", compute)


def domain_outline(g: Grid) -> np.ndarray | None:
    """(lon, lat) points round the grid's edge, shape (100, 2) (None without a CRS)."""
    if g.to_lonlat is None:
        return None
    left, bottom, right, top = g.bounds
    t = np.linspace(0, 1, 25)
    w, h = right - left, top - bottom
    x = np.concatenate([left + w * t, np.full(25, right), right - w * t, np.full(25, left)])
    y = np.concatenate([np.full(25, bottom), bottom + h * t, np.full(25, top), top - h * t])
    lon, lat = g.to_lonlat.transform(x, y)
    return np.column_stack([lon, lat])


def locator_svg(state: DashboardState) -> str:
    """SVG of Greenland (`GREENLAND`) on a lon/lat frame with the domain outlined in red (an
    empty string without a CRS). A static image: no plot canvas, drawn once per process and
    source."""
    store, source = state.store, state.source
    key = f"meltwater-locator-{id(store)}-{source}"
    return pn.state.as_cached(key, lambda: _locator(domain_outline(store.grid(source))))


def _locator(outline: np.ndarray | None) -> str:
    if outline is None:
        return ""
    fig = Figure(figsize=(2.2, 2.4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.fill(*np.array(GREENLAND).T, facecolor="#dddddd", edgecolor="#555555", linewidth=0.8)
    ax.plot(*outline.T, color="red", linewidth=1.5)
    lon, lat = outline.mean(axis=0)
    ax.plot(lon, lat, marker="s", markersize=9, markerfacecolor="none", color="red")
    ax.set(xlim=(-75, -8), ylim=(58, 85), xlabel="lon (°)", ylabel="lat (°)")
    ax.set_aspect(1 / np.cos(np.radians(72)))  # a degree of longitude as wide as at 72°N
    ax.set_title("Where this is", fontsize=10)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    out = io.StringIO()
    fig.savefig(out, format="svg")
    text = out.getvalue()
    return text[text.index("<svg") :]  # the element alone, as Panel's SVG pane takes it
