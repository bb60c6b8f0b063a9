"""The cube's days: season days with a file ∪ every train/val/test date of the split lists.

The release's ``deploy.csv`` is not a valid time axis: it misses every 31st of a month, which
left 8 of the 529 real split scenes out of the cube. A split date without its files is an error
naming the date, its split and the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from meltwater.data.catalog import Source
from meltwater.errors import DataNotFoundError

__all__ = ["SCENE_SPLITS", "list_dates", "season_dates", "time_axis"]

SCENE_SPLITS = ("train", "val", "test")


def list_dates(folder: Path, date_format: str = "%Y_%m_%d") -> pd.DatetimeIndex:
    """Dates of the ``YYYY_MM_DD.tif`` files in ``folder`` (others are ignored)."""
    if not folder.is_dir():
        return pd.DatetimeIndex([], name="time")
    dates = pd.to_datetime(
        [p.stem for p in folder.glob("*.tif")], format=date_format, errors="coerce"
    )
    return pd.DatetimeIndex(sorted(dates.dropna()), name="time")


def season_dates(
    years: Iterable[int], season: tuple[str, str] = ("04-01", "09-30")
) -> pd.DatetimeIndex:
    """Every day of the melt season (inclusive) of each year."""
    parts = [pd.date_range(f"{y}-{season[0]}", f"{y}-{season[1]}", freq="D") for y in sorted(years)]
    return pd.DatetimeIndex(np.concatenate(parts) if parts else [], name="time")


def _scene_dates(source: Source) -> pd.Series:
    """Every date of the source's train/val/test lists → its split name (a missing list: none)."""
    parts = []
    for split in SCENE_SPLITS:
        if source.split_path(split).is_file():
            dates = source.split_dates(split)
            parts.append(pd.Series(split, index=dates, dtype=object))
    if not parts:
        return pd.Series([], index=pd.DatetimeIndex([], name="time"), dtype=object)
    out = pd.concat(parts)
    return out[~out.index.duplicated()].sort_index()


def time_axis(
    source: Source, years: Sequence[int] | None = None, variables: Sequence[str] | None = None
) -> pd.DatetimeIndex:
    """The cube's days: every season day with a file of the layout ∪ every train/val/test date.

    A season day is in the axis when any daily variable has a file dated that day (a variable
    without one is all-NaN there); ``years`` restricts the days to those years. Split dates are
    not taken from ``deploy.csv`` (the reference's list misses every 31st of a month), and each
    split date in those years must have a file in every daily variable opened (``variables``,
    default all of the layout).

    Raises:
        DataNotFoundError: a split date without a file (the message names the date, its split
            and the file), or no day at all.
    """
    layout = source.layout
    found = pd.DatetimeIndex([], name="time")
    for v in layout.daily:
        found = found.union(list_dates(source.variable_dir(v), layout.date_format))
    start, end = source.season
    md = found.strftime("%m-%d")
    in_season = found[(md >= start) & (md <= end)]
    scenes = _scene_dates(source)
    if years is not None:
        scope = sorted({int(y) for y in years})
        in_season = in_season[in_season.year.isin(scope)]
        scenes = scenes[scenes.index.year.isin(scope)]
    else:
        scenes = scenes[scenes.index.year.isin(sorted(set(in_season.year)))]
    variables = [v for v in (variables or layout.daily) if v in layout.daily]
    missing = [
        f"{day:%Y-%m-%d} ({split}): {source.day_path(v, day)}"
        for day, split in scenes.items()
        for v in variables
        if not source.day_path(v, day).is_file()
    ]
    if missing:
        shown = "; ".join(missing[:10]) + (
            f"; … {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise DataNotFoundError(
            f"source {source.name!r}: {len(missing)} file(s) of split dates missing: {shown} "
            f"(split lists in {source.splits_dir}; restrict the years to build a part)"
        )
    dates = in_season.union(scenes.index)
    if len(dates) == 0:
        raise DataNotFoundError(
            f"source {source.name!r} under {source.root} has no days"
            + (f" in years {list(years)}" if years is not None else "")
        )
    return pd.DatetimeIndex(dates, name="time")
