"""Season summaries kept on disk beside the cube, so the dashboard's curves open at once.

`summaries.daily_summary` reads every prediction of a season (seconds per season). The
result is written to ``<cube stem>.summary/<year>.nc`` next to the cube, tagged with a key made
of the cube's source fingerprint and, per model, the model id and the days of that season its
``pred_*`` variable records as done, read from the store as it is now
(`meltwater.data.reads.current_attrs`): a rebuilt cube or new predictions in that season make
the stored summary stale and it is recomputed, while predictions added to other seasons leave it
current. `meltwater precompute` writes the summaries of the seasons it has completed for every
model (a season still being filled is left to the dashboard, which computes a missing or stale
one in memory: data flows one way, DESIGN.md).

The season's melt onset / freeze-up maps (`onset.season_timing`, ~1 s a season: it reads every
SAR day of the season) are kept the same way in ``<cube stem>.summary/onset_<year>.nc``
(`season_onset`), so the dashboard's Onset tab only reads them.

A cube on object storage (a URL, `meltwater.data.remote`) keeps them beside it the same way
(``s3://b/cubes/demo.summary/2019.nc``), each uploaded as one object; a reader that must not
compute (the dashboard over a remote cube, ``compute_missing=False``) gets a
`DataNotFoundError` naming the missing or stale object and what writes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.atomic import atomic_path
from meltwater.data.progress import progress as prediction_progress
from meltwater.data.provenance import model_days
from meltwater.data.reads import current_attrs, read_netcdf
from meltwater.data.remote import beside, is_url, stamp, upload
from meltwater.errors import CorruptDataError, DataNotFoundError
from meltwater.evaluation.metrics import BINARY_THRESHOLD
from meltwater.evaluation.onset import TIMING_VARS, season_timing
from meltwater.evaluation.summaries import daily_summary, models_in
from meltwater.schema import pred_var

__all__ = [
    "ONSET_VERSION",
    "SUMMARY_VERSION",
    "onset_path",
    "season_complete",
    "season_onset",
    "season_summary",
    "summary_key",
    "summary_path",
    "write_season_summaries",
]

log = logging.getLogger(__name__)

SUMMARY_VERSION = 2
"""Schema version of `summaries.daily_summary`, part of the key: a new variable makes stored
summaries stale (2: ``valid_melt_area_km2``)."""


ONSET_VERSION = 1
"""Schema version of `onset.season_timing` as stored (float32 days, int16 counts)."""


def summary_key(cube: xr.Dataset, year: int) -> str:
    """Hash of what the summary of season ``year`` depends on: its schema, the cube's source
    and each model's predictions of that season (model id → recorded days of ``year``, as the
    store holds them now; a cube made by hand without records: the variable's attributes)."""
    prefix = f"{int(year):04d}-"
    preds = {}
    for m in models_in(cube):
        attrs = current_attrs(cube, pred_var(m))
        days = model_days(attrs)
        if days is None:
            preds[m] = attrs
        else:
            preds[m] = {k: [d for d in v if d.startswith(prefix)] for k, v in days.items()}
    blob = json.dumps(
        [SUMMARY_VERSION, cube.attrs.get("source_fingerprint"), int(year), preds],
        sort_keys=True,
        default=str,
    ).encode()
    return hashlib.sha256(blob).hexdigest()


def season_complete(cube: xr.Dataset, year: int) -> bool:
    """Whether every model's ``pred_*`` variable records every day of season ``year``."""
    variables = [pred_var(m) for m in models_in(cube)]
    return prediction_progress(cube, variables, _season(cube, year)).complete


def _beside_cube(cube_path: Path | str, name: str) -> Path | str:
    """``<cube stem>.summary/<name>`` next to the cube (a path, or a URL for a remote cube)."""
    if is_url(cube_path):
        stem = str(cube_path).rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return beside(str(cube_path), f"{stem}.summary/{name}")
    cube_path = Path(cube_path)
    return cube_path.with_name(f"{cube_path.stem}.summary") / name


def summary_path(cube_path: Path | str, year: int) -> Path | str:
    """Where the summary of ``year`` of the cube at ``cube_path`` is kept (a URL beside a
    remote cube)."""
    return _beside_cube(cube_path, f"{int(year)}.nc")


def _season(cube: xr.Dataset, year: int) -> pd.DatetimeIndex:
    times = pd.DatetimeIndex(cube.time.values)
    return times[times.year == int(year)]


def _exists(path: Path | str) -> bool:
    return stamp(str(path)) is not None if is_url(path) else Path(path).is_file()


def _stored(
    path: Path | str | None,
    key: str,
    compute: Callable[[], xr.Dataset],
    write: bool,
    what: str,
    encoding: dict[str, dict[str, Any]] | None = None,
    compute_missing: bool = True,
) -> xr.Dataset:
    """The dataset stored at ``path`` when its key is ``key``, else ``compute()`` (written there
    atomically with ``write``; a read-only data folder only costs the cache); without
    ``compute_missing`` a missing or stale one is a `DataNotFoundError`."""
    found = path is not None and _exists(path)
    if found:
        try:
            stored = read_netcdf(path, what)  # type: ignore[arg-type]  # found: not None
        except CorruptDataError:
            if not write:  # a reader names the damaged file; precompute writes it again
                raise
            log.warning("%s %s is damaged: computing it again", what, path)
        else:
            if stored.attrs.get("summary_key") == key:
                return stored
    if not compute_missing:
        state = "is out of date for the cube (its predictions changed)" if found else "is missing"
        raise DataNotFoundError(
            f"{what} {path} {state}; `meltwater precompute` writes it beside the cube once "
            "every model holds every day of the season"
        )
    ds = compute()
    ds.attrs["summary_key"] = key
    if path is not None and write:
        try:
            _write(ds, path, encoding)
        except OSError as e:
            log.warning("%s not stored at %s: %s", what, path, e)
    return ds


def _write(ds: xr.Dataset, path: Path | str, encoding: dict | None) -> None:
    """Write ``ds`` at ``path`` atomically: renamed into place, or uploaded as one object."""
    if not is_url(path):
        with atomic_path(Path(path)) as tmp:
            ds.to_netcdf(tmp, encoding=encoding)
        return
    with tempfile.TemporaryDirectory(prefix="meltwater-") as d:
        local = Path(d) / "object.nc"
        ds.to_netcdf(local, encoding=encoding)
        upload(local, str(path))


def season_summary(
    cube: xr.Dataset,
    year: int,
    cube_path: Path | str | None = None,
    *,
    write: bool = False,
    progress: bool = False,
    compute_missing: bool = True,
) -> xr.Dataset:
    """`daily_summary` of the season ``year``: read from beside ``cube_path`` (a path or a
    URL) when current, else computed, and with ``write`` stored there (atomically; a read-only
    data folder only costs the cache).

    Raises:
        CorruptDataError: the stored summary is damaged and ``write`` is off (with ``write`` it
            is computed and stored again).
        DataNotFoundError: without ``compute_missing``, no current summary is stored.
    """
    path = summary_path(cube_path, year) if cube_path is not None else None

    def compute() -> xr.Dataset:
        return daily_summary(cube, dates=_season(cube, year), progress=progress)

    key = summary_key(cube, year)
    return _stored(path, key, compute, write, "season summary", None, compute_missing)


def onset_path(cube_path: Path | str, year: int) -> Path | str:
    """Where the onset / freeze-up timing of ``year`` of the cube at ``cube_path`` is kept."""
    return _beside_cube(cube_path, f"onset_{int(year)}.nc")


def season_onset(
    cube: xr.Dataset,
    year: int,
    cube_path: Path | str | None = None,
    *,
    write: bool = False,
    threshold: float = BINARY_THRESHOLD,
    compute_missing: bool = True,
) -> xr.Dataset:
    """`onset.season_timing` of every model of the cube in season ``year``: read from beside
    ``cube_path`` when current (same source, predictions and threshold), else computed, and
    with ``write`` stored there (onset / freeze-up as float32 days, counts as int16, zlib).

    Raises:
        CubeError: the season has no SAR scene.
        CorruptDataError: the stored file is damaged and ``write`` is off.
        DataNotFoundError: without ``compute_missing``, no current timing is stored for a
            season with SAR scenes.
    """
    path = onset_path(cube_path, year) if cube_path is not None else None
    blob = json.dumps([summary_key(cube, year), "onset", ONSET_VERSION, threshold]).encode()
    key = hashlib.sha256(blob).hexdigest()

    def compute() -> xr.Dataset:
        t = season_timing(cube, year, models_in(cube), threshold)
        return t.assign(
            onset=t.onset.astype("float32"),
            freeze=t.freeze.astype("float32"),
            melt_days=t.melt_days.astype("int16"),
            observed_days=t.observed_days.astype("int16"),
        )

    encoding = {v: {"zlib": True, "complevel": 4} for v in TIMING_VARS}
    if not compute_missing and not _has_sar(cube, year):
        return compute()  # raises: the season has no SAR scene (nothing is stored for it)
    return _stored(path, key, compute, write, "onset timing", encoding, compute_missing)


def _has_sar(cube: xr.Dataset, year: int) -> bool:
    times = pd.DatetimeIndex(cube.time.values)
    return bool(np.asarray(cube["has_sar"].values, bool)[times.year == int(year)].any())


def write_season_summaries(cube_path: Path | str, *, progress: bool = True) -> list[Path | str]:
    """Compute and store the summary and the onset timing (seasons with SAR scenes) of every
    season of the cube at ``cube_path`` (a path or a URL) whose predictions are complete
    (`season_complete`; a current stored one is only read); returns the paths."""
    from meltwater.data.cube import open_cube

    cube = open_cube(cube_path)
    if not models_in(cube):
        return []
    times = pd.DatetimeIndex(cube.time.values)
    years = sorted({int(y) for y in times.year})
    paths: list[Path | str] = []
    for year in years:
        if not season_complete(cube, year):
            log.info("season %d of %s: predictions incomplete, summary not stored", year, cube_path)
            continue
        season_summary(cube, year, cube_path, write=True, progress=progress)
        paths.append(summary_path(cube_path, year))
        if _has_sar(cube, year):
            season_onset(cube, year, cube_path, write=True)
            paths.append(onset_path(cube_path, year))
    return paths
