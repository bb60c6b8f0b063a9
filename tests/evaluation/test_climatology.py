"""Weekly melt-area climatology: hand-made series over two seasons, and season summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from meltwater.errors import InvalidArgumentError
from meltwater.evaluation.climatology import melt_area_series, weekly, weekly_climatology

TIMES = pd.DatetimeIndex(
    ["2019-04-01", "2019-04-02", "2019-04-08", "2020-04-03", "2020-04-09", "2020-04-10"]
)  # season days 0, 1, 7 and 2, 8, 9: weeks 0, 0, 1 and 0, 1, 1
SERIES = xr.DataArray(
    [[1.0, 3.0, 10.0, 5.0, 2.0, np.nan], [np.nan, np.nan, 1.0, np.nan, np.nan, np.nan]],
    dims=("series", "time"),
    coords={"series": ["a", "b"], "time": TIMES},
)


def test_weekly_means_skip_missing_days():
    w = weekly(SERIES)
    assert w.dims == ("series", "year", "week") and list(w.week_start.values) == [0, 7]
    np.testing.assert_array_equal(w.sel(series="a").values, [[2.0, 10.0], [5.0, 2.0]])
    np.testing.assert_array_equal(w.sel(series="b").values, [[np.nan, 1.0], [np.nan, np.nan]])


def test_climatology_by_hand():
    c = weekly_climatology(SERIES).climatology
    np.testing.assert_array_equal(c.sel(series="a").values, [[3.5, 6.0], [2, 2], [5, 10], [2, 2]])
    b = c.sel(series="b")
    assert np.isnan(b.sel(week=0, stat=["mean", "min", "max"])).all()
    assert list(b.sel(stat="seasons").values) == [0.0, 1.0]
    assert list(b.sel(week=1).values) == [1.0, 1.0, 1.0, 1.0]
    with pytest.raises(InvalidArgumentError, match="window: expected at least 1 day"):
        weekly(SERIES, 0)


def test_melt_area_series_from_summaries():
    def summary(year: int) -> xr.Dataset:
        t = pd.date_range(f"{year}-06-01", periods=2)
        return xr.Dataset(
            {
                "melt_area_km2": (("model", "time"), [[1.0, 2.0], [3.0, 4.0]]),
                "sar_melt_area_km2": ("time", [np.nan, float(year)]),
            },
            coords={"model": ["unet", "mar_interp"], "time": t},
        )

    s = melt_area_series([summary(2019), summary(2020)])
    assert s.dims == ("series", "time") and list(s.series.values) == ["sar", "unet", "mar_interp"]
    assert s.sizes["time"] == 4 and float(s.sel(series="sar").isel(time=3)) == 2020.0
