"""A tiny analysis cube with hand-set values, for the summary and dashboard tests.

Layout (ny=40, nx=60, 100 m cells, EPSG:3413, y descending): columns 0–9 ocean, the rest land.
On SAR days (every other day) SAR is 1 in the top 20 rows and 0 below; NaN elsewhere.
``pred_unet`` is 0.75 in the top rows and 0 below; ``pred_mar_interp`` is 1 everywhere;
``pred_unet_no_pmw`` is 0.25 on SAR days (NaN on others). So over the valid pixels of a SAR day:
unet bias −0.125, MAE 0.125, accuracy 1; mar_interp bias 0.5, MAE 0.5, accuracy 0.5; melt area
of unet 20 × 50 × 0.01 km² = 10 km², of mar_interp 40 × 50 × 0.01 = 20 km².
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

NY, NX, OCEAN_COLS = 40, 60, 10


def toy_dates(years=(2019, 2020)) -> pd.DatetimeIndex:
    days = []
    for y in years:
        days += list(pd.date_range(f"{y}-06-01", periods=8)) + list(
            pd.date_range(f"{y}-09-01", periods=4)
        )
    return pd.DatetimeIndex(days, name="time")


def make_toy_cube(years=(2019, 2020)) -> xr.Dataset:
    time = toy_dates(years)
    nt = len(time)
    x = 300_000.0 + 100.0 * np.arange(NX) + 50.0
    y = -2_500_000.0 - 100.0 * np.arange(NY) - 50.0
    land = np.ones((NY, NX), bool)
    land[:, :OCEAN_COLS] = False
    top = np.zeros((NY, NX), bool)
    top[: NY // 2] = True
    has_sar = np.arange(nt) % 2 == 0
    sar = np.full((nt, NY, NX), np.nan, np.float32)
    sar[has_sar] = np.where(top, 1.0, 0.0)
    sar[:, ~land] = np.nan
    valid = np.isfinite(sar) & land
    unet = np.broadcast_to(np.where(top, 0.75, 0.0), (nt, NY, NX)).astype(np.float16)
    no_pmw = np.full((nt, NY, NX), np.nan, np.float16)
    no_pmw[has_sar] = 0.25
    pmw = (200.0 + np.arange(nt, dtype=np.float32))[:, None, None] * np.ones(
        (1, NY, NX), np.float32
    )
    dem = (np.arange(NY, dtype=np.float32)[::-1, None] * 10.0) * np.ones((1, NX), np.float32)
    three = ("time", "y", "x")
    ds = xr.Dataset(
        {
            "pmw": (three, pmw),
            "mar_wa1": (three, np.full((nt, NY, NX), 0.01, np.float32)),
            "sar": (three, sar),
            "sar_interp": (three, np.full((nt, NY, NX), 0.5, np.float32)),
            "valid": (three, valid),
            "dem": (("y", "x"), dem),
            "land": (("y", "x"), land),
            "has_sar": ("time", has_sar),
            "split": ("time", np.where(has_sar, "test", "none")),
            "pred_unet": (three, unet),
            "pred_mar_interp": (three, np.ones((nt, NY, NX), np.float16)),
            "pred_unet_no_pmw": (three, no_pmw),
        },
        coords={"time": time, "y": y, "x": x},
    )
    return ds.rio.write_crs("EPSG:3413")
