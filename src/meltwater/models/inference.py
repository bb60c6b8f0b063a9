"""UNet inference on whole days of an analysis cube: `UNetPredictor`.

Loads a checkpoint (or the registry's default model from ``models/models.yaml``), builds the
normalised input stack of a day with `meltwater.data.preprocess.model_inputs` and runs the
sliding-window inference of `meltwater.models.sliding` on the path `meltwater.models.device`
chooses (``precision="auto"``: measured at load).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr

from meltwater import resources
from meltwater.config import load_yaml
from meltwater.errors import CheckpointError, InvalidArgumentError, UnknownNameError
from meltwater.models.checkpoint import CheckpointMeta, load_checkpoint
from meltwater.models.device import (
    AUTO_PROBE,
    CHOICES,
    CHOICES_LOCK,
    PATHS,
    InferencePath,
    PathChoice,
    Precision,
    auto_device,
    autocast,
    candidate_paths,
    choose_path,
    configure_threads,
)
from meltwater.models.sliding import sliding_window
from meltwater.models.tiles import TiledRun, TilePlan
from meltwater.schema import pred_var

__all__ = ["UNetPredictor", "registry_entry"]

log = logging.getLogger(__name__)


def registry_entry(name: str | None = None, models_dir: Path | str | None = None) -> dict[str, Any]:
    """One entry of ``models/models.yaml`` (the ``default`` one when ``name`` is None).

    The returned ``checkpoint`` is an absolute path resolved against the registry's folder.

    Raises:
        CheckpointError: missing/malformed registry; UnknownNameError: unknown name (lists them).
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
        precision: ``"auto"`` (the fastest of `candidate_paths` on one tile, measured at load
            and numerically checked against fp32, see `choose_path`), or a path of `PATHS`:
            ``"fp32"``, ``"fp32_cl"`` (channels-last) or ``"bf16"`` (channels-last + bf16).
        tile, stride, erode, batch_size: sliding-window parameters.
        auto_paths: the paths ``auto`` may choose among (default: all of `candidate_paths`);
            fp32 is always one of them and bf16 only where it is native.

    Attributes:
        chosen_precision: the path in use (a key of `PATHS`).
        path_choice: what ``auto`` measured (`PathChoice`); None for an explicit precision.
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
        auto_paths: Sequence[str] | None = None,
    ) -> None:
        if precision != "auto" and precision not in PATHS:
            raise InvalidArgumentError(
                f"precision: expected 'auto' or one of {list(PATHS)}, got {precision!r}"
            )
        configure_threads()
        self.device = auto_device(device)
        self.meta = meta
        self.config = meta.model_config
        self.window = {"tile": tile, "stride": stride, "erode": erode, "batch_size": batch_size}
        self._stats = None
        model = model.to(self.device).eval()
        self.path_choice: PathChoice | None = None
        name: str = precision
        if precision == "auto":
            self.path_choice = self._auto_choice(model, auto_paths)
            name = self.path_choice.name
        path = PATHS[name]
        self.chosen_precision: str = path.name
        self.bf16 = path.bf16
        self.channels_last = path.channels_last
        fmt = torch.channels_last if path.channels_last else torch.contiguous_format
        self.model = model.to(memory_format=fmt)
        self._onnx = self._onnx_model(model) if path.onnx else None

    def _onnx_model(self, model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        """The network in ONNX Runtime (exported once per checkpoint and cached)."""
        if self.device.type != "cpu":
            raise InvalidArgumentError(f"precision 'onnx' runs on the CPU, not on {self.device}")
        from meltwater.models.onnx_runtime import OrtModel, export_onnx

        path = export_onnx(
            model,
            weights_sha256=self.meta.weights_sha256,
            architecture=self.config.to_dict(),
            in_channels=self.config.in_channels,
            multiple=self.config.multiple,
        )
        return OrtModel(path, torch.get_num_threads())

    def _auto_choice(self, model: torch.nn.Module, allowed: Sequence[str] | None) -> PathChoice:
        """`choose_path` on one probe tile, once per process and setup."""
        unknown = sorted(set(allowed or ()) - set(PATHS))
        if unknown:
            raise UnknownNameError(f"auto_paths: unknown {unknown}; expected some of {list(PATHS)}")
        paths = [
            p
            for p in candidate_paths(self.device)
            if allowed is None or p.name in (*allowed, "fp32")
        ]
        multiple = self.config.multiple
        side = max(multiple, min(self.window["tile"], AUTO_PROBE) // multiple * multiple)
        key = (
            str(self.device),
            tuple(p.name for p in paths),
            json.dumps(self.config.to_dict(), sort_keys=True),
            side,
            torch.get_num_threads(),
        )
        with CHOICES_LOCK:
            if key in CHOICES:
                return CHOICES[key]
            gen = torch.Generator().manual_seed(0)
            x = torch.randn((1, self.config.in_channels, side, side), generator=gen)
            plain = model.to(memory_format=torch.contiguous_format)
            last = copy.deepcopy(model).to(memory_format=torch.channels_last)
            runners = {
                p.name: self._runner(
                    self._onnx_model(plain) if p.onnx else last if p.channels_last else plain, p, x
                )
                for p in paths
            }
            choice = choose_path(runners, tile=side)
            del last, runners
            CHOICES[key] = choice
        log.info("UNetPredictor precision auto on %s: %s", self.device, choice.describe())
        return choice

    def _runner(
        self, model: Callable[[torch.Tensor], torch.Tensor], path: InferencePath, x: torch.Tensor
    ) -> Callable[[], np.ndarray]:
        fmt = torch.channels_last if path.channels_last else torch.contiguous_format

        def run() -> np.ndarray:
            batch = x.to(self.device).contiguous(memory_format=fmt)
            with torch.inference_mode(), autocast(self.device, path.bf16):
                out = model(batch)
            return out.float().cpu().numpy()

        return run

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
        if self._onnx is not None:
            return self._onnx(batch)
        with autocast(self.device, self.bf16):
            return self.model(batch)

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """Predict a normalised (C, H, W) input stack; returns (H, W) float32 in [0, 1]."""
        if x.shape[0] != self.config.in_channels:
            raise InvalidArgumentError(
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

    def tiled(self, cube: xr.Dataset, date: Any, ablate: Sequence[str] = ()) -> TiledRun:
        """`predict`'s sliding-window run of one day, to be run tile by tile (`TiledRun`): the
        tiles under a window first, the rest later, each run reading only the inputs under its
        tiles (`model_inputs` of a box); the mosaic equals `predict`'s values."""
        from meltwater.data.preprocess import model_inputs

        stats, off = self.stats, tuple(ablate)
        model_inputs(cube, date, stats, ablate=off, box=(0, 1, 0, 1))  # bad names raise here

        def inputs(box: tuple[int, int, int, int]) -> np.ndarray:
            return np.asarray(model_inputs(cube, date, stats, ablate=off, box=box), np.float32)

        w = self.window
        plan = TilePlan.build(
            cube.sizes["y"],
            cube.sizes["x"],
            tile=w["tile"],
            stride=w["stride"],
            erode=w["erode"],
            multiple=self.config.multiple,
        )
        return TiledRun(
            self._forward,
            inputs,
            plan,
            batch_size=w["batch_size"],
            device=self.device,
            prepare=self._prepare,
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
