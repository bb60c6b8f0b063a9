"""UNet inference on whole days of an analysis cube: `UNetPredictor`.

Loads a checkpoint (or the registry's default model from ``models/models.yaml``), builds the
normalised input stack of a day with `meltwater.data.preprocess.model_inputs` and runs the
sliding-window inference of `meltwater.models.sliding`.

Inference paths (`PATHS`): ``fp32`` (plain, contiguous memory), ``fp32_cl`` (channels-last) and
``bf16`` (channels-last + bfloat16 autocast, offered to ``auto`` only where bf16 is native).
``precision="auto"`` measures them at load on one tile of the configured size
(`choose_path`): the fastest path whose output stays within its tolerance of fp32 wins, and
fp32 unless another is clearly faster, so ``auto`` is never a path the timing found slower
than plain fp32 on the machine it runs on. The choice is cached per (device, model
architecture, tile, threads) for the process.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
    "PATHS",
    "InferencePath",
    "PathChoice",
    "Precision",
    "UNetPredictor",
    "auto_device",
    "candidate_paths",
    "choose_path",
    "configure_threads",
    "registry_entry",
]

log = logging.getLogger(__name__)

Precision = Literal["auto", "fp32", "fp32_cl", "bf16"]


@dataclass(frozen=True)
class InferencePath:
    """One way of running the network.

    Attributes:
        name: the `Precision` value that selects it.
        channels_last: weights and inputs in channels-last memory format.
        bf16: bfloat16 autocast.
        tolerance: the largest max |output - fp32 output| with which ``auto`` may choose it.
    """

    name: str
    channels_last: bool
    bf16: bool
    tolerance: float


PATHS: dict[str, InferencePath] = {
    p.name: p
    for p in (
        InferencePath("fp32", channels_last=False, bf16=False, tolerance=0.0),
        InferencePath("fp32_cl", channels_last=True, bf16=False, tolerance=1e-4),
        # bf16 keeps 8 significant bits. The shipped model on the random probe tile: max |Δ|
        # 0.02; on 26 default-demo days 0.001-0.086 (median 0.033; mean |Δ| <= 7e-4, >= 99.8 %
        # of land pixels agree at 0.1). 0.05 on the probe admits that rounding and rejects a
        # broken path (wrong layout, overflow, NaN: differences of 0.1 to 1).
        InferencePath("bf16", channels_last=True, bf16=True, tolerance=0.05),
    )
}
AUTO_MARGIN = 0.05  # another path must be > 5 % faster than fp32 at load to be chosen
AUTO_PROBE = 256  # side (px) of the tile ``auto`` times: a quarter of a 512 px tile's cost


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


def candidate_paths(device: torch.device) -> list[InferencePath]:
    """The paths ``auto`` times on ``device``: fp32, fp32 channels-last, bf16 where native."""
    names = ["fp32", "fp32_cl"] + (["bf16"] if _bf16_ok(device) else [])
    return [PATHS[n] for n in names]


@dataclass(frozen=True)
class PathChoice:
    """What ``auto`` measured at load and chose.

    Attributes:
        name: the chosen path (a key of `PATHS`).
        seconds: best time of one tile per candidate.
        max_diff: max |output - fp32 output| per candidate on that tile.
        rejected: candidates that failed the numerical check.
        tile: side of the square tile timed (px).
    """

    name: str
    seconds: dict[str, float]
    max_diff: dict[str, float]
    rejected: tuple[str, ...] = ()
    tile: int = 0

    def describe(self) -> str:
        parts = [
            f"{n} {1000 * t:.0f} ms (max |Δ| {self.max_diff[n]:.1e}"
            + (", rejected" if n in self.rejected else "")
            + ")"
            for n, t in self.seconds.items()
        ]
        return f"chose {self.name} on a {self.tile} px tile: " + "; ".join(parts)


def choose_path(
    runners: Mapping[str, Callable[[], np.ndarray]],
    *,
    repeats: int = 3,
    margin: float = AUTO_MARGIN,
    clock: Callable[[], float] | None = None,
    tile: int = 0,
) -> PathChoice:
    """Time each candidate path and keep the fastest that is numerically equal to fp32.

    Each runner predicts the same input through one path (``runners`` must hold ``"fp32"``).
    Every runner runs once untimed (warm-up, and its output checked against fp32's within the
    path's `InferencePath.tolerance`), then ``repeats`` interleaved timed rounds; a path's time
    is its best round. fp32 wins ties and keeps the choice unless the fastest accepted path is
    more than ``margin`` faster, so the choice is never a path measured slower than fp32.

    Args:
        runners: path name → zero-argument function returning the output array.
        repeats: timed rounds (≥ 1).
        margin: relative speed-up over fp32 a path needs to be chosen.
        clock: the timer in seconds (default `time.perf_counter`); injectable for tests.
        tile: recorded in the result.
    """
    clock = clock or _now
    if "fp32" not in runners:
        raise ValueError(f"runners: expected an 'fp32' entry, got {sorted(runners)}")
    outputs = {name: np.asarray(run(), dtype=np.float32) for name, run in runners.items()}
    ref = outputs["fp32"]
    max_diff = {}
    for name, out in outputs.items():
        diff = float(np.abs(out - ref).max()) if out.shape == ref.shape else math.inf
        max_diff[name] = diff if math.isfinite(diff) else math.inf
    rejected = tuple(n for n in runners if n != "fp32" and not max_diff[n] <= PATHS[n].tolerance)
    seconds = dict.fromkeys(runners, math.inf)
    for _ in range(max(1, repeats)):
        for name, run in runners.items():
            t0 = clock()
            run()
            seconds[name] = min(seconds[name], clock() - t0)
    accepted = [n for n in runners if n not in rejected]
    best = min(accepted, key=lambda n: (seconds[n], n != "fp32"))
    if best != "fp32" and not seconds[best] < (1.0 - margin) * seconds["fp32"]:
        best = "fp32"
    return PathChoice(best, seconds, max_diff, rejected, tile)


def _now() -> float:
    return time.perf_counter()


_CHOICES: dict[tuple, PathChoice] = {}  # (device, paths, architecture, probe, threads) → choice
_CHOICES_LOCK = threading.Lock()


def _autocast(device: torch.device, bf16: bool):
    if bf16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


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
        with _CHOICES_LOCK:
            if key in _CHOICES:
                return _CHOICES[key]
            gen = torch.Generator().manual_seed(0)
            x = torch.randn((1, self.config.in_channels, side, side), generator=gen)
            plain = model.to(memory_format=torch.contiguous_format)
            last = copy.deepcopy(model).to(memory_format=torch.channels_last)
            runners = {
                p.name: self._runner(plain if not p.channels_last else last, p, x) for p in paths
            }
            choice = choose_path(runners, tile=side)
            del last, runners
            _CHOICES[key] = choice
        log.info("UNetPredictor precision auto on %s: %s", self.device, choice.describe())
        return choice

    def _runner(
        self, model: torch.nn.Module, path: InferencePath, x: torch.Tensor
    ) -> Callable[[], np.ndarray]:
        fmt = torch.channels_last if path.channels_last else torch.contiguous_format

        def run() -> np.ndarray:
            batch = x.to(self.device).contiguous(memory_format=fmt)
            with torch.inference_mode(), _autocast(self.device, path.bf16):
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
        with _autocast(self.device, self.bf16):
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
