"""A cube rebuild keeps the predictions whose inputs did not change.

`meltwater.data.cube.build_cube` stores a hash of what each day's predictions depend on: the
``input_hash`` variable (one int64 per day, of the day's ``pmw``, ``mar_wa1``, ``sar``,
``sar_interp``, ``valid`` as stored and its year's winter PMW), with a hash of the static maps
(DEM, land mask, grid, CRS) and one of the training days in its attributes. Hashes are of the
values, not of file dates, so a copy without ``-a`` or a restore from backup changes nothing.

When a rebuild replaces a cube that has ``pred_*`` variables, `carry_over` copies into the new
store every recorded day whose hash is unchanged (for baselines, which are fitted on the
training days, only when the training hash is unchanged too; the UNet's weights do not depend
on the cube), keeps the days' model records (`meltwater.data.provenance`) and leaves the others not
done, for ``meltwater precompute`` to redo. A cube built before the hashes existed is hashed
from its stored values.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
import zarr

from meltwater.data.overviews import write_day
from meltwater.data.provenance import (
    DAYS_ATTR,
    DONE_ATTR,
    MODEL_ATTR,
    create_prediction_variables,
    model_days,
    provenance_attrs,
)
from meltwater.data.zarr_nodes import array_node
from meltwater.errors import MeltwaterError
from meltwater.schema import UNET, is_pred_var, parse_pred_var

__all__ = ["HASH_VAR", "carry_over", "day_hashes", "hash_attrs", "winter_hashes"]

log = logging.getLogger(__name__)

HASH_VAR = "input_hash"
DAY_VARS = {"pmw": "<f4", "mar_wa1": "<f4", "sar": "<f4", "sar_interp": "<f2", "valid": "u1"}


def _checkpoint_only(var: str) -> bool:
    """The UNet and its ablations come from a checkpoint: they depend on their day's inputs only
    (other models are fitted on the cube's training days)."""
    parsed = parse_pred_var(var)
    return parsed is not None and parsed[0] == UNET


def _bytes(values, dtype: str) -> bytes:
    return np.ascontiguousarray(np.asarray(values), dtype=dtype).tobytes()


def winter_hashes(pmw_winter: xr.DataArray) -> dict[int, bytes]:
    """Hash of each year's winter-mean PMW map."""
    return {
        int(y): hashlib.blake2b(_bytes(pmw_winter.sel(year=y).values, "<f4")).digest()
        for y in pmw_winter["year"].values
    }


def day_hashes(batch: xr.Dataset, winter: dict[int, bytes]) -> np.ndarray:
    """int64 hash per day of ``batch`` (time, y, x) of the `DAY_VARS` it depends on."""
    out = np.empty(batch.sizes["time"], dtype=np.int64)
    arrays = {v: batch[v].values for v in DAY_VARS}
    for j, t in enumerate(pd.DatetimeIndex(batch["time"].values)):
        h = hashlib.blake2b(digest_size=8)
        for v, dtype in DAY_VARS.items():
            h.update(_bytes(arrays[v][j], dtype))
        h.update(winter.get(int(t.year), b""))
        out[j] = np.frombuffer(h.digest(), dtype="<i8")[0]
    return out


def _static_hash(ds: xr.Dataset) -> str:
    h = hashlib.blake2b(digest_size=16)
    for v, dtype in (("dem", "<f4"), ("land", "u1"), ("x", "<f8"), ("y", "<f8")):
        h.update(_bytes(ds[v].values, dtype))
    crs = ds["spatial_ref"].attrs.get("crs_wkt", "") if "spatial_ref" in ds.variables else ""
    h.update(str(crs).encode())
    return h.hexdigest()


def _train_hash(times: pd.DatetimeIndex, split, hashes: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    for t, s, v in zip(times, np.asarray(split), hashes, strict=True):
        if s == "train":
            h.update(f"{t:%Y-%m-%d}".encode() + np.int64(v).tobytes())
    return h.hexdigest()


def hash_attrs(ds: xr.Dataset, split, hashes: np.ndarray) -> dict:
    """Attributes of the ``input_hash`` variable: the static and training-days hashes."""
    return {
        "long_name": "hash of the day's inputs (pmw, mar_wa1, sar, sar_interp, valid, winter PMW)",
        "static_hash": _static_hash(ds),
        "train_hash": _train_hash(ds.indexes["time"], split, hashes),
    }


def _hashes(cube: xr.Dataset) -> tuple[np.ndarray, str, str]:
    """(day hashes, static hash, training hash) of an opened cube, stored or computed."""
    if HASH_VAR in cube and "static_hash" in cube[HASH_VAR].attrs:
        a = cube[HASH_VAR].attrs
        return np.asarray(cube[HASH_VAR].values), a["static_hash"], a["train_hash"]
    winter = winter_hashes(cube["pmw_winter"])
    days = np.concatenate(
        [day_hashes(cube[list(DAY_VARS)].isel(time=[i]), winter) for i in range(cube.sizes["time"])]
    )
    return days, _static_hash(cube), _train_hash(cube.indexes["time"], cube["split"].values, days)


def carry_over(old_path: Path, new_path: Path) -> dict[str, tuple[int, int]]:
    """Copy the still-valid days of every ``pred_*`` of the cube at ``old_path`` into the new
    store at ``new_path``; returns variable → (days carried over, days recorded before)."""
    from meltwater.data.cube import open_cube

    if not Path(old_path).exists():
        return {}
    try:
        old = open_cube(old_path, any_version=True)  # an older format's days are still valid
        preds = [str(v) for v in old.data_vars if is_pred_var(str(v)) and old[v].ndim == 3]
        if not preds:
            return {}
        new = xr.open_zarr(new_path, chunks=None, consolidated=False, decode_coords="all")
        if (old.sizes["y"], old.sizes["x"]) != (new.sizes["y"], new.sizes["x"]):
            log.warning("the grid changed: no prediction of %s is carried over", old_path)
            return {}
        old_h, old_static, old_train = _hashes(old)
        new_h, new_static, new_train = _hashes(new)
    except MeltwaterError as e:  # an unreadable old cube: nothing can be trusted
        log.warning("predictions of %s not carried over: %s", old_path, e)
        return {}
    old_days = old.indexes["time"].strftime("%Y-%m-%d")
    new_index = {d: i for i, d in enumerate(new.indexes["time"].strftime("%Y-%m-%d"))}
    keep: dict[str, dict[str, list[tuple[int, int]]]] = {}
    report: dict[str, tuple[int, int]] = {}
    attrs: dict[str, dict] = {}
    for var in preds:
        recorded = model_days(old[var].attrs) or {}
        usable = old_static == new_static and (_checkpoint_only(var) or old_train == new_train)
        keep[var] = {}
        for model, days in recorded.items():
            pairs = []
            for d in days:
                i = old_days.get_loc(d) if d in old_days else None
                j = new_index.get(d)
                if usable and i is not None and j is not None and old_h[i] == new_h[j]:
                    pairs.append((int(i), j))
            keep[var][model] = pairs
        a = {k: v for k, v in old[var].attrs.items() if k not in (DAYS_ATTR, DONE_ATTR)}
        attrs[var] = {**a, **provenance_attrs({}, a.get(MODEL_ATTR, "unknown"))}
        report[var] = (0, sum(len(d) for d in recorded.values()))
    create_prediction_variables(new_path, new.sizes, attrs)
    src, dst = zarr.open_group(str(old_path), mode="r"), zarr.open_group(str(new_path), mode="r+")
    for var, by_model in keep.items():
        done: dict[str, list[str]] = {}
        # opened once: their metadata holds the day lists
        source, target = array_node(src, var), array_node(dst, var)
        for model, pairs in by_model.items():
            for i, j in pairs:
                try:
                    values = np.asarray(source[i])
                except OSError:
                    raise
                except Exception as e:  # a damaged chunk is simply not carried over
                    log.warning("%s of %s in %s is damaged, not carried over: %s",
                                var, old_days[i], old_path, e)  # fmt: skip
                    continue
                write_day(dst, var, j, values)  # and its overview levels
                done.setdefault(model, []).append(old_days[i])
        target.attrs.update(provenance_attrs(done, attrs[var][MODEL_ATTR]))
        report[var] = (sum(len(d) for d in done.values()), report[var][1])
    return report
