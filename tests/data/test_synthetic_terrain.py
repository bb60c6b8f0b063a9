"""The synthetic Helheim's terrain: margin, trunk and tributaries, nunataks, fjord, coast."""

import numpy as np
from scipy import ndimage

from meltwater.data.synthetic_terrain import make_terrain


def test_terrain_has_margin_trunk_nunataks_fjord_and_coast():
    t = make_terrain((112, 196), 100.0, np.random.default_rng(0))
    dem, land, ice = t.dem, t.land, t.ice
    assert dem[~land].max() == 0 and dem[land].min() >= 5
    east = ~land[:, -3:]
    assert east.mean() > 0.9  # the coast: ocean along the east edge
    fjord = ~land[:, 130:190]  # the fjord reaches inland from the coast to the trunk
    assert fjord.any(axis=0).all()
    rock = land & ~ice
    assert rock[:, 140:180].mean() > 0.5 and ice[:, :100].mean() > 0.95  # ice-free belt, ice
    assert dem[:, :5][ice[:, :5]].mean() > dem[:, 130:140][ice[:, 130:140]].mean() + 500
    # trunk and tributaries: a lowered channel, lower than the ice beside it at the same distance
    trunk = t.trunk
    assert 0.02 < trunk.mean() < 0.15
    cols = slice(60, 120)
    side = ice[:, cols] & ~ndimage.binary_dilation(trunk, iterations=8)[:, cols]
    assert dem[:, cols][trunk[:, cols]].mean() < dem[:, cols][side].mean() - 100
    labels, n = ndimage.label(trunk)
    sizes = np.bincount(labels.ravel())[1:]
    assert sizes.max() > 0.9 * trunk.sum()  # tributaries join the trunk
    # nunataks: rock islands surrounded by ice
    islands, k = ndimage.label(~ice & land)
    inland = [i for i in range(1, k + 1) if not (islands == i)[:, 125:].any()]
    assert len(inland) >= 2
    assert t.depression.max() > 0.9 and 0.001 < (t.depression > 0.5).mean() < 0.2


def test_full_grid_spans_sea_level_to_3400_m():
    t = make_terrain((163, 286), 1000.0, np.random.default_rng(0))  # the release's extent
    assert t.dem[t.land].min() < 50 and 3200 < t.dem.max() < 3600
    assert abs(286 / 163 - 2863 / 1633) < 0.01
