"""How far `meltwater precompute` has got on a cube: the days each prediction variable records
as done, read from the store as it is now (`meltwater.data.reads.current_attrs`: one ``stat``
per variable while nothing changed), and whether a writer holds the cube's lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.atomic import is_locked
from meltwater.data.provenance import model_days
from meltwater.data.reads import current_attrs

__all__ = ["Progress", "done_days", "progress", "writer_active"]


@dataclass(frozen=True)
class Progress:
    """Days on which every variable asked for is recorded, of ``total`` days."""

    done: int
    total: int

    @property
    def complete(self) -> bool:
        return self.done == self.total


def done_days(cube: xr.Dataset, var: str) -> np.ndarray:
    """Per day of the cube, whether ``var`` records it as done (an in-memory cube without
    records, made by hand, holds every day; a variable not in the cube none)."""
    n = cube.sizes["time"]
    if var not in cube:
        return np.zeros(n, bool)
    days = model_days(current_attrs(cube, var))
    if days is None:
        return np.ones(n, bool)
    recorded = sorted(set().union(*days.values())) if days else []
    return np.isin(cube.indexes["time"].strftime("%Y-%m-%d"), recorded)


def progress(cube: xr.Dataset, variables: Sequence[str], dates: Sequence | None = None) -> Progress:
    """How many of ``dates`` (default: every day of the cube) every one of ``variables`` holds."""
    mask = np.ones(cube.sizes["time"], bool)
    for var in variables:
        mask &= done_days(cube, var)
    if dates is not None:
        mask = mask[cube.indexes["time"].isin(pd.DatetimeIndex(dates))]
    return Progress(int(mask.sum()), int(mask.size))


def writer_active(cube_path: Path | str | None) -> bool:
    """Whether a process (`meltwater precompute`, `meltwater cube`) is writing the local cube at
    ``cube_path`` now: it holds the cube's lock (`meltwater.atomic.exclusive_lock`)."""
    return cube_path is not None and is_locked(Path(cube_path))
