"""A small hand-made analysis cube for the baseline, predictor and evaluation tests.

Grid ny=24 × nx=30, 100 m cells (pixel area 0.01 km²), y descending; columns 0–3 are ocean.
Days: 1–20 June and 1–10 September 2019 (30 days). SAR scenes on every other day (even
index); the split marks scene 0, 2, 4, ... as train except days 8 and 14 (val) and days 10
and 24 (test). The DEM rises 100 m per row from the bottom (0 m) to the top (2300 m).
Values are set by each test through `make_cube` arguments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

NY, NX, OCEAN_COLS = 24, 30, 4
VAL_IDX, TEST_IDX = (8, 14), (10, 24)


def cube_dates() -> pd.DatetimeIndex:
    days = list(pd.date_range("2019-06-01", periods=20)) + list(
        pd.date_range("2019-09-01", periods=10)
    )
    return pd.DatetimeIndex(days, name="time")


def make_cube(
    sar: np.ndarray | None = None,
    mar: np.ndarray | None = None,
    pmw: np.ndarray | None = None,
    winter: float = 200.0,
    seed: int = 0,
) -> xr.Dataset:
    """Build the cube; ``sar``/``mar``/``pmw`` are (time, y, x) arrays or random defaults.

    SAR is forced to NaN on days without a scene and over the ocean.
    """
    rng = np.random.default_rng(seed)
    time = cube_dates()
    nt = len(time)
    shape = (nt, NY, NX)
    x = 500_000.0 + 100.0 * np.arange(NX) + 50.0
    y = -2_000_000.0 - 100.0 * np.arange(NY) - 50.0
    land = np.ones((NY, NX), bool)
    land[:, :OCEAN_COLS] = False
    dem = (100.0 * np.arange(NY, dtype=np.float32)[::-1, None]) * np.ones((1, NX), np.float32)
    has_sar = np.arange(nt) % 2 == 0
    split = np.where(has_sar, "train", "none").astype(object)
    split[list(VAL_IDX)] = "val"
    split[list(TEST_IDX)] = "test"
    sar = rng.random(shape).astype(np.float32) if sar is None else np.array(sar, np.float32)
    sar[~has_sar] = np.nan
    sar[:, ~land] = np.nan
    mar = rng.random(shape).astype(np.float32) * 0.01 if mar is None else mar
    pmw = 200.0 + 60.0 * rng.random(shape).astype(np.float32) if pmw is None else pmw
    three = ("time", "y", "x")
    return xr.Dataset(
        {
            "pmw": (three, np.asarray(pmw, np.float32)),
            "mar_wa1": (three, np.asarray(mar, np.float32)),
            "sar": (three, sar),
            "sar_interp": (three, np.zeros(shape, np.float32)),
            "valid": (three, np.isfinite(sar) & land),
            "pmw_winter": (("year", "y", "x"), np.full((1, NY, NX), winter, np.float32)),
            "dem": (("y", "x"), dem),
            "land": (("y", "x"), land),
            "has_sar": ("time", has_sar),
            "split": ("time", split.astype(str)),
        },
        coords={"time": time, "y": y, "x": x, "year": [2019]},
    )


def split_dates(cube: xr.Dataset, name: str) -> pd.DatetimeIndex:
    s = cube["split"].to_series()
    return pd.DatetimeIndex(s.index[s.values == name], name="time")
