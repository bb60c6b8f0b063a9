"""Day changes pushed straight into rendered maps: datashader regrid, no HoloViews re-render.

A map is rendered by HoloViews once (and again on pan/zoom, through `regrid`'s RangeXY
stream). Re-rendering it for every played day costs ~50 ms of HoloViews plot machinery per map
on a 2-core CPU, most of it not spent on the pixels. `LiveRaster` keeps the Bokeh image sources
of its rendered plots (a plot hook) and, on a day change, regrids the new day with datashader
onto the geometry each source already shows (extent and size, i.e. the current zoom) and writes
only the ``image`` column. A counter stream keeps the DynamicMap's memo key in step, so a later
pan/zoom or a fresh render draws the current day, not a cached one.

With a `Windowed` reader (a cube with overview levels) a push reads, for each rendered copy,
only the coarsest level that still fills its pixels and only the window it shows.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import datashader as ds
import holoviews as hv
import numpy as np
import xarray as xr

from meltwater.data.overviews import LevelWindow

__all__ = ["LiveRaster", "Windowed"]

Frame = hv.streams.Stream.define("Frame", n=0)


@dataclass(frozen=True)
class Windowed:
    """How a map reads only what it shows (see `meltwater_dashboard.store.Store.choose`).

    Attributes:
        choose: (extent (x0, y0, x1, y1), plot size (w, h) px) → the level window to read.
        coords: window → cell centres (xs, ys) of what ``read`` returns.
        read: window → the current day's values there (rows north → south).
    """

    choose: Callable[[tuple[float, float, float, float], tuple[int, int]], LevelWindow]
    coords: Callable[[LevelWindow], tuple[np.ndarray, np.ndarray]]
    read: Callable[[LevelWindow], np.ndarray]


class LiveRaster:
    """The day shown by one map, for every rendered copy of it.

    Args:
        getter: returns the current day's map (rows north → south or as ``ys`` runs).
        xs, ys: cell-centre coordinates of the getter's columns and rows.
        windowed: read levels and windows instead of ``getter``'s whole grid.
    """

    def __init__(
        self,
        getter: Callable[[], np.ndarray],
        xs: np.ndarray,
        ys: np.ndarray,
        windowed: Windowed | None = None,
    ):
        self.getter, self.windowed = getter, windowed
        self.xs, self.ys = np.asarray(xs, float), np.asarray(ys, float)
        self.frame = Frame()
        self._sources: weakref.WeakSet = weakref.WeakSet()

    def attach(self, plot, element) -> None:
        """HoloViews plot hook: remember the plot's image source."""
        self._sources.add(plot.handles["source"])

    def regrid(
        self,
        arr: np.ndarray,
        x0: float,
        y0: float,
        dw: float,
        dh: float,
        shape: tuple[int, int],
        xs: np.ndarray | None = None,
        ys: np.ndarray | None = None,
    ) -> np.ndarray:
        """``arr`` regridded like `holoviews.operation.datashader.regrid` (mean when shrinking,
        nearest when growing) onto ``shape`` cells over [x0, x0 + dw] × [y0, y0 + dh]; rows
        bottom → top, as Bokeh's image glyph draws them. ``xs``, ``ys``: ``arr``'s cell
        centres (default: the map's)."""
        h, w = shape
        xs = self.xs if xs is None else xs
        ys = self.ys if ys is None else ys
        if arr.size == 0:  # the view is outside the grid
            return np.full((h, w), np.nan, np.float32)
        canvas = ds.Canvas(
            plot_width=w, plot_height=h, x_range=(x0, x0 + dw), y_range=(y0, y0 + dh)
        )
        da = xr.DataArray(arr, coords={"y": ys, "x": xs}, dims=("y", "x"))
        out = canvas.raster(da, upsample_method="nearest", downsample_method="mean")
        values = out.values
        return values if out.y.values[0] <= out.y.values[-1] else values[::-1]

    def push(self, n: int) -> int:
        """Show the getter's current day in every rendered copy; returns how many were updated."""
        self.frame.update(n=n)
        sources = list(self._sources)
        if not sources:
            return 0
        windowed = self.windowed
        whole = np.asarray(self.getter()) if windowed is None else np.empty(0)
        for src in sources:
            data = src.data
            x0, y0, dw, dh = (float(data[k][0]) for k in ("x", "y", "dw", "dh"))
            shape = np.shape(data["image"][0])
            if windowed is None:
                src.data["image"] = [self.regrid(whole, x0, y0, dw, dh, shape)]
                continue
            win = windowed.choose((x0, y0, x0 + dw, y0 + dh), (shape[1], shape[0]))
            xs, ys = windowed.coords(win)
            part = np.asarray(windowed.read(win))
            src.data["image"] = [self.regrid(part, x0, y0, dw, dh, shape, xs, ys)]
        return len(sources)
