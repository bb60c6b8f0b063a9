"""What the synthetic sensors see: SAR layover/shadow."""

import numpy as np
import pandas as pd

from meltwater.data.synthetic_sensors import observe_sar


def test_layover_on_slopes_facing_the_sensor():
    normal = np.zeros((3, 4, 4))
    normal[2] = 1.0
    normal[0, :, :2] = -np.sin(np.deg2rad(40))  # steep slopes facing west
    normal[2, :, :2] = np.cos(np.deg2rad(40))
    truth, land = np.full((4, 4), 0.5), np.ones((4, 4), bool)
    east = (
        pd.Timestamp("2018-07-01")
        if pd.Timestamp("2018-07-01").toordinal() % 2
        else pd.Timestamp("2018-07-02")
    )
    seen = [observe_sar(truth, land, normal, east, np.random.default_rng(s)) for s in range(20)]
    full = [s for s in seen if np.isfinite(s[:, 2:]).all()]  # scenes without a swath cut there
    assert full and all(np.isnan(s[:, :2]).all() for s in full)
