"""A Helheim-like synthetic demo, written in the real release's GeoTIFF layout.

The generator is a small physical model, not noise:

* **Terrain**: an ice sheet rising from a fjord coast to ~3400 m (a Vialov-like profile), a
  winding fjord with an outlet-glacier trough, and coastal mountains (multi-scale relief).
* **Weather**: a sea-level air temperature with a seasonal cycle, year offsets and AR(1)
  synoptic anomalies; a lapse rate of 6.5 K/km.
* **Melt (truth, 100 m)**: degree-day melt plus a radiation term (slope/aspect insolation and
  an albedo that darkens as the snowline rises), liquid water that refreezes on cold days, and a
  sub-pixel heterogeneity that turns liquid water into a mostly-0-or-1 wet fraction.
* **SAR**: the truth on Sentinel-1-like revisit days only (two tracks, 6-day repeat until 2021,
  12-day after the loss of S1B), with speckle, partial swaths, layover/shadow gaps and ocean NaN.
* **MAR**: the same weather run through the same melt physics on a coarse (~6 km) grid with a
  seasonal temperature bias (too warm in June, too cold in September), upsampled by nearest
  neighbour — it never sees the 100 m truth.
* **PMW**: brightness temperature at ~6 km responding to the wet fraction at the satellite pass
  (after some overnight refreeze) and to buried water that lingers after the surface refreezes;
  emission saturates at a few per cent wet area, so a coarse cell with a little melt reads as
  melting. A dry-snow reference also gives the Jan–Feb mean.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine
from rasterio.crs import CRS
from scipy import ndimage
from tqdm.auto import tqdm

from meltwater.atomic import atomic_path
from meltwater.data.geotiff import Grid, write_raster
from meltwater.data.timeaxis import season_dates
from meltwater.errors import InvalidArgumentError, UnknownNameError

__all__ = ["GENERATOR_VERSION", "DemoConfig", "demo_split", "simulate", "write_demo"]

GENERATOR_VERSION = "2.0"
# Albers equal-area centred on south-east Greenland; the domain's east edge is near Helheim.
DEMO_CRS = CRS.from_proj4(
    "+proj=aea +lat_0=66 +lon_0=-38 +lat_1=60 +lat_2=75 +x_0=0 +y_0=0 "
    "+datum=WGS84 +units=m +no_defs"
)
LAYOUT = "raw/Helheim_data/reprojected_100m"
FULL_SHAPE = (1633, 2863)  # the release's grid (y, x)
SEASONS = tuple(range(2017, 2024))  # the release's seasons


@dataclass(frozen=True)
class DemoConfig:
    """Size and physics knobs of the demo. `preset` gives the named sizes."""

    years: tuple[int, ...] = (2017, 2018, 2019)
    shape: tuple[int, int] = (384, 640)
    res: float = 100.0
    seed: int = 0
    mar_km: float = 6.0
    pmw_km: float = 6.25
    lapse_rate: float = 6.5e-3
    mar_bias_june: float = 4.0
    mar_bias_september: float = -3.0

    @classmethod
    def preset(cls, size: str, seed: int = 0, seasons: int | None = None) -> DemoConfig:
        """``tiny`` (tests: 2 years, 64×96 px), ``small``, ``default`` (the README's demo) or
        ``full`` (the release's 1633 × 2863 grid, one season: for benchmarks only).

        Args:
            size: preset name.
            seed: random seed.
            seasons: number of seasons from 2017 (1–7; default: the preset's).

        Raises:
            UnknownNameError: unknown ``size``.
            InvalidArgumentError: ``seasons`` outside 1–7.
        """
        presets: dict[str, dict[str, Any]] = {
            "tiny": dict(years=(2017, 2018), shape=(64, 96)),
            "small": dict(years=(2017, 2018, 2019), shape=(192, 320)),
            "default": dict(years=(2017, 2018, 2019), shape=(384, 640)),
            "full": dict(years=(2017,), shape=FULL_SHAPE),
        }
        if size not in presets:
            raise UnknownNameError(f"unknown demo size {size!r}; valid: {sorted(presets)}")
        cfg = replace(cls(seed=seed), **presets[size])
        if seasons is not None:
            if not 1 <= seasons <= len(SEASONS):
                raise InvalidArgumentError(
                    f"seasons: expected 1–{len(SEASONS)} (2017–2023), got {seasons}"
                )
            cfg = replace(cfg, years=SEASONS[:seasons])
        return cfg

    @property
    def grid(self) -> Grid:
        ny, nx = self.shape
        # The domain ends ~4 km east of Helheim's terminus area; north-up, 100 m cells.
        x0, y0 = 150_000.0 - nx * self.res, 45_000.0 + ny * self.res / 2
        return Grid(DEMO_CRS, Affine(self.res, 0, x0, 0, -self.res, y0), (ny, nx))


def _rngs(seed: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def _relief(
    rng: np.random.Generator, shape: tuple[int, int], scales_px: tuple[float, ...]
) -> np.ndarray:
    """Multi-scale smooth random relief in roughly [-1, 1]."""
    out = np.zeros(shape)
    for i, s in enumerate(scales_px):
        f = ndimage.gaussian_filter(rng.standard_normal(shape), s, mode="reflect")
        out += f / (f.std() + 1e-12) / (i + 1)
    return out / np.abs(out).max()


def _terrain(cfg: DemoConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """DEM (m) and land mask (bool) of an ice-sheet margin cut by a fjord and glacier trough."""
    ny, nx = cfg.shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    u = (nx - 1 - xx) / (nx - 1)  # 0 at the east coast, 1 at the west (inland) edge
    v = yy / (ny - 1)
    wiggle = 0.08 * np.sin(2 * np.pi * (1.5 * u + rng.uniform())) + 0.04 * np.sin(2 * np.pi * 4 * u)
    dist = np.abs(v - (0.5 + wiggle))  # distance from the fjord/trough centre line
    coast = 0.16 + 0.04 * _relief(rng, (ny, 1), (ny / 8,))  # coast line position in u
    fjord_len = 0.35
    fjord = (u < fjord_len) & (dist < 0.06 * (1 - u / fjord_len) + 0.025)
    ocean = (u < coast) | fjord
    profile = 3400.0 * np.clip((u - coast) / (1 - coast), 0, 1) ** 1.3
    trough = 700.0 * np.exp(-((dist / 0.08) ** 2)) * np.exp(-u / 0.6)
    mountains = 450.0 * _relief(rng, cfg.shape, (ny / 30, ny / 12, ny / 5)) * np.exp(-u / 0.35)
    dem = np.clip(profile - trough + mountains, 0, None) + 5.0
    dem[ocean] = 0.0
    dem = ndimage.gaussian_filter(dem, 1.0)
    dem[ocean] = 0.0
    return dem.astype(np.float32), ~ocean


def _insolation(dem: np.ndarray, res: float) -> np.ndarray:
    """Relative clear-sky insolation of each slope for a southern sun 35° high (flat = 1)."""
    dzdy, dzdx = np.gradient(dem.astype(float), res)
    alt, az = np.deg2rad(35.0), np.deg2rad(180.0)
    sun = np.array([np.cos(alt) * np.sin(az), np.cos(alt) * np.cos(az), np.sin(alt)])
    # Rows run southwards (y decreases with the row index), so north = -row direction.
    normal = np.stack([-dzdx, dzdy, np.ones_like(dem)])
    normal /= np.linalg.norm(normal, axis=0)
    return np.clip(np.tensordot(sun, normal, axes=1) / sun[2], 0, None)


def _weather(cfg: DemoConfig, rng: np.random.Generator, days: pd.DatetimeIndex) -> np.ndarray:
    """Sea-level air temperature (°C) of each day: seasonal cycle + year offset + AR(1) anomaly."""
    doy = days.day_of_year.to_numpy()
    year_offset = {y: rng.normal(0, 0.8) for y in sorted(set(days.year))}
    t = 1.0 + 7.5 * np.cos(2 * np.pi * (doy - 200) / 365.25)
    t += np.array([year_offset[y] for y in days.year])
    anomaly = np.zeros(len(days))
    for i in range(1, len(days)):
        anomaly[i] = 0.7 * anomaly[i - 1] + rng.normal(0, 1.6)
    return t + anomaly


def _mar_bias(doy: np.ndarray, cfg: DemoConfig) -> np.ndarray:
    """MAR's temperature bias (K): warm in June, cold in September."""
    june = cfg.mar_bias_june * np.exp(-(((doy - 167) / 18.0) ** 2))
    september = cfg.mar_bias_september * np.exp(-(((doy - 258) / 16.0) ** 2))
    return june + september


def _melt_step(water, temp, dem, insol, snowline, cfg: DemoConfig):
    """One day of liquid water (mm w.e.): degree-day + radiation melt, then refreeze."""
    air = temp - cfg.lapse_rate * dem
    albedo = np.where(dem < snowline, 0.45, 0.82)
    drive = air + 9.0 * (1 - albedo) * insol - 7.0
    melt = 3.0 * np.clip(drive, 0, None)
    retention = np.clip(0.6 + 0.08 * air, 0.0, 0.9)
    return water * retention + melt


def _wet_fraction(water: np.ndarray, hetero: np.ndarray) -> np.ndarray:
    """Liquid water → fraction of a pixel's area that is wet (mostly 0 or 1)."""
    return 1.0 / (1.0 + np.exp(-(water - 4.0 * hetero) / 0.6))


def _wa1(water: np.ndarray) -> np.ndarray:
    """MAR's WA1 (kg m-2 scaled as in MARv3.14) from liquid water: mean ~0.006 in summer."""
    return 0.035 * (1 - np.exp(-water / 60.0)) * _wet_fraction(water, np.ones_like(water))


def _emission(wet: np.ndarray) -> np.ndarray:
    """Share of the dry→wet brightness-temperature jump: saturates at a few % wet area."""
    return 1 - np.exp(-wet / 0.1)


def _block_mean(a: np.ndarray, block: int, weights: np.ndarray | None = None) -> np.ndarray:
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


def _revisit(days: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Sentinel-1-like acquisitions: two tracks, 6-day repeat (12 from 2022), ~8 % missed."""
    n = (days - pd.Timestamp("2016-01-01")).days.to_numpy()
    repeat = np.where(days.year >= 2022, 12, 6)
    hit = ((n % repeat) == 0) | (((n - 2) % repeat) == 0)
    return hit & (rng.uniform(size=len(days)) > 0.08)


def simulate(cfg: DemoConfig) -> dict:
    """Run the demo physics; return arrays and metadata (no files written).

    Returns:
        dict with ``dem``, ``land`` (y, x); ``days``; ``truth``, ``mar``, ``pmw`` (day, y, x);
        ``sar`` (scene, y, x) with ``sar_days``; ``winter`` {year: (y, x)}; ``grid``.
    """
    r_terrain, r_weather, r_hetero, r_sar, r_pmw, r_revisit = _rngs(cfg.seed, 6)
    dem, land = _terrain(cfg, r_terrain)
    insol = _insolation(dem, cfg.res)
    hetero = 1.0 + 0.6 * _relief(r_hetero, cfg.shape, (2.0, 6.0))
    days = season_dates(cfg.years)
    temp = _weather(cfg, r_weather, days)
    doy = days.day_of_year.to_numpy()
    snowline = 400.0 + 1300.0 * np.clip((doy - 120) / 100.0, 0, 1)  # m, rises through the summer
    mar_px = max(2, round(cfg.mar_km * 1000 / cfg.res))
    pmw_px = max(2, round(cfg.pmw_km * 1000 / cfg.res))
    dem_mar, insol_mar = _block_mean(dem, mar_px, land), _block_mean(insol, mar_px, land)
    tb_dry = np.where(land, 232.0 - 0.012 * dem + 6.0 * _relief(r_pmw, cfg.shape, (pmw_px,)), 165.0)
    tb_dry = _block_mean(tb_dry, pmw_px)
    ny, nx = cfg.shape
    truth = np.zeros((len(days), ny, nx), np.float32)
    mar = np.zeros_like(truth)
    pmw = np.zeros_like(truth)
    bias = _mar_bias(doy, cfg)
    water = np.zeros(cfg.shape)
    water_mar = np.zeros(cfg.shape)
    buried = np.zeros(cfg.shape)
    for i in tqdm(range(len(days)), desc="simulate melt", leave=False):
        new_year = i == 0 or days[i].year != days[i - 1].year
        if new_year:
            water[:], water_mar[:] = 0.0, 0.0
        water = _melt_step(water, temp[i], dem, insol, snowline[i], cfg)
        water_mar = _melt_step(water_mar, temp[i] + bias[i], dem_mar, insol_mar, snowline[i], cfg)
        wet = _wet_fraction(water, hetero) * land
        truth[i] = wet
        mar[i] = np.where(land, _wa1(water_mar), 0.0)
        refreeze = np.clip(0.5 - 0.1 * (temp[i] - cfg.lapse_rate * dem), 0.0, 0.9)
        surface = wet * (1 - refreeze)
        buried = np.maximum(surface, 0.0 if new_year else 0.9 * buried)
        wet_pass = _block_mean(buried, pmw_px)
        pmw[i] = np.where(
            land, tb_dry + _emission(wet_pass) * (272.0 - tb_dry), 165.0
        ) + r_pmw.normal(0, 1.5, cfg.shape)
    pmw = _block_mean_stack(pmw, pmw_px)
    scene = _revisit(days, r_revisit)
    sar = np.stack([_observe_sar(truth[i], land, dem, cfg, r_sar) for i in np.flatnonzero(scene)])
    winter = {y: (tb_dry + r_pmw.normal(0, 0.4, cfg.shape)).astype(np.float32) for y in cfg.years}
    return dict(
        grid=cfg.grid,
        dem=dem,
        land=land,
        days=days,
        truth=truth,
        mar=mar,
        pmw=pmw,
        sar=sar,
        sar_days=days[scene],
        winter=winter,
    )


def _block_mean_stack(a: np.ndarray, block: int) -> np.ndarray:
    """`_block_mean` of each day of a float32 stack, in place (no float64 copy of the stack:
    the full grid's season would need ~13 GB more)."""
    for i in range(len(a)):
        a[i] = _block_mean(a[i], block)
    return a


def _observe_sar(
    truth: np.ndarray, land: np.ndarray, dem: np.ndarray, cfg: DemoConfig, rng
) -> np.ndarray:
    """One Sentinel-1 scene: truth + speckle, partial swath, layover/shadow and ocean → NaN."""
    speckle = ndimage.gaussian_filter(rng.normal(0, 0.12, truth.shape), 0.7)
    obs = np.clip(truth + speckle * (0.5 + truth * (1 - truth) * 2), 0, 1)
    dzdy, dzdx = np.gradient(dem.astype(float), cfg.res)
    steep = np.hypot(dzdx, dzdy) > np.tan(np.deg2rad(20))
    obs[~land | steep] = np.nan
    if rng.uniform() < 0.55:
        ny, nx = truth.shape
        yy, xx = np.mgrid[0:ny, 0:nx]
        angle = rng.uniform(0, 2 * np.pi)
        proj = xx * np.cos(angle) / nx + yy * np.sin(angle) / ny
        cut = np.quantile(proj, rng.uniform(0.4, 0.8))
        obs[proj > cut] = np.nan
    return obs.astype(np.float32)


def demo_split(sar_days: pd.DatetimeIndex, seed: int) -> dict[str, pd.DatetimeIndex]:
    """Paper rule: first year all train; later years 2 test + 2 val per month, rest train."""
    rng = np.random.default_rng(seed)
    first = sar_days.year.min()
    test, val = [], []
    for (year, _month), group in pd.Series(sar_days, index=sar_days).groupby(
        [sar_days.year, sar_days.month]
    ):
        if year == first or len(group) < 5:
            continue
        picked = rng.permutation(group.to_numpy())[:4]
        test += list(picked[:2])
        val += list(picked[2:4])
    test_i, val_i = pd.DatetimeIndex(sorted(test)), pd.DatetimeIndex(sorted(val))
    train = sar_days.difference(test_i).difference(val_i)
    return {"train": train, "val": val_i, "test": test_i}


def _write_list(path: Path, days: pd.DatetimeIndex) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("".join(f"{d:%Y_%m_%d}.tif\n" for d in days))


def write_demo(root: Path | str, cfg: DemoConfig | None = None, *, overwrite: bool = False) -> Path:
    """Simulate and write the demo under ``root`` in the real layout, plus its split lists.

    Idempotent: when ``root/demo.json`` records the same config and generator version, nothing
    is rewritten unless ``overwrite``. The metadata file is written last, so an interrupted run
    is detected and redone.
    """
    cfg = cfg or DemoConfig()
    root = Path(root)
    meta_path = root / "demo.json"
    meta = {"generator_version": GENERATOR_VERSION, "config": asdict(cfg)}
    if (
        meta_path.is_file()
        and not overwrite
        and json.loads(meta_path.read_text()) == json.loads(json.dumps(meta))
    ):
        return root
    sim = simulate(cfg)
    grid, base = sim["grid"], root / LAYOUT
    write_raster(base / "GrIMP_DEM/dem_100m.tif", sim["dem"], grid, nodata=None)
    write_raster(
        base / "GIMP_Mask/landMask_100m.tif", np.where(sim["land"], 1.0, -1.0), grid, nodata=None
    )
    for year, tb in sim["winter"].items():
        write_raster(
            root / f"interim/Helheim_data/reprojected_100m/PMWv1.0_winter_means/{year}_jan_feb.tif",
            tb,
            grid,
        )
    days = sim["days"]
    for i, day in enumerate(tqdm(days, desc="write PMW/MAR days")):
        name = f"{day:%Y_%m_%d}.tif"
        write_raster(base / "PMWv1.0" / name, sim["pmw"][i], grid)
        write_raster(base / "MAR/MARv3.14_nearest/WA1" / name, sim["mar"][i], grid)
    for day, scene in zip(tqdm(sim["sar_days"], desc="write SAR scenes"), sim["sar"], strict=True):
        write_raster(base / f"SAR/S1Xv1.2/HH_PercentMelt/{day:%Y_%m_%d}.tif", scene, grid)
    split = demo_split(sim["sar_days"], cfg.seed)
    for name, d in {**split, "deploy": days}.items():
        _write_list(root / "splits" / f"{name}.csv", d)
    with atomic_path(meta_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    return root
