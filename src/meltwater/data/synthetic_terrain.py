"""Terrain of the synthetic Helheim: ice sheet, glacier trunk, tributaries, nunataks, fjord, coast.

Every feature is placed in fractions of the domain, so the tiny test grid and the release-sized
grid hold the same landscape; small-scale features (surface depressions) are in pixels (100 m).
Columns run west → east (the coast is in the east, as at Helheim/Sermilik), rows north → south.

* **Ice sheet**: a Vialov-like profile rising from the ice margin (~200 m) to ~3400 m 120 km
  inland (the release-sized grid; smaller grids are a window near the margin and stay lower).
* **Glacier trunk**: a winding outlet-glacier channel from the interior to the head of the fjord;
  its surface is lowered (a trough of a few hundred metres) and it carries ice through the
  ice-free belt. Two **tributaries** join it from the north-west and south-west.
* **Nunataks**: rock peaks poking through the ice a few tens of km inside the margin.
* **Coast and fjord**: ocean along the east edge; the fjord runs from the trunk's terminus to the
  coast. Between coast and ice margin: ice-free **coastal mountains** (rock, 0–~1500 m).
* **Surface depressions**: 100 m–2 km undulations of the ice surface; closed lows collect
  meltwater (slush, lakes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["Terrain", "insolation_normals", "make_terrain", "relief", "trunk_line"]

TOP_M = 3400.0  # the ice divide side of the release's DEM
MARGIN_U = 0.30  # mean ice-margin position, fraction of the width from the east edge
COAST_U = 0.10  # mean coast position
TERMINUS_U = 0.34  # the trunk's calving front (head of the fjord)
DIVIDE_KM = 120.0  # distance inland from the margin where the surface reaches TOP_M


@dataclass(frozen=True)
class Terrain:
    """Static fields of the world, all ``(y, x)``."""

    dem: np.ndarray  # m, float32, 0 on the ocean
    land: np.ndarray  # bool
    ice: np.ndarray  # bool: glacier ice (ice sheet, trunk, tributaries), not nunataks/rock
    trunk: np.ndarray  # bool: the glacier trunk and its tributaries
    margin_km: np.ndarray  # distance inland from the ice margin (0 off the ice), km
    depression: np.ndarray  # 0–1: how much a pixel is a closed surface low (lakes, slush)


def relief(rng: np.random.Generator, shape: tuple[int, int], scales: tuple[float, ...]):
    """Multi-scale smooth random relief in roughly [-1, 1]."""
    out = np.zeros(shape)
    for i, s in enumerate(scales):
        f = ndimage.gaussian_filter(rng.standard_normal(shape), max(s, 0.5), mode="reflect")
        out += f / (f.std() + 1e-12) / (i + 1)
    return out / (np.abs(out).max() + 1e-12)


def trunk_line(n: int = 64) -> dict[str, np.ndarray]:
    """Centre lines (u, v) of the trunk and its tributaries in domain fractions.

    ``u`` is the distance from the east edge (0) to the west edge (1), ``v`` from north (0) to
    south (1). The trunk starts at the terminus (``TERMINUS_U``) and ends 80 % of the way west.
    """
    u = np.linspace(TERMINUS_U, 0.80, n)
    v = 0.50 + 0.06 * np.sin(2 * np.pi * (u - TERMINUS_U) / 0.45) - 0.04 * (u - TERMINUS_U)
    lines = {"trunk": np.stack([u, v], 1)}
    for name, (u0, dv) in {"north": (0.48, -1.0), "south": (0.58, 1.0)}.items():
        j = int(np.argmin(np.abs(u - u0)))
        t = np.linspace(0, 1, n // 2)
        lines[name] = np.stack([u[j] + 0.30 * t, v[j] + dv * 0.28 * t**0.8], 1)
    return lines


def _distance_to_lines(uu: np.ndarray, vv: np.ndarray, lines: list[np.ndarray], aspect: float):
    """Distance (in units of the domain height) from each pixel to the nearest polyline."""
    best = np.full(uu.shape, np.inf)
    for line in lines:
        for (u0, v0), (u1, v1) in zip(line[:-1], line[1:], strict=True):
            du, dv = (u1 - u0) * aspect, v1 - v0
            pu, pv = (uu - u0) * aspect, vv - v0
            t = np.clip((pu * du + pv * dv) / (du * du + dv * dv), 0, 1)
            best = np.minimum(best, np.hypot(pu - t * du, pv - t * dv))
    return best


def make_terrain(shape: tuple[int, int], res: float, rng: np.random.Generator) -> Terrain:
    """Build the DEM, land and ice masks, the trunk and the surface depressions."""
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    u = (nx - 1 - xx) / max(nx - 1, 1)
    v = yy / max(ny - 1, 1)
    aspect = nx / ny  # u-distances in units of the domain height
    phase = rng.uniform(0, 2 * np.pi, 3)
    margin = (
        MARGIN_U
        + 0.05 * np.sin(2 * np.pi * 1.3 * v + phase[0])
        + 0.02 * np.sin(2 * np.pi * 4.1 * v + phase[1])
    )
    coast = COAST_U + 0.03 * np.sin(2 * np.pi * 2.2 * v + phase[2])
    lines = trunk_line()
    d_trunk = _distance_to_lines(u, v, [lines["trunk"]], aspect)
    d_trib = _distance_to_lines(u, v, [lines["north"], lines["south"]], aspect)
    # Ice sheet: Vialov-like profile in physical distance from the margin (it reaches the divide
    # side's ~3400 m 120 km inland, so only the release-sized grid holds the full range).
    inland_km = np.clip(u - margin, 0, None) * (nx - 1) * res / 1000.0
    ice_surface = 200.0 + (TOP_M - 200.0) * np.clip(inland_km / DIVIDE_KM, 0, 1) ** 0.5
    # The trunk: a trough cut into the surface, deepest near the terminus, and ice that carries
    # on through the ice-free belt down to the fjord head.
    width = 0.035
    along = np.clip((u - TERMINUS_U) / 0.5, 0, 1)
    trough = 450.0 * np.exp(-((d_trunk / width) ** 2)) + 250.0 * np.exp(-((d_trib / 0.02) ** 2))
    trough *= 1 - 0.7 * along
    channel = ((d_trunk < width) & (u >= TERMINUS_U)) | ((d_trib < 0.02) & (u >= margin))
    ice_surface = np.where(
        channel & (u < margin), 150.0 + 900.0 * (u - TERMINUS_U) / 0.2, ice_surface
    )
    ice_surface = ice_surface - trough * (u >= margin)
    # Nunataks: rock peaks rising through the ice 5–60 % of the way inland.
    peaks = np.zeros(shape)
    for _ in range(6):
        pu, pv = rng.uniform(0.05, 0.45) * (1 - MARGIN_U) + MARGIN_U, rng.uniform(0.1, 0.9)
        r = rng.uniform(0.015, 0.03)
        peaks += rng.uniform(350, 700) * np.exp(-(((u - pu) * aspect) ** 2 + (v - pv) ** 2) / r**2)
    peaks *= 1 - channel
    nunatak = (peaks > 200.0) & (u >= margin)
    # Ice-free coastal mountains between coast and margin.
    rough = relief(rng, shape, (ny / 40, ny / 15, ny / 6))
    rock = np.clip(200 + 650 * (u - coast) / (MARGIN_U - COAST_U), 0, None) + 600 * rough
    rock = ndimage.gaussian_filter(np.clip(rock, 20, None), 1.0)
    ice = (u >= margin) | channel
    ice &= ~nunatak
    dem = np.where(ice, ice_surface + 0.3 * peaks, np.maximum(rock, ice_surface * (u >= margin)))
    dem = np.where(nunatak, ice_surface + peaks, dem)
    # Small-scale ice-surface undulations (fixed in pixels: 100 m–2 km) → closed depressions.
    bumps = 18.0 * relief(rng, shape, (3.0, 8.0))
    dem = np.where(ice, dem + bumps, dem)
    head = lines["trunk"][0]
    t = np.linspace(0, 1, 32)[:, None]
    fjord_line = head + t * (np.array([-0.02, 0.18]) - [head[0], 0]) + [0, 0.05] * np.sin(3 * t)
    d_fjord = _distance_to_lines(u, v, [fjord_line], aspect)
    fjord = d_fjord < 0.03 + 0.03 * np.clip((TERMINUS_U - u) / TERMINUS_U, 0, 1)
    ocean = (u < coast) | fjord
    dem = np.clip(dem, 5.0, None)
    dem[ocean] = 0.0
    low = ndimage.gaussian_filter(bumps, 6.0) - bumps  # m below the ~1 km surroundings
    depression = np.clip((low - 1.5) / 4.0, 0, 1) * ice * (dem < 1800)
    land = ~ocean
    ice &= land
    margin_km = ndimage.distance_transform_edt(ice) * res / 1000.0
    trunk = land & ice & ((d_trunk < width) | (d_trib < 0.02)) & (u >= TERMINUS_U)
    return Terrain(
        dem=dem.astype(np.float32),
        land=land,
        ice=ice,
        trunk=trunk,
        margin_km=margin_km.astype(np.float32),
        depression=depression.astype(np.float32),
    )


def insolation_normals(dem: np.ndarray, res: float) -> np.ndarray:
    """Unit surface normals ``(3, y, x)`` (east, north, up) of the DEM."""
    dzdy, dzdx = np.gradient(dem.astype(float), res)
    # Rows run southwards (y decreases with the row index), so north = -row direction.
    normal = np.stack([-dzdx, dzdy, np.ones_like(dzdx)])
    return normal / np.linalg.norm(normal, axis=0)
