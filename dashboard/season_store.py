"""`SeasonReads`, a base of `Store`: what the cube's per-day prediction records say now, and
what is computed over a season (summaries, onset, per-pixel errors, a pixel's series), cached
under the season's current records so that days a precompute writes later are read.

A cube on object storage (`Store.remote`) is served read-only: nothing writes it while it is
shown (`writer_active` is False) and its summaries and onset timings are read from beside it,
never computed (a missing one is a `DataNotFoundError` naming the object)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.data.progress import done_days, writer_active
from meltwater.data.reads import current_attrs
from meltwater.evaluation import summaries
from meltwater.evaluation.summary_store import season_onset, season_summary, summary_key
from meltwater.schema import is_pred_var, is_unc_var

__all__ = ["SeasonReads"]


class SeasonReads:
    """Prediction records and season-wide results of the cubes of a `Store`."""

    if TYPE_CHECKING:  # methods of the store

        def get_cube(self, name: str) -> xr.Dataset: ...
        def times(self, source: str) -> pd.DatetimeIndex: ...
        def season_days(self, source: str, year: int) -> pd.DatetimeIndex: ...
        def cube_location(self, source: str) -> Path | str | None: ...
        def remote(self, source: str) -> bool: ...

    _done: dict[tuple[str, str], tuple[dict, np.ndarray]]  # (attrs, mask) per source and var

    def done(self, source: str, var: str) -> np.ndarray:
        """Per day of the source's cube, whether ``var`` holds it (a prediction or spread: its
        day recorded by `meltwater precompute`, as the store holds it now; else every day)."""
        cube = self.get_cube(source)
        if not (is_pred_var(var) or is_unc_var(var)):
            return np.ones(cube.sizes["time"], bool)
        attrs = current_attrs(cube, var) if var in cube else None
        cached = self._done.get((source, var))
        if cached is not None and attrs is not None and cached[0] is attrs:
            return cached[1]
        mask = done_days(cube, var)
        if attrs is not None:
            self._done[(source, var)] = (attrs, mask)
        return mask

    def is_done(self, source: str, var: str, date: str) -> bool:
        """Whether ``var`` holds ``date`` (`done`; static variables: always)."""
        if not date or not (is_pred_var(var) or is_unc_var(var)):
            return True
        try:
            i = self.times(source).get_loc(pd.Timestamp(date))
        except KeyError:
            return True  # not a day of the cube: the read names it
        return bool(self.done(source, var)[i])

    def writer_active(self, source: str) -> bool:
        """Whether a precompute (or a cube build) is writing the source's local cube now (a
        remote cube is served read-only: no lock is looked at)."""
        return not self.remote(source) and writer_active(self.cube_location(source))

    def season_key(self, source: str, year: int) -> str:
        """What the season's summaries depend on, now (`summary_store.summary_key`)."""
        return summary_key(self.get_cube(source), year)

    def daily_summary(self, source: str, year: int) -> xr.Dataset:
        """`summaries.daily_summary` of every model over the season days of ``year``.

        Read from beside the cube when `meltwater precompute` stored it (`summary_store`).

        Raises:
            DataNotFoundError: the cube is remote and no current summary is stored beside it.
        """
        return self._daily_summary(source, year, self.season_key(source, year))

    def _daily_summary(self, source: str, year: int, key: str) -> xr.Dataset:
        where, remote = self.cube_location(source), self.remote(source)
        return season_summary(self.get_cube(source), year, where, compute_missing=not remote)

    def season_timing(self, source: str, year: int) -> xr.Dataset:
        """`onset.season_timing` of every model over the SAR days of ``year``.

        Read from beside the cube when `meltwater precompute` stored it (`summary_store`).

        Raises:
            CubeError: the season has no SAR scene.
            DataNotFoundError: the cube is remote and no current timing is stored beside it.
        """
        return self._season_timing(source, year, self.season_key(source, year))

    def _season_timing(self, source: str, year: int, key: str) -> xr.Dataset:
        where, remote = self.cube_location(source), self.remote(source)
        return season_onset(self.get_cube(source), year, where, compute_missing=not remote)

    def pixel_errors(
        self, source: str, model: str, year: int, months: tuple[int, ...]
    ) -> xr.Dataset:
        """Per-pixel MAE and bias of ``model`` over the SAR days of ``months`` of ``year``."""
        return self._pixel_errors(source, model, year, months, self.season_key(source, year))

    def _pixel_errors(
        self, source: str, model: str, year: int, months: tuple[int, ...], key: str
    ) -> xr.Dataset:
        days = self.season_days(source, year)
        return summaries.pixel_errors(self.get_cube(source), model, days[days.month.isin(months)])

    def pixel_series(
        self, source: str, x: float, y: float, variables: tuple[str, ...], year: int
    ) -> pd.DataFrame:
        """Time series of ``variables`` at the pixel nearest (x, y) over the season of ``year``."""
        key = self.season_key(source, year)
        return self._pixel_series(source, x, y, variables, year, key)

    def _pixel_series(
        self, source: str, x: float, y: float, variables: tuple[str, ...], year: int, key: str
    ) -> pd.DataFrame:
        days = self.season_days(source, year)
        return summaries.pixel_series(self.get_cube(source), x, y, list(variables), days)
