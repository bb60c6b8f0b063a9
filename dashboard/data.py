"""Cached loaders: cubes, day maps, hillshade, summaries, live ablations (one copy per process).

Everything heavy is loaded on first use and shared between sessions of the same process
(`pn.state.as_cached` / `pn.cache`); with ``panel serve --num-procs N`` each process holds its own
copy. Torch is imported only when a live ablation first runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import panel as pn
import xarray as xr
from pyproj import Transformer

from meltwater import summary
from meltwater.catalog import data_dir, get_source, load_catalog
from meltwater.errors import CubeError, MeltwaterError
from meltwater.summary_cache import season_summary

__all__ = [
    "Grid",
    "ablated_prediction",
    "available_sources",
    "daily_summary",
    "frame",
    "get_cube",
    "grid",
    "hillshade",
    "pixel_errors",
    "pixel_series",
    "prefetch",
    "preload_unet",
    "register_cube",
    "sar_days",
    "results",
    "season_day_labels",
    "season_days",
    "set_predictor",
    "times",
    "unet",
]

PredictFn = Callable[[xr.Dataset, pd.Timestamp, tuple[str, ...]], np.ndarray]

_REGISTERED: dict[str, xr.Dataset] = {}
_PREDICTOR: list[PredictFn] = []
_PREFETCH = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meltwater-prefetch")


def register_cube(name: str, cube: xr.Dataset | None) -> None:
    """Serve an in-memory cube under ``name`` (tests, notebooks; None removes it).

    Clears the cached frames.
    """
    if cube is None:
        _REGISTERED.pop(name, None)
    else:
        _REGISTERED[name] = cube
    pn.state.clear_caches()


def set_predictor(fn: PredictFn | None) -> None:
    """Use ``fn(cube, date, ablate) -> (y, x) array`` for live ablations instead of the UNet."""
    _PREDICTOR.clear()
    if fn is not None:
        _PREDICTOR.append(fn)
    pn.state.clear_caches()


def available_sources() -> list[str]:
    """Registered cubes, then catalog sources whose cube exists on disk."""
    names = list(_REGISTERED)
    for name in load_catalog()["sources"]:
        if name not in names and get_source(name).cube_path.exists():
            names.append(name)
    return names


def _open(name: str) -> xr.Dataset:
    from meltwater.cube import open_cube

    return open_cube(get_source(name))


def get_cube(name: str) -> xr.Dataset:
    """The analysis cube of source ``name``, opened once per process.

    Raises:
        CatalogError: unknown source.
        CubeError: the cube is missing or invalid.
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    return pn.state.as_cached(f"meltwater-cube-{name}", _open, name=name)


@pn.cache(max_items=8)
def times(source: str) -> pd.DatetimeIndex:
    """Every day of the source's cube."""
    return pd.DatetimeIndex(get_cube(source).time.values, name="time")


@pn.cache(max_items=8)
def sar_days(source: str) -> frozenset[pd.Timestamp]:
    """The days of the source's cube that have a SAR scene."""
    cube = get_cube(source)
    return frozenset(times(source)[np.asarray(cube["has_sar"].values, bool)])


@pn.cache(max_items=64)
def season_days(source: str, year: int) -> pd.DatetimeIndex:
    """The days of ``year`` in the source's cube."""
    t = times(source)
    return t[t.year == year]


@pn.cache(max_items=64)
def season_day_labels(source: str, year: int) -> list[str]:
    """``YYYY-MM-DD`` labels of `season_days`."""
    return [d.strftime("%Y-%m-%d") for d in season_days(source, year)]


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


@pn.cache(max_items=8)
def grid(source: str) -> Grid:
    """Geometry of the source's cube (cached)."""
    cube = get_cube(source)
    xs, ys = np.asarray(cube.x.values, float), np.asarray(cube.y.values, float)
    dx, dy = abs(xs[1] - xs[0]), abs(ys[1] - ys[0])
    bounds = (xs.min() - dx / 2, ys.min() - dy / 2, xs.max() + dx / 2, ys.max() + dy / 2)
    crs = cube.rio.crs
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True) if crs is not None else None
    return Grid(tuple(float(b) for b in bounds), xs, ys, bool(ys[0] > ys[-1]), tr)


@pn.cache(max_items=48, policy="LRU")
def frame(source: str, var: str, date: str) -> np.ndarray:
    """One day of ``var`` as float32, rows north → south (static variables ignore ``date``)."""
    arr = summary.day_map(get_cube(source), var, date)
    return arr if grid(source).y_descending else arr[::-1]


def prefetch(source: str, variables: Sequence[str], date: str) -> None:
    """Read ``date``'s maps of ``variables`` into the frame cache in a background thread."""
    for var in variables:
        _PREFETCH.submit(frame, source, var, date)


@pn.cache(max_items=8)
def hillshade(source: str) -> np.ndarray:
    """DEM hillshade in [0, 1] (sun from the north-west, 45° up), NaN over the ocean."""
    from matplotlib.colors import LightSource

    dem = frame(source, "dem", "")
    land = frame(source, "land", "").astype(bool)
    g = grid(source)
    dx, dy = abs(g.xs[1] - g.xs[0]), abs(g.ys[1] - g.ys[0])
    shade = LightSource(azdeg=315, altdeg=45).hillshade(np.nan_to_num(dem), dx=dx, dy=dy)
    return np.where(land, shade, np.nan).astype(np.float32)


def _load_unet(source: str):
    from meltwater.predict import UNetPredictor  # torch loads here, on first use

    predictor = UNetPredictor.from_registry()
    cube = get_cube(source)
    predictor.predict(cube, cube.time.values[0])  # the first run sets up the kernels (~0.3 s)
    return predictor


def unet(source: str):
    """The registry's UNet, loaded and run once per process (shared by every session)."""
    return pn.state.as_cached("meltwater-unet", _load_unet, source=source)


def preload_unet(source: str) -> None:
    """Load the UNet in the background so that the first live ablation does not wait for it.

    Does nothing when a test predictor is set or the cube has no UNet predictions.
    """
    if not _PREDICTOR and "pred_unet" in get_cube(source):
        _PREFETCH.submit(unet, source)


def _unet_predict(
    source: str, cube: xr.Dataset, date: pd.Timestamp, ablate: tuple[str, ...]
) -> np.ndarray:
    if _PREDICTOR:
        return np.asarray(_PREDICTOR[0](cube, date, ablate), dtype=np.float32)
    from meltwater.predictors import check_stored_model

    model = unet(source)
    if "pred_unet" in cube:  # the ablated map is compared with the stored one: same model only
        check_stored_model(cube, "pred_unet", model, " (the live ablation is compared with it)")
    return np.asarray(model.predict(cube, date, ablate=ablate), dtype=np.float32)


@pn.cache(max_items=32, policy="LRU")
def ablated_prediction(source: str, date: str, ablate: tuple[str, ...]) -> np.ndarray:
    """The UNet's prediction of ``date`` without the ``ablate`` channels (rows as `frame`).

    A precomputed ``pred_unet_no_<channel>`` is used for a single channel on days where it
    holds values; otherwise the UNet runs live (cached per source, day and channel subset).

    Raises:
        MeltwaterError: the model cannot be loaded or run.
    """
    cube = get_cube(source)
    if len(ablate) == 1 and f"pred_unet_no_{ablate[0]}" in cube:
        pre = frame(source, f"pred_unet_no_{ablate[0]}", date)
        if np.isfinite(pre).any():
            return pre
    try:
        arr = _unet_predict(source, cube, pd.Timestamp(date), tuple(ablate))
    except ImportError as e:
        raise MeltwaterError(f"live ablation needs meltwater.predict ({e})") from None
    if arr.shape != (cube.sizes["y"], cube.sizes["x"]):
        raise CubeError(f"live prediction has shape {arr.shape}, expected the cube's grid")
    return arr if grid(source).y_descending else arr[::-1]


@pn.cache(max_items=16)
def daily_summary(source: str, year: int) -> xr.Dataset:
    """`meltwater.summary.daily_summary` of every model over the season days of ``year``.

    Read from beside the cube when `meltwater precompute` stored it (`meltwater.summary_cache`).
    """
    path = None if source in _REGISTERED else get_source(source).cube_path
    return season_summary(get_cube(source), year, path)


@pn.cache(max_items=16)
def pixel_errors(source: str, model: str, year: int, months: tuple[int, ...]) -> xr.Dataset:
    """Per-pixel MAE and bias of ``model`` over the SAR days of ``months`` of ``year``."""
    days = season_days(source, year)
    return summary.pixel_errors(get_cube(source), model, days[days.month.isin(months)])


@pn.cache(max_items=32)
def pixel_series(
    source: str, x: float, y: float, variables: tuple[str, ...], year: int
) -> pd.DataFrame:
    """Time series of ``variables`` at the pixel nearest (x, y) over the season of ``year``."""
    days = season_days(source, year)
    return summary.pixel_series(get_cube(source), x, y, list(variables), days)


@pn.cache(max_items=8)
def results(source: str, split: str = "test") -> xr.Dataset | None:
    """The evaluation results of `meltwater evaluate` (docs/results.md), None when absent."""
    path = data_dir() / "results" / f"{source}_{split}.nc"
    if not path.is_file():
        return None
    with xr.open_dataset(path) as ds:
        return ds.load()
