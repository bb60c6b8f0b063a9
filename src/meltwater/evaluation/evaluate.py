"""Score models against SAR over a split: an xarray results Dataset (netCDF) and a markdown table.

`evaluate` predicts every model on every day it needs (the cube's ``pred_<model>`` when
precompute stored it, else live), scores the split's SAR days with `metrics` and
builds the fixed results schema of `results` (documented in ``docs/results.md``). The UNet's
input ablations are scored as models of their own (``unet_no_dem``, `AblatedPredictor`), and
where the cube holds the scored UNet's spread ``unc_unet`` its errors are binned by it
(`meltwater.evaluation.calibration`).
Days can be processed in a thread pool (``workers``; numpy, scipy and zarr release the GIL) or
on a dask.distributed cluster (``scheduler``; `meltwater.evaluation.scaleout`).
The results constants and writers are re-exported here for convenience.
"""

from __future__ import annotations

import json
import logging
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

from meltwater import __version__
from meltwater.cluster import is_distributed
from meltwater.data.cube import day_map, pixel_area_km2, split_dates
from meltwater.data.provenance import model_days, same_model, stored_model
from meltwater.errors import CheckpointError, CubeError, InvalidArgumentError, UnknownNameError
from meltwater.evaluation import metrics
from meltwater.evaluation.calibration import spread_sums
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
from meltwater.models.registry import (
    MODEL_NAMES,
    BaselinePredictor,
    CubePredictor,
    Predictor,
    check_stored_model,
    get_predictor,
)
from meltwater.schema import CHANNELS, UNET, pred_var, run_name, unc_var

__all__ = [
    "GAP_BINS",
    "MONTHS",
    "SCHEMA_VERSION",
    "SEASON_DAYS",
    "SLOW_LIVE",
    "TABLE_METRICS",
    "AblatedPredictor",
    "ablation_predictors",
    "day_context",
    "default_models",
    "evaluate",
    "gap_bin",
    "make_predictors",
    "results_path",
    "results_table",
    "save_results",
    "write_results",
]

log = logging.getLogger(__name__)

# Too slow to predict live on every day on a CPU: their melt-area series covers the scored
# days only unless the cube stores their predictions (``meltwater precompute``).
SLOW_LIVE = ("unet", "random_forest")


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
        raise UnknownNameError(f"unknown model(s) {unknown}; valid: {list(MODEL_NAMES)}")
    kwargs = baseline_kwargs or {}
    out: dict[str, Predictor] = {}
    for m in models:
        live = _LazyPredictor(m, cube, train_dates, kwargs.get(m, {}))
        var = pred_var(m)
        if use_cube and var in cube:  # refuse a variable that mixes models before any work
            stored_model(var, cube[var].attrs, cube.encoding.get("source", ""))
            out[m] = CubePredictor(m, live)
        else:
            out[m] = live
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

    @property
    def model_id(self) -> str | None:
        return getattr(self.predictor, "model_id", None)

    def predict(self, cube, date, ablate=()):
        return self.predictor.predict(cube, date, ablate)


class AblatedPredictor:
    """The UNet with ``ablate`` channels off, named as a model of its own (``unet_no_dem``).

    ``unet`` runs it: a `CubePredictor` reads the cube's ``pred_unet_no_<channel>`` where stored
    and runs the UNet live on other days. A live UNet is first checked to be the model of the
    cube's ``pred_unet`` (when stored), so that the ablation table compares one model.
    """

    def __init__(self, unet: Predictor, ablate: Sequence[str]) -> None:
        self.unet = unet
        self.ablate = tuple(ablate)
        self.name = run_name(UNET, self.ablate)
        self._checked = isinstance(unet, CubePredictor)  # CubePredictor checks its own fills

    def predict(self, cube, date, ablate=()):
        if not self._checked and pred_var(UNET) in cube:
            check_stored_model(cube, pred_var(UNET), self.unet, f" (ablation {self.name})")
        self._checked = True
        return self.unet.predict(cube, date, self.ablate + tuple(ablate))


def ablation_predictors(
    cube: xr.Dataset, unet: Predictor, ablations: Sequence[str], use_cube: bool = True
) -> dict[str, AblatedPredictor]:
    """Predictors of the UNet with each channel of ``ablations`` off, by run name.

    With ``use_cube``, each reads the cube's ``pred_unet_no_<channel>`` on the days it stores
    (checked to hold the UNet that fills the other days live); else ``unet`` runs on every day.

    Raises:
        UnknownNameError: a channel not in `meltwater.schema.CHANNELS` (lists them).
    """
    unknown = [c for c in ablations if c not in CHANNELS]
    if unknown:
        raise UnknownNameError(f"ablations: unknown channel(s) {unknown}; valid: {list(CHANNELS)}")
    live = (unet.live or unet) if isinstance(unet, CubePredictor) else unet
    out: dict[str, AblatedPredictor] = {}
    for c in dict.fromkeys(ablations):
        var = pred_var(UNET, (c,))
        stored = use_cube and var in cube
        if stored:  # refuse a variable that mixes models before any work
            stored_model(var, cube[var].attrs, cube.encoding.get("source", ""))
        out[run_name(UNET, (c,))] = AblatedPredictor(
            CubePredictor(UNET, live) if stored else live, (c,)
        )
    return out


def _describe(p: Predictor, cube: xr.Dataset) -> tuple[str, str]:
    """(where predictions come from, fitted params as JSON) of a predictor."""
    where = "live"
    inner: Predictor | None
    if isinstance(p, AblatedPredictor):
        if not isinstance(p.unet, CubePredictor):
            return where, json.dumps({"ablate": list(p.ablate)})
        var = pred_var(UNET, p.ablate)
        live = p.unet.live
        used = isinstance(live, _LazyPredictor) and live._p is not None
        stored = stored_model(var, cube[var].attrs)
        params = {"ablate": list(p.ablate), **({"model_id": stored} if stored else {})}
        return ("cube+live" if used else "cube"), json.dumps(params)
    if isinstance(p, CubePredictor):
        stored = stored_model(pred_var(p.name), cube[pred_var(p.name)].attrs)
        where, live = "cube", p.live
        if not isinstance(live, _LazyPredictor) or live._p is None:
            return where, json.dumps({"model_id": stored} if stored else {})
        where, inner = "cube+live", live._p  # some days were missing from the store
    else:
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


def day_context(cube: xr.Dataset, preds: dict[str, Predictor], ssim_sigma: float) -> dict:
    """What `_one_day` needs besides the day: land, elevation bands, pixel area, SSIM σ, the
    models whose melt area is computed on days that are not scored, and whether the UNet's
    spread is binned (``spread``, with ``spread_note`` saying why not)."""
    band, edges = elevation_bands(cube["dem"].values)
    spread, note = _spread_source(cube, preds.get(UNET))
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


def _spread_source(cube: xr.Dataset, unet: Predictor | None) -> tuple[bool, str]:
    """Whether evaluation bins the UNet's errors by the cube's ``unc_unet``, and why not.

    The spread must be of the UNet that is scored: its model id (``unet_tta<N>:…``) must name
    the checkpoint of the stored ``pred_unet`` (or of the live UNet).
    """
    var = unc_var(UNET)
    if unet is None or var not in cube:
        return False, "" if unet is None else f"the cube has no {var} (meltwater precompute)"
    if model_days(cube[var].attrs) == {}:
        return False, f"{var} records no day"
    spread_id = stored_model(var, cube[var].attrs, cube.encoding.get("source", ""))
    if spread_id is None:  # a cube made by hand, without records
        return True, var
    if isinstance(unet, CubePredictor):
        unet_id = stored_model(pred_var(UNET), cube[pred_var(UNET)].attrs)
    else:
        unet_id = getattr(unet, "model_id", None)
    rest = spread_id.partition(":")[2]
    if unet_id is not None and not same_model(f"{UNET}:{rest}", unet_id):
        return False, f"{var} is of {spread_id}, the scored UNet is {unet_id}"
    return True, spread_id


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
        source = {m: _describe(p, cube) for m, p in preds.items()}
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
