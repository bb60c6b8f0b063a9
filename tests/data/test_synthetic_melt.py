"""The energy balance of the synthetic Helheim: insolation, bare ice, lakes, refreezing."""

import numpy as np

from meltwater.data.synthetic_melt import Forcing, melt_step, sun_vector


def test_slope_aspect_insolation_changes_melt():
    sun, sw = sun_vector(172)
    normal = np.zeros((3, 1, 2))
    tilt = np.deg2rad(20)
    normal[:, 0, 0] = [0, -np.sin(tilt), np.cos(tilt)]  # facing south
    normal[:, 0, 1] = [0, np.sin(tilt), np.cos(tilt)]  # facing north
    terrain = {
        "dem": np.full((1, 2), 1000.0),
        "ice": np.ones((1, 2), bool),
        "depression": np.zeros((1, 2)),
        "normal": normal,
    }
    zero = np.zeros((1, 2))
    f = Forcing(np.full((1, 2), -4.0), sw * 0.6, sun, 1500.0, False)  # bare ice
    out = melt_step({"water": zero, "snow": zero, "wet": zero}, f, terrain)
    assert out["water"][0, 0] > out["water"][0, 1] + 1  # the south slope melts more


def test_lakes_in_depressions_and_refreezing():
    sun, sw = sun_vector(200)
    normal = np.zeros((3, 1, 2))
    normal[2] = 1
    terrain = {
        "dem": np.full((1, 2), 800.0),
        "ice": np.ones((1, 2), bool),
        "depression": np.array([[0.0, 1.0]]),
        "normal": normal,
    }
    zero = np.zeros((1, 2))
    warm = Forcing(np.full((1, 2), 2.0), sw * 0.6, sun, 1500.0, False)
    state = melt_step({"water": zero, "snow": zero, "wet": zero}, warm, terrain)
    assert state["water"][0, 1] > 2 * state["water"][0, 0]  # a depression collects meltwater
    cold = Forcing(np.full((1, 2), -10.0), sw * 0.3, sun, 1500.0, False)
    after = melt_step(state, cold, terrain)
    assert (after["water"] < state["water"]).all()  # a cold day refreezes water
    assert after["water"][0, 1] / state["water"][0, 1] > after["water"][0, 0] / state["water"][0, 0]
