"""Paper experiment 3, receptive field: the same UNet trained on small vs large crops.

Trains the shipped model's architecture twice from the same seed on the same training days with
the same budget (optimizer steps and pixels per step: a 64 px crop run draws 9× the batch of a
192 px run), once on 64 px crops and once on 192 px crops (the largest multiple of 32 that fits
the demo's 208 px height), then scores both on the test split over the whole domain and prints
their monthly bias (April–September, pooled over valid pixels as in the results file), its
range and mean |bias|, and accuracy / MAE / SSIM (means over the test images). The paper's
hypothesis: the small-crop model sees too little context to correct MAR's seasonal biases, so
its monthly bias range is larger.

    python -m benchmarks.receptive_field [--epochs 35] [--steps 10] [--crops 64,192]
                                         [--work data/runs/receptive_field]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from meltwater.data.catalog import get_source
from meltwater.data.cube import open_cube
from meltwater.evaluation.evaluate import evaluate
from meltwater.models.inference import UNetPredictor
from meltwater.models.train import TrainConfig, train

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "train_default.yaml"
PIXELS_PER_STEP = 4 * 192 * 192  # the shipped config's batch of four 192 px crops


def _config(base: TrainConfig, crop: int, epochs: int, steps: int, work: Path) -> TrainConfig:
    batch = max(1, round(PIXELS_PER_STEP / crop**2))
    return dataclasses.replace(
        base,
        crop=crop,
        batch_size=batch,
        epochs=epochs,
        steps_per_epoch=steps,
        t0=epochs,  # one cosine cycle over the run, whatever its length
        out=str(work / f"unet_crop{crop}"),
        work_dir=str(work / f"crop{crop}.run"),
        max_minutes=0,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=35)
    p.add_argument("--steps", type=int, default=10, help="optimizer steps per epoch")
    p.add_argument("--crops", default="64,192", help="comma-separated crop sides (px)")
    p.add_argument("--work", default="data/runs/receptive_field", help="checkpoints go here")
    p.add_argument("--resume", action="store_true", help="continue runs found in --work")
    args = p.parse_args()
    base = TrainConfig.from_yaml(CONFIG)
    cube = open_cube(get_source(base.source, base.catalog, base.data_root))
    work = Path(args.work)
    rows = {}
    for crop in (int(c) for c in args.crops.split(",")):
        cfg = _config(base, crop, args.epochs, args.steps, work)
        t0 = time.perf_counter()
        path = train(cfg, args.resume, f"benchmarks.receptive_field crop {crop}", cube)
        wall = time.perf_counter() - t0
        unet = UNetPredictor.from_checkpoint(path)
        ds = evaluate(
            cube,
            ["unet"],
            "test",
            predictors={"unet": unet},
            area_days="split",
            use_cube=False,
            n_boot=10,
            progress=False,
        )
        bias = ds["month_bias"].sel(model="unet").to_series()
        agg = ds["aggregates"].sel(model="unet", stat="mean").to_series()
        rows[crop] = (cfg, wall, bias, agg)
    print(
        f"\n## Receptive field: {args.epochs} epochs × {args.steps} steps, "
        f"{PIXELS_PER_STEP} px per step, test split\n"
    )
    _row("month", [f"{c} px (batch {r[0].batch_size})" for c, r in rows.items()])
    print("|---|" + "---|" * len(rows))
    runs = list(rows.values())
    for m in runs[0][2].index:
        _row(f"{pd.Timestamp(2000, int(m), 1):%B}", [f"{r[2][m]:+.3f}" for r in runs])
    _row("range", [f"{np.ptp(r[2].to_numpy()):.3f}" for r in runs])
    _row("mean abs", [f"{np.mean(np.abs(r[2].to_numpy())):.3f}" for r in runs])
    for metric in ("accuracy", "mae", "ssim"):
        _row(metric, [f"{r[3][metric]:.3f}" for r in runs])
    _row("training wall s", [f"{r[1]:.0f}" for r in runs])


def _row(label: str, cells: list[str]) -> None:
    print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
