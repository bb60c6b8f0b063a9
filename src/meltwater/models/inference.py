"""UNet inference on whole days of an analysis cube: `UNetPredictor`.

Loads a checkpoint (or the registry's default model from ``models/models.yaml``), builds the
normalised input stack of a day with `meltwater.data.preprocess.model_inputs` and runs the
sliding-window inference of `meltwater.models.sliding`. On CPU the optimised path uses channels-last
memory and bfloat16 autocast where the CPU supports bf16 natively (``precision="auto"``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import xarray as xr

from meltwater import resources
from meltwater.config import load_yaml
from meltwater.errors import CheckpointError, InvalidArgumentError, UnknownNameError
from meltwater.models.checkpoint import CheckpointMeta, load_checkpoint
from meltwater.models.sliding import sliding_window
from meltwater.schema import pred_var

__all__ = [
    "Precision",
    "UNetPredictor",
    "auto_device",
    "configure_threads",
    "registry_entry",
]

Precision = Literal["auto", "fp32", "bf16"]


def configure_threads() -> int:
    """Cap torch's intra-op threads at the CPUs this process may use; returns the count."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if torch.get_num_threads() > n:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def auto_device(device: str | None = None) -> torch.device:
    """``device`` if given, else CUDA when available, else CPU."""
    if device and device != "auto":
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _bf16_ok(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(
        torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


def registry_entry(name: str | None = None, models_dir: Path | str | None = None) -> dict[str, Any]:
    """One entry of ``models/models.yaml`` (the ``default`` one when ``name`` is None).

    The returned ``checkpoint`` is an absolute path resolved against the registry's folder.

    Raises:
        CheckpointError: missing/malformed registry; KeyError: unknown name (lists the names).
    """
    models_dir = Path(models_dir) if models_dir else resources.models_dir()
    reg_path = models_dir / "models.yaml"
    if not reg_path.is_file():
        raise CheckpointError(f"model registry {reg_path} not found")
    # the catalog's YAML rules: safe_load, no alias bomb
    reg = load_yaml(reg_path.read_text(), f"model registry {reg_path}", CheckpointError) or {}
    if not isinstance(reg, dict):
        raise CheckpointError(f"model registry {reg_path}: expected a mapping with 'models'")
    models = reg.get("models")
    if not isinstance(models, dict) or not models:
        raise CheckpointError(f"model registry {reg_path}: expected a non-empty 'models' mapping")
    name = name or reg.get("default")
    if name is None:
        raise CheckpointError(f"model registry {reg_path}: no model named and no 'default' entry")
    if name not in models:
        raise UnknownNameError(
            f"unknown model {name!r} in {reg_path}; expected one of {sorted(models)}"
        )
    entry = dict(models[name])
    if "checkpoint" not in entry:
        raise CheckpointError(f"model registry {reg_path}: entry {name!r} has no 'checkpoint'")
    entry["name"] = name
    entry["checkpoint"] = str(models_dir / entry["checkpoint"])
    return entry


class UNetPredictor:
    """A trained UNet ready to predict full days.

    Args:
        model: the network (eval mode).
        meta: its checkpoint metadata (architecture, normalisation stats).
        device: ``"auto"`` (CUDA → CPU), ``"cpu"`` or ``"cuda"``.
        precision: ``"auto"`` (bf16 autocast + channels-last where bf16 is native), ``"fp32"``
            or ``"bf16"``.
        tile, stride, erode, batch_size: sliding-window parameters.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        meta: CheckpointMeta,
        *,
        device: str | None = "auto",
        precision: Precision = "auto",
        tile: int = 512,
        stride: int = 480,
        erode: int = 16,
        batch_size: int = 2,
    ) -> None:
        if precision not in ("auto", "fp32", "bf16"):
            raise InvalidArgumentError(
                f"precision: expected 'auto', 'fp32' or 'bf16', got {precision!r}"
            )
        configure_threads()
        self.device = auto_device(device)
        self.meta = meta
        self.config = meta.model_config
        self.bf16 = precision == "bf16" or (precision == "auto" and _bf16_ok(self.device))
        self.channels_last = precision != "fp32"
        self.model = model.to(self.device).eval()
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.window = {"tile": tile, "stride": stride, "erode": erode, "batch_size": batch_size}
        self._stats = None

    @classmethod
    def from_checkpoint(cls, path: Path | str, **kwargs: Any) -> UNetPredictor:
        """Load ``<dir>/<name>`` (or any of its files); kwargs go to the constructor."""
        model, meta = load_checkpoint(path)
        return cls(model, meta, **kwargs)

    @classmethod
    def from_registry(
        cls, name: str | None = None, models_dir: Path | str | None = None, **kwargs: Any
    ) -> UNetPredictor:
        """Load a model of ``models/models.yaml`` (its default entry when ``name`` is None)."""
        return cls.from_checkpoint(registry_entry(name, models_dir)["checkpoint"], **kwargs)

    @property
    def stats(self):
        """The checkpoint's normalisation stats as a `meltwater.data.preprocess.NormStats`."""
        if self._stats is None:
            from meltwater.data.preprocess import NormStats

            self._stats = NormStats.from_dict(self.meta.norm_stats)
        return self._stats

    def _prepare(self, batch: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            return batch.contiguous(memory_format=torch.channels_last)
        return batch

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        ctx = (
            torch.autocast(self.device.type, dtype=torch.bfloat16)
            if self.bf16
            else contextlib.nullcontext()
        )
        with ctx:
            return self.model(batch)

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """Predict a normalised (C, H, W) input stack; returns (H, W) float32 in [0, 1]."""
        if x.shape[0] != self.config.in_channels:
            raise ValueError(
                f"x: expected {self.config.in_channels} channels {list(self.config.channels)}, "
                f"got shape {x.shape}"
            )
        return sliding_window(
            self._forward,
            x,
            multiple=self.config.multiple,
            device=self.device,
            prepare=self._prepare,
            **self.window,
        )

    def predict(self, cube: xr.Dataset, date: Any, ablate: Sequence[str] = ()) -> xr.DataArray:
        """Melt fraction of one day of ``cube``, optionally with input channels ablated.

        Args:
            cube: the analysis cube (see docs/architecture.md).
            date: a day of ``cube.time``.
            ablate: channel names set to their neutral value (0 after normalisation).

        Returns:
            DataArray ``(y, x)`` float32 with the cube's coordinates.
        """
        from meltwater.data.preprocess import model_inputs

        x = model_inputs(cube, date, self.stats, ablate=tuple(ablate))
        pred = self.predict_array(np.asarray(x, dtype=np.float32))
        name = pred_var("unet", ablate)
        return xr.DataArray(
            pred,
            dims=("y", "x"),
            coords={"y": cube["y"], "x": cube["x"]},
            name=name,
            attrs={"model": self.meta.name, "ablate": ",".join(ablate), "units": "1"},
        )
