"""Regions of a cube's grid and their daily melt series and season metrics.

Predefined regions (`predefined_regions`): the land pixels of each 500 m elevation band (as
the results file's bands, `meltwater.evaluation.results.elevation_bands`), named
``elev-<lo>-<hi>``, and the coast, ``coast-<N>km``: land pixels within N km (default 5) of an
ocean pixel (Euclidean distance between pixel centres). On a demo cube (generator 3.0) the
``glacier-trunk`` is offered too: the trunk and tributaries of the generator's own geometry
(`glacier_trunk`, rebuilt from the config the cube records); the real release has no ice-velocity
or flowline layer here, so no trunk is guessed for it. A box drawn on a map is `box_mask` (pixel
centres inside ``x0, y0, x1, y1``).

`region_summary` reads a list of days once for many regions: each region's mean melt fraction
of every model and of MAR (`conservation.mar_melt`) and PMW (`conservation.pmw_melt`) over its
land pixels, SAR's over its valid pixels on SAR days, and per model the MAE, bias and accuracy
against SAR over the region's valid pixels, averaged over the SAR days where the region has any
(the same definitions as `meltwater.evaluation.metrics`, reduced per region by one matrix
product per map).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from meltwater.data.cube import day_map
from meltwater.errors import GridMismatchError, InvalidArgumentError
from meltwater.evaluation.conservation import mar_melt, pmw_melt
from meltwater.evaluation.metrics import BINARY_THRESHOLD
from meltwater.evaluation.results import ELEVATION_STEP_M, elevation_bands
from meltwater.models.baselines.pmw_threshold import winter_tb
from meltwater.schema import pred_var

__all__ = [
    "COAST_KM",
    "TRUNK",
    "glacier_trunk",
    "REGION_METRICS",
    "box_mask",
    "predefined_regions",
    "region_summary",
]

COAST_KM = 5.0
TRUNK = "glacier-trunk"
REGION_METRICS = ("mae", "bias", "accuracy")
SIGNALS = ("sar", "mar", "pmw")


def predefined_regions(
    dem: np.ndarray,
    land: np.ndarray,
    spacing_m: tuple[float, float],
    coast_km: float = COAST_KM,
    step: float = ELEVATION_STEP_M,
    trunk: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Elevation bands, the coast and (given) the glacier trunk as boolean ``(y, x)`` masks.

    Args:
        dem: elevation, m.
        land: land mask.
        spacing_m: pixel size ``(dy, dx)`` in metres.
        coast_km: width of the coastal strip.
        step: band width, m.
        trunk: the glacier trunk's mask (`glacier_trunk`), offered as ``glacier-trunk``.

    Returns:
        ``{"elev-0-500": mask, ..., "coast-5km": mask[, "glacier-trunk": mask]}``; bands
        without land are left out, and the coast when the grid has no ocean.
    """
    land = np.asarray(land, bool)
    if np.shape(dem) != land.shape:
        raise GridMismatchError(f"dem {np.shape(dem)} and land {land.shape} differ in shape")
    if not coast_km > 0:
        raise InvalidArgumentError(f"coast_km must be > 0, got {coast_km}")
    band, edges = elevation_bands(dem, step)
    out = {}
    for i in range(len(edges) - 1):
        mask = land & (band == i)
        if mask.any():
            out[f"elev-{edges[i]:.0f}-{edges[i + 1]:.0f}"] = mask
    if not land.all():
        dist = ndimage.distance_transform_edt(land, sampling=spacing_m)
        out[f"coast-{coast_km:g}km"] = land & (dist <= coast_km * 1000.0)
    if trunk is not None:
        if np.shape(trunk) != land.shape:
            raise GridMismatchError(f"trunk {np.shape(trunk)} and land {land.shape} differ")
        if (land & trunk).any():
            out[TRUNK] = land & np.asarray(trunk, bool)
    return out


def glacier_trunk(cube: xr.Dataset) -> np.ndarray | None:
    """The demo's glacier trunk and tributaries ``(y, x)`` in the cube's orientation, from the
    generator config the cube records (``demo_metadata``); None for other cubes (the release,
    an older generator) or when the recorded grid is not the cube's."""
    from meltwater.data.synthetic import config_of, demo_terrain

    meta = cube.attrs.get("demo_metadata")
    cfg = config_of(meta) if meta else None
    if cfg is None or tuple(cfg.shape) != (cube.sizes["y"], cube.sizes["x"]):
        return None
    trunk = demo_terrain(cfg).trunk
    if float(cube["y"][0]) < float(cube["y"][-1]):  # the generator writes north-up rows
        trunk = trunk[::-1]
    return trunk


def box_mask(
    xs: np.ndarray, ys: np.ndarray, bounds: tuple[float, float, float, float]
) -> np.ndarray:
    """Pixels whose centre lies in ``bounds = (x0, y0, x1, y1)`` (any corner order), ``(y, x)``."""
    x0, y0, x1, y1 = (float(b) for b in bounds)
    if not all(np.isfinite([x0, y0, x1, y1])):
        raise InvalidArgumentError(f"bounds must be finite numbers, got {bounds}")
    inx = (np.asarray(xs) >= min(x0, x1)) & (np.asarray(xs) <= max(x0, x1))
    iny = (np.asarray(ys) >= min(y0, y1)) & (np.asarray(ys) <= max(y0, y1))
    return iny[:, None] & inx[None, :]


def _box(mask: np.ndarray) -> tuple[slice, slice]:
    """The smallest rows × columns window holding every True pixel of ``mask``."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return slice(0, 0), slice(0, 0)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _means(r: np.ndarray, values: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-region sums over ``ok`` pixels divided by their counts, and the counts."""
    n = r @ ok.ravel().astype(np.float64)
    s = r @ np.where(ok, values, 0.0).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / n, np.nan), n


def region_summary(
    cube: xr.Dataset,
    days: Sequence[pd.Timestamp],
    models: Sequence[str],
    regions: Mapping[str, np.ndarray],
) -> xr.Dataset:
    """Daily series and SAR-day metrics of each region (see the module docstring).

    Args:
        cube: the analysis cube (with ``pmw_winter``).
        days: the days to read.
        models: models with a ``pred_<model>`` in the cube.
        regions: name → ``(y, x)`` boolean mask on the cube's grid.

    Returns:
        Dataset with ``mean`` (region, series, time), series = models + sar, mar, pmw (SAR NaN
        on days without a scene or without a valid pixel in the region); ``metrics`` (region,
        model, metric) averaged over ``n_images`` (region) SAR days; ``pixels`` (region) land
        pixels.
    """
    names = list(regions)
    if not names:
        raise InvalidArgumentError("regions: need at least one region mask")
    land = np.asarray(cube["land"].values, bool)
    if any(np.shape(m) != land.shape for m in regions.values()):
        raise GridMismatchError(f"regions must be masks of the grid's shape {land.shape}")
    masks = np.stack([np.asarray(regions[k], bool) & land for k in names])
    covered: np.ndarray = masks.sum(axis=0) > 0
    box = _box(covered)  # only the rows and columns some region covers are scored
    land = land[box]
    r = masks[(slice(None), *box)].reshape(len(names), -1).astype(np.float64)
    series = [*models, *SIGNALS]
    mean = np.full((len(names), len(series), len(days)), np.nan)
    scores = np.zeros((len(names), len(models), len(REGION_METRICS)))
    images = np.zeros((len(names), len(models)))
    winters: dict[int, np.ndarray] = {}
    for j, day in enumerate(pd.DatetimeIndex(days)):
        if day.year not in winters:
            winters[day.year] = winter_tb(cube, day.year)[box]
        maps = {m: day_map(cube, pred_var(m), day)[box] for m in models}
        maps["mar"] = mar_melt(day_map(cube, "mar_wa1", day)[box])
        maps["pmw"] = pmw_melt(day_map(cube, "pmw", day)[box], winters[day.year])
        for i, k in enumerate(series):
            if k in maps:
                mean[:, i, j] = _means(r, maps[k], land & np.isfinite(maps[k]))[0]
        if not bool(cube["has_sar"].sel(time=day)):
            continue
        sar = day_map(cube, "sar", day)[box]
        valid = day_map(cube, "valid", day)[box].astype(bool) & np.isfinite(sar)
        mean[:, series.index("sar"), j] = _means(r, sar, valid)[0]
        for i, m in enumerate(models):
            p = maps[m].astype(np.float64)
            ok = valid & np.isfinite(p)
            agree = (p > BINARY_THRESHOLD) == (sar > BINARY_THRESHOLD)
            day_scores = [_means(r, v, ok)[0] for v in (np.abs(p - sar), p - sar, agree * 1.0)]
            counted = np.isfinite(day_scores[0])
            scores[counted, i] += np.stack(day_scores, axis=1)[counted]
            images[counted, i] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        metrics = np.where(images[..., None] > 0, scores / images[..., None], np.nan)
    return xr.Dataset(
        {
            "mean": (("region", "series", "time"), mean),
            "metrics": (("region", "model", "metric"), metrics),
            "n_images": (("region",), images.max(axis=1) if models else np.zeros(len(names))),
            "pixels": (("region",), r.sum(axis=1).astype(np.int64)),
        },
        coords={
            "region": names,
            "series": series,
            "time": pd.DatetimeIndex(days),
            "model": list(models),
            "metric": list(REGION_METRICS),
        },
    )
