"""Season summaries kept on disk beside the cube, so the dashboard's curves open at once.

`summaries.daily_summary` reads every prediction of a season (seconds per season). The
result is written to ``<cube stem>.summary/<year>.nc`` next to the cube, tagged with a key made
of the cube's source fingerprint and the attributes of its ``pred_*`` variables (model id and
days done), so a rebuilt cube or new predictions make the stored summary stale and it is
recomputed. `meltwater precompute` writes them; the dashboard only reads them (it computes a
missing or stale one in memory: data flows one way, DESIGN.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pandas as pd
import xarray as xr

from meltwater.atomic import atomic_path
from meltwater.data.reads import read_netcdf
from meltwater.errors import CorruptDataError
from meltwater.evaluation.summaries import daily_summary, models_in
from meltwater.schema import pred_var

__all__ = [
    "SUMMARY_VERSION",
    "season_summary",
    "summary_key",
    "summary_path",
    "write_season_summaries",
]

log = logging.getLogger(__name__)

SUMMARY_VERSION = 2
"""Schema version of `summaries.daily_summary`, part of the key: a new variable makes stored
summaries stale (2: ``valid_melt_area_km2``)."""


def summary_key(cube: xr.Dataset) -> str:
    """Hash of what a season summary depends on: its schema, the cube's source and its
    predictions."""
    preds = {m: dict(cube[pred_var(m)].attrs) for m in models_in(cube)}
    blob = json.dumps(
        [SUMMARY_VERSION, cube.attrs.get("source_fingerprint"), preds], sort_keys=True, default=str
    ).encode()
    return hashlib.sha256(blob).hexdigest()


def summary_path(cube_path: Path | str, year: int) -> Path:
    """Where the summary of ``year`` of the cube at ``cube_path`` is kept."""
    cube_path = Path(cube_path)
    return cube_path.with_name(f"{cube_path.stem}.summary") / f"{int(year)}.nc"


def _season(cube: xr.Dataset, year: int) -> pd.DatetimeIndex:
    times = pd.DatetimeIndex(cube.time.values)
    return times[times.year == int(year)]


def season_summary(
    cube: xr.Dataset,
    year: int,
    cube_path: Path | str | None = None,
    *,
    write: bool = False,
    progress: bool = False,
) -> xr.Dataset:
    """`daily_summary` of the season ``year``: read from beside ``cube_path`` when current, else
    computed, and with ``write`` stored there (atomically; a read-only data folder only costs
    the cache).

    Raises:
        CorruptDataError: the stored summary is damaged and ``write`` is off (with ``write`` it
            is computed and stored again).
    """
    key = summary_key(cube)
    path = summary_path(cube_path, year) if cube_path is not None else None
    if path is not None and path.is_file():
        try:
            stored = read_netcdf(path, "season summary")
        except CorruptDataError:
            if not write:  # a reader names the damaged file; precompute writes it again
                raise
            log.warning("season summary %s is damaged: computing it again", path)
        else:
            if stored.attrs.get("summary_key") == key:
                return stored
    ds = daily_summary(cube, dates=_season(cube, year), progress=progress)
    ds.attrs["summary_key"] = key
    if path is not None and write:
        try:
            with atomic_path(path) as tmp:
                ds.to_netcdf(tmp)
        except OSError as e:
            log.warning("season summary not stored at %s: %s", path, e)
    return ds


def write_season_summaries(cube_path: Path | str, *, progress: bool = True) -> list[Path]:
    """Compute and store the summary of every season of the cube at ``cube_path``."""
    from meltwater.data.cube import open_cube

    cube = open_cube(cube_path)
    if not models_in(cube):
        return []
    years = sorted({int(y) for y in pd.DatetimeIndex(cube.time.values).year})
    for year in years:
        season_summary(cube, year, cube_path, write=True, progress=progress)
    return [summary_path(cube_path, y) for y in years]
