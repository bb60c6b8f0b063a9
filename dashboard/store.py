"""`Store`: read access to the cubes and results a server process shows, shared by its sessions.

One `Store` per process (`Store.shared`) loads everything heavy on first use and keeps it in
bounded LRU caches, so sessions of one ``panel serve`` process share cubes, day maps, summaries
and the UNet; maps read through `window` only the coarsest overview level of the cube that
still fills the plot and only the part shown (`choose`). With ``--num-procs N`` each process
holds its own. Tests and notebooks make their own `Store` with in-memory cubes and a stand-in
predictor: there is no module-level state. Torch is imported only when a live ablation first runs.

A precompute may run beside the server (``make serve`` fills the other seasons in the
background): a prediction day the store does not record yet (`SeasonReads.done`) reads as NaN and
is not cached, and what is computed over a season is cached under the season's current records
(`SeasonReads`), so days written later are read.

A catalog ``cube:`` that is an fsspec URL (``s3://…``, `meltwater.data.remote`) is served
read-only: the cube and its overview levels are read through fsspec (options from the
catalog's ``cube_options`` or fsspec's environment variables), season summaries and evaluation
results from beside it; no lock is taken and nothing is written.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
import panel as pn
import xarray as xr

from meltwater.data.catalog import get_source, load_catalog
from meltwater.data.cube import day_map, open_cube, open_level
from meltwater.data.overviews import (
    LevelWindow,
    choose_level,
    coarsen,
    level_coords,
    stored_factors,
)
from meltwater.data.reads import read_netcdf
from meltwater.data.remote import beside, has_cube, is_url, stamp
from meltwater.errors import CubeError, MeltwaterError
from meltwater.evaluation.results import results_path
from meltwater.resources import data_dir
from meltwater.schema import pred_var
from meltwater_dashboard.grid import Grid
from meltwater_dashboard.live_ablation import AblationJob
from meltwater_dashboard.season_store import SeasonReads

if TYPE_CHECKING:
    from meltwater.models.tiles import TiledRun

__all__ = ["PredictFn", "Store", "TiledPredictor"]

PredictFn = Callable[[xr.Dataset, pd.Timestamp, tuple[str, ...]], np.ndarray]
SOURCES_TTL = 10.0  # seconds a list of the sources with a cube is reused


class TiledPredictor(Protocol):
    """What runs live ablations tile by tile (`meltwater.models.inference.UNetPredictor`)."""

    def tiled(self, cube: xr.Dataset, date: Any, ablate: Sequence[str] = ()) -> TiledRun: ...


class Store(SeasonReads):
    """Cached loaders over the catalog's cubes (and in-memory ones) for one process.

    Args:
        cubes: in-memory cubes served under their names before the catalog's (tests, notebooks).
        predictor: used for live ablations instead of the registry's UNet: a `TiledPredictor`
            (run tile by tile, the visible window first) or ``fn(cube, date, ablate) -> (y, x)
            array`` (one step).
    """

    def __init__(
        self,
        cubes: Mapping[str, xr.Dataset] | None = None,
        predictor: PredictFn | TiledPredictor | None = None,
    ) -> None:
        self._cubes = dict(cubes or {})
        self._predictor = predictor
        self._lock = threading.Lock()
        self._sources: tuple[float, tuple[str, ...]] = (-float("inf"), ())
        self._locations: dict[str, tuple[float, Path | str]] = {}  # source → (when read, cube)
        self._unet: Any = None
        self._unet_error: MeltwaterError | None = None
        self._prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meltwater-prefetch")
        self._ablation_pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="meltwater-ablation"
        )
        self._recent: dict[str, dict[LevelWindow, None]] = {}  # windows read lately, per source
        self._recent_lock = threading.Lock()
        self._done: dict[tuple[str, str], tuple[dict, np.ndarray]] = {}  # (attrs, mask) per var
        for name, size in self._CACHED.items():
            setattr(self, name, functools.lru_cache(maxsize=size)(getattr(self, name)))

    _CACHED = {
        "get_cube": 8,
        "times": 8,
        "sar_days": 8,
        "season_days": 64,
        "season_day_labels": 64,
        "grid": 8,
        "_frame": 48,
        "level": 16,
        "_window": 96,
        "hillshade": 8,
        "ablation_job": 6,
        "_daily_summary": 16,
        "_season_timing": 8,
        "_pixel_errors": 16,
        "_pixel_series": 32,
        "_read_results": 8,
    }

    @classmethod
    def shared(cls) -> Store:
        """The store of this server process (one per process, shared by every session)."""
        return pn.state.as_cached("meltwater-store", cls)

    def available_sources(self) -> list[str]:
        """In-memory cubes, then catalog sources whose cube exists (on disk, or at its URL: a
        URL that does not answer is listed, so that opening it names the error); the catalog is
        read again after `SOURCES_TTL` seconds: every session asks, a cube built meanwhile shows."""
        now = time.monotonic()
        checked, cached = self._sources
        if now - checked < SOURCES_TTL:
            return list(cached)
        names = list(self._cubes)
        for name in load_catalog()["sources"]:
            if name not in names and self._cube_exists(name):
                names.append(name)
        self._sources = (now, tuple(names))
        return names

    @staticmethod
    def _cube_exists(name: str) -> bool:
        source = get_source(name)
        if not source.cube_url:
            return source.cube_path.exists()
        try:
            return has_cube(source.cube_url)
        except Exception:  # botocore/aiohttp raise many types: open_cube names the endpoint
            return True

    def get_cube(self, name: str) -> xr.Dataset:
        """The analysis cube of source ``name``, opened once.

        Raises:
            UnknownNameError: unknown source.
            CubeError: the cube is missing or invalid.
        """
        if name in self._cubes:
            return self._cubes[name]
        return open_cube(get_source(name))

    def times(self, source: str) -> pd.DatetimeIndex:
        """Every day of the source's cube."""
        return pd.DatetimeIndex(self.get_cube(source).time.values, name="time")

    def sar_days(self, source: str) -> frozenset[pd.Timestamp]:
        """The days of the source's cube that have a SAR scene."""
        has_sar = np.asarray(self.get_cube(source)["has_sar"].values, bool)
        return frozenset(self.times(source)[has_sar])

    def season_days(self, source: str, year: int) -> pd.DatetimeIndex:
        """The days of ``year`` in the source's cube."""
        t = self.times(source)
        return t[t.year == year]

    def season_day_labels(self, source: str, year: int) -> list[str]:
        """``YYYY-MM-DD`` labels of `season_days`."""
        return [d.strftime("%Y-%m-%d") for d in self.season_days(source, year)]

    def grid(self, source: str) -> Grid:
        """Geometry of the source's cube."""
        return Grid.of(self.get_cube(source))

    def cube_location(self, source: str) -> Path | str | None:
        """Where the source's cube is: its path on disk, its URL on object storage (None for
        in-memory cubes); the catalog is read again after `SOURCES_TTL` seconds (a day step
        asks several times: parsing the catalog each time cost ~60 ms a step)."""
        if source in self._cubes:
            return None
        now = time.monotonic()
        checked, where = self._locations.get(source, (-float("inf"), ""))
        if now - checked >= SOURCES_TTL:
            where = get_source(source).cube
            self._locations[source] = (now, where)
        return where

    def remote(self, source: str) -> bool:
        """Whether the source's cube is on object storage (served read-only)."""
        return is_url(self.cube_location(source) or "")

    def frame(self, source: str, var: str, date: str) -> np.ndarray:
        """One day of ``var`` as float32, rows north → south (static variables ignore ``date``);
        a prediction day not computed yet is NaN (and not cached)."""
        if not self.is_done(source, var, date):
            g = self.grid(source)
            return np.full((len(g.ys), len(g.xs)), np.nan, np.float32)
        return self._frame(source, var, date)

    def _frame(self, source: str, var: str, date: str) -> np.ndarray:
        arr = day_map(self.get_cube(source), var, date)
        return arr if self.grid(source).y_descending else arr[::-1]

    def prefetch(self, source: str, variables: Sequence[str], date: str) -> None:
        """Read ``date``'s maps of ``variables`` into the caches in a background thread: the
        windows the maps showed lately (`window`), else whole frames."""
        with self._recent_lock:
            windows = list(self._recent.get(source, ()))
        for var in [v for v in variables if self.is_done(source, v, date)]:
            for win in windows:
                self._prefetch.submit(self._window, source, var, date, win)
            if not windows:
                self._prefetch.submit(self.frame, source, var, date)

    def factors(self, source: str) -> tuple[int, ...]:
        """The overview factors of the source's cube on disk (none for in-memory cubes)."""
        if source in self._cubes:
            return ()
        return stored_factors(self.get_cube(source).attrs)

    def level(self, source: str, factor: int) -> xr.Dataset:
        """Overview level ``factor`` of the source's cube (1: the cube), opened once."""
        if factor == 1:
            return self.get_cube(source)
        return open_level(get_source(source).cube, factor)

    def choose(
        self, source: str, extent: tuple[float, float, float, float], plot_px: tuple[int, int]
    ) -> LevelWindow:
        """The level and window of the source's cube to read for a plot (`choose_level`)."""
        g = self.grid(source)
        return choose_level(extent, plot_px, g.xs, g.ys, self.factors(source))

    def window_coords(self, source: str, win: LevelWindow) -> tuple[np.ndarray, np.ndarray]:
        """Cell centres (x, y) of the window as `window` returns it (rows north → south)."""
        g = self.grid(source)
        xs = level_coords(g.xs, win.factor)[slice(*win.cols)]
        ys = level_coords(g.ys, win.factor)[slice(*win.rows)]
        return xs, ys if g.y_descending else ys[::-1]

    def window(self, source: str, var: str, date: str, win: LevelWindow) -> np.ndarray:
        """The window ``win`` of one day of ``var`` as float32, rows north → south.

        The whole level-0 grid is read through `frame` (and its cache and prefetch); a single
        cell (the pointer readout) is read directly, neither cached nor prefetched.
        """
        if not self.is_done(source, var, date):  # not computed yet: NaN, not cached
            return np.full((win.rows[1] - win.rows[0], win.cols[1] - win.cols[0]), np.nan, "f4")
        if win.rows[1] - win.rows[0] == 1 and win.cols[1] - win.cols[0] == 1:
            return Store._window(self, source, var, date, win)  # the uncached method
        with self._recent_lock:  # what `prefetch` reads for the next day
            recent = self._recent.setdefault(source, {})
            recent.pop(win, None)
            recent[win] = None
            while len(recent) > 4:
                recent.pop(next(iter(recent)))
        return self._window(source, var, date, win)

    def _window(self, source: str, var: str, date: str, win: LevelWindow) -> np.ndarray:
        g = self.grid(source)
        if win.factor == 1 and win.rows == (0, len(g.ys)) and win.cols == (0, len(g.xs)):
            return self.frame(source, var, date)
        da = self.level(source, win.factor)[var]
        if "time" in da.dims:
            try:
                i = self.times(source).get_loc(pd.Timestamp(date))
            except KeyError:
                raise CubeError(f"date {date} is not in the cube of {source}") from None
            da = da.isel(time=i)
        arr = np.asarray(da.isel(y=slice(*win.rows), x=slice(*win.cols)).values, np.float32)
        return arr if g.y_descending else arr[::-1]

    def hillshade(self, source: str) -> np.ndarray:
        """DEM hillshade in [0, 1] (sun from the north-west, 45° up), NaN over the ocean."""
        from matplotlib.colors import LightSource

        dem = self.frame(source, "dem", "")
        land = self.frame(source, "land", "").astype(bool)
        g = self.grid(source)
        dx, dy = abs(g.xs[1] - g.xs[0]), abs(g.ys[1] - g.ys[0])
        shade = LightSource(azdeg=315, altdeg=45).hillshade(np.nan_to_num(dem), dx=dx, dy=dy)
        return np.where(land, shade, np.nan).astype(np.float32)

    def unet(self, source: str) -> Any:
        """The registry's UNet, loaded and run once (shared by every session)."""
        with self._lock:
            if self._unet_error is not None:  # a broken checkpoint is not re-read per click
                raise self._unet_error
            if self._unet is None:
                from meltwater.models.inference import UNetPredictor  # torch loads here

                try:
                    predictor = UNetPredictor.from_registry()
                except MeltwaterError as e:
                    self._unet_error = e
                    raise
                cube = self.get_cube(source)
                predictor.predict(cube, cube.time.values[0])  # sets up the kernels (~0.3 s)
                self._unet = predictor
            return self._unet

    def preload_unet(self, source: str) -> None:
        """Load the UNet in the background so that the first live ablation does not wait.

        Does nothing with a stand-in predictor or when the cube has no UNet predictions.
        """
        if self._predictor is None and pred_var("unet") in self.get_cube(source):
            self._prefetch.submit(self.unet, source)

    def ablation_job(self, source: str, date: str, ablate: tuple[str, ...]) -> AblationJob:
        """The live ablation of ``date`` without the ``ablate`` channels (cached per source, day
        and channel subset; shared by the sessions). No tile has run yet on a tiled job.

        A precomputed single-channel ablation is used on days where it holds values (a whole,
        complete job), as is a stand-in predictor's map; otherwise the UNet runs tile by tile.

        Raises:
            MeltwaterError: the model cannot be loaded or run.
        """
        cube, ts = self.get_cube(source), pd.Timestamp(date)
        if len(ablate) == 1 and pred_var("unet", ablate) in cube:
            pre = day_map(cube, pred_var("unet", ablate), date)
            if np.isfinite(pre).any():
                return AblationJob(whole=pre)
        try:
            if self._predictor is not None and not hasattr(self._predictor, "tiled"):
                arr = np.asarray(self._predictor(cube, ts, ablate), dtype=np.float32)
                if arr.shape != (cube.sizes["y"], cube.sizes["x"]):
                    raise CubeError(
                        f"live prediction has shape {arr.shape}, expected the cube's grid"
                    )
                return AblationJob(whole=arr)
            model = self._predictor if self._predictor is not None else self._checked_unet(source)
            return AblationJob(model.tiled(cube, ts, tuple(ablate)))
        except ImportError as e:
            raise MeltwaterError(f"live ablation needs meltwater.models.inference ({e})") from None

    def _checked_unet(self, source: str) -> Any:
        from meltwater.models.registry import check_stored_model

        model, cube = self.unet(source), self.get_cube(source)
        if pred_var("unet") in cube:  # the ablated map is compared with the stored one
            note = " (the live ablation is compared with it)"
            check_stored_model(cube, pred_var("unet"), model, note)
        return model

    def follow_ablation(
        self, job: AblationJob, owner: Hashable, focus: tuple[int, int, int, int] | None
    ) -> None:
        """Run the rest of ``job``'s domain in the background (`AblationJob.follow`)."""
        job.follow(owner, self._ablation_pool, focus)

    def ablated_prediction(self, source: str, date: str, ablate: tuple[str, ...]) -> np.ndarray:
        """The UNet's whole prediction of ``date`` without the ``ablate`` channels (rows as
        `frame`): the rest of the live ablation's tiles run here, in the calling thread.

        Raises:
            MeltwaterError: the model cannot be loaded or run.
        """
        job = self.ablation_job(source, date, tuple(ablate))
        job.compute()
        arr = job.values()
        return arr if self.grid(source).y_descending else arr[::-1]

    def ablated_window(
        self, source: str, date: str, ablate: tuple[str, ...], win: LevelWindow
    ) -> np.ndarray:
        """The live ablation's map so far (NaN where a cell waits for its tiles), coarsened and
        cut to the window ``win`` (rows as `window`)."""
        arr = self.ablation_job(source, date, tuple(ablate)).values()
        out = coarsen(arr, win.factor)[slice(*win.rows), slice(*win.cols)]
        return out if self.grid(source).y_descending else out[::-1]

    def results(self, source: str, split: str = "test") -> xr.Dataset | None:
        """The evaluation results of `meltwater evaluate` (docs/results.md), None when absent:
        ``<data>/results/<source>_<split>.nc``, or ``results/<source>_<split>.nc`` beside a
        remote cube (`meltwater evaluate` uploads it there).

        Read again when the file changes (an evaluation run while the server is up).
        """
        where = self.cube_location(source)
        if isinstance(where, str):  # a URL
            url = beside(where, f"results/{source}_{split}.nc")
            tag = stamp(url)
            return None if tag is None else self._read_results(url, tag)
        path = results_path(data_dir(), source, split)
        if not path.is_file():
            return None
        return self._read_results(path, path.stat().st_mtime_ns)

    def _read_results(self, path: Path | str, version: object) -> xr.Dataset:
        return read_netcdf(path, "evaluation results")
