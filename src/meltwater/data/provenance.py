"""Which model wrote which day of each ``pred_*`` variable of a cube (per-day provenance).

Every prediction variable carries, in its attributes:

* ``model_days``: model id → the days (``YYYY-MM-DD``) whose chunk that model wrote;
* ``days_done``: the union of those days (what `meltwater.precompute.plan` reads; a day
  missing from it is not done, whatever ``model_days`` says);
* ``model_id``: the model of the variable's latest precompute.

A day is trusted only when it is recorded: readers of the cube (`meltwater.data.reads`) show an
unrecorded day as missing (NaN) and refuse a variable whose recorded days come from more than
one model (`MixedModelsError`). Stores written before ``model_days`` existed are read as
``{model_id: days_done}``. Model ids: a baseline's name, ``unet:<registry name>:<sha256[:16]>``
for the UNet (`same_model` compares the weights' hash).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from meltwater.errors import CubeError, MixedModelsError

__all__ = [
    "CHUNKS_ATTR",
    "DAYS_ATTR",
    "DONE_ATTR",
    "MODEL_ATTR",
    "create_prediction_variables",
    "model_days",
    "provenance_attrs",
    "same_model",
    "stored_model",
]

DONE_ATTR = "days_done"
# every chunk of a recorded day is stored, all-NaN ones too (`overviews.write_day`): a missing
# chunk file of a recorded day is damage, not an empty region (`meltwater.data.chunk_files`)
CHUNKS_ATTR = "chunks_stored"
MODEL_ATTR = "model_id"
DAYS_ATTR = "model_days"


def model_days(attrs: Mapping) -> dict[str, list[str]] | None:
    """Model id → recorded days of a prediction variable; None when it records nothing at all
    (an in-memory cube made by hand), ``{}`` when no day is done yet."""
    if DAYS_ATTR in attrs:  # days_done stays authoritative for "done", model_days says by whom
        done = set(attrs.get(DONE_ATTR, ()))
        days = {str(k): sorted(done.intersection(v)) for k, v in dict(attrs[DAYS_ATTR]).items()}
        return {k: v for k, v in days.items() if v}
    if DONE_ATTR in attrs:  # written before model_days existed: every day is model_id's
        listed = sorted(attrs[DONE_ATTR])
        return {str(attrs.get(MODEL_ATTR, "unknown")): listed} if listed else {}
    return None


def provenance_attrs(days: Mapping[str, list[str]], model_id: str) -> dict:
    """The attributes that record ``days`` (model id → days), ``model_id`` being the current one."""
    clean = {k: sorted(set(v)) for k, v in days.items() if v}
    done = sorted(set().union(*clean.values())) if clean else []
    return {DAYS_ATTR: clean, DONE_ATTR: done, MODEL_ATTR: model_id}


def stored_model(var: str, attrs: Mapping, where: str = "") -> str | None:
    """The one model whose days ``var`` holds (None when no day is recorded).

    Raises:
        MixedModelsError: recorded days of more than one model (names them and their days).
    """
    days = model_days(attrs)
    if not days:
        return None
    if len(days) > 1:
        parts = ", ".join(f"{m} ({len(d)} days, {d[0]}…{d[-1]})" for m, d in sorted(days.items()))
        raise MixedModelsError(
            f"{var}{f' in {where}' if where else ''} mixes the predictions of several models: "
            f"{parts}; recompute it with `meltwater precompute` (which clears the other "
            "models' days)"
        )
    return next(iter(days))


def same_model(a: str | None, b: str | None) -> bool:
    """Whether two model ids name the same model (the UNet: the same weights' hash)."""
    if a is None or b is None:
        return a == b
    return a.rsplit(":", 1)[-1] == b.rsplit(":", 1)[-1] and a.split(":", 1)[0] == b.split(":", 1)[0]


def create_prediction_variables(
    path: Path | str, sizes: Mapping[Hashable, int], attrs: Mapping[str, dict]
) -> None:
    """Add NaN-filled float16 ``(time, y, x)`` variables to the store and to its overview levels,
    chunked as the store's ``pmw``.

    ``attrs``: variable name → its attributes. The groups' attributes are kept.

    Raises:
        CubeError: ``sizes`` (time, y, x) are not the store's.
    """
    if not attrs:
        return
    import dask.array as da
    import zarr

    from meltwater.data.overviews import level_group, stored_factors
    from meltwater.data.zarr_nodes import array_node, group_node

    group = zarr.open_group(str(path), mode="r")
    shape = (sizes["time"], sizes["y"], sizes["x"])
    stored = array_node(group, "pmw").shape
    if tuple(stored) != shape:
        raise CubeError(f"{path}: sizes {shape} are not the store's {stored}")
    levels = [level_group(f) for f in stored_factors(group.attrs)]
    targets = [("", group)] + [(name, group_node(group, name)) for name in levels]
    for name, g in targets:
        pmw = array_node(g, "pmw")
        nt, ny, nx = pmw.shape
        chunks = (1, *pmw.chunks[1:])
        new = {}
        for var, a in attrs.items():
            data = da.full((nt, ny, nx), np.nan, dtype=np.float16, chunks=chunks)
            level_attrs = {} if name else {**a, CHUNKS_ATTR: 1}  # records live on level 0
            new[var] = xr.DataArray(data, dims=("time", "y", "x"), attrs=level_attrs)
        # xarray rewrites the group's attributes: hand it the existing ones
        xr.Dataset(new, attrs=dict(g.attrs)).to_zarr(
            str(path), group=name or None, mode="a", compute=False, consolidated=False
        )
