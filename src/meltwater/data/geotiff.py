"""The per-day GeoTIFF layout ⇄ xarray.

`open_source` opens a source's files as one lazy ``(time, y, x)`` Dataset: daily variables are
dask arrays with one chunk per day, the static DEM and land mask are read eagerly, and every file
is checked against the DEM's grid (CRS, transform, shape). The CRS and transform always come from
the files.

Time axis: `meltwater.data.timeaxis.time_axis`. A day of the axis without a file of a variable
is an all-NaN day of that variable.

No-data: daily files use NaN. A daily file's GeoTIFF nodata tag other than NaN is ignored (as
the reference code does: a tag of 0 would otherwise turn every dry SAR pixel and every MAR zero
into no-data) and warned about once per variable; static files (DEM, land mask) honour the tag.
"""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pandas as pd
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError

from meltwater.atomic import atomic_path
from meltwater.data.catalog import Source
from meltwater.data.timeaxis import time_axis
from meltwater.errors import DataNotFoundError, GridMismatchError, NodataTagWarning

__all__ = [
    "Grid",
    "coords_from_grid",
    "open_source",
    "read_grid",
    "read_raster",
    "write_raster",
]


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS, affine transform and (rows, cols) shape."""

    crs: CRS
    transform: Affine
    shape: tuple[int, int]

    def matches(self, other: Grid, tol: float = 1e-6) -> bool:
        return (
            self.shape == other.shape
            and self.crs == other.crs
            and self.transform.almost_equals(other.transform, precision=tol)
        )

    def describe(self) -> str:
        t = self.transform
        crs = self.crs.to_string()
        return f"shape {self.shape}, CRS {crs}, origin ({t.c}, {t.f}), res ({t.a}, {t.e})"


def coords_from_grid(grid: Grid) -> dict[str, np.ndarray]:
    """Cell-centre ``y``/``x`` coordinates of a north-up grid."""
    t = grid.transform
    if t.b != 0 or t.d != 0:
        raise GridMismatchError(f"rotated grids are not supported: {grid.describe()}")
    ny, nx = grid.shape
    return {
        "y": t.f + t.e * (np.arange(ny) + 0.5),
        "x": t.c + t.a * (np.arange(nx) + 0.5),
    }


def _read(path: Path, grid: Grid | None, masked: bool) -> tuple[np.ndarray, float | None]:
    """Band 1 as float32 (tagged pixels → NaN when ``masked``) and the file's nodata tag."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"raster {path} not found")
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise GridMismatchError(f"{path}: GeoTIFF has no CRS")
            here = Grid(src.crs, src.transform, (src.height, src.width))
            if grid is not None and not grid.matches(here):
                raise GridMismatchError(
                    f"{path} is on a different grid ({here.describe()}) than the DEM "
                    f"({grid.describe()})"
                )
            if src.count != 1:
                raise GridMismatchError(f"{path}: expected 1 band, found {src.count}")
            arr, tag = src.read(1, masked=masked), src.nodata
    except RasterioIOError as e:
        raise GridMismatchError(f"{path}: not a readable GeoTIFF ({e})") from None
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise GridMismatchError(f"{path}: expected numeric data, got {arr.dtype}")
    if masked:
        return np.ma.filled(arr.astype(np.float32), np.nan), tag
    return np.asarray(arr, dtype=np.float32), tag


def read_raster(path: Path, grid: Grid | None = None, *, nodata_tag: bool = True) -> np.ndarray:
    """Read band 1 of a GeoTIFF as float32, checking it is on ``grid``.

    Args:
        path: the GeoTIFF.
        grid: the grid it must be on (unchecked when None).
        nodata_tag: True (static files): pixels equal to the file's nodata tag become NaN.
            False (daily files): the tag is ignored and only NaN is no data (see `open_source`).

    Raises:
        DataNotFoundError: the file does not exist.
        GridMismatchError: unreadable, not single-band, not float, or not on ``grid``.
    """
    return _read(path, grid, nodata_tag)[0]


def _header(path: Path) -> tuple[Grid, float | None]:
    """A GeoTIFF's grid and nodata tag, from its header only."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise GridMismatchError(f"{path}: GeoTIFF has no CRS")
            return Grid(src.crs, src.transform, (src.height, src.width)), src.nodata
    except RasterioIOError as e:
        raise GridMismatchError(f"{path}: not a readable GeoTIFF ({e})") from None


def read_grid(path: Path) -> Grid:
    """The grid of a GeoTIFF, from its header only."""
    return _header(path)[0]


class _NodataWarner:
    """Warns once per variable (thread-safe) about a daily file with a non-NaN nodata tag."""

    def __init__(self) -> None:
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> str:  # cheap and stable: no pickling per task
        return self._token

    def __getstate__(self) -> dict:  # picklable (a dask.distributed worker gets its own copy)
        return {"warned": set(self._warned), "token": self._token}

    def __setstate__(self, state: dict) -> None:
        self._warned, self._token = state["warned"], state["token"]
        self._lock = threading.Lock()

    def check(self, variable: str, path: Path, tag: float | None) -> None:
        if tag is None or np.isnan(tag):
            return
        with self._lock:
            if variable in self._warned:
                return
            self._warned.add(variable)
        warnings.warn(
            f"{path}: nodata tag {tag!r} ignored for daily variable {variable!r} (daily files "
            "use NaN as no-data, as the reference code does; a tagged value stays a value). "
            "Further files of this variable are not reported.",
            NodataTagWarning,
            stacklevel=3,
        )


def _read_daily(path: Path, grid: Grid, variable: str, warner: _NodataWarner) -> np.ndarray:
    """One day of a daily variable: the nodata tag ignored (warned once per variable)."""
    arr, tag = _read(path, grid, masked=False)
    warner.check(variable, path, tag)
    return arr


def write_raster(
    path: Path, data: np.ndarray, grid: Grid, *, nodata: float | None = np.nan
) -> None:
    """Write a single-band float32 GeoTIFF atomically (deflate, tiled when large enough)."""
    data = np.asarray(data, dtype=np.float32)
    if data.shape != grid.shape:
        raise GridMismatchError(f"{path}: data shape {data.shape} != grid shape {grid.shape}")
    profile = dict(
        driver="GTiff",
        height=grid.shape[0],
        width=grid.shape[1],
        count=1,
        dtype="float32",
        crs=grid.crs,
        transform=grid.transform,
        nodata=nodata,
        compress="deflate",
        predictor=3,
    )
    if min(grid.shape) >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data, 1)


def _lazy_stack(
    paths: list[Path], grid: Grid, check: bool, variable: str, warner: _NodataWarner
) -> da.Array:
    """Stack per-day files lazily, one dask chunk per day; a missing file is an all-NaN day.

    With ``check``, every header is read up front: a grid mismatch raises and a non-NaN nodata
    tag is warned about now; otherwise both show when a day is read.
    """
    ny, nx = grid.shape
    if check:
        for p in paths:
            if p.is_file():
                here, tag = _header(p)
                if not here.matches(grid):
                    raise GridMismatchError(
                        f"{p} is on a different grid ({here.describe()}) than the DEM "
                        f"({grid.describe()})"
                    )
                warner.check(variable, p, tag)
    missing = da.full((ny, nx), np.nan, dtype=np.float32, chunks=(ny, nx))  # one, shared
    blocks = []
    for p in paths:
        if p.is_file():
            block = da.from_delayed(
                dask.delayed(_read_daily)(p, grid, variable, warner), (ny, nx), np.float32
            )
        else:
            block = missing
        blocks.append(block)
    return da.stack(blocks) if blocks else da.empty((0, ny, nx), dtype=np.float32)


def open_source(
    source: Source,
    years: Sequence[int] | None = None,
    variables: Sequence[str] | None = None,
    *,
    check_grid: bool = True,
) -> xr.Dataset:
    """Open a source's GeoTIFF layout as a lazy Dataset on the DEM's grid.

    Args:
        source: a catalog source.
        years: restrict to these years (default: every year with a season-day file).
        variables: daily variables to open (default: all of the layout: sar, pmw, mar_wa1).
        check_grid: read every file's header up front: raise on a grid mismatch and warn about
            a non-NaN nodata tag now rather than when a day is read.

    Returns:
        Dataset on the days of `time_axis`, with daily variables ``(time, y, x)`` float32
        (NaN = no data; a file's nodata tag is ignored, warned once per variable), ``dem`` and
        ``land`` ``(y, x)``, ``valid = sar finite & land`` when ``sar`` is opened, the CRS
        written with rioxarray, and ``units``/``long_name`` attributes.

    Raises:
        DataNotFoundError: missing folders or static files, a split date without its file, or
            no days.
        GridMismatchError: a file on another grid than the DEM.
    """
    source.require_files()
    dem_path = source.static_path("dem")
    grid = read_grid(dem_path)
    coords = coords_from_grid(grid)
    variables = list(variables or source.layout.daily)
    times = time_axis(source, years, variables)
    ds = xr.Dataset(coords={"time": times, **coords})
    warner = _NodataWarner()
    for v in variables:
        spec = source.layout.daily[v] if v in source.layout.daily else None
        paths = [source.day_path(v, t) for t in times]
        ds[v] = (("time", "y", "x"), _lazy_stack(paths, grid, check_grid, v, warner))
        if spec is not None:
            ds[v].attrs.update(units=spec.units, long_name=spec.long_name)
    dem = read_raster(dem_path, grid)
    land = read_raster(source.static_path("land"), grid)
    ds["dem"] = (
        ("y", "x"),
        dem,
        {"units": "m", "long_name": source.layout.static["dem"].long_name},
    )
    ds["land"] = (("y", "x"), land > 0, {"long_name": "land (True) / ocean (False)"})
    if "sar" in ds:
        ds["valid"] = ds["sar"].notnull() & ds["land"]
        ds["valid"].attrs["long_name"] = "SAR observed over land"
    ds["x"].attrs.update(units="m", standard_name="projection_x_coordinate")
    ds["y"].attrs.update(units="m", standard_name="projection_y_coordinate")
    ds = ds.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    ds.attrs.update(source=source.name, Conventions="CF-1.8")
    return ds


def winter_means(source: Source, years: Iterable[int]) -> xr.DataArray:
    """Jan–Feb mean PMW brightness temperature per year, ``(year, y, x)``.

    Read from the interim files; a missing year is derived from that year's daily Jan–Feb PMW
    files and written to the interim folder (atomically).

    Raises:
        DataNotFoundError: neither the interim file nor any Jan–Feb PMW day exists for a year.
    """
    grid = read_grid(source.static_path("dem"))
    out = []
    for year in sorted(set(int(y) for y in years)):
        path = source.winter_mean_path(year)
        if not path.is_file():
            days = pd.date_range(f"{year}-01-01", f"{year}-02-28" if year % 4 else f"{year}-02-29")
            files = [p for p in (source.day_path("pmw", d) for d in days) if p.is_file()]
            if not files:
                raise DataNotFoundError(
                    f"winter mean {path} is missing and no Jan–Feb {year} PMW files exist in "
                    f"{source.variable_dir('pmw')} to derive it"
                )
            warner = _NodataWarner()
            stack = np.stack([_read_daily(p, grid, "pmw", warner) for p in files])
            if np.isnan(stack).all(axis=0).any():
                raise DataNotFoundError(f"Jan–Feb {year} PMW files leave pixels without data")
            write_raster(path, np.nanmean(stack, axis=0), grid)
        out.append(read_raster(path, grid))
    coords = coords_from_grid(grid)
    return xr.DataArray(
        np.stack(out),
        dims=("year", "y", "x"),
        coords={"year": sorted(set(int(y) for y in years)), **coords},
        attrs={"units": "K", "long_name": "Jan–Feb mean PMW brightness temperature"},
    )
