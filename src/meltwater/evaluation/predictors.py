"""The predictors evaluation scores: stored or live models, the UNet's ablations, their sources.

`make_predictors` reads the cube's ``pred_<model>`` where stored, else predicts live (fitted
lazily); `ablation_predictors` scores the UNet with one input off as a model of its own
(``unet_no_dem``); `describe` says where a predictor's maps came from; `spread_source` says
whether the cube's ``unc_unet`` is the scored UNet's spread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

import pandas as pd
import xarray as xr

from meltwater.data.provenance import model_days, same_model, stored_model
from meltwater.errors import UnknownNameError
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
    "AblatedPredictor",
    "LazyPredictor",
    "ablation_predictors",
    "describe",
    "make_predictors",
    "spread_source",
]


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
    A model given ``baseline_kwargs`` is always live: the stored maps were made with its
    defaults.

    Raises:
        KeyError: an unknown model name (lists the valid names).
    """
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown:
        raise UnknownNameError(f"unknown model(s) {unknown}; valid: {list(MODEL_NAMES)}")
    kwargs = baseline_kwargs or {}
    out: dict[str, Predictor] = {}
    for m in models:
        live = LazyPredictor(m, cube, train_dates, kwargs.get(m, {}))
        var = pred_var(m)
        if use_cube and var in cube and m not in kwargs:  # refuse a mixed variable up front
            stored_model(var, cube[var].attrs, cube.encoding.get("source", ""))
            out[m] = CubePredictor(m, live)
        else:
            out[m] = live
    return out


class LazyPredictor:
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


def describe(p: Predictor, cube: xr.Dataset) -> tuple[str, str]:
    """(where predictions come from, fitted params as JSON) of a predictor."""
    where = "live"
    inner: Predictor | None
    if isinstance(p, AblatedPredictor):
        if not isinstance(p.unet, CubePredictor):
            return where, json.dumps({"ablate": list(p.ablate)})
        var = pred_var(UNET, p.ablate)
        live = p.unet.live
        used = isinstance(live, LazyPredictor) and live._p is not None
        stored = stored_model(var, cube[var].attrs)
        params = {"ablate": list(p.ablate), **({"model_id": stored} if stored else {})}
        return ("cube+live" if used else "cube"), json.dumps(params)
    if isinstance(p, CubePredictor):
        stored = stored_model(pred_var(p.name), cube[pred_var(p.name)].attrs)
        where, live = "cube", p.live
        if not isinstance(live, LazyPredictor) or live._p is None:
            return where, json.dumps({"model_id": stored} if stored else {})
        where, inner = "cube+live", live._p  # some days were missing from the store
    else:
        inner = p._p if isinstance(p, LazyPredictor) else p
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


def spread_source(cube: xr.Dataset, unet: Predictor | None) -> tuple[bool, str]:
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
