"""Weather and the surface energy balance of the synthetic Helheim (truth at 100 m, MAR at ~6 km).

One daily step (`melt_step`) turns air temperature and sunshine into meltwater:

* **Air temperature**: sea-level temperature with a seasonal cycle, year offsets and AR(1)
  synoptic anomalies, minus a lapse rate (6.5 K/km), plus **foehn** events: warm, dry
  down-slope winds of 1–3 days, strongest at the ice margin and decaying inland.
* **Shortwave**: irradiance from the noon sun of the day at 66° N on each slope (slope/aspect
  insolation, plus a diffuse share) times a day's cloud transmissivity (0.3–0.75, persistent).
* **Albedo**: fresh/old snow (0.80) above the snow line; a low-albedo **bare-ice** zone (0.45,
  dark ice 0.38 in the lowest 400 m) below it; the snow line rises through the summer and falls
  with September snowfall; **slush and lakes** (0.25) in surface depressions once wet.
* **Energy balance**: net shortwave + a turbulent/longwave term linear in air temperature;
  melt (mm w.e.) is the positive part.
* **Liquid water**: melt is added to the stored water; **refreezing** removes a share that grows
  on cold days; depressions collect water from their surroundings and refreeze more slowly.
* **Seasonal snow on rock**: ice-free land (coastal mountains, nunataks) is wet only while its
  snow lasts; afterwards it is dry rock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "Forcing",
    "foehn_events",
    "melt_step",
    "snowline",
    "sun_vector",
    "temperature",
    "transmissivity",
    "wet_fraction",
]

LATITUDE = 66.0  # Helheim
MELT_MM_PER_WM2_DAY = 86400 / 334000  # mm w.e. melted per day by 1 W m-2


@dataclass(frozen=True)
class Forcing:
    """One day of the weather seen by one model (truth or MAR)."""

    air: np.ndarray  # air temperature, °C, (y, x)
    sw: float  # shortwave on a horizontal surface (clouds included), W m-2
    sun: np.ndarray  # unit vector (east, north, up) of the noon sun
    snowline: float  # m
    snowfall: bool  # fresh snow today (albedo reset above the dark-ice zone)


def temperature(rng: np.random.Generator, days: pd.DatetimeIndex) -> np.ndarray:
    """Sea-level air temperature (°C) of each day: seasonal cycle + year offset + AR(1)."""
    doy = days.day_of_year.to_numpy()
    offset = {y: rng.normal(0, 0.8) for y in sorted(set(days.year))}
    t = -1.0 + 7.0 * np.cos(2 * np.pi * (doy - 200) / 365.25)
    t += np.array([offset[y] for y in days.year])
    anomaly = np.zeros(len(days))
    for i in range(1, len(days)):
        anomaly[i] = 0.7 * anomaly[i - 1] + rng.normal(0, 1.5)
    return t + anomaly


def foehn_events(rng: np.random.Generator, days: pd.DatetimeIndex) -> np.ndarray:
    """Foehn warming (K at the margin) of each day: ~4 events a season, 1–3 days, 5–10 K."""
    warm = np.zeros(len(days))
    for year in sorted(set(days.year)):
        idx = np.flatnonzero(days.year == year)
        for _ in range(rng.poisson(4)):
            start, length = rng.integers(0, len(idx)), rng.integers(1, 4)
            warm[idx[start : start + length]] = rng.uniform(5, 10)
    return warm


def transmissivity(rng: np.random.Generator, days: pd.DatetimeIndex) -> np.ndarray:
    """Daily atmospheric transmissivity: clear (0.75) to overcast (0.3), persistent for days."""
    x = np.zeros(len(days))
    for i in range(1, len(days)):
        x[i] = 0.6 * x[i - 1] + rng.normal(0, 1.0)
    return 0.3 + 0.45 / (1 + np.exp(-x))


def snowline(rng: np.random.Generator, days: pd.DatetimeIndex) -> np.ndarray:
    """Snow-line elevation (m): rises from ~300 m in May to ~1600 m in August, falls in autumn."""
    doy = days.day_of_year.to_numpy().astype(float)
    top = {y: rng.normal(1600, 150) for y in sorted(set(days.year))}
    rise = np.clip((doy - 130) / 100, 0, 1) ** 1.3
    fall = np.clip((doy - 245) / 25, 0, 1)
    peak = np.array([top[y] for y in days.year])
    return 300 + (peak - 300) * rise * (1 - 0.8 * fall)


def sun_vector(doy: int) -> tuple[np.ndarray, float]:
    """Noon sun direction (east, north, up) at 66° N and the day's mean clear-sky shortwave."""
    decl = np.deg2rad(23.44) * np.sin(2 * np.pi * (doy - 81) / 365.0)
    alt = np.pi / 2 - np.deg2rad(LATITUDE) + decl
    sun = np.array([0.0, -np.cos(alt), np.sin(alt)])  # from the south
    sw = 1361.0 * np.sin(alt) * 0.42  # top of the atmosphere, daily-mean share of noon
    return sun, float(sw)


def albedo(dem, ice, depression, wet, f: Forcing) -> np.ndarray:
    """Surface albedo: snow above the snow line, bare (dark) ice below, slush/lakes when wet."""
    bare = ice & (dem < f.snowline)
    dark = bare & (dem < f.snowline - 400)
    a = np.where(bare, 0.45, 0.80)
    a = np.where(dark, 0.38, a)
    if f.snowfall:
        a = np.where(dark, a, 0.85)
    return np.where(ice & (depression * wet > 0.3), 0.25, a)


def melt_step(
    state: dict[str, np.ndarray], f: Forcing, terrain: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Advance one day: melt, storage, refreeze. ``state``: ``water`` (mm), ``snow`` (mm w.e. on
    rock), ``wet`` (yesterday's wet fraction). Returns the new state."""
    dem, ice, dep = terrain["dem"], terrain["ice"], terrain["depression"]
    slope_sun = np.clip(np.tensordot(f.sun, terrain["normal"], axes=1) / f.sun[2], 0, 3)
    sw = f.sw * (0.75 * slope_sun + 0.25)
    a = albedo(dem, ice, dep, state["wet"], f)
    energy = (1 - a) * sw + 10.0 * f.air - 45.0
    melt = np.clip(energy, 0, None) * MELT_MM_PER_WM2_DAY
    snow = np.where(ice, state["snow"], np.clip(state["snow"] - melt, 0, None))
    melt = np.where(ice | (state["snow"] > 0), melt, 0.0)
    refreeze = np.clip(0.45 - 0.06 * f.air, 0.05, 0.95) * (1 - 0.6 * dep)
    water = state["water"] * (1 - refreeze) + melt * (1 + 1.5 * dep)
    water = np.where(ice | (snow > 0), water, 0.0)
    return {"water": water, "snow": snow, "wet": state["wet"]}


def wet_fraction(water: np.ndarray, hetero: np.ndarray) -> np.ndarray:
    """Liquid water (mm) → fraction of a pixel's area that is wet (mostly 0 or 1)."""
    return 1.0 / (1.0 + np.exp(-(water - 4.0 * hetero) / 0.6))
