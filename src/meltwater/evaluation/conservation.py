"""Conservation: does a downscaled melt map keep MAR's melt on MAR's own ~6 km cells?

A model's 100 m prediction is averaged over each MAR cell's land pixels and compared with
MAR's melt signal on that cell, with the PMW melt signal aggregated the same way, and on SAR
days with SAR's cell means ("is SAR on the model's side or MAR's?").

* **MAR cells** (`mar_cells`): the raw ``mar_wa1`` field is MAR nearest-neighbour upsampled,
  so it is constant on axis-aligned rectangles. A cell edge lies between two rows (columns)
  where two neighbouring land pixels differ on any of the sampled days (ocean pixels are set
  to 0 in MAR and are ignored). When the edges of an axis all fall on one period (the smallest
  spacing of edges over both axes), the edges a constant stretch hides (e.g. always dry cells)
  are filled in at that period. Pixels off land belong to no cell (label -1).
* **MAR melt** (`mar_melt`): a cell's WA1 mapped to a melt fraction as the ``mar_interp`` baseline
  does, ``clip(brightness · WA1, 0, 1) ** (1 / gamma)``, with the paper's fitted brightness
  143.5 and gamma 29.2 and without the blur (a cell is MAR's own footprint). With that gamma
  the map is nearly binary: any liquid water reads as melt.
* **PMW melt** (`pmw_melt`): the ``pmw_threshold`` baseline's Colosio et al. (2021) rule,
  1 where ``Tb > 0.48 · Tb_winter + 128 K``.
* A model's or PMW's cell value is the mean over the cell's land pixels; SAR's the mean over
  its valid pixels, and only where they cover at least half of the cell's land (else NaN).

Residuals are model − MAR and model − PMW per cell; the domain mean weights cells by their land
pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy.sparse import csr_array

from meltwater.data.cube import day_map
from meltwater.errors import GridMismatchError, InvalidArgumentError
from meltwater.models.baselines.mar_interp import mar_mapping
from meltwater.models.baselines.pmw_threshold import PmwThreshold, winter_tb
from meltwater.schema import pred_var

__all__ = [
    "CellIndex",
    "Cells",
    "MAR_BRIGHTNESS",
    "MAR_GAMMA",
    "MIN_SAR_COVER",
    "cell_image",
    "cell_means",
    "day_conservation",
    "domain_residuals",
    "mar_cells",
    "mar_melt",
    "pmw_melt",
    "read_day",
    "season_residuals",
]

MAR_BRIGHTNESS, MAR_GAMMA = 143.5, 29.2  # the paper's fitted mar_interp mapping
MIN_SAR_COVER = 0.5  # SAR's cell mean needs valid SAR on this share of the cell's land


def _edges(change: np.ndarray) -> np.ndarray:
    """Indices ``i`` of boundaries between ``i`` and ``i + 1`` where ``change`` is True."""
    return np.flatnonzero(change) + 1


def _fill(edges: np.ndarray, size: int, period: int) -> np.ndarray:
    """``edges`` with the ones a constant stretch hides, when they all lie on ``period``."""
    if edges.size == 0 or period < 2 or np.any((edges - edges[0]) % period):
        return edges
    start = edges[0] % period or period
    return np.arange(start, size, period)


def mar_cells(mar: np.ndarray, land: np.ndarray) -> np.ndarray:
    """Label the MAR cells of a nearest-upsampled MAR field (see the module docstring).

    Args:
        mar: ``(time, y, x)`` raw ``mar_wa1`` of a few days (more days find more edges).
        land: ``(y, x)`` land mask.

    Returns:
        ``(y, x)`` int64 labels ``row_block · n_col_blocks + col_block``; -1 off land.

    Raises:
        GridMismatchError: ``mar`` and ``land`` are not on the same grid.
    """
    m = np.asarray(mar)
    land = np.asarray(land, bool)
    if m.ndim != 3 or m.shape[1:] != land.shape:
        raise GridMismatchError(f"mar {m.shape} must be (time, y, x) on land's grid {land.shape}")
    both_y = land[1:] & land[:-1]
    both_x = land[:, 1:] & land[:, :-1]
    rows = _edges(((m[:, 1:] != m[:, :-1]) & both_y).any(axis=(0, 2)))
    cols = _edges(((m[:, :, 1:] != m[:, :, :-1]) & both_x).any(axis=(0, 1)))
    spacing = [np.diff(np.concatenate([[0], e])) for e in (rows, cols) if e.size]
    period = int(min(s.min() for s in spacing)) if spacing else 0
    rows, cols = _fill(rows, land.shape[0], period), _fill(cols, land.shape[1], period)
    r = np.searchsorted(rows, np.arange(land.shape[0]), side="right")
    c = np.searchsorted(cols, np.arange(land.shape[1]), side="right")
    labels = r[:, None] * (cols.size + 1) + c[None, :]
    return np.where(land, labels, -1).astype(np.int64)


class CellIndex:
    """`mar_cells` labels and a sparse (cell × pixel) matrix of them, built once per grid: a
    map's cell means are then two sparse products (~1.6 ms on the demo grid, ~7 ms with
    ``np.bincount``), for the dashboard's day step and the season curve.

    Args:
        cells: `mar_cells` labels (-1 off land).
    """

    def __init__(self, cells: np.ndarray):
        self.labels = np.asarray(cells)
        flat = self.labels.ravel()
        pix = np.flatnonzero(flat >= 0)
        self.size = int(flat.max()) + 1 if pix.size else 0
        ones = np.ones(pix.size)
        self.matrix = csr_array((ones, (flat[pix], pix)), shape=(self.size, flat.size))


Cells = np.ndarray | CellIndex  # labels, or labels with their matrix


def _index(cells: Cells) -> CellIndex:
    return cells if isinstance(cells, CellIndex) else CellIndex(cells)


def cell_means(
    values: np.ndarray, cells: Cells, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` per cell over the finite pixels of ``mask`` (default: all).

    Returns:
        ``(means, counts)`` indexed by cell label (``cells.max() + 1`` long); NaN where a
        cell has no such pixel.
    """
    index = _index(cells)
    v = np.asarray(values, dtype=np.float64)
    if v.shape != index.labels.shape:
        raise GridMismatchError(f"values {v.shape} are not on the cells' grid {index.labels.shape}")
    use = np.isfinite(v)
    if mask is not None:
        use &= np.asarray(mask, bool)
    counts = np.rint(index.matrix @ use.ravel().astype(np.float64)).astype(np.int64)
    sums = index.matrix @ np.where(use, v, 0.0).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan), counts


def cell_image(values: np.ndarray, cells: Cells) -> np.ndarray:
    """Per-cell ``values`` painted back onto the grid (NaN off land), float32."""
    labels = cells.labels if isinstance(cells, CellIndex) else np.asarray(cells)
    v = np.append(np.asarray(values, dtype=np.float32), np.float32(np.nan))
    return v[np.where(labels >= 0, labels, v.size - 1)]


def mar_melt(
    wa1: np.ndarray, brightness: float = MAR_BRIGHTNESS, gamma: float = MAR_GAMMA
) -> np.ndarray:
    """MAR WA1 → melt fraction by the ``mar_interp`` mapping, unblurred (NaN stays NaN)."""
    if not (brightness > 0 and gamma > 0):
        raise InvalidArgumentError(f"brightness and gamma must be > 0, got {brightness}, {gamma}")
    wa1 = np.asarray(wa1, dtype=np.float64)
    return np.where(np.isfinite(wa1), mar_mapping(np.nan_to_num(wa1), brightness, gamma), np.nan)


def pmw_melt(tb: np.ndarray, tb_winter: np.ndarray) -> np.ndarray:
    """1 where Tb exceeds the ``pmw_threshold`` baseline's threshold, else 0; NaN where no Tb."""
    rule = PmwThreshold()
    tb = np.asarray(tb, dtype=np.float64)
    melt = (tb > rule.slope * np.asarray(tb_winter, dtype=np.float64) + rule.offset_k) * 1.0
    return np.where(np.isfinite(tb), melt, np.nan)


def day_conservation(
    preds: Mapping[str, np.ndarray],
    wa1: np.ndarray,
    pmw: np.ndarray,
    cells: Cells,
    sar: np.ndarray | None = None,
    sar_valid: np.ndarray | None = None,
    mapping: tuple[float, float] = (MAR_BRIGHTNESS, MAR_GAMMA),
) -> xr.Dataset:
    """Cell means of each model, MAR, PMW (and SAR) of one day, and the models' residuals.

    Args:
        preds: model name → ``(y, x)`` melt fraction.
        wa1: ``(y, x)`` raw MAR WA1; its cell means are mapped by `mar_melt`.
        pmw: ``(y, x)`` PMW melt (`pmw_melt`).
        cells: `mar_cells` labels (or their `CellIndex`).
        sar: the day's SAR melt fraction (None: not a SAR day).
        sar_valid: where ``sar`` is valid (default: where finite).
        mapping: brightness and gamma of `mar_melt`.

    Returns:
        Dataset over ``cell``: ``model_mean`` (model, cell), ``mar``, ``pmw``, ``sar`` (NaN
        without SAR or below `MIN_SAR_COVER`), ``pixels`` (land pixels), ``res_mar`` and
        ``res_pmw`` (model, cell) = model − MAR / PMW, ``sar_res_mar`` = SAR − MAR.
    """
    cells = _index(cells)  # the matrix once for the day's maps
    names = list(preds)
    model = np.stack([cell_means(preds[m], cells)[0] for m in names]) if names else None
    wa1_c, pixels = cell_means(wa1, cells)
    mar_c = mar_melt(wa1_c, *mapping)
    pmw_c = cell_means(pmw, cells)[0]
    sar_c = np.full(pixels.shape, np.nan)
    if sar is not None:
        valid = np.isfinite(sar) if sar_valid is None else np.asarray(sar_valid, bool)
        means, counts = cell_means(sar, cells, valid)
        sar_c = np.where(counts >= MIN_SAR_COVER * np.maximum(pixels, 1), means, np.nan)
    if model is None:
        model = np.empty((0, pixels.size))
    return xr.Dataset(
        {
            "model_mean": (("model", "cell"), model),
            "mar": ("cell", mar_c),
            "pmw": ("cell", pmw_c),
            "sar": ("cell", sar_c),
            "pixels": ("cell", pixels),
            "res_mar": (("model", "cell"), model - mar_c),
            "res_pmw": (("model", "cell"), model - pmw_c),
            "sar_res_mar": ("cell", sar_c - mar_c),
        },
        coords={"model": names, "cell": np.arange(pixels.size)},
    )


def domain_residuals(day: xr.Dataset) -> dict[str, float]:
    """Land-pixel-weighted domain means of a `day_conservation` result's residuals.

    Returns:
        ``res_mar:<model>`` and ``res_pmw:<model>`` per model; ``sar_res_mar`` and
        ``sar_res_pmw`` over the cells SAR covers, with the models' on those cells as
        ``res_mar_sar_cells:<model>`` (NaN without SAR).
    """
    w = day.pixels.values.astype(np.float64)

    def mean(v: np.ndarray, on: np.ndarray) -> float:
        ok = on & np.isfinite(v) & (w > 0)
        return float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else float("nan")

    every = np.ones(w.shape, bool)
    sar_cells = np.isfinite(day.sar.values)
    out = {
        "sar_res_mar": mean(day.sar_res_mar.values, sar_cells),
        "sar_res_pmw": mean(day.sar.values - day.pmw.values, sar_cells),
    }
    for m in day.model.values:
        r = day.res_mar.sel(model=m).values
        out[f"res_mar:{m}"] = mean(r, every)
        out[f"res_pmw:{m}"] = mean(day.res_pmw.sel(model=m).values, every)
        out[f"res_mar_sar_cells:{m}"] = mean(r, sar_cells)
    return out


def read_day(
    cube: xr.Dataset,
    date: pd.Timestamp | str,
    models: Sequence[str],
    cells: Cells,
    winter: np.ndarray | None = None,
) -> xr.Dataset:
    """`day_conservation` of one cube day (SAR included on its SAR days).

    ``winter`` is the year's `winter_tb` when the caller has it (read from the cube if None).
    """
    t = pd.Timestamp(date)
    preds = {m: day_map(cube, pred_var(m), t) for m in models}
    winter = winter if winter is not None else winter_tb(cube, t.year)
    pmw = pmw_melt(day_map(cube, "pmw", t), winter)
    sar = valid = None
    if bool(cube["has_sar"].sel(time=t)):
        sar, valid = day_map(cube, "sar", t), day_map(cube, "valid", t).astype(bool)
    return day_conservation(preds, day_map(cube, "mar_wa1", t), pmw, cells, sar, valid)


def season_residuals(
    cube: xr.Dataset, days: Sequence[pd.Timestamp], models: Sequence[str], cells: Cells
) -> xr.Dataset:
    """`domain_residuals` of each of ``days``: a Dataset of ``(time,)`` variables."""
    winters = {y: winter_tb(cube, y) for y in sorted({pd.Timestamp(t).year for t in days})}
    cells = _index(cells)
    rows = [
        domain_residuals(read_day(cube, t, models, cells, winters[pd.Timestamp(t).year]))
        for t in days
    ]
    keys = list(rows[0]) if rows else []
    return xr.Dataset(
        {k: ("time", np.array([r[k] for r in rows])) for k in keys},
        coords={"time": pd.DatetimeIndex(days)},
    )
