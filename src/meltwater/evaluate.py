"""Score models against SAR over a split: an xarray results Dataset (netCDF) and a markdown table.

`evaluate` predicts every model on every day it needs (the cube's ``pred_<model>`` when
precompute stored it, else live), scores the split's SAR days with `meltwater.metrics` and
builds the fixed results schema documented in ``docs/results.md``. Days can be processed in a
thread pool (``workers``; numpy, scipy and zarr release the GIL).
"""

from __future__ import annotations

import json
import threading
import time as _time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from meltwater import __version__, metrics
from meltwater.atomic import atomic_path
from meltwater.baselines.base import day_values
from meltwater.errors import CheckpointError, CubeError
from meltwater.predictors import (
    MODEL_NAMES,
    BaselinePredictor,
    CubePredictor,
    Predictor,
    get_predictor,
    precomputed_var,
)
from meltwater.summary import pixel_area_km2, season_day

__all__ = [
    "GAP_BINS",
    "MONTHS",
    "SCHEMA_VERSION",
    "SEASON_DAYS",
    "SLOW_LIVE",
    "TABLE_METRICS",
    "default_models",
    "evaluate",
    "gap_bin",
    "make_predictors",
    "results_path",
    "results_table",
    "save_results",
    "write_results",
]

SCHEMA_VERSION = "1"
MONTHS = np.arange(4, 10)  # April–September
SEASON_DAYS = np.arange(183)  # 0 = 1 April … 182 = 30 September
GAP_BINS = ("1", "2-3", "4-6", ">6")
_GAP_EDGES = np.array([1, 3, 6])  # upper bounds of the first three bins
ELEVATION_STEP_M = 500.0
# Too slow to predict live on every day on a CPU: their melt-area series covers the scored
# days only unless the cube stores their predictions (``meltwater precompute``).
SLOW_LIVE = ("unet", "random_forest")
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


def gap_bin(days: np.ndarray) -> np.ndarray:
    """Index into `GAP_BINS` of gaps in days: 1 → 0, 2–3 → 1, 4–6 → 2, > 6 → 3."""
    return np.searchsorted(_GAP_EDGES, np.asarray(days), side="left")


def _gap_days(dates: pd.DatetimeIndex, train: pd.DatetimeIndex) -> np.ndarray:
    """Days from each date to the nearest other training scene (inf when there is none)."""
    out = np.full(len(dates), np.inf)
    t = train.values.astype("datetime64[D]").astype(np.int64)
    for i, d in enumerate(dates.values.astype("datetime64[D]").astype(np.int64)):
        gaps = np.abs(t[t != d] - d)
        if gaps.size:
            out[i] = gaps.min()
    return out


def make_predictors(
    cube: xr.Dataset,
    models: Sequence[str],
    train_dates: pd.DatetimeIndex,
    *,
    use_cube: bool = True,
    baseline_kwargs: dict[str, dict] | None = None,
) -> dict[str, Predictor]:
    """Predictors of ``models``: the cube's ``pred_<model>`` when present, else live ones.

    Live predictors are built lazily (a baseline is fitted only when a day lacks a stored map).

    Raises:
        KeyError: an unknown model name (lists the valid names).
    """
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown:
        raise KeyError(f"unknown model(s) {unknown}; valid: {list(MODEL_NAMES)}")
    kwargs = baseline_kwargs or {}
    out: dict[str, Predictor] = {}
    for m in models:
        live = _LazyPredictor(m, cube, train_dates, kwargs.get(m, {}))
        out[m] = CubePredictor(m, live) if use_cube and precomputed_var(m) in cube else live
    return out


class _LazyPredictor:
    """Builds (and fits) the live predictor on first use; thread-safe enough for a pool."""

    def __init__(self, name: str, cube: xr.Dataset, train: pd.DatetimeIndex, kwargs: dict):
        self.name = name
        self._args = (cube, train, kwargs)
        self._lock = threading.Lock()
        self._p: Predictor | None = None

    @property
    def predictor(self) -> Predictor:
        with self._lock:
            if self._p is None:
                cube, train, kwargs = self._args
                self._p = get_predictor(self.name, cube, train, **kwargs)
        return self._p

    def predict(self, cube, date, ablate=()):
        return self.predictor.predict(cube, date, ablate)


def _describe(p: Predictor) -> tuple[str, str]:
    """(where predictions come from, fitted params as JSON) of a predictor."""
    where = "live"
    if isinstance(p, CubePredictor):
        where, p = "cube", p.live
        if not isinstance(p, _LazyPredictor) or p._p is None:
            return where, "{}"
        where = "cube+live"  # some days were missing from the store
    inner = p._p if isinstance(p, _LazyPredictor) else p
    if isinstance(inner, BaselinePredictor):
        return where, json.dumps(inner.baseline.params())
    meta = getattr(getattr(inner, "model", None), "meta", None)  # UNetWrapper → UNetPredictor
    if meta is not None:
        return where, json.dumps(_checkpoint_summary(meta))
    return where, "{}"


def _checkpoint_summary(meta) -> dict:
    """Provenance of a UNet checkpoint for the results attributes."""
    return {
        "checkpoint": meta.name,
        "created": meta.created,
        "weights_sha256": meta.weights_sha256,
        "encoder": meta.model.get("encoder_name"),
        "epochs": meta.training.get("epochs"),
        "data": meta.data,
    }


def _one_day(
    cube: xr.Dataset,
    date: pd.Timestamp,
    preds: dict[str, Predictor],
    score: bool,
    ctx: dict,
) -> dict:
    """Predict all models on one day: melt area always, metrics when ``score``."""
    land, band, n_bands, area = ctx["land"], ctx["band"], ctx["n_bands"], ctx["area"]
    out: dict = {"area": {}, "scores": {}, "melt": {}, "band_bias": {}}
    has_sar = bool(cube["has_sar"].sel(time=date))
    if has_sar:
        sar = day_values(cube, "sar", date)
        valid = day_values(cube, "valid", date).astype(bool) & np.isfinite(sar)
        out["sar_area"] = float((valid & (sar > metrics.BINARY_THRESHOLD)).sum()) * area
    score = score and has_sar
    if score:
        out["n_valid"] = float(valid.sum())
        out["sar_melt"] = metrics.masked_mean(sar, valid)
        out["band_count"] = np.bincount(band[valid], minlength=n_bands).astype(float)
    for name, p in preds.items():
        if not score and name not in ctx["area_models"]:
            out["area"][name] = np.nan
            continue
        pred = np.asarray(p.predict(cube, date).values, dtype=np.float32)
        out["area"][name] = float((land & (pred > metrics.BINARY_THRESHOLD)).sum()) * area
        if score:
            out["scores"][name] = metrics.image_metrics(
                pred, sar, valid, metrics.METRIC_NAMES, ctx["ssim_sigma"]
            )
            out["melt"][name] = metrics.masked_mean(pred, valid)
            d = (pred - sar)[valid]
            out["band_bias"][name] = np.bincount(band[valid], weights=d, minlength=n_bands)
    return out


def _grouped(values: xr.DataArray, n: xr.DataArray, groups, labels, dim: str) -> xr.DataArray:
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


def evaluate(
    cube: xr.Dataset,
    models: Sequence[str],
    split: str = "test",
    *,
    dates: pd.DatetimeIndex | None = None,
    train_dates: pd.DatetimeIndex | None = None,
    predictors: dict[str, Predictor] | None = None,
    use_cube: bool = True,
    area_days: Literal["all", "split"] = "all",
    workers: int = 1,
    ssim_sigma: float = metrics.SSIM_SIGMA,
    progress: bool = True,
) -> xr.Dataset:
    """Score ``models`` on the SAR days of ``split`` (schema in ``docs/results.md``).

    Args:
        cube: the analysis cube.
        models: model names (`meltwater.predictors.MODEL_NAMES`).
        split: split label in the cube's ``split`` variable (``test``, ``val``, ``train``).
        dates: days to score instead of the split's (must be SAR days of the cube).
        train_dates: dates baselines are fitted on and gaps are measured to; default the
            cube's ``train`` split.
        predictors: ready predictors by model name (default: `make_predictors`).
        use_cube: read the cube's ``pred_<model>`` where present (else always predict live).
        area_days: ``"all"``: melt area for every day of the cube (for models in `SLOW_LIVE`
            only where the cube stores their predictions, else NaN off the scored days);
            ``"split"``: scored days only.
        workers: threads over days (default 1: on the 2-core development machine 2 threads
            were not faster, see docs/results.md).
        ssim_sigma: Gaussian σ of the SSIM window.
        progress: show a tqdm bar.

    Raises:
        CubeError: the split has no SAR day in the cube.
    """
    labels = cube["split"].to_series().astype(str)
    if dates is None:
        dates = pd.DatetimeIndex(labels.index[labels.values == split], name="time")
    dates = pd.DatetimeIndex(dates, name="time").sort_values()
    has = cube["has_sar"].to_series().reindex(dates)
    if len(dates) == 0 or has.isna().any() or not has.astype(bool).all():
        raise CubeError(
            f"split {split!r}: need SAR days of the cube to score, got {len(dates)} date(s) "
            f"({int(has.fillna(False).astype(bool).sum())} with a SAR scene)"
        )
    if train_dates is None:
        train_dates = pd.DatetimeIndex(labels.index[labels.values == "train"], name="time")
    models = list(models)
    if predictors is None:
        predictors = make_predictors(cube, models, train_dates, use_cube=use_cube)
    preds = {m: predictors[m] for m in models}

    dem = np.asarray(cube["dem"].values, dtype=np.float64)
    edges = np.arange(0.0, max(np.nanmax(dem), 1.0) + ELEVATION_STEP_M, ELEVATION_STEP_M)
    band = np.clip(np.digitize(np.nan_to_num(dem), edges) - 1, 0, len(edges) - 2)
    ctx = {
        "land": np.asarray(cube["land"].values, dtype=bool),
        "band": band,
        "n_bands": len(edges) - 1,
        "area": pixel_area_km2(cube),
        "ssim_sigma": ssim_sigma,
        "area_models": [
            m for m, p in preds.items() if m not in SLOW_LIVE or isinstance(p, CubePredictor)
        ],
    }
    all_days = pd.DatetimeIndex(cube.indexes["time"] if area_days == "all" else dates, name="day")
    scored = set(dates)
    t0 = _time.perf_counter()
    with ThreadPoolExecutor(max(1, workers)) as pool:
        jobs = pool.map(lambda d: _one_day(cube, d, preds, d in scored, ctx), all_days)
        bar = tqdm(jobs, total=len(all_days), desc="evaluate", disable=not progress)
        rows = dict(zip(all_days, bar, strict=True))
    elapsed = _time.perf_counter() - t0
    ds = _assemble(cube, models, dates, train_dates, all_days, rows, edges)
    source = {m: _describe(p) for m, p in preds.items()}
    return ds.assign_attrs(
        source=str(cube.attrs.get("source", "")),
        split=split,
        n_train_scenes=int(cube["has_sar"].to_series().reindex(train_dates).fillna(False).sum()),
        prediction_source=json.dumps({m: s[0] for m, s in source.items()}),
        model_params=json.dumps({m: json.loads(s[1]) for m, s in source.items()}),
        pixel_area_km2=ctx["area"],
        threshold=metrics.BINARY_THRESHOLD,
        ssim_sigma=ssim_sigma,
        elevation_step_m=ELEVATION_STEP_M,
        area_models=",".join(ctx["area_models"]) if area_days == "all" else "",
        workers=workers,
        elapsed_s=round(elapsed, 2),
        created=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        meltwater_version=__version__,
        schema_version=SCHEMA_VERSION,
    )


def _assemble(cube, models, dates, train, days, rows, edges) -> xr.Dataset:
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
        ds[f"{dim}_melt_fraction"] = _grouped(melt, n, groups, labels, dim).transpose("model", dim)
        ds[f"{dim}_sar_melt_fraction"] = _grouped(sar_melt, n, groups, labels, dim)
        ds[f"{dim}_bias"] = _grouped(bias, n, groups, labels, dim).transpose("model", dim)
    gaps = _gap_days(dates, pd.DatetimeIndex(train))
    gbin = np.array(GAP_BINS)[gap_bin(gaps)]
    ds["gap_days"] = ("time", gaps)
    mae = ds["scores"].sel(metric="mae", drop=True)
    ds["gap_mae"] = _grouped(mae, n, gbin, GAP_BINS, "gap_bin").transpose("model", "gap_bin")
    ds["gap_images"] = ("gap_bin", np.array([(gbin == g).sum() for g in GAP_BINS]))
    ds["melt_area_km2"] = xr.DataArray(
        [[rows[d]["area"][m] for d in days] for m in models],
        dims=("model", "day"),
        coords={"model": models, "day": days.values},
    )
    ds["sar_melt_area_km2"] = ("day", np.array([rows[d].get("sar_area", np.nan) for d in days]))
    ds = _elevation(ds, models, dates, rows, edges)
    for k, u in (("melt_area_km2", "km2"), ("sar_melt_area_km2", "km2"), ("gap_days", "d")):
        ds[k].attrs["units"] = u
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
            sums[i, :, j] += rows[d]["band_bias"][m]
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


def default_models(cube: xr.Dataset, models_dir: Path | str | None = None) -> list[str]:
    """All baselines, plus ``unet`` if the cube stores its predictions or a model is registered.

    Args:
        cube: the analysis cube.
        models_dir: folder of ``models.yaml`` (default: the project's ``models/``).
    """
    from meltwater.predict import registry_entry

    try:
        has_unet = "pred_unet" in cube or bool(registry_entry(None, models_dir))
    except (KeyError, CheckpointError):
        has_unet = False
    return [m for m in MODEL_NAMES if m != "unet" or has_unet]


def write_results(ds: xr.Dataset, path: Path | str) -> Path:
    """Write the results Dataset as netCDF atomically (temporary file, then rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4")
    return path


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
