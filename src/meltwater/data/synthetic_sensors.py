"""What the sensors of the synthetic Helheim see: SAR scenes, PMW brightness, MAR's WA1.

None of them reads more of the truth than the real instrument would: SAR sees the 100 m wet
fraction on its acquisition dates with speckle and gaps; PMW a ~6 km footprint mean of the wet
(and buried-wet) area; MAR only its own coarse simulation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

__all__ = ["block_mean", "emission", "observe_sar", "wa1"]

INCIDENCE_DEG = 35.0  # Sentinel-1 IW, mid swath


def block_mean(a: np.ndarray, block: int, weights: np.ndarray | None = None) -> np.ndarray:
    """(Weighted) mean over ``block``×``block`` cells, nearest-upsampled to the input shape.

    Edge blocks are padded with edge values; a block of zero weight falls back to its plain mean.
    """
    ny, nx = a.shape
    w = np.ones_like(a, dtype=float) if weights is None else weights.astype(float)

    def blocks(x: np.ndarray) -> np.ndarray:
        p = np.pad(x, ((0, -ny % block), (0, -nx % block)), mode="edge")
        return p.reshape(p.shape[0] // block, block, p.shape[1] // block, block).sum(axis=(1, 3))

    total, weight, plain = blocks(a * w), blocks(w), blocks(a) / block**2
    m = np.where(weight > 0, total / np.maximum(weight, 1e-12), plain)
    return np.repeat(np.repeat(m, block, 0), block, 1)[:ny, :nx]


def wa1(water: np.ndarray) -> np.ndarray:
    """MAR's WA1 (kg m-2 scaled as in MARv3.14) from liquid water: mean ~0.006 in summer."""
    wet = 1.0 / (1.0 + np.exp(-(water - 4.0) / 0.6))
    return 0.035 * (1 - np.exp(-water / 60.0)) * wet


def emission(wet: np.ndarray) -> np.ndarray:
    """Share of the dry→wet brightness-temperature jump: saturates at a few % wet area."""
    return 1 - np.exp(-wet / 0.1)


def observe_sar(
    truth: np.ndarray,
    land: np.ndarray,
    normal: np.ndarray,
    day: pd.Timestamp,
    rng: np.random.Generator,
) -> np.ndarray:
    """One Sentinel-1 scene: truth + speckle; NaN on the ocean, in layover (slopes facing the
    sensor steeper than ~25°), shadow (slopes turned away steeper than ~50°) and outside the
    swath (a straight cut across part of the scene in ~55 % of the acquisitions).

    Ascending and descending passes alternate with the day (looking east / west)."""
    speckle = ndimage.gaussian_filter(rng.normal(0, 0.12, truth.shape), 0.7)
    obs = np.clip(truth + speckle * (0.5 + truth * (1 - truth) * 2), 0, 1)
    look = 1.0 if day.toordinal() % 2 else -1.0  # +1: sensor in the west, looking east
    toward = -look * normal[0] / normal[2]  # slope tangent facing the sensor
    layover = toward > np.tan(np.deg2rad(25.0))
    shadow = -toward > np.tan(np.deg2rad(50.0))
    obs[~land | layover | shadow] = np.nan
    if rng.uniform() < 0.55:
        ny, nx = truth.shape
        yy, xx = np.mgrid[0:ny, 0:nx]
        angle = rng.uniform(0, 2 * np.pi)
        proj = xx * np.cos(angle) / nx + yy * np.sin(angle) / ny
        obs[proj > np.quantile(proj, rng.uniform(0.4, 0.8))] = np.nan
    return obs.astype(np.float32)
