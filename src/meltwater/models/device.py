"""Where and how the network runs: device, threads and the inference paths ``auto`` picks from.

Inference paths (`PATHS`): ``fp32`` (plain, contiguous memory), ``fp32_cl`` (channels-last) and
``bf16`` (channels-last + bfloat16 autocast, offered to ``auto`` only where bf16 is native).
``precision="auto"`` of `meltwater.models.inference.UNetPredictor` measures them at load on one
tile (`choose_path`): the fastest path whose output stays within its tolerance of fp32 wins, and
fp32 unless another is clearly faster, so ``auto`` is never a path the timing found slower than
plain fp32 on the machine it runs on. Choices are kept per process in `CHOICES`.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

__all__ = [
    "AUTO_MARGIN",
    "AUTO_PROBE",
    "PATHS",
    "InferencePath",
    "PathChoice",
    "Precision",
    "auto_device",
    "autocast",
    "bf16_native",
    "candidate_paths",
    "choose_path",
    "configure_threads",
]

Precision = Literal["auto", "fp32", "fp32_cl", "bf16", "onnx"]


@dataclass(frozen=True)
class InferencePath:
    """One way of running the network.

    Attributes:
        name: the `Precision` value that selects it.
        channels_last: weights and inputs in channels-last memory format.
        bf16: bfloat16 autocast.
        tolerance: the largest max |output - fp32 output| with which ``auto`` may choose it.
        onnx: run by ONNX Runtime on the CPU (`meltwater.models.onnx_runtime`), not by torch.
    """

    name: str
    channels_last: bool
    bf16: bool
    tolerance: float
    onnx: bool = False


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
        # fp32 with other kernels: the shipped model differs from torch by ~1e-6
        InferencePath("onnx", channels_last=False, bf16=False, tolerance=1e-4, onnx=True),
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


def bf16_native(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(
        torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


def candidate_paths(device: torch.device) -> list[InferencePath]:
    """The paths ``auto`` times on ``device``: fp32, fp32 channels-last, bf16 where native and,
    on the CPU, ONNX Runtime where installed."""
    from meltwater.models.onnx_runtime import onnx_ready

    names = ["fp32", "fp32_cl"] + (["bf16"] if bf16_native(device) else [])
    if device.type == "cpu" and onnx_ready():
        names.append("onnx")
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


CHOICES: dict[tuple, PathChoice] = {}  # (device, paths, architecture, probe, threads) → choice
CHOICES_LOCK = threading.Lock()


def autocast(device: torch.device, bf16: bool):
    """bfloat16 autocast on ``device`` when ``bf16``, else nothing."""
    if bf16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
