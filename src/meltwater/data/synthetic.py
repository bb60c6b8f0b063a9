"""The synthetic Helheim (generator 3.0), written in the real release's GeoTIFF layout.

A small physical model, not noise; docs/demo.md describes each mechanism and the test showing it:

* **Terrain** (`synthetic_terrain`): ice sheet to ~3400 m, glacier trunk with tributaries,
  nunataks, fjord, coast and ice-free coastal mountains, at the release's aspect (1633 : 2863).
* **Truth (100 m)** (`synthetic_melt`): energy balance with a seasonal temperature cycle and
  lapse rate, slope/aspect insolation, a bare-ice zone below a rising snow line, slush/lakes in
  surface depressions, refreezing, seasonal snow on rock and episodic foehn events.
* **MAR (~6 km)**: the same physics on its own grid (block-mean terrain, no lakes) with biases
  that vary in space and season: a warm boundary layer over its coarse margin cells (melt line
  too far inland), an albedo scheme that exposes bare ice ~500 m too high in June (overmelt
  higher up), a cold September (undermelt) and a third of the foehn warming.
* **PMW (~6 km)**: brightness temperature at the pass from the wet fraction after some
  overnight refreeze and from buried water; saturates at a few per cent wet area; winter mean.
* **SAR**: the truth on the release's acquisition dates (the shipped data_v1_4 lists) with
  swath gaps, layover/shadow of slopes facing / turned away from the sensor, speckle, ocean NaN.
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
from tqdm.auto import tqdm

from meltwater.atomic import atomic_path
from meltwater.data.geotiff import Grid, write_raster
from meltwater.data.splits import release_split, temporal_split, write_split
from meltwater.data.synthetic_melt import (
    Forcing,
    foehn_events,
    melt_step,
    snowline,
    sun_vector,
    temperature,
    transmissivity,
    wet_fraction,
)
from meltwater.data.synthetic_sensors import block_mean, emission, observe_sar, wa1
from meltwater.data.synthetic_terrain import Terrain, insolation_normals, make_terrain, relief
from meltwater.data.timeaxis import season_dates
from meltwater.errors import InvalidArgumentError, UnknownNameError

__all__ = [
    "GENERATOR_VERSION",
    "DemoConfig",
    "config_of",
    "demo_split",
    "demo_terrain",
    "sar_dates",
    "simulate",
    "write_demo",
]

GENERATOR_VERSION = "3.0"
# Albers equal-area centred on south-east Greenland; the domain's east edge is near Helheim.
DEMO_CRS = CRS.from_proj4(
    "+proj=aea +lat_0=66 +lon_0=-38 +lat_1=60 +lat_2=75 +x_0=0 +y_0=0 "
    "+datum=WGS84 +units=m +no_defs"
)
LAYOUT = "raw/Helheim_data/reprojected_100m"
FULL_SHAPE = (1633, 2863)  # the release's grid (y, x)
SEASONS = tuple(range(2017, 2024))  # the release's seasons
TEMPORAL_DIR = "temporal"  # the temporal hold-out's lists, under the demo's splits/


@dataclass(frozen=True)
class DemoConfig:
    """Size and physics knobs of the demo. `preset` gives the named sizes."""

    years: tuple[int, ...] = SEASONS
    shape: tuple[int, int] = (208, 364)
    res: float = 100.0
    seed: int = 0
    mar_km: float = 6.0
    pmw_km: float = 6.25
    lapse_rate: float = 6.5e-3
    mar_margin_warm: float = 2.5  # K over MAR's margin cells, decaying inland over ~8 km
    mar_snowline_june: float = 500.0  # m: MAR's bare ice reaches this much higher in June
    mar_bias_september: float = -3.0  # K
    mar_foehn_share: float = 0.3  # share of the foehn warming MAR resolves

    @classmethod
    def preset(cls, size: str, seed: int = 0, seasons: int | None = None) -> DemoConfig:
        """``tiny`` (tests: 2 seasons, 64×96 px), ``small``, ``default`` (the README's demo: 7
        seasons, 208 × 364 px at 100 m, the release's aspect) or ``full`` (the release's
        1633 × 2863 grid, one season: for benchmarks only).

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
            "small": dict(years=(2017, 2018, 2019), shape=(112, 196)),
            "default": dict(years=SEASONS, shape=(208, 364)),
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


def _season_bump(doy: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-(((doy - centre) / width) ** 2))


def sar_dates(years: tuple[int, ...]) -> pd.DatetimeIndex:
    """The release's SAR acquisition dates (data_v1_4 train ∪ val ∪ test) in ``years``."""
    split = release_split()
    scenes = split["train"].union(split["val"]).union(split["test"])
    return scenes[scenes.year.isin(list(years))]


def demo_split(years: tuple[int, ...]) -> dict[str, pd.DatetimeIndex]:
    """The release's data_v1_4 split restricted to ``years`` (the demo's default split)."""
    return {k: v[v.year.isin(list(years))] for k, v in release_split().items()}


def demo_terrain(cfg: DemoConfig) -> Terrain:
    """The terrain of a demo config (the same arrays `simulate` uses; no weather run)."""
    return make_terrain(cfg.shape, cfg.res, _rngs(cfg.seed, 6)[0])


def config_of(metadata: str | dict) -> DemoConfig | None:
    """The `DemoConfig` recorded in a demo's ``demo.json`` (text or parsed), or None when it was
    written by another generator version."""
    meta = json.loads(metadata) if isinstance(metadata, str) else metadata
    if meta.get("generator_version") != GENERATOR_VERSION:
        return None
    cfg = dict(meta["config"])
    cfg["years"], cfg["shape"] = tuple(cfg["years"]), tuple(cfg["shape"])
    return DemoConfig(**cfg)


def _coarse(cfg: DemoConfig, terrain, normal: np.ndarray) -> dict[str, np.ndarray]:
    """MAR's own terrain on its ~6 km grid: a cell is ice where ≥ 30 % of its land is, with the
    mean elevation and slope of its ice (else of its land)."""
    block = max(2, round(cfg.mar_km * 1000 / cfg.res))
    land = terrain.land
    ice = block_mean(terrain.ice.astype(float), block, land) >= 0.3
    part = np.where(ice, terrain.ice, land)
    n = np.stack([block_mean(c, block, part) for c in normal])
    return {
        "dem": block_mean(terrain.dem, block, part),
        "ice": ice & land,
        "depression": np.zeros(cfg.shape),  # MAR resolves no lakes
        "normal": n / np.linalg.norm(n, axis=0),
        "margin_km": block_mean(terrain.margin_km, block, land),
    }


def simulate(cfg: DemoConfig) -> dict:
    """Run the demo physics; return arrays and metadata (no files written).

    Returns:
        dict with ``dem``, ``land``, ``ice``, ``trunk`` (y, x); ``days``; ``truth``, ``mar``,
        ``pmw`` (day, y, x); ``sar`` (scene, y, x) with ``sar_days``; ``winter``
        {year: (y, x)}; ``foehn`` (K per day); ``grid``.
    """
    _, r_weather, r_hetero, r_sar, r_pmw, r_foehn = _rngs(cfg.seed, 6)
    terrain = demo_terrain(cfg)
    normal = insolation_normals(terrain.dem, cfg.res)
    land, dem = terrain.land, terrain.dem.astype(float)
    fine = {"dem": dem, "ice": terrain.ice, "depression": terrain.depression, "normal": normal}
    coarse = _coarse(cfg, terrain, normal)
    hetero = 1.0 + 0.6 * relief(r_hetero, cfg.shape, (2.0, 6.0))
    days = season_dates(cfg.years)
    doy = days.day_of_year.to_numpy()
    t0 = temperature(r_weather, days)
    line = snowline(r_weather, days)
    tau = transmissivity(r_weather, days)
    snowfall = (doy > 250) & (r_weather.uniform(size=len(days)) < 0.25)
    foehn = foehn_events(r_foehn, days)
    # Foehn: down-slope winds warm the margin and the ice-free belt most, decaying inland.
    reach = np.where(terrain.ice, np.exp(-terrain.margin_km / 15.0), 1.0)
    reach_mar = np.where(coarse["ice"], np.exp(-coarse["margin_km"] / 15.0), 1.0)
    margin_warm = cfg.mar_margin_warm * np.exp(-coarse["margin_km"] / 8.0) * coarse["ice"]
    june, september = _season_bump(doy, 170, 20), _season_bump(doy, 258, 16)
    pmw_px = max(2, round(cfg.pmw_km * 1000 / cfg.res))
    tb_dry = np.where(land, 232.0 - 0.012 * dem + 6.0 * relief(r_pmw, cfg.shape, (pmw_px,)), 165)
    tb_dry = block_mean(tb_dry, pmw_px)
    ny, nx = cfg.shape
    truth = np.zeros((len(days), ny, nx), np.float32)
    mar = np.zeros_like(truth)
    pmw = np.zeros_like(truth)
    buried = np.zeros(cfg.shape)
    state = mar_state = {}
    rock_snow = np.where(land, 250.0 + 0.2 * dem, 0.0)
    for i in tqdm(range(len(days)), desc="simulate melt", leave=False):
        new_year = i == 0 or days[i].year != days[i - 1].year
        if new_year:
            zero = np.zeros(cfg.shape)
            state = {"water": zero, "snow": rock_snow, "wet": zero}
            mar_state = dict(state)
        sun, sw = sun_vector(int(doy[i]))
        sw *= tau[i]
        air = t0[i] - cfg.lapse_rate * dem + foehn[i] * reach
        state = melt_step(state, Forcing(air, sw, sun, line[i], bool(snowfall[i])), fine)
        wet = wet_fraction(state["water"], hetero) * land
        state["wet"] = wet
        air_mar = (
            t0[i]
            - cfg.lapse_rate * coarse["dem"]
            + cfg.mar_foehn_share * foehn[i] * reach_mar
            + margin_warm
            + cfg.mar_bias_september * september[i]
        )
        line_mar = line[i] + cfg.mar_snowline_june * june[i]
        f_mar = Forcing(air_mar, sw, sun, line_mar, bool(snowfall[i]))
        mar_state = melt_step(mar_state, f_mar, coarse)
        truth[i] = wet
        mar[i] = np.where(land, wa1(mar_state["water"]), 0.0)
        refreeze = np.clip(0.5 - 0.1 * air, 0.0, 0.9)
        buried = np.maximum(wet * (1 - refreeze), 0.0 if new_year else 0.9 * buried)
        pmw[i] = np.where(
            land, tb_dry + emission(block_mean(buried, pmw_px)) * (272.0 - tb_dry), 165.0
        ) + r_pmw.normal(0, 1.5, cfg.shape)
    for i in range(len(days)):  # the radiometer's footprint (in place: no float64 copy)
        pmw[i] = block_mean(pmw[i], pmw_px)
    mar_block = max(2, round(cfg.mar_km * 1000 / cfg.res))
    for i in range(len(days)):  # MAR's output is one value per cell
        mar[i] = np.where(land, block_mean(mar[i], mar_block, land), 0.0)
    scene_days = sar_dates(cfg.years).intersection(days)  # all of them: April–September
    index = days.get_indexer(scene_days)
    sar = (
        np.stack([observe_sar(truth[i], land, normal, days[i], r_sar) for i in index])
        if len(index)
        else np.zeros((0, ny, nx), np.float32)
    )
    winter = {y: (tb_dry + r_pmw.normal(0, 0.4, cfg.shape)).astype(np.float32) for y in cfg.years}
    return dict(
        grid=cfg.grid,
        dem=terrain.dem,
        land=land,
        ice=terrain.ice,
        trunk=terrain.trunk,
        days=days,
        truth=truth,
        mar=mar,
        pmw=pmw,
        sar=sar,
        sar_days=scene_days,
        winter=winter,
        foehn=foehn,
    )


DAILY_DIRS = ("PMWv1.0", "MAR/MARv3.14_nearest/WA1", "SAR/S1Xv1.2/HH_PercentMelt")
WINTER_DIR = "interim/Helheim_data/reprojected_100m/PMWv1.0_winter_means"


def _remove_generated(root: Path) -> None:
    """Remove the day files and lists an earlier demo wrote (another config may have other
    dates: a stale scene left behind would be read as part of the new demo)."""
    folders = [root / LAYOUT / d for d in DAILY_DIRS] + [root / WINTER_DIR]
    for folder in folders:
        for path in folder.glob("*.tif"):
            path.unlink()
    for folder in (root / "splits", root / "splits" / TEMPORAL_DIR):
        for path in folder.glob("*.csv"):
            path.unlink()


def write_demo(root: Path | str, cfg: DemoConfig | None = None, *, overwrite: bool = False) -> Path:
    """Simulate and write the demo under ``root`` in the real layout, plus its split lists
    (``splits/``: the release's data_v1_4 split in the demo's years; ``splits/temporal/``: the
    temporal hold-out, train ≤ 2022, test 2023).

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
    meta_path.unlink(missing_ok=True)  # until the new demo is complete
    _remove_generated(root)
    sim = simulate(cfg)
    grid, base = sim["grid"], root / LAYOUT
    write_raster(base / "GrIMP_DEM/dem_100m.tif", sim["dem"], grid, nodata=None)
    write_raster(
        base / "GIMP_Mask/landMask_100m.tif", np.where(sim["land"], 1.0, -1.0), grid, nodata=None
    )
    for year, tb in sim["winter"].items():
        write_raster(
            root / WINTER_DIR / f"{year}_jan_feb.tif",
            tb,
            grid,
        )
    days = sim["days"]
    for i, day in enumerate(tqdm(days, desc="write PMW/MAR days")):
        name = f"{day:%Y_%m_%d}.tif"
        write_raster(base / DAILY_DIRS[0] / name, sim["pmw"][i], grid)
        write_raster(base / DAILY_DIRS[1] / name, sim["mar"][i], grid)
    for day, scene in zip(tqdm(sim["sar_days"], desc="write SAR scenes"), sim["sar"], strict=True):
        write_raster(base / DAILY_DIRS[2] / f"{day:%Y_%m_%d}.tif", scene, grid)
    split = demo_split(cfg.years)
    write_split(root / "splits", {**split, "deploy": days})
    write_split(root / "splits" / TEMPORAL_DIR, {**temporal_split(split), "deploy": days})
    with atomic_path(meta_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    return root
