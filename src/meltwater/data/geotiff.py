"""The per-day GeoTIFF layout ⇄ xarray.

`open_source` opens a source's files as one lazy ``(time, y, x)`` Dataset: daily variables are
dask arrays with one chunk per day, the static DEM and land mask are read eagerly, and every file
is checked against the DEM's grid (CRS, transform, shape). The CRS and transform always come from
the files.

Time axis: every season day of the layout's years (the years with a season-day file) ∪ every
date of the train/val/test split lists. A season day without a file is an all-NaN day; a split
date without one of its files is an error naming the date and the file.

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
from meltwater.errors import DataNotFoundError, GridMismatchError, NodataTagWarning

__all__ = [
    "SCENE_SPLITS",
    "Grid",
    "coords_from_grid",
    "list_dates",
    "open_source",
    "read_grid",
    "read_raster",
    "season_dates",
    "time_axis",
    "write_raster",
]

SCENE_SPLITS = ("train", "val", "test")


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


def _scene_dates(source: Source) -> pd.Series:
    """Every date of the source's train/val/test lists → its split name (a missing list: none)."""
    parts = []
    for split in SCENE_SPLITS:
        if source.split_path(split).is_file():
            dates = source.split_dates(split)
            parts.append(pd.Series(split, index=dates, dtype=object))
    if not parts:
        return pd.Series([], index=pd.DatetimeIndex([], name="time"), dtype=object)
    out = pd.concat(parts)
    return out[~out.index.duplicated()].sort_index()


def time_axis(
    source: Source, years: Sequence[int] | None = None, variables: Sequence[str] | None = None
) -> pd.DatetimeIndex:
    """The cube's days: every season day with a file of the layout ∪ every train/val/test date.

    A season day is in the axis when any daily variable has a file dated that day (a variable
    without one is all-NaN there); ``years`` restricts the days to those years. Split dates are
    not taken from ``deploy.csv`` (the reference's list misses every 31st of a month), and each
    split date in those years must have a file in every daily variable opened (``variables``,
    default all of the layout).

    Raises:
        DataNotFoundError: a split date without a file (the message names the date, its split
            and the file), or no day at all.
    """
    layout = source.layout
    found = pd.DatetimeIndex([], name="time")
    for v in layout.daily:
        found = found.union(list_dates(source.variable_dir(v), layout.date_format))
    start, end = source.season
    md = found.strftime("%m-%d")
    in_season = found[(md >= start) & (md <= end)]
    scenes = _scene_dates(source)
    if years is not None:
        scope = sorted({int(y) for y in years})
        in_season = in_season[in_season.year.isin(scope)]
        scenes = scenes[scenes.index.year.isin(scope)]
    else:
        scenes = scenes[scenes.index.year.isin(sorted(set(in_season.year)))]
    variables = [v for v in (variables or layout.daily) if v in layout.daily]
    missing = [
        f"{day:%Y-%m-%d} ({split}): {source.day_path(v, day)}"
        for day, split in scenes.items()
        for v in variables
        if not source.day_path(v, day).is_file()
    ]
    if missing:
        shown = "; ".join(missing[:10]) + (
            f"; … {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise DataNotFoundError(
            f"source {source.name!r}: {len(missing)} file(s) of split dates missing: {shown} "
            f"(split lists in {source.splits_dir}; restrict the years to build a part)"
        )
    dates = in_season.union(scenes.index)
    if len(dates) == 0:
        raise DataNotFoundError(
            f"source {source.name!r} under {source.root} has no days"
            + (f" in years {list(years)}" if years is not None else "")
        )
    return pd.DatetimeIndex(dates, name="time")


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
