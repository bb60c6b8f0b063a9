"""The opening view of a page opened without link values: a day that tells the story.

It is a mid-season (June–August) test day with a SAR scene on which MAR interpolation and the
UNet differ most (absolute difference of their mean melt fraction over the scene's valid
pixels), shown in compare mode. The numbers come from the evaluation results of the test split
when they hold both models (a small file), else from the season summaries (a season whose
summary a remote cube lacks counts as unknown).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from meltwater.errors import DataNotFoundError
from meltwater_dashboard.state import DashboardState

__all__ = ["STORY_MODELS", "open_story", "story_day"]

STORY_MODELS = ("mar_interp", "unet")
MID_SEASON = (6, 7, 8)


def _test_scenes(state: DashboardState) -> pd.DatetimeIndex:
    cube = state.cube
    times = state.times
    keep = (np.asarray(cube["split"].values) == "test") & np.asarray(cube["has_sar"].values, bool)
    return times[keep]


def _melt_gap(state: DashboardState, days: pd.DatetimeIndex) -> pd.Series:
    """|melt fraction of one story model − the other's| on ``days`` (NaN where unknown)."""
    a, b = STORY_MODELS
    res = state.store.results(state.source)
    if res is not None and {a, b} <= set(res.model.values):
        mf = res["melt_fraction"]
        gap = abs(mf.sel(model=a) - mf.sel(model=b)).to_series()
        return gap.reindex(days)
    parts = []
    for year in sorted(set(days.year)):
        try:
            mf = state.store.daily_summary(state.source, int(year))["melt_fraction"]
        except DataNotFoundError:  # a remote cube without this season's summary: unknown
            continue
        parts.append(abs(mf.sel(model=a) - mf.sel(model=b)).to_series())
    return pd.concat(parts).reindex(days) if parts else pd.Series(np.nan, index=days)


def story_day(state: DashboardState) -> pd.Timestamp | None:
    """The opening day (module doc); None without both story models or a test scene."""
    if not set(STORY_MODELS) <= set(state.models):
        return None
    scenes = _test_scenes(state)
    mid = scenes[scenes.month.isin(MID_SEASON)]
    days = mid if len(mid) else scenes
    if not len(days):
        return None
    gap = _melt_gap(state, days).dropna()
    return pd.Timestamp(gap.idxmax()) if len(gap) else pd.Timestamp(days[len(days) // 2])


def open_story(state: DashboardState) -> bool:
    """Show `story_day` comparing MAR interpolation with the UNet; False when there is none."""
    day = story_day(state)
    if day is None:
        return False
    state.jump_to(day)
    a, b = STORY_MODELS
    state.param.update(model=a, model_b=b, compare=True)
    return True


def opening_year(source: str | None = None) -> int:
    """The season a link without values opens on: `story_day`'s, else the last season (what
    ``make demo`` precomputes first, `__main__`)."""
    state = DashboardState(source)
    day = story_day(state)
    return int(day.year) if day is not None else int(state.times.year.max())


if __name__ == "__main__":  # `python -m meltwater_dashboard.opening [SOURCE]` prints the year
    import sys

    print(opening_year(sys.argv[1] if len(sys.argv) > 1 else None))
