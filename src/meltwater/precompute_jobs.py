"""What precompute computes: each variable's model, ablation and id, and `DayRunner` (one day).

`jobs` maps each variable to (model, ablated channels): ``pred_<model>``, the UNet's single
channel ablations and, with ``uncertainty`` TTA members, the UNet's spread ``unc_unet``; the
ablations and the spread are computed on SAR days only (`sar_days_only`). `job_ids` gives the
model id each variable's days are recorded under. `DayRunner` predicts a day's jobs and writes
their chunks; the spread job runs the TTA members (`meltwater.models.tta`), whose identity
member is the day's plain UNet prediction.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
import zarr

from meltwater.cluster import worker_states
from meltwater.data.overviews import write_day
from meltwater.errors import InvalidArgumentError
from meltwater.models.tta import members_of, tta_model_id, tta_predict
from meltwater.schema import UNET, is_unc_var, pred_var, unc_var

__all__ = ["DayRunner", "check_uncertainty", "job_ids", "jobs", "model_id", "sar_days_only"]


def model_id(name: str, models_dir: str | None) -> str:
    if name != "unet":
        return name
    from meltwater.models.checkpoint import read_meta
    from meltwater.models.inference import registry_entry

    entry = registry_entry(None, models_dir)
    return f"unet:{entry['name']}:{read_meta(entry['checkpoint']).weights_sha256[:16]}"


def jobs(
    models: Sequence[str], ablations: Sequence[str], uncertainty: int = 0
) -> dict[str, tuple[str, tuple]]:
    """Variable name → (model, ablated channels); ``unc_unet`` when ``uncertainty`` members."""
    jobs: dict[str, tuple[str, tuple]] = {pred_var(m): (m, ()) for m in models}
    if UNET in models:
        jobs.update({pred_var(UNET, (c,)): (UNET, (c,)) for c in ablations})
        if uncertainty:
            jobs[unc_var(UNET)] = (UNET, ())
    return jobs


def sar_days_only(var: str, ablate: tuple) -> bool:
    """Ablations and uncertainty are computed on SAR days only (what evaluation scores)."""
    return bool(ablate) or is_unc_var(var)


def check_uncertainty(models: Sequence[str], uncertainty: int) -> None:
    """Refuse a TTA member count other than 0, 4 or 8, or a spread without the UNet.

    Raises:
        InvalidArgumentError: ``uncertainty`` not 0, 4 or 8, or without ``unet``.
    """
    if uncertainty:
        members_of(uncertainty)  # 4 or 8
        if UNET not in models:
            raise InvalidArgumentError(
                f"uncertainty={uncertainty}: the TTA spread is the UNet's; add 'unet' to models"
            )


def job_ids(
    models: Sequence[str], ablations: Sequence[str], uncertainty: int, models_dir: str | None
) -> dict[str, str]:
    """Variable → the model id its days are recorded under (`jobs`); ``unc_unet``'s names the
    TTA members and the UNet's checkpoint (``unet_tta<N>:<name>:<hash>``)."""
    planned = jobs(models, ablations, uncertainty)
    ids = {var: model_id(m, models_dir) for var, (m, _) in planned.items()}
    if uncertainty:
        ids[unc_var(UNET)] = tta_model_id(ids[pred_var(UNET)], uncertainty)
    return ids


class DayRunner:
    """Predicts and writes days of one precompute run; loads the cube and models once per process.

    The loaded state belongs to the run, never to the module: a second run (a retrained
    checkpoint, another store) builds its own. Threads of a local run share one runner; on a
    dask.distributed cluster the runner is pickled without its state and each worker keeps one
    state per run (`meltwater.cluster.worker_states`, emptied by `forget_on_workers` when the
    run ends).
    """

    def __init__(
        self,
        path: str,
        models: tuple[str, ...],
        models_dir: str | None,
        run: str,
        uncertainty: int = 0,
    ):
        self.path, self.models, self.models_dir, self.run = path, models, models_dir, run
        self.uncertainty = uncertainty
        self._lock = threading.Lock()
        self._state: tuple[xr.Dataset, dict[str, Any]] | None = None

    def __reduce__(self) -> tuple[type, tuple[str, tuple[str, ...], str | None, str, int]]:
        return DayRunner, (self.path, self.models, self.models_dir, self.run, self.uncertainty)

    def _load(self) -> tuple[xr.Dataset, dict[str, Any]]:
        from meltwater.data.cube import open_cube
        from meltwater.models.registry import get_predictor

        cube = open_cube(self.path)
        extra = {"models_dir": self.models_dir} if self.models_dir else {}
        preds = {m: get_predictor(m, cube, **(extra if m == "unet" else {})) for m in self.models}
        return cube, preds

    def state(self) -> tuple[xr.Dataset, dict[str, Any]]:
        """The cube and fitted predictors of this run in this process, built once."""
        states = worker_states()
        with self._lock:
            if states is not None:  # on a cluster worker: one state per run
                if self.run not in states:
                    states[self.run] = self._load()
                return states[self.run]
            if self._state is None:
                self._state = self._load()
            return self._state

    def __call__(self, index: int, jobs: list[tuple[str, str, tuple]]) -> tuple[int, list[str]]:
        """Predict the (variable, model, ablation) jobs of day ``index`` and write its chunks.

        An ``unc_<model>`` job runs the TTA members (`meltwater.models.tta`); its identity
        member is the day's plain prediction, reused when ``pred_<model>`` is due too.
        """
        cube, preds = self.state()
        date = cube.indexes["time"][index]
        group = zarr.open_group(self.path, mode="r+")
        plain: dict[str, np.ndarray] = {}
        for var, model, _ in jobs:
            if is_unc_var(var):
                pred, spread = tta_predict(preds[model], cube, date, self.uncertainty)
                plain[pred_var(model)] = pred
                write_day(group, var, index, spread.astype(np.float16))
        for var, model, ablate in jobs:
            if is_unc_var(var):
                continue
            pred = plain[var] if var in plain else preds[model].predict(cube, date, ablate=ablate)
            write_day(group, var, index, np.asarray(pred, dtype=np.float16))  # and its levels
        return index, [v for v, _, _ in jobs]
