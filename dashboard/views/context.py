"""Map context: a scale bar, a north arrow and lat/lon lines on every map, and a locator map of
Greenland with the domain outlined. All are static (built once per map, no per-day cost) and
come from the cube's CRS through pyproj; no tiles, no downloaded coastline.

`GREENLAND` is a coarse outline of Greenland (±30 km): the (lon, lat) of 20 coastal landmarks in
order round the coast, typed in from their gazetteer coordinates (rounded to 0.1°) for this
project. It only shows where the domain lies.
"""

from __future__ import annotations

import io

import holoviews as hv
import numpy as np
from matplotlib.figure import Figure

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Grid

__all__ = [
    "GREENLAND",
    "domain_outline",
    "graticule",
    "locator_svg",
    "map_context",
    "nice_length",
    "north_arrow",
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
TEXT = dict(text_font_size="9pt", text_color="black")
GRID_LINE = dict(color="black", alpha=0.35, line_width=1, line_dash="dashed")


def nice_length(limit: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ not above ``limit`` (> 0)."""
    power = 10 ** np.floor(np.log10(limit))
    return float(max(m * power for m in (1, 2, 5) if m * power <= limit))


def _scale_bar(g: Grid) -> hv.Overlay:
    left, bottom, right, top = g.bounds
    width, height = right - left, top - bottom
    length = nice_length(width / 5)
    x0, y0 = left + 0.04 * width, bottom + 0.06 * height
    bar = hv.Path([[(x0, y0), (x0 + length, y0)]]).opts(color="black", line_width=4)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    return bar * hv.Text(x0 + length / 2, y0 + 0.05 * height, label).opts(**TEXT)


def north_arrow(g: Grid) -> hv.Overlay | None:
    """An arrow towards true north in the bottom-right corner (None without a CRS)."""
    if g.to_lonlat is None:
        return None
    left, bottom, right, top = g.bounds
    width, height = right - left, top - bottom
    x, y = right - 0.06 * width, bottom + 0.06 * height
    lon, lat = g.to_lonlat.transform(x, y)
    nx, ny = g.to_lonlat.transform(lon, lat + 0.01, direction="INVERSE")
    d = np.array([nx - x, ny - y]) / np.hypot(nx - x, ny - y) * 0.18 * height
    shaft = hv.Path([[(x, y), (x + d[0], y + d[1])]]).opts(color="black", line_width=3)
    head = hv.Points([(x + d[0], y + d[1])]).opts(
        marker="triangle", size=12, color="black", angle=float(np.degrees(np.arctan2(-d[0], d[1])))
    )
    tip = hv.Text(x + 1.3 * d[0], y + 1.3 * d[1], "N").opts(text_font_size="11pt")
    return shaft * head * tip


def graticule(g: Grid, n: int = 3) -> hv.Overlay | None:
    """Dashed lines of constant latitude and longitude (about ``n`` of each, at 0.1°, 0.2°,
    0.5°, 1°… steps) labelled in degrees (None without a CRS)."""
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
            xi, yi = x[inside][i], y[inside][i]
            labels.append((xi, yi, f"{abs(v):.4g}°{hemi}", "bottom" if kind == "lat" else "top"))
    path = hv.Path(lines).opts(**GRID_LINE)
    text = [
        hv.Text(x, y, t, halign="left", valign=v).opts(text_font_size="8pt", text_color="#333")
        for x, y, t, v in labels
    ]
    return hv.Overlay([path, *text])


def map_context(state: DashboardState) -> hv.Overlay:
    """Scale bar, north arrow and lat/lon lines of the source's grid, for `maps.map_view`."""
    g = state.store.grid(state.source)
    parts = [graticule(g), _scale_bar(g), north_arrow(g)]
    return hv.Overlay([p for p in parts if p is not None])


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
    empty string without a CRS). A static image: no plot canvas, drawn once per source."""
    outline = domain_outline(state.store.grid(state.source))
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
