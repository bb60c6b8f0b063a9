"""Baselines: non-deep-learning predictors of the daily 100 m melt fraction.

Every baseline is a `Baseline` with one interface:

* ``fit(cube, train_dates) -> self`` — fit on the SAR scenes of the training dates only
  (dates without a scene are ignored);
* ``predict(cube, date) -> xr.DataArray`` — dims ``(y, x)``, float32 in [0, 1], the cube's
  ``y``/``x`` coordinates and a scalar ``time``; named ``pred_<name>``;
* ``params() -> dict`` — the fitted values, JSON-able.

The registry `BASELINES` maps names to classes; `get_baseline` builds one with keyword
arguments for its constructor.

Example:
    >>> from meltwater.models.baselines import get_baseline
    >>> model = get_baseline("mar_interp").fit(cube, train_dates)  # doctest: +SKIP
    >>> model.predict(cube, "2019-07-01")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from meltwater.errors import UnknownNameError
from meltwater.models.baselines.base import Baseline
from meltwater.models.baselines.linear_dem import LinearDem
from meltwater.models.baselines.mar_interp import MarInterp
from meltwater.models.baselines.pmw_threshold import PmwThreshold
from meltwater.models.baselines.random_forest import RandomForest
from meltwater.models.baselines.sar_running_mean import SarRunningMean

__all__ = [
    "BASELINES",
    "Baseline",
    "LinearDem",
    "MarInterp",
    "PmwThreshold",
    "RandomForest",
    "SarRunningMean",
    "get_baseline",
]

BASELINES: dict[str, type[Baseline]] = {
    cls.name: cls for cls in (MarInterp, PmwThreshold, SarRunningMean, LinearDem, RandomForest)
}


def get_baseline(name: str, **kwargs: Any) -> Baseline:
    """A new, unfitted baseline ``name``; ``kwargs`` go to its constructor.

    Raises:
        KeyError: unknown name (the message lists the valid names).
    """
    try:
        cls = BASELINES[name]
    except KeyError:
        raise UnknownNameError(f"unknown baseline {name!r}; valid: {sorted(BASELINES)}") from None
    return cls(**kwargs)
