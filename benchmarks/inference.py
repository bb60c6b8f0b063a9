"""Full-domain one-day UNet inference time: paper reference vs the light default model.

Prints, for one day of the default demo grid (384 × 640 px unless ``--shape``): eager fp32
``paper`` (tu-xception71, random weights, the reference path), eager fp32 ``default``, and
``default`` optimised (channels-last + bf16 autocast where the CPU/GPU supports bf16), each with
its speed-up over the reference, and the max abs difference of the optimised output vs its own
fp32 output. The default model uses the shipped checkpoint when present, else random weights.

    python -m benchmarks.inference [--repeats 3] [--shape 384 640]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from meltwater.data.preprocess import NormStats
from meltwater.models.checkpoint import CheckpointMeta
from meltwater.models.inference import UNetPredictor, configure_threads, registry_entry
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
            return model_inputs(cube, day, stats)
    except Exception as e:  # no demo data here: fall back to synthetic inputs
        print(f"(no demo cube: {type(e).__name__}; using random inputs)")
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, *shape)).astype(np.float32)


def _predictor(name: str, precision: str) -> UNetPredictor:
    if name == "default":
        try:
            return UNetPredictor.from_checkpoint(
                registry_entry()["checkpoint"], precision=precision, device="cpu"
            )
        except Exception as e:
            print(f"(no shipped checkpoint: {type(e).__name__}; random default weights)")
    cfg = MODEL_CONFIGS[name]
    torch.manual_seed(0)
    meta = CheckpointMeta(name=name, model=cfg.to_dict(), norm_stats=NormStats.paper().to_dict())
    return UNetPredictor(build_model(cfg), meta, precision=precision, device="cpu")


def _time(pred: UNetPredictor, x: np.ndarray, repeats: int) -> tuple[float, np.ndarray]:
    out = pred.predict_array(x)  # warm-up (oneDNN kernels, allocator)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = pred.predict_array(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shape", type=int, nargs=2, default=(384, 640))
    args = parser.parse_args()
    threads = configure_threads()
    x = _inputs(tuple(args.shape))
    print(
        f"one day, {args.shape[0]} x {args.shape[1]} px, CPU, {threads} torch threads, "
        f"median of {args.repeats}"
    )
    rows = [
        ("paper tu-xception71, eager fp32 (reference)", "paper", "fp32"),
        ("default, eager fp32", "default", "fp32"),
        ("default, optimised (auto)", "default", "auto"),
    ]
    ref, outputs = None, {}
    for label, name, precision in rows:
        pred = _predictor(name, precision)
        t, outputs[label] = _time(pred, x, args.repeats)
        ref = ref or t
        if precision == "auto":
            label += f" [bf16={pred.bf16}, channels_last={pred.channels_last}]"
        print(f"{label:72s} {1000 * t:8.0f} ms   x{ref / t:5.1f} vs reference")
    diff = np.abs(outputs[rows[2][0]] - outputs[rows[1][0]]).max()
    print(f"max |optimised - fp32| of the default model: {diff:.5f}")


if __name__ == "__main__":
    main()
