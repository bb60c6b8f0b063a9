"""A micro source in the demo layout (8 × 12 px, four June days) for the bad-input tests.

Each case writes one in milliseconds with `micro` and then damages it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine

from meltwater.data.catalog import Source, get_source
from meltwater.data.geotiff import Grid, write_raster
from meltwater.data.synthetic import DEMO_CRS

__all__ = ["DAYS", "GRID", "SAR_DAYS", "SHAPE", "SPLITS", "micro"]

SHAPE = (8, 12)
GRID = Grid(DEMO_CRS, Affine(100.0, 0, 10_000.0, 0, -100.0, 20_000.0), SHAPE)
DAYS = pd.date_range("2019-06-01", periods=4, name="time")
SAR_DAYS = DAYS[[0, 1, 3]]
SPLITS = {"train": SAR_DAYS[:2], "val": SAR_DAYS[2:], "test": SAR_DAYS[:0], "deploy": DAYS}


def micro(data_root: Path, sar_days=SAR_DAYS) -> Source:
    """A complete demo-layout source: DEM, land mask, winter mean, 4 days of PMW/MAR, SAR."""
    src = get_source("demo", data_root=data_root)
    rows, cols = np.mgrid[: SHAPE[0], : SHAPE[1]]
    write_raster(src.static_path("dem"), 100.0 * cols + rows, GRID)
    write_raster(src.static_path("land"), np.where(cols < 2, -1.0, 1.0), GRID)
    write_raster(src.winter_mean_path(2019), np.full(SHAPE, 190.0), GRID)
    for i, day in enumerate(DAYS):
        write_raster(src.day_path("pmw", day), np.full(SHAPE, 200.0 + i), GRID)
        write_raster(src.day_path("mar_wa1", day), np.full(SHAPE, 0.01 * i), GRID)
    for i, day in enumerate(sar_days):
        write_raster(src.day_path("sar", day), (cols > 5 + i).astype(np.float32), GRID)
    src.splits_dir.mkdir(parents=True, exist_ok=True)
    for name, days in SPLITS.items():
        (src.splits_dir / f"{name}.csv").write_text("".join(f"{d:%Y_%m_%d}.tif\n" for d in days))
    return src
