"""The evaluation results file: its fixed schema, assembly, netCDF/markdown writers.

`assemble` turns the per-day rows of `evaluate` into the results Dataset documented
in ``docs/results.md`` (``schema_version`` 2); `save_results` writes it atomically as
``<data dir>/results/<source>_<split>.nc`` with the paper-style markdown table beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.atomic import atomic_path
from meltwater.data.cube import season_day
from meltwater.evaluation import metrics
from meltwater.evaluation.calibration import (
    SPREAD_EDGES,
    SPREAD_SUMS,
    calibration_curve,
    spread_bin_labels,
)
from meltwater.evaluation.scorecard import SUMS, scorecards
from meltwater.evaluation.thresholds import OUTCOMES, THRESHOLDS

__all__ = [
    "ELEVATION_STEP_M",
    "GAP_BINS",
    "MONTHS",
    "SCHEMA_VERSION",
    "SEASON_DAYS",
    "TABLE_METRICS",
    "assemble",
    "elevation_bands",
    "gap_bin",
    "gap_days",
    "grouped",
    "read_results",
    "results_path",
    "results_table",
    "save_results",
    "write_results",
]

SCHEMA_VERSION = "2"
MONTHS = np.arange(4, 10)  # April–September
SEASON_DAYS = np.arange(183)  # 0 = 1 April … 182 = 30 September
GAP_BINS = ("1", "2-3", "4-6", ">6")
_GAP_EDGES = np.array([1, 3, 6])  # upper bounds of the first three bins
ELEVATION_STEP_M = 500.0
TABLE_METRICS = {
    "accuracy": "Accuracy",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
    "ssim": "SSIM",
    "bias": "Bias",
}


def results_path(data_root: Path | str, source: str, split: str, suffix: str = ".nc") -> Path:
    """``<data dir>/results/<source>_<split>.nc`` (or another ``suffix``)."""
    return Path(data_root) / "results" / f"{source}_{split}{suffix}"


def elevation_bands(
    dem: np.ndarray, step: float = ELEVATION_STEP_M
) -> tuple[np.ndarray, np.ndarray]:
    """Band index of every pixel (bands of ``step`` m from 0 m; NaN and < 0 m in the first) and
    the band edges."""
    dem = np.asarray(dem, dtype=np.float64)
    edges = np.arange(0.0, max(np.nanmax(dem), 1.0) + step, step)
    return np.clip(np.digitize(np.nan_to_num(dem), edges) - 1, 0, len(edges) - 2), edges


def gap_bin(days: np.ndarray) -> np.ndarray:
    """Index into `GAP_BINS` of gaps in days: 1 → 0, 2–3 → 1, 4–6 → 2, > 6 → 3."""
    return np.searchsorted(_GAP_EDGES, np.asarray(days), side="left")


def gap_days(dates: pd.DatetimeIndex, train: pd.DatetimeIndex) -> np.ndarray:
    """Days from each date to the nearest other training scene (inf when there is none)."""
    out = np.full(len(dates), np.inf)
    t = train.values.astype("datetime64[D]").astype(np.int64)
    for i, d in enumerate(dates.values.astype("datetime64[D]").astype(np.int64)):
        gaps = np.abs(t[t != d] - d)
        if gaps.size:
            out[i] = gaps.min()
    return out


def grouped(values: xr.DataArray, n: xr.DataArray, groups, labels, dim: str) -> xr.DataArray:
    """Valid-pixel-weighted mean of per-image values per group label (NaN for empty groups)."""
    v = values.transpose(..., "time").values.astype(np.float64)
    w = np.broadcast_to(n.values.astype(np.float64), v.shape)
    ok = np.isfinite(v) & (w > 0)
    onehot = (np.asarray(groups)[None, :] == np.asarray(labels)[:, None]).astype(np.float64)
    num = np.where(ok, v * w, 0.0) @ onehot.T
    den = np.where(ok, w, 0.0) @ onehot.T
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan)
    dims = tuple(d for d in values.dims if d != "time") + (dim,)
    coords = {d: values[d].values for d in dims[:-1] if d in values.coords}
    return xr.DataArray(out, dims=dims, coords={**coords, dim: list(labels)})


def assemble(
    models: list[str],
    dates: pd.DatetimeIndex,
    train: pd.DatetimeIndex,
    days: pd.DatetimeIndex,
    rows: dict,
    edges: np.ndarray,
    **card,
) -> xr.Dataset:
    """Build the results Dataset (without attributes) from the per-day rows of the evaluation.

    Args:
        models: model names, in the order of the ``model`` dimension.
        dates: the scored days (``time``).
        train: training dates (for the gap to the nearest training scene).
        days: the days of the melt-area series (``day``).
        rows: per-day results of `meltwater.evaluation.evaluate` keyed by date.
        edges: elevation band edges in metres.
        card: ``n_boot``, ``seed``, ``level`` of the score cards' bootstrap
            (`meltwater.evaluation.scorecard.scorecards`).
    """
    names = list(metrics.METRIC_NAMES)
    scores = [[[rows[d]["scores"][m][k] for d in dates] for k in names] for m in models]
    n = xr.DataArray([rows[d]["n_valid"] for d in dates], dims="time", coords={"time": dates})
    ds = xr.Dataset(
        {"scores": (("model", "metric", "time"), np.array(scores, dtype=np.float64))},
        coords={"model": models, "metric": names, "time": dates},
    )
    ds["n_valid"] = n
    ds["aggregates"] = metrics.aggregate(ds["scores"], n).transpose("model", "metric", "stat")
    melt = xr.DataArray(
        [[rows[d]["melt"][m] for d in dates] for m in models],
        dims=("model", "time"),
        coords={"model": models, "time": dates},
    )
    sar_melt = xr.DataArray(
        [rows[d]["sar_melt"] for d in dates], dims="time", coords={"time": dates}
    )
    bias = ds["scores"].sel(metric="bias", drop=True)
    ds["melt_fraction"], ds["sar_melt_fraction"] = melt, sar_melt
    for dim, groups, labels in (
        ("month", dates.month.values, MONTHS),
        ("season_day", season_day(dates), SEASON_DAYS),
    ):
        ds[f"{dim}_melt_fraction"] = grouped(melt, n, groups, labels, dim).transpose("model", dim)
        ds[f"{dim}_sar_melt_fraction"] = grouped(sar_melt, n, groups, labels, dim)
        ds[f"{dim}_bias"] = grouped(bias, n, groups, labels, dim).transpose("model", dim)
    gaps = gap_days(dates, pd.DatetimeIndex(train))
    gbin = np.array(GAP_BINS)[gap_bin(gaps)]
    ds["gap_days"] = ("time", gaps)
    mae = ds["scores"].sel(metric="mae", drop=True)
    ds["gap_mae"] = grouped(mae, n, gbin, GAP_BINS, "gap_bin").transpose("model", "gap_bin")
    ds["gap_images"] = ("gap_bin", np.array([(gbin == g).sum() for g in GAP_BINS]))
    ds["melt_area_km2"] = xr.DataArray(
        [[rows[d]["area"][m] for d in days] for m in models],
        dims=("model", "day"),
        coords={"model": models, "day": days.values},
    )
    ds["sar_melt_area_km2"] = ("day", np.array([rows[d].get("sar_area", np.nan) for d in days]))
    ds = _elevation(ds, models, dates, rows, edges)
    ds["threshold_counts"] = xr.DataArray(
        np.array([[rows[d]["counts"][m] for d in dates] for m in models], dtype=np.int64),
        dims=("model", "time", "threshold", "outcome"),
        coords={"threshold": THRESHOLDS, "outcome": list(OUTCOMES)},
    )
    ds["elevation_sums"] = xr.DataArray(
        np.array([[rows[d]["band_sums"][m] for d in dates] for m in models], dtype=np.float64),
        dims=("model", "time", "elev_band", "sum"),
        coords={"sum": list(SUMS)},
    )
    ds["card_month"], ds["card_elevation"] = scorecards(ds["elevation_sums"], MONTHS, **card)
    ds = _calibration(ds, dates, rows)
    for k, u in (("melt_area_km2", "km2"), ("sar_melt_area_km2", "km2"), ("gap_days", "d")):
        ds[k].attrs["units"] = u
    return ds


def _calibration(ds: xr.Dataset, dates, rows) -> xr.Dataset:
    """The UNet's spread-vs-error curve over the days that had a spread (none: unchanged);
    ``spread_sums`` of a day without one are NaN."""
    if not any("spread_sums" in rows[d] for d in dates):
        return ds
    empty = np.full((len(SPREAD_EDGES) - 1, len(SPREAD_SUMS)), np.nan)
    ds = ds.assign_coords(
        spread_bin=spread_bin_labels(),
        spread_lo=("spread_bin", SPREAD_EDGES[:-1]),
        spread_hi=("spread_bin", SPREAD_EDGES[1:]),
        spread_sum=list(SPREAD_SUMS),
    )
    ds["spread_sums"] = (
        ("time", "spread_bin", "spread_sum"),
        np.array([rows[d].get("spread_sums", empty) for d in dates]),
    )
    curve = calibration_curve(ds["spread_sums"])
    ds["calibration_mae"] = curve["mae"]
    ds["calibration_spread"] = curve["spread"]
    ds["calibration_pixels"] = curve["pixels"]
    return ds


def _elevation(ds: xr.Dataset, models, dates, rows, edges) -> xr.Dataset:
    """Mean bias per elevation band and month, pooled over the valid pixels of scored days."""
    nb = len(edges) - 1
    sums = np.zeros((len(models), nb, len(MONTHS)))
    count = np.zeros((nb, len(MONTHS)))
    for d in dates:
        j = int(d.month) - int(MONTHS[0])
        if not 0 <= j < len(MONTHS):
            continue
        count[:, j] += rows[d]["band_count"]
        for i, m in enumerate(models):
            sums[i, :, j] += rows[d]["band_sums"][m][:, SUMS.index("err")]
    labels = [f"{int(lo)}-{int(hi)}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    ds = ds.assign_coords(
        elev_band=labels,
        elev_lo=("elev_band", edges[:-1]),
        elev_hi=("elev_band", edges[1:]),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        ds["elevation_bias"] = (("model", "elev_band", "month"), sums / count[None])
    ds["elevation_pixels"] = (("elev_band", "month"), count)
    return ds


def write_results(ds: xr.Dataset, path: Path | str) -> Path:
    """Write the results Dataset as netCDF atomically (temporary file, then rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4")
    return path


def read_results(path: Path | str) -> xr.Dataset:
    """The results file at ``path``, loaded into memory.

    Raises:
        CorruptDataError: the file is damaged (names it).
    """
    from meltwater.data.reads import read_netcdf

    return read_netcdf(path, "results file")


def save_results(ds: xr.Dataset, data_root: Path | str) -> tuple[Path, Path]:
    """Write ``results/<source>_<split>.nc`` and its markdown table ``.md``; returns both paths."""
    source, split = ds.attrs.get("source") or "unknown", ds.attrs.get("split", "split")
    nc = write_results(ds, results_path(data_root, source, split))
    md = results_path(data_root, source, split, ".md")
    with atomic_path(md) as tmp:
        tmp.write_text(f"# Results: {source} / {split}\n\n" + results_table(ds))
    return nc, md


def results_table(ds: xr.Dataset) -> str:
    """Markdown table in the paper's form: one row per model, ``mean ± std`` over images."""
    head = "| model | " + " | ".join(TABLE_METRICS.values()) + " |"
    rows = [head, "|" + "---|" * (len(TABLE_METRICS) + 1)]
    for m in ds["model"].values:
        cells = []
        for k in TABLE_METRICS:
            a = ds["aggregates"].sel(model=m, metric=k)
            cells.append(f"{float(a.sel(stat='mean')):.3f} ± {float(a.sel(stat='std')):.3f}")
        rows.append(f"| {m} | " + " | ".join(cells) + " |")
    n = ds.sizes["time"]
    note = (
        f"\n{n} {ds.attrs.get('split', '')} images of source {ds.attrs.get('source', '')!r}; "
        "mean ± std over images of the per-image metric (valid pixels only); accuracy after "
        f"binarising both maps at > {ds.attrs.get('threshold', metrics.BINARY_THRESHOLD)}."
    )
    return "\n".join(rows) + "\n" + note + "\n"
