"""Score models against SAR over a split: an xarray results Dataset (netCDF) and a markdown table.

`evaluate` predicts every model on every day it needs (the cube's ``pred_<model>`` when
precompute stored it, else live), scores the split's SAR days with `metrics` and
builds the fixed results schema of `results` (documented in ``docs/results.md``). The UNet's
input ablations are scored as models of their own (``unet_no_dem``; the predictors are made in
`meltwater.evaluation.predictors`), and where the cube holds the scored UNet's spread
``unc_unet`` its errors are binned by it (`meltwater.evaluation.calibration`).
Days can be processed in a thread pool (``workers``; numpy, scipy and zarr release the GIL) or
on a dask.distributed cluster (``scheduler``; `meltwater.evaluation.scaleout`).
The results constants and writers are re-exported here for convenience.
"""

from __future__ import annotations

import json
import logging
import time as _time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from meltwater import __version__
from meltwater.cluster import is_distributed
from meltwater.data.cube import day_map, pixel_area_km2, split_dates
from meltwater.errors import CheckpointError, CubeError, InvalidArgumentError
from meltwater.evaluation import metrics
from meltwater.evaluation.calibration import spread_sums
from meltwater.evaluation.predictors import (
    AblatedPredictor,
    ablation_predictors,
    describe,
    make_predictors,
    spread_source,
)
from meltwater.evaluation.results import (
    ELEVATION_STEP_M,
    GAP_BINS,
    MONTHS,
    SCHEMA_VERSION,
    SEASON_DAYS,
    TABLE_METRICS,
    assemble,
    elevation_bands,
    gap_bin,
    results_path,
    results_table,
    save_results,
    write_results,
)
from meltwater.evaluation.scorecard import group_sums
from meltwater.evaluation.scoring import day_truth, score_day
from meltwater.evaluation.thresholds import THRESHOLDS, contingency
from meltwater.models.registry import MODEL_NAMES, CubePredictor, Predictor
from meltwater.schema import UNET, pred_var, unc_var

__all__ = [
    "GAP_BINS",
    "MONTHS",
    "SCHEMA_VERSION",
    "SEASON_DAYS",
    "SLOW_LIVE",
    "TABLE_METRICS",
    "day_context",
    "default_models",
    "evaluate",
    "gap_bin",
    "results_path",
    "results_table",
    "save_results",
    "write_results",
]

log = logging.getLogger(__name__)

# Too slow to predict live on every day on a CPU: their melt-area series covers the scored
# days only unless the cube stores their predictions (``meltwater precompute``).
SLOW_LIVE = ("unet", "random_forest")


def day_context(cube: xr.Dataset, preds: dict[str, Predictor], ssim_sigma: float) -> dict:
    """What `_one_day` needs besides the day: land, elevation bands, pixel area, SSIM σ, the
    models whose melt area is computed on days that are not scored, and whether the UNet's
    spread is binned (``spread``, with ``spread_note`` saying why not)."""
    band, edges = elevation_bands(cube["dem"].values)
    spread, note = spread_source(cube, preds.get(UNET))
    return {
        "land": np.asarray(cube["land"].values, dtype=bool),
        "band": band,
        "edges": edges,
        "n_bands": len(edges) - 1,
        "area": pixel_area_km2(cube),
        "ssim_sigma": ssim_sigma,
        "spread": spread,
        "spread_note": note,
        "area_models": [
            m
            for m, p in preds.items()
            if not isinstance(p, AblatedPredictor)  # stored on SAR days only
            and (m not in SLOW_LIVE or isinstance(p, CubePredictor))
        ],
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
    out: dict = {"area": {}, "scores": {}, "melt": {}, "band_sums": {}, "counts": {}}
    truth = day_truth(cube, date)
    if truth is not None:
        out["sar_area"] = truth.melt_area_km2(area)
    scored = truth if score else None
    if scored is not None:
        valid = scored.valid
        out["n_valid"] = float(valid.sum())
        out["sar_melt"] = scored.melt_fraction
        out["band_count"] = np.bincount(band[valid], minlength=n_bands).astype(float)
    for name, p in preds.items():
        if scored is None and name not in ctx["area_models"]:
            out["area"][name] = np.nan
            continue
        pred = np.asarray(p.predict(cube, date).values, dtype=np.float32)
        scores = score_day(pred, scored, land, area, metrics.METRIC_NAMES, ctx["ssim_sigma"])
        out["area"][name] = scores.pop("melt_area_km2")
        if scored is not None:
            out["melt"][name] = scores.pop("melt_fraction")
            out["scores"][name] = scores
            out["band_sums"][name] = group_sums(pred, scored.sar, valid, band, n_bands)
            out["counts"][name] = contingency(pred, scored.sar, valid, THRESHOLDS)
            if name == UNET and ctx["spread"]:
                spread = day_map(cube, unc_var(UNET), date)
                if np.isfinite(spread).any():  # a day the store records
                    out["spread_sums"] = spread_sums(pred, scored.sar, spread, valid)
    return out


def evaluate(
    cube: xr.Dataset,
    models: Sequence[str],
    split: str = "test",
    *,
    dates: pd.DatetimeIndex | None = None,
    train_dates: pd.DatetimeIndex | None = None,
    predictors: dict[str, Predictor] | None = None,
    ablations: Sequence[str] = (),
    use_cube: bool = True,
    area_days: Literal["all", "split"] = "all",
    workers: int | None = 1,
    scheduler: str | None = None,
    ssim_sigma: float = metrics.SSIM_SIGMA,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> xr.Dataset:
    """Score ``models`` on the SAR days of ``split`` (schema in ``docs/results.md``).

    Args:
        cube: the analysis cube.
        models: model names (`meltwater.models.registry.MODEL_NAMES`).
        split: split label in the cube's ``split`` variable (``test``, ``val``, ``train``).
        dates: days to score instead of the split's (must be SAR days of the cube).
        train_dates: dates baselines are fitted on and gaps are measured to; default the
            cube's ``train`` split.
        predictors: ready predictors by model name (default: `make_predictors`).
        ablations: UNet input channels to ablate one at a time (`meltwater.schema.CHANNELS`);
            each is scored as a model of its own, ``unet_no_<channel>``, after ``models``
            (read from the cube's ``pred_unet_no_<channel>`` where stored, else run live).
            Needs ``unet`` among ``models``.
        use_cube: read the cube's ``pred_<model>`` where present (else always predict live).
        area_days: ``"all"``: melt area for every day of the cube (for models in `SLOW_LIVE`
            only where the cube stores their predictions, else NaN off the scored days);
            ``"split"``: scored days only.
        workers: threads over days (default 1: on the 2-core development machine 2 threads
            were not faster, see docs/results.md); with ``scheduler="local"`` the
            LocalCluster's worker processes (None: the CPUs available).
        scheduler: None (threads in this process), ``"local"`` (a LocalCluster) or a
            dask.distributed scheduler address: each worker opens the cube from its store and
            loads each model once (`meltwater.evaluation.scaleout`); same results.
        ssim_sigma: Gaussian σ of the SSIM window.
        n_boot: resamples of the score cards' 90 % bootstrap intervals over images.
        seed: seed of those resamples.
        progress: show a tqdm bar.

    Raises:
        CubeError: the split has no SAR day in the cube.
        InvalidArgumentError: ``ablations`` without ``unet`` among ``models``.
    """
    if dates is None:
        dates = split_dates(cube, split)
    dates = pd.DatetimeIndex(dates, name="time").sort_values()
    has = cube["has_sar"].to_series().reindex(dates)
    if len(dates) == 0 or has.isna().any() or not has.astype(bool).all():
        raise CubeError(
            f"split {split!r}: need SAR days of the cube to score, got {len(dates)} date(s) "
            f"({int(has.fillna(False).astype(bool).sum())} with a SAR scene)"
        )
    if train_dates is None:
        train_dates = split_dates(cube, "train")
    models = list(models)
    if ablations and UNET not in models:
        raise InvalidArgumentError(
            f"ablations {list(ablations)}: the UNet's ablations need 'unet' among the models "
            f"{models}"
        )
    predictors_default = predictors is None
    if predictors is None:
        predictors = make_predictors(cube, models, train_dates, use_cube=use_cube)
    preds = {m: predictors[m] for m in models}
    base_models = tuple(models)
    unet = preds.get(UNET)
    if ablations and unet is not None:
        runs = ablation_predictors(cube, unet, ablations, use_cube)
        preds.update(runs)
        models += list(runs)

    ctx = day_context(cube, preds, ssim_sigma)
    spread_note = ctx["spread_note"]
    if not ctx["spread"] and spread_note:
        log.warning("evaluate: no spread-vs-error calibration: %s", spread_note)
    all_days = pd.DatetimeIndex(cube.indexes["time"] if area_days == "all" else dates, name="day")
    scored = set(dates)
    t0 = _time.perf_counter()
    if scheduler is not None and is_distributed(scheduler):
        from meltwater.evaluation.scaleout import cluster_rows

        if not predictors_default:
            raise InvalidArgumentError("predictors: cannot be sent to a cluster; leave it None")
        rows, source = cluster_rows(
            cube, base_models, tuple(ablations), train_dates, use_cube, all_days, scored,
            ssim_sigma, scheduler, workers, progress,
        )  # fmt: skip
    else:
        with ThreadPoolExecutor(max(1, workers or 1)) as pool:
            jobs = pool.map(lambda d: _one_day(cube, d, preds, d in scored, ctx), all_days)
            bar = tqdm(jobs, total=len(all_days), desc="evaluate", disable=not progress)
            rows = dict(zip(all_days, bar, strict=True))
        source = {m: describe(p, cube) for m, p in preds.items()}
    elapsed = _time.perf_counter() - t0
    ds = assemble(
        models, dates, train_dates, all_days, rows, ctx["edges"], n_boot=n_boot, seed=seed
    )
    return ds.assign_attrs(
        source=str(cube.attrs.get("source", "")),
        split=split,
        n_train_scenes=int(cube["has_sar"].to_series().reindex(train_dates).fillna(False).sum()),
        prediction_source=json.dumps({m: s[0] for m, s in source.items()}),
        model_params=json.dumps({m: json.loads(s[1]) for m, s in source.items()}),
        pixel_area_km2=ctx["area"],
        threshold=metrics.BINARY_THRESHOLD,
        ssim_sigma=ssim_sigma,
        ablations=",".join(m for m, p in preds.items() if isinstance(p, AblatedPredictor)),
        calibration=spread_note,
        n_boot=n_boot,
        seed=seed,
        elevation_step_m=ELEVATION_STEP_M,
        area_models=",".join(ctx["area_models"]) if area_days == "all" else "",
        workers=int(workers or 0),
        elapsed_s=round(elapsed, 2),
        created=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        meltwater_version=__version__,
        schema_version=SCHEMA_VERSION,
    )


def default_models(cube: xr.Dataset, models_dir: Path | str | None = None) -> list[str]:
    """All baselines, plus ``unet`` if the cube stores its predictions or a model is registered.

    Args:
        cube: the analysis cube.
        models_dir: folder of ``models.yaml`` (default: the project's ``models/``).
    """
    from meltwater.models.inference import registry_entry

    try:
        has_unet = pred_var("unet") in cube or bool(registry_entry(None, models_dir))
    except (KeyError, CheckpointError):
        has_unet = False
    return [m for m in MODEL_NAMES if m != "unet" or has_unet]
