"""Full-domain one-day UNet inference time: each inference path, ``auto`` and the paper model.

Prints, for one day of the default demo grid (384 × 640 px unless ``--shape``), measured in the
same run on this machine (with the date, the torch threads and the load average before and
after): the default model through every candidate path of ``precision="auto"`` (``fp32``
contiguous, ``fp32_cl`` channels-last, ``bf16`` channels-last + bf16 autocast where bf16 is
native, ``onnx`` ONNX Runtime on the CPU where installed), ``auto`` itself (what it chose at
load and its one-tile timings), the ratio auto / fp32 (≤ 1 is the target: ``auto`` is never
slower than the plain path), each path's max |Δ| vs fp32 on that day, and the paper's
tu-xception71 in eager fp32 as the reference (skip it with ``--no-paper``). Days are timed
round-robin over the predictors (median of ``--repeats``), so a neighbour's load hits every
path alike. ``--auto-paths fp32,fp32_cl``
restricts ``auto``'s candidates, e.g. to see its choice as on a CPU without native bf16. The
default model uses the shipped checkpoint when present, else random weights.

    python -m benchmarks.inference [--repeats 3] [--shape 384 640] [--no-paper]
                                     [--auto-paths fp32,fp32_cl]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time

import numpy as np
import torch

from meltwater.data.preprocess import NormStats
from meltwater.models.checkpoint import CheckpointMeta
from meltwater.models.device import bf16_native, candidate_paths, configure_threads
from meltwater.models.inference import UNetPredictor, registry_entry
from meltwater.models.unet import MODEL_CONFIGS, build_model


def _inputs(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A demo day's input stack if the demo cube exists, else smooth random fields."""
    try:
        from meltwater.data.catalog import get_source
        from meltwater.data.cube import open_cube
        from meltwater.data.preprocess import model_inputs

        cube = open_cube(get_source("demo"))
        if (cube.sizes["y"], cube.sizes["x"]) == tuple(shape):
            day = cube.indexes["time"][np.flatnonzero(cube["has_sar"].values)[len(cube.time) // 8]]
            stats = NormStats.compute(cube, [day])
            print(f"inputs: demo day {day:%Y-%m-%d}")
            return model_inputs(cube, day, stats)
        print(f"(demo cube is {cube.sizes['y']} x {cube.sizes['x']}; using random inputs)")
    except Exception as e:  # no demo data here: fall back to synthetic inputs
        print(f"(no demo cube: {type(e).__name__}; using random inputs)")
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, *shape)).astype(np.float32)


def _predictor(name: str, precision: str, **kwargs) -> UNetPredictor:
    if name == "default":
        try:
            return UNetPredictor.from_checkpoint(
                registry_entry()["checkpoint"], precision=precision, device="cpu", **kwargs
            )
        except Exception as e:
            print(f"(no shipped checkpoint: {type(e).__name__}; random default weights)")
    cfg = MODEL_CONFIGS[name]
    torch.manual_seed(0)
    meta = CheckpointMeta(name=name, model=cfg.to_dict(), norm_stats=NormStats.paper().to_dict())
    return UNetPredictor(build_model(cfg), meta, precision=precision, device="cpu", **kwargs)


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shape", type=int, nargs=2, default=(384, 640))
    parser.add_argument("--no-paper", action="store_true", help="skip the slow paper model")
    parser.add_argument(
        "--auto-paths", default=None, help="comma-separated paths auto may choose (default all)"
    )
    args = parser.parse_args()
    allowed = args.auto_paths.split(",") if args.auto_paths else None
    threads = configure_threads()
    print(
        f"{dt.datetime.now():%Y-%m-%d %H:%M}, torch {torch.__version__}, {threads} torch "
        f"threads, {os.cpu_count()} CPUs, native bf16: {bf16_native(torch.device('cpu'))}"
    )
    print(f"load average (1, 5, 15 min) at start: {_load()}")
    x = _inputs(tuple(args.shape))
    t0 = time.perf_counter()
    auto = _predictor("default", "auto", auto_paths=allowed)
    print(f"auto at load ({time.perf_counter() - t0:.1f} s with the checkpoint): ", end="")
    print(auto.path_choice.describe())
    rows = {
        f"default, {p.name}": _predictor("default", p.name) for p in candidate_paths(auto.device)
    }
    rows[f"default, auto (= {auto.chosen_precision})"] = auto
    paper = "paper tu-xception71, fp32 (reference)"
    if not args.no_paper:
        rows[paper] = _predictor("paper", "fp32")
    outputs = {label: pred.predict_array(x) for label, pred in rows.items()}  # warm-up
    times: dict[str, list[float]] = {label: [] for label in rows}
    for _ in range(args.repeats):
        for label, pred in rows.items():
            t = time.perf_counter()
            outputs[label] = pred.predict_array(x)
            times[label].append(time.perf_counter() - t)
    med = {label: statistics.median(ts) for label, ts in times.items()}
    fp32 = med["default, fp32"]
    print(
        f"\none day, {args.shape[0]} x {args.shape[1]} px, CPU, median of {args.repeats} "
        "(round-robin over the rows)"
    )
    print(f"{'path':44s} {'ms/day':>8s} {'vs fp32':>8s} {'max |Δ| vs fp32':>16s}")
    for label, t in med.items():
        diff = np.abs(outputs[label] - outputs["default, fp32"]).max()
        diff_s = "" if label == paper else f"{diff:16.5f}"
        print(f"{label:44s} {1000 * t:8.0f} {t / fp32:8.2f} {diff_s}")
    auto_label = next(label for label in rows if "auto" in label)
    print(f"\nratio auto / fp32 (target <= 1): {med[auto_label] / fp32:.2f}")
    if paper in med:
        print(f"speed-up of auto vs the paper reference: x{med[paper] / med[auto_label]:.1f}")
    print(f"load average (1, 5, 15 min) at end: {_load()}")


if __name__ == "__main__":
    main()
