"""The zarr analysis cube of a source: inputs, SAR target, masks and (later) predictions.

`build_cube` streams the GeoTIFF layout into ``<data>/cubes/<source>.zarr`` in time batches
(memory stays bounded on the full 2863 × 1633 grid), chunked one day per chunk, compressed,
and renamed into place only when complete. A complete cube whose source files have not changed
is left as is, so re-running is idempotent; an interrupted build leaves only a temporary store
that the next run removes and redoes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from meltwater.atomic import atomic_path, exclusive_lock, remove_path
from meltwater.catalog import Source
from meltwater.errors import CubeError
from meltwater.io import open_source, winter_means
from meltwater.preprocess import time_interpolated_sar
from meltwater.reads import guard

__all__ = ["CUBE_VERSION", "DAILY", "build_cube", "open_cube", "source_fingerprint"]

CUBE_VERSION = "1"
DAILY = ("pmw", "mar_wa1", "sar", "sar_interp", "valid")
REQUIRED = DAILY + ("dem", "land", "pmw_winter", "has_sar", "split")


def source_fingerprint(source: Source) -> str:
    """Hash of the names, sizes and mtimes of every file under the source root (stat only)."""
    h = hashlib.sha256()
    for p in sorted(source.root.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            h.update(f"{p.relative_to(source.root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    for split in ("train", "val", "test", "deploy"):
        p = source.split_path(split)
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


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


def build_cube(
    source: Source,
    years: Sequence[int] | None = None,
    *,
    overwrite: bool = False,
    batch_days: int = 16,
) -> Path:
    """Build (or keep) the analysis cube of ``source``; return its path.

    Args:
        source: catalog source whose GeoTIFF layout is read.
        years: restrict to these years (default: all).
        overwrite: rebuild even when a complete cube of the same source files exists.
        batch_days: days read and written per step (bounds memory).

    Raises:
        DataNotFoundError: the source's files or splits are missing.
        GridMismatchError: a file is not on the DEM's grid.
    """
    with exclusive_lock(source.cube_path):
        return _build_locked(source, years, overwrite, batch_days)


def _build_locked(source: Source, years, overwrite: bool, batch_days: int) -> Path:
    """`build_cube` under the store's lock: concurrent builds run one after the other."""
    path = source.cube_path
    fingerprint = source_fingerprint(source)
    if path.exists() and not overwrite:
        try:
            existing = open_cube(path)
            if existing.attrs.get("source_fingerprint") == fingerprint and (
                years is None or set(existing.indexes["time"].year) == set(years)
            ):
                return path
        except CubeError:
            pass
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
    ds.attrs.update(_attrs(source, fingerprint))
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    encoding = {v: {"chunks": (1, ny, nx)} for v in DAILY}
    encoding["pmw_winter"] = {"chunks": (1, ny, nx)}
    encoding["sar_interp"]["dtype"] = "float16"  # a 0–1 mean: float16 is ample, 1/3 of the disk
    with atomic_path(path) as tmp:
        ds.to_zarr(tmp, mode="w-", compute=False, encoding=encoding, consolidated=False)
        for start in tqdm(
            range(0, len(times), batch_days), desc=f"cube {source.name}", unit="batch"
        ):
            sl = slice(start, min(start + batch_days, len(times)))
            batch = ds[["pmw", "mar_wa1", "sar", "valid"]].isel(time=sl).load()
            batch["sar_interp"] = time_interpolated_sar(ds["sar"], train, times[sl])
            batch = batch.drop_vars([c for c in batch.coords if c not in ("time",)])
            batch.to_zarr(tmp, region={"time": sl}, consolidated=False)
    return path


def open_cube(source_or_path: Source | Path | str) -> xr.Dataset:
    """Open a complete cube lazily (no dask: one-day reads go straight to zarr).

    Raises:
        CubeError: no cube at the path, or it lacks required variables.
    """
    path = source_or_path.cube_path if isinstance(source_or_path, Source) else Path(source_or_path)
    if not path.exists():
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
    if missing or ds.attrs.get("cube_version") != CUBE_VERSION:
        raise CubeError(
            f"{path} is incomplete or from another version: missing {missing}, "
            f"cube_version {ds.attrs.get('cube_version')!r} (expected {CUBE_VERSION!r}); rebuild it"
        )
    return ds
