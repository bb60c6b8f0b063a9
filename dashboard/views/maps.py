"""Linked maps in the cube's native CRS: rasterized DynamicMaps over a DEM hillshade.

Each map is ``hillshade * regrid(DynamicMap)`` (``regrid`` is what ``rasterize`` dispatches to
for images, minus ~7 ms of dispatch per frame): datashader regrids to screen pixels, pan/zoom
is shared by every map (same x/y dimensions). Maps given a window reader read only the coarsest
overview level of the cube that still fills the plot, and only the window shown
(`Store.choose`), on pan/zoom (the DynamicMap's RangeXY/PlotSize streams) and on day pushes.
A change of the map's tick (see `state`) pushes the new day into the rendered image without a
HoloViews re-render (`dashboard.live`). Colour limits are fixed per variable so colours mean
the same on every day.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import holoviews as hv
import numpy as np
import panel as pn
from holoviews.operation.datashader import regrid
from matplotlib import colormaps
from matplotlib.colors import to_hex

from meltwater.data.overviews import LevelWindow
from meltwater.schema import pred_var
from meltwater_dashboard.live import LiveRaster, Windowed
from meltwater_dashboard.progressive import progressive
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.context import map_context
from meltwater_dashboard.views.frame_aspect import DECORATION_PX, keep_frame_aspect
from meltwater_dashboard.views.grid import MAP_MIN_PX, responsive_grid
from meltwater_dashboard.views.layers import KDIMS, hillshade_layer, pending_layer, pixel_marker

__all__ = [
    "STYLES",
    "detail_text",
    "input_maps",
    "map_panel",
    "map_view",
    "palette",
    "readout",
    "result_maps",
]

# key: (label, units, colormap, colour limits)
STYLES: dict[str, tuple[str, str, str, tuple[float, float]]] = {
    "pmw": ("PMW brightness temperature", "K", "inferno", (150.0, 280.0)),
    "mar_wa1": ("MAR liquid water WA1", "kg m⁻²", "YlGnBu", (0.0, 0.05)),
    "sar_interp": ("Time-interpolated SAR", "melt fraction", "Blues", (0.0, 1.0)),
    "dem": ("Elevation", "m", "gist_earth", (0.0, 3500.0)),
    "pred": ("Prediction", "melt fraction", "Blues", (0.0, 1.0)),
    "sar": ("SAR observation", "melt fraction", "Blues", (0.0, 1.0)),
    "error": ("Error: prediction − SAR", "melt fraction", "RdBu_r", (-1.0, 1.0)),
    "diff": ("Difference of the two models", "melt fraction", "PuOr_r", (-1.0, 1.0)),
    "mae": ("Per-pixel MAE vs SAR", "melt fraction", "magma_r", (0.0, 0.6)),
    "bias": ("Per-pixel mean bias vs SAR", "melt fraction", "RdBu_r", (-0.6, 0.6)),
}
FRAME_WIDTH = 380  # a first guess of the frame's width, before the browser reports its size
# the plot fills its cell's width (Bokeh "stretch_width"); `keep_frame_aspect` sets its height
MAP_OPTS = dict(
    responsive=True,
    min_width=MAP_MIN_PX,
    toolbar="above",
    colorbar=True,
    tools=["hover", "tap"],
    xformatter="%.0f",
    yformatter="%.0f",
)


# maps whose low values fade out so the hillshade shows where there is no melt / no error
FADING = {
    "pred": "linear",
    "sar": "linear",
    "sar_interp": "linear",
    "mae": "linear",
    "error": "abs",
    "diff": "abs",
}
FADE_MIN_ALPHA = 0.25


def palette(key: str, n: int = 256, min_alpha: float = FADE_MIN_ALPHA) -> list[str]:
    """RGBA hex colours of the variable's colormap; fading maps go from ``min_alpha`` (no melt
    or no error) to opaque."""
    _, _, name, _ = STYLES[key]
    cmap = colormaps[name]
    pos = np.linspace(0.0, 1.0, n)
    if key not in FADING:
        alpha = np.full(n, 0.9)
    elif FADING[key] == "abs":  # diverging: transparent at zero, opaque at both ends
        alpha = min_alpha / 2 + (1 - min_alpha / 2) * np.abs(2 * pos - 1)
    else:
        alpha = min_alpha + (1 - min_alpha) * pos
    return [to_hex((*cmap(p)[:3], a), keep_alpha=True) for p, a in zip(pos, alpha, strict=True)]


def _vdim(key: str) -> hv.Dimension:
    label, unit, _, _ = STYLES[key]
    return hv.Dimension(key, label=label, unit=unit)


def _windowed(state: DashboardState, reader: Callable[[LevelWindow], np.ndarray]) -> Windowed:
    store, source = state.store, state.source
    return Windowed(
        choose=lambda extent, px: store.choose(source, extent, px),
        coords=lambda win: store.window_coords(source, win),
        read=reader,
    )


def map_view(
    state: DashboardState,
    key: str,
    getter: Callable[[], np.ndarray],
    tick: str | None = None,
    reader: Callable[[LevelWindow], np.ndarray] | None = None,
    extra: hv.DynamicMap | None = None,
) -> hv.Overlay:
    """A rasterized map of ``getter()``, following ``tick`` (static without one), with the
    ``extra`` layer drawn over it.

    HoloViews renders it (and re-renders it on pan/zoom); a ``tick`` change pushes the new
    day into the rendered image directly (`dashboard.live`). With ``reader`` (window → the
    day's values there) only the level window a view needs is read. Pointer moves set
    ``state.hover``, taps set ``state.pixel``, which a cross marks.
    """
    label, unit, cmap, clim = STYLES[key]
    g = state.store.grid(state.source)
    windowed = _windowed(state, reader) if reader is not None else None
    live = LiveRaster(getter, g.xs, g.ys if g.y_descending else g.ys[::-1], windowed)
    vdims = [_vdim(key)]

    def image(n: int = 0, x_range=None, y_range=None, width=None, height=None, scale=None):
        if windowed is None:
            return hv.Image(getter(), bounds=g.bounds, kdims=KDIMS, vdims=vdims)
        left, bottom, right, top = g.bounds
        extent = g.bounds
        if x_range is not None and y_range is not None:
            extent = (x_range[0], y_range[0], x_range[1], y_range[1])
            state.view = tuple(float(v) for v in extent)  # the live ablation runs here first
        w = int(width or FRAME_WIDTH)
        h = int(height or max(1, round(w * (top - bottom) / (right - left))))
        win = windowed.choose(extent, (w, h))
        detail = detail_text(win, abs(g.xs[1] - g.xs[0]))
        if state.map_detail != detail:  # after this render: a pane set during it is not sent
            pn.state.execute(lambda: setattr(state, "map_detail", detail), schedule=True)
        xs, ys = windowed.coords(win)
        if len(xs) < 2 or len(ys) < 2:  # the view is (nearly) outside the grid
            return hv.Image(np.full((1, 1), np.nan), bounds=g.bounds, kdims=KDIMS, vdims=vdims)
        dx, dy = abs(xs[1] - xs[0]) / 2, abs(ys[1] - ys[0]) / 2
        bounds = (xs[0] - dx, ys[-1] - dy, xs[-1] + dx, ys[0] + dy)  # rows north → south
        return hv.Image(windowed.read(win), bounds=bounds, kdims=KDIMS, vdims=vdims)

    streams = [live.frame]
    if windowed is not None:
        streams += [hv.streams.RangeXY(), hv.streams.PlotSize()]
    dmap = hv.DynamicMap(image, streams=streams)
    left, bottom, right, top = g.bounds
    aspect = (right - left) / (top - bottom)
    raster = regrid(dmap).opts(
        cmap=palette(key),
        clim=clim,
        clabel=unit,
        hooks=[live.attach, map_context(state).draw, keep_frame_aspect(aspect)],
        height=round(FRAME_WIDTH / aspect) + DECORATION_PX,
        **MAP_OPTS,
    )
    if tick:
        state.param.watch(lambda e: live.push(e.new), tick)
    overlay = hillshade_layer(state) * raster * pixel_marker(state)
    if extra is not None:
        overlay = overlay * extra
    pointer = hv.streams.PointerXY(source=raster)
    pointer.add_subscriber(lambda x, y: _set_point(state, "hover", x, y))
    tap = hv.streams.Tap(source=raster)
    tap.add_subscriber(lambda x, y: _set_point(state, "pixel", x, y))
    return overlay


def detail_text(win: LevelWindow, cell: float) -> str:
    """What the maps read: the level (full resolution or overview ×f), its cell size and the
    window's cells."""
    level = "full resolution" if win.factor == 1 else f"overview ×{win.factor}"
    cells = f"{win.cols[1] - win.cols[0]} × {win.rows[1] - win.rows[0]} cells"
    return f"Maps read {level}: {cell * win.factor:.0f} m cells, {cells}."


def _set_point(state: DashboardState, name: str, x, y) -> None:
    if x is not None and y is not None:
        setattr(state, name, (float(x), float(y)))


def map_panel(
    state: DashboardState,
    key: str,
    getter: Callable[[], np.ndarray],
    title: Callable[[], str],
    tick: str | None = None,
    title_on: tuple[str, ...] = (),
    reader: Callable[[LevelWindow], np.ndarray] | None = None,
    extra: hv.DynamicMap | None = None,
) -> pn.Column:
    """`map_view` with a title line that follows ``title_on`` (default: the map's tick)."""

    def bold() -> str:
        return f"<b>{html.escape(title())}</b>"

    title_on = title_on or ((tick,) if tick else ())
    deps = [state.param[p] for p in title_on]
    text = pn.bind(lambda *_: bold(), *deps) if deps else bold()
    heading = pn.pane.HTML(text, margin=(0, 10))
    view = map_view(state, key, getter, tick, reader, extra)
    plot = pn.pane.HoloViews(view, linked_axes=True, margin=(0, 4), sizing_mode="stretch_width")
    return pn.Column(heading, plot, sizing_mode="stretch_width")


def held_title(state: DashboardState, text: str, note: str = "") -> str:
    """Title of a map on the maps tick: the day it shows, and that it waits while playing."""
    held = " · updates on pause" if state.playing else ""
    return f"{text} — {state.maps_date}{note}{held}"


def result_maps(state: DashboardState) -> pn.GridBox:
    """Prediction(s) (redrawn every frame); SAR, error and the compare mode's difference (on
    the maps tick, held while playing), built once the page has shown the first prediction."""
    tick, held = "tick_maps", ("tick_maps", "playing")

    def pred_map(second: bool) -> pn.Column:
        def model() -> str:
            return state.model_b if second else state.model

        def values() -> np.ndarray:
            return state.prediction(model())

        def title() -> str:
            todo = not state.store.is_done(state.source, pred_var(model()), state.date_str)
            note = " (not computed yet)" if todo else ""
            return f"Prediction {state.run_name(model())} — {state.date_str}{note}"

        return map_panel(
            state,
            "pred",
            values,
            title,
            "tick_pred",
            ("tick_pred", "tick_maps"),
            lambda win: state.prediction(model(), win),
            pending_layer(state, model),
        )

    def diff_title() -> str:
        a, b = state.run_name(state.model), state.run_name(state.model_b)
        return held_title(state, f"Difference {a} − {b}")

    def sar_title() -> str:
        return held_title(state, "SAR", "" if state.maps_has_sar else " (no scene this day)")

    def error_title() -> str:
        return held_title(state, f"Error {state.run_name()} − SAR")

    maps = [lambda: pred_map(False)] + ([lambda: pred_map(True)] if state.compare else [])
    if state.compare:
        maps.append(
            lambda: map_panel(
                state, "diff", state.difference, diff_title, tick, held, state.difference
            )
        )
    maps.append(
        lambda: map_panel(
            state,
            "sar",
            lambda: state.layer("sar"),
            sar_title,
            tick,
            held,
            lambda win: state.layer("sar", win),
        )
    )
    maps.append(
        lambda: map_panel(
            state,
            "error",
            state.error,
            error_title,
            tick,
            held,
            lambda win: state.error(None, win),
            pending_layer(state, lambda: state.model),
        )
    )
    # the prediction first, the other maps once the page has loaded (progressive.py)
    return progressive(maps, 300, responsive_grid)


def input_maps(state: DashboardState) -> pn.GridBox:
    """The four model inputs of the day (the DEM is static)."""
    tick = "tick_inputs"

    def layer(var: str) -> Callable[[], np.ndarray]:
        return lambda: state.layer(var)

    def reader(var: str) -> Callable[[LevelWindow], np.ndarray]:
        return lambda win: state.layer(var, win)

    def title(var: str) -> Callable[[], str]:
        return lambda: f"{STYLES[var][0]} — {state.date_str}"

    panes = [
        map_panel(state, v, layer(v), title(v), tick, reader=reader(v))
        for v in ("pmw", "mar_wa1", "sar_interp")
    ]
    dem = map_panel(
        state,
        "dem",
        lambda: state.store.frame(state.source, "dem", ""),
        lambda: "Elevation (DEM)",
        reader=lambda win: state.store.window(state.source, "dem", "", win),
    )
    return responsive_grid(*panes, dem)


def readout(state: DashboardState) -> str:
    """HTML table of every layer's value at the pointer, with lat/lon."""
    if state.hover is None:
        return "<i>Move the pointer over a map to read values.</i>"
    x, y = state.hover
    g = state.store.grid(state.source)
    idx = g.index(x, y)
    if idx is None:
        return "<i>Pointer outside the grid.</i>"
    r, c = idx
    rows = [("x, y", f"{g.xs[c]:.0f}, {g.ys[r]:.0f} m")]
    ll = g.lonlat(float(g.xs[c]), float(g.ys[r]))
    if ll is not None:
        rows.append(("lat, lon", f"{ll[1]:.4f}°, {ll[0]:.4f}°"))
    cell = LevelWindow(1, (r, r + 1), (c, c + 1))  # one full-resolution cell, read alone
    for var in ("pmw", "mar_wa1", "sar_interp", "sar"):
        rows.append((STYLES[var][0], _fmt(state.layer(var, cell)[0, 0], STYLES[var][1])))
    dem = state.store.window(state.source, "dem", "", cell)[0, 0]
    rows.append(("Elevation", _fmt(dem, "m")))
    for m in state.shown_models:
        rows.append((f"pred {state.run_name(m)}", _fmt(state.prediction(m, cell)[0, 0], "")))
        rows.append((f"error {state.run_name(m)}", _fmt(state.error(m, cell)[0, 0], "")))
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table style='font-size:12px'>{body}</table>"


def _fmt(value: float, unit: str) -> str:
    if not np.isfinite(value):
        return "—"
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()
