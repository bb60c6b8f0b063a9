"""The guided tour for teaching: a few steps, each a view of the dashboard and a short text.

A step is a set of link values (`url.FIELDS`) applied through `url.apply_url`, so ``?tour=2``
opens step 2 like any shared link and is checked like one. The step texts are the ones of
docs/teachers_guide.md ("Guided tour"); a test keeps the two equal. `INPUTS_HELP` explains every
input one click away.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from meltwater.errors import InvalidArgumentError
from meltwater_dashboard.state import DashboardState

__all__ = ["INPUTS_HELP", "TOUR", "Step", "step_values", "tour_day"]


@dataclass(frozen=True)
class Step:
    """One step: its title, its text (Markdown of ours, never user text) and the link values it
    sets besides the day (model, compared model, switched-off inputs, tab)."""

    title: str
    text: str
    values: dict[str, str]


TOUR: tuple[Step, ...] = (
    Step(
        "The inputs",
        "The UNet sees four inputs of the same day: coarse passive microwave (PMW) brightness, "
        "the MAR climate model's liquid water, SAR melt interpolated between scenes, and the "
        "elevation (DEM). Zoom in: the PMW and MAR blocks are kilometres wide, the map we want "
        "is 100 m.",
        {"model": "unet", "tab": "inputs"},
    ),
    Step(
        "MAR's June overmelt",
        "Left, MAR interpolated to 100 m; right, the UNet; the SAR map shows what the satellite "
        "saw. In June MAR melts too much: its blue reaches higher up the ice sheet than SAR's. "
        "The error map (MAR − SAR) is red where MAR says melt and SAR does not.",
        {"model": "mar_interp", "compare": "unet", "tab": "maps"},
    ),
    Step(
        "Switch the DEM off",
        "The UNet runs again on this day without the elevation input, so it loses the cue "
        "that melt starts low and climbs the ice sheet. Compare the map with the previous step; "
        "the table under the input switches shows how the day's error changes.",
        {"model": "unet", "ablate": "dem", "tab": "maps"},
    ),
    Step(
        "The seasonal bias curve",
        "Each line is a model's daily bias against SAR over the season. MAR sits above zero in "
        "June (too much melt) and below it in September (too little); the UNet's bias has the "
        "same signs at a third to a half of MAR's size, except in July, when it melts more. "
        "Click a curve to jump to that day.",
        {"model": "mar_interp", "compare": "unet", "tab": "curves"},
    ),
)

INPUTS_HELP = """\
**PMW**: passive microwave brightness temperature (K), about 3–6 km pixels, every day; wet snow \
looks warmer. **MAR**: liquid water in the snow (kg m⁻²) from the regional climate model MAR, \
about 6 km, every day. **SAR-interp**: melt seen by the Sentinel-1 radar at 100 m, only every few \
days, filled in between scenes by time interpolation. **DEM**: elevation (m); melt starts low \
and climbs the ice sheet. **Melt fraction**: the share of a 100 m pixel that is melting (0–1), \
what every model predicts and SAR observes."""


def tour_day(state: DashboardState) -> pd.Timestamp:
    """The tour's day: the first SAR scene from mid-June of its season (that season's middle day
    without one). Its season is the last one with SAR scenes in June and in September, which
    the bias-curve step points at (the release's last season has no September scene), else the
    last season."""
    years = sorted(int(y) for y in state.param.year.objects)
    sar = state.store.sar_days(state.source)
    both = [y for y in years if {6, 9} <= {d.month for d in sar if d.year == y}]
    year = both[-1] if both else years[-1]
    days = state.store.season_days(state.source, year)
    scenes = sorted(d for d in sar if d.year == year)
    june = [d for d in scenes if d >= pd.Timestamp(year, 6, 15)]
    return june[0] if june else days[len(days) // 2]


def step_values(state: DashboardState, n: int) -> dict[str, str]:
    """The link values of step ``n`` (1-based): the step's own and the tour's day.

    Raises:
        InvalidArgumentError: ``n`` is not a step number.
    """
    if not 1 <= n <= len(TOUR):
        raise InvalidArgumentError(f"tour step must be 1 to {len(TOUR)}, got {n}")
    return {"date": f"{tour_day(state):%Y-%m-%d}", **TOUR[n - 1].values}
