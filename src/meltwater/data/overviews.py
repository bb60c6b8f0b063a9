"""Spatial chunks and multiscale overview levels of the analysis cube (cube format 2).

A big grid is stored in spatial chunks (`chunk_shape`) and carries overview levels coarsened
×2, ×4, … (`overview_factors`) in the groups ``overviews/<factor>`` of the same zarr store, so a
reader fetches only the pixels a screen shows (`choose_level` picks the level and the window).

Coarsening rules (`coarsen`, over blocks of factor × factor cells; an edge block averages the
cells it holds):

* float variables: NaN-aware mean (NaN only where every cell of the block is NaN), stored in
  the variable's dtype;
* ``valid``: any valid cell — the same cells where the NaN-aware mean of ``sar`` exists;
* ``land`` (categorical): the majority, a tie counting as land.

Level ``f`` is a regular grid: cell ``i`` is centred at ``x0 - dx/2 + (i + 1/2)·f·dx``, so its
edge block reaches past the grid by less than one coarse cell. Every level holds the CRS
(``spatial_ref``, with its GeoTransform). Predictions are written into the levels together
with their full-resolution day (`write_day`) and read through the records of level 0.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
import zarr
from affine import Affine

from meltwater.data.zarr_nodes import array_node, group_node
from meltwater.errors import CubeError, InvalidArgumentError

__all__ = [
    "FACTORS_ATTR",
    "LEVEL_VARS",
    "LevelWindow",
    "check_factor",
    "choose_level",
    "chunk_shape",
    "coarsen",
    "coarsen_levels",
    "level_coords",
    "level_group",
    "level_template",
    "overview_factors",
    "stored_factors",
    "write_day",
    "write_levels",
]

FACTORS_ATTR = "overview_factors"
LEVEL_VARS = ("pmw", "mar_wa1", "sar", "sar_interp", "valid", "dem", "land")
SPATIAL_CHUNK = 1024  # side of a spatial chunk (measured: benchmarks/scale.py --sweep)
MIN_LEVEL_PX = 256  # the coarsest level keeps at least this many cells along its long side


def chunk_shape(ny: int, nx: int, chunk: int | None = None) -> tuple[int, int]:
    """The (y, x) chunk of a day: ``chunk`` (default `SPATIAL_CHUNK`) square, cut to the grid,
    so a grid up to that side stays one chunk per day; ``chunk=0``: always the whole day."""
    if chunk == 0:
        return ny, nx
    side = chunk or SPATIAL_CHUNK
    return min(side, ny), min(side, nx)


def overview_factors(ny: int, nx: int, min_px: int = MIN_LEVEL_PX) -> tuple[int, ...]:
    """Factors 2, 4, … of the levels a ``ny`` × ``nx`` grid gets: none when a day is one chunk
    (up to `SPATIAL_CHUNK` px a side: a full view reads one chunk anyway), else down to the
    level whose long side keeps at least ``min_px`` cells."""
    if max(ny, nx) <= SPATIAL_CHUNK:
        return ()
    out, f = [], 2
    while -(-max(ny, nx) // f) >= min_px:
        out.append(f)
        f *= 2
    return tuple(out)


def _rule(name: str) -> str:
    return {"valid": "any", "land": "majority"}.get(name, "mean")


def _block_sum(x: np.ndarray, f: int) -> np.ndarray:
    """Sums over f × f blocks of the last two axes (edge blocks padded with zeros)."""
    ny, nx = x.shape[-2:]
    if ny % f or nx % f:
        x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(0, -ny % f), (0, -nx % f)])
    cols = x[..., 0::f].copy()  # strided adds: much faster than reducing a short axis
    for k in range(1, f):
        cols += x[..., k::f]
    out = cols[..., 0::f, :].copy()
    for k in range(1, f):
        out += cols[..., k::f, :]
    return out


def coarsen_levels(
    a: np.ndarray, factors: Sequence[int], rule: str = "mean"
) -> dict[int, np.ndarray]:
    """``a`` coarsened by each of ``factors`` (see `coarsen`), each level summed from the
    previous one's block sums and counts (exact, and cheap after the first)."""
    if rule not in ("mean", "any", "majority"):
        raise InvalidArgumentError(f"rule: expected mean, any or majority, got {rule!r}")
    if any(f < 1 for f in factors):
        raise InvalidArgumentError(f"factor: expected integers ≥ 1, got {list(factors)}")
    total, count = _first(a, rule)
    out: dict[int, np.ndarray] = {}
    done = 1
    for f in sorted(set(factors)):
        if f % done:  # not a multiple of the previous factor: start again from level 0
            (total, count), done = _first(a, rule), 1
        if f // done > 1:
            total, count = _block_sum(total, f // done), _block_sum(count, f // done)
        done = f
        if rule == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f] = np.where(count > 0, total / count, np.float32(np.nan)).astype(np.float32)
        elif rule == "any":
            out[f] = total > 0
        else:
            out[f] = 2 * total >= count
    return out


def _first(a: np.ndarray, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Level 0 as (values to sum, cells to count): NaN cells count nothing in a mean."""
    if rule == "mean":
        x = np.asarray(a, np.float32)
        ok = ~np.isnan(x)
        return np.where(ok, x, np.float32(0)), ok.astype(np.float32)
    return np.asarray(a, bool).astype(np.float32), np.ones(a.shape[-2:], np.float32)


def coarsen(a: np.ndarray, factor: int, rule: str = "mean") -> np.ndarray:
    """``a`` coarsened by ``factor`` over its last two axes.

    Args:
        a: array (…, y, x).
        factor: block side in cells (1 returns ``a``).
        rule: ``mean`` (NaN-aware, float32 out), ``any`` or ``majority`` (bool out).

    Raises:
        InvalidArgumentError: a factor below 1 or an unknown rule.
    """
    if factor < 1:
        raise InvalidArgumentError(f"factor: expected an integer ≥ 1, got {factor}")
    if rule not in ("mean", "any", "majority"):
        raise InvalidArgumentError(f"rule: expected mean, any or majority, got {rule!r}")
    if factor == 1:
        return a
    return coarsen_levels(a, [factor], rule)[factor]


def level_coords(c: np.ndarray, factor: int) -> np.ndarray:
    """Cell centres of level ``factor`` along one axis of level-0 centres ``c`` (regular)."""
    c = np.asarray(c, float)
    if factor == 1 or len(c) < 2:
        return c
    d = c[1] - c[0]
    return c[0] - d / 2 + (np.arange(-(-len(c) // factor)) + 0.5) * d * factor


def level_group(factor: int) -> str:
    """The zarr group of level ``factor``."""
    return f"overviews/{factor}"


def stored_factors(attrs) -> tuple[int, ...]:
    """The overview factors recorded in a cube's attributes (none for small grids)."""
    return tuple(int(f) for f in json.loads(attrs.get(FACTORS_ATTR, "[]")))


def level_template(ds: xr.Dataset, factor: int, variables: Sequence[str]) -> xr.Dataset:
    """Lazy (dask) NaN/False template of level ``factor`` of ``ds``'s ``variables``, with the
    level's coordinates, CRS and chunks (what ``to_zarr(compute=False)`` writes)."""
    import dask.array as da

    x, y = level_coords(ds["x"].values, factor), level_coords(ds["y"].values, factor)
    cy, cx = chunk_shape(len(y), len(x))
    out = xr.Dataset(
        coords={"x": ("x", x, dict(ds["x"].attrs)), "y": ("y", y, dict(ds["y"].attrs))}
    )
    if "time" in ds.coords:
        out = out.assign_coords(time=ds["time"])
    for name in variables:
        v = ds[name]
        dtype = bool if _rule(str(name)) != "mean" else v.dtype
        shape = tuple(len(y) if d == "y" else len(x) if d == "x" else ds.sizes[d] for d in v.dims)
        chunks = tuple(cy if d == "y" else cx if d == "x" else 1 for d in v.dims)
        fill = False if dtype is bool else np.nan
        data = da.full(shape, fill, dtype=dtype, chunks=chunks)
        attrs = {k: a for k, a in v.attrs.items() if k in ("units", "long_name", "flag_meanings")}
        out[name] = xr.DataArray(data, dims=v.dims, attrs=attrs)
        out[name].encoding["chunks"] = chunks
        if "_FillValue" in v.encoding or v.dtype.kind == "f":
            out[name].encoding["_FillValue"] = v.encoding.get("_FillValue", np.nan)
    wkt = ds["spatial_ref"].attrs.get("crs_wkt") if "spatial_ref" in ds.coords else None
    if wkt:  # not ds.rio: reading a Dataset's CRS through rioxarray moves its grid_mapping
        dx, dy = float(x[1] - x[0]), float(y[1] - y[0])
        transform = Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)
        out = out.rio.write_crs(wkt).rio.write_transform(transform)
        out = out.rio.write_coordinate_system()
    out.attrs = {"overview_factor": factor, "Conventions": "CF-1.8"}
    return out


def write_levels(
    path: Path | str, batch: xr.Dataset, factors: Sequence[int], region: slice | None = None
) -> None:
    """Coarsen the in-memory ``batch`` (days ``region`` of the store, or static maps) into
    every level of ``factors`` of the store at ``path``."""
    group = zarr.open_group(str(path), mode="r+")
    for key, v in batch.data_vars.items():
        name = str(key)
        if not {"y", "x"} <= set(v.dims):
            continue
        levels = [f for f in factors if name in group_node(group, level_group(f))]
        for f, values in coarsen_levels(np.asarray(v.values), levels, _rule(name)).items():
            target = array_node(group, f"{level_group(f)}/{name}")
            if "time" in v.dims:
                target[region or slice(None)] = values.astype(target.dtype)
            else:
                target[...] = values.astype(target.dtype)


def write_day(group: zarr.Group, var: str, index: int, values: np.ndarray) -> None:
    """Write day ``index`` of ``var`` at full resolution and into every level of the store.

    Every chunk is stored, an all-NaN one too (zarr would skip it), so that a recorded day
    whose chunk is missing can be told from an empty region (`provenance.CHUNKS_ATTR`)."""
    array_node(group, var).with_config({"write_empty_chunks": True})[index] = values
    levels = coarsen_levels(np.asarray(values), stored_factors(group.attrs), _rule(var))
    for f, coarse in levels.items():
        target = array_node(group, f"{level_group(f)}/{var}").with_config(
            {"write_empty_chunks": True}
        )
        target[index] = coarse.astype(target.dtype)


@dataclass(frozen=True)
class LevelWindow:
    """What to read for a view: level ``factor`` (1 = full resolution), rows and columns
    ``[start, stop)`` of that level, rows counted north → south as in `choose_level`'s input."""

    factor: int
    rows: tuple[int, int]
    cols: tuple[int, int]


def _span(coords: np.ndarray, lo: float, hi: float, margin: int) -> tuple[int, int]:
    """Index range of the cells of ``coords`` (regular, either direction) touching [lo, hi]."""
    asc = len(coords) < 2 or coords[0] <= coords[-1]
    c = coords if asc else coords[::-1]
    half = abs(c[1] - c[0]) / 2 if len(c) > 1 else 0.0
    i0 = int(np.searchsorted(c + half, lo, side="right"))
    i1 = int(np.searchsorted(c - half, hi, side="left"))
    i0, i1 = max(i0 - margin, 0), min(max(i1, i0) + margin, len(c))
    return (i0, i1) if asc else (len(c) - i1, len(c) - i0)


def choose_level(
    extent: tuple[float, float, float, float],
    plot_px: tuple[int, int],
    xs: np.ndarray,
    ys: np.ndarray,
    factors: Sequence[int],
    margin: int = 1,
) -> LevelWindow:
    """The coarsest level that still gives every screen pixel its own cell, and the window of
    it that covers ``extent`` (plus ``margin`` cells).

    Args:
        extent: (x_min, y_min, x_max, y_max) shown, in map units.
        plot_px: (width, height) of the plot in screen pixels.
        xs, ys: level-0 cell centres (rows in the order the window counts them).
        factors: the stored overview factors (1 is always available).
        margin: extra cells on each side of the window.

    Raises:
        InvalidArgumentError: an empty extent or a plot size below one pixel.
    """
    x0, y0, x1, y1 = (float(v) for v in extent)
    if not (x1 > x0 and y1 > y0):
        raise InvalidArgumentError(
            f"extent: expected x_min < x_max and y_min < y_max, got {extent}"
        )
    w, h = plot_px
    if w < 1 or h < 1:
        raise InvalidArgumentError(f"plot_px: expected (width, height) ≥ 1 pixel, got {plot_px}")
    dx, dy = abs(float(xs[1] - xs[0])), abs(float(ys[1] - ys[0]))
    limit = min((x1 - x0) / (dx * w), (y1 - y0) / (dy * h))  # level-0 cells per screen pixel
    factor = max([1, *(f for f in factors if f <= limit)])
    rows = _span(level_coords(ys, factor), y0, y1, margin)
    cols = _span(level_coords(xs, factor), x0, x1, margin)
    return LevelWindow(factor, rows, cols)


def check_factor(factor: int, factors: Sequence[int], where: str) -> None:
    """Raise `CubeError` unless ``factor`` is 1 or one of the stored ``factors``."""
    if factor != 1 and factor not in factors:
        raise CubeError(f"{where} has no overview level {factor}; stored: {[1, *factors]}")
