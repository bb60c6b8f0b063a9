"""The zarr analysis cube of a source: inputs, SAR target, masks and (later) predictions.

`build_cube` streams the GeoTIFF layout into ``<data>/cubes/<source>.zarr`` in time batches
(memory stays bounded on the full 2863 × 1633 grid), compressed, and renamed into place only
when complete. Format 2: a day is one chunk on grids up to 1024 px a side and 1024 × 1024
chunks on bigger ones, and big grids carry overview levels ×2, ×4, … in the same store
(`meltwater.data.overviews`; read them with `open_level`); a cube of another format is
rebuilt, saying why. A complete cube whose source files have not changed is left as is, so
re-running is idempotent; an interrupted build leaves only a temporary store that the next run
removes and redoes. A rebuild keeps the stored predictions of every day whose inputs did not
change (`meltwater.data.carryover`).
Reads of an opened cube are checked (`meltwater.data.reads`): a damaged chunk names its
variable, day and store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import zarr
from tqdm.auto import tqdm

from meltwater.atomic import atomic_path, exclusive_lock, remove_path
from meltwater.data.carryover import HASH_VAR, carry_over, day_hashes, hash_attrs, winter_hashes
from meltwater.data.catalog import Source
from meltwater.data.fingerprint import source_fingerprint
from meltwater.data.geotiff import open_source, winter_means
from meltwater.data.overviews import (
    FACTORS_ATTR,
    LEVEL_VARS,
    check_factor,
    chunk_shape,
    level_group,
    level_template,
    overview_factors,
    stored_factors,
    write_levels,
)
from meltwater.data.preprocess import time_interpolated_sar
from meltwater.data.provenance import CHUNKS_ATTR, DAYS_ATTR, DONE_ATTR, MODEL_ATTR
from meltwater.data.reads import guard
from meltwater.data.remote import has_cube, is_url, publish, reachable
from meltwater.errors import CubeError, InvalidArgumentError
from meltwater.schema import is_pred_var

__all__ = [
    "CUBE_VERSION",
    "DAILY",
    "CubeReport",
    "build_cube",
    "day_map",
    "open_cube",
    "open_level",
    "pixel_area_km2",
    "season_day",
    "source_fingerprint",
    "split_dates",
    "update_cube",
]

log = logging.getLogger(__name__)

CUBE_VERSION = "2"  # 2: spatial chunks on big grids and overview levels (data.overviews)
DAILY = ("pmw", "mar_wa1", "sar", "sar_interp", "valid")
REQUIRED = DAILY + ("dem", "land", "pmw_winter", "has_sar", "split")


SPLIT_CODES = ("none", "train", "val", "test")


def _split_labels(source: Source, times: pd.DatetimeIndex, has_sar: np.ndarray) -> np.ndarray:
    labels = np.full(len(times), "none", dtype="<U5")
    for split in SPLIT_CODES[1:]:
        labels[times.isin(source.split_dates(split)) & has_sar] = split
    return labels


def _attrs(source: Source, fingerprint: str) -> dict:
    attrs = {
        "source": source.name,
        "cube_version": CUBE_VERSION,
        "source_fingerprint": fingerprint,
        "Conventions": "CF-1.8",
        "title": f"MeltwaterBench Explorer analysis cube ({source.name})",
    }
    meta = source.root / "demo.json"
    if meta.is_file():
        attrs["demo_metadata"] = meta.read_text()
    return attrs


@dataclass
class CubeReport:
    """What `update_cube` did: ``rebuilt`` False when the cube was up to date; ``carried``:
    ``pred_*`` variable → (days carried over, days it had) when a rebuild replaced a cube;
    ``reason``: why it was rebuilt (no cube, another format, changed files, overwrite)."""

    path: Path
    rebuilt: bool
    carried: dict[str, tuple[int, int]] = field(default_factory=dict)
    reason: str = ""


def build_cube(
    source: Source,
    years: Sequence[int] | None = None,
    *,
    overwrite: bool = False,
    batch_days: int = 16,
    chunk: int | None = None,
    overviews: bool | Sequence[int] = True,
) -> Path:
    """Build (or keep) the analysis cube of ``source``; return its path (see `update_cube`)."""
    return update_cube(
        source, years, overwrite=overwrite, batch_days=batch_days, chunk=chunk, overviews=overviews
    ).path


def update_cube(
    source: Source,
    years: Sequence[int] | None = None,
    *,
    overwrite: bool = False,
    batch_days: int = 16,
    chunk: int | None = None,
    overviews: bool | Sequence[int] = True,
) -> CubeReport:
    """Build the analysis cube of ``source`` unless it is up to date; say what was done.

    A rebuild carries the predictions whose inputs did not change over into the new store
    (`meltwater.data.carryover`). The store's lock is taken only when something is written, so an
    up-to-date cube on a read-only disk is fine.

    Args:
        source: catalog source whose GeoTIFF layout is read.
        years: restrict to these years (default: all).
        overwrite: rebuild even when a complete cube of the same source files exists.
        batch_days: days read and written per step (bounds memory).
        chunk: side of the spatial chunks (default: `overviews.chunk_shape`'s rule; 0: one
            chunk per day).
        overviews: True: the overview levels of `overviews.overview_factors` (none on small
            grids); False: none; a sequence: these factors (2, 4, …).

    Raises:
        DataNotFoundError: the source's files or splits are missing.
        GridMismatchError: a file is not on the DEM's grid.
        InvalidArgumentError: a negative ``chunk`` or an overview factor below 2.
    """
    if chunk is not None and (not isinstance(chunk, int) or chunk < 0):
        raise InvalidArgumentError(
            f"chunk: expected a chunk side ≥ 1 px or 0 (whole day), got {chunk!r}"
        )
    if not isinstance(overviews, bool) and any(int(f) < 2 for f in overviews):
        raise InvalidArgumentError(f"overviews: expected factors ≥ 2, got {list(overviews)}")
    if not overwrite and not _stale(source, years, source_fingerprint(source)):
        if source.cube_url and not has_cube(source.cube_url):
            publish(source.cube_path, source.cube_url)
            return CubeReport(source.cube_path, rebuilt=False, reason="uploaded")
        return CubeReport(source.cube_path, rebuilt=False)
    with exclusive_lock(source.cube_path):
        report = _build_locked(source, years, overwrite, batch_days, chunk, overviews)
    if source.cube_url:  # the local store was the staging copy (data.remote)
        publish(source.cube_path, source.cube_url)
    return report


def _stale(source: Source, years, fingerprint: str) -> str:
    """Why the cube of ``source`` must be (re)built; empty when it is current."""
    if not source.cube_path.exists():
        return "no cube yet"
    try:
        version = zarr.open_group(str(source.cube_path), mode="r").attrs.get("cube_version")
    except Exception:  # not a zarr group at all: open_cube below says so
        version = CUBE_VERSION
    if version != CUBE_VERSION:
        return f"cube format {version} is replaced by format {CUBE_VERSION}"
    try:
        existing = open_cube(source.cube_path)
    except CubeError as e:
        return str(e)
    if existing.attrs.get("source_fingerprint") != fingerprint:
        return "the source files changed"
    if years is not None and set(existing.indexes["time"].year) != set(years):
        return "other years were asked for"
    return ""


def _build_locked(
    source: Source, years, overwrite: bool, batch_days: int, chunk: int | None, overviews
) -> CubeReport:
    """`update_cube` under the store's lock: concurrent builds run one after the other."""
    path = source.cube_path
    fingerprint = source_fingerprint(source)
    reason = "overwrite" if overwrite else _stale(source, years, fingerprint)
    if not reason:  # built while we waited
        return CubeReport(path, rebuilt=False)
    if reason.startswith("cube format"):
        log.warning("%s: %s; rebuilding it", path, reason)
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        remove_path(stale)
    ds = open_source(source, years)
    times = ds.indexes["time"]
    has_sar = np.array([source.day_path("sar", t).is_file() for t in times])
    split = _split_labels(source, times, has_sar)
    train = times[split == "train"]
    ds["sar_interp"] = xr.zeros_like(ds["sar"])
    ds["has_sar"] = ("time", has_sar, {"long_name": "a SAR scene exists this day"})
    codes = np.array([SPLIT_CODES.index(s) for s in split], dtype=np.int8)
    ds["split"] = (
        "time",
        codes,
        {
            "long_name": "split of the day's SAR scene",
            "flag_values": list(range(len(SPLIT_CODES))),
            "flag_meanings": " ".join(SPLIT_CODES),
        },
    )
    ds["pmw_winter"] = winter_means(source, sorted(set(times.year)))
    ds[HASH_VAR] = ("time", np.zeros(len(times), np.int64))  # filled batch by batch
    winter, hashes = winter_hashes(ds["pmw_winter"]), []
    ds.attrs.update(_attrs(source, fingerprint))
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    cy, cx = chunk_shape(ny, nx, chunk)
    if isinstance(overviews, bool):
        factors = overview_factors(ny, nx) if overviews else ()
    else:
        factors = tuple(sorted({int(f) for f in overviews}))
    ds.attrs[FACTORS_ATTR] = json.dumps(list(factors))
    encoding: dict[str, dict[str, Any]] = {v: {"chunks": (1, cy, cx)} for v in DAILY}
    encoding["pmw_winter"] = {"chunks": (1, cy, cx)}
    encoding["sar_interp"]["dtype"] = "float16"  # a 0–1 mean: float16 is ample, 1/3 of the disk
    with atomic_path(path) as tmp:
        ds.to_zarr(tmp, mode="w-", compute=False, encoding=encoding, consolidated=False)
        for f in factors:
            level = level_template(ds, f, LEVEL_VARS)
            level["sar_interp"] = level["sar_interp"].astype("float16")
            level.to_zarr(tmp, group=level_group(f), mode="w-", compute=False, consolidated=False)
        write_levels(tmp, ds[["dem", "land"]].load(), factors)
        for start in tqdm(
            range(0, len(times), batch_days), desc=f"cube {source.name}", unit="batch"
        ):
            sl = slice(start, min(start + batch_days, len(times)))
            batch = ds[["pmw", "mar_wa1", "sar", "valid"]].isel(time=sl).load()
            batch["sar_interp"] = time_interpolated_sar(ds["sar"], train, times[sl])
            batch[HASH_VAR] = ("time", day_hashes(batch, winter))
            hashes.append(batch[HASH_VAR].values)
            batch = batch.drop_vars([c for c in batch.coords if c not in ("time",)])
            batch.to_zarr(tmp, region={"time": sl}, consolidated=False)
            write_levels(tmp, batch, factors, sl)
        attrs = hash_attrs(ds, split, np.concatenate(hashes))
        zarr.open_group(str(tmp), mode="r+")[HASH_VAR].attrs.update(attrs)
        carried = carry_over(path, tmp)  # predictions whose inputs did not change
    return CubeReport(path, rebuilt=True, carried=carried, reason=reason)


def open_cube(source_or_path: Source | Path | str, *, any_version: bool = False) -> xr.Dataset:
    """Open a complete cube lazily (no dask: one-day reads go straight to zarr).

    ``any_version`` also opens a cube of an older format (to carry its predictions over).

    Raises:
        CubeError: no cube at the path, it lacks required variables or is of another format.
    """
    where = source_or_path.cube if isinstance(source_or_path, Source) else source_or_path
    path: Path | str = str(where) if is_url(where) else Path(where)
    if isinstance(path, str):
        reachable(path)  # a clear error for a dead endpoint or an empty prefix
    elif not path.exists():
        hint = (
            f" (run `meltwater cube --source {source_or_path.name}`)"
            if isinstance(source_or_path, Source)
            else ""
        )
        raise CubeError(f"no analysis cube at {path}{hint}")
    try:
        ds = xr.open_zarr(path, chunks=None, consolidated=False, decode_coords="all")
    except Exception as e:  # zarr raises several types for a broken store
        raise CubeError(f"{path} is not a readable zarr cube ({type(e).__name__}: {e})") from None
    ds = guard(ds, path)  # a damaged chunk names its variable and day; pred_* by their records
    missing = [v for v in REQUIRED if v not in ds.variables]
    if "split" in ds and ds["split"].dtype.kind == "i":  # CF flags on disk → labels in memory
        labels = np.asarray(SPLIT_CODES)[ds["split"].values]
        ds["split"] = ("time", labels.astype("<U5"), {"long_name": ds["split"].attrs["long_name"]})
    version = ds.attrs.get("cube_version")
    if missing or (version != CUBE_VERSION and not any_version):
        rebuild = "`meltwater cube --overwrite`" if missing else "`meltwater cube`"
        raise CubeError(
            f"{path} is incomplete or from another version: missing {missing}, "
            f"cube_version {version!r} (expected {CUBE_VERSION!r}); rebuild it with {rebuild}"
        )
    return ds


def open_level(path: Path | str, factor: int) -> xr.Dataset:
    """Overview level ``factor`` of the cube at ``path`` (1: the cube itself), opened lazily.

    Its ``pred_*`` variables are read through the per-day records of level 0
    (`meltwater.data.reads`), as the cube's are.

    Raises:
        CubeError: no such level, or the store cannot be read.
    """
    path = str(path) if is_url(path) else Path(path)
    if factor == 1:
        return open_cube(path)
    try:
        root = zarr.open_group(str(path), mode="r")
        check_factor(factor, stored_factors(root.attrs), str(path))
        ds = xr.open_zarr(
            path, group=level_group(factor), chunks=None, consolidated=False, decode_coords="all"
        )
    except CubeError:
        raise
    except Exception as e:  # zarr raises several types for a broken store
        raise CubeError(f"{path} level {factor} cannot be read ({type(e).__name__}: {e})") from None
    for name in ds.data_vars:
        if is_pred_var(str(name)) and name in root:
            keep = (DAYS_ATTR, DONE_ATTR, MODEL_ATTR, CHUNKS_ATTR)
            ds[name].attrs.update({k: v for k, v in root[name].attrs.items() if k in keep})
    return guard(ds, path, level_group(factor))  # pred_* records: path/<var> is level 0's


def day_map(cube: xr.Dataset, var: str, date: pd.Timestamp | str) -> np.ndarray:
    """One day of a (time, y, x) variable as a float32 array (a static variable as is).

    Raises:
        CubeError: unknown variable or a date that is not in the cube.
    """
    if var not in cube.variables:
        raise CubeError(f"cube has no variable {var!r}; valid: {sorted(map(str, cube.data_vars))}")
    da = cube[var]
    if "time" in da.dims:
        t = pd.Timestamp(date)
        try:
            i = cube.indexes["time"].get_loc(t)
        except KeyError:
            times = cube.indexes["time"]
            raise CubeError(
                f"date {t.date()} is not in the cube (variable {var!r}; it covers "
                f"{times.min().date()}–{times.max().date()})"
            ) from None
        da = da.isel(time=i)
    return np.asarray(da.values, dtype=np.float32)


def pixel_area_km2(cube: xr.Dataset) -> float:
    """Area of one grid cell in km², from the cube's x/y spacing."""
    if cube.sizes.get("x", 0) < 2 or cube.sizes.get("y", 0) < 2:
        raise CubeError("cube needs at least 2 x and 2 y coordinates to derive the pixel area")
    dx = float(cube.x[1] - cube.x[0])
    dy = float(cube.y[1] - cube.y[0])
    return abs(dx * dy) / 1e6


def season_day(dates: pd.DatetimeIndex | Sequence, start: str = "04-01") -> np.ndarray:
    """Day of the season (0 on ``start``, e.g. 1 April) of each date."""
    idx = pd.DatetimeIndex(dates)
    starts = pd.to_datetime([f"{y}-{start}" for y in idx.year])
    return np.asarray((idx - starts).days, dtype=np.int64)


def split_dates(cube: xr.Dataset, split: str) -> pd.DatetimeIndex:
    """The SAR days of ``cube`` labelled ``split`` (``train``, ``val``, ``test``).

    Raises:
        CubeError: the cube has no ``split`` variable.
    """
    if "split" not in cube:
        raise CubeError("cube has no 'split' variable; pass the dates explicitly")
    labels = cube["split"].to_series().astype(str)
    sel = labels.values == split
    if "has_sar" in cube:
        sel &= np.asarray(cube["has_sar"].values, dtype=bool)
    return pd.DatetimeIndex(labels.index[sel], name="time")
