"""`Grid`: the map geometry of a cube (bounds, cell centres, lat/lon, boxes of cells)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from pyproj import Transformer

from meltwater.data.overviews import choose_level

__all__ = ["Grid"]


@dataclass(frozen=True)
class Grid:
    """Map geometry of a cube: image bounds, cell centres and a projected → lat/lon transform."""

    bounds: tuple[float, float, float, float]
    xs: np.ndarray
    ys: np.ndarray
    y_descending: bool
    to_lonlat: Transformer | None

    def lonlat(self, x: float, y: float) -> tuple[float, float] | None:
        """(lon, lat) of a projected point, None when the cube has no CRS."""
        if self.to_lonlat is None:
            return None
        lon, lat = self.to_lonlat.transform(x, y)
        return float(lon), float(lat)

    def index(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) of the cell holding (x, y), None outside the grid."""
        left, bottom, right, top = self.bounds
        if not (left <= x <= right and bottom <= y <= top):
            return None
        col = int(np.abs(self.xs - x).argmin())
        row = int(np.abs(self.ys - y).argmin())
        return row, col

    @classmethod
    def of(cls, cube: xr.Dataset) -> Grid:
        """The geometry of ``cube`` (cell centres ``x``/``y``, CRS from ``rio.crs``)."""
        xs, ys = np.asarray(cube.x.values, float), np.asarray(cube.y.values, float)
        dx, dy = abs(xs[1] - xs[0]), abs(ys[1] - ys[0])
        bounds = (xs.min() - dx / 2, ys.min() - dy / 2, xs.max() + dx / 2, ys.max() + dy / 2)
        crs = cube.rio.crs
        tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True) if crs is not None else None
        box = (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))
        return cls(box, xs, ys, bool(ys[0] > ys[-1]), tr)

    def view_box(self, extent: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """Level-0 (row, row stop, column, column stop) of the cells under ``extent``, as stored."""
        win = choose_level(extent, (1, 1), self.xs, self.ys, ())
        return (*win.rows, *win.cols)

    def box_extent(self, box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in map units of a `view_box`-style box of cells."""
        r0, r1, c0, c1 = box
        dx, dy = abs(self.xs[1] - self.xs[0]) / 2, abs(self.ys[1] - self.ys[0]) / 2
        ys = (self.ys[r0], self.ys[r1 - 1])
        return (
            float(self.xs[c0] - dx),
            float(min(ys) - dy),
            float(self.xs[c1 - 1] + dx),
            float(max(ys) + dy),
        )
