"""One way to get any model's prediction of a day: `get_predictor`.

A predictor has a ``name`` and ``predict(cube, date, ablate=()) -> xr.DataArray`` (dims
``(y, x)``, float32 in [0, 1], the cube's coordinates). Baselines are fitted on the training
dates when the predictor is made and take no ablation; ``"unet"`` loads a trained model from
``models/models.yaml`` (`meltwater.models.inference.UNetPredictor`) and may ablate input channels.
`CubePredictor` reads the ``pred_<model>`` variables that ``meltwater precompute`` stored in the
cube; it never fills a day the store lacks with another model than the one stored
(`check_stored_model`). Predictors name their model in ``model_id`` (`meltwater.data.provenance`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
import xarray as xr

from meltwater.data.cube import split_dates
from meltwater.data.provenance import same_model, stored_model
from meltwater.errors import (
    CheckpointError,
    CubeError,
    InvalidArgumentError,
    MixedModelsError,
    UnknownNameError,
)
from meltwater.models.baselines import BASELINES, Baseline, get_baseline
from meltwater.schema import pred_var

__all__ = [
    "MODEL_NAMES",
    "BaselinePredictor",
    "CubePredictor",
    "Predictor",
    "UNetWrapper",
    "check_stored_model",
    "get_predictor",
    "model_id_of",
]

MODEL_NAMES: tuple[str, ...] = ("unet", *BASELINES)


class Predictor(Protocol):
    """What every predictor offers."""

    name: str

    def predict(
        self, cube: xr.Dataset, date: pd.Timestamp | str, ablate: Sequence[str] = ()
    ) -> xr.DataArray: ...


class BaselinePredictor:
    """A fitted baseline behind the predictor interface (no ablation)."""

    def __init__(self, baseline: Baseline) -> None:
        self.baseline = baseline
        self.name = baseline.name
        self.model_id = baseline.name

    def predict(
        self, cube: xr.Dataset, date: pd.Timestamp | str, ablate: Sequence[str] = ()
    ) -> xr.DataArray:
        if tuple(ablate):
            raise InvalidArgumentError(
                f"ablate={list(ablate)!r}: channel ablation applies to the UNet only, "
                f"not to the baseline {self.name!r}"
            )
        return self.baseline.predict(cube, date)


class UNetWrapper:
    """The trained UNet (`meltwater.models.inference.UNetPredictor`) named ``"unet"``."""

    name = "unet"

    def __init__(self, model: Any) -> None:
        self.model = model

    @property
    def model_id(self) -> str:
        """``unet:<checkpoint name>:<weights sha256[:16]>`` (compare with `same_model`)."""
        return unet_model_id(self.model.meta)

    def predict(
        self, cube: xr.Dataset, date: pd.Timestamp | str, ablate: Sequence[str] = ()
    ) -> xr.DataArray:
        return self.model.predict(cube, pd.Timestamp(date), ablate=tuple(ablate))


class CubePredictor:
    """Reads predictions stored in the cube by ``meltwater precompute``.

    A day the store left empty (all NaN) falls back to ``live`` when given, else raises.
    """

    def __init__(self, name: str, live: Predictor | None = None) -> None:
        self.name = name
        self.live = live

    def predict(
        self, cube: xr.Dataset, date: pd.Timestamp | str, ablate: Sequence[str] = ()
    ) -> xr.DataArray:
        var = pred_var(self.name, ablate)
        date = pd.Timestamp(date)
        if var in cube:
            values = np.asarray(cube[var].sel(time=date).values, dtype=np.float32)
            if np.isfinite(values).any():
                return xr.DataArray(
                    np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0),
                    dims=("y", "x"),
                    coords={"y": cube["y"], "x": cube["x"], "time": date},
                    name=var,
                )
        if self.live is None:
            raise CubeError(f"cube has no precomputed {var!r} for {date.date()}")
        if var in cube:  # fill the day with the stored model only
            check_stored_model(cube, var, self.live, f" (needed for {date.date()}, not stored)")
        return self.live.predict(cube, date, ablate)


def model_id_of(predictor: Any) -> str | None:
    """The ``model_id`` of a predictor, or of a bare `meltwater.models.inference.UNetPredictor`."""
    if getattr(predictor, "model_id", None) is not None:
        return predictor.model_id
    meta = getattr(predictor, "meta", None)
    return None if meta is None else unet_model_id(meta)


def unet_model_id(meta: Any) -> str:
    """``unet:<checkpoint name>:<weights sha256[:16]>`` of a checkpoint's metadata."""
    return f"unet:{meta.name}:{meta.weights_sha256[:16]}"


def check_stored_model(cube: xr.Dataset, var: str, live: Any, why: str = "") -> None:
    """Raise unless ``live`` (a predictor with ``model_id``) is the model stored in ``var``.

    Used wherever a live prediction is put beside or in place of stored ones (evaluation of
    days the store lacks, the dashboard's live ablation vs the stored ``pred_unet``). Nothing
    is checked when ``var`` records no model.

    Raises:
        MixedModelsError: another model is stored, or ``var`` mixes models.
    """
    where = cube.encoding.get("source", "")
    stored = stored_model(var, cube[var].attrs, where)
    live_id = model_id_of(live)
    if stored is None or live_id is None or same_model(stored, live_id):
        return
    raise MixedModelsError(
        f"{var}{f' in {where}' if where else ''} holds the predictions of {stored}, but the "
        f"live model is {live_id}{why}: run `meltwater precompute` with the current model, "
        "or evaluate with --live"
    )


def get_predictor(
    name: str,
    cube: xr.Dataset,
    train_dates: pd.DatetimeIndex | None = None,
    **kwargs: Any,
) -> Predictor:
    """A ready predictor of model ``name``.

    Args:
        name: one of `MODEL_NAMES`.
        cube: the analysis cube (baselines are fitted on it).
        train_dates: training dates for the baselines; default the cube's ``train`` split.
            Ignored by ``"unet"`` (already trained).
        **kwargs: baseline constructor arguments, or for ``"unet"`` the arguments of
            ``UNetPredictor.from_registry`` (``name`` → ``model``, ``models_dir``, ``device``, …).

    Raises:
        KeyError: unknown model name (lists the valid names).
        CheckpointError: ``"unet"`` without an available inference module or checkpoint.
    """
    if name == "unet":
        try:
            from meltwater.models.inference import UNetPredictor
        except ImportError as e:
            raise CheckpointError(
                f"model 'unet' needs meltwater.models.inference, which failed: {e}"
            ) from e
        model_name = kwargs.pop("model", None)
        return UNetWrapper(UNetPredictor.from_registry(model_name, **kwargs))
    if name not in BASELINES:
        raise UnknownNameError(f"unknown model {name!r}; valid: {list(MODEL_NAMES)}")
    dates = split_dates(cube, "train") if train_dates is None else pd.DatetimeIndex(train_dates)
    return BaselinePredictor(get_baseline(name, **kwargs).fit(cube, dates))
