"""The per-day GeoTIFF layout ⇄ xarray.

`open_source` opens a source's files as one lazy ``(time, y, x)`` Dataset: daily variables are
dask arrays with one chunk per day (a missing day is NaN, not an error), the static DEM and land
mask are read eagerly, and every file is checked against the DEM's grid (CRS, transform, shape).
The CRS and transform always come from the files.
"""

from __future__ import annotations

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
from meltwater.errors import DataNotFoundError, GridMismatchError

__all__ = [
    "Grid",
    "coords_from_grid",
    "list_dates",
    "open_source",
    "read_grid",
    "read_raster",
    "season_dates",
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


def read_grid(path: Path) -> Grid:
    """The grid of a GeoTIFF, from its header only."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise GridMismatchError(f"{path}: GeoTIFF has no CRS")
            return Grid(src.crs, src.transform, (src.height, src.width))
    except RasterioIOError as e:
        raise GridMismatchError(f"{path}: not a readable GeoTIFF ({e})") from None


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


def read_raster(path: Path, grid: Grid | None = None) -> np.ndarray:
    """Read band 1 of a GeoTIFF as float32 with nodata → NaN, checking it is on ``grid``.

    Raises:
        DataNotFoundError: the file does not exist.
        GridMismatchError: unreadable, not single-band, not float, or not on ``grid``.
    """
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
            arr = src.read(1, masked=True)
    except RasterioIOError as e:
        raise GridMismatchError(f"{path}: not a readable GeoTIFF ({e})") from None
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise GridMismatchError(f"{path}: expected numeric data, got {arr.dtype}")
    return np.ma.filled(arr.astype(np.float32), np.nan)


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


def list_dates(folder: Path, date_format: str = "%Y_%m_%d") -> pd.DatetimeIndex:
    """Dates of the ``YYYY_MM_DD.tif`` files in ``folder`` (others are ignored)."""
    if not folder.is_dir():
        return pd.DatetimeIndex([], name="time")
    dates = pd.to_datetime(
        [p.stem for p in folder.glob("*.tif")], format=date_format, errors="coerce"
    )
    return pd.DatetimeIndex(sorted(dates.dropna()), name="time")


def season_dates(
    years: Iterable[int], season: tuple[str, str] = ("04-01", "09-30")
) -> pd.DatetimeIndex:
    """Every day of the melt season (inclusive) of each year."""
    parts = [pd.date_range(f"{y}-{season[0]}", f"{y}-{season[1]}", freq="D") for y in sorted(years)]
    return pd.DatetimeIndex(np.concatenate(parts) if parts else [], name="time")


def _time_axis(source: Source, years: Sequence[int] | None) -> pd.DatetimeIndex:
    """Deploy dates when the split exists, else every date with an input file; within the season."""
    try:
        dates = source.split_dates("deploy")
    except DataNotFoundError:
        found = [
            list_dates(source.variable_dir(v), source.layout.date_format)
            for v in ("pmw", "mar_wa1")
        ]
        dates = found[0].union(found[1])
        start, end = source.season
        md = dates.strftime("%m-%d")
        dates = dates[(md >= start) & (md <= end)]
    if years is not None:
        dates = dates[dates.year.isin(list(years))]
    if len(dates) == 0:
        raise DataNotFoundError(
            f"source {source.name!r} under {source.root} has no days"
            + (f" in years {list(years)}" if years is not None else "")
        )
    return pd.DatetimeIndex(dates, name="time")


def _lazy_stack(paths: list[Path], grid: Grid, check: bool) -> da.Array:
    """Stack per-day files lazily, one dask chunk per day; a missing file is an all-NaN day."""
    ny, nx = grid.shape
    if check:
        for p in paths:
            if p.is_file() and not read_grid(p).matches(grid):
                raise GridMismatchError(
                    f"{p} is on a different grid ({read_grid(p).describe()}) than the DEM "
                    f"({grid.describe()})"
                )
    blocks = []
    for p in paths:
        if p.is_file():
            block = da.from_delayed(dask.delayed(read_raster)(p, grid), (ny, nx), np.float32)
        else:
            block = da.full((ny, nx), np.nan, dtype=np.float32, chunks=(ny, nx))
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
        years: restrict to these years (default: all days of the deploy split or the files).
        variables: daily variables to open (default: all of the layout: sar, pmw, mar_wa1).
        check_grid: read every file's header and raise on a grid mismatch up front.

    Returns:
        Dataset with daily variables ``(time, y, x)`` float32 (NaN = no data), ``dem`` and
        ``land`` ``(y, x)``, ``valid = sar finite & land`` when ``sar`` is opened, the CRS
        written with rioxarray, and ``units``/``long_name`` attributes.

    Raises:
        DataNotFoundError: missing folders or static files, or no days.
        GridMismatchError: a file on another grid than the DEM.
    """
    source.require_files()
    dem_path = source.static_path("dem")
    grid = read_grid(dem_path)
    coords = coords_from_grid(grid)
    times = _time_axis(source, years)
    variables = list(variables or source.layout.daily)
    ds = xr.Dataset(coords={"time": times, **coords})
    for v in variables:
        spec = source.layout.daily[v] if v in source.layout.daily else None
        paths = [source.day_path(v, t) for t in times]
        ds[v] = (("time", "y", "x"), _lazy_stack(paths, grid, check_grid))
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
            stack = np.stack([read_raster(p, grid) for p in files])
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
